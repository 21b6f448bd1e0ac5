/* notes.c - where a log keeps checkpoints: its own signed ones with their
 * cosignatures, and, as a witness, the latest one of each peer (audit.h).
 *
 * This file stores and returns bytes; it never judges a signature or a
 * proof (gateway/witness.c does, with common/note.h and common/merkle.h).
 * Sub-databases (docs/audit-format.md, "Where checkpoints are kept"):
 *   checkpoints   size u64be                      -> the signed note
 *   cosignatures  size u64be || witness name      -> its signature line(s)
 *   cosigned      witness name                    -> the largest size it cosigned, u64be
 *   witnessed     peer site                       -> size u64be || the peer's note */
#include "audit/internal.h"

#include <stdlib.h>
#include <string.h>

/* Run `fn` in one write transaction, committed (and fsync'd) when it
 * returns 0. */
static int in_write_txn(audit_log *log, int (*fn)(audit_log *, MDB_txn *, const void *, ecl_err *),
                        const void *arg, ecl_err *err)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(log->env, NULL, 0, &txn);
    if (rc != 0)
        return audit_mdb_fail(err, ECL_E_UNAVAILABLE, rc, "audit log: cannot start a write");
    if (fn(log, txn, arg, err) != 0) {
        mdb_txn_abort(txn);
        return -1;
    }
    if ((rc = mdb_txn_commit(txn)) != 0)
        return audit_mdb_fail(err, ECL_E_UNAVAILABLE, rc, "audit log: cannot commit");
    return 0;
}

static int name_ok(const char *s, const char *what, ecl_err *err)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > AUDIT_FIELD_MAX)
        return ecl_fail(err, ECL_E_USAGE, "%s: %zu bytes, not 1..%u", what, n, AUDIT_FIELD_MAX);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
            return ecl_fail(err, ECL_E_USAGE, "%s: byte %zu is blank or a control character", what,
                            i);
    return 0;
}

static int note_ok(const char *note, size_t len, ecl_err *err)
{
    if (note == NULL || len == 0 || len > AUDIT_NOTE_MAX)
        return ecl_fail(err, ECL_E_USAGE, "a checkpoint note of %zu bytes (1..%u)", len,
                        AUDIT_NOTE_MAX);
    return 0;
}

/* ---- own checkpoints and their cosignatures ------------------------------ */

typedef struct put_note {
    uint64_t size;
    const char *note;
    size_t len;
} put_note;

static int put_checkpoint(audit_log *log, MDB_txn *txn, const void *arg, ecl_err *err)
{
    const put_note *p = arg;
    uint64_t count;
    uint8_t head[AUDIT_HASH_BYTES];
    if (audit_read_head(txn, log, &count, head, err) != 0)
        return -1;
    if (p->size > count)
        return ecl_fail(err, ECL_E_PRECONDITION,
                        "a checkpoint of %llu entries, but the log has %llu",
                        (unsigned long long)p->size, (unsigned long long)count);
    uint8_t kb[8];
    ecl_put_u64be(kb, p->size);
    MDB_val k = {8, kb}, v = {p->len, (void *)p->note};
    int rc = mdb_put(txn, log->checkpoints, &k, &v, 0);
    return rc ? audit_mdb_fail(err, ECL_E_UNAVAILABLE, rc, "audit log: cannot store a checkpoint")
              : 0;
}

int audit_checkpoint_put(audit_log *log, uint64_t size, const char *note, size_t len, ecl_err *err)
{
    if (note_ok(note, len, err) != 0)
        return -1;
    put_note p = {size, note, len};
    return in_write_txn(log, put_checkpoint, &p, err);
}

typedef struct put_cosig {
    uint64_t size;
    const char *witness;
    const char *line;
    size_t len;
} put_cosig;

