/*
 * log_escape_test.c - what a caller sends cannot forge the gateway's log.
 *
 * A request whose dataset id carries a carriage return and a terminal
 * colour escape (ESC[31m) is refused, and the gateway's log line naming it
 * shows those bytes as \x0d and \x1b: no raw control byte reaches the file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client/client.h"
#include "proto/ecluse.pb-c.h"
#include "rpc/client.h"
#include "tests/support/harness.h"

/* The bytes a hostile caller puts in a request id. */
#define HOSTILE_ID      "fi/x\r\x1b[31mforged event=ok\x7f"
#define HOSTILE_ESCAPED "fi/x\\x0d\\x1b[31mforged event=ok\\x7f"

static int has_control_byte(const char *text, char *which)
{
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++)
        if ((*p < 0x20 && *p != '\n') || *p == 0x7f) {
            *which = (char)*p;
            return 1;
        }
    return 0;
}

static void test_control_bytes_of_a_request_are_escaped_in_the_log(void **state)
{
    (void)state;
    char root[PATH_MAX - 200], admin[PATH_MAX], researcher[PATH_MAX];
    th_tmpdir(root, sizeof(root));
    th_site fi;
    th_site_create(&fi, root, "fi", "FI");
    th_issue(&fi, "admin", "adm", admin, sizeof(admin));
    th_issue(&fi, "researcher", "alice", researcher, sizeof(researcher));
    th_gateway_start(&fi);

    ecl_client *c = NULL;
    ecl_err err;
    assert_int_equal(ecl_client_open(researcher, NULL, &c, &err), 0);
    Ecluse__V1__AccessRequest req = ECLUSE__V1__ACCESS_REQUEST__INIT;
    req.dataset = HOSTILE_ID;
    req.purpose = "HMB\r\x1b[0m";
    req.lawful_basis = "art6-1-e";
    req.job_country = "FI";
    ProtobufCMessage *resp = NULL;
    int rc = rpc_unary(ecl_client_channel(c), "/ecluse.v1.Access/Check", &req.base,
                       &ecluse__v1__access_decision__descriptor, &resp, 15000, &err);
    if (rc == 0)
        protobuf_c_message_free_unpacked(resp, NULL);
    assert_int_not_equal(rc, 0); /* no such dataset */
    ecl_client_close(c);

    assert_int_equal(th_gateway_stop(&fi, NULL), 0);
    char *log = th_read(fi.log);
    assert_non_null(log);
    char which = 0;
    if (has_control_byte(log, &which))
        fail_msg("the log holds a raw control byte 0x%02x:\n%s", (unsigned char)which, log);
    if (strstr(log, HOSTILE_ESCAPED) == NULL)
        fail_msg("the log does not name the refused id as %s:\n%s", HOSTILE_ESCAPED, log);
    /* Each line is still one event: the forged "event=ok" stayed inside a
     * quoted value. */
    assert_null(strstr(log, "\" event=ok"));
    free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_control_bytes_of_a_request_are_escaped_in_the_log),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
