/* Read plans, checked against a brute-force model of the stream. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/plan.h"
#include "store/writer.h"
#include "tests/store/testutil.h"

#define R 37

static char dir[PATH_MAX];
static store_dataset *ds;     /* x F32 [R,3], y I64 [R], z U8 [R,5] */
static store_dataset *ragged; /* a U16 [4,2], b F32 [3], s F64 scalar */

static int setup(void **state)
{
    (void)state;
    static float x[R][3];
    static int64_t y[R];
    static unsigned char z[R][5];
    for (int r = 0; r < R; r++) {
        for (int c = 0; c < 3; c++)
            x[r][c] = (float)(r * 10 + c);
        y[r] = (int64_t)r * 1000 + 7;
        for (int k = 0; k < 5; k++)
            z[r][k] = (unsigned char)(r * 5 + k);
    }
    ecl_err err;
    store_writer *w;
    char path[PATH_MAX];
    tu_tmpdir(dir, sizeof(dir));
    uint64_t sx[2] = {R, 3}, sy[1] = {R}, sz[2] = {R, 5};
    TU_OK(store_writer_new(&w, &err), &err);
    TU_OK(store_writer_add(w, "x", STORE_DT_F32, 2, sx, x, sizeof(x), &err), &err);
    TU_OK(store_writer_add(w, "y", STORE_DT_I64, 1, sy, y, sizeof(y), &err), &err);
    TU_OK(store_writer_add(w, "z", STORE_DT_U8, 2, sz, z, sizeof(z), &err), &err);
    TU_OK(store_writer_write(w, tu_path(path, sizeof(path), dir, "d.safetensors"), &err), &err);
    store_writer_free(w);
    TU_OK(store_open(path, &ds, &err), &err);

    static uint16_t a[4][2] = {{1, 2}, {3, 4}, {5, 6}, {7, 8}};
    static float b[3] = {1.5f, 2.5f, 3.5f};
    static double s = 2.0;
    uint64_t sa[2] = {4, 2}, sb[1] = {3};
    TU_OK(store_writer_new(&w, &err), &err);
    TU_OK(store_writer_add(w, "a", STORE_DT_U16, 2, sa, a, sizeof(a), &err), &err);
    TU_OK(store_writer_add(w, "b", STORE_DT_F32, 1, sb, b, sizeof(b), &err), &err);
    TU_OK(store_writer_add(w, "s", STORE_DT_F64, 0, NULL, &s, 8, &err), &err);
    TU_OK(store_writer_write(w, tu_path(path, sizeof(path), dir, "r.safetensors"), &err), &err);
    store_writer_free(w);
    TU_OK(store_open(path, &ragged, &err), &err);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    store_unref(ds);
    store_unref(ragged);
    return 0;
}

/* The model: which source rows a selection sends, computed row by row. */
static size_t model_rows(const store_plan_opts *o, const unsigned char *withdrawn, uint64_t *rows)
{
    uint64_t b = 0, e = R;
    if (o->rows == STORE_ROWS_RANGE) {
        b = o->row_begin;
        e = o->row_end ? o->row_end : R;
    } else if (o->rows == STORE_ROWS_SHARD) {
        /* Shard k: the rows r with floor-balanced assignment, computed
         * differently from the library: row r goes to the shard whose
         * begin is the largest <= r. */
        uint64_t n = o->shard_count, k = o->shard_index;
        uint64_t q = R / n, rem = R % n;
        uint64_t begin = 0;
        for (uint64_t i = 0; i < k; i++)
            begin += q + (i < rem);
        b = begin;
        e = begin + q + (k < rem);
    }
    size_t n = 0;
    for (uint64_t r = b; r < e; r++) {
        if (withdrawn && withdrawn[r])
            continue;
        if (o->max_rows && n == o->max_rows)
            break;
        rows[n++] = r;
    }
    return n;
}

