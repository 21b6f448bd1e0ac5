/* svc_health.c - Health.Check: is the gateway up, and who am I to it? */
#include <time.h>

#include "common/version.h"
#include "gateway/gateway.h"
#include "proto/ecluse.pb-c.h"

int svc_health_check(rpc_call *call, const ProtobufCMessage *request, void *ctx, ecl_err *err)
{
    (void)request;
    gateway *gw = ctx;
    const ecl_identity *who = rpc_call_identity(call);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);

    Ecluse__V1__Identity caller = ECLUSE__V1__IDENTITY__INIT;
    caller.site = (char *)who->site;
    caller.role = (char *)role_name(who->role);
    caller.name = (char *)who->name;
    Ecluse__V1__HealthCheckResponse resp = ECLUSE__V1__HEALTH_CHECK_RESPONSE__INIT;
    resp.site = gw->cfg.site;
    resp.country = gw->cfg.country;
    resp.version = ECLUSE_VERSION;
    resp.uptime_seconds = (uint64_t)(now.tv_sec - gw->started.tv_sec);
    resp.caller = &caller;
    return rpc_call_reply(call, &resp.base, err);
}
