/* Tampering with stored entries through raw LMDB is caught by audit_verify,
 * which names the first bad sequence number. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "audit/audit.h"
#include "common/bytes.h"
#include "common/merkle.h"
#include "tests/audit/testutil.h"

#define N 6

typedef struct fixture {
    char dir[512];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    tu_tmpdir(f->dir, sizeof(f->dir));
    audit_log *log = tu_open(f->dir);
    const char *a = "spiffe://fi/researcher/alice";
    tu_append(log, AUDIT_KIND_ACCESS, a, "fi/cohort", "DUO:0000007", "permit", NULL, 0);
    tu_append(log, AUDIT_KIND_READ_START, a, "fi/cohort", "DUO:0000007", NULL, "r1", 0);
    tu_append(log, AUDIT_KIND_READ_END, a, "fi/cohort", "DUO:0000007", NULL, "r1", 4096);
    tu_append(log, AUDIT_KIND_ACCESS, a, "fi/images", "DUO:0000007", "deny", NULL, 0);
    tu_append(log, AUDIT_KIND_CATALOG, "spiffe://fi/admin/root", NULL, NULL, NULL, NULL, 0);
    tu_append(log, AUDIT_KIND_PEER, "spiffe://fi/admin/root", NULL, NULL, NULL, NULL, 0);
    audit_close(log);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tu_rmrf(f->dir);
    free(f);
    return 0;
}

static void expect_bad(const char *dir, uint64_t seq, const char *why)
{
    ecl_err err;
    audit_verify_report rep = tu_verify(dir, &err);
    assert_int_equal(rep.ok, 0);
    assert_int_equal(err.code, ECL_E_CRYPTO);
    if (rep.first_bad_seq != seq)
        fail_msg("first bad seq %llu, expected %llu (%s)", (unsigned long long)rep.first_bad_seq,
                 (unsigned long long)seq, rep.reason);
    assert_int_equal(rep.entries, seq - 1);
    char want[64];
    snprintf(want, sizeof(want), "seq %llu:", (unsigned long long)seq);
    assert_non_null(strstr(err.msg, want));
    if (why && strstr(rep.reason, why) == NULL)
        fail_msg("reason '%s' does not say '%s'", rep.reason, why);
}

static void expect_ok(const char *dir, uint64_t entries)
{
    ecl_err err;
    audit_verify_report rep = tu_verify(dir, &err);
    if (!rep.ok)
        fail_msg("verify: %s", err.msg);
    assert_int_equal(rep.entries, entries);
    assert_int_equal(rep.first_bad_seq, 0);
}

/* Every byte of the first, a middle and the last entry, one at a time. */
static void test_every_single_byte(void **state)
{
    fixture *f = *state;
    expect_ok(f->dir, N);
    const uint64_t which[] = {1, 3, N};
    for (size_t w = 0; w < 3; w++) {
        uint8_t orig[4096], mod[4096];
        size_t len = tu_get_entry(f->dir, which[w], orig, sizeof(orig));
        for (size_t i = 0; i < len; i++) {
            memcpy(mod, orig, len);
            mod[i] ^= (uint8_t)(i % 2 ? 0x01 : 0x80);
            tu_put_entry(f->dir, which[w], mod, len);
            expect_bad(f->dir, which[w], NULL);
        }
        tu_put_entry(f->dir, which[w], orig, len);
        expect_ok(f->dir, N);
    }
}

static void test_truncated_and_extended_entry(void **state)
{
    fixture *f = *state;
    uint8_t orig[4096];
    size_t len = tu_get_entry(f->dir, 2, orig, sizeof(orig));
    tu_put_entry(f->dir, 2, orig, len - 1);
    expect_bad(f->dir, 2, "malformed");
    tu_put_entry(f->dir, 2, orig, 10);
    expect_bad(f->dir, 2, "shorter");
    uint8_t longer[4097];
    memcpy(longer, orig, len);
    longer[len] = 0;
    tu_put_entry(f->dir, 2, longer, len + 1);
    expect_bad(f->dir, 2, NULL);
}

static void test_delete_middle(void **state)
{
    fixture *f = *state;
    tu_del_entry(f->dir, 4);
    expect_bad(f->dir, 4, "missing");
}

static void test_delete_first(void **state)
{
    fixture *f = *state;
    tu_del_entry(f->dir, 1);
    expect_bad(f->dir, 1, "missing");
}

