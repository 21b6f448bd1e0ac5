/*
 * policy.h - the GDPR access-policy engine of ecluse.
 *
 * A dataset's policy is a JSON file its site admin writes and reviews (the
 * format is docs/policy.md). The engine loads it once, checks it, and then
 * decides access requests against it:
 *
 *   ecl_policy *pol;
 *   ecl_transfer_rules *rules;           // EEA + adequacy list: transfer.h
 *   ecl_scc_registry *sccs;              // the site's SCCs: transfer.h
 *   ecl_policy_load_file("lu-breast.json", &pol, &err);
 *   ...
 *   ecl_policy_decision d;               // caller-owned, fixed size
 *   ecl_policy_decide(pol, rules, sccs, &req, &d, &err);
 *   if (d.permit) ... sign a grant from d.tensors, d.max_rows, d.until_unix
 *
 * Deny by default: a decision is a permit only when every rule that applies
 * is satisfied. The decision lists EVERY rule that applied, satisfied or not,
 * each as a Reason of the wire protocol (rule, basis, satisfied, message,
 * remedy), and a permit carries its Obligations (code, text, due_unix) and the
 * granted scope. ecl_policy_decision maps field for field onto
 * ecluse.v1.AccessDecision / Reason / Obligation / GrantBody.
 *
 * Dry runs and real decisions are the same call; whether a grant is signed is
 * the gateway's business. The engine neither signs nor stores anything.
 *
 * Speed: ecl_policy_decide does not allocate and takes no locks; it only reads
 * the policy, the rules and the registry, so any number of threads may decide
 * against the same loaded objects at once (loading and freeing excepted).
 *
 * Caveats:
 *   - Strings in the decision are cut (still NUL-terminated) when longer than
 *     their fixed buffers; the sizes below fit every message the engine writes
 *     for names within the documented limits.
 *   - Dates in policy files are UTC calendar days; an end date ("until",
 *     "expires") includes that whole day.
 */
#ifndef ECLUSE_POLICY_POLICY_H
#define ECLUSE_POLICY_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "policy/transfer.h"

/* ------------------------------------------------------------------------
 * Limits (also documented in docs/policy.md)
 */
#define ECL_POLICY_MAX_REASONS     32
#define ECL_POLICY_MAX_OBLIGATIONS 16
#define ECL_POLICY_MAX_TENSORS     32 /* per dataset and per request */
#define ECL_POLICY_NAME_MAX        64 /* tensor names, incl. NUL */
#define ECL_POLICY_RULE_MAX        32
#define ECL_POLICY_BASIS_MAX       64
#define ECL_POLICY_MESSAGE_MAX     512
#define ECL_POLICY_REMEDY_MAX      256
#define ECL_POLICY_OBL_CODE_MAX    32
#define ECL_POLICY_OBL_TEXT_MAX    256
#define ECL_POLICY_TRANSFER_MAX    96
#define ECL_POLICY_FILE_MAX        (1024 * 1024) /* largest policy file read */

/* A loaded, checked policy. Opaque; immutable after load. */
typedef struct ecl_policy ecl_policy;

/* ------------------------------------------------------------------------
 * Loading
 */

/* Parse and check the policy JSON in `json` (`len` bytes; need not be
 * NUL-terminated). `source` names the input in error messages (a file name).
 *
 * Every error is ECL_E_INPUT and reads "<source>: <field>: <problem>", e.g.
 * "lu.json: purposes.allowed[2]: unknown DUO code 'XYZ'". Besides the shape of
 * each field, the policy is checked as a whole: one that could never permit
 * any request, or that contradicts itself (a special category with no
 * Art. 9(2) basis, pseudonymised_only on data that is not pseudonymised, ...)
 * is rejected with an explanation naming the fields involved.
 *
 * On success *out is a new policy owned by the caller (ecl_policy_free). On
 * failure *out is left NULL. */
int ecl_policy_parse(const char *json, size_t len, const char *source, ecl_policy **out,
                     ecl_err *err) ECL_WUR;

/* ecl_policy_parse of the file at `path`, which names it in errors. Besides
 * the parse errors: ECL_E_NOT_FOUND (no such file), ECL_E_IO (unreadable),
 * ECL_E_LIMIT (larger than ECL_POLICY_FILE_MAX). */
int ecl_policy_load_file(const char *path, ecl_policy **out, ecl_err *err) ECL_WUR;

/* Free a policy (NULL is fine). No decision may be running on it. */
void ecl_policy_free(ecl_policy *pol);

/* The dataset id ("<site>/<name>") the policy is for; valid while `pol` lives. */
const char *ecl_policy_dataset(const ecl_policy *pol);

/* The tensors the policy declares ("tensors"), in file order: the count, and
 * the name of tensor i (0 <= i < count; NULL beyond). Publishing checks these
 * against the data (store/check.h). Valid while `pol` lives. */
size_t ecl_policy_tensor_count(const ecl_policy *pol);
const char *ecl_policy_tensor_name(const ecl_policy *pol, size_t i);

