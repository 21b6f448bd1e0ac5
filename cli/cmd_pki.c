/* cmd_pki.c - `ecluse pki issue`, `renew-gateway` and `revoke`.
 *
 * Each runs here, on the site directory (it needs the CA key, which the
 * gateway never reads), and each goes on the site's audit trail as an admin
 * action: an intent before anything is made, its outcome after. The trail
 * has one writer at a time (site_audit_lock): while the gateway runs, it
 * writes the entries (Admin.RecordPki, by the admin identity given); while
 * none runs, this command holds the lock and appends them itself. An intent
 * that cannot be written stops the action: nothing is issued unrecorded. */
#include <dirent.h>
#include <jansson.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit.h"
#include "cli/cli.h"
#include "cli/options.h"
#include "cli/remote.h"
#include "common/fileio.h"
#include "gateway/gateway.h"
#include "site/config.h"
#include "site/person_certs.h"
#include "site/pki.h"
#include "site/revocation.h"
#include "site/site.h"

/* ---- the trail of a pki action ---------------------------------------------- */

typedef struct pki_trail {
    gateway_config cfg;
    int lock;          /* >= 0: no gateway runs; this process appends */
    audit_log *log;    /* then: the trail, opened here */
    cli_remote remote; /* else: the running gateway records */
    char actor[ECL_SPIFFE_MAX + 32];
    char identity[PATH_MAX];
    const char *action;
    json_t *what;    /* the action's detail; owned */
    uint64_t intent; /* the seq of the intent entry */
} pki_trail;

/* The site directory's one admin identity (identities/admin-NAME), the
 * default when none is named: whoever runs this reads the CA key in the
 * same directory. 0 and the path, or -1 saying why not. */
static int default_admin(const char *site_dir, char *out, size_t cap, ecl_err *err)
{
    char dir[PATH_MAX];
    if (ecl_path_join(dir, sizeof(dir), site_dir, "identities", err) != 0)
        return -1;
    DIR *d = opendir(dir);
    int found = 0;
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "admin-", 6) != 0)
            continue;
        if (found++ == 0 && snprintf(out, cap, "%s/%s", dir, e->d_name) >= (int)cap)
            found = 2; /* cannot name it: as if ambiguous */
    }
    if (d != NULL)
        closedir(d);
    if (found == 1)
        return 0;
    return ecl_fail(err, ECL_E_USAGE,
                    "the gateway of this site is running and records pki actions itself: give "
                    "--identity DIR (or ECLUSE_IDENTITY) of an admin of the site, by whose name "
                    "it records this (%s holds %s admin identity)",
                    dir, found == 0 ? "no" : "more than one");
}

/* Who acts, when this process appends: the admin identity given (checked
 * against the site's CA), else the holder of the CA key on this host. */
static int local_actor(pki_trail *t, const char *identity, ecl_err *err)
{
    if (identity == NULL) {
        struct passwd *pw = getpwuid(geteuid());
        snprintf(t->actor, sizeof(t->actor), "spiffe://%s/ca", t->cfg.site);
        if (t->what != NULL)
            json_object_set_new(t->what, "local_user",
                                json_string(pw != NULL ? pw->pw_name : "unknown"));
        return 0;
    }
    char cert_path[PATH_MAX], key_path[PATH_MAX];
    X509 *cert = NULL;
    ecl_identity id;
    int rc = ecl_path_join(cert_path, sizeof(cert_path), identity, "cert.pem", err) != 0 ||
                     ecl_path_join(key_path, sizeof(key_path), identity, "key.pem", err) != 0 ||
                     pki_check_identity_files(cert_path, key_path, t->cfg.tls_ca, NULL, err) != 0 ||
                     pki_load_cert(cert_path, &cert, err) != 0 ||
                     pki_cert_spiffe(cert, t->actor, sizeof(t->actor), err) != 0 ||
                     identity_parse_spiffe(t->actor, &id, err) != 0
                 ? -1
                 : 0;
    X509_free(cert);
    if (rc != 0)
        return ecl_err_prefix(err, "--identity %s", identity);
    if (id.role != ECL_ROLE_ADMIN || strcmp(id.site, t->cfg.site) != 0)
        return ecl_fail(err, ECL_E_DENIED, "--identity %s is %s, not an admin of site '%s'",
                        identity, t->actor, t->cfg.site);
    return 0;
}

