/* pki_test.c - certificates and signing keys, with OpenSSL and libsodium for real. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "common/fileio.h"
#include "site/pki.h"
#include "site/sitekey.h"
#include "tests/support/harness.h"

static char root[PATH_MAX - 128];

static int setup(void **state)
{
    (void)state;
    th_tmpdir(root, sizeof(root));
    return 0;
}

static void path_in(char *out, size_t cap, const char *name)
{
    assert_true(snprintf(out, cap, "%s/%s", root, name) < (int)cap);
}

static void test_issued_certificate_carries_its_spiffe_id_and_verifies(void **state)
{
    (void)state;
    X509 *ca = NULL, *leaf = NULL;
    EVP_PKEY *ca_key = NULL, *key = NULL;
    ecl_err err;
    assert_int_equal(pki_make_ca("fi", 10, &ca, &ca_key, &err), 0);
    const char *hosts[] = {"localhost", "127.0.0.1", NULL};
    pki_leaf_request req = {"spiffe://fi/researcher/alice", hosts, 0, 5};
    assert_int_equal(pki_issue(ca, ca_key, &req, &leaf, &key, &err), 0);
    char spiffe[ECL_SPIFFE_MAX];
    assert_int_equal(pki_cert_spiffe(leaf, spiffe, sizeof(spiffe), &err), 0);
    assert_string_equal(spiffe, "spiffe://fi/researcher/alice");
    assert_int_equal(pki_verify_issued_by(leaf, ca, &err), 0);
    assert_int_equal(X509_check_private_key(leaf, key), 1);

    /* A certificate from another CA does not verify against this one. */
    X509 *other = NULL;
    EVP_PKEY *other_key = NULL;
    assert_int_equal(pki_make_ca("lu", 10, &other, &other_key, &err), 0);
    assert_int_equal(pki_verify_issued_by(leaf, other, &err), -1);
    assert_int_equal(err.code, ECL_E_AUTH);
    X509_free(other);
    EVP_PKEY_free(other_key);
    X509_free(leaf);
    EVP_PKEY_free(key);
    X509_free(ca);
    EVP_PKEY_free(ca_key);
}

static void test_expired_certificate_does_not_verify(void **state)
{
    (void)state;
    X509 *ca = NULL, *leaf = NULL;
    EVP_PKEY *ca_key = NULL, *key = NULL;
    ecl_err err;
    assert_int_equal(pki_make_ca("fi", 10, &ca, &ca_key, &err), 0);
    pki_leaf_request req = {"spiffe://fi/auditor/olli", NULL, -3 * 86400L, 1};
    assert_int_equal(pki_issue(ca, ca_key, &req, &leaf, &key, &err), 0);
    assert_int_equal(pki_verify_issued_by(leaf, ca, &err), -1);
    assert_non_null(strstr(err.msg, "expired"));
    X509_free(leaf);
    EVP_PKEY_free(key);
    X509_free(ca);
    EVP_PKEY_free(ca_key);
}

static void test_refuses_bad_identities(void **state)
{
    (void)state;
    X509 *ca = NULL, *leaf = NULL;
    EVP_PKEY *ca_key = NULL, *key = NULL;
    ecl_err err;
    assert_int_equal(pki_make_ca("fi", 10, &ca, &ca_key, &err), 0);
    pki_leaf_request req = {"spiffe://fi/wizard/x", NULL, 0, 5};
    assert_int_equal(pki_issue(ca, ca_key, &req, &leaf, &key, &err), -1);
    assert_int_equal(pki_make_ca("Not A Site", 10, &leaf, &key, &err), -1);
    assert_int_equal(err.code, ECL_E_USAGE);
    /* The CA itself has one URI SAN, spiffe://fi, which is not a person. */
    char spiffe[ECL_SPIFFE_MAX];
    assert_int_equal(pki_cert_spiffe(ca, spiffe, sizeof(spiffe), &err), 0);
    assert_string_equal(spiffe, "spiffe://fi");
    X509_free(ca);
    EVP_PKEY_free(ca_key);
}

