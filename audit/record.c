#include "audit/record.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"

static const char *const field_names[REC_NFIELDS] = {
    "kind",           "actor",       "dataset",  "purpose", "decision", "lawful_basis",
    "transfer_basis", "job_country", "grant_id", "read_id", "detail",
};

/* Strict UTF-8 (no overlongs, no surrogates, at most U+10FFFF). */
static int utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t k;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            k = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            k = 2, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            k = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if (i + k >= n)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + j] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += k + 1;
    }
    return 1;
}

static int check_string(const char *name, const char *s, ecl_err *err)
{
    if (s == NULL)
        return 0;
    size_t n = strlen(s);
    if (n > AUDIT_FIELD_MAX)
        return ecl_fail(err, ECL_E_USAGE, "audit entry: field '%s': %zu bytes, at most %u allowed",
                        name, n, AUDIT_FIELD_MAX);
    if (!utf8_valid((const uint8_t *)s, n))
        return ecl_fail(err, ECL_E_USAGE, "audit entry: field '%s': not valid UTF-8", name);
    return 0;
}

static int set(const char *s)
{
    return s != NULL && s[0] != '\0';
}

static int need(const char *kind, const char *name, const char *s, ecl_err *err)
{
    if (!set(s))
        return ecl_fail(err, ECL_E_USAGE, "audit entry: kind '%s' needs field '%s'", kind, name);
    return 0;
}

static int need_detail(const char *kind, const json_t *d, const char *key, json_type type,
                       ecl_err *err)
{
    json_t *v = d ? json_object_get(d, key) : NULL;
    const char *what = type == JSON_ARRAY    ? "an array"
                       : type == JSON_STRING ? "a string"
                                             : "an integer >= 0";
    if (v == NULL || json_typeof(v) != type || (type == JSON_INTEGER && json_integer_value(v) < 0))
        return ecl_fail(err, ECL_E_USAGE, "audit entry: kind '%s' needs detail.%s as %s", kind, key,
                        what);
    return 0;
}

/* The rules per kind (audit.h). */
static int check_kind(const audit_entry *e, ecl_err *err)
{
    const char *k = e->kind;
    const json_t *d = e->detail;
    if (strcmp(k, AUDIT_KIND_ACCESS) == 0) {
        if (need(k, "dataset", e->dataset, err) || need(k, "purpose", e->purpose, err) ||
            need(k, "decision", e->decision, err) || need_detail(k, d, "reasons", JSON_ARRAY, err))
            return -1;
        /* A permit grants something, except a dry run (Access.Check), which
         * says so in detail.dry_run. */
        const json_t *dry = d != NULL ? json_object_get(d, "dry_run") : NULL;
        if (strcmp(e->decision, "permit") == 0 && !json_is_true(dry) &&
            need(k, "grant_id", e->grant_id, err))
            return -1;
        return 0;
    }
    if (strcmp(k, AUDIT_KIND_READ_START) == 0)
        return need(k, "dataset", e->dataset, err) || need(k, "grant_id", e->grant_id, err) ||
                       need(k, "read_id", e->read_id, err) ||
                       need_detail(k, d, "tensors", JSON_ARRAY, err) ||
                       need_detail(k, d, "rows", JSON_ARRAY, err)
                   ? -1
                   : 0;
    if (strcmp(k, AUDIT_KIND_READ_END) == 0)
        return need(k, "dataset", e->dataset, err) || need(k, "read_id", e->read_id, err) ||
                       need_detail(k, d, "bytes_sent", JSON_INTEGER, err) ||
                       need_detail(k, d, "chunks", JSON_INTEGER, err) ||
                       need_detail(k, d, "digest", JSON_STRING, err) ||
                       need_detail(k, d, "outcome", JSON_STRING, err)
                   ? -1
                   : 0;
    if (strcmp(k, AUDIT_KIND_RECEIPT) == 0)
        return need(k, "dataset", e->dataset, err) || need(k, "read_id", e->read_id, err) ||
                       need_detail(k, d, "site", JSON_STRING, err) ||
                       need_detail(k, d, "seq", JSON_INTEGER, err) ||
                       need_detail(k, d, "receipt", JSON_OBJECT, err)
                   ? -1
                   : 0;
    if (strcmp(k, AUDIT_KIND_WITNESS) == 0)
        return need_detail(k, d, "event", JSON_STRING, err) ||
                       need_detail(k, d, "size", JSON_INTEGER, err) ||
                       need_detail(k, d, "reason", JSON_STRING, err)
                   ? -1
                   : 0;
    if (strcmp(k, AUDIT_KIND_ERASURE) == 0)
        return need(k, "dataset", e->dataset, err) || need(k, "decision", e->decision, err) ||
                       need_detail(k, d, "rows", JSON_ARRAY, err) ||
                       need_detail(k, d, "reason", JSON_STRING, err)
                   ? -1
                   : 0;
    if (strcmp(k, AUDIT_KIND_NOTICE) == 0)
        return need_detail(k, d, "event", JSON_STRING, err) ||
                       need_detail(k, d, "notice_id", JSON_STRING, err) ||
                       need_detail(k, d, "site", JSON_STRING, err)
                   ? -1
                   : 0;
    if (strcmp(k, AUDIT_KIND_PEER) == 0 || strcmp(k, AUDIT_KIND_CATALOG) == 0 ||
        strcmp(k, AUDIT_KIND_ADMIN) == 0)
        return 0;
    return ecl_fail(err, ECL_E_USAGE,
                    "audit entry: field 'kind': unknown kind '%.64s' (access, read-start, "
                    "read-end, peer, catalog, admin, witness, receipt, erasure, notice)",
                    k);
}

