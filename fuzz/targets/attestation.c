/* attestation.c - fuzz target: a peer's attestation of its researcher, as
 * the holding site reads a forwarded access request (attestation_open).
 *
 * Input: a mode byte, then a piece: the AccessRequest encoding, then
 *   mode bit 0 clear: an Attestation encoding (body and signature) as
 *                     received from the peer "fi";
 *   mode bit 0 set:   an AttestationBody encoding that the harness signs
 *                     with test key 1, fi's pinned key, so the checks behind
 *                     the signature are reached; with mode bit 1 also set,
 *                     the harness first sets the body's request digest to
 *                     the request's, so the checks after that one are too.
 * An accepted attestation is signed by fi's key, about a researcher of fi,
 * valid at NOW and for exactly this request. */
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "gateway/attestation.h"
#include "site/signer.h"

#define CALLER "fi"
#define NOW    1767225600

static int open_it(const Ecluse__V1__AccessRequest *req, const Ecluse__V1__Attestation *att)
{
    Ecluse__V1__ForwardedAccessRequest fwd = ECLUSE__V1__FORWARDED_ACCESS_REQUEST__INIT;
    fwd.request = (Ecluse__V1__AccessRequest *)req;
    fwd.attestation = (Ecluse__V1__Attestation *)att;
    ecl_identity who;
    Ecluse__V1__AttestationBody *b = NULL;
    ecl_err err;
    ecl_err_clear(&err);
    if (!FZ_CHECK("attestation_open",
                  attestation_open(fz_key(1)->public_key, CALLER, &fwd, NOW, &who, &b, &err), &err,
                  ECL_E_INPUT, ECL_E_CRYPTO, ECL_E_DENIED, ECL_E_PRECONDITION))
        return 0;
    if (site_key_verify(fz_key(1)->public_key, ATTESTATION_SIGNING_CONTEXT, att->body.data,
                        att->body.len, att->signature.data, att->signature.len, &err) != 0)
        fz_fail("an attestation not signed by the caller's key was accepted");
    if (strcmp(who.site, CALLER) != 0 || strcmp(b->requester->site, CALLER) != 0)
        fz_fail("site '%s' attested a person of '%s'", CALLER, who.site);
    if (who.role != ECL_ROLE_RESEARCHER)
        fz_fail("a non-researcher was attested for access");
    if (b->expires_unix <= NOW || b->issued_unix > NOW + ATTESTATION_SKEW_S)
        fz_fail("an attestation not valid now was accepted");
    unsigned char digest[32];
    if (attestation_request_digest(req, digest, &err) != 0)
        fz_fail("digest: %s", err.msg);
    if (b->request_digest.len != 32 || memcmp(digest, b->request_digest.data, 32) != 0)
        fz_fail("an attestation for another request was accepted");
    ecluse__v1__attestation_body__free_unpacked(b, NULL);
    return 1;
}

/* The body as fuzzed, or (mode bit 1) with its digest set to the request's. */
static uint8_t *body_bytes(const Ecluse__V1__AccessRequest *req, const uint8_t *p, size_t n,
                           int set_digest, size_t *len)
{
    uint8_t *out = NULL;
    Ecluse__V1__AttestationBody *b =
        set_digest ? ecluse__v1__attestation_body__unpack(NULL, n, p) : NULL;
    if (b != NULL) {
        unsigned char digest[32];
        ecl_err err;
        if (attestation_request_digest(req, digest, &err) != 0)
            fz_fail("digest: %s", err.msg);
        free(b->request_digest.data);    /* protobuf-c's allocator is malloc */
        b->request_digest.data = digest; /* borrowed: taken out again before freeing */
        b->request_digest.len = sizeof(digest);
        *len = ecluse__v1__attestation_body__get_packed_size(b);
        out = malloc(*len ? *len : 1);
        if (out != NULL)
            ecluse__v1__attestation_body__pack(b, out);
        b->request_digest.data = NULL;
        b->request_digest.len = 0;
        ecluse__v1__attestation_body__free_unpacked(b, NULL);
    } else {
        *len = n;
        out = malloc(n ? n : 1);
        if (out != NULL && n > 0)
            memcpy(out, p, n);
    }
    if (out == NULL)
        fz_fail("out of memory");
    return out;
}

int fz_attestation(const uint8_t *data, size_t size)
{
    fz_reader r = {data, size};
    uint8_t mode = fz_u8(&r);
    size_t req_len;
    const uint8_t *req_bytes = fz_piece(&r, &req_len);
    Ecluse__V1__AccessRequest *req = ecluse__v1__access_request__unpack(NULL, req_len, req_bytes);
    if (req == NULL)
        return 0; /* the forwarded request would not decode (rpc_request fuzzes that) */
    int ok = 0;
    if (mode & 1) {
        size_t len;
        uint8_t *body = body_bytes(req, r.p, r.left, mode & 2, &len);
        unsigned char sig[crypto_sign_BYTES];
        ecl_err err;
        if (site_key_sign(fz_key(1), ATTESTATION_SIGNING_CONTEXT, body, len, sig, &err) != 0)
            fz_fail("signing failed: %s", err.msg);
        Ecluse__V1__Attestation a = ECLUSE__V1__ATTESTATION__INIT;
        a.body.data = body;
        a.body.len = len;
        a.signature.data = sig;
        a.signature.len = sizeof(sig);
        ok = open_it(req, &a);
        free(body);
    } else {
        Ecluse__V1__Attestation *a = ecluse__v1__attestation__unpack(NULL, r.left, r.p);
        if (a != NULL) {
            ok = open_it(req, a);
            ecluse__v1__attestation__free_unpacked(a, NULL);
        }
    }
    ecluse__v1__access_request__free_unpacked(req, NULL);
    return ok;
}
