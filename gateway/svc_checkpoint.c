/* svc_checkpoint.c - what auditors and admins ask of the checkpoints: the
 * latest one, a proof against the tree, a checkpoint now, and verification
 * of the trail with what the peers witnessed. */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/merkle.h"
#include "common/note.h"
#include "gateway/gateway.h"

/* ---- the keys to trust ----------------------------------------------------- */

typedef struct trust_keys {
    unsigned char (*site)[AUDIT_PK_BYTES];
    size_t n_site;
    audit_witness_key *witnesses;
    char (*names)[ECL_NOTE_NAME_MAX + 1];
    size_t n_witnesses;
    char origin[ECL_NOTE_NAME_MAX + 1];
} trust_keys;

static void trust_keys_free(trust_keys *t)
{
    free(t->site);
    free(t->witnesses);
    free(t->names);
    memset(t, 0, sizeof(*t));
}

/* This site's key history: the verified rotation chain and the signer's
 * current key. */
static int site_key_history(gateway *gw, trust_keys *t, ecl_err *err)
{
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    signer_public_key(gw->signer, pk);
    return fed_site_key_history(gw->state, gw->cfg.site, pk, &t->site, &t->n_site, err);
}

static int trust_keys_load(gateway *gw, trust_keys *t, ecl_err *err)
{
    memset(t, 0, sizeof(*t));
    fed_peer *peers = NULL;
    size_t count = 0;
    if (ecl_audit_origin(gw->cfg.site, t->origin, sizeof(t->origin), err) != 0 ||
        site_key_history(gw, t, err) != 0 ||
        fed_state_list_peers(gw->state, &peers, &count, err) != 0) {
        trust_keys_free(t);
        return -1;
    }
    t->witnesses = calloc(count ? count : 1, sizeof(*t->witnesses));
    t->names = calloc(count ? count : 1, sizeof(*t->names));
    int rc = t->witnesses && t->names ? 0 : ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    for (size_t i = 0; rc == 0 && i < count; i++) {
        rc = ecl_witness_name(peers[i].info.site, t->names[i], sizeof(t->names[i]), err);
        t->witnesses[i].name = t->names[i];
        memcpy(t->witnesses[i].pk, peers[i].pinned_key, AUDIT_PK_BYTES);
        t->n_witnesses++;
    }
    fed_state_free_peers(peers, count);
    if (rc != 0)
        trust_keys_free(t);
    return rc;
}

/* ---- Audit.Head, Audit.Proof, Admin.SignCheckpoint ------------------------- */

