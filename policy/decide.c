/* decide.c - the engine: one request against one policy, every rule that
 * applies written as a Reason, a permit only when all of them are satisfied.
 * Writes only into the caller's ecl_policy_decision; allocates nothing; all
 * text is built with the bounded appenders of text.h (no stdio). */
#include <string.h>
#include <strings.h>

#include "policy/policy_internal.h"
#include "policy/text.h"
#include "policy/transfer.h"
#include "site/country.h"

typedef struct {
    const struct ecl_policy *pol;
    const ecl_transfer_rules *rules;
    const ecl_scc_registry *sccs;
    const ecl_policy_request *req;
    ecl_policy_decision *d;
    bool deny;

    bool purpose_ok; /* parsed and covered */
    bool purpose_valid;
    ecl_duo_purpose purpose;
    const pol_scope *scope;

    uint32_t req_mask; /* tensors named in the request, by policy index */
    size_t n_unknown;  /* request tensors not in the dataset */
    size_t unknown[ECL_POLICY_MAX_TENSORS];
    uint32_t grant_mask; /* tensors that would be granted */
    uint64_t remaining;  /* rows left after Art. 17 withdrawals */
    int64_t until;       /* the grant's end */
    int64_t retention_due;

    char transfer_basis[ECL_POLICY_TRANSFER_MAX];
    const ecl_scc *scc;
    ecl_policy_reason scratch; /* absorbs reasons beyond the array (never expected) */
} ctx;

typedef struct {
    ecl_policy_reason *r;
    ecl_sb basis, msg, remedy;
} rsn;

static rsn reason(ctx *c, const char *rule, bool satisfied)
{
    ecl_policy_decision *d = c->d;
    rsn x;
    if (d->n_reasons < ECL_POLICY_MAX_REASONS) {
        x.r = &d->reasons[d->n_reasons++];
    } else {
        x.r = &c->scratch;
        satisfied = false; /* an unrecorded reason must not help a permit */
    }
    ecl_sb rb;
    ecl_sb_init(&rb, x.r->rule, sizeof(x.r->rule));
    ecl_sb_str(&rb, rule);
    x.r->satisfied = satisfied;
    ecl_sb_init(&x.basis, x.r->basis, sizeof(x.r->basis));
    ecl_sb_init(&x.msg, x.r->message, sizeof(x.r->message));
    ecl_sb_init(&x.remedy, x.r->remedy, sizeof(x.r->remedy));
    if (!satisfied)
        c->deny = true;
    return x;
}

static void duo_basis(ecl_sb *b, const char *code, const char *id)
{
    ecl_sb_str(b, "DUO:");
    ecl_sb_str(b, code);
    ecl_sb_str(b, " (");
    ecl_sb_str(b, id);
    ecl_sb_ch(b, ')');
}

static void tensor_list(ecl_sb *b, const struct ecl_policy *pol, uint32_t mask)
{
    bool first = true;
    for (size_t i = 0; i < pol->n_tensors; i++)
        if (mask & (1u << i)) {
            if (!first)
                ecl_sb_str(b, ", ");
            ecl_sb_str(b, pol->tensors[i].name);
            first = false;
        }
}

static void quoted(ecl_sb *b, const char *s)
{
    ecl_sb_ch(b, '\'');
    ecl_sb_str(b, s);
    ecl_sb_ch(b, '\'');
}

/* --- lawful basis (GDPR Art. 6, Art. 9) ---------------------------------- */

static void art_basis(ecl_sb *b, int article, int letter)
{
    ecl_sb_str(b, article == 6 ? "GDPR Art. 6(1)(" : "GDPR Art. 9(2)(");
    ecl_sb_ch(b, (char)('a' + letter));
    ecl_sb_ch(b, ')');
}

static void rule_art(ctx *c, int article, int letter)
{
    const struct ecl_policy *pol = c->pol;
    bool six = article == 6;
    uint32_t mask = six ? pol->art6_mask : pol->art9_mask;
    const char *accepted = six ? pol->art6_text : pol->art9_text;
    if (letter < 0) {
        rsn x = reason(c, six ? "lawful_basis" : "lawful_basis.art9", false);
        ecl_sb_str(&x.basis, six ? "GDPR Art. 6(1)" : "GDPR Art. 9(2)");
        if (six) {
            ecl_sb_str(&x.msg, "no Art. 6(1) basis was claimed for processing ");
            ecl_sb_str(&x.msg, ecl_category_name(pol->category));
            ecl_sb_str(&x.msg, " data");
            ecl_sb_str(&x.remedy, "claim one of: ");
        } else {
            ecl_sb_str(&x.msg, "special category data (");
            ecl_sb_str(&x.msg, pol->special_text);
            ecl_sb_str(&x.msg, ", GDPR Art. 9(1)) needs an Art. 9(2) basis as well");
            ecl_sb_str(&x.remedy, "add '+' and one of: ");
        }
        ecl_sb_str(&x.remedy, accepted);
        return;
    }
    bool ok = (mask >> letter) & 1u;
    rsn x = reason(c, six ? "lawful_basis" : "lawful_basis.art9", ok);
    art_basis(&x.basis, article, letter);
    ecl_sb_str(&x.msg, six ? "Art. 6(1)(" : "Art. 9(2)(");
    ecl_sb_ch(&x.msg, (char)('a' + letter));
    ecl_sb_str(&x.msg, ") (");
    ecl_sb_str(&x.msg, six ? ecl_art6_label((unsigned)letter) : ecl_art9_label((unsigned)letter));
    ecl_sb_str(&x.msg,
               ok ? ") is a basis this policy accepts" : ") is not a basis this policy accepts");
    if (!ok) {
        ecl_sb_str(&x.remedy, "claim one of: ");
        ecl_sb_str(&x.remedy, accepted);
    }
}

