/*
 * cli.h - the `ecluse` command: one binary, subcommands.
 *
 * Each subcommand is a cli_command in the table of main.c: its words
 * ("site init"), a one-line summary, its full help (usage, options,
 * examples) and the function that runs it. `ecluse help` and `--help`
 * print from that table, so the help cannot drift from the commands.
 *
 * Exit codes (docs/cli.md), from the error category in one place:
 *   0 success; 1 internal error; 2 usage; 3 bad input; 4 file or I/O;
 *   5 not found; 6 already exists; 7 authentication/permission;
 *   8 unavailable (gateway/peer/audit); 9 refused by policy or precondition;
 *   10 a signature or digest does not verify; 11 a limit was reached.
 */
#ifndef ECLUSE_CLI_CLI_H
#define ECLUSE_CLI_CLI_H

#include "common/err.h"

typedef struct cli_command {
    const char *words;                               /* "site init" */
    const char *summary;                             /* one line */
    const char *help;                                /* usage, options and examples */
    int (*run)(int argc, char **argv, ecl_err *err); /* argv[0] is the last word */
} cli_command;

/* Exit status for an error category. */
int cli_exit_code(ecl_code code);

/* Print a failure as "ecluse <words>: error: <message>" on stderr and return
 * its exit status. */
int cli_report(const char *words, const ecl_err *err) ECL_WUR;

/* Commands, one file each. */
extern const cli_command cli_site_init;
extern const cli_command cli_pki_issue;
extern const cli_command cli_pki_renew_gateway;
extern const cli_command cli_pki_revoke;
extern const cli_command cli_policy_check;
extern const cli_command cli_gateway;
extern const cli_command cli_signer;
extern const cli_command cli_health;
extern const cli_command cli_peer_export;
extern const cli_command cli_peer_add;
extern const cli_command cli_peer_list;
extern const cli_command cli_peer_remove;
extern const cli_command cli_dataset_add;
extern const cli_command cli_dataset_list;
extern const cli_command cli_dataset_show;
extern const cli_command cli_dataset_remove;
extern const cli_command cli_dataset_erase;
extern const cli_command cli_audit_recipients;
extern const cli_command cli_catalog_list;
extern const cli_command cli_catalog_search;
extern const cli_command cli_catalog_show;
extern const cli_command cli_catalog_refresh;
extern const cli_command cli_catalog_export;
extern const cli_command cli_key_rotate;
extern const cli_command cli_access_request;
extern const cli_command cli_access_check;
extern const cli_command cli_fetch;
extern const cli_command cli_fetches;
extern const cli_command cli_fetches_erase_rows;
extern const cli_command cli_audit_query;
extern const cli_command cli_audit_export;
extern const cli_command cli_audit_verify;
extern const cli_command cli_audit_processing;
extern const cli_command cli_audit_checkpoint;
extern const cli_command cli_audit_proof;
extern const cli_command cli_audit_receipt_verify;
extern const cli_command cli_notices;
extern const cli_command cli_notices_ack;
extern const cli_command cli_notices_apply;
extern const cli_command cli_audit_notices;

#endif
