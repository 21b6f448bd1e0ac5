/*
 * duo_test.c - DUO codes and the DUOS matching rules: which data use covers
 * which research purpose, over the whole matrix, and purpose parsing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "policy/duo.h"

static ecl_duo_purpose parse(const char *s, bool dataset_side)
{
    ecl_duo_purpose p;
    const char *why;
    if (ecl_duo_parse_purpose(s, dataset_side, &p, &why) != 0)
        fail_msg("%s: %s", s, why);
    return p;
}

static void test_matrix(void **state)
{
    (void)state;
    static const char *const data[] = {"NRES", "GRU", "HMB", "DS-C50", "DS-MONDO:0005015", "POA"};
    static const char *const want[] = {"GRU", "HMB", "POA", "DS-C50", "DS-c50", "DS-MONDO:0005015"};
    /* covers[data][want], after DUOS: GRU covers everything but NRES, HMB covers
     * HMB and DS, DS only the same disease, POA only POA. */
    static const int covers[6][6] = {
        {1, 1, 1, 1, 1, 1}, /* NRES */
        {1, 1, 1, 1, 1, 1}, /* GRU */
        {0, 1, 0, 1, 1, 1}, /* HMB */
        {0, 0, 0, 1, 1, 0}, /* DS-C50 */
        {0, 0, 0, 0, 0, 1}, /* DS-MONDO:0005015 */
        {0, 0, 1, 0, 0, 0}, /* POA */
    };
    for (int d = 0; d < 6; d++)
        for (int w = 0; w < 6; w++) {
            ecl_duo_purpose a = parse(data[d], true), r = parse(want[w], false);
            if (ecl_duo_covers(&a, &r) != covers[d][w])
                fail_msg("%s covering %s: got %d, want %d", data[d], want[w],
                         ecl_duo_covers(&a, &r), covers[d][w]);
        }
}

static void test_parse_errors(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"XYZ", "unknown DUO code"},
        {"hmb", "unknown DUO code"},
        {"", "unknown DUO code"},
        {"NCU", "a DUO modifier is not a research purpose:"},
        {"GSO", "a DUO modifier is not a research purpose:"},
        {"DS", "DS needs a disease id (DS-<disease>):"},
        {"DS-", "DS needs a disease id (DS-<disease>):"},
        {"DS-C 50", "disease id may hold only letters, digits and ':._-', not"},
        {"DS-012345678901234567890123456789012", "disease id longer than 32 characters in"},
        {"NRES", "NRES describes data, it is not a purpose:"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ecl_duo_purpose p;
        const char *why = NULL;
        assert_int_equal(ecl_duo_parse_purpose(cases[i][0], false, &p, &why), -1);
        assert_string_equal(why, cases[i][1]);
    }
    ecl_duo_purpose p = parse("DS-01234567890123456789012345678901", false); /* 32: fits */
    assert_int_equal(p.code, ECL_DUO_DS);
}

static void test_table(void **state)
{
    (void)state;
    assert_string_equal(ecl_duo_lookup("NCU")->id, "DUO:0000046");
    assert_string_equal(ecl_duo_lookup("NPU")->id, "DUO:0000045");
    assert_string_equal(ecl_duo_lookup("IRB")->id, "DUO:0000021");
    assert_string_equal(ecl_duo_lookup("GRU")->id, "DUO:0000042");
    assert_string_equal(ecl_duo_lookup("HMB")->id, "DUO:0000006");
    assert_string_equal(ecl_duo_lookup("DS-X")->id, "DUO:0000007");
    assert_int_equal(ecl_duo_lookup("GSO")->kind, ECL_DUO_KIND_UNSUPPORTED);
    assert_null(ecl_duo_lookup("XYZ"));
    for (int m = 0; m < ECL_DUO_MODIFIER_COUNT; m++)
        assert_non_null(ecl_duo_modifier_info((ecl_duo_modifier)m));
    char out[40];
    ecl_duo_purpose p = parse("DS-C50", false);
    ecl_duo_format(&p, out, sizeof(out));
    assert_string_equal(out, "DS-C50");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matrix),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_table),
    };
    return cmocka_run_group_tests_name("policy_duo", tests, NULL, NULL);
}
