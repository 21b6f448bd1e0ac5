/* log.c - opening a log, and appends with group commit (audit.h). */
#include "audit/internal.h"

#include <errno.h>
#include <semaphore.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/fileio.h"
#include "common/log.h"

#define DEFAULT_MAP_SIZE ((size_t)1 << 30)
#define DEFAULT_BATCH    4096u

int audit_bench_tree_off;

struct pending {
    rec_tail t;
    sem_t wake; /* its own: posted, outside the log's mutex, when its batch is done */
    int rc;
    ecl_err err;
    uint64_t seq;
    struct pending *next;
};

int audit_mdb_fail(ecl_err *err, ecl_code code, int rc, const char *what)
{
    return ecl_fail(err, code, "%s: %s", what, mdb_strerror(rc));
}

int audit_rtxn(audit_log *log, MDB_txn **txn, ecl_err *err)
{
    int rc = mdb_txn_begin(log->env, NULL, MDB_RDONLY, txn);
    if (rc != 0)
        return audit_mdb_fail(err, ECL_E_IO, rc, "audit log: cannot start a read");
    return 0;
}

int audit_read_head(MDB_txn *txn, const audit_log *log, uint64_t *count,
                    uint8_t hash[AUDIT_HASH_BYTES], ecl_err *err)
{
    MDB_val k = {4, "head"}, v;
    int rc = mdb_get(txn, log->meta, &k, &v);
    if (rc == MDB_NOTFOUND) {
        *count = 0;
        memset(hash, 0, AUDIT_HASH_BYTES);
        return 0;
    }
    if (rc != 0)
        return audit_mdb_fail(err, ECL_E_IO, rc, "audit log: cannot read the head");
    ecl_rd r;
    ecl_rd_init(&r, v.mv_data, v.mv_size);
    if (v.mv_size != 8 + AUDIT_HASH_BYTES ||
        (ecl_rd_u64be(&r, count) | ecl_rd_copy(&r, hash, AUDIT_HASH_BYTES)) != 0)
        return ecl_fail(err, ECL_E_INPUT, "audit log: meta 'head' is %zu bytes, not 40", v.mv_size);
    return 0;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- opening ------------------------------------------------------------ */

static int open_dbis(audit_log *log, MDB_txn *txn, ecl_err *err)
{
    static const char *const ix_names[IX_COUNT] = {"by_kind", "by_actor", "by_dataset",
                                                   "by_purpose", "by_decision"};
    /* A read-only log creates nothing: a missing sub-database is an error. */
    const unsigned create = log->read_only ? 0 : MDB_CREATE;
    const unsigned dup = create | MDB_DUPSORT | MDB_DUPFIXED;
    struct {
        const char *name;
        unsigned flags;
        MDB_dbi *dbi;
    } t[] = {
        {"entries", create, &log->entries},   {"meta", create, &log->meta},
        {"by_time", dup, &log->by_time},      {"checkpoints", create, &log->checkpoints},
        {"tree", create, &log->tree},         {"cosignatures", create, &log->cosignatures},
        {"cosigned", create, &log->cosigned}, {"witnessed", create, &log->witnessed},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        int rc = mdb_dbi_open(txn, t[i].name, t[i].flags, t[i].dbi);
        if (rc != 0)
            return audit_mdb_fail(err, ECL_E_UNAVAILABLE, rc, t[i].name);
    }
    for (unsigned i = 0; i < IX_COUNT; i++) {
        int rc = mdb_dbi_open(txn, ix_names[i], dup, &log->by[i]);
        if (rc != 0)
            return audit_mdb_fail(err, ECL_E_UNAVAILABLE, rc, ix_names[i]);
    }
    return 0;
}

static int put_format(audit_log *log, MDB_txn *txn, ecl_err *err)
{
    MDB_val k = {6, "format"}, v = {strlen(AUDIT_FORMAT), (void *)AUDIT_FORMAT};
    int rc = mdb_put(txn, log->meta, &k, &v, 0);
    if (rc != 0)
        return audit_mdb_fail(err, ECL_E_UNAVAILABLE, rc, "meta 'format'");
    return 0;
}

/* A v1 log has no tree: build it from the entries, in the transaction that
 * also writes the new marker, so the log is either v1 as it was or v2 with
 * its whole tree. Its checkpoints (a binary format signed under
 * "ecluse-checkpoint-v1") and the peers' ones it kept as a witness cannot be
 * read as C2SP notes: they are dropped, and the first v2 checkpoint covers
 * every entry again. */
static int upgrade_v1(audit_log *log, MDB_txn *txn, ecl_err *err)
{
    int rc = mdb_drop(txn, log->tree, 0);
    if (rc == 0)
        rc = mdb_drop(txn, log->checkpoints, 0);
    if (rc != 0)
        return audit_mdb_fail(err, ECL_E_UNAVAILABLE, rc, "tree");
    MDB_dbi old_witness;
    rc = mdb_dbi_open(txn, "witness", 0, &old_witness);
    if (rc == 0)
        rc = mdb_drop(txn, old_witness, 1);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return audit_mdb_fail(err, ECL_E_UNAVAILABLE, rc, "the v1 witness store");
    MDB_cursor *c;
    if ((rc = mdb_cursor_open(txn, log->entries, &c)) != 0)
        return audit_mdb_fail(err, ECL_E_UNAVAILABLE, rc, "entries");
    tree_peaks pk;
    memset(&pk, 0, sizeof(pk));
    MDB_val k, v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        uint64_t seq;
        if (audit_u64_val(&k, &seq) != 0 || seq != pk.size + 1) {
            mdb_cursor_close(c);
            return ecl_fail(err, ECL_E_INPUT,
                            "cannot upgrade from %s: entry %llu is missing or out of place "
                            "(verify the log with a version that reads %s)",
                            AUDIT_FORMAT_V1, (unsigned long long)pk.size + 1, AUDIT_FORMAT_V1);
        }
        uint8_t leaf[MERKLE_HASH_BYTES];
        merkle_leaf_hash(v.mv_data, v.mv_size, leaf);
        if ((rc = tree_append(txn, log->tree, &pk, leaf)) != 0)
            break;
    }
    mdb_cursor_close(c);
    if (rc != MDB_NOTFOUND)
        return audit_mdb_fail(err, ECL_E_UNAVAILABLE, rc, "building the tree");
    if (put_format(log, txn, err) != 0)
        return -1;
    char n[24];
    snprintf(n, sizeof(n), "%llu", (unsigned long long)pk.size);
    ecl_log(ECL_LOG_INFO, "audit.upgrade", "dir", log->dir, "from", AUDIT_FORMAT_V1, "to",
            AUDIT_FORMAT, "entries", n, NULL);
    return 0;
}

