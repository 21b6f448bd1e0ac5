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
#include "gateway/sitekey.h"
#include "store/writer.h"
#include "tests/support/harness.h"

#define SIDE 4096 /* a 4096 x 4096 U8 tensor: 16 MiB */

static char root[PATH_MAX - 200];
static char out[64 * 1024];

static void write_dataset(const char *path)
{
    unsigned char *data = malloc((size_t)SIDE * SIDE);
    randombytes_buf(data, (size_t)SIDE * SIDE);
    uint64_t shape[2] = {SIDE, SIDE};
    store_writer *w = NULL;
    ecl_err err;
    assert_int_equal(store_writer_new(&w, &err), 0);
    assert_int_equal(
        store_writer_add(w, "x", STORE_DT_U8, 2, shape, data, (uint64_t)SIDE * SIDE, &err), 0);
    assert_int_equal(store_writer_write(w, path, &err), 0);
    store_writer_free(w);
    free(data);
}

static void sign_grant(const char *site_dir, int64_t expires, Ecluse__V1__Grant *g)
{
    char path[2 * PATH_MAX];
    snprintf(path, sizeof(path), "%s/keys/site.key", site_dir);
    site_key key;
    ecl_err err;
    assert_int_equal(site_key_load(path, &key, &err), 0);
    Ecluse__V1__Identity who = ECLUSE__V1__IDENTITY__INIT;
    who.site = "lu";
    who.role = "researcher";
    who.name = "r";
    char *tensors[] = {"x"};
    Ecluse__V1__GrantBody b = ECLUSE__V1__GRANT_BODY__INIT;
    b.grant_id = "0123456789abcdef0123456789abcdef";
    b.dataset = "lu/big";
    b.requester = &who;
    b.purpose = "GRU";
    b.lawful_basis = "art6-1-e";
    b.job_country = "LU";
    b.transfer_basis = "eea";
    b.tensors = tensors;
    b.n_tensors = 1;
    b.max_rows = SIDE;
    b.issued_unix = (int64_t)time(NULL) - 10;
    b.expires_unix = expires;
    assert_int_equal(grant_sign(&key, &b, g, &err), 0);
    site_key_wipe(&key);
}

static void test_a_grant_expiring_mid_stream_stops_it_and_is_audited(void **state)
{
    (void)state;
    th_tmpdir(root, sizeof(root));
    th_site lu;
    char admin[PATH_MAX], res[PATH_MAX], auditor[PATH_MAX], file[PATH_MAX + 32],
        policy[PATH_MAX + 32];
    th_site_create(&lu, root, "lu", "LU");
    th_issue(&lu, "admin", "adm", admin, sizeof(admin));
    th_issue(&lu, "researcher", "r", res, sizeof(res));
    th_issue(&lu, "auditor", "aud", auditor, sizeof(auditor));
    snprintf(file, sizeof(file), "%s/big.safetensors", root);
    snprintf(policy, sizeof(policy), "%s/big-policy.json", root);
    write_dataset(file);
    FILE *f = fopen(policy, "w");
    fputs("{\"ecluse_policy\": 1, \"dataset\": \"lu/big\", \"category\": \"anonymous\", "
          "\"purposes\": {\"allowed\": [\"NRES\"]}, \"tensors\": [{\"name\": \"x\"}], "
          "\"minimisation\": {\"default\": {\"tensors\": [\"x\"], \"max_rows\": 4096}}, "
          "\"storage\": {\"max_grant_days\": 1}}\n",
          f);
    fclose(f);
    th_gateway_start(&lu);
    assert_int_equal(th_run(out, sizeof(out), "dataset", "add", "big", "--from", file, "--title",
                            "16 MiB of noise", "--policy", policy, "--identity", admin, NULL),
                     0);

    Ecluse__V1__Grant grant = ECLUSE__V1__GRANT__INIT;
    sign_grant(lu.dir, (int64_t)time(NULL) + 2, &grant);
    ecl_client *c = NULL;
    ecl_err err;
    assert_int_equal(ecl_client_open(res, NULL, &c, &err), 0);
    ecl_read_opts o = ECL_READ_OPTS_INIT;
    o.chunk_bytes = 4096;
    ecl_read *r = NULL;
    assert_int_equal(ecl_read_open(c, &grant, &o, &r, &err), 0);
    ecl_read_chunk chunk;
    assert_int_equal(ecl_read_next(r, &chunk, &err), 1);
    /* The reader stalls; flow control holds the gateway's sender; the grant
     * runs out. Meanwhile everyone else is served as usual. */
    char other[PATH_MAX];
    th_issue(&lu, "researcher", "other", other, sizeof(other));
    double stall_end = th_now() + 4.0;
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
    while ((rc = ecl_read_next(r, &chunk, &err)) == 1)
        got++;
    assert_int_equal(rc, -1);
    assert_int_equal(err.code, ECL_E_PRECONDITION);
    assert_non_null(strstr(err.msg, "expired during the read"));
    uint64_t position = ecl_read_position(r);
    assert_true(position < (uint64_t)SIDE * SIDE); /* it really stopped early */
    fprintf(stderr, "stream stopped at byte %llu of %d after the grant expired\n",
            (unsigned long long)position, SIDE * SIDE);
    ecl_read_close(r);
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
