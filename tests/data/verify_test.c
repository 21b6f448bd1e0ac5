/*
 * verify_test.c - outside input of the client's read path: grant files and
 * the messages of a read stream. Each bad input is refused with its category
 * and a message naming the problem.
 */
#include <setjmp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client/read.h"
#include "proto/ecluse.pb-c.h"
#include "tests/data/read_spec.h"

static void expect(int rc, const ecl_err *err, ecl_code code, const char *needle)
{
    assert_int_equal(rc, -1);
    if (err->code != code || strstr(err->msg, needle) == NULL)
        fail_msg("expected %s with '%s', got %s: %s", ecl_code_name(code), needle,
                 ecl_code_name(err->code), err->msg);
}

static char *grant_text(void)
{
    unsigned char body[3] = {1, 2, 3}, sig[64];
    memset(sig, 7, sizeof(sig));
    Ecluse__V1__Grant g = ECLUSE__V1__GRANT__INIT;
    g.body.data = body;
    g.body.len = sizeof(body);
    g.signature.data = sig;
    g.signature.len = sizeof(sig);
    size_t n = ecluse__v1__grant__get_packed_size(&g);
    unsigned char bin[128];
    ecluse__v1__grant__pack(&g, bin);
    char *text = malloc(512);
    strcpy(text, "ecluse-grant-v1\n");
    sodium_bin2base64(text + 16, 400, bin, n, sodium_base64_VARIANT_ORIGINAL);
    strcat(text, "\n");
    return text;
}

static void test_grant_files(void **state)
{
    (void)state;
    ecl_err err;
    Ecluse__V1__Grant *g = NULL;
    char *text = grant_text();
    assert_int_equal(client_grant_parse(text, strlen(text), "g", &g, &err), 0);
    assert_int_equal(g->body.len, 3);
    assert_int_equal(g->signature.len, 64);
    ecluse__v1__grant__free_unpacked(g, NULL);

    /* Wrapped base64 is fine. */
    char wrapped[600];
    snprintf(wrapped, sizeof(wrapped), "%.*s\n%s", 30, text, text + 30);
    assert_int_equal(client_grant_parse(wrapped, strlen(wrapped), "g", &g, &err), 0);
    ecluse__v1__grant__free_unpacked(g, NULL);

    const char *bad_magic = "ecluse-grant-v2\nAAAA\n";
    expect(client_grant_parse(bad_magic, strlen(bad_magic), "x.grant", &g, &err), &err, ECL_E_INPUT,
           "x.grant: line 1 is not 'ecluse-grant-v1'");
    const char *bad_b64 = "ecluse-grant-v1\nAAAA\n!!!!\n";
    expect(client_grant_parse(bad_b64, strlen(bad_b64), "x.grant", &g, &err), &err, ECL_E_INPUT,
           "x.grant: line 3");
    const char *empty = "ecluse-grant-v1\n";
    expect(client_grant_parse(empty, strlen(empty), "x.grant", &g, &err), &err, ECL_E_INPUT,
           "no grant after line 1");
    const char *junk = "ecluse-grant-v1\n/////w==\n"; /* 0xff 0xff 0xff 0xff */
    expect(client_grant_parse(junk, strlen(junk), "x.grant", &g, &err), &err, ECL_E_INPUT,
           "does not decode as a Grant");
    /* A Grant with no signature. */
    const char *nosig = "ecluse-grant-v1\nCgMBAgM=\n"; /* body = 01 02 03 */
    expect(client_grant_parse(nosig, strlen(nosig), "x.grant", &g, &err), &err, ECL_E_INPUT,
           "the grant has no signature");
    /* Every truncation is refused or parses, never crashes. */
    for (size_t n = 0; n < strlen(text); n++) {
        if (client_grant_parse(text, n, "t", &g, &err) == 0)
            ecluse__v1__grant__free_unpacked(g, NULL);
        else
            assert_int_equal(err.code, ECL_E_INPUT);
    }
    free(text);
    expect(client_grant_load("/nonexistent/g.grant", &g, &err), &err, ECL_E_NOT_FOUND,
           "/nonexistent/g.grant");
}

