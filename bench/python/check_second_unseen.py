"""Checks the second unseen part's functions (`mobo_problems_second_unseen.py`):

- Penicillin against BoTorch's `Penicillin` (the installed version, 0.18.1 when written) at
  200 random points of its box;
- Omni-test against pymoo's `OmniTest` formula where pymoo is importable, otherwise against
  its definition written out again with numpy;
- OKA2, UF1 and Omni-test on their Pareto sets: the values there lie on the stated fronts.

    python bench/python/check_second_unseen.py      # exits 1 on any mismatch
"""

import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import mobo_problems  # noqa: E402
import mobo_problems_second_unseen as fns  # noqa: E402


def check_penicillin(rng):
    import botorch
    import torch
    from botorch.test_functions.multi_objective import Penicillin

    # The suite's search space (in `PENICILLIN_INPUTS` order, BoTorch's order too).
    params = mobo_problems.BY_NAME["penicillin"]["params"]
    low = np.array([spec[2] for spec in params])
    high = np.array([spec[3] for spec in params])
    points = low + (high - low) * rng.random((200, 7))
    theirs = Penicillin()(torch.tensor(points, dtype=torch.double)).numpy()
    ours = np.array([fns.penicillin(*row) for row in points])
    scale = np.maximum(np.abs(theirs), 1.0)
    worst = float(np.max(np.abs(ours - theirs) / scale))
    print(f"penicillin vs BoTorch {botorch.__version__}: worst relative difference {worst:.2e} "
          f"(yield {-theirs[:, 0].max():.3f}..{-theirs[:, 0].min():.3f}, steps {theirs[:, 2].min():.0f}..{theirs[:, 2].max():.0f})")
    return worst < 1e-9


def check_fronts(rng):
    ok = True
    # OKA2 on its Pareto set: f2 = 1 − (f1 + π)²/(4π²).
    for x1 in rng.uniform(-math.pi, math.pi, 50):
        f1, f2 = fns.oka2(x1, 5 * math.cos(x1), 5 * math.sin(x1))
        ok &= abs(f2 - (1 - (f1 + math.pi) ** 2 / (4 * math.pi**2))) < 1e-12
    # UF1 (n = 5) on its Pareto set: f2 = 1 − √f1.
    for x1 in rng.uniform(0, 1, 50):
        x = [x1] + [math.sin(6 * math.pi * x1 + j * math.pi / 5) for j in range(2, 6)]
        f1, f2 = fns.uf1(x)
        ok &= abs(f1 - x1) < 1e-12 and abs(f2 - (1 - math.sqrt(f1))) < 1e-12
    # Omni-test (n = 3) on one of its 27 Pareto sets: |f| = 3 in the third quadrant.
    for base in rng.uniform(1, 1.5, 50):
        shifts = rng.integers(0, 3, 3) * 2
        f1, f2 = fns.omni_test([base + s for s in shifts])
        ok &= abs(math.hypot(f1, f2) - 3) < 1e-9 and f1 <= 1e-12 and f2 <= 1e-12
    # Omni-test off the set, against the definition (pymoo's `OmniTest` where installed).
    points = rng.uniform(0, 6, (100, 3))
    try:
        from pymoo.problems.multi.omnitest import OmniTest

        theirs = OmniTest(n_var=3).evaluate(points, return_values_of=["F"])
        source = "pymoo"
    except ImportError:
        theirs = np.stack([np.sin(np.pi * points).sum(1), np.cos(np.pi * points).sum(1)], axis=1)
        source = "numpy"
    ours = np.array([fns.omni_test(list(p)) for p in points])
    ok &= float(np.max(np.abs(ours - theirs))) < 1e-12
    print(f"fronts of OKA2, UF1, Omni-test and Omni-test vs {source}: {'ok' if ok else 'MISMATCH'}")
    return ok


def main():
    rng = np.random.default_rng(20261205)
    ok = check_penicillin(rng) & check_fronts(rng)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
