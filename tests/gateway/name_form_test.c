/*
 * name_form_test.c - every command that takes a dataset reads `name` as a
 * dataset of the caller's own site and `site/name` as any site's.
 *
 * Two real sites, fi and lu, peered. fi's admin publishes with both forms
 * and is refused lu's; fi's researcher shows and asks for fi's datasets
 * with both forms and for lu's with `site/name`; fi's admin removes with
 * both forms and is refused lu's, which stays published.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/support/harness.h"

static char root[PATH_MAX - 200];
static char out[64 * 1024];
static th_site fi, lu;
static char fi_admin[PATH_MAX], fi_res[PATH_MAX], lu_admin[PATH_MAX];

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* `ecluse dataset add GIVEN` of a small CSV whose policy names `id`. */
static int add(const char *admin, const char *given, const char *id)
{
    char csv[PATH_MAX + 64], policy[PATH_MAX + 64], text[1024];
    snprintf(csv, sizeof(csv), "%s/rows.csv", root);
    snprintf(policy, sizeof(policy), "%s/policy.json", root);
    write_file(csv, "5.1,3.5,1.4,0\n4.9,3.0,1.4,0\n6.3,3.3,6.0,2\n5.8,2.7,5.1,2\n");
    snprintf(text, sizeof(text),
             "{\"ecluse_policy\": 1, \"dataset\": \"%s\", \"category\": \"anonymous\", "
             "\"purposes\": {\"allowed\": [\"GRU\"]}, \"tensors\": [{\"name\": \"features\"}, "
             "{\"name\": \"labels\"}], \"minimisation\": {\"default\": {\"tensors\": "
             "[\"features\", \"labels\"], \"max_rows\": 4}}, \"storage\": {\"max_grant_days\": "
             "30}}\n",
             id);
    write_file(policy, text);
    return th_run(out, sizeof(out), "dataset", "add", given, "--from", csv, "--label-column", "-1",
                  "--title", "rows", "--description", "test data", "--policy", policy, "--identity",
                  admin, NULL);
}

static void must(int rc, const char *what)
{
    if (rc != 0)
        fail_msg("%s exited %d:\n%s", what, rc, out);
}

static void has(const char *needle)
{
    if (strstr(out, needle) == NULL)
        fail_msg("expected '%s' in:\n%s", needle, out);
}

static int group_setup(void **state)
{
    (void)state;
    th_tmpdir(root, sizeof(root));
    th_site_create(&fi, root, "fi", "FI");
    th_site_create(&lu, root, "lu", "LU");
    th_issue(&fi, "admin", "adm", fi_admin, sizeof(fi_admin));
    th_issue(&fi, "researcher", "r", fi_res, sizeof(fi_res));
    th_issue(&lu, "admin", "adm", lu_admin, sizeof(lu_admin));
    th_gateway_start(&fi);
    th_gateway_start(&lu);
    th_peer(&fi, fi_admin, &lu, lu_admin);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    int a = th_gateway_stop(&fi, NULL), b = th_gateway_stop(&lu, NULL);
    return a == 0 && b == 0 ? 0 : -1;
}

static void test_dataset_add_takes_name_and_own_site_name(void **state)
{
    (void)state;
    must(add(fi_admin, "plain", "fi/plain"), "dataset add plain");
    has("fi/plain");
    must(add(fi_admin, "fi/full", "fi/full"), "dataset add fi/full");
    has("fi/full");
    must(add(lu_admin, "iris", "lu/iris"), "dataset add iris (at lu)");

    assert_int_equal(add(fi_admin, "lu/theirs", "lu/theirs"), 2);
    has("'lu/theirs' is a dataset of site lu");
    has("give 'theirs' or 'fi/theirs'");
    must(th_run(out, sizeof(out), "dataset", "list", "--identity", fi_admin, NULL), "list");
    has("2 dataset(s)");
}

