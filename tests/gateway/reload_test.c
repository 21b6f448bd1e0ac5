/*
 * reload_test.c - SIGHUP reloads a running gateway; it never stops it.
 *
 * One real site and gateway on loopback for all three tests:
 *   - under load (streams paused mid-read on connections made before, and
 *     Health/Access calls in a loop, some on fresh connections), the
 *     gateway's certificate is renewed with `ecluse pki renew-gateway` and
 *     SIGHUP sent: every stream finishes and verifies, no call fails, the
 *     gateway still runs, and a new TLS connection is served the new
 *     certificate (its serial, as an OpenSSL client sees it);
 *   - a reload that finds a corrupt config, or a key that does not match
 *     the certificate, changes nothing: calls go on, the old certificate is
 *     still served, and the log names the file and the problem;
 *   - a changed listen address is logged as needing a restart, and the
 *     gateway serves on where it was;
 *   - a transfer rules file changed on disk decides after SIGHUP (an
 *     adequacy decision removed turns a permit into a denial);
 *   - SIGHUPs sent in a burst, some while a reload runs, never stop it.
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "client/client.h"
#include "client/read.h"
#include "proto/ecluse.pb-c.h"
#include "rpc/client.h"
#include "site/pki.h"
#include "store/writer.h"
#include "tests/support/harness.h"

#define SIDE        2048  /* a 4 MiB tensor ... */
#define CHUNK_BYTES 65536 /* ... in 64 chunks */
#define STREAMS     3
#define CALLERS     3 /* two on their own connection, one on a new one each time */

static char root[PATH_MAX - 200];
static char out[64 * 1024];
static th_site lu;
static char admin[PATH_MAX], researcher[PATH_MAX], auditor[PATH_MAX];
static Ecluse__V1__Grant *grant;
static unsigned char *reference;
static size_t reference_len;

/* --- the site ------------------------------------------------------------ */

/* Call deadlines, scaled: a memory-checked gateway busy with streams answers
 * slowly, and a slow answer is not what is tested here. */
static int call_timeout_ms(void)
{
    return (int)(30000 * th_time_scale());
}

static int open_client(ecl_client **c, ecl_err *err)
{
    if (ecl_client_open(researcher, NULL, c, err) != 0)
        return -1;
    ecl_client_set_timeout(*c, call_timeout_ms());
    return 0;
}

static void site_path(char *path, size_t cap, const char *rel)
{
    assert_true(snprintf(path, cap, "%s/%s", lu.dir, rel) < (int)cap);
}

static void write_text(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, mode), 0);
}

/* "lu/noise": one U8 tensor x of SIDE x SIDE random bytes, anonymous. */
static void publish_noise(void)
{
    char file[PATH_MAX], policy[PATH_MAX], text[1024];
    snprintf(file, sizeof(file), "%s/noise.safetensors", root);
    snprintf(policy, sizeof(policy), "%s/noise.json", root);
    unsigned char *data = malloc((size_t)SIDE * SIDE);
    assert_non_null(data);
    randombytes_buf(data, (size_t)SIDE * SIDE);
    uint64_t shape[2] = {SIDE, SIDE};
    store_writer *w = NULL;
    ecl_err err;
    assert_int_equal(store_writer_new(&w, &err), 0);
    assert_int_equal(
        store_writer_add(w, "x", STORE_DT_U8, 2, shape, data, (size_t)SIDE * SIDE, &err), 0);
    assert_int_equal(store_writer_write(w, file, &err), 0);
    store_writer_free(w);
    free(data);
    snprintf(text, sizeof(text),
             "{\"ecluse_policy\": 1, \"dataset\": \"lu/noise\", \"category\": \"anonymous\", "
             "\"purposes\": {\"allowed\": [\"GRU\"]}, \"tensors\": [{\"name\": \"x\"}], "
             "\"minimisation\": {\"default\": {\"tensors\": [\"x\"], \"max_rows\": %d}}, "
             "\"storage\": {\"max_grant_days\": 1}}\n",
             SIDE);
    write_text(policy, text, 0644);
    if (th_run(out, sizeof(out), "dataset", "add", "noise", "--from", file, "--title", "noise",
               "--description", "test data", "--policy", policy, "--identity", admin, NULL) != 0)
        fail_msg("dataset add noise: %s", out);
    if (th_run(out, sizeof(out), "dataset", "add", "breast-cancer", "--from",
               "examples/data/breast_cancer.csv", "--skip-lines", "1", "--label-column", "-1",
               "--title", "BC", "--description", "test data", "--policy",
               "examples/policies/breast_cancer.json", "--identity", admin, NULL) != 0)
        fail_msg("dataset add breast-cancer: %s", out);
}

