#include "store/plan.h"

#include <stdlib.h>
#include <string.h>

typedef struct ptensor {
    store_plan_tensor pub;
    const unsigned char *base; /* row 0 of the source tensor */
    uint64_t row_bytes;        /* bytes per row; the whole tensor when rows do not apply */
} ptensor;

typedef struct range {
    uint64_t b, e;
} range;

struct store_plan {
    store_dataset *ds;
    ptensor *t;
    size_t nt;
    int has_rows;
    uint64_t rows;
    uint64_t wb, ce; /* source rows [wb, ce) minus w[] are the selection */
    range *w;        /* withdrawn rows inside [wb, ce), ascending, disjoint */
    size_t nw;
    uint64_t total;
    size_t chunk;
    /* cursor */
    size_t cur_t, cur_seg;
    uint64_t seg_pos, toff, soff;
};

/* Segment k (0..nw) of kept rows: between withdrawn ranges k-1 and k. */
static void seg_bounds(const store_plan *p, size_t k, uint64_t *b, uint64_t *e)
{
    *b = k == 0 ? p->wb : p->w[k - 1].e;
    *e = k < p->nw ? p->w[k].b : p->ce;
}

static int pick_tensors(store_plan *p, const store_plan_opts *o, ecl_err *err)
{
    size_t n = o->n_tensors ? o->n_tensors : store_tensor_count(p->ds);
    p->t = calloc(n ? n : 1, sizeof(*p->t));
    if (p->t == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        size_t src = i;
        if (o->n_tensors && store_tensor_find(p->ds, o->tensors[i], &src, err) != 0)
            return -1;
        for (size_t j = 0; j < i; j++)
            if (p->t[j].pub.source == src)
                return ecl_fail(err, ECL_E_USAGE, "tensor '%s' asked twice", o->tensors[i]);
        const store_tensor *st = store_tensor_at(p->ds, src);
        p->t[i].pub.name = st->name;
        p->t[i].pub.source = src;
        p->t[i].pub.dtype = st->dtype;
        p->t[i].pub.ndim = st->ndim;
        memcpy(p->t[i].pub.shape, st->shape, sizeof(st->shape));
        p->t[i].base = st->data;
        p->nt++;
    }
    return 0;
}

/* Whether every selected tensor has the same shape[0]; names two that differ. */
static int uniform_rows(const store_plan *p, uint64_t *rows, const char **a, const char **b)
{
    *rows = 0;
    for (size_t i = 0; i < p->nt; i++) {
        const store_plan_tensor *t = &p->t[i].pub;
        if (t->ndim == 0 || t->shape[0] != p->t[0].pub.shape[0] || p->t[0].pub.ndim == 0) {
            *a = p->t[0].pub.name;
            *b = t->name;
            return 0;
        }
    }
    if (p->nt > 0)
        *rows = p->t[0].pub.shape[0];
    return 1;
}

static int base_window(store_plan *p, const store_plan_opts *o, uint64_t rows, uint64_t *we,
                       ecl_err *err)
{
    if (o->rows == STORE_ROWS_ALL) {
        p->wb = 0, *we = rows;
    } else if (o->rows == STORE_ROWS_RANGE) {
        uint64_t e = o->row_end == 0 ? rows : o->row_end;
        if (o->row_begin > e || e > rows)
            return ecl_fail(err, ECL_E_USAGE, "row range [%llu, %llu) is outside the %llu rows",
                            (unsigned long long)o->row_begin, (unsigned long long)e,
                            (unsigned long long)rows);
        p->wb = o->row_begin, *we = e;
    } else if (o->rows == STORE_ROWS_SHARD) {
        uint64_t n = o->shard_count, k = o->shard_index;
        if (n == 0 || k >= n)
            return ecl_fail(err, ECL_E_USAGE, "shard %llu of %llu: need 0 <= index < count",
                            (unsigned long long)k, (unsigned long long)n);
        uint64_t q = rows / n, r = rows % n;
        p->wb = k * q + (k < r ? k : r);
        *we = (k + 1) * q + (k + 1 < r ? k + 1 : r);
    } else {
        return ecl_fail(err, ECL_E_USAGE, "unknown row selection kind %d", (int)o->rows);
    }
    return 0;
}

