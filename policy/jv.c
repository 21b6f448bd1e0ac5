#include "policy/jv.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy/text.h"

int ecl_jv_fail(ecl_err *err, const char *src, const char *field, const char *fmt, ...)
{
    char why[ECL_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    if (field[0] == '\0')
        return ecl_fail(err, ECL_E_INPUT, "%s: %s", src, why);
    return ecl_fail(err, ECL_E_INPUT, "%s: %s: %s", src, field, why);
}

int ecl_jv_load(const char *json, size_t len, const char *src, json_t **out, ecl_err *err)
{
    json_error_t je;
    *out = NULL;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL)
        return ecl_fail(err, ECL_E_INPUT, "%s: line %d, column %d: not valid JSON: %s", src,
                        je.line, je.column, je.text);
    if (!json_is_object(root)) {
        json_decref(root);
        return ecl_fail(err, ECL_E_INPUT, "%s: the top level must be a JSON object", src);
    }
    *out = root;
    return 0;
}

void ecl_jv_join(char *out, size_t cap, const char *path, const char *key)
{
    if (path[0] == '\0')
        snprintf(out, cap, "%s", key);
    else
        snprintf(out, cap, "%s.%s", path, key);
}

void ecl_jv_index(char *out, size_t cap, const char *path, size_t i)
{
    snprintf(out, cap, "%s[%zu]", path, i);
}

int ecl_jv_keys(const json_t *obj, const char *src, const char *path, const char *const *allowed,
                ecl_err *err)
{
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)obj, key, val)
    {
        (void)val;
        int known = 0;
        for (size_t i = 0; allowed[i] != NULL; i++)
            if (strcmp(key, allowed[i]) == 0)
                known = 1;
        if (!known) {
            char field[ECL_JV_PATH_MAX];
            ecl_jv_join(field, sizeof(field), path, key);
            return ecl_jv_fail(err, src, field, "unknown field");
        }
    }
    return 0;
}

static const char *type_name(json_type t)
{
    switch (t) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "true or false";
    case JSON_NULL:
        return "null";
    }
    return "?";
}

int ecl_jv_member(const json_t *obj, const char *key, json_type type, bool required,
                  const char *src, const char *path, json_t **out, ecl_err *err)
{
    char field[ECL_JV_PATH_MAX];
    ecl_jv_join(field, sizeof(field), path, key);
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (v == NULL) {
        if (required)
            return ecl_jv_fail(err, src, field, "missing (required)");
        return 0;
    }
    json_type got = json_typeof(v);
    int ok = type == JSON_TRUE ? json_is_boolean(v) : got == type;
    if (!ok)
        return ecl_jv_fail(err, src, field, "must be %s, not %s", type_name(type), type_name(got));
    *out = v;
    return 0;
}

int ecl_jv_string(const json_t *obj, const char *key, bool required, size_t max_len,
                  const char *src, const char *path, const char **out, ecl_err *err)
{
    json_t *v;
    *out = NULL;
    if (ecl_jv_member(obj, key, JSON_STRING, required, src, path, &v, err) != 0)
        return -1;
    if (v == NULL)
        return 0;
    char field[ECL_JV_PATH_MAX];
    ecl_jv_join(field, sizeof(field), path, key);
    size_t n = json_string_length(v);
    const char *s = json_string_value(v);
    if (n == 0)
        return ecl_jv_fail(err, src, field, "must not be empty");
    if (n > max_len)
        return ecl_jv_fail(err, src, field, "longer than %zu bytes", max_len);
    if (strlen(s) != n)
        return ecl_jv_fail(err, src, field, "contains a NUL character");
    *out = s;
    return 0;
}

int ecl_jv_date(const json_t *obj, const char *key, bool required, const char *src,
                const char *path, int64_t *out, ecl_err *err)
{
    const char *s;
    *out = 0;
    if (ecl_jv_string(obj, key, required, 64, src, path, &s, err) != 0)
        return -1;
    if (s == NULL)
        return 0;
    if (ecl_date_parse(s, out) != 0) {
        char field[ECL_JV_PATH_MAX];
        ecl_jv_join(field, sizeof(field), path, key);
        return ecl_jv_fail(err, src, field, "not a date (YYYY-MM-DD): '%s'", s);
    }
    return 0;
}

int ecl_jv_uint(const json_t *obj, const char *key, bool required, uint64_t min, uint64_t max,
                uint64_t dflt, const char *src, const char *path, uint64_t *out, ecl_err *err)
{
    json_t *v;
    *out = dflt;
    char field[ECL_JV_PATH_MAX];
    ecl_jv_join(field, sizeof(field), path, key);
    if (ecl_jv_member(obj, key, JSON_INTEGER, required, src, path, &v, err) != 0)
        return -1;
    if (v == NULL)
        return 0;
    json_int_t i = json_integer_value(v);
    if (i < 0 || (uint64_t)i < min || (uint64_t)i > max)
        return ecl_jv_fail(err, src, field, "must be an integer from %llu to %llu, not %lld",
                           (unsigned long long)min, (unsigned long long)max, (long long)i);
    *out = (uint64_t)i;
    return 0;
}

int ecl_jv_bool(const json_t *obj, const char *key, bool required, bool dflt, const char *src,
                const char *path, bool *out, ecl_err *err)
{
    json_t *v;
    *out = dflt;
    if (ecl_jv_member(obj, key, JSON_TRUE, required, src, path, &v, err) != 0)
        return -1;
    if (v != NULL)
        *out = json_is_true(v);
    return 0;
}
