/* catalog.c - fuzz targets: a peer's signed catalog as it arrives
 * (catalog_verify) and as a gateway stored it (catalog_from_blob).
 *
 * catalog input: a mode byte, then pieces (fuzz.h, fz_piece): the header,
 * the signature unless the harness signs, then a count byte and that many
 * entries. Mode bits: 0 sign the header with test key 0 (the pinned key);
 * 1 first set the header's entry_count and entries_digest to match the
 * entries (so the entries themselves are checked); 2 hold version 3 with
 * another digest (rollback and equivocation); 3 check expiry at a fixed time.
 *
 * catalog_blob input: a mode byte, then the blob. Mode bit 0 re-signs the
 * header found in the blob with the pinned key; bit 3 checks expiry.
 *
 * An accepted catalog must name the expected site and key, hold exactly the
 * entries given, and come back unchanged through catalog_to_blob and
 * catalog_from_blob. */
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "federation/catalog.h"
#include "fuzz/fuzz.h"

#define SITE       "fi"
#define NOW        1767225600
#define MAX_PIECES 64

static void expect_for(uint8_t mode, catalog_expect *ex)
{
    static const unsigned char other_digest[CATALOG_DIGEST_BYTES] = {1, 2, 3};
    memset(ex, 0, sizeof(*ex));
    ex->site = SITE;
    ex->pinned_key = fz_key(0)->public_key;
    if (mode & 4) {
        ex->held_version = 3;
        ex->held_digest = other_digest;
    }
    ex->now_unix = (mode & 8) ? NOW : 0;
}

/* Header with entry_count and entries_digest made to match; malloc'd, or
 * NULL if the header does not decode. */
static uint8_t *fix_header(const uint8_t *h, size_t len, const ProtobufCBinaryData *entries,
                           size_t count, size_t *out_len)
{
    Ecluse__V1__CatalogHeader *hdr = ecluse__v1__catalog_header__unpack(NULL, len, h);
    if (hdr == NULL)
        return NULL;
    unsigned char digest[CATALOG_DIGEST_BYTES];
    catalog_entries_digest(entries, count, digest);
    hdr->entry_count = count;
    ProtobufCBinaryData old = hdr->entries_digest; /* restored before the free */
    hdr->entries_digest.data = digest;
    hdr->entries_digest.len = sizeof(digest);
    size_t n = ecluse__v1__catalog_header__get_packed_size(hdr);
    uint8_t *out = malloc(n ? n : 1);
    if (out == NULL)
        fz_fail("out of memory");
    *out_len = ecluse__v1__catalog_header__pack(hdr, out);
    hdr->entries_digest = old;
    ecluse__v1__catalog_header__free_unpacked(hdr, NULL);
    return out;
}

static void sign(const void *msg, size_t len, unsigned char sig[crypto_sign_BYTES])
{
    ecl_err err;
    if (site_key_sign(fz_key(0), CATALOG_SIGNING_CONTEXT, msg, len, sig, &err) != 0)
        fz_fail("signing failed: %s", err.msg);
}

/* The promises of an accepted catalog. */
static void check_accepted(const catalog *c, const catalog_expect *ex)
{
    const Ecluse__V1__CatalogHeader *h = catalog_header(c);
    if (strcmp(h->site, ex->site) != 0)
        fz_fail("catalog of site '%s' accepted for '%s'", h->site, ex->site);
    if (h->signing_key.len != crypto_sign_PUBLICKEYBYTES ||
        memcmp(h->signing_key.data, ex->pinned_key, crypto_sign_PUBLICKEYBYTES) != 0)
        fz_fail("catalog naming another key accepted");
    if (h->version < ex->held_version)
        fz_fail("catalog version %llu accepted over held %llu", (unsigned long long)h->version,
                (unsigned long long)ex->held_version);
    if (ex->now_unix != 0 && h->expires_unix <= ex->now_unix)
        fz_fail("expired catalog accepted");
    if (h->entry_count != catalog_entry_count(c))
        fz_fail("catalog header says %llu entries, holds %zu", (unsigned long long)h->entry_count,
                catalog_entry_count(c));
    unsigned char *blob = NULL, *blob2 = NULL;
    size_t len = 0, len2 = 0;
    ecl_err err;
    catalog *again = NULL;
    catalog_expect ex2 = *ex;
    ex2.held_version = 0;
    ex2.held_digest = NULL;
    ex2.now_unix = 0;
    if (catalog_to_blob(c, &blob, &len, &err) != 0 ||
        catalog_from_blob(blob, len, &ex2, &again, &err) != 0)
        fz_fail("an accepted catalog does not survive storage: %s", err.msg);
    if (catalog_to_blob(again, &blob2, &len2, &err) != 0 || len2 != len ||
        memcmp(blob, blob2, len) != 0)
        fz_fail("a stored catalog reads back different");
    free(blob);
    free(blob2);
    catalog_free(again);
}

