#include "cli/options.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int first_call = 1;

int cli_getopt(int argc, char **argv, const struct option *longopts, ecl_err *err)
{
    if (first_call) {
        optind = 0; /* GNU: re-initialise for this argv */
        opterr = 0;
        first_call = 0;
    }
    /* -o is the one short option: FILE for every command with --output. */
    const char *shortopts = ":";
    for (const struct option *o = longopts; o->name != NULL; o++)
        if (strcmp(o->name, "output") == 0 && o->val == 'o')
            shortopts = ":o:";
    int idx = -1;
    int c = getopt_long(argc, argv, shortopts, longopts, &idx);
    if (c == -1) {
        first_call = 1;
        return -1;
    }
    if (c == '?') {
        first_call = 1;
        const char *bad = argv[optind - 1];
        return ecl_fail(err, ECL_E_USAGE, "unknown option '%s' (see --help)", bad), -2;
    }
    if (c == ':') {
        first_call = 1;
        return ecl_fail(err, ECL_E_USAGE, "option '%s' needs a value", argv[optind - 1]), -2;
    }
    return c;
}

int cli_optind(void)
{
    return optind;
}

int cli_expect_positionals(int argc, char **argv, int want, const char *what, ecl_err *err)
{
    int have = argc - optind;
    if (have < want)
        return ecl_fail(err, ECL_E_USAGE, "missing %s (see --help)", what);
    if (have > want)
        return ecl_fail(err, ECL_E_USAGE, "unexpected argument '%s' (see --help)",
                        argv[optind + want]);
    return 0;
}

int cli_parse_long(const char *option, const char *text, long min, long max, long *out,
                   ecl_err *err)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < min || v > max)
        return ecl_fail(err, ECL_E_USAGE, "%s must be a whole number from %ld to %ld, not '%s'",
                        option, min, max, text);
    *out = v;
    return 0;
}
