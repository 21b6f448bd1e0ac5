/*
 * note_test.c - C2SP signed notes, checkpoints and cosignatures
 * (common/note.h).
 *
 * Known answers first: the signed note and key published in the
 * documentation of golang.org/x/mod/sumdb/note (verified, and re-made byte
 * for byte from its published seed), and a real checkpoint of a public CT
 * log with real cosignatures of public witnesses (verified with the log's
 * key and a witness's key, the other lines ignored). Then round trips, then
 * hostile input, each refused with an error that names what is wrong, and
 * the worked example of docs/audit-format.md, re-made from its fixed keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "common/note.h"

/* ---- helpers -------------------------------------------------------------- */

/* Base64 (standard, padded) into bytes, for test vectors. */
static size_t unb64(const char *in, uint8_t *out, size_t cap)
{
    size_t n = 0;
    assert_int_equal(
        sodium_base642bin(out, cap, in, strlen(in), NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL),
        0);
    return n;
}

/* Check that `rc` failed with `code` and a message that holds `part`. */
static void expect_fail(int rc, const ecl_err *err, ecl_code code, const char *part)
{
    assert_int_equal(rc, -1);
    if (err->code != code || strstr(err->msg, part) == NULL)
        fail_msg("wanted code %d and '%s', got code %d: %s", (int)code, part, (int)err->code,
                 err->msg);
}

static void keypair_from_seed(uint8_t first, uint8_t pk[32], uint8_t sk[64])
{
    uint8_t seed[32];
    for (unsigned i = 0; i < 32; i++)
        seed[i] = (uint8_t)(first + i);
    assert_int_equal(crypto_sign_seed_keypair(pk, sk, seed), 0);
}

/* A signed checkpoint note by a fresh key, in `note` (len in *len). */
typedef struct fixture {
    uint8_t pk[32], sk[64];
    char origin[64];
    char note[1024];
    size_t len, text_len;
} fixture;

static void make_note(fixture *f, uint64_t size)
{
    ecl_err err = {0};
    uint8_t root[32], sig[64];
    memset(f, 0, sizeof(*f)); /* the note is followed by NULs */
    keypair_from_seed(7, f->pk, f->sk);
    for (unsigned i = 0; i < 32; i++)
        root[i] = (uint8_t)(0xa0 + i);
    assert_int_equal(ecl_audit_origin("fi", f->origin, sizeof(f->origin), &err), 0);
    assert_int_equal(
        ecl_checkpoint_format(f->origin, size, root, f->note, sizeof(f->note), &f->text_len, &err),
        0);
    f->len = f->text_len;
    crypto_sign_detached(sig, NULL, (const uint8_t *)f->note, f->text_len, f->sk);
    assert_int_equal(ecl_note_append_signature(f->note, sizeof(f->note), &f->len, f->text_len,
                                               f->origin, f->pk, sig, &err),
                     0);
}

/* ---- known answers ---------------------------------------------------------- */

/* golang.org/x/mod/sumdb/note, package documentation, "Example". */
static const char go_vkey[] = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
static const char go_skey_b64[] = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
static const char go_text[] = "If you think cryptography is the answer to your problem,\n"
                              "then you don't know what your problem is.\n";
static const char go_note[] =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
    "\n"
    "\xE2\x80\x94 PeterNeumann "
    "x08go/ZJkuBS9UG/"
    "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

static void test_go_published_note_verifies(void **state)
{
    (void)state;
    ecl_err err = {0};
    char name[64];
    uint8_t type = 0, pk[32], id[4];
    assert_int_equal(ecl_note_vkey_parse(go_vkey, name, sizeof(name), &type, pk, &err), 0);
    assert_string_equal(name, "PeterNeumann");
    assert_int_equal(type, ECL_NOTE_TYPE_ED25519);
    assert_int_equal(ecl_note_key_id(name, type, pk, id), 0);
    assert_memory_equal(id, "\xc7\x4f\x20\xa3", 4);

    char back[ECL_NOTE_VKEY_MAX];
    assert_int_equal(ecl_note_vkey_format(name, type, pk, back, sizeof(back), &err), 0);
    assert_string_equal(back, go_vkey);

    size_t text_len = 0;
    assert_int_equal(ecl_note_verify(go_note, strlen(go_note), name, pk, &text_len, &err), 0);
    assert_int_equal(text_len, strlen(go_text));
    assert_memory_equal(go_note, go_text, text_len);

    /* one byte of the text changed */
    char bad[sizeof(go_note)];
    memcpy(bad, go_note, sizeof(go_note));
    bad[10] ^= 0x20;
    expect_fail(ecl_note_verify(bad, strlen(bad), name, pk, NULL, &err), &err, ECL_E_CRYPTO,
                "does not verify");
}

