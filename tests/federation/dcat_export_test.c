/*
 * dcat_export_test.c - `ecluse catalog export --format dcat-ap`, with and
 * without --site, through real gateways.
 *
 * Two peered sites, FI and LU, each publish a dataset. FI's researcher
 * exports her own site's catalog (no --site: the site comes from her
 * identity, which the command once read after freeing it), LU's catalog as
 * FI's gateway holds it (--site lu), and writes one to a file (-o). Each
 * output must be a DCAT-AP document: a dcat:Catalog of that site naming
 * exactly that site's datasets, each with its checksums. The distribution's
 * byte size and SHA-256 are those of the file a whole fetch writes.
 * (The export's conformance to the DCAT-AP shapes and its RDF reading are
 * tests/standards.)
 */
#include <jansson.h>
#include <setjmp.h>
#include <sodium.h>
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
                "--title", title, "--description", "Four iris flowers, measured", "--licence",
                "CC-BY-4.0", "--keywords", "test,dcat", "--policy", policy, "--identity", x->admin,
                NULL),
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

/* The graph node whose "@id" is `id`. */
static json_t *node(json_t *doc, const char *id)
{
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(doc, "@graph"), i, n)
    {
        if (strcmp(json_string_value(json_object_get(n, "@id")), id) == 0)
            return n;
    }
    fail_msg("no node %s in the graph", id);
    return NULL;
}

static const char *id_of(json_t *o)
{
    return json_string_value(json_object_get(o, "@id"));
}

static const char *value_of(json_t *o)
{
    return json_string_value(json_object_get(o, "@value"));
}

/* The document must be a DCAT-AP catalog of `site` in `country` (EU country
 * table, alpha-3) whose only dataset is `dataset`, published by the site as
 * its own agent, with one distribution: the SPDX licence IRI, a SHA-256 of
 * the file, and each tensor's digest in the ecluse namespace. */
static void assert_dcat(const char *text, const char *site, const char *country3,
                        const char *dataset)
{
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    if (doc == NULL)
        fail_msg("not JSON (%s):\n%s", jerr.text, text);
    json_t *ctx = json_object_get(doc, "@context");
    assert_string_equal(json_string_value(json_object_get(ctx, "dcat")),
                        "http://www.w3.org/ns/dcat#");
    assert_string_equal(json_string_value(json_object_get(ctx, "odrl")),
                        "http://www.w3.org/ns/odrl/2/");
    json_t *cat = json_array_get(json_object_get(doc, "@graph"), 0);
    assert_string_equal(json_string_value(json_object_get(cat, "@type")), "dcat:Catalog");
    json_t *publisher = node(doc, id_of(json_object_get(cat, "dct:publisher")));
    assert_string_equal(json_string_value(json_object_get(publisher, "@type")), "foaf:Agent");
    assert_string_equal(value_of(json_object_get(publisher, "foaf:name")), site);
    assert_string_not_equal(id_of(publisher), id_of(cat));
    char where[128];
    snprintf(where, sizeof(where), "http://publications.europa.eu/resource/authority/country/%s",
             country3);
    assert_string_equal(id_of(json_object_get(cat, "dct:spatial")), where);
    json_t *service = node(doc, id_of(json_array_get(json_object_get(cat, "dcat:service"), 0)));
    assert_string_equal(json_string_value(json_object_get(service, "@type")), "dcat:DataService");
    json_t *datasets = json_object_get(cat, "dcat:dataset");
    assert_int_equal(json_array_size(datasets), 1);
    json_t *d = json_array_get(datasets, 0);
    assert_string_equal(json_string_value(json_object_get(d, "@type")), "dcat:Dataset");
    assert_string_equal(json_string_value(json_object_get(d, "dct:identifier")), dataset);
    assert_string_equal(value_of(json_object_get(d, "dct:description")),
                        "Four iris flowers, measured");
    json_t *dist = json_array_get(json_object_get(d, "dcat:distribution"), 0);
    assert_string_equal(id_of(json_object_get(dist, "dct:license")),
                        "http://spdx.org/licenses/CC-BY-4.0");
    assert_string_equal(id_of(json_object_get(dist, "dcat:accessService")), id_of(service));
    json_t *sum = json_object_get(dist, "spdx:checksum");
    assert_string_equal(id_of(json_object_get(sum, "spdx:algorithm")),
                        "http://spdx.org/rdf/terms#checksumAlgorithm_sha256");
    const char *hex = value_of(json_object_get(sum, "spdx:checksumValue"));
    assert_non_null(hex);
    assert_int_equal(strlen(hex), 64);
    json_t *tensors = json_object_get(dist, "ecluse:tensor");
    assert_int_equal(json_array_size(tensors), 2); /* features and labels */
    assert_int_equal(
        strlen(json_string_value(json_object_get(json_array_get(tensors, 0), "ecluse:blake2b256"))),
        64);
    assert_string_equal(id_of(json_object_get(json_object_get(d, "odrl:hasPolicy"), "odrl:target")),
                        id_of(d));
    json_decref(doc);
}

