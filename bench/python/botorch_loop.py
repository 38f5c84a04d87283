"""BoTorch qNEHVI / qLogNEHVI on a `mobo_problems` problem, as a BoTorch user writes the loop
(the MOBO tutorial's recipe), for `mobo_suite.py --methods botorch-qnehvi,botorch-qlognehvi`.

* Inputs normalized to the unit cube; integers are relaxed to the continuum and rounded,
  categoricals one-hot encoded and decoded by arg-max (the one-hot relaxation).
* One `SingleTaskGP` per objective (BoTorch's default kernel and priors, `Standardize`), in a
  `ModelListGP`, fitted with `fit_gpytorch_mll` from scratch every iteration.
* The reference point is BoTorch's `infer_reference_point` on the observed Pareto front
  (maximization frame, scale 0.1), as Ax does when the user sets no objective thresholds:
  the same information qfront gets.
* `qNoisyExpectedHypervolumeImprovement` / `qLogNoisyExpectedHypervolumeImprovement` with
  `prune_baseline=True`, 128 Sobol QMC samples; `optimize_acqf(num_restarts=10,
  raw_samples=512)`, q = 1.
* The initial design is the first `startup` points of a scrambled Sobol sequence.

Torch runs on one thread (`torch.set_num_threads(1)`), as every method in the suite.
"""

import time
import warnings

import numpy as np


def encode_dims(params):
    dims = 0
    for spec in params:
        dims += len(spec[2]) if spec[0] == "cat" else 1
    return dims


def decode(params, u):
    out, i = {}, 0
    for spec in params:
        if spec[0] == "cat":
            k = len(spec[2])
            out[spec[1]] = spec[2][int(np.argmax(u[i:i + k]))]
            i += k
            continue
        t = float(min(max(u[i], 0.0), 1.0))
        if spec[0] == "int":
            out[spec[1]] = int(round(spec[2] + t * (spec[3] - spec[2])))
        elif spec[4]:
            lo, hi = np.log(spec[2]), np.log(spec[3])
            out[spec[1]] = float(np.exp(lo + t * (hi - lo)))
        else:
            out[spec[1]] = spec[2] + t * (spec[3] - spec[2])
        i += 1
    return out


def run(problem, method, seed, trials, startup, noise_rng, points=None):
    """The loop's noise-free values and ask times; each trial's parameters are appended to
    `points` when a list is given (`compare_with_botorch.py fronts`)."""
    import torch

    import mobo_problems

    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    dtype = torch.double
    params = problem["params"]
    d = encode_dims(params)
    sobol = torch.quasirandom.SobolEngine(d, scramble=True, seed=seed)
    xs, ys, history, ask_seconds = [], [], [], []
    for t in range(trials):
        started = time.perf_counter()
        if t < startup:
            u = sobol.draw(1).to(dtype)[0]
        else:
            u = propose(xs, ys, method, seed * 1000 + t)
        point = decode(params, u.tolist())
        ask_seconds.append(time.perf_counter() - started)
        if points is not None:
            points.append(point)
        # Train on the point actually evaluated (integers rounded, categoricals one-hot).
        xs.append(reencode(params, point, dtype))
        values = mobo_problems.evaluate(problem, point, noise_rng)
        ys.append(values)
        history.append(problem["f"](point))
    return history, ask_seconds


def propose(xs, ys, method, sampler_seed):
    """One BoTorch step on the encoded points `xs` (tensors) and minimized values `ys`."""
    import torch
    from botorch.acquisition.multi_objective.logei import qLogNoisyExpectedHypervolumeImprovement
    from botorch.acquisition.multi_objective.monte_carlo import qNoisyExpectedHypervolumeImprovement
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import ModelListGP, SingleTaskGP
    from botorch.models.transforms.outcome import Standardize
    from botorch.optim import optimize_acqf
    from botorch.sampling.normal import SobolQMCNormalSampler
    from botorch.utils.multi_objective.hypervolume import infer_reference_point
    from botorch.utils.multi_objective.pareto import is_non_dominated
    from gpytorch.mlls.sum_marginal_log_likelihood import SumMarginalLogLikelihood

    dtype = torch.double
    train_x = torch.stack(xs)
    d = train_x.shape[1]
    bounds = torch.stack([torch.zeros(d, dtype=dtype), torch.ones(d, dtype=dtype)])
    train_y = -torch.tensor(ys, dtype=dtype)  # maximize
    models = [
        SingleTaskGP(train_x, train_y[:, j:j + 1], outcome_transform=Standardize(m=1))
        for j in range(train_y.shape[1])
    ]
    model = ModelListGP(*models)
    fit_gpytorch_mll(SumMarginalLogLikelihood(model.likelihood, model))
    front = train_y[is_non_dominated(train_y)]
    reference = infer_reference_point(front)
    kind = qLogNoisyExpectedHypervolumeImprovement if method == "botorch-qlognehvi" else qNoisyExpectedHypervolumeImprovement
    acquisition = kind(
        model=model, ref_point=reference.tolist(), X_baseline=train_x, prune_baseline=True,
        sampler=SobolQMCNormalSampler(sample_shape=torch.Size([128]), seed=sampler_seed),
    )
    candidate, _ = optimize_acqf(acquisition, bounds=bounds, q=1, num_restarts=10, raw_samples=512,
                                 options={"batch_limit": 5, "maxiter": 200})
    return candidate[0].detach()


def reencode(params, point, dtype):
    import torch

    u = []
    for spec in params:
        v = point[spec[1]]
        if spec[0] == "cat":
            u.extend(1.0 if c == v else 0.0 for c in spec[2])
        elif spec[0] == "int":
            u.append((v - spec[2]) / (spec[3] - spec[2]))
        elif spec[4]:
            u.append((np.log(v) - np.log(spec[2])) / (np.log(spec[3]) - np.log(spec[2])))
        else:
            u.append((v - spec[2]) / (spec[3] - spec[2]))
    return torch.tensor(u, dtype=dtype)
