/*
 * read_test.c - Data.Read through real gateways on loopback.
 *
 * Two sites, FI (home of researcher "res") and LU (holds the data), peered
 * both ways with the CLI. LU publishes the breast cancer table (569 x 30
 * features, 569 labels) and a generated 16 MiB dataset. Grants are signed in
 * the test with LU's real site key file (what Access.Request will issue).
 * Every received byte is compared with the source file's tensor bytes, cut
 * by hand (not through the store's read plan). A third site, EE, has an
 * audit trail that is full: its reads fail closed.
 */
#include <grpc/status.h>
#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "audit/audit.h"
#include "client/client.h"
#include "client/read.h"
#include "common/fileio.h"
#include "gateway/grant.h"
#include "proto/ecluse.pb-c.h"
#include "rpc/client.h"
#include "rpc/server.h"
#include "site/sitekey.h"
#include "store/dataset.h"
#include "store/writer.h"
#include "tests/data/read_spec.h"
#include "tests/support/fill.h"
#include "tests/support/granted.h"
#include "tests/support/harness.h"
#include "tests/support/signers.h"

#define OUT_MAX (64 * 1024)
#define CHUNK   4096

typedef struct site {
    th_site s;
    char admin[PATH_MAX], res[PATH_MAX], other[PATH_MAX], bundle[PATH_MAX + 16];
    char data[PATH_MAX + 16];
} site;

static char root[PATH_MAX - 200];
static site fi, lu, ee;
static char out[OUT_MAX];
static char read_ids_fi[8][40], read_ids_lu[8][40];
static int n_ids_fi, n_ids_lu;

static void must(int rc, const char *what)
{
    if (rc != 0)
        fail_msg("%s failed (%d):\n%s", what, rc, out);
}

static void make_site(site *x, const char *id, const char *country)
{
    th_site_create(&x->s, root, id, country);
    th_issue(&x->s, "admin", "adm", x->admin, sizeof(x->admin));
    th_issue(&x->s, "researcher", "res", x->res, sizeof(x->res));
    th_issue(&x->s, "researcher", "other", x->other, sizeof(x->other));
    snprintf(x->data, sizeof(x->data), "%s/data", x->s.dir);
}

static void export_bundle(site *x)
{
    th_export_bundle(&x->s, x->admin, x->bundle, sizeof(x->bundle));
}

/* The example breast cancer policy, made this dataset's. */
static void publish(site *x, const char *name, const char *from, const char *format)
{
    char policy[PATH_MAX + 64], cwd[PATH_MAX - 64], example[PATH_MAX];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    snprintf(example, sizeof(example), "%s/examples/policies/breast_cancer.json", cwd);
    snprintf(policy, sizeof(policy), "%s/policy-%s-%s.json", root, x->s.id, name);
    json_error_t jerr;
    json_t *doc = json_load_file(example, 0, &jerr);
    assert_non_null(doc);
    char id[128];
    snprintf(id, sizeof(id), "%s/%s", x->s.id, name);
    json_object_set_new(doc, "dataset", json_string(id));
    assert_int_equal(json_dump_file(doc, policy, JSON_INDENT(2)), 0);
    json_decref(doc);
    if (strcmp(format, "csv") == 0)
        must(th_run(out, sizeof(out), "dataset", "add", name, "--from", from, "--format", "csv",
                    "--skip-lines", "1", "--label-column", "-1", "--title", name, "--description",
                    "test data", "--policy", policy, "--identity", x->admin, NULL),
             "dataset add csv");
    else
        must(th_run(out, sizeof(out), "dataset", "add", name, "--from", from, "--format", format,
                    "--title", name, "--description", "test data", "--policy", policy, "--identity",
                    x->admin, NULL),
             "dataset add");
}

/* 16 MiB of bytes that differ by position: features U8 [4096, 4096],
 * labels I64 [4096]. */
static void make_big(const char *path)
{
    size_t rows = 4096, cols = 4096;
    unsigned char *x = malloc(rows * cols);
    int64_t *y = malloc(rows * sizeof(int64_t));
    assert_non_null(x);
    assert_non_null(y);
    for (size_t i = 0; i < rows * cols; i++)
        x[i] = (unsigned char)((i * 2654435761u) >> 13);
    for (size_t i = 0; i < rows; i++)
        y[i] = (int64_t)i * 7;
    store_writer *w = NULL;
    ecl_err err;
    uint64_t sx[2] = {rows, cols}, sy[1] = {rows};
    assert_int_equal(store_writer_new(&w, &err), 0);
    assert_int_equal(store_writer_add(w, "features", STORE_DT_U8, 2, sx, x, rows * cols, &err), 0);
    assert_int_equal(store_writer_add(w, "labels", STORE_DT_I64, 1, sy, y, rows * 8, &err), 0);
    assert_int_equal(store_writer_write(w, path, &err), 0);
    store_writer_free(w);
    free(x);
    free(y);
}

static int setup(void **state)
{
    (void)state;
    th_tmpdir(root, sizeof(root));
    make_site(&fi, "fi", "FI");
    make_site(&lu, "lu", "LU");
    th_gateway_start(&fi.s);
    th_gateway_start(&lu.s);
    export_bundle(&fi);
    export_bundle(&lu);
    must(th_peer_add(out, sizeof(out), lu.bundle, fi.admin), "peer");
    must(th_peer_add(out, sizeof(out), fi.bundle, lu.admin), "peer");
    char csv[PATH_MAX + 64], big[PATH_MAX + 16], cwd[PATH_MAX - 64];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    snprintf(csv, sizeof(csv), "%s/examples/data/breast_cancer.csv", cwd);
    publish(&lu, "bc", csv, "csv");
    publish(&fi, "bc-fi", csv, "csv");
    /* bcw: the same table with rows withdrawn (GDPR Art. 17), so that the
     * rows sent come in several runs and chunks are cut inside each. */
    publish(&lu, "bcw", csv, "csv");
    char wd[PATH_MAX + 64];
    snprintf(wd, sizeof(wd), "%s/datasets/bcw.withdrawn.json", lu.data);
    json_t *w = json_pack("{s:[[ii][ii][ii]]}", "withdrawn_rows", 5, 10, 20, 22, 100, 300);
    assert_int_equal(json_dump_file(w, wd, 0), 0);
    json_decref(w);
    snprintf(big, sizeof(big), "%s/big.safetensors", root);
    make_big(big);
    publish(&lu, "big", big, "safetensors");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    site *all[] = {&fi, &lu, &ee};
    int bad = 0;
    for (int i = 0; i < 3; i++)
        if (all[i]->s.pid != 0 && th_gateway_stop(&all[i]->s, NULL) != 0)
            bad = 1;
    return bad ? -1 : 0;
}

/* ---- grants, sources, reads ----------------------------------------------- */

static void make_grant(site *holder, const char *dataset, const char *req_site, const char *name,
                       const char *const *tensors, size_t nt, uint64_t max_rows, int64_t expires,
                       Ecluse__V1__Grant *g)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/keys/site.key", holder->s.dir);
    site_key key;
    ecl_err err;
    assert_int_equal(site_key_load(path, &key, &err), 0);
    unsigned char id[16];
    char hex[33];
    randombytes_buf(id, sizeof(id));
    sodium_bin2hex(hex, sizeof(hex), id, sizeof(id));
    Ecluse__V1__Identity who = ECLUSE__V1__IDENTITY__INIT;
    who.site = (char *)req_site;
    who.role = "researcher";
    who.name = (char *)name;
    Ecluse__V1__GrantBody b = ECLUSE__V1__GRANT_BODY__INIT;
    b.grant_id = hex;
    b.dataset = (char *)dataset;
    b.requester = &who;
    b.purpose = "HMB";
    b.lawful_basis = "art9-2-j";
    b.job_country = "FI";
    b.transfer_basis = "eea";
    b.tensors = (char **)tensors;
    b.n_tensors = nt;
    b.max_rows = max_rows;
    b.issued_unix = (int64_t)time(NULL) - 10;
    b.expires_unix = expires != 0 ? expires : (int64_t)time(NULL) + 3600;
    /* Decided on the dataset as its site holds it now (if it does). */
    const site *owner = strncmp(dataset, "lu/", 3) == 0   ? &lu
                        : strncmp(dataset, "fi/", 3) == 0 ? &fi
                        : strncmp(dataset, "ee/", 3) == 0 ? &ee
                                                          : NULL;
    grant_dataset d;
    if (owner != NULL)
        (void)tg_bind(owner->s.dir, &b, &d);
    signer *s = ts_signer(&key);
    site_key_wipe(&key);
    assert_int_equal(grant_sign(s, &b, g, &err), 0);
    signer_free(s);
}

