/* kill -9 during a many-threaded append load loses no acknowledged entry. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "audit/audit.h"
#include "tests/audit/testutil.h"

#define THREADS  16
#define KILL_AT  3000   /* acknowledgements before the kill */
#define MAX_ACKS 200000 /* more than the child can write before the kill */

typedef struct ack {
    uint64_t seq;
    uint32_t thread, n;
} ack;

typedef struct child_arg {
    audit_log *log;
    int fd;
    uint32_t id;
} child_arg;

static pthread_mutex_t pipe_mu = PTHREAD_MUTEX_INITIALIZER;

/* Child thread: append forever; after each append returns, report it. */
static void *child_thread(void *p)
{
    child_arg *a = p;
    char actor[64];
    snprintf(actor, sizeof(actor), "spiffe://fi/researcher/t%u", a->id);
    for (uint32_t n = 0;; n++) {
        json_t *d = json_pack("{s:[s],s:i}", "reasons", "load", "n", (int)n);
        audit_entry e = {.kind = AUDIT_KIND_ACCESS,
                         .actor = actor,
                         .dataset = "fi/cohort",
                         .purpose = "DUO:0000007",
                         .decision = "deny",
                         .detail = d};
        ecl_err err;
        ack k = {0, a->id, n};
        int rc = audit_append(a->log, &e, &k.seq, &err);
        json_decref(d);
        if (rc != 0) {
            fprintf(stderr, "child append failed: %s\n", err.msg);
            _exit(3);
        }
        pthread_mutex_lock(&pipe_mu);
        ssize_t w = write(a->fd, &k, sizeof(k)); /* < PIPE_BUF: atomic */
        pthread_mutex_unlock(&pipe_mu);
        if (w != (ssize_t)sizeof(k))
            _exit(4);
    }
    return NULL;
}

static void run_child(const char *dir, int fd)
{
    audit_log *log;
    audit_options o = {.group_deadline_us = 100};
    ecl_err err;
    if (audit_open(dir, &o, &log, &err) != 0) {
        fprintf(stderr, "child open: %s\n", err.msg);
        _exit(2);
    }
    static child_arg a[THREADS];
    pthread_t th[THREADS];
    for (uint32_t i = 0; i < THREADS; i++) {
        a[i] = (child_arg){log, fd, i};
        pthread_create(&th[i], NULL, child_thread, &a[i]);
    }
    for (;;)
        pause(); /* until SIGKILL */
}

