/*
 * audit.h - the tamper-evident audit trail of an ecluse gateway.
 *
 * Every access decision, every read (start and end), every peering and
 * catalog change and every admin action is appended to an LMDB environment
 * owned by this module, *before* the gateway acts on it. Each entry carries a
 * sequence number (1, 2, 3, ...), a wall-clock time in nanoseconds, the
 * BLAKE2b-256 hash of the previous entry and its own hash, so changing,
 * inserting, removing or reordering any entry breaks the chain from there on.
 * The byte format is in docs/audit-format.md; an auditor can check a log with
 * a program of their own (tests/audit/verify_chain.py does so in Python).
 *
 * Write-ahead and fail-closed: audit_append() returns 0 only after the LMDB
 * transaction holding the entry has been committed and fsync'd. When that is
 * impossible (map full, disk full, I/O error, read-only files) it returns -1
 * with ECL_E_UNAVAILABLE and the caller must not send the data. A failed
 * append leaves the log as it was; appends succeed again once room returns
 * (for a full map: reopen with a larger map_size).
 *
 * Group commit: appends from many threads are queued; one writer thread per
 * log takes what is pending (waiting at most `group_deadline_us` for more),
 * writes it in one transaction, commits once, and wakes every waiter.
 *
 * Handles are opaque. Every function returns 0 on success and -1 on failure,
 * filling `err` (which may be NULL). Functions are thread-safe on one handle
 * unless stated otherwise.
 *
 * Caveats (from LMDB): open a log directory at most once per process at a
 * time; do not use a handle in a child after fork() (open a new one there).
 */
#ifndef ECLUSE_AUDIT_AUDIT_H
#define ECLUSE_AUDIT_AUDIT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/err.h"
#include "common/merkle.h"

#define AUDIT_HASH_BYTES    32u    /* BLAKE2b-256 */
#define AUDIT_FIELD_MAX     255u   /* bytes of each indexed string field */
#define AUDIT_DETAIL_MAX    65536u /* bytes of the compact detail JSON */
#define AUDIT_SITE_MAX      255u   /* bytes of a site id in a checkpoint */
#define AUDIT_CKPT_BODY_MAX (1u + 2u + AUDIT_SITE_MAX + 8u + 32u + 8u + 32u)
#define AUDIT_SIG_BYTES     64u /* Ed25519 detached signature */
#define AUDIT_PK_BYTES      32u /* Ed25519 public key */
#define AUDIT_SK_BYTES      64u /* Ed25519 secret key (libsodium layout) */

/* Entry kinds (the `kind` field). Each kind states which fields it needs;
 * audit_append() refuses an entry without them (ECL_E_USAGE naming the field).
 *   access      a decision: actor, dataset, purpose, decision ("permit" or
 *               "deny"); detail: {"reasons":[...]} (array), grant_id on a
 *               permit unless detail.dry_run is true (a dry run grants nothing)
 *   read-start  actor, dataset, grant_id, read_id; detail: {"tensors":[...],
 *               "rows":[...]} (arrays: what was asked for)
 *   read-end    actor, dataset, read_id; detail: {"bytes_sent":int>=0,
 *               "chunks":int>=0, "digest":string, "outcome":string}
 *   peer        actor; a peering change (detail says which)
 *   catalog     actor; a catalog change
 *   admin       actor; any other admin action
 *   receipt     actor (the researcher), dataset, read_id; a peer's read
 *               receipt this site checked and keeps (detail: {"site":string,
 *               "seq":int,"size":int,"receipt":{...}}, docs/audit-format.md)
 *   witness     actor (the peer gateway concerned); a checkpoint refused,
 *               by a peer of ours or by us as a peer's witness (detail:
 *               {"event":...,"size":int,"reason":string})
 *   erasure     actor (the admin), dataset, decision: "permit" when rows
 *               were withdrawn under GDPR Art. 17 by this very entry,
 *               "deny" for a request refused (nothing withdrawn); detail:
 *               {"rows":[[begin,end],...] (array; a refusal's may be empty,
 *               its detail.asked then holds the text given),"reason":string}
 *               (docs/audit-format.md, "Erasures")
 */
#define AUDIT_KIND_ACCESS     "access"
#define AUDIT_KIND_READ_START "read-start"
#define AUDIT_KIND_READ_END   "read-end"
#define AUDIT_KIND_PEER       "peer"
#define AUDIT_KIND_CATALOG    "catalog"
#define AUDIT_KIND_ADMIN      "admin"
#define AUDIT_KIND_WITNESS    "witness"
#define AUDIT_KIND_RECEIPT    "receipt"
#define AUDIT_KIND_ERASURE    "erasure"
/* notice      actor; an erasure notice sent, received, refused or
 *             acknowledged (detail: {"event":string,"notice_id":string,
 *             "site":string, ...}, docs/erasure-notices.md) */
