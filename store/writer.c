#include "store/writer.h"

#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/fileio.h"

typedef struct wtensor {
    char *name;
    store_dtype dtype;
    size_t ndim;
    uint64_t shape[STORE_MAX_DIMS];
    const unsigned char *data;
    uint64_t byte_size;
    unsigned char digest[STORE_DIGEST_BYTES];
} wtensor;

struct store_writer {
    wtensor *t;
    size_t n, cap;
    json_t *meta;
    int written;
};

int store_writer_new(store_writer **out, ecl_err *err)
{
    store_writer *w = calloc(1, sizeof(*w));
    if (w == NULL || (w->meta = json_object()) == NULL) {
        free(w);
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    }
    *out = w;
    return 0;
}

void store_writer_free(store_writer *w)
{
    if (w == NULL)
        return;
    for (size_t i = 0; i < w->n; i++)
        free(w->t[i].name);
    free(w->t);
    json_decref(w->meta);
    free(w);
}

static int expected_bytes(store_dtype dt, size_t ndim, const uint64_t *shape, uint64_t *out)
{
    uint64_t bytes = store_dtype_size(dt);
    for (size_t d = 0; d < ndim; d++)
        if (shape[d] == 0) {
            *out = 0;
            return 0;
        }
    for (size_t d = 0; d < ndim; d++) {
        if (bytes > UINT64_MAX / shape[d])
            return -1;
        bytes *= shape[d];
    }
    *out = bytes;
    return 0;
}

static int check_add(const store_writer *w, const char *name, store_dtype dtype, size_t ndim,
                     const uint64_t *shape, uint64_t byte_size, ecl_err *err)
{
    if (name == NULL || name[0] == '\0' || strcmp(name, "__metadata__") == 0)
        return ecl_fail(err, ECL_E_USAGE, "tensor name '%s' is not allowed", name ? name : "");
    for (size_t i = 0; i < w->n; i++)
        if (strcmp(w->t[i].name, name) == 0)
            return ecl_fail(err, ECL_E_USAGE, "tensor '%s' added twice", name);
    if (store_dtype_size(dtype) == 0)
        return ecl_fail(err, ECL_E_USAGE, "tensor '%s': invalid dtype", name);
    if (ndim > STORE_MAX_DIMS)
        return ecl_fail(err, ECL_E_LIMIT, "tensor '%s': %zu dimensions, at most %d", name, ndim,
                        STORE_MAX_DIMS);
    uint64_t want;
    if (expected_bytes(dtype, ndim, shape, &want) != 0 || want != byte_size)
        return ecl_fail(err, ECL_E_USAGE,
                        "tensor '%s': %llu bytes given, shape and dtype %s need a different size",
                        name, (unsigned long long)byte_size, store_dtype_name(dtype));
    return 0;
}

int store_writer_add(store_writer *w, const char *name, store_dtype dtype, size_t ndim,
                     const uint64_t *shape, const void *data, uint64_t byte_size, ecl_err *err)
{
    if (check_add(w, name, dtype, ndim, shape, byte_size, err) != 0)
        return -1;
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 8;
        wtensor *t = realloc(w->t, cap * sizeof(*t));
        if (t == NULL)
            return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
        w->t = t;
        w->cap = cap;
    }
    wtensor *t = &w->t[w->n];
    memset(t, 0, sizeof(*t));
    if ((t->name = strdup(name)) == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    t->dtype = dtype;
    t->ndim = ndim;
    if (ndim > 0)
        memcpy(t->shape, shape, ndim * sizeof(*shape));
    t->data = data;
    t->byte_size = byte_size;
    w->n++;
    w->written = 0;
    return 0;
}

int store_writer_meta(store_writer *w, const char *key, const char *value, ecl_err *err)
{
    json_t *v = json_string(value);
    if (v == NULL || json_object_set_new(w->meta, key, v) != 0)
        return ecl_fail(err, ECL_E_INTERNAL, "metadata '%s': out of memory or not UTF-8", key);
    return 0;
}

size_t store_writer_count(const store_writer *w)
{
    return w->n;
}

int store_writer_digest(const store_writer *w, size_t i, unsigned char out[STORE_DIGEST_BYTES],
                        ecl_err *err)
{
    if (!w->written || i >= w->n)
        return ecl_fail(err, ECL_E_USAGE, "no digest for tensor %zu (written: %d, tensors: %zu)", i,
                        w->written, w->n);
    memcpy(out, w->t[i].digest, STORE_DIGEST_BYTES);
    return 0;
}

static json_t *tensor_json(const wtensor *t, uint64_t begin)
{
    json_t *shape = json_array();
    for (size_t d = 0; d < t->ndim && shape; d++)
        json_array_append_new(shape, json_integer((json_int_t)t->shape[d]));
    return json_pack("{s:s, s:o, s:[I,I]}", "dtype", store_dtype_name(t->dtype), "shape", shape,
                     "data_offsets", (json_int_t)begin, (json_int_t)(begin + t->byte_size));
}

