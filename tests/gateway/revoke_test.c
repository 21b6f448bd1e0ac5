/*
 * revoke_test.c - a person's certificates over time: issued, renewed, and
 * revoked, every one of them, by a running gateway at its next call.
 *
 * One real site with its gateway on loopback. Rita gets a certificate,
 * then two renewals (`pki issue --renew`); each works. `--serial` revokes
 * just one; `pki revoke` then revokes all the others, and the gateway
 * refuses each at the next call, naming its serial, without a restart.
 * Issuing a known name without --renew is refused and changes nothing.
 * The trail holds the issue, the renewals and the revocations, serials and
 * all, as `ecluse audit query` shows them.
 */
#include <dirent.h>
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

#include "client/client.h"
#include "site/pki.h"
#include "tests/support/harness.h"

#define OUT_MAX (256 * 1024)

static char root[PATH_MAX - 200];
static th_site fi;
static char admin[PATH_MAX], auditor[PATH_MAX], rita1[PATH_MAX];
static char out[OUT_MAX];

static void must(int rc, const char *what)
{
    if (rc != 0)
        fail_msg("%s failed (%d):\n%s", what, rc, out);
}

static int setup(void **state)
{
    (void)state;
    th_tmpdir(root, sizeof(root));
    th_site_create(&fi, root, "fi", "FI");
    th_issue(&fi, "admin", "adm", admin, sizeof(admin));
    th_issue(&fi, "auditor", "aud", auditor, sizeof(auditor));
    th_issue(&fi, "researcher", "rita", rita1, sizeof(rita1));
    th_gateway_start(&fi);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (fi.pid != 0)
        assert_int_equal(th_gateway_stop(&fi, NULL), 0);
    return 0;
}

/* The serial of the certificate in identity directory `dir`. */
static void serial_of(const char *dir, char *serial, size_t cap)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/cert.pem", dir);
    X509 *cert = NULL;
    ecl_err err;
    assert_int_equal(pki_load_cert(path, &cert, &err), 0);
    assert_int_equal(pki_cert_serial(cert, serial, cap, &err), 0);
    X509_free(cert);
}

/* A Health call as `dir`: 0 if served, else the gRPC status (its message
 * into `why`). */
static int health_as(const char *dir, char *why, size_t cap)
{
    ecl_client *c = NULL;
    ecl_err err;
    if (ecl_client_open(dir, NULL, &c, &err) != 0)
        fail_msg("cannot open the client as %s: %s", dir, err.msg);
    Ecluse__V1__HealthCheckResponse *h = NULL;
    int rc = ecl_client_health(c, &h, &err);
    if (rc == 0) {
        assert_non_null(h->caller);
        assert_string_equal(h->caller->role, "researcher");
        protobuf_c_message_free_unpacked(&h->base, NULL);
    } else {
        snprintf(why, cap, "%s", err.msg);
        rc = err.remote_status != 0 ? err.remote_status : -1;
    }
    ecl_client_close(c);
    return rc;
}

static void expect_served(const char *dir)
{
    char why[1024] = "";
    int rc = health_as(dir, why, sizeof(why));
    if (rc != 0)
        fail_msg("%s was refused (%d): %s", dir, rc, why);
}

/* Refused as revoked, the message naming `serial`. */
static void expect_revoked(const char *dir, const char *serial)
{
    char why[1024] = "";
    int rc = health_as(dir, why, sizeof(why));
    if (rc != GRPC_STATUS_UNAUTHENTICATED && rc != GRPC_STATUS_PERMISSION_DENIED)
        fail_msg("%s (serial %s) was not refused: %d %s", dir, serial, rc, why);
    if (strstr(why, serial) == NULL || strstr(why, "revoked") == NULL)
        fail_msg("the refusal of %s does not name its serial %s as revoked: %s", dir, serial, why);
}

/* `pki issue --renew` of rita; its identity directory from what it
 * printed ("..., in DIR"). */
static void renew_rita(char *dir, size_t cap)
{
    must(th_run(out, sizeof(out), "pki", "issue", "--dir", fi.dir, "--role", "researcher", "--name",
                "rita", "--renew", "--identity", admin, NULL),
         "pki issue --renew");
    const char *in = strstr(out, ", in ");
    assert_non_null(in);
    in += 5;
    size_t n = strcspn(in, "\n");
    assert_true(n < cap);
    memcpy(dir, in, n);
    dir[n] = '\0';
}

static char *registry(void)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/ca/issued.json", fi.dir);
    return th_read(path);
}

