/*
 * signer.h - the only holder of a site's Ed25519 key.
 *
 * Everything a site asserts is signed with its key, so the key must not live
 * in the process that parses network input: one memory-safety bug there
 * could leak it. The gateway starts a signer process of its own binary
 * (fork and exec, `ecluse signer`, as OpenBSD's relayd keeps its keys in its
 * ca process). That process alone opens the key file and holds the secret,
 * in locked libsodium memory (sodium_malloc, mlock'd, guard pages), and
 * answers over a socketpair only the signing requests a site needs, one
 * request kind for each kind of document. The network process keeps the
 * public key and a file descriptor.
 *
 * The same API also has an in-process backend (signer_local) for the tools
 * and tests that sign without a gateway; both backends run the same code
 * (signer_sign_kind) on the key.
 *
 * Wire protocol on the socketpair (host byte order: both ends are one
 * binary on one machine):
 *   request  = u32 kind || u32 length || payload[length]
 *   reply    = u32 status || u32 length || payload[length]
 * status 0: the payload is the answer (a 64-byte signature, or a 32-byte
 * public key); otherwise an ecl_code and a message of at most 255 bytes,
 * re-terminated by the reader. A payload longer than SIGNER_MAX_PAYLOAD,
 * a short read, or an unknown kind ends the conversation: the signer
 * exits, and the gateway refuses what needed a signature (fail closed).
 * At start the signer sends one reply: its public key, or why it could not
 * load the key file.
 *
 * Threads: a signer handle may be used by many threads; requests are
 * serialised on its lock (a signature costs about 20 microseconds).
 */
#ifndef ECLUSE_SITE_SIGNER_H
#define ECLUSE_SITE_SIGNER_H

#include <protobuf-c/protobuf-c.h>
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"
#include "common/note.h"
#include "site/sitekey.h"

/* What each kind signs, and the context it is signed under
 * (context || 0x00 || body, see sitekey.h). The signer checks that a body
 * decodes as the document its kind names before it signs.
 *
 * Two kinds sign C2SP notes (common/note.h), and those are signed RAW, with
 * no context prefix, because the C2SP specs say what the signed bytes are
 * and any implementation of them must verify the signature:
 *   SIGNER_CHECKPOINT_NOTE: the text of a tlog-checkpoint (ecl_checkpoint_
 *     parse must accept it) whose origin is this site's,
 *     ecl_audit_origin(site) = "ecluse/audit/<site>"; that is also the key
 *     name of the signature line. The signer is told its site id when it is
 *     started (signer_spawn_site, signer_local_site: `ecluse signer
 *     --site ID`); without one it refuses this kind.
 *   SIGNER_COSIGNATURE: a cosignature/v1 message, exactly
 *     "cosignature/v1\ntime <T>\n" followed by a checkpoint text that parses
 *     (ecl_cosig_message_parse), for this site as a witness of another.
 * Why a raw signature cannot be taken for a context-prefixed one, or one
 * note kind for the other: every context-prefixed message holds the byte
 * 0x00 after its context, and neither a checkpoint text nor a cosignature
 * message may hold any control character (note.h checks it before signing),
 * so no message of one family is a message of the other. A checkpoint text
 * starts with "ecluse/audit/", a cosignature message with
 * "cosignature/v1\n", so neither is the other; and a cosignature message
 * offered as a signed note's text is not a checkpoint (its second line is
 * "time <T>", not a tree size). In the signature lines the two are told
 * apart by the key ID too (type 0x01 and 0x04). */
