#include "store/csv.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "store/csv_lex.h"
#include "store/text.h"
#include "store/writer.h"

void store_csv_opts_init(store_csv_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->delimiter = ',';
}

void store_table_free(store_table *t)
{
    if (t == NULL)
        return;
    for (uint64_t i = 0; t->names && i < t->cols; i++)
        free(t->names[i]);
    free(t->names);
    free(t->features);
    free(t->labels);
    free(t->label_column);
    memset(t, 0, sizeof(*t));
}

/* Reading state: where we are in the text and what we have so far. */
typedef struct reader {
    const char *path;
    const store_csv_opts *o;
    const char *p, *end;
    size_t line;  /* 1-based number of the current line */
    size_t ncols; /* columns per line, fixed by the header or first row */
    long label;   /* label column index, or -1 */
    uint64_t cap; /* rows allocated */
    char cell[CSV_CELL_MAX];
    store_table *t;
    ecl_err *err;
} reader;

/* The next line into [*s, *s + *n); 0 at the end of the text. */
static int next_line(reader *r, const char **s, size_t *n)
{
    if (r->p >= r->end)
        return 0;
    const char *nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
    const char *e = nl ? nl : r->end;
    *s = r->p;
    *n = (size_t)(e - r->p);
    r->p = nl ? nl + 1 : r->end;
    r->line++;
    return 1;
}

static int cell_error(reader *r, csv_cell_rc rc, size_t col)
{
    return ecl_fail(r->err, ECL_E_INPUT, "%s: line %zu, column %zu: %s", r->path, r->line, col + 1,
                    rc == CSV_CELL_TOO_LONG ? "cell longer than 1023 bytes"
                                            : "unterminated quote or text after a closing quote");
}

static int count_cells(reader *r, const char *s, size_t n, size_t *count)
{
    csv_line l;
    csv_line_init(&l, s, n, r->o->delimiter);
    csv_cell_rc rc;
    *count = 0;
    while ((rc = csv_next_cell(&l, r->cell, sizeof(r->cell))) == CSV_CELL_OK)
        (*count)++;
    return rc == CSV_CELL_END ? 0 : cell_error(r, rc, *count);
}

/* The second pass over a line count_cells() accepted cannot find fewer or
 * worse cells; if it does, that is a bug here, not bad input. */
static int cell_vanished(reader *r, size_t col)
{
    return ecl_fail(r->err, ECL_E_INTERNAL, "%s: line %zu, column %zu: cell lost on re-reading",
                    r->path, r->line, col + 1);
}

static int read_header(reader *r, const char *s, size_t n)
{
    if (count_cells(r, s, n, &r->ncols) != 0)
        return -1;
    r->t->names = calloc(r->ncols ? r->ncols : 1, sizeof(char *));
    if (r->t->names == NULL)
        return ecl_fail(r->err, ECL_E_INTERNAL, "out of memory");
    csv_line l;
    csv_line_init(&l, s, n, r->o->delimiter);
    for (size_t c = 0; c < r->ncols; c++) {
        if (csv_next_cell(&l, r->cell, sizeof(r->cell)) != CSV_CELL_OK)
            return cell_vanished(r, c);
        if ((r->t->names[c] = strdup(r->cell)) == NULL)
            return ecl_fail(r->err, ECL_E_INTERNAL, "out of memory");
    }
    return 0;
}

/* Resolve the label column once the column count is known. */
static int pick_label(reader *r)
{
    const store_csv_opts *o = r->o;
    r->label = -1;
    if (o->label == STORE_LABEL_INDEX) {
        long k = o->label_index < 0 ? (long)r->ncols + o->label_index : o->label_index;
        if (k < 0 || (size_t)k >= r->ncols)
            return ecl_fail(r->err, ECL_E_USAGE,
                            "%s: label column %ld out of range for %zu columns", r->path,
                            o->label_index, r->ncols);
        r->label = k;
    } else if (o->label == STORE_LABEL_NAME) {
        if (r->t->names == NULL)
            return ecl_fail(r->err, ECL_E_USAGE, "%s: label column '%s' by name needs a header row",
                            r->path, o->label_name ? o->label_name : "");
        for (size_t c = 0; c < r->ncols && r->label < 0; c++)
            if (o->label_name && strcmp(r->t->names[c], o->label_name) == 0)
                r->label = (long)c;
        if (r->label < 0)
            return ecl_fail(r->err, ECL_E_USAGE, "%s: label column '%s' is not in the header",
                            r->path, o->label_name ? o->label_name : "");
    }
    r->t->cols = r->ncols - (r->label >= 0);
    return 0;
}

