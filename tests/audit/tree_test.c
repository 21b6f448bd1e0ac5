/* The Merkle tree of the audit trail (audit/tree.c) against a naive
 * recursive RFC 6962 computation written here from the RFC: roots of every
 * size, every inclusion and consistency proof of small trees (and samples of
 * larger ones) accepted by common/merkle.h and refused once altered, the
 * stored nodes key by key, reopening, and the upgrade of a v1 log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <lmdb.h>
#include <sodium.h>

#include "audit/audit.h"
#include "common/merkle.h"
#include "tests/audit/testutil.h"

#define MAXN      70
#define ALL_PAIRS 40
#define H         32

typedef struct fixture {
    char dir[512];
    audit_log *log;
    uint8_t leaf[MAXN][H]; /* SHA-256(0x00 || stored entry bytes), computed here */
} fixture;

/* ---- the naive reference (RFC 6962 section 2.1) ------------------------- */

static void sha(uint8_t out[H], const uint8_t *a, size_t na, const uint8_t *b, size_t nb,
                const uint8_t *c, size_t nc)
{
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, a, na);
    crypto_hash_sha256_update(&st, b, nb);
    crypto_hash_sha256_update(&st, c, nc);
    crypto_hash_sha256_final(&st, out);
}

static uint64_t largest_pow2_below(uint64_t n)
{
    uint64_t k = 1;
    while (k * 2 < n)
        k *= 2;
    return k;
}

/* MTH(D[lo:hi]) by the recursive definition. */
static void mth(const fixture *f, uint64_t lo, uint64_t hi, uint8_t out[H])
{
    static const uint8_t one = 0x01;
    if (hi - lo == 0) {
        crypto_hash_sha256(out, NULL, 0);
        return;
    }
    if (hi - lo == 1) {
        memcpy(out, f->leaf[lo], H);
        return;
    }
    uint64_t k = largest_pow2_below(hi - lo);
    uint8_t l[H], r[H];
    mth(f, lo, lo + k, l);
    mth(f, lo + k, hi, r);
    sha(out, &one, 1, l, H, r, H);
}

static void append_entry(fixture *f, uint64_t i)
{
    char actor[64], ds[32];
    snprintf(actor, sizeof(actor), "spiffe://fi/researcher/r%llu", (unsigned long long)(i % 7));
    snprintf(ds, sizeof(ds), "fi/set%llu", (unsigned long long)(i % 3));
    uint64_t seq = tu_append(f->log, i % 2 ? AUDIT_KIND_ACCESS : AUDIT_KIND_CATALOG, actor, ds,
                             "DUO:0000007", i % 2 ? "permit" : NULL, NULL, 0);
    assert_int_equal(seq, i + 1);
}

