"""Swapped discretizations (:func:`dpkit.accounting.pld.pairs.swap_discretization`): the PLD of
(Q̃, P̃) from a discretization of (P, Q), which lets the second direction of a subsampled
mechanism reuse the first one's grid (:func:`~dpkit.accounting.pld.pairs.recall_swapped`)."""

from __future__ import annotations

import numpy as np
import pytest

from dpkit.accounting.pld import bounds as B
from dpkit.accounting.pld import pairs as P
from dpkit.accounting.pld.distribution import PrivacyLossDistribution
from dpkit.accounting.pld.pairs import (
    ADD,
    REMOVE,
    DiscretePair,
    SampledGaussianPair,
    SampledLaplacePair,
    recall_swapped,
    swap_discretization,
)

PAIRS = [lambda d: SampledGaussianPair(1.0, 0.01, d), lambda d: SampledGaussianPair(0.6, 0.2, d),
         lambda d: SampledLaplacePair(2.0, 0.05, d)]


def _forget() -> None:
    P._RECALLED.clear()


@pytest.mark.parametrize("make", PAIRS)
def test_swap_of_remove_is_the_add_discretization(make):
    """Connect-the-dots keeps both masses of every interval, so the add pair's grid is the
    remove pair's, mirrored, with P and Q exchanged (up to the tails each one cuts)."""
    step = 2e-3
    own = make(ADD).discretize(step, tail=1e-14)
    sw = swap_discretization(make(REMOVE).discretize(step, tail=1e-14))
    assert sw.step == own.step
    lo, hi = max(own.lower, sw.lower), min(own.upper, sw.upper)
    a = own.masses[lo - own.lower:hi - own.lower + 1]
    b = sw.masses[lo - sw.lower:hi - sw.lower + 1]
    big = a > 1e-12
    assert big.sum() > 10
    np.testing.assert_allclose(b[big], a[big], rtol=1e-9)
    assert abs(float(b.sum()) - float(a.sum())) < 1e-9


def test_swap_identity_on_a_discrete_pair():
    """δ_{Q‖P}(ε) = 1 − e^ε + e^ε δ_{P‖Q}(−ε), and the Q-only mass lands at +∞."""
    p = np.array([0.5, 0.3, 0.2, 0.0])
    q = np.array([0.1, 0.3, 0.35, 0.25])
    d = DiscretePair(p, q).discretize(0.01)
    sw = swap_discretization(d)
    exact = DiscretePair(q, p)  # P-only mass 0.25 at +∞
    eps = np.array([-1.0, -0.2, 0.0, 0.3, 0.9, 1.5])
    got = sw.delta(eps)
    want = exact.hockey_stick(eps)
    # the split grid dominates (exact at grid losses); the swap keeps that at every ε
    assert np.all(got >= want - 1e-12)
    assert np.all(got <= want + 2e-2)
    assert sw.infinity_mass >= 0.25
    ident = 1.0 - np.exp(eps) + np.exp(eps) * d.delta(-eps)
    np.testing.assert_allclose(got, np.minimum(1.0, ident), atol=1e-12)


def test_a_swap_that_drops_the_q_only_mass_is_caught():
    p = np.array([0.5, 0.3, 0.2, 0.0])
    q = np.array([0.1, 0.3, 0.35, 0.25])
    sw = swap_discretization(DiscretePair(p, q).discretize(0.01))
    twin = PrivacyLossDistribution(sw.step, sw.lower, sw.masses, 0.0)
    want = DiscretePair(q, p).hockey_stick(np.array([0.5]))[0]
    assert twin.delta(0.5) < want - 0.2  # the twin's δ falls below the truth
    assert sw.delta(0.5) >= want


@pytest.mark.parametrize("sigma,q", [(1.0, 0.01), (0.7, 0.1), (2.0, 0.3)])
def test_swapped_grid_dominates_the_add_pair(sigma, q):
    """One use of the add pair: its exact δ(ε) (closed form, erfc) ≤ the swap's at every ε."""
    rem = SampledGaussianPair(sigma, q, REMOVE)
    add = SampledGaussianPair(sigma, q, ADD)
    sw = swap_discretization(rem.discretize(5e-3, tail=1e-15))
    for eps in (0.0, 0.01, 0.05, 0.2, 0.5, 1.0):
        exact = B._single_delta(add, eps)
        assert sw.delta(eps) >= exact * (1 - 1e-9) - 1e-15
        # and close to it (connect-the-dots on a fine grid)
        assert sw.delta(eps) <= exact + 5e-3 * max(exact, 1e-6)


