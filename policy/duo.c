#include "policy/duo.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Codes and ids from the GA4GH Data Use Ontology (DUO) release 2021-02-23. */
static const ecl_duo_info k_duo[] = {
    {"NRES", "DUO:0000004", "no restriction", ECL_DUO_KIND_PRIMARY, ECL_DUO_NRES},
    {"GRU", "DUO:0000042", "general research use", ECL_DUO_KIND_PRIMARY, ECL_DUO_GRU},
    {"HMB", "DUO:0000006", "health or medical or biomedical research", ECL_DUO_KIND_PRIMARY,
     ECL_DUO_HMB},
    {"DS", "DUO:0000007", "disease specific research", ECL_DUO_KIND_PRIMARY, ECL_DUO_DS},
    {"POA", "DUO:0000011", "population origins or ancestry research only", ECL_DUO_KIND_PRIMARY,
     ECL_DUO_POA},
    {"NCU", "DUO:0000046", "non-commercial use only", ECL_DUO_KIND_MODIFIER, ECL_DUO_NCU},
    {"NPU", "DUO:0000045", "not-for-profit use only", ECL_DUO_KIND_MODIFIER, ECL_DUO_NPU},
    {"NPUNCU", "DUO:0000018", "not-for-profit, non-commercial use only", ECL_DUO_KIND_MODIFIER,
     ECL_DUO_NPUNCU},
    {"IRB", "DUO:0000021", "ethics approval required", ECL_DUO_KIND_MODIFIER, ECL_DUO_IRB},
    {"GS", "DUO:0000022", "geographical restriction", ECL_DUO_KIND_MODIFIER, ECL_DUO_GS},
    {"IS", "DUO:0000028", "institution specific restriction", ECL_DUO_KIND_MODIFIER, ECL_DUO_IS},
    {"US", "DUO:0000026", "user specific restriction", ECL_DUO_KIND_MODIFIER, ECL_DUO_US},
    {"NPOA", "DUO:0000044", "population origins or ancestry research prohibited",
     ECL_DUO_KIND_MODIFIER, ECL_DUO_NPOA},
    {"TS", "DUO:0000025", "time limit on use", ECL_DUO_KIND_MODIFIER, ECL_DUO_TS},
    {"MOR", "DUO:0000024", "publication moratorium", ECL_DUO_KIND_MODIFIER, ECL_DUO_MOR},
    {"PUB", "DUO:0000019", "publication required", ECL_DUO_KIND_MODIFIER, ECL_DUO_PUB},
    {"COL", "DUO:0000020", "collaboration required", ECL_DUO_KIND_MODIFIER, ECL_DUO_COL},
    {"RTN", "DUO:0000029", "return to database or resource", ECL_DUO_KIND_MODIFIER, ECL_DUO_RTN},
    /* Real codes whose condition a request here cannot express. */
    {"GSO", "DUO:0000016", "genetic studies only", ECL_DUO_KIND_UNSUPPORTED, 0},
    {"NMDS", "DUO:0000015", "no general methods research", ECL_DUO_KIND_UNSUPPORTED, 0},
    {"RS", "DUO:0000012", "research specific restrictions", ECL_DUO_KIND_UNSUPPORTED, 0},
    {"PS", "DUO:0000027", "project specific restriction", ECL_DUO_KIND_UNSUPPORTED, 0},
    {"CC", "DUO:0000043", "clinical care use", ECL_DUO_KIND_UNSUPPORTED, 0},
};

#define K_DUO_N (sizeof(k_duo) / sizeof(k_duo[0]))

const ecl_duo_info *ecl_duo_lookup(const char *code)
{
    if (strncmp(code, "DS-", 3) == 0)
        code = "DS";
    for (size_t i = 0; i < K_DUO_N; i++)
        if (strcmp(k_duo[i].code, code) == 0)
            return &k_duo[i];
    return NULL;
}

const ecl_duo_info *ecl_duo_primary_info(ecl_duo_primary p)
{
    for (size_t i = 0; i < K_DUO_N; i++)
        if (k_duo[i].kind == ECL_DUO_KIND_PRIMARY && k_duo[i].value == (int)p)
            return &k_duo[i];
    return NULL;
}

const ecl_duo_info *ecl_duo_modifier_info(ecl_duo_modifier m)
{
    for (size_t i = 0; i < K_DUO_N; i++)
        if (k_duo[i].kind == ECL_DUO_KIND_MODIFIER && k_duo[i].value == (int)m)
            return &k_duo[i];
    return NULL;
}

static int disease_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == ':' ||
           c == '.' || c == '_' || c == '-';
}

int ecl_duo_parse_purpose(const char *s, bool dataset_side, ecl_duo_purpose *out, const char **why)
{
    out->disease[0] = '\0';
    if (strncmp(s, "DS-", 3) == 0) {
        const char *d = s + 3;
        size_t n = strlen(d);
        if (n == 0) {
            *why = "DS needs a disease id (DS-<disease>):";
            return -1;
        }
        if (n > ECL_DUO_DISEASE_MAX) {
            *why = "disease id longer than 32 characters in";
            return -1;
        }
        for (size_t i = 0; i < n; i++)
            if (!disease_char(d[i])) {
                *why = "disease id may hold only letters, digits and ':._-', not";
                return -1;
            }
        out->code = ECL_DUO_DS;
        memcpy(out->disease, d, n + 1);
        return 0;
    }
    const ecl_duo_info *info = ecl_duo_lookup(s);
    if (info == NULL) {
        *why = "unknown DUO code";
        return -1;
    }
    if (info->kind != ECL_DUO_KIND_PRIMARY) {
        *why = "a DUO modifier is not a research purpose:";
        return -1;
    }
    if (info->value == ECL_DUO_DS) {
        *why = "DS needs a disease id (DS-<disease>):";
        return -1;
    }
    if (info->value == ECL_DUO_NRES && !dataset_side) {
        *why = "NRES describes data, it is not a purpose:";
        return -1;
    }
    out->code = (ecl_duo_primary)info->value;
    return 0;
}

int ecl_duo_covers(const ecl_duo_purpose *allowed, const ecl_duo_purpose *req)
{
    switch (allowed->code) {
    case ECL_DUO_NRES:
    case ECL_DUO_GRU:
        return req->code != ECL_DUO_NRES;
    case ECL_DUO_HMB:
        return req->code == ECL_DUO_HMB || req->code == ECL_DUO_DS;
    case ECL_DUO_DS:
        return req->code == ECL_DUO_DS && strcasecmp(allowed->disease, req->disease) == 0;
    case ECL_DUO_POA:
        return req->code == ECL_DUO_POA;
    }
    return 0;
}

void ecl_duo_format(const ecl_duo_purpose *p, char *out, size_t cap)
{
    if (p->code == ECL_DUO_DS)
        snprintf(out, cap, "DS-%s", p->disease);
    else
        snprintf(out, cap, "%s", ecl_duo_primary_info(p->code)->code);
}
