/* leaves.c - build, check and map a dataset's leaf index (leaves.h). */
#include "store/leaves.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/fileio.h"

#define MAGIC_BYTES 16
#define FIXED_WORDS 6 /* leaf_bytes, dev, ino, size, mtime_ns, n */

struct store_leaves {
    unsigned char *map;
    size_t map_len;
    size_t n;
    read_leaf_table *tables;
};

static const char *magic_of(uint32_t version)
{
    return version == READ_DIGEST_V3 ? STORE_LEAVES_MAGIC_V3 : STORE_LEAVES_MAGIC;
}

const char *store_leaves_suffix(uint32_t version)
{
    if (version == READ_DIGEST_V2)
        return ".leaves";
    return version == READ_DIGEST_V3 ? ".leaves-v3" : NULL;
}

static uint64_t leaf_count(uint64_t bytes)
{
    return (bytes + READ_LEAF_BYTES - 1) / READ_LEAF_BYTES;
}

static size_t head_bytes(size_t n)
{
    return MAGIC_BYTES + 8 * (FIXED_WORDS + n);
}

int store_leaves_build(const store_dataset *ds, const char *path, uint32_t version, ecl_err *err)
{
    if (!read_digest_known(version))
        return ecl_fail(err, ECL_E_USAGE, "%s: no leaf index of digest version %u", path, version);
    size_t n = store_tensor_count(ds);
    uint64_t leaves = 0;
    for (size_t i = 0; i < n; i++)
        leaves += leaf_count(store_tensor_at(ds, i)->byte_size);
    size_t len = head_bytes(n) + (size_t)leaves * READ_DIGEST_BYTES;
    unsigned char *buf = malloc(len);
    read_hasher *h = NULL;
    if (buf == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "%s: out of memory for %zu bytes", path, len);
    if (read_hasher_new(&h, version, err) != 0) {
        free(buf);
        return -1;
    }
    const store_stamp *st = store_file_stamp(ds);
    memcpy(buf, magic_of(version), MAGIC_BYTES);
    unsigned char *p = buf + MAGIC_BYTES;
    uint64_t fixed[FIXED_WORDS] = {READ_LEAF_BYTES,        st->dev, st->ino, st->size,
                                   (uint64_t)st->mtime_ns, n};
    for (size_t i = 0; i < FIXED_WORDS; i++, p += 8)
        ecl_put_u64le(p, fixed[i]);
    for (size_t i = 0; i < n; i++, p += 8)
        ecl_put_u64le(p, leaf_count(store_tensor_at(ds, i)->byte_size));
    for (size_t i = 0; i < n; i++) {
        const store_tensor *t = store_tensor_at(ds, i);
        for (uint64_t at = 0; at < t->byte_size; at += READ_LEAF_BYTES) {
            uint64_t left = t->byte_size - at;
            read_hasher_leaf(h, t->data + at, left < READ_LEAF_BYTES ? left : READ_LEAF_BYTES, p);
            p += READ_DIGEST_BYTES;
        }
    }
    read_hasher_free(h);
    int rc = ecl_write_file(path, buf, len, 0600, ECL_WRITE_REPLACE, err);
    free(buf);
    return rc;
}

void store_leaves_free(store_leaves *l)
{
    if (l == NULL)
        return;
    if (l->map != NULL)
        munmap(l->map, l->map_len);
    free(l->tables);
    free(l);
}

static int map_index(const char *path, store_leaves *l, ecl_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ecl_fail(err, errno == ENOENT ? ECL_E_NOT_FOUND : ECL_E_IO, "%s: cannot open: %s",
                        path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)head_bytes(0)) {
        close(fd);
        return ecl_fail(err, ECL_E_INPUT, "%s: not a leaf index (too short)", path);
    }
    l->map_len = (size_t)st.st_size;
    void *m = mmap(NULL, l->map_len, PROT_READ, MAP_PRIVATE, fd, 0);
    int saved = errno;
    close(fd);
    if (m == MAP_FAILED)
        return ecl_fail(err, ECL_E_IO, "%s: cannot mmap: %s", path, strerror(saved));
    l->map = m;
    return 0;
}

/* The index must be of this leaf size, this version of the file, and its
 * counts must be those of the dataset's tensors, filling the file exactly. */
