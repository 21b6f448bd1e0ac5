/*
 * fetch_records_test.c - the record `ecluse fetch` keeps of what it wrote,
 * and `ecluse fetches erase-rows`, against a real gateway.
 *
 * LU publishes lu/d (10 rows: three features and a label); its researcher
 * fetches all of it. Rows 3 and 4 are then erased (`ecluse dataset erase`)
 * and the same grant fetches again: every row but 3
 * and 4, and rows 0 to 6 of those. Removing rows from the first file must
 * give exactly the bytes of the later fetches, also when the removal
 * resumes one a crash cut short (before or after its rename). Files that
 * changed, are truncated, are not safetensors or do not have the record's
 * rows are refused with the reason, and left as they were.
 */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "client/fetch_record.h"
#include "tests/support/harness.h"

#define OUT_MAX (64 * 1024)

static char root[PATH_MAX - 200], state[PATH_MAX - 100], records[PATH_MAX], grant[PATH_MAX];
static th_site lu;
static char admin[PATH_MAX], res[PATH_MAX];
static char out[OUT_MAX];

static void must(int rc, const char *what)
{
    if (rc != 0)
        fail_msg("%s failed (%d):\n%s", what, rc, out);
}

static void write_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* A whole file, its length in *len. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("%s: cannot open", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void assert_same_bytes(const char *a, const char *b)
{
    size_t na, nb;
    char *x = slurp(a, &na), *y = slurp(b, &nb);
    if (na != nb || memcmp(x, y, na) != 0)
        fail_msg("%s (%zu bytes) differs from %s (%zu bytes)", a, na, b, nb);
    free(x);
    free(y);
}

static void copy_file(const char *from, const char *to)
{
    size_t n;
    char *x = slurp(from, &n);
    write_file(to, x, n);
    free(x);
}

static int setup(void **st)
{
    (void)st;
    th_tmpdir(root, sizeof(root));
    snprintf(state, sizeof(state), "%s/state", root);
    snprintf(records, sizeof(records), "%s/ecluse/fetches", state);
    assert_int_equal(setenv("XDG_STATE_HOME", state, 1), 0);
    th_site_create(&lu, root, "lu", "LU");
    th_issue(&lu, "admin", "adm", admin, sizeof(admin));
    th_issue(&lu, "researcher", "res", res, sizeof(res));
    th_gateway_start(&lu);
    char data[PATH_MAX], policy[PATH_MAX], csv[1024] = "";
    for (int i = 0; i < 10; i++) {
        char row[64];
        snprintf(row, sizeof(row), "%d.5,%d.25,%d.125,%d\n", i, 10 + i, 20 + i, i % 3);
        strcat(csv, row);
    }
    snprintf(data, sizeof(data), "%s/d.csv", root);
    snprintf(policy, sizeof(policy), "%s/d.policy.json", root);
    write_file(data, csv, strlen(csv));
    const char *p =
        "{\"ecluse_policy\": 1, \"dataset\": \"lu/d\", \"category\": \"anonymous\", "
        "\"purposes\": {\"allowed\": [\"NRES\"]}, \"tensors\": [{\"name\": \"features\"}, "
        "{\"name\": \"labels\"}], \"minimisation\": {\"default\": {\"tensors\": "
        "[\"features\", \"labels\"], \"max_rows\": 10}}, \"storage\": {\"max_grant_days\": 30}}\n";
    write_file(policy, p, strlen(p));
    must(th_run(out, sizeof(out), "dataset", "add", "d", "--from", data, "--label-column", "-1",
                "--title", "D", "--description", "Rows to fetch and withdraw", "--policy", policy,
                "--identity", admin, NULL),
         "dataset add");
    snprintf(grant, sizeof(grant), "%s/d.grant", root);
    must(th_run(out, sizeof(out), "access", "request", "lu/d", "--purpose", "GRU", "--basis",
                "art6-1-e", "--job-country", "LU", "--save-grant", grant, "--identity", res, NULL),
         "access request");
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    return lu.pid != 0 && th_gateway_stop(&lu, NULL) != 0 ? -1 : 0;
}

/* `ecluse fetch` into root/NAME.safetensors; the read id into `id`. */
static void fetch(const char *name, const char *rows, char *path, size_t cap, char id[65])
{
    snprintf(path, cap, "%s/%s.safetensors", root, name);
    if (rows != NULL)
        must(th_run(out, sizeof(out), "fetch", "--grant", grant, "-o", path, "--rows", rows,
                    "--no-progress", "--no-receipt", "--identity", res, NULL),
             "fetch");
    else
        must(th_run(out, sizeof(out), "fetch", "--grant", grant, "-o", path, "--no-progress",
                    "--no-receipt", "--identity", res, NULL),
             "fetch");
    const char *at = strstr(out, "; read ");
    if (at == NULL || sscanf(at + 7, "%64[0-9a-f]", id) != 1)
        fail_msg("no read id in the fetch's output:\n%s", out);
}

static char *record_path(const char *id, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s.json", records, id);
    return buf;
}

static json_t *record_json(const char *id)
{
    char p[PATH_MAX + 80];
    json_error_t jerr;
    json_t *o = json_load_file(record_path(id, p, sizeof(p)), 0, &jerr);
    if (o == NULL)
        fail_msg("%s: %s", p, jerr.text);
    return o;
}

/* The record's "rows" (or another list) as "b:e,b:e". */
static void ranges_text(json_t *o, const char *key, char *buf, size_t cap)
{
    buf[0] = '\0';
    json_t *a = json_object_get(o, key);
    for (size_t i = 0; i < json_array_size(a); i++) {
        char one[48];
        snprintf(one, sizeof(one), "%s%lld:%lld", i ? "," : "",
                 (long long)json_integer_value(json_array_get(json_array_get(a, i), 0)),
                 (long long)json_integer_value(json_array_get(json_array_get(a, i), 1)));
        strncat(buf, one, cap - strlen(buf) - 1);
    }
}

static void expect_record(const char *id, const char *file, const char *rows, const char *erased)
{
    json_t *o = record_json(id);
    char got[256], sha[65];
    ecl_err err;
    ranges_text(o, "rows", got, sizeof(got));
    assert_string_equal(got, rows);
    ranges_text(o, "erased", got, sizeof(got));
    assert_string_equal(got, erased);
    if (ecl_file_sha256(file, sha, NULL, &err) != 0)
        fail_msg("%s", err.msg);
    assert_string_equal(json_string_value(json_object_get(o, "sha256")), sha);
    assert_string_equal(json_string_value(json_object_get(o, "file")), file);
    assert_null(json_object_get(o, "pending"));
    json_decref(o);
}

static char full[PATH_MAX], full_id[65], full_record[PATH_MAX + 80];
static char *full_bytes, *full_record_text;
static size_t full_len, full_record_len;

static void test_fetch_keeps_a_record(void **st)
{
    (void)st;
    fetch("full", NULL, full, sizeof(full), full_id);
    char path[PATH_MAX + 80];
    if (strstr(out, record_path(full_id, path, sizeof(path))) == NULL)
        fail_msg("the fetch does not name its record %s:\n%s", path, out);
    struct stat s;
    assert_int_equal(stat(path, &s), 0);
    assert_int_equal(s.st_mode & 0777, 0600);
    assert_int_equal(stat(records, &s), 0);
    assert_int_equal(s.st_mode & 0777, 0700);
    expect_record(full_id, full, "0:10", "");
    json_t *o = record_json(full_id);
    assert_string_equal(json_string_value(json_object_get(o, "read_id")), full_id);
    assert_string_equal(json_string_value(json_object_get(o, "dataset")), "lu/d");
    assert_int_equal(strlen(json_string_value(json_object_get(o, "grant_digest"))), 64);
    assert_int_equal(strlen(json_string_value(json_object_get(o, "dataset_entry_digest"))), 64);
    assert_true(json_string_length(json_object_get(o, "grant_id")) > 0);
    assert_true(json_integer_value(json_object_get(o, "fetched_unix")) > 1700000000);
    json_t *t = json_object_get(o, "tensors");
    assert_int_equal(json_array_size(t), 2);
    assert_string_equal(json_string_value(json_array_get(t, 0)), "features");
    assert_string_equal(json_string_value(json_array_get(t, 1)), "labels");
    json_decref(o);

    must(th_run(out, sizeof(out), "fetches", NULL), "fetches");
    assert_non_null(strstr(out, full_id));
    assert_non_null(strstr(out, full));
    assert_non_null(strstr(out, "rows 0:10 (10)"));
    must(th_run(out, sizeof(out), "fetches", "--json", NULL), "fetches --json");
    json_error_t jerr;
    /* One record, so one line: the record as stored. */
    assert_non_null(strchr(out, '\n'));
    assert_null(strchr(strchr(out, '\n') + 1, '\n'));
    json_t *all = json_loads(out, 0, &jerr);
    assert_non_null(all);
    assert_string_equal(json_string_value(json_object_get(all, "read_id")), full_id);
    json_decref(all);

    /* Kept to replay an interrupted removal below. */
    full_bytes = slurp(full, &full_len);
    snprintf(full_record, sizeof(full_record), "%s", path);
    full_record_text = slurp(full_record, &full_record_len);
}

/* The record as it was right after the first fetch, with a removal of
 * rows 3:5 under way whose new file has the SHA-256 of `pending_file`. */
static void interrupted_record(const char *pending_file)
{
    char sha[65];
    ecl_err err;
    if (ecl_file_sha256(pending_file, sha, NULL, &err) != 0)
        fail_msg("%s", err.msg);
    json_error_t jerr;
    json_t *o = json_loadb(full_record_text, full_record_len, 0, &jerr);
    assert_non_null(o);
    json_object_set_new(o, "pending", json_pack("{s:s,s:[[ii]]}", "sha256", sha, "erase", 3, 5));
    assert_int_equal(json_dump_file(o, full_record, JSON_INDENT(2)), 0);
    json_decref(o);
}

static void test_removed_rows_give_the_bytes_of_a_fresh_fetch(void **st)
{
    (void)st;
    must(th_run(out, sizeof(out), "dataset", "erase", "d", "--rows", "3:5", "--reason",
                "a data subject withdrew", "--identity", admin, NULL),
         "dataset erase");
    char rest[PATH_MAX], rest_id[65], head[PATH_MAX], head_id[65];
    fetch("rest", NULL, rest, sizeof(rest), rest_id);
    expect_record(rest_id, rest, "0:3,5:10", "");
    fetch("head", "0:7", head, sizeof(head), head_id);
    expect_record(head_id, head, "0:3,5:7", "");

    /* A removal cut short before its rename: the old file, a half-written
     * FILE.erasing. The next run forgets it and does the work. */
    char erasing[PATH_MAX + 16];
    snprintf(erasing, sizeof(erasing), "%s.erasing", full);
    write_file(erasing, "half", 4);
    interrupted_record(rest);
    must(th_run(out, sizeof(out), "fetches", "erase-rows", full_id, "--rows", "3:5", NULL),
         "erase-rows 3:5");
    assert_non_null(strstr(out, "removed 2 row(s); 8 left"));
    assert_same_bytes(full, rest);
    assert_int_equal(access(erasing, F_OK), -1);
    expect_record(full_id, full, "0:3,5:10", "3:5");

    /* Cut short after its rename: the new file, the old record. The next
     * run settles the record, then removes rows 7 to 9 (row 4 is gone). */
    interrupted_record(rest);
    must(th_run(out, sizeof(out), "fetches", "erase-rows", full_id, "--rows", "7:10,4", NULL),
         "erase-rows 7:10,4");
    assert_non_null(strstr(out, "removed 3 row(s); 5 left"));
    assert_non_null(strstr(out, "1 of the rows asked for were not in the file"));
    assert_same_bytes(full, head);
    expect_record(full_id, full, "0:3,5:7", "3:5,7:10");

    /* The same from a file with a hole, without any history. */
    must(th_run(out, sizeof(out), "fetches", "erase-rows", rest_id, "--rows", "7:10", NULL),
         "erase-rows 7:10 of rest");
    assert_same_bytes(rest, head);
    expect_record(rest_id, rest, "0:3,5:7", "7:10");

    /* Rows it does not hold: nothing to do, nothing written. */
    char before[PATH_MAX + 16];
    snprintf(before, sizeof(before), "%s.before", full);
    copy_file(full, before);
    must(th_run(out, sizeof(out), "fetches", "erase-rows", full_id, "--rows", "3,20:30", NULL),
         "erase-rows of absent rows");
    assert_non_null(strstr(out, "nothing to do"));
    assert_same_bytes(full, before);
    expect_record(full_id, full, "0:3,5:7", "3:5,7:10");
}

/* `erase-rows` of read `id` must fail with `code`, say `why`, and leave
 * the file's bytes and the record as they were. */
static void refused(const char *id, const char *file, const char *rows, int code, const char *why)
{
    char rec[PATH_MAX + 80], erasing[PATH_MAX + 16];
    size_t nf = 0, nr = 0, nf2 = 0, nr2 = 0;
    int had_file = access(file, F_OK) == 0;
    char *f0 = had_file ? slurp(file, &nf) : NULL,
         *r0 = slurp(record_path(id, rec, sizeof(rec)), &nr);
    int rc = th_run(out, sizeof(out), "fetches", "erase-rows", id, "--rows", rows, NULL);
    if (rc != code || strstr(out, why) == NULL)
        fail_msg("expected exit %d saying '%s', got %d:\n%s", code, why, rc, out);
    print_message("refused: %s", out);
    if (had_file) {
        char *f1 = slurp(file, &nf2);
        assert_true(nf == nf2 && memcmp(f0, f1, nf) == 0);
        free(f1);
    }
    char *r1 = slurp(rec, &nr2);
    assert_true(nr == nr2 && memcmp(r0, r1, nr) == 0);
    snprintf(erasing, sizeof(erasing), "%s.erasing", file);
    assert_int_equal(access(erasing, F_OK), -1);
    free(f0);
    free(r0);
    free(r1);
}

static void test_bad_files_are_refused_and_left_alone(void **st)
{
    (void)st;
    char path[PATH_MAX], id[65];

    /* Changed since the fetch: one byte of the data flipped. */
    fetch("changed", NULL, path, sizeof(path), id);
    size_t n;
    char *b = slurp(path, &n);
    b[n - 1] ^= 0x40;
    write_file(path, b, n);
    free(b);
    refused(id, path, "0:2", 10, "the file changed since the fetch");

    /* Truncated. */
    fetch("truncated", NULL, path, sizeof(path), id);
    assert_int_equal(truncate(path, 40), 0);
    refused(id, path, "0:2", 3, "not a valid safetensors file, left as it is");

    /* Not safetensors at all. */
    fetch("text", NULL, path, sizeof(path), id);
    write_file(path, "not a tensor file\n", 18);
    refused(id, path, "0:2", 3, "not a valid safetensors file, left as it is");

    /* The record says 9 rows, the tensors have 8. */
    fetch("rows", NULL, path, sizeof(path), id);
    json_t *o = record_json(id);
    json_object_set_new(o, "rows", json_pack("[[ii][ii]]", 0, 4, 5, 10));
    char rec[PATH_MAX + 80];
    assert_int_equal(json_dump_file(o, record_path(id, rec, sizeof(rec)), 0), 0);
    json_decref(o);
    refused(id, path, "0:2", 3, "has 8 rows, the record of read");

    /* Gone. */
    fetch("gone", NULL, path, sizeof(path), id);
    assert_int_equal(unlink(path), 0);
    refused(id, path, "0:2", 5, path);

    /* Bad requests. */
    assert_int_equal(
        th_run(out, sizeof(out), "fetches", "erase-rows", "0123abcd", "--rows", "1", NULL), 5);
    assert_non_null(strstr(out, "no fetch record of read 0123abcd"));
    assert_int_equal(th_run(out, sizeof(out), "fetches", "erase-rows", "../x", "--rows", "1", NULL),
                     2);
    assert_non_null(strstr(out, "'../x' is not a read id"));
    assert_int_equal(th_run(out, sizeof(out), "fetches", "erase-rows", id, "--rows", "5:3", NULL),
                     2);
    assert_non_null(strstr(out, "5:3 is empty"));
    assert_int_equal(th_run(out, sizeof(out), "fetches", "erase-rows", id, NULL), 2);
    assert_non_null(strstr(out, "needs --rows"));
}

/* A record that cannot be written is a warning: the data is there. */
static void test_a_record_that_cannot_be_kept_is_a_warning(void **st)
{
    (void)st;
    char blocker[PATH_MAX + 16], path[PATH_MAX + 16];
    snprintf(blocker, sizeof(blocker), "%s/blocker", root);
    write_file(blocker, "a file, not a directory\n", 24);
    assert_int_equal(setenv("XDG_STATE_HOME", blocker, 1), 0);
    snprintf(path, sizeof(path), "%s/unrecorded.safetensors", root);
    int rc = th_run(out, sizeof(out), "fetch", "--grant", grant, "-o", path, "--no-progress",
                    "--no-receipt", "--identity", res, NULL);
    assert_int_equal(setenv("XDG_STATE_HOME", state, 1), 0);
    if (rc != 0 || strstr(out, "warning: no fetch record of read") == NULL ||
        strstr(out, blocker) == NULL)
        fail_msg("expected exit 0 and a warning naming %s, got %d:\n%s", blocker, rc, out);
    assert_int_equal(access(path, R_OK), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fetch_keeps_a_record),
        cmocka_unit_test(test_removed_rows_give_the_bytes_of_a_fresh_fetch),
        cmocka_unit_test(test_bad_files_are_refused_and_left_alone),
        cmocka_unit_test(test_a_record_that_cannot_be_kept_is_a_warning),
    };
    int rc = cmocka_run_group_tests_name("fetch_records", tests, setup, teardown);
    free(full_bytes);
    free(full_record_text);
    return rc;
}
