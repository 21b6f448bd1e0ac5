/* verify.c - check the whole chain, the tree and the indexes (audit.h); the
 * checkpoints are verify_notes.c's.
 *
 * Every check on entry k uses only entry k and the stored hash and time of
 * entry k-1, so ranges of the chain are checked in parallel and the first
 * bad sequence number is the lowest any worker found. The ranges are whole
 * blocks of 2^b leaves, so each worker also recomputes the perfect subtrees
 * of its blocks and compares them with the stored nodes (a cursor walking
 * in key order, which is the order they complete in); the few nodes above
 * the blocks are checked afterwards from the blocks' roots. The indexes are
 * checked by one more thread beside them. */
#include "audit/internal.h"

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PARALLEL_MIN 8192u /* below this one thread is faster than starting more */
#define MAX_WORKERS  4

/* A problem found, kept when its seq is the lowest so far. */
typedef struct finding {
    uint64_t seq; /* 0 = none */
    char why[ECL_ERR_MSG_MAX];
} finding;

static void found(finding *f, uint64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void found(finding *f, uint64_t seq, const char *fmt, ...)
{
    if (f->seq != 0 && f->seq <= seq)
        return;
    f->seq = seq;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->why, sizeof(f->why), fmt, ap);
    va_end(ap);
}

/* The tree inside one worker's blocks. */
typedef struct tchk {
    MDB_cursor *c;
    int crc; /* of the cursor's last move */
    MDB_val k, v;
    uint64_t block_start; /* first leaf of the current block */
    tree_peaks pk;        /* of the current block, as if it started at leaf 0 */
    int live;
} tchk;

typedef struct vrange {
    audit_log *log;
    uint64_t from, to;                   /* inclusive */
    unsigned block_level;                /* b; from - 1 is a multiple of 2^b (63: one block) */
    uint8_t (*roots)[MERKLE_HASH_BYTES]; /* out: the roots of its full blocks */
    uint64_t nroots;
    uint64_t tree_nodes;
    finding tree;
    uint64_t bad; /* 0 = none */
    char why[ECL_ERR_MSG_MAX];
    int io_rc;
} vrange;

static void bad_at(vrange *r, uint64_t seq, const char *fmt, const char *detail)
{
    r->bad = seq;
    snprintf(r->why, sizeof(r->why), fmt, detail);
}

/* Check entry `seq` (record v/len) against the previous one's stored hash
 * and time (prev == NULL: unknown, skip the link). 0 when good. */
static int check_one(vrange *r, uint64_t seq, const uint8_t *rec, size_t len, const uint8_t *prev,
                     int64_t prev_time)
{
    static const uint8_t zero[AUDIT_HASH_BYTES];
    rec_view v;
    ecl_err e;
    uint8_t h[AUDIT_HASH_BYTES];
    if (rec_parse(rec, len, &v, &e) != 0) {
        bad_at(r, seq, "malformed record: %.400s", e.msg);
        return -1;
    }
    if (v.seq != seq) {
        char s[64];
        snprintf(s, sizeof(s), "%llu", (unsigned long long)v.seq);
        bad_at(r, seq, "record says seq %s, stored under another key (moved or swapped)", s);
        return -1;
    }
    rec_hash(rec, len, h);
    if (memcmp(h, v.hash, AUDIT_HASH_BYTES) != 0) { /* public hashes: no need for constant time */
        bad_at(r, seq, "%shash does not match the record's content (changed)", "");
        return -1;
    }
    if (seq == 1)
        prev = zero;
    if (prev && memcmp(prev, v.prev_hash, AUDIT_HASH_BYTES) != 0) {
        bad_at(r, seq, "%sprev_hash is not the hash of the entry before (chain broken)", "");
        return -1;
    }
    if (prev && seq > 1 && v.time_ns < prev_time) {
        bad_at(r, seq, "%stime goes backwards from the entry before", "");
        return -1;
    }
    return 0;
}