static void request_grant(void)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/noise.grant", root);
    if (th_run(out, sizeof(out), "access", "request", "lu/noise", "--purpose", "GRU", "--basis",
               "art6-1-e", "--job-country", "LU", "--save-grant", path, "--identity", researcher,
               NULL) != 0)
        fail_msg("access request lu/noise: %s", out);
    ecl_err err;
    assert_int_equal(client_grant_load(path, &grant, &err), 0);
}

static int read_all(ecl_client *c, unsigned char **buf, size_t *len, ecl_err *err)
{
    ecl_stream_opts o = ECL_STREAM_OPTS_INIT;
    o.chunk_bytes = CHUNK_BYTES;
    ecl_stream *r = NULL;
    if (ecl_stream_open(c, grant, &o, &r, err) != 0)
        return -1;
    *len = ecl_stream_header(r)->total_bytes;
    *buf = malloc(*len ? *len : 1);
    int rc = *buf != NULL ? ecl_stream_into(r, *buf, *len, err) : -1;
    ecl_stream_close(r);
    return rc;
}

static int setup(void **state)
{
    (void)state;
    th_tmpdir(root, sizeof(root));
    th_site_create(&lu, root, "lu", "LU");
    th_issue(&lu, "admin", "adm", admin, sizeof(admin));
    th_issue(&lu, "auditor", "aud", auditor, sizeof(auditor));
    /* An academic: the example health data are for non-profit research. */
    assert_int_equal(th_run(out, sizeof(out), "pki", "issue", "--dir", lu.dir, "--role",
                            "researcher", "--name", "r", "--org-type", "academic", NULL),
                     0);
    assert_true(snprintf(researcher, sizeof(researcher), "%s/identities/researcher-r", lu.dir) <
                (int)sizeof(researcher));
    th_gateway_start(&lu);
    publish_noise();
    request_grant();
    ecl_client *c = NULL;
    ecl_err err;
    assert_int_equal(open_client(&c, &err), 0);
    if (read_all(c, &reference, &reference_len, &err) != 0)
        fail_msg("reference read: %s", err.msg);
    ecl_client_close(c);
    assert_int_equal(reference_len, (size_t)SIDE * SIDE);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    protobuf_c_message_free_unpacked(&grant->base, NULL);
    free(reference);
    int status = th_gateway_stop(&lu, NULL);
    int stopped_line = th_file_contains(lu.log, "event=gateway.stopped");
    if (status != 0 || !stopped_line) {
        char *log = th_read(lu.log);
        fprintf(stderr, "gateway exited with %d; its log:\n%s\n", status, log ? log : "");
        free(log);
        return -1;
    }
    return 0;
}

/* --- the log --------------------------------------------------------------- */

