/*
 * erasure.h - erasure notices (Art. 17(2), Art. 19) and their acks, signed
 * and opened; and the LMDB store where a site keeps the notices it sent
 * (outbox) and received (inbox). The encoding is docs/erasure-notices.md.
 *
 * A notice is an ErasureNoticeBody signed by the holding site's key under
 * "ecluse-erasure-notice-v1" || 0x00 || body; an ack is an ErasureAckBody
 * signed by the home site's key under "ecluse-erasure-ack-v1" || 0x00 ||
 * body. Opening checks the signature first, then decodes.
 *
 * The store is its own LMDB environment (<data_dir>/notices), written only
 * by the gateway; each call is one transaction, safe from any thread.
 * Records are ErasureNoticeRecord encodings keyed by notice id.
 */
#ifndef ECLUSE_FEDERATION_ERASURE_H
#define ECLUSE_FEDERATION_ERASURE_H

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "proto/ecluse.pb-c.h"

/* A notice id: 16 random bytes in hex, and its terminator. */
#define ERASURE_ID_LEN 33

/* The id of the notice of erasure `erasure_seq` (its audit entry) at site
 * `holder` for home site `home`: hex of the first 16 bytes of
 * BLAKE2b-256("ecluse-erasure-notice-id" || 0x00 || holder || 0x00 ||
 * u64be(erasure_seq) || home). The same erasure always gives the same ids,
 * so making its notices again (after a crash) adds none twice. */
void erasure_notice_id(const char *holder, uint64_t erasure_seq, const char *home,
                       char out[ERASURE_ID_LEN]);

/* Open `n` with any of `keys` (a site's key history, oldest first):
 * ECL_E_CRYPTO if no key signed it, ECL_E_INPUT if the body does not decode
 * or names another signing key than the one that signed it. *out is the
 * caller's (ecluse__v1__erasure_notice_body__free_unpacked). */
int erasure_notice_open(const Ecluse__V1__SignedErasureNotice *n,
                        const unsigned char (*keys)[crypto_sign_PUBLICKEYBYTES], size_t n_keys,
                        Ecluse__V1__ErasureNoticeBody **out, ecl_err *err) ECL_WUR;

/* The same for an ack. */
int erasure_ack_open(const Ecluse__V1__SignedErasureAck *a,
                     const unsigned char (*keys)[crypto_sign_PUBLICKEYBYTES], size_t n_keys,
                     Ecluse__V1__ErasureAckBody **out, ecl_err *err) ECL_WUR;

/* --- the store --- */

typedef struct notice_store notice_store;

typedef enum notice_box {
    NOTICE_OUTBOX = 0, /* notices this site sent, as the holding site */
    NOTICE_INBOX = 1,  /* notices this site received, as the home site */
} notice_box;

int notice_store_open(const char *dir, notice_store **out, ecl_err *err) ECL_WUR;
void notice_store_close(notice_store *ns);

/* Keep `rec` under `id`; ECL_E_EXISTS if a record of that id is kept
 * already (nothing is changed: a replay). */
int notice_store_add(notice_store *ns, notice_box box, const char *id,
                     const Ecluse__V1__ErasureNoticeRecord *rec, ecl_err *err) ECL_WUR;

/* Change the record of `id` in one transaction: `change` gets it decoded
 * and returns 0 to store it as it left it, or -1 (with err) to change
 * nothing. It may point the record's own fields at memory of its own
 * (borrowed until it returns: nothing of it is kept or freed), but must not
 * change what the record's fields point to. ECL_E_NOT_FOUND if there is
 * none. */
typedef int (*notice_change_fn)(Ecluse__V1__ErasureNoticeRecord *rec, void *ctx, ecl_err *err);
int notice_store_update(notice_store *ns, notice_box box, const char *id, notice_change_fn change,
                        void *ctx, ecl_err *err) ECL_WUR;

/* Erasure `seq` (its audit entry) has all its notices in the outbox:
 * mark it, and ask whether it is marked (1) or not (0). */
int notice_store_mark_erasure(notice_store *ns, uint64_t seq, ecl_err *err) ECL_WUR;
int notice_store_erasure_done(notice_store *ns, uint64_t seq, int *done, ecl_err *err) ECL_WUR;

/* Every record of `box`, in id order; free with notice_store_free_list. */
int notice_store_list(notice_store *ns, notice_box box, Ecluse__V1__ErasureNoticeRecord ***out,
                      size_t *count, ecl_err *err) ECL_WUR;
void notice_store_free_list(Ecluse__V1__ErasureNoticeRecord **list, size_t count);

#endif
