/* npy.c - fuzz target: NumPy .npy files (store_npy_parse), as
 * `ecluse dataset import` reads them. */
#include "fuzz/fuzz.h"
#include "store/npy.h"

int fz_npy(const uint8_t *data, size_t size)
{
    store_npy_info info;
    ecl_err err;
    ecl_err_clear(&err);
    if (!FZ_CHECK("store_npy_parse", store_npy_parse(data, size, "fuzz.npy", &info, &err), &err,
                  ECL_E_INPUT, ECL_E_LIMIT))
        return 0;
    /* Accepted means the elements are exactly the rest of the file. */
    if (info.data_offset > size || info.byte_size != size - info.data_offset)
        fz_fail("npy accepted with data at %llu, %llu bytes, in a file of %zu",
                (unsigned long long)info.data_offset, (unsigned long long)info.byte_size, size);
    if (info.ndim > STORE_MAX_DIMS)
        fz_fail("npy accepted with %zu dims", info.ndim);
    uint64_t elems = 1;
    for (size_t i = 0; i < info.ndim; i++)
        if (__builtin_mul_overflow(elems, info.shape[i], &elems))
            fz_fail("npy accepted with a shape whose element count overflows");
    if (__builtin_mul_overflow(elems, store_dtype_size(info.dtype), &elems) ||
        elems != info.byte_size)
        fz_fail("npy accepted: shape and dtype give %llu bytes, not %llu",
                (unsigned long long)elems, (unsigned long long)info.byte_size);
    return 1;
}
