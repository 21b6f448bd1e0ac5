/* record.c - writing the audit trail from the gateway's services. */
#include <jansson.h>

#include "common/log.h"
#include "gateway/gateway.h"

int gateway_record(gateway *gw, const char *kind, const char *actor, const char *dataset,
                   json_t *detail, uint64_t *seq, ecl_err *err)
{
    audit_entry e = {0};
    e.kind = kind;
    e.actor = actor;
    e.dataset = dataset;
    e.detail = detail;
    uint64_t got = 0;
    int rc = audit_append(gw->audit, &e, &got, err);
    json_decref(detail);
    if (rc != 0) {
        ecl_log(ECL_LOG_ERROR, "audit.unwritable", "kind", kind, "actor", actor, "error", err->msg,
                NULL);
        err->code = ECL_E_UNAVAILABLE;
        return ecl_err_prefix(err, "the audit trail cannot be written, so nothing was done");
    }
    if (seq != NULL)
        *seq = got;
    return 0;
}
