"""Multi-level PLD composition (dpkit.accounting.pld._levels): truth, dominance, grid bound."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.stats import norm

from dpkit.accounting import pld
from dpkit.accounting.pld import _levels as lv
from dpkit.accounting.pld.distribution import _trusted
from dpkit.errors import DPKitError


def _eps_lv(parts, delta, **kw):
    return lv.epsilon_bound_levels(parts, delta, plan=pld.plan_pld, **kw)


def _delta_lv(parts, epsilon, **kw):
    return lv.delta_bound_levels(parts, epsilon, plan=pld.plan_pld, **kw)


def _gauss_delta(mu: float, eps: float) -> float:
    """Exact δ(ε) of a Gaussian PLD with μ = √T/σ (Balle & Wang 2018), in logs."""
    a = norm.logcdf(-eps / mu + mu / 2)
    b = eps + norm.logcdf(-eps / mu - mu / 2)
    return math.exp(a) * -math.expm1(b - a)


def _gauss_eps(mu: float, delta: float) -> float:
    return brentq(lambda e: _gauss_delta(mu, e) - delta, 0.0, 1e6, xtol=1e-14, rtol=1e-14)


@pytest.mark.parametrize("sigma,count,delta", [(20.0, 100_000, 1e-5), (50.0, 1_000_000, 1e-10),
                                               (300.0, 10_000_000, 1e-6)])
def test_gaussian_levels_against_analytic(sigma, count, delta):
    mu = math.sqrt(count) / sigma
    exact = _gauss_eps(mu, delta)
    got = _eps_lv([(pld.GaussianPair(sigma), count)], delta)
    assert exact <= got <= exact * 1.01
    assert _gauss_delta(mu, got) <= delta  # the ε reported reaches δ for the truth
    eps = exact
    d_got = _delta_lv([(pld.GaussianPair(sigma), count)], eps)
    assert delta <= d_got * (1 + 1e-9) and d_got <= delta * 1.03


@pytest.mark.parametrize("direction", [pld.REMOVE, pld.ADD])
def test_sampled_gaussian_million_steps_matches_single_level(direction):
    # the single-level engine itself (epsilon_bound hands counts ≥ 1e6 to the levels)
    parts = [(pld.SampledGaussianPair(1.0, 0.01, direction), 1_000_000)]
    ref = min(p.epsilon(1e-5) for p in pld.plan_pld(parts, delta=1e-5))
    got = _eps_lv(parts, 1e-5)
    assert abs(got / ref - 1) <= 5e-3
    d_ref = min(p.delta(ref) for p in pld.plan_pld(parts, epsilon=ref))
    d_got = _delta_lv(parts, ref)
    assert abs(d_got / d_ref - 1) <= 0.05


def test_heavy_upper_tail_not_inflated_by_rounding_floor():
    # q = 0.001, σ = 0.8: the loss has a far upper tail, where an untilted rounding floor
    # added to every entry would raise ε by ~2 %
    parts = [(pld.SampledGaussianPair(0.8, 0.001, pld.REMOVE), 5000)]
    ref = pld.epsilon_bound(parts, 1e-6)
    assert abs(_eps_lv(parts, 1e-6) / ref - 1) <= 2e-3


def test_never_below_dp_accounting_optimistic():
    dpp = pytest.importorskip("dp_accounting.pld.privacy_loss_distribution")
    q, s, t, d = 0.01, 1.0, 5000, 1e-5
    opt = dpp.from_gaussian_mechanism(s, sampling_prob=q, value_discretization_interval=1e-4,
                                      pessimistic_estimate=False, use_connect_dots=False
                                      ).self_compose(t).get_epsilon_for_delta(d)
    pes = dpp.from_gaussian_mechanism(s, sampling_prob=q, value_discretization_interval=1e-4
                                      ).self_compose(t).get_epsilon_for_delta(d)
    got = max(_eps_lv([(pld.SampledGaussianPair(s, q, x), t)], d)
              for x in (pld.REMOVE, pld.ADD))
    assert opt <= got <= pes * 1.005


def test_mixed_parts_and_small_counts():
    parts = [(pld.SampledGaussianPair(1.0, 0.01), 200_000), (pld.GaussianPair(10.0), 3),
             (pld.LaplacePair(20.0), 0)]
    ref = pld.epsilon_bound(parts, 1e-6)
    assert abs(_eps_lv(parts, 1e-6) / ref - 1) <= 5e-3
    small = [(pld.SampledGaussianPair(1.0, 0.01), lv.LEVELS_MIN_COUNT - 1)]
    assert _eps_lv(small, 1e-5) == pytest.approx(
        pld.epsilon_bound(small, 1e-5), rel=5e-3)
    assert _eps_lv([], 1e-5) == 0.0
    assert _delta_lv([(pld.GaussianPair(1.0), 0)], 1.0) == 0.0


def test_grid_bounded_at_a_billion(monkeypatch):
    sizes: list[int] = []
    orig = lv.fourier_compose

    def spy(*args, **kwargs):
        sizes.append(int(kwargs["n"]))
        return orig(*args, **kwargs)

    monkeypatch.setattr(lv, "fourier_compose", spy)
    monkeypatch.setattr(pld.bounds, "fourier_compose", spy)
    e9 = _eps_lv([(pld.SampledGaussianPair(1.0, 0.01), 10**9)], 1e-5)
    assert math.isfinite(e9) and max(sizes) <= 1 << 16
    # the single engine needs ~4M points here; the ε of a billion steps grows like T
    e8 = _eps_lv([(pld.SampledGaussianPair(1.0, 0.01), 10**8)], 1e-5)
    assert 8 < e9 / e8 < 11


def test_recoarsen_keeps_both_masses_and_dominates():
    rng = np.random.default_rng(3)
    m = rng.random(200) * (rng.random(200) < 0.7)
    p = _trusted(0.013, -90, m / m.sum() * 0.97, 0.01)
    for step in (0.05, 0.1, 0.013 * 7):
        c = lv.recoarsen(p, step)
        assert c.masses.sum() == pytest.approx(p.masses.sum(), rel=1e-12)
        assert np.sum(c.masses * np.exp(-c.losses)) == pytest.approx(
            np.sum(p.masses * np.exp(-p.losses)), rel=1e-10)
        assert c.infinity_mass == p.infinity_mass
        eps = np.linspace(-1.5, 1.5, 301)
        assert np.all(c.delta(eps) >= p.delta(eps) * (1 - 1e-12))
    f = lv.recoarsen(p, 0.05, floor=-0.5)
    assert f.losses[f.masses > 0].min() >= -0.5 - 1e-12
    assert np.all(f.delta(eps) >= p.delta(eps) * (1 - 1e-12))


def test_level_composition_dominates_exact_convolution():
    base = pld.SampledGaussianPair(1.0, 0.2).discretize(0.02)
    exact = base.masses.copy()
    for _ in range(63):
        exact = np.convolve(exact, base.masses)
    ex = _trusted(0.02, 64 * base.lower, exact, 0.0)
    got = lv._compose_level([(base, 64)], 1e-14, 1 << 20)
    eps = np.linspace(0.0, 6.0, 121)
    d_ex, d_got = ex.delta(eps), got.delta(eps)
    assert np.all(d_got >= d_ex * (1 - 1e-12))
    assert np.all(d_got <= d_ex * 1.001 + 1e-13)


def test_pld_pair_masses_and_plan():
    p = pld.GaussianPair(2.0).discretize(0.05)
    pair = lv._PLDPair(p)
    edges = np.linspace(-1.0, 1.5, 11)
    mm = pair._masses(edges)
    total = mm.p_int.sum() + mm.p_below + mm.p_above
    assert total == pytest.approx(p.masses.sum(), rel=1e-12)
    assert pair.discretize(0.05).delta(0.3) >= p.delta(0.3) * (1 - 1e-12)
    assert pair.loss_range()[0] <= pair.loss_range()[1]


@pytest.mark.parametrize("call,name", [
    (lambda: _eps_lv([(pld.GaussianPair(1.0), 10)], 2.0), "delta"),
    (lambda: _delta_lv([(pld.GaussianPair(1.0), 10)], -1.0), "epsilon"),
    (lambda: _eps_lv([(pld.GaussianPair(1.0), 10)], 1e-5, accuracy=1.0),
     "accuracy"),
    (lambda: _eps_lv([(pld.GaussianPair(1.0), -1)], 1e-5), "count"),
    (lambda: _eps_lv([("x", 1)], 1e-5), "parts"),
    (lambda: lv.recoarsen(pld.GaussianPair(1.0).discretize(0.1), 0.0), "step"),
    (lambda: lv.recoarsen(pld.GaussianPair(1.0).discretize(0.1), 0.1, floor=math.nan),
     "floor"),
])
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(DPKitError, match=name):
        call()


def test_mass_lost_to_rounding_is_restored_pessimistically():
    # a fine step loses ~1e-10 of P-mass per copy to rounding in connect-the-dots; over 1e8
    # copies left at −∞ it would put δ ~0.6 % below the truth (seen before the fix)
    p = pld.GaussianPair(1e4).discretize(3e-7, tail=1e-28)
    full = lv._full_mass(p)
    assert full.masses.sum() >= 1.0 - full.infinity_mass
    assert np.all(full.masses >= p.masses)
    sigma, count, delta = 1e4, 10**8, 1e-3
    eps = _gauss_eps(count**0.5 / sigma, delta)
    got = _delta_lv([(pld.GaussianPair(sigma), count)], eps, accuracy=3e-5)
    assert delta <= got <= delta * 1.01


def test_engine_hands_large_counts_to_levels():
    big = [(pld.SampledGaussianPair(1.0, 0.01), lv.LEVELS_WIRE_COUNT)]
    assert lv.use_levels(big)
    assert not lv.use_levels([(pld.SampledGaussianPair(1.0, 0.01), lv.LEVELS_WIRE_COUNT - 1)])
    # pairs on one lattice stay on the exact lattice grid
    assert not lv.use_levels([(pld.randomized_response_pair(0.01), 10**7)])
    assert pld.epsilon_bound(big, 1e-5) == _eps_lv(big, 1e-5)
    e = pld.epsilon_bound(big, 1e-5)
    assert pld.delta_bound(big, e) == _delta_lv(big, e)


def test_small_max_points_bounded_grid_still_works():
    parts = [(pld.SampledGaussianPair(1.0, 0.01), 10**6)]
    full = _eps_lv(parts, 1e-5)
    for mp in (2048, 8192):
        got = _eps_lv(parts, 1e-5, max_points=mp)
        one = min(p.epsilon(1e-5) for p in pld.plan_pld(parts, delta=1e-5, max_points=mp))
        assert math.isfinite(got) and full * (1 - 1e-3) <= got <= one
