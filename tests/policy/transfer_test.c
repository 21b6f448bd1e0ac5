/*
 * transfer_test.c - the transfer data: the shipped EEA / adequacy file holds
 * the real lists; malformed rules and SCC files are refused with ECL_E_INPUT
 * and the field named; SCC lookup by recipient, country and date.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy/transfer.h"

#define T_2026_11_21 INT64_C(1795219200)

static void test_shipped_rules(void **state)
{
    (void)state;
    ecl_transfer_rules *r;
    ecl_err err;
    if (ecl_transfer_rules_load_file("policy/data/transfer_rules.json", &r, &err) != 0)
        fail_msg("%s", err.msg);
    /* The 27 EU member states and Iceland, Liechtenstein, Norway. */
    static const char *const eea[] = {"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR",
                                      "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU", "MT", "NL",
                                      "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO"};
    assert_int_equal(ecl_transfer_eea_count(r), 30);
    for (size_t i = 0; i < 30; i++)
        if (!ecl_transfer_is_eea(r, eea[i]))
            fail_msg("%s missing from the EEA", eea[i]);
    static const char *const not_eea[] = {"CH", "GB", "US", "JP", "TR", "EL", "fi", "F", "FIN"};
    for (size_t i = 0; i < sizeof(not_eea) / sizeof(not_eea[0]); i++)
        assert_false(ecl_transfer_is_eea(r, not_eea[i]));
    assert_int_equal(ecl_transfer_adequacy_count(r), 16);
    const ecl_adequacy *us = ecl_transfer_adequacy(r, "US");
    assert_non_null(us);
    assert_true(us->partial);
    assert_string_equal(us->decision, "(EU) 2023/1795");
    assert_non_null(strstr(us->scope, "Data Privacy Framework"));
    const ecl_adequacy *gb = ecl_transfer_adequacy(r, "GB");
    assert_non_null(gb);
    assert_false(gb->partial);
    assert_int_equal(gb->until_unix, INT64_C(1956182400)); /* end of 2031-12-27 */
    static const char *const full[] = {"AD", "AR", "BR", "FO", "GG", "IL",
                                       "IM", "JE", "NZ", "CH", "UY", "GB"};
    for (size_t i = 0; i < sizeof(full) / sizeof(full[0]); i++) {
        const ecl_adequacy *a = ecl_transfer_adequacy(r, full[i]);
        if (a == NULL || a->partial)
            fail_msg("%s: expected a full adequacy decision", full[i]);
        assert_true(a->from_unix < T_2026_11_21);
    }
    /* Partial decisions say what they cover and what a requester must attest:
     * Japan's the private sector (APPI), Korea's not credit information (FSC). */
    static const struct {
        const char *cc, *scope, *attest;
    } partial[] = {
        {"CA", "PIPEDA", "a commercial organisation subject to PIPEDA"},
        {"US", "Data Privacy Framework", "certified under the EU-US Data Privacy Framework"},
        {"JP", "private sector only", "a business operator or academic institution under the APPI"},
        {"KR", "credit information", "credit information under FSC supervision"},
    };
    for (size_t i = 0; i < sizeof(partial) / sizeof(partial[0]); i++) {
        const ecl_adequacy *a = ecl_transfer_adequacy(r, partial[i].cc);
        if (a == NULL || !a->partial || a->attest == NULL ||
            strstr(a->scope, partial[i].scope) == NULL ||
            strstr(a->attest, partial[i].attest) == NULL)
            fail_msg("%s: expected a partial decision with its scope and attestation",
                     partial[i].cc);
    }
    assert_null(ecl_transfer_adequacy(r, "CN"));
    assert_null(ecl_transfer_adequacy(r, "FI"));
    assert_string_equal(ecl_transfer_rules_updated(r), "2026-12-07");
    ecl_transfer_rules_free(r);
}

typedef struct {
    const char *name;
    const char *json;
    const char *want;
} xcase;

#define RULES(eea, adequacy)                                                                       \
    "{\"ecluse_transfer_rules\": 1, \"updated\": \"2026-11-21\", \"eea\": [" eea                   \
    "], \"adequacy\": [" adequacy "]}"
#define FI "{\"country\": \"FI\", \"name\": \"Finland\"}"
#define JP(extra)                                                                                  \
    "{\"country\": \"JP\", \"name\": \"Japan\", \"decision\": \"(EU) 2019/419\", "                 \
    "\"in_force\": \"2019-01-23\", \"scope\": \"full\", \"note\": \"APPI\"" extra "}"

