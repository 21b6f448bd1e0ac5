/* erasure_out.c - the holding site's side of erasure notices: sign one per
 * home site of the reads that carried erased rows, keep it in the outbox,
 * deliver it from the notifier thread until the home gateway has it, and
 * take the home site's ack of the deletion. Also passes this site's own
 * acks (inbox) back to the site that sent the notice. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/recipients.h"
#include "common/log.h"
#include "gateway/gateway.h"

#define OBLIGATION                                                                                 \
    "Art. 17(2) and Art. 19 GDPR: the rows named were erased at the holding site; every copy "     \
    "of them obtained through the reads named must be deleted, and the deletion acknowledged."

void gateway_erasure_kick(gateway *gw)
{
    pthread_mutex_lock(&gw->sync_lock);
    gw->erasures_owed = 1;
    if (gw->notify_running)
        pthread_cond_broadcast(&gw->notify_wake);
    pthread_mutex_unlock(&gw->sync_lock);
}

/* The notice for `home`: every read through it, with its rows. */
static int sign_for(gateway *gw, const char *home, const char *dataset, uint64_t version,
                    const Ecluse__V1__RowRange *rows, size_t n_rows,
                    const gateway_erased_read *reads, size_t n_reads,
                    Ecluse__V1__SignedErasureNotice *out, const char *id, ecl_err *err)
{
    Ecluse__V1__ErasureNoticeBody body = ECLUSE__V1__ERASURE_NOTICE_BODY__INIT;
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    signer_public_key(gw->signer, pk);
    body.notice_id = (char *)id;
    body.holding_site = gw->cfg.site;
    body.home_site = (char *)home;
    body.dataset = (char *)dataset;
    body.dataset_version = version;
    body.obligation = OBLIGATION;
    body.issued_unix = (int64_t)time(NULL);
    body.signing_key.data = pk;
    body.signing_key.len = sizeof(pk);
    Ecluse__V1__RowRange **rp = calloc(n_rows + 1, sizeof(*rp));
    Ecluse__V1__ErasedRead *er = calloc(n_reads + 1, sizeof(*er));
    Ecluse__V1__ErasedRead **erp = calloc(n_reads + 1, sizeof(*erp));
    Ecluse__V1__RowRange ***rrp = calloc(n_reads + 1, sizeof(*rrp));
    int rc = rp && er && erp && rrp ? 0 : ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    for (size_t i = 0; rc == 0 && i < n_rows; i++)
        rp[i] = (Ecluse__V1__RowRange *)&rows[i];
    body.rows = rp;
    body.n_rows = n_rows;
    for (size_t i = 0; rc == 0 && i < n_reads; i++) {
        if (strcmp(reads[i].home_site, home) != 0)
            continue;
        Ecluse__V1__ErasedRead *r = &er[body.n_reads];
        ecluse__v1__erased_read__init(r);
        r->read_id = (char *)reads[i].read_id;
        r->reader = (char *)reads[i].reader;
        rrp[body.n_reads] = calloc(reads[i].n_rows + 1, sizeof(**rrp));
        if (rrp[body.n_reads] == NULL) {
            rc = ecl_fail(err, ECL_E_INTERNAL, "out of memory");
            break;
        }
        for (size_t j = 0; j < reads[i].n_rows; j++)
            rrp[body.n_reads][j] = (Ecluse__V1__RowRange *)&reads[i].rows[j];
        r->rows = rrp[body.n_reads];
        r->n_rows = reads[i].n_rows;
        erp[body.n_reads++] = r;
    }
    body.reads = erp;
    if (rc == 0)
        rc = signer_sign_message(gw->signer, SIGNER_ERASURE_NOTICE, &body.base, &out->body,
                                 &out->signature, err);
    for (size_t i = 0; rrp != NULL && i < n_reads; i++)
        free(rrp[i]);
    free(rp);
    free(er);
    free(erp);
    free(rrp);
    return rc;
}

