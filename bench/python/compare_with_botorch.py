"""Where qfront and BoTorch's qLogNEHVI loop part ways on one problem of the MOBO suite
(issue #17; design notes, "Where Penicillin's trials go"). Three separations, each on the
same seeds for both:

* ``models``: both GPs fitted on the same uniform random points, read at held-out random
  points. Per objective: Spearman's rank correlation with the truth over all held-out points
  and over the best fifth, and how many of the true best 60 each model's best 60 hold.
  qfront's GP is the engine's own fit (warp choice, quadratic trend) through
  ``examples/diagnose_ask``, whose warped-frame means rank points as its units do.
* ``one-step``: on qfront's own run, at given trials, the scoring hypervolume gained by
  qfront's next trial against the gain of BoTorch's proposal from the same history.
* ``fronts``: BoTorch's runs (``botorch_loop.py``'s loop, points kept) against qfront's
  stored rows: each final front, their union, and the BoTorch points qfront's front lacks
  that would add the most.

Needs the bench virtualenv (``setup.sh``) with the qfront wheel installed, and for
``models`` the example built: ``cargo build --release -p qfront-bo --example diagnose_ask``
(``--diagnose-ask`` names the binary; default under ``$CARGO_TARGET_DIR`` or ``target``).

    python compare_with_botorch.py models --problem penicillin --train 30 --seeds 6
    python compare_with_botorch.py one-step --problem penicillin --seed-list 0,1 --at 16,22,28
    python compare_with_botorch.py fronts --problem penicillin --seed-list 2,3,4 \\
        --qfront-rows ../results/mobo_suite.jsonl
"""

import argparse
import json
import os
import subprocess
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import botorch_loop  # noqa: E402
import mobo_problems  # noqa: E402
import mobo_suite  # noqa: E402


def float_params(problem):
    params = problem["params"]
    if any(spec[0] != "float" for spec in params):
        raise SystemExit(f"{problem['name']}: only problems of float parameters are compared here")
    return params


def botorch_means(x, y, test):
    """Posterior means of BoTorch's per-objective ``SingleTaskGP`` (``Standardize``), fitted as
    ``botorch_loop.py`` fits it, at ``test``."""
    import torch
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from botorch.models.transforms.outcome import Standardize
    from gpytorch.mlls import ExactMarginalLogLikelihood

    tx = torch.tensor(x, dtype=torch.double)
    means = []
    for j in range(y.shape[1]):
        model = SingleTaskGP(tx, torch.tensor(y[:, j:j + 1], dtype=torch.double), outcome_transform=Standardize(m=1))
        fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
        with torch.no_grad():
            means.append(model.posterior(torch.tensor(test, dtype=torch.double)).mean[:, 0].numpy())
    return np.array(means).T


def qfront_means(binary, x, y, test):
    """qfront's per-objective warped-frame posterior means at ``test`` (monotone in the
    objective), from ``diagnose_ask`` with the quadratic trend as an ask with no reference
    point fits it."""
    history = {"x": x.tolist(), "y": y.tolist(), "reference": None, "probes": test.tolist()}
    out = subprocess.run([binary], input=json.dumps(history), capture_output=True, text=True,
                         env=dict(os.environ, TREND="1"), check=True).stdout
    means, current = [], None
    for line in out.splitlines():
        if line.startswith("objective") and "lengthscales" in line:
            current = []
            means.append(current)
        elif "warped-frame mean" in line and current is not None:
            current.append(float(line.split("warped-frame mean")[1].split()[0]))
    return np.array(means).T


def command_models(args):
    from scipy.stats import spearmanr

    problem = mobo_problems.BY_NAME[args.problem]
    params = float_params(problem)
    rows = []
    for seed in range(args.seeds):
        rng = np.random.default_rng(seed)
        x = rng.random((args.train, len(params)))
        test = rng.random((args.test, len(params)))
        # Maximized values, as both models are fitted.
        y = -np.array([problem["f"](botorch_loop.decode(params, list(u))) for u in x])
        truth = -np.array([problem["f"](botorch_loop.decode(params, list(u))) for u in test])
        predictions = {"botorch": botorch_means(x, y, test), "qfront": qfront_means(args.diagnose_ask, x, y, test)}
        for j in range(y.shape[1]):
            best_fifth = truth[:, j] >= np.quantile(truth[:, j], 0.8)
            best = set(np.argsort(-truth[:, j])[:60])
            row = {"seed": seed, "objective": j}
            for name, p in predictions.items():
                row[f"{name}_rank"] = spearmanr(p[:, j], truth[:, j])[0]
                row[f"{name}_rank_best_fifth"] = spearmanr(p[best_fifth, j], truth[best_fifth, j])[0]
                row[f"{name}_best_60_found"] = len(best & set(np.argsort(-p[:, j])[:60])) / 60
            rows.append(row)
            print(json.dumps(row), flush=True)
    keys = [k for k in rows[0] if k not in ("seed", "objective")]
    for j in sorted({r["objective"] for r in rows}):
        mine = [r for r in rows if r["objective"] == j]
        print(f"objective {j}: " + ", ".join(f"{k} {np.mean([r[k] for r in mine]):.3f}" for k in keys))


