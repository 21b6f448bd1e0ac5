/*
 * separation_test.c - the site key lives in the signer process only.
 *
 * Two real gateways (lu holds a dataset, de's researcher reads it) do
 * everything that signs: peering bundles, catalogs, an attestation, grants,
 * audit checkpoints and a key rotation. Meanwhile fanotify (the kernel's
 * file access notification) reports every open of a file in each site's
 * keys/ directory with the opening process's id: only the signers may open
 * a secret key. Afterwards each gateway's whole memory (/proc/PID/mem) is
 * searched for every secret key the site has had: none may be there, while
 * the same search finds the current key in the signer (so the search
 * works).
 *
 * Then the signer is killed: the request that needed it is refused
 * (UNAVAILABLE), the gateway restarts it, logs and audits both events, and
 * serves the next request. A signer that cannot be restarted (its key is
 * gone) stops the gateway, which says so.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/fileio.h"
#include "site/sitekey.h"
#include "tests/support/harness.h"

typedef struct site {
    th_site s;
    char admin[PATH_MAX], auditor[PATH_MAX], bundle[PATH_MAX + 16];
} site;

static char root[PATH_MAX];
static site lu, de;
static char carla[PATH_MAX + 64];
static char out[64 * 1024];
static int watch = -1; /* fanotify */

static void must(int status, const char *what)
{
    if (status != 0)
        fail_msg("%s exited %d:\n%s", what, status, out);
}

static void make_site(site *x, const char *id, const char *country)
{
    th_site_create(&x->s, root, id, country);
    th_issue(&x->s, "admin", "adm", x->admin, sizeof(x->admin));
    th_issue(&x->s, "auditor", "aud", x->auditor, sizeof(x->auditor));
}

/* Every open of a file in `dir` (the site's keys/), with who opened it. */
static void watch_keys(const site *x)
{
    char dir[PATH_MAX + 8];
    snprintf(dir, sizeof(dir), "%s/keys", x->s.dir);
    if (fanotify_mark(watch, FAN_MARK_ADD, FAN_OPEN | FAN_EVENT_ON_CHILD, AT_FDCWD, dir) != 0)
        fail_msg("fanotify_mark %s: %s", dir, strerror(errno));
}

static int setup(void **state)
{
    (void)state;
    th_tmpdir(root, sizeof(root));
    make_site(&lu, "lu", "LU");
    make_site(&de, "de", "DE");
    must(th_run(out, sizeof(out), "pki", "issue", "--dir", de.s.dir, "--role", "researcher",
                "--name", "carla", "--affiliation", "Forschungszentrum Juelich", "--org-type",
                "non-profit", NULL),
         "pki issue");
    snprintf(carla, sizeof(carla), "%s/identities/researcher-carla", de.s.dir);
    /* Watching starts before either gateway does. It needs CAP_SYS_ADMIN:
     * the suite runs as root; without it this test fails, it never skips. */
    watch = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK, O_RDONLY | O_CLOEXEC);
    if (watch < 0) {
        fprintf(stderr, "fanotify_init: %s (the test runs as root)\n", strerror(errno));
        return -1;
    }
    watch_keys(&lu);
    watch_keys(&de);
    th_gateway_start(&lu.s);
    th_gateway_start(&de.s);
    th_export_bundle(&lu.s, lu.admin, lu.bundle, sizeof(lu.bundle));
    th_export_bundle(&de.s, de.admin, de.bundle, sizeof(de.bundle));
    must(th_peer_add(out, sizeof(out), lu.bundle, de.admin), "add");
    must(th_peer_add(out, sizeof(out), de.bundle, lu.admin), "add");
    must(th_run(out, sizeof(out), "dataset", "add", "breast-cancer", "--from",
                "examples/data/breast_cancer.csv", "--skip-lines", "1", "--label-column", "-1",
                "--title", "Wisconsin diagnostic breast cancer", "--description", "test data",
                "--policy", "examples/policies/breast_cancer.json", "--identity", lu.admin, NULL),
         "dataset add");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int bad = 0;
    if (lu.s.pid != 0 && th_gateway_stop(&lu.s, NULL) != 0)
        bad = 1;
    if (de.s.pid != 0 && th_gateway_stop(&de.s, NULL) != 0)
        bad = 1;
    if (watch >= 0)
        close(watch);
    return bad ? -1 : 0;
}

