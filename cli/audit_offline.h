/* audit_offline.h - verifying a site's audit trail from its data directory,
 * with no gateway: what `ecluse audit verify --data-dir` runs. */
#ifndef ECLUSE_CLI_AUDIT_OFFLINE_H
#define ECLUSE_CLI_AUDIT_OFFLINE_H

#include "common/err.h"

typedef struct audit_offline_options {
    const char *data_dir;      /* the site's data directory (audit/ and state/) */
    const char *site_key_file; /* a public key file the auditor trusts; NULL = none */
    const char *site;          /* the site id; NULL = from the latest checkpoint */
} audit_offline_options;

/* Open <data_dir>/audit and <data_dir>/state read-only; check the chain,
 * the tree, the indexes, and every checkpoint against the site's key history
 * (anchored at the trusted key when one is given) and its peers' pinned
 * witness keys. Prints the result; ECL_E_CRYPTO when anything does not
 * verify. */
int audit_verify_offline(const audit_offline_options *o, ecl_err *err) ECL_WUR;

#endif
