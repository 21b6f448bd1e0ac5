/* erasure.c - erasure notices and acks, signed by one site, opened by another. */
#include <string.h>

#include "federation/erasure.h"
#include "site/signer.h"
#include "site/sitekey.h"

#define ID_DOMAIN "ecluse-erasure-notice-id"

void erasure_notice_id(const char *holder, uint64_t erasure_seq, const char *home,
                       char out[ERASURE_ID_LEN])
{
    crypto_generichash_state st;
    unsigned char zero = 0, seq[8], digest[32];
    for (int i = 0; i < 8; i++)
        seq[i] = (unsigned char)(erasure_seq >> (56 - 8 * i));
    crypto_generichash_init(&st, NULL, 0, sizeof(digest));
    crypto_generichash_update(&st, (const unsigned char *)ID_DOMAIN, strlen(ID_DOMAIN));
    crypto_generichash_update(&st, &zero, 1);
    crypto_generichash_update(&st, (const unsigned char *)holder, strlen(holder));
    crypto_generichash_update(&st, &zero, 1);
    crypto_generichash_update(&st, seq, sizeof(seq));
    crypto_generichash_update(&st, (const unsigned char *)home, strlen(home));
    crypto_generichash_final(&st, digest, sizeof(digest));
    sodium_bin2hex(out, ERASURE_ID_LEN, digest, 16);
}

/* The index of the key in `keys` that signed `body` under `context`, or -1. */
static long signed_by(const char *context, ProtobufCBinaryData body, ProtobufCBinaryData sig,
                      const unsigned char (*keys)[crypto_sign_PUBLICKEYBYTES], size_t n_keys)
{
    for (size_t i = n_keys; i-- > 0;) {
        ecl_err ignored;
        if (site_key_verify(keys[i], context, body.data, body.len, sig.data, sig.len, &ignored) ==
            0)
            return (long)i;
    }
    return -1;
}

static int same_key(ProtobufCBinaryData named, const unsigned char *key)
{
    return named.len == crypto_sign_PUBLICKEYBYTES &&
           sodium_memcmp(named.data, key, crypto_sign_PUBLICKEYBYTES) == 0;
}

int erasure_notice_open(const Ecluse__V1__SignedErasureNotice *n,
                        const unsigned char (*keys)[crypto_sign_PUBLICKEYBYTES], size_t n_keys,
                        Ecluse__V1__ErasureNoticeBody **out, ecl_err *err)
{
    long k = signed_by(ERASURE_NOTICE_CONTEXT, n->body, n->signature, keys, n_keys);
    if (k < 0)
        return ecl_fail(err, ECL_E_CRYPTO,
                        "the erasure notice's signature is not by any key of the sending site");
    Ecluse__V1__ErasureNoticeBody *b =
        ecluse__v1__erasure_notice_body__unpack(NULL, n->body.len, n->body.data);
    if (b == NULL)
        return ecl_fail(err, ECL_E_INPUT, "the erasure notice's body does not decode");
    if (!same_key(b->signing_key, keys[k])) {
        ecluse__v1__erasure_notice_body__free_unpacked(b, NULL);
        return ecl_fail(err, ECL_E_INPUT,
                        "the erasure notice names another signing key than the one that signed it");
    }
    *out = b;
    return 0;
}

int erasure_ack_open(const Ecluse__V1__SignedErasureAck *a,
                     const unsigned char (*keys)[crypto_sign_PUBLICKEYBYTES], size_t n_keys,
                     Ecluse__V1__ErasureAckBody **out, ecl_err *err)
{
    long k = signed_by(ERASURE_ACK_CONTEXT, a->body, a->signature, keys, n_keys);
    if (k < 0)
        return ecl_fail(err, ECL_E_CRYPTO,
                        "the erasure ack's signature is not by any key of the sending site");
    Ecluse__V1__ErasureAckBody *b =
        ecluse__v1__erasure_ack_body__unpack(NULL, a->body.len, a->body.data);
    if (b == NULL)
        return ecl_fail(err, ECL_E_INPUT, "the erasure ack's body does not decode");
    if (!same_key(b->signing_key, keys[k])) {
        ecluse__v1__erasure_ack_body__free_unpacked(b, NULL);
        return ecl_fail(err, ECL_E_INPUT,
                        "the erasure ack names another signing key than the one that signed it");
    }
    *out = b;
    return 0;
}
