/*
 * leaves_test.c - the leaf index of a dataset (store/leaves.h): built from
 * the file, used only for the very version it was built from, refused when
 * damaged, and the chunk digests it gives equal those hashed from the bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/read_digest.h"
#include "store/dataset.h"
#include "store/leaves.h"
#include "tests/store/testutil.h"

#define XBYTES (200000u * 4) /* x: 200000 float32, 12.2 leaves */
#define YBYTES 8u            /* y: one int64 */

/* A dataset whose first tensor spans several leaves and ends inside one. */
static void write_dataset(const char *path, unsigned seed)
{
    unsigned char *data = malloc(XBYTES + YBYTES);
    for (size_t i = 0; i < XBYTES + YBYTES; i++)
        data[i] = (unsigned char)(i * 31 + seed + i / 977);
    char header[256];
    snprintf(header, sizeof(header),
             "{\"x\":{\"dtype\":\"F32\",\"shape\":[200000],\"data_offsets\":[0,%u]},"
             "\"y\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[%u,%u]}}",
             XBYTES, XBYTES, XBYTES + YBYTES);
    tu_write_st(path, header, data, XBYTES + YBYTES);
    free(data);
}

static void index_equals_hashing(uint32_t version)
{
    char dir[256], st[300], lv[300];
    tu_tmpdir(dir, sizeof(dir));
    tu_path(st, sizeof(st), dir, "d.safetensors");
    tu_path(lv, sizeof(lv), dir, version == READ_DIGEST_V3 ? "d.leaves-v3" : "d.leaves");
    write_dataset(st, 1);
    store_dataset *ds = NULL;
    store_leaves *l = NULL;
    ecl_err err;
    TU_OK(store_open(st, &ds, &err), &err);
    int built = 0;
    TU_OK(store_leaves_load(lv, ds, version, &l, &built, &err), &err);
    assert_int_equal(built, 1);
    const read_leaf_table *x = store_leaves_tensor(l, 0);
    assert_int_equal(x->count, 13);
    assert_int_equal(store_leaves_tensor(l, 1)->count, 1);
    assert_null(store_leaves_tensor(l, 2));

    read_hasher *h = NULL;
    TU_OK(read_hasher_new(&h, version, &err), &err);
    const store_tensor *t = store_tensor_at(ds, 0);
    /* Chunks aligned and not, inside one leaf, across several, to the end. */
    const uint64_t at[] = {0, 65536, 1000, 65000, 131072, XBYTES - 70000, XBYTES - 5};
    const size_t len[] = {
        65536, 4 << 20 > XBYTES - 65536 ? XBYTES - 65536 : 4 << 20, 500, 200000, 65536, 70000, 5};
    for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
        unsigned char from_index[32], hashed[32];
        read_hasher_chunk(h, t->data + at[i], len[i], at[i], x, from_index);
        read_hasher_chunk(h, t->data + at[i], len[i], at[i], NULL, hashed);
        assert_memory_equal(from_index, hashed, 32);
    }
    /* The index really is used: a leaf changed in it changes the digest. */
    unsigned char from_index[32], hashed[32];
    read_leaf_table forged = *x;
    unsigned char *copy = malloc(x->count * 32);
    memcpy(copy, x->digests, x->count * 32);
    copy[32 * 2] ^= 1;
    forged.digests = copy;
    read_hasher_chunk(h, t->data + 65536, 3 * 65536, 65536, &forged, from_index);
    read_hasher_chunk(h, t->data + 65536, 3 * 65536, 65536, NULL, hashed);
    assert_memory_not_equal(from_index, hashed, 32);
    free(copy);
    read_hasher_free(h);
    store_leaves_free(l);

    /* Opened again: the same file, not rebuilt. */
    TU_OK(store_leaves_load(lv, ds, version, &l, &built, &err), &err);
    assert_int_equal(built, 0);
    store_leaves_free(l);
    store_unref(ds);
}

static void test_chunk_digests_from_the_index_equal_hashing(void **state)
{
    (void)state;
    index_equals_hashing(READ_DIGEST_V2);
    index_equals_hashing(READ_DIGEST_V3);
}

/* Each digest version has an index of its own: one of version 2 is never
 * taken for version 3 (its leaves are SHA-256), and a dataset published
 * with only the version 2 index gets a version 3 one on first use. */
static void test_an_index_of_another_digest_version_is_refused(void **state)
{
    (void)state;
    char dir[256], st[300], lv[300], lv3[300];
    tu_tmpdir(dir, sizeof(dir));
    tu_path(st, sizeof(st), dir, "d.safetensors");
    tu_path(lv, sizeof(lv), dir, "d.leaves");
    tu_path(lv3, sizeof(lv3), dir, "d.leaves-v3");
    write_dataset(st, 1);
    store_dataset *ds = NULL;
    store_leaves *l = NULL;
    ecl_err err;
    TU_OK(store_open(st, &ds, &err), &err);
    TU_OK(store_leaves_build(ds, lv, READ_DIGEST_V2, &err), &err);
    TU_ASSERT_ERR(store_leaves_open(lv, ds, READ_DIGEST_V3, &l, &err), &err, ECL_E_INPUT,
                  "d.leaves: not a leaf index of digest version 3 (no ECLUSE-LEAVES-V3 magic)");
    TU_ASSERT_ERR(store_leaves_build(ds, lv, 4, &err), &err, ECL_E_USAGE,
                  "no leaf index of digest version 4");
    assert_null(store_leaves_suffix(4));
    int built = 0;
    TU_OK(store_leaves_load(lv3, ds, READ_DIGEST_V3, &l, &built, &err), &err);
    assert_int_equal(built, 1);
    /* Its leaves are BLAKE3's, and the version 2 index is untouched. */
    read_hasher *h = NULL;
    unsigned char d[32];
    TU_OK(read_hasher_new(&h, READ_DIGEST_V3, &err), &err);
    read_hasher_leaf(h, store_tensor_at(ds, 0)->data, 65536, d);
    assert_memory_equal(store_leaves_tensor(l, 0)->digests, d, 32);
    read_hasher_free(h);
    store_leaves_free(l);
    TU_OK(store_leaves_open(lv, ds, READ_DIGEST_V2, &l, &err), &err);
    store_leaves_free(l);
    store_unref(ds);
}

