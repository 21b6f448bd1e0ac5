#include "gateway/grant.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/bytes.h"
#include "site/sitekey.h"

#define CONTENT_CONTEXT "ecluse-dataset-content-v1"

/* ---- what a grant was decided on ----------------------------------------- */

static void hash_u32(crypto_generichash_state *h, uint32_t v)
{
    unsigned char b[4];
    ecl_put_u32be(b, v);
    crypto_generichash_update(h, b, sizeof(b));
}

static void hash_u64(crypto_generichash_state *h, uint64_t v)
{
    unsigned char b[8];
    ecl_put_u64be(b, v);
    crypto_generichash_update(h, b, sizeof(b));
}

static void hash_field(crypto_generichash_state *h, const void *p, size_t len)
{
    hash_u32(h, (uint32_t)len);
    crypto_generichash_update(h, p, len);
}

static void content_digest(const Ecluse__V1__DatasetEntry *e, unsigned char out[GRANT_DIGEST_BYTES])
{
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, GRANT_DIGEST_BYTES);
    crypto_generichash_update(&h, (const unsigned char *)CONTENT_CONTEXT, sizeof(CONTENT_CONTEXT));
    hash_u64(&h, e->rows);
    for (size_t i = 0; i < e->n_tensors; i++) {
        const Ecluse__V1__TensorInfo *t = e->tensors[i];
        hash_field(&h, t->name, strlen(t->name));
        hash_field(&h, t->dtype, strlen(t->dtype));
        hash_u32(&h, (uint32_t)t->n_shape);
        for (size_t d = 0; d < t->n_shape; d++)
            hash_u64(&h, t->shape[d]);
        hash_u64(&h, t->byte_size);
        hash_field(&h, t->digest.data, t->digest.len);
    }
    crypto_generichash_final(&h, out, GRANT_DIGEST_BYTES);
}

int grant_dataset_of(const unsigned char *entry, size_t len, grant_dataset *out, ecl_err *err)
{
    Ecluse__V1__DatasetEntry *e = ecluse__v1__dataset_entry__unpack(NULL, len, entry);
    if (e == NULL)
        return ecl_fail(err, ECL_E_INPUT, "the stored dataset entry does not decode");
    memset(out, 0, sizeof(*out));
    out->published_unix = e->issued_unix;
    crypto_generichash(out->entry_digest, GRANT_DIGEST_BYTES, entry, len, NULL, 0);
    content_digest(e, out->content_digest);
    ecluse__v1__dataset_entry__free_unpacked(e, NULL);
    return 0;
}

void grant_bind_dataset(Ecluse__V1__GrantBody *body, const grant_dataset *d)
{
    body->dataset_published_unix = d->published_unix;
    body->dataset_entry_digest.data = (uint8_t *)d->entry_digest;
    body->dataset_entry_digest.len = GRANT_DIGEST_BYTES;
    body->dataset_content_digest.data = (uint8_t *)d->content_digest;
    body->dataset_content_digest.len = GRANT_DIGEST_BYTES;
}

