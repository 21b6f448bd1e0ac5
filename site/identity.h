/*
 * identity.h - who a caller is: SPIFFE ids and roles.
 *
 * Every certificate ecluse issues carries exactly one URI SAN:
 *   spiffe://<site>/gateway
 *   spiffe://<site>/researcher/<name>
 *   spiffe://<site>/auditor/<name>
 *   spiffe://<site>/admin/<name>
 * <site> is 1-63 of [a-z0-9-], starting with a letter or digit; <name> is
 * 1-63 of [A-Za-z0-9._-]. Anything else is refused, so the parts can be used
 * in file names, log lines and LMDB keys without escaping.
 */
#ifndef ECLUSE_SITE_IDENTITY_H
#define ECLUSE_SITE_IDENTITY_H

#include "common/err.h"

#define ECL_SITE_ID_MAX 64 /* with the terminating NUL */
#define ECL_NAME_MAX    64
#define ECL_SPIFFE_MAX  160

/* Roles are bits so that a method can allow several. */
typedef enum {
    ECL_ROLE_NONE = 0,
    ECL_ROLE_GATEWAY = 1 << 0,
    ECL_ROLE_RESEARCHER = 1 << 1,
    ECL_ROLE_AUDITOR = 1 << 2,
    ECL_ROLE_ADMIN = 1 << 3,
} ecl_role;

#define ECL_ROLES_PEOPLE (ECL_ROLE_RESEARCHER | ECL_ROLE_AUDITOR | ECL_ROLE_ADMIN)
#define ECL_ROLES_ANY    (ECL_ROLE_GATEWAY | ECL_ROLES_PEOPLE)

typedef struct ecl_identity {
    char site[ECL_SITE_ID_MAX];
    ecl_role role;
    char name[ECL_NAME_MAX]; /* empty for a gateway */
    char spiffe[ECL_SPIFFE_MAX];
} ecl_identity;

/* Parse `uri` into `out`. ECL_E_AUTH with the reason if it is not one of the
 * four forms above. */
int identity_parse_spiffe(const char *uri, ecl_identity *out, ecl_err *err) ECL_WUR;

/* Build an identity from its parts (name ignored for a gateway); validates
 * them as identity_parse_spiffe would. ECL_E_USAGE on a bad part. */
int identity_make(const char *site, ecl_role role, const char *name, ecl_identity *out,
                  ecl_err *err) ECL_WUR;

int site_id_is_valid(const char *site);
int person_name_is_valid(const char *name);

/* "gateway", "researcher", "auditor", "admin"; "none" otherwise. */
const char *role_name(ecl_role role);

/* The inverse of role_name for one role; ECL_ROLE_NONE if unknown. */
ecl_role role_from_name(const char *name) ECL_WUR;

/* "researcher, auditor" for a mask, into buf. */
void roles_describe(unsigned mask, char *buf, size_t cap);

#endif
