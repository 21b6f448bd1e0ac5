/* common/merkle.h against the published RFC 6962 test data of Certificate
 * Transparency (eight leaves, the tree heads of every prefix, the audit path
 * of leaf 0 in the tree of 8), every proof of those trees made here by the
 * RFC 9162 definitions, and the edge cases of the verifiers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "common/merkle.h"

#define H 32

static const uint8_t *const leaf_data[8] = {
    (const uint8_t *)"",
    (const uint8_t *)"\x00",
    (const uint8_t *)"\x10",
    (const uint8_t *)"\x20\x21",
    (const uint8_t *)"\x30\x31",
    (const uint8_t *)"\x40\x41\x42\x43",
    (const uint8_t *)"\x50\x51\x52\x53\x54\x55\x56\x57",
    (const uint8_t *)"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
};
static const size_t leaf_len[8] = {0, 1, 1, 2, 2, 4, 8, 16};

/* MTH(D[n]) for n = 0..8 */
static const char *const roots_hex[9] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

/* PATH(0, D[8]) */
static const char *const path0_hex[3] = {
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
};

static void unhex(const char *hex, uint8_t out[H])
{
    size_t n;
    assert_int_equal(sodium_hex2bin(out, H, hex, 64, NULL, &n, NULL), 0);
    assert_int_equal(n, H);
}

static uint8_t L[8][H];

static int setup(void **state)
{
    (void)state;
    if (sodium_init() < 0)
        return -1;
    for (int i = 0; i < 8; i++)
        merkle_leaf_hash(leaf_data[i], leaf_len[i], L[i]);
    return 0;
}

static uint64_t split(uint64_t n)
{
    uint64_t k = 1;
    while (k * 2 < n)
        k *= 2;
    return k;
}

static void mth(uint64_t lo, uint64_t hi, uint8_t out[H])
{
    if (hi == lo) {
        merkle_empty_root(out);
        return;
    }
    if (hi - lo == 1) {
        memcpy(out, L[lo], H);
        return;
    }
    uint64_t k = split(hi - lo);
    uint8_t a[H], b[H];
    mth(lo, lo + k, a);
    mth(lo + k, hi, b);
    merkle_node_hash(a, b, out);
}

/* RFC 9162 2.1.3.1 and 2.1.4.1, written out recursively. */
static size_t path(uint64_t m, uint64_t lo, uint64_t hi, uint8_t p[][H])
{
    if (hi - lo <= 1)
        return 0;
    uint64_t k = split(hi - lo);
    size_t c;
    if (m < k) {
        c = path(m, lo, lo + k, p);
        mth(lo + k, hi, p[c]);
    } else {
        c = path(m - k, lo + k, hi, p);
        mth(lo, lo + k, p[c]);
    }
    return c + 1;
}

static size_t subproof(uint64_t m, uint64_t lo, uint64_t hi, int b, uint8_t p[][H])
{
    uint64_t n = hi - lo;
    if (m == n) {
        if (b)
            return 0;
        mth(lo, hi, p[0]);
        return 1;
    }
    uint64_t k = split(n);
    size_t c;
    if (m <= k) {
        c = subproof(m, lo, lo + k, b, p);
        mth(lo + k, hi, p[c]);
    } else {
        c = subproof(m - k, lo + k, hi, 0, p);
        mth(lo, lo + k, p[c]);
    }
    return c + 1;
}

static void test_hashes(void **state)
{
    (void)state;
    uint8_t want[H], got[H];
    unhex(roots_hex[0], want);
    merkle_empty_root(got);
    assert_memory_equal(got, want, H);
    unhex(roots_hex[1], want); /* leaf("") = SHA-256(0x00) */
    assert_memory_equal(L[0], want, H);
    for (int n = 1; n <= 8; n++) {
        unhex(roots_hex[n], want);
        mth(0, (uint64_t)n, got);
        if (memcmp(got, want, H) != 0)
            fail_msg("MTH(D[%d]) differs from the published tree head", n);
    }
    /* the node hash is over 0x01 || left || right, and may write in place */
    uint8_t in[1 + 2 * H], a[H];
    in[0] = 0x01;
    memcpy(in + 1, L[1], H);
    memcpy(in + 1 + H, L[2], H);
    crypto_hash_sha256(want, in, sizeof(in));
    memcpy(a, L[1], H);
    merkle_node_hash(a, L[2], a);
    assert_memory_equal(a, want, H);
}

static void test_published_path(void **state)
{
    (void)state;
    uint8_t p[3][H], root[H];
    for (int i = 0; i < 3; i++)
        unhex(path0_hex[i], p[i]);
    unhex(roots_hex[8], root);
    assert_int_equal(merkle_verify_inclusion(0, 8, L[0], (const uint8_t(*)[H])p, 3, root), 0);
    uint8_t mine[MERKLE_PROOF_MAX][H];
    assert_int_equal(path(0, 0, 8, mine), 3);
    assert_memory_equal(mine, p, sizeof(p));
    assert_int_equal(merkle_verify_inclusion(1, 8, L[0], (const uint8_t(*)[H])p, 3, root), -1);
    /* the size enters only through the root: size 7 with this path gives
     * the root of 8, which is not the root of 7 */
    uint8_t root7[H];
    unhex(roots_hex[7], root7);
    assert_int_equal(merkle_verify_inclusion(0, 7, L[0], (const uint8_t(*)[H])p, 3, root7), -1);
    assert_int_equal(merkle_verify_inclusion(0, 4, L[0], (const uint8_t(*)[H])p, 3, root), -1);
    p[2][31] ^= 1;
    assert_int_equal(merkle_verify_inclusion(0, 8, L[0], (const uint8_t(*)[H])p, 3, root), -1);
}

