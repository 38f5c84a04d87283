#!/usr/bin/env python3
"""Writes CLINC150's in-scope splits as CSV files (text,label), standard library only.

    python3 bench/user_data/clinc150_to_csv.py ../shared/data/clinc150 /tmp/clinc-csv

Reads `data_full.json` and writes `train.csv`, `val.csv`, `test.csv` in the file's own row
order (out-of-scope rows are left out, as qfront's built-in CLINC150 loader leaves them out).
`bench/user_data/compare.sh` trains on these and on the built-in loader with the same settings.
"""
import csv
import json
import sys
from pathlib import Path

source, out = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
doc = json.loads((source / "data_full.json").read_text(encoding="utf-8"))
for split in ("train", "val", "test"):
    with open(out / f"{split}.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        for text, label in doc[split]:
            writer.writerow([text, label])
    print(f"{out / (split + '.csv')}: {len(doc[split])} rows", file=sys.stderr)