static void test_go_published_note_is_made_byte_for_byte(void **state)
{
    (void)state;
    uint8_t skey[33], pk[32], sk[64], sig[64];
    assert_int_equal(unb64(go_skey_b64, skey, sizeof(skey)), 33);
    assert_int_equal(skey[0], 0x01);
    assert_int_equal(crypto_sign_seed_keypair(pk, sk, skey + 1), 0);
    char buf[512];
    size_t text_len = strlen(go_text), len = text_len;
    memcpy(buf, go_text, text_len);
    crypto_sign_detached(sig, NULL, (const uint8_t *)buf, text_len, sk);
    ecl_err err = {0};
    assert_int_equal(
        ecl_note_append_signature(buf, sizeof(buf), &len, text_len, "PeterNeumann", pk, sig, &err),
        0);
    assert_int_equal(len, strlen(go_note));
    assert_memory_equal(buf, go_note, len);

    /* a signature of other bytes is refused before it is written */
    sig[0] ^= 1;
    size_t len2 = text_len;
    expect_fail(
        ecl_note_append_signature(buf, sizeof(buf), &len2, text_len, "PeterNeumann", pk, sig, &err),
        &err, ECL_E_CRYPTO, "does not verify");
    assert_int_equal(len2, text_len);
}

/* A checkpoint of the CT log arche2025h1.staging.ct.transparency.dev with
 * its own signatures (an RFC 6962 one, type 0x05, and an Ed25519 one) and
 * the cosignatures of four public witnesses, as published in the tests of
 * an independent C2SP implementation. */
static const char ct_note[] =
    "arche2025h1.staging.ct.transparency.dev\n"
    "1432088532\n"
    "U7WM79jrzyhGZ5/GUBTpM7NzwdyfFx61t3RovgcC4Ro=\n"
    "\n"
    "\xE2\x80\x94 arche2025h1.staging.ct.transparency.dev "
    "zTM8sQAAAZ5W0WdjBAMARjBEAiBjW5IQf9pvsYLfQFX6hoGREPMHbdQ3urbllzalApkptQIgIpwtEroeW2BXaHAI4kJXFb"
    "on5Ch9MNL5zRNZ55lvGt0=\n"
    "\xE2\x80\x94 arche2025h1.staging.ct.transparency.dev "
    "ui8GwCF1+kWqZrxGdhj4aX3gcw7XUlXQQabg/27lefwhUkzbC3NygNI75MdhL1bfTW9g8Ei59RA23oHP7Ry1k3ZFWwQ=\n"
    "\xE2\x80\x94 transparency.dev/DEV:witness-little-garden "
    "2AQqhwAAAABqEiEgzgFIqqhbUoDwjMWE6UP8nd8/"
    "KYTzwZ2rhIgcqoXHAwVkjZr4AscylP3v7sEodkRAErumC2q44vdgJY0"
    "96st5BQ==\n"
    "\xE2\x80\x94 witness1.smartit.nu/witness1 "
    "pIyCDwAAAABqEiEghIp82KWebrw7/oHQwlTAm3g2RKS4+eebl8eO0WH+/iEcxZ75W3u5hNI7TOQtmJbqmNWVuE0tgh0Xwz"
    "dZsDsUAQ==\n"
    "\xE2\x80\x94 remora.n621.de "
    "2net5wAAAABqEiEgPlfF3V06o0Y+fHM+J5J9s27wgxxcOVSpZ/2g/KSiXCg9DEZI+aVCIobWX9sXTynk5XeU/"
    "zZ0WBxtqB0"
    "DrAWfBw==\n"
    "\xE2\x80\x94 witness.stagemole.eu "
    "Z/euoAAAAABqEiEgw0i+7g2ENfDAWHmtRzCfKTHSDwYDJA2NmKeGi9Y8FtEyOUvVr+AJmIY/"
    "2TUFucgKi7lI7cUiOvKFYe/"
    "TmN9DAg==\n";
static const char ct_log_vkey[] =
    "arche2025h1.staging.ct.transparency.dev+ba2f06c0+AU0vHmlGCS/PdN8b2OaGmKprLI8HKM+dJ472xgFYh15f";
static const char ct_witness_vkey[] =
    "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2";

