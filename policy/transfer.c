/* transfer.c - the EEA / adequacy rules file and the site's SCC file. The
 * parsed jansson tree is kept alive so that names and notes can be handed out
 * as borrowed strings; lookups read only the flat arrays built here. */
#include "policy/transfer.h"

#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "policy/jv.h"
#include "policy/text.h"
#include "site/country.h"

struct ecl_transfer_rules {
    json_t *root;
    const char *updated;
    size_t n_eea;
    uint16_t eea[ECL_TRANSFER_MAX_COUNTRIES];
    size_t n_adequacy;
    uint16_t adequacy_cc[ECL_TRANSFER_MAX_COUNTRIES];
    ecl_adequacy adequacy[ECL_TRANSFER_MAX_COUNTRIES];
};

struct ecl_scc_registry {
    json_t *root;
    size_t n;
    ecl_scc sccs[ECL_TRANSFER_MAX_SCCS];
};

static uint16_t cc16(const char *c)
{
    return (uint16_t)(((unsigned char)c[0] << 8) | (unsigned char)c[1]);
}

/* A "country" member that must be an alpha-2 code. */
static int country_member(const json_t *obj, const char *src, const char *path, const char **out,
                          ecl_err *err)
{
    if (ecl_jv_string(obj, "country", true, 2, src, path, out, err) != 0)
        return -1;
    if (!country_is_valid(*out)) {
        char field[ECL_JV_PATH_MAX];
        ecl_jv_join(field, sizeof(field), path, "country");
        return ecl_jv_fail(err, src, field, "'%s' is not an ISO 3166-1 alpha-2 code", *out);
    }
    return 0;
}

/* The array member `key`, each item an object, at most `max` of them. */
static int object_array(const json_t *root, const char *key, size_t max, const char *src,
                        json_t **out, ecl_err *err)
{
    if (ecl_jv_member(root, key, JSON_ARRAY, true, src, "", out, err) != 0)
        return -1;
    if (json_array_size(*out) > max)
        return ecl_jv_fail(err, src, key, "more than %zu entries", max);
    size_t i;
    json_t *v;
    char field[ECL_JV_PATH_MAX];
    json_array_foreach(*out, i, v)
    {
        if (!json_is_object(v)) {
            ecl_jv_index(field, sizeof(field), key, i);
            return ecl_jv_fail(err, src, field, "must be an object");
        }
    }
    return 0;
}

static int known_country(const ecl_transfer_rules *r, uint16_t c)
{
    for (size_t i = 0; i < r->n_eea; i++)
        if (r->eea[i] == c)
            return 1;
    for (size_t i = 0; i < r->n_adequacy; i++)
        if (r->adequacy_cc[i] == c)
            return 1;
    return 0;
}

static int load_eea(ecl_transfer_rules *r, const char *src, ecl_err *err)
{
    static const char *const keys[] = {"country", "name", NULL};
    json_t *arr, *v;
    size_t i;
    char field[ECL_JV_PATH_MAX];
    if (object_array(r->root, "eea", ECL_TRANSFER_MAX_COUNTRIES, src, &arr, err) != 0)
        return -1;
    json_array_foreach(arr, i, v)
    {
        const char *cc, *name;
        ecl_jv_index(field, sizeof(field), "eea", i);
        if (ecl_jv_keys(v, src, field, keys, err) != 0 ||
            country_member(v, src, field, &cc, err) != 0 ||
            ecl_jv_string(v, "name", true, 128, src, field, &name, err) != 0)
            return -1;
        if (known_country(r, cc16(cc)))
            return ecl_jv_fail(err, src, field, "country %s listed twice", cc);
        r->eea[r->n_eea++] = cc16(cc);
    }
    return 0;
}