typedef struct source {
    store_dataset *ds;
} source;

static store_dataset *open_source(site *x, const char *name)
{
    char path[PATH_MAX + 128];
    snprintf(path, sizeof(path), "%s/datasets/%s.safetensors", x->data, name);
    store_dataset *ds = NULL;
    ecl_err err;
    assert_int_equal(store_open(path, &ds, &err), 0);
    return ds;
}

/* Rows [b, e) of each named tensor, concatenated: cut by hand. */
static unsigned char *expected(store_dataset *ds, const char *const *names, size_t n, uint64_t b,
                               uint64_t e, size_t *len)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        size_t idx;
        ecl_err err;
        assert_int_equal(store_tensor_find(ds, names[i], &idx, &err), 0);
        const store_tensor *t = store_tensor_at(ds, idx);
        total += (size_t)(t->byte_size / t->shape[0] * (e - b));
    }
    unsigned char *buf = malloc(total ? total : 1), *p = buf;
    for (size_t i = 0; i < n; i++) {
        size_t idx;
        ecl_err err;
        assert_int_equal(store_tensor_find(ds, names[i], &idx, &err), 0);
        const store_tensor *t = store_tensor_at(ds, idx);
        size_t row = (size_t)(t->byte_size / t->shape[0]);
        memcpy(p, t->data + row * b, row * (e - b));
        p += row * (e - b);
    }
    *len = total;
    return buf;
}

/* The digest version clients ask for unless told otherwise. */
#define V3 3

/* The trailer digest of digest version `version`, by the definition
 * (docs/streaming.md, tests/data/read_spec.h), of a stream
 * made of `nruns` runs of source rows of each named tensor, cut by hand:
 * inside each tensor, each run is cut into `chunk`-byte pieces from its
 * start. Fills the chunk starts (stream offsets) when `at` is not NULL.
 * Returns the number of chunks. */
static size_t model_digest(uint32_t version, store_dataset *ds, const char *const *names, size_t n,
                           const uint64_t (*runs)[2], size_t nruns, size_t chunk,
                           unsigned char digest[32], uint64_t *at, size_t cap)
{
    const char *domain = spec_domain(version);
    size_t domain_len = strlen(domain) + 1; /* with its 0x00 */
    const store_tensor *ts[8];
    size_t count = 0;
    assert_true(n <= 8);
    for (size_t i = 0; i < n; i++) {
        size_t idx;
        ecl_err err;
        assert_int_equal(store_tensor_find(ds, names[i], &idx, &err), 0);
        ts[i] = store_tensor_at(ds, idx);
        for (size_t r = 0; r < nruns; r++) {
            uint64_t len = (runs[r][1] - runs[r][0]) * (ts[i]->byte_size / ts[i]->shape[0]);
            count += (size_t)((len + chunk - 1) / chunk);
        }
    }
    unsigned char *all = malloc(domain_len + 32 * count), *p = all;
    assert_non_null(all);
    memcpy(p, domain, domain_len);
    p += domain_len;
    size_t k = 0;
    uint64_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t row = ts[i]->byte_size / ts[i]->shape[0];
        for (size_t r = 0; r < nruns; r++) {
            const unsigned char *src = ts[i]->data + runs[r][0] * row;
            uint64_t len = (runs[r][1] - runs[r][0]) * row;
            for (uint64_t off = 0; off < len; off += chunk) {
                uint64_t take = len - off < chunk ? len - off : chunk;
                spec_chunk_v(version, p, src + off, (size_t)take, runs[r][0] * row + off);
                p += 32;
                if (at != NULL) {
                    assert_true(k < cap);
                    at[k] = pos;
                }
                pos += take;
                k++;
            }
        }
    }
    /* One call over the whole input, not the incremental state. */
    spec_hash(version, digest, all, (size_t)(p - all));
    free(all);
    return count;
}

static ecl_client *client_for(const char *identity)
{
    ecl_client *c = NULL;
    ecl_err err;
    if (ecl_client_open(identity, NULL, &c, &err) != 0)
        fail_msg("client: %s", err.msg);
    return c;
}

/* A whole read into a malloc'd buffer; returns 0 or -1 with err. */
static int read_all(const char *identity, const Ecluse__V1__Grant *g, const ecl_stream_opts *o,
                    unsigned char **data, size_t *len, char *read_id, ecl_err *err)
{
    ecl_client *c = client_for(identity);
    ecl_stream *r = NULL;
    int rc = ecl_stream_open(c, g, o, &r, err);
    *data = NULL;
    *len = 0;
    if (rc == 0) {
        const Ecluse__V1__ReadHeader *h = ecl_stream_header(r);
        *len = (size_t)(h->total_bytes - h->resume_offset);
        *data = malloc(*len ? *len : 1);
        if (read_id != NULL)
            snprintf(read_id, 40, "%s", h->read_id);
        rc = ecl_stream_into(r, *data, *len, err);
        if (rc == 0)
            assert_non_null(ecl_stream_trailer(r));
    }
    ecl_stream_close(r);
    ecl_client_close(c);
    return rc;
}

static const char *const bc_all[] = {"features", "labels"};

/* ---- tests ---------------------------------------------------------------------- */

static void test_whole_dataset_equals_the_source(void **state)
{
    (void)state;
    Ecluse__V1__Grant g = ECLUSE__V1__GRANT__INIT;
    make_grant(&lu, "lu/bc", "lu", "res", NULL, 0, 0, 0, &g);
    ecl_stream_opts o = ECL_STREAM_OPTS_INIT;
    o.chunk_bytes = CHUNK;
    unsigned char *got;
    size_t len;
    ecl_err err;
    assert_int_equal(read_all(lu.res, &g, &o, &got, &len, read_ids_lu[n_ids_lu++], &err), 0);
    store_dataset *ds = open_source(&lu, "bc");
    size_t want_len;
    unsigned char *want = expected(ds, bc_all, 2, 0, 569, &want_len);
    assert_int_equal(len, want_len);
    assert_int_equal(len, 569 * 30 * 4 + 569 * 8);
    assert_memory_equal(got, want, len);
    free(got);
    free(want);
    store_unref(ds);
    grant_clear(&g);
}

static void test_row_range_and_one_tensor(void **state)
{
    (void)state;
    const char *const feats[] = {"features"};
    Ecluse__V1__Grant g = ECLUSE__V1__GRANT__INIT;
    make_grant(&lu, "lu/bc", "lu", "res", bc_all, 2, 0, 0, &g);
    ecl_stream_opts o = ECL_STREAM_OPTS_INIT;
    o.tensors = feats;
    o.n_tensors = 1;
    o.rows = ECL_ROWS_RANGE;
    o.row_begin = 10;
    o.row_end = 50;
    o.chunk_bytes = 1000; /* chunks cut across rows */
    unsigned char *got;
    size_t len;
    ecl_err err;
    assert_int_equal(read_all(lu.res, &g, &o, &got, &len, NULL, &err), 0);
    store_dataset *ds = open_source(&lu, "bc");
    size_t want_len;
    unsigned char *want = expected(ds, feats, 1, 10, 50, &want_len);
    assert_int_equal(len, want_len);
    assert_memory_equal(got, want, len);
    free(got);
    free(want);
    store_unref(ds);
    grant_clear(&g);
}

/* Rows [100, 569) of the features in one chunk: stored bytes [12000, 68280),
 * across the leaf edge at 65536, so whole leaves come from the index. Read
 * by `identity` (LU's researcher directly, FI's through FI's relay) in
 * digest version `version`. */
static int read_rows_from_100(const char *identity, const Ecluse__V1__Grant *g, uint32_t version,
                              ecl_err *err)
{
    const char *const feats[] = {"features"};
    ecl_stream_opts o = ECL_STREAM_OPTS_INIT;
    o.tensors = feats;
    o.n_tensors = 1;
    o.rows = ECL_ROWS_RANGE;
    o.row_begin = 100;
    o.row_end = 569;
    o.chunk_bytes = 70000;
    o.digest_version = version;
    unsigned char *got = NULL;
    size_t len = 0;
    int rc = read_all(identity, g, &o, &got, &len, NULL, err);
    if (rc == 0) {
        store_dataset *ds = open_source(&lu, "bc");
        size_t want_len;
        unsigned char *want = expected(ds, feats, 1, 100, 569, &want_len);
        assert_int_equal(len, want_len);
        assert_memory_equal(got, want, len);
        free(want);
        store_unref(ds);
    }
    free(got);
    return rc;
}

