/*
 * witness_e2e_test.c - two real gateways witness each other's audit trails.
 *
 * LU and DE are peered both ways. LU's checkpoints (C2SP signed notes) are
 * cosigned by DE, by hand and by the gateway's own schedule, across a key
 * rotation and at a clean stop. Then LU's disk is attacked as an insider
 * with root would, with LU stopped: a cosignature forged, a checkpoint
 * re-signed with a fresh key, the tail of the trail cut back consistently
 * (entries, indexes, tree, head and checkpoints all rewritten), and the log
 * regrown into a fork. `ecluse audit verify` or the witness catches each.
 */
#include <jansson.h>
#include <lmdb.h>
#include <setjmp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/bytes.h"
#include "common/merkle.h"
#include "common/note.h"
#include "tests/support/harness.h"

#define OUT_MAX (64 * 1024)

typedef struct site {
    th_site s;
    char admin[PATH_MAX], auditor[PATH_MAX], researcher[PATH_MAX];
} site;

static char root[PATH_MAX - 200];
static site lu, de;
static char out[OUT_MAX];
static int datasets; /* how many LU published: each a new name */

static void must(int rc, const char *what)
{
    if (rc != 0)
        fail_msg("%s failed (%d):\n%s", what, rc, out);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Publish one more dataset at LU: a few more audit entries. */
static void grow_lu(void)
{
    char name[32], csv[PATH_MAX + 64], policy[PATH_MAX + 64], text[1024];
    snprintf(name, sizeof(name), "iris%d", ++datasets);
    snprintf(csv, sizeof(csv), "%s/%s.csv", root, name);
    snprintf(policy, sizeof(policy), "%s/%s.policy.json", root, name);
    write_file(csv, "5.1,3.5,1.4,0\n4.9,3.0,1.4,0\n6.3,3.3,6.0,2\n5.8,2.7,5.1,2\n");
    snprintf(text, sizeof(text),
             "{\"ecluse_policy\": 1, \"dataset\": \"lu/%s\", \"category\": \"anonymous\", "
             "\"purposes\": {\"allowed\": [\"NRES\"]}, \"tensors\": [{\"name\": \"features\"}, "
             "{\"name\": \"labels\"}], \"minimisation\": {\"default\": {\"tensors\": "
             "[\"features\", \"labels\"], \"max_rows\": 4}}, \"storage\": {\"max_grant_days\": "
             "30}}\n",
             name);
    write_file(policy, text);
    must(th_run(out, sizeof(out), "dataset", "add", name, "--from", csv, "--label-column", "-1",
                "--title", "Iris", "--description", "test data", "--licence", "CC-BY-4.0",
                "--policy", policy, "--identity", lu.admin, NULL),
         "dataset add");
}

static int setup(void **state)
{
    (void)state;
    th_tmpdir(root, sizeof(root));
    site *all[] = {&lu, &de};
    const char *ids[] = {"lu", "de"}, *countries[] = {"LU", "DE"};
    for (int i = 0; i < 2; i++) {
        th_site_create(&all[i]->s, root, ids[i], countries[i]);
        th_issue(&all[i]->s, "admin", "adm", all[i]->admin, sizeof(all[i]->admin));
        th_issue(&all[i]->s, "auditor", "aud", all[i]->auditor, sizeof(all[i]->auditor));
        th_issue(&all[i]->s, "researcher", "res", all[i]->researcher, sizeof(all[i]->researcher));
        th_gateway_start(&all[i]->s);
    }
    th_peer(&lu.s, lu.admin, &de.s, de.admin);
    grow_lu();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    th_gateway_stop(&lu.s, NULL);
    th_gateway_stop(&de.s, NULL);
    return 0;
}

/* ---- reading and attacking LU's trail on disk (LU stopped) ------------------- */

typedef struct trail {
    MDB_env *env;
    MDB_txn *txn;
} trail;

static MDB_dbi dbi(trail *t, const char *name)
{
    MDB_dbi d;
    int rc = mdb_dbi_open(t->txn, name, 0, &d);
    if (rc != 0)
        fail_msg("open sub-db %s: %s", name, mdb_strerror(rc));
    return d;
}

static void trail_open(trail *t)
{
    char dir[PATH_MAX + 16];
    snprintf(dir, sizeof(dir), "%s/data/audit", lu.s.dir);
    assert_int_equal(mdb_env_create(&t->env), 0);
    assert_int_equal(mdb_env_set_maxdbs(t->env, 32), 0);
    assert_int_equal(mdb_env_set_mapsize(t->env, (size_t)1 << 30), 0);
    assert_int_equal(mdb_env_open(t->env, dir, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(t->env, NULL, 0, &t->txn), 0);
}

static void trail_commit(trail *t)
{
    assert_int_equal(mdb_txn_commit(t->txn), 0);
    mdb_env_close(t->env);
}

static uint64_t u64(const MDB_val *v)
{
    uint64_t x = 0;
    assert_int_equal(ecl_u64be_at(v->mv_data, v->mv_size, 0, &x), 0);
    return x;
}

/* The latest stored checkpoint note of LU, and its size. */
static uint64_t latest_checkpoint(trail *t, char *note, size_t cap)
{
    MDB_cursor *c;
    MDB_val k, v;
    assert_int_equal(mdb_cursor_open(t->txn, dbi(t, "checkpoints"), &c), 0);
    assert_int_equal(mdb_cursor_get(c, &k, &v, MDB_LAST), 0);
    assert_true(v.mv_size < cap);
    memcpy(note, v.mv_data, v.mv_size);
    note[v.mv_size] = '\0';
    uint64_t size = u64(&k);
    mdb_cursor_close(c);
    return size;
}

/* Delete every row of `name` whose u64be key (or, with by_value, value) is
 * at least `from`. */
static void delete_from(trail *t, const char *name, uint64_t from, int by_value)
{
    MDB_cursor *c;
    MDB_val k, v;
    assert_int_equal(mdb_cursor_open(t->txn, dbi(t, name), &c), 0);
    int rc;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        const MDB_val *x = by_value ? &v : &k;
        if (x->mv_size >= 8 && u64(x) >= from)
            assert_int_equal(mdb_cursor_del(c, 0), 0);
    }
    assert_int_equal(rc, MDB_NOTFOUND);
    mdb_cursor_close(c);
}

/* Cut LU's trail back to `keep` entries, everywhere, as an insider who
 * knows the format would: nothing local is left to contradict it. */
static void cut_trail(uint64_t keep)
{
    trail t;
    trail_open(&t);
    delete_from(&t, "entries", keep + 1, 0);
    static const char *const indexes[] = {"by_kind",    "by_actor",    "by_dataset",
                                          "by_purpose", "by_decision", "by_time"};
    for (size_t i = 0; i < sizeof(indexes) / sizeof(indexes[0]); i++)
        delete_from(&t, indexes[i], keep + 1, 1);
    /* The tree's nodes are keyed by post-order position: those of the first
     * `keep` leaves are 0 .. 2*keep - popcount(keep) - 1. */
    delete_from(&t, "tree", 2 * keep - (uint64_t)__builtin_popcountll(keep), 0);
    delete_from(&t, "checkpoints", keep + 1, 0);
    delete_from(&t, "cosignatures", keep + 1, 0);
    assert_int_equal(mdb_drop(t.txn, dbi(&t, "cosigned"), 0), 0);
    uint8_t kb[8], head[40];
    ecl_put_u64be(kb, keep);
    MDB_val k = {8, kb}, v;
    assert_int_equal(mdb_get(t.txn, dbi(&t, "entries"), &k, &v), 0);
    ecl_put_u64be(head, keep);
    memcpy(head + 8, (uint8_t *)v.mv_data + v.mv_size - 32, 32);
    MDB_val hk = {4, "head"}, hv = {40, head};
    assert_int_equal(mdb_put(t.txn, dbi(&t, "meta"), &hk, &hv, 0), 0);
    trail_commit(&t);
}

/* ---- the independent verifier (tests/interop/tlog_verify.py) -------------------- */

#define TLOG_VERIFY "tests/interop/tlog_verify.py"
#define C2SP_VERIFY "tests/interop/c2sp_verify.py"

static const char *script(const char *rel, char *path, size_t cap)
{
    if (access(rel, R_OK) == 0)
        return rel;
    const char *src = getenv("TEST_SRCDIR");
    snprintf(path, cap, "%s/ecluse/%s", src ? src : ".", rel);
    if (access(path, R_OK) != 0)
        fail_msg("%s not found", rel);
    return path;
}

static const char *tlog_verify(void)
{
    static char path[1024];
    return script(TLOG_VERIFY, path, sizeof(path));
}

/* The C2SP verifier key of site `s` as its log's signer (type 0x01) or as
 * a witness (0x04), from its public key file. */
static void vkey(const site *s, uint8_t type, char *out, size_t cap)
{
    char path[PATH_MAX + 32], name[300];
    snprintf(path, sizeof(path), "%s/keys/site.key.pub", s->s.dir);
    char *text = th_read(path);
    assert_non_null(text);
    char *b64 = strchr(text, '\n');
    assert_non_null(b64);
    uint8_t pk[32];
    size_t got = 0;
    assert_int_equal(sodium_base642bin(pk, sizeof(pk), b64 + 1, strlen(b64 + 1), "\n", &got, NULL,
                                       sodium_base64_VARIANT_ORIGINAL),
                     0);
    assert_int_equal(got, 32);
    free(text);
    if (type == ECL_NOTE_TYPE_ED25519)
        assert_int_equal(ecl_audit_origin(s->s.id, name, sizeof(name), NULL), 0);
    else
        assert_int_equal(ecl_witness_name(s->s.id, name, sizeof(name), NULL), 0);
    assert_int_equal(ecl_note_vkey_format(name, type, pk, out, cap, NULL), 0);
}

/* Check the note in root/name (a whole checkpoint note) with the
 * independent C2SP verifier: signed by LU, cosigned by DE. */
static int run_c2sp_verify(const char *name)
{
    char path[1024], cmd[8192], lu_key[ECL_NOTE_VKEY_MAX], de_key[ECL_NOTE_VKEY_MAX];
    vkey(&lu, ECL_NOTE_TYPE_ED25519, lu_key, sizeof(lu_key));
    vkey(&de, ECL_NOTE_TYPE_COSIG, de_key, sizeof(de_key));
    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s note '%s/%s' '%s' '%s' 2>&1",
             script(C2SP_VERIFY, path, sizeof(path)), root, name, lu_key, de_key);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

/* Run `ecluse audit proof OPTION VALUE [--size SIZE]` as LU's auditor into
 * root/name.json. */
static void proof_to_file(const char *name, const char *option, const char *value, const char *size)
{
    if (size == NULL)
        must(th_run(out, sizeof(out), "audit", "proof", option, value, "--identity", lu.auditor,
                    NULL),
             "audit proof");
    else
        must(th_run(out, sizeof(out), "audit", "proof", option, value, "--size", size, "--identity",
                    lu.auditor, NULL),
             "audit proof");
    char path[PATH_MAX + 64];
    snprintf(path, sizeof(path), "%s/%s.json", root, name);
    write_file(path, out);
}

/* The verifier's exit status on root/name.json; its output goes to `out`. */
static int run_verifier(const char *name, const char *extra)
{
    char cmd[4 * PATH_MAX];
    snprintf(cmd, sizeof(cmd),
             "/usr/bin/python3 %s '%s/%s.json' --site-key '%s/keys/site.key.pub' %s 2>&1",
             tlog_verify(), root, name, lu.s.dir, extra ? extra : "");
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

/* A string field of root/name.json. */
static void json_field(const char *name, const char *field, char *buf, size_t cap)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof(path), "%s/%s.json", root, name);
    json_error_t e;
    json_t *doc = json_load_file(path, 0, &e);
    assert_non_null(doc);
    const char *v = json_string_value(json_object_get(doc, field));
    assert_non_null(v);
    snprintf(buf, cap, "%s", v);
    json_decref(doc);
}

