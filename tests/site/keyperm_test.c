/*
 * keyperm_test.c - private key files that group or others can read are
 * refused, as ssh refuses them, naming the file and its mode; and the
 * refusal changes nothing on disk.
 *
 * A real site made by `ecluse site init`: the gateway with a 0666 TLS key,
 * then a 0644 site signing key, does not start; the CLI refuses a 0644
 * key.pem of an identity, and `pki issue` a 0640 CA key. Put back to 0600,
 * the same files serve: the gateway starts and the identity is served.
 */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "client/client.h"
#include "tests/support/harness.h"

#define OUT_MAX (64 * 1024)

static char root[PATH_MAX - 200];
static th_site fi;
static char researcher[PATH_MAX];
static char out[OUT_MAX];

static int setup(void **state)
{
    (void)state;
    th_tmpdir(root, sizeof(root));
    th_site_create(&fi, root, "fi", "FI");
    th_issue(&fi, "researcher", "alice", researcher, sizeof(researcher));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (fi.pid != 0)
        assert_int_equal(th_gateway_stop(&fi, NULL), 0);
    return 0;
}

/* ---- what the site directory holds: every path, mode, size, mtime ---------- */

static char *listing;
static size_t listing_used;

static int list_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)type;
    /* LMDB's lock.mdb is compared by name and mode only: `gateway --check`
     * goes on past a refused key to read the trail and the state, and a
     * read-only reader takes a slot in it. */
    if (strcmp(path + ftw->base, "lock.mdb") == 0) {
        int n = snprintf(listing + listing_used, OUT_MAX - listing_used, "%s %o\n", path,
                         (unsigned)st->st_mode);
        if (n > 0 && listing_used + (size_t)n < OUT_MAX)
            listing_used += (size_t)n;
        return 0;
    }
    int n = snprintf(listing + listing_used, OUT_MAX - listing_used, "%s %o %lld %lld.%09ld\n",
                     path, (unsigned)st->st_mode, (long long)st->st_size,
                     (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
    if (n > 0 && listing_used + (size_t)n < OUT_MAX)
        listing_used += (size_t)n;
    return 0;
}

static char *snapshot(void)
{
    listing = calloc(1, OUT_MAX);
    assert_non_null(listing);
    listing_used = 0;
    assert_int_equal(nftw(fi.dir, list_one, 16, FTW_PHYS), 0);
    return listing;
}

static void expect_unchanged(char *before)
{
    char *after = snapshot();
    if (strcmp(before, after) != 0) {
        /* Name the first line that differs: the whole listings would not fit
         * in cmocka's message. */
        size_t at = 0;
        while (before[at] != '\0' && before[at] == after[at])
            at++;
        while (at > 0 && before[at - 1] != '\n')
            at--;
        fail_msg(
            "the refusal changed the site directory, first at:\nbefore: %.300s\nafter:  %.300s",
            before + at, after + at);
    }
    free(before);
    free(after);
}

static void chmod_in_site(const char *rel, mode_t mode, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", fi.dir, rel);
    assert_int_equal(chmod(path, mode), 0);
}

/* `ecluse ARGS` exits 3 naming `path` and `mode`, and changes nothing. */
static void expect_refused(const char *path, const char *mode, const char *a1, const char *a2,
                           const char *a3, const char *a4)
{
    char *before = snapshot();
    int rc = th_run(out, sizeof(out), a1, a2, a3, a4, NULL);
    assert_int_equal(rc, 3);
    char want[64];
    snprintf(want, sizeof(want), "(mode %s)", mode);
    if (strstr(out, path) == NULL || strstr(out, want) == NULL ||
        strstr(out, "readable by group or others") == NULL)
        fail_msg("the refusal does not name %s and its mode %s: %s", path, mode, out);
    expect_unchanged(before);
}

static void test_the_gateway_refuses_a_tls_key_others_can_read(void **state)
{
    (void)state;
    char key[PATH_MAX + 32];
    chmod_in_site("gateway/gateway.key", 0666, key, sizeof(key));
    expect_refused(key, "0666", "gateway", "--config", fi.config, NULL);
    expect_refused(key, "0666", "gateway", "--config", fi.config, "--check");
    assert_int_equal(chmod(key, 0600), 0);
}

static void test_the_gateway_refuses_a_site_key_others_can_read(void **state)
{
    (void)state;
    char key[PATH_MAX + 32];
    chmod_in_site("keys/site.key", 0644, key, sizeof(key));
    expect_refused(key, "0644", "gateway", "--config", fi.config, NULL);
    assert_int_equal(chmod(key, 0600), 0);
}

static void test_pki_refuses_a_ca_key_the_group_can_read(void **state)
{
    (void)state;
    char key[PATH_MAX + 32];
    chmod_in_site("ca/ca.key", 0640, key, sizeof(key));
    int rc = th_run(out, sizeof(out), "pki", "issue", "--dir", fi.dir, "--role", "researcher",
                    "--name", "bob", NULL);
    assert_int_equal(rc, 3);
    if (strstr(out, key) == NULL || strstr(out, "(mode 0640)") == NULL)
        fail_msg("the refusal does not name %s and its mode: %s", key, out);
    /* The trail records the refused issue; no identity was made. */
    char bob[PATH_MAX + 32];
    snprintf(bob, sizeof(bob), "%s/identities/researcher-bob", fi.dir);
    struct stat st;
    assert_int_equal(stat(bob, &st), -1);
    assert_int_equal(chmod(key, 0600), 0);
}

static void test_the_client_refuses_a_key_pem_others_can_read(void **state)
{
    (void)state;
    char key[PATH_MAX + 16];
    snprintf(key, sizeof(key), "%s/key.pem", researcher);
    assert_int_equal(chmod(key, 0644), 0);
    /* The CLI: exit 3, naming the file and its mode, nothing changed. */
    char *before = snapshot();
    assert_int_equal(th_run(out, sizeof(out), "health", "--identity", researcher, NULL), 3);
    if (strstr(out, key) == NULL || strstr(out, "(mode 0644)") == NULL)
        fail_msg("ecluse health does not name %s and its mode: %s", key, out);
    expect_unchanged(before);
    /* The client library, as a training job uses it. */
    ecl_client *c = NULL;
    ecl_err err;
    assert_int_equal(ecl_client_open(researcher, NULL, &c, &err), -1);
    assert_int_equal(err.code, ECL_E_INPUT);
    assert_non_null(strstr(err.msg, key));
    assert_non_null(strstr(err.msg, "chmod 600"));
    assert_int_equal(chmod(key, 0600), 0);
}

/* Back at 0600, the same files serve: the refusals were the modes. */
static void test_the_same_keys_at_0600_serve(void **state)
{
    (void)state;
    th_gateway_start(&fi);
    assert_int_equal(th_run(out, sizeof(out), "health", "--identity", researcher, NULL), 0);
    assert_non_null(strstr(out, "alice"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_gateway_refuses_a_tls_key_others_can_read),
        cmocka_unit_test(test_the_gateway_refuses_a_site_key_others_can_read),
        cmocka_unit_test(test_pki_refuses_a_ca_key_the_group_can_read),
        cmocka_unit_test(test_the_client_refuses_a_key_pem_others_can_read),
        cmocka_unit_test(test_the_same_keys_at_0600_serve),
    };
    return cmocka_run_group_tests_name("keyperm", tests, setup, teardown);
}
