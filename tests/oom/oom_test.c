/*
 * oom_test.c - memory running out inside the gateway's and the client's own
 * code: each allocation of one call fails in turn, and the call must fail
 * cleanly (ECL_E_INTERNAL, "out of memory"; nothing leaked, which ASan and
 * valgrind check) or succeed as if nothing happened.
 *
 * The binary is linked with -Wl,--wrap for malloc, calloc, realloc, strdup
 * and strndup, so every allocation that ecluse's code (linked statically
 * into this test) makes goes through __wrap_*; the libraries' own
 * allocations (gRPC, OpenSSL, protobuf-c) are left alone. Only allocations
 * made on the test's thread while a call is armed are counted, so gRPC's
 * threads and the checkpointer of the gateway (another process) do not move
 * the count. The two places that crashed under low memory are here:
 *
 *  - the packing of a forwarded AccessRequest for its attestation digest
 *    (gateway/svc_access.c, now gateway/attestation.c);
 *  - the copy of the server's expected identity that rpc/client.c hands to
 *    the TLS verify callback: a failed copy once reached the callback as
 *    NULL. Every channel that does open is then used for a real call to a
 *    real gateway on loopback, and a wrong expected identity is refused.
 *
 * Plus the client's stream verifier, whose tensor names were copied
 * unchecked, and the audit trail's JSON-lines export and records of
 * processing (their own allocations: jansson's are not failed here, since
 * jansson 2.14 itself can crash in json_loads, or leave text out of a
 * json_dumps, when one of its allocations fails).
 */
#include <grpc/status.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "audit/audit.h"
#include "client/read.h"
#include "gateway/attestation.h"
#include "proto/ecluse.pb-c.h"
#include "rpc/client.h"
#include "rpc/rpc.h"
#include "site/signer.h"
#include "site/sitekey.h"
#include "tests/audit/testutil.h"
#include "tests/support/harness.h"

/* ---- failing the Nth allocation --------------------------------------------- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);

static __thread int armed; /* count this thread's allocations */
static __thread long seen, fail_at;

/* 1 if this allocation is the one to fail. */
static int fail_now(void)
{
    return armed && ++seen == fail_at;
}

void *__wrap_malloc(size_t n)
{
    return fail_now() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return fail_now() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
    return fail_now() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
    return fail_now() ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
    return fail_now() ? NULL : __real_strndup(s, n);
}

static void arm(long n)
{
    seen = 0;
    fail_at = n;
    armed = 1;
}

/* Disarm; 1 if the armed allocation was reached (so it failed). */
static int disarm(void)
{
    armed = 0;
    return seen >= fail_at;
}

/* A call that met a failed allocation must say so, as an internal error. */
static void assert_out_of_memory(int rc, const ecl_err *err, long n)
{
    if (rc == 0)
        fail_msg("allocation %ld failed, yet the call succeeded", n);
    if (err->code != ECL_E_INTERNAL || strstr(err->msg, "out of memory") == NULL)
        fail_msg("allocation %ld failed: wanted an internal 'out of memory', got %s: %s", n,
                 ecl_code_name(err->code), err->msg);
}

/* Runs `call` once with each of its allocations failing in turn, then once
 * with none failing. A call that meets its failed allocation either fails
 * cleanly (on_failure runs after the check) or, where a library absorbed
 * the failure, succeeds with the right result (on_success checks it). */
#define EACH_ALLOCATION(n, call, on_failure, on_success)                                           \
    for (long n = 1;; n++) {                                                                       \
        ecl_err err_;                                                                              \
        memset(&err_, 0, sizeof(err_));                                                            \
        arm(n);                                                                                    \
        int rc_ = (call);                                                                          \
        int hit_ = disarm();                                                                       \
        if (hit_ && rc_ != 0) {                                                                    \
            assert_out_of_memory(rc_, &err_, n);                                                   \
            on_failure;                                                                            \
            continue;                                                                              \
        }                                                                                          \
        if (rc_ != 0)                                                                              \
            fail_msg("no allocation failed, yet the call failed: %s", err_.msg);                   \
        on_success;                                                                                \
        if (!hit_)                                                                                 \
            break;                                                                                 \
    }

