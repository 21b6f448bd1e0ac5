/*
 * decide_test.c - the engine's decisions, table-driven: for every rule a
 * permit case and a deny case, each asserting the exact list of reasons
 * (rule and outcome, in order) and the exact basis, message and remedy of
 * the rule under test. Cross-border cases cover the EEA, adequacy, partial
 * adequacy, expired and not-yet-applicable adequacy, and SCCs present,
 * missing, expired, not yet signed.
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
#include "tests/policy/fixtures.h"

/* Heap calls from the statically linked engine are counted (linkopts wrap
 * malloc, calloc and realloc): a decision must make none. */
static size_t g_allocs;
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n)
{
    g_allocs++;
    return __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t m)
{
    g_allocs++;
    return __real_calloc(n, m);
}
void *__wrap_realloc(void *p, size_t n)
{
    g_allocs++;
    return __real_realloc(p, n);
}

enum { P_BASE, P_MODS, P_ANON, P_NOSCC, P_COUNT };

typedef struct {
    ecl_transfer_rules *rules;
    ecl_scc_registry *sccs;
    ecl_policy *pol[P_COUNT];
} world;

/* What a case changes in the default request; NULL / 0 = keep the default. */
typedef struct {
    const char *purpose, *basis, *ethics, *country, *site, *name, *org, *affiliation;
    const char *tensors; /* comma-separated; "" = none named */
    uint64_t rows;
    int64_t until, now;
    uint64_t dataset_rows, withdrawn; /* withdrawn: 0 = 5, UINT64_MAX = none */
    int commercial;                   /* 1: the request does not state a non-commercial use */
} change;

typedef struct {
    const char *name;
    int policy;
    change ch;
    int permit;
    const char *reasons; /* "rule+ rule- ..." exactly, in order */
    const char *rule;    /* the rule under test */
    const char *basis, *message, *remedy;
} dcase;

static const char *const k_dataset[P_COUNT] = {"lu/cohort", "lu/registry", "fi/digits", "lu/staff"};

#define BASE_OK                                                                                    \
    "lawful_basis+ lawful_basis.art9+ purpose+ research.ethics+ research.pseudonymised+ "          \
    "minimisation.tensors+ minimisation.rows+ storage.access_until+ transfer+ erasure+"
#define MODS_OK                                                                                    \
    "lawful_basis+ purpose+ purpose.NCU+ purpose.NPU+ purpose.NPUNCU+ purpose.IRB+ "               \
    "purpose.GS+ purpose.IS+ purpose.US+ purpose.NPOA+ purpose.TS+ purpose.MOR+ purpose.PUB+ "     \
    "purpose.COL+ purpose.RTN+ minimisation.tensors+ minimisation.rows+ storage.access_until+ "    \
    "transfer+ erasure+"
#define XFER_DENY                                                                                  \
    "lawful_basis+ lawful_basis.art9+ purpose+ research.ethics+ research.pseudonymised+ "          \
    "minimisation.tensors+ minimisation.rows+ storage.access_until+ transfer- erasure+"

