"""The mechanism contract (tests/contracts/mechanism.py) for RQM (dpkit.mechanisms.rqm).

Law: the quantized level index of x = 0.3 (batched), against the exact pmf ``rqm.pmf`` and
numba / JAX against the numpy reference. Audit: m = 4, Δ = 2, q = 0.25 at the worst-case pair
(c, −c) (tests/audit/test_rqm_audit.py), claim = the accountant's ε at δ = 0.
Twins: a numba backend run with keep_prob 0.5 (law test fails), a claim made for the
extension 4Δ (audit fails).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from hypothesis import strategies as st

from dpkit.accounting import Event
from dpkit.mechanisms.rqm import RQMParams, pmf, privacy_event, quantize
from tests.contracts.mechanism import AuditCase, ExactLaw, MechanismContract

X_LAW = 0.3
N_LAW = 4000
BAD_NUMBERS = st.sampled_from([float("nan"), float("inf"), -1.0, 0.0, -0.0, "1", None])


class TestRQMContract(MechanismContract):
    backends = ("numpy", "numba", "jax")
    wrong_ranks = False  # quantize is elementwise: any shape is valid

    def params(self) -> RQMParams:
        return RQMParams(1.0, 2.0, 4, 0.25)

    def bad_params(self) -> list[tuple[dict[str, Any], str]]:
        return [({"clip": -1.0}, "clip"), ({"extension": 0.0}, "extension"),
                ({"num_levels": 1}, "num_levels"), ({"keep_prob": 1.0}, "keep_prob"),
                ({"keep_prob": float("nan")}, "keep_prob")]

    def bad_param_values(self) -> dict[str, st.SearchStrategy[Any]]:
        return {"clip": BAD_NUMBERS, "extension": BAD_NUMBERS,
                "num_levels": st.sampled_from([1, 0, -3, 2.5, "4", None]),
                "keep_prob": st.sampled_from([1.0, 1.5, -0.1, float("nan"), "x", None])}

    def data(self, rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(-1.0, 1.0, size=16)

    def extra_bad_data(self) -> list[Any]:
        return ["abc", None]

    def release(self, params: RQMParams, data: Any, rng: Any, backend: str) -> Any:
        return quantize(params, data, rng=rng, backend=backend)

    def law_input(self) -> np.ndarray:
        return np.full(N_LAW, X_LAW)

    def exact_law(self, params: RQMParams) -> ExactLaw:
        row = pmf(params, np.array([X_LAW]))[0]
        return ExactLaw(pmf={i: float(v) for i, v in enumerate(row)})

    def privacy_event(self, params: RQMParams) -> Event:
        return privacy_event(params)

    def audit_case(self) -> AuditCase:
        p = self.params()
        return AuditCase(sampler=lambda x, n, g: np.asarray(self.release(p, np.full(n, x), g,
                                                                         "numpy"), np.int64),
                         x=p.clip, x_prime=-p.clip, params=p, n=60_000, min_fraction=0.7)

    def twins(self) -> list[tuple[MechanismContract, str]]:
        return [(WrongKeepProbTwin(), "test_backends_equal_in_law"),
                (ClaimForWiderExtensionTwin(), "test_empirical_audit")]


class WrongKeepProbTwin(TestRQMContract):
    """numba runs with keep_prob 0.5 instead of 0.25: a wrong law."""

    backends = ("numpy", "numba")

    def release(self, params: RQMParams, data: Any, rng: Any, backend: str) -> Any:
        if backend == "numba":
            params = replace(params, keep_prob=0.5)
        return quantize(params, data, rng=rng, backend=backend)


class ClaimForWiderExtensionTwin(TestRQMContract):
    """The claim is the ε of the extension 4Δ: too small for the mechanism that runs."""

    def privacy_event(self, params: RQMParams) -> Event:
        return privacy_event(replace(params, extension=4 * params.extension))
