/*
 * stall_test.c - the holding site freezes in the middle of a relayed read.
 *
 * An FI researcher reads LU's data through FI's gateway. Mid-stream, LU's
 * gateway process is stopped (SIGSTOP): it holds its connections open and
 * sends nothing. FI must not wait forever: within its peer deadline the
 * researcher gets an error that says the site stalled and where to resume.
 */
#include <setjmp.h>
#include <signal.h>
#include <sodium.h>
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
#include "site/sitekey.h"
#include "store/writer.h"
#include "tests/faults/fixture.h"
#include "tests/support/harness.h"

#define SIDE 4096 /* 16 MiB: more than flow control lets through at once */

static char root[PATH_MAX - 200];
static char out[64 * 1024];

static void test_a_frozen_holding_site_does_not_hang_the_relay(void **state)
{
    (void)state;
    th_tmpdir(root, sizeof(root));
    th_site fi, lu;
    char fi_admin[PATH_MAX], lu_admin[PATH_MAX], res[PATH_MAX], cmd[4 * PATH_MAX];
    th_site_create(&fi, root, "fi", "FI");
    th_site_create(&lu, root, "lu", "LU");
    th_issue(&fi, "admin", "adm", fi_admin, sizeof(fi_admin));
    th_issue(&fi, "researcher", "r", res, sizeof(res));
    th_issue(&lu, "admin", "adm", lu_admin, sizeof(lu_admin));
    snprintf(cmd, sizeof(cmd),
             "sed -i 's/\"peer_timeout_ms\": [0-9]*/\"peer_timeout_ms\": %d/' '%s'",
             (int)(1500 * th_time_scale()), fi.config);
    assert_int_equal(system(cmd), 0);
    th_gateway_start(&fi);
    th_gateway_start(&lu);
    th_peer(&fi, fi_admin, &lu, lu_admin);
    fx_publish_noise(&lu, lu_admin, root, "noise", SIDE);
    Ecluse__V1__Grant grant = ECLUSE__V1__GRANT__INIT;
    fx_grant(&lu, "noise", "fi", "r", SIDE, (int64_t)time(NULL) + 3600, &grant);

    ecl_client *c = NULL;
    ecl_err err;
    assert_int_equal(ecl_client_open(res, NULL, &c, &err), 0);
    ecl_stream_opts o = ECL_STREAM_OPTS_INIT;
    o.chunk_bytes = 16384;
    ecl_stream *r = NULL;
    assert_int_equal(ecl_stream_open(c, &grant, &o, &r, &err), 0);
    ecl_stream_chunk chunk;
    assert_int_equal(ecl_stream_next(r, &chunk, &err), 1);

    assert_int_equal(kill(lu.pid, SIGSTOP), 0); /* LU freezes, connections open */
    double t0 = th_now();
    int rc;
    while ((rc = ecl_stream_next(r, &chunk, &err)) == 1) {
    }
    double waited = th_now() - t0;
    uint64_t position = ecl_stream_position(r);
    fprintf(stderr, "relay gave up %.2f s after LU froze, at byte %llu: %s\n", waited,
            (unsigned long long)position, err.msg);
    assert_int_equal(rc, -1);
    assert_int_equal(err.code, ECL_E_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "site 'lu'"));
    assert_non_null(strstr(err.msg, "stalled"));
    assert_true(waited < 10.0 * th_time_scale());
    assert_true(position < (uint64_t)SIDE * SIDE);
    ecl_stream_close(r);

    /* LU comes back and serves again (resuming a broken read is tested in
     * tests/data: this test is about not hanging). */
    assert_int_equal(kill(lu.pid, SIGCONT), 0);
    assert_int_equal(th_run(out, sizeof(out), "health", "--identity", lu_admin, NULL), 0);
    ecl_client_close(c);
    grant_clear(&grant);
    assert_int_equal(th_gateway_stop(&fi, NULL), 0);
    assert_int_equal(th_gateway_stop(&lu, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_frozen_holding_site_does_not_hang_the_relay),
    };
    return cmocka_run_group_tests_name("stalled peer", tests, NULL, NULL);
}
