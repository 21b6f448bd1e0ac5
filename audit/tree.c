/* tree.c - the Merkle tree of the audit entries in LMDB (tree.h). */
#include "audit/tree.h"
#include "audit/internal.h"

#include <string.h>

#include "common/bytes.h"

uint64_t tree_nodes(uint64_t m)
{
    return 2 * m - (uint64_t)__builtin_popcountll(m);
}

uint64_t tree_pos(unsigned level, uint64_t index)
{
    return tree_nodes(index << level) + ((uint64_t)2 << level) - 2;
}

void tree_pos_split(uint64_t pos, unsigned *level, uint64_t *index)
{
    /* the first 2^(h+1)-1 positions are a perfect tree of height h: take the
     * smallest one holding pos and walk down to it */
    unsigned h = 0;
    while (h < 63 && ((uint64_t)2 << h) - 1 <= pos)
        h++;
    uint64_t base = 0, leaf = 0;
    for (;;) {
        uint64_t size = ((uint64_t)2 << h) - 1;
        if (pos == base + size - 1 || h == 0) {
            *level = h;
            *index = leaf >> h;
            return;
        }
        uint64_t half = ((uint64_t)1 << h) - 1; /* nodes of each child */
        if (pos >= base + half) {
            base += half;
            leaf += (uint64_t)1 << (h - 1);
        }
        h--;
    }
}

unsigned tree_peaks_push(tree_peaks *pk, const uint8_t leaf[MERKLE_HASH_BYTES],
                         uint8_t out[65][MERKLE_HASH_BYTES])
{
    unsigned n = 0, level = 0;
    memcpy(out[n++], leaf, MERKLE_HASH_BYTES);
    while (level < 64 && (pk->size >> level) & 1) {
        merkle_node_hash(pk->h[level], out[n - 1], out[n]);
        n++;
        level++;
    }
    if (level < 64)
        memcpy(pk->h[level], out[n - 1], MERKLE_HASH_BYTES);
    pk->size++;
    return n;
}

int tree_append(MDB_txn *txn, MDB_dbi dbi, tree_peaks *pk, const uint8_t leaf[MERKLE_HASH_BYTES])
{
    uint8_t out[65][MERKLE_HASH_BYTES];
    uint64_t pos = tree_nodes(pk->size);
    unsigned n = tree_peaks_push(pk, leaf, out);
    for (unsigned i = 0; i < n; i++) {
        uint8_t kb[8];
        ecl_put_u64be(kb, pos + i);
        MDB_val k = {8, kb}, v = {MERKLE_HASH_BYTES, out[i]};
        int rc = mdb_put(txn, dbi, &k, &v, MDB_APPEND);
        if (rc == MDB_KEYEXIST) /* a key at or above it is there already */
            rc = mdb_put(txn, dbi, &k, &v, 0);
        if (rc != 0)
            return rc;
    }
    return 0;
}

void tree_peaks_root(const tree_peaks *pk, uint8_t root[MERKLE_HASH_BYTES])
{
    if (pk->size == 0) {
        merkle_empty_root(root);
        return;
    }
    int have = 0;
    for (unsigned level = 0; level < 64; level++) {
        if (!((pk->size >> level) & 1))
            continue;
        if (have)
            merkle_node_hash(pk->h[level], root, root);
        else
            memcpy(root, pk->h[level], MERKLE_HASH_BYTES);
        have = 1;
    }
}

