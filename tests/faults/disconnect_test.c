/*
 * disconnect_test.c - clients that go away at every stage of a call.
 *
 * Against one gateway, over and over: a TCP connection closed at once, a TLS
 * handshake abandoned half way, a call cancelled before its answer, a
 * stream cancelled after its first chunk. The gateway must keep serving
 * others throughout, hold no more memory after many rounds than after a
 * few, record every abandoned read in its audit trail, and exit
 * cleanly (the sanitizer and valgrind runs check what it freed).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "client/client.h"
#include "client/read.h"
#include "gateway/grant.h"
#include "rpc/client.h"
#include "site/sitekey.h"
#include "store/writer.h"
#include "tests/faults/fixture.h"
#include "tests/support/harness.h"

#define ROUNDS 40
#define SIDE   2048 /* a 2048 x 2048 U8 tensor: 4 MiB */

static char root[PATH_MAX - 200];
static char out[64 * 1024];
static th_site lu;
static char res[PATH_MAX], auditor[PATH_MAX];
static Ecluse__V1__Grant grant = ECLUSE__V1__GRANT__INIT;

static int tcp_connect(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)lu.port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

/* Half a TLS 1.3 ClientHello: a record header promising more than is sent. */
static void abandon_handshake(void)
{
    static const unsigned char partial[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00,
                                            0x01, 0xfc, 0x03, 0x03, 0x11, 0x22, 0x33};
    int fd = tcp_connect();
    ssize_t ignored = write(fd, partial, sizeof(partial));
    (void)ignored;
    close(fd);
}

static void cancel_before_answer(ecl_client *c)
{
    Ecluse__V1__AccessRequest req = ECLUSE__V1__ACCESS_REQUEST__INIT;
    req.dataset = "lu/noise";
    req.purpose = "GRU";
    req.lawful_basis = "art6-1-e";
    req.job_country = "LU";
    rpc_stream *st = NULL;
    ecl_err err;
    if (rpc_stream_open(ecl_client_channel(c), "/ecluse.v1.Access/Check", &req.base, 5000, &st,
                        &err) == 0)
        rpc_stream_close(st); /* cancels if the answer has not come */
}

static void cancel_mid_stream(ecl_client *c)
{
    ecl_stream_opts o = ECL_STREAM_OPTS_INIT;
    o.chunk_bytes = 16384;
    ecl_stream *r = NULL;
    ecl_err err;
    assert_int_equal(ecl_stream_open(c, &grant, &o, &r, &err), 0);
    ecl_stream_chunk chunk;
    assert_int_equal(ecl_stream_next(r, &chunk, &err), 1);
    ecl_stream_close(r); /* gone, mid-stream */
}

/* Under ASan, freed memory waits in a quarantine (256 MiB by default) before
 * it is reused, so a gateway's RSS grows with everything it ever freed. This
 * test measures what the gateway keeps, so its gateway gets a small
 * quarantine; every other test keeps ASan's default. */
static void small_asan_quarantine(void)
{
#ifdef __SANITIZE_ADDRESS__
    const char *old = getenv("ASAN_OPTIONS");
    char opts[1024];
    snprintf(opts, sizeof(opts), "%s%squarantine_size_mb=4", old ? old : "", old ? ":" : "");
    setenv("ASAN_OPTIONS", opts, 1);
    fprintf(stderr, "ASan build: the gateway runs with ASAN_OPTIONS=%s\n", opts);
#endif
}

/* valgrind's memcheck does the same with its queue of freed blocks (20 MB by
 * default, --freelist-vol): under ECLUSE_UNDER (the valgrind stage), this
 * test's ecluse processes get a small one. */
static void small_valgrind_freelist(void)
{
    const char *under = getenv("ECLUSE_UNDER");
    if (under == NULL || strstr(under, "valgrind") == NULL)
        return;
    char opts[2048];
    snprintf(opts, sizeof(opts), "%s --freelist-vol=1000000", under);
    setenv("ECLUSE_UNDER", opts, 1);
    fprintf(stderr, "under valgrind: the gateway runs with ECLUSE_UNDER=%s\n", opts);
}