/* Leaf hashes from the stored bytes, as an independent verifier would. */
static void read_leaves(fixture *f, uint64_t n)
{
    static const uint8_t zero = 0x00;
    tu_raw r;
    tu_raw_begin(&r, f->dir, "entries");
    for (uint64_t i = 0; i < n; i++) {
        uint8_t kb[8];
        for (int b = 0; b < 8; b++)
            kb[b] = (uint8_t)((i + 1) >> (56 - 8 * b));
        MDB_val k = {8, kb}, v;
        assert_int_equal(mdb_get(r.txn, r.dbi, &k, &v), 0);
        sha(f->leaf[i], &zero, 1, v.mv_data, v.mv_size, NULL, 0);
    }
    mdb_txn_abort(r.txn);
    mdb_env_close(r.env);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    tu_tmpdir(f->dir, sizeof(f->dir));
    f->log = tu_open(f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    audit_close(f->log);
    tu_rmrf(f->dir);
    free(f);
    return 0;
}

static void fill(fixture *f, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        append_entry(f, i);
    read_leaves(f, n);
}

/* ---- roots --------------------------------------------------------------- */

static void test_empty(void **state)
{
    fixture *f = *state;
    uint64_t size = 99;
    uint8_t root[H], want[H];
    ecl_err err;
    assert_int_equal(audit_tree_head(f->log, &size, root, &err), 0);
    assert_int_equal(size, 0);
    crypto_hash_sha256(want, NULL, 0);
    assert_memory_equal(root, want, H);
    assert_int_equal(audit_tree_root(f->log, 0, root, &err), 0);
    assert_memory_equal(root, want, H);
    assert_int_equal(audit_tree_root(f->log, 1, root, &err), -1);
    assert_int_equal(err.code, ECL_E_PRECONDITION);
    audit_proof p;
    assert_int_equal(audit_prove_inclusion(f->log, 1, 1, &p, &err), -1);
    assert_int_equal(err.code, ECL_E_PRECONDITION);
}

static void test_roots_every_size(void **state)
{
    fixture *f = *state;
    for (uint64_t i = 0; i < MAXN; i++) {
        append_entry(f, i);
        read_leaves(f, i + 1);
        uint64_t size;
        uint8_t root[H], want[H];
        ecl_err err;
        assert_int_equal(audit_tree_head(f->log, &size, root, &err), 0);
        assert_int_equal(size, i + 1);
        mth(f, 0, i + 1, want);
        if (memcmp(root, want, H) != 0)
            fail_msg("root of size %llu differs from the naive one", (unsigned long long)i + 1);
    }
    for (uint64_t n = 1; n <= MAXN; n++) {
        uint8_t root[H], want[H], leaf[H];
        ecl_err err;
        assert_int_equal(audit_tree_root(f->log, n, root, &err), 0);
        mth(f, 0, n, want);
        assert_memory_equal(root, want, H);
        assert_int_equal(audit_leaf_hash(f->log, n, leaf, &err), 0);
        assert_memory_equal(leaf, f->leaf[n - 1], H);
    }
    uint8_t root[H];
    ecl_err err;
    assert_int_equal(audit_tree_root(f->log, MAXN + 1, root, &err), -1);
    assert_int_equal(err.code, ECL_E_PRECONDITION);
    assert_int_equal(audit_leaf_hash(f->log, 0, root, &err), -1);
    assert_int_equal(err.code, ECL_E_PRECONDITION);
    assert_int_equal(audit_leaf_hash(f->log, MAXN + 1, root, &err), -1);
}

/* ---- proofs -------------------------------------------------------------- */

static void check_inclusion(fixture *f, uint64_t seq, uint64_t size)
{
    audit_proof p;
    ecl_err err;
    uint8_t root[H];
    mth(f, 0, size, root);
    if (audit_prove_inclusion(f->log, seq, size, &p, &err) != 0)
        fail_msg("prove_inclusion(%llu, %llu): %s", (unsigned long long)seq,
                 (unsigned long long)size, err.msg);
    const uint8_t *leaf = f->leaf[seq - 1];
    if (merkle_verify_inclusion(seq - 1, size, leaf, p.hash, p.n, root) != 0)
        fail_msg("inclusion of %llu in %llu does not verify", (unsigned long long)seq,
                 (unsigned long long)size);
    /* the proof against another size's tree (RFC 9162 binds the size only
     * through the root, so each wrong size is paired with its own root) */
    uint8_t other_root[H];
    if (size < MAXN) {
        mth(f, 0, size + 1, other_root);
        assert_int_equal(merkle_verify_inclusion(seq - 1, size + 1, leaf, p.hash, p.n, other_root),
                         -1);
    }
    if (seq < size) {
        mth(f, 0, size - 1, other_root);
        assert_int_equal(merkle_verify_inclusion(seq - 1, size - 1, leaf, p.hash, p.n, other_root),
                         -1);
    }
    assert_int_equal(merkle_verify_inclusion(size, size, leaf, p.hash, p.n, root), -1);
    if (size > 1) {
        uint64_t other = seq == size ? seq - 2 : seq;
        assert_int_equal(merkle_verify_inclusion(other, size, leaf, p.hash, p.n, root), -1);
    }
    /* a byte flipped in the leaf, the root, and every proof hash */
    uint8_t bad[H];
    memcpy(bad, leaf, H);
    bad[seq % H] ^= 0x01;
    assert_int_equal(merkle_verify_inclusion(seq - 1, size, bad, p.hash, p.n, root), -1);
    memcpy(bad, root, H);
    bad[0] ^= 0x80;
    assert_int_equal(merkle_verify_inclusion(seq - 1, size, leaf, p.hash, p.n, bad), -1);
    for (size_t i = 0; i < p.n; i++) {
        p.hash[i][(i * 7) % H] ^= 0x20;
        assert_int_equal(merkle_verify_inclusion(seq - 1, size, leaf, p.hash, p.n, root), -1);
        p.hash[i][(i * 7) % H] ^= 0x20;
    }
    /* one hash too few or too many */
    if (p.n > 0)
        assert_int_equal(merkle_verify_inclusion(seq - 1, size, leaf, p.hash, p.n - 1, root), -1);
    assert_int_equal(merkle_verify_inclusion(seq - 1, size, leaf, p.hash, p.n + 1, root), -1);
}

static void check_consistency(fixture *f, uint64_t old, uint64_t size)
{
    audit_proof p;
    ecl_err err;
    uint8_t r1[H], r2[H], bad[H];
    mth(f, 0, old, r1);
    mth(f, 0, size, r2);
    if (audit_prove_consistency(f->log, old, size, &p, &err) != 0)
        fail_msg("prove_consistency(%llu, %llu): %s", (unsigned long long)old,
                 (unsigned long long)size, err.msg);
    if (merkle_verify_consistency(old, size, r1, r2, p.hash, p.n) != 0)
        fail_msg("consistency %llu -> %llu does not verify (%zu hashes)", (unsigned long long)old,
                 (unsigned long long)size, p.n);
    if (old == size) {
        assert_int_equal(p.n, 0);
        memcpy(bad, r2, H);
        bad[3] ^= 1;
        assert_int_equal(merkle_verify_consistency(old, size, r1, bad, p.hash, p.n), -1);
        return;
    }
    memcpy(bad, r1, H);
    bad[5] ^= 1;
    assert_int_equal(merkle_verify_consistency(old, size, bad, r2, p.hash, p.n), -1);
    memcpy(bad, r2, H);
    bad[31] ^= 1;
    assert_int_equal(merkle_verify_consistency(old, size, r1, bad, p.hash, p.n), -1);
    for (size_t i = 0; i < p.n; i++) {
        p.hash[i][(i * 5) % H] ^= 0x04;
        assert_int_equal(merkle_verify_consistency(old, size, r1, r2, p.hash, p.n), -1);
        p.hash[i][(i * 5) % H] ^= 0x04;
    }
    if (size < MAXN) { /* wrong sizes, each with its own root */
        mth(f, 0, size + 1, bad);
        assert_int_equal(merkle_verify_consistency(old, size + 1, r1, bad, p.hash, p.n), -1);
    }
    if (old > 1) {
        mth(f, 0, old - 1, bad);
        assert_int_equal(merkle_verify_consistency(old - 1, size, bad, r2, p.hash, p.n), -1);
    }
    assert_int_equal(merkle_verify_consistency(size, old, r2, r1, p.hash, p.n), -1);
    assert_int_equal(merkle_verify_consistency(old, size, r1, r2, p.hash, p.n - 1), -1);
    assert_int_equal(merkle_verify_consistency(old, size, r1, r2, p.hash, p.n + 1), -1);
}

static void test_inclusion_proofs(void **state)
{
    fixture *f = *state;
    fill(f, MAXN);
    for (uint64_t size = 1; size <= ALL_PAIRS; size++)
        for (uint64_t seq = 1; seq <= size; seq++)
            check_inclusion(f, seq, size);
    for (uint64_t size = ALL_PAIRS + 1; size <= MAXN; size++) {
        check_inclusion(f, 1, size);
        check_inclusion(f, size, size);
        check_inclusion(f, 1 + (size * 13) % size, size);
        check_inclusion(f, size / 2, size);
    }
    audit_proof p;
    ecl_err err;
    assert_int_equal(audit_prove_inclusion(f->log, 0, 5, &p, &err), -1);
    assert_int_equal(err.code, ECL_E_PRECONDITION);
    assert_int_equal(audit_prove_inclusion(f->log, 6, 5, &p, &err), -1);
    assert_int_equal(err.code, ECL_E_PRECONDITION);
    assert_int_equal(audit_prove_inclusion(f->log, 1, MAXN + 1, &p, &err), -1);
    assert_int_equal(err.code, ECL_E_PRECONDITION);
}

static void test_consistency_proofs(void **state)
{
    fixture *f = *state;
    fill(f, MAXN);
    for (uint64_t size = 1; size <= ALL_PAIRS; size++)
        for (uint64_t old = 1; old <= size; old++)
            check_consistency(f, old, size);
    for (uint64_t size = ALL_PAIRS + 1; size <= MAXN; size++) {
        check_consistency(f, 1, size);
        check_consistency(f, size - 1, size);
        check_consistency(f, 32, size);
        check_consistency(f, 1 + (size * 7) % size, size);
    }
    audit_proof p;
    ecl_err err;
    assert_int_equal(audit_prove_consistency(f->log, 0, 5, &p, &err), -1);
    assert_int_equal(err.code, ECL_E_PRECONDITION);
    assert_int_equal(audit_prove_consistency(f->log, 6, 5, &p, &err), -1);
    assert_int_equal(audit_prove_consistency(f->log, 5, MAXN + 1, &p, &err), -1);
    assert_int_equal(err.code, ECL_E_PRECONDITION);
}

/* ---- what is stored ------------------------------------------------------ */

static uint64_t nodes_of(uint64_t m)
{
    return 2 * m - (uint64_t)__builtin_popcountll(m);
}

/* The sub-database `tree` holds exactly keys 0..N(n)-1, each the hash of
 * its subtree by the key formula of docs/audit-format.md. */
static void check_stored(fixture *f, uint64_t n)
{
    size_t want_count = (size_t)nodes_of(n);
    uint8_t(*want)[H] = calloc(want_count, H);
    uint8_t *seen = calloc(want_count, 1);
    assert_non_null(want);
    assert_non_null(seen);
    for (unsigned level = 0; ((uint64_t)1 << level) <= n; level++)
        for (uint64_t j = 0; ((j + 1) << level) <= n; j++) {
            uint64_t pos = nodes_of(j << level) + ((uint64_t)2 << level) - 2;
            assert_true(pos < want_count);
            assert_int_equal(seen[pos], 0);
            seen[pos] = 1;
            mth(f, j << level, (j + 1) << level, want[pos]);
        }
    tu_raw r;
    tu_raw_begin(&r, f->dir, "tree");
    MDB_cursor *c;
    assert_int_equal(mdb_cursor_open(r.txn, r.dbi, &c), 0);
    MDB_val k, v;
    uint64_t expect = 0;
    int rc;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT), expect++) {
        assert_int_equal(k.mv_size, 8);
        uint64_t key = 0;
        for (int b = 0; b < 8; b++)
            key = key << 8 | ((const uint8_t *)k.mv_data)[b];
        if (key != expect)
            fail_msg("tree key %llu where %llu was expected", (unsigned long long)key,
                     (unsigned long long)expect);
        assert_true(expect < want_count);
        assert_int_equal(seen[expect], 1);
        assert_int_equal(v.mv_size, H);
        if (memcmp(v.mv_data, want[expect], H) != 0)
            fail_msg("tree node at key %llu has the wrong hash", (unsigned long long)key);
    }
    assert_int_equal(rc, MDB_NOTFOUND);
    assert_int_equal(expect, want_count);
    mdb_cursor_close(c);
    mdb_txn_abort(r.txn);
    mdb_env_close(r.env);
    free(want);
    free(seen);
}