static void rule_lawful(ctx *c)
{
    const struct ecl_policy *pol = c->pol;
    if (pol->category == ECL_CAT_ANONYMOUS) {
        rsn x = reason(c, "lawful_basis", true);
        ecl_sb_str(&x.basis, "GDPR Recital 26");
        ecl_sb_str(&x.msg, "anonymous data is not personal data: no lawful basis is needed");
        return;
    }
    int a6, a9;
    const char *why;
    if (ecl_basis_parse(c->req->lawful_basis, &a6, &a9, &why) != 0) {
        rsn x = reason(c, "lawful_basis", false);
        ecl_sb_str(&x.basis, "GDPR Art. 6(1)");
        ecl_sb_str(&x.msg, "lawful basis ");
        quoted(&x.msg, c->req->lawful_basis);
        ecl_sb_str(&x.msg, " not understood: ");
        ecl_sb_str(&x.msg, why);
        ecl_sb_str(&x.remedy, "write art6-1-<a..f>");
        if (pol->category == ECL_CAT_SPECIAL)
            ecl_sb_str(&x.remedy, "+art9-2-<a..j>");
        ecl_sb_str(&x.remedy, "; accepted here: ");
        ecl_sb_str(&x.remedy, pol->art6_text);
        if (pol->category == ECL_CAT_SPECIAL) {
            ecl_sb_str(&x.remedy, " with ");
            ecl_sb_str(&x.remedy, pol->art9_text);
        }
        return;
    }
    rule_art(c, 6, a6);
    if (pol->category == ECL_CAT_SPECIAL)
        rule_art(c, 9, a9);
}

/* --- purpose (DUO) -------------------------------------------------------- */

static void rule_purpose(ctx *c)
{
    const struct ecl_policy *pol = c->pol;
    const char *why;
    c->scope = &pol->scopes[0];
    if (ecl_duo_parse_purpose(c->req->purpose, false, &c->purpose, &why) != 0) {
        rsn x = reason(c, "purpose", false);
        ecl_sb_str(&x.basis, "GA4GH DUO");
        ecl_sb_str(&x.msg, "purpose not understood: ");
        ecl_sb_str(&x.msg, why);
        ecl_sb_ch(&x.msg, ' ');
        quoted(&x.msg, c->req->purpose);
        ecl_sb_str(&x.remedy, "state a research purpose (GRU, HMB, POA or DS-<disease>) "
                              "covered by: ");
        ecl_sb_str(&x.remedy, pol->allowed_text);
        return;
    }
    c->purpose_valid = true;
    for (size_t a = 0; a < pol->n_allowed; a++) {
        if (!ecl_duo_covers(&pol->allowed[a], &c->purpose))
            continue;
        const ecl_duo_info *info = ecl_duo_primary_info(pol->allowed[a].code);
        rsn x = reason(c, "purpose", true);
        duo_basis(&x.basis, pol->allowed_code[a], info->id);
        ecl_sb_str(&x.msg, "purpose ");
        ecl_sb_str(&x.msg, c->req->purpose);
        ecl_sb_str(&x.msg, " is covered by the data use ");
        ecl_sb_str(&x.msg, pol->allowed_code[a]);
        ecl_sb_str(&x.msg, " (");
        ecl_sb_str(&x.msg, info->label);
        ecl_sb_ch(&x.msg, ')');
        c->purpose_ok = true;
        for (size_t s = 1; s < pol->n_scopes; s++)
            if (pol->scopes[s].purpose.code == c->purpose.code &&
                (c->purpose.code != ECL_DUO_DS ||
                 strcasecmp(pol->scopes[s].purpose.disease, c->purpose.disease) == 0))
                c->scope = &pol->scopes[s];
        return;
    }
    const ecl_duo_info *info = ecl_duo_primary_info(c->purpose.code);
    rsn x = reason(c, "purpose", false);
    duo_basis(&x.basis, c->req->purpose, info->id);
    ecl_sb_str(&x.msg, "purpose ");
    ecl_sb_str(&x.msg, c->req->purpose);
    ecl_sb_str(&x.msg, " is not covered by this dataset's data use (");
    ecl_sb_str(&x.msg, pol->allowed_text);
    ecl_sb_ch(&x.msg, ')');
    ecl_sb_str(&x.remedy, "only purposes covered by ");
    ecl_sb_str(&x.remedy, pol->allowed_text);
    ecl_sb_str(&x.remedy, " can be served");
}

/* --- DUO modifiers ----------------------------------------------------------- */

/* NPU limits the organisation: only academic or non-profit requesters, as
 * their home site attests. */
static bool org_known(const ctx *c)
{
    const char *org = c->req->org_type;
    return strcmp(org, "academic") == 0 || strcmp(org, "non-profit") == 0 ||
           strcmp(org, "commercial") == 0;
}

static bool org_ok(const ctx *c)
{
    return org_known(c) && strcmp(c->req->org_type, "commercial") != 0;
}

static void org_text(const ctx *c, rsn *x)
{
    if (!org_known(c)) {
        ecl_sb_str(&x->msg, ": the requester's organisation type is not attested");
        ecl_sb_str(&x->remedy, "the home site must attest the organisation type "
                               "(academic or non-profit)");
        return;
    }
    ecl_sb_str(&x->msg, ": the requester's organisation is ");
    ecl_sb_str(&x->msg, c->req->org_type);
    if (!org_ok(c))
        ecl_sb_str(&x->remedy, "only academic or non-profit requesters qualify");
}

/* NCU limits the use, whoever the requester is: the request must state a
 * non-commercial use. A request that does not say is taken as commercial. */
