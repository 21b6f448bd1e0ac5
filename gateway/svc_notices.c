/* svc_notices.c - the Notices service: erasure notices as people see them.
 * A researcher sees the notices naming one of their reads and says when
 * the copy is deleted; an auditor or admin sees every notice received, and
 * every notice this site sent with its state. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/gateway.h"

/* 1 if `b` names a read by `spiffe`. */
static int concerns(const Ecluse__V1__ErasureNoticeBody *b, const char *spiffe)
{
    for (size_t i = 0; i < b->n_reads; i++)
        if (strcmp(b->reads[i]->reader, spiffe) == 0)
            return 1;
    return 0;
}

static Ecluse__V1__ErasureNoticeBody *body_of(const Ecluse__V1__ErasureNoticeRecord *rec)
{
    if (rec->notice == NULL)
        return NULL;
    return ecluse__v1__erasure_notice_body__unpack(NULL, rec->notice->body.len,
                                                   rec->notice->body.data);
}

/* Stream the records of `box`: for a researcher, those naming their reads;
 * with `pending_only`, those not yet in state `done`. */
static int stream(rpc_call *call, gateway *gw, notice_box box, int pending_only, const char *done,
                  ecl_err *err)
{
    const ecl_identity *id = rpc_call_identity(call);
    Ecluse__V1__ErasureNoticeRecord **list = NULL;
    size_t count = 0;
    if (notice_store_list(gw->notices, box, &list, &count, err) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        Ecluse__V1__ErasureNoticeBody *b = body_of(list[i]);
        if (b == NULL) {
            rc = ecl_fail(err, ECL_E_INTERNAL, "a kept erasure notice does not decode");
            break;
        }
        int shown = (id->role != ECL_ROLE_RESEARCHER || concerns(b, id->spiffe)) &&
                    (!pending_only || strcmp(list[i]->state, done) != 0);
        if (shown) {
            Ecluse__V1__NoticeView view = ECLUSE__V1__NOTICE_VIEW__INIT;
            view.record = list[i];
            view.body = b;
            rc = rpc_call_send(call, &view.base, err);
        }
        ecluse__v1__erasure_notice_body__free_unpacked(b, NULL);
    }
    notice_store_free_list(list, count);
    return rc;
}

int svc_notices_list(rpc_call *call, const ProtobufCMessage *request, void *ctx, ecl_err *err)
{
    const Ecluse__V1__NoticeQuery *q = (const Ecluse__V1__NoticeQuery *)request;
    return stream(call, ctx, NOTICE_INBOX, q->pending_only, "deleted", err);
}

int svc_notices_sent(rpc_call *call, const ProtobufCMessage *request, void *ctx, ecl_err *err)
{
    const Ecluse__V1__NoticeQuery *q = (const Ecluse__V1__NoticeQuery *)request;
    return stream(call, ctx, NOTICE_OUTBOX, q->pending_only, "acknowledged", err);
}

typedef struct ack_ctx {
    const ecl_identity *by;
    Ecluse__V1__SignedErasureAck *ack; /* signed before the update */
    Ecluse__V1__ErasureNoticeRecord *after;
    char dataset[256], holder[ECL_SITE_ID_MAX];
} ack_ctx;

