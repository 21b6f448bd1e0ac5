"""Writes the loader test's datasets as safetensors files, and their
policies (run by loader_test.sh). Usage: loader_data.py DIR SCALE

  rows.safetensors    features F32 [1003, 8] (row i: i, then i + j/8), labels I64 [1003] = i
  dtypes.safetensors  one tensor per dtype, random bits: BF16, F16, F8_E4M3, F8_E5M2,
                      I8, U8, BOOL (0 or 1), F64
  big.safetensors     features F32 [16384, 1024]: 64 MiB (8 MiB when SCALE > 1)
"""
import json
import os
import sys

import numpy as np

ROWS = 1003
DTYPE_ROWS = 517


def rows_tensors():
    i = np.arange(ROWS, dtype=np.float32)[:, None]
    features = i + np.arange(8, dtype=np.float32)[None, :] / 8
    return {"features": ("F32", features), "labels": ("I64", np.arange(ROWS, dtype=np.int64))}


def dtype_tensors():
    g = np.random.default_rng(16)
    bits = lambda dt, cols: g.integers(0, 256, DTYPE_ROWS * cols * np.dtype(dt).itemsize,  # noqa
                                       dtype=np.uint8).view(dt).reshape(DTYPE_ROWS, cols)
    f16 = g.standard_normal((DTYPE_ROWS, 5)).astype(np.float16)
    f64 = g.standard_normal((DTYPE_ROWS, 3))
    return {"bf16": ("BF16", bits(np.uint16, 6)), "f16": ("F16", f16),
            "f8e4m3": ("F8_E4M3", bits(np.uint8, 7)), "f8e5m2": ("F8_E5M2", bits(np.uint8, 4)),
            "i8": ("I8", bits(np.int8, 3)), "u8": ("U8", bits(np.uint8, 2)),
            "bool": ("BOOL", g.integers(0, 2, (DTYPE_ROWS, 9)).astype(np.bool_)),
            "f64": ("F64", f64)}


def big_tensors(scale):
    rows = 16384 if scale <= 1 else 2048
    return {"features": ("F32", np.arange(rows * 1024, dtype=np.float32).reshape(rows, 1024))}


def write_safetensors(path, tensors):
    header, off, blobs = {}, 0, []
    for name, (dt, a) in tensors.items():
        b = np.ascontiguousarray(a).tobytes()
        header[name] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(len(h).to_bytes(8, "little"))
        f.write(h)
        for b in blobs:
            f.write(b)


def write_policy(path, dataset, names):
    policy = {
        "ecluse_policy": 1, "dataset": dataset,
        "description": "Synthetic rows for the loader test: no personal data.",
        "category": "special", "special_categories": ["health"], "pseudonymised": True,
        "lawful_bases": ["art6-1-e", "art9-2-j"],
        "purposes": {"allowed": ["HMB"], "modifiers": ["NPU", "IRB", "PUB", "RTN"]},
        "tensors": [{"name": n} for n in names],
        "minimisation": {"default": {"tensors": list(names), "max_rows": 1 << 30}},
        "storage": {"access_until": "2030-12-31", "max_grant_days": 90, "retention_days": 180},
        "transfers": {"allow": ["eea", "adequacy", "scc"]},
        "research": {"ethics_approval_required": True, "pseudonymised_only": True}}
    with open(path, "w") as f:
        json.dump(policy, f)


def main():
    d, scale = sys.argv[1], float(sys.argv[2])
    for name, tensors in (("rows", rows_tensors()), ("dtypes", dtype_tensors()),
                          ("big", big_tensors(scale))):
        write_safetensors(os.path.join(d, name + ".safetensors"), tensors)
        write_policy(os.path.join(d, name + ".json"), "fi/" + name, list(tensors))


if __name__ == "__main__":
    main()
