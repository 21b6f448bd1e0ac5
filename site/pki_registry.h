/*
 * pki_registry.h - every certificate a site issued to a person, by serial.
 *
 * ca/issued.json, written atomically (temporary file, fsync, rename):
 *   {"ecluse_issued": 1, "certificates": [
 *     {"serial": "HEX", "spiffe": "spiffe://fi/researcher/rita",
 *      "how": "issue" | "renew" | "seeded", "recorded_unix": N,
 *      "not_after": N, "identity_dir": "..."}, ...]}
 * in the order of issue; an entry is never removed, so `ecluse pki revoke`
 * can revoke every certificate a person ever had. A site made before the
 * registry gets one when it is first opened, seeded from what the site
 * holds: the serial recorded in each people/<role>-<name>.json and the
 * certificate in each identities/<role>-<name>/cert.pem the site's CA signed.
 *
 * Whoever opens it holds ca/pki.lock (an exclusive flock) until it closes
 * it, so two `ecluse pki` commands never lose each other's changes.
 */
#ifndef ECLUSE_SITE_PKI_REGISTRY_H
#define ECLUSE_SITE_PKI_REGISTRY_H

#include <stddef.h>
#include <time.h>

#include "common/err.h"

typedef struct pki_registry pki_registry;

/* Lock and load the registry of the site in `site_dir` (seeding it first
 * if there is none). ECL_E_INPUT naming the file if it is damaged. */
int pki_registry_open(const char *site_dir, pki_registry **out, ecl_err *err) ECL_WUR;

/* The number of certificates issued to `spiffe`; the first `cap` of their
 * serials go to `serials` (valid until pki_registry_close). */
size_t pki_registry_serials(const pki_registry *r, const char *spiffe, const char **serials,
                            size_t cap);

/* The serial of the certificate issued last to `spiffe`; "" if none. */
const char *pki_registry_last(const pki_registry *r, const char *spiffe);

/* Record a certificate issued to `spiffe` ("issue" or "renew") and write
 * the registry. */
int pki_registry_add(pki_registry *r, const char *spiffe, const char *serial, time_t not_after,
                     const char *how, const char *identity_dir, ecl_err *err) ECL_WUR;

/* The registry's path (ca/issued.json), for messages. */
const char *pki_registry_path(const pki_registry *r);

/* Release the lock and free it (NULL is fine). */
void pki_registry_close(pki_registry *r);

#endif
