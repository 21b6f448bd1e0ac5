/*
 * jv.h - internal: reading the policy module's JSON files with jansson, with
 * every error naming the file and the field ("lu.json: storage.max_grant_days:
 * must be an integer from 1 to 3650, not -3"). All errors are ECL_E_INPUT.
 *
 * `path` arguments are the dotted path of the object being read ("" for the
 * top level); the helpers append the key.
 */
#ifndef ECLUSE_POLICY_JV_H
#define ECLUSE_POLICY_JV_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

#define ECL_JV_PATH_MAX 160

/* Parse `len` bytes of JSON text whose top level must be an object. On
 * success *out is a new reference the caller must json_decref. */
int ecl_jv_load(const char *json, size_t len, const char *src, json_t **out, ecl_err *err) ECL_WUR;

/* "path.key" (or "key" at the top level) into out. */
void ecl_jv_join(char *out, size_t cap, const char *path, const char *key);
/* "path[i]" into out. */
void ecl_jv_index(char *out, size_t cap, const char *path, size_t i);

/* Fail on any key of `obj` not in the NULL-terminated `allowed` list (a typo
 * in a reviewed file must not pass silently). */
int ecl_jv_keys(const json_t *obj, const char *src, const char *path, const char *const *allowed,
                ecl_err *err) ECL_WUR;

/* Fail with "<src>: <field>: <why>". */
int ecl_jv_fail(ecl_err *err, const char *src, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The member `key` of `obj`, which must have JSON type `type` (JSON_OBJECT,
 * JSON_ARRAY, JSON_STRING, JSON_TRUE (= any boolean), JSON_INTEGER). A missing
 * member is an error when `required`, else *out = NULL and 0 is returned. */
int ecl_jv_member(const json_t *obj, const char *key, json_type type, bool required,
                  const char *src, const char *path, json_t **out, ecl_err *err) ECL_WUR;

/* A string member of 1..max_len bytes (no NUL inside); *out borrowed from obj.
 * Missing and not required: *out = NULL. */
int ecl_jv_string(const json_t *obj, const char *key, bool required, size_t max_len,
                  const char *src, const char *path, const char **out, ecl_err *err) ECL_WUR;

/* A "YYYY-MM-DD" member; *out = start of that UTC day; missing and not
 * required: *out = 0. */
int ecl_jv_date(const json_t *obj, const char *key, bool required, const char *src,
                const char *path, int64_t *out, ecl_err *err) ECL_WUR;

/* An integer member in [min, max]; missing and not required: *out = dflt. */
int ecl_jv_uint(const json_t *obj, const char *key, bool required, uint64_t min, uint64_t max,
                uint64_t dflt, const char *src, const char *path, uint64_t *out,
                ecl_err *err) ECL_WUR;

/* A boolean member; missing and not required: *out = dflt. */
int ecl_jv_bool(const json_t *obj, const char *key, bool required, bool dflt, const char *src,
                const char *path, bool *out, ecl_err *err) ECL_WUR;

#endif
