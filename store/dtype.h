/*
 * dtype.h - the element types of stored tensors, named as safetensors names them.
 *
 * Only the byte-sized safetensors dtypes are supported (the sub-byte F4/F6
 * types have no whole-byte element size and are refused by the reader).
 * Elements are always little-endian in files and in memory maps.
 */
#ifndef ECLUSE_STORE_DTYPE_H
#define ECLUSE_STORE_DTYPE_H

#include <stddef.h>

#include "common/err.h"

/* Tensors are mapped and written as they lie in memory: little-endian only. */
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "ecluse store needs a little-endian host"
#endif

typedef enum {
    STORE_DT_INVALID = 0,
    STORE_DT_BOOL,
    STORE_DT_U8,
    STORE_DT_I8,
    STORE_DT_F8_E5M2,
    STORE_DT_F8_E4M3,
    STORE_DT_I16,
    STORE_DT_U16,
    STORE_DT_F16,
    STORE_DT_BF16,
    STORE_DT_I32,
    STORE_DT_U32,
    STORE_DT_F32,
    STORE_DT_F64,
    STORE_DT_I64,
    STORE_DT_U64,
    STORE_DT_COUNT_ /* not a dtype: the number of entries above */
} store_dtype;

/* The safetensors name ("F32", "I64", ...); "INVALID" for anything else. */
const char *store_dtype_name(store_dtype dt);

/* Bytes per element (1, 2, 4 or 8); 0 for STORE_DT_INVALID or out of range. */
size_t store_dtype_size(store_dtype dt);

/* The dtype whose safetensors name is exactly `name` (case-sensitive, as the
 * format requires); STORE_DT_INVALID if none. `name` may be NULL. */
store_dtype store_dtype_parse(const char *name) ECL_WUR;

#endif
