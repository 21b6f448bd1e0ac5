#!/usr/bin/python3
"""Verify an ecluse audit log independently of audit/, from docs/audit-format.md.

usage: verify_chain.py LOG_DIR
Prints "OK entries=N checkpoints=M" and exits 0, or "BAD seq=K: why" and exits 1.
Needs python3-lmdb and python3-nacl (Debian packages).
"""
import hashlib
import struct
import sys

import lmdb
import nacl.exceptions
import nacl.signing

ENTRY_DOMAIN = b"ecluse-audit-v1\x00"
CKPT_DOMAIN = b"ecluse-checkpoint-v1\x00"
ZERO = bytes(32)


class Bad(Exception):
    def __init__(self, seq, why):
        super().__init__(why)
        self.seq = seq
        self.why = why


def parse_entry(seq, v):
    """Return (seq_field, time_ns, prev_hash, hash) after checking the layout."""
    if len(v) < 105:
        raise Bad(seq, "record of %d bytes is too short" % len(v))
    if v[0] != 1:
        raise Bad(seq, "unknown version %d" % v[0])
    seq_field, time_ns = struct.unpack(">Qq", v[1:17])
    prev = v[17:49]
    end = len(v) - 32
    p = 49
    for i in range(11):
        width = 2 if i < 10 else 4
        if end - p < width:
            raise Bad(seq, "field %d length runs past the end" % i)
        n = int.from_bytes(v[p:p + width], "big")
        p += width
        if n > (255 if i < 10 else 65536) or n > end - p:
            raise Bad(seq, "field %d does not fit" % i)
        if b"\x00" in v[p:p + n]:
            raise Bad(seq, "field %d holds a NUL byte" % i)
        p += n
    if p != end:
        raise Bad(seq, "%d unexpected bytes before the hash" % (end - p))
    return seq_field, time_ns, prev, v[end:]


def verify_entries(txn, entries, count, head):
    prev_hash, prev_time = ZERO, None
    expected = 1
    for key, v in txn.cursor(db=entries):
        if len(key) != 8:
            raise Bad(expected, "key of %d bytes in entries" % len(key))
        seq = struct.unpack(">Q", key)[0]
        if seq > count:
            raise Bad(count + 1, "entry beyond the head's count")
        if seq != expected:
            raise Bad(expected, "entry missing")
        seq_field, time_ns, prev, h = parse_entry(seq, v)
        if seq_field != seq:
            raise Bad(seq, "record says seq %d" % seq_field)
        if hashlib.blake2b(ENTRY_DOMAIN + v[:-32], digest_size=32).digest() != h:
            raise Bad(seq, "hash does not match content")
        if prev != prev_hash:
            raise Bad(seq, "prev_hash does not link to the entry before")
        if prev_time is not None and time_ns < prev_time:
            raise Bad(seq, "time goes backwards")
        prev_hash, prev_time = h, time_ns
        expected += 1
    if expected - 1 != count:
        raise Bad(expected, "entry missing (head says %d)" % count)
    if prev_hash != head:
        raise Bad(count, "last hash differs from meta/head")


def hash_of(txn, entries, seq):
    if seq == 0:
        return ZERO
    v = txn.get(struct.pack(">Q", seq), db=entries)
    return None if v is None else v[-32:]


def verify_checkpoints(txn, entries, ckpts, count):
    n = 0
    for key, v in txn.cursor(db=ckpts):
        kc = struct.unpack(">Q", key)[0]
        sig, body = v[:64], v[64:]
        if len(body) < 84 or body[0] != 1:
            raise Bad(max(kc, 1), "checkpoint %d malformed" % kc)
        site_len = int.from_bytes(body[1:3], "big")
        if len(body) != 83 + site_len:
            raise Bad(max(kc, 1), "checkpoint %d has the wrong length" % kc)
        p = 3 + site_len
        entry_count = struct.unpack(">Q", body[p:p + 8])[0]
        head_hash = body[p + 8:p + 40]
        key_bytes = body[p + 48:p + 80]
        try:
            nacl.signing.VerifyKey(key_bytes).verify(CKPT_DOMAIN + body, sig)
        except nacl.exceptions.BadSignatureError:
            raise Bad(max(kc, 1), "checkpoint %d: bad signature" % kc)
        if entry_count != kc:
            raise Bad(max(kc, 1), "checkpoint stored under another count")
        if entry_count > count:
            raise Bad(count + 1, "checkpoint %d beyond the log" % kc)
        if hash_of(txn, entries, entry_count) != head_hash:
            raise Bad(max(kc, 1), "checkpoint %d: head hash differs" % kc)
        n += 1
    return n


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    env = lmdb.open(sys.argv[1], readonly=True, max_dbs=16, lock=True, subdir=True)
    entries = env.open_db(b"entries", create=False)
    meta = env.open_db(b"meta", create=False)
    ckpts = env.open_db(b"checkpoints", create=False)
    with env.begin() as txn:
        if txn.get(b"format", db=meta) != b"ecluse-audit-v1":
            print("BAD seq=0: not an ecluse-audit-v1 log")
            return 1
        hv = txn.get(b"head", db=meta) or bytes(40)
        count, head = struct.unpack(">Q", hv[:8])[0], hv[8:]
        try:
            verify_entries(txn, entries, count, head)
            n = verify_checkpoints(txn, entries, ckpts, count)
        except Bad as b:
            print("BAD seq=%d: %s" % (b.seq, b.why))
            return 1
    print("OK entries=%d checkpoints=%d" % (count, n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
