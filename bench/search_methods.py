#!/usr/bin/env python3
"""Final hypervolume of `qfront search` per optimizer and seed on a preset (issue #5:
snips-nlu, 40 trials, 3 seeds, qnehvi-saas vs sobol and qnehvi).

Usage: python3 bench/search_methods.py [--qfront target/release/qfront] [--preset snips-nlu]
           [--budget 40] [--seeds 0 1 2] [--methods sobol qnehvi qnehvi-saas] [--out runs/bench]

Each run goes to OUT/<method>-<seed> (resumable: an existing run is resumed). The hypervolume
of every run's feasible front is computed against one reference point for all runs: the
worst value of each objective over every trial of every run (so no run is favoured), in the
maximization frame (minimized objectives negated). Prints one JSON line per run, then a
summary per method (mean ± std) on stdout.
"""
import argparse, json, os, statistics, subprocess


def trials(qfront, directory):
    out = subprocess.run([qfront, "trials", "--dir", directory, "--format", "json"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def dominated_volume(points, ref):
    """Exact hypervolume (maximization) by recursive slicing on the last objective."""
    pts = [p for p in points if all(x > r for x, r in zip(p, ref))]
    if not pts:
        return 0.0
    if len(ref) == 1:
        return max(p[0] for p in pts) - ref[0]
    pts.sort(key=lambda p: p[-1], reverse=True)
    volume, prev = 0.0, None
    levels = sorted({p[-1] for p in pts}, reverse=True)
    for i, level in enumerate(levels):
        nxt = levels[i + 1] if i + 1 < len(levels) else ref[-1]
        slab = [p[:-1] for p in pts if p[-1] >= level]
        volume += dominated_volume(slab, ref[:-1]) * (level - nxt)
    return volume


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qfront", default="target/release/qfront")
    ap.add_argument("--preset", default="snips-nlu")
    ap.add_argument("--budget", type=int, default=40)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--methods", nargs="+", default=["sobol", "qnehvi", "qnehvi-saas"])
    ap.add_argument("--out", default="runs/bench")
    args = ap.parse_args()
    runs = {}
    for seed in args.seeds:
        for method in args.methods:
            directory = os.path.join(args.out, f"{args.preset}-{method}-{seed}")
            resume = ["--resume"] if os.path.exists(os.path.join(directory, "study.db")) else []
            subprocess.run([args.qfront, "search", args.preset, "--optimizer", method, "--seed", str(seed),
                            "--budget", str(args.budget), "--dir", directory, *resume],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            runs[(method, seed)] = trials(args.qfront, directory)
    # Objectives of the preset, in the order qfront reports them.
    sample = next(t for ts in runs.values() for t in ts if t["state"] == "complete")
    names = list(sample["values"].keys())
    sign = {"accuracy": 1.0}  # every other objective of the presets is minimized
    def point(t):
        return [sign.get(n, -1.0) * t["metrics"][n] for n in names]
    everything = [point(t) for ts in runs.values() for t in ts if t["state"] == "complete"]
    ref = [min(p[i] for p in everything) for i in range(len(names))]
    by_method = {}
    for (method, seed), ts in runs.items():
        pts = [point(t) for t in ts if t["state"] == "complete"]
        hv = dominated_volume(pts, ref)
        by_method.setdefault(method, []).append(hv)
        print(json.dumps({"method": method, "seed": seed, "trials": len(ts), "failed": sum(t["state"] == "failed" for t in ts), "hypervolume": hv}))
    for method, hvs in by_method.items():
        print(json.dumps({"method": method, "mean_hypervolume": statistics.fmean(hvs),
                          "std": statistics.pstdev(hvs), "seeds": len(hvs), "reference": dict(zip(names, ref))}))


if __name__ == "__main__":
    main()
