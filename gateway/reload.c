/* reload.c - SIGHUP: read everything, check it whole, then swap it in. */
#include "gateway/reload.h"

#include <sodium.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/fileio.h"
#include "common/log.h"
#include "site/pki.h"

#define POLICY_FILE_MAX (16u << 20)
#define PEM_MAX         (256 * 1024)

/* One policy data file, read and parsed, not yet in use. */
typedef struct policy_file {
    int present;
    struct timespec mtime;
    unsigned char digest[32];
} policy_file;

typedef struct staged {
    gateway_config *cfg; /* the file as it is now */
    gateway_tls *tls;
    ecl_transfer_rules *rules;
    ecl_scc_registry *sccs;
    policy_file rules_file, sccs_file;
} staged;

static void staged_free(gateway *gw, staged *s)
{
    free(s->cfg);
    gateway_tls_release(gw, s->tls);
    ecl_transfer_rules_free(s->rules);
    ecl_scc_registry_free(s->sccs);
    memset(s, 0, sizeof(*s));
}

/* Read `path` (stat first: a change after it is caught by the next look at
 * the mtime) and hash it. *text is the caller's. */
static int read_policy_file(const char *path, policy_file *f, char **text, size_t *len,
                            ecl_err *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return ecl_fail(err, ECL_E_NOT_FOUND, "%s: cannot be read: it is missing", path);
    if (ecl_read_file(path, POLICY_FILE_MAX, text, len, err) != 0)
        return -1;
    f->present = 1;
    f->mtime = st.st_mtim;
    crypto_generichash(f->digest, sizeof(f->digest), (const unsigned char *)*text, *len, NULL, 0);
    return 0;
}

static int stage_policy(const gateway_config *cfg, staged *s, ecl_err *err)
{
    char *text = NULL;
    size_t len = 0;
    int rc = read_policy_file(cfg->transfer_rules, &s->rules_file, &text, &len, err);
    if (rc == 0)
        rc = ecl_transfer_rules_parse(text, len, cfg->transfer_rules, &s->rules, err);
    free(text);
    text = NULL;
    /* The SCC file is optional, as at the start (access.c). */
    if (rc == 0 && ecl_path_exists(cfg->sccs)) {
        rc = read_policy_file(cfg->sccs, &s->sccs_file, &text, &len, err);
        if (rc == 0)
            rc = ecl_scc_registry_parse(text, len, cfg->sccs, &s->sccs, err);
        free(text);
    }
    return rc;
}

/* A new site CA would make this a new site to its peers and people. */
static int check_site_ca(gateway *gw, ecl_err *err)
{
    char *pem = NULL;
    size_t len;
    if (ecl_read_file(gw->cfg.tls_ca, PEM_MAX, &pem, &len, err) != 0)
        return -1;
    int same = strcmp(pem, gw->ca_pem) == 0;
    free(pem);
    if (!same)
        return ecl_fail(err, ECL_E_INPUT,
                        "%s: the site CA changed; a new CA needs a restart (and its peers must "
                        "add the site's new bundle)",
                        gw->cfg.tls_ca);
    return 0;
}

