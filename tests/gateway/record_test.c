/*
 * record_test.c - what the audit trail records of admin actions, refused
 * reads and refused callers, as an auditor finds it with `ecluse audit query`.
 *
 * Two real sites on loopback, FI and LU, peered both ways with the CLI. LU
 * publishes the breast cancer table. Admin actions fail and succeed for
 * real (a source file that is not there, a dataset that exists, a peer that
 * is not one); grants are signed in the test with the sites' real key
 * files, so that a read can be refused for each reason the gateway has.
 */
#include <grpc/status.h>
#include <jansson.h>
#include <setjmp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "client/client.h"
#include "client/read.h"
#include "gateway/grant.h"
#include "proto/ecluse.pb-c.h"
#include "rpc/client.h"
#include "site/pki.h"
#include "site/site.h"
#include "site/sitekey.h"
#include "tests/support/granted.h"
#include "tests/support/harness.h"
#include "tests/support/signers.h"

#define OUT_MAX (256 * 1024)

typedef struct site {
    th_site s;
    char admin[PATH_MAX], auditor[PATH_MAX], res[PATH_MAX], other[PATH_MAX];
    char bundle[PATH_MAX + 16];
} site;

static char root[PATH_MAX - 200];
static site fi, lu;
static char out[OUT_MAX];

static void must(int rc, const char *what)
{
    if (rc != 0)
        fail_msg("%s failed (%d):\n%s", what, rc, out);
}

static void make_site(site *x, const char *id, const char *country)
{
    th_site_create(&x->s, root, id, country);
    th_issue(&x->s, "admin", "adm", x->admin, sizeof(x->admin));
    th_issue(&x->s, "auditor", "aud", x->auditor, sizeof(x->auditor));
    th_issue(&x->s, "researcher", "res", x->res, sizeof(x->res));
    th_issue(&x->s, "researcher", "other", x->other, sizeof(x->other));
}

/* The example breast cancer policy, made dataset `name`'s; its path in `policy`. */
static void write_policy(const site *x, const char *name, char *policy, size_t cap)
{
    char cwd[PATH_MAX - 64], example[PATH_MAX];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    snprintf(example, sizeof(example), "%s/examples/policies/breast_cancer.json", cwd);
    snprintf(policy, cap, "%s/policy-%s-%s.json", root, x->s.id, name);
    json_error_t jerr;
    json_t *doc = json_load_file(example, 0, &jerr);
    assert_non_null(doc);
    char id[128];
    snprintf(id, sizeof(id), "%s/%s", x->s.id, name);
    json_object_set_new(doc, "dataset", json_string(id));
    assert_int_equal(json_dump_file(doc, policy, JSON_INDENT(2)), 0);
    json_decref(doc);
}

static int add_dataset(const site *x, const char *name, const char *from)
{
    char policy[PATH_MAX + 64];
    write_policy(x, name, policy, sizeof(policy));
    return th_run(out, sizeof(out), "dataset", "add", name, "--from", from, "--format", "csv",
                  "--skip-lines", "1", "--label-column", "-1", "--title", name, "--description",
                  "test data", "--policy", policy, "--identity", x->admin, NULL);
}

static void csv_path(char *path, size_t cap)
{
    char cwd[PATH_MAX - 64];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    snprintf(path, cap, "%s/examples/data/breast_cancer.csv", cwd);
}

/* A CSV file whose rows do not agree on their columns: its import fails
 * inside the gateway, after the action has begun. */
static void broken_csv(char *path, size_t cap)
{
    snprintf(path, cap, "%s/broken.csv", root);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("a,b,c\n1,2,3\n4,5\n", f);
    assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
    (void)state;
    th_tmpdir(root, sizeof(root));
    make_site(&fi, "fi", "FI");
    make_site(&lu, "lu", "LU");
    th_gateway_start(&fi.s);
    th_gateway_start(&lu.s);
    th_export_bundle(&fi.s, fi.admin, fi.bundle, sizeof(fi.bundle));
    th_export_bundle(&lu.s, lu.admin, lu.bundle, sizeof(lu.bundle));
    must(th_peer_add(out, sizeof(out), lu.bundle, fi.admin), "peer");
    must(th_peer_add(out, sizeof(out), fi.bundle, lu.admin), "peer");
    char csv[PATH_MAX];
    csv_path(csv, sizeof(csv));
    must(add_dataset(&lu, "bc", csv), "dataset add");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    site *all[] = {&fi, &lu};
    int bad = 0;
    for (int i = 0; i < 2; i++)
        if (all[i]->s.pid != 0 && th_gateway_stop(&all[i]->s, NULL) != 0)
            bad = 1;
    return bad ? -1 : 0;
}

