/* JSON-lines and CSV exports parse back; records of processing add up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "audit/audit.h"
#include "tests/audit/testutil.h"

#define ALICE "spiffe://fi/researcher/alice"
#define BOB   "spiffe://lu/researcher/bob"

typedef struct fixture {
    char dir[512];
    audit_log *log;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    tu_tmpdir(f->dir, sizeof(f->dir));
    f->log = tu_open(f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    audit_close(f->log);
    tu_rmrf(f->dir);
    free(f);
    return 0;
}

/* An admin entry whose detail holds every character CSV must quote. */
static void add_awkward(audit_log *log)
{
    json_t *d = json_pack("{s:s,s:s}", "note", "a, \"quoted\"\r\nline, and more", "utf8",
                          "Käyttö – ünïcödé");
    audit_entry e = {
        .kind = AUDIT_KIND_ADMIN, .actor = "spiffe://fi/admin/root, \"x\"", .detail = d};
    ecl_err err;
    assert_int_equal(audit_append(log, &e, NULL, &err), 0);
    json_decref(d);
}

static void fill(audit_log *log)
{
    tu_append(log, AUDIT_KIND_ACCESS, ALICE, "fi/cohort", "DUO:0000007", "permit", NULL, 0);
    tu_append(log, AUDIT_KIND_READ_START, ALICE, "fi/cohort", "DUO:0000007", NULL, "r1", 0);
    tu_append(log, AUDIT_KIND_READ_END, ALICE, "fi/cohort", "DUO:0000007", NULL, "r1", 1000);
    tu_append(log, AUDIT_KIND_READ_START, ALICE, "fi/cohort", "DUO:0000007", NULL, "r2", 0);
    tu_append(log, AUDIT_KIND_READ_START, BOB, "fi/cohort", "DUO:0000042", NULL, "r3", 0);
    tu_append(log, AUDIT_KIND_READ_END, ALICE, "fi/cohort", "DUO:0000007", NULL, "r2", 500);
    tu_append(log, AUDIT_KIND_ACCESS, BOB, "fi/images", "DUO:0000042", "deny", NULL, 0);
    tu_append(log, AUDIT_KIND_READ_START, BOB, "fi/images", "DUO:0000042", NULL, "r4", 0);
    tu_append(log, AUDIT_KIND_READ_END, BOB, "fi/cohort", "DUO:0000042", NULL, "r3", 7);
    tu_append(log, AUDIT_KIND_READ_END, BOB, "fi/images", "DUO:0000042", NULL, "r4", 64);
    add_awkward(log);
}

static char *export(audit_log *log, const audit_filter *q, int csv, size_t *len)
{
    char *buf = NULL;
    FILE *m = open_memstream(&buf, len);
    ecl_err err;
    int rc = csv ? audit_export_csv(log, q, m, &err) : audit_export_jsonl(log, q, m, &err);
    if (rc != 0)
        fail_msg("export: %s", err.msg);
    fclose(m);
    return buf;
}

static void test_jsonl_parses(void **state)
{
    fixture *f = *state;
    fill(f->log);
    size_t len;
    char *out = export(f->log, NULL, 0, &len);
    size_t lines = 0;
    char *save = NULL;
    for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        json_error_t je;
        json_t *o = json_loads(l, 0, &je);
        if (o == NULL)
            fail_msg("line %zu: %s", lines + 1, je.text);
        assert_int_equal(json_object_size(o), AUDIT_CSV_COLUMNS);
        assert_int_equal(json_integer_value(json_object_get(o, "seq")), (json_int_t)lines + 1);
        assert_true(json_is_object(json_object_get(o, "detail")));
        assert_int_equal(strlen(json_string_value(json_object_get(o, "hash"))), 64);
        const char *t = json_string_value(json_object_get(o, "time"));
        assert_int_equal(strlen(t), strlen("2026-11-21T05:01:02.123456789Z"));
        if (lines == 10) {
            json_t *d = json_object_get(o, "detail");
            assert_string_equal(json_string_value(json_object_get(d, "note")),
                                "a, \"quoted\"\r\nline, and more");
            assert_string_equal(json_string_value(json_object_get(d, "utf8")), "Käyttö – ünïcödé");
        }
        json_decref(o);
        lines++;
    }
    assert_int_equal(lines, 11);
    free(out);
    audit_filter q = {.dataset = "fi/images"};
    out = export(f->log, &q, 0, &len);
    lines = 0;
    for (char *p = out; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 3);
    free(out);
}

