/* read.c - Data.Read from the client side: grant files, the stream's checks,
 * and the read itself (see read.h). */
#include "client/read.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"

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
    uint64_t *size;  /* each tensor's selected bytes */
    uint64_t *start; /* where it starts in the stream */
    char **names;
    uint64_t total, resume, pos, prefix, chunks;
    int done;
    crypto_generichash_state whole; /* the trailer digest: domain, then chunk digests */
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
    free(v);
}

int ecl_verifier_new(const Ecluse__V1__ReadHeader *h, ecl_verifier **out, ecl_err *err)
{
    ecl_verifier *v = calloc(1, sizeof(*v));
    size_t n = h->n_tensors;
    if (v != NULL) {
        v->n = n;
        v->size = calloc(n ? n : 1, sizeof(uint64_t));
        v->start = calloc(n ? n : 1, sizeof(uint64_t));
        v->names = calloc(n ? n : 1, sizeof(char *));
    }
    if (v == NULL || v->size == NULL || v->start == NULL || v->names == NULL) {
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
        v->names[i] = strdup(t->name);
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
    v->total = sum;
    v->resume = v->pos = h->resume_offset;
    crypto_generichash_init(&v->whole, NULL, 0, 32);
    crypto_generichash_update(&v->whole, (const unsigned char *)ECL_READ_DIGEST_DOMAIN,
                              sizeof(ECL_READ_DIGEST_DOMAIN)); /* with its 0x00 */
    *out = v;
    return 0;
}

int ecl_verifier_prefix_chunk(ecl_verifier *v, const unsigned char digest[32], uint64_t len,
                              ecl_err *err)
{
    if (v->pos != v->resume || v->chunks > 0 || v->done)
        return ecl_fail(err, ECL_E_USAGE,
                        "prefix: a chunk of the prefix after the first chunk "
                        "of the read");
    if (len == 0 || len > v->resume - v->prefix)
        return ecl_fail(
            err, ECL_E_USAGE, "prefix: a chunk of %llu bytes at byte %llu of a %llu-byte prefix",
            (unsigned long long)len, (unsigned long long)v->prefix, (unsigned long long)v->resume);
    crypto_generichash_update(&v->whole, digest, 32);
    v->prefix += len;
    return 0;
}

int ecl_verifier_prefix_data(ecl_verifier *v, const void *data, size_t len, ecl_err *err)
{
    unsigned char d[32];
    crypto_generichash(d, sizeof(d), data, len, NULL, 0);
    return ecl_verifier_prefix_chunk(v, d, len, err);
}

int ecl_verifier_chunk(ecl_verifier *v, const Ecluse__V1__Chunk *c, ecl_read_chunk *out,
                       ecl_err *err)
{
    if (v->done)
        return ecl_fail(err, ECL_E_INPUT, "a chunk after the trailer");
    if (c->tensor >= v->n)
        return ecl_fail(err, ECL_E_INPUT, "chunk %llu: tensor index %u, but the header has %zu",
                        (unsigned long long)v->chunks, c->tensor, v->n);
    const char *name = v->names[c->tensor];
    size_t len = c->data.len;
    if (len == 0 || c->offset > v->size[c->tensor] || len > v->size[c->tensor] - c->offset)
        return ecl_fail(err, ECL_E_INPUT,
                        "chunk %llu: %zu bytes at offset %llu are outside tensor '%s' (%llu bytes)",
                        (unsigned long long)v->chunks, len, (unsigned long long)c->offset, name,
                        (unsigned long long)v->size[c->tensor]);
    uint64_t at = v->start[c->tensor] + c->offset;
    if (at != v->pos)
        return ecl_fail(err, ECL_E_INPUT,
                        "chunk %llu: tensor '%s' offset %llu is stream byte %llu, expected %llu",
                        (unsigned long long)v->chunks, name, (unsigned long long)c->offset,
                        (unsigned long long)at, (unsigned long long)v->pos);
    unsigned char d[32];
    crypto_generichash(d, sizeof(d), c->data.data, len, NULL, 0);
    if (c->digest.len != sizeof(d) || sodium_memcmp(d, c->digest.data, sizeof(d)) != 0)
        return ecl_fail(err, ECL_E_CRYPTO,
                        "chunk %llu (tensor '%s', offset %llu, %zu bytes): the data does not "
                        "match its digest",
                        (unsigned long long)v->chunks, name, (unsigned long long)c->offset, len);
    crypto_generichash_update(&v->whole, d, sizeof(d));
    v->pos += len;
    v->chunks++;
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
    crypto_generichash_final(&v->whole, d, sizeof(d));
    if (t->digest.len != sizeof(d) || sodium_memcmp(d, t->digest.data, sizeof(d)) != 0)
        return ecl_fail(err, ECL_E_CRYPTO,
                        "the trailer's digest of all %llu bytes (over its chunks' digests) does "
                        "not match the chunks read",
                        (unsigned long long)v->total);
    return 0;
}

uint64_t ecl_verifier_position(const ecl_verifier *v)
{
    return v->pos;
}

/* ---- the read ------------------------------------------------------------------ */

struct ecl_read {
    rpc_stream *st;
    Ecluse__V1__ReadMessage *header_msg;
    Ecluse__V1__ReadMessage *current; /* the message the last chunk points into */
    Ecluse__V1__ReadMessage *trailer_msg;
    ecl_verifier *v;
    int verified; /* the trailer checked out */
};

static int next_message(ecl_read *r, Ecluse__V1__ReadMessage **m, ecl_err *err)
{
    ProtobufCMessage *msg = NULL;
    int n = rpc_stream_next(r->st, &ecluse__v1__read_message__descriptor, &msg, err);
    *m = (Ecluse__V1__ReadMessage *)msg;
    return n;
}

int ecl_read_open(ecl_client *c, const Ecluse__V1__Grant *grant, const ecl_read_opts *o,
                  ecl_read **out, ecl_err *err)
{
    Ecluse__V1__ReadRequest req = ECLUSE__V1__READ_REQUEST__INIT;
    Ecluse__V1__RowSelection rows = ECLUSE__V1__ROW_SELECTION__INIT;
    Ecluse__V1__RowRange range = ECLUSE__V1__ROW_RANGE__INIT;
    Ecluse__V1__Shard shard = ECLUSE__V1__SHARD__INIT;
    req.grant = (Ecluse__V1__Grant *)grant;
    req.n_tensors = o->n_tensors;
    req.tensors = (char **)o->tensors;
    req.chunk_bytes = o->chunk_bytes;
    req.resume_offset = o->resume_offset;
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
    ecl_read *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
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
    if (n != 1 || ecl_verifier_new(r->header_msg->header, &r->v, err) != 0) {
        ecl_read_close(r);
        return -1;
    }
    *out = r;
    return 0;
}

const Ecluse__V1__ReadHeader *ecl_read_header(const ecl_read *r)
{
    return r->header_msg->header;
}

int ecl_read_prefix_chunk(ecl_read *r, const unsigned char digest[32], uint64_t len, ecl_err *err)
{
    return ecl_verifier_prefix_chunk(r->v, digest, len, err);
}

int ecl_read_prefix_data(ecl_read *r, const void *data, size_t len, ecl_err *err)
{
    return ecl_verifier_prefix_data(r->v, data, len, err);
}

int ecl_read_next(ecl_read *r, ecl_read_chunk *out, ecl_err *err)
{
    if (r->trailer_msg != NULL)
        return r->verified ? 0 : ecl_fail(err, ECL_E_USAGE, "the read already failed");
    if (r->current != NULL) {
        ecluse__v1__read_message__free_unpacked(r->current, NULL);
        r->current = NULL;
    }
    Ecluse__V1__ReadMessage *m = NULL;
    int n = next_message(r, &m, err);
    if (n == 0)
        return ecl_fail(err, ECL_E_INPUT, "the stream ended without a trailer at byte %llu",
                        (unsigned long long)ecl_verifier_position(r->v));
    if (n < 0)
        return -1;
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
        n = next_message(r, &m, err);
        if (n == 1) {
            ecluse__v1__read_message__free_unpacked(m, NULL);
            return ecl_fail(err, ECL_E_INPUT, "a message after the trailer");
        }
        return n;
    }
    ecluse__v1__read_message__free_unpacked(m, NULL);
    return ecl_fail(err, ECL_E_INPUT, "a second header in the stream");
}

