#!/usr/bin/env python3
"""The study store's cost per trial: qfront against Optuna's RDB storage, in the same run.

Both run a study of N trials with a trivial objective over D floats (no training), so what is
timed is the storage round trips: qfront's ask + tell (`qfront bench store`, Sobol, one lock
per step, the optimizer state stored with each change) against Optuna's `study.optimize`
with a RandomSampler on the same database (`RDBStorage` through SQLAlchemy). Prints one JSON
line per run and the ratio qfront / Optuna of the mean seconds per trial (below 1 means
qfront is faster).

Needs: a release build, python3 with optuna (and psycopg2-binary for PostgreSQL).
Usage: bench/store_peers.py [--trials N] [--params D] [--postgres postgresql://user@host/db]
"""
import argparse, json, os, subprocess, sys, tempfile, time

here = os.path.dirname(os.path.abspath(__file__))
qfront = os.environ.get("QFRONT", os.path.join(here, "..", "target", "release", "qfront"))


def optuna_run(url, trials, params):
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    name = f"bench-store-{os.getpid()}-{time.time_ns()}"
    study = optuna.create_study(storage=url, study_name=name,
                                sampler=optuna.samplers.RandomSampler(seed=0))
    stamps = []

    def objective(trial):
        xs = [trial.suggest_float(f"x{i}", 0.0, 1.0) for i in range(params)]
        return sum((x - 0.5) ** 2 for x in xs)

    def callback(study, trial):
        stamps.append(time.perf_counter())

    start = time.perf_counter()
    study.optimize(objective, n_trials=trials, callbacks=[callback])
    total = time.perf_counter() - start
    optuna.delete_study(study_name=name, storage=url)
    per = [b - a for a, b in zip([start] + stamps[:-1], stamps)]
    tenth = max(len(per) // 10, 1)
    mean = lambda v: sum(v) / len(v)
    return {"bench": "store", "peer": f"optuna {optuna.__version__}", "trials": trials, "params": params,
            "total_s": total, "trials_per_s": trials / total, "ask_tell_ms_mean": 1e3 * mean(per),
            "ask_tell_ms_first_tenth": 1e3 * mean(per[:tenth]), "ask_tell_ms_last_tenth": 1e3 * mean(per[-tenth:])}


def qfront_run(storage, trials, params):
    cmd = [qfront, "bench", "store", "--trials", str(trials), "--params", str(params)]
    if storage:
        cmd += ["--storage", storage]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    record = json.loads(out.strip().splitlines()[-1])
    record["peer"] = "qfront"
    return record


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--params", type=int, default=5)
    parser.add_argument("--postgres", help="postgresql://user@host/db (both use this database)")
    args = parser.parse_args()
    if not os.access(qfront, os.X_OK):
        sys.exit("build first: cargo build --release (or set QFRONT=path/to/qfront)")
    stores = []
    with tempfile.TemporaryDirectory() as tmp:
        stores.append(("sqlite", None, f"sqlite:///{tmp}/optuna.db"))
        if args.postgres:
            stores.append(("postgresql", args.postgres,
                           args.postgres.replace("postgresql://", "postgresql+psycopg2://", 1)))
        for kind, ours_url, theirs_url in stores:
            ours = qfront_run(ours_url, args.trials, args.params)
            theirs = optuna_run(theirs_url, args.trials, args.params)
            ours["store"] = theirs["store"] = kind
            print(json.dumps(ours))
            print(json.dumps(theirs))
            print(json.dumps({"bench": "store-ratio", "store": kind, "trials": args.trials,
                              "ratio_mean": round(ours["ask_tell_ms_mean"] / theirs["ask_tell_ms_mean"], 3),
                              "ratio_last_tenth": round(ours["ask_tell_ms_last_tenth"] / theirs["ask_tell_ms_last_tenth"], 3)}))


if __name__ == "__main__":
    main()
