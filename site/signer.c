/* signer.c - the handle on a signer: a process behind a socketpair, or a
 * key in this process (see signer.h). */
#include "site/signer.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "site/signer_io.h"
#include "site/signer_keys.h"

extern char **environ;

/* How long a signature may take before the signer is taken for hung (it
 * takes microseconds; the margin is for a machine under heavy load). */
#define SIGNER_TIMEOUT_MS 30000
/* The descriptor the signer process finds its socket on. */
#define SIGNER_CHILD_FD 3

struct signer {
    pthread_mutex_t lock; /* one request at a time; everything below */
    int is_local;
    signer_keys local; /* is_local */
    int fd;            /* the socket to the process; -1 while it is dead */
    pid_t pid;
    char *exe, *key_path, *site; /* site: NULL when not given */
    signer_event_fn on_event;
    void *event_ctx;
    unsigned char public_key[crypto_sign_PUBLICKEYBYTES];
};

static int new_handle(signer **out, ecl_err *err)
{
    signer *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    pthread_mutex_init(&s->lock, NULL);
    s->fd = -1;
    *out = s;
    return 0;
}

/* How a child ended, in words. */
static void describe_exit(int status, char *out, size_t cap)
{
    if (WIFSIGNALED(status))
        snprintf(out, cap, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else if (WIFEXITED(status))
        snprintf(out, cap, "exited with status %d", WEXITSTATUS(status));
    else
        snprintf(out, cap, "ended (wait status %d)", status);
}

/* Close our end and collect the process: after EOF it exits by itself;
 * one that does not within a second is killed. */
static void reap(signer *s, char *how, size_t cap)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    snprintf(how, cap, "not running");
    if (s->pid <= 0)
        return;
    int status = 0;
    for (int waited_ms = 0;; waited_ms += 10) {
        pid_t r = waitpid(s->pid, &status, WNOHANG);
        if (r == s->pid || (r < 0 && errno != EINTR))
            break;
        if (waited_ms == 1000)
            kill(s->pid, SIGKILL);
        struct timespec ten_ms = {0, 10 * 1000 * 1000};
        nanosleep(&ten_ms, NULL);
    }
    describe_exit(status, how, cap);
    s->pid = 0;
}

static int spawn_attrs(posix_spawnattr_t *attr, posix_spawn_file_actions_t *fa, int child_fd)
{
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGHUP);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGCHLD);
    /* Own process group: a terminal's ^C reaches the gateway, which then
     * still has its signer for the checkpoint it signs as it stops. */
    return posix_spawnattr_init(attr) != 0 ||
                   posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                                      POSIX_SPAWN_SETPGROUP) != 0 ||
                   posix_spawnattr_setsigmask(attr, &none) != 0 ||
                   posix_spawnattr_setsigdefault(attr, &defaults) != 0 ||
                   posix_spawnattr_setpgroup(attr, 0) != 0 ||
                   posix_spawn_file_actions_init(fa) != 0 ||
                   posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY, 0) != 0 ||
                   posix_spawn_file_actions_adddup2(fa, child_fd, SIGNER_CHILD_FD) != 0
               ? -1
               : 0;
}

/* Start the process and read its hello: its public key, or why not.
 * posix_spawn is fork and exec that is safe in a threaded process (the
 * gateway restarts its signer while serving). */