#define AUDIT_KIND_NOTICE "notice"

typedef struct audit_log audit_log;

typedef struct audit_options {
    size_t map_size;            /* LMDB map size in bytes; 0 = 1 GiB */
    unsigned group_deadline_us; /* how long the writer waits for more; 0 = none */
    unsigned batch_max;         /* entries per commit at most; 0 = 4096 */
} audit_options;

/* What a caller appends. Strings are UTF-8 without NUL bytes, at most
 * AUDIT_FIELD_MAX bytes; NULL and "" both mean "not set" (not indexed).
 * `detail` is a JSON object or NULL ({}); it is stored as compact JSON with
 * sorted keys, at most AUDIT_DETAIL_MAX bytes. Nothing is kept after return. */
typedef struct audit_entry {
    const char *kind;           /* one of AUDIT_KIND_*; required */
    const char *actor;          /* SPIFFE id of who caused it; required */
    const char *dataset;        /* "<site>/<name>" */
    const char *purpose;        /* data use code */
    const char *decision;       /* "permit", "deny" or unset */
    const char *lawful_basis;   /* e.g. "art6-1-e" */
    const char *transfer_basis; /* e.g. "adequacy", "scc", "eea" */
    const char *job_country;    /* ISO 3166 alpha-2 where the job runs */
    const char *grant_id;
    const char *read_id;
    const json_t *detail;
} audit_entry;

/* An entry as stored. Strings are NUL-terminated ("" when unset); every
 * pointer is valid only during the callback that receives the record. */
typedef struct audit_record {
    uint64_t seq;
    int64_t time_ns; /* nanoseconds since 1970-01-01T00:00:00Z */
    const char *kind, *actor, *dataset, *purpose, *decision, *lawful_basis;
    const char *transfer_basis, *job_country, *grant_id, *read_id;
    const char *detail_json;  /* compact JSON object */
    const uint8_t *prev_hash; /* AUDIT_HASH_BYTES */
    const uint8_t *hash;      /* AUDIT_HASH_BYTES */
} audit_record;

/* Open (creating if needed, mode 0700/0600) the log in directory `dir`.
 * `opt` may be NULL for defaults. On success *out is a handle the caller
 * closes with audit_close(). Errors: ECL_E_UNAVAILABLE when the directory
 * or its files cannot be created, opened or written (the message names the
 * path and the OS reason); ECL_E_INPUT when `dir` holds something that is
 * not an ecluse audit log of a known format version. */
int audit_open(const char *dir, const audit_options *opt, audit_log **out, ecl_err *err) ECL_WUR;

/* Open the log in `dir` to read and verify it only (an auditor's copy, or a
 * stopped site's data directory): nothing is created or written, appends
 * fail with ECL_E_UNAVAILABLE. Errors: ECL_E_UNAVAILABLE when it cannot be
 * opened, ECL_E_INPUT when it is not an ecluse audit log,
 * ECL_E_PRECONDITION for a v1 log (a gateway upgrades it when it opens it). */
int audit_open_readonly(const char *dir, audit_log **out, ecl_err *err) ECL_WUR;

/* Let pending appends finish, stop the writer, close LMDB, free `log`.
 * NULL is allowed. No other call on `log` may be running or follow. */
void audit_close(audit_log *log);

/* Append one entry and wait until it is durably committed. On success
 * *seq_out (may be NULL) is its sequence number. Errors: ECL_E_USAGE for an
 * entry that breaks the rules above (message names the field);
 * ECL_E_UNAVAILABLE when it could not be written (nothing was written; the
 * caller must not act as if it had been). */
int audit_append(audit_log *log, const audit_entry *entry, uint64_t *seq_out, ecl_err *err) ECL_WUR;

/* The number of committed entries and the hash of the last one (zeros for an
 * empty log), as of the latest commit. `head` may be NULL. */
int audit_head(audit_log *log, uint64_t *count, uint8_t head[AUDIT_HASH_BYTES],
               ecl_err *err) ECL_WUR;

/* ---- queries -------------------------------------------------------------
 * Every set filter must match (strings exactly; times inclusive). Results
 * come oldest first. The callback returns 0 to go on, anything else to stop
 * (audit_query then returns 0). Queries read one consistent snapshot and
 * run concurrently with appends. */
