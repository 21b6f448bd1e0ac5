/*
 * expiry_test.c - a grant that expires in the middle of a long stream.
 *
 * A researcher reads a 16 MiB dataset in 4 KiB chunks and stops reading for
 * longer than the grant has left. While it stalls, another researcher is
 * served as usual. When flow control lets the gateway send again, the grant
 * has expired: the gateway stops the stream with FAILED_PRECONDITION, and
 * its audit trail records how the read ended.
 */
#include <grpc/status.h>
#include <setjmp.h>
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

#define SIDE 4096 /* a 4096 x 4096 U8 tensor: 16 MiB */

static char root[PATH_MAX - 200];
static char out[64 * 1024];

static void test_a_grant_expiring_mid_stream_stops_it_and_is_audited(void **state)
{
    (void)state;
    th_tmpdir(root, sizeof(root));
    th_site lu;
    char admin[PATH_MAX], res[PATH_MAX], auditor[PATH_MAX];
    th_site_create(&lu, root, "lu", "LU");
    th_issue(&lu, "admin", "adm", admin, sizeof(admin));
    th_issue(&lu, "researcher", "r", res, sizeof(res));
    th_issue(&lu, "auditor", "aud", auditor, sizeof(auditor));
    th_gateway_start(&lu);
    fx_publish_noise(&lu, admin, root, "big", SIDE);
    /* The grant lasts long enough to open the stream and read a chunk: 2 s,
     * times ECLUSE_TIME_SCALE under valgrind. */
    int64_t expires = (int64_t)time(NULL) + (int64_t)(2 * th_time_scale());
    Ecluse__V1__Grant grant = ECLUSE__V1__GRANT__INIT;
    fx_grant(&lu, "big", "lu", "r", SIDE, expires, &grant);
    ecl_client *c = NULL;
    ecl_err err;
    assert_int_equal(ecl_client_open(res, NULL, &c, &err), 0);
    ecl_stream_opts o = ECL_STREAM_OPTS_INIT;
    o.chunk_bytes = 4096;
    ecl_stream *r = NULL;
    if (ecl_stream_open(c, &grant, &o, &r, &err) != 0)
        fail_msg("read open: %s", err.msg);
    ecl_stream_chunk chunk;
    if (ecl_stream_next(r, &chunk, &err) != 1)
        fail_msg("first chunk: %s", err.msg);
    /* The reader stalls; flow control holds the gateway's sender; the grant
     * runs out. Meanwhile everyone else is served as usual. The stall lasts
     * 4 s, or until 2 s past the grant's expiry if that is later (valgrind). */
    char other[PATH_MAX];
    th_issue(&lu, "researcher", "other", other, sizeof(other));
    double stall = (double)(expires - (int64_t)time(NULL)) + 2.0;
    double stall_end = th_now() + (stall > 4.0 ? stall : 4.0);
    int served = 0;
    while (th_now() < stall_end) {
        assert_int_equal(th_run(out, sizeof(out), "health", "--identity", other, NULL), 0);
        served++;
        usleep(200 * 1000);
    }
    fprintf(stderr, "%d calls of another researcher served while the reader stalled\n", served);
    assert_true(served >= 3);
    int rc;
    uint64_t got = 0;
    while ((rc = ecl_stream_next(r, &chunk, &err)) == 1)
        got++;
    assert_int_equal(rc, -1);
    assert_int_equal(err.code, ECL_E_PRECONDITION);
    assert_non_null(strstr(err.msg, "expired during the read"));
    uint64_t position = ecl_stream_position(r);
    assert_true(position < (uint64_t)SIDE * SIDE); /* it really stopped early */
    fprintf(stderr, "stream stopped at byte %llu of %d after the grant expired\n",
            (unsigned long long)position, SIDE * SIDE);
    ecl_stream_close(r);
    ecl_client_close(c);
    grant_clear(&grant);

    /* The trail says how the read ended. */
    assert_int_equal(th_run(out, sizeof(out), "audit", "query", "--kind", "read-end", "--json",
                            "--identity", auditor, NULL),
                     0);
    assert_non_null(strstr(out, "expired during the read"));
    assert_int_equal(th_gateway_stop(&lu, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_grant_expiring_mid_stream_stops_it_and_is_audited),
    };
    return cmocka_run_group_tests_name("grant expiry", tests, NULL, NULL);
}
