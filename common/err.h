/*
 * err.h - the one error type of ecluse.
 *
 * A function that can fail returns 0 on success and -1 on failure, and takes
 * an `ecl_err *err` as its last argument, which it fills on failure with a
 * category and a message written for a person ("policy.json: field
 * 'purposes[2]': unknown DUO code 'XYZ'"). Callers pass the error up
 * unchanged, or prefix it with context (ecl_err_prefix).
 *
 * The category decides the gRPC status code (rpc/status.c) and the process
 * exit code (cli/exit_codes.c), each mapped in exactly one place.
 */
#ifndef ECLUSE_COMMON_ERR_H
#define ECLUSE_COMMON_ERR_H

#include <stddef.h>

/* On every function that can fail (returns -1, NULL or an error value),
 * declared in a header: the compiler refuses a call that drops the result.
 * A failure that truly does not matter (best-effort cleanup) is dropped with
 * ECL_IGNORE and a comment saying why; GCC does not take a cast to void as
 * dropping it. */
#define ECL_WUR __attribute__((warn_unused_result))
#define ECL_IGNORE(call)                                                                           \
    do {                                                                                           \
        if (call) {                                                                                \
        }                                                                                          \
    } while (0)

typedef enum {
    ECL_OK = 0,
    ECL_E_USAGE,         /* bad command line or call arguments */
    ECL_E_INPUT,         /* malformed or inconsistent input data */
    ECL_E_IO,            /* a file or the file system failed */
    ECL_E_NOT_FOUND,     /* the named thing does not exist */
    ECL_E_EXISTS,        /* refusing to overwrite something that exists */
    ECL_E_AUTH,          /* the caller could not be authenticated */
    ECL_E_DENIED,        /* the caller is known but not allowed */
    ECL_E_PRECONDITION,  /* valid request, wrong state (expired grant, ...) */
    ECL_E_CRYPTO,        /* a signature or digest does not verify */
    ECL_E_LIMIT,         /* a size or resource limit was reached */
    ECL_E_UNAVAILABLE,   /* a peer or the audit trail cannot be reached/written */
    ECL_E_INTERNAL,      /* a bug or a library failure that should not happen */
    ECL_E_UNIMPLEMENTED, /* a method or feature this build or this peer does not serve */
} ecl_code;

#define ECL_ERR_MSG_MAX 512

typedef struct ecl_err {
    ecl_code code;
    int remote_status; /* the gRPC status code when the error came from a call; else 0 */
    char msg[ECL_ERR_MSG_MAX];
} ecl_err;

/* A cleared error (code ECL_OK, empty message). */
void ecl_err_clear(ecl_err *err);

/* Fill `err` (which may be NULL) and return -1, so that failure paths read
 * `return ecl_fail(err, ECL_E_INPUT, "row %zu: %s", row, why);`. The
 * arguments may include err->msg itself (to reword an error). */
int ecl_fail(ecl_err *err, ecl_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Put "context: " in front of the message, keep the code; returns -1. */
int ecl_err_prefix(ecl_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A short stable name of a code ("input", "io", ...), for logs and docs. */
const char *ecl_code_name(ecl_code code);

#endif
