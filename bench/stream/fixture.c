/* fixture.c - real sites, gateways, a generated dataset and grants for the
 * stream bench (see fixture.h). The CLI steps follow tests/data/read_test.c. */
#include "bench/stream/fixture.h"

#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "federation/state.h"
#include "gateway/grant.h"
#include "site/sitekey.h"
#include "store/writer.h"

#define OUT_MAX (64 * 1024)

static char out[OUT_MAX];
static fixture *active; /* what the handlers clean up */

/* ---- cleaning up on every way out ------------------------------------------- */

/* Async-signal-safe: kill, waitpid, fork, execv. */
static void stop_all_now(void)
{
    if (active == NULL)
        return;
    th_site *all[] = {&active->fi.s, &active->lu.s};
    for (int i = 0; i < 2; i++)
        if (all[i]->pid > 0)
            kill(all[i]->pid, SIGTERM);
    for (int i = 0; i < 2; i++)
        if (all[i]->pid > 0) {
            waitpid(all[i]->pid, NULL, 0);
            all[i]->pid = 0;
        }
    pid_t pid = fork();
    if (pid == 0) {
        char *argv[] = {"rm", "-rf", active->root, NULL};
        execv("/bin/rm", argv);
        _exit(127);
    }
    if (pid > 0)
        waitpid(pid, NULL, 0);
    active = NULL;
}

static void on_signal(int sig)
{
    stop_all_now();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void on_exit_hook(void)
{
    stop_all_now();
}

static void guard(fixture *f)
{
    active = f;
    static int registered;
    if (registered++)
        return;
    atexit(on_exit_hook);
    int sigs[] = {SIGINT, SIGTERM, SIGABRT, SIGSEGV, SIGBUS, SIGHUP};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        signal(sigs[i], on_signal);
}

/* ---- sites -------------------------------------------------------------------- */

static int must(int rc, const char *what, ecl_err *err)
{
    return rc == 0 ? 0 : ecl_fail(err, ECL_E_IO, "ecluse %s failed (%d):\n%s", what, rc, out);
}

static void make_site(fixture *f, fixture_site *x, const char *id, const char *country)
{
    th_site_create(&x->s, f->root, id, country);
    th_issue(&x->s, "admin", "adm", x->admin, sizeof(x->admin));
    th_issue(&x->s, "researcher", "res", x->res, sizeof(x->res));
}

static int export_bundle(fixture *f, fixture_site *x, ecl_err *err)
{
    (void)f;
    (void)err;
    /* Aborts if the export fails; keeps the fingerprint for th_peer_add. */
    th_export_bundle(&x->s, x->admin, x->bundle, sizeof(x->bundle));
    return 0;
}

/* ---- the dataset ---------------------------------------------------------------- */

/* Bytes that differ by position (xorshift64), so no layer can shortcut them. */
static void fill(unsigned char *p, size_t len, uint64_t seed)
{
    uint64_t x = seed | 1;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(p + i, &x, 8);
    }
    for (; i < len; i++)
        p[i] = (unsigned char)i;
}

static int generate(const char *path, uint64_t rows, ecl_err *err)
{
    size_t fbytes = (size_t)rows * FIXTURE_COLS;
    unsigned char *x = malloc(fbytes);
    int64_t *y = malloc((size_t)rows * sizeof(int64_t));
    if (x == NULL || y == NULL) {
        free(x);
        free(y);
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory for %zu bytes", fbytes);
    }
    fill(x, fbytes, 0x9e3779b97f4a7c15ull);
    for (uint64_t i = 0; i < rows; i++)
        y[i] = (int64_t)(i % 2);
    store_writer *w = NULL;
    uint64_t sx[2] = {rows, FIXTURE_COLS}, sy[1] = {rows};
    int rc = store_writer_new(&w, err);
    if (rc == 0)
        rc = store_writer_add(w, "features", STORE_DT_U8, 2, sx, x, fbytes, err);
    if (rc == 0)
        rc = store_writer_add(w, "labels", STORE_DT_I64, 1, sy, y, rows * 8, err);
    if (rc == 0)
        rc = store_writer_write(w, path, err);
    store_writer_free(w);
    free(x);
    free(y);
    return rc;
}

/* The example health-data policy, made lu/big's. */
static int write_policy(const char *path, ecl_err *err)
{
    const char *example = "examples/policies/breast_cancer.json";
    json_error_t jerr;
    json_t *doc = json_load_file(example, 0, &jerr);
    if (doc == NULL)
        return ecl_fail(err, ECL_E_INPUT, "%s: line %d: %s", example, jerr.line, jerr.text);
    json_object_set_new(doc, "dataset", json_string("lu/big"));
    int rc = json_dump_file(doc, path, JSON_INDENT(2));
    json_decref(doc);
    return rc == 0 ? 0 : ecl_fail(err, ECL_E_IO, "%s: cannot write", path);
}

