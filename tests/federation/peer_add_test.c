/*
 * peer_add_test.c - `ecluse peer add` never adds a peer whose fingerprint
 * nobody compared.
 *
 * Two real sites on loopback, FI adding LU's bundle: without
 * --expect-fingerprint and without a terminal it is refused (exit 2, naming
 * the option and printing the fingerprint); with the wrong fingerprint too
 * (exit 10); at a terminal an answer other than "yes" refuses; after each
 * refusal `peer list` shows no LU. "yes" at a terminal, or the right
 * fingerprint, adds it.
 */
#include <errno.h>
#include <pty.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/support/harness.h"

#define OUT_MAX (64 * 1024)

static char root[PATH_MAX - 200];
static th_site fi, lu;
static char fi_admin[PATH_MAX], lu_admin[PATH_MAX], lu_bundle[PATH_MAX + 16];
static char lu_fp[128];
static char out[OUT_MAX];

static int setup(void **state)
{
    (void)state;
    th_tmpdir(root, sizeof(root));
    th_site_create(&fi, root, "fi", "FI");
    th_site_create(&lu, root, "lu", "LU");
    th_issue(&fi, "admin", "adm", fi_admin, sizeof(fi_admin));
    th_issue(&lu, "admin", "adm", lu_admin, sizeof(lu_admin));
    th_gateway_start(&fi);
    th_gateway_start(&lu);
    th_export_bundle(&lu, lu_admin, lu_bundle, sizeof(lu_bundle));
    th_bundle_fingerprint(lu_bundle, lu_fp, sizeof(lu_fp));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int a = th_gateway_stop(&fi, NULL), b = th_gateway_stop(&lu, NULL);
    return a == 0 && b == 0 ? 0 : -1;
}

/* 1 if FI's `peer list` names LU. */
static int fi_lists_lu(void)
{
    char list[8192];
    int rc = th_run(list, sizeof(list), "peer", "list", "--json", "--identity", fi_admin, NULL);
    if (rc != 0)
        fail_msg("peer list failed (%d):\n%s", rc, list);
    return strstr(list, "\"site\": \"lu\"") != NULL;
}

/* Run `ecluse peer add LU-BUNDLE --identity FI-ADMIN` with a terminal as its
 * stdin and stdout, typing `answer` once it asks; its output goes to `out`.
 * Runs under ECLUSE_UNDER like every other ecluse process of the tests. */
static int peer_add_at_terminal(const char *answer)
{
    int master;
    pid_t pid = forkpty(&master, NULL, NULL, NULL);
    if (pid < 0)
        fail_msg("forkpty: %s", strerror(errno));
    if (pid == 0) {
        const char *under = getenv("ECLUSE_UNDER");
        char script[512];
        snprintf(script, sizeof(script), "exec %s \"$0\" \"$@\"", under ? under : "");
        execl("/bin/sh", "sh", "-c", script, th_ecluse(), "peer", "add", lu_bundle, "--identity",
              fi_admin, (char *)NULL);
        _exit(127);
    }
    size_t len = 0;
    int answered = 0;
    for (;;) {
        ssize_t n = read(master, out + len, sizeof(out) - 1 - len);
        if (n <= 0)
            break; /* EIO once the child has closed the terminal */
        len += (size_t)n;
        out[len] = '\0';
        if (!answered && strstr(out, "Type yes") != NULL) {
            answered = 1;
            if (write(master, answer, strlen(answer)) != (ssize_t)strlen(answer))
                fail_msg("cannot type at the terminal: %s", strerror(errno));
        }
    }
    close(master);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!answered)
        fail_msg("peer add at a terminal never asked for confirmation:\n%s", out);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_without_the_fingerprint_and_no_terminal_nothing_is_added(void **state)
{
    (void)state;
    assert_int_equal(
        th_run(out, sizeof(out), "peer", "add", lu_bundle, "--identity", fi_admin, NULL), 2);
    assert_non_null(strstr(out, "--expect-fingerprint is required"));
    assert_non_null(strstr(out, lu_fp)); /* so the admin can compare it */
    assert_non_null(strstr(out, "nothing was added"));
    assert_false(fi_lists_lu());
}

static void test_a_wrong_fingerprint_is_refused_and_nothing_is_added(void **state)
{
    (void)state;
    char wrong[128];
    snprintf(wrong, sizeof(wrong), "%s", lu_fp);
    wrong[0] = wrong[0] == '0' ? '1' : '0';
    assert_int_equal(th_run(out, sizeof(out), "peer", "add", lu_bundle, "--expect-fingerprint",
                            wrong, "--identity", fi_admin, NULL),
                     10);
    assert_non_null(strstr(out, "not adding this peer"));
    assert_non_null(strstr(out, wrong));
    assert_false(fi_lists_lu());
}

static void test_at_a_terminal_anything_but_yes_adds_nothing(void **state)
{
    (void)state;
    assert_int_equal(peer_add_at_terminal("no\n"), 2);
    assert_non_null(strstr(out, lu_fp));
    assert_non_null(strstr(out, "was not confirmed"));
    assert_false(fi_lists_lu());
}

static void test_yes_at_a_terminal_adds_the_peer(void **state)
{
    (void)state;
    assert_int_equal(peer_add_at_terminal("yes\n"), 0);
    assert_non_null(strstr(out, "Added peer lu"));
    assert_true(fi_lists_lu());
    assert_int_equal(th_run(out, sizeof(out), "peer", "remove", "lu", "--identity", fi_admin, NULL),
                     0);
    assert_false(fi_lists_lu());
}

static void test_the_right_fingerprint_adds_the_peer(void **state)
{
    (void)state;
    assert_int_equal(th_peer_add(out, sizeof(out), lu_bundle, fi_admin), 0);
    assert_non_null(strstr(out, "Added peer lu"));
    assert_true(fi_lists_lu());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_without_the_fingerprint_and_no_terminal_nothing_is_added),
        cmocka_unit_test(test_a_wrong_fingerprint_is_refused_and_nothing_is_added),
        cmocka_unit_test(test_at_a_terminal_anything_but_yes_adds_nothing),
        cmocka_unit_test(test_yes_at_a_terminal_adds_the_peer),
        cmocka_unit_test(test_the_right_fingerprint_adds_the_peer),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
