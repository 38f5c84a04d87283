"""Type stubs of qfront's Rust extension module."""

from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import numpy.typing as npt

__version__: str

class QfrontError(ValueError):
    """An error of qfront's engine or runtime, with its message."""

class Model:
    """A ``.qfm`` model run by qfront's integer runtime."""

    @staticmethod
    def load(path: str) -> "Model":
        """Reads and validates a ``.qfm`` file."""
    @property
    def labels(self) -> List[str]:
        """Class names (index = class; empty when the file has none)."""
    @property
    def input_shape(self) -> Tuple[str, int, int, int]:
        """``("image", channels, height, width)`` or ``("tokens", max_tokens, rows, 0)``."""
    @property
    def vocabulary(self) -> List[str]:
        """The word of each embedding row of a vocabulary text model (else empty)."""
    def predict(self, inputs: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
        """Logits ``[batch, classes]``: images float32 ``[batch, C, H, W]`` in [0, 1], or
        integer token ids ``[batch, max_tokens]``."""
    def latency(
        self, batch: int = 1, max_time: float = 1.0, warmup_time: float = 0.2, threads: int = 1
    ) -> Dict[str, float]:
        """``median_ms``, ``p90_ms``, ``p99_ms``, ``mean_ms``, ``loops`` of one batch."""

def hypervolume(points: Sequence[Sequence[float]], reference: Sequence[float]) -> float:
    """Hypervolume dominated by ``points`` (maximized) above ``reference``."""

def pareto_front(points: Sequence[Sequence[float]]) -> List[List[float]]:
    """The non-dominated rows of ``points`` (maximized), in their order."""

def suggest(
    parameters: str,
    trials: str,
    method: str,
    seed: int,
    num_objectives: int,
    num_constraints: int = 0,
    initial_points: Optional[int] = None,
    trial_number: Optional[int] = None,
    reference_point: Optional[Sequence[float]] = None,
    surrogate: Optional[str] = None,
) -> str:
    """One new trial as JSON ``{"params": [...], "warning": str | None, "proposal": {...}}``
    (the proposal says how qfront chose it; see ``qfront.optuna.QfrontSampler``)."""