/* ---- what an auditor queries -------------------------------------------- */

/* `ecluse audit query --json` by x's auditor with the given filters (NULL
 * ended), as a JSON array of the entries. */
static json_t *query(const site *x, ...)
{
    const char *argv[24];
    size_t n = 0;
    argv[n++] = "audit";
    argv[n++] = "query";
    argv[n++] = "--json";
    argv[n++] = "--identity";
    argv[n++] = x->auditor;
    va_list ap;
    va_start(ap, x);
    for (const char *a; (a = va_arg(ap, const char *)) != NULL && n < 22;)
        argv[n++] = a;
    va_end(ap);
    while (n < 24)
        argv[n++] = NULL;
    must(th_run(out, sizeof(out), argv[0], argv[1], argv[2], argv[3], argv[4], argv[5], argv[6],
                argv[7], argv[8], argv[9], argv[10], argv[11], argv[12], NULL),
         "audit query");
    json_t *all = json_array();
    for (char *line = strtok(out, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        json_error_t jerr;
        json_t *e = json_loads(line, 0, &jerr);
        if (e == NULL)
            fail_msg("audit query printed a line that is not JSON: %s", line);
        json_array_append_new(all, e);
    }
    return all;
}

static const char *str_of(const json_t *e, const char *key)
{
    const char *s = json_string_value(json_object_get(e, key));
    return s != NULL ? s : "";
}

static const char *detail_str(const json_t *e, const char *key)
{
    const char *s = json_string_value(json_object_get(json_object_get(e, "detail"), key));
    return s != NULL ? s : "";
}

/* The entries of `all` whose detail.action is `action` and `field` (a
 * top-level field, or NULL) is `value`, in order. */
static json_t *actions(const json_t *all, const char *action, const char *field, const char *value)
{
    json_t *got = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(all, i, e)
    {
        if (strcmp(detail_str(e, "action"), action) != 0)
            continue;
        if (field != NULL && strcmp(str_of(e, field), value) != 0 &&
            strcmp(detail_str(e, field), value) != 0)
            continue;
        json_array_append(got, e);
    }
    return got;
}

static long long seq_of(const json_t *e)
{
    return (long long)json_integer_value(json_object_get(e, "seq"));
}

static long long intent_of(const json_t *e)
{
    json_t *i = json_object_get(json_object_get(e, "detail"), "intent");
    return i != NULL ? (long long)json_integer_value(i) : 0;
}

/* Entries i and i+1 of `all`, as a new array. */
static json_t *pair(const json_t *all, size_t i)
{
    json_t *two = json_array();
    json_array_append(two, json_array_get(all, i));
    json_array_append(two, json_array_get(all, i + 1));
    return two;
}

/* An intent (pending) and its outcome `outcome`, naming it; takes `two`. */
static void expect_intent_then(json_t *two, const char *outcome)
{
    if (json_array_size(two) != 2)
        fail_msg("expected an intent and an outcome, got %zu entries", json_array_size(two));
    const json_t *a = json_array_get(two, 0), *b = json_array_get(two, 1);
    assert_string_equal(detail_str(a, "outcome"), "pending");
    assert_string_equal(detail_str(b, "outcome"), outcome);
    assert_int_equal(intent_of(b), seq_of(a));
    assert_true(seq_of(b) > seq_of(a));
    json_decref(two);
}

/* ---- admin actions ---------------------------------------------------------- */

static void test_a_failed_dataset_add_is_recorded_as_failed(void **state)
{
    (void)state;
    char broken[PATH_MAX + 16], csv[PATH_MAX];
    broken_csv(broken, sizeof(broken));
    assert_int_not_equal(add_dataset(&lu, "ghost", broken), 0);
    json_t *all = query(&lu, "--kind", "catalog", "--dataset", "lu/ghost", NULL);
    json_t *ghost = actions(all, "add-dataset", NULL, NULL);
    expect_intent_then(json_incref(ghost), "failed");
    /* The reason is the import's: the file is named. */
    if (strstr(detail_str(json_array_get(ghost, 1), "reason"), "broken.csv") == NULL)
        fail_msg("the failure's reason does not name the file: %s",
                 detail_str(json_array_get(ghost, 1), "reason"));
    json_decref(ghost);
    json_decref(all);

    /* Refused before anything was touched (it exists): its outcome only. */
    csv_path(csv, sizeof(csv));
    assert_int_not_equal(add_dataset(&lu, "bc", csv), 0);
    all = query(&lu, "--kind", "catalog", "--dataset", "lu/bc", NULL);
    json_t *bc = actions(all, "add-dataset", NULL, NULL);
    assert_int_equal(json_array_size(bc), 3); /* setup's intent and done, then this */
    expect_intent_then(pair(bc, 0), "done");
    const json_t *again = json_array_get(bc, 2);
    assert_string_equal(detail_str(again, "outcome"), "failed");
    assert_int_equal(intent_of(again), 0);
    assert_non_null(strstr(detail_str(again, "reason"), "already exists"));
    assert_string_equal(str_of(again, "actor"), "spiffe://lu/admin/adm");
    json_decref(bc);
    json_decref(all);
}

static void test_one_done_outcome_per_dataset_published(void **state)
{
    (void)state;
    char csv[PATH_MAX], bad[PATH_MAX + 16];
    csv_path(csv, sizeof(csv));
    broken_csv(bad, sizeof(bad));
    /* Three published, each after a failed attempt. */
    const char *names[] = {"d1", "d2", "d3"};
    for (int i = 0; i < 3; i++) {
        assert_int_not_equal(add_dataset(&lu, names[i], bad), 0);
        must(add_dataset(&lu, names[i], csv), "dataset add");
    }
    json_t *all = query(&lu, "--kind", "catalog", NULL);
    json_t *adds = actions(all, "add-dataset", NULL, NULL);
    int done = 0, failed = 0, pending = 0;
    size_t i;
    json_t *e;
    json_array_foreach(adds, i, e)
    {
        const char *o = detail_str(e, "outcome");
        const char *ds = str_of(e, "dataset");
        if (strcmp(ds, "lu/d1") && strcmp(ds, "lu/d2") && strcmp(ds, "lu/d3"))
            continue;
        done += strcmp(o, "done") == 0;
        failed += strcmp(o, "failed") == 0;
        pending += strcmp(o, "pending") == 0;
    }
    assert_int_equal(done, 3);
    assert_int_equal(failed, 3);
    assert_int_equal(pending, 6);
    json_decref(adds);
    json_decref(all);

    /* Removed, then removed again: one done, then one refusal on its own. */
    must(th_run(out, sizeof(out), "dataset", "remove", "lu/d3", "--identity", lu.admin, NULL),
         "dataset remove");
    assert_int_not_equal(
        th_run(out, sizeof(out), "dataset", "remove", "lu/d3", "--identity", lu.admin, NULL), 0);
    all = query(&lu, "--kind", "catalog", "--dataset", "lu/d3", NULL);
    json_t *rm = actions(all, "remove-dataset", NULL, NULL);
    assert_int_equal(json_array_size(rm), 3);
    expect_intent_then(pair(rm, 0), "done");
    assert_string_equal(detail_str(json_array_get(rm, 2), "outcome"), "failed");
    assert_int_equal(intent_of(json_array_get(rm, 2)), 0);
    assert_non_null(strstr(detail_str(json_array_get(rm, 2), "reason"), "not held here"));
    json_decref(rm);
    json_decref(all);
}

static void test_a_failed_peer_remove_is_not_a_second_removal(void **state)
{
    (void)state;
    assert_int_not_equal(
        th_run(out, sizeof(out), "peer", "remove", "xx", "--identity", lu.admin, NULL), 0);
    json_t *all = query(&lu, "--kind", "peer", NULL);
    json_t *xx = actions(all, "remove", "site", "xx");
    assert_int_equal(json_array_size(xx), 1);
    assert_string_equal(detail_str(json_array_get(xx, 0), "outcome"), "failed");
    assert_non_null(strstr(detail_str(json_array_get(xx, 0), "reason"), "not a peer"));
    json_decref(xx);
    json_decref(all);

    /* Removed for real, then once more: one done, one failed. */
    must(th_run(out, sizeof(out), "peer", "remove", "fi", "--identity", lu.admin, NULL),
         "peer remove");
    assert_int_not_equal(
        th_run(out, sizeof(out), "peer", "remove", "fi", "--identity", lu.admin, NULL), 0);
    must(th_peer_add(out, sizeof(out), fi.bundle, lu.admin), "peer add");
    all = query(&lu, "--kind", "peer", NULL);
    json_t *rm = actions(all, "remove", "site", "fi");
    assert_int_equal(json_array_size(rm), 3);
    expect_intent_then(pair(rm, 0), "done");
    assert_string_equal(detail_str(json_array_get(rm, 2), "outcome"), "failed");
    assert_int_equal(intent_of(json_array_get(rm, 2)), 0);
    json_t *add = actions(all, "add", "site", "fi");
    assert_int_equal(json_array_size(add), 4); /* setup's and this one's */
    expect_intent_then(pair(add, 2), "done");
    json_decref(add);
    json_decref(rm);
    json_decref(all);
}

/* ---- refused reads -------------------------------------------------------------- */

static void make_grant(const site *signer_site, const char *dataset, const char *req_site,
                       const char *name, int64_t expires, Ecluse__V1__Grant *g, char *id_hex)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/keys/site.key", signer_site->s.dir);
    site_key key;
    ecl_err err;
    assert_int_equal(site_key_load(path, &key, &err), 0);
    unsigned char id[16];
    randombytes_buf(id, sizeof(id));
    sodium_bin2hex(id_hex, 33, id, sizeof(id));
    Ecluse__V1__Identity who = ECLUSE__V1__IDENTITY__INIT;
    who.site = (char *)req_site;
    who.role = "researcher";
    who.name = (char *)name;
    Ecluse__V1__GrantBody b = ECLUSE__V1__GRANT_BODY__INIT;
    b.grant_id = id_hex;
    b.dataset = (char *)dataset;
    b.requester = &who;
    b.purpose = "HMB";
    b.lawful_basis = "art9-2-j";
    b.job_country = "FI";
    b.transfer_basis = "eea";
    b.issued_unix = (int64_t)time(NULL) - 10;
    b.expires_unix = expires != 0 ? expires : (int64_t)time(NULL) + 3600;
    grant_dataset d; /* decided on lu's dataset as held now, if it is */
    (void)tg_bind(lu.s.dir, &b, &d);
    signer *s = ts_signer(&key);
    site_key_wipe(&key);
    assert_int_equal(grant_sign(s, &b, g, &err), 0);
    signer_free(s);
}