static void test_an_index_of_another_version_is_stale(void **state)
{
    (void)state;
    char dir[256], st[300], lv[300];
    tu_tmpdir(dir, sizeof(dir));
    tu_path(st, sizeof(st), dir, "d.safetensors");
    tu_path(lv, sizeof(lv), dir, "d.leaves");
    write_dataset(st, 1);
    store_dataset *ds = NULL;
    store_leaves *l = NULL;
    ecl_err err;
    TU_OK(store_open(st, &ds, &err), &err);
    TU_OK(store_leaves_build(ds, lv, READ_DIGEST_V2, &err), &err);
    store_unref(ds);
    /* The same shapes, other values: a re-published file. */
    write_dataset(st, 2);
    TU_OK(store_open(st, &ds, &err), &err);
    TU_ASSERT_ERR(store_leaves_open(lv, ds, READ_DIGEST_V2, &l, &err), &err, ECL_E_PRECONDITION,
                  "d.leaves: stale, computed from another version of");
    int built = 0;
    TU_OK(store_leaves_load(lv, ds, READ_DIGEST_V2, &l, &built, &err), &err);
    assert_int_equal(built, 1);
    store_leaves_free(l);
    store_unref(ds);
}

static void test_a_damaged_index_is_refused(void **state)
{
    (void)state;
    char dir[256], st[300], lv[300];
    tu_tmpdir(dir, sizeof(dir));
    tu_path(st, sizeof(st), dir, "d.safetensors");
    tu_path(lv, sizeof(lv), dir, "d.leaves");
    write_dataset(st, 1);
    store_dataset *ds = NULL;
    store_leaves *l = NULL;
    ecl_err err;
    TU_OK(store_open(st, &ds, &err), &err);
    TU_ASSERT_ERR(store_leaves_open(lv, ds, READ_DIGEST_V2, &l, &err), &err, ECL_E_NOT_FOUND,
                  "d.leaves");
    TU_OK(store_leaves_build(ds, lv, READ_DIGEST_V2, &err), &err);
    FILE *f = fopen(lv, "rb");
    unsigned char good[1024 + 14 * 32];
    size_t n = fread(good, 1, sizeof(good), f);
    fclose(f);
    assert_int_equal(n, 16 + 8 * 8 + 14 * 32);

    unsigned char bad[sizeof(good)];
    memcpy(bad, good, n);
    bad[0] = 'X';
    tu_write(lv, bad, n);
    TU_ASSERT_ERR(store_leaves_open(lv, ds, READ_DIGEST_V2, &l, &err), &err, ECL_E_INPUT,
                  "not a leaf index of digest version 2 (no ECLUSE-LEAVES-V1 magic)");
    tu_write(lv, good, 10);
    TU_ASSERT_ERR(store_leaves_open(lv, ds, READ_DIGEST_V2, &l, &err), &err, ECL_E_INPUT,
                  "too short");
    tu_write(lv, good, n - 32);
    TU_ASSERT_ERR(store_leaves_open(lv, ds, READ_DIGEST_V2, &l, &err), &err, ECL_E_INPUT,
                  "the file ends inside the leaves of tensor 'y'");
    memcpy(bad, good, n);
    bad[16 + 6 * 8] = 12; /* x: 12 leaves said, 13 needed */
    tu_write(lv, bad, n);
    TU_ASSERT_ERR(store_leaves_open(lv, ds, READ_DIGEST_V2, &l, &err), &err, ECL_E_INPUT,
                  "tensor 'x' has 12 leaves, expected 13");
    memcpy(bad, good, n);
    bad[18] = 0; /* leaf_bytes 65536 = 00 00 01 00 ...: now 0 */
    tu_write(lv, bad, n);
    TU_ASSERT_ERR(store_leaves_open(lv, ds, READ_DIGEST_V2, &l, &err), &err, ECL_E_INPUT,
                  "leaves of 0 bytes, not 65536");
    /* Loading rebuilds from the dataset file whatever the damage. */
    int built = 0;
    TU_OK(store_leaves_load(lv, ds, READ_DIGEST_V2, &l, &built, &err), &err);
    assert_int_equal(built, 1);
    store_leaves_free(l);
    store_unref(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunk_digests_from_the_index_equal_hashing),
        cmocka_unit_test(test_an_index_of_another_digest_version_is_refused),
        cmocka_unit_test(test_an_index_of_another_version_is_stale),
        cmocka_unit_test(test_a_damaged_index_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