/* ---- the tests ------------------------------------------------------------------ */

static void test_a_checkpoint_is_cosigned_by_the_peer(void **state)
{
    (void)state;
    must(th_run(out, sizeof(out), "audit", "checkpoint", "--identity", lu.admin, NULL),
         "audit checkpoint");
    assert_non_null(strstr(out, "1 of 1 peer(s) cosigned it"));
    assert_non_null(strstr(out, "de         cosigned"));
    /* The note itself: LU's origin, LU's signature, DE's cosignature. */
    assert_non_null(strstr(out, "ecluse/audit/lu\n"));
    assert_non_null(strstr(out, "\n\xe2\x80\x94 ecluse/audit/lu "));
    assert_non_null(strstr(out, "\n\xe2\x80\x94 ecluse/witness/de "));
    /* An implementation of the C2SP specs that is not ecluse's agrees. */
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/cosigned.note", root);
    write_file(path, strstr(out, "ecluse/audit/lu\n"));
    if (run_c2sp_verify("cosigned.note") != 0)
        fail_msg("independent C2SP verifier: %s", out);
    assert_non_null(strstr(out, "OK ecluse/audit/lu size="));
    assert_non_null(strstr(out, "1 cosignature(s) verified"));
    char *note = th_read(path);
    assert_non_null(note);
    char *sig = strstr(note, "ecluse/witness/de ");
    assert_non_null(sig);
    sig += strlen("ecluse/witness/de ") + 30;
    *sig = *sig == 'A' ? 'B' : 'A';
    write_file(path, note);
    free(note);
    assert_int_equal(run_c2sp_verify("cosigned.note"), 1);
    assert_non_null(strstr(out, "BAD: bad cosignature by ecluse/witness/de"));
    must(th_run(out, sizeof(out), "audit", "verify", "--identity", lu.auditor, NULL), "verify");
    assert_non_null(strstr(out, "chain intact"));
    assert_non_null(strstr(out, "witness de"));
    assert_non_null(strstr(out, "1 consistent with the trail"));
}

