/*
 * check.h - `ecluse gateway --check`: everything wrong with a site's
 * configuration, found without changing anything.
 *
 * It reads what a start would read, in this order, and goes on after a
 * problem so that one run names them all:
 *   1. the configuration file, each bad setting (gateway_config_load_each);
 *      what it names is not known until it loads, so nothing else is
 *      checked when it does not;
 *   2. the listen and endpoint addresses (site/address.h);
 *   3. the CA certificate, the gateway's certificate and its key, each on
 *      its own, then whether the key matches the certificate, the CA issued
 *      it, it is valid now and it is spiffe://<site>/gateway;
 *   4. the site's signing key, loaded by a signer process as at a start;
 *   5. the policy data: the transfer rules and, if present, the SCCs;
 *   6. the data directory: the federation state and the audit trail are
 *      opened read-only if they exist, and every peer's CA certificate is
 *      parsed. A fresh site has none of them yet: that is a note, not a
 *      problem.
 * Nothing is created, written or locked: not the data directory, not the
 * LMDB environments, not the audit lock (a running gateway keeps its lock).
 */
#ifndef ECLUSE_GATEWAY_CHECK_H
#define ECLUSE_GATEWAY_CHECK_H

#include "common/err.h"
#include "site/config.h"

typedef struct gateway_check_report {
    /* Each problem as it is found (its code is the exit code's category). */
    void (*problem)(void *ctx, const ecl_err *problem);
    /* Facts worth knowing that are not problems ("no audit trail yet"). */
    void (*note)(void *ctx, const char *note);
    void *ctx;
} gateway_check_report;

/* Check the site configured in `config_path`; `exe` is the ecluse binary
 * the signer runs from. Returns 0 if nothing is wrong, with the loaded
 * configuration in *cfg. Otherwise -1, every problem having gone to
 * report->problem, and *err: the problem itself when there was one, else
 * "<config>: N problems" with the code of the first problem found. */
int gateway_check(const char *config_path, const char *exe, const gateway_check_report *report,
                  gateway_config *cfg, ecl_err *err) ECL_WUR;

#endif
