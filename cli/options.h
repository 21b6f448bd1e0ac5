/*
 * options.h - getopt_long for subcommands, with errors in ecluse's form.
 */
#ifndef ECLUSE_CLI_OPTIONS_H
#define ECLUSE_CLI_OPTIONS_H

#include <getopt.h>

#include "common/err.h"

/* Like getopt_long, from argv[1], silent; returns the option, -1 at the end,
 * or -2 after filling `err` (unknown option, missing argument). */
int cli_getopt(int argc, char **argv, const struct option *longopts, ecl_err *err) ECL_WUR;

/* After the loop: index of the first positional argument. */
int cli_optind(void);

/* ECL_E_USAGE unless exactly `want` positional arguments remain. */
int cli_expect_positionals(int argc, char **argv, int want, const char *what, ecl_err *err) ECL_WUR;

/* A whole number in [min, max] from an option's text. */
int cli_parse_long(const char *option, const char *text, long min, long max, long *out,
                   ecl_err *err) ECL_WUR;

#endif
