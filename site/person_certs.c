/* person_certs.c - issue and renew, on the registry (see person_certs.h). */
#include "site/person_certs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fileio.h"
#include "site/config.h"
#include "site/pki.h"
#include "site/pki_registry.h"

/* What the new certificate in `dir` says: its serial and expiry. */
static int read_new_cert(const char *dir, person_certified *out, time_t *not_after, ecl_err *err)
{
    char path[PATH_MAX];
    X509 *cert = NULL;
    int rc = ecl_path_join(path, sizeof(path), dir, "cert.pem", err) != 0 ||
                     pki_load_cert(path, &cert, err) != 0 ||
                     pki_cert_serial(cert, out->serial, sizeof(out->serial), err) != 0 ||
                     pki_cert_not_after(cert, not_after, err) != 0
                 ? -1
                 : 0;
    X509_free(cert);
    return rc;
}

/* An identity directory whose certificate is not on record must not be
 * usable: its key goes first. */
static void unmake_identity(const char *dir)
{
    static const char *const files[] = {"key.pem", "cert.pem", "ca.pem", "identity.json"};
    char path[PATH_MAX];
    ecl_err ignored;
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        if (ecl_path_join(path, sizeof(path), dir, files[i], &ignored) == 0)
            unlink(path);
    rmdir(dir);
}

/* A renewal keeps what the site attests of the person unless told anew. */
static int keep_attributes(const gateway_config *cfg, const ecl_identity *id,
                           person_issue_options *o, person_record *rec, ecl_err *err)
{
    if (site_person_record(cfg->people_dir, id, rec, err) != 0)
        return -1;
    if (o->affiliation == NULL && rec->affiliation[0] != '\0')
        o->affiliation = rec->affiliation;
    if (o->org_type == NULL && rec->org_type[0] != '\0')
        o->org_type = rec->org_type;
    return 0;
}

/* Whether this may be issued now: a first certificate, or a renewal. */
static int check_history(const ecl_identity *id, int renew, size_t had, const char *last,
                         ecl_err *err)
{
    if (had > 0 && !renew)
        return ecl_fail(err, ECL_E_EXISTS,
                        "%s already has a certificate from this site (serial %s): give --renew "
                        "to issue another (the old one stays valid until it is revoked or "
                        "expires)",
                        id->spiffe, last);
    if (had == 0 && renew)
        return ecl_fail(err, ECL_E_NOT_FOUND,
                        "%s has no certificate from this site to renew: issue one without "
                        "--renew",
                        id->spiffe);
    return 0;
}

static int certify(pki_registry *reg, const gateway_config *cfg, const person_issue_options *in,
                   int renew, person_certified *out, ecl_err *err)
{
    ecl_identity id;
    if (identity_make(cfg->site, in->role, in->name, &id, err) != 0)
        return -1;
    size_t had = pki_registry_serials(reg, id.spiffe, NULL, 0);
    const char *last = pki_registry_last(reg, id.spiffe);
    if (check_history(&id, renew, had, last, err) != 0)
        return -1;
    person_issue_options o = *in;
    person_record rec;
    char dir[PATH_MAX], leaf[160];
    if (renew && keep_attributes(cfg, &id, &o, &rec, err) != 0)
        return -1;
    if (renew && o.out_dir == NULL) {
        snprintf(leaf, sizeof(leaf), "identities/%s-%s@%zu", role_name(id.role), id.name, had + 1);
        if (ecl_path_join(dir, sizeof(dir), in->site_dir, leaf, err) != 0)
            return -1;
        o.out_dir = dir;
    }
    snprintf(out->previous, sizeof(out->previous), "%s", renew ? last : "");
    time_t not_after = 0;
    if (site_issue_person(&o, out->dir, sizeof(out->dir), err) != 0)
        return -1;
    char where[PATH_MAX];
    if (realpath(out->dir, where) == NULL) /* the registry outlives the caller's cwd */
        snprintf(where, sizeof(where), "%s", out->dir);
    if (read_new_cert(out->dir, out, &not_after, err) != 0 ||
        pki_registry_add(reg, id.spiffe, out->serial, not_after, renew ? "renew" : "issue", where,
                         err) != 0) {
        unmake_identity(out->dir);
        return ecl_err_prefix(err, "the certificate could not be recorded, so %s was removed",
                              out->dir);
    }
    return 0;
}

int site_certify_person(const person_issue_options *o, int renew, person_certified *out,
                        ecl_err *err)
{
    memset(out, 0, sizeof(*out));
    char config_path[PATH_MAX];
    gateway_config cfg;
    pki_registry *reg = NULL;
    if (o->site_dir == NULL || o->name == NULL)
        return ecl_fail(err, ECL_E_USAGE, "a site directory and a name are required");
    if (ecl_path_join(config_path, sizeof(config_path), o->site_dir, "ecluse.json", err) != 0 ||
        gateway_config_load(config_path, &cfg, err) != 0 ||
        pki_registry_open(o->site_dir, &reg, err) != 0)
        return -1;
    int rc = certify(reg, &cfg, o, renew, out, err);
    pki_registry_close(reg);
    return rc;
}
