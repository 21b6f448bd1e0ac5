/*
 * fixture.h - what the stream bench runs against: two real sites, FI and
 * LU, peered both ways with the `ecluse` CLI, their gateway processes, a
 * generated dataset published at LU, and grants signed with LU's real site
 * key (as Access.Request issues them).
 *
 * The dataset "lu/big" has two tensors: "features" U8 [rows, FIXTURE_COLS]
 * and "labels" I64 [rows]; a read of all of it is one contiguous run of the
 * file's data section (features, then labels).
 *
 * Gateways are child processes. fixture_setup() registers a handler for
 * SIGINT, SIGTERM, SIGABRT, SIGSEGV and SIGBUS, and an atexit hook, that stop
 * every gateway it started and remove the temporary directory, so a failing
 * or interrupted bench leaves nothing running. fixture_teardown() does the
 * same in order and reports how the gateways exited.
 */
#ifndef ECLUSE_BENCH_STREAM_FIXTURE_H
#define ECLUSE_BENCH_STREAM_FIXTURE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "proto/ecluse.pb-c.h"
#include "tests/support/harness.h"

#define FIXTURE_COLS 16384u /* bytes of "features" per row */

typedef struct fixture_site {
    th_site s;
    char admin[PATH_MAX], res[PATH_MAX]; /* identity directories */
    char bundle[PATH_MAX + 16];
} fixture_site;

typedef struct fixture {
    char root[PATH_MAX - 200];
    fixture_site fi, lu;
    uint64_t rows;
    char dataset_path[PATH_MAX + 64]; /* LU's copy, the file its gateway maps */
} fixture;

/* Make the sites, start the gateways, peer them, generate `rows` rows and
 * publish them at LU as "big". Progress goes to stderr. The harness aborts
 * on a failed CLI step (the handlers then clean up); other failures return
 * -1 with err (ECL_E_IO, ECL_E_INPUT, those of the store writer). */
int fixture_setup(fixture *f, uint64_t rows, ecl_err *err) ECL_WUR;

/* A grant for all of lu/big, signed with LU's site key, issued to
 * spiffe://<requester_site>/researcher/res; free with grant_clear.
 * Errors: those of site_key_load and grant_sign. */
int fixture_grant(const fixture *f, const char *requester_site, Ecluse__V1__Grant *g,
                  ecl_err *err) ECL_WUR;

/* Stop both gateways (SIGTERM, wait) and remove the temporary directory.
 * Returns 0 if both exited 0, else -1 with err naming the gateway. */
int fixture_teardown(fixture *f, ecl_err *err);

#endif
