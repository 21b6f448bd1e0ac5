/* receipt.c - read receipts: fetch, save, load, view (receipt.h). */
#include "client/receipt.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fileio.h"

#define RECEIPT_FILE_MAX (1u << 20)

int ecl_receipt_get(ecl_client *c, const char *dataset, const char *read_id, uint64_t audit_seq,
                    unsigned wait_ms, Ecluse__V1__ReadReceipt **out, ecl_err *err)
{
    Ecluse__V1__ReceiptRequest req = ECLUSE__V1__RECEIPT_REQUEST__INIT;
    req.dataset = (char *)dataset;
    req.read_id = (char *)read_id;
    req.audit_seq = audit_seq;
    req.wait_ms = wait_ms;
    ProtobufCMessage *resp = NULL;
    /* The holding site may wait wait_ms for a cosignature, then a relay hop. */
    int timeout = ecl_client_timeout(c) + (int)wait_ms;
    if (rpc_unary(ecl_client_channel(c), "/ecluse.v1.Data/Receipt", &req.base,
                  &ecluse__v1__read_receipt__descriptor, &resp, timeout, err) != 0)
        return -1;
    *out = (Ecluse__V1__ReadReceipt *)resp;
    return 0;
}

json_t *ecl_json_base64(const uint8_t *data, size_t len)
{
    size_t cap = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
    char *text = malloc(cap);
    if (text == NULL)
        return NULL;
    sodium_bin2base64(text, cap, data, len, sodium_base64_VARIANT_ORIGINAL);
    json_t *s = json_string(text);
    free(text);
    return s;
}

int ecl_receipt_json(const Ecluse__V1__ReadReceipt *r, json_t **out, ecl_err *err)
{
    json_t *proof = json_array();
    for (size_t i = 0; proof != NULL && i < r->n_proof; i++)
        if (json_array_append_new(proof, ecl_json_base64(r->proof[i].data, r->proof[i].len)) != 0) {
            json_decref(proof);
            proof = NULL;
        }
    json_t *doc =
        proof == NULL
            ? NULL
            : json_pack("{s:s, s:s, s:s, s:I, s:o, s:o, s:s%}", "format", ECL_RECEIPT_FORMAT,
                        "site", r->site, "read_id", r->read_id, "seq", (json_int_t)r->seq, "entry",
                        ecl_json_base64(r->entry.data, r->entry.len), "proof", proof, "checkpoint",
                        (const char *)r->checkpoint.data, r->checkpoint.len);
    if (doc == NULL)
        return ecl_fail(err, ECL_E_INPUT,
                        "the receipt cannot be written as JSON (its note is "
                        "not UTF-8, or memory ran out)");
    *out = doc;
    return 0;
}

