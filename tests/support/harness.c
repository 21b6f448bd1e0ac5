#include "tests/support/harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* snprintf that aborts rather than truncate a path. */
#define PATHF(buf, ...)                                                                            \
    do {                                                                                           \
        if (snprintf((buf), sizeof(buf), __VA_ARGS__) >= (int)sizeof(buf))                         \
            abort();                                                                               \
    } while (0)

static void die(const char *what)
{
    fprintf(stderr, "harness: %s: %s\n", what, strerror(errno));
    abort();
}

const char *th_ecluse(void)
{
    static char path[PATH_MAX];
    if (path[0] != '\0')
        return path;
    const char *candidates[] = {"cli/ecluse", "bazel-bin/cli/ecluse"};
    for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
        if (access(candidates[i], X_OK) == 0) {
            if (realpath(candidates[i], path) == NULL)
                die("realpath");
            return path;
        }
    }
    fprintf(stderr, "harness: the ecluse binary is not in the test's runfiles\n");
    abort();
}

long th_rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f != NULL && fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    if (f != NULL)
        fclose(f);
    return kb;
}

double th_time_scale(void)
{
    const char *env = getenv("ECLUSE_TIME_SCALE");
    double scale = env != NULL ? atof(env) : 1.0;
    return scale >= 1.0 ? scale : 1.0;
}

int th_scaled_count(int n, int least)
{
    double scale = th_time_scale();
    if (scale <= 1.0)
        return n;
    int scaled = (int)((double)n / scale);
    return scaled > least ? scaled : (least < n ? least : n);
}

double th_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void th_tmpdir(char *out, size_t cap)
{
    const char *base = getenv("TEST_TMPDIR");
    if (snprintf(out, cap, "%s/ecluse-test-XXXXXX", base ? base : "/tmp") >= (int)cap)
        abort();
    if (mkdtemp(out) == NULL)
        die("mkdtemp");
}

int th_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &len) != 0)
        die("free port");
    close(fd);
    return ntohs(addr.sin_port);
}

/* ECLUSE_UNDER: a command every ecluse process of the test runs under
 * (tests/support/memcheck.sh sets a valgrind command there), or NULL. */
static const char *under(void)
{
    const char *u = getenv("ECLUSE_UNDER");
    return u != NULL && u[0] != '\0' ? u : NULL;
}

/* What to exec for `ecluse args...` (args[0] is "ecluse"): the binary, or
 * the words of ECLUSE_UNDER followed by the binary's path. Built before the
 * fork, in `c`, so that the child only execs. */
typedef struct command {
    const char *file;
    char *argv[96];
    char words[1024];
} command;

static void command_push(command *c, int *n, char *arg)
{
    if (*n + 1 >= (int)(sizeof(c->argv) / sizeof(c->argv[0]))) {
        fprintf(stderr, "harness: too many arguments for ecluse\n");
        abort();
    }
    c->argv[(*n)++] = arg;
    c->argv[*n] = NULL;
}

static void command_build(command *c, char *const args[])
{
    const char *u = under();
    int n = 0;
    if (u == NULL) {
        c->file = th_ecluse();
        for (int i = 0; args[i] != NULL; i++)
            command_push(c, &n, args[i]);
        return;
    }
    if (snprintf(c->words, sizeof(c->words), "%s", u) >= (int)sizeof(c->words))
        abort();
    char *save = NULL;
    for (char *w = strtok_r(c->words, " \t", &save); w != NULL; w = strtok_r(NULL, " \t", &save))
        command_push(c, &n, w);
    if (n == 0) {
        fprintf(stderr, "harness: ECLUSE_UNDER holds no command\n");
        abort();
    }
    c->file = c->argv[0];
    command_push(c, &n, (char *)th_ecluse());
    for (int i = 1; args[i] != NULL; i++)
        command_push(c, &n, args[i]);
}

static void command_exec(const command *c)
{
    if (c->file[0] == '/')
        execv(c->file, c->argv);
    else
        execvp(c->file, c->argv);
}

/* The status valgrind exits with when it found an error or a definite leak
 * (--error-exitcode in tests/support/memcheck.sh); ecluse never uses it. */
#define UNDER_FAILED 99

