/* CSV import: the real datasets, the options, every malformed input. */
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cmocka.h>

#include "store/csv.h"
#include "tests/store/testutil.h"

static char dir[PATH_MAX];

static float feature(const store_dataset *ds, uint64_t row, uint64_t col)
{
    const store_tensor *t = store_tensor_at(ds, 0);
    float v;
    memcpy(&v, t->data + (row * t->shape[1] + col) * 4, 4);
    return v;
}

static int64_t label(const store_dataset *ds, uint64_t row)
{
    int64_t v;
    memcpy(&v, store_tensor_at(ds, 1)->data + row * 8, 8);
    return v;
}

/* Both tensors' digests equal BLAKE2b-256 of the bytes. */
static void check_digests(const store_dataset *ds)
{
    ecl_err err;
    for (size_t i = 0; i < store_tensor_count(ds); i++) {
        const store_tensor *t = store_tensor_at(ds, i);
        unsigned char a[32], b[32];
        TU_OK(store_tensor_digest(ds, i, a, &err), &err);
        crypto_generichash(b, 32, t->data, t->byte_size, NULL, 0);
        assert_memory_equal(a, b, 32);
    }
}

static void test_breast_cancer(void **state)
{
    (void)state;
    store_csv_opts o;
    store_csv_opts_init(&o);
    o.skip_lines = 1; /* "569,30,malignant,benign" */
    o.label = STORE_LABEL_INDEX;
    o.label_index = -1;
    char dst[PATH_MAX];
    ecl_err err;
    store_dataset *ds;
    TU_OK(store_import_csv("examples/data/breast_cancer.csv", &o,
                           tu_path(dst, sizeof(dst), dir, "bc.safetensors"), &ds, &err),
          &err);
    const store_tensor *f = store_tensor_at(ds, 0), *l = store_tensor_at(ds, 1);
    assert_string_equal(f->name, "features");
    assert_int_equal(f->dtype, STORE_DT_F32);
    assert_int_equal(f->shape[0], 569);
    assert_int_equal(f->shape[1], 30);
    assert_string_equal(l->name, "labels");
    assert_int_equal(l->dtype, STORE_DT_I64);
    assert_int_equal(l->ndim, 1);
    assert_int_equal(l->shape[0], 569);
    assert_true(feature(ds, 0, 0) == 17.99f);
    assert_true(feature(ds, 0, 1) == 10.38f);
    assert_true(feature(ds, 1, 3) == 1326.0f);
    assert_true(feature(ds, 568, 0) == 7.76f);
    assert_true(feature(ds, 568, 29) == 0.07039f);
    assert_int_equal(label(ds, 0), 0);
    assert_int_equal(label(ds, 568), 1);
    int64_t ones = 0;
    for (uint64_t r = 0; r < 569; r++)
        ones += label(ds, r);
    assert_int_equal(ones, 357); /* benign */
    assert_string_equal(store_metadata_get(ds, "source"), "breast_cancer.csv");
    assert_string_equal(store_metadata_get(ds, "label_column"), "#30");
    check_digests(ds);
    store_unref(ds);
}

static void test_digits_gzip(void **state)
{
    (void)state;
    store_csv_opts o;
    store_csv_opts_init(&o);
    o.label = STORE_LABEL_INDEX;
    o.label_index = 64;
    char dst[PATH_MAX];
    ecl_err err;
    store_dataset *ds;
    TU_OK(store_import_csv("examples/data/digits.csv.gz", &o,
                           tu_path(dst, sizeof(dst), dir, "digits.safetensors"), &ds, &err),
          &err);
    const store_tensor *f = store_tensor_at(ds, 0);
    assert_int_equal(f->shape[0], 1797);
    assert_int_equal(f->shape[1], 64);
    assert_true(feature(ds, 0, 2) == 5.0f);
    assert_true(feature(ds, 0, 3) == 13.0f);
    assert_true(feature(ds, 1796, 2) == 10.0f);
    assert_int_equal(label(ds, 0), 0);
    assert_int_equal(label(ds, 1), 1);
    assert_int_equal(label(ds, 1796), 8);
    for (uint64_t r = 0; r < 1797; r++)
        assert_true(label(ds, r) >= 0 && label(ds, r) <= 9);
    check_digests(ds);
    store_unref(ds);
}

