/*
 * note.h - C2SP signed notes, tlog-checkpoints and cosignature/v1, byte for
 * byte (c2sp.org/signed-note, c2sp.org/tlog-checkpoint,
 * c2sp.org/tlog-cosignature; docs/audit-format.md, "Checkpoints, signed
 * notes and cosignatures (C2SP)").
 *
 * A site's audit log publishes its tree head as a checkpoint text
 *
 *   ecluse/audit/<site>\n        origin (ecl_audit_origin)
 *   <tree size, decimal>\n
 *   <base64 of the 32-byte root>\n
 *
 * signed as a signed note: the text, a blank line, and one line per
 * signature, "— <key name> <base64(key id || signature)>\n" (the dash is
 * U+2014, the bytes E2 80 94). The site signs with its Ed25519 key under the
 * key name ecl_audit_origin(site) (signature type 0x01: the signature is
 * over the text as it is). A witness adds a cosignature/v1 line (type 0x04:
 * the signature is u64be time || Ed25519 over "cosignature/v1\ntime <T>\n"
 * followed by the text).
 *
 * Key IDs: SHA-256(name || 0x0A || type || 32-byte public key)[:4].
 * Verifier keys: "<name>+<8 lowercase hex of the key id>+<base64(type ||
 * public key)>".
 *
 * Nothing here holds a secret key: signatures are made by the signer process
 * (site/signer.h, SIGNER_CHECKPOINT_NOTE and SIGNER_COSIGNATURE), and the
 * functions that write a signature line take the signature bytes.
 *
 * Outside input (a peer's checkpoint or note, a stored note) is hostile:
 * every parser bounds its sizes (ECL_NOTE_MAX, ECL_NOTE_MAX_SIGS, ...),
 * checks that the text is UTF-8 without control characters and ends in a
 * newline, and fails with ECL_E_INPUT (or ECL_E_LIMIT for a size) and a
 * message naming what is wrong ("checkpoint line 2: tree size '01' has a
 * leading zero"). A signature that does not verify, or a missing one, is
 * ECL_E_CRYPTO.
 *
 * Every function returns 0 or -1 (and fills `err`, which may be NULL). All
 * are pure functions of their arguments: any thread may call them at once.
 * Nothing is allocated; outputs go to buffers the caller sized.
 */
#ifndef ECLUSE_COMMON_NOTE_H
#define ECLUSE_COMMON_NOTE_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* Signature types of c2sp.org/signed-note used here. */
#define ECL_NOTE_TYPE_ED25519 0x01u /* a signed note's Ed25519 signature */
#define ECL_NOTE_TYPE_COSIG   0x04u /* a timestamped cosignature/v1 */

#define ECL_NOTE_MAX              (64u * 1024u) /* bytes of a whole signed note */
#define ECL_NOTE_MAX_SIGS         64u          /* signature lines in a note (the spec asks >= 16) */
#define ECL_NOTE_NAME_MAX         255u         /* bytes of a key name, without the NUL */
#define ECL_CHECKPOINT_MAX        (8u * 1024u) /* bytes of a checkpoint text */
#define ECL_CHECKPOINT_ORIGIN_MAX 255u         /* bytes of an origin line, without the NUL */
/* A verifier key: name + '+' + 8 hex + '+' + 44 base64 + NUL. */
#define ECL_NOTE_VKEY_MAX (ECL_NOTE_NAME_MAX + 1 + 8 + 1 + 44 + 1)
/* "cosignature/v1\ntime " + 20 digits + "\n" */
#define ECL_COSIG_HEADER_MAX  (15 + 5 + 20 + 1)
#define ECL_COSIG_MESSAGE_MAX (ECL_COSIG_HEADER_MAX + ECL_CHECKPOINT_MAX)
/* The longest timestamp a cosignature may carry (the spec: at most 2^63-1). */
#define ECL_COSIG_TIME_MAX ((uint64_t)INT64_MAX)

