#!/usr/bin/env bash
# End-to-end training time, qfront against a plain PyTorch loop in the same run: one `qfront
# train` process (read the data, split, build, per epoch shuffle + train + validate, then test)
# against bench/epoch_torch.py doing the same with the same models and recipe. Cases: SNIPS
# (built-in, NLU model) and, when DATA_DIR holds fashion-mnist/, Fashion-MNIST LeNet; W4A4.
# Prints both JSON records and a ratio record per case: wall seconds of the whole run and
# training throughput (samples/s), qfront / PyTorch (a time ratio below 1.0: qfront faster).
#
# Needs: a release build and python3 with torch and numpy.
# Usage: bench/train_epoch.sh [DATA_DIR] [EPOCHS=1] [THREADS=2] [BITS=4]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
data_dir=${1:-}
[ -z "$data_dir" ] || data_dir=$(cd "$data_dir" && pwd)
epochs=${2:-1}
threads=${3:-2}
bits=${4:-4}
qfront=${QFRONT:-$here/../target/release/qfront}
python=${PYTHON:-python3}
[ -x "$qfront" ] || { echo "build first: cargo build --release (or set QFRONT=path/to/qfront)" >&2; exit 1; }
"$python" -c 'import torch, numpy' 2>/dev/null || { echo "PyTorch or numpy is missing: pip install torch numpy" >&2; exit 1; }
cases=("snips|$here/../data|--dataset snips")
if [ -n "$data_dir" ] && [ -d "$data_dir/fashion-mnist" ]; then
  cases+=("fashion-mnist|$data_dir|--dataset fashion-mnist --data-dir $data_dir --model lenet")
fi
for case in "${cases[@]}"; do
  IFS='|' read -r dataset dir flags <<<"$case"
  # shellcheck disable=SC2086
  ours=$(RAYON_NUM_THREADS=$threads "$python" - "$qfront" train $flags --epochs "$epochs" \
           --wbits "$bits" --abits "$bits" --batch-size 64 --format json <<'PY'
import json, subprocess, sys, time
started = time.perf_counter()
out = subprocess.run(sys.argv[1:], check=True, capture_output=True, text=True).stdout
record = json.loads(out)
record["seconds"] = time.perf_counter() - started
print(json.dumps(record))
PY
)
  theirs=$(cd "$here" && "$python" epoch_torch.py --dataset "$dataset" --data-dir "$dir" \
           --epochs "$epochs" --bits "$bits" --batch-size 64 --threads "$threads")
  echo "$ours"
  echo "$theirs"
  "$python" - "$ours" "$theirs" "$threads" <<'PY'
import json, sys
ours, theirs = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(json.dumps({
    "bench": "train-epoch-ratio", "dataset": theirs["dataset"], "epochs": theirs["epochs"],
    "bits": theirs["bits"], "threads": int(sys.argv[3]),
    "qfront_seconds": round(ours["seconds"], 2), "pytorch_seconds": round(theirs["seconds"], 2),
    "time_ratio": round(ours["seconds"] / theirs["seconds"], 3),
    "qfront_samples_per_second": round(ours["samples_per_second"]),
    "pytorch_samples_per_second": round(theirs["samples_per_second"]),
    "qfront_test_accuracy": ours["test_accuracy"], "pytorch_test_accuracy": theirs["test_accuracy"],
    "pytorch": theirs["framework"]}))
PY
done