/* A read by `identity` under `g` is refused with `status`. */
static void expect_refused(const char *identity, const Ecluse__V1__Grant *g, int status)
{
    ecl_client *c = NULL;
    ecl_err err;
    if (ecl_client_open(identity, NULL, &c, &err) != 0)
        fail_msg("client: %s", err.msg);
    ecl_stream_opts o = ECL_STREAM_OPTS_INIT;
    ecl_stream *r = NULL;
    /* Refused before the header: nothing of the read is ever sent. */
    int rc = ecl_stream_open(c, g, &o, &r, &err);
    ecl_stream_close(r);
    ecl_client_close(c);
    assert_int_equal(rc, -1);
    if (err.remote_status != status)
        fail_msg("expected status %d, got %d: %s", status, err.remote_status, err.msg);
}

/* The one deny of Data.Read by `actor` whose reason holds `why`. */
static const json_t *find_refusal(const json_t *all, const char *actor, const char *why)
{
    const json_t *found = NULL;
    size_t i;
    json_t *e;
    json_array_foreach(all, i, e)
    {
        json_t *reasons = json_object_get(json_object_get(e, "detail"), "reasons");
        const char *r = json_string_value(json_array_get(reasons, 0));
        if (strcmp(detail_str(e, "call"), "Data.Read") != 0 || strcmp(str_of(e, "actor"), actor))
            continue;
        if (r != NULL && strstr(r, why) != NULL) {
            if (found != NULL)
                fail_msg("two refusals by %s for '%s'", actor, why);
            found = e;
        }
    }
    if (found == NULL)
        fail_msg("no refused read by %s for '%s' on record", actor, why);
    return found;
}