/* A node of the tree: compare the recomputed hash with where the cursor is,
 * then move on. -1 at the first difference (reported in *f). */
static int tree_step(finding *f, tchk *t, uint64_t pos, const uint8_t h[MERKLE_HASH_BYTES],
                     uint64_t *nodes)
{
    uint64_t key = UINT64_MAX;
    if (t->crc == 0 && audit_u64_val(&t->k, &key) != 0)
        key = 0; /* a key that is not 8 bytes: call it misplaced */
    /* stored hashes are public: a plain memcmp, the hot path of the check */
    if (t->crc == 0 && key == pos && t->v.mv_size == MERKLE_HASH_BYTES &&
        memcmp(t->v.mv_data, h, MERKLE_HASH_BYTES) == 0) {
        (*nodes)++;
        t->crc = mdb_cursor_get(t->c, &t->k, &t->v, MDB_NEXT);
        return 0;
    }
    unsigned level;
    uint64_t index;
    tree_pos_split(pos, &level, &index);
    uint64_t first = (index << level) + 1;
    if (t->crc != 0 || key > pos)
        found(f, first, "tree node at level %u index %llu is missing", level,
              (unsigned long long)index);
    else if (key < pos)
        found(f, first, "tree holds a key that is no node position before level %u index %llu",
              level, (unsigned long long)index);
    else
        found(f, first, "tree node at level %u index %llu differs", level,
              (unsigned long long)index);
    return -1;
}

/* Leaf `leaf` (the entry's stored bytes) and the nodes it completes within
 * its block. */
static void check_leaf(vrange *r, tchk *t, uint64_t leaf, const uint8_t *rec, size_t len)
{
    if (!t->live)
        return;
    if (t->pk.size == 0) { /* a new block: its nodes start at N(first leaf) */
        uint8_t kb[8];
        t->block_start = leaf;
        ecl_put_u64be(kb, tree_nodes(leaf));
        t->k.mv_size = 8;
        t->k.mv_data = kb;
        t->crc = mdb_cursor_get(t->c, &t->k, &t->v, MDB_SET_RANGE);
    }
    uint8_t h[MERKLE_HASH_BYTES], out[65][MERKLE_HASH_BYTES];
    merkle_leaf_hash(rec, len, h);
    uint64_t pos = tree_nodes(t->block_start) + tree_nodes(t->pk.size);
    unsigned n = tree_peaks_push(&t->pk, h, out);
    for (unsigned i = 0; i < n; i++)
        if (tree_step(&r->tree, t, pos + i, out[i], &r->tree_nodes) != 0) {
            t->live = 0;
            return;
        }
    if (r->block_level < 63 && t->pk.size == (uint64_t)1 << r->block_level) {
        memcpy(r->roots[r->nroots++], t->pk.h[r->block_level], MERKLE_HASH_BYTES);
        t->pk.size = 0;
    }
}

