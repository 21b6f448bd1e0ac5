/* gateway.c - open, serve until told to stop, close. */
#include "gateway/gateway.h"

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/log.h"
#include "common/version.h"
#include "gateway/readiness.h"
#include "gateway/reload.h"
#include "site/pki.h"
#include "site/site.h"

#define PEM_MAX (256 * 1024)

static int read_pem(const char *path, char **out, ecl_err *err)
{
    size_t len = 0;
    if (ecl_read_file(path, PEM_MAX, out, &len, err) != 0)
        return -1;
    return 0;
}

/* The certificate and key in use from the start (generation 1). */
static int load_tls(gateway *gw, ecl_err *err)
{
    gateway_tls *t = NULL;
    if (gateway_tls_load(&gw->cfg, &t, err) != 0)
        return -1;
    gateway_tls_replace(gw, t);
    return 0;
}

static void init_locks(gateway *gw)
{
    pthread_mutex_init(&gw->rotate_lock, NULL);
    pthread_mutex_init(&gw->tls_lock, NULL);
    pthread_mutex_init(&gw->catalog_lock, NULL);
    pthread_mutex_init(&gw->peers_lock, NULL);
    pthread_mutex_init(&gw->sync_lock, NULL);
    pthread_mutex_init(&gw->follow_lock, NULL);
    pthread_mutex_init(&gw->checkpoint_lock, NULL);
    pthread_mutex_init(&gw->witness_lock, NULL);
    pthread_mutex_init(&gw->erase_lock, NULL);
    pthread_rwlock_init(&gw->policy_lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&gw->sync_wake, &attr);
    pthread_cond_init(&gw->checkpointer_wake, &attr);
    pthread_condattr_destroy(&attr);
}

/* The signer's life, in the log and in the trail. A signer that cannot be
 * restarted stops the gateway: it could sign nothing more. */
static void signer_event(void *ctx, const char *event, const char *detail)
{
    gateway *gw = ctx;
    int restarted = strcmp(event, "restarted") == 0;
    int failed = strcmp(event, "restart-failed") == 0;
    char what[48], action[48];
    snprintf(what, sizeof(what), "signer.%s", event);
    snprintf(action, sizeof(action), "signer-%s", event);
    ecl_log(restarted ? ECL_LOG_WARN : ECL_LOG_ERROR, what, "detail", detail,
            failed ? "then" : NULL, "the gateway stops: nothing more can be signed", NULL);
    ecl_err err = {0};
    if (gateway_record(gw, AUDIT_KIND_ADMIN, gw->spiffe, NULL,
                       json_pack("{s:s, s:s}", "action", action, "detail", detail), NULL,
                       &err) != 0)
        ecl_log(ECL_LOG_ERROR, "signer.unrecorded", "event", event, "error", err.msg, NULL);
    if (failed)
        kill(getpid(), SIGTERM); /* gateway_serve's sigwait takes it */
}

/* The trail has one writer: wait a moment for an `ecluse pki` that holds it. */
static int take_audit_lock(gateway *gw, ecl_err *err)
{
    int rc = site_audit_lock(gw->cfg.data_dir, 10000, &gw->audit_lock, err);
    if (rc == 1)
        ecl_fail(err, ECL_E_UNAVAILABLE,
                 "%s/audit.lock: another process holds this site's audit trail (a gateway "
                 "already running on this site, or an ecluse pki command)",
                 gw->cfg.data_dir);
    return rc == 0 ? 0 : -1;
}

/* The signals gateway_serve waits for. Blocked before the first thread
 * starts (the audit writer, at gateway_open), so that every thread inherits
 * the mask: a signal that finds the main thread busy (reloading) then waits
 * for its sigwait rather than killing the process through another thread.
 * The signer is spawned with an empty mask (site/signer.c). */
static void block_control_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, set, NULL);
}

/* The erasure notices this site sent and received (federation/erasure.h);
 * the notifier delivers what is pending from its first round. */
static int open_notices(gateway *gw, ecl_err *err)
{
    char dir[PATH_MAX + 16];
    snprintf(dir, sizeof(dir), "%s/notices", gw->cfg.data_dir);
    gw->erasures_owed = 1;
    return notice_store_open(dir, &gw->notices, err);
}

/* Stream messages (up to max_message_bytes; 4 MiB chunks by default) are
 * allocated on one gRPC thread and freed on another. glibc's threshold for
 * giving such blocks their own mapping rises after the first is freed, and
 * from then on they come from per-thread arenas that keep what is freed:
 * a relaying gateway grew by 7 MiB per stream that way (docs/streaming.md,
 * "Relay memory"). A fixed threshold keeps them mapped, so freed is gone. */