static void test_refused_reads_are_recorded_with_the_reason(void **state)
{
    (void)state;
    char id_wrong[33], id_expired[33], id_forged[33], id_gone[33], id_relay[33];
    Ecluse__V1__Grant wrong = ECLUSE__V1__GRANT__INIT, expired = ECLUSE__V1__GRANT__INIT,
                      forged = ECLUSE__V1__GRANT__INIT, gone = ECLUSE__V1__GRANT__INIT,
                      relay = ECLUSE__V1__GRANT__INIT;
    make_grant(&lu, "lu/bc", "lu", "res", 0, &wrong, id_wrong);
    make_grant(&lu, "lu/bc", "lu", "res", (int64_t)time(NULL) - 5, &expired, id_expired);
    make_grant(&fi, "lu/bc", "lu", "res", 0, &forged, id_forged);
    make_grant(&lu, "lu/gone", "lu", "res", 0, &gone, id_gone);
    make_grant(&lu, "lu/bc", "fi", "other", 0, &relay, id_relay);
    expect_refused(lu.other, &wrong, GRPC_STATUS_PERMISSION_DENIED);
    expect_refused(lu.res, &expired, GRPC_STATUS_FAILED_PRECONDITION);
    expect_refused(lu.res, &forged, GRPC_STATUS_PERMISSION_DENIED);
    expect_refused(lu.res, &gone, GRPC_STATUS_NOT_FOUND);
    /* Relayed: FI refuses it (not its requester) before LU hears of it. */
    expect_refused(fi.res, &relay, GRPC_STATUS_PERMISSION_DENIED);

    json_t *all = query(&lu, "--decision", "deny", NULL);
    const json_t *e = find_refusal(all, "spiffe://lu/researcher/other", "not to spiffe://lu/");
    assert_string_equal(str_of(e, "kind"), "access");
    assert_string_equal(str_of(e, "dataset"), "lu/bc");
    assert_string_equal(str_of(e, "purpose"), "HMB");
    assert_non_null(strstr(json_string_value(json_array_get(
                               json_object_get(json_object_get(e, "detail"), "reasons"), 0)),
                           id_wrong));
    assert_true(json_is_true(json_object_get(json_object_get(e, "detail"), "grant_verified")));

    e = find_refusal(all, "spiffe://lu/researcher/res", "expired");
    assert_string_equal(str_of(e, "dataset"), "lu/bc");

    /* Not verified: what it claims is kept as a claim, no grant_id. */
    e = find_refusal(all, "spiffe://lu/researcher/res", "signed by another site");
    assert_string_equal(detail_str(e, "claimed_grant_id"), id_forged);
    assert_true(json_is_false(json_object_get(json_object_get(e, "detail"), "grant_verified")));
    assert_string_equal(str_of(e, "dataset"), "lu/bc");

    e = find_refusal(all, "spiffe://lu/researcher/res", "not held here");
    assert_string_equal(str_of(e, "dataset"), "lu/gone");
    assert_string_equal(detail_str(e, "claimed_grant_id"), "");
    json_decref(all);

    all = query(&fi, "--decision", "deny", NULL);
    e = find_refusal(all, "spiffe://fi/researcher/res", "not to spiffe://fi/researcher/res");
    assert_string_equal(str_of(e, "dataset"), "lu/bc");
    assert_true(json_is_true(json_object_get(json_object_get(e, "detail"), "grant_verified")));
    json_decref(all);
    grant_clear(&wrong);
    grant_clear(&expired);
    grant_clear(&forged);
    grant_clear(&gone);
    grant_clear(&relay);
}

