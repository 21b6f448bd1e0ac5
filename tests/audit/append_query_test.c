/* Appends, entry validation, and queries through every index. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "audit/audit.h"
#include "tests/audit/testutil.h"

#define N 90

static const char *actors[] = {"spiffe://fi/researcher/alice", "spiffe://fi/researcher/bob",
                               "spiffe://lu/gateway"};
static const char *datasets[] = {"fi/cohort", "fi/images", "lu/genomes", "lu/notes"};
static const char *purposes[] = {"DUO:0000007", "DUO:0000042"};

typedef struct exp_entry {
    uint64_t seq;
    int64_t time_ns;
    const char *kind, *actor, *dataset, *purpose, *decision;
} exp_entry;

typedef struct fixture {
    char dir[512];
    audit_log *log;
    exp_entry e[N + 1]; /* by seq */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    tu_tmpdir(f->dir, sizeof(f->dir));
    f->log = tu_open(f->dir);
    for (int i = 0; i < N; i++) {
        const char *kinds[] = {AUDIT_KIND_ACCESS, AUDIT_KIND_READ_START, AUDIT_KIND_READ_END,
                               AUDIT_KIND_ADMIN};
        const char *kind = kinds[i % 4];
        const char *dec =
            strcmp(kind, AUDIT_KIND_ACCESS) == 0 ? (i % 8 == 0 ? "permit" : "deny") : NULL;
        const char *ds =
            strcmp(kind, AUDIT_KIND_ADMIN) == 0 ? NULL : datasets[i % 4 == 3 ? 0 : (i / 4) % 4];
        const char *pu = strcmp(kind, AUDIT_KIND_ADMIN) == 0 ? NULL : purposes[(i / 3) % 2];
        char rid[32];
        snprintf(rid, sizeof(rid), "r-%d", i / 4);
        uint64_t seq = tu_append(f->log, kind, actors[i % 3], ds, pu, dec, rid, 1000 + i);
        assert_int_equal(seq, (uint64_t)i + 1);
        f->e[seq] =
            (exp_entry){seq, 0, kind, actors[i % 3], ds ? ds : "", pu ? pu : "", dec ? dec : ""};
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    audit_close(f->log);
    tu_rmrf(f->dir);
    free(f);
    return 0;
}

typedef struct got {
    uint64_t seq[N + 8];
    size_t n;
    fixture *f;
} got;

static int collect(const audit_record *r, void *arg)
{
    got *g = arg;
    assert_true(g->n < N + 8);
    g->seq[g->n++] = r->seq;
    if (g->f) {
        /* the record matches what was appended under that seq */
        exp_entry *x = &g->f->e[r->seq];
        assert_string_equal(r->kind, x->kind);
        assert_string_equal(r->actor, x->actor);
        assert_string_equal(r->dataset, x->dataset);
        assert_string_equal(r->purpose, x->purpose);
        assert_string_equal(r->decision, x->decision);
        x->time_ns = r->time_ns;
    }
    return 0;
}

static int eq_or_any(const char *want, const char *have)
{
    return want == NULL || strcmp(want, have) == 0;
}

/* Run `q` and compare with a brute-force pass over the expected entries. */
static void check_query(fixture *f, const audit_filter *q)
{
    got g = {.f = f};
    ecl_err err;
    assert_int_equal(audit_query(f->log, q, collect, &g, &err), 0);
    uint64_t want[N];
    size_t nw = 0;
    for (uint64_t s = 1; s <= N; s++) {
        exp_entry *x = &f->e[s];
        if (eq_or_any(q->dataset, x->dataset) && eq_or_any(q->requester, x->actor) &&
            eq_or_any(q->purpose, x->purpose) && eq_or_any(q->decision, x->decision) &&
            eq_or_any(q->kind, x->kind) && (q->since_ns == 0 || x->time_ns >= q->since_ns) &&
            (q->until_ns == 0 || x->time_ns <= q->until_ns) && (q->limit == 0 || nw < q->limit))
            want[nw++] = s;
    }
    if (g.n != nw)
        fail_msg("query got %zu entries, expected %zu", g.n, nw);
    for (size_t i = 0; i < nw; i++)
        assert_int_equal(g.seq[i], want[i]); /* same entries, oldest first */
}

