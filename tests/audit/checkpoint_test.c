/* Checkpoints: sign, decode (with every malformed case), verify against the
 * chain, and the witness store's refusals. */
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

#define ADMIN "spiffe://fi/admin/root"

typedef struct fixture {
    char dir_a[512], dir_b[512], dir_w[512];
    audit_log *a, *b, *w; /* site "lu" twice (a, and a fork b), witness site "fi" */
    uint8_t pk[32], sk[64], other_pk[32], other_sk[64];
} fixture;

static void add(audit_log *log, int n)
{
    for (int i = 0; i < n; i++)
        tu_append(log, AUDIT_KIND_ADMIN, ADMIN, NULL, NULL, NULL, NULL, 0);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    tu_tmpdir(f->dir_a, sizeof(f->dir_a));
    tu_tmpdir(f->dir_b, sizeof(f->dir_b));
    tu_tmpdir(f->dir_w, sizeof(f->dir_w));
    f->a = tu_open(f->dir_a);
    f->b = tu_open(f->dir_b);
    f->w = tu_open(f->dir_w);
    crypto_sign_keypair(f->pk, f->sk);
    crypto_sign_keypair(f->other_pk, f->other_sk);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    audit_close(f->a);
    audit_close(f->b);
    audit_close(f->w);
    tu_rmrf(f->dir_a);
    tu_rmrf(f->dir_b);
    tu_rmrf(f->dir_w);
    sodium_memzero(f->sk, sizeof(f->sk));
    sodium_memzero(f->other_sk, sizeof(f->other_sk));
    free(f);
    return 0;
}

static void sign(fixture *f, audit_log *log, audit_signed_checkpoint *sc)
{
    ecl_err err;
    if (audit_checkpoint_sign(log, "lu", f->pk, tu_sign_checkpoint, f->sk, sc, &err) != 0)
        fail_msg("sign: %s", err.msg);
}

static void test_sign_decode_check(void **state)
{
    fixture *f = *state;
    ecl_err err;
    audit_signed_checkpoint sc, latest;
    assert_int_equal(audit_checkpoint_latest(f->a, &latest, &err), -1);
    assert_int_equal(err.code, ECL_E_NOT_FOUND);
    sign(f, f->a, &sc); /* of an empty log */
    add(f->a, 5);
    audit_signed_checkpoint sc5;
    sign(f, f->a, &sc5);
    assert_int_equal(audit_checkpoint_latest(f->a, &latest, &err), 0);
    assert_int_equal(latest.body_len, sc5.body_len);
    assert_memory_equal(latest.body, sc5.body, sc5.body_len);
    assert_memory_equal(latest.sig, sc5.sig, 64);

    audit_checkpoint ck;
    assert_int_equal(audit_checkpoint_open(&sc5, f->pk, &ck, &err), 0);
    assert_string_equal(ck.site, "lu");
    assert_int_equal(ck.entry_count, 5);
    assert_memory_equal(ck.signing_key, f->pk, 32);
    uint64_t count;
    uint8_t head[32];
    assert_int_equal(audit_head(f->a, &count, head, &err), 0);
    assert_memory_equal(ck.head_hash, head, 32);
    assert_int_equal(sc5.body_len, 83 + 2); /* the documented layout */
    assert_int_equal(audit_checkpoint_check(f->a, &sc, f->pk, &err), 0);
    assert_int_equal(audit_checkpoint_check(f->a, &sc5, f->pk, &err), 0);
    add(f->a, 3); /* an older checkpoint still agrees with a longer log */
    assert_int_equal(audit_checkpoint_check(f->a, &sc5, NULL, &err), 0);
    audit_verify_report rep;
    assert_int_equal(audit_verify(f->a, &rep, &err), 0);
    assert_int_equal(rep.checkpoints, 2);
    assert_int_equal(rep.entries, 8);

    /* against a log that is shorter, or another log of the same length */
    assert_int_equal(audit_checkpoint_check(f->b, &sc5, f->pk, &err), -1);
    assert_int_equal(err.code, ECL_E_PRECONDITION);
    assert_non_null(strstr(err.msg, "claims 5 entries, the log has 0"));
    add(f->b, 5);
    assert_int_equal(audit_checkpoint_check(f->b, &sc5, f->pk, &err), -1);
    assert_int_equal(err.code, ECL_E_CRYPTO);
    assert_non_null(strstr(err.msg, "entry 5"));
}

