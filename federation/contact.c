/* contact.c - the peer_contact record's bytes (layout in contact.h). */
#include "federation/contact.h"

#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"

#define CONTACT_FORMAT 1
#define CONTACT_FIXED  (1 + 4 * 8 + 1 + 1 + 8)

int fed_contact_encode(const fed_peer_contact *c, unsigned char **out, size_t *len, ecl_err *err)
{
    size_t p = strnlen(c->error_phrase, sizeof(c->error_phrase) - 1);
    size_t d = strnlen(c->error_detail, sizeof(c->error_detail) - 1);
    unsigned char *b = malloc(CONTACT_FIXED + p + d);
    if (b == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    b[0] = CONTACT_FORMAT;
    ecl_put_u64le(b + 1, (uint64_t)c->ok_unix);
    ecl_put_u64le(b + 9, (uint64_t)c->error_unix);
    ecl_put_u64le(b + 17, c->key_generation);
    ecl_put_u64le(b + 25, c->newest_generation);
    b[33] = (unsigned char)c->error_kind;
    b[34] = c->recheck_asked ? 1 : 0;
    ecl_put_u64le(b + 35, p);
    memcpy(b + CONTACT_FIXED, c->error_phrase, p);
    memcpy(b + CONTACT_FIXED + p, c->error_detail, d);
    *out = b;
    *len = CONTACT_FIXED + p + d;
    return 0;
}

/* Copy n bytes of text into a field, NUL-terminated, cut to fit. */
static int read_text(ecl_rd *r, size_t n, char *field, size_t cap)
{
    const unsigned char *at;
    if (ecl_rd_take(r, n, &at) != 0)
        return -1;
    size_t keep = n < cap - 1 ? n : cap - 1;
    memcpy(field, at, keep);
    field[keep] = '\0';
    return memchr(field, '\0', keep) == NULL ? 0 : -1;
}

int fed_contact_decode(const void *data, size_t len, fed_peer_contact *c)
{
    memset(c, 0, sizeof(*c));
    ecl_rd r;
    ecl_rd_init(&r, data, len);
    uint8_t format = 0, kind = 0, flags = 0;
    uint64_t ok, error, phrase_len;
    if ((ecl_rd_u8(&r, &format) | ecl_rd_u64le(&r, &ok) | ecl_rd_u64le(&r, &error) |
         ecl_rd_u64le(&r, &c->key_generation) | ecl_rd_u64le(&r, &c->newest_generation) |
         ecl_rd_u8(&r, &kind) | ecl_rd_u8(&r, &flags) | ecl_rd_u64le(&r, &phrase_len)) != 0 ||
        format != CONTACT_FORMAT || kind > FED_CONTACT_CONTENT || phrase_len > ecl_rd_left(&r) ||
        read_text(&r, (size_t)phrase_len, c->error_phrase, sizeof(c->error_phrase)) != 0 ||
        read_text(&r, ecl_rd_left(&r), c->error_detail, sizeof(c->error_detail)) != 0) {
        memset(c, 0, sizeof(*c));
        return -1;
    }
    c->ok_unix = (int64_t)ok;
    c->error_unix = (int64_t)error;
    c->error_kind = (fed_contact_kind)kind;
    c->recheck_asked = flags & 1;
    return 0;
}
