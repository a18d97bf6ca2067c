"""Coarse intervals and the cheaper planning/interval masses of the PLD engine:
:meth:`~dpkit.accounting.pld.pairs.IntervalPair.discretize_coarse` (connect-the-dots on a
partition whose intervals may span several grid steps), the planner's choice of them
(:func:`~dpkit.accounting.pld.bounds._coarse_cuts`), interval masses from normal tails
(:func:`~dpkit.accounting.pld.pairs.edge_intervals`) and the subsampled Gaussian's quadrature
planning atoms (:func:`~dpkit.accounting.pld._planning._sgm_remove_atoms`)."""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest

from dpkit.accounting.pld import _planning
from dpkit.accounting.pld import bounds as B
from dpkit.accounting.pld import pairs as P
from dpkit.accounting.pld.pairs import (
    ADD,
    REMOVE,
    GaussianPair,
    SampledGaussianPair,
    SampledLaplacePair,
)

CUTS = ((-math.inf, 8), (-0.3, 2), (-0.05, 1), (0.1, 4), (0.3, 16))
PAIRS = [SampledGaussianPair(1.0, 0.01, REMOVE), SampledGaussianPair(0.5, 0.2, ADD),
         GaussianPair(2.0), SampledLaplacePair(1.5, 0.1, REMOVE)]


def _exact_delta(pair, eps: np.ndarray) -> np.ndarray:
    """δ(ε) = P(L = ∞) + P(L > ε) − e^ε·Q(L > ε) from the pair's own tails (mpmath-free)."""
    out = []
    for e in eps:
        pt, qt = pair._tails(float(e))
        out.append(pair.infinity_mass + pt - math.exp(e) * qt)
    return np.array(out)


@pytest.mark.parametrize("pair", PAIRS[:3])
def test_coarse_discretization_dominates_the_pair(pair):
    """Any partition's connect-the-dots dominates: δ(ε) of the coarse PLD is ≥ the closed
    form at every ε (up to the closed form's own float rounding), and it keeps all P-mass."""
    step = 2e-3
    co = pair.discretize_coarse(step, CUTS, tail=1e-12)
    eps = np.linspace(0.0, 3.0, 61)
    exact = _exact_delta(pair, eps)
    assert np.all(co.delta(eps) >= exact - 1e-15 - 1e-12 * exact)
    assert co.masses.sum() + co.infinity_mass == pytest.approx(1.0, abs=1e-12)
    # and a twin that drops the split (all of each coarse interval's mass at its bottom) falls
    # below the truth somewhere: the test can fail
    fine = pair.discretize(step, tail=1e-12)
    low = np.zeros_like(fine.masses)
    idx = P._edge_indices(fine.lower, fine.upper, CUTS, step) - fine.lower
    for a, b in zip(idx[:-1], idx[1:], strict=True):
        low[a] += fine.masses[a:b].sum()
    low[-1] += fine.masses[-1]
    twin = P.PrivacyLossDistribution(step, fine.lower, low, fine.infinity_mass)
    assert np.any(twin.delta(eps) < exact - 1e-9)


def test_coarse_discretization_lies_between_exact_and_a_coarser_grid():
    """Composed 100 times, the coarse partition's ε sits above the fine grid's by far less
    than a grid 16× coarser everywhere would."""
    pair = SampledGaussianPair(1.0, 0.01, REMOVE)
    step = 2e-3
    fine = pair.discretize(step, tail=1e-12).self_compose(100).epsilon(1e-5)
    co = pair.discretize_coarse(step, ((0.1, 4), (0.3, 16)), tail=1e-12)
    e_co = co.self_compose(100).epsilon(1e-5)
    e_16 = pair.discretize(16 * step, tail=1e-12).self_compose(100).epsilon(1e-5)
    assert fine <= e_co <= fine * (1 + 2e-3) < e_16


def test_edge_indices_partition():
    """Consecutive below the first cut, the factor's stride inside each region, each region
    ending exactly where the next begins, both ends included."""
    idx = P._edge_indices(-10, 100, ((-math.inf, 4), (0.0, 1), (0.05, 8)), 0.001)
    assert idx[0] == -10 and idx[-1] == 100
    assert np.all(np.diff(idx) > 0)
    assert list(idx[:4]) == [-10, -6, -2, 0]
    assert list(idx[4:6]) == [1, 2]
    d = np.diff(idx)
    assert set(d[idx[:-1] >= 50]) <= {8, 2}  # 8 apart, the last one shorter
    assert list(P._edge_indices(0, 5, (), 0.1)) == [0, 1, 2, 3, 4, 5]


@pytest.mark.parametrize("lo,hi,n", [(-37.0, -30.0, 400), (-8.0, 8.0, 2000), (30.0, 37.0, 300),
                                     (-1e-3, 1e-3, 50), (5.0, 5.0 + 1e-5, 20)])
