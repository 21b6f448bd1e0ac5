/*
 * grant_rotation_test.c - grants across key rotations, and the two ways a
 * grant's signature can be wrong.
 *
 * LU publishes lu/d; LU's researcher and FI's researcher are granted it.
 * LU then rotates its key, twice: both grants still read (directly, and
 * relayed by FI after FI has followed LU's rotations), until they expire:
 * a grant signed by LU's first key that has expired is refused as expired.
 * A grant with one byte of its signature changed is a crypto error
 * (`ecluse fetch` exit 10, "signature does not verify"; the gateway answers
 * a raw Data.Read with FAILED_PRECONDITION and the same words). A grant
 * signed whole by FI's key, or by a key no site has, is "signed by another
 * site" (exit 7), also when FI relays it.
 */
#include <grpc/status.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "client/client.h"
#include "client/read.h"
#include "gateway/grant.h"
#include "rpc/client.h"
#include "rpc/rpc.h"
#include "site/sitekey.h"
#include "tests/support/harness.h"
#include "tests/support/signers.h"

#define OUT_MAX (64 * 1024)

typedef struct site {
    th_site s;
    char admin[PATH_MAX], res[PATH_MAX];
} site;

static char root[PATH_MAX - 200];
static site lu, fi;
static char out[OUT_MAX];
static char lu_grant[PATH_MAX], fi_grant[PATH_MAX]; /* issued before any rotation */
static site_key lu_first_key, fi_key;