static void test_query_all_and_times(void **state)
{
    fixture *f = *state;
    audit_filter q = {0};
    check_query(f, &q); /* also records the times */
    for (uint64_t s = 2; s <= N; s++)
        assert_true(f->e[s].time_ns >= f->e[s - 1].time_ns);
    q.since_ns = f->e[20].time_ns;
    q.until_ns = f->e[55].time_ns;
    check_query(f, &q);
    q.since_ns = f->e[N].time_ns + 1; /* after everything */
    q.until_ns = 0;
    check_query(f, &q);
    q.since_ns = 0;
    q.until_ns = f->e[1].time_ns; /* only the first (and any at the same ns) */
    check_query(f, &q);
}

static void test_query_each_index(void **state)
{
    fixture *f = *state;
    audit_filter all = {0};
    check_query(f, &all);
    for (size_t i = 0; i < 4; i++) {
        audit_filter q = {.dataset = datasets[i]};
        check_query(f, &q);
    }
    for (size_t i = 0; i < 3; i++) {
        audit_filter q = {.requester = actors[i]};
        check_query(f, &q);
    }
    for (size_t i = 0; i < 2; i++) {
        audit_filter q = {.purpose = purposes[i]};
        check_query(f, &q);
    }
    const char *decs[] = {"permit", "deny"};
    for (size_t i = 0; i < 2; i++) {
        audit_filter q = {.decision = decs[i]};
        check_query(f, &q);
    }
    const char *kinds[] = {"access", "read-start", "read-end", "admin", "peer"};
    for (size_t i = 0; i < 5; i++) {
        audit_filter q = {.kind = kinds[i]};
        check_query(f, &q);
    }
    audit_filter none = {.dataset = "xx/none"};
    check_query(f, &none);
}

static void test_query_combined(void **state)
{
    fixture *f = *state;
    audit_filter all = {0};
    check_query(f, &all);
    audit_filter a = {.dataset = "fi/cohort", .purpose = "DUO:0000042"};
    check_query(f, &a);
    audit_filter b = {.requester = actors[0], .kind = "access", .decision = "deny"};
    check_query(f, &b);
    audit_filter c = {
        .dataset = "lu/genomes", .since_ns = f->e[30].time_ns, .until_ns = f->e[70].time_ns};
    check_query(f, &c);
    audit_filter d = {.requester = actors[1], .limit = 5};
    check_query(f, &d);
    audit_filter e = {.limit = 1};
    check_query(f, &e);
}

static int stop_after_two(const audit_record *r, void *arg)
{
    (void)r;
    return ++*(int *)arg == 2;
}

static void test_query_stop_and_bad_filter(void **state)
{
    fixture *f = *state;
    int n = 0;
    ecl_err err;
    assert_int_equal(audit_query(f->log, NULL, stop_after_two, &n, &err), 0);
    assert_int_equal(n, 2);
    audit_filter q = {.since_ns = 200, .until_ns = 100};
    assert_int_equal(audit_query(f->log, &q, stop_after_two, &n, &err), -1);
    assert_int_equal(err.code, ECL_E_USAGE);
    assert_non_null(strstr(err.msg, "since"));
    char longv[300];
    memset(longv, 'a', sizeof(longv) - 1);
    longv[sizeof(longv) - 1] = '\0';
    audit_filter l = {.dataset = longv};
    assert_int_equal(audit_query(f->log, &l, stop_after_two, &n, &err), -1);
    assert_int_equal(err.code, ECL_E_USAGE);
    assert_non_null(strstr(err.msg, "dataset"));
}

