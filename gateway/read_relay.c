/* read_relay.c - the home site's side of a read across borders.
 *
 * A researcher's Data.Read of a peer's dataset. The home gateway checks the
 * grant with the peer's pinned key and that the caller is its requester,
 * calls Federation.ForwardRead on the peer (read_local.c serves it there) and
 * passes every message on as it arrives, unparsed except for the header (its
 * read_id goes into this site's audit entries), the chunk framing (to count
 * bytes) and the trailer. One message is held at a time, in the pieces gRPC
 * received it in, and passed on in the same pieces: a dataset is never
 * buffered whole, and a chunk is never copied here (docs/streaming.md,
 * "Relay memory"). */
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "gateway/gateway.h"
#include "gateway/grant.h"
#include "gateway/relay_scan.h"

/* The peer's pinned key vouches for the grant before it goes anywhere; a
 * grant signed before the peer rotated its key is vouched for by the key
 * history the pinned chain proves. */
static int open_peer_grant(gateway *gw, const fed_peer *peer, const Ecluse__V1__Grant *grant,
                           Ecluse__V1__GrantBody **out, ecl_err *err)
{
    int64_t now = (int64_t)time(NULL);
    if (grant_open(grant, peer->pinned_key, peer->info.site, now, out, err) == 0)
        return 0;
    if (err->code != ECL_E_DENIED && err->code != ECL_E_CRYPTO)
        return -1;
    ecl_err first = *err;
    unsigned char(*keys)[crypto_sign_PUBLICKEYBYTES] = NULL;
    size_t n = 0;
    if (gateway_peer_key_chain(gw, peer, &keys, &n, err) != 0) {
        ecl_log(ECL_LOG_WARN, "data.peer_keys_unavailable", "site", peer->info.site, "error",
                err->msg, NULL);
        *err = first;
        return -1;
    }
    int rc = grant_open_keys(grant, (const unsigned char(*)[crypto_sign_PUBLICKEYBYTES])keys, n,
                             peer->info.site, now, out, err);
    free(keys);
    return rc;
}

typedef struct relay {
    gateway *gw;
    rpc_call *call;
    const Ecluse__V1__GrantBody *grant;
    const char *actor;
    const char *holder;
    char read_id[64];
    uint64_t resume_offset, bytes, chunks;
    char digest_hex[65];
    json_t *tensors, *rows;
} relay;