static void test_delete_last(void **state)
{
    fixture *f = *state;
    tu_del_entry(f->dir, N);
    expect_bad(f->dir, N, "missing");
}

static void test_swap_two(void **state)
{
    fixture *f = *state;
    uint8_t a[4096], b[4096];
    size_t la = tu_get_entry(f->dir, 2, a, sizeof(a));
    size_t lb = tu_get_entry(f->dir, 5, b, sizeof(b));
    tu_put_entry(f->dir, 2, b, lb);
    tu_put_entry(f->dir, 5, a, la);
    expect_bad(f->dir, 2, "swapped");
}

static void test_swap_neighbours(void **state)
{
    fixture *f = *state;
    uint8_t a[4096], b[4096];
    size_t la = tu_get_entry(f->dir, 5, a, sizeof(a));
    size_t lb = tu_get_entry(f->dir, 6, b, sizeof(b));
    tu_put_entry(f->dir, 5, b, lb);
    tu_put_entry(f->dir, 6, a, la);
    expect_bad(f->dir, 5, NULL);
}

/* An entry appended behind the log's back (head not updated). */
static void test_insert_beyond_head(void **state)
{
    fixture *f = *state;
    uint8_t a[4096];
    size_t la = tu_get_entry(f->dir, N, a, sizeof(a));
    tu_put_entry(f->dir, N + 1, a, la);
    expect_bad(f->dir, N + 1, "beyond");
}

/* Rebuild the whole tree of `dir`'s first n entries from their stored
 * bytes, in post-order (the order of the keys), as an insider with the code
 * could. */
static void rebuild_tree(const char *dir, uint64_t n)
{
    uint8_t(*leaves)[32] = calloc(n, 32);
    assert_non_null(leaves);
    uint8_t rec[4096];
    for (uint64_t s = 1; s <= n; s++)
        merkle_leaf_hash(rec, tu_get_entry(dir, s, rec, sizeof(rec)), leaves[s - 1]);
    tu_raw r;
    tu_raw_begin(&r, dir, "tree");
    assert_int_equal(mdb_drop(r.txn, r.dbi, 0), 0);
    uint8_t stack[64][32];
    unsigned height[64], top = 0;
    uint64_t pos = 0;
    for (uint64_t i = 0; i < n; i++) {
        memcpy(stack[top], leaves[i], 32);
        height[top++] = 0;
        for (;;) {
            uint8_t kb[8];
            ecl_put_u64be(kb, pos++);
            MDB_val k = {8, kb}, v = {32, stack[top - 1]};
            assert_int_equal(mdb_put(r.txn, r.dbi, &k, &v, 0), 0);
            if (top < 2 || height[top - 2] != height[top - 1])
                break;
            merkle_node_hash(stack[top - 2], stack[top - 1], stack[top - 2]);
            height[top - 2]++;
            top--;
        }
    }
    tu_raw_commit(&r);
    free(leaves);
}

/* The whole tail re-hashed consistently, the tree rebuilt too (what an
 * insider with the code could do): the chain and the tree verify, the
 * checkpoint signed earlier does not. */