/* The child of `parent` that runs `ecluse signer` (0 if none). */
static pid_t signer_of(pid_t parent)
{
    DIR *d = opendir("/proc");
    assert_non_null(d);
    pid_t found = 0;
    struct dirent *e;
    while (found == 0 && (e = readdir(d)) != NULL) {
        char *end = NULL;
        long pid = strtol(e->d_name, &end, 10);
        if (end == e->d_name || *end != '\0')
            continue;
        char path[64], stat[512], cmd[256] = {0};
        snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        size_t n = fread(stat, 1, sizeof(stat) - 1, f);
        fclose(f);
        stat[n] = '\0';
        const char *close_paren = strrchr(stat, ')');
        long ppid = 0;
        if (close_paren == NULL || sscanf(close_paren + 2, "%*c %ld", &ppid) != 1 || ppid != parent)
            continue;
        snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
        if ((f = fopen(path, "r")) == NULL)
            continue;
        n = fread(cmd, 1, sizeof(cmd) - 1, f);
        fclose(f);
        /* argv is NUL-separated: the second word is the subcommand */
        size_t first = strnlen(cmd, n);
        if (first + 1 < n && strcmp(cmd + first + 1, "signer") == 0)
            found = (pid_t)pid;
    }
    closedir(d);
    return found;
}

/* 1 if `needle` is anywhere in the private readable memory of `pid`: its
 * heap, stacks, data and anonymous mappings. Left out: shared mappings
 * (the LMDB environments' files, checked on disk by files_hold) and
 * mappings over 1 TiB, which are address space a sanitizer reserves for its
 * shadow (ASan's is 14 TiB), never data of the program. */
static int memory_holds(pid_t pid, const unsigned char *needle, size_t n)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%ld/maps", (long)pid);
    FILE *maps = fopen(path, "r");
    snprintf(path, sizeof(path), "/proc/%ld/mem", (long)pid);
    int mem = open(path, O_RDONLY | O_CLOEXEC);
    if (maps == NULL || mem < 0)
        fail_msg("cannot read the memory of %ld: %s", (long)pid, strerror(errno));
    enum { CHUNK = 1 << 20, PAGE = 4096 };
    unsigned char *buf = malloc(CHUNK + 64);
    int found = 0;
    char line[512];
    while (!found && fgets(line, sizeof(line), maps) != NULL) {
        unsigned long lo = 0, hi = 0;
        char perms[8] = {0};
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 || perms[0] != 'r' ||
            perms[3] != 'p' || hi - lo > (1ul << 40) || strstr(line, "[vvar]") != NULL ||
            strstr(line, "[vsyscall]") != NULL)
            continue;
        /* chunks overlap by n - 1 bytes, so a key across a boundary is seen */
        for (unsigned long at = lo; !found && at < hi; at += CHUNK) {
            size_t want = hi - at < CHUNK + n - 1 ? hi - at : CHUNK + n - 1;
            ssize_t got = pread(mem, buf, want, (off_t)at);
            if (got == (ssize_t)want) {
                found = memmem(buf, want, needle, n) != NULL;
                continue;
            }
            /* part of it is unreadable (a file mapping past its end...):
             * page by page */
            for (size_t off = 0; !found && off < want; off += PAGE) {
                size_t len = want - off < PAGE + n - 1 ? want - off : PAGE + n - 1;
                got = pread(mem, buf, len, (off_t)(at + off));
                if (got > 0)
                    found = memmem(buf, (size_t)got, needle, n) != NULL;
            }
        }
    }
    free(buf);
    close(mem);
    fclose(maps);
    return found;
}

/* 1 if `needle` is in any file under `dir` but its keys/. */
static const unsigned char *search_needle;
static size_t search_len;
static int search_found;
static int search_file(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)ftw;
    if (type == FTW_D && strcmp(path + strlen(path) - 5, "/keys") == 0)
        return FTW_SKIP_SUBTREE;
    if (type != FTW_F || !S_ISREG(st->st_mode))
        return FTW_CONTINUE;
    char *text = NULL;
    size_t len = 0;
    ecl_err err;
    if (ecl_read_file(path, (size_t)st->st_size + 1, &text, &len, &err) == 0) {
        if (memmem(text, len, search_needle, search_len) != NULL) {
            fprintf(stderr, "key bytes found in %s\n", path);
            search_found = 1;
        }
        free(text);
    }
    return search_found ? FTW_STOP : FTW_CONTINUE;
}

static int files_hold(const char *dir, const unsigned char *needle, size_t n)
{
    search_needle = needle;
    search_len = n;
    search_found = 0;
    nftw(dir, search_file, 16, FTW_PHYS | FTW_ACTIONRETVAL);
    return search_found;
}

/* The secret keys in a site's keys/ (site.key and retired site.key.N). */
static size_t secret_keys(const site *x, site_key *keys, size_t cap)
{
    char dir[PATH_MAX + 8];
    snprintf(dir, sizeof(dir), "%s/keys", x->s.dir);
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < cap) {
        size_t len = strlen(e->d_name);
        if (strncmp(e->d_name, "site.key", 8) != 0 ||
            (len > 4 && !strcmp(e->d_name + len - 4, ".pub")))
            continue;
        char path[2 * PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        ecl_err err;
        if (site_key_load(path, &keys[n], &err) != 0)
            fail_msg("%s", err.msg);
        n++;
    }
    closedir(d);
    return n;
}

