"""ApproxDP: a proved (ε, δ) statement, composed by the PLD path with its tight pair.

Independent check: the k-fold composition of the four-point (ε, δ) pair factorizes — with
probability 1 − (1 − δ)^k at least one "δ" outcome (infinite loss) occurs, otherwise the loss
is that of k-fold binary randomized response — so δ(ε′) = 1 − (1 − δ)^k + (1 − δ)^k δ_RR^k(ε′)
with δ_RR^k a binomial sum (Kairouz, Oh, Viswanath 2015, Thm 3.3). The PLD value must never
be below it and within a small slack above it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binom

from dpkit.accounting import Accountant, ApproxDP, Gaussian, event_from_dict
from dpkit.errors import DPKitError


def _exact_delta(eps0: float, d0: float, k: int, eps: float) -> float:
    p = math.exp(eps0) / (1.0 + math.exp(eps0))
    j = np.arange(k + 1)  # number of "high" outcomes among k
    loss = eps0 * (2 * j - k)
    w = binom.pmf(j, k, p)
    rr = float(np.sum(w * np.clip(-np.expm1(eps - loss), 0.0, None)))
    gone = -math.expm1(k * math.log1p(-d0))  # 1 − (1 − δ)^k without cancellation
    return gone + (1.0 - gone) * rr


@pytest.mark.parametrize("eps0,d0,k", [(0.5, 1e-7, 10), (0.1, 1e-8, 200), (1.0, 1e-6, 3)])
def test_composed_approx_dp_matches_the_exact_composition(eps0: float, d0: float,
                                                          k: int) -> None:
    acc = Accountant().compose(ApproxDP(eps0, d0, relation="add_remove"), k)
    for eps in (0.05 * k * eps0, 0.3 * k * eps0, 0.7 * k * eps0, k * eps0 - 1e-3):
        exact = _exact_delta(eps0, d0, k, eps)
        got = acc.delta(eps, method="pld")
        assert got >= exact * (1 - 1e-12), (eps, got, exact)
        assert got <= exact * 1.01 + 1e-12, (eps, got, exact)
    r = acc.epsilon_details(1e-5)
    assert r.method == "pld" and math.isinf(r.rdp_epsilon)
    assert _exact_delta(eps0, d0, k, r.epsilon) <= 1e-5 * (1 + 1e-9)


def test_rdp_is_infinite_and_pure_when_delta_is_zero() -> None:
    assert np.all(np.isinf(ApproxDP(1.0, 1e-9).rdp([2.0, 10.0])))
    pure = ApproxDP(1.0, 0.0).rdp([np.inf])
    assert pure[0] == pytest.approx(1.0)
    assert math.isinf(Accountant().compose(ApproxDP(1.0, 1e-9)).epsilon(1e-6, method="rdp"))


def test_pair_is_the_tight_pair() -> None:
    p, q = ApproxDP(0.7, 1e-3).pmfs()
    assert sum(p) == pytest.approx(1.0) and sum(q) == pytest.approx(1.0)
    assert p[0] == 1e-3 and q[0] == 0.0 and p[3] == 0.0 and q[3] == 1e-3
    assert math.log(p[1] / p[2]) >= 0.7  # the finite loss is never understated
    # δ(ε) at ε ≥ ε0 is exactly δ0: the single event
    acc = Accountant().compose(ApproxDP(0.7, 1e-3))
    assert 1e-3 <= acc.delta(0.7, method="pld") <= 1e-3 * 1.01


def test_composes_with_other_events_and_round_trips() -> None:
    ev = ApproxDP(0.5, 1e-8, relation="add_remove")
    assert event_from_dict(ev.to_dict()) == ev
    both = Accountant().compose(ev).compose(Gaussian(2.0, relation="add_remove"))
    basic = 0.5 + Accountant().compose(Gaussian(2.0)).epsilon(1e-6 - 1e-8, method="rdp")
    assert both.epsilon(1e-6) <= basic  # never above basic composition


@pytest.mark.parametrize("kw", [dict(epsilon=-1.0, delta=0.1), dict(epsilon=math.inf, delta=0.1),
                                dict(epsilon=1.0, delta=1.5)])
def test_bad_input(kw: dict[str, float]) -> None:
    with pytest.raises(DPKitError, match="epsilon|delta"):
        ApproxDP(**kw)
