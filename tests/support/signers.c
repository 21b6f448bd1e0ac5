#include "tests/support/signers.h"

#include <stdio.h>
#include <stdlib.h>

signer *ts_signer(const site_key *key)
{
    signer *s = NULL;
    ecl_err err = {0};
    if (signer_local(key, &s, &err) != 0) {
        fprintf(stderr, "ts_signer: %s\n", err.msg);
        abort();
    }
    return s;
}
