#include "federation/dcat_odrl.h"

#include <stdio.h>
#include <string.h>

#include "federation/dcat_terms.h"
#include "policy/duo.h"
#include "site/country.h"

/* "EEA" in a geographic area: the EU's 27 and Iceland, Liechtenstein, Norway. */
static const char *const eea[] = {"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI",
                                  "FR", "GR", "HR", "HU", "IE", "IS", "IT", "LI", "LT", "LU",
                                  "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE", "SI", "SK"};

static json_t *iri(const char *s)
{
    return json_pack("{s:s}", "@id", s);
}

static json_t *typed(const char *value, const char *type)
{
    return json_pack("{s:s, s:s}", "@value", value, "@type", type);
}

/* One odrl:Constraint; takes `right` (a value or an array of values). */
static json_t *constraint(const char *left, const char *op, json_t *right)
{
    return json_pack("{s:s, s:{s:s}, s:{s:s}, s:o}", "@type", "odrl:Constraint", "odrl:leftOperand",
                     "@id", left, "odrl:operator", "@id", op, "odrl:rightOperand", right);
}

/* The DUO IRI of a code ("HMB", "DS-C50", "NCU"); NULL for an unknown code. */
static json_t *duo_iri(const char *code)
{
    const ecl_duo_info *d = ecl_duo_lookup(code);
    if (d == NULL || strncmp(d->id, "DUO:", 4) != 0)
        return NULL;
    char s[64];
    snprintf(s, sizeof(s), "%s%s", DCAT_DUO, d->id + 4);
    return iri(s);
}

/* The purposes: DUO IRIs, and the disease ids of DS-<disease> as given. */
static void add_purposes(json_t *constraints, json_t *codes)
{
    json_t *duo = json_array(), *diseases = json_array();
    size_t i;
    json_t *c;
    json_array_foreach(codes, i, c)
    {
        const char *code = json_string_value(c);
        json_t *d = code ? duo_iri(code) : NULL;
        if (d != NULL)
            json_array_append_new(duo, d);
        if (code != NULL && strncmp(code, "DS-", 3) == 0)
            json_array_append_new(diseases, json_string(code + 3));
    }
    json_array_append_new(constraints, constraint(DCAT_ODRL "purpose", DCAT_ODRL "isAnyOf", duo));
    if (json_array_size(diseases) > 0)
        json_array_append_new(constraints,
                              constraint(DCAT_ECLUSE "disease", DCAT_ODRL "isAnyOf", diseases));
    else
        json_decref(diseases);
}

/* The lawful bases: one constraint for Art. 6(1), one for Art. 9(2), each
 * satisfied by any of its DPV concepts ("art6-1-e" -> dpv-gdpr:A6-1-e). */
static void add_bases(json_t *constraints, json_t *bases)
{
    const char *arts[] = {"art6-", "art9-"};
    for (int a = 0; a < 2; a++) {
        json_t *list = json_array();
        size_t i;
        json_t *b;
        json_array_foreach(bases, i, b)
        {
            const char *s = json_string_value(b);
            if (s == NULL || strncmp(s, arts[a], 5) != 0)
                continue;
            char id[96];
            snprintf(id, sizeof(id), "%sA%s", DCAT_DPV_GDPR, s + 3);
            json_array_append_new(list, iri(id));
        }
        if (json_array_size(list) > 0)
            json_array_append_new(constraints,
                                  constraint(DCAT_DPV "hasLegalBasis", DCAT_ODRL "isAnyOf", list));
        else
            json_decref(list);
    }
}

static void add_country(json_t *list, const char *alpha2)
{
    const char *a3 = country_alpha3(alpha2);
    if (a3 == NULL)
        return;
    char id[96];
    snprintf(id, sizeof(id), "%s%s", DCAT_EU_COUNTRY, a3);
    json_array_append_new(list, iri(id));
}

/* Where jobs may run (GS): EU country table IRIs, "EEA" as its countries. */
static void add_regions(json_t *constraints, json_t *area)
{
    if (json_array_size(area) == 0)
        return;
    json_t *list = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(area, i, r)
    {
        const char *s = json_string_value(r);
        if (s != NULL && strcmp(s, "EEA") == 0)
            for (size_t k = 0; k < sizeof(eea) / sizeof(eea[0]); k++)
                add_country(list, eea[k]);
        else if (s != NULL)
            add_country(list, s);
    }
    json_array_append_new(constraints, constraint(DCAT_ODRL "spatial", DCAT_ODRL "isAnyOf", list));
}

static void add_rows(json_t *constraints, json_t *max_rows)
{
    if (!json_is_integer(max_rows) || json_integer_value(max_rows) <= 0)
        return;
    char n[24];
    snprintf(n, sizeof(n), "%lld", (long long)json_integer_value(max_rows));
    json_array_append_new(constraints, constraint(DCAT_ECLUSE "rowCount", DCAT_ODRL "lteq",
                                                  typed(n, "xsd:nonNegativeInteger")));
}

/* The access period: no grant after access_until, none longer than
 * max_grant_days. */
static void add_period(json_t *constraints, json_t *storage)
{
    const char *until = json_string_value(json_object_get(storage, "access_until"));
    if (until != NULL)
        json_array_append_new(constraints, constraint(DCAT_ODRL "dateTime", DCAT_ODRL "lteq",
                                                      typed(until, "xsd:date")));
    json_t *days = json_object_get(storage, "max_grant_days");
    if (json_is_integer(days) && json_integer_value(days) > 0) {
        char d[32];
        snprintf(d, sizeof(d), "P%lldD", (long long)json_integer_value(days));
        json_array_append_new(constraints, constraint(DCAT_ODRL "elapsedTime", DCAT_ODRL "lteq",
                                                      typed(d, "xsd:duration")));
    }
}

