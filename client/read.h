/*
 * read.h - reading a dataset through your home gateway (Data.Read), with
 * every byte checked.
 *
 * A read streams what a grant allows: one ReadHeader (the selected tensors
 * with dtypes, shapes and byte sizes, the total, the resume offset), then
 * chunks, then a ReadTrailer. The library checks, as they arrive:
 *   - each chunk's digest against its data (ECL_E_CRYPTO),
 *   - that chunks come in stream order with no gap or overlap, inside their
 *     tensor, starting at the resume offset (ECL_E_INPUT),
 *   - at the end, the byte and chunk counts and the trailer's digest of the
 *     whole selection from offset 0 (ECL_E_CRYPTO if it differs).
 * The digests are defined in common/read_digest.h, in the version the
 * header names (ReadHeader.digest_version: 3, BLAKE3; 2 or 0, SHA-256): a
 * chunk's is the hash over the hash of each piece its bytes make on a fixed
 * 64 KiB grid of their tensor as stored (mapped back through the header's
 * row ranges); the trailer's is the hash over the version's domain string
 * (ECL_STREAM_DIGEST_DOMAIN for version 2; with its 0x00 byte)
 * and the 32-byte Chunk.digest of every chunk of the selection, in stream
 * order, as a read from offset 0 with the same chunk_bytes cuts them
 * (proto/ecluse.proto, docs/streaming.md). So the verifier hashes each byte
 * once, plus 32 bytes per piece and per chunk.
 *
 * Resuming. A read resumed at offset X needs the digests of the chunks
 * before X to check the trailer: keep each verified chunk's `digest` and
 * `len` (ecl_stream_chunk) and give them back, in order, with
 * ecl_stream_prefix_chunk(); or, holding the bytes and the chunk lengths,
 * ecl_stream_prefix_data() once per earlier chunk (it recomputes the digest,
 * which also re-checks bytes kept on disk). Otherwise the end of the read
 * fails with ECL_E_PRECONDITION saying the digest could not be checked.
 * X must be a chunk boundary of the offset-0 read with the same chunk_bytes
 * (the gateway refuses any other offset with INVALID_ARGUMENT naming the
 * two nearest boundaries); ecl_stream_position() always is one.
 *
 *   Ecluse__V1__Grant *g;  client_grant_load("lu-breast.grant", &g, &err);
 *   ecl_stream_opts o = ECL_STREAM_OPTS_INIT;  o.rows = ECL_ROWS_SHARD; o.shard_index = rank; ...
 *   ecl_stream *r;  ecl_stream_open(client, g, &o, &r, &err);
 *   const Ecluse__V1__ReadHeader *h = ecl_stream_header(r);
 *   ecl_stream_chunk c;
 *   while ((n = ecl_stream_next(r, &c, &err)) == 1) use(c.tensor, c.offset, c.data, c.len);
 *   // n == 0: everything arrived and verified; n == -1: err says what failed
 *   ecl_stream_close(r);  ecluse__v1__grant__free_unpacked(g, NULL);
 *
 * The checks run in an ecl_verifier, usable on its own for messages that
 * arrive by other means (a relay, a file of a recorded stream).
 */
#ifndef ECLUSE_CLIENT_READ_H
#define ECLUSE_CLIENT_READ_H

#include <stddef.h>
#include <stdint.h>

#include "client/client.h"
#include "common/err.h"
#include "proto/ecluse.pb-c.h"

/* The domain string that starts the trailer digest's input (then 0x00). */
#define ECL_STREAM_DIGEST_DOMAIN "ecluse-read-digest-v2"

/* ---- grant files --------------------------------------------------------
 * `ecluse access request ... --save-grant FILE` writes a grant as text: the
 * line "ecluse-grant-v1", then the Grant protobuf encoding in standard
 * base64 (RFC 4648, with padding), on one line or wrapped; whitespace in the
 * base64 is ignored. */
#define CLIENT_GRANT_MAGIC    "ecluse-grant-v1"
#define CLIENT_GRANT_FILE_MAX (1u << 20)

/* Read a grant file into *out (protobuf-c's: free with
 * ecluse__v1__grant__free_unpacked). Errors: ECL_E_NOT_FOUND / ECL_E_IO
 * (file), ECL_E_LIMIT (larger than CLIENT_GRANT_FILE_MAX), ECL_E_INPUT
 * naming the problem: first line not the magic, base64 that does not decode
 * (with its line), a Grant that does not decode or has no body/signature. */
int client_grant_load(const char *path, Ecluse__V1__Grant **out, ecl_err *err) ECL_WUR;

/* Parse the same format from memory; `what` names it in messages. */
int client_grant_parse(const char *text, size_t len, const char *what, Ecluse__V1__Grant **out,
                       ecl_err *err) ECL_WUR;