static int load_adequacy_entry(ecl_transfer_rules *r, const json_t *v, const char *field,
                               const char *src, ecl_err *err)
{
    static const char *const keys[] = {"country", "name", "decision", "in_force", "expires",
                                       "scope",   "note", "attest",   NULL};
    const char *cc, *scope;
    ecl_adequacy *a = &r->adequacy[r->n_adequacy];
    int64_t expires;
    if (ecl_jv_keys(v, src, field, keys, err) != 0 ||
        country_member(v, src, field, &cc, err) != 0 ||
        ecl_jv_string(v, "name", true, 128, src, field, &a->name, err) != 0 ||
        ecl_jv_string(v, "decision", true, 80, src, field, &a->decision, err) != 0 ||
        ecl_jv_date(v, "in_force", true, src, field, &a->from_unix, err) != 0 ||
        ecl_jv_date(v, "expires", false, src, field, &expires, err) != 0 ||
        ecl_jv_string(v, "scope", true, 16, src, field, &scope, err) != 0 ||
        ecl_jv_string(v, "note", true, ECL_TRANSFER_NOTE_MAX, src, field, &a->scope, err) != 0 ||
        ecl_jv_string(v, "attest", false, ECL_TRANSFER_ATTEST_MAX, src, field, &a->attest, err) !=
            0)
        return -1;
    char sub[ECL_JV_PATH_MAX];
    if (strcmp(scope, "full") != 0 && strcmp(scope, "partial") != 0) {
        ecl_jv_join(sub, sizeof(sub), field, "scope");
        return ecl_jv_fail(err, src, sub, "must be \"full\" or \"partial\", not '%s'", scope);
    }
    a->partial = scope[0] == 'p';
    if (!a->partial && a->attest != NULL) {
        ecl_jv_join(sub, sizeof(sub), field, "attest");
        return ecl_jv_fail(err, src, sub, "only a \"partial\" decision asks for an attestation");
    }
    a->until_unix = expires != 0 ? expires + ECL_DAY_SECONDS : 0;
    if (a->until_unix != 0 && a->until_unix <= a->from_unix) {
        ecl_jv_join(sub, sizeof(sub), field, "expires");
        return ecl_jv_fail(err, src, sub, "before in_force");
    }
    if (known_country(r, cc16(cc)))
        return ecl_jv_fail(err, src, field, "country %s listed twice (or also in eea)", cc);
    memcpy(a->country, cc, 3);
    r->adequacy_cc[r->n_adequacy++] = cc16(cc);
    return 0;
}

static int load_rules(ecl_transfer_rules *r, const char *src, ecl_err *err)
{
    static const char *const keys[] = {
        "ecluse_transfer_rules", "updated", "sources", "eea", "adequacy", NULL};
    uint64_t version;
    int64_t updated;
    const char *sources;
    if (ecl_jv_keys(r->root, src, "", keys, err) != 0 ||
        ecl_jv_uint(r->root, "ecluse_transfer_rules", true, 1, 1, 0, src, "", &version, err) != 0 ||
        ecl_jv_date(r->root, "updated", true, src, "", &updated, err) != 0 ||
        ecl_jv_string(r->root, "updated", true, 10, src, "", &r->updated, err) != 0 ||
        ecl_jv_string(r->root, "sources", false, 4096, src, "", &sources, err) != 0 ||
        load_eea(r, src, err) != 0)
        return -1;
    json_t *arr, *v;
    size_t i;
    char field[ECL_JV_PATH_MAX];
    if (object_array(r->root, "adequacy", ECL_TRANSFER_MAX_COUNTRIES, src, &arr, err) != 0)
        return -1;
    json_array_foreach(arr, i, v)
    {
        ecl_jv_index(field, sizeof(field), "adequacy", i);
        if (load_adequacy_entry(r, v, field, src, err) != 0)
            return -1;
    }
    return 0;
}

int ecl_transfer_rules_parse(const char *json, size_t len, const char *source,
                             ecl_transfer_rules **out, ecl_err *err)
{
    *out = NULL;
    ecl_transfer_rules *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "%s: out of memory", source);
    if (ecl_jv_load(json, len, source, &r->root, err) != 0 || load_rules(r, source, err) != 0) {
        ecl_transfer_rules_free(r);
        return -1;
    }
    *out = r;
    return 0;
}

