"""Checks of a Data.Read stream, as client/read.c does them.

The trailer's digest is BLAKE2b-256 over DOMAIN (the string and a 0x00 byte)
followed by the 32-byte digest of every chunk of the whole selection, in
stream order, as a read from offset 0 with the same chunk_bytes cuts them.
A read resumed at offset X is checked with the (digest, length) of the
chunks before X, kept from the read that verified them.
"""
import hashlib

DOMAIN = b"ecluse-read-digest-v1\x00"


class IntegrityError(Exception):
    """A chunk or the whole stream does not match its digest, or is out of order."""


def blake2b256(data):
    return hashlib.blake2b(data, digest_size=32).digest()


class Verifier:
    """Feed it the header, then chunks, then the trailer.

    `progress`, if given, is a list of (digest, length) pairs: those already
    in it are the chunks before the header's resume_offset (they must cover
    exactly that many bytes, else the trailer cannot be checked), and every
    chunk verified here is appended to it, so that the same list resumes a
    broken read of the same selection and chunk_bytes.
    """

    def __init__(self, header, progress=None):
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
        self.resume = self.pos = header.resume_offset
        self.prefix = 0
        self.chunks = 0
        self.whole = hashlib.blake2b(digest_size=32)
        self.whole.update(DOMAIN)
        self.progress = progress
        for digest, length in list(progress or ()):
            self._prefix(digest, length)

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
        self.add_prefix(blake2b256(data), len(data))

    def chunk(self, c):
        if c.tensor >= len(self.sizes):
            raise IntegrityError("chunk %d: tensor index %d out of range" % (self.chunks, c.tensor))
        n = len(c.data)
        if n == 0 or c.offset + n > self.sizes[c.tensor]:
            raise IntegrityError("chunk %d: outside tensor %d" % (self.chunks, c.tensor))
        at = self.starts[c.tensor] + c.offset
        if at != self.pos:
            raise IntegrityError("chunk %d: stream byte %d, expected %d" % (self.chunks, at, self.pos))
        d = blake2b256(c.data)
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