static void keep_big_blocks_mapped(void)
{
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
}

int gateway_open(gateway *gw, const char *config_path, const char *exe, ecl_err *err)
{
    sigset_t signals;
    keep_big_blocks_mapped();
    block_control_signals(&signals);
    memset(gw, 0, sizeof(*gw));
    gw->audit_lock = -1;
    init_locks(gw);
    char state_dir[PATH_MAX + 8], audit_dir[PATH_MAX + 8];
    ecl_identity self;
    if (gateway_config_load(config_path, &gw->cfg, err) != 0 ||
        gateway_config_check_files(&gw->cfg, err) != 0 ||
        identity_make(gw->cfg.site, ECL_ROLE_GATEWAY, NULL, &self, err) != 0)
        goto fail;
    snprintf(gw->spiffe, sizeof(gw->spiffe), "%s", self.spiffe);
    gateway_settings_apply(gw, &gw->cfg);
    snprintf(state_dir, sizeof(state_dir), "%s/state", gw->cfg.data_dir);
    snprintf(audit_dir, sizeof(audit_dir), "%s/audit", gw->cfg.data_dir);
    audit_options audit_opts = {(size_t)gw->cfg.audit_map_mb << 20, gw->cfg.audit_group_us, 0};
    if (ecl_mkdirs(gw->cfg.data_dir, 0700, err) != 0 ||
        pki_load_cert(gw->cfg.tls_ca, &gw->ca, err) != 0 ||
        read_pem(gw->cfg.tls_ca, &gw->ca_pem, err) != 0 || load_tls(gw, err) != 0 ||
        signer_spawn_site(exe, gw->cfg.signing_key, gw->cfg.site, signer_event, gw, &gw->signer,
                          err) != 0 ||
        fed_state_open(state_dir, &gw->state, err) != 0 || take_audit_lock(gw, err) != 0 ||
        audit_open(audit_dir, &audit_opts, &gw->audit, err) != 0 ||
        gateway_policy_data_refresh(gw, err) != 0 || open_notices(gw, err) != 0)
        goto fail;
    gateway_reload_remember(gw);
    return 0;
fail:
    gateway_close(gw);
    return -1;
}

void gateway_close(gateway *gw)
{
    gateway_sync_stop(gw);
    gateway_checkpointer_stop(gw);
    while (gw->refusals != NULL) {
        witness_refusal *next = gw->refusals->next;
        free(gw->refusals);
        gw->refusals = next;
    }
    if (gw->own_catalog != NULL)
        gateway_catalog_release(gw, gw->own_catalog);
    gateway_peers_free(gw);
    gateway_erased_free(gw);
    fed_state_close(gw->state);
    notice_store_close(gw->notices);
    audit_close(gw->audit);
    if (gw->audit_lock >= 0)
        close(gw->audit_lock);
    ecl_transfer_rules_free(gw->transfer_rules);
    ecl_scc_registry_free(gw->sccs);
    pthread_rwlock_destroy(&gw->policy_lock);
    signer_free(gw->signer);
    pthread_mutex_destroy(&gw->rotate_lock);
    gateway_tls_release(gw, gw->tls);
    pthread_mutex_destroy(&gw->tls_lock);
    pthread_mutex_destroy(&gw->catalog_lock);
    pthread_mutex_destroy(&gw->peers_lock);
    pthread_mutex_destroy(&gw->sync_lock);
    pthread_mutex_destroy(&gw->follow_lock);
    pthread_mutex_destroy(&gw->checkpoint_lock);
    pthread_mutex_destroy(&gw->witness_lock);
    pthread_mutex_destroy(&gw->erase_lock);
    pthread_cond_destroy(&gw->sync_wake);
    pthread_cond_destroy(&gw->checkpointer_wake);
    X509_free(gw->ca);
    free(gw->ca_pem);
    memset(gw, 0, sizeof(*gw));
}

static void fill_rpc_options(gateway *gw)
{
    rpc_server_options *o = &gw->rpc_options;
    o->listen = gw->cfg.listen;
    o->threads = gw->cfg.threads;
    o->max_concurrent_calls = gw->cfg.max_concurrent_calls;
    o->shutdown_grace_ms = gw->cfg.shutdown_grace_ms;
    o->max_message_bytes = gw->cfg.max_message_bytes;
    o->methods = gateway_methods(&o->method_count);
    o->handler_ctx = gw;
    o->authenticate = gateway_authenticate;
    o->auth_ctx = gw;
    o->trust = gateway_trust;
    o->trust_ctx = gw;
    o->identity = gateway_identity;
    o->identity_ctx = gw;
}

