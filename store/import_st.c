#include "store/writer.h"

int store_writer_add_dataset(store_writer *w, const store_dataset *ds, ecl_err *err)
{
    for (size_t i = 0; i < store_tensor_count(ds); i++) {
        const store_tensor *t = store_tensor_at(ds, i);
        if (store_writer_add(w, t->name, t->dtype, t->ndim, t->shape, t->data, t->byte_size, err) !=
            0)
            return -1;
    }
    for (size_t i = 0; i < store_metadata_count(ds); i++) {
        const char *k, *v;
        store_metadata_at(ds, i, &k, &v);
        if (store_writer_meta(w, k, v, err) != 0)
            return -1;
    }
    return 0;
}

int store_import_safetensors(const char *src, const char *dst, store_dataset **out, ecl_err *err)
{
    store_dataset *in;
    if (store_open(src, &in, err) != 0)
        return -1;
    store_writer *w;
    int rc = store_writer_new(&w, err);
    if (rc == 0) {
        rc = store_writer_add_dataset(w, in, err);
        if (rc == 0)
            rc = store_writer_write(w, dst, err);
        store_writer_free(w);
    }
    store_unref(in);
    if (rc == 0 && out != NULL)
        rc = store_open(dst, out, err);
    return rc;
}
