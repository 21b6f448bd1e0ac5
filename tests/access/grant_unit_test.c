/*
 * grant_unit_test.c - gateway/grant.h and federation/key_history.h on their
 * own, without a gateway: the dataset digests by their definition in
 * docs/protocol.md ("Grants bound to the data"), the words of a refusal,
 * and how a grant's signature is judged against a key history.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "client/read.h"
#include "common/bytes.h"
#include "federation/bundle.h"
#include "federation/key_history.h"
#include "gateway/grant.h"
#include "site/sitekey.h"
#include "tests/support/signers.h"

#define NOW 1767225600

/* A dataset entry of two tensors, packed as a site stores it. */
static unsigned char *make_entry(uint8_t first_digest_byte, size_t *len)
{
    static uint64_t shape_x[] = {4, 3}, shape_y[] = {4};
    static uint8_t dx[32], dy[32];
    memset(dx, first_digest_byte, sizeof(dx));
    memset(dy, 0x5a, sizeof(dy));
    Ecluse__V1__TensorInfo x = ECLUSE__V1__TENSOR_INFO__INIT, y = ECLUSE__V1__TENSOR_INFO__INIT;
    x.name = "features";
    x.dtype = "F32";
    x.n_shape = 2;
    x.shape = shape_x;
    x.byte_size = 48;
    x.digest.data = dx;
    x.digest.len = 32;
    y.name = "labels";
    y.dtype = "I64";
    y.n_shape = 1;
    y.shape = shape_y;
    y.byte_size = 32;
    y.digest.data = dy;
    y.digest.len = 32;
    Ecluse__V1__TensorInfo *ts[] = {&x, &y};
    Ecluse__V1__DatasetEntry e = ECLUSE__V1__DATASET_ENTRY__INIT;
    e.id = "lu/d";
    e.title = "D";
    e.tensors = ts;
    e.n_tensors = 2;
    e.rows = 4;
    e.policy_json = "{}";
    e.issued_unix = e.modified_unix = NOW - 3600;
    *len = ecluse__v1__dataset_entry__get_packed_size(&e);
    unsigned char *out = malloc(*len);
    assert_non_null(out);
    ecluse__v1__dataset_entry__pack(&e, out);
    return out;
}

static size_t put_u32(unsigned char *p, uint32_t v)
{
    ecl_put_u32be(p, v);
    return 4;
}

static size_t put_u64(unsigned char *p, uint64_t v)
{
    ecl_put_u64be(p, v);
    return 8;
}

static size_t put_text(unsigned char *p, const char *s)
{
    size_t n = put_u32(p, (uint32_t)strlen(s));
    memcpy(p + n, s, strlen(s));
    return n + strlen(s);
}

static void test_the_digests_are_as_documented(void **state)
{
    (void)state;
    size_t len;
    unsigned char *entry = make_entry(0xa1, &len);
    grant_dataset d;
    ecl_err err;
    assert_int_equal(grant_dataset_of(entry, len, &d, &err), 0);
    assert_int_equal(d.published_unix, NOW - 3600);

    unsigned char want[32];
    crypto_generichash(want, sizeof(want), entry, len, NULL, 0);
    assert_memory_equal(d.entry_digest, want, 32);

    /* The content digest, written out byte by byte from the docs. */
    unsigned char buf[512], digest[32];
    size_t n = 0;
    memcpy(buf, "ecluse-dataset-content-v1", 25);
    n = 25;
    buf[n++] = 0x00;
    n += put_u64(buf + n, 4);
    n += put_text(buf + n, "features");
    n += put_text(buf + n, "F32");
    n += put_u32(buf + n, 2);
    n += put_u64(buf + n, 4);
    n += put_u64(buf + n, 3);
    n += put_u64(buf + n, 48);
    n += put_u32(buf + n, 32);
    memset(buf + n, 0xa1, 32);
    n += 32;
    n += put_text(buf + n, "labels");
    n += put_text(buf + n, "I64");
    n += put_u32(buf + n, 1);
    n += put_u64(buf + n, 4);
    n += put_u64(buf + n, 32);
    n += put_u32(buf + n, 32);
    memset(buf + n, 0x5a, 32);
    n += 32;
    crypto_generichash(digest, sizeof(digest), buf, n, NULL, 0);
    assert_memory_equal(d.content_digest, digest, 32);
    free(entry);

    /* A tensor of other bytes is other content. */
    entry = make_entry(0xa2, &len);
    grant_dataset other;
    assert_int_equal(grant_dataset_of(entry, len, &other, &err), 0);
    assert_memory_not_equal(other.content_digest, d.content_digest, 32);
    free(entry);

    unsigned char junk[] = {0xff, 0xff, 0xff};
    assert_int_equal(grant_dataset_of(junk, sizeof(junk), &d, &err), -1);
    assert_int_equal(err.code, ECL_E_INPUT);
}

