/* cli_test.c - the ecluse command line: help, usage errors, site creation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "tests/support/harness.h"

static char root[PATH_MAX - 256];
static char out[16384];

static int setup(void **state)
{
    (void)state;
    th_tmpdir(root, sizeof(root));
    return 0;
}

static void test_help_for_every_command(void **state)
{
    (void)state;
    static char overview[8192];
    assert_int_equal(th_run(overview, sizeof(overview), "--help", NULL), 0);
    const char *commands[][2] = {
        {"site", "init"}, {"pki", "issue"}, {"gateway", NULL}, {"health", NULL}};
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        assert_non_null(strstr(overview, commands[i][0]));
        int rc = commands[i][1]
                     ? th_run(out, sizeof(out), commands[i][0], commands[i][1], "--help", NULL)
                     : th_run(out, sizeof(out), commands[i][0], "--help", NULL);
        assert_int_equal(rc, 0);
        assert_non_null(strstr(out, "Usage: ecluse"));
        assert_non_null(strstr(out, "Example"));
        assert_int_equal(th_run(out, sizeof(out), "help", commands[i][0], commands[i][1], NULL), 0);
        assert_non_null(strstr(out, "Usage: ecluse"));
    }
}

static void test_usage_errors_exit_2_and_say_what(void **state)
{
    (void)state;
    assert_int_equal(th_run(out, sizeof(out), "frobnicate", NULL), 2);
    assert_non_null(strstr(out, "unknown command 'frobnicate'"));
    assert_int_equal(th_run(out, sizeof(out), "site", "init", "--bogus", NULL), 2);
    assert_non_null(strstr(out, "unknown option '--bogus'"));
    assert_int_equal(th_run(out, sizeof(out), "site", "init", "--site", NULL), 2);
    assert_non_null(strstr(out, "needs a value"));
    assert_int_equal(th_run(out, sizeof(out), "site", "init", "--site", "fi", NULL), 2);
    assert_non_null(strstr(out, "--site, --country and --dir are required"));
    assert_int_equal(th_run(out, sizeof(out), "pki", "issue", "--dir", root, "--role", "wizard",
                            "--name", "x", NULL),
                     2);
    assert_non_null(strstr(out, "'wizard' is not one of researcher, auditor, admin"));
    assert_int_equal(th_run(out, sizeof(out), "pki", "issue", "--dir", root, "--role", "researcher",
                            "--name", "x", "--days", "ten", NULL),
                     2);
    assert_non_null(strstr(out, "--days must be a whole number"));
    assert_int_equal(th_run(out, sizeof(out), "gateway", "extra", NULL), 2);
    assert_non_null(strstr(out, "unexpected argument 'extra'"));
}

static void test_site_init_validates_and_refuses_to_overwrite(void **state)
{
    (void)state;
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/fi", root);
    assert_int_equal(th_run(out, sizeof(out), "site", "init", "--site", "fi", "--country", "XX",
                            "--dir", dir, NULL),
                     2);
    assert_non_null(strstr(out, "'XX' is not an ISO 3166-1 alpha-2 code"));
    assert_int_equal(th_run(out, sizeof(out), "site", "init", "--site", "Fi!", "--country", "FI",
                            "--dir", dir, NULL),
                     2);
    assert_non_null(strstr(out, "'Fi!' is not a valid site id"));
    assert_int_equal(th_run(out, sizeof(out), "site", "init", "--site", "fi", "--country", "FI",
                            "--dir", dir, NULL),
                     0);
    char key[2 * PATH_MAX];
    struct stat st;
    const char *secret[] = {"ca/ca.key", "gateway/gateway.key", "keys/site.key"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(key, sizeof(key), "%s/%s", dir, secret[i]);
        assert_int_equal(stat(key, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
    }
    char *before = th_read(key);
    assert_int_equal(th_run(out, sizeof(out), "site", "init", "--site", "fi", "--country", "FI",
                            "--dir", dir, NULL),
                     6);
    assert_non_null(strstr(out, "already holds a site"));
    char *after = th_read(key);
    assert_string_equal(before, after); /* nothing was touched */
    free(before);
    free(after);
}

static void test_pki_issue_writes_an_identity_directory_once(void **state)
{
    (void)state;
    th_site s;
    th_site_create(&s, root, "lu", "LU");
    char id[PATH_MAX];
    th_issue(&s, "auditor", "olli", id, sizeof(id));
    char path[2 * PATH_MAX];
    snprintf(path, sizeof(path), "%s/identity.json", id);
    assert_true(th_file_contains(path, "\"spiffe\": \"spiffe://lu/auditor/olli\""));
    char gateway[64];
    snprintf(gateway, sizeof(gateway), "\"gateway\": \"127.0.0.1:%d\"", s.port);
    assert_true(th_file_contains(path, gateway));
    snprintf(path, sizeof(path), "%s/key.pem", id);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(th_run(out, sizeof(out), "pki", "issue", "--dir", s.dir, "--role", "auditor",
                            "--name", "olli", NULL),
                     6);
    /* Issued once: the same name again needs --renew. */
    assert_non_null(strstr(out, "already has a certificate from this site"));
    assert_non_null(strstr(out, "give --renew"));
}