static const dcase k_cases[] = {
    /* --- lawful basis: Art. 6 and Art. 9 ------------------------------------------ */
    {"lawful_permit",
     P_BASE,
     {0},
     1,
     BASE_OK,
     "lawful_basis.art9",
     "GDPR Art. 9(2)(j)",
     "Art. 9(2)(j) (scientific research, Art. 89(1)) is a basis this policy accepts",
     ""},
    {"lawful_art6_not_accepted",
     P_BASE,
     {.basis = "art6-1-f+art9-2-j"},
     0,
     "lawful_basis- lawful_basis.art9+ purpose+ research.ethics+ research.pseudonymised+ "
     "minimisation.tensors+ minimisation.rows+ storage.access_until+ transfer+ erasure+",
     "lawful_basis",
     "GDPR Art. 6(1)(f)",
     "Art. 6(1)(f) (legitimate interests) is not a basis this policy accepts",
     "claim one of: art6-1-e"},
    {"lawful_art9_missing",
     P_BASE,
     {.basis = "art6-1-e"},
     0,
     "lawful_basis+ lawful_basis.art9- purpose+ research.ethics+ research.pseudonymised+ "
     "minimisation.tensors+ minimisation.rows+ storage.access_until+ transfer+ erasure+",
     "lawful_basis.art9",
     "GDPR Art. 9(2)",
     "special category data (health, GDPR Art. 9(1)) needs an Art. 9(2) basis as well",
     "add '+' and one of: art9-2-j"},
    {"lawful_art9_not_accepted",
     P_BASE,
     {.basis = "art6-1-e+art9-2-a"},
     0,
     "lawful_basis+ lawful_basis.art9- purpose+ research.ethics+ research.pseudonymised+ "
     "minimisation.tensors+ minimisation.rows+ storage.access_until+ transfer+ erasure+",
     "lawful_basis.art9",
     "GDPR Art. 9(2)(a)",
     "Art. 9(2)(a) (explicit consent) is not a basis this policy accepts",
     "claim one of: art9-2-j"},
    {"lawful_syntax",
     P_BASE,
     {.basis = "article 6"},
     0,
     "lawful_basis- purpose+ research.ethics+ research.pseudonymised+ minimisation.tensors+ "
     "minimisation.rows+ storage.access_until+ transfer+ erasure+",
     "lawful_basis",
     "GDPR Art. 6(1)",
     "lawful basis 'article 6' not understood: not of the form art6-1-<a..f> or art9-2-<a..j>",
     "write art6-1-<a..f>+art9-2-<a..j>; accepted here: art6-1-e with art9-2-j"},
    {"lawful_order_free",
     P_BASE,
     {.basis = "art9-2-j+art6-1-e"},
     1,
     BASE_OK,
     "lawful_basis",
     "GDPR Art. 6(1)(e)",
     "Art. 6(1)(e) (public task) is a basis this policy accepts",
     ""},
    {"lawful_two_art6",
     P_BASE,
     {.basis = "art6-1-e+art6-1-a"},
     0,
     "lawful_basis- purpose+ research.ethics+ research.pseudonymised+ minimisation.tensors+ "
     "minimisation.rows+ storage.access_until+ transfer+ erasure+",
     "lawful_basis",
     "GDPR Art. 6(1)",
     "lawful basis 'art6-1-e+art6-1-a' not understood: more than one Art. 6(1) basis",
     "write art6-1-<a..f>+art9-2-<a..j>; accepted here: art6-1-e with art9-2-j"},
    {"lawful_art6_missing",
     P_NOSCC,
     {.basis = ""},
     0,
     "lawful_basis- purpose+ minimisation.tensors+ minimisation.rows+ storage.access_until+ "
     "transfer+ erasure+",
     "lawful_basis",
     "GDPR Art. 6(1)",
     "lawful basis '' not understood: no lawful basis given",
     "write art6-1-<a..f>; accepted here: art6-1-f"},
    {"lawful_anonymous",
     P_ANON,
     {.basis = ""},
     1,
     "lawful_basis+ purpose+ minimisation.tensors+ minimisation.rows+ storage.access_until+ "
     "transfer+",
     "lawful_basis",
     "GDPR Recital 26",
     "anonymous data is not personal data: no lawful basis is needed",
     ""},

    /* --- purpose: DUO matching ------------------------------------------------------ */
    {"purpose_ds_covered_by_hmb",
     P_BASE,
     {.purpose = "DS-C50"},
     1,
     BASE_OK,
     "purpose",
     "DUO:HMB (DUO:0000006)",
     "purpose DS-C50 is covered by the data use HMB (health or medical or biomedical research)",
     ""},
    {"purpose_gru_not_covered_by_hmb",
     P_BASE,
     {.purpose = "GRU"},
     0,
     "lawful_basis+ lawful_basis.art9+ purpose- research.ethics+ research.pseudonymised+ "
     "minimisation.tensors+ minimisation.rows+ storage.access_until+ transfer+ erasure+",
     "purpose",
     "DUO:GRU (DUO:0000042)",
     "purpose GRU is not covered by this dataset's data use (HMB)",
     "only purposes covered by HMB can be served"},
    {"purpose_poa_not_covered_by_hmb",
     P_BASE,
     {.purpose = "POA"},
     0,
     "lawful_basis+ lawful_basis.art9+ purpose- research.ethics+ research.pseudonymised+ "
     "minimisation.tensors+ minimisation.rows+ storage.access_until+ transfer+ erasure+",
     "purpose",
     "DUO:POA (DUO:0000011)",
     "purpose POA is not covered by this dataset's data use (HMB)",
     "only purposes covered by HMB can be served"},
    {"purpose_unknown_code",
     P_BASE,
     {.purpose = "XYZ"},
     0,
     "lawful_basis+ lawful_basis.art9+ purpose- research.ethics+ research.pseudonymised+ "
     "minimisation.tensors+ minimisation.rows+ storage.access_until+ transfer+ erasure+",
     "purpose",
     "GA4GH DUO",
     "purpose not understood: unknown DUO code 'XYZ'",
     "state a research purpose (GRU, HMB, POA or DS-<disease>) covered by: HMB"},
    {"purpose_modifier_is_no_purpose",
     P_BASE,
     {.purpose = "NCU"},
     0,
     "lawful_basis+ lawful_basis.art9+ purpose- research.ethics+ research.pseudonymised+ "
     "minimisation.tensors+ minimisation.rows+ storage.access_until+ transfer+ erasure+",
     "purpose",
     "GA4GH DUO",
     "purpose not understood: a DUO modifier is not a research purpose: 'NCU'",
     "state a research purpose (GRU, HMB, POA or DS-<disease>) covered by: HMB"},
    {"purpose_poa_covered_by_nres",
     P_ANON,
     {.purpose = "POA"},
     1,
     "lawful_basis+ purpose+ minimisation.tensors+ minimisation.rows+ storage.access_until+ "
     "transfer+",
     "purpose",
     "DUO:NRES (DUO:0000004)",
     "purpose POA is covered by the data use NRES (no restriction)",
     ""},

    /* --- DUO modifiers ------------------------------------------------------------- */
    {"mods_permit",
     P_MODS,
     {0},
     1,
     MODS_OK,
     "purpose.NCU",
     "DUO:NCU (DUO:0000046)",
     "non-commercial use only: the request states a non-commercial use",
     ""},
    {"mods_ncu_use_not_stated",
     P_MODS,
     {.commercial = 1},
     0,
     "lawful_basis+ purpose+ purpose.NCU- purpose.NPU+ purpose.NPUNCU- purpose.IRB+ "
     "purpose.GS+ purpose.IS+ purpose.US+ purpose.NPOA+ purpose.TS+ purpose.MOR+ purpose.PUB+ "
     "purpose.COL+ purpose.RTN+ minimisation.tensors+ minimisation.rows+ "
     "storage.access_until+ transfer+ erasure+",
     "purpose.NCU",
     "DUO:NCU (DUO:0000046)",
     "non-commercial use only: the request does not state a non-commercial use, so it is "
     "taken as commercial",
     "state that the use is non-commercial (non_commercial_use, --non-commercial), if it is"},
    {"mods_npuncu_use_not_stated",
     P_MODS,
     {.commercial = 1},
     0,
     "lawful_basis+ purpose+ purpose.NCU- purpose.NPU+ purpose.NPUNCU- purpose.IRB+ "
     "purpose.GS+ purpose.IS+ purpose.US+ purpose.NPOA+ purpose.TS+ purpose.MOR+ purpose.PUB+ "
     "purpose.COL+ purpose.RTN+ minimisation.tensors+ minimisation.rows+ "
     "storage.access_until+ transfer+ erasure+",
     "purpose.NPUNCU",
     "DUO:NPUNCU (DUO:0000018)",
     "not-for-profit, non-commercial use only: the request does not state a non-commercial "
     "use, so it is taken as commercial",
     "state that the use is non-commercial (non_commercial_use, --non-commercial), if it is"},
    {"mods_commercial",
     P_MODS,
     {.org = "commercial"},
     0,
     "lawful_basis+ purpose+ purpose.NCU+ purpose.NPU- purpose.NPUNCU- purpose.IRB+ "
     "purpose.GS+ purpose.IS+ purpose.US+ purpose.NPOA+ purpose.TS+ purpose.MOR+ purpose.PUB+ "
     "purpose.COL+ purpose.RTN+ minimisation.tensors+ minimisation.rows+ "
     "storage.access_until+ transfer+ erasure+",
     "purpose.NPU",
     "DUO:NPU (DUO:0000045)",
     "not-for-profit use only: the requester's organisation is commercial",
     "only academic or non-profit requesters qualify"},
    {"mods_org_not_attested",
     P_MODS,
     {.org = ""},
     0,
     "lawful_basis+ purpose+ purpose.NCU+ purpose.NPU- purpose.NPUNCU- purpose.IRB+ "
     "purpose.GS+ purpose.IS+ purpose.US+ purpose.NPOA+ purpose.TS+ purpose.MOR+ purpose.PUB+ "
     "purpose.COL+ purpose.RTN+ minimisation.tensors+ minimisation.rows+ "
     "storage.access_until+ transfer+ erasure+",
     "purpose.NPU",
     "DUO:NPU (DUO:0000045)",
     "not-for-profit use only: the requester's organisation type is not attested",
     "the home site must attest the organisation type (academic or non-profit)"},
    {"mods_irb_missing",
     P_MODS,
     {.ethics = ""},
     0,
     "lawful_basis+ purpose+ purpose.NCU+ purpose.NPU+ purpose.NPUNCU+ purpose.IRB- "
     "purpose.GS+ purpose.IS+ purpose.US+ purpose.NPOA+ purpose.TS+ purpose.MOR+ purpose.PUB+ "
     "purpose.COL+ purpose.RTN+ minimisation.tensors+ minimisation.rows+ "
     "storage.access_until+ transfer+ erasure+",
     "purpose.IRB",
     "DUO:IRB (DUO:0000021)",
     "ethics approval required (IRB)",
     "needs an ethics approval reference (ethics_ref)"},
    {"mods_gs_adequacy_country_in_area",
     P_MODS,
     {.country = "JP"},
     1,
     MODS_OK,
     "purpose.GS",
     "DUO:GS (DUO:0000022)",
     "job country 'JP' is inside the permitted area (EEA, JP)",
     ""},
    {"mods_gs_outside",
     P_MODS,
     {.country = "CH"},
     0,
     "lawful_basis+ purpose+ purpose.NCU+ purpose.NPU+ purpose.NPUNCU+ purpose.IRB+ "
     "purpose.GS- purpose.IS+ purpose.US+ purpose.NPOA+ purpose.TS+ purpose.MOR+ purpose.PUB+ "
     "purpose.COL+ purpose.RTN+ minimisation.tensors+ minimisation.rows+ "
     "storage.access_until+ transfer+ erasure+",
     "purpose.GS",
     "DUO:GS (DUO:0000022)",
     "job country 'CH' is outside the permitted area (EEA, JP)",
     "run the job in: EEA, JP"},
    {"mods_is_other_institution",
     P_MODS,
     {.affiliation = "Acme Labs"},
     0,
     "lawful_basis+ purpose+ purpose.NCU+ purpose.NPU+ purpose.NPUNCU+ purpose.IRB+ "
     "purpose.GS+ purpose.IS- purpose.US+ purpose.NPOA+ purpose.TS+ purpose.MOR+ purpose.PUB+ "
     "purpose.COL+ purpose.RTN+ minimisation.tensors+ minimisation.rows+ "
     "storage.access_until+ transfer+ erasure+",
     "purpose.IS",
     "DUO:IS (DUO:0000028)",
     "affiliation 'Acme Labs' is not one of the institutions named",
     "only researchers of: University of Helsinki; University of Luxembourg"},
    {"mods_us_other_user",
     P_MODS,
     {.name = "bob"},
     0,
     "lawful_basis+ purpose+ purpose.NCU+ purpose.NPU+ purpose.NPUNCU+ purpose.IRB+ "
     "purpose.GS+ purpose.IS+ purpose.US- purpose.NPOA+ purpose.TS+ purpose.MOR+ purpose.PUB+ "
     "purpose.COL+ purpose.RTN+ minimisation.tensors+ minimisation.rows+ "
     "storage.access_until+ transfer+ erasure+",
     "purpose.US",
     "DUO:US (DUO:0000026)",
     "requester spiffe://fi/researcher/bob is not one of the users named",
     "only the named users may use this dataset"},
    {"mods_npoa_prohibits_poa",
     P_MODS,
     {.purpose = "POA"},
     0,
     "lawful_basis+ purpose+ purpose.NCU+ purpose.NPU+ purpose.NPUNCU+ purpose.IRB+ "
     "purpose.GS+ purpose.IS+ purpose.US+ purpose.NPOA- purpose.TS+ purpose.MOR+ purpose.PUB+ "
     "purpose.COL+ purpose.RTN+ minimisation.tensors+ minimisation.rows+ "
     "storage.access_until+ transfer+ erasure+",
     "purpose.NPOA",
     "DUO:NPOA (DUO:0000044)",
     "population origins or ancestry research is prohibited",
     "none for POA: choose another purpose this dataset allows"},
    {"mods_npu_permit",
     P_MODS,
     {.org = "non-profit"},
     1,
     MODS_OK,
     "purpose.NPU",
     "DUO:NPU (DUO:0000045)",
     "not-for-profit use only: the requester's organisation is non-profit",
     ""},
    {"mods_irb_given",
     P_MODS,
     {0},
     1,
     MODS_OK,
     "purpose.IRB",
     "DUO:IRB (DUO:0000021)",
     "ethics approval reference 'TUKIJA/2026/118' given",
     ""},
    {"mods_is_named_institution",
     P_MODS,
     {.affiliation = "University of Luxembourg"},
     1,
     MODS_OK,
     "purpose.IS",
     "DUO:IS (DUO:0000028)",
     "affiliation 'University of Luxembourg' is one of the institutions named",
     ""},
    {"mods_us_named_user",
     P_MODS,
     {0},
     1,
     MODS_OK,
     "purpose.US",
     "DUO:US (DUO:0000026)",
     "requester spiffe://fi/researcher/alice is one of the users named",
     ""},
    {"mods_us_site_must_match",
     P_MODS,
     {.site = "lu"},
     0,
     "lawful_basis+ purpose+ purpose.NCU+ purpose.NPU+ purpose.NPUNCU+ purpose.IRB+ "
     "purpose.GS+ purpose.IS+ purpose.US- purpose.NPOA+ purpose.TS+ purpose.MOR+ purpose.PUB+ "
     "purpose.COL+ purpose.RTN+ minimisation.tensors+ minimisation.rows+ "
     "storage.access_until+ transfer+ erasure+",
     "purpose.US",
     "DUO:US (DUO:0000026)",
     "requester spiffe://lu/researcher/alice is not one of the users named",
     "only the named users may use this dataset"},
    {"mods_npoa_other_purpose",
     P_MODS,
     {.purpose = "HMB"},
     1,
     MODS_OK,
     "purpose.NPOA",
     "DUO:NPOA (DUO:0000044)",
     "the purpose is not population origins or ancestry research",
     ""},
    {"mods_obligation_kind",
     P_MODS,
     {0},
     1,
     MODS_OK,
     "purpose.MOR",
     "DUO:MOR (DUO:0000024)",
     "publication moratorium: carried as an obligation of the grant",
     ""},

    /* --- research safeguards (Art. 89) ---------------------------------------------- */
    {"research_ethics_missing",
     P_BASE,
     {.ethics = ""},
     0,
     "lawful_basis+ lawful_basis.art9+ purpose+ research.ethics- research.pseudonymised+ "
     "minimisation.tensors+ minimisation.rows+ storage.access_until+ transfer+ erasure+",
     "research.ethics",
     "GDPR Art. 89(1)",
     "research use needs ethics approval (GDPR Art. 89(1) safeguard)",
     "needs an ethics approval reference (ethics_ref)"},
    {"research_ethics_given",
     P_BASE,
     {0},
     1,
     BASE_OK,
     "research.ethics",
     "GDPR Art. 89(1)",
     "ethics approval reference 'TUKIJA/2026/118' given",
     ""},
    {"research_identifying_tensor",
     P_BASE,
     {.tensors = "features,patient_ref"},
     0,
     "lawful_basis+ lawful_basis.art9+ purpose+ research.ethics+ research.pseudonymised- "
     "minimisation.tensors+ minimisation.rows+ storage.access_until+ transfer+ erasure+",
     "research.pseudonymised",
     "GDPR Art. 89(1)",
     "research access is to pseudonymised data only; these tensors directly identify people: "
     "patient_ref",
     "leave out: patient_ref"},
    {"research_identifying_withheld",
     P_BASE,
     {0},
     1,
     BASE_OK,
     "research.pseudonymised",
     "GDPR Art. 89(1)",
     "only pseudonymised data is released; withheld as identifying: patient_ref",
     ""},

    /* --- data minimisation (Art. 5(1)(c)) ------------------------------------------- */
    {"tensors_permit_named",
     P_BASE,
     {.tensors = "labels"},
     1,
     BASE_OK,
     "minimisation.tensors",
     "GDPR Art. 5(1)(c)",
     "purpose HMB may read: labels",
     ""},
    {"tensors_unknown",
     P_BASE,
     {.tensors = "features,genome"},
     0,
     "lawful_basis+ lawful_basis.art9+ purpose+ research.ethics+ research.pseudonymised+ "
     "minimisation.tensors- minimisation.rows+ storage.access_until+ transfer+ erasure+",
     "minimisation.tensors",
     "GDPR Art. 5(1)(c)",
     "not in this dataset: 'genome'",
     "ask only for: features, labels"},
    {"tensors_outside_purpose_scope",
     P_BASE,
     {.purpose = "DS-C50", .tensors = "labels"},
     0,
     "lawful_basis+ lawful_basis.art9+ purpose+ research.ethics+ research.pseudonymised+ "
     "minimisation.tensors- minimisation.rows+ storage.access_until+ transfer+ erasure+",
     "minimisation.tensors",
     "GDPR Art. 5(1)(c)",
     "purpose DS-C50 may not read: labels",
     "ask only for: features"},
    {"rows_permit",
     P_BASE,
     {.rows = 400},
     1,
     BASE_OK,
     "minimisation.rows",
     "GDPR Art. 5(1)(c)",
     "asks for 400 rows, within the limit of 500 rows per grant",
     ""},
    {"rows_over_limit",
     P_BASE,
     {.rows = 501, .dataset_rows = 1000},
     0,
     "lawful_basis+ lawful_basis.art9+ purpose+ research.ethics+ research.pseudonymised+ "
     "minimisation.tensors+ minimisation.rows- storage.access_until+ transfer+ erasure+",
     "minimisation.rows",
     "GDPR Art. 5(1)(c)",
     "asks for 501 rows, more than the limit of 500 rows per grant",
     "ask for at most 500 rows"},
    /* More rows than the dataset holds is a minimisation matter, not Art. 17. */
    {"rows_beyond_dataset_nothing_withdrawn",
     P_BASE,
     {.rows = 400, .dataset_rows = 300, .withdrawn = UINT64_MAX},
     0,
     "lawful_basis+ lawful_basis.art9+ purpose+ research.ethics+ research.pseudonymised+ "
     "minimisation.tensors+ minimisation.rows- storage.access_until+ transfer+ erasure+",
     "minimisation.rows",
     "GDPR Art. 5(1)(c)",
     "asks for 400 rows, more than the 300 the dataset has",
     "ask for at most 300 rows"},
    {"rows_beyond_dataset_some_withdrawn",
     P_BASE,
     {.rows = 400, .dataset_rows = 300},
     0,
     "lawful_basis+ lawful_basis.art9+ purpose+ research.ethics+ research.pseudonymised+ "
     "minimisation.tensors+ minimisation.rows- storage.access_until+ transfer+ erasure+",
     "erasure",
     "GDPR Art. 17",
     "5 rows withdrawn by data subjects are never streamed; 295 of 300 rows remain",
     ""},
    {"rows_beyond_dataset_and_limit",
     P_MODS,
     {.rows = 1200, .dataset_rows = 800, .withdrawn = UINT64_MAX},
     0,
     "lawful_basis+ purpose+ purpose.NCU+ purpose.NPU+ purpose.NPUNCU+ purpose.IRB+ "
     "purpose.GS+ purpose.IS+ purpose.US+ purpose.NPOA+ purpose.TS+ purpose.MOR+ purpose.PUB+ "
     "purpose.COL+ purpose.RTN+ minimisation.tensors+ minimisation.rows- "
     "storage.access_until+ transfer+ erasure+",
     "minimisation.rows",
     "GDPR Art. 5(1)(c)",
     "asks for 1200 rows, more than the limit of 1000 rows per grant",
     "ask for at most 1000 rows"},
    {"rows_purpose_scope",
     P_BASE,
     {.purpose = "DS-C50", .rows = 101},
     0,
     "lawful_basis+ lawful_basis.art9+ purpose+ research.ethics+ research.pseudonymised+ "
     "minimisation.tensors+ minimisation.rows- storage.access_until+ transfer+ erasure+",
     "minimisation.rows",
     "GDPR Art. 5(1)(c)",
     "asks for 101 rows, more than the limit of 100 rows per grant",
     "ask for at most 100 rows"},

    /* --- storage limitation (Art. 5(1)(e)) ------------------------------------------- */
    {"storage_permit",
     P_BASE,
     {0},
     1,
     BASE_OK,
     "storage.access_until",
     "GDPR Art. 5(1)(e)",
     "access until 2026-12-21T00:00:00Z (at most 30 days per grant, none after 2027-12-31)",
     ""},
    {"storage_last_day",
     P_BASE,
     {.now = T_2027_12_31 + 3600},
     1,
     BASE_OK,
     "storage.access_until",
     "GDPR Art. 5(1)(e)",
     "access until 2028-01-01T00:00:00Z (at most 30 days per grant, none after 2027-12-31)",
     ""},
    {"storage_ended",
     P_BASE,
     {.now = T_2028_01_01},
     0,
     "lawful_basis+ lawful_basis.art9+ purpose+ research.ethics+ research.pseudonymised+ "
     "minimisation.tensors+ minimisation.rows+ storage.access_until- transfer+ erasure+",
     "storage.access_until",
     "GDPR Art. 5(1)(e)",
     "no access is granted after 2027-12-31",
     "none: access to this dataset has ended; the site would have to review its policy"},
    {"storage_until_passed",
     P_BASE,
     {.until = NOW - 1},
     0,
     "lawful_basis+ lawful_basis.art9+ purpose+ research.ethics+ research.pseudonymised+ "
     "minimisation.tensors+ minimisation.rows+ storage.access_until- transfer+ erasure+",
     "storage.access_until",
     "GDPR Art. 5(1)(e)",
     "access is asked until a time that has already passed",
     "ask for a later end, or 0 for the policy's limit"},

    /* --- transfers (Chapter V) -------------------------------------------------------- */
    {"transfer_eea",
     P_BASE,
     {.country = "DE"},
     1,
     BASE_OK,
     "transfer",
     "GDPR Art. 1(3), EEA Agreement",
     "job country DE is in the EEA: no transfer to a third country",
     ""},
    {"transfer_adequacy",
     P_BASE,
     {.country = "JP"},
     1,
     BASE_OK,
     "transfer",
     "GDPR Art. 45(3)",
     "job country JP is covered by adequacy decision (EU) 2019/419",
     ""},
    {"transfer_no_adequacy_no_scc",
     P_BASE,
     {.country = "CN"},
     0,
     XFER_DENY,
     "transfer",
     "GDPR Art. 44",
     "job country CN is not covered: no EU adequacy decision covers it; no standard "
     "contractual clauses are recorded with recipient site 'fi'",
     "record SCCs with the recipient site 'fi', or run the job in the EEA or in a country "
     "with a full adequacy decision in force"},
    {"transfer_scc_expired",
     P_BASE,
     {.country = "CN", .site = "cn-sha"},
     0,
     XFER_DENY,
     "transfer",
     "GDPR Art. 44",
     "job country CN is not covered: no EU adequacy decision covers it; SCCs LU-SCC-2022-001 "
     "with recipient site 'cn-sha' expired on 2024-12-31",
     "record SCCs with the recipient site 'cn-sha', or run the job in the EEA or in a country "
     "with a full adequacy decision in force"},
    {"transfer_scc_not_yet_signed",
     P_BASE,
     {.country = "IN", .site = "in-blr"},
     0,
     XFER_DENY,
     "transfer",
     "GDPR Art. 44",
     "job country IN is not covered: no EU adequacy decision covers it; SCCs LU-SCC-2026-009 "
     "with recipient site 'in-blr' apply only from 2027-01-01",
     "record SCCs with the recipient site 'in-blr', or run the job in the EEA or in a country "
     "with a full adequacy decision in force"},
    {"transfer_scc_other_country",
     P_BASE,
     {.country = "CA", .site = "us-bos"},
     0,
     XFER_DENY,
     "transfer",
     "GDPR Art. 44",
     "job country CA is not covered: no EU adequacy decision covers it; SCCs LU-SCC-2025-004 "
     "with recipient site 'us-bos' do not cover processing in CA",
     "record SCCs with the recipient site 'us-bos', or run the job in the EEA or in a country "
     "with a full adequacy decision in force"},
    {"transfer_partial_adequacy_no_scc",
     P_BASE,
     {.country = "US"},
     0,
     XFER_DENY,
     "transfer",
     "GDPR Art. 44",
     "job country US is not covered: adequacy decision (EU) 2023/1795 is partial: applies only "
     "to organisations certified under the EU-US Data Privacy Framework; no standard "
     "contractual clauses are recorded with recipient site 'fi'",
     "record SCCs with the recipient site 'fi', or run the job in the EEA or in a country "
     "with a full adequacy decision in force"},
    {"transfer_partial_adequacy_attest",
     P_BASE,
     {.country = "KR"},
     0,
     XFER_DENY,
     "transfer",
     "GDPR Art. 44",
     "job country KR is not covered: adequacy decision (EU) 2022/254 is partial: PIPA, "
     "except credit information under FSC supervision; the requester must attest that the "
     "recipient does not process the data as credit information under FSC supervision; no "
     "standard contractual clauses are recorded with recipient site 'fi'",
     "record SCCs with the recipient site 'fi', or run the job in the EEA or in a country "
     "with a full adequacy decision in force"},
    {"transfer_partial_adequacy_with_scc",
     P_BASE,
     {.country = "US", .site = "us-bos"},
     1,
     BASE_OK,
     "transfer",
     "GDPR Art. 46(2)(c)",
     "job country US is covered by standard contractual clauses LU-SCC-2025-004 with "
     "recipient site 'us-bos', valid until 2028-02-29",
     ""},
    {"transfer_expired_adequacy",
     P_BASE,
     {.country = "GB"},
     0,
     XFER_DENY,
     "transfer",
     "GDPR Art. 44",
     "job country GB is not covered: adequacy decision (EU) 2021/1772 expired on 2025-12-27; "
     "no standard contractual clauses are recorded with recipient site 'fi'",
     "record SCCs with the recipient site 'fi', or run the job in the EEA or in a country "
     "with a full adequacy decision in force"},
    {"transfer_adequacy_before_in_force",
     P_BASE,
     {.country = "BR", .now = T_2025_12_01},
     0,
     XFER_DENY,
     "transfer",
     "GDPR Art. 44",
     "job country BR is not covered: adequacy decision (EU) 2026/179 applies only from "
     "2026-01-26; no standard contractual clauses are recorded with recipient site 'fi'",
     "record SCCs with the recipient site 'fi', or run the job in the EEA or in a country "
     "with a full adequacy decision in force"},
    {"transfer_bad_country",
     P_BASE,
     {.country = "usa"},
     0,
     XFER_DENY,
     "transfer",
     "GDPR Art. 44",
     "job country 'usa' is not an ISO 3166-1 alpha-2 code",
     "state where the job will run, e.g. FI"},
    /* Special-category health data never goes to a code no country has. */
    {"transfer_unassigned_country",
     P_BASE,
     {.country = "QQ"},
     0,
     XFER_DENY,
     "transfer",
     "GDPR Art. 44",
     "job country 'QQ' is not an ISO 3166-1 alpha-2 code",
     "state where the job will run, e.g. FI"},
    {"transfer_scc_refused_by_policy",
     P_NOSCC,
     {.country = "US", .site = "us-bos", .basis = "art6-1-f"},
     0,
     "lawful_basis+ purpose+ minimisation.tensors+ minimisation.rows+ storage.access_until+ "
     "transfer- erasure+",
     "transfer",
     "GDPR Art. 44",
     "job country US is not covered: adequacy decision (EU) 2023/1795 is partial: applies only "
     "to organisations certified under the EU-US Data Privacy Framework; this policy does not "
     "allow transfers under standard contractual clauses",
     "run the job in the EEA or in a country with a full adequacy decision in force"},
    {"transfer_anonymous_anywhere",
     P_ANON,
     {.country = "CN"},
     1,
     "lawful_basis+ purpose+ minimisation.tensors+ minimisation.rows+ storage.access_until+ "
     "transfer+",
     "transfer",
     "GDPR Recital 26",
     "anonymous data: the transfer rules of Chapter V do not apply",
     ""},

    /* --- erasure (Art. 17) ----------------------------------------------------------- */
    {"erasure_permit",
     P_BASE,
     {0},
     1,
     BASE_OK,
     "erasure",
     "GDPR Art. 17",
     "5 rows withdrawn by data subjects are never streamed; 495 of 500 rows remain",
     ""},
    {"erasure_too_few_rows_left",
     P_BASE,
     {.rows = 498},
     0,
     "lawful_basis+ lawful_basis.art9+ purpose+ research.ethics+ research.pseudonymised+ "
     "minimisation.tensors+ minimisation.rows+ storage.access_until+ transfer+ erasure-",
     "erasure",
     "GDPR Art. 17",
     "5 rows withdrawn by data subjects are never streamed; 495 of 500 rows remain, fewer "
     "than the 498 asked for",
     "ask for at most 495 rows"},
    {"erasure_rows_unknown",
     P_BASE,
     {.dataset_rows = UINT64_MAX},
     0,
     "lawful_basis+ lawful_basis.art9+ purpose+ research.ethics+ research.pseudonymised+ "
     "minimisation.tensors+ minimisation.rows+ storage.access_until+ transfer+ erasure-",
     "erasure",
     "GDPR Art. 17",
     "the rows left after Art. 17 withdrawals are not known",
     "the gateway must give the dataset's row and withdrawal counts"},

    /* --- every reason at once ------------------------------------------------------- */
    {"every_reason",
     P_BASE,
     {.basis = "art6-1-e", .ethics = "", .country = "CN", .rows = 900, .tensors = "patient_ref"},
     0,
     "lawful_basis+ lawful_basis.art9- purpose+ research.ethics- research.pseudonymised- "
     "minimisation.tensors+ minimisation.rows- storage.access_until+ transfer- erasure+",
     "minimisation.rows",
     "GDPR Art. 5(1)(c)",
     "asks for 900 rows, more than the limit of 500 rows per grant",
     "ask for at most 500 rows"},
};

