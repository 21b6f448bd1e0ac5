"""EcluseDataset against a real gateway (run by loader_test.sh)."""
import collections
import json
import os
import socket
import subprocess
import sys
import unittest

import numpy as np
import torch
from torch.utils.data import DataLoader

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import loader_data  # noqa: E402

from ecluse import EcluseDataset, _native, plan  # noqa: E402
from ecluse.dtypes import UnknownDtypeError, numpy_dtype  # noqa: E402

WORK = os.environ["ECLUSE_WORK"]
RES = os.environ["ECLUSE_RESEARCHER"]
SCALE = float(os.environ.get("ECLUSE_TIME_SCALE", "1"))


def grant(name):
    return os.path.join(WORK, name + ".grant")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Loader(unittest.TestCase):
    def test_the_c_library_is_used(self):
        self.assertIsNotNone(_native.load(), "libecluse_client.so did not load")

    def test_two_ranks_two_workers_shuffled_epochs(self):
        env = dict(os.environ, ECLUSE_GRANT=grant("rows"))
        port = free_port()
        outs = [os.path.join(WORK, "rank%d.json" % r) for r in range(2)]
        procs = [subprocess.Popen([sys.executable, os.path.join(os.path.dirname(__file__),
                                                                "loader_rank.py"),
                                   str(r), "2", outs[r], str(port)], env=env)
                 for r in range(2)]
        for p in procs:
            self.assertEqual(p.wait(timeout=300 * SCALE), 0)
        ranks = []
        for o in outs:
            with open(o) as f:
                ranks.append(json.load(f))
        n, readers, per = loader_data.ROWS, 4, -(-loader_data.ROWS // 4)
        block = max(1, (40 * 37) // 40)
        orders = []
        for epoch in range(2):
            counts = [len(r[epoch]) for r in ranks]
            # 1003 rows over 4 readers: 251 each (one row read twice), 16 batches
            # of 16 per worker (the last of 11 rows), 32 per rank.
            self.assertEqual(counts, [2 * -(-per // 16)] * 2)
            seen = collections.Counter(i for r in ranks for b in r[epoch] for i in b)
            self.assertEqual(set(seen), set(range(n)))
            twice = [i for i, c in seen.items() if c == 2]
            self.assertEqual(len(twice), readers * per - n)
            self.assertEqual(max(seen.values()), 2)
            # The padding is the start of the epoch's order, the same on both ranks.
            first = plan.epoch_order(n, block, True, 5, epoch)[0][0]
            self.assertEqual(twice, [first])
            # Each rank read exactly what the plan gives its two readers.
            for rank in range(2):
                want = collections.Counter()
                for c in (2 * rank, 2 * rank + 1):
                    for b, e in plan.reader_ranges(n, block, readers, c, True, 5, epoch):
                        want.update(range(b, e))
                got = collections.Counter(i for b in ranks[rank][epoch] for i in b)
                self.assertEqual(got, want)
            orders.append([i for r in ranks for b in r[epoch] for i in b])
        self.assertNotEqual(orders[0], orders[1], "two epochs read rows in the same order")

    def test_every_dtype_reads_back_bit_exact(self):
        src = loader_data.dtype_tensors()
        names = sorted(src)
        ds = EcluseDataset(RES, grant("dtypes"), tensors=names, batch_size=100,
                           window_bytes=4096)
        batches = list(ds)
        self.assertEqual(len(batches), -(-loader_data.DTYPE_ROWS // 100))
        for k, name in enumerate(names):
            dt, want = src[name]
            got = torch.cat([b[k] for b in batches])
            if dt == "BF16":
                self.assertEqual(got.dtype, torch.bfloat16)
            if dt.startswith("F8"):
                real = {"F8_E4M3": "float8_e4m3fn", "F8_E5M2": "float8_e5m2"}[dt]
                self.assertEqual(got.dtype, getattr(torch, real, torch.uint8))
            raw = got.view(torch.uint8) if got.dtype != torch.bool else got
            self.assertEqual(raw.numpy().tobytes(), want.tobytes(), "%s (%s) differs" % (name, dt))

    def test_the_grpcio_path_reads_the_same_rows(self):
        ds = EcluseDataset(RES, grant("rows"), batch_size=300, window_bytes=4000, native=False)
        labels = torch.cat([y for _, y in ds])
        self.assertEqual(labels.tolist(), list(range(loader_data.ROWS)))

    def test_an_unknown_dtype_is_refused_by_name(self):
        with self.assertRaises(UnknownDtypeError) as e:
            numpy_dtype("F4", "weights")
        self.assertIn("'weights'", str(e.exception))
        self.assertIn("'F4'", str(e.exception))

    def test_a_grant_for_another_tensor_is_refused_before_reading(self):
        ds = EcluseDataset(RES, grant("rows"), tensors=("features", "pixels"))
        with self.assertRaises(_native.NativeError) as e:
            list(ds)
        self.assertIn("'pixels'", str(e.exception))
        self.assertEqual(e.exception.code, "not_found")

    def test_a_damaged_grant_is_refused_before_anything_is_sent(self):
        from ecluse import load_grant
        g = load_grant(grant("rows"))
        g.signature = bytes([g.signature[0] ^ 1]) + g.signature[1:]
        with self.assertRaises(_native.NativeError) as e:
            list(EcluseDataset(RES, g))
        self.assertEqual(e.exception.code, "crypto")
        self.assertIn("signature does not verify", str(e.exception))

    def test_memory_stays_bounded(self):
        # A fresh interpreter: its high-water mark before and after reading
        # the whole "big" shard (64 MiB; 8 MiB when scaled down for valgrind)
        # with a window of 4 MiB (256 KiB), batches dropped as they come. It
        # may grow by a fixed 32 MiB (gRPC's buffers, which grow with its
        # flow-control window on a busy machine, and threads: 16-25 MiB
        # measured) and 6 windows (measured 4-5: two in C, the one Python
        # fills, the one the caller's last batch is a view of), whatever the
        # shard's size: 56 MiB here, less than the shard alone.
        window = 4 << 20 if SCALE <= 1 else 256 << 10
        limit = (32 << 20) + 6 * window
        if os.environ.get("ECLUSE_SANITIZED") == "1":  # ASan's shadow: 1/8 of what was touched
            limit += loader_data.big_tensors(SCALE)["features"][1].nbytes // 8
        code = r"""
import os, sys, torch
from ecluse import EcluseDataset
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
ds = EcluseDataset(os.environ["ECLUSE_RESEARCHER"], sys.argv[1], tensors=("features",),
                   batch_size=256, window_bytes=int(sys.argv[2]))
before = hwm()
rows = total = 0
for (x,) in ds:
    total += float(x[:, 0].sum())
    rows += x.shape[0]
print(rows, hwm() - before, total)
"""
        out = subprocess.run([sys.executable, "-c", code, grant("big"), str(window)],
                             check=True, capture_output=True, text=True).stdout.split()
        rows, grew = int(out[0]), int(out[1])
        feats = loader_data.big_tensors(SCALE)["features"][1]
        self.assertEqual(rows, feats.shape[0])
        self.assertEqual(float(out[2]), float(feats[:, 0].astype(np.float64).sum()))
        print("memory: %d MiB read, peak RSS grew %.1f MiB (limit %d MiB)"
              % (feats.nbytes >> 20, grew / 2**20, limit >> 20))
        self.assertLess(grew, limit)


if __name__ == "__main__":
    unittest.main(verbosity=2)
