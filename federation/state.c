#include "federation/state.h"

#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "common/fileio.h"

#define MAP_SIZE ((size_t)4 << 30) /* sparse: room for 100 000-entry catalogs */
/* peer_status: u64le attempt, u64le held version, u64le fetched, then text. */
#define STATUS_FIXED 24

struct fed_state {
    MDB_env *env;
    MDB_dbi datasets, peers, peer_keys, peer_catalogs, peer_status, rotations, meta;
    MDB_dbi peer_contact;
    int has_contact; /* 0: a read-only open of a state from before peer_contact */
};

static int lmdb_fail(ecl_err *err, int rc, const char *what)
{
    ecl_code code = rc == MDB_MAP_FULL || rc == ENOSPC ? ECL_E_UNAVAILABLE : ECL_E_IO;
    return ecl_fail(err, code, "site state: %s: %s", what, mdb_strerror(rc));
}

/* A meta counter: a u64le of exactly 8 bytes, else 0. */
static uint64_t meta_u64(const MDB_val *v)
{
    uint64_t value;
    if (v->mv_size != 8 || ecl_u64le_at(v->mv_data, v->mv_size, 0, &value) != 0)
        return 0;
    return value;
}

static int state_open(const char *dir, int read_only, fed_state **out, ecl_err *err)
{
    if (!read_only && ecl_mkdirs(dir, 0700, err) != 0)
        return -1;
    fed_state *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    int rc = mdb_env_create(&st->env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(st->env, 12);
    if (rc == 0)
        rc = mdb_env_set_mapsize(st->env, MAP_SIZE);
    if (rc == 0)
        rc = mdb_env_open(st->env, dir, MDB_NOTLS | (read_only ? MDB_RDONLY : 0), 0600);
    MDB_txn *txn = NULL;
    if (rc == 0)
        rc = mdb_txn_begin(st->env, NULL, read_only ? MDB_RDONLY : 0, &txn);
    struct {
        const char *name;
        MDB_dbi *dbi;
    } dbs[] = {{"datasets", &st->datasets},
               {"peers", &st->peers},
               {"peer_keys", &st->peer_keys},
               {"peer_catalogs", &st->peer_catalogs},
               {"peer_status", &st->peer_status},
               {"rotations", &st->rotations},
               {"meta", &st->meta}};
    for (size_t i = 0; rc == 0 && i < sizeof(dbs) / sizeof(dbs[0]); i++)
        rc = mdb_dbi_open(txn, dbs[i].name, read_only ? 0 : MDB_CREATE, dbs[i].dbi);
    /* Added later: a state written before it is read without it, and the
     * gateway (read-write) creates it. */
    if (rc == 0) {
        rc = mdb_dbi_open(txn, "peer_contact", read_only ? 0 : MDB_CREATE, &st->peer_contact);
        st->has_contact = rc == 0;
        if (rc == MDB_NOTFOUND && read_only)
            rc = 0;
    }
    if (rc == 0)
        rc = mdb_txn_commit(txn);
    else if (txn != NULL)
        mdb_txn_abort(txn);
    if (rc != 0) {
        mdb_env_close(st->env);
        free(st);
        return ecl_fail(err, ECL_E_IO, "site state in %s: %s", dir, mdb_strerror(rc));
    }
    *out = st;
    return 0;
}

int fed_state_open(const char *dir, fed_state **out, ecl_err *err)
{
    return state_open(dir, 0, out, err);
}

int fed_state_open_readonly(const char *dir, fed_state **out, ecl_err *err)
{
    return state_open(dir, 1, out, err);
}

void fed_state_close(fed_state *st)
{
    if (st == NULL)
        return;
    mdb_env_close(st->env);
    free(st);
}

static MDB_val key_of(const char *s)
{
    MDB_val k = {strlen(s), (void *)s};
    return k;
}

static uint64_t read_meta(fed_state *st, const char *name)
{
    MDB_txn *txn;
    if (mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn) != 0)
        return 0;
    MDB_val k = key_of(name), v;
    uint64_t value = 0;
    if (mdb_get(txn, st->meta, &k, &v) == 0)
        value = meta_u64(&v);
    mdb_txn_abort(txn);
    return value;
}

/* Increment a counter in `meta` inside the caller's write transaction. */
static int bump_meta(fed_state *st, MDB_txn *txn, const char *name, uint64_t *out)
{
    MDB_val k = key_of(name), v;
    uint64_t value = 0;
    if (mdb_get(txn, st->meta, &k, &v) == 0)
        value = meta_u64(&v);
    value++;
    unsigned char buf[8];
    ecl_put_u64le(buf, value);
    MDB_val nv = {8, buf};
    if (out != NULL)
        *out = value;
    return mdb_put(txn, st->meta, &k, &nv, 0);
}