static int count_in_log(const char *needle)
{
    char *log = th_read(lu.log);
    int n = 0;
    for (const char *p = log; p != NULL && (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    free(log);
    return n;
}

/* The last line of the log holding `needle` (malloc'd; NULL if none). */
static char *last_line_with(const char *needle)
{
    char *log = th_read(lu.log);
    if (log == NULL)
        return NULL;
    char *line = NULL;
    for (char *p = strtok(log, "\n"); p != NULL; p = strtok(NULL, "\n"))
        if (strstr(p, needle) != NULL) {
            free(line);
            line = strdup(p);
        }
    free(log);
    return line;
}

/* SIGHUP, then wait until the gateway logged the end of that reload
 * (reload.done or reload.failed); returns 1 if it succeeded. */
static int sighup(void)
{
    int done = count_in_log("event=reload.done"), failed = count_in_log("event=reload.failed");
    assert_int_equal(kill(lu.pid, SIGHUP), 0);
    double deadline = th_now() + 30.0 * th_time_scale();
    while (th_now() < deadline) {
        if (count_in_log("event=reload.done") > done)
            return 1;
        if (count_in_log("event=reload.failed") > failed)
            return 0;
        usleep(20 * 1000);
    }
    fail_msg("no reload.done or reload.failed line within %.0f s of SIGHUP",
             30.0 * th_time_scale());
    return 0;
}

static void assert_running(void)
{
    assert_int_equal(kill(lu.pid, 0), 0);
    assert_int_equal(count_in_log("event=gateway.stopping"), 0);
}

/* --- what a TLS client is served ----------------------------------------- */

/* The serial of the certificate the gateway presents to a new TLS
 * connection, as OpenSSL sees it (the researcher's certificate as client). */
static void served_serial(char *serial, size_t cap)
{
    char cert[PATH_MAX + 16], key[PATH_MAX + 16];
    snprintf(cert, sizeof(cert), "%s/cert.pem", researcher);
    snprintf(key, sizeof(key), "%s/key.pem", researcher);
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    assert_non_null(ctx);
    assert_int_equal(SSL_CTX_use_certificate_file(ctx, cert, SSL_FILETYPE_PEM), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM), 1);
    static const unsigned char alpn[] = {2, 'h', '2'};
    assert_int_equal(SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn)), 0);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)lu.port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    SSL *ssl = SSL_new(ctx);
    assert_non_null(ssl);
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) != 1)
        fail_msg("TLS handshake with the gateway failed: %s",
                 ERR_error_string(ERR_get_error(), NULL));
    X509 *peer = SSL_get1_peer_certificate(ssl);
    assert_non_null(peer);
    ecl_err err;
    assert_int_equal(pki_cert_serial(peer, serial, cap, &err), 0);
    X509_free(peer);
    SSL_shutdown(ssl);
    SSL_free(ssl);
    close(fd);
    SSL_CTX_free(ctx);
}

static void serial_on_disk(char *serial, size_t cap)
{
    char path[PATH_MAX];
    site_path(path, sizeof(path), "gateway/gateway.crt");
    X509 *cert = NULL;
    ecl_err err;
    assert_int_equal(pki_load_cert(path, &cert, &err), 0);
    assert_int_equal(pki_cert_serial(cert, serial, cap, &err), 0);
    X509_free(cert);
}

/* --- calls ------------------------------------------------------------------- */

static int call_health(ecl_client *c, ecl_err *err)
{
    Ecluse__V1__HealthCheckResponse *h = NULL;
    if (ecl_client_health(c, &h, err) != 0)
        return -1;
    protobuf_c_message_free_unpacked(&h->base, NULL);
    return 0;
}

/* Access.Check of lu/breast-cancer for a job in `country`: 1 permit, 0 deny,
 * -1 if the call failed. */
static int check_access(ecl_client *c, const char *country, ecl_err *err)
{
    Ecluse__V1__AccessRequest req = ECLUSE__V1__ACCESS_REQUEST__INIT;
    req.dataset = "lu/breast-cancer";
    req.purpose = "HMB";
    req.lawful_basis = "art6-1-e+art9-2-j";
    req.job_country = (char *)country;
    req.ethics_ref = "ETH-RELOAD";
    ProtobufCMessage *resp = NULL;
    if (rpc_unary(ecl_client_channel(c), "/ecluse.v1.Access/Check", &req.base,
                  &ecluse__v1__access_decision__descriptor, &resp, call_timeout_ms(), err) != 0)
        return -1;
    int permit = ((Ecluse__V1__AccessDecision *)resp)->permit ? 1 : 0;
    protobuf_c_message_free_unpacked(resp, NULL);
    return permit;
}

