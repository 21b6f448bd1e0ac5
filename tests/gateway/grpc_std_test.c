/* The standard gRPC protocols on a real gateway, over mutual TLS, checked
 * by standard clients (grpc_std_client.py: grpcio's health stub generated
 * from the standard health.proto, and a reflection client written from the
 * reflection proto):
 *   - grpc.health.v1: SERVING; NOT_FOUND and SERVICE_UNKNOWN for a service
 *     not served; NOT_SERVING on Check and an open Watch once the audit
 *     trail refuses writes; NOT_SERVING on a Watch when the gateway stops;
 *   - reflection v1 and v1alpha: every service listed, files by name and by
 *     symbol, NOT_FOUND errors, a call built from the reflected descriptors.
 * A client certificate of another CA never gets an answer (mTLS). */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/support/fill.h"
#include "tests/support/harness.h"

static char root[PATH_MAX - 200];
static char out[1 << 16];

/* Run the client (mode, then extra arguments, NULL-terminated) as the
 * identity `who` of `s`; its output goes to `out`. Returns its exit status. */
static int run_client(const th_site *s, const char *who, const char *mode, ...)
{
    char cmd[8 * PATH_MAX];
    int timeout = (int)(30 * th_time_scale());
    int n = snprintf(cmd, sizeof(cmd),
                     "/usr/bin/python3 tests/gateway/grpc_std_client.py %s --port %d "
                     "--ca '%s/ca/ca.crt' --cert '%s/cert.pem' --key '%s/key.pem' --site %s "
                     "--timeout %d --stubs proto",
                     mode, s->port, s->dir, who, who, s->id, timeout);
    va_list ap;
    va_start(ap, mode);
    for (const char *a = va_arg(ap, const char *); a != NULL; a = va_arg(ap, const char *))
        n += snprintf(cmd + n, sizeof(cmd) - (size_t)n, " %s", a);
    va_end(ap);
    assert_true(n < (int)sizeof(cmd) - 8);
    snprintf(cmd + n, sizeof(cmd) - (size_t)n, " 2>&1");
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t got = fread(out, 1, sizeof(out) - 1, p);
    out[got] = '\0';
    int rc = pclose(p);
    printf("%s", out);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void set_audit_map_mb(const th_site *s, int mb)
{
    json_error_t jerr;
    json_t *cfg = json_load_file(s->config, 0, &jerr);
    assert_non_null(cfg);
    json_t *audit = json_object_get(cfg, "audit");
    assert_non_null(audit);
    assert_int_equal(json_object_set_new(audit, "map_size_mb", json_integer(mb)), 0);
    assert_int_equal(json_dump_file(cfg, s->config, JSON_INDENT(2)), 0);
    json_decref(cfg);
}

static void test_health_follows_the_audit_trail(void **state)
{
    (void)state;
    th_site s;
    char admin[PATH_MAX], dir[2 * PATH_MAX];
    th_site_create(&s, root, "hc", "FI");
    th_issue(&s, "admin", "adm", admin, sizeof(admin));
    set_audit_map_mb(&s, 1);
    th_gateway_start(&s); /* the trail exists, as a running site's does */
    assert_int_equal(th_gateway_stop(&s, NULL), 0);
    snprintf(dir, sizeof(dir), "%s/data/audit", s.dir);
    th_fill_audit(dir, 1u << 20, "spiffe://hc/admin/adm");

    th_gateway_start(&s);
    assert_int_equal(run_client(&s, admin, "health", NULL), 0);
    assert_non_null(strstr(out, "health: ok"));
    assert_true(th_file_contains(s.log, "event=audit.unwritable"));
    assert_int_equal(th_gateway_stop(&s, NULL), 0);
}

static void test_a_stop_is_not_serving(void **state)
{
    (void)state;
    th_site s;
    char admin[PATH_MAX], res[PATH_MAX], pid[32];
    th_site_create(&s, root, "st", "LU");
    th_issue(&s, "admin", "adm", admin, sizeof(admin));
    /* any identity of the site may ask, a researcher as well as an admin */
    th_issue(&s, "researcher", "res", res, sizeof(res));
    th_gateway_start(&s);
    snprintf(pid, sizeof(pid), "%d", (int)s.pid);
    assert_int_equal(run_client(&s, res, "stop", "--pid", pid, NULL), 0);
    assert_non_null(strstr(out, "stop: ok"));
    assert_int_equal(th_gateway_stop(&s, NULL), 0);
    assert_true(th_file_contains(s.log, "event=gateway.stopped"));
}

static void test_reflection(void **state)
{
    (void)state;
    th_site s, other;
    char admin[PATH_MAX], stranger[PATH_MAX];
    th_site_create(&s, root, "rf", "BE");
    th_site_create(&other, root, "ot", "DE");
    th_issue(&s, "admin", "adm", admin, sizeof(admin));
    th_issue(&other, "admin", "adm", stranger, sizeof(stranger));
    th_gateway_start(&s);
    assert_int_equal(run_client(&s, admin, "reflection", NULL), 0);
    assert_non_null(strstr(out, "reflection: ok"));
    /* mTLS first: another site's admin (a CA this gateway does not trust)
     * is refused in the handshake, health and reflection alike. */
    assert_int_equal(run_client(&s, stranger, "reflection", NULL), 1);
    assert_non_null(strstr(out, "UNAVAILABLE"));
    assert_int_equal(th_gateway_stop(&s, NULL), 0);
}

int main(void)
{
    th_tmpdir(root, sizeof(root));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_follows_the_audit_trail),
        cmocka_unit_test(test_a_stop_is_not_serving),
        cmocka_unit_test(test_reflection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