typedef enum signer_kind {
    SIGNER_CATALOG = 1,     /* "ecluse-catalog-v1": a CatalogHeader */
    SIGNER_GRANT = 2,       /* "ecluse-grant-v1": a GrantBody */
    SIGNER_ATTESTATION = 3, /* "ecluse-attestation-v1": an AttestationBody */
    /* 4 was a binary audit checkpoint body ("ecluse-checkpoint-v1"); C2SP
     * checkpoint notes (8) replaced it, and 4 is refused as unknown. */
    SIGNER_BUNDLE = 6,          /* "ecluse-peer-v1": this site's PeerBundleBody */
    SIGNER_ROTATION = 7,        /* "ecluse-key-rotation-v1": a KeyRotationBody naming the
                                   staged key (signer_rotate_prepare) */
    SIGNER_CHECKPOINT_NOTE = 8, /* raw: a C2SP checkpoint text of this site's log */
    SIGNER_COSIGNATURE = 9,     /* raw: a C2SP cosignature/v1 message */
    SIGNER_ERASURE_NOTICE = 10, /* "ecluse-erasure-notice-v1": an ErasureNoticeBody */
    SIGNER_ERASURE_ACK = 11,    /* "ecluse-erasure-ack-v1": an ErasureAckBody */
} signer_kind;

#define CATALOG_SIGNING_CONTEXT     "ecluse-catalog-v1"
#define GRANT_SIGNING_CONTEXT       "ecluse-grant-v1"
#define ATTESTATION_SIGNING_CONTEXT "ecluse-attestation-v1"
#define BUNDLE_SIGNING_CONTEXT      "ecluse-peer-v1"
#define ROTATION_SIGNING_CONTEXT    "ecluse-key-rotation-v1"
#define ERASURE_NOTICE_CONTEXT      "ecluse-erasure-notice-v1"
#define ERASURE_ACK_CONTEXT         "ecluse-erasure-ack-v1"

/* The largest body the signer accepts. Catalogs sign a header (with a
 * digest of the entries), so every document is small. */
#define SIGNER_MAX_PAYLOAD (64u * 1024u)

/* The context string of a kind, or NULL for a kind that does not exist and
 * for the raw note kinds (SIGNER_CHECKPOINT_NOTE, SIGNER_COSIGNATURE). */
const char *signer_context(signer_kind kind);

/* 1 if `kind` is a signer_kind, else 0. */
int signer_kind_valid(uint32_t kind);

typedef struct signer signer;

/* What a spawned signer tells its owner: "died" when it is found dead (with
 * how it ended in `detail`), then "restarted" or "restart-failed". Called on
 * the thread whose request found it dead, with the handle's lock held: it
 * must not call the signer. */
typedef void (*signer_event_fn)(void *ctx, const char *event, const char *detail);

/* Start the signer process: runs `exe signer --fd N --key key_path` (exe is
 * the ecluse binary, normally /proc/self/exe resolved), waits for its
 * public key, and returns the handle. The key file is opened by that
 * process only. ECL_E_INPUT/ECL_E_IO naming the key file if the signer could
 * not load it. `on_event` may be NULL. */
int signer_spawn(const char *exe, const char *key_path, signer_event_fn on_event, void *event_ctx,
                 signer **out, ecl_err *err) ECL_WUR;

/* signer_spawn for site `site` (`exe signer --fd N --key key_path --site
 * site`): the signer then also signs SIGNER_CHECKPOINT_NOTE for the origin
 * ecl_audit_origin(site), and SIGNER_COSIGNATURE. `site` NULL is
 * signer_spawn. ECL_E_INPUT if `site` cannot make an origin. */
int signer_spawn_site(const char *exe, const char *key_path, const char *site,
                      signer_event_fn on_event, void *event_ctx, signer **out,
                      ecl_err *err) ECL_WUR;

/* A signer in this process, on a copy of `key` kept in locked memory: for
 * tools and tests, never for the gateway. */
int signer_local(const site_key *key, signer **out, ecl_err *err) ECL_WUR;

/* signer_local for site `site` (see signer_spawn_site). */
int signer_local_site(const site_key *key, const char *site, signer **out, ecl_err *err) ECL_WUR;

/* Stop the process (or wipe the local key) and free the handle. NULL is a
 * no-op. */
void signer_free(signer *s);

/* The current public key (it changes at signer_rotate_commit). */
void signer_public_key(signer *s, unsigned char pk[crypto_sign_PUBLICKEYBYTES]);

