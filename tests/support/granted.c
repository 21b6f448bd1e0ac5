#include "tests/support/granted.h"

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "federation/state.h"

/* 0 when the site holds no dataset `id`. */
static int held(const char *site_dir, const char *id, grant_dataset *out)
{
    char dir[PATH_MAX + 16];
    snprintf(dir, sizeof(dir), "%s/data/state", site_dir);
    fed_state *st = NULL;
    ecl_err err;
    if (fed_state_open_readonly(dir, &st, &err) != 0)
        fail_msg("open %s: %s", dir, err.msg);
    unsigned char *entry = NULL;
    size_t len = 0;
    int rc = fed_state_get_dataset(st, id, &entry, &len, &err);
    fed_state_close(st);
    if (rc != 0 && err.code == ECL_E_NOT_FOUND)
        return 0;
    if (rc != 0)
        fail_msg("dataset %s in %s: %s", id, dir, err.msg);
    rc = grant_dataset_of(entry, len, out, &err);
    free(entry);
    if (rc != 0)
        fail_msg("dataset %s: %s", id, err.msg);
    return 1;
}

void tg_dataset(const char *site_dir, const char *id, grant_dataset *out)
{
    if (!held(site_dir, id, out))
        fail_msg("site %s holds no dataset %s", site_dir, id);
}

int tg_bind(const char *site_dir, Ecluse__V1__GrantBody *body, grant_dataset *d)
{
    if (!held(site_dir, body->dataset, d))
        return 0;
    grant_bind_dataset(body, d);
    return 1;
}