static void test_real_ct_checkpoint_and_cosignature(void **state)
{
    (void)state;
    ecl_err err = {0};
    char name[128];
    uint8_t type = 0, pk[32];

    assert_int_equal(ecl_note_vkey_parse(ct_log_vkey, name, sizeof(name), &type, pk, &err), 0);
    assert_int_equal(type, ECL_NOTE_TYPE_ED25519);
    size_t text_len = 0;
    /* the other line of the same name (key ID cd333cb1, type 0x05) and the
     * witnesses' lines are ignored */
    assert_int_equal(ecl_note_verify(ct_note, strlen(ct_note), name, pk, &text_len, &err), 0);
    ecl_checkpoint cp;
    assert_int_equal(ecl_checkpoint_parse(ct_note, text_len, &cp, &err), 0);
    assert_string_equal(cp.origin, "arche2025h1.staging.ct.transparency.dev");
    assert_true(cp.size == 1432088532u);
    uint8_t root[32];
    assert_int_equal(unb64("U7WM79jrzyhGZ5/GUBTpM7NzwdyfFx61t3RovgcC4Ro=", root, sizeof(root)), 32);
    assert_memory_equal(cp.root, root, 32);

    assert_int_equal(ecl_note_vkey_parse(ct_witness_vkey, name, sizeof(name), &type, pk, &err), 0);
    assert_int_equal(type, ECL_NOTE_TYPE_COSIG);
    uint64_t t = 0;
    assert_int_equal(ecl_cosig_verify(ct_note, strlen(ct_note), name, pk, &t, &err), 0);
    assert_true(t == 1779573024u);
    /* the witness key is not the log's: no Ed25519 signature of it */
    expect_fail(ecl_note_verify(ct_note, strlen(ct_note), name, pk, NULL, &err), &err, ECL_E_CRYPTO,
                "no signature by key remora.n621.de+");

    /* the tree size changed: both refuse */
    char bad[sizeof(ct_note)];
    memcpy(bad, ct_note, sizeof(ct_note));
    char *digit = strstr(bad, "1432088532");
    digit[9] = '3';
    expect_fail(ecl_cosig_verify(bad, strlen(bad), name, pk, NULL, &err), &err, ECL_E_CRYPTO,
                "does not verify");
}

/* ---- round trips ------------------------------------------------------------ */

static void test_checkpoint_round_trip(void **state)
{
    (void)state;
    ecl_err err = {0};
    uint8_t root[32];
    char text[512];
    size_t len = 0;
    for (unsigned i = 0; i < 32; i++)
        root[i] = (uint8_t)(i * 7);
    static const uint64_t sizes[] = {0, 1, 9, 10, 1432088532u, UINT64_MAX};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        assert_int_equal(ecl_checkpoint_format("ecluse/audit/fi", sizes[i], root, text,
                                               sizeof(text), &len, &err),
                         0);
        ecl_checkpoint cp;
        assert_int_equal(ecl_checkpoint_parse(text, len, &cp, &err), 0);
        assert_string_equal(cp.origin, "ecluse/audit/fi");
        assert_true(cp.size == sizes[i]);
        assert_memory_equal(cp.root, root, 32);
    }
    static const char want[] = "ecluse/audit/fi\n18446744073709551615\n"
                               "AAcOFRwjKjE4P0ZNVFtiaXB3foWMk5qhqK+2vcTL0tk=\n";
    assert_int_equal(len, strlen(want));
    assert_memory_equal(text, want, len);
    /* too small a buffer */
    expect_fail(ecl_checkpoint_format("ecluse/audit/fi", 1, root, text, 20, &len, &err), &err,
                ECL_E_LIMIT, "do not fit");
    /* an origin that is not a key name */
    expect_fail(ecl_checkpoint_format("ecluse audit", 1, root, text, sizeof(text), &len, &err),
                &err, ECL_E_INPUT, "space");
}

static void test_note_and_cosignature_round_trip(void **state)
{
    (void)state;
    fixture f;
    make_note(&f, 42);
    ecl_err err = {0};
    assert_int_equal(ecl_note_verify(f.note, f.len, f.origin, f.pk, NULL, &err), 0);

    /* a witness cosigns it */
    uint8_t wpk[32], wsk[64], sig[64];
    keypair_from_seed(99, wpk, wsk);
    char wname[64], msg[ECL_COSIG_MESSAGE_MAX];
    size_t mlen = 0;
    assert_int_equal(ecl_witness_name("lu", wname, sizeof(wname), &err), 0);
    assert_string_equal(wname, "ecluse/witness/lu");
    assert_int_equal(
        ecl_cosig_message(f.note, f.text_len, 1700000000u, msg, sizeof(msg), &mlen, &err), 0);
    assert_true(mlen > 30 &&
                memcmp(msg, "cosignature/v1\ntime 1700000000\necluse/audit/fi\n", 47) == 0);
    uint64_t t = 0;
    size_t off = 0;
    ecl_checkpoint cp;
    assert_int_equal(ecl_cosig_message_parse(msg, mlen, &t, &cp, &off, &err), 0);
    assert_true(t == 1700000000u && off == 31 && cp.size == 42);
    crypto_sign_detached(sig, NULL, (const uint8_t *)msg, mlen, wsk);
    assert_int_equal(ecl_note_append_cosignature(f.note, sizeof(f.note), &f.len, f.text_len, wname,
                                                 wpk, 1700000000u, sig, &err),
                     0);
    t = 0;
    assert_int_equal(ecl_cosig_verify(f.note, f.len, wname, wpk, &t, &err), 0);
    assert_true(t == 1700000000u);
    /* the site's signature still verifies: the new line is another key's */
    assert_int_equal(ecl_note_verify(f.note, f.len, f.origin, f.pk, NULL, &err), 0);
    /* the witness's Ed25519 key under type 0x01 signed nothing here */
    expect_fail(ecl_note_verify(f.note, f.len, wname, wpk, NULL, &err), &err, ECL_E_CRYPTO,
                "no signature");
    /* and the site's key made no cosignature */
    expect_fail(ecl_cosig_verify(f.note, f.len, f.origin, f.pk, NULL, &err), &err, ECL_E_CRYPTO,
                "no cosignature");
    /* a cosignature of another time does not verify for this time */
    size_t len = f.text_len;
    char copy[1024];
    memcpy(copy, f.note, f.text_len);
    expect_fail(ecl_note_append_cosignature(copy, sizeof(copy), &len, f.text_len, wname, wpk,
                                            1700000001u, sig, &err),
                &err, ECL_E_CRYPTO, "does not verify");

    /* verifier keys of both types round-trip */
    char vkey[ECL_NOTE_VKEY_MAX], name[ECL_NOTE_NAME_MAX + 1];
    uint8_t type = 0, pk[32];
    assert_int_equal(
        ecl_note_vkey_format(wname, ECL_NOTE_TYPE_COSIG, wpk, vkey, sizeof(vkey), &err), 0);
    assert_int_equal(ecl_note_vkey_parse(vkey, name, sizeof(name), &type, pk, &err), 0);
    assert_string_equal(name, wname);
    assert_int_equal(type, ECL_NOTE_TYPE_COSIG);
    assert_memory_equal(pk, wpk, 32);
}

