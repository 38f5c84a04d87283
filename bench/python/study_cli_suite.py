"""The suite of `mobo_suite.py` driven through the command line, as the issue (#17) first did.

    python bench/python/study_cli_suite.py --qfront target/release/qfront [--half all]
        [--problems P,Q] [--seeds 10] [--trials 40] [--jobs 2] [--out bench/results/mobo_suite_study_cli.jsonl]
    python bench/python/mobo_suite.py paired --half all --against bench/results/mobo_suite_study_cli.jsonl

`mobo_suite.py` runs qfront through `QfrontSampler` (the Python package, behind Optuna's
ask/tell). A user without Python drives the same engine through `qfront study create`, then
`qfront study ask` / `qfront study tell` once per trial, each a new process reading and writing
the study's SQLite store. This script does exactly that for every (problem, seed): a study of
`kind = "external"`, the problem's parameters, every objective minimized, no reference point,
2(d + 1) initial points and the seed; then 40 asks and tells with the same noise as the suite's
runs (`mobo_suite.noise_generator`). It writes rows in `mobo_suite.py`'s format with the
method `qfront` and each trial's proposal label, so `mobo_suite.py paired --against FILE`
compares them, seed by seed, with the stored `QfrontSampler` rows (and checks the goals on
them), and `mobo_suite.py proposals --out FILE` tallies the rules.

The two paths differ in one thing by design: `QfrontSampler` rebuilds the optimizer from
Optuna's trials at every ask and moves the model's random seed with the trial number, while
a study keeps one optimizer in its store; and Optuna draws its first trial independently (a
uniform point), where a study's is Sobol point 0. Everything else (the engine, its defaults, the
initial design, the proposals the rules look back at) is the same code.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import mobo_problems  # noqa: E402
from mobo_suite import noise_generator, proposal_label, startup_trials  # noqa: E402


def toml_value(value):
    """A TOML scalar or list."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


def study_config(problem, seed, trials):
    """The study's TOML: the problem's parameters, each objective `f<i>` minimized."""
    objectives = [f"-f{i}" for i in range(len(problem["reference"]))]
    lines = [
        f"name = {toml_value(problem['name'])}",
        'kind = "external"',
        f"objectives = {toml_value(objectives)}",
        'optimizer = "qnehvi"',
        f"budget = {trials}",
        f"initial_points = {startup_trials(problem)}",
        f"seed = {seed}",
    ]
    for spec in problem["params"]:
        lines += ["", "[[parameter]]", f"name = {toml_value(spec[1])}"]
        if spec[0] == "float":
            lines += ['type = "float"', f"low = {float(spec[2])!r}", f"high = {float(spec[3])!r}"]
            if spec[4]:
                lines.append('scale = "log"')
        elif spec[0] == "int":
            lines += ['type = "int"', f"low = {int(spec[2])}", f"high = {int(spec[3])}"]
        else:
            lines += ['type = "categorical"', f"values = {toml_value(list(spec[2]))}"]
    return "\n".join(lines) + "\n"


def qfront_json(binary, *args):
    """Runs `qfront ARGS` and parses its stdout as JSON (stderr shown on failure)."""
    done = subprocess.run([binary, *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"qfront {' '.join(args)} exited {done.returncode}: {done.stderr.strip()}")
    return json.loads(done.stdout) if done.stdout.strip() else None


def run_one(job):
    """One (problem, seed) run through `qfront study`; returns its suite row."""
    binary, name, seed, trials = job
    problem = mobo_problems.BY_NAME[name]
    noise_rng = noise_generator(seed)
    history, observed, proposals = [], [], []
    with tempfile.TemporaryDirectory(prefix="qfront-cli-") as folder:
        config = os.path.join(folder, "study.toml")
        with open(config, "w") as f:
            f.write(study_config(problem, seed, trials))
        store = os.path.join(folder, "study")
        subprocess.run([binary, "study", "create", "--config", config, "--dir", store],
                       check=True, capture_output=True, text=True)
        for _ in range(trials):
            asked = qfront_json(binary, "study", "ask", "--dir", store)
            params = asked["params"]
            values = mobo_problems.evaluate(problem, params, noise_rng)
            told = {f"f{i}": float(v) for i, v in enumerate(values)}
            qfront_json(binary, "study", "tell", "--dir", store, "--trial", str(asked["trial"]),
                        "--values", json.dumps(told))
            observed.append([float(v) for v in values])
            # The same labels as the sampler's rows (`mobo_suite.py proposals` reads them).
            proposals.append(proposal_label({"qfront:proposal": asked.get("proposal")}))
            history.append(problem["f"](params))
    hv = [mobo_problems.hypervolume(history[:k + 1], problem["reference"]) for k in range(len(history))]
    return {"problem": name, "method": "qfront", "path": "qfront study ask/tell", "seed": seed,
            "trials": trials, "hypervolume": hv, "final": hv[-1], "observed": observed, "proposals": proposals}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--qfront", required=True, help="the qfront binary")
    parser.add_argument("--half", default="all", choices=["dev", "held-out", "fresh", "unseen", "unseen-2", "all"])
    parser.add_argument("--problems", default="")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", default="bench/results/mobo_suite_study_cli.jsonl")
    args = parser.parse_args()
    problems = [p for p in mobo_problems.SUITE if args.half == "all" or p["half"] == args.half]
    if args.problems:
        wanted = args.problems.split(",")
        unknown = [w for w in wanted if w not in mobo_problems.BY_NAME]
        if unknown:
            sys.exit(f"unknown problems {unknown}; known: {sorted(mobo_problems.BY_NAME)}")
        problems = [p for p in problems if p["name"] in wanted]
    done = set()
    if os.path.exists(args.out):
        with open(args.out) as f:
            done = {(r["problem"], r["seed"]) for r in map(json.loads, f)}
    jobs = [(os.path.abspath(args.qfront), p["name"], s, args.trials)
            for p in problems for s in range(args.seeds) if (p["name"], s) not in done]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool, open(args.out, "a") as out:
        for row in pool.map(run_one, jobs):
            out.write(json.dumps(row) + "\n")
            out.flush()
            print(f"{row['problem']} seed {row['seed']}: {row['final']:.6g}", file=sys.stderr)
    print(f"compare with the sampler's rows: python bench/python/mobo_suite.py paired --half {args.half} "
          f"--against {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
