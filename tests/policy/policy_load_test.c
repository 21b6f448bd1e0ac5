/*
 * policy_load_test.c - policy files: the example policies load; every
 * malformed or self-contradicting policy is refused with ECL_E_INPUT and a
 * message naming the file, the field and the problem (asserted exactly).
 *
 * Each negative case is the valid BASE policy with up to three text
 * substitutions, so each breaks exactly one thing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy/policy.h"

static const char BASE[] =
    "{\"ecluse_policy\": 1, \"dataset\": \"lu/cohort\", \"category\": \"special\","
    " \"special_categories\": [\"health\"], \"pseudonymised\": true,"
    " \"lawful_bases\": [\"art6-1-e\", \"art9-2-j\"],"
    " \"purposes\": {\"allowed\": [\"HMB\", \"DS-C50\"], \"modifiers\": [\"NCU\", \"IRB\"]},"
    " \"tensors\": [{\"name\": \"features\"}, {\"name\": \"labels\"},"
    " {\"name\": \"patient_ref\", \"identifying\": true}],"
    " \"minimisation\": {\"default\": {\"tensors\": [\"features\", \"labels\"], \"max_rows\": 500},"
    " \"by_purpose\": {\"DS-C50\": {\"tensors\": [\"features\"], \"max_rows\": 100}}},"
    " \"storage\": {\"access_until\": \"2027-12-31\", \"max_grant_days\": 30,"
    " \"retention_days\": 90},"
    " \"transfers\": {\"allow\": [\"eea\", \"adequacy\", \"scc\"]},"
    " \"research\": {\"ethics_approval_required\": true, \"pseudonymised_only\": true}}";

typedef struct {
    const char *name;
    const char *sub[6]; /* from, to, from, to, ... */
    const char *want;   /* the exact message; a trailing '*' matches a prefix */
} lcase;

#define MOD(x)  "\"modifiers\": [\"NCU\", \"IRB\"" x "]"
#define ALLOWED "\"allowed\": [\"HMB\", \"DS-C50\"]"

