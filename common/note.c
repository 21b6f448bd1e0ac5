/* note.c - C2SP signed notes, checkpoints and cosignatures (see note.h). */
#include "common/note.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "common/bytes.h"

/* U+2014 EM DASH and a space: how every signature line starts. */
static const char sig_prefix[] = "\xE2\x80\x94 ";
#define SIG_PREFIX_LEN (sizeof(sig_prefix) - 1)

static const char cosig_header[] = "cosignature/v1\n";
#define COSIG_HEADER_LEN (sizeof(cosig_header) - 1)

#define ED25519_BLOB (4u + 64u)      /* key ID || signature */
#define COSIG_BLOB   (4u + 8u + 64u) /* key ID || u64be time || signature */

/* Untrusted bytes made printable for an error message: at most 40 of them,
 * anything but visible ASCII as '?', "..." when cut. */
typedef struct quoted {
    char s[48];
} quoted;

static quoted quote(const char *p, size_t n)
{
    quoted q;
    size_t o = 0, i = 0;
    for (; i < n && o < 40; i++) {
        unsigned char c = (unsigned char)p[i];
        q.s[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    if (i < n) {
        memcpy(q.s + o, "...", 3);
        o += 3;
    }
    q.s[o] = '\0';
    return q;
}

/* ---- UTF-8 and text ------------------------------------------------------ */

/* The code point at p (n > 0 bytes left) and its length in bytes, or 0 if
 * the bytes are not well-formed UTF-8 (a stray continuation byte, an overlong
 * form, a surrogate, above U+10FFFF, cut short). */
static size_t utf8_next(const unsigned char *p, size_t n, uint32_t *cp)
{
    unsigned char c = p[0];
    size_t k;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        k = 2, v = c & 0x1Fu, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        k = 3, v = c & 0x0Fu, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        k = 4, v = c & 0x07u, min = 0x10000;
    } else {
        return 0;
    }
    if (n < k)
        return 0;
    for (size_t i = 1; i < k; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        v = v << 6 | (p[i] & 0x3Fu);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return k;
}

/* The spaces of Unicode (White_Space), which a key name may not hold. */
static int is_unicode_space(uint32_t cp)
{
    return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
           cp == 0x205F || cp == 0x3000;
}

/* `what` (n bytes) is UTF-8 with no control character but newline. */
static int utf8_text_ok(const char *what, const char *s, size_t n, ecl_err *err)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        uint32_t cp = 0;
        size_t k = utf8_next(p + i, n - i, &cp);
        if (k == 0)
            return ecl_fail(err, ECL_E_INPUT, "%s: byte %zu (0x%02x) is not UTF-8", what, i, p[i]);
        if (cp < 0x20 && cp != '\n')
            return ecl_fail(err, ECL_E_INPUT, "%s: byte %zu is the control character 0x%02x", what,
                            i, (unsigned)cp);
        i += k;
    }
    return 0;
}

/* Non-empty, UTF-8, no control character but newline, a final newline. */
static int text_ok(const char *what, const char *s, size_t n, ecl_err *err)
{
    if (n == 0)
        return ecl_fail(err, ECL_E_INPUT, "%s is empty", what);
    if (utf8_text_ok(what, s, n, err) != 0)
        return -1;
    if (s[n - 1] != '\n')
        return ecl_fail(err, ECL_E_INPUT, "%s does not end in a newline", what);
    return 0;
}

int ecl_note_text_check(const char *text, size_t len, ecl_err *err)
{
    if (len > ECL_NOTE_MAX)
        return ecl_fail(err, ECL_E_LIMIT, "note text: %zu bytes, more than the %u a note may have",
                        len, ECL_NOTE_MAX);
    return text_ok("note text", text, len, err);
}

