#include "store/st_header.h"

#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"

/* A JSON integer that is >= 0, as uint64. */
static int get_u64(const json_t *j, uint64_t *out)
{
    if (!json_is_integer(j) || json_integer_value(j) < 0)
        return -1;
    *out = (uint64_t)json_integer_value(j);
    return 0;
}

static int parse_shape(const json_t *shape, const char *what, const char *name, store_tensor *t,
                       ecl_err *err)
{
    if (!json_is_array(shape))
        return ecl_fail(err, ECL_E_INPUT, "%s: tensor '%s': \"shape\" is not an array", what, name);
    size_t nd = json_array_size(shape);
    if (nd > STORE_MAX_DIMS)
        return ecl_fail(err, ECL_E_LIMIT, "%s: tensor '%s': %zu dimensions, at most %d supported",
                        what, name, nd, STORE_MAX_DIMS);
    t->ndim = nd;
    for (size_t d = 0; d < nd; d++)
        if (get_u64(json_array_get(shape, d), &t->shape[d]) != 0)
            return ecl_fail(err, ECL_E_INPUT,
                            "%s: tensor '%s': shape[%zu] is not a non-negative integer", what, name,
                            d);
    return 0;
}

/* Elements x dtype size must equal the byte size, without overflow. */
static int check_size(const store_tensor *t, const char *what, ecl_err *err)
{
    uint64_t bytes = store_dtype_size(t->dtype);
    int zero = 0, overflow = 0;
    for (size_t d = 0; d < t->ndim; d++) {
        if (t->shape[d] == 0)
            zero = 1;
        else if (bytes > UINT64_MAX / t->shape[d])
            overflow = 1;
        else
            bytes *= t->shape[d];
    }
    if (zero)
        bytes = 0;
    else if (overflow)
        return ecl_fail(err, ECL_E_INPUT, "%s: tensor '%s': shape's byte size overflows 64 bits",
                        what, t->name);
    if (bytes != t->byte_size)
        return ecl_fail(err, ECL_E_INPUT,
                        "%s: tensor '%s': shape and dtype %s make %llu bytes but data_offsets "
                        "span %llu bytes",
                        what, t->name, store_dtype_name(t->dtype), (unsigned long long)bytes,
                        (unsigned long long)t->byte_size);
    return 0;
}

static int parse_tensor(const char *name, const json_t *v, const char *what, store_tensor *t,
                        ecl_err *err)
{
    memset(t, 0, sizeof(*t));
    t->name = name;
    if (!json_is_object(v))
        return ecl_fail(err, ECL_E_INPUT, "%s: tensor '%s': entry is not a JSON object", what,
                        name);
    const json_t *dt = json_object_get(v, "dtype");
    if (!json_is_string(dt))
        return ecl_fail(err, ECL_E_INPUT, "%s: tensor '%s': \"dtype\" missing or not a string",
                        what, name);
    t->dtype = store_dtype_parse(json_string_value(dt));
    if (t->dtype == STORE_DT_INVALID)
        return ecl_fail(err, ECL_E_INPUT, "%s: tensor '%s': unknown dtype '%s'", what, name,
                        json_string_value(dt));
    const json_t *shape = json_object_get(v, "shape");
    if (shape == NULL)
        return ecl_fail(err, ECL_E_INPUT, "%s: tensor '%s': \"shape\" missing", what, name);
    if (parse_shape(shape, what, name, t, err) != 0)
        return -1;
    const json_t *offs = json_object_get(v, "data_offsets");
    uint64_t b, e;
    if (!json_is_array(offs) || json_array_size(offs) != 2 ||
        get_u64(json_array_get(offs, 0), &b) != 0 || get_u64(json_array_get(offs, 1), &e) != 0)
        return ecl_fail(err, ECL_E_INPUT,
                        "%s: tensor '%s': \"data_offsets\" must be [begin, end] with two "
                        "non-negative integers",
                        what, name);
    if (e < b)
        return ecl_fail(err, ECL_E_INPUT,
                        "%s: tensor '%s': data_offsets [%llu, %llu] end before begin", what, name,
                        (unsigned long long)b, (unsigned long long)e);
    t->data_offset = b;
    t->byte_size = e - b;
    return check_size(t, what, err);
}

