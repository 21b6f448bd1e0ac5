"""EcluseDataset: a PyTorch IterableDataset that streams a granted dataset in
windows of verified rows, sharded across ranks and DataLoader workers.

    ds = EcluseDataset("~/.ecluse", "lu-bc.grant", tensors=("features", "labels"),
                       batch_size=256, shuffle=True, seed=7)
    loader = DataLoader(ds, batch_size=None, num_workers=2)   # ds batches itself
    for epoch in range(10):
        ds.set_epoch(epoch)
        for x, y in loader: ...

The reading runs in C (libecluse_client.so, through ctypes): a thread reads
the next window ahead while Python uses the current one, every chunk checked
against its digest and every range against its trailer before its rows are
handed out. Each window is read into a fresh numpy buffer the batches are
views of (no copy); with shuffle, a batch is gathered from its window (one
copy). Memory: the C library holds at most two windows; Python holds the
window being batched (and whatever batches the caller keeps).

Without the shared library, the same plan is read through grpcio
(ecluse.Client, slower, more memory per window); `native=True` makes a
missing library an error instead.

Which rows each rank and worker reads, and in which order, is ecluse.plan
(docs/streaming.md, "The PyTorch loader"): every reader gets the same number
of rows, so every rank the same number of batches.
"""
import os

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import IterableDataset

from . import _native, plan
from .dtypes import numpy_dtype, to_torch


def _rank_world():
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _grant_bytes(grant):
    """A grant file's path, a Grant message, or its encoding -> the encoding."""
    if isinstance(grant, (bytes, bytearray)):
        return bytes(grant)
    if isinstance(grant, (str, os.PathLike)):
        from .client import load_grant
        grant = load_grant(os.fspath(grant))
    return grant.SerializeToString()


