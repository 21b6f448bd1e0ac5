/* witness.c - this site's checkpoints, cosigned by its peers; and this site
 * as its peers' witness (docs/audit-format.md, "Checkpoints, signed notes
 * and cosignatures"; the semantics of C2SP tlog-witness).
 *
 * A checkpoint says "the tree of this site's trail had N entries and this
 * root", signed by the site key (through the signer process). Each peer is
 * sent it with a consistency proof from the last size that peer cosigned;
 * the peer checks the signature, the proof, and that the log never forks or
 * goes back, and returns its cosignature, which is kept beside the
 * checkpoint. A site that later cuts or rewrites its trail cannot produce a
 * tree that agrees with what its peers cosigned. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/merkle.h"
#include "common/note.h"
#include "gateway/gateway.h"
#include "gateway/peer_status.h"

/* ---- this site's checkpoints --------------------------------------------- */

/* Whether `note` is signed by a key of this site's history other than the
 * current one (a checkpoint from before a key rotation, which a new
 * signature may replace). */
static int signed_by_an_older_key(gateway *gw, const char *origin, const audit_note *note,
                                  ecl_err *err)
{
    unsigned char(*keys)[crypto_sign_PUBLICKEYBYTES] = NULL;
    size_t n = 0;
    ecl_err none;
    if (fed_site_key_history(gw->state, gw->cfg.site, NULL, &keys, &n, &none) != 0) {
        if (none.code != ECL_E_NOT_FOUND) { /* never rotated: no older key */
            *err = none;
            return -1;
        }
        return 0;
    }
    int found = 0;
    for (size_t i = 0; i < n && !found; i++)
        found = ecl_note_verify(note->text, note->len, origin, keys[i], NULL, &none) == 0;
    free(keys);
    return found;
}

/* Sign the tree as it is now, unless the latest stored checkpoint is of
 * that size and signed with the current key. The latest one is checked
 * whatever its size: one signed by no key of this site's history was put
 * there by someone else, and is kept, as evidence for `ecluse audit
 * verify`, with no checkpoint signed over it (new entries since must not
 * paper over it). One signed by an older key (a rotation since) is signed
 * again if it is of the current size. *out is the stored note. */
static int sign_current(gateway *gw, audit_note *out, ecl_err *err)
{
    uint64_t size;
    uint8_t root[MERKLE_HASH_BYTES];
    char origin[ECL_NOTE_NAME_MAX + 1];
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    signer_public_key(gw->signer, pk);
    if (audit_tree_head(gw->audit, &size, root, err) != 0 ||
        ecl_audit_origin(gw->cfg.site, origin, sizeof(origin), err) != 0)
        return -1;
    ecl_err ignored;
    if (audit_checkpoint_get(gw->audit, 0, out, &ignored) == 0) {
        int current = ecl_note_verify(out->text, out->len, origin, pk, NULL, &ignored) == 0;
        if (current && out->size == size)
            return 0;
        int older = current ? 1 : signed_by_an_older_key(gw, origin, out, err);
        if (older < 0)
            return -1;
        if (!older) {
            char n[24];
            snprintf(n, sizeof(n), "%llu", (unsigned long long)out->size);
            ecl_log(ECL_LOG_ERROR, "checkpoint.forged", "site", gw->cfg.site, "size", n, NULL);
            return ecl_fail(err, ECL_E_CRYPTO,
                            "the stored checkpoint of %llu entries is not signed by any key of "
                            "this site: the trail was tampered with (run ecluse audit verify)",
                            (unsigned long long)out->size);
        }
    }
    memset(out, 0, sizeof(*out));
    out->size = size;
    size_t text_len;
    if (signer_checkpoint_note(gw->signer, size, root, out->text, AUDIT_NOTE_MAX, &out->len,
                               &text_len, err) != 0 ||
        audit_checkpoint_put(gw->audit, size, out->text, out->len, err) != 0)
        return -1;
    out->text[out->len] = '\0';
    return 0;
}

/* The audit entry for a refusal, written once per peer and reason: a peer
 * refusing every second must not grow the trail every second. */
