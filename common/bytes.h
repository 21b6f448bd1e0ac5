/*
 * bytes.h - the one way ecluse reads bytes that come from outside: a bounded
 * reader that checks every read, and the matching writers of integers.
 *
 * Every parser of bytes it did not make itself (a peer's message, a stored
 * record, a file header, an LMDB value) reads them through an ecl_rd; no
 * other file builds integers out of bytes by hand.
 *
 *   ecl_rd r;
 *   ecl_rd_init(&r, data, len);
 *   uint8_t version;
 *   uint64_t count;
 *   const unsigned char *site;
 *   if (ecl_rd_u8(&r, &version) != 0 || ecl_rd_u64be(&r, &count) != 0 ||
 *       ecl_rd_take(&r, 16, &site) != 0)
 *       return ecl_fail(err, ECL_E_INPUT, "truncated at offset %zu", ecl_rd_pos(&r));
 *
 * Reads: each read takes its bytes from the front and returns 0, or returns
 * -1 when fewer bytes are left than it needs. A read that fails consumes
 * nothing, sets its output to 0 (NULL for take), and puts the reader in a
 * failed state that stays: every later read fails too, and ecl_rd_left() is
 * 0. So a parser may check each read, or combine several and check once,
 * `if ((ecl_rd_u8(&r, &a) | ecl_rd_u32le(&r, &b)) != 0)`, or check
 * ecl_rd_failed() at the end; it never reads past the end either way. The
 * results cannot be ignored (warn_unused_result; GCC does not accept a cast
 * to void there, so combine them as above).
 *
 * Integers are unsigned; a signed field is read unsigned and converted by the
 * caller (`(int64_t)u`, two's complement). Varints are those of protobuf:
 * unsigned LEB128, 7 bits a byte, least significant group first, at most 10
 * bytes. A varint that does not end within 10 bytes, or whose 10th byte
 * holds more than the 64th bit (a value over UINT64_MAX), fails. A
 * non-minimal encoding (0x80 0x00 for 0) is accepted, as protobuf does.
 *
 * Ownership: the reader borrows the bytes; they must stay valid and
 * unchanged while it is used, and pointers from ecl_rd_take() point into
 * them. Nothing is allocated; a reader needs no cleanup.
 * Threads: a reader is owned by one thread at a time. The bytes may be shared
 * by many readers.
 * The members of ecl_rd are private: read them through the functions.
 *
 * Writers (ecl_put_*) store integers into a buffer the caller sized; they
 * are for the bytes ecluse makes itself (keys, records, headers), and check
 * nothing.
 */
#ifndef ECLUSE_COMMON_BYTES_H
#define ECLUSE_COMMON_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/err.h"

#define ECL_VARINT_MAX 10 /* bytes of the longest varint */

typedef struct ecl_rd {
    const unsigned char *start, *p, *end;
    int failed;
} ecl_rd;

/* A reader over `len` bytes at `data` (which may be NULL when len is 0). */
static inline void ecl_rd_init(ecl_rd *r, const void *data, size_t len)
{
    r->start = r->p = data;
    r->end = len > 0 ? r->p + len : r->p; /* no arithmetic on NULL */
    r->failed = 0;
}

/* 1 once a read has failed, else 0. */
static inline int ecl_rd_failed(const ecl_rd *r)
{
    return r->failed;
}

/* Bytes not yet read; 0 once a read has failed. */
static inline size_t ecl_rd_left(const ecl_rd *r)
{
    return r->failed ? 0 : (size_t)(r->end - r->p);
}

/* Bytes read so far: the offset of the next byte. After a failure, the
 * offset where the failed read began (for error messages). */
static inline size_t ecl_rd_pos(const ecl_rd *r)
{
    return (size_t)(r->p - r->start);
}

/* Mark the reader failed, as a read past the end would; returns -1. For a
 * parser that finds bytes it cannot accept and wants later reads to stop. */
static inline int ecl_rd_fail(ecl_rd *r)
{
    r->failed = 1;
    return -1;
}

/* The next `n` bytes: *out points at them, in the borrowed data. n may be 0
 * (*out is then where the reader stands). `n` is 64 bits wide so that a
 * length read from the input is passed as it is, never cut short. */
ECL_WUR static inline int ecl_rd_take(ecl_rd *r, uint64_t n, const unsigned char **out)
{
    if (r->failed || n > (uint64_t)(r->end - r->p)) {
        *out = NULL;
        return ecl_rd_fail(r);
    }
    *out = r->p;
    if (n > 0)
        r->p += n;
    return 0;
}

