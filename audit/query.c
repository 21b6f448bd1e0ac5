/* query.c - filtered reads through the indexes, oldest first (audit.h). */
#include "audit/internal.h"

#include <stdlib.h>
#include <string.h>

int audit_decode(const MDB_val *key, const MDB_val *val, audit_record *rec, char **scratch,
                 size_t *cap, ecl_err *err)
{
    rec_view v;
    uint64_t kseq;
    if (audit_u64_val(key, &kseq) != 0)
        kseq = 0;
    if (rec_parse(val->mv_data, val->mv_size, &v, err) != 0)
        return ecl_err_prefix(err, "audit entry %llu", (unsigned long long)kseq);
    size_t need = 0;
    for (unsigned i = 0; i < REC_NFIELDS; i++)
        need += v.len[i] + 1;
    if (need > *cap) {
        char *n = realloc(*scratch, need);
        if (n == NULL)
            return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
        *scratch = n;
        *cap = need;
    }
    const char **dst[REC_NFIELDS] = {
        &rec->kind,     &rec->actor,        &rec->dataset,        &rec->purpose,
        &rec->decision, &rec->lawful_basis, &rec->transfer_basis, &rec->job_country,
        &rec->grant_id, &rec->read_id,      &rec->detail_json,
    };
    char *p = *scratch;
    for (unsigned i = 0; i < REC_NFIELDS; i++) {
        memcpy(p, v.field[i], v.len[i]);
        p[v.len[i]] = '\0';
        *dst[i] = p;
        p += v.len[i] + 1;
    }
    rec->seq = v.seq;
    rec->time_ns = v.time_ns;
    rec->prev_hash = v.prev_hash;
    rec->hash = v.hash;
    return 0;
}

static int set(const char *s)
{
    return s != NULL && s[0] != '\0';
}

static int eq(const char *want, const char *have)
{
    return !set(want) || strcmp(want, have) == 0;
}

static int matches(const audit_filter *f, const audit_record *r)
{
    return eq(f->dataset, r->dataset) && eq(f->requester, r->actor) && eq(f->purpose, r->purpose) &&
           eq(f->decision, r->decision) && eq(f->kind, r->kind) &&
           (f->since_ns == 0 || r->time_ns >= f->since_ns) &&
           (f->until_ns == 0 || r->time_ns <= f->until_ns);
}

static int check_filter(const audit_filter *f, ecl_err *err)
{
    const char *names[] = {"dataset", "requester", "purpose", "decision", "kind"};
    const char *vals[] = {f->dataset, f->requester, f->purpose, f->decision, f->kind};
    for (unsigned i = 0; i < 5; i++)
        if (vals[i] && strlen(vals[i]) > AUDIT_FIELD_MAX)
            return ecl_fail(err, ECL_E_USAGE, "audit query: filter '%s' is longer than %u bytes",
                            names[i], AUDIT_FIELD_MAX);
    if (f->since_ns < 0 || f->until_ns < 0)
        return ecl_fail(err, ECL_E_USAGE, "audit query: negative time bound");
    if (f->since_ns && f->until_ns && f->since_ns > f->until_ns)
        return ecl_fail(err, ECL_E_USAGE, "audit query: 'since' is after 'until'");
    return 0;
}

/* The first seq at or after time `t` through by_time (times grow with seq);
 * `none` when no entry is that late. */
static int first_seq_from(MDB_txn *txn, MDB_dbi by_time, int64_t t, uint64_t none, uint64_t *seq,
                          ecl_err *err)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, by_time, &c);
    if (rc != 0)
        return audit_mdb_fail(err, ECL_E_IO, rc, "by_time");
    uint8_t tb[8];
    ecl_put_u64be(tb, (uint64_t)t);
    MDB_val k = {8, tb}, d;
    rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE);
    uint64_t found;
    if (rc == 0 && audit_u64_val(&d, &found) == 0)
        *seq = found;
    else if (rc == MDB_NOTFOUND)
        *seq = none;
    mdb_cursor_close(c);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return audit_mdb_fail(err, ECL_E_IO, rc, "by_time");
    return 0;
}

