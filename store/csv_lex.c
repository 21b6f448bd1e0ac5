#include "store/csv_lex.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int is_ws(char c)
{
    return c == ' ' || c == '\t';
}

void csv_line_init(csv_line *l, const char *p, size_t len, char delim)
{
    if (len > 0 && p[len - 1] == '\r')
        len--;
    l->p = p;
    l->end = p + len;
    l->delim = delim;
    l->done = 0;
}

int csv_blank(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!is_ws(p[i]) && p[i] != '\r')
            return 0;
    return 1;
}

static csv_cell_rc quoted(csv_line *l, char *out, size_t cap, size_t *n)
{
    l->p++; /* opening quote */
    for (;;) {
        if (l->p >= l->end)
            return CSV_CELL_BAD_QUOTE;
        if (*l->p == '"') {
            if (l->p + 1 < l->end && l->p[1] == '"') {
                l->p++;
            } else {
                l->p++;
                return CSV_CELL_OK;
            }
        }
        if (*n + 1 >= cap)
            return CSV_CELL_TOO_LONG;
        out[(*n)++] = *l->p++;
    }
}

/* After a cell: spaces, then the delimiter or the end of the line. */
static csv_cell_rc after_cell(csv_line *l)
{
    while (l->p < l->end && is_ws(*l->p) && *l->p != l->delim)
        l->p++;
    if (l->p >= l->end) {
        l->done = 1;
        return CSV_CELL_OK;
    }
    if (l->delim == 0)
        return CSV_CELL_OK;
    if (*l->p != l->delim)
        return CSV_CELL_BAD_QUOTE;
    l->p++;
    return CSV_CELL_OK;
}

csv_cell_rc csv_next_cell(csv_line *l, char *out, size_t cap)
{
    size_t n = 0;
    if (l->delim == 0)
        while (l->p < l->end && is_ws(*l->p))
            l->p++;
    if (l->done || (l->delim == 0 && l->p >= l->end))
        return CSV_CELL_END;
    while (l->p < l->end && is_ws(*l->p) && *l->p != l->delim)
        l->p++;
    if (l->p < l->end && *l->p == '"') {
        csv_cell_rc rc = quoted(l, out, cap, &n);
        out[n < cap ? n : cap - 1] = '\0';
        return rc != CSV_CELL_OK ? rc : after_cell(l);
    }
    while (l->p < l->end && *l->p != l->delim && !(l->delim == 0 && is_ws(*l->p))) {
        if (n + 1 >= cap)
            return CSV_CELL_TOO_LONG;
        out[n++] = *l->p++;
    }
    while (n > 0 && is_ws(out[n - 1]))
        n--;
    out[n] = '\0';
    if (l->p >= l->end)
        l->done = 1;
    else if (l->delim != 0)
        l->p++; /* the delimiter: another cell follows, maybe empty */
    return CSV_CELL_OK;
}

static const char *trim(const char *s, const char **end)
{
    while (is_ws(*s))
        s++;
    const char *e = s + strlen(s);
    while (e > s && is_ws(e[-1]))
        e--;
    *end = e;
    return s;
}

int csv_parse_f32(const char *cell, float *out, const char **why)
{
    const char *end, *s = trim(cell, &end);
    if (s == end) {
        *why = "empty cell";
        return -1;
    }
    char *stop;
    errno = 0;
    float v = strtof(s, &stop);
    if (stop != end) {
        *why = "not a number";
        return -1;
    }
    if (errno == ERANGE && isinf(v)) {
        *why = "out of float32 range";
        return -1;
    }
    *out = v;
    return 0;
}

int csv_parse_label(const char *cell, int64_t *out, const char **why)
{
    const char *end, *s = trim(cell, &end);
    if (s == end) {
        *why = "empty cell";
        return -1;
    }
    char *stop;
    errno = 0;
    long long i = strtoll(s, &stop, 10);
    if (stop == end) {
        if (errno == ERANGE) {
            *why = "integer out of int64 range";
            return -1;
        }
        *out = i;
        return 0;
    }
    double d = strtod(s, &stop);
    if (stop != end || !isfinite(d) || d != floor(d) || fabs(d) > 9007199254740992.0) {
        *why = "label not an integer";
        return -1;
    }
    *out = (int64_t)d;
    return 0;
}
