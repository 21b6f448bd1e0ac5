/* cmd_gateway.c - `ecluse gateway`: run a site's gateway. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/options.h"
#include "gateway/check.h"
#include "gateway/gateway.h"

/* What --check found, printed when it is done: one problem is the
 * command's error line; several are each a line, then a summary. */
typedef struct check_output {
    ecl_err *problems;
    size_t count;
    int out_of_memory;
} check_output;

static void on_problem(void *ctx, const ecl_err *problem)
{
    check_output *o = ctx;
    ecl_err *grown = realloc(o->problems, (o->count + 1) * sizeof(*grown));
    if (grown == NULL) {
        o->out_of_memory = 1;
        return;
    }
    o->problems = grown;
    o->problems[o->count++] = *problem;
}

static void on_note(void *ctx, const char *note)
{
    (void)ctx;
    printf("note: %s\n", note);
}

static int run_check(const char *config, const char *exe, ecl_err *err)
{
    check_output out = {0};
    gateway_check_report report = {on_problem, on_note, &out};
    gateway_config cfg;
    int rc = gateway_check(config, exe, &report, &cfg, err);
    if (rc == 0)
        printf("%s: configuration OK (site %s, %s, listen %s)\n", config, cfg.site, cfg.country,
               cfg.listen);
    else if (out.count > 1)
        for (size_t i = 0; i < out.count; i++)
            fprintf(stderr, "ecluse gateway: error: %s\n", out.problems[i].msg);
    if (rc != 0 && out.out_of_memory)
        fprintf(stderr, "ecluse gateway: error: out of memory: some problems are not listed\n");
    free(out.problems);
    return rc;
}

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
    if (check_only)
        return run_check(config, exe, err);
    gateway gw;
    if (gateway_open(&gw, config, exe, err) != 0)
        return -1;
    int rc = gateway_serve(&gw, err);
    gateway_close(&gw);
    return rc;
}

const cli_command cli_gateway = {
    "gateway",
    "run the site's gateway (SIGHUP reloads; SIGTERM or SIGINT stops)",
    "Usage: ecluse gateway --config FILE [--check]\n"
    "\n"
    "Runs the gateway of a site: serves ecluse.v1 over mutual TLS on the\n"
    "configured address, writes one log line per event on stderr\n"
    "(key=value), and stops cleanly on SIGTERM or SIGINT: no new calls,\n"
    "in-flight calls get server.shutdown_grace_ms, the rest are cancelled.\n"
    "SIGHUP reloads the certificate and key, the policy data and the settings\n"
    "that can change at once, without stopping (docs/operations.md).\n"
    "\n"
    "Options:\n"
    "  --config FILE   the site's ecluse.json (docs/operations.md)\n"
    "  --check         check the configuration and everything it names, change\n"
    "                  nothing, then exit: 0 if all is well, else every problem\n"
    "                  on its own line and the exit code of the first one\n"
    "\n"
    "Examples:\n"
    "  ecluse gateway --config /var/lib/ecluse/fi/ecluse.json\n"
    "  ecluse gateway --config /var/lib/ecluse/fi/ecluse.json --check\n",
    run_gateway,
};
