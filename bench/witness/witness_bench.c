/*
 * witness_bench.c - what one peer's cosignature of a checkpoint costs, on
 * loopback, against an authenticated round trip measured in the same run.
 *
 * Two real sites, LU and DE, peered both ways with the CLI. LU's admin asks
 * LU for checkpoints (Admin.SignCheckpoint with push_to_peers): each round
 * signs through LU's signer process, sends the note and a consistency proof
 * to DE over the peers' mTLS channel (Federation.AddCheckpoint), where DE
 * checks the signature and the proof, keeps the note and cosigns it through
 * its own signer; LU checks the cosignature and stores it. Half the rounds
 * come after new entries (a consistency proof from the last cosigned size),
 * half at the same size. The baseline is Health.Check over the same mTLS
 * channel from the same client: one authenticated round trip and nothing
 * else.
 *
 *   bazel run -c opt //bench/witness:witness_bench -- [ROUNDS]
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/client.h"
#include "proto/ecluse.pb-c.h"
#include "rpc/client.h"
#include "tests/support/harness.h"

typedef struct site {
    th_site s;
    char admin[PATH_MAX];
} site;

static char root[PATH_MAX - 200], out[16384];
static site lu, de;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void stop_all(void)
{
    th_gateway_stop(&lu.s, NULL);
    th_gateway_stop(&de.s, NULL);
}

/* One checkpoint round; 0 when DE cosigned it. */
static int round_trip(ecl_client *c, double *ms, ecl_err *err)
{
    Ecluse__V1__SignCheckpointRequest req = ECLUSE__V1__SIGN_CHECKPOINT_REQUEST__INIT;
    req.push_to_peers = 1;
    ProtobufCMessage *resp = NULL;
    double t0 = now_ms();
    if (rpc_unary(ecl_client_channel(c), "/ecluse.v1.Admin/SignCheckpoint", &req.base,
                  &ecluse__v1__checkpoint_result__descriptor, &resp, 30000, err) != 0)
        return -1;
    *ms = now_ms() - t0;
    const Ecluse__V1__CheckpointResult *r = (const Ecluse__V1__CheckpointResult *)resp;
    int ok = r->n_witnesses == 1 && r->witnesses[0]->ok;
    if (!ok)
        ecl_fail(err, ECL_E_INTERNAL, "DE did not cosign: %s",
                 r->n_witnesses ? r->witnesses[0]->error : "no peer");
    protobuf_c_message_free_unpacked(resp, NULL);
    return ok ? 0 : -1;
}

static int health(ecl_client *c, double *ms, ecl_err *err)
{
    Ecluse__V1__HealthCheckResponse *h = NULL;
    double t0 = now_ms();
    if (ecl_client_health(c, &h, err) != 0)
        return -1;
    *ms = now_ms() - t0;
    protobuf_c_message_free_unpacked(&h->base, NULL);
    return 0;
}

int main(int argc, char **argv)
{
    char *end = NULL;
    long rounds = argc > 1 ? strtol(argv[1], &end, 10) : 40;
    if (argc > 1 && (end == argv[1] || *end != '\0'))
        rounds = 0;
    if (rounds < 4 || rounds > 10000) {
        fprintf(stderr, "usage: witness_bench [ROUNDS 4..10000]\n");
        return 2;
    }
    th_tmpdir(root, sizeof(root));
    site *all[] = {&lu, &de};
    const char *ids[] = {"lu", "de"}, *cc[] = {"LU", "DE"};
    for (int i = 0; i < 2; i++) {
        th_site_create(&all[i]->s, root, ids[i], cc[i]);
        th_issue(&all[i]->s, "admin", "adm", all[i]->admin, sizeof(all[i]->admin));
        th_gateway_start(&all[i]->s);
    }
    atexit(stop_all);
    th_peer(&lu.s, lu.admin, &de.s, de.admin);
    char bundle[PATH_MAX + 32];
    th_export_bundle(&de.s, de.admin, bundle, sizeof(bundle));
    ecl_client *c = NULL;
    ecl_err err;
    if (ecl_client_open(lu.admin, NULL, &c, &err) != 0) {
        fprintf(stderr, "witness_bench: %s\n", err.msg);
        return 1;
    }
    double *base = calloc((size_t)rounds, sizeof(double));
    double *grown = calloc((size_t)rounds, sizeof(double));
    double *same = calloc((size_t)rounds, sizeof(double));
    if (base == NULL || grown == NULL || same == NULL)
        return 1;
    int n_grown = 0, n_same = 0, rc = 0;
    double warm;
    for (int i = 0; i < 3 && rc == 0; i++) /* TLS sessions, caches */
        rc = round_trip(c, &warm, &err) | health(c, &warm, &err);
    for (int i = 0; i < rounds && rc == 0; i++) {
        rc = health(c, &base[i], &err);
        if (rc == 0 && i % 2 == 0) {
            /* A new entry at LU (adding DE again is refused, and the
             * refusal recorded), then a round with a consistency proof. */
            (void)th_peer_add(out, sizeof(out), bundle, lu.admin);
            rc = round_trip(c, &grown[n_grown++], &err);
        } else if (rc == 0)
            rc = round_trip(c, &same[n_same++], &err);
    }
    if (rc != 0) {
        fprintf(stderr, "witness_bench: %s\n", err.msg);
        return 1;
    }
    double mb = median(base, (int)rounds), mg = median(grown, n_grown), ms = median(same, n_same);
    printf("witness_bench: %ld rounds on loopback, LU checkpoints, DE cosigns\n", rounds);
    printf("  baseline: Health.Check over mTLS        median %7.3f ms\n", mb);
    printf("  checkpoint + cosignature, new entries   median %7.3f ms  (%.1fx baseline)\n", mg,
           mg / mb);
    printf("  checkpoint + cosignature, same size     median %7.3f ms  (%.1fx baseline)\n", ms,
           ms / mb);
    printf("  target: one peer's cosignature under 50 ms (median): %s\n",
           mg < 50.0 && ms < 50.0 ? "met" : "NOT met");
    ecl_client_close(c);
    free(base);
    free(grown);
    free(same);
    return 0;
}
