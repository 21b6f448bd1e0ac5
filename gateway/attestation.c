/* attestation.c - reading a peer's attestation of its researcher
 * (attestation.h). */
#include "gateway/attestation.h"

#include <stdlib.h>
#include <string.h>

#include "site/signer.h"
#include "site/sitekey.h"

int attestation_request_digest(const Ecluse__V1__AccessRequest *req, unsigned char out[32],
                               ecl_err *err)
{
    size_t len = ecluse__v1__access_request__get_packed_size(req);
    unsigned char *buf = malloc(len ? len : 1);
    if (buf == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    ecluse__v1__access_request__pack(req, buf);
    crypto_generichash(out, 32, buf, len, NULL, 0);
    free(buf);
    return 0;
}

/* What the decoded body says, checked against the caller and the request. */
static int check_body(const Ecluse__V1__AttestationBody *b, const char *caller_site,
                      const Ecluse__V1__AccessRequest *req, int64_t now, ecl_identity *requester,
                      ecl_err *err)
{
    unsigned char digest[32];
    if (attestation_request_digest(req, digest, err) != 0)
        return -1;
    if (strcmp(b->requester->site, caller_site) != 0)
        return ecl_fail(err, ECL_E_DENIED,
                        "site '%s' may attest only its own people, not a person of '%s'",
                        caller_site, b->requester->site);
    if (b->expires_unix <= now || b->issued_unix > now + ATTESTATION_SKEW_S)
        return ecl_fail(err, ECL_E_PRECONDITION,
                        "the attestation is not valid now (issued %lld, expires %lld)",
                        (long long)b->issued_unix, (long long)b->expires_unix);
    if (b->request_digest.len != 32 || sodium_memcmp(digest, b->request_digest.data, 32) != 0)
        return ecl_fail(err, ECL_E_CRYPTO, "the attestation is for another request");
    if (identity_make(b->requester->site, role_from_name(b->requester->role), b->requester->name,
                      requester, err) != 0 ||
        requester->role != ECL_ROLE_RESEARCHER)
        return ecl_fail(err, ECL_E_DENIED, "only researchers are attested for access");
    return 0;
}

int attestation_open(const unsigned char caller_key[crypto_sign_PUBLICKEYBYTES],
                     const char *caller_site, const Ecluse__V1__ForwardedAccessRequest *fwd,
                     int64_t now, ecl_identity *requester, Ecluse__V1__AttestationBody **out,
                     ecl_err *err)
{
    if (fwd->request == NULL || fwd->attestation == NULL)
        return ecl_fail(err, ECL_E_INPUT,
                        "a forwarded request needs the request and its attestation");
    const Ecluse__V1__Attestation *a = fwd->attestation;
    if (site_key_verify(caller_key, ATTESTATION_SIGNING_CONTEXT, a->body.data, a->body.len,
                        a->signature.data, a->signature.len, err) != 0)
        return err != NULL && err->code == ECL_E_INTERNAL
                   ? -1 /* out of memory: not a verdict on the signature */
                   : ecl_fail(err, ECL_E_CRYPTO, "the attestation is not signed by site '%s'",
                              caller_site);
    Ecluse__V1__AttestationBody *b =
        ecluse__v1__attestation_body__unpack(NULL, a->body.len, a->body.data);
    if (b == NULL || b->requester == NULL) {
        if (b != NULL)
            ecluse__v1__attestation_body__free_unpacked(b, NULL);
        return ecl_fail(err, ECL_E_INPUT, "the attestation does not decode");
    }
    if (check_body(b, caller_site, fwd->request, now, requester, err) != 0) {
        ecluse__v1__attestation_body__free_unpacked(b, NULL);
        return -1;
    }
    *out = b;
    return 0;
}