/* A key name of n bytes (not NUL-terminated). */
static int name_ok(const char *name, size_t n, ecl_err *err)
{
    if (n == 0)
        return ecl_fail(err, ECL_E_INPUT, "key name is empty");
    if (n > ECL_NOTE_NAME_MAX)
        return ecl_fail(err, ECL_E_INPUT, "key name '%s': %zu bytes, more than %u",
                        quote(name, n).s, n, ECL_NOTE_NAME_MAX);
    const unsigned char *p = (const unsigned char *)name;
    for (size_t i = 0; i < n;) {
        uint32_t cp = 0;
        size_t k = utf8_next(p + i, n - i, &cp);
        if (k == 0)
            return ecl_fail(err, ECL_E_INPUT, "key name '%s': byte %zu is not UTF-8",
                            quote(name, n).s, i);
        if (cp == '+')
            return ecl_fail(err, ECL_E_INPUT, "key name '%s' contains '+'", quote(name, n).s);
        if (is_unicode_space(cp))
            return ecl_fail(err, ECL_E_INPUT, "key name '%s' contains a space (U+%04X)",
                            quote(name, n).s, (unsigned)cp);
        if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
            return ecl_fail(err, ECL_E_INPUT, "key name '%s' contains a control character",
                            quote(name, n).s);
        i += k;
    }
    return 0;
}

int ecl_note_name_check(const char *name, ecl_err *err)
{
    if (name == NULL)
        return ecl_fail(err, ECL_E_USAGE, "key name is missing");
    return name_ok(name, strnlen(name, ECL_NOTE_NAME_MAX + 1), err);
}

/* ---- base64 (RFC 4648 section 4, padded) ------------------------------- */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t b64_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

/* Write the padded base64 of n bytes (b64_len(n) characters, no NUL). */
static void b64_encode(const uint8_t *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t w = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            w |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            w |= in[i + 2];
        out[o++] = b64_alphabet[w >> 18 & 63];
        out[o++] = b64_alphabet[w >> 12 & 63];
        out[o++] = i + 1 < n ? b64_alphabet[w >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? b64_alphabet[w & 63] : '=';
    }
}

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Decode padded, canonical base64 (length a multiple of 4, '=' only as the
 * final padding, unused bits zero). With out == NULL only checks it and
 * gives the length. -1 if it is not such base64 or decodes to more than cap
 * bytes. */
static int b64_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *outlen)
{
    if (n == 0 || n % 4 != 0)
        return -1;
    size_t pad = in[n - 1] == '=' ? (in[n - 2] == '=' ? 2 : 1) : 0;
    size_t total = n / 4 * 3 - pad;
    if (out != NULL && total > cap)
        return -1;
    size_t o = 0;
    int v[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < n; i += 4) {
        for (size_t j = 0; j < 4; j++) {
            v[j] = i + 4 == n && j >= 4 - pad ? 0 : b64_value((unsigned char)in[i + j]);
            if (v[j] < 0)
                return -1;
        }
        uint32_t w =
            (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        uint8_t b[3] = {(uint8_t)(w >> 16), (uint8_t)(w >> 8), (uint8_t)w};
        for (size_t j = 0; j < 3 && o < total; j++, o++)
            if (out != NULL)
                out[o] = b[j];
    }
    /* the bits the padding leaves over must be zero (one encoding only) */
    if ((pad == 1 && (v[2] & 0x03) != 0) || (pad == 2 && (v[1] & 0x0F) != 0))
        return -1;
    *outlen = total;
    return 0;
}

/* ---- decimal ------------------------------------------------------------ */

/* An ASCII decimal of n bytes with no leading zero, at most max; NULL, or
 * why not. */
static const char *decimal(const char *s, size_t n, uint64_t max, uint64_t *v)
{
    *v = 0;
    if (n == 0)
        return "is empty";
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return "is not a decimal number";
    if (n > 1 && s[0] == '0')
        return "has a leading zero";
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (x > (max - d) / 10)
            return "is too large";
        x = x * 10 + d;
    }
    *v = x;
    return NULL;
}

/* ---- key IDs and verifier keys ------------------------------------------ */

