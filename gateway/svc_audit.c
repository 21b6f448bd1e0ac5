/* svc_audit.c - what auditors ask: the entries, and the records of processing. */
#include <stdlib.h>
#include <string.h>

#include "gateway/gateway.h"

typedef struct sender {
    rpc_call *call;
    ecl_err *err;
    int failed;
} sender;

static int send_record(const audit_record *r, void *arg)
{
    sender *s = arg;
    Ecluse__V1__AuditRecord m = ECLUSE__V1__AUDIT_RECORD__INIT;
    m.seq = r->seq;
    m.time_unix_ns = r->time_ns;
    m.kind = (char *)r->kind;
    m.actor = (char *)r->actor;
    m.dataset = (char *)r->dataset;
    m.purpose = (char *)r->purpose;
    m.decision = (char *)r->decision;
    m.lawful_basis = (char *)r->lawful_basis;
    m.detail_json = (char *)r->detail_json;
    m.prev_hash.data = (uint8_t *)r->prev_hash;
    m.prev_hash.len = AUDIT_HASH_BYTES;
    m.hash.data = (uint8_t *)r->hash;
    m.hash.len = AUDIT_HASH_BYTES;
    if (rpc_call_send(s->call, &m.base, s->err) != 0) {
        s->failed = 1;
        return 1; /* stop: the auditor went away */
    }
    return 0;
}

int svc_audit_query(rpc_call *call, const ProtobufCMessage *request, void *ctx, ecl_err *err)
{
    const Ecluse__V1__AuditQuery *q = (const Ecluse__V1__AuditQuery *)request;
    gateway *gw = ctx;
    if (q->since_unix < 0 || q->until_unix < 0 ||
        (q->until_unix > 0 && q->since_unix > q->until_unix))
        return ecl_fail(err, ECL_E_INPUT, "the time window since=%lld until=%lld is empty",
                        (long long)q->since_unix, (long long)q->until_unix);
    if (q->decision[0] && strcmp(q->decision, "permit") && strcmp(q->decision, "deny"))
        return ecl_fail(err, ECL_E_INPUT, "decision '%s' is neither permit nor deny", q->decision);
    audit_filter f = {0};
    f.dataset = q->dataset;
    f.requester = q->requester;
    f.purpose = q->purpose;
    f.decision = q->decision;
    f.kind = q->kind;
    f.since_ns = q->since_unix * 1000000000LL;
    f.until_ns = q->until_unix * 1000000000LL;
    f.limit = q->limit;
    sender s = {call, err, 0};
    int rc = audit_query(gw->audit, &f, send_record, &s, err);
    return s.failed ? -1 : rc;
}

static int send_processing(const audit_processing *p, void *arg)
{
    sender *s = arg;
    Ecluse__V1__ProcessingRecord m = ECLUSE__V1__PROCESSING_RECORD__INIT;
    m.dataset = (char *)p->dataset;
    m.recipient = (char *)p->recipient;
    m.recipient_site = (char *)p->recipient_site;
    m.purpose = (char *)p->purpose;
    m.lawful_basis = (char *)p->lawful_basis;
    m.transfer_basis = (char *)p->transfer_basis;
    m.job_country = (char *)p->job_country;
    m.reads = p->reads;
    m.bytes = p->bytes;
    m.first_unix = p->first_ns / 1000000000LL;
    m.last_unix = p->last_ns / 1000000000LL;
    if (rpc_call_send(s->call, &m.base, s->err) != 0) {
        s->failed = 1;
        return 1;
    }
    return 0;
}

int svc_audit_processing(rpc_call *call, const ProtobufCMessage *request, void *ctx, ecl_err *err)
{
    const Ecluse__V1__ProcessingQuery *q = (const Ecluse__V1__ProcessingQuery *)request;
    gateway *gw = ctx;
    sender s = {call, err, 0};
    int rc = audit_processing_summary(gw->audit, q->dataset, send_processing, &s, err);
    return s.failed ? -1 : rc;
}