/* The stored node (level, index). */
static int get_node(MDB_txn *txn, MDB_dbi dbi, unsigned level, uint64_t index,
                    uint8_t out[MERKLE_HASH_BYTES], ecl_err *err)
{
    uint8_t kb[8];
    ecl_put_u64be(kb, tree_pos(level, index));
    MDB_val k = {8, kb}, v;
    int rc = mdb_get(txn, dbi, &k, &v);
    if (rc == MDB_NOTFOUND)
        return ecl_fail(err, ECL_E_INPUT,
                        "audit tree: node at level %u index %llu is missing (run audit verify)",
                        level, (unsigned long long)index);
    if (rc != 0)
        return ecl_fail(err, ECL_E_IO, "audit tree: cannot read a node: %s", mdb_strerror(rc));
    if (v.mv_size != MERKLE_HASH_BYTES)
        return ecl_fail(err, ECL_E_INPUT,
                        "audit tree: node at level %u index %llu is %zu bytes, not 32", level,
                        (unsigned long long)index, v.mv_size);
    memcpy(out, v.mv_data, MERKLE_HASH_BYTES);
    return 0;
}

int tree_leaf(MDB_txn *txn, MDB_dbi dbi, uint64_t index, uint8_t out[MERKLE_HASH_BYTES],
              ecl_err *err)
{
    return get_node(txn, dbi, 0, index, out, err);
}

int tree_load_peaks(MDB_txn *txn, MDB_dbi dbi, uint64_t size, tree_peaks *pk, ecl_err *err)
{
    memset(pk, 0, sizeof(*pk));
    uint64_t start = 0;
    for (int level = 63; level >= 0; level--) {
        if (!((size >> level) & 1))
            continue;
        if (get_node(txn, dbi, (unsigned)level, start >> level, pk->h[level], err) != 0)
            return -1;
        start += (uint64_t)1 << level;
    }
    pk->size = size;
    return 0;
}

/* MTH(D[lo:hi]) for a range the proofs ask for: lo is a multiple of the
 * smallest power of two >= hi - lo, so the range is a perfect subtree or a
 * run of perfect peaks from lo, which fold from the right. */
static int range_hash(MDB_txn *txn, MDB_dbi dbi, uint64_t lo, uint64_t hi,
                      uint8_t out[MERKLE_HASH_BYTES], ecl_err *err)
{
    uint64_t n = hi - lo;
    uint8_t peak[64][MERKLE_HASH_BYTES];
    unsigned np = 0;
    uint64_t at = lo;
    for (int level = 63; level >= 0; level--) {
        if (!((n >> level) & 1))
            continue;
        if (get_node(txn, dbi, (unsigned)level, at >> level, peak[np], err) != 0)
            return -1;
        np++;
        at += (uint64_t)1 << level;
    }
    memcpy(out, peak[np - 1], MERKLE_HASH_BYTES);
    for (unsigned i = np - 1; i-- > 0;)
        merkle_node_hash(peak[i], out, out);
    return 0;
}

int tree_root(MDB_txn *txn, MDB_dbi dbi, uint64_t size, uint8_t root[MERKLE_HASH_BYTES],
              ecl_err *err)
{
    if (size == 0) {
        merkle_empty_root(root);
        return 0;
    }
    return range_hash(txn, dbi, 0, size, root, err);
}

/* The largest power of two below n (n >= 2). */
static uint64_t split_of(uint64_t n)
{
    uint64_t k = (uint64_t)1 << (63 - __builtin_clzll(n - 1));
    return k;
}

static int push(audit_proof *out, ecl_err *err)
{
    if (out->n >= MERKLE_PROOF_MAX)
        return ecl_fail(err, ECL_E_INTERNAL, "audit tree: a proof longer than %u hashes",
                        MERKLE_PROOF_MAX);
    return 0;
}

/* PATH(m, D[lo:hi]): the inner part first, then the sibling. */
static int path(MDB_txn *txn, MDB_dbi dbi, uint64_t m, uint64_t lo, uint64_t hi, audit_proof *out,
                ecl_err *err)
{
    uint64_t n = hi - lo;
    if (n <= 1)
        return 0;
    uint64_t k = split_of(n);
    if (m < k) {
        if (path(txn, dbi, m, lo, lo + k, out, err) != 0 || push(out, err) != 0)
            return -1;
        return range_hash(txn, dbi, lo + k, hi, out->hash[out->n++], err);
    }
    if (path(txn, dbi, m - k, lo + k, hi, out, err) != 0 || push(out, err) != 0)
        return -1;
    return range_hash(txn, dbi, lo, lo + k, out->hash[out->n++], err);
}