/* The features resumed at byte 65000 of 5000-byte chunks, the prefix given
 * as the source's bytes: the last chunk, [65000, 68280), holds leaf 1
 * ([65536, 68280)) whole. */
static int read_features_resumed(const Ecluse__V1__Grant *g, uint32_t version, ecl_err *err)
{
    const char *const feats[] = {"features"};
    ecl_stream_opts o = ECL_STREAM_OPTS_INIT;
    o.tensors = feats;
    o.n_tensors = 1;
    o.chunk_bytes = 5000;
    o.resume_offset = 65000;
    o.digest_version = version;
    store_dataset *ds = open_source(&lu, "bc");
    size_t want_len;
    unsigned char *want = expected(ds, feats, 1, 0, 569, &want_len);
    store_unref(ds);
    ecl_client *c = client_for(lu.res);
    ecl_stream *r = NULL;
    unsigned char rest[68280 - 65000];
    int rc = ecl_stream_open(c, g, &o, &r, err);
    for (uint64_t at = 0; rc == 0 && at < 65000; at += 5000)
        rc = ecl_stream_prefix_data(r, want + at, 5000, err);
    if (rc == 0)
        rc = ecl_stream_into(r, rest, sizeof(rest), err);
    if (rc == 0)
        assert_memory_equal(rest, want + 65000, sizeof(rest));
    ecl_stream_close(r);
    ecl_client_close(c);
    free(want);
    return rc;
}

static void expect_digest_mismatch(int rc, const ecl_err *err, const char *path)
{
    if (rc != -1 || err->code != ECL_E_CRYPTO ||
        strstr(err->msg, "does not match its digest") == NULL)
        fail_msg("%s: expected a digest mismatch, got %d, %s: %s", path, rc,
                 ecl_code_name(err->code), err->msg);
}

/* Publishing computes the leaf index; reads use it, rebuild it when it is
 * gone, and a damaged one cannot slip wrong bytes past the client. */
/* Flip a bit of the digest of leaf 1 of LU's bc features (stored bytes
 * [65536, 68280)) in the leaf index `index`, in place. */
static void flip_features_leaf_1(const char *index)
{
    store_dataset *ds = open_source(&lu, "bc");
    long at = 16 + 8 * (6 + (long)store_tensor_count(ds)); /* store/leaves.h layout */
    for (size_t i = 0; strcmp(store_tensor_at(ds, i)->name, "features") != 0; i++)
        at += 32 * (long)((store_tensor_at(ds, i)->byte_size + 65535) / 65536);
    at += 32 + 5;
    store_unref(ds);
    FILE *f = fopen(index, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, at, SEEK_SET), 0);
    int c = fgetc(f);
    assert_int_equal(fseek(f, at, SEEK_SET), 0);
    fputc(c ^ 0x01, f);
    fclose(f);
}

/* The features of LU's bc in 4 KiB chunks (17: more than the hashing
 * thread's queue holds) with `hashing`; returns ecl_stream_into's result and
 * where the read's verified position ended. */
static int read_features_hashing(const Ecluse__V1__Grant *g, ecl_hashing hashing,
                                 uint64_t *position, ecl_err *err)
{
    const char *const feats[] = {"features"};
    ecl_stream_opts o = ECL_STREAM_OPTS_INIT;
    o.tensors = feats;
    o.n_tensors = 1;
    o.chunk_bytes = 4096;
    o.hashing = hashing;
    ecl_client *c = client_for(lu.res);
    ecl_stream *r = NULL;
    unsigned char *got = NULL;
    int rc = ecl_stream_open(c, g, &o, &r, err);
    if (rc == 0) {
        size_t len = (size_t)ecl_stream_header(r)->total_bytes;
        got = malloc(len);
        assert_non_null(got);
        rc = ecl_stream_into(r, got, len, err);
        *position = ecl_stream_position(r);
        if (rc == 0) {
            store_dataset *ds = open_source(&lu, "bc");
            size_t want_len;
            unsigned char *want = expected(ds, feats, 1, 0, 569, &want_len);
            assert_int_equal(len, want_len);
            assert_memory_equal(got, want, len);
            assert_non_null(ecl_stream_trailer(r));
            free(want);
            store_unref(ds);
        }
    }
    free(got);
    ecl_stream_close(r);
    ecl_client_close(c);
    return rc;
}

/* ecl_stream_into hashes on the reading thread or on a thread of its own:
 * the same bytes, the same checks, the same chunk named when one fails,
 * and the position stays at the last chunk that matched. */
static void test_read_into_checks_every_chunk_on_either_thread(void **state)
{
    (void)state;
    Ecluse__V1__Grant g = ECLUSE__V1__GRANT__INIT;
    make_grant(&lu, "lu/bc", "lu", "res", NULL, 0, 0, 0, &g);
    char index[PATH_MAX + 64];
    snprintf(index, sizeof(index), "%s/datasets/bc.leaves-v3", lu.data);
    const ecl_hashing modes[] = {ECL_HASH_INLINE, ECL_HASH_THREAD, ECL_HASH_AUTO};
    ecl_err err;
    uint64_t pos = 0;
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(read_features_hashing(&g, modes[i], &pos, &err), 0);
        assert_int_equal(pos, 569 * 30 * 4);
    }
    flip_features_leaf_1(index); /* in chunk 16 of 17, at offset 65536 */
    for (size_t i = 0; i < 3; i++) {
        pos = 1;
        assert_int_equal(read_features_hashing(&g, modes[i], &pos, &err), -1);
        if (err.code != ECL_E_CRYPTO ||
            strstr(err.msg, "chunk 16 (tensor 'features', offset 65536, 2744 bytes): the data "
                            "does not match its digest") == NULL)
            fail_msg("hashing mode %d: expected chunk 16 to fail its digest, got %s: %s",
                     (int)modes[i], ecl_code_name(err.code), err.msg);
        assert_int_equal(pos, 65536);
    }
    assert_int_equal(unlink(index), 0); /* the next read rebuilds it */
    assert_int_equal(read_features_hashing(&g, ECL_HASH_THREAD, &pos, &err), 0);
    grant_clear(&g);
}

static void test_the_leaf_index_serves_reads_and_is_rebuilt(void **state)
{
    (void)state;
    Ecluse__V1__Grant g = ECLUSE__V1__GRANT__INIT, gfi = ECLUSE__V1__GRANT__INIT;
    make_grant(&lu, "lu/bc", "lu", "res", NULL, 0, 0, 0, &g);
    make_grant(&lu, "lu/bc", "fi", "res", NULL, 0, 0, 0, &gfi);
    /* Each digest version has its own index, published with the dataset;
     * a dataset published before version 3 has none of it (removed here)
     * and gets it on its first read. */
    for (uint32_t v = 2; v <= 3; v++) {
        char index[PATH_MAX + 64];
        snprintf(index, sizeof(index), "%s/datasets/bc%s", lu.data,
                 v == 3 ? ".leaves-v3" : ".leaves");
        ecl_err err;
        assert_int_equal(access(index, F_OK), 0);
        assert_int_equal(read_rows_from_100(lu.res, &g, v, &err), 0);

        assert_int_equal(unlink(index), 0);
        assert_int_equal(read_rows_from_100(lu.res, &g, v, &err), 0);
        assert_int_equal(access(index, F_OK), 0); /* rebuilt by that read */

        /* One leaf digest changed in place: the file is still the right
         * size and version, so the gateway serves from it, and the client
         * refuses, on every path: direct, relayed through FI, resumed. */
        flip_features_leaf_1(index);
        expect_digest_mismatch(read_rows_from_100(lu.res, &g, v, &err), &err, "direct");
        expect_digest_mismatch(read_rows_from_100(fi.res, &gfi, v, &err), &err, "relayed");
        expect_digest_mismatch(read_features_resumed(&g, v, &err), &err, "resumed");
        assert_int_equal(unlink(index), 0);
        assert_int_equal(read_rows_from_100(lu.res, &g, v, &err), 0);
        assert_int_equal(read_rows_from_100(fi.res, &gfi, v, &err), 0);
        assert_int_equal(read_features_resumed(&g, v, &err), 0);
    }
    grant_clear(&g);
    grant_clear(&gfi);
}

