"""Independent checks of ecluse's store files with the standard library and numpy.

It parses safetensors by the specification itself (8-byte little-endian header
length, UTF-8 JSON header, offsets relative to the data start, contiguous
tensors with no hole and no overlap, data size equal to the last end) and
never uses ecluse code. Exit status 0 means every check passed.

  st_check.py synthetic FILE              the tensors interop_test writes
  st_check.py csv FILE DATA DELIM SKIP LABEL
                                          features/labels equal numpy.loadtxt
                                          (DELIM ',' or 'ws'; LABEL 'last' or
                                          a labels file)
  st_check.py write-npy DIR               .npy files numpy writes, good and bad
  st_check.py npy-vs-st DIR FILE          each tensor equals numpy.load(DIR/name.npy)
"""
import json
import struct
import sys

import numpy as np

DTYPES = {
    "BOOL": np.dtype("?"), "U8": np.dtype("u1"), "I8": np.dtype("i1"),
    "I16": np.dtype("<i2"), "U16": np.dtype("<u2"), "F16": np.dtype("<f2"),
    "I32": np.dtype("<i4"), "U32": np.dtype("<u4"), "F32": np.dtype("<f4"),
    "F64": np.dtype("<f8"), "I64": np.dtype("<i8"), "U64": np.dtype("<u8"),
}


def fail(msg):
    print("st_check: FAIL: " + msg)
    sys.exit(1)


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        fail("file shorter than 8 bytes")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        fail("header length %d beyond file of %d bytes" % (n, len(data)))
    raw = data[8:8 + n]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        fail("header not UTF-8: %s" % e)
    if not text.startswith("{"):
        fail("header does not start with '{'")
    header = json.loads(text)
    meta = header.pop("__metadata__", None)
    if meta is not None and not all(isinstance(k, str) and isinstance(v, str)
                                    for k, v in meta.items()):
        fail("__metadata__ is not a map of strings")
    body = data[8 + n:]
    entries = sorted(header.items(), key=lambda kv: tuple(kv[1]["data_offsets"]))
    at = 0
    tensors = {}
    for name, info in entries:
        begin, end = info["data_offsets"]
        if begin != at:
            fail("tensor %s begins at %d, previous ended at %d" % (name, begin, at))
        if end < begin or end > len(body):
            fail("tensor %s offsets [%d, %d] out of range" % (name, begin, end))
        dt = DTYPES.get(info["dtype"])
        if dt is None:
            fail("tensor %s: unknown dtype %s" % (name, info["dtype"]))
        shape = tuple(info["shape"])
        if int(np.prod(shape, dtype=np.int64)) * dt.itemsize != end - begin:
            fail("tensor %s: shape %s x %s != %d bytes" % (name, shape, dt, end - begin))
        tensors[name] = np.frombuffer(body[begin:end], dtype=dt).reshape(shape)
        at = end
    if at != len(body):
        fail("data section is %d bytes, tensors end at %d" % (len(body), at))
    return tensors, meta or {}


def formula(dtype, shape):
    """The values interop_test.c writes: a function of the flat index."""
    i = np.arange(int(np.prod(shape, dtype=np.int64)), dtype=np.int64)
    if dtype.kind == "f":
        v = (i % 97) * 0.25 - 5.0
    elif dtype.kind == "i":
        v = (i * 7) % 200 - 100
    elif dtype.kind == "u":
        v = (i * 7) % 251
    else:
        v = i % 3 == 0
    return v.astype(dtype).reshape(shape)


SYNTHETIC = [
    ("f32", "F32", (4, 3)), ("f64", "F64", (2, 3, 2)), ("i8", "I8", (7,)),
    ("i16", "I16", (3, 3)), ("i32", "I32", (5,)), ("i64", "I64", (2, 2)),
    ("u8", "U8", (3, 4)), ("u16", "U16", (6,)), ("u32", "U32", (2, 3)),
    ("u64", "U64", (3,)), ("bool", "BOOL", (5,)), ("scalar", "F32", ()),
    ("empty", "F32", (0, 4)),
]