static int put_cosignature(audit_log *log, MDB_txn *txn, const void *arg, ecl_err *err)
{
    const put_cosig *p = arg;
    size_t wn = strlen(p->witness);
    uint8_t kb[8 + AUDIT_FIELD_MAX];
    ecl_put_u64be(kb, p->size);
    memcpy(kb + 8, p->witness, wn);
    MDB_val k = {8, kb}, v;
    int rc = mdb_get(txn, log->checkpoints, &k, &v);
    if (rc == MDB_NOTFOUND)
        return ecl_fail(err, ECL_E_NOT_FOUND, "no checkpoint of %llu entries is stored",
                        (unsigned long long)p->size);
    if (rc != 0)
        return audit_mdb_fail(err, ECL_E_IO, rc, "audit log: cannot read a checkpoint");
    k.mv_size = 8 + wn;
    v.mv_size = p->len;
    v.mv_data = (void *)p->line;
    if ((rc = mdb_put(txn, log->cosignatures, &k, &v, 0)) != 0)
        return audit_mdb_fail(err, ECL_E_UNAVAILABLE, rc, "audit log: cannot store a cosignature");
    /* The largest size this witness cosigned: where its next proof starts. */
    MDB_val wk = {wn, (void *)p->witness}, wv;
    uint64_t held = 0;
    rc = mdb_get(txn, log->cosigned, &wk, &wv);
    if (rc == 0 && audit_u64_val(&wv, &held) != 0)
        return ecl_fail(err, ECL_E_INPUT, "audit log: 'cosigned' value of %s is not 8 bytes",
                        p->witness);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return audit_mdb_fail(err, ECL_E_IO, rc, "audit log: cannot read 'cosigned'");
    if (rc == MDB_NOTFOUND || p->size > held) {
        wv.mv_size = 8;
        wv.mv_data = kb;
        if ((rc = mdb_put(txn, log->cosigned, &wk, &wv, 0)) != 0)
            return audit_mdb_fail(err, ECL_E_UNAVAILABLE, rc, "audit log: cannot store 'cosigned'");
    }
    return 0;
}

int audit_cosignature_put(audit_log *log, uint64_t size, const char *witness, const char *line,
                          size_t len, ecl_err *err)
{
    if (name_ok(witness, "witness name", err) != 0 || note_ok(line, len, err) != 0)
        return -1;
    put_cosig p = {size, witness, line, len};
    return in_write_txn(log, put_cosignature, &p, err);
}

int audit_cosigned_size(audit_log *log, const char *witness, uint64_t *size, ecl_err *err)
{
    *size = 0;
    if (name_ok(witness, "witness name", err) != 0)
        return -1;
    MDB_txn *txn;
    if (audit_rtxn(log, &txn, err) != 0)
        return -1;
    MDB_val k = {strlen(witness), (void *)witness}, v;
    int rc = mdb_get(txn, log->cosigned, &k, &v), out = 0;
    if (rc == 0 && audit_u64_val(&v, size) != 0)
        out =
            ecl_fail(err, ECL_E_INPUT, "audit log: 'cosigned' value of %s is not 8 bytes", witness);
    else if (rc != 0 && rc != MDB_NOTFOUND)
        out = audit_mdb_fail(err, ECL_E_IO, rc, "audit log: cannot read 'cosigned'");
    mdb_txn_abort(txn);
    return out;
}

/* Append `v` to out->text, refusing to overflow it. */
static int note_add(audit_note *out, const MDB_val *v, ecl_err *err)
{
    if (v->mv_size > AUDIT_NOTE_MAX - out->len)
        return ecl_fail(err, ECL_E_LIMIT,
                        "the checkpoint of %llu entries with its cosignatures is over %u bytes",
                        (unsigned long long)out->size, AUDIT_NOTE_MAX);
    memcpy(out->text + out->len, v->mv_data, v->mv_size);
    out->len += v->mv_size;
    out->text[out->len] = '\0';
    return 0;
}

/* The checkpoint at cursor position (k, v), with every cosignature of its
 * size appended: one signed note. */
static int read_checkpoint(audit_log *log, MDB_txn *txn, const MDB_val *k, const MDB_val *v,
                           audit_note *out, ecl_err *err)
{
    memset(out, 0, sizeof(*out));
    if (audit_u64_val(k, &out->size) != 0)
        return ecl_fail(err, ECL_E_INPUT, "audit log: a 'checkpoints' key is not 8 bytes");
    if (note_add(out, v, err) != 0)
        return -1;
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, log->cosignatures, &c);
    if (rc != 0)
        return audit_mdb_fail(err, ECL_E_IO, rc, "audit log: cannot read 'cosignatures'");
    MDB_val ck = {8, k->mv_data}, cv;
    int out_rc = 0;
    for (rc = mdb_cursor_get(c, &ck, &cv, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(c, &ck, &cv, MDB_NEXT)) {
        if (ck.mv_size <= 8 || memcmp(ck.mv_data, k->mv_data, 8) != 0)
            break;
        if ((out_rc = note_add(out, &cv, err)) != 0)
            break;
    }
    if (out_rc == 0 && rc != 0 && rc != MDB_NOTFOUND)
        out_rc = audit_mdb_fail(err, ECL_E_IO, rc, "audit log: cannot read 'cosignatures'");
    mdb_cursor_close(c);
    return out_rc;
}

/* A read transaction and a cursor over `checkpoints`. */
static int checkpoints_cursor(audit_log *log, MDB_txn **txn, MDB_cursor **c, ecl_err *err)
{
    if (audit_rtxn(log, txn, err) != 0)
        return -1;
    int rc = mdb_cursor_open(*txn, log->checkpoints, c);
    if (rc != 0) {
        mdb_txn_abort(*txn);
        return audit_mdb_fail(err, ECL_E_IO, rc, "audit log: cannot read 'checkpoints'");
    }
    return 0;
}