/* A parsed checkpoint text. `origin` is NUL-terminated; extension lines, if
 * any, are not kept. */
typedef struct ecl_checkpoint {
    char origin[256];
    uint64_t size;
    uint8_t root[32];
} ecl_checkpoint;

/* ---- names, key IDs, verifier keys ------------------------------------ */

/* 0 if `name` may be a key name: 1..ECL_NOTE_NAME_MAX bytes of UTF-8, no
 * '+', no Unicode space, no control character. Else ECL_E_INPUT saying why. */
int ecl_note_name_check(const char *name, ecl_err *err) ECL_WUR;

/* The key ID of (name, type, pk): SHA-256(name || 0x0A || type || pk)[:4].
 * -1 if the name is not a valid key name (ecl_note_name_check). */
int ecl_note_key_id(const char *name, uint8_t type, const uint8_t pk[32], uint8_t id[4]) ECL_WUR;

/* The verifier key "<name>+<hex id>+<base64(type || pk)>" into `out`
 * (NUL-terminated; ECL_NOTE_VKEY_MAX bytes always suffice). ECL_E_LIMIT if
 * `cap` is too small. */
int ecl_note_vkey_format(const char *name, uint8_t type, const uint8_t pk[32], char *out,
                         size_t cap, ecl_err *err) ECL_WUR;

/* Parse a verifier key of type 0x01 or 0x04 with a 32-byte key: the name
 * (copied to `name`, NUL-terminated, `name_cap` bytes), the type and the
 * key. ECL_E_INPUT if it is malformed, of another type, or its key ID is
 * not the one its name, type and key give. */
int ecl_note_vkey_parse(const char *vkey, char *name, size_t name_cap, uint8_t *type,
                        uint8_t pk[32], ecl_err *err) ECL_WUR;

/* ---- origins ----------------------------------------------------------- */

/* The origin of site `site`'s audit log, "ecluse/audit/<site>", which is
 * also the key name of the site's checkpoint signatures. `site` must be
 * 1..63 bytes of visible ASCII (0x21..0x7e) without '+'. The one place this
 * name is built. */
int ecl_audit_origin(const char *site, char *buf, size_t cap, ecl_err *err) ECL_WUR;

/* The key name of site `site`'s cosignatures as a witness,
 * "ecluse/witness/<site>" (same rules). */
int ecl_witness_name(const char *site, char *buf, size_t cap, ecl_err *err) ECL_WUR;

/* ---- checkpoints -------------------------------------------------------- */

/* Write the checkpoint text "origin\nsize\nbase64(root)\n" (no extension
 * lines) into `out` (not NUL-terminated) and its length to *len. The origin
 * must be a valid key name (ecl_note_name_check). ECL_E_LIMIT if `cap` is too
 * small. */
int ecl_checkpoint_format(const char *origin, uint64_t size, const uint8_t root[32], char *out,
                          size_t cap, size_t *len, ecl_err *err) ECL_WUR;

/* Parse a checkpoint text (the text of a note, not the whole note): at least
 * three non-empty lines, each ending in a newline: the origin (1..255 bytes),
 * the tree size (decimal, no leading zero, at most 2^64-1), the root (the
 * padded base64 of exactly 32 bytes). Lines after the third are extension
 * lines: they must be non-empty, and are accepted and ignored. The whole
 * text is at most ECL_CHECKPOINT_MAX bytes of UTF-8 without control
 * characters. */
int ecl_checkpoint_parse(const char *text, size_t len, ecl_checkpoint *out, ecl_err *err) ECL_WUR;

/* ---- signed notes ------------------------------------------------------- */

/* 0 if `text` (len bytes) may be the text of a note: non-empty, at most
 * ECL_NOTE_MAX bytes, UTF-8, no control character but newline, ending in a
 * newline. */
int ecl_note_text_check(const char *text, size_t len, ecl_err *err) ECL_WUR;

