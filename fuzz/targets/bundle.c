/* bundle.c - fuzz targets: peering bundles an admin imports
 * (bundle_from_text, bundle_verify) and the key rotations a gateway follows
 * from a peer (rotation_follow).
 *
 * bundle input: a mode byte, then
 *   mode 0: the text form ("ecluse-peer-bundle-v1\n<base64>");
 *   mode 1: a PeerBundle encoding as received;
 *   mode 2: a PeerBundleBody encoding, which the harness signs with test key
 *           0 after writing that key into it, so the checks behind the
 *           signature (site, country, endpoint, CA certificate) are reached.
 * An accepted bundle's fields are valid, its fingerprint is the one computed
 * from them, and its text form reads back to the same bytes.
 *
 * rotation input: a mode byte, then a KeyRotationList encoding. Mode bit 0:
 * the harness re-signs each rotation whose old_key is a test key with that
 * key. The chain is followed from test key 0 for site "fi"; what it ends at
 * must be the pinned key or a new_key of the chain. */
#include <stdlib.h>
#include <string.h>

#include "federation/bundle.h"
#include "fuzz/fuzz.h"

static uint8_t *sign_body(const uint8_t *data, size_t size, size_t *out_len)
{
    ecl_err err;
    Ecluse__V1__PeerBundleBody *body = ecluse__v1__peer_bundle_body__unpack(NULL, size, data);
    uint8_t *packed = NULL;
    size_t plen = size;
    if (body != NULL) {
        ProtobufCBinaryData old = body->signing_key; /* restored before the free */
        body->signing_key.data = (uint8_t *)fz_key(0)->public_key;
        body->signing_key.len = crypto_sign_PUBLICKEYBYTES;
        packed = malloc(ecluse__v1__peer_bundle_body__get_packed_size(body) + 1);
        if (packed == NULL)
            fz_fail("out of memory");
        plen = ecluse__v1__peer_bundle_body__pack(body, packed);
        body->signing_key = old;
        ecluse__v1__peer_bundle_body__free_unpacked(body, NULL);
    }
    unsigned char sig[crypto_sign_BYTES];
    if (site_key_sign(fz_key(0), BUNDLE_SIGNING_CONTEXT, packed ? packed : data, plen, sig, &err) !=
        0)
        fz_fail("signing failed: %s", err.msg);
    Ecluse__V1__PeerBundle b = ECLUSE__V1__PEER_BUNDLE__INIT;
    b.body.data = packed ? packed : (uint8_t *)data;
    b.body.len = plen;
    b.signature.data = sig;
    b.signature.len = sizeof(sig);
    uint8_t *out = malloc(ecluse__v1__peer_bundle__get_packed_size(&b) + 1);
    if (out == NULL)
        fz_fail("out of memory");
    *out_len = ecluse__v1__peer_bundle__pack(&b, out);
    free(packed);
    return out;
}

static int verify(const uint8_t *bytes, size_t len)
{
    peer_info info;
    ecl_err err;
    ecl_err_clear(&err);
    if (!FZ_CHECK("bundle_verify", bundle_verify(bytes, len, &info, &err), &err, ECL_E_CRYPTO,
                  ECL_E_INPUT, ECL_E_LIMIT))
        return 0;
    char fp[BUNDLE_FINGERPRINT_MAX];
    if (!site_id_is_valid(info.site) || info.ca_pem == NULL)
        fz_fail("bundle accepted with site '%s'", info.site);
    if (bundle_fingerprint(info.site, info.signing_key, info.ca_pem, fp, &err) != 0 ||
        strcmp(fp, info.fingerprint) != 0)
        fz_fail("bundle fingerprint %s is not the one its fields give", info.fingerprint);
    char *text = NULL;
    uint8_t *back = NULL;
    size_t back_len = 0;
    if (bundle_to_text(bytes, len, &text, &err) != 0 ||
        bundle_from_text(text, strlen(text), &back, &back_len, &err) != 0 || back_len != len ||
        memcmp(back, bytes, len) != 0)
        fz_fail("bundle text form does not read back: %s", err.msg);
    free(text);
    free(back);
    peer_info_clear(&info);
    return 1;
}

