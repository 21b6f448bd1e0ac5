/*
 * contact_test.c - the peer_contact records in a real LMDB site state, and
 * the one function that puts errors into words.
 *
 * What a later success clears (a cosigned checkpoint does not clear a
 * rolled-back catalog; an accepted catalog clears everything), that a
 * recheck is asked once per error, that removing a peer removes its record,
 * that a state written before peer_contact existed is read (read-only) and
 * upgraded (read-write), that a damaged record reads as empty; and the
 * phrases peer_error_describe gives for each kind of failure.
 */
#include <grpc/status.h>
#include <lmdb.h>
#include <openssl/x509_vfy.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "federation/contact.h"
#include "federation/state.h"
#include "gateway/peer_status.h"
#include "site/pki.h"
#include "tests/support/harness.h"
#include "tests/support/signers.h"

static site_key lu_key;
static signer *lu_signer;
static int64_t now;
static char dir[PATH_MAX + 16];

static int setup(void **state)
{
    (void)state;
    now = (int64_t)time(NULL);
    ecl_err err;
    if (site_key_generate(&lu_key, &err) != 0)
        return -1;
    lu_signer = ts_signer(&lu_key);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    signer_free(lu_signer);
    return 0;
}

/* A new state in a new directory, with LU as a peer. */
static fed_state *state_with_lu(void)
{
    char root[PATH_MAX];
    th_tmpdir(root, sizeof(root));
    snprintf(dir, sizeof(dir), "%s/state", root);
    fed_state *st = NULL;
    ecl_err err;
    assert_int_equal(fed_state_open(dir, &st, &err), 0);
    X509 *ca = NULL;
    EVP_PKEY *ca_key = NULL;
    char *ca_pem = NULL;
    assert_int_equal(pki_make_ca("lu", 30, &ca, &ca_key, &err), 0);
    assert_int_equal(pki_cert_to_pem(ca, &ca_pem, &err), 0);
    unsigned char *bundle = NULL;
    size_t len = 0;
    assert_int_equal(
        bundle_make("lu", "LU", "127.0.0.1:1", ca_pem, lu_signer, now, &bundle, &len, &err), 0);
    assert_int_equal(fed_state_add_peer(st, bundle, len, "fi", NULL, &err), 0);
    free(bundle);
    free(ca_pem);
    X509_free(ca);
    EVP_PKEY_free(ca_key);
    return st;
}

static fed_peer_contact contact_of(fed_state *st)
{
    fed_peer p;
    ecl_err err;
    assert_int_equal(fed_state_get_peer(st, "lu", &p, &err), 0);
    fed_peer_contact c = p.contact;
    fed_peer_clear(&p);
    return c;
}

static void test_a_new_peer_has_an_empty_record(void **state)
{
    (void)state;
    fed_state *st = state_with_lu();
    fed_peer_contact c = contact_of(st);
    assert_int_equal(c.ok_unix, 0);
    assert_int_equal(c.error_kind, FED_CONTACT_NONE);
    assert_string_equal(c.error_phrase, "");
    fed_state_close(st);
}

static void test_what_a_success_clears_depends_on_the_contact(void **state)
{
    (void)state;
    fed_state *st = state_with_lu();
    ecl_err err;
    assert_int_equal(fed_state_contact_failed(st, "lu", now, FED_CONTACT_CONTENT,
                                              "catalog refused: rollback from v7 to v5", "older",
                                              &err),
                     0);
    /* A cosigned checkpoint proves it is reachable, not that its catalog is good. */
    assert_int_equal(fed_state_contact_ok(st, "lu", now + 1, FED_CONTACT_REFUSED_US, &err), 0);
    fed_peer_contact c = contact_of(st);
    assert_int_equal(c.ok_unix, now + 1);
    assert_string_equal(c.error_phrase, "catalog refused: rollback from v7 to v5");
    assert_string_equal(c.error_detail, "older");
    assert_int_equal(c.error_unix, now);
    /* An accepted catalog clears it. */
    assert_int_equal(fed_state_contact_ok(st, "lu", now + 2, FED_CONTACT_CONTENT, &err), 0);
    c = contact_of(st);
    assert_int_equal(c.error_kind, FED_CONTACT_NONE);
    assert_string_equal(c.error_phrase, "");
    assert_int_equal(c.error_unix, 0);
    /* Any success clears "removed us". */
    assert_int_equal(fed_state_contact_failed(st, "lu", now + 3, FED_CONTACT_REFUSED_US,
                                              "removed us", "closed", &err),
                     0);
    assert_int_equal(fed_state_contact_ok(st, "lu", now + 4, FED_CONTACT_REFUSED_US, &err), 0);
    assert_string_equal(contact_of(st).error_phrase, "");
    assert_int_equal(fed_state_contact_generations(st, "lu", 2, 3, &err), 0);
    c = contact_of(st);
    assert_int_equal(c.key_generation, 2);
    assert_int_equal(c.newest_generation, 3);
    assert_int_equal(c.ok_unix, now + 4);
    fed_state_close(st);
}