/* No --site: the researcher's own site, taken from her identity. */
static void test_export_own_site(void **state)
{
    (void)state;
    must(th_run(out, sizeof(out), "catalog", "export", "--format", "dcat-ap", "--identity",
                fi.researcher, NULL),
         "catalog export");
    assert_dcat(out, "fi", "FIN", "fi/iris-fi");
    assert_non_null(strstr(out, "\"@id\": \"https://ecluse.invalid/sites/fi\""));
}

/* --site lu: the peer's catalog as FI's gateway verified it. */
static void test_export_peer_site(void **state)
{
    (void)state;
    must(th_run(out, sizeof(out), "catalog", "export", "--format", "dcat-ap", "--site", "lu",
                "--base-uri", "https://portal.example/ecluse", "--identity", fi.researcher, NULL),
         "catalog export --site lu");
    assert_dcat(out, "lu", "LUX", "lu/iris-lu");
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
    assert_dcat(text, "fi", "FIN", "fi/iris-fi");
    free(text);
}

/* The distribution is the file a researcher gets: fetch the whole dataset
 * and compare its size and SHA-256 with what the export states. */
static void test_distribution_is_the_fetched_file(void **state)
{
    (void)state;
    char grant[PATH_MAX], got[PATH_MAX];
    snprintf(grant, sizeof(grant), "%s/iris-fi.grant", root);
    snprintf(got, sizeof(got), "%s/iris-fi.safetensors", root);
    must(th_run(out, sizeof(out), "access", "request", "fi/iris-fi", "--purpose", "GRU", "--basis",
                "art6-1-e", "--job-country", "FI", "--save-grant", grant, "--identity",
                fi.researcher, NULL),
         "access request");
    must(th_run(out, sizeof(out), "fetch", "--grant", grant, "-o", got, "--no-progress",
                "--identity", fi.researcher, NULL),
         "fetch");
    FILE *f = fopen(got, "rb");
    assert_non_null(f);
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    unsigned char buf[4096], sha[crypto_hash_sha256_BYTES];
    size_t n, size = 0;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        crypto_hash_sha256_update(&st, buf, n);
        size += n;
    }
    assert_int_equal(fclose(f), 0);
    crypto_hash_sha256_final(&st, sha);
    char hex[2 * crypto_hash_sha256_BYTES + 1], bytes[24];
    sodium_bin2hex(hex, sizeof(hex), sha, sizeof(sha));
    snprintf(bytes, sizeof(bytes), "%zu", size);

    must(th_run(out, sizeof(out), "catalog", "export", "--format", "dcat-ap", "--identity",
                fi.researcher, NULL),
         "catalog export");
    json_t *doc = json_loads(out, 0, NULL);
    assert_non_null(doc);
    json_t *cat = json_array_get(json_object_get(doc, "@graph"), 0);
    json_t *dist =
        json_array_get(json_object_get(json_array_get(json_object_get(cat, "dcat:dataset"), 0),
                                       "dcat:distribution"),
                       0);
    json_t *size_lit = json_object_get(dist, "dcat:byteSize");
    assert_string_equal(json_string_value(json_object_get(size_lit, "@type")),
                        "xsd:nonNegativeInteger");
    assert_string_equal(value_of(size_lit), bytes);
    assert_string_equal(
        value_of(json_object_get(json_object_get(dist, "spdx:checksum"), "spdx:checksumValue")),
        hex);
    json_decref(doc);
}

/* A dataset published without --description would reach portals as "":
 * refused by name before any call, and nothing is published. */
static void test_add_needs_description(void **state)
{
    (void)state;
    char csv[PATH_MAX + 64], policy[PATH_MAX + 64];
    snprintf(csv, sizeof(csv), "%s/fi-iris-fi.csv", root);
    snprintf(policy, sizeof(policy), "%s/fi-policy.json", root);
    int rc =
        th_run(out, sizeof(out), "dataset", "add", "undescribed", "--from", csv, "--label-column",
               "-1", "--title", "No description", "--policy", policy, "--identity", fi.admin, NULL);
    assert_int_equal(rc, 2);
    if (strstr(out, "--description TEXT is required") == NULL)
        fail_msg("the error does not name --description: %s", out);
    must(th_run(out, sizeof(out), "dataset", "list", "--identity", fi.admin, NULL), "dataset list");
    assert_null(strstr(out, "undescribed"));
    assert_non_null(strstr(out, "fi/iris-fi"));
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
        cmocka_unit_test(test_distribution_is_the_fetched_file),
        cmocka_unit_test(test_export_bad_site),
        cmocka_unit_test(test_add_needs_description),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
