#include "site/config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "site/country.h"
#include "site/pki.h"
#include "site/sitekey.h"

#define CONFIG_MAX_BYTES (1 << 20)

/* Reading one object's fields with errors that name the field. */
typedef struct {
    const char *file;
    const char *section; /* "" for the top level */
    json_t *obj;
    ecl_err *err;
    const gateway_config_report *report; /* NULL: stop at the first problem */
    size_t *problems;
} fields;

/* After a step failed: stop (-1), or, when every problem is wanted, hand
 * this one on and go on with the next step (0). */
static int problem(const fields *f)
{
    (*f->problems)++;
    if (f->report == NULL)
        return -1;
    f->report->problem(f->report->ctx, f->err);
    return 0;
}

/* A step of a loader: stop or go on after a failure, as problem() says. */
#define STEP(f, call)                                                                              \
    do {                                                                                           \
        if ((call) != 0 && problem(f) != 0)                                                        \
            return -1;                                                                             \
    } while (0)

static int field_fail(const fields *f, const char *key, const char *fmt, const char *detail)
{
    char why[256];
    snprintf(why, sizeof(why), fmt, detail);
    return ecl_fail(f->err, ECL_E_INPUT, "%s: field '%s%s%s': %s", f->file, f->section,
                    f->section[0] ? "." : "", key, why);
}

static int get_string(const fields *f, const char *key, int required, char *out, size_t cap)
{
    json_t *v = json_object_get(f->obj, key);
    if (v == NULL) {
        if (required)
            return field_fail(f, key, "%s", "is required");
        return 0;
    }
    if (!json_is_string(v))
        return field_fail(f, key, "%s", "must be a string");
    const char *s = json_string_value(v);
    if (strlen(s) == 0)
        return field_fail(f, key, "%s", "must not be empty");
    if (strlen(s) >= cap)
        return field_fail(f, key, "%s", "is too long");
    memcpy(out, s, strlen(s) + 1);
    return 0;
}

static int get_uint(const fields *f, const char *key, unsigned long long min,
                    unsigned long long max, unsigned long long *out)
{
    json_t *v = json_object_get(f->obj, key);
    if (v == NULL)
        return 0; /* keeps the default already in *out */
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return field_fail(f, key, "%s", "must be a non-negative integer");
    unsigned long long n = (unsigned long long)json_integer_value(v);
    if (n < min || n > max) {
        char range[96];
        snprintf(range, sizeof(range), "must be between %llu and %llu", min, max);
        return field_fail(f, key, "%s", range);
    }
    *out = n;
    return 0;
}

static int reject_unknown(const fields *f, const char *const *known)
{
    const char *key;
    json_t *value;
    json_object_foreach(f->obj, key, value)
    {
        (void)value;
        int ok = 0;
        for (size_t i = 0; known[i] != NULL; i++)
            ok |= strcmp(key, known[i]) == 0;
        if (!ok)
            return field_fail(f, key, "%s", "is not a known setting (misspelt?)");
    }
    return 0;
}

static int get_path(const fields *f, const gateway_config *cfg, const char *key, char *out)
{
    char raw[PATH_MAX];
    if (get_string(f, key, 1, raw, sizeof(raw)) != 0)
        return -1;
    return ecl_path_join(out, PATH_MAX, cfg->dir, raw, f->err);
}

/* host:port with a port in 1..65535; IPv6 hosts in brackets. */
static int check_address(const fields *f, const char *key, const char *addr)
{
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || colon == addr)
        return field_fail(f, key, "'%s' is not host:port", addr);
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || port < 1 || port > 65535)
        return field_fail(f, key, "'%s' has no valid port (1-65535)", addr);
    return 0;
}

static int load_site(const fields *top, gateway_config *cfg)
{
    if (get_string(top, "site", 1, cfg->site, sizeof(cfg->site)) != 0)
        return -1;
    if (!site_id_is_valid(cfg->site))
        return field_fail(top, "site", "'%s' is not a valid site id (a-z, 0-9, '-')", cfg->site);
    return 0;
}

static int load_country(const fields *top, gateway_config *cfg)
{
    char country[16];
    if (get_string(top, "country", 1, country, sizeof(country)) != 0)
        return -1;
    if (strlen(country) != 2)
        return field_fail(top, "country", "'%s' is not an ISO 3166-1 alpha-2 code", country);
    memcpy(cfg->country, country, 3);
    if (!country_is_valid(cfg->country))
        return field_fail(top, "country", "'%s' is not an ISO 3166-1 alpha-2 code", cfg->country);
    return 0;
}

