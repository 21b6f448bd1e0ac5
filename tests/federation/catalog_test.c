/*
 * catalog_test.c - signed catalogs, peering bundles and key rotations.
 *
 * Every refusal a peer must make: a changed byte, another key, an older
 * version, another catalog under the same version, an expired catalog,
 * another site's name, another site's entry; and that after each refusal
 * the last good catalog is still the one held (in a real LMDB).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "federation/bundle.h"
#include "federation/catalog.h"
#include "federation/state.h"
#include "site/pki.h"
#include "tests/support/harness.h"
#include "tests/support/signers.h"

static site_key lu_key, other_key;
static signer *lu_signer; /* lu_key's */
static int64_t now;

static int setup(void **state)
{
    (void)state;
    now = (int64_t)time(NULL);
    ecl_err err;
    if (site_key_generate(&lu_key, &err) != 0 || site_key_generate(&other_key, &err) != 0)
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

/* n encoded entries "lu/ds-000".."lu/ds-<n-1>", sorted. */
static ProtobufCBinaryData *make_entries(const char *site, size_t n)
{
    ProtobufCBinaryData *list = calloc(n ? n : 1, sizeof(*list));
    for (size_t i = 0; i < n; i++) {
        char id[64], title[64];
        snprintf(id, sizeof(id), "%s/ds-%03zu", site, i);
        snprintf(title, sizeof(title), "Dataset %zu", i);
        Ecluse__V1__DatasetEntry e = ECLUSE__V1__DATASET_ENTRY__INIT;
        e.id = id;
        e.title = title;
        e.description = "real enough";
        e.licence = "CC-BY-4.0";
        e.rows = 100 + i;
        list[i].len = ecluse__v1__dataset_entry__get_packed_size(&e);
        list[i].data = malloc(list[i].len);
        ecluse__v1__dataset_entry__pack(&e, list[i].data);
    }
    return list;
}

static void free_entries(ProtobufCBinaryData *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i].data);
    free(list);
}

static catalog *sign(const char *site, uint64_t version, int64_t expires, const site_key *key,
                     ProtobufCBinaryData *entries, size_t n)
{
    catalog *c = NULL;
    ecl_err err;
    signer *s = ts_signer(key);
    int rc = catalog_sign(site, "LU", version, now, expires, entries, n, s, &c, &err);
    signer_free(s);
    if (rc != 0)
        fail_msg("sign: %s", err.msg);
    return c;
}

/* Verify `c`'s wire bytes as LU's catalog, as a peer holding `held` would. */
static int verify_as_peer(const catalog *c, uint64_t held, const unsigned char *held_digest,
                          ecl_err *err)
{
    size_t n = catalog_entry_count(c);
    ProtobufCBinaryData *entries = calloc(n ? n : 1, sizeof(*entries));
    for (size_t i = 0; i < n; i++)
        entries[i] = catalog_entry_bytes(c, i);
    catalog_expect ex = {"lu", lu_key.public_key, held, held_digest, now};
    ProtobufCBinaryData h = catalog_header_bytes(c), s = catalog_signature(c);
    catalog *out = NULL;
    int rc = catalog_verify(h.data, h.len, s.data, s.len, entries, n, &ex, &out, err);
    catalog_free(out);
    free(entries);
    return rc;
}

static void test_a_signed_catalog_verifies(void **state)
{
    (void)state;
    ProtobufCBinaryData *e = make_entries("lu", 5);
    catalog *c = sign("lu", 3, now + 3600, &lu_key, e, 5);
    ecl_err err;
    assert_int_equal(verify_as_peer(c, 0, NULL, &err), 0);
    assert_int_equal(verify_as_peer(c, 3, catalog_header(c)->entries_digest.data, &err), 0);
    assert_int_equal(catalog_header(c)->entry_count, 5);
    catalog_free(c);
    free_entries(e, 5);
}

