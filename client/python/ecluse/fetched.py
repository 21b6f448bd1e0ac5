"""Files written by `ecluse fetch`, their records, and erasure notices.

Every fetch keeps a record (docs/cli.md, "Fetch records") in
$XDG_STATE_HOME/ecluse/fetches/READ_ID.json: the source rows the file holds,
its path and SHA-256. A holding site that erases rows sends an erasure notice
(GDPR Art. 17(2)); until the researcher has removed the rows from the copy
(`ecluse fetches erase-rows`) and acknowledged the notice, the copy must not
be used again. load_fetched() checks exactly that before it hands out arrays:

    from ecluse import load_fetched
    tensors = load_fetched("lu-bc.safetensors")     # {"features": ndarray, ...}

The notices are the lines `ecluse notices --json` prints (one JSON object per
notice: "notice_id", "dataset", "rows", "reads", "state"), given as a list of
dicts, or read from a file of such lines: `notices_file`, else
$XDG_STATE_HOME/ecluse/notices.jsonl. With none to check against it refuses
(fails closed) and says how to get them.
"""
import hashlib
import json
import os

import numpy as np

DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": None, "I64": "<i8", "I32": "<i4",
          "I16": "<i2", "I8": "i1", "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1",
          "BOOL": "?"}

# Inbox states of `ecluse notices`: "received" is still open, "deleted" acknowledged.
ACKNOWLEDGED = ("deleted",)


class ErasureNoticeError(Exception):
    """A fetched file may not be used: it holds rows an open erasure notice
    names, or it is not the file its record describes."""


def state_dir():
    state = os.environ.get("XDG_STATE_HOME", "")
    if state.startswith("/"):
        return os.path.join(state, "ecluse")
    home = os.environ.get("HOME", "")
    if home.startswith("/"):
        return os.path.join(home, ".local", "state", "ecluse")
    raise ErasureNoticeError("no place for fetch records: set XDG_STATE_HOME or HOME to an "
                             "absolute directory")


def records_dir():
    return os.path.join(state_dir(), "fetches")


def records():
    """Every fetch record (dicts as stored), in read id order."""
    d = records_dir()
    if not os.path.isdir(d):
        return []
    out = []
    for name in sorted(os.listdir(d)):
        if name.endswith(".json") and not name.startswith("."):
            with open(os.path.join(d, name), encoding="utf-8") as f:
                out.append(json.load(f))
    return out


def record_of(path):
    """The record of the fetch that wrote `path` (matched by absolute path)."""
    real = os.path.realpath(path)
    for r in records():
        if r.get("file") == real:
            return r
    raise ErasureNoticeError("%s: no fetch record names this file (in %s); it cannot be "
                             "checked against erasure notices" % (real, records_dir()))


def _common(a, b):
    """Rows of [begin, end) lists a and b (each sorted and disjoint) in both."""
    out = []
    for lo_a, hi_a in a:
        for lo_b, hi_b in b:
            lo, hi = max(lo_a, lo_b), min(hi_a, hi_b)
            if lo < hi:
                out.append((lo, hi))
    return sorted(out)


def _text(ranges):
    return ",".join("%d:%d" % (b, e) for b, e in ranges)


def read_notices(path):
    """The notices in a file of `ecluse notices --json` lines."""
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    out.append(json.loads(line))
                except ValueError as e:
                    raise ErasureNoticeError("%s line %d: not a notice: %s" % (path, n, e))
    return out


def _notices(notices, notices_file):
    if notices is not None:
        return notices
    path = notices_file or os.path.join(state_dir(), "notices.jsonl")
    if not os.path.exists(path):
        raise ErasureNoticeError(
            "no erasure notices to check against (%s does not exist): save the lines of "
            "`ecluse notices --json` there, or pass notices=" % path)
    return read_notices(path)


def check_record(record, notices):
    """Raise ErasureNoticeError if an open notice names rows the file of
    `record` still holds."""
    for n in notices:
        if n.get("state") in ACKNOWLEDGED or n.get("dataset") != record["dataset"]:
            continue
        held = _common(record["rows"], [tuple(r) for r in n.get("rows", [])])
        if held:
            raise ErasureNoticeError(
                "%s holds rows %s of %s that erasure notice %s (state %s) withdrew: run "
                "`ecluse fetches erase-rows %s --rows %s`, then `ecluse notices ack %s`"
                % (record["file"], _text(held), record["dataset"], n.get("notice_id"),
                   n.get("state"), record["read_id"], _text(held), n.get("notice_id")))


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _tensors(data, path):
    """The tensors of a safetensors file's bytes (checked: a tensor must fit
    its offsets exactly, inside the file)."""
    n = int.from_bytes(data[:8], "little") if len(data) >= 8 else -1
    if n < 0 or n > len(data) - 8:
        raise ErasureNoticeError("%s: not a safetensors file (header length beyond the "
                                 "file's %d bytes)" % (path, len(data)))
    header = json.loads(data[8:8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        if DTYPES.get(t["dtype"]) is None:
            raise ErasureNoticeError("%s: tensor %s has dtype %s, which numpy cannot hold"
                                     % (path, name, t["dtype"]))
        dt = np.dtype(DTYPES[t["dtype"]])
        begin, end = t["data_offsets"]
        count = int(np.prod(t["shape"], dtype=np.int64))
        if end - begin != count * dt.itemsize or 8 + n + end > len(data):
            raise ErasureNoticeError("%s: tensor %s: offsets %d to %d do not hold shape %s"
                                     % (path, name, begin, end, t["shape"]))
        out[name] = np.frombuffer(data, dtype=dt, count=count,
                                  offset=8 + n + begin).reshape(t["shape"])
    return out


def load_fetched(path, notices=None, notices_file=None):
    """The tensors of a file `ecluse fetch` wrote, as numpy arrays keyed by
    name, after checking that it is the file its record describes (SHA-256)
    and that no open erasure notice names rows it holds."""
    record = record_of(path)
    digest = _sha256(record["file"])
    if digest != record["sha256"]:
        raise ErasureNoticeError("%s: the file changed since its record (SHA-256 %s..., the "
                                 "record of read %s says %s...)"
                                 % (record["file"], digest[:16], record["read_id"],
                                    record["sha256"][:16]))
    check_record(record, _notices(notices, notices_file))
    with open(record["file"], "rb") as f:
        return _tensors(f.read(), record["file"])
