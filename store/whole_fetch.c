/* whole_fetch.c - the file `ecluse fetch` writes for a whole dataset,
 * measured without writing it, for the catalog's checksum of it. */
#include "store/writer.h"

int store_whole_fetch_measure(const store_dataset *ds, const char *id, uint64_t *bytes,
                              unsigned char sha256[STORE_SHA256_BYTES], ecl_err *err)
{
    store_writer *w = NULL;
    if (store_writer_new(&w, err) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < store_tensor_count(ds); i++) {
        const store_tensor *t = store_tensor_at(ds, i);
        rc = store_writer_add(w, t->name, t->dtype, t->ndim, t->shape, t->data, t->byte_size, err);
    }
    if (rc == 0)
        rc = store_writer_meta(w, STORE_META_DATASET, id, err);
    if (rc == 0)
        rc = store_writer_measure(w, bytes, sha256, err);
    store_writer_free(w);
    return rc;
}
