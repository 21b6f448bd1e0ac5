/*
 * gateway.h - the ecluse gateway daemon: the table of contents.
 *
 * One process per site. It loads its configuration (config.h), checks its
 * identity files, serves ecluse.v1 over mutual TLS (rpc.h) and stops cleanly
 * on SIGTERM or SIGINT. What each service does lives in its own svc_*.c;
 * which roles may call which method is in methods.c, in one table.
 */
#ifndef ECLUSE_GATEWAY_GATEWAY_H
#define ECLUSE_GATEWAY_GATEWAY_H

#include <openssl/x509.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <time.h>

#include "audit/audit.h"
#include "common/err.h"
#include "federation/catalog.h"
#include "federation/erasure.h"
#include "federation/state.h"
#include "policy/policy.h"
#include "policy/transfer.h"
#include "rpc/client.h"
#include "rpc/server.h"
#include "site/config.h"
#include "site/signer.h"
#include "store/rowset.h"

/* This site's signed catalog, shared by the calls that serve it. */
typedef struct shared_catalog {
    catalog *catalog;
    uint64_t state_version;    /* the state's catalog version it was made from */
    uint64_t erase_generation; /* gateway.erase_generation it was made at */
    int refs;                  /* under gateway.catalog_lock */
} shared_catalog;

/* What the gateway knows of its peers, rebuilt when the trust generation of
 * the state changes (a peer added or removed). */
typedef struct peer_cache {
    int loaded;
    uint64_t generation;
    fed_peer *peers;
    size_t count;
    X509 **cas;      /* each peer's CA, parsed */
    char *trust_pem; /* this site's CA and every peer's, for TLS */
} peer_cache;

/* This gateway's certificate and key as one immutable pair. A reload puts a
 * new pair in place; who holds a reference keeps the old one until released. */
typedef struct gateway_tls {
    char *cert_pem;
    char *key_pem;       /* wiped when freed */
    uint64_t generation; /* 1 at the start, one more for each pair put in place */
    int refs;            /* under gateway.tls_lock */
} gateway_tls;

/* Everything a running gateway holds; handlers receive it as their ctx. */
/* The last refusal recorded per peer and event (witness.c): recorded once,
 * not on every checkpoint while it lasts. */
typedef struct witness_refusal {
    char site[ECL_SITE_ID_MAX];
    char event[48];
    char reason[ECL_ERR_MSG_MAX];
    struct witness_refusal *next;
} witness_refusal;

/* The settings a reload applies at once (reload.c). Threads read them
 * through GATEWAY_SETTING while a reload may store new values; every other
 * field of cfg is fixed for the life of the process. */
typedef struct gateway_settings {
    _Atomic unsigned peer_timeout_ms;
    _Atomic unsigned catalog_refresh_s;
    _Atomic unsigned catalog_validity_s;
    _Atomic unsigned catalog_page_entries;
    _Atomic unsigned checkpoint_ms;
} gateway_settings;

#define GATEWAY_SETTING(gw, name) atomic_load_explicit(&(gw)->live.name, memory_order_relaxed)