static void key_id(const char *name, size_t n, uint8_t type, const uint8_t pk[32], uint8_t id[4])
{
    crypto_hash_sha256_state st;
    uint8_t h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)name, n);
    crypto_hash_sha256_update(&st, (const unsigned char *)"\n", 1);
    crypto_hash_sha256_update(&st, &type, 1);
    crypto_hash_sha256_update(&st, pk, 32);
    crypto_hash_sha256_final(&st, h);
    memcpy(id, h, 4);
}

int ecl_note_key_id(const char *name, uint8_t type, const uint8_t pk[32], uint8_t id[4])
{
    if (ecl_note_name_check(name, NULL) != 0)
        return -1;
    key_id(name, strlen(name), type, pk, id);
    return 0;
}

static uint32_t id_u32(const uint8_t id[4])
{
    return (uint32_t)id[0] << 24 | (uint32_t)id[1] << 16 | (uint32_t)id[2] << 8 | id[3];
}

int ecl_note_vkey_format(const char *name, uint8_t type, const uint8_t pk[32], char *out,
                         size_t cap, ecl_err *err)
{
    uint8_t id[4], blob[33];
    if (ecl_note_name_check(name, err) != 0)
        return -1;
    key_id(name, strlen(name), type, pk, id);
    blob[0] = type;
    memcpy(blob + 1, pk, 32);
    size_t n = strlen(name);
    if (cap < n + 1 + 8 + 1 + b64_len(sizeof(blob)) + 1)
        return ecl_fail(err, ECL_E_LIMIT,
                        "verifier key of '%s': a buffer of %zu bytes is too small", name, cap);
    int w = snprintf(out, cap, "%s+%08x+", name, (unsigned)id_u32(id));
    b64_encode(blob, sizeof(blob), out + w);
    out[(size_t)w + b64_len(sizeof(blob))] = '\0';
    return 0;
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int ecl_note_vkey_parse(const char *vkey, char *name, size_t name_cap, uint8_t *type,
                        uint8_t pk[32], ecl_err *err)
{
    size_t n = strnlen(vkey, ECL_NOTE_VKEY_MAX);
    if (n >= ECL_NOTE_VKEY_MAX)
        return ecl_fail(err, ECL_E_INPUT, "verifier key: longer than %u bytes",
                        ECL_NOTE_VKEY_MAX - 1);
    const char *plus = memchr(vkey, '+', n);
    if (plus == NULL)
        return ecl_fail(err, ECL_E_INPUT, "verifier key '%s': no '+' after the name",
                        quote(vkey, n).s);
    size_t name_len = (size_t)(plus - vkey);
    if (name_ok(vkey, name_len, err) != 0)
        return ecl_err_prefix(err, "verifier key");
    const char *hex = plus + 1, *b64 = hex + 9;
    size_t rest = n - name_len - 1;
    if (rest < 9 || hex[8] != '+')
        return ecl_fail(err, ECL_E_INPUT,
                        "verifier key '%s': the key ID is not 8 hex digits followed by '+'",
                        quote(vkey, n).s);
    uint8_t id[4];
    for (size_t i = 0; i < 8; i++) {
        int h = hex_value((unsigned char)hex[i]);
        if (h < 0)
            return ecl_fail(err, ECL_E_INPUT, "verifier key '%s': the key ID is not hex",
                            quote(vkey, n).s);
        id[i / 2] = (uint8_t)(i % 2 ? id[i / 2] | h : h << 4);
    }
    uint8_t blob[33];
    size_t blob_len = 0;
    if (b64_decode(b64, rest - 9, blob, sizeof(blob), &blob_len) != 0 || blob_len != 33)
        return ecl_fail(err, ECL_E_INPUT,
                        "verifier key '%s': the key is not the base64 of a type byte and a "
                        "32-byte key",
                        quote(vkey, n).s);
    if (blob[0] != ECL_NOTE_TYPE_ED25519 && blob[0] != ECL_NOTE_TYPE_COSIG)
        return ecl_fail(err, ECL_E_INPUT,
                        "verifier key '%s': signature type 0x%02x is not Ed25519 (0x01) or "
                        "cosignature/v1 (0x04)",
                        quote(vkey, n).s, blob[0]);
    uint8_t want[4];
    key_id(vkey, name_len, blob[0], blob + 1, want);
    if (memcmp(want, id, 4) != 0)
        return ecl_fail(err, ECL_E_INPUT,
                        "verifier key '%s': key ID %08x is not %08x, the one of its name and key",
                        quote(vkey, n).s, (unsigned)id_u32(id), (unsigned)id_u32(want));
    if (name_len + 1 > name_cap)
        return ecl_fail(err, ECL_E_LIMIT, "verifier key: a name buffer of %zu bytes is too small",
                        name_cap);
    memcpy(name, vkey, name_len);
    name[name_len] = '\0';
    *type = blob[0];
    memcpy(pk, blob + 1, 32);
    return 0;
}

/* ---- origins ------------------------------------------------------------ */

static int site_name(const char *prefix, const char *site, char *buf, size_t cap, ecl_err *err)
{
    size_t n = site == NULL ? 0 : strnlen(site, 64);
    if (n == 0 || n > 63)
        return ecl_fail(err, ECL_E_INPUT, "site id: must be 1 to 63 bytes");
    for (size_t i = 0; i < n; i++)
        if (site[i] < 0x21 || site[i] > 0x7e || site[i] == '+')
            return ecl_fail(err, ECL_E_INPUT,
                            "site id '%s': byte %zu is not visible ASCII other than '+'",
                            quote(site, n).s, i);
    if ((size_t)snprintf(buf, cap, "%s%s", prefix, site) >= cap)
        return ecl_fail(err, ECL_E_LIMIT, "%s%s: a buffer of %zu bytes is too small", prefix, site,
                        cap);
    return 0;
}

int ecl_audit_origin(const char *site, char *buf, size_t cap, ecl_err *err)
{
    return site_name("ecluse/audit/", site, buf, cap, err);
}

int ecl_witness_name(const char *site, char *buf, size_t cap, ecl_err *err)
{
    return site_name("ecluse/witness/", site, buf, cap, err);
}

/* ---- checkpoints -------------------------------------------------------- */

int ecl_checkpoint_format(const char *origin, uint64_t size, const uint8_t root[32], char *out,
                          size_t cap, size_t *len, ecl_err *err)
{
    if (ecl_note_name_check(origin, err) != 0)
        return ecl_err_prefix(err, "checkpoint origin");
    char digits[24];
    int d = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)size);
    size_t o = strlen(origin);
    size_t need = o + 1 + (size_t)d + 1 + b64_len(32) + 1;
    if (need > cap)
        return ecl_fail(err, ECL_E_LIMIT, "checkpoint: %zu bytes do not fit in %zu", need, cap);
    memcpy(out, origin, o);
    out[o] = '\n';
    memcpy(out + o + 1, digits, (size_t)d);
    out[o + 1 + (size_t)d] = '\n';
    b64_encode(root, 32, out + o + 2 + d);
    out[need - 1] = '\n';
    *len = need;
    return 0;
}

