"""MaxSum / SumSelect under continual observation (dpkit.mechanisms.continual.selection).

Checks: the privacy event against an independent computation (pure ε = k(ε1 + ε2), zCDP
ρ = k(ε1² + ε2²)/2 = the budget), the refresh bound, the accuracy guarantee on the spec's
oracle stream (one column all ones: |y_t − t| ≤ τ + noise for all t w.p. ≥ 1 − β; 20 runs at
β = 0.05: a correct implementation fails ≥ 6 runs with probability < 3e-4), the counters
branch's sensitivity √d, and bad input.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from dpkit.errors import DPKitError
from dpkit.mechanisms.continual import selection as S


def test_svt_event_matches_budget() -> None:
    p = S.SelectionParams("maxsum", "svt", horizon=4096, dimension=8, rho=0.5)
    k, tau, eps = p.svt
    assert eps == pytest.approx(math.sqrt(0.5 / k), rel=1e-12)
    ev = S.selection_event(p)
    assert ev.epsilon_inf() == pytest.approx(2 * k * eps, rel=1e-12)
    # the zCDP bound of pure ε-DP pieces (ε²/2 each) is the budget: ρ = k(ε1² + ε2²)/2
    assert k * (eps**2 + eps**2) / 2 == pytest.approx(0.5, rel=1e-12)
    orders = np.array([2.0, 8.0, 32.0])
    assert np.all(ev.rdp(orders) <= 0.5 * orders + 1e-12)  # PureDP curves ≤ ε²α/2 each
    # k = ⌈2T/τ⌉ + 1 at the fixed point
    assert k == math.ceil(2 * 4096 / tau) + 1


def test_svt_maxsum_accuracy_on_all_ones_column() -> None:
    T, d = 4096, 8
    p = S.SelectionParams("maxsum", "svt", horizon=T, dimension=d, rho=0.5, beta=0.05)
    k, tau, eps = p.svt
    ell = math.log(4 * T / p.beta)
    xs = np.zeros((T, d))
    xs[:, 3] = 1.0
    xs[::2, 5] = 1.0
    slack = tau + (4 / eps + 2 / eps + 1 / eps) * ell
    g = np.random.default_rng(0)
    fails = 0
    for _ in range(20):
        y = S.run_selection(p, xs, g)
        fails += int(np.max(np.abs(y - np.arange(1, T + 1))) > slack)
    assert fails <= 5


def test_svt_select_picks_the_leading_column() -> None:
    T, d = 4096, 5
    p = S.SelectionParams("select", "svt", horizon=T, dimension=d, rho=0.5)
    xs = np.zeros((T, d))
    xs[:, 2] = 1.0
    xs[: T // 4, 0] = 1.0
    j = S.run_selection(p, xs, 1)
    assert j.dtype.kind == "i"
    assert np.mean(j[T // 2:] == 2) > 0.9


def test_counters_branch_sensitivity_and_error() -> None:
    T, d = 1024, 16
    p = S.SelectionParams("maxsum", "counters", horizon=T, dimension=d, rho=0.5)
    c = p.counter()
    assert c.sensitivity == pytest.approx(math.sqrt(d))
    assert c.rho == pytest.approx(0.5, rel=1e-12)
    xs = (np.random.default_rng(3).random((T, d)) < 0.5).astype(float)
    y = S.run_selection(p, xs, 4)
    truth = np.cumsum(xs, axis=0).max(axis=1)
    sd = math.sqrt(c.noise_std**2 * 6)  # generous: per-coordinate sd ≤ σΔ·√G(T), G < 6
    assert np.max(np.abs(y - truth)) < 2 * sd * math.sqrt(2 * math.log(2 * d * T / 1e-3))


def test_bad_input() -> None:
    p = S.SelectionParams("maxsum", "svt", horizon=10, dimension=2, rho=1.0)
    with pytest.raises(DPKitError, match="0/1"):
        S.run_selection(p, np.full((3, 2), 0.5), 0)
    with pytest.raises(DPKitError, match="horizon"):
        S.run_selection(p, np.zeros((11, 2)), 0)
    with pytest.raises(DPKitError, match="problem"):
        S.SelectionParams("min", "svt", horizon=10, dimension=2, rho=1.0)  # type: ignore
    with pytest.raises(DPKitError, match="rho"):
        S.SelectionParams("maxsum", "svt", horizon=10, dimension=2, rho=-1.0)


def test_sumselect_svt_runs_on_the_secure_generator() -> None:
    """Regression: the SVT refresh drew Gumbel noise with ``gen.gumbel``, which the hardened
    SecureGenerator lacks (AttributeError); it now uses −log Exp(1), the same law."""
    from dpkit.random import secure_generator

    p = S.SelectionParams("select", "svt", 12, 3, 5.0, svt_refreshes=4, svt_threshold=0.5)
    out = S.run_selection(p, np.ones((12, 3)), secure_generator())
    assert out.shape == (12,) and out.dtype == np.int64
    assert set(out.tolist()) <= {0, 1, 2}