static void test_proofs_verify_with_an_independent_implementation(void **state)
{
    (void)state;
    /* Against the latest checkpoint (the one just cosigned). */
    proof_to_file("inclusion", "--seq", "3", NULL);
    if (run_verifier("inclusion", NULL) != 0)
        fail_msg("inclusion proof refused: %s", out);
    assert_non_null(strstr(out, "OK inclusion"));
    char old_root[64];
    proof_to_file("small", "--seq", "1", "2");
    json_field("small", "root", old_root, sizeof(old_root));
    proof_to_file("consistency", "--from-size", "2", NULL);
    char extra[128];
    snprintf(extra, sizeof(extra), "--old-root %s", old_root);
    if (run_verifier("consistency", extra) != 0)
        fail_msg("consistency proof refused: %s", out);
    assert_non_null(strstr(out, "OK consistency"));
    /* One changed byte of the entry: refused. */
    char leaf[70000];
    json_field("inclusion", "leaf", leaf, sizeof(leaf));
    char path[PATH_MAX + 64];
    snprintf(path, sizeof(path), "%s/inclusion.json", root);
    char *text = th_read(path);
    assert_non_null(text);
    char *at = strstr(text, leaf);
    assert_non_null(at);
    at[10] = at[10] == 'A' ? 'B' : 'A';
    write_file(path, text);
    free(text);
    assert_int_equal(run_verifier("inclusion", NULL), 1);
    assert_non_null(strstr(out, "BAD: the inclusion proof leads to another root"));
}

