/* access.c - GDPR decisions at the holding site, and the grants they issue. */
#include <jansson.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/log.h"
#include "gateway/gateway.h"
#include "gateway/grant.h"
#include "store/rowset.h"

static int same_mtime(const struct timespec *a, const struct stat *st)
{
    return a->tv_sec == st->st_mtim.tv_sec && a->tv_nsec == st->st_mtim.tv_nsec;
}

int gateway_policy_data_refresh(gateway *gw, ecl_err *err)
{
    struct stat rs, ss;
    if (stat(gw->cfg.transfer_rules, &rs) != 0)
        return ecl_fail(err, ECL_E_NOT_FOUND, "%s: the transfer rules are missing",
                        gw->cfg.transfer_rules);
    int have_sccs = stat(gw->cfg.sccs, &ss) == 0;
    pthread_rwlock_rdlock(&gw->policy_lock);
    int fresh = gw->transfer_rules != NULL && same_mtime(&gw->rules_mtime, &rs) &&
                (!have_sccs || (gw->sccs != NULL && same_mtime(&gw->sccs_mtime, &ss)));
    pthread_rwlock_unlock(&gw->policy_lock);
    if (fresh)
        return 0;
    ecl_transfer_rules *rules = NULL;
    ecl_scc_registry *sccs = NULL;
    if (ecl_transfer_rules_load_file(gw->cfg.transfer_rules, &rules, err) != 0)
        return -1;
    if (have_sccs && ecl_scc_registry_load_file(gw->cfg.sccs, &sccs, err) != 0) {
        ecl_transfer_rules_free(rules);
        return -1;
    }
    pthread_rwlock_wrlock(&gw->policy_lock);
    int reload = gw->transfer_rules != NULL;
    ecl_transfer_rules_free(gw->transfer_rules);
    ecl_scc_registry_free(gw->sccs);
    gw->transfer_rules = rules;
    gw->sccs = sccs;
    gw->rules_mtime = rs.st_mtim;
    if (have_sccs)
        gw->sccs_mtime = ss.st_mtim;
    pthread_rwlock_unlock(&gw->policy_lock);
    /* A change an admin made while running is worth a line; the start is not. */
    ecl_log(reload ? ECL_LOG_INFO : ECL_LOG_DEBUG, "policy.data_loaded", "transfer_rules",
            gw->cfg.transfer_rules, "sccs", have_sccs ? gw->cfg.sccs : "(none)", NULL);
    return 0;
}

/* Rows withdrawn under Art. 17 from dataset `id` of this site (erased.c). */
static int withdrawn_rows(gateway *gw, const char *id, uint64_t rows, uint64_t *out, ecl_err *err)
{
    store_rowset *rs = NULL;
    if (gateway_erased(gw, id, &rs, NULL, err) != 0)
        return -1;
    *out = store_rowset_rows_in(rs, 0, rows);
    store_rowset_free(rs);
    return 0;
}

static void random_hex(char *out, size_t bytes)
{
    unsigned char buf[32];
    randombytes_buf(buf, bytes);
    sodium_bin2hex(out, 2 * bytes + 1, buf, bytes);
}

/* The grant for a permit: exactly the scope the decision granted. */
static int issue_grant(gateway *gw, const Ecluse__V1__AccessRequest *req,
                       const ecl_identity *requester, const ecl_policy_decision *d,
                       const grant_dataset *decided_on, char grant_id[33], Ecluse__V1__Grant *grant,
                       ecl_err *err)
{
    random_hex(grant_id, 16);
    Ecluse__V1__Identity who = ECLUSE__V1__IDENTITY__INIT;
    who.site = (char *)requester->site;
    who.role = (char *)role_name(requester->role);
    who.name = (char *)requester->name;
    char *tensors[ECL_POLICY_MAX_TENSORS];
    for (size_t i = 0; i < d->n_tensors; i++)
        tensors[i] = (char *)d->tensors[i];
    Ecluse__V1__Obligation obl[ECL_POLICY_MAX_OBLIGATIONS], *oblp[ECL_POLICY_MAX_OBLIGATIONS];
    for (size_t i = 0; i < d->n_obligations; i++) {
        ecluse__v1__obligation__init(&obl[i]);
        obl[i].code = (char *)d->obligations[i].code;
        obl[i].text = (char *)d->obligations[i].text;
        obl[i].due_unix = d->obligations[i].due_unix;
        oblp[i] = &obl[i];
    }
    Ecluse__V1__GrantBody body = ECLUSE__V1__GRANT_BODY__INIT;
    body.grant_id = grant_id;
    body.dataset = req->dataset;
    body.requester = &who;
    body.purpose = req->purpose;
    body.lawful_basis = req->lawful_basis;
    body.job_country = req->job_country;
    body.transfer_basis = (char *)d->transfer_basis;
    body.n_tensors = d->n_tensors;
    body.tensors = tensors;
    body.max_rows = d->max_rows;
    body.issued_unix = (int64_t)time(NULL);
    body.expires_unix = d->until_unix;
    body.n_obligations = d->n_obligations;
    body.obligations = oblp;
    grant_bind_dataset(&body, decided_on);
    return grant_sign(gw->signer, &body, grant, err);
}