static void use_text(const ctx *c, rsn *x)
{
    if (c->req->non_commercial_use) {
        ecl_sb_str(&x->msg, ": the request states a non-commercial use");
        return;
    }
    ecl_sb_str(&x->msg, ": the request does not state a non-commercial use, so it is taken "
                        "as commercial");
    ecl_sb_str(&x->remedy, "state that the use is non-commercial (non_commercial_use, "
                           "--non-commercial), if it is");
}

static void mod_org(ctx *c, ecl_duo_modifier m, const ecl_duo_info *info)
{
    bool use = c->req->non_commercial_use;
    bool ok = m == ECL_DUO_NCU ? use : m == ECL_DUO_NPU ? org_ok(c) : org_ok(c) && use;
    rsn x = reason(c,
                   m == ECL_DUO_NCU   ? "purpose.NCU"
                   : m == ECL_DUO_NPU ? "purpose.NPU"
                                      : "purpose.NPUNCU",
                   ok);
    duo_basis(&x.basis, info->code, info->id);
    ecl_sb_str(&x.msg, info->label);
    if (m == ECL_DUO_NCU)
        use_text(c, &x);
    else if (m == ECL_DUO_NPU || !org_ok(c))
        org_text(c, &x); /* NPUNCU: the organisation first, then the use */
    else
        use_text(c, &x);
}

static void mod_ethics(ctx *c, const char *rule, bool duo)
{
    bool ok = c->req->ethics_ref[0] != '\0';
    rsn x = reason(c, rule, ok);
    if (duo)
        duo_basis(&x.basis, "IRB", "DUO:0000021");
    else
        ecl_sb_str(&x.basis, "GDPR Art. 89(1)");
    if (ok) {
        ecl_sb_str(&x.msg, "ethics approval reference ");
        quoted(&x.msg, c->req->ethics_ref);
        ecl_sb_str(&x.msg, " given");
    } else {
        ecl_sb_str(&x.msg, duo ? "ethics approval required (IRB)"
                               : "research use needs ethics approval (GDPR Art. 89(1) safeguard)");
        ecl_sb_str(&x.remedy, "needs an ethics approval reference (ethics_ref)");
    }
}

static int in_area(ctx *c, const char *country)
{
    const struct ecl_policy *pol = c->pol;
    for (size_t i = 0; i < pol->n_area; i++) {
        if (pol->area[i][0] == 'E' && pol->area[i][2] == 'A') { /* "EEA" */
            if (ecl_transfer_is_eea(c->rules, country))
                return 1;
        } else if (strcmp(pol->area[i], country) == 0) {
            return 1;
        }
    }
    return 0;
}

static void mod_geo(ctx *c, const ecl_duo_info *info)
{
    const char *cc = c->req->job_country;
    bool ok = in_area(c, cc);
    rsn x = reason(c, "purpose.GS", ok);
    duo_basis(&x.basis, info->code, info->id);
    ecl_sb_str(&x.msg, "job country ");
    quoted(&x.msg, cc);
    ecl_sb_str(&x.msg, ok ? " is inside the permitted area (" : " is outside the permitted area (");
    ecl_sb_str(&x.msg, c->pol->area_text);
    ecl_sb_ch(&x.msg, ')');
    if (!ok) {
        ecl_sb_str(&x.remedy, "run the job in: ");
        ecl_sb_str(&x.remedy, c->pol->area_text);
    }
}

static void mod_institution(ctx *c, const ecl_duo_info *info)
{
    const struct ecl_policy *pol = c->pol;
    bool ok = false;
    for (size_t i = 0; i < pol->n_institutions && !ok; i++)
        ok = strcmp(pol->institutions[i], c->req->affiliation) == 0;
    rsn x = reason(c, "purpose.IS", ok);
    duo_basis(&x.basis, info->code, info->id);
    ecl_sb_str(&x.msg, "affiliation ");
    quoted(&x.msg, c->req->affiliation);
    ecl_sb_str(&x.msg, ok ? " is one of the institutions named"
                          : " is not one of the "
                            "institutions named");
    if (!ok) {
        ecl_sb_str(&x.remedy, "only researchers of: ");
        for (size_t i = 0; i < pol->n_institutions; i++) {
            if (i > 0)
                ecl_sb_str(&x.remedy, "; ");
            ecl_sb_str(&x.remedy, pol->institutions[i]);
        }
    }
}

/* Does "spiffe://<site>/<role>/<name>" equal the requester, piece by piece? */
static int same_spiffe(const char *id, const ecl_policy_request *r)
{
    const char *parts[3] = {r->requester_site, r->requester_role, r->requester_name};
    if (strncmp(id, "spiffe://", 9) != 0)
        return 0;
    id += 9;
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(parts[i]);
        if (n == 0 || strncmp(id, parts[i], n) != 0)
            return 0;
        id += n;
        if (i < 2 && *id++ != '/')
            return 0;
    }
    return *id == '\0';
}

static void mod_user(ctx *c, const ecl_duo_info *info)
{
    const struct ecl_policy *pol = c->pol;
    bool ok = false;
    for (size_t i = 0; i < pol->n_users && !ok; i++)
        ok = same_spiffe(pol->users[i], c->req);
    rsn x = reason(c, "purpose.US", ok);
    duo_basis(&x.basis, info->code, info->id);
    ecl_sb_str(&x.msg, "requester spiffe://");
    ecl_sb_str(&x.msg, c->req->requester_site);
    ecl_sb_ch(&x.msg, '/');
    ecl_sb_str(&x.msg, c->req->requester_role);
    ecl_sb_ch(&x.msg, '/');
    ecl_sb_str(&x.msg, c->req->requester_name);
    ecl_sb_str(&x.msg, ok ? " is one of the users named" : " is not one of the users named");
    if (!ok)
        ecl_sb_str(&x.remedy, "only the named users may use this dataset");
}

