/* cmd_erase.c - `ecluse dataset erase` (site admin) and `ecluse audit
 * recipients` (auditor): erasure under GDPR Art. 17, and who already read
 * the rows (docs/policy.md, "Erasure"). */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/dataset_name.h"
#include "cli/erasures.h"
#include "cli/notices.h"
#include "cli/options.h"
#include "cli/remote.h"

static void utc_ns(int64_t ns, char *buf, size_t cap)
{
    time_t t = (time_t)(ns / 1000000000LL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* "3:5,9" from row ranges. */
static void format_rows(Ecluse__V1__RowRange *const *rows, size_t n, char *out, size_t cap)
{
    size_t at = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && at + 1 < cap; i++) {
        int w = rows[i]->end == rows[i]->begin + 1
                    ? snprintf(out + at, cap - at, "%s%" PRIu64, i ? "," : "", rows[i]->begin)
                    : snprintf(out + at, cap - at, "%s%" PRIu64 ":%" PRIu64, i ? "," : "",
                               rows[i]->begin, rows[i]->end);
        if (w < 0 || (size_t)w >= cap - at)
            break;
        at += (size_t)w;
    }
}

/* Parse NAME --rows R --reason T, or NAME --rows R for recipients. */
static int parse(int argc, char **argv, cli_remote *r, const char **rows, const char **reason,
                 ecl_err *err)
{
    static const struct option opts[] = {CLI_REMOTE_OPTIONS,
                                         {"rows", required_argument, 0, 'r'},
                                         {"reason", required_argument, 0, 'R'},
                                         {0, 0, 0, 0}};
    cli_remote_init(r);
    int c;
    while ((c = cli_getopt(argc, argv, opts, err)) != -1) {
        if (c == 'r')
            *rows = optarg;
        else if (c == 'R' && reason != NULL)
            *reason = optarg;
        else if (c == -2 || !cli_remote_option(r, c, optarg))
            return c == -2 ? -1 : ecl_fail(err, ECL_E_USAGE, "--reason is for dataset erase");
    }
    if (cli_expect_positionals(argc, argv, 1, "the dataset", err) != 0)
        return -1;
    if (*rows == NULL)
        return ecl_fail(err, ECL_E_USAGE, "--rows A:B[,C,...] is required");
    if (reason != NULL && *reason == NULL)
        return ecl_fail(err, ECL_E_USAGE, "--reason TEXT is required: it goes on the record");
    return 0;
}

static int run_dataset_erase(int argc, char **argv, ecl_err *err)
{
    cli_remote r;
    const char *rows = NULL, *reason = NULL;
    if (parse(argc, argv, &r, &rows, &reason, err) != 0 || cli_remote_open(&r, err) != 0)
        return -1;
    char site[ECL_SITE_ID_MAX], name[ECL_NAME_MAX]; /* both outlive the client */
    snprintf(site, sizeof(site), "%s", ecl_client_identity(r.client)->site);
    ProtobufCMessage *resp = NULL;
    int rc = cli_own_dataset_name("dataset erase", argv[cli_optind()], site, name, err);
    Ecluse__V1__EraseRowsRequest req = ECLUSE__V1__ERASE_ROWS_REQUEST__INIT;
    req.dataset = name;
    req.rows = (char *)rows;
    req.reason = (char *)reason;
    if (rc == 0)
        rc = cli_call(&r, "/ecluse.v1.Admin/EraseRows", &req.base,
                      &ecluse__v1__erase_rows_response__descriptor, &resp, err);
    cli_remote_close(&r);
    if (rc != 0)
        return -1;
    const Ecluse__V1__EraseRowsResponse *e = (const Ecluse__V1__EraseRowsResponse *)resp;
    if (r.json)
        printf("{\"dataset\":\"%s/%s\",\"seq\":%" PRIu64 ",\"version\":%" PRIu64
               ",\"erased_rows\":%" PRIu64 ",\"remaining_rows\":%" PRIu64 "}\n",
               site, name, e->seq, e->version, e->erased_rows, e->remaining_rows);
    else
        printf("Erased rows %s of %s/%s (audit entry %" PRIu64 "): the dataset is now version "
               "%" PRIu64 ", %" PRIu64 " rows erased, %" PRIu64 " remain.\n"
               "Every read from now on skips them. Who read them before:\n"
               "  ecluse audit recipients %s/%s --rows %s\n",
               rows, site, name, e->seq, e->version, e->erased_rows, e->remaining_rows, site, name,
               rows);
    protobuf_c_message_free_unpacked(resp, NULL);
    return 0;
}

typedef struct listing {
    FILE *out;
    int json;
    size_t count;
    const cli_sent_notices *sent; /* erasures: the notices sent for them */
} listing;

static int print_recipient(const ProtobufCMessage *msg, void *ctx, ecl_err *err)
{
    (void)err;
    listing *l = ctx;
    const Ecluse__V1__Recipient *p = (const Ecluse__V1__Recipient *)msg;
    char when[32], rows[1024];
    utc_ns(p->time_unix_ns, when, sizeof(when));
    format_rows(p->rows, p->n_rows, rows, sizeof(rows));
    l->count++;
    if (l->json) {
        json_t *ranges = json_array();
        for (size_t i = 0; i < p->n_rows; i++)
            json_array_append_new(ranges, json_pack("[II]", (json_int_t)p->rows[i]->begin,
                                                    (json_int_t)p->rows[i]->end));
        json_t *doc = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:o}", "read_id", p->read_id,
                                "reader", p->reader, "home_site", p->home_site, "via", p->via,
                                "time", when, "time_unix_ns", (json_int_t)p->time_unix_ns, "seq",
                                (json_int_t)p->seq, "rows", ranges);
        char *text = json_dumps(doc, JSON_PRESERVE_ORDER | JSON_COMPACT);
        fprintf(l->out, "%s\n", text ? text : "{}");
        free(text);
        json_decref(doc);
        return 0;
    }
    fprintf(l->out,
            "read %s at %s (audit entry %" PRIu64 ")\n  reader:    %s\n  home site: %s%s%s\n"
            "  rows:      %s\n",
            p->read_id, when, p->seq, p->reader, p->home_site, p->via[0] ? ", relayed by " : "",
            p->via, rows);
    return 0;
}