typedef struct gateway {
    gateway_config cfg; /* as read at the start; see live for what a reload changes */
    gateway_settings live;
    X509 *ca;     /* this site's CA: issuer of its people and its gateway */
    char *ca_pem; /* the same, as PEM, for the TLS trust set */

    pthread_mutex_t tls_lock; /* guards the pointer and the references below */
    gateway_tls *tls;         /* this gateway's certificate and key (tls.c) */
    struct timespec started;  /* CLOCK_MONOTONIC */
    rpc_server_options rpc_options;
    rpc_server *server;

    fed_state *state;
    audit_log *audit; /* <data_dir>/audit: every decision and read, before data leaves */
    int audit_lock;   /* site_audit_lock's descriptor: the trail's one writer; -1 if none */

    signer *signer;              /* the signer process: the only holder of the site key */
    pthread_mutex_t rotate_lock; /* one key rotation at a time */
    char spiffe[ECL_SPIFFE_MAX]; /* this gateway's own identity, as an actor */

    pthread_mutex_t catalog_lock;
    shared_catalog *own_catalog;

    pthread_mutex_t peers_lock;
    peer_cache peers;

    pthread_rwlock_t policy_lock; /* the transfer rules and SCCs, reloaded when changed */
    ecl_transfer_rules *transfer_rules;
    ecl_scc_registry *sccs;
    struct timespec rules_mtime, sccs_mtime;
    /* what the last reload (or the start) read of the policy data files: it
     * says "changed" or "unchanged" against these (reload.c; main thread) */
    unsigned char rules_digest[32], sccs_digest[32];

    pthread_mutex_t sync_lock;   /* sync thread: sleeps on sync_wake */
    pthread_mutex_t follow_lock; /* one refresh of a peer or follower of its key at a time */
    pthread_cond_t sync_wake;
    int sync_stop;
    int sync_kick; /* fetch now (a peer was just added) */
    pthread_t sync_thread;
    int sync_running;
    struct sync_peer *sync_peers; /* each peer's pull schedule (sync.c), under sync_lock */

    /* change notices to peers (notify.c): the notifier sleeps on
     * notify_wake under sync_lock and stops with sync_stop */
    pthread_cond_t notify_wake;
    pthread_t notify_thread;
    int notify_running;
    int notify_changed;               /* this site's catalog or key changed */
    struct notify_peer *notify_peers; /* what each peer is owed, under sync_lock */

    /* erasure notices (erasure_out.c, erasure_in.c, svc_notices.c): sent
     * and received ones kept in `notices`; the notifier delivers those
     * pending, and the acks owed, when erasures_owed (under sync_lock) */
    notice_store *notices;
    int erasures_owed;

    /* checkpoints (witness.c): the checkpointer sleeps on checkpointer_wake
     * under sync_lock */
    pthread_mutex_t checkpoint_lock; /* one checkpoint round at a time */
    pthread_mutex_t witness_lock;    /* one witness judgement at a time; refusals */
    witness_refusal *refusals;
    uint64_t checkpointed;          /* entries covered by the last checkpoint */
    int checkpoint_cosigned_by_all; /* ...and every peer cosigned it */
    pthread_cond_t checkpointer_wake;
    pthread_t checkpointer;
    int checkpointer_stop;
    int checkpointer_kick;
    int checkpointer_running;

    /* Calls to peers give up past this moment (rpc_channel_give_up_at; 0:
     * never): a stop sets it to now, cancelling every call in flight, and
     * `stopping`, so that a call cancelled so is not taken for the peer's
     * failure. */
    _Atomic int64_t peer_calls_give_up_at;
    _Atomic int stopping;

    /* 1 from a write the audit trail refused (ECL_E_UNAVAILABLE) until a
     * write succeeds again (record.c): grpc.health.v1 then says NOT_SERVING. */
    _Atomic int audit_unwritable;
    /* rows withdrawn under Art. 17, per dataset, as the trail has them
     * (erased.c); one erasure at a time */
    pthread_mutex_t erase_lock;
    struct erased_index *erased;
    _Atomic uint64_t erase_generation; /* one more per erasure: re-sign the catalog */
    uint64_t erasures_total;           /* in the whole trail, once erasures_known */
    int erasures_known;
} gateway;

/* Load the configuration and every file it names, and start the signer
 * process from `exe` (the ecluse binary: it alone reads the site key);
 * nothing is served yet. Errors name the file or field and the problem.
 * Blocks SIGTERM, SIGINT and SIGHUP in the calling thread first (call it
 * from the main thread, before any other thread is started), so that only
 * gateway_serve's wait takes them. */
int gateway_open(gateway *gw, const char *config_path, const char *exe, ecl_err *err) ECL_WUR;

/* Serve until SIGTERM or SIGINT, then stop gracefully; on SIGHUP, reload
 * (reload.h) and go on serving. Call it from the thread that called
 * gateway_open. ECL_E_UNAVAILABLE if the address cannot be bound. */
int gateway_serve(gateway *gw, ecl_err *err) ECL_WUR;

void gateway_close(gateway *gw);

/* The method table (methods.c): every method of ecluse.v1 with its roles. */
const rpc_method *gateway_methods(size_t *count);

