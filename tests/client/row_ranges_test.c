/*
 * row_ranges_test.c - lists of source row ranges (client/row_ranges.h):
 * parsing as `--rows` takes them, with the errors it names, and subtract,
 * union and common checked row by row against sets of rows kept as bits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client/row_ranges.h"

#define SPAN 64 /* rows 0..63: a set is one uint64_t */

static void expect_parse(const char *text, const char *want)
{
    ecl_row_range *r = NULL;
    size_t n = 0;
    ecl_err err;
    if (ecl_row_ranges_parse(text, "--rows", &r, &n, &err) != 0)
        fail_msg("'%s': %s", text, err.msg);
    char got[256];
    ecl_row_ranges_format(r, n, got, sizeof(got));
    assert_string_equal(got, want);
    free(r);
}

static void expect_refused(const char *text, const char *why)
{
    ecl_row_range *r = NULL;
    size_t n = 0;
    ecl_err err;
    assert_int_equal(ecl_row_ranges_parse(text, "--rows", &r, &n, &err), -1);
    assert_int_equal(err.code, ECL_E_USAGE);
    if (strstr(err.msg, why) == NULL || strstr(err.msg, "--rows") == NULL)
        fail_msg("'%s': expected a message naming --rows and '%s', got: %s", text, why, err.msg);
    assert_null(r);
}

static void test_parse(void **state)
{
    (void)state;
    expect_parse("3:5", "3:5");
    expect_parse("9,3:5,4:6", "3:6,9:10");
    expect_parse("5,6,7", "5:8");
    expect_parse("0:1,18446744073709551614", "0:1,18446744073709551614:18446744073709551615");
    expect_refused("", "expected rows");
    expect_refused("5:3", "5:3 is empty");
    expect_refused("5:5", "5:5 is empty");
    expect_refused("3:5,", "ends with ','");
    expect_refused("3,,4", "expected ROW or BEGIN:END");
    expect_refused("3:", "expected END");
    expect_refused("-1", "expected ROW or BEGIN:END");
    expect_refused("3:5x", "unexpected 'x'");
    expect_refused("99999999999999999999", "expected ROW or BEGIN:END");
    expect_refused("18446744073709551615", "too large");
}

static uint64_t bits(const ecl_row_range *r, size_t n)
{
    uint64_t b = 0;
    for (size_t i = 0; i < n; i++)
        for (uint64_t row = r[i].begin; row < r[i].end; row++)
            b |= 1ULL << row;
    return b;
}

/* A normal list from a set of rows. */
static size_t list_of(uint64_t set, ecl_row_range *out)
{
    size_t n = 0;
    for (uint64_t row = 0; row < SPAN; row++)
        if (set >> row & 1) {
            if (n > 0 && out[n - 1].end == row)
                out[n - 1].end++;
            else
                out[n++] = (ecl_row_range){row, row + 1};
        }
    return n;
}

static void assert_normal(const ecl_row_range *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        assert_true(r[i].begin < r[i].end);
        if (i > 0)
            assert_true(r[i].begin > r[i - 1].end);
    }
}

static void test_set_operations_row_by_row(void **state)
{
    (void)state;
    srand(19);
    for (int k = 0; k < 2000; k++) {
        uint64_t a = 0, b = 0;
        for (int i = 0; i < 4; i++)
            a = a << 16 ^ (uint64_t)(rand() & 0xffff), b = b << 16 ^ (uint64_t)(rand() & 0xffff);
        if (k % 3 == 0)
            b &= a; /* often only rows of a */
        ecl_row_range la[SPAN], lb[SPAN], *out = NULL;
        size_t na = list_of(a, la), nb = list_of(b, lb), n = 0;
        ecl_err err;
        assert_int_equal(ecl_row_ranges_subtract(la, na, lb, nb, &out, &n, &err), 0);
        assert_normal(out, n);
        assert_true(bits(out, n) == (a & ~b));
        free(out);
        assert_int_equal(ecl_row_ranges_union(la, na, lb, nb, &out, &n, &err), 0);
        assert_normal(out, n);
        assert_true(bits(out, n) == (a | b));
        free(out);
        assert_int_equal(ecl_row_ranges_common(la, na, lb, nb),
                         (uint64_t)__builtin_popcountll(a & b));
        assert_int_equal(ecl_row_ranges_rows(la, na), (uint64_t)__builtin_popcountll(a));
    }
}

static void test_format_truncates_with_dots(void **state)
{
    (void)state;
    ecl_row_range r[3] = {{0, 10}, {20, 30}, {40, 50}};
    char out[16];
    ecl_row_ranges_format(r, 3, out, sizeof(out));
    assert_string_equal(out, "0:10,20:30...");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_set_operations_row_by_row),
        cmocka_unit_test(test_format_truncates_with_dots),
    };
    return cmocka_run_group_tests_name("row_ranges", tests, NULL, NULL);
}
