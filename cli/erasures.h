/*
 * erasures.h - the erasures of a site's datasets as `audit processing`
 * shows them (cmd_erase.c), after the reads.
 */
#ifndef ECLUSE_CLI_ERASURES_H
#define ECLUSE_CLI_ERASURES_H

#include <stdio.h>

#include "cli/remote.h"
#include "common/err.h"

/* Print to `out` every erasure done (audit entries of kind erasure,
 * decision permit) of `dataset` ("" = every dataset), oldest first: as
 * text under a heading, or one JSON object per line with "record":
 * "erasure". *count is how many. */
int cli_print_erasures(cli_remote *r, const char *dataset, FILE *out, size_t *count,
                       ecl_err *err) ECL_WUR;

#endif