static const lcase k_cases[] = {
    {"not_json",
     {"\"dataset\"", "dataset"},
     "p.json: line 1, column 28: not valid JSON: string or '}' expected near 'dataset'"},
    {"not_object", {BASE, "[1, 2]"}, "p.json: the top level must be a JSON object"},
    {"duplicate_key",
     {"\"dataset\": \"lu/cohort\"", "\"dataset\": \"a/b\", \"dataset\": \"a/c\""},
     "p.json: line 1, column *"},
    {"unknown_field",
     {"\"ecluse_policy\": 1,", "\"ecluse_policy\": 1, \"colour\": \"red\","},
     "p.json: colour: unknown field"},
    {"version",
     {"\"ecluse_policy\": 1", "\"ecluse_policy\": 2"},
     "p.json: ecluse_policy: must be an integer from 1 to 1, not 2"},
    {"dataset_missing",
     {"\"dataset\": \"lu/cohort\", ", ""},
     "p.json: dataset: missing (required)"},
    {"dataset_not_id",
     {"lu/cohort", "cohort"},
     "p.json: dataset: 'cohort' is not a dataset id of the form <site>/<name>"},
    {"dataset_type", {"\"lu/cohort\"", "42"}, "p.json: dataset: must be a string, not an integer"},
    {"category_unknown",
     {"\"special\",", "\"secret\","},
     "p.json: category: unknown category 'secret' (anonymous, pseudonymised, personal, special)"},
    {"special_unknown",
     {"[\"health\"]", "[\"health\", \"tattoos\"]"},
     "p.json: special_categories[1]: unknown special category 'tattoos' (GDPR Art. 9(1): "
     "racial-ethnic-origin, political-opinions, religious-beliefs, trade-union, genetic, "
     "biometric, health, sex-life)"},
    {"special_missing",
     {"\"special_categories\": [\"health\"], ", ""},
     "p.json: special_categories: missing (required)"},
    {"special_empty",
     {"[\"health\"]", "[]"},
     "p.json: special_categories: category 'special' needs at least one GDPR Art. 9(1) category"},
    {"special_on_personal",
     {"\"special\",", "\"personal\","},
     "p.json: special_categories: given, but category is 'personal': a contradiction (use "
     "category 'special' for Art. 9 data)"},
    {"pseudonymised_contradiction",
     {"\"special\",", "\"pseudonymised\",", "\"special_categories\": [\"health\"], ", "",
      "\"pseudonymised\": true", "\"pseudonymised\": false"},
     "p.json: pseudonymised: false, but category is 'pseudonymised': a contradiction"},
    {"basis_unknown",
     {"\"art6-1-e\", \"art9-2-j\"", "\"art6-1-z\""},
     "p.json: lawful_bases[0]: unknown lawful basis 'art6-1-z' (art6-1-<a..f> or "
     "art9-2-<a..j>)"},
    {"basis_twice",
     {"\"art6-1-e\", \"art9-2-j\"", "\"art6-1-e\", \"art6-1-e\""},
     "p.json: lawful_bases[1]: 'art6-1-e' listed twice"},
    {"special_without_art9",
     {"\"art6-1-e\", \"art9-2-j\"", "\"art6-1-e\""},
     "p.json: lawful_bases: contradiction: category is 'special' (health) but no Art. 9(2) basis "
     "is given; processing special categories is prohibited without one (GDPR Art. 9(1))"},
    {"no_art6",
     {"\"art6-1-e\", \"art9-2-j\"", "\"art9-2-j\""},
     "p.json: lawful_bases: no Art. 6(1) basis: special data could never be processed, so the "
     "policy could never permit a request"},
    {"art9_on_pseudonymised",
     {"\"special\",", "\"pseudonymised\",", "\"special_categories\": [\"health\"], ", ""},
     "p.json: lawful_bases: contradiction: an Art. 9(2) basis (art9-2-j) is given but category "
     "is 'pseudonymised', not a special category"},
    {"art9j_without_safeguards",
     {", \"research\": {\"ethics_approval_required\": true, \"pseudonymised_only\": true}", ""},
     "p.json: lawful_bases: 'art9-2-j' (scientific research) requires the safeguards of "
     "Art. 89(1): set research.ethics_approval_required and/or research.pseudonymised_only"},
    {"lawful_bases_missing",
     {"\"lawful_bases\": [\"art6-1-e\", \"art9-2-j\"],", ""},
     "p.json: lawful_bases: missing (required)"},
    {"anonymous_with_bases",
     {"\"special\",", "\"anonymous\",", "\"special_categories\": [\"health\"], ", "",
      "\"art6-1-e\", \"art9-2-j\"", "\"art6-1-e\""},
     "p.json: lawful_bases: given, but category is 'anonymous': GDPR does not apply to anonymous "
     "data (Recital 26); remove them or correct the category"},
    {"purpose_unknown",
     {ALLOWED, "\"allowed\": [\"HMB\", \"DS-C50\", \"XYZ\"]"},
     "p.json: purposes.allowed[2]: unknown DUO code 'XYZ'"},
    {"purpose_is_modifier",
     {ALLOWED, "\"allowed\": [\"NCU\"]"},
     "p.json: purposes.allowed[0]: a DUO modifier is not a research purpose: 'NCU'"},
    {"purpose_ds_no_disease",
     {"\"DS-C50\"]", "\"DS-\"]"},
     "p.json: purposes.allowed[1]: DS needs a disease id (DS-<disease>): 'DS-'"},
    {"purpose_ds_bad_disease",
     {"\"DS-C50\"]", "\"DS-C 50\"]"},
     "p.json: purposes.allowed[1]: disease id may hold only letters, digits and ':._-', not "
     "'DS-C 50'"},
    {"purpose_twice",
     {ALLOWED, "\"allowed\": [\"HMB\", \"HMB\"]"},
     "p.json: purposes.allowed[1]: 'HMB' listed twice"},
    {"purpose_allowed_empty",
     {ALLOWED, "\"allowed\": []", "\"by_purpose\"", "\"by_purpose_x\""},
     "p.json: minimisation.by_purpose_x: unknown field"},
    {"purpose_allowed_empty2",
     {ALLOWED, "\"allowed\": []",
      ", \"by_purpose\": {\"DS-C50\": {\"tensors\": [\"features\"], "
      "\"max_rows\": 100}}",
      ""},
     "p.json: purposes.allowed: empty: no purpose is allowed, so the policy could never permit"},
    {"purpose_allowed_type",
     {ALLOWED, "\"allowed\": \"HMB\""},
     "p.json: purposes.allowed: must be an array, not a string"},
    {"purposes_unknown_field",
     {MOD(""), MOD("") ", \"notes\": \"x\""},
     "p.json: purposes.notes: unknown field"},
    {"modifier_unknown",
     {MOD(""), MOD(", \"FOO\"")},
     "p.json: purposes.modifiers[2]: unknown DUO code 'FOO'"},
    {"modifier_unsupported",
     {MOD(""), MOD(", \"GSO\"")},
     "p.json: purposes.modifiers[2]: DUO code 'GSO' (DUO:0000016, genetic studies only) is not "
     "supported: a request here cannot show it is met"},
    {"modifier_is_purpose",
     {MOD(""), MOD(", \"HMB\"")},
     "p.json: purposes.modifiers[2]: 'HMB' is a purpose, not a modifier: list it in "
     "purposes.allowed"},
    {"modifier_twice",
     {MOD(""), MOD(", \"NCU\"")},
     "p.json: purposes.modifiers[2]: 'NCU' listed twice"},
    {"gs_without_area",
     {MOD(""), MOD(", \"GS\"")},
     "p.json: purposes.geographic_area: missing: modifier GS needs it"},
    {"area_without_gs",
     {MOD(""), MOD("") ", \"geographic_area\": [\"EEA\"]"},
     "p.json: purposes.geographic_area: given, but purposes.modifiers has no GS"},
    {"area_bad",
     {MOD(""), MOD(", \"GS\"") ", \"geographic_area\": [\"Europe\"]"},
     "p.json: purposes.geographic_area[0]: 'Europe' is neither \"EEA\" nor an ISO 3166-1 "
     "alpha-2 country code"},
    {"area_unassigned",
     {MOD(""), MOD(", \"GS\"") ", \"geographic_area\": [\"EEA\", \"QQ\"]"},
     "p.json: purposes.geographic_area[1]: 'QQ' is neither \"EEA\" nor an ISO 3166-1 "
     "alpha-2 country code"},
    {"area_empty",
     {MOD(""), MOD(", \"GS\"") ", \"geographic_area\": []"},
     "p.json: purposes.geographic_area: empty: modifier GS with an empty list can never permit"},
    {"users_bad",
     {MOD(""), MOD(", \"US\"") ", \"users\": [\"alice\"]"},
     "p.json: purposes.users[0]: 'alice' is not a SPIFFE id (spiffe://<site>/researcher/<name>)"},
    {"institutions_type",
     {MOD(""), MOD(", \"IS\"") ", \"institutions\": [7]"},
     "p.json: purposes.institutions[0]: must be a string"},
    {"moratorium_bad_date",
     {MOD(""), MOD(", \"MOR\"") ", \"moratorium_until\": \"2027-02-30\""},
     "p.json: purposes.moratorium_until: not a date (YYYY-MM-DD): '2027-02-30'"},
    {"ts_without_access_until",
     {MOD(""), MOD(", \"TS\""), "\"access_until\": \"2027-12-31\", ", ""},
     "p.json: purposes.modifiers: TS (time limit on use) needs storage.access_until, the date "
     "the use ends"},
    {"npoa_only_poa",
     {ALLOWED, "\"allowed\": [\"POA\"]", MOD(""), MOD(", \"NPOA\""), "\"DS-C50\": {", "\"POA\": {"},
     "p.json: purposes.modifiers: contradiction: NPOA prohibits the only allowed purpose, POA"},
    {"tensors_empty",
     {"[{\"name\": \"features\"}, {\"name\": \"labels\"}, {\"name\": \"patient_ref\", "
      "\"identifying\": true}]",
      "[]"},
     "p.json: tensors: empty: a dataset needs a tensor"},
    {"tensor_twice",
     {"{\"name\": \"labels\"}", "{\"name\": \"features\"}"},
     "p.json: tensors[1]: tensor 'features' declared twice"},
    {"tensor_identifying_type",
     {"\"identifying\": true", "\"identifying\": \"yes\""},
     "p.json: tensors[2].identifying: must be true or false, not a string"},
    {"tensor_name_empty",
     {"{\"name\": \"labels\"}", "{\"name\": \"\"}"},
     "p.json: tensors[1].name: must not be empty"},
    {"tensor_unknown_field",
     {"{\"name\": \"labels\"}", "{\"name\": \"labels\", \"dtype\": \"F32\"}"},
     "p.json: tensors[1].dtype: unknown field"},
    {"scope_undeclared_tensor",
     {"[\"features\", \"labels\"]", "[\"features\", \"genome\"]"},
     "p.json: minimisation.default.tensors[1]: tensor 'genome' is not declared in tensors"},
    {"scope_rows_zero",
     {"\"max_rows\": 500", "\"max_rows\": 0"},
     "p.json: minimisation.default.max_rows: must be an integer from 1 to 9223372036854775807, "
     "not 0"},
    {"scope_rows_negative",
     {"\"max_rows\": 500", "\"max_rows\": -5"},
     "p.json: minimisation.default.max_rows: must be an integer from 1 to 9223372036854775807, "
     "not -5"},
    {"scope_rows_type",
     {"\"max_rows\": 500", "\"max_rows\": \"many\""},
     "p.json: minimisation.default.max_rows: must be an integer, not a string"},
    {"scope_rows_real",
     {"\"max_rows\": 500", "\"max_rows\": 5.5"},
     "p.json: minimisation.default.max_rows: must be an integer, not a number"},
    {"scope_default_missing",
     {"\"default\": {\"tensors\": [\"features\", \"labels\"], "
      "\"max_rows\": 500}, ",
      ""},
     "p.json: minimisation.default: missing (required)"},
    {"scope_purpose_not_covered",
     {"\"DS-C50\": {", "\"POA\": {"},
     "p.json: minimisation.by_purpose.POA: purpose POA is not covered by purposes.allowed (HMB, "
     "DS-C50): this scope could never apply"},
    {"scope_purpose_unknown",
     {"\"DS-C50\": {", "\"XYZ\": {"},
     "p.json: minimisation.by_purpose.XYZ: unknown DUO code 'XYZ'"},
    {"scope_only_identifying",
     {"[\"features\"], \"max_rows\": 100", "[\"patient_ref\"], "
                                           "\"max_rows\": 100"},
     "p.json: minimisation.by_purpose.DS-C50: every tensor it names is identifying, and "
     "research.pseudonymised_only withholds those: it could never release data"},
    {"access_until_bad",
     {"\"2027-12-31\"", "\"31/12/2027\""},
     "p.json: storage.access_until: not a date (YYYY-MM-DD): '31/12/2027'"},
    {"max_grant_days_missing",
     {"\"max_grant_days\": 30, ", ""},
     "p.json: storage.max_grant_days: missing (required)"},
    {"max_grant_days_range",
     {"\"max_grant_days\": 30", "\"max_grant_days\": 5000"},
     "p.json: storage.max_grant_days: must be an integer from 1 to 3650, not 5000"},
    {"retention_missing",
     {", \"retention_days\": 90", ""},
     "p.json: storage.retention_days: missing: required for special data (GDPR Art. 5(1)(e))"},
    {"storage_missing",
     {"\"storage\": {\"access_until\": \"2027-12-31\", \"max_grant_days\": 30, "
      "\"retention_days\": 90},",
      ""},
     "p.json: storage: missing (required)"},
    {"transfer_unknown",
     {"\"eea\", \"adequacy\", \"scc\"", "\"eea\", \"bcr\""},
     "p.json: transfers.allow[1]: unknown transfer mechanism 'bcr' (eea, adequacy, scc)"},
    {"transfer_empty",
     {"\"eea\", \"adequacy\", \"scc\"", ""},
     "p.json: transfers.allow: empty: no job could run anywhere, the policy could never permit"},
    {"research_unknown",
     {"\"pseudonymised_only\": true}", "\"pseudonymised_only\": true, "
                                       "\"irb\": 1}"},
     "p.json: research.irb: unknown field"},
    {"pseudonymised_only_on_identified",
     {"\"pseudonymised\": true", "\"pseudonymised\": false"},
     "p.json: research.pseudonymised_only: true, but the data are not pseudonymised (category "
     "'special', pseudonymised false): no request could ever be permitted"},
};

