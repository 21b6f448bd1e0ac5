/* grant_file.c - fuzz target: grant files as a researcher's client reads
 * them (client_grant_parse; `ecluse fetch --grant FILE`, the Python and C
 * libraries).
 *
 * Input: the file's text.
 * An accepted file holds a Grant with a body and a signature; written back
 * with client_grant_save and read again (client_grant_load), it is the same
 * Grant, byte for byte. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "client/read.h"
#include "fuzz/fuzz.h"

static uint8_t *encode(const Ecluse__V1__Grant *g, size_t *len)
{
    *len = ecluse__v1__grant__get_packed_size(g);
    uint8_t *b = malloc(*len ? *len : 1);
    if (b == NULL)
        fz_fail("out of memory");
    ecluse__v1__grant__pack(g, b);
    return b;
}

int fz_grant_file(const uint8_t *data, size_t size)
{
    Ecluse__V1__Grant *g = NULL;
    ecl_err err;
    ecl_err_clear(&err);
    if (!FZ_CHECK("client_grant_parse",
                  client_grant_parse((const char *)data, size, "fuzz.grant", &g, &err), &err,
                  ECL_E_INPUT, ECL_E_LIMIT))
        return 0;
    if (g == NULL || g->body.len == 0 || g->signature.len == 0)
        fz_fail("a grant without a body or a signature was accepted");
    size_t len, again_len;
    uint8_t *b = encode(g, &len);
    char path[PATH_MAX];
    fz_write_temp("grant", "", 0, path);
    if (client_grant_save(path, g, &err) != 0)
        fz_fail("an accepted grant cannot be saved: %s", err.msg);
    Ecluse__V1__Grant *again = NULL;
    if (client_grant_load(path, &again, &err) != 0)
        fz_fail("a saved grant does not load: %s", err.msg);
    uint8_t *b2 = encode(again, &again_len);
    if (again_len != len || memcmp(b, b2, len) != 0)
        fz_fail("a grant saved and loaded again is not the same grant");
    free(b);
    free(b2);
    ecluse__v1__grant__free_unpacked(again, NULL);
    ecluse__v1__grant__free_unpacked(g, NULL);
    return 1;
}