static size_t read_acks(int fd, ack *acks, size_t have, size_t want)
{
    char *p = (char *)(acks + have);
    size_t left = (want - have) * sizeof(ack), got = 0;
    while (left > 0) {
        ssize_t n = read(fd, p + got, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
        left -= (size_t)n;
        if (got % sizeof(ack) == 0 && have + got / sizeof(ack) >= want)
            break;
    }
    assert_int_equal(got % sizeof(ack), 0);
    return have + got / sizeof(ack);
}

typedef struct seen {
    uint64_t count;
    uint32_t *thread, *n; /* by seq; UINT32_MAX when absent */
} seen;

static int record_entry(const audit_record *r, void *arg)
{
    seen *s = arg;
    json_t *d = json_loads(r->detail_json, 0, NULL);
    assert_non_null(d);
    unsigned t = 0;
    assert_int_equal(sscanf(r->actor, "spiffe://fi/researcher/t%u", &t), 1);
    assert_true(r->seq <= s->count);
    s->thread[r->seq] = t;
    s->n[r->seq] = (uint32_t)json_integer_value(json_object_get(d, "n"));
    json_decref(d);
    return 0;
}

/* After a restart the tree goes on from where the crash left it: one more
 * entry, a consistency proof from the old size, and verify again. */
static void check_tree_grows(audit_log *log, uint64_t count)
{
    uint64_t n1, n2, seq;
    uint8_t r1[MERKLE_HASH_BYTES], r2[MERKLE_HASH_BYTES], leaf[MERKLE_HASH_BYTES];
    ecl_err err;
    assert_int_equal(audit_tree_head(log, &n1, r1, &err), 0);
    assert_int_equal(n1, count);
    audit_entry e = {.kind = AUDIT_KIND_ADMIN, .actor = "spiffe://fi/admin/root"};
    assert_int_equal(audit_append(log, &e, &seq, &err), 0);
    assert_int_equal(seq, count + 1);
    assert_int_equal(audit_tree_head(log, &n2, r2, &err), 0);
    assert_int_equal(n2, count + 1);
    audit_proof p;
    assert_int_equal(audit_prove_consistency(log, count, count + 1, &p, &err), 0);
    assert_int_equal(merkle_verify_consistency(count, count + 1, r1, r2, p.hash, p.n), 0);
    assert_int_equal(audit_prove_inclusion(log, seq, seq, &p, &err), 0);
    assert_int_equal(audit_leaf_hash(log, seq, leaf, &err), 0);
    assert_int_equal(merkle_verify_inclusion(seq - 1, seq, leaf, p.hash, p.n, r2), 0);
    audit_verify_report rep;
    if (audit_verify(log, &rep, &err) != 0)
        fail_msg("verify after the restart's first append: %s", err.msg);
}

static void crash_once(unsigned extra_us)
{
    char dir[512];
    tu_tmpdir(dir, sizeof(dir));
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        run_child(dir, p[1]);
    }
    close(p[1]);
    ack *acks = calloc(MAX_ACKS, sizeof(ack));
    size_t n = read_acks(p[0], acks, 0, KILL_AT);
    assert_true(n >= KILL_AT); /* the child really was under load */
    usleep(extra_us);          /* vary where in a commit the kill lands */
    assert_int_equal(kill(pid, SIGKILL), 0);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    n = read_acks(p[0], acks, n, MAX_ACKS); /* whatever was acknowledged before death */
    close(p[0]);

    audit_log *log = tu_open(dir);
    audit_verify_report rep;
    ecl_err err;
    if (audit_verify(log, &rep, &err) != 0)
        fail_msg("chain does not verify after kill -9: %s", err.msg);
    /* the tree was committed with the entries: every node of a tree of
     * rep.entries leaves is there and right (audit_verify recomputed them),
     * and the indexes hold every entry (by_time and four string indexes) */
    uint64_t c = rep.entries;
    assert_int_equal(rep.tree_nodes, 2 * c - (uint64_t)__builtin_popcountll(c));
    assert_true(rep.index_rows >= 5 * c);
    seen s = {rep.entries, NULL, NULL};
    s.thread = malloc((s.count + 1) * sizeof(uint32_t));
    s.n = malloc((s.count + 1) * sizeof(uint32_t));
    memset(s.thread, 0xff, (s.count + 1) * sizeof(uint32_t));
    assert_int_equal(audit_query(log, NULL, record_entry, &s, &err), 0);
    for (size_t i = 0; i < n; i++) {
        if (acks[i].seq == 0 || acks[i].seq > s.count)
            fail_msg("acknowledged seq %llu is lost (log has %llu entries)",
                     (unsigned long long)acks[i].seq, (unsigned long long)s.count);
        assert_int_equal(s.thread[acks[i].seq], acks[i].thread);
        assert_int_equal(s.n[acks[i].seq], acks[i].n);
    }
    check_tree_grows(log, s.count);
    print_message("killed after %zu acknowledged entries; %llu entries on disk, all verified\n", n,
                  (unsigned long long)s.count);
    free(s.thread);
    free(s.n);
    free(acks);
    audit_close(log);
    tu_rmrf(dir);
}

static void test_kill9_loses_no_acknowledged_entry(void **state)
{
    (void)state;
    const unsigned delays[] = {0, 137, 1013, 4999};
    for (size_t i = 0; i < sizeof(delays) / sizeof(delays[0]); i++)
        crash_once(delays[i]);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill9_loses_no_acknowledged_entry),
    };
    return cmocka_run_group_tests_name("audit_crash", tests, NULL, NULL);
}