static void test_one_changed_byte_anywhere_is_refused(void **state)
{
    (void)state;
    ProtobufCBinaryData *e = make_entries("lu", 3);
    catalog *c = sign("lu", 1, now + 3600, &lu_key, e, 3);
    ProtobufCBinaryData h = catalog_header_bytes(c), s = catalog_signature(c);
    catalog_expect ex = {"lu", lu_key.public_key, 0, NULL, now};
    ecl_err err;
    catalog *out = NULL;
    /* In the signed header: every byte position. */
    unsigned char *hdr = malloc(h.len);
    for (size_t i = 0; i < h.len; i++) {
        memcpy(hdr, h.data, h.len);
        hdr[i] ^= 0x01;
        assert_int_equal(catalog_verify(hdr, h.len, s.data, s.len, e, 3, &ex, &out, &err), -1);
        assert_int_equal(err.code, ECL_E_CRYPTO);
    }
    free(hdr);
    /* In an entry: the digest catches it. */
    e[1].data[e[1].len / 2] ^= 0x20;
    assert_int_equal(catalog_verify(h.data, h.len, s.data, s.len, e, 3, &ex, &out, &err), -1);
    assert_int_equal(err.code, ECL_E_CRYPTO);
    assert_non_null(strstr(err.msg, "do not match the signed digest"));
    /* A dropped entry. */
    assert_int_equal(catalog_verify(h.data, h.len, s.data, s.len, e, 2, &ex, &out, &err), -1);
    assert_non_null(strstr(err.msg, "promises 3 entries, 2 arrived"));
    catalog_free(c);
    free_entries(e, 3);
}

static void test_resigned_by_another_key_is_refused(void **state)
{
    (void)state;
    ProtobufCBinaryData *e = make_entries("lu", 2);
    catalog *c = sign("lu", 9, now + 3600, &other_key, e, 2);
    ecl_err err;
    assert_int_equal(verify_as_peer(c, 0, NULL, &err), -1);
    assert_int_equal(err.code, ECL_E_CRYPTO);
    assert_non_null(strstr(err.msg, "not signed by its pinned key"));
    catalog_free(c);
    free_entries(e, 2);
}

static void test_older_version_is_refused_as_rollback(void **state)
{
    (void)state;
    ProtobufCBinaryData *e = make_entries("lu", 2);
    catalog *c = sign("lu", 4, now + 3600, &lu_key, e, 2);
    ecl_err err;
    assert_int_equal(verify_as_peer(c, 5, NULL, &err), -1);
    assert_int_equal(err.code, ECL_E_PRECONDITION);
    assert_non_null(strstr(err.msg, "older than version 5 already held (rollback refused)"));
    catalog_free(c);
    free_entries(e, 2);
}

static void test_same_version_other_content_is_refused(void **state)
{
    (void)state;
    ProtobufCBinaryData *e2 = make_entries("lu", 2), *e3 = make_entries("lu", 3);
    catalog *held = sign("lu", 6, now + 3600, &lu_key, e2, 2);
    catalog *fork = sign("lu", 6, now + 3600, &lu_key, e3, 3);
    ecl_err err;
    assert_int_equal(verify_as_peer(fork, 6, catalog_header(held)->entries_digest.data, &err), -1);
    assert_int_equal(err.code, ECL_E_PRECONDITION);
    assert_non_null(strstr(err.msg, "two catalogs with one version"));
    catalog_free(held);
    catalog_free(fork);
    free_entries(e2, 2);
    free_entries(e3, 3);
}

static void test_expired_catalog_is_refused_as_frozen(void **state)
{
    (void)state;
    ProtobufCBinaryData *e = make_entries("lu", 1);
    catalog *c = sign("lu", 7, now - 1, &lu_key, e, 1);
    ecl_err err;
    assert_int_equal(verify_as_peer(c, 0, NULL, &err), -1);
    assert_int_equal(err.code, ECL_E_PRECONDITION);
    assert_non_null(strstr(err.msg, "expired at"));
    catalog_free(c);
    free_entries(e, 1);
}