static json_t *reasons_json(const ecl_policy_decision *d)
{
    json_t *list = json_array();
    for (size_t i = 0; i < d->n_reasons; i++) {
        const ecl_policy_reason *r = &d->reasons[i];
        json_array_append_new(list, json_pack("{s:s, s:s, s:b, s:s, s:s}", "rule", r->rule, "basis",
                                              r->basis, "satisfied", r->satisfied, "message",
                                              r->message, "remedy", r->remedy));
    }
    return list;
}

/* The audit entry of a decision, written before the answer leaves. */
static int record_decision(gateway *gw, const Ecluse__V1__AccessRequest *req,
                           const ecl_identity *requester, const char *affiliation,
                           const char *org_type, const ecl_policy_decision *d, int dry_run,
                           const char *via, const char *grant_id, uint64_t *seq, ecl_err *err)
{
    json_t *detail = json_pack("{s:o, s:b, s:s, s:s, s:s, s:s, s:I}", "reasons", reasons_json(d),
                               "dry_run", dry_run, "requester_site", requester->site, "affiliation",
                               affiliation, "organisation_type", org_type, "ethics_ref",
                               req->ethics_ref, "max_rows", (json_int_t)d->max_rows);
    if (via != NULL)
        json_object_set_new(detail, "via", json_string(via));
    if (d->permit && !dry_run)
        json_object_set_new(detail, "expires_unix", json_integer(d->until_unix));
    audit_entry e = {0};
    e.kind = AUDIT_KIND_ACCESS;
    e.actor = requester->spiffe;
    e.dataset = req->dataset;
    e.purpose = req->purpose;
    e.decision = d->permit ? "permit" : "deny";
    e.lawful_basis = req->lawful_basis;
    e.transfer_basis = d->transfer_basis[0] ? d->transfer_basis : NULL;
    e.job_country = req->job_country;
    e.grant_id = grant_id;
    return gateway_record_entry(gw, &e, detail, seq, err);
}