static void test_a_changed_dataset_is_refused_naming_both_versions(void **state)
{
    (void)state;
    size_t len;
    unsigned char *entry = make_entry(0xa1, &len);
    grant_dataset was, now;
    ecl_err err;
    assert_int_equal(grant_dataset_of(entry, len, &was, &err), 0);
    free(entry);
    entry = make_entry(0xa2, &len);
    assert_int_equal(grant_dataset_of(entry, len, &now, &err), 0);
    free(entry);
    now.published_unix = NOW;

    Ecluse__V1__GrantBody g = ECLUSE__V1__GRANT_BODY__INIT;
    g.grant_id = "g1";
    g.dataset = "lu/d";
    grant_bind_dataset(&g, &was);
    assert_int_equal(grant_check_dataset(&g, &was, &err), 0);
    assert_int_equal(grant_check_dataset(&g, &now, &err), -1);
    assert_int_equal(err.code, ECL_E_PRECONDITION);
    char hex_was[17], hex_now[17];
    sodium_bin2hex(hex_was, sizeof(hex_was), was.content_digest, 8);
    sodium_bin2hex(hex_now, sizeof(hex_now), now.content_digest, 8);
    assert_non_null(strstr(err.msg, "dataset lu/d changed since the grant"));
    assert_non_null(strstr(err.msg, hex_was));
    assert_non_null(strstr(err.msg, hex_now));
    assert_non_null(strstr(err.msg, "2025-12-31T23:00:00Z")); /* NOW - 3600 */
    assert_non_null(strstr(err.msg, "2026-01-01T00:00:00Z"));

    /* Same data, another entry (a new policy): refused, and said so. */
    grant_dataset policy_changed = was;
    policy_changed.entry_digest[0] ^= 1;
    assert_int_equal(grant_check_dataset(&g, &policy_changed, &err), -1);
    assert_non_null(strstr(err.msg, "the data is the same"));

    /* A grant naming no version at all is refused too. */
    Ecluse__V1__GrantBody old = ECLUSE__V1__GRANT_BODY__INIT;
    old.grant_id = "g0";
    old.dataset = "lu/d";
    assert_int_equal(grant_check_dataset(&old, &was, &err), -1);
    assert_int_equal(err.code, ECL_E_PRECONDITION);
    assert_non_null(strstr(err.msg, "names no dataset version"));
}

/* A grant of lu/d signed by `key`, valid for an hour. */
static void sign_grant(const site_key *key, Ecluse__V1__Grant *out)
{
    Ecluse__V1__GrantBody b = ECLUSE__V1__GRANT_BODY__INIT;
    b.grant_id = "g2";
    b.dataset = "lu/d";
    b.issued_unix = NOW - 10;
    b.expires_unix = NOW + 3600;
    signer *s = ts_signer(key);
    ecl_err err;
    assert_int_equal(grant_sign(s, &b, out, &err), 0);
    signer_free(s);
}

