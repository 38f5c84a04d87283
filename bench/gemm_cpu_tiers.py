#!/usr/bin/env python3
"""int8 GEMM on each x86 CPU tier, qfront-rt against ONNX Runtime, on one machine in one run.

Usage: python3 bench/gemm_cpu_tiers.py --qfront target/release/qfront \
           [--tiers native,avx512vnni,avx512bw,avx2] [--shapes 256x1024x1024,1x4096x4096] [--seconds 2] \
           [--bits 8,7,4,2]

A machine has one CPU, but users have many: the ones without AVX-512 VNNI (AVX2 only, or
AVX-512 F/BW without VNNI) get other kernels in both ONNX Runtime (MLAS) and qfront-rt. To
measure those paths here, each tier runs in a child process under `bench/cpuid_mask`
(LD_PRELOAD), which hides the newer features from CPUID, so both libraries pick the kernels
that CPU would get; the code then runs on this core at full speed. Needs the CPU's CPUID
faulting (`cpuid_fault` in /proc/cpuinfo) and a C compiler.

For every tier and shape (MxKxN: M rows of activations, K the reduction, N outputs) it
prints one JSON line: the tier, the kernels qfront-rt picked, ORT
MatMulInteger's GOP/s (u8 activations × s8 weights, zero points 0, 1 thread), qfront's GOP/s
at each weight width of --bits, the ratios, and how many of ORT's outputs differ from the
exact product (MLAS's u8×s8 path multiplies pairs with `vpmaddubsw`, which saturates at
±32767 when 8-bit weights meet large activations; qfront's kernels are exact).
"""
import argparse, json, os, subprocess, sys, tempfile, time, statistics

HERE = os.path.dirname(os.path.abspath(__file__))


def build_mask_library():
    source = os.path.join(HERE, "cpuid_mask", "cpuid_mask.c")
    out = os.path.join(tempfile.mkdtemp(prefix="cpuid-mask-"), "libcpuid_mask.so")
    subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", out, source], check=True)
    return out


def median_seconds(fn, seconds):
    for _ in range(5):
        fn()
    samples, start = [], time.perf_counter()
    while time.perf_counter() - start < seconds or len(samples) < 5:
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def measure_ort(m, k, n, seconds):
    """Runs in the child (under the mask): ORT's GOP/s and its outputs' exactness."""
    import numpy as np
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    b = rng.integers(-128, 128, (k, n), dtype=np.int8)
    a = rng.integers(0, 256, (m, k), dtype=np.uint8)
    node = helper.make_node("MatMulInteger", ["a", "b", "a_zero", "b_zero"], ["y"])
    graph = helper.make_graph(
        [node], "gemm", [helper.make_tensor_value_info("a", TensorProto.UINT8, [m, k])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [m, n])],
        [numpy_helper.from_array(b, "b"), numpy_helper.from_array(np.array(0, np.uint8), "a_zero"),
         numpy_helper.from_array(np.array(0, np.int8), "b_zero")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    y = session.run(None, {"a": a})[0]
    exact = a.astype(np.int64) @ b.astype(np.int64)
    wrong = int(np.count_nonzero(y.astype(np.int64) != exact))
    seconds_per_run = median_seconds(lambda: session.run(None, {"a": a}), seconds)
    return {"ort_gops": 2.0 * m * n * k / seconds_per_run / 1e9, "ort_wrong_outputs": wrong,
            "outputs": m * n, "onnxruntime": ort.__version__}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--qfront", required=True)
    parser.add_argument("--tiers", default="native,avx512vnni,avx512bw,avx2")
    parser.add_argument("--shapes", default="256x1024x1024", help="comma list of MxKxN")
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--bits", default="8,7,4,2")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        m, k, n = (int(v) for v in args.shapes.split("x"))
        print(json.dumps(measure_ort(m, k, n, args.seconds)))
        return
    library = build_mask_library()
    for tier in args.tiers.split(","):
        env = dict(os.environ)
        env.pop("QFRONT_KERNELS", None)
        if tier != "native":
            env["CPUID_MASK"] = tier
            env["LD_PRELOAD"] = library
        for shape in args.shapes.split(","):
            m, k, n = (int(v) for v in shape.split("x"))
            child = subprocess.run([sys.executable, __file__, "--qfront", args.qfront, "--shapes", shape,
                                    "--seconds", str(args.seconds), "--child"],
                                   env=env, check=True, capture_output=True, text=True)
            row = {"tier": tier, "shape": shape, "threads": 1,
                   **json.loads(child.stdout.strip().splitlines()[-1])}
            for bits in args.bits.split(","):
                out = subprocess.run([args.qfront, "bench", "kernel", "--m", str(m), "--k", str(k), "--n", str(n),
                                      "--bits", bits, "--max-time", str(args.seconds), "--threads", "1"],
                                     env=env, check=True, capture_output=True, text=True).stdout
                lines = [json.loads(l) for l in out.splitlines() if l.strip()]
                ours = next(l for l in lines if "gops" in l)
                row["kernels"] = ours["kernels"]
                row[f"qfront_w{bits}_gops"] = ours["gops"]
                row[f"ratio_w{bits}_to_ort"] = ours["gops"] / row["ort_gops"]
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
