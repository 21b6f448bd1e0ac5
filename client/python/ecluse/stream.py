"""Checks of a Data.Read stream, as client/read.c does them.

The digests (docs/streaming.md): a chunk's bytes sit at some source offset
of their tensor as stored (found through the header's row ranges); they are
cut into pieces at every multiple of LEAF_BYTES of the tensor, and

    leaf         = SHA-256(0x00 || piece)
    Chunk.digest = SHA-256(0x01 || leaf_1 || ... || leaf_k)
    trailer      = SHA-256(DOMAIN || d_1 || ... || d_n)

over every chunk of the whole selection, in stream order, as a read from
offset 0 with the same chunk_bytes cuts them. A read resumed at offset X is
checked with the (digest, length) of the chunks before X, kept from the read
that verified them.

This is digest version 2. Version 3 is the same with BLAKE3 in place of
SHA-256; Python's standard library has no BLAKE3 and Debian 12 packages
none for Python, so this module asks for version 2 (DIGEST_VERSION) and
refuses a stream in any other. The ctypes loader reads through the C
library, which checks version 3.
"""
import bisect
import hashlib

DOMAIN = b"ecluse-read-digest-v2\x00"
DIGEST_VERSION = 2
LEAF_BYTES = 65536


class IntegrityError(Exception):
    """A chunk or the whole stream does not match its digest, or is out of order."""


def chunk_digest(data, source_offset):
    """Chunk.digest of `data` whose first byte is at `source_offset` of its tensor."""
    view = memoryview(data)
    outer = hashlib.sha256(b"\x01")
    done = 0
    while done < len(view):
        n = min(LEAF_BYTES - (source_offset + done) % LEAF_BYTES, len(view) - done)
        leaf = hashlib.sha256(b"\x00")
        leaf.update(view[done:done + n])
        outer.update(leaf.digest())
        done += n
    return outer.digest()


class Verifier:
    """Feed it the header, then chunks, then the trailer.

    `progress`, if given, is a list of (digest, length) pairs: those already
    in it are the chunks before the header's resume_offset (they must cover
    exactly that many bytes, else the trailer cannot be checked), and every
    chunk verified here is appended to it, so that the same list resumes a
    broken read of the same selection and chunk_bytes.
    """

    def __init__(self, header, progress=None):
        # 0: a gateway from before version 3, which sends version 2.
        if header.digest_version not in (0, DIGEST_VERSION):
            raise IntegrityError("read header: digest version %d, this client checks only %d"
                                 % (header.digest_version, DIGEST_VERSION))
        self.sizes = [t.byte_size for t in header.tensors]
        self.starts = []
        total = 0
        for size in self.sizes:
            self.starts.append(total)
            total += size
        if total != header.total_bytes or header.resume_offset > total:
            raise IntegrityError("read header: tensors add up to %d bytes, total_bytes says %d"
                                 % (total, header.total_bytes))
        self.total = total
        self._keep_rows(header)
        self.resume = self.pos = header.resume_offset
        self.prefix = 0
        self.chunks = 0
        self.whole = hashlib.sha256(DOMAIN)
        self.progress = progress
        for digest, length in list(progress or ()):
            self._prefix(digest, length)

    def _keep_rows(self, header):
        """Where each chunk sits in its tensor as stored decides its leaves."""
        self.rbegin, self.rbefore = [], []
        rows = last_end = 0
        for i, r in enumerate(header.row_ranges):
            if r.end <= r.begin or r.begin < last_end:
                raise IntegrityError("read header: row range %d [%d, %d) is empty, overlaps or "
                                     "is out of order" % (i, r.begin, r.end))
            self.rbegin.append(r.begin)
            self.rbefore.append(rows)
            rows += r.end - r.begin
            last_end = r.end
        self.row_bytes = []
        for size in self.sizes:
            if rows and size % rows:
                raise IntegrityError("read header: a tensor of %d bytes is not a whole number "
                                     "of the %d rows sent" % (size, rows))
            self.row_bytes.append(size // rows if rows else 0)

    def source_offset(self, tensor, offset):
        """Where byte `offset` of the tensor's selection sits in the tensor as stored."""
        rb = self.row_bytes[tensor]
        if not self.rbegin or rb == 0:
            return offset
        row = offset // rb
        i = bisect.bisect_right(self.rbefore, row) - 1
        return (self.rbegin[i] + row - self.rbefore[i]) * rb + offset % rb

    def _prefix(self, digest, length):
        if self.chunks or self.pos != self.resume:
            raise ValueError("prefix: a chunk of the prefix after the first chunk of the read")
        if len(digest) != 32 or length <= 0 or self.prefix + length > self.resume:
            raise ValueError("prefix: a chunk of %d bytes at byte %d of a %d-byte prefix"
                             % (length, self.prefix, self.resume))
        self.whole.update(digest)
        self.prefix += length

    def add_prefix(self, digest, length):
        """One earlier chunk, in stream order: its digest and length."""
        self._prefix(digest, length)
        if self.progress is not None:
            self.progress.append((bytes(digest), length))

    def add_prefix_data(self, data):
        """One earlier chunk from its bytes (the digest is recomputed)."""
        at = self.prefix
        tensor = max(i for i, start in enumerate(self.starts) if start <= at) if self.starts else 0
        offset = at - self.starts[tensor] if self.starts else 0
        self.add_prefix(chunk_digest(data, self.source_offset(tensor, offset)), len(data))

    def chunk(self, c):
        if c.tensor >= len(self.sizes):
            raise IntegrityError("chunk %d: tensor index %d out of range" % (self.chunks, c.tensor))
        n = len(c.data)
        if n == 0 or c.offset + n > self.sizes[c.tensor]:
            raise IntegrityError("chunk %d: outside tensor %d" % (self.chunks, c.tensor))
        at = self.starts[c.tensor] + c.offset
        if at != self.pos:
            raise IntegrityError("chunk %d: stream byte %d, expected %d" % (self.chunks, at, self.pos))
        d = chunk_digest(c.data, self.source_offset(c.tensor, c.offset))
        if d != c.digest:
            raise IntegrityError("chunk %d (tensor %d, offset %d): the data does not match its digest"
                                 % (self.chunks, c.tensor, c.offset))
        self.whole.update(d)
        self.pos += n
        self.chunks += 1
        if self.progress is not None:
            self.progress.append((d, n))
        return at

    def trailer(self, t):
        if self.pos != self.total:
            raise IntegrityError("the stream ended at byte %d of %d" % (self.pos, self.total))
        if t.bytes_sent != self.total - self.resume or t.chunks != self.chunks:
            raise IntegrityError("trailer counts do not match what arrived")
        if self.prefix != self.resume:
            raise IntegrityError("resumed read at %d: the prefix chunks given cover only %d bytes, "
                                 "the whole digest cannot be checked" % (self.resume, self.prefix))
        if self.whole.digest() != t.digest:
            raise IntegrityError("the trailer's digest (over its chunks' digests) does not match "
                                 "the chunks read")
