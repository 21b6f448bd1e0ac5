#include "site/pki.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "site/keyfile.h"

#define PEM_MAX_BYTES (256 * 1024)

/* OpenSSL's last error, for messages. */
static const char *ossl_reason(void)
{
    static __thread char buf[256];
    unsigned long e = ERR_get_error();
    ERR_clear_error();
    if (e == 0)
        return "no detail from OpenSSL";
    const char *lib = ERR_lib_error_string(e);
    const char *reason = ERR_reason_error_string(e);
    snprintf(buf, sizeof(buf), "%s%s%s", lib ? lib : "", lib && reason ? ": " : "",
             reason ? reason : "unknown reason");
    return buf;
}

static EVP_PKEY *new_p256_key(void)
{
    return EVP_EC_gen("P-256");
}

/* 159 random bits: positive, at most 20 bytes, as RFC 5280 wants. */
static int set_random_serial(X509 *cert)
{
    unsigned char bytes[20];
    if (RAND_bytes(bytes, sizeof(bytes)) != 1)
        return -1;
    bytes[0] &= 0x7f;
    BIGNUM *bn = BN_bin2bn(bytes, sizeof(bytes), NULL);
    int ok = bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL;
    BN_free(bn);
    return ok ? 0 : -1;
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext == NULL)
        return -1;
    int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

static int set_subject(X509 *cert, const char *org, const char *cn)
{
    X509_NAME *name = X509_get_subject_name(cert);
    if (!X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)org, -1, -1,
                                    0) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                    0))
        return -1;
    return 0;
}

static int set_validity(X509 *cert, long from_offset_s, long days)
{
    if (X509_gmtime_adj(X509_getm_notBefore(cert), from_offset_s) == NULL)
        return -1;
    if (X509_gmtime_adj(X509_getm_notAfter(cert), from_offset_s + days * 86400L) == NULL)
        return -1;
    return 0;
}

