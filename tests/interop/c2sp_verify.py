#!/usr/bin/python3
"""An independent verifier of C2SP signed notes (c2sp.org/signed-note),
checkpoints (c2sp.org/tlog-checkpoint) and cosignatures
(c2sp.org/tlog-cosignature, cosignature/v1), written from those specs and
docs/audit-format.md; it uses hashlib and python3-nacl only, and no ecluse
code.

    c2sp_verify.py test NOTE_SIGN DOC
    c2sp_verify.py note NOTE_FILE SITE_VKEY [WITNESS_VKEY...]

runs the test: notes made by ecluse (NOTE_SIGN, tests/interop/note_sign.c,
which signs through the site's signer) verify, with the log's key and with
the witness's; every one-byte change of them is refused; and the worked
example of DOC (docs/audit-format.md) verifies. The second form checks one
note (a checkpoint from a running gateway): signed by the site's verifier key,
cosigned by each witness's; prints "OK <origin> size=N, ..." or "BAD: why".
"""

import base64
import binascii
import hashlib
import re
import subprocess
import sys

import nacl.exceptions
import nacl.signing

EM_DASH = "\u2014"
MAX_SIGNATURES = 64


class VerifyError(Exception):
    pass


def b64decode_strict(s):
    """Standard, padded base64; anything else is an error."""
    if not re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", s) or len(s) % 4 != 0 or not s:
        raise VerifyError("not padded base64: %r" % s[:40])
    data = base64.b64decode(s, validate=True)
    if base64.b64encode(data).decode() != s:
        raise VerifyError("non-canonical base64: %r" % s[:40])
    return data


def key_id(name, sig_type, public_key):
    return hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + public_key).digest()[:4]


def parse_vkey(vkey):
    """<name>+<hex key id>+<base64(type || key)> -> (name, type, key)."""
    name, _, rest = vkey.partition("+")
    hex_id, _, b64 = rest.partition("+")
    if not name or len(hex_id) != 8 or not b64:
        raise VerifyError("malformed verifier key %r" % vkey)
    blob = b64decode_strict(b64)
    if len(blob) != 33 or blob[0] not in (0x01, 0x04):
        raise VerifyError("verifier key %r: not a type 0x01/0x04 Ed25519 key" % vkey)
    if key_id(name, blob[0], blob[1:]) != bytes.fromhex(hex_id):
        raise VerifyError("verifier key %r: wrong key ID" % vkey)
    return name, blob[0], blob[1:]


def split_note(note):
    """(text, [(name, key id, signature bytes)]) of a signed note (bytes)."""
    try:
        s = note.decode("utf-8", errors="strict")
    except UnicodeDecodeError as e:
        raise VerifyError("not UTF-8: %s" % e)
    if any(ord(c) < 0x20 and c != "\n" for c in s):
        raise VerifyError("a control character")
    if not s.endswith("\n"):
        raise VerifyError("no final newline")
    cut = s.rfind("\n\n")
    if cut < 0:
        raise VerifyError("no blank line before the signatures")
    text, sig_block = s[: cut + 1], s[cut + 2 :]
    lines = sig_block.split("\n")[:-1]
    if not lines:
        raise VerifyError("no signature lines")
    if len(lines) > MAX_SIGNATURES:
        raise VerifyError("too many signature lines")
    sigs = []
    for line in lines:
        if not line.startswith(EM_DASH + " "):
            raise VerifyError("signature line without the em dash: %r" % line[:40])
        name, sep, b64 = line[2:].partition(" ")
        if not sep or not name or "+" in name or any(c.isspace() for c in name):
            raise VerifyError("bad key name in %r" % line[:40])
        blob = b64decode_strict(b64)
        if len(blob) < 5:
            raise VerifyError("signature too short")
        sigs.append((name, blob[:4], blob[4:]))
    return text, sigs