/* ---- refused callers ----------------------------------------------------------------- */

/* Catalog.Get at LU presenting `cert`/`key` (PEM), trusting LU's CA. The
 * refusal's message in `why`. */
static void call_lu_as(const char *cert, const char *key, char *why, size_t cap)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/ca.pem", lu.res);
    char *ca = th_read(path);
    assert_non_null(ca);
    char target[64];
    snprintf(target, sizeof(target), "127.0.0.1:%d", lu.s.port);
    rpc_channel_options o = {target, ca, cert, key, "spiffe://lu/gateway", 0};
    rpc_channel *ch = NULL;
    ecl_err err;
    assert_int_equal(rpc_channel_open(&o, &ch, &err), 0);
    Ecluse__V1__GetDatasetRequest req = ECLUSE__V1__GET_DATASET_REQUEST__INIT;
    req.id = "lu/bc";
    ProtobufCMessage *resp = NULL;
    assert_int_equal(rpc_unary(ch, "/ecluse.v1.Catalog/Get", &req.base,
                               &ecluse__v1__catalog_listing__descriptor, &resp,
                               (int)(20000 * th_time_scale()), &err),
                     -1);
    snprintf(why, cap, "%s", err.msg);
    rpc_channel_close(ch);
    free(ca);
}

static char *read_in(const char *dir, const char *name)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    char *text = th_read(path);
    assert_non_null(text);
    return text;
}

