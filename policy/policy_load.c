/* policy_load.c - the policy file: JSON (jansson) into struct ecl_policy,
 * each field checked and every error naming the field. The whole-policy
 * checks come after, in policy_check.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "policy/jv.h"
#include "policy/policy_internal.h"
#include "policy/text.h"
#include "site/country.h"

typedef struct {
    const char *src;
    struct ecl_policy *pol;
    ecl_err *err;
} loader;

static void append_list(char *text, size_t cap, const char *item)
{
    size_t n = strlen(text);
    snprintf(text + n, cap - n, "%s%s", n > 0 ? ", " : "", item);
}

/* An array member whose items are strings; calls `each` for every item. */
typedef int (*item_fn)(loader *l, const char *field, const char *s, size_t i);

static int string_array(loader *l, const json_t *obj, const char *key, bool required,
                        size_t max_items, const char *path, item_fn each)
{
    json_t *arr;
    char field[ECL_JV_PATH_MAX], item[ECL_JV_PATH_MAX];
    ecl_jv_join(field, sizeof(field), path, key);
    if (ecl_jv_member(obj, key, JSON_ARRAY, required, l->src, path, &arr, l->err) != 0)
        return -1;
    if (arr == NULL)
        return 0;
    if (json_array_size(arr) > max_items)
        return ecl_jv_fail(l->err, l->src, field, "more than %zu items", max_items);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        ecl_jv_index(item, sizeof(item), field, i);
        if (!json_is_string(v))
            return ecl_jv_fail(l->err, l->src, item, "must be a string");
        const char *s = json_string_value(v);
        if (strlen(s) != json_string_length(v) || s[0] == '\0')
            return ecl_jv_fail(l->err, l->src, item, "must be a non-empty string without NUL");
        if (each(l, item, s, i) != 0)
            return -1;
    }
    return 0;
}

static int dataset_id_ok(const char *s)
{
    const char *slash = strchr(s, '/');
    if (slash == NULL || slash == s || slash[1] == '\0' || strchr(slash + 1, '/') != NULL)
        return 0;
    for (const char *p = s; *p != '\0'; p++)
        if (*p <= ' ' || *p == 0x7f)
            return 0;
    return 1;
}

/* --- category ----------------------------------------------------------- */

static int special_item(loader *l, const char *field, const char *s, size_t i)
{
    (void)i;
    for (unsigned b = 0; b < ECL_SPECIAL_KINDS; b++)
        if (strcmp(s, ecl_special_name(b)) == 0) {
            if (l->pol->special_mask & (1u << b))
                return ecl_jv_fail(l->err, l->src, field, "'%s' listed twice", s);
            l->pol->special_mask |= 1u << b;
            append_list(l->pol->special_text, sizeof(l->pol->special_text), s);
            return 0;
        }
    return ecl_jv_fail(l->err, l->src, field,
                       "unknown special category '%s' (GDPR Art. 9(1): racial-ethnic-origin, "
                       "political-opinions, religious-beliefs, trade-union, genetic, biometric, "
                       "health, sex-life)",
                       s);
}

static int load_category(loader *l, const json_t *root)
{
    struct ecl_policy *pol = l->pol;
    const char *cat;
    if (ecl_jv_string(root, "category", true, 32, l->src, "", &cat, l->err) != 0)
        return -1;
    if (strcmp(cat, "anonymous") == 0)
        pol->category = ECL_CAT_ANONYMOUS;
    else if (strcmp(cat, "pseudonymised") == 0)
        pol->category = ECL_CAT_PSEUDONYMISED;
    else if (strcmp(cat, "personal") == 0)
        pol->category = ECL_CAT_PERSONAL;
    else if (strcmp(cat, "special") == 0)
        pol->category = ECL_CAT_SPECIAL;
    else
        return ecl_jv_fail(l->err, l->src, "category",
                           "unknown category '%s' (anonymous, pseudonymised, personal, special)",
                           cat);
    if (string_array(l, root, "special_categories", pol->category == ECL_CAT_SPECIAL,
                     ECL_SPECIAL_KINDS, "", special_item) != 0)
        return -1;
    if (pol->category == ECL_CAT_SPECIAL && pol->special_mask == 0)
        return ecl_jv_fail(l->err, l->src, "special_categories",
                           "category 'special' needs at least one GDPR Art. 9(1) category");
    if (pol->category != ECL_CAT_SPECIAL && json_object_get(root, "special_categories"))
        return ecl_jv_fail(l->err, l->src, "special_categories",
                           "given, but category is '%s': a contradiction (use category "
                           "'special' for Art. 9 data)",
                           cat);
    bool pseudo_dflt = pol->category != ECL_CAT_PERSONAL && pol->category != ECL_CAT_SPECIAL;
    if (ecl_jv_bool(root, "pseudonymised", false, pseudo_dflt, l->src, "", &pol->pseudonymised,
                    l->err) != 0)
        return -1;
    if (pol->category == ECL_CAT_PSEUDONYMISED && !pol->pseudonymised)
        return ecl_jv_fail(l->err, l->src, "pseudonymised",
                           "false, but category is 'pseudonymised': a contradiction");
    if (pol->category == ECL_CAT_PERSONAL && pol->pseudonymised)
        return ecl_jv_fail(l->err, l->src, "pseudonymised",
                           "true, but category is 'personal': use category 'pseudonymised'");
    return 0;
}

