/*
 * erasure_notice_test.c - an erasure at LU reaches the DE researcher who
 * read the rows through DE, provably (GDPR Art. 17(2), Art. 19).
 *
 * LU and DE are real gateways on loopback, peered both ways. A DE researcher
 * fetches lu/iris1 through DE; LU's admin erases rows of it. DE receives,
 * verifies and records LU's signed notice within 2 s (scaled), shows it to
 * the researcher, whose `notices ack` reaches LU's trail; the notice's
 * bytes verify with an independent verifier written from
 * docs/erasure-notices.md. With DE down at the erasure, the notice arrives
 * once DE is back. A forged notice, one signed with another key and a
 * replayed one are refused by DE, change nothing, and are on DE's record;
 * after DE removes LU as a peer, LU's notices no longer get in, and LU's
 * trail records each refused attempt.
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
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "proto/ecluse.pb-c.h"
#include "rpc/client.h"
#include "rpc/server.h"
#include "site/sitekey.h"
#include "tests/support/harness.h"

#define OUT_MAX (256 * 1024)

/* Used by some of the cases (main) only. */
#define GROUP_ONLY __attribute__((unused))

typedef struct site {
    th_site s;
    char admin[PATH_MAX], auditor[PATH_MAX], researcher[PATH_MAX];
} site;

static char root[PATH_MAX - 200];
static site lu, de;
static char out[OUT_MAX];
static int datasets;
static int library_ready;

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

/* lu/irisN, 4 rows, readable by anyone for GRU. */
static int publish(void)
{
    char name[32], csv[PATH_MAX + 64], policy[PATH_MAX + 64], text[1024];
    snprintf(name, sizeof(name), "iris%d", ++datasets);
    snprintf(csv, sizeof(csv), "%s/%s.csv", root, name);
    snprintf(policy, sizeof(policy), "%s/%s.policy.json", root, name);
    write_file(csv, "5.1,3.5,1.4,0\n4.9,3.0,1.4,0\n6.3,3.3,6.0,2\n5.8,2.7,5.1,2\n");
    snprintf(text, sizeof(text),
             "{\"ecluse_policy\": 1, \"dataset\": \"lu/%s\", \"category\": \"anonymous\", "
             "\"purposes\": {\"allowed\": [\"GRU\"]}, \"tensors\": [{\"name\": \"features\"}, "
             "{\"name\": \"labels\"}], \"minimisation\": {\"default\": {\"tensors\": "
             "[\"features\", \"labels\"], \"max_rows\": 4}}, \"storage\": {\"max_grant_days\": "
             "30}}\n",
             name);
    write_file(policy, text);
    must(th_run(out, sizeof(out), "dataset", "add", name, "--from", csv, "--label-column", "-1",
                "--title", "Iris", "--description", "Iris measurements", "--licence", "CC-BY-4.0",
                "--policy", policy, "--identity", lu.admin, NULL),
         "dataset add");
    return datasets;
}

/* Wait (scaled) until `pred` holds, or fail saying `what`. */
static void wait_for(int (*pred)(void *), void *ctx, double seconds, const char *what)
{
    double start = th_now(), give_up = start + seconds * th_time_scale();
    while (!pred(ctx)) {
        if (th_now() > give_up)
            fail_msg("%s: not within %.0f s:\n%s", what, seconds * th_time_scale(), out);
        usleep(50 * 1000);
    }
}

