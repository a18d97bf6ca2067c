"""Empirical privacy audit of RQM (dpkit.mechanisms.rqm) with the one audit module.

Method: dpkit.audit (docs/audit.md). Neighbours: the worst-case pair returned by the exact grid
search at α = ∞ (for m = 4 that is (c, −c); for m = 16, Δ = 1, q = 0.25 it is the interior level
(−14/15, c), not (c, −c)). 10^6 outputs per side from the numba kernel (the numpy reference for
one case, so both samplers are audited), β = 1e-6.

* Honest: the claimed pure ε (the accountant's ε at δ = 0 of ``privacy_event(params)``) must
  not be exceeded by the audit's lower bound (false alarm ≤ 1e-6), and the bound must come
  close to it (the pure-DP claim is exact for a discrete mechanism).
* Twin: a mechanism run with the extension Δ/4 that states the privacy of Δ (the privacy was
  computed for the wrong Δ); the audit must exceed the claim.

Seeds are fixed, so each test is deterministic. Measured at these seeds (ε_lb / claim):
m=4: 0.951 / 0.981 (twin 2.03); m=16: 3.35 / 3.43 (twin 5.16); m=4 numpy: 0.942 / 0.981.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from dpkit.accounting import Accountant
from dpkit.audit import audit_mechanism
from dpkit.mechanisms.rqm import RQMParams, privacy_event, quantize
from dpkit.mechanisms.rqm.privacy import rdp_curve

BETA = 1e-6
N = 1_000_000

CASES = [  # name, params, backend, minimum ε_lb/claim
    ("m4", RQMParams(1.0, 2.0, 4, 0.25), "numba", 0.95),
    ("m16", RQMParams(1.0, 1.0, 16, 0.25), "numba", 0.9),
    ("m4-numpy", RQMParams(1.0, 2.0, 4, 0.25), "numpy", 0.95),
]


def sampler(params: RQMParams, backend: str) -> Any:
    return lambda x, n, g: quantize(params, np.full(n, x), g, backend=backend).astype(np.int64)


def worst_pair(params: RQMParams) -> tuple[float, float]:
    x, xp = rdp_curve(params, [np.inf]).pairs[0]
    return float(x), float(xp)


def claimed(params: RQMParams) -> float:
    return Accountant().compose(privacy_event(params)).epsilon(0.0)


@pytest.mark.parametrize("name, params, backend, tight", CASES, ids=[c[0] for c in CASES])
def test_honest_rqm_passes_audit(name: str, params: RQMParams, backend: str,
                                 tight: float) -> None:
    claim = claimed(params)
    assert claim == pytest.approx(privacy_event(params).epsilon_inf(), rel=1e-12)
    x, xp = worst_pair(params)
    res = audit_mechanism(sampler(params, backend), x, xp, N, rng=5, beta=BETA)
    assert res.epsilon_lower_bound <= claim, str(res)
    assert res.epsilon_lower_bound >= tight * claim, str(res)


@pytest.mark.parametrize("name, params, backend, tight", CASES[:2], ids=[c[0] for c in CASES[:2]])
def test_miscalibrated_twin_is_caught(name: str, params: RQMParams, backend: str,
                                      tight: float) -> None:
    claim = claimed(params)  # the honest statement ...
    twin = replace(params, extension=params.extension / 4)  # ... for a mechanism with Δ/4
    assert claimed(twin) > claim
    x, xp = worst_pair(params)
    res = audit_mechanism(sampler(twin, backend), x, xp, N, rng=5, beta=BETA)
    assert res.epsilon_lower_bound > claim, str(res)
