/*
 * version_info.h - what `ecluse --version` prints: the release, the commit
 * and date of the build (Bazel stamping, scripts/workspace-status.sh), and
 * the versions of the libraries this process runs with, as each library
 * reports itself at run time (a system upgrade changes them without a
 * rebuild).
 */
#ifndef ECLUSE_CLI_VERSION_INFO_H
#define ECLUSE_CLI_VERSION_INFO_H

#include <stdio.h>

void cli_print_version(FILE *out);

#endif