static int reserve_rows(reader *r, uint64_t rows)
{
    if (rows <= r->cap)
        return 0;
    uint64_t cap = r->cap ? r->cap * 2 : 1024;
    uint64_t cols = r->t->cols ? r->t->cols : 1;
    if (cap > SIZE_MAX / sizeof(float) / cols)
        return ecl_fail(r->err, ECL_E_LIMIT, "%s: table too large", r->path);
    float *f = realloc(r->t->features, (size_t)(cap * cols) * sizeof(float));
    if (f == NULL)
        return ecl_fail(r->err, ECL_E_INTERNAL, "out of memory");
    r->t->features = f;
    if (r->label >= 0) {
        int64_t *l = realloc(r->t->labels, (size_t)cap * sizeof(int64_t));
        if (l == NULL)
            return ecl_fail(r->err, ECL_E_INTERNAL, "out of memory");
        r->t->labels = l;
    }
    r->cap = cap;
    return 0;
}

static int bad_cell(reader *r, size_t col, const char *why)
{
    const char *name = r->t->names ? r->t->names[col] : NULL;
    return ecl_fail(r->err, ECL_E_INPUT,
                    "%s: line %zu (data row %llu), column %zu%s%s%s: '%.64s': %s", r->path, r->line,
                    (unsigned long long)r->t->rows + 1, col + 1, name ? " (" : "", name ? name : "",
                    name ? ")" : "", r->cell, why);
}

static int read_row(reader *r, const char *s, size_t n)
{
    size_t count;
    if (count_cells(r, s, n, &count) != 0)
        return -1;
    if (count != r->ncols)
        return ecl_fail(r->err, ECL_E_INPUT,
                        "%s: line %zu (data row %llu): %zu columns, expected %zu", r->path, r->line,
                        (unsigned long long)r->t->rows + 1, count, r->ncols);
    if (reserve_rows(r, r->t->rows + 1) != 0)
        return -1;
    float *f = r->t->features + r->t->rows * r->t->cols;
    csv_line l;
    csv_line_init(&l, s, n, r->o->delimiter);
    const char *why;
    for (size_t c = 0; c < r->ncols; c++) {
        if (csv_next_cell(&l, r->cell, sizeof(r->cell)) != CSV_CELL_OK)
            return cell_vanished(r, c);
        if ((long)c == r->label) {
            if (csv_parse_label(r->cell, &r->t->labels[r->t->rows], &why) != 0)
                return bad_cell(r, c, why);
        } else if (csv_parse_f32(r->cell, f++, &why) != 0) {
            return bad_cell(r, c, why);
        }
    }
    r->t->rows++;
    return 0;
}

static int read_table(reader *r)
{
    const char *s;
    size_t n;
    for (size_t i = 0; i < r->o->skip_lines; i++)
        if (!next_line(r, &s, &n))
            return ecl_fail(r->err, ECL_E_INPUT, "%s: only %zu lines, %zu to skip", r->path,
                            r->line, r->o->skip_lines);
    int first = 1;
    while (next_line(r, &s, &n)) {
        if (csv_blank(s, n))
            continue;
        if (first) {
            first = 0;
            if (r->o->header ? read_header(r, s, n) : count_cells(r, s, n, &r->ncols))
                return -1;
            if (pick_label(r) != 0)
                return -1;
            if (r->o->header)
                continue;
        }
        if (read_row(r, s, n) != 0)
            return -1;
    }
    if (r->t->rows == 0)
        return ecl_fail(r->err, ECL_E_INPUT, "%s: no data rows", r->path);
    return 0;
}

/* Labels from their own file: one integer per non-blank line. */
static int read_labels_file(const char *path, store_table *t, ecl_err *err)
{
    char *text;
    size_t len;
    if (store_text_read(path, &text, &len, err) != 0)
        return -1;
    t->labels = malloc((size_t)(t->rows ? t->rows : 1) * sizeof(int64_t));
    if (t->labels == NULL) {
        free(text);
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    }
    reader r = {.path = path, .p = text, .end = text + len};
    const char *s;
    size_t n;
    uint64_t got = 0;
    int rc = 0;
    while (rc == 0 && next_line(&r, &s, &n)) {
        if (csv_blank(s, n))
            continue;
        const char *why;
        size_t k = n < CSV_CELL_MAX - 1 ? n : CSV_CELL_MAX - 1;
        memcpy(r.cell, s, k);
        r.cell[k] = '\0';
        if (k > 0 && r.cell[k - 1] == '\r')
            r.cell[k - 1] = '\0';
        if (got == t->rows)
            rc = ecl_fail(err, ECL_E_INPUT, "%s: line %zu: more labels than the %llu data rows",
                          path, r.line, (unsigned long long)t->rows);
        else if (k < n || csv_parse_label(r.cell, &t->labels[got], &why) != 0)
            rc = ecl_fail(err, ECL_E_INPUT, "%s: line %zu (label %llu): '%.64s': %s", path, r.line,
                          (unsigned long long)got + 1, r.cell, k < n ? "line too long" : why);
        got++;
    }
    if (rc == 0 && got != t->rows)
        rc = ecl_fail(err, ECL_E_INPUT, "%s: %llu labels for %llu data rows", path,
                      (unsigned long long)got, (unsigned long long)t->rows);
    free(text);
    return rc;
}

