/* policy.c - fuzz targets: the policy files a site admin writes
 * (ecl_policy_parse), then decisions against what was accepted; the
 * transfer-rules file (ecl_transfer_rules_parse) and the SCC file
 * (ecl_scc_registry_parse).
 *
 * An accepted policy is asked a fixed set of requests, and each decision must
 * keep the engine's promises: a decision is made (return 0), a permit has
 * every reason satisfied, a deny has at least one unsatisfied and grants
 * nothing, counts stay within their arrays. */
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "policy/policy.h"
#include "policy/transfer.h"

#define RULES_PATH "policy/data/transfer_rules.json"
#define NOW        1767225600 /* 2026-01-01 */

static const ecl_transfer_rules *rules(void)
{
    static ecl_transfer_rules *r;
    ecl_err err;
    if (r == NULL && ecl_transfer_rules_load_file(RULES_PATH, &r, &err) != 0)
        fz_fail("cannot load %s (run from the workspace root): %s", RULES_PATH, err.msg);
    return r;
}

typedef struct {
    const char *site, *org, *purpose, *basis, *ethics, *country;
    uint64_t rows;
    int64_t until;
} fz_req;

static const fz_req requests[] = {
    {"fi", "academic", "HMB", "art6-1-e+art9-2-j", "ERB-2025-1", "FI", 0, 0},
    {"fi", "academic", "GRU", "art6-1-e", "", "FI", 10, 0},
    {"us-bos", "non-profit", "DS-C0006142", "art6-1-e+art9-2-j", "IRB-7", "US", 100, 0},
    {"jp", "commercial", "POA", "art6-1-f", "", "JP", 0, NOW + 86400},
    {"fi", "", "HMB", "", "", "", 0, NOW - 1},
};

static void check_str(const char *what, const char *s, size_t cap)
{
    if (memchr(s, '\0', cap) == NULL)
        fz_fail("decision field %s is not NUL-terminated", what);
}

static void decide_one(const ecl_policy *pol, const fz_req *q)
{
    static const char *const tensors[] = {"features", "labels"};
    ecl_policy_request req = {
        .dataset = ecl_policy_dataset(pol),
        .requester_site = q->site,
        .requester_role = "researcher",
        .requester_name = "alice",
        .affiliation = "University",
        .org_type = q->org,
        .purpose = q->purpose,
        .lawful_basis = q->basis,
        .ethics_ref = q->ethics,
        .job_country = q->country,
        .tensors = q->rows ? tensors : NULL,
        .n_tensors = q->rows ? 2 : 0,
        .rows = q->rows,
        .until_unix = q->until,
        .now_unix = NOW,
        .dataset_rows = 569,
        .withdrawn_rows = 3,
    };
    static ecl_policy_decision d; /* large */
    ecl_err err;
    if (ecl_policy_decide(pol, rules(), NULL, &req, &d, &err) != 0)
        fz_fail("no decision for purpose %s: %s", q->purpose, err.msg);
    if (d.n_reasons == 0 || d.n_reasons > ECL_POLICY_MAX_REASONS ||
        d.n_obligations > ECL_POLICY_MAX_OBLIGATIONS || d.n_tensors > ECL_POLICY_MAX_TENSORS)
        fz_fail("decision counts out of range: %zu reasons, %zu obligations, %zu tensors",
                d.n_reasons, d.n_obligations, d.n_tensors);
    size_t unsatisfied = 0;
    for (size_t i = 0; i < d.n_reasons; i++) {
        unsatisfied += !d.reasons[i].satisfied;
        check_str("rule", d.reasons[i].rule, sizeof(d.reasons[i].rule));
        check_str("message", d.reasons[i].message, sizeof(d.reasons[i].message));
        check_str("remedy", d.reasons[i].remedy, sizeof(d.reasons[i].remedy));
    }
    if (d.permit && unsatisfied != 0)
        fz_fail("permit for %s with %zu unsatisfied reasons", q->purpose, unsatisfied);
    if (!d.permit &&
        (unsatisfied == 0 || d.n_obligations != 0 || d.n_tensors != 0 || d.max_rows != 0))
        fz_fail("deny for %s with %zu unsatisfied reasons, %zu obligations, %zu tensors",
                q->purpose, unsatisfied, d.n_obligations, d.n_tensors);
    if (d.permit && q->rows != 0 && d.max_rows > q->rows)
        fz_fail("permit grants %llu rows, %llu were asked for", (unsigned long long)d.max_rows,
                (unsigned long long)q->rows);
    check_str("transfer_basis", d.transfer_basis, sizeof(d.transfer_basis));
}

int fz_policy(const uint8_t *data, size_t size)
{
    ecl_policy *pol = NULL;
    ecl_err err;
    ecl_err_clear(&err);
    if (!FZ_CHECK("ecl_policy_parse",
                  ecl_policy_parse((const char *)data, size, "fuzz.json", &pol, &err), &err,
                  ECL_E_INPUT))
        return 0;
    if (pol == NULL || ecl_policy_dataset(pol) == NULL)
        fz_fail("policy accepted without a dataset");
    for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]); i++)
        decide_one(pol, &requests[i]);
    ecl_policy_free(pol);
    return 1;
}

int fz_transfer_rules(const uint8_t *data, size_t size)
{
    ecl_transfer_rules *r = NULL;
    ecl_err err;
    ecl_err_clear(&err);
    if (!FZ_CHECK("ecl_transfer_rules_parse",
                  ecl_transfer_rules_parse((const char *)data, size, "fuzz.json", &r, &err), &err,
                  ECL_E_INPUT))
        return 0;
    (void)ecl_transfer_is_eea(r, "FI");
    const ecl_adequacy *a = ecl_transfer_adequacy(r, "JP");
    if (a != NULL && (a->name == NULL || a->decision == NULL))
        fz_fail("adequacy entry with a NULL name or decision");
    ecl_transfer_rules_free(r);
    return 1;
}

int fz_sccs(const uint8_t *data, size_t size)
{
    ecl_scc_registry *reg = NULL;
    ecl_err err;
    ecl_err_clear(&err);
    if (!FZ_CHECK("ecl_scc_registry_parse",
                  ecl_scc_registry_parse((const char *)data, size, "fuzz.json", &reg, &err), &err,
                  ECL_E_INPUT))
        return 0;
    const ecl_scc *closest = NULL;
    const ecl_scc *s = ecl_scc_find(reg, "us-bos", "US", NOW, &closest);
    if (s != NULL && (s->signed_unix > NOW || s->until_unix <= NOW))
        fz_fail("SCC %s found out of force", s->reference);
    if (ecl_scc_count(reg) > ECL_TRANSFER_MAX_SCCS)
        fz_fail("%zu SCCs accepted", ecl_scc_count(reg));
    ecl_scc_registry_free(reg);
    return 1;
}