/* Authentication callback (auth.c): people of this site, issued by its CA. */
int gateway_authenticate(void *ctx, const char *leaf_pem, size_t leaf_len, ecl_identity *out,
                         ecl_err *err) ECL_WUR;

/* The TLS trust set callback (auth.c): this site's CA. */
int gateway_trust(void *ctx, char **pem, uint64_t *generation) ECL_WUR;

/* --- this gateway's certificate and key (tls.c) --- */

/* Read cfg's certificate and key and check them as gateway_open does
 * (gateway_config_check_files: they match, the certificate is this site's
 * gateway, issued by its CA, valid now), making sure the pair checked is
 * the pair read. *out has one reference (generation 0 until put in place). */
int gateway_tls_load(const gateway_config *cfg, gateway_tls **out, ecl_err *err) ECL_WUR;

/* A reference to the pair in use; drop it with gateway_tls_release. */
gateway_tls *gateway_tls_acquire(gateway *gw);
void gateway_tls_release(gateway *gw, gateway_tls *t);

/* Put `fresh` (its one reference is taken) in place of the pair in use,
 * which is freed once its last holder releases it. */
void gateway_tls_replace(gateway *gw, gateway_tls *fresh);

/* 1 if both pairs hold the same certificate and key. */
int gateway_tls_same(const gateway_tls *a, const gateway_tls *b);

/* The rpc_identity_fn of the server: copies of the pair in use. */
int gateway_identity(void *ctx, char **cert_pem, char **key_pem, uint64_t *generation) ECL_WUR;

/* --- peers (peers.c) --- */

/* Make sure gw->peers reflects the state (reloads if the generation moved).
 * Call with peers_lock held. */
int gateway_peers_current(gateway *gw, ecl_err *err) ECL_WUR;

void gateway_peers_free(gateway *gw);

/* A channel to a peer's gateway, checking it is spiffe://<site>/gateway
 * issued by that peer's CA, presenting this gateway's certificate. */
int gateway_peer_channel(gateway *gw, const fed_peer *peer, rpc_channel **out,
                         ecl_err *err) ECL_WUR;

/* --- this site's catalog (own_catalog.c) --- */

/* The current signed catalog (re-signed when the datasets changed or half
 * its validity has passed), with a reference the caller drops. */
int gateway_catalog_acquire(gateway *gw, shared_catalog **out, ecl_err *err) ECL_WUR;
void gateway_catalog_release(gateway *gw, shared_catalog *sc);

/* --- fetching peers' catalogs (sync.c) --- */

/* Fetch, verify and keep (or refuse and note) one peer's catalog. Fills
 * `report`'s site/ok/version/error (strings malloc'd; free with
 * gateway_refresh_report_clear). */
void gateway_refresh_peer(gateway *gw, const char *site, Ecluse__V1__PeerRefresh *report);
void gateway_refresh_report_clear(Ecluse__V1__PeerRefresh *report);

/* The thread that refreshes every peer each catalog_refresh_seconds, a
 * peer that failed sooner (gateway_backoff_ms) and a peer that sent a
 * change notice at once; it starts and stops the notifier with it. */
int gateway_sync_start(gateway *gw, ecl_err *err) ECL_WUR;
void gateway_sync_stop(gateway *gw);
/* Make the sync thread work out its next fetch again (the interval changed). */
void gateway_sync_wake(gateway *gw);

/* Peer `site` (authenticated as its gateway) says its catalog changed:
 * schedule a pull of it. Coalesced: at most one pull in flight and one
 * pending per peer, pulls a notice asked for at least SYNC_NOTICE_GAP_MS
 * apart. Returns 1 if a pull was scheduled, 0 if one was already pending
 * or the gateway is stopping. */
#define SYNC_NOTICE_GAP_MS 1000
int gateway_sync_notified(gateway *gw, const char *site);

/* --- change notices to peers (notify.c) --- */

/* This site's catalog or key changed (a dataset added or removed, a key
 * rotated, a peer added): tell every peer, from the notifier thread. Never
 * blocks on the network. */
void gateway_notify_peers(gateway *gw);

