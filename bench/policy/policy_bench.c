/*
 * policy_bench.c - how fast the policy engine decides.
 *
 * Loads the example policies (examples/policies), the shipped transfer rules
 * (policy/data) and the example SCCs, then decides a realistic mix of
 * requests: permits in the EEA, under adequacy and under SCCs, and denials
 * with several reasons. Prints decisions per second, the median and p99 time
 * of one decision, and the same for two baselines measured in the same run:
 *   - snprintf of one reason line (what formatting each reason with stdio
 *     would cost: the engine writes 6 to 20 of them per decision);
 *   - a strcmp lookup of a country by name among the 46 EEA and adequacy
 *     entries (a naive transfer check).
 * Also counts heap allocations made during the measured decisions (malloc,
 * calloc and realloc are wrapped at link time): the engine makes none.
 *
 * Run: bazel run //bench/policy:policy_bench [-- seconds]   (default 2 s)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy/policy.h"

static volatile size_t g_allocs;
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

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

typedef struct {
    double median_ns, p99_ns, per_sec;
} stats;

#define SAMPLES 200000

static int64_t g_samples[SAMPLES];

static stats summarise(size_t n, int64_t total_ns, size_t ops)
{
    stats s;
    qsort(g_samples, n, sizeof(g_samples[0]), cmp_i64);
    s.median_ns = (double)g_samples[n / 2];
    s.p99_ns = (double)g_samples[(n * 99) / 100];
    s.per_sec = (double)ops * 1e9 / (double)total_ns;
    return s;
}

typedef struct {
    const ecl_policy *pol;
    ecl_policy_request req;
} job;

static const char *const k_tensors_f[] = {"features"};

int main(int argc, char **argv)
{
    char *end = NULL;
    double seconds = argc > 1 ? strtod(argv[1], &end) : 2.0;
    if (argc > 1 && (end == argv[1] || *end != '\0'))
        seconds = 2.0;
    if (seconds <= 0 || seconds > 60)
        seconds = 2.0;
    ecl_err err;
    ecl_transfer_rules *rules;
    ecl_scc_registry *sccs;
    ecl_policy *bc, *db, *dg;
    if (ecl_transfer_rules_load_file("policy/data/transfer_rules.json", &rules, &err) != 0 ||
        ecl_scc_registry_load_file("examples/policies/sccs.json", &sccs, &err) != 0 ||
        ecl_policy_load_file("examples/policies/breast_cancer.json", &bc, &err) != 0 ||
        ecl_policy_load_file("examples/policies/diabetes.json", &db, &err) != 0 ||
        ecl_policy_load_file("examples/policies/digits.json", &dg, &err) != 0) {
        fprintf(stderr, "policy_bench: %s\n", err.msg);
        return 1;
    }
    const ecl_policy_request base = {.dataset = "lu/breast-cancer",
                                     .requester_site = "fi",
                                     .requester_role = "researcher",
                                     .requester_name = "alice",
                                     .affiliation = "University of Helsinki",
                                     .org_type = "academic",
                                     .purpose = "DS-MONDO:0007254",
                                     .lawful_basis = "art6-1-e+art9-2-j",
                                     .ethics_ref = "HUS/1234/2026",
                                     .job_country = "FI",
                                     .now_unix = INT64_C(1795219200),
                                     .dataset_rows = 569,
                                     .withdrawn_rows = 3};
    job jobs[6];
    for (int i = 0; i < 6; i++) {
        jobs[i].pol = bc;
        jobs[i].req = base;
    }
    /* 1: US job under SCCs, named tensor and rows. */
    jobs[1].req.requester_site = "us-bos";
    jobs[1].req.job_country = "US";
    jobs[1].req.tensors = k_tensors_f;
    jobs[1].req.n_tensors = 1;
    jobs[1].req.rows = 300;
    /* 2: Japan (adequacy), HMB. */
    jobs[2].req.job_country = "JP";
    jobs[2].req.purpose = "HMB";
    /* 3: denied on several rules: commercial, no ethics, China, too many rows. */
    jobs[3].req.org_type = "commercial";
    jobs[3].req.ethics_ref = "";
    jobs[3].req.job_country = "CN";
    jobs[3].req.rows = 1000;
    /* 4: diabetes in Germany. */
    jobs[4].pol = db;
    jobs[4].req.dataset = "lu/diabetes";
    jobs[4].req.purpose = "DS-MONDO:0005015";
    jobs[4].req.job_country = "DE";
    jobs[4].req.dataset_rows = 442;
    /* 5: digits, anonymous. */
    jobs[5].pol = dg;
    jobs[5].req.dataset = "fi/digits";
    jobs[5].req.purpose = "GRU";
    jobs[5].req.lawful_basis = "";
    jobs[5].req.dataset_rows = 1797;
    jobs[5].req.withdrawn_rows = 0;

    static ecl_policy_decision d;
    size_t permits = 0, reasons = 0;
    for (int i = 0; i < 6; i++) {
        if (ecl_policy_decide(jobs[i].pol, rules, sccs, &jobs[i].req, &d, &err) != 0) {
            fprintf(stderr, "policy_bench: job %d: %s\n", i, err.msg);
            return 1;
        }
        permits += d.permit;
        reasons += d.n_reasons;
    }

    /* Throughput: back-to-back decisions, no per-call timing. */
    size_t allocs_before = g_allocs, n = 0;
    int64_t t0 = now_ns(), limit = (int64_t)(seconds * 0.5e9), t;
    do {
        for (int k = 0; k < 600; k++) {
            const job *j = &jobs[k % 6];
            if (ecl_policy_decide(j->pol, rules, sccs, &j->req, &d, &err) != 0)
                return 1;
        }
        n += 600;
        t = now_ns() - t0;
    } while (t < limit);
    double per_sec = (double)n * 1e9 / (double)t;

    /* Latency: each decision timed alone (includes one clock read, ~20 ns). */
    size_t m = 0;
    int64_t total = 0;
    while (m < SAMPLES && total < limit) {
        const job *j = &jobs[m % 6];
        int64_t a = now_ns();
        if (ecl_policy_decide(j->pol, rules, sccs, &j->req, &d, &err) != 0)
            return 1;
        int64_t b = now_ns();
        g_samples[m++] = b - a;
        total += b - a;
    }
    size_t allocs = g_allocs - allocs_before, timed = m;
    stats dec = summarise(m, total, m);

    /* Baseline 1: snprintf of one reason line. */
    char line[ECL_POLICY_MESSAGE_MAX];
    volatile size_t sink = 0;
    total = 0;
    for (m = 0; m < SAMPLES && total < limit / 4; m++) {
        int64_t a = now_ns();
        int w = snprintf(line, sizeof(line),
                         "job country %s is covered by standard contractual clauses %s with "
                         "recipient site '%s', valid until %04d-%02d-%02d",
                         jobs[m % 6].req.job_country, "LU-SCC-2025-004", "us-bos", 2028, 2, 29);
        int64_t b = now_ns();
        sink += (size_t)w;
        g_samples[m] = b - a;
        total += b - a;
    }
    stats fmt = summarise(m, total, m);

    /* Baseline 2: find a country by name among the EEA and adequacy entries. */
    static const char *const names[] = {"Austria",     "Belgium",        "Bulgaria",
                                        "Croatia",     "Cyprus",         "Czechia",
                                        "Denmark",     "Estonia",        "Finland",
                                        "France",      "Germany",        "Greece",
                                        "Hungary",     "Ireland",        "Italy",
                                        "Latvia",      "Lithuania",      "Luxembourg",
                                        "Malta",       "Netherlands",    "Poland",
                                        "Portugal",    "Romania",        "Slovakia",
                                        "Slovenia",    "Spain",          "Sweden",
                                        "Iceland",     "Liechtenstein",  "Norway",
                                        "Andorra",     "Argentina",      "Brazil",
                                        "Canada",      "Faroe Islands",  "Guernsey",
                                        "Israel",      "Isle of Man",    "Japan",
                                        "Jersey",      "New Zealand",    "Republic of Korea",
                                        "Switzerland", "United Kingdom", "United States",
                                        "Uruguay"};
    static const char *const wanted[] = {"Uruguay", "Japan", "China", "Finland"};
    total = 0;
    for (m = 0; m < SAMPLES && total < limit / 4; m++) {
        const char *w = wanted[m % 4];
        int64_t a = now_ns();
        size_t i = 0;
        while (i < sizeof(names) / sizeof(names[0]) && strcmp(names[i], w) != 0)
            i++;
        int64_t b = now_ns();
        sink += i;
        g_samples[m] = b - a;
        total += b - a;
    }
    stats look = summarise(m, total, m);

    printf("policy_bench: %d request kinds (%zu permit, %zu deny), %.1f reasons per decision\n", 6,
           permits, 6 - permits, (double)reasons / 6.0);
    printf("decisions/s (back to back)   %12.0f\n", per_sec);
    printf("decision     median %7.0f ns   p99 %7.0f ns\n", dec.median_ns, dec.p99_ns);
    printf("baseline snprintf of 1 reason   median %5.0f ns   p99 %5.0f ns\n", fmt.median_ns,
           fmt.p99_ns);
    printf("baseline strcmp country lookup  median %5.0f ns   p99 %5.0f ns\n", look.median_ns,
           look.p99_ns);
    printf("ratio decision/snprintf %.1f, decision/lookup %.1f (medians)\n",
           dec.median_ns / fmt.median_ns, dec.median_ns / look.median_ns);
    printf("heap allocations during all %zu measured decisions: %zu\n", timed + n, allocs);
    printf("target median < 1000 ns: %s\n", dec.median_ns < 1000 ? "met" : "NOT met");
    (void)sink;
    ecl_policy_free(bc);
    ecl_policy_free(db);
    ecl_policy_free(dg);
    ecl_transfer_rules_free(rules);
    ecl_scc_registry_free(sccs);
    return allocs == 0 ? 0 : 2;
}