/* The format marker: written into an empty log, checked in any other; a v1
 * log is upgraded. */
static int check_format(audit_log *log, MDB_txn *txn, ecl_err *err)
{
    MDB_val k = {6, "format"}, v;
    int rc = mdb_get(txn, log->meta, &k, &v);
    if (rc == 0) {
        if (v.mv_size == strlen(AUDIT_FORMAT) && memcmp(v.mv_data, AUDIT_FORMAT, v.mv_size) == 0)
            return 0;
        if (v.mv_size == strlen(AUDIT_FORMAT_V1) &&
            memcmp(v.mv_data, AUDIT_FORMAT_V1, v.mv_size) == 0)
            return log->read_only ? ecl_fail(err, ECL_E_PRECONDITION,
                                             "an %s log, which has no tree yet: a gateway of this "
                                             "version upgrades it when it opens it",
                                             AUDIT_FORMAT_V1)
                                  : upgrade_v1(log, txn, err);
        return ecl_fail(err, ECL_E_INPUT, "meta 'format' is '%.*s', expected '%s'",
                        (int)(v.mv_size > 64 ? 64 : v.mv_size), (const char *)v.mv_data,
                        AUDIT_FORMAT);
    }
    if (rc != MDB_NOTFOUND)
        return audit_mdb_fail(err, ECL_E_UNAVAILABLE, rc, "meta 'format'");
    MDB_stat st;
    if ((rc = mdb_stat(txn, log->entries, &st)) != 0)
        return audit_mdb_fail(err, ECL_E_UNAVAILABLE, rc, "entries");
    if (st.ms_entries != 0)
        return ecl_fail(err, ECL_E_INPUT, "entries exist but meta 'format' is missing");
    if (log->read_only)
        return ecl_fail(err, ECL_E_INPUT, "no meta 'format': not an ecluse audit log");
    return put_format(log, txn, err);
}