/* The notifier thread: sends Federation.NotifyChanged to each peer owed a
 * notice, each call bounded by peer_timeout_ms; a peer that cannot be told
 * is retried after gateway_backoff_ms. Started and stopped by sync.c, under
 * its stop flag; the first round tells every peer (a restart may have
 * missed changes). */
int gateway_notify_start(gateway *gw, ecl_err *err) ECL_WUR;
void gateway_notify_stop(gateway *gw);

/* The wait before retrying after `failures` (>= 1) failures in a row:
 * 1 s doubling each time, at most `cap_ms`, jittered down by up to a
 * quarter (so peers that failed together do not retry together, and each
 * wait is longer than the one before). */
unsigned gateway_backoff_ms(unsigned failures, unsigned cap_ms);

/* Monotonic milliseconds (timers never use wall time). */
int64_t gateway_monotonic_ms(void);

/* --- the audit trail (record.c, witness.c) --- */

/* Append `entry` with `detail` (a JSON object; the reference is taken, may be
 * NULL; entry->detail is ignored) and wait until it is durable. Every audit
 * entry of the gateway is written here. If the trail cannot be written it
 * logs audit.unwritable and fails with ECL_E_UNAVAILABLE, the message saying
 * the audit trail cannot be written: the caller must then not do what it was
 * about to do (fail closed). *seq (may be NULL) is the entry's number. */
int gateway_record_entry(gateway *gw, const audit_entry *entry, json_t *detail, uint64_t *seq,
                         ecl_err *err) ECL_WUR;

/* gateway_record_entry of an entry (kind AUDIT_KIND_*) by `actor` (a SPIFFE
 * id) about `dataset` (may be NULL), with no other field set. */
int gateway_record(gateway *gw, const char *kind, const char *actor, const char *dataset,
                   json_t *detail, uint64_t *seq, ecl_err *err) ECL_WUR;

/* gateway_record_entry of a read-start or read-end (`kind`) by `actor` under
 * `grant`: dataset, purpose, bases, job country and grant_id come from the
 * grant. */
int gateway_record_read(gateway *gw, const char *kind, const char *actor,
                        const Ecluse__V1__GrantBody *grant, const char *read_id, json_t *detail,
                        uint64_t *seq, ecl_err *err) ECL_WUR;

/* An admin action on record (docs/audit-format.md, "Admin actions and their
 * outcomes"). Each action ends in exactly one outcome entry, detail.outcome
 * "done" or "failed" (with detail.reason). An action that changes anything
 * first writes its intent, detail.outcome "pending", before it changes
 * anything (fail closed: an intent that cannot be written stops the action);
 * its outcome entry names the intent's sequence number in detail.intent. An
 * action refused before it changed anything has its outcome entry only.
 *
 *   gateway_action a;
 *   gateway_action_init(&a, gw, AUDIT_KIND_PEER, by, NULL, json_pack(...));
 *   rc = check(...);                            nothing changed yet
 *   if (rc == 0) rc = gateway_action_begin(&a, err);
 *   if (rc == 0) rc = change(...);
 *   return gateway_action_end(&a, rc, err);     always, exactly once
 */
#define ACTION_PENDING "pending"
#define ACTION_DONE    "done"
#define ACTION_FAILED  "failed"

typedef struct gateway_action {
    gateway *gw;
    const char *kind, *actor, *dataset; /* borrowed until gateway_action_end */
    json_t *what;                       /* {"action": ..., parameters}; owned */
    uint64_t intent;                    /* the intent's seq; 0 if none written */
} gateway_action;

/* Takes the reference to `what` (NULL is taken as out of memory at begin). */
void gateway_action_init(gateway_action *a, gateway *gw, const char *kind, const char *actor,
                         const char *dataset, json_t *what);

/* Write the intent; on failure (ECL_E_UNAVAILABLE) the caller must not act,
 * and still calls gateway_action_end with the failure. */
int gateway_action_begin(gateway_action *a, ecl_err *err) ECL_WUR;

/* Write the outcome of `rc` (err->msg is the reason of a failure) and free
 * `what`. Returns rc and leaves err as it is when the action failed (a lost
 * outcome entry of a failure is logged). When the action was done but its
 * outcome cannot be written, fails with ECL_E_UNAVAILABLE saying so. */
