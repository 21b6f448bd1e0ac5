/* cmd_access.c - `ecluse access request|check`: ask for data, lawfully. */
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/dataset_name.h"
#include "cli/options.h"
#include "cli/remote.h"
#include "common/fileio.h"
#include "client/read.h"
#include "gateway/grant.h"
#include "site/country.h"

#define MAX_TENSORS 32

typedef struct access_args {
    Ecluse__V1__AccessRequest req;
    char *tensor_text;
    char *tensors[MAX_TENSORS];
    const char *save_grant;
} access_args;

static int parse_until(const char *text, int64_t *out, ecl_err *err)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = strptime(text, "%Y-%m-%d", &tm);
    if (end == NULL || *end != '\0')
        return ecl_fail(err, ECL_E_USAGE, "--until takes a date like 2027-06-30, not '%s'", text);
    *out = (int64_t)timegm(&tm) + 86399; /* to the end of that day */
    return 0;
}

static int parse_args(int argc, char **argv, cli_remote *r, access_args *a, ecl_err *err)
{
    static const struct option opts[] = {
        CLI_REMOTE_OPTIONS,
        {"purpose", required_argument, 0, 'p'},
        {"basis", required_argument, 0, 'b'},
        {"job-country", required_argument, 0, 'c'},
        {"ethics", required_argument, 0, 'e'},
        {"tensors", required_argument, 0, 't'},
        {"rows", required_argument, 0, 'r'},
        {"until", required_argument, 0, 'u'},
        {"save-grant", required_argument, 0, 's'},
        {"non-commercial", no_argument, 0, 'n'},
        {"commercial", no_argument, 0, 'C'},
        {0, 0, 0, 0},
    };
    int c;
    long rows = 0;
    while ((c = cli_getopt(argc, argv, opts, err)) != -1) {
        int rc = 0;
        switch (c) {
        case 'p':
            a->req.purpose = optarg;
            break;
        case 'b':
            a->req.lawful_basis = optarg;
            break;
        case 'c':
            a->req.job_country = optarg;
            break;
        case 'e':
            a->req.ethics_ref = optarg;
            break;
        case 't': {
            if ((a->tensor_text = strdup(optarg)) == NULL) {
                rc = ecl_fail(err, ECL_E_INTERNAL, "out of memory");
                break;
            }
            char *save = NULL;
            for (char *t = strtok_r(a->tensor_text, ",", &save); t && rc == 0;
                 t = strtok_r(NULL, ",", &save)) {
                if (a->req.n_tensors == MAX_TENSORS)
                    rc = ecl_fail(err, ECL_E_USAGE, "at most %d tensors", MAX_TENSORS);
                else
                    a->tensors[a->req.n_tensors++] = t;
            }
            a->req.tensors = a->tensors;
            break;
        }
        case 'r':
            rc = cli_parse_long("--rows", optarg, 1, 2000000000L, &rows, err);
            a->req.rows = (uint64_t)rows;
            break;
        case 'u':
            rc = parse_until(optarg, &a->req.until_unix, err);
            break;
        case 's':
            a->save_grant = optarg;
            break;
        case 'n':
            a->req.non_commercial_use = 1;
            break;
        case 'C':
            a->req.non_commercial_use = 0;
            break;
        default:
            rc = c == -2 || !cli_remote_option(r, c, optarg) ? -1 : 0;
        }
        if (rc != 0)
            return -1;
    }
    if (cli_expect_positionals(argc, argv, 1, "the DATASET id", err) != 0)
        return -1;
    a->req.dataset = argv[cli_optind()];
    if (a->req.purpose[0] == '\0' || a->req.lawful_basis[0] == '\0' ||
        a->req.job_country[0] == '\0')
        return ecl_fail(err, ECL_E_USAGE, "--purpose, --basis and --job-country are required");
    if (!country_is_valid(a->req.job_country))
        return ecl_fail(err, ECL_E_USAGE,
                        "--job-country '%s' is not an ISO 3166-1 alpha-2 country code (e.g. FI)",
                        a->req.job_country);
    return 0;
}

/* A digest of a grant in hex; "" if it names none. */
static void digest_hex(const ProtobufCBinaryData *d, char out[2 * GRANT_DIGEST_BYTES + 1])
{
    out[0] = '\0';
    if (d->len == GRANT_DIGEST_BYTES)
        sodium_bin2hex(out, 2 * GRANT_DIGEST_BYTES + 1, d->data, d->len);
}

