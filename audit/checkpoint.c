/* checkpoint.c - signed checkpoints of the log's head (audit.h).
 *
 * Body (docs/audit-format.md), all integers big-endian:
 *   version u8 (=1) | site_len u16 | site | entry_count u64 | head_hash[32]
 *   | time_unix i64 | signing_key[32]
 * Signature: Ed25519 over "ecluse-checkpoint-v1" 0x00 || body. */
#include "audit/internal.h"

#include <sodium.h>
#include <string.h>
#include <time.h>

#define CK_VERSION    1u
#define CK_DOMAIN     "ecluse-checkpoint-v1"
#define CK_DOMAIN_LEN 21u                                                     /* with its 0x00 */
#define CK_FIXED      (1u + 2u + 8u + AUDIT_HASH_BYTES + 8u + AUDIT_PK_BYTES) /* 83 */

/* Site ids are visible ASCII: they name a trust domain, never free text. */
static int site_ok(const uint8_t *s, size_t n)
{
    if (n == 0 || n > AUDIT_SITE_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x21 || s[i] > 0x7e)
            return 0;
    return 1;
}

static size_t encode(const audit_checkpoint *ck, uint8_t *out)
{
    size_t n = strlen(ck->site), p = 0;
    out[p++] = CK_VERSION;
    ecl_put_u16be(out + p, (uint16_t)n);
    p += 2;
    memcpy(out + p, ck->site, n);
    p += n;
    ecl_put_u64be(out + p, ck->entry_count);
    p += 8;
    memcpy(out + p, ck->head_hash, AUDIT_HASH_BYTES);
    p += AUDIT_HASH_BYTES;
    ecl_put_u64be(out + p, (uint64_t)ck->time_unix);
    p += 8;
    memcpy(out + p, ck->signing_key, AUDIT_PK_BYTES);
    return p + AUDIT_PK_BYTES;
}

int audit_checkpoint_decode(const uint8_t *body, size_t len, audit_checkpoint *out, ecl_err *err)
{
    if (body == NULL || out == NULL)
        return ecl_fail(err, ECL_E_USAGE, "checkpoint: NULL argument");
    memset(out, 0, sizeof(*out));
    ecl_rd r;
    ecl_rd_init(&r, body, len);
    uint8_t version;
    uint16_t n;
    if ((ecl_rd_u8(&r, &version) | ecl_rd_u16be(&r, &n)) != 0)
        return ecl_fail(err, ECL_E_INPUT,
                        "checkpoint body: %zu bytes, truncated before the "
                        "site length at offset 1",
                        len);
    if (version != CK_VERSION)
        return ecl_fail(err, ECL_E_INPUT, "checkpoint body: offset 0: unknown version %u", version);
    if (n == 0 || n > AUDIT_SITE_MAX)
        return ecl_fail(err, ECL_E_INPUT,
                        "checkpoint body: offset 1: site length %u not in "
                        "1..%u",
                        (unsigned)n, AUDIT_SITE_MAX);
    size_t want = CK_FIXED + (size_t)n;
    if (len < want)
        return ecl_fail(err, ECL_E_INPUT,
                        "checkpoint body: %zu bytes, truncated (a site of %u "
                        "bytes needs %zu)",
                        len, (unsigned)n, want);
    if (len > want)
        return ecl_fail(err, ECL_E_INPUT, "checkpoint body: offset %zu: %zu trailing bytes", want,
                        len - want);
    const uint8_t *site;
    uint64_t time_unix;
    if ((ecl_rd_take(&r, n, &site) | ecl_rd_u64be(&r, &out->entry_count) |
         ecl_rd_copy(&r, out->head_hash, AUDIT_HASH_BYTES) | ecl_rd_u64be(&r, &time_unix) |
         ecl_rd_copy(&r, out->signing_key, AUDIT_PK_BYTES)) != 0)
        return ecl_fail(err, ECL_E_INPUT, "checkpoint body: %zu bytes, truncated", len);
    if (!site_ok(site, n))
        return ecl_fail(err, ECL_E_INPUT,
                        "checkpoint body: offset 3: field 'site' holds a "
                        "byte that is not visible ASCII");
    memcpy(out->site, site, n);
    out->time_unix = (int64_t)time_unix;
    return 0;
}

