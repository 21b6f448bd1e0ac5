#include "site/site.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "common/fileio.h"
#include "site/config.h"
#include "site/country.h"
#include "site/pki.h"
#include "site/sitekey.h"

static int join(char *out, const char *dir, const char *name, ecl_err *err)
{
    return ecl_path_join(out, PATH_MAX, dir, name, err);
}

static int make_dirs(const char *dir, ecl_err *err)
{
    static const char *const private_dirs[] = {"ca",         "gateway", "keys",  "data",
                                               "identities", "policy",  "people"};
    if (ecl_mkdirs(dir, 0755, err) != 0)
        return -1;
    char path[PATH_MAX];
    for (size_t i = 0; i < sizeof(private_dirs) / sizeof(private_dirs[0]); i++)
        if (join(path, dir, private_dirs[i], err) != 0 || ecl_mkdirs(path, 0700, err) != 0)
            return -1;
    return 0;
}

/* The host part of host:port ("[::1]:7443" gives "::1"). */
static void listen_host(const char *listen, char *out, size_t cap)
{
    const char *colon = strrchr(listen, ':');
    size_t n = colon ? (size_t)(colon - listen) : strlen(listen);
    if (n >= 2 && listen[0] == '[' && listen[n - 1] == ']') {
        listen++;
        n -= 2;
    }
    if (n >= cap)
        n = cap - 1;
    memcpy(out, listen, n);
    out[n] = '\0';
}

/* The gateway's certificate and key under `cert_name`/`key_name` in dir/gateway. */
static int issue_gateway_files(const char *dir, const char *site, X509 *ca, EVP_PKEY *ca_key,
                               const char *listen, const char *const *extra, long days,
                               const char *cert_name, const char *key_name, ecl_err *err);

static int write_gateway_identity(const site_init_options *o, X509 *ca, EVP_PKEY *ca_key,
                                  const char *listen, ecl_err *err)
{
    return issue_gateway_files(o->dir, o->site, ca, ca_key, listen, o->host_names,
                               o->gateway_days > 0 ? o->gateway_days : 365, "gateway/gateway.crt",
                               "gateway/gateway.key", err);
}

static int issue_gateway_files(const char *dir, const char *site, X509 *ca, EVP_PKEY *ca_key,
                               const char *listen, const char *const *extra, long days,
                               const char *cert_name, const char *key_name, ecl_err *err)
{
    char host[256];
    listen_host(listen, host, sizeof(host));
    const char *names[16];
    size_t n = 0;
    names[n++] = "localhost";
    if (strcmp(host, "localhost") != 0 && host[0] != '\0' && strcmp(host, "0.0.0.0") != 0)
        names[n++] = host;
    if (strcmp(host, "127.0.0.1") != 0)
        names[n++] = "127.0.0.1";
    for (size_t i = 0; extra != NULL && extra[i] != NULL && n < 15; i++)
        names[n++] = extra[i];
    names[n] = NULL;
    ecl_identity id;
    if (identity_make(site, ECL_ROLE_GATEWAY, NULL, &id, err) != 0)
        return -1;
    pki_leaf_request req = {id.spiffe, names, 0, days};
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    char cert_path[PATH_MAX], key_path[PATH_MAX];
    int rc = -1;
    if (pki_issue(ca, ca_key, &req, &cert, &key, err) == 0 &&
        join(cert_path, dir, cert_name, err) == 0 && join(key_path, dir, key_name, err) == 0 &&
        pki_write_key(key_path, key, err) == 0 && pki_write_cert(cert_path, cert, err) == 0)
        rc = 0;
    X509_free(cert);
    EVP_PKEY_free(key);
    return rc;
}

extern const char ecl_default_transfer_rules[];

/* The shipped transfer rules, and an empty SCC registry for this site. */
static int write_policy_data(const site_init_options *o, ecl_err *err)
{
    char rules[PATH_MAX], sccs[PATH_MAX], text[256];
    if (join(rules, o->dir, "policy/transfer_rules.json", err) != 0 ||
        join(sccs, o->dir, "policy/sccs.json", err) != 0)
        return -1;
    snprintf(text, sizeof(text),
             "{\n  \"ecluse_sccs\": 1,\n  \"site\": \"%s\",\n  \"sccs\": []\n}\n", o->site);
    if (ecl_write_file(rules, ecl_default_transfer_rules, strlen(ecl_default_transfer_rules), 0644,
                       ECL_WRITE_EXCLUSIVE, err) != 0 ||
        ecl_write_file(sccs, text, strlen(text), 0644, ECL_WRITE_EXCLUSIVE, err) != 0)
        return -1;
    return 0;
}