/* Every rule of audit.h, each refused with ECL_E_USAGE naming the field. */
static void expect_refused(audit_log *log, const audit_entry *e, const char *needle)
{
    ecl_err err;
    uint64_t count0, count1, seq = 0;
    assert_int_equal(audit_head(log, &count0, NULL, &err), 0);
    assert_int_equal(audit_append(log, e, &seq, &err), -1);
    assert_int_equal(err.code, ECL_E_USAGE);
    if (strstr(err.msg, needle) == NULL)
        fail_msg("message '%s' does not name '%s'", err.msg, needle);
    assert_int_equal(audit_head(log, &count1, NULL, &err), 0);
    assert_int_equal(count0, count1); /* nothing written */
}

static void test_entry_validation(void **state)
{
    fixture *f = *state;
    json_t *reasons = json_pack("{s:[s]}", "reasons", "x");
    json_t *arr = json_pack("[i]", 1);
    json_t *end_bad = json_pack("{s:i,s:i,s:s,s:s}", "bytes_sent", -1, "chunks", 1, "digest", "d",
                                "outcome", "complete");
    audit_entry base = {.kind = "access",
                        .actor = actors[0],
                        .dataset = "fi/cohort",
                        .purpose = "DUO:0000007",
                        .decision = "deny",
                        .detail = reasons};
    audit_entry e = base;
    e.actor = NULL;
    expect_refused(f->log, &e, "'actor'");
    e = base;
    e.kind = "";
    expect_refused(f->log, &e, "'kind'");
    e = base;
    e.kind = "delete-everything";
    expect_refused(f->log, &e, "unknown kind");
    e = base;
    e.decision = "maybe";
    expect_refused(f->log, &e, "'decision'");
    e = base;
    e.decision = "permit"; /* a permit needs its grant */
    expect_refused(f->log, &e, "'grant_id'");
    e = base;
    e.dataset = NULL;
    expect_refused(f->log, &e, "'dataset'");
    e = base;
    e.detail = NULL;
    expect_refused(f->log, &e, "detail.reasons");
    e = base;
    e.detail = arr;
    expect_refused(f->log, &e, "'detail'");
    e = base;
    e.purpose = "bad\xff\xfe utf8";
    expect_refused(f->log, &e, "'purpose': not valid UTF-8");
    e = base;
    e.lawful_basis = "\xed\xa0\x80"; /* a UTF-16 surrogate in UTF-8 */
    expect_refused(f->log, &e, "'lawful_basis'");
    char longv[300];
    memset(longv, 'g', sizeof(longv) - 1);
    longv[sizeof(longv) - 1] = '\0';
    e = base;
    e.grant_id = longv;
    expect_refused(f->log, &e, "'grant_id': 299 bytes");
    audit_entry rs = {.kind = "read-start",
                      .actor = actors[0],
                      .dataset = "fi/cohort",
                      .grant_id = "g",
                      .read_id = "r",
                      .detail = reasons};
    expect_refused(f->log, &rs, "detail.tensors");
    audit_entry re = {.kind = "read-end",
                      .actor = actors[0],
                      .dataset = "fi/cohort",
                      .read_id = "r",
                      .detail = end_bad};
    expect_refused(f->log, &re, "detail.bytes_sent");
    re.read_id = NULL;
    expect_refused(f->log, &re, "'read_id'");
    json_decref(reasons);
    json_decref(arr);
    json_decref(end_bad);
}

static int count_rec(const audit_record *r, void *arg)
{
    (void)r;
    (*(size_t *)arg)++;
    return 0;
}

typedef struct tstate {
    audit_log *log;
    int id;
    uint64_t seqs[200];
} tstate;

static void *appender(void *arg)
{
    tstate *t = arg;
    char actor[64];
    snprintf(actor, sizeof(actor), "spiffe://fi/researcher/t%d", t->id);
    for (int i = 0; i < 200; i++)
        t->seqs[i] = tu_append(t->log, AUDIT_KIND_ADMIN, actor, NULL, NULL, NULL, NULL, 0);
    return NULL;
}

