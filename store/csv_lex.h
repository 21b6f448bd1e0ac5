/*
 * csv_lex.h - (internal) splitting CSV lines into cells and reading numbers.
 */
#ifndef ECLUSE_STORE_CSV_LEX_H
#define ECLUSE_STORE_CSV_LEX_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* Longest cell accepted (a header name or a number). */
#define CSV_CELL_MAX 1024

typedef struct csv_line {
    const char *p, *end; /* the rest of the line (no newline) */
    char delim;          /* 0: cells separated by runs of spaces and tabs */
    int done;            /* no more cells */
} csv_line;

typedef enum {
    CSV_CELL_OK = 0,
    CSV_CELL_END,       /* no more cells on the line */
    CSV_CELL_TOO_LONG,  /* longer than CSV_CELL_MAX - 1 */
    CSV_CELL_BAD_QUOTE, /* unterminated quote, or text after a closing quote */
} csv_cell_rc;

/* Start cutting `len` bytes of one line (a trailing '\r' is dropped). */
void csv_line_init(csv_line *l, const char *p, size_t len, char delim);

/* The next cell, unquoted ("a""b" -> a"b), into out (NUL-terminated). */
csv_cell_rc csv_next_cell(csv_line *l, char *out, size_t cap) ECL_WUR;

/* 1 if the line holds only spaces and tabs. */
int csv_blank(const char *p, size_t len);

/* A float32 from the whole cell (surrounding spaces allowed): 0 or -1 with
 * *why set ("empty", "not a number", "out of float32 range"). */
int csv_parse_f32(const char *cell, float *out, const char **why) ECL_WUR;

/* An integer label: an integer literal, or a number with an exact integer
 * value (151.0, 1.51e+02) up to 2^53 in magnitude. 0 or -1 with *why set. */
int csv_parse_label(const char *cell, int64_t *out, const char **why) ECL_WUR;

#endif
