"""The safetensors dtypes the gateway serves (store/dtype.h), as numpy and torch see them.

numpy has no bfloat16 or float8: those arrive as the unsigned integers of
their size (BF16 as uint16, F8_E4M3 and F8_E5M2 as uint8), bit-exact, and
to_torch() views them as their torch type: torch.bfloat16, and
torch.float8_e4m3fn / torch.float8_e5m2 where this torch has them (else the
tensor stays uint8, the raw bits; Debian 12's torch 1.13 has no float8).
"""
import numpy as np

NUMPY = {"BOOL": np.bool_, "U8": np.uint8, "I8": np.int8, "F8_E5M2": np.uint8,
         "F8_E4M3": np.uint8, "I16": np.int16, "U16": np.uint16, "F16": np.float16,
         "BF16": np.uint16, "I32": np.int32, "U32": np.uint32, "F32": np.float32,
         "F64": np.float64, "I64": np.int64, "U64": np.uint64}

# dtypes numpy holds as raw bits, and the torch type each is viewed as.
_TORCH_VIEW = {"BF16": "bfloat16", "F8_E4M3": "float8_e4m3fn", "F8_E5M2": "float8_e5m2"}


class UnknownDtypeError(ValueError):
    """A stream's header names a dtype this client cannot map."""


def numpy_dtype(dtype, tensor="?"):
    """The numpy dtype that holds `dtype`'s bytes; UnknownDtypeError naming both if none."""
    try:
        return np.dtype(NUMPY[dtype]).newbyteorder("<")
    except KeyError:
        raise UnknownDtypeError("tensor %r has dtype %r, which this client does not know "
                                "(known: %s)" % (tensor, dtype, ", ".join(sorted(NUMPY)))) from None


def to_torch(a, dtype):
    """The torch tensor of array `a` (numpy_dtype(dtype)'s), without a copy
    where torch has the type: BF16 as torch.bfloat16, F8 as torch's float8
    types where it has them (else uint8, the raw bits). A torch without
    unsigned 16/32/64-bit types (before 2.3) gets U16 and U32 widened to
    int32 and int64 (a copy, same values) and U64 as int64 (the same bits:
    values from 2**63 up read negative)."""
    import torch
    name = _TORCH_VIEW.get(dtype)
    if name is not None:
        raw = torch.from_numpy(a.view(np.int16) if a.dtype == np.uint16 else a)
        return raw.view(getattr(torch, name)) if hasattr(torch, name) else raw
    if dtype in _UNSIGNED and not hasattr(torch, _UNSIGNED[dtype][0]):
        wide = _UNSIGNED[dtype][1]
        return torch.from_numpy(a.view(wide) if wide == np.int64 and a.dtype == np.uint64
                                else a.astype(wide))
    return torch.from_numpy(a)


# Unsigned types torch may lack: its name for them, and what stands in.
_UNSIGNED = {"U16": ("uint16", np.int32), "U32": ("uint32", np.int64), "U64": ("uint64", np.int64)}