static int has_code(json_t *codes, const char *code)
{
    size_t i;
    json_t *c;
    json_array_foreach(codes, i, c)
    {
        const char *s = json_string_value(c);
        if (s != NULL && strcmp(s, code) == 0)
            return 1;
    }
    return 0;
}

static json_t *duty(const char *action, const char *duo_code)
{
    json_t *d = json_pack("{s:s, s:{s:s}}", "@type", "odrl:Duty", "odrl:action", "@id", action);
    json_t *why = duo_iri(duo_code);
    if (why != NULL)
        json_object_set_new(d, "rdfs:seeAlso", why);
    return d;
}

/* The requirements a user takes on with the data. */
static json_t *duties(json_t *policy, json_t *modifiers)
{
    json_t *list = json_array();
    json_t *research = json_object_get(policy, "research");
    if (has_code(modifiers, "IRB") ||
        json_is_true(json_object_get(research, "ethics_approval_required")))
        json_array_append_new(list, duty(DCAT_ECLUSE "obtainEthicsApproval", "IRB"));
    if (has_code(modifiers, "PUB"))
        json_array_append_new(list, duty(DCAT_ECLUSE "publishResults", "PUB"));
    if (has_code(modifiers, "COL"))
        json_array_append_new(list, duty(DCAT_ECLUSE "collaborate", "COL"));
    if (has_code(modifiers, "RTN"))
        json_array_append_new(list, duty(DCAT_ECLUSE "returnResults", "RTN"));
    const char *mor =
        json_string_value(json_object_get(json_object_get(policy, "purposes"), "moratorium_until"));
    if (has_code(modifiers, "MOR") && mor != NULL) {
        json_t *d = duty(DCAT_ECLUSE "respectMoratorium", "MOR");
        json_object_set_new(d, "odrl:constraint",
                            json_pack("[o]", constraint(DCAT_ODRL "dateTime", DCAT_ODRL "lteq",
                                                        typed(mor, "xsd:date"))));
        json_array_append_new(list, d);
    }
    return list;
}

/* One permission to use the dataset for `purposes` with at most
 * `max_rows` rows, under every other term of the policy. */
static json_t *permission(json_t *policy, const char *target, const char *assigner,
                          json_t *purposes, json_t *max_rows)
{
    json_t *p = json_object_get(policy, "purposes");
    json_t *modifiers = json_object_get(p, "modifiers");
    json_t *constraints = json_array();
    add_purposes(constraints, purposes);
    json_t *mods = json_array();
    size_t i;
    json_t *m;
    json_array_foreach(modifiers, i, m)
    {
        json_t *d = json_is_string(m) ? duo_iri(json_string_value(m)) : NULL;
        if (d != NULL)
            json_array_append_new(mods, d);
    }
    if (json_array_size(mods) > 0)
        json_array_append_new(constraints,
                              constraint(DCAT_ECLUSE "dataUseModifier", DCAT_ODRL "isAllOf", mods));
    else
        json_decref(mods);
    add_bases(constraints, json_object_get(policy, "lawful_bases"));
    add_regions(constraints, json_object_get(p, "geographic_area"));
    add_rows(constraints, max_rows);
    add_period(constraints, json_object_get(policy, "storage"));
    json_t *r = json_pack("{s:s, s:{s:s}, s:{s:s}, s:{s:s}, s:o}", "@type", "odrl:Permission",
                          "odrl:action", "@id", DCAT_ODRL "use", "odrl:target", "@id", target,
                          "odrl:assigner", "@id", assigner, "odrl:constraint", constraints);
    json_t *d = duties(policy, modifiers);
    if (json_array_size(d) > 0)
        json_object_set_new(r, "odrl:duty", d);
    else
        json_decref(d);
    return r;
}

json_t *dcat_odrl_offer(const Ecluse__V1__DatasetEntry *e, const char *dataset_uri,
                        const char *assigner)
{
    char id[600];
    snprintf(id, sizeof(id), "%s#offer", dataset_uri);
    json_t *policy = json_loads(e->policy_json, 0, NULL);
    json_t *perms = json_array();
    json_t *min = json_object_get(policy, "minimisation");
    json_array_append_new(
        perms, permission(policy, dataset_uri, assigner,
                          json_object_get(json_object_get(policy, "purposes"), "allowed"),
                          json_object_get(json_object_get(min, "default"), "max_rows")));
    /* A purpose with a scope of its own: a permission of its own. */
    const char *code;
    json_t *scope;
    json_object_foreach(json_object_get(min, "by_purpose"), code, scope)
    {
        json_t *one = json_pack("[s]", code);
        json_array_append_new(perms, permission(policy, dataset_uri, assigner, one,
                                                json_object_get(scope, "max_rows")));
        json_decref(one);
    }
    json_decref(policy);
    return json_pack("{s:s, s:[s, s], s:{s:s}, s:{s:s}, s:{s:s}, s:o}", "@id", id, "@type",
                     "odrl:Offer", "odrl:Policy", "odrl:uid", "@id", id, "odrl:assigner", "@id",
                     assigner, "odrl:target", "@id", dataset_uri, "odrl:permission", perms);
}