/* ---- hostile input ---------------------------------------------------------- */

static void test_note_structure_is_checked(void **state)
{
    (void)state;
    fixture f;
    make_note(&f, 5);
    ecl_err err = {0};
    char buf[2048];
    size_t tl = 0;

    assert_int_equal(ecl_note_split(f.note, f.len, &tl, &err), 0);
    assert_int_equal(tl, f.text_len);

    /* no blank line: the text and the signature run together */
    memcpy(buf, f.note, f.text_len);
    memcpy(buf + f.text_len, f.note + f.text_len + 1, f.len - f.text_len - 1);
    expect_fail(ecl_note_verify(buf, f.len - 1, f.origin, f.pk, NULL, &err), &err, ECL_E_INPUT,
                "no blank line");
    /* no final newline */
    expect_fail(ecl_note_verify(f.note, f.len - 1, f.origin, f.pk, NULL, &err), &err, ECL_E_INPUT,
                "does not end in a newline");
    /* a blank line and no signature */
    memcpy(buf, f.note, f.text_len);
    buf[f.text_len] = '\n';
    expect_fail(ecl_note_split(buf, f.text_len + 1, &tl, &err), &err, ECL_E_INPUT,
                "no signature line");
    /* a signature line without the em dash */
    int n = snprintf(buf, sizeof(buf), "%.*s\n- %s AAAAAAAA\n", (int)f.text_len, f.note, f.origin);
    expect_fail(ecl_note_split(buf, (size_t)n, &tl, &err), &err, ECL_E_INPUT,
                "does not start with an em dash");
    /* bad base64: a character outside the alphabet, and unpadded */
    memcpy(buf, f.note, f.len);
    buf[f.len - 5] = '*';
    expect_fail(ecl_note_verify(buf, f.len, f.origin, f.pk, NULL, &err), &err, ECL_E_INPUT,
                "not padded base64");
    n = snprintf(buf, sizeof(buf), "%.*s\n\xE2\x80\x94 x AAAAAAA\n", (int)f.text_len, f.note);
    expect_fail(ecl_note_split(buf, (size_t)n, &tl, &err), &err, ECL_E_INPUT, "not padded base64");
    /* base64 whose padding hides set bits (a second encoding of a value) */
    n = snprintf(buf, sizeof(buf), "%.*s\n\xE2\x80\x94 x AAAAAAB=\n", (int)f.text_len, f.note);
    expect_fail(ecl_note_split(buf, (size_t)n, &tl, &err), &err, ECL_E_INPUT, "not padded base64");
    /* a signature of 4 bytes: a key ID and nothing */
    n = snprintf(buf, sizeof(buf), "%.*s\n\xE2\x80\x94 x AAAAAA==\n", (int)f.text_len, f.note);
    expect_fail(ecl_note_split(buf, (size_t)n, &tl, &err), &err, ECL_E_INPUT, "4 bytes");
    /* a key name with '+' */
    n = snprintf(buf, sizeof(buf), "%.*s\n\xE2\x80\x94 a+b AAAAAAAA\n", (int)f.text_len, f.note);
    expect_fail(ecl_note_split(buf, (size_t)n, &tl, &err), &err, ECL_E_INPUT, "contains '+'");
    /* a key name with a no-break space (U+00A0) */
    n = snprintf(buf, sizeof(buf),
                 "%.*s\n\xE2\x80\x94 a\xC2\xA0"
                 "b AAAAAAAA\n",
                 (int)f.text_len, f.note);
    expect_fail(ecl_note_split(buf, (size_t)n, &tl, &err), &err, ECL_E_INPUT, "space (U+00A0)");
}