/* The signer's process id (0 for a local signer, or while it is dead). */
pid_t signer_pid(signer *s);

/* Sign `msg` as document `kind` with the current key. ECL_E_INPUT if `msg`
 * is not such a document; ECL_E_UNAVAILABLE if the signer process is gone
 * (it is then restarted for the next request, or on_event says it could
 * not be). */
int signer_sign(signer *s, signer_kind kind, const void *msg, size_t len,
                unsigned char sig[crypto_sign_BYTES], ecl_err *err) ECL_WUR;

/* `body` packed and signed as `kind`: bytes->data and sig->data are
 * malloc'd on success (the caller frees both), ready for a signed message's
 * `body` and `signature` fields. */
int signer_sign_message(signer *s, signer_kind kind, const ProtobufCMessage *body,
                        ProtobufCBinaryData *bytes, ProtobufCBinaryData *sig, ecl_err *err) ECL_WUR;

/* The signed note of this site's checkpoint at (size, root), ready to
 * publish: the checkpoint text (ecl_checkpoint_format, origin
 * ecl_audit_origin(site)), a blank line, and the site's signature line,
 * signed as SIGNER_CHECKPOINT_NOTE with the current key and checked before
 * it is written. `out` (cap bytes; SIGNER_NOTE_MAX always suffices) gets the
 * note, *len its length, *text_len the length of its text (where witnesses'
 * lines go, ecl_note_append_cosignature). ECL_E_PRECONDITION if the signer
 * was not given a site. */
#define SIGNER_NOTE_MAX 1024
int signer_checkpoint_note(signer *s, uint64_t size, const uint8_t root[32], char *out, size_t cap,
                           size_t *len, size_t *text_len, ecl_err *err) ECL_WUR;

/* This site's cosignature, as a witness, of checkpoint text `ckpt` (len
 * bytes, which must parse) at `time` (seconds since the epoch): the one
 * signature line "— ecluse/witness/<site> <base64>\n" (ecl_witness_name,
 * type 0x04) into `line` (cap bytes; SIGNER_NOTE_MAX always suffices), its
 * length in *line_len. Signed as SIGNER_COSIGNATURE. The caller has checked
 * the checkpoint (signature, consistency) first: the signer checks its form
 * only. ECL_E_PRECONDITION if the signer was not given a site. */
int signer_cosignature_line(signer *s, const char *ckpt, size_t len, uint64_t time, char *line,
                            size_t cap, size_t *line_len, ecl_err *err) ECL_WUR;

/* Key rotation, in two steps around the caller's durable record of it:
 *   prepare: a fresh key is made and written beside the key file, as
 *            `<key>.new` (0600) and `<key>.new.pub`; its public key is
 *            returned. Only a KeyRotationBody naming this key as the new
 *            one will then be signed as SIGNER_ROTATION (by the current key).
 *   commit:  the key files are swapped (the current pair is kept as
 *            `<key>.<retired_sequence>` and `.pub`) and the staged key
 *            becomes the current one.
 * A local signer keeps the staged key in memory and writes no files. */
int signer_rotate_prepare(signer *s, unsigned char new_pk[crypto_sign_PUBLICKEYBYTES],
                          ecl_err *err) ECL_WUR;
int signer_rotate_commit(signer *s, uint64_t retired_sequence, ecl_err *err) ECL_WUR;

/* A local signer only: stage `next` (rather than a fresh key) as the key
 * the next rotation goes to, for tools and tests that need a chain of
 * known keys. ECL_E_USAGE on a signer process: its keys are its own. */
int signer_local_stage(signer *s, const site_key *next, ecl_err *err) ECL_WUR;

/* The signer process's main: serve requests on `fd` with the key at
 * `key_path`, for site `site` (NULL: no note kinds), until the other end
 * closes. Returns the process exit status. */
int signer_main(int fd, const char *key_path, const char *site);

#endif
