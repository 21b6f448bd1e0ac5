/* The one place where ecluse error categories meet gRPC status codes. */
#include <ctype.h>
#include <grpc/status.h>
#include <string.h>

#include "rpc/rpc.h"

int rpc_status_from_code(ecl_code code)
{
    switch (code) {
    case ECL_OK:
        return GRPC_STATUS_OK;
    case ECL_E_USAGE:
    case ECL_E_INPUT:
        return GRPC_STATUS_INVALID_ARGUMENT;
    case ECL_E_NOT_FOUND:
        return GRPC_STATUS_NOT_FOUND;
    case ECL_E_EXISTS:
        return GRPC_STATUS_ALREADY_EXISTS;
    case ECL_E_AUTH:
        return GRPC_STATUS_UNAUTHENTICATED;
    case ECL_E_DENIED:
        return GRPC_STATUS_PERMISSION_DENIED;
    case ECL_E_PRECONDITION:
    case ECL_E_CRYPTO:
        return GRPC_STATUS_FAILED_PRECONDITION;
    case ECL_E_LIMIT:
        return GRPC_STATUS_RESOURCE_EXHAUSTED;
    case ECL_E_UNAVAILABLE:
    case ECL_E_IO:
        return GRPC_STATUS_UNAVAILABLE;
    case ECL_E_INTERNAL:
        return GRPC_STATUS_INTERNAL;
    case ECL_E_UNIMPLEMENTED:
        return GRPC_STATUS_UNIMPLEMENTED;
    }
    return GRPC_STATUS_UNKNOWN;
}

ecl_code rpc_code_from_status(int grpc_status)
{
    switch (grpc_status) {
    case GRPC_STATUS_OK:
        return ECL_OK;
    case GRPC_STATUS_INVALID_ARGUMENT:
    case GRPC_STATUS_OUT_OF_RANGE:
        return ECL_E_INPUT;
    case GRPC_STATUS_NOT_FOUND:
        return ECL_E_NOT_FOUND;
    case GRPC_STATUS_ALREADY_EXISTS:
        return ECL_E_EXISTS;
    case GRPC_STATUS_UNAUTHENTICATED:
        return ECL_E_AUTH;
    case GRPC_STATUS_PERMISSION_DENIED:
        return ECL_E_DENIED;
    case GRPC_STATUS_FAILED_PRECONDITION:
    case GRPC_STATUS_ABORTED:
        return ECL_E_PRECONDITION;
    case GRPC_STATUS_RESOURCE_EXHAUSTED:
        return ECL_E_LIMIT;
    case GRPC_STATUS_UNAVAILABLE:
    case GRPC_STATUS_DEADLINE_EXCEEDED:
    case GRPC_STATUS_CANCELLED:
        return ECL_E_UNAVAILABLE;
    case GRPC_STATUS_UNIMPLEMENTED:
        return ECL_E_UNIMPLEMENTED;
    default:
        return ECL_E_INTERNAL;
    }
}

const char *rpc_status_name(int grpc_status)
{
    static const char *names[] = {
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    };
    if (grpc_status >= 0 && grpc_status < (int)(sizeof(names) / sizeof(names[0])))
        return names[grpc_status];
    return "UNKNOWN";
}

static size_t path_length(const char *p);

/* A gRPC method name, "/package.Service/Method": two parts, the first
 * dotted with a capitalised last segment, the second capitalised. */
static int is_method(const char *p)
{
    const char *second = strchr(p + 1, '/');
    size_t end = path_length(p);
    if (second == NULL || (size_t)(second - p) >= end ||
        memchr(p + 1, '.', (size_t)(second - p - 1)) == NULL)
        return 0;
    const char *service = second;
    while (service > p + 1 && service[-1] != '.')
        service--;
    if (!isupper((unsigned char)service[0]) || !isupper((unsigned char)second[1]))
        return 0;
    for (const char *c = second + 1; c < p + end; c++)
        if (*c == '/' || *c == '.')
            return 0;
    return 1;
}

/* A path starts a word: at the start or after a space, a quote, a bracket,
 * '=' or ','. */
static int path_starts(const char *msg, size_t i)
{
    const char *p = msg + i;
    int word = i == 0 || strchr(" \t\n'\"(=[,<", msg[i - 1]) != NULL;
    if (!word)
        return 0;
    if (is_method(p))
        return 0;
    if (p[0] == '/')
        return p[1] != '\0' && p[1] != ' ' && p[1] != '/';
    return strncmp(p, "./", 2) == 0 || strncmp(p, "../", 3) == 0;
}

/* A path ends at a space, a quote, a bracket, ',' or ';', or at a ':'
 * that ends a word ("/data/x.safetensors: header ..."). */
static size_t path_length(const char *p)
{
    size_t n = 0;
    while (p[n] != '\0' && strchr(" \t\n'\")],;>", p[n]) == NULL &&
           !(p[n] == ':' && (p[n + 1] == ' ' || p[n + 1] == '\0')))
        n++;
    return n;
}

void rpc_status_strip_paths(const char *msg, char *out, size_t cap)
{
    size_t used = 0;
    if (cap == 0)
        return;
    for (size_t i = 0; msg[i] != '\0' && used + 1 < cap;) {
        if (path_starts(msg, i)) {
            size_t room = cap - 1 - used, w = strlen(RPC_PATH_WITHHELD);
            size_t n = w < room ? w : room;
            memcpy(out + used, RPC_PATH_WITHHELD, n);
            used += n;
            i += path_length(msg + i);
        } else {
            out[used++] = msg[i++];
        }
    }
    out[used] = '\0';
}