/* A small RFC 4180 reader: counts fields per record (quotes may hold
 * commas, quotes and line breaks). Returns the number of records. */
static size_t csv_records(const char *s, size_t *cols, size_t max)
{
    size_t rec = 0, field = 1;
    int inq = 0;
    for (const char *p = s; *p; p++) {
        if (inq) {
            if (*p == '"' && p[1] == '"')
                p++;
            else if (*p == '"')
                inq = 0;
        } else if (*p == '"') {
            inq = 1;
        } else if (*p == ',') {
            field++;
        } else if (*p == '\r' && p[1] == '\n') {
            assert_true(rec < max);
            cols[rec++] = field;
            field = 1;
            p++;
        } else {
            assert_true(*p != '\n'); /* a bare LF outside quotes is malformed */
        }
    }
    assert_false(inq);
    return rec;
}

static void test_csv_columns(void **state)
{
    fixture *f = *state;
    fill(f->log);
    size_t len, cols[32];
    char *out = export(f->log, NULL, 1, &len);
    size_t n = csv_records(out, cols, 32);
    assert_int_equal(n, 12); /* header + 11 */
    for (size_t i = 0; i < n; i++)
        assert_int_equal(cols[i], AUDIT_CSV_COLUMNS);
    assert_int_equal(strncmp(out, "seq,time_unix_ns,time,kind,actor,", 33), 0);
    assert_non_null(strstr(out, "\"spiffe://fi/admin/root, \"\"x\"\"\""));
    free(out);
}

static void test_export_write_error(void **state)
{
    fixture *f = *state;
    fill(f->log);
    FILE *ro = fopen("/dev/full", "w");
    assert_non_null(ro);
    ecl_err err;
    assert_int_equal(audit_export_jsonl(f->log, NULL, ro, &err), -1);
    assert_int_equal(err.code, ECL_E_IO);
    fclose(ro);
}

typedef struct plist {
    audit_processing p[8];
    char strs[8][7][64];
    size_t n;
} plist;

static int collect(const audit_processing *p, void *arg)
{
    plist *l = arg;
    assert_true(l->n < 8);
    const char *s[7] = {p->dataset,      p->recipient,      p->recipient_site, p->purpose,
                        p->lawful_basis, p->transfer_basis, p->job_country};
    l->p[l->n] = *p;
    for (int i = 0; i < 7; i++)
        snprintf(l->strs[l->n][i], 64, "%s", s[i]);
    l->n++;
    return 0;
}

static void test_processing_summary(void **state)
{
    fixture *f = *state;
    fill(f->log);
    plist l = {0};
    ecl_err err;
    assert_int_equal(audit_processing_summary(f->log, NULL, collect, &l, &err), 0);
    assert_int_equal(l.n, 3);
    /* alice on fi/cohort: 2 reads, 1500 bytes */
    assert_string_equal(l.strs[0][0], "fi/cohort");
    assert_string_equal(l.strs[0][1], ALICE);
    assert_string_equal(l.strs[0][2], "fi");
    assert_string_equal(l.strs[0][3], "DUO:0000007");
    assert_string_equal(l.strs[0][4], "art6-1-e");
    assert_string_equal(l.strs[0][5], "eea");
    assert_string_equal(l.strs[0][6], "FI");
    assert_int_equal(l.p[0].reads, 2);
    assert_int_equal(l.p[0].bytes, 1500);
    assert_true(l.p[0].first_ns > 0 && l.p[0].first_ns <= l.p[0].last_ns);
    /* bob on fi/cohort, then on fi/images */
    assert_string_equal(l.strs[1][0], "fi/cohort");
    assert_string_equal(l.strs[1][2], "lu");
    assert_int_equal(l.p[1].reads, 1);
    assert_int_equal(l.p[1].bytes, 7);
    assert_string_equal(l.strs[2][0], "fi/images");
    assert_int_equal(l.p[2].reads, 1);
    assert_int_equal(l.p[2].bytes, 64);
    plist one = {0};
    assert_int_equal(audit_processing_summary(f->log, "fi/images", collect, &one, &err), 0);
    assert_int_equal(one.n, 1);
    assert_int_equal(one.p[0].bytes, 64);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_jsonl_parses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_csv_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_export_write_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_processing_summary, setup, teardown),
    };
    return cmocka_run_group_tests_name("audit_export", tests, NULL, NULL);
}
