/* witness.c - audit checkpoints: signed here, kept by peers, checked by auditors.
 *
 * A site signs "my log had N entries ending in hash H" and hands it to each
 * peer, which keeps it (refusing one that contradicts what it kept before).
 * When an auditor verifies, the gateway asks each peer what it kept and
 * checks every such checkpoint against its own log: a site that rewrote its
 * past would find its peers holding hashes it no longer has. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "gateway/gateway.h"

static void to_proto(const audit_signed_checkpoint *sc, Ecluse__V1__SignedCheckpoint *out)
{
    ecluse__v1__signed_checkpoint__init(out);
    out->body.data = (uint8_t *)sc->body;
    out->body.len = sc->body_len;
    out->signature.data = (uint8_t *)sc->sig;
    out->signature.len = AUDIT_SIG_BYTES;
}

static int from_proto(const Ecluse__V1__SignedCheckpoint *in, audit_signed_checkpoint *out,
                      ecl_err *err)
{
    if (in->body.len == 0 || in->body.len > sizeof(out->body) ||
        in->signature.len != AUDIT_SIG_BYTES)
        return ecl_fail(err, ECL_E_INPUT,
                        "a signed checkpoint has a %zu-byte body and a %zu-byte "
                        "signature",
                        in->body.len, in->signature.len);
    memcpy(out->body, in->body.data, in->body.len);
    out->body_len = in->body.len;
    memcpy(out->sig, in->signature.data, AUDIT_SIG_BYTES);
    return 0;
}

static void push_to_peer(gateway *gw, const fed_peer *peer, const audit_signed_checkpoint *sc)
{
    rpc_channel *ch = NULL;
    ecl_err err;
    Ecluse__V1__SignedCheckpoint msg;
    to_proto(sc, &msg);
    ProtobufCMessage *resp = NULL;
    int rc = gateway_peer_channel(gw, peer, &ch, &err);
    if (rc == 0)
        rc = rpc_unary(ch, "/ecluse.v1.Federation/PushCheckpoint", &msg.base,
                       &ecluse__v1__checkpoint_receipt__descriptor, &resp,
                       (int)gw->cfg.peer_timeout_ms, &err);
    rpc_channel_close(ch);
    if (rc != 0) {
        ecl_log(ECL_LOG_WARN, "checkpoint.push", "peer", peer->info.site, "error", err.msg, NULL);
        return;
    }
    Ecluse__V1__CheckpointReceipt *r = (Ecluse__V1__CheckpointReceipt *)resp;
    ecl_log(r->accepted ? ECL_LOG_INFO : ECL_LOG_WARN, "checkpoint.push", "peer", peer->info.site,
            "accepted", r->accepted ? "yes" : "no", r->accepted ? NULL : "reason", r->reason, NULL);
    protobuf_c_message_free_unpacked(resp, NULL);
}

/* Sign the trail's head through the signer process and store it. */
static int sign_checkpoint(gateway *gw, audit_signed_checkpoint *out, ecl_err *err)
{
    unsigned char public_key[crypto_sign_PUBLICKEYBYTES];
    signer_public_key(gw->signer, public_key);
    return audit_checkpoint_sign(gw->audit, gw->cfg.site, public_key, signer_sign_checkpoint,
                                 gw->signer, out, err);
}

int gateway_checkpoint(gateway *gw, audit_signed_checkpoint *out, ecl_err *err)
{
    if (sign_checkpoint(gw, out, err) != 0)
        return -1;
    fed_peer *peers = NULL;
    size_t count = 0;
    if (fed_state_list_peers(gw->state, &peers, &count, err) != 0)
        return -1;
    for (size_t i = 0; i < count; i++)
        push_to_peer(gw, &peers[i], out);
    fed_state_free_peers(peers, count);
    return 0;
}

