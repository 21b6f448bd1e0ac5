/*
 * recipients.h - who received given rows of a dataset, from the trail.
 *
 * GDPR Art. 17(2) and Art. 19: when rows are erased, the controller tells
 * each recipient they were disclosed to. A read-start entry of this site's
 * trail records who read (actor), through which gateway (detail.via), the
 * read id and the source rows sent (detail.rows, [begin, end) pairs after
 * the erasures then in force; an empty array means whole tensors, every
 * row). A read carried a row if one of its ranges holds it. A read is
 * counted from its read-start entry, whatever its end: the entry is written
 * before the first byte leaves, so a read cut short may still have carried
 * the rows.
 */
#ifndef ECLUSE_AUDIT_RECIPIENTS_H
#define ECLUSE_AUDIT_RECIPIENTS_H

#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"

/* Rows [begin, end), end > begin. */
typedef struct audit_row_range {
    uint64_t begin, end;
} audit_row_range;

/* One read that carried some of the rows asked about. Strings are
 * NUL-terminated, "" when the entry has none. */
typedef struct audit_recipient {
    char reader[AUDIT_FIELD_MAX + 1];    /* SPIFFE id of who read */
    char home_site[AUDIT_FIELD_MAX + 1]; /* the reader's site: where the copy went */
    char via[AUDIT_FIELD_MAX + 1];       /* SPIFFE id of the relaying gateway, or "" */
    char read_id[AUDIT_FIELD_MAX + 1];
    uint64_t seq;          /* of the read-start entry */
    int64_t time_ns;       /* of the read-start entry */
    audit_row_range *rows; /* the rows asked about that it carried, ascending */
    size_t n_rows;
} audit_recipient;

/* Every read of `dataset` in `log` that carried a row of `ranges` (n of
 * them, ascending and disjoint, as a store rowset gives them), oldest
 * first, into *out (count *n_out; the caller frees it with
 * audit_recipients_free). Errors: ECL_E_USAGE (NULL argument, ranges not
 * ascending and disjoint, an empty range); ECL_E_INPUT (a read-start entry
 * whose detail.rows is not an array of [begin, end] pairs: run audit
 * verify); as audit_query otherwise. */
int audit_recipients(audit_log *log, const char *dataset, const audit_row_range *ranges, size_t n,
                     audit_recipient **out, size_t *n_out, ecl_err *err) ECL_WUR;

void audit_recipients_free(audit_recipient *r, size_t n);

#endif
