/*
 * revocation.h - the site's revocation list, ca/revoked.json:
 *   {"ecluse_revoked": 1, "revoked": [{"serial": "HEX", "spiffe": "...",
 *    "revoked_unix": N, "reason": "..."}]}
 * `ecluse pki revoke` adds to it, under the registry's lock; the gateway
 * reads it on every call of a person and refuses a listed serial.
 */
#ifndef ECLUSE_SITE_REVOCATION_H
#define ECLUSE_SITE_REVOCATION_H

#include <stddef.h>

#include "common/err.h"
#include "site/identity.h"

#define SITE_REVOKE_MAX 256

typedef struct site_revoke_request {
    const char *site_dir;
    ecl_role role; /* researcher, auditor or admin */
    const char *name;
    const char *serial; /* one of the person's serials (hex, any case); NULL: all of them */
    const char *reason; /* kept in the list, shown to the refused caller; may be NULL */
} site_revoke_request;

typedef struct site_revoke_result {
    ecl_identity subject;
    size_t count;                      /* serials now on the list */
    char serials[SITE_REVOKE_MAX][64]; /* upper-case hex, in the order of issue */
    size_t added;                      /* of them, not on the list before */
} site_revoke_result;

/* Revoke every certificate the site ever issued to `role`/`name` (each
 * serial in the registry, pki_registry.h), or only `serial`; the gateway
 * refuses them from its next call on. A serial already on the list stays
 * as it is. ECL_E_NOT_FOUND if the site issued that person nothing, or if
 * `serial` is not one of theirs (naming it). */
int site_revoke_person(const site_revoke_request *req, site_revoke_result *res,
                       ecl_err *err) ECL_WUR;

/* 1 if the certificate with `serial` is in the revocation list at `path`
 * (reason into `why`); 0 if not or if there is no list. -1 if the list is
 * damaged: refuse, do not guess. */
int site_is_revoked(const char *path, const char *serial, char *why, size_t cap,
                    ecl_err *err) ECL_WUR;

#endif
