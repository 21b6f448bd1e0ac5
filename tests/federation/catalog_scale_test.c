/*
 * catalog_scale_test.c - a site with 100 000 datasets, through real gateways.
 *
 * LU's state is seeded with 100 000 catalog entries (through the same state
 * API its gateway uses), then LU's gateway signs and serves the catalog in
 * pages and FI's gateway fetches, verifies and keeps it, within the
 * deadlines real calls have.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "federation/state.h"
#include "tests/support/harness.h"

#define ENTRIES 100000

static char root[PATH_MAX - 200];
static char out[64 * 1024];

static void seed(const char *site_dir)
{
    char dir[2 * PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/data/state", site_dir);
    fed_state *st = NULL;
    ecl_err err;
    assert_int_equal(fed_state_open(dir, &st, &err), 0);
    uint64_t version = 0;
    for (int i = 0; i < ENTRIES; i++) {
        char id[64], title[64];
        snprintf(id, sizeof(id), "lu/ds-%06d", i);
        snprintf(title, sizeof(title), "Cohort %d of a large federation", i);
        Ecluse__V1__DatasetEntry e = ECLUSE__V1__DATASET_ENTRY__INIT;
        e.id = id;
        e.title = title;
        e.description = "seeded to test a catalog of one hundred thousand datasets";
        e.licence = "CC-BY-4.0";
        e.policy_json = "{\"category\": \"anonymous\"}";
        e.rows = (uint64_t)i;
        unsigned char buf[512];
        size_t len = ecluse__v1__dataset_entry__pack(&e, buf);
        assert_int_equal(fed_state_put_dataset(st, id, buf, len, 1, &version, &err), 0);
    }
    assert_int_equal(version, ENTRIES);
    fed_state_close(st);
}

static void test_a_catalog_of_100000_datasets_crosses_the_federation(void **state)
{
    (void)state;
    th_tmpdir(root, sizeof(root));
    th_site fi, lu;
    char fi_admin[PATH_MAX], fi_res[PATH_MAX], lu_admin[PATH_MAX];
    th_site_create(&fi, root, "fi", "FI");
    th_site_create(&lu, root, "lu", "LU");
    th_issue(&fi, "admin", "adm", fi_admin, sizeof(fi_admin));
    th_issue(&fi, "researcher", "res", fi_res, sizeof(fi_res));
    th_issue(&lu, "admin", "adm", lu_admin, sizeof(lu_admin));
    seed(lu.dir);
    th_gateway_start(&fi);
    th_gateway_start(&lu);

    th_peer(&fi, fi_admin, &lu, lu_admin);

    double t0 = th_now();
    assert_int_equal(th_run(out, sizeof(out), "catalog", "refresh", "--identity", fi_res, NULL), 0);
    double took = th_now() - t0;
    fprintf(stderr, "refresh of a 100000-entry catalog: %.2f s\n%s", took, out);
    assert_non_null(strstr(out, "lu         catalog version 100001 verified and in use"));

    assert_int_equal(
        th_run(out, sizeof(out), "catalog", "show", "lu/ds-099999", "--identity", fi_res, NULL), 0);
    assert_non_null(strstr(out, "Cohort 99999 of a large federation"));
    assert_int_equal(th_run(out, sizeof(out), "catalog", "search", "cohort 54321", "--identity",
                            fi_res, "--site", "lu", NULL),
                     0);
    assert_non_null(strstr(out, "lu/ds-054321"));
    assert_non_null(strstr(out, "1 dataset(s)"));
    assert_int_equal(th_gateway_stop(&fi, NULL), 0);
    assert_int_equal(th_gateway_stop(&lu, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_catalog_of_100000_datasets_crosses_the_federation),
    };
    return cmocka_run_group_tests_name("catalog scale", tests, NULL, NULL);
}
