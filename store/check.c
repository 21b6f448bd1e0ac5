/* check.c - the publishing checks (check.h): tensors the policy declares,
 * row counts, non-finite floats and negative labels. */
#include "store/check.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct checker {
    const store_dataset *ds;
    const store_publish_rules *rules;
    store_publish_report report;
    void *ctx;
    size_t problems;
    ecl_err *err;
} checker;

/* The file a tensor came from: its own .npy file, else the source. */
static const char *file_of(const checker *c, const char *tensor)
{
    const store_publish_rules *r = c->rules;
    for (size_t i = 0; i < r->n_files; i++)
        if (strcmp(r->file_of[i], tensor) == 0)
            return r->files[i];
    return r->source != NULL ? r->source : store_path(c->ds);
}

static void problem(checker *c, const char *tensor, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void problem(checker *c, const char *tensor, const char *fmt, ...)
{
    char what[256], text[PATH_MAX + 384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    snprintf(text, sizeof(text), "%s: tensor '%.63s': %s", file_of(c, tensor), tensor, what);
    if (c->problems++ == 0)
        ecl_fail(c->err, ECL_E_INPUT, "%s", text);
    if (c->report != NULL)
        c->report(c->ctx, text);
}

/* "features, labels": the tensors the data holds, for a message. */
static void tensor_list(const store_dataset *ds, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < store_tensor_count(ds) && used < cap; i++) {
        int n =
            snprintf(out + used, cap - used, "%s%s", i ? ", " : "", store_tensor_at(ds, i)->name);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

static uint64_t elements_per_row(const store_tensor *t)
{
    uint64_t n = 1;
    for (size_t d = 1; d < t->ndim; d++)
        n *= t->shape[d];
    return n;
}

/* 1 if element i of t is a NaN or an infinity: all exponent bits set (in
 * F8_E4M3, which has no infinity, the one NaN pattern S.1111.111). */
static int nonfinite_at(const store_tensor *t, uint64_t i)
{
    const unsigned char *p = t->data + i * store_dtype_size(t->dtype);
    uint16_t h;
    uint32_t f;
    uint64_t d;
    switch (t->dtype) {
    case STORE_DT_F8_E5M2:
        return (p[0] & 0x7Cu) == 0x7Cu;
    case STORE_DT_F8_E4M3:
        return (p[0] & 0x7Fu) == 0x7Fu;
    case STORE_DT_F16:
        memcpy(&h, p, 2);
        return (h & 0x7C00u) == 0x7C00u;
    case STORE_DT_BF16:
        memcpy(&h, p, 2);
        return (h & 0x7F80u) == 0x7F80u;
    case STORE_DT_F32:
        memcpy(&f, p, 4);
        return (f & 0x7F800000u) == 0x7F800000u;
    case STORE_DT_F64:
        memcpy(&d, p, 8);
        return (d & 0x7FF0000000000000u) == 0x7FF0000000000000u;
    default:
        return 0;
    }
}

/* Element i of a signed integer tensor, as a 64-bit value. */
static int64_t signed_at(const store_tensor *t, uint64_t i)
{
    const unsigned char *p = t->data + i * store_dtype_size(t->dtype);
    int8_t b;
    int16_t h;
    int32_t w;
    int64_t d;
    switch (t->dtype) {
    case STORE_DT_I8:
        memcpy(&b, p, 1);
        return b;
    case STORE_DT_I16:
        memcpy(&h, p, 2);
        return h;
    case STORE_DT_I32:
        memcpy(&w, p, 4);
        return w;
    case STORE_DT_I64:
        memcpy(&d, p, 8);
        return d;
    default:
        return 0;
    }
}

static int is_float(store_dtype dt)
{
    return dt == STORE_DT_F8_E5M2 || dt == STORE_DT_F8_E4M3 || dt == STORE_DT_F16 ||
           dt == STORE_DT_BF16 || dt == STORE_DT_F32 || dt == STORE_DT_F64;
}

static int is_signed_int(store_dtype dt)
{
    return dt == STORE_DT_I8 || dt == STORE_DT_I16 || dt == STORE_DT_I32 || dt == STORE_DT_I64;
}

static int is_label_tensor(const char *name)
{
    return strcmp(name, "labels") == 0 || strcmp(name, "label") == 0;
}

/* "row 3" for a tensor with rows, "element 3" for a scalar. */
static void where(const store_tensor *t, uint64_t i, char *out, size_t cap)
{
    if (t->ndim == 0)
        snprintf(out, cap, "the scalar value");
    else
        snprintf(out, cap, "row %llu", (unsigned long long)(i / elements_per_row(t)));
}

static void check_values(checker *c, const store_tensor *t)
{
    uint64_t n = t->byte_size / store_dtype_size(t->dtype), count = 0, first = 0;
    char at[64];
    if (is_float(t->dtype) && !c->rules->allow_nonfinite) {
        for (uint64_t i = 0; i < n; i++)
            if (nonfinite_at(t, i) && count++ == 0)
                first = i;
        if (count > 0) {
            where(t, first, at, sizeof(at));
            problem(c, t->name,
                    "%llu NaN or infinite %s value(s), the first at %s; features must be finite "
                    "(--allow-nonfinite publishes them anyway)",
                    (unsigned long long)count, store_dtype_name(t->dtype), at);
        }
    }
    if (is_signed_int(t->dtype) && is_label_tensor(t->name) && !c->rules->allow_negative_labels) {
        int64_t value = 0;
        count = 0;
        for (uint64_t i = 0; i < n; i++) {
            int64_t v = signed_at(t, i);
            if (v < 0 && count++ == 0) {
                first = i;
                value = v;
            }
        }
        if (count > 0) {
            where(t, first, at, sizeof(at));
            problem(c, t->name,
                    "%llu negative label(s), the first %lld at %s; labels must be class indexes "
                    "of 0 or more (--allow-negative-labels publishes them anyway)",
                    (unsigned long long)count, (long long)value, at);
        }
    }
}

/* Row-addressed tensors: one row count, not zero. *first is the first such
 * tensor, whose row count the others must match. */
static void check_rows(checker *c, const store_tensor *t, const store_tensor **first)
{
    if (t->ndim == 0)
        return;
    if (t->shape[0] == 0) {
        problem(c, t->name, "has zero rows: there is nothing to serve");
        return;
    }
    if (*first == NULL) {
        *first = t;
    } else if ((*first)->shape[0] != t->shape[0]) {
        problem(c, t->name,
                "has %llu rows, but tensor '%s' has %llu: every row-addressed tensor needs one "
                "row per record",
                (unsigned long long)t->shape[0], (*first)->name,
                (unsigned long long)(*first)->shape[0]);
    }
}

int store_publish_check(const store_dataset *ds, const store_publish_rules *rules,
                        store_publish_report report, void *ctx, ecl_err *err)
{
    if (ds == NULL || rules == NULL || (rules->n_tensors > 0 && rules->tensors == NULL))
        return ecl_fail(err, ECL_E_USAGE, "store_publish_check: NULL argument");
    checker c = {ds, rules, report, ctx, 0, err};
    const store_tensor *first = NULL;
    for (size_t i = 0; i < rules->n_tensors; i++) {
        size_t index;
        ecl_err missing;
        if (store_tensor_find(ds, rules->tensors[i], &index, &missing) != 0) {
            char held[256];
            tensor_list(ds, held, sizeof(held));
            problem(&c, rules->tensors[i],
                    "the policy declares it, but the data lacks it (the data holds: %s)", held);
            continue;
        }
        const store_tensor *t = store_tensor_at(ds, index);
        check_rows(&c, t, &first);
        check_values(&c, t);
    }
    if (c.problems > 1 && err != NULL)
        ecl_fail(err, ECL_E_INPUT, "%s (and %zu more problem(s))", err->msg, c.problems - 1);
    return c.problems == 0 ? 0 : -1;
}
