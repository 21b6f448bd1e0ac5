/* identity.c - fuzz target: SPIFFE ids from client certificates
 * (identity_parse_spiffe), as the gateway reads every caller's URI SAN. */
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "site/identity.h"

int fz_identity(const uint8_t *data, size_t size)
{
    char *uri = fz_strndup(data, size);
    ecl_identity id;
    ecl_err err;
    ecl_err_clear(&err);
    int ok =
        FZ_CHECK("identity_parse_spiffe", identity_parse_spiffe(uri, &id, &err), &err, ECL_E_AUTH);
    if (ok) {
        /* What was accepted is one of the four forms, and builds back to itself. */
        if (!site_id_is_valid(id.site))
            fz_fail("accepted '%s' with invalid site '%s'", uri, id.site);
        if (id.role != ECL_ROLE_GATEWAY && !person_name_is_valid(id.name))
            fz_fail("accepted '%s' with invalid name '%s'", uri, id.name);
        ecl_identity again;
        if (identity_make(id.site, id.role, id.name, &again, &err) != 0)
            fz_fail("accepted '%s' but identity_make refuses its parts: %s", uri, err.msg);
        if (strcmp(again.spiffe, uri) != 0 || strcmp(id.spiffe, uri) != 0)
            fz_fail("accepted '%s' but it rebuilds as '%s'", uri, again.spiffe);
    }
    free(uri);
    return ok;
}
