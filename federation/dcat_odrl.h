/*
 * dcat_odrl.h - a dataset's access policy (docs/policy.md) as the ODRL 2.2
 * offer its DCAT-AP entry carries: purposes and modifiers as DUO IRIs, GDPR
 * legal bases as DPV IRIs, regions, rows and the access period as
 * constraints, ethics and publication requirements as duties. The mapping
 * table is in docs/dcat-ap.md.
 */
#ifndef ECLUSE_FEDERATION_DCAT_ODRL_H
#define ECLUSE_FEDERATION_DCAT_ODRL_H

#include <jansson.h>

#include "proto/ecluse.pb-c.h"

/* The odrl:Offer (new reference, "@id" = `dataset_uri`#offer) of entry `e`,
 * whose policy the gateway checked when it was published, assigned by
 * `assigner`. */
json_t *dcat_odrl_offer(const Ecluse__V1__DatasetEntry *e, const char *dataset_uri,
                        const char *assigner);

#endif
