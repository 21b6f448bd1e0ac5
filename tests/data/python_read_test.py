"""The Python module against real gateways (run by python_read_test.sh)."""
import os
import unittest

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

    def test_torch_dataset_shards_by_rank(self):
        rows = 0
        for rank in range(2):
            ds = ecluse.EcluseDataset(os.environ["ECLUSE_RESEARCHER"], self.grant,
                                      batch_size=100, rank=rank, world_size=2)
            rows += sum(x.shape[0] for x, _ in ds)
        self.assertEqual(rows, self.labels.shape[0])


if __name__ == "__main__":
    unittest.main(verbosity=2)
