/*
 * site.h - creating a site and issuing identities to its people.
 *
 * A site directory, as `ecluse site init` lays it out:
 *   ecluse.json            the gateway configuration (config.h)
 *   ca/ca.crt, ca/ca.key   the site CA (key 0600, directory 0700)
 *   gateway/gateway.crt    the gateway's certificate: spiffe://<site>/gateway
 *   gateway/gateway.key
 *   keys/site.key(.pub)    the Ed25519 signing key (sitekey.h)
 *   data/                  LMDB environments and datasets (0700)
 *   policy/transfer_rules.json   EEA and adequacy decisions (ecluse ships them; update them)
 *   policy/sccs.json       standard contractual clauses the site signed, per recipient site
 *   ca/revoked.json        certificates the admin revoked (`ecluse pki revoke`):
 *                          {"ecluse_revoked": 1, "revoked": [{"serial": "HEX",
 *                           "spiffe": "...", "revoked_unix": N, "reason": "..."}]}
 *   people/<role>-<name>.json    what the site attests of each person it issued
 *                          ({"spiffe", "affiliation", "organisation_type", ...})
 *   identities/<role>-<name>/   what `ecluse pki issue` hands to a person:
 *       cert.pem key.pem ca.pem identity.json
 * identity.json says who it is and where its gateway is:
 *   {"spiffe": "spiffe://fi/researcher/alice", "site": "fi",
 *    "role": "researcher", "name": "alice", "gateway": "127.0.0.1:7443",
 *    "not_after": 1795000000}
 */
#ifndef ECLUSE_SITE_SITE_H
#define ECLUSE_SITE_SITE_H

#include <stddef.h>

#include "common/err.h"
#include "site/identity.h"

typedef struct site_init_options {
    const char *site;
    const char *country;
    const char *dir;
    const char *listen;            /* host:port; default 127.0.0.1:7443 */
    const char *const *host_names; /* extra DNS/IP SANs for the gateway; NULL-terminated */
    long ca_days;                  /* default 3650 */
    long gateway_days;             /* default 365 */
} site_init_options;

/* Create a new site in `dir`, all or nothing. Every option is checked first
 * (ECL_E_USAGE naming the option and the value: site id, country, listen
 * address, host names, validity days). `dir` must not exist or be an empty
 * directory: ECL_E_EXISTS if it holds a site (keys are never overwritten)
 * or anything else. The site is built in a temporary directory beside `dir`
 * (".<name>.init-XXXXXX", same file system), every file and directory
 * synced, then renamed to `dir`; missing parents of `dir` are created. On
 * any failure the temporary directory and the parents it created are
 * removed again, so a retry starts from where the first attempt did. */
int site_init(const site_init_options *opts, ecl_err *err) ECL_WUR;

typedef struct person_issue_options {
    const char *site_dir;
    ecl_role role; /* researcher, auditor or admin */
    const char *name;
    long days;
    long valid_from_offset_s; /* 0: now; negative back-dates (tests of expiry) */
    const char *out_dir;      /* NULL: <site_dir>/identities/<role>-<name> */
    const char *affiliation;  /* attested to other sites; may be NULL */
    const char *org_type;     /* "academic", "non-profit", "commercial"; may be NULL */
} person_issue_options;

/* Renew the gateway's certificate (a new key too), valid `days` days, with
 * the SANs a new site gets plus `host_names`. The old certificate and key
 * stay beside the new ones as gateway.crt.<unix time> / gateway.key.<...>.
 * The running gateway keeps its old certificate until it restarts. */
int site_renew_gateway(const char *site_dir, long days, const char *const *host_names,
                       char *out_cert, size_t cap, ecl_err *err) ECL_WUR;

/* The one-writer lock of a site's audit trail: an exclusive flock(2) on
 * <data_dir>/audit.lock, held by whichever process appends to the trail in
 * <data_dir>/audit (a trail's head is cached per process, so two writers
 * would fork it). The running gateway holds it for its whole life; `ecluse
 * pki` takes it to append directly only while no gateway runs. Tries for up
 * to `wait_ms`. Returns 0 with *fd the lock (release: close it), 1 when
 * another process still holds it, -1 on error. The descriptor is not
 * inherited by children (O_CLOEXEC). */
int site_audit_lock(const char *data_dir, int wait_ms, int *fd, ecl_err *err) ECL_WUR;

/* What a site records of a person (people/<role>-<name>.json). */
typedef struct person_record {
    char affiliation[256];
    char org_type[32];
} person_record;

/* Read the record of `id` from `people_dir`; a person with no record has
 * empty attributes (not an error). ECL_E_INPUT if the file is damaged. */
int site_person_record(const char *people_dir, const ecl_identity *id, person_record *out,
                       ecl_err *err) ECL_WUR;

/* Issue a certificate to a person of the site and write their identity
 * directory; its path goes to `out` (cap bytes). ECL_E_EXISTS if there is
 * already an identity at that path. */
int site_issue_person(const person_issue_options *opts, char *out, size_t cap,
                      ecl_err *err) ECL_WUR;

#endif