static void test_diabetes_two_files(void **state)
{
    (void)state;
    store_csv_opts o;
    store_csv_opts_init(&o);
    o.delimiter = 0; /* space separated */
    o.label = STORE_LABEL_FILE;
    o.labels_path = "examples/data/diabetes_target.csv.gz";
    char dst[PATH_MAX];
    ecl_err err;
    store_dataset *ds;
    TU_OK(store_import_csv("examples/data/diabetes_data_raw.csv.gz", &o,
                           tu_path(dst, sizeof(dst), dir, "diabetes.safetensors"), &ds, &err),
          &err);
    const store_tensor *f = store_tensor_at(ds, 0);
    assert_int_equal(f->shape[0], 442);
    assert_int_equal(f->shape[1], 10);
    assert_int_equal(store_tensor_at(ds, 1)->shape[0], 442);
    assert_true(feature(ds, 0, 0) == 59.0f);
    assert_true(feature(ds, 0, 2) == 32.1f);
    assert_true(feature(ds, 0, 8) == 4.8598f);
    assert_true(feature(ds, 441, 9) == 92.0f);
    assert_int_equal(label(ds, 0), 151); /* "1.510000000000000000e+02" */
    assert_int_equal(label(ds, 1), 75);
    assert_int_equal(label(ds, 441), 57);
    assert_string_equal(store_metadata_get(ds, "labels_source"), "diabetes_target.csv.gz");
    check_digests(ds);
    store_unref(ds);
}

static void write_text(const char *name, const char *text, char *path)
{
    tu_write(tu_path(path, PATH_MAX, dir, name), text, strlen(text));
}

static void test_header_quotes_and_names(void **state)
{
    (void)state;
    char path[PATH_MAX], dst[PATH_MAX];
    write_text("named.csv",
               "id;\"mean radius\";\"note \"\"x\"\"\";class\r\n"
               "1;2.5;-3e2;7\r\n"
               "\r\n"
               "  \n"
               "4; \"5\" ;6;-8\r\n",
               path);
    store_csv_opts o;
    store_csv_opts_init(&o);
    o.delimiter = ';';
    o.header = 1;
    o.label = STORE_LABEL_NAME;
    o.label_name = "class";
    o.features_tensor = "x";
    o.labels_tensor = "y";
    ecl_err err;
    store_dataset *ds;
    TU_OK(
        store_import_csv(path, &o, tu_path(dst, sizeof(dst), dir, "named.safetensors"), &ds, &err),
        &err);
    assert_string_equal(store_tensor_at(ds, 0)->name, "x");
    assert_string_equal(store_tensor_at(ds, 1)->name, "y");
    assert_int_equal(store_tensor_at(ds, 0)->shape[0], 2);
    assert_int_equal(store_tensor_at(ds, 0)->shape[1], 3);
    assert_true(feature(ds, 0, 1) == 2.5f);
    assert_true(feature(ds, 0, 2) == -300.0f);
    assert_true(feature(ds, 1, 1) == 5.0f);
    assert_int_equal(label(ds, 1), -8);
    assert_string_equal(store_metadata_get(ds, "feature_names"),
                        "[\"id\",\"mean radius\",\"note \\\"x\\\"\"]");
    assert_string_equal(store_metadata_get(ds, "label_column"), "class");
    store_unref(ds);

    /* Label first, by index; no labels at all. */
    write_text("first.csv", "3,1.0,2.0\n4,3.0,4.0\n", path);
    store_csv_opts_init(&o);
    o.label = STORE_LABEL_INDEX;
    o.label_index = 0;
    store_table t;
    TU_OK(store_csv_read(path, &o, &t, &err), &err);
    assert_int_equal(t.cols, 2);
    assert_int_equal(t.labels[1], 4);
    assert_true(t.features[3] == 4.0f);
    store_table_free(&t);
    store_csv_opts_init(&o);
    TU_OK(store_csv_read(path, &o, &t, &err), &err);
    assert_int_equal(t.cols, 3);
    assert_null(t.labels);
    store_table_free(&t);
}

static void expect_bad(const char *text, const store_csv_opts *o, ecl_code code, const char *needle)
{
    char path[PATH_MAX];
    write_text("bad.csv", text, path);
    store_table t;
    ecl_err err;
    TU_ASSERT_ERR(store_csv_read(path, o, &t, &err), &err, code, needle);
    assert_null(t.features);
    assert_null(t.names);
}