/* The grant is whole: its body decodes and its signature verifies under
 * the key the body names (GrantBody.signing_key). Who that key belongs to
 * is for the holding site to judge (a grant signed by another site is
 * refused there, PERMISSION_DENIED); this finds a grant changed or damaged
 * since it was issued before it is sent. Errors: ECL_E_INPUT (the body does
 * not decode, or names no key), ECL_E_CRYPTO ("signature does not verify"). */
int client_grant_check(const Ecluse__V1__Grant *g, ecl_err *err) ECL_WUR;

/* Write `g` in that format to `path` (mode 0600, replacing it).
 * Errors: ECL_E_IO, ECL_E_INTERNAL. */
int client_grant_save(const char *path, const Ecluse__V1__Grant *g, ecl_err *err) ECL_WUR;

/* ---- checking a stream ------------------------------------------------- */

/* A verified chunk: `data` and `digest` point into the message it came in
 * (valid until the next call on the read or verifier that produced it);
 * copy `digest` and `len` to be able to resume after this chunk. */
typedef struct ecl_stream_chunk {
    uint32_t tensor;        /* index into the header's tensors */
    uint64_t offset;        /* within that tensor's selected bytes */
    uint64_t stream_offset; /* within the whole stream (from 0) */
    const unsigned char *data;
    size_t len;
    const unsigned char *digest; /* 32 bytes: the chunk digest of data, checked */
} ecl_stream_chunk;

typedef struct ecl_verifier ecl_verifier;

/* A verifier for the stream that `h` starts (copied: `h` may be freed), in
 * the digest version `h` names. Errors: ECL_E_INPUT (tensor sizes do not
 * add up to total_bytes, resume offset beyond it, a tensor with no name, a
 * digest version this client does not know), ECL_E_INTERNAL. */
int ecl_verifier_new(const Ecluse__V1__ReadHeader *h, ecl_verifier **out, ecl_err *err) ECL_WUR;
void ecl_verifier_free(ecl_verifier *v);

/* The digest version of a header: ReadHeader.digest_version, 0 (a gateway
 * from before version 3) being 2. */
uint32_t ecl_header_digest_version(const Ecluse__V1__ReadHeader *h);

/* The next chunk of the skipped prefix [0, resume_offset), in stream order:
 * its 32-byte `digest` and its length `len`, as an earlier read of the same
 * selection and chunk_bytes verified them. The digest is taken on trust
 * here; a wrong or missing one makes the trailer check fail (ECL_E_CRYPTO).
 * Errors: ECL_E_USAGE (len 0, more than the prefix, or after the first
 * chunk of this read; the message says how far the prefix got). */
int ecl_verifier_prefix_chunk(ecl_verifier *v, const unsigned char digest[32], uint64_t len,
                              ecl_err *err) ECL_WUR;

/* The same from the chunk's bytes: its digest is computed from `data`.
 * Errors: those of ecl_verifier_prefix_chunk. */
int ecl_verifier_prefix_data(ecl_verifier *v, const void *data, size_t len, ecl_err *err) ECL_WUR;

/* The digest the next chunk of the prefix has if its bytes are `data`
 * (nothing is added: compare it with one kept, then give it to
 * ecl_verifier_prefix_chunk). Errors: ECL_E_USAGE (len 0 or beyond the prefix). */
int ecl_verifier_prefix_digest(ecl_verifier *v, const void *data, size_t len,
                               unsigned char digest[32], ecl_err *err) ECL_WUR;

/* Check one chunk (see the top of this file) and describe it in *out.
 * Errors: ECL_E_CRYPTO (digest; message names the chunk, tensor and offset),
 * ECL_E_INPUT (out of order, outside its tensor, after the end). */
int ecl_verifier_chunk(ecl_verifier *v, const Ecluse__V1__Chunk *c, ecl_stream_chunk *out,
                       ecl_err *err) ECL_WUR;

/* Check the trailer: every byte arrived, counts match, and its digest is
 * the one of the prefix's and this read's chunk digests (top of this file).
 * Errors: ECL_E_INPUT (bytes missing, counts), ECL_E_CRYPTO (digest),
 * ECL_E_PRECONDITION (resumed read whose prefix chunks do not reach the
 * resume offset: the whole digest cannot be checked). */
int ecl_verifier_trailer(ecl_verifier *v, const Ecluse__V1__ReadTrailer *t, ecl_err *err) ECL_WUR;

/* Bytes of the stream verified so far, counted from 0 (the next position). */
uint64_t ecl_verifier_position(const ecl_verifier *v);

/* ---- reading ----------------------------------------------------------- */

typedef enum { ECL_ROWS_ALL = 0, ECL_ROWS_RANGE, ECL_ROWS_SHARD } ecl_rows_kind;

