/* verify.c - check the whole chain and the stored checkpoints (audit.h).
 *
 * Every check on entry k uses only entry k and the stored hash and time of
 * entry k-1, so ranges of the chain are checked in parallel and the first
 * bad sequence number is the lowest any worker found. */
#include "audit/internal.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define PARALLEL_MIN 8192u /* below this one thread is faster than starting more */
#define MAX_WORKERS  4

typedef struct vrange {
    audit_log *log;
    uint64_t from, to; /* inclusive */
    uint64_t bad;      /* 0 = none */
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
    if (sodium_memcmp(h, v.hash, AUDIT_HASH_BYTES) != 0) {
        bad_at(r, seq, "%shash does not match the record's content (changed)", "");
        return -1;
    }
    if (seq == 1)
        prev = zero;
    if (prev && sodium_memcmp(prev, v.prev_hash, AUDIT_HASH_BYTES) != 0) {
        bad_at(r, seq, "%sprev_hash is not the hash of the entry before (chain broken)", "");
        return -1;
    }
    if (prev && seq > 1 && v.time_ns < prev_time) {
        bad_at(r, seq, "%stime goes backwards from the entry before", "");
        return -1;
    }
    return 0;
}

static void *verify_range(void *arg)
{
    vrange *r = arg;
    MDB_txn *txn;
    MDB_cursor *c = NULL;
    uint8_t prev[AUDIT_HASH_BYTES];
    int have_prev = 0;
    int64_t prev_time = 0;
    if ((r->io_rc = mdb_txn_begin(r->log->env, NULL, MDB_RDONLY, &txn)) != 0)
        return NULL;
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
    if ((r->io_rc = mdb_cursor_open(txn, r->log->entries, &c)) != 0)
        goto out;
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
    mdb_txn_abort(txn);
    return NULL;
}

/* Split 1..count over workers; fill the report with the lowest bad seq. */
static int verify_chain(audit_log *log, uint64_t count, audit_verify_report *rep, ecl_err *err)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned n =
        count >= PARALLEL_MIN && cpus > 1 ? (unsigned)(cpus > MAX_WORKERS ? MAX_WORKERS : cpus) : 1;
    vrange r[MAX_WORKERS];
    pthread_t th[MAX_WORKERS];
    int started[MAX_WORKERS] = {0};
    uint64_t per = count / n;
    for (unsigned i = 0; i < n; i++) {
        memset(&r[i], 0, sizeof(r[i]));
        r[i].log = log;
        r[i].from = 1 + per * i;
        r[i].to = i + 1 == n ? count : per * (i + 1);
        if (i > 0 && pthread_create(&th[i], NULL, verify_range, &r[i]) == 0)
            started[i] = 1;
        else if (i > 0)
            verify_range(&r[i]); /* no thread: do it here */
    }
    if (count > 0)
        verify_range(&r[0]);
    for (unsigned i = 1; i < n; i++)
        if (started[i])
            pthread_join(th[i], NULL);
    for (unsigned i = 0; i < n; i++) {
        if (r[i].io_rc != 0)
            return audit_mdb_fail(err, ECL_E_IO, r[i].io_rc, "audit verify: reading entries");
        if (r[i].bad && (rep->first_bad_seq == 0 || r[i].bad < rep->first_bad_seq)) {
            rep->first_bad_seq = r[i].bad;
            memcpy(rep->reason, r[i].why, sizeof(rep->reason));
        }
    }
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
        rc = verify_chain(log, count, rep, err);
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
