/*
 * duo.h - GA4GH Data Use Ontology codes, and matching a research purpose
 * against a dataset's data use the way the GA4GH DUOS algorithm does:
 *
 *   the dataset allows   covers a request for
 *   NRES                 GRU, HMB, POA, DS-<any>
 *   GRU                  GRU, HMB, POA, DS-<any>
 *   HMB                  HMB, DS-<any>
 *   DS-<d>               DS-<d> (the same disease id, compared without case)
 *   POA                  POA
 *
 * Disease ids are compared as given (e.g. "MONDO:0007254" or ICD-10 "C50");
 * ontology subclass matching (DUOS asks an ontology service) is not done.
 * Modifiers (NCU, IRB, ...) are not purposes: the engine turns them into
 * requirements and obligations (decide.c).
 */
#ifndef ECLUSE_POLICY_DUO_H
#define ECLUSE_POLICY_DUO_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

typedef enum {
    ECL_DUO_NRES = 0, /* no restriction (dataset side only) */
    ECL_DUO_GRU,
    ECL_DUO_HMB,
    ECL_DUO_DS,
    ECL_DUO_POA,
} ecl_duo_primary;

/* Modifiers the engine enforces, as bit numbers (policy modifier masks). */
typedef enum {
    ECL_DUO_NCU = 0, /* non-commercial use only */
    ECL_DUO_NPU,     /* not-for-profit use only */
    ECL_DUO_NPUNCU,  /* not-for-profit, non-commercial use only */
    ECL_DUO_IRB,     /* ethics approval required */
    ECL_DUO_GS,      /* geographical restriction */
    ECL_DUO_IS,      /* institution specific restriction */
    ECL_DUO_US,      /* user specific restriction */
    ECL_DUO_NPOA,    /* population origins or ancestry research prohibited */
    ECL_DUO_TS,      /* time limit on use */
    ECL_DUO_MOR,     /* publication moratorium */
    ECL_DUO_PUB,     /* publication required */
    ECL_DUO_COL,     /* collaboration required */
    ECL_DUO_RTN,     /* return to database or resource */
    ECL_DUO_MODIFIER_COUNT
} ecl_duo_modifier;

#define ECL_DUO_DISEASE_MAX 32

typedef struct {
    ecl_duo_primary code;
    char disease[ECL_DUO_DISEASE_MAX + 1]; /* for ECL_DUO_DS */
} ecl_duo_purpose;

typedef enum {
    ECL_DUO_KIND_PRIMARY,
    ECL_DUO_KIND_MODIFIER,
    ECL_DUO_KIND_UNSUPPORTED, /* a real DUO code this engine cannot enforce */
} ecl_duo_kind;

typedef struct {
    const char *code;  /* "NCU" */
    const char *id;    /* "DUO:0000046" */
    const char *label; /* "non-commercial use only" */
    ecl_duo_kind kind;
    int value; /* ecl_duo_primary or ecl_duo_modifier */
} ecl_duo_info;

/* The table entry of `code` ("DS-C50" finds DS), or NULL if it is no DUO code
 * this module knows. Case-sensitive: DUO codes are upper case. */
const ecl_duo_info *ecl_duo_lookup(const char *code);

/* The table entry of a primary code or modifier. */
const ecl_duo_info *ecl_duo_primary_info(ecl_duo_primary p);
const ecl_duo_info *ecl_duo_modifier_info(ecl_duo_modifier m);

/* Parse a purpose code. With `dataset_side`, NRES is accepted too (a dataset
 * can allow any use; a request must name its purpose). Returns 0, or -1 with
 * *why (static text) saying what is wrong, worded to be followed by the
 * quoted code: "unknown DUO code 'XYZ'". */
int ecl_duo_parse_purpose(const char *s, bool dataset_side, ecl_duo_purpose *out,
                          const char **why) ECL_WUR;

/* 1 if a dataset allowing `allowed` covers a request for `req`, else 0. */
int ecl_duo_covers(const ecl_duo_purpose *allowed, const ecl_duo_purpose *req);

/* Write the code ("HMB", "DS-C50") into out (at most cap bytes, NUL-ended). */
void ecl_duo_format(const ecl_duo_purpose *p, char *out, size_t cap);

#endif