static void record_refusal(gateway *gw, const char *peer_site, const char *event, uint64_t size,
                           const char *reason)
{
    pthread_mutex_lock(&gw->witness_lock);
    witness_refusal **slot = &gw->refusals, *r;
    for (r = *slot; r != NULL; r = r->next)
        if (strcmp(r->site, peer_site) == 0 && strcmp(r->event, event) == 0)
            break;
    int again = r != NULL && strcmp(r->reason, reason) == 0;
    if (r == NULL && (r = calloc(1, sizeof(*r))) != NULL) {
        snprintf(r->site, sizeof(r->site), "%s", peer_site);
        snprintf(r->event, sizeof(r->event), "%s", event);
        r->next = *slot;
        *slot = r;
    }
    if (r != NULL)
        snprintf(r->reason, sizeof(r->reason), "%s", reason);
    pthread_mutex_unlock(&gw->witness_lock);
    ecl_log(ECL_LOG_WARN, event, "peer", peer_site, "reason", reason, NULL);
    if (again)
        return;
    char actor[ECL_SPIFFE_MAX];
    snprintf(actor, sizeof(actor), "spiffe://%s/gateway", peer_site);
    json_t *detail = json_pack("{s:s, s:s, s:I, s:s}", "event", event, "site", peer_site, "size",
                               (json_int_t)size, "reason", reason);
    ecl_err err;
    if (detail == NULL ||
        gateway_record(gw, AUDIT_KIND_WITNESS, actor, NULL, detail, NULL, &err) != 0)
        ecl_log(ECL_LOG_ERROR, "witness.unrecorded", "peer", peer_site, "event", event, NULL);
}

static void forget_refusal(gateway *gw, const char *peer_site, const char *event)
{
    pthread_mutex_lock(&gw->witness_lock);
    for (witness_refusal **p = &gw->refusals; *p != NULL; p = &(*p)->next)
        if (strcmp((*p)->site, peer_site) == 0 && strcmp((*p)->event, event) == 0) {
            witness_refusal *gone = *p;
            *p = gone->next;
            free(gone);
            break;
        }
    pthread_mutex_unlock(&gw->witness_lock);
}

/* Check the cosignature `line` of `peer` on `note`, following the peer's
 * key rotations once if its pinned key does not verify it. */
static int check_cosignature(gateway *gw, const fed_peer *peer, const char *witness_name,
                             const audit_note *note, const uint8_t *line, size_t line_len,
                             ecl_err *err)
{
    char both[AUDIT_NOTE_MAX + 1];
    if (line_len > sizeof(both) - 1 - note->len)
        return ecl_fail(err, ECL_E_LIMIT, "a cosignature of %zu bytes", line_len);
    memcpy(both, note->text, note->len);
    memcpy(both + note->len, line, line_len);
    uint64_t when;
    if (ecl_cosig_verify(both, note->len + line_len, witness_name, peer->pinned_key, &when, err) ==
        0)
        return 0;
    unsigned char next[crypto_sign_PUBLICKEYBYTES];
    ecl_err why;
    if (gateway_follow_peer_key(gw, peer, next, &why) == 0 &&
        ecl_cosig_verify(both, note->len + line_len, witness_name, next, &when, err) == 0)
        return 0;
    return -1;
}

/* Hand `sent` (`note` with this site's signature lines only) to one peer,
 * as tlog-witness does. Its cosignature is checked on `note` as kept: a bad
 * line of that peer's name kept there is not replaced by a good one (it is
 * evidence, for `audit verify`). */
