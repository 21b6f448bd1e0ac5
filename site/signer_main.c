/* signer_main.c - the signer process: holds the key, answers requests on
 * one socket, and exits when the gateway closes it (see signer.h). */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "site/signer_io.h"
#include "site/signer_keys.h"

/* Nothing but stdin/out/err and the request socket stays open: the
 * signer's whole world is its key and its one peer. */
static void close_other_fds(int keep)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return;
    int self = dirfd(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char *end = NULL;
        long fd = strtol(e->d_name, &end, 10);
        if (end != e->d_name && *end == '\0' && fd > 2 && fd != keep && fd != self)
            close((int)fd);
    }
    closedir(d);
}

static int reply_error(int fd, const ecl_err *err)
{
    size_t n = strnlen(err->msg, sizeof(err->msg));
    return signer_io_write(fd, (uint32_t)(err->code == ECL_OK ? ECL_E_INTERNAL : err->code),
                           err->msg, n);
}

/* One request; 0 to go on, -1 when the conversation is over. */
static int serve_one(int fd, signer_keys *keys, unsigned char *buf)
{
    uint32_t kind = 0;
    size_t len = 0;
    ecl_err err = {0};
    int got = signer_io_read(fd, &kind, buf, SIGNER_MAX_PAYLOAD, &len, -1, &err);
    if (got != 0) {
        if (got == -2) /* the gateway closed its end: a normal stop */
            return -1;
        ecl_log(ECL_LOG_ERROR, "signer.refused", "msg", err.msg, NULL);
        return -1;
    }
    unsigned char out[crypto_sign_BYTES];
    size_t out_len = 0;
    int rc;
    if (kind == SIGNER_OP_ROTATE_PREPARE) {
        rc = signer_keys_rotate_prepare(keys, out, &err);
        out_len = crypto_sign_PUBLICKEYBYTES;
    } else if (kind == SIGNER_OP_ROTATE_COMMIT) {
        uint64_t sequence = 0;
        if (len != sizeof(sequence)) {
            rc = ecl_fail(&err, ECL_E_INPUT, "signer: a commit carries 8 bytes, not %zu", len);
        } else {
            memcpy(&sequence, buf, sizeof(sequence));
            rc = signer_keys_rotate_commit(keys, sequence, &err);
        }
        memcpy(out, keys->current->public_key, crypto_sign_PUBLICKEYBYTES);
        out_len = crypto_sign_PUBLICKEYBYTES;
    } else if (!signer_kind_valid(kind)) {
        /* Not a request this signer has: the other end is not the gateway
         * it expects. Stop talking. */
        ecl_log(ECL_LOG_ERROR, "signer.refused", "msg", "unknown request kind", NULL);
        return -1;
    } else {
        rc = signer_keys_sign(keys, kind, buf, len, out, &err);
        out_len = crypto_sign_BYTES;
    }
    sodium_memzero(buf, len);
    int sent = rc == 0 ? signer_io_write(fd, 0, out, out_len) : reply_error(fd, &err);
    return sent == 0 ? 0 : -1;
}

int signer_main(int fd, const char *key_path, const char *site)
{
    /* Not dumpable: no core file, no ptrace by the gateway's user. A
     * terminal's ^C goes to the gateway, which stops the signer by closing
     * the socket after its last signature. */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    close_other_fds(fd);

    signer_keys keys;
    ecl_err err = {0};
    if (signer_keys_load(&keys, key_path, &err) != 0 ||
        (site != NULL && signer_keys_set_site(&keys, site, &err) != 0)) {
        signer_keys_wipe(&keys);
        reply_error(fd, &err);
        close(fd);
        return 1;
    }
    if (signer_io_write(fd, 0, keys.current->public_key, crypto_sign_PUBLICKEYBYTES) != 0) {
        signer_keys_wipe(&keys);
        return 1;
    }
    unsigned char *buf = sodium_malloc(SIGNER_MAX_PAYLOAD);
    if (buf == NULL) {
        signer_keys_wipe(&keys);
        return 1;
    }
    while (serve_one(fd, &keys, buf) == 0)
        ;
    sodium_free(buf);
    signer_keys_wipe(&keys);
    close(fd);
    return 0;
}