int ecl_checkpoint_parse(const char *text, size_t len, ecl_checkpoint *out, ecl_err *err)
{
    memset(out, 0, sizeof(*out));
    if (len > ECL_CHECKPOINT_MAX)
        return ecl_fail(err, ECL_E_LIMIT, "checkpoint: %zu bytes, more than the %u it may have",
                        len, ECL_CHECKPOINT_MAX);
    if (text_ok("checkpoint", text, len, err) != 0)
        return -1;
    unsigned line = 0;
    for (size_t pos = 0; pos < len;) {
        const char *s = text + pos;
        size_t n = (size_t)((const char *)memchr(s, '\n', len - pos) - s);
        line++;
        if (n == 0)
            return ecl_fail(err, ECL_E_INPUT, "checkpoint line %u is empty", line);
        if (line == 1) {
            if (n > ECL_CHECKPOINT_ORIGIN_MAX)
                return ecl_fail(err, ECL_E_INPUT,
                                "checkpoint line 1: origin of %zu bytes, more than %u", n,
                                ECL_CHECKPOINT_ORIGIN_MAX);
            memcpy(out->origin, s, n);
        } else if (line == 2) {
            const char *why = decimal(s, n, UINT64_MAX, &out->size);
            if (why != NULL)
                return ecl_fail(err, ECL_E_INPUT, "checkpoint line 2: tree size '%s' %s",
                                quote(s, n).s, why);
        } else if (line == 3) {
            size_t got = 0;
            if (b64_decode(s, n, NULL, 0, &got) != 0)
                return ecl_fail(err, ECL_E_INPUT,
                                "checkpoint line 3: root hash '%s' is not padded base64",
                                quote(s, n).s);
            if (got != 32)
                return ecl_fail(err, ECL_E_INPUT,
                                "checkpoint line 3: root hash of %zu bytes, not 32", got);
            if (b64_decode(s, n, out->root, sizeof(out->root), &got) != 0)
                return ecl_fail(err, ECL_E_INTERNAL, "checkpoint line 3: decoding failed");
        }
        pos += n + 1;
    }
    if (line < 3) {
        memset(out, 0, sizeof(*out));
        return ecl_fail(err, ECL_E_INPUT, "checkpoint: %u line%s, a checkpoint has at least 3",
                        line, line == 1 ? "" : "s");
    }
    return 0;
}

