/* record.c - writing the audit trail from the gateway's services.
 *
 * Every audit entry the gateway writes goes through gateway_record_entry:
 * one place that appends (durably, before the caller acts), logs a failure
 * and words the fail-closed refusal. */
#include <jansson.h>
#include <string.h>

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
    /* What the standard health service reports (health_std.c): the trail
     * refused a write, until one succeeds again. */
    if (rc == 0 || err->code == ECL_E_UNAVAILABLE)
        atomic_store(&gw->audit_unwritable, rc != 0);
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

/* ---- admin actions: what was asked, then what came of it ------------------ */

void gateway_action_init(gateway_action *a, gateway *gw, const char *kind, const char *actor,
                         const char *dataset, json_t *what)
{
    memset(a, 0, sizeof(*a));
    a->gw = gw;
    a->kind = kind;
    a->actor = actor;
    a->dataset = dataset;
    a->what = what;
}

/* The action's detail with `outcome` (and what else the caller adds). */
static json_t *action_detail(const gateway_action *a, const char *outcome)
{
    json_t *d = a->what != NULL ? json_deep_copy(a->what) : json_object();
    if (d == NULL || json_object_set_new(d, "outcome", json_string(outcome)) != 0) {
        json_decref(d);
        return NULL;
    }
    return d;
}

int gateway_action_begin(gateway_action *a, ecl_err *err)
{
    json_t *d = action_detail(a, ACTION_PENDING);
    if (a->what == NULL || d == NULL) {
        json_decref(d);
        return ecl_fail(err, ECL_E_INPUT,
                        "the action cannot be described for the audit trail (a field that is "
                        "not UTF-8, or out of memory)");
    }
    return gateway_record(a->gw, a->kind, a->actor, a->dataset, d, &a->intent, err);
}

int gateway_action_end(gateway_action *a, int rc, ecl_err *err)
{
    json_t *d = action_detail(a, rc == 0 ? ACTION_DONE : ACTION_FAILED);
    json_decref(a->what);
    a->what = NULL;
    int bad = d == NULL;
    if (!bad && a->intent != 0)
        bad = json_object_set_new(d, "intent", json_integer((json_int_t)a->intent)) != 0;
    if (!bad && rc != 0)
        bad = json_object_set_new(d, "reason", json_string(err->msg)) != 0;
    ecl_err aerr;
    if (bad) {
        json_decref(d);
        ecl_fail(&aerr, ECL_E_INTERNAL, "out of memory");
    } else if (gateway_record(a->gw, a->kind, a->actor, a->dataset, d, NULL, &aerr) == 0)
        return rc;
    if (rc != 0) {
        /* The refusal stands; that it is missing from the trail is logged. */
        ecl_log(ECL_LOG_ERROR, "audit.outcome_unrecorded", "kind", a->kind, "actor", a->actor,
                "outcome", ACTION_FAILED, "error", aerr.msg, NULL);
        return rc;
    }
    *err = aerr;
    return ecl_err_prefix(err,
                          "it was carried out (see the entry %llu of its intent), but its "
                          "outcome could not be recorded",
                          (unsigned long long)a->intent);
}

/* ---- refused reads ---------------------------------------------------------- */

/* A field of a grant as the trail can hold it: READ_UNNAMED when it is
 * empty, too long or not UTF-8 (a forged grant may carry anything). */
static const char *claim(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > AUDIT_FIELD_MAX)
        return READ_UNNAMED;
    json_t *j = json_stringn(s, n); /* NULL when not valid UTF-8 */
    json_decref(j);
    return j != NULL ? s : READ_UNNAMED;
}

