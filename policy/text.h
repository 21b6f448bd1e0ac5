/*
 * text.h - internal: bounded string building and UTC dates, without stdio
 * and without allocation, for the decision hot path (snprintf costs more
 * than a whole decision is allowed to).
 */
#ifndef ECLUSE_POLICY_TEXT_H
#define ECLUSE_POLICY_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/err.h"

/* A cursor into a caller's fixed buffer; the text stays NUL-terminated and is
 * cut, never overrun, when it does not fit. */
typedef struct {
    char *p;
    char *end; /* the last byte, kept for the NUL */
} ecl_sb;

static inline void ecl_sb_init(ecl_sb *b, char *buf, size_t cap)
{
    b->p = buf;
    b->end = buf + cap - 1;
    *b->p = '\0';
}

static inline void ecl_sb_str(ecl_sb *b, const char *s)
{
    /* strlen + memcpy run a word or a vector at a time: most of a decision's
     * cost is copying its text, so this is the hot loop. */
    size_t n = strlen(s);
    size_t room = (size_t)(b->end - b->p);
    if (n > room)
        n = room;
    memcpy(b->p, s, n);
    b->p += n;
    *b->p = '\0';
}

static inline void ecl_sb_ch(ecl_sb *b, char c)
{
    if (b->p < b->end)
        *b->p++ = c;
    *b->p = '\0';
}

void ecl_sb_u64(ecl_sb *b, uint64_t v);

/* "YYYY-MM-DD" of the UTC day holding `t`. */
void ecl_sb_date(ecl_sb *b, int64_t t);

/* "YYYY-MM-DDTHH:MM:SSZ" of `t` (UTC). */
void ecl_sb_datetime(ecl_sb *b, int64_t t);

/* Parse "YYYY-MM-DD" (a real calendar day, years 1970..9999) into the Unix
 * time of that day's start. Returns 0, or -1 if it is not such a date. */
int ecl_date_parse(const char *s, int64_t *out) ECL_WUR;

#define ECL_DAY_SECONDS INT64_C(86400)

#endif
