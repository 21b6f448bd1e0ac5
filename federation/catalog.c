#include "federation/catalog.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/bytes.h"

struct catalog {
    unsigned char *header_bytes;
    size_t header_len;
    unsigned char signature[crypto_sign_BYTES];
    Ecluse__V1__CatalogHeader *header;
    size_t count;
    unsigned char *arena; /* every entry's bytes, back to back */
    size_t *offsets;      /* count + 1 offsets into arena */
};

void catalog_free(catalog *c)
{
    if (c == NULL)
        return;
    if (c->header != NULL)
        ecluse__v1__catalog_header__free_unpacked(c->header, NULL);
    free(c->header_bytes);
    free(c->arena);
    free(c->offsets);
    free(c);
}

void catalog_entries_digest(const ProtobufCBinaryData *entries, size_t count,
                            unsigned char out[CATALOG_DIGEST_BYTES])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, CATALOG_DIGEST_BYTES);
    for (size_t i = 0; i < count; i++) {
        unsigned char len[8];
        ecl_put_u64le(len, entries[i].len);
        crypto_generichash_update(&st, len, sizeof(len));
        crypto_generichash_update(&st, entries[i].data, entries[i].len);
    }
    crypto_generichash_final(&st, out, CATALOG_DIGEST_BYTES);
}

