#!/usr/bin/env python3
"""A plain PyTorch training loop, the peer of `qfront train` in bench/train_epoch.sh.

One run, timed end to end like a `qfront train` process: read the data files, split off the
validation set, build the model, then per epoch shuffle, train and evaluate on the validation
set, and finally evaluate on the test set. The models and the QAT recipe (PACT, SAWB, 8-bit
min-max first/last layers) are bench/train_step_torch.py's, so they match qfront's LeNet and
SNIPS NLU models; the optimizer and schedule are `qfront train`'s defaults (Adam, lr 3e-3,
weight decay 1e-4, cosine annealing per step to 0), the PACT alpha is clamped after each step.

* fashion-mnist: the IDX files under DATA_DIR/fashion-mnist, 10% of train held out for
  validation, LeNet on 1x28x28 pixels scaled to [0, 1];
* snips: the 2017-06 custom-intent-engines JSON files under DATA_DIR/snips (train_*_full for
  training with 700 held out for validation, validate_* as the test set), tokenized like
  qfront (lower-case, alphanumeric words with inner apostrophes, 1 + FNV-1a-64 mod 4096,
  32 tokens), the NLU model.

Prints one JSON line. Usage:
  epoch_torch.py --dataset fashion-mnist|snips --data-dir DIR [--epochs 1] [--bits 4]
                 [--batch-size 64] [--threads 2] [--seed 0]
"""
import argparse
import gzip
import json
import math
import os
import re
import time

import numpy as np
import torch
import torch.nn.functional as F

from train_step_torch import Lenet, Nlu, Pact

WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def encode(text, buckets=4096, max_tokens=32):
    ids = [1 + fnv1a64(w.encode()) % buckets for w in WORD.findall(text.lower())][:max_tokens]
    return ids + [0] * (max_tokens - len(ids))


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load_fashion(root, seed):
    d = os.path.join(root, "fashion-mnist")
    x = read_idx(os.path.join(d, "train-images-idx3-ubyte.gz")).astype(np.float32) / 255.0
    y = read_idx(os.path.join(d, "train-labels-idx1-ubyte.gz")).astype(np.int64)
    xt = read_idx(os.path.join(d, "t10k-images-idx3-ubyte.gz")).astype(np.float32) / 255.0
    yt = read_idx(os.path.join(d, "t10k-labels-idx1-ubyte.gz")).astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(x))
    held = 5000  # qfront's Fashion-MNIST validation split
    val, train = order[:held], order[held:]
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a))
    return ((t(x[train][:, None]), t(y[train])), (t(x[val][:, None]), t(y[val])),
            (t(xt[:, None]), t(yt)), 10)


def load_snips(root, seed):
    base = os.path.join(root, "snips", "2017-06-custom-intent-engines")
    intents = sorted(os.listdir(base))
    def read(intent, name):
        with open(os.path.join(base, intent, name), encoding="latin-1") as f:
            rows = json.load(f)[intent]
        return [encode("".join(part["text"] for part in row["data"])) for row in rows]
    train, test = [], []
    for label, intent in enumerate(intents):
        train += [(ids, label) for ids in read(intent, f"train_{intent}_full.json")]
        test += [(ids, label) for ids in read(intent, f"validate_{intent}.json")]
    order = np.random.default_rng(seed).permutation(len(train))
    val = [train[i] for i in order[:700]]
    train = [train[i] for i in order[700:]]
    t = lambda rows: (torch.tensor([r[0] for r in rows]), torch.tensor([r[1] for r in rows]))
    return t(train), t(val), t(test), len(intents)


def inputs(model, x):
    return (x,) if isinstance(model, Lenet) else (x, (x != 0).float())


def accuracy(model, split, batch=256):
    model.eval()
    x, y = split
    correct = 0
    with torch.no_grad():
        for i in range(0, len(y), batch):
            correct += (model(*inputs(model, x[i:i + batch])).argmax(1) == y[i:i + batch]).sum().item()
    model.train()
    return correct / len(y)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", choices=["fashion-mnist", "snips"], required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--bits", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    started = time.perf_counter()
    load = load_fashion if args.dataset == "fashion-mnist" else load_snips
    train, val, test, classes = load(args.data_dir, args.seed)
    edge = 32 if args.bits >= 32 else 8
    model = (Lenet(args.bits, args.bits, edge, classes=classes) if args.dataset == "fashion-mnist"
             else Nlu(args.bits, args.bits, edge, classes=classes))
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
    n = len(train[1])
    steps = math.ceil(n / args.batch_size) * args.epochs
    schedule = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    pacts = [m for m in model.modules() if isinstance(m, Pact)]
    gen = torch.Generator().manual_seed(args.seed)
    trained = time.perf_counter()
    for _ in range(args.epochs):
        order = torch.randperm(n, generator=gen)
        for i in range(0, n, args.batch_size):
            rows = order[i:i + args.batch_size]
            x, y = train[0][rows], train[1][rows]
            loss = F.cross_entropy(model(*inputs(model, x)), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            schedule.step()
            with torch.no_grad():
                for p in pacts:
                    p.alpha.clamp_(min=1e-3)
        val_accuracy = accuracy(model, val)
    train_seconds = time.perf_counter() - trained
    test_accuracy = accuracy(model, test)
    print(json.dumps({
        "bench": "train-epoch", "framework": f"pytorch {torch.__version__}",
        "dataset": args.dataset, "bits": args.bits, "epochs": args.epochs,
        "batch_size": args.batch_size, "threads": torch.get_num_threads(),
        "train_examples": n, "seconds": time.perf_counter() - started,
        "train_seconds": train_seconds, "samples_per_second": n * args.epochs / train_seconds,
        "val_accuracy": val_accuracy, "test_accuracy": test_accuracy,
    }))


if __name__ == "__main__":
    main()
