/* reflection.c - gRPC server reflection (grpc.reflection.v1 and v1alpha),
 * so that grpcurl and other schema browsers work without the .proto files
 * (docs/protocol.md, "Server reflection").
 *
 * Every answer comes from the FileDescriptorSet protoc emitted at build time
 * (proto/descriptor_set.h): a file is sent as the exact bytes protoc wrote,
 * with every file it imports, as the protocol asks. The set is read once and
 * kept for the life of the process. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/gateway.h"
#include "proto/descriptor_set.h"
#include "proto/google/protobuf/descriptor.pb-c.h"
#include "proto/grpc/reflection/v1/reflection.pb-c.h"
#include "rpc/rpc.h"

#define NAME_CAP 512

typedef Google__Protobuf__DescriptorProto msg_desc;
typedef Google__Protobuf__FieldDescriptorProto field_desc;
typedef Grpc__Reflection__V1__ServerReflectionRequest refl_request;
typedef Grpc__Reflection__V1__ServerReflectionResponse refl_response;

typedef struct refl_file {
    const unsigned char *bytes; /* the FileDescriptorProto as protoc wrote it */
    size_t len;
    Google__Protobuf__FileDescriptorProto *fd;
} refl_file;

static pthread_once_t index_once = PTHREAD_ONCE_INIT;
static refl_file *files;
static size_t file_count;
static int index_ok;

/* ---- reading the set ----------------------------------------------------- */