static void mod_npoa(ctx *c, const ecl_duo_info *info)
{
    bool poa = c->purpose_valid && c->purpose.code == ECL_DUO_POA;
    rsn x = reason(c, "purpose.NPOA", !poa);
    duo_basis(&x.basis, info->code, info->id);
    ecl_sb_str(&x.msg, poa ? "population origins or ancestry research is prohibited"
                           : "the purpose is not population origins or ancestry research");
    if (poa)
        ecl_sb_str(&x.remedy, "none for POA: choose another purpose this dataset allows");
}

/* Modifiers that are satisfied by accepting an obligation. */
static void mod_obligation(ctx *c, const ecl_duo_info *info, const char *rule)
{
    rsn x = reason(c, rule, true);
    duo_basis(&x.basis, info->code, info->id);
    ecl_sb_str(&x.msg, info->label);
    ecl_sb_str(&x.msg, ": carried as an obligation of the grant");
}

static void rule_modifiers(ctx *c)
{
    static const char *const rules[ECL_DUO_MODIFIER_COUNT] = {
        "purpose.NCU", "purpose.NPU", "purpose.NPUNCU", "purpose.IRB", "purpose.GS",
        "purpose.IS",  "purpose.US",  "purpose.NPOA",   "purpose.TS",  "purpose.MOR",
        "purpose.PUB", "purpose.COL", "purpose.RTN"};
    uint32_t mods = c->pol->modifiers;
    for (int m = 0; m < ECL_DUO_MODIFIER_COUNT; m++) {
        if (!((mods >> m) & 1u))
            continue;
        const ecl_duo_info *info = ecl_duo_modifier_info((ecl_duo_modifier)m);
        switch ((ecl_duo_modifier)m) {
        case ECL_DUO_NCU:
        case ECL_DUO_NPU:
        case ECL_DUO_NPUNCU:
            mod_org(c, (ecl_duo_modifier)m, info);
            break;
        case ECL_DUO_IRB:
            mod_ethics(c, "purpose.IRB", true);
            break;
        case ECL_DUO_GS:
            mod_geo(c, info);
            break;
        case ECL_DUO_IS:
            mod_institution(c, info);
            break;
        case ECL_DUO_US:
            mod_user(c, info);
            break;
        case ECL_DUO_NPOA:
            mod_npoa(c, info);
            break;
        default:
            mod_obligation(c, info, rules[m]);
            break;
        }
    }
}

/* --- research safeguards (Art. 89) and minimisation (Art. 5(1)(c)) --------------- */

static void resolve_tensors(ctx *c)
{
    const struct ecl_policy *pol = c->pol;
    for (size_t i = 0; i < c->req->n_tensors; i++) {
        const char *name = c->req->tensors[i];
        size_t t = 0;
        while (t < pol->n_tensors && strcmp(pol->tensors[t].name, name) != 0)
            t++;
        if (t < pol->n_tensors)
            c->req_mask |= 1u << t;
        else
            c->unknown[c->n_unknown++] = i;
    }
}

static void rule_research(ctx *c)
{
    const struct ecl_policy *pol = c->pol;
    if (pol->ethics_required)
        mod_ethics(c, "research.ethics", false);
    if (!pol->pseudonymised_only)
        return;
    uint32_t bad = c->req_mask & pol->identifying_mask;
    rsn x = reason(c, "research.pseudonymised", bad == 0);
    ecl_sb_str(&x.basis, "GDPR Art. 89(1)");
    if (bad != 0) {
        ecl_sb_str(&x.msg, "research access is to pseudonymised data only; these tensors "
                           "directly identify people: ");
        tensor_list(&x.msg, pol, bad);
        ecl_sb_str(&x.remedy, "leave out: ");
        tensor_list(&x.remedy, pol, bad);
    } else if (pol->identifying_mask != 0) {
        ecl_sb_str(&x.msg, "only pseudonymised data is released; withheld as identifying: ");
        tensor_list(&x.msg, pol, pol->identifying_mask);
    } else {
        ecl_sb_str(&x.msg, "the data are pseudonymised and no tensor directly identifies a "
                           "person");
    }
}

static void rule_tensors(ctx *c)
{
    const struct ecl_policy *pol = c->pol;
    const pol_scope *sc = c->scope;
    uint32_t allowed = sc->tensor_mask;
    if (pol->pseudonymised_only)
        allowed &= ~pol->identifying_mask;
    /* Identifying tensors are the research rule's to refuse; not counted twice. */
    uint32_t outside = c->req_mask & ~sc->tensor_mask;
    bool ok = c->n_unknown == 0 && outside == 0;
    rsn x = reason(c, "minimisation.tensors", ok);
    ecl_sb_str(&x.basis, "GDPR Art. 5(1)(c)");
    if (ok) {
        c->grant_mask = c->req->n_tensors > 0 ? c->req_mask & allowed : allowed;
        ecl_sb_str(&x.msg, "purpose ");
        ecl_sb_str(&x.msg, sc->is_default ? c->req->purpose : sc->code);
        ecl_sb_str(&x.msg, " may read: ");
        tensor_list(&x.msg, pol, c->grant_mask);
        return;
    }
    for (size_t i = 0; i < c->n_unknown; i++) {
        ecl_sb_str(&x.msg, i == 0 ? "not in this dataset: " : ", ");
        quoted(&x.msg, c->req->tensors[c->unknown[i]]);
    }
    if (outside != 0) {
        if (c->n_unknown > 0)
            ecl_sb_str(&x.msg, "; ");
        ecl_sb_str(&x.msg, "purpose ");
        ecl_sb_str(&x.msg, c->req->purpose);
        ecl_sb_str(&x.msg, " may not read: ");
        tensor_list(&x.msg, pol, outside);
    }
    ecl_sb_str(&x.remedy, "ask only for: ");
    tensor_list(&x.remedy, pol, allowed);
}

