/* cmd_audit.c - `ecluse audit query|verify|export|processing|checkpoint`: the auditor's door. */
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/audit_offline.h"
#include "cli/cli.h"
#include "cli/erasures.h"
#include "cli/options.h"
#include "cli/remote.h"

typedef enum { OUT_TEXT, OUT_JSON, OUT_CSV } out_format;

typedef struct query_args {
    Ecluse__V1__AuditQuery q;
    out_format format;
    FILE *out;
    size_t count;
} query_args;

/* "2026-11-21", "2026-11-21T05:00:00Z" or Unix seconds. */
static int parse_time(const char *option, const char *text, int64_t *out, ecl_err *err)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = strptime(text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (end == NULL || *end != '\0') {
        memset(&tm, 0, sizeof(tm));
        end = strptime(text, "%Y-%m-%d", &tm);
    }
    if (end != NULL && *end == '\0') {
        *out = (int64_t)timegm(&tm);
        return 0;
    }
    long v = 0;
    if (cli_parse_long(option, text, 0, 4102444800L, &v, err) != 0)
        return ecl_fail(err, ECL_E_USAGE,
                        "%s takes a date (2026-11-21), a UTC time "
                        "(2026-11-21T05:00:00Z) or Unix seconds, not '%s'",
                        option, text);
    *out = v;
    return 0;
}

static void iso_ns(int64_t ns, char *buf, size_t cap)
{
    time_t t = (time_t)(ns / 1000000000LL);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, cap - n, ".%03dZ", (int)((ns / 1000000) % 1000));
}

static void csv_field(FILE *out, const char *s, int last)
{
    int quote = strpbrk(s, ",\"\n\r") != NULL;
    if (quote) {
        fputc('"', out);
        for (const char *p = s; *p; p++) {
            if (*p == '"')
                fputc('"', out);
            fputc(*p, out);
        }
        fputc('"', out);
    } else {
        fputs(s, out);
    }
    fputc(last ? '\n' : ',', out);
}

static const char *csv_columns[] = {"seq",     "time",      "kind",       "actor",
                                    "dataset", "purpose",   "decision",   "lawful_basis",
                                    "hash",    "prev_hash", "detail_json"};

static int print_record(const ProtobufCMessage *msg, void *ctx, ecl_err *err)
{
    (void)err;
    query_args *a = ctx;
    const Ecluse__V1__AuditRecord *r = (const Ecluse__V1__AuditRecord *)msg;
    char when[40], seq[24], hash[65] = "", prev[65] = "";
    iso_ns(r->time_unix_ns, when, sizeof(when));
    snprintf(seq, sizeof(seq), "%llu", (unsigned long long)r->seq);
    if (r->hash.len == 32)
        sodium_bin2hex(hash, sizeof(hash), r->hash.data, 32);
    if (r->prev_hash.len == 32)
        sodium_bin2hex(prev, sizeof(prev), r->prev_hash.data, 32);
    a->count++;
    if (a->format == OUT_JSON) {
        json_t *detail = json_loads(r->detail_json, 0, NULL);
        json_t *doc = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s}", "seq",
                                (json_int_t)r->seq, "time", when, "kind", r->kind, "actor",
                                r->actor, "dataset", r->dataset, "purpose", r->purpose, "decision",
                                r->decision, "lawful_basis", r->lawful_basis, "detail",
                                detail ? detail : json_object(), "hash", hash, "prev_hash", prev);
        char *text = json_dumps(doc, JSON_PRESERVE_ORDER | JSON_COMPACT);
        fprintf(a->out, "%s\n", text ? text : "{}");
        free(text);
        json_decref(doc);
    } else if (a->format == OUT_CSV) {
        const char *values[] = {seq,        when,       r->kind,       r->actor,
                                r->dataset, r->purpose, r->decision,   r->lawful_basis,
                                hash,       prev,       r->detail_json};
        for (size_t i = 0; i < 11; i++)
            csv_field(a->out, values[i], i == 10);
    } else {
        fprintf(a->out, "#%-6s %s %-10s %-34s %-22s %-7s %-8s %s\n", seq, when, r->kind, r->actor,
                r->dataset[0] ? r->dataset : "-", r->purpose[0] ? r->purpose : "-",
                r->decision[0] ? r->decision : "-", r->detail_json);
    }
    return 0;
}