static void test_malformed(void **state)
{
    (void)state;
    store_csv_opts o;
    store_csv_opts_init(&o);
    o.label = STORE_LABEL_INDEX;
    o.label_index = -1;
    expect_bad("1,2,3\n4,5,6\n7,8\n", &o, ECL_E_INPUT,
               "bad.csv: line 3 (data row 3): 2 columns, expected 3");
    expect_bad("1,2,3\n4,5,6,7\n", &o, ECL_E_INPUT, "line 2 (data row 2): 4 columns, expected 3");
    expect_bad("1,2,3\n4,abc,6\n", &o, ECL_E_INPUT,
               "line 2 (data row 2), column 2: 'abc': not a number");
    expect_bad("1,2,3\n4,,6\n", &o, ECL_E_INPUT, "column 2: '': empty cell");
    expect_bad("1,2,3\n4,1e999,6\n", &o, ECL_E_INPUT, "'1e999': out of float32 range");
    expect_bad("1,2,3\n4,5,1.5\n", &o, ECL_E_INPUT,
               "line 2 (data row 2), column 3: '1.5': label not an integer");
    expect_bad("1,2,x\n", &o, ECL_E_INPUT, "column 3: 'x': label not an integer");
    expect_bad("1,2,99999999999999999999\n", &o, ECL_E_INPUT, "out of int64 range");
    expect_bad("1,\"2,3\n", &o, ECL_E_INPUT, "line 1, column 2: unterminated quote");
    expect_bad("1,\"2\"x,3\n", &o, ECL_E_INPUT, "text after a closing quote");
    expect_bad("\n\n  \n", &o, ECL_E_INPUT, "no data rows");
    o.header = 1;
    expect_bad("a,b,c\n1,2,3\n1,zz,3\n", &o, ECL_E_INPUT,
               "line 3 (data row 2), column 2 (b): 'zz': not a number");
    o.header = 0;
    o.skip_lines = 5;
    expect_bad("1,2,3\n", &o, ECL_E_INPUT, "only 1 lines, 5 to skip");
    o.skip_lines = 0;
    o.label_index = 3;
    expect_bad("1,2,3\n", &o, ECL_E_USAGE, "label column 3 out of range for 3 columns");
    o.label_index = -4;
    expect_bad("1,2,3\n", &o, ECL_E_USAGE, "label column -4 out of range");
    o.label = STORE_LABEL_NAME;
    o.label_name = "class";
    expect_bad("1,2,3\n", &o, ECL_E_USAGE, "label column 'class' by name needs a header row");
    o.header = 1;
    expect_bad("a,b,c\n1,2,3\n", &o, ECL_E_USAGE, "label column 'class' is not in the header");
    o.label = STORE_LABEL_FILE;
    o.labels_path = NULL;
    expect_bad("a,b,c\n1,2,3\n", &o, ECL_E_USAGE, "no file given");
    /* Whitespace-separated files are ragged too when a value is missing. */
    store_csv_opts_init(&o);
    o.delimiter = 0;
    expect_bad("1 2  3\n4\t5 6\n7 8\n", &o, ECL_E_INPUT, "line 3 (data row 3): 2 columns");
    char big[1200];
    memset(big, '1', sizeof(big) - 2);
    big[sizeof(big) - 2] = '\n';
    big[sizeof(big) - 1] = '\0';
    expect_bad(big, &o, ECL_E_INPUT, "longer than 1023 bytes");
}

