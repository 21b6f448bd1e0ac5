/*
 * transfer.h - what GDPR Chapter V needs to know: where data may go.
 *
 * Two kinds of data, both JSON files parsed with jansson (docs/policy.md):
 *
 *  - The transfer rules the gateway ships and can update without a rebuild
 *    (policy/data/transfer_rules.json): the EEA member states, and the EU
 *    adequacy decisions (Art. 45(3)) with the date each took effect, the date
 *    it expires if it does, and its scope. A decision whose scope is
 *    "partial" (e.g. the EU-US Data Privacy Framework, which covers only
 *    certified organisations) is recorded but never on its own covers a
 *    transfer: the engine cannot verify the condition, so it asks for SCCs,
 *    and its denial says what the requester would have to attest.
 *
 *  - The standard contractual clauses (Art. 46(2)(c)) the site has signed,
 *    one per recipient site: the site's own file (e.g. /etc/ecluse/sccs.json).
 *
 * Both are loaded once and then only read: any number of threads may look up
 * in them at once. Lookups allocate nothing.
 */
#ifndef ECLUSE_POLICY_TRANSFER_H
#define ECLUSE_POLICY_TRANSFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define ECL_TRANSFER_MAX_COUNTRIES     64  /* EEA entries, adequacy entries */
#define ECL_TRANSFER_MAX_SCCS          256 /* SCC records per site */
#define ECL_TRANSFER_MAX_SCC_COUNTRIES 16
/* An adequacy note is quoted in denials: short enough to fit a Reason message. */
#define ECL_TRANSFER_NOTE_MAX 240
/* What a partial decision needs the requester to attest: quoted in denials too. */
#define ECL_TRANSFER_ATTEST_MAX 120
#define ECL_TRANSFER_FILE_MAX   (1024 * 1024)

typedef struct ecl_transfer_rules ecl_transfer_rules;
typedef struct ecl_scc_registry ecl_scc_registry;

/* One adequacy decision as the rules file records it. Strings are owned by
 * the rules object and valid while it lives. */
typedef struct ecl_adequacy {
    char country[3];      /* ISO 3166-1 alpha-2 */
    const char *name;     /* "Japan" */
    const char *decision; /* "(EU) 2019/419" */
    int64_t from_unix;    /* in force from (start of that UTC day) */
    int64_t until_unix;   /* first second it no longer applies; 0 = no expiry */
    bool partial;         /* covers only part of the country's recipients */
    const char *scope;    /* a person-readable note: what it covers */
    const char *attest;   /* partial only: what the requester must attest for the
                             decision to cover them ("attest"), or NULL */
} ecl_adequacy;

/* One SCC record of the site. */
typedef struct ecl_scc {
    const char *recipient_site; /* the site id of the recipient ("us-nih") */
    const char *reference;      /* the contract reference */
    int64_t signed_unix;        /* start of the day it was signed */
    int64_t until_unix;         /* first second it no longer applies */
    size_t n_countries;         /* countries the recipient may process in */
    char countries[ECL_TRANSFER_MAX_SCC_COUNTRIES][3];
} ecl_scc;

/* Parse the transfer rules JSON (`len` bytes). Errors are ECL_E_INPUT and
 * name the field: "transfer_rules.json: adequacy[3].expires: not a date
 * (YYYY-MM-DD): '2025-13-01'". A country listed twice, or both in the EEA and
 * in the adequacy list, is an error. *out is owned by the caller. */
int ecl_transfer_rules_parse(const char *json, size_t len, const char *source,
                             ecl_transfer_rules **out, ecl_err *err) ECL_WUR;
int ecl_transfer_rules_load_file(const char *path, ecl_transfer_rules **out, ecl_err *err) ECL_WUR;
void ecl_transfer_rules_free(ecl_transfer_rules *rules);

/* 1 if `country` (two upper-case letters) is an EEA member, else 0. */
int ecl_transfer_is_eea(const ecl_transfer_rules *rules, const char *country);

/* The adequacy decision recorded for `country` (in force or not), or NULL. */
const ecl_adequacy *ecl_transfer_adequacy(const ecl_transfer_rules *rules, const char *country);

/* Counts, and the date the rules file says it was last reviewed (YYYY-MM-DD). */
size_t ecl_transfer_eea_count(const ecl_transfer_rules *rules);
size_t ecl_transfer_adequacy_count(const ecl_transfer_rules *rules);
const char *ecl_transfer_rules_updated(const ecl_transfer_rules *rules);

/* Parse the site's SCC file. Errors are ECL_E_INPUT naming the field, e.g.
 * "sccs.json: sccs[1].expires: before signed". *out is owned by the caller. */
int ecl_scc_registry_parse(const char *json, size_t len, const char *source, ecl_scc_registry **out,
                           ecl_err *err) ECL_WUR;
int ecl_scc_registry_load_file(const char *path, ecl_scc_registry **out, ecl_err *err) ECL_WUR;
void ecl_scc_registry_free(ecl_scc_registry *reg);

/* The SCC to use for sending data to `recipient_site` for a job in `country`
 * at time `now`: one in force (signed <= now < until) that lists the country.
 * Returns it, or NULL; then *closest (if not NULL) is set to the most relevant
 * record that did NOT apply (expired, not yet signed, other countries) so the
 * caller can say why, or NULL when the site has none with that recipient. */
const ecl_scc *ecl_scc_find(const ecl_scc_registry *reg, const char *recipient_site,
                            const char *country, int64_t now, const ecl_scc **closest);

size_t ecl_scc_count(const ecl_scc_registry *reg);

#endif
