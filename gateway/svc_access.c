/* svc_access.c - Access.Request/Check for this site's people, and
 * Federation.ForwardAccess for peers' researchers.
 *
 * A dataset of this site is decided here. A dataset of a peer is decided by
 * the peer: this gateway attests who its researcher is (signed, bound to the
 * exact request, valid five minutes), forwards, records the answer in its own
 * trail, and passes it on. The peer records it in its trail too. */
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "gateway/attestation.h"
#include "gateway/gateway.h"
#include "site/country.h"
#include "site/site.h"

static int attest(gateway *gw, const Ecluse__V1__AccessRequest *req, const ecl_identity *who,
                  const person_record *person, Ecluse__V1__Attestation *out, ecl_err *err)
{
    unsigned char digest[32];
    if (attestation_request_digest(req, digest, err) != 0)
        return -1;
    Ecluse__V1__Identity id = ECLUSE__V1__IDENTITY__INIT;
    id.site = (char *)who->site;
    id.role = (char *)role_name(who->role);
    id.name = (char *)who->name;
    Ecluse__V1__AttestationBody body = ECLUSE__V1__ATTESTATION_BODY__INIT;
    body.requester = &id;
    body.affiliation = (char *)person->affiliation;
    body.organisation_type = (char *)person->org_type;
    body.issued_unix = (int64_t)time(NULL);
    body.expires_unix = body.issued_unix + ATTESTATION_TTL_S;
    body.request_digest.data = digest;
    body.request_digest.len = sizeof(digest);
    ecluse__v1__attestation__init(out);
    return signer_sign_message(gw->signer, SIGNER_ATTESTATION, &body.base, &out->body,
                               &out->signature, err);
}

/* Record, at the home site, what the holding site decided for our researcher. */
static int record_forwarded(gateway *gw, const Ecluse__V1__AccessRequest *req,
                            const ecl_identity *who, const Ecluse__V1__AccessDecision *d,
                            int dry_run, const char *holder, ecl_err *err)
{
    json_t *reasons = json_array();
    for (size_t i = 0; i < d->n_reasons; i++)
        json_array_append_new(reasons, json_pack("{s:s, s:s, s:b, s:s}", "rule",
                                                 d->reasons[i]->rule, "basis", d->reasons[i]->basis,
                                                 "satisfied", d->reasons[i]->satisfied, "message",
                                                 d->reasons[i]->message));
    Ecluse__V1__GrantBody *gb =
        d->grant != NULL
            ? ecluse__v1__grant_body__unpack(NULL, d->grant->body.len, d->grant->body.data)
            : NULL;
    json_t *detail = json_pack("{s:o, s:b, s:s, s:I}", "reasons", reasons, "dry_run", dry_run,
                               "decided_by", holder, "holder_audit_seq", (json_int_t)d->audit_seq);
    if (detail == NULL || (d->grant != NULL && gb == NULL)) {
        json_decref(detail);
        if (gb != NULL)
            ecluse__v1__grant_body__free_unpacked(gb, NULL);
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    }
    audit_entry e = {0};
    e.kind = AUDIT_KIND_ACCESS;
    e.actor = who->spiffe;
    e.dataset = req->dataset;
    e.purpose = req->purpose;
    e.decision = d->permit ? "permit" : "deny";
    e.lawful_basis = req->lawful_basis;
    e.transfer_basis = gb != NULL && gb->transfer_basis[0] ? gb->transfer_basis : NULL;
    e.job_country = req->job_country;
    e.grant_id = gb != NULL && gb->grant_id[0] ? gb->grant_id : NULL;
    int rc = gateway_record_entry(gw, &e, detail, NULL, err);
    if (gb != NULL)
        ecluse__v1__grant_body__free_unpacked(gb, NULL);
    return rc;
}

static int forward(gateway *gw, const Ecluse__V1__AccessRequest *req, const ecl_identity *who,
                   const char *holder, int dry_run, Ecluse__V1__AccessDecision **out, ecl_err *err)
{
    fed_peer peer;
    if (fed_state_get_peer(gw->state, holder, &peer, err) != 0)
        return ecl_fail(err, ECL_E_NOT_FOUND,
                        "dataset '%s': site '%s' is not a peer of this "
                        "site",
                        req->dataset, holder);
    person_record person;
    Ecluse__V1__Attestation att = ECLUSE__V1__ATTESTATION__INIT;
    rpc_channel *ch = NULL;
    ProtobufCMessage *resp = NULL;
    int rc = site_person_record(gw->cfg.people_dir, who, &person, err);
    if (rc == 0)
        rc = attest(gw, req, who, &person, &att, err);
    if (rc == 0)
        rc = gateway_peer_channel(gw, &peer, &ch, err);
    if (rc == 0) {
        Ecluse__V1__ForwardedAccessRequest fwd = ECLUSE__V1__FORWARDED_ACCESS_REQUEST__INIT;
        fwd.request = (Ecluse__V1__AccessRequest *)req;
        fwd.attestation = &att;
        fwd.dry_run = dry_run;
        rc = rpc_unary(ch, "/ecluse.v1.Federation/ForwardAccess", &fwd.base,
                       &ecluse__v1__access_decision__descriptor, &resp,
                       (int)GATEWAY_SETTING(gw, peer_timeout_ms), err);
        if (rc != 0)
            ecl_err_prefix(err, "site '%s' (holding %s)", holder, req->dataset);
    }
    if (rc == 0)
        rc = record_forwarded(gw, req, who, (Ecluse__V1__AccessDecision *)resp, dry_run, holder,
                              err);
    if (rc == 0)
        *out = (Ecluse__V1__AccessDecision *)resp;
    else if (resp != NULL)
        protobuf_c_message_free_unpacked(resp, NULL);
    rpc_channel_close(ch);
    free(att.body.data);
    free(att.signature.data);
    fed_peer_clear(&peer);
    return rc;
}