def test_recall_only_whole_range_grids_at_a_fine_enough_step():
    _forget()
    rem = SampledGaussianPair(1.1, 0.02, REMOVE)
    add = SampledGaussianPair(1.1, 0.02, ADD)
    assert recall_swapped(add, 1.0) is None
    rem.discretize(1e-2, floor=-0.001)  # a floored grid is not whole-range: not kept
    assert recall_swapped(add, 1.0) is None
    d = rem.discretize(1e-2)
    got = recall_swapped(add, 1e-2)
    assert got is not None and got.step == d.step
    assert recall_swapped(add, 5e-3) is None  # coarser than asked
    assert recall_swapped(add, 1.0, min_step=2e-2) is None  # finer than wanted
    assert recall_swapped(add, 1e-2, min_step=1e-2) is not None
    assert recall_swapped(rem, 1.0) is None  # the add pair was never discretized
    for i in range(P._RECALL_PAIRS + 1):  # bounded memory
        SampledGaussianPair(1.0 + i, 0.02, REMOVE).discretize(0.05)
    assert len(P._RECALLED) == P._RECALL_PAIRS
    assert recall_swapped(add, 1.0) is None


def test_relation_epsilon_is_the_max_of_its_directions():
    """The later direction certified through the swapped grid gives the same ε as computing
    both directions on their own grids."""
    _forget()
    dirs = B._sgm_directions(1.0, 0.01, 1000)
    got = B.relation_epsilon_checked(dirs, 1e-5)
    own = max(B.epsilon_checked(d, 1e-5) for d in dirs)
    assert got == pytest.approx(own, rel=1e-12)


@pytest.mark.parametrize("sigma,q,count,delta",
                         [(1.0, 0.01, 1000, 1e-5), (0.8, 0.001, 20000, 1e-6)])
def test_chernoff_through_the_swap_bounds_the_add_direction(sigma, q, count, delta, monkeypatch):
    monkeypatch.setattr(B, "_BELOW_MARGIN", -1e9)  # always tried, so that it can fail
    monkeypatch.setattr(B, "_BELOW_RECALL_FINER", 1e9)  # and through the fine swapped grid
    rem = SampledGaussianPair(sigma, q, REMOVE)
    add = [(SampledGaussianPair(sigma, q, ADD), count)]
    truth = {f: B.delta_checked(add, f * B.epsilon_checked(add, delta), accuracy=1e-4)
             for f in (0.8, 1.0, 1.5)}
    eps_add = B.epsilon_checked(add, delta)
    _forget()
    rem.discretize(2e-4, tail=1e-15)  # a fine whole-range grid of the other direction

    def no_own_grid(self, *a, **k):
        raise AssertionError("the add pair was discretized: the swap was not used")

    monkeypatch.setattr(SampledGaussianPair, "discretize", no_own_grid)
    for f, grid in truth.items():
        bound = B.chernoff_delta_bound(add, f * eps_add, delta)
        assert bound is not None
        assert bound >= grid * 0.999


def test_swapped_grids_dominate_over_a_sweep():
    """Seeded sweep over (σ, q) and steps, extremes included: one use of the add pair,
    exact δ (closed form) never above the swapped remove grid's."""
    rng = np.random.default_rng(20261206)
    sigmas = np.concatenate([[0.3, 5.0], np.exp(rng.uniform(np.log(0.4), np.log(4.0), 10))])
    qs = np.concatenate([[0.9, 1e-4], np.exp(rng.uniform(np.log(1e-3), np.log(0.5), 10))])
    for sigma, q in zip(sigmas, qs, strict=True):
        rem = SampledGaussianPair(float(sigma), float(q), REMOVE)
        add = SampledGaussianPair(float(sigma), float(q), ADD)
        hi = rem.loss_range(1e-15)[1]
        sw = swap_discretization(rem.discretize(max(hi / 3000, 1e-5), tail=1e-15))
        for eps in np.linspace(0.0, 1.5, 7) * max(hi, 1e-3) / 3:
            # the closed form carries a rounding allowance of ≤ 2e-12 (absolute) above the
            # truth (its docstring): the grid may sit below it by that much, not more
            exact = B._single_delta(add, float(eps))
            assert sw.delta(float(eps)) >= exact * (1 - 1e-9) - 3e-12, (sigma, q, eps)


def test_swap_of_a_grid_whose_q_masses_overflow_is_the_trivial_bound():
    """Losses far below −709: e^{−ℓ} overflows, so the swap answers δ ≤ 1 (mass 1 at +∞),
    never NaN."""
    d = PrivacyLossDistribution(1.0, -800, np.array([0.5, 0.5]), 0.0)
    sw = swap_discretization(d)
    assert sw.infinity_mass == 1.0
    assert np.all(np.isfinite(sw.masses))
    assert sw.delta(3.0) == 1.0
