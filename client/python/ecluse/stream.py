"""Checks of a Data.Read stream, as client/read.c does them."""
import hashlib


class IntegrityError(Exception):
    """A chunk or the whole stream does not match its digest, or is out of order."""


def blake2b256(data):
    return hashlib.blake2b(data, digest_size=32).digest()


class Verifier:
    """Feed it the header, then chunks, then the trailer."""

    def __init__(self, header):
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

    def add_prefix(self, data):
        if self.pos != self.resume or self.prefix + len(data) > self.resume:
            raise ValueError("prefix: more than the %d skipped bytes" % self.resume)
        self.whole.update(data)
        self.prefix += len(data)

    def chunk(self, c):
        if c.tensor >= len(self.sizes):
            raise IntegrityError("chunk %d: tensor index %d out of range" % (self.chunks, c.tensor))
        n = len(c.data)
        if n == 0 or c.offset + n > self.sizes[c.tensor]:
            raise IntegrityError("chunk %d: outside tensor %d" % (self.chunks, c.tensor))
        at = self.starts[c.tensor] + c.offset
        if at != self.pos:
            raise IntegrityError("chunk %d: stream byte %d, expected %d" % (self.chunks, at, self.pos))
        if blake2b256(c.data) != c.digest:
            raise IntegrityError("chunk %d (tensor %d, offset %d): the data does not match its digest"
                                 % (self.chunks, c.tensor, c.offset))
        self.whole.update(c.data)
        self.pos += n
        self.chunks += 1
        return at

    def trailer(self, t):
        if self.pos != self.total:
            raise IntegrityError("the stream ended at byte %d of %d" % (self.pos, self.total))
        if t.bytes_sent != self.total - self.resume or t.chunks != self.chunks:
            raise IntegrityError("trailer counts do not match what arrived")
        if self.prefix != self.resume:
            raise IntegrityError("resumed read: the prefix was not given, the whole digest cannot be checked")
        if self.whole.digest() != t.digest:
            raise IntegrityError("the trailer's digest does not match the bytes read")