static void test_signature_lines_of_keys(void **state)
{
    (void)state;
    fixture f;
    make_note(&f, 5);
    ecl_err err = {0};
    char buf[4096];

    /* a line of an unknown key is ignored, before and after ours */
    int n = snprintf(buf, sizeof(buf), "%.*s\n\xE2\x80\x94 other.example/log AAAAAAAAAAAA\n%s",
                     (int)f.text_len, f.note, f.note + f.text_len + 1);
    assert_int_equal(ecl_note_verify(buf, (size_t)n, f.origin, f.pk, NULL, &err), 0);
    n = snprintf(buf, sizeof(buf), "%.*s\xE2\x80\x94 other.example/log AAAAAAAAAAAA\n", (int)f.len,
                 f.note);
    assert_int_equal(ecl_note_verify(buf, (size_t)n, f.origin, f.pk, NULL, &err), 0);

    /* our name with another key ID: ignored, so no signature of ours */
    char line[256];
    const char *b64 = strchr(f.note + f.text_len + 1 + 4, ' ') + 1;
    memcpy(line, b64, strlen(b64));
    line[strlen(b64)] = '\0';
    line[0] = line[0] == 'A' ? 'B' : 'A'; /* the first 6 bits of the key ID */
    n = snprintf(buf, sizeof(buf), "%.*s\n\xE2\x80\x94 %s %s", (int)f.text_len, f.note, f.origin,
                 line);
    expect_fail(ecl_note_verify(buf, (size_t)n, f.origin, f.pk, NULL, &err), &err, ECL_E_CRYPTO,
                "no signature by key ecluse/audit/fi+");
    /* another name with our key ID: ignored too */
    n = snprintf(buf, sizeof(buf), "%.*s\n\xE2\x80\x94 ecluse/audit/lu %s", (int)f.text_len, f.note,
                 b64);
    expect_fail(ecl_note_verify(buf, (size_t)n, f.origin, f.pk, NULL, &err), &err, ECL_E_CRYPTO,
                "no signature");

    /* our key ID and a broken signature beside a good one: the note is refused */
    memcpy(line, b64, strlen(b64) + 1);
    line[20] = line[20] == 'A' ? 'B' : 'A';
    n = snprintf(buf, sizeof(buf), "%.*s\xE2\x80\x94 %s %s", (int)f.len, f.note, f.origin, line);
    expect_fail(ecl_note_verify(buf, (size_t)n, f.origin, f.pk, NULL, &err), &err, ECL_E_CRYPTO,
                "line 2 by ecluse/audit/fi+");
    /* our key ID and a signature of the wrong length */
    n = snprintf(buf, sizeof(buf), "%.*s\n\xE2\x80\x94 %s %.8sAAAA\n", (int)f.text_len, f.note,
                 f.origin, b64);
    expect_fail(ecl_note_verify(buf, (size_t)n, f.origin, f.pk, NULL, &err), &err, ECL_E_CRYPTO,
                "9 bytes, not 68");

    /* 64 signature lines are taken, 65 are too many */
    size_t len = f.len;
    memcpy(buf, f.note, f.len);
    for (int i = 1; i < 64; i++) {
        n = snprintf(buf + len, sizeof(buf) - len, "\xE2\x80\x94 k%d AAAAAAAA\n", i);
        len += (size_t)n;
    }
    assert_int_equal(ecl_note_verify(buf, len, f.origin, f.pk, NULL, &err), 0);
    n = snprintf(buf + len, sizeof(buf) - len, "\xE2\x80\x94 k64 AAAAAAAA\n");
    expect_fail(ecl_note_verify(buf, len + (size_t)n, f.origin, f.pk, NULL, &err), &err,
                ECL_E_LIMIT, "more than 64 signature lines");
}

static void test_text_bytes_are_checked(void **state)
{
    (void)state;
    fixture f;
    make_note(&f, 5);
    ecl_err err = {0};
    char buf[1024];

    memcpy(buf, f.note, f.len);
    buf[3] = '\0';
    expect_fail(ecl_note_verify(buf, f.len, f.origin, f.pk, NULL, &err), &err, ECL_E_INPUT,
                "byte 3 is the control character 0x00");
    buf[3] = '\t';
    expect_fail(ecl_note_verify(buf, f.len, f.origin, f.pk, NULL, &err), &err, ECL_E_INPUT,
                "control character 0x09");
    buf[3] = '\r';
    expect_fail(ecl_checkpoint_parse(buf, f.text_len, &(ecl_checkpoint){0}, &err), &err,
                ECL_E_INPUT, "control character 0x0d");
    buf[3] = (char)0xC0; /* an overlong start */
    expect_fail(ecl_note_verify(buf, f.len, f.origin, f.pk, NULL, &err), &err, ECL_E_INPUT,
                "byte 3 (0xc0) is not UTF-8");
    buf[3] = (char)0xED; /* a surrogate, U+D800 */
    buf[4] = (char)0xA0;
    buf[5] = (char)0x80;
    expect_fail(ecl_note_verify(buf, f.len, f.origin, f.pk, NULL, &err), &err, ECL_E_INPUT,
                "not UTF-8");

    /* oversize: more than ECL_NOTE_MAX bytes */
    size_t big = ECL_NOTE_MAX + 1;
    char *huge = malloc(big);
    assert_non_null(huge);
    memset(huge, 'a', big);
    huge[big - 1] = '\n';
    expect_fail(ecl_note_verify(huge, big, f.origin, f.pk, NULL, &err), &err, ECL_E_LIMIT,
                "more than the 65536");
    expect_fail(ecl_checkpoint_parse(huge, ECL_CHECKPOINT_MAX + 1, &(ecl_checkpoint){0}, &err),
                &err, ECL_E_LIMIT, "more than the 8192");
    free(huge);
}