static void test_labels_file_errors(void **state)
{
    (void)state;
    char data[PATH_MAX], labels[PATH_MAX];
    write_text("d.csv", "1 2\n3 4\n5 6\n", data);
    store_csv_opts o;
    store_csv_opts_init(&o);
    o.delimiter = 0;
    o.label = STORE_LABEL_FILE;
    o.labels_path = labels;
    store_table t;
    ecl_err err;
    write_text("l.txt", "1\n2\n", labels);
    TU_ASSERT_ERR(store_csv_read(data, &o, &t, &err), &err, ECL_E_INPUT,
                  "l.txt: 2 labels for 3 data rows");
    write_text("l.txt", "1\n2\n3\n4\n", labels);
    TU_ASSERT_ERR(store_csv_read(data, &o, &t, &err), &err, ECL_E_INPUT,
                  "l.txt: line 4: more labels than the 3 data rows");
    write_text("l.txt", "1\n2.5\n3\n", labels);
    TU_ASSERT_ERR(store_csv_read(data, &o, &t, &err), &err, ECL_E_INPUT,
                  "l.txt: line 2 (label 2): '2.5': label not an integer");
    write_text("l.txt", "1\nnan\n3\n", labels);
    TU_ASSERT_ERR(store_csv_read(data, &o, &t, &err), &err, ECL_E_INPUT,
                  "'nan': label not an integer");
    write_text("l.txt", "7\r\n\r\n8.0\r\n9e0\r\n", labels);
    TU_OK(store_csv_read(data, &o, &t, &err), &err);
    assert_int_equal(t.labels[0], 7);
    assert_int_equal(t.labels[2], 9);
    store_table_free(&t);
    o.labels_path = "/nonexistent/l.txt";
    TU_ASSERT_ERR(store_csv_read(data, &o, &t, &err), &err, ECL_E_NOT_FOUND, "/nonexistent/l.txt");
}

/* A gzip file cut short is refused, not read as a shorter table. */
static void test_truncated_gzip(void **state)
{
    (void)state;
    char path[PATH_MAX], cut[PATH_MAX];
    tu_path(path, sizeof(path), dir, "t.csv.gz");
    gzFile g = gzopen(path, "wb");
    assert_non_null(g);
    for (int r = 0; r < 2000; r++)
        gzprintf(g, "%d,%d.5,%d\n", r, r * 3, r % 7);
    assert_int_equal(gzclose(g), Z_OK);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static unsigned char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    assert_true(n > 100);
    tu_write(tu_path(cut, sizeof(cut), dir, "cut.csv.gz"), buf, n / 2);
    store_csv_opts o;
    store_csv_opts_init(&o);
    store_table t;
    ecl_err err;
    TU_OK(store_csv_read(path, &o, &t, &err), &err);
    assert_int_equal(t.rows, 2000);
    assert_true(t.features[3 * 1999 + 1] == 5997.5f);
    store_table_free(&t);
    TU_ASSERT_ERR(store_csv_read(cut, &o, &t, &err), &err, ECL_E_INPUT,
                  "cut.csv.gz: corrupt or truncated gzip data");
    buf[n / 2] = 0;
    memset(buf + 10, 0xAB, 40); /* damage the deflate stream */
    tu_write(cut, buf, n);
    TU_ASSERT_ERR(store_csv_read(cut, &o, &t, &err), &err, ECL_E_INPUT, "cut.csv.gz");
}

/* Random byte changes of a small CSV: read or refused as input, no crash. */
static void test_mutations(void **state)
{
    (void)state;
    const char *orig = "a,b,\"c d\",label\n1.5,2,3e1,4\n-5,6.25,7,8\n9,10,11,-12\n";
    size_t n = strlen(orig);
    char text[128], path[PATH_MAX];
    store_csv_opts o;
    store_csv_opts_init(&o);
    o.header = 1;
    o.label = STORE_LABEL_NAME;
    o.label_name = "label";
    srand(5);
    for (int round = 0; round < 3000; round++) {
        memcpy(text, orig, n + 1);
        for (int k = 1 + rand() % 3; k > 0; k--)
            text[(size_t)rand() % n] = "\",\n\r \t.e-+0123456789xa"[rand() % 22];
        write_text("m.csv", text, path);
        store_table t;
        ecl_err err;
        if (store_csv_read(path, &o, &t, &err) == 0) {
            assert_true(t.rows >= 1 && t.cols >= 1);
            assert_non_null(t.labels);
            store_table_free(&t);
        } else {
            assert_true(err.code == ECL_E_INPUT || err.code == ECL_E_USAGE);
            assert_non_null(strstr(err.msg, "m.csv"));
        }
    }
}

int main(void)
{
    tu_tmpdir(dir, sizeof(dir));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_breast_cancer),      cmocka_unit_test(test_digits_gzip),
        cmocka_unit_test(test_diabetes_two_files), cmocka_unit_test(test_header_quotes_and_names),
        cmocka_unit_test(test_malformed),          cmocka_unit_test(test_labels_file_errors),
        cmocka_unit_test(test_truncated_gzip),     cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests_name("store_csv", tests, NULL, NULL);
}
