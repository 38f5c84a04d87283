"""qfront's optimizer as an Optuna sampler.

Change one line of an Optuna script::

    import optuna
    from qfront.optuna import QfrontSampler

    study = optuna.create_study(directions=["maximize", "minimize"],
                                sampler=QfrontSampler(method="qnehvi", seed=0))
    study.optimize(objective, n_trials=50)

At every trial the sampler hands the study's history to qfront's engine (Rust): a Sobol
initial design of ``n_startup_trials`` points (default ``2(d + 1)``), then the chosen
acquisition on Gaussian processes fitted to the completed trials, with running trials as
pending points. Parameters outside the relative search space (dynamic ones) come from
``independent_sampler`` (a ``RandomSampler`` by default), as with Optuna's own samplers.
"""

from __future__ import annotations

import json
import math
import random
import warnings
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.samplers import BaseSampler, RandomSampler
from optuna.search_space import IntersectionSearchSpace
from optuna.study import Study, StudyDirection
from optuna.trial import FrozenTrial, TrialState

from . import _native

#: The methods qfront offers (see ``docs/methods.md`` in the repository).
METHODS = ("sobol", "qnehvi", "qnehvi-saas", "qparego", "qlognehvi", "qlognehvi-saas")
#: The GP recipes qfront offers (qfront-bo's ``Surrogate``).
SURROGATES = ("adaptive", "plain")

#: A stepped float with at most this many values is an ordered choice; one with more is
#: searched as a continuous range and rounded onto its steps.
MAX_ORDERED_STEPS = 1024

#: Where Optuna keeps a trial's constraint values (the key its own samplers use).
CONSTRAINTS_KEY = "constraints"

#: The system attribute that says how qfront chose a trial (see ``QfrontSampler``).
PROPOSAL_KEY = "qfront:proposal"

#: The system attribute holding the hyperparameters of the GPs that chose a trial (one dict
#: per outcome: ``lengthscales``, ``outputscale``, ``noise``, ``mean``, on standardized
#: outputs). The next fit of one start begins from the newest, as ``GPSampler`` begins from
#: its cached fit; keeping it with the trial makes a sampler rebuilt from the storage (another
#: process, a resumed study) ask exactly what this one would.
MODEL_FIT_KEY = "qfront:model_fit"


class _Param:
    """One distribution as a qfront parameter: its JSON form, and the maps of values."""

    def __init__(self, name: str, distribution: BaseDistribution) -> None:
        self.name = name
        self.distribution = distribution
        self.grid: Optional[List[Any]] = None
        d = distribution
        if isinstance(d, CategoricalDistribution):
            # Categories by index: choices may be any hashable value, even None or floats.
            self.spec = {"type": "categorical", "values": [str(i) for i in range(len(d.choices))]}
        elif isinstance(d, IntDistribution) and d.step == 1:
            self.spec = {"type": "int", "low": d.low, "high": d.high, "scale": "log" if d.log else "linear"}
        elif isinstance(d, IntDistribution):
            self.grid = list(range(d.low, d.high + 1, d.step))
            self.spec = {"type": "ordered", "values": self.grid}
        elif isinstance(d, FloatDistribution) and d.step is not None:
            steps = int(round((d.high - d.low) / d.step))
            if steps + 1 <= MAX_ORDERED_STEPS:
                self.grid = [min(d.low + i * d.step, d.high) for i in range(steps + 1)]
                self.spec = {"type": "ordered", "values": [float(v) for v in self.grid]}
            else:
                self.spec = {"type": "float", "low": d.low, "high": d.high, "scale": "linear"}
        elif isinstance(d, FloatDistribution):
            self.spec = {"type": "float", "low": d.low, "high": d.high, "scale": "log" if d.log else "linear"}
        else:
            raise TypeError(f"QfrontSampler cannot search {name!r}: {type(d).__name__} is not a Float, Int or Categorical distribution")
        self.spec["name"] = name

    def to_qfront(self, value: Any) -> Any:
        """A past trial's value in qfront's form."""
        d = self.distribution
        if isinstance(d, CategoricalDistribution):
            return str(d.to_internal_repr(value))
        if self.grid is not None:
            low, step = d.low, d.step
            return self.grid[min(max(int(round((value - low) / step)), 0), len(self.grid) - 1)]
        if isinstance(d, IntDistribution):
            return int(value)
        return float(value)

    def from_qfront(self, value: Any) -> Any:
        """qfront's value as the distribution's."""
        d = self.distribution
        if isinstance(d, CategoricalDistribution):
            return d.choices[int(value)]
        if isinstance(d, IntDistribution):
            return int(value)
        if d.step is not None:  # continuous search of a long stepped range: round onto it
            steps = round((float(value) - d.low) / d.step)
            return float(min(max(d.low + steps * d.step, d.low), d.high))
        return float(min(max(float(value), d.low), d.high))


