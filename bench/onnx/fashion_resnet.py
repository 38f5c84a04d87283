"""Trains a ResNet-style CNN on Fashion-MNIST in PyTorch (float) and exports it to ONNX, the
starting point of qfront's import check (issue #11: ONNX → QAT W4A4 → .qfm).

Made with PyTorch 2.15.0 (CPU), onnx 1.23.2:

    python bench/onnx/fashion_resnet.py DATA_DIR OUT.onnx [EPOCHS]

DATA_DIR holds `fashion-mnist/` (the IDX files). The network reads pixels / 255 with no
mean/std normalisation — exactly what `qfront train --dataset fashion-mnist` feeds. It is
`make_fixtures.ResNet` (stem, one identity-shortcut block per stage, stride-2 transitions,
global average pooling) at widths 16/32/64, trained with SGD + momentum and a cosine
schedule. The float test accuracy goes to stderr.
"""

import gzip
import pathlib
import sys
import time

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from make_fixtures import ResNet  # noqa: E402


def idx(path: pathlib.Path) -> np.ndarray:
    """Reads a gzipped IDX file."""
    data = gzip.decompress(path.read_bytes())
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def main() -> None:
    root = pathlib.Path(sys.argv[1]) / "fashion-mnist"
    out = pathlib.Path(sys.argv[2])
    epochs = int(sys.argv[3]) if len(sys.argv) > 3 else 6
    torch.manual_seed(0)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    x = torch.from_numpy(idx(root / "train-images-idx3-ubyte.gz").astype(np.float32) / 255.0)
    y = torch.from_numpy(idx(root / "train-labels-idx1-ubyte.gz").astype(np.int64))
    xt = torch.from_numpy(idx(root / "t10k-images-idx3-ubyte.gz").astype(np.float32) / 255.0)
    yt = torch.from_numpy(idx(root / "t10k-labels-idx1-ubyte.gz").astype(np.int64))
    x, xt = x.unsqueeze(1), xt.unsqueeze(1)
    model = ResNet(widths=(16, 32, 64))
    batch = 128
    steps = epochs * ((len(x) + batch - 1) // batch)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    start = time.time()
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(x))
        for i in range(0, len(x), batch):
            take = order[i : i + batch]
            loss = nn.functional.cross_entropy(model(x[take]), y[take])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
        model.eval()
        with torch.no_grad():
            correct = sum(
                (model(xt[i : i + 1000]).argmax(1) == yt[i : i + 1000]).sum().item()
                for i in range(0, len(xt), 1000)
            )
        print(
            f"epoch {epoch + 1}: loss {loss.item():.3f}, test accuracy {correct / len(xt):.4f}"
            f" ({time.time() - start:.0f} s)",
            file=sys.stderr,
        )
    model.eval()
    program = torch.onnx.export(
        model,
        (torch.zeros(1, 1, 28, 28),),
        dynamo=True,
        opset_version=18,
        input_names=["image"],
        output_names=["logits"],
        dynamic_shapes={"x": {0: torch.export.Dim("batch")}},
    )
    program.save(str(out))
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
