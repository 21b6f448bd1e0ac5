"""Train on a granted dataset streamed by EcluseDataset, with DataLoader
workers, and with several ranks if launched by torchrun.

    ecluse access request lu/breast-cancer ... --save-grant bc.grant --identity ~/.ecluse
    python3 train_loader.py --identity ~/.ecluse --grant bc.grant --workers 2
    torchrun --nproc_per_node 2 train_loader.py --identity ~/.ecluse --grant bc.grant

A logistic regression of the "labels" tensor (0/1) on the standardised
"features". Each epoch reads the rows in a new shuffled order (set_epoch);
every rank reads its own share and the same number of batches. Prints the
rows each epoch read and the mean loss of the last epoch.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402

from ecluse import EcluseDataset  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--identity", required=True)
    ap.add_argument("--grant", required=True)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    args = ap.parse_args()
    if "RANK" in os.environ:  # started by torchrun: one process per rank
        dist.init_process_group("gloo")
    torch.manual_seed(0)

    ds = EcluseDataset(args.identity, args.grant, tensors=("features", "labels"),
                       batch_size=args.batch, shuffle=True, seed=1)
    loader = DataLoader(ds, batch_size=None, num_workers=args.workers)
    model, mean, std = None, None, None
    for epoch in range(args.epochs):
        ds.set_epoch(epoch)
        rows, loss_sum, batches = 0, 0.0, 0
        for x, y in loader:
            x, y = x.float(), y.float()
            if model is None:  # standardise by the first batch's statistics
                mean, std = x.mean(0), x.std(0) + 1e-6
                model = torch.nn.Linear(x.shape[1], 1)
                opt = torch.optim.Adam(model.parameters(), lr=0.05)
            opt.zero_grad()
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                model((x - mean) / std).squeeze(1), y)
            loss.backward()
            if dist.is_initialized():  # what DDP does: every rank takes part in each step
                for p in model.parameters():
                    dist.all_reduce(p.grad)
                    p.grad /= dist.get_world_size()
            opt.step()
            rows += x.shape[0]
            loss_sum += loss.item()
            batches += 1
        print("epoch %d: %d rows, %d batches" % (epoch, rows, batches))
    print("last epoch's mean loss: %.4f" % (loss_sum / batches))
    if dist.is_initialized():
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
