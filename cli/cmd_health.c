/* cmd_health.c - `ecluse health`: ask the home gateway whether it is up. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "cli/options.h"
#include "client/client.h"

static void print_health(const Ecluse__V1__HealthCheckResponse *h, int as_json)
{
    const Ecluse__V1__Identity *who = h->caller;
    if (as_json) {
        json_t *doc =
            json_pack("{s:s, s:s, s:s, s:I, s:{s:s, s:s, s:s}}", "site", h->site, "country",
                      h->country, "version", h->version, "uptime_seconds",
                      (json_int_t)h->uptime_seconds, "caller", "site", who ? who->site : "", "role",
                      who ? who->role : "", "name", who ? who->name : "");
        char *text = json_dumps(doc, JSON_PRESERVE_ORDER);
        printf("%s\n", text ? text : "{}");
        free(text);
        json_decref(doc);
        return;
    }
    printf("gateway of site %s (%s) is up: ecluse %s, running for %llu s\n", h->site, h->country,
           h->version, (unsigned long long)h->uptime_seconds);
    if (who != NULL)
        printf("you are %s%s%s of site %s\n", who->role, who->name[0] ? " " : "", who->name,
               who->site);
}

static int run_health(int argc, char **argv, ecl_err *err)
{
    static const struct option opts[] = {
        {"identity", required_argument, 0, 'i'},
        {"gateway", required_argument, 0, 'g'},
        {"json", no_argument, 0, 'j'},
        {0, 0, 0, 0},
    };
    const char *identity = ecl_client_default_identity();
    const char *gateway = NULL;
    int as_json = 0;
    int c;
    while ((c = cli_getopt(argc, argv, opts, err)) != -1) {
        if (c == 'i')
            identity = optarg;
        else if (c == 'g')
            gateway = optarg;
        else if (c == 'j')
            as_json = 1;
        else
            return -1;
    }
    if (cli_expect_positionals(argc, argv, 0, "", err) != 0)
        return -1;
    ecl_client *client = NULL;
    if (ecl_client_open(identity, gateway, &client, err) != 0)
        return -1;
    Ecluse__V1__HealthCheckResponse *h = NULL;
    int rc = ecl_client_health(client, &h, err);
    if (rc == 0) {
        print_health(h, as_json);
        protobuf_c_message_free_unpacked(&h->base, NULL);
    } else {
        ecl_err_prefix(err, "%s", ecl_client_gateway(client));
    }
    ecl_client_close(client);
    return rc;
}

const cli_command cli_health = {
    "health",
    "check that your home gateway is up, and who it says you are",
    "Usage: ecluse health [--identity DIR] [--gateway HOST:PORT] [--json]\n"
    "\n"
    "Calls Health.Check on the gateway of your site over mutual TLS and prints\n"
    "its site, version and uptime, and the identity it authenticated.\n"
    "\n"
    "Options:\n"
    "  --identity DIR      your identity directory (default $ECLUSE_IDENTITY)\n"
    "  --gateway H:P       override the gateway named in identity.json\n"
    "  --json              print JSON\n"
    "\n"
    "Example:\n"
    "  ecluse health --identity ~/.ecluse/alice\n",
    run_health,
};
