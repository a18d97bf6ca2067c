"""The mechanism contract (tests/contracts/mechanism.py) for the heavy-hitter frequency
oracles GRR, OUE, OLH and the prefix-tree protocol (dpkit.mechanisms.heavy_hitters).

Law: the reports of the item 0 (batched): GRR the report, OUE the bit vector as the integer
Σ_u B_u 2^u (D = 4, against the exact pmf ``output_pmf``), OLH (pool of 2 hashes) the pair
(hash index j, bucket y) as j·g + y; numba / JAX against the numpy reference. Audit (replace
one, local DP): items 0 and 1, the worst case of every oracle (tests/audit/
test_heavy_hitters_audit.py), claim = ε. Twins: numba run at 2ε (law test fails); a claim of
ε/2 (audit fails). The protocol: validation, determinism, input not mutated, event round trip,
bad input; its reports are the OLH oracle's (audited above).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

import numpy as np
from hypothesis import strategies as st

from dpkit.accounting import Event
from dpkit.mechanisms.heavy_hitters import (
    GRR,
    OLH,
    OUE,
    HeavyHitterParams,
    find_heavy_hitters,
    output_pmf,
    perturb,
    privacy_event,
)
from tests.contracts.mechanism import AuditCase, ExactLaw, MechanismContract, to_numpy

N_LAW = 4000
BAD_EPS = st.sampled_from([0.0, -1.0, float("nan"), float("inf"), "1", None])
BAD_DOMAIN = st.sampled_from([0, 1, -4, 2.5, "8", None])


def _encode(oracle: Any, reports: Any) -> np.ndarray:
    """One integer per report: GRR the item, OUE Σ_u B_u 2^u, OLH j·g + y."""
    r = to_numpy(reports)
    if isinstance(oracle, OUE):
        bits = np.asarray(r, dtype=np.int64)
        return bits @ (1 << np.arange(bits.shape[1], dtype=np.int64))
    if isinstance(oracle, OLH):
        return np.asarray(r["seeds"], np.int64) * oracle.g + np.asarray(r["buckets"], np.int64)
    return np.asarray(r, dtype=np.int64)


class OracleContract(MechanismContract):
    """The contract of one frequency oracle (subclassed per oracle below)."""

    backends = ("numpy", "numba", "jax")
    exact: ClassVar[bool] = True

    def bad_params(self) -> list[tuple[dict[str, Any], str]]:
        return [({"epsilon": 0.0}, "epsilon"), ({"epsilon": float("nan")}, "epsilon"),
                ({"domain_size": 1}, "domain_size")]

    def bad_param_values(self) -> dict[str, st.SearchStrategy[Any]]:
        return {"epsilon": BAD_EPS, "domain_size": BAD_DOMAIN}

    def data(self, rng: np.random.Generator) -> np.ndarray:
        return rng.integers(0, self.params().domain_size, size=16)

    def extra_bad_data(self) -> list[Any]:
        d = self.params().domain_size
        return [np.array([0, d]), np.array([-1, 0]), np.array([0.5, 1.0]), np.zeros((2, 2), int),
                3]

    def release(self, params: Any, data: Any, rng: Any, backend: str) -> Any:
        return perturb(params, data, rng=rng, backend=backend)

    def law_input(self) -> np.ndarray:
        return np.zeros(N_LAW, dtype=np.int64)

    def law_statistic(self, output: Any) -> np.ndarray:
        return _encode(self.law_params(), output)

    def exact_law(self, params: Any) -> ExactLaw | None:
        if not self.exact:
            return None
        return ExactLaw(pmf={i: float(v) for i, v in enumerate(output_pmf(params, 0))})

    def privacy_event(self, params: Any) -> Event:
        return privacy_event(params)

    def audit_case(self) -> AuditCase:
        p = self.params()
        return AuditCase(sampler=lambda v, n, g: _encode(p, self.release(p, np.full(n, v), g,
                                                                         "numpy")),
                         x=0, x_prime=1, params=p, n=40_000, min_fraction=0.6)


class _DoubleEpsilonBackend:
    """Mixin: numba runs at 2ε, a wrong law."""

    backends = ("numpy", "numba")

    def release(self, params: Any, data: Any, rng: Any, backend: str) -> Any:
        if backend == "numba":
            params = replace(params, epsilon=2 * params.epsilon)
        return perturb(params, data, rng=rng, backend=backend)


class _HalfEpsilonClaim:
    """Mixin: the claim is ε/2 for the ε-oracle."""

    def privacy_event(self, params: Any) -> Event:
        return privacy_event(replace(params, epsilon=params.epsilon / 2))


class TestGRRContract(OracleContract):
    def params(self) -> GRR:
        return GRR(1.0, 4)

    def twins(self) -> list[tuple[MechanismContract, str]]:
        return [(GRRDoubleEpsilonTwin(), "test_backends_equal_in_law"),
                (GRRHalfClaimTwin(), "test_empirical_audit")]


class GRRDoubleEpsilonTwin(_DoubleEpsilonBackend, TestGRRContract):  # type: ignore[misc]
    pass


class GRRHalfClaimTwin(_HalfEpsilonClaim, TestGRRContract):  # type: ignore[misc]
    pass


class TestOUEContract(OracleContract):
    def params(self) -> OUE:
        return OUE(1.0, 4)

    def twins(self) -> list[tuple[MechanismContract, str]]:
        return [(OUEDoubleEpsilonTwin(), "test_backends_equal_in_law"),
                (OUEHalfClaimTwin(), "test_empirical_audit")]


class OUEDoubleEpsilonTwin(_DoubleEpsilonBackend, TestOUEContract):  # type: ignore[misc]
    pass


class OUEHalfClaimTwin(_HalfEpsilonClaim, TestOUEContract):  # type: ignore[misc]
    pass


class TestOLHContract(OracleContract):
    exact = False  # output_pmf gives the bucket law per fresh-mode seed, not per pool index

    def params(self) -> OLH:
        return OLH(1.0, 16, num_hashes=2)

    def bad_params(self) -> list[tuple[dict[str, Any], str]]:
        return super().bad_params() + [({"g": 1}, "g"), ({"num_hashes": 0}, "num_hashes")]

    def twins(self) -> list[tuple[MechanismContract, str]]:
        return [(OLHDoubleEpsilonTwin(), "test_backends_equal_in_law"),
                (OLHHalfClaimTwin(), "test_empirical_audit")]


class OLHDoubleEpsilonTwin(_DoubleEpsilonBackend, TestOLHContract):  # type: ignore[misc]
    pass


class OLHHalfClaimTwin(_HalfEpsilonClaim, TestOLHContract):  # type: ignore[misc]
    pass


class TestHeavyHitterProtocolContract(MechanismContract):
    """find_heavy_hitters (PEM-style prefix tree over OLH reports), a small instance."""

    backends = ("numpy", "numba")
    law_kind = "continuous"
    law_draws = 10  # the released counts of 10 runs (4 each), KS numba against numpy
    known_bad_data_defects: ClassVar[dict[str, tuple[str, ...]]] = {}

    def params(self) -> HeavyHitterParams:
        return HeavyHitterParams(2.0, 8, 4)

    def bad_params(self) -> list[tuple[dict[str, Any], str]]:
        return [({"epsilon": 0.0}, "epsilon"), ({"item_bits": 33}, "item_bits"),
                ({"k": 0}, "k"), ({"protocol": "trie"}, "protocol")]

    def bad_param_values(self) -> dict[str, st.SearchStrategy[Any]]:
        return {"epsilon": BAD_EPS, "k": st.sampled_from([0, -1, 2.5, "4", None]),
                "item_bits": st.sampled_from([0, 33, -1, 1.5, None])}

    def data(self, rng: np.random.Generator) -> np.ndarray:
        heavy = np.repeat(np.array([3, 77, 200]), [120, 80, 60])
        return np.concatenate([heavy, rng.integers(0, 256, size=240)])

    def extra_bad_data(self) -> list[Any]:
        return [np.array([0, 256]), np.array([-1, 0]), np.array([0.5, 1.0])]

    def release(self, params: Any, data: Any, rng: Any, backend: str) -> Any:
        return find_heavy_hitters(params, data, rng, backend=backend)

    def law_statistic(self, output: Any) -> np.ndarray:
        return np.asarray(output.counts, dtype=float)

    def privacy_event(self, params: Any) -> Event:
        return privacy_event(params)
