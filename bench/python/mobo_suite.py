"""qfront's MOBO engine against its peers on problems outside its own suite.

    python bench/python/mobo_suite.py run [--half dev|held-out|fresh|unseen|unseen-2|all] [--methods ...] [--seeds 10 | --seed-list 10,11]
        [--trials 40] [--jobs 2] [--out bench/results/mobo_suite.jsonl]
    python bench/python/mobo_suite.py summary [--half ...] [--out ...] [--figures docs/figures]
    python bench/python/mobo_suite.py timing --half all --problems P,Q [--history 40,200]
        [--methods qfront,optuna-gp,botorch-qlognehvi] [--steady] [--history-from sobol|qfront]
    python bench/python/mobo_suite.py proposals [--half ...] [--methods qfront] [--out ...]
    python bench/python/mobo_suite.py paired --against EXPERIMENT.jsonl [--before EARLIER.jsonl] [--half ...] [--out ...]
    python bench/python/mobo_suite.py trace --half all --problems P [--seed-list 3,8] [--methods qfront]

`bash bench/python/setup.sh` makes the virtualenv to run it in: the peers pinned in
`bench/python/requirements.txt` and the qfront wheel built from the checkout.

Every run drives a sampler through Optuna's ask/tell interface, as a user would, with
2(d + 1) quasi-random startup trials (d = number of parameters) and **no reference point**:
qfront infers its own from what it has seen, exactly as `qfront study ask/tell` does. The
scoring reference point and the attainable hypervolume come from `mobo_problems.py`; the
hypervolume after every evaluation is recorded, with the seconds each ask took (the sampler's
time; the objectives are cheap closed forms); qfront's runs also keep each trial's proposal
rule and the values its sampler was told (`observed`, noisy where the problem is), so the
rules can be judged without the scoring point. `run` appends one JSON line per (problem,
method, seed) and skips runs already in the output, so it resumes. `summary` prints, per
problem, every method's mean ± sd, median and worst seed, and checks the goals of issue #17:
qfront's mean ≥ the best peer's mean, and no qfront seed below 80% of the best peer's median.

Methods: qfront (`QfrontSampler`, qNEHVI), Optuna 5's `GPSampler` (log-EHVI), `TPESampler`
(multivariate), `NSGAIISampler` (population 10: the default 50 would make a 40-trial run
random search), Sobol (`QMCSampler`), and BoTorch qNEHVI / qLogNEHVI (`botorch_loop.py`; slow:
opt in with `--methods`). `qfront-given-reference` (opt in) is a diagnostic, not a peer: qfront
told the scoring reference point, to separate what the inferred point costs from what the
model and the acquisition do. `qfront-plain-surrogate` (opt in) is another: qfront with
`surrogate="plain"` (BoTorch's GP recipe instead of qfront's adaptive one), to separate what
the recipe gives from what the loop does.

`timing` measures one ask after a history of N quasi-random evaluations (`--history 40,200`),
each method in turn in the same process, the median of `--repeats` asks. With `--history-from
qfront` the N points are instead the trials of a qfront run (seed 0), crowded near the front
as a real study's are. One history is built per problem, as long as the longest N; each
shorter one is its first N trials. With `--steady` it
times the ask after an ask instead: each sampler first asks and is told one trial on N − 1
points, then the timed ask refits on N, as every ask of a running study does (Optuna's
`GPSampler` starts each fit from the last one, kept in the sampler; qfront from the fit
recorded on the newest trial it chose). qfront's ask runs on rayon's pool (one thread per core
unless `RAYON_NUM_THREADS` says otherwise); torch, and so `GPSampler` and BoTorch, on one thread
unless `OMP_NUM_THREADS` and `MKL_NUM_THREADS` both say otherwise (this script sets both to 1
by default, as for every method; on two vCPUs a second torch thread made `GPSampler`'s asks
slower on four problems of five). Each row records the setting (`threads`).

`proposals` reads qfront's runs in the output and says, per problem, which rule chose its
trials (each trial's `qfront:proposal` attribute, recorded by `run`: the Sobol design,
exploration steps, anchor steps, the acquisition against the predicted-front or the loose
reference point) and how much of the scoring hypervolume each rule's trials added.

`paired` judges an engine change: qfront rows run with it (`--against`, written by `run
--methods qfront --out EXPERIMENT.jsonl` with the changed wheel) against the stored `qfront`
rows of `--out` (or those of `--before`: an earlier engine's rows, kept when a change was
adopted), seed by seed (same seeds, same noise), with both goals checked against the stored
peers, and the sum over problems of qfront's mean ÷ the best peer's mean.

`trace` reruns qfront on chosen problems and seeds and prints every trial: the scoring
hypervolume, the rule that chose it, the reference point and acquisition value of an
acquisition's trial, the told values and the parameters (where a stalled seed's trials went).
"""

