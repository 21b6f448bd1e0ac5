/*
 * site_init_test.c - `ecluse site init` makes a whole site or nothing.
 *
 * Every bad option is refused before anything is written: exit 2, the
 * option and its value named, and the directory it was run in as empty as
 * before. A failure late in the build (a file system that refuses a file
 * larger than a few KiB: the transfer rules are the largest file of a site
 * and written after the keys) leaves nothing either, not even the parents
 * it created. Each time, a retry with good options at the same path works.
 */
#include <dirent.h>
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

#include "tests/support/harness.h"

static char out[8192];

/* Names in `dir` other than . and .., joined by spaces ("" if none). */
static void list_dir(const char *dir, char *names, size_t cap)
{
    names[0] = '\0';
    DIR *d = opendir(dir);
    assert_non_null(d);
    const struct dirent *e;
    size_t used = 0;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            used += (size_t)snprintf(names + used, used < cap ? cap - used : 0, "%s ", e->d_name);
    closedir(d);
}

static void expect_empty(const char *dir)
{
    char names[4096];
    list_dir(dir, names, sizeof(names));
    if (names[0] != '\0')
        fail_msg("%s should be empty after a failed site init; it holds: %s", dir, names);
}

/* A retry with good options at `dir` makes a site that checks OK. */
static void expect_retry_works(const char *dir)
{
    char listen[64], config[PATH_MAX + 16];
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", th_free_port());
    int rc = th_run(out, sizeof(out), "site", "init", "--site", "fi", "--country", "FI", "--dir",
                    dir, "--listen", listen, NULL);
    if (rc != 0)
        fail_msg("the retry at %s failed (%d): %s", dir, rc, out);
    snprintf(config, sizeof(config), "%s/ecluse.json", dir);
    rc = th_run(out, sizeof(out), "gateway", "--config", config, "--check", NULL);
    if (rc != 0 || strstr(out, "configuration OK") == NULL)
        fail_msg("the retried site does not check OK (%d): %s", rc, out);
}

/* `site init --site fi --country <country> --dir <root>/fi <opt> <value>`
 * fails with exit 2 naming `needle`, and leaves `root` empty. */
static void expect_refused(const char *country, const char *opt, const char *value,
                           const char *needle)
{
    char root[PATH_MAX], dir[PATH_MAX + 8];
    th_tmpdir(root, sizeof(root));
    snprintf(dir, sizeof(dir), "%s/fi", root);
    int rc = th_run(out, sizeof(out), "site", "init", "--site", "fi", "--country", country, "--dir",
                    dir, opt, value, NULL);
    if (rc != 2 || strstr(out, needle) == NULL)
        fail_msg("%s '%s': expected exit 2 and \"%s\"; got exit %d and:\n%s", opt, value, needle,
                 rc, out);
    expect_empty(root);
    expect_retry_works(dir);
}

static void test_bad_listen_addresses_are_refused_before_anything_is_written(void **state)
{
    (void)state;
    expect_refused("FI", "--listen", ":99999",
                   "--listen ':99999': the port must be a number from 1 to 65535");
    expect_refused("FI", "--listen", ":0", "--listen ':0': the port must be a number from 1");
    expect_refused("FI", "--listen", "127.0.0.1:7443x",
                   "--listen '127.0.0.1:7443x': the port must be a number");
    expect_refused("FI", "--listen", "not an address",
                   "--listen 'not an address' is not host:port");
    expect_refused("FI", "--listen", ":7443", "--listen ':7443' has no host");
    expect_refused("FI", "--listen", "bad host:7443",
                   "'bad host' is neither a DNS name nor an IP address");
    expect_refused("FI", "--listen", "::1:7443", "an IPv6 host goes in brackets");
    expect_refused("FI", "--listen", "[gw.example]:7443",
                   "'gw.example' in brackets is not an IPv6 address");
}

static void test_bad_host_names_are_refused_before_anything_is_written(void **state)
{
    (void)state;
    expect_refused("FI", "--host", "", "--host '' is neither a DNS name nor an IP address");
    expect_refused("FI", "--host", "gw example.fi",
                   "--host 'gw example.fi' is neither a DNS name nor an IP address");
    expect_refused("FI", "--host", "-gw.example.fi", "--host '-gw.example.fi' is neither");
}