static void *verify_range(void *arg)
{
    vrange *r = arg;
    MDB_txn *txn;
    MDB_cursor *c = NULL;
    tchk *t = calloc(1, sizeof(*t));
    uint8_t prev[AUDIT_HASH_BYTES];
    int have_prev = 0;
    int64_t prev_time = 0;
    if (t == NULL) {
        r->io_rc = ENOMEM;
        return NULL;
    }
    if ((r->io_rc = mdb_txn_begin(r->log->env, NULL, MDB_RDONLY, &txn)) != 0) {
        free(t);
        return NULL;
    }
    uint8_t kb[8];
    MDB_val k = {8, kb}, v;
    if (r->from > 1) {
        ecl_put_u64be(kb, r->from - 1);
        if (mdb_get(txn, r->log->entries, &k, &v) == 0 && v.mv_size >= REC_MIN_SIZE) {
            memcpy(prev, (uint8_t *)v.mv_data + v.mv_size - AUDIT_HASH_BYTES, sizeof(prev));
            prev_time = rec_time_ns(v.mv_data, v.mv_size);
            have_prev = 1; /* otherwise the worker below reports an earlier seq */
        }
    }
    if ((r->io_rc = mdb_cursor_open(txn, r->log->entries, &c)) != 0 ||
        (r->io_rc = mdb_cursor_open(txn, r->log->tree, &t->c)) != 0)
        goto out;
    t->live = 1;
    ecl_put_u64be(kb, r->from);
    k.mv_size = 8;
    k.mv_data = kb;
    uint64_t want = r->from;
    int rc;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0 && want <= r->to;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT), want++) {
        uint64_t seq;
        if (audit_u64_val(&k, &seq) != 0) {
            bad_at(r, want, "%sa key that is not 8 bytes sits in 'entries'", "");
            goto out;
        }
        if (seq != want) {
            bad_at(r, want, "%sentry is missing (deleted)", "");
            goto out;
        }
        check_leaf(r, t, seq - 1, v.mv_data, v.mv_size);
        if (check_one(r, seq, v.mv_data, v.mv_size, have_prev ? prev : NULL, prev_time) != 0)
            goto out;
        memcpy(prev, (uint8_t *)v.mv_data + v.mv_size - AUDIT_HASH_BYTES, sizeof(prev));
        prev_time = rec_time_ns(v.mv_data, v.mv_size);
        have_prev = 1;
    }
    if (rc != 0 && rc != MDB_NOTFOUND)
        r->io_rc = rc;
    else if (want <= r->to)
        bad_at(r, want, "%sentry is missing (deleted)", "");
out:
    if (c)
        mdb_cursor_close(c);
    if (t->c)
        mdb_cursor_close(t->c);
    free(t);
    mdb_txn_abort(txn);
    return NULL;
}

/* The nodes above the blocks, from the blocks' roots in order. */
static int check_upper(audit_log *log, MDB_txn *txn, const vrange *r, unsigned n, unsigned b,
                       finding *f, uint64_t *nodes)
{
    tree_peaks *pk = calloc(1, sizeof(*pk));
    if (pk == NULL)
        return ENOMEM;
    int rc = 0;
    uint64_t j = 0;
    for (unsigned w = 0; w < n && rc == 0; w++)
        for (uint64_t i = 0; i < r[w].nroots && rc == 0; i++, j++) {
            uint8_t out[65][MERKLE_HASH_BYTES];
            unsigned m = tree_peaks_push(pk, r[w].roots[i], out);
            for (unsigned k = 1; k < m; k++) {
                unsigned level = b + k;
                uint64_t index = ((j + 1) >> k) - 1;
                uint8_t kb[8];
                ecl_put_u64be(kb, tree_pos(level, index));
                MDB_val key = {8, kb}, v;
                rc = mdb_get(txn, log->tree, &key, &v);
                if (rc == MDB_NOTFOUND) {
                    found(f, (index << level) + 1, "tree node at level %u index %llu is missing",
                          level, (unsigned long long)index);
                    rc = 0;
                    break;
                }
                if (rc != 0)
                    break;
                if (v.mv_size != MERKLE_HASH_BYTES ||
                    sodium_memcmp(v.mv_data, out[k], MERKLE_HASH_BYTES) != 0) {
                    found(f, (index << level) + 1, "tree node at level %u index %llu differs",
                          level, (unsigned long long)index);
                    break;
                }
                (*nodes)++;
            }
        }
    free(pk);
    return rc;
}

/* Nothing stored at or beyond N(count). */
static int check_tree_end(audit_log *log, MDB_txn *txn, uint64_t count, finding *f)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, log->tree, &c);
    if (rc != 0)
        return rc;
    MDB_val k, v;
    rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
    mdb_cursor_close(c);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    uint64_t key = 0;
    unsigned level = 0;
    uint64_t index = 0;
    if (audit_u64_val(&k, &key) == 0 && key < tree_nodes(count))
        return 0;
    tree_pos_split(key, &level, &index);
    uint64_t first = (index << level) + 1;
    found(f, first <= count ? first : count + 1,
          "tree holds a node at level %u index %llu beyond the tree of %llu entries", level,
          (unsigned long long)index, (unsigned long long)count);
    return 0;
}

