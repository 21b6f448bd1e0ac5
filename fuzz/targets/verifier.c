/* verifier.c - fuzz target: the client's checks of a read stream
 * (ecl_verifier_*), which every byte from a gateway goes through.
 *
 * Input: a mode byte, a piece with the ReadHeader encoding, then up to
 * MAX_OPS operations, each an op byte and a piece:
 *   op % 3 == 0: a Chunk encoding, checked with ecl_verifier_chunk;
 *   op % 3 == 1: bytes of the skipped prefix (ecl_verifier_prefix_data);
 *   op % 3 == 2: a ReadTrailer encoding (ecl_verifier_trailer).
 * Mode bit 0 set: the harness writes the right digest into each chunk (and
 * the right digest and counts into each trailer), computed as the prefix of
 * a second verifier of the same header that treats the whole stream as
 * prefix. A fuzzer cannot find SHA-256 digests; this lets it reach the
 * order, bounds and count checks behind them.
 *
 * Promises: an accepted chunk is the next bytes of the stream (its stream
 * offset is the position before it, the position moves by its length, never
 * past the total); a refused one moves nothing; a trailer is accepted only
 * at the end of the stream; and with the harness's digests, no chunk or
 * trailer is refused for its digest. */
#include <stdlib.h>
#include <string.h>

#include "client/read.h"
#include "common/read_digest.h"
#include "fuzz/fuzz.h"

#define MAX_OPS 64

typedef struct run {
    ecl_verifier *v, *shadow; /* shadow: the whole stream as prefix (mode bit 0) */
    read_hasher *trail;       /* the digests the trailer must carry */
    uint64_t total, resume, chunks;
    uint64_t shadow_at; /* how far the shadow's prefix has come */
    int sign;
} run;

static void chunk_op(run *x, const uint8_t *p, size_t n)
{
    Ecluse__V1__Chunk *c = ecluse__v1__chunk__unpack(NULL, n, p);
    if (c == NULL)
        return;
    unsigned char d[32];
    ecl_err err;
    int digest_set = 0;
    uint64_t before = ecl_verifier_position(x->v);
    if (x->sign && x->shadow_at == before && c->data.len > 0 &&
        ecl_verifier_prefix_digest(x->shadow, c->data.data, c->data.len, d, &err) == 0) {
        free(c->digest.data); /* protobuf-c's own allocator is malloc */
        c->digest.data = malloc(32);
        if (c->digest.data == NULL)
            fz_fail("out of memory");
        memcpy(c->digest.data, d, 32);
        c->digest.len = 32;
        digest_set = 1;
    }
    ecl_stream_chunk out;
    ecl_err_clear(&err);
    int rc = ecl_verifier_chunk(x->v, c, &out, &err);
    if (FZ_CHECK("ecl_verifier_chunk", rc, &err, ECL_E_INPUT, ECL_E_CRYPTO)) {
        uint64_t after = ecl_verifier_position(x->v);
        if (out.stream_offset != before || after != before + c->data.len || out.len != c->data.len)
            fz_fail("chunk of %zu bytes at %llu moved the position from %llu to %llu", c->data.len,
                    (unsigned long long)out.stream_offset, (unsigned long long)before,
                    (unsigned long long)after);
        if (after > x->total)
            fz_fail("position %llu past the total %llu", (unsigned long long)after,
                    (unsigned long long)x->total);
        x->chunks++;
        read_hasher_add(x->trail, out.digest);
        if (digest_set) {
            if (ecl_verifier_prefix_chunk(x->shadow, d, c->data.len, &err) != 0)
                fz_fail("the shadow verifier refused an accepted chunk: %s", err.msg);
            x->shadow_at += c->data.len;
        }
    } else {
        if (ecl_verifier_position(x->v) != before)
            fz_fail("a refused chunk moved the position");
        if (digest_set && err.code == ECL_E_CRYPTO)
            fz_fail("a chunk with the right digest was refused for it: %s", err.msg);
    }
    ecluse__v1__chunk__free_unpacked(c, NULL);
}