int svc_audit_head(rpc_call *call, const ProtobufCMessage *request, void *ctx, ecl_err *err)
{
    (void)request;
    gateway *gw = ctx;
    audit_note *note = malloc(sizeof(*note));
    if (note == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    ecl_err none;
    int rc = 0;
    if (audit_checkpoint_get(gw->audit, 0, note, &none) != 0) {
        gateway_checkpoint_result res;
        rc = gateway_checkpoint(gw, 0, 0, &res, err);
        if (rc == 0)
            *note = res.note;
        gateway_checkpoint_result_clear(&res);
    }
    Ecluse__V1__SignedCheckpoint msg = ECLUSE__V1__SIGNED_CHECKPOINT__INIT;
    msg.note = (ProtobufCBinaryData){note->len, (uint8_t *)note->text};
    if (rc == 0)
        rc = rpc_call_reply(call, &msg.base, err);
    free(note);
    return rc;
}

int svc_audit_proof(rpc_call *call, const ProtobufCMessage *request, void *ctx, ecl_err *err)
{
    const Ecluse__V1__ProofRequest *req = (const Ecluse__V1__ProofRequest *)request;
    gateway *gw = ctx;
    audit_note *note = malloc(sizeof(*note));
    if (note == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    uint64_t size = req->size;
    ecl_err none;
    int have_note = audit_checkpoint_get(gw->audit, size, note, &none) == 0;
    int rc = 0;
    if (size == 0 && !have_note)
        rc = ecl_fail(err, ECL_E_PRECONDITION, "no checkpoint has been signed yet: give a size");
    if (rc == 0 && size == 0)
        size = note->size;
    audit_proof proof = {0};
    uint8_t root[MERKLE_HASH_BYTES];
    uint8_t *leaf = NULL;
    size_t leaf_len = 0;
    if (rc == 0)
        rc = audit_tree_root(gw->audit, size, root, err);
    if (rc == 0 && req->seq != 0)
        rc = audit_prove_inclusion(gw->audit, req->seq, size, &proof, err) ||
             audit_entry_raw(gw->audit, req->seq, &leaf, &leaf_len, err);
    else if (rc == 0)
        rc = audit_prove_consistency(gw->audit, req->old_size, size, &proof, err);
    ProtobufCBinaryData hashes[MERKLE_PROOF_MAX];
    for (size_t i = 0; i < proof.n; i++)
        hashes[i] = (ProtobufCBinaryData){MERKLE_HASH_BYTES, proof.hash[i]};
    Ecluse__V1__SignedCheckpoint ck = ECLUSE__V1__SIGNED_CHECKPOINT__INIT;
    ck.note = (ProtobufCBinaryData){note->len, (uint8_t *)note->text};
    Ecluse__V1__Proof reply = ECLUSE__V1__PROOF__INIT;
    reply.size = size;
    reply.root = (ProtobufCBinaryData){MERKLE_HASH_BYTES, root};
    reply.n_hashes = proof.n;
    reply.hashes = hashes;
    reply.leaf = (ProtobufCBinaryData){leaf_len, leaf};
    reply.checkpoint = have_note && note->size == size ? &ck : NULL;
    if (rc == 0)
        rc = rpc_call_reply(call, &reply.base, err);
    free(leaf);
    free(note);
    return rc ? -1 : 0;
}

int svc_admin_sign_checkpoint(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                              ecl_err *err)
{
    const Ecluse__V1__SignCheckpointRequest *req =
        (const Ecluse__V1__SignCheckpointRequest *)request;
    gateway *gw = ctx;
    gateway_checkpoint_result *res = malloc(sizeof(*res));
    if (res == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    int rc = gateway_checkpoint(gw, req->push_to_peers, (int)GATEWAY_SETTING(gw, peer_timeout_ms),
                                res, err);
    Ecluse__V1__WitnessOutcome **ptrs = calloc(res->count ? res->count : 1, sizeof(*ptrs));
    if (rc == 0 && ptrs == NULL)
        rc = ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    if (rc == 0) {
        for (size_t i = 0; i < res->count; i++)
            ptrs[i] = &res->outcomes[i];
        Ecluse__V1__SignedCheckpoint ck = ECLUSE__V1__SIGNED_CHECKPOINT__INIT;
        ck.note = (ProtobufCBinaryData){res->note.len, (uint8_t *)res->note.text};
        Ecluse__V1__CheckpointResult reply = ECLUSE__V1__CHECKPOINT_RESULT__INIT;
        reply.checkpoint = &ck;
        reply.n_witnesses = res->count;
        reply.witnesses = ptrs;
        rc = rpc_call_reply(call, &reply.base, err);
    }
    free(ptrs);
    gateway_checkpoint_result_clear(res);
    free(res);
    return rc;
}

/* ---- Audit.Verify ------------------------------------------------------------ */

/* Ask one peer for the latest checkpoint of ours it cosigned, and check it:
 * our signature, its cosignature, and that our tree still has that root. */
static void check_witness(gateway *gw, const trust_keys *t, const fed_peer *peer,
                          const audit_trust *trust, Ecluse__V1__WitnessResult *out)
{
    ecluse__v1__witness_result__init(out);
    out->witness = strdup(peer->info.site);
    ecl_err err = {0};
    char name[ECL_NOTE_NAME_MAX + 1];
    rpc_channel *ch = NULL;
    ProtobufCMessage *resp = NULL;
    Ecluse__V1__WitnessRequest req = ECLUSE__V1__WITNESS_REQUEST__INIT;
    req.site = gw->cfg.site;
    int rc = ecl_witness_name(peer->info.site, name, sizeof(name), &err) != 0 ||
                     gateway_peer_channel(gw, peer, &ch, &err) != 0 ||
                     rpc_unary(ch, "/ecluse.v1.Federation/GetWitnessedCheckpoints", &req.base,
                               &ecluse__v1__checkpoint_list__descriptor, &resp,
                               (int)GATEWAY_SETTING(gw, peer_timeout_ms), &err) != 0
                 ? -1
                 : 0;
    rpc_channel_close(ch);
    const Ecluse__V1__CheckpointList *list = (const Ecluse__V1__CheckpointList *)resp;
    for (size_t i = 0; rc == 0 && i < list->n_checkpoints; i++) {
        out->checkpoints++;
        const char *text = (const char *)list->checkpoints[i]->note.data;
        size_t len = list->checkpoints[i]->note.len, text_len;
        ecl_checkpoint ck;
        uint64_t when, count;
        uint8_t root[MERKLE_HASH_BYTES], head[MERKLE_HASH_BYTES];
        int signed_ok = 0;
        ecl_err ignored;
        for (size_t k = 0; k < t->n_site; k++)
            signed_ok |= ecl_note_verify(text, len, trust->origin, t->site[k], NULL, &ignored) == 0;
        if (ecl_note_split(text, len, &text_len, &err) != 0 ||
            ecl_checkpoint_parse(text, text_len, &ck, &err) != 0)
            rc = -1;
        else if (!signed_ok)
            rc = ecl_fail(&err, ECL_E_CRYPTO,
                          "it holds a checkpoint of %llu entries not signed by this site's keys",
                          (unsigned long long)ck.size);
        else if (ecl_cosig_verify(text, len, name, peer->pinned_key, &when, &err) != 0)
            rc = ecl_err_prefix(&err, "its cosignature does not verify");
        else if (audit_tree_head(gw->audit, &count, head, &err) != 0)
            rc = -1;
        else if (ck.size > count)
            rc = ecl_fail(&err, ECL_E_CRYPTO,
                          "it cosigned a checkpoint of %llu entries, but the trail has only %llu: "
                          "entries %llu..%llu were removed",
                          (unsigned long long)ck.size, (unsigned long long)count,
                          (unsigned long long)count + 1, (unsigned long long)ck.size);
        else if (audit_tree_root(gw->audit, ck.size, root, &err) != 0)
            rc = -1;
        else if (memcmp(root, ck.root, MERKLE_HASH_BYTES) != 0)
            rc = ecl_fail(&err, ECL_E_CRYPTO,
                          "it cosigned a checkpoint of %llu entries whose root is not this "
                          "trail's: entries up to %llu were rewritten",
                          (unsigned long long)ck.size, (unsigned long long)ck.size);
        else
            out->consistent++;
    }
    out->error = strdup(rc == 0 ? "" : err.msg);
    if (out->witness == NULL || out->error == NULL)
        out->consistent = 0; /* out of memory: a report that cannot say whose claims nothing */
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
    trust_keys t;
    if (trust_keys_load(gw, &t, err) != 0)
        return -1;
    audit_trust trust = {t.origin, (const uint8_t(*)[AUDIT_PK_BYTES])t.site, t.n_site, t.witnesses,
                         t.n_witnesses};
    if (chain_ok) {
        chain_ok = audit_verify_checkpoints(gw->audit, &trust, &rep, &verr) == 0;
        if (!chain_ok && rep.reason[0] == '\0') {
            trust_keys_free(&t);
            return ecl_fail(err, verr.code, "%s", verr.msg);
        }
    }
    Ecluse__V1__VerifyReport reply = ECLUSE__V1__VERIFY_REPORT__INIT;
    reply.entries = rep.entries;
    reply.checkpoints = rep.checkpoints;
    reply.first_bad_seq = rep.first_bad_seq;
    reply.tree_nodes = rep.tree_nodes;
    reply.index_rows = rep.index_rows;
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
            check_witness(gw, &t, &peers[i], &trust, &results[i]);
            ptrs[i] = &results[i];
            /* An unreachable witness is reported, not held against the
             * trail; a checkpoint it holds that the trail contradicts is. */
            witnesses_ok &= results[i].consistent == results[i].checkpoints;
        }
        reply.n_witnesses = results && ptrs ? count : 0;
        reply.witnesses = ptrs;
        witnesses_ok &= results != NULL && ptrs != NULL;
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
    trust_keys_free(&t);
    return rc;
}
