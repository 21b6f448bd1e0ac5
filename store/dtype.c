#include "store/dtype.h"

#include <string.h>

static const struct {
    const char *name;
    size_t size;
} dtypes[STORE_DT_COUNT_] = {
    [STORE_DT_INVALID] = {"INVALID", 0}, [STORE_DT_BOOL] = {"BOOL", 1},
    [STORE_DT_U8] = {"U8", 1},           [STORE_DT_I8] = {"I8", 1},
    [STORE_DT_F8_E5M2] = {"F8_E5M2", 1}, [STORE_DT_F8_E4M3] = {"F8_E4M3", 1},
    [STORE_DT_I16] = {"I16", 2},         [STORE_DT_U16] = {"U16", 2},
    [STORE_DT_F16] = {"F16", 2},         [STORE_DT_BF16] = {"BF16", 2},
    [STORE_DT_I32] = {"I32", 4},         [STORE_DT_U32] = {"U32", 4},
    [STORE_DT_F32] = {"F32", 4},         [STORE_DT_F64] = {"F64", 8},
    [STORE_DT_I64] = {"I64", 8},         [STORE_DT_U64] = {"U64", 8},
};

const char *store_dtype_name(store_dtype dt)
{
    if ((unsigned)dt >= STORE_DT_COUNT_)
        return "INVALID";
    return dtypes[dt].name;
}

size_t store_dtype_size(store_dtype dt)
{
    if ((unsigned)dt >= STORE_DT_COUNT_)
        return 0;
    return dtypes[dt].size;
}

store_dtype store_dtype_parse(const char *name)
{
    if (name == NULL)
        return STORE_DT_INVALID;
    for (int i = STORE_DT_INVALID + 1; i < STORE_DT_COUNT_; i++)
        if (strcmp(dtypes[i].name, name) == 0)
            return (store_dtype)i;
    return STORE_DT_INVALID;
}