static void utc(int64_t unix_time, char *out, size_t cap)
{
    time_t t = (time_t)unix_time;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The first 8 bytes in hex: enough for a person to tell two apart. */
static void prefix_hex(const ProtobufCBinaryData *d, char out[17])
{
    if (d->len < 8)
        snprintf(out, 17, "%s", "(none)");
    else
        sodium_bin2hex(out, 17, d->data, 8);
}

int grant_check_dataset(const Ecluse__V1__GrantBody *g, const grant_dataset *held, ecl_err *err)
{
    int bound = g->dataset_entry_digest.len == GRANT_DIGEST_BYTES &&
                g->dataset_content_digest.len == GRANT_DIGEST_BYTES;
    if (bound &&
        sodium_memcmp(g->dataset_entry_digest.data, held->entry_digest, GRANT_DIGEST_BYTES) == 0 &&
        sodium_memcmp(g->dataset_content_digest.data, held->content_digest, GRANT_DIGEST_BYTES) ==
            0)
        return 0;
    char was[32], now[32], was_content[17], now_content[17], was_entry[17], now_entry[17];
    utc(g->dataset_published_unix, was, sizeof(was));
    utc(held->published_unix, now, sizeof(now));
    prefix_hex(&g->dataset_content_digest, was_content);
    prefix_hex(&g->dataset_entry_digest, was_entry);
    ProtobufCBinaryData hc = {GRANT_DIGEST_BYTES, (uint8_t *)held->content_digest};
    ProtobufCBinaryData he = {GRANT_DIGEST_BYTES, (uint8_t *)held->entry_digest};
    prefix_hex(&hc, now_content);
    prefix_hex(&he, now_entry);
    if (!bound)
        return ecl_fail(err, ECL_E_PRECONDITION,
                        "dataset %s changed since the grant, or may have: grant %s names no "
                        "dataset version (it predates grants bound to the data); the site holds "
                        "the version published %s (entry %s, content %s): ask for access again",
                        g->dataset, g->grant_id, now, now_entry, now_content);
    return ecl_fail(err, ECL_E_PRECONDITION,
                    "dataset %s changed since the grant: grant %s was decided on the version "
                    "published %s (entry %s, content %s), the site now holds the version "
                    "published %s (entry %s, content %s)%s: ask for access again",
                    g->dataset, g->grant_id, was, was_entry, was_content, now, now_entry,
                    now_content,
                    strcmp(was_content, now_content) == 0 ? "; the data is the same, the entry "
                                                            "(policy or description) is not"
                                                          : "");
}

/* ---- signing and opening -------------------------------------------------- */

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

/* No key of the site verifies it. Why, for the message only: a body that
 * verifies under the key it names was signed by someone else, whole; any
 * other is a grant changed or damaged after signing. Nothing read here is
 * trusted. */
static int refuse_signature(const Ecluse__V1__Grant *grant, const char *holder_site, ecl_err *err)
{
    Ecluse__V1__GrantBody *b =
        ecluse__v1__grant_body__unpack(NULL, grant->body.len, grant->body.data);
    ecl_err ignored;
    int foreign = b != NULL && b->signing_key.len == crypto_sign_PUBLICKEYBYTES &&
                  site_key_verify(b->signing_key.data, GRANT_SIGNING_CONTEXT, grant->body.data,
                                  grant->body.len, grant->signature.data, grant->signature.len,
                                  &ignored) == 0;
    char fp[48] = "";
    if (foreign)
        site_key_fingerprint(b->signing_key.data, b->signing_key.len, fp, sizeof(fp));
    if (b != NULL)
        ecluse__v1__grant_body__free_unpacked(b, NULL);
    if (foreign)
        return ecl_fail(err, ECL_E_DENIED,
                        "the grant is signed by another site: its key %s is not a key of site "
                        "'%s' (none of its verified key history)",
                        fp, holder_site);
    return ecl_fail(err, ECL_E_CRYPTO,
                    "the grant's signature does not verify with any key of site '%s': it was "
                    "changed or damaged after it was issued",
                    holder_site);
}

/* The key of `keys` that signed the grant, or -1. */
static long signed_by(const Ecluse__V1__Grant *grant,
                      const unsigned char (*keys)[crypto_sign_PUBLICKEYBYTES], size_t n_keys)
{
    for (size_t i = n_keys; i-- > 0;) {
        ecl_err ignored;
        if (site_key_verify(keys[i], GRANT_SIGNING_CONTEXT, grant->body.data, grant->body.len,
                            grant->signature.data, grant->signature.len, &ignored) == 0)
            return (long)i;
    }
    return -1;
}

int grant_open_keys(const Ecluse__V1__Grant *grant,
                    const unsigned char (*keys)[crypto_sign_PUBLICKEYBYTES], size_t n_keys,
                    const char *holder_site, int64_t now, Ecluse__V1__GrantBody **out, ecl_err *err)
{
    if (grant == NULL || grant->body.len == 0)
        return ecl_fail(err, ECL_E_INPUT, "the request carries no grant (ask with Access.Request)");
    long k = signed_by(grant, keys, n_keys);
    if (k < 0)
        return refuse_signature(grant, holder_site, err);
    Ecluse__V1__GrantBody *b =
        ecluse__v1__grant_body__unpack(NULL, grant->body.len, grant->body.data);
    if (b == NULL)
        return ecl_fail(err, ECL_E_INPUT, "the grant body does not decode");
    size_t n = strlen(holder_site);
    int rc = 0;
    if (b->signing_key.len != crypto_sign_PUBLICKEYBYTES ||
        sodium_memcmp(b->signing_key.data, keys[k], crypto_sign_PUBLICKEYBYTES) != 0)
        rc = ecl_fail(err, ECL_E_INPUT,
                      "grant %s names another signing key than the one of site "
                      "'%s' that signed it",
                      b->grant_id, holder_site);
    else if (strncmp(b->dataset, holder_site, n) != 0 || b->dataset[n] != '/')
        rc = ecl_fail(err, ECL_E_DENIED, "the grant is for dataset '%s', not one of site '%s'",
                      b->dataset, holder_site);
    else if (b->expires_unix <= now) {
        char when[32];
        utc(b->expires_unix, when, sizeof(when));
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

int grant_open(const Ecluse__V1__Grant *grant, const unsigned char *holder_key,
               const char *holder_site, int64_t now, Ecluse__V1__GrantBody **out, ecl_err *err)
{
    return grant_open_keys(grant, (const unsigned char(*)[crypto_sign_PUBLICKEYBYTES])holder_key, 1,
                           holder_site, now, out, err);
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