static void test_the_gateway_checkpoints_pending_entries_by_itself(void **state)
{
    (void)state;
    grow_lu();
    /* checkpoint_ms defaults to 1000: within a few seconds (scaled for slow
     * runs) the schedule signs the new size and DE cosigns it. */
    int waited_ms = 0, limit_ms = (int)(15000 * th_time_scale());
    while (!th_file_contains(lu.s.log, "event=checkpoint.signed") ||
           !th_file_contains(lu.s.log, "cosigned=1/1")) {
        assert_true(waited_ms < limit_ms);
        usleep(100 * 1000);
        waited_ms += 100;
    }
}

static void test_witnessing_goes_on_after_a_key_rotation(void **state)
{
    (void)state;
    must(th_run(out, sizeof(out), "key", "rotate", "--identity", lu.admin, NULL), "key rotate");
    grow_lu();
    must(th_run(out, sizeof(out), "audit", "checkpoint", "--identity", lu.admin, NULL),
         "checkpoint after rotation");
    assert_non_null(strstr(out, "1 of 1 peer(s) cosigned it"));
    /* Checkpoints signed by the retired key still verify: it is in LU's
     * key history. */
    must(th_run(out, sizeof(out), "audit", "verify", "--identity", lu.auditor, NULL),
         "verify after rotation");
    assert_non_null(strstr(out, "chain intact"));
}