int svc_federation_push_checkpoint(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                                   ecl_err *err)
{
    gateway *gw = ctx;
    const ecl_identity *who = rpc_call_identity(call);
    audit_signed_checkpoint sc;
    fed_peer peer;
    if (from_proto((const Ecluse__V1__SignedCheckpoint *)request, &sc, err) != 0 ||
        fed_state_get_peer(gw->state, who->site, &peer, err) != 0)
        return -1;
    ecl_err why;
    int kept = audit_witness_add(gw->audit, who->site, peer.pinned_key, &sc, &why) == 0;
    fed_peer_clear(&peer);
    if (!kept)
        ecl_log(ECL_LOG_WARN, "checkpoint.refused", "site", who->site, "reason", why.msg, NULL);
    Ecluse__V1__CheckpointReceipt receipt = ECLUSE__V1__CHECKPOINT_RECEIPT__INIT;
    receipt.accepted = kept;
    receipt.reason = kept ? "" : why.msg;
    return rpc_call_reply(call, &receipt.base, err);
}

typedef struct collect {
    Ecluse__V1__SignedCheckpoint *items;
    audit_signed_checkpoint *copies;
    size_t count, cap;
} collect;

static int collect_one(const audit_witnessed *w, void *arg)
{
    collect *c = arg;
    if (c->count == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 16;
        void *a = realloc(c->items, cap * sizeof(*c->items));
        if (a == NULL)
            return -1;
        c->items = a;
        void *b = realloc(c->copies, cap * sizeof(*c->copies));
        if (b == NULL)
            return -1;
        c->copies = b;
        c->cap = cap;
    }
    c->copies[c->count] = *w->signed_ckpt;
    c->count++;
    return 0;
}

int svc_federation_witnessed(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                             ecl_err *err)
{
    const Ecluse__V1__WitnessRequest *req = (const Ecluse__V1__WitnessRequest *)request;
    gateway *gw = ctx;
    const ecl_identity *who = rpc_call_identity(call);
    /* A gateway asks about itself; this site's auditor may ask about any peer. */
    const char *site = req->site[0] != '\0' ? req->site : who->site;
    if (who->role == ECL_ROLE_GATEWAY && strcmp(site, who->site) != 0)
        return ecl_fail(err, ECL_E_DENIED,
                        "a gateway may ask only for its own site's "
                        "checkpoints, not for '%s'",
                        site);
    collect c = {0};
    if (audit_witness_list(gw->audit, site, collect_one, &c, err) != 0) {
        free(c.items);
        free(c.copies);
        return -1;
    }
    Ecluse__V1__SignedCheckpoint **ptrs = calloc(c.count ? c.count : 1, sizeof(*ptrs));
    for (size_t i = 0; ptrs != NULL && i < c.count; i++) {
        to_proto(&c.copies[i], &c.items[i]);
        ptrs[i] = &c.items[i];
    }
    Ecluse__V1__CheckpointList list = ECLUSE__V1__CHECKPOINT_LIST__INIT;
    list.n_checkpoints = ptrs ? c.count : 0;
    list.checkpoints = ptrs;
    list.witness = gw->cfg.site;
    int rc = ptrs ? rpc_call_reply(call, &list.base, err)
                  : ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    free(ptrs);
    free(c.items);
    free(c.copies);
    return rc;
}

/* Ask one peer what it witnessed of this site and check it against the log. */
static void check_witness(gateway *gw, const fed_peer *peer, Ecluse__V1__WitnessResult *out)
{
    ecluse__v1__witness_result__init(out);
    out->witness = strdup(peer->info.site);
    out->error = strdup("");
    rpc_channel *ch = NULL;
    ecl_err err;
    Ecluse__V1__WitnessRequest req = ECLUSE__V1__WITNESS_REQUEST__INIT;
    req.site = gw->cfg.site;
    ProtobufCMessage *resp = NULL;
    int rc = gateway_peer_channel(gw, peer, &ch, &err);
    if (rc == 0)
        rc = rpc_unary(ch, "/ecluse.v1.Federation/GetWitnessedCheckpoints", &req.base,
                       &ecluse__v1__checkpoint_list__descriptor, &resp,
                       (int)gw->cfg.peer_timeout_ms, &err);
    rpc_channel_close(ch);
    if (rc != 0) {
        free(out->error);
        out->error = strdup(err.msg);
        return;
    }
    Ecluse__V1__CheckpointList *list = (Ecluse__V1__CheckpointList *)resp;
    out->checkpoints = list->n_checkpoints;
    for (size_t i = 0; i < list->n_checkpoints; i++) {
        audit_signed_checkpoint sc;
        if (from_proto(list->checkpoints[i], &sc, &err) == 0 &&
            audit_checkpoint_check(gw->audit, &sc, NULL, &err) == 0) {
            out->consistent++;
        } else if (out->error[0] == '\0') {
            free(out->error);
            out->error = strdup(err.msg);
        }
    }
    protobuf_c_message_free_unpacked(resp, NULL);
}

