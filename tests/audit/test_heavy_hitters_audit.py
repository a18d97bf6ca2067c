"""Empirical privacy audit of the LDP frequency oracles (dpkit.mechanisms.heavy_hitters).

Method: dpkit.audit (docs/audit.md). Neighbours (replace-one, local DP): items v = 0 and
v' = 1, the worst case of every oracle. 10^6 reports per side from the numba kernels, β = 1e-6
(false-alarm probability of each assertion ε_lb ≤ claim). Outputs are projected to the
coordinates that differ between v and v': GRR the report itself; OUE (B_0, B_1) encoded as
2·B_0 + B_1; OLH (hash index j, bucket y) encoded as j·g + y with a pool of two hashes that
both separate 0 and 1 (the worst case H_j(0) ≠ H_j(1)).

Twins (must be caught, ε_lb > claim):
* GRR and OLH: the perturbation run at 2ε while ε is claimed (a wrong constant);
* OUE: the known bug class of pure-LDP issue #11 (Arcolezi & Gambs 2023): the true bit kept
  w.p. p and otherwise left at its Bernoulli(q) draw, so P[B_v = 1] = (1 + q)/2 and the real ε
  is log(e^ε + 2).

Measured at these seeds (ε_lb; claim): GRR 0.974 (1), OUE 0.969 (1), OLH 0.963 (1); twins:
GRR 1.974 (1), OLH 1.963 (1), OUE bug 1.165 (0.25), 1.525 (1).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from dpkit.accounting import Accountant
from dpkit.audit import audit_mechanism
from dpkit.mechanisms import heavy_hitters as hh

BETA = 1e-6
N = 1_000_000


def claimed(o: Any) -> float:
    return Accountant().compose(hh.privacy_event(o)).epsilon(0.0)


def _separating_pool(eps: float, g: int | None = None) -> hh.OLH:
    """An OLH oracle with a pool of 2 hashes, each with H_j(0) ≠ H_j(1) (public choice)."""
    for seed in range(100):
        o = hh.OLH(eps, 16, g=g, num_hashes=2, pool_seed=seed)
        h = hh.oracles.olh_hashes(o, np.array([0, 1, 0, 1], dtype=np.uint64),
                                  np.array([0, 0, 1, 1]))
        if h[0] != h[2] and h[1] != h[3]:
            return o
    raise AssertionError("no separating pool found")  # pragma: no cover


def sampler(o: Any) -> Any:
    def run(v: int, n: int, g: np.random.Generator) -> np.ndarray:
        r = hh.perturb(o, np.full(n, v), g, backend="numba")
        if isinstance(o, hh.OUE):
            return 2 * r[:, 0].astype(np.int64) + r[:, 1]
        if isinstance(o, hh.OLH):
            return r.seeds.astype(np.int64) * o.g + r.buckets
        return r
    return run


def oue_legacy_bug(o: hh.OUE) -> Any:
    """The twin: true bit = 1 w.p. p, else its Bernoulli(q) draw (coordinates 0 and 1 only)."""
    def run(v: int, n: int, g: np.random.Generator) -> np.ndarray:
        bits = g.random((n, 2)) < o.q
        keep = g.random(n) < o.p
        bits[:, v] = keep | bits[:, v]
        return 2 * bits[:, 0].astype(np.int64) + bits[:, 1]
    return run


HONEST = [  # name, oracle, minimum ε_lb / claim
    ("grr", hh.GRR(1.0, 4), 0.9),
    ("oue", hh.OUE(1.0, 8), 0.9),
    ("olh", _separating_pool(1.0), 0.9),
]


@pytest.mark.parametrize("name, oracle, tight", HONEST, ids=[c[0] for c in HONEST])
def test_honest_oracle_passes_audit(name: str, oracle: Any, tight: float) -> None:
    claim = claimed(oracle)
    assert claim == pytest.approx(oracle.epsilon, rel=1e-9)
    res = audit_mechanism(sampler(oracle), 0, 1, N, rng=17, beta=BETA)
    assert res.epsilon_lower_bound <= claim, str(res)
    assert res.epsilon_lower_bound >= tight * claim, str(res)


def test_grr_twin_at_two_eps_is_caught() -> None:
    honest = hh.GRR(1.0, 4)
    res = audit_mechanism(sampler(hh.GRR(2.0, 4)), 0, 1, N, rng=18, beta=BETA)
    assert res.epsilon_lower_bound > claimed(honest), str(res)


def test_olh_twin_at_two_eps_is_caught() -> None:
    honest = _separating_pool(1.0)
    twin = _separating_pool(2.0, g=honest.g)
    assert twin.pool_seed == honest.pool_seed and twin.g == honest.g
    res = audit_mechanism(sampler(twin), 0, 1, N, rng=19, beta=BETA)
    assert res.epsilon_lower_bound > claimed(honest), str(res)


@pytest.mark.parametrize("eps", [0.25, 1.0])
def test_oue_legacy_unary_encoding_bug_is_caught(eps: float) -> None:
    honest = hh.OUE(eps, 8)
    res = audit_mechanism(oue_legacy_bug(honest), 0, 1, N, rng=20, beta=BETA)
    assert res.epsilon_lower_bound > claimed(honest), str(res)