/* --- lawful bases --------------------------------------------------------- */

static int basis_item(loader *l, const char *field, const char *s, size_t i)
{
    (void)i;
    int article, letter;
    if (ecl_basis_code(s, strlen(s), &article, &letter) != 0)
        return ecl_jv_fail(l->err, l->src, field,
                           "unknown lawful basis '%s' (art6-1-<a..f> or art9-2-<a..j>)", s);
    uint32_t *mask = article == 6 ? &l->pol->art6_mask : &l->pol->art9_mask;
    if (*mask & (1u << letter))
        return ecl_jv_fail(l->err, l->src, field, "'%s' listed twice", s);
    *mask |= 1u << letter;
    if (article == 6)
        append_list(l->pol->art6_text, sizeof(l->pol->art6_text), s);
    else
        append_list(l->pol->art9_text, sizeof(l->pol->art9_text), s);
    return 0;
}

/* --- purposes ------------------------------------------------------------- */

static int allowed_item(loader *l, const char *field, const char *s, size_t i)
{
    struct ecl_policy *pol = l->pol;
    const char *why;
    ecl_duo_purpose p;
    if (ecl_duo_parse_purpose(s, true, &p, &why) != 0)
        return ecl_jv_fail(l->err, l->src, field, "%s '%s'", why, s);
    for (size_t k = 0; k < i; k++)
        if (strcmp(pol->allowed_code[k], s) == 0)
            return ecl_jv_fail(l->err, l->src, field, "'%s' listed twice", s);
    pol->allowed[i] = p;
    snprintf(pol->allowed_code[i], sizeof(pol->allowed_code[i]), "%s", s);
    pol->n_allowed = i + 1;
    append_list(pol->allowed_text, sizeof(pol->allowed_text), s);
    return 0;
}

static int modifier_item(loader *l, const char *field, const char *s, size_t i)
{
    (void)i;
    const ecl_duo_info *info = ecl_duo_lookup(s);
    if (info == NULL)
        return ecl_jv_fail(l->err, l->src, field, "unknown DUO code '%s'", s);
    if (info->kind == ECL_DUO_KIND_PRIMARY)
        return ecl_jv_fail(l->err, l->src, field,
                           "'%s' is a purpose, not a modifier: list it in purposes.allowed", s);
    if (info->kind == ECL_DUO_KIND_UNSUPPORTED)
        return ecl_jv_fail(l->err, l->src, field,
                           "DUO code '%s' (%s, %s) is not supported: a request here cannot "
                           "show it is met",
                           s, info->id, info->label);
    if (l->pol->modifiers & (1u << info->value))
        return ecl_jv_fail(l->err, l->src, field, "'%s' listed twice", s);
    l->pol->modifiers |= 1u << info->value;
    return 0;
}

static int area_item(loader *l, const char *field, const char *s, size_t i)
{
    struct ecl_policy *pol = l->pol;
    if (strcmp(s, "EEA") != 0 && !country_is_valid(s))
        return ecl_jv_fail(l->err, l->src, field,
                           "'%s' is neither \"EEA\" nor an ISO 3166-1 alpha-2 country code", s);
    snprintf(pol->area[i], sizeof(pol->area[i]), "%s", s);
    pol->n_area = i + 1;
    append_list(pol->area_text, sizeof(pol->area_text), s);
    return 0;
}