/* The names in SITE/identities, sorted, one a line. */
static char *identities(void)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/identities", fi.dir);
    struct dirent **names = NULL;
    int n = scandir(path, &names, NULL, alphasort);
    assert_true(n >= 0);
    char *list = calloc(1, 65536);
    assert_non_null(list);
    size_t used = 0;
    for (int i = 0; i < n; i++) {
        used += (size_t)snprintf(list + used, 65536 - used, "%s\n", names[i]->d_name);
        free(names[i]);
    }
    free(names);
    return list;
}

static json_t *admin_entries(void)
{
    must(th_run(out, sizeof(out), "audit", "query", "--json", "--identity", auditor, "--kind",
                "admin", NULL),
         "audit query");
    json_t *all = json_array();
    for (char *line = strtok(out, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        json_t *e = json_loads(line, 0, NULL);
        if (e == NULL)
            fail_msg("audit query printed a line that is not JSON: %s", line);
        json_array_append_new(all, e);
    }
    return all;
}

static const char *detail_str(const json_t *e, const char *key)
{
    const char *s = json_string_value(json_object_get(json_object_get(e, "detail"), key));
    return s != NULL ? s : "";
}

/* The `done` outcome of pki `action` on rita whose detail field `key` is
 * (or, for an array, holds) `value`; NULL if the trail has none. */
static const json_t *done_entry(const json_t *all, const char *action, const char *key,
                                const char *value)
{
    size_t i;
    const json_t *e;
    json_array_foreach(all, i, e)
    {
        if (strcmp(detail_str(e, "action"), action) != 0 ||
            strcmp(detail_str(e, "outcome"), "done") != 0 ||
            strcmp(detail_str(e, "subject"), "spiffe://fi/researcher/rita") != 0)
            continue;
        json_t *v = json_object_get(json_object_get(e, "detail"), key);
        if (json_is_string(v) && strcmp(json_string_value(v), value) == 0)
            return e;
        size_t j;
        json_t *item;
        json_array_foreach(v, j, item)
        {
            if (strcmp(json_string_value(item), value) == 0)
                return e;
        }
    }
    return NULL;
}

static void test_renewal_then_revocation_of_every_certificate(void **state)
{
    (void)state;
    char rita2[PATH_MAX], rita3[PATH_MAX], s1[128], s2[128], s3[128];
    serial_of(rita1, s1, sizeof(s1));
    expect_served(rita1);

    /* The same name again, without --renew: refused, nothing written. */
    char *reg_before = registry(), *ids_before = identities();
    assert_non_null(reg_before);
    int rc = th_run(out, sizeof(out), "pki", "issue", "--dir", fi.dir, "--role", "researcher",
                    "--name", "rita", "--identity", admin, NULL);
    assert_int_equal(rc, 6);
    if (strstr(out, "--renew") == NULL || strstr(out, "spiffe://fi/researcher/rita") == NULL ||
        strstr(out, s1) == NULL)
        fail_msg("the refusal does not name the person, her serial and --renew: %s", out);
    char *reg_after = registry(), *ids_after = identities();
    assert_string_equal(reg_after, reg_before);
    assert_string_equal(ids_after, ids_before);
    free(reg_before);
    free(reg_after);
    free(ids_before);
    free(ids_after);

    /* Two renewals: a new key and certificate each; all three work. */
    renew_rita(rita2, sizeof(rita2));
    renew_rita(rita3, sizeof(rita3));
    serial_of(rita2, s2, sizeof(s2));
    serial_of(rita3, s3, sizeof(s3));
    assert_string_not_equal(s1, s2);
    assert_string_not_equal(s2, s3);
    expect_served(rita1);
    expect_served(rita2);
    expect_served(rita3);

    /* --serial that is not one of hers is refused, naming it. */
    rc = th_run(out, sizeof(out), "pki", "revoke", "--dir", fi.dir, "--role", "researcher",
                "--name", "rita", "--serial", "0BADC0FFEE", "--identity", admin, NULL);
    assert_int_equal(rc, 5);
    assert_non_null(strstr(out, "0BADC0FFEE"));
    expect_served(rita3);

    /* --serial revokes that one only (given in lower case). */
    char lower[128];
    for (size_t i = 0; i <= strlen(s3); i++)
        lower[i] = (char)(s3[i] >= 'A' && s3[i] <= 'F' ? s3[i] - 'A' + 'a' : s3[i]);
    must(th_run(out, sizeof(out), "pki", "revoke", "--dir", fi.dir, "--role", "researcher",
                "--name", "rita", "--serial", lower, "--reason", "lost phone", "--identity", admin,
                NULL),
         "pki revoke --serial");
    expect_revoked(rita3, s3);
    expect_served(rita1);
    expect_served(rita2);

    /* The name: every certificate she ever had, the stolen laptop's first. */
    must(th_run(out, sizeof(out), "pki", "revoke", "--dir", fi.dir, "--role", "researcher",
                "--name", "rita", "--reason", "laptop stolen", "--identity", admin, NULL),
         "pki revoke");
    assert_non_null(strstr(out, s1));
    assert_non_null(strstr(out, s2));
    expect_revoked(rita1, s1);
    expect_revoked(rita2, s2);
    expect_revoked(rita3, s3);

    /* The trail: the issue, both renewals, both revocations, by serial. */
    json_t *all = admin_entries();
    assert_non_null(done_entry(all, "pki-issue", "serial", s1));
    const json_t *r2 = done_entry(all, "pki-renew", "serial", s2);
    assert_non_null(r2);
    assert_string_equal(detail_str(r2, "previous_serial"), s1);
    assert_non_null(done_entry(all, "pki-renew", "serial", s3));
    const json_t *one = done_entry(all, "pki-revoke", "serials", s3);
    assert_non_null(one);
    assert_int_equal(json_array_size(json_object_get(json_object_get(one, "detail"), "serials")),
                     1);
    const json_t *every = done_entry(all, "pki-revoke", "serials", s1);
    assert_non_null(every);
    assert_ptr_equal(done_entry(all, "pki-revoke", "serials", s2), every);
    assert_string_equal(detail_str(every, "revocation_reason"), "laptop stolen");
    /* The refused first issue is recorded as failed, not done. */
    size_t i, failed = 0;
    json_t *e;
    json_array_foreach(all, i, e)
    {
        if (strcmp(detail_str(e, "action"), "pki-issue") == 0 &&
            strcmp(detail_str(e, "subject"), "spiffe://fi/researcher/rita") == 0 &&
            strcmp(detail_str(e, "outcome"), "failed") == 0 &&
            strstr(detail_str(e, "reason"), "--renew") != NULL)
            failed++;
    }
    assert_int_equal(failed, 1);
    json_decref(all);
}

/* A site made before the registry: its first `pki` command seeds it from
 * the certificates the site holds, so an old name still needs --renew and
 * its certificate is revoked with the rest. */
static void test_a_site_without_a_registry_seeds_it(void **state)
{
    (void)state;
    char bob1[PATH_MAX], bob2[PATH_MAX + 32], s1[128], path[PATH_MAX + 32];
    th_issue(&fi, "researcher", "bob", bob1, sizeof(bob1));
    serial_of(bob1, s1, sizeof(s1));
    snprintf(path, sizeof(path), "%s/ca/issued.json", fi.dir);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(th_run(out, sizeof(out), "pki", "issue", "--dir", fi.dir, "--role",
                            "researcher", "--name", "bob", "--identity", admin, NULL),
                     6);
    assert_non_null(strstr(out, s1));
    char *seeded = th_read(path);
    assert_non_null(seeded);
    assert_non_null(strstr(seeded, s1));
    assert_non_null(strstr(seeded, "\"seeded\""));
    free(seeded);
    must(th_run(out, sizeof(out), "pki", "issue", "--dir", fi.dir, "--role", "researcher", "--name",
                "bob", "--renew", "--identity", admin, NULL),
         "pki issue --renew");
    snprintf(bob2, sizeof(bob2), "%s/identities/researcher-bob@2", fi.dir);
    must(th_run(out, sizeof(out), "pki", "revoke", "--dir", fi.dir, "--role", "researcher",
                "--name", "bob", "--identity", admin, NULL),
         "pki revoke");
    char s2[128];
    serial_of(bob2, s2, sizeof(s2));
    char why[1024] = "";
    assert_int_equal(health_as(bob1, why, sizeof(why)), GRPC_STATUS_UNAUTHENTICATED);
    assert_non_null(strstr(why, s1));
    assert_int_equal(health_as(bob2, why, sizeof(why)), GRPC_STATUS_UNAUTHENTICATED);
    assert_non_null(strstr(why, s2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_renewal_then_revocation_of_every_certificate),
        cmocka_unit_test(test_a_site_without_a_registry_seeds_it),
    };
    return cmocka_run_group_tests_name("revoke", tests, setup, teardown);
}