/* Load the chain head and the time of the last entry. */
static int load_head(audit_log *log, MDB_txn *txn, ecl_err *err)
{
    if (audit_read_head(txn, log, &log->count, log->head_hash, err) != 0)
        return -1;
    log->last_time_ns = 0;
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, log->entries, &c);
    if (rc != 0)
        return audit_mdb_fail(err, ECL_E_UNAVAILABLE, rc, "entries");
    MDB_val k, v;
    rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
    if (rc == 0 && v.mv_size >= REC_HEADER)
        log->last_time_ns = rec_time_ns(v.mv_data, v.mv_size);
    mdb_cursor_close(c);
    ecl_err te;
    log->tree_ok = tree_load_peaks(txn, log->tree, log->count, &log->peaks, &te) == 0;
    if (!log->tree_ok)
        ecl_log(ECL_LOG_ERROR, "audit.tree_damaged", "dir", log->dir, "error", te.msg, "appends",
                "refused", NULL);
    return 0;
}

static int env_open(audit_log *log, ecl_err *err)
{
    int rc = mdb_env_create(&log->env);
    if (rc != 0)
        return audit_mdb_fail(err, ECL_E_UNAVAILABLE, rc, "cannot create an LMDB environment");
    mdb_env_set_maxdbs(log->env, 16);
    mdb_env_set_mapsize(log->env, log->map_size);
    /* NOTLS: read transactions are not tied to threads (queries may nest). */
    rc = mdb_env_open(log->env, log->dir, MDB_NOTLS | (log->read_only ? MDB_RDONLY : 0), 0600);
    if (rc != 0) {
        mdb_env_close(log->env);
        log->env = NULL;
        return audit_mdb_fail(err, ECL_E_UNAVAILABLE, rc, "cannot open");
    }
    MDB_txn *txn;
    if ((rc = mdb_txn_begin(log->env, NULL, log->read_only ? MDB_RDONLY : 0, &txn)) != 0)
        return audit_mdb_fail(err, ECL_E_UNAVAILABLE, rc, "cannot start a transaction");
    if (open_dbis(log, txn, err) != 0 || check_format(log, txn, err) != 0 ||
        load_head(log, txn, err) != 0) {
        mdb_txn_abort(txn);
        return -1;
    }
    if ((rc = mdb_txn_commit(txn)) != 0)
        return audit_mdb_fail(err, ECL_E_UNAVAILABLE, rc, "cannot commit");
    return 0;
}

static void *writer_main(void *arg);

static int start_writer(audit_log *log, ecl_err *err)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* deadlines ignore wall-clock jumps */
    pthread_mutex_init(&log->mu, NULL);
    pthread_cond_init(&log->work, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&log->writer, NULL, writer_main, log) != 0)
        return ecl_fail(err, ECL_E_INTERNAL, "cannot start the audit writer thread");
    log->writer_started = 1;
    return 0;
}

