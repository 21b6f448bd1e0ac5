/*
 * completion.h - shell completion from the command table that prints --help.
 *
 * `ecluse completion bash` prints a bash script defining _ecluse and
 * registering it (`complete -o default -F _ecluse ecluse`): the first word
 * completes to a command group (or help, completion, the global options),
 * the next words to the commands of that group, and a word starting with
 * '-' after a command to the options its help lists. Anything else falls
 * back to file names.
 */
#ifndef ECLUSE_CLI_COMPLETION_H
#define ECLUSE_CLI_COMPLETION_H

#include <stddef.h>
#include <stdio.h>

#include "cli/cli.h"

/* -1 (printing nothing) for a shell other than "bash". */
int cli_completion(FILE *out, const char *shell, const cli_command *const *commands, size_t count);

#endif