/* Build the AccessDecision message (owned by protobuf-c in *out). */
static int make_reply(gateway *gw, const ecl_policy_decision *d, const Ecluse__V1__Grant *grant,
                      int dry_run, uint64_t seq, Ecluse__V1__AccessDecision **out, ecl_err *err)
{
    Ecluse__V1__Reason rs[ECL_POLICY_MAX_REASONS], *rsp[ECL_POLICY_MAX_REASONS];
    Ecluse__V1__Obligation os[ECL_POLICY_MAX_OBLIGATIONS], *osp[ECL_POLICY_MAX_OBLIGATIONS];
    for (size_t i = 0; i < d->n_reasons; i++) {
        ecluse__v1__reason__init(&rs[i]);
        rs[i].rule = (char *)d->reasons[i].rule;
        rs[i].basis = (char *)d->reasons[i].basis;
        rs[i].satisfied = d->reasons[i].satisfied;
        rs[i].message = (char *)d->reasons[i].message;
        rs[i].remedy = (char *)d->reasons[i].remedy;
        rsp[i] = &rs[i];
    }
    for (size_t i = 0; i < d->n_obligations; i++) {
        ecluse__v1__obligation__init(&os[i]);
        os[i].code = (char *)d->obligations[i].code;
        os[i].text = (char *)d->obligations[i].text;
        os[i].due_unix = d->obligations[i].due_unix;
        osp[i] = &os[i];
    }
    Ecluse__V1__AccessDecision m = ECLUSE__V1__ACCESS_DECISION__INIT;
    m.permit = d->permit;
    m.n_reasons = d->n_reasons;
    m.reasons = rsp;
    m.n_obligations = d->n_obligations;
    m.obligations = osp;
    m.grant = grant != NULL && grant->body.len > 0 ? (Ecluse__V1__Grant *)grant : NULL;
    m.dry_run = dry_run;
    m.decided_by = gw->cfg.site;
    m.audit_seq = seq;
    size_t len = ecluse__v1__access_decision__get_packed_size(&m);
    uint8_t *buf = malloc(len ? len : 1);
    if (buf == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    ecluse__v1__access_decision__pack(&m, buf);
    *out = ecluse__v1__access_decision__unpack(NULL, len, buf);
    free(buf);
    return *out != NULL ? 0 : ecl_fail(err, ECL_E_INTERNAL, "cannot build the decision");
}

/* The dataset entry and its policy, for a dataset of this site; and what
 * a grant names as the published dataset decided on. */
static int load_policy(gateway *gw, const char *dataset, Ecluse__V1__DatasetEntry **entry,
                       ecl_policy **pol, grant_dataset *decided_on, ecl_err *err)
{
    unsigned char *bytes = NULL;
    size_t len = 0;
    if (fed_state_get_dataset(gw->state, dataset, &bytes, &len, err) != 0)
        return -1;
    if (grant_dataset_of(bytes, len, decided_on, err) != 0) {
        free(bytes);
        return ecl_err_prefix(err, "dataset '%s'", dataset);
    }
    *entry = ecluse__v1__dataset_entry__unpack(NULL, len, bytes);
    free(bytes);
    if (*entry == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "the stored entry of '%s' does not decode", dataset);
    char source[160];
    snprintf(source, sizeof(source), "policy of %s", dataset);
    if (ecl_policy_parse((*entry)->policy_json, strlen((*entry)->policy_json), source, pol, err) !=
        0) {
        ecluse__v1__dataset_entry__free_unpacked(*entry, NULL);
        return -1;
    }
    return 0;
}

int gateway_decide(gateway *gw, const Ecluse__V1__AccessRequest *req, const ecl_identity *requester,
                   const char *affiliation, const char *org_type, int dry_run, const char *via,
                   Ecluse__V1__AccessDecision **out, ecl_err *err)
{
    size_t prefix = strlen(gw->cfg.site);
    if (strncmp(req->dataset, gw->cfg.site, prefix) != 0 || req->dataset[prefix] != '/')
        return ecl_fail(err, ECL_E_INPUT, "'%s' is not a dataset of site '%s'", req->dataset,
                        gw->cfg.site);
    if (gateway_policy_data_refresh(gw, err) != 0)
        return -1;
    Ecluse__V1__DatasetEntry *entry = NULL;
    ecl_policy *pol = NULL;
    grant_dataset decided_on;
    if (load_policy(gw, req->dataset, &entry, &pol, &decided_on, err) != 0)
        return -1;
    uint64_t withdrawn = 0;
    ecl_policy_decision *d = calloc(1, sizeof(*d));
    int rc = d != NULL ? withdrawn_rows(gw, req->dataset, entry->rows, &withdrawn, err)
                       : ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    if (rc == 0) {
        ecl_policy_request pr = {0};
        pr.dataset = req->dataset;
        pr.requester_site = requester->site;
        pr.requester_role = role_name(requester->role);
        pr.requester_name = requester->name;
        pr.affiliation = affiliation;
        pr.org_type = org_type;
        pr.purpose = req->purpose;
        pr.lawful_basis = req->lawful_basis;
        pr.ethics_ref = req->ethics_ref;
        pr.job_country = req->job_country;
        pr.tensors = (const char *const *)req->tensors;
        pr.n_tensors = req->n_tensors;
        pr.rows = req->rows;
        pr.until_unix = req->until_unix;
        pr.non_commercial_use = req->non_commercial_use;
        pr.now_unix = (int64_t)time(NULL);
        pr.dataset_rows = entry->rows;
        pr.withdrawn_rows = withdrawn;
        pthread_rwlock_rdlock(&gw->policy_lock);
        rc = ecl_policy_decide(pol, gw->transfer_rules, gw->sccs, &pr, d, err);
        pthread_rwlock_unlock(&gw->policy_lock);
    }
    Ecluse__V1__Grant grant = ECLUSE__V1__GRANT__INIT;
    char grant_id[33] = "";
    uint64_t seq = 0;
    if (rc == 0 && d->permit && !dry_run)
        rc = issue_grant(gw, req, requester, d, &decided_on, grant_id, &grant, err);
    /* Write-ahead: nothing is answered, and no grant leaves, unrecorded. */
    if (rc == 0)
        rc = record_decision(gw, req, requester, affiliation, org_type, d, dry_run, via,
                             grant_id[0] ? grant_id : NULL, &seq, err);
    if (rc == 0)
        rc = make_reply(gw, d, &grant, dry_run, seq, out, err);
    if (rc == 0) {
        char s[24];
        snprintf(s, sizeof(s), "%llu", (unsigned long long)seq);
        ecl_log(ECL_LOG_INFO, "access.decided", "dataset", req->dataset, "requester",
                requester->spiffe, "decision", d->permit ? "permit" : "deny", "dry_run",
                dry_run ? "yes" : "no", "audit_seq", s, NULL);
    }
    grant_clear(&grant);
    free(d);
    ecl_policy_free(pol);
    ecluse__v1__dataset_entry__free_unpacked(entry, NULL);
    return rc;
}