def test_edge_intervals_against_mpmath(lo, hi, n):
    """Normal interval masses to ~1e-9 relative (~1e-12 where the intervals are not tiny),
    including the far tails (subnormal tails take the log-tail path) and the interval across 0;
    in either order of the edges."""
    mp.mp.dps = 60
    x = np.linspace(lo, hi, n)
    got = P.edge_intervals(x)
    assert np.all(P.edge_intervals(x[::-1]) == got[::-1])
    for i in range(0, n - 1, max(1, n // 25)):
        a, b = mp.mpf(float(x[i])), mp.mpf(float(x[i + 1]))
        exact = (mp.ncdf(-a) - mp.ncdf(-b)) if a > 0 else (mp.ncdf(b) - mp.ncdf(a))
        tol = 1e-12 if b - a > 1e-3 else 1e-8
        assert abs(got[i] / float(exact) - 1) < tol, (i, x[i], got[i], exact)


def test_edge_intervals_with_infinite_edges():
    """−inf / +inf edges carry tail 0 exactly (no log-tail detour, no NaN)."""
    got = P.edge_intervals(np.array([-np.inf, -1.0, 0.0, 2.0, np.inf]))
    ref = [0.15865525393145707, 0.3413447460685429, 0.4772498680518208, 0.022750131948179195]
    assert got == pytest.approx(ref, rel=1e-14)


@pytest.mark.parametrize("sigma,q", [(1.0, 0.01), (0.5, 0.2), (0.8, 1e-3), (5.0, 0.5)])
def test_sgm_planning_atoms_give_the_cumulant(sigma, q):
    """The quadrature atoms give log E[e^{tL}] of both directions to 1e-6 (numerical
    integration by mpmath as the oracle) wherever the integrand's bulk lies inside their range
    (its peak, near z = 1 + t, at least 5σ below the top node 1 + 11.4σ: t ≤ 6σ; beyond it
    the atoms, like any truncated planning grid, miss the far tail)."""
    ps, ls = _planning._sgm_remove_atoms(sigma, q)
    mp.mp.dps = 30

    def exact(t: float, direction: str) -> float:
        s2 = 2 * sigma * sigma

        def f(z):
            lr = mp.log(1 - q + q * mp.exp((2 * z - 1) / s2))
            q_dens = mp.exp(-z * z / s2) / mp.sqrt(mp.pi * s2)
            # remove: E_P[e^{tL}] = E_Q[e^{(1+t)L}]; add: E_Q[e^{−tL}] (L the remove loss)
            return q_dens * mp.exp((1 + t) * lr if direction == REMOVE else -t * lr)
        return float(mp.log(mp.quad(f, [-mp.inf, 0, 1, mp.inf])))

    for t in (0.5, 2.0, 6.0 * sigma):
        k_rem = math.log(float(np.sum(ps * np.exp(t * ls))))
        k_add = math.log(float(np.sum(ps * np.exp(-(1 + t) * ls))))
        assert k_rem == pytest.approx(exact(t, REMOVE), rel=1e-6, abs=1e-12)
        assert k_add == pytest.approx(exact(t, ADD), rel=1e-6, abs=1e-12)


def test_coarse_cuts_follow_the_tilted_share():
    """The planner's coarse regions carry a tilted share ≤ budget/(factor² − 1) each, on both
    sides, and a heavy upper tail (σ = 0.5, tiny q) gets no coarse intervals above."""
    pair = SampledGaussianPair(1.0, 0.01, REMOVE)
    ps, ls = _planning.planning_atoms(pair)
    t = 4.64
    cuts = B._coarse_cuts(ps, ls, t)
    assert cuts is not None
    w = ps * np.exp(t * ls - np.max(t * ls + np.log(ps)))
    w /= w.sum()
    for loss, f in zip(*cuts, strict=True):
        if math.isfinite(loss) and loss > 0 and f > 1:
            assert w[ls >= loss].sum() <= B._COARSE_BUDGET / (f * f - 1) * 1.0001
    heavy = SampledGaussianPair(0.5, 1e-4, REMOVE)
    cuts_h = B._coarse_cuts(*_planning.planning_atoms(heavy), 20.0)
    assert cuts_h is None or all(loss > 10 for loss, f in zip(*cuts_h, strict=True)
                                 if math.isfinite(loss) and loss > 0 and f > 1)


def test_planned_value_moves_little_with_coarse_intervals(monkeypatch):
    """The engine's ε with its coarse intervals stays within 1e-4 of the same plan on the
    uniform grid, and above it (both certified; coarse only loses tightness)."""
    with_cuts = B.sampled_gaussian_epsilon(1.0, 0.01, 1000, 1e-5)
    monkeypatch.setattr(B, "_coarse_cuts", lambda *a: None)
    without = B.sampled_gaussian_epsilon(1.0, 0.01, 1000, 1e-5)
    assert without <= with_cuts <= without * (1 + 1e-4)


@pytest.mark.parametrize("bad", [
    "x", [(0.1,)], [(0.1, 2), (0.05, 4)], [(math.nan, 2)], [(math.inf, 2)], [(0.1, 0)],
    [(0.1, 2.5)], (np.array([0.1, 0.2]), np.array([2]))])
def test_bad_coarse_plans_raise_naming_them(bad):
    from dpkit.errors import DPKitError

    with pytest.raises(DPKitError, match="coarse"):
        SampledGaussianPair(1.0, 0.01, REMOVE).discretize_coarse(1e-3, bad, tail=1e-12)


def test_an_empty_coarse_plan_is_the_uniform_grid():
    pair = SampledGaussianPair(1.0, 0.01, REMOVE)
    a = pair.discretize_coarse(1e-3, [], tail=1e-12)
    b = pair.discretize(1e-3, tail=1e-12)
    assert a.lower == b.lower and np.array_equal(a.masses, b.masses)
