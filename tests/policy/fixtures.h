/*
 * fixtures.h - the policies, transfer rules and SCCs the decision tests use.
 *
 * The rules are a cut of policy/data/transfer_rules.json with real entries,
 * except that the United Kingdom is recorded as it stood before its renewal
 * (expiring 2025-12-27), so "expired adequacy" is a real past state.
 * NOW is 2026-11-21T00:00:00Z.
 */
#ifndef ECLUSE_TESTS_POLICY_FIXTURES_H
#define ECLUSE_TESTS_POLICY_FIXTURES_H

#define NOW          INT64_C(1795219200) /* 2026-11-21 */
#define DAY          INT64_C(86400)
#define T_2025_12_01 INT64_C(1764547200)
#define T_2027_12_31 INT64_C(1830211200)
#define T_2028_01_01 INT64_C(1830297600)

static const char RULES_JSON[] =
    "{\"ecluse_transfer_rules\": 1, \"updated\": \"2026-11-21\","
    " \"eea\": [{\"country\": \"FI\", \"name\": \"Finland\"},"
    "           {\"country\": \"LU\", \"name\": \"Luxembourg\"},"
    "           {\"country\": \"DE\", \"name\": \"Germany\"},"
    "           {\"country\": \"NO\", \"name\": \"Norway\"}],"
    " \"adequacy\": ["
    "  {\"country\": \"JP\", \"name\": \"Japan\", \"decision\": \"(EU) 2019/419\","
    "   \"in_force\": \"2019-01-23\", \"scope\": \"full\", \"note\": \"APPI\"},"
    "  {\"country\": \"KR\", \"name\": \"Republic of Korea\", \"decision\": \"(EU) 2022/254\","
    "   \"in_force\": \"2021-12-17\", \"scope\": \"partial\","
    "   \"note\": \"PIPA, except credit information under FSC supervision\","
    "   \"attest\": \"the recipient does not process the data as credit information under FSC "
    "supervision\"},"
    "  {\"country\": \"CH\", \"name\": \"Switzerland\", \"decision\": \"2000/518/EC\","
    "   \"in_force\": \"2000-07-26\", \"scope\": \"full\", \"note\": \"FADP\"},"
    "  {\"country\": \"US\", \"name\": \"United States\", \"decision\": \"(EU) 2023/1795\","
    "   \"in_force\": \"2023-07-10\", \"scope\": \"partial\","
    "   \"note\": \"applies only to organisations certified under the EU-US Data Privacy "
    "Framework\"},"
    "  {\"country\": \"GB\", \"name\": \"United Kingdom\", \"decision\": \"(EU) 2021/1772\","
    "   \"in_force\": \"2021-06-28\", \"expires\": \"2025-12-27\", \"scope\": \"full\","
    "   \"note\": \"sunset clause\"},"
    "  {\"country\": \"BR\", \"name\": \"Brazil\", \"decision\": \"(EU) 2026/179\","
    "   \"in_force\": \"2026-01-26\", \"scope\": \"full\", \"note\": \"LGPD\"}"
    " ]}";

static const char SCCS_JSON[] =
    "{\"ecluse_sccs\": 1, \"site\": \"lu\", \"sccs\": ["
    " {\"recipient_site\": \"us-bos\", \"reference\": \"LU-SCC-2025-004\","
    "  \"signed\": \"2025-03-01\", \"expires\": \"2028-02-29\", \"countries\": [\"US\"]},"
    " {\"recipient_site\": \"cn-sha\", \"reference\": \"LU-SCC-2022-001\","
    "  \"signed\": \"2022-01-10\", \"expires\": \"2024-12-31\", \"countries\": [\"CN\"]},"
    " {\"recipient_site\": \"in-blr\", \"reference\": \"LU-SCC-2026-009\","
    "  \"signed\": \"2027-01-01\", \"expires\": \"2029-12-31\", \"countries\": [\"IN\"]}"
    "]}";

/* Special category (health), research only: every GDPR rule applies. */
static const char BASE_JSON[] =
    "{\"ecluse_policy\": 1, \"dataset\": \"lu/cohort\","
    " \"category\": \"special\", \"special_categories\": [\"health\"], \"pseudonymised\": true,"
    " \"lawful_bases\": [\"art6-1-e\", \"art9-2-j\"],"
    " \"purposes\": {\"allowed\": [\"HMB\"]},"
    " \"tensors\": [{\"name\": \"features\"}, {\"name\": \"labels\"},"
    "              {\"name\": \"patient_ref\", \"identifying\": true}],"
    " \"minimisation\": {"
    "   \"default\": {\"tensors\": [\"features\", \"labels\", \"patient_ref\"], \"max_rows\": 500},"
    "   \"by_purpose\": {\"DS-C50\": {\"tensors\": [\"features\"], \"max_rows\": 100}}},"
    " \"storage\": {\"access_until\": \"2027-12-31\", \"max_grant_days\": 30,"
    "               \"retention_days\": 90},"
    " \"research\": {\"ethics_approval_required\": true, \"pseudonymised_only\": true}}";

/* Pseudonymised data with every DUO modifier the engine enforces. */
static const char MODS_JSON[] =
    "{\"ecluse_policy\": 1, \"dataset\": \"lu/registry\","
    " \"category\": \"pseudonymised\", \"lawful_bases\": [\"art6-1-e\"],"
    " \"purposes\": {\"allowed\": [\"GRU\"],"
    "   \"modifiers\": [\"NCU\", \"NPU\", \"NPUNCU\", \"IRB\", \"GS\", \"IS\", \"US\", \"NPOA\","
    "                   \"TS\", \"MOR\", \"PUB\", \"COL\", \"RTN\"],"
    "   \"geographic_area\": [\"EEA\", \"JP\"],"
    "   \"institutions\": [\"University of Helsinki\", \"University of Luxembourg\"],"
    "   \"users\": [\"spiffe://fi/researcher/alice\"],"
    "   \"moratorium_until\": \"2027-06-30\"},"
    " \"tensors\": [{\"name\": \"features\"}, {\"name\": \"labels\"}],"
    " \"minimisation\": {\"default\": {\"tensors\": [\"features\", \"labels\"],"
    "                                  \"max_rows\": 1000}},"
    " \"storage\": {\"access_until\": \"2027-12-31\", \"max_grant_days\": 30,"
    "               \"retention_days\": 10}}";

/* Anonymous data: GDPR does not apply. */
static const char ANON_JSON[] =
    "{\"ecluse_policy\": 1, \"dataset\": \"fi/digits\", \"category\": \"anonymous\","
    " \"purposes\": {\"allowed\": [\"NRES\"]},"
    " \"tensors\": [{\"name\": \"features\"}, {\"name\": \"labels\"}],"
    " \"minimisation\": {\"default\": {\"tensors\": [\"features\", \"labels\"],"
    "                                  \"max_rows\": 1797}},"
    " \"storage\": {\"max_grant_days\": 365}}";

/* Personal data that may stay in the EEA or go under adequacy, never SCCs. */
static const char NOSCC_JSON[] =
    "{\"ecluse_policy\": 1, \"dataset\": \"lu/staff\", \"category\": \"personal\","
    " \"lawful_bases\": [\"art6-1-f\"],"
    " \"purposes\": {\"allowed\": [\"GRU\"]},"
    " \"tensors\": [{\"name\": \"features\"}],"
    " \"minimisation\": {\"default\": {\"tensors\": [\"features\"], \"max_rows\": 50}},"
    " \"storage\": {\"max_grant_days\": 7, \"retention_days\": 0},"
    " \"transfers\": {\"allow\": [\"eea\", \"adequacy\"]}}";

#endif
