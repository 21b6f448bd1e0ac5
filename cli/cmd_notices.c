/* cmd_notices.c - `ecluse notices [ack ID]` (the home site: erasure notices
 * concerning its researchers' reads) and `ecluse audit notices` (the
 * holding site: the notices it sent, and which are still unacknowledged). */
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/notices.h"
#include "cli/options.h"
#include "cli/remote.h"
#include "client/erase_rows.h"
#include "client/fetch_record.h"

static void utc(int64_t t, char *buf, size_t cap)
{
    if (t == 0) {
        snprintf(buf, cap, "-");
        return;
    }
    time_t s = (time_t)t;
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *ranges_json(Ecluse__V1__RowRange *const *r, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a,
                              json_pack("[I, I]", (json_int_t)r[i]->begin, (json_int_t)r[i]->end));
    return a;
}

static void print_ranges(FILE *out, Ecluse__V1__RowRange *const *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%s%llu:%llu", i ? "," : "", (unsigned long long)r[i]->begin,
                (unsigned long long)r[i]->end);
}

/* Base64 (standard, padded) of `d`, for an independent verifier. */
static json_t *b64(ProtobufCBinaryData d)
{
    size_t cap = sodium_base64_ENCODED_LEN(d.len, sodium_base64_VARIANT_ORIGINAL);
    char *text = malloc(cap);
    if (text == NULL)
        return json_string("");
    sodium_bin2base64(text, cap, d.data, d.len, sodium_base64_VARIANT_ORIGINAL);
    json_t *j = json_string(text);
    free(text);
    return j;
}

static json_t *view_json(const Ecluse__V1__ErasureNoticeRecord *rec,
                         const Ecluse__V1__ErasureNoticeBody *b)
{
    char issued[32], delivered[32], acked[32];
    utc(b->issued_unix, issued, sizeof(issued));
    utc(rec->delivered_unix, delivered, sizeof(delivered));
    utc(rec->acked_unix, acked, sizeof(acked));
    json_t *reads = json_array();
    for (size_t i = 0; i < b->n_reads; i++)
        json_array_append_new(reads,
                              json_pack("{s:s, s:s, s:o}", "read_id", b->reads[i]->read_id,
                                        "reader", b->reads[i]->reader, "rows",
                                        ranges_json(b->reads[i]->rows, b->reads[i]->n_rows)));
    json_t *doc = json_pack(
        "{s:s, s:s, s:s, s:s, s:I, s:o, s:o, s:s, s:s, s:s, s:s, s:s, s:s, s:i, "
        "s:s}",
        "notice_id", b->notice_id, "holding_site", b->holding_site, "home_site", b->home_site,
        "dataset", b->dataset, "dataset_version", (json_int_t)b->dataset_version, "rows",
        ranges_json(b->rows, b->n_rows), "reads", reads, "obligation", b->obligation, "state",
        rec->state, "issued", issued, "delivered", delivered, "acknowledged", acked, "deleted_by",
        rec->deleted_by, "attempts", (int)rec->attempts, "last_error", rec->last_error);
    if (doc != NULL && rec->notice != NULL) {
        json_object_set_new(doc, "signed_body", b64(rec->notice->body));
        json_object_set_new(doc, "signature", b64(rec->notice->signature));
    }
    return doc;
}

typedef struct list_ctx {
    int json;
    size_t count;
} list_ctx;

