/*
 * kill_test.c - SIGKILL a gateway under load, again and again.
 *
 * Threads of researchers ask LU's gateway for access decisions as fast as
 * they can; each decision a client receives carries the sequence number of
 * its audit entry. At a random moment the gateway is killed with SIGKILL.
 * After every restart, every acknowledged entry must be in the trail with
 * the right requester and decision, and the whole chain must verify. Nothing
 * the gateway answered may be missing from the record.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "client/client.h"
#include "proto/ecluse.pb-c.h"
#include "rpc/client.h"
#include "tests/support/harness.h"

#define WORKERS  8
#define ROUNDS   4
#define MAX_ACKS 200000

static char root[PATH_MAX - 200];
static char out[64 * 1024];

typedef struct ack {
    uint64_t seq;
    int permit;
    int worker;
} ack;

static pthread_mutex_t ack_lock = PTHREAD_MUTEX_INITIALIZER;
static ack *acks;
static size_t ack_count;

typedef struct worker {
    int index;
    const char *identity;
    volatile int *stop;
    int errors;
} worker;

static void *ask_loop(void *arg)
{
    worker *w = arg;
    ecl_client *c = NULL;
    ecl_err err;
    if (ecl_client_open(w->identity, NULL, &c, &err) != 0)
        return NULL;
    int timeout_ms = (int)(2000 * th_time_scale());
    ecl_client_set_timeout(c, timeout_ms);
    Ecluse__V1__AccessRequest req = ECLUSE__V1__ACCESS_REQUEST__INIT;
    req.dataset = "lu/breast-cancer";
    req.purpose = "HMB";
    req.lawful_basis = "art6-1-e+art9-2-j";
    req.job_country = "LU";
    /* Every other request leaves out the ethics reference: a deny. */
    int i = 0;
    while (!*w->stop) {
        req.ethics_ref = (i++ % 2) ? "ETH-LU-1" : "";
        ProtobufCMessage *resp = NULL;
        if (rpc_unary(ecl_client_channel(c), "/ecluse.v1.Access/Check", &req.base,
                      &ecluse__v1__access_decision__descriptor, &resp, timeout_ms, &err) != 0) {
            w->errors++; /* the gateway is down: expected around a kill */
            usleep(20 * 1000);
            continue;
        }
        const Ecluse__V1__AccessDecision *d = (const Ecluse__V1__AccessDecision *)resp;
        pthread_mutex_lock(&ack_lock);
        if (ack_count < MAX_ACKS)
            acks[ack_count++] = (ack){d->audit_seq, d->permit, w->index};
        pthread_mutex_unlock(&ack_lock);
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    ecl_client_close(c);
    return NULL;
}

/* What the trail holds: decision per sequence number (0 = none, 1 deny, 2 permit). */
typedef struct trail {
    unsigned char *decision;
    uint64_t size;
    uint64_t entries;
} trail;

static void read_trail(const char *auditor, trail *t)
{
    ecl_client *c = NULL;
    ecl_err err;
    assert_int_equal(ecl_client_open(auditor, NULL, &c, &err), 0);
    Ecluse__V1__AuditQuery q = ECLUSE__V1__AUDIT_QUERY__INIT;
    q.kind = "access";
    rpc_stream *st = NULL;
    assert_int_equal(
        rpc_stream_open(ecl_client_channel(c), "/ecluse.v1.Audit/Query", &q.base, 60000, &st, &err),
        0);
    for (;;) {
        ProtobufCMessage *msg = NULL;
        int rc = rpc_stream_next(st, &ecluse__v1__audit_record__descriptor, &msg, &err);
        if (rc != 1) {
            assert_int_equal(rc, 0);
            break;
        }
        const Ecluse__V1__AuditRecord *r = (const Ecluse__V1__AuditRecord *)msg;
        if (r->seq >= t->size) {
            uint64_t size = t->size ? t->size : 1024;
            while (size <= r->seq)
                size *= 2;
            t->decision = realloc(t->decision, size);
            memset(t->decision + t->size, 0, size - t->size);
            t->size = size;
        }
        t->decision[r->seq] = strcmp(r->decision, "permit") == 0 ? 2 : 1;
        assert_string_equal(r->actor, "spiffe://lu/researcher/r");
        t->entries++;
        protobuf_c_message_free_unpacked(msg, NULL);
    }
    rpc_stream_close(st);
    ecl_client_close(c);
}

