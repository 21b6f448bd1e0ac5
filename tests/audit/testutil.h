/*
 * testutil.h - helpers shared by the audit tests: temporary directories,
 * entries of every kind, raw LMDB access to a log for tampering.
 */
#ifndef ECLUSE_TESTS_AUDIT_TESTUTIL_H
#define ECLUSE_TESTS_AUDIT_TESTUTIL_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"

/* A new empty directory under $TEST_TMPDIR (or /tmp); aborts on failure. */
void tu_tmpdir(char *out, size_t cap);

/* rm -rf `path` (best effort). */
void tu_rmrf(const char *path);

/* Open a log (asserting success) with default options but no deadline. */
audit_log *tu_open(const char *dir);

/* Append an entry of `kind` with the given fields; asserts success and
 * returns its seq. read-end entries get bytes_sent = `bytes`. */
uint64_t tu_append(audit_log *log, const char *kind, const char *actor, const char *dataset,
                   const char *purpose, const char *decision, const char *read_id, long long bytes);

/* Store a checkpoint of the log's tree as it is now, a C2SP note of origin
 * ecluse/audit/<site> signed with (pk, sk) as the gateway's signer would;
 * asserts success. */
void tu_checkpoint(audit_log *log, const char *site, const uint8_t pk[32], const uint8_t sk[64]);

/* Raw LMDB on a closed log: open env and the named sub-database. */
typedef struct tu_raw {
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
} tu_raw;
void tu_raw_begin(tu_raw *r, const char *dir, const char *db);
void tu_raw_commit(tu_raw *r);

/* Read / overwrite / delete the stored value of entry `seq` (raw LMDB). */
size_t tu_get_entry(const char *dir, uint64_t seq, uint8_t *buf, size_t cap);
void tu_put_entry(const char *dir, uint64_t seq, const uint8_t *buf, size_t len);
void tu_del_entry(const char *dir, uint64_t seq);

/* Verify and return the report; `expect_ok` asserts the return value. */
audit_verify_report tu_verify(const char *dir, ecl_err *err);

#endif