/* The bytes the signature covers: domain, 0x00, body. */
static size_t sig_input(const audit_signed_checkpoint *sc, uint8_t *m)
{
    memcpy(m, CK_DOMAIN, CK_DOMAIN_LEN);
    memcpy(m + CK_DOMAIN_LEN, sc->body, sc->body_len);
    return CK_DOMAIN_LEN + sc->body_len;
}

int audit_checkpoint_open(const audit_signed_checkpoint *sc, const uint8_t *pinned_pk,
                          audit_checkpoint *out, ecl_err *err)
{
    if (sc == NULL || out == NULL)
        return ecl_fail(err, ECL_E_USAGE, "checkpoint: NULL argument");
    memset(out, 0, sizeof(*out));
    if (sc->body_len < CK_FIXED + 1 || sc->body_len > AUDIT_CKPT_BODY_MAX)
        return ecl_fail(err, ECL_E_INPUT, "checkpoint body: %zu bytes, not in %u..%u", sc->body_len,
                        CK_FIXED + 1, AUDIT_CKPT_BODY_MAX);
    /* The key sits in the last 32 bytes; check the signature before parsing. */
    const uint8_t *key = pinned_pk ? pinned_pk : sc->body + sc->body_len - AUDIT_PK_BYTES;
    uint8_t m[CK_DOMAIN_LEN + AUDIT_CKPT_BODY_MAX];
    size_t mlen = sig_input(sc, m);
    if (crypto_sign_verify_detached(sc->sig, m, mlen, key) != 0)
        return ecl_fail(err, ECL_E_CRYPTO, "checkpoint: signature does not verify with %s",
                        pinned_pk ? "the pinned key" : "the key it names");
    if (audit_checkpoint_decode(sc->body, sc->body_len, out, err) != 0)
        return -1;
    if (pinned_pk && sodium_memcmp(out->signing_key, pinned_pk, AUDIT_PK_BYTES) != 0)
        return ecl_fail(err, ECL_E_CRYPTO, "checkpoint: field 'signing_key' is not the pinned key");
    return 0;
}

int audit_checkpoint_sign(audit_log *log, const char *site, const uint8_t pk[AUDIT_PK_BYTES],
                          audit_sign_fn sign, void *sign_ctx, audit_signed_checkpoint *out,
                          ecl_err *err)
{
    if (log == NULL || site == NULL || pk == NULL || sign == NULL || out == NULL)
        return ecl_fail(err, ECL_E_USAGE, "audit_checkpoint_sign: NULL argument");
    if (!site_ok((const uint8_t *)site, strlen(site)))
        return ecl_fail(err, ECL_E_USAGE,
                        "checkpoint: site '%.64s' must be 1..%u visible ASCII "
                        "bytes",
                        site, AUDIT_SITE_MAX);
    audit_checkpoint ck;
    memset(&ck, 0, sizeof(ck));
    memcpy(ck.site, site, strlen(site));
    ck.time_unix = (int64_t)time(NULL);
    memcpy(ck.signing_key, pk, AUDIT_PK_BYTES);
    MDB_txn *txn;
    int rc = mdb_txn_begin(log->env, NULL, 0, &txn); /* waits for the writer's commit */
    if (rc != 0)
        return audit_mdb_fail(err, ECL_E_UNAVAILABLE, rc, "checkpoint");
    if (audit_read_head(txn, log, &ck.entry_count, ck.head_hash, err) != 0) {
        mdb_txn_abort(txn);
        return -1;
    }
    out->body_len = encode(&ck, out->body);
    if (sign(sign_ctx, out->body, out->body_len, out->sig, err) != 0) {
        mdb_txn_abort(txn);
        return ecl_err_prefix(err, "checkpoint not signed");
    }
    uint8_t kb[8], vb[AUDIT_SIG_BYTES + AUDIT_CKPT_BODY_MAX];
    ecl_put_u64be(kb, ck.entry_count);
    memcpy(vb, out->sig, AUDIT_SIG_BYTES);
    memcpy(vb + AUDIT_SIG_BYTES, out->body, out->body_len);
    MDB_val k = {8, kb}, v = {AUDIT_SIG_BYTES + out->body_len, vb};
    if ((rc = mdb_put(txn, log->checkpoints, &k, &v, 0)) != 0) {
        mdb_txn_abort(txn);
        return audit_mdb_fail(err, ECL_E_UNAVAILABLE, rc, "checkpoint not stored");
    }
    if ((rc = mdb_txn_commit(txn)) != 0)
        return audit_mdb_fail(err, ECL_E_UNAVAILABLE, rc, "checkpoint not stored");
    return 0;
}

