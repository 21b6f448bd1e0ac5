/* pki_registry.c - the certificates a site issued to its people (see
 * pki_registry.h). */
#include "site/pki_registry.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "common/fileio.h"
#include "site/config.h"
#include "site/identity.h"
#include "site/pki.h"

#define REGISTRY_MAX_BYTES (64 << 20)

struct pki_registry {
    char path[PATH_MAX];
    int lock;
    json_t *doc; /* {"ecluse_issued": 1, "certificates": [...]} */
};

static json_t *certificates(const pki_registry *r)
{
    return json_object_get(r->doc, "certificates");
}

static int has_serial(const pki_registry *r, const char *serial)
{
    size_t i;
    json_t *item;
    json_array_foreach(certificates(r), i, item)
    {
        const char *s = json_string_value(json_object_get(item, "serial"));
        if (s != NULL && strcmp(s, serial) == 0)
            return 1;
    }
    return 0;
}

static int append(pki_registry *r, const char *spiffe, const char *serial, time_t not_after,
                  const char *how, const char *identity_dir, ecl_err *err)
{
    json_t *e = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "serial", serial, "spiffe", spiffe,
                          "how", how, "recorded_unix", (json_int_t)time(NULL), "not_after",
                          (json_int_t)not_after, "identity_dir", identity_dir);
    if (e == NULL || json_array_append_new(certificates(r), e) != 0)
        return ecl_fail(err, ECL_E_INTERNAL,
                        "%s: cannot add serial %s (out of memory or not UTF-8)", r->path, serial);
    return 0;
}

static int save(const pki_registry *r, ecl_err *err)
{
    char *text = json_dumps(r->doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "%s: cannot encode the registry", r->path);
    int rc = ecl_write_file(r->path, text, strlen(text), 0644, ECL_WRITE_REPLACE, err);
    free(text);
    return rc;
}

/* ---- seeding a site made before the registry ------------------------------ */

/* A people/<role>-<name>.json record: its recorded serial, if any. */
static int seed_person_record(pki_registry *r, const char *path, ecl_err *err)
{
    char *text = NULL;
    size_t len = 0;
    if (ecl_read_file(path, 65536, &text, &len, err) != 0)
        return -1;
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, 0, &jerr);
    free(text);
    if (doc == NULL)
        return ecl_fail(err, ECL_E_INPUT, "%s: line %d: %s (needed to seed %s)", path, jerr.line,
                        jerr.text, r->path);
    const char *spiffe = json_string_value(json_object_get(doc, "spiffe"));
    const char *serial = json_string_value(json_object_get(doc, "serial"));
    time_t not_after = (time_t)json_integer_value(json_object_get(doc, "not_after"));
    int rc = 0;
    if (spiffe != NULL && serial != NULL && !has_serial(r, serial))
        rc = append(r, spiffe, serial, not_after, "seeded", "", err);
    json_decref(doc);
    return rc;
}

/* identities/<dir>/cert.pem, if this site's CA signed it for a person. */
static int seed_identity(pki_registry *r, X509 *ca, const gateway_config *cfg, const char *dir,
                         ecl_err *err)
{
    char path[PATH_MAX], spiffe[ECL_SPIFFE_MAX], serial[128];
    if (ecl_path_join(path, sizeof(path), dir, "cert.pem", err) != 0)
        return -1;
    if (!ecl_path_exists(path))
        return 0;
    X509 *cert = NULL;
    ecl_identity id;
    ecl_err not_ours;
    time_t not_after = 0;
    if (pki_load_cert(path, &cert, err) != 0)
        return ecl_err_prefix(err, "seeding %s", r->path);
    int rc = 0;
    if (pki_cert_signed_by(cert, ca) &&
        pki_cert_spiffe(cert, spiffe, sizeof(spiffe), &not_ours) == 0 &&
        identity_parse_spiffe(spiffe, &id, &not_ours) == 0 && id.role != ECL_ROLE_GATEWAY &&
        strcmp(id.site, cfg->site) == 0) {
        rc = pki_cert_serial(cert, serial, sizeof(serial), err) != 0 ||
                     pki_cert_not_after(cert, &not_after, err) != 0
                 ? -1
                 : 0;
        char where[PATH_MAX];
        if (realpath(dir, where) == NULL)
            snprintf(where, sizeof(where), "%s", dir);
        if (rc == 0 && !has_serial(r, serial))
            rc = append(r, spiffe, serial, not_after, "seeded", where, err);
    }
    X509_free(cert);
    return rc;
}

/* Each entry of `dir` (skipping dot files) passed to `fn`. A missing
 * directory holds nothing. */
static int each_entry(pki_registry *r, const char *dir, const char *suffix,
                      int (*fn)(pki_registry *, const char *, void *, ecl_err *), void *arg,
                      ecl_err *err)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT
                   ? 0
                   : ecl_fail(err, ECL_E_IO, "%s: cannot list: %s", dir, strerror(errno));
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name), s = strlen(suffix);
        if (e->d_name[0] == '.' || n < s || strcmp(e->d_name + n - s, suffix) != 0)
            continue;
        char path[PATH_MAX];
        rc = ecl_path_join(path, sizeof(path), dir, e->d_name, err) != 0 ? -1
                                                                         : fn(r, path, arg, err);
    }
    closedir(d);
    return rc;
}

typedef struct seed_ctx {
    X509 *ca;
    const gateway_config *cfg;
} seed_ctx;

static int seed_record_fn(pki_registry *r, const char *path, void *arg, ecl_err *err)
{
    (void)arg;
    return seed_person_record(r, path, err);
}