/* ---- signature lines ---------------------------------------------------- */

typedef struct sig_line {
    unsigned number; /* 1 for the first signature line */
    const char *name;
    size_t name_len;
    const char *b64;
    size_t b64_len;
    size_t bytes; /* what the base64 decodes to: key ID || signature */
    uint8_t id[4];
} sig_line;

/* The signature line at `s` (n bytes, its newline not counted). */
static int parse_sig_line(const char *s, size_t n, unsigned number, sig_line *out, ecl_err *err)
{
    memset(out, 0, sizeof(*out));
    out->number = number;
    if (n < SIG_PREFIX_LEN || memcmp(s, sig_prefix, SIG_PREFIX_LEN) != 0)
        return ecl_fail(err, ECL_E_INPUT,
                        "note: signature line %u '%s' does not start with an em dash (U+2014) "
                        "and a space",
                        number, quote(s, n).s);
    s += SIG_PREFIX_LEN, n -= SIG_PREFIX_LEN;
    const char *space = memchr(s, ' ', n);
    if (space == NULL)
        return ecl_fail(err, ECL_E_INPUT, "note: signature line %u has no space after the key name",
                        number);
    out->name = s;
    out->name_len = (size_t)(space - s);
    if (name_ok(s, out->name_len, err) != 0)
        return ecl_err_prefix(err, "note: signature line %u", number);
    out->b64 = space + 1;
    out->b64_len = n - out->name_len - 1;
    if (b64_decode(out->b64, out->b64_len, NULL, 0, &out->bytes) != 0)
        return ecl_fail(err, ECL_E_INPUT,
                        "note: signature line %u: the signature '%s' is not padded base64", number,
                        quote(out->b64, out->b64_len).s);
    if (out->bytes < 5)
        return ecl_fail(err, ECL_E_INPUT,
                        "note: signature line %u: %zu bytes, a signature has a 4-byte key ID "
                        "and at least one more",
                        number, out->bytes);
    /* the first 8 characters give the first 6 bytes: the key ID and two more */
    uint8_t head[6];
    size_t got = 0;
    char first[8];
    memcpy(first, out->b64, sizeof(first));
    if (b64_decode(first, sizeof(first), head, sizeof(head), &got) != 0 || got < 4)
        return ecl_fail(err, ECL_E_INPUT, "note: signature line %u: bad key ID", number);
    memcpy(out->id, head, 4);
    return 0;
}

/* The next signature line of a note from *pos (the signature block was
 * checked by split). 0 and the line, 1 at the end, -1 on a bad line. */