static void test_stored_nodes(void **state)
{
    fixture *f = *state;
    for (uint64_t i = 0; i < MAXN; i++) {
        append_entry(f, i);
        if (i + 1 == 1 || i + 1 == 2 || i + 1 == 7 || i + 1 == 8 || i + 1 == 33 || i + 1 == MAXN) {
            audit_close(f->log); /* raw LMDB needs the log closed */
            f->log = NULL;
            read_leaves(f, i + 1);
            check_stored(f, i + 1);
            f->log = tu_open(f->dir);
        }
    }
}

static void test_reopen(void **state)
{
    fixture *f = *state;
    fill(f, 21);
    uint8_t r1[H], r2[H], want[H];
    uint64_t n1, n2;
    ecl_err err;
    assert_int_equal(audit_tree_head(f->log, &n1, r1, &err), 0);
    audit_close(f->log);
    f->log = tu_open(f->dir);
    assert_int_equal(audit_tree_head(f->log, &n2, r2, &err), 0);
    assert_int_equal(n1, n2);
    assert_memory_equal(r1, r2, H);
    for (uint64_t i = 21; i < 45; i++)
        append_entry(f, i);
    read_leaves(f, 45);
    assert_int_equal(audit_tree_head(f->log, &n2, r2, &err), 0);
    assert_int_equal(n2, 45);
    mth(f, 0, 45, want);
    assert_memory_equal(r2, want, H);
    check_consistency(f, 21, 45);
    check_inclusion(f, 21, 45);
    audit_verify_report rep;
    if (audit_verify(f->log, &rep, &err) != 0)
        fail_msg("verify after reopen: %s", err.msg);
}