static int check_index(const char *path, store_leaves *l, const store_dataset *ds, uint32_t version,
                       ecl_err *err)
{
    ecl_rd r;
    ecl_rd_init(&r, l->map, l->map_len);
    const unsigned char *magic;
    if (ecl_rd_take(&r, MAGIC_BYTES, &magic) != 0 ||
        memcmp(magic, magic_of(version), MAGIC_BYTES) != 0)
        return ecl_fail(err, ECL_E_INPUT, "%s: not a leaf index of digest version %u (no %s magic)",
                        path, version, magic_of(version));
    uint64_t w[FIXED_WORDS];
    for (size_t i = 0; i < FIXED_WORDS; i++)
        if (ecl_rd_u64le(&r, &w[i]) != 0)
            return ecl_fail(err, ECL_E_INPUT, "%s: not a leaf index (too short)", path);
    if (w[0] != READ_LEAF_BYTES)
        return ecl_fail(err, ECL_E_INPUT, "%s: leaves of %llu bytes, not %u", path,
                        (unsigned long long)w[0], READ_LEAF_BYTES);
    const store_stamp *st = store_file_stamp(ds);
    if (w[1] != st->dev || w[2] != st->ino || w[3] != st->size || w[4] != (uint64_t)st->mtime_ns)
        return ecl_fail(err, ECL_E_PRECONDITION, "%s: stale, computed from another version of %s",
                        path, store_path(ds));
    size_t n = store_tensor_count(ds);
    if (w[5] != n || l->map_len < head_bytes(n))
        return ecl_fail(err, ECL_E_INPUT, "%s: %llu tensors, the dataset has %zu", path,
                        (unsigned long long)w[5], n);
    l->tables = calloc(n ? n : 1, sizeof(*l->tables));
    if (l->tables == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    l->n = n;
    /* The counts, then the leaves: a second reader over the leaves. */
    ecl_rd leaves;
    ecl_rd_init(&leaves, l->map + head_bytes(n), l->map_len - head_bytes(n));
    for (size_t i = 0; i < n; i++) {
        const store_tensor *t = store_tensor_at(ds, i);
        uint64_t count;
        const unsigned char *digests;
        if (ecl_rd_u64le(&r, &count) != 0) /* head_bytes(n) fits: checked above */
            return ecl_fail(err, ECL_E_INPUT, "%s: not a leaf index (too short)", path);
        if (count != leaf_count(t->byte_size))
            return ecl_fail(err, ECL_E_INPUT, "%s: tensor '%s' has %llu leaves, expected %llu",
                            path, t->name, (unsigned long long)count,
                            (unsigned long long)leaf_count(t->byte_size));
        if (count > ecl_rd_left(&leaves) / READ_DIGEST_BYTES ||
            ecl_rd_take(&leaves, count * READ_DIGEST_BYTES, &digests) != 0)
            return ecl_fail(err, ECL_E_INPUT, "%s: the file ends inside the leaves of tensor '%s'",
                            path, t->name);
        l->tables[i] = (read_leaf_table){digests, count, t->byte_size};
    }
    if (ecl_rd_left(&leaves) != 0)
        return ecl_fail(err, ECL_E_INPUT, "%s: %zu bytes after the last leaf", path,
                        ecl_rd_left(&leaves));
    return 0;
}

int store_leaves_open(const char *path, const store_dataset *ds, uint32_t version,
                      store_leaves **out, ecl_err *err)
{
    store_leaves *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    if (map_index(path, l, err) != 0 || check_index(path, l, ds, version, err) != 0) {
        store_leaves_free(l);
        return -1;
    }
    *out = l;
    return 0;
}

int store_leaves_load(const char *path, const store_dataset *ds, uint32_t version,
                      store_leaves **out, int *built, ecl_err *err)
{
    *built = 0;
    if (store_leaves_open(path, ds, version, out, err) == 0)
        return 0;
    if (err->code == ECL_E_IO || err->code == ECL_E_INTERNAL)
        return -1;
    /* Missing, stale or damaged: what the dataset file holds decides. */
    if (store_leaves_build(ds, path, version, err) != 0)
        return -1;
    *built = 1;
    return store_leaves_open(path, ds, version, out, err);
}

const read_leaf_table *store_leaves_tensor(const store_leaves *l, size_t i)
{
    return i < l->n ? &l->tables[i] : NULL;
}