def command_one_step(args):
    import torch

    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    problem = mobo_problems.BY_NAME[args.problem]
    params = float_params(problem)
    reference = problem["reference"]
    at = [int(t) for t in args.at.split(",")]
    for seed in [int(s) for s in args.seed_list.split(",")]:
        steps = list(mobo_suite.ask_tell(problem, "qfront", seed, max(at) + 1, mobo_suite.startup_trials(problem),
                                         mobo_suite.noise_generator(seed)))
        for t in at:
            history = [s["noise_free"] for s in steps[:t]]
            before = mobo_problems.hypervolume(history, reference)
            gain_qfront = mobo_problems.hypervolume(history + [steps[t]["noise_free"]], reference) - before
            xs = [botorch_loop.reencode(params, s["params"], torch.double) for s in steps[:t]]
            u = botorch_loop.propose(xs, [s["observed"] for s in steps[:t]], "botorch-qlognehvi", seed * 1000 + t)
            proposal = problem["f"](botorch_loop.decode(params, u.tolist()))
            gain_botorch = mobo_problems.hypervolume(history + [proposal], reference) - before
            print(json.dumps({"seed": seed, "trial": t, "kind": mobo_suite.proposal_label(steps[t]["system_attrs"]),
                              "hypervolume_before": before, "gain_qfront": gain_qfront,
                              "gain_botorch": gain_botorch}), flush=True)


def dominates_or_equals(a, b):
    return all(x <= y for x, y in zip(a, b))


def command_fronts(args):
    problem = mobo_problems.BY_NAME[args.problem]
    if problem.get("noise"):
        raise SystemExit(f"{args.problem} is noisy: the stored rows keep what qfront was told, not the truth, "
                         "so `fronts` compares noise-free problems only")
    reference = problem["reference"]
    stored = {}
    for path in args.qfront_rows.split(","):
        for line in open(path):
            row = json.loads(line)
            if row["problem"] == args.problem and row["method"] == "qfront":
                stored[row["seed"]] = row["observed"]  # noise-free: what it was told is the truth
    for seed in [int(s) for s in args.seed_list.split(",")]:
        if seed not in stored:
            raise SystemExit(f"no stored qfront row of {args.problem} seed {seed} in {args.qfront_rows}")
        ours = stored[seed]
        points = []
        theirs, _ = botorch_loop.run(problem, "botorch-qlognehvi", seed, len(ours), mobo_suite.startup_trials(problem),
                                     mobo_suite.noise_generator(seed), points)
        hv_ours = mobo_problems.hypervolume(ours, reference)
        hv_theirs = mobo_problems.hypervolume(theirs, reference)
        hv_union = mobo_problems.hypervolume(ours + theirs, reference)
        lacking = [(mobo_problems.hypervolume(ours + [v], reference) - hv_ours, v, p)
                   for p, v in zip(points, theirs) if not any(dominates_or_equals(o, v) for o in ours)]
        lacking.sort(key=lambda g: -g[0])
        print(json.dumps({
            "seed": seed, "hypervolume_qfront": hv_ours, "hypervolume_botorch": hv_theirs,
            "union_adds_to_qfront": hv_union - hv_ours, "union_adds_to_botorch": hv_union - hv_theirs,
            "botorch_points_qfront_lacks": [{"gain": g, "values": v, "params": p} for g, v, p in lacking[:args.top]],
            "botorch_trials": [{"values": v, "params": p} for p, v in zip(points, theirs)],
        }), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "target"))
    models = commands.add_parser("models", help="both GPs on the same random points, read at held-out points")
    models.add_argument("--problem", required=True)
    models.add_argument("--train", type=int, default=30)
    models.add_argument("--test", type=int, default=600)
    models.add_argument("--seeds", type=int, default=6)
    models.add_argument("--diagnose-ask", default=os.path.join(target, "release", "examples", "diagnose_ask"))
    one_step = commands.add_parser("one-step", help="the gain of qfront's next trial against BoTorch's proposal")
    one_step.add_argument("--problem", required=True)
    one_step.add_argument("--seed-list", required=True)
    one_step.add_argument("--at", required=True, help="trial numbers, comma-separated")
    fronts = commands.add_parser("fronts", help="BoTorch's runs with their points against qfront's stored rows")
    fronts.add_argument("--problem", required=True)
    fronts.add_argument("--seed-list", required=True)
    fronts.add_argument("--qfront-rows", required=True, help="mobo_suite.py row files, comma-separated")
    fronts.add_argument("--top", type=int, default=5)
    args = parser.parse_args()
    {"models": command_models, "one-step": command_one_step, "fronts": command_fronts}[args.command](args)


if __name__ == "__main__":
    main()
