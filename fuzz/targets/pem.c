/* pem.c - fuzz target: PEM certificates held in memory (pki_cert_from_pem),
 * as peering bundles and callers' leaf certificates carry them, and what the
 * gateway then reads from one (SPIFFE id, fingerprint, expiry). */
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "site/pki.h"

int fz_pem(const uint8_t *data, size_t size)
{
    X509 *cert = NULL;
    ecl_err err;
    ecl_err_clear(&err);
    if (!FZ_CHECK("pki_cert_from_pem", pki_cert_from_pem((const char *)data, size, &cert, &err),
                  &err, ECL_E_INPUT))
        return 0;
    char spiffe[ECL_SPIFFE_MAX], fp[128], fp2[128];
    ecl_identity id;
    if (FZ_CHECK("pki_cert_spiffe", pki_cert_spiffe(cert, spiffe, sizeof(spiffe), &err), &err,
                 ECL_E_AUTH, ECL_E_INPUT, ECL_E_LIMIT)) {
        if (memchr(spiffe, '\0', sizeof(spiffe)) == NULL)
            fz_fail("pki_cert_spiffe gave an unterminated string");
        (void)FZ_CHECK("identity_parse_spiffe", identity_parse_spiffe(spiffe, &id, &err), &err,
                       ECL_E_AUTH);
    }
    time_t not_after;
    (void)FZ_CHECK("pki_cert_not_after", pki_cert_not_after(cert, &not_after, &err), &err,
                   ECL_E_INPUT);
    if (!FZ_CHECK("pki_cert_fingerprint", pki_cert_fingerprint(cert, fp, sizeof(fp), &err), &err,
                  ECL_E_INPUT))
        fz_fail("a parsed certificate has no fingerprint: %s", err.msg);
    /* The PEM written back reads as the same certificate. */
    char *pem = NULL;
    X509 *again = NULL;
    if (pki_cert_to_pem(cert, &pem, &err) != 0)
        fz_fail("a parsed certificate cannot be written back: %s", err.msg);
    if (pki_cert_from_pem(pem, strlen(pem), &again, &err) != 0)
        fz_fail("a certificate written back does not parse: %s", err.msg);
    if (pki_cert_fingerprint(again, fp2, sizeof(fp2), &err) != 0 || strcmp(fp, fp2) != 0)
        fz_fail("a certificate written back has another fingerprint");
    X509_free(again);
    free(pem);
    X509_free(cert);
    return 1;
}