int audit_checkpoint_get(audit_log *log, uint64_t size, audit_note *out, ecl_err *err)
{
    MDB_txn *txn;
    MDB_cursor *c;
    if (checkpoints_cursor(log, &txn, &c, err) != 0)
        return -1;
    uint8_t kb[8];
    ecl_put_u64be(kb, size);
    MDB_val k = {8, kb}, v;
    int rc = mdb_cursor_get(c, &k, &v, size == 0 ? MDB_LAST : MDB_SET_KEY);
    int out_rc;
    if (rc == MDB_NOTFOUND)
        out_rc = size == 0 ? ecl_fail(err, ECL_E_NOT_FOUND, "no checkpoint has been signed yet")
                           : ecl_fail(err, ECL_E_NOT_FOUND, "no checkpoint of %llu entries",
                                      (unsigned long long)size);
    else if (rc != 0)
        out_rc = audit_mdb_fail(err, ECL_E_IO, rc, "audit log: cannot read 'checkpoints'");
    else
        out_rc = read_checkpoint(log, txn, &k, &v, out, err);
    mdb_cursor_close(c);
    mdb_txn_abort(txn);
    return out_rc;
}

int audit_checkpoint_each(audit_log *log, audit_note_fn fn, void *arg, ecl_err *err)
{
    MDB_txn *txn;
    MDB_cursor *c;
    if (checkpoints_cursor(log, &txn, &c, err) != 0)
        return -1;
    int rc;
    audit_note *note = malloc(sizeof(*note));
    int out_rc = note ? 0 : ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    MDB_val k, v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); out_rc == 0 && rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (read_checkpoint(log, txn, &k, &v, note, err) != 0)
            out_rc = -1;
        else if (fn(note, arg) != 0)
            break;
    }
    if (out_rc == 0 && rc != 0 && rc != MDB_NOTFOUND)
        out_rc = audit_mdb_fail(err, ECL_E_IO, rc, "audit log: cannot read 'checkpoints'");
    free(note);
    mdb_cursor_close(c);
    mdb_txn_abort(txn);
    return out_rc;
}

/* ---- as a witness: the latest checkpoint of each peer -------------------- */

typedef struct put_witnessed {
    const char *site;
    uint64_t size;
    const char *note;
    size_t len;
} put_witnessed;

static int put_witness(audit_log *log, MDB_txn *txn, const void *arg, ecl_err *err)
{
    const put_witnessed *p = arg;
    MDB_val k = {strlen(p->site), (void *)p->site}, v = {8 + p->len, NULL};
    int rc = mdb_put(txn, log->witnessed, &k, &v, MDB_RESERVE);
    if (rc != 0)
        return audit_mdb_fail(err, ECL_E_UNAVAILABLE, rc, "audit log: cannot store 'witnessed'");
    ecl_put_u64be(v.mv_data, p->size);
    memcpy((uint8_t *)v.mv_data + 8, p->note, p->len);
    return 0;
}

int audit_witnessed_put(audit_log *log, const char *site, uint64_t size, const char *note,
                        size_t len, ecl_err *err)
{
    if (name_ok(site, "peer site", err) != 0 || note_ok(note, len, err) != 0)
        return -1;
    put_witnessed p = {site, size, note, len};
    return in_write_txn(log, put_witness, &p, err);
}

int audit_witnessed_get(audit_log *log, const char *site, audit_note *out, ecl_err *err)
{
    memset(out, 0, sizeof(*out));
    if (name_ok(site, "peer site", err) != 0)
        return -1;
    MDB_txn *txn;
    if (audit_rtxn(log, &txn, err) != 0)
        return -1;
    MDB_val k = {strlen(site), (void *)site}, v;
    int rc = mdb_get(txn, log->witnessed, &k, &v), out_rc = 0;
    if (rc == MDB_NOTFOUND)
        out_rc = ecl_fail(err, ECL_E_NOT_FOUND, "no checkpoint of %s was cosigned here", site);
    else if (rc != 0)
        out_rc = audit_mdb_fail(err, ECL_E_IO, rc, "audit log: cannot read 'witnessed'");
    else if (v.mv_size <= 8 || v.mv_size - 8 > AUDIT_NOTE_MAX ||
             ecl_u64be_at(v.mv_data, v.mv_size, 0, &out->size) != 0)
        out_rc = ecl_fail(err, ECL_E_INPUT, "audit log: 'witnessed' value of %s is %zu bytes", site,
                          v.mv_size);
    else {
        out->len = v.mv_size - 8;
        memcpy(out->text, (const uint8_t *)v.mv_data + 8, out->len);
        out->text[out->len] = '\0';
    }
    mdb_txn_abort(txn);
    return out_rc;
}