static void setup_site(void)
{
    small_asan_quarantine();
    small_valgrind_freelist();
    th_tmpdir(root, sizeof(root));
    char admin[PATH_MAX];
    th_site_create(&lu, root, "lu", "LU");
    th_issue(&lu, "admin", "adm", admin, sizeof(admin));
    th_issue(&lu, "researcher", "r", res, sizeof(res));
    th_issue(&lu, "auditor", "aud", auditor, sizeof(auditor));
    th_gateway_start(&lu);
    fx_publish_noise(&lu, admin, root, "noise", SIDE);
    fx_grant(&lu, "noise", "lu", "r", SIDE, (int64_t)time(NULL) + 3600, &grant);
}

static void one_round(ecl_client *c)
{
    close(tcp_connect());
    abandon_handshake();
    cancel_before_answer(c);
    cancel_mid_stream(c);
}

static void test_clients_that_go_away_at_every_stage(void **state)
{
    (void)state;
    setup_site();
    ecl_client *c = NULL, *other = NULL;
    ecl_err err;
    assert_int_equal(ecl_client_open(res, NULL, &c, &err), 0);
    assert_int_equal(ecl_client_open(res, NULL, &other, &err), 0);

    for (int i = 0; i < ROUNDS / 4; i++)
        one_round(c);
    usleep((useconds_t)(300 * 1000 * th_time_scale()));
    long early_kb = th_rss_kb(lu.pid);
    for (int i = ROUNDS / 4; i < ROUNDS; i++) {
        one_round(c);
        /* Someone else is served all along. */
        Ecluse__V1__HealthCheckResponse *h = NULL;
        assert_int_equal(ecl_client_health(other, &h, &err), 0);
        protobuf_c_message_free_unpacked(&h->base, NULL);
    }
    usleep((useconds_t)(300 * 1000 * th_time_scale()));
    long late_kb = th_rss_kb(lu.pid);
    fprintf(stderr, "gateway RSS after %d rounds: %ld KiB, after %d: %ld KiB\n", ROUNDS / 4,
            early_kb, ROUNDS, late_kb);
    /* Thirty more rounds of abandoned calls may not cost more than 8 MiB:
     * nothing per abandoned call is kept. */
    assert_true(late_kb - early_kb < 8 * 1024);

    /* Every abandoned read is on the record. Its outcome is "cancelled", or
     * "complete" when flow control had already taken every byte before the
     * client left (loopback windows can exceed the 4 MiB read): nothing is
     * unrecorded and nothing is recorded as anything else. The last entries
     * are written when the gateway notices the client is gone: wait a little. */
    int ended = 0, cancelled = 0, complete = 0;
    double give_up = th_now() + 10.0 * th_time_scale();
    do {
        assert_int_equal(th_run(out, sizeof(out), "audit", "query", "--kind", "read-end", "--json",
                                "--identity", auditor, NULL),
                         0);
        ended = cancelled = complete = 0;
        for (const char *p = out; (p = strstr(p, "\"kind\":\"read-end\"")) != NULL; p++)
            ended++;
        for (const char *p = out; (p = strstr(p, "\"outcome\":\"cancelled")) != NULL; p++)
            cancelled++;
        char whole[96];
        snprintf(whole, sizeof(whole), "\"bytes_sent\":%d,\"chunks\":256,", SIDE * SIDE);
        for (const char *p = out; (p = strstr(p, whole)) != NULL; p++)
            complete += strncmp(strstr(p, "\"outcome\":"), "\"outcome\":\"complete\"", 20) == 0;
        if (ended < ROUNDS)
            usleep(100 * 1000);
    } while (ended < ROUNDS && th_now() < give_up);
    fprintf(stderr,
            "%d abandoned reads: %d recorded, %d cancelled, %d complete before the "
            "client left\n",
            ROUNDS, ended, cancelled, complete);
    for (char *line = strtok(out, "\n"); cancelled + complete != ROUNDS && line;
         line = strtok(NULL, "\n"))
        if (strstr(line, "\"outcome\":\"cancelled") == NULL)
            fprintf(stderr, "neither cancelled nor complete: %.400s\n", line);
    assert_int_equal(ended, ROUNDS);
    assert_int_equal(cancelled + complete, ROUNDS);
    assert_true(cancelled > 0);
    assert_true(th_file_contains(lu.log, "status=UNAVAILABLE") ||
                th_file_contains(lu.log, "client went away"));

    ecl_client_close(c);
    ecl_client_close(other);
    grant_clear(&grant);
    assert_int_equal(th_gateway_stop(&lu, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clients_that_go_away_at_every_stage),
    };
    return cmocka_run_group_tests_name("disconnects", tests, NULL, NULL);
}
