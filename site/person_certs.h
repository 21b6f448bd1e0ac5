/*
 * person_certs.h - issuing a person's certificate, and renewing it, with the
 * site's registry of every certificate it issued (pki_registry.h).
 *
 * A person has one name at a site and may hold several certificates over
 * time: the first is issued, the next ones are renewals. Every one stays
 * valid until it expires or is revoked (revocation.h revokes them all at
 * once), so a renewal can be handed over before the old one runs out.
 */
#ifndef ECLUSE_SITE_PERSON_CERTS_H
#define ECLUSE_SITE_PERSON_CERTS_H

#include <limits.h>

#include "common/err.h"
#include "site/site.h"

typedef struct person_certified {
    char dir[PATH_MAX]; /* the identity directory written */
    char serial[64];    /* the new certificate's serial, upper-case hex */
    char previous[64];  /* renewal: the serial issued last before it; else "" */
} person_certified;

/* Issue (renew == 0) or renew (renew != 0) the certificate of o->role /
 * o->name, and record it in the registry.
 *   - Issuing a name the site already issued is ECL_E_EXISTS, naming its
 *     last serial and --renew; nothing is written.
 *   - Renewing a name the site never issued is ECL_E_NOT_FOUND.
 *   - A renewal goes to identities/<role>-<name>@<n> (n: the how-manieth
 *     certificate of that person) unless o->out_dir is given, and keeps the
 *     person's recorded affiliation and organisation type unless new ones
 *     are given.
 * If the registry cannot be written, the new identity directory is removed
 * (its key first) and the error says so. */
int site_certify_person(const person_issue_options *o, int renew, person_certified *out,
                        ecl_err *err) ECL_WUR;

#endif
