"""Train a logistic-regression classifier on breast cancer data held at
another site, read through your home gateway.

    ecluse access request lu/breast-cancer --purpose HMB --basis art6-1-e+art9-2-j \
        --job-country FI --ethics ETH-1 --save-grant bc.grant --identity ~/.ecluse
    python3 train_breast_cancer.py --identity ~/.ecluse --grant bc.grant

The rows are read as 5 shards (ecluse Shard k of n, as 5 data-parallel ranks
would read them): shards 0-3 train, shard 4 is held out. Prints the
held-out accuracy.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import torch  # noqa: E402

from ecluse import EcluseDataset, load_grant  # noqa: E402

SHARDS = 5


def batches(identity, grant, rank):
    ds = EcluseDataset(identity, grant, batch_size=64, rank=rank, world_size=SHARDS)
    return [(x.float(), y.float()) for x, y in ds]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--identity", required=True)
    ap.add_argument("--grant", required=True)
    ap.add_argument("--epochs", type=int, default=200)
    args = ap.parse_args()
    grant = load_grant(args.grant)
    torch.manual_seed(0)

    train = [b for rank in range(SHARDS - 1) for b in batches(args.identity, grant, rank)]
    test = batches(args.identity, grant, SHARDS - 1)
    x_all = torch.cat([x for x, _ in train])
    mean, std = x_all.mean(0), x_all.std(0) + 1e-6
    rows = sum(x.shape[0] for x, _ in train) + sum(x.shape[0] for x, _ in test)

    model = torch.nn.Linear(x_all.shape[1], 1)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    for _ in range(args.epochs):
        for x, y in train:
            opt.zero_grad()
            loss = loss_fn(model((x - mean) / std).squeeze(1), y)
            loss.backward()
            opt.step()
    with torch.no_grad():
        right = total = 0
        for x, y in test:
            pred = (model((x - mean) / std).squeeze(1) > 0).float()
            right += int((pred == y).sum())
            total += y.shape[0]
    print("rows read: %d (%d training, %d held out)" % (rows, rows - total, total))
    print("held-out accuracy: %.3f" % (right / total))


if __name__ == "__main__":
    main()
