#include "store/rowset.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"

typedef struct range {
    uint64_t b, e;
} range;

struct store_rowset {
    range *r;
    size_t n, cap;
};

int store_rowset_new(store_rowset **out, ecl_err *err)
{
    store_rowset *rs = calloc(1, sizeof(*rs));
    if (rs == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    *out = rs;
    return 0;
}

void store_rowset_free(store_rowset *rs)
{
    if (rs == NULL)
        return;
    free(rs->r);
    free(rs);
}

static int reserve(store_rowset *rs, size_t want, ecl_err *err)
{
    if (want <= rs->cap)
        return 0;
    size_t cap = rs->cap ? rs->cap : 8;
    while (cap < want)
        cap *= 2;
    range *r = realloc(rs->r, cap * sizeof(*r));
    if (r == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    rs->r = r;
    rs->cap = cap;
    return 0;
}

size_t store_rowset_lower_bound(const store_rowset *rs, uint64_t row)
{
    size_t lo = 0, hi = rs->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (rs->r[mid].e > row)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

int store_rowset_add(store_rowset *rs, uint64_t begin, uint64_t end, ecl_err *err)
{
    if (begin >= end)
        return ecl_fail(err, ECL_E_USAGE, "empty row range [%llu, %llu)", (unsigned long long)begin,
                        (unsigned long long)end);
    if (reserve(rs, rs->n + 1, err) != 0)
        return -1;
    /* Ranges [i, j) touch or overlap the new one and merge into it. */
    size_t i = begin == 0 ? 0 : store_rowset_lower_bound(rs, begin - 1);
    size_t j = i;
    while (j < rs->n && rs->r[j].b <= end) {
        if (rs->r[j].b < begin)
            begin = rs->r[j].b;
        if (rs->r[j].e > end)
            end = rs->r[j].e;
        j++;
    }
    memmove(&rs->r[i + 1], &rs->r[j], (rs->n - j) * sizeof(range));
    rs->r[i] = (range){begin, end};
    rs->n = rs->n - (j - i) + 1;
    return 0;
}

int store_rowset_contains(const store_rowset *rs, uint64_t row)
{
    size_t i = store_rowset_lower_bound(rs, row);
    return i < rs->n && rs->r[i].b <= row;
}

uint64_t store_rowset_rows(const store_rowset *rs)
{
    uint64_t n = 0;
    for (size_t i = 0; i < rs->n; i++)
        n += rs->r[i].e - rs->r[i].b;
    return n;
}

uint64_t store_rowset_rows_in(const store_rowset *rs, uint64_t begin, uint64_t end)
{
    uint64_t n = 0;
    for (size_t i = store_rowset_lower_bound(rs, begin); i < rs->n && rs->r[i].b < end; i++) {
        uint64_t b = rs->r[i].b > begin ? rs->r[i].b : begin;
        uint64_t e = rs->r[i].e < end ? rs->r[i].e : end;
        n += e - b;
    }
    return n;
}

size_t store_rowset_range_count(const store_rowset *rs)
{
    return rs->n;
}

void store_rowset_range(const store_rowset *rs, size_t i, uint64_t *begin, uint64_t *end)
{
    *begin = rs->r[i].b;
    *end = rs->r[i].e;
}

static int by_begin(const void *a, const void *b)
{
    const range *x = a, *y = b;
    return x->b < y->b ? -1 : x->b > y->b;
}

/* Sort and merge after a bulk load: O(n log n) instead of n inserts. */
static void normalise(store_rowset *rs)
{
    if (rs->n == 0)
        return;
    qsort(rs->r, rs->n, sizeof(range), by_begin);
    size_t o = 0;
    for (size_t i = 1; i < rs->n; i++) {
        if (rs->r[i].b <= rs->r[o].e) {
            if (rs->r[i].e > rs->r[o].e)
                rs->r[o].e = rs->r[i].e;
        } else {
            rs->r[++o] = rs->r[i];
        }
    }
    rs->n = o + 1;
}

static int get_row(const json_t *j, uint64_t *out)
{
    if (!json_is_integer(j) || json_integer_value(j) < 0)
        return -1;
    *out = (uint64_t)json_integer_value(j);
    return 0;
}

static int parse_element(const json_t *el, size_t i, const char *what, range *out, ecl_err *err)
{
    if (json_is_integer(el)) {
        if (get_row(el, &out->b) != 0 || out->b == UINT64_MAX)
            return ecl_fail(err, ECL_E_INPUT, "%s: withdrawn_rows[%zu]: row index is negative",
                            what, i);
        out->e = out->b + 1;
        return 0;
    }
    if (!json_is_array(el) || json_array_size(el) != 2)
        return ecl_fail(err, ECL_E_INPUT,
                        "%s: withdrawn_rows[%zu]: expected a row index or [begin, end]", what, i);
    if (get_row(json_array_get(el, 0), &out->b) != 0 ||
        get_row(json_array_get(el, 1), &out->e) != 0)
        return ecl_fail(err, ECL_E_INPUT,
                        "%s: withdrawn_rows[%zu]: begin and end must be non-negative integers",
                        what, i);
    if (out->b >= out->e)
        return ecl_fail(err, ECL_E_INPUT,
                        "%s: withdrawn_rows[%zu]: begin %llu is not below end %llu", what, i,
                        (unsigned long long)out->b, (unsigned long long)out->e);
    return 0;
}

static int parse_root(const json_t *root, const char *what, store_rowset *rs, ecl_err *err)
{
    if (!json_is_object(root))
        return ecl_fail(err, ECL_E_INPUT, "%s: not a JSON object", what);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)root, k, v)
    {
        if (strcmp(k, "withdrawn_rows") != 0)
            return ecl_fail(err, ECL_E_INPUT, "%s: unknown field '%s'", what, k);
    }
    const json_t *arr = json_object_get(root, "withdrawn_rows");
    if (!json_is_array(arr))
        return ecl_fail(err, ECL_E_INPUT, "%s: field 'withdrawn_rows' missing or not an array",
                        what);
    if (reserve(rs, json_array_size(arr), err) != 0)
        return -1;
    size_t i;
    json_t *el;
    json_array_foreach(arr, i, el)
    {
        if (parse_element(el, i, what, &rs->r[rs->n], err) != 0)
            return -1;
        rs->n++;
    }
    normalise(rs);
    return 0;
}

int store_rowset_parse(const char *json, size_t len, const char *what, store_rowset **out,
                       ecl_err *err)
{
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL)
        return ecl_fail(err, ECL_E_INPUT, "%s: not valid JSON at line %d column %d: %s", what,
                        je.line, je.column, je.text);
    store_rowset *rs = NULL;
    if (store_rowset_new(&rs, err) != 0) {
        json_decref(root);
        return -1;
    }
    int rc = parse_root(root, what, rs, err);
    json_decref(root);
    if (rc != 0) {
        store_rowset_free(rs);
        return -1;
    }
    *out = rs;
    return 0;
}

int store_rowset_load(const char *path, store_rowset **out, ecl_err *err)
{
    char *buf;
    size_t len;
    if (ecl_read_file(path, STORE_ROWSET_MAX_FILE, &buf, &len, err) != 0)
        return -1;
    int rc = store_rowset_parse(buf, len, path, out, err);
    free(buf);
    return rc;
}

int store_rowset_save(const store_rowset *rs, const char *path, ecl_err *err)
{
    json_t *arr = json_array();
    json_t *root = json_pack("{s:o}", "withdrawn_rows", arr);
    for (size_t i = 0; i < rs->n && root; i++)
        if (json_array_append_new(
                arr, json_pack("[I,I]", (json_int_t)rs->r[i].b, (json_int_t)rs->r[i].e)) != 0) {
            json_decref(root);
            root = NULL;
        }
    char *s = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    if (s == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "%s: cannot encode the row set", path);
    int rc = ecl_write_file(path, s, strlen(s), 0640, ECL_WRITE_REPLACE, err);
    free(s);
    return rc;
}