/* A header of two tensors: a (10 bytes), b (6 bytes). */
static ecl_verifier *verifier(uint64_t resume)
{
    Ecluse__V1__TensorInfo a = ECLUSE__V1__TENSOR_INFO__INIT, b = ECLUSE__V1__TENSOR_INFO__INIT;
    a.name = "a";
    a.byte_size = 10;
    b.name = "b";
    b.byte_size = 6;
    Ecluse__V1__TensorInfo *ts[2] = {&a, &b};
    Ecluse__V1__ReadHeader h = ECLUSE__V1__READ_HEADER__INIT;
    h.tensors = ts;
    h.n_tensors = 2;
    h.total_bytes = 16;
    h.resume_offset = resume;
    ecl_verifier *v = NULL;
    ecl_err err;
    assert_int_equal(ecl_verifier_new(&h, &v, &err), 0);
    return v;
}

static unsigned char bytes[16] = "0123456789abcdef";

/* Tensor a is bytes [0, 10) of the stream, b [10, 16); both sent whole. */
static uint64_t src_of(size_t at)
{
    return at < 10 ? at : at - 10;
}

static void chunk(Ecluse__V1__Chunk *c, unsigned char digest[32], uint32_t t, uint64_t off,
                  size_t len, size_t at)
{
    ecluse__v1__chunk__init(c);
    c->tensor = t;
    c->offset = off;
    c->data.data = bytes + at;
    c->data.len = len;
    spec_chunk(digest, bytes + at, len, src_of(at));
    c->digest.data = digest;
    c->digest.len = 32;
}

/* The trailer digest of `bytes` cut into chunks of the given lengths, as
 * the definition says, computed in one go (not incrementally as the
 * verifier does): SHA-256("ecluse-read-digest-v2" 0x00 d1 d2 ... dn). */
static void whole_digest(unsigned char out[32], const size_t *lens, size_t n)
{
    static const char domain[] = "ecluse-read-digest-v2";
    unsigned char in[sizeof(domain) + 16 * 32];
    memcpy(in, domain, sizeof(domain)); /* with its 0x00 */
    size_t at = 0, len = sizeof(domain);
    assert_true(n <= 16);
    for (size_t i = 0; i < n; i++) {
        spec_chunk(in + len, bytes + at, lens[i], src_of(at));
        len += 32;
        at += lens[i];
    }
    spec_sha256(out, in, len);
}

static void trailer(Ecluse__V1__ReadTrailer *t, unsigned char digest[32], uint64_t sent,
                    uint64_t chunks, const size_t *lens, size_t n)
{
    ecluse__v1__read_trailer__init(t);
    whole_digest(digest, lens, n);
    t->bytes_sent = sent;
    t->chunks = chunks;
    t->digest.data = digest;
    t->digest.len = 32;
}

static const size_t cut[] = {7, 3, 6};          /* a: [0, 7) [7, 10); b: [10, 16) */
static const size_t cut_at_12[] = {7, 3, 2, 4}; /* b cut at 12 too */