/* `who` asks for lu/iris1, fetches it into root/name.safetensors, and the
 * fetch keeps the read's receipt beside it. */
static void fetch_with_receipt(const site *who, const char *name, char *receipt, size_t cap)
{
    char grant[PATH_MAX + 64], data[PATH_MAX + 64];
    snprintf(grant, sizeof(grant), "%s/%s.grant", root, name);
    snprintf(data, sizeof(data), "%s/%s.safetensors", root, name);
    if (snprintf(receipt, cap, "%s.receipt.json", data) >= (int)cap)
        fail_msg("receipt path too long");
    if (th_run(out, sizeof(out), "access", "request", "lu/iris1", "--purpose", "GRU", "--basis",
               "art6-1-e", "--job-country", who->s.country, "--save-grant", grant, "--identity",
               who->researcher, NULL) != 0) {
        th_run(out, sizeof(out), "access", "check", "lu/iris1", "--purpose", "GRU", "--basis",
               "art6-1-e", "--job-country", who->s.country, "--identity", who->researcher, NULL);
        fail_msg("access refused:\n%s", out);
    }
    /* The longest wait the holding site allows: its peers cosign slowly under
     * valgrind on a busy machine, and a quick cosignature ends the wait. */
    must(th_run(out, sizeof(out), "fetch", "--grant", grant, "-o", data, "--no-progress",
                "--receipt-wait", "30000", "--identity", who->researcher, NULL),
         "fetch");
    assert_non_null(strstr(out, "receipt: "));
    assert_int_equal(access(receipt, R_OK), 0);
}

static int verify_receipt(const char *receipt, const char *site_key)
{
    char wkey[PATH_MAX + 32];
    snprintf(wkey, sizeof(wkey), "de=%s/keys/site.key.pub", de.s.dir);
    return th_run(out, sizeof(out), "audit", "receipt", "verify", receipt, "--site-key", site_key,
                  "--witness-key", wkey, NULL);
}

static void test_reads_come_with_receipts_that_verify_offline(void **state)
{
    (void)state;
    char lu_key[PATH_MAX + 32], de_key[PATH_MAX + 32], receipt[PATH_MAX + 64];
    snprintf(lu_key, sizeof(lu_key), "%s/keys/site.key.pub", lu.s.dir);
    snprintf(de_key, sizeof(de_key), "%s/keys/site.key.pub", de.s.dir);

    /* DE's researcher reads LU's data through DE: LU's receipt, checked and
     * kept by DE. */
    fetch_with_receipt(&de, "de-read", receipt, sizeof(receipt));
    if (verify_receipt(receipt, lu_key) != 0)
        fail_msg("receipt refused: %s", out);
    assert_non_null(strstr(out, "receipt verified: read "));
    assert_non_null(strstr(out, "of lu/iris1 by spiffe://de/researcher/res"));
    assert_non_null(strstr(out, "1 of them checked"));
    must(th_run(out, sizeof(out), "audit", "query", "--kind", "receipt", "--json", "--identity",
                de.auditor, NULL),
         "query receipts at de");
    assert_non_null(strstr(out, "\"dataset\":\"lu/iris1\""));
    assert_non_null(strstr(out, "ecluse-read-receipt-v1"));

    /* Under another site's key it is refused. */
    assert_int_equal(verify_receipt(receipt, de_key), 10);
    assert_non_null(strstr(out, "not signed by a trusted key of site lu"));

    /* One byte of the entry changed: refused. */
    char *text = th_read(receipt);
    assert_non_null(text);
    char *entry = strstr(text, "\"entry\": \"");
    assert_non_null(entry);
    entry += strlen("\"entry\": \"") + 20;
    *entry = *entry == 'A' ? 'B' : 'A';
    char bad[PATH_MAX + 64];
    snprintf(bad, sizeof(bad), "%s/altered.receipt.json", root);
    write_file(bad, text);
    free(text);
    assert_int_equal(verify_receipt(bad, lu_key), 10);
    assert_non_null(strstr(out, "receipt: "));

    /* LU's own researcher reads at LU: LU's receipt, cosigned by DE. */
    fetch_with_receipt(&lu, "lu-read", receipt, sizeof(receipt));
    if (verify_receipt(receipt, lu_key) != 0)
        fail_msg("local receipt refused: %s", out);
    assert_non_null(strstr(out, "by spiffe://lu/researcher/res"));
}