#define NOTE10 "0123456789"
#define NOTE241                                                                                    \
    NOTE10 NOTE10 NOTE10 NOTE10 NOTE10 NOTE10 NOTE10 NOTE10 NOTE10 NOTE10 NOTE10 NOTE10 NOTE10     \
        NOTE10 NOTE10 NOTE10 NOTE10 NOTE10 NOTE10 NOTE10 NOTE10 NOTE10 NOTE10 NOTE10 "x"

static const xcase k_rules[] = {
    {"not_json", "{",
     "r.json: line 1, column 1: not valid JSON: string or '}' expected near end "
     "of file"},
    {"unknown_top", "{\"ecluse_transfer_rules\": 1, \"x\": 1}", "r.json: x: unknown field"},
    {"version", "{\"ecluse_transfer_rules\": 3}",
     "r.json: ecluse_transfer_rules: must be an integer from 1 to 1, not 3"},
    {"updated_bad", "{\"ecluse_transfer_rules\": 1, \"updated\": \"yesterday\"}",
     "r.json: updated: not a date (YYYY-MM-DD): 'yesterday'"},
    {"eea_missing", "{\"ecluse_transfer_rules\": 1, \"updated\": \"2026-11-21\"}",
     "r.json: eea: missing (required)"},
    {"eea_item_type", RULES("\"FI\"", ""), "r.json: eea[0]: must be an object"},
    {"eea_country_bad", RULES("{\"country\": \"fi\", \"name\": \"Finland\"}", ""),
     "r.json: eea[0].country: 'fi' is not an ISO 3166-1 alpha-2 code"},
    {"eea_country_long", RULES("{\"country\": \"FIN\", \"name\": \"Finland\"}", ""),
     "r.json: eea[0].country: longer than 2 bytes"},
    {"eea_twice", RULES(FI ", " FI, ""), "r.json: eea[1]: country FI listed twice"},
    {"eea_name_missing", RULES("{\"country\": \"FI\"}", ""),
     "r.json: eea[0].name: missing (required)"},
    {"adequacy_also_eea",
     RULES(FI, "{\"country\": \"FI\", \"name\": \"F\", \"decision\": \"d\", \"in_force\": "
               "\"2019-01-23\", \"scope\": \"full\", \"note\": \"n\"}"),
     "r.json: adequacy[0]: country FI listed twice (or also in eea)"},
    {"adequacy_scope_bad", RULES(FI, JP(", \"scope\": \"most\"")), "r.json: line 1, column *"},
    {"adequacy_in_force_bad",
     RULES(FI, "{\"country\": \"JP\", \"name\": \"Japan\", \"decision\": \"d\", \"in_force\": "
               "\"2019-02-29\", \"scope\": \"full\", \"note\": \"n\"}"),
     "r.json: adequacy[0].in_force: not a date (YYYY-MM-DD): '2019-02-29'"},
    {"adequacy_expires_bad", RULES(FI, JP(", \"expires\": \"2025-13-01\"")),
     "r.json: adequacy[0].expires: not a date (YYYY-MM-DD): '2025-13-01'"},
    {"adequacy_expires_before", RULES(FI, JP(", \"expires\": \"2018-01-01\"")),
     "r.json: adequacy[0].expires: before in_force"},
    {"adequacy_note_missing",
     RULES(FI, "{\"country\": \"JP\", \"name\": \"Japan\", \"decision\": \"d\", \"in_force\": "
               "\"2019-01-23\", \"scope\": \"full\"}"),
     "r.json: adequacy[0].note: missing (required)"},
    {"adequacy_scope_value",
     RULES(FI, "{\"country\": \"JP\", \"name\": \"Japan\", \"decision\": \"d\", \"in_force\": "
               "\"2019-01-23\", \"scope\": \"most\", \"note\": \"n\"}"),
     "r.json: adequacy[0].scope: must be \"full\" or \"partial\", not 'most'"},
    {"adequacy_note_too_long",
     RULES(FI, "{\"country\": \"JP\", \"name\": \"Japan\", \"decision\": \"d\", \"in_force\": "
               "\"2019-01-23\", \"scope\": \"full\", \"note\": \"" NOTE241 "\"}"),
     "r.json: adequacy[0].note: longer than 240 bytes"},
    {"adequacy_unknown_field", RULES(FI, JP(", \"sector\": \"private\"")),
     "r.json: adequacy[0].sector: unknown field"},
    {"eea_country_unassigned", RULES("{\"country\": \"QQ\", \"name\": \"Q\"}", ""),
     "r.json: eea[0].country: 'QQ' is not an ISO 3166-1 alpha-2 code"},
    {"adequacy_country_unassigned",
     RULES(FI, "{\"country\": \"QQ\", \"name\": \"Q\", \"decision\": \"d\", \"in_force\": "
               "\"2019-01-23\", \"scope\": \"full\", \"note\": \"n\"}"),
     "r.json: adequacy[0].country: 'QQ' is not an ISO 3166-1 alpha-2 code"},
    {"adequacy_attest_on_full", RULES(FI, JP(", \"attest\": \"anything\"")),
     "r.json: adequacy[0].attest: only a \"partial\" decision asks for an attestation"},
};