static void test_private_keys_are_0600_and_never_overwritten(void **state)
{
    (void)state;
    X509 *ca = NULL;
    EVP_PKEY *key = NULL;
    ecl_err err;
    assert_int_equal(pki_make_ca("fi", 10, &ca, &key, &err), 0);
    char path[PATH_MAX];
    path_in(path, sizeof(path), "ca.key");
    assert_int_equal(pki_write_key(path, key, &err), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(pki_write_key(path, key, &err), -1);
    assert_int_equal(err.code, ECL_E_EXISTS);
    EVP_PKEY *loaded = NULL;
    assert_int_equal(pki_load_key(path, &loaded, &err), 0);
    assert_int_equal(X509_check_private_key(ca, loaded), 1);
    EVP_PKEY_free(loaded);
    X509_free(ca);
    EVP_PKEY_free(key);
}

static void test_pem_that_is_not_a_certificate_is_refused(void **state)
{
    (void)state;
    X509 *cert = NULL;
    ecl_err err;
    const char *junk = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    assert_int_equal(pki_cert_from_pem(junk, strlen(junk), &cert, &err), -1);
    assert_int_equal(err.code, ECL_E_INPUT);
    assert_non_null(strstr(err.msg, "not a PEM certificate"));
}

static void test_site_key_signs_with_context_separation(void **state)
{
    (void)state;
    site_key key;
    ecl_err err;
    assert_int_equal(site_key_generate(&key, &err), 0);
    unsigned char sig[crypto_sign_BYTES];
    const char msg[] = "catalog bytes";
    assert_int_equal(site_key_sign(&key, "ecluse-catalog-v1", msg, sizeof(msg), sig, &err), 0);
    assert_int_equal(site_key_verify(key.public_key, "ecluse-catalog-v1", msg, sizeof(msg), sig,
                                     sizeof(sig), &err),
                     0);
    /* The same bytes signed for catalogs are not a valid grant. */
    assert_int_equal(site_key_verify(key.public_key, "ecluse-grant-v1", msg, sizeof(msg), sig,
                                     sizeof(sig), &err),
                     -1);
    assert_int_equal(err.code, ECL_E_CRYPTO);
    /* One flipped byte anywhere fails. */
    char tampered[sizeof(msg)];
    memcpy(tampered, msg, sizeof(msg));
    tampered[3] ^= 1;
    assert_int_equal(site_key_verify(key.public_key, "ecluse-catalog-v1", tampered,
                                     sizeof(tampered), sig, sizeof(sig), &err),
                     -1);
    assert_int_equal(site_key_verify(key.public_key, "ecluse-catalog-v1", msg, sizeof(msg), sig,
                                     sizeof(sig) - 1, &err),
                     -1);
    site_key_wipe(&key);
}

static void test_site_key_files_round_trip_and_refuse_garbage(void **state)
{
    (void)state;
    site_key key, loaded;
    ecl_err err;
    char path[PATH_MAX], bad[PATH_MAX];
    path_in(path, sizeof(path), "site.key");
    path_in(bad, sizeof(bad), "bad.key");
    assert_int_equal(site_key_generate(&key, &err), 0);
    assert_int_equal(site_key_save(&key, path, &err), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(site_key_save(&key, path, &err), -1);
    assert_int_equal(err.code, ECL_E_EXISTS);
    assert_int_equal(site_key_load(path, &loaded, &err), 0);
    assert_memory_equal(key.secret_key, loaded.secret_key, sizeof(key.secret_key));
    assert_memory_equal(key.public_key, loaded.public_key, sizeof(key.public_key));

    const char *garbage = "ecluse-ed25519-secret-key-v1\nnot base64!\n";
    assert_int_equal(ecl_write_file(bad, garbage, strlen(garbage), 0600, 0, &err), 0);
    assert_int_equal(site_key_load(bad, &loaded, &err), -1);
    assert_int_equal(err.code, ECL_E_INPUT);
    assert_non_null(strstr(err.msg, "base64"));
    const char *wrong_header = "-----BEGIN PRIVATE KEY-----\n";
    assert_int_equal(ecl_write_file(bad, wrong_header, strlen(wrong_header), 0600, 0, &err), 0);
    assert_int_equal(site_key_load(bad, &loaded, &err), -1);
    assert_non_null(strstr(err.msg, "not an ecluse key file"));
    site_key_wipe(&key);
    site_key_wipe(&loaded);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_issued_certificate_carries_its_spiffe_id_and_verifies),
        cmocka_unit_test(test_expired_certificate_does_not_verify),
        cmocka_unit_test(test_refuses_bad_identities),
        cmocka_unit_test(test_private_keys_are_0600_and_never_overwritten),
        cmocka_unit_test(test_pem_that_is_not_a_certificate_is_refused),
        cmocka_unit_test(test_site_key_signs_with_context_separation),
        cmocka_unit_test(test_site_key_files_round_trip_and_refuse_garbage),
    };
    return cmocka_run_group_tests_name("pki", tests, setup, NULL);
}
