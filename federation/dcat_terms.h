/*
 * dcat_terms.h - the vocabularies of the DCAT-AP export (docs/dcat-ap.md):
 * the IRI bases of the authority tables it names, and its JSON-LD context.
 */
#ifndef ECLUSE_FEDERATION_DCAT_TERMS_H
#define ECLUSE_FEDERATION_DCAT_TERMS_H

#include <jansson.h>

/* EU Publications Office authority tables (country by ISO 3166-1 alpha-3). */
#define DCAT_EU_AUTHORITY    "http://publications.europa.eu/resource/authority/"
#define DCAT_EU_COUNTRY      DCAT_EU_AUTHORITY "country/"
#define DCAT_EU_ACCESS_RIGHT DCAT_EU_AUTHORITY "access-right/"
#define DCAT_EU_FILE_TYPE    DCAT_EU_AUTHORITY "file-type/"
#define DCAT_EU_FREQUENCY    DCAT_EU_AUTHORITY "frequency/"
#define DCAT_IANA_MEDIA_TYPE "http://www.iana.org/assignments/media-types/"
#define DCAT_SPDX            "http://spdx.org/rdf/terms#"
#define DCAT_SPDX_LICENSE    "http://spdx.org/licenses/"
#define DCAT_ODRL            "http://www.w3.org/ns/odrl/2/"
#define DCAT_DUO             "http://purl.obolibrary.org/obo/DUO_"
#define DCAT_DPV             "https://w3id.org/dpv#"
#define DCAT_DPV_GDPR        "https://w3id.org/dpv/dpv-gdpr#"
#define DCAT_ECLUSE          "https://ecluse.invalid/ns#"

/* The IRIs one site's export hangs together by. */
typedef struct dcat_site {
    char uri[256];       /* the catalog (--base-uri/SITE) */
    char publisher[272]; /* the site as a foaf:Agent */
    char service[272];   /* its gateway as a dcat:DataService */
    char endpoint[272];  /* the gateway's endpoint, each distribution's access URL */
} dcat_site;

/* The inline JSON-LD context (new reference): every prefix the document
 * uses, so it expands offline with nothing dropped. */
json_t *dcat_context(void);

#endif
