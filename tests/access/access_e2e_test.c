/*
 * access_e2e_test.c - GDPR access decisions between real gateways, and the
 * audit trail that records them.
 *
 * LU holds the real Wisconsin breast cancer data (examples/data) under the
 * example health-research policy (examples/policies). DE's researchers ask
 * for access through DE's gateway, which attests who they are; LU decides.
 * Then the auditors of both sites check what was recorded, a forged or
 * mismatched attestation is refused, a full audit trail refuses to decide
 * (fail closed), and a changed byte in the trail is found.
 */
#include <grpc/status.h>
#include <lmdb.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "audit/audit.h"
#include "client/read.h"
#include "gateway/grant.h"
#include "proto/ecluse.pb-c.h"
#include "rpc/client.h"
#include "rpc/server.h"
#include "site/sitekey.h"
#include "tests/support/fill.h"
#include "tests/support/harness.h"

#define OUT_MAX (64 * 1024)

typedef struct site {
    th_site s;
    char admin[PATH_MAX], auditor[PATH_MAX], bundle[PATH_MAX + 16];
} site;

static char root[PATH_MAX - 200];
static site lu, de;
static char carla[PATH_MAX], corp[PATH_MAX], lu_res[PATH_MAX];
static char out[OUT_MAX];

static void must(int rc, const char *what)
{
    if (rc != 0)
        fail_msg("%s failed (%d):\n%s", what, rc, out);
}

static void export_bundle(site *x)
{
    th_export_bundle(&x->s, x->admin, x->bundle, sizeof(x->bundle));
}

static void make_site(site *x, const char *id, const char *country)
{
    th_site_create(&x->s, root, id, country);
    th_issue(&x->s, "admin", "adm", x->admin, sizeof(x->admin));
    th_issue(&x->s, "auditor", "aud", x->auditor, sizeof(x->auditor));
}

static void issue_researcher(site *x, const char *name, const char *aff, const char *org, char *dir,
                             size_t cap)
{
    must(th_run(out, sizeof(out), "pki", "issue", "--dir", x->s.dir, "--role", "researcher",
                "--name", name, "--affiliation", aff, "--org-type", org, NULL),
         "pki issue");
    assert_true(snprintf(dir, cap, "%s/identities/researcher-%s", x->s.dir, name) < (int)cap);
}

