/* The chain as written by audit/ is checked by an independent program that
 * follows only docs/audit-format.md (tests/audit/verify_chain.py), and that
 * program and audit_verify agree on where tampering starts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "audit/audit.h"
#include "tests/audit/testutil.h"

#define SCRIPT "tests/audit/verify_chain.py"
#define ALICE  "spiffe://fi/researcher/alice"

static const char *script(void)
{
    static char path[1024];
    if (access(SCRIPT, R_OK) == 0)
        return SCRIPT;
    const char *src = getenv("TEST_SRCDIR");
    snprintf(path, sizeof(path), "%s/ecluse/%s", src ? src : ".", SCRIPT);
    if (access(path, R_OK) != 0)
        fail_msg("%s not found (run from the workspace or under bazel test)", SCRIPT);
    return path;
}

/* The site key the logs' checkpoints are signed with (made in main). */
static unsigned char site_pk[32], site_sk[64];

/* Run the independent verifier; its one output line goes to `out`. */
static int run_py(const char *dir, char *out, size_t cap)
{
    char cmd[2048], hex[65];
    sodium_bin2hex(hex, sizeof(hex), site_pk, sizeof(site_pk));
    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s '%s' --site-key %s 2>&1", script(), dir, hex);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static void make_log(const char *dir, int with_checkpoints)
{
    audit_log *log = tu_open(dir);
    for (int i = 0; i < 40; i++) {
        char rid[16];
        snprintf(rid, sizeof(rid), "r%d", i);
        tu_append(log, AUDIT_KIND_ACCESS, ALICE, "fi/cohort", "DUO:0000007",
                  i % 2 ? "deny" : "permit", NULL, 0);
        tu_append(log, AUDIT_KIND_READ_START, ALICE, "fi/cohort", "DUO:0000007", NULL, rid, 0);
        tu_append(log, AUDIT_KIND_READ_END, ALICE, "fi/cohort", "DUO:0000007", NULL, rid, i);
        if (with_checkpoints && i % 15 == 0)
            tu_checkpoint(log, "fi", site_pk, site_sk);
    }
    audit_close(log);
}

static void test_independent_ok(void **state)
{
    (void)state;
    char dir[512], out[512];
    tu_tmpdir(dir, sizeof(dir));
    make_log(dir, 1);
    int rc = run_py(dir, out, sizeof(out));
    if (rc != 0)
        fail_msg("independent verifier: %s", out);
    assert_string_equal(out, "OK entries=120 checkpoints=3\n");
    ecl_err err;
    audit_verify_report rep = tu_verify(dir, &err);
    assert_int_equal(rep.ok, 1);
    assert_int_equal(rep.entries, 120);
    audit_log *log = tu_open(dir);
    uint8_t keys[1][32];
    memcpy(keys[0], site_pk, 32);
    audit_trust trust = {"ecluse/audit/fi", (const uint8_t(*)[32])keys, 1, NULL, 0};
    assert_int_equal(audit_verify_checkpoints(log, &trust, &rep, &err), 0);
    assert_int_equal(rep.checkpoints, 3);
    audit_close(log);
    tu_rmrf(dir);
}

static void agree(const char *dir, uint64_t want)
{
    char out[512], expect[64];
    assert_int_equal(run_py(dir, out, sizeof(out)), 1);
    snprintf(expect, sizeof(expect), "BAD seq=%llu:", (unsigned long long)want);
    if (strncmp(out, expect, strlen(expect)) != 0)
        fail_msg("independent verifier said '%s', expected '%s'", out, expect);
    ecl_err err;
    audit_verify_report rep = tu_verify(dir, &err);
    assert_int_equal(rep.ok, 0);
    assert_int_equal(rep.first_bad_seq, want);
}

/* Single-byte changes at spread-out offsets of several entries, a
 * deletion and a swap: both verifiers name the same first bad seq. */
static void test_independent_agrees_on_tampering(void **state)
{
    (void)state;
    char dir[512];
    tu_tmpdir(dir, sizeof(dir));
    make_log(dir, 0);
    const uint64_t seqs[] = {1, 2, 60, 119, 120};
    for (size_t s = 0; s < sizeof(seqs) / sizeof(seqs[0]); s++) {
        uint8_t orig[4096], mod[4096];
        size_t len = tu_get_entry(dir, seqs[s], orig, sizeof(orig));
        for (size_t off = 0; off < len; off += 7) {
            memcpy(mod, orig, len);
            mod[off] ^= 0x04;
            tu_put_entry(dir, seqs[s], mod, len);
            agree(dir, seqs[s]);
        }
        tu_put_entry(dir, seqs[s], orig, len);
    }
    uint8_t a[4096], b[4096];
    size_t la = tu_get_entry(dir, 30, a, sizeof(a)), lb = tu_get_entry(dir, 31, b, sizeof(b));
    tu_put_entry(dir, 30, b, lb);
    tu_put_entry(dir, 31, a, la);
    agree(dir, 30);
    tu_put_entry(dir, 30, a, la);
    tu_put_entry(dir, 31, b, lb);
    tu_del_entry(dir, 77);
    agree(dir, 77);
    tu_rmrf(dir);
}

static void tree_node(const char *dir, uint64_t pos, uint8_t h[32], int write)
{
    tu_raw r;
    uint8_t kb[8];
    for (int i = 7; i >= 0; i--)
        kb[i] = (uint8_t)(pos >> (8 * (7 - i)));
    tu_raw_begin(&r, dir, "tree");
    MDB_val k = {8, kb}, v = {32, h};
    if (write) {
        assert_int_equal(mdb_put(r.txn, r.dbi, &k, &v, 0), 0);
        tu_raw_commit(&r);
        return;
    }
    assert_int_equal(mdb_get(r.txn, r.dbi, &k, &v), 0);
    assert_int_equal(v.mv_size, 32);
    memcpy(h, v.mv_data, 32);
    mdb_txn_abort(r.txn);
    mdb_env_close(r.env);
}

/* A stored tree node changed: both name the first entry under it. Key
 * N(j * 2^L) + 2^(L+1) - 2 of docs/audit-format.md: leaf 0 is key 0; the
 * node over entries 33..64 (level 5, index 1) is N(32) + 62 = 63 + 62 = 125;
 * the leaf of entry 120 (index 119) is N(119) = 238 - 6 = 232. */
static void test_independent_agrees_on_tree(void **state)
{
    (void)state;
    char dir[512];
    tu_tmpdir(dir, sizeof(dir));
    make_log(dir, 0);
    const uint64_t pos[] = {0, 125, 232};
    const uint64_t first[] = {1, 33, 120};
    for (size_t i = 0; i < 3; i++) {
        uint8_t h[32], orig[32];
        tree_node(dir, pos[i], orig, 0);
        memcpy(h, orig, 32);
        h[i + 3] ^= 0x01;
        tree_node(dir, pos[i], h, 1);
        agree(dir, first[i]);
        tree_node(dir, pos[i], orig, 1);
    }
    char out[512];
    assert_int_equal(run_py(dir, out, sizeof(out)), 0);
    tu_rmrf(dir);
}

static void index_row(const char *dir, const char *db, const char *key, uint64_t seq, int add)
{
    tu_raw r;
    uint8_t sb[8];
    for (int i = 7; i >= 0; i--)
        sb[i] = (uint8_t)(seq >> (8 * (7 - i)));
    tu_raw_begin(&r, dir, db);
    MDB_val k = {strlen(key), (void *)key}, v = {8, sb};
    assert_int_equal(add ? mdb_put(r.txn, r.dbi, &k, &v, 0) : mdb_del(r.txn, r.dbi, &k, &v), 0);
    tu_raw_commit(&r);
}

/* An index row deleted, and one added: both verifiers name the same entry. */
static void test_independent_agrees_on_indexes(void **state)
{
    (void)state;
    char dir[512], out[512];
    tu_tmpdir(dir, sizeof(dir));
    make_log(dir, 0);
    index_row(dir, "by_decision", "permit", 43, 0); /* entry 43 = 3 * 14 + 1: a permit */
    agree(dir, 43);
    index_row(dir, "by_decision", "permit", 43, 1);
    index_row(dir, "by_dataset", "fi/cohort", 57, 0);
    agree(dir, 57);
    index_row(dir, "by_dataset", "fi/cohort", 57, 1);
    index_row(dir, "by_actor", "spiffe://fi/researcher/mallory", 23, 1);
    agree(dir, 23);
    assert_int_equal(run_py(dir, out, sizeof(out)), 1);
    assert_non_null(strstr(out, "by_actor row 'spiffe://fi/researcher/mallory' points to seq 23"));
    index_row(dir, "by_actor", "spiffe://fi/researcher/mallory", 23, 0);
    assert_int_equal(run_py(dir, out, sizeof(out)), 0);
    tu_rmrf(dir);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    crypto_sign_keypair(site_pk, site_sk);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_independent_ok),
        cmocka_unit_test(test_independent_agrees_on_tampering),
        cmocka_unit_test(test_independent_agrees_on_tree),
        cmocka_unit_test(test_independent_agrees_on_indexes),
    };
    return cmocka_run_group_tests_name("audit_independent", tests, NULL, NULL);
}
