#include "federation/dcat.h"

#include <sodium.h>
#include <stdio.h>
#include <time.h>

static json_t *iso_date(int64_t t)
{
    char buf[32];
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_pack("{s:s, s:s}", "@value", buf, "@type", "xsd:dateTime");
}

static json_t *distribution(const Ecluse__V1__DatasetEntry *e)
{
    uint64_t bytes = 0;
    json_t *checksums = json_array();
    for (size_t i = 0; i < e->n_tensors; i++) {
        const Ecluse__V1__TensorInfo *t = e->tensors[i];
        bytes += t->byte_size;
        char hex[129] = "";
        if (t->digest.len <= 64)
            sodium_bin2hex(hex, sizeof(hex), t->digest.data, t->digest.len);
        json_array_append_new(checksums,
                              json_pack("{s:s, s:s, s:s, s:s}", "@type", "spdx:Checksum",
                                        "spdx:algorithm", "spdx:checksumAlgorithm_blake2b256",
                                        "spdx:checksumValue", hex, "dct:description", t->name));
    }
    return json_pack("{s:s, s:s, s:s, s:I, s:o, s:s}", "@type", "dcat:Distribution", "dct:format",
                     "http://publications.europa.eu/resource/authority/file-type/BIN",
                     "dcat:mediaType", "application/octet-stream", "dcat:byteSize",
                     (json_int_t)bytes, "spdx:checksum", checksums, "dct:description",
                     "safetensors file; served only through the ecluse gateway of the "
                     "holding site, under its access policy");
}

static json_t *dataset(const Ecluse__V1__CatalogListing *l, const char *base)
{
    const Ecluse__V1__DatasetEntry *e = l->entry;
    char uri[512];
    snprintf(uri, sizeof(uri), "%s/datasets/%s", base, e->id);
    json_t *keywords = json_array();
    for (size_t k = 0; k < e->n_keywords; k++)
        json_array_append_new(keywords, json_string(e->keywords[k]));
    json_t *policy = json_loads(e->policy_json, 0, NULL);
    json_t *d = json_pack(
        "{s:s, s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s}, s:o, s:s, s:{s:s, s:s}, s:s, s:o, s:o, "
        "s:s, s:o, s:o}",
        "@id", uri, "@type", "dcat:Dataset", "dct:identifier", e->id, "dct:title", "@value",
        e->title, "@language", "en", "dct:description", "@value", e->description, "@language", "en",
        "dcat:keyword", keywords, "dct:license", e->licence, "dct:provenance", "@type",
        "dct:ProvenanceStatement", "rdfs:label", e->provenance, "dct:accessRights",
        "http://publications.europa.eu/resource/authority/access-right/RESTRICTED", "dct:issued",
        iso_date(e->issued_unix), "dct:modified", iso_date(e->modified_unix), "dct:spatial",
        l->country, "dcat:distribution", json_pack("[o]", distribution(e)), "ecluse:policy",
        policy ? policy : json_null());
    if (e->contact[0] != '\0')
        json_object_set_new(
            d, "dcat:contactPoint",
            json_pack("{s:s, s:s}", "@type", "vcard:Kind", "vcard:hasEmail", e->contact));
    if (e->collection_purpose[0] != '\0')
        json_object_set_new(d, "ecluse:collectionPurpose", json_string(e->collection_purpose));
    return d;
}

json_t *dcat_catalog(const char *site, const char *country, const char *publisher_uri,
                     Ecluse__V1__CatalogListing *const *listings, size_t count)
{
    json_t *datasets = json_array();
    for (size_t i = 0; i < count; i++)
        json_array_append_new(datasets, dataset(listings[i], publisher_uri));
    char title[128];
    snprintf(title, sizeof(title), "ecluse catalog of site %s", site);
    json_t *context =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "dcat", "http://www.w3.org/ns/dcat#",
                  "dct", "http://purl.org/dc/terms/", "foaf", "http://xmlns.com/foaf/0.1/", "vcard",
                  "http://www.w3.org/2006/vcard/ns#", "spdx", "http://spdx.org/rdf/terms#", "rdfs",
                  "http://www.w3.org/2000/01/rdf-schema#", "xsd",
                  "http://www.w3.org/2001/XMLSchema#", "ecluse", "https://ecluse.invalid/ns#");
    json_t *catalog =
        json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s}, s:s, s:o}", "@id", publisher_uri,
                  "@type", "dcat:Catalog", "dct:title", "@value", title, "@language", "en",
                  "dct:publisher", "@id", publisher_uri, "@type", "foaf:Agent", "foaf:name", site,
                  "dct:spatial", country, "dcat:dataset", datasets);
    return json_pack("{s:o, s:[o]}", "@context", context, "@graph", catalog);
}
