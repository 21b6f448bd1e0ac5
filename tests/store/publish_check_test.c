/* The publishing checks (store/check.h) on real safetensors files: every
 * refusal names the file, the tensor and the problem; every float dtype's
 * NaN and infinity, every signed label dtype's negative value; the --allow
 * switches let exactly those through. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "store/check.h"
#include "store/dataset.h"
#include "store/writer.h"
#include "tests/store/testutil.h"

static char dir[PATH_MAX];
static const char *const k_both[] = {"features", "labels"};

typedef struct tensor_spec {
    const char *name;
    store_dtype dtype;
    size_t ndim;
    uint64_t shape[2];
    const void *data;
    size_t len;
} tensor_spec;

/* Write the tensors to dir/name.safetensors and open it. */
static store_dataset *make(const char *name, const tensor_spec *t, size_t n)
{
    char file[PATH_MAX + 64];
    snprintf(file, sizeof(file), "%s/%s.safetensors", dir, name);
    ecl_err err;
    store_writer *w;
    TU_OK(store_writer_new(&w, &err), &err);
    for (size_t i = 0; i < n; i++)
        TU_OK(store_writer_add(w, t[i].name, t[i].dtype, t[i].ndim, t[i].shape, t[i].data, t[i].len,
                               &err),
              &err);
    TU_OK(store_writer_write(w, file, &err), &err);
    store_writer_free(w);
    store_dataset *ds;
    TU_OK(store_open(file, &ds, &err), &err);
    return ds;
}

typedef struct found {
    size_t n;
    char last[ECL_ERR_MSG_MAX];
} found;

static void collect(void *ctx, const char *problem)
{
    found *f = ctx;
    f->n++;
    snprintf(f->last, sizeof(f->last), "%s", problem);
}

static int check(store_dataset *ds, const char *const *names, size_t n, int allow_nonfinite,
                 int allow_negative, found *f, ecl_err *err)
{
    store_publish_rules r = {0};
    r.tensors = names;
    r.n_tensors = n;
    r.source = "/srv/data/cohort.csv";
    r.allow_nonfinite = allow_nonfinite;
    r.allow_negative_labels = allow_negative;
    memset(f, 0, sizeof(*f));
    return store_publish_check(ds, &r, collect, f, err);
}

static void test_clean_data_passes(void **state)
{
    (void)state;
    float x[6] = {0, 1.5f, -2, 3, 1e30f, -1e-30f};
    int64_t y[3] = {0, 1, 2};
    tensor_spec t[] = {{"features", STORE_DT_F32, 2, {3, 2}, x, sizeof(x)},
                       {"labels", STORE_DT_I64, 1, {3}, y, sizeof(y)}};
    store_dataset *ds = make("clean", t, 2);
    ecl_err err;
    found f;
    TU_OK(check(ds, k_both, 2, 0, 0, &f, &err), &err);
    assert_int_equal(f.n, 0);
    store_unref(ds);
}

static void test_policy_tensor_missing(void **state)
{
    (void)state;
    float x[2] = {1, 2};
    tensor_spec t[] = {{"features", STORE_DT_F32, 2, {1, 2}, x, sizeof(x)}};
    store_dataset *ds = make("missing", t, 1);
    static const char *const names[] = {"features", "genome"};
    ecl_err err;
    found f;
    TU_ASSERT_ERR(check(ds, names, 2, 0, 0, &f, &err), &err, ECL_E_INPUT,
                  "/srv/data/cohort.csv: tensor 'genome': the policy declares it, but the data "
                  "lacks it (the data holds: features)");
    assert_int_equal(f.n, 1);
    store_unref(ds);
}