static void test_consistent_rewrite_caught_by_checkpoint(void **state)
{
    fixture *f = *state;
    unsigned char pk[32], sk[64];
    crypto_sign_keypair(pk, sk);
    audit_log *log = tu_open(f->dir);
    tu_checkpoint(log, "fi", pk, sk);
    audit_close(log);
    expect_ok(f->dir, N);
    /* change entry 3 ("fi/cohort" -> "fi/cohorX") and re-hash 3..N and the head */
    uint8_t prev[32], rec[4096];
    size_t len = tu_get_entry(f->dir, 2, rec, sizeof(rec));
    memcpy(prev, rec + len - 32, 32);
    for (uint64_t s = 3; s <= N; s++) {
        len = tu_get_entry(f->dir, s, rec, sizeof(rec));
        if (s == 3) {
            uint8_t *p = memmem(rec, len, "fi/cohort", 9);
            assert_non_null(p);
            p[8] = 'X';
        }
        memcpy(rec + 17, prev, 32);
        crypto_generichash_state st;
        crypto_generichash_init(&st, NULL, 0, 32);
        crypto_generichash_update(&st, (const uint8_t *)"ecluse-audit-v1", 16);
        crypto_generichash_update(&st, rec, len - 32);
        crypto_generichash_final(&st, rec + len - 32, 32);
        memcpy(prev, rec + len - 32, 32);
        tu_put_entry(f->dir, s, rec, len);
    }
    tu_raw r;
    tu_raw_begin(&r, f->dir, "meta");
    uint8_t hv[40] = {0, 0, 0, 0, 0, 0, 0, N};
    memcpy(hv + 8, prev, 32);
    MDB_val k = {4, "head"}, v = {40, hv};
    assert_int_equal(mdb_put(r.txn, r.dbi, &k, &v, 0), 0);
    tu_raw_commit(&r);
    /* the tree, not recomputed yet, names the changed entry itself */
    ecl_err err;
    audit_verify_report rep = tu_verify(f->dir, &err);
    assert_int_equal(rep.ok, 0);
    assert_int_equal(rep.first_bad_seq, 3);
    assert_non_null(strstr(rep.reason, "tree node at level 0 index 2 differs"));
    /* with the tree rebuilt (and the index row of "fi/cohorX" added, which
     * leaves the old row dangling: ignore the index check here), only the
     * checkpoint tells */
    rebuild_tree(f->dir, N);
    log = tu_open(f->dir);
    uint8_t keys[1][32];
    memcpy(keys[0], pk, 32);
    audit_trust trust = {"ecluse/audit/fi", (const uint8_t(*)[32])keys, 1, NULL, 0};
    memset(&rep, 0, sizeof(rep));
    assert_int_equal(audit_verify_checkpoints(log, &trust, &rep, &err), -1);
    assert_int_equal(err.code, ECL_E_CRYPTO);
    assert_int_equal(rep.first_bad_seq, N);
    assert_non_null(strstr(rep.reason, "the tree of the entries has another root"));
    audit_close(log);
    sodium_memzero(sk, sizeof(sk));
}

/* ---- the tree and the indexes --------------------------------------------- */

static void raw_put(const char *dir, const char *db, const void *key, size_t klen, const void *val,
                    size_t vlen)
{
    tu_raw r;
    tu_raw_begin(&r, dir, db);
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    assert_int_equal(mdb_put(r.txn, r.dbi, &k, &v, 0), 0);
    tu_raw_commit(&r);
}

static void raw_del(const char *dir, const char *db, const void *key, size_t klen, const void *val,
                    size_t vlen)
{
    tu_raw r;
    tu_raw_begin(&r, dir, db);
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    assert_int_equal(mdb_del(r.txn, r.dbi, &k, val ? &v : NULL), 0);
    tu_raw_commit(&r);
}

static void be64(uint64_t x, uint8_t b[8])
{
    for (int i = 7; i >= 0; i--, x >>= 8)
        b[i] = (uint8_t)x;
}

/* Node (level 1, index 1) covers entries 3 and 4; its post-order key is
 * N(2) + 2 = 5 (docs/audit-format.md). */
static void test_tree_node_altered(void **state)
{
    fixture *f = *state;
    uint8_t key[8], h[32];
    be64(5, key);
    tu_raw r;
    tu_raw_begin(&r, f->dir, "tree");
    MDB_val k = {8, key}, v;
    assert_int_equal(mdb_get(r.txn, r.dbi, &k, &v), 0);
    assert_int_equal(v.mv_size, 32);
    memcpy(h, v.mv_data, 32);
    mdb_txn_abort(r.txn);
    mdb_env_close(r.env);
    h[17] ^= 0x40;
    raw_put(f->dir, "tree", key, 8, h, 32);
    expect_bad(f->dir, 3, "tree node at level 1 index 1 differs");
}

/* The root over entries 1..4 (level 2, index 0, key 6) deleted; and a node
 * added beyond the tree of 6 entries (leaf 6, key N(6) = 10). */
static void test_tree_node_missing_or_extra(void **state)
{
    fixture *f = *state;
    uint8_t key[8], h[32] = {1};
    be64(6, key);
    raw_del(f->dir, "tree", key, 8, NULL, 0);
    expect_bad(f->dir, 1, "tree node at level 2 index 0 is missing");
    audit_log *log = NULL; /* a log with a damaged tree opens, but refuses appends */
    ecl_err err;
    assert_int_equal(audit_open(f->dir, NULL, &log, &err), 0);
    audit_entry e = {.kind = AUDIT_KIND_ADMIN, .actor = "spiffe://fi/admin/root"};
    assert_int_equal(audit_append(log, &e, NULL, &err), -1);
    assert_int_equal(err.code, ECL_E_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "tree"));
    audit_close(log);
    teardown(state); /* a fresh log for the second half */
    setup(state);
    f = *state;
    be64(10, key);
    raw_put(f->dir, "tree", key, 8, h, 32);
    expect_bad(f->dir, N + 1, "beyond the tree of 6 entries");
}

