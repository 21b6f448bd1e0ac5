/* safetensors files: write, read back, validate; every malformed case. */
#include <limits.h>
#include <setjmp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/dataset.h"
#include "store/writer.h"
#include "tests/store/testutil.h"

static char dir[PATH_MAX];

typedef struct sample {
    float f32[12];
    int64_t i64[5];
    unsigned char u8[24];
    unsigned char b[7];
    double scalar;
    uint16_t bf16[4];
} sample;

static void fill(sample *s)
{
    for (int i = 0; i < 12; i++)
        s->f32[i] = (float)i * 0.25f - 1.0f;
    for (int i = 0; i < 5; i++)
        s->i64[i] = (int64_t)i * -1000000007LL;
    for (int i = 0; i < 24; i++)
        s->u8[i] = (unsigned char)(i * 11);
    for (int i = 0; i < 7; i++)
        s->b[i] = i % 3 == 0;
    s->scalar = 3.141592653589793;
    for (int i = 0; i < 4; i++)
        s->bf16[i] = (uint16_t)(0x3f80 + i);
}

/* Writes sample tensors; returns the writer (caller frees). */
static store_writer *write_sample(const char *path, const sample *s)
{
    ecl_err err;
    store_writer *w;
    TU_OK(store_writer_new(&w, &err), &err);
    uint64_t s_f32[2] = {3, 4}, s_i64[1] = {5}, s_u8[3] = {2, 3, 4}, s_b[1] = {7},
             s_empty[2] = {0, 3}, s_bf[2] = {2, 2};
    TU_OK(store_writer_add(w, "weights", STORE_DT_F32, 2, s_f32, s->f32, sizeof(s->f32), &err),
          &err);
    TU_OK(store_writer_add(w, "ids", STORE_DT_I64, 1, s_i64, s->i64, sizeof(s->i64), &err), &err);
    TU_OK(store_writer_add(w, "pixels", STORE_DT_U8, 3, s_u8, s->u8, sizeof(s->u8), &err), &err);
    TU_OK(store_writer_add(w, "mask", STORE_DT_BOOL, 1, s_b, s->b, sizeof(s->b), &err), &err);
    TU_OK(store_writer_add(w, "pi", STORE_DT_F64, 0, NULL, &s->scalar, 8, &err), &err);
    TU_OK(store_writer_add(w, "empty", STORE_DT_F32, 2, s_empty, NULL, 0, &err), &err);
    TU_OK(store_writer_add(w, "half", STORE_DT_BF16, 2, s_bf, s->bf16, sizeof(s->bf16), &err),
          &err);
    TU_OK(store_writer_meta(w, "licence", "CC-BY-4.0", &err), &err);
    TU_OK(store_writer_meta(w, "title", "Échantillon \"quoted\"", &err), &err);
    TU_OK(store_writer_write(w, path, &err), &err);
    return w;
}

static void test_round_trip(void **state)
{
    (void)state;
    char path[PATH_MAX];
    tu_path(path, sizeof(path), dir, "sample.safetensors");
    sample s;
    fill(&s);
    store_writer *w = write_sample(path, &s);
    ecl_err err;
    store_dataset *ds;
    TU_OK(store_open(path, &ds, &err), &err);
    assert_int_equal(store_tensor_count(ds), 7);
    assert_int_equal(store_header_size(ds) % 8, 0);
    const char *names[] = {"weights", "ids", "pixels", "mask", "pi", "empty", "half"};
    const void *datas[] = {s.f32, s.i64, s.u8, s.b, &s.scalar, NULL, s.bf16};
    const size_t sizes[] = {48, 40, 24, 7, 8, 0, 8};
    for (size_t i = 0; i < 7; i++) {
        const store_tensor *t = store_tensor_at(ds, i);
        assert_string_equal(t->name, names[i]); /* file order = order written */
        assert_int_equal(t->byte_size, sizes[i]);
        if (sizes[i])
            assert_memory_equal(t->data, datas[i], sizes[i]);
        unsigned char d1[32], d2[32], d3[32];
        TU_OK(store_tensor_digest(ds, i, d1, &err), &err);
        TU_OK(store_writer_digest(w, i, d2, &err), &err);
        crypto_generichash(d3, 32, datas[i], sizes[i], NULL, 0);
        assert_memory_equal(d1, d2, 32);
        assert_memory_equal(d1, d3, 32);
        size_t idx;
        TU_OK(store_tensor_find(ds, names[i], &idx, &err), &err);
        assert_int_equal(idx, i);
    }
    const store_tensor *t = store_tensor_at(ds, 2);
    assert_int_equal(t->dtype, STORE_DT_U8);
    assert_int_equal(t->ndim, 3);
    assert_int_equal(t->shape[0], 2);
    assert_int_equal(t->shape[2], 4);
    assert_int_equal(store_tensor_at(ds, 4)->ndim, 0);
    assert_int_equal(store_tensor_at(ds, 6)->dtype, STORE_DT_BF16);
    assert_string_equal(store_metadata_get(ds, "licence"), "CC-BY-4.0");
    assert_string_equal(store_metadata_get(ds, "title"), "Échantillon \"quoted\"");
    assert_null(store_metadata_get(ds, "nope"));
    assert_int_equal(store_metadata_count(ds), 2);
    size_t idx;
    TU_ASSERT_ERR(store_tensor_find(ds, "absent", &idx, &err), &err, ECL_E_NOT_FOUND, "'absent'");
    unsigned char d[32];
    TU_ASSERT_ERR(store_tensor_digest(ds, 7, d, &err), &err, ECL_E_USAGE, "out of range");
    store_unref(ds);
    store_writer_free(w);
}

