/*
 * notify_test.c - peers see a site's changes in seconds, through change
 * notices (Federation.NotifyChanged), with nobody running `catalog refresh`.
 *
 * LU and DE are real gateways on loopback, peered both ways, each pulling
 * the other's catalog only once an hour (catalog_refresh_seconds 3600): only
 * a notice can explain a change seen within 2 s. A dataset added, removed,
 * re-added with another policy and a key rotation each reach DE at once.
 * Notices from anyone but a peer's gateway are refused and pull nothing; a
 * peer's notice with nothing new changes nothing. With DE down, LU's
 * notices and pulls back off; when DE comes back, one pull catches it up.
 */
#include <grpc/status.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "proto/ecluse.pb-c.h"
#include "rpc/client.h"
#include "rpc/server.h"
#include "site/pki.h"
#include "tests/support/harness.h"

#define OUT_MAX (64 * 1024)

typedef struct site {
    th_site s;
    char admin[PATH_MAX], researcher[PATH_MAX];
} site;

static char root[PATH_MAX - 200];
static site lu, de, fi; /* fi: a third site, peered with nobody */
static char out[OUT_MAX];
static int library_ready; /* rpc_library_init ran: teardown must shut it down */

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

/* Pull each peer only once an hour: notices alone make changes fast. */
static void slow_refresh(const site *x)
{
    json_error_t jerr;
    json_t *cfg = json_load_file(x->s.config, 0, &jerr);
    assert_non_null(cfg);
    json_t *fed = json_object_get(cfg, "federation");
    if (fed == NULL) {
        fed = json_object();
        json_object_set_new(cfg, "federation", fed);
    }
    json_object_set_new(fed, "catalog_refresh_seconds", json_integer(3600));
    assert_int_equal(json_dump_file(cfg, x->s.config, JSON_INDENT(2)), 0);
    json_decref(cfg);
}

static void make_site(site *x, const char *id, const char *country)
{
    th_site_create(&x->s, root, id, country);
    th_issue(&x->s, "admin", "adm", x->admin, sizeof(x->admin));
    th_issue(&x->s, "researcher", "res", x->researcher, sizeof(x->researcher));
    slow_refresh(x);
}

