"""How many of each method's model-based trials fall in a region of the search space, on the
MOBO suite's own runs (issue #17; design notes, "Its high-intrusion end, counted").

Each run is the suite's (`mobo_suite.ask_tell`: same seeds, same starts, same noise), so a
count belongs to the rows `mobo_suite.py run` stores. The region is a Python expression over
the parameters by name (`x3 >= 2.5 and x1 < 1.1`); a trial is model-based when it comes after
the 2(d + 1) starts. Per run: the count, the first such trial, the scoring hypervolume.

    python where_trials_go.py --problem vehicle-safety --where "x3 >= 2.5" \\
        --methods qfront,optuna-gp --seeds 10
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import mobo_problems  # noqa: E402
import mobo_suite  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problem", required=True)
    parser.add_argument("--where", required=True, help="a Python expression over the parameters by name")
    parser.add_argument("--methods", default="qfront,optuna-gp")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--trials", type=int, default=40)
    args = parser.parse_args()
    problem = mobo_problems.BY_NAME[args.problem]
    region = compile(args.where, "--where", "eval")
    startup = mobo_suite.startup_trials(problem)
    for method in args.methods.split(","):
        for seed in range(args.seeds):
            history, inside = [], []
            steps = mobo_suite.ask_tell(problem, method, seed, args.trials, startup, mobo_suite.noise_generator(seed))
            for k, step in enumerate(steps):
                history.append(step["noise_free"])
                if k >= startup and eval(region, {}, step["params"]):
                    inside.append(k)
            hv = mobo_problems.hypervolume(history, problem["reference"])
            first = inside[0] if inside else "-"
            print(f"{method:12} seed {seed}: {len(inside):2d} of {args.trials - startup} model-based trials "
                  f"in the region (first: {first}), hypervolume {hv:.5g}", flush=True)


if __name__ == "__main__":
    main()
