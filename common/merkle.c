/* merkle.c - RFC 6962 / 9162 hashing and proof verification (merkle.h).
 * The two verification procedures follow RFC 9162 sections 2.1.3.2 and
 * 2.1.4.2 step by step; the step numbers below are the RFC's. */
#include "common/merkle.h"

/* OpenSSL's SHA-256 block functions use the CPU's SHA extensions where
 * there are, and, unlike the EVP one-shot SHA256() of OpenSSL 3, neither
 * allocate nor fetch the algorithm (a lock) per call: the audit writer
 * hashes two nodes or so per entry it commits, serially, each only 65
 * bytes. OpenSSL 3 marks them deprecated, not removed. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#include <sodium.h>
#include <string.h>

static void sha256_2(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
                     uint8_t out[MERKLE_HASH_BYTES])
{
    SHA256_CTX c;
    SHA256_Init(&c);
    SHA256_Update(&c, a, alen);
    if (blen > 0)
        SHA256_Update(&c, b, blen);
    SHA256_Final(out, &c);
}

void merkle_sha256(const uint8_t *data, size_t len, uint8_t out[MERKLE_HASH_BYTES])
{
    sha256_2(data, len, NULL, 0, out);
}

void merkle_leaf_hash(const uint8_t *data, size_t len, uint8_t out[MERKLE_HASH_BYTES])
{
    static const uint8_t prefix = 0x00;
    sha256_2(&prefix, 1, data, len, out);
}

void merkle_node_hash(const uint8_t left[MERKLE_HASH_BYTES], const uint8_t right[MERKLE_HASH_BYTES],
                      uint8_t out[MERKLE_HASH_BYTES])
{
    uint8_t in[1 + 2 * MERKLE_HASH_BYTES];
    in[0] = 0x01;
    memcpy(in + 1, left, MERKLE_HASH_BYTES);
    memcpy(in + 1 + MERKLE_HASH_BYTES, right, MERKLE_HASH_BYTES);
    sha256_2(in, sizeof(in), NULL, 0, out);
}

void merkle_empty_root(uint8_t out[MERKLE_HASH_BYTES])
{
    sha256_2((const uint8_t *)"", 0, NULL, 0, out);
}

static int same(const uint8_t a[MERKLE_HASH_BYTES], const uint8_t b[MERKLE_HASH_BYTES])
{
    return sodium_memcmp(a, b, MERKLE_HASH_BYTES) == 0;
}

int merkle_verify_inclusion(uint64_t index, uint64_t size, const uint8_t leaf[MERKLE_HASH_BYTES],
                            const uint8_t (*proof)[MERKLE_HASH_BYTES], size_t n,
                            const uint8_t root[MERKLE_HASH_BYTES])
{
    if (leaf == NULL || root == NULL || (n > 0 && proof == NULL))
        return -1;
    if (index >= size || n > MERKLE_PROOF_MAX) /* 1. */
        return -1;
    uint64_t fn = index, sn = size - 1; /* 2. */
    uint8_t r[MERKLE_HASH_BYTES];       /* 3. */
    memcpy(r, leaf, sizeof(r));
    for (size_t i = 0; i < n; i++) { /* 4. */
        if (sn == 0)                 /* a. */
            return -1;
        if ((fn & 1) || fn == sn) { /* b. */
            merkle_node_hash(proof[i], r, r);
            if (!(fn & 1))
                while (!(fn & 1) && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
        } else {
            merkle_node_hash(r, proof[i], r);
        }
        fn >>= 1; /* c. */
        sn >>= 1;
    }
    return sn == 0 && same(r, root) ? 0 : -1; /* 5. */
}

int merkle_verify_consistency(uint64_t old_size, uint64_t new_size,
                              const uint8_t old_root[MERKLE_HASH_BYTES],
                              const uint8_t new_root[MERKLE_HASH_BYTES],
                              const uint8_t (*proof)[MERKLE_HASH_BYTES], size_t n)
{
    if (new_root == NULL || old_size > new_size || n > MERKLE_PROOF_MAX || (n > 0 && proof == NULL))
        return -1;
    if (old_size == 0) /* the empty tree is a prefix of every tree */
        return n == 0 ? 0 : -1;
    if (old_root == NULL)
        return -1;
    if (old_size == new_size)
        return n == 0 && same(old_root, new_root) ? 0 : -1;
    if (n == 0) /* 1. */
        return -1;
    /* 2. a power-of-two old tree is itself a node of the new one: the proof
     * starts with its root, which the proof leaves out */
    int pow2 = (old_size & (old_size - 1)) == 0;
    const uint8_t *first = pow2 ? old_root : proof[0];
    size_t next = pow2 ? 0 : 1;
    uint64_t fn = old_size - 1, sn = new_size - 1; /* 3. */
    while (fn & 1) {                               /* 4. */
        fn >>= 1;
        sn >>= 1;
    }
    uint8_t fr[MERKLE_HASH_BYTES], sr[MERKLE_HASH_BYTES]; /* 5. */
    memcpy(fr, first, sizeof(fr));
    memcpy(sr, first, sizeof(sr));
    for (size_t i = next; i < n; i++) { /* 6. */
        if (sn == 0)                    /* a. */
            return -1;
        if ((fn & 1) || fn == sn) { /* b. */
            merkle_node_hash(proof[i], fr, fr);
            merkle_node_hash(proof[i], sr, sr);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            merkle_node_hash(sr, proof[i], sr);
        }
        fn >>= 1; /* c. */
        sn >>= 1;
    }
    return sn == 0 && same(fr, old_root) && same(sr, new_root) ? 0 : -1; /* 7. */
}
