/*
 * erase_test.c - erasure under GDPR Art. 17 on real gateways (issue 19).
 *
 * LU holds lu/d (300 rows: 16 float32 features and an int64 label, each
 * value telling its row). DE's researcher is granted it and fetches it
 * through DE; LU's researcher reads the tail only. LU's admin then erases
 * rows 10:13 and 42 with `ecluse dataset erase`:
 *   - every later stream of LU (direct, resumed, relayed through DE) is
 *     the source minus those rows, byte for byte, under the grants issued
 *     before; a resume whose kept prefix held the rows does not verify;
 *   - `ecluse audit recipients` names DE's read (and not the tail read),
 *     with the rows it carried; audit_recipients on the trail agrees;
 *   - the dataset's version in LU's signed catalog is 2, and DE sees it;
 *   - bad requests (out of range, already erased, garbled, no reason, no
 *     such dataset) are refused with a message naming the problem, change
 *     nothing, and are on the record as refusals;
 *   - a gateway killed right after an erasure comes back with it;
 *   - at EE, whose trail is full, an erasure that cannot be recorded
 *     withdraws nothing: after room returns, its rows are still streamed.
 *
 * Built three times, so that each run stays short under valgrind:
 * ERASE_PART 1 is the erasure and its readers (LU and DE), ERASE_PART 2 the
 * killed gateway and the full trail (LU and EE alone), ERASE_PART 3 resumed
 * reads and bad requests (LU alone, rows 10:13 and 42 erased first).
 */
#include <grpc/status.h>
#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "audit/audit.h"
#include "audit/recipients.h"
#include "client/client.h"
#include "client/read.h"
#include "store/dataset.h"
#include "tests/support/fill.h"
#include "tests/support/harness.h"

#define OUT_MAX (64 * 1024)
#define ROWS    300
#define COLS    16
#define CHUNK   1024

typedef struct site {
    th_site s;
    char admin[PATH_MAX], auditor[PATH_MAX], res[PATH_MAX];
    char grant[PATH_MAX + 32];
} site;

static char root[PATH_MAX - 200];
static site lu, de, ee;
static char out[OUT_MAX];
static const uint64_t first_erased[][2] = {{10, 13}, {42, 43}};

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

static void make_site(site *x, const char *id, const char *country)
{
    th_site_create(&x->s, root, id, country);
    th_issue(&x->s, "admin", "adm", x->admin, sizeof(x->admin));
    th_issue(&x->s, "auditor", "aud", x->auditor, sizeof(x->auditor));
    th_issue(&x->s, "researcher", "res", x->res, sizeof(x->res));
}

/* <site>/d: row i has features i*100+j and label i. */
static void publish(const site *x)
{
    char data[PATH_MAX], policy[PATH_MAX], line[512];
    snprintf(data, sizeof(data), "%s/d-%s.csv", root, x->s.id);
    snprintf(policy, sizeof(policy), "%s/d-%s.policy.json", root, x->s.id);
    FILE *f = fopen(data, "w");
    assert_non_null(f);
    for (int i = 0; i < ROWS; i++) {
        int n = 0;
        for (int j = 0; j < COLS; j++)
            n += snprintf(line + n, sizeof(line) - (size_t)n, "%d,", i * 100 + j);
        fprintf(f, "%s%d\n", line, i);
    }
    fclose(f);
    char text[1024];
    snprintf(text, sizeof(text),
             "{\"ecluse_policy\": 1, \"dataset\": \"%s/d\", \"category\": \"anonymous\", "
             "\"purposes\": {\"allowed\": [\"NRES\"]}, \"tensors\": [{\"name\": \"features\"}, "
             "{\"name\": \"labels\"}], \"minimisation\": {\"default\": {\"tensors\": "
             "[\"features\", \"labels\"], \"max_rows\": %d}}, \"storage\": "
             "{\"max_grant_days\": 30}}\n",
             x->s.id, ROWS);
    write_file(policy, text);
    must(th_run(out, sizeof(out), "dataset", "add", "d", "--from", data, "--label-column", "-1",
                "--title", "D", "--description", "Rows to erase", "--policy", policy, "--identity",
                x->admin, NULL),
         "dataset add");
}