static int seed_identity_fn(pki_registry *r, const char *path, void *arg, ecl_err *err)
{
    seed_ctx *c = arg;
    return seed_identity(r, c->ca, c->cfg, path, err);
}

static int seed(pki_registry *r, const char *site_dir, ecl_err *err)
{
    char config[PATH_MAX], identities[PATH_MAX];
    gateway_config cfg;
    X509 *ca = NULL;
    if (ecl_path_join(config, sizeof(config), site_dir, "ecluse.json", err) != 0 ||
        ecl_path_join(identities, sizeof(identities), site_dir, "identities", err) != 0 ||
        gateway_config_load(config, &cfg, err) != 0 || pki_load_cert(cfg.tls_ca, &ca, err) != 0)
        return -1;
    seed_ctx ctx = {ca, &cfg};
    r->doc = json_pack("{s:i, s:[]}", "ecluse_issued", 1, "certificates");
    int rc = r->doc == NULL ? ecl_fail(err, ECL_E_INTERNAL, "out of memory")
             : each_entry(r, cfg.people_dir, ".json", seed_record_fn, NULL, err) != 0 ||
                     each_entry(r, identities, "", seed_identity_fn, &ctx, err) != 0
                 ? -1
                 : save(r, err);
    X509_free(ca);
    return rc;
}

/* ---- open, read, add -------------------------------------------------------- */

static int take_lock(pki_registry *r, const char *site_dir, ecl_err *err)
{
    char path[PATH_MAX];
    if (ecl_path_join(path, sizeof(path), site_dir, "ca/pki.lock", err) != 0)
        return -1;
    r->lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (r->lock < 0)
        return ecl_fail(err, errno == ENOENT ? ECL_E_NOT_FOUND : ECL_E_IO, "%s: cannot open: %s",
                        path, strerror(errno));
    while (flock(r->lock, LOCK_EX) != 0)
        if (errno != EINTR)
            return ecl_fail(err, ECL_E_IO, "%s: cannot lock: %s", path, strerror(errno));
    return 0;
}

static int load(pki_registry *r, const char *text, size_t len, ecl_err *err)
{
    json_error_t jerr;
    r->doc = json_loadb(text, len, 0, &jerr);
    if (r->doc == NULL)
        return ecl_fail(err, ECL_E_INPUT, "%s: line %d: %s", r->path, jerr.line, jerr.text);
    json_t *list = certificates(r);
    if (json_integer_value(json_object_get(r->doc, "ecluse_issued")) != 1 || !json_is_array(list))
        return ecl_fail(err, ECL_E_INPUT,
                        "%s: not a certificate registry (\"ecluse_issued\": 1 and an array "
                        "\"certificates\")",
                        r->path);
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item)
    {
        if (!json_is_string(json_object_get(item, "serial")) ||
            !json_is_string(json_object_get(item, "spiffe")))
            return ecl_fail(err, ECL_E_INPUT,
                            "%s: certificates[%zu]: 'serial' and 'spiffe' must be strings", r->path,
                            i);
    }
    return 0;
}

int pki_registry_open(const char *site_dir, pki_registry **out, ecl_err *err)
{
    pki_registry *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    r->lock = -1;
    char *text = NULL;
    size_t len = 0;
    ecl_err read_err;
    int rc = ecl_path_join(r->path, sizeof(r->path), site_dir, "ca/issued.json", err) != 0 ||
                     take_lock(r, site_dir, err) != 0
                 ? -1
                 : 0;
    if (rc == 0 && ecl_read_file(r->path, REGISTRY_MAX_BYTES, &text, &len, &read_err) == 0)
        rc = load(r, text, len, err);
    else if (rc == 0 && read_err.code == ECL_E_NOT_FOUND)
        rc = seed(r, site_dir, err);
    else if (rc == 0)
        rc = ecl_fail(err, read_err.code, "%s", read_err.msg);
    free(text);
    if (rc != 0) {
        pki_registry_close(r);
        return -1;
    }
    *out = r;
    return 0;
}

size_t pki_registry_serials(const pki_registry *r, const char *spiffe, const char **serials,
                            size_t cap)
{
    size_t n = 0, i;
    json_t *item;
    json_array_foreach(certificates(r), i, item)
    {
        if (strcmp(json_string_value(json_object_get(item, "spiffe")), spiffe) != 0)
            continue;
        if (n < cap)
            serials[n] = json_string_value(json_object_get(item, "serial"));
        n++;
    }
    return n;
}

const char *pki_registry_last(const pki_registry *r, const char *spiffe)
{
    const char *last = "";
    size_t i;
    json_t *item;
    json_array_foreach(certificates(r), i, item)
    {
        if (strcmp(json_string_value(json_object_get(item, "spiffe")), spiffe) == 0)
            last = json_string_value(json_object_get(item, "serial"));
    }
    return last;
}

int pki_registry_add(pki_registry *r, const char *spiffe, const char *serial, time_t not_after,
                     const char *how, const char *identity_dir, ecl_err *err)
{
    if (has_serial(r, serial))
        return ecl_fail(err, ECL_E_EXISTS, "%s: serial %s is already recorded", r->path, serial);
    size_t before = json_array_size(certificates(r));
    if (append(r, spiffe, serial, not_after, how, identity_dir, err) != 0)
        return -1;
    if (save(r, err) != 0) {
        json_array_remove(certificates(r), before); /* as it is on disk */
        return -1;
    }
    return 0;
}

const char *pki_registry_path(const pki_registry *r)
{
    return r->path;
}

void pki_registry_close(pki_registry *r)
{
    if (r == NULL)
        return;
    json_decref(r->doc);
    if (r->lock >= 0)
        close(r->lock); /* releases the flock */
    free(r);
}
