/*
 * dcat.h - a site's catalog as DCAT-AP (JSON-LD), for European data portals.
 *
 * Each dataset becomes a dcat:Dataset (identifier, title, description,
 * keywords, licence, provenance, contact point, issued/modified, spatial =
 * the holding site's country, access rights RESTRICTED with the ecluse policy
 * attached) with one dcat:Distribution: the safetensors file as a whole,
 * its byte size, and each tensor's BLAKE2b-256 as an spdx:Checksum.
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