/* A certificate for `spiffe` from LU's CA, as PEM. */
static void issue_by_lu(const char *spiffe, char **cert_pem, char **key_pem)
{
    char path[PATH_MAX + 32];
    X509 *ca = NULL, *cert = NULL;
    EVP_PKEY *ca_key = NULL, *key = NULL;
    ecl_err err;
    snprintf(path, sizeof(path), "%s/ca/ca.crt", lu.s.dir);
    assert_int_equal(pki_load_cert(path, &ca, &err), 0);
    snprintf(path, sizeof(path), "%s/ca/ca.key", lu.s.dir);
    assert_int_equal(pki_load_key(path, &ca_key, &err), 0);
    pki_leaf_request req = {spiffe, NULL, -60, 1};
    assert_int_equal(pki_issue(ca, ca_key, &req, &cert, &key, &err), 0);
    assert_int_equal(pki_cert_to_pem(cert, cert_pem, &err), 0);
    snprintf(path, sizeof(path), "%s/mallory.key", root);
    assert_int_equal(pki_write_key(path, key, &err), 0);
    *key_pem = th_read(path);
    assert_non_null(*key_pem);
    X509_free(ca);
    X509_free(cert);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(key);
}

/* 1 once LU's log has a line holding `needle` (it is written after the
 * status is sent, so it may come a moment later). */
static int lu_logged(const char *needle)
{
    for (int i = 0; i < 200; i++) {
        if (th_file_contains(lu.s.log, needle))
            return 1;
        usleep(50000);
    }
    return 0;
}

static void test_a_refused_peer_researcher_is_named_not_unauthenticated(void **state)
{
    (void)state;
    /* FI's researcher at LU's door: TLS lets FI's CA in, LU serves only
     * its own people; the certificate still proved who it is. */
    char why[ECL_ERR_MSG_MAX];
    char *cert = read_in(fi.res, "cert.pem"), *key = read_in(fi.res, "key.pem");
    call_lu_as(cert, key, why, sizeof(why));
    free(cert);
    free(key);
    if (strstr(why, "people are served only by their own site") == NULL)
        fail_msg("unexpected refusal: %s", why);
    if (!lu_logged("method=/ecluse.v1.Catalog/Get caller=spiffe://fi/researcher/res "
                   "status=PERMISSION_DENIED"))
        fail_msg("LU's log does not name spiffe://fi/researcher/res as the refused caller");

    /* LU's CA claiming an FI researcher: FI's CA did not vouch for it, so
     * the certificate proves nobody. */
    issue_by_lu("spiffe://fi/researcher/mallory", &cert, &key);
    call_lu_as(cert, key, why, sizeof(why));
    free(cert);
    free(key);
    if (!lu_logged("method=/ecluse.v1.Catalog/Get caller=unauthenticated"))
        fail_msg("LU's log does not call an unproved caller unauthenticated (%s)", why);
    assert_int_equal(th_file_contains(lu.s.log, "caller=spiffe://fi/researcher/mallory"), 0);
}