int fz_catalog(const uint8_t *data, size_t size)
{
    fz_reader r = {data, size};
    uint8_t mode = fz_u8(&r);
    size_t hlen, slen = 0;
    const uint8_t *header = fz_piece(&r, &hlen), *sig = NULL;
    if (!(mode & 1))
        sig = fz_piece(&r, &slen);
    size_t count = fz_u8(&r) % (MAX_PIECES + 1);
    ProtobufCBinaryData entries[MAX_PIECES];
    for (size_t i = 0; i < count; i++)
        entries[i].data = (uint8_t *)fz_piece(&r, &entries[i].len);
    uint8_t *fixed = NULL;
    if (mode & 2)
        fixed = fix_header(header, hlen, entries, count, &hlen);
    if (fixed != NULL)
        header = fixed;
    unsigned char made[crypto_sign_BYTES];
    if (mode & 1) {
        sign(header, hlen, made);
        sig = made;
        slen = sizeof(made);
    }
    catalog_expect ex;
    expect_for(mode, &ex);
    catalog *c = NULL;
    ecl_err err;
    ecl_err_clear(&err);
    int ok = FZ_CHECK("catalog_verify",
                      catalog_verify(header, hlen, sig, slen, entries, count, &ex, &c, &err), &err,
                      ECL_E_CRYPTO, ECL_E_PRECONDITION, ECL_E_INPUT);
    if (ok) {
        check_accepted(c, &ex);
        for (size_t i = 0; i < count; i++) {
            ProtobufCBinaryData e = catalog_entry_bytes(c, i);
            if (e.len != entries[i].len || (e.len && memcmp(e.data, entries[i].data, e.len)))
                fz_fail("catalog entry %zu changed on acceptance", i);
        }
        catalog_free(c);
    }
    free(fixed);
    return ok;
}

int fz_catalog_blob(const uint8_t *data, size_t size)
{
    fz_reader r = {data, size};
    uint8_t mode = fz_u8(&r);
    uint8_t *blob = malloc(r.left ? r.left : 1);
    if (blob == NULL)
        fz_fail("out of memory");
    if (r.left)
        memcpy(blob, r.p, r.left);
    /* Layout (catalog.c): "ECAT1", u64 LE header length, header, signature. */
    uint64_t hlen;
    if ((mode & 1) && ecl_u64le_at(blob, r.left, 5, &hlen) == 0) {
        if (hlen <= r.left - 13 && crypto_sign_BYTES <= r.left - 13 - hlen)
            sign(blob + 13, hlen, blob + 13 + hlen);
    }
    catalog_expect ex;
    expect_for(mode & 8, &ex);
    catalog *c = NULL;
    ecl_err err;
    ecl_err_clear(&err);
    int ok = FZ_CHECK("catalog_from_blob", catalog_from_blob(blob, r.left, &ex, &c, &err), &err,
                      ECL_E_CRYPTO, ECL_E_PRECONDITION, ECL_E_INPUT);
    if (ok) {
        check_accepted(c, &ex);
        /* What was read is what the blob says (trailing bytes aside). */
        unsigned char *again = NULL;
        size_t len = 0;
        if (catalog_to_blob(c, &again, &len, &err) != 0 || len > r.left ||
            memcmp(again, blob, len) != 0)
            fz_fail("a stored catalog reads back as another blob");
        free(again);
        catalog_free(c);
    }
    free(blob);
    return ok;
}
