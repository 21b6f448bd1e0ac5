/* row_ranges.c - parse, merge and subtract lists of source row ranges. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/row_ranges.h"

static int by_begin(const void *a, const void *b)
{
    const ecl_row_range *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

size_t ecl_row_ranges_normalise(ecl_row_range *r, size_t n)
{
    if (n == 0)
        return 0;
    qsort(r, n, sizeof(*r), by_begin);
    size_t k = 0;
    for (size_t i = 1; i < n; i++) {
        if (r[i].begin <= r[k].end) {
            if (r[i].end > r[k].end)
                r[k].end = r[i].end;
        } else
            r[++k] = r[i];
    }
    return k + 1;
}

static int parse_u64(const char *s, const char **end, uint64_t *v)
{
    if (*s < '0' || *s > '9')
        return -1;
    char *e = NULL;
    errno = 0;
    unsigned long long x = strtoull(s, &e, 10);
    if (errno != 0)
        return -1;
    *v = (uint64_t)x;
    *end = e;
    return 0;
}

/* One element "A:B" or "C" of `text`, from `s` up to a ',' or the end. */
static int parse_one(const char *s, const char **next, ecl_row_range *r, const char *what,
                     const char *text, ecl_err *err)
{
    const char *e = s;
    uint64_t a = 0, b = 0;
    if (parse_u64(s, &e, &a) != 0)
        return ecl_fail(err, ECL_E_USAGE, "%s '%s': expected ROW or BEGIN:END at '%s'", what, text,
                        s);
    if (*e == ':') {
        if (parse_u64(e + 1, &e, &b) != 0)
            return ecl_fail(err, ECL_E_USAGE, "%s '%s': expected END after '%llu:'", what, text,
                            (unsigned long long)a);
        if (b <= a)
            return ecl_fail(err, ECL_E_USAGE,
                            "%s '%s': %llu:%llu is empty (END is exclusive and must be above "
                            "BEGIN)",
                            what, text, (unsigned long long)a, (unsigned long long)b);
    } else {
        if (a == UINT64_MAX)
            return ecl_fail(err, ECL_E_USAGE, "%s '%s': row %llu is too large", what, text,
                            (unsigned long long)a);
        b = a + 1;
    }
    if (*e != ',' && *e != '\0')
        return ecl_fail(err, ECL_E_USAGE, "%s '%s': unexpected '%c'", what, text, *e);
    r->begin = a;
    r->end = b;
    *next = *e == ',' ? e + 1 : e;
    return 0;
}

int ecl_row_ranges_parse(const char *text, const char *what, ecl_row_range **out, size_t *n,
                         ecl_err *err)
{
    *out = NULL;
    *n = 0;
    size_t cap = 1;
    for (const char *p = text; *p != '\0'; p++)
        cap += *p == ',';
    ecl_row_range *r = calloc(cap, sizeof(*r));
    if (r == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    if (*text == '\0') {
        free(r);
        return ecl_fail(err, ECL_E_USAGE, "%s: expected rows such as 3:5,9", what);
    }
    size_t k = 0;
    for (const char *p = text; *p != '\0' || k == 0;) {
        if (parse_one(p, &p, &r[k], what, text, err) != 0) {
            free(r);
            return -1;
        }
        k++;
        if (*p == '\0' && p[-1] == ',') {
            free(r);
            return ecl_fail(err, ECL_E_USAGE, "%s '%s': ends with ','", what, text);
        }
    }
    *n = ecl_row_ranges_normalise(r, k);
    *out = r;
    return 0;
}

uint64_t ecl_row_ranges_rows(const ecl_row_range *r, size_t n)
{
    uint64_t rows = 0;
    for (size_t i = 0; i < n; i++)
        rows += r[i].end - r[i].begin;
    return rows;
}

uint64_t ecl_row_ranges_common(const ecl_row_range *a, size_t na, const ecl_row_range *b, size_t nb)
{
    uint64_t rows = 0;
    for (size_t i = 0, j = 0; i < na && j < nb;) {
        uint64_t lo = a[i].begin > b[j].begin ? a[i].begin : b[j].begin;
        uint64_t hi = a[i].end < b[j].end ? a[i].end : b[j].end;
        if (lo < hi)
            rows += hi - lo;
        if (a[i].end < b[j].end)
            i++;
        else
            j++;
    }
    return rows;
}

int ecl_row_ranges_subtract(const ecl_row_range *a, size_t na, const ecl_row_range *b, size_t nb,
                            ecl_row_range **out, size_t *n, ecl_err *err)
{
    /* Each range of b splits at most one range of a in two. */
    ecl_row_range *r = calloc(na + nb + 1, sizeof(*r));
    if (r == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    size_t k = 0, j = 0;
    for (size_t i = 0; i < na; i++) {
        uint64_t at = a[i].begin;
        while (j < nb && b[j].end <= at)
            j++;
        for (size_t m = j; m < nb && b[m].begin < a[i].end; m++) {
            if (b[m].begin > at)
                r[k++] = (ecl_row_range){at, b[m].begin};
            if (b[m].end > at)
                at = b[m].end;
        }
        if (at < a[i].end)
            r[k++] = (ecl_row_range){at, a[i].end};
    }
    *out = r;
    *n = k;
    return 0;
}

int ecl_row_ranges_union(const ecl_row_range *a, size_t na, const ecl_row_range *b, size_t nb,
                         ecl_row_range **out, size_t *n, ecl_err *err)
{
    ecl_row_range *r = calloc(na + nb + 1, sizeof(*r));
    if (r == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    if (na)
        memcpy(r, a, na * sizeof(*r));
    if (nb)
        memcpy(r + na, b, nb * sizeof(*r));
    *n = ecl_row_ranges_normalise(r, na + nb);
    *out = r;
    return 0;
}

void ecl_row_ranges_format(const ecl_row_range *r, size_t n, char *out, size_t cap)
{
    size_t at = 0;
    if (cap == 0)
        return;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        char one[48];
        int len = snprintf(one, sizeof(one), "%s%llu:%llu", i ? "," : "",
                           (unsigned long long)r[i].begin, (unsigned long long)r[i].end);
        if (at + (size_t)len + 4 > cap) {
            snprintf(out + at, cap - at, "...");
            return;
        }
        memcpy(out + at, one, (size_t)len + 1);
        at += (size_t)len;
    }
}
