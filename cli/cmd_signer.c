/* cmd_signer.c - `ecluse signer`: the process that holds the site key,
 * started by the gateway (site/signer.h); not for people to run. */
#include <stdio.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/options.h"
#include "site/signer.h"

static int run_signer(int argc, char **argv, ecl_err *err)
{
    static const struct option opts[] = {
        {"fd", required_argument, 0, 'f'},
        {"key", required_argument, 0, 'k'},
        {"site", required_argument, 0, 's'},
        {0, 0, 0, 0},
    };
    long fd = -1;
    const char *key = NULL, *site = NULL;
    int c;
    while ((c = cli_getopt(argc, argv, opts, err)) != -1) {
        if (c == 'f') {
            if (cli_parse_long("--fd", optarg, 3, 1023, &fd, err) != 0)
                return -1;
        } else if (c == 'k') {
            key = optarg;
        } else if (c == 's') {
            site = optarg;
        } else {
            return -1;
        }
    }
    if (cli_expect_positionals(argc, argv, 0, "", err) != 0)
        return -1;
    if (fd < 0 || key == NULL)
        return ecl_fail(err, ECL_E_USAGE, "--fd N and --key FILE are required");
    struct stat st;
    if (fstat((int)fd, &st) != 0 || !S_ISSOCK(st.st_mode))
        return ecl_fail(err, ECL_E_USAGE,
                        "--fd %ld is not a socket: the signer is started by the gateway", fd);
    if (signer_main((int)fd, key, site) != 0)
        return ecl_fail(err, ECL_E_INPUT, "%s: the signer could not serve with this key", key);
    return 0;
}

const cli_command cli_signer = {
    "signer",
    "(started by the gateway) the process that alone holds the site key",
    "Usage: ecluse signer --fd N --key FILE [--site ID]\n"
    "\n"
    "The gateway starts this process of its own binary when it starts, and\n"
    "again if it dies. It alone opens the site's signing key and keeps it in\n"
    "locked memory; it signs, over the socket on descriptor N, only the\n"
    "documents a site signs (catalog, grant, attestation, checkpoint, peering\n"
    "bundle, key rotation; with --site ID also the site's C2SP checkpoint\n"
    "notes and its cosignatures as a witness), and exits when the gateway\n"
    "closes the socket.\n"
    "There is no reason to run it by hand (docs/design.md, \"Processes\").\n",
    run_signer,
};