static void test_shards_cover_the_whole_without_overlap(void **state)
{
    (void)state;
    const char *const labels[] = {"labels"};
    Ecluse__V1__Grant g = ECLUSE__V1__GRANT__INIT;
    make_grant(&lu, "lu/bc", "lu", "res", NULL, 0, 0, 0, &g);
    store_dataset *ds = open_source(&lu, "bc");
    size_t want_len;
    unsigned char *want = expected(ds, labels, 1, 0, 569, &want_len);
    unsigned char *joined = malloc(want_len);
    size_t at = 0;
    for (uint32_t k = 0; k < 4; k++) {
        ecl_stream_opts o = ECL_STREAM_OPTS_INIT;
        o.tensors = labels;
        o.n_tensors = 1;
        o.rows = ECL_ROWS_SHARD;
        o.shard_index = k;
        o.shard_count = 4;
        o.chunk_bytes = 256;
        unsigned char *got;
        size_t len;
        ecl_err err;
        assert_int_equal(read_all(lu.res, &g, &o, &got, &len, NULL, &err), 0);
        /* 569 = 4 * 142 + 1: shard 0 has 143 rows, the others 142. */
        assert_int_equal(len, (k == 0 ? 143 : 142) * 8);
        assert_true(at + len <= want_len);
        memcpy(joined + at, got, len);
        at += len;
        free(got);
    }
    assert_int_equal(at, want_len);
    assert_memory_equal(joined, want, want_len);
    free(joined);
    free(want);
    store_unref(ds);
    grant_clear(&g);
}

static void test_resumed_read_yields_the_rest_and_checks_the_whole(void **state)
{
    (void)state;
    Ecluse__V1__Grant g = ECLUSE__V1__GRANT__INIT;
    make_grant(&lu, "lu/bc", "lu", "res", NULL, 0, 0, 0, &g);
    store_dataset *ds = open_source(&lu, "bc");
    size_t want_len;
    unsigned char *want = expected(ds, bc_all, 2, 0, 569, &want_len);
    /* features is 68280 bytes: chunks of 5000 start at 0, 5000, ...,
     * 65000, then labels at 68280 (4552 bytes, one chunk). */
    const uint64_t all_rows[][2] = {{0, 569}};
    unsigned char model[32];
    assert_int_equal(model_digest(V3, ds, bc_all, 2, all_rows, 1, 5000, model, NULL, 0), 14 + 1);
    ecl_stream_opts o = ECL_STREAM_OPTS_INIT;
    o.chunk_bytes = 5000;
    ecl_client *c = client_for(lu.res);
    ecl_stream *r = NULL;
    ecl_err err;
    unsigned char *got = malloc(want_len);

    /* Not a chunk boundary: refused, naming the two nearest. */
    o.resume_offset = 68280 - 123;
    assert_int_equal(ecl_stream_open(c, &g, &o, &r, &err), -1);
    assert_int_equal(err.remote_status, GRPC_STATUS_INVALID_ARGUMENT);
    if (strstr(err.msg, "resume offset 68157 is not a chunk boundary of this read (chunks of "
                        "5000 bytes): resume from 65000 or 68280") == NULL)
        fail_msg("%s", err.msg);

    /* From a boundary, the prefix given as the earlier chunks' bytes. */
    uint64_t from = 65000;
    o.resume_offset = from;
    assert_int_equal(ecl_stream_open(c, &g, &o, &r, &err), 0);
    assert_int_equal(ecl_stream_header(r)->resume_offset, from);
    for (uint64_t at = 0; at < from; at += 5000)
        assert_int_equal(ecl_stream_prefix_data(r, want + at, 5000, &err), 0);
    assert_int_equal(ecl_stream_into(r, got, want_len, &err), 0);
    assert_memory_equal(got, want + from, want_len - from);
    assert_int_equal(ecl_stream_trailer(r)->bytes_sent, want_len - from);
    assert_int_equal(ecl_stream_trailer(r)->chunks, 2);
    /* The gateway hashed the skipped chunks: the digest of the whole. */
    assert_memory_equal(ecl_stream_trailer(r)->digest.data, model, 32);
    ecl_stream_close(r);

    /* At the start of the second tensor, the prefix as digests. */
    o.resume_offset = 68280;
    assert_int_equal(ecl_stream_open(c, &g, &o, &r, &err), 0);
    for (uint64_t at = 0; at < 68280; at += 5000) {
        size_t len = 68280 - at < 5000 ? (size_t)(68280 - at) : 5000;
        unsigned char d[32];
        spec_chunk_v(V3, d, want + at, len, at); /* all rows: stored where streamed */
        assert_int_equal(ecl_stream_prefix_chunk(r, d, len, &err), 0);
    }
    assert_int_equal(ecl_stream_into(r, got, want_len, &err), 0);
    assert_memory_equal(ecl_stream_trailer(r)->digest.data, model, 32);
    ecl_stream_close(r);

    /* Without the prefix the whole digest cannot be checked: said so. */
    o.resume_offset = from;
    assert_int_equal(ecl_stream_open(c, &g, &o, &r, &err), 0);
    assert_int_equal(ecl_stream_into(r, got, want_len, &err), -1);
    assert_int_equal(err.code, ECL_E_PRECONDITION);
    assert_non_null(strstr(err.msg, "the prefix chunks given cover only 0 bytes"));
    ecl_stream_close(r);

    /* The prefix cut otherwise (same bytes, 65000 as 13 x 5000 but given
     * as 5 x 13000): the digests differ, the trailer check fails. */
    assert_int_equal(ecl_stream_open(c, &g, &o, &r, &err), 0);
    for (uint64_t at = 0; at < from; at += 13000)
        assert_int_equal(ecl_stream_prefix_data(r, want + at, 13000, &err), 0);
    assert_int_equal(ecl_stream_into(r, got, want_len, &err), -1);
    assert_int_equal(err.code, ECL_E_CRYPTO);
    assert_non_null(strstr(err.msg, "does not match the chunks read"));
    ecl_stream_close(r);
    ecl_client_close(c);
    free(got);
    free(want);
    store_unref(ds);
    grant_clear(&g);
}

/* Every offset of two small selections of bcw (rows withdrawn: several runs
 * per tensor): an offset where the offset-0 read starts a chunk resumes to
 * the same chunks and the same trailer digest (the model's); any other is
 * refused with INVALID_ARGUMENT naming the chunk that holds it. */
static void resume_everywhere(ecl_client *c, const Ecluse__V1__Grant *g, ecl_stream_opts o,
                              const char *const *names, size_t n, const uint64_t (*runs)[2],
                              size_t nruns)
{
    store_dataset *ds = open_source(&lu, "bcw");
    uint64_t at[128];
    unsigned char model[32];
    size_t nchunks = model_digest(V3, ds, names, n, runs, nruns, o.chunk_bytes, model, at, 128);
    ecl_stream *r = NULL;
    ecl_err err;
    /* The offset-0 read: its chunks are the model's; keep their digests. */
    unsigned char digests[128][32];
    size_t lens[128], k = 0;
    assert_int_equal(ecl_stream_open(c, g, &o, &r, &err), 0);
    uint64_t total = ecl_stream_header(r)->total_bytes;
    unsigned char *whole = malloc(total);
    ecl_stream_chunk ch;
    int rc;
    while ((rc = ecl_stream_next(r, &ch, &err)) == 1) {
        assert_true(k < nchunks);
        assert_int_equal(ch.stream_offset, at[k]);
        memcpy(digests[k], ch.digest, 32);
        memcpy(whole + ch.stream_offset, ch.data, ch.len);
        lens[k++] = ch.len;
    }
    if (rc != 0)
        fail_msg("offset-0 read: %s", err.msg);
    assert_int_equal(k, nchunks);
    assert_memory_equal(ecl_stream_trailer(r)->digest.data, model, 32);
    ecl_stream_close(r);
    unsigned char *rest = malloc(total);
    size_t next = 0; /* the first chunk starting at or after x */
    for (uint64_t x = 0; x <= total; x++) {
        while (next < nchunks && at[next] < x)
            next++;
        o.resume_offset = x;
        if (x == total || (next < nchunks && at[next] == x)) {
            assert_int_equal(ecl_stream_open(c, g, &o, &r, &err), 0);
            for (size_t i = 0; i < next; i++)
                assert_int_equal(ecl_stream_prefix_chunk(r, digests[i], lens[i], &err), 0);
            if (ecl_stream_into(r, rest, total, &err) != 0)
                fail_msg("resume at %llu: %s", (unsigned long long)x, err.msg);
            assert_memory_equal(rest, whole + x, total - x);
            assert_int_equal(ecl_stream_trailer(r)->chunks, nchunks - next);
            assert_memory_equal(ecl_stream_trailer(r)->digest.data, model, 32);
            ecl_stream_close(r);
            continue;
        }
        char want[200];
        uint64_t b = at[next - 1], e = next < nchunks ? at[next] : total;
        snprintf(want, sizeof(want),
                 "resume offset %llu is not a chunk boundary of this read (chunks of %u bytes): "
                 "resume from %llu or %llu",
                 (unsigned long long)x, o.chunk_bytes, (unsigned long long)b,
                 (unsigned long long)e);
        assert_int_equal(ecl_stream_open(c, g, &o, &r, &err), -1);
        if (err.remote_status != GRPC_STATUS_INVALID_ARGUMENT || strstr(err.msg, want) == NULL)
            fail_msg("resume at %llu: expected '%s', got %d: %s", (unsigned long long)x, want,
                     err.remote_status, err.msg);
    }
    free(whole);
    free(rest);
    store_unref(ds);
}

