/* exit_codes.c - the one place where error categories become exit codes. */
#include <stdio.h>

#include "cli/cli.h"

int cli_exit_code(ecl_code code)
{
    switch (code) {
    case ECL_OK:
        return 0;
    case ECL_E_USAGE:
        return 2;
    case ECL_E_INPUT:
        return 3;
    case ECL_E_IO:
        return 4;
    case ECL_E_NOT_FOUND:
        return 5;
    case ECL_E_EXISTS:
        return 6;
    case ECL_E_AUTH:
    case ECL_E_DENIED:
        return 7;
    case ECL_E_UNAVAILABLE:
        return 8;
    case ECL_E_PRECONDITION:
        return 9;
    case ECL_E_CRYPTO:
        return 10;
    case ECL_E_LIMIT:
        return 11;
    case ECL_E_UNIMPLEMENTED:
        return 12;
    case ECL_E_INTERNAL:
        return 1;
    }
    return 1;
}

int cli_report(const char *words, const ecl_err *err)
{
    fprintf(stderr, "ecluse %s: error: %s\n", words, err->msg);
    return cli_exit_code(err->code);
}