static int load_addresses(const fields *top, gateway_config *cfg)
{
    if (get_string(top, "listen", 1, cfg->listen, sizeof(cfg->listen)) != 0 ||
        check_address(top, "listen", cfg->listen) != 0)
        return -1;
    memcpy(cfg->endpoint, cfg->listen, sizeof(cfg->endpoint));
    return 0;
}

static int load_endpoint(const fields *top, gateway_config *cfg)
{
    if (get_string(top, "endpoint", 0, cfg->endpoint, sizeof(cfg->endpoint)) != 0)
        return -1;
    /* Without one, it is the listen address, already checked (or reported). */
    return cfg->endpoint[0] == '\0' ? 0 : check_address(top, "endpoint", cfg->endpoint);
}

static int load_top(const fields *top, gateway_config *cfg)
{
    static const char *const known[] = {"site",       "country", "listen",      "endpoint",
                                        "data_dir",   "tls",     "signing_key", "server",
                                        "federation", "audit",   "policy",      NULL};
    STEP(top, reject_unknown(top, known));
    STEP(top, load_site(top, cfg));
    STEP(top, load_country(top, cfg));
    STEP(top, load_addresses(top, cfg));
    STEP(top, load_endpoint(top, cfg));
    STEP(top, get_path(top, cfg, "data_dir", cfg->data_dir));
    STEP(top, get_path(top, cfg, "signing_key", cfg->signing_key));
    return 0;
}

static int load_tls(const fields *top, gateway_config *cfg)
{
    json_t *tls = json_object_get(top->obj, "tls");
    if (tls == NULL || !json_is_object(tls)) {
        STEP(top, field_fail(top, "tls", "%s", "is required: an object with cert, key and ca"));
        return 0;
    }
    fields f = *top;
    f.section = "tls";
    f.obj = tls;
    static const char *const known[] = {"cert", "key", "ca", "revoked", NULL};
    STEP(&f, reject_unknown(&f, known));
    STEP(&f, get_path(&f, cfg, "cert", cfg->tls_cert));
    STEP(&f, get_path(&f, cfg, "key", cfg->tls_key));
    STEP(&f, get_path(&f, cfg, "ca", cfg->tls_ca));
    char revoked[PATH_MAX] = "ca/revoked.json";
    STEP(&f, get_string(&f, "revoked", 0, revoked, sizeof(revoked)) != 0 ||
                 ecl_path_join(cfg->tls_revoked, PATH_MAX, cfg->dir, revoked, top->err) != 0);
    return 0;
}

static int load_server(const fields *top, gateway_config *cfg)
{
    cfg->threads = 2;
    cfg->max_message_bytes = 16u << 20;
    cfg->max_concurrent_calls = 2048;
    cfg->shutdown_grace_ms = 300;
    json_t *server = json_object_get(top->obj, "server");
    if (server == NULL)
        return 0;
    if (!json_is_object(server))
        return field_fail(top, "server", "%s", "must be an object");
    fields f = *top;
    f.section = "server";
    f.obj = server;
    static const char *const known[] = {"threads", "max_message_bytes", "max_concurrent_calls",
                                        "shutdown_grace_ms", NULL};
    unsigned long long threads = cfg->threads, msg = cfg->max_message_bytes,
                       calls = cfg->max_concurrent_calls, grace = cfg->shutdown_grace_ms;
    if (reject_unknown(&f, known) != 0 || get_uint(&f, "threads", 1, 64, &threads) != 0 ||
        get_uint(&f, "max_message_bytes", 1 << 16, 64u << 20, &msg) != 0 ||
        get_uint(&f, "max_concurrent_calls", 1, 100000, &calls) != 0 ||
        get_uint(&f, "shutdown_grace_ms", 0, 60000, &grace) != 0)
        return -1;
    cfg->threads = (unsigned)threads;
    cfg->max_message_bytes = (size_t)msg;
    cfg->max_concurrent_calls = (unsigned)calls;
    cfg->shutdown_grace_ms = (unsigned)grace;
    return 0;
}

