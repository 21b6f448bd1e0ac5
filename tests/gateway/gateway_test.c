/*
 * gateway_test.c - a real gateway on a loopback port, real certificates.
 *
 * Who gets in, who is refused and how, what an unknown or malformed call
 * gets, and how the gateway stops on SIGTERM with calls in flight.
 */
#include <grpc/status.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "client/client.h"
#include "rpc/client.h"
#include "rpc/server.h"
#include "site/site.h"
#include "tests/support/harness.h"

typedef struct fixture {
    char root[PATH_MAX];
    th_site fi;
    th_site lu; /* another site, never started: only its CA and people are used */
    char researcher[PATH_MAX], auditor[PATH_MAX], admin[PATH_MAX], foreigner[PATH_MAX];
} fixture;

static fixture fx;

static int setup(void **state)
{
    (void)state;
    th_tmpdir(fx.root, sizeof(fx.root));
    th_site_create(&fx.fi, fx.root, "fi", "FI");
    th_site_create(&fx.lu, fx.root, "lu", "LU");
    th_issue(&fx.fi, "researcher", "alice", fx.researcher, sizeof(fx.researcher));
    th_issue(&fx.fi, "auditor", "olli", fx.auditor, sizeof(fx.auditor));
    th_issue(&fx.fi, "admin", "root-fi", fx.admin, sizeof(fx.admin));
    th_issue(&fx.lu, "researcher", "bob", fx.foreigner, sizeof(fx.foreigner));
    th_gateway_start(&fx.fi);
    rpc_library_init(0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rpc_library_shutdown();
    int status = th_gateway_stop(&fx.fi, NULL);
    if (status != 0) {
        char *log = th_read(fx.fi.log);
        fprintf(stderr, "gateway exited with %d; its log:\n%s\n", status, log ? log : "");
        free(log);
        return -1;
    }
    return 0;
}

static char *file_in(const char *dir, const char *name)
{
    char path[2 * PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    char *text = th_read(path);
    assert_non_null(text);
    return text;
}

/* A channel to FI's gateway with any combination of credentials. */
static rpc_channel *channel_with(const char *server_ca_dir, const char *identity_dir,
                                 const char *expect)
{
    char *ca = file_in(server_ca_dir, "ca.pem");
    char *cert = identity_dir ? file_in(identity_dir, "cert.pem") : NULL;
    char *key = identity_dir ? file_in(identity_dir, "key.pem") : NULL;
    char target[64];
    snprintf(target, sizeof(target), "127.0.0.1:%d", fx.fi.port);
    rpc_channel_options o = {target, ca, cert, key, expect, 0};
    rpc_channel *ch = NULL;
    ecl_err err;
    assert_int_equal(rpc_channel_open(&o, &ch, &err), 0);
    free(ca);
    free(cert);
    free(key);
    return ch;
}

static int call_health(rpc_channel *ch, ecl_err *err)
{
    Ecluse__V1__HealthCheckRequest req = ECLUSE__V1__HEALTH_CHECK_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    int rc = rpc_unary(ch, "/ecluse.v1.Health/Check", &req.base,
                       &ecluse__v1__health_check_response__descriptor, &resp, 5000, err);
    if (rc == 0)
        protobuf_c_message_free_unpacked(resp, NULL);
    return rc;
}

static void health_as(const char *identity, const char *role, const char *name)
{
    ecl_client *c = NULL;
    ecl_err err;
    assert_int_equal(ecl_client_open(identity, NULL, &c, &err), 0);
    Ecluse__V1__HealthCheckResponse *h = NULL;
    if (ecl_client_health(c, &h, &err) != 0)
        fail_msg("health as %s failed: %s", role, err.msg);
    assert_string_equal(h->site, "fi");
    assert_string_equal(h->country, "FI");
    assert_true(strlen(h->version) > 0);
    assert_non_null(h->caller);
    assert_string_equal(h->caller->site, "fi");
    assert_string_equal(h->caller->role, role);
    assert_string_equal(h->caller->name, name);
    protobuf_c_message_free_unpacked(&h->base, NULL);
    ecl_client_close(c);
}

static void test_health_answers_each_role(void **state)
{
    (void)state;
    health_as(fx.researcher, "researcher", "alice");
    health_as(fx.auditor, "auditor", "olli");
    health_as(fx.admin, "admin", "root-fi");
}

static void test_log_names_the_caller(void **state)
{
    (void)state;
    health_as(fx.researcher, "researcher", "alice");
    assert_true(th_file_contains(fx.fi.log, "event=rpc method=/ecluse.v1.Health/Check "
                                            "caller=spiffe://fi/researcher/alice status=OK"));
}

static void test_no_client_certificate_is_refused(void **state)
{
    (void)state;
    rpc_channel *ch = channel_with(fx.researcher, NULL, "spiffe://fi/gateway");
    ecl_err err;
    assert_int_equal(call_health(ch, &err), -1);
    assert_int_equal(err.remote_status, GRPC_STATUS_UNAVAILABLE);
    rpc_channel_close(ch);
}

static void test_certificate_from_another_sites_ca_is_refused(void **state)
{
    (void)state;
    /* bob of LU trusts FI's CA for the server, but his own cert is LU's. */
    rpc_channel *ch = channel_with(fx.researcher, fx.foreigner, "spiffe://fi/gateway");
    ecl_err err;
    assert_int_equal(call_health(ch, &err), -1);
    assert_int_equal(err.remote_status, GRPC_STATUS_UNAVAILABLE);
    rpc_channel_close(ch);
}

static void test_expired_certificate_is_refused(void **state)
{
    (void)state;
    char out[PATH_MAX], dir[PATH_MAX - 64];
    assert_true(snprintf(dir, sizeof(dir), "%s/expired-researcher", fx.root) < (int)sizeof(dir));
    /* Valid for one day, three days ago. */
    person_issue_options o = {fx.fi.dir, ECL_ROLE_RESEARCHER, "old", 1, -3 * 86400L, dir, NULL,
                              NULL};
    ecl_err err;
    assert_int_equal(site_issue_person(&o, out, sizeof(out), &err), 0);
    rpc_channel *ch = channel_with(fx.researcher, dir, "spiffe://fi/gateway");
    assert_int_equal(call_health(ch, &err), -1);
    assert_int_equal(err.remote_status, GRPC_STATUS_UNAVAILABLE);
    rpc_channel_close(ch);
    /* The client library names the problem before it even connects. */
    ecl_client *c = NULL;
    assert_int_equal(ecl_client_open(dir, NULL, &c, &err), -1);
    assert_non_null(strstr(err.msg, "expired"));
}

static void expect_denied(const char *identity, const char *method, const char *role_said)
{
    rpc_channel *ch = channel_with(identity, identity, "spiffe://fi/gateway");
    ecl_err err;
    rpc_stream *st = NULL;
    /* An empty message decodes as every request type. */
    int rc = rpc_stream_open_raw(ch, method, "", 0, 5000, &st, &err);
    if (rc == 0) {
        ProtobufCMessage *msg = NULL;
        rc = rpc_stream_next(st, &ecluse__v1__health_check_response__descriptor, &msg, &err);
        rpc_stream_close(st);
    }
    assert_int_equal(rc, -1);
    assert_int_equal(err.remote_status, GRPC_STATUS_PERMISSION_DENIED);
    assert_non_null(strstr(err.msg, method));
    assert_non_null(strstr(err.msg, role_said));
    rpc_channel_close(ch);
}

static void test_wrong_role_for_a_method_is_denied(void **state)
{
    (void)state;
    expect_denied(fx.researcher, "/ecluse.v1.Admin/AddPeer", "is a researcher");
    expect_denied(fx.researcher, "/ecluse.v1.Audit/Query", "is a researcher");
    expect_denied(fx.auditor, "/ecluse.v1.Data/Read", "is a auditor");
    expect_denied(fx.admin, "/ecluse.v1.Access/Request", "is a admin");
    expect_denied(fx.auditor, "/ecluse.v1.Federation/GetCatalog", "is a auditor");
}

static void expect_unimplemented_quickly(const char *method)
{
    rpc_channel *ch = channel_with(fx.researcher, fx.researcher, "spiffe://fi/gateway");
    ecl_err err;
    double start = th_now();
    Ecluse__V1__HealthCheckRequest req = ECLUSE__V1__HEALTH_CHECK_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    int rc = rpc_unary(ch, method, &req.base, &ecluse__v1__health_check_response__descriptor, &resp,
                       10000, &err);
    double took = th_now() - start;
    assert_int_equal(rc, -1);
    assert_int_equal(err.remote_status, GRPC_STATUS_UNIMPLEMENTED);
    assert_int_equal(err.code, ECL_E_UNIMPLEMENTED); /* the category, not a message prefix */
    assert_non_null(strstr(err.msg, method));
    assert_true(took < 2.0 * th_time_scale());
    rpc_channel_close(ch);
}

static void test_unknown_method_is_unimplemented_at_once(void **state)
{
    (void)state;
    expect_unimplemented_quickly("/ecluse.v1.Health/Nope");
    expect_unimplemented_quickly("/some.other.Service/Method");
}

static void test_malformed_request_is_invalid_argument(void **state)
{
    (void)state;
    rpc_channel *ch = channel_with(fx.researcher, fx.researcher, "spiffe://fi/gateway");
    /* Field 1 with wire type 7, which does not exist: not protobuf. */
    static const unsigned char garbage[] = {0x0f, 0xff, 0xff, 0xff};
    rpc_stream *st = NULL;
    ecl_err err;
    int rc = rpc_stream_open_raw(ch, "/ecluse.v1.Health/Check", garbage, sizeof(garbage), 5000, &st,
                                 &err);
    if (rc == 0) {
        ProtobufCMessage *msg = NULL;
        rc = rpc_stream_next(st, &ecluse__v1__health_check_response__descriptor, &msg, &err);
        rpc_stream_close(st);
    }
    assert_int_equal(rc, -1);
    assert_int_equal(err.remote_status, GRPC_STATUS_INVALID_ARGUMENT);
    assert_non_null(strstr(err.msg, "malformed request"));
    rpc_channel_close(ch);
    /* ...and the gateway still serves. */
    health_as(fx.researcher, "researcher", "alice");
}

static void test_client_refuses_a_server_that_is_not_its_gateway(void **state)
{
    (void)state;
    /* Alice expects LU's gateway, but FI's answers at that address. */
    rpc_channel *ch = channel_with(fx.researcher, fx.researcher, "spiffe://lu/gateway");
    ecl_err err;
    assert_int_equal(call_health(ch, &err), -1);
    assert_int_equal(err.remote_status, GRPC_STATUS_UNAVAILABLE);
    rpc_channel_close(ch);
}

static void test_a_revoked_certificate_is_refused_without_a_restart(void **state)
{
    (void)state;
    char dave[PATH_MAX], out[4096];
    th_issue(&fx.fi, "researcher", "dave", dave, sizeof(dave));
    health_as(dave, "researcher", "dave");
    assert_int_equal(th_run(out, sizeof(out), "pki", "revoke", "--dir", fx.fi.dir, "--role",
                            "researcher", "--name", "dave", "--reason", "laptop stolen", NULL),
                     0);
    ecl_client *c = NULL;
    ecl_err err;
    assert_int_equal(ecl_client_open(dave, NULL, &c, &err), 0);
    Ecluse__V1__HealthCheckResponse *h = NULL;
    assert_int_equal(ecl_client_health(c, &h, &err), -1);
    assert_int_equal(err.remote_status, GRPC_STATUS_UNAUTHENTICATED);
    assert_non_null(strstr(err.msg, "was revoked: laptop stolen"));
    ecl_client_close(c);
    /* Others are not affected. */
    health_as(fx.researcher, "researcher", "alice");
    /* A damaged list refuses people rather than guess. */
    char list[2 * PATH_MAX];
    snprintf(list, sizeof(list), "%s/ca/revoked.json", fx.fi.dir);
    char *saved = th_read(list);
    FILE *f = fopen(list, "w");
    fputs("{\"revoked\": 7}", f);
    fclose(f);
    assert_int_equal(ecl_client_open(fx.researcher, NULL, &c, &err), 0);
    assert_int_equal(ecl_client_health(c, &h, &err), -1);
    assert_int_equal(err.remote_status, GRPC_STATUS_UNAUTHENTICATED);
    assert_non_null(strstr(err.msg, "not a revocation list"));
    ecl_client_close(c);
    f = fopen(list, "w");
    fputs(saved, f);
    fclose(f);
    free(saved);
    health_as(fx.researcher, "researcher", "alice");
}

/* --- stopping with calls in flight ---------------------------------------- */

typedef struct load_worker {
    const char *identity;
    volatile int *stop;
    int ok, unavailable, other;
} load_worker;

static void *health_loop(void *arg)
{
    load_worker *w = arg;
    ecl_client *c = NULL;
    ecl_err err;
    if (ecl_client_open(w->identity, NULL, &c, &err) != 0) {
        w->other++;
        return NULL;
    }
    ecl_client_set_timeout(c, 3000);
    while (!*w->stop) {
        Ecluse__V1__HealthCheckResponse *h = NULL;
        if (ecl_client_health(c, &h, &err) == 0) {
            __atomic_add_fetch(&w->ok, 1, __ATOMIC_RELAXED);
            protobuf_c_message_free_unpacked(&h->base, NULL);
        } else if (err.remote_status == GRPC_STATUS_UNAVAILABLE ||
                   err.remote_status == GRPC_STATUS_CANCELLED) {
            w->unavailable++;
            break; /* the gateway is gone, as it should be */
        } else {
            w->other++;
            fprintf(stderr, "unexpected error under shutdown: %s\n", err.msg);
            break;
        }
    }
    ecl_client_close(c);
    return NULL;
}

static void test_sigterm_stops_within_a_second_with_calls_in_flight(void **state)
{
    (void)state;
    char root[PATH_MAX], researcher[PATH_MAX];
    th_tmpdir(root, sizeof(root));
    th_site s;
    th_site_create(&s, root, "de", "DE");
    th_issue(&s, "researcher", "carla", researcher, sizeof(researcher));
    th_gateway_start(&s);

    enum { WORKERS = 6 };
    volatile int stop = 0;
    load_worker workers[WORKERS];
    pthread_t threads[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        workers[i] = (load_worker){researcher, &stop, 0, 0, 0};
        assert_int_equal(pthread_create(&threads[i], NULL, health_loop, &workers[i]), 0);
    }
    /* Calls are flowing: every worker has had one answered (on a loaded
     * machine or under a sanitizer that takes longer than on a quiet one). */
    double until = th_now() + 20 * th_time_scale();
    for (int i = 0; i < WORKERS && th_now() < until; i++)
        while (__atomic_load_n(&workers[i].ok, __ATOMIC_RELAXED) == 0 && th_now() < until)
            usleep(10 * 1000);
    usleep(100 * 1000); /* and more are in flight */
    double seconds = 0;
    int status = th_gateway_stop(&s, &seconds);
    stop = 1;
    int ok = 0, other = 0;
    for (int i = 0; i < WORKERS; i++) {
        pthread_join(threads[i], NULL);
        ok += workers[i].ok;
        other += workers[i].other;
    }
    assert_int_equal(status, 0);
    assert_true(seconds < 1.0 * th_time_scale());
    assert_true(ok > 0);
    assert_int_equal(other, 0);
    assert_true(th_file_contains(s.log, "event=gateway.stopping signal=SIGTERM"));
    assert_true(th_file_contains(s.log, "event=gateway.stopped site=de"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_answers_each_role),
        cmocka_unit_test(test_log_names_the_caller),
        cmocka_unit_test(test_no_client_certificate_is_refused),
        cmocka_unit_test(test_certificate_from_another_sites_ca_is_refused),
        cmocka_unit_test(test_expired_certificate_is_refused),
        cmocka_unit_test(test_wrong_role_for_a_method_is_denied),
        cmocka_unit_test(test_unknown_method_is_unimplemented_at_once),
        cmocka_unit_test(test_malformed_request_is_invalid_argument),
        cmocka_unit_test(test_client_refuses_a_server_that_is_not_its_gateway),
        cmocka_unit_test(test_a_revoked_certificate_is_refused_without_a_restart),
        cmocka_unit_test(test_sigterm_stops_within_a_second_with_calls_in_flight),
    };
    return cmocka_run_group_tests_name("gateway", tests, setup, teardown);
}