/* Split a signed note: *text_len is the length of its text (including the
 * text's final newline; the blank line after it and the signature lines
 * follow). Checks the whole note: the text rules above, at least one and at
 * most ECL_NOTE_MAX_SIGS signature lines, each well-formed ("— ", a valid
 * key name, a space, padded base64 of at least 5 bytes, a newline).
 * Verifies nothing. */
int ecl_note_split(const char *note, size_t len, size_t *text_len, ecl_err *err) ECL_WUR;

/* Add an Ed25519 signature line (type 0x01) by key (name, pk) to a note
 * being built in `buf` (cap bytes): buf holds *len bytes, the first
 * `text_len` of which are the note's text. If there is no signature yet
 * (*len == text_len), the blank line is written first. `sig` is the 64-byte
 * Ed25519 signature of the text (made by the signer), and is checked before
 * it is written: ECL_E_CRYPTO if it does not verify. *len grows; nothing is
 * written on failure. ECL_E_LIMIT if `cap` is too small. */
int ecl_note_append_signature(char *buf, size_t cap, size_t *len, size_t text_len, const char *name,
                              const uint8_t pk[32], const uint8_t sig[64], ecl_err *err) ECL_WUR;

/* The same for a cosignature/v1 line (type 0x04): the line carries
 * u64be(time) || sig, where `sig` is the Ed25519 signature of
 * ecl_cosig_message(text, time). The text must be a checkpoint. */
int ecl_note_append_cosignature(char *buf, size_t cap, size_t *len, size_t text_len,
                                const char *name, const uint8_t pk[32], uint64_t time,
                                const uint8_t sig[64], ecl_err *err) ECL_WUR;

/* Verify a signed note against one trusted Ed25519 key (name, pk): the note
 * must be well-formed (ecl_note_split), and carry at least one line whose
 * name and key ID are those of the key; every such line must verify over
 * the text. Lines of other keys (another name, another ID, another type)
 * are ignored, as the spec requires. ECL_E_CRYPTO when no line of the key
 * is there, or one does not verify. On success *text_len (may be NULL) is
 * the text's length. */
int ecl_note_verify(const char *note, size_t len, const char *name, const uint8_t pk[32],
                    size_t *text_len, ecl_err *err) ECL_WUR;

/* ---- cosignatures ------------------------------------------------------- */

/* The message a cosigner signs for checkpoint text `ckpt` at `time`:
 * "cosignature/v1\ntime <time>\n" || ckpt. `ckpt` must parse as a
 * checkpoint; time at most ECL_COSIG_TIME_MAX. Written to `out` (not
 * NUL-terminated), length in *outlen; ECL_COSIG_MESSAGE_MAX bytes always
 * suffice. */
int ecl_cosig_message(const char *ckpt, size_t len, uint64_t time, char *out, size_t cap,
                      size_t *outlen, ecl_err *err) ECL_WUR;

/* Check that `msg` is exactly such a message: the header line, a time line
 * (decimal, no leading zero, at most ECL_COSIG_TIME_MAX), and a checkpoint
 * text that parses. Returns the time and the checkpoint (`ckpt` may be
 * NULL), and where the checkpoint text starts in msg. */
int ecl_cosig_message_parse(const char *msg, size_t len, uint64_t *time, ecl_checkpoint *ckpt,
                            size_t *text_off, ecl_err *err) ECL_WUR;

/* Verify the cosignature of witness (name, pk) on a signed checkpoint note:
 * the note must be well-formed, its text a checkpoint, and it must carry at
 * least one cosignature/v1 line whose name and key ID (type 0x04) are the
 * witness's; every such line must be 76 bytes (key ID, u64be time, 64-byte
 * signature), with a time of at most 2^63-1, and verify over
 * ecl_cosig_message(text, time). Lines of other keys are ignored.
 * ECL_E_CRYPTO when none is there or one does not verify. *time_out (may be
 * NULL) is the time of the first such line. */
int ecl_cosig_verify(const char *note, size_t len, const char *name, const uint8_t pk[32],
                     uint64_t *time_out, ecl_err *err) ECL_WUR;

#endif