/* A foreign file (keys out of order, no padding) is imported byte-exactly. */
static void test_import_safetensors(void **state)
{
    (void)state;
    char src[PATH_MAX], dst[PATH_MAX];
    tu_path(src, sizeof(src), dir, "foreign.safetensors");
    tu_path(dst, sizeof(dst), dir, "imported.safetensors");
    unsigned char data[20];
    for (int i = 0; i < 20; i++)
        data[i] = (unsigned char)(200 - i);
    tu_write_st(src,
                "{\"b\":{\"dtype\":\"I32\",\"shape\":[2,2],\"data_offsets\":[4,20]},"
                "\"__metadata__\":{\"k\":\"v\"},"
                "\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}",
                data, sizeof(data));
    ecl_err err;
    store_dataset *ds;
    TU_OK(store_import_safetensors(src, dst, &ds, &err), &err);
    assert_int_equal(store_tensor_count(ds), 2);
    assert_string_equal(store_tensor_at(ds, 0)->name, "a");
    assert_memory_equal(store_tensor_at(ds, 0)->data, data, 4);
    assert_string_equal(store_tensor_at(ds, 1)->name, "b");
    assert_memory_equal(store_tensor_at(ds, 1)->data, data + 4, 16);
    assert_string_equal(store_metadata_get(ds, "k"), "v");
    store_unref(ds);
    /* A bad source is refused and leaves no destination behind. */
    char bad[PATH_MAX], dst2[PATH_MAX];
    tu_path(bad, sizeof(bad), dir, "bad-import.safetensors");
    tu_path(dst2, sizeof(dst2), dir, "never.safetensors");
    tu_write_st(bad, "{\"a\":{\"dtype\":\"U8\",\"shape\":[5],\"data_offsets\":[0,4]}}", data, 4);
    TU_ASSERT_ERR(store_import_safetensors(bad, dst2, NULL, &err), &err, ECL_E_INPUT, "'a'");
    FILE *f = fopen(dst2, "rb");
    assert_null(f);
}

/* The handle outlives the caller's reference while someone else holds one,
 * and a file replaced by a new write leaves the old map intact. */
static void test_refcount_and_replace(void **state)
{
    (void)state;
    char path[PATH_MAX];
    tu_path(path, sizeof(path), dir, "ref.safetensors");
    sample s;
    fill(&s);
    store_writer_free(write_sample(path, &s));
    ecl_err err;
    store_dataset *ds;
    TU_OK(store_open(path, &ds, &err), &err);
    store_dataset *held = store_ref(ds);
    assert_ptr_equal(held, ds);
    store_unref(ds);
    const store_tensor *t = store_tensor_at(held, 0);
    sample other;
    memset(&other, 0x5a, sizeof(other));
    store_writer_free(write_sample(path, &other));
    assert_memory_equal(t->data, s.f32, sizeof(s.f32)); /* still the old bytes */
    store_unref(held);
    TU_OK(store_open(path, &ds, &err), &err);
    assert_memory_equal(store_tensor_at(ds, 0)->data, other.f32, sizeof(other.f32));
    store_unref(ds);
}