/* More rows than the dataset holds: a minimisation error of the request,
 * whatever was withdrawn. */
static bool beyond_dataset(const ecl_policy_request *r)
{
    return r->dataset_rows > 0 && r->rows > r->dataset_rows;
}

static void rule_rows(ctx *c)
{
    uint64_t max = c->scope->max_rows;
    const ecl_policy_request *r = c->req;
    if (beyond_dataset(r) && r->rows <= max) {
        rsn x = reason(c, "minimisation.rows", false);
        ecl_sb_str(&x.basis, "GDPR Art. 5(1)(c)");
        ecl_sb_str(&x.msg, "asks for ");
        ecl_sb_u64(&x.msg, r->rows);
        ecl_sb_str(&x.msg, " rows, more than the ");
        ecl_sb_u64(&x.msg, r->dataset_rows);
        ecl_sb_str(&x.msg, " the dataset has");
        ecl_sb_str(&x.remedy, "ask for at most ");
        ecl_sb_u64(&x.remedy, r->dataset_rows);
        ecl_sb_str(&x.remedy, " rows");
        return;
    }
    bool ok = c->req->rows <= max;
    rsn x = reason(c, "minimisation.rows", ok);
    ecl_sb_str(&x.basis, "GDPR Art. 5(1)(c)");
    if (c->req->rows > 0) {
        ecl_sb_str(&x.msg, "asks for ");
        ecl_sb_u64(&x.msg, c->req->rows);
        ecl_sb_str(&x.msg, ok ? " rows, within the limit of " : " rows, more than the limit of ");
    } else {
        ecl_sb_str(&x.msg, "up to ");
    }
    ecl_sb_u64(&x.msg, max);
    ecl_sb_str(&x.msg, " rows per grant");
    if (!ok) {
        ecl_sb_str(&x.remedy, "ask for at most ");
        ecl_sb_u64(&x.remedy, max);
        ecl_sb_str(&x.remedy, " rows");
    }
}

/* --- storage limitation (Art. 5(1)(e)) ----------------------------------------- */

static void rule_storage(ctx *c)
{
    const struct ecl_policy *pol = c->pol;
    int64_t now = c->req->now_unix;
    rsn x;
    if (pol->access_until != 0 && now >= pol->access_until) {
        x = reason(c, "storage.access_until", false);
        ecl_sb_str(&x.basis, "GDPR Art. 5(1)(e)");
        ecl_sb_str(&x.msg, "no access is granted after ");
        ecl_sb_date(&x.msg, pol->access_until - 1);
        ecl_sb_str(&x.remedy, "none: access to this dataset has ended; the site would have "
                              "to review its policy");
        return;
    }
    if (c->req->until_unix != 0 && c->req->until_unix <= now) {
        x = reason(c, "storage.access_until", false);
        ecl_sb_str(&x.basis, "GDPR Art. 5(1)(e)");
        ecl_sb_str(&x.msg, "access is asked until a time that has already passed");
        ecl_sb_str(&x.remedy, "ask for a later end, or 0 for the policy's limit");
        return;
    }
    int64_t until = now + (int64_t)pol->max_grant_days * ECL_DAY_SECONDS;
    if (pol->access_until != 0 && pol->access_until < until)
        until = pol->access_until;
    if (c->req->until_unix != 0 && c->req->until_unix < until)
        until = c->req->until_unix;
    c->until = until;
    x = reason(c, "storage.access_until", true);
    ecl_sb_str(&x.basis, "GDPR Art. 5(1)(e)");
    ecl_sb_str(&x.msg, "access until ");
    ecl_sb_datetime(&x.msg, until);
    ecl_sb_str(&x.msg, " (at most ");
    ecl_sb_u64(&x.msg, pol->max_grant_days);
    ecl_sb_str(&x.msg, " days per grant");
    if (pol->access_until != 0) {
        ecl_sb_str(&x.msg, ", none after ");
        ecl_sb_date(&x.msg, pol->access_until - 1);
    }
    ecl_sb_ch(&x.msg, ')');
}

/* --- transfers (GDPR Chapter V) ------------------------------------------------- */

static void set_basis(ctx *c, const char *kind, const char *ref)
{
    ecl_sb b;
    ecl_sb_init(&b, c->transfer_basis, sizeof(c->transfer_basis));
    ecl_sb_str(&b, kind);
    if (ref != NULL) {
        ecl_sb_ch(&b, ':');
        ecl_sb_str(&b, ref);
    }
}

static void clamp_until(ctx *c, int64_t until)
{
    if (until != 0 && c->until != 0 && until < c->until)
        c->until = until;
}

/* Why the adequacy decision for the job country does not cover it ("" if it does). */
static void adequacy_gap(ctx *c, const ecl_adequacy *a, ecl_sb *why)
{
    int64_t now = c->req->now_unix;
    if (!(c->pol->transfers & POL_XFER_ADEQUACY)) {
        ecl_sb_str(why, "this policy does not allow transfers under adequacy decisions");
    } else if (now < a->from_unix) {
        ecl_sb_str(why, "adequacy decision ");
        ecl_sb_str(why, a->decision);
        ecl_sb_str(why, " applies only from ");
        ecl_sb_date(why, a->from_unix);
    } else if (a->until_unix != 0 && now >= a->until_unix) {
        ecl_sb_str(why, "adequacy decision ");
        ecl_sb_str(why, a->decision);
        ecl_sb_str(why, " expired on ");
        ecl_sb_date(why, a->until_unix - 1);
    } else if (a->partial) {
        ecl_sb_str(why, "adequacy decision ");
        ecl_sb_str(why, a->decision);
        ecl_sb_str(why, " is partial: ");
        ecl_sb_str(why, a->scope);
        if (a->attest != NULL) {
            ecl_sb_str(why, "; the requester must attest that ");
            ecl_sb_str(why, a->attest);
        }
    }
}

