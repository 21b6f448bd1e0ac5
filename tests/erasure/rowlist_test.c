/*
 * rowlist_test.c - the row lists of `dataset erase --rows` and `audit
 * recipients --rows` (store/rowlist.h): what they mean, and every way a
 * list is refused, with the message a person sees.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/rowlist.h"

static void expect_rows(const char *text, const char *normalised, uint64_t rows)
{
    store_rowset *rs = NULL;
    ecl_err err;
    if (store_rowlist_parse(text, &rs, &err) != 0)
        fail_msg("'%s': %s", text, err.msg);
    char back[256];
    store_rowlist_format(rs, back, sizeof(back));
    assert_string_equal(back, normalised);
    assert_int_equal(store_rowset_rows(rs), rows);
    store_rowset_free(rs);
}

static void test_lists_mean_half_open_ranges_and_single_rows(void **state)
{
    (void)state;
    expect_rows("5", "5", 1);
    expect_rows("0:3", "0:3", 3);
    expect_rows("10:13,42", "10:13,42", 4);
    expect_rows("42,10:13", "10:13,42", 4); /* any order */
    expect_rows("1:3,3,4:6", "1:6", 5);     /* adjacent items merge */
    expect_rows("18446744073709551614", "18446744073709551614", 1);
}

static void expect_refused(const char *text, ecl_code code, const char *msg)
{
    store_rowset *rs = NULL;
    ecl_err err;
    assert_int_equal(store_rowlist_parse(text, &rs, &err), -1);
    assert_null(rs);
    assert_int_equal(err.code, code);
    if (strstr(err.msg, msg) == NULL)
        fail_msg("'%s': expected '%s', got '%s'", text, msg, err.msg);
}

static void test_garbled_lists_are_refused_naming_the_item(void **state)
{
    (void)state;
    expect_refused("", ECL_E_INPUT, "no rows given: expected A:B[,C,...]");
    expect_refused(NULL, ECL_E_INPUT, "no rows given");
    expect_refused("abc", ECL_E_INPUT, "rows 'abc': item 1 'abc' is neither a row (N) nor a range");
    expect_refused("1,", ECL_E_INPUT, "item 2 '' is neither a row");
    expect_refused(",1", ECL_E_INPUT, "item 1 '' is neither a row");
    expect_refused("1:", ECL_E_INPUT, "item 1 '1:' is neither");
    expect_refused(":4", ECL_E_INPUT, "item 1 ':4' is neither");
    expect_refused("-1", ECL_E_INPUT, "item 1 '-1' is neither");
    expect_refused(" 1", ECL_E_INPUT, "item 1 ' 1' is neither");
    expect_refused("1:2:3", ECL_E_INPUT, "item 1 '1:2:3' is neither");
    expect_refused("18446744073709551616", ECL_E_INPUT, "is neither"); /* 2^64 */
    expect_refused("18446744073709551615", ECL_E_INPUT, "is neither"); /* no row after it */
    expect_refused("9:9", ECL_E_INPUT, "item 1 '9:9': begin 9 is not below end 9");
    expect_refused("1,9:3", ECL_E_INPUT, "item 2 '9:3': begin 9 is not below end 3");
    expect_refused("1:5,3", ECL_E_INPUT, "item 2 '3' repeats rows an earlier item names");
    expect_refused("7,7", ECL_E_INPUT, "item 2 '7' repeats rows");
    size_t cap = STORE_ROWLIST_MAX_TEXT + 16, at = 0;
    char *many = malloc(cap);
    assert_non_null(many);
    for (unsigned i = 0; i <= STORE_ROWLIST_MAX_ITEMS; i++)
        at += (size_t)snprintf(many + at, cap - at, "%s%u", i ? "," : "", 2 * i);
    assert_true(at < STORE_ROWLIST_MAX_TEXT);
    expect_refused(many, ECL_E_LIMIT, "more than 1024 items");
    memset(many, '1', STORE_ROWLIST_MAX_TEXT + 1);
    many[STORE_ROWLIST_MAX_TEXT + 1] = '\0';
    expect_refused(many, ECL_E_LIMIT, "the list is 8193 bytes, more than 8192");
    free(many);
}

static void test_a_long_set_is_shortened_when_written(void **state)
{
    (void)state;
    store_rowset *rs = NULL;
    ecl_err err;
    assert_int_equal(store_rowlist_parse("1,3,5,7,9,11,13", &rs, &err), 0);
    char small[12];
    store_rowlist_format(rs, small, sizeof(small));
    assert_string_equal(small, "1,3,5,7...");
    store_rowset_free(rs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lists_mean_half_open_ranges_and_single_rows),
        cmocka_unit_test(test_garbled_lists_are_refused_naming_the_item),
        cmocka_unit_test(test_a_long_set_is_shortened_when_written),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
