/*
 * revocation.h - the site's revocation list, ca/revoked.json:
 *   {"ecluse_revoked": 1, "revoked": [{"serial": "HEX", "spiffe": "...",
 *    "revoked_unix": N, "reason": "..."}]}
 * `ecluse pki revoke` adds to it; the gateway reads it on every call of a
 * person and refuses a listed serial.
 */
#ifndef ECLUSE_SITE_REVOCATION_H
#define ECLUSE_SITE_REVOCATION_H

#include <stddef.h>

#include "common/err.h"
#include "site/identity.h"

/* Revoke the current certificate of `role`/`name` (the serial recorded at
 * issue), with a reason; the gateway refuses it from its next call on.
 * ECL_E_NOT_FOUND if the site has no record of that person. */
int site_revoke_person(const char *site_dir, ecl_role role, const char *name, const char *reason,
                       char *serial_out, size_t cap, ecl_err *err) ECL_WUR;

/* 1 if the certificate with `serial` is in the revocation list at `path`
 * (reason into `why`); 0 if not or if there is no list. -1 if the list is
 * damaged: refuse, do not guess. */
int site_is_revoked(const char *path, const char *serial, char *why, size_t cap,
                    ecl_err *err) ECL_WUR;

#endif