typedef struct audit_filter {
    const char *dataset, *requester, *purpose, *decision, *kind; /* NULL/"" = any */
    int64_t since_ns;                                            /* 0 = no bound */
    int64_t until_ns;                                            /* 0 = no bound */
    uint64_t limit;                                              /* 0 = no limit */
} audit_filter;

typedef int (*audit_record_fn)(const audit_record *rec, void *arg);

/* Errors: ECL_E_USAGE (bad filter), ECL_E_INPUT (a stored entry does not
 * decode: run audit_verify), ECL_E_IO (LMDB read failure). */
int audit_query(audit_log *log, const audit_filter *filter, audit_record_fn fn, void *arg,
                ecl_err *err) ECL_WUR;

/* Entry `seq` exactly as stored (the Merkle tree's leaf data), malloc'd into
 * *out (the caller frees it). ECL_E_NOT_FOUND if there is no such entry. */
int audit_entry_raw(audit_log *log, uint64_t seq, uint8_t **out, size_t *len, ecl_err *err) ECL_WUR;

/* Write the matching entries to `out`, one JSON object per line:
 *   {"seq":1,"time_unix_ns":...,"time":"2026-11-21T05:01:02.123456789Z",
 *    "kind":...,"actor":...,"dataset":...,"purpose":...,"decision":...,
 *    "lawful_basis":...,"transfer_basis":...,"job_country":...,
 *    "grant_id":...,"read_id":...,"detail":{...},"prev_hash":"hex","hash":"hex"}
 * `filter` may be NULL. Errors as audit_query, plus ECL_E_IO on write. */
int audit_export_jsonl(audit_log *log, const audit_filter *filter, FILE *out, ecl_err *err) ECL_WUR;

/* The same as CSV (RFC 4180: CRLF line ends, fields with , " CR LF quoted),
 * a header line then 16 columns per row, in the JSON-lines order above
 * ("detail" holds the compact JSON text). */
#define AUDIT_CSV_COLUMNS 16
int audit_export_csv(audit_log *log, const audit_filter *filter, FILE *out, ecl_err *err) ECL_WUR;

/* ---- records of processing (raw material of a GDPR Art. 30 record) ------
 * Reads grouped by (dataset, recipient, purpose, lawful basis, transfer
 * basis, job country), taken from read-start entries; a read-end entry adds
 * its bytes_sent to the group of the read-start with the same read_id.
 * `recipient_site` is the trust domain of the recipient's SPIFFE id. Times
 * are of the read-start and read-end entries. Groups come in order of their
 * first read. Strings are valid during the callback only. */
typedef struct audit_processing {
    const char *dataset, *recipient, *recipient_site, *purpose;
    const char *lawful_basis, *transfer_basis, *job_country;
    uint64_t reads;
    uint64_t bytes;
    int64_t first_ns, last_ns;
} audit_processing;

typedef int (*audit_processing_fn)(const audit_processing *p, void *arg);

/* `dataset` NULL or "" = every dataset. Errors as audit_query. */
int audit_processing_summary(audit_log *log, const char *dataset, audit_processing_fn fn, void *arg,
                             ecl_err *err) ECL_WUR;

/* ---- the Merkle tree ------------------------------------------------------
 * An RFC 6962 / 9162 tree (SHA-256) over the entries in order: leaf i
 * (0-based) is SHA-256(0x00 || the stored bytes of entry seq = i + 1), kept
 * in the same transaction as the entries (docs/audit-format.md, "The tree").
 * Proofs are the RFC 9162 audit paths and consistency proofs; check them
 * with merkle_verify_inclusion / merkle_verify_consistency (common/merkle.h).
 * Each call reads one snapshot and runs concurrently with appends; its cost
 * is O(log n) LMDB reads. Errors: ECL_E_USAGE for a NULL argument,
 * ECL_E_PRECONDITION for sizes or a seq outside the committed tree (the
 * message gives the count), ECL_E_INPUT when a stored node is missing or
 * malformed (run audit_verify), ECL_E_IO when LMDB cannot be read. */
typedef struct audit_proof {
    size_t n;                                          /* hashes used */
    uint8_t hash[MERKLE_PROOF_MAX][MERKLE_HASH_BYTES]; /* in RFC 9162 order */
} audit_proof;

/* The count and root of the committed tree in one snapshot (empty: 0 and
 * SHA-256("")). */
int audit_tree_head(audit_log *log, uint64_t *size, uint8_t root[MERKLE_HASH_BYTES],
                    ecl_err *err) ECL_WUR;

/* The root of the tree of the first `size` entries; size <= count. */
int audit_tree_root(audit_log *log, uint64_t size, uint8_t root[MERKLE_HASH_BYTES],
                    ecl_err *err) ECL_WUR;

