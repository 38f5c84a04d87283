"""QfrontSampler against Optuna's samplers on the same problems, in the same run.

    python bench/python/sampler_bench.py [--trials 50] [--seeds 5] [--problems branin_currin,dtlz2,mixed]
    python bench/python/sampler_bench.py --shard 0/2 > a.jsonl &  python ... --shard 1/2 > b.jsonl
    python bench/python/sampler_bench.py --summary a.jsonl b.jsonl

`bash bench/python/setup.sh` makes a virtualenv with the pinned peers and the qfront wheel.

`--shard I/N` runs only every N-th (problem, seed) pair, starting at the I-th, so N processes
(one thread each) split a slow sampler's runs over N cores; `--summary` merges their JSON
lines into the table.

Prints one JSON line per (problem, sampler, seed) and a summary table: final hypervolume of
the observed front (objectives minimized; reference points below) and seconds per trial
(the sampler's time and the objective's, which is negligible here). Samplers: QfrontSampler
(qNEHVI), Optuna's GPSampler, TPESampler(multivariate=True) and NSGAIISampler; BoTorch's
through optuna-integration when it imports.

Problems (all minimized):
* branin_currin: BoTorch's BraninCurrin on [0, 1]², reference (18, 6).
* dtlz2: DTLZ2 with d = 6, 2 objectives, reference (1.1, 1.1).
* mixed: a log-scaled float, an int, a categorical and a plain float, with Gaussian noise
  (σ = 0.01) on both objectives; reference (3, 3).
"""

import argparse
import json
import math
import random
import statistics
import time
import zlib

import optuna

import qfront
from qfront.optuna import QfrontSampler

optuna.logging.set_verbosity(optuna.logging.WARNING)


def branin_currin(trial):
    x1 = trial.suggest_float("x1", 0, 1)
    x2 = trial.suggest_float("x2", 0, 1)
    a, b = 15 * x1 - 5, 15 * x2
    branin = (b - 5.1 / (4 * math.pi**2) * a * a + 5 / math.pi * a - 6) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(a) + 10
    currin = (1 - math.exp(-1 / (2 * x2 + 1e-9))) * (2300 * x1**3 + 1900 * x1**2 + 2092 * x1 + 60) / (100 * x1**3 + 500 * x1**2 + 4 * x1 + 20)
    return branin, currin


def dtlz2(trial):
    x = [trial.suggest_float(f"x{i}", 0, 1) for i in range(6)]
    g = sum((v - 0.5) ** 2 for v in x[1:])
    return (1 + g) * math.cos(x[0] * math.pi / 2), (1 + g) * math.sin(x[0] * math.pi / 2)


def mixed(trial):
    lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
    units = trial.suggest_int("units", 8, 256)
    act = trial.suggest_categorical("activation", ["relu", "tanh", "gelu"])
    dropout = trial.suggest_float("dropout", 0.0, 0.5)
    # crc32, not hash(): str hashes are salted per process, so hash() made the noise, and the
    # results, differ from one run of this script to the next.
    rng = random.Random(zlib.crc32(repr((trial.number, lr, units, act, dropout)).encode()))
    error = (math.log10(lr) + 3) ** 2 / 4 + (math.log2(units) - 7) ** 2 / 9 + {"relu": 0.1, "tanh": 0.3, "gelu": 0.0}[act] + (dropout - 0.2) ** 2
    cost = units / 128 + (0.2 if act == "gelu" else 0.0) + (1 - dropout) * 0.3
    return error + rng.gauss(0, 0.01), cost + rng.gauss(0, 0.01)


PROBLEMS = {"branin_currin": (branin_currin, (18.0, 6.0)), "dtlz2": (dtlz2, (1.1, 1.1)), "mixed": (mixed, (3.0, 3.0))}


def samplers(seed):
    out = {
        "qfront-qnehvi": lambda: QfrontSampler(method="qnehvi", seed=seed),
        "optuna-gp": lambda: optuna.samplers.GPSampler(seed=seed),
        "optuna-tpe": lambda: optuna.samplers.TPESampler(seed=seed, multivariate=True),
        "optuna-nsga2": lambda: optuna.samplers.NSGAIISampler(seed=seed),
    }
    try:
        from optuna_integration import BoTorchSampler  # noqa: F401

        out["botorch"] = lambda: BoTorchSampler(seed=seed)
    except Exception:
        pass
    return out


def hypervolume(study, reference):
    points = [[-v for v in t.values] for t in study.trials if t.values is not None]
    return qfront.hypervolume(points, [-r for r in reference])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--problems", default=",".join(PROBLEMS))
    parser.add_argument("--samplers", default=None, help="comma list (default: all)")
    parser.add_argument("--shard", default="0/1", help="I/N: run only every N-th (problem, seed) pair from the I-th")
    parser.add_argument("--summary", nargs="+", metavar="JSONL", help="print the table of earlier runs' JSON lines")
    args = parser.parse_args()
    if args.summary:
        results = {}
        for path in args.summary:
            with open(path) as lines:
                for line in lines:
                    if line.startswith("{"):
                        row = json.loads(line)
                        results.setdefault((row["problem"], row["sampler"]), []).append((row["hypervolume"], row["seconds_per_trial"]))
        print_table(results)
        return
    shard_index, shard_count = (int(part) for part in args.shard.split("/"))
    if not 0 <= shard_index < shard_count:
        parser.error(f"--shard {args.shard}: I must be in 0..N-1")
    results = {}
    pair_index = -1
    for problem in args.problems.split(","):
        objective, reference = PROBLEMS[problem]
        for seed in range(args.seeds):
            pair_index += 1
            if pair_index % shard_count != shard_index:
                continue
            for name, make in samplers(seed).items():
                if args.samplers and name not in args.samplers.split(","):
                    continue
                study = optuna.create_study(directions=["minimize", "minimize"], sampler=make())
                start = time.perf_counter()
                study.optimize(objective, n_trials=args.trials)
                seconds = (time.perf_counter() - start) / args.trials
                hv = hypervolume(study, reference)
                results.setdefault((problem, name), []).append((hv, seconds))
                print(json.dumps({"problem": problem, "sampler": name, "seed": seed, "hypervolume": hv, "seconds_per_trial": seconds}), flush=True)
    print_table(results)


def print_table(results):
    """Mean, spread and worst seed of the final hypervolume per (problem, sampler)."""
    print("\n| problem | sampler | seeds | mean HV (± sd) | worst seed | s/trial |")
    print("|---|---|---|---|---|---|")
    for (problem, name), rows in sorted(results.items()):
        hvs = [r[0] for r in rows]
        sd = statistics.stdev(hvs) if len(hvs) > 1 else 0.0
        print(f"| {problem} | {name} | {len(hvs)} | {statistics.mean(hvs):.4f} ± {sd:.4f} | {min(hvs):.4f} | {statistics.mean(r[1] for r in rows):.4f} |")


if __name__ == "__main__":
    main()
