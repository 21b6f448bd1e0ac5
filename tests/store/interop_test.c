/* What the store writes is real safetensors, and what numpy writes the store
 * reads: checked by tests/store/st_check.py under Debian's /usr/bin/python3
 * with python3-numpy, which shares no code with ecluse. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "store/csv.h"
#include "store/npy.h"
#include "store/writer.h"
#include "tests/store/testutil.h"

#define PYTHON "/usr/bin/python3"
#define SCRIPT "tests/store/st_check.py"

static char dir[PATH_MAX];

/* Run the checker with `args`; return its exit status, print its output. */
static int run_check(const char *args)
{
    char cmd[4 * PATH_MAX], log[PATH_MAX];
    tu_path(log, sizeof(log), dir, "check.log");
    snprintf(cmd, sizeof(cmd), "%s %s %s > %s 2>&1", PYTHON, SCRIPT, args, log);
    int rc = system(cmd);
    FILE *f = fopen(log, "r");
    char line[512];
    while (f && fgets(line, sizeof(line), f))
        printf("    | %s", line);
    if (f)
        fclose(f);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* The checker's formula, for a flat index. */
static double fval(uint64_t i)
{
    return (double)(i % 97) * 0.25 - 5.0;
}
static int64_t ival(uint64_t i)
{
    return (int64_t)((i * 7) % 200) - 100;
}
static uint64_t uval(uint64_t i)
{
    return (i * 7) % 251;
}

static void *make(store_dtype dt, uint64_t n)
{
    size_t sz = store_dtype_size(dt);
    unsigned char *p = calloc(n ? n : 1, sz);
    assert_non_null(p);
    for (uint64_t i = 0; i < n; i++) {
        unsigned char *e = p + i * sz;
        if (dt == STORE_DT_F32) {
            float v = (float)fval(i);
            memcpy(e, &v, 4);
        } else if (dt == STORE_DT_F64) {
            double v = fval(i);
            memcpy(e, &v, 8);
        } else if (dt == STORE_DT_BOOL) {
            *e = i % 3 == 0;
        } else if (dt == STORE_DT_I8 || dt == STORE_DT_I16 || dt == STORE_DT_I32 ||
                   dt == STORE_DT_I64) {
            int64_t v = ival(i); /* little-endian: the low bytes come first */
            memcpy(e, &v, sz);
        } else {
            uint64_t v = uval(i);
            memcpy(e, &v, sz);
        }
    }
    return p;
}

static void write_synthetic(const char *path)
{
    static const struct {
        const char *name;
        store_dtype dt;
        size_t ndim;
        uint64_t shape[3];
    } spec[] = {
        {"f32", STORE_DT_F32, 2, {4, 3}},   {"f64", STORE_DT_F64, 3, {2, 3, 2}},
        {"i8", STORE_DT_I8, 1, {7}},        {"i16", STORE_DT_I16, 2, {3, 3}},
        {"i32", STORE_DT_I32, 1, {5}},      {"i64", STORE_DT_I64, 2, {2, 2}},
        {"u8", STORE_DT_U8, 2, {3, 4}},     {"u16", STORE_DT_U16, 1, {6}},
        {"u32", STORE_DT_U32, 2, {2, 3}},   {"u64", STORE_DT_U64, 1, {3}},
        {"bool", STORE_DT_BOOL, 1, {5}},    {"scalar", STORE_DT_F32, 0, {0}},
        {"empty", STORE_DT_F32, 2, {0, 4}},
    };
    const size_t n = sizeof(spec) / sizeof(spec[0]);
    void *bufs[sizeof(spec) / sizeof(spec[0])];
    ecl_err err;
    store_writer *w;
    TU_OK(store_writer_new(&w, &err), &err);
    for (size_t i = 0; i < n; i++) {
        uint64_t count = 1;
        for (size_t d = 0; d < spec[i].ndim; d++)
            count *= spec[i].shape[d];
        bufs[i] = make(spec[i].dt, count);
        TU_OK(store_writer_add(w, spec[i].name, spec[i].dt, spec[i].ndim, spec[i].shape, bufs[i],
                               count * store_dtype_size(spec[i].dt), &err),
              &err);
    }
    TU_OK(store_writer_meta(w, "site", "fi", &err), &err);
    TU_OK(store_writer_meta(w, "purpose", "interop", &err), &err);
    TU_OK(store_writer_write(w, path, &err), &err);
    store_writer_free(w);
    for (size_t i = 0; i < n; i++)
        free(bufs[i]);
}

static void copy_with_flip(const char *from, const char *to, long at)
{
    FILE *f = fopen(from, "rb");
    assert_non_null(f);
    static unsigned char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    if (at < 0)
        at += (long)n;
    buf[at] ^= 0x01;
    tu_write(to, buf, n);
}

static void test_numpy_reads_what_we_write(void **state)
{
    (void)state;
    char path[PATH_MAX], bad[PATH_MAX], args[3 * PATH_MAX];
    write_synthetic(tu_path(path, sizeof(path), dir, "synthetic.safetensors"));
    snprintf(args, sizeof(args), "synthetic %s", path);
    assert_int_equal(run_check(args), 0);
    /* The checker must notice a wrong byte: in the data, and in the header. */
    copy_with_flip(path, tu_path(bad, sizeof(bad), dir, "flipped.safetensors"), -20);
    snprintf(args, sizeof(args), "synthetic %s", bad);
    assert_int_equal(run_check(args), 1);
    copy_with_flip(path, bad, 0); /* header length off by one */
    assert_int_not_equal(run_check(args), 0);
}

static void import_and_check(const char *data, const store_csv_opts *o, const char *delim,
                             const char *skip, const char *label)
{
    char dst[PATH_MAX], args[4 * PATH_MAX];
    ecl_err err;
    tu_path(dst, sizeof(dst), dir, "csv.safetensors");
    TU_OK(store_import_csv(data, o, dst, NULL, &err), &err);
    snprintf(args, sizeof(args), "csv %s %s %s %s %s", dst, data, delim, skip, label);
    assert_int_equal(run_check(args), 0);
}

static void test_csv_imports_equal_numpy_loadtxt(void **state)
{
    (void)state;
    store_csv_opts o;
    store_csv_opts_init(&o);
    o.skip_lines = 1;
    o.label = STORE_LABEL_INDEX;
    o.label_index = -1;
    import_and_check("examples/data/breast_cancer.csv", &o, ",", "1", "last");
    o.skip_lines = 0;
    import_and_check("examples/data/digits.csv.gz", &o, ",", "0", "last");
    store_csv_opts_init(&o);
    o.delimiter = 0;
    o.label = STORE_LABEL_FILE;
    o.labels_path = "examples/data/diabetes_target.csv.gz";
    import_and_check("examples/data/diabetes_data_raw.csv.gz", &o, "ws", "0",
                     "examples/data/diabetes_target.csv.gz");
}

static void test_npy_files_numpy_wrote(void **state)
{
    (void)state;
    char npdir[PATH_MAX], args[3 * PATH_MAX];
    tu_path(npdir, sizeof(npdir), dir, "npy");
    snprintf(args, sizeof(args), "mkdir -p %s", npdir);
    assert_int_equal(system(args), 0);
    snprintf(args, sizeof(args), "write-npy %s", npdir);
    assert_int_equal(run_check(args), 0);

    static const char *good[] = {"f2", "f4", "f8", "i1", "i2", "i4", "i8",     "u1",
                                 "u2", "u4", "u8", "b1", "v2", "v3", "scalar", "empty"};
    const size_t n = sizeof(good) / sizeof(good[0]);
    char paths[sizeof(good) / sizeof(good[0])][2 * PATH_MAX];
    const char *pp[sizeof(good) / sizeof(good[0])];
    for (size_t i = 0; i < n; i++) {
        snprintf(paths[i], sizeof(paths[i]), "%s/%s.npy", npdir, good[i]);
        pp[i] = paths[i];
    }
    char dst[PATH_MAX];
    tu_path(dst, sizeof(dst), dir, "from_npy.safetensors");
    ecl_err err;
    store_dataset *ds;
    TU_OK(store_import_npy(n, pp, good, dst, &ds, &err), &err);
    /* Spot checks on our side, with the checker's formula. */
    const store_tensor *t = store_tensor_at(ds, 1); /* f4 */
    assert_int_equal(t->dtype, STORE_DT_F32);
    assert_int_equal(t->shape[0], 5);
    assert_int_equal(t->shape[1], 3);
    float f;
    memcpy(&f, t->data + 4 * 13, 4);
    assert_true(f == (float)fval(13));
    int64_t i8v;
    memcpy(&i8v, store_tensor_at(ds, 6)->data + 8 * 14, 8);
    assert_int_equal(i8v, ival(14));
    assert_int_equal(store_tensor_at(ds, 0)->dtype, STORE_DT_F16);
    assert_int_equal(store_tensor_at(ds, 11)->dtype, STORE_DT_BOOL);
    assert_int_equal(store_tensor_at(ds, 14)->ndim, 0);
    assert_int_equal(store_tensor_at(ds, 15)->byte_size, 0);
    store_unref(ds);
    snprintf(args, sizeof(args), "npy-vs-st %s %s", npdir, dst);
    assert_int_equal(run_check(args), 0);

    static const struct {
        const char *name, *needle;
    } bad[] = {
        {"bad_fortran", "fortran_order True is not supported"},
        {"bad_bigendian", "big-endian dtype '>f4'"},
        {"bad_object", "object dtype '|O'"},
        {"bad_unicode", "unsupported dtype '<U3'"},
        {"bad_complex", "unsupported dtype '<c16'"},
        {"bad_structured", "structured dtype not supported"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char p[2 * PATH_MAX];
        snprintf(p, sizeof(p), "%s/%s.npy", npdir, bad[i].name);
        const char *one[] = {p}, *name[] = {"x"};
        TU_ASSERT_ERR(store_import_npy(1, one, name, dst, NULL, &err), &err, ECL_E_INPUT,
                      bad[i].needle);
    }
}

int main(void)
{
    tu_tmpdir(dir, sizeof(dir));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numpy_reads_what_we_write),
        cmocka_unit_test(test_csv_imports_equal_numpy_loadtxt),
        cmocka_unit_test(test_npy_files_numpy_wrote),
    };
    return cmocka_run_group_tests_name("store_interop", tests, NULL, NULL);
}