static void test_a_good_stream_verifies(void **state)
{
    (void)state;
    ecl_verifier *v = verifier(0);
    Ecluse__V1__Chunk c;
    Ecluse__V1__ReadTrailer t;
    unsigned char d[32], td[32];
    ecl_stream_chunk out;
    ecl_err err;
    chunk(&c, d, 0, 0, 7, 0);
    assert_int_equal(ecl_verifier_chunk(v, &c, &out, &err), 0);
    assert_ptr_equal(out.digest, d);
    chunk(&c, d, 0, 7, 3, 7);
    assert_int_equal(ecl_verifier_chunk(v, &c, &out, &err), 0);
    chunk(&c, d, 1, 0, 6, 10);
    assert_int_equal(ecl_verifier_chunk(v, &c, &out, &err), 0);
    assert_int_equal(out.stream_offset, 10);
    trailer(&t, td, 16, 3, cut, 3);
    assert_int_equal(ecl_verifier_trailer(v, &t, &err), 0);
    ecl_verifier_free(v);

    /* Resumed at 12 with the earlier chunks' digests given. */
    unsigned char p[3][32];
    spec_chunk(p[0], bytes, 7, 0);
    spec_chunk(p[1], bytes + 7, 3, 7);
    spec_chunk(p[2], bytes + 10, 2, 0);
    v = verifier(12);
    assert_int_equal(ecl_verifier_prefix_chunk(v, p[0], 7, &err), 0);
    assert_int_equal(ecl_verifier_prefix_chunk(v, p[1], 3, &err), 0);
    assert_int_equal(ecl_verifier_prefix_chunk(v, p[2], 2, &err), 0);
    expect(ecl_verifier_prefix_chunk(v, p[2], 1, &err), &err, ECL_E_USAGE,
           "a chunk of 1 bytes at byte 12 of a 12-byte prefix");
    chunk(&c, d, 1, 2, 4, 12);
    assert_int_equal(ecl_verifier_chunk(v, &c, &out, &err), 0);
    trailer(&t, td, 4, 1, cut_at_12, 4);
    assert_int_equal(ecl_verifier_trailer(v, &t, &err), 0);
    ecl_verifier_free(v);

    /* The same from the bytes kept, one call per earlier chunk. */
    v = verifier(12);
    assert_int_equal(ecl_verifier_prefix_data(v, bytes, 7, &err), 0);
    assert_int_equal(ecl_verifier_prefix_data(v, bytes + 7, 3, &err), 0);
    assert_int_equal(ecl_verifier_prefix_data(v, bytes + 10, 2, &err), 0);
    chunk(&c, d, 1, 2, 4, 12);
    assert_int_equal(ecl_verifier_chunk(v, &c, &out, &err), 0);
    assert_int_equal(ecl_verifier_trailer(v, &t, &err), 0);
    expect(ecl_verifier_prefix_data(v, bytes, 1, &err), &err, ECL_E_USAGE, "after the first chunk");
    ecl_verifier_free(v);
}