static int load_federation(const fields *top, gateway_config *cfg)
{
    cfg->catalog_refresh_s = 300;
    cfg->catalog_validity_s = 86400;
    cfg->catalog_page_entries = 1000;
    cfg->peer_timeout_ms = 10000;
    json_t *fed = json_object_get(top->obj, "federation");
    if (fed == NULL)
        return 0;
    if (!json_is_object(fed))
        return field_fail(top, "federation", "%s", "must be an object");
    fields f = *top;
    f.section = "federation";
    f.obj = fed;
    static const char *const known[] = {"catalog_refresh_seconds", "catalog_validity_seconds",
                                        "catalog_page_entries", "peer_timeout_ms", NULL};
    unsigned long long refresh = cfg->catalog_refresh_s, validity = cfg->catalog_validity_s,
                       page = cfg->catalog_page_entries, timeout = cfg->peer_timeout_ms;
    if (reject_unknown(&f, known) != 0 ||
        get_uint(&f, "catalog_refresh_seconds", 1, 7 * 86400, &refresh) != 0 ||
        get_uint(&f, "catalog_validity_seconds", 60, 365 * 86400, &validity) != 0 ||
        get_uint(&f, "catalog_page_entries", 1, 100000, &page) != 0 ||
        get_uint(&f, "peer_timeout_ms", 100, 600000, &timeout) != 0)
        return -1;
    if (validity <= refresh)
        return field_fail(&f, "catalog_validity_seconds", "%s",
                          "must be longer than catalog_refresh_seconds, or peers would see "
                          "the catalog expire between refreshes");
    cfg->catalog_refresh_s = (unsigned)refresh;
    cfg->catalog_validity_s = (unsigned)validity;
    cfg->catalog_page_entries = (unsigned)page;
    cfg->peer_timeout_ms = (unsigned)timeout;
    return 0;
}

static int load_audit(const fields *top, gateway_config *cfg)
{
    cfg->audit_map_mb = 1024;
    cfg->audit_group_us = 200;
    cfg->checkpoint_ms = 1000;
    json_t *audit = json_object_get(top->obj, "audit");
    if (audit == NULL)
        return 0;
    if (!json_is_object(audit))
        return field_fail(top, "audit", "%s", "must be an object");
    fields f = *top;
    f.section = "audit";
    f.obj = audit;
    static const char *const known[] = {"map_size_mb", "group_commit_us", "checkpoint_ms", NULL};
    unsigned long long map = cfg->audit_map_mb, group = cfg->audit_group_us,
                       ckpt = cfg->checkpoint_ms;
    if (reject_unknown(&f, known) != 0 || get_uint(&f, "map_size_mb", 1, 1u << 20, &map) != 0 ||
        get_uint(&f, "group_commit_us", 0, 100000, &group) != 0 ||
        get_uint(&f, "checkpoint_ms", 10, 3600000, &ckpt) != 0)
        return -1;
    cfg->audit_map_mb = (unsigned)map;
    cfg->audit_group_us = (unsigned)group;
    cfg->checkpoint_ms = (unsigned)ckpt;
    return 0;
}

/* Paths of the policy data; absent keys take the layout of `site init`. */
static int load_policy_paths(const fields *top, gateway_config *cfg)
{
    json_t *pol = json_object_get(top->obj, "policy");
    if (pol != NULL && !json_is_object(pol))
        return field_fail(top, "policy", "%s", "must be an object");
    fields f = *top;
    f.section = "policy";
    f.obj = pol ? pol : json_object();
    static const char *const known[] = {"transfer_rules", "sccs", "people_dir", NULL};
    struct {
        const char *key, *fallback;
        char *out;
    } paths[] = {{"transfer_rules", "policy/transfer_rules.json", cfg->transfer_rules},
                 {"sccs", "policy/sccs.json", cfg->sccs},
                 {"people_dir", "people", cfg->people_dir}};
    int rc = reject_unknown(&f, known);
    for (size_t i = 0; rc == 0 && i < sizeof(paths) / sizeof(paths[0]); i++) {
        char raw[PATH_MAX];
        snprintf(raw, sizeof(raw), "%s", paths[i].fallback);
        rc = get_string(&f, paths[i].key, 0, raw, sizeof(raw));
        if (rc == 0)
            rc = ecl_path_join(paths[i].out, PATH_MAX, cfg->dir, raw, top->err);
    }
    if (pol == NULL)
        json_decref(f.obj);
    return rc;
}