/* `who` asks for <holder>/d and keeps the grant in who->grant. */
static void request(site *who, const char *holder)
{
    char id[64];
    snprintf(id, sizeof(id), "%s/d", holder);
    snprintf(who->grant, sizeof(who->grant), "%s/%s-%s.grant", root, who->s.id, holder);
    must(th_run(out, sizeof(out), "access", "request", id, "--purpose", "GRU", "--basis",
                "art6-1-e", "--job-country", who->s.country, "--save-grant", who->grant,
                "--identity", who->res, NULL),
         "access request");
}

static int fetch(const site *who, const char *file, const char *rows)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", root, file);
    if (rows != NULL)
        return th_run(out, sizeof(out), "fetch", "--grant", who->grant, "-o", path, "--no-progress",
                      "--rows", rows, "--identity", who->res, NULL);
    return th_run(out, sizeof(out), "fetch", "--grant", who->grant, "-o", path, "--no-progress",
                  "--identity", who->res, NULL);
}

static int erased_in(uint64_t row, const uint64_t (*erased)[2], size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (row >= erased[i][0] && row < erased[i][1])
            return 1;
    return 0;
}

/* The stream of every row of `x`'s source not in `erased`, cut by hand:
 * features, then labels. */
static unsigned char *expected(const site *x, const uint64_t (*erased)[2], size_t n, size_t *len)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof(path), "%s/data/datasets/d.safetensors", x->s.dir);
    store_dataset *ds = NULL;
    ecl_err err;
    assert_int_equal(store_open(path, &ds, &err), 0);
    unsigned char *buf = malloc((size_t)ROWS * (COLS * 4 + 8)), *p = buf;
    assert_non_null(buf);
    const char *names[] = {"features", "labels"};
    for (int t = 0; t < 2; t++) {
        size_t i;
        assert_int_equal(store_tensor_find(ds, names[t], &i, &err), 0);
        const store_tensor *st = store_tensor_at(ds, i);
        size_t row = (size_t)(st->byte_size / st->shape[0]);
        for (uint64_t r = 0; r < ROWS; r++)
            if (!erased_in(r, erased, n)) {
                memcpy(p, st->data + row * r, row);
                p += row;
            }
    }
    store_unref(ds);
    *len = (size_t)(p - buf);
    return buf;
}

/* A fetched file's features then labels, as one stream. */
static unsigned char *fetched(const char *file, size_t *len)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", root, file);
    store_dataset *ds = NULL;
    ecl_err err;
    if (store_open(path, &ds, &err) != 0)
        fail_msg("%s: %s", path, err.msg);
    size_t total = 0, i;
    const char *names[] = {"features", "labels"};
    for (int t = 0; t < 2; t++) {
        assert_int_equal(store_tensor_find(ds, names[t], &i, &err), 0);
        total += (size_t)store_tensor_at(ds, i)->byte_size;
    }
    unsigned char *buf = malloc(total), *p = buf;
    for (int t = 0; t < 2; t++) {
        assert_int_equal(store_tensor_find(ds, names[t], &i, &err), 0);
        memcpy(p, store_tensor_at(ds, i)->data, (size_t)store_tensor_at(ds, i)->byte_size);
        p += store_tensor_at(ds, i)->byte_size;
    }
    store_unref(ds);
    *len = total;
    return buf;
}

static void expect_file_without(const char *file, const site *holder, const uint64_t (*erased)[2],
                                size_t n)
{
    size_t want_len, got_len;
    unsigned char *want = expected(holder, erased, n, &want_len);
    unsigned char *got = fetched(file, &got_len);
    assert_int_equal(got_len, want_len);
    assert_memory_equal(got, want, want_len);
    free(want);
    free(got);
}

/* Lines of `audit query --json` at `x` for kind erasure and `decision`. */
static int count_erasures(const site *x, const char *decision)
{
    must(th_run(out, sizeof(out), "audit", "query", "--kind", "erasure", "--decision", decision,
                "--json", "--identity", x->auditor, NULL),
         "audit query");
    int n = 0;
    for (const char *p = strstr(out, "\"kind\":\"erasure\""); p != NULL;
         p = strstr(p + 1, "\"kind\":\"erasure\""))
        n++;
    return n;
}

/* The version and erased rows of <holder>/d as `who`'s gateway shows it; 0
 * if it shows it at all. */
