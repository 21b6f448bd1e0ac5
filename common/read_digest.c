/* read_digest.c - SHA-256 leaves, chunks and trailer of a read (read_digest.h). */
#include "common/read_digest.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>

struct read_hasher {
    EVP_MD *sha256;
    EVP_MD_CTX *leaf, *chunk, *trailer;
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

static void trailer_start(read_hasher *h)
{
    static const unsigned char domain[] = READ_TRAILER_DOMAIN; /* with its 0x00 */
    must(EVP_DigestInit_ex2(h->trailer, h->sha256, NULL), "init");
    must(EVP_DigestUpdate(h->trailer, domain, sizeof(domain)), "update");
}

void read_hasher_free(read_hasher *h)
{
    if (h == NULL)
        return;
    EVP_MD_CTX_free(h->leaf);
    EVP_MD_CTX_free(h->chunk);
    EVP_MD_CTX_free(h->trailer);
    EVP_MD_free(h->sha256);
    free(h);
}

int read_hasher_new(read_hasher **out, ecl_err *err)
{
    read_hasher *h = calloc(1, sizeof(*h));
    if (h != NULL) {
        h->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
        h->leaf = EVP_MD_CTX_new();
        h->chunk = EVP_MD_CTX_new();
        h->trailer = EVP_MD_CTX_new();
    }
    if (h == NULL || h->sha256 == NULL || h->leaf == NULL || h->chunk == NULL ||
        h->trailer == NULL) {
        read_hasher_free(h);
        return ecl_fail(err, ECL_E_INTERNAL, "cannot set up SHA-256 (out of memory?)");
    }
    trailer_start(h);
    *out = h;
    return 0;
}

void read_hasher_leaf(read_hasher *h, const unsigned char *piece, size_t len,
                      unsigned char out[READ_DIGEST_BYTES])
{
    static const unsigned char prefix = READ_LEAF_PREFIX;
    must(EVP_DigestInit_ex2(h->leaf, h->sha256, NULL), "init");
    must(EVP_DigestUpdate(h->leaf, &prefix, 1), "update");
    must(EVP_DigestUpdate(h->leaf, piece, len), "update");
    must(EVP_DigestFinal_ex(h->leaf, out, NULL), "final");
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
    must(EVP_DigestInit_ex2(h->chunk, h->sha256, NULL), "init");
    must(EVP_DigestUpdate(h->chunk, &prefix, 1), "update");
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
        must(EVP_DigestUpdate(h->chunk, leaf, READ_DIGEST_BYTES), "update");
        done += piece;
    }
    must(EVP_DigestFinal_ex(h->chunk, out, NULL), "final");
}

void read_hasher_chunk_begin(read_hasher *h, uint64_t source_offset)
{
    static const unsigned char prefix = READ_CHUNK_PREFIX;
    must(EVP_DigestInit_ex2(h->chunk, h->sha256, NULL), "init");
    must(EVP_DigestUpdate(h->chunk, &prefix, 1), "update");
    h->at = source_offset;
    h->leaf_open = 0;
}

static void close_leaf(read_hasher *h)
{
    unsigned char d[READ_DIGEST_BYTES];
    must(EVP_DigestFinal_ex(h->leaf, d, NULL), "final");
    must(EVP_DigestUpdate(h->chunk, d, sizeof(d)), "update");
    h->leaf_open = 0;
}

void read_hasher_chunk_update(read_hasher *h, const unsigned char *data, size_t len)
{
    static const unsigned char prefix = READ_LEAF_PREFIX;
    while (len > 0) {
        if (!h->leaf_open) {
            must(EVP_DigestInit_ex2(h->leaf, h->sha256, NULL), "init");
            must(EVP_DigestUpdate(h->leaf, &prefix, 1), "update");
            h->leaf_open = 1;
        }
        size_t room = READ_LEAF_BYTES - (size_t)(h->at % READ_LEAF_BYTES);
        size_t n = len < room ? len : room;
        must(EVP_DigestUpdate(h->leaf, data, n), "update");
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
    must(EVP_DigestFinal_ex(h->chunk, out, NULL), "final");
}

void read_hasher_add(read_hasher *h, const unsigned char digest[READ_DIGEST_BYTES])
{
    must(EVP_DigestUpdate(h->trailer, digest, READ_DIGEST_BYTES), "update");
}

void read_hasher_final(read_hasher *h, unsigned char out[READ_DIGEST_BYTES])
{
    must(EVP_DigestFinal_ex(h->trailer, out, NULL), "final");
    trailer_start(h);
}
