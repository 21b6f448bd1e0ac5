/* svc_erase.c - erasure under GDPR Art. 17: Admin.EraseRows withdraws rows
 * on the record, Audit.Recipients finds who already read them
 * (docs/policy.md, "Erasure"). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "audit/recipients.h"
#include "common/log.h"
#include "gateway/gateway.h"
#include "store/rowlist.h"

#define ERASE_REASON_MAX 1024u /* bytes of the reason kept on the record */
#define ERASE_UNNAMED    "-"   /* the dataset field of a refusal naming none of ours */

typedef struct erasure {
    char id[ECL_SITE_ID_MAX + ECL_NAME_MAX + 1]; /* "" until resolved */
    store_rowset *rows;                          /* as asked, once parsed */
    uint64_t dataset_rows;
} erasure;

/* "<name>" or "<this site>/<name>" -> "<this site>/<name>". */
static int resolve(gateway *gw, const char *given, erasure *x, ecl_err *err)
{
    size_t n = strlen(gw->cfg.site);
    const char *name = given;
    if (strchr(given, '/') != NULL) {
        if (strncmp(given, gw->cfg.site, n) != 0 || given[n] != '/')
            return ecl_fail(err, ECL_E_INPUT,
                            "'%.300s' is not a dataset of this site ('%s/<name>')", given,
                            gw->cfg.site);
        name = given + n + 1;
    }
    if (!person_name_is_valid(name))
        return ecl_fail(err, ECL_E_INPUT,
                        "dataset name '%.300s' is not valid: 1-63 of A-Z a-z 0-9 . _ -", name);
    snprintf(x->id, sizeof(x->id), "%s/%s", gw->cfg.site, name);
    return 0;
}

static int held_rows(gateway *gw, erasure *x, ecl_err *err)
{
    unsigned char *bytes = NULL;
    size_t len = 0;
    if (fed_state_get_dataset(gw->state, x->id, &bytes, &len, err) != 0)
        return err->code == ECL_E_NOT_FOUND
                   ? ecl_fail(err, ECL_E_NOT_FOUND, "dataset '%s' is not held here", x->id)
                   : -1;
    Ecluse__V1__DatasetEntry *e = ecluse__v1__dataset_entry__unpack(NULL, len, bytes);
    free(bytes);
    if (e == NULL)
        return ecl_fail(err, ECL_E_INPUT, "the stored entry of dataset '%s' does not decode",
                        x->id);
    x->dataset_rows = e->rows;
    ecluse__v1__dataset_entry__free_unpacked(e, NULL);
    return 0;
}

/* Every row asked for exists, and none is withdrawn yet. */
static int check_rows(const erasure *x, const char *asked, const store_rowset *erased, ecl_err *err)
{
    size_t n = store_rowset_range_count(x->rows);
    uint64_t b, e;
    /* The first row asked for that is not there. */
    for (size_t i = 0; i < n; i++) {
        store_rowset_range(x->rows, i, &b, &e);
        if (e > x->dataset_rows)
            return ecl_fail(err, ECL_E_INPUT,
                            "rows '%.64s': row %" PRIu64
                            " is out of range: dataset '%s' has %" PRIu64 " rows (0 to %" PRIu64
                            ")",
                            asked, b > x->dataset_rows ? b : x->dataset_rows, x->id,
                            x->dataset_rows, x->dataset_rows ? x->dataset_rows - 1 : 0);
    }
    store_rowset *again = NULL;
    if (store_rowset_new(&again, err) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < store_rowset_range_count(erased); i++) {
        uint64_t eb, ee;
        store_rowset_range(erased, i, &eb, &ee);
        for (size_t j = 0; rc == 0 && j < n; j++) {
            store_rowset_range(x->rows, j, &b, &e);
            uint64_t lo = b > eb ? b : eb, hi = e < ee ? e : ee;
            if (lo < hi)
                rc = store_rowset_add(again, lo, hi, err);
        }
    }
    if (rc == 0 && store_rowset_rows(again) > 0) {
        char list[256];
        store_rowlist_format(again, list, sizeof(list));
        rc =
            ecl_fail(err, ECL_E_PRECONDITION,
                     "rows %s of dataset '%s' are already erased: nothing was erased", list, x->id);
    }
    store_rowset_free(again);
    return rc;
}

