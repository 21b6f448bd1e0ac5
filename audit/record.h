/*
 * record.h - the byte encoding of one audit entry (docs/audit-format.md).
 *
 *   version u8 (=1) | seq u64be | time_ns i64be | prev_hash[32]
 *   | 10 x (len u16be, bytes) | detail (len u32be, bytes) | hash[32]
 *
 * hash = BLAKE2b-256("ecluse-audit-v1" 0x00 || every byte before the hash).
 * Internal to audit/.
 */
#ifndef ECLUSE_AUDIT_RECORD_H
#define ECLUSE_AUDIT_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"
#include "common/bytes.h"

#define REC_VERSION    1u
#define REC_HEADER     (1u + 8u + 8u + AUDIT_HASH_BYTES) /* 49 */
#define REC_NFIELDS    11u                               /* 10 short + detail */
#define REC_NSHORT     10u
#define REC_DOMAIN     "ecluse-audit-v1"
#define REC_DOMAIN_LEN 16u /* with its 0x00 */
#define REC_MIN_SIZE   (REC_HEADER + REC_NSHORT * 2u + 4u + AUDIT_HASH_BYTES)

/* Field order on disk; also the order of the short indexed fields. */
enum {
    F_KIND = 0,
    F_ACTOR,
    F_DATASET,
    F_PURPOSE,
    F_DECISION,
    F_LAWFUL,
    F_TRANSFER,
    F_COUNTRY,
    F_GRANT,
    F_READ,
    F_DETAIL,
};

/* The fields of a record, as pointers into its bytes (not NUL-terminated). */
typedef struct rec_view {
    uint64_t seq;
    int64_t time_ns;
    const uint8_t *prev_hash;
    const uint8_t *hash;
    const uint8_t *field[REC_NFIELDS];
    size_t len[REC_NFIELDS];
} rec_view;

/* The seq-independent middle part of a record (the fields), built by the
 * appending thread so the writer only adds header and hash. */
typedef struct rec_tail {
    uint8_t *bytes; /* malloc'd */
    size_t len;
    size_t off[REC_NFIELDS]; /* where each field's bytes start in `bytes` */
    size_t flen[REC_NFIELDS];
} rec_tail;

/* Validate `e` against the kind rules of audit.h and encode its fields.
 * ECL_E_USAGE naming the field on a bad entry. */
int rec_tail_build(const audit_entry *e, rec_tail *out, ecl_err *err) ECL_WUR;
void rec_tail_free(rec_tail *t);

/* Write header + tail + hash into `out` (REC_HEADER + t->len + 32 bytes). */
void rec_write(uint8_t *out, uint64_t seq, int64_t time_ns, const uint8_t prev[AUDIT_HASH_BYTES],
               const rec_tail *t);

/* The hash a record of `len` bytes should carry (over all but its last 32). */
void rec_hash(const uint8_t *rec, size_t len, uint8_t out[AUDIT_HASH_BYTES]);

/* The time_ns of a stored record of `len` bytes; 0 if it is too short to
 * hold a header. */
int64_t rec_time_ns(const uint8_t *rec, size_t len);

/* Split a stored record into its fields; checks the structure only (not the
 * hash). ECL_E_INPUT naming the byte offset and the problem. */
int rec_parse(const uint8_t *rec, size_t len, rec_view *v, ecl_err *err) ECL_WUR;

#endif