int gateway_action_end(gateway_action *a, int rc, ecl_err *err) ECL_WUR;

/* The detail of the audit entry (kind admin) of an `ecluse pki` action:
 * r->detail_json's object with action, outcome and, for an outcome, intent
 * (and reason when it failed), as for admin actions above. The running
 * gateway writes it for Admin.RecordPki; `ecluse pki` appends the same
 * itself when no gateway runs. *out is the caller's. ECL_E_INPUT naming
 * what is wrong with `r`. */
int gateway_pki_detail(const Ecluse__V1__PkiRecord *r, json_t **out, ecl_err *err) ECL_WUR;

/* A Data.Read refused before its read started, on record as kind access,
 * decision deny, detail {"call":"Data.Read","reasons":[why],
 * "grant_verified":bool, "claimed_grant_id"?, "via"?}. Dataset and purpose
 * are those of `verified` (the grant as checked) or, when NULL, as the
 * presented `grant` claims them (READ_UNNAMED when it names none); the
 * grant's id and bases are set only when verified. The refusal stands
 * whatever happens here: a failure to record it is logged. */
#define READ_UNNAMED "-"
void gateway_record_read_refused(gateway *gw, const char *actor, const Ecluse__V1__Grant *grant,
                                 const Ecluse__V1__GrantBody *verified, const char *via,
                                 const ecl_err *why);

/* The SPIFFE id of a protocol Identity ("(none)" for NULL) (read_local.c). */
void gateway_identity_spiffe(const Ecluse__V1__Identity *id, char *out, size_t cap);

/* --- read receipts (receipt.c) --- */

/* Free what a receipt built by receipt.c holds, and reset it. */
void gateway_receipt_clear(Ecluse__V1__ReadReceipt *r);

/* --- erasure notices (docs/erasure-notices.md) --- */

/* One read that carried erased rows: by `reader` (SPIFFE id) through home
 * site `home_site`, read id `read_id`, the erased rows it carried. */
typedef struct gateway_erased_read {
    const char *home_site, *reader, *read_id;
    const Ecluse__V1__RowRange *rows;
    size_t n_rows;
} gateway_erased_read;

/* Rows `rows` of `dataset` (held here) were erased, making its version
 * `version`: sign one notice per home site of `reads`, keep each in the
 * outbox (pending) with an audit entry (kind notice, event "queued"), mark
 * erasure `erasure_seq` (its audit entry) as notified, and wake the
 * notifier to deliver them (erasure_out.c). `actor` is who erased. Notice
 * ids come from the erasure (erasure_notice_id): calling it again for the
 * same erasure, after a crash, adds only the notices missing.
 * A read through this site itself gets no notice (it is not a recipient
 * elsewhere). Fails (ECL_E_UNAVAILABLE) if a notice cannot be signed, kept
 * or recorded: notices already kept stay and are delivered. */
int gateway_erasure_notify(gateway *gw, const char *actor, const char *dataset, uint64_t version,
                           uint64_t erasure_seq, const Ecluse__V1__RowRange *rows, size_t n_rows,
                           const gateway_erased_read *reads, size_t n_reads, ecl_err *err) ECL_WUR;

/* Make the notices of every erasure on the trail (kind erasure, permit)
 * not yet marked notified: the trail's erasure entry is the truth, so an
 * erasure whose notices were not all made (a crash, a signer down) gets
 * them at the notifier's next round (erasure_out.c). */
int gateway_erasure_recover(gateway *gw, ecl_err *err) ECL_WUR;

/* Deliver to peer `site` every notice of the outbox still pending for it,
 * and every ack of the inbox not yet passed back to it (the notifier's
 * work, erasure_out.c). 0 when nothing is left owed to `site`. */
int gateway_erasure_deliver(gateway *gw, const char *site, ecl_err *err) ECL_WUR;

/* The sites owed a notice or an ack now (malloc'd array of site ids,
 * each ECL_SITE_ID_MAX bytes; *n of them). */
int gateway_erasure_owed_sites(gateway *gw, char (**sites)[ECL_SITE_ID_MAX], size_t *n,
                               ecl_err *err) ECL_WUR;