static void test_row_counts_differ(void **state)
{
    (void)state;
    float x[6] = {0};
    int64_t y[2] = {0, 1};
    tensor_spec t[] = {{"features", STORE_DT_F32, 2, {3, 2}, x, sizeof(x)},
                       {"labels", STORE_DT_I64, 1, {2}, y, sizeof(y)}};
    store_dataset *ds = make("rows", t, 2);
    ecl_err err;
    found f;
    TU_ASSERT_ERR(check(ds, k_both, 2, 0, 0, &f, &err), &err, ECL_E_INPUT,
                  "tensor 'labels': has 2 rows, but tensor 'features' has 3");
    store_unref(ds);
}

static void test_zero_rows(void **state)
{
    (void)state;
    tensor_spec t[] = {{"features", STORE_DT_F32, 2, {0, 2}, NULL, 0},
                       {"labels", STORE_DT_I64, 1, {0}, NULL, 0}};
    store_dataset *ds = make("empty", t, 2);
    ecl_err err;
    found f;
    int rc = check(ds, k_both, 2, 0, 0, &f, &err);
    TU_ASSERT_ERR(rc, &err, ECL_E_INPUT, "tensor 'features': has zero rows");
    assert_non_null(strstr(err.msg, "(and 1 more problem(s))"));
    assert_int_equal(f.n, 2);
    assert_non_null(strstr(f.last, "tensor 'labels': has zero rows"));
    store_unref(ds);
}

/* One float dtype: a finite pattern passes; each non-finite pattern is
 * refused at its row, and passes with allow_nonfinite. */
typedef struct float_case {
    store_dtype dtype;
    size_t size;
    uint64_t finite; /* the largest finite magnitude */
    uint64_t bad[2]; /* NaN, infinity (0 when the dtype has none) */
} float_case;

static void test_nonfinite_every_float_dtype(void **state)
{
    (void)state;
    static const float_case cases[] = {
        {STORE_DT_F8_E5M2, 1, 0x7B, {0x7D, 0xFC}},
        {STORE_DT_F8_E4M3, 1, 0x7E, {0xFF, 0}},
        {STORE_DT_F16, 2, 0x7BFF, {0x7E00, 0xFC00}},
        {STORE_DT_BF16, 2, 0x7F7F, {0x7FC0, 0xFF80}},
        {STORE_DT_F32, 4, 0x7F7FFFFF, {0x7FC00000, 0x7F800000}},
        {STORE_DT_F64, 8, 0x7FEFFFFFFFFFFFFF, {0x7FF8000000000000, 0xFFF0000000000000}},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        const float_case *fc = &cases[c];
        for (int b = -1; b < 2; b++) {
            if (b >= 0 && fc->bad[b] == 0)
                continue;
            unsigned char x[4 * 8] = {0}; /* 4 rows of 1 element */
            memcpy(x + 0 * fc->size, &fc->finite, fc->size);
            if (b >= 0)
                memcpy(x + 2 * fc->size, &fc->bad[b], fc->size); /* row 2 */
            int64_t y[4] = {0, 1, 0, 1};
            tensor_spec t[] = {{"features", fc->dtype, 2, {4, 1}, x, 4 * fc->size},
                               {"labels", STORE_DT_I64, 1, {4}, y, sizeof(y)}};
            char name[32];
            snprintf(name, sizeof(name), "f%zu_%d", c, b + 1);
            store_dataset *ds = make(name, t, 2);
            ecl_err err;
            found f;
            int rc = check(ds, k_both, 2, 0, 0, &f, &err);
            if (b < 0) {
                TU_OK(rc, &err);
            } else {
                char want[128];
                snprintf(want, sizeof(want), "1 NaN or infinite %s value(s), the first at row 2",
                         store_dtype_name(fc->dtype));
                TU_ASSERT_ERR(rc, &err, ECL_E_INPUT, want);
                assert_non_null(strstr(err.msg, "/srv/data/cohort.csv: tensor 'features'"));
                assert_non_null(strstr(err.msg, "--allow-nonfinite"));
                TU_OK(check(ds, k_both, 2, 1, 0, &f, &err), &err);
            }
            store_unref(ds);
        }
    }
}

