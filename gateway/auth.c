/* auth.c - who may connect (the TLS trust set) and who a caller is. */
#include <stdlib.h>
#include <string.h>

#include "gateway/gateway.h"
#include "gateway/pki.h"

int gateway_authenticate(void *ctx, const char *leaf_pem, size_t leaf_len, ecl_identity *out,
                         ecl_err *err)
{
    gateway *gw = ctx;
    X509 *cert = NULL;
    if (pki_cert_from_pem(leaf_pem, leaf_len, &cert, err) != 0) {
        err->code = ECL_E_AUTH;
        return ecl_err_prefix(err, "client certificate");
    }
    char spiffe[ECL_SPIFFE_MAX];
    int rc = -1;
    if (pki_cert_spiffe(cert, spiffe, sizeof(spiffe), err) != 0 ||
        identity_parse_spiffe(spiffe, out, err) != 0)
        goto out;
    if (out->role == ECL_ROLE_GATEWAY) {
        ecl_fail(err, ECL_E_DENIED, "%s: site '%s' is not a peer of this gateway", spiffe,
                 out->site);
        goto out;
    }
    /* People are served only by their own site, and only as its CA says. */
    if (strcmp(out->site, gw->cfg.site) != 0) {
        ecl_fail(err, ECL_E_DENIED,
                 "%s belongs to site '%s'; people are served only by their own site's gateway",
                 spiffe, out->site);
        goto out;
    }
    if (pki_verify_issued_by(cert, gw->ca, err) != 0) {
        err->code = ECL_E_AUTH;
        ecl_err_prefix(err, "%s", spiffe);
        goto out;
    }
    rc = 0;
out:
    X509_free(cert);
    return rc;
}

int gateway_trust(void *ctx, char **pem, uint64_t *generation)
{
    gateway *gw = ctx;
    *pem = strdup(gw->ca_pem);
    *generation = 1;
    return *pem != NULL ? 0 : -1;
}
