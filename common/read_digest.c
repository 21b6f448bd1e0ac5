/* read_digest.c - the leaves, chunks and trailer of a read (read_digest.h):
 * version 2 with OpenSSL's SHA-256, version 3 with BLAKE3. */
#include "common/read_digest.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>

#include "blake3.h"

/* One running hash of either version. */
typedef union running {
    EVP_MD_CTX *sha;
    blake3_hasher b3;
} running;

struct read_hasher {
    uint32_t version;
    EVP_MD *sha256; /* version 2 only */
    running leaf, chunk, trailer;
    uint64_t at;   /* the incremental chunk: source offset of the next byte */
    int leaf_open; /* bytes of the current leaf went into `leaf` */
};

/* SHA-256 over bytes in memory with a fetched algorithm does not fail; if
 * OpenSSL ever says otherwise, no digest is better than a wrong one. */
static void must(int ok, const char *what)
{
    if (ok != 1) {
        fprintf(stderr, "ecluse: SHA-256 %s failed inside OpenSSL\n", what);
        abort();
    }
}

static void run_start(read_hasher *h, running *r)
{
    if (h->version == READ_DIGEST_V3)
        blake3_hasher_init(&r->b3);
    else
        must(EVP_DigestInit_ex2(r->sha, h->sha256, NULL), "init");
}

static void run_update(read_hasher *h, running *r, const void *data, size_t len)
{
    if (h->version == READ_DIGEST_V3)
        blake3_hasher_update(&r->b3, data, len);
    else
        must(EVP_DigestUpdate(r->sha, data, len), "update");
}

static void run_final(read_hasher *h, running *r, unsigned char out[READ_DIGEST_BYTES])
{
    if (h->version == READ_DIGEST_V3)
        blake3_hasher_finalize(&r->b3, out, READ_DIGEST_BYTES);
    else
        must(EVP_DigestFinal_ex(r->sha, out, NULL), "final");
}

static void trailer_start(read_hasher *h)
{
    static const unsigned char v2[] = READ_TRAILER_DOMAIN;    /* with its 0x00 */
    static const unsigned char v3[] = READ_TRAILER_DOMAIN_V3; /* with its 0x00 */
    run_start(h, &h->trailer);
    if (h->version == READ_DIGEST_V3)
        run_update(h, &h->trailer, v3, sizeof(v3));
    else
        run_update(h, &h->trailer, v2, sizeof(v2));
}

int read_digest_known(uint32_t version)
{
    return version == READ_DIGEST_V2 || version == READ_DIGEST_V3;
}

uint32_t read_hasher_version(const read_hasher *h)
{
    return h->version;
}

void read_hasher_free(read_hasher *h)
{
    if (h == NULL)
        return;
    if (h->version == READ_DIGEST_V2) {
        EVP_MD_CTX_free(h->leaf.sha);
        EVP_MD_CTX_free(h->chunk.sha);
        EVP_MD_CTX_free(h->trailer.sha);
        EVP_MD_free(h->sha256);
    }
    free(h);
}

int read_hasher_new(read_hasher **out, uint32_t version, ecl_err *err)
{
    if (!read_digest_known(version))
        return ecl_fail(err, ECL_E_USAGE,
                        "read digest version %u is not one this code knows (%d, %d)", version,
                        READ_DIGEST_V2, READ_DIGEST_V3);
    read_hasher *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    h->version = version;
    if (version == READ_DIGEST_V2) {
        h->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
        h->leaf.sha = EVP_MD_CTX_new();
        h->chunk.sha = EVP_MD_CTX_new();
        h->trailer.sha = EVP_MD_CTX_new();
        if (h->sha256 == NULL || h->leaf.sha == NULL || h->chunk.sha == NULL ||
            h->trailer.sha == NULL) {
            read_hasher_free(h);
            return ecl_fail(err, ECL_E_INTERNAL, "cannot set up SHA-256 (out of memory?)");
        }
    }
    trailer_start(h);
    *out = h;
    return 0;
}