/* With its only witness down, LU cannot have a read cosigned: the fetch keeps
 * the verified data and warns, and LU answers the next call (a receipt that
 * failed half-built once freed what it did not own). */
static void test_a_receipt_not_to_be_had_yet_is_a_warning(void **state)
{
    (void)state;
    assert_int_equal(th_gateway_stop(&de.s, NULL), 0);
    char grant[PATH_MAX + 64], data[PATH_MAX + 64];
    snprintf(grant, sizeof(grant), "%s/unwitnessed.grant", root);
    snprintf(data, sizeof(data), "%s/unwitnessed.safetensors", root);
    must(th_run(out, sizeof(out), "access", "request", "lu/iris1", "--purpose", "GRU", "--basis",
                "art6-1-e", "--job-country", "LU", "--save-grant", grant, "--identity",
                lu.researcher, NULL),
         "access request");
    must(th_run(out, sizeof(out), "fetch", "--grant", grant, "-o", data, "--no-progress",
                "--receipt-wait", "300", "--identity", lu.researcher, NULL),
         "fetch without a witness");
    assert_non_null(strstr(out, "warning: no receipt of read"));
    assert_non_null(strstr(out, "has been cosigned by a peer yet"));
    assert_int_equal(access(data, R_OK), 0);
    must(th_run(out, sizeof(out), "audit", "verify", "--identity", lu.auditor, NULL),
         "LU answers after the refused receipt");
    th_gateway_start(&de.s);
}

static void test_a_forged_cosignature_is_caught(void **state)
{
    (void)state;
    assert_int_equal(th_gateway_stop(&lu.s, NULL), 0);
    trail t;
    trail_open(&t);
    MDB_cursor *c;
    MDB_val k, v;
    assert_int_equal(mdb_cursor_open(t.txn, dbi(&t, "cosignatures"), &c), 0);
    assert_int_equal(mdb_cursor_get(c, &k, &v, MDB_LAST), 0);
    char line[512], saved[512];
    size_t len = v.mv_size;
    assert_true(len < sizeof(line));
    memcpy(line, v.mv_data, len);
    memcpy(saved, v.mv_data, len);
    uint8_t key[300];
    size_t key_len = k.mv_size;
    assert_true(key_len <= sizeof(key));
    memcpy(key, k.mv_data, key_len);
    /* Change one base64 character of the signature (not the key ID). */
    size_t at = len - 10;
    line[at] = line[at] == 'A' ? 'B' : 'A';
    MDB_val nv = {len, line};
    assert_int_equal(mdb_cursor_put(c, &k, &nv, MDB_CURRENT), 0);
    mdb_cursor_close(c);
    trail_commit(&t);
    th_gateway_start(&lu.s);
    assert_int_equal(th_run(out, sizeof(out), "audit", "verify", "--no-witnesses", "--identity",
                            lu.auditor, NULL),
                     10);
    assert_non_null(strstr(out, "the cosignature of ecluse/witness/de does not verify"));
    /* Put it back as it was. */
    assert_int_equal(th_gateway_stop(&lu.s, NULL), 0);
    trail_open(&t);
    MDB_val bk = {key_len, key}, bv = {len, saved};
    assert_int_equal(mdb_put(t.txn, dbi(&t, "cosignatures"), &bk, &bv, 0), 0);
    trail_commit(&t);
}

