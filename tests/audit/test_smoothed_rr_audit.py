"""Empirical privacy audit of smoothed RR (dpkit.mechanisms.smoothed_rr), one audit module.

Method: dpkit.audit (docs/audit.md), β = 1e-6 (false-alarm probability of each assertion
"ε_lb ≤ claim"). Spec §8.1.3: worst-case neighbours v = t − 5, v' = t − 4 at ε = 1 (true
P(+1) = ½e^{−5} and ½e^{−4}, ratio exactly e^ε), 10^7 outputs each (numba kernel; the numpy
reference for a second case).

* Honest: ε_lb ≤ ε, and ε_lb ≥ 0.9·ε (the claim is tight at this pair).
* Twin (spec §3.1, the legacy scripts): flip amplitude 1/(1+e^ε) instead of ½, at
  v = t − 1, v' = t + 1e-9 (distance ≤ 1): its true loss is 2ε, the audit must exceed ε.
* Replacement after clipping: honest at the clip ends; the twin that forgets to clip is caught.

Measured at these seeds (ε_lb / claim): honest numba 0.939 / 1, numpy (4·10^6) 0.908 / 1;
legacy twin 1.976 / 1; clipped to [−1, 1] with t = 2 (both clip ends below t: tight) 0.986 / 1;
unclipped twin 11.7 / 1.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from dpkit.accounting import Accountant
from dpkit.audit import audit_mechanism
from dpkit.mechanisms.smoothed_rr import SmoothedRRParams, privacy_event, respond

BETA = 1e-6


def claimed(params: SmoothedRRParams) -> float:
    return Accountant().compose(privacy_event(params)).epsilon(0.0)


def sampler(params: SmoothedRRParams, backend: str) -> Any:
    return lambda v, n, g: respond(params, np.full(n, v), g, backend=backend).astype(np.int64)


def legacy_sampler(eps: float, t: float) -> Any:
    """Mis-calibrated twin: amplitude 1/(1+e^ε) (the legacy J.1 script), rate ε."""
    amp = 1.0 / (1.0 + math.exp(eps))

    def draw(v: float, n: int, g: np.random.Generator) -> np.ndarray:
        a = 1 if v > t else -1
        flip = g.random(n) < amp * math.exp(-eps * abs(v - t))
        return np.where(flip, -a, a).astype(np.int64)

    return draw


@pytest.mark.parametrize("backend, n, tight", [("numba", 10_000_000, 0.9),
                                               ("numpy", 4_000_000, 0.85)])
def test_honest_smoothed_rr_passes_audit(backend: str, n: int, tight: float) -> None:
    p = SmoothedRRParams(1.0, threshold=0.5)
    claim = claimed(p)
    assert claim == pytest.approx(1.0, rel=1e-12)
    res = audit_mechanism(sampler(p, backend), p.threshold - 5, p.threshold - 4, n, rng=7,
                          beta=BETA)
    assert res.epsilon_lower_bound <= claim, str(res)
    assert res.epsilon_lower_bound >= tight * claim, str(res)


def test_legacy_amplitude_twin_is_caught() -> None:
    p = SmoothedRRParams(1.0, threshold=0.5)
    t = p.threshold
    res = audit_mechanism(legacy_sampler(1.0, t), t - 1.0, t + 1e-9, 2_000_000, rng=8,
                          beta=BETA)
    assert res.epsilon_lower_bound > claimed(p), str(res)


def test_clipped_replacement_audit_and_unclipped_twin() -> None:
    p = SmoothedRRParams.replacement(1.0, -1.0, 1.0, threshold=2.0)
    claim = claimed(p)
    res = audit_mechanism(sampler(p, "numba"), -50.0, 50.0, 4_000_000, rng=9, beta=BETA)
    assert 0.9 * claim <= res.epsilon_lower_bound <= claim, str(res)
    twin = SmoothedRRParams(1.0, threshold=2.0, sensitivity=2.0)  # no clipping, same claim
    res = audit_mechanism(sampler(twin, "numba"), -50.0, 50.0, 4_000_000, rng=9, beta=BETA)
    assert res.epsilon_lower_bound > claim, str(res)
