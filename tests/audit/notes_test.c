/*
 * notes_test.c - the checkpoints a log keeps (audit_checkpoint_*,
 * audit_cosignature_*, audit_witnessed_*) and audit_verify_checkpoints, on a
 * real LMDB log, with notes signed by local test keys the way the gateway's
 * signer signs them (common/note.h).
 */
#include <setjmp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "audit/audit.h"
#include "common/bytes.h"
#include "common/merkle.h"
#include "common/note.h"
#include "tests/audit/testutil.h"

#define ORIGIN  "ecluse/audit/fi"
#define WITNESS "ecluse/witness/lu"

typedef struct fixture {
    char dir[4096];
    audit_log *log;
    uint8_t site_pk[32], site_sk[64];   /* the site's key */
    uint8_t old_pk[32], old_sk[64];     /* a retired key in its history */
    uint8_t wit_pk[32], wit_sk[64];     /* a witness's key */
    uint8_t other_pk[32], other_sk[64]; /* nobody's: an insider's fresh key */
} fixture;

static int setup(void **state)
{
    static fixture f;
    memset(&f, 0, sizeof(f));
    tu_tmpdir(f.dir, sizeof(f.dir));
    f.log = tu_open(f.dir);
    crypto_sign_keypair(f.site_pk, f.site_sk);
    crypto_sign_keypair(f.old_pk, f.old_sk);
    crypto_sign_keypair(f.wit_pk, f.wit_sk);
    crypto_sign_keypair(f.other_pk, f.other_sk);
    for (int i = 0; i < 20; i++)
        tu_append(f.log, AUDIT_KIND_ADMIN, "spiffe://fi/admin/a", NULL, NULL, NULL, NULL, 0);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    audit_close(f->log);
    tu_rmrf(f->dir);
    return 0;
}

/* A checkpoint of the log's first `size` entries signed with (pk, sk). */
static size_t sign_checkpoint(fixture *f, uint64_t size, const uint8_t *pk, const uint8_t *sk,
                              char *note, size_t cap, size_t *text_len)
{
    uint8_t root[32];
    ecl_err err;
    assert_int_equal(audit_tree_root(f->log, size, root, &err), 0);
    size_t len;
    assert_int_equal(ecl_checkpoint_format(ORIGIN, size, root, note, cap, text_len, &err), 0);
    uint8_t sig[64];
    crypto_sign_detached(sig, NULL, (const uint8_t *)note, *text_len, sk);
    len = *text_len;
    assert_int_equal(ecl_note_append_signature(note, cap, &len, *text_len, ORIGIN, pk, sig, &err),
                     0);
    return len;
}

/* The witness's cosignature line for a note's text. */
static size_t cosign(fixture *f, const char *note, size_t text_len, uint64_t when, char *line,
                     size_t cap)
{
    char msg[ECL_COSIG_MESSAGE_MAX], buf[8192];
    size_t msg_len, len = text_len;
    ecl_err err;
    assert_int_equal(ecl_cosig_message(note, text_len, when, msg, sizeof(msg), &msg_len, &err), 0);
    uint8_t sig[64];
    crypto_sign_detached(sig, NULL, (const uint8_t *)msg, msg_len, f->wit_sk);
    memcpy(buf, note, text_len);
    assert_int_equal(ecl_note_append_cosignature(buf, sizeof(buf), &len, text_len, WITNESS,
                                                 f->wit_pk, when, sig, &err),
                     0);
    size_t line_len = len - text_len - 1;
    assert_true(line_len < cap);
    memcpy(line, buf + text_len + 1, line_len);
    return line_len;
}

static int verify(fixture *f, audit_verify_report *rep, ecl_err *err)
{
    uint8_t keys[2][32];
    memcpy(keys[0], f->old_pk, 32);
    memcpy(keys[1], f->site_pk, 32);
    audit_witness_key w = {WITNESS, {0}};
    memcpy(w.pk, f->wit_pk, 32);
    audit_trust t = {ORIGIN, (const uint8_t(*)[32])keys, 2, &w, 1};
    memset(rep, 0, sizeof(*rep));
    return audit_verify_checkpoints(f->log, &t, rep, err);
}