static void scc_gap(ctx *c, const ecl_scc *near, ecl_sb *why)
{
    if (!(c->pol->transfers & POL_XFER_SCC)) {
        ecl_sb_str(why, "this policy does not allow transfers under standard contractual clauses");
        return;
    }
    if (near == NULL) {
        ecl_sb_str(why, "no standard contractual clauses are recorded with recipient site ");
        quoted(why, c->req->requester_site);
        return;
    }
    ecl_sb_str(why, "SCCs ");
    ecl_sb_str(why, near->reference);
    ecl_sb_str(why, " with recipient site ");
    quoted(why, c->req->requester_site);
    int64_t now = c->req->now_unix;
    if (now >= near->until_unix) {
        ecl_sb_str(why, " expired on ");
        ecl_sb_date(why, near->until_unix - 1);
    } else if (now < near->signed_unix) {
        ecl_sb_str(why, " apply only from ");
        ecl_sb_date(why, near->signed_unix);
    } else {
        ecl_sb_str(why, " do not cover processing in ");
        ecl_sb_str(why, c->req->job_country);
    }
}

static void transfer_permit(ctx *c, const char *basis, const char *kind, const char *ref, rsn *out)
{
    *out = reason(c, "transfer", true);
    ecl_sb_str(&out->basis, basis);
    set_basis(c, kind, ref);
    ecl_sb_str(&out->msg, "job country ");
    ecl_sb_str(&out->msg, c->req->job_country);
}

static void rule_transfer(ctx *c)
{
    const struct ecl_policy *pol = c->pol;
    const char *cc = c->req->job_country;
    rsn x;
    if (pol->category == ECL_CAT_ANONYMOUS) {
        x = reason(c, "transfer", true);
        ecl_sb_str(&x.basis, "GDPR Recital 26");
        ecl_sb_str(&x.msg, "anonymous data: the transfer rules of Chapter V do not apply");
        set_basis(c, "anonymous", NULL);
        return;
    }
    if (!country_is_valid(cc)) {
        x = reason(c, "transfer", false);
        ecl_sb_str(&x.basis, "GDPR Art. 44");
        ecl_sb_str(&x.msg, "job country ");
        quoted(&x.msg, cc);
        ecl_sb_str(&x.msg, " is not an ISO 3166-1 alpha-2 code");
        ecl_sb_str(&x.remedy, "state where the job will run, e.g. FI");
        return;
    }
    int eea = ecl_transfer_is_eea(c->rules, cc);
    if (eea && (pol->transfers & POL_XFER_EEA)) {
        transfer_permit(c, "GDPR Art. 1(3), EEA Agreement", "eea", NULL, &x);
        ecl_sb_str(&x.msg, " is in the EEA: no transfer to a third country");
        return;
    }
    const ecl_adequacy *a = ecl_transfer_adequacy(c->rules, cc);
    char gap_a[ECL_POLICY_MESSAGE_MAX];
    ecl_sb ga;
    ecl_sb_init(&ga, gap_a, sizeof(gap_a));
    if (a != NULL) {
        adequacy_gap(c, a, &ga);
        if (gap_a[0] == '\0') {
            transfer_permit(c, "GDPR Art. 45(3)", "adequacy", a->decision, &x);
            ecl_sb_str(&x.msg, " is covered by adequacy decision ");
            ecl_sb_str(&x.msg, a->decision);
            if (a->until_unix != 0) {
                ecl_sb_str(&x.msg, " (until ");
                ecl_sb_date(&x.msg, a->until_unix - 1);
                ecl_sb_ch(&x.msg, ')');
            }
            clamp_until(c, a->until_unix);
            return;
        }
    } else if (eea) {
        ecl_sb_str(&ga, "this policy does not allow transfers within the EEA");
    } else {
        ecl_sb_str(&ga, "no EU adequacy decision covers it");
    }
    const ecl_scc *near = NULL;
    const ecl_scc *s =
        (pol->transfers & POL_XFER_SCC)
            ? ecl_scc_find(c->sccs, c->req->requester_site, cc, c->req->now_unix, &near)
            : NULL;
    if (s != NULL) {
        transfer_permit(c, "GDPR Art. 46(2)(c)", "scc", s->reference, &x);
        ecl_sb_str(&x.msg, " is covered by standard contractual clauses ");
        ecl_sb_str(&x.msg, s->reference);
        ecl_sb_str(&x.msg, " with recipient site ");
        quoted(&x.msg, c->req->requester_site);
        ecl_sb_str(&x.msg, ", valid until ");
        ecl_sb_date(&x.msg, s->until_unix - 1);
        c->scc = s;
        clamp_until(c, s->until_unix);
        return;
    }
    x = reason(c, "transfer", false);
    ecl_sb_str(&x.basis, "GDPR Art. 44");
    ecl_sb_str(&x.msg, "job country ");
    ecl_sb_str(&x.msg, cc);
    ecl_sb_str(&x.msg, " is not covered: ");
    ecl_sb_str(&x.msg, gap_a);
    ecl_sb_str(&x.msg, "; ");
    scc_gap(c, near, &x.msg);
    if (pol->transfers & POL_XFER_SCC) {
        ecl_sb_str(&x.remedy, "record SCCs with the recipient site ");
        quoted(&x.remedy, c->req->requester_site);
        ecl_sb_str(&x.remedy, ", or ");
    }
    ecl_sb_str(&x.remedy, "run the job in the EEA");
    if (pol->transfers & POL_XFER_ADEQUACY)
        ecl_sb_str(&x.remedy, " or in a country with a full adequacy decision in force");
}