/* ---- the worked example of docs/audit-format.md ---------------------------- */

static FILE *open_doc(void)
{
    const char *rel = "docs/audit-format.md";
    FILE *fp = fopen(rel, "r");
    if (fp == NULL) {
        char path[1024];
        const char *src = getenv("TEST_SRCDIR");
        snprintf(path, sizeof(path), "%s/ecluse/%s", src ? src : ".", rel);
        fp = fopen(path, "r");
    }
    if (fp == NULL)
        fail_msg("docs/audit-format.md not found (declared as data of this test)");
    return fp;
}

/* The table after "<!-- tree-positions" agrees with the key formula, and a
 * real log of 5 entries stores exactly those keys with those subtrees. */
static void test_doc_example(void **state)
{
    fixture *f = *state;
    fill(f, 5);
    audit_close(f->log);
    f->log = NULL;
    check_stored(f, 5);
    FILE *fp = open_doc();
    char line[512];
    int in_table = 0, rows = 0;
    tu_raw r;
    tu_raw_begin(&r, f->dir, "tree");
    while (fgets(line, sizeof(line), fp)) {
        if (strncmp(line, "<!-- tree-positions", 19) == 0) {
            in_table = 1;
            continue;
        }
        if (!in_table)
            continue;
        if (line[0] != '|')
            break;
        unsigned long long pos, index, a, b;
        unsigned level;
        char ent[64];
        if (sscanf(line, "| %llu | %u | %llu | %63[^|]|", &pos, &level, &index, ent) != 4)
            continue; /* the header and its rule */
        if (sscanf(ent, "%llu..%llu", &a, &b) != 2) {
            assert_int_equal(sscanf(ent, "%llu", &a), 1);
            b = a;
        }
        assert_int_equal(pos, (unsigned long long)rows);
        assert_int_equal(nodes_of(index << level) + ((uint64_t)2 << level) - 2, pos);
        assert_int_equal(a, (index << level) + 1);
        assert_int_equal(b, (index + 1) << level);
        uint8_t kb[8], want[H];
        for (int i = 0; i < 8; i++)
            kb[i] = (uint8_t)(pos >> (56 - 8 * i));
        MDB_val k = {8, kb}, v;
        assert_int_equal(mdb_get(r.txn, r.dbi, &k, &v), 0);
        mth(f, a - 1, b, want);
        assert_int_equal(v.mv_size, H);
        assert_memory_equal(v.mv_data, want, H);
        rows++;
    }
    fclose(fp);
    mdb_txn_abort(r.txn);
    mdb_env_close(r.env);
    assert_int_equal(rows, 8);
    assert_int_equal(nodes_of(5), 8);
    f->log = tu_open(f->dir);
}