def check_synthetic(path):
    tensors, meta = read_safetensors(path)
    if meta != {"purpose": "interop", "site": "fi"}:
        fail("metadata %r" % meta)
    if sorted(tensors) != sorted(n for n, _, _ in SYNTHETIC):
        fail("tensor names %s" % sorted(tensors))
    for name, dt, shape in SYNTHETIC:
        a = tensors[name]
        if a.dtype != DTYPES[dt] or a.shape != shape:
            fail("%s: %s %s, want %s %s" % (name, a.dtype, a.shape, dt, shape))
        if not np.array_equal(a, formula(DTYPES[dt], shape)):
            fail("%s: values differ" % name)
    print("st_check: synthetic OK, %d tensors" % len(tensors))


def check_csv(path, data, delim, skip, label):
    tensors, _ = read_safetensors(path)
    table = np.loadtxt(data, delimiter=None if delim == "ws" else delim, skiprows=int(skip),
                       ndmin=2)
    if label == "last":
        want_x, want_y = table[:, :-1], table[:, -1]
    else:
        want_x, want_y = table, np.loadtxt(label)
    want_x = want_x.astype(np.float32)
    x, y = tensors["features"], tensors["labels"]
    if x.dtype != np.float32 or x.shape != want_x.shape:
        fail("features %s %s, want float32 %s" % (x.dtype, x.shape, want_x.shape))
    if not np.array_equal(x, want_x):
        bad = np.argwhere(x != want_x)[0]
        fail("features differ first at %s: %r vs %r" % (bad, x[tuple(bad)], want_x[tuple(bad)]))
    if y.dtype != np.int64 or not np.array_equal(y, want_y.astype(np.int64)) \
            or not np.array_equal(want_y, np.round(want_y)):
        fail("labels differ")
    print("st_check: csv OK, %s features, %d labels" % (x.shape, len(y)))


GOOD_NPY = ["f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "b1"]


def write_npy(d):
    for code in GOOD_NPY:
        np.save("%s/%s.npy" % (d, code), formula(np.dtype(code), (5, 3)))
    # Other versions and shapes, written by numpy's own format module.
    for ver, name, shape in [((2, 0), "v2", (4, 2)), ((3, 0), "v3", (3,)),
                             ((1, 0), "scalar", ()), ((1, 0), "empty", (0, 4))]:
        with open("%s/%s.npy" % (d, name), "wb") as f:
            np.lib.format.write_array(f, formula(np.dtype("<f8"), shape), version=ver)
    np.save("%s/bad_fortran.npy" % d, np.asfortranarray(formula(np.dtype("f4"), (3, 4))))
    np.save("%s/bad_bigendian.npy" % d, formula(np.dtype(">f4"), (4,)))
    np.save("%s/bad_object.npy" % d, np.array([1, "x", None], dtype=object))
    np.save("%s/bad_unicode.npy" % d, np.array(["abc", "de"]))
    np.save("%s/bad_complex.npy" % d, np.arange(3) * (1 + 2j))
    np.save("%s/bad_structured.npy" % d, np.zeros(2, dtype=[("a", "<i4"), ("b", "<f8")]))
    print("st_check: wrote npy files")


def npy_vs_st(d, path):
    tensors, _ = read_safetensors(path)
    for name, a in tensors.items():
        want = np.load("%s/%s.npy" % (d, name))
        if a.shape != want.shape or a.dtype.str.lstrip("<|=") != want.dtype.str.lstrip("<|="):
            fail("%s: %s %s, numpy wrote %s %s" % (name, a.dtype, a.shape, want.dtype, want.shape))
        if not np.array_equal(a, want):
            fail("%s: values differ from numpy's file" % name)
    print("st_check: %d tensors equal numpy's .npy files" % len(tensors))


def main(argv):
    if len(argv) >= 2 and argv[0] == "synthetic":
        check_synthetic(argv[1])
    elif len(argv) == 6 and argv[0] == "csv":
        check_csv(*argv[1:])
    elif len(argv) == 2 and argv[0] == "write-npy":
        write_npy(argv[1])
    elif len(argv) == 3 and argv[0] == "npy-vs-st":
        npy_vs_st(argv[1], argv[2])
    else:
        fail("usage: see the docstring")


if __name__ == "__main__":
    main(sys.argv[1:])