static void test_health_without_identity_says_how_to_get_one(void **state)
{
    (void)state;
    unsetenv("ECLUSE_IDENTITY");
    assert_int_equal(th_run(out, sizeof(out), "health", NULL), 2);
    assert_non_null(strstr(out, "pass --identity DIR or set ECLUSE_IDENTITY"));
    char missing[PATH_MAX];
    snprintf(missing, sizeof(missing), "%s/nobody", root);
    assert_int_equal(th_run(out, sizeof(out), "health", "--identity", missing, NULL), 5);
    assert_non_null(strstr(out, "ca.pem: cannot open"));
}

static void test_health_when_the_gateway_is_down(void **state)
{
    (void)state;
    th_site s;
    th_site_create(&s, root, "de", "DE");
    char id[PATH_MAX];
    th_issue(&s, "researcher", "carla", id, sizeof(id));
    assert_int_equal(th_run(out, sizeof(out), "health", "--identity", id, NULL), 8);
    assert_non_null(strstr(out, "cannot be reached"));
    th_gateway_start(&s);
    assert_int_equal(th_run(out, sizeof(out), "health", "--identity", id, NULL), 0);
    assert_non_null(strstr(out, "gateway of site de (DE) is up"));
    assert_non_null(strstr(out, "you are researcher carla of site de"));
    assert_int_equal(th_gateway_stop(&s, NULL), 0);
}

static void test_gateway_certificate_renewal(void **state)
{
    (void)state;
    th_site s;
    th_site_create(&s, root, "nl", "NL");
    char id[PATH_MAX], cert[2 * PATH_MAX];
    th_issue(&s, "researcher", "ruud", id, sizeof(id));
    snprintf(cert, sizeof(cert), "%s/gateway/gateway.crt", s.dir);
    char *before = th_read(cert);
    assert_int_equal(
        th_run(out, sizeof(out), "pki", "renew-gateway", "--dir", s.dir, "--days", "30", NULL), 0);
    char *after = th_read(cert);
    assert_string_not_equal(before, after);
    free(before);
    free(after);
    assert_int_equal(th_run(out, sizeof(out), "gateway", "--config", s.config, "--check", NULL), 0);
    th_gateway_start(&s);
    assert_int_equal(th_run(out, sizeof(out), "health", "--identity", id, NULL), 0);
    assert_int_equal(th_gateway_stop(&s, NULL), 0);
    assert_int_equal(
        th_run(out, sizeof(out), "pki", "renew-gateway", "--dir", s.dir, "--days", "0", NULL), 2);
}

static void test_man_page_covers_every_command(void **state)
{
    (void)state;
    static char man[512 * 1024];
    assert_int_equal(th_run(man, sizeof(man), "help", "--man", NULL), 0);
    assert_non_null(strstr(man, ".TH ECLUSE 1"));
    const char *words[] = {"site init",    "pki issue",      "gateway",        "peer add",
                           "dataset add",  "catalog search", "access request", "fetch",
                           "audit verify", "key rotate"};
    /* ecluse(1) points to each group's page, which has the command's section. */
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        char group[32], heading[64], see[64];
        snprintf(group, sizeof(group), "%.*s", (int)strcspn(words[i], " "), words[i]);
        snprintf(see, sizeof(see), ".BR ecluse\\-%s (1)", group);
        if (strstr(man, see) == NULL)
            fail_msg("ecluse(1) does not point to ecluse-%s(1)", group);
        static char page[256 * 1024];
        assert_int_equal(th_run(page, sizeof(page), "help", "--man", group, NULL), 0);
        snprintf(heading, sizeof(heading), ".SS ecluse %s\n", words[i]);
        if (strstr(page, heading) == NULL)
            fail_msg("ecluse-%s(1) has no section for '%s'", group, words[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_for_every_command),
        cmocka_unit_test(test_usage_errors_exit_2_and_say_what),
        cmocka_unit_test(test_site_init_validates_and_refuses_to_overwrite),
        cmocka_unit_test(test_pki_issue_writes_an_identity_directory_once),
        cmocka_unit_test(test_health_without_identity_says_how_to_get_one),
        cmocka_unit_test(test_health_when_the_gateway_is_down),
        cmocka_unit_test(test_gateway_certificate_renewal),
        cmocka_unit_test(test_man_page_covers_every_command),
    };
    return cmocka_run_group_tests_name("cli", tests, setup, NULL);
}