static int relay_audit(relay *r, const char *kind, const char *outcome, ecl_err *err)
{
    json_t *detail;
    if (outcome == NULL)
        detail =
            json_pack("{s:O,s:O,s:I,s:s}", "tensors", r->tensors, "rows", r->rows, "resume_offset",
                      (json_int_t)r->resume_offset, "relayed_from", r->holder);
    else
        detail = json_pack("{s:I,s:I,s:s,s:s,s:s}", "bytes_sent", (json_int_t)r->bytes, "chunks",
                           (json_int_t)r->chunks, "digest", r->digest_hex, "outcome", outcome,
                           "relayed_from", r->holder);
    if (detail == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    return gateway_record_read(r->gw, kind, r->actor, r->grant, r->read_id, detail, NULL, err);
}

/* The header: its read_id and selection go into this site's read-start. */
static int take_header(relay *r, const rpc_message *msg, ecl_err *err)
{
    Ecluse__V1__ReadMessage *m =
        (Ecluse__V1__ReadMessage *)rpc_message_unpack(msg, &ecluse__v1__read_message__descriptor);
    if (m == NULL || m->kind_case != ECLUSE__V1__READ_MESSAGE__KIND_HEADER) {
        if (m != NULL)
            ecluse__v1__read_message__free_unpacked(m, NULL);
        return ecl_fail(err, ECL_E_UNAVAILABLE,
                        "site '%s' did not start its stream with a ReadHeader", r->holder);
    }
    const Ecluse__V1__ReadHeader *h = m->header;
    snprintf(r->read_id, sizeof(r->read_id), "%s", h->read_id);
    r->resume_offset = h->resume_offset;
    r->tensors = json_array();
    r->rows = json_array();
    for (size_t i = 0; i < h->n_tensors; i++)
        json_array_append_new(r->tensors, json_string(h->tensors[i]->name));
    for (size_t i = 0; i < h->n_row_ranges; i++)
        json_array_append_new(r->rows, json_pack("[II]", (json_int_t)h->row_ranges[i]->begin,
                                                 (json_int_t)h->row_ranges[i]->end));
    ecluse__v1__read_message__free_unpacked(m, NULL);
    return 0;
}

static void take_trailer(relay *r, const rpc_message *msg)
{
    Ecluse__V1__ReadMessage *m =
        (Ecluse__V1__ReadMessage *)rpc_message_unpack(msg, &ecluse__v1__read_message__descriptor);
    if (m == NULL)
        return;
    if (m->kind_case == ECLUSE__V1__READ_MESSAGE__KIND_TRAILER && m->trailer->digest.len == 32)
        sodium_bin2hex(r->digest_hex, sizeof(r->digest_hex), m->trailer->digest.data, 32);
    ecluse__v1__read_message__free_unpacked(m, NULL);
}

/* The pieces of one message, gathered for rpc_call_send_pieces. */
typedef struct gathered {
    rpc_piece *pieces;
    size_t n, cap;
    int failed;
} gathered;

static void gather(const unsigned char *p, size_t n, void *arg)
{
    gathered *g = arg;
    if (g->failed)
        return;
    if (g->n == g->cap) {
        size_t grown = g->cap ? g->cap * 2 : 64;
        rpc_piece *q = realloc(g->pieces, grown * sizeof(*q));
        if (q == NULL) {
            g->failed = 1;
            return;
        }
        g->pieces = q;
        g->cap = grown;
    }
    g->pieces[g->n++] = (rpc_piece){p, n};
}

static void free_message(void *m)
{
    rpc_message_free(m);
}

/* Pass one message on in its pieces: gRPC frees it when sent. */
static int pass_on(relay *r, rpc_message *m, ecl_err *err)
{
    gathered g = {NULL, 0, 0, 0};
    rpc_message_each(m, 0, rpc_message_length(m), gather, &g);
    if (g.failed) {
        free(g.pieces);
        rpc_message_free(m);
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    }
    int rc = rpc_call_send_pieces(r->call, g.pieces, g.n, free_message, m, err);
    free(g.pieces);
    return rc;
}

static int open_forward(gateway *gw, const fed_peer *peer, const Ecluse__V1__ReadRequest *req,
                        const ecl_identity *who, rpc_channel **ch, rpc_stream **st, ecl_err *err)
{
    if (gateway_peer_channel(gw, peer, ch, err) != 0)
        return -1;
    Ecluse__V1__Identity requester = ECLUSE__V1__IDENTITY__INIT;
    requester.site = (char *)who->site;
    requester.role = (char *)role_name(who->role);
    requester.name = (char *)who->name;
    Ecluse__V1__ForwardedReadRequest fwd = ECLUSE__V1__FORWARDED_READ_REQUEST__INIT;
    fwd.request = (Ecluse__V1__ReadRequest *)req;
    fwd.requester = &requester;
    /* No overall deadline: a stream lasts as long as the data takes; but a
     * peer that stops sending is given up on after peer_timeout_ms. */
    if (rpc_stream_open_idle(*ch, "/ecluse.v1.Federation/ForwardRead", &fwd.base,
                             (int)GATEWAY_SETTING(gw, peer_timeout_ms), st, err) != 0)
        return ecl_err_prefix(err, "site '%s'", peer->info.site);
    return 0;
}

static int relay_stream(relay *r, rpc_stream *st, ecl_err *err)
{
    for (;;) {
        rpc_message *p = NULL;
        int n = rpc_stream_next_message(st, &p, err);
        if (n == 0)
            return 0;
        if (n < 0) {
            ecl_code code = err->code;
            char why[ECL_ERR_MSG_MAX];
            snprintf(why, sizeof(why), "%s", err->msg);
            /* Refusals of the holding site pass through as they are; a
             * broken stream is this gateway's peer going away. */
            if (r->read_id[0] != '\0' || code == ECL_E_UNAVAILABLE)
                return ecl_fail(err, ECL_E_UNAVAILABLE,
                                "site '%s' went away after %llu bytes (resume from offset "
                                "%llu): %s",
                                r->holder, (unsigned long long)r->bytes,
                                (unsigned long long)(r->resume_offset + r->bytes), why);
            return ecl_fail(err, code, "site '%s': %s", r->holder, why);
        }
        /* The framing is in the message's first bytes (a chunk's head is at
         * most DATA_CHUNK_FRAMING_MAX); the data is passed on unread. */
        unsigned char head[DATA_CHUNK_FRAMING_MAX];
        size_t head_len = rpc_message_copy(p, 0, head, sizeof(head));
        int kind = 0;
        uint64_t data_len = 0, data_at = 0;
        if (relay_scan_head(head, head_len, rpc_message_length(p), &kind, &data_len, &data_at) !=
                0 ||
            (r->read_id[0] == '\0') != (kind == 1)) {
            rpc_message_free(p);
            return ecl_fail(err, ECL_E_UNAVAILABLE,
                            "site '%s' sent a message that is not part of a read stream",
                            r->holder);
        }
        if (kind == 1) {
            /* Write-ahead: the header is not passed on unrecorded. */
            if (take_header(r, p, err) != 0 ||
                relay_audit(r, AUDIT_KIND_READ_START, NULL, err) != 0) {
                rpc_message_free(p);
                return -1;
            }
        } else if (kind == 2)
            take_trailer(r, p);
        else {
            r->chunks++;
            r->bytes += data_len;
        }
        if (pass_on(r, p, err) != 0)
            return -1;
    }
}

int data_relay(gateway *gw, rpc_call *call, const Ecluse__V1__ReadRequest *req, const char *holder,
               ecl_err *err)
{
    const ecl_identity *who = rpc_call_identity(call);
    fed_peer peer;
    memset(&peer, 0, sizeof(peer));
    if (fed_state_get_peer(gw->state, holder, &peer, err) != 0) {
        if (err->code == ECL_E_NOT_FOUND)
            ecl_fail(err, ECL_E_NOT_FOUND,
                     "the grant is for a dataset of site '%s', which is not a peer of this site",
                     holder);
        gateway_record_read_refused(gw, who->spiffe, req->grant, NULL, NULL, err);
        return -1;
    }
    Ecluse__V1__GrantBody *g = NULL;
    int rc = open_peer_grant(gw, &peer, req->grant, &g, err);
    if (rc == 0)
        rc = data_check_requester(g, who->spiffe, err);
    relay r;
    memset(&r, 0, sizeof(r));
    r.gw = gw;
    r.call = call;
    r.grant = g;
    r.actor = who->spiffe;
    r.holder = holder;
    snprintf(r.digest_hex, sizeof(r.digest_hex), "%s", "");
    rpc_channel *ch = NULL;
    rpc_stream *st = NULL;
    if (rc == 0)
        rc = open_forward(gw, &peer, req, who, &ch, &st, err);
    if (rc == 0) {
        rc = relay_stream(&r, st, err);
        if (r.read_id[0] != '\0') {
            char outcome[ECL_ERR_MSG_MAX + 16] = "complete";
            if (rc != 0)
                snprintf(outcome, sizeof(outcome), "%s: %s",
                         rpc_call_cancelled(call) ? "cancelled" : "error", err->msg);
            ecl_err aerr;
            if (relay_audit(&r, AUDIT_KIND_READ_END, outcome, &aerr) != 0) {
                ecl_log(ECL_LOG_ERROR, "data.audit_end_failed", "read_id", r.read_id, "error",
                        aerr.msg, NULL);
                if (rc == 0) {
                    *err = aerr;
                    rc = -1;
                }
            }
            char bytes[24];
            snprintf(bytes, sizeof(bytes), "%llu", (unsigned long long)r.bytes);
            ecl_log(ECL_LOG_INFO, "data.relayed", "dataset", g->dataset, "from", holder, "read_id",
                    r.read_id, "actor", who->spiffe, "bytes", bytes, "outcome", outcome, NULL);
        }
    }
    /* Refused here or by the holder before the read started: on record
     * here too (a started read has its read-start and read-end). */
    if (rc != 0 && r.read_id[0] == '\0')
        gateway_record_read_refused(gw, who->spiffe, req->grant, g, NULL, err);
    rpc_stream_close(st);
    rpc_channel_close(ch);
    json_decref(r.tensors);
    json_decref(r.rows);
    if (g != NULL)
        ecluse__v1__grant_body__free_unpacked(g, NULL);
    fed_peer_clear(&peer);
    return rc;
}