#define N_CASES (sizeof(k_cases) / sizeof(k_cases[0]))

static world g_world;

static int setup(void **state)
{
    static const char *const json[P_COUNT] = {BASE_JSON, MODS_JSON, ANON_JSON, NOSCC_JSON};
    static const char *const names[P_COUNT] = {"base.json", "mods.json", "anon.json", "noscc.json"};
    ecl_err err;
    if (ecl_transfer_rules_parse(RULES_JSON, strlen(RULES_JSON), "rules.json", &g_world.rules,
                                 &err) != 0 ||
        ecl_scc_registry_parse(SCCS_JSON, strlen(SCCS_JSON), "sccs.json", &g_world.sccs, &err) !=
            0) {
        fprintf(stderr, "fixture: %s\n", err.msg);
        return -1;
    }
    for (int i = 0; i < P_COUNT; i++)
        if (ecl_policy_parse(json[i], strlen(json[i]), names[i], &g_world.pol[i], &err) != 0) {
            fprintf(stderr, "fixture: %s\n", err.msg);
            return -1;
        }
    *state = &g_world;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    for (int i = 0; i < P_COUNT; i++)
        ecl_policy_free(w->pol[i]);
    ecl_transfer_rules_free(w->rules);
    ecl_scc_registry_free(w->sccs);
    return 0;
}