static size_t model_stream(const store_plan_opts *o, const unsigned char *withdrawn,
                           unsigned char *out, uint64_t *rows, size_t *nrows)
{
    const char *all[] = {"x", "y", "z"};
    const char *const *names = o->n_tensors ? o->tensors : all;
    size_t nt = o->n_tensors ? o->n_tensors : 3;
    *nrows = model_rows(o, withdrawn, rows);
    size_t len = 0;
    for (size_t i = 0; i < nt; i++) {
        size_t idx;
        ecl_err err;
        TU_OK(store_tensor_find(ds, names[i], &idx, &err), &err);
        const store_tensor *t = store_tensor_at(ds, idx);
        uint64_t rb = t->byte_size / R;
        for (size_t j = 0; j < *nrows; j++) {
            memcpy(out + len, t->data + rows[j] * rb, rb);
            len += rb;
        }
    }
    return len;
}

/* Run the plan from `resume` and compare every chunk with the model. */
static void run_and_compare(const store_plan_opts *o, const unsigned char *expect, size_t total)
{
    ecl_err err;
    store_plan *p;
    TU_OK(store_plan_new(ds, o, &p, &err), &err);
    assert_int_equal(store_plan_total_bytes(p), total);
    uint64_t at = o->resume_offset;
    store_chunk c;
    uint32_t last_tensor = 0;
    while (store_plan_next(p, &c)) {
        assert_true(c.len >= 1 && c.len <= o->chunk_bytes);
        assert_int_equal(c.stream_offset, at);
        const store_plan_tensor *pt = store_plan_tensor_at(p, c.tensor);
        assert_non_null(pt);
        assert_true(c.tensor >= last_tensor);
        last_tensor = c.tensor;
        /* Inside one tensor, both in the stream and in the map. */
        assert_int_equal(pt->stream_offset + c.offset, c.stream_offset);
        assert_true(c.offset + c.len <= pt->byte_size);
        const store_tensor *src = store_tensor_at(ds, pt->source);
        assert_true(c.data >= src->data && c.data + c.len <= src->data + src->byte_size);
        assert_true(at + c.len <= total);
        assert_memory_equal(c.data, expect + at, c.len);
        at += c.len;
    }
    assert_int_equal(at, total);
    assert_int_equal(store_plan_next(p, &c), 0); /* stays at the end */
    store_plan_free(p);
}

/* Check the plan for `o` against the model: chunks, shapes, row ranges, and
 * resumption from every offset (or a stride of them). */
static void check(store_plan_opts o, const unsigned char *withdrawn, size_t stride)
{
    static unsigned char expect[R * 64];
    uint64_t rows[R];
    size_t nrows;
    size_t total = model_stream(&o, withdrawn, expect, rows, &nrows);
    ecl_err err;
    store_plan *p;
    TU_OK(store_plan_new(ds, &o, &p, &err), &err);
    assert_true(store_plan_has_rows(p));
    assert_int_equal(store_plan_rows(p), nrows);
    for (size_t i = 0; i < store_plan_tensor_count(p); i++) {
        const store_plan_tensor *t = store_plan_tensor_at(p, i);
        const store_tensor *src = store_tensor_at(ds, t->source);
        assert_int_equal(t->shape[0], nrows);
        assert_int_equal(t->ndim, src->ndim);
        if (t->ndim > 1)
            assert_int_equal(t->shape[1], src->shape[1]);
        assert_int_equal(t->byte_size, nrows * (src->byte_size / R));
    }
    /* Row ranges: ascending, disjoint, exactly the model's rows. */
    size_t cur = 0, j = 0;
    uint64_t b, e, prev_end = 0;
    int first = 1;
    while (store_plan_row_range(p, &cur, &b, &e)) {
        assert_true(b < e);
        assert_true(first || b > prev_end);
        first = 0;
        prev_end = e;
        for (uint64_t r = b; r < e; r++) {
            assert_true(j < nrows);
            assert_int_equal(r, rows[j++]);
        }
    }
    assert_int_equal(j, nrows);
    store_plan_free(p);
    for (uint64_t x = 0; x <= total; x += stride) {
        o.resume_offset = x;
        run_and_compare(&o, expect, total);
    }
    o.resume_offset = total;
    run_and_compare(&o, expect, total);
}