static int copy_item(char (*list)[POL_LIST_ITEM_MAX], size_t *n, loader *l, const char *field,
                     const char *s, size_t i)
{
    if (strlen(s) >= POL_LIST_ITEM_MAX)
        return ecl_jv_fail(l->err, l->src, field, "longer than %d bytes", POL_LIST_ITEM_MAX - 1);
    memcpy(list[i], s, strlen(s) + 1);
    *n = i + 1;
    return 0;
}

static int institution_item(loader *l, const char *field, const char *s, size_t i)
{
    return copy_item(l->pol->institutions, &l->pol->n_institutions, l, field, s, i);
}

static int user_item(loader *l, const char *field, const char *s, size_t i)
{
    if (strncmp(s, "spiffe://", 9) != 0 || strchr(s + 9, '/') == NULL)
        return ecl_jv_fail(l->err, l->src, field,
                           "'%s' is not a SPIFFE id (spiffe://<site>/researcher/<name>)", s);
    return copy_item(l->pol->users, &l->pol->n_users, l, field, s, i);
}

/* A field that belongs to one modifier: required with it, refused without. */
static int modifier_field(loader *l, const json_t *obj, const char *key, ecl_duo_modifier m,
                          item_fn each)
{
    bool has = (l->pol->modifiers >> m) & 1u;
    const char *code = ecl_duo_modifier_info(m)->code;
    char field[ECL_JV_PATH_MAX];
    ecl_jv_join(field, sizeof(field), "purposes", key);
    if (!has && json_object_get(obj, key) != NULL)
        return ecl_jv_fail(l->err, l->src, field, "given, but purposes.modifiers has no %s", code);
    if (!has)
        return 0;
    if (json_object_get(obj, key) == NULL)
        return ecl_jv_fail(l->err, l->src, field, "missing: modifier %s needs it", code);
    if (each == NULL)
        return 0;
    if (string_array(l, obj, key, true, POL_MAX_LIST, "purposes", each) != 0)
        return -1;
    if (json_array_size(json_object_get(obj, key)) == 0)
        return ecl_jv_fail(l->err, l->src, field,
                           "empty: modifier %s with an empty list can never permit", code);
    return 0;
}

static int load_purposes(loader *l, const json_t *root)
{
    static const char *const keys[] = {
        "allowed",          "modifiers", "geographic_area", "institutions", "users",
        "moratorium_until", NULL};
    json_t *obj;
    if (ecl_jv_member(root, "purposes", JSON_OBJECT, true, l->src, "", &obj, l->err) != 0 ||
        ecl_jv_keys(obj, l->src, "purposes", keys, l->err) != 0)
        return -1;
    if (string_array(l, obj, "allowed", true, POL_MAX_ALLOWED, "purposes", allowed_item) != 0 ||
        string_array(l, obj, "modifiers", false, ECL_DUO_MODIFIER_COUNT, "purposes",
                     modifier_item) != 0)
        return -1;
    if (modifier_field(l, obj, "geographic_area", ECL_DUO_GS, area_item) != 0 ||
        modifier_field(l, obj, "institutions", ECL_DUO_IS, institution_item) != 0 ||
        modifier_field(l, obj, "users", ECL_DUO_US, user_item) != 0 ||
        modifier_field(l, obj, "moratorium_until", ECL_DUO_MOR, NULL) != 0)
        return -1;
    int64_t mor;
    if (ecl_jv_date(obj, "moratorium_until", false, l->src, "purposes", &mor, l->err) != 0)
        return -1;
    l->pol->moratorium_until = mor != 0 ? mor + ECL_DAY_SECONDS : 0;
    return 0;
}

/* --- tensors and minimisation ---------------------------------------------- */