/* The leaf hash of entry `seq` (1 <= seq <= count). */
int audit_leaf_hash(audit_log *log, uint64_t seq, uint8_t out[MERKLE_HASH_BYTES],
                    ecl_err *err) ECL_WUR;

/* The inclusion proof of entry `seq` (leaf index seq - 1) in the tree of
 * the first `size` entries; 1 <= seq <= size <= count. */
int audit_prove_inclusion(audit_log *log, uint64_t seq, uint64_t size, audit_proof *out,
                          ecl_err *err) ECL_WUR;

/* The consistency proof from the tree of `old_size` entries to the tree of
 * `new_size`; 0 < old_size <= new_size <= count (equal sizes: empty proof). */
int audit_prove_consistency(audit_log *log, uint64_t old_size, uint64_t new_size, audit_proof *out,
                            ecl_err *err) ECL_WUR;

/* ---- verification ---------------------------------------------------------
 * Check every entry (its encoding, its hash, its link to the one before, its
 * sequence number against its key, time never going backwards), that the
 * entries are exactly 1..count of the stored head. Also recompute the Merkle
 * tree from the entries and compare every stored node ("tree node at level L
 * index J differs / is missing", extra nodes beyond the tree), and check
 * every index both ways: each row points to an entry whose field has exactly
 * that value ("by_actor row 'x' points to seq N whose actor is 'y'"), each
 * entry with a set field is in that index ("missing from by_dataset"). The
 * seq named is the lowest entry concerned (for a tree node, the first leaf
 * under it). Checkpoints are checked by audit_verify_checkpoints, which
 * needs the keys to trust. */
typedef struct audit_verify_report {
    int ok;                 /* 1 when everything verified */
    uint64_t entries;       /* entries verified before the first bad one */
    uint64_t checkpoints;   /* stored checkpoints verified */
    uint64_t tree_nodes;    /* stored tree nodes found equal to the recomputed ones */
    uint64_t index_rows;    /* index rows found matching their entry */
    uint64_t first_bad_seq; /* 0 when ok */
    char reason[ECL_ERR_MSG_MAX];
} audit_verify_report;

/* Fills *rep in every case it can read the log. Returns 0 when the chain
 * and checkpoints verify; -1 with ECL_E_CRYPTO ("seq N: why") when they do
 * not (rep says where), or ECL_E_IO when LMDB cannot be read. */
int audit_verify(audit_log *log, audit_verify_report *rep, ecl_err *err) ECL_WUR;

/* ---- checkpoints ---------------------------------------------------------
 * A checkpoint is a C2SP tlog-checkpoint text (origin, tree size, root)
 * signed as a C2SP signed note by the site's key; witnesses add their
 * cosignature/v1 lines (docs/audit-format.md, "Checkpoints, signed notes and
 * cosignatures"). The log keeps its own checkpoints by tree size, with the
 * cosignature lines each witness returned, and, when this site witnesses a
 * peer, the latest checkpoint of that peer it cosigned. These functions
 * store and return the bytes; judging signatures and proofs is the caller's
 * (gateway/witness.c), with common/note.h and common/merkle.h. */
#define AUDIT_NOTE_MAX 4096u /* bytes of a note with all its signature lines */

typedef struct audit_note {
    uint64_t size;                  /* the tree size it is of */
    size_t len;                     /* bytes in text, without the NUL */
    char text[AUDIT_NOTE_MAX + 1u]; /* the signed note, NUL-terminated */
} audit_note;

/* Keep this site's signed checkpoint of `size` entries (replacing one of
 * the same size: after a key rotation a checkpoint may be signed again).
 * ECL_E_PRECONDITION if the log has fewer entries; ECL_E_UNAVAILABLE if it
 * cannot be stored. */
int audit_checkpoint_put(audit_log *log, uint64_t size, const char *note, size_t len,
                         ecl_err *err) ECL_WUR;

/* Keep `witness`'s signature line(s) for the checkpoint of `size` (which
 * must be stored: ECL_E_NOT_FOUND otherwise), and remember `size` as the
 * largest it cosigned if it is. */
int audit_cosignature_put(audit_log *log, uint64_t size, const char *witness, const char *line,
                          size_t len, ecl_err *err) ECL_WUR;

/* The largest size `witness` cosigned (0 if none): where a consistency
 * proof for it starts. */
int audit_cosigned_size(audit_log *log, const char *witness, uint64_t *size, ecl_err *err) ECL_WUR;

/* The stored checkpoint of `size` entries (0 = the latest) as one signed
 * note: the site's note with every kept cosignature line after it.
 * ECL_E_NOT_FOUND if there is none. */