static int publish(fixture *f, uint64_t rows, ecl_err *err)
{
    char src[PATH_MAX + 32], policy[PATH_MAX + 32];
    snprintf(src, sizeof(src), "%s/big.safetensors", f->root);
    snprintf(policy, sizeof(policy), "%s/policy-big.json", f->root);
    double t = th_now();
    if (generate(src, rows, err) != 0 || write_policy(policy, err) != 0)
        return -1;
    fprintf(stderr, "stream_bench: generated %s (%.1f s)\n", src, th_now() - t);
    t = th_now();
    if (must(th_run(out, sizeof(out), "dataset", "add", "big", "--from", src, "--format",
                    "safetensors", "--title", "big", "--description", "test data", "--policy",
                    policy, "--identity", f->lu.admin, NULL),
             "dataset add", err) != 0)
        return -1;
    fprintf(stderr, "stream_bench: published lu/big (%.1f s)\n", th_now() - t);
    unlink(src); /* LU holds its own copy */
    snprintf(f->dataset_path, sizeof(f->dataset_path), "%s/data/datasets/big.safetensors",
             f->lu.s.dir);
    if (access(f->dataset_path, R_OK) != 0)
        return ecl_fail(err, ECL_E_IO, "%s: not there after dataset add", f->dataset_path);
    return 0;
}

int fixture_setup(fixture *f, uint64_t rows, ecl_err *err)
{
    memset(f, 0, sizeof(*f));
    f->rows = rows;
    th_tmpdir(f->root, sizeof(f->root));
    guard(f);
    make_site(f, &f->fi, "fi", "FI");
    make_site(f, &f->lu, "lu", "LU");
    th_gateway_start(&f->fi.s);
    th_gateway_start(&f->lu.s);
    if (export_bundle(f, &f->fi, err) != 0 || export_bundle(f, &f->lu, err) != 0)
        return -1;
    if (must(th_peer_add(out, sizeof(out), f->lu.bundle, f->fi.admin), "peer add (at FI)", err) !=
            0 ||
        must(th_peer_add(out, sizeof(out), f->fi.bundle, f->lu.admin), "peer add (at LU)", err) !=
            0)
        return -1;
    fprintf(stderr, "stream_bench: sites fi and lu up and peered in %s\n", f->root);
    return publish(f, rows, err);
}

/* ---- grants ----------------------------------------------------------------------- */

int fixture_grant(const fixture *f, const char *requester_site, Ecluse__V1__Grant *g, ecl_err *err)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/keys/site.key", f->lu.s.dir);
    site_key key;
    if (site_key_load(path, &key, err) != 0)
        return -1;
    unsigned char id[16];
    char hex[33];
    randombytes_buf(id, sizeof(id));
    sodium_bin2hex(hex, sizeof(hex), id, sizeof(id));
    Ecluse__V1__Identity who = ECLUSE__V1__IDENTITY__INIT;
    who.site = (char *)requester_site;
    who.role = "researcher";
    who.name = "res";
    Ecluse__V1__GrantBody b = ECLUSE__V1__GRANT_BODY__INIT;
    b.grant_id = hex;
    b.dataset = "lu/big";
    b.requester = &who;
    b.purpose = "HMB";
    b.lawful_basis = "art9-2-j";
    b.job_country = "FI";
    b.transfer_basis = "eea";
    b.issued_unix = (int64_t)time(NULL) - 10;
    b.expires_unix = (int64_t)time(NULL) + 3600;
    /* Decided on lu/big as LU holds it now: read from LU's state. */
    char state_dir[PATH_MAX + 48];
    snprintf(state_dir, sizeof(state_dir), "%s/data/state", f->lu.s.dir);
    fed_state *st = NULL;
    unsigned char *entry = NULL;
    size_t len = 0;
    grant_dataset d;
    int rc = fed_state_open_readonly(state_dir, &st, err);
    if (rc == 0)
        rc = fed_state_get_dataset(st, b.dataset, &entry, &len, err);
    fed_state_close(st);
    if (rc == 0)
        rc = grant_dataset_of(entry, len, &d, err);
    free(entry);
    if (rc != 0) {
        site_key_wipe(&key);
        return -1;
    }
    grant_bind_dataset(&b, &d);
    signer *s = NULL;
    rc = signer_local(&key, &s, err);
    site_key_wipe(&key);
    if (rc == 0)
        rc = grant_sign(s, &b, g, err);
    signer_free(s);
    return rc;
}

/* ---- teardown ------------------------------------------------------------------------ */

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int fixture_teardown(fixture *f, ecl_err *err)
{
    int rc = 0;
    fixture_site *all[] = {&f->fi, &f->lu};
    for (int i = 0; i < 2; i++) {
        if (all[i]->s.pid == 0)
            continue;
        int status = th_gateway_stop(&all[i]->s, NULL);
        if (status != 0 && rc == 0)
            rc = ecl_fail(err, ECL_E_INTERNAL, "gateway %s exited with %d (log: %s)", all[i]->s.id,
                          status, all[i]->s.log);
    }
    /* Keep the logs of a gateway that failed (not the big dataset); otherwise
     * leave nothing behind. */
    if (rc != 0)
        unlink(f->dataset_path);
    else if (nftw(f->root, remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
        rc = ecl_fail(err, ECL_E_IO, "cannot remove %s: %s", f->root, strerror(errno));
    active = NULL;
    return rc;
}