static void test_resume_only_at_chunk_boundaries(void **state)
{
    (void)state;
    Ecluse__V1__Grant g = ECLUSE__V1__GRANT__INIT;
    make_grant(&lu, "lu/bcw", "lu", "res", NULL, 0, 0, 0, &g);
    ecl_client *c = client_for(lu.res);
    const char *const labels[] = {"labels"};
    /* Rows [0, 40) minus [5, 10) and [20, 22): runs of 5, 10 and 18 rows of
     * 8 bytes, cut in 24s: 24 16 | 24 24 24 8 | 24 x 6. */
    ecl_stream_opts o = ECL_STREAM_OPTS_INIT;
    o.tensors = labels;
    o.n_tensors = 1;
    o.rows = ECL_ROWS_RANGE;
    o.row_begin = 0;
    o.row_end = 40;
    o.chunk_bytes = 24;
    const uint64_t runs1[][2] = {{0, 5}, {10, 20}, {22, 40}};
    resume_everywhere(c, &g, o, labels, 1, runs1, 3);
    /* Both tensors, rows [3, 12): runs [3, 5) and [10, 12) of each, cut in
     * 100s: features 100 100 40 | 100 100 40, labels 16 | 16. */
    o.tensors = bc_all;
    o.n_tensors = 2;
    o.row_begin = 3;
    o.row_end = 12;
    o.chunk_bytes = 100;
    const uint64_t runs2[][2] = {{3, 5}, {10, 12}};
    resume_everywhere(c, &g, o, bc_all, 2, runs2, 2);
    ecl_client_close(c);
    grant_clear(&g);
}

/* The zero-copy frames are the ordinary encoding: protobuf-c decodes each
 * message and packs it back to the very same bytes. The digests are those
 * of the definition (read_spec.h, written apart from the code) in the
 * version asked for: 0 is what a client from before version 3 sends, and
 * gets version 2. A corrupted chunk is caught by the client's check. */
static void frames_of_version(uint32_t asked)
{
    uint32_t version = asked == 0 ? 2 : asked;
    Ecluse__V1__Grant g = ECLUSE__V1__GRANT__INIT;
    make_grant(&lu, "lu/bc", "lu", "res", NULL, 0, 0, 0, &g);
    Ecluse__V1__ReadRequest req = ECLUSE__V1__READ_REQUEST__INIT;
    req.grant = &g;
    req.chunk_bytes = 3000;
    req.digest_version = asked;
    store_dataset *ds = open_source(&lu, "bc");
    ecl_client *c = client_for(lu.res);
    rpc_stream *st = NULL;
    ecl_err err;
    assert_int_equal(
        rpc_stream_open(ecl_client_channel(c), "/ecluse.v1.Data/Read", &req.base, 0, &st, &err), 0);
    ecl_verifier *v = NULL, *tampered = NULL, *reordered = NULL, *dropped = NULL;
    unsigned char *raw;
    size_t len;
    int n, chunks = 0, caught = 0;
    while ((n = rpc_stream_next_raw(st, &raw, &len, &err)) == 1) {
        Ecluse__V1__ReadMessage *m = ecluse__v1__read_message__unpack(NULL, len, raw);
        assert_non_null(m);
        unsigned char *again = malloc(len);
        assert_int_equal(ecluse__v1__read_message__pack(m, again), len);
        assert_memory_equal(again, raw, len);
        free(again);
        ecl_stream_chunk rc;
        if (m->kind_case == ECLUSE__V1__READ_MESSAGE__KIND_HEADER) {
            assert_int_equal(ecl_verifier_new(m->header, &v, &err), 0);
            assert_int_equal(ecl_verifier_new(m->header, &tampered, &err), 0);
            assert_int_equal(ecl_verifier_new(m->header, &reordered, &err), 0);
            assert_int_equal(ecl_verifier_new(m->header, &dropped, &err), 0);
            assert_int_equal(strlen(m->header->read_id), 32);
            assert_int_equal(m->header->digest_version, version);
        } else if (m->kind_case == ECLUSE__V1__READ_MESSAGE__KIND_CHUNK) {
            /* All rows are sent: a chunk's source offset is its offset. */
            unsigned char spec[32];
            spec_chunk_v(version, spec, m->chunk->data.data, m->chunk->data.len, m->chunk->offset);
            assert_int_equal(m->chunk->digest.len, 32);
            assert_memory_equal(m->chunk->digest.data, spec, 32);
            assert_int_equal(ecl_verifier_chunk(v, m->chunk, &rc, &err), 0);
            if (chunks == 5) { /* one bit flipped in transit */
                m->chunk->data.data[17] ^= 0x04;
                assert_int_equal(ecl_verifier_chunk(tampered, m->chunk, &rc, &err), -1);
                assert_int_equal(err.code, ECL_E_CRYPTO);
                assert_non_null(strstr(err.msg, "chunk 5 (tensor 'features', offset 15000"));
                assert_non_null(strstr(err.msg, "does not match its digest"));
                caught = 1;
            } else if (chunks < 5)
                assert_int_equal(ecl_verifier_chunk(tampered, m->chunk, &rc, &err), 0);
            /* Chunk 3 before chunk 2 (`reordered`), chunk 2 left out (`dropped`). */
            if (chunks < 2)
                assert_int_equal(ecl_verifier_chunk(reordered, m->chunk, &rc, &err), 0);
            if (chunks == 3) {
                assert_int_equal(ecl_verifier_chunk(reordered, m->chunk, &rc, &err), -1);
                assert_int_equal(err.code, ECL_E_INPUT);
                assert_non_null(strstr(err.msg, "offset 9000 is stream byte 9000, expected 6000"));
            }
            if (chunks != 2)
                assert_int_equal(ecl_verifier_chunk(dropped, m->chunk, &rc, &err),
                                 chunks < 2 ? 0 : -1);
            if (chunks == 3)
                assert_non_null(strstr(err.msg, "offset 9000 is stream byte 9000, expected 6000"));
            chunks++;
        } else {
            assert_int_equal(ecl_verifier_trailer(v, m->trailer, &err), 0);
            assert_int_equal(m->trailer->chunks, chunks);
            assert_true(m->trailer->audit_seq > 0);
            const uint64_t all_rows[][2] = {{0, 569}};
            unsigned char model[32];
            model_digest(version, ds, bc_all, 2, all_rows, 1, 3000, model, NULL, 0);
            assert_memory_equal(m->trailer->digest.data, model, 32);
        }
        ecluse__v1__read_message__free_unpacked(m, NULL);
        free(raw);
    }
    assert_int_equal(n, 0);
    assert_true(caught);
    ecl_verifier_free(reordered);
    ecl_verifier_free(dropped);
    assert_int_equal(chunks, 23 + 2); /* features 68280 bytes, labels 4552 */
    ecl_verifier_free(v);
    ecl_verifier_free(tampered);
    rpc_stream_close(st);
    ecl_client_close(c);
    store_unref(ds);
    grant_clear(&g);
}

