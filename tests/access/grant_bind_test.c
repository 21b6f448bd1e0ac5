/*
 * grant_bind_test.c - a grant is for the data it was decided on.
 *
 * LU publishes lu/d; LU's researcher (direct) and FI's researcher (relayed
 * by FI) are granted it and read it. The admin then removes lu/d and
 * publishes other data under the same name: both old grants are refused
 * with FAILED_PRECONDITION (`ecluse fetch` exit 9) saying the dataset
 * changed since the grant and naming both versions' digest prefixes, and
 * the refusals are in the audit trails. A new request gets a new grant that
 * reads the new data.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "gateway/grant.h"
#include "store/dataset.h"
#include "tests/support/granted.h"
#include "tests/support/harness.h"

#define OUT_MAX (64 * 1024)

typedef struct site {
    th_site s;
    char admin[PATH_MAX], auditor[PATH_MAX], res[PATH_MAX];
} site;

static char root[PATH_MAX - 200];
static site lu, fi;
static char out[OUT_MAX];
static char old_lu[PATH_MAX], old_fi[PATH_MAX]; /* grants of the first lu/d */
static grant_dataset first, second;

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

static void make_site(site *x, const char *id, const char *country)
{
    th_site_create(&x->s, root, id, country);
    th_issue(&x->s, "admin", "adm", x->admin, sizeof(x->admin));
    th_issue(&x->s, "auditor", "aud", x->auditor, sizeof(x->auditor));
    th_issue(&x->s, "researcher", "res", x->res, sizeof(x->res));
}

/* Publish lu/d from `csv` (four rows: three features, a label). */
static void publish(const char *tag, const char *csv)
{
    char data[PATH_MAX], policy[PATH_MAX];
    snprintf(data, sizeof(data), "%s/d-%s.csv", root, tag);
    snprintf(policy, sizeof(policy), "%s/d.policy.json", root);
    write_file(data, csv);
    write_file(policy,
               "{\"ecluse_policy\": 1, \"dataset\": \"lu/d\", \"category\": \"anonymous\", "
               "\"purposes\": {\"allowed\": [\"NRES\"]}, \"tensors\": [{\"name\": \"features\"}, "
               "{\"name\": \"labels\"}], \"minimisation\": {\"default\": {\"tensors\": "
               "[\"features\", \"labels\"], \"max_rows\": 4}}, \"storage\": "
               "{\"max_grant_days\": 30}}\n");
    must(th_run(out, sizeof(out), "dataset", "add", "d", "--from", data, "--label-column", "-1",
                "--title", "D", "--description", "test data", "--policy", policy, "--identity",
                lu.admin, NULL),
         "dataset add");
}

/* `who` asks for lu/d and keeps the grant in `grant`. */
static void request(const site *who, const char *grant)
{
    must(th_run(out, sizeof(out), "access", "request", "lu/d", "--purpose", "GRU", "--basis",
                "art6-1-e", "--job-country", who->s.country, "--save-grant", grant, "--identity",
                who->res, NULL),
         "access request");
}

static int fetch(const site *who, const char *grant, const char *data)
{
    return th_run(out, sizeof(out), "fetch", "--grant", grant, "-o", data, "--no-progress",
                  "--identity", who->res, NULL);
}

static void prefix(const unsigned char *digest, char hex[17])
{
    sodium_bin2hex(hex, 17, digest, 8);
}

/* The first feature of the first row of a fetched file. */
static float first_feature(const char *path)
{
    store_dataset *ds = NULL;
    ecl_err err;
    size_t i;
    if (store_open(path, &ds, &err) != 0 || store_tensor_find(ds, "features", &i, &err) != 0)
        fail_msg("%s: %s", path, err.msg);
    float v;
    memcpy(&v, store_tensor_at(ds, i)->data, sizeof(v));
    store_unref(ds);
    return v;
}

static int setup(void **state)
{
    (void)state;
    th_tmpdir(root, sizeof(root));
    make_site(&lu, "lu", "LU");
    make_site(&fi, "fi", "FI");
    th_gateway_start(&lu.s);
    th_gateway_start(&fi.s);
    th_peer(&lu.s, lu.admin, &fi.s, fi.admin);
    publish("1", "5.1,3.5,1.4,0\n4.9,3.0,1.4,0\n6.3,3.3,6.0,2\n5.8,2.7,5.1,2\n");
    tg_dataset(lu.s.dir, "lu/d", &first);
    snprintf(old_lu, sizeof(old_lu), "%s/lu-old.grant", root);
    snprintf(old_fi, sizeof(old_fi), "%s/fi-old.grant", root);
    request(&lu, old_lu);
    request(&fi, old_fi);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int bad = 0;
    if (lu.s.pid != 0 && th_gateway_stop(&lu.s, NULL) != 0)
        bad = 1;
    if (fi.s.pid != 0 && th_gateway_stop(&fi.s, NULL) != 0)
        bad = 1;
    return bad ? -1 : 0;
}