uint64_t fed_state_trust_generation(fed_state *st)
{
    return read_meta(st, "trust_generation");
}

uint64_t fed_state_catalog_version(fed_state *st)
{
    return read_meta(st, "catalog_version");
}

int fed_state_put_dataset(fed_state *st, const char *id, const void *entry, size_t len,
                          int must_be_new, uint64_t *version, ecl_err *err)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
    if (rc != 0)
        return lmdb_fail(err, rc, "begin");
    MDB_val k = key_of(id), v = {len, (void *)entry};
    rc = mdb_put(txn, st->datasets, &k, &v, must_be_new ? MDB_NOOVERWRITE : 0);
    if (rc == MDB_KEYEXIST) {
        mdb_txn_abort(txn);
        return ecl_fail(err, ECL_E_EXISTS, "dataset '%s' already exists", id);
    }
    if (rc == 0)
        rc = bump_meta(st, txn, "catalog_version", version);
    if (rc == 0)
        rc = mdb_txn_commit(txn);
    else
        mdb_txn_abort(txn);
    return rc == 0 ? 0 : lmdb_fail(err, rc, "storing a dataset");
}

int fed_state_remove_dataset(fed_state *st, const char *id, uint64_t *version, ecl_err *err)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
    if (rc != 0)
        return lmdb_fail(err, rc, "begin");
    MDB_val k = key_of(id);
    rc = mdb_del(txn, st->datasets, &k, NULL);
    if (rc == MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        return ecl_fail(err, ECL_E_NOT_FOUND, "no dataset '%s' at this site", id);
    }
    if (rc == 0)
        rc = bump_meta(st, txn, "catalog_version", version);
    if (rc == 0)
        rc = mdb_txn_commit(txn);
    else
        mdb_txn_abort(txn);
    return rc == 0 ? 0 : lmdb_fail(err, rc, "removing a dataset");
}

static int get_copy(fed_state *st, MDB_dbi dbi, const char *key, unsigned char **out, size_t *len,
                    const char *what, ecl_err *err)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0)
        return lmdb_fail(err, rc, "begin");
    MDB_val k = key_of(key), v;
    rc = mdb_get(txn, dbi, &k, &v);
    if (rc == 0) {
        *out = malloc(v.mv_size ? v.mv_size : 1);
        if (*out != NULL)
            memcpy(*out, v.mv_data, v.mv_size);
        *len = v.mv_size;
    }
    mdb_txn_abort(txn);
    if (rc == MDB_NOTFOUND)
        return ecl_fail(err, ECL_E_NOT_FOUND, "no %s '%s'", what, key);
    if (rc != 0)
        return lmdb_fail(err, rc, what);
    return *out != NULL ? 0 : ecl_fail(err, ECL_E_INTERNAL, "out of memory");
}

int fed_state_get_dataset(fed_state *st, const char *id, unsigned char **entry, size_t *len,
                          ecl_err *err)
{
    return get_copy(st, st->datasets, id, entry, len, "dataset", err);
}

void fed_state_free_list(ProtobufCBinaryData *entries, size_t count)
{
    for (size_t i = 0; entries != NULL && i < count; i++)
        free(entries[i].data);
    free(entries);
}

/* Copy every value of `dbi` in key order. */
static int copy_all(fed_state *st, MDB_txn *txn, MDB_dbi dbi, ProtobufCBinaryData **out,
                    size_t *count, ecl_err *err)
{
    MDB_stat stat;
    MDB_cursor *cur;
    int rc = mdb_stat(txn, dbi, &stat);
    if (rc == 0)
        rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc != 0)
        return lmdb_fail(err, rc, "listing");
    (void)st;
    ProtobufCBinaryData *list = calloc(stat.ms_entries ? stat.ms_entries : 1, sizeof(*list));
    size_t n = 0;
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
         rc == 0 && list != NULL && n < stat.ms_entries;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        list[n].data = malloc(v.mv_size ? v.mv_size : 1);
        if (list[n].data == NULL)
            break;
        memcpy(list[n].data, v.mv_data, v.mv_size);
        list[n].len = v.mv_size;
        n++;
    }
    mdb_cursor_close(cur);
    if (list == NULL || n != stat.ms_entries) {
        fed_state_free_list(list, n);
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory listing %zu records",
                        (size_t)stat.ms_entries);
    }
    *out = list;
    *count = n;
    return 0;
}

