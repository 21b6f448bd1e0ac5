"""An independent verifier of ecluse's signed documents, written from
docs/catalog-signing.md alone: Ed25519 from python3-nacl, BLAKE2b from
hashlib, X.509 from python3-cryptography, messages from the protobuf stubs
generated from proto/ecluse.proto. No ecluse code is used.

Every refusal raises VerifyError(category, message); the categories are the
ones the document names: "crypto", "precondition", "input", "limit".
"""
import base64
import hashlib
import re
import struct

import nacl.exceptions
import nacl.signing
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

CATALOG_CONTEXT = b"ecluse-catalog-v1"
PEER_CONTEXT = b"ecluse-peer-v1"
ROTATION_CONTEXT = b"ecluse-key-rotation-v1"
BUNDLE_TEXT_HEADER = "ecluse-peer-bundle-v1\n"
BUNDLE_MAX_BYTES = 64 * 1024
ID_MAX_BYTES = 511
SITE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class VerifyError(Exception):
    def __init__(self, category, message):
        super().__init__("%s: %s" % (category, message))
        self.category = category
        self.message = message


def _pb():
    import ecluse_pb2  # the stubs directory is on sys.path (see the test)

    return ecluse_pb2


def blake2b_256(data):
    return hashlib.blake2b(data, digest_size=32).digest()


def signed_message(context, body):
    """The bytes an ecluse signature covers: context || 0x00 || body."""
    return context + b"\x00" + body


def ed25519_ok(public_key, context, body, signature):
    if len(public_key) != 32 or len(signature) != 64:
        return False
    try:
        nacl.signing.VerifyKey(public_key).verify(signed_message(context, body), signature)
        return True
    except nacl.exceptions.BadSignatureError:
        return False


def group_hex(first16):
    h = first16.hex()
    return "-".join(h[i:i + 4] for i in range(0, len(h), 4))


def key_fingerprint(public_key):
    """Site-key fingerprint (log lines, `ecluse key rotate`)."""
    return group_hex(blake2b_256(public_key)[:16])


def entries_digest(entries):
    h = hashlib.blake2b(digest_size=32)
    for e in entries:
        h.update(struct.pack("<Q", len(e)))
        h.update(e)
    return h.digest()


def _decode(message_class, data, what):
    msg = message_class()
    try:
        msg.ParseFromString(bytes(data))
    except Exception as exc:  # DecodeError and friends
        raise VerifyError("input", "%s does not decode (%s)" % (what, exc))
    return msg


# ---- catalogs ---------------------------------------------------------------

def read_catalog_stream(parts):
    """Split a GetCatalog stream: exactly one header part, first; then pages."""
    header, entries = None, []
    for i, part in enumerate(parts):
        kind = part.WhichOneof("part")
        if kind == "header" and i == 0:
            header = part.header
        elif kind == "page" and header is not None:
            entries.extend(part.page.entries)
        else:
            raise VerifyError("input", "catalog stream part %d is a %s: a header must come "
                              "first, and only once" % (i, kind))
    if header is None:
        raise VerifyError("input", "the catalog stream carried no signed header")
    return bytes(header.body), bytes(header.signature), [bytes(e) for e in entries]


def verify_catalog(body, signature, entries, site, pinned_key, held_version=0,
                   held_digest=None, now=None):
    """Steps 1-11 of "Verifying a catalog", in that order. Returns the
    decoded CatalogHeader and the decoded entries."""
    pb = _pb()
    # 1. Signature, before anything is parsed.
    if not ed25519_ok(pinned_key, CATALOG_CONTEXT, body, signature):
        raise VerifyError("crypto", "the catalog of site '%s' is not signed by its pinned key %s"
                          % (site, key_fingerprint(pinned_key)))
    # 2. Decode.
    h = _decode(pb.CatalogHeader, body, "the signed catalog header")
    # 3. Site.
    if h.site != site:
        raise VerifyError("input", "the catalog names site '%s', not '%s'" % (h.site, site))
    # 4. Key.
    if h.signing_key != pinned_key:
        raise VerifyError("crypto", "the catalog names key %s, not the pinned key %s"
                          % (key_fingerprint(h.signing_key), key_fingerprint(pinned_key)))
    # 5. Expiry (freeze).
    if now is not None and h.expires_unix <= now:
        raise VerifyError("precondition", "catalog version %d expired at %d" %
                          (h.version, h.expires_unix))
    # 6. Rollback.
    if h.version < held_version:
        raise VerifyError("precondition", "catalog version %d is older than version %d "
                          "already held (rollback)" % (h.version, held_version))
    # 7. Digest size.
    if len(h.entries_digest) != 32:
        raise VerifyError("input", "the entries digest is %d bytes, not 32" %
                          len(h.entries_digest))
    # 8. One version, one content.
    if held_digest is not None and h.version == held_version and \
            h.entries_digest != held_digest:
        raise VerifyError("precondition", "catalog version %d differs from the version "
                          "already held (two catalogs with one version)" % h.version)
    # 9. Count.
    if h.entry_count != len(entries):
        raise VerifyError("crypto", "the header promises %d entries, %d arrived" %
                          (h.entry_count, len(entries)))
    # 10. Digest.
    if entries_digest(entries) != h.entries_digest:
        raise VerifyError("crypto", "the entries do not match the signed digest")
    # 11. Each entry.
    decoded, prev = [], None
    prefix = (site + "/").encode()
    for i, e in enumerate(entries):
        d = _decode(pb.DatasetEntry, e, "catalog entry %d" % i)
        ident = d.id.encode()
        if not ident.startswith(prefix) or len(ident) == len(prefix):
            raise VerifyError("input", "catalog entry %d '%s' is not a dataset of site '%s'"
                              % (i, d.id, site))
        if b"\x00" in ident or len(ident) > ID_MAX_BYTES:
            raise VerifyError("input", "catalog entry %d has an id with a NUL byte or over "
                              "%d bytes" % (i, ID_MAX_BYTES))
        if prev is not None and not prev < ident:
            raise VerifyError("input", "catalog entries are not sorted by id without "
                              "duplicates (entry %d '%s' after '%s')" % (i, d.id, prev.decode()))
        prev = ident
        decoded.append(d)
    return h, decoded