static int print_view(const ProtobufCMessage *msg, void *ctx, ecl_err *err)
{
    list_ctx *l = ctx;
    const Ecluse__V1__NoticeView *v = (const Ecluse__V1__NoticeView *)msg;
    if (v->record == NULL || v->body == NULL)
        return ecl_fail(err, ECL_E_INPUT, "the gateway sent a notice without its body");
    const Ecluse__V1__ErasureNoticeRecord *rec = v->record;
    const Ecluse__V1__ErasureNoticeBody *b = v->body;
    l->count++;
    if (l->json) {
        json_t *doc = view_json(rec, b);
        char *text = json_dumps(doc, JSON_PRESERVE_ORDER | JSON_COMPACT);
        printf("%s\n", text ? text : "{}");
        free(text);
        json_decref(doc);
        return 0;
    }
    char issued[32], delivered[32], acked[32];
    utc(b->issued_unix, issued, sizeof(issued));
    utc(rec->delivered_unix, delivered, sizeof(delivered));
    utc(rec->acked_unix, acked, sizeof(acked));
    printf("notice %s  %s\n  from %s to %s, issued %s\n  dataset %s (version %llu), rows erased ",
           b->notice_id, rec->state, b->holding_site, b->home_site, issued, b->dataset,
           (unsigned long long)b->dataset_version);
    print_ranges(stdout, b->rows, b->n_rows);
    printf("\n");
    for (size_t i = 0; i < b->n_reads; i++) {
        printf("  read %s by %s: rows ", b->reads[i]->read_id, b->reads[i]->reader);
        print_ranges(stdout, b->reads[i]->rows, b->reads[i]->n_rows);
        printf("\n");
    }
    printf("  delivered %s; acknowledged %s%s%s\n", delivered, acked,
           rec->deleted_by[0] ? " by " : "", rec->deleted_by);
    if (rec->last_error[0])
        printf("  last delivery attempt (%u so far) failed: %s\n", rec->attempts, rec->last_error);
    printf("  obligation: %s\n\n", b->obligation);
    return 0;
}

static int run_list(int argc, char **argv, const char *method, const char *title, ecl_err *err)
{
    static const struct option opts[] = {
        CLI_REMOTE_OPTIONS, {"pending", no_argument, 0, 'p'}, {0, 0, 0, 0}};
    cli_remote r;
    cli_remote_init(&r);
    Ecluse__V1__NoticeQuery q = ECLUSE__V1__NOTICE_QUERY__INIT;
    int c;
    while ((c = cli_getopt(argc, argv, opts, err)) != -1) {
        if (c == 'p')
            q.pending_only = 1;
        else if (c == -2 || !cli_remote_option(&r, c, optarg))
            return -1;
    }
    if (cli_expect_positionals(argc, argv, 0, "", err) != 0 || cli_remote_open(&r, err) != 0)
        return -1;
    list_ctx l = {r.json, 0};
    if (!r.json)
        printf("%s%s\n\n", title, q.pending_only ? " (not yet acknowledged)" : "");
    int rc =
        cli_stream(&r, method, &q.base, &ecluse__v1__notice_view__descriptor, print_view, &l, err);
    cli_remote_close(&r);
    if (rc == 0 && !r.json)
        printf("%zu notice(s)\n", l.count);
    return rc;
}

static int run_notices(int argc, char **argv, ecl_err *err)
{
    return run_list(argc, argv, "/ecluse.v1.Notices/List", "Erasure notices received", err);
}

static int run_audit_notices(int argc, char **argv, ecl_err *err)
{
    return run_list(argc, argv, "/ecluse.v1.Notices/Sent", "Erasure notices sent", err);
}

static int run_notices_ack(int argc, char **argv, ecl_err *err)
{
    cli_remote r;
    cli_remote_init(&r);
    if (cli_remote_parse(argc, argv, &r, 1, "a notice id", err) != 0)
        return -1;
    Ecluse__V1__NoticeAckRequest req = ECLUSE__V1__NOTICE_ACK_REQUEST__INIT;
    req.notice_id = argv[cli_optind()];
    if (cli_remote_open(&r, err) != 0)
        return -1;
    ProtobufCMessage *resp = NULL;
    int rc = cli_call(&r, "/ecluse.v1.Notices/Ack", &req.base, &ecluse__v1__notice_view__descriptor,
                      &resp, err);
    cli_remote_close(&r);
    if (rc != 0)
        return -1;
    const Ecluse__V1__NoticeView *v = (const Ecluse__V1__NoticeView *)resp;
    if (r.json) {
        list_ctx l = {1, 0};
        rc = print_view(resp, &l, err);
    } else {
        printf("erasure notice %s: deletion recorded by %s; the holding site %s is told\n",
               req.notice_id, v->record ? v->record->deleted_by : "?",
               v->body ? v->body->holding_site : "?");
    }
    protobuf_c_message_free_unpacked(resp, NULL);
    return rc;
}

