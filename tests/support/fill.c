/* fill.c - fill an audit trail to the last byte (fill.h). */
#include "tests/support/fill.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "audit/audit.h"

#define PAD_MAX    60000u
#define ROUNDS_MAX 20

static int append_padded(audit_log *log, const char *actor, char *pad, size_t size, ecl_err *err)
{
    memset(pad, 'x', size - 1);
    pad[size - 1] = '\0';
    json_t *detail = json_pack("{s:s}", "pad", pad);
    assert_non_null(detail);
    audit_entry e = {0};
    e.kind = AUDIT_KIND_ADMIN;
    e.actor = actor;
    e.detail = detail;
    int rc = audit_append(log, &e, NULL, err);
    json_decref(detail);
    return rc;
}

size_t th_fill_audit(const char *dir, size_t map_bytes, const char *actor)
{
    char *pad = malloc(PAD_MAX);
    assert_non_null(pad);
    audit_options o = {map_bytes, 0, 0};
    size_t appended = 0;
    for (int round = 0; round < ROUNDS_MAX; round++) {
        audit_log *log = NULL;
        ecl_err err;
        assert_int_equal(audit_open(dir, &o, &log, &err), 0);
        size_t before = appended;
        for (size_t size = PAD_MAX; size >= 1; size /= 10) {
            while (append_padded(log, actor, pad, size, &err) == 0)
                appended++;
            assert_int_equal(err.code, ECL_E_UNAVAILABLE);
        }
        audit_close(log);
        if (appended == before && round > 0)
            break; /* a fresh open found no room at all: full */
        assert_true(round < ROUNDS_MAX - 1);
    }
    free(pad);
    assert_true(appended > 0);
    return appended;
}