/* SUBPROOF(m, D[lo:hi], b). */
static int subproof(MDB_txn *txn, MDB_dbi dbi, uint64_t m, uint64_t lo, uint64_t hi, int b,
                    audit_proof *out, ecl_err *err)
{
    uint64_t n = hi - lo;
    if (m == n) {
        if (b)
            return 0;
        if (push(out, err) != 0)
            return -1;
        return range_hash(txn, dbi, lo, hi, out->hash[out->n++], err);
    }
    uint64_t k = split_of(n);
    if (m <= k) {
        if (subproof(txn, dbi, m, lo, lo + k, b, out, err) != 0 || push(out, err) != 0)
            return -1;
        return range_hash(txn, dbi, lo + k, hi, out->hash[out->n++], err);
    }
    if (subproof(txn, dbi, m - k, lo + k, hi, 0, out, err) != 0 || push(out, err) != 0)
        return -1;
    return range_hash(txn, dbi, lo, lo + k, out->hash[out->n++], err);
}

int tree_prove_inclusion(MDB_txn *txn, MDB_dbi dbi, uint64_t index, uint64_t size, audit_proof *out,
                         ecl_err *err)
{
    out->n = 0;
    return path(txn, dbi, index, 0, size, out, err);
}

int tree_prove_consistency(MDB_txn *txn, MDB_dbi dbi, uint64_t old_size, uint64_t new_size,
                           audit_proof *out, ecl_err *err)
{
    out->n = 0;
    if (old_size == new_size)
        return 0;
    return subproof(txn, dbi, old_size, 0, new_size, 1, out, err);
}

/* ---- the public calls (audit.h) -------------------------------------------
 * They read LMDB directly, not through log.c, which calls into this file. */

typedef int (*tree_job)(MDB_txn *txn, audit_log *log, uint64_t count, void *arg, ecl_err *err);

/* Run `job` in one read snapshot with the committed count. */
static int in_snapshot(audit_log *log, tree_job job, void *arg, ecl_err *err)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(log->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0)
        return ecl_fail(err, ECL_E_IO, "audit log: cannot start a read: %s", mdb_strerror(rc));
    MDB_val k = {4, "head"}, v;
    uint64_t count = 0;
    rc = mdb_get(txn, log->meta, &k, &v);
    if (rc == 0 &&
        (v.mv_size != 8 + AUDIT_HASH_BYTES || ecl_u64be_at(v.mv_data, v.mv_size, 0, &count) != 0)) {
        mdb_txn_abort(txn);
        return ecl_fail(err, ECL_E_INPUT, "audit log: meta 'head' is %zu bytes, not 40", v.mv_size);
    }
    if (rc != 0 && rc != MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        return ecl_fail(err, ECL_E_IO, "audit log: cannot read the head: %s", mdb_strerror(rc));
    }
    int r = job(txn, log, count, arg, err);
    mdb_txn_abort(txn);
    return r;
}

typedef struct tree_args {
    uint64_t a, b;
    uint64_t *size_out;
    uint8_t *hash;
    audit_proof *proof;
} tree_args;

static int job_head(MDB_txn *txn, audit_log *log, uint64_t count, void *arg, ecl_err *err)
{
    tree_args *t = arg;
    *t->size_out = count;
    return tree_root(txn, log->tree, count, t->hash, err);
}

static int job_root(MDB_txn *txn, audit_log *log, uint64_t count, void *arg, ecl_err *err)
{
    tree_args *t = arg;
    if (t->a > count)
        return ecl_fail(err, ECL_E_PRECONDITION,
                        "audit tree: no root for size %llu, the log has %llu entries",
                        (unsigned long long)t->a, (unsigned long long)count);
    return tree_root(txn, log->tree, t->a, t->hash, err);
}