static void test_a_checkpoint_re_signed_with_a_fresh_key_is_caught(void **state)
{
    (void)state;
    /* LU is stopped (previous test). The insider re-signs the latest
     * checkpoint with a key of their own under LU's key name. */
    trail t;
    trail_open(&t);
    char note[8192], text[8192], forged[8192];
    uint64_t size = latest_checkpoint(&t, note, sizeof(note));
    size_t text_len = 0, len;
    assert_int_equal(ecl_note_split(note, strlen(note), &text_len, NULL), 0);
    memcpy(text, note, text_len);
    uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES], sig[64];
    crypto_sign_keypair(pk, sk);
    crypto_sign_detached(sig, NULL, (const uint8_t *)text, text_len, sk);
    memcpy(forged, text, text_len);
    len = text_len;
    assert_int_equal(ecl_note_append_signature(forged, sizeof(forged), &len, text_len,
                                               "ecluse/audit/lu", pk, sig, NULL),
                     0);
    uint8_t kb[8];
    ecl_put_u64be(kb, size);
    MDB_val k = {8, kb}, old, v = {len, forged};
    assert_int_equal(mdb_get(t.txn, dbi(&t, "checkpoints"), &k, &old), 0);
    char saved[8192];
    size_t saved_len = old.mv_size;
    memcpy(saved, old.mv_data, saved_len);
    assert_int_equal(mdb_put(t.txn, dbi(&t, "checkpoints"), &k, &v, 0), 0);
    trail_commit(&t);
    /* Offline, on the data directory, anchored at LU's original key (kept
     * as keys/site.key.0.pub by the rotation): caught too. */
    char data_dir[PATH_MAX + 16], original[PATH_MAX + 32];
    snprintf(data_dir, sizeof(data_dir), "%s/data", lu.s.dir);
    snprintf(original, sizeof(original), "%s/keys/site.key.0.pub", lu.s.dir);
    assert_int_equal(th_run(out, sizeof(out), "audit", "verify", "--data-dir", data_dir,
                            "--site-key", original, NULL),
                     10);
    assert_non_null(strstr(out, "not signed by any key of this site's key history"));
    th_gateway_start(&lu.s);
    /* The gateway keeps the forged checkpoint, as evidence, rather than
     * signing over it. */
    assert_int_equal(
        th_run(out, sizeof(out), "audit", "checkpoint", "--no-push", "--identity", lu.admin, NULL),
        9); /* FAILED_PRECONDITION: a document's signature (docs/protocol.md) */
    assert_non_null(strstr(out, "not signed by any key of this site: the trail was tampered with"));
    assert_int_equal(th_run(out, sizeof(out), "audit", "verify", "--no-witnesses", "--identity",
                            lu.auditor, NULL),
                     10);
    assert_non_null(strstr(out, "not signed by any key of this site's key history"));
    /* Put it back. */
    assert_int_equal(th_gateway_stop(&lu.s, NULL), 0);
    trail_open(&t);
    MDB_val back = {saved_len, saved};
    assert_int_equal(mdb_put(t.txn, dbi(&t, "checkpoints"), &k, &back, 0), 0);
    trail_commit(&t);
    if (th_run(out, sizeof(out), "audit", "verify", "--data-dir", data_dir, "--site-key", original,
               NULL) != 0)
        fail_msg("offline verify: %s", out);
    assert_non_null(strstr(out, "audit trail verified offline"));
    if (strstr(out, "checkpoints of site lu (2 key(s) in its history, 1 witness key(s))") == NULL)
        fail_msg("offline verify said: %s", out);
    th_gateway_start(&lu.s);
    must(th_run(out, sizeof(out), "audit", "verify", "--identity", lu.auditor, NULL),
         "verify after putting it back");
}