/* Lines of `x`'s gateway log that contain `needle`. */
static int log_count(const site *x, const char *needle)
{
    char *text = th_read(x->s.log);
    int n = 0;
    for (const char *p = text; p != NULL && (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    free(text);
    return n;
}

/* Wait (scaled for valgrind) until `x`'s log has `n` lines with `needle`. */
static void wait_log(const site *x, const char *needle, int n, double seconds)
{
    double give_up = th_now() + seconds * th_time_scale();
    while (log_count(x, needle) < n) {
        if (th_now() > give_up) {
            char *text = th_read(x->s.log);
            fail_msg("%s's log has %d line(s) with \"%s\" after %.0f s, wanted %d:\n%s", x->s.id,
                     log_count(x, needle), needle, seconds * th_time_scale(), n, text);
        }
        usleep(20 * 1000);
    }
}

static void publish(const char *name, const char *purpose)
{
    char csv[PATH_MAX + 64], policy[PATH_MAX + 64], text[1024];
    snprintf(csv, sizeof(csv), "%s/%s.csv", root, name);
    snprintf(policy, sizeof(policy), "%s/%s.policy.json", root, name);
    write_file(csv, "5.1,3.5,1.4,0\n4.9,3.0,1.4,0\n6.3,3.3,6.0,2\n5.8,2.7,5.1,2\n");
    snprintf(text, sizeof(text),
             "{\"ecluse_policy\": 1, \"dataset\": \"lu/%s\", \"category\": \"anonymous\", "
             "\"purposes\": {\"allowed\": [\"%s\"]}, \"tensors\": [{\"name\": \"features\"}, "
             "{\"name\": \"labels\"}], \"minimisation\": {\"default\": {\"tensors\": "
             "[\"features\", \"labels\"], \"max_rows\": 4}}, \"storage\": {\"max_grant_days\": "
             "30}}\n",
             name, purpose);
    write_file(policy, text);
    must(th_run(out, sizeof(out), "dataset", "add", name, "--from", csv, "--label-column", "-1",
                "--title", "Iris", "--description", "test data", "--licence", "CC-BY-4.0",
                "--policy", policy, "--identity", lu.admin, NULL),
         "dataset add");
}

/* 1 if `cmd` at DE (as its researcher) prints `needle`, for `id` if set. */
static int de_says(const char *cmd, const char *id, const char *needle)
{
    int rc = id != NULL
                 ? th_run(out, sizeof(out), "catalog", cmd, id, "--identity", de.researcher, NULL)
                 : th_run(out, sizeof(out), "catalog", cmd, "--identity", de.researcher, NULL);
    return rc == 0 && strstr(out, needle) != NULL;
}

/* DE shows (or, with `shown` 0, no longer shows) `needle` within 2 s
 * (scaled), with nobody asking it to refresh. */
static void de_within_2s(const char *cmd, const char *id, const char *needle, int shown)
{
    double start = th_now(), give_up = start + 2.0 * th_time_scale();
    while (de_says(cmd, id, needle) != shown) {
        if (th_now() > give_up)
            fail_msg("DE still %s \"%s\" %.1f s after the change at LU:\n%s",
                     shown ? "does not show" : "shows", needle, th_now() - start, out);
        usleep(20 * 1000);
    }
}

/* The version in the last "catalog.accepted site=lu" line of DE's log. */
static long last_accepted_version(void)
{
    static const char tag[] = "event=catalog.accepted site=lu version=";
    char *text = th_read(de.s.log);
    const char *last = NULL;
    for (const char *p = text; p != NULL && (p = strstr(p, tag)) != NULL; p += strlen(tag))
        last = p;
    long v = last != NULL ? strtol(last + strlen(tag), NULL, 10) : -1;
    free(text);
    return v;
}

/* Federation.NotifyChanged at DE, presenting `cert`/`key`. */
static int notify_de_as(const char *cert_path, const char *key_path, int *scheduled, ecl_err *err)
{
    char de_ca[2 * PATH_MAX];
    snprintf(de_ca, sizeof(de_ca), "%s/ca/ca.crt", de.s.dir);
    char *ca = th_read(de_ca), *cert = th_read(cert_path), *key = th_read(key_path);
    assert_non_null(ca);
    assert_non_null(cert);
    assert_non_null(key);
    char target[64];
    snprintf(target, sizeof(target), "127.0.0.1:%d", de.s.port);
    rpc_channel_options o = {target, ca, cert, key, "spiffe://de/gateway", 0};
    rpc_channel *ch = NULL;
    assert_int_equal(rpc_channel_open(&o, &ch, err), 0);
    Ecluse__V1__ChangeNotice req = ECLUSE__V1__CHANGE_NOTICE__INIT;
    req.catalog_version = 999; /* a hint only: nothing trusts it */
    ProtobufCMessage *resp = NULL;
    int rc = rpc_unary(ch, "/ecluse.v1.Federation/NotifyChanged", &req.base,
                       &ecluse__v1__change_notice_reply__descriptor, &resp,
                       (int)(10000 * th_time_scale()), err);
    if (rc == 0) {
        *scheduled = ((Ecluse__V1__ChangeNoticeReply *)resp)->pull_scheduled;
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    rpc_channel_close(ch);
    free(ca);
    free(cert);
    free(key);
    return rc;
}

static int setup(void **state)
{
    (void)state;
    th_tmpdir(root, sizeof(root));
    make_site(&lu, "lu", "LU");
    make_site(&de, "de", "DE");
    make_site(&fi, "fi", "FI");
    th_gateway_start(&lu.s);
    th_gateway_start(&de.s);
    rpc_library_init(0);
    library_ready = 1;
    /* LU adds DE first: LU's pull of DE is refused until DE adds LU, and
     * DE's notice on adding LU has LU pull again at once. */
    th_peer(&lu.s, lu.admin, &de.s, de.admin);
    wait_log(&lu, "event=catalog.accepted site=de", 1, 5);
    wait_log(&de, "event=catalog.accepted site=lu", 1, 5);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    th_gateway_stop(&lu.s, NULL);
    th_gateway_stop(&de.s, NULL);
    if (library_ready)
        rpc_library_shutdown();
    return 0;
}

static void test_a_dataset_added_at_lu_is_listed_at_de_within_2s(void **state)
{
    (void)state;
    publish("iris", "NRES");
    de_within_2s("list", NULL, "lu/iris", 1);
    if (log_count(&de, "event=catalog.refused") != 0)
        fail_msg("DE refused a catalog of LU's:\n%s", th_read(de.s.log));
}

static void test_a_removal_reaches_de_within_2s(void **state)
{
    (void)state;
    publish("gone", "NRES");
    de_within_2s("list", NULL, "lu/gone", 1);
    must(th_run(out, sizeof(out), "dataset", "remove", "lu/gone", "--identity", lu.admin, NULL),
         "dataset remove");
    de_within_2s("list", NULL, "lu/gone", 0);
    assert_true(de_says("list", NULL, "lu/iris"));
}

static void test_a_policy_change_reaches_de_within_2s(void **state)
{
    (void)state;
    publish("policy", "NRES");
    de_within_2s("show", "lu/policy", "NRES", 1);
    must(th_run(out, sizeof(out), "dataset", "remove", "lu/policy", "--identity", lu.admin, NULL),
         "dataset remove");
    publish("policy", "GRU");
    /* DE may see the removal and the re-addition as one change or two:
     * either way it ends with the new policy. */
    de_within_2s("show", "lu/policy", "GRU", 1);
    assert_null(strstr(out, "NRES"));
}

static void test_after_a_key_rotation_de_follows_at_once_and_cosigns(void **state)
{
    (void)state;
    int accepted = log_count(&de, "event=catalog.accepted site=lu");
    must(th_run(out, sizeof(out), "key", "rotate", "--identity", lu.admin, NULL), "key rotate");
    /* The notice has DE pull LU's catalog, now signed with the new key, and
     * follow the rotation that explains it. */
    wait_log(&de, "event=peer.key_rotated site=lu", 1, 2);
    wait_log(&de, "event=catalog.accepted site=lu", accepted + 1, 2);
    must(th_run(out, sizeof(out), "audit", "checkpoint", "--identity", lu.admin, NULL),
         "audit checkpoint");
    assert_non_null(strstr(out, "1 of 1 peer(s) cosigned it"));
    publish("after-rotation", "NRES");
    de_within_2s("list", NULL, "lu/after-rotation", 1);
    assert_int_equal(log_count(&de, "event=catalog.refused"), 0);
}

static void issue_with_lu_ca(const char *spiffe, const char *name, char *cert, char *key,
                             size_t cap)
{
    char ca_cert[2 * PATH_MAX], ca_key[2 * PATH_MAX];
    snprintf(ca_cert, sizeof(ca_cert), "%s/ca/ca.crt", lu.s.dir);
    snprintf(ca_key, sizeof(ca_key), "%s/ca/ca.key", lu.s.dir);
    X509 *ca = NULL, *leaf = NULL;
    EVP_PKEY *cak = NULL, *lk = NULL;
    ecl_err err;
    assert_int_equal(pki_load_cert(ca_cert, &ca, &err), 0);
    assert_int_equal(pki_load_key(ca_key, &cak, &err), 0);
    pki_leaf_request req = {spiffe, NULL, 0, 1};
    assert_int_equal(pki_issue(ca, cak, &req, &leaf, &lk, &err), 0);
    snprintf(cert, cap, "%s/%s.crt", root, name);
    snprintf(key, cap, "%s/%s.key", root, name);
    assert_int_equal(pki_write_cert(cert, leaf, &err), 0);
    assert_int_equal(pki_write_key(key, lk, &err), 0);
    X509_free(ca);
    X509_free(leaf);
    EVP_PKEY_free(cak);
    EVP_PKEY_free(lk);
}

static void test_notices_from_anyone_but_a_peer_are_refused_and_pull_nothing(void **state)
{
    (void)state;
    char cert[2 * PATH_MAX], key[2 * PATH_MAX];
    ecl_err err;
    int scheduled = -1;
    int pulls = log_count(&de, "event=catalog.accepted") + log_count(&de, "event=catalog.refused");

    /* FI's real gateway: FI is nobody's peer, so DE does not even trust its CA. */
    snprintf(cert, sizeof(cert), "%s/gateway/gateway.crt", fi.s.dir);
    snprintf(key, sizeof(key), "%s/gateway/gateway.key", fi.s.dir);
    assert_int_equal(notify_de_as(cert, key, &scheduled, &err), -1);
    assert_int_not_equal(err.remote_status, GRPC_STATUS_OK);

    /* A certificate from a peer's CA (LU's) claiming to be FI's gateway. */
    issue_with_lu_ca("spiffe://fi/gateway", "forged-fi", cert, key, sizeof(cert));
    assert_int_equal(notify_de_as(cert, key, &scheduled, &err), -1);
    assert_int_equal(err.remote_status, GRPC_STATUS_PERMISSION_DENIED);
    assert_non_null(strstr(err.msg, "site 'fi' is not a peer of this gateway"));

    /* People: DE's own researcher, and LU's. */
    snprintf(cert, sizeof(cert), "%s/cert.pem", de.researcher);
    snprintf(key, sizeof(key), "%s/key.pem", de.researcher);
    assert_int_equal(notify_de_as(cert, key, &scheduled, &err), -1);
    assert_int_equal(err.remote_status, GRPC_STATUS_PERMISSION_DENIED);
    snprintf(cert, sizeof(cert), "%s/cert.pem", lu.researcher);
    snprintf(key, sizeof(key), "%s/key.pem", lu.researcher);
    assert_int_equal(notify_de_as(cert, key, &scheduled, &err), -1);
    assert_int_equal(err.remote_status, GRPC_STATUS_PERMISSION_DENIED);
    assert_int_equal(scheduled, -1);
    assert_int_equal(log_count(&de, "event=peer.notice_received"),
                     log_count(&de, "event=peer.notice_received site=lu"));

    /* LU's gateway, with nothing new at LU: one pull, and nothing changes.
     * Waiting for that pull also shows the refused notices pulled nothing. */
    long version = last_accepted_version();
    assert_true(version > 0);
    snprintf(cert, sizeof(cert), "%s/gateway/gateway.crt", lu.s.dir);
    snprintf(key, sizeof(key), "%s/gateway/gateway.key", lu.s.dir);
    assert_int_equal(notify_de_as(cert, key, &scheduled, &err), 0);
    assert_int_equal(scheduled, 1);
    wait_log(&de, "event=catalog.accepted", pulls + 1, 5);
    /* one pull more, accepted, of the same version, and no other */
    assert_int_equal(log_count(&de, "event=catalog.accepted") +
                         log_count(&de, "event=catalog.refused"),
                     pulls + 1);
    assert_int_equal(last_accepted_version(), version);
    assert_true(de_says("list", NULL, "lu/after-rotation"));
}

/* The retry_in_ms values of `x`'s log lines with `event`, in order. */
static int delays(const site *x, const char *event, long *got, int cap)
{
    char *text = th_read(x->s.log);
    int n = 0;
    for (const char *p = text; p != NULL && n < cap && (p = strstr(p, event)) != NULL;) {
        p += strlen(event);
        const char *r = strstr(p, "retry_in_ms=");
        const char *eol = strchr(p, '\n');
        if (r != NULL && (eol == NULL || r < eol))
            got[n++] = strtol(r + strlen("retry_in_ms="), NULL, 10);
    }
    free(text);
    return n;
}

static void assert_growing(const site *x, const char *event)
{
    long got[3] = {0};
    int n = delays(x, event, got, 3);
    assert_int_equal(n, 3);
    if (!(got[0] < got[1] && got[1] < got[2]))
        fail_msg("%s: delays %ld, %ld, %ld ms do not grow", event, got[0], got[1], got[2]);
}

static void test_with_de_down_lu_backs_off_and_de_catches_up_in_one_pull(void **state)
{
    (void)state;
    assert_int_equal(th_gateway_stop(&de.s, NULL), 0);
    /* LU restarts while DE is down: its first pull of DE and its first
     * notice to DE fail, and so do the retries, further and further apart. */
    assert_int_equal(th_gateway_stop(&lu.s, NULL), 0);
    th_gateway_start(&lu.s);
    publish("while-de-was-down", "NRES");
    wait_log(&lu, "event=catalog.backoff site=de", 3, 30);
    wait_log(&lu, "event=peer.notice_backoff site=de", 3, 30);
    assert_growing(&lu, "event=catalog.backoff site=de");
    assert_growing(&lu, "event=peer.notice_backoff site=de");

    /* DE comes back: its first pull of LU has everything, and its notice
     * has LU pull DE at once rather than at the end of LU's wait. */
    th_gateway_start(&de.s);
    wait_log(&de, "event=catalog.accepted site=lu", 1, 5);
    assert_true(de_says("list", NULL, "lu/while-de-was-down"));
    assert_int_equal(log_count(&de, "event=catalog.backoff"), 0);
    wait_log(&lu, "event=catalog.recovered site=de", 1, 10);
    wait_log(&lu, "event=peer.notice_sent site=de", 1, 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_dataset_added_at_lu_is_listed_at_de_within_2s),
        cmocka_unit_test(test_a_removal_reaches_de_within_2s),
        cmocka_unit_test(test_a_policy_change_reaches_de_within_2s),
        cmocka_unit_test(test_after_a_key_rotation_de_follows_at_once_and_cosigns),
        cmocka_unit_test(test_notices_from_anyone_but_a_peer_are_refused_and_pull_nothing),
        cmocka_unit_test(test_with_de_down_lu_backs_off_and_de_catches_up_in_one_pull),
    };
    return cmocka_run_group_tests_name("change notices", tests, setup, teardown);
}
