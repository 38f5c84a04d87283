#!/usr/bin/env bash
# Issue #11's import check: a ResNet-style CNN trained in PyTorch on Fashion-MNIST, exported
# to ONNX, imported by qfront, evaluated as imported (float), fine-tuned with QAT at W4A4 and
# exported to .qfm (the runtime's agreement with the fake-quantized model is in the record).
#
# Usage: bench/onnx/fashion_resnet_w4a4.sh DATA_DIR [OUT_DIR]
#   DATA_DIR holds fashion-mnist/ (IDX files); needs python with torch, onnx, onnxscript.
# Prints two JSON records (float import, W4A4) on stdout.
set -euo pipefail
data_dir=${1:?usage: bench/onnx/fashion_resnet_w4a4.sh DATA_DIR [OUT_DIR]}
out=${2:-$(mktemp -d)}
qfront=${QFRONT:-target/release/qfront}
python=${PYTHON:-python3}
[ -f "$out/resnet.onnx" ] || "$python" "$(dirname "$0")/fashion_resnet.py" "$data_dir" "$out/resnet.onnx" 6
"$qfront" train --dataset fashion-mnist --data-dir "$data_dir" --model "$out/resnet.onnx" \
  --wbits 32 --abits 32 --alpha-init 1e6 --epochs 0 --format json
"$qfront" train --dataset fashion-mnist --data-dir "$data_dir" --model "$out/resnet.onnx" \
  --wbits 4 --abits 4 --epochs 2 --lr 5e-4 --batch-size 128 --qfm "$out/resnet-w4a4.qfm" --format json
