"""libecluse_client.so through ctypes (its C ABI: client/pyapi/pyapi.h).

The library is looked for at $ECLUSE_CLIENT_LIB, then beside this file (where
the Bazel-built package puts it), then by the system's loader. load() returns
None if it is nowhere: EcluseDataset then reads through grpcio instead.
"""
import ctypes
import ctypes.util
import os

ABI_VERSION = 1
_MSG = 1024
_u64p = ctypes.POINTER(ctypes.c_uint64)
_lib = None

# ecl_code (common/err.h), by the negative value a call returns.
CODES = {1: "usage", 2: "input", 3: "io", 4: "not_found", 5: "exists", 6: "auth", 7: "denied",
         8: "precondition", 9: "crypto", 10: "limit", 11: "unavailable", 12: "internal",
         13: "unimplemented"}


class NativeError(Exception):
    """A failure the C library reported: .code names its category
    ("crypto" for a digest that does not match, "denied", ...)."""

    def __init__(self, rc, message):
        self.code = CODES.get(-rc, "internal")
        super().__init__("%s (%s)" % (message, self.code))


def _declare(lib):
    c = ctypes
    sig = {
        "eclpy_abi_version": (c.c_int, []),
        "eclpy_session_open": (c.c_int, [c.c_char_p, c.c_char_p, c.POINTER(c.c_void_p),
                                         c.c_char_p, c.c_size_t]),
        "eclpy_session_close": (None, [c.c_void_p]),
        "eclpy_grant_file": (c.c_int64, [c.c_char_p, c.c_void_p, c.c_size_t, c.c_char_p,
                                         c.c_size_t]),
        "eclpy_granted_shape": (c.c_int, [c.c_void_p, c.c_char_p, c.c_size_t,
                                          c.POINTER(c.c_char_p), c.c_size_t, _u64p, _u64p,
                                          c.c_char_p, c.c_size_t]),
        "eclpy_read_open": (c.c_int, [c.c_void_p, c.c_char_p, c.c_size_t, c.POINTER(c.c_char_p),
                                      c.c_size_t, _u64p, c.c_size_t, c.c_uint64,
                                      c.POINTER(c.c_void_p), c.c_char_p, c.c_size_t]),
        "eclpy_read_tensor_count": (c.c_size_t, [c.c_void_p]),
        "eclpy_read_tensor": (c.c_int, [c.c_void_p, c.c_size_t, c.POINTER(c.c_char_p),
                                        c.POINTER(c.c_char_p), _u64p, c.POINTER(_u64p),
                                        c.POINTER(c.c_size_t)]),
        "eclpy_read_row_bytes": (c.c_uint64, [c.c_void_p]),
        "eclpy_read_next_window": (c.c_int64, [c.c_void_p, c.c_void_p, c.c_uint64, _u64p,
                                               c.c_char_p, c.c_size_t]),
        "eclpy_read_close": (None, [c.c_void_p]),
    }
    for name, (res, args) in sig.items():
        f = getattr(lib, name)
        f.restype, f.argtypes = res, args


def load():
    """The library, or None if it cannot be found (or is of another ABI)."""
    global _lib
    if _lib is not None:
        return _lib
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "libecluse_client.so")
    for path in (os.environ.get("ECLUSE_CLIENT_LIB"), here,
                 ctypes.util.find_library("ecluse_client")):
        if path and (os.path.sep not in path or os.path.exists(path)):
            lib = ctypes.CDLL(path)
            _declare(lib)
            if lib.eclpy_abi_version() != ABI_VERSION:
                raise ImportError("%s: C ABI version %d, this module needs %d"
                                  % (path, lib.eclpy_abi_version(), ABI_VERSION))
            _lib = lib
            return lib
    return None


def _names(tensors):
    arr = (ctypes.c_char_p * max(1, len(tensors)))(*[t.encode() for t in tensors])
    return arr, len(tensors)


class Session:
    """A session to the home gateway as the person of an identity directory."""

    def __init__(self, identity_dir, gateway=None):
        self.lib = load()
        if self.lib is None:
            raise ImportError("libecluse_client.so not found")
        self.h = ctypes.c_void_p()
        msg = ctypes.create_string_buffer(_MSG)
        rc = self.lib.eclpy_session_open(os.path.expanduser(identity_dir).encode(),
                                         gateway.encode() if gateway else None,
                                         ctypes.byref(self.h), msg, _MSG)
        if rc != 0:
            raise NativeError(rc, msg.value.decode(errors="replace"))

    def close(self):
        if self.h:
            self.lib.eclpy_session_close(self.h)
            self.h = ctypes.c_void_p()

    def granted_shape(self, grant, tensors=()):
        """(rows, bytes per row) the grant allows of `tensors`, per the catalog."""
        rows, rb = ctypes.c_uint64(), ctypes.c_uint64()
        names, n = _names(tensors)
        msg = ctypes.create_string_buffer(_MSG)
        rc = self.lib.eclpy_granted_shape(self.h, grant, len(grant), names, n, ctypes.byref(rows),
                                          ctypes.byref(rb), msg, _MSG)
        if rc != 0:
            raise NativeError(rc, msg.value.decode(errors="replace"))
        return rows.value, rb.value

    def read(self, grant, tensors, ranges, window_bytes):
        return NativeRead(self, grant, tensors, ranges, window_bytes)


class NativeRead:
    """Row ranges read ahead in C; next_window() fills a caller's buffer."""

    def __init__(self, session, grant, tensors, ranges, window_bytes):
        self.lib = session.lib
        self.h = ctypes.c_void_p()
        names, n = _names(tensors)
        flat = (ctypes.c_uint64 * (2 * len(ranges)))(*[v for r in ranges for v in r])
        msg = ctypes.create_string_buffer(_MSG)
        rc = self.lib.eclpy_read_open(session.h, grant, len(grant), names, n, flat, len(ranges),
                                      window_bytes, ctypes.byref(self.h), msg, _MSG)
        if rc != 0:
            raise NativeError(rc, msg.value.decode(errors="replace"))
        self.tensors = []  # (name, dtype, row_bytes, row_shape)
        for i in range(self.lib.eclpy_read_tensor_count(self.h)):
            name, dtype, rb = ctypes.c_char_p(), ctypes.c_char_p(), ctypes.c_uint64()
            shape, ndim = _u64p(), ctypes.c_size_t()
            if self.lib.eclpy_read_tensor(self.h, i, ctypes.byref(name), ctypes.byref(dtype),
                                          ctypes.byref(rb), ctypes.byref(shape),
                                          ctypes.byref(ndim)) != 0:
                raise NativeError(-12, "tensor %d of the read is missing" % i)
            self.tensors.append((name.value.decode(), dtype.value.decode(), rb.value,
                                 tuple(shape[k] for k in range(ndim.value))))
        self.row_bytes = self.lib.eclpy_read_row_bytes(self.h)
        self._msg = ctypes.create_string_buffer(_MSG)

    def next_window(self, buf):
        """Fill `buf` (a writable numpy uint8 array) with the next range:
        its rows, or 0 at the end; NativeError on a failure."""
        rows = ctypes.c_uint64()
        got = self.lib.eclpy_read_next_window(self.h, buf.ctypes.data, buf.nbytes,
                                              ctypes.byref(rows), self._msg, _MSG)
        if got < 0:
            raise NativeError(got, self._msg.value.decode(errors="replace"))
        return rows.value if got > 0 else 0

    def close(self):
        if self.h:
            self.lib.eclpy_read_close(self.h)
            self.h = ctypes.c_void_p()