static int validate(const audit_entry *e, const char *const s[REC_NSHORT], ecl_err *err)
{
    if (e == NULL)
        return ecl_fail(err, ECL_E_USAGE, "audit entry: NULL entry");
    for (unsigned i = 0; i < REC_NSHORT; i++)
        if (check_string(field_names[i], s[i], err) != 0)
            return -1;
    if (!set(e->kind))
        return ecl_fail(err, ECL_E_USAGE, "audit entry: field 'kind' is required");
    if (!set(e->actor))
        return ecl_fail(err, ECL_E_USAGE, "audit entry: field 'actor' is required");
    if (set(e->decision) && strcmp(e->decision, "permit") != 0 && strcmp(e->decision, "deny") != 0)
        return ecl_fail(err, ECL_E_USAGE,
                        "audit entry: field 'decision': '%s' is neither 'permit' nor 'deny'",
                        e->decision);
    if (e->detail != NULL && !json_is_object(e->detail))
        return ecl_fail(err, ECL_E_USAGE, "audit entry: field 'detail' must be a JSON object");
    return check_kind(e, err);
}

int rec_tail_build(const audit_entry *e, rec_tail *out, ecl_err *err)
{
    memset(out, 0, sizeof(*out));
    const char *s[REC_NSHORT];
    if (e != NULL) {
        const char *v[REC_NSHORT] = {
            e->kind,         e->actor,          e->dataset,     e->purpose,  e->decision,
            e->lawful_basis, e->transfer_basis, e->job_country, e->grant_id, e->read_id};
        memcpy(s, v, sizeof(s));
    }
    if (validate(e, s, err) != 0)
        return -1;
    char *detail = e->detail ? json_dumps(e->detail, JSON_COMPACT | JSON_SORT_KEYS) : strdup("{}");
    if (detail == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "audit entry: cannot serialise detail");
    size_t dlen = strlen(detail);
    if (dlen > AUDIT_DETAIL_MAX) {
        free(detail);
        return ecl_fail(err, ECL_E_USAGE,
                        "audit entry: field 'detail': %zu bytes of JSON, at "
                        "most %u allowed",
                        dlen, AUDIT_DETAIL_MAX);
    }
    size_t total = 4 + dlen;
    for (unsigned i = 0; i < REC_NSHORT; i++)
        total += 2 + (s[i] ? strlen(s[i]) : 0);
    uint8_t *b = malloc(total);
    if (b == NULL) {
        free(detail);
        return ecl_fail(err, ECL_E_INTERNAL, "audit entry: out of memory");
    }
    size_t p = 0;
    for (unsigned i = 0; i < REC_NSHORT; i++) {
        size_t n = s[i] ? strlen(s[i]) : 0;
        ecl_put_u16be(b + p, (uint16_t)n);
        p += 2;
        out->off[i] = p;
        out->flen[i] = n;
        if (n > 0)
            memcpy(b + p, s[i], n);
        p += n;
    }
    ecl_put_u32be(b + p, (uint32_t)dlen);
    p += 4;
    out->off[F_DETAIL] = p;
    out->flen[F_DETAIL] = dlen;
    memcpy(b + p, detail, dlen);
    free(detail);
    out->bytes = b;
    out->len = total;
    return 0;
}