static int run_argv(char *out, size_t cap, char *const argv[])
{
    command c;
    command_build(&c, argv);
    char tmpl[] = "/tmp/ecluse-run-XXXXXX";
    int fd = mkstemp(tmpl);
    if (fd < 0)
        die("mkstemp");
    unlink(tmpl);
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        /* No terminal: a command that would ask a question refuses instead. */
        int null_fd = open("/dev/null", O_RDONLY);
        if (null_fd >= 0)
            dup2(null_fd, STDIN_FILENO);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        command_exec(&c);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    int rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (rc == UNDER_FAILED && under() != NULL) {
        /* Whatever the test expected of this command, it fails the test. */
        fprintf(stderr, "harness: `ecluse");
        for (int i = 1; argv[i] != NULL; i++)
            fprintf(stderr, " %s", argv[i]);
        fprintf(stderr, "` reported errors under ECLUSE_UNDER=%s; its output:\n", under());
        char buf[4096];
        ssize_t n;
        lseek(fd, 0, SEEK_SET);
        while ((n = read(fd, buf, sizeof(buf))) > 0)
            fwrite(buf, 1, (size_t)n, stderr);
        abort();
    }
    lseek(fd, 0, SEEK_SET);
    ssize_t n = out != NULL ? read(fd, out, cap - 1) : 0;
    if (out != NULL)
        out[n > 0 ? n : 0] = '\0';
    close(fd);
    return rc;
}

int th_run(char *out, size_t cap, const char *arg, ...)
{
    char *argv[64];
    int n = 0;
    argv[n++] = "ecluse";
    va_list ap;
    va_start(ap, arg);
    for (const char *a = arg; a != NULL && n < 63; a = va_arg(ap, const char *))
        argv[n++] = (char *)a;
    va_end(ap);
    argv[n] = NULL;
    return run_argv(out, cap, argv);
}

void th_site_create(th_site *s, const char *root, const char *id, const char *country)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->id, sizeof(s->id), "%s", id);
    snprintf(s->country, sizeof(s->country), "%s", country);
    PATHF(s->dir, "%s/%s", root, id);
    PATHF(s->config, "%s/ecluse.json", s->dir);
    s->port = th_free_port();
    char listen[64], out[4096];
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", s->port);
    int rc = th_run(out, sizeof(out), "site", "init", "--site", id, "--country", country, "--dir",
                    s->dir, "--listen", listen, NULL);
    if (rc != 0) {
        fprintf(stderr, "harness: site init failed (%d): %s\n", rc, out);
        abort();
    }
    PATHF(s->log, "%s/%s-gateway.log", root, id);
}

void th_issue(const th_site *s, const char *role, const char *name, char *out, size_t cap)
{
    char text[4096];
    int rc = th_run(text, sizeof(text), "pki", "issue", "--dir", s->dir, "--role", role, "--name",
                    name, NULL);
    if (rc != 0) {
        fprintf(stderr, "harness: pki issue failed (%d): %s\n", rc, text);
        abort();
    }
    if (snprintf(out, cap, "%s/identities/%s-%s", s->dir, role, name) >= (int)cap)
        abort();
}

void th_export_bundle(const th_site *s, const char *admin, char *out, size_t cap)
{
    static char text[65536];
    if (snprintf(out, cap, "%s.peer", s->dir) >= (int)cap)
        abort();
    int rc = th_run(text, sizeof(text), "peer", "export", "--identity", admin, NULL);
    char *start = strstr(text, "ecluse-peer-bundle-v1\n");
    char *end = start != NULL ? strchr(start + 22, '\n') : NULL;
    FILE *f = end != NULL ? fopen(out, "w") : NULL;
    if (rc != 0 || f == NULL) {
        fprintf(stderr, "harness: peer export of %s failed (%d):\n%s\n", s->id, rc, text);
        abort();
    }
    fwrite(start, 1, (size_t)(end - start) + 1, f);
    fclose(f);
    /* The fingerprint the exporting admin tells the other one, kept beside
     * the bundle for th_peer_add. */
    char fp_path[PATH_MAX + 16];
    char *fp = strstr(text, "Fingerprint: ");
    size_t fp_len = fp != NULL ? strcspn(fp + 13, "\n") : 0;
    snprintf(fp_path, sizeof(fp_path), "%s.fp", out);
    f = fp_len > 0 ? fopen(fp_path, "w") : NULL;
    if (f == NULL) {
        fprintf(stderr, "harness: peer export of %s printed no fingerprint:\n%s\n", s->id, text);
        abort();
    }
    fwrite(fp + 13, 1, fp_len, f);
    fclose(f);
}

