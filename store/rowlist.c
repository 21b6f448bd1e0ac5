/* rowlist.c - rows as a person lists them: "A:B,C" (rowlist.h). */
#include "store/rowlist.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* A decimal number filling [s, e): no sign, no space, fits in uint64. */
static int number(const char *s, const char *e, uint64_t *out)
{
    if (s == e)
        return -1;
    uint64_t v = 0;
    for (const char *p = s; p < e; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* Item n of the list, the text [s, e), added to rs. */
static int item(const char *text, size_t n, const char *s, const char *e, store_rowset *rs,
                ecl_err *err)
{
    int len = (int)(e - s);
    const char *colon = memchr(s, ':', (size_t)(e - s));
    uint64_t b = 0, end = 0;
    if (colon == NULL ? number(s, e, &b) != 0 || b == UINT64_MAX
                      : number(s, colon, &b) != 0 || number(colon + 1, e, &end) != 0)
        return ecl_fail(err, ECL_E_INPUT,
                        "rows '%.64s': item %zu '%.*s' is neither a row (N) nor a range (A:B)",
                        text, n, len, s);
    if (colon == NULL)
        end = b + 1;
    else if (b >= end)
        return ecl_fail(err, ECL_E_INPUT,
                        "rows '%.64s': item %zu '%.*s': begin %" PRIu64
                        " is not below end %" PRIu64,
                        text, n, len, s, b, end);
    if (store_rowset_rows_in(rs, b, end) > 0)
        return ecl_fail(err, ECL_E_INPUT,
                        "rows '%.64s': item %zu '%.*s' repeats rows an earlier item names", text, n,
                        len, s);
    return store_rowset_add(rs, b, end, err);
}

int store_rowlist_parse(const char *text, store_rowset **out, ecl_err *err)
{
    size_t len = text != NULL ? strlen(text) : 0;
    if (len == 0)
        return ecl_fail(err, ECL_E_INPUT, "no rows given: expected A:B[,C,...]");
    if (len > STORE_ROWLIST_MAX_TEXT)
        return ecl_fail(err, ECL_E_LIMIT, "rows: the list is %zu bytes, more than %u", len,
                        STORE_ROWLIST_MAX_TEXT);
    store_rowset *rs = NULL;
    if (store_rowset_new(&rs, err) != 0)
        return -1;
    const char *s = text;
    for (size_t n = 1;; n++) {
        const char *e = strchr(s, ',');
        if (e == NULL)
            e = text + len;
        if (n > STORE_ROWLIST_MAX_ITEMS) {
            store_rowset_free(rs);
            return ecl_fail(err, ECL_E_LIMIT, "rows: more than %u items", STORE_ROWLIST_MAX_ITEMS);
        }
        if (item(text, n, s, e, rs, err) != 0) {
            store_rowset_free(rs);
            return -1;
        }
        if (*e == '\0')
            break;
        s = e + 1;
    }
    *out = rs;
    return 0;
}

void store_rowlist_format(const store_rowset *rs, char *out, size_t cap)
{
    size_t at = 0;
    out[0] = '\0';
    for (size_t i = 0; i < store_rowset_range_count(rs); i++) {
        uint64_t b, e;
        store_rowset_range(rs, i, &b, &e);
        char one[48];
        int n = e == b + 1
                    ? snprintf(one, sizeof(one), "%s%" PRIu64, i ? "," : "", b)
                    : snprintf(one, sizeof(one), "%s%" PRIu64 ":%" PRIu64, i ? "," : "", b, e);
        if (at + (size_t)n + 4 > cap) {
            if (at + 4 <= cap)
                memcpy(out + at, "...", 4);
            return;
        }
        memcpy(out + at, one, (size_t)n + 1);
        at += (size_t)n;
    }
}