class EcluseDataset(IterableDataset):
    """Yields tuples of torch tensors, one per name in `tensors`, of
    `batch_size` rows (the last batch of an epoch may be shorter unless
    `drop_last`).

    rank, world_size: torch.distributed's when initialised, else 0 and 1.
    shuffle, seed: a permutation of row blocks, then of rows in each window,
        from (seed, epoch): set_epoch(e) before each epoch.
    drop_last: each reader reads floor(N/R) rows and drops a last short
        batch; else ceil(N/R) rows, padded by repeating rows from the
        epoch's start, as DistributedSampler pads.
    window_bytes: rows are read in windows of at most this many bytes
        (at least one row)."""

    def __init__(self, identity_dir, grant, tensors=("features", "labels"), batch_size=64,
                 shuffle=False, seed=0, drop_last=False, window_bytes=4 << 20, rank=None,
                 world_size=None, gateway=None, native=None):
        if batch_size < 1 or window_bytes < 1:
            raise ValueError("batch_size and window_bytes must be at least 1")
        self.identity_dir, self.gateway = identity_dir, gateway
        self.grant = _grant_bytes(grant)
        self.tensors = tuple(tensors)
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed
        self.drop_last, self.window_bytes = drop_last, window_bytes
        self.native = native
        self.epoch = 0
        r, w = _rank_world()
        self.rank = r if rank is None else rank
        self.world_size = w if world_size is None else world_size

    def set_epoch(self, epoch):
        """The epoch whose order the next iteration reads (with shuffle)."""
        self.epoch = epoch

    def reader(self):
        """(this reader's index, readers): rank x DataLoader workers."""
        info = torch.utils.data.get_worker_info()
        workers, wid = (info.num_workers, info.id) if info else (1, 0)
        return self.rank * workers + wid, self.world_size * workers

    def _ranges(self, rows, row_bytes):
        reader, readers = self.reader()
        block = max(1, self.window_bytes // row_bytes)
        ranges = plan.reader_ranges(rows, block, readers, reader, self.shuffle, self.seed,
                                    self.epoch, self.drop_last)
        return ranges, block * row_bytes, reader

    def __iter__(self):
        if self.native is not False and _native.load() is not None:
            windows = self._native_windows()
        elif self.native:
            raise ImportError("libecluse_client.so not found (ECLUSE_CLIENT_LIB, or beside "
                              "the ecluse package)")
        else:
            windows = self._grpc_windows()
        return self._batches(windows)

    def _native_windows(self):
        """(reader, arrays per tensor) per window, read in C."""
        s = _native.Session(self.identity_dir, self.gateway)
        try:
            rows, row_bytes = s.granted_shape(self.grant, self.tensors)
            ranges, window, reader = self._ranges(rows, row_bytes)
            if not ranges:
                return
            rd = s.read(self.grant, self.tensors, ranges, window)
            try:
                # Every dtype is mapped from the header, before any data is used.
                layout = [(name, numpy_dtype(dt, name), dt, rb, shape)
                          for name, dt, rb, shape in rd.tensors]
                while True:
                    buf = np.empty(window, dtype=np.uint8)
                    n = rd.next_window(buf)
                    if n == 0:
                        return
                    arrays, off = {}, 0
                    for name, npdt, dt, rb, shape in layout:
                        a = buf[off:off + n * rb].view(npdt).reshape((n,) + shape)
                        arrays[name] = (a, dt)
                        off += n * rb
                    yield reader, [arrays[t] for t in self.tensors] if self.tensors else \
                        list(arrays.values())
                    # Only the caller's batches keep this window now: the
                    # next one is allocated with this one free if they are.
                    del buf, arrays
            finally:
                rd.close()
        finally:
            s.close()

    def _grpc_windows(self):
        """The same windows through grpcio (no shared library)."""
        from .client import Client, ecluse_pb2
        c = Client(self.identity_dir, self.gateway)
        try:
            g = ecluse_pb2.Grant()
            g.ParseFromString(self.grant)
            body = ecluse_pb2.GrantBody()
            body.ParseFromString(g.body)
            entry = c.catalog.Get(ecluse_pb2.GetDatasetRequest(id=body.dataset)).entry
            rows = min(entry.rows, body.max_rows) if body.max_rows else entry.rows
            infos = {t.name: t for t in entry.tensors}
            names = self.tensors or tuple(body.tensors) or tuple(infos)
            row_bytes = sum(infos[t].byte_size // infos[t].shape[0] for t in names)
            ranges, _, reader = self._ranges(rows, row_bytes)
            dtypes = {t: infos[t].dtype for t in names}
            for t in names:  # refused before any data, as the C path refuses it
                numpy_dtype(dtypes[t], t)
            for b, e in ranges:
                arrays = c.read(g, receipt=False, tensors=names, rows=(b, e))
                yield reader, [(arrays[t], dtypes[t]) for t in names]
        finally:
            c.close()

    def _batches(self, windows):
        bs, carry, index = self.batch_size, None, 0
        for reader, arrays in windows:
            n = arrays[0][0].shape[0]
            if self.shuffle:
                perm = plan.row_permutation(n, self.seed, self.epoch, reader, index)
                arrays = [(a[perm], dt) for a, dt in arrays]
            index += 1
            pos = 0
            if carry is not None:
                take = min(bs - carry[0][0].shape[0], n)
                carry = [(np.concatenate([c, a[:take]]), dt) for (c, dt), (a, _) in
                         zip(carry, arrays)]
                pos = take
                if carry[0][0].shape[0] < bs:
                    continue
                yield self._tensors(carry)
                carry = None
            while pos + bs <= n:
                yield self._tensors([(a[pos:pos + bs], dt) for a, dt in arrays])
                pos += bs
            if pos < n:  # a copy: a view would keep the whole window alive
                carry = [(a[pos:].copy(), dt) for a, dt in arrays]
            del arrays
        if carry is not None and not self.drop_last:
            yield self._tensors(carry)

    @staticmethod
    def _tensors(arrays):
        return tuple(to_torch(a, dt) for a, dt in arrays)