/* The trailer digest binds every chunk, its order and the cut. */
static void test_the_trailer_digest_binds_each_chunk_and_its_place(void **state)
{
    (void)state;
    Ecluse__V1__Chunk c;
    Ecluse__V1__ReadTrailer t;
    unsigned char d[32], td[32];
    ecl_stream_chunk out;
    ecl_err err;
    /* Each chunk verifies; the trailer's digest is of other chunks. */
    const size_t other_cut[] = {10, 6}; /* the same bytes, cut otherwise */
    const size_t dropped[] = {7, 6};    /* as if [7, 10) were not in it */
    size_t swapped_lens[] = {3, 7, 6};  /* a's two chunks swapped */
    const size_t *bad[] = {other_cut, dropped, cut_at_12};
    const size_t nbad[] = {2, 2, 4};
    for (size_t i = 0; i < 3; i++) {
        ecl_verifier *v = verifier(0);
        chunk(&c, d, 0, 0, 7, 0);
        assert_int_equal(ecl_verifier_chunk(v, &c, &out, &err), 0);
        chunk(&c, d, 0, 7, 3, 7);
        assert_int_equal(ecl_verifier_chunk(v, &c, &out, &err), 0);
        chunk(&c, d, 1, 0, 6, 10);
        assert_int_equal(ecl_verifier_chunk(v, &c, &out, &err), 0);
        trailer(&t, td, 16, 3, bad[i], nbad[i]);
        expect(ecl_verifier_trailer(v, &t, &err), &err, ECL_E_CRYPTO,
               "the trailer's digest of all 16 bytes (over its chunks' digests) does not match");
        ecl_verifier_free(v);
    }
    /* Digests in the wrong order (a's [7, 10) before [0, 7)). */
    unsigned char domain_and[22 + 3 * 32];
    memcpy(domain_and, "ecluse-read-digest-v2", 22);
    spec_chunk(domain_and + 22, bytes + 7, swapped_lens[0], 7);
    spec_chunk(domain_and + 54, bytes, swapped_lens[1], 0);
    spec_chunk(domain_and + 86, bytes + 10, swapped_lens[2], 0);
    ecl_verifier *v = verifier(0);
    chunk(&c, d, 0, 0, 7, 0);
    assert_int_equal(ecl_verifier_chunk(v, &c, &out, &err), 0);
    chunk(&c, d, 0, 7, 3, 7);
    assert_int_equal(ecl_verifier_chunk(v, &c, &out, &err), 0);
    chunk(&c, d, 1, 0, 6, 10);
    assert_int_equal(ecl_verifier_chunk(v, &c, &out, &err), 0);
    trailer(&t, td, 16, 3, cut, 3);
    spec_sha256(td, domain_and, sizeof(domain_and));
    expect(ecl_verifier_trailer(v, &t, &err), &err, ECL_E_CRYPTO, "does not match");
    ecl_verifier_free(v);
    /* Without the domain string: the right digests, another hash. */
    memmove(domain_and, domain_and + 22, 3 * 32);
    spec_chunk(domain_and, bytes, 7, 0);
    spec_chunk(domain_and + 32, bytes + 7, 3, 7);
    v = verifier(0);
    chunk(&c, d, 0, 0, 7, 0);
    assert_int_equal(ecl_verifier_chunk(v, &c, &out, &err), 0);
    chunk(&c, d, 0, 7, 3, 7);
    assert_int_equal(ecl_verifier_chunk(v, &c, &out, &err), 0);
    chunk(&c, d, 1, 0, 6, 10);
    assert_int_equal(ecl_verifier_chunk(v, &c, &out, &err), 0);
    spec_sha256(td, domain_and, 3 * 32);
    expect(ecl_verifier_trailer(v, &t, &err), &err, ECL_E_CRYPTO, "does not match");
    ecl_verifier_free(v);

    /* A resumed read with a wrong earlier digest, or digests in the wrong
     * order: refused at the trailer. */
    unsigned char p[3][32];
    spec_chunk(p[0], bytes, 7, 0);
    spec_chunk(p[1], bytes + 7, 3, 7);
    spec_chunk(p[2], bytes + 10, 2, 0);
    for (int k = 0; k < 2; k++) {
        v = verifier(12);
        if (k == 0) {
            p[1][5] ^= 1;
            assert_int_equal(ecl_verifier_prefix_chunk(v, p[0], 7, &err), 0);
            assert_int_equal(ecl_verifier_prefix_chunk(v, p[1], 3, &err), 0);
            p[1][5] ^= 1;
        } else {
            assert_int_equal(ecl_verifier_prefix_chunk(v, p[1], 7, &err), 0);
            assert_int_equal(ecl_verifier_prefix_chunk(v, p[0], 3, &err), 0);
        }
        assert_int_equal(ecl_verifier_prefix_chunk(v, p[2], 2, &err), 0);
        chunk(&c, d, 1, 2, 4, 12);
        assert_int_equal(ecl_verifier_chunk(v, &c, &out, &err), 0);
        trailer(&t, td, 4, 1, cut_at_12, 4);
        expect(ecl_verifier_trailer(v, &t, &err), &err, ECL_E_CRYPTO, "does not match");
        ecl_verifier_free(v);
    }
}