/* A handle for `dir`, nothing opened yet. */
static int log_new(const char *dir, const char *who, audit_log **out, ecl_err *err)
{
    if (dir == NULL || out == NULL || dir[0] == '\0')
        return ecl_fail(err, ECL_E_USAGE, "%s: no directory given", who);
    if (sodium_init() < 0)
        return ecl_fail(err, ECL_E_INTERNAL, "libsodium cannot be initialised");
    audit_log *log = calloc(1, sizeof(*log));
    if (log == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    if (snprintf(log->dir, sizeof(log->dir), "%s", dir) >= (int)sizeof(log->dir)) {
        free(log);
        return ecl_fail(err, ECL_E_USAGE, "audit log directory path is too long");
    }
    *out = log;
    return 0;
}

/* After a failed env_open: close what was opened, free the handle. */
static int open_failed(audit_log *log, const char *dir, ecl_err *err)
{
    if (log->env)
        mdb_env_close(log->env);
    if (log->read_only)
        pthread_mutex_destroy(&log->mu);
    free(log);
    return ecl_err_prefix(err, "audit log %s", dir);
}

int audit_open(const char *dir, const audit_options *opt, audit_log **out, ecl_err *err)
{
    audit_log *log;
    if (log_new(dir, "audit_open", &log, err) != 0)
        return -1;
    log->map_size = opt && opt->map_size ? opt->map_size : DEFAULT_MAP_SIZE;
    log->deadline_us = opt ? opt->group_deadline_us : 0;
    log->batch_max = opt && opt->batch_max ? opt->batch_max : DEFAULT_BATCH;
    log->tree_off = audit_bench_tree_off;
    if (ecl_mkdirs(dir, 0700, err) != 0) {
        if (err)
            err->code = ECL_E_UNAVAILABLE; /* fail closed: no trail, no service */
        return open_failed(log, dir, err);
    }
    if (env_open(log, err) != 0)
        return open_failed(log, dir, err);
    if (start_writer(log, err) != 0) {
        audit_close(log);
        return -1;
    }
    *out = log;
    return 0;
}

int audit_open_readonly(const char *dir, audit_log **out, ecl_err *err)
{
    audit_log *log;
    if (log_new(dir, "audit_open_readonly", &log, err) != 0)
        return -1;
    log->read_only = 1;
    log->map_size = DEFAULT_MAP_SIZE;
    pthread_mutex_init(&log->mu, NULL);
    if (env_open(log, err) != 0)
        return open_failed(log, dir, err);
    *out = log;
    return 0;
}

void audit_close(audit_log *log)
{
    if (log == NULL)
        return;
    if (log->writer_started) {
        pthread_mutex_lock(&log->mu);
        log->stopping = 1;
        pthread_cond_signal(&log->work);
        pthread_mutex_unlock(&log->mu);
        pthread_join(log->writer, NULL);
        pthread_cond_destroy(&log->work);
        pthread_mutex_destroy(&log->mu);
    } else if (log->read_only)
        pthread_mutex_destroy(&log->mu);
    if (log->env)
        mdb_env_close(log->env);
    free(log);
}

int audit_head(audit_log *log, uint64_t *count, uint8_t head[AUDIT_HASH_BYTES], ecl_err *err)
{
    if (log == NULL || count == NULL)
        return ecl_fail(err, ECL_E_USAGE, "audit_head: NULL argument");
    pthread_mutex_lock(&log->mu);
    *count = log->count;
    if (head)
        memcpy(head, log->head_hash, AUDIT_HASH_BYTES);
    pthread_mutex_unlock(&log->mu);
    return 0;
}

/* ---- the writer ---------------------------------------------------------- */

static void fail_batch(struct pending *b, const ecl_err *e)
{
    for (struct pending *p = b; p; p = p->next) {
        p->rc = -1;
        p->err = *e;
    }
}

static int put_indexes(audit_log *log, MDB_txn *txn, const rec_tail *t, const uint8_t seqbe[8],
                       const uint8_t timebe[8])
{
    MDB_val d = {8, (void *)seqbe};
    for (unsigned ix = 0; ix < IX_COUNT; ix++) {
        unsigned f = ix_field(ix);
        if (t->flen[f] == 0)
            continue;
        MDB_val k = {t->flen[f], t->bytes + t->off[f]};
        int rc = mdb_put(txn, log->by[ix], &k, &d, 0);
        if (rc != 0)
            return rc;
    }
    MDB_val tk = {8, (void *)timebe};
    return mdb_put(txn, log->by_time, &tk, &d, 0);
}

/* Write the batch in one transaction. On success the new head is returned
 * through the out-parameters; the log's own head is updated by the caller. */
static int write_batch(audit_log *log, struct pending *b, uint64_t *count,
                       uint8_t head[AUDIT_HASH_BYTES], int64_t *time_ns, tree_peaks *pk)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(log->env, NULL, 0, &txn);
    if (rc != 0)
        return rc;
    int64_t t = now_ns();
    if (t < *time_ns)
        t = *time_ns; /* time never goes backwards along the chain */
    uint8_t timebe[8], seqbe[8];
    ecl_put_u64be(timebe, (uint64_t)t);
    uint64_t seq = *count;
    for (struct pending *p = b; p; p = p->next) {
        ecl_put_u64be(seqbe, ++seq);
        MDB_val k = {8, seqbe}, v = {REC_HEADER + p->t.len + AUDIT_HASH_BYTES, NULL};
        rc = mdb_put(txn, log->entries, &k, &v, MDB_NOOVERWRITE | MDB_RESERVE);
        if (rc == 0) {
            uint8_t leaf[MERKLE_HASH_BYTES];
            rec_write(v.mv_data, seq, t, head, &p->t);
            memcpy(head, (uint8_t *)v.mv_data + v.mv_size - AUDIT_HASH_BYTES, AUDIT_HASH_BYTES);
            /* the leaf is the whole stored value; hashed before the next put,
             * which may move the reserved space */
            if (!log->tree_off)
                merkle_leaf_hash(v.mv_data, v.mv_size, leaf);
            rc = put_indexes(log, txn, &p->t, seqbe, timebe);
            if (rc == 0 && !log->tree_off)
                rc = tree_append(txn, log->tree, pk, leaf);
        }
        if (rc != 0) {
            mdb_txn_abort(txn);
            return rc;
        }
        p->seq = seq;
    }
    uint8_t hv[8 + AUDIT_HASH_BYTES];
    ecl_put_u64be(hv, seq);
    memcpy(hv + 8, head, AUDIT_HASH_BYTES);
    MDB_val hk = {4, "head"}, hval = {sizeof(hv), hv};
    if ((rc = mdb_put(txn, log->meta, &hk, &hval, 0)) != 0) {
        mdb_txn_abort(txn);
        return rc;
    }
    if ((rc = mdb_txn_commit(txn)) != 0) /* fsync'd: LMDB runs without MDB_NOSYNC */
        return rc;
    *count = seq;
    *time_ns = t;
    return 0;
}