typedef struct {
    ecl_policy_request req;
    char tensor_buf[256];
    const char *tensors[ECL_POLICY_MAX_TENSORS + 1];
} built;

#define PICK(v, d) ((v) != NULL ? (v) : (d))

static void build(const dcase *c, built *b)
{
    const change *ch = &c->ch;
    ecl_policy_request *r = &b->req;
    memset(b, 0, sizeof(*b));
    r->dataset = k_dataset[c->policy];
    r->requester_site = PICK(ch->site, "fi");
    r->requester_role = "researcher";
    r->requester_name = PICK(ch->name, "alice");
    r->affiliation = PICK(ch->affiliation, "University of Helsinki");
    r->org_type = PICK(ch->org, "academic");
    r->purpose = PICK(ch->purpose, c->policy == P_BASE ? "HMB" : "GRU");
    r->lawful_basis = PICK(ch->basis, c->policy == P_BASE ? "art6-1-e+art9-2-j" : "art6-1-e");
    r->ethics_ref = PICK(ch->ethics, "TUKIJA/2026/118");
    r->job_country = PICK(ch->country, "FI");
    r->rows = ch->rows;
    r->until_unix = ch->until;
    r->now_unix = ch->now != 0 ? ch->now : NOW;
    r->dataset_rows = ch->dataset_rows == UINT64_MAX ? 0
                      : ch->dataset_rows             ? ch->dataset_rows
                                                     : 500;
    r->withdrawn_rows = r->dataset_rows == 0 || ch->withdrawn == UINT64_MAX ? 0
                        : ch->withdrawn                                     ? ch->withdrawn
                                                                            : 5;
    r->non_commercial_use = !ch->commercial;
    if (ch->tensors != NULL && ch->tensors[0] != '\0') {
        snprintf(b->tensor_buf, sizeof(b->tensor_buf), "%s", ch->tensors);
        char *save = NULL;
        for (char *t = strtok_r(b->tensor_buf, ",", &save); t != NULL;
             t = strtok_r(NULL, ",", &save))
            b->tensors[r->n_tensors++] = t;
        r->tensors = b->tensors;
    }
}

