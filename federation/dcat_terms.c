#include "federation/dcat_terms.h"

json_t *dcat_context(void)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "dcat",
                     "http://www.w3.org/ns/dcat#", "dct", "http://purl.org/dc/terms/", "foaf",
                     "http://xmlns.com/foaf/0.1/", "vcard", "http://www.w3.org/2006/vcard/ns#",
                     "spdx", DCAT_SPDX, "rdfs", "http://www.w3.org/2000/01/rdf-schema#", "xsd",
                     "http://www.w3.org/2001/XMLSchema#", "odrl", DCAT_ODRL, "dpv", DCAT_DPV,
                     "dpv-gdpr", DCAT_DPV_GDPR, "ecluse", DCAT_ECLUSE);
}