/* value = sig || body (checkpoints) */
static int load_signed(const MDB_val *v, size_t skip, audit_signed_checkpoint *sc, ecl_err *err)
{
    if (v->mv_size < skip + AUDIT_SIG_BYTES ||
        v->mv_size - skip - AUDIT_SIG_BYTES > AUDIT_CKPT_BODY_MAX)
        return ecl_fail(err, ECL_E_INPUT, "stored checkpoint of %zu bytes has the wrong size",
                        v->mv_size);
    memcpy(sc->sig, (uint8_t *)v->mv_data + skip, AUDIT_SIG_BYTES);
    sc->body_len = v->mv_size - skip - AUDIT_SIG_BYTES;
    memcpy(sc->body, (uint8_t *)v->mv_data + skip + AUDIT_SIG_BYTES, sc->body_len);
    return 0;
}

int audit_checkpoint_latest(audit_log *log, audit_signed_checkpoint *out, ecl_err *err)
{
    if (log == NULL || out == NULL)
        return ecl_fail(err, ECL_E_USAGE, "audit_checkpoint_latest: NULL argument");
    MDB_txn *txn;
    MDB_cursor *c;
    if (audit_rtxn(log, &txn, err) != 0)
        return -1;
    int rc = mdb_cursor_open(txn, log->checkpoints, &c);
    MDB_val k, v;
    if (rc == 0) {
        rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
        mdb_cursor_close(c);
    }
    int r = 0;
    if (rc == MDB_NOTFOUND)
        r = ecl_fail(err, ECL_E_NOT_FOUND, "no checkpoint has been signed yet");
    else if (rc != 0)
        r = audit_mdb_fail(err, ECL_E_IO, rc, "checkpoints");
    else
        r = load_signed(&v, 0, out, err);
    mdb_txn_abort(txn);
    return r;
}