/* The DE researcher reads lu/irisN (all 4 rows) through DE. */
static void de_fetches(int n)
{
    char id[32], grant[PATH_MAX + 64], data[PATH_MAX + 64];
    snprintf(id, sizeof(id), "lu/iris%d", n);
    snprintf(grant, sizeof(grant), "%s/de-iris%d.grant", root, n);
    snprintf(data, sizeof(data), "%s/de-iris%d.safetensors", root, n);
    /* DE learns of the new dataset by change notice: wait until it lists it. */
    double give_up = th_now() + 10 * th_time_scale();
    while (th_run(out, sizeof(out), "access", "request", id, "--purpose", "GRU", "--basis",
                  "art6-1-e", "--job-country", "DE", "--save-grant", grant, "--identity",
                  de.researcher, NULL) != 0) {
        if (th_now() > give_up)
            fail_msg("access to %s refused:\n%s", id, out);
        usleep(100 * 1000);
    }
    must(th_run(out, sizeof(out), "fetch", "--grant", grant, "-o", data, "--no-progress",
                "--identity", de.researcher, NULL),
         "fetch");
}

/* 1 if the files at `a` and `b` hold the same bytes. */
GROUP_ONLY static int same_bytes(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    assert_non_null(fa);
    assert_non_null(fb);
    int ca, cb;
    do {
        ca = fgetc(fa);
        cb = fgetc(fb);
    } while (ca == cb && ca != EOF);
    fclose(fa);
    fclose(fb);
    return ca == cb;
}

/* A fresh grant and fetch of lu/irisN by the DE researcher into `data`. */
GROUP_ONLY static void de_fetches_again(int n, const char *data)
{
    char id[32], grant[PATH_MAX + 64];
    snprintf(id, sizeof(id), "lu/iris%d", n);
    snprintf(grant, sizeof(grant), "%s/de-iris%d-again.grant", root, n);
    must(th_run(out, sizeof(out), "access", "request", id, "--purpose", "GRU", "--basis",
                "art6-1-e", "--job-country", "DE", "--save-grant", grant, "--identity",
                de.researcher, NULL),
         "access request again");
    must(th_run(out, sizeof(out), "fetch", "--grant", grant, "-o", data, "--no-progress",
                "--identity", de.researcher, NULL),
         "fetch again");
}

static void erase(int n, const char *rows)
{
    char name[32];
    snprintf(name, sizeof(name), "iris%d", n);
    must(th_run(out, sizeof(out), "dataset", "erase", name, "--rows", rows, "--reason",
                "the data subject withdrew consent", "--identity", lu.admin, NULL),
         "dataset erase");
}

/* The notices `cmd` ("notices" or "audit notices") lists for `who`, as a
 * JSON array (the caller's). */
static json_t *notices(const char *cmd, const char *who, int pending)
{
    int rc =
        strcmp(cmd, "notices") == 0
            ? (pending ? th_run(out, sizeof(out), "notices", "--pending", "--json", "--identity",
                                who, NULL)
                       : th_run(out, sizeof(out), "notices", "--json", "--identity", who, NULL))
            : (pending ? th_run(out, sizeof(out), "audit", "notices", "--pending", "--json",
                                "--identity", who, NULL)
                       : th_run(out, sizeof(out), "audit", "notices", "--json", "--identity", who,
                                NULL));
    if (rc != 0)
        fail_msg("%s failed (%d):\n%s", cmd, rc, out);
    json_t *all = json_array();
    for (char *line = strtok(out, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        json_error_t jerr;
        json_t *doc = json_loads(line, 0, &jerr);
        if (doc == NULL)
            fail_msg("%s printed a line that is not JSON: %s", cmd, line);
        json_array_append_new(all, doc);
    }
    return all;
}

/* The notice for dataset lu/irisN in `list`, or NULL. */
static json_t *for_dataset(json_t *list, int n)
{
    char id[32];
    snprintf(id, sizeof(id), "lu/iris%d", n);
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        if (strcmp(json_string_value(json_object_get(v, "dataset")), id) == 0)
            return v;
    }
    return NULL;
}

typedef struct want {
    const char *cmd, *who;
    int dataset;
    const char *state; /* NULL: any */
} want;