static void test_checkpoints_and_cosignatures_are_kept_and_returned(void **state)
{
    fixture *f = *state;
    char note[4096], line[512];
    size_t text_len,
        len = sign_checkpoint(f, 12, f->old_pk, f->old_sk, note, sizeof(note), &text_len);
    ecl_err err;
    assert_int_equal(audit_checkpoint_put(f->log, 12, note, len, &err), 0);
    size_t line_len = cosign(f, note, text_len, 1700000000, line, sizeof(line));
    assert_int_equal(audit_cosignature_put(f->log, 12, WITNESS, line, line_len, &err), 0);
    len = sign_checkpoint(f, 20, f->site_pk, f->site_sk, note, sizeof(note), &text_len);
    assert_int_equal(audit_checkpoint_put(f->log, 20, note, len, &err), 0);

    uint64_t size = 99;
    assert_int_equal(audit_cosigned_size(f->log, WITNESS, &size, &err), 0);
    assert_int_equal(size, 12);
    assert_int_equal(audit_cosigned_size(f->log, "ecluse/witness/nobody", &size, &err), 0);
    assert_int_equal(size, 0);

    audit_note got;
    assert_int_equal(audit_checkpoint_get(f->log, 0, &got, &err), 0);
    assert_int_equal(got.size, 20);
    assert_int_equal(got.len, len);
    assert_memory_equal(got.text, note, len);
    assert_int_equal(audit_checkpoint_get(f->log, 12, &got, &err), 0);
    uint64_t when = 0;
    assert_int_equal(ecl_cosig_verify(got.text, got.len, WITNESS, f->wit_pk, &when, &err), 0);
    assert_int_equal(when, 1700000000);
    assert_int_equal(audit_checkpoint_get(f->log, 13, &got, &err), -1);
    assert_int_equal(err.code, ECL_E_NOT_FOUND);

    audit_verify_report rep;
    if (verify(f, &rep, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(rep.checkpoints, 2);
}

static void test_a_checkpoint_beyond_the_log_or_a_cosignature_without_one_is_refused(void **state)
{
    fixture *f = *state;
    char note[4096];
    size_t text_len,
        len = sign_checkpoint(f, 20, f->site_pk, f->site_sk, note, sizeof(note), &text_len);
    ecl_err err;
    assert_int_equal(audit_checkpoint_put(f->log, 21, note, len, &err), -1);
    assert_int_equal(err.code, ECL_E_PRECONDITION);
    assert_int_equal(audit_cosignature_put(f->log, 7, WITNESS, "x\n", 2, &err), -1);
    assert_int_equal(err.code, ECL_E_NOT_FOUND);
    assert_int_equal(audit_cosignature_put(f->log, 7, "bad name", "x\n", 2, &err), -1);
    assert_int_equal(err.code, ECL_E_USAGE);
}

static void test_a_checkpoint_signed_by_a_key_outside_the_history_is_caught(void **state)
{
    fixture *f = *state;
    char note[4096];
    size_t text_len,
        len = sign_checkpoint(f, 15, f->other_pk, f->other_sk, note, sizeof(note), &text_len);
    ecl_err err;
    assert_int_equal(audit_checkpoint_put(f->log, 15, note, len, &err), 0);
    audit_verify_report rep;
    assert_int_equal(verify(f, &rep, &err), -1);
    assert_int_equal(err.code, ECL_E_CRYPTO);
    assert_int_equal(rep.first_bad_seq, 15);
    assert_non_null(strstr(rep.reason, "checkpoint of 15 entries: not signed by any key"));
}

static void test_a_checkpoint_of_another_tree_is_caught(void **state)
{
    fixture *f = *state;
    char note[4096];
    size_t text_len;
    /* A checkpoint of 10 entries carrying the root of 11. */
    uint8_t root[32];
    ecl_err err;
    assert_int_equal(audit_tree_root(f->log, 11, root, &err), 0);
    assert_int_equal(ecl_checkpoint_format(ORIGIN, 10, root, note, sizeof(note), &text_len, &err),
                     0);
    uint8_t sig[64];
    crypto_sign_detached(sig, NULL, (const uint8_t *)note, text_len, f->site_sk);
    size_t len = text_len;
    assert_int_equal(ecl_note_append_signature(note, sizeof(note), &len, text_len, ORIGIN,
                                               f->site_pk, sig, &err),
                     0);
    assert_int_equal(audit_checkpoint_put(f->log, 10, note, len, &err), 0);
    audit_verify_report rep;
    assert_int_equal(verify(f, &rep, &err), -1);
    assert_int_equal(rep.first_bad_seq, 10);
    assert_non_null(strstr(rep.reason, "another root"));
}

static void test_a_forged_cosignature_is_caught(void **state)
{
    fixture *f = *state;
    char note[4096], line[512];
    size_t text_len,
        len = sign_checkpoint(f, 20, f->site_pk, f->site_sk, note, sizeof(note), &text_len);
    ecl_err err;
    assert_int_equal(audit_checkpoint_put(f->log, 20, note, len, &err), 0);
    size_t line_len = cosign(f, note, text_len, 1700000001, line, sizeof(line));
    line[line_len - 6] = line[line_len - 6] == 'A' ? 'B' : 'A';
    assert_int_equal(audit_cosignature_put(f->log, 20, WITNESS, line, line_len, &err), 0);
    audit_verify_report rep;
    assert_int_equal(verify(f, &rep, &err), -1);
    assert_int_equal(rep.first_bad_seq, 20);
    assert_non_null(strstr(rep.reason, "the cosignature of " WITNESS " does not verify"));
}

static void test_a_cut_log_is_caught_by_its_own_checkpoint(void **state)
{
    fixture *f = *state;
    char note[4096];
    size_t text_len,
        len = sign_checkpoint(f, 20, f->site_pk, f->site_sk, note, sizeof(note), &text_len);
    ecl_err err;
    assert_int_equal(audit_checkpoint_put(f->log, 20, note, len, &err), 0);
    audit_close(f->log);
    /* The insider removes the last entry and rewinds the head, but the
     * checkpoint of 20 stays. */
    uint8_t prev[70000];
    size_t n = tu_get_entry(f->dir, 19, prev, sizeof(prev));
    tu_del_entry(f->dir, 20);
    tu_raw r;
    tu_raw_begin(&r, f->dir, "meta");
    uint8_t head[40];
    ecl_put_u64be(head, 19);
    memcpy(head + 8, prev + n - 32, 32);
    MDB_val k = {4, "head"}, v = {40, head};
    assert_int_equal(mdb_put(r.txn, r.dbi, &k, &v, 0), 0);
    tu_raw_commit(&r);
    f->log = tu_open(f->dir);
    audit_verify_report rep;
    assert_int_equal(verify(f, &rep, &err), -1);
    assert_non_null(strstr(rep.reason, "the log is shorter than this signed checkpoint"));
}

static void test_the_witness_store_keeps_the_latest_note_per_site(void **state)
{
    fixture *f = *state;
    ecl_err err;
    audit_note got;
    assert_int_equal(audit_witnessed_get(f->log, "lu", &got, &err), -1);
    assert_int_equal(err.code, ECL_E_NOT_FOUND);
    assert_int_equal(audit_witnessed_put(f->log, "lu", 5, "five\n", 5, &err), 0);
    assert_int_equal(audit_witnessed_put(f->log, "lu", 9, "nine\n", 5, &err), 0);
    assert_int_equal(audit_witnessed_put(f->log, "de", 3, "three\n", 6, &err), 0);
    assert_int_equal(audit_witnessed_get(f->log, "lu", &got, &err), 0);
    assert_int_equal(got.size, 9);
    assert_string_equal(got.text, "nine\n");
    assert_int_equal(audit_witnessed_get(f->log, "de", &got, &err), 0);
    assert_int_equal(got.size, 3);
    char big[AUDIT_NOTE_MAX + 2];
    memset(big, 'x', sizeof(big));
    assert_int_equal(audit_witnessed_put(f->log, "lu", 10, big, sizeof(big), &err), -1);
    assert_int_equal(err.code, ECL_E_USAGE);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_checkpoints_and_cosignatures_are_kept_and_returned,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_checkpoint_beyond_the_log_or_a_cosignature_without_one_is_refused, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_a_checkpoint_signed_by_a_key_outside_the_history_is_caught, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_checkpoint_of_another_tree_is_caught, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_forged_cosignature_is_caught, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_cut_log_is_caught_by_its_own_checkpoint, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_the_witness_store_keeps_the_latest_note_per_site,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