static void test_a_cut_tail_is_caught_by_the_witness(void **state)
{
    (void)state;
    grow_lu();
    /* The last entries are checkpointed and cosigned by DE by the schedule,
     * or at the clean stop if DE answers within the stop's short deadline
     * (under valgrind it may not). What matters is the largest size DE
     * cosigned: the trail is cut below it. */
    assert_int_equal(th_gateway_stop(&lu.s, NULL), 0);
    trail t;
    trail_open(&t);
    MDB_val wk = {17, "ecluse/witness/de"}, wv;
    assert_int_equal(mdb_get(t.txn, dbi(&t, "cosigned"), &wk, &wv), 0);
    uint64_t size = u64(&wv);
    uint8_t kb[8 + 32];
    ecl_put_u64be(kb, size);
    memcpy(kb + 8, "ecluse/witness/de", 17);
    MDB_val ck = {8 + 17, kb}, cv;
    assert_int_equal(mdb_get(t.txn, dbi(&t, "cosignatures"), &ck, &cv), 0);
    mdb_txn_abort(t.txn);
    mdb_env_close(t.env);
    assert_true(size > 4);
    cut_trail(size - 3);
    th_gateway_start(&lu.s);
    /* Locally nothing is left to see... */
    must(th_run(out, sizeof(out), "audit", "verify", "--no-witnesses", "--identity", lu.auditor,
                NULL),
         "local verify of a consistently cut trail");
    /* ...but DE cosigned more than there is. */
    assert_int_equal(th_run(out, sizeof(out), "audit", "verify", "--identity", lu.auditor, NULL),
                     10);
    /* What DE holds contradicts the trail: entries removed, or (once LU's
     * gateway has recorded more since its restart, e.g. DE's refusal of its
     * next checkpoint) a tree of that size with another root. */
    char want[160];
    snprintf(want, sizeof(want), "it cosigned a checkpoint of %llu entries",
             (unsigned long long)size);
    if (strstr(out, want) == NULL || strstr(out, "0 consistent with the trail") == NULL ||
        (strstr(out, "were removed") == NULL && strstr(out, "were rewritten") == NULL))
        fail_msg("expected DE's checkpoint of %llu entries to contradict the trail, got:\n%s",
                 (unsigned long long)size, out);
}

static void test_a_regrown_fork_is_refused_by_the_witness(void **state)
{
    (void)state;
    /* The cut trail grows again, past where it was: a fork. */
    for (int i = 0; i < 3; i++)
        grow_lu();
    assert_int_equal(th_run(out, sizeof(out), "audit", "checkpoint", "--identity", lu.admin, NULL),
                     9);
    assert_non_null(strstr(out, "0 of 1 peer(s) cosigned it"));
    assert_non_null(strstr(out, "de         NOT COSIGNED"));
    assert_true(strstr(out, "fork") != NULL || strstr(out, "rollback") != NULL);
    /* Both trails recorded the refusal. */
    must(th_run(out, sizeof(out), "audit", "query", "--kind", "witness", "--json", "--identity",
                lu.auditor, NULL),
         "query lu");
    assert_non_null(strstr(out, "checkpoint.refused-by-witness"));
    must(th_run(out, sizeof(out), "audit", "query", "--kind", "witness", "--json", "--identity",
                de.auditor, NULL),
         "query de");
    assert_non_null(strstr(out, "checkpoint.refused-as-witness"));
    assert_non_null(strstr(out, "spiffe://lu/gateway"));
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_checkpoint_is_cosigned_by_the_peer),
        cmocka_unit_test(test_proofs_verify_with_an_independent_implementation),
        cmocka_unit_test(test_the_gateway_checkpoints_pending_entries_by_itself),
        cmocka_unit_test(test_witnessing_goes_on_after_a_key_rotation),
        cmocka_unit_test(test_reads_come_with_receipts_that_verify_offline),
        cmocka_unit_test(test_a_receipt_not_to_be_had_yet_is_a_warning),
        cmocka_unit_test(test_a_forged_cosignature_is_caught),
        cmocka_unit_test(test_a_checkpoint_re_signed_with_a_fresh_key_is_caught),
        cmocka_unit_test(test_a_cut_tail_is_caught_by_the_witness),
        cmocka_unit_test(test_a_regrown_fork_is_refused_by_the_witness),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
