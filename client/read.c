/* read.c - Data.Read from the client side: grant files, the stream's checks,
 * and the read itself (see read.h). */
#include "client/read.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/hash_worker.h"
#include "common/bytes.h"
#include "common/fileio.h"
#include "common/read_digest.h"
#include "rpc/client.h"
#include "site/signer.h"
#include "site/sitekey.h"

/* ---- grant files ------------------------------------------------------------ */

int client_grant_parse(const char *text, size_t len, const char *what, Ecluse__V1__Grant **out,
                       ecl_err *err)
{
    size_t magic = strlen(CLIENT_GRANT_MAGIC);
    if (len < magic || memcmp(text, CLIENT_GRANT_MAGIC, magic) != 0 ||
        (len > magic && text[magic] != '\n' && text[magic] != '\r'))
        return ecl_fail(err, ECL_E_INPUT, "%s: line 1 is not '%s': not an ecluse grant file", what,
                        CLIENT_GRANT_MAGIC);
    const char *b64 = text + magic;
    size_t b64_len = len - magic;
    unsigned char *bin = malloc(b64_len ? b64_len : 1);
    if (bin == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    size_t bin_len = 0;
    const char *end = NULL;
    if (sodium_base642bin(bin, b64_len, b64, b64_len, " \t\r\n", &bin_len, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        (end != NULL && end != b64 + b64_len)) {
        size_t at = end != NULL ? (size_t)(end - text) : magic;
        unsigned line = 1;
        for (size_t i = 0; i < at && i < len; i++)
            line += text[i] == '\n';
        free(bin);
        return ecl_fail(err, ECL_E_INPUT, "%s: line %u (byte %zu): not valid base64", what, line,
                        at);
    }
    if (bin_len == 0) {
        free(bin);
        return ecl_fail(err, ECL_E_INPUT, "%s: no grant after line 1", what);
    }
    Ecluse__V1__Grant *g = ecluse__v1__grant__unpack(NULL, bin_len, bin);
    free(bin);
    if (g == NULL)
        return ecl_fail(err, ECL_E_INPUT, "%s: the base64 does not decode as a Grant", what);
    if (g->body.len == 0 || g->signature.len == 0) {
        const char *missing = g->body.len == 0 ? "body" : "signature";
        ecluse__v1__grant__free_unpacked(g, NULL);
        return ecl_fail(err, ECL_E_INPUT, "%s: the grant has no %s", what, missing);
    }
    *out = g;
    return 0;
}

int client_grant_load(const char *path, Ecluse__V1__Grant **out, ecl_err *err)
{
    char *text = NULL;
    size_t len = 0;
    if (ecl_read_file(path, CLIENT_GRANT_FILE_MAX, &text, &len, err) != 0)
        return -1;
    int rc = client_grant_parse(text, len, path, out, err);
    free(text);
    return rc;
}

int client_grant_check(const Ecluse__V1__Grant *g, ecl_err *err)
{
    if (g == NULL || g->body.len == 0)
        return ecl_fail(err, ECL_E_INPUT, "there is no grant to read with");
    Ecluse__V1__GrantBody *b = ecluse__v1__grant_body__unpack(NULL, g->body.len, g->body.data);
    if (b == NULL)
        return ecl_fail(err, ECL_E_INPUT, "the grant's body does not decode as a GrantBody");
    int rc = 0;
    if (b->signing_key.len != crypto_sign_PUBLICKEYBYTES)
        rc = ecl_fail(err, ECL_E_INPUT, "grant %s names no signing key: ask for access again",
                      b->grant_id);
    else if (site_key_verify(b->signing_key.data, GRANT_SIGNING_CONTEXT, g->body.data, g->body.len,
                             g->signature.data, g->signature.len, err) != 0)
        rc = ecl_fail(err, ECL_E_CRYPTO,
                      "grant %s: its signature does not verify under the key it names: the "
                      "grant was changed or damaged after it was issued",
                      b->grant_id);
    ecluse__v1__grant_body__free_unpacked(b, NULL);
    return rc;
}

int client_grant_save(const char *path, const Ecluse__V1__Grant *g, ecl_err *err)
{
    size_t n = ecluse__v1__grant__get_packed_size(g);
    size_t b64 = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
    size_t magic = strlen(CLIENT_GRANT_MAGIC);
    unsigned char *bin = malloc(n ? n : 1);
    char *text = malloc(magic + 1 + b64 + 1);
    if (bin == NULL || text == NULL) {
        free(bin);
        free(text);
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    }
    ecluse__v1__grant__pack(g, bin);
    memcpy(text, CLIENT_GRANT_MAGIC "\n", magic + 1);
    sodium_bin2base64(text + magic + 1, b64, bin, n, sodium_base64_VARIANT_ORIGINAL);
    size_t len = strlen(text);
    text[len++] = '\n';
    int rc = ecl_write_file(path, text, len, 0600, ECL_WRITE_REPLACE, err);
    free(bin);
    free(text);
    return rc;
}

/* ---- the verifier ------------------------------------------------------------ */

struct ecl_verifier {
    size_t n;
    uint64_t *size;      /* each tensor's selected bytes */
    uint64_t *start;     /* where it starts in the stream */
    uint64_t *row_bytes; /* bytes per row of each tensor; unused without row ranges */
    char **names;
    size_t nr;         /* the header's source row ranges; 0: tensors sent whole */
    uint64_t *rbegin;  /* first source row of each range */
    uint64_t *rbefore; /* selected rows before each range */
    uint64_t total, resume, prefix;
    uint64_t pos, chunks; /* taken in: where the next chunk starts, how many came */
    uint64_t good;        /* the end of the chunks whose digests matched */
    int done;
    read_hasher *h; /* chunk digests, and the trailer over them */
};

void ecl_verifier_free(ecl_verifier *v)
{
    if (v == NULL)
        return;
    for (size_t i = 0; v->names != NULL && i < v->n; i++)
        free(v->names[i]);
    free(v->names);
    free(v->size);
    free(v->start);
    free(v->row_bytes);
    free(v->rbegin);
    free(v->rbefore);
    read_hasher_free(v->h);
    free(v);
}

/* Where each chunk sits in its tensor as stored decides how its leaves are
 * cut (common/read_digest.h): keep the header's row ranges to map back. */
static int keep_rows(ecl_verifier *v, const Ecluse__V1__ReadHeader *h, ecl_err *err)
{
    v->nr = h->n_row_ranges;
    v->rbegin = calloc(v->nr ? v->nr : 1, sizeof(uint64_t));
    v->rbefore = calloc(v->nr ? v->nr : 1, sizeof(uint64_t));
    if (v->rbegin == NULL || v->rbefore == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    uint64_t rows = 0, last_end = 0;
    for (size_t i = 0; i < v->nr; i++) {
        const Ecluse__V1__RowRange *r = h->row_ranges[i];
        if (r->end <= r->begin || r->begin < last_end || rows + (r->end - r->begin) < rows)
            return ecl_fail(err, ECL_E_INPUT,
                            "read header: row range %zu [%llu, %llu) is empty, overlaps or is "
                            "out of order",
                            i, (unsigned long long)r->begin, (unsigned long long)r->end);
        v->rbegin[i] = r->begin;
        v->rbefore[i] = rows;
        rows += r->end - r->begin;
        last_end = r->end;
    }
    for (size_t t = 0; v->nr > 0 && t < v->n; t++) {
        if (v->size[t] % rows != 0)
            return ecl_fail(err, ECL_E_INPUT,
                            "read header: tensor '%s' has %llu bytes, not a whole number of "
                            "the %llu rows sent",
                            v->names[t], (unsigned long long)v->size[t], (unsigned long long)rows);
        v->row_bytes[t] = v->size[t] / rows;
    }
    return 0;
}

/* The source offset of byte `off` of tensor `t`'s selection. */
static uint64_t source_offset(const ecl_verifier *v, size_t t, uint64_t off)
{
    if (v->nr == 0 || v->row_bytes[t] == 0)
        return off;
    uint64_t row = off / v->row_bytes[t];
    size_t lo = 0, hi = v->nr; /* the last range with rbefore <= row */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (v->rbefore[mid] <= row)
            lo = mid;
        else
            hi = mid;
    }
    return (v->rbegin[lo] + (row - v->rbefore[lo])) * v->row_bytes[t] + off % v->row_bytes[t];
}

/* The tensor that holds stream byte `at` (< total) and the offset in it. */
static size_t tensor_of(const ecl_verifier *v, uint64_t at, uint64_t *off)
{
    size_t t = 0;
    while (t + 1 < v->n && at >= v->start[t] + v->size[t])
        t++;
    *off = at - v->start[t];
    return t;
}

int ecl_verifier_new(const Ecluse__V1__ReadHeader *h, ecl_verifier **out, ecl_err *err)
{
    ecl_verifier *v = calloc(1, sizeof(*v));
    size_t n = h->n_tensors;
    if (v != NULL) {
        v->n = n;
        v->size = calloc(n ? n : 1, sizeof(uint64_t));
        v->start = calloc(n ? n : 1, sizeof(uint64_t));
        v->row_bytes = calloc(n ? n : 1, sizeof(uint64_t));
        v->names = calloc(n ? n : 1, sizeof(char *));
    }
    if (v == NULL || v->size == NULL || v->start == NULL || v->row_bytes == NULL ||
        v->names == NULL) {
        ecl_verifier_free(v);
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    }
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        const Ecluse__V1__TensorInfo *t = h->tensors[i];
        if (t->name[0] == '\0' || sum + t->byte_size < sum) {
            ecl_verifier_free(v);
            return ecl_fail(err, ECL_E_INPUT, "read header: tensor %zu has no name or size", i);
        }
        if ((v->names[i] = strdup(t->name)) == NULL) {
            ecl_verifier_free(v);
            return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
        }
        v->size[i] = t->byte_size;
        v->start[i] = sum;
        sum += t->byte_size;
    }
    if (sum != h->total_bytes || h->resume_offset > sum) {
        ecl_verifier_free(v);
        return ecl_fail(err, ECL_E_INPUT,
                        "read header: tensors add up to %llu bytes, total_bytes says %llu, "
                        "resume_offset %llu",
                        (unsigned long long)sum, (unsigned long long)h->total_bytes,
                        (unsigned long long)h->resume_offset);
    }
    uint32_t version = ecl_header_digest_version(h);
    if (!read_digest_known(version)) {
        ecl_verifier_free(v);
        return ecl_fail(err, ECL_E_INPUT,
                        "read header: digest version %u is not one this client knows (%d, %d)",
                        version, READ_DIGEST_V2, READ_DIGEST_V3);
    }
    if (keep_rows(v, h, err) != 0 || read_hasher_new(&v->h, version, err) != 0) {
        ecl_verifier_free(v);
        return -1;
    }
    v->total = sum;
    v->resume = v->pos = v->good = h->resume_offset;
    *out = v;
    return 0;
}

uint32_t ecl_header_digest_version(const Ecluse__V1__ReadHeader *h)
{
    return h->digest_version == 0 ? READ_DIGEST_V2 : h->digest_version;
}

/* A chunk of the prefix comes before any chunk of the read, inside the prefix. */
static int prefix_fits(const ecl_verifier *v, uint64_t len, ecl_err *err)
{
    if (v->pos != v->resume || v->chunks > 0 || v->done)
        return ecl_fail(err, ECL_E_USAGE,
                        "prefix: a chunk of the prefix after the first chunk "
                        "of the read");
    if (len == 0 || len > v->resume - v->prefix)
        return ecl_fail(
            err, ECL_E_USAGE, "prefix: a chunk of %llu bytes at byte %llu of a %llu-byte prefix",
            (unsigned long long)len, (unsigned long long)v->prefix, (unsigned long long)v->resume);
    return 0;
}

int ecl_verifier_prefix_chunk(ecl_verifier *v, const unsigned char digest[32], uint64_t len,
                              ecl_err *err)
{
    if (prefix_fits(v, len, err) != 0)
        return -1;
    read_hasher_add(v->h, digest);
    v->prefix += len;
    return 0;
}

int ecl_verifier_prefix_digest(ecl_verifier *v, const void *data, size_t len,
                               unsigned char digest[32], ecl_err *err)
{
    if (prefix_fits(v, len, err) != 0)
        return -1;
    uint64_t off = 0;
    size_t t = tensor_of(v, v->prefix, &off);
    read_hasher_chunk(v->h, data, len, source_offset(v, t, off), NULL, digest);
    return 0;
}

int ecl_verifier_prefix_data(ecl_verifier *v, const void *data, size_t len, ecl_err *err)
{
    unsigned char d[32];
    if (ecl_verifier_prefix_digest(v, data, len, d, err) != 0)
        return -1;
    return ecl_verifier_prefix_chunk(v, d, len, err);
}

/* Where a chunk of `len` bytes at `offset` of `tensor` may go: next in the
 * stream, inside its tensor. *at is its stream offset. */
static int chunk_fits(const ecl_verifier *v, uint32_t tensor, uint64_t offset, size_t len,
                      uint64_t *at, ecl_err *err)
{
    if (v->done)
        return ecl_fail(err, ECL_E_INPUT, "a chunk after the trailer");
    if (tensor >= v->n)
        return ecl_fail(err, ECL_E_INPUT, "chunk %llu: tensor index %u, but the header has %zu",
                        (unsigned long long)v->chunks, tensor, v->n);
    const char *name = v->names[tensor];
    if (len == 0 || offset > v->size[tensor] || len > v->size[tensor] - offset)
        return ecl_fail(err, ECL_E_INPUT,
                        "chunk %llu: %zu bytes at offset %llu are outside tensor '%s' (%llu bytes)",
                        (unsigned long long)v->chunks, len, (unsigned long long)offset, name,
                        (unsigned long long)v->size[tensor]);
    *at = v->start[tensor] + offset;
    if (*at != v->pos)
        return ecl_fail(err, ECL_E_INPUT,
                        "chunk %llu: tensor '%s' offset %llu is stream byte %llu, expected %llu",
                        (unsigned long long)v->chunks, name, (unsigned long long)offset,
                        (unsigned long long)*at, (unsigned long long)v->pos);
    return 0;
}

/* A chunk that fits is taken in: the next one starts after it. */
static void chunk_take(ecl_verifier *v, size_t len)
{
    v->pos += len;
    v->chunks++;
}

/* Chunk number `index`, hashed to `d`, must carry that digest; then it
 * counts towards the trailer. Chunks settle in stream order. */
static int chunk_settle(ecl_verifier *v, uint64_t index, const unsigned char d[32],
                        const ProtobufCBinaryData *sent, uint32_t tensor, uint64_t offset,
                        size_t len, ecl_err *err)
{
    if (sent->len != 32 || sodium_memcmp(d, sent->data, 32) != 0)
        return ecl_fail(err, ECL_E_CRYPTO,
                        "chunk %llu (tensor '%s', offset %llu, %zu bytes): the data does not "
                        "match its digest",
                        (unsigned long long)index, v->names[tensor], (unsigned long long)offset,
                        len);
    read_hasher_add(v->h, d);
    v->good += len;
    return 0;
}

int ecl_verifier_chunk(ecl_verifier *v, const Ecluse__V1__Chunk *c, ecl_stream_chunk *out,
                       ecl_err *err)
{
    size_t len = c->data.len;
    uint64_t at = 0;
    if (chunk_fits(v, c->tensor, c->offset, len, &at, err) != 0)
        return -1;
    unsigned char d[32];
    read_hasher_chunk(v->h, c->data.data, len, source_offset(v, c->tensor, c->offset), NULL, d);
    if (chunk_settle(v, v->chunks, d, &c->digest, c->tensor, c->offset, len, err) != 0)
        return -1;
    chunk_take(v, len);
    out->tensor = c->tensor;
    out->offset = c->offset;
    out->stream_offset = at;
    out->data = c->data.data;
    out->len = len;
    out->digest = c->digest.data;
    return 0;
}

int ecl_verifier_trailer(ecl_verifier *v, const Ecluse__V1__ReadTrailer *t, ecl_err *err)
{
    if (v->done)
        return ecl_fail(err, ECL_E_INPUT, "a second trailer");
    if (v->good != v->pos)
        return ecl_fail(err, ECL_E_INTERNAL, "the trailer came before every chunk was checked");
    v->done = 1;
    if (v->pos != v->total)
        return ecl_fail(err, ECL_E_INPUT, "the stream ended at byte %llu of %llu",
                        (unsigned long long)v->pos, (unsigned long long)v->total);
    if (t->bytes_sent != v->total - v->resume || t->chunks != v->chunks)
        return ecl_fail(err, ECL_E_INPUT,
                        "trailer says %llu bytes in %llu chunks; %llu in %llu arrived",
                        (unsigned long long)t->bytes_sent, (unsigned long long)t->chunks,
                        (unsigned long long)(v->total - v->resume), (unsigned long long)v->chunks);
    if (v->prefix != v->resume)
        return ecl_fail(err, ECL_E_PRECONDITION,
                        "the whole-stream digest cannot be checked: the read resumed at %llu but "
                        "the prefix chunks given cover only %llu bytes",
                        (unsigned long long)v->resume, (unsigned long long)v->prefix);
    unsigned char d[32];
    read_hasher_final(v->h, d);
    if (t->digest.len != sizeof(d) || sodium_memcmp(d, t->digest.data, sizeof(d)) != 0)
        return ecl_fail(err, ECL_E_CRYPTO,
                        "the trailer's digest of all %llu bytes (over its chunks' digests) does "
                        "not match the chunks read",
                        (unsigned long long)v->total);
    return 0;
}

uint64_t ecl_verifier_position(const ecl_verifier *v)
{
    return v->good;
}

/* ---- the read ------------------------------------------------------------------ */

/* A chunk ecl_stream_into copied and handed to the hashing thread, waiting
 * for its digest; they settle in the order they were handed over. */
typedef struct pending_chunk {
    uint64_t index, offset;
    uint32_t tensor;
    size_t len;
    unsigned char digest[32];
    size_t digest_len; /* 0: the chunk came without one */
} pending_chunk;

struct ecl_stream {
    rpc_stream *st;
    Ecluse__V1__ReadMessage *header_msg;
    Ecluse__V1__ReadMessage *current; /* the message the last chunk points into */
    Ecluse__V1__ReadMessage *trailer_msg;
    ecl_verifier *v;
    int verified; /* the trailer checked out */
    ecl_hashing hashing;
    hash_worker *hw; /* ecl_stream_into's hashing thread, if it has one */
    pending_chunk pending[HASH_WORKER_DEPTH];
    size_t first_pending;
};

static int next_message(ecl_stream *r, Ecluse__V1__ReadMessage **m, ecl_err *err)
{
    ProtobufCMessage *msg = NULL;
    int n = rpc_stream_next(r->st, &ecluse__v1__read_message__descriptor, &msg, err);
    *m = (Ecluse__V1__ReadMessage *)msg;
    return n;
}

int ecl_stream_open(ecl_client *c, const Ecluse__V1__Grant *grant, const ecl_stream_opts *o,
                    ecl_stream **out, ecl_err *err)
{
    Ecluse__V1__ReadRequest req = ECLUSE__V1__READ_REQUEST__INIT;
    Ecluse__V1__RowSelection rows = ECLUSE__V1__ROW_SELECTION__INIT;
    Ecluse__V1__RowRange range = ECLUSE__V1__ROW_RANGE__INIT;
    Ecluse__V1__Shard shard = ECLUSE__V1__SHARD__INIT;
    if (client_grant_check(grant, err) != 0)
        return -1;
    req.grant = (Ecluse__V1__Grant *)grant;
    req.n_tensors = o->n_tensors;
    req.tensors = (char **)o->tensors;
    req.chunk_bytes = o->chunk_bytes;
    req.resume_offset = o->resume_offset;
    req.digest_version = o->digest_version != 0 ? o->digest_version : READ_DIGEST_NEWEST;
    if (o->rows == ECL_ROWS_RANGE) {
        range.begin = o->row_begin;
        range.end = o->row_end;
        rows.selection_case = ECLUSE__V1__ROW_SELECTION__SELECTION_RANGE;
        rows.range = &range;
        req.rows = &rows;
    } else if (o->rows == ECL_ROWS_SHARD) {
        shard.index = o->shard_index;
        shard.count = o->shard_count;
        rows.selection_case = ECLUSE__V1__ROW_SELECTION__SELECTION_SHARD;
        rows.shard = &shard;
        req.rows = &rows;
    }
    ecl_stream *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    r->hashing = o->hashing;
    if (rpc_stream_open(ecl_client_channel(c), "/ecluse.v1.Data/Read", &req.base, 0, &r->st, err) !=
        0) {
        free(r);
        return -1;
    }
    int n = next_message(r, &r->header_msg, err);
    if (n == 0)
        ecl_fail(err, ECL_E_INPUT, "the gateway ended the read without a header");
    if (n == 1 && r->header_msg->kind_case != ECLUSE__V1__READ_MESSAGE__KIND_HEADER) {
        ecl_fail(err, ECL_E_INPUT, "the first message of the read is not a header");
        n = -1;
    }
    /* A version asked for exactly is one earlier chunks were checked in. */
    if (n == 1 && o->digest_version != 0 &&
        ecl_header_digest_version(r->header_msg->header) != o->digest_version) {
        ecl_fail(err, ECL_E_PRECONDITION,
                 "asked for read digest version %u, the gateway answered with %u",
                 o->digest_version, ecl_header_digest_version(r->header_msg->header));
        n = -1;
    }
    if (n != 1 || ecl_verifier_new(r->header_msg->header, &r->v, err) != 0) {
        ecl_stream_close(r);
        return -1;
    }
    *out = r;
    return 0;
}

const Ecluse__V1__ReadHeader *ecl_stream_header(const ecl_stream *r)
{
    return r->header_msg->header;
}

int ecl_stream_prefix_chunk(ecl_stream *r, const unsigned char digest[32], uint64_t len,
                            ecl_err *err)
{
    return ecl_verifier_prefix_chunk(r->v, digest, len, err);
}

int ecl_stream_prefix_data(ecl_stream *r, const void *data, size_t len, ecl_err *err)
{
    return ecl_verifier_prefix_data(r->v, data, len, err);
}

int ecl_stream_prefix_digest(ecl_stream *r, const void *data, size_t len, unsigned char digest[32],
                             ecl_err *err)
{
    return ecl_verifier_prefix_digest(r->v, data, len, digest, err);
}

/* A decoded message of the stream after the header: a chunk (1, *out set),
 * the trailer (0 once it and the OK status after it are checked), or -1. */
static int take_message(ecl_stream *r, Ecluse__V1__ReadMessage *m, ecl_stream_chunk *out,
                        ecl_err *err)
{
    if (m->kind_case == ECLUSE__V1__READ_MESSAGE__KIND_CHUNK) {
        r->current = m;
        return ecl_verifier_chunk(r->v, m->chunk, out, err) == 0 ? 1 : -1;
    }
    if (m->kind_case == ECLUSE__V1__READ_MESSAGE__KIND_TRAILER) {
        r->trailer_msg = m;
        if (ecl_verifier_trailer(r->v, m->trailer, err) != 0)
            return -1;
        r->verified = 1;
        /* The status after the trailer must be OK too. */
        int n = next_message(r, &m, err);
        if (n == 1) {
            ecluse__v1__read_message__free_unpacked(m, NULL);
            return ecl_fail(err, ECL_E_INPUT, "a message after the trailer");
        }
        return n;
    }
    ecluse__v1__read_message__free_unpacked(m, NULL);
    return ecl_fail(err, ECL_E_INPUT, "a second header in the stream");
}

static void drop_current(ecl_stream *r)
{
    if (r->current != NULL) {
        ecluse__v1__read_message__free_unpacked(r->current, NULL);
        r->current = NULL;
    }
}

static int no_trailer(const ecl_stream *r, ecl_err *err)
{
    return ecl_fail(err, ECL_E_INPUT, "the stream ended without a trailer at byte %llu",
                    (unsigned long long)ecl_verifier_position(r->v));
}

int ecl_stream_next(ecl_stream *r, ecl_stream_chunk *out, ecl_err *err)
{
    if (r->trailer_msg != NULL)
        return r->verified ? 0 : ecl_fail(err, ECL_E_USAGE, "the read already failed");
    drop_current(r);
    Ecluse__V1__ReadMessage *m = NULL;
    int n = next_message(r, &m, err);
    if (n == 0)
        return no_trailer(r, err);
    if (n < 0)
        return -1;
    return take_message(r, m, out, err);
}

/* ---- straight into the caller's buffer ------------------------------------------ */

/* The head of ReadMessage{chunk} in the canonical encoding, as the gateway
 * and every field-order protobuf encoder write it (docs/protocol.md):
 *   0x1a len | [0x08 tensor] [0x10 offset] [0x1a 0x20 digest] 0x7a len | data
 * with data running to the end of the message. Any other encoding (other
 * fields, another order) is not parsed here: it goes through protobuf-c. */
typedef struct chunk_head {
    uint32_t tensor;
    uint64_t offset;
    unsigned char digest[32];
    ProtobufCBinaryData sent; /* points at digest when there was one */
    size_t data_at, data_len;
} chunk_head;

static int parse_chunk_head(const rpc_message *m, chunk_head *h)
{
    unsigned char p[96];
    size_t total = rpc_message_length(m), n = rpc_message_copy(m, 0, p, sizeof(p));
    ecl_rd r;
    ecl_rd_init(&r, p, n);
    uint8_t tag, len;
    uint64_t v = 0;
    if (n < 2 || ecl_rd_u8(&r, &tag) != 0 || tag != 0x1a || ecl_rd_varint(&r, &v) != 0 ||
        v != total - ecl_rd_pos(&r))
        return 0;
    memset(h, 0, sizeof(*h));
    int last = 0; /* fields in ascending order, each at most once */
    while (ecl_rd_u8(&r, &tag) == 0) {
        if (tag == 0x08 && last < 1) {
            if (ecl_rd_varint(&r, &v) != 0 || v > UINT32_MAX)
                return 0;
            h->tensor = (uint32_t)v;
            last = 1;
        } else if (tag == 0x10 && last < 2) {
            if (ecl_rd_varint(&r, &h->offset) != 0)
                return 0;
            last = 2;
        } else if (tag == 0x1a && last < 3) {
            if (ecl_rd_u8(&r, &len) != 0 || len != 32 || ecl_rd_copy(&r, h->digest, 32) != 0)
                return 0;
            h->sent.data = h->digest;
            h->sent.len = 32;
            last = 3;
        } else if (tag == 0x7a) {
            if (ecl_rd_varint(&r, &v) != 0 || v != total - ecl_rd_pos(&r))
                return 0;
            h->data_at = ecl_rd_pos(&r);
            h->data_len = (size_t)v;
            return 1;
        } else {
            return 0;
        }
    }
    return 0;
}

typedef struct into_piece {
    read_hasher *h;
    unsigned char *dst;
} into_piece;

/* Each piece is hashed while it is hot, then copied where it belongs. */
static void hash_and_copy(const unsigned char *p, size_t n, void *arg)
{
    into_piece *x = arg;
    read_hasher_chunk_update(x->h, p, n);
    memcpy(x->dst, p, n);
    x->dst += n;
}

/* Hash on this thread: each piece while it is hot, then copy it. */
static int chunk_into(ecl_stream *r, const rpc_message *m, const chunk_head *h, unsigned char *buf,
                      uint64_t base, ecl_err *err)
{
    ecl_verifier *v = r->v;
    uint64_t at = 0;
    if (chunk_fits(v, h->tensor, h->offset, h->data_len, &at, err) != 0)
        return -1;
    into_piece x = {v->h, buf + (at - base)};
    read_hasher_chunk_begin(v->h, source_offset(v, h->tensor, h->offset));
    rpc_message_each(m, h->data_at, h->data_len, hash_and_copy, &x);
    unsigned char d[32];
    read_hasher_chunk_end(v->h, d);
    if (chunk_settle(v, v->chunks, d, &h->sent, h->tensor, h->offset, h->data_len, err) != 0)
        return -1;
    chunk_take(v, h->data_len);
    return 0;
}

/* The oldest chunk with the hashing thread, once its digest is back (or
 * at once, wait == 1): 1 if it matched, 0 if none was ready, -1 if not. */
static int settle_one(ecl_stream *r, int wait, ecl_err *err)
{
    unsigned char d[32];
    if (!hash_worker_take(r->hw, wait, d))
        return 0;
    const pending_chunk *p = &r->pending[r->first_pending];
    r->first_pending = (r->first_pending + 1) % HASH_WORKER_DEPTH;
    ProtobufCBinaryData sent = {p->digest_len, (uint8_t *)p->digest};
    return chunk_settle(r->v, p->index, d, &sent, p->tensor, p->offset, p->len, err) == 0 ? 1 : -1;
}

static int settle_all(ecl_stream *r, int wait, ecl_err *err)
{
    int n;
    while (r->hw != NULL && (n = settle_one(r, wait, err)) != 0)
        if (n < 0)
            return -1;
    return 0;
}

/* Copy now, hash on the other thread: the chunk settles later, in order. */
static int chunk_into_async(ecl_stream *r, rpc_message *m, const chunk_head *h, unsigned char *buf,
                            uint64_t base, ecl_err *err)
{
    ecl_verifier *v = r->v;
    uint64_t at = 0;
    if (chunk_fits(v, h->tensor, h->offset, h->data_len, &at, err) != 0 ||
        settle_all(r, 0, err) != 0 ||
        (hash_worker_outstanding(r->hw) == HASH_WORKER_DEPTH && settle_one(r, 1, err) < 0)) {
        rpc_message_free(m);
        return -1;
    }
    /* This thread copies while the other hashes the same pieces, which are
     * still in a shared cache; the message goes with them and is freed there. */
    rpc_message_copy(m, h->data_at, buf + (at - base), h->data_len);
    size_t slot = (r->first_pending + hash_worker_outstanding(r->hw)) % HASH_WORKER_DEPTH;
    pending_chunk *p = &r->pending[slot];
    p->index = v->chunks;
    p->tensor = h->tensor;
    p->offset = h->offset;
    p->len = h->data_len;
    p->digest_len = h->sent.len;
    memcpy(p->digest, h->digest, sizeof(p->digest));
    hash_worker_submit(r->hw, m, h->data_at, h->data_len, source_offset(v, h->tensor, h->offset));
    chunk_take(v, h->data_len);
    return 0;
}

/* ECL_HASH_AUTO: a thread of its own when there is a core to run it on. */
static int start_hashing(ecl_stream *r, ecl_err *err)
{
    if (r->hw != NULL || r->hashing == ECL_HASH_INLINE)
        return 0;
    if (r->hashing == ECL_HASH_AUTO && sysconf(_SC_NPROCESSORS_ONLN) < 2)
        return 0;
    ecl_err why;
    if (hash_worker_start(&r->hw, ecl_header_digest_version(ecl_stream_header(r)), &why) == 0)
        return 0;
    if (r->hashing == ECL_HASH_AUTO)
        return 0; /* hash inline: slower, as safe */
    *err = why;
    return -1;
}

static int read_into(ecl_stream *r, unsigned char *buf, uint64_t base, ecl_err *err)
{
    for (;;) {
        if (r->trailer_msg != NULL)
            return r->verified ? 0 : ecl_fail(err, ECL_E_USAGE, "the read already failed");
        drop_current(r);
        rpc_message *m = NULL;
        int n = rpc_stream_next_message(r->st, &m, err);
        if (n == 0)
            return settle_all(r, 1, err) != 0 ? -1 : no_trailer(r, err);
        if (n < 0)
            return -1;
        chunk_head h;
        if (parse_chunk_head(m, &h)) {
            int rc;
            if (r->hw != NULL) {
                rc = chunk_into_async(r, m, &h, buf, base, err);
            } else {
                rc = chunk_into(r, m, &h, buf, base, err);
                rpc_message_free(m);
            }
            if (rc != 0)
                return -1;
            continue;
        }
        /* Anything else is checked here, in order: every chunk before it first. */
        if (settle_all(r, 1, err) != 0) {
            rpc_message_free(m);
            return -1;
        }
        Ecluse__V1__ReadMessage *msg =
            (Ecluse__V1__ReadMessage *)rpc_message_unpack(m, &ecluse__v1__read_message__descriptor);
        rpc_message_free(m);
        if (msg == NULL)
            return ecl_fail(err, ECL_E_INPUT,
                            "the gateway sent a message that is not a valid ecluse.v1.ReadMessage");
        ecl_stream_chunk c;
        n = take_message(r, msg, &c, err);
        if (n != 1)
            return n;
        memcpy(buf + (c.stream_offset - base), c.data, c.len);
    }
}

int ecl_stream_into(ecl_stream *r, void *buf, size_t cap, ecl_err *err)
{
    const Ecluse__V1__ReadHeader *hd = ecl_stream_header(r);
    uint64_t base = hd->resume_offset, need = hd->total_bytes - hd->resume_offset;
    if (need > cap)
        return ecl_fail(err, ECL_E_USAGE, "the read has %llu bytes; the buffer holds %zu",
                        (unsigned long long)need, cap);
    if (start_hashing(r, err) != 0)
        return -1;
    int rc = read_into(r, buf, base, err);
    /* Whatever happened, nothing may still be reading `buf` once we return. */
    unsigned char d[32];
    while (r->hw != NULL && hash_worker_take(r->hw, 1, d))
        ;
    r->first_pending = 0;
    return rc;
}

int ecl_stream_each(ecl_stream *r, ecl_stream_fn fn, void *arg, ecl_err *err)
{
    ecl_stream_chunk c;
    int n;
    while ((n = ecl_stream_next(r, &c, err)) == 1)
        if (fn(&c, arg) != 0)
            return ecl_fail(err, ECL_E_USAGE, "stopped by the callback at byte %llu",
                            (unsigned long long)c.stream_offset);
    return n;
}

uint64_t ecl_stream_position(const ecl_stream *r)
{
    return ecl_verifier_position(r->v);
}

const Ecluse__V1__ReadTrailer *ecl_stream_trailer(const ecl_stream *r)
{
    return r->verified ? r->trailer_msg->trailer : NULL;
}

void ecl_stream_close(ecl_stream *r)
{
    if (r == NULL)
        return;
    rpc_stream_close(r->st);
    if (r->header_msg != NULL)
        ecluse__v1__read_message__free_unpacked(r->header_msg, NULL);
    if (r->current != NULL)
        ecluse__v1__read_message__free_unpacked(r->current, NULL);
    if (r->trailer_msg != NULL)
        ecluse__v1__read_message__free_unpacked(r->trailer_msg, NULL);
    hash_worker_stop(r->hw);
    ecl_verifier_free(r->v);
    free(r);
}