static int start_process(signer *s, ecl_err *err)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return ecl_fail(err, ECL_E_IO, "signer: socketpair: %s", strerror(errno));
    /* Above SIGNER_CHILD_FD, so that dup2 in the child makes a descriptor
     * that survives exec. */
    int child_fd = fcntl(sv[1], F_DUPFD_CLOEXEC, SIGNER_CHILD_FD + 1);
    close(sv[1]);
    if (child_fd < 0) {
        close(sv[0]);
        return ecl_fail(err, ECL_E_IO, "signer: %s", strerror(errno));
    }
    posix_spawnattr_t attr;
    posix_spawn_file_actions_t fa;
    char fd_text[8];
    snprintf(fd_text, sizeof(fd_text), "%d", SIGNER_CHILD_FD);
    char *argv[] = {
        s->exe,  "signer", "--fd", fd_text, "--key", s->key_path, s->site ? "--site" : NULL,
        s->site, NULL};
    int rc = spawn_attrs(&attr, &fa, child_fd) != 0
                 ? EINVAL
                 : posix_spawn(&s->pid, s->exe, &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(child_fd);
    if (rc != 0) {
        close(sv[0]);
        s->pid = 0;
        return ecl_fail(err, ECL_E_IO, "signer: cannot start %s: %s", s->exe, strerror(rc));
    }
    s->fd = sv[0];
    uint32_t code = 0;
    size_t len = 0;
    char hello[ECL_ERR_MSG_MAX];
    int got = signer_io_read(s->fd, &code, hello, sizeof(hello) - 1, &len, SIGNER_TIMEOUT_MS, err);
    if (got == 0 && code == 0 && len == crypto_sign_PUBLICKEYBYTES) {
        memcpy(s->public_key, hello, len);
        return 0;
    }
    char how[128];
    reap(s, how, sizeof(how));
    if (got == 0 && code != 0) {
        hello[len] = '\0';
        return ecl_fail(err, code < ECL_E_INTERNAL ? (ecl_code)code : ECL_E_INTERNAL, "%s", hello);
    }
    if (got == 0)
        return ecl_fail(err, ECL_E_INTERNAL, "signer: a hello of %zu bytes", len);
    return ecl_fail(err, ECL_E_UNAVAILABLE, "the signer did not start (%s)", how);
}

int signer_spawn(const char *exe, const char *key_path, signer_event_fn on_event, void *event_ctx,
                 signer **out, ecl_err *err)
{
    return signer_spawn_site(exe, key_path, NULL, on_event, event_ctx, out, err);
}

int signer_spawn_site(const char *exe, const char *key_path, const char *site,
                      signer_event_fn on_event, void *event_ctx, signer **out, ecl_err *err)
{
    char origin[ECL_CHECKPOINT_ORIGIN_MAX + 1];
    if (site != NULL && ecl_audit_origin(site, origin, sizeof(origin), err) != 0)
        return -1;
    signer *s = NULL;
    if (new_handle(&s, err) != 0)
        return -1;
    s->exe = strdup(exe);
    s->key_path = strdup(key_path);
    s->site = site != NULL ? strdup(site) : NULL;
    s->on_event = on_event;
    s->event_ctx = event_ctx;
    if (s->exe == NULL || s->key_path == NULL || (site != NULL && s->site == NULL)) {
        signer_free(s);
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    }
    if (start_process(s, err) != 0) {
        signer_free(s);
        return -1;
    }
    *out = s;
    return 0;
}

int signer_local(const site_key *key, signer **out, ecl_err *err)
{
    return signer_local_site(key, NULL, out, err);
}

int signer_local_site(const site_key *key, const char *site, signer **out, ecl_err *err)
{
    signer *s = NULL;
    if (new_handle(&s, err) != 0)
        return -1;
    s->is_local = 1;
    if (site != NULL && (s->site = strdup(site)) == NULL) {
        signer_free(s);
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    }
    if (signer_keys_copy(&s->local, key, err) != 0 ||
        (site != NULL && signer_keys_set_site(&s->local, site, err) != 0)) {
        signer_free(s);
        return -1;
    }
    memcpy(s->public_key, key->public_key, sizeof(s->public_key));
    *out = s;
    return 0;
}