typedef struct qstate {
    audit_log *log;
    MDB_txn *txn;
    const audit_filter *f;
    audit_record_fn fn;
    void *arg;
    uint64_t emitted;
    char *scratch;
    size_t cap;
    int stop;
} qstate;

/* Decode, filter and hand on one entry. */
static int emit(qstate *q, const MDB_val *k, const MDB_val *v, ecl_err *err)
{
    audit_record r;
    if (audit_decode(k, v, &r, &q->scratch, &q->cap, err) != 0)
        return -1;
    if (!matches(q->f, &r))
        return 0;
    if (q->fn(&r, q->arg) != 0)
        q->stop = 1;
    if (q->f->limit && ++q->emitted >= q->f->limit)
        q->stop = 1;
    return 0;
}

static int scan_entries(qstate *q, uint64_t lo, uint64_t hi, ecl_err *err)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(q->txn, q->log->entries, &c);
    if (rc != 0)
        return audit_mdb_fail(err, ECL_E_IO, rc, "entries");
    uint8_t kb[8];
    ecl_put_u64be(kb, lo);
    MDB_val k = {8, kb}, v;
    int r = 0;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0 && !q->stop;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        uint64_t seq;
        if (audit_u64_val(&k, &seq) != 0 || seq > hi)
            break;
        if ((r = emit(q, &k, &v, err)) != 0)
            break;
    }
    mdb_cursor_close(c);
    if (r == 0 && rc != 0 && rc != MDB_NOTFOUND)
        return audit_mdb_fail(err, ECL_E_IO, rc, "entries");
    return r;
}

/* Walk one index's seq list for key `val` from seq `lo` to `hi`. */
static int scan_index(qstate *q, MDB_cursor *c, uint64_t lo, uint64_t hi, ecl_err *err)
{
    uint8_t lb[8];
    ecl_put_u64be(lb, lo);
    MDB_val ik, id = {8, lb}, k, v;
    int rc = mdb_cursor_get(c, &ik, &id, MDB_GET_CURRENT);
    if (rc == 0) {
        id.mv_size = 8;
        id.mv_data = lb;
        rc = mdb_cursor_get(c, &ik, &id, MDB_GET_BOTH_RANGE);
    }
    for (; rc == 0 && !q->stop; rc = mdb_cursor_get(c, &ik, &id, MDB_NEXT_DUP)) {
        uint64_t seq;
        if (audit_u64_val(&id, &seq) != 0)
            return ecl_fail(err, ECL_E_INPUT, "audit index holds a value of %zu bytes, not 8",
                            id.mv_size);
        if (seq > hi)
            break;
        k.mv_size = 8;
        k.mv_data = id.mv_data;
        int g = mdb_get(q->txn, q->log->entries, &k, &v);
        if (g == MDB_NOTFOUND)
            return ecl_fail(err, ECL_E_INPUT, "audit index names entry %llu, which is missing",
                            (unsigned long long)seq);
        if (g != 0)
            return audit_mdb_fail(err, ECL_E_IO, g, "entries");
        if (emit(q, &k, &v, err) != 0)
            return -1;
    }
    if (rc != 0 && rc != MDB_NOTFOUND)
        return audit_mdb_fail(err, ECL_E_IO, rc, "index");
    return 0;
}

/* The cursor of the set filter with the fewest entries, or NULL when no
 * index filter is set. *empty when a filter value has no entries at all. */