static void test_frames_decode_and_a_corrupted_chunk_is_caught(void **state)
{
    (void)state;
    frames_of_version(0);
    frames_of_version(2);
    frames_of_version(3);
}

static void expect_refusal(const char *identity, const Ecluse__V1__Grant *g,
                           const ecl_stream_opts *o, int status, const char *needle)
{
    unsigned char *got;
    size_t len;
    ecl_err err;
    assert_int_equal(read_all(identity, g, o, &got, &len, NULL, &err), -1);
    free(got);
    if (err.remote_status != status || strstr(err.msg, needle) == NULL)
        fail_msg("expected status %d with '%s', got %d: %s", status, needle, err.remote_status,
                 err.msg);
}

static void test_reads_beyond_the_grant_are_refused(void **state)
{
    (void)state;
    const char *const feats[] = {"features"}, *const labels[] = {"labels"};
    Ecluse__V1__Grant g = ECLUSE__V1__GRANT__INIT;
    make_grant(&lu, "lu/bc", "lu", "res", feats, 1, 100, 0, &g);
    ecl_stream_opts o = ECL_STREAM_OPTS_INIT;
    o.tensors = labels;
    o.n_tensors = 1;
    expect_refusal(lu.res, &g, &o, GRPC_STATUS_PERMISSION_DENIED,
                   "tensor 'labels' is beyond grant");
    o.tensors = feats;
    o.rows = ECL_ROWS_RANGE;
    o.row_begin = 50;
    o.row_end = 101;
    expect_refusal(lu.res, &g, &o, GRPC_STATUS_PERMISSION_DENIED,
                   "rows [50, 101) are beyond grant");
    /* A digest version the gateway does not know: refused before anything. */
    o.row_end = 100;
    o.digest_version = 4;
    expect_refusal(lu.res, &g, &o, GRPC_STATUS_INVALID_ARGUMENT,
                   "digest_version 4 is not one this gateway serves (2: SHA-256, 3: BLAKE3)");
    /* No selection: the granted tensor and its first 100 rows only. */
    ecl_stream_opts all = ECL_STREAM_OPTS_INIT;
    unsigned char *got;
    size_t len;
    ecl_err err;
    assert_int_equal(read_all(lu.res, &g, &all, &got, &len, NULL, &err), 0);
    store_dataset *ds = open_source(&lu, "bc");
    size_t want_len;
    unsigned char *want = expected(ds, feats, 1, 0, 100, &want_len);
    assert_int_equal(len, want_len);
    assert_memory_equal(got, want, len);
    free(got);
    free(want);
    store_unref(ds);
    grant_clear(&g);
}

static void test_expired_foreign_and_forged_grants_are_refused(void **state)
{
    (void)state;
    ecl_stream_opts o = ECL_STREAM_OPTS_INIT;
    Ecluse__V1__Grant g = ECLUSE__V1__GRANT__INIT;
    make_grant(&lu, "lu/bc", "lu", "res", NULL, 0, 0, (int64_t)time(NULL) - 5, &g);
    expect_refusal(lu.res, &g, &o, GRPC_STATUS_FAILED_PRECONDITION, "expired");
    grant_clear(&g);

    make_grant(&lu, "lu/bc", "lu", "res", NULL, 0, 0, 0, &g);
    expect_refusal(lu.other, &g, &o, GRPC_STATUS_PERMISSION_DENIED,
                   "was issued to spiffe://lu/researcher/res, not to "
                   "spiffe://lu/researcher/other");
    /* Relayed: FI checks the requester before anything goes to LU. */
    expect_refusal(fi.res, &g, &o, GRPC_STATUS_PERMISSION_DENIED,
                   "not to spiffe://fi/researcher/res");
    grant_clear(&g);

    /* Signed by FI's key, claiming LU's dataset: no key of LU's signed it. */
    make_grant(&fi, "lu/bc", "fi", "res", NULL, 0, 0, 0, &g);
    expect_refusal(fi.res, &g, &o, GRPC_STATUS_PERMISSION_DENIED,
                   "the grant is signed by another site");
    grant_clear(&g);
}

static void test_cross_border_read_is_relayed_byte_for_byte(void **state)
{
    (void)state;
    Ecluse__V1__Grant g = ECLUSE__V1__GRANT__INIT;
    make_grant(&lu, "lu/bc", "fi", "res", NULL, 0, 0, 0, &g);
    ecl_stream_opts o = ECL_STREAM_OPTS_INIT;
    o.chunk_bytes = 7000;
    unsigned char *got;
    size_t len;
    ecl_err err;
    char *id = read_ids_fi[n_ids_fi++];
    if (read_all(fi.res, &g, &o, &got, &len, id, &err) != 0)
        fail_msg("relayed read: %s", err.msg);
    snprintf(read_ids_lu[n_ids_lu++], 40, "%s", id); /* the same id at both sites */
    store_dataset *ds = open_source(&lu, "bc");
    size_t want_len;
    unsigned char *want = expected(ds, bc_all, 2, 0, 569, &want_len);
    assert_int_equal(len, want_len);
    assert_memory_equal(got, want, len);
    free(got);
    free(want);
    store_unref(ds);
    /* LU's researcher cannot use FI's home gateway, and FI's researcher
     * reads LU's shard through FI as well. */
    o.rows = ECL_ROWS_SHARD;
    o.shard_index = 1;
    o.shard_count = 2;
    assert_int_equal(read_all(fi.res, &g, &o, &got, &len, NULL, &err), 0);
    assert_int_equal(len, 284 * (30 * 4 + 8));
    free(got);
    grant_clear(&g);
}

static void test_holding_site_going_away_is_clear_and_resumable(void **state)
{
    (void)state;
    Ecluse__V1__Grant g = ECLUSE__V1__GRANT__INIT;
    make_grant(&lu, "lu/big", "fi", "res", NULL, 0, 0, 0, &g);
    store_dataset *ds = open_source(&lu, "big");
    size_t want_len;
    unsigned char *want = expected(ds, bc_all, 2, 0, 4096, &want_len);
    const uint64_t all_rows[][2] = {{0, 4096}};
    unsigned char model[32];
    assert_int_equal(model_digest(V3, ds, bc_all, 2, all_rows, 1, 64 * 1024, model, NULL, 0), 257);
    ecl_stream_opts o = ECL_STREAM_OPTS_INIT;
    o.chunk_bytes = 64 * 1024;
    ecl_client *c = client_for(fi.res);
    ecl_stream *r = NULL;
    ecl_err err;
    assert_int_equal(ecl_stream_open(c, &g, &o, &r, &err), 0);
    ecl_stream_chunk ch;
    /* What a client keeps to resume: each verified chunk's digest and length. */
    static unsigned char kept[257][32];
    size_t kept_len[257], nkept = 0;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(ecl_stream_next(r, &ch, &err), 1);
        memcpy(kept[nkept], ch.digest, 32);
        kept_len[nkept++] = ch.len;
    }
    /* LU disappears without a goodbye. */
    kill(lu.s.pid, SIGKILL);
    waitpid(lu.s.pid, NULL, 0);
    lu.s.pid = 0;
    int n;
    while ((n = ecl_stream_next(r, &ch, &err)) == 1) {
        assert_true(nkept < 257);
        memcpy(kept[nkept], ch.digest, 32);
        kept_len[nkept++] = ch.len;
    }
    assert_int_equal(n, -1);
    assert_int_equal(err.code, ECL_E_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "site 'lu' went away"));
    uint64_t pos = ecl_stream_position(r);
    assert_true(pos > 0 && pos < want_len);
    ecl_stream_close(r);

    th_gateway_start(&lu.s);
    o.resume_offset = pos;
    assert_int_equal(ecl_stream_open(c, &g, &o, &r, &err), 0);
    for (size_t i = 0; i < nkept; i++)
        assert_int_equal(ecl_stream_prefix_chunk(r, kept[i], kept_len[i], &err), 0);
    unsigned char *rest = malloc(want_len - pos);
    assert_int_equal(ecl_stream_into(r, rest, want_len - pos, &err), 0);
    assert_memory_equal(rest, want + pos, want_len - pos);
    assert_int_equal(ecl_stream_trailer(r)->chunks, 257 - nkept);
    assert_memory_equal(ecl_stream_trailer(r)->digest.data, model, 32);
    ecl_stream_close(r);
    ecl_client_close(c);
    free(rest);
    free(want);
    store_unref(ds);
    grant_clear(&g);
}

