/* relay_scan.c - fuzz target: the home gateway's scan of a peer's
 * ReadMessage as it relays a read (relay_scan_message), without decoding it.
 *
 * Input: the message bytes, as the peer sent them.
 * An accepted message's data length fits in it; whenever protobuf-c also
 * decodes it as a ReadMessage, the scan names the same kind and, for a
 * chunk, the same data length; and what protobuf-c encodes (a ReadMessage
 * without unknown fields, as every ecluse gateway sends) is always accepted
 * with its kind and data length. The scan of a message's head alone
 * (relay_scan_head, what the relay uses on messages it does not join)
 * accepts only what the whole scan accepts, with the same kind and data
 * length, data running to the end; and it accepts every chunk an ecluse
 * gateway writes (32-byte digest, data last). */
#include <stdlib.h>

#include "fuzz/fuzz.h"
#include "gateway/relay_scan.h"
#include "proto/ecluse.pb-c.h"

#define HEAD 64 /* what the relay copies of a message to scan it */

/* A message protobuf-c made must scan as what it is. */
static void check_encoding(const Ecluse__V1__ReadMessage *m)
{
    if (m->base.n_unknown_fields > 0 || (m->kind_case == ECLUSE__V1__READ_MESSAGE__KIND_CHUNK &&
                                         m->chunk->base.n_unknown_fields > 0))
        return; /* protobuf-c writes unknown fields back in any wire type */
    size_t len = ecluse__v1__read_message__get_packed_size(m);
    uint8_t *b = malloc(len ? len : 1);
    if (b == NULL)
        fz_fail("out of memory");
    ecluse__v1__read_message__pack(m, b);
    int kind = -1;
    uint64_t data_len = 0;
    if (relay_scan_message(b, len, &kind, &data_len) != 0)
        fz_fail("a ReadMessage of kind %d that protobuf-c encoded is refused", (int)m->kind_case);
    if (kind != (int)m->kind_case)
        fz_fail("an encoded ReadMessage of kind %d scans as kind %d", (int)m->kind_case, kind);
    if (kind == ECLUSE__V1__READ_MESSAGE__KIND_CHUNK && data_len != m->chunk->data.len)
        fz_fail("an encoded chunk of %zu data bytes scans as %llu", m->chunk->data.len,
                (unsigned long long)data_len);
    uint64_t at = 0;
    if (kind == ECLUSE__V1__READ_MESSAGE__KIND_CHUNK && m->chunk->digest.len == 32 &&
        m->chunk->data.len > 0 &&
        (relay_scan_head(b, len < HEAD ? len : HEAD, len, &kind, &data_len, &at) != 0 ||
         data_len != m->chunk->data.len))
        fz_fail("the head of an encoded chunk of %zu data bytes is refused", m->chunk->data.len);
    free(b);
}

/* The head scan agrees with the whole scan. */
static void check_head(const uint8_t *data, size_t size, int rc, int kind, uint64_t data_len)
{
    int hkind = -1;
    uint64_t hlen = 0, hat = 0;
    if (relay_scan_head(data, size < HEAD ? size : HEAD, size, &hkind, &hlen, &hat) != 0)
        return;
    if (hkind == ECLUSE__V1__READ_MESSAGE__KIND_CHUNK) {
        if (hat + hlen != size)
            fz_fail("a head scan puts %llu data bytes at %llu of %zu", (unsigned long long)hlen,
                    (unsigned long long)hat, size);
        if (rc != 0 || kind != hkind || data_len != hlen)
            fz_fail("the head scan accepts a chunk (%llu data bytes) the whole scan does not "
                    "(rc %d, kind %d, %llu)",
                    (unsigned long long)hlen, rc, kind, (unsigned long long)data_len);
    }
}

int fz_relay_scan(const uint8_t *data, size_t size)
{
    int kind = -1;
    uint64_t data_len = 0;
    int rc = relay_scan_message(data, size, &kind, &data_len);
    if (rc != 0 && rc != -1)
        fz_fail("relay_scan_message returned %d", rc);
    check_head(data, size, rc, kind, data_len);
    Ecluse__V1__ReadMessage *m = ecluse__v1__read_message__unpack(NULL, size, data);
    if (rc == 0) {
        if (data_len > size)
            fz_fail("a chunk of %llu data bytes in a %zu-byte message",
                    (unsigned long long)data_len, size);
        if (kind != ECLUSE__V1__READ_MESSAGE__KIND_CHUNK && data_len != 0)
            fz_fail("a message of kind %d with %llu data bytes", kind,
                    (unsigned long long)data_len);
        if (m != NULL && m->kind_case != ECLUSE__V1__READ_MESSAGE__KIND__NOT_SET) {
            if (kind != (int)m->kind_case)
                fz_fail("scanned as kind %d, decodes as kind %d", kind, (int)m->kind_case);
            if (kind == ECLUSE__V1__READ_MESSAGE__KIND_CHUNK && data_len != m->chunk->data.len)
                fz_fail("scanned with %llu data bytes, decodes with %zu",
                        (unsigned long long)data_len, m->chunk->data.len);
        }
    }
    if (m != NULL) {
        if (m->kind_case != ECLUSE__V1__READ_MESSAGE__KIND__NOT_SET)
            check_encoding(m);
        ecluse__v1__read_message__free_unpacked(m, NULL);
    }
    return rc == 0;
}
