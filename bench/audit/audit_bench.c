/* audit_bench - durable audited entries per second with group commit (1, 8,
 * 64 writer threads) against one-entry-per-commit LMDB writes; 64 writers
 * with the Merkle tree against the same without it; the median time of an
 * inclusion and of a consistency proof on a 200k-entry log; and offline
 * verification (chain, tree, indexes) against raw BLAKE2b and raw SHA-256
 * passes over the same entry bytes.
 * usage: audit_bench [seconds per run, default 1.5] [proof log entries, default 200000] */
#include <lmdb.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/audit.h"
#include "common/fileio.h"
#include "common/merkle.h"

/* The bench-only switch of audit/internal.h (defined in audit/log.c): set
 * before audit_open, that log's appends skip the tree. */
extern int audit_bench_tree_off;

static double secs = 1.5;
static unsigned long proof_entries = 200000;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void tmpdir(char *out, size_t cap, const char *tag)
{
    const char *base = getenv("TMPDIR");
    snprintf(out, cap, "%s/ecluse-bench-%s-XXXXXX", base ? base : "/tmp", tag);
    if (mkdtemp(out) == NULL) {
        perror("mkdtemp");
        exit(1);
    }
}

static void rmrf(const char *dir)
{
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

/* A realistic access decision: about 330 bytes on disk. */
static json_t *detail(void)
{
    return json_pack("{s:[s,s],s:{s:s,s:s},s:s}", "reasons",
                     "rule fi-cohort-research permits DUO:0000007 (Art. 6(1)(e), Art. 89)",
                     "obligation: delete by 2027-12-31", "obligations", "retention", "P1Y",
                     "reidentification", "forbidden", "grant_expires", "2027-12-31T00:00:00Z");
}

typedef struct run {
    audit_log *log;
    atomic_int stop;
    atomic_ulong done;
    unsigned long target; /* stop at this many appends; 0 = run for `secs` */
} run;

static void *writer(void *arg)
{
    run *r = arg;
    json_t *d = detail();
    audit_entry e = {.kind = AUDIT_KIND_ACCESS,
                     .actor = "spiffe://fi/researcher/alice",
                     .dataset = "fi/cohort",
                     .purpose = "DUO:0000007",
                     .decision = "permit",
                     .lawful_basis = "art6-1-e",
                     .transfer_basis = "eea",
                     .job_country = "FI",
                     .grant_id = "g-5f2c0d1e",
                     .detail = d};
    ecl_err err;
    while (!atomic_load(&r->stop)) {
        if (audit_append(r->log, &e, NULL, &err) != 0) {
            fprintf(stderr, "append failed: %s\n", err.msg);
            exit(1);
        }
        if (atomic_fetch_add(&r->done, 1) + 1 >= r->target && r->target)
            atomic_store(&r->stop, 1);
    }
    json_decref(d);
    return NULL;
}

/* Appends per second with `threads` writers; leaves the log in `dir`.
 * `target` > 0: run until that many entries instead of for `secs`. */
static double group_commit_n(const char *dir, int threads, unsigned deadline_us,
                             unsigned long target)
{
    audit_options o = {.group_deadline_us = deadline_us, .map_size = (size_t)4 << 30};
    run r = {.stop = 0, .done = 0, .target = target};
    ecl_err err;
    if (audit_open(dir, &o, &r.log, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    pthread_t th[64];
    double t0 = now();
    for (int i = 0; i < threads; i++)
        pthread_create(&th[i], NULL, writer, &r);
    while (!atomic_load(&r.stop) && (target || now() - t0 < secs)) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    atomic_store(&r.stop, 1);
    for (int i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    double rate = (double)atomic_load(&r.done) / (now() - t0);
    audit_close(r.log);
    return rate;
}

static double group_commit(const char *dir, int threads, unsigned deadline_us)
{
    return group_commit_n(dir, threads, deadline_us, 0);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* 64 writers with the tree and without, alternated (on, off, on, off, ...)
 * so that a change in the machine's load hits both alike. */
static void tree_cost(double base)
{
    enum { ROUNDS = 3 };
    double on[ROUNDS], off[ROUNDS];
    for (int i = 0; i < ROUNDS; i++)
        for (int t = 0; t < 2; t++) {
            char dir[512];
            tmpdir(dir, sizeof(dir), t ? "notree" : "tree");
            audit_bench_tree_off = t;
            double r = group_commit(dir, 64, 0);
            audit_bench_tree_off = 0;
            (t ? off : on)[i] = r;
            rmrf(dir);
        }
    double mon = median(on, ROUNDS), moff = median(off, ROUNDS);
    printf("64 writers, median of %d runs: with the tree %.0f durable entries/s (%.1fx one per "
           "commit), without %.0f -> %.2fx\n",
           ROUNDS, mon, mon / base, moff, mon / moff);
}

/* Median time of one proof on the log in `dir`, over random sizes. */
static void proof_times(const char *dir)
{
    enum { SAMPLES = 2001 };
    audit_log *log;
    ecl_err err;
    if (audit_open(dir, NULL, &log, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    uint64_t count;
    uint8_t root[32];
    if (audit_tree_head(log, &count, root, &err) != 0 || count < 2) {
        fprintf(stderr, "proof log: %s\n", count < 2 ? "too few entries" : err.msg);
        exit(1);
    }
    static double ti[SAMPLES], tc[SAMPLES];
    audit_proof p;
    uint32_t seed = 12345;
    for (int i = 0; i < SAMPLES; i++) {
        seed = seed * 1103515245u + 12345u;
        uint64_t a = 1 + ((uint64_t)seed << 16 ^ (uint64_t)(seed >> 3)) % (count - 1);
        double t0 = now();
        if (audit_prove_inclusion(log, a, count, &p, &err) != 0) {
            fprintf(stderr, "inclusion: %s\n", err.msg);
            exit(1);
        }
        double t1 = now();
        if (audit_prove_consistency(log, a, count, &p, &err) != 0) {
            fprintf(stderr, "consistency: %s\n", err.msg);
            exit(1);
        }
        double t2 = now();
        ti[i] = t1 - t0;
        tc[i] = t2 - t1;
    }
    audit_close(log);
    printf("proofs on a %llu-entry log, median of %d: inclusion %.1f us, consistency %.1f us\n",
           (unsigned long long)count, SAMPLES, median(ti, SAMPLES) * 1e6,
           median(tc, SAMPLES) * 1e6);
}

/* Baseline: one put + one durable commit per entry, plain LMDB. */
static double one_per_commit(const char *dir)
{
    MDB_env *env;
    MDB_dbi dbi;
    MDB_txn *txn;
    mdb_env_create(&env);
    mdb_env_set_mapsize(env, (size_t)1 << 30);
    if (mdb_env_open(env, dir, 0, 0600) != 0)
        exit(1);
    uint8_t val[330];
    memset(val, 'v', sizeof(val));
    uint64_t n = 0;
    double t0 = now();
    while (now() - t0 < secs) {
        uint8_t k[8];
        for (int i = 0; i < 8; i++)
            k[i] = (uint8_t)(n >> (56 - 8 * i));
        MDB_val kv = {8, k}, vv = {sizeof(val), val};
        mdb_txn_begin(env, NULL, 0, &txn);
        mdb_dbi_open(txn, NULL, 0, &dbi);
        if (mdb_put(txn, dbi, &kv, &vv, 0) != 0 || mdb_txn_commit(txn) != 0)
            exit(1);
        n++;
    }
    double rate = (double)n / (now() - t0);
    mdb_env_close(env);
    return rate;
}

/* Verification of the log in `dir` and raw hashing of the same records. */
static void verification(const char *dir)
{
    audit_log *log;
    ecl_err err;
    if (audit_open(dir, NULL, &log, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    audit_verify_report rep;
    double best = 1e9;
    for (int i = 0; i < 3; i++) {
        double t0 = now();
        if (audit_verify(log, &rep, &err) != 0) {
            fprintf(stderr, "verify: %s\n", err.msg);
            exit(1);
        }
        double t = now() - t0;
        best = t < best ? t : best;
    }
    uint64_t n = rep.entries;
    audit_close(log);

    /* the same record bytes, copied out of LMDB, hashed one by one */
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_cursor *c;
    mdb_env_create(&env);
    mdb_env_set_maxdbs(env, 16);
    mdb_env_set_mapsize(env, (size_t)1 << 30);
    if (mdb_env_open(env, dir, MDB_RDONLY, 0600) != 0) {
        fprintf(stderr, "%s: cannot open read-only\n", dir);
        exit(1);
    }
    mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    mdb_dbi_open(txn, "entries", 0, &dbi);
    mdb_cursor_open(txn, dbi, &c);
    size_t total = 0, cap = (size_t)1 << 20, *lens = malloc((n ? n : 1) * sizeof(size_t));
    uint8_t *all = malloc(cap);
    if (lens == NULL || all == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    MDB_val k, v;
    size_t i = 0;
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && i < n;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT), i++) {
        while (total + v.mv_size > cap) {
            uint8_t *more = realloc(all, cap * 2);
            if (more == NULL) {
                fprintf(stderr, "out of memory for %zu bytes of records\n", cap * 2);
                exit(1);
            }
            all = more;
            cap *= 2;
        }
        memcpy(all + total, v.mv_data, v.mv_size);
        lens[i] = v.mv_size;
        total += v.mv_size;
    }
    mdb_cursor_close(c);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    double hbest = 1e9;
    uint8_t h[32];
    for (int r = 0; r < 3; r++) {
        double t0 = now();
        size_t off = 0;
        for (size_t j = 0; j < i; j++) {
            crypto_generichash_state st;
            crypto_generichash_init(&st, NULL, 0, 32);
            crypto_generichash_update(&st, (const uint8_t *)"ecluse-audit-v1", 16);
            crypto_generichash_update(&st, all + off, lens[j] - 32);
            crypto_generichash_final(&st, h, 32);
            off += lens[j];
        }
        double t = now() - t0;
        hbest = t < hbest ? t : hbest;
    }
    double sbest = 1e9;
    for (int r = 0; r < 3; r++) {
        double t0 = now();
        size_t off = 0;
        for (size_t j = 0; j < i; j++) {
            merkle_sha256(all + off, lens[j], h);
            off += lens[j];
        }
        double t = now() - t0;
        sbest = t < sbest ? t : sbest;
    }
    printf("offline verification (chain, tree, indexes): %.0f entries/s (%llu entries, %.1f MB, "
           "%.3f s; %llu tree nodes, %llu index rows)\n",
           n / best, (unsigned long long)n, total / 1e6, best, (unsigned long long)rep.tree_nodes,
           (unsigned long long)rep.index_rows);
    printf("  baseline raw BLAKE2b of the same bytes, 1 thread: %.0f entries/s -> %.2fx\n",
           i / hbest, (n / best) / (i / hbest));
    printf("  baseline raw SHA-256 of the same bytes, 1 thread: %.0f entries/s -> %.2fx\n",
           i / sbest, (n / best) / (i / sbest));
    free(all);
    free(lens);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        secs = strtod(argv[1], NULL);
    if (argc > 2)
        proof_entries = strtoul(argv[2], NULL, 10);
    if (sodium_init() < 0 || secs <= 0)
        return 1;
    char base_dir[512];
    tmpdir(base_dir, sizeof(base_dir), "baseline");
    double base = one_per_commit(base_dir);
    rmrf(base_dir);
    printf("baseline one-entry-per-commit LMDB writes (fsync'd), 1 thread: %.0f entries/s\n", base);
    const int threads[] = {1, 8, 64};
    char keep[512] = "";
    for (int i = 0; i < 3; i++) {
        char dir[512];
        tmpdir(dir, sizeof(dir), "group");
        double r = group_commit(dir, threads[i], 0);
        printf("group commit, %2d writer threads: %.0f durable entries/s -> %.1fx baseline\n",
               threads[i], r, r / base);
        if (threads[i] == 64)
            memcpy(keep, dir, sizeof(keep));
        else
            rmrf(dir);
    }
    char dir[512];
    tmpdir(dir, sizeof(dir), "deadline");
    double r = group_commit(dir, 64, 200);
    printf("group commit, 64 writer threads, 200 us deadline: %.0f durable entries/s -> %.1fx\n", r,
           r / base);
    rmrf(dir);
    rmrf(keep);
    tree_cost(base);
    char big[512];
    tmpdir(big, sizeof(big), "proofs");
    double t0 = now();
    group_commit_n(big, 64, 0, proof_entries);
    printf("(a %lu-entry log written by 64 writers in %.1f s)\n", proof_entries, now() - t0);
    proof_times(big);
    verification(big);
    rmrf(big);
    return 0;
}
