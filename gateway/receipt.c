/* receipt.c - read receipts: a read's read-end entry, its inclusion proof and
 * a cosigned checkpoint covering it (docs/audit-format.md, "Read receipts").
 *
 * The holding site makes them (Data.Receipt for its own researchers,
 * Federation.ForwardReceipt for a peer's); a home site that relayed the read
 * checks the holding site's receipt and keeps it in its own trail before it
 * hands it on. Whoever holds a receipt can show later that the holding site
 * recorded the read, whatever its disk says then. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/receipt.h"
#include "common/log.h"
#include "common/merkle.h"
#include "common/note.h"
#include "gateway/gateway.h"

#define RECEIPT_WAIT_DEFAULT_MS 5000u
#define RECEIPT_WAIT_MAX_MS     30000u
#define RECEIPT_POLL_US         20000u

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Signature lines of a note: the site's and its witnesses'. */
static size_t signature_lines(const audit_note *n)
{
    size_t text_len, lines = 0;
    ecl_err ignored;
    if (ecl_note_split(n->text, n->len, &text_len, &ignored) != 0)
        return 0;
    for (size_t i = text_len + 1; i < n->len; i++)
        lines += n->text[i] == '\n';
    return lines;
}

/* The latest checkpoint, once it covers entry `seq` and (when this site has
 * peers to witness it) carries a cosignature; the checkpointer is asked for
 * one at once rather than at its next tick. */
static int covering_checkpoint(gateway *gw, uint64_t seq, unsigned wait_ms, audit_note *out,
                               ecl_err *err)
{
    fed_peer *peers = NULL;
    size_t n_peers = 0;
    if (fed_state_list_peers(gw->state, &peers, &n_peers, err) != 0)
        return -1;
    fed_state_free_peers(peers, n_peers);
    int64_t deadline = monotonic_ms() + wait_ms;
    for (;;) {
        ecl_err none;
        if (audit_checkpoint_get(gw->audit, 0, out, &none) == 0 && out->size >= seq &&
            (n_peers == 0 || signature_lines(out) >= 2))
            return 0;
        if (monotonic_ms() >= deadline)
            return ecl_fail(err, ECL_E_UNAVAILABLE,
                            "no checkpoint covering entry %llu has been cosigned by a peer yet "
                            "(waited %u ms): ask again later",
                            (unsigned long long)seq, wait_ms);
        gateway_checkpoint_kick(gw);
        usleep(RECEIPT_POLL_US);
    }
}

/* A string field still at its init value points at protobuf-c's shared empty
 * string, which is not ours to free (a receipt that failed half-built). */
static void free_field(char *s)
{
    if (s != protobuf_c_empty_string)
        free(s);
}

void gateway_receipt_clear(Ecluse__V1__ReadReceipt *r)
{
    free_field(r->site);
    free_field(r->read_id);
    free(r->entry.data);
    free(r->proof);
    free(r->checkpoint.data);
    ecluse__v1__read_receipt__init(r);
}

/* This site's receipt of read `read_id` by `requester`, whose read-end entry
 * is `seq`. Checked as a receipt holder would check it before it is sent. */
