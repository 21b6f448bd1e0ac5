/* erasure_in.c - the home site's side of an erasure notice: verify it,
 * record it in this site's trail (accepted or refused, with why), keep it
 * in the inbox for the researchers concerned (svc_notices.c). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "gateway/gateway.h"

/* The notice's body, its signature checked with the caller's key (or, for
 * a notice signed before a rotation, its key history). */
static int open_notice(gateway *gw, const char *caller, const Ecluse__V1__SignedErasureNotice *req,
                       Ecluse__V1__ErasureNoticeBody **out, ecl_err *err)
{
    unsigned char(*keys)[crypto_sign_PUBLICKEYBYTES] = NULL;
    size_t n = 0;
    int rc = gateway_peer_keys(gw, caller, 0, &keys, &n, err);
    if (rc == 0)
        rc = erasure_notice_open(req, (const unsigned char(*)[crypto_sign_PUBLICKEYBYTES])keys, n,
                                 out, err);
    if (rc != 0 && err->code == ECL_E_CRYPTO) {
        free(keys);
        keys = NULL;
        rc = gateway_peer_keys(gw, caller, 1, &keys, &n, err);
        if (rc == 0)
            rc = erasure_notice_open(req, (const unsigned char(*)[crypto_sign_PUBLICKEYBYTES])keys,
                                     n, out, err);
    }
    free(keys);
    return rc;
}

/* 1 if `spiffe` names someone of site `site`. */
static int of_site(const char *spiffe, const char *site)
{
    size_t n = strlen(site);
    return strncmp(spiffe, "spiffe://", 9) == 0 && strncmp(spiffe + 9, site, n) == 0 &&
           spiffe[9 + n] == '/';
}

/* What the notice says must fit who sent it and who we are. */
static int check_body(gateway *gw, const char *caller, const Ecluse__V1__ErasureNoticeBody *b,
                      ecl_err *err)
{
    size_t n = strlen(caller);
    if (strcmp(b->holding_site, caller) != 0)
        return ecl_fail(err, ECL_E_DENIED, "the notice is from site '%.64s' but was sent by '%s'",
                        b->holding_site, caller);
    if (strcmp(b->home_site, gw->cfg.site) != 0)
        return ecl_fail(err, ECL_E_DENIED, "the notice is for site '%.64s', not this site '%s'",
                        b->home_site, gw->cfg.site);
    if (strncmp(b->dataset, caller, n) != 0 || b->dataset[n] != '/')
        return ecl_fail(err, ECL_E_INPUT, "the notice's dataset '%.64s' is not one of site '%s'",
                        b->dataset, caller);
    if (strlen(b->notice_id) != ERASURE_ID_LEN - 1)
        return ecl_fail(err, ECL_E_INPUT, "the notice id '%.64s' is not 32 hex digits",
                        b->notice_id);
    if (b->n_rows == 0 || b->n_reads == 0)
        return ecl_fail(err, ECL_E_INPUT, "notice %s names no rows or no reads", b->notice_id);
    for (size_t i = 0; i < b->n_reads; i++)
        if (!of_site(b->reads[i]->reader, gw->cfg.site))
            return ecl_fail(err, ECL_E_INPUT, "notice %s names reader '%.64s', not of this site",
                            b->notice_id, b->reads[i]->reader);
    return 0;
}

int svc_federation_deliver_erasure_notice(rpc_call *call, const ProtobufCMessage *request,
                                          void *ctx, ecl_err *err)
{
    const Ecluse__V1__SignedErasureNotice *req = (const Ecluse__V1__SignedErasureNotice *)request;
    gateway *gw = ctx;
    const ecl_identity *id = rpc_call_identity(call);
    Ecluse__V1__ErasureNoticeBody *b = NULL;
    ecl_err why;
    int replay = 0;
    int rc = open_notice(gw, id->site, req, &b, &why);
    if (rc == 0)
        rc = check_body(gw, id->site, b, &why);
    if (rc == 0) {
        Ecluse__V1__ErasureNoticeRecord rec = ECLUSE__V1__ERASURE_NOTICE_RECORD__INIT;
        rec.notice = (Ecluse__V1__SignedErasureNotice *)req;
        rec.state = "received";
        rec.delivered_unix = (int64_t)time(NULL);
        rc = notice_store_add(gw->notices, NOTICE_INBOX, b->notice_id, &rec, &why);
        if (rc != 0 && why.code == ECL_E_EXISTS) {
            replay = 1;
            ecl_fail(&why, ECL_E_EXISTS,
                     "notice %s was received already (a replay): nothing was changed",
                     b->notice_id);
        }
    }
    Ecluse__V1__ErasureNoticeReply reply = ECLUSE__V1__ERASURE_NOTICE_REPLY__INIT;
    reply.recorded = rc == 0 || replay; /* a replay: this site holds it already */
    reply.refused = rc == 0 ? "" : why.msg;
    const char *notice_id = b != NULL && b->notice_id[0] ? b->notice_id : "-";
    ecl_log(rc == 0 ? ECL_LOG_INFO : ECL_LOG_WARN,
            rc == 0 ? "erasure.notice_received" : "erasure.notice_refused", "site", id->site,
            "notice", notice_id, "reason", rc == 0 ? "" : why.msg, NULL);
    /* Refused or not, on record before the answer (fail closed: a notice
     * kept without its entry is answered with an error, and retried). */
    int known = rc == 0 || replay; /* else the dataset named may be anything */
    rc = gateway_record_notice(gw, id->spiffe, known ? b->dataset : NULL,
                               rc == 0 ? "received" : "refused", notice_id, id->site,
                               rc == 0 ? NULL : why.msg, &reply.audit_seq, err);
    if (b != NULL)
        ecluse__v1__erasure_notice_body__free_unpacked(b, NULL);
    if (rc != 0)
        return -1;
    return rpc_call_reply(call, &reply.base, err);
}