int ecl_transfer_rules_load_file(const char *path, ecl_transfer_rules **out, ecl_err *err)
{
    char *text;
    size_t len;
    *out = NULL;
    if (ecl_read_file(path, ECL_TRANSFER_FILE_MAX, &text, &len, err) != 0)
        return -1;
    int rc = ecl_transfer_rules_parse(text, len, path, out, err);
    free(text);
    return rc;
}

void ecl_transfer_rules_free(ecl_transfer_rules *r)
{
    if (r == NULL)
        return;
    json_decref(r->root);
    free(r);
}

int ecl_transfer_is_eea(const ecl_transfer_rules *r, const char *country)
{
    if (!country_is_valid(country))
        return 0;
    uint16_t c = cc16(country);
    for (size_t i = 0; i < r->n_eea; i++)
        if (r->eea[i] == c)
            return 1;
    return 0;
}

const ecl_adequacy *ecl_transfer_adequacy(const ecl_transfer_rules *r, const char *country)
{
    if (!country_is_valid(country))
        return NULL;
    uint16_t c = cc16(country);
    for (size_t i = 0; i < r->n_adequacy; i++)
        if (r->adequacy_cc[i] == c)
            return &r->adequacy[i];
    return NULL;
}

size_t ecl_transfer_eea_count(const ecl_transfer_rules *r)
{
    return r->n_eea;
}

size_t ecl_transfer_adequacy_count(const ecl_transfer_rules *r)
{
    return r->n_adequacy;
}

const char *ecl_transfer_rules_updated(const ecl_transfer_rules *r)
{
    return r->updated;
}

/* --- SCCs ------------------------------------------------------------------- */

static int load_scc_countries(ecl_scc *s, const json_t *v, const char *field, const char *src,
                              ecl_err *err)
{
    json_t *arr, *c;
    size_t i;
    char sub[ECL_JV_PATH_MAX], item[ECL_JV_PATH_MAX];
    if (ecl_jv_member(v, "countries", JSON_ARRAY, true, src, field, &arr, err) != 0)
        return -1;
    ecl_jv_join(sub, sizeof(sub), field, "countries");
    if (json_array_size(arr) == 0 || json_array_size(arr) > ECL_TRANSFER_MAX_SCC_COUNTRIES)
        return ecl_jv_fail(err, src, sub, "must list 1 to %d countries",
                           ECL_TRANSFER_MAX_SCC_COUNTRIES);
    json_array_foreach(arr, i, c)
    {
        ecl_jv_index(item, sizeof(item), sub, i);
        if (!json_is_string(c))
            return ecl_jv_fail(err, src, item, "must be an ISO 3166-1 alpha-2 code (a string)");
        if (!country_is_valid(json_string_value(c)))
            return ecl_jv_fail(err, src, item, "'%s' is not an ISO 3166-1 alpha-2 code",
                               json_string_value(c));
        memcpy(s->countries[i], json_string_value(c), 3);
        s->n_countries = i + 1;
    }
    return 0;
}