static int build_receipt(gateway *gw, uint64_t seq, const char *read_id, const char *requester,
                         unsigned wait_ms, Ecluse__V1__ReadReceipt *out, uint8_t (*hashes)[32],
                         ecl_err *err)
{
    ecluse__v1__read_receipt__init(out);
    if (seq == 0)
        return ecl_fail(err, ECL_E_INPUT, "no audit_seq: give the read trailer's audit entry");
    audit_note *note = malloc(sizeof(*note));
    audit_proof *proof = malloc(sizeof(*proof));
    int rc = note && proof ? 0 : ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    uint8_t *entry = NULL;
    size_t entry_len = 0;
    if (rc == 0)
        rc = audit_entry_raw(gw->audit, seq, &entry, &entry_len, err);
    if (rc == 0)
        rc = covering_checkpoint(gw, seq, wait_ms, note, err);
    if (rc == 0)
        rc = audit_prove_inclusion(gw->audit, seq, note->size, proof, err);
    if (rc == 0) {
        unsigned char pk[crypto_sign_PUBLICKEYBYTES];
        signer_public_key(gw->signer, pk);
        uint8_t keys[1][AUDIT_PK_BYTES];
        memcpy(keys[0], pk, sizeof(pk));
        audit_receipt view = {entry,    entry_len,  seq,      (const uint8_t(*)[32])proof->hash,
                              proof->n, note->text, note->len};
        audit_receipt_trust trust = {gw->cfg.site, (const uint8_t(*)[32])keys, 1, NULL, 0};
        audit_receipt_facts facts;
        rc = audit_receipt_verify(&view, &trust, &facts, err);
        if (rc == 0 && (strcmp(facts.read_id, read_id) != 0 || strcmp(facts.actor, requester) != 0))
            rc = ecl_fail(err, ECL_E_DENIED, "entry %llu is not the end of read %s by %s",
                          (unsigned long long)seq, read_id, requester);
    }
    if (rc == 0) {
        out->site = strdup(gw->cfg.site);
        out->read_id = strdup(read_id);
        out->seq = seq;
        out->entry = (ProtobufCBinaryData){entry_len, entry};
        entry = NULL;
        out->proof = calloc(proof->n ? proof->n : 1, sizeof(*out->proof));
        out->checkpoint.data = malloc(note->len);
        if (out->site == NULL || out->read_id == NULL || out->proof == NULL ||
            out->checkpoint.data == NULL)
            rc = ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    }
    if (rc == 0) {
        for (size_t i = 0; i < proof->n; i++) {
            memcpy(hashes[i], proof->hash[i], 32);
            out->proof[i] = (ProtobufCBinaryData){32, hashes[i]};
        }
        out->n_proof = proof->n;
        memcpy(out->checkpoint.data, note->text, note->len);
        out->checkpoint.len = note->len;
    } else
        gateway_receipt_clear(out);
    free(entry);
    free(note);
    free(proof);
    return rc;
}

static unsigned wait_of(const Ecluse__V1__ReceiptRequest *req)
{
    if (req->wait_ms == 0)
        return RECEIPT_WAIT_DEFAULT_MS;
    return req->wait_ms > RECEIPT_WAIT_MAX_MS ? RECEIPT_WAIT_MAX_MS : req->wait_ms;
}

/* The site of dataset "<site>/<name>". */
static int dataset_site(const char *dataset, char *site, size_t cap, ecl_err *err)
{
    const char *slash = strchr(dataset, '/');
    if (slash == NULL || slash == dataset || (size_t)(slash - dataset) >= cap)
        return ecl_fail(err, ECL_E_INPUT, "dataset '%.100s' is not '<site>/<name>'", dataset);
    memcpy(site, dataset, (size_t)(slash - dataset));
    site[slash - dataset] = '\0';
    return 0;
}