static void test_show_and_catalog_show_take_both_forms(void **state)
{
    (void)state;
    must(th_run(out, sizeof(out), "catalog", "refresh", "--identity", fi_res, NULL), "refresh");
    const char *forms[][2] = {{"plain", "fi/plain"},
                              {"fi/plain", "fi/plain"},
                              {"full", "fi/full"},
                              {"lu/iris", "lu/iris"}};
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        must(th_run(out, sizeof(out), "catalog", "show", forms[i][0], "--identity", fi_res, NULL),
             forms[i][0]);
        has(forms[i][1]);
        must(th_run(out, sizeof(out), "dataset", "show", forms[i][0], "--identity", fi_admin, NULL),
             forms[i][0]);
        has(forms[i][1]);
    }
    /* A bare name is the caller's site's: lu's "iris" is not fi's. */
    assert_int_equal(
        th_run(out, sizeof(out), "catalog", "show", "iris", "--identity", fi_res, NULL), 5);
    has("fi/iris");
}

static void test_access_check_and_request_take_both_forms(void **state)
{
    (void)state;
    const char *forms[][2] = {
        {"plain", "fi/plain"}, {"fi/plain", "fi/plain"}, {"lu/iris", "lu/iris"}};
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        must(th_run(out, sizeof(out), "access", "check", forms[i][0], "--purpose", "GRU", "--basis",
                    "art6-1-e", "--job-country", "FI", "--identity", fi_res, NULL),
             forms[i][0]);
        char want[128];
        snprintf(want, sizeof(want), "PERMIT for %s", forms[i][1]);
        has(want);
    }
    char grant[PATH_MAX + 16], data[PATH_MAX + 32];
    snprintf(grant, sizeof(grant), "%s/plain.grant", root);
    snprintf(data, sizeof(data), "%s/plain.safetensors", root);
    must(th_run(out, sizeof(out), "access", "request", "plain", "--purpose", "GRU", "--basis",
                "art6-1-e", "--job-country", "FI", "--save-grant", grant, "--identity", fi_res,
                NULL),
         "access request plain");
    has("PERMIT for fi/plain");
    must(th_run(out, sizeof(out), "fetch", "--grant", grant, "-o", data, "--no-progress",
                "--identity", fi_res, NULL),
         "fetch");
    has("fetched fi/plain");
}

static void test_malformed_names_are_refused_naming_them(void **state)
{
    (void)state;
    const char *bad[] = {"a/b/c", "/x", "x/", "", "Not A Site/x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(
            th_run(out, sizeof(out), "catalog", "show", bad[i], "--identity", fi_res, NULL), 2);
        char want[96];
        snprintf(want, sizeof(want), "'%s' is not a dataset name", bad[i]);
        has(want);
        assert_int_equal(th_run(out, sizeof(out), "access", "check", bad[i], "--purpose", "GRU",
                                "--basis", "art6-1-e", "--job-country", "FI", "--identity", fi_res,
                                NULL),
                         2);
        has(want);
        assert_int_equal(
            th_run(out, sizeof(out), "dataset", "remove", bad[i], "--identity", fi_admin, NULL), 2);
        has(want);
    }
}

static void test_dataset_remove_takes_name_and_own_site_name(void **state)
{
    (void)state;
    assert_int_equal(
        th_run(out, sizeof(out), "dataset", "remove", "lu/iris", "--identity", fi_admin, NULL), 2);
    has("'lu/iris' is a dataset of site lu");
    must(th_run(out, sizeof(out), "dataset", "remove", "plain", "--identity", fi_admin, NULL),
         "remove plain");
    has("Removed fi/plain");
    must(th_run(out, sizeof(out), "dataset", "remove", "fi/full", "--identity", fi_admin, NULL),
         "remove fi/full");
    has("Removed fi/full");
    must(th_run(out, sizeof(out), "dataset", "list", "--identity", fi_admin, NULL), "list fi");
    has("0 dataset(s)");
    /* lu's dataset is untouched by fi's refused remove. */
    must(th_run(out, sizeof(out), "dataset", "list", "--identity", lu_admin, NULL), "list lu");
    has("lu/iris");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dataset_add_takes_name_and_own_site_name),
        cmocka_unit_test(test_show_and_catalog_show_take_both_forms),
        cmocka_unit_test(test_access_check_and_request_take_both_forms),
        cmocka_unit_test(test_malformed_names_are_refused_naming_them),
        cmocka_unit_test(test_dataset_remove_takes_name_and_own_site_name),
    };
    return cmocka_run_group_tests_name("dataset name forms", tests, group_setup, group_teardown);
}