void th_bundle_fingerprint(const char *bundle, char *fp, size_t cap)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s.fp", bundle);
    char *text = th_read(path);
    if (text == NULL || snprintf(fp, cap, "%s", text) >= (int)cap) {
        fprintf(stderr, "harness: no fingerprint kept for %s (exported by th_export_bundle?)\n",
                bundle);
        abort();
    }
    free(text);
}

int th_peer_add(char *out, size_t cap, const char *bundle, const char *admin)
{
    char fp[128];
    th_bundle_fingerprint(bundle, fp, sizeof(fp));
    return th_run(out, cap, "peer", "add", bundle, "--expect-fingerprint", fp, "--identity", admin,
                  NULL);
}

void th_peer(const th_site *a, const char *a_admin, const th_site *b, const char *b_admin)
{
    char a_bundle[PATH_MAX + 8], b_bundle[PATH_MAX + 8], text[8192];
    th_export_bundle(a, a_admin, a_bundle, sizeof(a_bundle));
    th_export_bundle(b, b_admin, b_bundle, sizeof(b_bundle));
    if (th_peer_add(text, sizeof(text), b_bundle, a_admin) != 0 ||
        th_peer_add(text, sizeof(text), a_bundle, b_admin) != 0) {
        fprintf(stderr, "harness: peering %s and %s failed:\n%s\n", a->id, b->id, text);
        abort();
    }
}

int th_file_contains(const char *path, const char *needle)
{
    char *text = th_read(path);
    int found = text != NULL && strstr(text, needle) != NULL;
    free(text);
    return found;
}

char *th_read(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf != NULL && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (len + 1 == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    fclose(f);
    if (buf != NULL)
        buf[len] = '\0';
    return buf;
}

void th_gateway_spawn(th_site *s, char *const global[])
{
    int fd = open(s->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        die("open gateway log");
    /* Under ECLUSE_UNDER the valgrind process is the gateway (same pid):
     * signals the test sends reach it. */
    char *args[16] = {"ecluse"};
    int n = 1;
    for (int i = 0; global != NULL && global[i] != NULL && n < 12; i++)
        args[n++] = global[i];
    args[n++] = "gateway";
    args[n++] = "--config";
    args[n++] = s->config;
    args[n] = NULL;
    command c;
    command_build(&c, args);
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        dup2(fd, STDERR_FILENO);
        dup2(fd, STDOUT_FILENO);
        command_exec(&c);
        _exit(127);
    }
    close(fd);
    s->pid = pid;
}

void th_gateway_start(th_site *s)
{
    th_gateway_spawn(s, NULL);
    double give_up = th_now() + 20.0 * th_time_scale();
    while (th_now() < give_up) {
        /* The ready line in logfmt or in JSON (ECLUSE_LOG_FORMAT=json). */
        if (th_file_contains(s->log, "event=gateway.ready") ||
            th_file_contains(s->log, "\"event\":\"gateway.ready\""))
            return;
        int status;
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            char *log = th_read(s->log);
            fprintf(stderr, "harness: gateway %s exited at start:\n%s\n", s->id, log ? log : "");
            free(log);
            abort();
        }
        usleep(20 * 1000);
    }
    fprintf(stderr, "harness: gateway %s did not become ready in 20 s\n", s->id);
    abort();
}

int th_gateway_stop(th_site *s, double *seconds)
{
    if (s->pid == 0)
        return -1;
    double start = th_now();
    kill(s->pid, SIGTERM);
    int status = 0;
    while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (seconds != NULL)
        *seconds = th_now() - start;
    s->pid = 0;
    int rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (rc == UNDER_FAILED && under() != NULL) {
        /* valgrind's report is in the gateway's log: its lines start "==pid==". */
        fprintf(stderr, "harness: gateway %s reported errors under ECLUSE_UNDER=%s:\n", s->id,
                under());
        char *log = th_read(s->log);
        for (char *line = log, *next; line != NULL && *line != '\0'; line = next) {
            next = strchr(line, '\n');
            next = next != NULL ? next + 1 : line + strlen(line);
            if (strncmp(line, "==", 2) == 0)
                fwrite(line, 1, (size_t)(next - line), stderr);
        }
        free(log);
    }
    return rc;
}