int fed_state_list_datasets(fed_state *st, ProtobufCBinaryData **entries, size_t *count,
                            uint64_t *version, ecl_err *err)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0)
        return lmdb_fail(err, rc, "begin");
    MDB_val k = key_of("catalog_version"), v;
    *version = mdb_get(txn, st->meta, &k, &v) == 0 ? meta_u64(&v) : 0;
    rc = copy_all(st, txn, st->datasets, entries, count, err);
    mdb_txn_abort(txn);
    return rc;
}

/* ---- peers ---------------------------------------------------------------- */

void fed_peer_clear(fed_peer *p)
{
    peer_info_clear(&p->info);
    memset(p, 0, sizeof(*p));
}

int fed_state_add_peer(fed_state *st, const unsigned char *bundle, size_t len, const char *own_site,
                       fed_peer *added, ecl_err *err)
{
    peer_info info;
    if (bundle_verify(bundle, len, &info, err) != 0)
        return -1;
    if (strcmp(info.site, own_site) != 0) {
        MDB_txn *txn;
        int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
        if (rc != 0) {
            peer_info_clear(&info);
            return lmdb_fail(err, rc, "begin");
        }
        MDB_val k = key_of(info.site), v = {len, (void *)bundle};
        MDB_val kv = {crypto_sign_PUBLICKEYBYTES, info.signing_key};
        rc = mdb_put(txn, st->peers, &k, &v, MDB_NOOVERWRITE);
        if (rc == MDB_KEYEXIST) {
            mdb_txn_abort(txn);
            ecl_fail(err, ECL_E_EXISTS,
                     "site '%s' is already a peer; remove it first to replace it", info.site);
            peer_info_clear(&info);
            return -1;
        }
        if (rc == 0)
            rc = mdb_put(txn, st->peer_keys, &k, &kv, 0);
        if (rc == 0)
            rc = bump_meta(st, txn, "trust_generation", NULL);
        if (rc == 0)
            rc = mdb_txn_commit(txn);
        else
            mdb_txn_abort(txn);
        if (rc != 0) {
            peer_info_clear(&info);
            return lmdb_fail(err, rc, "adding a peer");
        }
        if (added != NULL) {
            memset(added, 0, sizeof(*added));
            added->info = info;
            memcpy(added->pinned_key, info.signing_key, sizeof(added->pinned_key));
        } else {
            peer_info_clear(&info);
        }
        return 0;
    }
    ecl_fail(err, ECL_E_INPUT,
             "the bundle is this site's own ('%s'); a site does not peer with itself", own_site);
    peer_info_clear(&info);
    return -1;
}

int fed_state_remove_peer(fed_state *st, const char *site, ecl_err *err)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
    if (rc != 0)
        return lmdb_fail(err, rc, "begin");
    MDB_val k = key_of(site);
    rc = mdb_del(txn, st->peers, &k, NULL);
    if (rc == MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        return ecl_fail(err, ECL_E_NOT_FOUND, "site '%s' is not a peer", site);
    }
    MDB_dbi also[] = {st->peer_keys, st->peer_catalogs, st->peer_status, st->peer_contact};
    for (size_t i = 0; rc == 0 && i < sizeof(also) / sizeof(also[0]) - !st->has_contact; i++) {
        rc = mdb_del(txn, also[i], &k, NULL);
        if (rc == MDB_NOTFOUND)
            rc = 0;
    }
    if (rc == 0)
        rc = bump_meta(st, txn, "trust_generation", NULL);
    if (rc == 0)
        rc = mdb_txn_commit(txn);
    else
        mdb_txn_abort(txn);
    return rc == 0 ? 0 : lmdb_fail(err, rc, "removing a peer");
}

