/*
 * notify_test.c - the gateway speaks systemd's notify protocol (Type=notify).
 *
 * The test binds a unix datagram socket, as systemd does, and starts the
 * gateway with NOTIFY_SOCKET naming it:
 *   - READY=1 arrives, and at that moment the gateway accepts connections
 *     and answers a health check;
 *   - SIGHUP gives RELOADING=1 (with MONOTONIC_USEC), then READY=1;
 *   - SIGTERM gives STOPPING=1, and the gateway exits 0.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "client/client.h"
#include "proto/ecluse.pb-c.h"
#include "rpc/client.h"
#include "tests/support/harness.h"

/* The next message on the socket (NUL-terminated), waiting up to 20 s
 * (scaled); fails the test if none comes. */
static void next_message(int fd, char *msg, size_t cap)
{
    struct pollfd p = {fd, POLLIN, 0};
    int ms = (int)(20000 * th_time_scale());
    if (poll(&p, 1, ms) != 1)
        fail_msg("no notify message within %d ms", ms);
    ssize_t n = recv(fd, msg, cap - 1, 0);
    assert_true(n > 0);
    msg[n] = '\0';
}

/* 1 if `msg` has the line `line` (messages are newline-separated
 * assignments). */
static int has_line(const char *msg, const char *line)
{
    size_t len = strlen(line);
    for (const char *p = msg; p != NULL; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, line, len) == 0 && (p[len] == '\n' || p[len] == '\0'))
            return 1;
    return 0;
}

/* Messages until one has `line`; fails the test if another message has
 * `forbidden` first. */
static void expect(int fd, const char *line, const char *forbidden, char *msg, size_t cap)
{
    for (;;) {
        next_message(fd, msg, cap);
        if (has_line(msg, line))
            return;
        if (forbidden != NULL && has_line(msg, forbidden))
            fail_msg("'%s' came before '%s': %s", forbidden, line, msg);
    }
}

static int connects(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(fd);
    return ok;
}

/* A health check over mutual TLS succeeds (a deadline that allows for a
 * gateway under valgrind). */
static void answers_health_check(const char *identity)
{
    ecl_client *c = NULL;
    ecl_err err;
    assert_int_equal(ecl_client_open(identity, NULL, &c, &err), 0);
    Ecluse__V1__HealthCheckRequest req = ECLUSE__V1__HEALTH_CHECK_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    int rc = rpc_unary(ecl_client_channel(c), "/ecluse.v1.Health/Check", &req.base,
                       &ecluse__v1__health_check_response__descriptor, &resp,
                       (int)(15000 * th_time_scale()), &err);
    if (rc != 0)
        fail_msg("READY=1 came, but a health check fails: %s", err.msg);
    protobuf_c_message_free_unpacked(resp, NULL);
    ecl_client_close(c);
}

static void test_ready_reloading_and_stopping_reach_the_notify_socket(void **state)
{
    (void)state;
    char root[PATH_MAX - 200], researcher[PATH_MAX], sock_path[64];
    th_tmpdir(root, sizeof(root));
    th_site fi;
    th_site_create(&fi, root, "fi", "FI");
    th_issue(&fi, "researcher", "alice", researcher, sizeof(researcher));

    /* A unix socket path must fit in sun_path: use a short one. */
    snprintf(sock_path, sizeof(sock_path), "/tmp/ecluse-notify-%d.sock", (int)getpid());
    unlink(sock_path);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", sock_path);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    assert_int_equal(setenv("NOTIFY_SOCKET", sock_path, 1), 0);

    th_gateway_spawn(&fi, NULL);
    char msg[1024];
    expect(fd, "READY=1", "STOPPING=1", msg, sizeof(msg));
    /* Ready means serving: the port takes a connection and a call now. */
    if (!connects(fi.port))
        fail_msg("READY=1 came, but port %d does not accept connections", fi.port);
    if (!th_file_contains(fi.log, "event=gateway.ready"))
        fail_msg("READY=1 came before the gateway logged gateway.ready");
    answers_health_check(researcher);

    assert_int_equal(kill(fi.pid, SIGHUP), 0);
    expect(fd, "RELOADING=1", "READY=1", msg, sizeof(msg));
    if (strstr(msg, "MONOTONIC_USEC=") == NULL)
        fail_msg("RELOADING=1 without MONOTONIC_USEC: %s", msg);
    expect(fd, "READY=1", "STOPPING=1", msg, sizeof(msg));

    assert_int_equal(kill(fi.pid, SIGTERM), 0);
    expect(fd, "STOPPING=1", NULL, msg, sizeof(msg));
    assert_int_equal(th_gateway_stop(&fi, NULL), 0);
    close(fd);
    unlink(sock_path);
    unsetenv("NOTIFY_SOCKET");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ready_reloading_and_stopping_reach_the_notify_socket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