static void reason_list(const ecl_policy_decision *d, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < d->n_reasons; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%s%c", i ? " " : "", d->reasons[i].rule,
                              d->reasons[i].satisfied ? '+' : '-');
}

/* Returns 0 when the case holds; prints what differs otherwise. */
static int run_case(const world *w, const dcase *c)
{
    built b;
    ecl_policy_decision d;
    ecl_err err;
    char list[2048];
    build(c, &b);
    int rc = ecl_policy_decide(w->pol[c->policy], w->rules, w->sccs, &b.req, &d, &err);
    if (rc != 0) {
        print_error("%s: decide failed: %s\n", c->name, err.msg);
        return -1;
    }
    int bad = 0;
    reason_list(&d, list, sizeof(list));
    if (strcmp(list, c->reasons) != 0) {
        print_error("%s: reasons\n  got:  %s\n  want: %s\n", c->name, list, c->reasons);
        bad = -1;
    }
    const ecl_policy_reason *r = ecl_policy_decision_find(&d, c->rule);
    if (r == NULL) {
        print_error("%s: no reason for rule %s\n", c->name, c->rule);
        return -1;
    }
    if (strcmp(r->basis, c->basis) != 0 || strcmp(r->message, c->message) != 0 ||
        strcmp(r->remedy, c->remedy) != 0) {
        print_error("%s: rule %s\n  got:  [%s] %s | %s\n  want: [%s] %s | %s\n", c->name, c->rule,
                    r->basis, r->message, r->remedy, c->basis, c->message, c->remedy);
        bad = -1;
    }
    if ((int)d.permit != c->permit || r->satisfied != (c->remedy[0] == '\0')) {
        print_error("%s: permit is %d, want %d\n", c->name, d.permit, c->permit);
        bad = -1;
    }
    if (bad != 0)
        return bad;
    /* A denial carries nothing granted; a permit carries a scope. */
    if (!d.permit) {
        assert_int_equal(d.n_obligations, 0);
        assert_int_equal(d.n_tensors, 0);
        assert_int_equal(d.max_rows, 0);
        assert_int_equal(d.until_unix, 0);
        assert_string_equal(d.transfer_basis, "");
    } else {
        assert_true(d.n_tensors > 0);
        assert_true(d.max_rows > 0);
        assert_true(d.until_unix > b.req.now_unix);
        assert_true(d.transfer_basis[0] != '\0');
    }
    return 0;
}