/* A checkpoint text with `size` as line 2 and `root` as line 3. */
static int parse3(const char *origin, const char *size, const char *root, const char *ext,
                  ecl_checkpoint *cp, ecl_err *err)
{
    char text[512];
    int n = snprintf(text, sizeof(text), "%s\n%s\n%s\n%s", origin, size, root, ext);
    return ecl_checkpoint_parse(text, (size_t)n, cp, err);
}

static void test_checkpoint_fields_are_checked(void **state)
{
    (void)state;
    ecl_err err = {0};
    ecl_checkpoint cp;
    const char *root = "AAcOFRwjKjE4P0ZNVFtiaXB3foWMk5qhqK+2vcTL0tk=";
    const char *o = "ecluse/audit/fi";

    assert_int_equal(parse3(o, "0", root, "", &cp, &err), 0);
    assert_int_equal(parse3(o, "18446744073709551615", root, "", &cp, &err), 0);
    assert_true(cp.size == UINT64_MAX);
    /* extension lines are accepted and ignored */
    assert_int_equal(parse3(o, "7", root, "ext one\next two\n", &cp, &err), 0);
    assert_true(cp.size == 7);

    expect_fail(parse3(o, "01", root, "", &cp, &err), &err, ECL_E_INPUT,
                "checkpoint line 2: tree size '01' has a leading zero");
    expect_fail(parse3(o, "00", root, "", &cp, &err), &err, ECL_E_INPUT, "leading zero");
    expect_fail(parse3(o, "+1", root, "", &cp, &err), &err, ECL_E_INPUT,
                "tree size '+1' is not a decimal number");
    expect_fail(parse3(o, " 1", root, "", &cp, &err), &err, ECL_E_INPUT, "not a decimal number");
    expect_fail(parse3(o, "18446744073709551616", root, "", &cp, &err), &err, ECL_E_INPUT,
                "is too large");
    expect_fail(parse3(o, "", root, "", &cp, &err), &err, ECL_E_INPUT,
                "checkpoint line 2 is empty");
    /* roots of 31 and 33 bytes, unpadded, and non-canonical */
    expect_fail(parse3(o, "1", "AAcOFRwjKjE4P0ZNVFtiaXB3foWMk5qhqK+2vcTL0g==", "", &cp, &err), &err,
                ECL_E_INPUT, "root hash of 31 bytes, not 32");
    expect_fail(parse3(o, "1", "AAcOFRwjKjE4P0ZNVFtiaXB3foWMk5qhqK+2vcTL0tkA", "", &cp, &err), &err,
                ECL_E_INPUT, "root hash of 33 bytes, not 32");
    expect_fail(parse3(o, "1", "AAcOFRwjKjE4P0ZNVFtiaXB3foWMk5qhqK+2vcTL0tk", "", &cp, &err), &err,
                ECL_E_INPUT, "not padded base64");
    expect_fail(parse3(o, "1", "AAcOFRwjKjE4P0ZNVFtiaXB3foWMk5qhqK+2vcTL0tl=", "", &cp, &err), &err,
                ECL_E_INPUT, "not padded base64");
    expect_fail(parse3(o, "1", "AAcOFRwjKjE4P0ZNVFtiaXB3foWMk5qhqK-2vcTL0tk=", "", &cp, &err), &err,
                ECL_E_INPUT, "not padded base64");
    /* an empty origin, an empty extension line, too few lines */
    expect_fail(parse3("", "1", root, "", &cp, &err), &err, ECL_E_INPUT,
                "checkpoint line 1 is empty");
    expect_fail(parse3(o, "1", root, "\n", &cp, &err), &err, ECL_E_INPUT,
                "checkpoint line 4 is empty");
    expect_fail(ecl_checkpoint_parse("a\n1\n", 4, &cp, &err), &err, ECL_E_INPUT,
                "2 lines, a checkpoint has at least 3");
    /* an origin longer than 255 bytes */
    char origin[300];
    memset(origin, 'o', 256);
    origin[256] = '\0';
    expect_fail(parse3(origin, "1", root, "", &cp, &err), &err, ECL_E_INPUT, "origin of 256 bytes");
}

