#!/usr/bin/python3
"""Verify an ecluse erasure notice independently of ecluse, from docs/erasure-notices.md.

usage: verify_notice.py HOLDING_KEY_HEX HOME_SITE < notices.jsonl
Each input line is a JSON object of `ecluse notices --json`: its
"signed_body" and "signature" (base64) are the SignedErasureNotice as
received. For each line: check the Ed25519 signature over
"ecluse-erasure-notice-v1" || 0x00 || body with the holding site's key,
then decode the body with the protobuf decoder below (written from the
page, not generated), run the checks the page lists that need no state,
and compare what it says with the JSON fields the CLI printed.
Prints "OK <notice_id> rows=<b:e,...> reads=<n>" per notice and exits 0,
or "BAD <why>" and exits 1. Needs python3-nacl.
"""
import base64
import json
import sys

import nacl.exceptions
import nacl.signing

CONTEXT = b"ecluse-erasure-notice-v1\x00"


class Bad(Exception):
    pass


def varint(b, p):
    v = 0
    shift = 0
    while True:
        if p >= len(b):
            raise Bad("varint runs past the end")
        c = b[p]
        p += 1
        v |= (c & 0x7F) << shift
        if not c & 0x80:
            return v, p
        shift += 7
        if shift > 63:
            raise Bad("varint too long")


def fields(b):
    """(number, wire type, value) for each field of a message, in order."""
    p = 0
    out = []
    while p < len(b):
        key, p = varint(b, p)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, p = varint(b, p)
        elif wt == 2:
            n, p = varint(b, p)
            if p + n > len(b):
                raise Bad("field %d runs past the end" % num)
            v = b[p:p + n]
            p += n
        elif wt == 1:
            v = b[p:p + 8]
            p += 8
        elif wt == 5:
            v = b[p:p + 4]
            p += 4
        else:
            raise Bad("field %d has wire type %d" % (num, wt))
        out.append((num, wt, v))
    return out


def row_range(b):
    r = {1: 0, 2: 0}
    for num, wt, v in fields(b):
        if num in r:
            if wt != 0:
                raise Bad("RowRange field %d is not a varint" % num)
            r[num] = v
    if r[2] <= r[1]:
        raise Bad("row range %d:%d is empty" % (r[1], r[2]))
    return [r[1], r[2]]


def erased_read(b):
    r = {"read_id": "", "reader": "", "rows": []}
    for num, wt, v in fields(b):
        if num == 1:
            r["read_id"] = v.decode()
        elif num == 2:
            r["reader"] = v.decode()
        elif num == 3:
            r["rows"].append(row_range(v))
    return r


def notice_body(b):
    n = {"notice_id": "", "holding_site": "", "home_site": "", "dataset": "",
         "dataset_version": 0, "rows": [], "reads": [], "obligation": "", "issued_unix": 0,
         "signing_key": b""}
    strings = {1: "notice_id", 2: "holding_site", 3: "home_site", 4: "dataset", 8: "obligation"}
    for num, wt, v in fields(b):
        if num in strings:
            if wt != 2:
                raise Bad("field %d is not length-delimited" % num)
            n[strings[num]] = v.decode("utf-8")
        elif num == 5:
            n["dataset_version"] = v
        elif num == 6:
            n["rows"].append(row_range(v))
        elif num == 7:
            n["reads"].append(erased_read(v))
        elif num == 9:
            n["issued_unix"] = v - (1 << 64) if v >= 1 << 63 else v
        elif num == 10:
            n["signing_key"] = bytes(v)
    return n


def check(line, key, home):
    doc = json.loads(line)
    body = base64.b64decode(doc["signed_body"])
    sig = base64.b64decode(doc["signature"])
    try:
        nacl.signing.VerifyKey(key).verify(CONTEXT + body, sig)
    except nacl.exceptions.BadSignatureError:
        raise Bad("signature does not verify with the holding site's key")
    n = notice_body(body)
    if n["signing_key"] != key:
        raise Bad("signing_key is not the key that verified")
    if n["home_site"] != home:
        raise Bad("notice is for %r, not %r" % (n["home_site"], home))
    if not n["dataset"].startswith(n["holding_site"] + "/"):
        raise Bad("dataset %r is not of %r" % (n["dataset"], n["holding_site"]))
    if len(n["notice_id"]) != 32 or any(c not in "0123456789abcdef" for c in n["notice_id"]):
        raise Bad("notice id %r is not 32 hex digits" % n["notice_id"])
    if not n["rows"] or not n["reads"]:
        raise Bad("no rows or no reads")
    for r in n["reads"]:
        if not r["reader"].startswith("spiffe://%s/" % home):
            raise Bad("reader %r is not of %r" % (r["reader"], home))
    for k in ("notice_id", "holding_site", "home_site", "dataset", "dataset_version", "rows",
              "obligation"):
        if n[k] != doc[k]:
            raise Bad("%s: the body says %r, the CLI %r" % (k, n[k], doc[k]))
    if n["reads"] != doc["reads"]:
        raise Bad("reads: the body says %r, the CLI %r" % (n["reads"], doc["reads"]))
    return "OK %s rows=%s reads=%d" % (n["notice_id"],
                                       ",".join("%d:%d" % (b, e) for b, e in n["rows"]),
                                       len(n["reads"]))


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    key = bytes.fromhex(sys.argv[1])
    lines = [l for l in sys.stdin.read().splitlines() if l.strip()]
    if not lines:
        print("BAD no notice given")
        return 1
    for line in lines:
        try:
            print(check(line, key, sys.argv[2]))
        except (Bad, ValueError, KeyError, UnicodeDecodeError) as e:
            print("BAD %s" % e)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
