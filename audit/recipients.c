/* recipients.c - reads that carried given rows (recipients.h). */
#include "audit/recipients.h"

#include <stdlib.h>
#include <string.h>

typedef struct found {
    const audit_row_range *ask;
    size_t n_ask;
    audit_recipient *r;
    size_t n, cap;
    ecl_err *err;
    int failed;
} found;

/* "spiffe://<site>/..." -> "<site>"; "" for anything else. */
static void trust_domain(const char *id, char *out, size_t cap)
{
    const char *p = strncmp(id, "spiffe://", 9) == 0 ? id + 9 : NULL;
    size_t n = p ? strcspn(p, "/") : 0;
    if (n >= cap)
        n = 0;
    if (n)
        memcpy(out, p, n);
    out[n] = '\0';
}

static void copy(char *dst, const char *src)
{
    size_t n = strlen(src);
    if (n > AUDIT_FIELD_MAX)
        n = AUDIT_FIELD_MAX;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static int add_range(audit_recipient *r, uint64_t b, uint64_t e)
{
    /* Both lists ascend, so a piece either extends the last one or follows it. */
    if (r->n_rows > 0 && r->rows[r->n_rows - 1].end >= b) {
        if (e > r->rows[r->n_rows - 1].end)
            r->rows[r->n_rows - 1].end = e;
        return 0;
    }
    audit_row_range *g = realloc(r->rows, (r->n_rows + 1) * sizeof(*g));
    if (g == NULL)
        return -1;
    r->rows = g;
    r->rows[r->n_rows++] = (audit_row_range){b, e};
    return 0;
}

/* The rows asked about inside [b, e) go to r. */
static int intersect(const found *f, uint64_t b, uint64_t e, audit_recipient *r)
{
    for (size_t i = 0; i < f->n_ask; i++) {
        uint64_t lo = f->ask[i].begin > b ? f->ask[i].begin : b;
        uint64_t hi = f->ask[i].end < e ? f->ask[i].end : e;
        if (lo < hi && add_range(r, lo, hi) != 0)
            return -1;
    }
    return 0;
}

static int oom(const found *f)
{
    return ecl_fail(f->err, ECL_E_INTERNAL, "out of memory");
}

/* detail.rows of a read-start: [[begin, end], ...]; [] = every row. */
static int carried(const found *f, const audit_record *rec, const json_t *d, audit_recipient *r)
{
    json_t *rows = json_object_get(d, "rows");
    if (!json_is_array(rows))
        return ecl_fail(f->err, ECL_E_INPUT, "audit entry %llu: read-start without detail.rows",
                        (unsigned long long)rec->seq);
    if (json_array_size(rows) == 0)
        return intersect(f, 0, UINT64_MAX, r) != 0 ? oom(f) : 0;
    size_t i;
    json_t *pair;
    json_array_foreach(rows, i, pair)
    {
        json_int_t b = json_integer_value(json_array_get(pair, 0));
        json_int_t e = json_integer_value(json_array_get(pair, 1));
        if (json_array_size(pair) != 2 || b < 0 || e <= b)
            return ecl_fail(f->err, ECL_E_INPUT,
                            "audit entry %llu: detail.rows[%zu] is not a [begin, end] pair",
                            (unsigned long long)rec->seq, i);
        if (intersect(f, (uint64_t)b, (uint64_t)e, r) != 0)
            return oom(f);
    }
    return 0;
}

static int keep(found *f, const audit_record *rec, const json_t *d, audit_recipient *one)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 8;
        audit_recipient *g = realloc(f->r, cap * sizeof(*g));
        if (g == NULL)
            return oom(f);
        f->r = g;
        f->cap = cap;
    }
    const char *via = json_string_value(json_object_get(d, "via"));
    copy(one->reader, rec->actor);
    trust_domain(rec->actor, one->home_site, sizeof(one->home_site));
    copy(one->read_id, rec->read_id);
    copy(one->via, via != NULL ? via : "");
    one->seq = rec->seq;
    one->time_ns = rec->time_ns;
    f->r[f->n++] = *one;
    return 0;
}

static int on_read(const audit_record *rec, void *arg)
{
    found *f = arg;
    audit_recipient one;
    memset(&one, 0, sizeof(one));
    json_t *d = json_loads(rec->detail_json, 0, NULL);
    int rc = d == NULL ? ecl_fail(f->err, ECL_E_INPUT, "audit entry %llu: detail does not parse",
                                  (unsigned long long)rec->seq)
                       : carried(f, rec, d, &one);
    int kept = 0;
    if (rc == 0 && one.n_rows > 0)
        kept = (rc = keep(f, rec, d, &one)) == 0;
    if (!kept)
        free(one.rows);
    json_decref(d);
    if (rc != 0) {
        f->failed = 1;
        return 1;
    }
    return 0;
}

int audit_recipients(audit_log *log, const char *dataset, const audit_row_range *ranges, size_t n,
                     audit_recipient **out, size_t *n_out, ecl_err *err)
{
    if (log == NULL || dataset == NULL || dataset[0] == '\0' || out == NULL || n_out == NULL ||
        (n > 0 && ranges == NULL))
        return ecl_fail(err, ECL_E_USAGE, "audit_recipients: NULL argument");
    for (size_t i = 0; i < n; i++)
        if (ranges[i].begin >= ranges[i].end || (i > 0 && ranges[i].begin <= ranges[i - 1].end))
            return ecl_fail(err, ECL_E_USAGE,
                            "audit_recipients: row ranges must be non-empty, ascending and "
                            "disjoint (range %zu)",
                            i);
    ecl_err local;
    found f = {ranges, n, NULL, 0, 0, err != NULL ? err : &local, 0};
    audit_filter filter;
    memset(&filter, 0, sizeof(filter));
    filter.dataset = dataset;
    filter.kind = AUDIT_KIND_READ_START;
    int rc = audit_query(log, &filter, on_read, &f, f.err);
    if (rc == 0 && f.failed)
        rc = -1;
    if (rc != 0) {
        audit_recipients_free(f.r, f.n);
        return -1;
    }
    *out = f.r;
    *n_out = f.n;
    return 0;
}

void audit_recipients_free(audit_recipient *r, size_t n)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(r[i].rows);
    free(r);
}