#define SCCS(items) "{\"ecluse_sccs\": 1, \"site\": \"lu\", \"sccs\": [" items "]}"
#define SCC(extra)                                                                                 \
    "{\"recipient_site\": \"us-bos\", \"reference\": \"R1\", \"signed\": \"2025-03-01\", "         \
    "\"expires\": \"2028-02-29\", \"countries\": [\"US\"]" extra "}"

static const xcase k_sccs[] = {
    {"top_unknown", "{\"ecluse_sccs\": 1, \"sccs\": [], \"more\": 1}",
     "s.json: more: unknown field"},
    {"sccs_missing", "{\"ecluse_sccs\": 1}", "s.json: sccs: missing (required)"},
    {"item_type", SCCS("[]"), "s.json: sccs[0]: must be an object"},
    {"recipient_missing",
     SCCS("{\"reference\": \"R1\", \"signed\": \"2025-03-01\", \"expires\": \"2028-02-29\", "
          "\"countries\": [\"US\"]}"),
     "s.json: sccs[0].recipient_site: missing (required)"},
    {"expires_before_signed",
     SCCS("{\"recipient_site\": \"us-bos\", \"reference\": \"R1\", \"signed\": \"2025-03-01\", "
          "\"expires\": \"2024-03-01\", \"countries\": [\"US\"]}"),
     "s.json: sccs[0].expires: before signed"},
    {"signed_bad",
     SCCS("{\"recipient_site\": \"us-bos\", \"reference\": \"R1\", \"signed\": \"1.3.2025\", "
          "\"expires\": \"2028-02-29\", \"countries\": [\"US\"]}"),
     "s.json: sccs[0].signed: not a date (YYYY-MM-DD): '1.3.2025'"},
    {"countries_empty",
     SCCS("{\"recipient_site\": \"us-bos\", \"reference\": \"R1\", \"signed\": \"2025-03-01\", "
          "\"expires\": \"2028-02-29\", \"countries\": []}"),
     "s.json: sccs[0].countries: must list 1 to 16 countries"},
    {"countries_bad",
     SCCS("{\"recipient_site\": \"us-bos\", \"reference\": \"R1\", \"signed\": \"2025-03-01\", "
          "\"expires\": \"2028-02-29\", \"countries\": [\"US\", \"usa\"]}"),
     "s.json: sccs[0].countries[1]: 'usa' is not an ISO 3166-1 alpha-2 code"},
    /* Well formed but assigned to no country: the one ISO 3166-1 table decides. */
    {"countries_unassigned",
     SCCS("{\"recipient_site\": \"us-bos\", \"reference\": \"R1\", \"signed\": \"2025-03-01\", "
          "\"expires\": \"2028-02-29\", \"countries\": [\"US\", \"QQ\"]}"),
     "s.json: sccs[0].countries[1]: 'QQ' is not an ISO 3166-1 alpha-2 code"},
    {"countries_not_string",
     SCCS("{\"recipient_site\": \"us-bos\", \"reference\": \"R1\", \"signed\": \"2025-03-01\", "
          "\"expires\": \"2028-02-29\", \"countries\": [1]}"),
     "s.json: sccs[0].countries[0]: must be an ISO 3166-1 alpha-2 code (a string)"},
    {"reference_twice", SCCS(SCC("") ", " SCC("")), "s.json: sccs[1]: reference 'R1' listed twice"},
    {"unknown_field", SCCS(SCC(", \"module\": 1")), "s.json: sccs[0].module: unknown field"},
};

static int matches(const char *got, const char *want)
{
    size_t n = strlen(want);
    if (n > 0 && want[n - 1] == '*')
        return strncmp(got, want, n - 1) == 0;
    return strcmp(got, want) == 0;
}