class QfrontSampler(BaseSampler):
    """An Optuna sampler on qfront's multi-objective Bayesian optimisation engine.

    Args:
        method: ``"qnehvi"`` (default), ``"qnehvi-saas"`` (fully Bayesian SAAS GPs, for many
            parameters and few trials), ``"qlognehvi"``, ``"qlognehvi-saas"``, ``"qparego"``
            or ``"sobol"`` (the quasi-random baseline).
        seed: Seed of every random choice (``None``: drawn at random).
        n_startup_trials: Sobol trials before the model takes over (default ``2(d + 1)``).
        constraints_func: Optuna's constraint function: ``trial -> sequence of floats``, a
            trial feasible when all are ≤ 0. Infeasible trials stay out of the front and the
            acquisition weighs points by their probability of feasibility.
        independent_sampler: Sampler of parameters outside the relative search space
            (default: ``RandomSampler(seed)``).
        reference_point: The hypervolume reference point, one value per objective in the
            study's own directions (a value no useful trial is worse than). Default:
            inferred at every trial: BoTorch's rule (nadir minus 10% of the range) on the
            front the models predict over the whole space, and on every third trial the
            worst observed value of each objective minus 10% of its range, or the same rule
            on the front of the models' mean predictions where that reaches further. A
            trial whose acquisition against the given point is 0 everywhere, or nowhere above
            1e-5 of the observed front's hypervolume against it (nothing the models predict
            improves on it but by their doubt about measured points), measures against the
            inferred one instead, and so does every sixth trial (numbers 7, 13, 19, ...),
            against the predicted front's point: where the models are confidently wrong
            about the front's middle, a far given point's asks can miss it for a whole study.
        surrogate: The GPs' recipe. ``"adaptive"`` (default): each objective's values warped
            where that predicts them better, a quadratic trend under the GP, and from five
            encoded dimensions on (a categorical parameter takes one per choice) the GP's
            constant mean held at the worst value seen, so the search exploits what it has
            found. ``"plain"``: BoTorch's ``SingleTaskGP``
            recipe for the mean (standardized values, a fitted constant mean, no trend, no
            warp; the kernel's priors stay qfront's), which
            explores regions unlike the trials so far more readily. On issue #17's
            28-problem suite (20 seeds) plain gained up to 2.8% (Penicillin, car side
            impact) and lost up to 34% (the DTLZ family); see the design notes, "The model
            recipe, ablated".

    Every trial the sampler chooses carries the system attribute ``"qfront:proposal"``
    (``PROPOSAL_KEY``), which says how it was chosen: a dict whose ``kind`` is ``"sobol"``
    (the initial design, or a fallback after a model failed), ``"box-exploration"`` or
    ``"line-exploration"`` (a step into a hole of the box or along the observed Pareto set),
    ``"anchor"`` (one ``objective``'s best point, counted from 0) or ``"acquisition"``, the
    last with the reference point's ``rule`` (``"given"``, ``"predicted-front"``, ``"loose"``,
    or ``None`` for qParEGO), the ``reference`` point in the study's own directions and the
    acquisition's ``value`` at the trial (its logarithm for ``"qlognehvi"``; ``None`` when
    that is not a finite number).
    """

    def __init__(
        self,
        method: str = "qnehvi",
        seed: Optional[int] = None,
        n_startup_trials: Optional[int] = None,
        constraints_func: Optional[Callable[[FrozenTrial], Sequence[float]]] = None,
        independent_sampler: Optional[BaseSampler] = None,
        reference_point: Optional[Sequence[float]] = None,
        surrogate: str = "adaptive",
    ) -> None:
        if method not in METHODS:
            raise ValueError(f"method {method!r} is not one of {', '.join(METHODS)}")
        if surrogate not in SURROGATES:
            raise ValueError(f"surrogate {surrogate!r} is not one of {', '.join(SURROGATES)}")
        self._surrogate = surrogate
        if n_startup_trials is not None and n_startup_trials < 0:
            raise ValueError(f"n_startup_trials {n_startup_trials} must be ≥ 0")
        self._method = method
        self._seed = random.SystemRandom().randrange(2**63) if seed is None else int(seed) % 2**64
        self._n_startup_trials = n_startup_trials
        self._constraints_func = constraints_func
        self._independent_sampler = independent_sampler or RandomSampler(seed=seed)
        if reference_point is not None and not all(math.isfinite(float(r)) for r in reference_point):
            raise ValueError(f"reference_point {list(reference_point)} must hold finite values")
        self._reference_point = None if reference_point is None else [float(r) for r in reference_point]
        self._search_space = IntersectionSearchSpace(include_pruned=True)

    def reseed_rng(self) -> None:
        self._seed = random.SystemRandom().randrange(2**63)
        self._independent_sampler.reseed_rng()

    def infer_relative_search_space(self, study: Study, trial: FrozenTrial) -> Dict[str, BaseDistribution]:
        return {
            name: distribution
            for name, distribution in self._search_space.calculate(study).items()
            if not distribution.single()
        }

    def _history(self, study: Study, trial: FrozenTrial, params: List[_Param]) -> Tuple[List[Dict[str, Any]], int]:
        """Every other trial with all of ``params``, in qfront's form, and how many constraint
        values each complete one carries (0 without ``constraints_func``)."""
        signs = [1.0 if d == StudyDirection.MAXIMIZE else -1.0 for d in study.directions]
        history = []
        counts = set()
        for past in study.get_trials(deepcopy=False):
            if past.number == trial.number or any(p.name not in past.params for p in params):
                continue
            if any(not p.distribution._contains(p.distribution.to_internal_repr(past.params[p.name])) for p in params):
                continue
            entry: Dict[str, Any] = {"params": [p.to_qfront(past.params[p.name]) for p in params]}
            model_fit = past.system_attrs.get(MODEL_FIT_KEY)
            if isinstance(model_fit, list):
                entry["model_fit"] = model_fit
            proposal = past.system_attrs.get(PROPOSAL_KEY)
            if isinstance(proposal, dict):
                # How this sampler chose it, back in qfront's maximized frame.
                entry["proposal"] = dict(proposal)
                if proposal.get("reference") is not None:
                    entry["proposal"]["reference"] = [s * r for s, r in zip(signs, proposal["reference"])]
            if past.state == TrialState.COMPLETE:
                values = [s * v for s, v in zip(signs, past.values or [])]
                if self._constraints_func is not None:
                    constraints = past.system_attrs.get(CONSTRAINTS_KEY)
                    if constraints is None:
                        entry["failed"] = True  # feasibility unknown
                    else:
                        counts.add(len(constraints))
                        values += [-float(c) for c in constraints]
                if len(values) < len(signs) or not all(math.isfinite(v) for v in values):
                    entry["failed"] = True
                if not entry.get("failed"):
                    entry["values"] = values
            elif past.state in (TrialState.FAIL, TrialState.PRUNED):
                entry["failed"] = True
            elif past.state != TrialState.RUNNING:
                continue  # waiting trials have no point yet
            history.append(entry)
        if len(counts) > 1:
            raise ValueError(f"constraints_func returned {sorted(counts)} values on different trials; it must return as many on every trial")
        return history, counts.pop() if counts else 0

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: Dict[str, BaseDistribution]
    ) -> Dict[str, Any]:
        if not search_space:
            return {}
        params = [_Param(name, distribution) for name, distribution in search_space.items()]
        history, constraints = self._history(study, trial, params)
        answer = json.loads(
            _native.suggest(
                json.dumps([p.spec for p in params]),
                json.dumps(history),
                self._method,
                # The study's seed: it scrambles the initial design's one Sobol sequence;
                # the native side moves the model's seed with `trial.number`, so processes
                # sharing a storage (and a history whose newest trials have no parameters
                # yet) do not choose the same point.
                self._seed,
                len(study.directions),
                constraints,
                self._n_startup_trials,
                trial.number,
                self._maximized_reference(study),
                self._surrogate,
            )
        )
        if answer.get("warning"):
            warnings.warn(f"QfrontSampler: {answer['warning']}", RuntimeWarning, stacklevel=2)
        proposal = answer.get("proposal")
        if proposal is not None:
            proposal.pop("trial", None)  # qfront's own trial count, not the study's number
            if proposal.get("reference") is not None:
                proposal["reference"] = [
                    r if d == StudyDirection.MAXIMIZE else -r
                    for r, d in zip(proposal["reference"], study.directions)
                ]
            study._storage.set_trial_system_attr(trial._trial_id, PROPOSAL_KEY, proposal)
        if answer.get("model_fit") is not None:
            study._storage.set_trial_system_attr(trial._trial_id, MODEL_FIT_KEY, answer["model_fit"])
        return {p.name: p.from_qfront(v) for p, v in zip(params, answer["params"])}

    def _maximized_reference(self, study: Study) -> Optional[List[float]]:
        """The reference point in qfront's maximized frame (minimized objectives negated)."""
        if self._reference_point is None:
            return None
        if len(self._reference_point) != len(study.directions):
            raise ValueError(f"reference_point has {len(self._reference_point)} values for {len(study.directions)} objectives")
        return [r if d == StudyDirection.MAXIMIZE else -r for r, d in zip(self._reference_point, study.directions)]

    def sample_independent(
        self, study: Study, trial: FrozenTrial, param_name: str, param_distribution: BaseDistribution
    ) -> Any:
        return self._independent_sampler.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self._independent_sampler.before_trial(study, trial)

    def after_trial(
        self, study: Study, trial: FrozenTrial, state: TrialState, values: Optional[Sequence[float]]
    ) -> None:
        if self._constraints_func is not None and state in (TrialState.COMPLETE, TrialState.PRUNED):
            constraints = tuple(float(c) for c in self._constraints_func(trial))
            if any(math.isnan(c) for c in constraints):
                raise ValueError("constraints_func returned NaN")
            study._storage.set_trial_system_attr(trial._trial_id, CONSTRAINTS_KEY, constraints)
        self._independent_sampler.after_trial(study, trial, state, values)