/* --- erasure (Art. 17) ---------------------------------------------------------- */

static void rule_erasure(ctx *c)
{
    const ecl_policy_request *r = c->req;
    if (c->pol->category == ECL_CAT_ANONYMOUS) {
        c->remaining = r->dataset_rows > 0 ? r->dataset_rows : UINT64_MAX;
        return;
    }
    c->remaining = r->dataset_rows - r->withdrawn_rows;
    rsn x;
    if (r->dataset_rows == 0) {
        x = reason(c, "erasure", false);
        ecl_sb_str(&x.basis, "GDPR Art. 17");
        ecl_sb_str(&x.msg, "the rows left after Art. 17 withdrawals are not known");
        ecl_sb_str(&x.remedy, "the gateway must give the dataset's row and withdrawal counts");
        return;
    }
    /* A request beyond the whole dataset is refused by minimisation.rows;
     * withdrawals deny only what the rows left cannot cover. */
    bool ok = c->remaining > 0 && (r->rows <= c->remaining || beyond_dataset(r));
    x = reason(c, "erasure", ok);
    ecl_sb_str(&x.basis, "GDPR Art. 17");
    ecl_sb_u64(&x.msg, r->withdrawn_rows);
    ecl_sb_str(&x.msg, " rows withdrawn by data subjects are never streamed; ");
    ecl_sb_u64(&x.msg, c->remaining);
    ecl_sb_str(&x.msg, " of ");
    ecl_sb_u64(&x.msg, r->dataset_rows);
    ecl_sb_str(&x.msg, " rows remain");
    if (!ok) {
        ecl_sb_str(&x.msg, ", fewer than the ");
        ecl_sb_u64(&x.msg, r->rows);
        ecl_sb_str(&x.msg, " asked for");
        ecl_sb_str(&x.remedy, "ask for at most ");
        ecl_sb_u64(&x.remedy, c->remaining);
        ecl_sb_str(&x.remedy, " rows");
    }
}

/* --- the permit: scope and obligations ------------------------------------------ */

static ecl_sb obligation(ctx *c, const char *code, int64_t due)
{
    ecl_policy_decision *d = c->d;
    ecl_sb t;
    if (d->n_obligations == ECL_POLICY_MAX_OBLIGATIONS) {
        /* Cannot happen with 13 obligation kinds; fail closed if it ever does. */
        c->deny = true;
        ecl_sb_init(&t, c->scratch.message, sizeof(c->scratch.message));
        return t;
    }
    ecl_policy_obligation *o = &d->obligations[d->n_obligations++];
    ecl_sb cb;
    ecl_sb_init(&cb, o->code, sizeof(o->code));
    ecl_sb_str(&cb, code);
    o->due_unix = due;
    ecl_sb_init(&t, o->text, sizeof(o->text));
    return t;
}

static void duo_obligations(ctx *c)
{
    const struct ecl_policy *pol = c->pol;
    uint32_t m = pol->modifiers;
    ecl_sb t;
    if (m & ((1u << ECL_DUO_NCU) | (1u << ECL_DUO_NPU) | (1u << ECL_DUO_NPUNCU))) {
        t = obligation(c, "non-commercial", 0);
        ecl_sb_str(&t, "no commercial or for-profit use of the data or of results derived "
                       "from it (DUO NCU/NPU)");
    }
    if (m & (1u << ECL_DUO_GS)) {
        t = obligation(c, "geographic", 0);
        ecl_sb_str(&t, "process the data only in: ");
        ecl_sb_str(&t, pol->area_text);
    }
    if (m & (1u << ECL_DUO_TS)) {
        t = obligation(c, "time-limit", pol->access_until);
        ecl_sb_str(&t, "use of the data ends on ");
        ecl_sb_date(&t, pol->access_until - 1);
        ecl_sb_str(&t, " (DUO TS)");
    }
    if (m & (1u << ECL_DUO_MOR)) {
        t = obligation(c, "moratorium", pol->moratorium_until);
        ecl_sb_str(&t, "do not publish results before ");
        ecl_sb_date(&t, pol->moratorium_until);
        ecl_sb_str(&t, " (DUO MOR)");
    }
    if (m & (1u << ECL_DUO_PUB)) {
        t = obligation(c, "publish", 0);
        ecl_sb_str(&t, "make the results of the research public (DUO PUB)");
    }
    if (m & (1u << ECL_DUO_COL)) {
        t = obligation(c, "collaborate", 0);
        ecl_sb_str(&t, "collaborate with the data provider's investigators (DUO COL)");
    }
    if (m & (1u << ECL_DUO_RTN)) {
        t = obligation(c, "return-results", 0);
        ecl_sb_str(&t, "return derived and enriched data to the provider (DUO RTN)");
    }
}