static int load_tensors(loader *l, const json_t *root)
{
    static const char *const keys[] = {"name", "identifying", NULL};
    struct ecl_policy *pol = l->pol;
    json_t *arr, *v;
    size_t i;
    char field[ECL_JV_PATH_MAX];
    if (ecl_jv_member(root, "tensors", JSON_ARRAY, true, l->src, "", &arr, l->err) != 0)
        return -1;
    if (json_array_size(arr) == 0)
        return ecl_jv_fail(l->err, l->src, "tensors", "empty: a dataset needs a tensor");
    if (json_array_size(arr) > ECL_POLICY_MAX_TENSORS)
        return ecl_jv_fail(l->err, l->src, "tensors", "more than %d tensors",
                           ECL_POLICY_MAX_TENSORS);
    json_array_foreach(arr, i, v)
    {
        ecl_jv_index(field, sizeof(field), "tensors", i);
        if (!json_is_object(v))
            return ecl_jv_fail(l->err, l->src, field, "must be an object");
        const char *name;
        bool ident;
        if (ecl_jv_keys(v, l->src, field, keys, l->err) != 0 ||
            ecl_jv_string(v, "name", true, ECL_POLICY_NAME_MAX - 1, l->src, field, &name, l->err) !=
                0 ||
            ecl_jv_bool(v, "identifying", false, false, l->src, field, &ident, l->err) != 0)
            return -1;
        for (size_t k = 0; k < i; k++)
            if (strcmp(pol->tensors[k].name, name) == 0)
                return ecl_jv_fail(l->err, l->src, field, "tensor '%s' declared twice", name);
        memcpy(pol->tensors[i].name, name, strlen(name) + 1);
        pol->tensors[i].identifying = ident;
        if (ident)
            pol->identifying_mask |= 1u << i;
        pol->n_tensors = i + 1;
    }
    return 0;
}