/* ---- ecluse pki on the trail ------------------------------------------------------- */

/* The entries of `all` of pki `action` for `subject`, in order. */
static json_t *pki_entries(const json_t *all, const char *action, const char *subject)
{
    return actions(all, action, "subject", subject);
}

/* The one serial a pki-revoke entry names (detail.serials). */
static const char *revoked_serial(const json_t *e)
{
    const json_t *serials = json_object_get(json_object_get(e, "detail"), "serials");
    assert_int_equal(json_array_size(serials), 1);
    return json_string_value(json_array_get(serials, 0));
}

static void test_pki_is_recorded_through_the_running_gateway(void **state)
{
    (void)state;
    /* LU runs: the gateway writes the entries, by the admin identity (the
     * site directory's only one, by default). */
    char late[PATH_MAX];
    th_issue(&lu.s, "researcher", "late", late, sizeof(late));
    assert_int_not_equal(th_run(out, sizeof(out), "pki", "issue", "--dir", lu.s.dir, "--role",
                                "researcher", "--name", "late", NULL),
                         0);
    must(th_run(out, sizeof(out), "pki", "revoke", "--dir", lu.s.dir, "--role", "researcher",
                "--name", "late", "--reason", "left the project", "--identity", lu.admin, NULL),
         "pki revoke");
    json_t *all = query(&lu, "--kind", "admin", NULL);
    json_t *issued = pki_entries(all, "pki-issue", "spiffe://lu/researcher/late");
    assert_int_equal(json_array_size(issued), 4);
    expect_intent_then(pair(issued, 0), "done");
    expect_intent_then(pair(issued, 2), "failed");
    assert_non_null(strstr(detail_str(json_array_get(issued, 3), "reason"), "give --renew"));
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(str_of(json_array_get(issued, i), "actor"), "spiffe://lu/admin/adm");
    const char *serial = detail_str(json_array_get(issued, 1), "serial");
    assert_true(strlen(serial) > 0);
    json_t *revoked = pki_entries(all, "pki-revoke", "spiffe://lu/researcher/late");
    expect_intent_then(json_incref(revoked), "done");
    assert_string_equal(revoked_serial(json_array_get(revoked, 1)), serial);
    assert_string_equal(detail_str(json_array_get(revoked, 0), "revocation_reason"),
                        "left the project");
    json_decref(revoked);
    json_decref(issued);
    json_decref(all);

    /* The recorder cannot revoke itself: its outcome would be refused. */
    assert_int_not_equal(th_run(out, sizeof(out), "pki", "revoke", "--dir", lu.s.dir, "--role",
                                "admin", "--name", "adm", "--identity", lu.admin, NULL),
                         0);
    assert_non_null(strstr(out, "cannot record its own revocation"));
    must(th_run(out, sizeof(out), "peer", "list", "--identity", lu.admin, NULL), "peer list");

    /* No admin identity to record it by: nothing is issued. */
    char work[PATH_MAX - 100], other_dir[PATH_MAX];
    th_tmpdir(work, sizeof(work));
    snprintf(other_dir, sizeof(other_dir), "%s/ghost", work);
    assert_int_equal(setenv("ECLUSE_IDENTITY", "/nonexistent/identity", 1), 0);
    assert_int_not_equal(th_run(out, sizeof(out), "pki", "issue", "--dir", lu.s.dir, "--role",
                                "researcher", "--name", "ghost", "--out", other_dir, NULL),
                         0);
    assert_int_equal(unsetenv("ECLUSE_IDENTITY"), 0);
    assert_int_equal(access(other_dir, F_OK), -1);
}

