/* read_spec.c - the read digests by their definition (read_spec.h). */
#include "tests/data/read_spec.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blake3.h"

void spec_sha256(unsigned char out[32], const void *data, size_t len)
{
    if (EVP_Digest(data, len, out, NULL, EVP_sha256(), NULL) != 1) {
        fprintf(stderr, "read_spec: SHA-256 failed\n");
        abort();
    }
}

void spec_hash(uint32_t version, unsigned char out[32], const void *data, size_t len)
{
    if (version == 2) {
        spec_sha256(out, data, len);
        return;
    }
    if (version != 3) {
        fprintf(stderr, "read_spec: no digest version %u\n", version);
        abort();
    }
    blake3_hasher h;
    blake3_hasher_init(&h);
    blake3_hasher_update(&h, data, len);
    blake3_hasher_finalize(&h, out, 32);
}

const char *spec_domain(uint32_t version)
{
    return version == 3 ? SPEC_DOMAIN_V3 : SPEC_DOMAIN;
}

void spec_chunk_v(uint32_t version, unsigned char out[32], const unsigned char *data, size_t len,
                  uint64_t source_offset)
{
    size_t pieces = 0;
    unsigned char *in = malloc(1 + (len / 65536 + 2) * 32), *piece = malloc(1 + 65536);
    if (in == NULL || piece == NULL)
        abort();
    in[0] = 0x01;
    for (size_t done = 0; done < len; pieces++) {
        size_t n = 65536 - (size_t)((source_offset + done) % 65536);
        n = n < len - done ? n : len - done;
        piece[0] = 0x00;
        memcpy(piece + 1, data + done, n);
        spec_hash(version, in + 1 + pieces * 32, piece, 1 + n);
        done += n;
    }
    spec_hash(version, out, in, 1 + pieces * 32);
    free(in);
    free(piece);
}

void spec_chunk(unsigned char out[32], const unsigned char *data, size_t len,
                uint64_t source_offset)
{
    spec_chunk_v(2, out, data, len, source_offset);
}
