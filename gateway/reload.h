/*
 * reload.h - what a running gateway re-reads on SIGHUP, without stopping.
 *
 * A reload reads and checks everything first, and only then puts it in
 * place; if anything is wrong nothing changes and the gateway runs on as it
 * was. What it re-reads:
 *   - the configuration file: it must still load; the settings in
 *     gateway_settings (peer timeout, catalog refresh, validity and page
 *     size, checkpoint interval) apply at once (reload.applied); other
 *     values that changed are logged as needing a restart
 *     (reload.needs_restart) and not applied, since threads read them
 *     unlocked;
 *   - the gateway's certificate and key (tls.cert, tls.key): checked as at
 *     the start, then presented to new connections and on new channels to
 *     peers; connections already made keep the old pair;
 *   - the site CA (tls.ca): must be unchanged (a new CA is a new site, for
 *     its peers too: that needs a restart), else the reload fails;
 *   - the peers' CAs: rebuilt from the state, as after any peer change;
 *   - the policy data files (policy.transfer_rules, policy.sccs): parsed
 *     whole, then swapped under policy_lock, so a decision sees the old
 *     rules or the new, never a mix.
 * The revocation list is read at every call and needs no reload.
 * Each thing logs one line, event reload.<thing>, saying changed or
 * unchanged; then reload.done (or, from the caller, reload.failed).
 */
#ifndef ECLUSE_GATEWAY_RELOAD_H
#define ECLUSE_GATEWAY_RELOAD_H

#include "common/err.h"
#include "gateway/gateway.h"

/* Re-read and, if all is well, put in place what is listed above; on the
 * main thread (gateway_serve's, at SIGHUP). Fails naming the file and the
 * problem, with nothing changed. */
int gateway_reload(gateway *gw, ecl_err *err) ECL_WUR;

/* Put cfg's live settings (gateway_settings) in place: at the start, and
 * by a reload for the values that changed. */
void gateway_settings_apply(gateway *gw, const gateway_config *cfg);

/* Note what the start read of the policy data files, so that the first
 * reload can tell whether they changed. Call once gateway_open has loaded
 * them. */
void gateway_reload_remember(gateway *gw);

#endif
