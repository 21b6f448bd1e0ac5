/* Withdrawn rows: set algebra, JSON load/save, malformed files. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/rowset.h"
#include "tests/store/testutil.h"

static char dir[PATH_MAX];

static void assert_ranges(const store_rowset *rs, const uint64_t *want, size_t n)
{
    assert_int_equal(store_rowset_range_count(rs), n);
    for (size_t i = 0; i < n; i++) {
        uint64_t b, e;
        store_rowset_range(rs, i, &b, &e);
        assert_int_equal(b, want[2 * i]);
        assert_int_equal(e, want[2 * i + 1]);
    }
}

static void test_add_and_merge(void **state)
{
    (void)state;
    ecl_err err;
    store_rowset *rs;
    TU_OK(store_rowset_new(&rs, &err), &err);
    TU_OK(store_rowset_add(rs, 10, 20, &err), &err);
    TU_OK(store_rowset_add(rs, 3, 4, &err), &err);
    TU_OK(store_rowset_add(rs, 30, 31, &err), &err);
    uint64_t w1[] = {3, 4, 10, 20, 30, 31};
    assert_ranges(rs, w1, 3);
    TU_OK(store_rowset_add(rs, 20, 25, &err), &err); /* adjacent: merges */
    TU_OK(store_rowset_add(rs, 4, 5, &err), &err);
    uint64_t w2[] = {3, 5, 10, 25, 30, 31};
    assert_ranges(rs, w2, 3);
    TU_OK(store_rowset_add(rs, 0, 40, &err), &err); /* swallows all */
    uint64_t w3[] = {0, 40};
    assert_ranges(rs, w3, 1);
    TU_ASSERT_ERR(store_rowset_add(rs, 5, 5, &err), &err, ECL_E_USAGE, "[5, 5)");
    store_rowset_free(rs);

    /* Against a brute-force bitmap over random adds. */
    TU_OK(store_rowset_new(&rs, &err), &err);
    unsigned char bits[500] = {0};
    srand(7);
    for (int k = 0; k < 200; k++) {
        uint64_t b = (uint64_t)(rand() % 490), e = b + 1 + (uint64_t)(rand() % 9);
        TU_OK(store_rowset_add(rs, b, e, &err), &err);
        for (uint64_t r = b; r < e; r++)
            bits[r] = 1;
    }
    uint64_t total = 0;
    for (uint64_t r = 0; r < 500; r++) {
        assert_int_equal(store_rowset_contains(rs, r), bits[r]);
        total += bits[r];
    }
    assert_int_equal(store_rowset_rows(rs), total);
    for (uint64_t b = 0; b < 500; b += 37)
        for (uint64_t e = b; e <= 500; e += 53) {
            uint64_t n = 0;
            for (uint64_t r = b; r < e; r++)
                n += bits[r];
            assert_int_equal(store_rowset_rows_in(rs, b, e), n);
        }
    for (size_t i = 1; i < store_rowset_range_count(rs); i++) {
        uint64_t b0, e0, b1, e1;
        store_rowset_range(rs, i - 1, &b0, &e0);
        store_rowset_range(rs, i, &b1, &e1);
        assert_true(e0 < b1); /* disjoint and not adjacent */
    }
    store_rowset_free(rs);
}

static void test_load_save(void **state)
{
    (void)state;
    char path[PATH_MAX], out[PATH_MAX];
    tu_path(path, sizeof(path), dir, "withdrawn.json");
    tu_path(out, sizeof(out), dir, "saved.json");
    const char *text = "{\"withdrawn_rows\": [[10, 20], 3, [15, 22], 42, [0, 1]]}";
    tu_write(path, text, strlen(text));
    ecl_err err;
    store_rowset *rs, *back;
    TU_OK(store_rowset_load(path, &rs, &err), &err);
    uint64_t want[] = {0, 1, 3, 4, 10, 22, 42, 43};
    assert_ranges(rs, want, 4);
    TU_OK(store_rowset_save(rs, out, &err), &err);
    char *saved = NULL;
    FILE *f = fopen(out, "rb");
    assert_non_null(f);
    char buf[256] = {0};
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    saved = buf;
    assert_true(n > 0);
    assert_string_equal(saved, "{\"withdrawn_rows\":[[0,1],[3,4],[10,22],[42,43]]}");
    TU_OK(store_rowset_load(out, &back, &err), &err);
    assert_ranges(back, want, 4);
    store_rowset_free(back);
    store_rowset_free(rs);
    /* Empty set round trip. */
    TU_OK(store_rowset_parse("{\"withdrawn_rows\":[]}", 21, "empty", &rs, &err), &err);
    assert_int_equal(store_rowset_rows(rs), 0);
    store_rowset_free(rs);
}

static void expect_bad(const char *json, const char *needle)
{
    ecl_err err;
    store_rowset *rs = NULL;
    TU_ASSERT_ERR(store_rowset_parse(json, strlen(json), "w.json", &rs, &err), &err, ECL_E_INPUT,
                  needle);
    assert_null(rs);
}

static void test_bad_files(void **state)
{
    (void)state;
    expect_bad("{\"withdrawn_rows\": [[1,2],", "w.json: not valid JSON at line 1");
    expect_bad("[1,2]", "not a JSON object");
    expect_bad("{}", "'withdrawn_rows' missing or not an array");
    expect_bad("{\"withdrawn_rows\": 5}", "'withdrawn_rows' missing or not an array");
    expect_bad("{\"withdrawn_rows\": [], \"withdrawn\": [1]}", "unknown field 'withdrawn'");
    expect_bad("{\"withdrawn_rows\": [[1,2],[5,5]]}",
               "withdrawn_rows[1]: begin 5 is not below end 5");
    expect_bad("{\"withdrawn_rows\": [[9,3]]}", "withdrawn_rows[0]: begin 9 is not below end 3");
    expect_bad("{\"withdrawn_rows\": [[-1,2]]}",
               "withdrawn_rows[0]: begin and end must be non-negative integers");
    expect_bad("{\"withdrawn_rows\": [1, -4]}", "withdrawn_rows[1]: row index is negative");
    expect_bad("{\"withdrawn_rows\": [[1,2,3]]}",
               "withdrawn_rows[0]: expected a row index or [begin, end]");
    expect_bad("{\"withdrawn_rows\": [\"7\"]}", "withdrawn_rows[0]: expected a row index");
    expect_bad("{\"withdrawn_rows\": [[1.5,2]]}", "withdrawn_rows[0]: begin and end must be");
    expect_bad("{\"withdrawn_rows\": [], \"withdrawn_rows\": []}", "duplicate");
    ecl_err err;
    store_rowset *rs;
    TU_ASSERT_ERR(store_rowset_load("/nonexistent/w.json", &rs, &err), &err, ECL_E_NOT_FOUND,
                  "/nonexistent/w.json");
}

int main(void)
{
    tu_tmpdir(dir, sizeof(dir));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_and_merge),
        cmocka_unit_test(test_load_save),
        cmocka_unit_test(test_bad_files),
    };
    return cmocka_run_group_tests_name("store_rowset", tests, NULL, NULL);
}