int svc_audit_verify(rpc_call *call, const ProtobufCMessage *request, void *ctx, ecl_err *err)
{
    const Ecluse__V1__VerifyRequest *req = (const Ecluse__V1__VerifyRequest *)request;
    gateway *gw = ctx;
    audit_verify_report rep;
    memset(&rep, 0, sizeof(rep));
    ecl_err verr;
    int chain_ok = audit_verify(gw->audit, &rep, &verr) == 0;
    if (!chain_ok && rep.reason[0] == '\0')
        return ecl_fail(err, verr.code, "%s", verr.msg); /* could not even read the log */
    Ecluse__V1__VerifyReport reply = ECLUSE__V1__VERIFY_REPORT__INIT;
    reply.entries = rep.entries;
    reply.checkpoints = rep.checkpoints;
    reply.first_bad_seq = rep.first_bad_seq;
    reply.error = rep.reason;
    fed_peer *peers = NULL;
    size_t count = 0;
    Ecluse__V1__WitnessResult *results = NULL;
    Ecluse__V1__WitnessResult **ptrs = NULL;
    int witnesses_ok = 1;
    if (req->with_witnesses && fed_state_list_peers(gw->state, &peers, &count, err) == 0) {
        results = calloc(count ? count : 1, sizeof(*results));
        ptrs = calloc(count ? count : 1, sizeof(*ptrs));
        for (size_t i = 0; results && ptrs && i < count; i++) {
            check_witness(gw, &peers[i], &results[i]);
            ptrs[i] = &results[i];
            witnesses_ok &= results[i].consistent == results[i].checkpoints;
        }
        reply.n_witnesses = results && ptrs ? count : 0;
        reply.witnesses = ptrs;
    }
    reply.ok = chain_ok && witnesses_ok;
    int rc = rpc_call_reply(call, &reply.base, err);
    for (size_t i = 0; results != NULL && i < count; i++) {
        free(results[i].witness);
        free(results[i].error);
    }
    free(results);
    free(ptrs);
    fed_state_free_peers(peers, count);
    return rc;
}

int svc_audit_head(rpc_call *call, const ProtobufCMessage *request, void *ctx, ecl_err *err)
{
    (void)request;
    gateway *gw = ctx;
    audit_signed_checkpoint sc;
    if (sign_checkpoint(gw, &sc, err) != 0)
        return -1;
    Ecluse__V1__SignedCheckpoint msg;
    to_proto(&sc, &msg);
    return rpc_call_reply(call, &msg.base, err);
}

int svc_admin_sign_checkpoint(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                              ecl_err *err)
{
    const Ecluse__V1__SignCheckpointRequest *req =
        (const Ecluse__V1__SignCheckpointRequest *)request;
    gateway *gw = ctx;
    audit_signed_checkpoint sc;
    if (req->push_to_peers) {
        if (gateway_checkpoint(gw, &sc, err) != 0)
            return -1;
    } else {
        if (sign_checkpoint(gw, &sc, err) != 0)
            return -1;
    }
    Ecluse__V1__SignedCheckpoint msg;
    to_proto(&sc, &msg);
    return rpc_call_reply(call, &msg.base, err);
}