static void test_bad_country_and_site_are_refused_before_anything_is_written(void **state)
{
    (void)state;
    expect_refused("QQ", "--listen", "127.0.0.1:7443",
                   "--country 'QQ' is not an ISO 3166-1 alpha-2 code");
    char root[PATH_MAX], dir[PATH_MAX + 8];
    th_tmpdir(root, sizeof(root));
    snprintf(dir, sizeof(dir), "%s/fi", root);
    assert_int_equal(th_run(out, sizeof(out), "site", "init", "--site", "Fi!", "--country", "FI",
                            "--dir", dir, NULL),
                     2);
    assert_non_null(strstr(out, "--site 'Fi!' is not a valid site id"));
    expect_empty(root);
}

static void test_a_directory_that_holds_something_else_is_refused(void **state)
{
    (void)state;
    char root[PATH_MAX], dir[PATH_MAX + 8], file[PATH_MAX + 32];
    th_tmpdir(root, sizeof(root));
    snprintf(dir, sizeof(dir), "%s/fi", root);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(file, sizeof(file), "%s/notes.txt", dir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fputs("mine\n", f);
    fclose(f);
    assert_int_equal(th_run(out, sizeof(out), "site", "init", "--site", "fi", "--country", "FI",
                            "--dir", dir, NULL),
                     6);
    assert_non_null(strstr(out, "is not empty"));
    char names[4096];
    list_dir(dir, names, sizeof(names));
    assert_string_equal(names, "notes.txt "); /* untouched, and nothing added */
    list_dir(root, names, sizeof(names));
    assert_string_equal(names, "fi ");
    /* An empty directory is fine: the site takes its place. */
    assert_int_equal(unlink(file), 0);
    expect_retry_works(dir);
}

/* Run `site init` in a child whose files may not grow past `limit` bytes
 * (RLIMIT_FSIZE, with SIGXFSZ ignored so that the write fails with EFBIG
 * instead of killing it, as on a full quota). Returns the exit code. */
static int site_init_with_file_size_limit(const char *dir, rlim_t limit)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        struct rlimit lim;
        getrlimit(RLIMIT_FSIZE, &lim);
        lim.rlim_cur = limit;
        signal(SIGXFSZ, SIG_IGN);
        if (setrlimit(RLIMIT_FSIZE, &lim) != 0)
            _exit(120);
        int rc = th_run(out, sizeof(out), "site", "init", "--site", "fi", "--country", "FI",
                        "--dir", dir, NULL);
        if (write(fds[1], out, strlen(out)) < 0)
            _exit(121);
        _exit(rc < 0 ? 122 : rc);
    }
    close(fds[1]);
    size_t used = 0;
    ssize_t n;
    while ((n = read(fds[0], out + used, sizeof(out) - 1 - used)) > 0)
        used += (size_t)n;
    out[used] = '\0';
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void test_a_late_failure_leaves_no_partial_site(void **state)
{
    (void)state;
    char root[PATH_MAX], dir[PATH_MAX + 32];
    th_tmpdir(root, sizeof(root));
    snprintf(dir, sizeof(dir), "%s/sites/eu/fi", root);
    /* Keys and certificates are under 1 KiB and get written; the transfer
     * rules (about 6 KiB) are not. */
    int rc = site_init_with_file_size_limit(dir, 4096);
    if (rc != 4 || strstr(out, "transfer_rules.json") == NULL ||
        strstr(out, "File too large") == NULL ||
        strstr(out, "no site created, nothing left behind") == NULL)
        fail_msg("expected exit 4 naming transfer_rules.json; got %d and:\n%s", rc, out);
    /* Not the site, not its temporary directory, not the parents made for it. */
    expect_empty(root);
    expect_retry_works(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_listen_addresses_are_refused_before_anything_is_written),
        cmocka_unit_test(test_bad_host_names_are_refused_before_anything_is_written),
        cmocka_unit_test(test_bad_country_and_site_are_refused_before_anything_is_written),
        cmocka_unit_test(test_a_directory_that_holds_something_else_is_refused),
        cmocka_unit_test(test_a_late_failure_leaves_no_partial_site),
    };
    return cmocka_run_group_tests_name("site init", tests, NULL, NULL);
}
