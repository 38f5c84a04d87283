"""Writes the ONNX fixtures of `qfront-train`'s import tests and their reference outputs.

Made with PyTorch 2.15.0 (torch.onnx.export: the dynamo exporter at opset 18, and for
`resnet_opset13` the TorchScript exporter at opset 13 without constant folding, which keeps
the BatchNormalization nodes), onnx 1.23.2 and ONNX Runtime 1.32.0 on CPU:

    python bench/onnx/make_fixtures.py crates/qfront-train/tests/fixtures/onnx

Each model is a small float network with seeded random weights and BatchNorm statistics
(so that folding them is exercised), exported in eval mode. Beside each `NAME.onnx` goes
`NAME.json`: the input shape, eight inputs as 8-bit pixel codes (qfront feeds code/255), and the
logits ONNX Runtime computes for them (and PyTorch's, which must agree within 1e-5).
"""

import json
import pathlib
import sys

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn


def seeded_batch_norm(bn: nn.BatchNorm2d, generator: torch.Generator) -> None:
    """Gives a BatchNorm non-trivial statistics and affine parameters."""
    c = bn.num_features
    with torch.no_grad():
        bn.running_mean.copy_(torch.randn(c, generator=generator) * 0.1)
        bn.running_var.copy_(torch.rand(c, generator=generator) * 0.5 + 0.75)
        bn.weight.copy_(torch.rand(c, generator=generator) * 0.5 + 0.75)
        bn.bias.copy_(torch.randn(c, generator=generator) * 0.1)


class Cnn(nn.Module):
    """conv-BN-ReLU-maxpool, conv(bias)-ReLU-maxpool, flatten, linear-ReLU, linear."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 12, 3, padding=1)
        self.fc1 = nn.Linear(12 * 7 * 7, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = nn.functional.max_pool2d(torch.relu(self.bn1(self.conv1(x))), 2)
        x = nn.functional.max_pool2d(torch.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc2(torch.relu(self.fc1(x)))


class Block(nn.Module):
    """A basic residual block with an identity shortcut: conv-BN-ReLU-conv-BN, add, ReLU."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x):
        h = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(h)) + x)


class Down(nn.Module):
    """A stride-2 convolution that widens the channels: conv-BN-ReLU."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, stride=2, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return torch.relu(self.bn(self.conv(x)))


class ResNet(nn.Module):
    """A ResNet-style CNN: stem, a residual block per stage, stride-2 transitions, global
    average pooling, linear classifier."""

    def __init__(self, widths=(16, 32, 64), classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, widths[0], 3, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(widths[0])
        stages = []
        for i, w in enumerate(widths):
            if i > 0:
                stages.append(Down(widths[i - 1], w))
            stages.append(Block(w))
        self.stages = nn.Sequential(*stages)
        self.classifier = nn.Linear(widths[-1], classes)

    def forward(self, x):
        x = torch.relu(self.stem_bn(self.stem(x)))
        x = self.stages(x)
        x = torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)
        return self.classifier(x)


class Mlp(nn.Module):
    """flatten, linear-ReLU, linear."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(64, 24)
        self.fc2 = nn.Linear(24, 10)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(torch.flatten(x, 1))))


class Sigmoid(nn.Module):
    """An operator qfront does not import (the refusal test): flatten, linear, sigmoid, linear."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(64, 16)
        self.fc2 = nn.Linear(16, 10)

    def forward(self, x):
        return self.fc2(torch.sigmoid(self.fc1(torch.flatten(x, 1))))


class Depthwise(nn.Module):
    """A depthwise convolution and a windowed average pooling."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1, groups=4)
        self.fc = nn.Linear(4 * 4 * 4, 10)

    def forward(self, x):
        x = torch.relu(self.conv2(torch.relu(self.conv1(x))))
        x = nn.functional.avg_pool2d(x, 2)
        return self.fc(torch.flatten(x, 1))