static void test_malformed_rules(void **state)
{
    (void)state;
    size_t failed = 0, n = sizeof(k_rules) / sizeof(k_rules[0]);
    for (size_t i = 0; i < n; i++) {
        ecl_transfer_rules *r;
        ecl_err err;
        ecl_err_clear(&err);
        int rc =
            ecl_transfer_rules_parse(k_rules[i].json, strlen(k_rules[i].json), "r.json", &r, &err);
        if (rc != -1 || r != NULL || err.code != ECL_E_INPUT ||
            !matches(err.msg, k_rules[i].want)) {
            print_error("%s\n  got:  %s\n  want: %s\n", k_rules[i].name, err.msg, k_rules[i].want);
            failed++;
            ecl_transfer_rules_free(r);
        }
    }
    assert_int_equal(failed, 0);
}

static void test_malformed_sccs(void **state)
{
    (void)state;
    size_t failed = 0, n = sizeof(k_sccs) / sizeof(k_sccs[0]);
    for (size_t i = 0; i < n; i++) {
        ecl_scc_registry *s;
        ecl_err err;
        ecl_err_clear(&err);
        int rc = ecl_scc_registry_parse(k_sccs[i].json, strlen(k_sccs[i].json), "s.json", &s, &err);
        if (rc != -1 || s != NULL || err.code != ECL_E_INPUT || !matches(err.msg, k_sccs[i].want)) {
            print_error("%s\n  got:  %s\n  want: %s\n", k_sccs[i].name, err.msg, k_sccs[i].want);
            failed++;
            ecl_scc_registry_free(s);
        }
    }
    assert_int_equal(failed, 0);
}

static void test_scc_find(void **state)
{
    (void)state;
    static const char json[] =
        SCCS("{\"recipient_site\": \"us-bos\", \"reference\": \"OLD\", \"signed\": \"2020-01-01\", "
             "\"expires\": \"2024-12-31\", \"countries\": [\"US\"]}, "
             "{\"recipient_site\": \"us-bos\", \"reference\": \"NEW\", \"signed\": \"2025-03-01\", "
             "\"expires\": \"2028-02-29\", \"countries\": [\"US\", \"CA\"]}");
    ecl_scc_registry *reg;
    ecl_err err;
    const ecl_scc *near;
    assert_int_equal(ecl_scc_registry_parse(json, strlen(json), "s.json", &reg, &err), 0);
    assert_int_equal(ecl_scc_count(reg), 2);
    const ecl_scc *s = ecl_scc_find(reg, "us-bos", "CA", T_2026_11_21, &near);
    assert_non_null(s);
    assert_string_equal(s->reference, "NEW");
    /* Before NEW was signed only OLD was in force, and only for the US. */
    int64_t t2024 = INT64_C(1718000000);
    assert_string_equal(ecl_scc_find(reg, "us-bos", "US", t2024, &near)->reference, "OLD");
    assert_null(ecl_scc_find(reg, "us-bos", "CA", t2024, &near));
    assert_non_null(near);
    /* The last day of a contract still counts; the next day does not. */
    int64_t end = INT64_C(1835481600); /* 2028-03-01T00:00Z */
    assert_non_null(ecl_scc_find(reg, "us-bos", "US", end - 1, &near));
    assert_null(ecl_scc_find(reg, "us-bos", "US", end, &near));
    assert_non_null(near);
    assert_null(ecl_scc_find(reg, "us-nyc", "US", T_2026_11_21, &near));
    assert_null(near);
    assert_null(ecl_scc_find(NULL, "us-bos", "US", T_2026_11_21, &near));
    assert_int_equal(ecl_scc_count(NULL), 0);
    ecl_scc_registry_free(reg);
}

static void test_truncated_files(void **state)
{
    (void)state;
    char *text;
    size_t len;
    ecl_err err;
    /* Every prefix of the shipped rules file is refused (sampled every 7 bytes). */
    FILE *f = fopen("policy/data/transfer_rules.json", "rb");
    assert_non_null(f);
    text = malloc(1 << 16);
    len = fread(text, 1, 1 << 16, f);
    fclose(f);
    for (size_t n = 0; n + 2 < len; n += 7) {
        ecl_transfer_rules *r;
        assert_int_equal(ecl_transfer_rules_parse(text, n, "r.json", &r, &err), -1);
        assert_int_equal(err.code, ECL_E_INPUT);
    }
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_rules),   cmocka_unit_test(test_malformed_rules),
        cmocka_unit_test(test_malformed_sccs),  cmocka_unit_test(test_scc_find),
        cmocka_unit_test(test_truncated_files),
    };
    return cmocka_run_group_tests_name("policy_transfer", tests, NULL, NULL);
}