/* Step over `n` bytes. */
ECL_WUR static inline int ecl_rd_skip(ecl_rd *r, uint64_t n)
{
    const unsigned char *unused;
    return ecl_rd_take(r, n, &unused);
}

/* Copy the next `n` bytes into `out` (which has room for n). On failure
 * `out` is not written. */
ECL_WUR static inline int ecl_rd_copy(ecl_rd *r, void *out, size_t n)
{
    const unsigned char *b;
    if (ecl_rd_take(r, n, &b) != 0)
        return -1;
    if (n > 0)
        memcpy(out, b, n);
    return 0;
}

ECL_WUR static inline int ecl_rd_u8(ecl_rd *r, uint8_t *v)
{
    const unsigned char *b;
    *v = 0;
    if (ecl_rd_take(r, 1, &b) != 0)
        return -1;
    *v = b[0];
    return 0;
}

/* Fixed-width integers, little-endian (le) or big-endian (be). */
#define ECL_RD_FIXED(name, type, width, le)                                                        \
    ECL_WUR static inline int name(ecl_rd *r, type *v)                                             \
    {                                                                                              \
        const unsigned char *b;                                                                    \
        type x = 0;                                                                                \
        *v = 0;                                                                                    \
        if (ecl_rd_take(r, width, &b) != 0)                                                        \
            return -1;                                                                             \
        for (unsigned i = 0; i < width; i++)                                                       \
            x = (type)(x << 8 | b[le ? width - 1 - i : i]);                                        \
        *v = x;                                                                                    \
        return 0;                                                                                  \
    }
ECL_RD_FIXED(ecl_rd_u16le, uint16_t, 2, 1)
ECL_RD_FIXED(ecl_rd_u16be, uint16_t, 2, 0)
ECL_RD_FIXED(ecl_rd_u32le, uint32_t, 4, 1)
ECL_RD_FIXED(ecl_rd_u32be, uint32_t, 4, 0)
ECL_RD_FIXED(ecl_rd_u64le, uint64_t, 8, 1)
ECL_RD_FIXED(ecl_rd_u64be, uint64_t, 8, 0)
#undef ECL_RD_FIXED

/* The varint of more than one byte (bytes.c); use ecl_rd_varint. */
ECL_WUR int ecl_rd_varint_long(ecl_rd *r, uint64_t *v);

/* A protobuf varint (see the top): 1 to ECL_VARINT_MAX bytes. */
ECL_WUR static inline int ecl_rd_varint(ecl_rd *r, uint64_t *v)
{
    if (!r->failed && r->p < r->end && *r->p < 0x80) {
        *v = *r->p++;
        return 0;
    }
    return ecl_rd_varint_long(r, v);
}

/* One integer at byte `off` of (data, len), for fixed layouts such as LMDB
 * keys and values: 0, or -1 (and *v = 0) if its bytes do not all lie inside. */
ECL_WUR static inline int ecl_u64be_at(const void *data, size_t len, size_t off, uint64_t *v)
{
    ecl_rd r;
    ecl_rd_init(&r, data, len);
    *v = 0;
    return ecl_rd_skip(&r, off) != 0 ? -1 : ecl_rd_u64be(&r, v);
}

ECL_WUR static inline int ecl_u64le_at(const void *data, size_t len, size_t off, uint64_t *v)
{
    ecl_rd r;
    ecl_rd_init(&r, data, len);
    *v = 0;
    return ecl_rd_skip(&r, off) != 0 ? -1 : ecl_rd_u64le(&r, v);
}

/* ---- writers --------------------------------------------------------------
 * Store `v` in the next 2, 4 or 8 bytes at `p`, which the caller sized. */

#define ECL_PUT_FIXED(name, type, width, le)                                                       \
    static inline void name(unsigned char *p, type v)                                              \
    {                                                                                              \
        for (unsigned i = 0; i < width; i++)                                                       \
            p[le ? i : width - 1 - i] = (unsigned char)(v >> (8 * i));                             \
    }
ECL_PUT_FIXED(ecl_put_u16be, uint16_t, 2, 0)
ECL_PUT_FIXED(ecl_put_u32be, uint32_t, 4, 0)
ECL_PUT_FIXED(ecl_put_u64be, uint64_t, 8, 0)
ECL_PUT_FIXED(ecl_put_u64le, uint64_t, 8, 1)
#undef ECL_PUT_FIXED

#endif