/* Split 1..count over workers in whole blocks of 2^b leaves; fill the report
 * with the lowest bad seq of the chain and the tree. */
static int verify_chain(audit_log *log, MDB_txn *txn, uint64_t count, audit_verify_report *rep,
                        ecl_err *err)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned n =
        count >= PARALLEL_MIN && cpus > 1 ? (unsigned)(cpus > MAX_WORKERS ? MAX_WORKERS : cpus) : 1;
    unsigned b = 63; /* one worker: one block, the whole tree */
    if (n > 1)       /* about 8 blocks per worker */
        for (b = 0; ((uint64_t)2 << b) * 8 * n <= count;)
            b++;
    uint64_t blocks = b == 63 ? 1 : (count + ((uint64_t)1 << b) - 1) >> b;
    vrange r[MAX_WORKERS];
    pthread_t th[MAX_WORKERS];
    int started[MAX_WORKERS] = {0};
    for (unsigned i = 0; i < n; i++) {
        memset(&r[i], 0, sizeof(r[i]));
        r[i].log = log;
        r[i].block_level = b;
        uint64_t b0 = blocks * i / n, b1 = blocks * (i + 1) / n;
        r[i].from = b == 63 ? 1 : (b0 << b) + 1;
        r[i].to = b == 63 || i + 1 == n ? count : b1 << b;
        r[i].roots = calloc(b1 - b0 + 1, MERKLE_HASH_BYTES);
        if (r[i].roots == NULL) {
            for (unsigned j = 0; j <= i; j++)
                free(r[j].roots);
            return ecl_fail(err, ECL_E_INTERNAL, "audit verify: out of memory");
        }
    }
    int rc = 0;
    for (unsigned i = 1; i < n; i++) {
        if (r[i].from > r[i].to)
            continue;
        if (pthread_create(&th[i], NULL, verify_range, &r[i]) == 0)
            started[i] = 1;
        else
            verify_range(&r[i]); /* no thread: do it here */
    }
    if (count > 0)
        verify_range(&r[0]);
    for (unsigned i = 1; i < n; i++)
        if (started[i])
            pthread_join(th[i], NULL);
    finding tree = {0};
    uint64_t nodes = 0;
    for (unsigned i = 0; i < n && rc == 0; i++) {
        if (r[i].io_rc != 0) {
            rc = audit_mdb_fail(err, ECL_E_IO, r[i].io_rc, "audit verify: reading entries");
            break;
        }
        if (r[i].bad && (rep->first_bad_seq == 0 || r[i].bad < rep->first_bad_seq)) {
            rep->first_bad_seq = r[i].bad;
            memcpy(rep->reason, r[i].why, sizeof(rep->reason));
        }
        if (r[i].tree.seq)
            found(&tree, r[i].tree.seq, "%s", r[i].tree.why);
        nodes += r[i].tree_nodes;
    }
    if (rc == 0 && b < 63) {
        int mrc = check_upper(log, txn, r, n, b, &tree, &nodes);
        if (mrc != 0)
            rc = audit_mdb_fail(err, ECL_E_IO, mrc, "audit verify: reading the tree");
    }
    if (rc == 0) {
        int mrc = check_tree_end(log, txn, count, &tree);
        if (mrc != 0)
            rc = audit_mdb_fail(err, ECL_E_IO, mrc, "audit verify: reading the tree");
    }
    for (unsigned i = 0; i < n; i++)
        free(r[i].roots);
    if (rc != 0)
        return -1;
    if (tree.seq && (rep->first_bad_seq == 0 || tree.seq < rep->first_bad_seq)) {
        rep->first_bad_seq = tree.seq;
        memcpy(rep->reason, tree.why, sizeof(rep->reason));
    }
    rep->tree_nodes = nodes;
    rep->entries = rep->first_bad_seq ? rep->first_bad_seq - 1 : count;
    return 0;
}