/* `ecluse fetch` writes what it received as a safetensors file. */
static void test_fetch_writes_a_safetensors_file(void **state)
{
    (void)state;
    Ecluse__V1__Grant g = ECLUSE__V1__GRANT__INIT;
    make_grant(&lu, "lu/bc", "fi", "res", NULL, 0, 0, 0, &g);
    char gpath[PATH_MAX], opath[PATH_MAX];
    snprintf(gpath, sizeof(gpath), "%s/bc.grant", root);
    snprintf(opath, sizeof(opath), "%s/bc-shard.safetensors", root);
    ecl_err err;
    assert_int_equal(client_grant_save(gpath, &g, &err), 0);
    must(th_run(out, sizeof(out), "fetch", "--grant", gpath, "--shard", "1/3", "-o", opath,
                "--chunk-bytes", "10000", "--identity", fi.res, NULL),
         "fetch");
    assert_non_null(strstr(out, "fetched lu/bc: 2 tensor(s)"));
    store_dataset *got = NULL, *src = open_source(&lu, "bc");
    assert_int_equal(store_open(opath, &got, &err), 0);
    size_t want_len;
    unsigned char *want = expected(src, bc_all, 2, 190, 380, &want_len);
    const store_tensor *f = store_tensor_at(got, 0), *l = store_tensor_at(got, 1);
    assert_string_equal(f->name, "features");
    assert_int_equal(f->shape[0], 190);
    assert_int_equal(f->shape[1], 30);
    assert_int_equal(f->byte_size + l->byte_size, want_len);
    assert_memory_equal(f->data, want, f->byte_size);
    assert_memory_equal(l->data, want + f->byte_size, l->byte_size);
    free(want);
    store_unref(got);
    store_unref(src);
    /* A grant file that is not one is refused before anything is asked. */
    assert_int_equal(th_run(out, sizeof(out), "fetch", "--grant", opath, "-o", opath, "--identity",
                            fi.res, NULL),
                     3);
    assert_non_null(strstr(out, "line 1 is not 'ecluse-grant-v1'"));
    grant_clear(&g);
}

/* What a fetch killed after two whole chunks leaves behind: FILE.part with
 * the two chunks and part of the third, FILE.part.chunks with their two
 * records (digests of `version`) and part of a third, FILE.part.json naming
 * the selection, and the digest version unless it is 2 (a fetch from
 * before version 3 did not record it). */
static void leave_partial_fetch(const char *opath, const Ecluse__V1__Grant *g,
                                const unsigned char *want, int flip, uint32_t version)
{
    char path[PATH_MAX + 32], sel[256], hex[65];
    unsigned char d[32], rec[40];
    crypto_generichash(d, 32, g->body.data, g->body.len, NULL, 0);
    sodium_bin2hex(hex, sizeof(hex), d, 32);
    snprintf(sel, sizeof(sel), "grant=%s tensors= rows=2:0:0 shard=1/3 chunk=10000", hex);
    json_t *st = json_pack("{s:s}", "selection", sel);
    if (version != 2)
        json_object_set_new(st, "digest_version", json_integer(version));
    snprintf(path, sizeof(path), "%s.part.json", opath);
    assert_int_equal(json_dump_file(st, path, 0), 0);
    json_decref(st);
    snprintf(path, sizeof(path), "%s.part", opath);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(want, 1, 21234, f), 21234);
    if (flip) { /* a byte of the second chunk changed on disk since */
        fseek(f, 15000, SEEK_SET);
        fputc(want[15000] ^ 0x20, f);
    }
    fclose(f);
    snprintf(path, sizeof(path), "%s.part.chunks", opath);
    f = fopen(path, "wb");
    assert_non_null(f);
    for (int k = 0; k < 3; k++) {
        unsigned len = k < 2 ? 10000 : 2800; /* features: 22800 bytes */
        memset(rec, 0, sizeof(rec));
        rec[0] = len & 0xff; /* little-endian */
        rec[1] = len >> 8;
        /* Shard 1/3 is rows [190, 380), 120 bytes each, of the features. */
        spec_chunk_v(version, rec + 8, want + k * 10000, len, 190 * 120 + (uint64_t)k * 10000);
        assert_int_equal(fwrite(rec, 1, k < 2 ? 40 : 20, f), k < 2 ? 40 : 20);
    }
    fclose(f);
}

/* The same fetch command picks up after the last whole chunk, checks the
 * chunks on disk against their records, and the trailer's digest of the
 * whole still verifies. */
static void test_fetch_resumes_after_its_last_whole_chunk(void **state)
{
    (void)state;
    Ecluse__V1__Grant g = ECLUSE__V1__GRANT__INIT;
    make_grant(&lu, "lu/bc", "fi", "res", NULL, 0, 0, 0, &g);
    char gpath[PATH_MAX], opath[PATH_MAX], part[PATH_MAX + 16];
    snprintf(gpath, sizeof(gpath), "%s/bc-resume.grant", root);
    snprintf(opath, sizeof(opath), "%s/bc-resume.safetensors", root);
    snprintf(part, sizeof(part), "%s.part", opath);
    ecl_err err;
    assert_int_equal(client_grant_save(gpath, &g, &err), 0);
    store_dataset *src = open_source(&lu, "bc");
    size_t want_len;
    unsigned char *want = expected(src, bc_all, 2, 190, 380, &want_len);
    assert_int_equal(want_len, 22800 + 1520);

    /* A chunk on disk that no longer matches its record: refused. */
    leave_partial_fetch(opath, &g, want, 1, V3);
    assert_int_equal(th_run(out, sizeof(out), "fetch", "--grant", gpath, "--shard", "1/3", "-o",
                            opath, "--chunk-bytes", "10000", "--identity", fi.res, NULL),
                     10);
    assert_non_null(strstr(out, "chunk 1 (bytes 10000 to 20000) no longer matches the digest "
                                "recorded when it arrived"));
    /* Another chunk size is another stream: not resumed. */
    assert_int_equal(th_run(out, sizeof(out), "fetch", "--grant", gpath, "--shard", "1/3", "-o",
                            opath, "--chunk-bytes", "9000", "--identity", fi.res, NULL),
                     6);
    assert_non_null(strstr(out, "partial fetch of another grant, selection or chunk size"));

    /* A partial fetch of either digest version resumes in its version:
     * its kept digests are of that version, and so is the whole's. */
    for (uint32_t version = 2; version <= 3; version++) {
        leave_partial_fetch(opath, &g, want, 0, version);
        must(th_run(out, sizeof(out), "fetch", "--grant", gpath, "--shard", "1/3", "-o", opath,
                    "--chunk-bytes", "10000", "--identity", fi.res, NULL),
             "resumed fetch");
        assert_non_null(strstr(out, "bytes (resumed) into"));
        store_dataset *got = NULL;
        assert_int_equal(store_open(opath, &got, &err), 0);
        const store_tensor *f = store_tensor_at(got, 0), *l = store_tensor_at(got, 1);
        assert_int_equal(f->byte_size, 22800);
        assert_memory_equal(f->data, want, f->byte_size);
        assert_memory_equal(l->data, want + f->byte_size, l->byte_size);
        store_unref(got);
        /* The digest printed is the model's for this cut, in that version. */
        const uint64_t rows[][2] = {{190, 380}};
        unsigned char model[32];
        char hex[65], said[40];
        model_digest(version, src, bc_all, 2, rows, 1, 10000, model, NULL, 0);
        sodium_bin2hex(hex, sizeof(hex), model, 32);
        if (strstr(out, hex) == NULL)
            fail_msg("version %u: %s does not print %s", version, out, hex);
        snprintf(said, sizeof(said), "digest (version %u, %s", version,
                 version == 3 ? "BLAKE3" : "SHA-256");
        assert_non_null(strstr(out, said));
        assert_int_equal(remove(opath), 0);
    }
    assert_int_equal(access(part, F_OK), -1); /* the sidecars are gone */
    store_unref(src);
    free(want);
    grant_clear(&g);
}

/* ---- audit at both sites ------------------------------------------------------ */

typedef struct found {
    const char *read_id;
    int start, end;
    char start_detail[2048], end_detail[2048], actor[160];
} found;

