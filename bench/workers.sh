#!/usr/bin/env bash
# Study throughput with one worker against W workers sharing the study, in the same run:
# `qfront search PRESET --budget N` alone, then W processes on one store (the first creates
# the study, the others join with --resume). Prints one JSON line per setting and the speed-up.
#
# Needs: a release build. The store is SQLite in a temporary directory, or PostgreSQL when
# STORAGE is set to a postgresql:// URL (each run uses a study of its own).
# OPTIMIZER overrides the preset's optimizer (sobol: no model fit under the lock).
# WORKER_THREADS sets each of the W workers' thread count (RAYON_NUM_THREADS), e.g. 1 to compare
# one trial at a time on both cores against two trials at once on one core each; the single
# worker always uses every core.
# Usage: bench/workers.sh [PRESET] [BUDGET] [WORKERS]
set -euo pipefail
preset=${1:-snips-nlu}
budget=${2:-16}
workers=${3:-2}
here=$(cd "$(dirname "$0")" && pwd)
qfront=${QFRONT:-$here/../target/release/qfront}
[ -x "$qfront" ] || { echo "build first: cargo build --release (or set QFRONT=path/to/qfront)" >&2; exit 1; }
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

run() { # run NAME COUNT: COUNT workers on study NAME; prints wall seconds
  local name=$1 count=$2 store=() threads=()
  if [ "$count" -gt 1 ] && [ -n "${WORKER_THREADS:-}" ]; then threads=(RAYON_NUM_THREADS="$WORKER_THREADS"); fi
  if [ -n "${STORAGE:-}" ]; then store=(--storage "$STORAGE" --study "$name"); fi
  local start end
  start=$(date +%s.%N)
  env "${threads[@]}" RUST_LOG=warn "$qfront" search "$preset" ${OPTIMIZER:+--optimizer "$OPTIMIZER"} --budget "$budget" --dir "$scratch/$name/0" "${store[@]}" \
    --format json >/dev/null 2>"$scratch/$name.0.log" &
  local pids=($!)
  if [ -z "${STORAGE:-}" ]; then store=(); fi
  # Join once the study exists (the first worker has taken a trial).
  for _ in $(seq 1 600); do
    if [ -n "${STORAGE:-}" ]; then
      "$qfront" trials "${store[@]}" --format csv 2>/dev/null | grep -q '^0,' && break
    else
      [ -f "$scratch/$name/0/study.db" ] && break
    fi
    sleep 0.05
  done
  for w in $(seq 1 $((count - 1))); do
    if [ -n "${STORAGE:-}" ]; then
      env "${threads[@]}" RUST_LOG=warn "$qfront" search "$preset" ${OPTIMIZER:+--optimizer "$OPTIMIZER"} --budget "$budget" --dir "$scratch/$name/$w" "${store[@]}" \
        --resume --format json >/dev/null 2>"$scratch/$name.$w.log" &
    else
      env "${threads[@]}" RUST_LOG=warn "$qfront" search "$preset" ${OPTIMIZER:+--optimizer "$OPTIMIZER"} --budget "$budget" --dir "$scratch/$name/0" \
        --resume --format json >/dev/null 2>"$scratch/$name.$w.log" &
    fi
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || { cat "$scratch/$name".*.log >&2; exit 1; }; done
  end=$(date +%s.%N)
  python3 -c "print(round($end - $start, 2))"
}

stamp=$(date +%s)
one=$(run "bench-workers-$stamp-1" 1)
many=$(run "bench-workers-$stamp-$workers" "$workers")
python3 - "$preset" "$budget" "$workers" "$one" "$many" "${STORAGE:+postgresql}" "${OPTIMIZER:-preset}" "${WORKER_THREADS:-}" <<'PY'
import json, sys
preset, budget, workers, one, many, store, optimizer = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), sys.argv[6] or "sqlite", sys.argv[7]
print(json.dumps({"bench": "workers", "preset": preset, "budget": budget, "store": store, "optimizer": optimizer, "workers": 1, "wall_s": one, "trials_per_min": round(60 * budget / one, 2)}))
print(json.dumps({"bench": "workers", "preset": preset, "budget": budget, "store": store, "optimizer": optimizer, "workers": workers, "wall_s": many, "trials_per_min": round(60 * budget / many, 2)}))
print(json.dumps({"bench": "workers-speedup", "workers": workers, "worker_threads": sys.argv[8] or "all cores", "speedup": round(one / many, 3)}))
PY