int audit_checkpoint_get(audit_log *log, uint64_t size, audit_note *out, ecl_err *err) ECL_WUR;

/* Every stored checkpoint, smallest size first, as audit_checkpoint_get
 * gives it. The callback returns 0 to go on. */
typedef int (*audit_note_fn)(const audit_note *note, void *arg);
int audit_checkpoint_each(audit_log *log, audit_note_fn fn, void *arg, ecl_err *err) ECL_WUR;

/* As a witness: keep the latest checkpoint of peer `site` that this site
 * cosigned (replacing the one before), and read it back (ECL_E_NOT_FOUND if
 * none). The caller has checked it; these only store. */
int audit_witnessed_put(audit_log *log, const char *site, uint64_t size, const char *note,
                        size_t len, ecl_err *err) ECL_WUR;
int audit_witnessed_get(audit_log *log, const char *site, audit_note *out, ecl_err *err) ECL_WUR;

/* ---- read receipts --------------------------------------------------------
 * A receipt proves that a site's trail holds the read-end entry of a read:
 * the entry's stored bytes, its inclusion proof in the tree of `size`
 * entries, and the site's checkpoint of that size (a signed note, cosigned
 * by witnesses). Whoever holds it can show later that the site recorded the
 * read, whatever the site's disk says then (docs/audit-format.md, "Read
 * receipts"). */
typedef struct audit_receipt {
    const uint8_t *entry; /* the read-end entry's stored bytes */
    size_t entry_len;
    uint64_t seq; /* its sequence number: leaf index seq - 1 */
    const uint8_t (*proof)[MERKLE_HASH_BYTES];
    size_t n_proof;
    const char *note; /* the checkpoint, with its cosignature lines */
    size_t note_len;
} audit_receipt;

/* What a receipt is checked against: the holding site and the keys trusted
 * for it (its pinned key and rotation chain, never one the receipt names),
 * and witnesses that must each have cosigned the checkpoint. */
typedef struct audit_receipt_trust {
    const char *site;
    const uint8_t (*site_keys)[AUDIT_PK_BYTES];
    size_t n_site_keys;
    const struct audit_witness_key *witnesses;
    size_t n_witnesses;
} audit_receipt_trust;

/* What a verified receipt says. */
typedef struct audit_receipt_facts {
    char read_id[AUDIT_FIELD_MAX + 1];
    char dataset[AUDIT_FIELD_MAX + 1];
    char actor[AUDIT_FIELD_MAX + 1];
    int64_t time_ns;     /* of the read-end entry */
    uint64_t size;       /* of the checkpoint */
    size_t cosignatures; /* signature lines beside the site's (not all checked) */
} audit_receipt_facts;

/* Check a receipt: the entry is a well-formed read-end record whose hash is
 * its own and whose seq is `seq`; the note is a checkpoint of origin
 * ecluse/audit/<site>, of a size >= seq, signed by one of the site keys; the
 * inclusion proof leads from the entry to the checkpoint's root; every
 * trusted witness cosigned it. ECL_E_INPUT for a malformed part, ECL_E_CRYPTO
 * for anything that does not verify, each naming what. Pure: no log needed. */
int audit_receipt_verify(const audit_receipt *r, const audit_receipt_trust *t,
                         audit_receipt_facts *out, ecl_err *err) ECL_WUR;

/* Keys to check stored checkpoints with: the site's own key history (the
 * original key and every key its rotation chain led to; never a key a
 * checkpoint names itself), and each witness's key under its name. */
typedef struct audit_witness_key {
    const char *name; /* the witness's key name (common/note.h ecl_witness_name) */
    uint8_t pk[AUDIT_PK_BYTES];
} audit_witness_key;

typedef struct audit_trust {
    const char *origin; /* this log's origin line and key name */
    const uint8_t (*site_keys)[AUDIT_PK_BYTES];
    size_t n_site_keys;
    const audit_witness_key *witnesses;
    size_t n_witnesses;
} audit_trust;

/* Check every stored checkpoint: its text parses and names `origin`; it is
 * signed by one of the site keys; its size is at most the log's and its
 * root is the root of the tree of that many entries; every cosignature line
 * of a known witness verifies under that witness's key. rep->checkpoints
 * counts those that passed; the first failure sets first_bad_seq (the
 * checkpoint's size, or the first entry it no longer matches) and reason
 * ("checkpoint of N entries: why"), and returns -1 with ECL_E_CRYPTO. */
int audit_verify_checkpoints(audit_log *log, const audit_trust *trust, audit_verify_report *rep,
                             ecl_err *err) ECL_WUR;

#endif