static int tensor_index(const struct ecl_policy *pol, const char *name)
{
    for (size_t i = 0; i < pol->n_tensors; i++)
        if (strcmp(pol->tensors[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int load_scope(loader *l, const json_t *obj, const char *path, pol_scope *sc)
{
    static const char *const keys[] = {"tensors", "max_rows", NULL};
    char field[ECL_JV_PATH_MAX], item[ECL_JV_PATH_MAX];
    json_t *arr, *v;
    size_t i;
    if (!json_is_object(obj))
        return ecl_jv_fail(l->err, l->src, path, "must be an object");
    if (ecl_jv_keys(obj, l->src, path, keys, l->err) != 0 ||
        ecl_jv_member(obj, "tensors", JSON_ARRAY, true, l->src, path, &arr, l->err) != 0 ||
        ecl_jv_uint(obj, "max_rows", true, 1, UINT64_MAX >> 1, 0, l->src, path, &sc->max_rows,
                    l->err) != 0)
        return -1;
    ecl_jv_join(field, sizeof(field), path, "tensors");
    if (json_array_size(arr) == 0)
        return ecl_jv_fail(l->err, l->src, field, "empty: this scope could never release data");
    json_array_foreach(arr, i, v)
    {
        ecl_jv_index(item, sizeof(item), field, i);
        if (!json_is_string(v))
            return ecl_jv_fail(l->err, l->src, item, "must be a string");
        int t = tensor_index(l->pol, json_string_value(v));
        if (t < 0)
            return ecl_jv_fail(l->err, l->src, item, "tensor '%s' is not declared in tensors",
                               json_string_value(v));
        if (sc->tensor_mask & (1u << t))
            return ecl_jv_fail(l->err, l->src, item, "tensor '%s' listed twice",
                               json_string_value(v));
        sc->tensor_mask |= 1u << t;
    }
    return 0;
}

static int load_minimisation(loader *l, const json_t *root)
{
    static const char *const keys[] = {"default", "by_purpose", NULL};
    struct ecl_policy *pol = l->pol;
    json_t *obj, *def, *by, *v;
    const char *key;
    char field[ECL_JV_PATH_MAX];
    if (ecl_jv_member(root, "minimisation", JSON_OBJECT, true, l->src, "", &obj, l->err) != 0 ||
        ecl_jv_keys(obj, l->src, "minimisation", keys, l->err) != 0 ||
        ecl_jv_member(obj, "default", JSON_OBJECT, true, l->src, "minimisation", &def, l->err) !=
            0 ||
        ecl_jv_member(obj, "by_purpose", JSON_OBJECT, false, l->src, "minimisation", &by, l->err) !=
            0)
        return -1;
    pol->scopes[0].is_default = true;
    snprintf(pol->scopes[0].code, sizeof(pol->scopes[0].code), "default");
    if (load_scope(l, def, "minimisation.default", &pol->scopes[0]) != 0)
        return -1;
    pol->n_scopes = 1;
    if (by == NULL)
        return 0;
    json_object_foreach(by, key, v)
    {
        ecl_jv_join(field, sizeof(field), "minimisation.by_purpose", key);
        if (pol->n_scopes == POL_MAX_SCOPES)
            return ecl_jv_fail(l->err, l->src, field, "more than %d purpose scopes",
                               POL_MAX_SCOPES - 1);
        pol_scope *sc = &pol->scopes[pol->n_scopes];
        const char *why;
        if (ecl_duo_parse_purpose(key, false, &sc->purpose, &why) != 0)
            return ecl_jv_fail(l->err, l->src, field, "%s '%s'", why, key);
        snprintf(sc->code, sizeof(sc->code), "%s", key);
        if (load_scope(l, v, field, sc) != 0)
            return -1;
        pol->n_scopes++;
    }
    return 0;
}

/* --- storage, transfers, research ------------------------------------------- */

static int load_storage(loader *l, const json_t *root)
{
    static const char *const keys[] = {"access_until", "max_grant_days", "retention_days", NULL};
    struct ecl_policy *pol = l->pol;
    json_t *obj;
    int64_t until;
    if (ecl_jv_member(root, "storage", JSON_OBJECT, true, l->src, "", &obj, l->err) != 0 ||
        ecl_jv_keys(obj, l->src, "storage", keys, l->err) != 0 ||
        ecl_jv_date(obj, "access_until", false, l->src, "storage", &until, l->err) != 0 ||
        ecl_jv_uint(obj, "max_grant_days", true, 1, 3650, 0, l->src, "storage",
                    &pol->max_grant_days, l->err) != 0)
        return -1;
    pol->access_until = until != 0 ? until + ECL_DAY_SECONDS : 0;
    /* Storage limitation binds personal data: the retention period is then required. */
    bool personal = pol->category != ECL_CAT_ANONYMOUS;
    pol->has_retention = json_object_get(obj, "retention_days") != NULL;
    if (personal && !pol->has_retention)
        return ecl_jv_fail(l->err, l->src, "storage.retention_days",
                           "missing: required for %s data (GDPR Art. 5(1)(e))",
                           ecl_category_name(pol->category));
    return ecl_jv_uint(obj, "retention_days", false, 0, 36500, 0, l->src, "storage",
                       &pol->retention_days, l->err);
}

static int transfer_item(loader *l, const char *field, const char *s, size_t i)
{
    (void)i;
    uint32_t bit;
    if (strcmp(s, "eea") == 0)
        bit = POL_XFER_EEA;
    else if (strcmp(s, "adequacy") == 0)
        bit = POL_XFER_ADEQUACY;
    else if (strcmp(s, "scc") == 0)
        bit = POL_XFER_SCC;
    else
        return ecl_jv_fail(l->err, l->src, field,
                           "unknown transfer mechanism '%s' (eea, adequacy, scc)", s);
    if (l->pol->transfers & bit)
        return ecl_jv_fail(l->err, l->src, field, "'%s' listed twice", s);
    l->pol->transfers |= bit;
    return 0;
}

static int load_transfers(loader *l, const json_t *root)
{
    static const char *const keys[] = {"allow", NULL};
    json_t *obj;
    if (ecl_jv_member(root, "transfers", JSON_OBJECT, false, l->src, "", &obj, l->err) != 0)
        return -1;
    if (obj == NULL) {
        l->pol->transfers = POL_XFER_EEA | POL_XFER_ADEQUACY | POL_XFER_SCC;
        return 0;
    }
    if (ecl_jv_keys(obj, l->src, "transfers", keys, l->err) != 0 ||
        string_array(l, obj, "allow", true, 3, "transfers", transfer_item) != 0)
        return -1;
    if (l->pol->transfers == 0)
        return ecl_jv_fail(l->err, l->src, "transfers.allow",
                           "empty: no job could run anywhere, the policy could never permit");
    return 0;
}

static int load_research(loader *l, const json_t *root)
{
    static const char *const keys[] = {"ethics_approval_required", "pseudonymised_only", NULL};
    json_t *obj;
    if (ecl_jv_member(root, "research", JSON_OBJECT, false, l->src, "", &obj, l->err) != 0)
        return -1;
    if (obj == NULL)
        return 0;
    return ecl_jv_keys(obj, l->src, "research", keys, l->err) != 0 ||
                   ecl_jv_bool(obj, "ethics_approval_required", false, false, l->src, "research",
                               &l->pol->ethics_required, l->err) != 0 ||
                   ecl_jv_bool(obj, "pseudonymised_only", false, false, l->src, "research",
                               &l->pol->pseudonymised_only, l->err) != 0
               ? -1
               : 0;
}

/* --- the whole file ---------------------------------------------------------- */

static int load_root(loader *l, const json_t *root)
{
    static const char *const keys[] = {
        "ecluse_policy", "dataset",      "description", "category", "special_categories",
        "pseudonymised", "lawful_bases", "purposes",    "tensors",  "minimisation",
        "storage",       "transfers",    "research",    NULL};
    struct ecl_policy *pol = l->pol;
    uint64_t version;
    const char *dataset, *desc;
    if (ecl_jv_keys(root, l->src, "", keys, l->err) != 0 ||
        ecl_jv_uint(root, "ecluse_policy", true, 1, 1, 0, l->src, "", &version, l->err) != 0 ||
        ecl_jv_string(root, "dataset", true, POL_ID_MAX - 1, l->src, "", &dataset, l->err) != 0 ||
        ecl_jv_string(root, "description", false, 4096, l->src, "", &desc, l->err) != 0)
        return -1;
    if (!dataset_id_ok(dataset))
        return ecl_jv_fail(l->err, l->src, "dataset",
                           "'%s' is not a dataset id of the form <site>/<name>", dataset);
    memcpy(pol->dataset, dataset, strlen(dataset) + 1);
    if (load_category(l, root) != 0)
        return -1;
    if (string_array(l, root, "lawful_bases", pol->category != ECL_CAT_ANONYMOUS, 16, "",
                     basis_item) != 0)
        return -1;
    if (load_purposes(l, root) != 0 || load_tensors(l, root) != 0 ||
        load_minimisation(l, root) != 0 || load_storage(l, root) != 0 ||
        load_transfers(l, root) != 0 || load_research(l, root) != 0)
        return -1;
    return ecl_policy_check(pol, l->err);
}

int ecl_policy_parse(const char *json, size_t len, const char *source, ecl_policy **out,
                     ecl_err *err)
{
    if (out == NULL || json == NULL || source == NULL)
        return ecl_fail(err, ECL_E_USAGE, "ecl_policy_parse: NULL argument");
    *out = NULL;
    json_t *root;
    if (ecl_jv_load(json, len, source, &root, err) != 0)
        return -1;
    struct ecl_policy *pol = calloc(1, sizeof(*pol));
    if (pol == NULL) {
        json_decref(root);
        return ecl_fail(err, ECL_E_INTERNAL, "%s: out of memory", source);
    }
    snprintf(pol->source, sizeof(pol->source), "%s", source);
    loader l = {source, pol, err};
    int rc = load_root(&l, root);
    json_decref(root);
    if (rc != 0) {
        free(pol);
        return -1;
    }
    *out = pol;
    return 0;
}

int ecl_policy_load_file(const char *path, ecl_policy **out, ecl_err *err)
{
    char *text;
    size_t len;
    if (out != NULL)
        *out = NULL;
    if (ecl_read_file(path, ECL_POLICY_FILE_MAX, &text, &len, err) != 0)
        return -1;
    int rc = ecl_policy_parse(text, len, path, out, err);
    free(text);
    return rc;
}

void ecl_policy_free(ecl_policy *pol)
{
    free(pol);
}

const char *ecl_policy_dataset(const ecl_policy *pol)
{
    return pol->dataset;
}

size_t ecl_policy_tensor_count(const ecl_policy *pol)
{
    return pol->n_tensors;
}

const char *ecl_policy_tensor_name(const ecl_policy *pol, size_t i)
{
    return i < pol->n_tensors ? pol->tensors[i].name : NULL;
}
