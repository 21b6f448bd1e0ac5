/* notice_store.c - the erasure notices a site sent and received, in LMDB. */
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "federation/erasure.h"

#define MAP_SIZE ((size_t)256 << 20)

struct notice_store {
    MDB_env *env;
    MDB_dbi box[2];   /* outbox, inbox */
    MDB_dbi erasures; /* u64be erasure seq -> "" once all its notices are kept */
};

static int lmdb_fail(ecl_err *err, int rc, const char *what)
{
    ecl_code code = rc == MDB_MAP_FULL ? ECL_E_UNAVAILABLE : ECL_E_IO;
    return ecl_fail(err, code, "erasure notices: %s: %s", what, mdb_strerror(rc));
}

int notice_store_open(const char *dir, notice_store **out, ecl_err *err)
{
    if (ecl_mkdirs(dir, 0700, err) != 0)
        return -1;
    notice_store *ns = calloc(1, sizeof(*ns));
    if (ns == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    int rc = mdb_env_create(&ns->env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(ns->env, 3);
    if (rc == 0)
        rc = mdb_env_set_mapsize(ns->env, MAP_SIZE);
    if (rc == 0)
        rc = mdb_env_open(ns->env, dir, MDB_NOTLS, 0600);
    MDB_txn *txn = NULL;
    if (rc == 0)
        rc = mdb_txn_begin(ns->env, NULL, 0, &txn);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "outbox", MDB_CREATE, &ns->box[NOTICE_OUTBOX]);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "inbox", MDB_CREATE, &ns->box[NOTICE_INBOX]);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "erasures", MDB_CREATE, &ns->erasures);
    if (rc == 0)
        rc = mdb_txn_commit(txn);
    else if (txn != NULL)
        mdb_txn_abort(txn);
    if (rc != 0) {
        mdb_env_close(ns->env);
        free(ns);
        return ecl_fail(err, ECL_E_IO, "erasure notices: cannot open %s: %s", dir,
                        mdb_strerror(rc));
    }
    *out = ns;
    return 0;
}

void notice_store_close(notice_store *ns)
{
    if (ns == NULL)
        return;
    mdb_env_close(ns->env);
    free(ns);
}

static MDB_val key_of(const char *id)
{
    MDB_val k = {strlen(id), (void *)id};
    return k;
}

/* Pack `rec` into `txn` under `id` with `flags`. */
static int put(notice_store *ns, MDB_txn *txn, notice_box box, const char *id,
               const Ecluse__V1__ErasureNoticeRecord *rec, unsigned flags)
{
    size_t len = ecluse__v1__erasure_notice_record__get_packed_size(rec);
    MDB_val k = key_of(id), v = {len, NULL};
    int rc = mdb_put(txn, ns->box[box], &k, &v, flags | MDB_RESERVE);
    if (rc == 0)
        ecluse__v1__erasure_notice_record__pack(rec, v.mv_data);
    return rc;
}

int notice_store_add(notice_store *ns, notice_box box, const char *id,
                     const Ecluse__V1__ErasureNoticeRecord *rec, ecl_err *err)
{
    if (id[0] == '\0' || strlen(id) > 128)
        return ecl_fail(err, ECL_E_INPUT, "erasure notice id '%.64s' is empty or too long", id);
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(ns->env, NULL, 0, &txn);
    if (rc != 0)
        return lmdb_fail(err, rc, "begin");
    rc = put(ns, txn, box, id, rec, MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST) {
        mdb_txn_abort(txn);
        return ecl_fail(err, ECL_E_EXISTS, "erasure notice %s is already recorded", id);
    }
    if (rc != 0) {
        mdb_txn_abort(txn);
        return lmdb_fail(err, rc, "put");
    }
    rc = mdb_txn_commit(txn);
    return rc == 0 ? 0 : lmdb_fail(err, rc, "commit");
}

