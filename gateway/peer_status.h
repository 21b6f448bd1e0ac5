/*
 * peer_status.h - what `peer list` shows of each peer, kept up to date by
 * the contacts the gateway makes anyway (state.h, "peer_contact").
 *
 * Pulls (sync.c) and witnessing calls (witness.c) report each outcome here;
 * errors are put into words once, by peer_error_describe, so every place
 * that shows them says the same short phrase: "removed us", "unreachable",
 * "TLS: certificate expired", "catalog refused: rollback from v7 to v5", ...
 * These never fail the caller: a note that cannot be written is logged.
 */
#ifndef ECLUSE_GATEWAY_PEER_STATUS_H
#define ECLUSE_GATEWAY_PEER_STATUS_H

#include <stddef.h>

#include "common/err.h"
#include "federation/contact.h"
#include "gateway/peer_probe.h"
#include "site/identity.h"

struct gateway;

/* What a contact with a peer was for: a pull verified its catalog (and so
 * may clear a catalog refusal, and learns its key generations), or a
 * witnessing call (clears only errors of reaching it). */
typedef enum peer_contact_what { PEER_CONTACT_PULL, PEER_CONTACT_WITNESS } peer_contact_what;

/* The last error in words: `phrase` short and stable, `detail` the rest.
 * `err` is what the contact failed with; `probe` what a TLS probe found
 * after a transport failure (NULL if none was made); `ever_ok` whether a
 * contact with this peer ever succeeded (a peer that refuses us "removed
 * us"; one that never accepted us "has not added us"). Returns the kind:
 * what a later success clears. */
fed_contact_kind peer_error_describe(const ecl_err *err, const peer_probe *probe, int ever_ok,
                                     char *phrase, size_t phrase_cap, char *detail,
                                     size_t detail_cap);

/* A contact with `peer` (as read before it) succeeded (err NULL) or failed
 * with `err`. A witnessing call is a contact every second or so: what it
 * would only repeat is not written again. */
void gateway_peer_contact(struct gateway *gw, const fed_peer *peer, peer_contact_what what,
                          const ecl_err *err);

/* A call came in from `caller`. If it is the gateway of a peer noted as
 * refusing us, that peer has plainly added us (again): pull from it now,
 * once, rather than show a stale refusal until the next scheduled pull. */
void gateway_peer_heard_from(struct gateway *gw, const ecl_identity *caller);

#endif