/* After the chain: nothing beyond the head, and the last entry is the head. */
static int check_head(audit_log *log, MDB_txn *txn, uint64_t count,
                      const uint8_t head[AUDIT_HASH_BYTES], audit_verify_report *rep, ecl_err *err)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, log->entries, &c);
    if (rc != 0)
        return audit_mdb_fail(err, ECL_E_IO, rc, "entries");
    MDB_val k, v;
    rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
    mdb_cursor_close(c);
    if (rc == MDB_NOTFOUND && count == 0)
        return 0;
    if (rc != 0)
        return audit_mdb_fail(err, ECL_E_IO, rc, "entries");
    uint64_t last;
    if (audit_u64_val(&k, &last) != 0 || last != count) {
        rep->first_bad_seq = count + 1;
        snprintf(rep->reason, sizeof(rep->reason),
                 "entries exist beyond the head's count of %llu (inserted)",
                 (unsigned long long)count);
    } else if (sodium_memcmp((uint8_t *)v.mv_data + v.mv_size - AUDIT_HASH_BYTES, head,
                             AUDIT_HASH_BYTES) != 0) {
        rep->first_bad_seq = count;
        snprintf(rep->reason, sizeof(rep->reason), "hash differs from the stored head");
    }
    if (rep->first_bad_seq)
        rep->entries = rep->first_bad_seq - 1;
    return 0;
}

/* ---- the indexes --------------------------------------------------------------
 * One pass over the entries in key order compares `by_time` row by row and
 * gathers, for each string index, the seqs of each value; the indexes are
 * then walked once each and compared. It runs in a thread of its own, in a
 * snapshot of its own (with its own count), beside the chain workers. */

static const char *const ix_db_name[IX_COUNT] = {"by_kind", "by_actor", "by_dataset", "by_purpose",
                                                 "by_decision"};
static const char *const ix_field_name[IX_COUNT] = {"kind", "actor", "dataset", "purpose",
                                                    "decision"};

/* The seqs of one value of one index, in increasing order. */
typedef struct ixval {
    const uint8_t *key; /* into the read snapshot */
    size_t klen;
    uint64_t *seq;
    size_t n, cap;
    int seen;
} ixval;

typedef struct ixmap {
    ixval *slot;
    size_t cap, used; /* cap: a power of two */
} ixmap;

typedef struct derived {
    audit_log *log;
    MDB_txn *txn;
    uint64_t count;
    finding f; /* the lowest seq found wrong */
    int rc;    /* LMDB error */
    int oom;
    uint64_t index_rows;
    ixmap map[IX_COUNT];
} derived;

static uint64_t fnv(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static ixval *ix_find(ixmap *m, const uint8_t *key, size_t klen, int add)
{
    if (m->cap == 0 || (add && 2 * (m->used + 1) > m->cap)) {
        if (!add)
            return NULL;
        size_t ncap = m->cap ? m->cap * 2 : 64;
        ixval *ns = calloc(ncap, sizeof(*ns));
        if (ns == NULL)
            return NULL;
        for (size_t i = 0; i < m->cap; i++) {
            if (m->slot[i].key == NULL)
                continue;
            size_t j = fnv(m->slot[i].key, m->slot[i].klen) & (ncap - 1);
            while (ns[j].key != NULL)
                j = (j + 1) & (ncap - 1);
            ns[j] = m->slot[i];
        }
        free(m->slot);
        m->slot = ns;
        m->cap = ncap;
    }
    size_t j = fnv(key, klen) & (m->cap - 1);
    while (m->slot[j].key != NULL) {
        if (m->slot[j].klen == klen && memcmp(m->slot[j].key, key, klen) == 0)
            return &m->slot[j];
        j = (j + 1) & (m->cap - 1);
    }
    if (!add)
        return NULL;
    m->slot[j].key = key;
    m->slot[j].klen = klen;
    m->used++;
    return &m->slot[j];
}

static int ix_add(ixmap *m, const uint8_t *key, size_t klen, uint64_t seq)
{
    ixval *v = ix_find(m, key, klen, 1);
    if (v == NULL)
        return -1;
    if (v->n == v->cap) {
        size_t ncap = v->cap ? v->cap * 2 : 16;
        uint64_t *ns = realloc(v->seq, ncap * sizeof(*ns));
        if (ns == NULL)
            return -1;
        v->seq = ns;
        v->cap = ncap;
    }
    v->seq[v->n++] = seq;
    return 0;
}

static void ix_free(ixmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->slot[i].seq);
    free(m->slot);
    m->slot = NULL;
    m->cap = m->used = 0;
}

