/*
 * check_test.c - `ecluse gateway --check` reads and changes nothing, and
 * names every problem it finds.
 *
 * A fresh site checks OK without gaining data/audit, data/state or a lock;
 * a site with several problems (in its files or in its configuration's
 * settings) gets each one on its own line, a summary, and the exit code of
 * the first (docs/cli.md); a site whose gateway runs
 * is checked beside it, without waiting for its audit lock.
 */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/support/harness.h"

static char root[PATH_MAX];
static char out[16384];

/* The tree under a site: each entry's path, type, mode, size and mtime,
 * sorted. LMDB's lock.mdb is listed by name and mode only: a read-only
 * reader takes a slot in it, which is how LMDB works, not a change. */
#define SNAP_MAX 256
static char *snap_lines[SNAP_MAX];
static size_t snap_count;
static size_t snap_prefix;

static int snap_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)flag;
    (void)ftw;
    assert_true(snap_count < SNAP_MAX);
    char line[PATH_MAX + 128];
    const char *rel = path + snap_prefix;
    const char *leaf = strrchr(path, '/');
    if (leaf != NULL && strcmp(leaf, "/lock.mdb") == 0)
        snprintf(line, sizeof(line), "%s %o", rel, (unsigned)st->st_mode);
    else
        snprintf(line, sizeof(line), "%s %o %lld %lld.%09ld", rel, (unsigned)st->st_mode,
                 (long long)st->st_size, (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
    snap_lines[snap_count] = strdup(line);
    assert_non_null(snap_lines[snap_count]);
    snap_count++;
    return 0;
}

static int by_text(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A malloc'd text of the tree under `dir`. */
static char *snapshot(const char *dir)
{
    snap_count = 0;
    snap_prefix = strlen(dir);
    assert_int_equal(nftw(dir, snap_entry, 16, FTW_PHYS), 0);
    qsort(snap_lines, snap_count, sizeof(snap_lines[0]), by_text);
    size_t total = 1;
    for (size_t i = 0; i < snap_count; i++)
        total += strlen(snap_lines[i]) + 1;
    char *text = malloc(total);
    assert_non_null(text);
    text[0] = '\0';
    for (size_t i = 0; i < snap_count; i++) {
        strcat(text, snap_lines[i]);
        strcat(text, "\n");
        free(snap_lines[i]);
    }
    return text;
}

static int exists_in(const th_site *s, const char *rel)
{
    char path[2 * PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", s->dir, rel);
    struct stat st;
    return lstat(path, &st) == 0;
}

static int count_error_lines(const char *text)
{
    int n = 0;
    for (const char *p = text; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p ? p + 1 : p)
        n += strncmp(p, "ecluse gateway: error: ", 23) == 0;
    return n;
}

static void write_file(const th_site *s, const char *rel, const char *text, mode_t mode)
{
    char path[2 * PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", s->dir, rel);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static int setup(void **state)
{
    (void)state;
    th_tmpdir(root, sizeof(root));
    return 0;
}

static void test_a_fresh_site_checks_ok_and_gains_nothing(void **state)
{
    (void)state;
    th_site s;
    th_site_create(&s, root, "fi", "FI");
    char *before = snapshot(s.dir);
    int rc = th_run(out, sizeof(out), "gateway", "--config", s.config, "--check", NULL);
    if (rc != 0 || strstr(out, "configuration OK") == NULL)
        fail_msg("expected exit 0 and 'configuration OK'; got %d and:\n%s", rc, out);
    assert_non_null(strstr(out, "note: no audit trail yet"));
    assert_non_null(strstr(out, "note: no federation state yet"));
    char *after = snapshot(s.dir);
    assert_string_equal(before, after);
    assert_false(exists_in(&s, "data/audit"));
    assert_false(exists_in(&s, "data/state"));
    assert_false(exists_in(&s, "data/audit.lock"));
    free(before);
    free(after);
}

static void test_every_problem_is_reported_and_nothing_changes(void **state)
{
    (void)state;
    th_site s;
    th_site_create(&s, root, "lu", "LU");
    /* Three problems of three kinds: a missing CA file (not found, 5), a
     * policy file that is not JSON (bad input, 3) and a gateway key that is
     * a real key, but not the certificate's (bad input, 3). */
    char ca[2 * PATH_MAX];
    snprintf(ca, sizeof(ca), "%s/ca/ca.crt", s.dir);
    assert_int_equal(unlink(ca), 0);
    write_file(&s, "policy/transfer_rules.json", "{\"ecluse_transfer_rules\": [", 0644);
    char *other_key = NULL;
    {
        char path[2 * PATH_MAX];
        snprintf(path, sizeof(path), "%s/ca/ca.key", s.dir);
        other_key = th_read(path);
        assert_non_null(other_key);
    }
    write_file(&s, "gateway/gateway.key", other_key, 0600);
    free(other_key);
    char *before = snapshot(s.dir);
    int rc = th_run(out, sizeof(out), "gateway", "--config", s.config, "--check", NULL);
    if (rc != 5)
        fail_msg("expected exit 5 (the first problem: the CA file is missing); got %d and:\n%s", rc,
                 out);
    assert_non_null(strstr(out, "ca/ca.crt: cannot open"));
    assert_non_null(strstr(out, "policy/transfer_rules.json"));
    assert_non_null(strstr(out, "gateway/gateway.key does not match the certificate"));
    assert_non_null(strstr(out, "3 problems"));
    /* Each problem on its own line, then the summary. */
    assert_int_equal(count_error_lines(out), 4);
    assert_null(strstr(out, "configuration OK"));
    char *after = snapshot(s.dir);
    assert_string_equal(before, after);
    assert_false(exists_in(&s, "data/audit"));
    assert_false(exists_in(&s, "data/state"));
    free(before);
    free(after);
}

static void test_one_problem_is_one_line_with_its_own_code(void **state)
{
    (void)state;
    th_site s;
    th_site_create(&s, root, "ee", "EE");
    write_file(&s, "policy/sccs.json", "not json\n", 0644);
    int rc = th_run(out, sizeof(out), "gateway", "--config", s.config, "--check", NULL);
    if (rc != 3 || strstr(out, "policy/sccs.json") == NULL)
        fail_msg("expected exit 3 naming policy/sccs.json; got %d and:\n%s", rc, out);
    assert_int_equal(count_error_lines(out), 1);
    assert_null(strstr(out, "problems"));
}

static void test_every_bad_setting_of_the_configuration_is_named(void **state)
{
    (void)state;
    th_site s;
    th_site_create(&s, root, "lv", "LV");
    write_file(&s, "broken.json",
               "{\"site\": \"lv\", \"country\": \"QQ\", \"listen\": \"127.0.0.1:99999\",\n"
               " \"data_dir\": \"data\", \"signing_key\": \"keys/site.key\",\n"
               " \"tls\": {\"cert\": \"gateway/gateway.crt\", \"key\": \"\", \"ca\": "
               "\"ca/ca.crt\"},\n"
               " \"server\": {\"threads\": 0}}\n",
               0644);
    char config[2 * PATH_MAX];
    snprintf(config, sizeof(config), "%s/broken.json", s.dir);
    char *before = snapshot(s.dir);
    int rc = th_run(out, sizeof(out), "gateway", "--config", config, "--check", NULL);
    if (rc != 3)
        fail_msg("expected exit 3; got %d and:\n%s", rc, out);
    assert_non_null(strstr(out, "field 'country': 'QQ' is not an ISO 3166-1 alpha-2 code"));
    assert_non_null(strstr(out, "field 'listen': '127.0.0.1:99999' has no valid port"));
    assert_non_null(strstr(out, "field 'tls.key': must not be empty"));
    assert_non_null(strstr(out, "field 'server.threads': must be between 1 and 64"));
    assert_non_null(strstr(out, "4 problems"));
    assert_int_equal(count_error_lines(out), 5);
    char *after = snapshot(s.dir);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

/* Copy `rel` from site `from` to site `to`, keeping its mode. */
static void copy_into(const th_site *from, const th_site *to, const char *rel, mode_t mode)
{
    char path[2 * PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", from->dir, rel);
    char *text = th_read(path);
    assert_non_null(text);
    write_file(to, rel, text, mode);
    free(text);
}

static void test_a_certificate_of_another_ca_is_bad_input(void **state)
{
    (void)state;
    /* Two sites named "pt": the second's gateway pair is spiffe://pt/gateway
     * all right, but its CA is not the first site's. */
    char other_root[PATH_MAX];
    th_tmpdir(other_root, sizeof(other_root));
    th_site s, other;
    th_site_create(&s, root, "pt", "PT");
    th_site_create(&other, other_root, "pt", "PT");
    copy_into(&other, &s, "gateway/gateway.crt", 0644);
    copy_into(&other, &s, "gateway/gateway.key", 0600);
    char *before = snapshot(s.dir);
    int rc = th_run(out, sizeof(out), "gateway", "--config", s.config, "--check", NULL);
    if (rc != 3 || strstr(out, "does not verify against the CA") == NULL)
        fail_msg("--check: expected exit 3 and 'does not verify against the CA'; got %d:\n%s", rc,
                 out);
    assert_int_equal(count_error_lines(out), 1);
    /* A start says the same, with the same code. */
    rc = th_run(out, sizeof(out), "gateway", "--config", s.config, NULL);
    if (rc != 3 || strstr(out, "does not verify against the CA") == NULL)
        fail_msg("start: expected exit 3 and 'does not verify against the CA'; got %d:\n%s", rc,
                 out);
    char *after = snapshot(s.dir);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

static void test_a_running_site_is_checked_beside_its_gateway(void **state)
{
    (void)state;
    th_site s;
    th_site_create(&s, root, "de", "DE");
    th_gateway_start(&s);
    /* The gateway holds the audit lock; a check neither waits for it nor
     * takes it, and reads the trail the gateway writes. */
    int rc = th_run(out, sizeof(out), "gateway", "--config", s.config, "--check", NULL);
    if (rc != 0 || strstr(out, "configuration OK") == NULL ||
        strstr(out, "note: audit trail: ") == NULL)
        fail_msg("expected exit 0 with the audit trail noted; got %d and:\n%s", rc, out);
    assert_null(strstr(out, "no audit trail yet"));
    assert_int_equal(th_gateway_stop(&s, NULL), 0);
    /* Stopped: the check changes none of what the gateway left. */
    char *before = snapshot(s.dir);
    rc = th_run(out, sizeof(out), "gateway", "--config", s.config, "--check", NULL);
    if (rc != 0)
        fail_msg("expected exit 0 on the stopped site; got %d and:\n%s", rc, out);
    char *after = snapshot(s.dir);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_fresh_site_checks_ok_and_gains_nothing),
        cmocka_unit_test(test_every_problem_is_reported_and_nothing_changes),
        cmocka_unit_test(test_one_problem_is_one_line_with_its_own_code),
        cmocka_unit_test(test_every_bad_setting_of_the_configuration_is_named),
        cmocka_unit_test(test_a_certificate_of_another_ca_is_bad_input),
        cmocka_unit_test(test_a_running_site_is_checked_beside_its_gateway),
    };
    return cmocka_run_group_tests_name("gateway --check", tests, setup, NULL);
}
