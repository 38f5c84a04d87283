#!/usr/bin/env bash
# Training-step time, qfront against PyTorch in the same run: the LeNet-style CNN (batch 128,
# 1x28x28, 10 classes) and the SNIPS NLU intent model (batch 64, 32 hashed tokens, 7 intents),
# float and QAT (W4A4, PACT + SAWB, first/last layer 8-bit min-max), at the given thread count.
# Prints both JSON records per case and one ratio record qfront / PyTorch (below 1.0 means
# qfront is faster). The PyTorch models and recipe are in bench/train_step_torch.py, which
# `qfront bench train-step --pytorch PYTHON` runs.
#
# Needs: a release build (cargo build --release) and python3 with torch (pip install torch).
# Usage: bench/train_step.sh [THREADS] [STEPS] [MODELS, default "lenet nlu"]
set -euo pipefail
threads=${1:-2}
steps=${2:-30}
models=${3:-lenet nlu}
here=$(cd "$(dirname "$0")" && pwd)
qfront=${QFRONT:-$here/../target/release/qfront}
python=${PYTHON:-python3}
[ -x "$qfront" ] || { echo "build first: cargo build --release (or set QFRONT=path/to/qfront)" >&2; exit 1; }
"$python" -c 'import torch' 2>/dev/null || { echo "PyTorch is missing: pip install torch" >&2; exit 1; }
for model in $models; do
  case $model in
    lenet) batch=128; shape=(--model lenet) ;;
    nlu) batch=64; shape=(--model nlu --input tokens --classes 7) ;;
    *) echo "unknown model '$model' (lenet or nlu)" >&2; exit 2 ;;
  esac
  for bits in 32 4; do
    # qfront times the step, then the same step in PyTorch (bench/train_step_torch.py, built
    # into the binary), and prints both records and the ratio record.
    "$qfront" bench train-step "${shape[@]}" --wbits "$bits" --abits "$bits" \
      --batch-size "$batch" --threads "$threads" --steps "$steps" --pytorch "$python" \
      --format json 2>/dev/null
  done
done