static void commit_batch(audit_log *log, struct pending *b, unsigned n)
{
    ecl_err e;
    if (log->broken) {
        ecl_fail(&e, ECL_E_UNAVAILABLE,
                 "audit trail not written: the log at %s failed earlier and must be reopened",
                 log->dir);
        fail_batch(b, &e);
        return;
    }
    uint64_t count = log->count;
    uint8_t head[AUDIT_HASH_BYTES];
    memcpy(head, log->head_hash, sizeof(head));
    int64_t t = log->last_time_ns;
    if (!log->tree_ok) {
        ecl_fail(&e, ECL_E_UNAVAILABLE,
                 "audit trail not written: the Merkle tree of the log at %s is damaged (a node "
                 "is missing); run audit verify",
                 log->dir);
        fail_batch(b, &e);
        return;
    }
    tree_peaks *pk = malloc(sizeof(*pk)); /* 2 KiB: kept off the writer's stack */
    if (pk == NULL) {
        ecl_fail(&e, ECL_E_UNAVAILABLE, "audit trail not written: out of memory");
        fail_batch(b, &e);
        return;
    }
    *pk = log->peaks;
    int rc = write_batch(log, b, &count, head, &t, pk);
    if (rc != 0) {
        if (rc == MDB_PANIC) {
            pthread_mutex_lock(&log->mu);
            log->broken = 1;
            pthread_mutex_unlock(&log->mu);
        }
        ecl_fail(&e, ECL_E_UNAVAILABLE,
                 "audit trail not written (%u entr%s in this commit, log %s, map size %zu "
                 "bytes): %s",
                 n, n == 1 ? "y" : "ies", log->dir, log->map_size, mdb_strerror(rc));
        fail_batch(b, &e);
        free(pk);
        return;
    }
    log->peaks = *pk;
    free(pk);
    pthread_mutex_lock(&log->mu);
    log->count = count;
    memcpy(log->head_hash, head, sizeof(head));
    log->last_time_ns = t;
    pthread_mutex_unlock(&log->mu);
}

