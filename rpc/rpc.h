/*
 * rpc/rpc.h - what the server and client halves of rpc/ share: starting
 * gRPC core for the process, and the one mapping between ecluse's error
 * categories and gRPC status codes.
 *
 * rpc/ is the only folder that calls gRPC core (server.h serves, client.h
 * calls): the core API is a surface for language wrappers that changes
 * between minor versions, and Debian 12's 1.51 is what ecluse is built
 * against. An upgrade touches these files only.
 */
#ifndef ECLUSE_RPC_RPC_H
#define ECLUSE_RPC_RPC_H

#include "common/err.h"

/* Initialise gRPC core for this process (once, before anything else here)
 * and tear it down at the very end. A server passes 1 to log gRPC's own
 * errors (failed handshakes...) as warnings; a client passes 0 (it reports
 * the failure of its call in its own words, gRPC's lines are debug). */
void rpc_library_init(int log_grpc_errors);
void rpc_library_shutdown(void);

/* --- status mapping (status.c, the one place) ------------------------ */

/* The gRPC status code (grpc_status_code value) for an error category. */
int rpc_status_from_code(ecl_code code);

/* The error category a client reports for a received gRPC status. */
ecl_code rpc_code_from_status(int grpc_status);

/* "OK", "PERMISSION_DENIED", ... */
const char *rpc_status_name(int grpc_status);

#endif
