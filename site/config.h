/*
 * config.h - a gateway's configuration file.
 *
 * The file is JSON (docs/operations.md has the reference). Relative paths in
 * it are relative to the directory of the file, so a site directory can be
 * moved as a whole. Unknown keys are errors: a misspelt key must not be
 * silently ignored on a border gateway.
 *
 *   {
 *     "site": "fi",
 *     "country": "FI",
 *     "listen": "127.0.0.1:7443",
 *     "endpoint": "127.0.0.1:7443",
 *     "data_dir": "data",
 *     "tls": {"cert": "gateway/gateway.crt", "key": "gateway/gateway.key", "ca": "ca/ca.crt"},
 *     "signing_key": "keys/site.key",
 *     "server": {"threads": 2, "max_message_bytes": 16777216,
 *                "max_concurrent_calls": 2048, "shutdown_grace_ms": 300},
 *     "federation": {"catalog_refresh_seconds": 300, "catalog_validity_seconds": 86400,
 *                    "catalog_page_entries": 1000, "peer_timeout_ms": 10000},
 *     "audit": {"map_size_mb": 1024, "group_commit_us": 200, "checkpoint_ms": 1000},
 *     "policy": {"transfer_rules": "policy/transfer_rules.json", "sccs": "policy/sccs.json",
 *                "people_dir": "people"}
 *   }
 */
#ifndef ECLUSE_SITE_CONFIG_H
#define ECLUSE_SITE_CONFIG_H

#include <limits.h>
#include <stddef.h>

#include "common/err.h"
#include "site/identity.h"

#define ECL_ADDR_MAX 256

typedef struct gateway_config {
    char path[PATH_MAX]; /* the file it was read from */
    char dir[PATH_MAX];  /* its directory: base of relative paths */
    char site[ECL_SITE_ID_MAX];
    char country[3];
    char listen[ECL_ADDR_MAX];   /* host:port the gateway binds */
    char endpoint[ECL_ADDR_MAX]; /* host:port peers dial; defaults to listen */
    char data_dir[PATH_MAX];
    char tls_cert[PATH_MAX];
    char tls_key[PATH_MAX];
    char tls_ca[PATH_MAX];
    char tls_revoked[PATH_MAX]; /* revoked people's certificates (site.h); may not exist */
    char signing_key[PATH_MAX];
    char transfer_rules[PATH_MAX]; /* EEA and adequacy decisions (policy/transfer.h) */
    char sccs[PATH_MAX];           /* standard contractual clauses per recipient site */
    char people_dir[PATH_MAX];     /* what the site knows of its people */
    unsigned threads;              /* completion-queue threads */
    size_t max_message_bytes;      /* largest message received or sent */
    unsigned max_concurrent_calls; /* calls beyond are RESOURCE_EXHAUSTED */
    unsigned shutdown_grace_ms;    /* in-flight calls get this long on SIGTERM */
    unsigned catalog_refresh_s;    /* how often peers' catalogs are fetched */
    unsigned catalog_validity_s;   /* how long this site's signed catalog is valid */
    unsigned catalog_page_entries; /* entries per page when serving the catalog */
    unsigned peer_timeout_ms;      /* deadline of a call to a peer */
    unsigned audit_map_mb;         /* LMDB map of the audit trail */
    unsigned audit_group_us;       /* group commit: how long to wait for more entries */
    unsigned checkpoint_ms;        /* how often, while entries are pending, a checkpoint is
                                      signed and witnessed */
} gateway_config;

/* Read and validate `path` into `cfg` (all paths made absolute-or-relative to
 * cfg->dir). Fails with ECL_E_NOT_FOUND/ECL_E_IO if the file cannot be read,
 * ECL_E_INPUT naming the field and the problem otherwise. Does not touch the
 * files it names: gateway_config_check_files does that. */
int gateway_config_load(const char *path, gateway_config *cfg, ecl_err *err) ECL_WUR;

/* Where gateway_config_load_each hands each problem it finds. */
typedef struct gateway_config_report {
    void (*problem)(void *ctx, const ecl_err *problem);
    void *ctx;
} gateway_config_report;

/* gateway_config_load that goes on after a problem (`ecluse gateway
 * --check`): each problem goes to report->problem (ECL_E_INPUT naming the
 * field) and the load fails at the end. The top-level settings and the
 * tls ones are checked one by one; server, federation, audit and policy
 * each report their first problem. A file that cannot be read or is not a
 * JSON object is one problem, returned in *err only. */
int gateway_config_load_each(const char *path, gateway_config *cfg,
                             const gateway_config_report *report, ecl_err *err) ECL_WUR;

/* Check what the config names: the certificate, key and CA load, the key
 * matches the certificate, the certificate is this site's gateway identity,
 * issued by the CA and valid now. One error, naming the file and the
 * problem. The signing key is checked by the signer process that alone
 * reads it (site/signer.h). */
int gateway_config_check_files(const gateway_config *cfg, ecl_err *err) ECL_WUR;

/* Write a config for a new site, with the layout `ecluse site init` creates,
 * into `path` (refuses to overwrite). */
int gateway_config_write_new(const char *path, const char *site, const char *country,
                             const char *listen, ecl_err *err) ECL_WUR;

#endif