int audit_checkpoint_check(audit_log *log, const audit_signed_checkpoint *sc,
                           const uint8_t *pinned_pk, ecl_err *err)
{
    audit_checkpoint ck;
    if (log == NULL)
        return ecl_fail(err, ECL_E_USAGE, "audit_checkpoint_check: NULL log");
    if (audit_checkpoint_open(sc, pinned_pk, &ck, err) != 0)
        return -1;
    MDB_txn *txn;
    uint64_t count;
    uint8_t head[AUDIT_HASH_BYTES], have[AUDIT_HASH_BYTES] = {0};
    if (audit_rtxn(log, &txn, err) != 0)
        return -1;
    int r = audit_read_head(txn, log, &count, head, err);
    if (r == 0 && ck.entry_count > count)
        r = ecl_fail(err, ECL_E_PRECONDITION, "checkpoint: claims %llu entries, the log has %llu",
                     (unsigned long long)ck.entry_count, (unsigned long long)count);
    if (r == 0 && ck.entry_count > 0) {
        uint8_t kb[8];
        ecl_put_u64be(kb, ck.entry_count);
        MDB_val k = {8, kb}, v;
        int rc = mdb_get(txn, log->entries, &k, &v);
        if (rc != 0 || v.mv_size < AUDIT_HASH_BYTES)
            r = ecl_fail(err, ECL_E_CRYPTO, "checkpoint: entry %llu is missing from the log",
                         (unsigned long long)ck.entry_count);
        else
            memcpy(have, (uint8_t *)v.mv_data + v.mv_size - AUDIT_HASH_BYTES, sizeof(have));
    }
    if (r == 0 && sodium_memcmp(have, ck.head_hash, AUDIT_HASH_BYTES) != 0)
        r = ecl_fail(err, ECL_E_CRYPTO,
                     "checkpoint: entry %llu has another hash than the "
                     "checkpoint says (the log or the checkpoint was rewritten)",
                     (unsigned long long)ck.entry_count);
    mdb_txn_abort(txn);
    return r;
}

/* ---- witness store --------------------------------------------------------
 * key = site || 0x00 || entry_count u64be
 * value = received_unix i64be || sig[64] || body */

static size_t witness_key(uint8_t *kb, const char *site, uint64_t count)
{
    size_t n = strlen(site);
    memcpy(kb, site, n);
    kb[n] = 0;
    ecl_put_u64be(kb + n + 1, count);
    return n + 9;
}

/* Compare against what is kept for the site: 1 = a copy, 0 = new and
 * consistent, -1 = refused. */
static int consistent(audit_log *log, MDB_txn *txn, const audit_checkpoint *ck, ecl_err *err)
{
    uint8_t kb[AUDIT_SITE_MAX + 9];
    size_t plen = strlen(ck->site) + 1;
    MDB_val k = {witness_key(kb, ck->site, 0), kb}, v;
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, log->witness, &c);
    if (rc != 0)
        return audit_mdb_fail(err, ECL_E_UNAVAILABLE, rc, "witness");
    uint64_t max = 0;
    int have = 0, r = 0;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0 && r == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size != plen + 8 || memcmp(k.mv_data, kb, plen) != 0)
            break; /* past this site's keys */
        audit_signed_checkpoint sc;
        audit_checkpoint old;
        if (load_signed(&v, 8, &sc, err) != 0 ||
            audit_checkpoint_decode(sc.body, sc.body_len, &old, err) != 0) {
            r = -1;
            break;
        }
        if (old.entry_count == ck->entry_count) {
            if (sodium_memcmp(old.head_hash, ck->head_hash, AUDIT_HASH_BYTES) != 0)
                r = ecl_fail(err, ECL_E_CRYPTO,
                             "checkpoint of %s at count %llu contradicts the "
                             "one kept: same count, another head hash (the log was forked)",
                             ck->site, (unsigned long long)ck->entry_count);
            else
                r = 1;
        }
        max = old.entry_count;
        have = 1;
    }
    mdb_cursor_close(c);
    if (r == 0 && have && ck->entry_count < max)
        r = ecl_fail(err, ECL_E_PRECONDITION,
                     "checkpoint of %s at count %llu goes backwards: "
                     "one at count %llu is kept already (the log was rolled back)",
                     ck->site, (unsigned long long)ck->entry_count, (unsigned long long)max);
    return r;
}

