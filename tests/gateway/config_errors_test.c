/*
 * config_errors_test.c - a gateway that cannot start says exactly why.
 *
 * Each broken configuration ends `ecluse gateway` with a non-zero exit and
 * one error line naming the problem: the file, the field, the address.
 */
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
static th_site site;

static int setup(void **state)
{
    (void)state;
    th_tmpdir(root, sizeof(root));
    th_site_create(&site, root, "fi", "FI");
    return 0;
}

/* Write `json` as a config inside the site dir (so relative paths resolve). */
static const char *config_with(const char *name, const char *json)
{
    static char path[2 * PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", site.dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(json, f);
    fclose(f);
    return path;
}

/* Lines of the form "ecluse gateway: error: ...", and lines at all. */
static int count_error_lines(const char *out)
{
    int n = 0;
    for (const char *p = out; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p ? p + 1 : p)
        n += strncmp(p, "ecluse gateway: error: ", 23) == 0;
    return n;
}

static int count_lines(const char *out)
{
    int n = 0;
    for (const char *p = out; *p != '\0'; p++)
        n += *p == '\n';
    return n;
}

/* Run `ecluse gateway --config path` (really starting it: no --check) and
 * expect failure with `exit_code` and a message containing `needle`. */
static void expect_start_failure(const char *path, int exit_code, const char *needle)
{
    char out[8192];
    int rc = th_run(out, sizeof(out), "gateway", "--config", path, NULL);
    if (rc != exit_code || strstr(out, needle) == NULL)
        fail_msg("expected exit %d and '%s'; got exit %d and:\n%s", exit_code, needle, rc, out);
    /* One message, and nothing else: no library noise around it. */
    assert_int_equal(count_error_lines(out), 1);
    assert_int_equal(count_lines(out), 1);
}

static const char *valid_json(const char *overrides_key, const char *overrides_value)
{
    static char json[4096];
    char listen[64];
    snprintf(listen, sizeof(listen), "\"127.0.0.1:%d\"", th_free_port());
    const char *keys[] = {"site", "country", "listen", "data_dir", "tls", "signing_key"};
    const char *vals[] = {"\"fi\"",
                          "\"FI\"",
                          listen,
                          "\"data\"",
                          "{\"cert\": \"gateway/gateway.crt\", \"key\": \"gateway/gateway.key\", "
                          "\"ca\": \"ca/ca.crt\"}",
                          "\"keys/site.key\""};
    size_t used = (size_t)snprintf(json, sizeof(json), "{");
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const char *v = vals[i];
        if (overrides_key != NULL && strcmp(keys[i], overrides_key) == 0)
            v = overrides_value;
        if (v == NULL)
            continue; /* removed */
        used += (size_t)snprintf(json + used, sizeof(json) - used, "%s\"%s\": %s",
                                 used > 1 ? ", " : "", keys[i], v);
    }
    snprintf(json + used, sizeof(json) - used, "}\n");
    return json;
}

static void test_missing_config_file(void **state)
{
    (void)state;
    char path[2 * PATH_MAX];
    snprintf(path, sizeof(path), "%s/nowhere.json", root);
    expect_start_failure(path, 5, "nowhere.json: cannot open");
}

static void test_config_not_json(void **state)
{
    (void)state;
    expect_start_failure(config_with("broken.json", "{\"site\": \"fi\",,}"), 3, "line 1");
}

static void test_unknown_setting(void **state)
{
    (void)state;
    char json[4096];
    snprintf(json, sizeof(json), "%s", valid_json(NULL, NULL));
    char *brace = strrchr(json, '}');
    snprintf(brace, sizeof(json) - (size_t)(brace - json), ", \"lisen\": 1}\n");
    expect_start_failure(config_with("typo.json", json), 3,
                         "field 'lisen': is not a known setting");
}

static void test_bad_country_code(void **state)
{
    (void)state;
    expect_start_failure(config_with("country.json", valid_json("country", "\"XX\"")), 3,
                         "field 'country': 'XX' is not an ISO 3166-1 alpha-2 code");
    expect_start_failure(config_with("country2.json", valid_json("country", "\"Finland\"")), 3,
                         "'Finland' is not an ISO 3166-1 alpha-2 code");
}

static void test_missing_required_field(void **state)
{
    (void)state;
    expect_start_failure(config_with("nosite.json", valid_json("site", NULL)), 3,
                         "field 'site': is required");
}

static void test_bad_listen_address(void **state)
{
    (void)state;
    expect_start_failure(config_with("listen.json", valid_json("listen", "\"127.0.0.1\"")), 3,
                         "field 'listen': '127.0.0.1' is not host:port");
    expect_start_failure(config_with("listen2.json", valid_json("listen", "\"127.0.0.1:99999\"")),
                         3, "has no valid port");
}

