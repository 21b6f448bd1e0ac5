/*
 * hash_worker.h - a thread of its own that computes Data.Read chunk digests
 * (common/read_digest.h), so the thread receiving a stream only copies.
 *
 * Hashing beside the receive instead of after it takes SHA-256 off the
 * receiving thread's path, which is what limits one stream. The caller
 * hands over each received message (gRPC's pieces, by reference) with the
 * span of its chunk data, copies the same pieces where they belong while
 * they are still in a shared cache, and takes the digests back in
 * submission order. At most HASH_WORKER_DEPTH chunks are outstanding: the
 * caller takes one before it submits more, so memory stays bounded.
 *
 * One submitting thread per worker.
 */
#ifndef ECLUSE_CLIENT_HASH_WORKER_H
#define ECLUSE_CLIENT_HASH_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/read_digest.h"
#include "rpc/client.h"

#define HASH_WORKER_DEPTH 8

typedef struct hash_worker hash_worker;

/* Start the thread, computing digests of read digest version `version`.
 * Errors: ECL_E_USAGE (version), ECL_E_INTERNAL (out of memory, no thread). */
int hash_worker_start(hash_worker **out, uint32_t version, ecl_err *err) ECL_WUR;

/* Queue the Chunk.digest of bytes [at, at + len) of `m`, which sit at
 * source offset `source_offset` of their tensor. The worker owns `m` from
 * now on and frees it once hashed. Only with fewer than HASH_WORKER_DEPTH
 * outstanding (a full queue is a bug: abort). */
void hash_worker_submit(hash_worker *w, rpc_message *m, size_t at, size_t len,
                        uint64_t source_offset);

/* Chunks submitted and not yet taken. */
size_t hash_worker_outstanding(const hash_worker *w);

/* The digest of the oldest outstanding chunk: 1 with `digest` set, or 0
 * when nothing is outstanding, or (wait == 0) the oldest is not done yet. */
int hash_worker_take(hash_worker *w, int wait, unsigned char digest[READ_DIGEST_BYTES]);

/* Stop the thread (after the chunk it is hashing, if any) and free. Chunks
 * not taken are dropped. NULL is ignored. */
void hash_worker_stop(hash_worker *w);

#endif