static int next_sig_line(const char *note, size_t len, size_t *pos, unsigned *number, sig_line *out,
                         ecl_err *err)
{
    if (*pos >= len)
        return 1;
    const char *s = note + *pos;
    const char *nl = memchr(s, '\n', len - *pos);
    size_t n = (size_t)(nl - s); /* the note ends in a newline */
    *pos += n + 1;
    return parse_sig_line(s, n, ++*number, out, err);
}

/* Check a whole note; *text_len is the text's length and the signatures
 * start at *text_len + 1. */
static int split(const char *note, size_t len, size_t *text_len, ecl_err *err)
{
    *text_len = 0;
    if (len > ECL_NOTE_MAX)
        return ecl_fail(err, ECL_E_LIMIT, "note: %zu bytes, more than the %u a note may have", len,
                        ECL_NOTE_MAX);
    if (text_ok("note", note, len, err) != 0)
        return -1;
    /* the last blank line separates the text from the signatures */
    size_t k = len - 1;
    while (k > 0 && !(note[k - 1] == '\n' && note[k] == '\n'))
        k--;
    if (k == 0)
        return ecl_fail(err, ECL_E_INPUT,
                        "note: no blank line between the text and the signatures");
    if (k + 1 == len)
        return ecl_fail(err, ECL_E_INPUT, "note: no signature line after the blank line");
    size_t pos = k + 1;
    unsigned number = 0;
    sig_line line;
    int r;
    while ((r = next_sig_line(note, len, &pos, &number, &line, err)) == 0)
        if (number > ECL_NOTE_MAX_SIGS)
            return ecl_fail(err, ECL_E_LIMIT, "note: more than %u signature lines",
                            ECL_NOTE_MAX_SIGS);
    if (r < 0)
        return -1;
    *text_len = k;
    return 0;
}

int ecl_note_split(const char *note, size_t len, size_t *text_len, ecl_err *err)
{
    return split(note, len, text_len, err);
}

/* ---- verifying ---------------------------------------------------------- */

/* The cosignature/v1 message of `text` at `time` into `out` (cap bytes). */
static size_t cosig_message(const char *text, size_t n, uint64_t time, char *out)
{
    int h = snprintf(out, ECL_COSIG_HEADER_MAX + 1, "%stime %llu\n", cosig_header,
                     (unsigned long long)time);
    memcpy(out + h, text, n);
    return (size_t)h + n;
}

static int verify_ed25519(const uint8_t sig[64], const void *msg, size_t n, const uint8_t pk[32])
{
    if (sodium_init() < 0)
        return -1;
    return crypto_sign_verify_detached(sig, msg, n, pk);
}

