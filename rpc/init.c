/*
 * rpc/init.c - gRPC core's start and end for this process, and its log
 * lines routed into ecluse's own log (see rpc.h).
 */
#include <grpc/grpc.h>
#include <grpc/support/log.h>
#include <stdio.h>

#include "common/log.h"
#include "rpc/rpc.h"

/* gRPC's own log lines join ours, as key=value lines on stderr. Its errors
 * (a failed handshake, a bind that failed) are warnings here: the gateway
 * reports what they mean to a person in its own words. */
static int grpc_errors_are_warnings;

static void forward_grpc_log(gpr_log_func_args *args)
{
    char where[64], *line;
    snprintf(where, sizeof(where), "%s:%d", args->file, args->line);
    line = (char *)args->message;
    int warn = grpc_errors_are_warnings && args->severity == GPR_LOG_SEVERITY_ERROR;
    ecl_log(warn ? ECL_LOG_WARN : ECL_LOG_DEBUG, "grpc", "where", where, "msg", line, NULL);
}

void rpc_library_init(int log_grpc_errors)
{
    grpc_errors_are_warnings = log_grpc_errors;
    gpr_set_log_function(forward_grpc_log);
    grpc_init();
}

void rpc_library_shutdown(void)
{
    /* Blocking, so that nothing of gRPC's is still alive when the process
     * exits (leak checkers run then). */
    grpc_shutdown_blocking();
}
