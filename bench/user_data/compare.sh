#!/usr/bin/env bash
# The user's-own-data loaders against the built-in loaders, same seeds and settings:
#   * CLINC150 from CSV files (clinc150_to_csv.py) vs `--dataset clinc150`;
#   * Fashion-MNIST from PNG class folders (fashion_to_png.py) vs `--dataset fashion-mnist`
#     (IDX), LeNet W4A4, validation = 5,000 of the 60,000 training images either way.
#
# Usage: bench/user_data/compare.sh SHARED_DATA_DIR [SEEDS] [WORK_DIR] > results.jsonl
# One `qfront train --format json` record per run on stdout (plus "source"); a table of
# mean test accuracy per source and the difference on stderr.
set -euo pipefail
data=${1:?usage: bench/user_data/compare.sh SHARED_DATA_DIR [SEEDS] [WORK_DIR]}
seeds=${2:-0 1 2}
work=${3:-$(mktemp -d)}
here=$(cd "$(dirname "$0")" && pwd)
qfront=${QFRONT:-target/release/qfront}
[ -x "$qfront" ] || { echo "build first: cargo build --release (or set QFRONT=path/to/qfront)" >&2; exit 1; }
[ -f "$work/clinc/train.csv" ] || python3 "$here/clinc150_to_csv.py" "$data/clinc150" "$work/clinc"
[ -d "$work/fashion/test" ] || python3 "$here/fashion_to_png.py" "$data/fashion-mnist" "$work/fashion"
results=$(mktemp)
run() { # task, source, flags...
  local task=$1 source=$2; shift 2
  "$qfront" train --seed "$seed" --format json "$@" 2>/dev/null \
    | python3 -c 'import json,sys; r=json.load(sys.stdin); r["task"]=sys.argv[1]; r["source"]=sys.argv[2]; print(json.dumps(r))' "$task" "$source" \
    | tee -a "$results"
}
clinc="--epochs ${CLINC_EPOCHS:-8}"
fashion="--model lenet --wbits 4 --abits 4 --epochs ${FASHION_EPOCHS:-4} --batch-size 128"
for seed in $seeds; do
  run clinc150 built-in --dataset clinc150 --data-dir "$data" $clinc
  run clinc150 csv --data "$work/clinc/train.csv" --val-data "$work/clinc/val.csv" --test-data "$work/clinc/test.csv" $clinc
  run fashion-mnist built-in --dataset fashion-mnist --data-dir "$data" $fashion
  run fashion-mnist png --data "$work/fashion/train" --test-data "$work/fashion/test" --val-fraction 0.08333333 $fashion
done
python3 - "$results" >&2 <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print(f"{'task':<14} {'source':<9} {'seeds':>5} {'mean test':>9} {'min':>7} {'max':>7} {'train s':>8}")
for task in dict.fromkeys(r["task"] for r in rows):
    means = {}
    for source in dict.fromkeys(r["source"] for r in rows if r["task"] == task):
        acc = [r["test_accuracy"] for r in rows if r["task"] == task and r["source"] == source]
        secs = [r["train_seconds"] for r in rows if r["task"] == task and r["source"] == source]
        means[source] = statistics.mean(acc)
        print(f"{task:<14} {source:<9} {len(acc):>5} {means[source]:>9.4f} {min(acc):>7.4f} {max(acc):>7.4f} {statistics.mean(secs):>8.1f}")
    a, b = list(means.values())[:2]
    print(f"{task:<14} difference {100 * (b - a):+.2f} pp")
PY