/* ---- format markers ------------------------------------------------------ */

static void set_format(const char *dir, const char *fmt)
{
    tu_raw r;
    tu_raw_begin(&r, dir, "meta");
    MDB_val k = {6, "format"}, v = {strlen(fmt), (void *)fmt};
    assert_int_equal(mdb_put(r.txn, r.dbi, &k, &v, 0), 0);
    tu_raw_commit(&r);
}

static void read_format(const char *dir, char *out, size_t cap)
{
    tu_raw r;
    tu_raw_begin(&r, dir, "meta");
    MDB_val k = {6, "format"}, v;
    assert_int_equal(mdb_get(r.txn, r.dbi, &k, &v), 0);
    assert_true(v.mv_size < cap);
    memcpy(out, v.mv_data, v.mv_size);
    out[v.mv_size] = '\0';
    mdb_txn_abort(r.txn);
    mdb_env_close(r.env);
}

/* A v1 log (no tree, old marker) is given its whole tree when opened. */
static void test_upgrade_v1(void **state)
{
    fixture *f = *state;
    fill(f, 37);
    audit_close(f->log);
    f->log = NULL;
    char fmt[64];
    read_format(f->dir, fmt, sizeof(fmt));
    assert_string_equal(fmt, "ecluse-audit-v2");
    tu_raw r; /* make it a v1 log: no tree, the old marker */
    tu_raw_begin(&r, f->dir, "tree");
    assert_int_equal(mdb_drop(r.txn, r.dbi, 1), 0);
    tu_raw_commit(&r);
    set_format(f->dir, "ecluse-audit-v1");

    f->log = tu_open(f->dir);
    uint64_t n;
    uint8_t root[H], want[H];
    ecl_err err;
    assert_int_equal(audit_tree_head(f->log, &n, root, &err), 0);
    assert_int_equal(n, 37);
    mth(f, 0, 37, want);
    assert_memory_equal(root, want, H);
    append_entry(f, 37);
    read_leaves(f, 38);
    check_inclusion(f, 38, 38);
    check_consistency(f, 37, 38);
    audit_close(f->log);
    f->log = NULL;
    read_format(f->dir, fmt, sizeof(fmt));
    assert_string_equal(fmt, "ecluse-audit-v2");
    check_stored(f, 38);
    f->log = tu_open(f->dir);
}

/* Any other marker is refused, naming it. */
static void test_unknown_format(void **state)
{
    fixture *f = *state;
    fill(f, 3);
    audit_close(f->log);
    f->log = NULL;
    set_format(f->dir, "ecluse-audit-v9");
    audit_log *log = NULL;
    ecl_err err;
    assert_int_equal(audit_open(f->dir, NULL, &log, &err), -1);
    assert_int_equal(err.code, ECL_E_INPUT);
    assert_non_null(strstr(err.msg, "ecluse-audit-v9"));
    set_format(f->dir, "ecluse-audit-v2");
    f->log = tu_open(f->dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roots_every_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inclusion_proofs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_consistency_proofs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stored_nodes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_v1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_doc_example, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_format, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