import argparse
import json
import math
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import mobo_problems  # noqa: E402

DEFAULT_METHODS = ["qfront", "optuna-gp", "optuna-tpe", "optuna-nsga2", "sobol"]
ALL_METHODS = DEFAULT_METHODS + ["qfront-given-reference", "qfront-plain-surrogate", "qfront-qlognehvi", "botorch-qnehvi", "botorch-qlognehvi"]


def make_sampler(method, seed, startup, reference=None):
    import optuna

    if method == "qfront":
        from qfront.optuna import QfrontSampler

        return QfrontSampler(method="qnehvi", seed=seed, n_startup_trials=startup)
    if method == "qfront-given-reference":
        # A diagnostic, not a peer: qfront told the scoring reference point (the study's own
        # direction, minimized here), as a user who knows the worst acceptable values is.
        from qfront.optuna import QfrontSampler

        return QfrontSampler(method="qnehvi", seed=seed, n_startup_trials=startup, reference_point=reference)
    if method == "qfront-plain-surrogate":
        # A diagnostic, not a peer: qfront's loop on BoTorch's GP recipe (fitted constant
        # mean, no trend, no outcome warp).
        from qfront.optuna import QfrontSampler

        return QfrontSampler(method="qnehvi", seed=seed, n_startup_trials=startup, surrogate="plain")
    if method == "qfront-qlognehvi":
        from qfront.optuna import QfrontSampler

        return QfrontSampler(method="qlognehvi", seed=seed, n_startup_trials=startup)
    if method == "optuna-gp":
        return optuna.samplers.GPSampler(seed=seed, n_startup_trials=startup)
    if method == "optuna-tpe":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, n_startup_trials=startup)
    if method == "optuna-nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=10)
    if method == "sobol":
        return optuna.samplers.QMCSampler(qmc_type="sobol", scramble=True, seed=seed)
    raise ValueError(f"unknown method {method}")


def suggest(trial, params):
    out = {}
    for spec in params:
        if spec[0] == "float":
            out[spec[1]] = trial.suggest_float(spec[1], spec[2], spec[3], log=spec[4])
        elif spec[0] == "int":
            out[spec[1]] = trial.suggest_int(spec[1], spec[2], spec[3])
        else:
            out[spec[1]] = trial.suggest_categorical(spec[1], spec[2])
    return out


def run_one(job):
    """One (problem, method, seed) run; returns its JSON record."""
    name, method, seed, trials = job
    problem = mobo_problems.BY_NAME[name]
    startup = startup_trials(problem)
    noise_rng = noise_generator(seed)
    if method.startswith("botorch"):
        import botorch_loop

        history, ask_seconds = botorch_loop.run(problem, method, seed, trials, startup, noise_rng)
    else:
        history, ask_seconds, proposals, observed = [], [], [], []
        for step in ask_tell(problem, method, seed, trials, startup, noise_rng):
            ask_seconds.append(step["ask_seconds"])
            observed.append(step["observed"])
            history.append(step["noise_free"])
            proposals.append(proposal_label(step["system_attrs"]))
    reference = problem["reference"]
    hv = [mobo_problems.hypervolume(history[:k + 1], reference) for k in range(len(history))]
    record = {
        "problem": name, "method": method, "seed": seed, "trials": trials,
        "hypervolume": hv, "ask_seconds": ask_seconds, "final": hv[-1],
    }
    if method.startswith("qfront"):
        record["proposals"] = proposals
        record["observed"] = observed  # what the sampler was told (noisy where the problem is)
    return record


def startup_trials(problem):
    """The quasi-random trials before any model: 2(d + 1), d the number of parameters."""
    return 2 * (len(problem["params"]) + 1)


def noise_generator(seed):
    """The observation noise's generator of one seed: every method, and `trace`, draw the same
    noise on the same seed."""
    return np.random.default_rng(seed * 7919 + 17)


