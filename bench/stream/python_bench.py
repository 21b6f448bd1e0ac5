"""EcluseDataset throughput, time to first batch and memory, against `ecluse
fetch` of the same selection (run by python_bench.sh; ratios from one run).

  --make DIR --mib N     write DIR/bench.safetensors (features F32 [N*256, 1024])
                         and its policy DIR/bench.json
  --run DIR ...          read it with EcluseDataset in this (fresh) interpreter
"""
import argparse
import json
import os
import sys
import time

import numpy as np


def make(d, mib):
    rows = mib * 256
    header = {"features": {"dtype": "F32", "shape": [rows, 1024],
                           "data_offsets": [0, rows * 4096]}}
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    block = np.arange(256 * 1024, dtype=np.float32).tobytes()  # 1 MiB
    with open(os.path.join(d, "bench.safetensors"), "wb") as f:
        f.write(len(h).to_bytes(8, "little"))
        f.write(h)
        for _ in range(mib):
            f.write(block)
    policy = {"ecluse_policy": 1, "dataset": "fi/bench", "description": "Synthetic bench rows.",
              "category": "special", "special_categories": ["health"], "pseudonymised": True,
              "lawful_bases": ["art6-1-e", "art9-2-j"],
              "purposes": {"allowed": ["HMB"], "modifiers": ["NPU", "IRB", "PUB", "RTN"]},
              "tensors": [{"name": "features"}],
              "minimisation": {"default": {"tensors": ["features"], "max_rows": 1 << 30}},
              "storage": {"access_until": "2030-12-31", "max_grant_days": 90,
                          "retention_days": 180},
              "transfers": {"allow": ["eea", "adequacy", "scc"]},
              "research": {"ethics_approval_required": True, "pseudonymised_only": True}}
    with open(os.path.join(d, "bench.json"), "w") as f:
        json.dump(policy, f)


def hwm():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def run(a):
    import torch  # noqa: F401  (the interpreter's own, counted before the read)
    from ecluse import EcluseDataset, _native
    if _native.load() is None:
        sys.exit("python_bench: libecluse_client.so not found")
    ds = EcluseDataset(a.identity, os.path.join(a.run, "bench.grant"), tensors=("features",),
                       batch_size=a.batch, window_bytes=a.window_mib << 20)
    base = hwm()
    start = time.monotonic()
    first, rows, check = None, 0, 0.0
    for (x,) in ds:
        if first is None:
            first = time.monotonic() - start
        rows += x.shape[0]
        check += float(x[0, 0])
    took = time.monotonic() - start
    grew = hwm() - base
    mib = rows * 4096 / 2**20
    fetch_rate = mib / a.fetch_seconds
    rate = mib / took
    print("python bench: %.0f MiB, batches of %d rows, window %d MiB" % (mib, a.batch,
                                                                        a.window_mib))
    print("| measure | value | target |")
    print("|---|---|---|")
    print("| ecluse fetch (C, to a file) | %.0f MiB/s | - |" % fetch_rate)
    print("| EcluseDataset | %.0f MiB/s | - |" % rate)
    print("| EcluseDataset / ecluse fetch | %.2fx | >= 0.8x |" % (rate / fetch_rate))
    print("| time to the first batch | %.3f s | < 1 s |" % first)
    print("| peak RSS above the interpreter's own | %.1f MiB | < 256 MiB |" % (grew / 2**20))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--make")
    ap.add_argument("--run")
    ap.add_argument("--mib", type=int, default=256)
    ap.add_argument("--identity")
    ap.add_argument("--fetch-seconds", type=float)
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--window-mib", type=int, default=4)
    a = ap.parse_args()
    if a.make:
        make(a.make, a.mib)
    else:
        run(a)


if __name__ == "__main__":
    main()