static json_t *ranges_json(const store_rowset *rs)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && rs != NULL && i < store_rowset_range_count(rs); i++) {
        uint64_t b, e;
        store_rowset_range(rs, i, &b, &e);
        json_array_append_new(a, json_pack("[II]", (json_int_t)b, (json_int_t)e));
    }
    return a;
}

/* Text from the request, as JSON: protobuf-c does not check UTF-8. */
static json_t *text(const char *s, size_t max)
{
    json_t *j = json_stringn(s, strnlen(s, max));
    return j != NULL ? j : json_string("(not valid UTF-8)");
}

/* A refused erasure on the record: it changed nothing. */
static void record_refusal(gateway *gw, const char *by, const erasure *x,
                           const Ecluse__V1__EraseRowsRequest *req, const ecl_err *why)
{
    json_t *d =
        json_pack("{s:o,s:o,s:o,s:o}", "rows", ranges_json(x->rows), "asked",
                  text(req->rows, STORE_ROWLIST_MAX_TEXT), "reason",
                  text(req->reason, ERASE_REASON_MAX), "refused", text(why->msg, sizeof(why->msg)));
    if (d != NULL && x->id[0] == '\0')
        json_object_set_new(d, "dataset_given", text(req->dataset, 300));
    audit_entry e = {0};
    e.kind = AUDIT_KIND_ERASURE;
    e.actor = by;
    e.dataset = x->id[0] != '\0' ? x->id : ERASE_UNNAMED;
    e.decision = "deny";
    ecl_err lost;
    if (d == NULL || gateway_record_entry(gw, &e, d, NULL, &lost) != 0)
        ecl_log(ECL_LOG_ERROR, "erasure.refusal_unrecorded", "dataset", e.dataset, "refused",
                why->msg, NULL);
}

/* The erasure itself, under erase_lock: check against what is withdrawn,
 * then one audit entry that is the withdrawal. */
static int erase(gateway *gw, const char *by, const erasure *x,
                 const Ecluse__V1__EraseRowsRequest *req, Ecluse__V1__EraseRowsResponse *resp,
                 ecl_err *err)
{
    struct erased_set *s = NULL;
    pthread_mutex_lock(&gw->catalog_lock); /* no catalog signed half-way (gateway.h) */
    if (gateway_erased_lock(gw, x->id, &s, err) != 0) {
        pthread_mutex_unlock(&gw->catalog_lock);
        return -1;
    }
    int rc = check_rows(x, req->rows, gateway_erased_rows(s), err);
    uint64_t before = store_rowset_rows_in(gateway_erased_rows(s), 0, x->dataset_rows);
    uint64_t erased = before + store_rowset_rows(x->rows);
    uint64_t version = gateway_erased_count(s) + 2;
    if (rc == 0) {
        json_t *d = json_pack("{s:o,s:o,s:I,s:I,s:I}", "rows", ranges_json(x->rows), "reason",
                              text(req->reason, ERASE_REASON_MAX), "version", (json_int_t)version,
                              "erased_rows", (json_int_t)erased, "dataset_rows",
                              (json_int_t)x->dataset_rows);
        audit_entry e = {0};
        e.kind = AUDIT_KIND_ERASURE;
        e.actor = by;
        e.dataset = x->id;
        e.decision = "permit";
        rc = d == NULL ? ecl_fail(err, ECL_E_INTERNAL, "out of memory")
                       : gateway_record_entry(gw, &e, d, &resp->seq, err);
    }
    if (rc == 0)
        gateway_erased_add(gw, s, x->rows);
    gateway_erased_unlock(gw);
    pthread_mutex_unlock(&gw->catalog_lock);
    resp->version = version;
    resp->erased_rows = erased;
    resp->remaining_rows = x->dataset_rows - erased;
    return rc;
}