def ask_tell(problem, method, seed, trials, startup, noise_rng):
    """One Optuna sampler's run through ask/tell: yields, per trial, its parameters, the values
    the sampler was told (`observed`, noisy where the problem is), the noise-free values the
    score uses, the trial's system attributes and the seconds its ask took."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    import warnings

    warnings.filterwarnings("ignore")
    study = optuna.create_study(
        directions=["minimize"] * len(problem["reference"]),
        sampler=make_sampler(method, seed, startup, problem["reference"]),
    )
    for _ in range(trials):
        started = time.perf_counter()
        trial = study.ask()
        params = suggest(trial, problem["params"])
        ask_seconds = time.perf_counter() - started
        values = mobo_problems.evaluate(problem, params, noise_rng)
        study.tell(trial, values)
        yield {
            "params": params, "observed": [float(v) for v in values], "noise_free": problem["f"](params),
            "system_attrs": study.trials[-1].system_attrs, "ask_seconds": ask_seconds,
        }


def command_trace(args):
    """Ask by ask, one qfront run per problem and seed (`--seeds N`: seeds 0..N-1, or
    `--seed-list 3,8`): the scoring hypervolume after the trial, how the trial was chosen (the
    kind and, for the acquisition's trials, the reference rule, the reference point in the
    study's directions and the acquisition's value at the trial), the values the sampler was
    told, the parameters and, for a model-based trial, each objective's GP as the ask fitted it
    (`qfront:model_fit`: lengthscales, noise and output scale on standardized outputs). The
    same runs as `run` (same seeds, same noise), so a stalled seed of the stored rows is
    reproduced trial for trial."""
    method = next((m for m in args.methods.split(",") if m.startswith("qfront")), "qfront")
    seeds = chosen_seeds(args)
    for problem in selected(args.half, args.problems):
        for seed in seeds:
            print(f"\n{problem['name']} {method} seed {seed} (scoring reference {problem['reference']})")
            history = []
            steps = ask_tell(problem, method, seed, args.trials, startup_trials(problem), noise_generator(seed))
            for k, step in enumerate(steps):
                history.append(step["noise_free"])
                hv = mobo_problems.hypervolume(history, problem["reference"])
                proposal = step["system_attrs"].get("qfront:proposal") or {}
                reference = proposal.get("reference")
                value = proposal.get("value")
                print(f"{k:3d} hv {hv:<10.5g} {proposal_label(step['system_attrs']):28} "
                      f"told {rounded(step['observed'])} "
                      f"reference {rounded(reference) if reference else '-'} "
                      f"acquisition {'-' if value is None else f'{value:.4g}'} "
                      f"params {rounded(list(step['params'].values()))}"
                      f"{fit_summary(step['system_attrs'])}", flush=True)


def fit_summary(system_attrs):
    """Each objective's GP of the ask that chose a trial (its `qfront:model_fit` attribute),
    as ` fit [ℓ …] noise σ²`, or nothing for a trial without one."""
    fit = system_attrs.get("qfront:model_fit")
    if not fit:
        return ""
    return " fit " + "; ".join(
        f"ℓ {rounded(h['lengthscales'])} noise {h['noise']:.3g} scale {h['outputscale']:.3g}" for h in fit
    )


def rounded(values):
    """A short printable form of a list of numbers (categories printed as they are)."""
    return "[" + ", ".join(f"{v:.4g}" if isinstance(v, (int, float)) else str(v) for v in values) + "]"


def proposal_label(system_attrs):
    """How qfront chose a trial, from its `qfront:proposal` attribute: the kind, with the
    reference rule for the acquisition's trials (`acquisition:loose`); `independent` for a
    trial the sampler did not choose (the first, drawn before any search space is known)."""
    proposal = system_attrs.get("qfront:proposal")
    if proposal is None:
        return "independent"
    if proposal["kind"] == "acquisition":
        return f"acquisition:{proposal.get('rule')}"
    return proposal["kind"]


def load(paths):
    """The rows of one file, or of several named with commas (`--out A.jsonl,B.jsonl`: the
    stored seeds 0–9 beside a second draw's 10–19, read as one set of 20)."""
    rows = []
    for path in paths.split(","):
        if os.path.exists(path):
            with open(path) as f:
                rows += [json.loads(line) for line in f if line.strip()]
    return rows


def selected(half, names):
    problems = [p for p in mobo_problems.SUITE if half == "all" or p["half"] == half]
    if names:
        wanted = names.split(",")
        problems = [p for p in problems if p["name"] in wanted]
    return problems


def chosen_seeds(args):
    """`--seed-list 10,11` when given, else seeds `0 .. --seeds − 1`."""
    return [int(s) for s in args.seed_list.split(",")] if args.seed_list else list(range(args.seeds))


def command_run(args):
    if "," in args.out:
        raise SystemExit("run appends to one file: give --out a single path")
    done = {(r["problem"], r["method"], r["seed"], r["trials"]) for r in load(args.out)}
    methods = args.methods.split(",")
    for m in methods:
        if m not in ALL_METHODS:
            raise SystemExit(f"unknown method {m}; choose from {', '.join(ALL_METHODS)}")
    jobs = [
        (p["name"], m, seed, args.trials)
        for p in selected(args.half, args.problems)
        for m in methods
        for seed in chosen_seeds(args)
        if (p["name"], m, seed, args.trials) not in done
    ]
    print(f"{len(jobs)} runs to do", file=sys.stderr)
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with ProcessPoolExecutor(max_workers=args.jobs) as pool, open(args.out, "a") as out:
        for record in pool.map(run_one, jobs):
            out.write(json.dumps(record) + "\n")
            out.flush()
            print(f"{record['problem']:24} {record['method']:16} seed {record['seed']}: "
                  f"HV {record['final']:.5g}, {statistics.median(record['ask_seconds']):.3f} s/ask",
                  file=sys.stderr)


def mean_difference(ours, theirs):
    """`(mean(ours) − mean(theirs), its standard error, Welch's t)` over independent seeds.

    With 10 seeds a difference under about two standard errors is within the seeds' spread:
    the summary prints it so a missed (or met) mean goal can be read against that spread.
    """
    difference = statistics.mean(ours) - statistics.mean(theirs)
    variance = sum(statistics.variance(v) / len(v) for v in (ours, theirs) if len(v) > 1)
    error = math.sqrt(variance)
    if error > 0:
        return difference, error, difference / error
    return difference, error, math.copysign(math.inf, difference) if difference else 0.0


def goals(finals, best_mean, best_median):
    """Issue #17's two goals for one method's final hypervolumes over the seeds: `(mean ≥ the
    best peer's mean, worst seed ≥ 0.8 × the best peer median)`."""
    return statistics.mean(finals) >= best_mean, min(finals) >= 0.8 * best_median


def best_peer(finals):
    """The best peer of one problem, from `{method: final hypervolumes over the seeds}`:
    `(method, its mean, the largest median of any peer, its finals)`, or `None` without a
    peer. qfront's own rows and Sobol (the floor, not a competitor) are not peers."""
    peers = {m: v for m, v in finals.items() if v and not m.startswith("qfront") and m != "sobol"}
    if not peers:
        return None
    name = max(peers, key=lambda m: statistics.mean(peers[m]))
    return name, statistics.mean(peers[name]), max(statistics.median(v) for v in peers.values()), peers[name]


def command_summary(args):
    records = [r for r in load(args.out) if r["trials"] == args.trials]
    goals_met = True
    lines = []
    counts = dict.fromkeys(["problems", "mean", "worst", "worst missed by the peer too", "told problems",
                            "told mean", "told worst"], 0)
    for problem in selected(args.half, args.problems):
        by_method = {}
        for r in records:
            if r["problem"] == problem["name"]:
                by_method.setdefault(r["method"], []).append(r)
        if not by_method:
            continue
        attainable = mobo_problems.attainable_hypervolume(problem)
        lines.append(f"\n{problem['name']} ({problem['half']}; attainable ≈ {attainable:.5g})")
        lines.append(f"  {'method':22} {'seeds':>5} {'mean':>10} {'sd':>9} {'median':>10} {'worst':>10} {'% att.':>7} {'s/ask@end':>9}")
        stats = {}
        for method in ALL_METHODS:
            runs = by_method.get(method)
            if not runs:
                continue
            finals = [r["final"] for r in runs]
            late = [s for r in runs for s in r["ask_seconds"][-5:]]
            stats[method] = (statistics.mean(finals), statistics.median(finals), min(finals), finals)
            lines.append(
                f"  {method:22} {len(finals):5d} {statistics.mean(finals):10.5g} "
                f"{(statistics.stdev(finals) if len(finals) > 1 else 0):9.3g} {statistics.median(finals):10.5g} "
                f"{min(finals):10.5g} {100 * statistics.mean(finals) / attainable:6.1f}% {statistics.median(late):9.3f}")
        if "qfront" in stats:
            best = best_peer({m: s[3] for m, s in stats.items()})
            if best:
                best_name, best_mean, best_median, best_finals = best
                mean_ok, worst_ok = goals(stats["qfront"][3], best_mean, best_median)
                goals_met &= mean_ok and worst_ok
                difference, error, t = mean_difference(stats["qfront"][3], best_finals)
                best_worst = min(best_finals)
                lines.append(
                    f"  goal: mean {stats['qfront'][0]:.5g} vs best peer {best_mean:.5g} "
                    f"({'met' if mean_ok else 'MISSED'}; {best_name}, difference {difference:+.4g} ± {error:.3g}, "
                    f"t = {t:+.2f}); worst seed {stats['qfront'][2]:.5g} vs 0.8 × best peer median "
                    f"{0.8 * best_median:.5g} ({'met' if worst_ok else 'MISSED'}; the best peer's own worst seed "
                    f"{best_worst:.5g})")
                counts["problems"] += 1
                counts["mean"] += mean_ok
                counts["worst"] += worst_ok
                # A bar the best peer's own worst seed is under too: the goal asks more of
                # qfront than the peer that sets it reaches.
                counts["worst missed by the peer too"] += not worst_ok and best_worst < 0.8 * best_median
                # The same goals for qfront told the scoring point, which no peer is (BoTorch
                # infers its own): a diagnostic beside the goal, never in its place.
                told = stats.get("qfront-given-reference")
                if told:
                    told_mean_ok, told_worst_ok = goals(told[3], best_mean, best_median)
                    counts["told problems"] += 1
                    counts["told mean"] += told_mean_ok
                    counts["told worst"] += told_worst_ok
                    lines.append(
                        f"  told the scoring point: mean {told[0]:.5g} ({'met' if told_mean_ok else 'missed'}); "
                        f"worst seed {told[2]:.5g} ({'met' if told_worst_ok else 'missed'})")
        if args.figures:
            figure(problem, by_method, attainable, args.figures)
    print("\n".join(lines))
    print(f"\nall goals met: {goals_met}")
    print(f"qfront: mean goal met on {counts['mean']} of {counts['problems']} problems, "
          f"worst-seed goal on {counts['worst']} of {counts['problems']} (of the {counts['problems'] - counts['worst']} "
          f"missed, the best peer's own worst seed is under the same bar on {counts['worst missed by the peer too']})")
    if counts["told problems"]:
        print(f"qfront told the scoring point (qfront-given-reference, a diagnostic: no peer is told it): mean goal met on "
              f"{counts['told mean']} of {counts['told problems']}, worst-seed goal on "
              f"{counts['told worst']} of {counts['told problems']}")
    if args.markdown:
        print(markdown_table(records, selected(args.half, args.problems)))


def markdown_table(records, problems):
    """One row per problem: every method's mean (worst seed) and qfront's goal check."""
    present = [m for m in ALL_METHODS if any(r["method"] == m for r in records)]
    head = "| problem (attainable) | " + " | ".join(present) + " | goals |"
    rows = [head, "|" + "---|" * (len(present) + 2)]
    for problem in problems:
        finals = {m: [r["final"] for r in records if r["problem"] == problem["name"] and r["method"] == m] for m in present}
        if not finals.get("qfront"):
            continue
        cells = []
        for m in present:
            v = finals[m]
            cells.append(f"{statistics.mean(v):.4g} ({min(v):.4g}){'' if len(v) == 10 else f' [{len(v)} seeds]'}" if v else "—")
        best = best_peer(finals)
        if best is None:
            goal = "no peer"
        else:
            _, best_mean, best_median, best_finals = best
            mean_ok, worst_ok = goals(finals["qfront"], best_mean, best_median)
            t = mean_difference(finals["qfront"], best_finals)[2]
            goal = f"mean {'✓' if mean_ok else '✗'} (t = {t:+.1f}), worst {'✓' if worst_ok else '✗'}"
        rows.append(f"| {problem['name']} ({mobo_problems.attainable_hypervolume(problem):.4g}) | " + " | ".join(cells) + f" | {goal} |")
    return "\n".join(rows)


def thread_settings():
    """How many threads each sampler may use in this process: qfront's asks run on rayon's
    pool (`RAYON_NUM_THREADS`, else one per core), `GPSampler`'s tensors on torch's intra-op
    threads (the smaller of `OMP_NUM_THREADS` and `MKL_NUM_THREADS`, both 1 unless set)."""
    import torch

    return {"cores": os.cpu_count(), "rayon": os.environ.get("RAYON_NUM_THREADS"), "torch": torch.get_num_threads()}


def command_timing(args):
    """Seconds of one ask after a history of N evaluations, per method: quasi-random points
    (`--history-from sobol`) or the trials of a qfront run (`--history-from qfront`)."""
    import optuna
    import warnings

    warnings.filterwarnings("ignore")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    methods = [m for m in args.methods.split(",") if m == "optuna-gp" or m.startswith(("qfront", "botorch"))]
    sizes = [int(v) for v in args.history.split(",")]
    for problem in selected(args.half, args.problems):
        directions = ["minimize"] * len(problem["reference"])
        rng = np.random.default_rng(0)
        if args.history_from == "qfront":
            # The history a run produces: qfront's own trials on seed 0 (its initial design,
            # then its model-based trials, crowded near the front as a real study's are), not
            # quasi-random points spread over the box.
            base = optuna.create_study(
                directions=directions, sampler=make_sampler("qfront", 0, startup_trials(problem)))
        else:
            base = optuna.create_study(directions=directions, sampler=optuna.samplers.QMCSampler(seed=0))
        # One history, as long as the longest asked for: each shorter one is its first N
        # trials (both samplers' trial k depends only on the k before it), so a qfront run
        # is not repeated from the start for every size.
        for _ in range(max(sizes)):
            trial = base.ask()
            base.tell(trial, mobo_problems.evaluate(problem, suggest(trial, problem["params"]), rng))
        for n in sizes:
            history = base.trials[:n]
            row = {"problem": problem["name"], "history": n, "history_from": args.history_from,
                   "steady": bool(args.steady), "threads": thread_settings()}
            for method in methods:
                seconds = []
                for repeat in range(args.repeats):
                    if method.startswith("botorch"):
                        # BoTorch keeps nothing between asks: its row is a first ask on N
                        # points with or without --steady.
                        import torch

                        import botorch_loop

                        torch.set_num_threads(1)
                        xs = [botorch_loop.reencode(problem["params"], t.params, torch.double) for t in history]
                        ys = [list(t.values) for t in history]
                        started = time.perf_counter()
                        botorch_loop.propose(xs, ys, method, repeat)
                        seconds.append(time.perf_counter() - started)
                    else:
                        study = optuna.create_study(directions=directions, sampler=make_sampler(method, repeat, 0))
                        if args.steady:
                            # The ask after an ask: the sampler has fitted once on the first
                            # N − 1 points (GPSampler keeps that fit in the sampler object,
                            # qfront on the trial it chose), and the timed ask refits on N.
                            study.add_trials(history[:-1])
                            warm_up = study.ask()
                            study.tell(warm_up, mobo_problems.evaluate(problem, suggest(warm_up, problem["params"]), rng))
                        else:
                            study.add_trials(history)
                        started = time.perf_counter()
                        suggest(study.ask(), problem["params"])
                        seconds.append(time.perf_counter() - started)
                row[method] = statistics.median(seconds)
            print(json.dumps(row), flush=True)


def command_proposals(args):
    """Per problem and rule: trials, trials that raised the scoring hypervolume, trials whose
    told values no earlier trial's equal or dominate (a success that needs no reference point; runs
    recorded before `observed` existed leave it blank), and the share of the hypervolume gained
    after the initial design that the rule's trials brought. A rule whose trials are often
    non-dominated but seldom raise the scoring hypervolume finds Pareto-optimal points outside
    the scoring point's box."""
    methods = [m for m in args.methods.split(",") if m.startswith("qfront")] or ["qfront"]
    rows = [r for r in load(args.out) if r["method"] in methods and "proposals" in r]
    if not rows:
        raise SystemExit(f"no qfront run with proposals in {args.out}: run `run --methods qfront` first")
    for problem in selected(args.half, args.problems):
        runs = [r for r in rows if r["problem"] == problem["name"]]
        if not runs:
            continue
        trials, raised, gain, non_dominated = {}, {}, {}, {}
        every_run_observed = all("observed" in r for r in runs)
        for r in runs:
            hv = [0.0] + r["hypervolume"]
            for k, label in enumerate(r["proposals"]):
                trials[label] = trials.get(label, 0) + 1
                if every_run_observed and not any(covers(earlier, r["observed"][k]) for earlier in r["observed"][:k]):
                    non_dominated[label] = non_dominated.get(label, 0) + 1
                step = max(hv[k + 1] - hv[k], 0.0)  # exact HV never falls; rounding can
                if step > 0:
                    raised[label] = raised.get(label, 0) + 1
                if label not in ("sobol", "independent"):
                    gain[label] = gain.get(label, 0.0) + step
        total = sum(gain.values()) or 1.0
        print(f"\n{problem['name']} ({len(runs)} seeds; share of the hypervolume gained after the initial design)")
        print(f"  {'rule':32} {'trials':>7} {'raised HV':>10} {'non-dominated':>14} {'share of gain':>14}")
        for label in sorted(trials, key=lambda l: -trials[l]):
            share = f"{100 * gain[label] / total:13.1f}%" if label in gain else f"{'':>14}"
            told = f"{non_dominated.get(label, 0):14d}" if every_run_observed else f"{'':>14}"
            print(f"  {label:32} {trials[label]:7d} {raised.get(label, 0):10d} {told} {share}")


def command_paired(args):
    """Per problem: the stored (or `--before`) and the experiment's mean and worst seed, the
    paired difference ± its standard error over the common seeds, how many seeds came out
    identical, and both goals before and after; then the sum over problems of mean ÷ best
    peer's mean with its difference's standard error, and how many problems moved by at least
    twice their own standard error. A change that only reshuffles the trajectories (another
    Monte-Carlo stream) moved the sum by −0.74 ± 0.44 on 10 seeds and flipped goals that are ties,
    so read the standard errors before the goals (BENCHMARKS.md, thirty-eighth session)."""
    if not args.against:
        raise SystemExit("paired needs --against EXPERIMENT.jsonl (qfront rows run with the change)")
    stored = [r for r in load(args.out) if r["trials"] == args.trials]
    if args.before:
        # An adopted change's comparison: the engine before it, kept in its own file.
        earlier = [r for r in load(args.before) if r["method"] == "qfront" and r["trials"] == args.trials]
        if not earlier:
            raise SystemExit(f"no qfront rows with {args.trials} trials in {args.before}")
        stored = [r for r in stored if r["method"] != "qfront"] + earlier
    experiment = {(r["problem"], r["seed"]): r["final"] for r in load(args.against)
                  if r["method"] == "qfront" and r["trials"] == args.trials}
    if not experiment:
        raise SystemExit(f"no qfront rows with {args.trials} trials in {args.against}")
    sums, met = [0.0, 0.0], [[0, 0], [0, 0]]
    # The sum's difference has the standard error of its terms' paired differences, each
    # divided by its problem's best peer's mean: sqrt(Σ (error_p / best_p)²).
    sum_variance, clear = 0.0, [0, 0]
    for problem in selected(args.half, args.problems):
        finals = {}
        for r in stored:
            if r["problem"] == problem["name"]:
                finals.setdefault(r["method"], {})[r["seed"]] = r["final"]
        seeds = sorted(s for s in finals.get("qfront", {}) if (problem["name"], s) in experiment)
        best = best_peer({m: list(v.values()) for m, v in finals.items()})
        if not seeds or not best:
            continue
        best_name, best_mean, best_median, _ = best
        before = [finals["qfront"][s] for s in seeds]
        after = [experiment[(problem["name"], s)] for s in seeds]
        differences = [a - b for a, b in zip(after, before)]
        mean_difference = statistics.mean(differences)
        error = statistics.stdev(differences) / math.sqrt(len(seeds)) if len(seeds) > 1 else 0.0
        sum_variance += (error / best_mean) ** 2
        if error > 0 and abs(mean_difference) >= 2 * error:
            clear[mean_difference < 0] += 1
        marks = []
        for k, finals_k in enumerate((before, after)):
            sums[k] += statistics.mean(finals_k) / best_mean
            mean_ok, worst_ok = goals(finals_k, best_mean, best_median)
            met[k][0] += mean_ok
            met[k][1] += worst_ok
            marks.append(f"{'✓' if mean_ok else '✗'}{'✓' if worst_ok else '✗'}")
        print(f"{problem['name']:28} {statistics.mean(before):9.5g} → {statistics.mean(after):9.5g} "
              f"({mean_difference:+.4g} ± {error:.3g}; {sum(d == 0 for d in differences)}/{len(seeds)} identical) "
              f"worst {min(before):.5g} → {min(after):.5g}; goals (mean, worst) {marks[0]} → {marks[1]} "
              f"against {best_name} {best_mean:.5g}, bar {0.8 * best_median:.5g}")
    print(f"sum of mean ÷ best peer's mean: {sums[0]:.3f} → {sums[1]:.3f} "
          f"({sums[1] - sums[0]:+.3f} ± {math.sqrt(sum_variance):.3f}); mean goals {met[0][0]} → {met[1][0]}, "
          f"worst-seed goals {met[0][1]} → {met[1][1]}; problems moved by at least twice their standard error: "
          f"{clear[0]} up, {clear[1]} down")


def covers(a, b):
    """Whether values `a` are no worse than `b` in every objective (minimized): `a` dominates
    `b` or repeats it."""
    return all(x <= y for x, y in zip(a, b))


COLOURS = {"qfront": "C3", "qfront-given-reference": "C6", "qfront-plain-surrogate": "C9", "qfront-qlognehvi": "C8", "optuna-gp": "C0", "optuna-tpe": "C2", "optuna-nsga2": "C4", "sobol": "C7",
           "botorch-qnehvi": "C1", "botorch-qlognehvi": "C5"}


def figure(problem, by_method, attainable, folder):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.6), dpi=90)
    for method in ALL_METHODS:
        runs = by_method.get(method)
        if not runs:
            continue
        curves = np.array([r["hypervolume"] for r in runs]) / attainable
        x = np.arange(1, curves.shape[1] + 1)
        style = ":" if method in ("qfront-given-reference", "qfront-plain-surrogate") else "-"
        ax.plot(x, curves.mean(axis=0), style, color=COLOURS[method], label=f"{method} (mean)")
        ax.fill_between(x, curves.min(axis=0), curves.max(axis=0), color=COLOURS[method], alpha=0.08, linewidth=0)
    ax.set_xlabel("evaluations")
    ax.set_ylabel("hypervolume / attainable")
    ax.set_title(f"{problem['name']} ({problem['half']}): mean, band = worst..best seed", fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    os.makedirs(folder, exist_ok=True)
    fig.savefig(os.path.join(folder, f"mobo-suite-{problem['name']}.png"))
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["run", "summary", "timing", "proposals", "paired", "trace"])
    parser.add_argument("--half", default="dev", choices=["dev", "held-out", "fresh", "unseen", "unseen-2", "all"])
    parser.add_argument("--problems", default="", help="comma-separated subset of the half's problems")
    parser.add_argument("--methods", default=",".join(DEFAULT_METHODS))
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--seed-list", default="", help="run and trace: comma-separated seeds instead of 0..seeds-1")
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", default="bench/results/mobo_suite.jsonl")
    parser.add_argument("--figures", default="")
    parser.add_argument("--markdown", action="store_true", help="summary: also print a markdown table")
    parser.add_argument("--history", default="40,200", help="timing: history sizes")
    parser.add_argument("--history-from", default="sobol", choices=["sobol", "qfront"],
                        help="timing: the N evaluated points are quasi-random (sobol) or a qfront run's own trials on seed 0")
    parser.add_argument("--repeats", type=int, default=3, help="timing: asks per method and size (median)")
    parser.add_argument("--steady", action="store_true", help="timing: time the ask after an ask on N − 1 points (samplers that keep their last fit start from it), not a first ask on N (BoTorch keeps nothing: a first ask either way)")
    parser.add_argument("--against", default="", help="paired: qfront rows run with an engine change")
    parser.add_argument("--before", default="", help="paired: qfront rows to compare against instead of the stored ones "
                        "(an earlier engine's, kept when a change was adopted)")
    args = parser.parse_args()
    commands = {"run": command_run, "summary": command_summary, "timing": command_timing, "proposals": command_proposals, "paired": command_paired,
                "trace": command_trace}
    commands[args.command](args)


if __name__ == "__main__":
    main()