/* An audit entry of kind notice (record.c): `event` about notice
 * `notice_id` exchanged with site `site`; `reason` (may be NULL) why it was
 * refused or failed; `dataset` may be NULL. */
int gateway_record_notice(gateway *gw, const char *actor, const char *dataset, const char *event,
                          const char *notice_id, const char *site, const char *reason,
                          uint64_t *seq, ecl_err *err) ECL_WUR;

/* Wake the notifier to deliver erasure notices or acks (under no lock). */
void gateway_erasure_kick(gateway *gw);

/* Every key of peer `site` to check its signature with: its pinned key,
 * or, when `history`, its whole verified key chain (asked of the peer,
 * peer_keys.c). ECL_E_DENIED if `site` is not a peer. */
int gateway_peer_keys(gateway *gw, const char *site, int history,
                      unsigned char (**keys)[crypto_sign_PUBLICKEYBYTES], size_t *n,
                      ecl_err *err) ECL_WUR;

int svc_federation_deliver_erasure_notice(rpc_call *call, const ProtobufCMessage *request,
                                          void *ctx, ecl_err *err) ECL_WUR;
int svc_federation_ack_erasure_notice(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                                      ecl_err *err) ECL_WUR;
int svc_notices_list(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                     ecl_err *err) ECL_WUR;
int svc_notices_ack(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                    ecl_err *err) ECL_WUR;
int svc_notices_sent(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                     ecl_err *err) ECL_WUR;

/* --- checkpoints and witnessing (witness.c) --- */

/* A checkpoint round: the note (with the cosignatures it gathered) and what
 * each peer said. */
typedef struct gateway_checkpoint_result {
    audit_note note;
    Ecluse__V1__WitnessOutcome *outcomes; /* count of them, one per peer */
    size_t count;
} gateway_checkpoint_result;

/* Sign a checkpoint of the tree as it is now (or reuse the stored one of
 * the same size and key) and, with `push`, have every peer witness it,
 * each call bounded by `timeout_ms`. Refusals are recorded in the trail and
 * reported in res->outcomes; the call fails only when no checkpoint could be
 * signed or stored. Clear *res with gateway_checkpoint_result_clear. */
int gateway_checkpoint(gateway *gw, int push, int timeout_ms, gateway_checkpoint_result *res,
                       ecl_err *err) ECL_WUR;
void gateway_checkpoint_result_clear(gateway_checkpoint_result *res);

/* The thread that signs and sends a checkpoint every cfg.checkpoint_ms while
 * entries are pending. */
int gateway_checkpointer_start(gateway *gw, ecl_err *err) ECL_WUR;
void gateway_checkpointer_stop(gateway *gw);

/* Ask the checkpointer for a checkpoint now rather than at its next tick
 * (a receipt is waiting for one). */
void gateway_checkpoint_kick(gateway *gw);

/* Follow `peer`'s key rotations from its pinned key (asking the peer), pin
 * the key they lead to, and return it in `current` (sync.c). */
int gateway_follow_peer_key(gateway *gw, const fed_peer *peer,
                            unsigned char current[crypto_sign_PUBLICKEYBYTES],
                            ecl_err *err) ECL_WUR;

/* Every signing key of `peer`, from the one its bundle was added with
 * through each rotation it sends now, each link verified
 * (federation/key_history.h); *keys is malloc'd, oldest first
 * (peer_keys.c). */
int gateway_peer_key_chain(gateway *gw, const fed_peer *peer,
                           unsigned char (**keys)[crypto_sign_PUBLICKEYBYTES], size_t *n,
                           ecl_err *err) ECL_WUR;

/* --- erasure under GDPR Art. 17 (erased.c, svc_erase.c) ---
 * The trail is where withdrawn rows are kept: a dataset's are the rows of
 * its erasure entries with decision "permit" (docs/policy.md, "Erasure"),
 * so the withdrawal and its audit entry are one commit. */