static void test_signatures_are_judged_against_the_key_history(void **state)
{
    (void)state;
    site_key k0, k1, k2, stranger;
    ecl_err err;
    assert_int_equal(site_key_generate(&k0, &err), 0);
    assert_int_equal(site_key_generate(&k1, &err), 0);
    assert_int_equal(site_key_generate(&k2, &err), 0);
    assert_int_equal(site_key_generate(&stranger, &err), 0);
    unsigned char history[3][crypto_sign_PUBLICKEYBYTES];
    memcpy(history[0], k0.public_key, 32);
    memcpy(history[1], k1.public_key, 32);
    memcpy(history[2], k2.public_key, 32);
    const unsigned char(*h)[crypto_sign_PUBLICKEYBYTES] =
        (const unsigned char(*)[crypto_sign_PUBLICKEYBYTES])history;

    Ecluse__V1__Grant g = ECLUSE__V1__GRANT__INIT;
    Ecluse__V1__GrantBody *b = NULL;
    /* The first key of the history still opens its grants. */
    sign_grant(&k0, &g);
    assert_int_equal(grant_open_keys(&g, h, 3, "lu", NOW, &b, &err), 0);
    ecluse__v1__grant_body__free_unpacked(b, NULL);
    /* ... until they expire. */
    assert_int_equal(grant_open_keys(&g, h, 3, "lu", NOW + 3600, &b, &err), -1);
    assert_int_equal(err.code, ECL_E_PRECONDITION);
    assert_non_null(strstr(err.msg, "expired at"));
    /* Only the current key: the same grant is another key's. */
    assert_int_equal(grant_open_keys(&g, h + 2, 1, "lu", NOW, &b, &err), -1);
    assert_int_equal(err.code, ECL_E_DENIED);
    assert_non_null(strstr(err.msg, "signed by another site"));

    /* One byte of the signature or of the body changed: crypto. */
    g.signature.data[7] ^= 1;
    assert_int_equal(grant_open_keys(&g, h, 3, "lu", NOW, &b, &err), -1);
    assert_int_equal(err.code, ECL_E_CRYPTO);
    assert_non_null(strstr(err.msg, "signature does not verify"));
    /* The client finds it before sending it. */
    assert_int_equal(client_grant_check(&g, &err), -1);
    assert_int_equal(err.code, ECL_E_CRYPTO);
    assert_non_null(strstr(err.msg, "signature does not verify"));
    g.signature.data[7] ^= 1;
    g.body.data[g.body.len - 1] ^= 1;
    assert_int_equal(grant_open_keys(&g, h, 3, "lu", NOW, &b, &err), -1);
    assert_int_equal(err.code, ECL_E_CRYPTO);
    grant_clear(&g);

    /* Signed whole by a key that was never the site's. */
    sign_grant(&stranger, &g);
    assert_int_equal(grant_open_keys(&g, h, 3, "lu", NOW, &b, &err), -1);
    assert_int_equal(err.code, ECL_E_DENIED);
    assert_non_null(strstr(err.msg, "signed by another site"));
    assert_non_null(strstr(err.msg, "not a key of site 'lu'"));
    /* Whole, so the client's own check passes it: the site decides. */
    assert_int_equal(client_grant_check(&g, &err), 0);
    grant_clear(&g);

    site_key_wipe(&k0);
    site_key_wipe(&k1);
    site_key_wipe(&k2);
    site_key_wipe(&stranger);
}

/* A rotation of "lu" from `from` to `to`, as a KeyRotation message. */
static Ecluse__V1__KeyRotation *rotate(const site_key *from, const site_key *to, uint64_t seq)
{
    signer *s = ts_signer(from);
    ecl_err err;
    unsigned char *enc = NULL;
    size_t len = 0;
    assert_int_equal(signer_local_stage(s, to, &err), 0);
    assert_int_equal(rotation_make("lu", s, to->public_key, seq, NOW, &enc, &len, &err), 0);
    signer_free(s);
    Ecluse__V1__KeyRotation *r = ecluse__v1__key_rotation__unpack(NULL, len, enc);
    free(enc);
    assert_non_null(r);
    return r;
}

static void test_a_peer_key_history_is_followed_from_a_trusted_key(void **state)
{
    (void)state;
    site_key k[3], stranger;
    ecl_err err;
    for (int i = 0; i < 3; i++)
        assert_int_equal(site_key_generate(&k[i], &err), 0);
    assert_int_equal(site_key_generate(&stranger, &err), 0);
    Ecluse__V1__KeyRotation *chain[2] = {rotate(&k[0], &k[1], 1), rotate(&k[1], &k[2], 2)};
    unsigned char(*keys)[crypto_sign_PUBLICKEYBYTES] = NULL;
    size_t n = 0;
    assert_int_equal(fed_rotation_keys("lu", k[0].public_key, chain, 2, &keys, &n, &err), 0);
    assert_int_equal(n, 3);
    for (int i = 0; i < 3; i++)
        assert_memory_equal(keys[i], k[i].public_key, 32);
    free(keys);
    /* From the middle: the link before it is skipped. */
    assert_int_equal(fed_rotation_keys("lu", k[1].public_key, chain, 2, &keys, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_memory_equal(keys[0], k[1].public_key, 32);
    assert_memory_equal(keys[1], k[2].public_key, 32);
    free(keys);
    /* A link the key before it did not sign breaks the chain. */
    Ecluse__V1__KeyRotation *forged = rotate(&stranger, &k[2], 2);
    Ecluse__V1__KeyRotation *bad[2] = {chain[0], forged};
    assert_int_equal(fed_rotation_keys("lu", k[0].public_key, bad, 2, &keys, &n, &err), -1);
    assert_int_equal(err.code, ECL_E_CRYPTO);
    assert_null(keys);
    ecluse__v1__key_rotation__free_unpacked(forged, NULL);
    for (int i = 0; i < 2; i++)
        ecluse__v1__key_rotation__free_unpacked(chain[i], NULL);
    for (int i = 0; i < 3; i++)
        site_key_wipe(&k[i]);
    site_key_wipe(&stranger);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_digests_are_as_documented),
        cmocka_unit_test(test_a_changed_dataset_is_refused_naming_both_versions),
        cmocka_unit_test(test_signatures_are_judged_against_the_key_history),
        cmocka_unit_test(test_a_peer_key_history_is_followed_from_a_trusted_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
