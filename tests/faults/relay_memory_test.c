/*
 * relay_memory_test.c - what a relaying gateway holds per stream.
 *
 * An FI researcher reads 64 MiB of LU's data through FI's gateway while the
 * test samples FI's anonymous memory (RssAnon: heap and gRPC's buffers, not
 * files). The relay passes each message on in the pieces it arrived in and
 * its peer channel holds each stream's receive window at 1 MiB, so FI grows
 * by a few chunks, not by gRPC's auto-grown window (58-189 MiB before,
 * docs/streaming.md "Relay memory"). Not timed: only memory is checked.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "client/client.h"
#include "client/read.h"
#include "gateway/grant.h"
#include "tests/faults/fixture.h"
#include "tests/support/harness.h"

#define SIDE        8192       /* 64 MiB of U8 */
#define CHUNK_BYTES (4u << 20) /* the default chunk size */
/* The bound per relayed stream: the peer window, the message being read,
 * the one being passed on and its encrypted copy (about 4 chunks) with room
 * for allocator slack. */
#define BOUND_KIB (20 * 1024)

static char root[PATH_MAX - 200];

static long rss_anon_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kib = -1;
    while (f != NULL && fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, "RssAnon:", 8) == 0)
            kib = strtol(line + 8, NULL, 10);
    if (f != NULL)
        fclose(f);
    return kib;
}

typedef struct sampler {
    pid_t pid;
    volatile int stop;
    long peak_kib;
} sampler;

static void *sample_main(void *arg)
{
    sampler *s = arg;
    while (!s->stop) {
        long kib = rss_anon_kib(s->pid);
        if (kib > s->peak_kib)
            s->peak_kib = kib;
        usleep(5 * 1000);
    }
    return NULL;
}

typedef struct counted {
    uint64_t bytes;
} counted;

static int count(const ecl_stream_chunk *c, void *arg)
{
    ((counted *)arg)->bytes += c->len;
    return 0;
}

/* One relayed read of the whole dataset, every chunk verified and dropped. */
static uint64_t relayed_read(const char *res, const Ecluse__V1__Grant *g, uint32_t chunk_bytes)
{
    ecl_client *c = NULL;
    ecl_err err;
    assert_int_equal(ecl_client_open(res, NULL, &c, &err), 0);
    ecl_stream_opts o = ECL_STREAM_OPTS_INIT;
    o.chunk_bytes = chunk_bytes;
    ecl_stream *r = NULL;
    counted n = {0};
    if (ecl_stream_open(c, g, &o, &r, &err) != 0 || ecl_stream_each(r, count, &n, &err) != 0)
        fail_msg("relayed read: %s", err.msg);
    ecl_stream_close(r);
    ecl_client_close(c);
    return n.bytes;
}

static void test_a_relayed_read_holds_a_few_chunks(void **state)
{
    (void)state;
    /* Under valgrind (slowed down: publishing and verifying 64 MiB took
     * most of 20 minutes on a busy machine), 25 MiB in 1 MiB chunks. */
    int slow = th_time_scale() > 1.0;
    uint64_t side = slow ? 5120 : SIDE;
    uint32_t chunk = slow ? 1u << 20 : CHUNK_BYTES;
    /* AddressSanitizer keeps freed blocks in quarantine (256 MiB); the
     * gateways started from here inherit this, so freed is freed. */
    if (getenv("ECLUSE_SANITIZED") != NULL) {
        char opts[512];
        const char *was = getenv("ASAN_OPTIONS");
        snprintf(opts, sizeof(opts), "%s%squarantine_size_mb=0", was ? was : "", was ? ":" : "");
        setenv("ASAN_OPTIONS", opts, 1);
    }
    th_tmpdir(root, sizeof(root));
    th_site fi, lu;
    char fi_admin[PATH_MAX], lu_admin[PATH_MAX], res[PATH_MAX];
    th_site_create(&fi, root, "fi", "FI");
    th_site_create(&lu, root, "lu", "LU");
    th_issue(&fi, "admin", "adm", fi_admin, sizeof(fi_admin));
    th_issue(&fi, "researcher", "r", res, sizeof(res));
    th_issue(&lu, "admin", "adm", lu_admin, sizeof(lu_admin));
    th_gateway_start(&fi);
    th_gateway_start(&lu);
    th_peer(&fi, fi_admin, &lu, lu_admin);
    fx_publish_noise(&lu, lu_admin, root, "noise", side);
    Ecluse__V1__Grant grant = ECLUSE__V1__GRANT__INIT;
    fx_grant(&lu, "noise", "fi", "r", side, (int64_t)time(NULL) + 3600, &grant);

    /* A first small read sets up what every relayed read shares (the
     * channel's threads, the audit trail's pages) before the baseline. */
    assert_int_equal(relayed_read(res, &grant, 65536), side * side);
    long idle = rss_anon_kib(fi.pid);
    assert_true(idle > 0);
    sampler s = {fi.pid, 0, idle};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, sample_main, &s), 0);
    assert_int_equal(relayed_read(res, &grant, chunk), side * side);
    s.stop = 1;
    pthread_join(t, NULL);
    long grown = s.peak_kib - idle;
    fprintf(stderr,
            "relaying %llu MiB in %u KiB chunks: FI's RssAnon %ld KiB idle, peak %ld KiB, grew "
            "%ld KiB (bound %d KiB)\n",
            (unsigned long long)(side * side >> 20), chunk >> 10, idle, s.peak_kib, grown,
            BOUND_KIB);
    assert_true(grown < BOUND_KIB);
    grant_clear(&grant);
    assert_int_equal(th_gateway_stop(&fi, NULL), 0);
    assert_int_equal(th_gateway_stop(&lu, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_relayed_read_holds_a_few_chunks),
    };
    return cmocka_run_group_tests_name("relay memory", tests, NULL, NULL);
}