/* Index keys and values as text for a message: at most 64 bytes, anything
 * not printable ASCII as '?'. */
static void shown(char *out, size_t cap, const uint8_t *p, size_t n)
{
    size_t i = 0;
    for (; i < n && i < 64 && i + 1 < cap; i++)
        out[i] = p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\'' ? (char)p[i] : '?';
    out[i] = '\0';
}

/* by_time, row by row against (time of seq, seq). */
static int time_step(derived *d, MDB_cursor *c, int *crc, MDB_val *k, MDB_val *v, uint64_t seq,
                     uint64_t time_ns)
{
    uint8_t want[16], have[16];
    ecl_put_u64be(want, time_ns);
    ecl_put_u64be(want + 8, seq);
    while (*crc == 0) {
        if (k->mv_size != 8 || v->mv_size != 8) {
            found(&d->f, seq, "by_time holds a row that is not 8 + 8 bytes");
            return -1;
        }
        memcpy(have, k->mv_data, 8);
        memcpy(have + 8, v->mv_data, 8);
        int cmp = memcmp(have, want, 16);
        if (cmp == 0) {
            d->index_rows++;
            *crc = mdb_cursor_get(c, k, v, MDB_NEXT);
            return 0;
        }
        if (cmp > 0)
            break;
        uint64_t s, t;
        if (ecl_u64be_at(have, 16, 8, &s) != 0 || ecl_u64be_at(have, 16, 0, &t) != 0)
            return -1;
        found(&d->f, s ? s : 1, "by_time row %llu points to seq %llu, whose time is another",
              (unsigned long long)t, (unsigned long long)s);
        return -1;
    }
    found(&d->f, seq, "missing from by_time");
    return -1;
}

/* Walk the entries: by_time, and the string indexes' expected rows. */
static void derive_pass(derived *d)
{
    audit_log *log = d->log;
    MDB_cursor *ce = NULL, *cx = NULL;
    if ((d->rc = mdb_cursor_open(d->txn, log->entries, &ce)) != 0 ||
        (d->rc = mdb_cursor_open(d->txn, log->by_time, &cx)) != 0)
        goto out;
    MDB_val ek, ev, xk, xv;
    int xrc = mdb_cursor_get(cx, &xk, &xv, MDB_FIRST);
    int time_live = 1;
    uint64_t want = 1;
    int rc;
    for (rc = mdb_cursor_get(ce, &ek, &ev, MDB_FIRST); rc == 0 && want <= d->count;
         rc = mdb_cursor_get(ce, &ek, &ev, MDB_NEXT), want++) {
        uint64_t seq;
        if (audit_u64_val(&ek, &seq) != 0 || seq != want)
            break; /* the chain check names it */
        rec_view rv;
        ecl_err e;
        if (rec_parse(ev.mv_data, ev.mv_size, &rv, &e) != 0)
            continue; /* the chain check names it */
        if (time_live && time_step(d, cx, &xrc, &xk, &xv, seq, (uint64_t)rv.time_ns) != 0)
            time_live = 0;
        for (unsigned ix = 0; ix < IX_COUNT; ix++) {
            unsigned f = ix_field(ix);
            if (rv.len[f] > 0 && ix_add(&d->map[ix], rv.field[f], rv.len[f], seq) != 0) {
                d->oom = 1;
                goto out;
            }
        }
    }
    if (rc != 0 && rc != MDB_NOTFOUND) {
        d->rc = rc;
        goto out;
    }
    if (time_live && xrc == 0) {
        uint64_t s = 0;
        if (audit_u64_val(&xv, &s) != 0 || s == 0)
            s = d->count + 1;
        found(&d->f, s, "by_time row points to seq %llu, which is not an entry of the log",
              (unsigned long long)s);
    }
out:
    if (ce)
        mdb_cursor_close(ce);
    if (cx)
        mdb_cursor_close(cx);
}

