#!/usr/bin/env python3
"""Loading a 1,000,000-row CSV of short texts: qfront against pandas + a HuggingFace tokenizer.

    python3 bench/user_data/large_csv.py [ROWS] [WORK_DIR]

The file repeats the real SNIPS utterances shipped in data/snips (13,784 of them, with their
intents) until it has ROWS rows (default 1,000,000). Then, each in a process of its own so
that peak memory is its own:

* qfront: `qfront bench data --data big.csv` (stream, tokenize with the hashing tokenizer into
  int64 ids [rows, 32], split 80/10/10);
* Python: `pandas.read_csv`, then a HuggingFace `tokenizers` WordLevel tokenizer (lower-case,
  whitespace/punctuation pre-tokenizer, vocabulary trained on the file, padding and truncation
  to 32), `encode_batch` over every row, ids as an int64 NumPy array [rows, 32].

Prints one JSON line per side and a table with the ratios on stderr. Needs
`pip install pandas tokenizers numpy` (versions are printed).
"""
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def snips_rows():
    base = ROOT / "data/snips/2017-06-custom-intent-engines"
    for intent in sorted(p.name for p in base.iterdir() if p.is_dir()):
        for name in (f"train_{intent}_full.json", f"validate_{intent}.json"):
            doc = json.loads((base / intent / name).read_bytes().decode("utf-8", "replace"))
            for query in doc[intent]:
                text = "".join(chunk.get("text", "") for chunk in query["data"]).strip()
                if text:
                    yield text, intent


def write_file(path, rows):
    import csv
    pool = list(snips_rows())
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        for i in range(rows):
            writer.writerow(pool[i % len(pool)])


def python_side(path):
    import numpy as np
    import pandas as pd
    import tokenizers
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    start = time.perf_counter()
    frame = pd.read_csv(path)
    read = time.perf_counter() - start
    texts = frame["text"].astype(str).tolist()
    tokenizer = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.train_from_iterator(texts, trainers.WordLevelTrainer(special_tokens=["[PAD]", "[UNK]"]))
    vocabulary = time.perf_counter() - start - read
    tokenizer.enable_padding(length=32, pad_id=0)
    tokenizer.enable_truncation(max_length=32)
    # encode_batch_fast (tokenizers >= 0.21) skips character offsets, which we do not need.
    encode = getattr(tokenizer, "encode_batch_fast", tokenizer.encode_batch)
    ids = np.array([e.ids for e in encode(texts)], dtype=np.int64)
    labels = frame["label"].astype("category").cat.codes.to_numpy()
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    tensor = ids.nbytes + labels.nbytes
    print(json.dumps({
        "side": "pandas+tokenizers", "rows": len(frame), "seconds": seconds, "read_csv_seconds": read, "vocabulary_seconds": vocabulary,
        "encode_seconds": seconds - read - vocabulary,
        "tensor_mb": tensor / 1e6, "peak_rss_mb": peak / 1e6, "peak_over_tensors": peak / tensor,
        "pandas": pd.__version__, "tokenizers": tokenizers.__version__, "numpy": np.__version__,
    }))


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--python-side":
        python_side(sys.argv[2])
        return
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    work = Path(sys.argv[2]) if len(sys.argv) > 2 else Path("/tmp/qfront-large-csv")
    work.mkdir(parents=True, exist_ok=True)
    path = work / f"snips-{rows}.csv"
    if not path.exists():
        write_file(path, rows)
    print(f"{path}: {rows} rows, {path.stat().st_size / 1e6:.1f} MB", file=sys.stderr)
    qfront = os.environ.get("QFRONT", str(ROOT / "target/release/qfront"))
    out = subprocess.run([qfront, "bench", "data", "--data", str(path)], check=True, capture_output=True, text=True).stdout
    ours = json.loads(out.strip().splitlines()[-1])
    ours["side"] = "qfront"
    print(json.dumps(ours))
    out = subprocess.run([sys.executable, __file__, "--python-side", str(path)], check=True, capture_output=True, text=True).stdout
    theirs = json.loads(out.strip().splitlines()[-1])
    print(json.dumps(theirs))
    print(f"{'side':<20} {'seconds':>8} {'peak RSS MB':>12} {'tensors MB':>11} {'peak/tensors':>13}", file=sys.stderr)
    for r in (ours, theirs):
        print(f"{r['side']:<20} {r['seconds']:>8.2f} {r['peak_rss_mb']:>12.1f} {r['tensor_mb']:>11.1f} {r['peak_over_tensors']:>13.2f}", file=sys.stderr)
    print(f"time ratio qfront/python {ours['seconds'] / theirs['seconds']:.2f}, peak memory ratio {ours['peak_rss_mb'] / theirs['peak_rss_mb']:.2f}", file=sys.stderr)


if __name__ == "__main__":
    main()