static void test_cosignature_messages_are_checked(void **state)
{
    (void)state;
    ecl_err err = {0};
    uint64_t t = 0;
    size_t off = 0;
    const char *ck = "ecluse/audit/fi\n3\nAAcOFRwjKjE4P0ZNVFtiaXB3foWMk5qhqK+2vcTL0tk=\n";
    char msg[512];
#define MSG(...) (size_t) snprintf(msg, sizeof(msg), __VA_ARGS__)
    size_t n = MSG("cosignature/v1\ntime 0\n%s", ck);
    assert_int_equal(ecl_cosig_message_parse(msg, n, &t, NULL, &off, &err), 0);
    n = MSG("cosignature/v1\ntime 9223372036854775807\n%s", ck);
    assert_int_equal(ecl_cosig_message_parse(msg, n, &t, NULL, &off, &err), 0);
    assert_true(t == (uint64_t)INT64_MAX);
    n = MSG("cosignature/v1\ntime 9223372036854775808\n%s", ck);
    expect_fail(ecl_cosig_message_parse(msg, n, &t, NULL, &off, &err), &err, ECL_E_INPUT,
                "is too large");
    n = MSG("cosignature/v1\ntime 017\n%s", ck);
    expect_fail(ecl_cosig_message_parse(msg, n, &t, NULL, &off, &err), &err, ECL_E_INPUT,
                "time '017' has a leading zero");
    n = MSG("cosignature/v2\ntime 1\n%s", ck);
    expect_fail(ecl_cosig_message_parse(msg, n, &t, NULL, &off, &err), &err, ECL_E_INPUT,
                "not 'cosignature/v1'");
    n = MSG("cosignature/v1\ntimes 1\n%s", ck);
    expect_fail(ecl_cosig_message_parse(msg, n, &t, NULL, &off, &err), &err, ECL_E_INPUT,
                "line 2 is not 'time '");
    n = MSG("cosignature/v1\ntime 1\n");
    expect_fail(ecl_cosig_message_parse(msg, n, &t, NULL, &off, &err), &err, ECL_E_INPUT,
                "cosignature message: checkpoint is empty");
    n = MSG("cosignature/v1\ntime 1\nnot\na checkpoint\n");
    expect_fail(ecl_cosig_message_parse(msg, n, &t, NULL, &off, &err), &err, ECL_E_INPUT,
                "cosignature message: checkpoint line 2");
    /* making one: a non-checkpoint and a time over 2^63-1 are refused */
    expect_fail(ecl_cosig_message("x\n", 2, 1, msg, sizeof(msg), &n, &err), &err, ECL_E_INPUT,
                "1 line");
    expect_fail(
        ecl_cosig_message(ck, strlen(ck), (uint64_t)INT64_MAX + 1, msg, sizeof(msg), &n, &err),
        &err, ECL_E_INPUT, "more than 2^63-1");
#undef MSG
}

static void test_names_origins_and_vkeys(void **state)
{
    (void)state;
    ecl_err err = {0};
    char buf[128];
    uint8_t pk[32] = {1}, id[4], type;
    assert_int_equal(ecl_audit_origin("fi", buf, sizeof(buf), &err), 0);
    assert_string_equal(buf, "ecluse/audit/fi");
    expect_fail(ecl_audit_origin("", buf, sizeof(buf), &err), &err, ECL_E_INPUT, "1 to 63");
    expect_fail(ecl_audit_origin("f i", buf, sizeof(buf), &err), &err, ECL_E_INPUT, "byte 1");
    expect_fail(ecl_audit_origin("a+b", buf, sizeof(buf), &err), &err, ECL_E_INPUT, "byte 1");
    expect_fail(ecl_audit_origin("fi", buf, 10, &err), &err, ECL_E_LIMIT, "too small");

    assert_int_equal(ecl_note_key_id("", 1, pk, id), -1);
    assert_int_equal(ecl_note_key_id("a b", 1, pk, id), -1);
    assert_int_equal(ecl_note_key_id("a\x01", 1, pk, id), -1);
    assert_int_equal(ecl_note_key_id("a\xE3\x80\x80", 1, pk, id), -1); /* U+3000 */
    assert_int_equal(ecl_note_key_id("caf\xC3\xA9/log", 1, pk, id), 0);

    char name[64];
    /* mangled verifier keys are refused, naming the part */
    expect_fail(ecl_note_vkey_parse("PeterNeumann", name, sizeof(name), &type, pk, &err), &err,
                ECL_E_INPUT, "no '+'");
    expect_fail(ecl_note_vkey_parse("PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/"
                                    "LDE4izWy10TW",
                                    name, sizeof(name), &type, pk, &err),
                &err, ECL_E_INPUT, "8 hex digits");
    expect_fail(ecl_note_vkey_parse("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/"
                                    "LDE4izWy10TW",
                                    name, sizeof(name), &type, pk, &err),
                &err, ECL_E_INPUT, "key ID c74f20a4 is not c74f20a3");
    expect_fail(ecl_note_vkey_parse("PeterNeumann+c74f20a3+AhpczZkHFDw4TEHoMMW84SqogX7FZJqqvyw"
                                    "xOIs1stdE1g==",
                                    name, sizeof(name), &type, pk, &err),
                &err, ECL_E_INPUT, "not the base64 of a type byte and a 32-byte key");
    expect_fail(ecl_note_vkey_parse("PeterNeumann+c74f20a3+Ahpc2QcUPDhMQegwxbzhKqiBfsVkmqq/"
                                    "LDE4izWy10TW",
                                    name, sizeof(name), &type, pk, &err),
                &err, ECL_E_INPUT, "signature type 0x02");
    expect_fail(ecl_note_vkey_parse(go_vkey, name, 5, &type, pk, &err), &err, ECL_E_LIMIT,
                "too small");
}