static void test_writer_refusals(void **state)
{
    (void)state;
    ecl_err err;
    store_writer *w;
    TU_OK(store_writer_new(&w, &err), &err);
    float f[4] = {0};
    uint64_t shape[2] = {2, 2};
    TU_OK(store_writer_add(w, "x", STORE_DT_F32, 2, shape, f, 16, &err), &err);
    TU_ASSERT_ERR(store_writer_add(w, "x", STORE_DT_F32, 2, shape, f, 16, &err), &err, ECL_E_USAGE,
                  "twice");
    TU_ASSERT_ERR(store_writer_add(w, "__metadata__", STORE_DT_F32, 2, shape, f, 16, &err), &err,
                  ECL_E_USAGE, "not allowed");
    TU_ASSERT_ERR(store_writer_add(w, "y", STORE_DT_F32, 2, shape, f, 12, &err), &err, ECL_E_USAGE,
                  "12 bytes");
    TU_ASSERT_ERR(store_writer_add(w, "z", STORE_DT_INVALID, 2, shape, f, 16, &err), &err,
                  ECL_E_USAGE, "dtype");
    unsigned char d[32];
    TU_ASSERT_ERR(store_writer_digest(w, 0, d, &err), &err, ECL_E_USAGE, "written");
    /* Writing into a missing directory fails and leaves nothing. */
    char path[PATH_MAX];
    tu_path(path, sizeof(path), dir, "missing/dir/x.safetensors");
    TU_ASSERT_ERR(store_writer_write(w, path, &err), &err, ECL_E_IO, "missing/dir");
    store_writer_free(w);
}

/* ---- malformed files: each must be refused as input with a clear message */

static void expect_bad_raw(const char *name, const void *bytes, size_t len, const char *needle)
{
    char path[PATH_MAX];
    tu_path(path, sizeof(path), dir, name);
    tu_write(path, bytes, len);
    ecl_err err;
    store_dataset *ds = NULL;
    TU_ASSERT_ERR(store_open(path, &ds, &err), &err, ECL_E_INPUT, needle);
    assert_null(ds);
}

static void expect_bad(const char *header, size_t data_len, const char *needle)
{
    static unsigned char data[4096];
    char path[PATH_MAX];
    tu_path(path, sizeof(path), dir, "bad.safetensors");
    tu_write_st(path, header, data, data_len);
    ecl_err err;
    store_dataset *ds = NULL;
    int rc = store_open(path, &ds, &err);
    TU_ASSERT_ERR(rc, &err, ECL_E_INPUT, needle);
    assert_null(ds);
}

static void test_bad_truncated(void **state)
{
    (void)state;
    expect_bad_raw("empty.safetensors", "", 0, "truncated: 0 bytes");
    expect_bad_raw("five.safetensors", "\x10\0\0\0\0", 5, "truncated: 5 bytes");
    /* Header length 100 but only 10 bytes of header follow. */
    unsigned char b[18] = {100, 0, 0, 0, 0, 0, 0, 0, '{', '}'};
    expect_bad_raw("short.safetensors", b, sizeof(b), "header length 100 goes beyond");
    unsigned char huge[16] = {0, 0, 0, 0, 1, 0, 0, 0, '{', '}'};
    expect_bad_raw("huge.safetensors", huge, sizeof(huge), "exceeds the 100000000 allowed");
    /* A tensor that should end past the end of the file. */
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 10,
               "'a': data_offsets [0, 16] out of range: the data section has 10 bytes");
}

static void test_bad_json(void **state)
{
    (void)state;
    expect_bad("not json", 0, "does not start with '{'");
    expect_bad("[1,2]   ", 0, "does not start with '{'");
    expect_bad("{\"a\":", 0, "not valid JSON");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
               "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
               8, "duplicate");
    expect_bad("{\"\xff\xfe\":{}}", 0, "not valid JSON");
    expect_bad("{} x", 0, "not valid JSON");
    expect_bad("{\"a\":3}", 0, "'a': entry is not a JSON object");
    expect_bad("{\"__metadata__\":{\"k\":1}}", 0, "value of 'k' is not a string");
    expect_bad("{\"__metadata__\":[]}", 0, "\"__metadata__\" is not a JSON object");
}

static void test_bad_entries(void **state)
{
    (void)state;
    expect_bad("{\"w\":{\"dtype\":\"F7\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
               "'w': unknown dtype 'F7'");
    expect_bad("{\"w\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
               "unknown dtype 'f32'");
    expect_bad("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "'w': \"dtype\" missing");
    expect_bad("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "'w': \"shape\" missing");
    expect_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[1,-2],\"data_offsets\":[0,4]}}", 4,
               "'w': shape[1] is not a non-negative integer");
    expect_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4,
               "shape[0] is not a non-negative integer");
    expect_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4,
               "'w': \"data_offsets\" must be [begin, end]");
    expect_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4,
               "end before begin");
    /* 3 x 4 x F32 = 48 bytes, but the offsets give 44. */
    expect_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[3,4],\"data_offsets\":[0,44]}}", 44,
               "'w': shape and dtype F32 make 48 bytes but data_offsets span 44 bytes");
    expect_bad("{\"w\":{\"dtype\":\"U8\",\"shape\":[4294967296,4294967296],"
               "\"data_offsets\":[0,4]}}",
               4, "overflows");
}