void read_hasher_leaf(read_hasher *h, const unsigned char *piece, size_t len,
                      unsigned char out[READ_DIGEST_BYTES])
{
    static const unsigned char prefix = READ_LEAF_PREFIX;
    run_start(h, &h->leaf);
    run_update(h, &h->leaf, &prefix, 1);
    run_update(h, &h->leaf, piece, len);
    run_final(h, &h->leaf, out);
}

/* The stored digest of leaf j when the piece [at, at + len) is all of it. */
static const unsigned char *known_leaf(const read_leaf_table *t, uint64_t at, size_t len)
{
    if (t == NULL || at % READ_LEAF_BYTES != 0)
        return NULL;
    uint64_t j = at / READ_LEAF_BYTES;
    if (j >= t->count || at >= t->tensor_bytes)
        return NULL;
    uint64_t whole =
        t->tensor_bytes - at < READ_LEAF_BYTES ? t->tensor_bytes - at : READ_LEAF_BYTES;
    return len == whole ? t->digests + j * READ_DIGEST_BYTES : NULL;
}

void read_hasher_chunk(read_hasher *h, const unsigned char *data, size_t len,
                       uint64_t source_offset, const read_leaf_table *known,
                       unsigned char out[READ_DIGEST_BYTES])
{
    static const unsigned char prefix = READ_CHUNK_PREFIX;
    run_start(h, &h->chunk);
    run_update(h, &h->chunk, &prefix, 1);
    size_t done = 0;
    while (done < len) {
        uint64_t at = source_offset + done;
        size_t piece = READ_LEAF_BYTES - (size_t)(at % READ_LEAF_BYTES);
        if (piece > len - done)
            piece = len - done;
        unsigned char d[READ_DIGEST_BYTES];
        const unsigned char *leaf = known_leaf(known, at, piece);
        if (leaf == NULL) {
            read_hasher_leaf(h, data + done, piece, d);
            leaf = d;
        }
        run_update(h, &h->chunk, leaf, READ_DIGEST_BYTES);
        done += piece;
    }
    run_final(h, &h->chunk, out);
}

void read_hasher_chunk_begin(read_hasher *h, uint64_t source_offset)
{
    static const unsigned char prefix = READ_CHUNK_PREFIX;
    run_start(h, &h->chunk);
    run_update(h, &h->chunk, &prefix, 1);
    h->at = source_offset;
    h->leaf_open = 0;
}

static void close_leaf(read_hasher *h)
{
    unsigned char d[READ_DIGEST_BYTES];
    run_final(h, &h->leaf, d);
    run_update(h, &h->chunk, d, sizeof(d));
    h->leaf_open = 0;
}

void read_hasher_chunk_update(read_hasher *h, const unsigned char *data, size_t len)
{
    static const unsigned char prefix = READ_LEAF_PREFIX;
    while (len > 0) {
        if (!h->leaf_open) {
            run_start(h, &h->leaf);
            run_update(h, &h->leaf, &prefix, 1);
            h->leaf_open = 1;
        }
        size_t room = READ_LEAF_BYTES - (size_t)(h->at % READ_LEAF_BYTES);
        size_t n = len < room ? len : room;
        run_update(h, &h->leaf, data, n);
        data += n;
        len -= n;
        h->at += n;
        if (h->at % READ_LEAF_BYTES == 0)
            close_leaf(h);
    }
}

void read_hasher_chunk_end(read_hasher *h, unsigned char out[READ_DIGEST_BYTES])
{
    if (h->leaf_open)
        close_leaf(h);
    run_final(h, &h->chunk, out);
}

void read_hasher_add(read_hasher *h, const unsigned char digest[READ_DIGEST_BYTES])
{
    run_update(h, &h->trailer, digest, READ_DIGEST_BYTES);
}

void read_hasher_final(read_hasher *h, unsigned char out[READ_DIGEST_BYTES])
{
    run_final(h, &h->trailer, out);
    trailer_start(h);
}