static void test_signature_refusals(void **state)
{
    fixture *f = *state;
    ecl_err err;
    audit_checkpoint ck;
    add(f->a, 2);
    audit_signed_checkpoint sc, bad;
    sign(f, f->a, &sc);
    assert_int_equal(audit_checkpoint_open(&sc, f->other_pk, &ck, &err), -1);
    assert_int_equal(err.code, ECL_E_CRYPTO);
    assert_non_null(strstr(err.msg, "pinned key"));
    for (size_t i = 0; i < sc.body_len; i++) { /* any changed byte of the body */
        bad = sc;
        bad.body[i] ^= 0x20;
        assert_int_equal(audit_checkpoint_open(&bad, f->pk, &ck, &err), -1);
        assert_int_equal(err.code, ECL_E_CRYPTO);
        assert_int_equal(audit_checkpoint_open(&bad, NULL, &ck, &err), -1);
    }
    bad = sc;
    bad.sig[10] ^= 1;
    assert_int_equal(audit_checkpoint_open(&bad, NULL, &ck, &err), -1);
    assert_int_equal(err.code, ECL_E_CRYPTO);
    assert_non_null(strstr(err.msg, "signature does not verify"));
    /* signed by another key that the body names: fine without a pin, refused with one */
    audit_signed_checkpoint other;
    assert_int_equal(audit_checkpoint_sign(f->a, "lu", f->other_pk, tu_sign_checkpoint, f->other_sk,
                                           &other, &err),
                     0);
    assert_int_equal(audit_checkpoint_open(&other, NULL, &ck, &err), 0);
    assert_int_equal(audit_checkpoint_open(&other, f->pk, &ck, &err), -1);
    assert_int_equal(err.code, ECL_E_CRYPTO);
    assert_int_equal(
        audit_checkpoint_sign(f->a, "bad site", f->pk, tu_sign_checkpoint, f->sk, &other, &err),
        -1);
    assert_int_equal(err.code, ECL_E_USAGE);
    assert_non_null(strstr(err.msg, "site"));
}

static void expect_decode_error(const uint8_t *b, size_t len, const char *needle)
{
    audit_checkpoint ck;
    ecl_err err;
    assert_int_equal(audit_checkpoint_decode(b, len, &ck, &err), -1);
    assert_int_equal(err.code, ECL_E_INPUT);
    if (strstr(err.msg, needle) == NULL)
        fail_msg("message '%s' does not say '%s'", err.msg, needle);
}

static void test_decode_malformed(void **state)
{
    fixture *f = *state;
    audit_signed_checkpoint sc;
    sign(f, f->a, &sc);
    uint8_t b[AUDIT_CKPT_BODY_MAX + 8];
    audit_checkpoint ck;
    ecl_err err;
    assert_int_equal(audit_checkpoint_decode(sc.body, sc.body_len, &ck, &err), 0);
    expect_decode_error(sc.body, 0, "truncated");
    expect_decode_error(sc.body, 2, "offset 1");
    for (size_t n = 3; n < sc.body_len; n++)
        expect_decode_error(sc.body, n, "truncated");
    memcpy(b, sc.body, sc.body_len);
    b[sc.body_len] = 0;
    expect_decode_error(b, sc.body_len + 1, "1 trailing bytes");
    memcpy(b, sc.body, sc.body_len);
    b[0] = 2;
    expect_decode_error(b, sc.body_len, "offset 0: unknown version 2");
    memcpy(b, sc.body, sc.body_len);
    b[1] = 0, b[2] = 0;
    expect_decode_error(b, sc.body_len, "site length 0");
    b[1] = 1, b[2] = 0; /* 256 */
    expect_decode_error(b, sc.body_len, "site length 256");
    memcpy(b, sc.body, sc.body_len);
    b[3] = ' ';
    expect_decode_error(b, sc.body_len, "field 'site'");
    b[3] = 0;
    expect_decode_error(b, sc.body_len, "field 'site'");
    /* and the signed form refuses sizes out of range before anything else */
    audit_signed_checkpoint tiny = sc;
    tiny.body_len = 10;
    assert_int_equal(audit_checkpoint_open(&tiny, NULL, &ck, &err), -1);
    assert_int_equal(err.code, ECL_E_INPUT);
    assert_non_null(strstr(err.msg, "10 bytes"));
}

typedef struct wlist {
    uint64_t counts[16];
    char sites[16][8];
    size_t n;
} wlist;