static void must(int rc, const char *what)
{
    if (rc != 0)
        fail_msg("%s failed (%d):\n%s", what, rc, out);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void make_site(site *x, const char *id, const char *country)
{
    th_site_create(&x->s, root, id, country);
    th_issue(&x->s, "admin", "adm", x->admin, sizeof(x->admin));
    th_issue(&x->s, "researcher", "res", x->res, sizeof(x->res));
}

static void load_key(const site *x, site_key *key)
{
    char path[2 * PATH_MAX];
    snprintf(path, sizeof(path), "%s/keys/site.key", x->s.dir);
    ecl_err err;
    if (site_key_load(path, key, &err) != 0)
        fail_msg("%s", err.msg);
}

static void request(const site *who, const char *grant)
{
    must(th_run(out, sizeof(out), "access", "request", "lu/d", "--purpose", "GRU", "--basis",
                "art6-1-e", "--job-country", who->s.country, "--save-grant", grant, "--identity",
                who->res, NULL),
         "access request");
}

static int fetch(const site *who, const char *grant, const char *name)
{
    char data[PATH_MAX + 64];
    snprintf(data, sizeof(data), "%s/%s.safetensors", root, name);
    return th_run(out, sizeof(out), "fetch", "--grant", grant, "-o", data, "--no-progress",
                  "--identity", who->res, NULL);
}

static void expect_out(const char *words)
{
    if (strstr(out, words) == NULL)
        fail_msg("expected '%s' in:\n%s", words, out);
}

static Ecluse__V1__Grant *load_grant(const char *path)
{
    Ecluse__V1__Grant *g = NULL;
    ecl_err err;
    if (client_grant_load(path, &g, &err) != 0)
        fail_msg("%s", err.msg);
    return g;
}

static void save_grant(const char *path, const Ecluse__V1__Grant *g)
{
    ecl_err err;
    if (client_grant_save(path, g, &err) != 0)
        fail_msg("%s", err.msg);
}

/* The body of the grant at `from`, re-signed whole with `key` (after
 * `expires_unix` is set, if not 0), saved at `to`. */
static void resign(const char *from, const site_key *key, int64_t expires_unix, const char *to)
{
    Ecluse__V1__Grant *g = load_grant(from);
    Ecluse__V1__GrantBody *b = ecluse__v1__grant_body__unpack(NULL, g->body.len, g->body.data);
    assert_non_null(b);
    if (expires_unix != 0)
        b->expires_unix = expires_unix;
    ProtobufCBinaryData own_key = b->signing_key; /* grant_sign sets and clears it */
    signer *s = ts_signer(key);
    Ecluse__V1__Grant forged = ECLUSE__V1__GRANT__INIT;
    ecl_err err;
    assert_int_equal(grant_sign(s, b, &forged, &err), 0);
    signer_free(s);
    b->signing_key = own_key;
    save_grant(to, &forged);
    grant_clear(&forged);
    ecluse__v1__grant_body__free_unpacked(b, NULL);
    ecluse__v1__grant__free_unpacked(g, NULL);
}

static int setup(void **state)
{
    (void)state;
    th_tmpdir(root, sizeof(root));
    make_site(&lu, "lu", "LU");
    make_site(&fi, "fi", "FI");
    th_gateway_start(&lu.s);
    th_gateway_start(&fi.s);
    th_peer(&lu.s, lu.admin, &fi.s, fi.admin);
    char data[PATH_MAX], policy[PATH_MAX];
    snprintf(data, sizeof(data), "%s/d.csv", root);
    snprintf(policy, sizeof(policy), "%s/d.policy.json", root);
    write_file(data, "5.1,3.5,1.4,0\n4.9,3.0,1.4,0\n6.3,3.3,6.0,2\n5.8,2.7,5.1,2\n");
    write_file(policy,
               "{\"ecluse_policy\": 1, \"dataset\": \"lu/d\", \"category\": \"anonymous\", "
               "\"purposes\": {\"allowed\": [\"NRES\"]}, \"tensors\": [{\"name\": \"features\"}, "
               "{\"name\": \"labels\"}], \"minimisation\": {\"default\": {\"tensors\": "
               "[\"features\", \"labels\"], \"max_rows\": 4}}, \"storage\": "
               "{\"max_grant_days\": 30}}\n");
    must(th_run(out, sizeof(out), "dataset", "add", "d", "--from", data, "--label-column", "-1",
                "--title", "D", "--description", "test data", "--policy", policy, "--identity",
                lu.admin, NULL),
         "dataset add");
    snprintf(lu_grant, sizeof(lu_grant), "%s/lu.grant", root);
    snprintf(fi_grant, sizeof(fi_grant), "%s/fi.grant", root);
    request(&lu, lu_grant);
    request(&fi, fi_grant);
    load_key(&lu, &lu_first_key);
    load_key(&fi, &fi_key);
    rpc_library_init(0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rpc_library_shutdown();
    site_key_wipe(&lu_first_key);
    site_key_wipe(&fi_key);
    int bad = 0;
    if (lu.s.pid != 0 && th_gateway_stop(&lu.s, NULL) != 0)
        bad = 1;
    if (fi.s.pid != 0 && th_gateway_stop(&fi.s, NULL) != 0)
        bad = 1;
    return bad ? -1 : 0;
}

/* FI follows LU's rotations (Catalog.Refresh) and pins LU's newest key. */
static void fi_follows_lu(int rotations)
{
    must(th_run(out, sizeof(out), "catalog", "refresh", "--identity", fi.admin, NULL),
         "catalog refresh at fi");
    char *log = th_read(fi.s.log);
    assert_non_null(log);
    int seen = 0;
    for (const char *p = log; (p = strstr(p, "event=peer.key_rotated")) != NULL; p++)
        seen++;
    free(log);
    if (seen != rotations)
        fail_msg("FI logged %d rotation(s) of LU's key, expected %d", seen, rotations);
}

static void test_grants_issued_before_key_rotations_still_read(void **state)
{
    (void)state;
    must(th_run(out, sizeof(out), "key", "rotate", "--identity", lu.admin, NULL), "key rotate");
    must(fetch(&lu, lu_grant, "lu-1"), "direct fetch after one rotation");
    fi_follows_lu(1);
    must(fetch(&fi, fi_grant, "fi-1"), "relayed fetch after one rotation");

    must(th_run(out, sizeof(out), "key", "rotate", "--identity", lu.admin, NULL), "key rotate 2");
    must(fetch(&lu, lu_grant, "lu-2"), "direct fetch after two rotations");
    fi_follows_lu(2);
    must(fetch(&fi, fi_grant, "fi-2"), "relayed fetch after two rotations");

    /* And grants of the newest key read as ever. */
    char fresh[PATH_MAX + 32];
    snprintf(fresh, sizeof(fresh), "%s/lu-new.grant", root);
    request(&lu, fresh);
    must(fetch(&lu, fresh, "lu-3"), "fetch with a grant of the new key");
}

static void test_a_grant_of_an_earlier_key_still_expires(void **state)
{
    (void)state;
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/lu-expired.grant", root);
    resign(lu_grant, &lu_first_key, (int64_t)time(NULL) - 5, path);
    assert_int_equal(fetch(&lu, path, "lu-expired"), 9);
    expect_out("expired at");
}

/* A raw Data.Read, without the client library's own check of the grant. */
static void raw_read(const site *who, const Ecluse__V1__Grant *g, ecl_err *err)
{
    ecl_client *c = NULL;
    if (ecl_client_open(who->res, NULL, &c, err) != 0)
        fail_msg("client: %s", err->msg);
    Ecluse__V1__ReadRequest req = ECLUSE__V1__READ_REQUEST__INIT;
    req.grant = (Ecluse__V1__Grant *)g;
    rpc_stream *st = NULL;
    int rc = rpc_stream_open(ecl_client_channel(c), "/ecluse.v1.Data/Read", &req.base, 0, &st, err);
    ProtobufCMessage *m = NULL;
    if (rc == 0)
        rc = rpc_stream_next(st, &ecluse__v1__read_message__descriptor, &m, err);
    if (m != NULL)
        protobuf_c_message_free_unpacked(m, NULL);
    rpc_stream_close(st);
    ecl_client_close(c);
    assert_int_equal(rc, -1);
}

static void test_a_changed_signature_does_not_verify(void **state)
{
    (void)state;
    Ecluse__V1__Grant *g = load_grant(lu_grant);
    g->signature.data[g->signature.len / 2] ^= 0x01;
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/lu-tampered.grant", root);
    save_grant(path, g);
    assert_int_equal(fetch(&lu, path, "lu-tampered"), 10);
    expect_out("signature does not verify");
    snprintf(path, sizeof(path), "%s/lu-tampered.safetensors", root);
    assert_int_equal(access(path, F_OK), -1);

    /* The gateway itself, asked without the client's check: the same. */
    ecl_err err;
    raw_read(&lu, g, &err);
    assert_int_equal(err.remote_status, GRPC_STATUS_FAILED_PRECONDITION);
    if (strstr(err.msg, "signature does not verify") == NULL)
        fail_msg("unexpected refusal: %s", err.msg);
    ecluse__v1__grant__free_unpacked(g, NULL);
}

static void test_a_grant_signed_by_another_site_is_refused_as_such(void **state)
{
    (void)state;
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/lu-by-fi.grant", root);
    resign(lu_grant, &fi_key, 0, path);
    assert_int_equal(fetch(&lu, path, "lu-by-fi"), 7);
    expect_out("signed by another site");
    assert_null(strstr(out, "signature does not verify"));

    site_key stranger;
    ecl_err err;
    assert_int_equal(site_key_generate(&stranger, &err), 0);
    snprintf(path, sizeof(path), "%s/lu-by-stranger.grant", root);
    resign(lu_grant, &stranger, 0, path);
    site_key_wipe(&stranger);
    assert_int_equal(fetch(&lu, path, "lu-by-stranger"), 7);
    expect_out("signed by another site");

    /* Relayed: FI checks it against LU's key history before LU hears of it. */
    snprintf(path, sizeof(path), "%s/fi-by-fi.grant", root);
    resign(fi_grant, &fi_key, 0, path);
    assert_int_equal(fetch(&fi, path, "fi-by-fi"), 7);
    expect_out("signed by another site");
    expect_out("not a key of site 'lu'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grants_issued_before_key_rotations_still_read),
        cmocka_unit_test(test_a_grant_of_an_earlier_key_still_expires),
        cmocka_unit_test(test_a_changed_signature_does_not_verify),
        cmocka_unit_test(test_a_grant_signed_by_another_site_is_refused_as_such),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