static void print_json(const Ecluse__V1__AccessDecision *d)
{
    json_t *reasons = json_array(), *obligations = json_array();
    for (size_t i = 0; i < d->n_reasons; i++) {
        const Ecluse__V1__Reason *r = d->reasons[i];
        json_array_append_new(reasons, json_pack("{s:s, s:s, s:b, s:s, s:s}", "rule", r->rule,
                                                 "basis", r->basis, "satisfied", r->satisfied,
                                                 "message", r->message, "remedy", r->remedy));
    }
    for (size_t i = 0; i < d->n_obligations; i++)
        json_array_append_new(obligations,
                              json_pack("{s:s, s:s, s:I}", "code", d->obligations[i]->code, "text",
                                        d->obligations[i]->text, "due_unix",
                                        (json_int_t)d->obligations[i]->due_unix));
    json_t *doc =
        json_pack("{s:s, s:b, s:s, s:I, s:o, s:o}", "decision", d->permit ? "permit" : "deny",
                  "dry_run", d->dry_run, "decided_by", d->decided_by, "audit_seq",
                  (json_int_t)d->audit_seq, "reasons", reasons, "obligations", obligations);
    if (d->grant != NULL) {
        Ecluse__V1__GrantBody *g =
            ecluse__v1__grant_body__unpack(NULL, d->grant->body.len, d->grant->body.data);
        if (g != NULL) {
            json_t *tensors = json_array();
            for (size_t i = 0; i < g->n_tensors; i++)
                json_array_append_new(tensors, json_string(g->tensors[i]));
            char entry[2 * GRANT_DIGEST_BYTES + 1], content[2 * GRANT_DIGEST_BYTES + 1];
            digest_hex(&g->dataset_entry_digest, entry);
            digest_hex(&g->dataset_content_digest, content);
            json_object_set_new(
                doc, "grant",
                json_pack("{s:s, s:s, s:o, s:I, s:I, s:s, s:I, s:s, s:s}", "id", g->grant_id,
                          "dataset", g->dataset, "tensors", tensors, "max_rows",
                          (json_int_t)g->max_rows, "expires_unix", (json_int_t)g->expires_unix,
                          "transfer_basis", g->transfer_basis, "dataset_published_unix",
                          (json_int_t)g->dataset_published_unix, "dataset_entry_digest", entry,
                          "dataset_content_digest", content));
            ecluse__v1__grant_body__free_unpacked(g, NULL);
        }
    }
    char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    printf("%s\n", text ? text : "{}");
    free(text);
    json_decref(doc);
}

static void print_text(const Ecluse__V1__AccessDecision *d, const char *dataset)
{
    printf("%s%s for %s, decided by site %s (audit entry %llu there)\n",
           d->dry_run ? "dry run: " : "", d->permit ? "PERMIT" : "DENY", dataset, d->decided_by,
           (unsigned long long)d->audit_seq);
    for (size_t i = 0; i < d->n_reasons; i++) {
        const Ecluse__V1__Reason *r = d->reasons[i];
        printf("  %s %-14s %-26s %s\n", r->satisfied ? "ok  " : "DENY", r->rule, r->basis,
               r->message);
        if (!r->satisfied && r->remedy[0])
            printf("  %4s %-14s %-26s to satisfy it: %s\n", "", "", "", r->remedy);
    }
    for (size_t i = 0; i < d->n_obligations; i++) {
        char due[32] = "";
        if (d->obligations[i]->due_unix > 0) {
            time_t t = (time_t)d->obligations[i]->due_unix;
            struct tm tm;
            gmtime_r(&t, &tm);
            strftime(due, sizeof(due), " (by %Y-%m-%d)", &tm);
        }
        printf("  obligation: %s%s\n", d->obligations[i]->text, due);
    }
    if (d->grant != NULL) {
        Ecluse__V1__GrantBody *g =
            ecluse__v1__grant_body__unpack(NULL, d->grant->body.len, d->grant->body.data);
        if (g != NULL) {
            char until[32];
            time_t t = (time_t)g->expires_unix;
            struct tm tm;
            gmtime_r(&t, &tm);
            strftime(until, sizeof(until), "%Y-%m-%d", &tm);
            printf("  grant %s: ", g->grant_id);
            for (size_t i = 0; i < g->n_tensors; i++)
                printf("%s%s", i ? "," : "", g->tensors[i]);
            printf(", at most %llu rows, until %s, transfer basis %s\n",
                   (unsigned long long)g->max_rows, until, g->transfer_basis);
            char published[32], content[2 * GRANT_DIGEST_BYTES + 1];
            t = (time_t)g->dataset_published_unix;
            gmtime_r(&t, &tm);
            strftime(published, sizeof(published), "%Y-%m-%dT%H:%M:%SZ", &tm);
            digest_hex(&g->dataset_content_digest, content);
            /* A republished dataset refuses this grant: say which one it is for. */
            printf("  decided on %s as published %s (content %.16s)\n", g->dataset, published,
                   content);
            ecluse__v1__grant_body__free_unpacked(g, NULL);
        }
    }
}