static void test_index_row_deleted(void **state)
{
    fixture *f = *state;
    uint8_t seq[8];
    be64(4, seq);
    raw_del(f->dir, "by_dataset", "fi/images", 9, seq, 8);
    expect_bad(f->dir, 4, "missing from by_dataset");
}

static void test_time_row_deleted(void **state)
{
    fixture *f = *state;
    uint8_t rec[4096], seq[8];
    tu_get_entry(f->dir, 2, rec, sizeof(rec));
    be64(2, seq);
    raw_del(f->dir, "by_time", rec + 9, 8, seq, 8); /* time_ns sits at offset 9 */
    expect_bad(f->dir, 2, "missing from by_time");
}

static void test_index_row_added(void **state)
{
    fixture *f = *state;
    uint8_t seq[8];
    be64(2, seq);
    const char *m = "spiffe://fi/researcher/mallory";
    raw_put(f->dir, "by_actor", m, strlen(m), seq, 8);
    expect_bad(f->dir, 2,
               "by_actor row 'spiffe://fi/researcher/mallory' points to seq 2 whose actor is "
               "'spiffe://fi/researcher/alice'");
}

/* A row pointing at an entry that does not exist, and a second row for a
 * value that exists (the decision of entry 1 under "deny" as well). */
static void test_index_rows_added_elsewhere(void **state)
{
    fixture *f = *state;
    uint8_t seq[8];
    be64(1, seq);
    raw_put(f->dir, "by_decision", "deny", 4, seq, 8);
    expect_bad(f->dir, 1, "by_decision row 'deny' points to seq 1 whose decision is 'permit'");
    raw_del(f->dir, "by_decision", "deny", 4, seq, 8);
    expect_ok(f->dir, N);
    be64(N + 3, seq);
    raw_put(f->dir, "by_kind", "access", 6, seq, 8);
    expect_bad(f->dir, N + 3, "which is not an entry of the log");
}

/* ---- a log large enough for the parallel check ------------------------------
 * From 8192 entries audit_verify splits the work over threads, in blocks of
 * 2^b leaves (b = 9 for 9000 entries on two cores): nodes inside a block,
 * block roots, the nodes above them and the last node are each checked by
 * another part of the code. */

#define BIG 9000u

typedef struct big_arg {
    audit_log *log;
    unsigned n;
} big_arg;

static void *big_writer(void *p)
{
    big_arg *a = p;
    for (unsigned i = 0; i < a->n; i++)
        tu_append(a->log, i % 3 ? AUDIT_KIND_ACCESS : AUDIT_KIND_CATALOG,
                  i % 2 ? "spiffe://fi/researcher/alice" : "spiffe://fi/researcher/bob",
                  "fi/cohort", "DUO:0000007", i % 3 ? "permit" : NULL, NULL, 0);
    return NULL;
}

static uint64_t nodes_of(uint64_t m)
{
    return 2 * m - (uint64_t)__builtin_popcountll(m);
}

static uint64_t pos_of(unsigned level, uint64_t index)
{
    return nodes_of(index << level) + ((uint64_t)2 << level) - 2;
}

static void tree_get(const char *dir, uint64_t pos, uint8_t h[32])
{
    uint8_t key[8];
    be64(pos, key);
    tu_raw r;
    tu_raw_begin(&r, dir, "tree");
    MDB_val k = {8, key}, v;
    assert_int_equal(mdb_get(r.txn, r.dbi, &k, &v), 0);
    assert_int_equal(v.mv_size, 32);
    memcpy(h, v.mv_data, 32);
    mdb_txn_abort(r.txn);
    mdb_env_close(r.env);
}

/* Change (or delete) the node (level, index), expect verify to name `seq`
 * and say `why`, then put it back. */