/* Fill a fed_peer from the records of one site, inside `txn`. */
static int load_peer(fed_state *st, MDB_txn *txn, const MDB_val *bundle_key, const MDB_val *bundle,
                     fed_peer *out, ecl_err *err)
{
    memset(out, 0, sizeof(*out));
    if (bundle_verify(bundle->mv_data, bundle->mv_size, &out->info, err) != 0)
        return ecl_err_prefix(err, "stored peer");
    MDB_val v;
    memcpy(out->pinned_key, out->info.signing_key, sizeof(out->pinned_key));
    if (mdb_get(txn, st->peer_keys, (MDB_val *)bundle_key, &v) == 0 &&
        v.mv_size == crypto_sign_PUBLICKEYBYTES)
        memcpy(out->pinned_key, v.mv_data, v.mv_size);
    uint64_t attempt, fetched;
    ecl_rd r;
    if (mdb_get(txn, st->peer_status, (MDB_val *)bundle_key, &v) == 0) {
        ecl_rd_init(&r, v.mv_data, v.mv_size);
        if ((ecl_rd_u64le(&r, &attempt) | ecl_rd_u64le(&r, &out->catalog_version) |
             ecl_rd_u64le(&r, &fetched)) == 0) {
            out->attempt_unix = (int64_t)attempt;
            out->fetched_unix = (int64_t)fetched;
            size_t n = ecl_rd_left(&r);
            if (n > sizeof(out->last_error) - 1)
                n = sizeof(out->last_error) - 1;
            if (ecl_rd_copy(&r, out->last_error, n) != 0)
                n = 0;
            out->last_error[n] = '\0';
        } else {
            out->catalog_version = 0; /* a damaged status reads as none */
        }
    }
    if (st->has_contact && mdb_get(txn, st->peer_contact, (MDB_val *)bundle_key, &v) == 0)
        (void)fed_contact_decode(v.mv_data, v.mv_size, &out->contact); /* else: empty */
    return 0;
}

int fed_state_get_peer(fed_state *st, const char *site, fed_peer *out, ecl_err *err)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0)
        return lmdb_fail(err, rc, "begin");
    MDB_val k = key_of(site), v;
    rc = mdb_get(txn, st->peers, &k, &v);
    int result;
    if (rc == MDB_NOTFOUND)
        result = ecl_fail(err, ECL_E_NOT_FOUND, "site '%s' is not a peer", site);
    else if (rc != 0)
        result = lmdb_fail(err, rc, "reading a peer");
    else
        result = load_peer(st, txn, &k, &v, out, err);
    mdb_txn_abort(txn);
    return result;
}

void fed_state_free_peers(fed_peer *peers, size_t count)
{
    for (size_t i = 0; peers != NULL && i < count; i++)
        fed_peer_clear(&peers[i]);
    free(peers);
}

int fed_state_list_peers(fed_state *st, fed_peer **peers, size_t *count, ecl_err *err)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0)
        return lmdb_fail(err, rc, "begin");
    MDB_stat stat;
    MDB_cursor *cur = NULL;
    rc = mdb_stat(txn, st->peers, &stat);
    if (rc == 0)
        rc = mdb_cursor_open(txn, st->peers, &cur);
    if (rc != 0) {
        mdb_txn_abort(txn);
        return lmdb_fail(err, rc, "listing peers");
    }
    fed_peer *list = calloc(stat.ms_entries ? stat.ms_entries : 1, sizeof(*list));
    size_t n = 0;
    int result = list != NULL ? 0 : ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); result == 0 && rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (load_peer(st, txn, &k, &v, &list[n], err) != 0)
            result = -1;
        else
            n++;
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    if (result != 0) {
        fed_state_free_peers(list, n);
        return -1;
    }
    *peers = list;
    *count = n;
    return 0;
}

static int put_one(fed_state *st, MDB_dbi dbi, const char *key, const void *data, size_t len,
                   const char *what, ecl_err *err)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
    if (rc != 0)
        return lmdb_fail(err, rc, "begin");
    MDB_val k = key_of(key), v = {len, (void *)data}, exists;
    /* Only for a peer that is still there: a removal wins over a late fetch. */
    rc = mdb_get(txn, st->peers, &k, &exists);
    if (rc == MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        return ecl_fail(err, ECL_E_NOT_FOUND, "site '%s' is not a peer", key);
    }
    if (rc == 0)
        rc = mdb_put(txn, dbi, &k, &v, 0);
    if (rc == 0)
        rc = mdb_txn_commit(txn);
    else
        mdb_txn_abort(txn);
    return rc == 0 ? 0 : lmdb_fail(err, rc, what);
}

int fed_state_set_peer_key(fed_state *st, const char *site, const unsigned char *key, ecl_err *err)
{
    return put_one(st, st->peer_keys, site, key, crypto_sign_PUBLICKEYBYTES, "pinning a key", err);
}