static int collect(const audit_witnessed *w, void *arg)
{
    wlist *l = arg;
    assert_true(l->n < 16);
    l->counts[l->n] = w->ckpt->entry_count;
    snprintf(l->sites[l->n], sizeof(l->sites[0]), "%.7s", w->ckpt->site);
    assert_true(w->received_unix > 1600000000);
    /* the kept bytes verify on their own */
    audit_checkpoint ck;
    ecl_err err;
    assert_int_equal(audit_checkpoint_open(w->signed_ckpt, NULL, &ck, &err), 0);
    l->n++;
    return 0;
}

static void test_witness_store(void **state)
{
    fixture *f = *state;
    ecl_err err;
    audit_signed_checkpoint s3, s5, s5b, s4, s9, forged;
    add(f->a, 3);
    sign(f, f->a, &s3);
    add(f->a, 2);
    sign(f, f->a, &s5);
    add(f->b, 5); /* a forked history of the same site, same key */
    sign(f, f->b, &s5b);
    add(f->b, 4);
    sign(f, f->b, &s9);

    assert_int_equal(audit_witness_add(f->w, "lu", f->pk, &s3, &err), 0);
    assert_int_equal(audit_witness_add(f->w, "lu", f->pk, &s5, &err), 0);
    assert_int_equal(audit_witness_add(f->w, "lu", f->pk, &s5, &err), 0); /* a copy: fine */
    assert_int_equal(audit_witness_add(f->w, "lu", f->pk, &s3, &err), 0); /* an old copy too */

    assert_int_equal(audit_witness_add(f->w, "lu", f->pk, &s5b, &err), -1);
    assert_int_equal(err.code, ECL_E_CRYPTO);
    assert_non_null(strstr(err.msg, "count 5 contradicts"));

    /* a count lower than the highest kept that is not a copy: rollback */
    audit_log *c;
    char dir_c[512];
    tu_tmpdir(dir_c, sizeof(dir_c));
    c = tu_open(dir_c);
    add(c, 4);
    sign(f, c, &s4);
    assert_int_equal(audit_witness_add(f->w, "lu", f->pk, &s4, &err), -1);
    assert_int_equal(err.code, ECL_E_PRECONDITION);
    assert_non_null(strstr(err.msg, "goes backwards"));
    audit_close(c);
    tu_rmrf(dir_c);

    /* bad signature, another key, another site */
    forged = s9;
    forged.body[forged.body_len - 40] ^= 1;
    assert_int_equal(audit_witness_add(f->w, "lu", f->pk, &forged, &err), -1);
    assert_int_equal(err.code, ECL_E_CRYPTO);
    assert_int_equal(audit_witness_add(f->w, "lu", f->other_pk, &s9, &err), -1);
    assert_int_equal(err.code, ECL_E_CRYPTO);
    assert_int_equal(audit_witness_add(f->w, "de", f->pk, &s9, &err), -1);
    assert_int_equal(err.code, ECL_E_CRYPTO);
    assert_non_null(strstr(err.msg, "names 'lu'"));

    /* forward from the kept history: accepted (the witness cannot see the fork
     * between 5 and 9 without entries; only a same-count clash shows it) */
    assert_int_equal(audit_witness_add(f->w, "lu", f->pk, &s9, &err), 0);

    audit_signed_checkpoint fi1;
    assert_int_equal(
        audit_checkpoint_sign(f->a, "fi", f->other_pk, tu_sign_checkpoint, f->other_sk, &fi1, &err),
        0);
    assert_int_equal(audit_witness_add(f->w, "fi", f->other_pk, &fi1, &err), 0);

    wlist l = {0};
    assert_int_equal(audit_witness_list(f->w, "lu", collect, &l, &err), 0);
    assert_int_equal(l.n, 3);
    assert_int_equal(l.counts[0], 3);
    assert_int_equal(l.counts[1], 5);
    assert_int_equal(l.counts[2], 9);
    wlist all = {0};
    assert_int_equal(audit_witness_list(f->w, NULL, collect, &all, &err), 0);
    assert_int_equal(all.n, 4);
    assert_string_equal(all.sites[0], "fi"); /* by site, then count */
    assert_string_equal(all.sites[3], "lu");
    wlist none = {0};
    assert_int_equal(audit_witness_list(f->w, "l", collect, &none, &err), 0);
    assert_int_equal(none.n, 0); /* a prefix of a site is not the site */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sign_decode_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signature_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decode_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_witness_store, setup, teardown),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests_name("audit_checkpoint", tests, NULL, NULL);
}