static void test_bad_layout(void **state)
{
    (void)state;
    expect_bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
               "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[2,6]}}",
               6, "tensors overlap: 'b' at [2, 6] begins before 'a' ends at 4");
    expect_bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
               "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[6,10]}}",
               10, "hole in the data section: bytes [4, 6) belong to no tensor");
    expect_bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[2,6]}}", 6,
               "hole in the data section: bytes [0, 2)");
    expect_bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}", 7,
               "3 trailing bytes");
    expect_bad("{}", 1, "1 trailing bytes");
}

static void test_valid_edge_cases(void **state)
{
    (void)state;
    char path[PATH_MAX];
    tu_path(path, sizeof(path), dir, "edge.safetensors");
    ecl_err err;
    store_dataset *ds;
    /* Empty header object, space padding, zero-size tensors sharing an offset. */
    tu_write_st(path, "{}      ", NULL, 0);
    TU_OK(store_open(path, &ds, &err), &err);
    assert_int_equal(store_tensor_count(ds), 0);
    store_unref(ds);
    unsigned char d[4] = {1, 2, 3, 4};
    tu_write_st(path,
                "{\"z\":{\"dtype\":\"F64\",\"shape\":[0,5],\"data_offsets\":[0,0]},"
                "\"a\":{\"dtype\":\"I16\",\"shape\":[2],\"data_offsets\":[0,4]},"
                "\"y\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}  ",
                d, 4);
    TU_OK(store_open(path, &ds, &err), &err);
    assert_int_equal(store_tensor_count(ds), 3);
    assert_string_equal(store_tensor_at(ds, 0)->name, "z");
    assert_string_equal(store_tensor_at(ds, 1)->name, "a");
    assert_string_equal(store_tensor_at(ds, 2)->name, "y");
    assert_memory_equal(store_tensor_at(ds, 1)->data, d, 4);
    store_unref(ds);
    TU_ASSERT_ERR(store_open("/nonexistent/x.safetensors", &ds, &err), &err, ECL_E_NOT_FOUND,
                  "x.safetensors");
}

/* Every truncation and thousands of random byte changes of a valid file:
 * each is accepted or refused as input, never a crash (ASan runs this). */
static void test_mutations(void **state)
{
    (void)state;
    char path[PATH_MAX], mut[PATH_MAX];
    tu_path(path, sizeof(path), dir, "mut-src.safetensors");
    tu_path(mut, sizeof(mut), dir, "mut.safetensors");
    sample s;
    fill(&s);
    store_writer_free(write_sample(path, &s));
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static unsigned char orig[4096], buf[4096];
    size_t n = fread(orig, 1, sizeof(orig), f);
    fclose(f);
    ecl_err err;
    store_dataset *ds;
    for (size_t len = 0; len < n; len++) {
        tu_write(mut, orig, len);
        TU_ASSERT_ERR(store_open(mut, &ds, &err), &err, ECL_E_INPUT, "mut.safetensors");
    }
    srand(1234);
    size_t accepted = 0;
    for (int round = 0; round < 3000; round++) {
        memcpy(buf, orig, n);
        for (int k = 1 + rand() % 3; k > 0; k--) {
            /* Mostly the header, where the parser works. */
            size_t at = rand() % 4 ? (size_t)rand() % (n < 400 ? n : 400) : (size_t)rand() % n;
            buf[at] = rand() % 2 ? (unsigned char)rand()
                                 : (unsigned char)"{}[]\",:0123456789"[rand() % 18];
        }
        tu_write(mut, buf, n);
        if (store_open(mut, &ds, &err) == 0) {
            accepted++;
            for (size_t i = 0; i < store_tensor_count(ds); i++) {
                const store_tensor *t = store_tensor_at(ds, i);
                unsigned char d[32];
                TU_OK(store_tensor_digest(ds, i, d, &err), &err);
                /* Inside the data section of the file. */
                assert_true(8 + store_header_size(ds) + t->data_offset + t->byte_size <=
                            store_file_size(ds));
            }
            store_unref(ds);
        } else {
            assert_true(err.code == ECL_E_INPUT || err.code == ECL_E_LIMIT);
            assert_non_null(strstr(err.msg, "mut.safetensors"));
        }
    }
    assert_true(accepted < 3000);
}

int main(void)
{
    tu_tmpdir(dir, sizeof(dir));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),           cmocka_unit_test(test_import_safetensors),
        cmocka_unit_test(test_refcount_and_replace), cmocka_unit_test(test_writer_refusals),
        cmocka_unit_test(test_bad_truncated),        cmocka_unit_test(test_bad_json),
        cmocka_unit_test(test_bad_entries),          cmocka_unit_test(test_bad_layout),
        cmocka_unit_test(test_valid_edge_cases),     cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests_name("store_safetensors", tests, NULL, NULL);
}
