#!/usr/bin/env python3
"""Instructions per multiply-add of qfront-rt's aarch64 GEMMs, counted under qemu-user.

Speed cannot be measured on an x86 machine, so this counts what an ARM core would execute:
`crates/qfront-rt/examples/gemm_once.rs` is built for aarch64 (statically linked, so the
symbol table gives the code addresses), run under `qemu-aarch64 -d in_asm,exec,nochain`
with two repeat counts, and every executed translation block is charged its instruction
count. The difference between the two runs, divided by the extra multiply-adds, is the
instructions per multiply-add of one `PreparedWeights::matmul` call (activation
preparation, the GEMM, the stores). The hottest block is the GEMM's inner loop; its
instructions per multiply-add are set against the ideal of the multiply instruction
(`smlal` 4, `sdot` 16, `usmmla` 32 multiply-adds). These are estimates of the instruction
stream, not of time: they ignore issue width, latencies and memory.

    python3 bench/arm_instructions.py [--shapes 64x256x256,1x256x256] [--sets neon,...]

Needs the aarch64 Rust target, `gcc-aarch64-linux-gnu` and `qemu-user` (as `.ci/run`
installs them).
"""

import argparse
import bisect
import collections
import os
import re
import subprocess
import sys
import tempfile

IDEAL = {"neon": 4, "neon-dot": 16, "neon-i8mm": 32}
MULTIPLY = {"neon": ("smlal", "smlal2"), "neon-dot": ("sdot",), "neon-i8mm": ("usmmla",)}


def build(target_dir):
    env = dict(os.environ)
    env["CARGO_TARGET_DIR"] = target_dir
    env["CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER"] = "aarch64-linux-gnu-gcc"
    env["RUSTFLAGS"] = "-C target-feature=+crt-static"
    subprocess.run(
        ["cargo", "build", "--release", "-p", "qfront-rt", "--example", "gemm_once",
         "--target", "aarch64-unknown-linux-gnu"],
        check=True, env=env)
    return os.path.join(target_dir, "aarch64-unknown-linux-gnu", "release", "examples", "gemm_once")


def symbols(binary):
    out = subprocess.run(["aarch64-linux-gnu-nm", "-n", "-C", binary],
                         check=True, capture_output=True, text=True).stdout
    table = []
    for line in out.splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[1] in "Tt":
            table.append((int(parts[0], 16), parts[2]))
    return [a for a, _ in table], [n for _, n in table]


def mnemonics(binary):
    """Address → mnemonic, from binutils (qemu 7.2's disassembler prints `sdot` and
    `usmmla` as `.byte`)."""
    out = subprocess.run(["aarch64-linux-gnu-objdump", "-d", "--no-show-raw-insn", binary],
                         check=True, capture_output=True, text=True).stdout
    table = {}
    line_re = re.compile(r"^\s*([0-9a-f]+):\s+(\S+)")
    for line in out.splitlines():
        m = line_re.match(line)
        if m:
            table[int(m.group(1), 16)] = m.group(2)
    return table


def trace(binary, cpu, args):
    """Executed instructions per translation block start, and each block's mnemonics."""
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "qemu.log")
        subprocess.run(["qemu-aarch64", "-cpu", cpu, "-d", "in_asm,exec,nochain", "-D", log,
                        binary, *map(str, args)], check=True, capture_output=True)
        blocks, runs = {}, collections.Counter()
        current = None
        instruction = re.compile(r"^0x([0-9a-f]+):\s+[0-9a-f]+\s+(\S+)")
        executed = re.compile(r"^Trace \d+: 0x[0-9a-f]+ \[[0-9a-f]+/([0-9a-f]+)/")
        with open(log) as f:
            for line in f:
                m = instruction.match(line)
                if m:
                    if current is None:
                        current = int(m.group(1), 16)
                        blocks[current] = []
                    blocks[current].append(int(m.group(1), 16))
                    continue
                if line.startswith("IN:") or not line.strip():
                    current = None
                    continue
                m = executed.match(line)
                if m:
                    runs[int(m.group(1), 16)] += 1
                    current = None
    return blocks, runs


def count(binary, cpu, kernels, shape, repeats, addresses, names, bits):
    blocks, runs = trace(binary, cpu, [kernels, *shape, repeats, bits])
    per_symbol = collections.Counter()
    per_block = {}
    for pc, n in runs.items():
        body = blocks.get(pc, [])
        i = bisect.bisect_right(addresses, pc) - 1
        name = names[i] if i >= 0 else "?"
        per_symbol[name] += n * len(body)
        per_block[pc] = n * len(body)
    return per_symbol, per_block, blocks


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shapes", default="64x256x256,1x256x256",
                        help="m x outputs x columns, comma-separated")
    parser.add_argument("--sets", default="neon,neon-dot,neon-i8mm")
    parser.add_argument("--cpu", default="max")
    parser.add_argument("--bits", type=int, default=8,
                        help="weight bits (2 runs the bit-pair and 3..=4 the nibble panels of neon-dot and neon-i8mm)")
    parser.add_argument("--target-dir", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/qfront-target")),
        "arm-static"))
    args = parser.parse_args()
    binary = build(args.target_dir)
    addresses, names = symbols(binary)
    decoded = mnemonics(binary)
    print(f"weight bits: {args.bits}")
    print("| kernel set | shape m×n×k | instructions / MAC (whole matmul) | GEMM function | "
          "inner loop | ideal | inner loop vs ideal |")
    print("|---|---|---|---|---|---|---|")
    for kernels in args.sets.split(","):
        for shape_text in args.shapes.split(","):
            shape = [int(v) for v in shape_text.split("x")]
            macs = shape[0] * shape[1] * shape[2]
            one, _, _ = count(binary, args.cpu, kernels, shape, 1, addresses, names, args.bits)
            three, blocks3, bodies = count(binary, args.cpu, kernels, shape, 3, addresses, names,
                                           args.bits)
            total = (sum(three.values()) - sum(one.values())) / (2 * macs)
            gemm = sum(v - one.get(k, 0) for k, v in three.items()
                       if "neon::gemm::gemm_" in k) / (2 * macs)
            # The inner loop: the block that executed the most multiply instructions.
            multiply = MULTIPLY[kernels]
            def multiplies(pc):
                return sum(1 for a in bodies[pc] if decoded.get(a) in multiply)
            hot = max(blocks3, key=lambda pc: blocks3[pc] / max(1, len(bodies[pc]))
                      * multiplies(pc) if multiplies(pc) else 0)
            body = bodies[hot]
            inner = len(body) / (multiplies(hot) * IDEAL[kernels])
            ideal = 1 / IDEAL[kernels]
            print(f"| {kernels} | {shape_text} | {total:.4f} | {gemm:.4f} | {inner:.4f} "
                  f"({len(body)} instructions, {multiplies(hot)} {multiply[0]}) | {ideal:.4f} | "
                  f"{ideal / inner:.0%} |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
