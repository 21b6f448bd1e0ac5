"""The Python module against real gateways (run by python_read_test.sh)."""
import os
import unittest

import grpc
import hashlib
import numpy as np

import ecluse
from ecluse import Client, IntegrityError, Verifier, load_grant


class PythonRead(unittest.TestCase):
    def setUp(self):
        self.client = Client(os.environ["ECLUSE_RESEARCHER"])
        self.grant = load_grant(os.environ["ECLUSE_GRANT"])
        table = np.loadtxt(os.environ["ECLUSE_CSV"], delimiter=",", skiprows=1)
        self.features = table[:, :-1].astype(np.float32)
        self.labels = table[:, -1].astype(np.int64)
        # The policy grants the first max_rows rows only (data minimisation).
        body = ecluse.client.ecluse_pb2.GrantBody.FromString(self.grant.body)
        n = body.max_rows or len(table)
        self.assertLess(n, len(table))
        self.features, self.labels = self.features[:n], self.labels[:n]

    def tearDown(self):
        self.client.close()

    def test_relayed_read_equals_the_csv(self):
        got = self.client.read(self.grant, chunk_bytes=10000)
        np.testing.assert_array_equal(got["features"], self.features)
        np.testing.assert_array_equal(got["labels"], self.labels)

    def test_a_read_keeps_its_receipt(self):
        self.client.read(self.grant, chunk_bytes=10000)
        r = self.client.last_receipt
        self.assertIsNotNone(r)
        self.assertEqual(r.site, "lu")
        self.assertIn("\n\n\u2014 ecluse/audit/lu ", r.checkpoint.decode("utf-8"))
        self.assertIn("\u2014 ecluse/witness/fi ", r.checkpoint.decode("utf-8"))
        ecluse.save_receipt(r, os.environ["ECLUSE_RECEIPT_OUT"])  # checked by the CLI after

    def test_shards_cover_every_row_once(self):
        parts = [self.client.read(self.grant, shard=(k, 3))["labels"] for k in range(3)]
        np.testing.assert_array_equal(np.concatenate(parts), self.labels)

    def test_a_corrupted_chunk_is_caught(self):
        v, caught = None, False
        req = ecluse.client.ecluse_pb2.ReadRequest(grant=self.grant, chunk_bytes=4096)
        for m in self.client.data.Read(req):
            kind = m.WhichOneof("kind")
            if kind == "header":
                v = Verifier(m.header)
            elif kind == "chunk" and not caught:
                data = bytearray(m.chunk.data)
                data[5] ^= 1
                m.chunk.data = bytes(data)
                with self.assertRaisesRegex(IntegrityError, "does not match its digest"):
                    v.chunk(m.chunk)
                caught = True
        self.assertTrue(caught)

    def test_a_version_3_stream_is_refused_from_its_header(self):
        """This module checks digest version 2 only (no BLAKE3 in Python's
        standard library nor in Debian 12): a stream in version 3 is refused
        from its header, before any data is taken."""
        self.assertEqual(ecluse.stream.DIGEST_VERSION, 2)
        req = ecluse.client.ecluse_pb2.ReadRequest(grant=self.grant, chunk_bytes=4096,
                                                   digest_version=3)
        call = self.client.data.Read(req)
        m = next(call)
        self.assertEqual(m.WhichOneof("kind"), "header")
        self.assertEqual(m.header.digest_version, 3)
        with self.assertRaisesRegex(IntegrityError, "digest version 3, this client checks only 2"):
            Verifier(m.header)
        call.cancel()
        # What it asks for itself is version 2, and the gateway says so.
        headers = [item[1] for item in self.client.stream(self.grant, chunk_bytes=100000)
                   if item[0] == "header"]
        self.assertEqual([h.digest_version for h in headers], [2])

    def model_digest(self, chunk):
        """The trailer digest by the definition, from the CSV's values: each
        tensor's bytes cut in `chunk`s (no rows withdrawn: one run each)."""
        h = [b"ecluse-read-digest-v2\x00"]
        for data in (self.features.tobytes(), self.labels.tobytes()):
            for at in range(0, len(data), chunk):
                h.append(self.chunk_by_definition(data[at:at + chunk], at))
        return hashlib.sha256(b"".join(h)).digest()

    @staticmethod
    def chunk_by_definition(data, source_offset):
        """SHA-256(0x01 || leaves), each SHA-256(0x00 || piece), pieces cut at
        every 65536th byte of the tensor as stored (all rows: as streamed)."""
        leaves, done = [], 0
        while done < len(data):
            n = min(65536 - (source_offset + done) % 65536, len(data) - done)
            leaves.append(hashlib.sha256(b"\x00" + data[done:done + n]).digest())
            done += n
        return hashlib.sha256(b"\x01" + b"".join(leaves)).digest()

    def collect(self, items, bufs):
        trailer = None
        for item in items:
            if item[0] == "header":
                self.header = item[1]
            elif item[0] == "chunk":
                _, t, off, data = item
                bufs[t][off:off + len(data)] = data
            else:
                trailer = item[1]
        return trailer

    def test_a_broken_read_resumes_after_its_verified_chunks(self):
        bufs = [bytearray(self.features.nbytes), bytearray(self.labels.nbytes)]
        done = []
        items = self.client.stream(self.grant, chunk_bytes=4096, progress=done)
        for item in items:
            if item[0] == "chunk":
                _, t, off, data = item
                bufs[t][off:off + len(data)] = data
                if len(done) == 3:
                    break
        items.close()  # the read is cancelled after three verified chunks
        self.assertEqual([n for _, n in done], [4096] * 3)
        trailer = self.collect(self.client.stream(self.grant, chunk_bytes=4096, progress=done),
                               bufs)
        self.assertEqual(self.header.resume_offset, 3 * 4096)
        self.assertEqual(trailer.chunks, len(done) - 3)
        self.assertEqual(trailer.digest, self.model_digest(4096))
        self.assertEqual(bytes(bufs[0]), self.features.tobytes())
        self.assertEqual(bytes(bufs[1]), self.labels.tobytes())
        # An earlier chunk's digest that is not the one verified: caught at the end.
        bad = list(done[:3])
        bad[1] = (bytes(32), bad[1][1])
        with self.assertRaisesRegex(IntegrityError, "trailer's digest"):
            self.collect(self.client.stream(self.grant, chunk_bytes=4096, progress=bad), bufs)
        # Digests of other chunks, or too few bytes of them: the same, or said.
        with self.assertRaisesRegex(IntegrityError, "cover only 4096 bytes"):
            v = Verifier(self.header, [done[0]])
            for m in self.client.data.Read(ecluse.client.ecluse_pb2.ReadRequest(
                    grant=self.grant, chunk_bytes=4096, resume_offset=3 * 4096)):
                kind = m.WhichOneof("kind")
                if kind == "chunk":
                    v.chunk(m.chunk)
                elif kind == "trailer":
                    v.trailer(m.trailer)

    def test_a_resume_inside_a_chunk_is_refused(self):
        req = ecluse.client.ecluse_pb2.ReadRequest(grant=self.grant, chunk_bytes=4096,
                                                   resume_offset=4097)
        with self.assertRaises(grpc.RpcError) as e:
            list(self.client.data.Read(req))
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("resume offset 4097 is not a chunk boundary", e.exception.details())
        self.assertIn("resume from 4096 or 8192", e.exception.details())

    def test_torch_dataset_shards_by_rank(self):
        rows = 0
        for rank in range(2):
            ds = ecluse.EcluseDataset(os.environ["ECLUSE_RESEARCHER"], self.grant,
                                      batch_size=100, rank=rank, world_size=2)
            rows += sum(x.shape[0] for x, _ in ds)
        self.assertEqual(rows, self.labels.shape[0])


if __name__ == "__main__":
    unittest.main(verbosity=2)