static int check_init_options(const site_init_options *o, ecl_err *err)
{
    if (!site_id_is_valid(o->site))
        return ecl_fail(err, ECL_E_USAGE,
                        "--site '%s' is not a valid site id: 1-63 of a-z, 0-9 and '-'",
                        o->site ? o->site : "");
    if (!country_is_valid(o->country))
        return ecl_fail(err, ECL_E_USAGE,
                        "--country '%s' is not an ISO 3166-1 alpha-2 code (e.g. FI, LU, DE)",
                        o->country ? o->country : "");
    if (o->dir == NULL || o->dir[0] == '\0')
        return ecl_fail(err, ECL_E_USAGE, "--dir is required");
    return 0;
}

int site_init(const site_init_options *o, ecl_err *err)
{
    if (check_init_options(o, err) != 0)
        return -1;
    const char *listen = o->listen ? o->listen : "127.0.0.1:7443";
    char config_path[PATH_MAX], ca_key_path[PATH_MAX], ca_cert_path[PATH_MAX], sign_path[PATH_MAX];
    if (join(config_path, o->dir, "ecluse.json", err) != 0 ||
        join(ca_key_path, o->dir, "ca/ca.key", err) != 0 ||
        join(ca_cert_path, o->dir, "ca/ca.crt", err) != 0 ||
        join(sign_path, o->dir, "keys/site.key", err) != 0)
        return -1;
    if (ecl_path_exists(config_path) || ecl_path_exists(ca_key_path) || ecl_path_exists(sign_path))
        return ecl_fail(err, ECL_E_EXISTS,
                        "%s already holds a site; refusing to overwrite its keys", o->dir);
    if (make_dirs(o->dir, err) != 0)
        return -1;

    X509 *ca = NULL;
    EVP_PKEY *ca_key = NULL;
    site_key signing;
    int rc = -1;
    if (pki_make_ca(o->site, o->ca_days > 0 ? o->ca_days : 3650, &ca, &ca_key, err) != 0 ||
        pki_write_key(ca_key_path, ca_key, err) != 0 ||
        pki_write_cert(ca_cert_path, ca, err) != 0 ||
        write_gateway_identity(o, ca, ca_key, listen, err) != 0)
        goto out;
    if (site_key_generate(&signing, err) != 0)
        goto out;
    int saved = site_key_save(&signing, sign_path, err);
    site_key_wipe(&signing);
    if (saved != 0)
        goto out;
    if (write_policy_data(o, err) != 0)
        goto out;
    /* The config last: its presence means "a complete site is here". */
    if (gateway_config_write_new(config_path, o->site, o->country, listen, err) != 0)
        goto out;
    rc = 0;
out:
    X509_free(ca);
    EVP_PKEY_free(ca_key);
    return rc;
}

static int write_identity_json(const char *dir, const ecl_identity *id, const char *endpoint,
                               X509 *cert, ecl_err *err)
{
    time_t not_after = 0;
    if (pki_cert_not_after(cert, &not_after, err) != 0)
        return -1;
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "spiffe", id->spiffe, "site",
                            id->site, "role", role_name(id->role), "name", id->name, "gateway",
                            endpoint, "not_after", (json_int_t)not_after);
    char *text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    if (text == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "cannot encode identity.json");
    char path[PATH_MAX];
    int rc = join(path, dir, "identity.json", err) == 0
                 ? ecl_write_file(path, text, strlen(text), 0644, ECL_WRITE_EXCLUSIVE, err)
                 : -1;
    free(text);
    return rc;
}

static int copy_file(const char *from, const char *to, ecl_err *err)
{
    char *data = NULL;
    size_t len = 0;
    if (ecl_read_file(from, 1 << 20, &data, &len, err) != 0)
        return -1;
    int rc = ecl_write_file(to, data, len, 0644, ECL_WRITE_EXCLUSIVE, err);
    free(data);
    return rc;
}