static int run_access(int argc, char **argv, int dry_run, ecl_err *err)
{
    cli_remote r;
    cli_remote_init(&r);
    access_args a;
    memset(&a, 0, sizeof(a));
    ecluse__v1__access_request__init(&a.req);
    int rc = parse_args(argc, argv, &r, &a, err);
    if (rc == 0 && dry_run && a.save_grant != NULL)
        rc = ecl_fail(err, ECL_E_USAGE,
                      "a dry run grants nothing: --save-grant goes with "
                      "'access request'");
    char id[CLI_DATASET_ID_MAX];
    if (rc == 0 && (rc = cli_remote_open(&r, err)) == 0) {
        rc = cli_dataset_id(a.req.dataset, ecl_client_identity(r.client)->site, id, err);
        a.req.dataset = id;
    }
    ProtobufCMessage *resp = NULL;
    if (rc == 0) {
        rc = cli_call(&r, dry_run ? "/ecluse.v1.Access/Check" : "/ecluse.v1.Access/Request",
                      &a.req.base, &ecluse__v1__access_decision__descriptor, &resp, err);
    }
    cli_remote_close(&r);
    free(a.tensor_text);
    if (rc != 0)
        return -1;
    const Ecluse__V1__AccessDecision *d = (const Ecluse__V1__AccessDecision *)resp;
    if (r.json)
        print_json(d);
    else
        print_text(d, a.req.dataset);
    if (d->grant != NULL && a.save_grant != NULL) {
        /* The same check fetch makes: a grant that would not be sent is not kept. */
        rc = client_grant_check(d->grant, err);
        if (rc == 0)
            rc = client_grant_save(a.save_grant, d->grant, err);
        if (rc == 0 && !r.json)
            printf("  grant saved to %s (pass it to 'ecluse fetch')\n", a.save_grant);
    }
    int permit = d->permit;
    protobuf_c_message_free_unpacked(resp, NULL);
    if (rc == 0 && !permit)
        rc = ecl_fail(err, ECL_E_PRECONDITION, "access %s by the policy of the holding site",
                      dry_run ? "would be refused" : "refused");
    return rc;
}

static int run_access_request(int argc, char **argv, ecl_err *err)
{
    return run_access(argc, argv, 0, err);
}

static int run_access_check(int argc, char **argv, ecl_err *err)
{
    return run_access(argc, argv, 1, err);
}

#define ACCESS_HELP                                                                                \
    "  --purpose CODE      GA4GH DUO purpose: GRU, HMB, POA, DS-<disease> (docs/policy.md)\n"      \
    "  --basis B           GDPR lawful basis, e.g. art6-1-e or art6-1-e+art9-2-j\n"                \
    "  --job-country CC    ISO 3166 country where the training job runs\n"                         \
    "  --ethics REF        ethics approval reference (research safeguards, Art. 89)\n"             \
    "  --tensors a,b       only these tensors (default: all the purpose may read)\n"               \
    "  --rows N            rows wanted (default: as many as allowed)\n"                            \
    "  --until DATE        access wanted until (default: the policy's limit)\n"                    \
    "  --non-commercial    state that the use is non-commercial (DUO NCU); without it\n"           \
    "                      the use counts as commercial (--commercial says so)\n"                  \
    "  --identity DIR      your researcher identity (default $ECLUSE_IDENTITY)\n"                  \
    "  --json              print the decision as JSON\n"

const cli_command cli_access_request = {
    "access request",
    "ask for access to a dataset: a decision with every reason, and a grant on a permit",
    "Usage: ecluse access request DATASET --purpose CODE --basis B --job-country CC\n"
    "                             [--ethics REF] [--save-grant FILE] [options]\n\n"
    "Your home gateway asks the site that holds DATASET, which decides under its\n"
    "policy and records the decision in its audit trail (and yours). A permit\n"
    "comes with obligations and a grant signed by the holding site: exactly what\n"
    "you may read and until when. Exits 9 when access is refused. DATASET is\n"
    "NAME for a dataset of your site, SITE/NAME for any site's.\n\nOptions:\n" ACCESS_HELP
    "  --save-grant FILE   keep the grant for 'ecluse fetch'\n"
    "\nExample:\n"
    "  ecluse access request lu/breast-cancer --purpose HMB --basis art6-1-e+art9-2-j \\\n"
    "      --job-country DE --ethics ETH-2026-114 --save-grant bc.grant\n",
    run_access_request,
};

const cli_command cli_access_check = {
    "access check",
    "dry run: what the holding site would decide, and why, granting nothing",
    "Usage: ecluse access check DATASET --purpose CODE --basis B --job-country CC [options]\n\n"
    "The same decision as 'access request', with every reason, but no grant.\n"
    "DATASET is NAME for a dataset of your site, SITE/NAME for any site's.\n"
    "Exits 9 when access would be refused.\n\nOptions:\n" ACCESS_HELP "\nExample:\n"
    "  ecluse access check lu/breast-cancer --purpose HMB --basis art6-1-e+art9-2-j \\\n"
    "      --job-country US\n",
    run_access_check,
};
