/*
 * dcat_export_test.c - `ecluse catalog export --format dcat-ap`, with and
 * without --site, through real gateways.
 *
 * Two peered sites, FI and LU, each publish a dataset. FI's researcher
 * exports her own site's catalog (no --site: the site comes from her
 * identity, which the command once read after freeing it), LU's catalog as
 * FI's gateway holds it (--site lu), and writes one to a file (-o). Each
 * output must be a DCAT-AP document: a dcat:Catalog of that site naming
 * exactly that site's datasets, each with its checksums.
 */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/support/harness.h"

#define OUT_MAX (256 * 1024)

typedef struct site {
    th_site s;
    char admin[PATH_MAX], researcher[PATH_MAX], bundle[PATH_MAX + 16];
} site;

static char root[PATH_MAX - 200];
static site fi, lu;
static char out[OUT_MAX];

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
    assert_int_equal(fclose(f), 0);
}

static void publish(site *x, const char *name, const char *title)
{
    char csv[PATH_MAX + 64], policy[PATH_MAX + 64];
    snprintf(csv, sizeof(csv), "%s/%s-%s.csv", root, x->s.id, name);
    snprintf(policy, sizeof(policy), "%s/%s-policy.json", root, x->s.id);
    write_file(csv, "5.1,3.5,1.4,0\n4.9,3.0,1.4,0\n6.3,3.3,6.0,2\n5.8,2.7,5.1,2\n");
    char text[1024];
    snprintf(text, sizeof(text),
             "{\"ecluse_policy\": 1, \"dataset\": \"%s/%s\", \"category\": \"anonymous\", "
             "\"purposes\": {\"allowed\": [\"NRES\"]}, \"tensors\": [{\"name\": \"features\"}, "
             "{\"name\": \"labels\"}], \"minimisation\": {\"default\": {\"tensors\": "
             "[\"features\", \"labels\"], \"max_rows\": 4}}, \"storage\": {\"max_grant_days\": "
             "30}}\n",
             x->s.id, name);
    write_file(policy, text);
    must(th_run(out, sizeof(out), "dataset", "add", name, "--from", csv, "--label-column", "-1",
                "--title", title, "--licence", "CC-BY-4.0", "--keywords", "test,dcat", "--policy",
                policy, "--identity", x->admin, NULL),
         "dataset add");
}

static void make_site(site *x, const char *id, const char *country)
{
    th_site_create(&x->s, root, id, country);
    th_issue(&x->s, "admin", "adm", x->admin, sizeof(x->admin));
    th_issue(&x->s, "researcher", "res", x->researcher, sizeof(x->researcher));
    th_gateway_start(&x->s);
}

static int setup(void **state)
{
    (void)state;
    th_tmpdir(root, sizeof(root));
    make_site(&fi, "fi", "FI");
    make_site(&lu, "lu", "LU");
    th_peer(&fi.s, fi.admin, &lu.s, lu.admin);
    publish(&fi, "iris-fi", "Iris measurements at FI");
    publish(&lu, "iris-lu", "Iris measurements at LU");
    must(th_run(out, sizeof(out), "catalog", "refresh", "--identity", fi.researcher, NULL),
         "catalog refresh");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int bad = 0;
    site *all[] = {&fi, &lu};
    for (int i = 0; i < 2; i++)
        if (all[i]->s.pid != 0 && th_gateway_stop(&all[i]->s, NULL) != 0)
            bad = 1;
    return bad ? -1 : 0;
}

/* The document must be a DCAT-AP catalog of `site` in `country` whose only
 * dataset is `dataset`, with a distribution carrying a checksum per tensor. */
static void assert_dcat(const char *text, const char *site, const char *country,
                        const char *dataset)
{
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    if (doc == NULL)
        fail_msg("not JSON (%s):\n%s", jerr.text, text);
    json_t *ctx = json_object_get(doc, "@context");
    assert_string_equal(json_string_value(json_object_get(ctx, "dcat")),
                        "http://www.w3.org/ns/dcat#");
    json_t *cat = json_array_get(json_object_get(doc, "@graph"), 0);
    assert_string_equal(json_string_value(json_object_get(cat, "@type")), "dcat:Catalog");
    json_t *publisher = json_object_get(cat, "dct:publisher");
    assert_string_equal(json_string_value(json_object_get(publisher, "foaf:name")), site);
    assert_string_equal(json_string_value(json_object_get(cat, "dct:spatial")), country);
    json_t *datasets = json_object_get(cat, "dcat:dataset");
    assert_int_equal(json_array_size(datasets), 1);
    json_t *d = json_array_get(datasets, 0);
    assert_string_equal(json_string_value(json_object_get(d, "@type")), "dcat:Dataset");
    assert_string_equal(json_string_value(json_object_get(d, "dct:identifier")), dataset);
    assert_string_equal(json_string_value(json_object_get(d, "dct:license")), "CC-BY-4.0");
    json_t *dist = json_array_get(json_object_get(d, "dcat:distribution"), 0);
    json_t *sums = json_object_get(dist, "spdx:checksum");
    assert_int_equal(json_array_size(sums), 2); /* features and labels */
    const char *hex =
        json_string_value(json_object_get(json_array_get(sums, 0), "spdx:checksumValue"));
    assert_non_null(hex);
    assert_int_equal(strlen(hex), 64);
    json_decref(doc);
}

/* No --site: the researcher's own site, taken from her identity. */
static void test_export_own_site(void **state)
{
    (void)state;
    must(th_run(out, sizeof(out), "catalog", "export", "--format", "dcat-ap", "--identity",
                fi.researcher, NULL),
         "catalog export");
    assert_dcat(out, "fi", "FI", "fi/iris-fi");
    assert_non_null(strstr(out, "\"@id\": \"https://ecluse.invalid/sites/fi\""));
}

/* --site lu: the peer's catalog as FI's gateway verified it. */
static void test_export_peer_site(void **state)
{
    (void)state;
    must(th_run(out, sizeof(out), "catalog", "export", "--format", "dcat-ap", "--site", "lu",
                "--base-uri", "https://portal.example/ecluse", "--identity", fi.researcher, NULL),
         "catalog export --site lu");
    assert_dcat(out, "lu", "LU", "lu/iris-lu");
    assert_non_null(strstr(out, "https://portal.example/ecluse/lu/datasets/lu/iris-lu"));
}

/* -o FILE, own site: the file holds the same document, stdout nothing of it. */
static void test_export_to_file(void **state)
{
    (void)state;
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/fi-dcat.jsonld", root);
    must(th_run(out, sizeof(out), "catalog", "export", "--format", "dcat-ap", "-o", path,
                "--identity", fi.researcher, NULL),
         "catalog export -o");
    assert_null(strstr(out, "dcat:Catalog"));
    char *text = th_read(path);
    assert_non_null(text);
    assert_dcat(text, "fi", "FI", "fi/iris-fi");
    free(text);
}

/* A --site that is no site id is refused by name, before any call. */
static void test_export_bad_site(void **state)
{
    (void)state;
    int rc = th_run(out, sizeof(out), "catalog", "export", "--format", "dcat-ap", "--site",
                    "Not/A/Site", "--identity", fi.researcher, NULL);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(out, "--site 'Not/A/Site' is not a site id"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_export_own_site),
        cmocka_unit_test(test_export_peer_site),
        cmocka_unit_test(test_export_to_file),
        cmocka_unit_test(test_export_bad_site),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