static void prefix_op(run *x, const uint8_t *p, size_t n)
{
    unsigned char d[32];
    ecl_err err;
    ecl_err_clear(&err);
    if (!FZ_CHECK("ecl_verifier_prefix_digest", ecl_verifier_prefix_digest(x->v, p, n, d, &err),
                  &err, ECL_E_USAGE))
        return;
    if (ecl_verifier_prefix_chunk(x->v, d, n, &err) != 0)
        fz_fail("a prefix chunk whose digest was just made is refused: %s", err.msg);
    read_hasher_add(x->trail, d);
    if (x->sign) {
        if (ecl_verifier_prefix_data(x->shadow, p, n, &err) != 0)
            fz_fail("the shadow verifier refused a prefix chunk: %s", err.msg);
        x->shadow_at += n;
    }
}

static void trailer_op(run *x, const uint8_t *p, size_t n)
{
    Ecluse__V1__ReadTrailer *t = ecluse__v1__read_trailer__unpack(NULL, n, p);
    if (t == NULL)
        return;
    unsigned char d[32];
    if (x->sign) {
        read_hasher_final(x->trail, d); /* the trail starts over: one trailer is checked */
        free(t->digest.data);
        t->digest.data = malloc(32);
        if (t->digest.data == NULL)
            fz_fail("out of memory");
        memcpy(t->digest.data, d, 32);
        t->digest.len = 32;
        t->bytes_sent = x->total - x->resume;
        t->chunks = x->chunks;
    }
    uint64_t at = ecl_verifier_position(x->v);
    ecl_err err;
    ecl_err_clear(&err);
    if (FZ_CHECK("ecl_verifier_trailer", ecl_verifier_trailer(x->v, t, &err), &err, ECL_E_INPUT,
                 ECL_E_CRYPTO, ECL_E_PRECONDITION)) {
        if (at != x->total)
            fz_fail("a trailer accepted at byte %llu of %llu", (unsigned long long)at,
                    (unsigned long long)x->total);
    } else if (x->sign && err.code == ECL_E_CRYPTO) {
        fz_fail("a trailer with the right digest was refused for it: %s", err.msg);
    }
    ecluse__v1__read_trailer__free_unpacked(t, NULL);
}

int fz_verifier(const uint8_t *data, size_t size)
{
    fz_reader r = {data, size};
    uint8_t mode = fz_u8(&r);
    size_t hlen;
    const uint8_t *hp = fz_piece(&r, &hlen);
    Ecluse__V1__ReadHeader *h = ecluse__v1__read_header__unpack(NULL, hlen, hp);
    if (h == NULL)
        return 0; /* the stream's first message would not decode */
    run x = {0};
    x.sign = mode & 1;
    ecl_err err;
    ecl_err_clear(&err);
    int ok = FZ_CHECK("ecl_verifier_new", ecl_verifier_new(h, &x.v, &err), &err, ECL_E_INPUT);
    if (ok) {
        x.total = h->total_bytes;
        x.resume = h->resume_offset;
        if (ecl_verifier_position(x.v) != x.resume)
            fz_fail("a new verifier starts at %llu, not the resume offset %llu",
                    (unsigned long long)ecl_verifier_position(x.v), (unsigned long long)x.resume);
        if (read_hasher_new(&x.trail, ecl_header_digest_version(h), &err) != 0)
            fz_fail("read_hasher_new: %s", err.msg);
        h->resume_offset = h->total_bytes; /* the shadow: everything is prefix */
        if (x.sign && ecl_verifier_new(h, &x.shadow, &err) != 0)
            fz_fail("the header is refused as a whole prefix: %s", err.msg);
        for (int i = 0; i < MAX_OPS && r.left > 0; i++) {
            uint8_t op = fz_u8(&r);
            size_t n;
            const uint8_t *p = fz_piece(&r, &n);
            if (op % 3 == 0)
                chunk_op(&x, p, n);
            else if (op % 3 == 1)
                prefix_op(&x, p, n);
            else
                trailer_op(&x, p, n);
        }
    }
    ecl_verifier_free(x.v);
    ecl_verifier_free(x.shadow);
    read_hasher_free(x.trail);
    ecluse__v1__read_header__free_unpacked(h, NULL);
    return ok;
}
