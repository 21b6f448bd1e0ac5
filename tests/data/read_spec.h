/*
 * read_spec.h - the digests of a read as docs/streaming.md defines them,
 * written out once more for the tests with one-shot hashes (OpenSSL's
 * SHA-256 for version 2, BLAKE3's reference C code called directly for
 * version 3), independently of common/read_digest.h (the code under test).
 */
#ifndef ECLUSE_TESTS_READ_SPEC_H
#define ECLUSE_TESTS_READ_SPEC_H

#include <stddef.h>
#include <stdint.h>

#define SPEC_DOMAIN    "ecluse-read-digest-v2"
#define SPEC_DOMAIN_V3 "ecluse-read-digest-v3"

/* SHA-256 of `len` bytes. */
void spec_sha256(unsigned char out[32], const void *data, size_t len);

/* The hash of digest version `version` (2: SHA-256, 3: BLAKE3 with 32
 * bytes of output) of `len` bytes. */
void spec_hash(uint32_t version, unsigned char out[32], const void *data, size_t len);

/* The trailer's domain string of `version` (its 0x00 byte follows it). */
const char *spec_domain(uint32_t version);

/* Chunk.digest of `len` bytes whose first byte sits at `source_offset` of
 * their tensor as stored: H(0x01 || leaf...), each leaf H(0x00 || piece),
 * pieces cut at every multiple of 65536 of the tensor; H = SHA-256
 * (spec_chunk, version 2) or the hash of `version` (spec_chunk_v). */
void spec_chunk(unsigned char out[32], const unsigned char *data, size_t len,
                uint64_t source_offset);
void spec_chunk_v(uint32_t version, unsigned char out[32], const unsigned char *data, size_t len,
                  uint64_t source_offset);

#endif