static int read_varint(const unsigned char *p, size_t len, size_t *at, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64 && *at < len; shift += 7) {
        unsigned char b = p[(*at)++];
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

/* FileDescriptorSet is `repeated FileDescriptorProto file = 1`: walk its
 * fields to keep each file's own bytes. */
static int index_file(const unsigned char *p, size_t len)
{
    refl_file *grown = realloc(files, (file_count + 1) * sizeof(*files));
    if (grown == NULL)
        return -1;
    files = grown;
    refl_file *f = &files[file_count];
    f->bytes = p;
    f->len = len;
    f->fd = google__protobuf__file_descriptor_proto__unpack(NULL, len, p);
    if (f->fd == NULL)
        return -1;
    file_count++;
    return 0;
}

static void load_index(void)
{
    const unsigned char *p = ecl_descriptor_set;
    size_t len = ecl_descriptor_set_len, at = 0;
    while (at < len) {
        uint64_t key, n;
        if (read_varint(p, len, &at, &key) != 0 || key != ((1u << 3) | 2) ||
            read_varint(p, len, &at, &n) != 0 || n > len - at || index_file(p + at, n) != 0)
            return;
        at += n;
    }
    index_ok = file_count > 0;
}

/* ---- finding things ------------------------------------------------------ */

/* scope.name; a name too long for NAME_CAP is none of ours: "" matches nothing. */
static void qualify(char *out, const char *scope, const char *name)
{
    int n = snprintf(out, NAME_CAP, "%s%s%s", scope, scope[0] != '\0' ? "." : "", name);
    if (n < 0 || n >= NAME_CAP)
        out[0] = '\0';
}

static int is_named(const char *scope, const char *name, const char *want)
{
    char full[NAME_CAP];
    qualify(full, scope, name);
    return strcmp(full, want) == 0;
}

/* A message of this scope (or nested in one) named `want`; with `any_symbol`,
 * also an enum or an extension declared in one. */
static const msg_desc *find_in_messages(msg_desc *const *msgs, size_t n, const char *scope,
                                        const char *want, int any_symbol)
{
    for (size_t i = 0; i < n; i++) {
        char name[NAME_CAP];
        qualify(name, scope, msgs[i]->name);
        if (strcmp(name, want) == 0)
            return msgs[i];
        for (size_t k = 0; any_symbol && k < msgs[i]->n_enum_type; k++)
            if (is_named(name, msgs[i]->enum_type[k]->name, want))
                return msgs[i];
        for (size_t k = 0; any_symbol && k < msgs[i]->n_extension; k++)
            if (is_named(name, msgs[i]->extension[k]->name, want))
                return msgs[i];
        const msg_desc *in =
            find_in_messages(msgs[i]->nested_type, msgs[i]->n_nested_type, name, want, any_symbol);
        if (in != NULL)
            return in;
    }
    return NULL;
}

static int file_declares(const Google__Protobuf__FileDescriptorProto *fd, const char *want)
{
    const char *pkg = fd->package != NULL ? fd->package : "";
    if (find_in_messages(fd->message_type, fd->n_message_type, pkg, want, 1) != NULL)
        return 1;
    for (size_t i = 0; i < fd->n_enum_type; i++)
        if (is_named(pkg, fd->enum_type[i]->name, want))
            return 1;
    for (size_t i = 0; i < fd->n_extension; i++)
        if (is_named(pkg, fd->extension[i]->name, want))
            return 1;
    for (size_t i = 0; i < fd->n_service; i++) {
        char svc[NAME_CAP];
        qualify(svc, pkg, fd->service[i]->name);
        if (strcmp(svc, want) == 0)
            return 1;
        for (size_t k = 0; k < fd->service[i]->n_method; k++)
            if (is_named(svc, fd->service[i]->method[k]->name, want))
                return 1;
    }
    return 0;
}

/* A fully-qualified name may come with the leading dot of a type reference. */
static const char *unrooted(const char *name)
{
    return name[0] == '.' ? name + 1 : name;
}

static long file_by_name(const char *name)
{
    for (size_t i = 0; i < file_count; i++)
        if (strcmp(files[i].fd->name, name) == 0)
            return (long)i;
    return -1;
}

static long file_by_symbol(const char *symbol)
{
    for (size_t i = 0; i < file_count; i++)
        if (file_declares(files[i].fd, unrooted(symbol)))
            return (long)i;
    return -1;
}

static int is_message_type(const char *type)
{
    for (size_t i = 0; i < file_count; i++) {
        const Google__Protobuf__FileDescriptorProto *fd = files[i].fd;
        if (find_in_messages(fd->message_type, fd->n_message_type,
                             fd->package != NULL ? fd->package : "", unrooted(type), 0) != NULL)
            return 1;
    }
    return 0;
}

/* Calls fn for every extension field declared anywhere in file `fi`. */
typedef void (*extension_fn)(const field_desc *ext, size_t fi, void *arg);

static void walk_message_extensions(msg_desc *const *msgs, size_t n, size_t fi, extension_fn fn,
                                    void *arg)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < msgs[i]->n_extension; k++)
            fn(msgs[i]->extension[k], fi, arg);
        walk_message_extensions(msgs[i]->nested_type, msgs[i]->n_nested_type, fi, fn, arg);
    }
}

static void walk_extensions(extension_fn fn, void *arg)
{
    for (size_t fi = 0; fi < file_count; fi++) {
        const Google__Protobuf__FileDescriptorProto *fd = files[fi].fd;
        for (size_t k = 0; k < fd->n_extension; k++)
            fn(fd->extension[k], fi, arg);
        walk_message_extensions(fd->message_type, fd->n_message_type, fi, fn, arg);
    }
}

typedef struct extension_query {
    const char *type; /* unrooted */
    int number;       /* for one extension; -1: collect all */
    long file;        /* where the one was found */
    int32_t *numbers; /* all: n of them, malloc'd */
    size_t n;
    int failed;
} extension_query;

static void match_extension(const field_desc *ext, size_t fi, void *arg)
{
    extension_query *q = arg;
    if (ext->extendee == NULL || strcmp(unrooted(ext->extendee), q->type) != 0)
        return;
    if (q->number >= 0) {
        if (ext->number == q->number && q->file < 0)
            q->file = (long)fi;
        return;
    }
    int32_t *grown = realloc(q->numbers, (q->n + 1) * sizeof(*grown));
    if (grown == NULL) {
        q->failed = 1;
        return;
    }
    q->numbers = grown;
    q->numbers[q->n++] = ext->number;
}

