"""qfront's own studies from Python, in the same stores as the ``qfront`` CLI.

    study = qfront.Study.create("sqlite:///runs/py/study.db", config="study.toml")
    for trial, params in study.ask(2):
        study.tell(trial, values={"accuracy": train(**params), "latency_ms": 2.1})
    print(study.pareto())

A study config is the CLI's TOML (``kind = "external"`` for parameters and metrics of any
name). Every call opens the store and closes it, so processes and machines can share one
study (PostgreSQL for several machines), exactly as ``qfront study ask | tell`` do.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

from . import _native


class Study:
    """A stored study: ``create`` or ``load`` one, then ``ask``, ``tell``, ``trials``,
    ``pareto``."""

    def __init__(self, storage: str, info: Mapping[str, Any]) -> None:
        self.storage = storage
        self.name: str = info["name"]
        self.objectives: List[str] = list(info["objectives"])
        self.constraints: List[str] = list(info["constraints"])
        self.parameters: List[str] = list(info["parameters"])

    @classmethod
    def create(
        cls,
        storage: str,
        config: Union[str, os.PathLike, None] = None,
        *,
        config_toml: Optional[str] = None,
        load_if_exists: bool = False,
    ) -> "Study":
        """Creates the study of a TOML config file (``config``) or text (``config_toml``) in
        ``storage`` (``sqlite:///path/study.db`` or ``postgresql://…``). With
        ``load_if_exists`` an existing study of the same config is opened instead."""
        if (config is None) == (config_toml is None):
            raise ValueError("give the config file (config=) or its text (config_toml=)")
        base = None
        if config is not None:
            with open(config, encoding="utf-8") as f:
                config_toml = f.read()
            base = os.path.dirname(os.path.abspath(config))
        info = json.loads(_native.study_create(storage, config_toml, base, load_if_exists))
        return cls(storage, info)

    @classmethod
    def load(cls, storage: str, name: Optional[str] = None) -> "Study":
        """Opens the stored study ``name`` (or the store's only study)."""
        return cls(storage, json.loads(_native.study_load(storage, name)))

    def ask(self, n: int = 1) -> List[Tuple[int, Dict[str, Any]]]:
        """``n`` trials to run: ``(trial number, parameters)`` pairs (how each was chosen is
        the ``proposal`` of its entry in ``trials()``)."""
        return [(t["trial"], t["params"]) for t in json.loads(_native.study_ask(self.storage, self.name, n))]

    def tell(self, trial: int, values: Optional[Mapping[str, float]] = None, *, failed: Optional[str] = None) -> None:
        """Reports what trial ``trial`` measured (``values``: every objective's and
        constraint's metric by name) or that it failed (``failed``: the reason)."""
        values_json = None if values is None else json.dumps({k: float(v) for k, v in values.items()})
        _native.study_tell(self.storage, self.name, trial, values_json, failed)

    def trials(self) -> List[Dict[str, Any]]:
        """Every trial: number, params, state, metrics, error, seed, worker, times, and
        ``proposal``, how the optimizer chose it (``{"kind": "sobol"}``, ``"acquisition"``
        with its reference rule and point, ...; as ``qfront trials --format json``)."""
        return json.loads(_native.study_trials(self.storage, self.name, False))

    def pareto(self) -> List[Dict[str, Any]]:
        """The feasible complete trials on the Pareto front of the objectives."""
        return json.loads(_native.study_trials(self.storage, self.name, True))

    def __repr__(self) -> str:
        return f"Study({self.name!r} in {self.storage!r}, objectives={self.objectives})"