/* ---- attestations ------------------------------------------------------------ */

static Ecluse__V1__AccessRequest *sample_request(void)
{
    static char *tensors[] = {"features", "labels"};
    static Ecluse__V1__AccessRequest req = ECLUSE__V1__ACCESS_REQUEST__INIT;
    req.dataset = "lu/iris";
    req.purpose = "NRES";
    req.lawful_basis = "6(1)(e)";
    req.job_country = "FI";
    req.ethics_ref = "ETH-1";
    req.n_tensors = 2;
    req.tensors = tensors;
    req.rows = 3;
    return &req;
}

static void test_request_digest(void **state)
{
    (void)state;
    unsigned char want[32], got[32];
    ecl_err err;
    assert_int_equal(attestation_request_digest(sample_request(), want, &err), 0);
    long calls = 0;
    EACH_ALLOCATION(n, attestation_request_digest(sample_request(), got, &err_), calls++,
                    assert_memory_equal(got, want, 32));
    assert_true(calls >= 1); /* the packing buffer, which once went unchecked */
}

/* FI's signed attestation of its researcher, for `req`, as FI's gateway
 * makes it; body and signature are malloc'd (not counted: made unarmed). */
static void make_attestation(const site_key *fi, const Ecluse__V1__AccessRequest *req,
                             Ecluse__V1__Attestation *out)
{
    ecl_err err;
    unsigned char digest[32];
    assert_int_equal(attestation_request_digest(req, digest, &err), 0);
    Ecluse__V1__Identity id = ECLUSE__V1__IDENTITY__INIT;
    id.site = "fi";
    id.role = "researcher";
    id.name = "rita";
    Ecluse__V1__AttestationBody body = ECLUSE__V1__ATTESTATION_BODY__INIT;
    body.requester = &id;
    body.affiliation = "University of Helsinki";
    body.organisation_type = "university";
    body.issued_unix = (int64_t)time(NULL);
    body.expires_unix = body.issued_unix + ATTESTATION_TTL_S;
    body.request_digest.data = digest;
    body.request_digest.len = sizeof(digest);
    ecluse__v1__attestation__init(out);
    out->body.len = ecluse__v1__attestation_body__get_packed_size(&body);
    out->body.data = malloc(out->body.len);
    out->signature.len = crypto_sign_BYTES;
    out->signature.data = malloc(crypto_sign_BYTES);
    assert_non_null(out->body.data);
    assert_non_null(out->signature.data);
    ecluse__v1__attestation_body__pack(&body, out->body.data);
    assert_int_equal(site_key_sign(fi, ATTESTATION_SIGNING_CONTEXT, out->body.data, out->body.len,
                                   out->signature.data, &err),
                     0);
}

static void test_attestation_open(void **state)
{
    (void)state;
    site_key fi;
    ecl_err err;
    assert_int_equal(site_key_generate(&fi, &err), 0);
    Ecluse__V1__Attestation att;
    make_attestation(&fi, sample_request(), &att);
    Ecluse__V1__ForwardedAccessRequest fwd = ECLUSE__V1__FORWARDED_ACCESS_REQUEST__INIT;
    fwd.request = sample_request();
    fwd.attestation = &att;
    int64_t now = (int64_t)time(NULL);
    ecl_identity who;
    Ecluse__V1__AttestationBody *b = NULL;
    long calls = 0;
    EACH_ALLOCATION(
        n, attestation_open(fi.public_key, "fi", &fwd, now, &who, &b, &err_),
        {
            calls++;
            assert_null(b);
        },
        {
            assert_string_equal(who.spiffe, "spiffe://fi/researcher/rita");
            assert_string_equal(b->affiliation, "University of Helsinki");
            ecluse__v1__attestation_body__free_unpacked(b, NULL);
        });
    /* the framed message the signature is checked over, and the digest */
    assert_true(calls >= 2);
    /* Out of memory is never mistaken for a bad signature, and a bad one is
     * still refused. */
    att.signature.data[0] ^= 1;
    assert_int_equal(attestation_open(fi.public_key, "fi", &fwd, now, &who, &b, &err), -1);
    assert_int_equal(err.code, ECL_E_CRYPTO);
    free(att.body.data);
    free(att.signature.data);
    site_key_wipe(&fi);
}