static void test_a_recheck_is_asked_once_per_refusal(void **state)
{
    (void)state;
    fed_state *st = state_with_lu();
    ecl_err err;
    int first = -1;
    assert_int_equal(fed_state_contact_recheck(st, "lu", FED_CONTACT_REFUSED_US, &first, &err), 0);
    assert_int_equal(first, 0); /* no refusal held */
    assert_int_equal(fed_state_contact_failed(st, "lu", now, FED_CONTACT_REFUSED_US,
                                              "has not added us", "closed", &err),
                     0);
    assert_int_equal(fed_state_contact_recheck(st, "lu", FED_CONTACT_REFUSED_US, &first, &err), 0);
    assert_int_equal(first, 1);
    assert_int_equal(fed_state_contact_recheck(st, "lu", FED_CONTACT_REFUSED_US, &first, &err), 0);
    assert_int_equal(first, 0);
    /* A success allows the next refusal its own recheck. */
    assert_int_equal(fed_state_contact_ok(st, "lu", now, FED_CONTACT_CONTENT, &err), 0);
    assert_int_equal(fed_state_contact_failed(st, "lu", now, FED_CONTACT_REFUSED_US, "removed us",
                                              "closed", &err),
                     0);
    assert_int_equal(fed_state_contact_recheck(st, "lu", FED_CONTACT_REFUSED_US, &first, &err), 0);
    assert_int_equal(first, 1);
    fed_state_close(st);
}

static void test_a_removed_peer_takes_its_record_and_takes_no_notes(void **state)
{
    (void)state;
    fed_state *st = state_with_lu();
    ecl_err err;
    assert_int_equal(fed_state_contact_ok(st, "lu", now, FED_CONTACT_CONTENT, &err), 0);
    assert_int_equal(fed_state_remove_peer(st, "lu", &err), 0);
    assert_int_equal(fed_state_contact_ok(st, "lu", now, FED_CONTACT_CONTENT, &err), -1);
    assert_int_equal(err.code, ECL_E_NOT_FOUND);
    assert_int_equal(
        fed_state_contact_failed(st, "lu", now, FED_CONTACT_REACH, "unreachable", "", &err), -1);
    assert_int_equal(err.code, ECL_E_NOT_FOUND);
    fed_state_close(st);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_stat stat;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 12), 0);
    assert_int_equal(mdb_env_open(env, dir, MDB_RDONLY, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "peer_contact", 0, &dbi), 0);
    assert_int_equal(mdb_stat(txn, dbi, &stat), 0);
    assert_int_equal(stat.ms_entries, 0);
    mdb_txn_abort(txn);
    mdb_env_close(env);
}