/* Wait for SIGTERM or SIGINT (blocked in every thread, so they queue here),
 * reloading at each SIGHUP meanwhile: the reload runs on this thread while
 * the server's threads go on serving. */
static int wait_for_stop_signal(gateway *gw, const sigset_t *set)
{
    for (;;) {
        int sig = 0;
        if (sigwait(set, &sig) != 0)
            continue;
        if (sig == SIGTERM || sig == SIGINT)
            return sig;
        if (sig == SIGHUP) {
            ecl_err err;
            ecl_log(ECL_LOG_INFO, "reload.start", "signal", "SIGHUP", NULL);
            gateway_notify_reloading();
            int failed = gateway_reload(gw, &err) != 0;
            if (failed)
                ecl_log(ECL_LOG_ERROR, "reload.failed", "error", err.msg, "then",
                        "nothing changed: the gateway runs on as it was", NULL);
            gateway_notify_reloaded(!failed);
        }
    }
}

/* At a clean stop, the last entries are checkpointed and witnessed, so that
 * cutting the tail of a stopped site's trail is caught. The checkpoint is
 * signed here; the pushes to all peers share one short deadline, so that a
 * peer that is down or frozen cannot hold the stop. */
#define FINAL_CHECKPOINT_PUSH_MS 250

static void final_checkpoint(gateway *gw)
{
    uint64_t size;
    uint8_t root[AUDIT_HASH_BYTES];
    ecl_err err;
    if (audit_tree_head(gw->audit, &size, root, &err) != 0 || size == gw->checkpointed)
        return;
    gateway_checkpoint_result *res = malloc(sizeof(*res));
    if (res == NULL)
        return;
    atomic_store(&gw->peer_calls_give_up_at, rpc_monotonic_ms() + FINAL_CHECKPOINT_PUSH_MS);
    if (gateway_checkpoint(gw, 1, FINAL_CHECKPOINT_PUSH_MS, res, &err) != 0)
        ecl_log(ECL_LOG_WARN, "checkpoint.failed", "at", "stop", "error", err.msg, NULL);
    else
        ecl_log(ECL_LOG_INFO, "checkpoint.final", "site", gw->cfg.site, NULL);
    gateway_checkpoint_result_clear(res);
    free(res);
}

/* Every call to a peer in flight (a catalog sync, a witnessing, a relayed
 * read or access request) is cancelled rather than waited for: a peer's
 * deadline is seconds, a stop has under one. */
static void cancel_peer_calls(gateway *gw)
{
    atomic_store(&gw->stopping, 1);
    atomic_store(&gw->peer_calls_give_up_at, rpc_monotonic_ms());
}

int gateway_serve(gateway *gw, ecl_err *err)
{
    sigset_t set;
    block_control_signals(&set); /* already, since gateway_open: the set to wait for */
    signal(SIGPIPE, SIG_IGN);

    clock_gettime(CLOCK_MONOTONIC, &gw->started);
    fill_rpc_options(gw);
    rpc_library_init(1);
    if (rpc_server_start(&gw->rpc_options, &gw->server, err) != 0) {
        rpc_library_shutdown();
        return -1;
    }
    if (gateway_sync_start(gw, err) != 0 || gateway_checkpointer_start(gw, err) != 0) {
        gateway_sync_stop(gw);
        rpc_server_stop(gw->server);
        rpc_library_shutdown();
        return -1;
    }
    char port[16];
    snprintf(port, sizeof(port), "%d", rpc_server_port(gw->server));
    ecl_log(ECL_LOG_INFO, "gateway.ready", "site", gw->cfg.site, "country", gw->cfg.country,
            "listen", gw->cfg.listen, "port", port, "version", ECLUSE_VERSION, NULL);
    gateway_notify_ready(gw->cfg.site, rpc_server_port(gw->server));

    int sig = wait_for_stop_signal(gw, &set);
    char active[16];
    snprintf(active, sizeof(active), "%u", rpc_server_active_calls(gw->server));
    ecl_log(ECL_LOG_INFO, "gateway.stopping", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT",
            "active_calls", active, NULL);
    gateway_notify_stopping();
    cancel_peer_calls(gw);
    gateway_sync_stop(gw);
    gateway_checkpointer_stop(gw);
    rpc_server_stop(gw->server);
    gw->server = NULL;
    final_checkpoint(gw);
    rpc_library_shutdown();
    ecl_log(ECL_LOG_INFO, "gateway.stopped", "site", gw->cfg.site, NULL);
    return 0;
}