static void test_all_inclusion(void **state)
{
    (void)state;
    for (uint64_t n = 1; n <= 8; n++)
        for (uint64_t m = 0; m < n; m++) {
            uint8_t p[MERKLE_PROOF_MAX][H], root[H];
            size_t c = path(m, 0, n, p);
            mth(0, n, root);
            const uint8_t(*cp)[H] = (const uint8_t(*)[H])p;
            assert_int_equal(merkle_verify_inclusion(m, n, L[m], cp, c, root), 0);
            assert_int_equal(merkle_verify_inclusion(m, n, L[(m + 1) % 8], cp, c, root), -1);
            for (size_t i = 0; i < c; i++) {
                p[i][i] ^= 0x10;
                assert_int_equal(merkle_verify_inclusion(m, n, L[m], cp, c, root), -1);
                p[i][i] ^= 0x10;
            }
            if (c > 0)
                assert_int_equal(merkle_verify_inclusion(m, n, L[m], cp, c - 1, root), -1);
            assert_int_equal(merkle_verify_inclusion(m, n, L[m], cp, c + 1, root), -1);
        }
}

static void test_all_consistency(void **state)
{
    (void)state;
    for (uint64_t n = 1; n <= 8; n++)
        for (uint64_t m = 1; m <= n; m++) {
            uint8_t p[MERKLE_PROOF_MAX][H], r1[H], r2[H];
            size_t c = m == n ? 0 : subproof(m, 0, n, 1, p);
            mth(0, m, r1);
            mth(0, n, r2);
            const uint8_t(*cp)[H] = (const uint8_t(*)[H])p;
            if (merkle_verify_consistency(m, n, r1, r2, cp, c) != 0)
                fail_msg("consistency %llu -> %llu", (unsigned long long)m, (unsigned long long)n);
            assert_int_equal(merkle_verify_consistency(m, n, r2, r1, cp, c), m == n ? 0 : -1);
            for (size_t i = 0; i < c; i++) {
                p[i][0] ^= 0x01;
                assert_int_equal(merkle_verify_consistency(m, n, r1, r2, cp, c), -1);
                p[i][0] ^= 0x01;
            }
            if (m < n) {
                assert_int_equal(merkle_verify_consistency(m, n, r1, r2, cp, c - 1), -1);
                assert_int_equal(merkle_verify_consistency(m, n, r1, r2, cp, c + 1), -1);
            } else {
                assert_int_equal(merkle_verify_consistency(m, n, r1, r2, cp, 1), -1);
            }
        }
}

static void test_edges(void **state)
{
    (void)state;
    uint8_t root[H], empty[H], p[MERKLE_PROOF_MAX + 1][H];
    memset(p, 0, sizeof(p));
    const uint8_t(*cp)[H] = (const uint8_t(*)[H])p;
    mth(0, 1, root);
    merkle_empty_root(empty);
    /* a tree of one: the leaf is the root, the path is empty */
    assert_int_equal(merkle_verify_inclusion(0, 1, L[0], NULL, 0, root), 0);
    assert_int_equal(merkle_verify_inclusion(1, 1, L[0], NULL, 0, root), -1);
    assert_int_equal(merkle_verify_inclusion(0, 0, L[0], NULL, 0, empty), -1);
    assert_int_equal(merkle_verify_inclusion(0, 2, L[0], NULL, 1, root), -1);
    assert_int_equal(merkle_verify_inclusion(UINT64_MAX, UINT64_MAX, L[0], cp, 3, root), -1);
    assert_int_equal(merkle_verify_inclusion(0, UINT64_MAX, L[0], cp, MERKLE_PROOF_MAX + 1, root),
                     -1);
    /* consistency special cases */
    assert_int_equal(merkle_verify_consistency(0, 5, NULL, root, NULL, 0), 0);
    assert_int_equal(merkle_verify_consistency(0, 0, NULL, empty, NULL, 0), 0);
    assert_int_equal(merkle_verify_consistency(0, 5, NULL, root, cp, 1), -1);
    assert_int_equal(merkle_verify_consistency(3, 3, root, root, NULL, 0), 0);
    assert_int_equal(merkle_verify_consistency(3, 3, root, empty, NULL, 0), -1);
    assert_int_equal(merkle_verify_consistency(3, 3, root, root, cp, 1), -1);
    assert_int_equal(merkle_verify_consistency(4, 3, root, root, NULL, 0), -1);
    assert_int_equal(merkle_verify_consistency(2, 3, root, root, NULL, 0), -1);
    assert_int_equal(merkle_verify_consistency(1, 9, root, root, cp, MERKLE_PROOF_MAX + 1), -1);
    assert_int_equal(merkle_verify_consistency(1, 2, NULL, root, cp, 1), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hashes),        cmocka_unit_test(test_published_path),
        cmocka_unit_test(test_all_inclusion), cmocka_unit_test(test_all_consistency),
        cmocka_unit_test(test_edges),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
