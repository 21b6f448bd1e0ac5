/*
 * csv.h - numeric CSV tables: read, and import into a dataset.
 *
 * A table becomes two tensors: "features", float32 [rows, cols] with every
 * column but the label column, and "labels", int64 [rows], from the label
 * column or from a separate file (one value per line). Options cover the
 * real files a site has (docs/storage.md has examples):
 *
 *   delimiter    ',' (default), ';', '\t', ... or 0 for runs of spaces/tabs
 *   skip_lines   lines dropped before anything else (sklearn's breast_cancer.csv
 *                starts with "569,30,malignant,benign", which is not a header)
 *   header       the first line after those holds the column names
 *   label        none, a column index (negative counts from the end), a
 *                column name (needs header), or a separate file
 *
 * Files may be gzip-compressed (detected by magic). Cells may be quoted
 * ("a,b" and "a""b" as in RFC 4180; a quoted cell cannot span lines).
 * Lines with only spaces are skipped; a trailing '\r' is dropped. Feature
 * cells are read with strtof (so "nan" and "inf" are accepted as numbers);
 * labels must be integers, written as such or with an exact integer value
 * ("151.0", "1.51e+02").
 *
 * Errors name the problem and where it is: ragged rows ("line 7 (data row
 * 6): 3 columns, expected 31"), non-numeric cells (line, row, column, the
 * text), labels that are not integers, a labels file whose length differs.
 */
#ifndef ECLUSE_STORE_CSV_H
#define ECLUSE_STORE_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "store/dataset.h"

typedef enum {
    STORE_LABEL_NONE = 0,
    STORE_LABEL_INDEX, /* label_index */
    STORE_LABEL_NAME,  /* label_name, needs header */
    STORE_LABEL_FILE,  /* labels_path */
} store_label_kind;

typedef struct store_csv_opts {
    char delimiter;
    size_t skip_lines;
    int header;
    store_label_kind label;
    long label_index;
    const char *label_name;
    const char *labels_path;
    const char *features_tensor; /* tensor names on import; */
    const char *labels_tensor;   /* default "features" and "labels" */
} store_csv_opts;

/* Defaults: ',' delimiter, no skipped lines, no header, no labels. */
void store_csv_opts_init(store_csv_opts *o);

/* A table read into memory. Owned by the caller; free with store_table_free. */
typedef struct store_table {
    uint64_t rows, cols; /* cols counts feature columns only */
    float *features;     /* rows x cols, row-major */
    int64_t *labels;     /* rows values, or NULL without labels */
    char **names;        /* cols feature names, or NULL without a header */
    char *label_column;  /* the label column's name or "#index", or NULL */
} store_table;

/* Read `path` into *out with options `o`.
 * Errors: ECL_E_NOT_FOUND / ECL_E_IO (files), ECL_E_INPUT (malformed data,
 * named as above; also no data rows), ECL_E_USAGE (label column out of range
 * or not in the header, label by name without header), ECL_E_LIMIT (too
 * large), ECL_E_INTERNAL. On failure *out is left empty. */
int store_csv_read(const char *path, const store_csv_opts *o, store_table *out,
                   ecl_err *err) ECL_WUR;

/* Free what a table holds and zero it. */
void store_table_free(store_table *t);

/* Read `path` and write it as a safetensors file at `dst` (atomically) with
 * "__metadata__": "source" (the CSV file name), "feature_names" (a JSON array,
 * with a header), "label_column" and "labels_source" when they apply. If
 * `out` is not NULL the written file is opened into *out (one reference).
 * Errors: those of store_csv_read, store_writer_write and store_open. */
int store_import_csv(const char *path, const store_csv_opts *o, const char *dst,
                     store_dataset **out, ecl_err *err) ECL_WUR;

#endif
