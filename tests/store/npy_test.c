/* .npy files built byte by byte: accepted forms and every refusal.
 * (Files written by numpy itself are checked in interop_test.) */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/npy.h"
#include "tests/store/testutil.h"

static char dir[PATH_MAX];
static unsigned char buf[8192];

/* A .npy image: magic, version, header length, dict padded to 64, data. */
static size_t make_npy(int major, int minor, const char *dict, const void *data, size_t len)
{
    size_t pre = major == 1 ? 10 : 12, dl = strlen(dict);
    size_t hl = ((pre + dl + 1 + 63) / 64) * 64 - pre;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)major;
    buf[7] = (unsigned char)minor;
    for (size_t i = 0; i < pre - 8; i++)
        buf[8 + i] = (unsigned char)(hl >> (8 * i));
    memcpy(buf + pre, dict, dl);
    memset(buf + pre + dl, ' ', hl - dl - 1);
    buf[pre + hl - 1] = '\n';
    if (len)
        memcpy(buf + pre + hl, data, len);
    return pre + hl + len;
}

static void test_accepts(void **state)
{
    (void)state;
    ecl_err err;
    store_npy_info info;
    float f[6] = {1, 2, 3, 4, 5, 6};
    size_t n =
        make_npy(1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }", f, sizeof(f));
    TU_OK(store_npy_parse(buf, n, "a.npy", &info, &err), &err);
    assert_int_equal(info.dtype, STORE_DT_F32);
    assert_int_equal(info.ndim, 2);
    assert_int_equal(info.shape[0], 3);
    assert_int_equal(info.shape[1], 2);
    assert_int_equal(info.data_offset, 128);
    assert_int_equal(info.byte_size, 24);
    assert_memory_equal(buf + info.data_offset, f, 24);

    int64_t i8[3] = {-1, 0, 1};
    n = make_npy(2, 0, "{\"shape\": (3,), \"fortran_order\": False, \"descr\": \"<i8\"}", i8,
                 sizeof(i8));
    TU_OK(store_npy_parse(buf, n, "b.npy", &info, &err), &err);
    assert_int_equal(info.dtype, STORE_DT_I64);
    assert_int_equal(info.ndim, 1);
    assert_int_equal(info.data_offset, 128);

    double d = 2.5;
    n = make_npy(3, 0, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", &d, 8);
    TU_OK(store_npy_parse(buf, n, "c.npy", &info, &err), &err);
    assert_int_equal(info.ndim, 0);
    assert_int_equal(info.byte_size, 8);

    n = make_npy(1, 0, "{'descr': '|u1', 'fortran_order': False, 'shape': (0, 7), }", NULL, 0);
    TU_OK(store_npy_parse(buf, n, "d.npy", &info, &err), &err);
    assert_int_equal(info.dtype, STORE_DT_U8);
    assert_int_equal(info.byte_size, 0);

    unsigned char bools[2] = {1, 0};
    n = make_npy(1, 0, "{'descr': '|b1', 'fortran_order': False, 'shape': (2L,), }", bools, 2);
    TU_OK(store_npy_parse(buf, n, "e.npy", &info, &err), &err);
    assert_int_equal(info.dtype, STORE_DT_BOOL);
    /* '>' on a one-byte type has no byte order to worry about. */
    n = make_npy(1, 0, "{'descr': '>i1', 'fortran_order': False, 'shape': (2,), }", bools, 2);
    TU_OK(store_npy_parse(buf, n, "f.npy", &info, &err), &err);
    assert_int_equal(info.dtype, STORE_DT_I8);
}

static void expect_bad_dict(int major, const char *dict, size_t data_len, const char *needle)
{
    static unsigned char data[256];
    ecl_err err;
    store_npy_info info;
    size_t n = make_npy(major, 0, dict, data, data_len);
    TU_ASSERT_ERR(store_npy_parse(buf, n, "x.npy", &info, &err), &err, ECL_E_INPUT, needle);
}

static void test_refusals(void **state)
{
    (void)state;
    ecl_err err;
    store_npy_info info;
    TU_ASSERT_ERR(
        store_npy_parse((const unsigned char *)"PK\x03\x04 not npy", 14, "x.npy", &info, &err),
        &err, ECL_E_INPUT, "x.npy: bad magic");
    TU_ASSERT_ERR(store_npy_parse((const unsigned char *)"\x93NUM", 4, "x.npy", &info, &err), &err,
                  ECL_E_INPUT, "bad magic");
    size_t n =
        make_npy(4, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", "abcd", 4);
    TU_ASSERT_ERR(store_npy_parse(buf, n, "x.npy", &info, &err), &err, ECL_E_INPUT,
                  "unsupported .npy version 4.0");
    n = make_npy(1, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", "abcd", 4);
    TU_ASSERT_ERR(store_npy_parse(buf, n, "x.npy", &info, &err), &err, ECL_E_INPUT,
                  "unsupported .npy version 1.1");
    /* Header length beyond the file. */
    n = make_npy(1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", NULL, 0);
    TU_ASSERT_ERR(store_npy_parse(buf, 40, "x.npy", &info, &err), &err, ECL_E_INPUT,
                  "header length 118 goes beyond the end of the file (40 bytes)");

    expect_bad_dict(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8,
                    "big-endian dtype '>f4'");
    expect_bad_dict(1, "{'descr': '>i8', 'fortran_order': False, 'shape': (1,), }", 8,
                    "big-endian dtype '>i8'");
    expect_bad_dict(1, "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", 8,
                    "object dtype '|O'");
    expect_bad_dict(1, "{'descr': '<U5', 'fortran_order': False, 'shape': (1,), }", 20,
                    "unsupported dtype '<U5'");
    expect_bad_dict(1, "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", 8,
                    "unsupported dtype '<c8'");
    expect_bad_dict(1, "{'descr': '<f4x', 'fortran_order': False, 'shape': (1,), }", 4,
                    "unsupported dtype '<f4x'");
    expect_bad_dict(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", 4,
                    "structured dtype not supported");
    expect_bad_dict(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16,
                    "fortran_order True is not supported");
    expect_bad_dict(1, "{'descr': '<f4', 'fortran_order': 1, 'shape': (2, 2), }", 16,
                    "fortran_order is not True or False");
    expect_bad_dict(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", 12,
                    "truncated data: shape needs 16 bytes from offset 128, file has 12");
    expect_bad_dict(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", 20,
                    "4 unexpected bytes after the data (offset 144)");
    expect_bad_dict(1, "{'descr': '<f4', 'shape': (4,), }", 16, "missing key 'fortran_order'");
    expect_bad_dict(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), 'x': 1}", 16,
                    "unexpected key 'x'");
    expect_bad_dict(1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (4,)}",
                    16, "repeated key 'descr'");
    expect_bad_dict(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-4,), }", 16,
                    "shape[0] is not a non-negative integer");
    expect_bad_dict(1, "{'descr': '<f4', 'fortran_order': False, 'shape': [4], }", 16,
                    "expected '('");
    expect_bad_dict(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), } junk", 16,
                    "unexpected text after the dict");
    expect_bad_dict(1, "'descr'", 0, "expected '{'");
    /* A header without its final newline. */
    n = make_npy(1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", "abcd", 4);
    buf[127] = ' ';
    TU_ASSERT_ERR(store_npy_parse(buf, n, "x.npy", &info, &err), &err, ECL_E_INPUT,
                  "does not end with a newline");
}