/* Wait (at most the group deadline) for more appends to join the batch. */
static void gather(audit_log *log)
{
    if (log->deadline_us == 0)
        return;
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_nsec += (long)log->deadline_us * 1000;
    dl.tv_sec += dl.tv_nsec / 1000000000;
    dl.tv_nsec %= 1000000000;
    while (log->npending < log->batch_max && !log->stopping)
        if (pthread_cond_timedwait(&log->work, &log->mu, &dl) == ETIMEDOUT)
            break;
}

static void *writer_main(void *arg)
{
    audit_log *log = arg;
    pthread_mutex_lock(&log->mu);
    for (;;) {
        while (log->head == NULL && !log->stopping)
            pthread_cond_wait(&log->work, &log->mu);
        if (log->head == NULL)
            break; /* stopping, and everything pending was written */
        gather(log);
        struct pending *b = log->head, *last = b;
        unsigned n = 1;
        while (n < log->batch_max && last->next) {
            last = last->next;
            n++;
        }
        log->head = last->next;
        if (log->head == NULL)
            log->tail = NULL;
        last->next = NULL;
        log->npending -= n;
        pthread_mutex_unlock(&log->mu);
        commit_batch(log, b, n);
        /* Woken without the mutex: 64 waiters would otherwise queue for it
         * one after another before they can return. */
        for (struct pending *p = b; p;) {
            struct pending *next = p->next; /* p belongs to its waiter once posted */
            sem_post(&p->wake);
            p = next;
        }
        pthread_mutex_lock(&log->mu);
    }
    pthread_mutex_unlock(&log->mu);
    return NULL;
}

int audit_append(audit_log *log, const audit_entry *entry, uint64_t *seq_out, ecl_err *err)
{
    if (log == NULL)
        return ecl_fail(err, ECL_E_USAGE, "audit_append: NULL log");
    if (log->read_only)
        return ecl_fail(err, ECL_E_UNAVAILABLE, "audit log %s is open read-only", log->dir);
    struct pending p;
    memset(&p, 0, sizeof(p));
    if (rec_tail_build(entry, &p.t, err) != 0)
        return -1;
    if (sem_init(&p.wake, 0, 0) != 0) {
        rec_tail_free(&p.t);
        return ecl_fail(err, ECL_E_INTERNAL, "audit_append: sem_init failed");
    }
    pthread_mutex_lock(&log->mu);
    if (log->stopping || log->broken) {
        pthread_mutex_unlock(&log->mu);
        sem_destroy(&p.wake);
        rec_tail_free(&p.t);
        return ecl_fail(err, ECL_E_UNAVAILABLE, "audit trail not written: the log at %s is %s",
                        log->dir, log->stopping ? "closing" : "broken and must be reopened");
    }
    if (log->tail)
        log->tail->next = &p;
    else
        log->head = &p;
    log->tail = &p;
    log->npending++;
    pthread_cond_signal(&log->work);
    pthread_mutex_unlock(&log->mu);
    while (sem_wait(&p.wake) != 0 && errno == EINTR) {
    }
    sem_destroy(&p.wake);
    rec_tail_free(&p.t);
    if (p.rc != 0) {
        if (err)
            *err = p.err;
        return -1;
    }
    if (seq_out)
        *seq_out = p.seq;
    return 0;
}
