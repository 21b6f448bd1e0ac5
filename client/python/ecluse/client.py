"""A gRPC client of the home gateway, with Debian's python3-grpcio."""
import base64
import json
import os
import sys
import warnings

import grpc
import numpy as np

from .dtypes import numpy_dtype
from .stream import DIGEST_VERSION, IntegrityError, Verifier  # noqa: F401

try:  # the generated code the Bazel-built package ships (//client/python:package)
    from . import ecluse_pb2, ecluse_pb2_grpc  # noqa: E402
except ImportError:  # a source checkout: protoc's output in $ECLUSE_PY_STUBS
    _stubs = os.environ.get("ECLUSE_PY_STUBS")
    if _stubs and _stubs not in sys.path:
        sys.path.insert(0, _stubs)
    import ecluse_pb2  # noqa: E402
    import ecluse_pb2_grpc  # noqa: E402

GRANT_MAGIC = "ecluse-grant-v1"
MAX_MESSAGE = 16 << 20
RECEIPT_FORMAT = "ecluse-read-receipt-v1"


def load_grant(path):
    """A grant file: the line "ecluse-grant-v1", then the Grant in base64."""
    with open(path) as f:
        text = f.read()
    first, _, rest = text.partition("\n")
    if first.strip() != GRANT_MAGIC:
        raise ValueError("%s: line 1 is not %r: not an ecluse grant file" % (path, GRANT_MAGIC))
    grant = ecluse_pb2.Grant()
    grant.ParseFromString(base64.b64decode("".join(rest.split()), validate=True))
    if not grant.body or not grant.signature:
        raise ValueError("%s: the grant has no body or signature" % path)
    return grant


def receipt_json(r):
    """A ReadReceipt as the JSON object `ecluse fetch` writes
    (docs/audit-format.md, "Read receipts")."""
    b64 = lambda b: base64.b64encode(b).decode("ascii")  # noqa: E731
    return {"format": RECEIPT_FORMAT, "site": r.site, "read_id": r.read_id, "seq": r.seq,
            "entry": b64(r.entry), "proof": [b64(h) for h in r.proof],
            "checkpoint": r.checkpoint.decode("utf-8")}


def save_receipt(r, path):
    """Write a receipt as JSON, whole, then rename it into place."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(receipt_json(r), f, indent=1)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_private_key(path):
    """The bytes of a private key file, refused (PermissionError naming the
    file and its mode) if group or others can reach it, as the C client and
    ssh refuse it: such a key may already be known to others."""
    with open(path, "rb") as f:
        mode = os.fstat(f.fileno()).st_mode & 0o7777
        if mode & 0o077:
            how = "readable" if mode & 0o044 else "accessible"
            raise PermissionError(f"{path}: private key is {how} by group or others "
                                  f"(mode {mode:04o}); chmod 600 it")
        return f.read()


class Client:
    """Talks to the gateway named by an identity directory (`ecluse pki issue`)."""

    def __init__(self, identity_dir, gateway=None):
        d = os.path.expanduser(identity_dir)

        def read(name):
            with open(os.path.join(d, name), "rb") as f:
                return f.read()

        with open(os.path.join(d, "identity.json")) as f:
            self.identity = json.load(f)
        key = read_private_key(os.path.join(d, "key.pem"))
        creds = grpc.ssl_channel_credentials(read("ca.pem"), key, read("cert.pem"))
        opts = [("grpc.max_receive_message_length", MAX_MESSAGE),
                ("grpc.max_send_message_length", MAX_MESSAGE)]
        self.channel = grpc.secure_channel(gateway or self.identity["gateway"], creds, opts)
        self.data = ecluse_pb2_grpc.DataStub(self.channel)
        self.catalog = ecluse_pb2_grpc.CatalogStub(self.channel)
        self.receipts = []  # the receipt of every read(), in order
        self.last_receipt = None

    def close(self):
        self.channel.close()

    def stream(self, grant, tensors=(), rows=None, shard=None, chunk_bytes=0, progress=None):
        """Yields ("header", ReadHeader), then ("chunk", tensor, offset, bytes)
        for each verified chunk, then ("trailer", ReadTrailer) once verified.

        `progress`: a list that gets (digest, length) of each verified chunk.
        Given again, non-empty, with the same selection and chunk_bytes, the
        read resumes after those chunks and they still count in the check of
        the whole (see stream.Verifier)."""
        req = ecluse_pb2.ReadRequest(grant=grant, tensors=list(tensors), chunk_bytes=chunk_bytes,
                                     digest_version=DIGEST_VERSION)
        if progress:
            req.resume_offset = sum(length for _, length in progress)
        if rows is not None:
            req.rows.range.begin, req.rows.range.end = rows
        elif shard is not None:
            req.rows.shard.index, req.rows.shard.count = shard
        v = None
        for m in self.data.Read(req):
            kind = m.WhichOneof("kind")
            if kind == "header":
                v = Verifier(m.header, progress)
                yield ("header", m.header)
            elif kind == "chunk":
                if v is None:
                    raise IntegrityError("a chunk before the header")
                v.chunk(m.chunk)
                yield ("chunk", m.chunk.tensor, m.chunk.offset, m.chunk.data)
            else:
                if v is None:
                    raise IntegrityError("a trailer before the header")
                v.trailer(m.trailer)
                yield ("trailer", m.trailer)

    def receipt(self, dataset, read_id, audit_seq, wait_ms=10000):
        """Data.Receipt: the holding site's receipt of a finished read."""
        req = ecluse_pb2.ReceiptRequest(dataset=dataset, read_id=read_id, audit_seq=audit_seq,
                                        wait_ms=wait_ms)
        return self.data.Receipt(req, timeout=wait_ms / 1000.0 + 15)

    def read(self, grant, receipt=True, **selection):
        """Every selected tensor as a numpy array, keyed by name. With
        `receipt`, the read's receipt is asked for and kept in
        self.last_receipt and self.receipts (None, with a warning, if it
        cannot be had yet: the data itself is verified either way)."""
        header, trailer, bufs = None, None, []
        for item in self.stream(grant, **selection):
            if item[0] == "header":
                header = item[1]
                bufs = [bytearray(t.byte_size) for t in header.tensors]
            elif item[0] == "chunk":
                _, t, off, data = item
                bufs[t][off:off + len(data)] = data
            else:
                trailer = item[1]
        self.last_receipt = None
        if receipt:
            try:
                self.last_receipt = self.receipt(header.dataset, header.read_id,
                                                 trailer.audit_seq)
            except grpc.RpcError as e:
                warnings.warn("no receipt of read %s: %s" % (header.read_id, e.details()))
            self.receipts.append(self.last_receipt)
        out = {}
        for info, buf in zip(header.tensors, bufs):
            out[info.name] = np.frombuffer(buf, dtype=numpy_dtype(info.dtype, info.name)).reshape(
                tuple(info.shape))
        return out
