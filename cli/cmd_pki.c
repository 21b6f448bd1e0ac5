/* cmd_pki.c - `ecluse pki issue`. */
#include <limits.h>
#include <stdio.h>

#include "cli/cli.h"
#include "cli/options.h"
#include "site/site.h"

static int run_pki_issue(int argc, char **argv, ecl_err *err)
{
    static const struct option opts[] = {
        {"dir", required_argument, 0, 'd'},      {"role", required_argument, 0, 'r'},
        {"name", required_argument, 0, 'n'},     {"days", required_argument, 0, 'D'},
        {"out", required_argument, 0, 'o'},      {"affiliation", required_argument, 0, 'a'},
        {"org-type", required_argument, 0, 't'}, {0, 0, 0, 0},
    };
    person_issue_options o = {0};
    o.days = 365;
    const char *role = NULL;
    int c;
    while ((c = cli_getopt(argc, argv, opts, err)) != -1) {
        switch (c) {
        case 'd':
            o.site_dir = optarg;
            break;
        case 'r':
            role = optarg;
            break;
        case 'n':
            o.name = optarg;
            break;
        case 'D':
            if (cli_parse_long("--days", optarg, 1, 3650, &o.days, err) != 0)
                return -1;
            break;
        case 'o':
            o.out_dir = optarg;
            break;
        case 'a':
            o.affiliation = optarg;
            break;
        case 't':
            o.org_type = optarg;
            break;
        default:
            return -1;
        }
    }
    if (cli_expect_positionals(argc, argv, 0, "", err) != 0)
        return -1;
    if (o.site_dir == NULL || role == NULL || o.name == NULL)
        return ecl_fail(err, ECL_E_USAGE, "--dir, --role and --name are required");
    o.role = role_from_name(role);
    if (o.role == ECL_ROLE_NONE || o.role == ECL_ROLE_GATEWAY)
        return ecl_fail(err, ECL_E_USAGE, "--role '%s' is not one of researcher, auditor, admin",
                        role);
    char out[PATH_MAX];
    if (site_issue_person(&o, out, sizeof(out), err) != 0)
        return -1;
    printf("Issued a %s identity for '%s', valid %ld days, in %s\n"
           "Hand over that directory (its key.pem is secret), then:\n"
           "  ECLUSE_IDENTITY=%s ecluse health\n",
           role, o.name, o.days, out, out);
    return 0;
}

const cli_command cli_pki_issue = {
    "pki issue",
    "issue a certificate to a researcher, auditor or admin of the site",
    "Usage: ecluse pki issue --dir SITE_DIR --role ROLE --name NAME [options]\n"
    "\n"
    "Issues a certificate from the site's CA whose identity is\n"
    "spiffe://<site>/<role>/<name>, and writes an identity directory holding\n"
    "cert.pem, key.pem (0600), ca.pem and identity.json (which also names the\n"
    "gateway). Every client command takes it with --identity DIR or the\n"
    "ECLUSE_IDENTITY environment variable.\n"
    "\n"
    "Options:\n"
    "  --dir SITE_DIR   the site directory made by 'ecluse site init'\n"
    "  --role ROLE      researcher, auditor or admin\n"
    "  --name NAME      1-63 of A-Z a-z 0-9 . _ -\n"
    "  --days N         validity in days (default 365)\n"
    "  --out DIR        where to write it (default SITE_DIR/identities/ROLE-NAME)\n"
    "  --affiliation A  the person's organisation, attested to other sites\n"
    "  --org-type T     academic, non-profit or commercial (policies may depend on it)\n"
    "\n"
    "Example:\n"
    "  ecluse pki issue --dir /var/lib/ecluse/fi --role researcher --name alice --days 90 \\\n"
    "                   --affiliation 'University of Helsinki' --org-type academic\n",
    run_pki_issue,
};