/* Where ecl_stream_into hashes what it receives. On a thread of its own the
 * receiving thread only copies while the other hashes the same pieces
 * (12% faster for one stream on 2 cores shared with the gateway, more with
 * cores to spare: bench/stream). Every digest is checked either way,
 * before ecl_stream_into returns; a chunk that fails is reported with its
 * index, and ecl_stream_position() stays at the last chunk that matched.
 * ecl_stream_next hashes on the calling thread: it hands out only chunks
 * already checked. */
typedef enum {
    ECL_HASH_AUTO = 0, /* a thread of its own when the machine has 2+ CPUs */
    ECL_HASH_INLINE,   /* on the reading thread */
    ECL_HASH_THREAD    /* a thread of its own */
} ecl_hashing;

typedef struct ecl_stream_opts {
    const char *const *tensors; /* n_tensors 0 = every tensor of the grant */
    size_t n_tensors;
    ecl_rows_kind rows;
    uint64_t row_begin, row_end; /* ECL_ROWS_RANGE; row_end 0 = to the last row */
    uint32_t shard_index, shard_count;
    uint32_t chunk_bytes;   /* 0 = the gateway's default (4 MiB) */
    uint64_t resume_offset; /* start at this byte of the stream */
    ecl_hashing hashing;    /* where ecl_stream_into computes digests */
    /* The read digest version (common/read_digest.h). 0: ask for the
     * newest (3, BLAKE3) and accept 2 from a gateway from before version 3.
     * 2 or 3: that version exactly (a resumed read whose earlier chunks
     * were checked in it); a gateway answering another is ECL_E_PRECONDITION. */
    uint32_t digest_version;
} ecl_stream_opts;

#define ECL_STREAM_OPTS_INIT                                                                       \
    {                                                                                              \
        NULL, 0, ECL_ROWS_ALL, 0, 0, 0, 0, 0, 0, ECL_HASH_AUTO, 0                                  \
    }

typedef struct ecl_stream ecl_stream;

/* Start a read on `c`'s gateway and wait for its header. The stream has no
 * deadline. `grant` and `o` are copied into the request; they may be freed
 * after return. The grant is checked first (client_grant_check): one whose
 * signature does not verify is ECL_E_CRYPTO and nothing is sent. Errors:
 * the gateway's refusal (ECL_E_DENIED for a read beyond the grant, by
 * another requester, or a grant signed by another site;
 * ECL_E_PRECONDITION for an expired grant or a dataset changed since the
 * grant; ECL_E_UNAVAILABLE when the gateway, the holding site or the audit
 * trail cannot be reached), ECL_E_INPUT if the first message is not a
 * valid header. */
int ecl_stream_open(ecl_client *c, const Ecluse__V1__Grant *grant, const ecl_stream_opts *o,
                    ecl_stream **out, ecl_err *err) ECL_WUR;

/* The header (owned by the read). */
const Ecluse__V1__ReadHeader *ecl_stream_header(const ecl_stream *r);

/* See ecl_verifier_prefix_chunk and ecl_verifier_prefix_data. */
int ecl_stream_prefix_chunk(ecl_stream *r, const unsigned char digest[32], uint64_t len,
                            ecl_err *err) ECL_WUR;
int ecl_stream_prefix_data(ecl_stream *r, const void *data, size_t len, ecl_err *err) ECL_WUR;
int ecl_stream_prefix_digest(ecl_stream *r, const void *data, size_t len, unsigned char digest[32],
                             ecl_err *err) ECL_WUR;

/* The next verified chunk: 1 with *out set (valid until the next call),
 * 0 when the trailer arrived and verified, -1 on error: the stream's status
 * (e.g. ECL_E_UNAVAILABLE naming the site that went away; resume from
 * ecl_stream_position()) or a failed check. */
int ecl_stream_next(ecl_stream *r, ecl_stream_chunk *out, ecl_err *err) ECL_WUR;

/* Read everything that is left into `buf`: byte i of buf is byte
 * resume_offset + i of the stream. Errors: ECL_E_USAGE if `cap` is smaller
 * than total_bytes - resume_offset; those of ecl_stream_next. */
int ecl_stream_into(ecl_stream *r, void *buf, size_t cap, ecl_err *err) ECL_WUR;

/* Hand each verified chunk to `fn`; it returns 0 to go on, else the read
 * stops with ECL_E_USAGE "stopped by the callback". */
typedef int (*ecl_stream_fn)(const ecl_stream_chunk *c, void *arg);
int ecl_stream_each(ecl_stream *r, ecl_stream_fn fn, void *arg, ecl_err *err) ECL_WUR;

/* Stream bytes verified so far, from 0: where a broken read resumes (the
 * end of the last verified chunk, so a chunk boundary). */
uint64_t ecl_stream_position(const ecl_stream *r);

/* The trailer once ecl_stream_next returned 0, else NULL. */
const Ecluse__V1__ReadTrailer *ecl_stream_trailer(const ecl_stream *r);

/* Cancel if unfinished, and free. NULL is ignored. */
void ecl_stream_close(ecl_stream *r);

#endif