int gateway_erasure_notify(gateway *gw, const char *actor, const char *dataset, uint64_t version,
                           uint64_t erasure_seq, const Ecluse__V1__RowRange *rows, size_t n_rows,
                           const gateway_erased_read *reads, size_t n_reads, ecl_err *err)
{
    int rc = 0, queued = 0;
    for (size_t i = 0; rc == 0 && i < n_reads; i++) {
        const char *home = reads[i].home_site;
        if (strcmp(home, gw->cfg.site) == 0)
            continue;
        size_t first = 0;
        while (strcmp(reads[first].home_site, home) != 0)
            first++;
        if (first < i)
            continue; /* that site's notice is made */
        Ecluse__V1__SignedErasureNotice signed_notice = ECLUSE__V1__SIGNED_ERASURE_NOTICE__INIT;
        char id[ERASURE_ID_LEN];
        erasure_notice_id(gw->cfg.site, erasure_seq, home, id);
        rc = sign_for(gw, home, dataset, version, rows, n_rows, reads, n_reads, &signed_notice, id,
                      err);
        if (rc != 0)
            break;
        Ecluse__V1__ErasureNoticeRecord rec = ECLUSE__V1__ERASURE_NOTICE_RECORD__INIT;
        rec.notice = &signed_notice;
        rec.state = "pending";
        rec.erasure_seq = erasure_seq;
        rc = notice_store_add(gw->notices, NOTICE_OUTBOX, id, &rec, err);
        free(signed_notice.body.data);
        free(signed_notice.signature.data);
        if (rc != 0 && err->code == ECL_E_EXISTS) {
            rc = 0; /* made before a crash: kept, and on record */
            continue;
        }
        if (rc == 0)
            queued++;
        if (rc == 0)
            rc = gateway_record_notice(gw, actor, dataset, "queued", id, home, NULL, NULL, err);
    }
    if (rc == 0)
        rc = notice_store_mark_erasure(gw->notices, erasure_seq, err);
    if (queued > 0)
        gateway_erasure_kick(gw);
    return rc;
}

/* --- the notifier's work --- */

static Ecluse__V1__ErasureNoticeBody *body_of(const Ecluse__V1__ErasureNoticeRecord *rec)
{
    if (rec->notice == NULL)
        return NULL;
    return ecluse__v1__erasure_notice_body__unpack(NULL, rec->notice->body.len,
                                                   rec->notice->body.data);
}

/* The site a record is owed to, or NULL: a pending notice's home site
 * (outbox), or the holding site of an ack not yet passed back (inbox). */
static const char *owed_to(const Ecluse__V1__ErasureNoticeRecord *rec, notice_box box,
                           const Ecluse__V1__ErasureNoticeBody *b)
{
    if (b == NULL)
        return NULL;
    if (box == NOTICE_OUTBOX)
        return strcmp(rec->state, "pending") == 0 ? b->home_site : NULL;
    return rec->ack != NULL && !rec->ack_sent ? b->holding_site : NULL;
}

int gateway_erasure_owed_sites(gateway *gw, char (**sites)[ECL_SITE_ID_MAX], size_t *n,
                               ecl_err *err)
{
    *sites = NULL;
    *n = 0;
    for (int box = NOTICE_OUTBOX; box <= NOTICE_INBOX; box++) {
        Ecluse__V1__ErasureNoticeRecord **list = NULL;
        size_t count = 0;
        if (notice_store_list(gw->notices, (notice_box)box, &list, &count, err) != 0)
            return -1;
        for (size_t i = 0; i < count; i++) {
            Ecluse__V1__ErasureNoticeBody *b = body_of(list[i]);
            const char *site = owed_to(list[i], (notice_box)box, b);
            size_t j = 0;
            while (site != NULL && j < *n && strcmp((*sites)[j], site) != 0)
                j++;
            if (site != NULL && j == *n) {
                char(*more)[ECL_SITE_ID_MAX] = realloc(*sites, (*n + 1) * sizeof(**sites));
                if (more != NULL) {
                    *sites = more;
                    snprintf((*sites)[(*n)++], ECL_SITE_ID_MAX, "%s", site);
                }
            }
            if (b != NULL)
                ecluse__v1__erasure_notice_body__free_unpacked(b, NULL);
        }
        notice_store_free_list(list, count);
    }
    return 0;
}

typedef struct delivered {
    int recorded;
    const char *error;
} delivered;

static int note_delivery(Ecluse__V1__ErasureNoticeRecord *rec, void *ctx, ecl_err *err)
{
    (void)err;
    const delivered *d = ctx;
    rec->attempts++;
    if (d->recorded && strcmp(rec->state, "pending") == 0) {
        rec->state = "delivered";
        rec->delivered_unix = (int64_t)time(NULL);
        rec->last_error = "";
    } else if (!d->recorded) {
        rec->last_error = (char *)d->error;
    }
    return 0;
}

static int note_ack_sent(Ecluse__V1__ErasureNoticeRecord *rec, void *ctx, ecl_err *err)
{
    (void)ctx;
    (void)err;
    rec->ack_sent = 1;
    return 0;
}

