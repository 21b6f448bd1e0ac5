/* main.c - `ecluse`: find the subcommand, run it, turn its error into an exit code. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/completion.h"
#include "cli/manual.h"
#include "cli/version_info.h"
#include "common/log.h"
#include "common/version.h"

static const cli_command *const commands[] = {
    &cli_site_init,
    &cli_pki_issue,
    &cli_gateway,
    &cli_health,
    &cli_peer_export,
    &cli_peer_add,
    &cli_peer_list,
    &cli_peer_remove,
    &cli_dataset_add,
    &cli_dataset_list,
    &cli_dataset_show,
    &cli_dataset_remove,
    &cli_dataset_erase,
    &cli_policy_check,
    &cli_catalog_list,
    &cli_catalog_search,
    &cli_catalog_show,
    &cli_catalog_refresh,
    &cli_catalog_export,
    &cli_key_rotate,
    &cli_audit_query,
    &cli_audit_export,
    &cli_audit_verify,
    &cli_audit_processing,
    &cli_audit_recipients,
    &cli_audit_checkpoint,
    &cli_audit_proof,
    &cli_audit_receipt_verify,
    &cli_audit_notices,
    &cli_notices_ack,
    &cli_notices_apply,
    &cli_notices,
    &cli_access_request,
    &cli_access_check,
    &cli_pki_renew_gateway,
    &cli_pki_revoke,
    &cli_fetch,
    &cli_fetches_erase_rows, /* before `fetches`, which its words start with */
    &cli_fetches,
    &cli_signer,
};
#define COMMAND_COUNT (sizeof(commands) / sizeof(commands[0]))

static void print_overview(FILE *out)
{
    fprintf(out,
            "ecluse %s - a federated data-access gateway for AI factories\n\n"
            "Usage: ecluse <command> [options]     ecluse help <command>\n\n"
            "Commands:\n",
            ECLUSE_VERSION);
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        fprintf(out, "  %-16s %s\n", commands[i]->words, commands[i]->summary);
    fprintf(out, "\nEvery command takes --help. Exit codes are listed in docs/cli.md.\n"
                 "Global options, before the command: --log-format json|logfmt.\n"
                 "Also: ecluse --version; ecluse help --man [GROUP] (the man pages);\n"
                 "ecluse completion bash (bash completion).\n");
}

/* How many argv words a command's name takes, if argv starts with it. */
static int match(const cli_command *cmd, int argc, char **argv)
{
    char words[64];
    snprintf(words, sizeof(words), "%s", cmd->words);
    int n = 0;
    char *save = NULL;
    for (char *w = strtok_r(words, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save)) {
        if (n >= argc || strcmp(argv[n], w) != 0)
            return 0;
        n++;
    }
    return n;
}

static const cli_command *find(int argc, char **argv, int *used)
{
    for (size_t i = 0; i < COMMAND_COUNT; i++) {
        int n = match(commands[i], argc, argv);
        if (n > 0) {
            *used = n;
            return commands[i];
        }
    }
    return NULL;
}

/* --json is for the commands whose help offers it (and they print nothing
 * but JSON); another command that would print text anyway refuses it. */
static int refuses_json(const cli_command *cmd, int argc, char **argv)
{
    if (strstr(cmd->help, "--json") != NULL)
        return 0;
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--json") == 0) {
            fprintf(stderr,
                    "ecluse %s: error: --json: this command prints no JSON (see ecluse help %s)\n",
                    cmd->words, cmd->words);
            return 1;
        }
    return 0;
}

static int wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    return 0;
}

static int unknown(int argc, char **argv)
{
    fprintf(stderr, "ecluse: error: unknown command '%s'", argv[0]);
    if (argc > 1 && argv[1][0] != '-')
        fprintf(stderr, " '%s'", argv[1]);
    fprintf(stderr, "\n\n");
    print_overview(stderr);
    return 2;
}

/* Options before the command: `--log-format json|logfmt` (also
 * `--log-format=json`). Returns how many words they took, or -1 after
 * printing what is wrong. */
static int global_options(int argc, char **argv)
{
    int i = 1;
    while (i < argc && strncmp(argv[i], "--log-format", 12) == 0) {
        const char *value = NULL;
        if (argv[i][12] == '=')
            value = argv[i] + 13;
        else if (argv[i][12] == '\0' && i + 1 < argc)
            value = argv[++i];
        else if (argv[i][12] != '\0')
            break; /* some other option: the command's to refuse */
        int format = ecl_log_format_from_name(value);
        if (format < 0) {
            fprintf(stderr, "ecluse: error: --log-format takes json or logfmt, not '%s'\n",
                    value != NULL ? value : "");
            return -1;
        }
        ecl_log_set_format((ecl_log_format)format);
        i++;
    }
    return i - 1;
}

int main(int argc, char **argv)
{
    int globals = global_options(argc, argv);
    if (globals < 0)
        return 2;
    argc -= globals;
    argv += globals;
    if (argc < 2) {
        print_overview(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        print_overview(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        cli_print_version(stdout);
        return 0;
    }
    if (strcmp(argv[1], "completion") == 0) {
        if (argc == 3 && cli_completion(stdout, argv[2], commands, COMMAND_COUNT) == 0)
            return 0;
        fprintf(stderr, "ecluse completion: error: give the shell: ecluse completion bash%s%s%s\n",
                argc > 2 ? " (not '" : "", argc > 2 ? argv[2] : "", argc > 2 ? "')" : "");
        return 2;
    }
    int used = 0;
    if (strcmp(argv[1], "help") == 0) {
        if (argc == 3 && strcmp(argv[2], "--man") == 0) {
            cli_man_main(stdout, commands, COMMAND_COUNT);
            return 0;
        }
        if (argc == 4 && strcmp(argv[2], "--man") == 0) {
            if (cli_man_group(stdout, commands, COMMAND_COUNT, argv[3]) == 0)
                return 0;
            fprintf(stderr, "ecluse help: error: --man: no command group '%s'\n\n", argv[3]);
            print_overview(stderr);
            return 2;
        }
        if (argc == 2) {
            print_overview(stdout);
            return 0;
        }
        const cli_command *cmd = find(argc - 2, argv + 2, &used);
        if (cmd == NULL)
            return unknown(argc - 2, argv + 2);
        fputs(cmd->help, stdout);
        return 0;
    }
    const cli_command *cmd = find(argc - 1, argv + 1, &used);
    if (cmd == NULL)
        return unknown(argc - 1, argv + 1);
    int sub_argc = argc - used;
    char **sub_argv = argv + used;
    if (wants_help(sub_argc, sub_argv)) {
        fputs(cmd->help, stdout);
        return 0;
    }
    if (refuses_json(cmd, sub_argc, sub_argv))
        return 2;
    ecl_err err;
    ecl_err_clear(&err);
    if (cmd->run(sub_argc, sub_argv, &err) != 0)
        return cli_report(cmd->words, &err);
    return 0;
}
