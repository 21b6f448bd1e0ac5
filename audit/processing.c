/* processing.c - records of processing per dataset (audit.h), from the
 * read-start and read-end entries. */
#include "audit/internal.h"

#include <stdlib.h>
#include <string.h>

enum { G_DATASET, G_RECIPIENT, G_SITE, G_PURPOSE, G_LAWFUL, G_TRANSFER, G_COUNTRY, G_N };

typedef struct group {
    char *s[G_N];
    uint64_t reads, bytes;
    int64_t first_ns, last_ns;
} group;

typedef struct pstate {
    group *g;
    size_t n, cap;
    json_t *by_key;  /* composite key -> group index */
    json_t *by_read; /* read_id -> group index */
    int oom;
} pstate;

/* "spiffe://<site>/..." -> "<site>"; "" for anything else. */
static void spiffe_site(const char *id, char *out, size_t cap)
{
    const char *p = strncmp(id, "spiffe://", 9) == 0 ? id + 9 : NULL;
    size_t n = p ? strcspn(p, "/") : 0;
    if (n >= cap)
        n = 0;
    if (n)
        memcpy(out, p, n);
    out[n] = '\0';
}

static long find_or_add(pstate *st, const audit_record *r)
{
    char site[AUDIT_FIELD_MAX + 1];
    spiffe_site(r->actor, site, sizeof(site));
    const char *s[G_N] = {r->dataset,      r->actor,          site,          r->purpose,
                          r->lawful_basis, r->transfer_basis, r->job_country};
    size_t klen = 0;
    for (unsigned i = 0; i < G_N; i++)
        klen += strlen(s[i]) + 1;
    char *key = malloc(klen);
    if (key == NULL)
        return -1;
    size_t at = 0;
    for (unsigned i = 0; i < G_N; i++) {
        size_t n = strlen(s[i]);
        memcpy(key + at, s[i], n);
        at += n;
        key[at++] = i + 1 < G_N ? '\x1f' : '\0'; /* unit separator: never inside a field */
    }
    json_t *hit = json_object_get(st->by_key, key);
    if (hit) {
        free(key);
        return (long)json_integer_value(hit);
    }
    if (st->n == st->cap) {
        size_t cap = st->cap ? 2 * st->cap : 16;
        group *g = realloc(st->g, cap * sizeof(*g));
        if (g == NULL) {
            free(key);
            return -1;
        }
        st->g = g;
        st->cap = cap;
    }
    group *g = &st->g[st->n];
    memset(g, 0, sizeof(*g));
    for (unsigned i = 0; i < G_N; i++)
        if ((g->s[i] = strdup(s[i])) == NULL)
            st->oom = 1;
    g->first_ns = r->time_ns;
    if (json_object_set_new(st->by_key, key, json_integer((json_int_t)st->n)) != 0)
        st->oom = 1; /* the next record of this group would start another */
    free(key);
    return (long)st->n++;
}

static void touch(group *g, int64_t t)
{
    if (t < g->first_ns)
        g->first_ns = t;
    if (t > g->last_ns)
        g->last_ns = t;
}

static int on_record(const audit_record *r, void *arg)
{
    pstate *st = arg;
    int start = strcmp(r->kind, AUDIT_KIND_READ_START) == 0;
    int end = strcmp(r->kind, AUDIT_KIND_READ_END) == 0;
    if (!start && !end)
        return 0;
    json_t *known = end ? json_object_get(st->by_read, r->read_id) : NULL;
    long i = known ? (long)json_integer_value(known) : find_or_add(st, r);
    if (i < 0) {
        st->oom = 1;
        return 1;
    }
    group *g = &st->g[i];
    touch(g, r->time_ns);
    if (start) {
        g->reads++;
        if (json_object_set_new(st->by_read, r->read_id, json_integer(i)) != 0) {
            st->oom = 1;
            return 1;
        }
    } else {
        json_t *d = json_loads(r->detail_json, 0, NULL);
        if (d == NULL) {
            st->oom = 1; /* its bytes would go uncounted */
            return 1;
        }
        json_int_t b = json_integer_value(json_object_get(d, "bytes_sent"));
        g->bytes += b > 0 ? (uint64_t)b : 0;
        json_decref(d);
    }
    return 0;
}

int audit_processing_summary(audit_log *log, const char *dataset, audit_processing_fn fn, void *arg,
                             ecl_err *err)
{
    if (log == NULL || fn == NULL)
        return ecl_fail(err, ECL_E_USAGE, "audit_processing_summary: NULL argument");
    pstate st = {.by_key = json_object(), .by_read = json_object()};
    audit_filter f;
    memset(&f, 0, sizeof(f));
    f.dataset = dataset;
    int rc =
        st.by_key != NULL && st.by_read != NULL ? audit_query(log, &f, on_record, &st, err) : 0;
    if (rc == 0 && (st.oom || st.by_key == NULL || st.by_read == NULL))
        rc = ecl_fail(err, ECL_E_INTERNAL,
                      "audit processing summary: out of memory (or a read-end entry whose detail "
                      "does not parse)");
    for (size_t i = 0; i < st.n; i++) {
        group *g = &st.g[i];
        audit_processing p = {g->s[G_DATASET], g->s[G_RECIPIENT], g->s[G_SITE],    g->s[G_PURPOSE],
                              g->s[G_LAWFUL],  g->s[G_TRANSFER],  g->s[G_COUNTRY], g->reads,
                              g->bytes,        g->first_ns,       g->last_ns};
        if (rc == 0 && fn(&p, arg) != 0)
            rc = 1; /* stop handing on, keep freeing */
        for (unsigned j = 0; j < G_N; j++)
            free(g->s[j]);
    }
    free(st.g);
    json_decref(st.by_key);
    json_decref(st.by_read);
    return rc > 0 ? 0 : rc;
}
