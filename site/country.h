/*
 * country.h - ISO 3166-1 alpha-2 country codes.
 *
 * A site's country and a training job's country are checked against the
 * officially assigned codes, so a typo ("DK" for Germany aside, "GE" is
 * Georgia) is caught where it is typed, not where a transfer is decided.
 */
#ifndef ECLUSE_SITE_COUNTRY_H
#define ECLUSE_SITE_COUNTRY_H

/* 1 if `code` is an officially assigned ISO 3166-1 alpha-2 code, written in
 * upper case ("FI", "LU"); 0 otherwise. */
int country_is_valid(const char *code);

/* The ISO 3166-1 alpha-3 code of a valid alpha-2 code ("LU" -> "LUX"), which
 * the EU's country authority table names its countries by; NULL if `code` is
 * not valid. */
const char *country_alpha3(const char *code);

#endif