/* load_top and load_tls report their own problems, step by step; each
 * other part stops at its first. */
static int load_all(const fields *top, gateway_config *cfg)
{
    if (load_top(top, cfg) != 0 || load_tls(top, cfg) != 0)
        return -1;
    STEP(top, load_server(top, cfg));
    STEP(top, load_federation(top, cfg));
    STEP(top, load_audit(top, cfg));
    STEP(top, load_policy_paths(top, cfg));
    return 0;
}

int gateway_config_load(const char *path, gateway_config *cfg, ecl_err *err)
{
    return gateway_config_load_each(path, cfg, NULL, err);
}

int gateway_config_load_each(const char *path, gateway_config *cfg,
                             const gateway_config_report *report, ecl_err *err)
{
    memset(cfg, 0, sizeof(*cfg));
    char *text = NULL;
    size_t len = 0;
    if (ecl_read_file(path, CONFIG_MAX_BYTES, &text, &len, err) != 0)
        return ecl_err_prefix(err, "config");
    snprintf(cfg->path, sizeof(cfg->path), "%s", path);
    if (ecl_path_dirname(cfg->dir, sizeof(cfg->dir), path, err) != 0)
        return ecl_err_prefix(err, "config");

    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    if (root == NULL)
        return ecl_fail(err, ECL_E_INPUT, "%s: line %d, column %d: %s", path, jerr.line,
                        jerr.column, jerr.text);
    int rc = -1;
    if (!json_is_object(root)) {
        ecl_fail(err, ECL_E_INPUT, "%s: the configuration must be a JSON object", path);
        goto out;
    }
    size_t problems = 0;
    fields top = {path, "", root, err, report, &problems};
    /* Each part on its own: with a report, a problem in one does not hide
     * those in the next. Without, the first problem ends the load. */
    if (load_all(&top, cfg) != 0 || problems > 0)
        goto out;
    rc = 0;
out:
    json_decref(root);
    return rc;
}

int gateway_config_check_files(const gateway_config *cfg, ecl_err *err)
{
    ecl_identity want;
    if (identity_make(cfg->site, ECL_ROLE_GATEWAY, NULL, &want, err) != 0)
        return -1;
    /* The signing key is not read here: only the signer process opens it
     * (site/signer.h), and reports what is wrong with it as it starts. */
    if (pki_check_identity_files(cfg->tls_cert, cfg->tls_key, cfg->tls_ca, want.spiffe, err) == 0)
        return 0;
    /* A certificate that does not verify is a bad file of this site (exit
     * 3), not a caller refused (the category pki gives it). */
    if (err != NULL && err->code == ECL_E_AUTH)
        err->code = ECL_E_INPUT;
    return -1;
}

int gateway_config_write_new(const char *path, const char *site, const char *country,
                             const char *listen, ecl_err *err)
{
    json_t *root = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s}, s:s, s:{s:i, s:i, s:i, s:i}, "
        "s:{s:i, s:i, s:i, s:i}, s:{s:i, s:i, s:i}, s:{s:s, s:s, s:s}}",
        "site", site, "country", country, "listen", listen, "endpoint", listen, "data_dir", "data",
        "tls", "cert", "gateway/gateway.crt", "key", "gateway/gateway.key", "ca", "ca/ca.crt",
        "signing_key", "keys/site.key", "server", "threads", 2, "max_message_bytes", 16 << 20,
        "max_concurrent_calls", 2048, "shutdown_grace_ms", 300, "federation",
        "catalog_refresh_seconds", 300, "catalog_validity_seconds", 86400, "catalog_page_entries",
        1000, "peer_timeout_ms", 10000, "audit", "map_size_mb", 1024, "group_commit_us", 200,
        "checkpoint_ms", 1000, "policy", "transfer_rules", "policy/transfer_rules.json", "sccs",
        "policy/sccs.json", "people_dir", "people");
    if (root == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "cannot build the configuration");
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (text == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "cannot encode the configuration");
    size_t n = strlen(text);
    char *with_newline = realloc(text, n + 2);
    if (with_newline == NULL) {
        free(text);
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    }
    with_newline[n] = '\n';
    int rc = ecl_write_file(path, with_newline, n + 1, 0644, ECL_WRITE_EXCLUSIVE, err);
    free(with_newline);
    return rc;
}
