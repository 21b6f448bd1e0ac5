/*
 * receipt.h - read receipts on the client side: asking the home gateway for
 * one after a read, writing it beside the data as JSON, reading it back and
 * checking it offline (docs/audit-format.md, "Read receipts").
 *
 * The JSON form is one object:
 *   {"format":"ecluse-read-receipt-v1","site":S,"read_id":R,"seq":N,
 *    "entry":B64,"proof":[B64,...],"checkpoint":NOTE}
 * with standard padded base64 (RFC 4648) and the checkpoint note as a string.
 */
#ifndef ECLUSE_CLIENT_RECEIPT_H
#define ECLUSE_CLIENT_RECEIPT_H

#include <jansson.h>
#include <stdint.h>

#include "audit/audit.h"
#include "client/client.h"
#include "common/err.h"
#include "proto/ecluse.pb-c.h"

#define ECL_RECEIPT_FORMAT "ecluse-read-receipt-v1"

/* Data.Receipt: the receipt of read `read_id` of `dataset`, whose read-end
 * entry is `audit_seq` (the trailer's), waiting up to `wait_ms` at the
 * holding site for a cosigned checkpoint. *out is the caller's
 * (protobuf_c_message_free_unpacked). */
int ecl_receipt_get(ecl_client *c, const char *dataset, const char *read_id, uint64_t audit_seq,
                    unsigned wait_ms, Ecluse__V1__ReadReceipt **out, ecl_err *err) ECL_WUR;

/* A new JSON string of `len` bytes in standard padded base64 (NULL if out
 * of memory): the form of every hash and byte string in receipts and
 * proofs. */
json_t *ecl_json_base64(const uint8_t *data, size_t len);

/* The JSON object of a receipt (*out is a new reference). */
int ecl_receipt_json(const Ecluse__V1__ReadReceipt *r, json_t **out, ecl_err *err) ECL_WUR;

/* Write the receipt to `path` as JSON (a new file written whole, then
 * renamed into place, mode 0644). */
int ecl_receipt_save(const char *path, const Ecluse__V1__ReadReceipt *r, ecl_err *err) ECL_WUR;

/* Read a receipt file (outside input: every field checked, unknown keys
 * refused). *out is the caller's (protobuf_c_message_free_unpacked).
 * ECL_E_INPUT naming the file and the field. */
int ecl_receipt_load(const char *path, Ecluse__V1__ReadReceipt **out, ecl_err *err) ECL_WUR;

/* The audit_receipt view of `r` (pointers into it), its proof hashes copied
 * into `hashes`. ECL_E_INPUT for a hash that is not 32 bytes or too many. */
int ecl_receipt_view(const Ecluse__V1__ReadReceipt *r, audit_receipt *view,
                     uint8_t (*hashes)[MERKLE_HASH_BYTES], ecl_err *err) ECL_WUR;

#endif