static int run_audit_recipients(int argc, char **argv, ecl_err *err)
{
    cli_remote r;
    const char *rows = NULL;
    if (parse(argc, argv, &r, &rows, NULL, err) != 0 || cli_remote_open(&r, err) != 0)
        return -1;
    char id[CLI_DATASET_ID_MAX];
    int rc = cli_dataset_id(argv[cli_optind()], ecl_client_identity(r.client)->site, id, err);
    Ecluse__V1__RecipientsQuery q = ECLUSE__V1__RECIPIENTS_QUERY__INIT;
    q.dataset = id;
    q.rows = (char *)rows;
    listing l = {stdout, r.json, 0, NULL};
    if (rc == 0)
        rc = cli_stream(&r, "/ecluse.v1.Audit/Recipients", &q.base,
                        &ecluse__v1__recipient__descriptor, print_recipient, &l, err);
    cli_remote_close(&r);
    if (rc == 0 && !r.json)
        printf("%zu read(s) of %s carried rows %s\n", l.count, id, rows);
    return rc;
}

/* ---- erasures in the records of processing --------------------------------- */

static int print_erasure(const ProtobufCMessage *msg, void *ctx, ecl_err *err)
{
    (void)err;
    listing *l = ctx;
    const Ecluse__V1__AuditRecord *a = (const Ecluse__V1__AuditRecord *)msg;
    json_t *d = json_loads(a->detail_json, 0, NULL);
    json_t *rows = json_object_get(d, "rows");
    char when[32], list[1024] = "";
    utc_ns(a->time_unix_ns, when, sizeof(when));
    size_t at = 0, i;
    json_t *pair;
    json_array_foreach(rows, i, pair)
    {
        json_int_t b = json_integer_value(json_array_get(pair, 0));
        json_int_t e = json_integer_value(json_array_get(pair, 1));
        int w = e == b + 1
                    ? snprintf(list + at, sizeof(list) - at, "%s%lld", i ? "," : "", (long long)b)
                    : snprintf(list + at, sizeof(list) - at, "%s%lld:%lld", i ? "," : "",
                               (long long)b, (long long)e);
        if (w < 0 || (size_t)w >= sizeof(list) - at)
            break;
        at += (size_t)w;
    }
    const char *reason = json_string_value(json_object_get(d, "reason"));
    json_int_t version = json_integer_value(json_object_get(d, "version"));
    l->count++;
    if (l->json) {
        json_t *doc = json_pack("{s:s,s:s,s:I,s:s,s:O,s:I,s:s,s:s,s:o}", "record", "erasure",
                                "dataset", a->dataset, "seq", (json_int_t)a->seq, "time", when,
                                "rows", rows != NULL ? rows : json_null(), "version", version, "by",
                                a->actor, "reason", reason ? reason : "", "notices",
                                cli_sent_notices_json(l->sent, a->seq));
        char *text = json_dumps(doc, JSON_PRESERVE_ORDER | JSON_COMPACT);
        fprintf(l->out, "%s\n", text ? text : "{}");
        free(text);
        json_decref(doc);
    } else {
        char notices[1024];
        cli_sent_notices_state(l->sent, a->seq, notices, sizeof(notices));
        fprintf(l->out,
                "%s erasure at %s (audit entry %" PRIu64 ")\n  rows:    %s\n  version: %lld\n"
                "  by:      %s\n  reason:  %s\n  notices: %s\n",
                a->dataset, when, a->seq, list, (long long)version, a->actor, reason ? reason : "",
                notices);
    }
    json_decref(d);
    return 0;
}

