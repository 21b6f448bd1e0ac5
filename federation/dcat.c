#include "federation/dcat.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "federation/dcat_odrl.h"
#include "federation/dcat_terms.h"
#include "site/country.h"

/* {"@id": iri, "@type": type}: an IRI typed for the shapes' sh:class
 * checks, which see only the types the document states. */
static json_t *typed_iri(const char *iri, const char *type)
{
    return json_pack("{s:s, s:s}", "@id", iri, "@type", type);
}

static json_t *text_en(const char *s)
{
    return json_pack("{s:s, s:s}", "@value", s, "@language", "en");
}

static json_t *iso_date(int64_t t)
{
    char buf[32];
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_pack("{s:s, s:s}", "@value", buf, "@type", "xsd:dateTime");
}

/* The EU country authority table's IRI of an alpha-2 code, typed
 * dct:Location; NULL for no valid country (an empty catalog has none). */
static json_t *country_location(const char *alpha2)
{
    const char *a3 = country_alpha3(alpha2);
    if (a3 == NULL)
        return NULL;
    char iri[96];
    snprintf(iri, sizeof(iri), "%s%s", DCAT_EU_COUNTRY, a3);
    return typed_iri(iri, "dct:Location");
}

/* A licence as a dct:LicenseDocument IRI: an IRI as given, an SPDX id
 * as its SPDX licence-list IRI. */
static json_t *licence_document(const char *licence)
{
    char iri[512];
    if (strncmp(licence, "http://", 7) == 0 || strncmp(licence, "https://", 8) == 0)
        snprintf(iri, sizeof(iri), "%s", licence);
    else
        snprintf(iri, sizeof(iri), "%s%s", DCAT_SPDX_LICENSE, licence);
    return typed_iri(iri, "dct:LicenseDocument");
}

/* The contact as a vcard:Kind: an e-mail address as a mailto: IRI, a web
 * address as vcard:hasURL, anything else as its formatted name. */
static json_t *contact_point(const char *contact, const char *site)
{
    json_t *k =
        json_pack("{s:s, s:o}", "@type", "vcard:Kind", "vcard:fn", text_en(site ? site : contact));
    char iri[512];
    if (strncmp(contact, "mailto:", 7) == 0) {
        json_object_set_new(k, "vcard:hasEmail", json_pack("{s:s}", "@id", contact));
    } else if (strchr(contact, '@') != NULL && strchr(contact, ' ') == NULL) {
        snprintf(iri, sizeof(iri), "mailto:%s", contact);
        json_object_set_new(k, "vcard:hasEmail", json_pack("{s:s}", "@id", iri));
    } else if (strncmp(contact, "http://", 7) == 0 || strncmp(contact, "https://", 8) == 0) {
        json_object_set_new(k, "vcard:hasURL", json_pack("{s:s}", "@id", contact));
    } else {
        json_object_set_new(k, "vcard:fn", text_en(contact));
    }
    return k;
}

/* Each tensor's own digest stays in the ecluse namespace: SPDX allows one
 * checksum per distribution, and BLAKE2b is no algorithm it names. */
static json_t *tensors(const Ecluse__V1__DatasetEntry *e)
{
    json_t *list = json_array();
    for (size_t i = 0; i < e->n_tensors; i++) {
        const Ecluse__V1__TensorInfo *t = e->tensors[i];
        char hex[129] = "";
        if (t->digest.len <= 64)
            sodium_bin2hex(hex, sizeof(hex), t->digest.data, t->digest.len);
        json_t *shape = json_array();
        for (size_t d = 0; d < t->n_shape; d++)
            json_array_append_new(shape, json_integer((json_int_t)t->shape[d]));
        char bytes[24];
        snprintf(bytes, sizeof(bytes), "%llu", (unsigned long long)t->byte_size);
        json_array_append_new(
            list, json_pack("{s:s, s:s, s:s, s:{s:s, s:s}, s:{s:o}, s:s}", "@type", "ecluse:Tensor",
                            "ecluse:name", t->name, "ecluse:dtype", t->dtype, "ecluse:byteSize",
                            "@value", bytes, "@type", "xsd:nonNegativeInteger", "ecluse:shape",
                            "@list", shape, "ecluse:blake2b256", hex));
    }
    return list;
}

static json_t *distribution(const Ecluse__V1__DatasetEntry *e, const char *uri, const char *service,
                            const char *endpoint, json_t *offer_ref)
{
    char id[600], bytes[24], sha[65] = "";
    snprintf(id, sizeof(id), "%s#safetensors", uri);
    snprintf(bytes, sizeof(bytes), "%llu", (unsigned long long)e->file_bytes);
    if (e->file_sha256.len == 32)
        sodium_bin2hex(sha, sizeof(sha), e->file_sha256.data, e->file_sha256.len);
    json_t *d = json_pack(
        "{s:s, s:s, s:o, s:o, s:{s:s}, s:o, s:o, s:o, s:o, s:o}", "@id", id, "@type",
        "dcat:Distribution", "dct:title", text_en("safetensors file of the whole dataset"),
        "dct:description",
        text_en("The safetensors file `ecluse fetch` writes for the whole dataset (every tensor, "
                "every row), served only through the ecluse gateway of the holding site, under "
                "its access policy."),
        "dcat:accessService", "@id", service, "dcat:accessURL",
        typed_iri(endpoint, "rdfs:Resource"), "dct:format",
        typed_iri(DCAT_EU_FILE_TYPE "BIN", "dct:MediaTypeOrExtent"), "odrl:hasPolicy", offer_ref,
        "dcat:mediaType",
        typed_iri(DCAT_IANA_MEDIA_TYPE "application/octet-stream", "dct:MediaType"),
        "ecluse:tensor", tensors(e));
    /* An entry published before the file was measured states neither. */
    if (sha[0] != '\0') {
        json_object_set_new(
            d, "dcat:byteSize",
            json_pack("{s:s, s:s}", "@value", bytes, "@type", "xsd:nonNegativeInteger"));
        json_object_set_new(
            d, "spdx:checksum",
            json_pack("{s:s, s:o, s:{s:s, s:s}}", "@type", "spdx:Checksum", "spdx:algorithm",
                      typed_iri(DCAT_SPDX "checksumAlgorithm_sha256", "spdx:ChecksumAlgorithm"),
                      "spdx:checksumValue", "@value", sha, "@type", "xsd:hexBinary"));
    }
    if (e->licence[0] != '\0')
        json_object_set_new(d, "dct:license", licence_document(e->licence));
    return d;
}