void rec_tail_free(rec_tail *t)
{
    free(t->bytes);
    t->bytes = NULL;
}

void rec_hash(const uint8_t *rec, size_t len, uint8_t out[AUDIT_HASH_BYTES])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, AUDIT_HASH_BYTES);
    crypto_generichash_update(&st, (const uint8_t *)REC_DOMAIN, REC_DOMAIN_LEN);
    crypto_generichash_update(&st, rec, len - AUDIT_HASH_BYTES);
    crypto_generichash_final(&st, out, AUDIT_HASH_BYTES);
}

void rec_write(uint8_t *out, uint64_t seq, int64_t time_ns, const uint8_t prev[AUDIT_HASH_BYTES],
               const rec_tail *t)
{
    out[0] = REC_VERSION;
    ecl_put_u64be(out + 1, seq);
    ecl_put_u64be(out + 9, (uint64_t)time_ns);
    memcpy(out + 17, prev, AUDIT_HASH_BYTES);
    memcpy(out + REC_HEADER, t->bytes, t->len);
    size_t len = REC_HEADER + t->len + AUDIT_HASH_BYTES;
    rec_hash(out, len, out + len - AUDIT_HASH_BYTES);
}

int64_t rec_time_ns(const uint8_t *rec, size_t len)
{
    uint64_t t;
    if (len < REC_HEADER || ecl_u64be_at(rec, len, 1 + 8, &t) != 0)
        return 0;
    return (int64_t)t;
}

/* A field's length: u16be for the short fields, u32be for the detail. */
static int field_len(ecl_rd *r, unsigned i, size_t *n)
{
    int rc;
    if (i < REC_NSHORT) {
        uint16_t x;
        rc = ecl_rd_u16be(r, &x);
        *n = x;
    } else {
        uint32_t x;
        rc = ecl_rd_u32be(r, &x);
        *n = x;
    }
    return rc;
}

int rec_parse(const uint8_t *rec, size_t len, rec_view *v, ecl_err *err)
{
    if (len < REC_MIN_SIZE)
        return ecl_fail(err, ECL_E_INPUT, "record of %zu bytes is shorter than the %u minimum", len,
                        (unsigned)REC_MIN_SIZE);
    /* The fields run up to the hash: a reader that ends there. */
    size_t end = len - AUDIT_HASH_BYTES;
    uint8_t version;
    uint64_t time_ns;
    ecl_rd r;
    ecl_rd_init(&r, rec, end);
    /* REC_MIN_SIZE covers the header: these reads do not fail. */
    int rc = ecl_rd_u8(&r, &version) | ecl_rd_u64be(&r, &v->seq) | ecl_rd_u64be(&r, &time_ns) |
             ecl_rd_take(&r, AUDIT_HASH_BYTES, &v->prev_hash);
    if (rc != 0 || version != REC_VERSION)
        return ecl_fail(err, ECL_E_INPUT, "offset 0: unknown record version %u", version);
    v->time_ns = (int64_t)time_ns;
    v->hash = rec + end;
    for (unsigned i = 0; i < REC_NFIELDS; i++) {
        size_t at = ecl_rd_pos(&r), n;
        if (field_len(&r, i, &n) != 0)
            return ecl_fail(err, ECL_E_INPUT,
                            "offset %zu: length of field '%s' runs past the "
                            "record end",
                            at, field_names[i]);
        size_t max = i < REC_NSHORT ? AUDIT_FIELD_MAX : AUDIT_DETAIL_MAX;
        if (n > max || ecl_rd_take(&r, n, &v->field[i]) != 0)
            return ecl_fail(err, ECL_E_INPUT, "offset %zu: field '%s' of %zu bytes does not fit",
                            at, field_names[i], n);
        if (memchr(v->field[i], 0, n) != NULL)
            return ecl_fail(err, ECL_E_INPUT, "offset %zu: field '%s' holds a NUL byte",
                            at + (i < REC_NSHORT ? 2 : 4), field_names[i]);
        v->len[i] = n;
    }
    if (ecl_rd_left(&r) != 0)
        return ecl_fail(err, ECL_E_INPUT, "offset %zu: %zu unexpected bytes before the hash",
                        ecl_rd_pos(&r), ecl_rd_left(&r));
    return 0;
}