static int write_person_record(const gateway_config *cfg, const ecl_identity *id,
                               const person_issue_options *o, X509 *cert, ecl_err *err)
{
    time_t not_after = 0;
    if (pki_cert_not_after(cert, &not_after, err) != 0)
        return -1;
    char path[PATH_MAX], leaf[160];
    snprintf(leaf, sizeof(leaf), "%s-%s.json", role_name(id->role), id->name);
    if (ecl_mkdirs(cfg->people_dir, 0700, err) != 0 ||
        ecl_path_join(path, sizeof(path), cfg->people_dir, leaf, err) != 0)
        return -1;
    char serial[128];
    if (pki_cert_serial(cert, serial, sizeof(serial), err) != 0)
        return -1;
    json_t *doc = json_pack("{s:s, s:s, s:s, s:I, s:s}", "spiffe", id->spiffe, "affiliation",
                            o->affiliation ? o->affiliation : "", "organisation_type",
                            o->org_type ? o->org_type : "", "not_after", (json_int_t)not_after,
                            "serial", serial);
    char *text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    if (text == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "cannot encode the person's record");
    /* Re-issuing to the same person replaces what the site attests of them. */
    int rc = ecl_write_file(path, text, strlen(text), 0600, ECL_WRITE_REPLACE, err);
    free(text);
    return rc;
}

int site_person_record(const char *people_dir, const ecl_identity *id, person_record *out,
                       ecl_err *err)
{
    memset(out, 0, sizeof(*out));
    char path[PATH_MAX], leaf[160];
    snprintf(leaf, sizeof(leaf), "%s-%s.json", role_name(id->role), id->name);
    if (ecl_path_join(path, sizeof(path), people_dir, leaf, err) != 0)
        return -1;
    char *text = NULL;
    size_t len = 0;
    ecl_err read_err;
    if (ecl_read_file(path, 65536, &text, &len, &read_err) != 0)
        return read_err.code == ECL_E_NOT_FOUND ? 0
                                                : ecl_fail(err, read_err.code, "%s", read_err.msg);
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, 0, &jerr);
    free(text);
    if (doc == NULL)
        return ecl_fail(err, ECL_E_INPUT, "%s: line %d: %s", path, jerr.line, jerr.text);
    const char *aff = json_string_value(json_object_get(doc, "affiliation"));
    const char *org = json_string_value(json_object_get(doc, "organisation_type"));
    snprintf(out->affiliation, sizeof(out->affiliation), "%s", aff ? aff : "");
    snprintf(out->org_type, sizeof(out->org_type), "%s", org ? org : "");
    json_decref(doc);
    return 0;
}

int site_issue_person(const person_issue_options *o, char *out, size_t cap, ecl_err *err)
{
    if (o->org_type != NULL && strcmp(o->org_type, "academic") != 0 &&
        strcmp(o->org_type, "non-profit") != 0 && strcmp(o->org_type, "commercial") != 0)
        return ecl_fail(err, ECL_E_USAGE,
                        "--org-type '%s' is not academic, non-profit or commercial", o->org_type);
    if (o->role != ECL_ROLE_RESEARCHER && o->role != ECL_ROLE_AUDITOR && o->role != ECL_ROLE_ADMIN)
        return ecl_fail(err, ECL_E_USAGE, "--role must be researcher, auditor or admin");
    if (o->days <= 0 || o->days > 3650)
        return ecl_fail(err, ECL_E_USAGE, "--days must be between 1 and 3650");
    char config_path[PATH_MAX];
    gateway_config cfg;
    if (join(config_path, o->site_dir, "ecluse.json", err) != 0 ||
        gateway_config_load(config_path, &cfg, err) != 0)
        return -1;
    ecl_identity id;
    if (identity_make(cfg.site, o->role, o->name, &id, err) != 0)
        return -1;
    char dir[PATH_MAX], leaf[64];
    snprintf(leaf, sizeof(leaf), "identities/%s-%s", role_name(o->role), o->name);
    if (o->out_dir != NULL)
        snprintf(dir, sizeof(dir), "%s", o->out_dir);
    else if (join(dir, o->site_dir, leaf, err) != 0)
        return -1;
    char cert_path[PATH_MAX], key_path[PATH_MAX], ca_path[PATH_MAX], ca_key_path[PATH_MAX];
    if (join(cert_path, dir, "cert.pem", err) != 0 || join(key_path, dir, "key.pem", err) != 0 ||
        join(ca_path, dir, "ca.pem", err) != 0 ||
        join(ca_key_path, o->site_dir, "ca/ca.key", err) != 0)
        return -1;
    if (ecl_path_exists(cert_path) || ecl_path_exists(key_path))
        return ecl_fail(err, ECL_E_EXISTS, "%s already holds an identity; refusing to replace it",
                        dir);

    X509 *ca = NULL, *cert = NULL;
    EVP_PKEY *ca_key = NULL, *key = NULL;
    pki_leaf_request req = {id.spiffe, NULL, o->valid_from_offset_s, o->days};
    int rc = -1;
    if (pki_load_cert(cfg.tls_ca, &ca, err) != 0 || pki_load_key(ca_key_path, &ca_key, err) != 0 ||
        pki_issue(ca, ca_key, &req, &cert, &key, err) != 0 || ecl_mkdirs(dir, 0700, err) != 0 ||
        pki_write_key(key_path, key, err) != 0 || pki_write_cert(cert_path, cert, err) != 0 ||
        copy_file(cfg.tls_ca, ca_path, err) != 0 ||
        write_identity_json(dir, &id, cfg.endpoint, cert, err) != 0 ||
        write_person_record(&cfg, &id, o, cert, err) != 0)
        goto out;
    snprintf(out, cap, "%s", dir);
    rc = 0;
out:
    X509_free(ca);
    X509_free(cert);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(key);
    return rc;
}