/* A copy of the rows of this site's dataset `id` ("<site>/<name>")
 * withdrawn so far (*rows, the caller's; may be NULL) and the number of
 * erasures that withdrew them (*erasures; may be NULL): its version in the
 * catalog is one more. Loaded from the trail on first use (an earlier
 * version's <name>.withdrawn.json is then put on the trail, once).
 * Errors: ECL_E_INPUT (a stored erasure or the old file does not parse),
 * ECL_E_UNAVAILABLE, ECL_E_IO, ECL_E_INTERNAL. */
int gateway_erased(gateway *gw, const char *id, store_rowset **rows, uint64_t *erasures,
                   ecl_err *err) ECL_WUR;

/* The erasures of the whole trail (of datasets removed since, too): the
 * site's catalog version is the state's catalog version plus one plus
 * these, so that it grows with every erasure, also across restarts. */
int gateway_erasures_total(gateway *gw, uint64_t *n, ecl_err *err) ECL_WUR;

/* For the one writer (svc_erase.c): take erase_lock and the cached set of
 * `id` (released with gateway_erased_unlock; on failure not held). The
 * writer holds catalog_lock around it, so that a catalog is signed from
 * the datasets and erasures of one moment (own_catalog.c). */
struct erased_set;
int gateway_erased_lock(gateway *gw, const char *id, struct erased_set **out, ecl_err *err) ECL_WUR;
void gateway_erased_unlock(gateway *gw);
const store_rowset *gateway_erased_rows(const struct erased_set *s);
uint64_t gateway_erased_count(const struct erased_set *s);
/* After the erasure entry of `rows` committed: the set holds them too, one
 * erasure more, and the catalog is re-signed at its next use. */
void gateway_erased_add(gateway *gw, struct erased_set *s, const store_rowset *rows);
void gateway_erased_free(gateway *gw);

int svc_admin_erase_rows(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                         ecl_err *err) ECL_WUR;
int svc_audit_recipients(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                         ecl_err *err) ECL_WUR;

/* --- access decisions (access.c) --- */

/* Load (or reload, when the files changed) the transfer rules and SCCs.
 * Takes policy_lock for writing when it must reload. */
int gateway_policy_data_refresh(gateway *gw, ecl_err *err) ECL_WUR;

/* Decide `req` for `requester` (attested attributes in `affiliation` and
 * `org_type`) against a dataset of this site; writes the audit entry before
 * returning, signs a grant on a permit unless `dry_run`. `via` is the SPIFFE
 * id of the gateway that forwarded it, or NULL. *out is protobuf-c's. */
int gateway_decide(gateway *gw, const Ecluse__V1__AccessRequest *req, const ecl_identity *requester,
                   const char *affiliation, const char *org_type, int dry_run, const char *via,
                   Ecluse__V1__AccessDecision **out, ecl_err *err) ECL_WUR;

/* Handlers, one file per service. */
int svc_health_check(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                     ecl_err *err) ECL_WUR;

/* The standard gRPC protocols (docs/protocol.md): grpc.health.v1.Health
 * (health_std.c) and grpc.reflection.v1 / v1alpha (reflection.c). */
/* 1 if `service` is "" (the whole gateway) or the full name of a service
 * this gateway serves ("ecluse.v1.Data": some method of its table is
 * "/ecluse.v1.Data/..."). */
int gateway_serves(const gateway *gw, const char *service);
int svc_health_std_check(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                         ecl_err *err) ECL_WUR;
int svc_health_std_watch(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                         ecl_err *err) ECL_WUR;
int svc_reflection_info(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                        ecl_err *err) ECL_WUR;

int svc_federation_peer_info(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                             ecl_err *err) ECL_WUR;
int svc_federation_get_catalog(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                               ecl_err *err) ECL_WUR;
int svc_federation_key_rotations(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                                 ecl_err *err) ECL_WUR;
int svc_federation_notify_changed(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                                  ecl_err *err) ECL_WUR;

int svc_catalog_list(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                     ecl_err *err) ECL_WUR;
int svc_catalog_get(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                    ecl_err *err) ECL_WUR;
int svc_catalog_refresh(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                        ecl_err *err) ECL_WUR;