static void test_catalog_naming_another_site_is_refused(void **state)
{
    (void)state;
    /* Signed with LU's own key, but claiming to be DE's catalog. */
    ProtobufCBinaryData *e = make_entries("de", 2);
    catalog *c = sign("de", 2, now + 3600, &lu_key, e, 2);
    ecl_err err;
    assert_int_equal(verify_as_peer(c, 0, NULL, &err), -1);
    assert_int_equal(err.code, ECL_E_INPUT);
    assert_non_null(strstr(err.msg, "names site 'de', not 'lu'"));
    catalog_free(c);
    free_entries(e, 2);
    /* Entries must belong to the signing site, and signing checks it. */
    ProtobufCBinaryData *mixed = make_entries("de", 1);
    catalog *bad = NULL;
    assert_int_equal(catalog_sign("lu", "LU", 1, now, now + 60, mixed, 1, lu_signer, &bad, &err),
                     -1);
    assert_non_null(strstr(err.msg, "'de/ds-000' is not a dataset of site 'lu'"));
    free_entries(mixed, 1);
}

static void test_refusals_keep_the_last_good_catalog(void **state)
{
    (void)state;
    char root[PATH_MAX], dir[PATH_MAX + 16];
    th_tmpdir(root, sizeof(root));
    snprintf(dir, sizeof(dir), "%s/state", root);
    fed_state *st = NULL;
    ecl_err err;
    assert_int_equal(fed_state_open(dir, &st, &err), 0);
    /* LU's bundle, with a real CA. */
    X509 *ca = NULL;
    EVP_PKEY *ca_key = NULL;
    assert_int_equal(pki_make_ca("lu", 30, &ca, &ca_key, &err), 0);
    char *ca_pem = NULL;
    assert_int_equal(pki_cert_to_pem(ca, &ca_pem, &err), 0);
    unsigned char *bundle = NULL;
    size_t blen = 0;
    assert_int_equal(
        bundle_make("lu", "LU", "127.0.0.1:1", ca_pem, lu_signer, now, &bundle, &blen, &err), 0);
    fed_peer added;
    assert_int_equal(fed_state_add_peer(st, bundle, blen, "fi", &added, &err), 0);
    fed_peer_clear(&added);

    ProtobufCBinaryData *e = make_entries("lu", 4);
    catalog *good = sign("lu", 5, now + 3600, &lu_key, e, 4);
    assert_int_equal(verify_as_peer(good, 0, NULL, &err), 0);
    assert_int_equal(fed_state_put_peer_catalog(st, "lu", good, now, &err), 0);

    /* Bad ones arrive; each is refused and noted; the held one stays. */
    catalog *older = sign("lu", 4, now + 3600, &lu_key, e, 4);
    catalog *forged = sign("lu", 6, now + 3600, &other_key, e, 4);
    catalog *frozen = sign("lu", 7, now - 10, &lu_key, e, 4);
    catalog *bad[] = {older, forged, frozen};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(verify_as_peer(bad[i], 5, catalog_header(good)->entries_digest.data, &err),
                         -1);
        assert_int_equal(fed_state_note_fetch_error(st, "lu", now, err.msg, &err), 0);
        catalog *held = NULL;
        int64_t fetched = 0;
        assert_int_equal(fed_state_get_peer_catalog(st, "lu", &held, &fetched, &err), 0);
        assert_int_equal(catalog_header(held)->version, 5);
        assert_int_equal(catalog_entry_count(held), 4);
        catalog_free(held);
        catalog_free(bad[i]);
    }
    fed_peer p;
    assert_int_equal(fed_state_get_peer(st, "lu", &p, &err), 0);
    assert_int_equal(p.catalog_version, 5);
    assert_non_null(strstr(p.last_error, "expired"));
    fed_peer_clear(&p);

    /* Removing the peer drops what was held. */
    assert_int_equal(fed_state_remove_peer(st, "lu", &err), 0);
    catalog *gone = NULL;
    int64_t fetched = 0;
    assert_int_equal(fed_state_get_peer_catalog(st, "lu", &gone, &fetched, &err), -1);
    assert_int_equal(err.code, ECL_E_NOT_FOUND);

    catalog_free(good);
    free_entries(e, 4);
    free(bundle);
    free(ca_pem);
    X509_free(ca);
    EVP_PKEY_free(ca_key);
    fed_state_close(st);
}

