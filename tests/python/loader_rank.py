"""One rank of the loader test's data-parallel job (started twice by
loader_test.py): torch.distributed over gloo on 127.0.0.1, a DataLoader
with 2 workers over EcluseDataset, shuffled, 2 epochs. Writes, per epoch,
the labels of each batch in the order they came, and checks every row
against its label (features row i is i + j/8)."""
import json
import os
import sys

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader

from ecluse import EcluseDataset


def main():
    rank, world, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    dist.init_process_group("gloo", init_method="tcp://127.0.0.1:%s" % sys.argv[4],
                            rank=rank, world_size=world)
    ds = EcluseDataset(os.environ["ECLUSE_RESEARCHER"], os.environ["ECLUSE_GRANT"],
                       batch_size=16, shuffle=True, seed=5, window_bytes=40 * 37)
    loader = DataLoader(ds, batch_size=None, num_workers=2)
    epochs = []
    for epoch in range(2):
        ds.set_epoch(epoch)
        batches = []
        for x, y in loader:
            want = y.to(torch.float32)[:, None] + torch.arange(8, dtype=torch.float32)[None, :] / 8
            assert torch.equal(x, want), "rank %d: a row differs from its source" % rank
            batches.append(y.tolist())
        # Every rank ends the epoch with the same count: a collective that
        # would hang otherwise is what DDP does at each step.
        n = torch.tensor([len(batches)])
        dist.all_reduce(n, op=dist.ReduceOp.MAX)
        assert n.item() == len(batches), "rank %d: %d batches, another rank %d" % (
            rank, len(batches), n.item())
        epochs.append(batches)
    with open(out, "w") as f:
        json.dump(epochs, f)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