void gateway_record_read_refused(gateway *gw, const char *actor, const Ecluse__V1__Grant *grant,
                                 const Ecluse__V1__GrantBody *verified, const char *via,
                                 const ecl_err *why)
{
    /* What the grant claims, when it was not verified: kept as a claim. */
    Ecluse__V1__GrantBody *claimed = NULL;
    const Ecluse__V1__GrantBody *g = verified;
    if (g == NULL && grant != NULL && grant->body.len > 0)
        g = claimed = ecluse__v1__grant_body__unpack(NULL, grant->body.len, grant->body.data);
    audit_entry e = {0};
    e.kind = AUDIT_KIND_ACCESS;
    e.actor = actor;
    e.decision = "deny";
    e.dataset = g != NULL ? claim(g->dataset) : READ_UNNAMED;
    e.purpose = g != NULL ? claim(g->purpose) : READ_UNNAMED;
    if (verified != NULL) {
        e.grant_id = verified->grant_id;
        e.lawful_basis = verified->lawful_basis;
        e.transfer_basis = verified->transfer_basis;
        e.job_country = verified->job_country;
    }
    json_t *d = json_pack("{s:s, s:[s], s:b}", "call", "Data.Read", "reasons", why->msg,
                          "grant_verified", verified != NULL);
    if (d != NULL && verified == NULL && g != NULL && g->grant_id[0] != '\0')
        json_object_set_new(d, "claimed_grant_id", json_string(g->grant_id));
    if (d != NULL && via != NULL)
        json_object_set_new(d, "via", json_string(via));
    ecl_err aerr;
    if (d == NULL)
        ecl_log(ECL_LOG_ERROR, "audit.refusal_unrecorded", "actor", actor, "error", "out of memory",
                NULL);
    else if (gateway_record_entry(gw, &e, d, NULL, &aerr) != 0)
        ecl_log(ECL_LOG_ERROR, "audit.refusal_unrecorded", "actor", actor, "error", aerr.msg, NULL);
    if (claimed != NULL)
        ecluse__v1__grant_body__free_unpacked(claimed, NULL);
}

/* ---- ecluse pki actions ------------------------------------------------------ */

static int one_of(const char *s, const char *const *set)
{
    for (; *set != NULL; set++)
        if (strcmp(s, *set) == 0)
            return 1;
    return 0;
}

int gateway_pki_detail(const Ecluse__V1__PkiRecord *r, json_t **out, ecl_err *err)
{
    static const char *const actions[] = {"pki-issue", "pki-renew", "pki-revoke",
                                          "pki-renew-gateway", NULL};
    static const char *const outcomes[] = {ACTION_PENDING, ACTION_DONE, ACTION_FAILED, NULL};
    if (!one_of(r->action, actions))
        return ecl_fail(err, ECL_E_INPUT,
                        "pki record: action '%s' is not pki-issue, pki-renew, pki-revoke or "
                        "pki-renew-gateway",
                        r->action);
    if (!one_of(r->outcome, outcomes))
        return ecl_fail(err, ECL_E_INPUT, "pki record: outcome '%s' is not pending, done or failed",
                        r->outcome);
    int pending = strcmp(r->outcome, ACTION_PENDING) == 0;
    if (pending != (r->intent == 0))
        return ecl_fail(err, ECL_E_INPUT,
                        pending ? "pki record: an intent names no intent before it"
                                : "pki record: outcome '%s' needs the seq of its intent",
                        r->outcome);
    if ((strcmp(r->outcome, ACTION_FAILED) == 0) != (r->reason[0] != '\0'))
        return ecl_fail(err, ECL_E_INPUT,
                        "pki record: a reason is given with, and only with, "
                        "outcome failed");
    json_error_t jerr;
    json_t *d = r->detail_json[0] == '\0' ? json_object() : json_loads(r->detail_json, 0, &jerr);
    if (d == NULL || !json_is_object(d)) {
        json_decref(d);
        return ecl_fail(err, ECL_E_INPUT, "pki record: field 'detail_json' is not a JSON object");
    }
    int bad = json_object_set_new(d, "action", json_string(r->action)) != 0 ||
              json_object_set_new(d, "outcome", json_string(r->outcome)) != 0;
    json_object_del(d, "intent");
    json_object_del(d, "reason");
    if (!bad && !pending)
        bad = json_object_set_new(d, "intent", json_integer((json_int_t)r->intent)) != 0;
    if (!bad && r->reason[0] != '\0')
        bad = json_object_set_new(d, "reason", json_string(r->reason)) != 0;
    if (bad) {
        json_decref(d);
        return ecl_fail(err, ECL_E_INPUT, "pki record: not valid UTF-8, or out of memory");
    }
    *out = d;
    return 0;
}

int gateway_record_notice(gateway *gw, const char *actor, const char *dataset, const char *event,
                          const char *notice_id, const char *site, const char *reason,
                          uint64_t *seq, ecl_err *err)
{
    json_t *detail =
        json_pack("{s:s, s:s, s:s}", "event", event, "notice_id", notice_id, "site", site);
    if (detail != NULL && reason != NULL)
        json_object_set_new(detail, "reason", json_string(reason));
    return gateway_record(gw, AUDIT_KIND_NOTICE, actor, dataset, detail, seq, err);
}