/* Load the site's configuration and find who writes the trail. Takes `what`. */
static int trail_open(pki_trail *t, const char *site_dir, const char *identity, const char *action,
                      json_t *what, ecl_err *err)
{
    memset(t, 0, sizeof(*t));
    t->lock = -1;
    t->action = action;
    t->what = what;
    cli_remote_init(&t->remote);
    if (what == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    char config[PATH_MAX], audit_dir[PATH_MAX];
    if (ecl_path_join(config, sizeof(config), site_dir, "ecluse.json", err) != 0 ||
        gateway_config_load(config, &t->cfg, err) != 0)
        return -1;
    if (identity == NULL)
        identity = getenv("ECLUSE_IDENTITY");
    snprintf(t->identity, sizeof(t->identity), "%s", identity != NULL ? identity : "");
    int held = site_audit_lock(t->cfg.data_dir, 0, &t->lock, err);
    if (held < 0)
        return -1;
    if (held == 0) {
        audit_options o = {(size_t)t->cfg.audit_map_mb << 20, 0, 0};
        if (ecl_path_join(audit_dir, sizeof(audit_dir), t->cfg.data_dir, "audit", err) != 0 ||
            local_actor(t, identity, err) != 0 || audit_open(audit_dir, &o, &t->log, err) != 0)
            return -1;
        json_object_set_new(t->what, "recorded_by", json_string("ecluse pki"));
        return 0;
    }
    if (identity == NULL && default_admin(site_dir, t->identity, sizeof(t->identity), err) != 0)
        return -1;
    t->remote.identity = t->identity;
    return cli_remote_open(&t->remote, err);
}

static void trail_close(pki_trail *t)
{
    audit_close(t->log);
    if (t->lock >= 0)
        close(t->lock);
    cli_remote_close(&t->remote);
    json_decref(t->what);
}

/* One entry: the intent (`outcome` pending) or the outcome. */
static int trail_write(pki_trail *t, const char *outcome, const char *reason, ecl_err *err)
{
    char *text = json_dumps(t->what, JSON_COMPACT | JSON_SORT_KEYS);
    if (text == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    Ecluse__V1__PkiRecord r = ECLUSE__V1__PKI_RECORD__INIT;
    r.action = (char *)t->action;
    r.outcome = (char *)outcome;
    r.intent = strcmp(outcome, ACTION_PENDING) == 0 ? 0 : t->intent;
    r.reason = (char *)(reason != NULL ? reason : "");
    r.detail_json = text;
    uint64_t seq = 0;
    int rc;
    if (t->log != NULL) {
        json_t *detail = NULL;
        audit_entry e = {0};
        e.kind = AUDIT_KIND_ADMIN;
        e.actor = t->actor;
        rc = gateway_pki_detail(&r, &detail, err);
        if (rc == 0) {
            e.detail = detail;
            rc = audit_append(t->log, &e, &seq, err);
            json_decref(detail);
        }
    } else {
        Ecluse__V1__PkiRecordReceipt *resp = NULL;
        rc = cli_call(&t->remote, "/ecluse.v1.Admin/RecordPki", &r.base,
                      &ecluse__v1__pki_record_receipt__descriptor, (ProtobufCMessage **)&resp, err);
        if (rc == 0) {
            seq = resp->seq;
            ecluse__v1__pki_record_receipt__free_unpacked(resp, NULL);
        }
    }
    free(text);
    if (rc != 0)
        return ecl_err_prefix(err, "the site's audit trail cannot record it");
    if (strcmp(outcome, ACTION_PENDING) == 0)
        t->intent = seq;
    return 0;
}

/* The outcome of `rc`; a failure keeps its own error. */
static int trail_finish(pki_trail *t, int rc, ecl_err *err)
{
    if (rc != 0) {
        ecl_err lost;
        if (trail_write(t, ACTION_FAILED, err->msg, &lost) != 0)
            fprintf(stderr, "ecluse pki: warning: %s\n", lost.msg);
        return -1;
    }
    if (trail_write(t, ACTION_DONE, NULL, err) != 0)
        return ecl_err_prefix(err,
                              "it was done (intent entry %llu), but its outcome is not "
                              "recorded",
                              (unsigned long long)t->intent);
    return 0;
}

/* The serial of the certificate at `path` into `what`, if it reads. */
static void note_serial(json_t *what, const char *path)
{
    X509 *cert = NULL;
    char serial[128];
    ecl_err ignored;
    if (pki_load_cert(path, &cert, &ignored) == 0 &&
        pki_cert_serial(cert, serial, sizeof(serial), &ignored) == 0)
        json_object_set_new(what, "serial", json_string(serial));
    X509_free(cert);
}

/* An action on the trail: intent, then `act`, then its outcome. */
typedef int (*pki_act_fn)(void *arg, json_t *what, ecl_err *err);

static int on_record(const char *site_dir, const char *identity, const char *action, ecl_role role,
                     const char *name, json_t *what, pki_act_fn act, void *arg, ecl_err *err)
{
    pki_trail t;
    int rc = trail_open(&t, site_dir, identity, action, what, err);
    if (rc == 0) {
        ecl_identity id;
        ecl_err ignored;
        int named = identity_make(t.cfg.site, role, name, &id, &ignored) == 0;
        if (named)
            json_object_set_new(t.what, "subject", json_string(id.spiffe));
        /* The gateway would refuse the outcome of revoking its recorder. */
        if (named && t.log == NULL && strcmp(action, "pki-revoke") == 0 &&
            strcmp(ecl_client_identity(t.remote.client)->spiffe, id.spiffe) == 0)
            rc = ecl_fail(err, ECL_E_USAGE,
                          "%s cannot record its own revocation: give --identity of another "
                          "admin",
                          id.spiffe);
        if (rc == 0)
            rc = trail_write(&t, ACTION_PENDING, NULL, err);
    }
    if (rc == 0) /* the intent is on record: now act */
        rc = trail_finish(&t, act(arg, t.what, err), err);
    trail_close(&t);
    return rc;
}

typedef struct issue_args {
    person_issue_options o;
    int renew;
    person_certified done;
} issue_args;

static int do_issue(void *arg, json_t *what, ecl_err *err)
{
    issue_args *a = arg;
    if (site_certify_person(&a->o, a->renew, &a->done, err) != 0)
        return -1;
    json_object_set_new(what, "serial", json_string(a->done.serial));
    if (a->renew)
        json_object_set_new(what, "previous_serial", json_string(a->done.previous));
    return 0;
}

static int run_pki_issue(int argc, char **argv, ecl_err *err)
{
    static const struct option opts[] = {
        {"dir", required_argument, 0, 'd'},      {"role", required_argument, 0, 'r'},
        {"name", required_argument, 0, 'n'},     {"days", required_argument, 0, 'D'},
        {"out", required_argument, 0, 'o'},      {"affiliation", required_argument, 0, 'a'},
        {"org-type", required_argument, 0, 't'}, {"identity", required_argument, 0, 'i'},
        {"renew", no_argument, 0, 'N'},          {0, 0, 0, 0},
    };
    issue_args a;
    memset(&a, 0, sizeof(a));
    person_issue_options *o = &a.o;
    o->days = 365;
    const char *role = NULL, *identity = NULL;
    int c;
    while ((c = cli_getopt(argc, argv, opts, err)) != -1) {
        switch (c) {
        case 'd':
            o->site_dir = optarg;
            break;
        case 'r':
            role = optarg;
            break;
        case 'n':
            o->name = optarg;
            break;
        case 'D':
            if (cli_parse_long("--days", optarg, 1, 3650, &o->days, err) != 0)
                return -1;
            break;
        case 'o':
            o->out_dir = optarg;
            break;
        case 'a':
            o->affiliation = optarg;
            break;
        case 't':
            o->org_type = optarg;
            break;
        case 'i':
            identity = optarg;
            break;
        case 'N':
            a.renew = 1;
            break;
        default:
            return -1;
        }
    }
    if (cli_expect_positionals(argc, argv, 0, "", err) != 0)
        return -1;
    if (o->site_dir == NULL || role == NULL || o->name == NULL)
        return ecl_fail(err, ECL_E_USAGE, "--dir, --role and --name are required");
    o->role = role_from_name(role);
    if (o->role == ECL_ROLE_NONE || o->role == ECL_ROLE_GATEWAY)
        return ecl_fail(err, ECL_E_USAGE, "--role '%s' is not one of researcher, auditor, admin",
                        role);
    json_t *what =
        json_pack("{s:s, s:s, s:I}", "role", role, "name", o->name, "days", (json_int_t)o->days);
    if (what != NULL && o->affiliation != NULL)
        json_object_set_new(what, "affiliation", json_string(o->affiliation));
    if (what != NULL && o->org_type != NULL)
        json_object_set_new(what, "org_type", json_string(o->org_type));
    if (on_record(o->site_dir, identity, a.renew ? "pki-renew" : "pki-issue", o->role, o->name,
                  what, do_issue, &a, err) != 0)
        return -1;
    printf("%s a %s identity for '%s' (serial %s), valid %ld days, in %s\n",
           a.renew ? "Renewed" : "Issued", role, o->name, a.done.serial, o->days, a.done.dir);
    if (a.renew)
        printf("The earlier certificate (serial %s) stays valid until it expires or is\n"
               "revoked ('ecluse pki revoke --serial %s').\n",
               a.done.previous, a.done.previous);
    printf("Hand over that directory (its key.pem is secret), then:\n"
           "  ECLUSE_IDENTITY=%s ecluse health\n",
           a.done.dir);
    return 0;
}

/* How every pki command is recorded (docs/operations.md). */
#define PKI_TRAIL_HELP                                                                             \
    "  --identity DIR   an admin identity of the site, by whose name the running\n"                \
    "                   gateway records this (default: ECLUSE_IDENTITY, else the\n"                \
    "                   site directory's only identities/admin-*)\n"                               \
    "\n"                                                                                           \
    "The action goes on the site's audit trail: its intent before, its outcome\n"                  \
    "after; if the intent cannot be recorded, nothing is done. While the gateway\n"                \
    "runs it records them; while it does not, this command appends them itself.\n"

const cli_command cli_pki_issue = {
    "pki issue",
    "issue a certificate to a researcher, auditor or admin of the site",
    "Usage: ecluse pki issue --dir SITE_DIR --role ROLE --name NAME [--renew] [options]\n"
    "\n"
    "Issues a certificate from the site's CA whose identity is\n"
    "spiffe://<site>/<role>/<name>, and writes an identity directory holding\n"
    "cert.pem, key.pem (0600), ca.pem and identity.json (which also names the\n"
    "gateway). Every client command takes it with --identity DIR or the\n"
    "ECLUSE_IDENTITY environment variable. The site records every certificate\n"
    "it issues (ca/issued.json), so that 'pki revoke' can revoke them all.\n"
    "\n"
    "A name the site already issued is refused (exit 6) unless --renew is\n"
    "given: then a new key and certificate go to SITE_DIR/identities/\n"
    "ROLE-NAME@N (the person's Nth certificate), keeping the recorded\n"
    "affiliation and organisation type. The old certificate stays valid\n"
    "until it expires or is revoked.\n"
    "\n"
    "Options:\n"
    "  --dir SITE_DIR   the site directory made by 'ecluse site init'\n"
    "  --role ROLE      researcher, auditor or admin\n"
    "  --name NAME      1-63 of A-Z a-z 0-9 . _ -\n"
    "  --days N         validity in days (default 365)\n"
    "  --out DIR        where to write it (default SITE_DIR/identities/ROLE-NAME)\n"
    "  --affiliation A  the person's organisation, attested to other sites\n"
    "  --org-type T     academic, non-profit or commercial (policies may depend on "
    "it)\n"
    "  --renew          issue another certificate to a person who has one\n" PKI_TRAIL_HELP "\n"
    "Example:\n"
    "  ecluse pki issue --dir /var/lib/ecluse/fi --role researcher --name alice --days 90 \\\n"
    "                   --affiliation 'University of Helsinki' --org-type academic\n",
    run_pki_issue,
};

typedef struct renew_args {
    const char *dir;
    long days;
    const char *hosts[9];
    char cert[PATH_MAX];
} renew_args;

static int do_renew(void *arg, json_t *what, ecl_err *err)
{
    renew_args *a = arg;
    if (site_renew_gateway(a->dir, a->days, a->hosts, a->cert, sizeof(a->cert), err) != 0)
        return -1;
    note_serial(what, a->cert);
    return 0;
}

static int run_pki_renew_gateway(int argc, char **argv, ecl_err *err)
{
    static const struct option opts[] = {
        {"dir", required_argument, 0, 'd'},
        {"days", required_argument, 0, 'D'},
        {"host", required_argument, 0, 'H'},
        {"identity", required_argument, 0, 'i'},
        {0, 0, 0, 0},
    };
    renew_args a;
    memset(&a, 0, sizeof(a));
    a.days = 365;
    const char *identity = NULL;
    size_t n = 0;
    int c;
    while ((c = cli_getopt(argc, argv, opts, err)) != -1) {
        if (c == 'd')
            a.dir = optarg;
        else if (c == 'D') {
            if (cli_parse_long("--days", optarg, 1, 3650, &a.days, err) != 0)
                return -1;
        } else if (c == 'H') {
            if (n == 8)
                return ecl_fail(err, ECL_E_USAGE, "at most 8 --host options");
            a.hosts[n++] = optarg;
        } else if (c == 'i')
            identity = optarg;
        else
            return -1;
    }
    if (cli_expect_positionals(argc, argv, 0, "", err) != 0)
        return -1;
    if (a.dir == NULL)
        return ecl_fail(err, ECL_E_USAGE, "--dir SITE_DIR is required");
    json_t *what = json_pack("{s:I, s:[]}", "days", (json_int_t)a.days, "hosts");
    for (size_t i = 0; what != NULL && i < n; i++)
        json_array_append_new(json_object_get(what, "hosts"), json_string(a.hosts[i]));
    if (on_record(a.dir, identity, "pki-renew-gateway", ECL_ROLE_GATEWAY, NULL, what, do_renew, &a,
                  err) != 0)
        return -1;
    printf("Renewed the gateway certificate (new key, valid %ld days): %s\n"
           "The old pair is kept beside it. Send the running gateway SIGHUP to\n"
           "serve it to new connections (no restart; docs/operations.md).\n",
           a.days, a.cert);
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
    "the site's CA, not one certificate. SIGHUP makes a running gateway serve\n"
    "it to new connections, without a restart.\n"
    "\n"
    "Options:\n"
    "  --dir SITE_DIR   the site directory\n"
    "  --days N         validity (default 365)\n"
    "  --host NAME      an extra DNS name or IP for the certificate (repeatable)\n" PKI_TRAIL_HELP
    "\n"
    "Example:\n"
    "  ecluse pki renew-gateway --dir /var/lib/ecluse/fi --host gw.ecluse.example.fi\n",
    run_pki_renew_gateway,
};

typedef struct revoke_args {
    site_revoke_request req;
    site_revoke_result res;
} revoke_args;

static int do_revoke(void *arg, json_t *what, ecl_err *err)
{
    revoke_args *a = arg;
    int rc = site_revoke_person(&a->req, &a->res, err);
    json_t *serials = json_array();
    for (size_t i = 0; serials != NULL && i < a->res.count; i++)
        json_array_append_new(serials, json_string(a->res.serials[i]));
    json_object_set_new(what, "serials", serials);
    return rc;
}

static int run_pki_revoke(int argc, char **argv, ecl_err *err)
{
    static const struct option opts[] = {
        {"dir", required_argument, 0, 'd'},
        {"role", required_argument, 0, 'r'},
        {"name", required_argument, 0, 'n'},
        {"reason", required_argument, 0, 'R'},
        {"identity", required_argument, 0, 'i'},
        {"serial", required_argument, 0, 's'},
        {0, 0, 0, 0},
    };
    revoke_args a;
    memset(&a, 0, sizeof(a));
    site_revoke_request *q = &a.req;
    q->reason = "";
    const char *role = NULL, *identity = NULL;
    int c;
    while ((c = cli_getopt(argc, argv, opts, err)) != -1) {
        if (c == 'd')
            q->site_dir = optarg;
        else if (c == 'r')
            role = optarg;
        else if (c == 'n')
            q->name = optarg;
        else if (c == 'R')
            q->reason = optarg;
        else if (c == 'i')
            identity = optarg;
        else if (c == 's')
            q->serial = optarg;
        else
            return -1;
    }
    if (cli_expect_positionals(argc, argv, 0, "", err) != 0)
        return -1;
    if (q->site_dir == NULL || role == NULL || q->name == NULL)
        return ecl_fail(err, ECL_E_USAGE, "--dir, --role and --name are required");
    if (q->serial != NULL && q->serial[0] == '\0')
        return ecl_fail(err, ECL_E_USAGE, "--serial needs a certificate serial (hex)");
    q->role = role_from_name(role);
    if (q->role == ECL_ROLE_NONE || q->role == ECL_ROLE_GATEWAY)
        return ecl_fail(err, ECL_E_USAGE, "--role '%s' is not one of researcher, auditor, admin",
                        role);
    json_t *what =
        json_pack("{s:s, s:s, s:s}", "role", role, "name", q->name, "revocation_reason", q->reason);
    if (what != NULL && q->serial != NULL)
        json_object_set_new(what, "only_serial", json_string(q->serial));
    if (on_record(q->site_dir, identity, "pki-revoke", q->role, q->name, what, do_revoke, &a,
                  err) != 0)
        return -1;
    printf("Revoked %zu certificate%s of %s '%s'%s:\n", a.res.count, a.res.count == 1 ? "" : "s",
           role, q->name, a.res.added < a.res.count ? " (some were revoked already)" : "");
    for (size_t i = 0; i < a.res.count; i++)
        printf("  serial %s\n", a.res.serials[i]);
    printf("The gateway refuses %s from its next call on; issue a new identity if the\n"
           "person should keep access.\n",
           a.res.count == 1 ? "it" : "them");
    return 0;
}

const cli_command cli_pki_revoke = {
    "pki revoke",
    "revoke a person's certificates: the gateway refuses them at once",
    "Usage: ecluse pki revoke --dir SITE_DIR --role ROLE --name NAME [--serial S]\n"
    "                         [--reason TEXT]\n"
    "\n"
    "Adds the serial of every certificate the site ever issued to the person\n"
    "(the first and each renewal, as recorded in ca/issued.json) to the site's\n"
    "revocation list, ca/revoked.json; with --serial, only that one, which must\n"
    "be one of theirs. The gateway reads the list on every call and refuses a\n"
    "revoked certificate, naming its serial and the reason, without a restart.\n"
    "Peers' gateways are cut off by removing the peer instead.\n"
    "\n"
    "Options:\n"
    "  --dir SITE_DIR   the site directory\n"
    "  --role ROLE      researcher, auditor or admin\n"
    "  --name NAME      as issued\n"
    "  --serial S       revoke only the certificate with this serial (hex)\n"
    "  --reason TEXT    why (kept in the list and shown to the refused caller)\n" PKI_TRAIL_HELP
    "\n"
    "Example:\n"
    "  ecluse pki revoke --dir /var/lib/ecluse/fi --role researcher --name alice \\\n"
    "                    --reason 'laptop stolen'\n",
    run_pki_revoke,
};