static int run_query(int argc, char **argv, int exporting, ecl_err *err)
{
    static const struct option opts[] = {
        CLI_REMOTE_OPTIONS,
        {"csv", no_argument, 0, 'c'},
        {"format", required_argument, 0, 'f'},
        {"output", required_argument, 0, 'o'},
        {"dataset", required_argument, 0, 'd'},
        {"requester", required_argument, 0, 'r'},
        {"purpose", required_argument, 0, 'p'},
        {"decision", required_argument, 0, 'D'},
        {"kind", required_argument, 0, 'k'},
        {"since", required_argument, 0, 's'},
        {"until", required_argument, 0, 'u'},
        {"limit", required_argument, 0, 'l'},
        {0, 0, 0, 0},
    };
    cli_remote r;
    cli_remote_init(&r);
    query_args a;
    memset(&a, 0, sizeof(a));
    ecluse__v1__audit_query__init(&a.q);
    a.out = stdout;
    const char *output = NULL;
    long limit = 0;
    int c;
    while ((c = cli_getopt(argc, argv, opts, err)) != -1) {
        int rc = 0;
        switch (c) {
        case 'c':
            a.format = OUT_CSV;
            break;
        case 'f':
            if (strcmp(optarg, "jsonl") == 0)
                a.format = OUT_JSON;
            else if (strcmp(optarg, "csv") == 0)
                a.format = OUT_CSV;
            else
                rc = ecl_fail(err, ECL_E_USAGE, "--format is jsonl or csv, not '%s'", optarg);
            break;
        case 'o':
            output = optarg;
            break;
        case 'd':
            a.q.dataset = optarg;
            break;
        case 'r':
            a.q.requester = optarg;
            break;
        case 'p':
            a.q.purpose = optarg;
            break;
        case 'D':
            a.q.decision = optarg;
            break;
        case 'k':
            a.q.kind = optarg;
            break;
        case 's':
            rc = parse_time("--since", optarg, &a.q.since_unix, err);
            break;
        case 'u':
            rc = parse_time("--until", optarg, &a.q.until_unix, err);
            break;
        case 'l':
            rc = cli_parse_long("--limit", optarg, 1, 1000000000L, &limit, err);
            a.q.limit = (uint32_t)limit;
            break;
        default:
            rc = c == -2 || !cli_remote_option(&r, c, optarg) ? -1 : 0;
        }
        if (rc != 0)
            return -1;
    }
    if (r.json)
        a.format = OUT_JSON;
    if (exporting && a.format == OUT_TEXT)
        return ecl_fail(err, ECL_E_USAGE, "--format jsonl or --format csv is required");
    if (cli_expect_positionals(argc, argv, 0, "", err) != 0 || cli_remote_open(&r, err) != 0)
        return -1;
    if (output != NULL && (a.out = fopen(output, "w")) == NULL) {
        cli_remote_close(&r);
        return ecl_fail(err, ECL_E_IO, "%s: cannot write", output);
    }
    if (a.format == OUT_CSV)
        for (size_t i = 0; i < 11; i++)
            csv_field(a.out, csv_columns[i], i == 10);
    int rc = cli_stream(&r, "/ecluse.v1.Audit/Query", &a.q.base,
                        &ecluse__v1__audit_record__descriptor, print_record, &a, err);
    cli_remote_close(&r);
    if (output != NULL && fclose(a.out) != 0 && rc == 0)
        rc = ecl_fail(err, ECL_E_IO, "%s: write failed", output);
    if (rc == 0 && a.format == OUT_TEXT)
        printf("%zu entr%s\n", a.count, a.count == 1 ? "y" : "ies");
    if (rc == 0 && output != NULL)
        fprintf(stderr, "wrote %zu entries to %s\n", a.count, output);
    return rc;
}

static int run_audit_query(int argc, char **argv, ecl_err *err)
{
    return run_query(argc, argv, 0, err);
}

static int run_audit_export(int argc, char **argv, ecl_err *err)
{
    return run_query(argc, argv, 1, err);
}