static int by_offset(const void *a, const void *b)
{
    const store_tensor *x = a, *y = b;
    if (x->data_offset != y->data_offset)
        return x->data_offset < y->data_offset ? -1 : 1;
    if (x->byte_size != y->byte_size)
        return x->byte_size < y->byte_size ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Sorted by offset, each tensor must begin where the previous one ended, and
 * the last must end at the end of the data section. */
static int check_layout(const st_header *h, uint64_t data_size, const char *what, ecl_err *err)
{
    uint64_t at = 0;
    const char *prev = NULL;
    for (size_t i = 0; i < h->n; i++) {
        const store_tensor *t = &h->tensors[i];
        unsigned long long b = t->data_offset, e = t->data_offset + t->byte_size;
        if (e > data_size)
            return ecl_fail(err, ECL_E_INPUT,
                            "%s: tensor '%s': data_offsets [%llu, %llu] out of range: the data "
                            "section has %llu bytes (file truncated?)",
                            what, t->name, b, e, (unsigned long long)data_size);
        if (t->data_offset > at)
            return ecl_fail(err, ECL_E_INPUT,
                            "%s: hole in the data section: bytes [%llu, %llu) belong to no tensor "
                            "(before tensor '%s' at [%llu, %llu])",
                            what, (unsigned long long)at, b, t->name, b, e);
        if (t->data_offset < at)
            return ecl_fail(err, ECL_E_INPUT,
                            "%s: tensors overlap: '%s' at [%llu, %llu] begins before '%s' ends at "
                            "%llu",
                            what, t->name, b, e, prev, (unsigned long long)at);
        at += t->byte_size;
        prev = t->name;
    }
    if (at < data_size)
        return ecl_fail(err, ECL_E_INPUT,
                        "%s: data section has %llu bytes but the tensors end at offset %llu "
                        "(%llu trailing bytes)",
                        what, (unsigned long long)data_size, (unsigned long long)at,
                        (unsigned long long)(data_size - at));
    return 0;
}

static int check_metadata(const json_t *md, const char *what, ecl_err *err)
{
    if (!json_is_object(md))
        return ecl_fail(err, ECL_E_INPUT, "%s: \"__metadata__\" is not a JSON object", what);
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)md, k, v)
    {
        if (!json_is_string(v))
            return ecl_fail(err, ECL_E_INPUT, "%s: \"__metadata__\" value of '%s' is not a string",
                            what, k);
    }
    return 0;
}

static int parse_json(const unsigned char *hdr, uint64_t n, const char *what, st_header *out,
                      ecl_err *err)
{
    if (n == 0 || hdr[0] != '{')
        return ecl_fail(err, ECL_E_INPUT, "%s: header does not start with '{' (offset 8)", what);
    json_error_t je;
    out->root = json_loadb((const char *)hdr, (size_t)n, JSON_REJECT_DUPLICATES, &je);
    if (out->root == NULL)
        return ecl_fail(err, ECL_E_INPUT, "%s: header is not valid JSON at header byte %d: %s",
                        what, je.position, je.text);
    if (!json_is_object(out->root))
        return ecl_fail(err, ECL_E_INPUT, "%s: header is not a JSON object", what);
    return 0;
}

static int parse_entries(st_header *out, const char *what, ecl_err *err)
{
    size_t cap = json_object_size(out->root);
    out->tensors = calloc(cap ? cap : 1, sizeof(*out->tensors));
    if (out->tensors == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "%s: out of memory", what);
    const char *k;
    json_t *v;
    json_object_foreach(out->root, k, v)
    {
        if (strcmp(k, "__metadata__") == 0) {
            if (check_metadata(v, what, err) != 0)
                return -1;
            out->metadata = v;
            continue;
        }
        if (parse_tensor(k, v, what, &out->tensors[out->n], err) != 0)
            return -1;
        out->n++;
    }
    qsort(out->tensors, out->n, sizeof(*out->tensors), by_offset);
    return 0;
}

int st_header_parse(const unsigned char *file, uint64_t size, const char *what, st_header *out,
                    ecl_err *err)
{
    memset(out, 0, sizeof(*out));
    ecl_rd r;
    ecl_rd_init(&r, file, (size_t)size);
    uint64_t n;
    const unsigned char *json;
    if (ecl_rd_u64le(&r, &n) != 0)
        return ecl_fail(err, ECL_E_INPUT,
                        "%s: truncated: %llu bytes, a safetensors file starts with an 8-byte "
                        "header length",
                        what, (unsigned long long)size);
    if (n > STORE_MAX_HEADER)
        return ecl_fail(err, ECL_E_INPUT, "%s: header length %llu exceeds the %u allowed", what,
                        (unsigned long long)n, STORE_MAX_HEADER);
    if (ecl_rd_take(&r, n, &json) != 0)
        return ecl_fail(err, ECL_E_INPUT,
                        "%s: header length %llu goes beyond the end of the file (%llu bytes)", what,
                        (unsigned long long)n, (unsigned long long)size);
    out->header_len = n;
    const unsigned char *data = json + n; /* the data section: the rest of the file */
    if (parse_json(json, n, what, out, err) != 0 || parse_entries(out, what, err) != 0 ||
        check_layout(out, ecl_rd_left(&r), what, err) != 0) {
        st_header_free(out);
        return -1;
    }
    for (size_t i = 0; i < out->n; i++)
        out->tensors[i].data = data + out->tensors[i].data_offset;
    return 0;
}

void st_header_free(st_header *h)
{
    if (h == NULL)
        return;
    json_decref(h->root);
    free(h->tensors);
    memset(h, 0, sizeof(*h));
}
