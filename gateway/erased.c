/* erased.c - the rows withdrawn from this site's datasets under GDPR
 * Art. 17, read from the trail.
 *
 * The trail is the storage: a dataset's withdrawn rows are the union of
 * detail.rows of its erasure entries with decision "permit", and its
 * version in the catalog is one more than their number. An erasure and its
 * audit entry are then one LMDB commit, both or neither, whatever crashes
 * (docs/policy.md, "Erasure"). The sets are cached per dataset on first use;
 * only svc_erase.c changes them, under erase_lock, after its entry commits. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "gateway/gateway.h"

struct erased_set {
    char id[ECL_SITE_ID_MAX + ECL_NAME_MAX + 1];
    store_rowset *rows;
    uint64_t erasures;
};

/* The sets loaded so far, sorted by id: signing the catalog looks up every
 * dataset, and a site may hold 100000 of them. */
struct erased_index {
    struct erased_set **sets;
    size_t n, cap;
};

/* Where `id` is, or would go, in the index. */
static size_t index_position(const struct erased_index *x, const char *id)
{
    size_t lo = 0, hi = x != NULL ? x->n : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(x->sets[mid]->id, id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static struct erased_set *index_find(const gateway *gw, const char *id)
{
    size_t at = index_position(gw->erased, id);
    return gw->erased != NULL && at < gw->erased->n && strcmp(gw->erased->sets[at]->id, id) == 0
               ? gw->erased->sets[at]
               : NULL;
}

static int index_insert(gateway *gw, struct erased_set *s, ecl_err *err)
{
    if (gw->erased == NULL && (gw->erased = calloc(1, sizeof(*gw->erased))) == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    struct erased_index *x = gw->erased;
    if (x->n == x->cap) {
        size_t cap = x->cap ? 2 * x->cap : 64;
        struct erased_set **grown = realloc(x->sets, cap * sizeof(*grown));
        if (grown == NULL)
            return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
        x->sets = grown;
        x->cap = cap;
    }
    size_t at = index_position(x, s->id);
    memmove(&x->sets[at + 1], &x->sets[at], (x->n - at) * sizeof(*x->sets));
    x->sets[at] = s;
    x->n++;
    return 0;
}

typedef struct loader {
    store_rowset *rows;
    uint64_t erasures;
    ecl_err *err;
    int failed;
} loader;

/* detail.rows of an erasure entry into rs. */
static int add_rows(store_rowset *rs, const char *detail_json, uint64_t seq, ecl_err *err)
{
    json_t *d = json_loads(detail_json, 0, NULL);
    json_t *rows = d != NULL ? json_object_get(d, "rows") : NULL;
    int rc = json_is_array(rows) ? 0 : -1;
    size_t i;
    json_t *pair;
    json_array_foreach(rows, i, pair)
    {
        json_int_t b = json_integer_value(json_array_get(pair, 0));
        json_int_t e = json_integer_value(json_array_get(pair, 1));
        if (rc != 0 || json_array_size(pair) != 2 || b < 0 || e <= b) {
            rc = -1;
            break;
        }
        if (store_rowset_add(rs, (uint64_t)b, (uint64_t)e, err) != 0) {
            json_decref(d);
            return -1;
        }
    }
    json_decref(d);
    return rc == 0 ? 0
                   : ecl_fail(err, ECL_E_INPUT,
                              "audit entry %llu: an erasure whose detail.rows is not a list of "
                              "[begin, end] pairs (run ecluse audit verify)",
                              (unsigned long long)seq);
}

static int on_erasure(const audit_record *rec, void *arg)
{
    loader *l = arg;
    if (add_rows(l->rows, rec->detail_json, rec->seq, l->err) != 0) {
        l->failed = 1;
        return 1;
    }
    l->erasures++;
    return 0;
}

/* An earlier version read <name>.withdrawn.json, edited by hand. Its rows
 * not yet erased are put on the trail once, as an erasure by this gateway,
 * and the file is renamed so that it is not read again. A file that does
 * not parse stops the reads of the dataset (fail closed). */
static int import_legacy(gateway *gw, const char *id, loader *l, ecl_err *err)
{
    char path[PATH_MAX + 96], done[PATH_MAX + 128];
    snprintf(path, sizeof(path), "%s/datasets/%s.withdrawn.json", gw->cfg.data_dir,
             strchr(id, '/') + 1);
    store_rowset *old = NULL, *fresh = NULL;
    if (store_rowset_load(path, &old, err) != 0)
        return err->code == ECL_E_NOT_FOUND ? 0 : ecl_err_prefix(err, "withdrawn rows of '%s'", id);
    int rc = store_rowset_new(&fresh, err);
    json_t *rows = json_array();
    for (size_t i = 0; rc == 0 && i < store_rowset_range_count(old); i++) {
        uint64_t b, e;
        store_rowset_range(old, i, &b, &e);
        /* The rows of [b, e) not yet withdrawn, run by run. */
        for (uint64_t r = b; rc == 0 && r < e;) {
            size_t k = store_rowset_lower_bound(l->rows, r);
            uint64_t kb = e, ke = e;
            if (k < store_rowset_range_count(l->rows))
                store_rowset_range(l->rows, k, &kb, &ke);
            if (kb <= r) {
                r = ke;
                continue;
            }
            uint64_t stop = kb < e ? kb : e;
            rc = store_rowset_add(fresh, r, stop, err);
            json_array_append_new(rows, json_pack("[II]", (json_int_t)r, (json_int_t)stop));
            r = stop;
        }
    }
    if (rc == 0 && store_rowset_rows(fresh) > 0) {
        json_t *detail =
            json_pack("{s:O,s:s,s:s,s:I}", "rows", rows, "reason",
                      "rows of the hand-edited file of earlier versions, no longer read",
                      "imported_from", path, "version", (json_int_t)(l->erasures + 2));
        audit_entry e = {0};
        e.kind = AUDIT_KIND_ERASURE;
        e.actor = gw->spiffe;
        e.dataset = id;
        e.decision = "permit";
        rc = detail == NULL ? ecl_fail(err, ECL_E_INTERNAL, "out of memory")
                            : gateway_record_entry(gw, &e, detail, NULL, err);
        for (size_t i = 0; rc == 0 && i < store_rowset_range_count(fresh); i++) {
            uint64_t b, e2;
            store_rowset_range(fresh, i, &b, &e2);
            rc = store_rowset_add(l->rows, b, e2, err);
        }
        if (rc == 0) {
            l->erasures++;
            gw->erasures_total++; /* counted only once known: see gateway_erasures_total */
        }
    }
    snprintf(done, sizeof(done), "%s.imported", path);
    if (rc == 0 && rename(path, done) != 0)
        ecl_log(ECL_LOG_WARN, "erasure.legacy_not_renamed", "file", path, "effect",
                "it is read again at the next start; its rows are already on the trail", NULL);
    else if (rc == 0)
        ecl_log(ECL_LOG_INFO, "erasure.legacy_imported", "dataset", id, "file", path, "now", done,
                NULL);
    json_decref(rows);
    store_rowset_free(old);
    store_rowset_free(fresh);
    return rc;
}

static int load(gateway *gw, const char *id, struct erased_set **out, ecl_err *err)
{
    struct erased_set *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    snprintf(s->id, sizeof(s->id), "%s", id);
    loader l = {NULL, 0, err, 0};
    audit_filter f;
    memset(&f, 0, sizeof(f));
    f.dataset = id;
    f.kind = AUDIT_KIND_ERASURE;
    f.decision = "permit";
    int rc = store_rowset_new(&l.rows, err);
    if (rc == 0)
        rc = audit_query(gw->audit, &f, on_erasure, &l, err);
    if (rc == 0 && l.failed)
        rc = -1;
    if (rc == 0)
        rc = import_legacy(gw, id, &l, err);
    if (rc != 0) {
        store_rowset_free(l.rows);
        free(s);
        return -1;
    }
    s->rows = l.rows;
    s->erasures = l.erasures;
    if (index_insert(gw, s, err) != 0) {
        store_rowset_free(s->rows);
        free(s);
        return -1;
    }
    *out = s;
    return 0;
}

int gateway_erased_lock(gateway *gw, const char *id, struct erased_set **out, ecl_err *err)
{
    pthread_mutex_lock(&gw->erase_lock);
    struct erased_set *found = index_find(gw, id);
    if (found != NULL) {
        *out = found;
        return 0;
    }
    if (load(gw, id, out, err) != 0) {
        pthread_mutex_unlock(&gw->erase_lock);
        return -1;
    }
    return 0;
}

void gateway_erased_unlock(gateway *gw)
{
    pthread_mutex_unlock(&gw->erase_lock);
}

const store_rowset *gateway_erased_rows(const struct erased_set *s)
{
    return s->rows;
}

uint64_t gateway_erased_count(const struct erased_set *s)
{
    return s->erasures;
}

/* Forget s: the next use loads it from the trail again. */
static void forget(gateway *gw, struct erased_set *s)
{
    struct erased_index *x = gw->erased;
    size_t at = index_position(x, s->id);
    if (x != NULL && at < x->n && x->sets[at] == s) {
        memmove(&x->sets[at], &x->sets[at + 1], (x->n - at - 1) * sizeof(*x->sets));
        x->n--;
    }
    store_rowset_free(s->rows);
    free(s);
}

void gateway_erased_add(gateway *gw, struct erased_set *s, const store_rowset *rows)
{
    ecl_err err;
    int ok = 1;
    for (size_t i = 0; ok && i < store_rowset_range_count(rows); i++) {
        uint64_t b, e;
        store_rowset_range(rows, i, &b, &e);
        ok = store_rowset_add(s->rows, b, e, &err) == 0;
    }
    gw->erasures_total++;
    if (ok)
        s->erasures++;
    else
        forget(gw, s); /* the trail has the erasure; a set without it must not serve */
    atomic_fetch_add(&gw->erase_generation, 1);
}

int gateway_erased(gateway *gw, const char *id, store_rowset **rows, uint64_t *erasures,
                   ecl_err *err)
{
    struct erased_set *s = NULL;
    if (gateway_erased_lock(gw, id, &s, err) != 0)
        return -1;
    int rc = 0;
    if (rows != NULL) {
        *rows = NULL;
        rc = store_rowset_new(rows, err);
        for (size_t i = 0; rc == 0 && i < store_rowset_range_count(s->rows); i++) {
            uint64_t b, e;
            store_rowset_range(s->rows, i, &b, &e);
            rc = store_rowset_add(*rows, b, e, err);
        }
        if (rc != 0) {
            store_rowset_free(*rows);
            *rows = NULL;
        }
    }
    if (erasures != NULL)
        *erasures = s->erasures;
    gateway_erased_unlock(gw);
    return rc;
}

static int count_one(const audit_record *rec, void *arg)
{
    (void)rec;
    (*(uint64_t *)arg)++;
    return 0;
}

int gateway_erasures_total(gateway *gw, uint64_t *n, ecl_err *err)
{
    pthread_mutex_lock(&gw->erase_lock);
    int rc = 0;
    if (!gw->erasures_known) {
        audit_filter f;
        memset(&f, 0, sizeof(f));
        f.kind = AUDIT_KIND_ERASURE;
        f.decision = "permit";
        uint64_t count = 0;
        rc = audit_query(gw->audit, &f, count_one, &count, err);
        if (rc == 0) {
            gw->erasures_total = count;
            gw->erasures_known = 1;
        }
    }
    *n = gw->erasures_total;
    pthread_mutex_unlock(&gw->erase_lock);
    return rc;
}

void gateway_erased_free(gateway *gw)
{
    struct erased_index *x = gw->erased;
    for (size_t i = 0; x != NULL && i < x->n; i++) {
        store_rowset_free(x->sets[i]->rows);
        free(x->sets[i]);
    }
    if (x != NULL)
        free(x->sets);
    free(x);
    gw->erased = NULL;
}