/* Copy the entries into one arena owned by `c`. */
static int keep_entries(catalog *c, const ProtobufCBinaryData *entries, size_t count, ecl_err *err)
{
    size_t total = 0;
    for (size_t i = 0; i < count; i++)
        total += entries[i].len;
    c->count = count;
    c->arena = malloc(total ? total : 1);
    c->offsets = malloc((count + 1) * sizeof(size_t));
    if (c->arena == NULL || c->offsets == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory for %zu catalog entries", count);
    size_t at = 0;
    for (size_t i = 0; i < count; i++) {
        c->offsets[i] = at;
        if (entries[i].len > 0)
            memcpy(c->arena + at, entries[i].data, entries[i].len);
        at += entries[i].len;
    }
    c->offsets[count] = at;
    return 0;
}

/* Each entry decodes, belongs to `site`, and ids are strictly increasing. */
static int check_entries(const char *site, const ProtobufCBinaryData *entries, size_t count,
                         ecl_err *err)
{
    char prev[512] = "";
    size_t prefix = strlen(site);
    for (size_t i = 0; i < count; i++) {
        Ecluse__V1__DatasetEntry *e =
            ecluse__v1__dataset_entry__unpack(NULL, entries[i].len, entries[i].data);
        if (e == NULL)
            return ecl_fail(err, ECL_E_INPUT, "catalog entry %zu is not a DatasetEntry", i);
        int rc = 0;
        if (strncmp(e->id, site, prefix) != 0 || e->id[prefix] != '/' || e->id[prefix + 1] == 0)
            rc = ecl_fail(err, ECL_E_INPUT, "catalog entry '%s' is not a dataset of site '%s'",
                          e->id, site);
        else if (strlen(e->id) >= sizeof(prev))
            rc = ecl_fail(err, ECL_E_INPUT, "catalog entry %zu has an id over %zu bytes", i,
                          sizeof(prev) - 1);
        else if (i > 0 && strcmp(prev, e->id) >= 0)
            rc = ecl_fail(err, ECL_E_INPUT,
                          "catalog entries are not sorted by id without duplicates ('%s' "
                          "after '%s')",
                          e->id, prev);
        else
            memcpy(prev, e->id, strlen(e->id) + 1);
        ecluse__v1__dataset_entry__free_unpacked(e, NULL);
        if (rc != 0)
            return -1;
    }
    return 0;
}

int catalog_sign(const char *site, const char *country, uint64_t version, int64_t issued_unix,
                 int64_t expires_unix, const ProtobufCBinaryData *entries, size_t count,
                 signer *key, catalog **out, ecl_err *err)
{
    unsigned char public_key[crypto_sign_PUBLICKEYBYTES];
    signer_public_key(key, public_key);
    if (check_entries(site, entries, count, err) != 0)
        return -1;
    unsigned char digest[CATALOG_DIGEST_BYTES];
    catalog_entries_digest(entries, count, digest);
    Ecluse__V1__CatalogHeader h = ECLUSE__V1__CATALOG_HEADER__INIT;
    h.site = (char *)site;
    h.country = (char *)country;
    h.version = version;
    h.issued_unix = issued_unix;
    h.expires_unix = expires_unix;
    h.entry_count = count;
    h.entries_digest.data = digest;
    h.entries_digest.len = sizeof(digest);
    h.signing_key.data = public_key;
    h.signing_key.len = sizeof(public_key);

    catalog *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    c->header_len = ecluse__v1__catalog_header__get_packed_size(&h);
    c->header_bytes = malloc(c->header_len);
    if (c->header_bytes == NULL || keep_entries(c, entries, count, err) != 0) {
        catalog_free(c);
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    }
    ecluse__v1__catalog_header__pack(&h, c->header_bytes);
    c->header = ecluse__v1__catalog_header__unpack(NULL, c->header_len, c->header_bytes);
    if (c->header == NULL) {
        catalog_free(c);
        return ecl_fail(err, ECL_E_INTERNAL, "cannot re-read the catalog header");
    }
    if (signer_sign(key, SIGNER_CATALOG, c->header_bytes, c->header_len, c->signature, err) != 0) {
        catalog_free(c);
        return ecl_err_prefix(err, "cannot sign the catalog");
    }
    *out = c;
    return 0;
}

static void fingerprint(const unsigned char *key, size_t len, char *out, size_t cap)
{
    site_key_fingerprint(key, len, out, cap);
}

static void format_time(int64_t t, char *out, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The header's claims against what the verifier expects. */
static int check_header(const Ecluse__V1__CatalogHeader *h, const catalog_expect *ex, ecl_err *err)
{
    char fp_have[48], fp_want[48];
    if (strcmp(h->site, ex->site) != 0)
        return ecl_fail(err, ECL_E_INPUT, "the catalog names site '%s', not '%s'", h->site,
                        ex->site);
    if (h->signing_key.len != crypto_sign_PUBLICKEYBYTES ||
        sodium_memcmp(h->signing_key.data, ex->pinned_key, crypto_sign_PUBLICKEYBYTES) != 0) {
        fingerprint(h->signing_key.data, h->signing_key.len, fp_have, sizeof(fp_have));
        fingerprint(ex->pinned_key, crypto_sign_PUBLICKEYBYTES, fp_want, sizeof(fp_want));
        return ecl_fail(err, ECL_E_CRYPTO, "the catalog names key %s, not the pinned key %s",
                        fp_have, fp_want);
    }
    if (ex->now_unix > 0 && h->expires_unix <= ex->now_unix) {
        char when[32];
        format_time(h->expires_unix, when, sizeof(when));
        return ecl_fail(err, ECL_E_PRECONDITION,
                        "catalog version %" PRIu64 " expired at %s (a frozen catalog is refused)",
                        h->version, when);
    }
    if (h->version < ex->held_version)
        return ecl_fail(err, ECL_E_PRECONDITION,
                        "catalog version %" PRIu64 " is older than version %" PRIu64
                        " already held (rollback refused)",
                        h->version, ex->held_version);
    if (h->entries_digest.len != CATALOG_DIGEST_BYTES)
        return ecl_fail(err, ECL_E_INPUT, "the catalog's entries digest is %zu bytes, not %d",
                        h->entries_digest.len, CATALOG_DIGEST_BYTES);
    if (h->version == ex->held_version && ex->held_digest != NULL &&
        sodium_memcmp(h->entries_digest.data, ex->held_digest, CATALOG_DIGEST_BYTES) != 0)
        return ecl_fail(err, ECL_E_PRECONDITION,
                        "catalog version %" PRIu64 " differs from the version %" PRIu64
                        " already held (two catalogs with one version: refused)",
                        h->version, ex->held_version);
    return 0;
}

int catalog_verify(const void *header, size_t header_len, const void *signature,
                   size_t signature_len, const ProtobufCBinaryData *entries, size_t count,
                   const catalog_expect *ex, catalog **out, ecl_err *err)
{
    /* The signature first: nothing unverified is parsed. */
    if (site_key_verify(ex->pinned_key, CATALOG_SIGNING_CONTEXT, header, header_len, signature,
                        signature_len, err) != 0) {
        char fp[48];
        fingerprint(ex->pinned_key, crypto_sign_PUBLICKEYBYTES, fp, sizeof(fp));
        return ecl_fail(err, ECL_E_CRYPTO,
                        "the catalog of site '%s' is not signed by its pinned key %s", ex->site,
                        fp);
    }
    Ecluse__V1__CatalogHeader *h = ecluse__v1__catalog_header__unpack(NULL, header_len, header);
    if (h == NULL)
        return ecl_fail(err, ECL_E_INPUT, "the signed catalog header does not decode");
    int rc = check_header(h, ex, err);
    if (rc == 0 && h->entry_count != count)
        rc = ecl_fail(err, ECL_E_CRYPTO,
                      "the catalog header promises %" PRIu64 " entries, %zu arrived",
                      h->entry_count, count);
    if (rc == 0) {
        unsigned char digest[CATALOG_DIGEST_BYTES];
        catalog_entries_digest(entries, count, digest);
        if (sodium_memcmp(digest, h->entries_digest.data, CATALOG_DIGEST_BYTES) != 0)
            rc = ecl_fail(err, ECL_E_CRYPTO,
                          "the catalog entries do not match the signed digest (altered "
                          "in transit or at rest)");
    }
    if (rc == 0)
        rc = check_entries(ex->site, entries, count, err);
    if (rc != 0) {
        ecluse__v1__catalog_header__free_unpacked(h, NULL);
        return -1;
    }
    catalog *c = calloc(1, sizeof(*c));
    if (c == NULL || (c->header_bytes = malloc(header_len ? header_len : 1)) == NULL) {
        free(c);
        ecluse__v1__catalog_header__free_unpacked(h, NULL);
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    }
    memcpy(c->header_bytes, header, header_len);
    c->header_len = header_len;
    memcpy(c->signature, signature, crypto_sign_BYTES);
    c->header = h;
    if (keep_entries(c, entries, count, err) != 0) {
        catalog_free(c);
        return -1;
    }
    *out = c;
    return 0;
}

const Ecluse__V1__CatalogHeader *catalog_header(const catalog *c)
{
    return c->header;
}

ProtobufCBinaryData catalog_header_bytes(const catalog *c)
{
    ProtobufCBinaryData b = {c->header_len, c->header_bytes};
    return b;
}

ProtobufCBinaryData catalog_signature(const catalog *c)
{
    ProtobufCBinaryData b = {crypto_sign_BYTES, (uint8_t *)c->signature};
    return b;
}

size_t catalog_entry_count(const catalog *c)
{
    return c->count;
}

ProtobufCBinaryData catalog_entry_bytes(const catalog *c, size_t i)
{
    ProtobufCBinaryData b = {c->offsets[i + 1] - c->offsets[i], c->arena + c->offsets[i]};
    return b;
}

/* Blob: "ECAT1" u64 header_len, header, 64-byte signature, u64 count, then
 * u64 len + bytes per entry. All integers little-endian. */
#define BLOB_MAGIC "ECAT1"

int catalog_to_blob(const catalog *c, unsigned char **blob, size_t *len, ecl_err *err)
{
    size_t total =
        5 + 8 + c->header_len + crypto_sign_BYTES + 8 + 8 * c->count + c->offsets[c->count];
    unsigned char *b = malloc(total), *p = b;
    if (b == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    memcpy(p, BLOB_MAGIC, 5);
    p += 5;
    ecl_put_u64le(p, c->header_len);
    p += 8;
    memcpy(p, c->header_bytes, c->header_len);
    p += c->header_len;
    memcpy(p, c->signature, crypto_sign_BYTES);
    p += crypto_sign_BYTES;
    ecl_put_u64le(p, c->count);
    p += 8;
    for (size_t i = 0; i < c->count; i++) {
        ProtobufCBinaryData e = catalog_entry_bytes(c, i);
        ecl_put_u64le(p, e.len);
        p += 8;
        memcpy(p, e.data, e.len);
        p += e.len;
    }
    *blob = b;
    *len = total;
    return 0;
}

int catalog_from_blob(const unsigned char *blob, size_t len, const catalog_expect *expect,
                      catalog **out, ecl_err *err)
{
    ecl_rd r;
    ecl_rd_init(&r, blob, len);
    const unsigned char *magic, *header, *sig;
    uint64_t header_len, count;
    if (ecl_rd_take(&r, 5, &magic) != 0 || memcmp(magic, BLOB_MAGIC, 5) != 0 ||
        ecl_rd_u64le(&r, &header_len) != 0 || ecl_rd_take(&r, header_len, &header) != 0 ||
        ecl_rd_take(&r, crypto_sign_BYTES, &sig) != 0 || ecl_rd_u64le(&r, &count) != 0 ||
        count > ecl_rd_left(&r) / 8)
        return ecl_fail(err, ECL_E_INPUT, "stored catalog is truncated or not a catalog");
    ProtobufCBinaryData *entries = calloc(count ? count : 1, sizeof(*entries));
    if (entries == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    for (uint64_t i = 0; i < count; i++) {
        uint64_t n;
        const unsigned char *data;
        if (ecl_rd_u64le(&r, &n) != 0 || ecl_rd_take(&r, n, &data) != 0) {
            free(entries);
            return ecl_fail(err, ECL_E_INPUT, "stored catalog entry %" PRIu64 " is truncated", i);
        }
        entries[i].len = n;
        entries[i].data = (uint8_t *)data;
    }
    int rc = catalog_verify(header, header_len, sig, crypto_sign_BYTES, entries, count, expect, out,
                            err);
    free(entries);
    return rc;
}
