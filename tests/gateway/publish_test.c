/*
 * publish_test.c - a real gateway on loopback refuses to publish what it
 * could not serve, names the problem, the tensor and the file, and leaves
 * nothing behind: no dataset listed, no stored file, no audit entry that
 * says it was done. The --allow-* switches publish exactly those cases.
 *
 * Also: an unassigned country code is refused at the CLI and at the
 * gateway, naming the option or field and the code; and a researcher whose
 * read fails on a damaged file at the site learns what went wrong in words,
 * never the site's file-system path, which the gateway's log keeps.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "proto/ecluse.pb-c.h"
#include "rpc/client.h"
#include "rpc/rpc.h"
#include "store/writer.h"
#include "tests/support/harness.h"

static char root[PATH_MAX], files[PATH_MAX + 16];
static char admin[PATH_MAX + 64], auditor[PATH_MAX + 64], researcher[PATH_MAX + 64];
static th_site fi;
static char out[1 << 16];

static void must(int rc, const char *what)
{
    if (rc != 0)
        fail_msg("%s failed (%d): %s", what, rc, out);
}

static void write_text(const char *name, const char *text, char *path, size_t cap)
{
    assert_true(snprintf(path, cap, "%s/%s", files, name) < (int)cap);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
}

/* An anonymous-data policy for fi/NAME over the given tensors. */
static void write_policy(const char *name, const char *tensors_json, const char *names_json,
                         char *path, size_t cap)
{
    char text[2048], file[96];
    snprintf(text, sizeof(text),
             "{\"ecluse_policy\": 1, \"dataset\": \"fi/%s\", \"category\": \"anonymous\","
             " \"purposes\": {\"allowed\": [\"NRES\"]}, \"tensors\": [%s],"
             " \"minimisation\": {\"default\": {\"tensors\": [%s], \"max_rows\": 100}},"
             " \"storage\": {\"max_grant_days\": 30}}",
             name, tensors_json, names_json);
    snprintf(file, sizeof(file), "%s.json", name);
    write_text(file, text, path, cap);
}

static void write_policy2(const char *name, char *path, size_t cap)
{
    write_policy(name, "{\"name\": \"features\"}, {\"name\": \"labels\"}",
                 "\"features\", \"labels\"", path, cap);
}

/* A safetensors source with features [rows_f, 2] F32 and labels [rows_l] I64. */
static void write_st(const char *name, uint64_t rows_f, uint64_t rows_l, char *path, size_t cap)
{
    assert_true(snprintf(path, cap, "%s/%s.safetensors", files, name) < (int)cap);
    float x[16] = {0};
    int64_t y[8] = {0};
    uint64_t sf[2] = {rows_f, 2}, sl[1] = {rows_l};
    ecl_err err;
    store_writer *w;
    assert_int_equal(store_writer_new(&w, &err), 0);
    assert_int_equal(store_writer_add(w, "features", STORE_DT_F32, 2, sf, rows_f ? x : NULL,
                                      rows_f * 2 * sizeof(float), &err),
                     0);
    assert_int_equal(store_writer_add(w, "labels", STORE_DT_I64, 1, sl, rows_l ? y : NULL,
                                      rows_l * sizeof(int64_t), &err),
                     0);
    assert_int_equal(store_writer_write(w, path, &err), 0);
    store_writer_free(w);
}

static int dataset_add(const char *name, const char *from, const char *policy, const char *extra)
{
    if (extra != NULL)
        return th_run(out, sizeof(out), "dataset", "add", name, "--from", from, "--label-column",
                      "-1", "--title", name, "--description", "test data", "--policy", policy,
                      extra, "--identity", admin, NULL);
    return th_run(out, sizeof(out), "dataset", "add", name, "--from", from, "--label-column", "-1",
                  "--title", name, "--description", "test data", "--policy", policy, "--identity",
                  admin, NULL);
}