/* Write a peer's status record; version/fetched of 0 keep what is there. */
static int write_status(fed_state *st, const char *site, int64_t attempt, uint64_t version,
                        int64_t fetched, const char *error, ecl_err *err)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
    if (rc != 0)
        return lmdb_fail(err, rc, "begin");
    MDB_val k = key_of(site), old, exists;
    if (mdb_get(txn, st->peers, &k, &exists) == MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        return ecl_fail(err, ECL_E_NOT_FOUND, "site '%s' is not a peer", site);
    }
    uint64_t was_version, was_fetched;
    if (version == 0 && mdb_get(txn, st->peer_status, &k, &old) == 0 &&
        ecl_u64le_at(old.mv_data, old.mv_size, 8, &was_version) == 0 &&
        ecl_u64le_at(old.mv_data, old.mv_size, 16, &was_fetched) == 0) {
        version = was_version;
        fetched = (int64_t)was_fetched;
    }
    size_t n = strlen(error);
    unsigned char *value = malloc(STATUS_FIXED + n + 1);
    if (value == NULL) {
        mdb_txn_abort(txn);
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    }
    ecl_put_u64le(value, (uint64_t)attempt);
    ecl_put_u64le(value + 8, version);
    ecl_put_u64le(value + 16, (uint64_t)fetched);
    memcpy(value + STATUS_FIXED, error, n);
    MDB_val v = {STATUS_FIXED + n, value};
    rc = mdb_put(txn, st->peer_status, &k, &v, 0);
    free(value);
    if (rc == 0)
        rc = mdb_txn_commit(txn);
    else
        mdb_txn_abort(txn);
    return rc == 0 ? 0 : lmdb_fail(err, rc, "noting a fetch");
}

int fed_state_put_peer_catalog(fed_state *st, const char *site, const catalog *c,
                               int64_t fetched_unix, ecl_err *err)
{
    unsigned char *blob = NULL;
    size_t len = 0;
    if (catalog_to_blob(c, &blob, &len, err) != 0)
        return -1;
    unsigned char *value = malloc(len + 8);
    if (value == NULL) {
        free(blob);
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    }
    ecl_put_u64le(value, (uint64_t)fetched_unix);
    memcpy(value + 8, blob, len);
    free(blob);
    int rc = put_one(st, st->peer_catalogs, site, value, len + 8, "storing a catalog", err);
    free(value);
    if (rc == 0)
        rc =
            write_status(st, site, fetched_unix, catalog_header(c)->version, fetched_unix, "", err);
    return rc;
}

int fed_state_note_fetch_error(fed_state *st, const char *site, int64_t attempt_unix,
                               const char *error, ecl_err *err)
{
    return write_status(st, site, attempt_unix, 0, 0, error, err);
}

/* Read, change and write one peer's contact record in one transaction, so
 * the sync thread and the checkpointer never undo each other's notes.
 * `change` returns 1 to write, 0 to leave the record as it was. */
static int update_contact(fed_state *st, const char *site,
                          int (*change)(fed_peer_contact *c, void *arg), void *arg, ecl_err *err)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
    if (rc != 0)
        return lmdb_fail(err, rc, "begin");
    MDB_val k = key_of(site), v, exists;
    rc = mdb_get(txn, st->peers, &k, &exists);
    if (rc == MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        return ecl_fail(err, ECL_E_NOT_FOUND, "site '%s' is not a peer", site);
    }
    fed_peer_contact c;
    memset(&c, 0, sizeof(c));
    if (rc == 0 && mdb_get(txn, st->peer_contact, &k, &v) == 0)
        (void)fed_contact_decode(v.mv_data, v.mv_size, &c); /* a bad one starts afresh */
    if (rc != 0 || !change(&c, arg)) {
        mdb_txn_abort(txn);
        return rc == 0 ? 0 : lmdb_fail(err, rc, "reading a peer");
    }
    unsigned char *bytes = NULL;
    size_t len = 0;
    if (fed_contact_encode(&c, &bytes, &len, err) != 0) {
        mdb_txn_abort(txn);
        return -1;
    }
    MDB_val nv = {len, bytes};
    rc = mdb_put(txn, st->peer_contact, &k, &nv, 0);
    free(bytes);
    if (rc == 0)
        rc = mdb_txn_commit(txn);
    else
        mdb_txn_abort(txn);
    return rc == 0 ? 0 : lmdb_fail(err, rc, "noting a contact");
}

typedef struct contact_ok_arg {
    int64_t now;
    fed_contact_kind clears;
} contact_ok_arg;

static int note_ok(fed_peer_contact *c, void *arg)
{
    const contact_ok_arg *a = arg;
    c->ok_unix = a->now;
    c->recheck_asked = 0;
    if (c->error_kind <= a->clears) {
        c->error_kind = FED_CONTACT_NONE;
        c->error_unix = 0;
        c->error_phrase[0] = c->error_detail[0] = '\0';
    }
    return 1;
}

