/* health_std.c - grpc.health.v1.Health, the standard health protocol that
 * grpc_health_probe, load balancers and every gRPC library's health client
 * speak (docs/protocol.md, "Standard gRPC health").
 *
 * Every service has the gateway's one status: SERVING, or NOT_SERVING while
 * the audit trail refuses writes (decisions and reads fail closed then) or
 * while the gateway stops. The services known are "" (the whole gateway) and
 * each service of the method table. */
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "gateway/gateway.h"
#include "proto/grpc/health/v1/health.pb-c.h"

/* How often a Watch looks for a change of status or a client gone: the
 * status lives in flags that many threads set, and a tenth of a second is
 * well inside what any prober expects. */
#define WATCH_POLL_MS 100

typedef Grpc__Health__V1__HealthCheckResponse__ServingStatus serving_status;

#define SERVING         GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
#define NOT_SERVING     GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING
#define SERVICE_UNKNOWN GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN

int gateway_serves(const gateway *gw, const char *service)
{
    if (service[0] == '\0')
        return 1;
    size_t len = strlen(service);
    const rpc_server_options *o = &gw->rpc_options;
    for (size_t i = 0; i < o->method_count; i++)
        if (strncmp(o->methods[i].path + 1, service, len) == 0 &&
            o->methods[i].path[1 + len] == '/')
            return 1;
    return 0;
}

static serving_status status_of(gateway *gw, const char *service)
{
    if (!gateway_serves(gw, service))
        return SERVICE_UNKNOWN;
    if (atomic_load(&gw->stopping) || atomic_load(&gw->audit_unwritable))
        return NOT_SERVING;
    return SERVING;
}

int svc_health_std_check(rpc_call *call, const ProtobufCMessage *request, void *ctx, ecl_err *err)
{
    const Grpc__Health__V1__HealthCheckRequest *req =
        (const Grpc__Health__V1__HealthCheckRequest *)request;
    serving_status s = status_of(ctx, req->service);
    if (s == SERVICE_UNKNOWN)
        return ecl_fail(err, ECL_E_NOT_FOUND, "no service named '%s' is served here", req->service);
    Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    resp.status = s;
    return rpc_call_reply(call, &resp.base, err);
}

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The status at once, then each change, until the client goes away. An
 * unknown service is SERVICE_UNKNOWN and the stream stays open, as the
 * standard says. A stop sends NOT_SERVING and ends the stream UNAVAILABLE,
 * so that a stop does not wait for watchers. */
int svc_health_std_watch(rpc_call *call, const ProtobufCMessage *request, void *ctx, ecl_err *err)
{
    gateway *gw = ctx;
    const Grpc__Health__V1__HealthCheckRequest *req =
        (const Grpc__Health__V1__HealthCheckRequest *)request;
    int sent = 0;
    serving_status last = SERVING;
    for (;;) {
        /* Read before the status, so that the last status sent before the
         * stream ends for a stop is the stop's NOT_SERVING. */
        int stopping = atomic_load(&gw->stopping);
        serving_status s = status_of(gw, req->service);
        if (!sent || s != last) {
            Grpc__Health__V1__HealthCheckResponse resp =
                GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
            resp.status = s;
            if (rpc_call_send(call, &resp.base, err) != 0)
                return -1;
            sent = 1;
            last = s;
        }
        if (stopping)
            return ecl_fail(err, ECL_E_UNAVAILABLE, "the gateway is stopping");
        if (rpc_call_cancelled(call))
            return 0;
        pause_ms(WATCH_POLL_MS);
    }
}