static int job_leaf(MDB_txn *txn, audit_log *log, uint64_t count, void *arg, ecl_err *err)
{
    tree_args *t = arg;
    if (t->a < 1 || t->a > count)
        return ecl_fail(err, ECL_E_PRECONDITION,
                        "audit tree: no entry %llu, the log has entries 1..%llu",
                        (unsigned long long)t->a, (unsigned long long)count);
    return tree_leaf(txn, log->tree, t->a - 1, t->hash, err);
}

static int job_inclusion(MDB_txn *txn, audit_log *log, uint64_t count, void *arg, ecl_err *err)
{
    tree_args *t = arg;
    if (t->a < 1 || t->a > t->b || t->b > count)
        return ecl_fail(err, ECL_E_PRECONDITION,
                        "audit tree: no inclusion proof of seq %llu in size %llu: need 1 <= seq "
                        "<= size <= %llu (the entry count)",
                        (unsigned long long)t->a, (unsigned long long)t->b,
                        (unsigned long long)count);
    return tree_prove_inclusion(txn, log->tree, t->a - 1, t->b, t->proof, err);
}

static int job_consistency(MDB_txn *txn, audit_log *log, uint64_t count, void *arg, ecl_err *err)
{
    tree_args *t = arg;
    if (t->a < 1 || t->a > t->b || t->b > count)
        return ecl_fail(err, ECL_E_PRECONDITION,
                        "audit tree: no consistency proof from size %llu to %llu: need 0 < old "
                        "<= new <= %llu (the entry count)",
                        (unsigned long long)t->a, (unsigned long long)t->b,
                        (unsigned long long)count);
    return tree_prove_consistency(txn, log->tree, t->a, t->b, t->proof, err);
}

int audit_tree_head(audit_log *log, uint64_t *size, uint8_t root[MERKLE_HASH_BYTES], ecl_err *err)
{
    if (log == NULL || size == NULL || root == NULL)
        return ecl_fail(err, ECL_E_USAGE, "audit_tree_head: NULL argument");
    tree_args t = {.size_out = size, .hash = root};
    return in_snapshot(log, job_head, &t, err);
}

int audit_tree_root(audit_log *log, uint64_t size, uint8_t root[MERKLE_HASH_BYTES], ecl_err *err)
{
    if (log == NULL || root == NULL)
        return ecl_fail(err, ECL_E_USAGE, "audit_tree_root: NULL argument");
    tree_args t = {.a = size, .hash = root};
    return in_snapshot(log, job_root, &t, err);
}

int audit_leaf_hash(audit_log *log, uint64_t seq, uint8_t out[MERKLE_HASH_BYTES], ecl_err *err)
{
    if (log == NULL || out == NULL)
        return ecl_fail(err, ECL_E_USAGE, "audit_leaf_hash: NULL argument");
    tree_args t = {.a = seq, .hash = out};
    return in_snapshot(log, job_leaf, &t, err);
}

int audit_prove_inclusion(audit_log *log, uint64_t seq, uint64_t size, audit_proof *out,
                          ecl_err *err)
{
    if (log == NULL || out == NULL)
        return ecl_fail(err, ECL_E_USAGE, "audit_prove_inclusion: NULL argument");
    out->n = 0;
    tree_args t = {.a = seq, .b = size, .proof = out};
    return in_snapshot(log, job_inclusion, &t, err);
}

int audit_prove_consistency(audit_log *log, uint64_t old_size, uint64_t new_size, audit_proof *out,
                            ecl_err *err)
{
    if (log == NULL || out == NULL)
        return ecl_fail(err, ECL_E_USAGE, "audit_prove_consistency: NULL argument");
    out->n = 0;
    tree_args t = {.a = old_size, .b = new_size, .proof = out};
    return in_snapshot(log, job_consistency, &t, err);
}