static store_plan_opts opts(size_t chunk)
{
    store_plan_opts o;
    memset(&o, 0, sizeof(o));
    o.chunk_bytes = chunk;
    return o;
}

static void test_whole_dataset(void **state)
{
    (void)state;
    const size_t chunks[] = {1, 3, 7, 12, 40, 64, 1000000};
    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++)
        check(opts(chunks[i]), NULL, chunks[i] == 1 ? 1 : 13);
    /* One chunk per tensor when the chunk is larger than the data. */
    ecl_err err;
    store_plan *p;
    store_plan_opts o = opts(1 << 20);
    TU_OK(store_plan_new(ds, &o, &p, &err), &err);
    store_chunk c;
    size_t n = 0;
    while (store_plan_next(p, &c))
        assert_int_equal(c.len, store_tensor_at(ds, n++)->byte_size);
    assert_int_equal(n, 3);
    assert_int_equal(store_plan_total_bytes(p), R * (12 + 8 + 5));
    store_plan_free(p);
}

static void test_row_ranges(void **state)
{
    (void)state;
    const uint64_t ranges[][2] = {{0, R}, {5, 9}, {36, 37}, {10, 10}, {30, 0}, {0, 1}, {0, 0}};
    for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
        store_plan_opts o = opts(5);
        o.rows = STORE_ROWS_RANGE;
        o.row_begin = ranges[i][0];
        o.row_end = ranges[i][1];
        check(o, NULL, 1);
    }
}

static void test_shards(void **state)
{
    (void)state;
    for (uint32_t n = 1; n <= R + 5; n++) {
        unsigned char seen[R] = {0};
        uint64_t next = 0; /* shards are consecutive blocks */
        for (uint32_t k = 0; k < n; k++) {
            store_plan_opts o = opts(9);
            o.rows = STORE_ROWS_SHARD;
            o.shard_index = k;
            o.shard_count = n;
            ecl_err err;
            store_plan *p;
            TU_OK(store_plan_new(ds, &o, &p, &err), &err);
            uint64_t rows = store_plan_rows(p);
            assert_true(rows == R / n || rows == R / n + 1);
            size_t cur = 0;
            uint64_t b, e;
            while (store_plan_row_range(p, &cur, &b, &e)) {
                assert_int_equal(b, next);
                for (uint64_t r = b; r < e; r++) {
                    assert_int_equal(seen[r], 0); /* no overlap */
                    seen[r] = 1;
                }
                next = e;
            }
            store_plan_free(p);
            if (n <= 8 || n == R || n == R + 5)
                check(o, NULL, 7);
        }
        for (int r = 0; r < R; r++)
            assert_int_equal(seen[r], 1); /* union is everything */
    }
}

static void test_withdrawn_rows(void **state)
{
    (void)state;
    ecl_err err;
    store_rowset *ws;
    TU_OK(store_rowset_new(&ws, &err), &err);
    TU_OK(store_rowset_add(ws, 0, 2, &err), &err);
    TU_OK(store_rowset_add(ws, 5, 9, &err), &err);
    TU_OK(store_rowset_add(ws, 20, 21, &err), &err);
    TU_OK(store_rowset_add(ws, 35, 100, &err), &err); /* past the end: harmless */
    unsigned char w[R] = {0};
    for (int r = 0; r < R; r++)
        w[r] = (unsigned char)store_rowset_contains(ws, (uint64_t)r);

    store_plan_opts o = opts(7);
    o.withdrawn = ws;
    check(o, w, 1);
    for (uint32_t n = 1; n <= 6; n++)
        for (uint32_t k = 0; k < n; k++) {
            o.rows = STORE_ROWS_SHARD;
            o.shard_index = k;
            o.shard_count = n;
            check(o, w, 3);
        }
    o.rows = STORE_ROWS_RANGE;
    o.row_begin = 4;
    o.row_end = 22;
    check(o, w, 1);
    const uint64_t maxes[] = {1, 2, 3, 10, 24, 31, 100};
    for (size_t i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++) {
        o.rows = STORE_ROWS_ALL;
        o.max_rows = maxes[i];
        check(o, w, 5);
        o.rows = STORE_ROWS_RANGE;
        check(o, w, 5);
    }
    /* Every row withdrawn: an empty stream, not an error. */
    TU_OK(store_rowset_add(ws, 0, R, &err), &err);
    memset(w, 1, sizeof(w));
    o = opts(4);
    o.withdrawn = ws;
    check(o, w, 1);
    store_rowset_free(ws);
}

