#include "site/site.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/fileio.h"
#include "site/address.h"
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

/* Every input, before anything is written: a bad one must not end up in a
 * certificate, nor fail a half-written site. */
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
    if (strlen(o->dir) >= PATH_MAX - 64)
        return ecl_fail(err, ECL_E_USAGE, "--dir '%s' is too long", o->dir);
    char host[256];
    if (o->listen != NULL && site_listen_check("--listen", o->listen, host, sizeof(host), err) != 0)
        return -1;
    for (size_t i = 0; o->host_names != NULL && o->host_names[i] != NULL; i++)
        if (!site_host_is_valid(o->host_names[i]))
            return ecl_fail(err, ECL_E_USAGE, "--host '%s' is neither a DNS name nor an IP address",
                            o->host_names[i]);
    if (o->ca_days < 0 || o->ca_days > 36500 || o->gateway_days < 0 || o->gateway_days > 3650)
        return ecl_fail(err, ECL_E_USAGE,
                        "--ca-days must be 1-36500 and --gateway-days 1-3650 (got %ld and %ld)",
                        o->ca_days, o->gateway_days);
    return 0;
}

/* A site goes into a new directory, or an empty one. */
static int check_target(const char *dir, ecl_err *err)
{
    static const char *const marks[] = {"ecluse.json", "ca/ca.key", "keys/site.key"};
    char path[PATH_MAX];
    for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
        if (join(path, dir, marks[i], err) != 0)
            return -1;
        else if (ecl_path_exists(path))
            return ecl_fail(err, ECL_E_EXISTS,
                            "%s already holds a site; refusing to overwrite its keys", dir);
    struct stat st;
    if (lstat(dir, &st) != 0)
        return errno == ENOENT ? 0 : ecl_fail(err, ECL_E_IO, "--dir %s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return ecl_fail(err, ECL_E_EXISTS, "--dir %s exists and is not a directory", dir);
    DIR *d = opendir(dir);
    if (d == NULL)
        return ecl_fail(err, ECL_E_IO, "--dir %s: cannot read: %s", dir, strerror(errno));
    const struct dirent *e;
    int empty = 1;
    while (empty && (e = readdir(d)) != NULL)
        empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    closedir(d);
    if (!empty)
        return ecl_fail(err, ECL_E_EXISTS,
                        "--dir %s is not empty; a site is created in a new or empty directory",
                        dir);
    return 0;
}

/* The directories above the site that do not exist yet: the top one of
 * them goes to `top` ("" if none), so a failure can take them away again. */
static int make_parents(const char *parent, char *top, ecl_err *err)
{
    top[0] = '\0';
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s", parent);
    while (!ecl_path_exists(p)) {
        snprintf(top, PATH_MAX, "%s", p);
        char up[PATH_MAX];
        if (ecl_path_dirname(up, sizeof(up), p, err) != 0)
            return -1;
        if (strcmp(up, p) == 0)
            break;
        snprintf(p, sizeof(p), "%s", up);
    }
    return top[0] != '\0' ? ecl_mkdirs(parent, 0755, err) : 0;
}

static void remove_parents(const char *parent, const char *top)
{
    if (top[0] == '\0')
        return;
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s", parent);
    while (rmdir(p) == 0 && strcmp(p, top) != 0) {
        char up[PATH_MAX];
        ecl_err ignored;
        if (ecl_path_dirname(up, sizeof(up), p, &ignored) != 0 || strcmp(up, p) == 0)
            return;
        snprintf(p, sizeof(p), "%s", up);
    }
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static int fsync_dir(const char *dir, ecl_err *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return ecl_fail(err, ECL_E_IO, "%s: cannot open: %s", dir, strerror(errno));
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    return rc == 0 ? 0 : ecl_fail(err, ECL_E_IO, "%s: cannot sync: %s", dir, strerror(e));
}

/* Every directory of the new site durable, before it is renamed into place. */
static int sync_site_dirs(const char *dir, ecl_err *err)
{
    static const char *const subdirs[] = {"ca",         "gateway", "keys",  "data",
                                          "identities", "policy",  "people"};
    char path[PATH_MAX];
    for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++)
        if (join(path, dir, subdirs[i], err) != 0 || fsync_dir(path, err) != 0)
            return -1;
    return fsync_dir(dir, err);
}

/* Everything a site holds, written into `o->dir` (an empty directory). */
static int write_site(const site_init_options *o, const char *listen, ecl_err *err)
{
    char config_path[PATH_MAX], ca_key_path[PATH_MAX], ca_cert_path[PATH_MAX], sign_path[PATH_MAX];
    if (join(config_path, o->dir, "ecluse.json", err) != 0 ||
        join(ca_key_path, o->dir, "ca/ca.key", err) != 0 ||
        join(ca_cert_path, o->dir, "ca/ca.crt", err) != 0 ||
        join(sign_path, o->dir, "keys/site.key", err) != 0 || make_dirs(o->dir, err) != 0)
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
    if (write_policy_data(o, err) != 0 ||
        gateway_config_write_new(config_path, o->site, o->country, listen, err) != 0)
        goto out;
    rc = 0;
out:
    X509_free(ca);
    EVP_PKEY_free(ca_key);
    return rc;
}

/* "dir" without trailing slashes, its parent and its last name. */
static int split_target(const char *dir, char *clean, char *parent, char *base, ecl_err *err)
{
    snprintf(clean, PATH_MAX, "%s", dir);
    size_t n = strlen(clean);
    while (n > 1 && clean[n - 1] == '/')
        clean[--n] = '\0';
    const char *slash = strrchr(clean, '/');
    const char *name = slash ? slash + 1 : clean;
    size_t len = strlen(name);
    if (len > NAME_MAX - 32)
        return ecl_fail(err, ECL_E_USAGE, "--dir '%s': the last name is too long", dir);
    memcpy(base, name, len + 1);
    if (base[0] == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
        return ecl_fail(err, ECL_E_USAGE, "--dir '%s' must name a directory to create", dir);
    return ecl_path_dirname(parent, PATH_MAX, clean, err);
}

int site_init(const site_init_options *o, ecl_err *err)
{
    char dir[PATH_MAX], parent[PATH_MAX], base[NAME_MAX + 1], created[PATH_MAX], tmp[PATH_MAX];
    if (check_init_options(o, err) != 0 || split_target(o->dir, dir, parent, base, err) != 0 ||
        check_target(dir, err) != 0)
        return -1;
    const char *listen = o->listen ? o->listen : "127.0.0.1:7443";
    /* Built beside the target, on the same file system, and renamed into
     * place whole: a failure at any step leaves nothing behind. */
    if (make_parents(parent, created, err) != 0)
        return ecl_err_prefix(err, "--dir %s", o->dir);
    if (snprintf(tmp, sizeof(tmp), "%s/.%s.init-XXXXXX", parent, base) >= (int)sizeof(tmp) ||
        mkdtemp(tmp) == NULL) {
        ecl_fail(err, ECL_E_IO, "--dir %s: cannot create a directory in %s: %s", o->dir, parent,
                 strerror(errno));
        remove_parents(parent, created);
        return -1;
    }
    site_init_options staged = *o;
    staged.dir = tmp;
    int rc = -1;
    if (write_site(&staged, listen, err) != 0 || sync_site_dirs(tmp, err) != 0)
        goto out;
    if (chmod(tmp, 0755) != 0 || rename(tmp, dir) != 0) {
        ecl_fail(err, errno == ENOTEMPTY || errno == EEXIST ? ECL_E_EXISTS : ECL_E_IO,
                 "--dir %s: cannot put the new site in place: %s", o->dir, strerror(errno));
        goto out;
    }
    rc = fsync_dir(parent, err);
out:
    if (rc != 0 && ecl_path_exists(tmp)) {
        /* Best effort: the error that brought us here is the one to report. */
        nftw(tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        remove_parents(parent, created);
        if (ecl_path_exists(tmp))
            ecl_err_prefix(err, "%s: no site created (remove %s)", o->dir, tmp);
        else
            ecl_err_prefix(err, "%s: no site created, nothing left behind", o->dir);
    }
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