/* ---- the client's channel: the TLS verify callback's identity ------------------ */

static char root[PATH_MAX - 200];
static th_site fi_site;
static char researcher[PATH_MAX];

static char *file_in(const char *dir, const char *name)
{
    char path[2 * PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    char *text = th_read(path);
    assert_non_null(text);
    return text;
}

static int call_health(rpc_channel *ch, ecl_err *err)
{
    Ecluse__V1__HealthCheckRequest req = ECLUSE__V1__HEALTH_CHECK_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    int rc = rpc_unary(ch, "/ecluse.v1.Health/Check", &req.base,
                       &ecluse__v1__health_check_response__descriptor, &resp,
                       (int)(20000 * th_time_scale()), err);
    if (rc == 0)
        protobuf_c_message_free_unpacked(resp, NULL);
    return rc;
}

static void test_channel_identity(void **state)
{
    (void)state;
    char *ca = file_in(researcher, "ca.pem");
    char *cert = file_in(researcher, "cert.pem");
    char *key = file_in(researcher, "key.pem");
    char target[64];
    snprintf(target, sizeof(target), "127.0.0.1:%d", fi_site.port);
    rpc_channel_options o = {target, ca, cert, key, "spiffe://fi/gateway", 0};
    rpc_channel *ch = NULL;
    ecl_err err;
    long calls = 0;
    EACH_ALLOCATION(n, rpc_channel_open(&o, &ch, &err_), calls++, {
        /* The channel that opened checks the server for real. */
        assert_int_equal(call_health(ch, &err), 0);
        rpc_channel_close(ch);
    });
    assert_true(calls >= 2); /* the channel and the copy of the expected identity */
    /* The callback still refuses a server that is not the one expected. */
    o.expect_spiffe = "spiffe://fi/not-the-gateway";
    assert_int_equal(rpc_channel_open(&o, &ch, &err), 0);
    assert_int_equal(call_health(ch, &err), -1);
    assert_int_equal(err.code, ECL_E_UNAVAILABLE);
    rpc_channel_close(ch);
    free(ca);
    free(cert);
    free(key);
}

/* ---- the client's stream verifier ------------------------------------------- */

static void test_verifier(void **state)
{
    (void)state;
    Ecluse__V1__TensorInfo t[2] = {ECLUSE__V1__TENSOR_INFO__INIT, ECLUSE__V1__TENSOR_INFO__INIT};
    Ecluse__V1__TensorInfo *tp[2] = {&t[0], &t[1]};
    uint64_t shape0[2] = {4, 3}, shape1[1] = {4};
    t[0].name = "features";
    t[0].dtype = "F32";
    t[0].n_shape = 2;
    t[0].shape = shape0;
    t[0].byte_size = 48;
    t[1].name = "labels";
    t[1].dtype = "I64";
    t[1].n_shape = 1;
    t[1].shape = shape1;
    t[1].byte_size = 32;
    Ecluse__V1__RowRange rr = ECLUSE__V1__ROW_RANGE__INIT;
    Ecluse__V1__RowRange *rrp = &rr;
    rr.begin = 0;
    rr.end = 4;
    Ecluse__V1__ReadHeader h = ECLUSE__V1__READ_HEADER__INIT;
    h.read_id = "r1";
    h.n_tensors = 2;
    h.tensors = tp;
    h.total_bytes = 80;
    h.n_row_ranges = 1;
    h.row_ranges = &rrp;
    ecl_verifier *v = NULL;
    long calls = 0;
    EACH_ALLOCATION(n, ecl_verifier_new(&h, &v, &err_), calls++, ecl_verifier_free(v));
    assert_true(calls >= 6); /* four arrays and two names, at least */
}

/* ---- the audit trail's exports ------------------------------------------- */

#define ALICE "spiffe://fi/researcher/alice"

static char audit_dir[512];
static audit_log *audit;

static void fill_audit(void)
{
    tu_tmpdir(audit_dir, sizeof(audit_dir));
    audit = tu_open(audit_dir);
    tu_append(audit, AUDIT_KIND_ACCESS, ALICE, "fi/cohort", "DUO:0000007", "permit", NULL, 0);
    tu_append(audit, AUDIT_KIND_READ_START, ALICE, "fi/cohort", "DUO:0000007", NULL, "r1", 0);
    tu_append(audit, AUDIT_KIND_READ_END, ALICE, "fi/cohort", "DUO:0000007", NULL, "r1", 1000);
    tu_append(audit, AUDIT_KIND_READ_START, ALICE, "fi/cohort", "DUO:0000007", NULL, "r2", 0);
    tu_append(audit, AUDIT_KIND_READ_END, ALICE, "fi/cohort", "DUO:0000007", NULL, "r2", 500);
}

/* The export written to memory; an export that failed may have written
 * whole records before, never one with a field left out. */
static int export_jsonl(char **text, size_t *len, ecl_err *err)
{
    FILE *f = open_memstream(text, len);
    assert_non_null(f);
    int rc = audit_export_jsonl(audit, NULL, f, err);
    assert_int_equal(fclose(f), 0);
    return rc;
}

static void test_audit_export(void **state)
{
    (void)state;
    char *want = NULL, *got = NULL;
    size_t want_len = 0, got_len = 0;
    ecl_err err;
    assert_int_equal(export_jsonl(&want, &want_len, &err), 0);
    long calls = 0;
    EACH_ALLOCATION(
        n, export_jsonl(&got, &got_len, &err_),
        {
            calls++;
            /* what was written is a prefix of whole lines of the full export */
            assert_true(got_len <= want_len);
            assert_memory_equal(got, want, got_len);
            assert_true(got_len == 0 || got[got_len - 1] == '\n');
            free(got);
            got = NULL;
        },
        {
            assert_int_equal(got_len, want_len);
            assert_memory_equal(got, want, want_len);
            free(got);
        });
    assert_true(calls >= 1); /* the query's own buffers */
    free(want);
}

static int count_groups(const audit_processing *p, void *arg)
{
    (void)p;
    (*(int *)arg)++;
    return 0;
}

static void test_processing_summary(void **state)
{
    (void)state;
    int groups = 0;
    long calls = 0;
    EACH_ALLOCATION(
        n, audit_processing_summary(audit, NULL, count_groups, &groups, &err_),
        {
            calls++;
            groups = 0;
        },
        assert_int_equal(groups, 1));
    assert_true(calls >= 3);
}

static int setup(void **state)
{
    (void)state;
    fill_audit();
    th_tmpdir(root, sizeof(root));
    th_site_create(&fi_site, root, "fi", "FI");
    th_issue(&fi_site, "researcher", "rita", researcher, sizeof(researcher));
    th_gateway_start(&fi_site);
    rpc_library_init(0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rpc_library_shutdown();
    audit_close(audit);
    tu_rmrf(audit_dir);
    return fi_site.pid != 0 && th_gateway_stop(&fi_site, NULL) != 0 ? -1 : 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_digest),   cmocka_unit_test(test_attestation_open),
        cmocka_unit_test(test_channel_identity), cmocka_unit_test(test_verifier),
        cmocka_unit_test(test_audit_export),     cmocka_unit_test(test_processing_summary),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