/* Where the first max_rows kept rows of [wb, we) end. */
static uint64_t cap_end(const store_plan *p, const store_rowset *wd, uint64_t we, uint64_t max)
{
    if (max == 0)
        return we;
    uint64_t kept = 0, at = p->wb;
    size_t n = wd ? store_rowset_range_count(wd) : 0;
    for (size_t i = wd ? store_rowset_lower_bound(wd, p->wb) : 0; i < n; i++) {
        uint64_t b, e;
        store_rowset_range(wd, i, &b, &e);
        if (b >= we)
            break;
        if (b > at) {
            if (b - at >= max - kept)
                return at + (max - kept);
            kept += b - at;
        }
        at = e > at ? e : at;
    }
    if (at < we && we - at > max - kept)
        return at + (max - kept);
    return we;
}

static int copy_withdrawn(store_plan *p, const store_rowset *wd, ecl_err *err)
{
    if (wd == NULL || p->ce <= p->wb)
        return 0;
    size_t first = store_rowset_lower_bound(wd, p->wb), n = store_rowset_range_count(wd);
    size_t last = first;
    uint64_t b, e;
    while (last < n && (store_rowset_range(wd, last, &b, &e), b < p->ce))
        last++;
    if (last == first)
        return 0;
    p->w = malloc((last - first) * sizeof(*p->w));
    if (p->w == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    for (size_t i = first; i < last; i++) {
        store_rowset_range(wd, i, &b, &e);
        p->w[p->nw++] = (range){b > p->wb ? b : p->wb, e < p->ce ? e : p->ce};
    }
    return 0;
}

static int select_rows(store_plan *p, const store_plan_opts *o, ecl_err *err)
{
    uint64_t rows;
    const char *a = NULL, *b = NULL;
    int uniform = uniform_rows(p, &rows, &a, &b);
    int wants_rows = o->rows != STORE_ROWS_ALL || o->max_rows != 0 ||
                     (o->withdrawn && store_rowset_range_count(o->withdrawn) > 0);
    if (!uniform && wants_rows)
        return ecl_fail(err, ECL_E_USAGE,
                        "a row selection needs tensors with the same row count (shape[0]): "
                        "'%s' and '%s' differ",
                        a, b);
    if (!uniform || p->nt == 0) {
        /* Sent whole: one "row" per tensor. */
        p->wb = 0, p->ce = 1;
        for (size_t i = 0; i < p->nt; i++) {
            p->t[i].row_bytes = store_tensor_at(p->ds, p->t[i].pub.source)->byte_size;
            p->t[i].pub.byte_size = p->t[i].row_bytes;
        }
        return 0;
    }
    uint64_t we = 0;
    if (base_window(p, o, rows, &we, err) != 0)
        return -1;
    p->ce = cap_end(p, o->withdrawn, we, o->max_rows);
    if (copy_withdrawn(p, o->withdrawn, err) != 0)
        return -1;
    p->has_rows = 1;
    p->rows = p->ce - p->wb;
    for (size_t i = 0; i < p->nw; i++)
        p->rows -= p->w[i].e - p->w[i].b;
    for (size_t i = 0; i < p->nt; i++) {
        ptensor *t = &p->t[i];
        uint64_t full = store_tensor_at(p->ds, t->pub.source)->byte_size;
        t->row_bytes = rows ? full / rows : 0;
        t->pub.shape[0] = p->rows;
        t->pub.byte_size = p->rows * t->row_bytes;
    }
    return 0;
}

/* Put the cursor on stream byte x (< total). */
static void seek(store_plan *p, uint64_t x)
{
    size_t i = 0;
    while (x >= p->t[i].pub.stream_offset + p->t[i].pub.byte_size)
        i++;
    const ptensor *t = &p->t[i];
    uint64_t local = x - t->pub.stream_offset;
    uint64_t r = local / t->row_bytes;
    for (size_t k = 0; k <= p->nw; k++) {
        uint64_t b, e;
        seg_bounds(p, k, &b, &e);
        if (r < e - b) {
            p->cur_seg = k;
            p->seg_pos = r * t->row_bytes + local % t->row_bytes;
            break;
        }
        r -= e - b;
    }
    p->cur_t = i;
    p->toff = local;
    p->soff = x;
}

int store_plan_new(store_dataset *ds, const store_plan_opts *o, store_plan **out, ecl_err *err)
{
    if (o->chunk_bytes == 0)
        return ecl_fail(err, ECL_E_USAGE, "chunk size must be at least 1 byte");
    store_plan *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    p->ds = store_ref(ds);
    p->chunk = o->chunk_bytes;
    if (pick_tensors(p, o, err) != 0 || select_rows(p, o, err) != 0) {
        store_plan_free(p);
        return -1;
    }
    for (size_t i = 0; i < p->nt; i++) {
        p->t[i].pub.stream_offset = p->total;
        p->total += p->t[i].pub.byte_size;
    }
    if (o->resume_offset > p->total) {
        ecl_fail(err, ECL_E_USAGE, "resume offset %llu is beyond the %llu bytes of the selection",
                 (unsigned long long)o->resume_offset, (unsigned long long)p->total);
        store_plan_free(p);
        return -1;
    }
    if (o->resume_offset == p->total)
        p->cur_t = p->nt, p->soff = p->total;
    else
        seek(p, o->resume_offset);
    *out = p;
    return 0;
}

void store_plan_free(store_plan *p)
{
    if (p == NULL)
        return;
    store_unref(p->ds);
    free(p->t);
    free(p->w);
    free(p);
}

size_t store_plan_tensor_count(const store_plan *p)
{
    return p->nt;
}

const store_plan_tensor *store_plan_tensor_at(const store_plan *p, size_t i)
{
    return i < p->nt ? &p->t[i].pub : NULL;
}

uint64_t store_plan_total_bytes(const store_plan *p)
{
    return p->total;
}

int store_plan_has_rows(const store_plan *p)
{
    return p->has_rows;
}

uint64_t store_plan_rows(const store_plan *p)
{
    return p->rows;
}

static void next_tensor(store_plan *p)
{
    p->cur_t++;
    p->cur_seg = 0;
    p->seg_pos = 0;
    p->toff = 0;
}

int store_plan_next(store_plan *p, store_chunk *c)
{
    while (p->cur_t < p->nt) {
        const ptensor *t = &p->t[p->cur_t];
        if (t->pub.byte_size == 0 || p->cur_seg > p->nw) {
            next_tensor(p);
            continue;
        }
        uint64_t b, e;
        seg_bounds(p, p->cur_seg, &b, &e);
        uint64_t seg_len = (e - b) * t->row_bytes;
        if (p->seg_pos >= seg_len) {
            p->cur_seg++;
            p->seg_pos = 0;
            continue;
        }
        uint64_t left = seg_len - p->seg_pos;
        c->tensor = (uint32_t)p->cur_t;
        c->offset = p->toff;
        c->stream_offset = p->soff;
        c->source_offset = b * t->row_bytes + p->seg_pos;
        c->data = t->base + c->source_offset;
        c->len = left < p->chunk ? (size_t)left : p->chunk;
        p->seg_pos += c->len;
        p->toff += c->len;
        p->soff += c->len;
        return 1;
    }
    return 0;
}

int store_plan_row_range(const store_plan *p, size_t *cursor, uint64_t *begin, uint64_t *end)
{
    if (!p->has_rows)
        return 0;
    while (*cursor <= p->nw) {
        seg_bounds(p, (*cursor)++, begin, end);
        if (*end > *begin)
            return 1;
    }
    return 0;
}
