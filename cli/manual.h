/*
 * manual.h - man pages from the command table that prints --help.
 *
 * ecluse(1) lists the command groups (the first word of each command:
 * site, pki, dataset, ...), the global options, exit codes and
 * environment; ecluse-GROUP(1) holds every command of GROUP with its help
 * text exactly as `ecluse GROUP CMD --help` prints it. So the manual and
 * --help cannot drift apart: both are printed from cli_command.help.
 */
#ifndef ECLUSE_CLI_MANUAL_H
#define ECLUSE_CLI_MANUAL_H

#include <stddef.h>
#include <stdio.h>

#include "cli/cli.h"

/* ecluse(1), in roff (man macros). */
void cli_man_main(FILE *out, const cli_command *const *commands, size_t count);

/* ecluse-GROUP(1); -1 (printing nothing) when no command starts with
 * GROUP. */
int cli_man_group(FILE *out, const cli_command *const *commands, size_t count, const char *group);

#endif
