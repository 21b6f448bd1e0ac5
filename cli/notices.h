/*
 * notices.h - the erasure notices this site sent, as `audit processing`
 * shows them beside each erasure (cmd_notices.c; used by cmd_erase.c).
 */
#ifndef ECLUSE_CLI_NOTICES_H
#define ECLUSE_CLI_NOTICES_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "cli/remote.h"
#include "common/err.h"

typedef struct cli_sent_notices cli_sent_notices;

/* Every notice this site sent (Notices/Sent), kept for the calls below;
 * free with cli_sent_notices_free (NULL is a no-op). */
int cli_sent_notices_load(cli_remote *r, cli_sent_notices **out, ecl_err *err) ECL_WUR;
void cli_sent_notices_free(cli_sent_notices *s);

/* The notices of the erasure whose audit entry is `erasure_seq`, in words:
 * "de acknowledged (by spiffe://de/researcher/res), fi pending (...)",
 * or "none sent". */
void cli_sent_notices_state(const cli_sent_notices *s, uint64_t erasure_seq, char *buf, size_t cap);

/* The same as a JSON array of {"notice_id","site","state","deleted_by",
 * "last_error"} (a new reference). */
json_t *cli_sent_notices_json(const cli_sent_notices *s, uint64_t erasure_seq);

#endif