class Text(nn.Module):
    """A text model on qfront's hashed token ids (1024 buckets + the padding row 0):
    embedding, a 1-D convolution over tokens, ReLU, max over tokens, linear."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(1025, 16, padding_idx=0)
        self.conv = nn.Conv1d(16, 24, 3, padding=1)
        self.fc = nn.Linear(24, 7)

    def forward(self, ids):
        h = torch.relu(self.conv(self.embedding(ids).transpose(1, 2)))
        return self.fc(h.amax(dim=2))


class TextMean(Text):
    """The same with the mean over tokens."""

    def forward(self, ids):
        h = torch.relu(self.conv(self.embedding(ids).transpose(1, 2)))
        return self.fc(h.mean(dim=2))


def write_reference(model: nn.Module, path: pathlib.Path, input_name: str, inputs, fields) -> None:
    """Runs `inputs` through ONNX Runtime and PyTorch (they must agree within 1e-5) and writes
    `fields` with ORT's logits beside the model as JSON."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    logits = session.run(None, {input_name: inputs})[0]
    with torch.no_grad():
        reference = model(torch.from_numpy(inputs)).numpy()
    gap = float(np.abs(reference - logits).max())
    assert gap < 1e-5, f"{path.name}: PyTorch and ONNX Runtime differ by {gap}"
    record = {
        "made_with": {
            "torch": torch.__version__,
            "onnx": onnx.__version__,
            "onnxruntime": ort.__version__,
        },
        **fields,
        "logits": logits.tolist(),
    }
    path.with_suffix(".json").write_text(json.dumps(record) + "\n")
    print(f"{path}: {path.stat().st_size} bytes, torch vs ORT max diff {gap:.2e}")


def export_text(model: nn.Module, tokens: int, path: pathlib.Path) -> None:
    """Exports a text model reading `[batch, tokens]` int64 ids; the reference inputs fill
    every position with a real token (ids 1..=1024), since qfront pools over real tokens
    only while `ReduceMax`/`ReduceMean` pool over every position."""
    model.eval()
    program = torch.onnx.export(
        model,
        (torch.ones(1, tokens, dtype=torch.int64),),
        dynamo=True,
        opset_version=18,
        input_names=["ids"],
        output_names=["logits"],
        dynamic_shapes={"ids": {0: torch.export.Dim("batch")}},
    )
    program.save(str(path))
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    ids = np.random.default_rng(11).integers(1, 1025, size=(8, tokens)).astype(np.int64)
    write_reference(model, path, "ids", ids, {"tokens": tokens, "ids": ids.tolist()})


def export(model: nn.Module, shape, path: pathlib.Path, legacy_opset=None) -> None:
    """Exports `model` (eval mode) to `path` and writes the reference outputs beside it.

    `legacy_opset`: use the TorchScript exporter at that opset without constant folding,
    which keeps `BatchNormalization` nodes, `GlobalAveragePool` and `Flatten` (the dynamo
    exporter folds BatchNorm into the convolutions and emits `ReduceMean` and `Reshape`)."""
    model.eval()
    example = torch.zeros(1, *shape)
    if legacy_opset is None:
        program = torch.onnx.export(
            model,
            (example,),
            dynamo=True,
            opset_version=18,
            input_names=["image"],
            output_names=["logits"],
            dynamic_shapes={"x": {0: torch.export.Dim("batch")}},
        )
        program.save(str(path))
    else:
        torch.onnx.export(
            model,
            (example,),
            str(path),
            dynamo=False,
            opset_version=legacy_opset,
            do_constant_folding=False,
            input_names=["image"],
            output_names=["logits"],
            dynamic_axes={"image": {0: "batch"}},
        )
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    generator = np.random.default_rng(7)
    x = generator.integers(0, 256, size=(8, *shape)).astype(np.float32) / 255.0
    pixels = np.rint(x * 255).astype(int).reshape(len(x), -1).tolist()
    write_reference(model, path, "image", x, {"input_shape": list(shape), "pixels": pixels})


def main() -> None:
    out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "crates/qfront-train/tests/fixtures/onnx")
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(1)
    for name, model, shape in [
        ("cnn", Cnn(), (1, 28, 28)),
        ("resnet", ResNet(widths=(8, 12, 16)), (1, 16, 16)),
        ("mlp", Mlp(), (1, 8, 8)),
        ("sigmoid", Sigmoid(), (1, 8, 8)),
        ("depthwise", Depthwise(), (1, 8, 8)),
    ]:
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                seeded_batch_norm(module, generator)
        export(model, shape, out / f"{name}.onnx")
    model = ResNet(widths=(8, 12, 16))
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            seeded_batch_norm(module, generator)
    export(model, (1, 16, 16), out / "resnet_opset13.onnx", legacy_opset=13)
    export_text(Text(), 12, out / "text_max.onnx")
    export_text(TextMean(), 12, out / "text_mean.onnx")


if __name__ == "__main__":
    main()
