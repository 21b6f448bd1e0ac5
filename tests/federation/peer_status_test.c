/*
 * peer_status_test.c - `ecluse peer list` tells each peer's state at a
 * glance, from errors produced for real.
 *
 * Three real sites on loopback; FI is the one looking. LU: peered (FI
 * adds it first, so FI first sees "has not added us", cleared without a
 * refresh once LU adds FI), healthy (key generation, catalog version and
 * age, last contact), its key rotated (generation 1), its gateway
 * certificate expired ("TLS: certificate expired"), its state restored
 * from an old backup ("catalog refused: rollback from vX to vY"). DE:
 * removes FI ("removed us"), adds it again (cleared without a refresh),
 * then is stopped ("unreachable").
 */
#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "site/pki.h"
#include "tests/support/harness.h"

#define OUT_MAX (64 * 1024)

typedef struct site {
    th_site s;
    char admin[PATH_MAX], researcher[PATH_MAX], bundle[PATH_MAX + 16];
} site;

static char root[PATH_MAX - 200];
static site fi, lu, de;
static char out[OUT_MAX];

static void must(int rc, const char *what)
{
    if (rc != 0)
        fail_msg("%s failed (%d):\n%s", what, rc, out);
}

static void make_site(site *x, const char *id, const char *country)
{
    th_site_create(&x->s, root, id, country);
    th_issue(&x->s, "admin", "adm", x->admin, sizeof(x->admin));
    th_issue(&x->s, "researcher", "res", x->researcher, sizeof(x->researcher));
    th_gateway_start(&x->s);
    th_export_bundle(&x->s, x->admin, x->bundle, sizeof(x->bundle));
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void publish(site *x, const char *name)
{
    char csv[PATH_MAX + 64], policy[PATH_MAX + 64], text[1024];
    snprintf(csv, sizeof(csv), "%s/%s-%s.csv", root, x->s.id, name);
    snprintf(policy, sizeof(policy), "%s/%s-%s.json", root, x->s.id, name);
    write_file(csv, "5.1,3.5,1.4,0\n4.9,3.0,1.4,0\n6.3,3.3,6.0,2\n5.8,2.7,5.1,2\n");
    snprintf(text, sizeof(text),
             "{\"ecluse_policy\": 1, \"dataset\": \"%s/%s\", \"category\": \"anonymous\", "
             "\"purposes\": {\"allowed\": [\"NRES\"]}, \"tensors\": [{\"name\": \"features\"}, "
             "{\"name\": \"labels\"}], \"minimisation\": {\"default\": {\"tensors\": "
             "[\"features\", \"labels\"], \"max_rows\": 4}}, \"storage\": {\"max_grant_days\": "
             "30}}\n",
             x->s.id, name);
    write_file(policy, text);
    must(th_run(out, sizeof(out), "dataset", "add", name, "--from", csv, "--label-column", "-1",
                "--title", name, "--description", "test data", "--policy", policy, "--identity",
                x->admin, NULL),
         "dataset add");
}

/* FI pulls every peer's catalog now (what failed is in `out`). */
static void fi_refresh(void)
{
    int rc = th_run(out, sizeof(out), "catalog", "refresh", "--identity", fi.researcher, NULL);
    if (rc != 0 && rc != 9 && rc != 8)
        fail_msg("catalog refresh failed (%d):\n%s", rc, out);
}

/* FI's `peer list --json` line for `peer`, parsed (json_decref it). */
static json_t *fi_sees(const char *peer)
{
    must(th_run(out, sizeof(out), "peer", "list", "--json", "--identity", fi.admin, NULL),
         "peer list --json");
    for (char *line = strtok(out, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        json_t *doc = json_loads(line, 0, NULL);
        const char *s = json_string_value(json_object_get(doc, "site"));
        if (s != NULL && strcmp(s, peer) == 0)
            return doc;
        json_decref(doc);
    }
    fail_msg("peer list --json at fi has no line for %s", peer);
    return NULL;
}

static const char *str(json_t *doc, const char *key)
{
    const char *v = json_string_value(json_object_get(doc, key));
    if (v == NULL)
        fail_msg("no string %s in %s", key, json_dumps(doc, 0));
    return v;
}

static long long num(json_t *doc, const char *key)
{
    json_t *v = json_object_get(doc, key);
    if (!json_is_integer(v))
        fail_msg("no integer %s in %s", key, json_dumps(doc, 0));
    return (long long)json_integer_value(v);
}

/* FI's text `peer list` line for `peer` goes to `line`. */
static void fi_line(const char *peer, char *line, size_t cap)
{
    must(th_run(out, sizeof(out), "peer", "list", "--identity", fi.admin, NULL), "peer list");
    size_t n = strlen(peer);
    for (char *l = strtok(out, "\n"); l != NULL; l = strtok(NULL, "\n"))
        if (strncmp(l, peer, n) == 0 && l[n] == ' ') {
            snprintf(line, cap, "%s", l);
            return;
        }
    fail_msg("peer list at fi has no line for %s", peer);
}

/* Wait (without asking for a refresh) until FI shows `peer` as `status`. */
static void wait_status(const char *peer, const char *status)
{
    double deadline = th_now() + 20.0 * th_time_scale();
    for (;;) {
        json_t *doc = fi_sees(peer);
        int seen = strcmp(str(doc, "status"), status) == 0;
        char *text = json_dumps(doc, 0);
        json_decref(doc);
        if (seen) {
            free(text);
            return;
        }
        if (th_now() > deadline)
            fail_msg("fi never showed %s as '%s' within %.0f s; last: %s", peer, status,
                     20.0 * th_time_scale(), text);
        free(text);
        usleep(100 * 1000);
    }
}

static int setup(void **state)
{
    (void)state;
    th_tmpdir(root, sizeof(root));
    make_site(&fi, "fi", "FI");
    make_site(&lu, "lu", "LU");
    make_site(&de, "de", "DE");
    must(th_peer_add(out, sizeof(out), de.bundle, fi.admin), "peer add de at fi");
    must(th_peer_add(out, sizeof(out), fi.bundle, de.admin), "peer add fi at de");
    publish(&lu, "first");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int rc = th_gateway_stop(&fi.s, NULL);
    rc |= th_gateway_stop(&lu.s, NULL);
    if (de.s.pid != 0)
        rc |= th_gateway_stop(&de.s, NULL);
    return rc == 0 ? 0 : -1;
}

static void test_a_peer_that_has_not_added_us_yet_is_shown_so_until_it_does(void **state)
{
    (void)state;
    /* FI adds LU first: FI's pull is refused by LU's TLS, which does not
     * know FI's CA yet. */
    must(th_peer_add(out, sizeof(out), lu.bundle, fi.admin), "peer add lu at fi");
    fi_refresh();
    json_t *doc = fi_sees("lu");
    assert_string_equal(str(doc, "status"), "has not added us");
    assert_non_null(strstr(str(doc, "error_detail"), "our certificate"));
    assert_int_equal(num(doc, "last_contact_unix"), 0);
    json_decref(doc);
    /* LU adds FI and pulls from it: FI's status clears without a refresh. */
    must(th_peer_add(out, sizeof(out), fi.bundle, lu.admin), "peer add fi at lu");
    wait_status("lu", "ok");
}

static void test_a_healthy_peer_shows_key_catalog_and_contact(void **state)
{
    (void)state;
    fi_refresh();
    json_t *doc = fi_sees("lu");
    assert_string_equal(str(doc, "country"), "LU");
    char endpoint[64];
    snprintf(endpoint, sizeof(endpoint), "127.0.0.1:%d", lu.s.port);
    assert_string_equal(str(doc, "endpoint"), endpoint);
    assert_int_equal(num(doc, "key_generation"), 0);
    assert_int_equal(num(doc, "newest_key_generation"), 0);
    assert_true(json_is_true(json_object_get(doc, "key_is_newest")));
    assert_true(num(doc, "catalog_version") >= 1);
    assert_true(num(doc, "catalog_age_s") >= 0);
    assert_true(num(doc, "catalog_age_s") < 600);
    assert_true(num(doc, "last_contact_age_s") >= 0);
    assert_true(num(doc, "last_contact_age_s") < 600);
    assert_string_equal(str(doc, "error"), "");
    json_decref(doc);
    char line[1024];
    fi_line("lu", line, sizeof(line));
    assert_non_null(strstr(line, " LU "));
    assert_non_null(strstr(line, endpoint));
    assert_non_null(strstr(line, "key gen 0 (newest)"));
    assert_non_null(strstr(line, " s ago"));
    assert_non_null(strstr(line, " ok"));
}

static void test_a_followed_rotation_shows_the_next_key_generation(void **state)
{
    (void)state;
    must(th_run(out, sizeof(out), "key", "rotate", "--identity", lu.admin, NULL), "key rotate");
    fi_refresh();
    json_t *doc = fi_sees("lu");
    assert_int_equal(num(doc, "key_generation"), 1);
    assert_int_equal(num(doc, "newest_key_generation"), 1);
    assert_true(json_is_true(json_object_get(doc, "key_is_newest")));
    assert_string_equal(str(doc, "status"), "ok");
    json_decref(doc);
    char line[1024];
    fi_line("lu", line, sizeof(line));
    assert_non_null(strstr(line, "key gen 1 (newest)"));
}

static int count_in_log(const th_site *s, const char *needle)
{
    char *log = th_read(s->log);
    int n = 0;
    for (const char *p = log; p != NULL && (p = strstr(p, needle)) != NULL; p++)
        n++;
    free(log);
    return n;
}

/* SIGHUP `s` and wait until it logged that the reload is done. */
static void reload(th_site *s)
{
    int done = count_in_log(s, "event=reload.done");
    int failed = count_in_log(s, "event=reload.failed");
    assert_int_equal(kill(s->pid, SIGHUP), 0);
    double deadline = th_now() + 30.0 * th_time_scale();
    while (count_in_log(s, "event=reload.done") == done) {
        if (count_in_log(s, "event=reload.failed") > failed) {
            char *log = th_read(s->log);
            fail_msg("%s's reload failed:\n%s", s->id, strstr(log, "event=reload.failed"));
        }
        if (th_now() > deadline)
            fail_msg("%s logged no reload.done within %.0f s of SIGHUP", s->id,
                     30.0 * th_time_scale());
        usleep(20 * 1000);
    }
}

/* Give LU's gateway a certificate from its own CA that expires
 * `seconds` from now, keeping the one it had as *.good. */
static void short_lived_gateway_certificate(long seconds)
{
    char ca_cert[PATH_MAX + 32], ca_key[PATH_MAX + 32], cert[PATH_MAX + 32], key[PATH_MAX + 32],
        keep[PATH_MAX + 48];
    snprintf(ca_cert, sizeof(ca_cert), "%s/ca/ca.crt", lu.s.dir);
    snprintf(ca_key, sizeof(ca_key), "%s/ca/ca.key", lu.s.dir);
    snprintf(cert, sizeof(cert), "%s/gateway/gateway.crt", lu.s.dir);
    snprintf(key, sizeof(key), "%s/gateway/gateway.key", lu.s.dir);
    X509 *ca = NULL, *leaf = NULL;
    EVP_PKEY *ca_pkey = NULL, *leaf_key = NULL;
    ecl_err err;
    assert_int_equal(pki_load_cert(ca_cert, &ca, &err), 0);
    assert_int_equal(pki_load_key(ca_key, &ca_pkey, &err), 0);
    const char *names[] = {"localhost", "127.0.0.1", NULL};
    /* Valid for one day that ends `seconds` from now (pki_issue starts a
     * certificate 60 s early, for clocks a little behind). */
    pki_leaf_request req = {"spiffe://lu/gateway", names, -86400L + 60 + seconds, 1};
    assert_int_equal(pki_issue(ca, ca_pkey, &req, &leaf, &leaf_key, &err), 0);
    snprintf(keep, sizeof(keep), "%s.good", cert);
    assert_int_equal(rename(cert, keep), 0);
    snprintf(keep, sizeof(keep), "%s.good", key);
    assert_int_equal(rename(key, keep), 0);
    assert_int_equal(pki_write_key(key, leaf_key, &err), 0);
    assert_int_equal(pki_write_cert(cert, leaf, &err), 0);
    X509_free(ca);
    X509_free(leaf);
    EVP_PKEY_free(ca_pkey);
    EVP_PKEY_free(leaf_key);
}

static void good_gateway_certificate_back(void)
{
    char path[PATH_MAX + 32], keep[PATH_MAX + 48];
    const char *names[] = {"gateway/gateway.key", "gateway/gateway.crt"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "%s/%s", lu.s.dir, names[i]);
        snprintf(keep, sizeof(keep), "%s.good", path);
        assert_int_equal(rename(keep, path), 0);
    }
}

static void test_a_peer_whose_certificate_expired_is_shown_so(void **state)
{
    (void)state;
    /* Long enough for LU to take it on SIGHUP while it is still valid (a
     * reload takes a few seconds under valgrind), and no longer: the test
     * then waits for it to run out. */
    long margin = (long)(5 + th_time_scale());
    time_t expires = time(NULL) + margin;
    short_lived_gateway_certificate(margin);
    reload(&lu.s);
    assert_true(th_file_contains(lu.s.log, "event=reload.certificate") &&
                count_in_log(&lu.s, "result=changed") >= 1);
    while (time(NULL) <= expires + 1)
        usleep(100 * 1000);
    fi_refresh();
    json_t *doc = fi_sees("lu");
    assert_string_equal(str(doc, "status"), "TLS: certificate expired");
    assert_non_null(strstr(str(doc, "error_detail"), "expired"));
    assert_true(num(doc, "error_unix") > 0);
    assert_true(num(doc, "last_contact_unix") > 0); /* the last good one is kept */
    json_decref(doc);
    char line[1024];
    fi_line("lu", line, sizeof(line));
    assert_non_null(strstr(line, "TLS: certificate expired ("));

    good_gateway_certificate_back();
    reload(&lu.s);
    fi_refresh();
    doc = fi_sees("lu");
    assert_string_equal(str(doc, "status"), "ok");
    json_decref(doc);
}

static void copy_tree(const char *from, const char *to)
{
    char cmd[8 * PATH_MAX];
    assert_true(snprintf(cmd, sizeof(cmd), "rm -rf '%s' && cp -a '%s' '%s'", to, from, to) <
                (int)sizeof(cmd));
    assert_int_equal(system(cmd), 0);
}

static void test_a_rolled_back_catalog_is_shown_with_both_versions(void **state)
{
    (void)state;
    char state_dir[2 * PATH_MAX], backup[2 * PATH_MAX];
    snprintf(state_dir, sizeof(state_dir), "%s/data/state", lu.s.dir);
    snprintf(backup, sizeof(backup), "%s/lu-state-backup", root);
    assert_int_equal(th_gateway_stop(&lu.s, NULL), 0);
    copy_tree(state_dir, backup);
    th_gateway_start(&lu.s);
    publish(&lu, "after-backup");
    fi_refresh();
    json_t *doc = fi_sees("lu");
    long long held = num(doc, "catalog_version");
    assert_string_equal(str(doc, "status"), "ok");
    json_decref(doc);

    assert_int_equal(th_gateway_stop(&lu.s, NULL), 0);
    copy_tree(backup, state_dir);
    th_gateway_start(&lu.s);
    fi_refresh();
    doc = fi_sees("lu");
    long long from = 0, to = 0;
    assert_int_equal(
        sscanf(str(doc, "status"), "catalog refused: rollback from v%lld to v%lld", &from, &to), 2);
    assert_int_equal(from, held);
    assert_true(to < from);
    assert_int_equal(num(doc, "catalog_version"), held); /* what it verified last stays */
    json_decref(doc);
    char line[1024], want[96];
    fi_line("lu", line, sizeof(line));
    snprintf(want, sizeof(want), "catalog refused: rollback from v%lld to v%lld (", from, to);
    assert_non_null(strstr(line, want));
}

static void test_a_peer_that_removed_us_is_shown_so_until_it_adds_us_again(void **state)
{
    (void)state;
    fi_refresh();
    json_t *doc = fi_sees("de");
    assert_string_equal(str(doc, "status"), "ok");
    json_decref(doc);
    must(th_run(out, sizeof(out), "peer", "remove", "fi", "--identity", de.admin, NULL),
         "peer remove fi at de");
    fi_refresh();
    doc = fi_sees("de");
    assert_string_equal(str(doc, "status"), "removed us");
    json_decref(doc);
    char line[1024];
    fi_line("de", line, sizeof(line));
    assert_non_null(strstr(line, "removed us ("));
    assert_null(strstr(line, "Socket closed"));

    must(th_peer_add(out, sizeof(out), fi.bundle, de.admin), "peer add fi at de again");
    wait_status("de", "ok");
}

static void test_a_stopped_peer_is_unreachable(void **state)
{
    (void)state;
    assert_int_equal(th_gateway_stop(&de.s, NULL), 0);
    fi_refresh();
    json_t *doc = fi_sees("de");
    assert_string_equal(str(doc, "status"), "unreachable");
    assert_non_null(strstr(str(doc, "error_detail"), "connect"));
    assert_true(num(doc, "last_contact_unix") > 0);
    json_decref(doc);
    char line[1024];
    fi_line("de", line, sizeof(line));
    assert_non_null(strstr(line, "unreachable ("));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_peer_that_has_not_added_us_yet_is_shown_so_until_it_does),
        cmocka_unit_test(test_a_healthy_peer_shows_key_catalog_and_contact),
        cmocka_unit_test(test_a_followed_rotation_shows_the_next_key_generation),
        cmocka_unit_test(test_a_peer_whose_certificate_expired_is_shown_so),
        cmocka_unit_test(test_a_rolled_back_catalog_is_shown_with_both_versions),
        cmocka_unit_test(test_a_peer_that_removed_us_is_shown_so_until_it_adds_us_again),
        cmocka_unit_test(test_a_stopped_peer_is_unreachable),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
