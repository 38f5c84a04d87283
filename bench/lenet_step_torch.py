#!/usr/bin/env python3
"""PyTorch side of the training-step benchmark (bench/train_step.sh).

The same LeNet-style CNN as `qfront bench train-step --model lenet` (qfront-train,
models/lenet.rs): [conv 5x5 same (no bias) -> BatchNorm -> PACT -> maxpool 2] x 2 -> FC -> PACT
-> FC, channels 16/32, hidden 128, input 1x28x28, 10 classes. QAT exactly as qfront does it
(methods-spec §1.2, §2): PACT with a learnable alpha per layer (paper gradient, STE through the
rounding), SAWB per-tensor weight scales on the 2^b-level grid with the S2 coefficients, first and
last layer at 8 bits. SGD momentum 0.9, lr 0.01, weight decay 1e-4, fixed random batch, the timed
step includes building the batch tensors, forward, loss, backward, update and the alpha clamp.

Prints one JSON line like qfront's. Usage: lenet_step_torch.py --bits 32|2..8 [--threads 2]
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
    def __init__(self, cin, cout, k, bits):
        super().__init__(cin, cout, k, padding=k // 2, bias=False)
        self.bits = bits

    def forward(self, x):
        return F.conv2d(x, sawb_quantize(self.weight, self.bits), None, padding=self.padding)


class QLinear(nn.Linear):
    def __init__(self, fin, fout, bits):
        super().__init__(fin, fout)
        self.bits = bits

    def forward(self, x):
        return F.linear(x, sawb_quantize(self.weight, self.bits), self.bias)


class Lenet(nn.Module):
    def __init__(self, wbits, abits, edge_bits, c1=16, c2=32, hidden=128, classes=10):
        super().__init__()
        self.conv1 = QConv(1, c1, 5, edge_bits)
        self.bn1 = nn.BatchNorm2d(c1)
        self.act1 = Pact(abits)
        self.conv2 = QConv(c1, c2, 5, wbits)
        self.bn2 = nn.BatchNorm2d(c2)
        self.act2 = Pact(abits)
        self.fc = QLinear(c2 * 7 * 7, hidden, wbits)
        self.act3 = Pact(abits)
        self.classifier = QLinear(hidden, classes, edge_bits)

    def forward(self, x):
        x = F.max_pool2d(self.act1(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(self.act2(self.bn2(self.conv2(x))), 2)
        x = self.act3(self.fc(x.flatten(1)))
        return self.classifier(x)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bits", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    full = args.bits >= 32
    model = Lenet(args.bits, args.bits, 32 if full else 8)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    gen = torch.Generator().manual_seed(7)
    pixels = torch.rand(args.batch_size * 28 * 28, generator=gen).tolist()
    labels = torch.randint(0, 10, (args.batch_size,), generator=gen).tolist()
    pacts = [m for m in model.modules() if isinstance(m, Pact)]
    times = []
    for i in range(args.warmup + args.steps):
        start = time.perf_counter()
        x = torch.tensor(pixels).reshape(args.batch_size, 1, 28, 28)
        y = torch.tensor(labels)
        loss = F.cross_entropy(model(x), y)
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
        "model": "lenet",
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
