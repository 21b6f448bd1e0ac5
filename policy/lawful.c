/* lawful.c - GDPR lawful bases and data categories: codes and names. */
#include <string.h>

#include "policy/policy_internal.h"

static const char *const k_art6[6] = {
    "consent",         "contract",    "legal obligation",
    "vital interests", "public task", "legitimate interests",
};

static const char *const k_art9[10] = {
    "explicit consent",
    "employment and social protection law",
    "vital interests",
    "not-for-profit body",
    "made public by the data subject",
    "legal claims",
    "substantial public interest",
    "health or social care",
    "public health",
    "scientific research, Art. 89(1)",
};

static const char *const k_special[ECL_SPECIAL_KINDS] = {
    "racial-ethnic-origin",
    "political-opinions",
    "religious-beliefs",
    "trade-union",
    "genetic",
    "biometric",
    "health",
    "sex-life",
};

const char *ecl_art6_label(unsigned bit)
{
    return bit < 6 ? k_art6[bit] : "?";
}

const char *ecl_art9_label(unsigned bit)
{
    return bit < 10 ? k_art9[bit] : "?";
}

const char *ecl_special_name(unsigned bit)
{
    return bit < ECL_SPECIAL_KINDS ? k_special[bit] : NULL;
}

const char *ecl_category_name(ecl_category c)
{
    switch (c) {
    case ECL_CAT_ANONYMOUS:
        return "anonymous";
    case ECL_CAT_PSEUDONYMISED:
        return "pseudonymised";
    case ECL_CAT_PERSONAL:
        return "personal";
    case ECL_CAT_SPECIAL:
        return "special";
    }
    return "?";
}

int ecl_basis_code(const char *s, size_t len, int *article, int *letter)
{
    if (len != 8)
        return -1;
    char c = s[7];
    if (memcmp(s, "art6-1-", 7) == 0 && c >= 'a' && c <= 'f') {
        *article = 6;
        *letter = c - 'a';
        return 0;
    }
    if (memcmp(s, "art9-2-", 7) == 0 && c >= 'a' && c <= 'j') {
        *article = 9;
        *letter = c - 'a';
        return 0;
    }
    return -1;
}

int ecl_basis_parse(const char *s, int *art6, int *art9, const char **why)
{
    *art6 = -1;
    *art9 = -1;
    if (*s == '\0') {
        *why = "no lawful basis given";
        return -1;
    }
    while (*s != '\0') {
        const char *plus = strchr(s, '+');
        size_t len = plus != NULL ? (size_t)(plus - s) : strlen(s);
        int article, letter;
        if (ecl_basis_code(s, len, &article, &letter) != 0) {
            *why = "not of the form art6-1-<a..f> or art9-2-<a..j>";
            return -1;
        }
        int *slot = article == 6 ? art6 : art9;
        if (*slot != -1) {
            *why = article == 6 ? "more than one Art. 6(1) basis" : "more than one Art. 9(2) basis";
            return -1;
        }
        *slot = letter;
        if (plus == NULL)
            break;
        s = plus + 1;
        if (*s == '\0') {
            *why = "ends with '+'";
            return -1;
        }
    }
    return 0;
}