# ---- peering bundles -----------------------------------------------------------

def bundle_from_text(text):
    if not text.startswith(BUNDLE_TEXT_HEADER):
        raise VerifyError("input", "not a peering bundle (expected a first line "
                          "'ecluse-peer-bundle-v1')")
    b64 = "".join(text[len(BUNDLE_TEXT_HEADER):].split())
    try:
        return base64.b64decode(b64, validate=True)
    except Exception:
        raise VerifyError("input", "peering bundle is not valid base64 after its first line")


def _first_cert(ca_pem, site):
    try:
        return x509.load_pem_x509_certificate(ca_pem.encode())
    except Exception as exc:
        raise VerifyError("input", "bundle of '%s': CA certificate does not parse (%s)"
                          % (site, exc))


def bundle_fingerprint(site, signing_key, ca_pem):
    der = _first_cert(ca_pem, site).public_bytes(Encoding.DER)
    return group_hex(blake2b_256(site.encode() + b"\x00" + signing_key + der)[:16])


def verify_bundle(data):
    """Returns (PeerBundleBody, fingerprint)."""
    pb = _pb()
    if len(data) > BUNDLE_MAX_BYTES:
        raise VerifyError("limit", "bundle is %d bytes, over %d" % (len(data), BUNDLE_MAX_BYTES))
    bundle = _decode(pb.PeerBundle, data, "peering bundle")
    body = _decode(pb.PeerBundleBody, bundle.body, "peering bundle body")
    if not ed25519_ok(body.signing_key, PEER_CONTEXT, bundle.body, bundle.signature):
        raise VerifyError("crypto", "peering bundle signature does not verify")
    if not SITE_RE.match(body.site):
        raise VerifyError("input", "bundle: '%s' is not a valid site id" % body.site)
    if not re.match(r"^[A-Z]{2}$", body.country):
        raise VerifyError("input", "bundle of '%s': '%s' is not a country code"
                          % (body.site, body.country))
    host, _, port = body.endpoint.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) <= 65535 or \
            len(body.endpoint) >= 256:
        raise VerifyError("input", "bundle of '%s': endpoint '%s' is not host:port"
                          % (body.site, body.endpoint))
    cert = _first_cert(body.ca_pem, body.site)
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        is_ca = bc.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        raise VerifyError("input", "bundle of '%s': its certificate is not a CA" % body.site)
    try:
        uris = cert.extensions.get_extension_for_class(
            x509.SubjectAlternativeName).value.get_values_for_type(x509.UniformResourceIdentifier)
    except x509.ExtensionNotFound:
        uris = []
    if uris != ["spiffe://" + body.site]:
        raise VerifyError("input", "bundle of '%s': its CA is not the CA of spiffe://%s"
                          % (body.site, body.site))
    return body, bundle_fingerprint(body.site, body.signing_key, body.ca_pem)


# ---- key rotations ----------------------------------------------------------------

def follow_rotations(site, pinned_key, rotations):
    """Follow KeyRotation messages (oldest first) from pinned_key; returns the
    current key and how many rotations were applied."""
    pb = _pb()
    current, expect_seq, applied = pinned_key, None, 0
    for i, rot in enumerate(rotations):
        b = _decode(pb.KeyRotationBody, rot.body, "key rotation %d" % i)
        if b.site != site:
            raise VerifyError("crypto", "key rotation %d is for site '%s', not '%s'"
                              % (i, b.site, site))
        if b.old_key != current:
            if expect_seq is None:
                continue  # from before the key we pinned
            raise VerifyError("crypto", "key rotation %d does not start from the current key"
                              % b.sequence)
        if expect_seq is not None and b.sequence != expect_seq:
            raise VerifyError("crypto", "key rotation sequence %d after %d"
                              % (b.sequence, expect_seq - 1))
        if len(b.new_key) != 32 or \
                not ed25519_ok(current, ROTATION_CONTEXT, rot.body, rot.signature):
            raise VerifyError("crypto", "key rotation %d of site '%s' is not signed by the "
                              "key it replaces" % (b.sequence, site))
        current, expect_seq, applied = b.new_key, b.sequence + 1, applied + 1
    return current, applied