static int mark_deleted(Ecluse__V1__ErasureNoticeRecord *rec, void *ctx, ecl_err *err)
{
    ack_ctx *a = ctx;
    Ecluse__V1__ErasureNoticeBody *b = body_of(rec);
    if (b == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "the kept erasure notice does not decode");
    int mine = a->by->role != ECL_ROLE_RESEARCHER || concerns(b, a->by->spiffe);
    snprintf(a->dataset, sizeof(a->dataset), "%s", b->dataset);
    snprintf(a->holder, sizeof(a->holder), "%s", b->holding_site);
    char id[ERASURE_ID_LEN + 8];
    snprintf(id, sizeof(id), "%s", b->notice_id);
    ecluse__v1__erasure_notice_body__free_unpacked(b, NULL);
    if (!mine)
        return ecl_fail(err, ECL_E_NOT_FOUND, "no erasure notice %s concerns %s", id,
                        a->by->spiffe);
    if (strcmp(rec->state, "deleted") == 0)
        return ecl_fail(err, ECL_E_PRECONDITION, "erasure notice %s was acknowledged already by %s",
                        id, rec->deleted_by);
    rec->state = "deleted";
    rec->acked_unix = (int64_t)time(NULL);
    rec->deleted_by = (char *)a->by->spiffe;
    rec->ack = a->ack;
    rec->ack_sent = 0;
    size_t len = ecluse__v1__erasure_notice_record__get_packed_size(rec);
    unsigned char *buf = malloc(len ? len : 1);
    if (buf == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    ecluse__v1__erasure_notice_record__pack(rec, buf);
    a->after = ecluse__v1__erasure_notice_record__unpack(NULL, len, buf);
    free(buf);
    return 0;
}

/* The ack this site signs: who deleted, when. The holding site is read
 * from the kept notice first, so that the ack names it. */
static int sign_ack(gateway *gw, const char *notice_id, const ecl_identity *by,
                    Ecluse__V1__SignedErasureAck *out, char holder[ECL_SITE_ID_MAX], ecl_err *err)
{
    Ecluse__V1__ErasureAckBody body = ECLUSE__V1__ERASURE_ACK_BODY__INIT;
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    signer_public_key(gw->signer, pk);
    body.notice_id = (char *)notice_id;
    body.holding_site = holder;
    body.home_site = gw->cfg.site;
    body.deleted_by = (char *)by->spiffe;
    body.acked_unix = (int64_t)time(NULL);
    body.signing_key.data = pk;
    body.signing_key.len = sizeof(pk);
    return signer_sign_message(gw->signer, SIGNER_ERASURE_ACK, &body.base, &out->body,
                               &out->signature, err);
}

static int find_holder(gateway *gw, const char *notice_id, const ecl_identity *by,
                       char holder[ECL_SITE_ID_MAX], ecl_err *err)
{
    Ecluse__V1__ErasureNoticeRecord **list = NULL;
    size_t count = 0;
    if (notice_store_list(gw->notices, NOTICE_INBOX, &list, &count, err) != 0)
        return -1;
    int found = 0;
    for (size_t i = 0; !found && i < count; i++) {
        Ecluse__V1__ErasureNoticeBody *b = body_of(list[i]);
        if (b != NULL && strcmp(b->notice_id, notice_id) == 0 &&
            (by->role != ECL_ROLE_RESEARCHER || concerns(b, by->spiffe))) {
            snprintf(holder, ECL_SITE_ID_MAX, "%s", b->holding_site);
            found = strcmp(list[i]->state, "deleted") == 0 ? -1 : 1;
        }
        if (b != NULL)
            ecluse__v1__erasure_notice_body__free_unpacked(b, NULL);
    }
    notice_store_free_list(list, count);
    if (found < 0)
        return ecl_fail(err, ECL_E_PRECONDITION, "erasure notice %.64s was acknowledged already",
                        notice_id);
    if (!found)
        return ecl_fail(err, ECL_E_NOT_FOUND, "no erasure notice '%.64s' concerns %s", notice_id,
                        by->spiffe);
    return 0;
}

int svc_notices_ack(rpc_call *call, const ProtobufCMessage *request, void *ctx, ecl_err *err)
{
    const Ecluse__V1__NoticeAckRequest *req = (const Ecluse__V1__NoticeAckRequest *)request;
    gateway *gw = ctx;
    const ecl_identity *by = rpc_call_identity(call);
    Ecluse__V1__SignedErasureAck ack = ECLUSE__V1__SIGNED_ERASURE_ACK__INIT;
    ack_ctx a = {by, &ack, NULL, "", ""};
    char holder[ECL_SITE_ID_MAX];
    if (find_holder(gw, req->notice_id, by, holder, err) != 0 ||
        sign_ack(gw, req->notice_id, by, &ack, holder, err) != 0)
        return -1;
    /* On record first: the deletion is claimed only once the trail has it. */
    int rc = gateway_record_notice(gw, by->spiffe, NULL, "deleted", req->notice_id, holder, NULL,
                                   NULL, err);
    if (rc == 0)
        rc = notice_store_update(gw->notices, NOTICE_INBOX, req->notice_id, mark_deleted, &a, err);
    free(ack.body.data);
    free(ack.signature.data);
    if (rc != 0)
        return -1;
    gateway_erasure_kick(gw);
    Ecluse__V1__NoticeView view = ECLUSE__V1__NOTICE_VIEW__INIT;
    view.record = a.after;
    view.body = a.after != NULL ? body_of(a.after) : NULL;
    rc = rpc_call_reply(call, &view.base, err);
    if (view.body != NULL)
        ecluse__v1__erasure_notice_body__free_unpacked(view.body, NULL);
    if (a.after != NULL)
        ecluse__v1__erasure_notice_record__free_unpacked(a.after, NULL);
    return rc;
}
