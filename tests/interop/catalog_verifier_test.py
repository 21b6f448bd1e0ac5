"""An independent program verifies a real ecluse site's signed catalog.

run_interop_test.sh makes two real sites, FI and LU, peered both ways with
the ecluse CLI, and publishes three datasets at FI. This test then speaks to
FI's gateway as LU's gateway does (LU's gateway certificate and key, FI's
CA), and checks by docs/catalog-signing.md alone (ecluse_verify.py): the
peering bundle and its fingerprint against what `ecluse peer export`
printed, the catalog's signature, digest, order, site and expiry, the
refusal of altered or re-signed copies, and a key-rotation chain made by
`ecluse key rotate`. The document's worked example is verified too.
"""
import os
import re
import subprocess
import sys
import time
import unittest

import grpc
import nacl.signing

sys.path.insert(0, os.environ["ECLUSE_PY_STUBS"])
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ecluse_pb2 as pb  # noqa: E402
import ecluse_pb2_grpc as pbg  # noqa: E402
import ecluse_verify as v  # noqa: E402
from ecluse_verify import VerifyError  # noqa: E402

WORK = os.environ["ECLUSE_WORK"]
SITE = os.environ["ECLUSE_TARGET_SITE"]
ENDPOINT = os.environ["ECLUSE_TARGET_ENDPOINT"]
ECLUSE = os.environ["ECLUSE_BIN"]
FI_ADMIN = os.path.join(WORK, SITE, "identities", "admin-adm")


def read(*path):
    with open(os.path.join(WORK, *path), "rb") as f:
        return f.read()


def channel_as(cert, key):
    creds = grpc.ssl_channel_credentials(read(SITE, "ca", "ca.crt"), key, cert)
    return grpc.secure_channel(ENDPOINT, creds)


def lu_gateway():
    """FI's gateway, as LU's gateway connects to it."""
    return channel_as(read("lu", "gateway", "gateway.crt"), read("lu", "gateway", "gateway.key"))


def fetch_bundle():
    with lu_gateway() as ch:
        return pbg.FederationStub(ch).GetPeerInfo(pb.PeerInfoRequest(), timeout=10)


def fetch_parts(page_entries=0):
    with lu_gateway() as ch:
        return list(pbg.FederationStub(ch).GetCatalog(
            pb.GetCatalogRequest(page_entries=page_entries), timeout=10))


def fetch_rotations(since):
    with lu_gateway() as ch:
        return pbg.FederationStub(ch).GetKeyRotations(
            pb.KeyRotationsRequest(since_key=since), timeout=10).rotations