#define N_CASES (sizeof(k_cases) / sizeof(k_cases[0]))

/* BASE with the case's substitutions; each `from` must occur in the text. */
static char *apply(const lcase *c)
{
    char *text = strdup(BASE);
    for (int i = 0; i < 6 && c->sub[i] != NULL; i += 2) {
        char *at = strstr(text, c->sub[i]);
        if (at == NULL)
            fail_msg("%s: substitution %d does not match the base policy", c->name, i / 2);
        size_t from = strlen(c->sub[i]), to = strlen(c->sub[i + 1]);
        char *out = malloc(strlen(text) - from + to + 1);
        size_t pre = (size_t)(at - text);
        memcpy(out, text, pre);
        memcpy(out + pre, c->sub[i + 1], to);
        strcpy(out + pre + to, at + from);
        free(text);
        text = out;
    }
    return text;
}

static int matches(const char *got, const char *want)
{
    size_t n = strlen(want);
    if (n > 0 && want[n - 1] == '*')
        return strncmp(got, want, n - 1) == 0;
    return strcmp(got, want) == 0;
}

static void test_base_loads(void **state)
{
    (void)state;
    ecl_policy *pol = NULL;
    ecl_err err;
    if (ecl_policy_parse(BASE, strlen(BASE), "p.json", &pol, &err) != 0)
        fail_msg("base policy: %s", err.msg);
    assert_string_equal(ecl_policy_dataset(pol), "lu/cohort");
    ecl_policy_free(pol);
}