/* One call to `peer`: the notice (outbox) or the ack (inbox) of `rec`. */
static int send_one(gateway *gw, rpc_channel *ch, notice_box box,
                    const Ecluse__V1__ErasureNoticeRecord *rec, const char *peer,
                    const Ecluse__V1__ErasureNoticeBody *b, ecl_err *err)
{
    const ProtobufCMessage *req = box == NOTICE_OUTBOX ? &rec->notice->base : &rec->ack->base;
    const char *path = box == NOTICE_OUTBOX ? "/ecluse.v1.Federation/DeliverErasureNotice"
                                            : "/ecluse.v1.Federation/AckErasureNotice";
    ProtobufCMessage *resp = NULL;
    int rc = rpc_unary(ch, path, req, &ecluse__v1__erasure_notice_reply__descriptor, &resp,
                       (int)GATEWAY_SETTING(gw, peer_timeout_ms), err);
    if (rc != 0)
        ecl_err_prefix(err, "site '%s'", peer);
    const Ecluse__V1__ErasureNoticeReply *reply = (const Ecluse__V1__ErasureNoticeReply *)resp;
    if (rc == 0 && !reply->recorded)
        rc = ecl_fail(err, ECL_E_DENIED, "site '%s' refused erasure %s %s: %s", peer,
                      box == NOTICE_OUTBOX ? "notice" : "ack", b->notice_id, reply->refused);
    if (resp != NULL)
        protobuf_c_message_free_unpacked(resp, NULL);
    ecl_err aerr;
    if (box == NOTICE_OUTBOX) {
        delivered d = {rc == 0, rc == 0 ? "" : err->msg};
        if (notice_store_update(gw->notices, box, b->notice_id, note_delivery, &d, &aerr) != 0)
            ecl_log(ECL_LOG_ERROR, "erasure.notice", "notice", b->notice_id, "error", aerr.msg,
                    NULL);
        if (gateway_record_notice(gw, gw->spiffe, b->dataset,
                                  rc == 0 ? "delivered" : "delivery-failed", b->notice_id, peer,
                                  rc == 0 ? NULL : err->msg, NULL, &aerr) != 0)
            ecl_log(ECL_LOG_ERROR, "erasure.notice", "notice", b->notice_id, "error", aerr.msg,
                    NULL);
    } else if (rc == 0) {
        if (notice_store_update(gw->notices, box, b->notice_id, note_ack_sent, NULL, &aerr) != 0 ||
            gateway_record_notice(gw, gw->spiffe, b->dataset, "ack-sent", b->notice_id, peer, NULL,
                                  NULL, &aerr) != 0)
            ecl_log(ECL_LOG_ERROR, "erasure.ack", "notice", b->notice_id, "error", aerr.msg, NULL);
    }
    ecl_log(rc == 0 ? ECL_LOG_INFO : ECL_LOG_WARN,
            box == NOTICE_OUTBOX ? "erasure.notice_sent" : "erasure.ack_sent", "site", peer,
            "notice", b->notice_id, "error", rc == 0 ? "" : err->msg, NULL);
    return rc;
}

int gateway_erasure_deliver(gateway *gw, const char *site, ecl_err *err)
{
    fed_peer peer;
    if (fed_state_get_peer(gw->state, site, &peer, err) != 0)
        return -1;
    rpc_channel *ch = NULL;
    int rc = gateway_peer_channel(gw, &peer, &ch, err);
    fed_peer_clear(&peer);
    for (int box = NOTICE_OUTBOX; rc == 0 && box <= NOTICE_INBOX; box++) {
        Ecluse__V1__ErasureNoticeRecord **list = NULL;
        size_t count = 0;
        rc = notice_store_list(gw->notices, (notice_box)box, &list, &count, err);
        for (size_t i = 0; rc == 0 && i < count; i++) {
            Ecluse__V1__ErasureNoticeBody *b = body_of(list[i]);
            const char *to = owed_to(list[i], (notice_box)box, b);
            if (to != NULL && strcmp(to, site) == 0)
                rc = send_one(gw, ch, (notice_box)box, list[i], site, b, err);
            if (b != NULL)
                ecluse__v1__erasure_notice_body__free_unpacked(b, NULL);
        }
        if (rc == 0 || list != NULL)
            notice_store_free_list(list, count);
    }
    rpc_channel_close(ch);
    return rc;
}

/* --- the home site's ack, received --- */

typedef struct ack_ctx {
    const Ecluse__V1__SignedErasureAck *signed_ack;
    const Ecluse__V1__ErasureAckBody *ack;
    const char *caller;
    char dataset[256];
    int already;
} ack_ctx;