static void big_node(const char *dir, unsigned level, uint64_t index, int del, uint64_t seq,
                     const char *why)
{
    uint8_t key[8], orig[32], h[32];
    uint64_t pos = pos_of(level, index);
    be64(pos, key);
    tree_get(dir, pos, orig);
    if (del) {
        raw_del(dir, "tree", key, 8, NULL, 0);
    } else {
        memcpy(h, orig, 32);
        h[9] ^= 0x02;
        raw_put(dir, "tree", key, 8, h, 32);
    }
    expect_bad(dir, seq, why);
    raw_put(dir, "tree", key, 8, orig, 32);
}

static void test_big_log(void **state)
{
    fixture *f = *state;
    teardown(state); /* the small log of setup is not used here */
    setup(state);
    f = *state;
    audit_log *log = tu_open(f->dir);
    enum { WRITERS = 30 };
    pthread_t th[WRITERS];
    big_arg a[WRITERS];
    for (unsigned i = 0; i < WRITERS; i++) {
        a[i].log = log;
        a[i].n = (BIG - N) / WRITERS + (i == 0 ? (BIG - N) % WRITERS : 0);
        assert_int_equal(pthread_create(&th[i], NULL, big_writer, &a[i]), 0);
    }
    for (unsigned i = 0; i < WRITERS; i++)
        pthread_join(th[i], NULL);
    audit_close(log);
    ecl_err err;
    audit_verify_report rep = tu_verify(f->dir, &err);
    if (!rep.ok)
        fail_msg("verify: %s", err.msg);
    assert_int_equal(rep.entries, BIG);
    assert_int_equal(rep.tree_nodes, nodes_of(BIG));
    assert_true(rep.index_rows >= 4 * (uint64_t)BIG);

    big_node(f->dir, 0, 4999, 0, 5000, "tree node at level 0 index 4999 differs"); /* a leaf */
    big_node(f->dir, 4, 300, 0, 4801, "tree node at level 4 index 300 differs");   /* in a block */
    big_node(f->dir, 9, 10, 1, 5121, "tree node at level 9 index 10 is missing"); /* a block root */
    big_node(f->dir, 11, 1, 0, 2049, "tree node at level 11 index 1 differs");    /* above */
    big_node(f->dir, 13, 0, 1, 1, "tree node at level 13 index 0 is missing");
    /* 9000 = 8192 + 512 + 256 + 32 + 8: the last node is the peak over 8993..9000 */
    big_node(f->dir, 3, 1124, 1, 8993, "tree node at level 3 index 1124 is missing");
    expect_ok(f->dir, BIG);

    uint8_t orig[4096], mod[4096]; /* and an entry in the second worker's range */
    size_t len = tu_get_entry(f->dir, 7000, orig, sizeof(orig));
    memcpy(mod, orig, len);
    mod[60] ^= 0x01;
    tu_put_entry(f->dir, 7000, mod, len);
    expect_bad(f->dir, 7000, NULL);
    tu_put_entry(f->dir, 7000, orig, len);
    uint8_t seq[8]; /* an index row of an entry in the middle */
    be64(4321, seq);
    raw_del(f->dir, "by_dataset", "fi/cohort", 9, seq, 8);
    expect_bad(f->dir, 4321, "missing from by_dataset");
}

/* Appends after the last entry was deleted leave a gap verify names. */
static void test_append_after_deletion_keeps_gap(void **state)
{
    fixture *f = *state;
    tu_del_entry(f->dir, N);
    audit_log *log = tu_open(f->dir);
    uint64_t s =
        tu_append(log, AUDIT_KIND_ADMIN, "spiffe://fi/admin/root", NULL, NULL, NULL, NULL, 0);
    assert_int_equal(s, N + 1);
    audit_close(log);
    expect_bad(f->dir, N, "missing");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_single_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_and_extended_entry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_middle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_last, setup, teardown),
        cmocka_unit_test_setup_teardown(test_swap_two, setup, teardown),
        cmocka_unit_test_setup_teardown(test_swap_neighbours, setup, teardown),
        cmocka_unit_test_setup_teardown(test_insert_beyond_head, setup, teardown),
        cmocka_unit_test_setup_teardown(test_consistent_rewrite_caught_by_checkpoint, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_append_after_deletion_keeps_gap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tree_node_altered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tree_node_missing_or_extra, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_row_deleted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time_row_deleted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_row_added, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_rows_added_elsewhere, setup, teardown),
        cmocka_unit_test_setup_teardown(test_big_log, setup, teardown),
    };
    return cmocka_run_group_tests_name("audit_tamper", tests, NULL, NULL);
}