static int setup(void **state)
{
    (void)state;
    th_tmpdir(root, sizeof(root));
    make_site(&lu, "lu", "LU");
    make_site(&de, "de", "DE");
    issue_researcher(&de, "carla", "Forschungszentrum Juelich", "non-profit", carla, sizeof(carla));
    issue_researcher(&de, "corp", "Pharma GmbH", "commercial", corp, sizeof(corp));
    issue_researcher(&lu, "luc", "University of Luxembourg", "academic", lu_res, sizeof(lu_res));
    th_gateway_start(&lu.s);
    th_gateway_start(&de.s);
    export_bundle(&lu);
    export_bundle(&de);
    must(th_peer_add(out, sizeof(out), lu.bundle, de.admin), "add");
    must(th_peer_add(out, sizeof(out), de.bundle, lu.admin), "add");
    must(th_run(out, sizeof(out), "dataset", "add", "breast-cancer", "--from",
                "examples/data/breast_cancer.csv", "--skip-lines", "1", "--label-column", "-1",
                "--title", "Wisconsin diagnostic breast cancer", "--description", "test data",
                "--policy", "examples/policies/breast_cancer.json", "--identity", lu.admin, NULL),
         "dataset add");
    rpc_library_init(0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rpc_library_shutdown();
    int bad = 0;
    if (lu.s.pid != 0 && th_gateway_stop(&lu.s, NULL) != 0)
        bad = 1;
    if (de.s.pid != 0 && th_gateway_stop(&de.s, NULL) != 0)
        bad = 1;
    return bad ? -1 : 0;
}

/* `ecluse access request|check lu/breast-cancer ...` as `who`. */
static int ask(const char *verb, const char *who, const char *country, const char *ethics,
               const char *save)
{
    const char *args[32];
    int n = 0;
    args[n++] = "access";
    args[n++] = verb;
    args[n++] = "lu/breast-cancer";
    args[n++] = "--purpose";
    args[n++] = "HMB";
    args[n++] = "--basis";
    args[n++] = "art6-1-e+art9-2-j";
    args[n++] = "--job-country";
    args[n++] = country;
    args[n++] = "--identity";
    args[n++] = who;
    if (ethics != NULL) {
        args[n++] = "--ethics";
        args[n++] = ethics;
    }
    if (save != NULL) {
        args[n++] = "--save-grant";
        args[n++] = save;
    }
    args[n] = NULL;
    return th_run(out, sizeof(out), args[0], args[1], args[2], args[3], args[4], args[5], args[6],
                  args[7], args[8], args[9], args[10], n > 11 ? args[11] : NULL,
                  n > 12 ? args[12] : NULL, n > 13 ? args[13] : NULL, n > 14 ? args[14] : NULL,
                  NULL);
}

static void test_a_permit_carries_a_grant_signed_by_the_holding_site(void **state)
{
    (void)state;
    char grant_path[PATH_MAX + 16];
    snprintf(grant_path, sizeof(grant_path), "%s/carla.grant", root);
    must(ask("request", carla, "DE", "ETH-2026-114", grant_path), "access request");
    assert_non_null(strstr(out, "PERMIT for lu/breast-cancer, decided by site lu"));
    assert_non_null(strstr(out, "job country DE is in the EEA"));
    assert_non_null(strstr(out, "obligation: do not re-identify data subjects"));

    /* The grant verifies with LU's key, for carla, with the granted scope. */
    char *text = th_read(grant_path);
    assert_non_null(text);
    Ecluse__V1__Grant *g = NULL;
    ecl_err err;
    assert_int_equal(client_grant_parse(text, strlen(text), grant_path, &g, &err), 0);
    free(text);
    char key_path[2 * PATH_MAX];
    snprintf(key_path, sizeof(key_path), "%s/keys/site.key", lu.s.dir);
    site_key lu_key;
    assert_int_equal(site_key_load(key_path, &lu_key, &err), 0);
    Ecluse__V1__GrantBody *b = NULL;
    assert_int_equal(grant_open(g, lu_key.public_key, "lu", (int64_t)time(NULL), &b, &err), 0);
    assert_string_equal(b->dataset, "lu/breast-cancer");
    assert_true(grant_is_for(b, "spiffe://de/researcher/carla"));
    assert_false(grant_is_for(b, "spiffe://de/researcher/corp"));
    assert_int_equal(b->max_rows, 400); /* the policy's minimisation */
    assert_int_equal(b->n_tensors, 2);
    assert_string_equal(b->transfer_basis, "eea");
    assert_true(b->expires_unix > (int64_t)time(NULL) + 80 * 86400);
    ecluse__v1__grant_body__free_unpacked(b, NULL);
    b = NULL;
    /* Signed by LU, so it does not verify as DE's, nor once changed. */
    assert_int_equal(grant_open(g, lu_key.public_key, "de", (int64_t)time(NULL), &b, &err), -1);
    g->body.data[g->body.len / 2] ^= 1;
    assert_int_equal(grant_open(g, lu_key.public_key, "lu", (int64_t)time(NULL), &b, &err), -1);
    assert_int_equal(err.code, ECL_E_CRYPTO);
    site_key_wipe(&lu_key);
    ecluse__v1__grant__free_unpacked(g, NULL);
}

static void test_denials_name_every_reason_and_what_would_satisfy_it(void **state)
{
    (void)state;
    assert_int_equal(ask("request", corp, "DE", "ETH-2026-114", NULL), 9);
    assert_non_null(strstr(out, "DENY for lu/breast-cancer"));
    assert_non_null(strstr(out, "DENY purpose.NPU"));
    assert_non_null(strstr(out, "the requester's organisation is commercial"));
    assert_null(strstr(out, "grant "));

    assert_int_equal(ask("request", carla, "DE", NULL, NULL), 9);
    assert_non_null(strstr(out, "DENY purpose.IRB"));
    assert_non_null(strstr(out, "to satisfy it:"));

    assert_int_equal(ask("check", carla, "US", "ETH-2026-114", NULL), 9);
    assert_non_null(strstr(out, "dry run: DENY"));
    assert_non_null(strstr(out, "DENY transfer"));
    assert_non_null(strstr(out, "record SCCs with the recipient site 'de'"));
}

static void test_sccs_recorded_by_the_holding_site_apply_without_a_restart(void **state)
{
    (void)state;
    char path[2 * PATH_MAX];
    snprintf(path, sizeof(path), "%s/policy/sccs.json", lu.s.dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"ecluse_sccs\": 1, \"site\": \"lu\", \"sccs\": [{\"recipient_site\": \"de\", "
          "\"reference\": \"LU-DE-SCC-2026-01\", \"signed\": \"2026-01-15\", \"expires\": "
          "\"2029-01-14\", \"countries\": [\"US\"]}]}\n",
          f);
    fclose(f);
    must(ask("check", carla, "US", "ETH-2026-114", NULL), "access check with SCCs");
    assert_non_null(strstr(out, "dry run: PERMIT"));
    assert_non_null(strstr(out, "LU-DE-SCC-2026-01"));
    /* A country with no adequacy and no SCC stays refused. */
    assert_int_equal(ask("check", carla, "CN", "ETH-2026-114", NULL), 9);
    assert_non_null(strstr(out, "DENY transfer"));
}

static void test_a_local_researcher_is_decided_at_home(void **state)
{
    (void)state;
    must(ask("request", lu_res, "LU", "ETH-LU-7", NULL), "local request");
    assert_non_null(strstr(out, "PERMIT for lu/breast-cancer, decided by site lu"));
}

/* Count audit lines of `who`'s site matching `needle`. */
static int audit_count(const char *who, const char *needle)
{
    must(th_run(out, sizeof(out), "audit", "query", "--kind", "access", "--identity", who, NULL),
         "audit query");
    int n = 0;
    for (const char *p = out; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static void test_both_sites_recorded_every_decision(void **state)
{
    (void)state;
    /* carla: 1 permit, 1 deny (no ethics), 3 checks; corp: 1 deny; all at LU. */
    assert_int_equal(audit_count(lu.auditor, "spiffe://de/researcher/carla"), 5);
    assert_int_equal(audit_count(lu.auditor, "spiffe://de/researcher/corp"), 1);
    assert_int_equal(audit_count(de.auditor, "spiffe://de/researcher/carla"), 5);
    assert_int_equal(audit_count(de.auditor, "\"decided_by\":\"lu\""), 6);
    /* LU's own researcher never left LU. */
    assert_int_equal(audit_count(de.auditor, "spiffe://lu/researcher/luc"), 0);
    must(th_run(out, sizeof(out), "audit", "query", "--dataset", "lu/breast-cancer", "--decision",
                "permit", "--json", "--identity", lu.auditor, NULL),
         "audit query permit");
    assert_non_null(strstr(out, "\"lawful_basis\":\"art6-1-e+art9-2-j\""));
    must(th_run(out, sizeof(out), "audit", "verify", "--identity", lu.auditor, NULL), "verify");
    assert_non_null(strstr(out, "chain intact"));
    /* Researchers do not read the trail. */
    assert_int_equal(th_run(out, sizeof(out), "audit", "query", "--identity", carla, NULL), 7);
}

/* Call LU's ForwardAccess as DE's gateway with a crafted attestation. */
static int forward_as_de(const Ecluse__V1__AccessRequest *req, const Ecluse__V1__Attestation *att,
                         ecl_err *err)
{
    char path[2 * PATH_MAX];
    snprintf(path, sizeof(path), "%s/ca/ca.crt", lu.s.dir);
    char *ca = th_read(path);
    snprintf(path, sizeof(path), "%s/gateway/gateway.crt", de.s.dir);
    char *cert = th_read(path);
    snprintf(path, sizeof(path), "%s/gateway/gateway.key", de.s.dir);
    char *key = th_read(path);
    char target[64];
    snprintf(target, sizeof(target), "127.0.0.1:%d", lu.s.port);
    rpc_channel_options o = {target, ca, cert, key, "spiffe://lu/gateway", 0};
    rpc_channel *ch = NULL;
    assert_int_equal(rpc_channel_open(&o, &ch, err), 0);
    Ecluse__V1__ForwardedAccessRequest fwd = ECLUSE__V1__FORWARDED_ACCESS_REQUEST__INIT;
    fwd.request = (Ecluse__V1__AccessRequest *)req;
    fwd.attestation = (Ecluse__V1__Attestation *)att;
    ProtobufCMessage *resp = NULL;
    int rc = rpc_unary(ch, "/ecluse.v1.Federation/ForwardAccess", &fwd.base,
                       &ecluse__v1__access_decision__descriptor, &resp, 5000, err);
    if (resp != NULL)
        protobuf_c_message_free_unpacked(resp, NULL);
    rpc_channel_close(ch);
    free(ca);
    free(cert);
    free(key);
    return rc;
}

static void sign_attestation(const site_key *key, const char *site, const char *name,
                             const Ecluse__V1__AccessRequest *req, Ecluse__V1__Attestation *att,
                             uint8_t *body_buf, uint8_t *sig)
{
    unsigned char digest[32];
    size_t rlen = ecluse__v1__access_request__get_packed_size(req);
    uint8_t *rb = malloc(rlen);
    ecluse__v1__access_request__pack(req, rb);
    crypto_generichash(digest, 32, rb, rlen, NULL, 0);
    free(rb);
    Ecluse__V1__Identity id = ECLUSE__V1__IDENTITY__INIT;
    id.site = (char *)site;
    id.role = "researcher";
    id.name = (char *)name;
    Ecluse__V1__AttestationBody b = ECLUSE__V1__ATTESTATION_BODY__INIT;
    b.requester = &id;
    b.organisation_type = "non-profit";
    b.issued_unix = (int64_t)time(NULL);
    b.expires_unix = b.issued_unix + 300;
    b.request_digest.data = digest;
    b.request_digest.len = 32;
    size_t len = ecluse__v1__attestation_body__pack(&b, body_buf);
    ecl_err err;
    assert_int_equal(site_key_sign(key, "ecluse-attestation-v1", body_buf, len, sig, &err), 0);
    ecluse__v1__attestation__init(att);
    att->body.data = body_buf;
    att->body.len = len;
    att->signature.data = sig;
    att->signature.len = crypto_sign_BYTES;
}

static void test_forged_or_mismatched_attestations_are_refused(void **state)
{
    (void)state;
    Ecluse__V1__AccessRequest req = ECLUSE__V1__ACCESS_REQUEST__INIT;
    req.dataset = "lu/breast-cancer";
    req.purpose = "HMB";
    req.lawful_basis = "art6-1-e+art9-2-j";
    req.job_country = "DE";
    req.ethics_ref = "ETH-X";
    uint8_t body[1024], sig[crypto_sign_BYTES];
    Ecluse__V1__Attestation att;
    ecl_err err;
    char path[2 * PATH_MAX];
    snprintf(path, sizeof(path), "%s/keys/site.key", de.s.dir);
    site_key de_key, stranger;
    assert_int_equal(site_key_load(path, &de_key, &err), 0);
    assert_int_equal(site_key_generate(&stranger, &err), 0);

    /* Genuine: DE's key, DE's researcher, this exact request. */
    sign_attestation(&de_key, "de", "carla", &req, &att, body, sig);
    assert_int_equal(forward_as_de(&req, &att, &err), 0);

    sign_attestation(&stranger, "de", "carla", &req, &att, body, sig);
    assert_int_equal(forward_as_de(&req, &att, &err), -1);
    assert_non_null(strstr(err.msg, "not signed by site 'de'"));

    sign_attestation(&de_key, "fi", "mallory", &req, &att, body, sig);
    assert_int_equal(forward_as_de(&req, &att, &err), -1);
    assert_int_equal(err.remote_status, GRPC_STATUS_PERMISSION_DENIED);
    assert_non_null(strstr(err.msg, "may attest only its own people"));

    sign_attestation(&de_key, "de", "carla", &req, &att, body, sig);
    req.purpose = "GRU"; /* the request changed after it was attested */
    assert_int_equal(forward_as_de(&req, &att, &err), -1);
    assert_non_null(strstr(err.msg, "the attestation is for another request"));
    site_key_wipe(&de_key);
    site_key_wipe(&stranger);
}

static void set_audit_map_mb(const th_site *x, int mb)
{
    char path[2 * PATH_MAX], cmd[4 * PATH_MAX];
    snprintf(path, sizeof(path), "%s/ecluse.json", x->dir);
    snprintf(cmd, sizeof(cmd), "sed -i 's/\"map_size_mb\": [0-9]*/\"map_size_mb\": %d/' '%s'", mb,
             path);
    assert_int_equal(system(cmd), 0);
}

/* Fill the trail of a stopped site until not one more entry fits. */
static void fill_audit(const th_site *x, int mb)
{
    char dir[2 * PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/data/audit", x->dir);
    th_fill_audit(dir, (size_t)mb << 20, "spiffe://be/admin/adm");
}

static void test_a_full_audit_trail_refuses_to_decide(void **state)
{
    (void)state;
    th_site be;
    char admin[PATH_MAX], res[PATH_MAX], policy[PATH_MAX + 32], cmd[4 * PATH_MAX];
    th_site_create(&be, root, "be", "BE");
    th_issue(&be, "admin", "adm", admin, sizeof(admin));
    must(th_run(out, sizeof(out), "pki", "issue", "--dir", be.dir, "--role", "researcher", "--name",
                "res", "--org-type", "academic", NULL),
         "pki issue");
    assert_true(snprintf(res, sizeof(res), "%s/identities/researcher-res", be.dir) <
                (int)sizeof(res));
    snprintf(policy, sizeof(policy), "%s/be-policy.json", root);
    snprintf(cmd, sizeof(cmd),
             "sed 's#lu/breast-cancer#be/breast-cancer#' examples/policies/breast_cancer.json "
             "> '%s'",
             policy);
    assert_int_equal(system(cmd), 0);
    set_audit_map_mb(&be, 1);
    th_gateway_start(&be);
    must(th_run(out, sizeof(out), "dataset", "add", "breast-cancer", "--from",
                "examples/data/breast_cancer.csv", "--skip-lines", "1", "--label-column", "-1",
                "--title", "BC", "--description", "test data", "--policy", policy, "--identity",
                admin, NULL),
         "dataset add");
    assert_int_equal(th_gateway_stop(&be, NULL), 0);
    fill_audit(&be, 1);

    th_gateway_start(&be);
    char grant_path[PATH_MAX + 16];
    snprintf(grant_path, sizeof(grant_path), "%s/never.grant", root);
    int rc = 0;
    for (int attempt = 0; attempt < 20 && rc == 0; attempt++) {
        remove(grant_path);
        rc = th_run(out, sizeof(out), "access", "request", "be/breast-cancer", "--purpose", "HMB",
                    "--basis", "art6-1-e+art9-2-j", "--job-country", "BE", "--ethics", "E-1",
                    "--save-grant", grant_path, "--identity", res, NULL);
        /* A decision that still fitted (the gateway's own first write can
         * free pages LMDB then reuses) came with its grant, and only then. */
        if (rc == 0)
            assert_true(access(grant_path, F_OK) == 0);
    }
    assert_int_equal(rc, 8); /* unavailable: no decision, no grant */
    assert_non_null(strstr(out, "the audit trail cannot be written"));
    assert_false(access(grant_path, F_OK) == 0);
    assert_true(th_file_contains(be.log, "event=audit.unwritable") ||
                th_file_contains(be.log, "status=UNAVAILABLE"));

    /* Room returns (a bigger map): the same trail, intact, decides again. */
    assert_int_equal(th_gateway_stop(&be, NULL), 0);
    set_audit_map_mb(&be, 64);
    th_gateway_start(&be);
    must(th_run(out, sizeof(out), "access", "request", "be/breast-cancer", "--purpose", "HMB",
                "--basis", "art6-1-e+art9-2-j", "--job-country", "BE", "--ethics", "E-1",
                "--save-grant", grant_path, "--identity", res, NULL),
         "request after room returned");
    assert_true(access(grant_path, F_OK) == 0);
    char auditor[PATH_MAX];
    th_issue(&be, "auditor", "aud", auditor, sizeof(auditor));
    must(th_run(out, sizeof(out), "audit", "verify", "--no-witnesses", "--identity", auditor, NULL),
         "verify after full");
    assert_non_null(strstr(out, "chain intact"));
    assert_int_equal(th_gateway_stop(&be, NULL), 0);
}

static void test_a_changed_byte_in_the_trail_is_found(void **state)
{
    (void)state;
    assert_int_equal(th_gateway_stop(&de.s, NULL), 0);
    char dir[2 * PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/data/audit", de.s.dir);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_cursor *cur;
    MDB_val k, v;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
    assert_int_equal(mdb_env_set_mapsize(env, (size_t)1 << 30), 0);
    assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "entries", 0, &dbi), 0);
    assert_int_equal(mdb_cursor_open(txn, dbi, &cur), 0);
    assert_int_equal(mdb_cursor_get(cur, &k, &v, MDB_FIRST), 0);
    assert_int_equal(mdb_cursor_get(cur, &k, &v, MDB_NEXT), 0); /* entry 2 */
    unsigned char *copy = malloc(v.mv_size);
    memcpy(copy, v.mv_data, v.mv_size);
    copy[v.mv_size - 40] ^= 0x01; /* inside its detail */
    MDB_val nv = {v.mv_size, copy};
    assert_int_equal(mdb_cursor_put(cur, &k, &nv, MDB_CURRENT), 0);
    mdb_cursor_close(cur);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    free(copy);
    th_gateway_start(&de.s);
    assert_int_equal(th_run(out, sizeof(out), "audit", "verify", "--no-witnesses", "--identity",
                            de.auditor, NULL),
                     10);
    assert_non_null(strstr(out, "AUDIT TRAIL BROKEN at entry 2"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_permit_carries_a_grant_signed_by_the_holding_site),
        cmocka_unit_test(test_denials_name_every_reason_and_what_would_satisfy_it),
        cmocka_unit_test(test_sccs_recorded_by_the_holding_site_apply_without_a_restart),
        cmocka_unit_test(test_a_local_researcher_is_decided_at_home),
        cmocka_unit_test(test_both_sites_recorded_every_decision),
        cmocka_unit_test(test_forged_or_mismatched_attestations_are_refused),
        cmocka_unit_test(test_a_full_audit_trail_refuses_to_decide),
        cmocka_unit_test(test_a_changed_byte_in_the_trail_is_found),
    };
    return cmocka_run_group_tests_name("access e2e", tests, setup, teardown);
}
