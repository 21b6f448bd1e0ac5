/* key_history.c - the keys a site has signed with, from its verified chain
 * of key rotations (state.h, bundle.h). */
#include <stdlib.h>
#include <string.h>

#include "federation/bundle.h"
#include "federation/key_history.h"
#include "federation/state.h"

int fed_site_key_history(fed_state *st, const char *site, const unsigned char *current,
                         unsigned char (**keys)[crypto_sign_PUBLICKEYBYTES], size_t *count,
                         ecl_err *err)
{
    *keys = NULL;
    *count = 0;
    ProtobufCBinaryData *enc = NULL;
    size_t n = 0;
    if (fed_state_list_rotations(st, &enc, &n, err) != 0)
        return -1;
    unsigned char(*out)[crypto_sign_PUBLICKEYBYTES] = calloc(n + 2, sizeof(*out));
    Ecluse__V1__KeyRotation **chain = calloc(n ? n : 1, sizeof(*chain));
    size_t have = 0;
    int rc = out && chain ? 0 : ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        chain[i] = ecluse__v1__key_rotation__unpack(NULL, enc[i].len, enc[i].data);
        Ecluse__V1__KeyRotationBody *b =
            chain[i] ? ecluse__v1__key_rotation_body__unpack(NULL, chain[i]->body.len,
                                                             chain[i]->body.data)
                     : NULL;
        if (b == NULL || b->old_key.len != crypto_sign_PUBLICKEYBYTES ||
            b->new_key.len != crypto_sign_PUBLICKEYBYTES)
            rc = ecl_fail(err, ECL_E_INPUT, "key rotation %zu of %s does not decode", i + 1, site);
        else {
            if (i == 0)
                memcpy(out[have++], b->old_key.data, crypto_sign_PUBLICKEYBYTES);
            memcpy(out[have++], b->new_key.data, crypto_sign_PUBLICKEYBYTES);
        }
        if (b != NULL)
            ecluse__v1__key_rotation_body__free_unpacked(b, NULL);
    }
    /* Every link signed by the key before it: a rewritten history fails. */
    unsigned char end[crypto_sign_PUBLICKEYBYTES];
    if (rc == 0 && n > 0)
        rc = rotation_follow(site, out[0], chain, n, end, err);
    for (size_t i = 0; chain != NULL && i < n; i++)
        if (chain[i] != NULL)
            ecluse__v1__key_rotation__free_unpacked(chain[i], NULL);
    free(chain);
    fed_state_free_list(enc, n);
    if (rc == 0 && current != NULL &&
        (have == 0 || memcmp(out[have - 1], current, crypto_sign_PUBLICKEYBYTES) != 0))
        memcpy(out[have++], current, crypto_sign_PUBLICKEYBYTES);
    if (rc == 0 && have == 0)
        rc = ecl_fail(err, ECL_E_NOT_FOUND,
                      "site %s never rotated its key, and no current key was given", site);
    if (rc != 0) {
        free(out);
        return -1;
    }
    *keys = out;
    *count = have;
    return 0;
}

int fed_rotation_keys(const char *site, const unsigned char root[crypto_sign_PUBLICKEYBYTES],
                      Ecluse__V1__KeyRotation *const *chain, size_t count,
                      unsigned char (**keys)[crypto_sign_PUBLICKEYBYTES], size_t *n_keys,
                      ecl_err *err)
{
    *keys = NULL;
    *n_keys = 0;
    unsigned char end[crypto_sign_PUBLICKEYBYTES];
    if (rotation_follow(site, root, chain, count, end, err) != 0)
        return -1;
    unsigned char(*out)[crypto_sign_PUBLICKEYBYTES] = calloc(count + 1, sizeof(*out));
    if (out == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    /* The chain verified: walk the path rotation_follow took. */
    size_t have = 0;
    memcpy(out[have++], root, crypto_sign_PUBLICKEYBYTES);
    for (size_t i = 0; i < count; i++) {
        Ecluse__V1__KeyRotationBody *b =
            ecluse__v1__key_rotation_body__unpack(NULL, chain[i]->body.len, chain[i]->body.data);
        if (b != NULL && b->old_key.len == crypto_sign_PUBLICKEYBYTES &&
            b->new_key.len == crypto_sign_PUBLICKEYBYTES &&
            memcmp(b->old_key.data, out[have - 1], crypto_sign_PUBLICKEYBYTES) == 0)
            memcpy(out[have++], b->new_key.data, crypto_sign_PUBLICKEYBYTES);
        if (b != NULL)
            ecluse__v1__key_rotation_body__free_unpacked(b, NULL);
    }
    *keys = out;
    *n_keys = have;
    return 0;
}
