/* grant.c - fuzz target: access grants presented back with Data.Read
 * (grant_open_keys, grant_check_dataset), as the holding site "lu" checks
 * them: its key history is test key 1 (an earlier key) then test key 0
 * (its current key); it holds the dataset fz_grant_held describes.
 *
 * Input: a mode byte, then
 *   mode bit 0 clear: a Grant encoding (body and signature) as received;
 *   mode bit 0 set:   a GrantBody encoding that the harness signs, so the
 *                     checks behind the signature (dataset, expiry, the
 *                     dataset held) are reached: with test key 0, or key 1
 *                     if bit 1 is set, or key 2 (no key of the holder's) if
 *                     bit 2 is set.
 * An accepted grant is for a dataset of "lu", not expired, signed by a key
 * of the history, and names the dataset held. */
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "gateway/grant.h"

#define HOLDER "lu"
#define NOW    1767225600

void fz_grant_held(grant_dataset *out)
{
    out->published_unix = NOW - 86400;
    memset(out->entry_digest, 0xe1, sizeof(out->entry_digest));
    memset(out->content_digest, 0xc0, sizeof(out->content_digest));
}

static int check_held(const Ecluse__V1__GrantBody *body)
{
    grant_dataset held;
    fz_grant_held(&held);
    ecl_err err;
    ecl_err_clear(&err);
    if (!FZ_CHECK("grant_check_dataset", grant_check_dataset(body, &held, &err), &err,
                  ECL_E_PRECONDITION))
        return 0;
    if (body->dataset_content_digest.len != GRANT_DIGEST_BYTES ||
        memcmp(body->dataset_content_digest.data, held.content_digest, GRANT_DIGEST_BYTES) != 0 ||
        body->dataset_entry_digest.len != GRANT_DIGEST_BYTES ||
        memcmp(body->dataset_entry_digest.data, held.entry_digest, GRANT_DIGEST_BYTES) != 0)
        fz_fail("grant %s for another version of %s accepted", body->grant_id, body->dataset);
    return 1;
}

static int open_grant(const Ecluse__V1__Grant *g, unsigned signed_by)
{
    unsigned char history[2][crypto_sign_PUBLICKEYBYTES];
    memcpy(history[0], fz_key(1)->public_key, crypto_sign_PUBLICKEYBYTES);
    memcpy(history[1], fz_key(0)->public_key, crypto_sign_PUBLICKEYBYTES);
    Ecluse__V1__GrantBody *body = NULL;
    ecl_err err;
    ecl_err_clear(&err);
    if (!FZ_CHECK("grant_open_keys",
                  grant_open_keys(g, (const unsigned char(*)[crypto_sign_PUBLICKEYBYTES])history, 2,
                                  HOLDER, NOW, &body, &err),
                  &err, ECL_E_INPUT, ECL_E_CRYPTO, ECL_E_DENIED, ECL_E_PRECONDITION))
        return 0;
    if (signed_by == 2)
        fz_fail("grant signed by a key outside the holder's history accepted");
    if (strncmp(body->dataset, HOLDER "/", strlen(HOLDER) + 1) != 0)
        fz_fail("grant for dataset '%s' accepted by site '%s'", body->dataset, HOLDER);
    if (body->expires_unix <= NOW)
        fz_fail("expired grant accepted");
    (void)grant_is_for(body, "spiffe://fi/researcher/alice");
    int ok = check_held(body);
    ecluse__v1__grant_body__free_unpacked(body, NULL);
    return ok;
}

int fz_grant(const uint8_t *data, size_t size)
{
    fz_reader r = {data, size};
    uint8_t mode = fz_u8(&r);
    if (mode & 1) {
        unsigned key = (mode & 4) ? 2 : (mode & 2) ? 1 : 0;
        unsigned char sig[crypto_sign_BYTES];
        ecl_err err;
        if (site_key_sign(fz_key(key), GRANT_SIGNING_CONTEXT, r.p, r.left, sig, &err) != 0)
            fz_fail("signing failed: %s", err.msg);
        Ecluse__V1__Grant g = ECLUSE__V1__GRANT__INIT;
        g.body.data = (uint8_t *)r.p;
        g.body.len = r.left;
        g.signature.data = sig;
        g.signature.len = sizeof(sig);
        return open_grant(&g, key);
    }
    Ecluse__V1__Grant *g = ecluse__v1__grant__unpack(NULL, r.left, r.p);
    if (g == NULL)
        return 0; /* the request carrying it would not decode (rpc_request fuzzes that) */
    int ok = open_grant(g, 0);
    ecluse__v1__grant__free_unpacked(g, NULL);
    return ok;
}