static int catalog_version(const site *who, const char *holder, long long *version,
                           long long *erased)
{
    char id[64];
    snprintf(id, sizeof(id), "%s/d", holder);
    int rc =
        th_run(out, sizeof(out), "catalog", "show", id, "--json", "--identity", who->res, NULL);
    if (rc != 0)
        return rc;
    json_error_t jerr;
    json_t *doc = json_loads(strchr(out, '{'), JSON_DISABLE_EOF_CHECK, &jerr);
    if (doc == NULL)
        fail_msg("catalog show: not JSON: %s", out);
    *version = json_integer_value(json_object_get(doc, "version"));
    *erased = json_integer_value(json_object_get(doc, "erased_rows"));
    json_decref(doc);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    th_tmpdir(root, sizeof(root));
    make_site(&lu, "lu", "LU");
    if (ERASE_PART != 1) {
        th_gateway_start(&lu.s);
        publish(&lu);
        request(&lu, "lu");
        if (ERASE_PART == 3)
            must(th_run(out, sizeof(out), "dataset", "erase", "d", "--rows", "10:13,42", "--reason",
                        "DSR-1", "--identity", lu.admin, NULL),
                 "dataset erase");
        return 0;
    }
    make_site(&de, "de", "DE");
    th_gateway_start(&lu.s);
    th_gateway_start(&de.s);
    th_peer(&lu.s, lu.admin, &de.s, de.admin);
    publish(&lu);
    request(&de, "lu");
    request(&lu, "lu");
    /* What DE's researcher fetched (relayed by DE), and a read of LU's
     * researcher that never touched the rows erased later. */
    must(fetch(&de, "de-before.safetensors", NULL), "fetch through DE");
    expect_file_without("de-before.safetensors", &lu, NULL, 0);
    must(fetch(&lu, "lu-tail.safetensors", "250:300"), "fetch of the tail");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    site *all[] = {&lu, &de, &ee};
    int bad = 0;
    for (int i = 0; i < 3; i++)
        if (all[i]->s.pid != 0 && th_gateway_stop(&all[i]->s, NULL) != 0)
            bad = 1;
    return bad ? -1 : 0;
}

/* ---- the erasure and what every later read sees ---------------------------- */

static void test_erasure_withdraws_the_rows_from_every_later_read(void **state)
{
    (void)state;
    must(th_run(out, sizeof(out), "dataset", "erase", "d", "--rows", "10:13,42", "--reason",
                "DSR-1: the data subject withdrew consent", "--identity", lu.admin, NULL),
         "dataset erase");
    if (strstr(out, "now version 2, 4 rows erased, 296 remain") == NULL)
        fail_msg("erase said: %s", out);
    assert_int_equal(count_erasures(&lu, "permit"), 1);
    assert_non_null(strstr(out, "\"rows\":[[10,13],[42,43]]"));
    assert_non_null(strstr(out, "DSR-1: the data subject withdrew consent"));

    /* The grants issued before still read the rows that remain. */
    must(fetch(&lu, "lu-after.safetensors", NULL), "direct fetch after the erasure");
    expect_file_without("lu-after.safetensors", &lu, first_erased, 2);
    must(fetch(&de, "de-after.safetensors", NULL), "relayed fetch after the erasure");
    expect_file_without("de-after.safetensors", &lu, first_erased, 2);

    /* The signed catalog says version 2, at LU and, once told, at DE. */
    long long version = 0, erased = 0;
    must(catalog_version(&lu, "lu", &version, &erased), "catalog show at LU");
    assert_int_equal(version, 2);
    assert_int_equal(erased, 4);
    double deadline = th_now() + 20 * th_time_scale();
    /* DE may not hold lu/d yet at all: LU's first change notice to DE
     * came before DE peered back, and the next waits out a backoff. */
    do {
        if (catalog_version(&de, "lu", &version, &erased) == 0 && version == 2)
            break;
        usleep(100 * 1000);
    } while (th_now() < deadline);
    assert_int_equal(version, 2);
    assert_int_equal(erased, 4);
}

/* Every chunk of a whole read of `who`'s grant at its own gateway: the
 * bytes into *data, each chunk's digest and length into digests/lens. */
typedef struct kept {
    unsigned char *data;
    size_t len, n;
    unsigned char digest[512][32];
    uint64_t chunk_len[512];
} kept;

