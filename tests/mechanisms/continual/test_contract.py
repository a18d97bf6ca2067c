"""The mechanism contract (tests/contracts/mechanism.py) for the continual counters
(dpkit.mechanisms.continual), one subclass per kind (tree, honaker, sqrt, blt; Gaussian noise).

Law: M = 400 independent scalar counters run as one M-dimensional counter (bound √M, noise
multiplier σ/√M: every coordinate has exactly the scalar counter's law) on the zero stream;
the statistic is the last estimate y_T of each coordinate, against the exact law
N(0, expected_variance(T)) and numba / JAX against the numpy reference.
Audit (tests/audit/test_continual_audit.py): T = 8, add/remove, bound 1; neighbours: the zero
stream and the stream whose FIRST item is 1 (in the most nodes / the longest column); the
statistic is the likelihood-ratio direction w·y, w = (RRᵀ)⁻¹·1 with R the counter's noise
response (read through ``run_with_noise``); claim at δ = 1e-3.
Twins: numba run with half the noise (law test fails, every kind); the claim of twice the
noise (audit fails, tree).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, ClassVar

import numpy as np
from hypothesis import strategies as st
from scipy import stats

from dpkit.accounting import Event
from dpkit.mechanisms.continual import (
    MAX_HORIZON,
    CounterParams,
    expected_variance,
    noise_rows,
    privacy_event,
    run,
    run_with_noise,
)
from tests.contracts.mechanism import AuditCase, ExactLaw, MechanismContract

T = 8
M = 400
SIGMA = 3.0


def batched(p: CounterParams, m: int) -> CounterParams:
    """m independent copies of the scalar counter p as one m-dimensional counter."""
    return CounterParams(p.kind, p.horizon, noise_multiplier=p.noise_multiplier / math.sqrt(m),
                         dimension=m, bound=math.sqrt(m) * p.bound, relation=p.relation)


def llr_direction(p: CounterParams) -> np.ndarray:
    """w = (RRᵀ)⁻¹·1: the likelihood-ratio direction for a change of the first item."""
    n = sum(noise_rows(p, t) for t in range(1, p.horizon + 1))
    eye = np.eye(n)
    r = np.stack([np.asarray(run_with_noise(p, np.zeros(p.horizon), eye[:, j]))
                  for j in range(n)], axis=1)
    return np.linalg.solve(r @ r.T, np.ones(p.horizon))


class CounterContract(MechanismContract):
    """The contract of one counter kind (subclassed per kind below)."""

    backends = ("numpy", "numba", "jax")
    law_kind = "continuous"
    kind: ClassVar[str] = "tree"

    def params(self) -> CounterParams:
        return CounterParams(self.kind, T, noise_multiplier=SIGMA, relation="add_remove")

    def bad_params(self) -> list[tuple[dict[str, Any], str]]:
        return [({"kind": "x"}, "kind"), ({"horizon": 0}, "horizon"),
                ({"noise_multiplier": -1.0}, "noise_multiplier"), ({"dimension": 0}, "dimension"),
                ({"bound": 0.0}, "bound"), ({"relation": "bogus"}, "relation")]

    def bad_param_values(self) -> dict[str, st.SearchStrategy[Any]]:
        return {"horizon": st.sampled_from([0, -1, 2.5, "8", MAX_HORIZON + 1]),
                "noise_multiplier": st.sampled_from([-1.0, float("nan"), float("inf"), "1"]),
                "bound": st.sampled_from([0.0, -1.0, float("nan"), float("inf"), "1", None])}

    def data(self, rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(0.0, 1.0, size=T)

    def extra_bad_data(self) -> list[Any]:
        return [np.ones(T + 1), np.full(T, 5.0), np.ones((T, 2)), "abc", None]

    def release(self, params: CounterParams, data: Any, rng: Any, backend: str) -> Any:
        return run(params, data, rng=rng, backend=backend)

    def law_params(self) -> CounterParams:
        return batched(self.params(), M)

    def law_input(self) -> np.ndarray:
        return np.zeros((T, M))

    def law_statistic(self, output: Any) -> np.ndarray:
        return np.asarray(output, dtype=float)[-1]

    def exact_law(self, params: CounterParams) -> ExactLaw:
        sd = math.sqrt(float(expected_variance(params, T)))
        return ExactLaw(cdf=lambda y: stats.norm.cdf(y, scale=sd))

    def privacy_event(self, params: CounterParams) -> Event:
        return privacy_event(params)

    def audit_case(self) -> AuditCase:
        p = self.params()
        w = llr_direction(p)

        def sample(x: float, n: int, g: np.random.Generator) -> np.ndarray:
            stream = np.zeros((T, n))
            stream[0] = x
            return np.asarray(run(batched(p, n), stream, g, backend="numpy")).T @ w

        return AuditCase(sampler=sample, x=1.0, x_prime=0.0, params=p, delta=1e-3, n=40_000,
                         kind="continuous", min_fraction=0.3)


class _HalfNoiseBackend:
    """Mixin: numba runs with half the noise multiplier, a wrong law."""

    backends = ("numpy", "numba")

    def release(self, params: Any, data: Any, rng: Any, backend: str) -> Any:
        if backend == "numba":
            params = replace(params, noise_multiplier=params.noise_multiplier / 2)
        return run(params, data, rng=rng, backend=backend)


class _DoubleNoiseClaim:
    """Mixin: the claim is the privacy of twice the noise."""

    def privacy_event(self, params: Any) -> Event:
        return privacy_event(replace(params, noise_multiplier=2 * params.noise_multiplier))


class TestTreeCounterContract(CounterContract):
    kind = "tree"

    def twins(self) -> list[tuple[MechanismContract, str]]:
        return [(TreeHalfNoiseTwin(), "test_backends_equal_in_law"),
                (TreeDoubleNoiseClaimTwin(), "test_empirical_audit")]


class TreeHalfNoiseTwin(_HalfNoiseBackend, TestTreeCounterContract):  # type: ignore[misc]
    pass


class TreeDoubleNoiseClaimTwin(_DoubleNoiseClaim, TestTreeCounterContract):  # type: ignore[misc]
    pass


class TestHonakerCounterContract(CounterContract):
    kind = "honaker"

    def twins(self) -> list[tuple[MechanismContract, str]]:
        return [(HonakerHalfNoiseTwin(), "test_backends_equal_in_law")]


class HonakerHalfNoiseTwin(_HalfNoiseBackend, TestHonakerCounterContract):  # type: ignore[misc]
    pass


class TestSqrtCounterContract(CounterContract):
    kind = "sqrt"

    def twins(self) -> list[tuple[MechanismContract, str]]:
        return [(SqrtHalfNoiseTwin(), "test_backends_equal_in_law")]


class SqrtHalfNoiseTwin(_HalfNoiseBackend, TestSqrtCounterContract):  # type: ignore[misc]
    pass


class TestBLTCounterContract(CounterContract):
    kind = "blt"

    def twins(self) -> list[tuple[MechanismContract, str]]:
        return [(BLTHalfNoiseTwin(), "test_backends_equal_in_law")]


class BLTHalfNoiseTwin(_HalfNoiseBackend, TestBLTCounterContract):  # type: ignore[misc]
    pass
