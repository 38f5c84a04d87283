#!/usr/bin/env python3
"""PyTorch side of the training-step benchmark (bench/train_step.sh).

Two models, each exactly as `qfront bench train-step` builds it:

* `--model lenet` (qfront-train models/lenet.rs): [conv 5x5 same (no bias) -> BatchNorm -> PACT
  -> maxpool 2] x 2 -> FC -> PACT -> FC, channels 16/32, hidden 128, input 1x28x28, 10 classes;
* `--model nlu` (models/nlu.rs, the SNIPS intent model): hashed-word embedding (4096 buckets + a
  padding row, 64 dims) -> conv1d k3 64->128 (bias) -> PACT -> max over the real tokens -> FC
  to 7 intents, 32 tokens per utterance.

QAT exactly as qfront does it (methods-spec §1.2, §2): PACT with a learnable alpha per layer
(paper gradient, STE through the rounding), SAWB per-tensor weight scales on the 2^b-level grid
with the S2 coefficients for the middle layers, and the first and last layer (the embedding and
the classifier of the NLU model) at 8 bits with symmetric min-max scales (qfront's default edge
quantizer). SGD momentum 0.9, lr 0.01, weight decay 1e-4, fixed random batch; the timed step
includes building the batch tensors, forward, loss, backward, update and the alpha clamp.

Prints one JSON line like qfront's.
Usage: train_step_torch.py --model lenet|nlu --bits 32|2..8 [--threads 2] [--batch-size N]
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# SAWB no-zero-grid coefficients (c1, c2), IBM fms-model-optimizer `dic_coeff` (methods-spec §2.3);
# 6 and 7 bits are qfront's fitted values (crates/qfront-quant/data/sawb-fit.json).
SAWB = {2: (3.12, 2.064), 3: (7.509, 6.892), 4: (12.68, 12.80), 5: (17.74, 18.64),
        6: (22.1985, 23.8118), 7: (27.375, 29.866), 8: (31.76, 35.04)}


def sawb_quantize(w, bits):
    if bits >= 32:
        return w
    c1, c2 = SAWB[bits]
    wd = w.detach()
    alpha = c1 * wd.pow(2).mean().sqrt() - c2 * wd.abs().mean()
    if alpha <= 0:
        alpha = wd.abs().max()
    n = 2 ** bits - 1
    u = (wd / alpha).clamp(-1, 1) * 0.5 + 0.5
    q = (u * n).round() * (2.0 / n) - 1.0
    q = q * alpha
    return w + (q - wd)


def minmax_quantize(w, bits):
    """Symmetric min-max: s = max|w| / (2^(b-1) - 1), w_q = s * clamp(round(w / s))."""
    if bits >= 32:
        return w
    wd = w.detach()
    n = 2 ** (bits - 1) - 1
    s = wd.abs().max().clamp_min(1e-12) / n
    q = (wd / s).round().clamp(-n, n) * s
    return w + (q - wd)


def edge_quantize(w, bits):
    return minmax_quantize(w, bits)


class Pact(nn.Module):
    def __init__(self, bits, alpha=4.0):
        super().__init__()
        self.bits = bits
        self.alpha = nn.Parameter(torch.tensor(alpha))

    def forward(self, x):
        # Paper partition: [0, alpha) passes x, [alpha, inf) passes alpha.
        clipped = torch.where(x >= self.alpha, self.alpha, x.clamp_min(0.0))
        if self.bits >= 32:
            return clipped
        n = 2 ** self.bits - 1
        a = self.alpha.detach()
        c = clipped.detach()
        q = (c * (n / a)).round() * (a / n)
        return clipped + (q - c)


class QConv(nn.Conv2d):
    def __init__(self, cin, cout, k, bits, edge=False):
        super().__init__(cin, cout, k, padding=k // 2, bias=False)
        self.bits = bits
        self.quantize = edge_quantize if edge else sawb_quantize

    def forward(self, x):
        return F.conv2d(x, self.quantize(self.weight, self.bits), None, padding=self.padding)


class QConv1d(nn.Conv1d):
    def __init__(self, cin, cout, k, bits):
        super().__init__(cin, cout, k, padding=k // 2, bias=True)
        self.bits = bits

    def forward(self, x):
        return F.conv1d(x, sawb_quantize(self.weight, self.bits), self.bias, padding=self.padding)


class QLinear(nn.Linear):
    def __init__(self, fin, fout, bits, edge=False):
        super().__init__(fin, fout)
        self.bits = bits
        self.quantize = edge_quantize if edge else sawb_quantize

    def forward(self, x):
        return F.linear(x, self.quantize(self.weight, self.bits), self.bias)


class Lenet(nn.Module):
    def __init__(self, wbits, abits, edge_bits, c1=16, c2=32, hidden=128, classes=10):
        super().__init__()
        self.conv1 = QConv(1, c1, 5, edge_bits, edge=True)
        self.bn1 = nn.BatchNorm2d(c1)
        self.act1 = Pact(abits)
        self.conv2 = QConv(c1, c2, 5, wbits)
        self.bn2 = nn.BatchNorm2d(c2)
        self.act2 = Pact(abits)
        self.fc = QLinear(c2 * 7 * 7, hidden, wbits)
        self.act3 = Pact(abits)
        self.classifier = QLinear(hidden, classes, edge_bits, edge=True)

    def forward(self, x):
        x = F.max_pool2d(self.act1(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(self.act2(self.bn2(self.conv2(x))), 2)
        x = self.act3(self.fc(x.flatten(1)))
        return self.classifier(x)


class Nlu(nn.Module):
    def __init__(self, wbits, abits, edge_bits, buckets=4096, dim=64, hidden=128, kernel=3,
                 classes=7):
        super().__init__()
        self.edge_bits = edge_bits
        self.embedding = nn.Embedding(buckets + 1, dim)
        self.conv = QConv1d(dim, hidden, kernel, wbits)
        self.act = Pact(abits)
        self.classifier = QLinear(hidden, classes, edge_bits, edge=True)

    def forward(self, ids, mask):
        h = F.embedding(ids, edge_quantize(self.embedding.weight, self.edge_bits))  # [b, t, d]
        h = self.act(self.conv(h.transpose(1, 2))).transpose(1, 2)  # [b, t, hidden]
        m = mask.unsqueeze(-1)
        pooled = (h * m + (m - 1.0) * 1e4).amax(dim=1)  # max over the real tokens
        return self.classifier(pooled)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", choices=["lenet", "nlu"], default="lenet")
    parser.add_argument("--bits", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    full = args.bits >= 32
    edge = 32 if full else 8
    gen = torch.Generator().manual_seed(7)
    if args.model == "lenet":
        model = Lenet(args.bits, args.bits, edge)
        pixels = torch.rand(args.batch_size, 1, 28, 28, generator=gen)
        labels = torch.randint(0, 10, (args.batch_size,), generator=gen)

        def batch():
            return (pixels[rows],)
    else:
        model = Nlu(args.bits, args.bits, edge)
        tokens = 32
        ids = torch.randint(1, 4097, (args.batch_size, tokens), generator=gen)
        labels = torch.randint(0, 7, (args.batch_size,), generator=gen)

        def batch():
            x = ids[rows]
            return x, (x != 0).float()
    # The batch is gathered by row index each step, as a data loader's is (and as qfront's
    # bench copies its rows into fresh tensors).
    rows = torch.arange(args.batch_size)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    pacts = [m for m in model.modules() if isinstance(m, Pact)]
    times = []
    for i in range(args.warmup + args.steps):
        start = time.perf_counter()
        inputs = batch()
        y = labels[rows]
        loss = F.cross_entropy(model(*inputs), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            for p in pacts:
                p.alpha.clamp_(min=1e-3)
        loss.item()
        if i >= args.warmup:
            times.append((time.perf_counter() - start) * 1e3)
    ordered = sorted(times)
    print(json.dumps({
        "bench": "train-step",
        "framework": f"pytorch {torch.__version__}",
        "model": args.model,
        "wbits": args.bits,
        "abits": args.bits,
        "batch_size": args.batch_size,
        "threads": torch.get_num_threads(),
        "steps": args.steps,
        "median_ms": statistics.median(times),
        "mean_ms": statistics.fmean(times),
        "min_ms": ordered[0],
        "p90_ms": ordered[round((len(ordered) - 1) * 0.9)],
        "examples_per_second": args.batch_size / (statistics.median(times) / 1e3),
    }))


if __name__ == "__main__":
    main()