static void test_negative_labels_every_int_dtype(void **state)
{
    (void)state;
    static const struct {
        store_dtype dtype;
        size_t size;
    } signed_types[] = {{STORE_DT_I8, 1}, {STORE_DT_I16, 2}, {STORE_DT_I32, 4}, {STORE_DT_I64, 8}};
    float x[3] = {0, 1, 2};
    for (size_t c = 0; c < 4; c++) {
        unsigned char y[3 * 8];
        memset(y, 0, sizeof(y));
        memset(y + 1 * signed_types[c].size, 0xFF, signed_types[c].size); /* row 1: -1 */
        tensor_spec t[] = {{"features", STORE_DT_F32, 2, {3, 1}, x, sizeof(x)},
                           {"labels", signed_types[c].dtype, 1, {3}, y, 3 * signed_types[c].size}};
        char name[32];
        snprintf(name, sizeof(name), "neg%zu", c);
        store_dataset *ds = make(name, t, 2);
        ecl_err err;
        found f;
        TU_ASSERT_ERR(check(ds, k_both, 2, 0, 0, &f, &err), &err, ECL_E_INPUT,
                      "tensor 'labels': 1 negative label(s), the first -1 at row 1");
        assert_non_null(strstr(err.msg, "--allow-negative-labels"));
        TU_OK(check(ds, k_both, 2, 0, 1, &f, &err), &err);
        store_unref(ds);
    }
    /* Unsigned labels cannot be negative; a tensor not named labels is not a label. */
    static const store_dtype unsigned_types[] = {STORE_DT_U8, STORE_DT_U16, STORE_DT_U32,
                                                 STORE_DT_U64};
    for (size_t c = 0; c < 4; c++) {
        unsigned char y[3 * 8];
        memset(y, 0xFF, sizeof(y));
        size_t size = store_dtype_size(unsigned_types[c]);
        tensor_spec t[] = {{"features", STORE_DT_F32, 2, {3, 1}, x, sizeof(x)},
                           {"labels", unsigned_types[c], 1, {3}, y, 3 * size},
                           {"offsets", STORE_DT_I64, 1, {3}, y, 3 * 8}};
        char name[32];
        snprintf(name, sizeof(name), "uns%zu", c);
        store_dataset *ds = make(name, t, 3);
        static const char *const three[] = {"features", "labels", "offsets"};
        ecl_err err;
        found f;
        TU_OK(check(ds, three, 3, 0, 0, &f, &err), &err);
        store_unref(ds);
    }
}

/* Only the tensors the policy declares are served, so only they are checked. */
static void test_undeclared_tensors_not_checked(void **state)
{
    (void)state;
    float x[2] = {1, 2}, bad[1] = {0};
    uint32_t nan = 0x7FC00000;
    memcpy(bad, &nan, 4);
    tensor_spec t[] = {{"features", STORE_DT_F32, 2, {2, 1}, x, sizeof(x)},
                       {"scratch", STORE_DT_F32, 1, {1}, bad, sizeof(bad)}};
    store_dataset *ds = make("undeclared", t, 2);
    static const char *const one[] = {"features"};
    ecl_err err;
    found f;
    TU_OK(check(ds, one, 1, 0, 0, &f, &err), &err);
    static const char *const both[] = {"features", "scratch"};
    int rc = check(ds, both, 2, 0, 0, &f, &err);
    TU_ASSERT_ERR(rc, &err, ECL_E_INPUT, "tensor 'scratch': has 1 rows, but tensor 'features'");
    assert_int_equal(f.n, 2); /* the row count and the NaN */
    store_unref(ds);
}

int main(void)
{
    tu_tmpdir(dir, sizeof(dir));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean_data_passes),
        cmocka_unit_test(test_policy_tensor_missing),
        cmocka_unit_test(test_row_counts_differ),
        cmocka_unit_test(test_zero_rows),
        cmocka_unit_test(test_nonfinite_every_float_dtype),
        cmocka_unit_test(test_negative_labels_every_int_dtype),
        cmocka_unit_test(test_undeclared_tensors_not_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
