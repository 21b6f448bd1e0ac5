#include "store/dataset.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/st_header.h"

struct store_dataset {
    atomic_size_t refs;
    char *path;
    unsigned char *map;
    uint64_t size;
    store_stamp stamp;
    st_header hdr;
};

static int map_file(const char *path, unsigned char **map, uint64_t *size, store_stamp *stamp,
                    ecl_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ecl_fail(err, errno == ENOENT ? ECL_E_NOT_FOUND : ECL_E_IO, "%s: cannot open: %s",
                        path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return ecl_fail(err, ECL_E_IO, "%s: not a regular file", path);
    }
    *size = (uint64_t)st.st_size;
    stamp->dev = (uint64_t)st.st_dev;
    stamp->ino = (uint64_t)st.st_ino;
    stamp->size = *size;
    stamp->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    *map = NULL;
    /* mmap of 0 bytes fails; an empty file is refused by the parser anyway. */
    if (*size > 0) {
        void *m = mmap(NULL, (size_t)*size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            int saved = errno;
            close(fd);
            return ecl_fail(err, ECL_E_IO, "%s: cannot mmap: %s", path, strerror(saved));
        }
        *map = m;
    }
    close(fd);
    return 0;
}

int store_open(const char *path, store_dataset **out, ecl_err *err)
{
    store_dataset *ds = calloc(1, sizeof(*ds));
    if (ds == NULL || (ds->path = strdup(path)) == NULL) {
        free(ds);
        return ecl_fail(err, ECL_E_INTERNAL, "%s: out of memory", path);
    }
    static const unsigned char empty[1];
    if (map_file(path, &ds->map, &ds->size, &ds->stamp, err) != 0 ||
        st_header_parse(ds->map ? ds->map : empty, ds->size, path, &ds->hdr, err) != 0) {
        if (ds->map)
            munmap(ds->map, (size_t)ds->size);
        free(ds->path);
        free(ds);
        return -1;
    }
    atomic_init(&ds->refs, 1);
    *out = ds;
    return 0;
}

const store_stamp *store_file_stamp(const store_dataset *ds)
{
    return &ds->stamp;
}

store_dataset *store_ref(store_dataset *ds)
{
    atomic_fetch_add_explicit(&ds->refs, 1, memory_order_relaxed);
    return ds;
}

void store_unref(store_dataset *ds)
{
    if (ds == NULL)
        return;
    if (atomic_fetch_sub_explicit(&ds->refs, 1, memory_order_acq_rel) != 1)
        return;
    st_header_free(&ds->hdr);
    if (ds->map)
        munmap(ds->map, (size_t)ds->size);
    free(ds->path);
    free(ds);
}

const char *store_path(const store_dataset *ds)
{
    return ds->path;
}

uint64_t store_file_size(const store_dataset *ds)
{
    return ds->size;
}

uint64_t store_header_size(const store_dataset *ds)
{
    return ds->hdr.header_len;
}

size_t store_tensor_count(const store_dataset *ds)
{
    return ds->hdr.n;
}

const store_tensor *store_tensor_at(const store_dataset *ds, size_t i)
{
    return i < ds->hdr.n ? &ds->hdr.tensors[i] : NULL;
}

int store_tensor_find(const store_dataset *ds, const char *name, size_t *index, ecl_err *err)
{
    for (size_t i = 0; i < ds->hdr.n; i++)
        if (strcmp(ds->hdr.tensors[i].name, name) == 0) {
            *index = i;
            return 0;
        }
    return ecl_fail(err, ECL_E_NOT_FOUND, "%s: no tensor named '%s'", ds->path, name);
}

int store_tensor_digest(const store_dataset *ds, size_t i, unsigned char out[STORE_DIGEST_BYTES],
                        ecl_err *err)
{
    if (i >= ds->hdr.n)
        return ecl_fail(err, ECL_E_USAGE, "tensor index %zu out of range (%zu tensors)", i,
                        ds->hdr.n);
    const store_tensor *t = &ds->hdr.tensors[i];
    crypto_generichash_state st;
    if (crypto_generichash_init(&st, NULL, 0, STORE_DIGEST_BYTES) != 0)
        return ecl_fail(err, ECL_E_INTERNAL, "BLAKE2b init failed");
    /* In pieces: crypto_generichash_update takes an unsigned long long length,
     * and pieces keep page-ins spread out. */
    const size_t piece = 1u << 20;
    for (uint64_t at = 0; at < t->byte_size; at += piece) {
        uint64_t n = t->byte_size - at < piece ? t->byte_size - at : piece;
        crypto_generichash_update(&st, t->data + at, n);
    }
    crypto_generichash_final(&st, out, STORE_DIGEST_BYTES);
    return 0;
}

size_t store_metadata_count(const store_dataset *ds)
{
    return ds->hdr.metadata ? json_object_size(ds->hdr.metadata) : 0;
}

void store_metadata_at(const store_dataset *ds, size_t i, const char **key, const char **value)
{
    *key = NULL;
    *value = NULL;
    if (ds->hdr.metadata == NULL)
        return;
    size_t at = 0;
    const char *k;
    json_t *v;
    json_object_foreach(ds->hdr.metadata, k, v)
    {
        if (at++ == i) {
            *key = k;
            *value = json_string_value(v);
            return;
        }
    }
}

const char *store_metadata_get(const store_dataset *ds, const char *key)
{
    if (ds->hdr.metadata == NULL)
        return NULL;
    return json_string_value(json_object_get(ds->hdr.metadata, key));
}