static void read_keeping_chunks(const site *who, kept *k)
{
    ecl_client *c = NULL;
    ecl_err err;
    Ecluse__V1__Grant *g = NULL;
    assert_int_equal(client_grant_load(who->grant, &g, &err), 0);
    if (ecl_client_open(who->res, NULL, &c, &err) != 0)
        fail_msg("client: %s", err.msg);
    ecl_stream_opts o = ECL_STREAM_OPTS_INIT;
    o.chunk_bytes = CHUNK;
    ecl_stream *r = NULL;
    assert_int_equal(ecl_stream_open(c, g, &o, &r, &err), 0);
    k->len = (size_t)ecl_stream_header(r)->total_bytes;
    k->data = malloc(k->len);
    k->n = 0;
    ecl_stream_chunk ch;
    int rc;
    while ((rc = ecl_stream_next(r, &ch, &err)) == 1) {
        assert_true(k->n < 512);
        memcpy(k->data + ch.stream_offset, ch.data, ch.len);
        memcpy(k->digest[k->n], ch.digest, 32);
        k->chunk_len[k->n++] = ch.len;
    }
    assert_int_equal(rc, 0);
    ecl_stream_close(r);
    ecl_client_close(c);
    ecluse__v1__grant__free_unpacked(g, NULL);
}

/* Resume at the end of chunk `at` of `prefix`, giving its chunks' digests:
 * 0 and the rest in *rest, or -1 with err. */
static int resume(const site *who, const kept *prefix, size_t at, unsigned char **rest,
                  size_t *rest_len, ecl_err *err)
{
    ecl_client *c = NULL;
    Ecluse__V1__Grant *g = NULL;
    assert_int_equal(client_grant_load(who->grant, &g, err), 0);
    if (ecl_client_open(who->res, NULL, &c, err) != 0)
        fail_msg("client: %s", err->msg);
    uint64_t from = 0;
    for (size_t i = 0; i < at; i++)
        from += prefix->chunk_len[i];
    ecl_stream_opts o = ECL_STREAM_OPTS_INIT;
    o.chunk_bytes = CHUNK;
    o.resume_offset = from;
    ecl_stream *r = NULL;
    int rc = ecl_stream_open(c, g, &o, &r, err);
    for (size_t i = 0; rc == 0 && i < at; i++)
        rc = ecl_stream_prefix_chunk(r, prefix->digest[i], prefix->chunk_len[i], err);
    *rest = NULL;
    *rest_len = 0;
    if (rc == 0) {
        *rest_len = (size_t)(ecl_stream_header(r)->total_bytes - from);
        *rest = malloc(*rest_len ? *rest_len : 1);
        rc = ecl_stream_into(r, *rest, *rest_len, err);
    }
    ecl_stream_close(r);
    ecl_client_close(c);
    ecluse__v1__grant__free_unpacked(g, NULL);
    return rc;
}

static void test_resumed_reads_skip_the_rows_or_do_not_verify(void **state)
{
    (void)state;
    /* Chunks kept from before an erasure of row 200, and after it. */
    kept before, after;
    read_keeping_chunks(&lu, &before);
    must(th_run(out, sizeof(out), "dataset", "erase", "d", "--rows", "200", "--reason", "DSR-2",
                "--identity", lu.admin, NULL),
         "dataset erase 200");
    const uint64_t now_erased[][2] = {{10, 13}, {42, 43}, {200, 201}};
    read_keeping_chunks(&lu, &after);
    size_t want_len;
    unsigned char *want = expected(&lu, now_erased, 3, &want_len);
    assert_int_equal(after.len, want_len);
    assert_memory_equal(after.data, want, want_len);

    /* Resumed within the stream as it is now: the rest, checked whole. */
    unsigned char *rest = NULL;
    size_t rest_len = 0;
    ecl_err err;
    size_t at = after.n / 2;
    if (resume(&lu, &after, at, &rest, &rest_len, &err) != 0)
        fail_msg("resume after the erasure: %s", err.msg);
    size_t from = want_len - rest_len;
    assert_memory_equal(rest, want + from, rest_len);
    free(rest);

    /* Resumed past row 200 with the chunks kept from before the erasure:
     * the prefix held row 200, so the whole does not verify (or the offset
     * is not even a chunk boundary any more). Never a verified stream. */
    at = before.n - 1; /* every chunk but the last label one */
    int rc = resume(&lu, &before, at, &rest, &rest_len, &err);
    free(rest);
    assert_int_equal(rc, -1);
    if (err.code != ECL_E_CRYPTO && err.remote_status != GRPC_STATUS_INVALID_ARGUMENT)
        fail_msg("a resume across the erasure ended with: %s", err.msg);
    free(before.data);
    free(after.data);
    free(want);
}