static void test_key_file_missing(void **state)
{
    (void)state;
    const char *tls = "{\"cert\": \"gateway/gateway.crt\", \"key\": \"gateway/missing.key\", "
                      "\"ca\": \"ca/ca.crt\"}";
    expect_start_failure(config_with("nokey.json", valid_json("tls", tls)), 5,
                         "gateway/missing.key: cannot open");
}

static void test_key_file_unreadable_as_a_key(void **state)
{
    (void)state;
    char garbage[2 * PATH_MAX];
    snprintf(garbage, sizeof(garbage), "%s/gateway/garbage.key", site.dir);
    FILE *f = fopen(garbage, "w");
    assert_non_null(f);
    fputs("this is not a key\n", f);
    fclose(f);
    assert_int_equal(chmod(garbage, 0600), 0); /* a key others can read is refused first */
    const char *tls = "{\"cert\": \"gateway/gateway.crt\", \"key\": \"gateway/garbage.key\", "
                      "\"ca\": \"ca/ca.crt\"}";
    expect_start_failure(config_with("garbagekey.json", valid_json("tls", tls)), 3,
                         "garbage.key: not a PEM private key");
    const char *dir_as_key = "{\"cert\": \"gateway/gateway.crt\", \"key\": \"gateway\", "
                             "\"ca\": \"ca/ca.crt\"}";
    expect_start_failure(config_with("dirkey.json", valid_json("tls", dir_as_key)), 4,
                         "not a regular file");
}

static void test_key_that_does_not_match_the_certificate(void **state)
{
    (void)state;
    /* The CA's key is a real key, but not the gateway certificate's. */
    const char *tls = "{\"cert\": \"gateway/gateway.crt\", \"key\": \"ca/ca.key\", "
                      "\"ca\": \"ca/ca.crt\"}";
    expect_start_failure(config_with("mismatch.json", valid_json("tls", tls)), 3,
                         "ca/ca.key does not match the certificate");
}

static void test_certificate_of_another_identity(void **state)
{
    (void)state;
    /* The CA certificate (spiffe://fi) presented as the gateway's. */
    const char *tls = "{\"cert\": \"ca/ca.crt\", \"key\": \"ca/ca.key\", \"ca\": \"ca/ca.crt\"}";
    expect_start_failure(config_with("notgateway.json", valid_json("tls", tls)), 3,
                         "not of spiffe://fi/gateway");
}

static void test_port_in_use(void **state)
{
    (void)state;
    th_gateway_start(&site); /* holds its port and its audit trail */
    char needle[128], listen[64];
    snprintf(needle, sizeof(needle), "cannot listen on 127.0.0.1:%d: Address already in use",
             site.port);
    /* Its port, with a trail of its own (the same trail is refused first). */
    snprintf(listen, sizeof(listen), "\"127.0.0.1:%d\"", site.port);
    char *json = strdup(valid_json("listen", listen));
    assert_non_null(json);
    char *data = strstr(json, "\"data\"");
    assert_non_null(data);
    memcpy(data, "\"dat2\"", 6);
    expect_start_failure(config_with("same-port.json", json), 8, needle);
    free(json);
    assert_int_equal(th_gateway_stop(&site, NULL), 0);
}

static void test_a_second_gateway_on_the_same_trail(void **state)
{
    (void)state;
    th_gateway_start(&site);
    /* The trail has one writer: the second waits a moment, then says why. */
    expect_start_failure(site.config, 8, "another process holds this site's audit trail");
    assert_int_equal(th_gateway_stop(&site, NULL), 0);
}

static void test_check_flag_validates_without_serving(void **state)
{
    (void)state;
    char out[4096];
    assert_int_equal(th_run(out, sizeof(out), "gateway", "--config", site.config, "--check", NULL),
                     0);
    assert_non_null(strstr(out, "configuration OK"));
    assert_int_equal(th_run(out, sizeof(out), "gateway", "--config",
                            config_with("check-bad.json", valid_json("country", "\"ZZ\"")),
                            "--check", NULL),
                     3);
    assert_non_null(strstr(out, "'ZZ' is not an ISO 3166-1 alpha-2 code"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_missing_config_file),
        cmocka_unit_test(test_config_not_json),
        cmocka_unit_test(test_unknown_setting),
        cmocka_unit_test(test_bad_country_code),
        cmocka_unit_test(test_missing_required_field),
        cmocka_unit_test(test_bad_listen_address),
        cmocka_unit_test(test_key_file_missing),
        cmocka_unit_test(test_key_file_unreadable_as_a_key),
        cmocka_unit_test(test_key_that_does_not_match_the_certificate),
        cmocka_unit_test(test_certificate_of_another_identity),
        cmocka_unit_test(test_port_in_use),
        cmocka_unit_test(test_a_second_gateway_on_the_same_trail),
        cmocka_unit_test(test_check_flag_validates_without_serving),
    };
    return cmocka_run_group_tests_name("gateway config errors", tests, setup, NULL);
}