static void test_import(void **state)
{
    (void)state;
    char p1[PATH_MAX], p2[PATH_MAX], bad[PATH_MAX], dst[PATH_MAX];
    float f[4] = {0.5f, 1.5f, -2.0f, 8.0f};
    uint16_t u[3] = {1, 65535, 7};
    tu_write(tu_path(p1, sizeof(p1), dir, "f.npy"), buf,
             make_npy(1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", f,
                      sizeof(f)));
    tu_write(
        tu_path(p2, sizeof(p2), dir, "u.npy"), buf,
        make_npy(1, 0, "{'descr': '<u2', 'fortran_order': False, 'shape': (3,), }", u, sizeof(u)));
    tu_write(tu_path(bad, sizeof(bad), dir, "bad.npy"), buf,
             make_npy(1, 0, "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", f, 4));
    tu_path(dst, sizeof(dst), dir, "out.safetensors");
    const char *paths[] = {p1, p2};
    const char *names[] = {"features", "codes"};
    ecl_err err;
    store_dataset *ds;
    TU_OK(store_import_npy(2, paths, names, dst, &ds, &err), &err);
    assert_int_equal(store_tensor_count(ds), 2);
    const store_tensor *t = store_tensor_at(ds, 0);
    assert_string_equal(t->name, "features");
    assert_int_equal(t->dtype, STORE_DT_F32);
    assert_int_equal(t->shape[0], 2);
    assert_memory_equal(t->data, f, sizeof(f));
    t = store_tensor_at(ds, 1);
    assert_string_equal(t->name, "codes");
    assert_int_equal(t->dtype, STORE_DT_U16);
    assert_memory_equal(t->data, u, sizeof(u));
    store_unref(ds);

    size_t before = tu_count_entries(dir);
    const char *with_bad[] = {p1, bad};
    char dst2[PATH_MAX];
    tu_path(dst2, sizeof(dst2), dir, "never.safetensors");
    TU_ASSERT_ERR(store_import_npy(2, with_bad, names, dst2, NULL, &err), &err, ECL_E_INPUT,
                  "bad.npy: big-endian");
    assert_int_equal(tu_count_entries(dir), before); /* nothing half-written */
    const char *dup[] = {"a", "a"};
    TU_ASSERT_ERR(store_import_npy(2, paths, dup, dst2, NULL, &err), &err, ECL_E_USAGE,
                  "'a' added twice");
    const char *missing[] = {p1, "/nonexistent/m.npy"};
    TU_ASSERT_ERR(store_import_npy(2, missing, names, dst2, NULL, &err), &err, ECL_E_NOT_FOUND,
                  "m.npy");
    assert_int_equal(tu_count_entries(dir), before);
}

/* Every truncation and random byte changes: accepted or refused, no crash. */
static void test_mutations(void **state)
{
    (void)state;
    static unsigned char orig[512];
    float f[6] = {1, 2, 3, 4, 5, 6};
    size_t n =
        make_npy(1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }", f, sizeof(f));
    memcpy(orig, buf, n);
    ecl_err err;
    store_npy_info info;
    for (size_t len = 0; len < n; len++)
        TU_ASSERT_ERR(store_npy_parse(orig, len, "m.npy", &info, &err), &err, ECL_E_INPUT, "m.npy");
    srand(99);
    for (int round = 0; round < 5000; round++) {
        memcpy(buf, orig, n);
        for (int k = 1 + rand() % 3; k > 0; k--)
            buf[(size_t)rand() % 128] = rand() % 2
                                            ? (unsigned char)rand()
                                            : (unsigned char)"{}(),:' 0123456789"[rand() % 18];
        if (store_npy_parse(buf, n, "m.npy", &info, &err) == 0)
            assert_true(info.data_offset + info.byte_size == n);
        else
            assert_true(err.code == ECL_E_INPUT || err.code == ECL_E_LIMIT);
    }
}

int main(void)
{
    tu_tmpdir(dir, sizeof(dir));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_import),
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests_name("store_npy", tests, NULL, NULL);
}