int svc_admin_erase_rows(rpc_call *call, const ProtobufCMessage *request, void *ctx, ecl_err *err)
{
    const Ecluse__V1__EraseRowsRequest *req = (const Ecluse__V1__EraseRowsRequest *)request;
    gateway *gw = ctx;
    const char *by = rpc_call_identity(call)->spiffe;
    erasure x;
    memset(&x, 0, sizeof(x));
    Ecluse__V1__EraseRowsResponse resp = ECLUSE__V1__ERASE_ROWS_RESPONSE__INIT;
    int rc = resolve(gw, req->dataset, &x, err);
    if (rc == 0)
        rc = held_rows(gw, &x, err);
    if (rc == 0 && req->reason[0] == '\0')
        rc = ecl_fail(err, ECL_E_INPUT, "an erasure needs a reason (--reason)");
    if (rc == 0 && strlen(req->reason) > ERASE_REASON_MAX)
        rc = ecl_fail(err, ECL_E_INPUT, "the reason is %zu bytes, more than %u",
                      strlen(req->reason), ERASE_REASON_MAX);
    json_t *utf8 = rc == 0 ? json_string(req->reason) : NULL;
    if (rc == 0 && utf8 == NULL)
        rc = ecl_fail(err, ECL_E_INPUT, "the reason is not valid UTF-8");
    json_decref(utf8);
    if (rc == 0 && store_rowlist_parse(req->rows, &x.rows, err) != 0)
        rc = -1;
    if (rc == 0)
        rc = erase(gw, by, &x, req, &resp, err);
    if (rc != 0) {
        /* A trail that cannot be written cannot take the refusal either. */
        if (err->code != ECL_E_UNAVAILABLE)
            record_refusal(gw, by, &x, req, err);
        store_rowset_free(x.rows);
        return -1;
    }
    char rows[128], v[24];
    store_rowlist_format(x.rows, rows, sizeof(rows));
    snprintf(v, sizeof(v), "%" PRIu64, resp.version);
    ecl_log(ECL_LOG_INFO, "dataset.rows_erased", "id", x.id, "rows", rows, "version", v, "by", by,
            NULL);
    store_rowset_free(x.rows);
    gateway_notify_peers(gw);
    gateway_erasure_kick(gw); /* its notices to the recipients (erasure_out.c) */
    return rpc_call_reply(call, &resp.base, err);
}

/* ---- Audit.Recipients ----------------------------------------------------- */

static int send_recipient(rpc_call *call, const audit_recipient *r, ecl_err *err)
{
    Ecluse__V1__RowRange *ranges = calloc(r->n_rows, sizeof(*ranges));
    Ecluse__V1__RowRange **ptrs = calloc(r->n_rows, sizeof(*ptrs));
    int rc = ranges != NULL && ptrs != NULL ? 0 : ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    for (size_t i = 0; rc == 0 && i < r->n_rows; i++) {
        ecluse__v1__row_range__init(&ranges[i]);
        ranges[i].begin = r->rows[i].begin;
        ranges[i].end = r->rows[i].end;
        ptrs[i] = &ranges[i];
    }
    Ecluse__V1__Recipient m = ECLUSE__V1__RECIPIENT__INIT;
    m.reader = (char *)r->reader;
    m.home_site = (char *)r->home_site;
    m.via = (char *)r->via;
    m.time_unix_ns = r->time_ns;
    m.read_id = (char *)r->read_id;
    m.seq = r->seq;
    m.n_rows = r->n_rows;
    m.rows = ptrs;
    if (rc == 0)
        rc = rpc_call_send(call, &m.base, err);
    free(ranges);
    free(ptrs);
    return rc;
}

int svc_audit_recipients(rpc_call *call, const ProtobufCMessage *request, void *ctx, ecl_err *err)
{
    const Ecluse__V1__RecipientsQuery *q = (const Ecluse__V1__RecipientsQuery *)request;
    gateway *gw = ctx;
    store_rowset *rs = NULL;
    if (q->dataset[0] == '\0')
        return ecl_fail(err, ECL_E_INPUT, "recipients: no dataset given");
    if (store_rowlist_parse(q->rows, &rs, err) != 0)
        return -1;
    size_t n = store_rowset_range_count(rs);
    audit_row_range *ask = calloc(n, sizeof(*ask));
    if (ask == NULL) {
        store_rowset_free(rs);
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        store_rowset_range(rs, i, &ask[i].begin, &ask[i].end);
    store_rowset_free(rs);
    audit_recipient *found = NULL;
    size_t count = 0;
    int rc = audit_recipients(gw->audit, q->dataset, ask, n, &found, &count, err);
    free(ask);
    for (size_t i = 0; rc == 0 && i < count; i++)
        rc = send_recipient(call, &found[i], err);
    audit_recipients_free(found, count);
    return rc;
}