static int dataset_add_st(const char *name, const char *from, const char *policy)
{
    return th_run(out, sizeof(out), "dataset", "add", name, "--from", from, "--title", name,
                  "--description", "test data", "--policy", policy, "--identity", admin, NULL);
}

/* Nothing of fi/NAME was left: not listed, no stored file, and the trail
 * holds its add-dataset only as failed, with the reason. */
static void assert_left_nothing(const char *name, const char *reason)
{
    char id[96], path[PATH_MAX + 160];
    snprintf(id, sizeof(id), "fi/%s", name);
    must(th_run(out, sizeof(out), "dataset", "list", "--identity", admin, NULL), "dataset list");
    if (strstr(out, id) != NULL)
        fail_msg("%s is listed after a refused add: %s", id, out);
    snprintf(path, sizeof(path), "%s/data/datasets/%s.safetensors", fi.dir, name);
    assert_int_equal(access(path, F_OK), -1);
    snprintf(path, sizeof(path), "%s/data/datasets/%s.leaves", fi.dir, name);
    assert_int_equal(access(path, F_OK), -1);
    must(th_run(out, sizeof(out), "audit", "query", "--kind", "catalog", "--dataset", id, "--json",
                "--identity", auditor, NULL),
         "audit query");
    int failed = 0;
    for (char *line = strtok(out, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        if (strstr(line, "\"add-dataset\"") == NULL)
            continue;
        if (strstr(line, "\"outcome\":\"done\"") != NULL)
            fail_msg("the trail says the refused add of %s was done: %s", id, line);
        if (strstr(line, "\"outcome\":\"failed\"") != NULL && strstr(line, reason) != NULL)
            failed++;
    }
    if (failed != 1)
        fail_msg("expected one failed add-dataset entry for %s naming '%s'", id, reason);
}

static void assert_refused(int rc, const char *name, const char *file, const char *tensor,
                           const char *problem)
{
    if (rc != 3)
        fail_msg("dataset add %s: expected exit 3 (bad input), got %d: %s", name, rc, out);
    char want[PATH_MAX + 128];
    snprintf(want, sizeof(want), "%s: tensor '%s': %s", file, tensor, problem);
    if (strstr(out, want) == NULL)
        fail_msg("dataset add %s: the message does not say '%s': %s", name, want, out);
    assert_left_nothing(name, problem);
}

static int setup(void **state)
{
    (void)state;
    th_tmpdir(root, sizeof(root));
    snprintf(files, sizeof(files), "%s/src", root);
    assert_int_equal(mkdir(files, 0700), 0);
    th_site_create(&fi, root, "fi", "FI");
    th_issue(&fi, "admin", "adm", admin, sizeof(admin));
    th_issue(&fi, "auditor", "aud", auditor, sizeof(auditor));
    must(th_run(out, sizeof(out), "pki", "issue", "--dir", fi.dir, "--role", "researcher", "--name",
                "rita", "--affiliation", "University of Helsinki", "--org-type", "academic", NULL),
         "pki issue");
    snprintf(researcher, sizeof(researcher), "%s/identities/researcher-rita", fi.dir);
    th_gateway_start(&fi);
    rpc_library_init(0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rpc_library_shutdown();
    return fi.pid != 0 && th_gateway_stop(&fi, NULL) != 0 ? -1 : 0;
}

static void test_policy_tensor_the_data_lacks(void **state)
{
    (void)state;
    char csv[PATH_MAX], pol[PATH_MAX];
    write_text("lacks.csv", "1,2,0\n3,4,1\n", csv, sizeof(csv));
    write_policy("lacks",
                 "{\"name\": \"features\"}, {\"name\": \"labels\"}, {\"name\": \"genome\"}",
                 "\"features\", \"labels\", \"genome\"", pol, sizeof(pol));
    assert_refused(dataset_add("lacks", csv, pol, NULL), "lacks", csv, "genome",
                   "the policy declares it, but the data lacks it");
}

static void test_row_counts_differ(void **state)
{
    (void)state;
    char st[PATH_MAX], pol[PATH_MAX];
    write_st("ragged", 4, 3, st, sizeof(st));
    write_policy2("ragged", pol, sizeof(pol));
    assert_refused(dataset_add_st("ragged", st, pol), "ragged", st, "labels",
                   "has 3 rows, but tensor 'features' has 4");
}

static void test_zero_rows(void **state)
{
    (void)state;
    char st[PATH_MAX], pol[PATH_MAX];
    write_st("empty", 0, 0, st, sizeof(st));
    write_policy2("empty", pol, sizeof(pol));
    assert_refused(dataset_add_st("empty", st, pol), "empty", st, "features",
                   "has zero rows: there is nothing to serve");
}

static void test_nonfinite_features(void **state)
{
    (void)state;
    char csv[PATH_MAX], pol[PATH_MAX];
    write_text("nan.csv", "1,2,0\n3,nan,1\n5,inf,0\n", csv, sizeof(csv));
    write_policy2("nan", pol, sizeof(pol));
    assert_refused(dataset_add("nan", csv, pol, NULL), "nan", csv, "features",
                   "2 NaN or infinite F32 value(s), the first at row 1");
    /* Said on purpose, it publishes. */
    must(dataset_add("nan", csv, pol, "--allow-nonfinite"), "dataset add --allow-nonfinite");
    assert_non_null(strstr(out, "Published dataset"));
}

static void test_negative_labels(void **state)
{
    (void)state;
    char csv[PATH_MAX], pol[PATH_MAX];
    write_text("neg.csv", "1,2,0\n3,4,1\n5,6,-1\n", csv, sizeof(csv));
    write_policy2("neg", pol, sizeof(pol));
    assert_refused(dataset_add("neg", csv, pol, NULL), "neg", csv, "labels",
                   "1 negative label(s), the first -1 at row 2");
    must(dataset_add("neg", csv, pol, "--allow-negative-labels"),
         "dataset add --allow-negative-labels");
    assert_non_null(strstr(out, "Published dataset"));
}

/* `ecluse policy check`: the load-time checks, and with --data the
 * publishing checks, every problem printed; run locally, it changes nothing. */
static void test_policy_check(void **state)
{
    (void)state;
    char csv[PATH_MAX], pol[PATH_MAX], st[PATH_MAX], bad[PATH_MAX];
    write_text("pc.csv", "1,2,0\n3,inf,1\n5,6,-2\n", csv, sizeof(csv));
    write_policy2("pc", pol, sizeof(pol));
    must(th_run(out, sizeof(out), "policy", "check", pol, NULL), "policy check");
    assert_non_null(strstr(out, "valid, for dataset fi/pc; tensors: features, labels"));
    /* Both problems of the data are listed, then the refusal. */
    assert_int_equal(th_run(out, sizeof(out), "policy", "check", pol, "--data", csv,
                            "--label-column", "-1", NULL),
                     3);
    assert_non_null(strstr(out, "tensor 'features': 1 NaN or infinite F32 value(s)"));
    assert_non_null(strstr(out, "tensor 'labels': 1 negative label(s), the first -2 at row 2"));
    assert_non_null(strstr(out, "'dataset add' would refuse"));
    must(th_run(out, sizeof(out), "policy", "check", pol, "--data", csv, "--label-column", "-1",
                "--allow-nonfinite", "--allow-negative-labels", NULL),
         "policy check --allow-*");
    assert_non_null(strstr(out, "the data can be published under this policy"));
    /* Safetensors data, read as it is. */
    write_st("pcst", 2, 5, st, sizeof(st));
    assert_int_equal(th_run(out, sizeof(out), "policy", "check", pol, "--data", st, NULL), 3);
    assert_non_null(strstr(out, "tensor 'labels': has 5 rows, but tensor 'features' has 2"));
    /* A policy that does not load is named with its field and the code. */
    write_text("pcbad.json",
               "{\"ecluse_policy\": 1, \"dataset\": \"fi/pc\", \"category\": \"anonymous\","
               " \"purposes\": {\"allowed\": [\"NRES\"], \"modifiers\": [\"GS\"],"
               " \"geographic_area\": [\"QQ\"]},"
               " \"tensors\": [{\"name\": \"features\"}],"
               " \"minimisation\": {\"default\": {\"tensors\": [\"features\"], \"max_rows\": 9}},"
               " \"storage\": {\"max_grant_days\": 30}}",
               bad, sizeof(bad));
    assert_int_equal(th_run(out, sizeof(out), "policy", "check", bad, NULL), 3);
    assert_non_null(strstr(out, "purposes.geographic_area[0]: 'QQ' is neither"));
    assert_non_null(strstr(out, "pcbad.json"));
    /* Nothing was published by any of it. */
    must(th_run(out, sizeof(out), "dataset", "list", "--identity", admin, NULL), "dataset list");
    assert_null(strstr(out, "fi/pc"));
}

/* An Access.Request sent as the researcher, past the CLI's own checks. */
static int raw_access_request(const char *country, ecl_err *err)
{
    char path[2 * PATH_MAX], target[64];
    snprintf(path, sizeof(path), "%s/ca.pem", researcher);
    char *ca = th_read(path);
    snprintf(path, sizeof(path), "%s/cert.pem", researcher);
    char *cert = th_read(path);
    snprintf(path, sizeof(path), "%s/key.pem", researcher);
    char *key = th_read(path);
    snprintf(target, sizeof(target), "127.0.0.1:%d", fi.port);
    rpc_channel_options o = {target, ca, cert, key, "spiffe://fi/gateway", 0};
    rpc_channel *ch = NULL;
    assert_int_equal(rpc_channel_open(&o, &ch, err), 0);
    Ecluse__V1__AccessRequest req = ECLUSE__V1__ACCESS_REQUEST__INIT;
    req.dataset = "fi/nan";
    req.purpose = "GRU";
    req.job_country = (char *)country;
    ProtobufCMessage *resp = NULL;
    int rc = rpc_unary(ch, "/ecluse.v1.Access/Check", &req.base,
                       &ecluse__v1__access_decision__descriptor, &resp,
                       (int)(20000 * th_time_scale()), err);
    if (resp != NULL)
        protobuf_c_message_free_unpacked(resp, NULL);
    rpc_channel_close(ch);
    free(ca);
    free(cert);
    free(key);
    return rc;
}

static void test_unassigned_job_country_refused(void **state)
{
    (void)state;
    /* At the CLI, naming the option. */
    int rc = th_run(out, sizeof(out), "access", "check", "fi/nan", "--purpose", "GRU", "--basis",
                    "art6-1-e", "--job-country", "QQ", "--identity", researcher, NULL);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(out, "--job-country 'QQ' is not an ISO 3166-1 alpha-2 country code"));
    /* At the gateway, naming the field, even for anonymous data that no
     * transfer rule would look at. */
    ecl_err err;
    assert_int_equal(raw_access_request("QQ", &err), -1);
    assert_int_equal(err.code, ECL_E_INPUT);
    assert_non_null(strstr(err.msg, "job_country 'QQ' is not an ISO 3166-1 alpha-2 country code"));
    /* A real country is decided. */
    if (raw_access_request("SG", &err) != 0)
        fail_msg("access check from SG: %s", err.msg);
}

/* Replace the stored file by rename (as ecluse itself does), so no open map
 * of it is disturbed. */
static void damage_stored_file(const char *name)
{
    char path[PATH_MAX + 160], tmp[PATH_MAX + 170];
    snprintf(path, sizeof(path), "%s/data/datasets/%s.safetensors", fi.dir, name);
    snprintf(tmp, sizeof(tmp), "%s.damaged", path);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    assert_true(fputs("\x10\x00\x00\x00\x00\x00\x00\x00{not json at all", f) >= 0);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(rename(tmp, path), 0);
}

static void test_remote_error_names_no_site_path(void **state)
{
    (void)state;
    char csv[PATH_MAX], pol[PATH_MAX], grant[PATH_MAX + 32], got[PATH_MAX + 32];
    write_text("cohort.csv", "1,2,0\n3,4,1\n5,6,0\n", csv, sizeof(csv));
    write_policy2("cohort", pol, sizeof(pol));
    must(dataset_add("cohort", csv, pol, NULL), "dataset add cohort");
    snprintf(grant, sizeof(grant), "%s/cohort.grant", root);
    snprintf(got, sizeof(got), "%s/cohort.safetensors", root);
    must(th_run(out, sizeof(out), "access", "request", "fi/cohort", "--purpose", "GRU", "--basis",
                "art6-1-e", "--job-country", "FI", "--save-grant", grant, "--identity", researcher,
                NULL),
         "access request");
    must(th_run(out, sizeof(out), "fetch", "--grant", grant, "-o", got, "--no-progress",
                "--identity", researcher, NULL),
         "fetch");
    damage_stored_file("cohort");
    int rc = th_run(out, sizeof(out), "fetch", "--grant", grant, "-o", got, "--no-progress",
                    "--identity", researcher, NULL);
    assert_int_not_equal(rc, 0);
    /* The problem in words, the place withheld. */
    if (strstr(out, "not valid JSON") == NULL && strstr(out, "header") == NULL)
        fail_msg("the researcher is not told what is wrong: %s", out);
    if (strstr(out, RPC_PATH_WITHHELD) == NULL)
        fail_msg("the researcher's message does not say a file of the site is at fault: %s", out);
    if (strstr(out, fi.dir) != NULL || strstr(out, "/datasets/") != NULL)
        fail_msg("the researcher sees a path of the site: %s", out);
    /* The gateway's own log keeps the whole message. */
    char stored[PATH_MAX + 160];
    snprintf(stored, sizeof(stored), "%s/data/datasets/cohort.safetensors", fi.dir);
    assert_true(th_file_contains(fi.log, stored));
}

/* The boundary function itself, on the kinds of messages ecluse writes. */
static void test_strip_paths(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"/srv/fi/data/datasets/x.safetensors: header is not valid JSON",
         "(a file at the site): header is not valid JSON"},
        {"cannot open '/srv/fi/data/x.leaves' (No such file)",
         "cannot open '(a file at the site)' (No such file)"},
        {"mmap /a/b failed, then ./rel/c and ../up/d", "mmap (a file at the site) failed, then "
                                                       "(a file at the site) and (a file at the "
                                                       "site)"},
        {"dataset 'fi/cohort' for spiffe://fi/researcher/rita via https://x.org/a",
         "dataset 'fi/cohort' for spiffe://fi/researcher/rita via https://x.org/a"},
        {"rows a / b, path=/etc/ecluse/sccs.json, done",
         "rows a / b, path=(a file at the site), done"},
        {"unimplemented: /ecluse.v1.Admin/Nothing is not a method",
         "unimplemented: /ecluse.v1.Admin/Nothing is not a method"},
        {"/some.other.Service/Method, not /srv/x.d/Data or /a.b/c",
         "/some.other.Service/Method, not (a file at the site) or (a file at the site)"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char got[ECL_ERR_MSG_MAX];
        rpc_status_strip_paths(cases[i][0], got, sizeof(got));
        assert_string_equal(got, cases[i][1]);
    }
    char small[8];
    rpc_status_strip_paths("/a/b/c/d/e", small, sizeof(small));
    assert_string_equal(small, "(a file");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strip_paths),
        cmocka_unit_test(test_policy_tensor_the_data_lacks),
        cmocka_unit_test(test_row_counts_differ),
        cmocka_unit_test(test_zero_rows),
        cmocka_unit_test(test_nonfinite_features),
        cmocka_unit_test(test_negative_labels),
        cmocka_unit_test(test_policy_check),
        cmocka_unit_test(test_unassigned_job_country_refused),
        cmocka_unit_test(test_remote_error_names_no_site_path),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