static void test_grants_read_the_data_they_were_decided_on(void **state)
{
    (void)state;
    char data[PATH_MAX + 32];
    snprintf(data, sizeof(data), "%s/lu-1.safetensors", root);
    must(fetch(&lu, old_lu, data), "direct fetch");
    assert_true(first_feature(data) == 5.1f);
    snprintf(data, sizeof(data), "%s/fi-1.safetensors", root);
    must(fetch(&fi, old_fi, data), "relayed fetch");
    assert_true(first_feature(data) == 5.1f);
}

/* The refusal of a grant of the first lu/d, as `ecluse fetch` prints it. */
static void expect_changed(const char *what)
{
    char was[17], now[17];
    prefix(first.content_digest, was);
    prefix(second.content_digest, now);
    if (strstr(out, "dataset lu/d changed since the grant") == NULL || strstr(out, was) == NULL ||
        strstr(out, now) == NULL)
        fail_msg("%s: expected 'changed since the grant' naming content %s and %s:\n%s", what, was,
                 now, out);
    print_message("%s refusal: %s", what, out);
}

static void test_a_republished_dataset_refuses_the_old_grants(void **state)
{
    (void)state;
    must(th_run(out, sizeof(out), "dataset", "remove", "lu/d", "--identity", lu.admin, NULL),
         "dataset remove");
    publish("2", "7.7,2.6,6.9,2\n6.0,2.2,5.0,2\n5.0,3.4,1.5,0\n4.4,2.9,1.4,0\n");
    tg_dataset(lu.s.dir, "lu/d", &second);
    assert_memory_not_equal(first.content_digest, second.content_digest, GRANT_DIGEST_BYTES);

    char data[PATH_MAX + 32];
    snprintf(data, sizeof(data), "%s/lu-2.safetensors", root);
    assert_int_equal(fetch(&lu, old_lu, data), 9);
    expect_changed("direct");
    assert_int_equal(access(data, F_OK), -1); /* nothing was written */
    snprintf(data, sizeof(data), "%s/fi-2.safetensors", root);
    assert_int_equal(fetch(&fi, old_fi, data), 9);
    expect_changed("relayed");
    assert_int_equal(access(data, F_OK), -1);

    /* On record: at LU both refusals (the relayed one via FI), at FI its own. */
    must(th_run(out, sizeof(out), "audit", "query", "--decision", "deny", "--dataset", "lu/d",
                "--json", "--identity", lu.auditor, NULL),
         "audit query at lu");
    assert_non_null(strstr(out, "\"actor\":\"spiffe://lu/researcher/res\""));
    assert_non_null(strstr(out, "\"actor\":\"spiffe://fi/researcher/res\""));
    char *at = strstr(out, "changed since the grant");
    assert_non_null(at);
    assert_non_null(strstr(at + 1, "changed since the grant"));
    must(th_run(out, sizeof(out), "audit", "query", "--decision", "deny", "--dataset", "lu/d",
                "--json", "--identity", fi.auditor, NULL),
         "audit query at fi");
    assert_non_null(strstr(out, "changed since the grant"));
}

static void test_a_new_request_gets_a_grant_that_reads_the_new_data(void **state)
{
    (void)state;
    char grant[PATH_MAX + 32], data[PATH_MAX + 32];
    snprintf(grant, sizeof(grant), "%s/lu-new.grant", root);
    snprintf(data, sizeof(data), "%s/lu-3.safetensors", root);
    request(&lu, grant);
    /* The permit says which version it was decided on. */
    char now[17], line[128];
    prefix(second.content_digest, now);
    snprintf(line, sizeof(line), "decided on lu/d as published ");
    assert_non_null(strstr(out, line));
    snprintf(line, sizeof(line), "(content %s)", now);
    assert_non_null(strstr(out, line));
    must(fetch(&lu, grant, data), "direct fetch with the new grant");
    assert_true(first_feature(data) == 7.7f);
    snprintf(grant, sizeof(grant), "%s/fi-new.grant", root);
    snprintf(data, sizeof(data), "%s/fi-3.safetensors", root);
    request(&fi, grant);
    must(fetch(&fi, grant, data), "relayed fetch with the new grant");
    assert_true(first_feature(data) == 7.7f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grants_read_the_data_they_were_decided_on),
        cmocka_unit_test(test_a_republished_dataset_refuses_the_old_grants),
        cmocka_unit_test(test_a_new_request_gets_a_grant_that_reads_the_new_data),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
