/* cmd_gateway.c - `ecluse gateway`: run a site's gateway. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/options.h"
#include "gateway/gateway.h"

static int run_gateway(int argc, char **argv, ecl_err *err)
{
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'},
        {"check", no_argument, 0, 'n'},
        {0, 0, 0, 0},
    };
    const char *config = NULL;
    int check_only = 0;
    int c;
    while ((c = cli_getopt(argc, argv, opts, err)) != -1) {
        if (c == 'c')
            config = optarg;
        else if (c == 'n')
            check_only = 1;
        else
            return -1;
    }
    if (cli_expect_positionals(argc, argv, 0, "", err) != 0)
        return -1;
    if (config == NULL)
        return ecl_fail(err, ECL_E_USAGE, "--config FILE is required");
    /* The signer is this same binary (`ecluse signer`), found as the kernel
     * knows it, not as argv[0] says. */
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return ecl_fail(err, ECL_E_IO, "cannot find the ecluse binary (/proc/self/exe): %s",
                        strerror(errno));
    exe[n] = '\0';
    gateway gw;
    if (gateway_open(&gw, config, exe, err) != 0)
        return -1;
    int rc = 0;
    if (check_only)
        printf("%s: configuration OK (site %s, %s, listen %s)\n", config, gw.cfg.site,
               gw.cfg.country, gw.cfg.listen);
    else
        rc = gateway_serve(&gw, err);
    gateway_close(&gw);
    return rc;
}

const cli_command cli_gateway = {
    "gateway",
    "run the site's gateway (until SIGTERM or SIGINT)",
    "Usage: ecluse gateway --config FILE [--check]\n"
    "\n"
    "Runs the gateway of a site: serves ecluse.v1 over mutual TLS on the\n"
    "configured address, writes one log line per event on stderr\n"
    "(key=value), and stops cleanly on SIGTERM or SIGINT: no new calls,\n"
    "in-flight calls get server.shutdown_grace_ms, the rest are cancelled.\n"
    "\n"
    "Options:\n"
    "  --config FILE   the site's ecluse.json (docs/operations.md)\n"
    "  --check         load and check the configuration and the files it\n"
    "                  names, then exit (0 if all is well)\n"
    "\n"
    "Examples:\n"
    "  ecluse gateway --config /var/lib/ecluse/fi/ecluse.json\n"
    "  ecluse gateway --config /var/lib/ecluse/fi/ecluse.json --check\n",
    run_gateway,
};