int svc_data_receipt(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                     ecl_err *err) ECL_WUR;
int svc_federation_forward_receipt(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                                   ecl_err *err) ECL_WUR;
int svc_federation_add_checkpoint(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                                  ecl_err *err) ECL_WUR;
int svc_federation_witnessed(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                             ecl_err *err) ECL_WUR;

int svc_audit_query(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                    ecl_err *err) ECL_WUR;
int svc_audit_verify(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                     ecl_err *err) ECL_WUR;
int svc_audit_proof(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                    ecl_err *err) ECL_WUR;
int svc_audit_head(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                   ecl_err *err) ECL_WUR;
int svc_audit_processing(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                         ecl_err *err) ECL_WUR;
int svc_admin_sign_checkpoint(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                              ecl_err *err) ECL_WUR;

int svc_access_request(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                       ecl_err *err) ECL_WUR;
int svc_access_check(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                     ecl_err *err) ECL_WUR;
int svc_federation_forward_access(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                                  ecl_err *err) ECL_WUR;

int svc_admin_add_peer(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                       ecl_err *err) ECL_WUR;
int svc_admin_remove_peer(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                          ecl_err *err) ECL_WUR;
int svc_admin_list_peers(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                         ecl_err *err) ECL_WUR;
int svc_admin_rotate_key(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                         ecl_err *err) ECL_WUR;
int svc_admin_add_dataset(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                          ecl_err *err) ECL_WUR;
int svc_admin_remove_dataset(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                             ecl_err *err) ECL_WUR;
int svc_admin_list_datasets(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                            ecl_err *err) ECL_WUR;
int svc_admin_record_pki(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                         ecl_err *err) ECL_WUR;

/* --- Data.Read: svc_data.c routes a read to read_local.c (a dataset held
 * here, also for Federation.ForwardRead) or read_relay.c (a peer's dataset,
 * relayed by this home gateway). Calls go one way: svc_data.c -> both,
 * read_relay.c -> read_local.c. --- */

#define DATA_DEFAULT_CHUNK_BYTES (4u << 20)
/* Largest protobuf framing of a chunk before its data bytes. */
#define DATA_CHUNK_FRAMING_MAX 64

/* Data.Read (svc_data.c). */
int svc_data_read(rpc_call *call, const ProtobufCMessage *request, void *ctx, ecl_err *err) ECL_WUR;

/* The holding site's side (read_local.c). */

/* Federation.ForwardRead: a peer's gateway reads for one of its people. */
int svc_federation_forward_read(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                                ecl_err *err) ECL_WUR;

/* The frame of ReadMessage{chunk} up to the data bytes, byte-identical to
 * protobuf-c's encoding; `out` has DATA_CHUNK_FRAMING_MAX bytes. */
size_t data_chunk_head(unsigned char *out, uint32_t tensor, uint64_t offset,
                       const unsigned char digest[32], size_t data_len);

/* Open a grant of this site (grant_open_keys) with every key of its
 * verified key history, so a grant outlives a key rotation until it expires. */
int data_open_own_grant(gateway *gw, const Ecluse__V1__Grant *grant, Ecluse__V1__GrantBody **out,
                        ecl_err *err) ECL_WUR;

/* ECL_E_DENIED naming both unless the grant was issued to `spiffe`. */
int data_check_requester(const Ecluse__V1__GrantBody *g, const char *spiffe, ecl_err *err) ECL_WUR;

/* Stream a read of a dataset held here under `grant` (opened and checked
 * against the caller): audit read-start (fail closed), header, chunks,
 * read-end, trailer. `actor` is the requester's SPIFFE id; `via` the
 * relaying gateway's, or NULL. */
int data_serve_local(gateway *gw, rpc_call *call, const Ecluse__V1__ReadRequest *req,
                     const Ecluse__V1__GrantBody *grant, const char *actor, const char *via,
                     ecl_err *err) ECL_WUR;

/* The home site's side (read_relay.c): a read of a dataset held by peer
 * `holder`: check the grant with the peer's pinned key and the caller, call
 * Federation.ForwardRead and pass each message on as it arrives. */
int data_relay(gateway *gw, rpc_call *call, const Ecluse__V1__ReadRequest *req, const char *holder,
               ecl_err *err) ECL_WUR;

#endif