int site_renew_gateway(const char *site_dir, long days, const char *const *host_names,
                       char *out_cert, size_t cap, ecl_err *err)
{
    if (days <= 0 || days > 3650)
        return ecl_fail(err, ECL_E_USAGE, "--days must be between 1 and 3650");
    char config_path[PATH_MAX], ca_key_path[PATH_MAX];
    gateway_config cfg;
    if (join(config_path, site_dir, "ecluse.json", err) != 0 ||
        gateway_config_load(config_path, &cfg, err) != 0 ||
        join(ca_key_path, site_dir, "ca/ca.key", err) != 0)
        return -1;
    X509 *ca = NULL;
    EVP_PKEY *ca_key = NULL;
    char stamp[32], new_cert[64], new_key[64], old_cert[PATH_MAX + 40], old_key[PATH_MAX + 40];
    snprintf(stamp, sizeof(stamp), "%lld", (long long)time(NULL));
    snprintf(new_cert, sizeof(new_cert), "gateway/gateway.crt.new-%s", stamp);
    snprintf(new_key, sizeof(new_key), "gateway/gateway.key.new-%s", stamp);
    snprintf(old_cert, sizeof(old_cert), "%s.%s", cfg.tls_cert, stamp);
    snprintf(old_key, sizeof(old_key), "%s.%s", cfg.tls_key, stamp);
    int rc = -1;
    if (pki_load_cert(cfg.tls_ca, &ca, err) != 0 || pki_load_key(ca_key_path, &ca_key, err) != 0 ||
        issue_gateway_files(site_dir, cfg.site, ca, ca_key, cfg.listen, host_names, days, new_cert,
                            new_key, err) != 0)
        goto out;
    char staged_cert[PATH_MAX], staged_key[PATH_MAX];
    if (join(staged_cert, site_dir, new_cert, err) != 0 ||
        join(staged_key, site_dir, new_key, err) != 0)
        goto out;
    /* Keep the old pair, then move the new one into place, key first: a
     * crash in between leaves a pair that --check reports as mismatched. */
    if (link(cfg.tls_cert, old_cert) != 0 || link(cfg.tls_key, old_key) != 0 ||
        rename(staged_key, cfg.tls_key) != 0 || rename(staged_cert, cfg.tls_cert) != 0) {
        ecl_fail(err, ECL_E_IO, "%s: cannot put the new certificate in place: %s", cfg.tls_cert,
                 strerror(errno));
        goto out;
    }
    snprintf(out_cert, cap, "%s", cfg.tls_cert);
    rc = 0;
out:
    X509_free(ca);
    EVP_PKEY_free(ca_key);
    return rc;
}

int site_audit_lock(const char *data_dir, int wait_ms, int *fd, ecl_err *err)
{
    char path[PATH_MAX];
    if (ecl_mkdirs(data_dir, 0700, err) != 0 || join(path, data_dir, "audit.lock", err) != 0)
        return -1;
    int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (f < 0)
        return ecl_fail(err, ECL_E_IO, "%s: cannot open: %s", path, strerror(errno));
    for (int waited = 0;; waited += 20) {
        if (flock(f, LOCK_EX | LOCK_NB) == 0) {
            *fd = f;
            return 0;
        }
        if (errno != EWOULDBLOCK && errno != EINTR) {
            int e = errno;
            close(f);
            return ecl_fail(err, ECL_E_IO, "%s: cannot lock: %s", path, strerror(e));
        }
        if (waited >= wait_ms)
            break;
        struct timespec pause = {0, 20 * 1000000L};
        nanosleep(&pause, NULL);
    }
    close(f);
    return 1;
}