/* --- notices apply: the rows out of the files this person fetched --- */

typedef struct found_notice {
    const char *id;
    Ecluse__V1__NoticeView *view; /* a copy, once found */
} found_notice;

static int keep_if_id(const ProtobufCMessage *msg, void *ctx, ecl_err *err)
{
    found_notice *f = ctx;
    const Ecluse__V1__NoticeView *v = (const Ecluse__V1__NoticeView *)msg;
    if (v->body == NULL || strcmp(v->body->notice_id, f->id) != 0 || f->view != NULL)
        return 0;
    size_t len = protobuf_c_message_get_packed_size(msg);
    unsigned char *buf = malloc(len ? len : 1);
    if (buf == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    protobuf_c_message_pack(msg, buf);
    f->view = ecluse__v1__notice_view__unpack(NULL, len, buf);
    free(buf);
    return f->view != NULL ? 0 : ecl_fail(err, ECL_E_INTERNAL, "out of memory");
}

/* Remove the erased rows of `read` from the file its fetch record names. */
static int apply_read(const char *dir, const Ecluse__V1__ErasedRead *read, int json, ecl_err *err)
{
    ecl_fetch_record rec;
    if (!ecl_fetch_read_id_valid(read->read_id))
        return ecl_fail(err, ECL_E_INPUT, "the notice names read id '%.64s', which cannot be one",
                        read->read_id);
    if (ecl_fetch_record_load(dir, read->read_id, &rec, err) != 0) {
        if (err->code == ECL_E_NOT_FOUND)
            ecl_fail(err, ECL_E_NOT_FOUND,
                     "no fetch record of read %s in %s: that copy was not written by `ecluse "
                     "fetch` here; delete rows of it yourself before you acknowledge",
                     read->read_id, dir);
        return -1;
    }
    ecl_row_range *rows = calloc(read->n_rows + 1, sizeof(*rows));
    int rc = rows != NULL ? 0 : ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    for (size_t i = 0; rc == 0 && i < read->n_rows; i++) {
        rows[i].begin = read->rows[i]->begin;
        rows[i].end = read->rows[i]->end;
    }
    ecl_erase_result res = {0};
    if (rc == 0)
        rc = ecl_erase_rows(dir, &rec, rows, read->n_rows, &res, err);
    if (rc == 0 && json) {
        json_t *doc = json_pack("{s:s, s:s, s:I, s:I, s:I}", "read_id", read->read_id, "file",
                                rec.file, "removed", (json_int_t)res.removed, "not_in_file",
                                (json_int_t)res.absent, "left", (json_int_t)res.left);
        char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        printf("%s\n", text != NULL ? text : "{}");
        free(text);
        json_decref(doc);
    } else if (rc == 0)
        printf("read %s: %s: %llu row(s) removed, %llu not in the file, %llu left\n", read->read_id,
               rec.file, (unsigned long long)res.removed, (unsigned long long)res.absent,
               (unsigned long long)res.left);
    else
        ecl_err_prefix(err, "read %s, file %s", read->read_id, rec.file);
    free(rows);
    ecl_fetch_record_clear(&rec);
    return rc;
}

static int run_notices_apply(int argc, char **argv, ecl_err *err)
{
    cli_remote r;
    cli_remote_init(&r);
    if (cli_remote_parse(argc, argv, &r, 1, "a notice id", err) != 0)
        return -1;
    char dir[PATH_MAX];
    if (ecl_fetch_records_dir(dir, sizeof(dir), err) != 0 || cli_remote_open(&r, err) != 0)
        return -1;
    char me[ECL_SPIFFE_MAX];
    snprintf(me, sizeof(me), "%s", ecl_client_identity(r.client)->spiffe);
    Ecluse__V1__NoticeQuery q = ECLUSE__V1__NOTICE_QUERY__INIT;
    found_notice f = {argv[cli_optind()], NULL};
    int rc = cli_stream(&r, "/ecluse.v1.Notices/List", &q.base,
                        &ecluse__v1__notice_view__descriptor, keep_if_id, &f, err);
    cli_remote_close(&r);
    if (rc != 0)
        return -1;
    if (f.view == NULL)
        return ecl_fail(err, ECL_E_NOT_FOUND, "no erasure notice '%.64s' concerns %s", f.id, me);
    const Ecluse__V1__ErasureNoticeBody *b = f.view->body;
    size_t mine = 0, failed = 0;
    ecl_err first = {0};
    for (size_t i = 0; i < b->n_reads; i++) {
        if (strcmp(b->reads[i]->reader, me) != 0)
            continue;
        mine++;
        ecl_err e;
        if (apply_read(dir, b->reads[i], r.json, &e) != 0) {
            fprintf(stderr, "read %s: %s\n", b->reads[i]->read_id, e.msg);
            if (failed++ == 0)
                first = e;
        }
    }
    ecluse__v1__notice_view__free_unpacked(f.view, NULL);
    if (mine == 0)
        return ecl_fail(err, ECL_E_NOT_FOUND, "erasure notice %s names no read of yours (%s)",
                        argv[cli_optind()], me);
    if (failed > 0) {
        *err = first;
        return ecl_err_prefix(err, "%zu of %zu read(s) not done", failed, mine);
    }
    if (!r.json)
        printf("the rows are out of every file fetched here; now: ecluse notices ack %s\n",
               argv[cli_optind()]);
    return 0;
}

#define REMOTE_HELP                                                                                \
    "  --identity DIR   an identity of this site (default $ECLUSE_IDENTITY)\n"                     \
    "  --gateway H:P    override the gateway named in identity.json\n"                             \
    "  --json           one JSON object per notice\n"

const cli_command cli_notices_ack = {
    "notices ack",
    "record that the copy an erasure notice concerns was deleted",
    "Usage: ecluse notices ack ID [--identity DIR]\n\n"
    "Records in this site's audit trail that the rows erasure notice ID names\n"
    "were deleted from every copy you hold, and passes a signed acknowledgement\n"
    "back to the holding site, whose trail records it (docs/erasure-notices.md).\n"
    "A researcher acknowledges notices naming their reads; an admin any.\n\nOptions:\n" REMOTE_HELP
    "\nExample:\n  ecluse notices ack 3f2a91c0d4e5f60718293a4b5c6d7e8f\n",
    run_notices_ack,
};

const cli_command cli_notices_apply = {
    "notices apply",
    "remove the rows an erasure notice names from the files you fetched",
    "Usage: ecluse notices apply ID [--json] [--identity DIR]\n\n"
    "For each read of yours that erasure notice ID names, finds the file `ecluse\n"
    "fetch` wrote from its fetch record (docs/cli.md, \"Fetch records\") and\n"
    "removes the erased rows from it in place, safely: the file becomes byte for\n"
    "byte a fetch of the rows that remain (`fetches erase-rows`). Refuses, and\n"
    "says why, a read with no fetch record here or a file that changed since its\n"
    "fetch. It does not acknowledge the notice: run `ecluse notices ack ID` once\n"
    "every copy is gone. With --json, one JSON object per read: read_id, file,\n"
    "removed, not_in_file, left.\n\nOptions:\n" REMOTE_HELP
    "\nExample:\n  ecluse notices apply 3f2a91c0d4e5f60718293a4b5c6d7e8f\n",
    run_notices_apply,
};

const cli_command cli_notices = {
    "notices",
    "erasure notices (GDPR Art. 17(2), Art. 19) concerning your reads",
    "Usage: ecluse notices [--pending] [--json] [--identity DIR]\n"
    "       ecluse notices ack ID\n\n"
    "Erasure notices this site received from holding sites: the dataset, its\n"
    "version, the rows erased (begin:end, end exclusive), each read that carried\n"
    "them and the obligation to delete. A researcher sees the notices naming\n"
    "their own reads; an auditor or admin sees all.\n\nOptions:\n"
    "  --pending        only those not yet acknowledged\n" REMOTE_HELP
    "\nExample:\n  ecluse notices --pending\n",
    run_notices,
};

const cli_command cli_audit_notices = {
    "audit notices",
    "erasure notices this site sent, and which are still unacknowledged",
    "Usage: ecluse audit notices [--pending] [--json] [--identity DIR]\n\n"
    "Every erasure notice this site sent as the holding site, with its state:\n"
    "pending (not yet delivered; with the last delivery error), delivered, or\n"
    "acknowledged (the home site says the copy was deleted, and by whom).\n\n"
    "Options:\n  --pending        only those not yet acknowledged\n" REMOTE_HELP
    "\nExample:\n  ecluse audit notices --pending --identity ~/.ecluse/auditor-lu\n",
    run_audit_notices,
};

/* --- the notices of each erasure, for audit processing --- */

struct cli_sent_notices {
    Ecluse__V1__NoticeView **views;
    size_t count;
};

static int keep_view(const ProtobufCMessage *msg, void *ctx, ecl_err *err)
{
    cli_sent_notices *s = ctx;
    Ecluse__V1__NoticeView **more = realloc(s->views, (s->count + 1) * sizeof(*more));
    if (more == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    s->views = more;
    size_t len = protobuf_c_message_get_packed_size(msg);
    unsigned char *buf = malloc(len ? len : 1);
    if (buf == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    protobuf_c_message_pack(msg, buf);
    s->views[s->count] = ecluse__v1__notice_view__unpack(NULL, len, buf);
    free(buf);
    if (s->views[s->count] == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    s->count++;
    return 0;
}

void cli_sent_notices_free(cli_sent_notices *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->count; i++)
        ecluse__v1__notice_view__free_unpacked(s->views[i], NULL);
    free(s->views);
    free(s);
}

int cli_sent_notices_load(cli_remote *r, cli_sent_notices **out, ecl_err *err)
{
    cli_sent_notices *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    Ecluse__V1__NoticeQuery q = ECLUSE__V1__NOTICE_QUERY__INIT;
    if (cli_stream(r, "/ecluse.v1.Notices/Sent", &q.base, &ecluse__v1__notice_view__descriptor,
                   keep_view, s, err) != 0) {
        cli_sent_notices_free(s);
        return -1;
    }
    *out = s;
    return 0;
}

static int of_erasure(const Ecluse__V1__NoticeView *v, uint64_t seq)
{
    return v->record != NULL && v->body != NULL && v->record->erasure_seq == seq;
}

void cli_sent_notices_state(const cli_sent_notices *s, uint64_t erasure_seq, char *buf, size_t cap)
{
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; s != NULL && i < s->count && at < cap; i++) {
        const Ecluse__V1__NoticeView *v = s->views[i];
        if (!of_erasure(v, erasure_seq))
            continue;
        const Ecluse__V1__ErasureNoticeRecord *rec = v->record;
        int w =
            snprintf(buf + at, cap - at, "%s%s %s", at ? ", " : "", v->body->home_site, rec->state);
        if (w > 0 && (size_t)w < cap - at && rec->deleted_by[0])
            w += snprintf(buf + at + w, cap - at - (size_t)w, " (by %s)", rec->deleted_by);
        else if (w > 0 && (size_t)w < cap - at && rec->last_error[0])
            w += snprintf(buf + at + w, cap - at - (size_t)w, " (%u attempt(s); last: %s)",
                          rec->attempts, rec->last_error);
        if (w < 0)
            break;
        at += (size_t)w;
    }
    if (at == 0)
        snprintf(buf, cap, "none sent");
}

json_t *cli_sent_notices_json(const cli_sent_notices *s, uint64_t erasure_seq)
{
    json_t *a = json_array();
    for (size_t i = 0; s != NULL && i < s->count; i++) {
        const Ecluse__V1__NoticeView *v = s->views[i];
        if (of_erasure(v, erasure_seq))
            json_array_append_new(
                a, json_pack("{s:s, s:s, s:s, s:s, s:s}", "notice_id", v->body->notice_id, "site",
                             v->body->home_site, "state", v->record->state, "deleted_by",
                             v->record->deleted_by, "last_error", v->record->last_error));
    }
    return a;
}