/* Every open of a secret key file seen so far: by whom, and which file. */
static void check_openers(pid_t allowed_a, pid_t allowed_b, int *seen_a, int *seen_b)
{
    char buf[8192];
    ssize_t len;
    while ((len = read(watch, buf, sizeof(buf))) > 0) {
        struct fanotify_event_metadata *m = (struct fanotify_event_metadata *)buf;
        for (; FAN_EVENT_OK(m, len); m = FAN_EVENT_NEXT(m, len)) {
            char link[64], file[PATH_MAX] = {0};
            snprintf(link, sizeof(link), "/proc/self/fd/%d", m->fd);
            ssize_t fl = readlink(link, file, sizeof(file) - 1);
            if (m->fd >= 0)
                close(m->fd);
            if (m->pid == getpid())
                continue;
            /* A file whose name cannot be read counts as a secret key:
             * an open is never let through unattributed. */
            size_t flen = fl > 0 ? strlen(file) : 0;
            if (flen > 4 && strcmp(file + flen - 4, ".pub") == 0)
                continue; /* public halves are public */
            if (m->pid == allowed_a)
                (*seen_a)++;
            else if (m->pid == allowed_b)
                (*seen_b)++;
            else
                fail_msg("%s was opened by process %d, which is no signer", file, (int)m->pid);
        }
    }
}

static void test_only_the_signer_holds_the_key(void **state)
{
    (void)state;
    char grant[PATH_MAX + 32], fetched[PATH_MAX + 32];
    snprintf(grant, sizeof(grant), "%s/carla.grant", root);
    snprintf(fetched, sizeof(fetched), "%s/carla.safetensors", root);
    /* Everything a site signs: catalogs (de pulls lu's), an attestation (de
     * for carla) and a grant (lu), a read, checkpoints, a key rotation, then
     * a grant and a catalog with the new key. */
    must(th_run(out, sizeof(out), "catalog", "refresh", "--identity", de.admin, NULL), "refresh");
    must(th_run(out, sizeof(out), "access", "request", "lu/breast-cancer", "--purpose", "HMB",
                "--basis", "art6-1-e+art9-2-j", "--job-country", "DE", "--ethics", "ETH-2026-114",
                "--save-grant", grant, "--identity", carla, NULL),
         "access request");
    must(th_run(out, sizeof(out), "fetch", "--grant", grant, "-o", fetched, "--identity", carla,
                NULL),
         "fetch");
    must(th_run(out, sizeof(out), "audit", "checkpoint", "--identity", lu.admin, NULL),
         "checkpoint lu");
    must(th_run(out, sizeof(out), "audit", "checkpoint", "--identity", de.admin, NULL),
         "checkpoint de");
    must(th_run(out, sizeof(out), "key", "rotate", "--identity", lu.admin, NULL), "key rotate");
    must(th_run(out, sizeof(out), "catalog", "refresh", "--identity", de.admin, NULL), "refresh");
    must(th_run(out, sizeof(out), "access", "request", "lu/breast-cancer", "--purpose", "HMB",
                "--basis", "art6-1-e+art9-2-j", "--job-country", "DE", "--ethics", "ETH-2026-114",
                "--save-grant", grant, "--identity", carla, NULL),
         "access request after the rotation");

    pid_t lu_signer = signer_of(lu.s.pid), de_signer = signer_of(de.s.pid);
    assert_true(lu_signer > 0);
    assert_true(de_signer > 0);
    int lu_opens = 0, de_opens = 0;
    check_openers(lu_signer, de_signer, &lu_opens, &de_opens);
    /* each signer read its key at start; lu's also wrote the next one */
    assert_true(lu_opens >= 2);
    assert_true(de_opens >= 1);

    site_key keys[8];
    size_t n = secret_keys(&lu, keys, 8);
    assert_int_equal(n, 2); /* the current key and the one it replaced */
    n += secret_keys(&de, keys + n, 8 - n);
    for (size_t i = 0; i < n; i++) {
        /* the 32-byte seed is the whole secret (the rest is the public key) */
        assert_false(memory_holds(lu.s.pid, keys[i].secret_key, crypto_sign_SEEDBYTES));
        assert_false(memory_holds(de.s.pid, keys[i].secret_key, crypto_sign_SEEDBYTES));
        /* nor did it go into the trail, the state or anything else on disk */
        assert_false(files_hold(lu.s.dir, keys[i].secret_key, crypto_sign_SEEDBYTES));
        assert_false(files_hold(de.s.dir, keys[i].secret_key, crypto_sign_SEEDBYTES));
    }
    /* The same search finds each current key where it lives. */
    site_key lu_now, de_now;
    char path[2 * PATH_MAX];
    ecl_err err;
    snprintf(path, sizeof(path), "%s/keys/site.key", lu.s.dir);
    assert_int_equal(site_key_load(path, &lu_now, &err), 0);
    snprintf(path, sizeof(path), "%s/keys/site.key", de.s.dir);
    assert_int_equal(site_key_load(path, &de_now, &err), 0);
    assert_true(memory_holds(lu_signer, lu_now.secret_key, crypto_sign_SEEDBYTES));
    assert_true(memory_holds(de_signer, de_now.secret_key, crypto_sign_SEEDBYTES));
    assert_false(memory_holds(de_signer, lu_now.secret_key, crypto_sign_SEEDBYTES));
    /* ... and the file search finds a key where one was put. */
    snprintf(path, sizeof(path), "%s/data/canary", lu.s.dir);
    assert_int_equal(ecl_write_file(path, lu_now.secret_key, crypto_sign_SEEDBYTES, 0600,
                                    ECL_WRITE_EXCLUSIVE, &err),
                     0);
    assert_true(files_hold(lu.s.dir, lu_now.secret_key, crypto_sign_SEEDBYTES));
    assert_int_equal(unlink(path), 0);
    for (size_t i = 0; i < n; i++)
        site_key_wipe(&keys[i]);
    site_key_wipe(&lu_now);
    site_key_wipe(&de_now);
}