static int take_ack(Ecluse__V1__ErasureNoticeRecord *rec, void *ctx, ecl_err *err)
{
    ack_ctx *a = ctx;
    Ecluse__V1__ErasureNoticeBody *b = body_of(rec);
    if (b == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "the kept notice %s does not decode",
                        a->ack->notice_id);
    snprintf(a->dataset, sizeof(a->dataset), "%s", b->dataset);
    int mine = strcmp(b->home_site, a->caller) == 0;
    ecluse__v1__erasure_notice_body__free_unpacked(b, NULL);
    if (!mine)
        return ecl_fail(err, ECL_E_DENIED, "notice %s was not sent to site '%s'", a->ack->notice_id,
                        a->caller);
    if (strcmp(rec->state, "acknowledged") == 0) {
        a->already = 1;
        return ecl_fail(err, ECL_E_EXISTS, "notice %s is acknowledged already", a->ack->notice_id);
    }
    rec->state = "acknowledged";
    rec->acked_unix = a->ack->acked_unix;
    rec->deleted_by = a->ack->deleted_by;
    rec->ack = (Ecluse__V1__SignedErasureAck *)a->signed_ack;
    if (rec->delivered_unix == 0)
        rec->delivered_unix = (int64_t)time(NULL); /* the ack proves it arrived */
    return 0;
}

static int check_ack(gateway *gw, const char *caller, const Ecluse__V1__SignedErasureAck *req,
                     Ecluse__V1__ErasureAckBody **ack, ecl_err *err)
{
    unsigned char(*keys)[crypto_sign_PUBLICKEYBYTES] = NULL;
    size_t n = 0;
    int rc = gateway_peer_keys(gw, caller, 0, &keys, &n, err);
    if (rc == 0)
        rc = erasure_ack_open(req, (const unsigned char(*)[crypto_sign_PUBLICKEYBYTES])keys, n, ack,
                              err);
    if (rc != 0 && err->code == ECL_E_CRYPTO) { /* signed before a rotation? */
        free(keys);
        keys = NULL;
        rc = gateway_peer_keys(gw, caller, 1, &keys, &n, err);
        if (rc == 0)
            rc = erasure_ack_open(req, (const unsigned char(*)[crypto_sign_PUBLICKEYBYTES])keys, n,
                                  ack, err);
    }
    free(keys);
    if (rc != 0)
        return -1;
    if (strcmp((*ack)->home_site, caller) != 0 || strcmp((*ack)->holding_site, gw->cfg.site) != 0)
        rc = ecl_fail(err, ECL_E_DENIED,
                      "the ack is from site '%.64s' to '%.64s', but was sent by '%s' to '%s'",
                      (*ack)->home_site, (*ack)->holding_site, caller, gw->cfg.site);
    if (rc != 0) {
        ecluse__v1__erasure_ack_body__free_unpacked(*ack, NULL);
        *ack = NULL;
    }
    return rc;
}

int svc_federation_ack_erasure_notice(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                                      ecl_err *err)
{
    const Ecluse__V1__SignedErasureAck *req = (const Ecluse__V1__SignedErasureAck *)request;
    gateway *gw = ctx;
    const ecl_identity *id = rpc_call_identity(call);
    Ecluse__V1__ErasureAckBody *ack = NULL;
    ecl_err why;
    ack_ctx a = {req, NULL, id->site, "", 0};
    int rc = check_ack(gw, id->site, req, &ack, &why);
    if (rc == 0) {
        a.ack = ack;
        rc = notice_store_update(gw->notices, NOTICE_OUTBOX, ack->notice_id, take_ack, &a, &why);
    }
    Ecluse__V1__ErasureNoticeReply reply = ECLUSE__V1__ERASURE_NOTICE_REPLY__INIT;
    reply.recorded = rc == 0 || a.already;
    reply.refused = rc == 0 ? "" : why.msg;
    const char *notice_id = ack != NULL ? ack->notice_id : "-";
    if (gateway_record_notice(gw, id->spiffe, a.dataset[0] ? a.dataset : NULL,
                              rc == 0 ? "ack-received" : "ack-refused", notice_id, id->site,
                              rc == 0 ? NULL : why.msg, &reply.audit_seq, err) != 0) {
        if (ack != NULL)
            ecluse__v1__erasure_ack_body__free_unpacked(ack, NULL);
        return -1; /* not on record: the home site tries again */
    }
    if (ack != NULL)
        ecluse__v1__erasure_ack_body__free_unpacked(ack, NULL);
    return rpc_call_reply(call, &reply.base, err);
}

/* --- making the notices of every erasure on record --- */

/* An erasure on the trail whose notices are not all made yet. */
typedef struct unnoticed {
    uint64_t seq, version;
    char actor[AUDIT_FIELD_MAX + 1], dataset[AUDIT_FIELD_MAX + 1];
    Ecluse__V1__RowRange *rows;
    size_t n_rows;
    struct unnoticed *next;
} unnoticed;