static void test_malformed(void **state)
{
    (void)state;
    size_t failed = 0;
    for (size_t i = 0; i < N_CASES; i++) {
        const lcase *c = &k_cases[i];
        char *text = apply(c);
        ecl_policy *pol = (ecl_policy *)&failed; /* must come back NULL */
        ecl_err err;
        ecl_err_clear(&err);
        int rc = ecl_policy_parse(text, strlen(text), "p.json", &pol, &err);
        if (rc != -1 || pol != NULL || err.code != ECL_E_INPUT || !matches(err.msg, c->want)) {
            print_error("%s: rc %d, code %s\n  got:  %s\n  want: %s\n", c->name, rc,
                        ecl_code_name(err.code), err.msg, c->want);
            failed++;
            if (rc == 0)
                ecl_policy_free(pol);
        }
        free(text);
    }
    print_message("%zu malformed policies, %zu not refused as expected\n", N_CASES, failed);
    assert_int_equal(failed, 0);
}

/* Every byte-prefix of a valid policy is refused, never crashes. */
static void test_truncated(void **state)
{
    (void)state;
    size_t n = strlen(BASE);
    for (size_t len = 0; len < n; len++) {
        ecl_policy *pol;
        ecl_err err;
        assert_int_equal(ecl_policy_parse(BASE, len, "p.json", &pol, &err), -1);
        assert_int_equal(err.code, ECL_E_INPUT);
        assert_null(pol);
    }
}

