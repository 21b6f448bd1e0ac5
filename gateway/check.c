/* check.c - `ecluse gateway --check`: find every problem, change nothing. */
#include "gateway/check.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <openssl/err.h>
#include <sys/stat.h>

#include "audit/audit.h"
#include "common/fileio.h"
#include "federation/state.h"
#include "policy/transfer.h"
#include "site/address.h"
#include "site/identity.h"
#include "site/pki.h"
#include "site/signer.h"

typedef struct checker {
    const gateway_check_report *report;
    size_t problems;
    ecl_err first;
} checker;

static void problem(checker *c, const ecl_err *e)
{
    if (c->problems++ == 0)
        c->first = *e;
    if (c->report->problem != NULL)
        c->report->problem(c->report->ctx, e);
}

static void config_problem(void *ctx, const ecl_err *e)
{
    problem(ctx, e);
}

static void note(checker *c, const char *fmt, const char *detail)
{
    char text[PATH_MAX + 128];
    snprintf(text, sizeof(text), fmt, detail);
    if (c->report->note != NULL)
        c->report->note(c->report->ctx, text);
}

/* The addresses again, stricter than the loader: the host must be a name
 * or an address, as `site init` requires. A bad one is bad input (3). */
static void check_addresses(checker *c, const gateway_config *cfg)
{
    const char *keys[] = {"listen", "endpoint"};
    const char *values[] = {cfg->listen, cfg->endpoint};
    for (size_t i = 0; i < 2; i++) {
        char option[PATH_MAX + 32], host[ECL_ADDR_MAX];
        snprintf(option, sizeof(option), "%s: field '%s'", cfg->path, keys[i]);
        ecl_err e;
        if (site_listen_check(option, values[i], host, sizeof(host), &e) != 0) {
            e.code = ECL_E_INPUT;
            problem(c, &e);
        }
    }
}

/* Each file on its own, then how they fit together. */
static void check_tls(checker *c, const gateway_config *cfg)
{
    X509 *ca = NULL, *cert = NULL;
    EVP_PKEY *key = NULL;
    ecl_err e;
    if (pki_load_cert(cfg->tls_ca, &ca, &e) != 0)
        problem(c, &e);
    if (pki_load_cert(cfg->tls_cert, &cert, &e) != 0)
        problem(c, &e);
    if (pki_load_key(cfg->tls_key, &key, &e) != 0)
        problem(c, &e);
    if (cert != NULL && key != NULL && X509_check_private_key(cert, key) != 1) {
        ERR_clear_error();
        ecl_fail(&e, ECL_E_INPUT, "%s does not match the certificate %s", cfg->tls_key,
                 cfg->tls_cert);
        problem(c, &e);
    }
    if (cert != NULL && ca != NULL && pki_verify_issued_by(cert, ca, &e) != 0) {
        ecl_fail(&e, ECL_E_INPUT, "%s (CA %s): %s", cfg->tls_cert, cfg->tls_ca, e.msg);
        problem(c, &e);
    }
    ecl_identity want;
    char spiffe[ECL_SPIFFE_MAX];
    if (cert != NULL && identity_make(cfg->site, ECL_ROLE_GATEWAY, NULL, &want, &e) == 0) {
        if (pki_cert_spiffe(cert, spiffe, sizeof(spiffe), &e) != 0) {
            ecl_fail(&e, ECL_E_INPUT, "%s: %s", cfg->tls_cert, e.msg);
            problem(c, &e);
        } else if (strcmp(spiffe, want.spiffe) != 0) {
            ecl_fail(&e, ECL_E_INPUT, "%s is the certificate of %s, not of %s", cfg->tls_cert,
                     spiffe, want.spiffe);
            problem(c, &e);
        }
    }
    X509_free(ca);
    X509_free(cert);
    EVP_PKEY_free(key);
}

/* Loaded as a start loads it: by a signer process, which alone reads it. */
static void check_signing_key(checker *c, const gateway_config *cfg, const char *exe)
{
    signer *s = NULL;
    ecl_err e;
    if (signer_spawn_site(exe, cfg->signing_key, cfg->site, NULL, NULL, &s, &e) != 0)
        problem(c, &e);
    signer_free(s);
}

static void check_policy_data(checker *c, const gateway_config *cfg)
{
    ecl_transfer_rules *rules = NULL;
    ecl_scc_registry *sccs = NULL;
    ecl_err e;
    if (!ecl_path_exists(cfg->transfer_rules)) {
        ecl_fail(&e, ECL_E_NOT_FOUND, "%s: the transfer rules are missing", cfg->transfer_rules);
        problem(c, &e);
    } else if (ecl_transfer_rules_load_file(cfg->transfer_rules, &rules, &e) != 0) {
        problem(c, &e);
    }
    /* No SCC file is a site that signed none, as when the gateway runs. */
    if (ecl_path_exists(cfg->sccs) && ecl_scc_registry_load_file(cfg->sccs, &sccs, &e) != 0)
        problem(c, &e);
    ecl_transfer_rules_free(rules);
    ecl_scc_registry_free(sccs);
}