/* The header bytes: JSON padded with spaces to a multiple of 8. */
static char *build_header(const store_writer *w, size_t *len, ecl_err *err)
{
    json_t *root = json_object();
    if (root != NULL && json_object_size(w->meta) > 0)
        json_object_set(root, "__metadata__", w->meta);
    uint64_t at = 0;
    for (size_t i = 0; i < w->n && root; i++) {
        json_t *tj = tensor_json(&w->t[i], at);
        if (tj == NULL || json_object_set_new(root, w->t[i].name, tj) != 0) {
            json_decref(root);
            root = NULL;
        }
        at += w->t[i].byte_size;
    }
    char *s = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    if (s == NULL) {
        ecl_fail(err, ECL_E_INTERNAL, "cannot build the safetensors header (out of memory?)");
        return NULL;
    }
    size_t n = strlen(s), padded = (n + 7) & ~(size_t)7;
    char *buf = realloc(s, padded + 1);
    if (buf == NULL) {
        free(s);
        ecl_fail(err, ECL_E_INTERNAL, "out of memory");
        return NULL;
    }
    memset(buf + n, ' ', padded - n);
    buf[padded] = '\0';
    *len = padded;
    return buf;
}

/* Where the file's bytes go: a FILE, a SHA-256 of them, or both. */
typedef struct sink {
    FILE *f;
    crypto_hash_sha256_state *sha;
    uint64_t bytes;
} sink;

static int put(sink *s, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    if (s->f != NULL && fwrite(p, 1, n, s->f) != n)
        return -1;
    if (s->sha != NULL)
        crypto_hash_sha256_update(s->sha, p, n);
    s->bytes += n;
    return 0;
}

/* Header length, header, then each tensor's bytes, hashing as they go. */
static int emit_body(store_writer *w, sink *s, const char *hdr, size_t hlen)
{
    unsigned char le[8];
    ecl_put_u64le(le, (uint64_t)hlen);
    if (put(s, le, 8) != 0 || put(s, hdr, hlen) != 0)
        return -1;
    const size_t piece = 1u << 20;
    for (size_t i = 0; i < w->n; i++) {
        wtensor *t = &w->t[i];
        crypto_generichash_state st;
        crypto_generichash_init(&st, NULL, 0, STORE_DIGEST_BYTES);
        for (uint64_t at = 0; at < t->byte_size; at += piece) {
            size_t n = t->byte_size - at < piece ? (size_t)(t->byte_size - at) : piece;
            crypto_generichash_update(&st, t->data + at, n);
            if (put(s, t->data + at, n) != 0)
                return -1;
        }
        crypto_generichash_final(&st, t->digest, STORE_DIGEST_BYTES);
    }
    return 0;
}

static int write_body(store_writer *w, FILE *f, const char *hdr, size_t hlen)
{
    sink s = {f, NULL, 0};
    if (emit_body(w, &s, hdr, hlen) != 0)
        return -1;
    return fflush(f) == 0 && fsync(fileno(f)) == 0 ? 0 : -1;
}

int store_writer_measure(store_writer *w, uint64_t *bytes, unsigned char sha256[STORE_SHA256_BYTES],
                         ecl_err *err)
{
    size_t hlen;
    char *hdr = build_header(w, &hlen, err);
    if (hdr == NULL)
        return -1;
    crypto_hash_sha256_state sha;
    crypto_hash_sha256_init(&sha);
    sink s = {NULL, &sha, 0};
    int rc = emit_body(w, &s, hdr, hlen);
    free(hdr);
    if (rc != 0)
        return ecl_fail(err, ECL_E_INTERNAL, "cannot measure the safetensors file");
    crypto_hash_sha256_final(&sha, sha256);
    *bytes = s.bytes;
    return 0;
}

static void sync_dir(const char *path)
{
    char dir[4096];
    if (ecl_path_dirname(dir, sizeof(dir), path, NULL) != 0)
        return;
    FILE *d = fopen(dir, "r");
    if (d != NULL) {
        fsync(fileno(d));
        fclose(d);
    }
}

int store_writer_write(store_writer *w, const char *path, ecl_err *err)
{
    size_t hlen;
    char *hdr = build_header(w, &hlen, err);
    if (hdr == NULL)
        return ecl_err_prefix(err, "%s", path);
    char tmp[4096];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp)) {
        free(hdr);
        return ecl_fail(err, ECL_E_LIMIT, "%s: path too long", path);
    }
    int fd = mkstemp(tmp);
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (f == NULL) {
        int saved = errno;
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        free(hdr);
        return ecl_fail(err, ECL_E_IO, "%s: cannot create a temporary file: %s", path,
                        strerror(saved));
    }
    int rc = fchmod(fd, 0640) == 0 ? write_body(w, f, hdr, hlen) : -1;
    int saved = errno;
    free(hdr);
    if (fclose(f) != 0 && rc == 0) {
        rc = -1;
        saved = errno;
    }
    if (rc == 0 && rename(tmp, path) != 0) {
        rc = -1;
        saved = errno;
    }
    if (rc != 0) {
        unlink(tmp);
        return ecl_fail(err, ECL_E_IO, "%s: write failed: %s", path, strerror(saved));
    }
    sync_dir(path);
    w->written = 1;
    return 0;
}