static void obligations(ctx *c)
{
    const struct ecl_policy *pol = c->pol;
    ecl_sb t = obligation(c, "purpose-limitation", 0);
    ecl_sb_str(&t, "use the data only for the purpose ");
    ecl_sb_str(&t, c->req->purpose);
    ecl_sb_str(&t, " (GDPR Art. 5(1)(b))");
    if (pol->has_retention) {
        int64_t due = c->until + (int64_t)pol->retention_days * ECL_DAY_SECONDS;
        t = obligation(c, "retention", due);
        ecl_sb_str(&t, "keep copies at most ");
        ecl_sb_u64(&t, pol->retention_days);
        ecl_sb_str(&t, " days after access ends: delete by ");
        ecl_sb_datetime(&t, due);
        ecl_sb_str(&t, " (GDPR Art. 5(1)(e))");
    }
    if (pol->category != ECL_CAT_ANONYMOUS) {
        t = obligation(c, "no-reidentification", 0);
        ecl_sb_str(&t, "do not re-identify data subjects or link the data to do so "
                       "(GDPR Art. 4(5), Art. 89(1))");
        t = obligation(c, "erasure", 0);
        ecl_sb_str(&t, "delete rows the site reports as withdrawn by data subjects "
                       "(GDPR Art. 17)");
    }
    if (pol->ethics_required || (pol->modifiers & (1u << ECL_DUO_IRB))) {
        t = obligation(c, "ethics-approval", 0);
        ecl_sb_str(&t, "keep the ethics approval ");
        quoted(&t, c->req->ethics_ref);
        ecl_sb_str(&t, " valid for the whole use");
    }
    if (c->scc != NULL) {
        t = obligation(c, "scc", c->scc->until_unix);
        ecl_sb_str(&t, "process under the standard contractual clauses ");
        ecl_sb_str(&t, c->scc->reference);
        ecl_sb_str(&t, " (GDPR Art. 46(2)(c))");
    }
    duo_obligations(c);
}

static void grant_scope(ctx *c)
{
    const struct ecl_policy *pol = c->pol;
    ecl_policy_decision *d = c->d;
    for (size_t i = 0; i < pol->n_tensors; i++)
        if (c->grant_mask & (1u << i))
            memcpy(d->tensors[d->n_tensors++], pol->tensors[i].name, ECL_POLICY_NAME_MAX);
    uint64_t max = c->scope->max_rows < c->remaining ? c->scope->max_rows : c->remaining;
    d->max_rows = c->req->rows > 0 ? c->req->rows : max;
    d->until_unix = c->until;
    memcpy(d->transfer_basis, c->transfer_basis, sizeof(d->transfer_basis));
}

static void reset(ecl_policy_decision *out)
{
    out->permit = false;
    out->n_reasons = 0;
    out->n_obligations = 0;
    out->n_tensors = 0;
    out->max_rows = 0;
    out->until_unix = 0;
    out->transfer_basis[0] = '\0';
}

static int check_args(const ecl_policy *pol, const ecl_transfer_rules *rules,
                      const ecl_policy_request *req, ecl_policy_decision *out, ecl_err *err)
{
    if (out != NULL)
        reset(out);
    if (pol == NULL || rules == NULL || req == NULL || out == NULL)
        return ecl_fail(err, ECL_E_USAGE, "ecl_policy_decide: NULL argument");
    const char *s[] = {req->dataset,        req->requester_site, req->requester_role,
                       req->requester_name, req->affiliation,    req->org_type,
                       req->purpose,        req->lawful_basis,   req->ethics_ref,
                       req->job_country};
    for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
        if (s[i] == NULL)
            return ecl_fail(err, ECL_E_USAGE, "ecl_policy_decide: NULL string in request");
    if (strcmp(req->dataset, pol->dataset) != 0)
        return ecl_fail(err, ECL_E_USAGE, "request is for dataset '%s', the policy is for '%s'",
                        req->dataset, pol->dataset);
    if (req->n_tensors > ECL_POLICY_MAX_TENSORS)
        return ecl_fail(err, ECL_E_LIMIT, "request names %zu tensors, at most %d", req->n_tensors,
                        ECL_POLICY_MAX_TENSORS);
    for (size_t i = 0; i < req->n_tensors; i++)
        if (req->tensors == NULL || req->tensors[i] == NULL)
            return ecl_fail(err, ECL_E_USAGE, "ecl_policy_decide: NULL tensor name");
    /* The clock is the gateway's; bounding it keeps date arithmetic exact. */
    if (req->now_unix < 0 || req->now_unix > INT64_C(253402300799))
        return ecl_fail(err, ECL_E_USAGE, "now_unix %lld is outside 1970..9999",
                        (long long)req->now_unix);
    if (req->withdrawn_rows > req->dataset_rows)
        return ecl_fail(err, ECL_E_USAGE, "withdrawn rows (%llu) exceed the dataset's rows (%llu)",
                        (unsigned long long)req->withdrawn_rows,
                        (unsigned long long)req->dataset_rows);
    return 0;
}

int ecl_policy_decide(const ecl_policy *pol, const ecl_transfer_rules *rules,
                      const ecl_scc_registry *sccs, const ecl_policy_request *req,
                      ecl_policy_decision *out, ecl_err *err)
{
    if (check_args(pol, rules, req, out, err) != 0)
        return -1;
    ctx c;
    c.pol = pol;
    c.rules = rules;
    c.sccs = sccs;
    c.req = req;
    c.d = out;
    c.deny = false;
    c.purpose_ok = false;
    c.purpose_valid = false;
    c.scope = &pol->scopes[0];
    c.req_mask = 0;
    c.n_unknown = 0;
    c.grant_mask = 0;
    c.remaining = 0;
    c.until = 0;
    c.scc = NULL;
    c.transfer_basis[0] = '\0';

    resolve_tensors(&c);
    rule_lawful(&c);
    rule_purpose(&c);
    rule_modifiers(&c);
    rule_research(&c);
    rule_tensors(&c);
    rule_rows(&c);
    rule_storage(&c);
    rule_transfer(&c);
    rule_erasure(&c);
    if (!c.deny && c.grant_mask != 0) {
        obligations(&c);
        grant_scope(&c);
    }
    if (c.deny || c.grant_mask == 0) {
        out->n_obligations = 0;
        out->n_tensors = 0;
        return 0;
    }
    out->permit = true;
    return 0;
}

const ecl_policy_reason *ecl_policy_decision_find(const ecl_policy_decision *d, const char *rule)
{
    for (size_t i = 0; i < d->n_reasons; i++)
        if (strcmp(d->reasons[i].rule, rule) == 0)
            return &d->reasons[i];
    return NULL;
}
