/*
 * bad_peer_test.c - peers that never answer, and peers that answer garbage.
 *
 * FI peers with LU and DE. Then LU's gateway is replaced, on its address, by
 * a socket that accepts connections and never says a word, and DE's by one
 * that answers every connection with random bytes. FI must give up on each
 * within its peer deadline with an error that says so, keep the catalogs it
 * verified before, and go on serving its own people all the while.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/support/harness.h"

static char root[PATH_MAX - 200];
static char out[64 * 1024];

typedef struct bad_listener {
    int fd;
    int garbage; /* 0: accept and stay silent; 1: send random bytes */
    volatile int stop;
    pthread_t thread;
    int held[64];
    int n_held;
} bad_listener;

static void *listen_main(void *arg)
{
    bad_listener *b = arg;
    while (!b->stop) {
        fd_set set;
        FD_ZERO(&set);
        FD_SET(b->fd, &set);
        struct timeval tv = {0, 100 * 1000};
        if (select(b->fd + 1, &set, NULL, NULL, &tv) <= 0)
            continue;
        int c = accept(b->fd, NULL, NULL);
        if (c < 0)
            continue;
        if (b->garbage) {
            unsigned char junk[4096];
            randombytes_buf(junk, sizeof(junk));
            ssize_t ignored = write(c, junk, sizeof(junk));
            (void)ignored;
            close(c);
        } else if (b->n_held < 64) {
            b->held[b->n_held++] = c; /* keep it open, say nothing */
        } else {
            close(c);
        }
    }
    return NULL;
}

