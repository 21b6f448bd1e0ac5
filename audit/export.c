/* export.c - query results as JSON lines or CSV (audit.h). */
#include "audit/internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static void hex(const uint8_t *b, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[b[i] >> 4];
        out[2 * i + 1] = d[b[i] & 15];
    }
    out[2 * n] = '\0';
}

static void iso_time(int64_t ns, char *out, size_t cap)
{
    time_t s = (time_t)(ns / 1000000000);
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, cap - n, ".%09lldZ", (long long)(ns % 1000000000));
}

typedef struct xstate {
    FILE *out;
    int failed; /* 1 = write error, 2 = bad stored detail, 3 = out of memory */
    uint64_t seq;
    int csv;
} xstate;

/* The columns, in the order both formats use. */
static void columns(const audit_record *r, char *tbuf, size_t tcap, char ph[65], char h[65],
                    const char *v[AUDIT_CSV_COLUMNS + 1])
{
    iso_time(r->time_ns, tbuf, tcap);
    hex(r->prev_hash, AUDIT_HASH_BYTES, ph);
    hex(r->hash, AUDIT_HASH_BYTES, h);
    const char *c[AUDIT_CSV_COLUMNS + 1] = {NULL,
                                            NULL,
                                            tbuf,
                                            r->kind,
                                            r->actor,
                                            r->dataset,
                                            r->purpose,
                                            r->decision,
                                            r->lawful_basis,
                                            r->transfer_basis,
                                            r->job_country,
                                            r->grant_id,
                                            r->read_id,
                                            r->detail_json,
                                            ph,
                                            h,
                                            NULL};
    memcpy(v, c, sizeof(c));
}

static const char *const names[AUDIT_CSV_COLUMNS + 1] = {
    "seq",     "time_unix_ns", "time",         "kind",           "actor",       "dataset",
    "purpose", "decision",     "lawful_basis", "transfer_basis", "job_country", "grant_id",
    "read_id", "detail",       "prev_hash",    "hash",           NULL};

static int json_line(const audit_record *r, void *arg)
{
    xstate *x = arg;
    char t[64], ph[65], h[65];
    const char *v[AUDIT_CSV_COLUMNS + 1];
    columns(r, t, sizeof(t), ph, h, v);
    json_t *o = json_object();
    /* A field that cannot be set (out of memory) fails the export: a
     * record is never written with a field left out. */
    int lost = json_object_set_new(o, "seq", json_integer((json_int_t)r->seq)) != 0 ||
               json_object_set_new(o, "time_unix_ns", json_integer(r->time_ns)) != 0;
    for (unsigned i = 2; names[i]; i++) {
        if (i == 13) {
            json_t *d = json_loads(r->detail_json, 0, NULL);
            if (d == NULL) {
                json_decref(o);
                x->failed = 2;
                x->seq = r->seq;
                return 1;
            }
            lost |= json_object_set_new(o, "detail", d) != 0;
        } else {
            lost |= json_object_set_new(o, names[i], json_string(v[i])) != 0;
        }
    }
    /* Made whole in memory first: a line is written entirely or not at all. */
    char *line = lost ? NULL : json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (line == NULL)
        x->failed = 3;
    else if (fputs(line, x->out) == EOF || fputc('\n', x->out) == EOF)
        x->failed = 1;
    free(line);
    json_decref(o);
    return x->failed;
}

static int csv_field(FILE *f, const char *s, int last)
{
    int q = strpbrk(s, ",\"\r\n") != NULL;
    if (q && fputc('"', f) == EOF)
        return -1;
    for (; *s; s++) {
        if ((*s == '"' && q && fputc('"', f) == EOF) || fputc(*s, f) == EOF)
            return -1;
    }
    if (q && fputc('"', f) == EOF)
        return -1;
    return fputs(last ? "\r\n" : ",", f) == EOF ? -1 : 0;
}

static int csv_line(const audit_record *r, void *arg)
{
    xstate *x = arg;
    char t[64], ph[65], h[65], seq[24], tns[24];
    const char *v[AUDIT_CSV_COLUMNS + 1];
    columns(r, t, sizeof(t), ph, h, v);
    snprintf(seq, sizeof(seq), "%llu", (unsigned long long)r->seq);
    snprintf(tns, sizeof(tns), "%lld", (long long)r->time_ns);
    v[0] = seq;
    v[1] = tns;
    for (unsigned i = 0; names[i]; i++)
        if (csv_field(x->out, v[i], names[i + 1] == NULL) != 0) {
            x->failed = 1;
            return 1;
        }
    return 0;
}

static int run(audit_log *log, const audit_filter *f, FILE *out, int csv, ecl_err *err)
{
    if (out == NULL)
        return ecl_fail(err, ECL_E_USAGE, "audit export: NULL output");
    xstate x = {.out = out, .csv = csv};
    if (csv) {
        for (unsigned i = 0; names[i]; i++)
            if (csv_field(out, names[i], names[i + 1] == NULL) != 0)
                return ecl_fail(err, ECL_E_IO, "audit export: write failed");
    }
    if (audit_query(log, f, csv ? csv_line : json_line, &x, err) != 0)
        return -1;
    if (x.failed == 2)
        /* jansson reports memory running out as a syntax error: say both */
        return ecl_fail(err, ECL_E_INPUT,
                        "audit export: entry %llu: detail does not parse as JSON (a damaged "
                        "entry, or out of memory)",
                        (unsigned long long)x.seq);
    if (x.failed == 3)
        return ecl_fail(err, ECL_E_INTERNAL, "audit export: out of memory");
    if (x.failed || fflush(out) != 0 || ferror(out))
        return ecl_fail(err, ECL_E_IO, "audit export: write failed");
    return 0;
}

int audit_export_jsonl(audit_log *log, const audit_filter *filter, FILE *out, ecl_err *err)
{
    return run(log, filter, out, 0, err);
}

int audit_export_csv(audit_log *log, const audit_filter *filter, FILE *out, ecl_err *err)
{
    return run(log, filter, out, 1, err);
}