int fz_bundle(const uint8_t *data, size_t size)
{
    fz_reader r = {data, size};
    uint8_t mode = fz_u8(&r) % 3;
    ecl_err err;
    ecl_err_clear(&err);
    if (mode == 1)
        return verify(r.p, r.left);
    if (mode == 2) {
        size_t len = 0;
        uint8_t *b = sign_body(r.p, r.left, &len);
        int ok = verify(b, len);
        free(b);
        return ok;
    }
    uint8_t *bin = NULL;
    size_t len = 0;
    if (!FZ_CHECK("bundle_from_text", bundle_from_text((const char *)r.p, r.left, &bin, &len, &err),
                  &err, ECL_E_INPUT, ECL_E_LIMIT))
        return 0;
    if (len > r.left)
        fz_fail("bundle_from_text gave %zu bytes from %zu of text", len, r.left);
    int ok = verify(bin, len);
    free(bin);
    return ok;
}

/* The test key whose public half is `pk`, or NULL. */
static const site_key *test_key(const ProtobufCBinaryData *pk)
{
    for (unsigned i = 0; i < FZ_KEYS; i++)
        if (pk->len == crypto_sign_PUBLICKEYBYTES &&
            memcmp(pk->data, fz_key(i)->public_key, crypto_sign_PUBLICKEYBYTES) == 0)
            return fz_key(i);
    return NULL;
}

static unsigned char sigs[64][crypto_sign_BYTES];

int fz_rotation(const uint8_t *data, size_t size)
{
    fz_reader r = {data, size};
    uint8_t mode = fz_u8(&r);
    Ecluse__V1__KeyRotationList *list = ecluse__v1__key_rotation_list__unpack(NULL, r.left, r.p);
    if (list == NULL)
        return 0; /* as the gateway: a response that does not decode is refused before this */
    ProtobufCBinaryData saved[64];
    size_t n = list->n_rotations < 64 ? list->n_rotations : 64;
    for (size_t i = 0; (mode & 1) && i < n; i++) {
        Ecluse__V1__KeyRotation *rot = list->rotations[i];
        saved[i] = rot->signature;
        Ecluse__V1__KeyRotationBody *b =
            ecluse__v1__key_rotation_body__unpack(NULL, rot->body.len, rot->body.data);
        const site_key *k = b ? test_key(&b->old_key) : NULL;
        ecl_err err;
        if (k != NULL) {
            if (site_key_sign(k, ROTATION_SIGNING_CONTEXT, rot->body.data, rot->body.len, sigs[i],
                              &err) != 0)
                fz_fail("signing failed: %s", err.msg);
            rot->signature.data = sigs[i];
            rot->signature.len = crypto_sign_BYTES;
        }
        if (b != NULL)
            ecluse__v1__key_rotation_body__free_unpacked(b, NULL);
    }
    unsigned char current[crypto_sign_PUBLICKEYBYTES];
    ecl_err err;
    ecl_err_clear(&err);
    int ok =
        FZ_CHECK("rotation_follow",
                 rotation_follow("fi", fz_key(0)->public_key, list->rotations, n, current, &err),
                 &err, ECL_E_INPUT, ECL_E_CRYPTO);
    if (ok && memcmp(current, fz_key(0)->public_key, sizeof(current)) != 0) {
        int found = 0;
        for (size_t i = 0; i < n && !found; i++) {
            Ecluse__V1__KeyRotationBody *b = ecluse__v1__key_rotation_body__unpack(
                NULL, list->rotations[i]->body.len, list->rotations[i]->body.data);
            found = b && b->new_key.len == sizeof(current) &&
                    memcmp(b->new_key.data, current, sizeof(current)) == 0;
            if (b != NULL)
                ecluse__v1__key_rotation_body__free_unpacked(b, NULL);
        }
        if (!found)
            fz_fail("rotation chain ends at a key it does not name");
    }
    for (size_t i = 0; (mode & 1) && i < n; i++)
        list->rotations[i]->signature = saved[i];
    ecluse__v1__key_rotation_list__free_unpacked(list, NULL);
    return ok;
}