static void witness_one(gateway *gw, const fed_peer *peer, const audit_note *note,
                        const audit_note *sent, int timeout_ms, Ecluse__V1__WitnessOutcome *out)
{
    const char *site = peer->info.site;
    char name[ECL_NOTE_NAME_MAX + 1];
    ecl_err err;
    int ok = 0;
    uint64_t old = 0;
    rpc_channel *ch = NULL;
    ProtobufCMessage *resp = NULL;
    if (ecl_witness_name(site, name, sizeof(name), &err) != 0 ||
        audit_cosigned_size(gw->audit, name, &old, &err) != 0 ||
        gateway_peer_channel(gw, peer, &ch, &err) != 0)
        goto done;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (old > note->size) {
            ecl_fail(&err, ECL_E_CRYPTO,
                     "%s cosigned a checkpoint of %llu entries, but this trail has %llu: "
                     "entries were removed",
                     site, (unsigned long long)old, (unsigned long long)note->size);
            record_refusal(gw, site, "checkpoint.cut-back", note->size, err.msg);
            goto done;
        }
        audit_proof proof = {0};
        if (old > 0 && old < note->size &&
            audit_prove_consistency(gw->audit, old, note->size, &proof, &err) != 0)
            goto done;
        ProtobufCBinaryData hashes[MERKLE_PROOF_MAX];
        for (size_t i = 0; i < proof.n; i++)
            hashes[i] = (ProtobufCBinaryData){MERKLE_HASH_BYTES, proof.hash[i]};
        Ecluse__V1__AddCheckpointRequest req = ECLUSE__V1__ADD_CHECKPOINT_REQUEST__INIT;
        req.old_size = old;
        req.n_consistency_proof = proof.n;
        req.consistency_proof = hashes;
        req.checkpoint = (ProtobufCBinaryData){sent->len, (uint8_t *)sent->text};
        protobuf_c_message_free_unpacked(resp, NULL);
        resp = NULL;
        if (rpc_unary(ch, "/ecluse.v1.Federation/AddCheckpoint", &req.base,
                      &ecluse__v1__add_checkpoint_response__descriptor, &resp, timeout_ms,
                      &err) != 0)
            goto done;
        const Ecluse__V1__AddCheckpointResponse *r =
            (const Ecluse__V1__AddCheckpointResponse *)resp;
        if (r->refused[0] == '\0') {
            if (check_cosignature(gw, peer, name, note, r->cosignature.data, r->cosignature.len,
                                  &err) != 0) {
                ecl_err_prefix(&err, "the cosignature it returned does not verify");
                record_refusal(gw, site, "checkpoint.bad-cosignature", note->size, err.msg);
                goto done;
            }
            if (audit_cosignature_put(gw->audit, note->size, name,
                                      (const char *)r->cosignature.data, r->cosignature.len,
                                      &err) != 0)
                goto done;
            forget_refusal(gw, site, "checkpoint.refused-by-witness");
            ok = 1;
            goto done;
        }
        /* tlog-witness's conflict: the witness holds another size; ask again
         * from there, once. */
        if (attempt == 0 && r->witness_size != old) {
            old = r->witness_size;
            continue;
        }
        ecl_fail(&err, ECL_E_DENIED, "refused: %s", r->refused);
        record_refusal(gw, site, "checkpoint.refused-by-witness", note->size, r->refused);
        goto done;
    }
done:
    protobuf_c_message_free_unpacked(resp, NULL);
    rpc_channel_close(ch);
    gateway_peer_contact(gw, peer, PEER_CONTACT_WITNESS, ok ? NULL : &err); /* peer list */
    ecluse__v1__witness_outcome__init(out);
    out->witness = strdup(site);
    out->error = strdup(ok ? "" : err.msg);
    /* An outcome that cannot name its witness (out of memory) is not counted. */
    out->ok = ok && out->witness != NULL && out->error != NULL;
    if (!ok)
        ecl_log(ECL_LOG_WARN, "checkpoint.unwitnessed", "peer", site, "error", err.msg, NULL);
}

void gateway_checkpoint_result_clear(gateway_checkpoint_result *res)
{
    for (size_t i = 0; i < res->count; i++) {
        free(res->outcomes[i].witness);
        free(res->outcomes[i].error);
    }
    free(res->outcomes);
    memset(res, 0, sizeof(*res));
}

/* What witnesses are handed: the note with this site's signature lines
 * only. A reused checkpoint carries the cosignatures kept so far; a witness
 * must not keep another's line (forged or not) in the note it holds and
 * hands back as cosigned. */