static void test_a_state_from_before_peer_contact_is_read_and_upgraded(void **state)
{
    (void)state;
    fed_state *st = state_with_lu();
    fed_state_close(st);
    /* Make it a state as an older gateway wrote it: no peer_contact. */
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 12), 0);
    assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "peer_contact", 0, &dbi), 0);
    assert_int_equal(mdb_drop(txn, dbi, 1), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);

    ecl_err err;
    assert_int_equal(fed_state_open_readonly(dir, &st, &err), 0);
    fed_peer *peers = NULL;
    size_t n = 0;
    assert_int_equal(fed_state_list_peers(st, &peers, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(peers[0].info.site, "lu");
    assert_int_equal(peers[0].contact.ok_unix, 0);
    fed_state_free_peers(peers, n);
    fed_state_close(st);

    assert_int_equal(fed_state_open(dir, &st, &err), 0);
    assert_int_equal(fed_state_contact_ok(st, "lu", now, FED_CONTACT_CONTENT, &err), 0);
    assert_int_equal(contact_of(st).ok_unix, now);
    fed_state_close(st);
}

static void test_a_damaged_record_reads_as_empty(void **state)
{
    (void)state;
    fed_peer_contact c = {0};
    c.ok_unix = now;
    c.error_kind = FED_CONTACT_REACH;
    snprintf(c.error_phrase, sizeof(c.error_phrase), "unreachable");
    snprintf(c.error_detail, sizeof(c.error_detail), "connect: refused");
    unsigned char *bytes = NULL;
    size_t len = 0;
    ecl_err err;
    assert_int_equal(fed_contact_encode(&c, &bytes, &len, &err), 0);
    fed_peer_contact back;
    assert_int_equal(fed_contact_decode(bytes, len, &back), 0);
    assert_int_equal(back.ok_unix, now);
    assert_string_equal(back.error_phrase, "unreachable");
    assert_string_equal(back.error_detail, "connect: refused");
    bytes[0] = 2; /* a format this build does not know */
    assert_int_equal(fed_contact_decode(bytes, len, &back), -1);
    assert_int_equal(back.ok_unix, 0);
    bytes[0] = 1;
    assert_int_equal(fed_contact_decode(bytes, 20, &back), -1); /* cut short */
    bytes[35] = 0xff; /* a phrase longer than the record */
    assert_int_equal(fed_contact_decode(bytes, len, &back), -1);
    free(bytes);
}

static fed_contact_kind describe(const ecl_err *e, const peer_probe *probe, int ever_ok,
                                 char *phrase)
{
    char detail[FED_CONTACT_DETAIL_MAX];
    return peer_error_describe(e, probe, ever_ok, phrase, FED_CONTACT_PHRASE_MAX, detail,
                               sizeof(detail));
}

static void test_each_failure_is_put_into_its_phrase(void **state)
{
    (void)state;
    char phrase[FED_CONTACT_PHRASE_MAX];
    ecl_err e = {0};
    ecl_fail(&e, ECL_E_PRECONDITION,
             "catalog version 5 is older than version 7 already held (rollback refused)");
    assert_int_equal(describe(&e, NULL, 1, phrase), FED_CONTACT_CONTENT);
    assert_string_equal(phrase, "catalog refused: rollback from v7 to v5");
    ecl_fail(&e, ECL_E_PRECONDITION, "catalog version 9 expired at 2026-01-01T00:00:00Z");
    describe(&e, NULL, 1, phrase);
    assert_string_equal(phrase, "catalog refused: expired");
    ecl_fail(&e, ECL_E_CRYPTO, "the catalog signature does not verify");
    describe(&e, NULL, 1, phrase);
    assert_string_equal(phrase, "catalog refused: signature does not verify");

    ecl_fail(&e, ECL_E_DENIED, "spiffe://fi/gateway: site 'fi' is not a peer of this gateway");
    e.remote_status = GRPC_STATUS_PERMISSION_DENIED;
    assert_int_equal(describe(&e, NULL, 1, phrase), FED_CONTACT_REFUSED_US);
    assert_string_equal(phrase, "removed us");
    describe(&e, NULL, 0, phrase);
    assert_string_equal(phrase, "has not added us");
    ecl_fail(&e, ECL_E_UNAVAILABLE, "deadline");
    e.remote_status = GRPC_STATUS_DEADLINE_EXCEEDED;
    assert_int_equal(describe(&e, NULL, 1, phrase), FED_CONTACT_REACH);
    assert_string_equal(phrase, "unreachable");
    ecl_fail(&e, ECL_E_UNIMPLEMENTED, "no such method");
    e.remote_status = GRPC_STATUS_UNIMPLEMENTED;
    describe(&e, NULL, 1, phrase);
    assert_string_equal(phrase, "not served by its version");

    /* Transport failures: what the TLS probe found decides. */
    ecl_fail(&e, ECL_E_UNAVAILABLE, "Socket closed");
    e.remote_status = GRPC_STATUS_UNAVAILABLE;
    peer_probe p = {PEER_PROBE_BAD_CERT, X509_V_ERR_CERT_HAS_EXPIRED, "expired"};
    assert_int_equal(describe(&e, &p, 1, phrase), FED_CONTACT_REACH);
    assert_string_equal(phrase, "TLS: certificate expired");
    p = (peer_probe){PEER_PROBE_REFUSED_US, 0, "closed"};
    assert_int_equal(describe(&e, &p, 1, phrase), FED_CONTACT_REFUSED_US);
    assert_string_equal(phrase, "removed us");
    p = (peer_probe){PEER_PROBE_UNREACHABLE, 0, "connect: refused"};
    describe(&e, &p, 1, phrase);
    assert_string_equal(phrase, "unreachable");
    p = (peer_probe){PEER_PROBE_ACCEPTED, 0, "works now"};
    describe(&e, &p, 1, phrase);
    assert_string_equal(phrase, "unreachable");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_new_peer_has_an_empty_record),
        cmocka_unit_test(test_what_a_success_clears_depends_on_the_contact),
        cmocka_unit_test(test_a_recheck_is_asked_once_per_refusal),
        cmocka_unit_test(test_a_removed_peer_takes_its_record_and_takes_no_notes),
        cmocka_unit_test(test_a_state_from_before_peer_contact_is_read_and_upgraded),
        cmocka_unit_test(test_a_damaged_record_reads_as_empty),
        cmocka_unit_test(test_each_failure_is_put_into_its_phrase),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