static void test_random_selections(void **state)
{
    (void)state;
    srand(11);
    for (int round = 0; round < 60; round++) {
        ecl_err err;
        store_rowset *ws;
        TU_OK(store_rowset_new(&ws, &err), &err);
        unsigned char w[R] = {0};
        for (int k = rand() % 6; k > 0; k--) {
            uint64_t b = (uint64_t)(rand() % R), e = b + 1 + (uint64_t)(rand() % 5);
            TU_OK(store_rowset_add(ws, b, e, &err), &err);
        }
        for (int r = 0; r < R; r++)
            w[r] = (unsigned char)store_rowset_contains(ws, (uint64_t)r);
        store_plan_opts o = opts((size_t)(1 + rand() % 50));
        o.withdrawn = ws;
        o.max_rows = (uint64_t)(rand() % 3 ? 0 : rand() % 40);
        const char *orders[][3] = {{"z", "x", "y"}, {"y", NULL, NULL}, {"x", "z", NULL}};
        int which = rand() % 4;
        if (which < 3) {
            o.tensors = orders[which];
            o.n_tensors = which == 0 ? 3 : which == 1 ? 1 : 2;
        }
        if (rand() % 2) {
            o.rows = STORE_ROWS_RANGE;
            o.row_begin = (uint64_t)(rand() % R);
            o.row_end = o.row_begin + (uint64_t)(rand() % (R - (int)o.row_begin + 1));
        } else {
            o.rows = STORE_ROWS_SHARD;
            o.shard_count = (uint32_t)(1 + rand() % 8);
            o.shard_index = (uint32_t)(rand() % (int)o.shard_count);
        }
        check(o, w, 1);
        store_rowset_free(ws);
    }
}

static void test_tensor_order_and_errors(void **state)
{
    (void)state;
    const char *names[] = {"z", "x"};
    store_plan_opts o = opts(16);
    o.tensors = names;
    o.n_tensors = 2;
    check(o, NULL, 1);
    ecl_err err;
    store_plan *p = NULL;
    TU_OK(store_plan_new(ds, &o, &p, &err), &err);
    assert_string_equal(store_plan_tensor_at(p, 0)->name, "z");
    assert_string_equal(store_plan_tensor_at(p, 1)->name, "x");
    assert_int_equal(store_plan_tensor_at(p, 1)->stream_offset, R * 5);
    store_plan_free(p);
    p = NULL;

    const char *unknown[] = {"x", "w"};
    o.tensors = unknown;
    TU_ASSERT_ERR(store_plan_new(ds, &o, &p, &err), &err, ECL_E_NOT_FOUND, "'w'");
    const char *twice[] = {"x", "x"};
    o.tensors = twice;
    TU_ASSERT_ERR(store_plan_new(ds, &o, &p, &err), &err, ECL_E_USAGE, "'x' asked twice");
    o = opts(0);
    TU_ASSERT_ERR(store_plan_new(ds, &o, &p, &err), &err, ECL_E_USAGE, "chunk size");
    o = opts(8);
    o.resume_offset = R * 25 + 1;
    TU_ASSERT_ERR(store_plan_new(ds, &o, &p, &err), &err, ECL_E_USAGE,
                  "resume offset 926 is beyond the 925 bytes");
    o = opts(8);
    o.rows = STORE_ROWS_RANGE;
    o.row_begin = 3;
    o.row_end = 38;
    TU_ASSERT_ERR(store_plan_new(ds, &o, &p, &err), &err, ECL_E_USAGE,
                  "row range [3, 38) is outside the 37 rows");
    o.row_begin = 9;
    o.row_end = 4;
    TU_ASSERT_ERR(store_plan_new(ds, &o, &p, &err), &err, ECL_E_USAGE, "[9, 4)");
    o = opts(8);
    o.rows = STORE_ROWS_SHARD;
    o.shard_index = 4;
    o.shard_count = 4;
    TU_ASSERT_ERR(store_plan_new(ds, &o, &p, &err), &err, ECL_E_USAGE, "shard 4 of 4");
    o.shard_index = 0;
    o.shard_count = 0;
    TU_ASSERT_ERR(store_plan_new(ds, &o, &p, &err), &err, ECL_E_USAGE, "shard 0 of 0");
    assert_null(p);
}

