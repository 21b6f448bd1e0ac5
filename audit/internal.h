/*
 * internal.h - what the files of audit/ share: the log handle and the LMDB
 * sub-databases (names and layouts: docs/audit-format.md).
 */
#ifndef ECLUSE_AUDIT_INTERNAL_H
#define ECLUSE_AUDIT_INTERNAL_H

#include <lmdb.h>
#include <pthread.h>
#include <stdint.h>

#include "audit/audit.h"
#include "audit/record.h"
#include "audit/tree.h"

#define AUDIT_FORMAT    "ecluse-audit-v2"
#define AUDIT_FORMAT_V1 "ecluse-audit-v1" /* no tree: upgraded when opened */

/* Bench only (bench/audit): when set before audit_open, appends skip the
 * tree, to measure what it costs. Never set in a gateway. */
extern int audit_bench_tree_off;

/* Index sub-databases, in the order of the record fields they index. */
enum { IX_KIND = 0, IX_ACTOR, IX_DATASET, IX_PURPOSE, IX_DECISION, IX_COUNT };

struct pending; /* an append waiting for its commit (log.c) */

struct audit_log {
    MDB_env *env;
    MDB_dbi entries, meta, by_time, checkpoints, tree;
    MDB_dbi cosignatures, cosigned, witnessed; /* notes.c */
    MDB_dbi by[IX_COUNT];
    char dir[4096];
    size_t map_size;

    /* group commit */
    pthread_mutex_t mu;
    pthread_cond_t work; /* writer: something is pending or stop */
    pthread_cond_t done; /* waiters: a batch finished */
    pthread_t writer;
    int writer_started;
    int stopping;
    int broken;    /* LMDB said the environment is unusable: reopen */
    int read_only; /* audit_open_readonly: no writer, nothing written */
    struct pending *head, *tail;
    unsigned npending;
    unsigned deadline_us, batch_max;

    /* chain head as of the last commit (writer-owned; read under mu) */
    uint64_t count;
    uint8_t head_hash[AUDIT_HASH_BYTES];
    int64_t last_time_ns;
    /* the tree's peaks as of the last commit (writer-owned); tree_ok is 0
     * when the stored tree could not be read at open: appends then fail */
    tree_peaks peaks;
    int tree_ok;
    int tree_off; /* audit_bench_tree_off at open */
};

/* The record field each index covers. */
static inline unsigned ix_field(unsigned ix)
{
    static const unsigned f[IX_COUNT] = {F_KIND, F_ACTOR, F_DATASET, F_PURPOSE, F_DECISION};
    return f[ix];
}

/* A key or value that is one u64be (a seq, a count, a time): 0, or -1 (and
 * *out = 0) when it is not exactly 8 bytes. */
ECL_WUR static inline int audit_u64_val(const MDB_val *v, uint64_t *out)
{
    *out = 0;
    return v->mv_size == 8 ? ecl_u64be_at(v->mv_data, v->mv_size, 0, out) : -1;
}

/* Map an LMDB error to an ecl_err (with context); returns -1. */
int audit_mdb_fail(ecl_err *err, ecl_code code, int rc, const char *what);

/* Read the stored head (count, hash) in `txn`; zeros if the log is empty. */
int audit_read_head(MDB_txn *txn, const audit_log *log, uint64_t *count,
                    uint8_t hash[AUDIT_HASH_BYTES], ecl_err *err) ECL_WUR;

/* Begin a read-only transaction (ECL_E_IO on failure). */
int audit_rtxn(audit_log *log, MDB_txn **txn, ecl_err *err) ECL_WUR;

/* Decode a stored record into `rec`, copying its strings NUL-terminated
 * into *scratch (grown as needed; the caller frees it). */
int audit_decode(const MDB_val *key, const MDB_val *val, audit_record *rec, char **scratch,
                 size_t *cap, ecl_err *err) ECL_WUR;

#endif
