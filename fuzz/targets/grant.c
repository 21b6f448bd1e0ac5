/* grant.c - fuzz target: access grants presented back with Data.Read
 * (grant_open), as the holding site "lu" checks them.
 *
 * Input: a mode byte, then
 *   mode bit 0 clear: a Grant encoding (body and signature) as received;
 *   mode bit 0 set:   a GrantBody encoding that the harness signs with test
 *                     key 0, the holder's key, so the checks behind the
 *                     signature (dataset, expiry) are reached.
 * An accepted grant is for a dataset of "lu" and not expired. */
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "gateway/grant.h"

#define HOLDER "lu"
#define NOW    1767225600

static int open_grant(const Ecluse__V1__Grant *g)
{
    Ecluse__V1__GrantBody *body = NULL;
    ecl_err err;
    ecl_err_clear(&err);
    if (!FZ_CHECK("grant_open", grant_open(g, fz_key(0)->public_key, HOLDER, NOW, &body, &err),
                  &err, ECL_E_INPUT, ECL_E_CRYPTO, ECL_E_DENIED, ECL_E_PRECONDITION))
        return 0;
    if (strncmp(body->dataset, HOLDER "/", strlen(HOLDER) + 1) != 0)
        fz_fail("grant for dataset '%s' accepted by site '%s'", body->dataset, HOLDER);
    if (body->expires_unix <= NOW)
        fz_fail("expired grant accepted");
    (void)grant_is_for(body, "spiffe://fi/researcher/alice");
    ecluse__v1__grant_body__free_unpacked(body, NULL);
    return 1;
}

int fz_grant(const uint8_t *data, size_t size)
{
    fz_reader r = {data, size};
    uint8_t mode = fz_u8(&r);
    if (mode & 1) {
        unsigned char sig[crypto_sign_BYTES];
        ecl_err err;
        if (site_key_sign(fz_key(0), GRANT_SIGNING_CONTEXT, r.p, r.left, sig, &err) != 0)
            fz_fail("signing failed: %s", err.msg);
        Ecluse__V1__Grant g = ECLUSE__V1__GRANT__INIT;
        g.body.data = (uint8_t *)r.p;
        g.body.len = r.left;
        g.signature.data = sig;
        g.signature.len = sizeof(sig);
        return open_grant(&g);
    }
    Ecluse__V1__Grant *g = ecluse__v1__grant__unpack(NULL, r.left, r.p);
    if (g == NULL)
        return 0; /* the request carrying it would not decode (rpc_request fuzzes that) */
    int ok = open_grant(g);
    ecluse__v1__grant__free_unpacked(g, NULL);
    return ok;
}