int fed_state_contact_ok(fed_state *st, const char *site, int64_t now_unix, fed_contact_kind clears,
                         ecl_err *err)
{
    contact_ok_arg a = {now_unix, clears};
    return update_contact(st, site, note_ok, &a, err);
}

static int note_failed(fed_peer_contact *c, void *arg)
{
    const fed_peer_contact *e = arg;
    c->error_unix = e->error_unix;
    c->error_kind = e->error_kind;
    memcpy(c->error_phrase, e->error_phrase, sizeof(c->error_phrase));
    memcpy(c->error_detail, e->error_detail, sizeof(c->error_detail));
    return 1;
}

int fed_state_contact_failed(fed_state *st, const char *site, int64_t now_unix,
                             fed_contact_kind kind, const char *phrase, const char *detail,
                             ecl_err *err)
{
    fed_peer_contact e;
    memset(&e, 0, sizeof(e));
    e.error_unix = now_unix;
    e.error_kind = kind;
    snprintf(e.error_phrase, sizeof(e.error_phrase), "%s", phrase);
    snprintf(e.error_detail, sizeof(e.error_detail), "%s", detail);
    return update_contact(st, site, note_failed, &e, err);
}

static int note_generations(fed_peer_contact *c, void *arg)
{
    const uint64_t *g = arg;
    c->key_generation = g[0];
    c->newest_generation = g[1];
    return 1;
}

int fed_state_contact_generations(fed_state *st, const char *site, uint64_t held, uint64_t newest,
                                  ecl_err *err)
{
    uint64_t g[2] = {held, newest};
    return update_contact(st, site, note_generations, g, err);
}

typedef struct recheck_arg {
    fed_contact_kind kind;
    int *first;
} recheck_arg;

static int note_recheck(fed_peer_contact *c, void *arg)
{
    recheck_arg *a = arg;
    *a->first = c->error_kind == a->kind && !c->recheck_asked;
    if (*a->first)
        c->recheck_asked = 1;
    return *a->first;
}

int fed_state_contact_recheck(fed_state *st, const char *site, fed_contact_kind kind, int *first,
                              ecl_err *err)
{
    recheck_arg a = {kind, first};
    *first = 0;
    return update_contact(st, site, note_recheck, &a, err);
}

int fed_state_get_peer_catalog(fed_state *st, const char *site, catalog **out,
                               int64_t *fetched_unix, ecl_err *err)
{
    fed_peer peer;
    if (fed_state_get_peer(st, site, &peer, err) != 0)
        return -1;
    unsigned char *value = NULL;
    size_t len = 0;
    int rc = get_copy(st, st->peer_catalogs, site, &value, &len, "catalog held for site", err);
    uint64_t fetched;
    if (rc == 0 && ecl_u64le_at(value, len, 0, &fetched) != 0)
        rc = ecl_fail(err, ECL_E_INPUT, "the catalog held for '%s' is damaged", site);
    if (rc == 0) {
        catalog_expect ex = {peer.info.site, peer.pinned_key, 0, NULL, 0};
        *fetched_unix = (int64_t)fetched;
        rc = catalog_from_blob(value + 8, len - 8, &ex, out, err);
    }
    free(value);
    fed_peer_clear(&peer);
    return rc;
}

int fed_state_add_rotation(fed_state *st, uint64_t sequence, const unsigned char *rotation,
                           size_t len, ecl_err *err)
{
    unsigned char key[8];
    ecl_put_u64be(key, sequence); /* big-endian: sorted */
    MDB_txn *txn;
    int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
    if (rc != 0)
        return lmdb_fail(err, rc, "begin");
    MDB_val k = {8, key}, v = {len, (void *)rotation};
    rc = mdb_put(txn, st->rotations, &k, &v, MDB_NOOVERWRITE);
    if (rc == 0)
        rc = mdb_txn_commit(txn);
    else
        mdb_txn_abort(txn);
    return rc == 0 ? 0 : lmdb_fail(err, rc, "storing a key rotation");
}

int fed_state_list_rotations(fed_state *st, ProtobufCBinaryData **rotations, size_t *count,
                             ecl_err *err)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0)
        return lmdb_fail(err, rc, "begin");
    rc = copy_all(st, txn, st->rotations, rotations, count, err);
    mdb_txn_abort(txn);
    return rc;
}