int audit_witness_add(audit_log *log, const char *site, const uint8_t peer_pk[AUDIT_PK_BYTES],
                      const audit_signed_checkpoint *sc, ecl_err *err)
{
    if (log == NULL || site == NULL || peer_pk == NULL || sc == NULL)
        return ecl_fail(err, ECL_E_USAGE, "audit_witness_add: NULL argument");
    audit_checkpoint ck;
    if (audit_checkpoint_open(sc, peer_pk, &ck, err) != 0)
        return ecl_err_prefix(err, "from %.64s", site);
    if (strcmp(ck.site, site) != 0)
        return ecl_fail(err, ECL_E_CRYPTO, "checkpoint from %.64s: field 'site' names '%s'", site,
                        ck.site);
    MDB_txn *txn;
    int rc = mdb_txn_begin(log->env, NULL, 0, &txn);
    if (rc != 0)
        return audit_mdb_fail(err, ECL_E_UNAVAILABLE, rc, "witness");
    int r = consistent(log, txn, &ck, err);
    if (r != 0) {
        mdb_txn_abort(txn);
        return r > 0 ? 0 : -1;
    }
    uint8_t kb[AUDIT_SITE_MAX + 9], vb[8 + AUDIT_SIG_BYTES + AUDIT_CKPT_BODY_MAX];
    ecl_put_u64be(vb, (uint64_t)time(NULL));
    memcpy(vb + 8, sc->sig, AUDIT_SIG_BYTES);
    memcpy(vb + 8 + AUDIT_SIG_BYTES, sc->body, sc->body_len);
    MDB_val k = {witness_key(kb, site, ck.entry_count), kb};
    MDB_val v = {8 + AUDIT_SIG_BYTES + sc->body_len, vb};
    if ((rc = mdb_put(txn, log->witness, &k, &v, 0)) != 0) {
        mdb_txn_abort(txn);
        return audit_mdb_fail(err, ECL_E_UNAVAILABLE, rc, "witness: not stored");
    }
    if ((rc = mdb_txn_commit(txn)) != 0)
        return audit_mdb_fail(err, ECL_E_UNAVAILABLE, rc, "witness: not stored");
    return 0;
}

int audit_witness_list(audit_log *log, const char *site, audit_witness_fn fn, void *arg,
                       ecl_err *err)
{
    if (log == NULL || fn == NULL)
        return ecl_fail(err, ECL_E_USAGE, "audit_witness_list: NULL argument");
    size_t plen = site && site[0] ? strlen(site) + 1 : 0;
    if (plen > AUDIT_SITE_MAX + 1)
        return ecl_fail(err, ECL_E_USAGE, "audit_witness_list: site longer than %u bytes",
                        AUDIT_SITE_MAX);
    MDB_txn *txn;
    MDB_cursor *c;
    if (audit_rtxn(log, &txn, err) != 0)
        return -1;
    int rc = mdb_cursor_open(txn, log->witness, &c), r = 0;
    if (rc != 0) {
        mdb_txn_abort(txn);
        return audit_mdb_fail(err, ECL_E_IO, rc, "witness");
    }
    uint8_t kb[AUDIT_SITE_MAX + 9];
    MDB_val k = {plen ? witness_key(kb, site, 0) : 0, kb}, v;
    for (rc = mdb_cursor_get(c, &k, &v, plen ? MDB_SET_RANGE : MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (plen && (k.mv_size != plen + 8 || memcmp(k.mv_data, kb, plen) != 0))
            break;
        audit_signed_checkpoint sc;
        audit_checkpoint ck;
        uint64_t received;
        if (load_signed(&v, 8, &sc, err) != 0 || /* then the 8 bytes of received are there */
            ecl_u64be_at(v.mv_data, v.mv_size, 0, &received) != 0 ||
            audit_checkpoint_decode(sc.body, sc.body_len, &ck, err) != 0) {
            r = -1;
            break;
        }
        audit_witnessed w = {&sc, &ck, (int64_t)received};
        if (fn(&w, arg) != 0)
            break;
    }
    mdb_cursor_close(c);
    mdb_txn_abort(txn);
    if (r == 0 && rc != 0 && rc != MDB_NOTFOUND)
        return audit_mdb_fail(err, ECL_E_IO, rc, "witness");
    return r;
}