static int run_audit_verify(int argc, char **argv, ecl_err *err)
{
    static const struct option opts[] = {CLI_REMOTE_OPTIONS,
                                         {"no-witnesses", no_argument, 0, 'n'},
                                         {"data-dir", required_argument, 0, 'D'},
                                         {"site-key", required_argument, 0, 'K'},
                                         {"site", required_argument, 0, 'S'},
                                         {0, 0, 0, 0}};
    cli_remote r;
    cli_remote_init(&r);
    Ecluse__V1__VerifyRequest req = ECLUSE__V1__VERIFY_REQUEST__INIT;
    req.with_witnesses = 1;
    audit_offline_options offline = {0};
    int c;
    while ((c = cli_getopt(argc, argv, opts, err)) != -1) {
        if (c == 'n')
            req.with_witnesses = 0;
        else if (c == 'D')
            offline.data_dir = optarg;
        else if (c == 'K')
            offline.site_key_file = optarg;
        else if (c == 'S')
            offline.site = optarg;
        else if (c == -2 || !cli_remote_option(&r, c, optarg))
            return -1;
    }
    if (cli_expect_positionals(argc, argv, 0, "", err) != 0)
        return -1;
    if (offline.data_dir != NULL)
        return audit_verify_offline(&offline, err);
    if (offline.site_key_file != NULL || offline.site != NULL)
        return ecl_fail(err, ECL_E_USAGE, "--site-key and --site go with --data-dir");
    if (cli_remote_open(&r, err) != 0)
        return -1;
    ProtobufCMessage *resp = NULL;
    int rc = cli_call(&r, "/ecluse.v1.Audit/Verify", &req.base,
                      &ecluse__v1__verify_report__descriptor, &resp, err);
    cli_remote_close(&r);
    if (rc != 0)
        return -1;
    const Ecluse__V1__VerifyReport *v = (const Ecluse__V1__VerifyReport *)resp;
    if (v->first_bad_seq == 0 && v->error[0] == '\0')
        printf("audit trail verified: %llu entries, %llu tree nodes, %llu index rows, %llu "
               "checkpoints, chain intact\n",
               (unsigned long long)v->entries, (unsigned long long)v->tree_nodes,
               (unsigned long long)v->index_rows, (unsigned long long)v->checkpoints);
    else
        printf("AUDIT TRAIL BROKEN at entry %llu: %s (%llu entries verified before it)\n",
               (unsigned long long)v->first_bad_seq, v->error, (unsigned long long)v->entries);
    for (size_t i = 0; i < v->n_witnesses; i++) {
        const Ecluse__V1__WitnessResult *w = v->witnesses[i];
        printf("witness %-8s holds %llu checkpoint(s) of this site, %llu consistent with the "
               "trail%s%s\n",
               w->witness, (unsigned long long)w->checkpoints, (unsigned long long)w->consistent,
               w->error[0] ? ": " : "", w->error);
    }
    int ok = v->ok;
    protobuf_c_message_free_unpacked(resp, NULL);
    return ok ? 0 : ecl_fail(err, ECL_E_CRYPTO, "the audit trail does not verify (see above)");
}

static int print_processing(const ProtobufCMessage *msg, void *ctx, ecl_err *err)
{
    (void)err;
    query_args *a = ctx;
    const Ecluse__V1__ProcessingRecord *p = (const Ecluse__V1__ProcessingRecord *)msg;
    char first[32] = "", last[32] = "";
    iso_ns(p->first_unix * 1000000000LL, first, sizeof(first));
    iso_ns(p->last_unix * 1000000000LL, last, sizeof(last));
    a->count++;
    if (a->format == OUT_JSON) {
        json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s}",
                                "dataset", p->dataset, "recipient", p->recipient, "recipient_site",
                                p->recipient_site, "purpose", p->purpose, "lawful_basis",
                                p->lawful_basis, "transfer_basis", p->transfer_basis, "job_country",
                                p->job_country, "reads", (json_int_t)p->reads, "bytes",
                                (json_int_t)p->bytes, "first", first, "last", last);
        char *text = json_dumps(doc, JSON_PRESERVE_ORDER | JSON_COMPACT);
        fprintf(a->out, "%s\n", text ? text : "{}");
        free(text);
        json_decref(doc);
        return 0;
    }
    fprintf(a->out,
            "%s\n  recipient:      %s (site %s)\n  purpose:        %s\n  lawful basis:   %s\n"
            "  transfer basis: %s (job in %s)\n  reads:          %llu, %llu bytes, %s .. %s\n",
            p->dataset, p->recipient, p->recipient_site, p->purpose, p->lawful_basis,
            p->transfer_basis, p->job_country, (unsigned long long)p->reads,
            (unsigned long long)p->bytes, first, last);
    return 0;
}

