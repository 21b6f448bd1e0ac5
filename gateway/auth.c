/* auth.c - who may connect (the TLS trust set) and who a caller is.
 *
 * TLS lets in certificates from this site's CA and from every peer's CA.
 * Then each identity is bound to the CA that may vouch for it: people to
 * this site's CA, spiffe://<peer>/gateway to that peer's CA only. A
 * certificate from LU's CA that claims to be FI's gateway is refused. */
#include <stdlib.h>
#include <string.h>

#include "gateway/gateway.h"
#include "site/pki.h"
#include "site/revocation.h"
#include "site/site.h"

static int authenticate_peer_gateway(gateway *gw, X509 *cert, const ecl_identity *id, ecl_err *err)
{
    pthread_mutex_lock(&gw->peers_lock);
    int rc = gateway_peers_current(gw, err);
    size_t i = 0;
    while (rc == 0 && i < gw->peers.count && strcmp(gw->peers.peers[i].info.site, id->site) != 0)
        i++;
    if (rc == 0 && i == gw->peers.count)
        rc = ecl_fail(err, ECL_E_DENIED, "%s: site '%s' is not a peer of this gateway", id->spiffe,
                      id->site);
    if (rc == 0 && pki_verify_issued_by(cert, gw->peers.cas[i], err) != 0) {
        err->code = ECL_E_AUTH;
        rc = ecl_err_prefix(err, "%s was not issued by site '%s''s CA", id->spiffe, id->site);
    }
    pthread_mutex_unlock(&gw->peers_lock);
    return rc;
}

/* 1 if `cert` of a person of another site was issued by that site's CA,
 * a peer's: the certificate proves who it is, though this gateway serves
 * only its own people. */
static int person_of_peer(gateway *gw, X509 *cert, const ecl_identity *id)
{
    ecl_err err;
    pthread_mutex_lock(&gw->peers_lock);
    int proved = 0;
    if (gateway_peers_current(gw, &err) == 0)
        for (size_t i = 0; i < gw->peers.count && !proved; i++)
            proved = strcmp(gw->peers.peers[i].info.site, id->site) == 0 &&
                     pki_verify_issued_by(cert, gw->peers.cas[i], &err) == 0;
    pthread_mutex_unlock(&gw->peers_lock);
    return proved;
}

int gateway_authenticate(void *ctx, const char *leaf_pem, size_t leaf_len, ecl_identity *out,
                         ecl_err *err)
{
    gateway *gw = ctx;
    X509 *cert = NULL;
    int proved = 0; /* a refused caller whose certificate still proved who it is */
    memset(out, 0, sizeof(*out));
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
        rc = authenticate_peer_gateway(gw, cert, out, err);
        goto out;
    }
    /* People are served only by their own site, and only as its CA says. */
    if (strcmp(out->site, gw->cfg.site) != 0) {
        proved = person_of_peer(gw, cert, out);
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
    /* Revoked by the admin: refused from the next call, no restart needed. */
    char serial[128], why[256];
    int revoked = pki_cert_serial(cert, serial, sizeof(serial), err) != 0
                      ? -1
                      : site_is_revoked(gw->cfg.tls_revoked, serial, why, sizeof(why), err);
    if (revoked != 0) {
        if (revoked == 1)
            ecl_fail(err, ECL_E_AUTH, "the certificate of %s (serial %s) was revoked: %s", spiffe,
                     serial, why);
        else
            err->code = ECL_E_AUTH; /* a damaged list refuses everyone: fail closed */
        goto out;
    }
    rc = 0;
out:
    if (rc != 0 && !proved)
        memset(out, 0, sizeof(*out)); /* nobody was proved: "unauthenticated" */
    X509_free(cert);
    return rc;
}

int gateway_trust(void *ctx, char **pem, uint64_t *generation)
{
    gateway *gw = ctx;
    ecl_err err;
    pthread_mutex_lock(&gw->peers_lock);
    int rc = gateway_peers_current(gw, &err);
    if (rc == 0) {
        *pem = strdup(gw->peers.trust_pem);
        *generation = gw->peers.generation + 1; /* never 0 */
        rc = *pem != NULL ? 0 : -1;
    }
    pthread_mutex_unlock(&gw->peers_lock);
    return rc;
}