/* An index row (key, s) that no entry asked for: say what entry s holds. */
static void extra_row(derived *d, unsigned ix, const MDB_val *key, uint64_t s)
{
    char k[80], have[80] = "";
    shown(k, sizeof(k), key->mv_data, key->mv_size);
    uint8_t kb[8];
    ecl_put_u64be(kb, s);
    MDB_val ek = {8, kb}, ev;
    rec_view rv;
    ecl_err e;
    if (s == 0 || s > d->count || mdb_get(d->txn, d->log->entries, &ek, &ev) != 0) {
        found(&d->f, s ? s : 1, "%s row '%s' points to seq %llu, which is not an entry of the log",
              ix_db_name[ix], k, (unsigned long long)s);
        return;
    }
    if (rec_parse(ev.mv_data, ev.mv_size, &rv, &e) == 0)
        shown(have, sizeof(have), rv.field[ix_field(ix)], rv.len[ix_field(ix)]);
    found(&d->f, s, "%s row '%s' points to seq %llu whose %s is '%s'", ix_db_name[ix], k,
          (unsigned long long)s, ix_field_name[ix], have);
}

/* Walk one string index and compare it with what the entries asked for. */
static void index_pass(derived *d, unsigned ix)
{
    MDB_cursor *c;
    if ((d->rc = mdb_cursor_open(d->txn, d->log->by[ix], &c)) != 0)
        return;
    ixmap *m = &d->map[ix];
    MDB_val k, v;
    int rc;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT_NODUP)) {
        MDB_val key = k;
        ixval *want = ix_find(m, k.mv_data, k.mv_size, 0);
        size_t i = 0;
        int stop = 0;
        if (want)
            want->seen = 1;
        /* the rows of this key, a page of seqs at a time (DUPFIXED); LMDB
         * leaves `v` as it is for a key with one row, which it already holds */
        size_t rows = 0;
        int mrc = mdb_cursor_count(c, &rows);
        if (mrc == 0 && rows > 1)
            mrc = mdb_cursor_get(c, &k, &v, MDB_GET_MULTIPLE);
        while (mrc == 0 && !stop) {
            if (v.mv_size % 8 != 0) {
                found(&d->f, d->count + 1, "%s holds a row that is not 8 bytes", ix_db_name[ix]);
                break;
            }
            for (size_t off = 0; off < v.mv_size; off += 8) {
                uint64_t s;
                if (ecl_u64be_at(v.mv_data, v.mv_size, off, &s) != 0)
                    break;
                if (want && i < want->n && want->seq[i] == s) {
                    i++;
                    d->index_rows++;
                    continue;
                }
                if (want && i < want->n && want->seq[i] < s)
                    found(&d->f, want->seq[i], "missing from %s", ix_db_name[ix]);
                else
                    extra_row(d, ix, &key, s);
                stop = 1;
                break;
            }
            if (!stop)
                mrc = rows > 1 ? mdb_cursor_get(c, &k, &v, MDB_NEXT_MULTIPLE) : MDB_NOTFOUND;
        }
        if (mrc != 0 && mrc != MDB_NOTFOUND) {
            d->rc = mrc;
            break;
        }
        if (!stop && want && i < want->n)
            found(&d->f, want->seq[i], "missing from %s", ix_db_name[ix]);
        k = key;
    }
    if (rc != 0 && rc != MDB_NOTFOUND && d->rc == 0)
        d->rc = rc;
    mdb_cursor_close(c);
    for (size_t s = 0; s < m->cap; s++) /* values no row has at all */
        if (m->slot[s].key && !m->slot[s].seen && m->slot[s].n > 0)
            found(&d->f, m->slot[s].seq[0], "missing from %s", ix_db_name[ix]);
}