static void test_table(void **state)
{
    const world *w = *state;
    size_t failed = 0;
    for (size_t i = 0; i < N_CASES; i++)
        failed += run_case(w, &k_cases[i]) != 0;
    print_message("%zu decision cases, %zu failed\n", N_CASES, failed);
    assert_int_equal(failed, 0);
}

/* Each rule of the table has both a permit and a deny case (the table
 * itself is checked, so a rule cannot lose one of them unnoticed). */
static void test_table_covers_every_rule(void **state)
{
    (void)state;
    static const char *const rules[] = {"lawful_basis",
                                        "lawful_basis.art9",
                                        "purpose",
                                        "purpose.NCU",
                                        "purpose.NPU",
                                        "purpose.IRB",
                                        "purpose.GS",
                                        "purpose.IS",
                                        "purpose.US",
                                        "purpose.NPOA",
                                        "research.ethics",
                                        "research.pseudonymised",
                                        "minimisation.tensors",
                                        "minimisation.rows",
                                        "storage.access_until",
                                        "transfer",
                                        "erasure"};
    for (size_t r = 0; r < sizeof(rules) / sizeof(rules[0]); r++) {
        int permit = 0, deny = 0;
        for (size_t i = 0; i < N_CASES; i++) {
            if (strcmp(k_cases[i].rule, rules[r]) != 0)
                continue;
            int sat = k_cases[i].remedy[0] == '\0';
            permit |= sat;
            deny |= !sat;
        }
        if (!permit || !deny)
            fail_msg("rule %s lacks a %s case", rules[r], permit ? "deny" : "permit");
    }
}