/* Check a peer's receipt for our researcher, then keep it in our trail. */
static int keep_peer_receipt(gateway *gw, const fed_peer *peer, const char *dataset,
                             const char *read_id, const char *requester,
                             const Ecluse__V1__ReadReceipt *r, ecl_err *err)
{
    uint8_t hashes[MERKLE_PROOF_MAX][32];
    audit_receipt view;
    if (ecl_receipt_view(r, &view, hashes, err) != 0)
        return -1;
    uint8_t keys[1][AUDIT_PK_BYTES];
    memcpy(keys[0], peer->pinned_key, AUDIT_PK_BYTES);
    audit_receipt_trust trust = {peer->info.site, (const uint8_t(*)[32])keys, 1, NULL, 0};
    audit_receipt_facts facts;
    int rc = audit_receipt_verify(&view, &trust, &facts, err);
    unsigned char next[crypto_sign_PUBLICKEYBYTES];
    ecl_err why;
    if (rc != 0 && err->code == ECL_E_CRYPTO &&
        gateway_follow_peer_key(gw, peer, next, &why) == 0) {
        memcpy(keys[0], next, AUDIT_PK_BYTES);
        rc = audit_receipt_verify(&view, &trust, &facts, err);
    }
    if (rc != 0)
        return ecl_err_prefix(err, "the receipt from %s does not verify", peer->info.site);
    if (strcmp(facts.read_id, read_id) != 0 || strcmp(facts.actor, requester) != 0 ||
        strcmp(facts.dataset, dataset) != 0)
        return ecl_fail(err, ECL_E_CRYPTO,
                        "the receipt from %s is of read %s by %s on %s, not the one asked for",
                        peer->info.site, facts.read_id, facts.actor, facts.dataset);
    json_t *receipt = NULL;
    if (ecl_receipt_json(r, &receipt, err) != 0)
        return -1;
    audit_entry e = {0};
    e.kind = AUDIT_KIND_RECEIPT;
    e.actor = requester;
    e.dataset = dataset;
    e.read_id = read_id;
    json_t *detail =
        json_pack("{s:s, s:I, s:I, s:o}", "site", peer->info.site, "seq", (json_int_t)r->seq,
                  "size", (json_int_t)facts.size, "receipt", receipt);
    if (detail == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    return gateway_record_entry(gw, &e, detail, NULL, err);
}

static int relay_receipt(gateway *gw, rpc_call *call, const Ecluse__V1__ReceiptRequest *req,
                         const char *holder, ecl_err *err)
{
    const ecl_identity *who = rpc_call_identity(call);
    fed_peer peer;
    memset(&peer, 0, sizeof(peer));
    if (fed_state_get_peer(gw->state, holder, &peer, err) != 0)
        return err->code == ECL_E_NOT_FOUND
                   ? ecl_fail(err, ECL_E_NOT_FOUND, "site '%s' is not a peer of this site", holder)
                   : -1;
    Ecluse__V1__Identity requester = ECLUSE__V1__IDENTITY__INIT;
    requester.site = (char *)who->site;
    requester.role = "researcher";
    requester.name = (char *)who->name;
    Ecluse__V1__ForwardedReceiptRequest fwd = ECLUSE__V1__FORWARDED_RECEIPT_REQUEST__INIT;
    fwd.request = (Ecluse__V1__ReceiptRequest *)req;
    fwd.requester = &requester;
    rpc_channel *ch = NULL;
    ProtobufCMessage *resp = NULL;
    int rc = gateway_peer_channel(gw, &peer, &ch, err);
    if (rc == 0)
        rc = rpc_unary(ch, "/ecluse.v1.Federation/ForwardReceipt", &fwd.base,
                       &ecluse__v1__read_receipt__descriptor, &resp,
                       (int)(wait_of(req) + GATEWAY_SETTING(gw, peer_timeout_ms)), err);
    rpc_channel_close(ch);
    if (rc == 0)
        rc = keep_peer_receipt(gw, &peer, req->dataset, req->read_id, who->spiffe,
                               (const Ecluse__V1__ReadReceipt *)resp, err);
    if (rc == 0)
        rc = rpc_call_reply(call, resp, err);
    protobuf_c_message_free_unpacked(resp, NULL);
    fed_peer_clear(&peer);
    return rc;
}

int svc_data_receipt(rpc_call *call, const ProtobufCMessage *request, void *ctx, ecl_err *err)
{
    const Ecluse__V1__ReceiptRequest *req = (const Ecluse__V1__ReceiptRequest *)request;
    gateway *gw = ctx;
    const ecl_identity *who = rpc_call_identity(call);
    char holder[ECL_SITE_ID_MAX];
    if (dataset_site(req->dataset, holder, sizeof(holder), err) != 0)
        return -1;
    if (strcmp(holder, gw->cfg.site) != 0)
        return relay_receipt(gw, call, req, holder, err);
    Ecluse__V1__ReadReceipt r;
    uint8_t hashes[MERKLE_PROOF_MAX][32];
    if (build_receipt(gw, req->audit_seq, req->read_id, who->spiffe, wait_of(req), &r, hashes,
                      err) != 0)
        return -1;
    int rc = rpc_call_reply(call, &r.base, err);
    gateway_receipt_clear(&r);
    return rc;
}

int svc_federation_forward_receipt(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                                   ecl_err *err)
{
    const Ecluse__V1__ForwardedReceiptRequest *fwd =
        (const Ecluse__V1__ForwardedReceiptRequest *)request;
    gateway *gw = ctx;
    const ecl_identity *caller = rpc_call_identity(call);
    if (fwd->request == NULL || fwd->requester == NULL)
        return ecl_fail(err, ECL_E_INPUT, "ForwardReceipt: 'request' and 'requester' are needed");
    char requester[ECL_SPIFFE_MAX];
    gateway_identity_spiffe(fwd->requester, requester, sizeof(requester));
    if (strcmp(fwd->requester->site, caller->site) != 0)
        return ecl_fail(err, ECL_E_DENIED, "%s is not a person of site '%s' (the caller)",
                        requester, caller->site);
    Ecluse__V1__ReadReceipt r;
    uint8_t hashes[MERKLE_PROOF_MAX][32];
    if (build_receipt(gw, fwd->request->audit_seq, fwd->request->read_id, requester,
                      wait_of(fwd->request), &r, hashes, err) != 0)
        return -1;
    int rc = rpc_call_reply(call, &r.base, err);
    gateway_receipt_clear(&r);
    return rc;
}
