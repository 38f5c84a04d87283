#!/usr/bin/env python3
"""qfront-rt against ONNX Runtime and tract, side by side in one run.

Usage: python3 bench/runtime_peers.py --qfront target/release/qfront \
           --lenet LENET_W8A8.qfm --nlu NLU_W8A8.qfm [--seconds 2] [--threads 1,2] \
           [--lenet-batch 1,32]

Every figure is measured at each thread count of --threads (default 1): ORT's
intra_op_num_threads and qfront's --threads.

Needs: pip install onnxruntime onnx tract numpy (versions are printed).

1. int8 GEMM 256x1024x1024: ORT MatMulInteger vs `qfront bench kernel` (GOP/s, ratio).
2. Batch-1 latency of the networks in the .qfm files: the same graph (shapes read from the
   .qfm header; weights random, since latency does not depend on their values) built as an
   ONNX float model and run by ORT f32, by ORT int8 (quantize_static, QDQ, calibrated on
   random inputs) and by tract f32; qfront-rt runs the .qfm itself (`qfront bench latency`).
   Python adds a fixed cost to every ORT and tract call; it is measured on a one-op model
   and subtracted (reported as `*_corrected`), which favours the peers.
Prints one JSON line per figure on stdout.
"""
import argparse, json, os, statistics, struct, subprocess, tempfile, time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

try:
    import tract
except ImportError:  # tract is optional
    tract = None


def emit(**kw):
    print(json.dumps(kw), flush=True)


def median_seconds(fn, seconds):
    for _ in range(20):
        fn()
    samples, start = [], time.perf_counter()
    while time.perf_counter() - start < seconds or len(samples) < 5:
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def qfront_lines(binary, *args):
    out = subprocess.run([binary, *args], check=True, capture_output=True, text=True).stdout
    return [json.loads(l) for l in out.splitlines() if l.strip()]


def qfm_header(path):
    data = open(path, "rb").read()
    (length,) = struct.unpack("<Q", data[8:16])
    return json.loads(data[32:32 + length])


def ort_session(path, threads=1):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def save(model, directory, name):
    path = os.path.join(directory, name)
    onnx.save(model, path)
    return path


def init(name, array):
    return numpy_helper.from_array(array, name)


rng = np.random.default_rng(0)


def classes(header):
    return header["nodes"][-1]["op"]["weights"]["rows"]


def linear_onnx(op, name, x, nodes, inits):
    """Appends a Gemm with random weights for qfront's linear op `op`; returns its output."""
    rows, cols = op["weights"]["rows"], op["weights"]["columns"]
    inits += [init(name + ".w", (rng.standard_normal((rows, cols)) * 0.05).astype(np.float32)),
              init(name + ".b", np.zeros(rows, np.float32))]
    nodes.append(helper.make_node("Gemm", [x, name + ".w", name + ".b"], [name + ".y"], transB=1))
    return name + ".y"


