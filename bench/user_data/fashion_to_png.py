#!/usr/bin/env python3
"""Writes Fashion-MNIST (IDX .gz) as PNG class folders, standard library only (zlib PNG writer).

    python3 bench/user_data/fashion_to_png.py ../shared/data/fashion-mnist /tmp/fashion-png

Writes `train/<class>/<index>.png` (60,000 images) and `test/<class>/<index>.png` (10,000),
8-bit greyscale 28x28, class folders named `0-t-shirt` ... `9-ankle-boot` so that their name
order is the label order. Validation is then held out of `train/` by qfront's seeded fraction.
"""
import gzip
import struct
import sys
import zlib
from pathlib import Path

CLASSES = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle-boot"]


def png(width, height, pixels):
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + pixels[y * width:(y + 1) * width] for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 6)) + chunk(b"IEND", b"")


def read_idx(path):
    data = gzip.open(path).read()
    magic, count = struct.unpack(">II", data[:8])
    if magic == 0x0803:
        height, width = struct.unpack(">II", data[8:16])
        return count, height, width, data[16:]
    return count, 0, 0, data[8:]


source, out = Path(sys.argv[1]), Path(sys.argv[2])
for split, stem in (("train", "train"), ("test", "t10k")):
    n, h, w, images = read_idx(source / f"{stem}-images-idx3-ubyte.gz")
    _, _, _, labels = read_idx(source / f"{stem}-labels-idx1-ubyte.gz")
    for c, name in enumerate(CLASSES):
        (out / split / f"{c}-{name}").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        label = labels[i]
        path = out / split / f"{label}-{CLASSES[label]}" / f"{i:05d}.png"
        path.write_bytes(png(w, h, images[i * h * w:(i + 1) * h * w]))
    print(f"{out / split}: {n} images", file=sys.stderr)