/* ---- the worked example of docs/audit-format.md ------------------------------ */

/* The document's example, made again: its site key has the seed 0x00..0x1f,
 * its witness key 0x20..0x3f; the tree is the RFC 6962 tree of the three
 * one-byte entries "a", "b", "c"; the witness cosigns at 1700000000. */
static void test_docs_worked_example(void **state)
{
    (void)state;
    ecl_err err = {0};
    uint8_t pk[32], sk[64], wpk[32], wsk[64], sig[64];
    keypair_from_seed(0x00, pk, sk);
    keypair_from_seed(0x20, wpk, wsk);

    uint8_t leaf[3][32], node[32], root[32], in[65];
    for (int i = 0; i < 3; i++) {
        in[0] = 0x00;
        in[1] = (uint8_t)('a' + i);
        crypto_hash_sha256(leaf[i], in, 2);
    }
    in[0] = 0x01;
    memcpy(in + 1, leaf[0], 32);
    memcpy(in + 33, leaf[1], 32);
    crypto_hash_sha256(node, in, 65);
    memcpy(in + 1, node, 32);
    memcpy(in + 33, leaf[2], 32);
    crypto_hash_sha256(root, in, 65);

    char origin[64], wname[64], vkey[ECL_NOTE_VKEY_MAX], wvkey[ECL_NOTE_VKEY_MAX];
    assert_int_equal(ecl_audit_origin("fi", origin, sizeof(origin), &err), 0);
    assert_int_equal(ecl_witness_name("lu", wname, sizeof(wname), &err), 0);
    assert_int_equal(
        ecl_note_vkey_format(origin, ECL_NOTE_TYPE_ED25519, pk, vkey, sizeof(vkey), &err), 0);
    assert_int_equal(
        ecl_note_vkey_format(wname, ECL_NOTE_TYPE_COSIG, wpk, wvkey, sizeof(wvkey), &err), 0);

    char note[1024], msg[ECL_COSIG_MESSAGE_MAX];
    size_t text_len = 0, len = 0, mlen = 0;
    assert_int_equal(ecl_checkpoint_format(origin, 3, root, note, sizeof(note), &text_len, &err),
                     0);
    len = text_len;
    crypto_sign_detached(sig, NULL, (const uint8_t *)note, text_len, sk);
    assert_int_equal(
        ecl_note_append_signature(note, sizeof(note), &len, text_len, origin, pk, sig, &err), 0);
    assert_int_equal(ecl_cosig_message(note, text_len, 1700000000u, msg, sizeof(msg), &mlen, &err),
                     0);
    crypto_sign_detached(sig, NULL, (const uint8_t *)msg, mlen, wsk);
    assert_int_equal(ecl_note_append_cosignature(note, sizeof(note), &len, text_len, wname, wpk,
                                                 1700000000u, sig, &err),
                     0);
    note[len] = '\0';
    msg[mlen] = '\0';

    FILE *fp = fopen("docs/audit-format.md", "rb");
    assert_non_null(fp);
    static char doc[256 * 1024];
    size_t got = fread(doc, 1, sizeof(doc) - 1, fp);
    fclose(fp);
    doc[got] = '\0';
    const char *section = strstr(doc, "## Checkpoints, signed notes and cosignatures (C2SP)");
    if (section == NULL)
        fail_msg("docs/audit-format.md has no C2SP section");
    const char *want[] = {vkey, wvkey, msg, note};
    for (size_t i = 0; i < 4; i++)
        if (strstr(section, want[i]) == NULL)
            fail_msg("docs/audit-format.md, C2SP section, does not hold these bytes:\n%s", want[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_go_published_note_verifies),
        cmocka_unit_test(test_go_published_note_is_made_byte_for_byte),
        cmocka_unit_test(test_real_ct_checkpoint_and_cosignature),
        cmocka_unit_test(test_checkpoint_round_trip),
        cmocka_unit_test(test_note_and_cosignature_round_trip),
        cmocka_unit_test(test_note_structure_is_checked),
        cmocka_unit_test(test_signature_lines_of_keys),
        cmocka_unit_test(test_text_bytes_are_checked),
        cmocka_unit_test(test_checkpoint_fields_are_checked),
        cmocka_unit_test(test_cosignature_messages_are_checked),
        cmocka_unit_test(test_names_origins_and_vkeys),
        cmocka_unit_test(test_docs_worked_example),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