/* Every line of key (name, type, pk) verifies, and there is one. */
static int verify_lines(const char *note, size_t len, const char *name, uint8_t type,
                        const uint8_t pk[32], size_t *text_len_out, uint64_t *time_out,
                        ecl_err *err)
{
    uint8_t id[4];
    size_t text_len = 0;
    if (ecl_note_name_check(name, err) != 0)
        return -1;
    size_t name_len = strlen(name);
    key_id(name, name_len, type, pk, id);
    if (split(note, len, &text_len, err) != 0)
        return -1;
    ecl_checkpoint cp;
    if (type == ECL_NOTE_TYPE_COSIG && ecl_checkpoint_parse(note, text_len, &cp, err) != 0)
        return ecl_err_prefix(err, "cosigned note");
    char msg[ECL_COSIG_MESSAGE_MAX];
    size_t want = type == ECL_NOTE_TYPE_COSIG ? COSIG_BLOB : ED25519_BLOB;
    size_t pos = text_len + 1;
    unsigned number = 0, found = 0;
    sig_line line;
    while (next_sig_line(note, len, &pos, &number, &line, err) == 0) {
        if (line.name_len != name_len || memcmp(line.name, name, name_len) != 0 ||
            memcmp(line.id, id, 4) != 0)
            continue; /* another key's: ignored */
        uint8_t blob[COSIG_BLOB];
        size_t got = 0;
        if (line.bytes != want || b64_decode(line.b64, line.b64_len, blob, sizeof(blob), &got) != 0)
            return ecl_fail(err, ECL_E_CRYPTO,
                            "note: signature line %u by %s+%08x: %zu bytes, not %zu", number, name,
                            (unsigned)id_u32(id), line.bytes, want);
        int bad;
        if (type == ECL_NOTE_TYPE_COSIG) {
            uint64_t t = 0;
            ECL_IGNORE(ecl_u64be_at(blob, sizeof(blob), 4, &t)); /* 76 bytes are there */
            if (t > ECL_COSIG_TIME_MAX)
                return ecl_fail(err, ECL_E_CRYPTO,
                                "note: cosignature line %u by %s: time %llu is more than 2^63-1",
                                number, name, (unsigned long long)t);
            size_t n = cosig_message(note, text_len, t, msg);
            bad = verify_ed25519(blob + 12, msg, n, pk);
            if (found == 0 && time_out != NULL)
                *time_out = t;
        } else {
            bad = verify_ed25519(blob + 4, note, text_len, pk);
        }
        if (bad != 0)
            return ecl_fail(err, ECL_E_CRYPTO, "note: the %s on line %u by %s+%08x does not verify",
                            type == ECL_NOTE_TYPE_COSIG ? "cosignature" : "signature", number, name,
                            (unsigned)id_u32(id));
        found++;
    }
    if (found == 0)
        return ecl_fail(err, ECL_E_CRYPTO, "note: no %s by key %s+%08x",
                        type == ECL_NOTE_TYPE_COSIG ? "cosignature" : "signature", name,
                        (unsigned)id_u32(id));
    if (text_len_out != NULL)
        *text_len_out = text_len;
    return 0;
}

int ecl_note_verify(const char *note, size_t len, const char *name, const uint8_t pk[32],
                    size_t *text_len, ecl_err *err)
{
    return verify_lines(note, len, name, ECL_NOTE_TYPE_ED25519, pk, text_len, NULL, err);
}

int ecl_cosig_verify(const char *note, size_t len, const char *name, const uint8_t pk[32],
                     uint64_t *time_out, ecl_err *err)
{
    return verify_lines(note, len, name, ECL_NOTE_TYPE_COSIG, pk, NULL, time_out, err);
}

/* ---- cosignature messages ------------------------------------------------ */

int ecl_cosig_message(const char *ckpt, size_t len, uint64_t time, char *out, size_t cap,
                      size_t *outlen, ecl_err *err)
{
    ecl_checkpoint cp;
    if (ecl_checkpoint_parse(ckpt, len, &cp, err) != 0)
        return -1;
    if (time > ECL_COSIG_TIME_MAX)
        return ecl_fail(err, ECL_E_INPUT, "cosignature time %llu is more than 2^63-1",
                        (unsigned long long)time);
    char header[ECL_COSIG_HEADER_MAX + 1];
    int h =
        snprintf(header, sizeof(header), "%stime %llu\n", cosig_header, (unsigned long long)time);
    if ((size_t)h + len > cap)
        return ecl_fail(err, ECL_E_LIMIT, "cosignature message: %zu bytes do not fit in %zu",
                        (size_t)h + len, cap);
    *outlen = cosig_message(ckpt, len, time, out);
    return 0;
}