typedef struct scan {
    gateway *gw;
    unnoticed *found;
    ecl_err err;
    int failed;
} scan;

static int collect(const audit_record *rec, void *arg)
{
    scan *s = arg;
    int done = 0;
    if (strcmp(rec->decision, "permit") != 0)
        return 0; /* a refused erasure erased nothing */
    if (notice_store_erasure_done(s->gw->notices, rec->seq, &done, &s->err) != 0) {
        s->failed = 1;
        return 1;
    }
    if (done)
        return 0;
    json_t *d = json_loads(rec->detail_json, 0, NULL);
    json_t *rows = json_object_get(d, "rows");
    unnoticed *u = calloc(1, sizeof(*u));
    size_t n = json_array_size(rows);
    if (u != NULL)
        u->rows = calloc(n + 1, sizeof(*u->rows));
    if (u == NULL || u->rows == NULL) {
        free(u);
        json_decref(d);
        s->failed = 1;
        ecl_fail(&s->err, ECL_E_INTERNAL, "out of memory");
        return 1;
    }
    u->seq = rec->seq;
    u->version = (uint64_t)json_integer_value(json_object_get(d, "version"));
    snprintf(u->actor, sizeof(u->actor), "%s", rec->actor);
    snprintf(u->dataset, sizeof(u->dataset), "%s", rec->dataset);
    for (size_t i = 0; i < n; i++) {
        json_t *r = json_array_get(rows, i);
        ecluse__v1__row_range__init(&u->rows[i]);
        u->rows[i].begin = (uint64_t)json_integer_value(json_array_get(r, 0));
        u->rows[i].end = (uint64_t)json_integer_value(json_array_get(r, 1));
    }
    u->n_rows = n;
    json_decref(d);
    u->next = s->found;
    s->found = u;
    return 0;
}

/* The notices of one erasure: to the home site of every read that carried
 * its rows (audit_recipients). */
static int notify_one(gateway *gw, const unnoticed *u, ecl_err *err)
{
    audit_row_range *ask = calloc(u->n_rows + 1, sizeof(*ask));
    if (ask == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < u->n_rows; i++) {
        ask[i].begin = u->rows[i].begin;
        ask[i].end = u->rows[i].end;
    }
    audit_recipient *found = NULL;
    size_t count = 0;
    int rc = audit_recipients(gw->audit, u->dataset, ask, u->n_rows, &found, &count, err);
    free(ask);
    if (rc != 0)
        return -1;
    gateway_erased_read *reads = calloc(count + 1, sizeof(*reads));
    Ecluse__V1__RowRange **ranges = calloc(count + 1, sizeof(*ranges));
    rc = reads != NULL && ranges != NULL ? 0 : ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    for (size_t i = 0; rc == 0 && i < count; i++) {
        ranges[i] = calloc(found[i].n_rows + 1, sizeof(**ranges));
        if (ranges[i] == NULL) {
            rc = ecl_fail(err, ECL_E_INTERNAL, "out of memory");
            break;
        }
        for (size_t j = 0; j < found[i].n_rows; j++) {
            ecluse__v1__row_range__init(&ranges[i][j]);
            ranges[i][j].begin = found[i].rows[j].begin;
            ranges[i][j].end = found[i].rows[j].end;
        }
        reads[i].home_site = found[i].home_site;
        reads[i].reader = found[i].reader;
        reads[i].read_id = found[i].read_id;
        reads[i].rows = ranges[i];
        reads[i].n_rows = found[i].n_rows;
    }
    if (rc == 0)
        rc = gateway_erasure_notify(gw, u->actor, u->dataset, u->version, u->seq, u->rows,
                                    u->n_rows, reads, count, err);
    for (size_t i = 0; ranges != NULL && i < count; i++)
        free(ranges[i]);
    free(ranges);
    free(reads);
    audit_recipients_free(found, count);
    return rc;
}

int gateway_erasure_recover(gateway *gw, ecl_err *err)
{
    scan s = {gw, NULL, {0}, 0};
    audit_filter f = {0};
    f.kind = AUDIT_KIND_ERASURE;
    int rc = audit_query(gw->audit, &f, collect, &s, err);
    if (rc == 0 && s.failed) {
        *err = s.err;
        rc = -1;
    }
    while (s.found != NULL) { /* newest first: the order notices go out does not matter */
        unnoticed *u = s.found;
        s.found = u->next;
        if (rc == 0)
            rc = notify_one(gw, u, err);
        free(u->rows);
        free(u);
    }
    return rc;
}
