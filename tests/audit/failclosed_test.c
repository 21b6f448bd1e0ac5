/* Fail closed: a full map, a full disk (file size limit) and unwritable
 * files make appends (or opening) fail with ECL_E_UNAVAILABLE; the chain
 * stays valid and appends succeed again once room returns. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "audit/audit.h"
#include "tests/audit/testutil.h"

#define ADMIN "spiffe://fi/admin/root"

/* An entry with a detail of about `size` bytes. */
static int append_big(audit_log *log, size_t size, uint64_t *seq, ecl_err *err)
{
    char *pad = malloc(size + 1);
    memset(pad, 'p', size);
    pad[size] = '\0';
    json_t *d = json_pack("{s:s}", "pad", pad);
    audit_entry e = {.kind = AUDIT_KIND_ADMIN, .actor = ADMIN, .detail = d};
    int rc = audit_append(log, &e, seq, err);
    json_decref(d);
    free(pad);
    return rc;
}

static void verify_count(audit_log *log, uint64_t want)
{
    audit_verify_report rep;
    ecl_err err;
    if (audit_verify(log, &rep, &err) != 0)
        fail_msg("verify: %s", err.msg);
    assert_int_equal(rep.entries, want);
}

static void test_map_full(void **state)
{
    (void)state;
    char dir[512];
    tu_tmpdir(dir, sizeof(dir));
    audit_options o = {.map_size = 256 * 1024};
    audit_log *log;
    ecl_err err;
    assert_int_equal(audit_open(dir, &o, &log, &err), 0);
    uint64_t ok = 0, seq = 0;
    int rc = 0;
    for (int i = 0; i < 10000 && rc == 0; i++) {
        rc = append_big(log, 2000, &seq, &err);
        if (rc == 0)
            ok++;
    }
    assert_int_equal(rc, -1);
    assert_true(ok > 10);
    assert_int_equal(err.code, ECL_E_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "MDB_MAP_FULL"));
    assert_non_null(strstr(err.msg, "audit trail not written"));
    uint64_t count;
    assert_int_equal(audit_head(log, &count, NULL, &err), 0);
    assert_int_equal(count, ok);
    /* still full: still refused, still nothing half-written */
    assert_int_equal(append_big(log, 2000, &seq, &err), -1);
    assert_int_equal(err.code, ECL_E_UNAVAILABLE);
    verify_count(log, ok);
    audit_close(log);

    o.map_size = 16u << 20; /* room returns */
    assert_int_equal(audit_open(dir, &o, &log, &err), 0);
    assert_int_equal(append_big(log, 2000, &seq, &err), 0);
    assert_int_equal(seq, ok + 1);
    verify_count(log, ok + 1);
    audit_close(log);
    tu_rmrf(dir);
}

/* Runs in a child: the file size limit stands in for a full disk, and
 * must not hit the test's own log files. Exit 0 = as expected. */
static int disk_full_child(const char *dir)
{
    signal(SIGXFSZ, SIG_IGN); /* get EFBIG instead of a signal */
    audit_log *log;
    ecl_err err;
    uint64_t seq;
    if (audit_open(dir, NULL, &log, &err) != 0 || append_big(log, 100, &seq, &err) != 0)
        return 10;
    char path[600];
    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    struct stat st;
    if (stat(path, &st) != 0)
        return 11;
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = (rlim_t)st.st_size + 64 * 1024; /* room for a few more */
    if (setrlimit(RLIMIT_FSIZE, &lim) != 0)
        return 12;
    int rc = 0;
    uint64_t ok = 1;
    for (int i = 0; i < 2000 && rc == 0; i++)
        if ((rc = append_big(log, 3000, &seq, &err)) == 0)
            ok++;
    if (rc == 0)
        return 13; /* the limit never bit */
    if (ok < 3)
        return 19; /* the disk filled up, not an error from the start */
    if (err.code != ECL_E_UNAVAILABLE || strstr(err.msg, "File too large") == NULL) {
        fprintf(stderr, "unexpected error: %s: %s\n", ecl_code_name(err.code), err.msg);
        return 14;
    }
    uint64_t count;
    if (audit_head(log, &count, NULL, &err) != 0 || count != ok)
        return 15;
    audit_verify_report rep;
    if (audit_verify(log, &rep, &err) != 0 || rep.entries != ok)
        return 16;
    setrlimit(RLIMIT_FSIZE, &old); /* room returns */
    if (append_big(log, 3000, &seq, &err) != 0 || seq != ok + 1) {
        fprintf(stderr, "after room returned: %s\n", err.msg);
        return 17;
    }
    if (audit_verify(log, &rep, &err) != 0 || rep.entries != ok + 1)
        return 18;
    audit_close(log);
    return 0;
}

