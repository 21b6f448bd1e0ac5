/*
 * signer_bench.c - what moving the site key into a process of its own costs.
 *
 * Signs the same GrantBody-sized document (a permit's grant) three ways, in
 * the same run:
 *   baseline  site_key_sign in this process (Ed25519 over context||0||body)
 *   local     signer_local: the same, plus the body check and locked memory
 *   process   the real `ecluse signer` over its socketpair, as the gateway
 *             signs (one thread, then 4 threads sharing the one signer)
 * and prints signatures per second, microseconds per signature and the
 * ratio to the baseline.
 *
 *   bazel run -c opt //bench/signer:signer_bench [-- SECONDS]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proto/ecluse.pb-c.h"
#include "site/signer.h"
#include "site/sitekey.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint8_t body[1024];
static size_t body_len;
static double seconds = 2.0;

/* A grant as the gateway signs one: names, purpose, bases, tensors. */
static void make_body(void)
{
    static char *tensors[] = {"features", "labels"};
    Ecluse__V1__Identity who = ECLUSE__V1__IDENTITY__INIT;
    who.site = "de";
    who.role = "researcher";
    who.name = "carla";
    Ecluse__V1__GrantBody b = ECLUSE__V1__GRANT_BODY__INIT;
    b.grant_id = "5d0c8e1f2a3b4c5d6e7f8091a2b3c4d5";
    b.dataset = "lu/breast-cancer";
    b.requester = &who;
    b.purpose = "HMB";
    b.lawful_basis = "art6-1-e+art9-2-j";
    b.job_country = "DE";
    b.transfer_basis = "eea";
    b.tensors = tensors;
    b.n_tensors = 2;
    b.max_rows = 400;
    b.issued_unix = 1764000000;
    b.expires_unix = 1771776000;
    body_len = ecluse__v1__grant_body__get_packed_size(&b);
    ecluse__v1__grant_body__pack(&b, body);
}

typedef struct run {
    const site_key *key; /* baseline */
    signer *s;           /* else */
    long count;
} run;

static void *sign_loop(void *arg)
{
    run *r = arg;
    unsigned char sig[crypto_sign_BYTES];
    ecl_err err;
    double until = now_s() + seconds;
    long n = 0;
    while (now_s() < until) {
        for (int i = 0; i < 64; i++) {
            int rc = r->key != NULL
                         ? site_key_sign(r->key, GRANT_SIGNING_CONTEXT, body, body_len, sig, &err)
                         : signer_sign(r->s, SIGNER_GRANT, body, body_len, sig, &err);
            if (rc != 0) {
                fprintf(stderr, "signer_bench: %s\n", err.msg);
                exit(1);
            }
        }
        n += 64;
    }
    r->count = n;
    return NULL;
}

/* Signatures per second with `threads` threads. */
static double rate(const site_key *key, signer *s, int threads)
{
    run runs[8];
    pthread_t t[8];
    for (int i = 0; i < threads; i++) {
        runs[i] = (run){key, s, 0};
        pthread_create(&t[i], NULL, sign_loop, &runs[i]);
    }
    long total = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        total += runs[i].count;
    }
    return (double)total / seconds;
}

static void row(const char *name, double r, double base)
{
    printf("%-34s %12.0f %10.2f %9.2fx\n", name, r, 1e6 / r, r / base);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        seconds = strtod(argv[1], NULL);
    const char *exe = getenv("ECLUSE_BIN") ? getenv("ECLUSE_BIN") : "cli/ecluse";
    make_body();
    site_key key;
    ecl_err err;
    char dir[] = "/tmp/signer-bench-XXXXXX", path[64];
    if (mkdtemp(dir) == NULL || site_key_generate(&key, &err) != 0)
        return 1;
    snprintf(path, sizeof(path), "%s/site.key", dir);
    signer *local = NULL, *proc = NULL;
    if (site_key_save(&key, path, &err) != 0 || signer_local(&key, &local, &err) != 0 ||
        signer_spawn(exe, path, NULL, NULL, &proc, &err) != 0) {
        fprintf(stderr, "signer_bench: %s\n", err.msg);
        return 1;
    }
    printf("a %zu-byte grant body, %.1f s per measurement, %ld CPUs\n", body_len, seconds,
           sysconf(_SC_NPROCESSORS_ONLN));
    printf("%-34s %12s %10s %10s\n", "how", "signatures/s", "us each", "x base");
    double base = rate(&key, NULL, 1);
    row("baseline: site_key_sign, in process", base, base);
    row("signer_local (checks the body)", rate(NULL, local, 1), base);
    row("signer process, 1 thread", rate(NULL, proc, 1), base);
    row("signer process, 4 threads", rate(NULL, proc, 4), base);
    signer_free(local);
    signer_free(proc);
    site_key_wipe(&key);
    unlink(path);
    char pub[80];
    snprintf(pub, sizeof(pub), "%s.pub", path);
    unlink(pub);
    rmdir(dir);
    return 0;
}
