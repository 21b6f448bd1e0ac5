/* Tampering with stored entries through raw LMDB is caught by audit_verify,
 * which names the first bad sequence number. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "audit/audit.h"
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

/* The whole tail re-hashed consistently (what an insider with the code
 * could do): the chain verifies, the checkpoint signed earlier does not. */
static void test_consistent_rewrite_caught_by_checkpoint(void **state)
{
    fixture *f = *state;
    unsigned char pk[32], sk[64];
    crypto_sign_keypair(pk, sk);
    audit_log *log = tu_open(f->dir);
    audit_signed_checkpoint sc;
    ecl_err err;
    assert_int_equal(audit_checkpoint_sign(log, "fi", pk, tu_sign_checkpoint, sk, &sc, &err), 0);
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
    audit_verify_report rep = tu_verify(f->dir, &err);
    assert_int_equal(rep.ok, 0);
    assert_int_equal(rep.first_bad_seq, N);
    assert_non_null(strstr(rep.reason, "entries 1..6 were rewritten"));
    /* and the checkpoint, checked on its own, says the same */
    log = tu_open(f->dir);
    assert_int_equal(audit_checkpoint_check(log, &sc, pk, &err), -1);
    assert_int_equal(err.code, ECL_E_CRYPTO);
    assert_non_null(strstr(err.msg, "entry 6"));
    audit_close(log);
    sodium_memzero(sk, sizeof(sk));
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
    };
    return cmocka_run_group_tests_name("audit_tamper", tests, NULL, NULL);
}