static void test_examples_load(void **state)
{
    (void)state;
    static const char *const files[][2] = {
        {"examples/policies/breast_cancer.json", "lu/breast-cancer"},
        {"examples/policies/diabetes.json", "lu/diabetes"},
        {"examples/policies/digits.json", "fi/digits"},
    };
    for (size_t i = 0; i < 3; i++) {
        ecl_policy *pol;
        ecl_err err;
        if (ecl_policy_load_file(files[i][0], &pol, &err) != 0)
            fail_msg("%s: %s", files[i][0], err.msg);
        assert_string_equal(ecl_policy_dataset(pol), files[i][1]);
        ecl_policy_free(pol);
    }
}

static void test_load_file_errors(void **state)
{
    (void)state;
    ecl_policy *pol;
    ecl_err err;
    assert_int_equal(ecl_policy_load_file("examples/policies/none.json", &pol, &err), -1);
    assert_int_equal(err.code, ECL_E_NOT_FOUND);
    assert_non_null(strstr(err.msg, "examples/policies/none.json"));
    assert_null(pol);
    /* A file of another kind names itself in the error. */
    assert_int_equal(ecl_policy_load_file("examples/policies/sccs.json", &pol, &err), -1);
    assert_int_equal(err.code, ECL_E_INPUT);
    assert_string_equal(err.msg, "examples/policies/sccs.json: ecluse_sccs: unknown field");
}