/* --- under load ------------------------------------------------------------- */

typedef struct load {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int streams_paused; /* streams that hold their first chunk */
    int release;        /* the streams may go on */
    int stop;           /* the callers stop */
} load;

static load ld = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0};

typedef struct stream_job {
    ecl_client *client; /* a connection made before the reload */
    int ok;
    char error[ECL_ERR_MSG_MAX];
} stream_job;

static void *stream_main(void *arg)
{
    stream_job *j = arg;
    ecl_stream_opts o = ECL_STREAM_OPTS_INIT;
    o.chunk_bytes = CHUNK_BYTES;
    ecl_stream *r = NULL;
    ecl_stream_chunk chunk;
    ecl_err err;
    unsigned char *buf = calloc(1, reference_len);
    size_t got = 0;
    int rc = buf != NULL ? ecl_stream_open(j->client, grant, &o, &r, &err) : -1;
    int paused = 0;
    while (rc == 0 && (rc = ecl_stream_next(r, &chunk, &err)) == 1) {
        if (chunk.stream_offset + chunk.len > reference_len) {
            snprintf(err.msg, sizeof(err.msg), "a chunk past the end");
            rc = -1;
            break;
        }
        memcpy(buf + chunk.stream_offset, chunk.data, chunk.len);
        got += chunk.len;
        rc = 0;
        if (!paused) { /* in flight: hold it here until the reload is done */
            paused = 1;
            pthread_mutex_lock(&ld.lock);
            ld.streams_paused++;
            pthread_cond_broadcast(&ld.changed);
            while (!ld.release)
                pthread_cond_wait(&ld.changed, &ld.lock);
            pthread_mutex_unlock(&ld.lock);
        }
    }
    if (rc != 0)
        snprintf(j->error, sizeof(j->error), "%s", err.msg);
    else if (got != reference_len || memcmp(buf, reference, reference_len) != 0)
        snprintf(j->error, sizeof(j->error), "the bytes differ from the reference read");
    else
        j->ok = 1;
    if (!paused) { /* never reached the pause: do not leave the test waiting */
        pthread_mutex_lock(&ld.lock);
        ld.streams_paused++;
        pthread_cond_broadcast(&ld.changed);
        pthread_mutex_unlock(&ld.lock);
    }
    ecl_stream_close(r);
    free(buf);
    return NULL;
}

typedef struct caller_job {
    ecl_client *client; /* NULL: a new connection for every call */
    int calls, failures;
    char error[ECL_ERR_MSG_MAX + 32];
} caller_job;

static int stopped(void)
{
    pthread_mutex_lock(&ld.lock);
    int stop = ld.stop;
    pthread_mutex_unlock(&ld.lock);
    return stop;
}

static void *caller_main(void *arg)
{
    caller_job *j = arg;
    for (int i = 0; !stopped(); i++) {
        ecl_err err;
        ecl_client *c = j->client;
        int rc = c != NULL ? 0 : open_client(&c, &err);
        if (rc == 0)
            rc = i % 2 == 0 ? call_health(c, &err) : (check_access(c, "LU", &err) == 1 ? 0 : -1);
        if (j->client == NULL)
            ecl_client_close(c);
        pthread_mutex_lock(&ld.lock);
        j->calls++;
        if (rc != 0 && j->failures++ == 0)
            snprintf(j->error, sizeof(j->error), "call %d: %s", i,
                     err.msg[0] ? err.msg : "a denial");
        pthread_mutex_unlock(&ld.lock);
    }
    return NULL;
}

