/*
 * pki.h - a site's certificates, made and checked with OpenSSL's library.
 *
 * Each site is its own trust domain: one CA (ECDSA P-256, self-signed) issues
 * the gateway's certificate and every person's. Leaf certificates carry one
 * URI SAN, the SPIFFE id (identity.h), and may carry DNS/IP SANs so a client
 * can check the gateway's host name. Private keys are written as PKCS#8 PEM,
 * mode 0600, and never over an existing file.
 */
#ifndef ECLUSE_SITE_PKI_H
#define ECLUSE_SITE_PKI_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <time.h>

#include "common/err.h"
#include "site/identity.h"

/* What a certificate is for, and for how long. */
typedef struct pki_leaf_request {
    const char *spiffe;            /* the one URI SAN */
    const char *const *host_names; /* DNS or IP SANs, NULL-terminated; may be NULL */
    long valid_from_offset_s;      /* not-before = now + this (negative: in the past) */
    long valid_days;               /* not-after = not-before + days */
} pki_leaf_request;

/* A new CA for `site`, valid `days` days. *cert and *key are the caller's
 * (X509_free, EVP_PKEY_free). */
int pki_make_ca(const char *site, long days, X509 **cert, EVP_PKEY **key, ecl_err *err) ECL_WUR;

/* A new key and a certificate for it, signed by the CA. */
int pki_issue(X509 *ca_cert, EVP_PKEY *ca_key, const pki_leaf_request *req, X509 **cert,
              EVP_PKEY **key, ecl_err *err) ECL_WUR;

/* Write a certificate (0644) / a private key (0600); both refuse to overwrite. */
int pki_write_cert(const char *path, X509 *cert, ecl_err *err) ECL_WUR;
int pki_write_key(const char *path, EVP_PKEY *key, ecl_err *err) ECL_WUR;

/* Load PEM files; ECL_E_INPUT naming the file if it holds no certificate/key.
 * A key file that group or others can reach is refused (site/keyfile.h). */
int pki_load_cert(const char *path, X509 **cert, ecl_err *err) ECL_WUR;
int pki_load_key(const char *path, EVP_PKEY **key, ecl_err *err) ECL_WUR;

/* Parse a PEM certificate held in memory. */
int pki_cert_from_pem(const char *pem, size_t len, X509 **cert, ecl_err *err) ECL_WUR;

/* The certificate as PEM text, malloc'd, NUL-terminated. */
int pki_cert_to_pem(X509 *cert, char **pem, ecl_err *err) ECL_WUR;

/* The single spiffe:// URI SAN of `cert`. ECL_E_AUTH if there is none or more
 * than one URI SAN. */
int pki_cert_spiffe(X509 *cert, char *out, size_t cap, ecl_err *err) ECL_WUR;

/* 1 if `ca`'s key signed `cert` (nothing else is checked: an expired
 * certificate of the CA still counts), else 0. */
int pki_cert_signed_by(X509 *cert, X509 *ca);

/* Check that `cert` was issued by `ca` (signature, validity now, CA flags).
 * ECL_E_AUTH with OpenSSL's reason ("certificate has expired"). */
int pki_verify_issued_by(X509 *cert, X509 *ca, ecl_err *err) ECL_WUR;

/* Everything a gateway or a person checks before using their identity files:
 * each loads, the key matches the certificate, the certificate was issued by
 * the CA and is valid now, and its SPIFFE id is `want_spiffe` (when not NULL). */
int pki_check_identity_files(const char *cert_path, const char *key_path, const char *ca_path,
                             const char *want_spiffe, ecl_err *err) ECL_WUR;

/* SHA-256 fingerprint of the certificate's DER, hex with ':' separators. */
int pki_cert_fingerprint(X509 *cert, char *out, size_t cap, ecl_err *err) ECL_WUR;

/* The certificate's serial number, upper-case hex, into out. */
int pki_cert_serial(X509 *cert, char *out, size_t cap, ecl_err *err) ECL_WUR;

/* The certificate's not-after time as Unix seconds. */
int pki_cert_not_after(X509 *cert, time_t *out, ecl_err *err) ECL_WUR;

#endif