/* ---- answering ----------------------------------------------------------- */

/* What one response points into, freed after it is sent. */
typedef struct answer {
    Grpc__Reflection__V1__FileDescriptorResponse files;
    Grpc__Reflection__V1__ListServiceResponse list;
    Grpc__Reflection__V1__ServiceResponse *services;
    Grpc__Reflection__V1__ServiceResponse **service_ptrs;
    char (*names)[NAME_CAP];
    Grpc__Reflection__V1__ExtensionNumberResponse numbers;
    Grpc__Reflection__V1__ErrorResponse error;
    char message[ECL_ERR_MSG_MAX];
} answer;

__attribute__((format(printf, 4, 5))) static void answer_error(refl_response *resp, answer *a,
                                                               ecl_code code, const char *fmt, ...)
{
    grpc__reflection__v1__error_response__init(&a->error);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->message, sizeof(a->message), fmt, ap);
    va_end(ap);
    a->error.error_code = rpc_status_from_code(code);
    a->error.error_message = a->message;
    resp->message_response_case =
        GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE;
    resp->error_response = &a->error;
}

static int already_listed(const answer *a, const unsigned char *bytes)
{
    for (size_t i = 0; i < a->files.n_file_descriptor_proto; i++)
        if (a->files.file_descriptor_proto[i].data == bytes)
            return 1;
    return 0;
}

/* File `fi` first, then each file it imports, transitively, each once. */
static void add_file_and_imports(answer *a, long fi)
{
    if (already_listed(a, files[fi].bytes))
        return;
    ProtobufCBinaryData *slot = &a->files.file_descriptor_proto[a->files.n_file_descriptor_proto++];
    slot->data = (uint8_t *)files[fi].bytes;
    slot->len = files[fi].len;
    const Google__Protobuf__FileDescriptorProto *fd = files[fi].fd;
    for (size_t i = 0; i < fd->n_dependency; i++) {
        long dep = file_by_name(fd->dependency[i]);
        if (dep >= 0)
            add_file_and_imports(a, dep);
    }
}

static int answer_file(refl_response *resp, answer *a, long fi)
{
    grpc__reflection__v1__file_descriptor_response__init(&a->files);
    a->files.file_descriptor_proto = calloc(file_count, sizeof(ProtobufCBinaryData));
    if (a->files.file_descriptor_proto == NULL)
        return -1;
    add_file_and_imports(a, fi);
    resp->message_response_case =
        GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE;
    resp->file_descriptor_response = &a->files;
    return 0;
}

static int answer_services(const gateway *gw, refl_response *resp, answer *a)
{
    size_t cap = 0;
    for (size_t i = 0; i < file_count; i++)
        cap += files[i].fd->n_service;
    a->services = calloc(cap + 1, sizeof(*a->services));
    a->service_ptrs = calloc(cap + 1, sizeof(*a->service_ptrs));
    a->names = calloc(cap + 1, NAME_CAP);
    if (a->services == NULL || a->service_ptrs == NULL || a->names == NULL)
        return -1;
    grpc__reflection__v1__list_service_response__init(&a->list);
    size_t n = 0;
    for (size_t i = 0; i < file_count; i++) {
        const Google__Protobuf__FileDescriptorProto *fd = files[i].fd;
        for (size_t k = 0; k < fd->n_service; k++) {
            qualify(a->names[n], fd->package != NULL ? fd->package : "", fd->service[k]->name);
            if (a->names[n][0] == '\0' || !gateway_serves(gw, a->names[n]))
                continue;
            grpc__reflection__v1__service_response__init(&a->services[n]);
            a->services[n].name = a->names[n];
            a->service_ptrs[n] = &a->services[n];
            n++;
        }
    }
    a->list.n_service = n;
    a->list.service = a->service_ptrs;
    resp->message_response_case =
        GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE;
    resp->list_services_response = &a->list;
    return 0;
}

