#!/usr/bin/env bash
# Makes the virtualenv the Python benchmarks run in: the pinned peers of
# bench/python/requirements.txt (Optuna, BoTorch, ...) and the qfront wheel built from this
# checkout. Then, for example:
#
#   bash bench/python/setup.sh
#   ~/.cache/qfront-bench-venv/bin/python bench/python/mobo_suite.py run --half all --methods qfront --seeds 10
#
# Environment: QFRONT_BENCH_VENV (default ~/.cache/qfront-bench-venv), CARGO_TARGET_DIR
# (default ~/.cache/qfront-py-target: outside the clone). Rerun it after changing the engine:
# it rebuilds and reinstalls the wheel, and pip skips the peers already installed.
# torch comes from PyPI (its default build carries CUDA libraries, about 3 GB); where
# download.pytorch.org is reachable, PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu
# fetches the CPU-only build instead.
set -euo pipefail
cd "$(dirname "$0")/../.."

venv="${QFRONT_BENCH_VENV:-$HOME/.cache/qfront-bench-venv}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/qfront-py-target}"

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet -r bench/python/requirements.txt

wheels="$(mktemp -d)"
trap 'rm -rf "$wheels"' EXIT
(cd crates/qfront-py && "$venv/bin/maturin" build --release --quiet -o "$wheels")
"$venv/bin/python" -m pip install --quiet --force-reinstall --no-deps "$wheels"/qfront-*.whl
"$venv/bin/python" -c "import qfront, optuna, botorch; print('ready:', '$venv', 'optuna', optuna.__version__, 'botorch', botorch.__version__)"