def run_ecluse(*args):
    done = subprocess.run([ECLUSE, *args], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise AssertionError("ecluse %s failed (%d): %s%s" %
                             (" ".join(args), done.returncode, done.stdout, done.stderr))
    return done.stdout + done.stderr


def exported_fingerprint(site):
    text = read(site + ".export.txt").decode()
    m = re.search(r"^Fingerprint: ([0-9a-f-]+)$", text, re.M)
    assert m, text
    return m.group(1)


def flip(data, i):
    b = bytearray(data)
    b[i] ^= 0x01
    return bytes(b)


def sign(key, context, body):
    return key.sign(v.signed_message(context, body)).signature


def pinned_key():
    """The key LU pinned: the one in the bundle file FI's admin exported."""
    body, fp = v.verify_bundle(v.bundle_from_text(read(SITE + ".peer").decode()))
    assert fp == exported_fingerprint(SITE)
    return body.signing_key


class VerifierTestCase(unittest.TestCase):
    def assertRefused(self, category, fragment, fn, *args, **kwargs):
        with self.assertRaises(VerifyError) as caught:
            fn(*args, **kwargs)
        self.assertEqual(caught.exception.category, category, caught.exception.message)
        self.assertIn(fragment, caught.exception.message)
        return caught.exception


class A_PeeringBundle(VerifierTestCase):
    def test_get_peer_info_verifies_and_fingerprint_is_what_peer_export_printed(self):
        bundle = fetch_bundle()
        body, fp = v.verify_bundle(bundle.SerializeToString())
        self.assertEqual(body.site, SITE)
        self.assertEqual(body.country, "FI")
        self.assertEqual(body.endpoint, ENDPOINT)
        self.assertEqual(fp, exported_fingerprint(SITE))
        self.assertRegex(fp, r"^[0-9a-f]{4}(-[0-9a-f]{4}){7}$")
        # The exported text bundle is another signature over another
        # issued_unix, with the same key and fingerprint.
        file_body, file_fp = v.verify_bundle(v.bundle_from_text(read(SITE + ".peer").decode()))
        self.assertEqual(file_fp, fp)
        self.assertEqual(file_body.signing_key, body.signing_key)
        self.assertEqual(body.ca_pem.encode(), read(SITE, "ca", "ca.crt"))
        # LU's bundle, added at FI: LU's admin printed its fingerprint too.
        _, lu_fp = v.verify_bundle(v.bundle_from_text(read("lu.peer").decode()))
        self.assertEqual(lu_fp, exported_fingerprint("lu"))

    def test_an_altered_bundle_is_refused(self):
        data = fetch_bundle()
        pem_at = data.body.index(b"MII") + 10  # inside the CA's base64
        altered = pb.PeerBundle(body=flip(data.body, pem_at), signature=data.signature)
        self.assertRefused("crypto", "signature does not verify", v.verify_bundle,
                           altered.SerializeToString())
        bad_sig = pb.PeerBundle(body=data.body, signature=flip(data.signature, 5))
        self.assertRefused("crypto", "signature", v.verify_bundle, bad_sig.SerializeToString())
        self.assertRefused("limit", "over 65536", v.verify_bundle, b"\x0a" * 65537)
        self.assertRefused("input", "bundle does not decode", v.verify_bundle, b"\xff\xff")
        self.assertRefused("input", "first line", v.bundle_from_text, "ecluse-peer-bundle-v2\nAA\n")

    def test_a_bundle_resigned_with_another_key_verifies_but_its_fingerprint_differs(self):
        data = fetch_bundle()
        body = pb.PeerBundleBody()
        body.ParseFromString(data.body)
        mallory = nacl.signing.SigningKey.generate()
        body.signing_key = bytes(mallory.verify_key)
        raw = body.SerializeToString()
        forged = pb.PeerBundle(body=raw, signature=sign(mallory, v.PEER_CONTEXT, raw))
        _, fp = v.verify_bundle(forged.SerializeToString())
        self.assertNotEqual(fp, exported_fingerprint(SITE))

    def test_a_bundle_whose_certificate_is_not_a_ca_is_refused(self):
        data = fetch_bundle()
        body = pb.PeerBundleBody()
        body.ParseFromString(data.body)
        body.ca_pem = read(SITE, "gateway", "gateway.crt").decode()
        key = nacl.signing.SigningKey.generate()
        body.signing_key = bytes(key.verify_key)
        raw = body.SerializeToString()
        bad = pb.PeerBundle(body=raw, signature=sign(key, v.PEER_CONTEXT, raw))
        self.assertRefused("input", "not a CA", v.verify_bundle, bad.SerializeToString())


class B_Catalog(VerifierTestCase):
    @classmethod
    def setUpClass(cls):
        cls.key = pinned_key()
        cls.body, cls.sig, cls.entries = v.read_catalog_stream(fetch_parts())

    def verify(self, body=None, sig=None, entries=None, **kw):
        kw.setdefault("site", SITE)
        kw.setdefault("pinned_key", self.key)
        kw.setdefault("now", int(time.time()))
        return v.verify_catalog(self.body if body is None else body,
                                self.sig if sig is None else sig,
                                self.entries if entries is None else entries, **kw)

    def test_the_catalog_verifies_sorted_and_complete(self):
        h, entries = self.verify()
        self.assertEqual(h.site, SITE)
        self.assertEqual(h.country, "FI")
        self.assertEqual(h.version, 4)  # empty catalog 1, then three datasets
        self.assertEqual(h.entry_count, 3)
        self.assertEqual(h.signing_key, self.key)
        self.assertGreater(h.expires_unix, time.time())
        self.assertLessEqual(h.issued_unix, time.time() + 5)
        self.assertEqual([e.id for e in entries], ["fi/alpha-iris", "fi/mid-iris", "fi/zeta-iris"])
        self.assertEqual(entries[0].title, "Iris (alpha-iris)")
        self.assertEqual(entries[0].rows, 4)
        self.assertEqual([t.name for t in entries[0].tensors], ["features", "labels"])
        self.assertEqual(h.entries_digest, v.entries_digest(self.entries))

    def test_pages_carry_the_same_entries_in_the_same_order(self):
        # Fetched now (another test adds a dataset): one page, then one per entry.
        whole = fetch_parts()
        self.assertEqual([p.WhichOneof("part") for p in whole], ["header", "page"])
        parts = fetch_parts(page_entries=1)
        n = len(whole[1].page.entries)
        self.assertGreaterEqual(n, 3)
        self.assertEqual([p.WhichOneof("part") for p in parts], ["header"] + ["page"] * n)
        body, sig, entries = v.read_catalog_stream(parts)
        self.assertEqual(body, whole[0].header.body)
        self.assertEqual(entries, list(whole[1].page.entries))
        self.verify(body, sig, entries)

    def test_a_stream_out_of_order_is_refused(self):
        parts = fetch_parts(page_entries=1)
        self.assertRefused("input", "part 0 is a page", v.read_catalog_stream, parts[1:] + parts[:1])
        self.assertRefused("input", "part 2 is a header", v.read_catalog_stream,
                           parts[:2] + parts[:1] + parts[2:])
        self.assertRefused("input", "no signed header", v.read_catalog_stream, [])

    def test_every_single_byte_changed_in_the_header_is_refused(self):
        for i in range(len(self.body)):
            self.assertRefused("crypto", "not signed by its pinned key", self.verify,
                               body=flip(self.body, i))
        for i in range(len(self.sig)):
            self.assertRefused("crypto", "not signed by its pinned key", self.verify,
                               sig=flip(self.sig, i))
        self.assertRefused("crypto", "not signed", self.verify, sig=self.sig[:63])

    def test_every_single_byte_changed_in_an_entry_is_refused(self):
        checked = 0
        for n, entry in enumerate(self.entries):
            for i in range(len(entry)):
                altered = list(self.entries)
                altered[n] = flip(entry, i)
                self.assertRefused("crypto", "do not match the signed digest", self.verify,
                                   entries=altered)
                checked += 1
        self.assertGreater(checked, 300)

    def test_entries_dropped_added_or_reordered_are_refused(self):
        e = self.entries
        self.assertRefused("crypto", "promises 3 entries, 2 arrived", self.verify, entries=e[:2])
        self.assertRefused("crypto", "promises 3 entries, 4 arrived", self.verify,
                           entries=e + e[:1])
        self.assertRefused("crypto", "signed digest", self.verify, entries=[e[1], e[0], e[2]])
        # Same bytes, other framing: the length prefix keeps them apart.
        self.assertRefused("crypto", "signed digest", self.verify,
                           entries=[e[0] + e[1][:1], e[1][1:], e[2]])

    def test_a_header_resigned_with_another_key_is_refused(self):
        mallory = nacl.signing.SigningKey.generate()
        self.assertRefused("crypto", "not signed by its pinned key", self.verify,
                           sig=sign(mallory, v.CATALOG_CONTEXT, self.body))
        # A header naming mallory's key, signed by mallory: still not the pinned key.
        h = pb.CatalogHeader()
        h.ParseFromString(self.body)
        h.signing_key = bytes(mallory.verify_key)
        raw = h.SerializeToString()
        self.assertRefused("crypto", "not signed by its pinned key", self.verify, body=raw,
                           sig=sign(mallory, v.CATALOG_CONTEXT, raw))
        # Had mallory's key been pinned, the header's own key claim gives it away.
        self.assertRefused("crypto", "not the pinned key", self.verify,
                           sig=sign(mallory, v.CATALOG_CONTEXT, self.body),
                           pinned_key=bytes(mallory.verify_key))
        # A signature made for another kind of document (context) does not count.
        self.assertRefused("crypto", "not signed", self.verify,
                           sig=sign(mallory, v.PEER_CONTEXT, self.body),
                           pinned_key=bytes(mallory.verify_key))

    def test_another_site_expiry_rollback_and_equivocation_are_refused(self):
        h, _ = self.verify()
        self.assertRefused("input", "names site 'fi', not 'lu'", self.verify, site="lu")
        self.assertRefused("precondition", "expired", self.verify, now=h.expires_unix)
        self.verify(now=h.expires_unix - 1)
        self.assertRefused("precondition", "rollback", self.verify, held_version=h.version + 1)
        self.assertRefused("precondition", "two catalogs with one version", self.verify,
                           held_version=h.version, held_digest=bytes(32))
        self.verify(held_version=h.version, held_digest=h.entries_digest)
        self.verify(held_version=h.version - 1, held_digest=bytes(32))

    def test_the_order_and_site_checks_can_fail(self):
        """A catalog correctly signed and digested, but with entries that
        break the rules, signed by a key the verifier pins for this test."""
        key = nacl.signing.SigningKey.generate()
        h = pb.CatalogHeader()
        h.ParseFromString(self.body)

        def signed(entries):
            h.signing_key = bytes(key.verify_key)
            h.entry_count = len(entries)
            h.entries_digest = v.entries_digest(entries)
            raw = h.SerializeToString()
            return dict(body=raw, sig=sign(key, v.CATALOG_CONTEXT, raw), entries=entries,
                        pinned_key=bytes(key.verify_key))

        def entry(ident):
            d = pb.DatasetEntry()
            d.ParseFromString(self.entries[0])
            d.id = ident
            return d.SerializeToString()

        e = self.entries
        self.verify(**signed(e))  # the control: the rules hold
        self.verify(**signed([]))
        self.assertRefused("input", "entry 1 'fi/alpha-iris' after 'fi/mid-iris'", self.verify,
                           **signed([e[1], e[0], e[2]]))
        self.assertRefused("input", "not sorted by id without duplicates", self.verify,
                           **signed([e[0], e[0]]))
        self.assertRefused("input", "entry 1 'lu/x' is not a dataset of site 'fi'", self.verify,
                           **signed([e[0], entry("lu/x")]))
        self.assertRefused("input", "'fi/' is not a dataset", self.verify,
                           **signed([entry("fi/")]))
        self.assertRefused("input", "'fix/a' is not a dataset", self.verify,
                           **signed([entry("fix/a")]))
        self.assertRefused("input", "entry 0 does not decode", self.verify,
                           **signed([b"\xff\xff\xff"]))
        self.assertRefused("input", "over 511 bytes", self.verify,
                           **signed([entry("fi/" + "a" * 509)]))
        self.verify(**signed([entry("fi/" + "a" * 508)]))
        # Bytewise order: 'Z' (0x5a) before 'a' (0x61), a prefix before its extensions.
        self.verify(**signed([entry("fi/Z"), entry("fi/a"), entry("fi/a-b"), entry("fi/ab")]))

    def test_a_gateway_not_peered_and_a_person_cannot_fetch_it(self):
        with channel_as(read(SITE, "identities", "admin-adm", "cert.pem"),
                        read(SITE, "identities", "admin-adm", "key.pem")) as ch:
            with self.assertRaises(grpc.RpcError) as caught:
                list(pbg.FederationStub(ch).GetCatalog(pb.GetCatalogRequest(), timeout=10))
        self.assertEqual(caught.exception.code(), grpc.StatusCode.PERMISSION_DENIED)

    def test_a_new_dataset_gives_a_newer_version_that_is_accepted(self):
        h0, _ = self.verify()
        run_ecluse("dataset", "add", "beta-iris", "--from", os.path.join(WORK, "iris.csv"),
                   "--label-column", "-1", "--title", "Iris (beta)", "--description", "Four iris flowers",
                   "--licence", "CC-BY-4.0",
                   "--policy", os.path.join(WORK, "policy-beta-iris.json"), "--identity",
                   FI_ADMIN)
        body, sig, entries = v.read_catalog_stream(fetch_parts())
        h, decoded = self.verify(body, sig, entries, held_version=h0.version,
                                 held_digest=h0.entries_digest)
        self.assertEqual(h.version, h0.version + 1)
        self.assertEqual([e.id for e in decoded],
                         ["fi/alpha-iris", "fi/beta-iris", "fi/mid-iris", "fi/zeta-iris"])
        # Holding the new one, the old one is now a rollback.
        self.assertRefused("precondition", "rollback", self.verify, held_version=h.version,
                           held_digest=h.entries_digest)


class C_WorkedExample(VerifierTestCase):
    """The hex in docs/catalog-signing.md is a real catalog; it must verify."""

    @classmethod
    def setUpClass(cls):
        with open(os.environ["ECLUSE_DOC"]) as f:
            doc = f.read()
        block = doc.split("<!-- worked-example")[1].split("```text\n")[1].split("```")[0]
        cls.values = {}
        for label, hexlines in re.findall(r"^([a-z0-9 ]+) \(\d+ bytes\):\n((?:[0-9a-f]+\n)+)",
                                          block, re.M):
            cls.values[label] = bytes.fromhex("".join(hexlines.split()))

    def test_the_example_verifies(self):
        x = self.values
        self.assertEqual(len(x["header body"]), 92)
        self.assertEqual(len(x["entry 0"]), 427)
        h, entries = v.verify_catalog(x["header body"], x["signature"], [x["entry 0"]], "ex",
                                      x["site public key"], now=None)
        self.assertEqual((h.site, h.country, h.version), ("ex", "FI", 2))
        self.assertEqual((h.issued_unix, h.expires_unix), (1795238643, 1795325043))
        self.assertEqual(v.entries_digest([x["entry 0"]]), x["entries digest"])
        self.assertEqual(entries[0].id, "ex/tiny")
        self.assertEqual(v.key_fingerprint(x["site public key"]),
                         "184d-79bc-a98f-a33e-cd70-20c4-b3cc-8578")
        self.assertEqual(v.entries_digest([]).hex(),
                         "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8")

    def test_the_example_altered_is_refused(self):
        x = self.values
        self.assertRefused("crypto", "not signed", v.verify_catalog, flip(x["header body"], 7),
                           x["signature"], [x["entry 0"]], "ex", x["site public key"])
        self.assertRefused("crypto", "signed digest", v.verify_catalog, x["header body"],
                           x["signature"], [flip(x["entry 0"], 100)], "ex", x["site public key"])


class D_KeyRotation(VerifierTestCase):
    """Runs last: it rolls FI's signing key twice."""

    def test_a_rotation_chain_from_the_pinned_key_leads_to_the_key_that_signs(self):
        k0 = pinned_key()
        self.assertEqual(len(fetch_rotations(k0)), 0)
        before = v.read_catalog_stream(fetch_parts())
        h0, _ = v.verify_catalog(*before, SITE, k0, now=int(time.time()))

        printed = []
        for n in (1, 2):
            out = run_ecluse("key", "rotate", "--identity", FI_ADMIN)
            m = re.search(r"Rotation (\d+) of site (\S+): key ([0-9a-f-]+) -> ([0-9a-f-]+)", out)
            self.assertIsNotNone(m, out)
            self.assertEqual((int(m.group(1)), m.group(2)), (n, SITE))
            printed.append((m.group(3), m.group(4)))
        self.assertEqual(printed[0][0], v.key_fingerprint(k0))
        self.assertEqual(printed[0][1], printed[1][0])

        chain = list(fetch_rotations(k0))
        self.assertEqual(len(chain), 2)
        k2, applied = v.follow_rotations(SITE, k0, chain)
        self.assertEqual(applied, 2)
        self.assertEqual(v.key_fingerprint(k2), printed[1][1])
        k1, _ = v.follow_rotations(SITE, k0, chain[:1])
        self.assertEqual(v.follow_rotations(SITE, k1, chain), (k2, 1))  # skips the older one
        self.assertEqual(v.follow_rotations(SITE, k2, chain), (k2, 0))

        # The catalog is now signed by k2: refused under k0, accepted under k2,
        # same version and digest as before (re-signed, not changed).
        after = v.read_catalog_stream(fetch_parts())
        self.assertRefused("crypto", "not signed by its pinned key", v.verify_catalog, *after,
                           SITE, k0, now=int(time.time()))
        h, _ = v.verify_catalog(*after, SITE, k2, held_version=h0.version,
                                held_digest=h0.entries_digest, now=int(time.time()))
        self.assertEqual((h.version, h.entries_digest, h.signing_key),
                         (h0.version, h0.entries_digest, k2))

        # The bundle now carries k2, so its fingerprint is a new one.
        body, fp = v.verify_bundle(fetch_bundle().SerializeToString())
        self.assertEqual(body.signing_key, k2)
        self.assertNotEqual(fp, exported_fingerprint(SITE))

        # Broken chains are refused.
        bad = pb.KeyRotation(body=chain[1].body, signature=flip(chain[1].signature, 0))
        self.assertRefused("crypto", "rotation 2 of site 'fi' is not signed by the key it "
                           "replaces", v.follow_rotations, SITE, k0, [chain[0], bad])
        self.assertRefused("crypto", "is for site 'fi', not 'lu'", v.follow_rotations, "lu", k0,
                           chain)
        # Without the first link, nothing starts from k0: k0 stays current.
        self.assertEqual(v.follow_rotations(SITE, k0, chain[1:]), (k0, 0))
        self.assertRefused("crypto", "does not start from the current key", v.follow_rotations,
                           SITE, k0, [chain[0], chain[0]])

    def test_a_sequence_gap_or_a_rotation_signed_by_another_key_is_refused(self):
        keys = [nacl.signing.SigningKey.generate() for _ in range(3)]
        pub = [bytes(k.verify_key) for k in keys]

        def rotation(i, seq, signer=None):
            body = pb.KeyRotationBody(site=SITE, old_key=pub[i], new_key=pub[i + 1],
                                      sequence=seq, issued_unix=1).SerializeToString()
            return pb.KeyRotation(body=body,
                                  signature=sign(signer or keys[i], v.ROTATION_CONTEXT, body))

        self.assertEqual(v.follow_rotations(SITE, pub[0], [rotation(0, 1), rotation(1, 2)]),
                         (pub[2], 2))
        self.assertRefused("crypto", "sequence 3 after 1", v.follow_rotations, SITE, pub[0],
                           [rotation(0, 1), rotation(1, 3)])
        self.assertRefused("crypto", "not signed by the key it replaces", v.follow_rotations,
                           SITE, pub[0], [rotation(0, 1, signer=keys[2])])
        self.assertRefused("input", "does not decode", v.follow_rotations, SITE, pub[0],
                           [pb.KeyRotation(body=b"\xff", signature=bytes(64))])


def main():
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    for case in (A_PeeringBundle, B_Catalog, C_WorkedExample, D_KeyRotation):
        suite.addTests(loader.loadTestsFromTestCase(case))
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    ran, bad = result.testsRun, len(result.failures) + len(result.errors)
    print("%d passed, %d failed" % (ran - bad - len(result.skipped), bad))
    return 0 if result.wasSuccessful() and not result.skipped else 1


if __name__ == "__main__":
    sys.exit(main())