static void test_pki_without_a_gateway_appends_under_the_lock(void **state)
{
    (void)state;
    /* EE never started: the command holds the trail's lock and appends. */
    site ee;
    make_site(&ee, "ee", "EE");
    assert_int_not_equal(th_run(out, sizeof(out), "pki", "revoke", "--dir", ee.s.dir, "--role",
                                "researcher", "--name", "nobody", NULL),
                         0);
    must(th_run(out, sizeof(out), "pki", "revoke", "--dir", ee.s.dir, "--role", "researcher",
                "--name", "other", "--identity", ee.admin, NULL),
         "pki revoke");
    /* While the lock is held, a gateway does not start on this trail. */
    char lockdir[PATH_MAX + 8];
    snprintf(lockdir, sizeof(lockdir), "%s/data", ee.s.dir);
    int fd = -1;
    ecl_err err;
    assert_int_equal(site_audit_lock(lockdir, 0, &fd, &err), 0);
    assert_int_not_equal(th_run(out, sizeof(out), "gateway", "--config", ee.s.config, NULL), 0);
    if (strstr(out, "another process holds this site's audit trail") == NULL)
        fail_msg("the gateway did not say why it stopped: %s", out);
    close(fd);

    th_gateway_start(&ee.s);
    json_t *all = query(&ee, "--kind", "admin", NULL);
    /* make_site's four issues, by the CA key's holder (no identity yet). */
    json_t *adm = pki_entries(all, "pki-issue", "spiffe://ee/admin/adm");
    expect_intent_then(json_incref(adm), "done");
    assert_string_equal(str_of(json_array_get(adm, 1), "actor"), "spiffe://ee/ca");
    assert_true(strlen(detail_str(json_array_get(adm, 1), "local_user")) > 0);
    json_t *nobody = pki_entries(all, "pki-revoke", "spiffe://ee/researcher/nobody");
    expect_intent_then(json_incref(nobody), "failed");
    assert_non_null(strstr(detail_str(json_array_get(nobody, 1), "reason"), "no certificate"));
    json_t *other = pki_entries(all, "pki-revoke", "spiffe://ee/researcher/other");
    expect_intent_then(json_incref(other), "done");
    assert_string_equal(str_of(json_array_get(other, 1), "actor"), "spiffe://ee/admin/adm");
    json_t *issued = pki_entries(all, "pki-issue", "spiffe://ee/researcher/other");
    assert_string_equal(revoked_serial(json_array_get(other, 1)),
                        detail_str(json_array_get(issued, 1), "serial"));
    json_decref(issued);
    json_decref(other);
    json_decref(nobody);
    json_decref(adm);
    json_decref(all);
    /* A key rotation: its intent names the new key, its outcome the step. */
    must(th_run(out, sizeof(out), "key", "rotate", "--identity", ee.admin, NULL), "key rotate");
    all = query(&ee, "--kind", "admin", NULL);
    json_t *rot = actions(all, "rotate-key", NULL, NULL);
    expect_intent_then(json_incref(rot), "done");
    assert_true(strlen(detail_str(json_array_get(rot, 0), "new_key")) > 0);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_array_get(rot, 1), "detail"), "sequence")),
                     1);
    json_decref(rot);
    json_decref(all);
    /* One chain: the command's entries and the gateway's after them. */
    must(th_run(out, sizeof(out), "audit", "verify", "--no-witnesses", "--identity", ee.auditor,
                NULL),
         "audit verify");
    assert_int_equal(th_gateway_stop(&ee.s, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_failed_dataset_add_is_recorded_as_failed),
        cmocka_unit_test(test_one_done_outcome_per_dataset_published),
        cmocka_unit_test(test_a_failed_peer_remove_is_not_a_second_removal),
        cmocka_unit_test(test_refused_reads_are_recorded_with_the_reason),
        cmocka_unit_test(test_a_refused_peer_researcher_is_named_not_unauthenticated),
        cmocka_unit_test(test_pki_is_recorded_through_the_running_gateway),
        cmocka_unit_test(test_pki_without_a_gateway_appends_under_the_lock),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