int cli_print_erasures(cli_remote *r, const char *dataset, FILE *out, size_t *count, ecl_err *err)
{
    Ecluse__V1__AuditQuery q = ECLUSE__V1__AUDIT_QUERY__INIT;
    q.dataset = (char *)dataset;
    q.kind = "erasure";
    q.decision = "permit";
    cli_sent_notices *sent = NULL;
    if (cli_sent_notices_load(r, &sent, err) != 0)
        return -1;
    listing l = {out, r->json, 0, sent};
    if (!r->json)
        fprintf(out, "\nErasures (GDPR Art. 17)\n\n");
    int rc = cli_stream(r, "/ecluse.v1.Audit/Query", &q.base, &ecluse__v1__audit_record__descriptor,
                        print_erasure, &l, err);
    cli_sent_notices_free(sent);
    *count = l.count;
    return rc;
}

#define REMOTE_HELP                                                                                \
    "  --identity DIR   an identity of this site (default $ECLUSE_IDENTITY)\n"                     \
    "  --gateway H:P    override the gateway named in identity.json\n"                             \
    "  --json           print JSON\n"

const cli_command cli_dataset_erase = {
    "dataset erase",
    "withdraw rows of a dataset under GDPR Art. 17, on the record",
    "Usage: ecluse dataset erase NAME --rows A:B[,C,...] --reason TEXT [--identity ADMIN_DIR]\n\n"
    "Withdraws the rows from every read from now on (direct, resumed or relayed;\n"
    "grants already issued stay valid for the other rows) and bumps the dataset's\n"
    "version in the site's signed catalog. The withdrawal is its audit entry: both\n"
    "happen, or neither. Rows out of range, rows already erased, an empty or\n"
    "garbled list and an empty reason are refused, change nothing, and the\n"
    "refusal is on the record. Needs a site admin.\n\n"
    "Options:\n"
    "  --rows LIST      A:B is rows A to B-1, C is row C; comma-separated, no overlap\n"
    "  --reason TEXT    why (e.g. the data subject's request and its reference)\n" REMOTE_HELP
    "\nExample:\n  ecluse dataset erase breast-cancer --rows 17,40:42 --reason 'request DSR-118'\n",
    run_dataset_erase,
};

const cli_command cli_audit_recipients = {
    "audit recipients",
    "every read that carried given rows of a dataset (GDPR Art. 17(2), 19)",
    "Usage: ecluse audit recipients DATASET --rows A:B[,C,...] [--json] [--identity DIR]\n\n"
    "From the read entries of this site's trail: for each read that carried any\n"
    "of the rows, who read, their home site (the relaying site for a relayed\n"
    "read), when, the read id, and which of the rows. A read counts from its\n"
    "read-start entry, even if it was cut short. Needs an auditor.\n\n"
    "Options:\n"
    "  --rows LIST      as for dataset erase\n" REMOTE_HELP
    "\nExample:\n  ecluse audit recipients lu/breast-cancer --rows 17,40:42\n",
    run_audit_recipients,
};
