/*
 * relay_scan.h - the framing of a peer's ReadMessage, as the home gateway
 * relays it (read_relay.c) without decoding it.
 *
 * A relayed message is one length-delimited field of ReadMessage (its oneof:
 * 1 header, 2 trailer, 3 chunk) covering the whole message. Inside a chunk,
 * only varint and length-delimited fields may appear; the length of the last
 * `data` field (15) is what the relay counts as bytes sent.
 */
#ifndef ECLUSE_GATEWAY_RELAY_SCAN_H
#define ECLUSE_GATEWAY_RELAY_SCAN_H

#include <stddef.h>
#include <stdint.h>

/* Scan `len` bytes of a peer's ReadMessage: *kind gets its oneof field
 * number and, for a chunk (3), *data_len the length of its data field (else
 * 0). Returns 0, or -1 if the framing does not hold (a truncated varint or
 * field, another wire type, bytes after the field). Reads nothing outside
 * [p, p + len). */
int relay_scan_message(const unsigned char *p, size_t len, int *kind, uint64_t *data_len);

/* The same from the first `head_len` bytes of a message of `total` bytes
 * (its pieces not joined): the oneof field must cover all `total` bytes,
 * and a chunk's fields must lie in the head up to its `data` field, which
 * must run to the end of the message (data last, as gateways write a chunk:
 * read_local.c). *data_at gets where the data starts. Returns 0 or -1. */
int relay_scan_head(const unsigned char *head, size_t head_len, uint64_t total, int *kind,
                    uint64_t *data_len, uint64_t *data_at);

#endif