int pki_make_ca(const char *site, long days, X509 **out_cert, EVP_PKEY **out_key, ecl_err *err)
{
    if (!site_id_is_valid(site))
        return ecl_fail(err, ECL_E_USAGE, "site id '%s' is not valid", site);
    EVP_PKEY *key = new_p256_key();
    X509 *cert = X509_new();
    char org[128], cn[128], san[160];
    snprintf(org, sizeof(org), "ecluse site %s", site);
    snprintf(cn, sizeof(cn), "ecluse %s site CA", site);
    snprintf(san, sizeof(san), "URI:spiffe://%s", site);
    /* A one-minute back-dating absorbs small clock differences between sites. */
    int ok = key != NULL && cert != NULL && X509_set_version(cert, 2) &&
             set_random_serial(cert) == 0 && set_subject(cert, org, cn) == 0 &&
             X509_set_issuer_name(cert, X509_get_subject_name(cert)) &&
             set_validity(cert, -60, days) == 0 && X509_set_pubkey(cert, key) &&
             add_ext(cert, cert, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") == 0 &&
             add_ext(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign") == 0 &&
             add_ext(cert, cert, NID_subject_key_identifier, "hash") == 0 &&
             add_ext(cert, cert, NID_subject_alt_name, san) == 0 &&
             X509_sign(cert, key, EVP_sha256()) > 0;
    if (!ok) {
        X509_free(cert);
        EVP_PKEY_free(key);
        return ecl_fail(err, ECL_E_INTERNAL, "cannot make the CA certificate: %s", ossl_reason());
    }
    *out_cert = cert;
    *out_key = key;
    return 0;
}

static int looks_like_ip(const char *host)
{
    for (const char *p = host; *p != '\0'; p++)
        if (!((*p >= '0' && *p <= '9') || *p == '.' || *p == ':' || (*p >= 'a' && *p <= 'f') ||
              (*p >= 'A' && *p <= 'F')))
            return 0;
    return strchr(host, '.') != NULL || strchr(host, ':') != NULL;
}

static int build_san(const pki_leaf_request *req, char *out, size_t cap)
{
    int n = snprintf(out, cap, "URI:%s", req->spiffe);
    if (n < 0 || (size_t)n >= cap)
        return -1;
    size_t used = (size_t)n;
    for (size_t i = 0; req->host_names != NULL && req->host_names[i] != NULL; i++) {
        const char *h = req->host_names[i];
        n = snprintf(out + used, cap - used, ",%s:%s", looks_like_ip(h) ? "IP" : "DNS", h);
        if (n < 0 || (size_t)n >= cap - used)
            return -1;
        used += (size_t)n;
    }
    return 0;
}

int pki_issue(X509 *ca_cert, EVP_PKEY *ca_key, const pki_leaf_request *req, X509 **out_cert,
              EVP_PKEY **out_key, ecl_err *err)
{
    ecl_identity id;
    if (identity_parse_spiffe(req->spiffe, &id, err) != 0)
        return -1;
    char san[1024];
    if (build_san(req, san, sizeof(san)) != 0)
        return ecl_fail(err, ECL_E_USAGE, "too many host names for one certificate");
    if (req->valid_days <= 0)
        return ecl_fail(err, ECL_E_USAGE, "a certificate must be valid for at least one day");
    char org[128];
    snprintf(org, sizeof(org), "ecluse site %s", id.site);
    EVP_PKEY *key = new_p256_key();
    X509 *cert = X509_new();
    int ok = key != NULL && cert != NULL && X509_set_version(cert, 2) &&
             set_random_serial(cert) == 0 && set_subject(cert, org, id.spiffe) == 0 &&
             X509_set_issuer_name(cert, X509_get_subject_name(ca_cert)) &&
             set_validity(cert, req->valid_from_offset_s - 60, req->valid_days) == 0 &&
             X509_set_pubkey(cert, key) &&
             add_ext(cert, ca_cert, NID_basic_constraints, "critical,CA:FALSE") == 0 &&
             add_ext(cert, ca_cert, NID_key_usage, "critical,digitalSignature,keyAgreement") == 0 &&
             add_ext(cert, ca_cert, NID_ext_key_usage, "serverAuth,clientAuth") == 0 &&
             add_ext(cert, ca_cert, NID_subject_key_identifier, "hash") == 0 &&
             add_ext(cert, ca_cert, NID_authority_key_identifier, "keyid:always") == 0 &&
             add_ext(cert, ca_cert, NID_subject_alt_name, san) == 0 &&
             X509_sign(cert, ca_key, EVP_sha256()) > 0;
    if (!ok) {
        X509_free(cert);
        EVP_PKEY_free(key);
        return ecl_fail(err, ECL_E_INTERNAL, "cannot issue the certificate: %s", ossl_reason());
    }
    *out_cert = cert;
    *out_key = key;
    return 0;
}

/* Render PEM through a memory BIO, then write it with ecl_write_file. */
static int write_bio(const char *path, BIO *bio, mode_t mode, ecl_err *err)
{
    char *data = NULL;
    long len = BIO_get_mem_data(bio, &data);
    int rc = ecl_write_file(path, data, (size_t)len, mode, ECL_WRITE_EXCLUSIVE, err);
    BIO_free_all(bio); /* a mem BIO frees (not wipes) its buffer: OPENSSL_cleanse first */
    return rc;
}

int pki_write_cert(const char *path, X509 *cert, ecl_err *err)
{
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio == NULL || !PEM_write_bio_X509(bio, cert)) {
        BIO_free(bio);
        return ecl_fail(err, ECL_E_INTERNAL, "cannot encode certificate: %s", ossl_reason());
    }
    return write_bio(path, bio, 0644, err);
}

int pki_write_key(const char *path, EVP_PKEY *key, ecl_err *err)
{
    BIO *bio = BIO_new(BIO_s_secmem());
    if (bio == NULL || !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)) {
        BIO_free(bio);
        return ecl_fail(err, ECL_E_INTERNAL, "cannot encode private key: %s", ossl_reason());
    }
    return write_bio(path, bio, 0600, err);
}

int pki_cert_from_pem(const char *pem, size_t len, X509 **cert, ecl_err *err)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    X509 *c = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (c == NULL)
        return ecl_fail(err, ECL_E_INPUT, "not a PEM certificate: %s", ossl_reason());
    *cert = c;
    return 0;
}

int pki_load_cert(const char *path, X509 **cert, ecl_err *err)
{
    char *text = NULL;
    size_t len = 0;
    if (ecl_read_file(path, PEM_MAX_BYTES, &text, &len, err) != 0)
        return -1;
    int rc = pki_cert_from_pem(text, len, cert, err);
    free(text);
    return rc == 0 ? 0 : ecl_err_prefix(err, "%s", path);
}

int pki_load_key(const char *path, EVP_PKEY **key, ecl_err *err)
{
    char *text = NULL;
    size_t len = 0;
    if (keyfile_read(path, PEM_MAX_BYTES, &text, &len, err) != 0)
        return -1;
    BIO *bio = BIO_new_mem_buf(text, (int)len);
    EVP_PKEY *k = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    keyfile_free(text);
    if (k == NULL)
        return ecl_fail(err, ECL_E_INPUT, "%s: not a PEM private key: %s", path, ossl_reason());
    *key = k;
    return 0;
}

int pki_cert_to_pem(X509 *cert, char **pem, ecl_err *err)
{
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio == NULL || !PEM_write_bio_X509(bio, cert)) {
        BIO_free(bio);
        return ecl_fail(err, ECL_E_INTERNAL, "cannot encode certificate: %s", ossl_reason());
    }
    char *data = NULL;
    long len = BIO_get_mem_data(bio, &data);
    char *copy = malloc((size_t)len + 1);
    if (copy != NULL) {
        memcpy(copy, data, (size_t)len);
        copy[len] = '\0';
    }
    BIO_free(bio);
    if (copy == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    *pem = copy;
    return 0;
}