static void test_stored_catalog_blob_is_checked_on_load(void **state)
{
    (void)state;
    ProtobufCBinaryData *e = make_entries("lu", 3);
    catalog *c = sign("lu", 2, now + 3600, &lu_key, e, 3);
    unsigned char *blob = NULL;
    size_t len = 0;
    ecl_err err;
    assert_int_equal(catalog_to_blob(c, &blob, &len, &err), 0);
    catalog_expect ex = {"lu", lu_key.public_key, 0, NULL, 0};
    catalog *back = NULL;
    assert_int_equal(catalog_from_blob(blob, len, &ex, &back, &err), 0);
    assert_int_equal(catalog_entry_count(back), 3);
    catalog_free(back);
    assert_int_equal(catalog_from_blob(blob, len - 1, &ex, &back, &err), -1);
    assert_int_equal(err.code, ECL_E_INPUT);
    blob[len - 2] ^= 1; /* at rest, in the last entry */
    assert_int_equal(catalog_from_blob(blob, len, &ex, &back, &err), -1);
    assert_int_equal(err.code, ECL_E_CRYPTO);
    free(blob);
    catalog_free(c);
    free_entries(e, 3);
}

static char *make_ca_pem(const char *site)
{
    X509 *ca = NULL;
    EVP_PKEY *k = NULL;
    ecl_err err;
    assert_int_equal(pki_make_ca(site, 30, &ca, &k, &err), 0);
    char *pem = NULL;
    assert_int_equal(pki_cert_to_pem(ca, &pem, &err), 0);
    X509_free(ca);
    EVP_PKEY_free(k);
    return pem;
}

static void test_peering_bundles(void **state)
{
    (void)state;
    char *ca = make_ca_pem("lu");
    unsigned char *b = NULL;
    size_t len = 0;
    ecl_err err;
    assert_int_equal(
        bundle_make("lu", "LU", "gw.lu.example:7443", ca, lu_signer, now, &b, &len, &err), 0);
    peer_info info;
    assert_int_equal(bundle_verify(b, len, &info, &err), 0);
    assert_string_equal(info.site, "lu");
    assert_string_equal(info.endpoint, "gw.lu.example:7443");
    char fp[BUNDLE_FINGERPRINT_MAX];
    assert_int_equal(bundle_fingerprint("lu", lu_key.public_key, ca, fp, &err), 0);
    assert_string_equal(info.fingerprint, fp);
    assert_int_equal(strlen(fp), 39);
    peer_info_clear(&info);

    /* Text form round trip; garbage refused with a reason. */
    char *text = NULL;
    assert_int_equal(bundle_to_text(b, len, &text, &err), 0);
    unsigned char *back = NULL;
    size_t back_len = 0;
    assert_int_equal(bundle_from_text(text, strlen(text), &back, &back_len, &err), 0);
    assert_int_equal(back_len, len);
    assert_memory_equal(back, b, len);
    free(back);
    free(text);
    assert_int_equal(bundle_from_text("hello\n", 6, &back, &back_len, &err), -1);
    assert_non_null(strstr(err.msg, "ecluse-peer-bundle-v1"));
    const char *bad64 = "ecluse-peer-bundle-v1\n!!!!\n";
    assert_int_equal(bundle_from_text(bad64, strlen(bad64), &back, &back_len, &err), -1);
    assert_non_null(strstr(err.msg, "base64"));

    /* Any changed byte breaks the signature (or the decoding). */
    for (size_t i = 0; i < len; i += 7) {
        b[i] ^= 0x04;
        assert_int_equal(bundle_verify(b, len, &info, &err), -1);
        b[i] ^= 0x04;
    }
    assert_int_equal(bundle_verify((const unsigned char *)"junk", 4, &info, &err), -1);
    free(b);

    /* A bundle whose CA is another site's is refused. */
    char *de_ca = make_ca_pem("de");
    assert_int_equal(bundle_make("lu", "LU", "h:1", de_ca, lu_signer, now, &b, &len, &err), 0);
    assert_int_equal(bundle_verify(b, len, &info, &err), -1);
    assert_non_null(strstr(err.msg, "is not the CA of spiffe://lu"));
    free(b);
    assert_int_equal(bundle_make("lu", "XX", "h:1", ca, lu_signer, now, &b, &len, &err), 0);
    assert_int_equal(bundle_verify(b, len, &info, &err), -1);
    assert_non_null(strstr(err.msg, "'XX' is not an ISO 3166-1 country"));
    free(b);
    free(de_ca);
    free(ca);
}