static json_t *dataset(const Ecluse__V1__CatalogListing *l, const dcat_site *s)
{
    const Ecluse__V1__DatasetEntry *e = l->entry;
    char uri[512];
    snprintf(uri, sizeof(uri), "%s/datasets/%s", s->uri, e->id);
    json_t *keywords = json_array();
    for (size_t k = 0; k < e->n_keywords; k++)
        json_array_append_new(keywords, text_en(e->keywords[k]));
    json_t *offer = dcat_odrl_offer(e, uri, s->publisher);
    json_t *offer_ref = json_pack("{s:s}", "@id", json_string_value(json_object_get(offer, "@id")));
    json_t *d = json_pack(
        "{s:s, s:s, s:s, s:o, s:o, s:o, s:{s:s}, s:o, s:o, s:o, s:o, s:[o], s:o}", "@id", uri,
        "@type", "dcat:Dataset", "dct:identifier", e->id, "dct:title", text_en(e->title),
        "dct:description", text_en(e->description), "dcat:keyword", keywords, "dct:publisher",
        "@id", s->publisher, "dct:accessRights",
        typed_iri(DCAT_EU_ACCESS_RIGHT "RESTRICTED", "dct:RightsStatement"),
        "dct:accrualPeriodicity", typed_iri(DCAT_EU_FREQUENCY "IRREG", "dct:Frequency"),
        "dct:issued", iso_date(e->issued_unix), "dct:modified", iso_date(e->modified_unix),
        "dcat:distribution", distribution(e, uri, s->service, s->endpoint, offer_ref),
        "odrl:hasPolicy", offer);
    json_t *where = country_location(l->country);
    if (where != NULL)
        json_object_set_new(d, "dct:spatial", where);
    if (e->provenance[0] != '\0')
        json_object_set_new(d, "dct:provenance",
                            json_pack("{s:s, s:o}", "@type", "dct:ProvenanceStatement",
                                      "rdfs:label", text_en(e->provenance)));
    if (e->contact[0] != '\0')
        json_object_set_new(d, "dcat:contactPoint", contact_point(e->contact, l->site));
    if (e->collection_purpose[0] != '\0')
        json_object_set_new(d, "ecluse:collectionPurpose", text_en(e->collection_purpose));
    return d;
}

json_t *dcat_catalog(const char *site, const char *country, const char *publisher_uri,
                     Ecluse__V1__CatalogListing *const *listings, size_t count)
{
    dcat_site s;
    snprintf(s.uri, sizeof(s.uri), "%s", publisher_uri);
    snprintf(s.publisher, sizeof(s.publisher), "%s#publisher", publisher_uri);
    snprintf(s.service, sizeof(s.service), "%s#gateway", publisher_uri);
    snprintf(s.endpoint, sizeof(s.endpoint), "%s/gateway", publisher_uri);
    json_t *datasets = json_array(), *served = json_array();
    for (size_t i = 0; i < count; i++) {
        json_t *d = dataset(listings[i], &s);
        json_array_append_new(served, json_pack("{s:O}", "@id", json_object_get(d, "@id")));
        json_array_append_new(datasets, d);
    }
    char title[128], about[512];
    snprintf(title, sizeof(title), "ecluse catalog of site %s", site);
    snprintf(about, sizeof(about),
             "The datasets that site %s of an ecluse federation holds. Each is read only "
             "through the site's gateway, under the access policy its offer states.",
             site);
    json_t *service = json_pack(
        "{s:s, s:s, s:o, s:o, s:o, s:o}", "@id", s.service, "@type", "dcat:DataService",
        "dct:title", text_en("ecluse gateway"), "dct:description",
        text_en("The ecluse gateway of the site: gRPC over mutual TLS (docs/protocol.md)"),
        "dcat:endpointURL", typed_iri(s.endpoint, "rdfs:Resource"), "dcat:servesDataset", served);
    json_t *publisher = json_pack("{s:s, s:s, s:o}", "@id", s.publisher, "@type", "foaf:Agent",
                                  "foaf:name", text_en(site));
    json_t *catalog = json_pack(
        "{s:s, s:s, s:o, s:o, s:{s:s}, s:[{s:s}], s:o}", "@id", s.uri, "@type", "dcat:Catalog",
        "dct:title", text_en(title), "dct:description", text_en(about), "dct:publisher", "@id",
        s.publisher, "dcat:service", "@id", s.service, "dcat:dataset", datasets);
    json_t *where = country_location(country);
    if (where != NULL)
        json_object_set_new(catalog, "dct:spatial", where);
    return json_pack("{s:o, s:[o, o, o]}", "@context", dcat_context(), "@graph", catalog, service,
                     publisher);
}