static int calls_of(caller_job *j)
{
    pthread_mutex_lock(&ld.lock);
    int n = j->calls;
    pthread_mutex_unlock(&ld.lock);
    return n;
}

/* Wait until each caller has made `more` calls beyond `since`. */
static void wait_for_calls(caller_job *jobs, const int *since, int more)
{
    double deadline = th_now() + 60.0 * th_time_scale();
    for (int i = 0; i < CALLERS; i++)
        while (calls_of(&jobs[i]) < since[i] + more) {
            if (th_now() > deadline)
                fail_msg("caller %d made %d calls in 60 s", i, calls_of(&jobs[i]) - since[i]);
            usleep(10 * 1000);
        }
}

static void test_sighup_under_load_serves_the_renewed_certificate(void **state)
{
    (void)state;
    char before[128], after[128], on_disk[128];
    served_serial(before, sizeof(before));
    serial_on_disk(on_disk, sizeof(on_disk));
    assert_string_equal(before, on_disk);

    ecl_err err;
    stream_job streams[STREAMS];
    caller_job callers[CALLERS];
    pthread_t stream_threads[STREAMS], caller_threads[CALLERS];
    memset(streams, 0, sizeof(streams));
    memset(callers, 0, sizeof(callers));
    for (int i = 0; i < STREAMS; i++) {
        assert_int_equal(open_client(&streams[i].client, &err), 0);
        assert_int_equal(pthread_create(&stream_threads[i], NULL, stream_main, &streams[i]), 0);
    }
    for (int i = 0; i < CALLERS; i++) {
        if (i < CALLERS - 1)
            assert_int_equal(open_client(&callers[i].client, &err), 0);
        assert_int_equal(pthread_create(&caller_threads[i], NULL, caller_main, &callers[i]), 0);
    }
    /* Every stream in flight (a chunk received, the rest still to come). */
    pthread_mutex_lock(&ld.lock);
    while (ld.streams_paused < STREAMS)
        pthread_cond_wait(&ld.changed, &ld.lock);
    pthread_mutex_unlock(&ld.lock);
    int since[CALLERS];
    for (int i = 0; i < CALLERS; i++)
        since[i] = calls_of(&callers[i]);
    wait_for_calls(callers, since, 2);

    /* Renew for real, then reload. */
    if (th_run(out, sizeof(out), "pki", "renew-gateway", "--dir", lu.dir, "--identity", admin,
               NULL) != 0)
        fail_msg("pki renew-gateway: %s", out);
    serial_on_disk(on_disk, sizeof(on_disk));
    assert_string_not_equal(on_disk, before);
    if (!sighup())
        fail_msg("the reload failed: %s", last_line_with("event=reload.failed"));
    char *line = last_line_with("event=reload.certificate");
    assert_non_null(line);
    assert_non_null(strstr(line, "result=changed"));
    assert_non_null(strstr(line, on_disk));
    free(line);

    /* New connections get the new certificate; calls went on meanwhile. */
    served_serial(after, sizeof(after));
    assert_string_equal(after, on_disk);
    for (int i = 0; i < CALLERS; i++)
        since[i] = calls_of(&callers[i]);
    wait_for_calls(callers, since, 3);

    pthread_mutex_lock(&ld.lock);
    ld.release = 1;
    ld.stop = 1;
    pthread_cond_broadcast(&ld.changed);
    pthread_mutex_unlock(&ld.lock);
    for (int i = 0; i < STREAMS; i++) {
        pthread_join(stream_threads[i], NULL);
        ecl_client_close(streams[i].client);
        if (!streams[i].ok)
            fail_msg("stream %d: %s", i, streams[i].error);
    }
    int calls = 0;
    for (int i = 0; i < CALLERS; i++) {
        pthread_join(caller_threads[i], NULL);
        ecl_client_close(callers[i].client);
        if (callers[i].failures != 0)
            fail_msg("caller %d: %d of %d calls failed, first: %s", i, callers[i].failures,
                     callers[i].calls, callers[i].error);
        calls += callers[i].calls;
    }
    fprintf(stderr, "%d streams of %zu bytes verified, %d calls made across the reload\n", STREAMS,
            reference_len, calls);
    assert_running();
}