static int pick_index(qstate *q, MDB_cursor **best, int *empty, ecl_err *err)
{
    const audit_filter *f = q->f;
    const char *vals[IX_COUNT] = {f->kind, f->requester, f->dataset, f->purpose, f->decision};
    size_t best_n = 0;
    *best = NULL;
    *empty = 0;
    for (unsigned ix = 0; ix < IX_COUNT; ix++) {
        if (!set(vals[ix]))
            continue;
        MDB_cursor *c;
        int rc = mdb_cursor_open(q->txn, q->log->by[ix], &c);
        if (rc != 0)
            return audit_mdb_fail(err, ECL_E_IO, rc, "index");
        MDB_val k = {strlen(vals[ix]), (void *)vals[ix]}, d;
        size_t n = 0;
        rc = mdb_cursor_get(c, &k, &d, MDB_SET);
        if (rc == 0)
            rc = mdb_cursor_count(c, &n);
        if (rc != 0 || n == 0 || (*best && n >= best_n)) {
            mdb_cursor_close(c);
            if (rc == MDB_NOTFOUND || (rc == 0 && n == 0)) {
                *empty = 1;
                break;
            }
            if (rc != 0)
                return audit_mdb_fail(err, ECL_E_IO, rc, "index");
            continue;
        }
        if (*best)
            mdb_cursor_close(*best);
        *best = c;
        best_n = n;
    }
    if (*empty && *best) {
        mdb_cursor_close(*best);
        *best = NULL;
    }
    return 0;
}

static int run_query(qstate *q, ecl_err *err)
{
    uint64_t count, lo = 1, hi;
    uint8_t h[AUDIT_HASH_BYTES];
    if (audit_read_head(q->txn, q->log, &count, h, err) != 0)
        return -1;
    hi = count;
    if (q->f->since_ns &&
        first_seq_from(q->txn, q->log->by_time, q->f->since_ns, count + 1, &lo, err) != 0)
        return -1;
    if (q->f->until_ns && q->f->until_ns < INT64_MAX) {
        uint64_t after;
        if (first_seq_from(q->txn, q->log->by_time, q->f->until_ns + 1, count + 1, &after, err))
            return -1;
        hi = after - 1;
    }
    if (lo > hi)
        return 0;
    MDB_cursor *c;
    int empty;
    if (pick_index(q, &c, &empty, err) != 0)
        return -1;
    if (empty)
        return 0;
    if (c == NULL)
        return scan_entries(q, lo, hi, err);
    int rc = scan_index(q, c, lo, hi, err);
    mdb_cursor_close(c);
    return rc;
}

int audit_query(audit_log *log, const audit_filter *filter, audit_record_fn fn, void *arg,
                ecl_err *err)
{
    if (log == NULL || fn == NULL)
        return ecl_fail(err, ECL_E_USAGE, "audit_query: NULL argument");
    audit_filter none;
    memset(&none, 0, sizeof(none));
    qstate q = {.log = log, .f = filter ? filter : &none, .fn = fn, .arg = arg};
    if (check_filter(q.f, err) != 0 || audit_rtxn(log, &q.txn, err) != 0)
        return -1;
    int rc = run_query(&q, err);
    mdb_txn_abort(q.txn);
    free(q.scratch);
    return rc;
}

int audit_entry_raw(audit_log *log, uint64_t seq, uint8_t **out, size_t *len, ecl_err *err)
{
    *out = NULL;
    *len = 0;
    MDB_txn *txn;
    if (audit_rtxn(log, &txn, err) != 0)
        return -1;
    uint8_t kb[8];
    ecl_put_u64be(kb, seq);
    MDB_val k = {8, kb}, v;
    int rc = mdb_get(txn, log->entries, &k, &v), out_rc = 0;
    if (rc == MDB_NOTFOUND)
        out_rc = ecl_fail(err, ECL_E_NOT_FOUND, "no entry %llu", (unsigned long long)seq);
    else if (rc != 0)
        out_rc = audit_mdb_fail(err, ECL_E_IO, rc, "audit log: cannot read an entry");
    else if ((*out = malloc(v.mv_size ? v.mv_size : 1)) == NULL)
        out_rc = ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    else {
        memcpy(*out, v.mv_data, v.mv_size);
        *len = v.mv_size;
    }
    mdb_txn_abort(txn);
    return out_rc;
}