static void test_bad_streams_are_refused(void **state)
{
    (void)state;
    Ecluse__V1__Chunk c;
    Ecluse__V1__ReadTrailer t;
    unsigned char d[32], td[32];
    ecl_stream_chunk out;
    ecl_err err;
    ecl_verifier *v = verifier(0);
    chunk(&c, d, 2, 0, 1, 0);
    expect(ecl_verifier_chunk(v, &c, &out, &err), &err, ECL_E_INPUT,
           "chunk 0: tensor index 2, but the header has 2");
    chunk(&c, d, 0, 5, 6, 5);
    expect(ecl_verifier_chunk(v, &c, &out, &err), &err, ECL_E_INPUT,
           "6 bytes at offset 5 are outside tensor 'a' (10 bytes)");
    chunk(&c, d, 0, 3, 2, 3);
    expect(ecl_verifier_chunk(v, &c, &out, &err), &err, ECL_E_INPUT,
           "tensor 'a' offset 3 is stream byte 3, expected 0");
    chunk(&c, d, 0, 0, 4, 0);
    d[0] ^= 1;
    expect(ecl_verifier_chunk(v, &c, &out, &err), &err, ECL_E_CRYPTO,
           "chunk 0 (tensor 'a', offset 0, 4 bytes): the data does not match its digest");
    c.digest.len = 31;
    expect(ecl_verifier_chunk(v, &c, &out, &err), &err, ECL_E_CRYPTO, "does not match");
    chunk(&c, d, 0, 0, 10, 0);
    assert_int_equal(ecl_verifier_chunk(v, &c, &out, &err), 0);
    /* A dropped chunk: b's is not there. */
    const size_t ten[] = {10};
    trailer(&t, td, 10, 1, ten, 1);
    expect(ecl_verifier_trailer(v, &t, &err), &err, ECL_E_INPUT, "ended at byte 10 of 16");
    ecl_verifier_free(v);

    /* All bytes but a wrong whole digest, then wrong counts. */
    const size_t whole_cut[] = {10, 6};
    v = verifier(0);
    chunk(&c, d, 0, 0, 10, 0);
    assert_int_equal(ecl_verifier_chunk(v, &c, &out, &err), 0);
    chunk(&c, d, 1, 0, 6, 10);
    assert_int_equal(ecl_verifier_chunk(v, &c, &out, &err), 0);
    trailer(&t, td, 16, 2, whole_cut, 2);
    td[31] ^= 0x80;
    expect(ecl_verifier_trailer(v, &t, &err), &err, ECL_E_CRYPTO,
           "digest of all 16 bytes (over its chunks' digests) does not match");
    expect(ecl_verifier_chunk(v, &c, &out, &err), &err, ECL_E_INPUT, "after the trailer");
    ecl_verifier_free(v);
    v = verifier(0);
    chunk(&c, d, 0, 0, 10, 0);
    assert_int_equal(ecl_verifier_chunk(v, &c, &out, &err), 0);
    chunk(&c, d, 1, 0, 6, 10);
    assert_int_equal(ecl_verifier_chunk(v, &c, &out, &err), 0);
    trailer(&t, td, 16, 5, whole_cut, 2);
    expect(ecl_verifier_trailer(v, &t, &err), &err, ECL_E_INPUT, "trailer says 16 bytes in 5");
    ecl_verifier_free(v);

    /* A resumed read without its prefix, or with part of it, cannot check
     * the whole digest. */
    for (int given = 0; given < 2; given++) {
        v = verifier(10);
        if (given)
            assert_int_equal(ecl_verifier_prefix_data(v, bytes, 7, &err), 0);
        expect(ecl_verifier_prefix_chunk(v, d, 0, &err), &err, ECL_E_USAGE,
               "a chunk of 0 bytes at byte");
        expect(ecl_verifier_prefix_chunk(v, d, 11, &err), &err, ECL_E_USAGE, "of a 10-byte prefix");
        chunk(&c, d, 1, 0, 6, 10);
        assert_int_equal(ecl_verifier_chunk(v, &c, &out, &err), 0);
        trailer(&t, td, 6, 1, whole_cut, 2);
        expect(ecl_verifier_trailer(v, &t, &err), &err, ECL_E_PRECONDITION,
               given ? "resumed at 10 but the prefix chunks given cover only 7 bytes"
                     : "resumed at 10 but the prefix chunks given cover only 0 bytes");
        ecl_verifier_free(v);
    }
}