/* --- a failed reload ------------------------------------------------------ */

static void health_works(void)
{
    ecl_client *c = NULL;
    ecl_err err;
    assert_int_equal(open_client(&c, &err), 0);
    if (call_health(c, &err) != 0)
        fail_msg("Health.Check after a failed reload: %s", err.msg);
    assert_int_equal(check_access(c, "LU", &err), 1);
    ecl_client_close(c);
}

static void test_failed_reload_keeps_the_old_state(void **state)
{
    (void)state;
    char serial[128], now[128], key_path[PATH_MAX], other_key[PATH_MAX + 16];
    served_serial(serial, sizeof(serial));
    char *config = th_read(lu.config);
    assert_non_null(config);

    /* A corrupt configuration file. */
    write_text(lu.config, "{\"site\": \"lu\",", 0644);
    assert_int_equal(sighup(), 0);
    char *line = last_line_with("event=reload.failed");
    assert_non_null(line);
    if (strstr(line, lu.config) == NULL && strstr(line, "ecluse.json") == NULL)
        fail_msg("the failure does not name the config file: %s", line);
    free(line);
    write_text(lu.config, config, 0644);
    free(config);
    health_works();
    served_serial(now, sizeof(now));
    assert_string_equal(now, serial);

    /* A key that does not match the certificate (another valid key). */
    site_path(key_path, sizeof(key_path), "gateway/gateway.key");
    snprintf(other_key, sizeof(other_key), "%s/key.pem", admin);
    char *key = th_read(key_path), *wrong = th_read(other_key);
    assert_non_null(key);
    assert_non_null(wrong);
    write_text(key_path, wrong, 0600);
    assert_int_equal(sighup(), 0);
    line = last_line_with("event=reload.failed");
    assert_non_null(line);
    if (strstr(line, "gateway.key") == NULL || strstr(line, "does not match") == NULL)
        fail_msg("the failure does not name the key and the problem: %s", line);
    free(line);
    write_text(key_path, key, 0600);
    sodium_memzero(key, strlen(key));
    sodium_memzero(wrong, strlen(wrong));
    free(key);
    free(wrong);
    health_works();
    served_serial(now, sizeof(now));
    assert_string_equal(now, serial);

    /* Put right, the next reload goes through and changes nothing. */
    assert_int_equal(sighup(), 1);
    line = last_line_with("event=reload.certificate");
    assert_non_null(strstr(line, "result=unchanged"));
    free(line);
    assert_running();
}

/* --- a value that needs a restart ------------------------------------------ */

static void test_a_changed_listen_address_waits_for_a_restart(void **state)
{
    (void)state;
    char *config = th_read(lu.config);
    assert_non_null(config);
    json_error_t jerr;
    json_t *cfg = json_loads(config, 0, &jerr);
    assert_non_null(cfg);
    char moved[64];
    snprintf(moved, sizeof(moved), "127.0.0.1:%d", th_free_port());
    assert_int_equal(json_object_set_new(cfg, "listen", json_string(moved)), 0);
    assert_int_equal(json_dump_file(cfg, lu.config, JSON_INDENT(2)), 0);
    json_decref(cfg);

    assert_int_equal(sighup(), 1);
    char *line = last_line_with("event=reload.needs_restart");
    assert_non_null(line);
    if (strstr(line, "field=listen") == NULL || strstr(line, moved) == NULL)
        fail_msg("the ignored change is not named: %s", line);
    free(line);
    line = last_line_with("event=reload.config");
    assert_non_null(strstr(line, "result=changed"));
    free(line);
    health_works(); /* still where it was */

    write_text(lu.config, config, 0644);
    free(config);
    assert_int_equal(sighup(), 1);
    line = last_line_with("event=reload.config");
    assert_non_null(strstr(line, "result=unchanged"));
    free(line);
    assert_running();
}

