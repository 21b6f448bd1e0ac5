#!/usr/bin/python3
"""Verify an ecluse audit log independently of audit/, from docs/audit-format.md.

usage: verify_chain.py LOG_DIR [--site-key HEX]
Checks the chain, the indexes (both ways), the Merkle tree (every stored node against a recomputation,
and RFC 9162 inclusion and consistency proofs it builds itself, checked
against roots read from the stored nodes) and the checkpoints (C2SP signed
notes of the tree; their signature is checked with the site's Ed25519 public
key given in hex, which a log with checkpoints needs).
Prints "OK entries=N checkpoints=M" and exits 0, or "BAD seq=K: why" and exits 1.
Needs python3-lmdb and python3-nacl (Debian packages).
"""
import base64
import hashlib
import struct
import sys

import lmdb
import nacl.exceptions
import nacl.signing

ENTRY_DOMAIN = b"ecluse-audit-v1\x00"
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


INDEXES = [(b"by_kind", 0, "kind"), (b"by_actor", 1, "actor"), (b"by_dataset", 2, "dataset"),
           (b"by_purpose", 3, "purpose"), (b"by_decision", 4, "decision")]


def short_fields(v):
    """The ten short fields of a well-formed record, as bytes."""
    out, p = [], 49
    for _ in range(10):
        n = int.from_bytes(v[p:p + 2], "big")
        out.append(bytes(v[p + 2:p + 2 + n]))
        p += 2 + n
    return out


def verify_indexes(dbs, txn, records):
    """Every index row matches its entry, every entry is in its indexes."""
    bad = []
    for name, field, label in INDEXES:
        db = dbs[name]
        want = {(r[1][field], seq) for seq, r in records.items() if r[1][field]}
        have = set()
        for k, v in txn.cursor(db=db):
            seq = struct.unpack(">Q", v)[0] if len(v) == 8 else 0
            have.add((bytes(k), seq))
        for k, seq in have - want:
            if seq in records:
                why = "%s row '%s' points to seq %d whose %s is '%s'" % (
                    name.decode(), k.decode(errors="replace"), seq, label,
                    records[seq][1][field].decode(errors="replace"))
            else:
                why = "%s row '%s' points to seq %d, which is not an entry of the log" % (
                    name.decode(), k.decode(errors="replace"), seq)
            bad.append(Bad(max(seq, 1), why))
        for k, seq in want - have:
            bad.append(Bad(seq, "missing from %s" % name.decode()))
    db = dbs[b"by_time"]
    want = {(struct.pack(">q", r[0]), seq) for seq, r in records.items()}
    have = {(bytes(k), struct.unpack(">Q", v)[0] if len(v) == 8 else 0)
            for k, v in txn.cursor(db=db)}
    for k, seq in have - want:
        bad.append(Bad(max(seq, 1), "by_time row points to seq %d, which has another time" % seq))
    for k, seq in want - have:
        bad.append(Bad(seq, "missing from by_time"))
    if bad:
        raise min(bad, key=lambda b: b.seq)


def verify_entries(txn, entries, count, head, leaves, records):
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
        leaves.append(hashlib.sha256(b"\x00" + bytes(v)).digest())
        records[seq] = (time_ns, short_fields(v))
        expected += 1
    if expected - 1 != count:
        raise Bad(expected, "entry missing (head says %d)" % count)
    if prev_hash != head:
        raise Bad(count, "last hash differs from meta/head")


# ---- the Merkle tree (RFC 6962 / 9162, docs/audit-format.md "The tree") ----

def node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def pos(level, index):
    """Post-order position: N(index * 2^level) + 2^(level+1) - 2."""
    m = index << level
    return 2 * m - bin(m).count("1") + (2 << level) - 2


def mth(leaves, lo, hi):
    n = hi - lo
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[lo]
    k = 1
    while k * 2 < n:
        k *= 2
    return node(mth(leaves, lo, lo + k), mth(leaves, lo + k, hi))


