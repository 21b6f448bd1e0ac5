/*
 * version_test.c - `ecluse --version` says what a bug report needs.
 *
 * Its lines: the release, the commit (hex, or "unknown" when built from a
 * tree without git), the build date (ISO 8601, UTC), and the version each
 * library reports at run time, compared here with what the same libraries
 * say in this process.
 */
#include <ctype.h>
#include <grpc/grpc.h>
#include <lmdb.h>
#include <openssl/crypto.h>
#include <protobuf-c/protobuf-c.h>
#include <setjmp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/version.h"
#include "tests/support/harness.h"

/* The value of the line "LABEL: value" in `out` (copied to `value`). */
static void field(const char *out, const char *label, char *value, size_t cap)
{
    char key[64];
    snprintf(key, sizeof(key), "\n%s:", label);
    const char *p = strstr(out, key);
    if (p == NULL)
        fail_msg("no '%s:' line in ecluse --version:\n%s", label, out);
    p += strlen(key);
    while (*p == ' ')
        p++;
    size_t n = strcspn(p, "\n");
    if (n >= cap)
        n = cap - 1;
    memcpy(value, p, n);
    value[n] = '\0';
}

static void test_version_names_commit_date_and_libraries(void **state)
{
    (void)state;
    char out[4096], value[256], first[64];
    assert_int_equal(th_run(out, sizeof(out), "--version", NULL), 0);
    snprintf(first, sizeof(first), "ecluse %s\n", ECLUSE_VERSION);
    if (strncmp(out, first, strlen(first)) != 0)
        fail_msg("the first line is not '%s':\n%s", "ecluse " ECLUSE_VERSION, out);

    field(out, "commit", value, sizeof(value));
    int hex = strlen(value) >= 7;
    for (const char *p = value; *p; p++)
        hex = hex && isxdigit((unsigned char)*p) && !isupper((unsigned char)*p);
    if (!hex && strcmp(value, "unknown") != 0)
        fail_msg("the commit is neither a hex commit nor 'unknown': '%s'", value);

    field(out, "built", value, sizeof(value));
    int y, mo, d, h, mi, s;
    char z = 0;
    if (strcmp(value, "unknown") != 0 &&
        (sscanf(value, "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &s, &z) != 7 ||
         z != 'Z' || y < 2026))
        fail_msg("the build date is not an ISO 8601 UTC time: '%s'", value);

    field(out, "gRPC core", value, sizeof(value));
    assert_string_equal(value, grpc_version_string());
    field(out, "OpenSSL", value, sizeof(value));
    assert_string_equal(value, OpenSSL_version(OPENSSL_VERSION));
    field(out, "LMDB", value, sizeof(value));
    assert_string_equal(value, mdb_version(NULL, NULL, NULL));
    field(out, "libsodium", value, sizeof(value));
    assert_string_equal(value, sodium_version_string());
    field(out, "protobuf-c", value, sizeof(value));
    assert_string_equal(value, protobuf_c_version());

    /* `ecluse version` is the same. */
    char again[4096];
    assert_int_equal(th_run(again, sizeof(again), "version", NULL), 0);
    assert_string_equal(again, out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_names_commit_date_and_libraries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
