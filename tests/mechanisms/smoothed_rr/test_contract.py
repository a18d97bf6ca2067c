"""The mechanism contract (tests/contracts/mechanism.py) for smoothed RR
(dpkit.mechanisms.smoothed_rr).

Law: the ±1 responses to the signal v = t − 0.5 (batched), against the exact
P(+1) = ``prob_positive`` and numba / JAX against the numpy reference. Audit: ε = 1, the
neighbours v = t − 1 and v' = t (distance Δ = 1), where P(+1) is ½e^{−1} against ½: the ratio is
exactly e^ε on {+1}. Twins: numba run at 2ε (law test fails); a claim of ε/2 (audit fails).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from hypothesis import strategies as st

from dpkit.accounting import Event
from dpkit.mechanisms.smoothed_rr import (
    SmoothedRRParams,
    privacy_event,
    prob_positive,
    respond,
)
from tests.contracts.mechanism import AuditCase, ExactLaw, MechanismContract

N_LAW = 4000


class TestSmoothedRRContract(MechanismContract):
    backends = ("numpy", "numba", "jax")
    wrong_ranks = False  # respond is elementwise: any shape is valid

    def params(self) -> SmoothedRRParams:
        return SmoothedRRParams(1.0, threshold=0.5)

    def bad_params(self) -> list[tuple[dict[str, Any], str]]:
        return [({"epsilon": 0.0}, "epsilon"), ({"epsilon": float("nan")}, "epsilon"),
                ({"threshold": float("inf")}, "threshold"), ({"sensitivity": 0.0}, "sensitivity"),
                ({"clip": (1.0, -1.0)}, "clip")]

    def bad_param_values(self) -> dict[str, st.SearchStrategy[Any]]:
        bad = st.sampled_from([0.0, -1.0, float("nan"), float("inf"), "1", None])
        return {"epsilon": bad, "sensitivity": bad,
                "threshold": st.sampled_from([float("nan"), float("inf"), "0", None]),
                "clip": st.sampled_from([(1.0, -1.0), (0.0, float("nan")), (2.0, 2.0), "x"])}

    def data(self, rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(-2.0, 2.0, size=16)

    def extra_bad_data(self) -> list[Any]:
        return ["abc"]

    def release(self, params: SmoothedRRParams, data: Any, rng: Any, backend: str) -> Any:
        return respond(params, data, rng=rng, backend=backend)

    def law_input(self) -> np.ndarray:
        return np.full(N_LAW, self.params().threshold - 0.5)

    def exact_law(self, params: SmoothedRRParams) -> ExactLaw:
        p_pos = float(prob_positive(params, np.array([params.threshold - 0.5]))[0])
        return ExactLaw(pmf={-1: 1.0 - p_pos, 1: p_pos})

    def privacy_event(self, params: SmoothedRRParams) -> Event:
        return privacy_event(params)

    def audit_case(self) -> AuditCase:
        p = self.params()
        return AuditCase(sampler=lambda v, n, g: np.asarray(self.release(p, np.full(n, v), g,
                                                                         "numpy"), np.int64),
                         x=p.threshold - 1.0, x_prime=p.threshold, params=p, n=40_000,
                         min_fraction=0.7)

    def twins(self) -> list[tuple[MechanismContract, str]]:
        return [(DoubleEpsilonBackendTwin(), "test_backends_equal_in_law"),
                (HalfEpsilonClaimTwin(), "test_empirical_audit")]


class DoubleEpsilonBackendTwin(TestSmoothedRRContract):
    """numba runs at 2ε: a wrong law."""

    backends = ("numpy", "numba")

    def release(self, params: SmoothedRRParams, data: Any, rng: Any, backend: str) -> Any:
        if backend == "numba":
            params = replace(params, epsilon=2 * params.epsilon)
        return respond(params, data, rng=rng, backend=backend)


class HalfEpsilonClaimTwin(TestSmoothedRRContract):
    """The claim is ε/2 for the ε-mechanism."""

    def privacy_event(self, params: SmoothedRRParams) -> Event:
        return privacy_event(replace(params, epsilon=params.epsilon / 2))