static int run_audit_processing(int argc, char **argv, ecl_err *err)
{
    static const struct option opts[] = {
        CLI_REMOTE_OPTIONS, {"dataset", required_argument, 0, 'd'}, {0, 0, 0, 0}};
    cli_remote r;
    cli_remote_init(&r);
    Ecluse__V1__ProcessingQuery q = ECLUSE__V1__PROCESSING_QUERY__INIT;
    int c;
    while ((c = cli_getopt(argc, argv, opts, err)) != -1) {
        if (c == 'd')
            q.dataset = optarg;
        else if (c == -2 || !cli_remote_option(&r, c, optarg))
            return -1;
    }
    if (cli_expect_positionals(argc, argv, 0, "", err) != 0 || cli_remote_open(&r, err) != 0)
        return -1;
    query_args a;
    memset(&a, 0, sizeof(a));
    a.out = stdout;
    a.format = r.json ? OUT_JSON : OUT_TEXT;
    if (!r.json)
        printf("Records of processing (GDPR Art. 30)%s%s\n\n", q.dataset[0] ? " for " : "",
               q.dataset);
    int rc = cli_stream(&r, "/ecluse.v1.Audit/Processing", &q.base,
                        &ecluse__v1__processing_record__descriptor, print_processing, &a, err);
    if (rc == 0 && !r.json)
        printf("%zu record(s)\n", a.count);
    size_t erasures = 0;
    if (rc == 0)
        rc = cli_print_erasures(&r, q.dataset, stdout, &erasures, err);
    cli_remote_close(&r);
    if (rc == 0 && !r.json)
        printf("%zu erasure(s)\n", erasures);
    return rc;
}

static int run_audit_checkpoint(int argc, char **argv, ecl_err *err)
{
    static const struct option opts[] = {
        CLI_REMOTE_OPTIONS, {"no-push", no_argument, 0, 'n'}, {0, 0, 0, 0}};
    cli_remote r;
    cli_remote_init(&r);
    Ecluse__V1__SignCheckpointRequest req = ECLUSE__V1__SIGN_CHECKPOINT_REQUEST__INIT;
    req.push_to_peers = 1;
    int c;
    while ((c = cli_getopt(argc, argv, opts, err)) != -1) {
        if (c == 'n')
            req.push_to_peers = 0;
        else if (c == -2 || !cli_remote_option(&r, c, optarg))
            return -1;
    }
    if (cli_expect_positionals(argc, argv, 0, "", err) != 0 || cli_remote_open(&r, err) != 0)
        return -1;
    ProtobufCMessage *resp = NULL;
    int rc = cli_call(&r, "/ecluse.v1.Admin/SignCheckpoint", &req.base,
                      &ecluse__v1__checkpoint_result__descriptor, &resp, err);
    cli_remote_close(&r);
    if (rc != 0)
        return -1;
    const Ecluse__V1__CheckpointResult *res = (const Ecluse__V1__CheckpointResult *)resp;
    size_t failed = 0;
    for (size_t i = 0; i < res->n_witnesses; i++)
        failed += !res->witnesses[i]->ok;
    printf("signed a checkpoint of the audit trail; %zu of %zu peer(s) cosigned it\n",
           res->n_witnesses - failed, res->n_witnesses);
    for (size_t i = 0; i < res->n_witnesses; i++) {
        const Ecluse__V1__WitnessOutcome *w = res->witnesses[i];
        if (w->ok)
            printf("  %-10s cosigned\n", w->witness);
        else
            printf("  %-10s NOT COSIGNED: %s\n", w->witness, w->error);
    }
    if (res->checkpoint != NULL)
        fwrite(res->checkpoint->note.data, 1, res->checkpoint->note.len, stdout);
    protobuf_c_message_free_unpacked(resp, NULL);
    if (failed > 0)
        return ecl_fail(err, ECL_E_PRECONDITION,
                        "%zu peer(s) did not cosign the checkpoint (see above)", failed);
    return 0;
}

#define REMOTE_HELP                                                                                \
    "  --identity DIR   an auditor identity of this site (default $ECLUSE_IDENTITY)\n"             \
    "  --gateway H:P    override the gateway named in identity.json\n"

