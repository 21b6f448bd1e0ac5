/*
 * address.h - the network names a site is given: a listen address and the
 * host names its gateway certificate carries.
 *
 * Checked before anything is written with them (`ecluse site init`) and
 * when a configuration is checked (`ecluse gateway --check`), so that a
 * bad address is refused by name instead of ending up in a certificate.
 */
#ifndef ECLUSE_SITE_ADDRESS_H
#define ECLUSE_SITE_ADDRESS_H

#include <stddef.h>

#include "common/err.h"

/* 1 if `host` is an IPv4 or IPv6 literal (without brackets) or a DNS name:
 * at most 253 characters, labels of 1-63 letters, digits and '-', not
 * starting or ending with '-'. Else 0 (also for NULL and ""). */
int site_host_is_valid(const char *host);

/* Check `addr` as host:port: the host a valid site_host_is_valid name, an
 * IPv6 literal in brackets ("[::1]:7443"), or 0.0.0.0 / [::] for every
 * interface; the port a decimal number from 1 to 65535. On success the host
 * (brackets removed) goes to `host` (cap bytes). ECL_E_USAGE naming
 * `option` (e.g. "--listen") and the value otherwise. */
int site_listen_check(const char *option, const char *addr, char *host, size_t cap,
                      ecl_err *err) ECL_WUR;

#endif
