/*
 * session_internal.h - what the read half of the library needs of the
 * session half (session.c); not part of the ABI.
 */
#ifndef ECLUSE_CLIENT_PYAPI_SESSION_INTERNAL_H
#define ECLUSE_CLIENT_PYAPI_SESSION_INTERNAL_H

#include <stddef.h>

#include "client/client.h"
#include "client/pyapi/pyapi.h"
#include "common/err.h"
#include "proto/ecluse.pb-c.h"

/* The session's client (the session's: not to be closed). */
ecl_client *eclpy_session_client(eclpy_session *s);

/* Copy err's message into msg (cut to msg_cap) and return -code. */
int eclpy_report(const ecl_err *err, char *msg, size_t msg_cap);

/* Decode a Grant protobuf encoding (free with ecluse__v1__grant__free_unpacked).
 * Errors: ECL_E_INPUT saying it is not a grant. */
int eclpy_grant_decode(const void *grant, size_t len, Ecluse__V1__Grant **out,
                       ecl_err *err) ECL_WUR;

#endif