static void *derived_main(void *arg)
{
    derived *d = arg;
    uint8_t head[AUDIT_HASH_BYTES];
    ecl_err e;
    if ((d->rc = mdb_txn_begin(d->log->env, NULL, MDB_RDONLY, &d->txn)) != 0)
        return NULL;
    if (audit_read_head(d->txn, d->log, &d->count, head, &e) != 0) {
        d->rc = MDB_CORRUPTED; /* the chain check reports the head itself */
        mdb_txn_abort(d->txn);
        return NULL;
    }
    derive_pass(d);
    for (unsigned ix = 0; ix < IX_COUNT && d->rc == 0 && !d->oom; ix++)
        index_pass(d, ix);
    for (unsigned ix = 0; ix < IX_COUNT; ix++)
        ix_free(&d->map[ix]);
    mdb_txn_abort(d->txn);
    return NULL;
}

/* The chain (its workers) and the derived data (a thread of its own) at
 * once; the report names the lowest bad seq either found. */
static int verify_all(audit_log *log, MDB_txn *txn, uint64_t count, audit_verify_report *rep,
                      ecl_err *err)
{
    derived *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "audit verify: out of memory");
    d->log = log;
    pthread_t th;
    int threaded = pthread_create(&th, NULL, derived_main, d) == 0;
    int rc = verify_chain(log, txn, count, rep, err);
    if (threaded)
        pthread_join(th, NULL);
    else
        derived_main(d);
    if (rc == 0 && d->rc != 0)
        rc = audit_mdb_fail(err, ECL_E_IO, d->rc, "audit verify: reading the tree and indexes");
    if (rc == 0 && d->oom)
        rc = ecl_fail(err, ECL_E_INTERNAL, "audit verify: out of memory for the index check");
    if (rc == 0 && d->f.seq && (rep->first_bad_seq == 0 || d->f.seq < rep->first_bad_seq)) {
        rep->first_bad_seq = d->f.seq;
        memcpy(rep->reason, d->f.why, sizeof(rep->reason));
        rep->entries = d->f.seq - 1;
    }
    rep->index_rows = d->index_rows;
    free(d);
    return rc;
}

int audit_verify(audit_log *log, audit_verify_report *rep, ecl_err *err)
{
    if (log == NULL || rep == NULL)
        return ecl_fail(err, ECL_E_USAGE, "audit_verify: NULL argument");
    memset(rep, 0, sizeof(*rep));
    MDB_txn *txn;
    uint64_t count;
    uint8_t head[AUDIT_HASH_BYTES];
    if (audit_rtxn(log, &txn, err) != 0)
        return -1;
    int rc = audit_read_head(txn, log, &count, head, err);
    if (rc == 0)
        rc = verify_all(log, txn, count, rep, err);
    if (rc == 0 && rep->first_bad_seq == 0)
        rc = check_head(log, txn, count, head, rep, err);
    mdb_txn_abort(txn);
    if (rc != 0)
        return -1;
    if (rep->first_bad_seq != 0)
        return ecl_fail(err, ECL_E_CRYPTO, "audit log %s: seq %llu: %s", log->dir,
                        (unsigned long long)rep->first_bad_seq, rep->reason);
    rep->ok = 1;
    return 0;
}
