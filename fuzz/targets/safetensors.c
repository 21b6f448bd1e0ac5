/* safetensors.c - fuzz target: dataset files (store_open), written to a
 * temporary file and mapped as the gateway maps a dataset it publishes.
 * Every tensor of an accepted file must lie inside the map and be readable:
 * its digest is computed, which touches every byte (ASan sees any overrun). */
#include <limits.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "store/dataset.h"

int fz_safetensors(const uint8_t *data, size_t size)
{
    char path[PATH_MAX];
    fz_write_temp("dataset.safetensors", data, size, path);
    store_dataset *ds = NULL;
    ecl_err err;
    ecl_err_clear(&err);
    if (!FZ_CHECK("store_open", store_open(path, &ds, &err), &err, ECL_E_INPUT, ECL_E_LIMIT))
        return 0;
    uint64_t data_start = 8 + store_header_size(ds), covered = 0;
    if (store_file_size(ds) != size || data_start > size)
        fz_fail("safetensors accepted: header %llu in a file of %zu",
                (unsigned long long)store_header_size(ds), size);
    for (size_t i = 0; i < store_tensor_count(ds); i++) {
        const store_tensor *t = store_tensor_at(ds, i);
        if (t->data_offset != covered)
            fz_fail("tensor %zu '%s' starts at %llu, the one before ended at %llu", i, t->name,
                    (unsigned long long)t->data_offset, (unsigned long long)covered);
        covered += t->byte_size;
        size_t index;
        if (store_tensor_find(ds, t->name, &index, &err) != 0)
            fz_fail("tensor '%s' is listed but not found: %s", t->name, err.msg);
        unsigned char digest[STORE_DIGEST_BYTES];
        if (store_tensor_digest(ds, i, digest, &err) != 0)
            fz_fail("tensor '%s' has no digest: %s", t->name, err.msg);
    }
    if (data_start + covered != size)
        fz_fail("safetensors accepted: tensors cover %llu of %llu data bytes",
                (unsigned long long)covered, (unsigned long long)(size - data_start));
    for (size_t i = 0; i < store_metadata_count(ds); i++) {
        const char *k, *v;
        store_metadata_at(ds, i, &k, &v);
        if (k == NULL || v == NULL || store_metadata_get(ds, k) == NULL)
            fz_fail("metadata entry %zu is incomplete", i);
    }
    store_unref(ds);
    return 1;
}
