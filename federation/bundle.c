#include "federation/bundle.h"

#include <inttypes.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "site/country.h"
#include "site/pki.h"

#define TEXT_HEADER      "ecluse-peer-bundle-v1\n"
#define BUNDLE_MAX_BYTES (64 * 1024)

void peer_info_clear(peer_info *p)
{
    free(p->ca_pem);
    memset(p, 0, sizeof(*p));
}

int bundle_fingerprint(const char *site, const unsigned char *signing_key, const char *ca_pem,
                       char out[BUNDLE_FINGERPRINT_MAX], ecl_err *err)
{
    X509 *ca = NULL;
    if (pki_cert_from_pem(ca_pem, strlen(ca_pem), &ca, err) != 0)
        return -1;
    unsigned char *der = NULL;
    int der_len = i2d_X509(ca, &der);
    X509_free(ca);
    if (der_len <= 0)
        return ecl_fail(err, ECL_E_INPUT, "the CA certificate cannot be encoded");
    crypto_generichash_state st;
    unsigned char hash[32], zero = 0;
    crypto_generichash_init(&st, NULL, 0, sizeof(hash));
    crypto_generichash_update(&st, (const unsigned char *)site, strlen(site));
    crypto_generichash_update(&st, &zero, 1);
    crypto_generichash_update(&st, signing_key, crypto_sign_PUBLICKEYBYTES);
    crypto_generichash_update(&st, der, (size_t)der_len);
    crypto_generichash_final(&st, hash, sizeof(hash));
    OPENSSL_free(der);
    size_t used = 0;
    for (size_t i = 0; i < 16; i++) {
        if (i > 0 && i % 2 == 0)
            out[used++] = '-';
        snprintf(out + used, BUNDLE_FINGERPRINT_MAX - used, "%02x", hash[i]);
        used += 2;
    }
    return 0;
}