static void test_bad_headers_are_refused(void **state)
{
    (void)state;
    Ecluse__V1__TensorInfo a = ECLUSE__V1__TENSOR_INFO__INIT;
    a.name = "a";
    a.byte_size = 10;
    Ecluse__V1__TensorInfo *ts[1] = {&a};
    Ecluse__V1__ReadHeader h = ECLUSE__V1__READ_HEADER__INIT;
    h.tensors = ts;
    h.n_tensors = 1;
    h.total_bytes = 11;
    ecl_verifier *v = NULL;
    ecl_err err;
    expect(ecl_verifier_new(&h, &v, &err), &err, ECL_E_INPUT,
           "tensors add up to 10 bytes, total_bytes says 11");
    h.total_bytes = 10;
    h.resume_offset = 11;
    expect(ecl_verifier_new(&h, &v, &err), &err, ECL_E_INPUT, "resume_offset 11");
    h.resume_offset = 0;
    a.name = "";
    expect(ecl_verifier_new(&h, &v, &err), &err, ECL_E_INPUT, "tensor 0 has no name");
    a.name = "a";
    /* Row ranges must be ascending and disjoint, and divide every tensor. */
    Ecluse__V1__RowRange r1 = ECLUSE__V1__ROW_RANGE__INIT, r2 = ECLUSE__V1__ROW_RANGE__INIT;
    Ecluse__V1__RowRange *rs[2] = {&r1, &r2};
    r1.begin = 4, r1.end = 6, r2.begin = 5, r2.end = 8;
    h.row_ranges = rs;
    h.n_row_ranges = 2;
    expect(ecl_verifier_new(&h, &v, &err), &err, ECL_E_INPUT,
           "row range 1 [5, 8) is empty, overlaps or is out of order");
    r2.begin = 7;
    expect(ecl_verifier_new(&h, &v, &err), &err, ECL_E_INPUT,
           "tensor 'a' has 10 bytes, not a whole number of the 3 rows sent");
}

/* A selection of rows: each chunk's leaves are cut where its bytes sit in
 * the tensor as stored, found through the header's row ranges, so that the
 * holding site can serve them from leaves computed once for the file. */
