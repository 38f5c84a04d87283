#!/usr/bin/env python3
"""Models exported with `qfront export --format onnx`, run by ONNX Runtime beside qfront-rt
running the same `.qfm`, in one run.

Usage: python3 bench/onnx_export_peers.py --qfront target/release/qfront A.qfm [B.qfm ...]
           [--batch 1,32] [--seconds 1]

For every model: exports it to ONNX, then at each batch size prints one JSON line with
qfront-rt's median latency (`qfront bench latency`, one thread), ONNX Runtime's median on the
exported file (default graph optimizations, intra_op_num_threads = 1, the Python call cost
measured on a one-op model and subtracted, which favours ONNX Runtime) and their ratio, plus
the file sizes. Needs: pip install onnx onnxruntime numpy (versions are printed).
"""
import argparse, json, os, subprocess, sys, tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from runtime_peers import median_seconds  # the same timing rule as the runtime comparison


def session(model_bytes):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])


def call_overhead(seconds):
    """Median time of a one-op (Identity) model call: Python and binding cost."""
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])], "one",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    s = session(model.SerializeToString())
    x = np.zeros((1, 1), np.float32)
    return median_seconds(lambda: s.run(None, {"x": x}), seconds)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--qfront", required=True)
    parser.add_argument("models", nargs="+")
    parser.add_argument("--batch", default="1,32")
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()
    print(json.dumps({"onnxruntime": ort.__version__, "onnx": onnx.__version__}), flush=True)
    overhead = call_overhead(args.seconds)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        for path in args.models:
            onnx_path = os.path.join(tmp, os.path.basename(path) + ".onnx")
            line = subprocess.run([args.qfront, "export", path, onnx_path], check=True,
                                  capture_output=True, text=True).stdout
            exported = json.loads(line)
            s = session(open(onnx_path, "rb").read())
            feed = s.get_inputs()[0]
            for batch in [int(b) for b in args.batch.split(",")]:
                if feed.name == "image":
                    x = (rng.integers(0, 256, size=(batch, *feed.shape[1:])) / 255).astype(np.float32)
                else:
                    x = rng.integers(1, 100, size=(batch, feed.shape[1])).astype(np.int64)
                ort_s = median_seconds(lambda: s.run(None, {feed.name: x}), args.seconds)
                out = subprocess.run(
                    [args.qfront, "bench", "latency", path, "--batch", str(batch),
                     "--max-time", str(args.seconds)],
                    check=True, capture_output=True, text=True).stdout
                qfront_ms = next(json.loads(l)["value"] for l in out.splitlines()
                                 if l.strip() and json.loads(l).get("metric") == "median_ms")
                ort_ms = max(ort_s - overhead, 0.0) * 1e3
                print(json.dumps({
                    "model": os.path.basename(path), "batch": batch,
                    "weights": [f"W{w['bits']}:{w['element']}" for w in exported["weights"]],
                    "qfm_bytes": os.path.getsize(path), "onnx_bytes": exported["bytes"],
                    "qfront_ms": round(qfront_ms, 4), "ort_ms_corrected": round(ort_ms, 4),
                    "ort_ms_raw": round(ort_s * 1e3, 4),
                    "ort_over_qfront": round(ort_ms / qfront_ms, 2) if qfront_ms > 0 else None,
                }), flush=True)


if __name__ == "__main__":
    main()