static int load_scc(ecl_scc_registry *reg, const json_t *v, const char *field, const char *src,
                    ecl_err *err)
{
    static const char *const keys[] = {"recipient_site", "reference", "signed", "expires",
                                       "countries",      "note",      NULL};
    ecl_scc *s = &reg->sccs[reg->n];
    const char *note;
    int64_t expires;
    if (ecl_jv_keys(v, src, field, keys, err) != 0 ||
        ecl_jv_string(v, "recipient_site", true, 64, src, field, &s->recipient_site, err) != 0 ||
        ecl_jv_string(v, "reference", true, 64, src, field, &s->reference, err) != 0 ||
        ecl_jv_date(v, "signed", true, src, field, &s->signed_unix, err) != 0 ||
        ecl_jv_date(v, "expires", true, src, field, &expires, err) != 0 ||
        ecl_jv_string(v, "note", false, 400, src, field, &note, err) != 0 ||
        load_scc_countries(s, v, field, src, err) != 0)
        return -1;
    s->until_unix = expires + ECL_DAY_SECONDS;
    if (expires < s->signed_unix) {
        char sub[ECL_JV_PATH_MAX];
        ecl_jv_join(sub, sizeof(sub), field, "expires");
        return ecl_jv_fail(err, src, sub, "before signed");
    }
    for (size_t i = 0; i < reg->n; i++)
        if (strcmp(reg->sccs[i].reference, s->reference) == 0)
            return ecl_jv_fail(err, src, field, "reference '%s' listed twice", s->reference);
    reg->n++;
    return 0;
}

int ecl_scc_registry_parse(const char *json, size_t len, const char *source, ecl_scc_registry **out,
                           ecl_err *err)
{
    static const char *const keys[] = {"ecluse_sccs", "site", "sccs", NULL};
    *out = NULL;
    ecl_scc_registry *reg = calloc(1, sizeof(*reg));
    if (reg == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "%s: out of memory", source);
    uint64_t version;
    const char *site;
    json_t *arr, *v;
    size_t i;
    char field[ECL_JV_PATH_MAX];
    if (ecl_jv_load(json, len, source, &reg->root, err) != 0 ||
        ecl_jv_keys(reg->root, source, "", keys, err) != 0 ||
        ecl_jv_uint(reg->root, "ecluse_sccs", true, 1, 1, 0, source, "", &version, err) != 0 ||
        ecl_jv_string(reg->root, "site", false, 64, source, "", &site, err) != 0 ||
        object_array(reg->root, "sccs", ECL_TRANSFER_MAX_SCCS, source, &arr, err) != 0)
        goto fail;
    json_array_foreach(arr, i, v)
    {
        ecl_jv_index(field, sizeof(field), "sccs", i);
        if (load_scc(reg, v, field, source, err) != 0)
            goto fail;
    }
    *out = reg;
    return 0;
fail:
    ecl_scc_registry_free(reg);
    return -1;
}

int ecl_scc_registry_load_file(const char *path, ecl_scc_registry **out, ecl_err *err)
{
    char *text;
    size_t len;
    *out = NULL;
    if (ecl_read_file(path, ECL_TRANSFER_FILE_MAX, &text, &len, err) != 0)
        return -1;
    int rc = ecl_scc_registry_parse(text, len, path, out, err);
    free(text);
    return rc;
}

void ecl_scc_registry_free(ecl_scc_registry *reg)
{
    if (reg == NULL)
        return;
    json_decref(reg->root);
    free(reg);
}

static int lists_country(const ecl_scc *s, const char *country)
{
    for (size_t i = 0; i < s->n_countries; i++)
        if (s->countries[i][0] == country[0] && s->countries[i][1] == country[1])
            return 1;
    return 0;
}

const ecl_scc *ecl_scc_find(const ecl_scc_registry *reg, const char *recipient_site,
                            const char *country, int64_t now, const ecl_scc **closest)
{
    const ecl_scc *near = NULL;
    if (closest != NULL)
        *closest = NULL;
    if (reg == NULL || !country_is_valid(country))
        return NULL;
    for (size_t i = 0; i < reg->n; i++) {
        const ecl_scc *s = &reg->sccs[i];
        if (strcmp(s->recipient_site, recipient_site) != 0)
            continue;
        int here = lists_country(s, country);
        if (here && s->signed_unix <= now && now < s->until_unix)
            return s;
        /* Prefer, to explain a refusal, a record for this country. */
        if (near == NULL || (here && !lists_country(near, country)))
            near = s;
    }
    if (closest != NULL)
        *closest = near;
    return NULL;
}

size_t ecl_scc_count(const ecl_scc_registry *reg)
{
    return reg == NULL ? 0 : reg->n;
}
