/*
 * read_spec.h - the digests of a read as docs/streaming.md defines them,
 * written out once more for the tests with OpenSSL's one-shot SHA-256,
 * independently of common/read_digest.h (the code under test).
 */
#ifndef ECLUSE_TESTS_READ_SPEC_H
#define ECLUSE_TESTS_READ_SPEC_H

#include <stddef.h>
#include <stdint.h>

#define SPEC_DOMAIN "ecluse-read-digest-v2"

/* SHA-256 of `len` bytes. */
void spec_sha256(unsigned char out[32], const void *data, size_t len);

/* Chunk.digest of `len` bytes whose first byte sits at `source_offset` of
 * their tensor as stored: SHA-256(0x01 || leaf...), each leaf SHA-256(0x00
 * || piece), pieces cut at every multiple of 65536 of the tensor. */
void spec_chunk(unsigned char out[32], const unsigned char *data, size_t len,
                uint64_t source_offset);

#endif
