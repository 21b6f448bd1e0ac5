/*
 * policy_internal.h - internal: the loaded form of a policy, shared by the
 * loader (policy_load.c), the whole-policy check (policy_check.c) and the
 * engine (decide.c). Everything the engine needs is precomputed here so a
 * decision is lookups in small arrays and bit masks.
 */
#ifndef ECLUSE_POLICY_POLICY_INTERNAL_H
#define ECLUSE_POLICY_POLICY_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "policy/duo.h"
#include "policy/policy.h"

typedef enum {
    ECL_CAT_ANONYMOUS = 0,
    ECL_CAT_PSEUDONYMISED,
    ECL_CAT_PERSONAL,
    ECL_CAT_SPECIAL,
} ecl_category;

/* GDPR Art. 9(1) special categories, as bits of special_mask. */
#define ECL_SPECIAL_KINDS 8

#define POL_MAX_ALLOWED   16
#define POL_MAX_SCOPES    16
#define POL_MAX_LIST      32 /* countries, institutions, users */
#define POL_ID_MAX        128
#define POL_LIST_ITEM_MAX 128
#define POL_PURPOSE_MAX   (ECL_DUO_DISEASE_MAX + 4)

/* transfers.allow bits */
#define POL_XFER_EEA      1u
#define POL_XFER_ADEQUACY 2u
#define POL_XFER_SCC      4u

typedef struct {
    char name[ECL_POLICY_NAME_MAX];
    bool identifying; /* a direct identifier: never released under pseudonymised_only */
} pol_tensor;

typedef struct {
    bool is_default;
    ecl_duo_purpose purpose; /* when !is_default: the request purpose it applies to */
    char code[POL_PURPOSE_MAX];
    uint32_t tensor_mask; /* bits index pol->tensors */
    uint64_t max_rows;
} pol_scope;

struct ecl_policy {
    char source[128];
    char dataset[POL_ID_MAX];

    ecl_category category;
    uint32_t special_mask;
    char special_text[128]; /* "health, genetic": for messages */
    bool pseudonymised;     /* the data are pseudonymised (or anonymous) */

    uint32_t art6_mask; /* bit 0 = (a) .. bit 5 = (f) */
    uint32_t art9_mask; /* bit 0 = (a) .. bit 9 = (j) */
    char art6_text[96]; /* "art6-1-e, art6-1-a" : for remedies */
    char art9_text[128];

    size_t n_allowed;
    ecl_duo_purpose allowed[POL_MAX_ALLOWED];
    char allowed_code[POL_MAX_ALLOWED][POL_PURPOSE_MAX];
    char allowed_text[256]; /* "HMB, DS-C50" */

    uint32_t modifiers;         /* bits of ecl_duo_modifier */
    size_t n_area;              /* GS */
    char area[POL_MAX_LIST][4]; /* "EEA" or alpha-2 */
    char area_text[160];
    size_t n_institutions; /* IS */
    char institutions[POL_MAX_LIST][POL_LIST_ITEM_MAX];
    size_t n_users; /* US: SPIFFE ids */
    char users[POL_MAX_LIST][POL_LIST_ITEM_MAX];
    int64_t moratorium_until; /* MOR: end-exclusive */

    size_t n_tensors;
    pol_tensor tensors[ECL_POLICY_MAX_TENSORS];
    uint32_t identifying_mask;

    size_t n_scopes; /* scopes[0] is the default */
    pol_scope scopes[POL_MAX_SCOPES];

    int64_t access_until; /* first second with no access; 0 = none */
    uint64_t max_grant_days;
    uint64_t retention_days;
    bool has_retention;

    uint32_t transfers; /* POL_XFER_* */

    bool ethics_required;    /* research.ethics_approval_required */
    bool pseudonymised_only; /* research.pseudonymised_only */
};

/* The whole-policy check (policy_check.c): contradictions and policies that
 * can never permit. Returns 0 or -1 (ECL_E_INPUT, naming the fields). */
int ecl_policy_check(const struct ecl_policy *pol, ecl_err *err) ECL_WUR;

/* Parse a lawful basis as a request states it: "art6-1-<a..f>", optionally
 * followed by "+art9-2-<a..j>" (or an Art. 9(2) basis alone). *art6 / *art9
 * get the letter index (0 = (a)) or -1 when absent. Returns 0, or -1 with
 * *why (static text). */
int ecl_basis_parse(const char *s, int *art6, int *art9, const char **why) ECL_WUR;

/* One basis code ("art6-1-e" or "art9-2-j"): 6 or 9 and the letter index, or
 * -1 if it is neither. */
int ecl_basis_code(const char *s, size_t len, int *article, int *letter) ECL_WUR;

/* Names for messages. */
const char *ecl_category_name(ecl_category c);
const char *ecl_special_name(unsigned bit);
const char *ecl_art6_label(unsigned bit); /* "public task" */
const char *ecl_art9_label(unsigned bit); /* "scientific research" */

#endif
