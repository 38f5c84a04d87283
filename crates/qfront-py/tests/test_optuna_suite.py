"""Optuna's own sampler test suite for third-party samplers (`optuna.testing.pytest_samplers`,
shipped with Optuna and used by Optuna's tests of its built-in samplers), run unchanged on
QfrontSampler: the test classes are Optuna's; only the `sampler` fixture is ours."""

import pytest
from optuna.testing.pytest_samplers import (
    BasicSamplerTestCase,
    MultiObjectiveSamplerTestCase,
    RelativeSamplerTestCase,
)

from qfront.optuna import QfrontSampler

SAMPLERS = [
    lambda: QfrontSampler(seed=0),
    lambda: QfrontSampler(seed=0, n_startup_trials=2),
    lambda: QfrontSampler(seed=0, method="qparego", n_startup_trials=2),
]


class TestBasicSampler(BasicSamplerTestCase):
    @pytest.fixture(params=SAMPLERS)
    def sampler(self, request):
        return request.param


class TestRelativeSampler(RelativeSamplerTestCase):
    @pytest.fixture(params=SAMPLERS)
    def sampler(self, request):
        return request.param


class TestMultiObjectiveSampler(MultiObjectiveSamplerTestCase):
    @pytest.fixture(params=SAMPLERS)
    def sampler(self, request):
        return request.param
