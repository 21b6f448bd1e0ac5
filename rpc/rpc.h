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

#include <stddef.h>

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

/* What is said to a caller outside the site: `msg` with every file-system
 * path in it (a word that starts with '/', './' or '../') replaced by
 * RPC_PATH_WITHHELD, into `out` (cut to `cap`, always NUL-terminated). The
 * server sends this to every caller but the site's own admins and logs the
 * message whole (server.c). Identifiers that hold a '/' mid-word (dataset
 * ids "lu/x", SPIFFE ids, URLs) and method names ("/ecluse.v1.Admin/AddPeer")
 * are kept. */
#define RPC_PATH_WITHHELD "(a file at the site)"
void rpc_status_strip_paths(const char *msg, char *out, size_t cap);

#endif