static int listed(void *ctx)
{
    const want *w = ctx;
    json_t *list = notices(w->cmd, w->who, 0);
    json_t *n = for_dataset(list, w->dataset);
    int ok = n != NULL && (w->state == NULL ||
                           strcmp(json_string_value(json_object_get(n, "state")), w->state) == 0);
    json_decref(list);
    return ok;
}

/* How many audit entries of kind notice at `x` (queried by `auditor`) have
 * detail.event `event`. */
static int notice_entries(const site *x, const char *event)
{
    must(th_run(out, sizeof(out), "audit", "query", "--kind", "notice", "--json", "--identity",
                x->auditor, NULL),
         "audit query");
    int count = 0;
    for (char *line = strtok(out, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        json_t *doc = json_loads(line, 0, NULL);
        json_t *detail = doc != NULL ? json_object_get(doc, "detail") : NULL;
        const char *e = json_string_value(json_object_get(detail, "event"));
        count += e != NULL && strcmp(e, event) == 0;
        json_decref(doc);
    }
    return count;
}

/* The read id of the read of lu/irisN rows `rows` that LU's auditor finds
 * with `audit recipients` (there is one). */
GROUP_ONLY static void lu_read_id(int n, const char *rows, char *read_id, size_t cap)
{
    char id[32];
    snprintf(id, sizeof(id), "lu/iris%d", n);
    must(th_run(out, sizeof(out), "audit", "recipients", id, "--rows", rows, "--json", "--identity",
                lu.auditor, NULL),
         "audit recipients");
    read_id[0] = '\0';
    int found = 0;
    for (char *line = strtok(out, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        json_t *doc = json_loads(line, 0, NULL);
        const char *r = json_string_value(json_object_get(doc, "read_id"));
        if (r != NULL) {
            snprintf(read_id, cap, "%s", r);
            found++;
        }
        json_decref(doc);
    }
    assert_int_equal(found, 1);
}

/* LU's current public key, in hex. */
GROUP_ONLY static void lu_key_hex(char *hex, size_t cap)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/keys/site.key.pub", lu.s.dir);
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    ecl_err err;
    assert_int_equal(site_key_load_public(path, pk, &err), 0);
    sodium_bin2hex(hex, cap, pk, sizeof(pk));
}

#define SCRIPT "tests/federation/verify_notice.py"

GROUP_ONLY static const char *script(void)
{
    static char path[PATH_MAX];
    if (access(SCRIPT, R_OK) == 0)
        return SCRIPT;
    const char *src = getenv("TEST_SRCDIR");
    snprintf(path, sizeof(path), "%s/ecluse/%s", src ? src : ".", SCRIPT);
    if (access(path, R_OK) != 0)
        fail_msg("%s not found (run from the workspace or under bazel test)", SCRIPT);
    return path;
}

/* The independent verifier on `lines` (JSON lines of `notices --json`). */
GROUP_ONLY static int verify_independently(const char *lines, char *result, size_t cap)
{
    char key[2 * crypto_sign_PUBLICKEYBYTES + 1], input[PATH_MAX + 32], cmd[4 * PATH_MAX];
    lu_key_hex(key, sizeof(key));
    snprintf(input, sizeof(input), "%s/notices.jsonl", root);
    write_file(input, lines);
    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s %s de < '%s' 2>&1", script(), key, input);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t got = fread(result, 1, cap - 1, p);
    result[got] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Federation.DeliverErasureNotice at DE as LU's gateway. */
GROUP_ONLY static int deliver_to_de(const Ecluse__V1__SignedErasureNotice *n,
                                    Ecluse__V1__ErasureNoticeReply **reply, ecl_err *err)
{
    char de_ca[PATH_MAX + 16], cert[PATH_MAX + 32], key[PATH_MAX + 32];
    snprintf(de_ca, sizeof(de_ca), "%s/ca/ca.crt", de.s.dir);
    snprintf(cert, sizeof(cert), "%s/gateway/gateway.crt", lu.s.dir);
    snprintf(key, sizeof(key), "%s/gateway/gateway.key", lu.s.dir);
    char *ca_pem = th_read(de_ca), *cert_pem = th_read(cert), *key_pem = th_read(key);
    char target[64];
    snprintf(target, sizeof(target), "127.0.0.1:%d", de.s.port);
    rpc_channel_options o = {target, ca_pem, cert_pem, key_pem, "spiffe://de/gateway", 0};
    rpc_channel *ch = NULL;
    int rc = rpc_channel_open(&o, &ch, err);
    ProtobufCMessage *resp = NULL;
    if (rc == 0)
        rc = rpc_unary(ch, "/ecluse.v1.Federation/DeliverErasureNotice", &n->base,
                       &ecluse__v1__erasure_notice_reply__descriptor, &resp,
                       (int)(10000 * th_time_scale()), err);
    *reply = (Ecluse__V1__ErasureNoticeReply *)resp;
    rpc_channel_close(ch);
    free(ca_pem);
    free(cert_pem);
    free(key_pem);
    return rc;
}

/* The SignedErasureNotice DE keeps for lu/irisN, from `notices --json`. */
GROUP_ONLY static void kept_notice(int n, unsigned char **body, size_t *body_len,
                                   unsigned char *sig)
{
    json_t *list = notices("notices", de.auditor, 0);
    json_t *v = for_dataset(list, n);
    assert_non_null(v);
    const char *b = json_string_value(json_object_get(v, "signed_body"));
    const char *s = json_string_value(json_object_get(v, "signature"));
    *body = malloc(strlen(b));
    size_t sig_len = 0;
    assert_int_equal(sodium_base642bin(*body, strlen(b), b, strlen(b), NULL, body_len, NULL,
                                       sodium_base64_VARIANT_ORIGINAL),
                     0);
    assert_int_equal(sodium_base642bin(sig, crypto_sign_BYTES, s, strlen(s), NULL, &sig_len, NULL,
                                       sodium_base64_VARIANT_ORIGINAL),
                     0);
    assert_int_equal(sig_len, crypto_sign_BYTES);
    json_decref(list);
}

/* The checks that only repeat what a case already shows run when the run is
 * not slowed down (valgrind: ECLUSE_TIME_SCALE > 1), where each CLI call
 * costs seconds; the path itself always runs. */
static int full(void)
{
    return th_time_scale() <= 1;
}

static int setup(void **state)
{
    (void)state;
    th_tmpdir(root, sizeof(root));
    /* Where `ecluse fetch` keeps its fetch records (and `notices apply`
     * finds them): this test's own. */
    char state_dir[PATH_MAX];
    snprintf(state_dir, sizeof(state_dir), "%s/state", root);
    setenv("XDG_STATE_HOME", state_dir, 1);
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
    rpc_library_init(0);
    library_ready = 1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    th_gateway_stop(&lu.s, NULL);
    th_gateway_stop(&de.s, NULL);
    if (library_ready)
        rpc_library_shutdown();
    return 0;
}

GROUP_ONLY static void test_an_erasure_reaches_the_reader_and_the_ack_comes_back(void **state)
{
    (void)state;
    int n = publish();
    de_fetches(n);
    char read_id[256] = "";
    int received = 0;
    if (full()) {
        lu_read_id(n, "1:3", read_id, sizeof(read_id));
        received = notice_entries(&de, "received");
    } else {
        printf("slowed down (ECLUSE_TIME_SCALE %.0f): the path only, not every cross-check\n",
               th_time_scale());
    }
    erase(n, "1:3");
    double erased_at = th_now();
    want w = {"notices", de.researcher, n, "received"};
    wait_for(listed, &w, 2, "DE shows LU's notice to the researcher");
    printf("notice shown at DE %.2f s after the erasure at LU\n", th_now() - erased_at);
    if (full())
        assert_int_equal(notice_entries(&de, "received"), received + 1);

    json_t *list = notices("notices", de.researcher, 0);
    json_t *v = for_dataset(list, n);
    assert_string_equal(json_string_value(json_object_get(v, "holding_site")), "lu");
    json_t *rows = json_object_get(v, "rows");
    assert_int_equal(json_array_size(rows), 1);
    assert_int_equal(json_integer_value(json_array_get(json_array_get(rows, 0), 0)), 1);
    assert_int_equal(json_integer_value(json_array_get(json_array_get(rows, 0), 1)), 3);
    json_t *read = json_array_get(json_object_get(v, "reads"), 0);
    if (full())
        assert_string_equal(json_string_value(json_object_get(read, "read_id")), read_id);
    assert_string_equal(json_string_value(json_object_get(read, "reader")),
                        "spiffe://de/researcher/res");
    char notice_id[64];
    snprintf(notice_id, sizeof(notice_id), "%s",
             json_string_value(json_object_get(v, "notice_id")));
    char *line = json_dumps(v, JSON_COMPACT);
    char result[4096];
    int vrc = verify_independently(line, result, sizeof(result));
    free(line);
    if (vrc != 0)
        fail_msg("the independent verifier refused the notice:\n%s", result);
    assert_non_null(strstr(result, "OK "));
    assert_non_null(strstr(result, "rows=1:3 reads=1"));
    json_decref(list);

    /* LU's auditor sees it delivered, not yet acknowledged. */
    json_t *pending = NULL;
    if (full()) {
        want delivered = {"audit notices", lu.auditor, n, "delivered"};
        wait_for(listed, &delivered, 2, "LU sees the notice delivered");
        pending = notices("audit notices", lu.auditor, 1);
        assert_non_null(for_dataset(pending, n));
        json_decref(pending);
    }

    /* The researcher takes the rows out of the file fetched: it becomes
     * byte for byte a fetch made now, after the erasure. */
    char fetched[PATH_MAX + 64], fresh[PATH_MAX + 64];
    snprintf(fetched, sizeof(fetched), "%s/de-iris%d.safetensors", root, n);
    snprintf(fresh, sizeof(fresh), "%s/de-iris%d-fresh.safetensors", root, n);
    if (full()) /* the auditor read nothing: nothing of theirs to apply */
        assert_int_not_equal(
            th_run(out, sizeof(out), "notices", "apply", notice_id, "--identity", de.auditor, NULL),
            0);
    must(th_run(out, sizeof(out), "notices", "apply", notice_id, "--identity", de.researcher, NULL),
         "notices apply");
    assert_non_null(strstr(out, "2 row(s) removed"));
    de_fetches_again(n, fresh);
    assert_true(same_bytes(fetched, fresh));

    /* The researcher says the copy is gone; a second ack is refused. */
    must(th_run(out, sizeof(out), "notices", "ack", notice_id, "--identity", de.researcher, NULL),
         "notices ack");
    assert_non_null(strstr(out, "deletion recorded"));
    if (full()) {
        assert_int_equal(notice_entries(&de, "deleted"), 1);
        assert_int_not_equal(th_run(out, sizeof(out), "notices", "ack", notice_id, "--identity",
                                    de.researcher, NULL),
                             0);
        assert_non_null(strstr(out, "acknowledged already"));
    }

    want acked = {"audit notices", lu.auditor, n, "acknowledged"};
    wait_for(listed, &acked, 2, "the ack reaches LU");
    if (!full())
        return;
    assert_true(notice_entries(&lu, "ack-received") >= 1);
    pending = notices("audit notices", lu.auditor, 1);
    assert_null(for_dataset(pending, n));
    json_decref(pending);
    list = notices("audit notices", lu.auditor, 0);
    assert_string_equal(json_string_value(json_object_get(for_dataset(list, n), "deleted_by")),
                        "spiffe://de/researcher/res");
    json_decref(list);

    /* LU's records of processing show the erasure with its notice's state. */
    char id[32];
    snprintf(id, sizeof(id), "lu/iris%d", n);
    must(th_run(out, sizeof(out), "audit", "processing", "--dataset", id, "--identity", lu.auditor,
                NULL),
         "audit processing");
    assert_non_null(strstr(out, "notices: de acknowledged (by spiffe://de/researcher/res)"));
}

GROUP_ONLY static int delivery_failed(void *ctx)
{
    (void)ctx;
    return notice_entries(&lu, "delivery-failed") >= 1;
}

GROUP_ONLY static void test_with_de_down_the_notice_arrives_once_de_is_back(void **state)
{
    (void)state;
    int n = publish();
    de_fetches(n);
    th_gateway_stop(&de.s, NULL);
    erase(n, "0:1");
    /* LU keeps it pending, tries, and records why it failed. */
    want pending = {"audit notices", lu.auditor, n, "pending"};
    wait_for(listed, &pending, 2, "LU keeps the notice pending");
    wait_for(delivery_failed, NULL, 30, "LU records a failed delivery to DE");
    th_gateway_start(&de.s);
    want shown = {"notices", de.researcher, n, "received"};
    /* The retry waits out LU's backoff (1 s doubling while DE was down). */
    wait_for(listed, &shown, 30, "DE gets the notice once it is back");
    want delivered = {"audit notices", lu.auditor, n, "delivered"};
    wait_for(listed, &delivered, 5, "LU sees it delivered");
}

/* A notice DE keeps, sent again, altered, or signed with another key. */
GROUP_ONLY static void test_forged_and_replayed_notices_are_refused_and_on_record(void **state)
{
    (void)state;
    unsigned char *body = NULL, sig[crypto_sign_BYTES];
    size_t len = 0;
    /* A notice DE received for real, to play with. */
    int d = publish();
    de_fetches(d);
    erase(d, "0:2");
    want received = {"notices", de.auditor, d, "received"};
    wait_for(listed, &received, 2, "DE receives LU's notice");
    kept_notice(d, &body, &len, sig);
    json_t *before = notices("notices", de.auditor, 0);
    size_t kept = json_array_size(before);
    int refused = notice_entries(&de, "refused");
    ecl_err err;

    /* 1. The same notice again: a replay, nothing changes. */
    Ecluse__V1__SignedErasureNotice n = ECLUSE__V1__SIGNED_ERASURE_NOTICE__INIT;
    n.body.data = body;
    n.body.len = len;
    n.signature.data = sig;
    n.signature.len = sizeof(sig);
    Ecluse__V1__ErasureNoticeReply *reply = NULL;
    assert_int_equal(deliver_to_de(&n, &reply, &err), 0);
    assert_non_null(strstr(reply->refused, "replay"));
    protobuf_c_message_free_unpacked(&reply->base, NULL);

    /* 2. Its body altered (another dataset version): the signature fails. */
    Ecluse__V1__ErasureNoticeBody *b = ecluse__v1__erasure_notice_body__unpack(NULL, len, body);
    assert_non_null(b);
    b->dataset_version += 7;
    b->notice_id[0] = b->notice_id[0] == 'a' ? 'b' : 'a'; /* not a replay */
    size_t flen = ecluse__v1__erasure_notice_body__get_packed_size(b);
    unsigned char *forged = malloc(flen);
    ecluse__v1__erasure_notice_body__pack(b, forged);
    n.body.data = forged;
    n.body.len = flen;
    assert_int_equal(deliver_to_de(&n, &reply, &err), 0);
    assert_false(reply->recorded);
    assert_non_null(strstr(reply->refused, "signature"));
    protobuf_c_message_free_unpacked(&reply->base, NULL);

    /* 3. Signed, but with a key that is not LU's. */
    unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    crypto_sign_keypair(pk, sk);
    ProtobufCBinaryData lu_key = b->signing_key; /* freed with b */
    b->signing_key.data = pk;
    b->signing_key.len = sizeof(pk);
    free(forged);
    flen = ecluse__v1__erasure_notice_body__get_packed_size(b);
    forged = malloc(flen);
    ecluse__v1__erasure_notice_body__pack(b, forged);
    static const char ctx[] = "ecluse-erasure-notice-v1";
    unsigned char *msg = malloc(sizeof(ctx) + flen);
    memcpy(msg, ctx, sizeof(ctx)); /* with its 0x00 */
    memcpy(msg + sizeof(ctx), forged, flen);
    unsigned char other[crypto_sign_BYTES];
    crypto_sign_detached(other, NULL, msg, sizeof(ctx) + flen, sk);
    n.body.data = forged;
    n.body.len = flen;
    n.signature.data = other;
    assert_int_equal(deliver_to_de(&n, &reply, &err), 0);
    assert_false(reply->recorded);
    assert_non_null(strstr(reply->refused, "signature"));
    protobuf_c_message_free_unpacked(&reply->base, NULL);
    free(msg);
    free(forged);
    b->signing_key = lu_key;
    ecluse__v1__erasure_notice_body__free_unpacked(b, NULL);
    free(body);

    /* Nothing changed at DE, and each refusal is on its record. */
    assert_int_equal(notice_entries(&de, "refused"), refused + 3);
    json_t *after = notices("notices", de.auditor, 0);
    assert_int_equal(json_array_size(after), kept);
    assert_true(json_equal(before, after));
    json_decref(before);
    json_decref(after);
}

/* Last: DE removes LU. LU's next notice cannot get in; LU records every
 * refused attempt and keeps it pending. */
GROUP_ONLY static void test_a_notice_from_a_removed_peer_gets_nowhere(void **state)
{
    (void)state;
    int n = publish();
    de_fetches(n);
    json_t *before = notices("notices", de.auditor, 0);
    must(th_run(out, sizeof(out), "peer", "remove", "lu", "--identity", de.admin, NULL),
         "peer remove");
    int failed = notice_entries(&lu, "delivery-failed");
    erase(n, "2:4");
    want pending = {"audit notices", lu.auditor, n, "pending"};
    wait_for(listed, &pending, 2, "LU keeps the notice pending");
    double give_up = th_now() + 10 * th_time_scale();
    while (notice_entries(&lu, "delivery-failed") <= failed) {
        if (th_now() > give_up)
            fail_msg("LU did not record the refused delivery");
        usleep(100 * 1000);
    }
    json_t *list = notices("audit notices", lu.auditor, 1);
    json_t *v = for_dataset(list, n);
    assert_non_null(v);
    assert_true(strlen(json_string_value(json_object_get(v, "last_error"))) > 0);
    json_decref(list);
    json_t *after = notices("notices", de.auditor, 0);
    assert_true(json_equal(before, after));
    json_decref(before);
    json_decref(after);
}

/* One case per test target (tests/federation/BUILD, ERASURE_NOTICE_CASE), so
 * that each stays within its time under valgrind, where every CLI call and
 * gateway is 10-30 times slower. */
#ifndef ERASURE_NOTICE_CASE
#define ERASURE_NOTICE_CASE 1
#endif
int main(void)
{
    const struct CMUnitTest tests[] = {
#if ERASURE_NOTICE_CASE == 1
        cmocka_unit_test(test_an_erasure_reaches_the_reader_and_the_ack_comes_back),
#elif ERASURE_NOTICE_CASE == 2
        cmocka_unit_test(test_with_de_down_the_notice_arrives_once_de_is_back),
#elif ERASURE_NOTICE_CASE == 3
        cmocka_unit_test(test_forged_and_replayed_notices_are_refused_and_on_record),
#else
        cmocka_unit_test(test_a_notice_from_a_removed_peer_gets_nowhere),
#endif
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