static int label_column_name(const reader *r, store_table *t, ecl_err *err)
{
    char buf[64];
    const char *name = t->names ? t->names[r->label] : buf;
    snprintf(buf, sizeof(buf), "#%ld", r->label);
    if ((t->label_column = strdup(name)) == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    if (t->names == NULL)
        return 0;
    /* Names keep feature columns only. */
    free(t->names[r->label]);
    memmove(&t->names[r->label], &t->names[r->label + 1],
            (r->ncols - (size_t)r->label - 1) * sizeof(char *));
    t->names[r->ncols - 1] = NULL;
    return 0;
}

int store_csv_read(const char *path, const store_csv_opts *o, store_table *out, ecl_err *err)
{
    memset(out, 0, sizeof(*out));
    if (o->label == STORE_LABEL_FILE && o->labels_path == NULL)
        return ecl_fail(err, ECL_E_USAGE, "%s: labels from a file, but no file given", path);
    char *text;
    size_t len;
    if (store_text_read(path, &text, &len, err) != 0)
        return -1;
    reader r = {.path = path, .o = o, .p = text, .end = text + len, .t = out, .err = err};
    int rc = read_table(&r);
    if (rc == 0 && r.label >= 0)
        rc = label_column_name(&r, out, err);
    free(text);
    if (rc == 0 && o->label == STORE_LABEL_FILE)
        rc = read_labels_file(o->labels_path, out, err);
    if (rc != 0) {
        if (out->names)
            out->cols = r.ncols; /* free every name read */
        store_table_free(out);
    }
    return rc;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static int add_metadata(store_writer *w, const char *path, const store_csv_opts *o,
                        const store_table *t, ecl_err *err)
{
    if (store_writer_meta(w, "source", base_name(path), err) != 0)
        return -1;
    if (t->label_column && store_writer_meta(w, "label_column", t->label_column, err) != 0)
        return -1;
    if (o->label == STORE_LABEL_FILE &&
        store_writer_meta(w, "labels_source", base_name(o->labels_path), err) != 0)
        return -1;
    if (t->names == NULL)
        return 0;
    json_t *arr = json_array();
    for (uint64_t c = 0; c < t->cols && arr; c++)
        json_array_append_new(arr, json_string(t->names[c]));
    char *s = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
    json_decref(arr);
    if (s == NULL)
        return ecl_fail(err, ECL_E_INPUT, "%s: column names are not valid UTF-8", path);
    int rc = store_writer_meta(w, "feature_names", s, err);
    free(s);
    return rc;
}

static int write_table(const char *path, const store_csv_opts *o, const store_table *t,
                       const char *dst, ecl_err *err)
{
    store_writer *w;
    if (store_writer_new(&w, err) != 0)
        return -1;
    uint64_t fshape[2] = {t->rows, t->cols}, lshape[1] = {t->rows};
    int rc = add_metadata(w, path, o, t, err);
    if (rc == 0)
        rc = store_writer_add(w, o->features_tensor ? o->features_tensor : "features", STORE_DT_F32,
                              2, fshape, t->features, t->rows * t->cols * sizeof(float), err);
    if (rc == 0 && t->labels)
        rc = store_writer_add(w, o->labels_tensor ? o->labels_tensor : "labels", STORE_DT_I64, 1,
                              lshape, t->labels, t->rows * sizeof(int64_t), err);
    if (rc == 0)
        rc = store_writer_write(w, dst, err);
    store_writer_free(w);
    return rc;
}

int store_import_csv(const char *path, const store_csv_opts *o, const char *dst,
                     store_dataset **out, ecl_err *err)
{
    store_table t;
    if (store_csv_read(path, o, &t, err) != 0)
        return -1;
    int rc = write_table(path, o, &t, dst, err);
    store_table_free(&t);
    if (rc == 0 && out != NULL)
        rc = store_open(dst, out, err);
    return rc;
}
