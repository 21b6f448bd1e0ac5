"""A PyTorch IterableDataset that streams a granted dataset, sharded by rank."""
import torch
import torch.distributed as dist
from torch.utils.data import IterableDataset

import os

from .client import Client, save_receipt


def _rank_world():
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class EcluseDataset(IterableDataset):
    """Yields (features, label) batches of this process's shard.

    Shard k of n is asked of the gateway (Shard{index=rank, count=world_size}),
    so each rank streams only its own rows and the shards together cover
    every row exactly once. Each worker of a DataLoader splits further by
    worker id. Rows are read once per epoch, checked chunk by chunk. With
    `receipt_dir`, each read's receipt is written there as
    <read_id>.receipt.json (`ecluse audit receipt verify` checks it)."""

    def __init__(self, identity_dir, grant, features="features", labels="labels",
                 batch_size=64, rank=None, world_size=None, gateway=None, receipt_dir=None):
        self.identity_dir, self.grant, self.gateway = identity_dir, grant, gateway
        self.receipt_dir = receipt_dir
        self.features, self.labels, self.batch_size = features, labels, batch_size
        r, w = _rank_world()
        self.rank = r if rank is None else rank
        self.world_size = w if world_size is None else world_size

    def shard(self):
        info = torch.utils.data.get_worker_info()
        workers, wid = (info.num_workers, info.id) if info else (1, 0)
        return self.rank * workers + wid, self.world_size * workers

    def __iter__(self):
        client = Client(self.identity_dir, self.gateway)
        try:
            arrays = client.read(self.grant, tensors=(self.features, self.labels),
                                 shard=self.shard(), receipt=self.receipt_dir is not None)
            r = client.last_receipt
            if r is not None:
                save_receipt(r, os.path.join(self.receipt_dir, r.read_id + ".receipt.json"))
        finally:
            client.close()
        x = torch.from_numpy(arrays[self.features].copy())
        y = torch.from_numpy(arrays[self.labels].copy())
        for i in range(0, x.shape[0], self.batch_size):
            yield x[i:i + self.batch_size], y[i:i + self.batch_size]
