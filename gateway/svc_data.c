/* svc_data.c - Data.Read: a read is served here when the grant's dataset is
 * this site's (read_local.c), and relayed from the holding peer when it is
 * not (read_relay.c). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gateway/gateway.h"
#include "gateway/grant.h"

/* The site part of the grant's dataset, read from the unverified body: only
 * to route the read; the holding site's key is checked before anything of it
 * is trusted. */
static int grant_site(const Ecluse__V1__ReadRequest *req, char *site, size_t cap, ecl_err *err)
{
    if (req->grant == NULL || req->grant->body.len == 0)
        return ecl_fail(err, ECL_E_INPUT, "the read request carries no grant");
    Ecluse__V1__GrantBody *b =
        ecluse__v1__grant_body__unpack(NULL, req->grant->body.len, req->grant->body.data);
    if (b == NULL)
        return ecl_fail(err, ECL_E_INPUT, "grant: the body does not decode as a GrantBody");
    const char *slash = strchr(b->dataset, '/');
    size_t n = slash != NULL ? (size_t)(slash - b->dataset) : 0;
    int ok = n > 0 && n < cap;
    if (ok) {
        memcpy(site, b->dataset, n);
        site[n] = '\0';
    } else
        ecl_fail(err, ECL_E_INPUT, "grant: dataset '%s' is not '<site>/<name>'", b->dataset);
    ecluse__v1__grant_body__free_unpacked(b, NULL);
    return ok ? 0 : -1;
}

int svc_data_read(rpc_call *call, const ProtobufCMessage *request, void *ctx, ecl_err *err)
{
    const Ecluse__V1__ReadRequest *req = (const Ecluse__V1__ReadRequest *)request;
    gateway *gw = ctx;
    const ecl_identity *who = rpc_call_identity(call);
    char site[ECL_SITE_ID_MAX];
    if (grant_site(req, site, sizeof(site), err) != 0) {
        gateway_record_read_refused(gw, who->spiffe, req->grant, NULL, NULL, err);
        return -1;
    }
    /* The relay and the local read record their own refusals. */
    if (strcmp(site, gw->cfg.site) != 0)
        return data_relay(gw, call, req, site, err);
    Ecluse__V1__GrantBody *g = NULL;
    if (data_open_own_grant(gw, req->grant, &g, err) != 0) {
        gateway_record_read_refused(gw, who->spiffe, req->grant, NULL, NULL, err);
        return -1;
    }
    int rc = data_check_requester(g, who->spiffe, err);
    if (rc != 0)
        gateway_record_read_refused(gw, who->spiffe, req->grant, g, NULL, err);
    else
        rc = data_serve_local(gw, call, req, g, who->spiffe, NULL, err);
    ecluse__v1__grant_body__free_unpacked(g, NULL);
    return rc;
}