static int own_lines_only(gateway *gw, audit_note *n, ecl_err *err)
{
    static const char dash[] = "\xe2\x80\x94 ";
    char origin[ECL_NOTE_NAME_MAX + 1];
    size_t text_len, origin_len;
    if (ecl_audit_origin(gw->cfg.site, origin, sizeof(origin), err) != 0 ||
        ecl_note_split(n->text, n->len, &text_len, err) != 0)
        return -1;
    origin_len = strlen(origin);
    size_t pos = text_len + 1; /* after the blank line: the signature lines */
    while (pos < n->len) {
        const char *line = n->text + pos, *eol = memchr(line, '\n', n->len - pos);
        size_t skip = sizeof(dash) - 1;
        int own = eol != NULL && (size_t)(eol - line) > skip + origin_len &&
                  memcmp(line, dash, skip) == 0 && memcmp(line + skip, origin, origin_len) == 0 &&
                  line[skip + origin_len] == ' ';
        if (!own)
            break;
        pos += (size_t)(eol - line) + 1;
    }
    n->len = pos;
    n->text[pos] = '\0';
    return 0;
}

int gateway_checkpoint(gateway *gw, int push, int timeout_ms, gateway_checkpoint_result *res,
                       ecl_err *err)
{
    memset(res, 0, sizeof(*res));
    pthread_mutex_lock(&gw->checkpoint_lock);
    int rc = sign_current(gw, &res->note, err);
    fed_peer *peers = NULL;
    size_t count = 0;
    if (rc == 0 && push)
        rc = fed_state_list_peers(gw->state, &peers, &count, err);
    audit_note *sent = NULL;
    if (rc == 0 && count > 0) {
        res->outcomes = calloc(count, sizeof(*res->outcomes));
        sent = malloc(sizeof(*sent));
        if (res->outcomes == NULL || sent == NULL)
            rc = ecl_fail(err, ECL_E_INTERNAL, "out of memory");
        if (rc == 0) {
            *sent = res->note;
            rc = own_lines_only(gw, sent, err);
        }
    }
    for (size_t i = 0; rc == 0 && i < count; i++) {
        witness_one(gw, &peers[i], &res->note, sent, timeout_ms, &res->outcomes[i]);
        res->count++;
    }
    free(sent);
    fed_state_free_peers(peers, count);
    ecl_err ignored;
    if (rc == 0 && count > 0 &&
        audit_checkpoint_get(gw->audit, res->note.size, &res->note, &ignored) != 0)
        ecl_log(ECL_LOG_WARN, "checkpoint.reread", "error", ignored.msg, NULL);
    if (rc == 0) {
        gw->checkpointed = res->note.size;
        size_t cosigned = 0;
        for (size_t i = 0; i < res->count; i++)
            cosigned += res->outcomes[i].ok;
        char size_s[24], peers_s[48];
        snprintf(size_s, sizeof(size_s), "%llu", (unsigned long long)res->note.size);
        snprintf(peers_s, sizeof(peers_s), "%zu/%zu", cosigned, res->count);
        gw->checkpoint_cosigned_by_all = !push || cosigned == res->count;
        ecl_log(ECL_LOG_INFO, "checkpoint.signed", "size", size_s, "cosigned", peers_s, NULL);
    }
    pthread_mutex_unlock(&gw->checkpoint_lock);
    return rc;
}

/* ---- the schedule: a checkpoint when entries are pending ----------------- */

/* A scheduled round waits at most this for each peer: a peer that stalls
 * must not hold the next round (or a stop) for the whole peer timeout. */
#define WITNESS_TIMEOUT_MAX_MS 3000

static int witness_timeout_ms(const gateway *gw)
{
    unsigned timeout = GATEWAY_SETTING(gw, peer_timeout_ms);
    return timeout < WITNESS_TIMEOUT_MAX_MS ? (int)timeout : WITNESS_TIMEOUT_MAX_MS;
}