def parse_checkpoint(text):
    """(origin, size, root) of a checkpoint text; extension lines ignored."""
    if not text.endswith("\n"):
        raise VerifyError("checkpoint without a final newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3 or any(not line for line in lines):
        raise VerifyError("a checkpoint has three or more non-empty lines")
    origin, size, root = lines[0], lines[1], lines[2]
    if not re.fullmatch(r"0|[1-9][0-9]*", size) or int(size) >= 2**64:
        raise VerifyError("bad tree size %r" % size)
    root_bytes = b64decode_strict(root)
    if len(root_bytes) != 32:
        raise VerifyError("root of %d bytes" % len(root_bytes))
    return origin, int(size), root_bytes


def verify_note(note, vkey):
    """The text of `note`, if the Ed25519 (type 0x01) key `vkey` signed it."""
    name, sig_type, public_key = parse_vkey(vkey)
    if sig_type != 0x01:
        raise VerifyError("not an Ed25519 note key")
    text, sigs = split_note(note)
    want = key_id(name, 0x01, public_key)
    found = 0
    for sig_name, sig_id, sig in sigs:
        if sig_name != name or sig_id != want:
            continue  # another key's signature: ignored
        if len(sig) != 64:
            raise VerifyError("signature of %d bytes" % len(sig))
        try:
            nacl.signing.VerifyKey(public_key).verify(text.encode(), sig)
        except nacl.exceptions.BadSignatureError:
            raise VerifyError("bad signature by %s" % name)
        found += 1
    if not found:
        raise VerifyError("no signature by %s" % name)
    return text


def verify_cosignature(note, vkey):
    """The time of the cosignature/v1 of witness `vkey` (type 0x04) on the
    checkpoint `note`."""
    name, sig_type, public_key = parse_vkey(vkey)
    if sig_type != 0x04:
        raise VerifyError("not a cosignature key")
    text, sigs = split_note(note)
    parse_checkpoint(text)
    want = key_id(name, 0x04, public_key)
    times = []
    for sig_name, sig_id, sig in sigs:
        if sig_name != name or sig_id != want:
            continue
        if len(sig) != 72:
            raise VerifyError("cosignature of %d bytes" % len(sig))
        t = int.from_bytes(sig[:8], "big")
        if t >= 2**63:
            raise VerifyError("cosignature time over 2^63-1")
        message = ("cosignature/v1\ntime %d\n" % t).encode() + text.encode()
        try:
            nacl.signing.VerifyKey(public_key).verify(message, sig[8:])
        except nacl.exceptions.BadSignatureError:
            raise VerifyError("bad cosignature by %s" % name)
        times.append(t)
    if not times:
        raise VerifyError("no cosignature by %s" % name)
    return times[0]


def check(cond, what):
    if not cond:
        raise SystemExit("FAIL: " + what)


def refused(fn, *args):
    try:
        fn(*args)
    except VerifyError:
        return True
    return False


def rfc6962_root(entries):
    def mth(d):
        if len(d) == 1:
            return hashlib.sha256(b"\x00" + d[0]).digest()
        k = 1
        while k * 2 < len(d):
            k *= 2
        return hashlib.sha256(b"\x01" + mth(d[:k]) + mth(d[k:])).digest()

    return mth(entries)


def make(note_sign, site, seed, size, root, witness, wseed, time):
    out = subprocess.run(
        [note_sign, site, seed.hex(), str(size), root.hex(), witness, wseed.hex(), str(time)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    fields = dict(line.split(" ", 1) for line in out.splitlines())
    return fields["log-vkey"], fields["witness-vkey"], base64.b64decode(fields["note"])


def test_made_notes(note_sign):
    cases = [
        ("fi", 0, hashlib.sha256(b"").digest(), "lu", 0),
        ("lu", 3, rfc6962_root([b"a", b"b", b"c"]), "fi", 1700000000),
        ("de-bw", 2**64 - 1, bytes(range(32)), "ee", 2**63 - 1),
    ]
    checked = 0
    for i, (site, size, root, witness, time) in enumerate(cases):
        seed = hashlib.sha256(b"site %d" % i).digest()
        wseed = hashlib.sha256(b"witness %d" % i).digest()
        vkey, wvkey, note = make(note_sign, site, seed, size, root, witness, wseed, time)
        check(vkey.startswith("ecluse/audit/%s+" % site), "log key name " + vkey)
        check(wvkey.startswith("ecluse/witness/%s+" % witness), "witness key name " + wvkey)
        text = verify_note(note, vkey)
        check(parse_checkpoint(text) == ("ecluse/audit/" + site, size, root), "checkpoint fields")
        check(text == "ecluse/audit/%s\n%d\n%s\n" % (site, size, base64.b64encode(root).decode()),
              "checkpoint bytes")
        check(verify_cosignature(note, wvkey) == time, "cosignature time")
        # the keys are not interchangeable
        check(refused(verify_note, note, wvkey), "a witness key as a log key")
        # every one-byte change is refused by both (the key name lines too)
        for pos in range(len(note)):
            for delta in (1, 0x40):
                bad = bytearray(note)
                bad[pos] ^= delta
                bad = bytes(bad)
                check(refused(verify_note, bad, vkey) or refused(verify_cosignature, bad, wvkey),
                      "a change at byte %d of note %d is not refused" % (pos, i))
                checked += 1
    return checked


def test_doc_example(doc_path):
    doc = open(doc_path, encoding="utf-8").read()
    section = doc[doc.index("## Checkpoints, signed notes and cosignatures (C2SP)") :]
    vkey = re.search(r"^(ecluse/audit/fi\+[0-9a-f]{8}\+\S+)$", section, re.M).group(1)
    wvkey = re.search(r"^(ecluse/witness/lu\+[0-9a-f]{8}\+\S+)$", section, re.M).group(1)
    note = re.search(r"The cosigned note:\n\n```\n(.*?)```\n", section, re.S).group(1).encode()
    text = verify_note(note, vkey)
    check(parse_checkpoint(text)[1] == 3, "the example's tree size")
    check(parse_checkpoint(text)[2] == rfc6962_root([b"a", b"b", b"c"]), "the example's root")
    check(verify_cosignature(note, wvkey) == 1700000000, "the example's cosignature time")


def verify_file(path, keys):
    """A note from a running gateway: signed by the first key (a type 0x01
    verifier key), cosigned by each of the others (type 0x04)."""
    with open(path, "rb") as f:
        note = f.read()
    try:
        text = verify_note(note, keys[0])
        origin, size, _ = parse_checkpoint(text)
        for vkey in keys[1:]:
            verify_cosignature(note, vkey)
    except (VerifyError, ValueError) as e:
        print("BAD: %s" % e)
        return 1
    print("OK %s size=%d, %d cosignature(s) verified" % (origin, size, len(keys) - 1))
    return 0


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "note":
        sys.exit(verify_file(sys.argv[2], sys.argv[3:]))
    if len(sys.argv) != 4 or sys.argv[1] != "test":
        raise SystemExit(__doc__)
    checked = test_made_notes(sys.argv[2])
    test_doc_example(sys.argv[3])
    print("c2sp_verify: 3 notes verified, %d one-byte changes refused, the document's "
          "example verified" % checked)


if __name__ == "__main__":
    main()
