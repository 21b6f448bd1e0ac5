#include "site/sitekey.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "site/keyfile.h"

#define SECRET_HEADER "ecluse-ed25519-secret-key-v1\n"
#define PUBLIC_HEADER "ecluse-ed25519-public-key-v1\n"

static int library_ready(ecl_err *err)
{
    if (sodium_init() < 0)
        return ecl_fail(err, ECL_E_INTERNAL, "libsodium failed to initialise");
    return 0;
}

int site_key_generate(site_key *key, ecl_err *err)
{
    if (library_ready(err) != 0)
        return -1;
    crypto_sign_keypair(key->public_key, key->secret_key);
    return 0;
}

static int write_key_file(const char *path, const char *header, const unsigned char *bytes,
                          size_t len, mode_t mode, ecl_err *err)
{
    char text[256];
    size_t hlen = strlen(header);
    memcpy(text, header, hlen);
    sodium_bin2base64(text + hlen, sizeof(text) - hlen - 1, bytes, len,
                      sodium_base64_VARIANT_ORIGINAL);
    size_t total = strlen(text);
    text[total++] = '\n';
    int rc = ecl_write_file(path, text, total, mode, ECL_WRITE_EXCLUSIVE, err);
    sodium_memzero(text, sizeof(text));
    return rc;
}

int site_key_save(const site_key *key, const char *path, ecl_err *err)
{
    char pub_path[4096];
    if (snprintf(pub_path, sizeof(pub_path), "%s.pub", path) >= (int)sizeof(pub_path))
        return ecl_fail(err, ECL_E_LIMIT, "%s: path too long", path);
    if (ecl_path_exists(pub_path))
        return ecl_fail(err, ECL_E_EXISTS, "%s: already exists; refusing to overwrite it",
                        pub_path);
    if (write_key_file(path, SECRET_HEADER, key->secret_key, sizeof(key->secret_key), 0600, err) !=
        0)
        return -1;
    return write_key_file(pub_path, PUBLIC_HEADER, key->public_key, sizeof(key->public_key), 0644,
                          err);
}

/* Decode "<header><base64>\n" holding exactly `want` bytes. */
static int decode_key_text(const char *path, const char *text, const char *header,
                           unsigned char *out, size_t want, ecl_err *err)
{
    size_t hlen = strlen(header);
    if (strncmp(text, header, hlen) != 0)
        return ecl_fail(err, ECL_E_INPUT, "%s: not an ecluse key file (expected first line '%.*s')",
                        path, (int)hlen - 1, header);
    size_t got = 0;
    const char *end = NULL;
    if (sodium_base642bin(out, want, text + hlen, strlen(text + hlen), "\n\r", &got, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        got != want)
        return ecl_fail(err, ECL_E_INPUT, "%s: key is not %zu bytes of base64", path, want);
    for (; *end != '\0'; end++)
        if (*end != '\n' && *end != '\r')
            return ecl_fail(err, ECL_E_INPUT, "%s: unexpected text after the key", path);
    return 0;
}

int site_key_load(const char *path, site_key *key, ecl_err *err)
{
    if (library_ready(err) != 0)
        return -1;
    char *text = NULL;
    size_t len = 0;
    if (keyfile_read(path, 4096, &text, &len, err) != 0)
        return ecl_err_prefix(err, "signing key");
    int rc =
        decode_key_text(path, text, SECRET_HEADER, key->secret_key, sizeof(key->secret_key), err);
    keyfile_free(text);
    if (rc != 0)
        return -1;
    /* The secret key embeds its public half; re-derive it from the seed so a
     * file whose halves disagree is caught here, not by a peer. */
    unsigned char seed[crypto_sign_SEEDBYTES];
    unsigned char derived_sk[crypto_sign_SECRETKEYBYTES];
    crypto_sign_ed25519_sk_to_seed(seed, key->secret_key);
    crypto_sign_seed_keypair(key->public_key, derived_sk, seed);
    int same = sodium_memcmp(derived_sk, key->secret_key, sizeof(derived_sk)) == 0;
    sodium_memzero(seed, sizeof(seed));
    sodium_memzero(derived_sk, sizeof(derived_sk));
    if (!same) {
        site_key_wipe(key);
        return ecl_fail(err, ECL_E_INPUT, "%s: the key's public half does not match its seed",
                        path);
    }
    return 0;
}

int site_key_load_public(const char *path, unsigned char pk[crypto_sign_PUBLICKEYBYTES],
                         ecl_err *err)
{
    if (library_ready(err) != 0)
        return -1;
    char *text = NULL;
    size_t len = 0;
    if (ecl_read_file(path, 4096, &text, &len, err) != 0)
        return ecl_err_prefix(err, "public key");
    int rc = decode_key_text(path, text, PUBLIC_HEADER, pk, crypto_sign_PUBLICKEYBYTES, err);
    free(text);
    return rc;
}

void site_key_wipe(site_key *key)
{
    sodium_memzero(key, sizeof(*key));
}

/* context || 0x00 || msg, in one buffer for crypto_sign_detached. */
static unsigned char *framed_message(const char *context, const void *msg, size_t len,
                                     size_t *out_len)
{
    size_t clen = strlen(context);
    unsigned char *buf = malloc(clen + 1 + len + 1);
    if (buf == NULL)
        return NULL;
    memcpy(buf, context, clen);
    buf[clen] = 0;
    if (len > 0)
        memcpy(buf + clen + 1, msg, len);
    *out_len = clen + 1 + len;
    return buf;
}

int site_key_sign(const site_key *key, const char *context, const void *msg, size_t len,
                  unsigned char sig[crypto_sign_BYTES], ecl_err *err)
{
    size_t flen = 0;
    unsigned char *framed = framed_message(context, msg, len, &flen);
    if (framed == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory signing %zu bytes", len);
    crypto_sign_detached(sig, NULL, framed, flen, key->secret_key);
    free(framed);
    return 0;
}

int site_key_verify(const unsigned char public_key[crypto_sign_PUBLICKEYBYTES], const char *context,
                    const void *msg, size_t len, const unsigned char *sig, size_t sig_len,
                    ecl_err *err)
{
    if (library_ready(err) != 0)
        return -1;
    if (sig_len != crypto_sign_BYTES)
        return ecl_fail(err, ECL_E_CRYPTO, "signature is %zu bytes, not %d", sig_len,
                        crypto_sign_BYTES);
    size_t flen = 0;
    unsigned char *framed = framed_message(context, msg, len, &flen);
    if (framed == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory verifying %zu bytes", len);
    int ok = crypto_sign_verify_detached(sig, framed, flen, public_key) == 0;
    free(framed);
    if (!ok)
        return ecl_fail(err, ECL_E_CRYPTO, "%s signature does not verify", context);
    return 0;
}

void site_key_fingerprint(const unsigned char *public_key, size_t len, char *out, size_t cap)
{
    unsigned char hash[32];
    crypto_generichash(hash, sizeof(hash), public_key, len, NULL, 0);
    size_t used = 0;
    for (size_t i = 0; i < 16 && used + 3 < cap; i++) {
        if (i > 0 && i % 2 == 0)
            out[used++] = '-';
        snprintf(out + used, cap - used, "%02x", hash[i]);
        used += 2;
    }
    out[used < cap ? used : cap - 1] = '\0';
}