/* --- settings that apply at once --------------------------------------------- */

/* Set audit.checkpoint_ms in the site's configuration file. */
static void set_checkpoint_ms(const char *config, unsigned ms)
{
    json_error_t jerr;
    json_t *cfg = json_loads(config, 0, &jerr);
    assert_non_null(cfg);
    json_t *audit = json_object_get(cfg, "audit");
    if (audit == NULL) {
        audit = json_object();
        assert_int_equal(json_object_set_new(cfg, "audit", audit), 0);
    }
    assert_int_equal(json_object_set_new(audit, "checkpoint_ms", json_integer(ms)), 0);
    assert_int_equal(json_dump_file(cfg, lu.config, JSON_INDENT(2)), 0);
    json_decref(cfg);
}

/* The size of the latest checkpoint the gateway signed (Audit.Head); 0 if
 * none yet. */
static uint64_t head_size(void)
{
    ecl_client *c = NULL;
    ecl_err err;
    assert_int_equal(ecl_client_open(auditor, NULL, &c, &err), 0);
    ecl_client_set_timeout(c, call_timeout_ms());
    Ecluse__V1__HeadRequest req = ECLUSE__V1__HEAD_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    uint64_t size = 0;
    if (rpc_unary(ecl_client_channel(c), "/ecluse.v1.Audit/Head", &req.base,
                  &ecluse__v1__signed_checkpoint__descriptor, &resp, call_timeout_ms(),
                  &err) == 0) {
        const Ecluse__V1__SignedCheckpoint *cp = (const Ecluse__V1__SignedCheckpoint *)resp;
        /* The note's text: origin line, size line, root line. */
        char text[256] = {0};
        memcpy(text, cp->note.data,
               cp->note.len < sizeof(text) - 1 ? cp->note.len : sizeof(text) - 1);
        const char *nl = strchr(text, '\n');
        assert_non_null(nl);
        size = strtoull(nl + 1, NULL, 10);
        protobuf_c_message_free_unpacked(resp, NULL);
    } else if (err.code != ECL_E_NOT_FOUND) {
        fail_msg("Audit.Head: %s", err.msg);
    }
    ecl_client_close(c);
    return size;
}

static void test_live_settings_apply_at_once(void **state)
{
    (void)state;
    char *config = th_read(lu.config);
    assert_non_null(config);
    /* Started with an hour between checkpoints... */
    set_checkpoint_ms(config, 3600000);
    assert_int_equal(th_gateway_stop(&lu, NULL), 0);
    th_gateway_start(&lu);
    ecl_client *c = NULL;
    ecl_err err;
    assert_int_equal(open_client(&c, &err), 0);
    assert_int_equal(check_access(c, "LU", &err), 1);
    uint64_t before = head_size();
    /* ...a decision after the last checkpoint that the checkpointer leaves
     * for an hour. */
    assert_int_equal(check_access(c, "LU", &err), 1);
    ecl_client_close(c);

    /* The reload makes it 200 ms: applied at once, and the new decision is
     * checkpointed without anyone asking. */
    char *edited = th_read(lu.config);
    assert_non_null(edited);
    set_checkpoint_ms(edited, 200);
    free(edited);
    assert_int_equal(sighup(), 1);
    char *line = last_line_with("event=reload.applied");
    assert_non_null(line);
    if (strstr(line, "field=audit.checkpoint_ms") == NULL || strstr(line, "was=3600000") == NULL ||
        strstr(line, "now=200") == NULL)
        fail_msg("the applied setting is not named: %s", line);
    free(line);
    line = last_line_with("event=reload.config");
    assert_non_null(strstr(line, "fields_applied=1"));
    assert_non_null(strstr(line, "fields_needing_restart=0"));
    free(line);
    double deadline = th_now() + 30.0 * th_time_scale();
    uint64_t after = head_size();
    while (after <= before && th_now() < deadline) {
        usleep(100 * 1000);
        after = head_size();
    }
    if (after <= before)
        fail_msg("no checkpoint past %llu entries after checkpoint_ms became 200",
                 (unsigned long long)before);

    /* Back as it was, at once too. */
    write_text(lu.config, config, 0644);
    free(config);
    assert_int_equal(sighup(), 1);
    line = last_line_with("event=reload.applied");
    assert_non_null(strstr(line, "was=200"));
    free(line);
    assert_running();
}

