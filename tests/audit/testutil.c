#include "tests/audit/testutil.h"

#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sodium.h>
#include <string.h>

#include <cmocka.h>

#include "common/merkle.h"
#include "common/note.h"

void tu_tmpdir(char *out, size_t cap)
{
    const char *base = getenv("TEST_TMPDIR");
    snprintf(out, cap, "%s/audit-XXXXXX", base && base[0] ? base : "/tmp");
    if (mkdtemp(out) == NULL) {
        perror("mkdtemp");
        abort();
    }
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

void tu_rmrf(const char *path)
{
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

audit_log *tu_open(const char *dir)
{
    audit_log *log = NULL;
    ecl_err err;
    ecl_err_clear(&err);
    int rc = audit_open(dir, NULL, &log, &err);
    if (rc != 0)
        fail_msg("audit_open %s: %s", dir, err.msg);
    return log;
}

uint64_t tu_append(audit_log *log, const char *kind, const char *actor, const char *dataset,
                   const char *purpose, const char *decision, const char *read_id, long long bytes)
{
    audit_entry e = {.kind = kind,
                     .actor = actor,
                     .dataset = dataset,
                     .purpose = purpose,
                     .decision = decision,
                     .lawful_basis = "art6-1-e",
                     .transfer_basis = "eea",
                     .job_country = "FI",
                     .read_id = read_id};
    json_t *d;
    if (strcmp(kind, AUDIT_KIND_ACCESS) == 0) {
        d = json_pack("{s:[s]}", "reasons", "rule r1 (Art. 6(1)(e))");
        if (decision && strcmp(decision, "permit") == 0)
            e.grant_id = "g-1";
    } else if (strcmp(kind, AUDIT_KIND_READ_START) == 0) {
        d = json_pack("{s:[s],s:[[i,i]]}", "tensors", "x", "rows", 0, 100);
        e.grant_id = "g-1";
    } else if (strcmp(kind, AUDIT_KIND_READ_END) == 0) {
        d = json_pack("{s:I,s:i,s:s,s:s}", "bytes_sent", (json_int_t)bytes, "chunks", 1, "digest",
                      "blake2b:00", "outcome", "complete");
    } else {
        d = json_pack("{s:s}", "what", "change");
    }
    e.detail = d;
    uint64_t seq = 0;
    ecl_err err;
    ecl_err_clear(&err);
    int rc = audit_append(log, &e, &seq, &err);
    json_decref(d);
    if (rc != 0)
        fail_msg("audit_append: %s", err.msg);
    return seq;
}

void tu_raw_begin(tu_raw *r, const char *dir, const char *db)
{
    assert_int_equal(mdb_env_create(&r->env), 0);
    mdb_env_set_maxdbs(r->env, 16);
    mdb_env_set_mapsize(r->env, (size_t)1 << 30);
    assert_int_equal(mdb_env_open(r->env, dir, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(r->env, NULL, 0, &r->txn), 0);
    assert_int_equal(mdb_dbi_open(r->txn, db, 0, &r->dbi), 0);
}

void tu_raw_commit(tu_raw *r)
{
    assert_int_equal(mdb_txn_commit(r->txn), 0);
    mdb_env_close(r->env);
}

static void key_of(uint64_t seq, uint8_t kb[8])
{
    for (int i = 7; i >= 0; i--, seq >>= 8)
        kb[i] = (uint8_t)seq;
}

size_t tu_get_entry(const char *dir, uint64_t seq, uint8_t *buf, size_t cap)
{
    tu_raw r;
    uint8_t kb[8];
    key_of(seq, kb);
    tu_raw_begin(&r, dir, "entries");
    MDB_val k = {8, kb}, v;
    assert_int_equal(mdb_get(r.txn, r.dbi, &k, &v), 0);
    assert_true(v.mv_size <= cap);
    memcpy(buf, v.mv_data, v.mv_size);
    mdb_txn_abort(r.txn);
    mdb_env_close(r.env);
    return v.mv_size;
}

void tu_put_entry(const char *dir, uint64_t seq, const uint8_t *buf, size_t len)
{
    tu_raw r;
    uint8_t kb[8];
    key_of(seq, kb);
    tu_raw_begin(&r, dir, "entries");
    MDB_val k = {8, kb}, v = {len, (void *)buf};
    assert_int_equal(mdb_put(r.txn, r.dbi, &k, &v, 0), 0);
    tu_raw_commit(&r);
}

void tu_del_entry(const char *dir, uint64_t seq)
{
    tu_raw r;
    uint8_t kb[8];
    key_of(seq, kb);
    tu_raw_begin(&r, dir, "entries");
    MDB_val k = {8, kb};
    assert_int_equal(mdb_del(r.txn, r.dbi, &k, NULL), 0);
    tu_raw_commit(&r);
}

audit_verify_report tu_verify(const char *dir, ecl_err *err)
{
    audit_log *log = tu_open(dir);
    audit_verify_report rep;
    ecl_err_clear(err);
    if (audit_verify(log, &rep, err) != 0 && err->code != ECL_E_CRYPTO)
        fail_msg("audit_verify failed to run: %s", err->msg);
    audit_close(log);
    return rep;
}

void tu_checkpoint(audit_log *log, const char *site, const uint8_t pk[32], const uint8_t sk[64])
{
    uint64_t size;
    uint8_t root[MERKLE_HASH_BYTES], sig[64];
    char origin[ECL_NOTE_NAME_MAX + 1], note[AUDIT_NOTE_MAX];
    size_t text_len, len;
    ecl_err err;
    assert_int_equal(audit_tree_head(log, &size, root, &err), 0);
    assert_int_equal(ecl_audit_origin(site, origin, sizeof(origin), &err), 0);
    assert_int_equal(ecl_checkpoint_format(origin, size, root, note, sizeof(note), &text_len, &err),
                     0);
    crypto_sign_detached(sig, NULL, (const uint8_t *)note, text_len, sk);
    len = text_len;
    assert_int_equal(
        ecl_note_append_signature(note, sizeof(note), &len, text_len, origin, pk, sig, &err), 0);
    assert_int_equal(audit_checkpoint_put(log, size, note, len, &err), 0);
}