static void start_bad(bad_listener *b, int port, int garbage)
{
    memset(b, 0, sizeof(*b));
    b->garbage = garbage;
    b->fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(b->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(b->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(b->fd, 64), 0);
    assert_int_equal(pthread_create(&b->thread, NULL, listen_main, b), 0);
}

static void stop_bad(bad_listener *b)
{
    b->stop = 1;
    pthread_join(b->thread, NULL);
    for (int i = 0; i < b->n_held; i++)
        close(b->held[i]);
    close(b->fd);
}

static void set_peer_timeout_ms(const th_site *s, int ms)
{
    char cmd[4 * PATH_MAX];
    snprintf(cmd, sizeof(cmd),
             "sed -i 's/\"peer_timeout_ms\": [0-9]*/\"peer_timeout_ms\": %d/' '%s'", ms, s->config);
    assert_int_equal(system(cmd), 0);
}

static void publish(const th_site *s, const char *admin, const char *name)
{
    char csv[PATH_MAX + 64], policy[PATH_MAX + 64];
    snprintf(csv, sizeof(csv), "%s/%s.csv", root, name);
    snprintf(policy, sizeof(policy), "%s/%s.json", root, name);
    FILE *f = fopen(csv, "w");
    fputs("1,2,0\n3,4,1\n", f);
    fclose(f);
    f = fopen(policy, "w");
    fprintf(f,
            "{\"ecluse_policy\": 1, \"dataset\": \"%s/%s\", \"category\": \"anonymous\", "
            "\"purposes\": {\"allowed\": [\"NRES\"]}, \"tensors\": [{\"name\": \"features\"}, "
            "{\"name\": \"labels\"}], \"minimisation\": {\"default\": {\"tensors\": "
            "[\"features\", \"labels\"], \"max_rows\": 2}}, \"storage\": {\"max_grant_days\": "
            "9}}\n",
            s->id, name);
    fclose(f);
    assert_int_equal(th_run(out, sizeof(out), "dataset", "add", name, "--from", csv,
                            "--label-column", "-1", "--title", name, "--description", "test data",
                            "--policy", policy, "--identity", admin, NULL),
                     0);
}

typedef struct health_loop {
    const char *identity;
    volatile int stop;
    int ok, failed;
} health_loop;

static void *health_main(void *arg)
{
    health_loop *h = arg;
    char buf[4096];
    while (!h->stop) {
        if (th_run(buf, sizeof(buf), "health", "--identity", h->identity, NULL) == 0)
            h->ok++;
        else
            h->failed++;
    }
    return NULL;
}

static void test_silent_and_garbage_peers_fail_fast_and_harm_nothing(void **state)
{
    (void)state;
    th_tmpdir(root, sizeof(root));
    th_site fi, lu, de;
    char fi_admin[PATH_MAX], fi_res[PATH_MAX], lu_admin[PATH_MAX], de_admin[PATH_MAX];
    th_site_create(&fi, root, "fi", "FI");
    th_site_create(&lu, root, "lu", "LU");
    th_site_create(&de, root, "de", "DE");
    th_issue(&fi, "admin", "adm", fi_admin, sizeof(fi_admin));
    th_issue(&fi, "researcher", "res", fi_res, sizeof(fi_res));
    th_issue(&lu, "admin", "adm", lu_admin, sizeof(lu_admin));
    th_issue(&de, "admin", "adm", de_admin, sizeof(de_admin));
    set_peer_timeout_ms(&fi, 1500);
    th_gateway_start(&fi);
    th_gateway_start(&lu);
    th_gateway_start(&de);
    th_peer(&fi, fi_admin, &lu, lu_admin);
    th_peer(&fi, fi_admin, &de, de_admin);
    publish(&lu, lu_admin, "lu-data");
    publish(&de, de_admin, "de-data");
    assert_int_equal(th_run(out, sizeof(out), "catalog", "refresh", "--identity", fi_res, NULL), 0);
    assert_non_null(strstr(out, "lu         catalog version 2 verified"));
    assert_non_null(strstr(out, "de         catalog version 2 verified"));

    /* LU falls silent and DE talks nonsense, on the addresses FI knows. */
    assert_int_equal(th_gateway_stop(&lu, NULL), 0);
    assert_int_equal(th_gateway_stop(&de, NULL), 0);
    bad_listener silent, garbage;
    start_bad(&silent, lu.port, 0);
    start_bad(&garbage, de.port, 1);

    health_loop h = {fi_res, 0, 0, 0};
    pthread_t ht;
    assert_int_equal(pthread_create(&ht, NULL, health_main, &h), 0);
    double t0 = th_now();
    assert_int_equal(th_run(out, sizeof(out), "catalog", "refresh", "--identity", fi_res, NULL), 0);
    double took = th_now() - t0;
    h.stop = 1;
    pthread_join(ht, NULL);
    fprintf(stderr, "refresh with a silent and a garbage peer took %.2f s:\n%s", took, out);
    assert_non_null(strstr(out, "lu         refused:"));
    assert_non_null(strstr(out, "de         refused:"));
    assert_non_null(strstr(out, "still using version 2"));
    /* Both peers within the deadline (1.5 s each, fetched one after the other). */
    assert_true(took < 10.0 * th_time_scale());
    /* FI served its own people the whole time. */
    assert_true(h.ok > 0);
    assert_int_equal(h.failed, 0);
    /* What was verified before is still listed. */
    assert_int_equal(th_run(out, sizeof(out), "catalog", "list", "--identity", fi_res, NULL), 0);
    assert_non_null(strstr(out, "lu/lu-data"));
    assert_non_null(strstr(out, "de/de-data"));
    /* An access request for a silent peer's data ends within the deadline too. */
    t0 = th_now();
    assert_int_equal(th_run(out, sizeof(out), "access", "check", "lu/lu-data", "--purpose", "GRU",
                            "--basis", "art6-1-e", "--job-country", "FI", "--identity", fi_res,
                            NULL),
                     8);
    assert_true(th_now() - t0 < 5.0 * th_time_scale());
    assert_non_null(strstr(out, "site 'lu'"));

    stop_bad(&silent);
    stop_bad(&garbage);
    assert_int_equal(th_gateway_stop(&fi, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_silent_and_garbage_peers_fail_fast_and_harm_nothing),
    };
    return cmocka_run_group_tests_name("bad peers", tests, NULL, NULL);
}