/* 1 if `path` is a directory, 0 if nothing is there; else a problem, -1. */
static int is_dir(checker *c, const char *path)
{
    struct stat st;
    ecl_err e;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT)
            return 0;
        ecl_fail(&e, ECL_E_IO, "%s: %s", path, strerror(errno));
        problem(c, &e);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        ecl_fail(&e, ECL_E_IO, "%s: not a directory", path);
        problem(c, &e);
        return -1;
    }
    return 1;
}

/* The peers as the admin added them: each one's CA must parse, or the
 * gateway could not build its trust roots. */
static void check_peers(checker *c, fed_state *st, const char *state_dir)
{
    fed_peer *peers = NULL;
    size_t count = 0;
    ecl_err e;
    if (fed_state_list_peers(st, &peers, &count, &e) != 0) {
        ecl_err_prefix(&e, "%s: the peers", state_dir);
        problem(c, &e);
        return;
    }
    for (size_t i = 0; i < count; i++) {
        const char *pem = peers[i].info.ca_pem;
        X509 *ca = NULL;
        if (pki_cert_from_pem(pem, strlen(pem), &ca, &e) != 0) {
            ecl_err_prefix(&e, "%s: peer '%s': its CA certificate", state_dir, peers[i].info.site);
            problem(c, &e);
        }
        X509_free(ca);
    }
    fed_state_free_peers(peers, count);
}

static void check_state(checker *c, const char *data_dir)
{
    char dir[PATH_MAX];
    ecl_err e;
    if (ecl_path_join(dir, sizeof(dir), data_dir, "state", &e) != 0) {
        problem(c, &e);
        return;
    }
    int there = is_dir(c, dir);
    if (there == 0)
        note(c, "no federation state yet (%s): the gateway creates it at its first start", dir);
    if (there != 1)
        return;
    fed_state *st = NULL;
    if (fed_state_open_readonly(dir, &st, &e) != 0) {
        problem(c, &e);
        return;
    }
    check_peers(c, st, dir);
    fed_state_close(st);
}

static void check_audit(checker *c, const char *data_dir)
{
    char dir[PATH_MAX];
    ecl_err e;
    if (ecl_path_join(dir, sizeof(dir), data_dir, "audit", &e) != 0) {
        problem(c, &e);
        return;
    }
    int there = is_dir(c, dir);
    if (there == 0)
        note(c, "no audit trail yet (%s): the gateway creates it at its first start", dir);
    if (there != 1)
        return;
    audit_log *log = NULL;
    uint64_t count = 0;
    uint8_t head[AUDIT_HASH_BYTES];
    if (audit_open_readonly(dir, &log, &e) != 0) {
        if (e.code == ECL_E_PRECONDITION) /* a v1 trail: the gateway upgrades it */
            note(c, "%s", e.msg);
        else
            problem(c, &e);
        return;
    }
    if (audit_head(log, &count, head, &e) != 0) {
        problem(c, &e);
    } else {
        char entries[32];
        snprintf(entries, sizeof(entries), "%llu", (unsigned long long)count);
        note(c, "audit trail: %s entries", entries);
    }
    audit_close(log);
}

static void check_data_dir(checker *c, const gateway_config *cfg)
{
    int there = is_dir(c, cfg->data_dir);
    if (there == 0)
        note(c, "no data directory yet (%s): the gateway creates it at its first start",
             cfg->data_dir);
    if (there != 1)
        return;
    check_state(c, cfg->data_dir);
    check_audit(c, cfg->data_dir);
}

int gateway_check(const char *config_path, const char *exe, const gateway_check_report *report,
                  gateway_config *cfg, ecl_err *err)
{
    checker c = {report, 0, {0}};
    ecl_err e;
    gateway_config_report each = {config_problem, &c};
    if (gateway_config_load_each(config_path, cfg, &each, &e) != 0) {
        if (c.problems == 0) /* not read, or not JSON: no field to name */
            problem(&c, &e);
    } else {
        check_addresses(&c, cfg);
        check_tls(&c, cfg);
        check_signing_key(&c, cfg, exe);
        check_policy_data(&c, cfg);
        check_data_dir(&c, cfg);
    }
    if (c.problems == 0)
        return 0;
    if (c.problems == 1)
        return ecl_fail(err, c.first.code, "%s", c.first.msg);
    return ecl_fail(err, c.first.code,
                    "%s: %zu problems, each on a line above (the exit code is the first one's)",
                    config_path, c.problems);
}
