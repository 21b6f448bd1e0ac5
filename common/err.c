#include "common/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void ecl_err_clear(ecl_err *err)
{
    if (err == NULL)
        return;
    err->code = ECL_OK;
    err->remote_status = 0;
    err->msg[0] = '\0';
}

int ecl_fail(ecl_err *err, ecl_code code, const char *fmt, ...)
{
    if (err == NULL)
        return -1;
    /* Format aside first: callers may pass err->msg itself as an argument. */
    char msg[ECL_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    memcpy(err->msg, msg, sizeof(err->msg));
    err->code = code;
    err->remote_status = 0;
    return -1;
}

int ecl_err_prefix(ecl_err *err, const char *fmt, ...)
{
    if (err == NULL)
        return -1;
    char prefix[ECL_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    /* Room for both whole, then cut to the message size. */
    char joined[2 * ECL_ERR_MSG_MAX + 2];
    snprintf(joined, sizeof(joined), "%s: %s", prefix, err->msg);
    memcpy(err->msg, joined, sizeof(err->msg) - 1);
    err->msg[sizeof(err->msg) - 1] = '\0';
    return -1;
}

const char *ecl_code_name(ecl_code code)
{
    switch (code) {
    case ECL_OK:
        return "ok";
    case ECL_E_USAGE:
        return "usage";
    case ECL_E_INPUT:
        return "input";
    case ECL_E_IO:
        return "io";
    case ECL_E_NOT_FOUND:
        return "not-found";
    case ECL_E_EXISTS:
        return "exists";
    case ECL_E_AUTH:
        return "auth";
    case ECL_E_DENIED:
        return "denied";
    case ECL_E_PRECONDITION:
        return "precondition";
    case ECL_E_CRYPTO:
        return "crypto";
    case ECL_E_LIMIT:
        return "limit";
    case ECL_E_UNAVAILABLE:
        return "unavailable";
    case ECL_E_INTERNAL:
        return "internal";
    case ECL_E_UNIMPLEMENTED:
        return "unimplemented";
    }
    return "unknown";
}