typedef struct into_ctx {
    unsigned char *buf;
    uint64_t base;
} into_ctx;

static int copy_into(const ecl_read_chunk *c, void *arg)
{
    into_ctx *x = arg;
    memcpy(x->buf + (c->stream_offset - x->base), c->data, c->len);
    return 0;
}

int ecl_read_into(ecl_read *r, void *buf, size_t cap, ecl_err *err)
{
    const Ecluse__V1__ReadHeader *h = ecl_read_header(r);
    uint64_t need = h->total_bytes - h->resume_offset;
    if (need > cap)
        return ecl_fail(err, ECL_E_USAGE, "the read has %llu bytes; the buffer holds %zu",
                        (unsigned long long)need, cap);
    into_ctx x = {buf, h->resume_offset};
    return ecl_read_each(r, copy_into, &x, err);
}

int ecl_read_each(ecl_read *r, ecl_read_fn fn, void *arg, ecl_err *err)
{
    ecl_read_chunk c;
    int n;
    while ((n = ecl_read_next(r, &c, err)) == 1)
        if (fn(&c, arg) != 0)
            return ecl_fail(err, ECL_E_USAGE, "stopped by the callback at byte %llu",
                            (unsigned long long)c.stream_offset);
    return n;
}

uint64_t ecl_read_position(const ecl_read *r)
{
    return ecl_verifier_position(r->v);
}

const Ecluse__V1__ReadTrailer *ecl_read_trailer(const ecl_read *r)
{
    return r->verified ? r->trailer_msg->trailer : NULL;
}

void ecl_read_close(ecl_read *r)
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
    ecl_verifier_free(r->v);
    free(r);
}
