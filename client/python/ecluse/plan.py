"""Which rows each reader of a data-parallel job reads, in which order
(docs/streaming.md, "The PyTorch loader"). Pure arithmetic: every rank and
worker computes the same plan from the same numbers, with no communication.

  rows N, readers R = world_size x num_workers, reader c = rank x num_workers + worker id
  blocks: [kB, min(N, (k+1)B)) for k = 0 .. ceil(N/B)-1, B = rows per window
  epoch order S: the blocks in order, or with shuffle the blocks permuted by
      numpy's PCG64 seeded with (seed, epoch)
  per-reader rows L = ceil(N/R) (pad, the default: S is extended by repeating
      its own start, as DistributedSampler does) or floor(N/R) (drop_last:
      S is cut to L x R rows)
  reader c reads positions [cL, (c+1)L) of S: a list of row ranges, each
      inside one block, so at most B rows (one window)
  with shuffle, the rows of each range are permuted again, by PCG64 seeded
      with (seed, epoch, c, range index)

So every reader reads L rows and yields the same number of batches;
within one epoch every row is read exactly once, except, with padding, the
first L x R - N rows of S, which are read twice.
"""
import numpy as np


def blocks(rows, block_rows):
    return [(b, min(rows, b + block_rows)) for b in range(0, rows, block_rows)]


def epoch_order(rows, block_rows, shuffle, seed, epoch):
    """S: the epoch's row ranges (whole blocks), in reading order."""
    bs = blocks(rows, block_rows)
    if shuffle:
        perm = np.random.Generator(np.random.PCG64([seed, epoch])).permutation(len(bs))
        bs = [bs[i] for i in perm]
    return bs


def per_reader(rows, readers, drop_last):
    return rows // readers if drop_last else -(-rows // readers)


def reader_ranges(rows, block_rows, readers, reader, shuffle=False, seed=0, epoch=0,
                  drop_last=False):
    """The row ranges reader `reader` of `readers` reads in this epoch, in order."""
    if rows == 0 or readers < 1 or not 0 <= reader < readers:
        raise ValueError("reader %d of %d over %d rows" % (reader, readers, rows))
    order = epoch_order(rows, block_rows, shuffle, seed, epoch)
    n = per_reader(rows, readers, drop_last)
    start, end = reader * n, (reader + 1) * n
    out, pos = [], 0
    while pos < end:  # S repeated from its start when padding runs past it
        for b, e in order:
            lo, hi = max(start, pos), min(end, pos + e - b)
            if lo < hi:
                out.append((b + lo - pos, b + hi - pos))
            pos += e - b
            if pos >= end:
                break
    return out


def row_permutation(rows, seed, epoch, reader, index):
    """The order of the rows inside range `index` of a reader, with shuffle."""
    g = np.random.Generator(np.random.PCG64([seed, epoch, reader, index]))
    return g.permutation(rows)