/* ---- who received the rows ------------------------------------------------- */

typedef struct starts {
    char read_id[8][40];
    int n;
} starts;

static int on_start(const audit_record *rec, void *arg)
{
    starts *s = arg;
    if (strcmp(rec->actor, "spiffe://de/researcher/res") == 0 && s->n < 8)
        snprintf(s->read_id[s->n++], 40, "%s", rec->read_id);
    return 0;
}

static void test_recipients_name_the_read_through_de(void **state)
{
    (void)state;
    /* DE's first read, the one before the erasure, from LU's trail. */
    char dir[PATH_MAX + 32];
    snprintf(dir, sizeof(dir), "%s/data/audit", lu.s.dir);
    audit_log *log = NULL;
    ecl_err err;
    assert_int_equal(audit_open_readonly(dir, &log, &err), 0);
    starts s = {.n = 0};
    audit_filter f = {"lu/d", NULL, NULL, NULL, AUDIT_KIND_READ_START, 0, 0, 0};
    assert_int_equal(audit_query(log, &f, on_start, &s, &err), 0);
    assert_true(s.n >= 2); /* before and after the erasure */

    /* The audit layer's answer, as the notices will use it. */
    audit_row_range ask[] = {{10, 13}, {42, 43}};
    audit_recipient *r = NULL;
    size_t n = 0;
    assert_int_equal(audit_recipients(log, "lu/d", ask, 2, &r, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(r[0].reader, "spiffe://de/researcher/res");
    assert_string_equal(r[0].home_site, "de");
    assert_string_equal(r[0].via, "spiffe://de/gateway");
    assert_string_equal(r[0].read_id, s.read_id[0]);
    assert_int_equal(r[0].n_rows, 2);
    assert_int_equal(r[0].rows[0].begin, 10);
    assert_int_equal(r[0].rows[0].end, 13);
    assert_int_equal(r[0].rows[1].begin, 42);
    assert_int_equal(r[0].rows[1].end, 43);
    audit_recipients_free(r, n);
    audit_row_range bad[] = {{42, 43}, {10, 13}};
    assert_int_equal(audit_recipients(log, "lu/d", bad, 2, &r, &n, &err), -1);
    assert_int_equal(err.code, ECL_E_USAGE);
    audit_close(log);

    /* The auditor's command: the same read, and not the tail read. */
    must(th_run(out, sizeof(out), "audit", "recipients", "d", "--rows", "10:13,42", "--json",
                "--identity", lu.auditor, NULL),
         "audit recipients");
    json_error_t jerr;
    json_t *doc = json_loads(out, JSON_DISABLE_EOF_CHECK, &jerr);
    if (doc == NULL)
        fail_msg("not JSON: %s", out);
    assert_string_equal(json_string_value(json_object_get(doc, "read_id")), s.read_id[0]);
    assert_string_equal(json_string_value(json_object_get(doc, "reader")),
                        "spiffe://de/researcher/res");
    assert_string_equal(json_string_value(json_object_get(doc, "home_site")), "de");
    char *rows = json_dumps(json_object_get(doc, "rows"), JSON_COMPACT);
    assert_string_equal(rows, "[[10,13],[42,43]]");
    free(rows);
    json_decref(doc);
    assert_null(strchr(strchr(out, '\n') + 1, '{')); /* one line only */

    /* Text, for one row of the two ranges. */
    must(th_run(out, sizeof(out), "audit", "recipients", "lu/d", "--rows", "42", "--identity",
                lu.auditor, NULL),
         "audit recipients (text)");
    if (strstr(out, s.read_id[0]) == NULL ||
        strstr(out, "relayed by spiffe://de/gateway") == NULL ||
        strstr(out, "rows:      42\n") == NULL || strstr(out, "1 read(s) of lu/d carried") == NULL)
        fail_msg("recipients said: %s", out);
    /* A researcher may not ask. */
    assert_int_equal(th_run(out, sizeof(out), "audit", "recipients", "d", "--rows", "42",
                            "--identity", lu.res, NULL),
                     7);
}

/* ---- bad requests ---------------------------------------------------------- */

typedef struct bad_case {
    const char *dataset, *rows, *reason;
    int exit;
    const char *says;
} bad_case;

static void test_bad_requests_are_refused_and_recorded(void **state)
{
    (void)state;
    static const bad_case cases[] = {
        {"d", "290:301", "r", 3, "row 300 is out of range: dataset 'lu/d' has 300 rows (0 to 299)"},
        {"d", "5,11", "r", 9, "rows 11 of dataset 'lu/d' are already erased: nothing was erased"},
        {"d", "abc", "r", 3, "item 1 'abc' is neither a row (N) nor a range (A:B)"},
        {"d", "", "r", 3, "no rows given"},
        {"d", "7:3", "r", 3, "item 1 '7:3': begin 7 is not below end 3"},
        {"d", "1,,2", "r", 3, "item 2 '' is neither a row"},
        {"d", "1:5,3", "r", 3, "item 2 '3' repeats rows an earlier item names"},
        {"d", "5", "", 3, "an erasure needs a reason"},
        {"nope", "5", "r", 5, "dataset 'lu/nope' is not held here"},
    };
    int denied = count_erasures(&lu, "deny");
    int permitted = count_erasures(&lu, "permit");
    long long version = 0, erased = 0;
    must(catalog_version(&lu, "lu", &version, &erased), "catalog show");
    /* Under valgrind the first few only (each is a CLI run): the kinds of
     * refusal come first. */
    size_t n_cases = (size_t)th_scaled_count((int)(sizeof(cases) / sizeof(cases[0])), 4);
    print_message("%zu of %zu bad requests\n", n_cases, sizeof(cases) / sizeof(cases[0]));
    for (size_t i = 0; i < n_cases; i++) {
        const bad_case *c = &cases[i];
        int rc = th_run(out, sizeof(out), "dataset", "erase", c->dataset, "--rows", c->rows,
                        "--reason", c->reason, "--identity", lu.admin, NULL);
        if (rc != c->exit || strstr(out, c->says) == NULL)
            fail_msg("case %zu (--rows '%s'): exit %d, said: %s", i, c->rows, rc, out);
    }
    /* Each on the record as a refusal, with its message (detail.refused). */
    assert_int_equal(count_erasures(&lu, "deny"), denied + (int)n_cases);
    for (size_t i = 0; i < n_cases; i++)
        if (strstr(out, cases[i].says) == NULL)
            fail_msg("refusal %zu is not on the record: %s", i, out);
    /* Nothing changed: the same erasures, version and rows. */
    assert_int_equal(count_erasures(&lu, "permit"), permitted);
    long long v2 = 0, e2 = 0;
    must(catalog_version(&lu, "lu", &v2, &e2), "catalog show");
    assert_int_equal(v2, version);
    assert_int_equal(e2, erased);
    const uint64_t now_erased[][2] = {{10, 13}, {42, 43}, {200, 201}};
    must(fetch(&lu, "lu-after-bad.safetensors", NULL), "fetch after the refusals");
    expect_file_without("lu-after-bad.safetensors", &lu, now_erased, 3);
    /* Only an admin erases. */
    assert_int_equal(th_run(out, sizeof(out), "dataset", "erase", "d", "--rows", "1", "--reason",
                            "r", "--identity", lu.auditor, NULL),
                     7);
}

/* ---- crashes and a full trail ---------------------------------------------- */

static void test_an_erasure_survives_a_killed_gateway(void **state)
{
    (void)state;
    must(th_run(out, sizeof(out), "dataset", "erase", "d", "--rows", "100:102", "--reason", "DSR-3",
                "--identity", lu.admin, NULL),
         "dataset erase 100:102");
    /* No clean stop: the erasure is what the trail committed. */
    assert_int_equal(kill(lu.s.pid, SIGKILL), 0);
    int status = 0;
    assert_int_equal(waitpid(lu.s.pid, &status, 0), lu.s.pid);
    lu.s.pid = 0;
    th_gateway_start(&lu.s);
    const uint64_t now_erased[][2] = {{100, 102}};
    must(fetch(&lu, "lu-after-kill.safetensors", NULL), "fetch after the restart");
    expect_file_without("lu-after-kill.safetensors", &lu, now_erased, 1);
    long long version = 0, erased = 0;
    must(catalog_version(&lu, "lu", &version, &erased), "catalog show");
    assert_int_equal(version, 2);
    assert_int_equal(erased, 2);
}

static void test_an_erasure_the_trail_cannot_record_withdraws_nothing(void **state)
{
    (void)state;
    make_site(&ee, "ee", "EE");
    th_gateway_start(&ee.s);
    publish(&ee);
    assert_int_equal(th_gateway_stop(&ee.s, NULL), 0);
    char dir[PATH_MAX + 32];
    snprintf(dir, sizeof(dir), "%s/data/audit", ee.s.dir);
    th_fill_audit(dir, 1u << 20, "spiffe://ee/admin/adm");
    json_error_t jerr;
    json_t *cfg = json_load_file(ee.s.config, 0, &jerr);
    assert_non_null(cfg);
    json_object_set_new(cfg, "audit", json_pack("{s:i}", "map_size_mb", 1));
    assert_int_equal(json_dump_file(cfg, ee.s.config, JSON_INDENT(2)), 0);
    th_gateway_start(&ee.s);
    /* The gateway's first write can free pages LMDB then reuses: an
     * erasure may still fit, and is then on the record. Soon one is
     * refused: UNAVAILABLE, exit 8. */
    uint64_t done[20][2];
    size_t n_done = 0;
    int refused_row = -1;
    for (int row = 0; row < 20 && refused_row < 0; row++) {
        char rows[16];
        snprintf(rows, sizeof(rows), "%d", row);
        int rc = th_run(out, sizeof(out), "dataset", "erase", "d", "--rows", rows, "--reason",
                        "DSR-4", "--identity", ee.admin, NULL);
        if (rc == 0) {
            done[n_done][0] = (uint64_t)row;
            done[n_done++][1] = (uint64_t)row + 1;
            continue;
        }
        assert_int_equal(rc, 8);
        assert_non_null(strstr(out, "the audit trail cannot be written"));
        refused_row = row;
    }
    assert_true(refused_row >= 0);
    /* Room again: nothing was withdrawn by the refused erasure. */
    assert_int_equal(th_gateway_stop(&ee.s, NULL), 0);
    json_object_set_new(cfg, "audit", json_pack("{s:i}", "map_size_mb", 64));
    assert_int_equal(json_dump_file(cfg, ee.s.config, JSON_INDENT(2)), 0);
    json_decref(cfg);
    th_gateway_start(&ee.s);
    request(&ee, "ee");
    must(fetch(&ee, "ee-after.safetensors", NULL), "fetch at EE");
    expect_file_without("ee-after.safetensors", &ee, (const uint64_t(*)[2])done, n_done);
    assert_int_equal(count_erasures(&ee, "permit"), (int)n_done);
    long long version = 0, erased = 0;
    must(catalog_version(&ee, "ee", &version, &erased), "catalog show");
    assert_int_equal(version, (long long)n_done + 1);
    assert_int_equal(erased, (long long)n_done);
}

int main(void)
{
    const struct CMUnitTest erasure_and_readers[] = {
        cmocka_unit_test(test_erasure_withdraws_the_rows_from_every_later_read),
        cmocka_unit_test(test_recipients_name_the_read_through_de),
    };
    const struct CMUnitTest crashes_and_a_full_trail[] = {
        cmocka_unit_test(test_an_erasure_survives_a_killed_gateway),
        cmocka_unit_test(test_an_erasure_the_trail_cannot_record_withdraws_nothing),
    };
    const struct CMUnitTest resumes_and_bad_requests[] = {
        cmocka_unit_test(test_resumed_reads_skip_the_rows_or_do_not_verify),
        cmocka_unit_test(test_bad_requests_are_refused_and_recorded),
    };
    if (ERASE_PART == 1)
        return cmocka_run_group_tests(erasure_and_readers, setup, teardown);
    if (ERASE_PART == 2)
        return cmocka_run_group_tests(crashes_and_a_full_trail, setup, teardown);
    return cmocka_run_group_tests(resumes_and_bad_requests, setup, teardown);
}