int ecl_receipt_save(const char *path, const Ecluse__V1__ReadReceipt *r, ecl_err *err)
{
    json_t *doc = NULL;
    if (ecl_receipt_json(r, &doc, err) != 0)
        return -1;
    char *text = json_dumps(doc, JSON_PRESERVE_ORDER | JSON_INDENT(1));
    json_decref(doc);
    if (text == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    char tmp[4096];
    int rc = 0;
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        rc = ecl_fail(err, ECL_E_USAGE, "receipt path too long: %s", path);
    FILE *f = rc == 0 ? fopen(tmp, "w") : NULL;
    if (rc == 0 && f == NULL)
        rc = ecl_fail(err, ECL_E_IO, "%s: cannot be written", tmp);
    if (f != NULL) {
        int bad = fputs(text, f) == EOF || fputc('\n', f) == EOF;
        bad |= fflush(f) != 0 || fsync(fileno(f)) != 0;
        bad |= fclose(f) != 0;
        if (bad)
            rc = ecl_fail(err, ECL_E_IO, "%s: the write failed", tmp);
        else if (rename(tmp, path) != 0)
            rc = ecl_fail(err, ECL_E_IO, "%s: cannot be renamed to %s", tmp, path);
        if (rc != 0)
            remove(tmp);
    }
    free(text);
    return rc;
}

/* Decode standard padded base64 into a malloc'd buffer. */
static int unb64(const char *path, const char *field, const char *text, uint8_t **out, size_t *len,
                 ecl_err *err)
{
    size_t n = strlen(text), got = 0;
    const char *end = NULL;
    uint8_t *buf = malloc(n / 4 * 3 + 3);
    if (buf == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    if (sodium_base642bin(buf, n / 4 * 3 + 3, text, n, NULL, &got, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != text + n) {
        free(buf);
        return ecl_fail(err, ECL_E_INPUT, "%s: '%s' is not base64", path, field);
    }
    *out = buf;
    *len = got;
    return 0;
}

static const char *const known_keys[] = {"format", "site",  "read_id",    "seq",
                                         "entry",  "proof", "checkpoint", NULL};

static int check_keys(const char *path, json_t *doc, ecl_err *err)
{
    const char *key;
    json_t *v;
    json_object_foreach(doc, key, v)
    {
        int known = 0;
        for (size_t i = 0; known_keys[i] != NULL; i++)
            known |= strcmp(key, known_keys[i]) == 0;
        if (!known)
            return ecl_fail(err, ECL_E_INPUT, "%s: unknown key '%.64s'", path, key);
    }
    return 0;
}

int ecl_receipt_load(const char *path, Ecluse__V1__ReadReceipt **out, ecl_err *err)
{
    char *text = NULL;
    size_t len = 0;
    if (ecl_read_file(path, RECEIPT_FILE_MAX, &text, &len, err) != 0)
        return ecl_err_prefix(err, "receipt");
    json_error_t je;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    free(text);
    if (doc == NULL)
        return ecl_fail(err, ECL_E_INPUT, "%s: line %d: %s", path, je.line, je.text);
    const char *format = json_string_value(json_object_get(doc, "format"));
    const char *site = json_string_value(json_object_get(doc, "site"));
    const char *read_id = json_string_value(json_object_get(doc, "read_id"));
    const char *entry = json_string_value(json_object_get(doc, "entry"));
    json_t *seq = json_object_get(doc, "seq"), *proof = json_object_get(doc, "proof");
    json_t *note = json_object_get(doc, "checkpoint");
    int rc = json_is_object(doc) ? check_keys(path, doc, err)
                                 : ecl_fail(err, ECL_E_INPUT, "%s: not a JSON object", path);
    if (rc == 0 && (format == NULL || strcmp(format, ECL_RECEIPT_FORMAT) != 0))
        rc = ecl_fail(err, ECL_E_INPUT, "%s: 'format' is not \"%s\"", path, ECL_RECEIPT_FORMAT);
    else if (rc == 0 && (site == NULL || read_id == NULL || entry == NULL))
        rc = ecl_fail(err, ECL_E_INPUT, "%s: 'site', 'read_id' and 'entry' must be strings", path);
    else if (rc == 0 && (!json_is_integer(seq) || json_integer_value(seq) < 1))
        rc = ecl_fail(err, ECL_E_INPUT, "%s: 'seq' must be an integer >= 1", path);
    else if (rc == 0 && (!json_is_array(proof) || json_array_size(proof) > MERKLE_PROOF_MAX))
        rc = ecl_fail(err, ECL_E_INPUT, "%s: 'proof' must be an array of at most %u hashes", path,
                      MERKLE_PROOF_MAX);
    else if (rc == 0 && !json_is_string(note))
        rc = ecl_fail(err, ECL_E_INPUT, "%s: 'checkpoint' must be a string", path);
    Ecluse__V1__ReadReceipt r = ECLUSE__V1__READ_RECEIPT__INIT;
    ProtobufCBinaryData hashes[MERKLE_PROOF_MAX];
    size_t n_hashes = 0;
    uint8_t *entry_bytes = NULL;
    if (rc == 0) {
        r.site = (char *)site;
        r.read_id = (char *)read_id;
        r.seq = (uint64_t)json_integer_value(seq);
        r.checkpoint.data = (uint8_t *)json_string_value(note);
        r.checkpoint.len = json_string_length(note);
        rc = unb64(path, "entry", entry, &entry_bytes, &r.entry.len, err);
        r.entry.data = entry_bytes;
    }
    for (size_t i = 0; rc == 0 && i < json_array_size(proof); i++) {
        const char *h = json_string_value(json_array_get(proof, i));
        if (h == NULL) {
            rc = ecl_fail(err, ECL_E_INPUT, "%s: proof hash %zu is not a string", path, i);
            break;
        }
        rc = unb64(path, "proof", h, &hashes[i].data, &hashes[i].len, err);
        if (rc == 0 && hashes[i].len != MERKLE_HASH_BYTES) {
            free(hashes[i].data);
            rc = ecl_fail(err, ECL_E_INPUT, "%s: proof hash %zu is %zu bytes, not 32", path, i,
                          hashes[i].len);
        }
        if (rc == 0)
            n_hashes++;
    }
    if (rc == 0) {
        r.n_proof = n_hashes;
        r.proof = hashes;
        /* Pack and unpack: the result is one message the caller frees. */
        size_t n = ecluse__v1__read_receipt__get_packed_size(&r);
        uint8_t *buf = malloc(n ? n : 1);
        if (buf == NULL)
            rc = ecl_fail(err, ECL_E_INTERNAL, "out of memory");
        else {
            ecluse__v1__read_receipt__pack(&r, buf);
            *out = ecluse__v1__read_receipt__unpack(NULL, n, buf);
            free(buf);
            if (*out == NULL)
                rc = ecl_fail(err, ECL_E_INTERNAL, "out of memory");
        }
    }
    for (size_t i = 0; i < n_hashes; i++)
        free(hashes[i].data);
    free(entry_bytes);
    json_decref(doc);
    return rc;
}

int ecl_receipt_view(const Ecluse__V1__ReadReceipt *r, audit_receipt *view,
                     uint8_t (*hashes)[MERKLE_HASH_BYTES], ecl_err *err)
{
    if (r->n_proof > MERKLE_PROOF_MAX)
        return ecl_fail(err, ECL_E_INPUT, "a receipt with %zu proof hashes", r->n_proof);
    for (size_t i = 0; i < r->n_proof; i++) {
        if (r->proof[i].len != MERKLE_HASH_BYTES)
            return ecl_fail(err, ECL_E_INPUT, "receipt proof hash %zu is %zu bytes, not 32", i,
                            r->proof[i].len);
        memcpy(hashes[i], r->proof[i].data, MERKLE_HASH_BYTES);
    }
    view->entry = r->entry.data;
    view->entry_len = r->entry.len;
    view->seq = r->seq;
    view->proof = (const uint8_t(*)[MERKLE_HASH_BYTES])hashes;
    view->n_proof = r->n_proof;
    view->note = (const char *)r->checkpoint.data;
    view->note_len = r->checkpoint.len;
    return 0;
}