static int answer_extension(refl_response *resp, answer *a,
                            const Grpc__Reflection__V1__ExtensionRequest *x)
{
    if (x == NULL) {
        answer_error(resp, a, ECL_E_INPUT, "file_containing_extension names no type");
        return 0;
    }
    extension_query q = {unrooted(x->containing_type), x->extension_number, -1, NULL, 0, 0};
    if (x->extension_number >= 0)
        walk_extensions(match_extension, &q);
    if (q.file < 0) {
        answer_error(resp, a, ECL_E_NOT_FOUND, "no extension %d of '%s' is known here",
                     (int)x->extension_number, q.type);
        return 0;
    }
    return answer_file(resp, a, q.file);
}

static int answer_extension_numbers(refl_response *resp, answer *a, const char *type)
{
    if (!is_message_type(type)) {
        answer_error(resp, a, ECL_E_NOT_FOUND, "no message type '%s' is known here", type);
        return 0;
    }
    extension_query q = {unrooted(type), -1, -1, NULL, 0, 0};
    walk_extensions(match_extension, &q);
    if (q.failed) {
        free(q.numbers);
        return -1;
    }
    grpc__reflection__v1__extension_number_response__init(&a->numbers);
    a->numbers.base_type_name = (char *)unrooted(type);
    a->numbers.n_extension_number = q.n;
    a->numbers.extension_number = q.numbers;
    resp->message_response_case =
        GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ALL_EXTENSION_NUMBERS_RESPONSE;
    resp->all_extension_numbers_response = &a->numbers;
    return 0;
}

static int answer_request(const gateway *gw, const refl_request *req, refl_response *resp,
                          answer *a)
{
    long fi;
    switch (req->message_request_case) {
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES:
        return answer_services(gw, resp, a);
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME:
        if ((fi = file_by_name(req->file_by_filename)) >= 0)
            return answer_file(resp, a, fi);
        answer_error(resp, a, ECL_E_NOT_FOUND, "no file '%s' is known here", req->file_by_filename);
        return 0;
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL:
        if ((fi = file_by_symbol(req->file_containing_symbol)) >= 0)
            return answer_file(resp, a, fi);
        answer_error(resp, a, ECL_E_NOT_FOUND, "no symbol '%s' is known here",
                     req->file_containing_symbol);
        return 0;
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_EXTENSION:
        return answer_extension(resp, a, req->file_containing_extension);
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_ALL_EXTENSION_NUMBERS_OF_TYPE:
        return answer_extension_numbers(resp, a, req->all_extension_numbers_of_type);
    default:
        answer_error(resp, a, ECL_E_INPUT, "the request asks for nothing this server knows");
        return 0;
    }
}

static void answer_free(answer *a)
{
    free(a->files.file_descriptor_proto);
    free(a->names);
    free(a->services);
    free(a->service_ptrs);
    free(a->numbers.extension_number);
}

/* One response per request, in order, until the client closes its side. */
int svc_reflection_info(rpc_call *call, const ProtobufCMessage *request, void *ctx, ecl_err *err)
{
    (void)request;
    pthread_once(&index_once, load_index);
    if (!index_ok)
        return ecl_fail(err, ECL_E_INTERNAL,
                        "the descriptor set built into this gateway cannot be read");
    for (;;) {
        ProtobufCMessage *msg;
        int got = rpc_call_recv(call, &msg, err);
        if (got <= 0)
            return got;
        const refl_request *req = (const refl_request *)msg;
        refl_response resp = GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__INIT;
        resp.valid_host = req->host;
        resp.original_request = (refl_request *)req;
        answer a;
        memset(&a, 0, sizeof(a));
        int rc = answer_request(ctx, req, &resp, &a);
        if (rc != 0)
            ecl_fail(err, ECL_E_INTERNAL, "out of memory");
        else
            rc = rpc_call_send(call, &resp.base, err);
        answer_free(&a);
        protobuf_c_message_free_unpacked(msg, NULL);
        if (rc != 0)
            return -1;
    }
}