/* Read and check everything; nothing running is touched. */
static int stage(gateway *gw, staged *s, ecl_err *err)
{
    s->cfg = malloc(sizeof(*s->cfg));
    if (s->cfg == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    if (gateway_config_load(gw->cfg.path, s->cfg, err) != 0)
        return -1;
    if (check_site_ca(gw, err) != 0 || gateway_tls_load(&gw->cfg, &s->tls, err) != 0 ||
        stage_policy(&gw->cfg, s, err) != 0)
        return -1;
    pthread_mutex_lock(&gw->peers_lock);
    int rc = gateway_peers_current(gw, err);
    pthread_mutex_unlock(&gw->peers_lock);
    return rc;
}

/* --- the configuration: a few settings apply at once, the rest at the
 * next restart --- */

typedef enum { FIELD_TEXT, FIELD_UNSIGNED, FIELD_SIZE } field_kind;

typedef struct config_field {
    const char *name; /* as in the file */
    size_t offset;
    field_kind kind;
} config_field;

#define TEXT(name, member)                                                                         \
    {                                                                                              \
        name, offsetof(gateway_config, member), FIELD_TEXT                                         \
    }
#define UNSIGNED(name, mem)                                                                        \
    {                                                                                              \
        name, offsetof(gateway_config, mem), FIELD_UNSIGNED                                        \
    }

static const config_field config_fields[] = {
    TEXT("site", site),
    TEXT("country", country),
    TEXT("listen", listen),
    TEXT("endpoint", endpoint),
    TEXT("data_dir", data_dir),
    TEXT("tls.cert", tls_cert),
    TEXT("tls.key", tls_key),
    TEXT("tls.ca", tls_ca),
    TEXT("tls.revoked", tls_revoked),
    TEXT("signing_key", signing_key),
    TEXT("policy.transfer_rules", transfer_rules),
    TEXT("policy.sccs", sccs),
    TEXT("policy.people_dir", people_dir),
    UNSIGNED("server.threads", threads),
    {"server.max_message_bytes", offsetof(gateway_config, max_message_bytes), FIELD_SIZE},
    UNSIGNED("server.max_concurrent_calls", max_concurrent_calls),
    UNSIGNED("server.shutdown_grace_ms", shutdown_grace_ms),
    UNSIGNED("audit.map_size_mb", audit_map_mb),
    UNSIGNED("audit.group_commit_us", audit_group_us),
};

/* The settings a reload applies at once (gateway_settings): every reader
 * takes them through GATEWAY_SETTING, at its next call or round. */
typedef struct live_field {
    const char *name; /* as in the file */
    size_t cfg_offset;
    size_t live_offset;
} live_field;

#define LIVE(name, member)                                                                         \
    {                                                                                              \
        name, offsetof(gateway_config, member), offsetof(gateway_settings, member)                 \
    }

static const live_field live_fields[] = {
    LIVE("federation.catalog_refresh_seconds", catalog_refresh_s),
    LIVE("federation.catalog_validity_seconds", catalog_validity_s),
    LIVE("federation.catalog_page_entries", catalog_page_entries),
    LIVE("federation.peer_timeout_ms", peer_timeout_ms),
    LIVE("audit.checkpoint_ms", checkpoint_ms),
};

static unsigned config_unsigned(const gateway_config *cfg, size_t offset)
{
    unsigned v;
    memcpy(&v, (const char *)cfg + offset, sizeof(v));
    return v;
}

static _Atomic unsigned *live_slot(gateway *gw, size_t offset)
{
    return (_Atomic unsigned *)(void *)((char *)&gw->live + offset);
}

void gateway_settings_apply(gateway *gw, const gateway_config *cfg)
{
    for (size_t i = 0; i < sizeof(live_fields) / sizeof(live_fields[0]); i++)
        atomic_store_explicit(live_slot(gw, live_fields[i].live_offset),
                              config_unsigned(cfg, live_fields[i].cfg_offset),
                              memory_order_relaxed);
}

/* Store each live setting that differs, logging it; how many did. */
static size_t apply_live(gateway *gw, const gateway_config *fresh)
{
    size_t applied = 0;
    for (size_t i = 0; i < sizeof(live_fields) / sizeof(live_fields[0]); i++) {
        const live_field *f = &live_fields[i];
        _Atomic unsigned *slot = live_slot(gw, f->live_offset);
        unsigned was = atomic_load_explicit(slot, memory_order_relaxed);
        unsigned now = config_unsigned(fresh, f->cfg_offset);
        if (was == now)
            continue;
        atomic_store_explicit(slot, now, memory_order_relaxed);
        applied++;
        char a[16], b[16];
        snprintf(a, sizeof(a), "%u", was);
        snprintf(b, sizeof(b), "%u", now);
        ecl_log(ECL_LOG_INFO, "reload.applied", "file", gw->cfg.path, "field", f->name, "was", a,
                "now", b, NULL);
    }
    return applied;
}

static void field_text(const gateway_config *cfg, const config_field *f, char *out, size_t cap)
{
    const char *at = (const char *)cfg + f->offset;
    if (f->kind == FIELD_TEXT)
        snprintf(out, cap, "%s", at);
    else if (f->kind == FIELD_UNSIGNED)
        snprintf(out, cap, "%u", *(const unsigned *)(const void *)at);
    else
        snprintf(out, cap, "%zu", *(const size_t *)(const void *)at);
}

static void report_config(gateway *gw, const gateway_config *fresh)
{
    size_t applied = apply_live(gw, fresh), changed = 0;
    if (applied > 0) {
        /* Both threads sleep for an interval worked out from the old
         * values: wake them to work it out again. */
        gateway_sync_wake(gw);
        gateway_checkpoint_kick(gw);
    }
    for (size_t i = 0; i < sizeof(config_fields) / sizeof(config_fields[0]); i++) {
        char was[PATH_MAX], now[PATH_MAX];
        field_text(&gw->cfg, &config_fields[i], was, sizeof(was));
        field_text(fresh, &config_fields[i], now, sizeof(now));
        if (strcmp(was, now) == 0)
            continue;
        changed++;
        ecl_log(ECL_LOG_WARN, "reload.needs_restart", "file", gw->cfg.path, "field",
                config_fields[i].name, "running", was, "in_file", now, "then",
                "ignored until the gateway is restarted", NULL);
    }
    char n[24], m[24];
    snprintf(n, sizeof(n), "%zu", changed);
    snprintf(m, sizeof(m), "%zu", applied);
    ecl_log(ECL_LOG_INFO, "reload.config", "file", gw->cfg.path, "result",
            changed || applied ? "changed" : "unchanged", "fields_applied", m,
            "fields_needing_restart", n, NULL);
}

/* --- putting it in place --- */

/* Serial and fingerprint of a certificate, for the log ("?" if unreadable:
 * it was checked already). */
static void describe_cert(const char *pem, char *serial, size_t scap, char *fp, size_t fcap)
{
    X509 *cert = NULL;
    ecl_err err;
    snprintf(serial, scap, "?");
    snprintf(fp, fcap, "?");
    if (pki_cert_from_pem(pem, strlen(pem), &cert, &err) != 0)
        return;
    if (pki_cert_serial(cert, serial, scap, &err) != 0)
        snprintf(serial, scap, "?");
    if (pki_cert_fingerprint(cert, fp, fcap, &err) != 0)
        snprintf(fp, fcap, "?");
    X509_free(cert);
}

static void commit_tls(gateway *gw, staged *s)
{
    gateway_tls *running = gateway_tls_acquire(gw);
    int same = gateway_tls_same(running, s->tls);
    char old_serial[128], old_fp[128], serial[128], fp[128];
    describe_cert(running->cert_pem, old_serial, sizeof(old_serial), old_fp, sizeof(old_fp));
    gateway_tls_release(gw, running);
    if (same) {
        ecl_log(ECL_LOG_INFO, "reload.certificate", "file", gw->cfg.tls_cert, "result", "unchanged",
                "serial", old_serial, NULL);
        return;
    }
    describe_cert(s->tls->cert_pem, serial, sizeof(serial), fp, sizeof(fp));
    gateway_tls_replace(gw, s->tls);
    s->tls = NULL;
    ecl_log(ECL_LOG_INFO, "reload.certificate", "file", gw->cfg.tls_cert, "result", "changed",
            "serial", serial, "fingerprint", fp, "previous_serial", old_serial, "applies_to",
            "new connections and new channels to peers", NULL);
}

static void log_policy_file(const char *what, const char *path, const policy_file *f,
                            const unsigned char *before)
{
    const char *result = !f->present                                         ? "absent"
                         : memcmp(f->digest, before, sizeof(f->digest)) == 0 ? "unchanged"
                                                                             : "changed";
    ecl_log(ECL_LOG_INFO, what, "file", path, "result", result, NULL);
}

static void commit_policy(gateway *gw, staged *s)
{
    pthread_rwlock_wrlock(&gw->policy_lock);
    ecl_transfer_rules *old_rules = gw->transfer_rules;
    ecl_scc_registry *old_sccs = gw->sccs;
    gw->transfer_rules = s->rules;
    gw->sccs = s->sccs;
    gw->rules_mtime = s->rules_file.mtime;
    if (s->sccs_file.present)
        gw->sccs_mtime = s->sccs_file.mtime;
    pthread_rwlock_unlock(&gw->policy_lock);
    s->rules = NULL;
    s->sccs = NULL;
    ecl_transfer_rules_free(old_rules);
    ecl_scc_registry_free(old_sccs);

    log_policy_file("reload.transfer_rules", gw->cfg.transfer_rules, &s->rules_file,
                    gw->rules_digest);
    log_policy_file("reload.sccs", gw->cfg.sccs, &s->sccs_file, gw->sccs_digest);
    memcpy(gw->rules_digest, s->rules_file.digest, sizeof(gw->rules_digest));
    memcpy(gw->sccs_digest, s->sccs_file.digest, sizeof(gw->sccs_digest));
}

static void report_trust(gateway *gw)
{
    pthread_mutex_lock(&gw->peers_lock);
    char n[24];
    snprintf(n, sizeof(n), "%zu", gw->peers.count);
    pthread_mutex_unlock(&gw->peers_lock);
    ecl_log(ECL_LOG_INFO, "reload.trust", "site_ca", gw->cfg.tls_ca, "result", "unchanged",
            "peer_cas", n, NULL);
}

int gateway_reload(gateway *gw, ecl_err *err)
{
    staged s;
    memset(&s, 0, sizeof(s));
    if (stage(gw, &s, err) != 0) {
        staged_free(gw, &s);
        return -1;
    }
    report_config(gw, s.cfg);
    commit_tls(gw, &s);
    report_trust(gw);
    commit_policy(gw, &s);
    staged_free(gw, &s);
    ecl_log(ECL_LOG_INFO, "reload.done", "site", gw->cfg.site, NULL);
    return 0;
}

static void remember_file(const char *path, unsigned char digest[32])
{
    char *text = NULL;
    size_t len = 0;
    ecl_err err;
    memset(digest, 0, 32);
    if (ecl_path_exists(path) && ecl_read_file(path, POLICY_FILE_MAX, &text, &len, &err) == 0)
        crypto_generichash(digest, 32, (const unsigned char *)text, len, NULL, 0);
    free(text);
}

void gateway_reload_remember(gateway *gw)
{
    remember_file(gw->cfg.transfer_rules, gw->rules_digest);
    remember_file(gw->cfg.sccs, gw->sccs_digest);
}
