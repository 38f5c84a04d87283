#!/usr/bin/env python3
"""Time of one qNEHVI ask after a long history: qfront against BoTorch, in the same run.

The history is N Sobol points of DTLZ2 (10 parameters, 3 objectives; the same problem and
reference point as `qfront bench ask`), told with their values. qfront: `qfront bench ask
--trials N` (exact GP up to 256 completed trials, then a subset; see
`crates/qfront-bo/src/moo/model_subset.rs`). BoTorch: a `ModelListGP` of `SingleTaskGP`s fitted
with `fit_gpytorch_mll`, then `qNoisyExpectedHypervolumeImprovement` with
`prune_baseline=True` on all N points,
`optimize_acqf(q=1, num_restarts=10, raw_samples=512)`, 128 MC samples, as BoTorch's
tutorials and Ax do. Sizes BoTorch does not finish within --timeout seconds are reported as
such.

Usage: bench/python/ask_time_peers.py --qfront target/release/qfront [--trials 100,500,1000]
Needs: torch, botorch (versions printed).
"""
import argparse, json, math, subprocess, sys, time


def dtlz2(x, m=3):
    """DTLZ2 (minimization), x in [0, 1]^d."""
    import torch
    k = x.shape[-1] - m + 1
    g = ((x[..., -k:] - 0.5) ** 2).sum(-1)
    f = []
    for i in range(m):
        v = 1 + g
        for j in range(m - 1 - i):
            v = v * torch.cos(x[..., j] * math.pi / 2)
        if i > 0:
            v = v * torch.sin(x[..., m - 1 - i] * math.pi / 2)
        f.append(v)
    return torch.stack(f, -1)


def botorch_ask(n, seed):
    import torch
    from botorch.acquisition.multi_objective import qNoisyExpectedHypervolumeImprovement
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import ModelListGP, SingleTaskGP
    from botorch.models.transforms import Normalize, Standardize
    from botorch.optim import optimize_acqf
    from botorch.sampling import SobolQMCNormalSampler
    from gpytorch.mlls import SumMarginalLogLikelihood
    torch.manual_seed(seed)
    d, m = 10, 3
    x = torch.quasirandom.SobolEngine(d, scramble=True, seed=seed).draw(n).double()
    y = -dtlz2(x, m)  # maximized
    bounds = torch.stack([torch.zeros(d), torch.ones(d)]).double()
    started = time.perf_counter()
    models = [SingleTaskGP(x, y[:, i:i + 1], input_transform=Normalize(d),
                           outcome_transform=Standardize(1)) for i in range(m)]
    model = ModelListGP(*models)
    fit_gpytorch_mll(SumMarginalLogLikelihood(model.likelihood, model))
    fitted = time.perf_counter()
    acq = qNoisyExpectedHypervolumeImprovement(
        model=model, ref_point=[-1.1] * m, X_baseline=x, prune_baseline=True,
        sampler=SobolQMCNormalSampler(torch.Size([128])))
    optimize_acqf(acq, bounds=bounds, q=1, num_restarts=10, raw_samples=512)
    done = time.perf_counter()
    return {"ask_s": done - started, "fit_s": fitted - started, "acquisition_s": done - fitted}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--qfront", required=True)
    parser.add_argument("--trials", default="100,500,1000")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--botorch-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.botorch_child is not None:
        print(json.dumps(botorch_ask(args.botorch_child, 0)))
        return
    import botorch, torch
    torch.set_num_threads(2)
    print(json.dumps({"botorch": botorch.__version__, "torch": torch.__version__}), flush=True)
    for n in [int(t) for t in args.trials.split(",")]:
        out = subprocess.run([args.qfront, "bench", "ask", "--trials", str(n)],
                             check=True, capture_output=True, text=True).stdout
        q = json.loads(out.strip().splitlines()[-1])
        try:
            child = subprocess.run([sys.executable, __file__, "--qfront", args.qfront,
                                    "--botorch-child", str(n)], capture_output=True, text=True,
                                   timeout=args.timeout, check=True)
            b = json.loads(child.stdout.strip().splitlines()[-1])
        except subprocess.TimeoutExpired:
            b = None
        row = {"trials": n, "qfront_ask_s": round(q["ask_s"], 3),
               "botorch_ask_s": round(b["ask_s"], 3) if b else f"> {args.timeout:.0f} (stopped)",
               "botorch_fit_s": round(b["fit_s"], 3) if b else None}
        if b:
            row["qfront_over_botorch"] = round(q["ask_s"] / b["ask_s"], 3)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
