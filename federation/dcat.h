/*
 * dcat.h - a site's catalog as DCAT-AP 3.0.1 (JSON-LD), for European data
 * portals and dataspace connectors; the model is in docs/dcat-ap.md.
 *
 * The catalog, its publisher (a foaf:Agent) and the site's gateway (a
 * dcat:DataService) are the graph's nodes; each dataset has one
 * dcat:Distribution, the safetensors file a whole fetch writes (its size
 * and SHA-256, each tensor's BLAKE2b-256 in the ecluse namespace), and an
 * odrl:Offer of its access policy (federation/dcat_odrl.h).
 */
#ifndef ECLUSE_FEDERATION_DCAT_H
#define ECLUSE_FEDERATION_DCAT_H

#include <jansson.h>
#include <stddef.h>

#include "common/err.h"
#include "proto/ecluse.pb-c.h"

/* A JSON-LD document (new reference) describing `count` listings of one site. */
json_t *dcat_catalog(const char *site, const char *country, const char *publisher_uri,
                     Ecluse__V1__CatalogListing *const *listings, size_t count) ECL_WUR;

#endif