static void *checkpointer_main(void *arg)
{
    gateway *gw = arg;
    pthread_mutex_lock(&gw->sync_lock);
    while (!gw->checkpointer_stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        uint64_t ns =
            (uint64_t)until.tv_nsec + (uint64_t)GATEWAY_SETTING(gw, checkpoint_ms) * 1000000u;
        until.tv_sec += (time_t)(ns / 1000000000u);
        until.tv_nsec = (long)(ns % 1000000000u);
        while (!gw->checkpointer_stop && !gw->checkpointer_kick &&
               pthread_cond_timedwait(&gw->checkpointer_wake, &gw->sync_lock, &until) !=
                   ETIMEDOUT) {
        }
        if (gw->checkpointer_stop)
            break;
        gw->checkpointer_kick = 0;
        pthread_mutex_unlock(&gw->sync_lock);
        uint64_t size;
        uint8_t root[MERKLE_HASH_BYTES];
        ecl_err err;
        /* New entries, or a peer that did not cosign the last one: again. */
        if (audit_tree_head(gw->audit, &size, root, &err) == 0 &&
            (size != gw->checkpointed || !gw->checkpoint_cosigned_by_all)) {
            gateway_checkpoint_result *res = malloc(sizeof(*res));
            if (res == NULL)
                ecl_log(ECL_LOG_WARN, "checkpoint.failed", "error", "out of memory", NULL);
            else if (gateway_checkpoint(gw, 1, witness_timeout_ms(gw), res, &err) != 0)
                ecl_log(ECL_LOG_WARN, "checkpoint.failed", "error", err.msg, NULL);
            if (res != NULL) {
                gateway_checkpoint_result_clear(res);
                free(res);
            }
        }
        pthread_mutex_lock(&gw->sync_lock);
    }
    pthread_mutex_unlock(&gw->sync_lock);
    return NULL;
}

void gateway_checkpoint_kick(gateway *gw)
{
    pthread_mutex_lock(&gw->sync_lock);
    gw->checkpointer_kick = 1;
    pthread_cond_broadcast(&gw->checkpointer_wake);
    pthread_mutex_unlock(&gw->sync_lock);
}

int gateway_checkpointer_start(gateway *gw, ecl_err *err)
{
    if (pthread_create(&gw->checkpointer, NULL, checkpointer_main, gw) != 0)
        return ecl_fail(err, ECL_E_INTERNAL, "cannot start the checkpoint thread");
    gw->checkpointer_running = 1;
    return 0;
}

void gateway_checkpointer_stop(gateway *gw)
{
    if (!gw->checkpointer_running)
        return;
    pthread_mutex_lock(&gw->sync_lock);
    gw->checkpointer_stop = 1;
    pthread_cond_broadcast(&gw->checkpointer_wake);
    pthread_mutex_unlock(&gw->sync_lock);
    pthread_join(gw->checkpointer, NULL);
    gw->checkpointer_running = 0;
}

/* ---- as a peer's witness ------------------------------------------------- */

typedef struct judged {
    ecl_checkpoint ckpt;
    size_t text_len;
} judged;

/* The peer's signature on `note`, by its pinned key or, after a rotation,
 * by the key its verified rotation chain leads to. */
static int check_peer_signature(gateway *gw, const fed_peer *peer, const char *origin,
                                const char *note, size_t len, ecl_err *err)
{
    if (ecl_note_verify(note, len, origin, peer->pinned_key, NULL, err) == 0)
        return 0;
    unsigned char next[crypto_sign_PUBLICKEYBYTES];
    ecl_err why;
    if (gateway_follow_peer_key(gw, peer, next, &why) == 0 &&
        ecl_note_verify(note, len, origin, next, NULL, err) == 0)
        return 0;
    return -1;
}

/* Judge a peer's checkpoint as its witness: 0 to cosign, else *refused says
 * why (and *witness_size what we hold, for a stale old_size). */
