/* policy_check.c - the whole-policy check at load: a policy that
 * contradicts itself, or that could never permit any request, is refused
 * with an explanation naming the fields involved. */
#include <string.h>

#include "policy/jv.h"
#include "policy/policy_internal.h"

static int check_bases(const struct ecl_policy *pol, ecl_err *err)
{
    const char *src = pol->source;
    const char *cat = ecl_category_name(pol->category);
    if (pol->category == ECL_CAT_ANONYMOUS) {
        if (pol->art6_mask != 0 || pol->art9_mask != 0)
            return ecl_jv_fail(err, src, "lawful_bases",
                               "given, but category is 'anonymous': GDPR does not apply to "
                               "anonymous data (Recital 26); remove them or correct the category");
        return 0;
    }
    if (pol->art6_mask == 0)
        return ecl_jv_fail(err, src, "lawful_bases",
                           "no Art. 6(1) basis: %s data could never be processed, so the policy "
                           "could never permit a request",
                           cat);
    if (pol->category == ECL_CAT_SPECIAL && pol->art9_mask == 0)
        return ecl_jv_fail(err, src, "lawful_bases",
                           "contradiction: category is 'special' (%s) but no Art. 9(2) basis is "
                           "given; processing special categories is prohibited without one "
                           "(GDPR Art. 9(1))",
                           pol->special_text);
    if (pol->category != ECL_CAT_SPECIAL && pol->art9_mask != 0)
        return ecl_jv_fail(err, src, "lawful_bases",
                           "contradiction: an Art. 9(2) basis (%s) is given but category is "
                           "'%s', not a special category",
                           pol->art9_text, cat);
    if ((pol->art9_mask & (1u << 9)) && !pol->ethics_required && !pol->pseudonymised_only)
        return ecl_jv_fail(err, src, "lawful_bases",
                           "'art9-2-j' (scientific research) requires the safeguards of "
                           "Art. 89(1): set research.ethics_approval_required and/or "
                           "research.pseudonymised_only");
    return 0;
}

static int check_scopes(const struct ecl_policy *pol, ecl_err *err)
{
    const char *src = pol->source;
    char field[ECL_JV_PATH_MAX];
    for (size_t i = 0; i < pol->n_scopes; i++) {
        const pol_scope *sc = &pol->scopes[i];
        if (sc->is_default)
            snprintf(field, sizeof(field), "minimisation.default");
        else
            snprintf(field, sizeof(field), "minimisation.by_purpose.%s", sc->code);
        if (pol->pseudonymised_only && (sc->tensor_mask & ~pol->identifying_mask) == 0)
            return ecl_jv_fail(err, src, field,
                               "every tensor it names is identifying, and "
                               "research.pseudonymised_only withholds those: it could never "
                               "release data");
        if (sc->is_default)
            continue;
        int covered = 0;
        for (size_t a = 0; a < pol->n_allowed; a++)
            covered |= ecl_duo_covers(&pol->allowed[a], &sc->purpose);
        if (!covered)
            return ecl_jv_fail(err, src, field,
                               "purpose %s is not covered by purposes.allowed (%s): this scope "
                               "could never apply",
                               sc->code, pol->allowed_text);
        if (sc->purpose.code == ECL_DUO_POA && (pol->modifiers & (1u << ECL_DUO_NPOA)))
            return ecl_jv_fail(err, src, field,
                               "purpose POA is prohibited by modifier NPOA: this scope could "
                               "never apply");
    }
    return 0;
}

static int check_purposes(const struct ecl_policy *pol, ecl_err *err)
{
    const char *src = pol->source;
    if (pol->n_allowed == 0)
        return ecl_jv_fail(err, src, "purposes.allowed",
                           "empty: no purpose is allowed, so the policy could never permit");
    if (pol->modifiers & (1u << ECL_DUO_NPOA)) {
        int other = 0;
        for (size_t a = 0; a < pol->n_allowed; a++)
            other |= pol->allowed[a].code != ECL_DUO_POA;
        if (!other)
            return ecl_jv_fail(err, src, "purposes.modifiers",
                               "contradiction: NPOA prohibits the only allowed purpose, POA");
    }
    if ((pol->modifiers & (1u << ECL_DUO_TS)) && pol->access_until == 0)
        return ecl_jv_fail(err, src, "purposes.modifiers",
                           "TS (time limit on use) needs storage.access_until, the date the "
                           "use ends");
    return 0;
}

int ecl_policy_check(const struct ecl_policy *pol, ecl_err *err)
{
    if (check_bases(pol, err) != 0 || check_purposes(pol, err) != 0 || check_scopes(pol, err) != 0)
        return -1;
    if (pol->pseudonymised_only && !pol->pseudonymised)
        return ecl_jv_fail(err, pol->source, "research.pseudonymised_only",
                           "true, but the data are not pseudonymised (category '%s', "
                           "pseudonymised false): no request could ever be permitted",
                           ecl_category_name(pol->category));
    return 0;
}