static void test_own_bundle_and_duplicates_are_refused(void **state)
{
    (void)state;
    char root[PATH_MAX], dir[PATH_MAX + 16];
    th_tmpdir(root, sizeof(root));
    snprintf(dir, sizeof(dir), "%s/state", root);
    fed_state *st = NULL;
    ecl_err err;
    assert_int_equal(fed_state_open(dir, &st, &err), 0);
    char *ca = make_ca_pem("lu");
    unsigned char *b = NULL;
    size_t len = 0;
    assert_int_equal(bundle_make("lu", "LU", "h:1", ca, lu_signer, now, &b, &len, &err), 0);
    uint64_t gen0 = fed_state_trust_generation(st);
    assert_int_equal(fed_state_add_peer(st, b, len, "lu", NULL, &err), -1);
    assert_non_null(strstr(err.msg, "this site's own"));
    assert_int_equal(fed_state_add_peer(st, b, len, "fi", NULL, &err), 0);
    assert_true(fed_state_trust_generation(st) > gen0);
    assert_int_equal(fed_state_add_peer(st, b, len, "fi", NULL, &err), -1);
    assert_int_equal(err.code, ECL_E_EXISTS);
    fed_peer *peers = NULL;
    size_t n = 0;
    assert_int_equal(fed_state_list_peers(st, &peers, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(peers[0].info.site, "lu");
    fed_state_free_peers(peers, n);
    free(b);
    free(ca);
    fed_state_close(st);
}

/* The rotation `from` signs to `to`, as a site's signer makes it. */
static void make_rotation(const site_key *from, const site_key *to, uint64_t sequence,
                          unsigned char **out, size_t *len)
{
    ecl_err err;
    signer *s = ts_signer(from);
    assert_int_equal(signer_local_stage(s, to, &err), 0);
    assert_int_equal(rotation_make("lu", s, to->public_key, sequence, now, out, len, &err), 0);
    signer_free(s);
}

static void test_key_rotation_chain(void **state)
{
    (void)state;
    site_key k1, k2, k3;
    ecl_err err;
    assert_int_equal(site_key_generate(&k1, &err), 0);
    assert_int_equal(site_key_generate(&k2, &err), 0);
    assert_int_equal(site_key_generate(&k3, &err), 0);
    unsigned char *r1 = NULL, *r2 = NULL;
    size_t l1 = 0, l2 = 0;
    make_rotation(&k1, &k2, 1, &r1, &l1);
    make_rotation(&k2, &k3, 2, &r2, &l2);
    Ecluse__V1__KeyRotation *chain[2] = {ecluse__v1__key_rotation__unpack(NULL, l1, r1),
                                         ecluse__v1__key_rotation__unpack(NULL, l2, r2)};
    unsigned char current[crypto_sign_PUBLICKEYBYTES];
    assert_int_equal(rotation_follow("lu", k1.public_key, chain, 2, current, &err), 0);
    assert_memory_equal(current, k3.public_key, sizeof(current));
    /* A peer that pinned k2 skips the first rotation. */
    assert_int_equal(rotation_follow("lu", k2.public_key, chain, 2, current, &err), 0);
    assert_memory_equal(current, k3.public_key, sizeof(current));
    /* Out of order, or for another site: refused. */
    Ecluse__V1__KeyRotation *reversed[2] = {chain[1], chain[0]};
    assert_int_equal(rotation_follow("lu", k1.public_key, reversed, 2, current, &err), 0);
    assert_memory_equal(current, k2.public_key, sizeof(current)); /* r2 skipped, r1 taken */
    assert_int_equal(rotation_follow("de", k1.public_key, chain, 2, current, &err), -1);
    assert_non_null(strstr(err.msg, "is for site 'lu', not 'de'"));
    /* A rotation signed by a stranger is refused. */
    unsigned char *forged = NULL;
    size_t lf = 0;
    make_rotation(&k3, &k3, 1, &forged, &lf);
    Ecluse__V1__KeyRotation *f = ecluse__v1__key_rotation__unpack(NULL, lf, forged);
    Ecluse__V1__KeyRotationBody *fb =
        ecluse__v1__key_rotation_body__unpack(NULL, f->body.len, f->body.data);
    /* Re-point its old_key at k1 without k1's signature: body changes, signature doesn't. */
    uint8_t *decoded_old_key = fb->old_key.data;
    fb->old_key.data = k1.public_key;
    size_t nb = ecluse__v1__key_rotation_body__get_packed_size(fb);
    unsigned char *nbody = malloc(nb);
    ecluse__v1__key_rotation_body__pack(fb, nbody);
    fb->old_key.data = decoded_old_key;
    Ecluse__V1__KeyRotation fake = ECLUSE__V1__KEY_ROTATION__INIT;
    fake.body.data = nbody;
    fake.body.len = nb;
    fake.signature = f->signature;
    Ecluse__V1__KeyRotation *fake_chain[1] = {&fake};
    assert_int_equal(rotation_follow("lu", k1.public_key, fake_chain, 1, current, &err), -1);
    assert_non_null(strstr(err.msg, "not signed by the key it replaces"));
    free(nbody);
    ecluse__v1__key_rotation_body__free_unpacked(fb, NULL);
    ecluse__v1__key_rotation__free_unpacked(f, NULL);
    free(forged);
    ecluse__v1__key_rotation__free_unpacked(chain[0], NULL);
    ecluse__v1__key_rotation__free_unpacked(chain[1], NULL);
    free(r1);
    free(r2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_signed_catalog_verifies),
        cmocka_unit_test(test_one_changed_byte_anywhere_is_refused),
        cmocka_unit_test(test_resigned_by_another_key_is_refused),
        cmocka_unit_test(test_older_version_is_refused_as_rollback),
        cmocka_unit_test(test_same_version_other_content_is_refused),
        cmocka_unit_test(test_expired_catalog_is_refused_as_frozen),
        cmocka_unit_test(test_catalog_naming_another_site_is_refused),
        cmocka_unit_test(test_refusals_keep_the_last_good_catalog),
        cmocka_unit_test(test_stored_catalog_blob_is_checked_on_load),
        cmocka_unit_test(test_peering_bundles),
        cmocka_unit_test(test_own_bundle_and_duplicates_are_refused),
        cmocka_unit_test(test_key_rotation_chain),
    };
    return cmocka_run_group_tests_name("federation", tests, setup, teardown);
}