/* A message's encoding in a malloc'd buffer the caller owns. */
static int pack_owned(const ProtobufCMessage *msg, unsigned char **out, size_t *len, ecl_err *err)
{
    *len = protobuf_c_message_get_packed_size(msg);
    *out = malloc(*len ? *len : 1);
    if (*out == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    protobuf_c_message_pack(msg, *out);
    return 0;
}

int bundle_make(const char *site, const char *country, const char *endpoint, const char *ca_pem,
                signer *key, int64_t issued_unix, unsigned char **out, size_t *len, ecl_err *err)
{
    Ecluse__V1__PeerBundleBody body = ECLUSE__V1__PEER_BUNDLE_BODY__INIT;
    body.site = (char *)site;
    body.country = (char *)country;
    body.endpoint = (char *)endpoint;
    body.ca_pem = (char *)ca_pem;
    unsigned char public_key[crypto_sign_PUBLICKEYBYTES];
    signer_public_key(key, public_key);
    body.signing_key.data = public_key;
    body.signing_key.len = sizeof(public_key);
    body.issued_unix = issued_unix;
    Ecluse__V1__PeerBundle bundle = ECLUSE__V1__PEER_BUNDLE__INIT;
    if (signer_sign_message(key, SIGNER_BUNDLE, &body.base, &bundle.body, &bundle.signature, err) !=
        0)
        return -1;
    int rc = pack_owned(&bundle.base, out, len, err);
    free(bundle.body.data);
    free(bundle.signature.data);
    return rc;
}

/* The CA in a bundle must be a CA, and the CA of the site it claims. */
static int check_ca(const char *site, const char *ca_pem, ecl_err *err)
{
    X509 *ca = NULL;
    if (pki_cert_from_pem(ca_pem, strlen(ca_pem), &ca, err) != 0)
        return ecl_err_prefix(err, "bundle of '%s': CA certificate", site);
    char spiffe[ECL_SPIFFE_MAX], want[ECL_SPIFFE_MAX];
    snprintf(want, sizeof(want), "spiffe://%s", site);
    int rc = 0;
    if (X509_check_ca(ca) == 0)
        rc = ecl_fail(err, ECL_E_INPUT, "bundle of '%s': its certificate is not a CA", site);
    else if (pki_cert_spiffe(ca, spiffe, sizeof(spiffe), err) != 0 || strcmp(spiffe, want) != 0)
        rc = ecl_fail(err, ECL_E_INPUT, "bundle of '%s': its CA is not the CA of %s", site, want);
    X509_free(ca);
    return rc;
}

static int check_body(const Ecluse__V1__PeerBundleBody *b, ecl_err *err)
{
    if (!site_id_is_valid(b->site))
        return ecl_fail(err, ECL_E_INPUT, "bundle: '%s' is not a valid site id", b->site);
    if (!country_is_valid(b->country))
        return ecl_fail(err, ECL_E_INPUT, "bundle of '%s': '%s' is not an ISO 3166-1 country",
                        b->site, b->country);
    const char *colon = strrchr(b->endpoint, ':');
    char *end = NULL;
    long port = colon != NULL ? strtol(colon + 1, &end, 10) : 0;
    if (colon == NULL || colon == b->endpoint || end == colon + 1 || *end != '\0' || port <= 0 ||
        port > 65535 || strlen(b->endpoint) >= 256)
        return ecl_fail(err, ECL_E_INPUT, "bundle of '%s': endpoint '%s' is not host:port", b->site,
                        b->endpoint);
    if (b->signing_key.len != crypto_sign_PUBLICKEYBYTES)
        return ecl_fail(err, ECL_E_INPUT, "bundle of '%s': signing key is %zu bytes, not %d",
                        b->site, b->signing_key.len, crypto_sign_PUBLICKEYBYTES);
    return check_ca(b->site, b->ca_pem, err);
}

int bundle_verify(const unsigned char *bytes, size_t len, peer_info *out, ecl_err *err)
{
    memset(out, 0, sizeof(*out));
    if (len > BUNDLE_MAX_BYTES)
        return ecl_fail(err, ECL_E_LIMIT, "bundle is %zu bytes, over the %d allowed", len,
                        BUNDLE_MAX_BYTES);
    Ecluse__V1__PeerBundle *bundle = ecluse__v1__peer_bundle__unpack(NULL, len, bytes);
    if (bundle == NULL)
        return ecl_fail(err, ECL_E_INPUT, "not a peering bundle (does not decode)");
    Ecluse__V1__PeerBundleBody *body =
        ecluse__v1__peer_bundle_body__unpack(NULL, bundle->body.len, bundle->body.data);
    int rc = -1;
    if (body == NULL) {
        ecl_fail(err, ECL_E_INPUT, "peering bundle body does not decode");
        goto out;
    }
    /* Self-signed: the signature proves the holder of the key made it; the
     * fingerprint, compared out of band, proves the key is the site's. */
    if (body->signing_key.len != crypto_sign_PUBLICKEYBYTES ||
        site_key_verify(body->signing_key.data, BUNDLE_SIGNING_CONTEXT, bundle->body.data,
                        bundle->body.len, bundle->signature.data, bundle->signature.len,
                        err) != 0) {
        ecl_fail(err, ECL_E_CRYPTO, "peering bundle signature does not verify");
        goto out;
    }
    if (check_body(body, err) != 0)
        goto out;
    snprintf(out->site, sizeof(out->site), "%s", body->site);
    snprintf(out->country, sizeof(out->country), "%s", body->country);
    snprintf(out->endpoint, sizeof(out->endpoint), "%s", body->endpoint);
    memcpy(out->signing_key, body->signing_key.data, crypto_sign_PUBLICKEYBYTES);
    out->issued_unix = body->issued_unix;
    out->ca_pem = strdup(body->ca_pem);
    if (out->ca_pem == NULL ||
        bundle_fingerprint(out->site, out->signing_key, out->ca_pem, out->fingerprint, err) != 0) {
        peer_info_clear(out);
        goto out;
    }
    rc = 0;
out:
    if (body != NULL)
        ecluse__v1__peer_bundle_body__free_unpacked(body, NULL);
    ecluse__v1__peer_bundle__free_unpacked(bundle, NULL);
    return rc;
}

int bundle_to_text(const unsigned char *bundle, size_t len, char **text, ecl_err *err)
{
    size_t b64 = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
    size_t hlen = strlen(TEXT_HEADER);
    char *t = malloc(hlen + b64 + 2);
    if (t == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    memcpy(t, TEXT_HEADER, hlen);
    sodium_bin2base64(t + hlen, b64, bundle, len, sodium_base64_VARIANT_ORIGINAL);
    memcpy(t + hlen + b64 - 1, "\n", 2); /* over the NUL that b64 counts */
    *text = t;
    return 0;
}

int bundle_from_text(const char *text, size_t len, unsigned char **bundle, size_t *out_len,
                     ecl_err *err)
{
    size_t hlen = strlen(TEXT_HEADER);
    if (len < hlen || memcmp(text, TEXT_HEADER, hlen) != 0)
        return ecl_fail(err, ECL_E_INPUT,
                        "not a peering bundle (expected a first line 'ecluse-peer-bundle-v1')");
    size_t cap = len;
    unsigned char *bin = malloc(cap ? cap : 1);
    if (bin == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    const char *end = NULL;
    size_t got = 0;
    if (sodium_base642bin(bin, cap, text + hlen, len - hlen, "\r\n ", &got, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        (end != NULL && end != text + len)) {
        free(bin);
        return ecl_fail(err, ECL_E_INPUT,
                        "peering bundle is not valid base64 after its first line");
    }
    *bundle = bin;
    *out_len = got;
    return 0;
}

int rotation_make(const char *site, signer *old_key, const unsigned char *new_public,
                  uint64_t sequence, int64_t issued_unix, unsigned char **out, size_t *len,
                  ecl_err *err)
{
    Ecluse__V1__KeyRotationBody body = ECLUSE__V1__KEY_ROTATION_BODY__INIT;
    body.site = (char *)site;
    unsigned char old_public[crypto_sign_PUBLICKEYBYTES];
    signer_public_key(old_key, old_public);
    body.old_key.data = old_public;
    body.old_key.len = crypto_sign_PUBLICKEYBYTES;
    body.new_key.data = (uint8_t *)new_public;
    body.new_key.len = crypto_sign_PUBLICKEYBYTES;
    body.sequence = sequence;
    body.issued_unix = issued_unix;
    Ecluse__V1__KeyRotation rot = ECLUSE__V1__KEY_ROTATION__INIT;
    if (signer_sign_message(old_key, SIGNER_ROTATION, &body.base, &rot.body, &rot.signature, err) !=
        0)
        return -1;
    int rc = pack_owned(&rot.base, out, len, err);
    free(rot.body.data);
    free(rot.signature.data);
    return rc;
}

int rotation_follow(const char *site, const unsigned char *pinned,
                    Ecluse__V1__KeyRotation *const *chain, size_t count,
                    unsigned char current[crypto_sign_PUBLICKEYBYTES], ecl_err *err)
{
    memcpy(current, pinned, crypto_sign_PUBLICKEYBYTES);
    uint64_t expect_seq = 0;
    for (size_t i = 0; i < count; i++) {
        Ecluse__V1__KeyRotationBody *b =
            ecluse__v1__key_rotation_body__unpack(NULL, chain[i]->body.len, chain[i]->body.data);
        if (b == NULL)
            return ecl_fail(err, ECL_E_INPUT, "key rotation %zu does not decode", i);
        int rc = 0;
        int is_ours = b->old_key.len == crypto_sign_PUBLICKEYBYTES &&
                      sodium_memcmp(b->old_key.data, current, crypto_sign_PUBLICKEYBYTES) == 0;
        if (strcmp(b->site, site) != 0)
            rc = ecl_fail(err, ECL_E_CRYPTO, "key rotation %zu is for site '%s', not '%s'", i,
                          b->site, site);
        else if (!is_ours && expect_seq == 0)
            ; /* a rotation from before the key we pinned: skip it */
        else if (!is_ours)
            rc = ecl_fail(err, ECL_E_CRYPTO,
                          "key rotation %" PRIu64 " does not start from the current key",
                          b->sequence);
        else if (expect_seq != 0 && b->sequence != expect_seq)
            rc = ecl_fail(err, ECL_E_CRYPTO, "key rotation sequence %" PRIu64 " after %" PRIu64,
                          b->sequence, expect_seq - 1);
        else if (b->new_key.len != crypto_sign_PUBLICKEYBYTES ||
                 site_key_verify(current, ROTATION_SIGNING_CONTEXT, chain[i]->body.data,
                                 chain[i]->body.len, chain[i]->signature.data,
                                 chain[i]->signature.len, err) != 0)
            rc = ecl_fail(err, ECL_E_CRYPTO,
                          "key rotation %" PRIu64
                          " of site '%s' is not signed by the key it replaces",
                          b->sequence, site);
        else {
            memcpy(current, b->new_key.data, crypto_sign_PUBLICKEYBYTES);
            expect_seq = b->sequence + 1;
        }
        ecluse__v1__key_rotation_body__free_unpacked(b, NULL);
        if (rc != 0)
            return -1;
    }
    return 0;
}