static const ecl_policy_decision *decide_ok(const world *w, int p, const change *ch,
                                            ecl_policy_decision *d)
{
    dcase c = {"", p, *ch, 0, "", "", "", "", ""};
    built b;
    ecl_err err;
    build(&c, &b);
    assert_int_equal(ecl_policy_decide(w->pol[p], w->rules, w->sccs, &b.req, d, &err), 0);
    return d;
}

static void test_permit_scope_and_obligations(void **state)
{
    const world *w = *state;
    ecl_policy_decision d;
    change ch = {0};
    decide_ok(w, P_BASE, &ch, &d);
    assert_true(d.permit);
    /* patient_ref is in the default scope but withheld as identifying. */
    assert_int_equal(d.n_tensors, 2);
    assert_string_equal(d.tensors[0], "features");
    assert_string_equal(d.tensors[1], "labels");
    assert_int_equal(d.max_rows, 495); /* 500 allowed, 5 withdrawn */
    assert_int_equal(d.until_unix, NOW + 30 * DAY);
    assert_string_equal(d.transfer_basis, "eea");
    static const char *const codes[] = {"purpose-limitation", "retention", "no-reidentification",
                                        "erasure", "ethics-approval"};
    assert_int_equal(d.n_obligations, 5);
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(d.obligations[i].code, codes[i]);
    assert_string_equal(d.obligations[1].text,
                        "keep copies at most 90 days after access ends: "
                        "delete by 2027-03-21T00:00:00Z (GDPR Art. 5(1)(e))");
    assert_int_equal(d.obligations[1].due_unix, NOW + 120 * DAY);
    assert_int_equal(d.obligations[0].due_unix, 0);
    assert_string_equal(d.obligations[4].text,
                        "keep the ethics approval 'TUKIJA/2026/118' valid for the whole use");
}

static void test_permit_purpose_scope(void **state)
{
    const world *w = *state;
    ecl_policy_decision d;
    change ch = {.purpose = "DS-c50", .rows = 80, .until = NOW + 3 * DAY};
    decide_ok(w, P_BASE, &ch, &d);
    assert_true(d.permit); /* disease ids compare without case */
    assert_int_equal(d.n_tensors, 1);
    assert_string_equal(d.tensors[0], "features");
    assert_int_equal(d.max_rows, 80);
    assert_int_equal(d.until_unix, NOW + 3 * DAY);
}

static void test_duo_obligations(void **state)
{
    const world *w = *state;
    ecl_policy_decision d;
    change ch = {0};
    decide_ok(w, P_MODS, &ch, &d);
    assert_true(d.permit);
    static const char *const codes[] = {
        "purpose-limitation", "retention",      "no-reidentification", "erasure",
        "ethics-approval",    "non-commercial", "geographic",          "time-limit",
        "moratorium",         "publish",        "collaborate",         "return-results"};
    assert_int_equal(d.n_obligations, sizeof(codes) / sizeof(codes[0]));
    for (size_t i = 0; i < d.n_obligations; i++)
        assert_string_equal(d.obligations[i].code, codes[i]);
    assert_int_equal(d.obligations[7].due_unix, T_2028_01_01);
    assert_string_equal(d.obligations[7].text, "use of the data ends on 2027-12-31 (DUO TS)");
    assert_string_equal(d.obligations[8].text,
                        "do not publish results before 2027-07-01 (DUO MOR)");
    assert_string_equal(d.obligations[6].text, "process the data only in: EEA, JP");
}

static void test_scc_obligation_and_clamp(void **state)
{
    const world *w = *state;
    ecl_policy_decision d;
    change ch = {.country = "US", .site = "us-bos"};
    decide_ok(w, P_BASE, &ch, &d);
    assert_true(d.permit);
    assert_string_equal(d.transfer_basis, "scc:LU-SCC-2025-004");
    assert_string_equal(d.obligations[5].code, "scc");
    assert_int_equal(d.obligations[5].due_unix, INT64_C(1835481600)); /* end of 2028-02-29 */
    /* Near the SCC's end the grant ends with it, not 30 days later. */
    change late = {.country = "US", .site = "us-bos", .now = INT64_C(1835481600) - 2 * DAY};
    decide_ok(w, P_BASE, &late, &d);
    assert_false(d.permit); /* the policy's access ended on 2027-12-31 */
    decide_ok(w, P_MODS, &(change){.now = T_2027_12_31 - 5 * DAY}, &d);
    assert_true(d.permit);
    assert_int_equal(d.until_unix, T_2028_01_01); /* clamped to storage.access_until */
}