static void test_sigkill_under_load_loses_no_acknowledged_entry(void **state)
{
    (void)state;
    th_tmpdir(root, sizeof(root));
    th_site lu;
    char admin[PATH_MAX], res[PATH_MAX], auditor[PATH_MAX];
    th_site_create(&lu, root, "lu", "LU");
    th_issue(&lu, "admin", "adm", admin, sizeof(admin));
    th_issue(&lu, "auditor", "aud", auditor, sizeof(auditor));
    assert_int_equal(th_run(out, sizeof(out), "pki", "issue", "--dir", lu.dir, "--role",
                            "researcher", "--name", "r", "--org-type", "academic", NULL),
                     0);
    assert_true(snprintf(res, sizeof(res), "%s/identities/researcher-r", lu.dir) <
                (int)sizeof(res));
    th_gateway_start(&lu);
    assert_int_equal(th_run(out, sizeof(out), "dataset", "add", "breast-cancer", "--from",
                            "examples/data/breast_cancer.csv", "--skip-lines", "1",
                            "--label-column", "-1", "--title", "BC", "--description", "test data",
                            "--policy", "examples/policies/breast_cancer.json", "--identity", admin,
                            NULL),
                     0);
    acks = calloc(MAX_ACKS, sizeof(*acks));
    srand((unsigned)getpid());

    for (int round = 0; round < ROUNDS; round++) {
        volatile int stop = 0;
        worker ws[WORKERS];
        pthread_t th[WORKERS];
        for (int i = 0; i < WORKERS; i++) {
            ws[i] = (worker){i, res, &stop, 0};
            assert_int_equal(pthread_create(&th[i], NULL, ask_loop, &ws[i]), 0);
        }
        /* Load (the round's first 50 decisions answered: at once, or a few
         * seconds under valgrind), then a kill at a random time. */
        pthread_mutex_lock(&ack_lock);
        size_t before = ack_count;
        pthread_mutex_unlock(&ack_lock);
        double give_up = th_now() + 30.0 * th_time_scale();
        for (;;) {
            pthread_mutex_lock(&ack_lock);
            size_t now = ack_count;
            pthread_mutex_unlock(&ack_lock);
            if (now >= before + 50 || th_now() > give_up)
                break;
            usleep(10 * 1000);
        }
        usleep((useconds_t)(300 + rand() % 700) * 1000);
        assert_int_equal(kill(lu.pid, SIGKILL), 0);
        int status = 0;
        waitpid(lu.pid, &status, 0);
        lu.pid = 0;
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        usleep(100 * 1000);
        stop = 1;
        for (int i = 0; i < WORKERS; i++)
            pthread_join(th[i], NULL);
        th_gateway_start(&lu);

        /* Every acknowledged decision is in the trail, as it was answered. */
        trail t = {0};
        read_trail(auditor, &t);
        size_t missing = 0, wrong = 0;
        for (size_t i = 0; i < ack_count; i++) {
            if (acks[i].seq >= t.size || t.decision[acks[i].seq] == 0)
                missing++;
            else if (t.decision[acks[i].seq] != (acks[i].permit ? 2 : 1))
                wrong++;
        }
        fprintf(stderr,
                "round %d: %zu decisions acknowledged so far, %llu in the trail, "
                "%zu missing, %zu wrong\n",
                round + 1, ack_count, (unsigned long long)t.entries, missing, wrong);
        free(t.decision);
        assert_true(ack_count > before); /* this round was under load */
        assert_int_equal(missing, 0);
        assert_int_equal(wrong, 0);
        assert_int_equal(th_run(out, sizeof(out), "audit", "verify", "--no-witnesses", "--identity",
                                auditor, NULL),
                         0);
        assert_non_null(strstr(out, "chain intact"));
    }
    assert_int_equal(th_gateway_stop(&lu, NULL), 0);
    free(acks);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigkill_under_load_loses_no_acknowledged_entry),
    };
    return cmocka_run_group_tests_name("sigkill under load", tests, NULL, NULL);
}