/* ------------------------------------------------------------------------
 * The request
 *
 * Everything the gateway knows when it decides: the requester as it
 * authenticated them plus what their home site attests, the fields of
 * ecluse.v1.AccessRequest, the time, and two facts of the dataset that the
 * store provides. The engine only reads it; strings are NUL-terminated and
 * may be empty but not NULL (except `tensors` when n_tensors is 0).
 */
typedef struct ecl_policy_request {
    const char *dataset; /* "<site>/<name>"; must be the policy's dataset */

    /* Identity (from the certificate) and attested attributes. */
    const char *requester_site; /* e.g. "fi": also the SCC recipient site */
    const char *requester_role; /* "researcher", ... */
    const char *requester_name; /* e.g. "alice" */
    const char *affiliation;    /* e.g. "University of Helsinki" */
    const char *org_type;       /* "academic", "non-profit", "commercial" or "" */

    /* AccessRequest fields. */
    const char *purpose;      /* DUO research purpose: GRU, HMB, POA, DS-<disease> */
    const char *lawful_basis; /* "art6-1-e" or "art6-1-e+art9-2-j" (docs/policy.md) */
    const char *ethics_ref;   /* ethics approval reference, "" if none */
    const char *job_country;  /* ISO 3166-1 alpha-2 where the job runs */
    const char *const *tensors;
    size_t n_tensors;        /* 0 = every tensor the purpose may read */
    uint64_t rows;           /* rows wanted; 0 = as many as allowed */
    int64_t until_unix;      /* access wanted until; 0 = the policy's limit */
    bool non_commercial_use; /* the request states a non-commercial use (DUO NCU);
                                false: taken as commercial */

    int64_t now_unix; /* the time of the decision */

    /* Facts of the dataset from the store. */
    uint64_t dataset_rows;   /* rows stored; 0 = unknown (denied for personal data) */
    uint64_t withdrawn_rows; /* rows withdrawn under Art. 17, never streamed */
} ecl_policy_request;

/* ------------------------------------------------------------------------
 * The decision (ecluse.v1.AccessDecision without the grant signature)
 */

/* ecluse.v1.Reason */
typedef struct ecl_policy_reason {
    char rule[ECL_POLICY_RULE_MAX];   /* e.g. "purpose", "transfer", "purpose.NCU" */
    char basis[ECL_POLICY_BASIS_MAX]; /* GDPR article or DUO code, e.g. "GDPR Art. 45(3)" */
    bool satisfied;                   /* true: this rule permits; false: it denies */
    char message[ECL_POLICY_MESSAGE_MAX];
    char remedy[ECL_POLICY_REMEDY_MAX]; /* for a denial: what would satisfy it; else "" */
} ecl_policy_reason;

/* ecluse.v1.Obligation */
typedef struct ecl_policy_obligation {
    char code[ECL_POLICY_OBL_CODE_MAX]; /* e.g. "retention", "no-reidentification" */
    char text[ECL_POLICY_OBL_TEXT_MAX];
    int64_t due_unix; /* 0 if it has no date */
} ecl_policy_obligation;

typedef struct ecl_policy_decision {
    bool permit;

    size_t n_reasons; /* every rule that applied, in a fixed order */
    ecl_policy_reason reasons[ECL_POLICY_MAX_REASONS];

    size_t n_obligations; /* only on a permit; 0 on a deny */
    ecl_policy_obligation obligations[ECL_POLICY_MAX_OBLIGATIONS];

    /* The granted scope (GrantBody fields); all empty/0 on a deny. */
    size_t n_tensors;
    char tensors[ECL_POLICY_MAX_TENSORS][ECL_POLICY_NAME_MAX];
    uint64_t max_rows;
    int64_t until_unix;                           /* the grant's expires_unix */
    char transfer_basis[ECL_POLICY_TRANSFER_MAX]; /* "eea", "adequacy:<decision>",
                                                     "scc:<ref>", "anonymous" */
} ecl_policy_decision;

/* Decide `req` against `pol`, using `rules` (the EEA and adequacy list; must
 * not be NULL) and `sccs` (the site's standard contractual clauses; NULL means
 * none are recorded). Writes the whole decision into `out` (caller-owned; its
 * previous contents are ignored). Allocates nothing.
 *
 * Returns 0 when a decision was made, permit or deny: a bad purpose, basis,
 * country or tensor name in the request is a denial with its reason, not an
 * error. Returns -1 only when no decision can be made:
 *   ECL_E_USAGE  a NULL argument, or req->dataset is not the policy's dataset,
 *                or req->withdrawn_rows > req->dataset_rows, or req->now_unix
 *                is not between 1970 and 9999
 *   ECL_E_LIMIT  req->n_tensors > ECL_POLICY_MAX_TENSORS
 * On -1, `out` holds a deny with no reasons. */
int ecl_policy_decide(const ecl_policy *pol, const ecl_transfer_rules *rules,
                      const ecl_scc_registry *sccs, const ecl_policy_request *req,
                      ecl_policy_decision *out, ecl_err *err) ECL_WUR;

/* The first reason whose rule is `rule` (satisfied or not), or NULL. For
 * callers and tests that look for one rule's outcome. Valid while `d` is. */
const ecl_policy_reason *ecl_policy_decision_find(const ecl_policy_decision *d, const char *rule);

#endif
