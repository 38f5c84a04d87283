#!/usr/bin/env bash
# Training-step time of the LeNet-style CNN (batch 128, 2 threads), qfront against PyTorch in
# the same run, float and QAT (W4A4, PACT + SAWB, first/last layer 8 bits). Prints both JSON
# records per mode and the ratio qfront / PyTorch (below 1.0 means qfront is faster).
#
# Needs: a release build (cargo build --release) and python3 with torch (pip install torch).
# Usage: bench/train_step.sh [THREADS] [STEPS]
set -euo pipefail
threads=${1:-2}
steps=${2:-30}
here=$(cd "$(dirname "$0")" && pwd)
qfront=${QFRONT:-$here/../target/release/qfront}
[ -x "$qfront" ] || { echo "build first: cargo build --release (or set QFRONT=path/to/qfront)" >&2; exit 1; }
python3 -c 'import torch' 2>/dev/null || { echo "PyTorch is missing: pip install torch" >&2; exit 1; }
for bits in 32 4; do
  ours=$("$qfront" bench train-step --model lenet --wbits "$bits" --abits "$bits" \
         --batch-size 128 --threads "$threads" --steps "$steps" --format json 2>/dev/null)
  theirs=$(python3 "$here/lenet_step_torch.py" --bits "$bits" --threads "$threads" --steps "$steps" 2>/dev/null)
  echo "$ours"
  echo "$theirs"
  python3 - "$ours" "$theirs" <<'PY'
import json, sys
ours, theirs = json.loads(sys.argv[1]), json.loads(sys.argv[2])
mode = "float" if ours["wbits"] >= 32 else f"QAT W{ours['wbits']}A{ours['abits']}"
ratio = ours["median_ms"] / theirs["median_ms"]
print(json.dumps({"bench": "train-step-ratio", "mode": mode, "qfront_median_ms": round(ours["median_ms"], 2),
                  "pytorch_median_ms": round(theirs["median_ms"], 2), "ratio": round(ratio, 3),
                  "pytorch": theirs["framework"], "threads": ours["threads"]}))
PY
done
