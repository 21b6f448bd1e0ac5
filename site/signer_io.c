/* signer_io.c - framed messages on the signer's socketpair (signer_io.h). */
#include "site/signer_io.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static int send_all(int fd, const void *p, size_t n)
{
    const unsigned char *b = p;
    while (n > 0) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

int signer_io_write(int fd, uint32_t code, const void *payload, size_t len)
{
    uint32_t head[2] = {code, (uint32_t)len};
    if (len > UINT32_MAX || send_all(fd, head, sizeof(head)) != 0)
        return -1;
    return len == 0 ? 0 : send_all(fd, payload, len);
}

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Read exactly n bytes by `deadline` (< 0: none). 1 read, 0 EOF before the
 * first byte, -1 failure. */
static int recv_all(int fd, void *p, size_t n, long long deadline, ecl_err *err)
{
    unsigned char *b = p;
    size_t got = 0;
    while (got < n) {
        if (deadline >= 0) {
            long long left = deadline - now_ms();
            struct pollfd pfd = {fd, POLLIN, 0};
            int ready = left > 0 ? poll(&pfd, 1, (int)left) : 0;
            if (ready < 0 && errno == EINTR)
                continue;
            if (ready <= 0)
                return ecl_fail(err, ECL_E_UNAVAILABLE, "the signer did not answer in time");
        }
        ssize_t r = recv(fd, b + got, n - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0 && got == 0)
            return 0;
        if (r <= 0)
            return ecl_fail(err, ECL_E_UNAVAILABLE, "the signer's socket closed mid-message%s%s",
                            r < 0 ? ": " : "", r < 0 ? strerror(errno) : "");
        got += (size_t)r;
    }
    return 1;
}

int signer_io_read(int fd, uint32_t *code, void *buf, size_t cap, size_t *len, int timeout_ms,
                   ecl_err *err)
{
    long long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    uint32_t head[2];
    int r = recv_all(fd, head, sizeof(head), deadline, err);
    if (r == 0)
        return -2;
    if (r < 0)
        return -1;
    if (head[1] > cap)
        return ecl_fail(err, ECL_E_LIMIT, "a signer message of %u bytes (at most %zu)", head[1],
                        cap);
    if (head[1] > 0 && recv_all(fd, buf, head[1], deadline, err) != 1) {
        if (err->code == ECL_OK)
            ecl_fail(err, ECL_E_UNAVAILABLE, "the signer's socket closed mid-message");
        return -1;
    }
    *code = head[0];
    *len = head[1];
    return 0;
}