static int judge(gateway *gw, const fed_peer *peer, const Ecluse__V1__AddCheckpointRequest *req,
                 judged *j, uint64_t *witness_size, ecl_err *err)
{
    const char *note = (const char *)req->checkpoint.data;
    size_t len = req->checkpoint.len;
    char origin[ECL_NOTE_NAME_MAX + 1];
    if (len > AUDIT_NOTE_MAX)
        return ecl_fail(err, ECL_E_LIMIT, "a checkpoint note of %zu bytes (at most %u)", len,
                        AUDIT_NOTE_MAX);
    if (ecl_audit_origin(peer->info.site, origin, sizeof(origin), err) != 0 ||
        ecl_note_split(note, len, &j->text_len, err) != 0 ||
        ecl_checkpoint_parse(note, j->text_len, &j->ckpt, err) != 0)
        return -1;
    if (strcmp(j->ckpt.origin, origin) != 0)
        return ecl_fail(err, ECL_E_DENIED, "the checkpoint is of log '%s', not '%s'",
                        j->ckpt.origin, origin);
    if (check_peer_signature(gw, peer, origin, note, len, err) != 0)
        return -1;
    audit_note held;
    ecl_checkpoint prev = {0};
    ecl_err none;
    int have = audit_witnessed_get(gw->audit, peer->info.site, &held, &none) == 0;
    size_t held_text;
    if (have && (ecl_note_split(held.text, held.len, &held_text, err) != 0 ||
                 ecl_checkpoint_parse(held.text, held_text, &prev, err) != 0))
        return ecl_err_prefix(err, "the checkpoint kept from before does not parse");
    *witness_size = prev.size;
    if (req->old_size != prev.size)
        return ecl_fail(err, ECL_E_PRECONDITION,
                        "old size %llu, but the last checkpoint cosigned here has %llu entries",
                        (unsigned long long)req->old_size, (unsigned long long)prev.size);
    if (j->ckpt.size < prev.size)
        return ecl_fail(err, ECL_E_CRYPTO,
                        "rollback: %llu entries after a cosigned checkpoint of %llu",
                        (unsigned long long)j->ckpt.size, (unsigned long long)prev.size);
    if (j->ckpt.size == prev.size && have) {
        if (memcmp(j->ckpt.root, prev.root, MERKLE_HASH_BYTES) != 0)
            return ecl_fail(err, ECL_E_CRYPTO,
                            "fork: another root for the %llu entries cosigned before",
                            (unsigned long long)prev.size);
        return 0;
    }
    if (req->n_consistency_proof > MERKLE_PROOF_MAX)
        return ecl_fail(err, ECL_E_INPUT, "a consistency proof of %zu hashes",
                        req->n_consistency_proof);
    uint8_t proof[MERKLE_PROOF_MAX][MERKLE_HASH_BYTES];
    for (size_t i = 0; i < req->n_consistency_proof; i++) {
        if (req->consistency_proof[i].len != MERKLE_HASH_BYTES)
            return ecl_fail(err, ECL_E_INPUT, "consistency proof hash %zu is %zu bytes, not 32", i,
                            req->consistency_proof[i].len);
        memcpy(proof[i], req->consistency_proof[i].data, MERKLE_HASH_BYTES);
    }
    if (prev.size > 0 && merkle_verify_consistency(prev.size, j->ckpt.size, prev.root, j->ckpt.root,
                                                   (const uint8_t(*)[MERKLE_HASH_BYTES])proof,
                                                   req->n_consistency_proof) != 0)
        return ecl_fail(err, ECL_E_CRYPTO,
                        "fork: the tree of %llu entries does not extend the one of %llu "
                        "cosigned before (the consistency proof fails)",
                        (unsigned long long)j->ckpt.size, (unsigned long long)prev.size);
    return 0;
}

/* Our cosignature line for the checkpoint text `text`. */
static int cosign(gateway *gw, const char *text, size_t text_len, char *line, size_t cap,
                  size_t *line_len, ecl_err *err)
{
    return signer_cosignature_line(gw->signer, text, text_len, (uint64_t)time(NULL), line, cap,
                                   line_len, err);
}

/* What a witness keeps of a peer's note: its text and the peer's own
 * signature lines, which it verified. Other lines (cosignatures the peer
 * kept with it) are dropped: kept, an altered one would later be served as
 * if it were part of what was cosigned. */