def verify_tree(txn, tree, leaves):
    """Every stored node equals the recomputed one; no node is missing or extra."""
    want = {}
    peaks = []  # (level, hash), as in a binary counter
    for i, leaf in enumerate(leaves):
        level, h = 0, leaf
        want[pos(0, i)] = (0, i, h)
        while peaks and peaks[-1][0] == level:
            h = node(peaks.pop()[1], h)
            level += 1
            j = (i + 1 >> level) - 1
            want[pos(level, j)] = (level, j, h)
        peaks.append((level, h))
    seen = set()
    bad = None
    for key, v in txn.cursor(db=tree):
        p = struct.unpack(">Q", key)[0] if len(key) == 8 else None
        if p not in want:
            first = len(leaves) + 1
            why = "tree holds a node beyond the tree of %d entries" % len(leaves)
        elif bytes(v) != want[p][2]:
            level, j, _ = want[p]
            first = (j << level) + 1
            why = "tree node at level %d index %d differs" % (level, j)
        else:
            seen.add(p)
            continue
        if bad is None or first < bad.seq:
            bad = Bad(first, why)
    for p, (level, j, _) in want.items():
        if p not in seen and (bad is None or (j << level) + 1 < bad.seq):
            if txn.get(struct.pack(">Q", p), db=tree) is None:
                bad = Bad((j << level) + 1, "tree node at level %d index %d is missing" % (level, j))
    if bad is not None:
        raise bad


def stored_root(txn, tree, size):
    """The root of the first `size` leaves from the stored perfect subtrees."""
    if size == 0:
        return hashlib.sha256(b"").digest()
    peaks, start = [], 0
    for level in range(63, -1, -1):
        if size >> level & 1:
            peaks.append(bytes(txn.get(struct.pack(">Q", pos(level, start >> level)), db=tree)))
            start += 1 << level
    h = peaks[-1]
    for p in reversed(peaks[:-1]):
        h = node(p, h)
    return h