static void test_leaves_are_cut_in_the_stored_tensor(void **state)
{
    (void)state;
    enum { ROW = 40000, ROWS = 7 };
    unsigned char *src = malloc((size_t)ROW * ROWS);
    for (size_t i = 0; i < (size_t)ROW * ROWS; i++)
        src[i] = (unsigned char)(i * 7 + i / 251);
    /* Rows 1, 2 and 5 sent, in chunks of 50000 bytes cut in each run of rows:
     * [0, 50000) is stored bytes [40000, 90000), across the leaf edge at 65536;
     * [50000, 80000) is [90000, 120000); [80000, 120000) is row 5, [200000, 240000). */
    Ecluse__V1__TensorInfo a = ECLUSE__V1__TENSOR_INFO__INIT;
    a.name = "x";
    a.byte_size = 3 * ROW;
    Ecluse__V1__TensorInfo *ts[1] = {&a};
    Ecluse__V1__RowRange r1 = ECLUSE__V1__ROW_RANGE__INIT, r2 = ECLUSE__V1__ROW_RANGE__INIT;
    r1.begin = 1, r1.end = 3, r2.begin = 5, r2.end = 6;
    Ecluse__V1__RowRange *rs[2] = {&r1, &r2};
    Ecluse__V1__ReadHeader h = ECLUSE__V1__READ_HEADER__INIT;
    h.tensors = ts;
    h.n_tensors = 1;
    h.total_bytes = 3 * ROW;
    h.row_ranges = rs;
    h.n_row_ranges = 2;
    const uint64_t off[3] = {0, 50000, 80000}, stored[3] = {40000, 90000, 200000};
    const size_t len[3] = {50000, 30000, 40000};
    unsigned char d[3][32], in[22 + 3 * 32], td[32];
    memcpy(in, "ecluse-read-digest-v2", 22);
    for (int i = 0; i < 3; i++) {
        spec_chunk(d[i], src + stored[i], len[i], stored[i]);
        memcpy(in + 22 + 32 * i, d[i], 32);
    }
    spec_sha256(td, in, sizeof(in));
    Ecluse__V1__ReadTrailer t = ECLUSE__V1__READ_TRAILER__INIT;
    t.bytes_sent = 3 * ROW;
    t.chunks = 3;
    t.digest.data = td;
    t.digest.len = 32;

    ecl_verifier *v = NULL;
    ecl_stream_chunk out;
    ecl_err err;
    assert_int_equal(ecl_verifier_new(&h, &v, &err), 0);
    for (int i = 0; i < 3; i++) {
        Ecluse__V1__Chunk c = ECLUSE__V1__CHUNK__INIT;
        c.offset = off[i];
        c.data.data = src + stored[i];
        c.data.len = len[i];
        c.digest.data = d[i];
        c.digest.len = 32;
        assert_int_equal(ecl_verifier_chunk(v, &c, &out, &err), 0);
    }
    assert_int_equal(ecl_verifier_trailer(v, &t, &err), 0);
    ecl_verifier_free(v);

    /* Resumed at 80000 from the bytes kept: the same stored offsets. */
    h.resume_offset = 80000;
    assert_int_equal(ecl_verifier_new(&h, &v, &err), 0);
    unsigned char kept[32];
    assert_int_equal(ecl_verifier_prefix_digest(v, src + stored[0], len[0], kept, &err), 0);
    assert_memory_equal(kept, d[0], 32);
    assert_int_equal(ecl_verifier_prefix_data(v, src + stored[0], len[0], &err), 0);
    assert_int_equal(ecl_verifier_prefix_data(v, src + stored[1], len[1], &err), 0);
    Ecluse__V1__Chunk c = ECLUSE__V1__CHUNK__INIT;
    c.offset = off[2];
    c.data.data = src + stored[2];
    c.data.len = len[2];
    c.digest.data = d[2];
    c.digest.len = 32;
    assert_int_equal(ecl_verifier_chunk(v, &c, &out, &err), 0);
    t.bytes_sent = len[2];
    t.chunks = 1;
    assert_int_equal(ecl_verifier_trailer(v, &t, &err), 0);
    ecl_verifier_free(v);

    /* Leaves cut from the start of the selection instead do not verify. */
    h.resume_offset = 0;
    unsigned char wrong[32];
    spec_chunk(wrong, src + stored[0], len[0], 0);
    assert_memory_not_equal(wrong, d[0], 32);
    assert_int_equal(ecl_verifier_new(&h, &v, &err), 0);
    c.offset = 0;
    c.data.data = src + stored[0];
    c.data.len = len[0];
    c.digest.data = wrong;
    expect(ecl_verifier_chunk(v, &c, &out, &err), &err, ECL_E_CRYPTO,
           "chunk 0 (tensor 'x', offset 0, 50000 bytes): the data does not match its digest");
    ecl_verifier_free(v);
    free(src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grant_files),
        cmocka_unit_test(test_a_good_stream_verifies),
        cmocka_unit_test(test_the_trailer_digest_binds_each_chunk_and_its_place),
        cmocka_unit_test(test_bad_streams_are_refused),
        cmocka_unit_test(test_bad_headers_are_refused),
        cmocka_unit_test(test_leaves_are_cut_in_the_stored_tensor),
    };
    return cmocka_run_group_tests_name("data_verify", tests, NULL, NULL);
}
