"""qfront from Python.

* ``qfront.optuna.QfrontSampler``: an Optuna sampler on qfront's multi-objective Bayesian
  optimisation engine (Sobol initial design, then qNEHVI, SAAS-qNEHVI, qLogNEHVI or qNParEGO).
* ``qfront.Model``: a ``.qfm`` model run by qfront's integer runtime on NumPy arrays.
* ``qfront.hypervolume`` and ``qfront.pareto_front``: exact hypervolume and non-dominated
  points (all objectives maximized).
* ``qfront.Study``: qfront's own studies in their SQLite/PostgreSQL stores (create, ask,
  tell, trials, pareto), shared with the ``qfront`` CLI.

Errors are ``qfront.QfrontError`` (a ``ValueError``) with qfront's own messages.
"""

from ._native import Model, QfrontError, __version__, hypervolume, pareto_front
from .study import Study

__all__ = ["Model", "QfrontError", "Study", "__version__", "hypervolume", "pareto_front"]
