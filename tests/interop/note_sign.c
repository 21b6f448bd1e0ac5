/*
 * note_sign.c - a signed, cosigned checkpoint note made the way a site makes
 * one, for the independent verifier (c2sp_verify.py) to check.
 *
 *   note_sign SITE SEED_HEX SIZE ROOT_HEX WITNESS WITNESS_SEED_HEX TIME
 *
 * The site's key (from its 32-byte seed) signs the checkpoint text through a
 * signer (SIGNER_CHECKPOINT_NOTE), the witness's key cosigns it through its
 * own (SIGNER_COSIGNATURE), and ecl_note_* writes the note. Prints
 *
 *   log-vkey <verifier key of the site, type 0x01>
 *   witness-vkey <verifier key of the witness, type 0x04>
 *   note <base64 of the note>
 *
 * Exit 0, or 1 with the reason on stderr.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/note.h"
#include "site/signer.h"
#include "site/sitekey.h"

static int hex_bytes(const char *hex, uint8_t *out, size_t n)
{
    size_t got = 0;
    return sodium_hex2bin(out, n, hex, strlen(hex), NULL, &got, NULL) == 0 && got == n &&
                   strlen(hex) == 2 * n
               ? 0
               : -1;
}

static int key_from_seed(const char *hex, site_key *key)
{
    uint8_t seed[32];
    if (hex_bytes(hex, seed, sizeof(seed)) != 0)
        return -1;
    int rc = crypto_sign_seed_keypair(key->public_key, key->secret_key, seed);
    sodium_memzero(seed, sizeof(seed));
    return rc;
}

static int make(char **argv, ecl_err *err)
{
    site_key key, wkey;
    uint8_t root[32], sig[64];
    char *end_size = NULL, *end_time = NULL;
    unsigned long long size = strtoull(argv[3], &end_size, 10);
    uint64_t time = strtoull(argv[7], &end_time, 10);
    if (*argv[3] == '\0' || *end_size != '\0' || *argv[7] == '\0' || *end_time != '\0')
        return ecl_fail(err, ECL_E_USAGE, "SIZE and TIME are decimal numbers");
    if (key_from_seed(argv[2], &key) != 0 || key_from_seed(argv[6], &wkey) != 0 ||
        hex_bytes(argv[4], root, sizeof(root)) != 0)
        return ecl_fail(err, ECL_E_USAGE, "a seed or the root is not 32 bytes of hex");

    char origin[ECL_CHECKPOINT_ORIGIN_MAX + 1], wname[ECL_NOTE_NAME_MAX + 1];
    char vkey[ECL_NOTE_VKEY_MAX], wvkey[ECL_NOTE_VKEY_MAX];
    static char note[ECL_NOTE_MAX], msg[ECL_COSIG_MESSAGE_MAX];
    size_t text_len = 0, len = 0, mlen = 0;
    signer *s = NULL, *w = NULL;
    int rc = -1;
    if (ecl_audit_origin(argv[1], origin, sizeof(origin), err) != 0 ||
        ecl_witness_name(argv[5], wname, sizeof(wname), err) != 0 ||
        ecl_note_vkey_format(origin, ECL_NOTE_TYPE_ED25519, key.public_key, vkey, sizeof(vkey),
                             err) != 0 ||
        ecl_note_vkey_format(wname, ECL_NOTE_TYPE_COSIG, wkey.public_key, wvkey, sizeof(wvkey),
                             err) != 0 ||
        signer_local_site(&key, argv[1], &s, err) != 0 ||
        signer_local_site(&wkey, argv[5], &w, err) != 0 ||
        ecl_checkpoint_format(origin, size, root, note, sizeof(note), &text_len, err) != 0 ||
        signer_sign(s, SIGNER_CHECKPOINT_NOTE, note, text_len, sig, err) != 0)
        goto out;
    len = text_len;
    if (ecl_note_append_signature(note, sizeof(note), &len, text_len, origin, key.public_key, sig,
                                  err) != 0 ||
        ecl_cosig_message(note, text_len, time, msg, sizeof(msg), &mlen, err) != 0 ||
        signer_sign(w, SIGNER_COSIGNATURE, msg, mlen, sig, err) != 0 ||
        ecl_note_append_cosignature(note, sizeof(note), &len, text_len, wname, wkey.public_key,
                                    time, sig, err) != 0)
        goto out;
    static char b64[ECL_NOTE_MAX * 4 / 3 + 8];
    sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)note, len,
                      sodium_base64_VARIANT_ORIGINAL);
    printf("log-vkey %s\nwitness-vkey %s\nnote %s\n", vkey, wvkey, b64);
    rc = 0;
out:
    signer_free(s);
    signer_free(w);
    site_key_wipe(&key);
    site_key_wipe(&wkey);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 8) {
        fprintf(stderr, "usage: note_sign SITE SEED_HEX SIZE ROOT_HEX WITNESS WITNESS_SEED_HEX "
                        "TIME\n");
        return 1;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "note_sign: libsodium failed to initialise\n");
        return 1;
    }
    ecl_err err = {0};
    if (make(argv, &err) != 0) {
        fprintf(stderr, "note_sign: %s\n", err.msg);
        return 1;
    }
    return 0;
}