def lenet_onnx(header, batch=1):
    """The .qfm image graph as an ONNX float model (NCHW), reading `batch` images."""
    inp = header["input"]
    c, h, w = inp["channels"], inp["height"], inp["width"]
    nodes, inits, x, shape = [], [], "x", [c, h, w]
    for n in header["nodes"][1:]:
        op, name = n["op"], n["name"]
        if op["op"] == "conv2d":
            rows, cols = op["weights"]["rows"], op["weights"]["columns"]
            kh, kw = op["kernel"]
            cin = cols // (kh * kw) * op["groups"]
            inits += [init(name + ".w", (rng.standard_normal((rows, cin // op["groups"], kh, kw)) * 0.1).astype(np.float32)),
                      init(name + ".b", np.zeros(rows, np.float32))]
            nodes.append(helper.make_node("Conv", [x, name + ".w", name + ".b"], [name + ".y"], kernel_shape=[kh, kw],
                                          strides=op["stride"], pads=[op["padding"][0], op["padding"][1]] * 2, group=op["groups"]))
            nodes.append(helper.make_node("Relu", [name + ".y"], [name + ".a"]))
            x = name + ".a"
        elif op["op"] == "max-pool2d":
            nodes.append(helper.make_node("MaxPool", [x], [name + ".y"], kernel_shape=op["kernel"], strides=op["stride"]))
            x = name + ".y"
        elif op["op"] == "flatten":
            nodes.append(helper.make_node("Flatten", [x], [name + ".y"], axis=1))
            x = name + ".y"
        elif op["op"] == "linear":
            x = linear_onnx(op, name, x, nodes, inits)
            if op["output"]["kind"] == "requantize":
                nodes.append(helper.make_node("Relu", [x], [name + ".a"]))
                x = name + ".a"
        else:
            raise SystemExit(f"image op {op['op']} is not mapped to ONNX here")
    graph = helper.make_graph(nodes, "lenet", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, c, h, w])],
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT, [batch, classes(header)])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model, lambda: {"x": rng.random((batch, c, h, w), dtype=np.float32)}


def nlu_onnx(header, batch=1):
    """The .qfm token graph as an ONNX float model: Gather, Conv1d blocks, masked pooling, Gemm."""
    inp = header["input"]
    t, vocab = inp["max_tokens"], inp["vocabulary"]
    nodes, inits = [], []
    inits += [init("zero", np.array(0, np.int64)), init("one", np.array(1.0, np.float32)),
              init("big", np.array(1e4, np.float32)), init("axes1", np.array([1], np.int64)),
              init("axes2", np.array([2], np.int64))]
    nodes += [helper.make_node("Greater", ["ids", "zero"], ["real"]),
              helper.make_node("Cast", ["real"], ["mask"], to=TensorProto.FLOAT),
              helper.make_node("Unsqueeze", ["mask", "axes1"], ["mask3"])]  # [1, 1, t]
    x = None
    for n in header["nodes"][1:]:
        op, name = n["op"], n["name"]
        if op["op"] == "embedding":
            rows, dim = op["weights"]["rows"], op["weights"]["columns"]
            inits.append(init(name + ".w", rng.standard_normal((rows, dim)).astype(np.float32)))
            nodes += [helper.make_node("Gather", [name + ".w", "ids"], [name + ".y"], axis=0),
                      helper.make_node("Transpose", [name + ".y"], [name + ".t"], perm=[0, 2, 1])]  # [1, dim, t]
            x = name + ".t"
        elif op["op"] == "conv2d":
            rows, cols = op["weights"]["rows"], op["weights"]["columns"]
            k = op["kernel"][1]
            inits += [init(name + ".w", (rng.standard_normal((rows, cols // k, k)) * 0.1).astype(np.float32)),
                      init(name + ".b", np.zeros(rows, np.float32))]
            nodes += [helper.make_node("Conv", [x, name + ".w", name + ".b"], [name + ".y"], kernel_shape=[k],
                                       pads=[op["padding"][1]] * 2),
                      helper.make_node("Relu", [name + ".y"], [name + ".a"])]
            x = name + ".a"
        elif op["op"] == "token-pool":
            if op["mode"] == "max":
                nodes += [helper.make_node("Sub", ["mask3", "one"], ["neg0"]),
                          helper.make_node("Mul", ["neg0", "big"], ["neg"]),
                          helper.make_node("Mul", [x, "mask3"], ["masked"]),
                          helper.make_node("Add", ["masked", "neg"], ["shifted"]),
                          helper.make_node("ReduceMax", ["shifted"], ["pooled"], axes=[2], keepdims=0)]
            else:
                nodes += [helper.make_node("Mul", [x, "mask3"], ["masked"]),
                          helper.make_node("ReduceSum", ["masked", "axes2"], ["summed"], keepdims=0),
                          helper.make_node("ReduceSum", ["mask", "axes1"], ["count0"], keepdims=1),
                          helper.make_node("Max", ["count0", "one"], ["count"]),
                          helper.make_node("Div", ["summed", "count"], ["pooled"])]
            x = "pooled"
        elif op["op"] == "linear":
            x = linear_onnx(op, name, x, nodes, inits)
        else:
            raise SystemExit(f"token op {op['op']} is not mapped to ONNX here")
    graph = helper.make_graph(nodes, "nlu", [helper.make_tensor_value_info("ids", TensorProto.INT64, [1, t])],
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, classes(header)])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8

    def feed():
        ids = np.zeros((1, t), np.int64)
        real = rng.integers(3, 12)
        ids[0, :real] = rng.integers(1, vocab, real)
        return {"ids": ids}
    return model, feed


class Calibration(CalibrationDataReader):
    def __init__(self, feed, n=32):
        self.items = iter([feed() for _ in range(n)])

    def get_next(self):
        return next(self.items, None)


def trivial_model(directory):
    node = helper.make_node("Identity", ["x"], ["y"])
    graph = helper.make_graph([node], "trivial", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return save(model, directory, "trivial.onnx")


def tract_runnable(path):
    # into_model() runs tract's declutter and optimisation passes.
    return tract.onnx().load(path).into_model().into_runnable()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qfront", default="target/release/qfront")
    ap.add_argument("--lenet")
    ap.add_argument("--nlu")
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--threads", default="1", help="comma list of thread counts")
    ap.add_argument("--lenet-batch", default="1", help="comma list of LeNet batch sizes")
    args = ap.parse_args()
    args.threads = [int(t) for t in args.threads.split(",")]
    args.lenet_batch = [int(b) for b in args.lenet_batch.split(",")]
    emit(versions={"onnxruntime": ort.__version__, "onnx": onnx.__version__, "numpy": np.__version__,
                   "tract": tract.version() if tract else None})
    directory = tempfile.mkdtemp(prefix="qfront-peers-")

    # Python's per-call cost, measured on a one-op model.
    trivial = trivial_model(directory)
    s = ort_session(trivial)
    one = {"x": np.zeros(1, np.float32)}
    ort_overhead = median_seconds(lambda: s.run(None, one), 1.0)
    tract_overhead = None
    if tract:
        tm = tract_runnable(trivial)
        tract_overhead = median_seconds(lambda: tm.run([np.zeros(1, np.float32)]), 1.0)
    emit(python_call_overhead_us={"ort": ort_overhead * 1e6, "tract": tract_overhead and tract_overhead * 1e6})

    # 1. int8 GEMM 256x1024x1024.
    m, k, n = 256, 1024, 1024
    b = rng.integers(-128, 128, (k, n), dtype=np.int8)
    node = helper.make_node("MatMulInteger", ["a", "b", "a_zero", "b_zero"], ["y"])
    graph = helper.make_graph([node], "gemm", [helper.make_tensor_value_info("a", TensorProto.UINT8, [m, k])],
                              [helper.make_tensor_value_info("y", TensorProto.INT32, [m, n])],
                              [init("b", b), init("a_zero", np.array(0, np.uint8)), init("b_zero", np.array(0, np.int8))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    a = rng.integers(0, 256, (m, k), dtype=np.uint8)
    path = save(model, directory, "gemm.onnx")
    ops = 2.0 * m * n * k
    for threads in args.threads:
        s = ort_session(path, threads)
        t_ort = median_seconds(lambda: s.run(None, {"a": a}), args.seconds)
        lines = qfront_lines(args.qfront, "bench", "kernel", "--m", str(m), "--k", str(k), "--n", str(n),
                             "--bits", "8", "--max-time", str(args.seconds), "--threads", str(threads))
        ours = next(l for l in lines if "gops" in l)
        peak = next(l["value"] for l in lines if l.get("metric") == "int8_peak_gops")
        emit(figure="gemm_int8_256x1024x1024", threads=threads, kernels=ours["kernels"], ort_gops=ops / t_ort / 1e9,
             qfront_gops=ours["gops"], ratio=ours["gops"] / (ops / t_ort / 1e9), int8_peak_gops=peak,
             qfront_fraction_of_peak=ours["gops"] / peak if peak else None, ort_fraction_of_peak=ops / t_ort / 1e9 / peak if peak else None)

    # 2. Networks: batch 1, and the LeNet also at each --lenet-batch, at each thread count.
    jobs = [("lenet", args.lenet, lenet_onnx, b) for b in args.lenet_batch] + [("nlu", args.nlu, nlu_onnx, 1)]
    for label, path, build, batch in jobs:
        if not path:
            continue
        header = qfm_header(path)
        model, feed = build(header, batch)
        f32 = save(model, directory, f"{label}_b{batch}_f32.onnx")
        onnx.checker.check_model(model)
        int8 = os.path.join(directory, f"{label}_b{batch}_int8.onnx")
        quantize_static(f32, int8, Calibration(feed), quant_format=QuantFormat.QDQ,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
        x = feed()
        for threads in args.threads:
            row = {"batch": batch, "threads": threads}
            for name, p in [("ort_f32", f32), ("ort_int8", int8)]:
                s = ort_session(p, threads)
                row[name] = median_seconds(lambda: s.run(None, x), args.seconds) * 1e3
                row[name + "_corrected"] = row[name] - ort_overhead * 1e3
            if tract and threads == 1:
                tm = tract_runnable(f32)
                inputs = list(x.values())
                row["tract_f32"] = median_seconds(lambda: tm.run(inputs), args.seconds) * 1e3
                row["tract_f32_corrected"] = row["tract_f32"] - tract_overhead * 1e3
            # ONNX Runtime's idle workers spin for a while after a run; close its session so
            # that they do not take the other core from qfront's measurement.
            del s
            ours = {l["metric"]: l["value"] for l in qfront_lines(args.qfront, "bench", "latency", path, "--max-time",
                                                                    str(args.seconds), "--batch", str(batch),
                                                                    "--threads", str(threads)) if "metric" in l}
            row["qfront_rt"] = ours["median_ms"]
            best_ort = min(row["ort_f32_corrected"], row["ort_int8_corrected"])
            row["ratio_to_best_ort"] = ours["median_ms"] / best_ort
            if "tract_f32_corrected" in row:
                row["ratio_to_tract_f32"] = ours["median_ms"] / row["tract_f32_corrected"]
            emit(figure=f"{label}_ms", **row)


if __name__ == "__main__":
    main()
