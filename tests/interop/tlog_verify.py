#!/usr/bin/python3
"""tlog_verify.py - check an ecluse audit proof with nothing but the public
specs: RFC 9162 (Merkle tree hashing, inclusion and consistency proofs,
sections 2.1.1, 2.1.3.2 and 2.1.4.2) and C2SP tlog-checkpoint / signed-note.
It shares no code with ecluse; it reads the JSON that `ecluse audit proof`
prints (docs/audit-format.md).

  tlog_verify.py PROOF.json [--site-key PUB] [--old-root B64]

PUB is the site's public key file (keys/site.pub: a header line, then the
base64 of the 32-byte Ed25519 key). With it, the proof's checkpoint must be
signed by that key under the name "ecluse/audit/<site>" taken from its
origin line, and carry the proof's size and root. --old-root is the root of
the smaller tree of a consistency proof.

Prints "OK <kind> size=N" and exits 0, or "BAD: why" and exits 1.
"""
import base64
import hashlib
import json
import sys

import nacl.exceptions
import nacl.signing


class Bad(Exception):
    pass


def sha256(data):
    return hashlib.sha256(data).digest()


def leaf_hash(data):
    return sha256(b"\x00" + data)


def node_hash(left, right):
    return sha256(b"\x01" + left + right)


def verify_inclusion(index, size, leaf, path, root):
    """RFC 9162, 2.1.3.2."""
    if index >= size:
        raise Bad("leaf index %d is not below the tree size %d" % (index, size))
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise Bad("the inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise Bad("the inclusion proof is too short")
    if r != root:
        raise Bad("the inclusion proof leads to another root")


def verify_consistency(first, second, first_root, second_root, proof):
    """RFC 9162, 2.1.4.2."""
    if first > second:
        raise Bad("old size %d is larger than size %d" % (first, second))
    if first == second:
        if proof:
            raise Bad("a consistency proof between equal sizes must be empty")
        if first_root != second_root:
            raise Bad("equal sizes with different roots")
        return
    if first == 0:
        raise Bad("a consistency proof from the empty tree is not defined")
    if first & (first - 1) == 0:
        proof = [first_root] + proof
    if not proof:
        raise Bad("empty consistency proof")
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            raise Bad("the consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise Bad("the consistency proof is too short")
    if fr != first_root:
        raise Bad("the consistency proof does not lead to the old root")
    if sr != second_root:
        raise Bad("the consistency proof does not lead to the new root")


def read_public_key(path):
    with open(path) as f:
        lines = f.read().split("\n")
    key = base64.b64decode(lines[1], validate=True)
    if len(key) != 32:
        raise Bad("%s: not a 32-byte key" % path)
    return key


def check_checkpoint(note, size, root, public_key):
    """C2SP signed-note with a tlog-checkpoint text, signed by public_key."""
    text, sep, sigs = note.partition("\n\n")
    if not sep:
        raise Bad("the checkpoint note has no blank line")
    text += "\n"
    lines = text.split("\n")
    origin, tree_size, tree_root = lines[0], lines[1], lines[2]
    if tree_size != str(size) or base64.b64decode(tree_root, validate=True) != root:
        raise Bad("the checkpoint is of another size or root than the proof")
    name = origin
    key_id = sha256(name.encode() + b"\n" + b"\x01" + public_key)[:4]
    verify_key = nacl.signing.VerifyKey(public_key)
    found = False
    for line in sigs.split("\n"):
        if not line:
            continue
        if not line.startswith("\u2014 "):
            raise Bad("a signature line does not start with an em dash")
        line_name, _, blob = line[2:].partition(" ")
        raw = base64.b64decode(blob, validate=True)
        if line_name != name or raw[:4] != key_id:
            continue  # another key's signature: ignored, as the spec says
        try:
            verify_key.verify(text.encode(), raw[4:])
        except nacl.exceptions.BadSignatureError:
            raise Bad("the site's signature on the checkpoint does not verify")
        found = True
    if not found:
        raise Bad("the checkpoint carries no signature of the site's key")


def main(argv):
    args = argv[1:]
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    site_key = old_root = None
    path = args[0]
    i = 1
    while i < len(args):
        if args[i] == "--site-key":
            site_key = read_public_key(args[i + 1])
        elif args[i] == "--old-root":
            old_root = base64.b64decode(args[i + 1], validate=True)
        else:
            raise Bad("unknown option %s" % args[i])
        i += 2
    with open(path) as f:
        p = json.load(f)
    size = p["size"]
    root = base64.b64decode(p["root"], validate=True)
    hashes = [base64.b64decode(h, validate=True) for h in p["hashes"]]
    if any(len(h) != 32 for h in hashes) or len(root) != 32:
        raise Bad("a hash is not 32 bytes")
    if p["kind"] == "inclusion":
        verify_inclusion(p["seq"] - 1, size, leaf_hash(base64.b64decode(p["leaf"])), hashes, root)
    elif p["kind"] == "consistency":
        if old_root is None:
            raise Bad("a consistency proof needs --old-root")
        verify_consistency(p["old_size"], size, old_root, root, hashes)
    else:
        raise Bad("unknown proof kind %r" % p["kind"])
    if site_key is not None:
        if "checkpoint" not in p:
            raise Bad("no checkpoint came with the proof")
        check_checkpoint(p["checkpoint"], size, root, site_key)
    print("OK %s size=%d" % (p["kind"], size))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (Bad, KeyError, ValueError, OSError) as e:
        print("BAD: %s" % e)
        sys.exit(1)
