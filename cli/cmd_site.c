/* cmd_site.c - `ecluse site init`. */
#include <stdio.h>

#include "cli/cli.h"
#include "cli/options.h"
#include "site/site.h"

#define MAX_HOSTS 8

static int run_site_init(int argc, char **argv, ecl_err *err)
{
    static const struct option opts[] = {
        {"site", required_argument, 0, 's'},         {"country", required_argument, 0, 'c'},
        {"dir", required_argument, 0, 'd'},          {"listen", required_argument, 0, 'l'},
        {"host", required_argument, 0, 'H'},         {"ca-days", required_argument, 0, 'C'},
        {"gateway-days", required_argument, 0, 'G'}, {0, 0, 0, 0},
    };
    site_init_options o = {0};
    const char *hosts[MAX_HOSTS + 1] = {0};
    size_t host_count = 0;
    int c;
    while ((c = cli_getopt(argc, argv, opts, err)) != -1) {
        switch (c) {
        case 's':
            o.site = optarg;
            break;
        case 'c':
            o.country = optarg;
            break;
        case 'd':
            o.dir = optarg;
            break;
        case 'l':
            o.listen = optarg;
            break;
        case 'H':
            if (host_count == MAX_HOSTS)
                return ecl_fail(err, ECL_E_USAGE, "at most %d --host options", MAX_HOSTS);
            hosts[host_count++] = optarg;
            break;
        case 'C':
            if (cli_parse_long("--ca-days", optarg, 1, 36500, &o.ca_days, err) != 0)
                return -1;
            break;
        case 'G':
            if (cli_parse_long("--gateway-days", optarg, 1, 3650, &o.gateway_days, err) != 0)
                return -1;
            break;
        default:
            return -1;
        }
    }
    if (cli_expect_positionals(argc, argv, 0, "", err) != 0)
        return -1;
    if (o.site == NULL || o.country == NULL || o.dir == NULL)
        return ecl_fail(err, ECL_E_USAGE, "--site, --country and --dir are required");
    o.host_names = hosts;
    if (site_init(&o, err) != 0)
        return -1;
    printf("Site '%s' (%s) created in %s\n"
           "  CA certificate:    %s/ca/ca.crt\n"
           "  gateway identity:  spiffe://%s/gateway\n"
           "  signing key:       %s/keys/site.key (Ed25519)\n"
           "  configuration:     %s/ecluse.json\n"
           "Next: ecluse gateway --config %s/ecluse.json\n",
           o.site, o.country, o.dir, o.dir, o.site, o.dir, o.dir, o.dir);
    return 0;
}

const cli_command cli_site_init = {
    "site init",
    "create a site: its CA, gateway certificate, signing key and configuration",
    "Usage: ecluse site init --site ID --country CC --dir DIR [options]\n"
    "\n"
    "Creates a new site in DIR: a CA (ECDSA P-256), the gateway's certificate\n"
    "(spiffe://ID/gateway), the site's Ed25519 signing key, the data directory\n"
    "and ecluse.json. Private keys are written mode 0600; an existing site is\n"
    "never overwritten. Every option is checked before anything is written; the\n"
    "site is built beside DIR and renamed into place, so a failure leaves nothing.\n"
    "\n"
    "Options:\n"
    "  --site ID          site id: 1-63 of a-z, 0-9, '-' (e.g. fi, lu, de-juelich)\n"
    "  --country CC       ISO 3166-1 alpha-2 country of the site (e.g. FI)\n"
    "  --dir DIR          where the site lives: new, or an empty directory\n"
    "  --listen H:P       address the gateway listens on (default 127.0.0.1:7443)\n"
    "  --host NAME        an extra DNS name or IP for the gateway certificate\n"
    "                     (repeatable; the --listen host and localhost are included)\n"
    "  --ca-days N        CA validity (default 3650)\n"
    "  --gateway-days N   gateway certificate validity (default 365)\n"
    "\n"
    "Example:\n"
    "  ecluse site init --site fi --country FI --dir /var/lib/ecluse/fi \\\n"
    "                   --listen 0.0.0.0:7443 --host gw.ecluse.example.fi\n",
    run_site_init,
};