static void test_disk_full(void **state)
{
    (void)state;
    char dir[512];
    tu_tmpdir(dir, sizeof(dir));
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(disk_full_child(dir));
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    audit_log *log = tu_open(dir); /* and in a fresh process view too */
    uint64_t count;
    ecl_err err;
    assert_int_equal(audit_head(log, &count, NULL, &err), 0);
    assert_true(count >= 4);
    verify_count(log, count);
    audit_close(log);
    tu_rmrf(dir);
}

/* A child that cannot write: as root, it becomes "nobody" (root ignores
 * permission bits); otherwise the directory is made read-only. It tries
 * to open the log and append. Exit 0 = refused with ECL_E_UNAVAILABLE
 * naming the path and the reason. */
static int unwritable_child(const char *dir)
{
    if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
        return 20;
    if (access(dir, W_OK) == 0 && chmod(dir, 0500) != 0)
        return 21;
    audit_log *log = NULL;
    ecl_err err;
    ecl_err_clear(&err);
    if (audit_open(dir, NULL, &log, &err) == 0) {
        uint64_t seq;
        int rc = append_big(log, 10, &seq, &err);
        audit_close(log);
        if (rc == 0)
            return 22; /* written although nothing should be writable */
    }
    if (err.code != ECL_E_UNAVAILABLE || strstr(err.msg, dir) == NULL ||
        (strstr(err.msg, "Permission denied") == NULL && strstr(err.msg, "Read-only") == NULL)) {
        fprintf(stderr, "unexpected: %s: %s\n", ecl_code_name(err.code), err.msg);
        return 23;
    }
    return 0;
}

static int run_unwritable(const char *dir)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(unwritable_child(dir));
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
}

/* Under /tmp, world-traversable, so that "nobody" meets the permission
 * bits of the log's own directory, not of a private parent. */
static void public_tmpdir(char *out, size_t cap)
{
    snprintf(out, cap, "/tmp/ecluse-audit-XXXXXX");
    assert_non_null(mkdtemp(out));
    assert_int_equal(chmod(out, 0755), 0);
}

static void test_unwritable_new_directory(void **state)
{
    (void)state;
    char top[512], dir[600];
    public_tmpdir(top, sizeof(top));
    snprintf(dir, sizeof(dir), "%s/log", top);
    assert_int_equal(mkdir(dir, 0755), 0); /* exists, owned by us, not writable by nobody */
    assert_int_equal(run_unwritable(dir), 0);
    assert_int_equal(chmod(dir, 0700), 0);
    audit_log *log = tu_open(dir); /* writable again: works */
    tu_append(log, AUDIT_KIND_ADMIN, ADMIN, NULL, NULL, NULL, NULL, 0);
    verify_count(log, 1);
    audit_close(log);
    tu_rmrf(top);
}

static void test_unwritable_existing_log(void **state)
{
    (void)state;
    char top[512], dir[600], path[700];
    public_tmpdir(top, sizeof(top));
    snprintf(dir, sizeof(dir), "%s/log", top);
    audit_log *log = tu_open(dir);
    for (int i = 0; i < 3; i++)
        tu_append(log, AUDIT_KIND_ADMIN, ADMIN, NULL, NULL, NULL, NULL, 0);
    audit_close(log);
    /* readable by anyone, writable by no one but root */
    assert_int_equal(chmod(dir, 0555), 0);
    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    assert_int_equal(chmod(path, 0444), 0);
    snprintf(path, sizeof(path), "%s/lock.mdb", dir);
    assert_int_equal(chmod(path, 0444), 0);
    assert_int_equal(run_unwritable(dir), 0);
    assert_int_equal(chmod(dir, 0700), 0);
    assert_int_equal(chmod(path, 0600), 0);
    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    assert_int_equal(chmod(path, 0600), 0);
    log = tu_open(dir);
    verify_count(log, 3); /* untouched */
    uint64_t s = tu_append(log, AUDIT_KIND_ADMIN, ADMIN, NULL, NULL, NULL, NULL, 0);
    assert_int_equal(s, 4);
    verify_count(log, 4);
    audit_close(log);
    tu_rmrf(top);
}

/* A log directory path that cannot even be created. */
static void test_directory_cannot_be_created(void **state)
{
    (void)state;
    char top[512], dir[700];
    tu_tmpdir(top, sizeof(top));
    snprintf(dir, sizeof(dir), "%s/file", top);
    FILE *f = fopen(dir, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(dir, sizeof(dir), "%s/file/log", top); /* a file where a directory must be */
    audit_log *log = NULL;
    ecl_err err;
    assert_int_equal(audit_open(dir, NULL, &log, &err), -1);
    assert_null(log);
    assert_int_equal(err.code, ECL_E_UNAVAILABLE);
    assert_non_null(strstr(err.msg, dir));
    tu_rmrf(top);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map_full),
        cmocka_unit_test(test_disk_full),
        cmocka_unit_test(test_unwritable_new_directory),
        cmocka_unit_test(test_unwritable_existing_log),
        cmocka_unit_test(test_directory_cannot_be_created),
    };
    return cmocka_run_group_tests_name("audit_fail_closed", tests, NULL, NULL);
}