def split(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def inclusion_path(leaves, m, lo, hi):
    if hi - lo <= 1:
        return []
    k = split(hi - lo)
    if m < k:
        return inclusion_path(leaves, m, lo, lo + k) + [mth(leaves, lo + k, hi)]
    return inclusion_path(leaves, m - k, lo + k, hi) + [mth(leaves, lo, lo + k)]


def subproof(leaves, m, lo, hi, b):
    n = hi - lo
    if m == n:
        return [] if b else [mth(leaves, lo, hi)]
    k = split(n)
    if m <= k:
        return subproof(leaves, m, lo, lo + k, b) + [mth(leaves, lo + k, hi)]
    return subproof(leaves, m - k, lo + k, hi, False) + [mth(leaves, lo, lo + k)]


def check_inclusion(index, size, leaf, proof, root):
    """RFC 9162 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def check_consistency(first, second, first_hash, second_hash, proof):
    """RFC 9162 2.1.4.2, for 0 < first < second."""
    if not proof:
        return False
    if first & (first - 1) == 0:
        proof = [first_hash] + proof
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node(c, fr), node(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == first_hash and sr == second_hash


def verify_proofs(txn, tree, leaves):
    """Proofs built here from the leaves hold against the stored roots."""
    n = len(leaves)
    if n == 0:
        return
    root = stored_root(txn, tree, n)
    for seq in sorted({1, (n + 1) // 2, n}):
        if not check_inclusion(seq - 1, n, leaves[seq - 1],
                               inclusion_path(leaves, seq - 1, 0, n), root):
            raise Bad(seq, "inclusion proof of seq %d in %d does not verify" % (seq, n))
    for old in sorted({1, (n + 1) // 2, n - 1}):
        if 0 < old < n and not check_consistency(old, n, stored_root(txn, tree, old), root,
                                                 subproof(leaves, old, 0, n, True)):
            raise Bad(old, "consistency proof from %d to %d does not verify" % (old, n))


def verify_checkpoints(txn, ckpts, leaves, count, site_key):
    """Each stored checkpoint: a C2SP signed note (c2sp.org/signed-note) whose
    text is a tlog-checkpoint of the tree of its size, signed by site_key
    under the key name that is its origin line."""
    n = 0
    for key, v in txn.cursor(db=ckpts):
        kc = struct.unpack(">Q", key)[0]
        try:
            note = bytes(v).decode("utf-8")
        except UnicodeDecodeError:
            raise Bad(max(kc, 1), "checkpoint %d is not UTF-8" % kc)
        text, sep, sigs = note.partition("\n\n")
        if not sep:
            raise Bad(max(kc, 1), "checkpoint %d: no blank line" % kc)
        text += "\n"
        lines = text.split("\n")
        if len(lines) < 4 or not lines[0].startswith("ecluse/audit/"):
            raise Bad(max(kc, 1), "checkpoint %d: not a checkpoint text" % kc)
        origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2], validate=True)
        if size != kc:
            raise Bad(max(kc, 1), "checkpoint stored under another size")
        if size > count:
            raise Bad(count + 1, "checkpoint %d beyond the log" % kc)
        if mth(leaves, 0, size) != root:
            raise Bad(max(kc, 1), "checkpoint %d: the tree has another root" % kc)
        if site_key is None:
            raise Bad(max(kc, 1), "checkpoint %d: no --site-key to check it with" % kc)
        key_id = hashlib.sha256(origin.encode() + b"\n\x01" + site_key).digest()[:4]
        found = False
        for line in sigs.split("\n"):
            if not line:
                continue
            if not line.startswith("\u2014 "):
                raise Bad(max(kc, 1), "checkpoint %d: a signature line without its dash" % kc)
            name, _, blob = line[2:].partition(" ")
            raw = base64.b64decode(blob, validate=True)
            if name != origin or raw[:4] != key_id:
                continue
            try:
                nacl.signing.VerifyKey(site_key).verify(text.encode(), raw[4:])
            except nacl.exceptions.BadSignatureError:
                raise Bad(max(kc, 1), "checkpoint %d: bad signature" % kc)
            found = True
        if not found:
            raise Bad(max(kc, 1), "checkpoint %d: not signed by the site key" % kc)
        n += 1
    return n


def main():
    args = sys.argv[1:]
    site_key = None
    if len(args) == 3 and args[1] == "--site-key":
        site_key = bytes.fromhex(args[2])
        args = args[:1]
    if len(args) != 1:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    env = lmdb.open(args[0], readonly=True, max_dbs=16, lock=True, subdir=True)
    entries = env.open_db(b"entries", create=False)
    meta = env.open_db(b"meta", create=False)
    ckpts = env.open_db(b"checkpoints", create=False)
    tree = env.open_db(b"tree", create=False)
    dbs = {name: env.open_db(name, create=False, dupsort=True)
           for name in [i[0] for i in INDEXES] + [b"by_time"]}
    with env.begin() as txn:
        if txn.get(b"format", db=meta) != b"ecluse-audit-v2":
            print("BAD seq=0: not an ecluse-audit-v2 log")
            return 1
        hv = txn.get(b"head", db=meta) or bytes(40)
        count, head = struct.unpack(">Q", hv[:8])[0], hv[8:]
        leaves, records = [], {}
        try:
            verify_entries(txn, entries, count, head, leaves, records)
            verify_indexes(dbs, txn, records)
            verify_tree(txn, tree, leaves)
            verify_proofs(txn, tree, leaves)
            n = verify_checkpoints(txn, ckpts, leaves, count, site_key)
        except Bad as b:
            print("BAD seq=%d: %s" % (b.seq, b.why))
            return 1
    print("OK entries=%d checkpoints=%d" % (count, n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
