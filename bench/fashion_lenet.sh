#!/usr/bin/env bash
# Fashion-MNIST, LeNet-style CNN, one recipe, several seeds: FP32, W4A4 (PACT + SAWB),
# W2A2 (PACT + SAWB) and W2A2 with min-max weights (issue #2's accuracy table).
#
# Usage: bench/fashion_lenet.sh DATA_DIR [SEEDS] [EPOCHS] > results.jsonl
#   DATA_DIR holds fashion-mnist/ (IDX files); SEEDS defaults to "0 1 2", EPOCHS to 4.
# One JSON record per run on stdout (the `qfront train --format json` record plus a "config"
# label); a summary table (mean and spread per config, gap to FP32) on stderr at the end.
set -euo pipefail
data_dir=${1:?usage: bench/fashion_lenet.sh DATA_DIR [SEEDS] [EPOCHS]}
seeds=${2:-0 1 2}
epochs=${3:-4}
qfront=${QFRONT:-target/release/qfront}
[ -x "$qfront" ] || { echo "build first: cargo build --release (or set QFRONT=path/to/qfront)" >&2; exit 1; }
results=$(mktemp)
run() { # label, extra flags...
  local label=$1; shift
  "$qfront" train --dataset fashion-mnist --data-dir "$data_dir" --model lenet \
    --epochs "$epochs" --batch-size 128 --seed "$seed" --format json "$@" 2>/dev/null \
    | python3 -c 'import json,sys; r=json.load(sys.stdin); r["config"]=sys.argv[1]; print(json.dumps(r))' "$label" \
    | tee -a "$results"
}
for seed in $seeds; do
  run fp32 --wbits 32 --abits 32
  run w4a4-sawb --wbits 4 --abits 4 --weight-quantizer sawb
  run w2a2-sawb --wbits 2 --abits 2 --weight-quantizer sawb
  run w2a2-minmax --wbits 2 --abits 2 --weight-quantizer min-max
done
python3 - "$results" >&2 <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
by = {}
for r in rows:
    by.setdefault(r["config"], []).append(r["test_accuracy"])
fp32 = statistics.fmean(by.get("fp32", [float("nan")]))
print(f"{'config':<14}{'seeds':>6}{'mean test':>11}{'min':>8}{'max':>8}{'gap to fp32 (pp)':>18}")
for k, v in by.items():
    m = statistics.fmean(v)
    print(f"{k:<14}{len(v):>6}{m:>11.4f}{min(v):>8.4f}{max(v):>8.4f}{(fp32 - m) * 100:>18.2f}")
PY
rm -f "$results"