/* --- policy data ------------------------------------------------------------ */

/* Remove `country`'s adequacy decision from the site's transfer rules. */
static void drop_adequacy(const char *country)
{
    char path[PATH_MAX];
    site_path(path, sizeof(path), "policy/transfer_rules.json");
    json_error_t jerr;
    json_t *rules = json_load_file(path, 0, &jerr);
    assert_non_null(rules);
    json_t *adequacy = json_object_get(rules, "adequacy");
    assert_true(json_is_array(adequacy));
    size_t before = json_array_size(adequacy);
    for (size_t i = 0; i < json_array_size(adequacy); i++) {
        const char *c = json_string_value(json_object_get(json_array_get(adequacy, i), "country"));
        if (c != NULL && strcmp(c, country) == 0)
            assert_int_equal(json_array_remove(adequacy, i), 0);
    }
    assert_int_equal(json_array_size(adequacy), before - 1);
    assert_int_equal(json_dump_file(rules, path, JSON_INDENT(2)), 0);
    json_decref(rules);
}

static void test_changed_policy_data_decides_after_sighup(void **state)
{
    (void)state;
    ecl_client *c = NULL;
    ecl_err err;
    assert_int_equal(open_client(&c, &err), 0);
    int permit = check_access(c, "CH", &err);
    if (permit != 1)
        fail_msg("a job in Switzerland (adequacy) was not permitted: %s",
                 permit < 0 ? err.msg : "denied");

    drop_adequacy("CH");
    assert_int_equal(sighup(), 1);
    char *line = last_line_with("event=reload.transfer_rules");
    assert_non_null(line);
    assert_non_null(strstr(line, "result=changed"));
    free(line);
    line = last_line_with("event=reload.sccs");
    assert_non_null(line);
    assert_non_null(strstr(line, "result=unchanged"));
    free(line);

    assert_int_equal(check_access(c, "CH", &err), 0);
    assert_int_equal(check_access(c, "LU", &err), 1); /* the EEA still is */
    ecl_client_close(c);
    assert_running();
}

/* --- signals in a burst ----------------------------------------------------- */

/* SIGHUPs that arrive while a reload is running wait for it: none of them
 * may reach another thread of the gateway and kill it (exit 129). */
static void test_a_burst_of_sighups_never_stops_the_gateway(void **state)
{
    (void)state;
    int done = count_in_log("event=reload.done");
    for (int i = 0; i < 50; i++) { /* spaced: most land while a reload runs */
        assert_int_equal(kill(lu.pid, SIGHUP), 0);
        usleep(300);
    }
    double deadline = th_now() + 30.0 * th_time_scale();
    while (count_in_log("event=reload.done") == done && th_now() < deadline)
        usleep(20 * 1000);
    assert_true(count_in_log("event=reload.done") > done);
    assert_int_equal(sighup(), 1); /* and the next one still reloads */
    assert_running();
    health_works();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sighup_under_load_serves_the_renewed_certificate),
        cmocka_unit_test(test_failed_reload_keeps_the_old_state),
        cmocka_unit_test(test_a_changed_listen_address_waits_for_a_restart),
        cmocka_unit_test(test_live_settings_apply_at_once),
        cmocka_unit_test(test_changed_policy_data_decides_after_sighup),
        cmocka_unit_test(test_a_burst_of_sighups_never_stops_the_gateway),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