/* Wait up to `seconds` (scaled) for `pid` to exit; its status, or -2. */
static int wait_exit(pid_t pid, double seconds)
{
    double until = th_now() + seconds * th_time_scale();
    int status = 0;
    while (th_now() < until) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        usleep(20 * 1000);
    }
    return -2;
}

static void test_a_dead_signer_is_restarted_and_audited(void **state)
{
    (void)state;
    pid_t first = signer_of(lu.s.pid);
    assert_true(first > 0);
    kill(first, SIGKILL);
    /* The request that finds it dead is refused, not signed by anyone: this
     * export, or the gateway's own checkpoint if its schedule came first
     * (it signs one a second while entries are pending). */
    int rc = th_run(out, sizeof(out), "peer", "export", "--identity", lu.admin, NULL);
    if (rc == 8) {
        assert_non_null(strstr(out, "signer process killed by signal 9"));
        assert_non_null(strstr(out, "nothing was signed"));
    } else {
        assert_int_equal(rc, 0); /* found dead and restarted before: logged, below */
    }
    must(th_run(out, sizeof(out), "peer", "export", "--identity", lu.admin, NULL), "export");
    pid_t second = signer_of(lu.s.pid);
    assert_true(second > 0 && second != first);
    assert_true(th_file_contains(lu.s.log, "signer.died"));
    assert_true(th_file_contains(lu.s.log, "signer.restarted"));
    must(th_run(out, sizeof(out), "audit", "query", "--kind", "admin", "--json", "--identity",
                lu.auditor, NULL),
         "audit query");
    assert_non_null(strstr(out, "\"signer-died\""));
    assert_non_null(strstr(out, "\"signer-restarted\""));
    assert_non_null(strstr(out, "spiffe://lu/gateway"));
}

static void test_a_signer_that_cannot_restart_stops_the_gateway(void **state)
{
    (void)state;
    char key[PATH_MAX + 32], away[PATH_MAX + 40];
    snprintf(key, sizeof(key), "%s/keys/site.key", lu.s.dir);
    snprintf(away, sizeof(away), "%s.away", key);
    assert_int_equal(rename(key, away), 0);
    kill(signer_of(lu.s.pid), SIGKILL);
    assert_int_equal(th_run(out, sizeof(out), "peer", "export", "--identity", lu.admin, NULL), 8);
    /* It stops by itself, cleanly, and says why. */
    assert_int_equal(wait_exit(lu.s.pid, 10), 0);
    lu.s.pid = 0;
    assert_true(th_file_contains(lu.s.log, "signer.restart-failed"));
    assert_true(th_file_contains(lu.s.log, "the gateway stops: nothing more can be signed"));
    assert_true(th_file_contains(lu.s.log, "gateway.stopped"));
    assert_int_equal(rename(away, key), 0);
    /* With its key back it starts again. */
    th_gateway_start(&lu.s);
    must(th_run(out, sizeof(out), "peer", "export", "--identity", lu.admin, NULL), "export");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_only_the_signer_holds_the_key),
        cmocka_unit_test(test_a_dead_signer_is_restarted_and_audited),
        cmocka_unit_test(test_a_signer_that_cannot_restart_stops_the_gateway),
    };
    return cmocka_run_group_tests_name("separation", tests, setup, teardown);
}