static void test_anonymous_permit(void **state)
{
    const world *w = *state;
    ecl_policy_decision d;
    change ch = {.basis = "", .org = "commercial", .country = "CN", .dataset_rows = 1797};
    decide_ok(w, P_ANON, &ch, &d);
    assert_true(d.permit);
    assert_string_equal(d.transfer_basis, "anonymous");
    assert_int_equal(d.max_rows, 1797);
    assert_int_equal(d.n_obligations, 1);
    assert_string_equal(d.obligations[0].code, "purpose-limitation");
}

static void test_same_input_same_decision(void **state)
{
    const world *w = *state;
    ecl_policy_decision a, b;
    change ch = {.country = "GB", .ethics = ""};
    /* Different garbage before: the result must not depend on it. */
    memset(&a, 0xAA, sizeof(a));
    memset(&b, 0x55, sizeof(b));
    decide_ok(w, P_BASE, &ch, &a);
    decide_ok(w, P_BASE, &ch, &b);
    assert_int_equal(a.n_reasons, b.n_reasons);
    for (size_t i = 0; i < a.n_reasons; i++) {
        assert_string_equal(a.reasons[i].message, b.reasons[i].message);
        assert_string_equal(a.reasons[i].remedy, b.reasons[i].remedy);
        assert_string_equal(a.reasons[i].basis, b.reasons[i].basis);
    }
}

static void test_no_allocation(void **state)
{
    const world *w = *state;
    static ecl_policy_decision d;
    built b[N_CASES];
    for (size_t i = 0; i < N_CASES; i++)
        build(&k_cases[i], &b[i]);
    size_t before = g_allocs;
    ecl_err err;
    for (size_t i = 0; i < N_CASES; i++)
        assert_int_equal(
            ecl_policy_decide(w->pol[k_cases[i].policy], w->rules, w->sccs, &b[i].req, &d, &err),
            0);
    assert_int_equal(g_allocs - before, 0);
    /* The counter works: loading a policy does allocate. */
    ecl_policy *p;
    assert_int_equal(ecl_policy_parse(ANON_JSON, strlen(ANON_JSON), "a.json", &p, &err), 0);
    assert_true(g_allocs > before);
    ecl_policy_free(p);
}

static void test_errors(void **state)
{
    const world *w = *state;
    ecl_policy_decision d;
    ecl_err err;
    built b;
    dcase c = {"", P_BASE, {0}, 0, "", "", "", "", ""};
    build(&c, &b);

    b.req.dataset = "lu/other";
    assert_int_equal(ecl_policy_decide(w->pol[P_BASE], w->rules, w->sccs, &b.req, &d, &err), -1);
    assert_int_equal(err.code, ECL_E_USAGE);
    assert_string_equal(err.msg,
                        "request is for dataset 'lu/other', the policy is for 'lu/cohort'");
    assert_false(d.permit);
    assert_int_equal(d.n_reasons, 0);
    b.req.dataset = "lu/cohort";

    b.req.withdrawn_rows = 501;
    assert_int_equal(ecl_policy_decide(w->pol[P_BASE], w->rules, w->sccs, &b.req, &d, &err), -1);
    assert_int_equal(err.code, ECL_E_USAGE);
    assert_string_equal(err.msg, "withdrawn rows (501) exceed the dataset's rows (500)");
    b.req.withdrawn_rows = 5;

    b.req.now_unix = -1;
    assert_int_equal(ecl_policy_decide(w->pol[P_BASE], w->rules, w->sccs, &b.req, &d, &err), -1);
    assert_int_equal(err.code, ECL_E_USAGE);
    assert_string_equal(err.msg, "now_unix -1 is outside 1970..9999");
    b.req.now_unix = NOW;
    /* An until far in the future is only a wish: the policy's limit wins. */
    b.req.until_unix = INT64_MAX;
    assert_int_equal(ecl_policy_decide(w->pol[P_BASE], w->rules, w->sccs, &b.req, &d, &err), 0);
    assert_true(d.permit);
    assert_int_equal(d.until_unix, NOW + 30 * DAY);
    b.req.until_unix = INT64_MIN;
    assert_int_equal(ecl_policy_decide(w->pol[P_BASE], w->rules, w->sccs, &b.req, &d, &err), 0);
    assert_false(d.permit);
    b.req.until_unix = 0;
    b.req.rows = UINT64_MAX;
    assert_int_equal(ecl_policy_decide(w->pol[P_BASE], w->rules, w->sccs, &b.req, &d, &err), 0);
    assert_false(d.permit);
    b.req.rows = 0;

    const char *many[ECL_POLICY_MAX_TENSORS + 1];
    for (size_t i = 0; i <= ECL_POLICY_MAX_TENSORS; i++)
        many[i] = "features";
    b.req.tensors = many;
    b.req.n_tensors = ECL_POLICY_MAX_TENSORS + 1;
    assert_int_equal(ecl_policy_decide(w->pol[P_BASE], w->rules, w->sccs, &b.req, &d, &err), -1);
    assert_int_equal(err.code, ECL_E_LIMIT);
    assert_string_equal(err.msg, "request names 33 tensors, at most 32");
    b.req.n_tensors = 0;

    b.req.purpose = NULL;
    assert_int_equal(ecl_policy_decide(w->pol[P_BASE], w->rules, w->sccs, &b.req, &d, &err), -1);
    assert_int_equal(err.code, ECL_E_USAGE);
    b.req.purpose = "HMB";
    assert_int_equal(ecl_policy_decide(w->pol[P_BASE], NULL, w->sccs, &b.req, &d, &err), -1);
    assert_int_equal(err.code, ECL_E_USAGE);
    /* No SCC registry at all is allowed: nothing is recorded. */
    b.req.job_country = "US";
    b.req.requester_site = "us-bos";
    assert_int_equal(ecl_policy_decide(w->pol[P_BASE], w->rules, NULL, &b.req, &d, &err), 0);
    assert_false(d.permit);
    assert_string_equal(ecl_policy_decision_find(&d, "transfer")->message,
                        "job country US is not covered: adequacy decision (EU) 2023/1795 is "
                        "partial: applies only to organisations certified under the EU-US Data "
                        "Privacy Framework; no standard contractual clauses are recorded with "
                        "recipient site 'us-bos'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_table_covers_every_rule),
        cmocka_unit_test(test_permit_scope_and_obligations),
        cmocka_unit_test(test_permit_purpose_scope),
        cmocka_unit_test(test_duo_obligations),
        cmocka_unit_test(test_scc_obligation_and_clamp),
        cmocka_unit_test(test_anonymous_permit),
        cmocka_unit_test(test_same_input_same_decision),
        cmocka_unit_test(test_no_allocation),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests_name("policy_decide", tests, setup, teardown);
}