/* Tensors of different row counts: whole is fine, a row selection is not. */
static void test_ragged_tensors(void **state)
{
    (void)state;
    ecl_err err;
    store_plan *p;
    store_plan_opts o = opts(3);
    TU_OK(store_plan_new(ragged, &o, &p, &err), &err);
    assert_false(store_plan_has_rows(p));
    assert_int_equal(store_plan_total_bytes(p), 16 + 12 + 8);
    assert_int_equal(store_plan_tensor_at(p, 2)->ndim, 0);
    size_t cur = 0;
    uint64_t b, e;
    assert_int_equal(store_plan_row_range(p, &cur, &b, &e), 0);
    unsigned char got[36];
    size_t at = 0;
    store_chunk c;
    while (store_plan_next(p, &c)) {
        memcpy(got + at, c.data, c.len);
        at += c.len;
    }
    assert_int_equal(at, 36);
    assert_memory_equal(got, store_tensor_at(ragged, 0)->data, 16);
    assert_memory_equal(got + 28, store_tensor_at(ragged, 2)->data, 8);
    store_plan_free(p);

    o.rows = STORE_ROWS_SHARD;
    o.shard_count = 2;
    p = NULL;
    TU_ASSERT_ERR(store_plan_new(ragged, &o, &p, &err), &err, ECL_E_USAGE,
                  "same row count (shape[0]): 'a' and 'b' differ");
    o = opts(3);
    o.max_rows = 2;
    TU_ASSERT_ERR(store_plan_new(ragged, &o, &p, &err), &err, ECL_E_USAGE, "'a' and 'b'");
    const char *ab[] = {"a", "s"};
    o.tensors = ab;
    o.n_tensors = 2;
    TU_ASSERT_ERR(store_plan_new(ragged, &o, &p, &err), &err, ECL_E_USAGE, "'a' and 's'");
    /* A single tensor can be row-selected on its own. */
    const char *only_a[] = {"a"};
    o.tensors = only_a;
    o.n_tensors = 1;
    TU_OK(store_plan_new(ragged, &o, &p, &err), &err);
    assert_int_equal(store_plan_rows(p), 2);
    assert_int_equal(store_plan_total_bytes(p), 8);
    store_plan_free(p);
    assert_null(NULL);
}

/* The plan keeps the dataset alive after the caller lets go of it. */
static void test_plan_holds_reference(void **state)
{
    (void)state;
    char path[PATH_MAX];
    ecl_err err;
    store_dataset *mine;
    TU_OK(store_open(tu_path(path, sizeof(path), dir, "d.safetensors"), &mine, &err), &err);
    store_plan_opts o = opts(100);
    store_plan *p;
    TU_OK(store_plan_new(mine, &o, &p, &err), &err);
    store_unref(mine);
    store_chunk c;
    size_t total = 0;
    while (store_plan_next(p, &c))
        total += c.len;
    assert_int_equal(total, R * 25);
    store_plan_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_dataset),
        cmocka_unit_test(test_row_ranges),
        cmocka_unit_test(test_shards),
        cmocka_unit_test(test_withdrawn_rows),
        cmocka_unit_test(test_random_selections),
        cmocka_unit_test(test_tensor_order_and_errors),
        cmocka_unit_test(test_ragged_tensors),
        cmocka_unit_test(test_plan_holds_reference),
    };
    return cmocka_run_group_tests_name("store_plan", tests, setup, teardown);
}