static int on_record(const audit_record *rec, void *arg)
{
    found *f = arg;
    if (strcmp(rec->read_id, f->read_id) != 0)
        return 0;
    if (strcmp(rec->kind, AUDIT_KIND_READ_START) == 0) {
        f->start++;
        snprintf(f->start_detail, sizeof(f->start_detail), "%s", rec->detail_json);
        snprintf(f->actor, sizeof(f->actor), "%s", rec->actor);
    } else if (strcmp(rec->kind, AUDIT_KIND_READ_END) == 0) {
        f->end++;
        snprintf(f->end_detail, sizeof(f->end_detail), "%s", rec->detail_json);
    }
    return 0;
}

static void find_read(const char *data_dir, const char *read_id, found *f)
{
    char dir[PATH_MAX + 16];
    snprintf(dir, sizeof(dir), "%s/audit", data_dir);
    audit_log *log = NULL;
    ecl_err err;
    assert_int_equal(audit_open(dir, NULL, &log, &err), 0);
    memset(f, 0, sizeof(*f));
    f->read_id = read_id;
    audit_filter filter = {NULL, NULL, NULL, NULL, NULL, 0, 0, 0};
    assert_int_equal(audit_query(log, &filter, on_record, f, &err), 0);
    audit_verify_report rep;
    assert_int_equal(audit_verify(log, &rep, &err), 0);
    audit_close(log);
}

static void test_reads_are_audited_at_both_sites(void **state)
{
    (void)state;
    assert_int_equal(th_gateway_stop(&fi.s, NULL), 0);
    assert_int_equal(th_gateway_stop(&lu.s, NULL), 0);
    found f;
    /* A local read at LU. */
    find_read(lu.data, read_ids_lu[0], &f);
    assert_int_equal(f.start, 1);
    assert_int_equal(f.end, 1);
    assert_string_equal(f.actor, "spiffe://lu/researcher/res");
    assert_non_null(strstr(f.start_detail, "\"tensors\":[\"features\",\"labels\"]"));
    assert_non_null(strstr(f.start_detail, "\"rows\":[[0,569]]"));
    assert_non_null(strstr(f.end_detail, "\"bytes_sent\":72832"));
    assert_non_null(strstr(f.end_detail, "\"outcome\":\"complete\""));
    /* read-end's digest is the trailer's: the model's, for chunks of CHUNK. */
    store_dataset *ds = open_source(&lu, "bc");
    const uint64_t all_rows[][2] = {{0, 569}};
    unsigned char model[32];
    char hex[65], want_digest[80];
    model_digest(V3, ds, bc_all, 2, all_rows, 1, CHUNK, model, NULL, 0);
    store_unref(ds);
    sodium_bin2hex(hex, sizeof(hex), model, 32);
    snprintf(want_digest, sizeof(want_digest), "\"digest\":\"%s\"", hex);
    if (strstr(f.end_detail, want_digest) == NULL)
        fail_msg("read-end %s, expected %s", f.end_detail, want_digest);
    /* The relayed read: at FI with relayed_from, at LU with via. */
    find_read(fi.data, read_ids_fi[0], &f);
    assert_int_equal(f.start, 1);
    assert_int_equal(f.end, 1);
    assert_string_equal(f.actor, "spiffe://fi/researcher/res");
    assert_non_null(strstr(f.start_detail, "\"relayed_from\":\"lu\""));
    assert_non_null(strstr(f.end_detail, "\"bytes_sent\":72832"));
    found l;
    find_read(lu.data, read_ids_lu[1], &l);
    assert_int_equal(l.start, 1);
    assert_int_equal(l.end, 1);
    assert_string_equal(l.actor, "spiffe://fi/researcher/res");
    assert_non_null(strstr(l.start_detail, "\"via\":\"spiffe://fi/gateway\""));
    /* Both sites agree on the digest of what went through. */
    const char *a = strstr(f.end_detail, "\"digest\":\""),
               *b = strstr(l.end_detail, "\"digest\":\"");
    assert_non_null(a);
    assert_non_null(b);
    assert_memory_equal(a, b, 10 + 64);
    th_gateway_start(&fi.s);
    th_gateway_start(&lu.s);
}

/* EE's audit map is full before its gateway starts: a read is refused with
 * UNAVAILABLE and not one message is sent. */
static void test_a_full_audit_trail_fails_closed(void **state)
{
    (void)state;
    make_site(&ee, "ee", "EE");
    th_gateway_start(&ee.s);
    char csv[PATH_MAX + 64], cwd[PATH_MAX - 64];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    snprintf(csv, sizeof(csv), "%s/examples/data/breast_cancer.csv", cwd);
    publish(&ee, "bc", csv, "csv");
    assert_int_equal(th_gateway_stop(&ee.s, NULL), 0);

    char dir[PATH_MAX + 40];
    snprintf(dir, sizeof(dir), "%s/audit", ee.data);
    th_fill_audit(dir, 1u << 20, "spiffe://ee/admin/adm");
    ecl_err err;

    /* Tell the gateway its map is that size. */
    json_error_t jerr;
    json_t *cfg = json_load_file(ee.s.config, 0, &jerr);
    assert_non_null(cfg);
    json_object_set_new(cfg, "audit", json_pack("{s:i}", "map_size_mb", 1));
    assert_int_equal(json_dump_file(cfg, ee.s.config, JSON_INDENT(2)), 0);
    json_decref(cfg);
    th_gateway_start(&ee.s);

    Ecluse__V1__Grant g = ECLUSE__V1__GRANT__INIT;
    make_grant(&ee, "ee/bc", "ee", "res", NULL, 0, 0, 0, &g);
    Ecluse__V1__ReadRequest req = ECLUSE__V1__READ_REQUEST__INIT;
    req.grant = &g;
    ecl_client *c = client_for(ee.res);
    /* The gateway's own first write can free pages LMDB then reuses (it
     * hands pages freed by a commit only to a later one), so a read may
     * still fit: then it was recorded first, and the next ones use up the
     * room. Soon not one byte leaves: no message at all, UNAVAILABLE. */
    int refused = 0;
    for (int attempt = 0; attempt < 20 && !refused; attempt++) {
        rpc_stream *st = NULL;
        assert_int_equal(
            rpc_stream_open(ecl_client_channel(c), "/ecluse.v1.Data/Read", &req.base, 0, &st, &err),
            0);
        unsigned char *raw = NULL;
        size_t len = 0;
        int got = rpc_stream_next_raw(st, &raw, &len, &err);
        if (got == -1) {
            assert_int_equal(err.remote_status, GRPC_STATUS_UNAVAILABLE);
            assert_non_null(strstr(err.msg, "the audit trail cannot be written"));
            refused = 1;
        } else {
            assert_int_equal(got, 1);
            /* A read that started begins with its header, sent only once
             * its read-start entry is durable. */
            Ecluse__V1__ReadMessage *m = ecluse__v1__read_message__unpack(NULL, len, raw);
            assert_non_null(m);
            assert_int_equal(m->kind_case, ECLUSE__V1__READ_MESSAGE__KIND_HEADER);
            ecluse__v1__read_message__free_unpacked(m, NULL);
            free(raw);
        }
        rpc_stream_close(st);
    }
    assert_true(refused);
    ecl_client_close(c);
    grant_clear(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_dataset_equals_the_source),
        cmocka_unit_test(test_row_range_and_one_tensor),
        cmocka_unit_test(test_the_leaf_index_serves_reads_and_is_rebuilt),
        cmocka_unit_test(test_read_into_checks_every_chunk_on_either_thread),
        cmocka_unit_test(test_shards_cover_the_whole_without_overlap),
        cmocka_unit_test(test_resumed_read_yields_the_rest_and_checks_the_whole),
        cmocka_unit_test(test_resume_only_at_chunk_boundaries),
        cmocka_unit_test(test_frames_decode_and_a_corrupted_chunk_is_caught),
        cmocka_unit_test(test_reads_beyond_the_grant_are_refused),
        cmocka_unit_test(test_expired_foreign_and_forged_grants_are_refused),
        cmocka_unit_test(test_cross_border_read_is_relayed_byte_for_byte),
        cmocka_unit_test(test_holding_site_going_away_is_clear_and_resumable),
        cmocka_unit_test(test_fetch_writes_a_safetensors_file),
        cmocka_unit_test(test_fetch_resumes_after_its_last_whole_chunk),
        cmocka_unit_test(test_reads_are_audited_at_both_sites),
        cmocka_unit_test(test_a_full_audit_trail_fails_closed),
    };
    return cmocka_run_group_tests_name("data_read", tests, setup, teardown);
}