static size_t origin_lines_only(const char *note, size_t len, size_t text_len, const char *origin,
                                char *out)
{
    char prefix[ECL_NOTE_NAME_MAX + 8];
    int n = snprintf(prefix, sizeof(prefix), "\xe2\x80\x94 %s ", origin);
    size_t kept = text_len + 1; /* the text and the blank line */
    memcpy(out, note, kept);
    for (size_t at = kept; at < len;) {
        const char *nl = memchr(note + at, '\n', len - at);
        size_t line = nl != NULL ? (size_t)(nl - (note + at)) + 1 : len - at;
        if (line > (size_t)n && memcmp(note + at, prefix, (size_t)n) == 0) {
            memcpy(out + kept, note + at, line);
            kept += line;
        }
        at += line;
    }
    return kept;
}

int svc_federation_add_checkpoint(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                                  ecl_err *err)
{
    const Ecluse__V1__AddCheckpointRequest *req = (const Ecluse__V1__AddCheckpointRequest *)request;
    gateway *gw = ctx;
    const ecl_identity *who = rpc_call_identity(call);
    fed_peer peer;
    if (fed_state_get_peer(gw->state, who->site, &peer, err) != 0)
        return -1;
    Ecluse__V1__AddCheckpointResponse resp = ECLUSE__V1__ADD_CHECKPOINT_RESPONSE__INIT;
    char line[SIGNER_NOTE_MAX];
    size_t line_len = 0;
    judged j;
    uint64_t witness_size = 0;
    ecl_err why;
    char origin[ECL_NOTE_NAME_MAX + 1], kept[AUDIT_NOTE_MAX];
    /* One judgement per peer at a time: check and keep must not interleave. */
    pthread_mutex_lock(&gw->witness_lock);
    int ok = judge(gw, &peer, req, &j, &witness_size, &why) == 0 &&
             ecl_audit_origin(who->site, origin, sizeof(origin), &why) == 0 &&
             audit_witnessed_put(gw->audit, who->site, j.ckpt.size, kept,
                                 origin_lines_only((const char *)req->checkpoint.data,
                                                   req->checkpoint.len, j.text_len, origin, kept),
                                 &why) == 0 &&
             cosign(gw, (const char *)req->checkpoint.data, j.text_len, line, sizeof(line),
                    &line_len, &why) == 0;
    pthread_mutex_unlock(&gw->witness_lock);
    fed_peer_clear(&peer);
    if (ok) {
        forget_refusal(gw, who->site, "checkpoint.refused-as-witness");
        resp.cosignature = (ProtobufCBinaryData){line_len, (uint8_t *)line};
    } else {
        resp.refused = why.msg;
        resp.witness_size = witness_size;
        /* A stale old size is the protocol's way to resynchronise, not an
         * attack: it is answered, not recorded. */
        if (why.code != ECL_E_PRECONDITION)
            record_refusal(gw, who->site, "checkpoint.refused-as-witness", 0, why.msg);
    }
    return rpc_call_reply(call, &resp.base, err);
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
                        "a gateway may ask only for its own site's checkpoints, not for '%s'",
                        site);
    audit_note *held = malloc(sizeof(*held));
    if (held == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    Ecluse__V1__CheckpointList list = ECLUSE__V1__CHECKPOINT_LIST__INIT;
    Ecluse__V1__SignedCheckpoint one = ECLUSE__V1__SIGNED_CHECKPOINT__INIT, *ptr = &one;
    char line[SIGNER_NOTE_MAX];
    size_t line_len = 0;
    ecl_err why;
    int rc = 0;
    if (audit_witnessed_get(gw->audit, site, held, &why) == 0) {
        size_t text_len;
        /* Our cosignature again: what we keep is the peer's note as sent. */
        if (ecl_note_split(held->text, held->len, &text_len, err) != 0 ||
            cosign(gw, held->text, text_len, line, sizeof(line), &line_len, err) != 0 ||
            line_len > AUDIT_NOTE_MAX - held->len)
            rc = -1;
        else {
            memcpy(held->text + held->len, line, line_len);
            one.note = (ProtobufCBinaryData){held->len + line_len, (uint8_t *)held->text};
            list.n_checkpoints = 1;
            list.checkpoints = &ptr;
        }
    } else if (why.code != ECL_E_NOT_FOUND) {
        *err = why;
        rc = -1;
    }
    list.witness = gw->cfg.site;
    if (rc == 0)
        rc = rpc_call_reply(call, &list.base, err);
    free(held);
    return rc;
}