/* Eight threads at once: every seq handed out once, all entries there, and
 * each thread's entries in its own order. */
static void test_concurrent_appends(void **state)
{
    (void)state;
    char dir[512];
    tu_tmpdir(dir, sizeof(dir));
    audit_log *log;
    audit_options o = {.group_deadline_us = 200};
    ecl_err err;
    assert_int_equal(audit_open(dir, &o, &log, &err), 0);
    tstate t[8];
    pthread_t th[8];
    for (int i = 0; i < 8; i++) {
        t[i].log = log;
        t[i].id = i;
        assert_int_equal(pthread_create(&th[i], NULL, appender, &t[i]), 0);
    }
    for (int i = 0; i < 8; i++)
        pthread_join(th[i], NULL);
    static unsigned char seen[1601];
    memset(seen, 0, sizeof(seen));
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 200; j++) {
            uint64_t s = t[i].seqs[j];
            assert_true(s >= 1 && s <= 1600);
            assert_int_equal(seen[s], 0);
            seen[s] = 1;
            if (j > 0)
                assert_true(s > t[i].seqs[j - 1]);
        }
    uint64_t count;
    assert_int_equal(audit_head(log, &count, NULL, &err), 0);
    assert_int_equal(count, 1600);
    audit_verify_report rep;
    assert_int_equal(audit_verify(log, &rep, &err), 0);
    assert_int_equal(rep.entries, 1600);
    audit_filter q = {.requester = "spiffe://fi/researcher/t3"};
    size_t n = 0;
    assert_int_equal(audit_query(log, &q, count_rec, &n, &err), 0);
    assert_int_equal(n, 200);
    audit_close(log);
    tu_rmrf(dir);
}

/* Entries survive close and reopen; appends go on from the stored head. */
static void test_reopen_continues(void **state)
{
    fixture *f = *state;
    audit_close(f->log);
    f->log = tu_open(f->dir);
    uint64_t seq = tu_append(f->log, AUDIT_KIND_PEER, actors[2], NULL, NULL, NULL, NULL, 0);
    assert_int_equal(seq, N + 1);
    size_t n = 0;
    ecl_err err;
    audit_filter q = {.kind = "peer"};
    assert_int_equal(audit_query(f->log, &q, count_rec, &n, &err), 0);
    assert_int_equal(n, 1);
    audit_verify_report rep;
    assert_int_equal(audit_verify(f->log, &rep, &err), 0);
    assert_int_equal(rep.entries, N + 1);
}

/* A directory holding another format is refused, not overwritten. */
static void test_foreign_format_refused(void **state)
{
    fixture *f = *state;
    audit_close(f->log);
    f->log = NULL;
    tu_raw r;
    tu_raw_begin(&r, f->dir, "meta");
    MDB_val k = {6, "format"}, v = {8, "other-v9"};
    assert_int_equal(mdb_put(r.txn, r.dbi, &k, &v, 0), 0);
    tu_raw_commit(&r);
    audit_log *log = NULL;
    ecl_err err;
    assert_int_equal(audit_open(f->dir, NULL, &log, &err), -1);
    assert_null(log);
    assert_int_equal(err.code, ECL_E_INPUT);
    assert_non_null(strstr(err.msg, "meta 'format' is 'other-v9'"));
    assert_non_null(strstr(err.msg, f->dir));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_query_all_and_times, setup, teardown),
        cmocka_unit_test_setup_teardown(test_query_each_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_query_combined, setup, teardown),
        cmocka_unit_test_setup_teardown(test_query_stop_and_bad_filter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_entry_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_continues, setup, teardown),
        cmocka_unit_test(test_concurrent_appends),
        cmocka_unit_test_setup_teardown(test_foreign_format_refused, setup, teardown),
    };
    return cmocka_run_group_tests_name("audit_append_query", tests, NULL, NULL);
}
