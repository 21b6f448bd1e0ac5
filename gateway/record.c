/* record.c - writing the audit trail from the gateway's services.
 *
 * Every audit entry the gateway writes goes through gateway_record_entry:
 * one place that appends (durably, before the caller acts), logs a failure
 * and words the fail-closed refusal. */
#include <jansson.h>

#include "common/log.h"
#include "gateway/gateway.h"

/* The refusal when the trail cannot be written; the only wording of it. */
#define AUDIT_REFUSAL "the audit trail cannot be written, so the gateway goes no further"

int gateway_record_entry(gateway *gw, const audit_entry *entry, json_t *detail, uint64_t *seq,
                         ecl_err *err)
{
    audit_entry e = *entry;
    e.detail = detail;
    uint64_t got = 0;
    int rc = audit_append(gw->audit, &e, &got, err);
    json_decref(detail);
    if (rc != 0) {
        ecl_log(ECL_LOG_ERROR, "audit.unwritable", "kind", e.kind, "actor", e.actor, "error",
                err->msg, NULL);
        err->code = ECL_E_UNAVAILABLE;
        return ecl_err_prefix(err, AUDIT_REFUSAL);
    }
    if (seq != NULL)
        *seq = got;
    return 0;
}

int gateway_record(gateway *gw, const char *kind, const char *actor, const char *dataset,
                   json_t *detail, uint64_t *seq, ecl_err *err)
{
    audit_entry e = {0};
    e.kind = kind;
    e.actor = actor;
    e.dataset = dataset;
    return gateway_record_entry(gw, &e, detail, seq, err);
}

int gateway_record_read(gateway *gw, const char *kind, const char *actor,
                        const Ecluse__V1__GrantBody *grant, const char *read_id, json_t *detail,
                        uint64_t *seq, ecl_err *err)
{
    audit_entry e = {0};
    e.kind = kind;
    e.actor = actor;
    e.dataset = grant->dataset;
    e.purpose = grant->purpose;
    e.lawful_basis = grant->lawful_basis;
    e.transfer_basis = grant->transfer_basis;
    e.job_country = grant->job_country;
    e.grant_id = grant->grant_id;
    e.read_id = read_id;
    return gateway_record_entry(gw, &e, detail, seq, err);
}