/* One country table (site/country.h) for every door: a code no country has
 * is refused here, at the request, before any policy sees it. */
static int check_job_country(const Ecluse__V1__AccessRequest *req, ecl_err *err)
{
    if (!country_is_valid(req->job_country))
        return ecl_fail(err, ECL_E_INPUT,
                        "job_country '%s' is not an ISO 3166-1 alpha-2 country code (e.g. FI)",
                        req->job_country);
    return 0;
}

static int check_request(const Ecluse__V1__AccessRequest *req, char *holder, size_t cap,
                         ecl_err *err)
{
    const char *slash = strchr(req->dataset, '/');
    if (slash == NULL || slash == req->dataset || (size_t)(slash - req->dataset) >= cap)
        return ecl_fail(err, ECL_E_INPUT, "'%s' is not a dataset id (<site>/<name>)", req->dataset);
    memcpy(holder, req->dataset, (size_t)(slash - req->dataset));
    holder[slash - req->dataset] = '\0';
    return check_job_country(req, err);
}

static int decide_for_caller(rpc_call *call, const ProtobufCMessage *request, gateway *gw,
                             int dry_run, ecl_err *err)
{
    const Ecluse__V1__AccessRequest *req = (const Ecluse__V1__AccessRequest *)request;
    const ecl_identity *who = rpc_call_identity(call);
    char holder[ECL_SITE_ID_MAX];
    if (check_request(req, holder, sizeof(holder), err) != 0)
        return -1;
    Ecluse__V1__AccessDecision *d = NULL;
    int rc;
    if (strcmp(holder, gw->cfg.site) == 0) {
        person_record person;
        rc = site_person_record(gw->cfg.people_dir, who, &person, err);
        if (rc == 0)
            rc = gateway_decide(gw, req, who, person.affiliation, person.org_type, dry_run, NULL,
                                &d, err);
    } else {
        rc = forward(gw, req, who, holder, dry_run, &d, err);
    }
    if (rc != 0)
        return -1;
    rc = rpc_call_reply(call, &d->base, err);
    protobuf_c_message_free_unpacked(&d->base, NULL);
    return rc;
}

int svc_access_request(rpc_call *call, const ProtobufCMessage *request, void *ctx, ecl_err *err)
{
    return decide_for_caller(call, request, ctx, 0, err);
}

int svc_access_check(rpc_call *call, const ProtobufCMessage *request, void *ctx, ecl_err *err)
{
    return decide_for_caller(call, request, ctx, 1, err);
}

/* The holding site's side: believe the attestation only as far as it goes. */
static int open_attestation(gateway *gw, const ecl_identity *caller,
                            const Ecluse__V1__ForwardedAccessRequest *fwd, ecl_identity *requester,
                            Ecluse__V1__AttestationBody **out, ecl_err *err)
{
    fed_peer peer;
    if (fed_state_get_peer(gw->state, caller->site, &peer, err) != 0)
        return -1;
    int rc = attestation_open(peer.pinned_key, caller->site, fwd, (int64_t)time(NULL), requester,
                              out, err);
    fed_peer_clear(&peer);
    return rc;
}

int svc_federation_forward_access(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                                  ecl_err *err)
{
    const Ecluse__V1__ForwardedAccessRequest *fwd =
        (const Ecluse__V1__ForwardedAccessRequest *)request;
    gateway *gw = ctx;
    const ecl_identity *caller = rpc_call_identity(call);
    ecl_identity requester;
    Ecluse__V1__AttestationBody *att = NULL;
    if (fwd->request != NULL && check_job_country(fwd->request, err) != 0)
        return -1;
    if (open_attestation(gw, caller, fwd, &requester, &att, err) != 0) {
        ecl_log(ECL_LOG_WARN, "access.attestation_refused", "from", caller->spiffe, "error",
                err->msg, NULL);
        return -1;
    }
    Ecluse__V1__AccessDecision *d = NULL;
    int rc = gateway_decide(gw, fwd->request, &requester, att->affiliation, att->organisation_type,
                            fwd->dry_run, caller->spiffe, &d, err);
    ecluse__v1__attestation_body__free_unpacked(att, NULL);
    if (rc != 0)
        return -1;
    rc = rpc_call_reply(call, &d->base, err);
    protobuf_c_message_free_unpacked(&d->base, NULL);
    return rc;
}
