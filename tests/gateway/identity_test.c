/* identity_test.c - SPIFFE ids: the four accepted forms and what is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "site/country.h"
#include "site/identity.h"

static void test_accepts_the_four_forms(void **state)
{
    (void)state;
    ecl_identity id;
    ecl_err err;
    assert_int_equal(identity_parse_spiffe("spiffe://fi/gateway", &id, &err), 0);
    assert_string_equal(id.site, "fi");
    assert_int_equal(id.role, ECL_ROLE_GATEWAY);
    assert_string_equal(id.name, "");
    assert_int_equal(identity_parse_spiffe("spiffe://de-juelich/researcher/Alice.M_1", &id, &err),
                     0);
    assert_string_equal(id.site, "de-juelich");
    assert_int_equal(id.role, ECL_ROLE_RESEARCHER);
    assert_string_equal(id.name, "Alice.M_1");
    assert_string_equal(id.spiffe, "spiffe://de-juelich/researcher/Alice.M_1");
    assert_int_equal(identity_parse_spiffe("spiffe://lu/auditor/olli", &id, &err), 0);
    assert_int_equal(id.role, ECL_ROLE_AUDITOR);
    assert_int_equal(identity_parse_spiffe("spiffe://lu/admin/root", &id, &err), 0);
    assert_int_equal(id.role, ECL_ROLE_ADMIN);
}

static void refused(const char *uri, const char *why)
{
    ecl_identity id;
    ecl_err err;
    ecl_err_clear(&err);
    assert_int_equal(identity_parse_spiffe(uri, &id, &err), -1);
    assert_int_equal(err.code, ECL_E_AUTH);
    if (strstr(err.msg, why) == NULL)
        fail_msg("'%s': expected '%s' in '%s'", uri, why, err.msg);
}

static void test_refuses_everything_else(void **state)
{
    (void)state;
    refused("https://fi/gateway", "not a spiffe:// URI");
    refused("spiffe://fi", "is not spiffe://<site>/gateway");
    refused("spiffe://fi/researcher", "is not spiffe://<site>/gateway");
    refused("spiffe://fi/wizard/merlin", "unknown role 'wizard'");
    refused("spiffe://fi/gateway/extra", "unknown role 'gateway'");
    refused("spiffe://fi/researcher/alice/extra", "too many path segments");
    refused("spiffe://fi//researcher/alice", "empty path segment");
    refused("spiffe://fi/researcher/alice/", "empty path segment");
    refused("spiffe:///fi/admin/x", "empty path segment"); /* found by fuzz/targets/identity */
    refused("spiffe://FI/gateway", "bad site id");
    refused("spiffe://-fi/gateway", "bad site id");
    refused("spiffe://fi/researcher/al ice", "name 'al ice' is not valid");
    refused("spiffe://fi/researcher/.hidden", "is not valid");
}

static void test_site_ids_and_names(void **state)
{
    (void)state;
    assert_true(site_id_is_valid("fi"));
    assert_true(site_id_is_valid("0x"));
    assert_false(site_id_is_valid(""));
    assert_false(site_id_is_valid("fi_1"));
    assert_false(
        site_id_is_valid("a234567890123456789012345678901234567890123456789012345678901234"));
    assert_true(person_name_is_valid("a.b-c_D9"));
    assert_false(person_name_is_valid("a/b"));
    assert_false(person_name_is_valid(""));
}

static void test_roles(void **state)
{
    (void)state;
    assert_int_equal(role_from_name("researcher"), ECL_ROLE_RESEARCHER);
    assert_int_equal(role_from_name("nobody"), ECL_ROLE_NONE);
    char buf[96];
    roles_describe(ECL_ROLE_RESEARCHER | ECL_ROLE_ADMIN, buf, sizeof(buf));
    assert_string_equal(buf, "researcher, admin");
}

static void test_country_codes(void **state)
{
    (void)state;
    assert_true(country_is_valid("FI"));
    assert_true(country_is_valid("LU"));
    assert_true(country_is_valid("US"));
    assert_false(country_is_valid("XX"));
    assert_false(country_is_valid("fi"));
    assert_false(country_is_valid("FIN"));
    assert_false(country_is_valid("EU")); /* reserved, not a country */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts_the_four_forms),
        cmocka_unit_test(test_refuses_everything_else),
        cmocka_unit_test(test_site_ids_and_names),
        cmocka_unit_test(test_roles),
        cmocka_unit_test(test_country_codes),
    };
    return cmocka_run_group_tests_name("identity", tests, NULL, NULL);
}