int pki_cert_spiffe(X509 *cert, char *out, size_t cap, ecl_err *err)
{
    GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    int uris = 0;
    const char *found = NULL;
    int found_len = 0;
    for (int i = 0; names != NULL && i < sk_GENERAL_NAME_num(names); i++) {
        GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
        if (gn->type != GEN_URI)
            continue;
        uris++;
        found = (const char *)ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier);
        found_len = ASN1_STRING_length(gn->d.uniformResourceIdentifier);
    }
    int rc = 0;
    if (uris != 1)
        rc = ecl_fail(err, ECL_E_AUTH,
                      "certificate has %d URI SANs; exactly one spiffe:// id "
                      "is required",
                      uris);
    else if (found_len <= 0 || (size_t)found_len >= cap || memchr(found, 0, (size_t)found_len))
        rc = ecl_fail(err, ECL_E_AUTH, "certificate URI SAN is empty, too long or malformed");
    else {
        memcpy(out, found, (size_t)found_len);
        out[found_len] = '\0';
    }
    GENERAL_NAMES_free(names);
    return rc;
}

int pki_verify_issued_by(X509 *cert, X509 *ca, ecl_err *err)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int rc = -1;
    if (store == NULL || ctx == NULL || !X509_STORE_add_cert(store, ca) ||
        !X509_STORE_CTX_init(ctx, store, cert, NULL)) {
        ecl_fail(err, ECL_E_INTERNAL, "cannot set up certificate verification: %s", ossl_reason());
        goto out;
    }
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_ANY);
    if (X509_verify_cert(ctx) != 1) {
        int code = X509_STORE_CTX_get_error(ctx);
        ecl_fail(err, ECL_E_AUTH, "certificate does not verify against the CA: %s",
                 X509_verify_cert_error_string(code));
        goto out;
    }
    rc = 0;
out:
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return rc;
}

int pki_cert_signed_by(X509 *cert, X509 *ca)
{
    EVP_PKEY *ca_key = X509_get0_pubkey(ca);
    int ok = ca_key != NULL && X509_verify(cert, ca_key) == 1;
    ERR_clear_error();
    return ok;
}

int pki_check_identity_files(const char *cert_path, const char *key_path, const char *ca_path,
                             const char *want_spiffe, ecl_err *err)
{
    X509 *cert = NULL, *ca = NULL;
    EVP_PKEY *key = NULL;
    char spiffe[ECL_SPIFFE_MAX];
    int rc = -1;
    if (pki_load_cert(ca_path, &ca, err) != 0 || pki_load_cert(cert_path, &cert, err) != 0 ||
        pki_load_key(key_path, &key, err) != 0)
        goto out;
    if (X509_check_private_key(cert, key) != 1) {
        ERR_clear_error();
        ecl_fail(err, ECL_E_INPUT, "%s does not match the certificate %s", key_path, cert_path);
        goto out;
    }
    if (pki_verify_issued_by(cert, ca, err) != 0) {
        ecl_err_prefix(err, "%s (CA %s)", cert_path, ca_path);
        goto out;
    }
    if (pki_cert_spiffe(cert, spiffe, sizeof(spiffe), err) != 0) {
        ecl_err_prefix(err, "%s", cert_path);
        goto out;
    }
    if (want_spiffe != NULL && strcmp(spiffe, want_spiffe) != 0) {
        ecl_fail(err, ECL_E_INPUT, "%s is the certificate of %s, not of %s", cert_path, spiffe,
                 want_spiffe);
        goto out;
    }
    rc = 0;
out:
    X509_free(cert);
    X509_free(ca);
    EVP_PKEY_free(key);
    return rc;
}

int pki_cert_fingerprint(X509 *cert, char *out, size_t cap, ecl_err *err)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!X509_digest(cert, EVP_sha256(), md, &len) || cap < len * 3)
        return ecl_fail(err, ECL_E_INTERNAL, "cannot fingerprint the certificate");
    for (unsigned int i = 0; i < len; i++)
        snprintf(out + 3 * i, cap - 3 * i, "%02X%s", md[i], i + 1 < len ? ":" : "");
    return 0;
}

int pki_cert_not_after(X509 *cert, time_t *out, ecl_err *err)
{
    struct tm tm;
    if (!ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm))
        return ecl_fail(err, ECL_E_INPUT, "certificate has an unreadable not-after time");
    *out = timegm(&tm);
    return 0;
}

int pki_cert_serial(X509 *cert, char *out, size_t cap, ecl_err *err)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
    char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
    BN_free(bn);
    if (hex == NULL)
        return ecl_fail(err, ECL_E_INPUT, "certificate has an unreadable serial number");
    int fits = snprintf(out, cap, "%s", hex) < (int)cap;
    OPENSSL_free(hex);
    return fits ? 0 : ecl_fail(err, ECL_E_LIMIT, "certificate serial number too long");
}