#define FILTER_HELP                                                                                \
    "  --dataset ID --requester SPIFFE --purpose CODE --decision permit|deny\n"                    \
    "  --kind access|read-start|read-end|peer|catalog|admin|witness\n"                             \
    "  --since T --until T  (2026-11-21, 2026-11-21T05:00:00Z or Unix seconds)\n"                  \
    "  --limit N\n"

const cli_command cli_audit_query = {
    "audit query",
    "list audit entries: who read what, when, why, on which legal basis",
    "Usage: ecluse audit query [filters] [--json | --csv] [--identity DIR]\n\n"
    "Entries matching every filter, oldest first, from the site's tamper-evident\n"
    "trail (docs/audit-format.md).\n\nFilters:\n" FILTER_HELP "Options:\n"
    "  --json / --csv   one JSON object per line / CSV with a header row\n" REMOTE_HELP
    "\nExample:\n  ecluse audit query --dataset lu/breast-cancer --decision permit --since "
    "2026-11-01\n",
    run_audit_query,
};

const cli_command cli_audit_export = {
    "audit export",
    "export audit entries as JSON lines or CSV",
    "Usage: ecluse audit export --format jsonl|csv [filters] [-o FILE] [--identity DIR]\n\n"
    "Filters:\n" FILTER_HELP
    "Options:\n  --output FILE    write there instead of stdout\n" REMOTE_HELP
    "\nExample:\n  ecluse audit export --format csv -o lu-audit.csv\n",
    run_audit_export,
};

const cli_command cli_audit_verify = {
    "audit verify",
    "verify the hash chain, the checkpoints, and what peers witnessed",
    "Usage: ecluse audit verify [--no-witnesses] [--identity DIR]\n"
    "       ecluse audit verify --data-dir DIR [--site-key FILE] [--site ID]\n\n"
    "Checks every entry's hash and link, the Merkle tree, every index both ways,\n"
    "every checkpoint the site signed (against the site's key history, never a\n"
    "key a checkpoint names) and every cosignature of a peer, and asks each peer\n"
    "for the latest checkpoint of this site it cosigned and checks it against the\n"
    "trail. With --data-dir, checks a site's data directory read-only, with no\n"
    "gateway (the peers are not asked). Prints how much was verified, or exactly\n"
    "where the trail breaks; exits 10 if anything does not verify.\n\nOptions:\n"
    "  --no-witnesses   do not ask the peers\n"
    "  --data-dir DIR   offline: the site's data directory (audit/ and state/)\n"
    "  --site-key FILE  offline: a public key of the site you trust (a .pub file);\n"
    "                   only the key history from it on is trusted\n"
    "  --site ID        offline: the site id (default: from its latest checkpoint)\n" REMOTE_HELP
    "\nExamples:\n  ecluse audit verify --identity ~/.ecluse/auditor-lu\n"
    "  ecluse audit verify --data-dir /srv/lu/data --site-key lu-site.key.pub\n",
    run_audit_verify,
};

const cli_command cli_audit_processing = {
    "audit processing",
    "records-of-processing summary per dataset (GDPR Art. 30)",
    "Usage: ecluse audit processing [--dataset ID] [--json] [--identity DIR]\n\n"
    "For each dataset: who received data, for which purpose, under which lawful\n"
    "and transfer basis, to which country, how many reads and bytes, when; then\n"
    "each erasure of rows (GDPR Art. 17): when, which rows, the version it made,\n"
    "by whom and why (JSON: objects with \"record\":\"erasure\").\n\n"
    "Options:\n  --dataset ID     one dataset\n  --json           one JSON object per "
    "line\n" REMOTE_HELP "\nExample:\n  ecluse audit processing --dataset lu/breast-cancer\n",
    run_audit_processing,
};

const cli_command cli_audit_checkpoint = {
    "audit checkpoint",
    "sign a checkpoint of the audit trail now and hand it to the peers",
    "Usage: ecluse audit checkpoint [--no-push] [--identity ADMIN_DIR]\n\n"
    "Prints the checkpoint (a C2SP signed note with the peers' cosignatures) and\n"
    "what each peer said. The gateway also does this every audit.checkpoint_ms\n"
    "while entries are pending, and at a clean stop. Exits 9 if a peer did not\n"
    "cosign (it refused, and says why, or could not be reached).\n\n"
    "Options:\n  --no-push        sign only\n  --identity DIR   an admin identity of this site\n"
    "\nExample:\n  ecluse audit checkpoint --identity ~/.ecluse/admin-lu\n",
    run_audit_checkpoint,
};