int notice_store_update(notice_store *ns, notice_box box, const char *id, notice_change_fn change,
                        void *ctx, ecl_err *err)
{
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(ns->env, NULL, 0, &txn);
    if (rc != 0)
        return lmdb_fail(err, rc, "begin");
    MDB_val k = key_of(id), v;
    rc = mdb_get(txn, ns->box[box], &k, &v);
    if (rc == MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        return ecl_fail(err, ECL_E_NOT_FOUND, "no erasure notice %.64s", id);
    }
    if (rc != 0) {
        mdb_txn_abort(txn);
        return lmdb_fail(err, rc, "get");
    }
    Ecluse__V1__ErasureNoticeRecord *rec =
        ecluse__v1__erasure_notice_record__unpack(NULL, v.mv_size, v.mv_data);
    if (rec == NULL) {
        mdb_txn_abort(txn);
        return ecl_fail(err, ECL_E_INPUT, "stored erasure notice %.64s does not decode", id);
    }
    Ecluse__V1__ErasureNoticeRecord as_read = *rec; /* what free_unpacked must free */
    int done = change(rec, ctx, err);
    if (done == 0) {
        rc = put(ns, txn, box, id, rec, 0);
        if (rc == 0)
            rc = mdb_txn_commit(txn);
        else
            mdb_txn_abort(txn);
        if (rc != 0)
            done = lmdb_fail(err, rc, "update");
    } else {
        mdb_txn_abort(txn);
    }
    *rec = as_read;
    ecluse__v1__erasure_notice_record__free_unpacked(rec, NULL);
    return done;
}

void notice_store_free_list(Ecluse__V1__ErasureNoticeRecord **list, size_t count)
{
    for (size_t i = 0; list != NULL && i < count; i++)
        if (list[i] != NULL)
            ecluse__v1__erasure_notice_record__free_unpacked(list[i], NULL);
    free(list);
}

int notice_store_list(notice_store *ns, notice_box box, Ecluse__V1__ErasureNoticeRecord ***out,
                      size_t *count, ecl_err *err)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_stat stat;
    int rc = mdb_txn_begin(ns->env, NULL, MDB_RDONLY, &txn);
    if (rc == 0)
        rc = mdb_stat(txn, ns->box[box], &stat);
    if (rc == 0)
        rc = mdb_cursor_open(txn, ns->box[box], &cur);
    if (rc != 0) {
        if (txn != NULL)
            mdb_txn_abort(txn);
        return lmdb_fail(err, rc, "list");
    }
    Ecluse__V1__ErasureNoticeRecord **list = calloc(stat.ms_entries + 1, sizeof(*list));
    size_t n = 0;
    MDB_val k, v;
    int status = list != NULL ? 0 : ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); status == 0 && rc == 0 && n < stat.ms_entries;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        list[n] = ecluse__v1__erasure_notice_record__unpack(NULL, v.mv_size, v.mv_data);
        if (list[n] == NULL)
            status = ecl_fail(err, ECL_E_INPUT, "a stored erasure notice does not decode");
        else
            n++;
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    if (status != 0) {
        notice_store_free_list(list, n);
        return -1;
    }
    *out = list;
    *count = n;
    return 0;
}

static void seq_key(uint64_t seq, unsigned char out[8])
{
    for (int i = 0; i < 8; i++)
        out[i] = (unsigned char)(seq >> (56 - 8 * i));
}

int notice_store_mark_erasure(notice_store *ns, uint64_t seq, ecl_err *err)
{
    unsigned char key[8];
    seq_key(seq, key);
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(ns->env, NULL, 0, &txn);
    if (rc != 0)
        return lmdb_fail(err, rc, "begin");
    MDB_val k = {sizeof(key), key}, v = {0, (void *)""};
    rc = mdb_put(txn, ns->erasures, &k, &v, 0);
    if (rc == 0)
        rc = mdb_txn_commit(txn);
    else
        mdb_txn_abort(txn);
    return rc == 0 ? 0 : lmdb_fail(err, rc, "mark an erasure");
}

int notice_store_erasure_done(notice_store *ns, uint64_t seq, int *done, ecl_err *err)
{
    unsigned char key[8];
    seq_key(seq, key);
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(ns->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0)
        return lmdb_fail(err, rc, "begin");
    MDB_val k = {sizeof(key), key}, v;
    rc = mdb_get(txn, ns->erasures, &k, &v);
    mdb_txn_abort(txn);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return lmdb_fail(err, rc, "look up an erasure");
    *done = rc == 0;
    return 0;
}
