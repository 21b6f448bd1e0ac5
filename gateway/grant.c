#include "gateway/grant.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int grant_sign(signer *key, Ecluse__V1__GrantBody *body, Ecluse__V1__Grant *out, ecl_err *err)
{
    ecluse__v1__grant__init(out);
    unsigned char public_key[crypto_sign_PUBLICKEYBYTES];
    signer_public_key(key, public_key);
    body->signing_key.data = public_key;
    body->signing_key.len = sizeof(public_key);
    int rc = signer_sign_message(key, SIGNER_GRANT, &body->base, &out->body, &out->signature, err);
    /* The key's bytes lived here; the signed encoding keeps its own copy. */
    body->signing_key.data = NULL;
    body->signing_key.len = 0;
    return rc;
}

void grant_clear(Ecluse__V1__Grant *g)
{
    free(g->body.data);
    free(g->signature.data);
    ecluse__v1__grant__init(g);
}

int grant_open(const Ecluse__V1__Grant *grant, const unsigned char *holder_key,
               const char *holder_site, int64_t now, Ecluse__V1__GrantBody **out, ecl_err *err)
{
    if (grant == NULL || grant->body.len == 0)
        return ecl_fail(err, ECL_E_INPUT, "the request carries no grant (ask with Access.Request)");
    if (site_key_verify(holder_key, GRANT_SIGNING_CONTEXT, grant->body.data, grant->body.len,
                        grant->signature.data, grant->signature.len, err) != 0)
        return ecl_fail(err, ECL_E_CRYPTO, "the grant is not signed by site '%s'", holder_site);
    Ecluse__V1__GrantBody *b =
        ecluse__v1__grant_body__unpack(NULL, grant->body.len, grant->body.data);
    if (b == NULL)
        return ecl_fail(err, ECL_E_INPUT, "the grant body does not decode");
    size_t n = strlen(holder_site);
    int rc = 0;
    if (strncmp(b->dataset, holder_site, n) != 0 || b->dataset[n] != '/')
        rc = ecl_fail(err, ECL_E_DENIED, "the grant is for dataset '%s', not one of site '%s'",
                      b->dataset, holder_site);
    else if (b->expires_unix <= now) {
        char when[32];
        time_t t = (time_t)b->expires_unix;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        rc = ecl_fail(err, ECL_E_PRECONDITION, "grant %s expired at %s: ask for access again",
                      b->grant_id, when);
    }
    if (rc != 0) {
        ecluse__v1__grant_body__free_unpacked(b, NULL);
        return -1;
    }
    *out = b;
    return 0;
}

int grant_is_for(const Ecluse__V1__GrantBody *body, const char *spiffe)
{
    if (body->requester == NULL)
        return 0;
    char want[256];
    if (body->requester->name[0] == '\0')
        snprintf(want, sizeof(want), "spiffe://%s/%s", body->requester->site,
                 body->requester->role);
    else
        snprintf(want, sizeof(want), "spiffe://%s/%s/%s", body->requester->site,
                 body->requester->role, body->requester->name);
    return strcmp(want, spiffe) == 0;
}
