/*
 * harness.h - real sites and real gateway processes for tests.
 *
 * Tests run the `ecluse` binary that Bazel built (declared as test data), in
 * a fresh temporary directory, on free loopback ports. Nothing is mocked:
 * sites are made by `ecluse site init`, identities by `ecluse pki issue`, and
 * a gateway is a child process that the test stops with a real signal.
 *
 * ECLUSE_UNDER, if set, is a command prefix every ecluse process (gateways
 * and CLI runs alike) is started under: the valgrind stage of scripts/test.sh
 * sets a valgrind memcheck command there (tests/support/memcheck.sh). The
 * prefix is exec'd in place, so a gateway's pid is the traced process and
 * the signals a test sends reach it. A process that exits 99 under it
 * (valgrind's --error-exitcode: an error or a definite leak) fails the test:
 * th_run aborts, printing its output; th_gateway_stop prints valgrind's lines
 * from the gateway's log and returns 99.
 */
#ifndef ECLUSE_TESTS_HARNESS_H
#define ECLUSE_TESTS_HARNESS_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct th_site {
    char id[64];
    char country[3];
    char dir[PATH_MAX];
    char config[PATH_MAX];
    char log[PATH_MAX]; /* the gateway's stderr */
    int port;
    pid_t pid; /* 0 when not running */
} th_site;

/* Path of the ecluse binary under test (aborts the test if missing). */
const char *th_ecluse(void);

/* A new empty directory under $TEST_TMPDIR (or /tmp). */
void th_tmpdir(char *out, size_t cap);

/* A loopback port that was free a moment ago. */
int th_free_port(void);

/* Run `ecluse` with args (NULL-terminated); stdout+stderr go to `out`
 * (NUL-terminated, truncated to cap). Returns the exit status, or -1 if it
 * did not exit normally (e.g. killed by a sanitizer abort). */
int th_run(char *out, size_t cap, const char *arg, ...) __attribute__((sentinel));

/* `ecluse site init` in root/<id>, on a free port. Asserts success. */
void th_site_create(th_site *s, const char *root, const char *id, const char *country);

/* `ecluse pki issue`; the identity directory goes to `out`. Asserts success. */
void th_issue(const th_site *s, const char *role, const char *name, char *out, size_t cap);

/* Start `ecluse gateway --config` and wait (up to 20 s) for its ready line.
 * Asserts that it came up. */
void th_gateway_start(th_site *s);

/* Start `ecluse [GLOBAL...] gateway --config` (GLOBAL NULL or a
 * NULL-terminated list of options before the command, such as
 * "--log-format", "json") and return at once, s->pid set: the test waits
 * for readiness its own way. */
void th_gateway_spawn(th_site *s, char *const global[]);

/* SIGTERM the gateway and wait for it; returns its exit status (-1 if killed
 * by a signal) and the seconds it took in *seconds (may be NULL). */
int th_gateway_stop(th_site *s, double *seconds);

/* `ecluse peer export` by `admin` (an identity directory of `s`), written to
 * `out` as the bundle file a peer adds (stderr's fingerprint lines left
 * out). Asserts success. */
void th_export_bundle(const th_site *s, const char *admin, char *out, size_t cap);

/* The fingerprint `peer export` printed for a bundle th_export_bundle wrote
 * (kept beside it as BUNDLE.fp). Aborts if there is none. */
void th_bundle_fingerprint(const char *bundle, char *fp, size_t cap);

/* `ecluse peer add BUNDLE --expect-fingerprint FP --identity ADMIN`, FP the
 * one its export printed; returns th_run's status. */
int th_peer_add(char *out, size_t cap, const char *bundle, const char *admin);

/* Peer two sites both ways, each admin adding the other's bundle. */
void th_peer(const th_site *a, const char *a_admin, const th_site *b, const char *b_admin);

/* 1 if `needle` occurs in the file at `path`. */
int th_file_contains(const char *path, const char *needle);

/* Read a whole small file into a malloc'd string (NULL if unreadable). */
char *th_read(const char *path);

/* How much slower than normal this run is: ECLUSE_TIME_SCALE (valgrind's
 * run sets 30), else 1. Time bounds in tests are multiplied by it, so a
 * memory-checking run checks memory; plain and sanitizer runs keep the
 * bounds as written. */
double th_time_scale(void);

/* How many of something (streams, calls, entries) a test does: n as
 * written, or n / ECLUSE_TIME_SCALE but at least `least` in a slowed-down
 * run (valgrind). A test that scales a count prints what it ran. */
int th_scaled_count(int n, int least);

/* A process's resident memory (VmRSS) in KiB, or -1. */
long th_rss_kb(pid_t pid);

/* Monotonic seconds. */
double th_now(void);

#endif