int ecl_cosig_message_parse(const char *msg, size_t len, uint64_t *time, ecl_checkpoint *ckpt,
                            size_t *text_off, ecl_err *err)
{
    ecl_checkpoint local;
    if (ckpt == NULL)
        ckpt = &local;
    *time = 0;
    if (len < COSIG_HEADER_LEN || memcmp(msg, cosig_header, COSIG_HEADER_LEN) != 0)
        return ecl_fail(err, ECL_E_INPUT,
                        "cosignature message: the first line is not 'cosignature/v1'");
    const char *t = msg + COSIG_HEADER_LEN;
    size_t rest = len - COSIG_HEADER_LEN;
    const char *nl = memchr(t, '\n', rest);
    if (rest < 5 || memcmp(t, "time ", 5) != 0 || nl == NULL)
        return ecl_fail(err, ECL_E_INPUT,
                        "cosignature message: line 2 is not 'time ' and a number");
    size_t n = (size_t)(nl - t) - 5;
    const char *why = decimal(t + 5, n, ECL_COSIG_TIME_MAX, time);
    if (why != NULL)
        return ecl_fail(err, ECL_E_INPUT, "cosignature message line 2: time '%s' %s",
                        quote(t + 5, n).s, why);
    size_t off = (size_t)(nl + 1 - msg);
    if (ecl_checkpoint_parse(msg + off, len - off, ckpt, err) != 0)
        return ecl_err_prefix(err, "cosignature message");
    *text_off = off;
    return 0;
}

/* ---- appending signatures ----------------------------------------------- */

static int append_line(char *buf, size_t cap, size_t *len, size_t text_len, const char *name,
                       const uint8_t *blob, size_t blob_len, ecl_err *err)
{
    size_t n = strlen(name);
    size_t need = (*len == text_len ? 1 : 0) + SIG_PREFIX_LEN + n + 1 + b64_len(blob_len) + 1;
    if (need > cap - *len || *len + need > ECL_NOTE_MAX)
        return ecl_fail(err, ECL_E_LIMIT, "note: a signature line of %zu bytes does not fit", need);
    char *p = buf + *len;
    if (*len == text_len)
        *p++ = '\n';
    memcpy(p, sig_prefix, SIG_PREFIX_LEN);
    p += SIG_PREFIX_LEN;
    memcpy(p, name, n);
    p += n;
    *p++ = ' ';
    b64_encode(blob, blob_len, p);
    p += b64_len(blob_len);
    *p++ = '\n';
    *len += need;
    return 0;
}

static int append_args_ok(size_t cap, const size_t *len, size_t text_len, const char *name,
                          ecl_err *err)
{
    if (text_len > *len || *len > cap)
        return ecl_fail(err, ECL_E_USAGE, "note: text of %zu bytes in a note of %zu (buffer %zu)",
                        text_len, *len, cap);
    return ecl_note_name_check(name, err);
}

int ecl_note_append_signature(char *buf, size_t cap, size_t *len, size_t text_len, const char *name,
                              const uint8_t pk[32], const uint8_t sig[64], ecl_err *err)
{
    if (append_args_ok(cap, len, text_len, name, err) != 0 ||
        ecl_note_text_check(buf, text_len, err) != 0)
        return -1;
    if (verify_ed25519(sig, buf, text_len, pk) != 0)
        return ecl_fail(err, ECL_E_CRYPTO,
                        "note: the signature by %s does not verify over the text", name);
    uint8_t blob[ED25519_BLOB];
    key_id(name, strlen(name), ECL_NOTE_TYPE_ED25519, pk, blob);
    memcpy(blob + 4, sig, 64);
    return append_line(buf, cap, len, text_len, name, blob, sizeof(blob), err);
}

int ecl_note_append_cosignature(char *buf, size_t cap, size_t *len, size_t text_len,
                                const char *name, const uint8_t pk[32], uint64_t time,
                                const uint8_t sig[64], ecl_err *err)
{
    char msg[ECL_COSIG_MESSAGE_MAX];
    size_t n = 0;
    if (append_args_ok(cap, len, text_len, name, err) != 0 ||
        ecl_cosig_message(buf, text_len, time, msg, sizeof(msg), &n, err) != 0)
        return -1;
    if (verify_ed25519(sig, msg, n, pk) != 0)
        return ecl_fail(err, ECL_E_CRYPTO, "note: the cosignature by %s does not verify", name);
    uint8_t blob[COSIG_BLOB];
    key_id(name, strlen(name), ECL_NOTE_TYPE_COSIG, pk, blob);
    ecl_put_u64be(blob + 4, time);
    memcpy(blob + 12, sig, 64);
    return append_line(buf, cap, len, text_len, name, blob, sizeof(blob), err);
}