/* The example policies decide as their descriptions say, on the shipped rules. */
static void test_examples_decide(void **state)
{
    (void)state;
    ecl_policy *pol;
    ecl_transfer_rules *rules;
    ecl_scc_registry *sccs;
    ecl_err err;
    ecl_policy_decision d;
    assert_int_equal(ecl_transfer_rules_load_file("policy/data/transfer_rules.json", &rules, &err),
                     0);
    assert_int_equal(ecl_scc_registry_load_file("examples/policies/sccs.json", &sccs, &err), 0);
    assert_int_equal(ecl_policy_load_file("examples/policies/breast_cancer.json", &pol, &err), 0);
    ecl_policy_request r = {.dataset = "lu/breast-cancer",
                            .requester_site = "us-bos",
                            .requester_role = "researcher",
                            .requester_name = "carol",
                            .affiliation = "Boston Medical Research Institute",
                            .org_type = "non-profit",
                            .purpose = "DS-MONDO:0007254",
                            .lawful_basis = "art6-1-e+art9-2-j",
                            .ethics_ref = "BMRI-IRB-2026-77",
                            .job_country = "US",
                            .now_unix = INT64_C(1795219200),
                            .dataset_rows = 569,
                            .withdrawn_rows = 2};
    assert_int_equal(ecl_policy_decide(pol, rules, sccs, &r, &d, &err), 0);
    assert_true(d.permit);
    assert_string_equal(d.transfer_basis, "scc:LU-SCC-2025-004");
    assert_int_equal(d.max_rows, 567);
    /* A commercial requester is refused by NPU; a job in Switzerland needs no SCCs. */
    r.org_type = "commercial";
    r.job_country = "CH";
    assert_int_equal(ecl_policy_decide(pol, rules, sccs, &r, &d, &err), 0);
    assert_false(d.permit);
    assert_false(ecl_policy_decision_find(&d, "purpose.NPU")->satisfied);
    assert_true(ecl_policy_decision_find(&d, "transfer")->satisfied);
    /* The longest shipped note (Canada, partial) fits the message whole. */
    r.org_type = "academic";
    r.job_country = "CA";
    assert_int_equal(ecl_policy_decide(pol, rules, sccs, &r, &d, &err), 0);
    assert_false(d.permit);
    const char *m = ecl_policy_decision_find(&d, "transfer")->message;
    assert_non_null(strstr(m, "is partial: covers only commercial organisations subject to "
                              "PIPEDA"));
    assert_non_null(strstr(m, "; SCCs LU-SCC-2025-004 with recipient site 'us-bos' do not cover "
                              "processing in CA"));
    assert_true(strlen(m) < ECL_POLICY_MESSAGE_MAX - 1);
    ecl_policy_free(pol);

    /* Diabetes: diabetes research in the EEA only. */
    assert_int_equal(ecl_policy_load_file("examples/policies/diabetes.json", &pol, &err), 0);
    r.dataset = "lu/diabetes";
    r.org_type = "academic";
    r.purpose = "DS-MONDO:0005015";
    r.job_country = "DE";
    r.dataset_rows = 442;
    /* NCU limits the use: a request that does not state a non-commercial use,
     * even from an academic, is taken as commercial. */
    assert_int_equal(ecl_policy_decide(pol, rules, sccs, &r, &d, &err), 0);
    assert_false(d.permit);
    assert_false(ecl_policy_decision_find(&d, "purpose.NCU")->satisfied);
    r.non_commercial_use = true;
    assert_int_equal(ecl_policy_decide(pol, rules, sccs, &r, &d, &err), 0);
    assert_true(d.permit);
    r.purpose = "DS-MONDO:0007254";
    assert_int_equal(ecl_policy_decide(pol, rules, sccs, &r, &d, &err), 0);
    assert_false(d.permit);
    assert_string_equal(ecl_policy_decision_find(&d, "purpose")->message,
                        "purpose DS-MONDO:0007254 is not covered by this dataset's data use "
                        "(DS-MONDO:0005015)");
    ecl_policy_free(pol);

    /* Digits: anonymous, anyone, anywhere. */
    assert_int_equal(ecl_policy_load_file("examples/policies/digits.json", &pol, &err), 0);
    r.dataset = "fi/digits";
    r.purpose = "GRU";
    r.lawful_basis = "";
    r.org_type = "commercial";
    r.job_country = "SG";
    r.dataset_rows = 1797;
    r.withdrawn_rows = 0;
    assert_int_equal(ecl_policy_decide(pol, rules, sccs, &r, &d, &err), 0);
    assert_true(d.permit);
    assert_int_equal(d.max_rows, 1797);
    ecl_policy_free(pol);
    ecl_transfer_rules_free(rules);
    ecl_scc_registry_free(sccs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base_loads),       cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_truncated),        cmocka_unit_test(test_examples_load),
        cmocka_unit_test(test_load_file_errors), cmocka_unit_test(test_examples_decide),
    };
    return cmocka_run_group_tests_name("policy_load", tests, NULL, NULL);
}