void signer_free(signer *s)
{
    if (s == NULL)
        return;
    char how[128];
    reap(s, how, sizeof(how));
    signer_keys_wipe(&s->local);
    free(s->exe);
    free(s->key_path);
    free(s->site);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

void signer_public_key(signer *s, unsigned char pk[crypto_sign_PUBLICKEYBYTES])
{
    pthread_mutex_lock(&s->lock);
    memcpy(pk, s->public_key, crypto_sign_PUBLICKEYBYTES);
    pthread_mutex_unlock(&s->lock);
}

pid_t signer_pid(signer *s)
{
    pthread_mutex_lock(&s->lock);
    pid_t pid = s->pid;
    pthread_mutex_unlock(&s->lock);
    return pid;
}

static void tell(signer *s, const char *event, const char *detail)
{
    if (s->on_event != NULL)
        s->on_event(s->event_ctx, event, detail);
}

/* The process is gone or cannot be trusted: collect it, say so, start a
 * new one for the next request. Under the lock. */
static int lost(signer *s, const ecl_err *why, ecl_err *err)
{
    char how[128], detail[ECL_ERR_MSG_MAX + 160];
    reap(s, how, sizeof(how));
    snprintf(detail, sizeof(detail), "%s (%s)", how, why->msg);
    tell(s, "died", detail);
    ecl_err restart = {0};
    if (start_process(s, &restart) == 0) {
        snprintf(detail, sizeof(detail), "pid %ld", (long)s->pid);
        tell(s, "restarted", detail);
    } else {
        tell(s, "restart-failed", restart.msg);
    }
    return ecl_fail(err, ECL_E_UNAVAILABLE, "the site's signer process %s; nothing was signed",
                    how);
}

/* One request and its answer of exactly `want` bytes. */
static int request(signer *s, uint32_t op, const void *msg, size_t len, unsigned char *out,
                   size_t want, ecl_err *err)
{
    if (s->fd < 0)
        return ecl_fail(err, ECL_E_UNAVAILABLE,
                        "the site's signer process is not running; nothing was signed");
    if (signer_io_write(s->fd, op, msg, len) != 0) {
        ecl_err why = {0};
        ecl_fail(&why, ECL_E_UNAVAILABLE, "its socket is closed");
        return lost(s, &why, err);
    }
    uint32_t code = 0;
    size_t got = 0;
    char reply[ECL_ERR_MSG_MAX];
    ecl_err why = {0};
    int r = signer_io_read(s->fd, &code, reply, sizeof(reply) - 1, &got, SIGNER_TIMEOUT_MS, &why);
    if (r == -2)
        ecl_fail(&why, ECL_E_UNAVAILABLE, "it closed its socket");
    if (r != 0 || (code == 0 && got != want))
        return lost(s, &why, err);
    if (code != 0) {
        reply[got] = '\0';
        return ecl_fail(err, code < ECL_E_INTERNAL ? (ecl_code)code : ECL_E_INTERNAL, "%s", reply);
    }
    memcpy(out, reply, want);
    return 0;
}

int signer_sign(signer *s, signer_kind kind, const void *msg, size_t len,
                unsigned char sig[crypto_sign_BYTES], ecl_err *err)
{
    if (!signer_kind_valid((uint32_t)kind))
        return ecl_fail(err, ECL_E_USAGE, "signer: unknown document kind %d", (int)kind);
    if (len > SIGNER_MAX_PAYLOAD)
        return ecl_fail(err, ECL_E_LIMIT, "signer: %zu bytes is more than a document may be", len);
    pthread_mutex_lock(&s->lock);
    int rc = s->is_local ? signer_keys_sign(&s->local, kind, msg, len, sig, err)
                         : request(s, kind, msg, len, sig, crypto_sign_BYTES, err);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int signer_sign_message(signer *s, signer_kind kind, const ProtobufCMessage *body,
                        ProtobufCBinaryData *bytes, ProtobufCBinaryData *sig, ecl_err *err)
{
    size_t len = protobuf_c_message_get_packed_size(body);
    uint8_t *b = malloc(len ? len : 1), *g = malloc(crypto_sign_BYTES);
    if (b == NULL || g == NULL) {
        free(b);
        free(g);
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    }
    protobuf_c_message_pack(body, b);
    if (signer_sign(s, kind, b, len, g, err) != 0) {
        free(b);
        free(g);
        return -1;
    }
    bytes->data = b;
    bytes->len = len;
    sig->data = g;
    sig->len = crypto_sign_BYTES;
    return 0;
}

int signer_local_stage(signer *s, const site_key *next, ecl_err *err)
{
    if (!s->is_local)
        return ecl_fail(err, ECL_E_USAGE, "signer: only a local signer takes a given next key");
    pthread_mutex_lock(&s->lock);
    int rc = signer_keys_stage(&s->local, next, err);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int signer_rotate_prepare(signer *s, unsigned char new_pk[crypto_sign_PUBLICKEYBYTES], ecl_err *err)
{
    pthread_mutex_lock(&s->lock);
    int rc = s->is_local ? signer_keys_rotate_prepare(&s->local, new_pk, err)
                         : request(s, SIGNER_OP_ROTATE_PREPARE, NULL, 0, new_pk,
                                   crypto_sign_PUBLICKEYBYTES, err);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int signer_rotate_commit(signer *s, uint64_t retired_sequence, ecl_err *err)
{
    pthread_mutex_lock(&s->lock);
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    int rc;
    if (s->is_local) {
        rc = signer_keys_rotate_commit(&s->local, retired_sequence, err);
        if (rc == 0)
            memcpy(pk, s->local.current->public_key, sizeof(pk));
    } else {
        rc = request(s, SIGNER_OP_ROTATE_COMMIT, &retired_sequence, sizeof(retired_sequence), pk,
                     sizeof(pk), err);
    }
    if (rc == 0)
        memcpy(s->public_key, pk, sizeof(pk));
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int signer_checkpoint_note(signer *s, uint64_t size, const uint8_t root[32], char *out, size_t cap,
                           size_t *len, size_t *text_len, ecl_err *err)
{
    char origin[ECL_CHECKPOINT_ORIGIN_MAX + 1];
    unsigned char pk[crypto_sign_PUBLICKEYBYTES], sig[crypto_sign_BYTES];
    if (s->site == NULL)
        return ecl_fail(err, ECL_E_PRECONDITION,
                        "signer: no site id was given, so no checkpoint note is made");
    if (ecl_audit_origin(s->site, origin, sizeof(origin), err) != 0 ||
        ecl_checkpoint_format(origin, size, root, out, cap, text_len, err) != 0)
        return -1;
    signer_public_key(s, pk);
    if (signer_sign(s, SIGNER_CHECKPOINT_NOTE, out, *text_len, sig, err) != 0)
        return -1;
    *len = *text_len;
    /* checks the signature with pk: a rotation in between fails here */
    return ecl_note_append_signature(out, cap, len, *text_len, origin, pk, sig, err);
}

int signer_cosignature_line(signer *s, const char *ckpt, size_t len, uint64_t time, char *line,
                            size_t cap, size_t *line_len, ecl_err *err)
{
    char name[ECL_NOTE_NAME_MAX + 1], msg[ECL_COSIG_MESSAGE_MAX];
    char note[ECL_CHECKPOINT_MAX + SIGNER_NOTE_MAX];
    unsigned char pk[crypto_sign_PUBLICKEYBYTES], sig[crypto_sign_BYTES];
    size_t mlen = 0;
    if (s->site == NULL)
        return ecl_fail(err, ECL_E_PRECONDITION,
                        "signer: no site id was given, so nothing is cosigned");
    if (ecl_witness_name(s->site, name, sizeof(name), err) != 0 ||
        ecl_cosig_message(ckpt, len, time, msg, sizeof(msg), &mlen, err) != 0)
        return -1;
    signer_public_key(s, pk);
    if (signer_sign(s, SIGNER_COSIGNATURE, msg, mlen, sig, err) != 0)
        return -1;
    /* the line as it follows the text and the blank line of a note */
    size_t n = len;
    memcpy(note, ckpt, len);
    if (ecl_note_append_cosignature(note, sizeof(note), &n, len, name, pk, time, sig, err) != 0)
        return -1;
    if (n - len - 1 > cap)
        return ecl_fail(err, ECL_E_LIMIT, "signer: a cosignature line of %zu bytes does not fit",
                        n - len - 1);
    memcpy(line, note + len + 1, n - len - 1);
    *line_len = n - len - 1;
    return 0;
}