static int run_pki_renew_gateway(int argc, char **argv, ecl_err *err)
{
    static const struct option opts[] = {
        {"dir", required_argument, 0, 'd'},
        {"days", required_argument, 0, 'D'},
        {"host", required_argument, 0, 'H'},
        {0, 0, 0, 0},
    };
    const char *dir = NULL;
    long days = 365;
    const char *hosts[9] = {0};
    size_t n = 0;
    int c;
    while ((c = cli_getopt(argc, argv, opts, err)) != -1) {
        if (c == 'd')
            dir = optarg;
        else if (c == 'D') {
            if (cli_parse_long("--days", optarg, 1, 3650, &days, err) != 0)
                return -1;
        } else if (c == 'H') {
            if (n == 8)
                return ecl_fail(err, ECL_E_USAGE, "at most 8 --host options");
            hosts[n++] = optarg;
        } else
            return -1;
    }
    if (cli_expect_positionals(argc, argv, 0, "", err) != 0)
        return -1;
    if (dir == NULL)
        return ecl_fail(err, ECL_E_USAGE, "--dir SITE_DIR is required");
    char cert[PATH_MAX];
    if (site_renew_gateway(dir, days, hosts, cert, sizeof(cert), err) != 0)
        return -1;
    printf("Renewed the gateway certificate (new key, valid %ld days): %s\n"
           "The old pair is kept beside it. Restart the gateway to use it\n"
           "(SIGTERM, then start it again: in-flight calls finish first).\n",
           days, cert);
    return 0;
}

const cli_command cli_pki_renew_gateway = {
    "pki renew-gateway",
    "renew the gateway's certificate (and key) before it expires",
    "Usage: ecluse pki renew-gateway --dir SITE_DIR [--days N] [--host NAME]...\n"
    "\n"
    "Issues a new key and certificate for spiffe://<site>/gateway from the site's\n"
    "CA, with the same host names a new site gets (plus every --host), and puts\n"
    "them in place of gateway/gateway.crt and .key, keeping the old pair as\n"
    "gateway.crt.<time> and gateway.key.<time>. Peers need nothing: they trust\n"
    "the site's CA, not one certificate. Restart the gateway to use it.\n"
    "\n"
    "Options:\n"
    "  --dir SITE_DIR   the site directory\n"
    "  --days N         validity (default 365)\n"
    "  --host NAME      an extra DNS name or IP for the certificate (repeatable)\n"
    "\n"
    "Example:\n"
    "  ecluse pki renew-gateway --dir /var/lib/ecluse/fi --host gw.ecluse.example.fi\n",
    run_pki_renew_gateway,
};

static int run_pki_revoke(int argc, char **argv, ecl_err *err)
{
    static const struct option opts[] = {
        {"dir", required_argument, 0, 'd'},
        {"role", required_argument, 0, 'r'},
        {"name", required_argument, 0, 'n'},
        {"reason", required_argument, 0, 'R'},
        {0, 0, 0, 0},
    };
    const char *dir = NULL, *role = NULL, *name = NULL, *reason = "";
    int c;
    while ((c = cli_getopt(argc, argv, opts, err)) != -1) {
        if (c == 'd')
            dir = optarg;
        else if (c == 'r')
            role = optarg;
        else if (c == 'n')
            name = optarg;
        else if (c == 'R')
            reason = optarg;
        else
            return -1;
    }
    if (cli_expect_positionals(argc, argv, 0, "", err) != 0)
        return -1;
    if (dir == NULL || role == NULL || name == NULL)
        return ecl_fail(err, ECL_E_USAGE, "--dir, --role and --name are required");
    ecl_role r = role_from_name(role);
    if (r == ECL_ROLE_NONE || r == ECL_ROLE_GATEWAY)
        return ecl_fail(err, ECL_E_USAGE, "--role '%s' is not one of researcher, auditor, admin",
                        role);
    char serial[128];
    if (site_revoke_person(dir, r, name, reason, serial, sizeof(serial), err) != 0)
        return -1;
    printf("Revoked the certificate of %s '%s' (serial %s). The gateway refuses it from its\n"
           "next call on; issue a new identity if the person should keep access.\n",
           role, name, serial);
    return 0;
}

const cli_command cli_pki_revoke = {
    "pki revoke",
    "revoke a person's certificate: the gateway refuses it at once",
    "Usage: ecluse pki revoke --dir SITE_DIR --role ROLE --name NAME [--reason TEXT]\n"
    "\n"
    "Adds the serial of the person's current certificate (recorded when it was\n"
    "issued) to the site's revocation list, ca/revoked.json. The gateway reads the\n"
    "list on every call and refuses a revoked certificate, with the reason, without\n"
    "a restart. Peers' gateways are cut off by removing the peer instead.\n"
    "\n"
    "Options:\n"
    "  --dir SITE_DIR   the site directory\n"
    "  --role ROLE      researcher, auditor or admin\n"
    "  --name NAME      as issued\n"
    "  --reason TEXT    why (kept in the list and shown to the refused caller)\n"
    "\n"
    "Example:\n"
    "  ecluse pki revoke --dir /var/lib/ecluse/fi --role researcher --name alice \\\n"
    "                    --reason 'laptop stolen'\n",
    run_pki_revoke,
};
