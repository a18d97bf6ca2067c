"""Certified PLD accounting (dpkit.accounting.pld): closed forms, dp_accounting, invariants."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.special import gammaln
from scipy.stats import binom

from dpkit.accounting import pld
from dpkit.errors import DPKitError


def _eps_from_curve(curve, delta: float, hi: float = 1e4) -> float:
    """Smallest ε ≥ 0 with curve(ε) ≤ δ, for a continuous non-increasing curve."""
    if curve(0.0) <= delta:
        return 0.0
    return brentq(lambda e: curve(e) - delta, 0.0, hi, xtol=1e-13, rtol=1e-13)


# ------------------------------------------------------------------ closed forms
@pytest.mark.parametrize("sigma,count,delta", [(1.0, 1, 1e-5), (2.0, 100, 1e-8),
                                               (5.0, 10_000, 1e-10), (0.7, 3, 1e-3)])
def test_gaussian_composition_matches_analytic_gaussian(sigma, count, delta):
    # T Gaussians of σ are one Gaussian of σ/√T; Balle & Wang 2018 give its exact curve
    exact_pair = pld.GaussianPair(sigma / math.sqrt(count))
    exact = _eps_from_curve(lambda e: float(exact_pair.hockey_stick(e)[0]), delta)
    got = pld.epsilon_bound([(pld.GaussianPair(sigma), count)], delta)
    assert exact <= got <= exact * 1.005 + 1e-9
    d_exact = float(exact_pair.hockey_stick(exact * 0.9)[0])
    d_got = pld.delta_bound([(pld.GaussianPair(sigma), count)], exact * 0.9)
    assert d_exact <= d_got <= d_exact * 1.005


def _rr_exact_curve(eps0: float, k: int, count: int):
    """Exact δ(ε) of ``count`` k-ary RRs: a multinomial sum over (#kept x, #became x′)."""
    z = math.exp(eps0) + k - 1
    lp = [eps0 - math.log(z), -math.log(z), math.log(k - 2) - math.log(z) if k > 2 else -np.inf]
    a, b = np.meshgrid(np.arange(count + 1), np.arange(count + 1), indexing="ij")
    ok = a + b <= count
    a, b = a[ok], b[ok]
    c = count - a - b
    with np.errstate(invalid="ignore"):
        logpmf = (gammaln(count + 1) - gammaln(a + 1) - gammaln(b + 1) - gammaln(c + 1)
                  + a * lp[0] + b * lp[1] + np.where(c > 0, c * lp[2], 0.0))
    pm = np.exp(logpmf)
    loss = eps0 * (a - b)

    def curve(eps: float) -> float:
        m = loss > eps
        return float(np.sum(pm[m] * -np.expm1(eps - loss[m])))

    return curve


@pytest.mark.parametrize("eps0,k,count", [(0.5, 2, 40), (1.0, 3, 25), (0.2, 5, 30)])
def test_randomized_response_composition_is_exact_binomial_sum(eps0, k, count):
    parts = [(pld.randomized_response_pair(eps0, k), count)]
    curve = _rr_exact_curve(eps0, k, count)
    for eps in (0.0, eps0 * 1.5, eps0 * 4.3):
        exact = curve(eps)
        got = pld.delta_bound(parts, eps)
        assert exact <= got <= exact * 1.005 + 1e-15
    delta = 1e-6
    exact_eps = _eps_from_curve(curve, delta, hi=eps0 * count)
    got_eps = pld.epsilon_bound(parts, delta)
    assert exact_eps <= got_eps <= exact_eps * 1.005 + 1e-12


def test_binary_rr_many_compositions_against_binomial():
    eps0, count = 0.1, 2000
    parts = [(pld.pure_dp_pair(eps0), count)]
    p = math.exp(eps0) / (1 + math.exp(eps0))
    a = np.arange(count + 1)
    loss = eps0 * (2 * a - count)
    for eps in (2.0, 5.0):
        w = binom.pmf(a, count, p) * np.where(loss > eps, -np.expm1(eps - loss), 0.0)
        exact = float(w.sum())
        got = pld.delta_bound(parts, eps)
        assert exact <= got <= exact * 1.005


def test_laplace_single_and_composed():
    b = 2.0
    # one Laplace: (1/b)-DP exactly, δ(1/b) = 0
    assert pld.delta_bound([(pld.LaplacePair(b), 1)], 1 / b) <= 1e-12
    e0 = pld.epsilon_bound([(pld.LaplacePair(b), 1)], 0.0)
    assert 1 / b <= e0 <= (1 / b) * (1 + 1e-5)
    # composed: between the truth (≥ the Gaussian-free lower bound 0) and basic composition
    e = pld.epsilon_bound([(pld.LaplacePair(b), 50)], 1e-6)
    assert 0 < e < 50 / b


# ------------------------------------------------------------------ dp_accounting
DPSGD_GRID = [(0.01, 1.0, 1000, 1e-5), (0.001, 0.8, 1000, 1e-6), (0.2, 1.0, 100, 1e-10),
              (0.05, 2.0, 3000, 1e-3)]


@pytest.mark.parametrize("q,sigma,steps,delta", DPSGD_GRID)
def test_dpsgd_between_dp_accounting_optimistic_and_pessimistic(q, sigma, steps, delta):
    dpp = pytest.importorskip("dp_accounting.pld.privacy_loss_distribution")
    pes = dpp.from_gaussian_mechanism(sigma, sampling_prob=q, value_discretization_interval=1e-4
                                      ).self_compose(steps).get_epsilon_for_delta(delta)
    opt = dpp.from_gaussian_mechanism(sigma, sampling_prob=q, value_discretization_interval=1e-4,
                                      pessimistic_estimate=False, use_connect_dots=False
                                      ).self_compose(steps).get_epsilon_for_delta(delta)
    got = pld.sampled_gaussian_epsilon(sigma, q, steps, delta)
    assert opt <= got <= pes * 1.005


def test_both_directions_are_composed_and_max_taken():
    q, s, t, d = 0.05, 1.0, 200, 1e-6
    rem = pld.epsilon_bound([(pld.SampledGaussianPair(s, q, pld.REMOVE), t)], d)
    add = pld.epsilon_bound([(pld.SampledGaussianPair(s, q, pld.ADD), t)], d)
    assert rem != add
    assert pld.sampled_gaussian_epsilon(s, q, t, d) == max(rem, add)


def test_single_step_far_below_rdp():
    # the example: one step at σ = 0.8, q = 0.001, δ = 1e-6 costs 0.0603 by PLD
    e = pld.sampled_gaussian_epsilon(0.8, 0.001, 1, 1e-6)
    assert 0.0602 < e < 0.0603 * 1.005


def test_huge_counts_bounded_and_monotone():
    es = [pld.sampled_gaussian_epsilon(1.0, 0.01, t, 1e-5) for t in (10, 1000, 100_000)]
    assert all(np.isfinite(es)) and es[0] < es[1] < es[2]
    plds = pld.plan_pld([(pld.SampledGaussianPair(1.0, 0.01), 10**9)], delta=1e-5,
                        max_points=1 << 16)
    assert all(p.masses.size <= 1 << 17 for p in plds)
    assert math.isfinite(plds[-1].epsilon(1e-5))


# ------------------------------------------------------------------ the distribution
def _small() -> pld.PrivacyLossDistribution:
    return pld.PrivacyLossDistribution(0.1, -3, np.array([0.2, 0.3, 0.1, 0.25, 0.1]), 0.05)


def test_delta_formula_monotone_and_no_nan():
    p = _small()
    eps = np.linspace(-1, 2, 301)
    d = p.delta(eps)
    assert not np.isnan(d).any() and np.all(np.diff(d) <= 1e-15)
    manual = 0.05 + sum(m * max(0.0, 1 - math.exp(0.05 - ell))
                        for m, ell in zip(p.masses, p.losses, strict=True))
    assert p.delta(0.05) == pytest.approx(manual, rel=1e-14)
    assert p.delta(math.inf) == pytest.approx(0.05)


def test_epsilon_is_smallest_reaching_delta():
    p = _small()
    for target in (0.06, 0.08, 0.12):
        e = p.epsilon(target)
        assert p.delta(e) <= target
        assert e == 0.0 or p.delta(e - 1e-9) > target
    assert p.epsilon(0.04) == math.inf  # below the mass at +∞
    assert p.epsilon(1.0) == 0.0


def test_compose_matches_direct_convolution_from_above():
    a = _small()
    b = pld.PrivacyLossDistribution(0.1, 1, np.array([0.5, 0.4, 0.1]), 0.0)
    c = a.compose(b)
    direct = np.convolve(a.masses, b.masses)
    ref = pld.PrivacyLossDistribution(0.1, a.lower + b.lower, direct,
                                      1 - (1 - a.infinity_mass) * (1 - b.infinity_mass))
    for e in (0.0, 0.15, 0.4):
        assert ref.delta(e) - 1e-15 <= c.delta(e) <= ref.delta(e) + 1e-12


def test_self_compose_equals_repeated_compose():
    a = pld.PrivacyLossDistribution(0.05, -2, np.array([0.3, 0.4, 0.2, 0.1]), 0.0)
    s = a.self_compose(4)
    r = a.compose(a).compose(a).compose(a)
    for e in (0.0, 0.1, 0.3):
        assert s.delta(e) == pytest.approx(r.delta(e), rel=1e-9, abs=1e-12)


def test_truncate_and_coarsen_are_pessimistic():
    p = pld.GaussianPair(1.0).discretize(0.01)
    eps = np.array([0.0, 0.5, 1.0, 2.0, 3.0])
    t = p.truncate(1e-6)
    assert np.all(t.delta(eps) >= p.delta(eps) - 1e-15)
    assert np.all(t.delta(eps) <= p.delta(eps) + 1e-6 + 1e-15)
    c = p.coarsen(7)
    assert np.all(c.delta(eps) >= p.delta(eps) - 1e-15)


def test_connect_the_dots_dominates_and_is_exact_on_grid():
    pair = pld.GaussianPair(0.9)
    p = pair.discretize(0.05)
    grid = np.arange(0, 60) * 0.05
    off = grid + 0.021
    assert np.all(p.delta(off) >= pair.hockey_stick(off) * (1 - 1e-9))
    assert np.allclose(p.delta(grid), pair.hockey_stick(grid), rtol=1e-7, atol=1e-14)


def test_pmf_pair_and_infinity_mass():
    pair = pld.from_pmfs([0.5, 0.3, 0.2], [0.25, 0.75, 0.0])
    assert pair.infinity_mass == pytest.approx(0.2)
    p = pair.discretize(0.01)
    eps = np.array([0.0, 0.3, 0.69, 1.0])
    assert np.all(p.delta(eps) >= pair.hockey_stick(eps) - 1e-15)
    assert pld.epsilon_bound([(pair, 1)], 0.1) == math.inf


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("call,name", [
    (lambda: pld.GaussianPair(-1.0), "noise_multiplier"),
    (lambda: pld.GaussianPair(float("nan")), "noise_multiplier"),
    (lambda: pld.SampledGaussianPair(1.0, 1.5), "sample_rate"),
    (lambda: pld.SampledGaussianPair(1.0, 0.1, "both"), "direction"),
    (lambda: pld.randomized_response_pair(1.0, 1), "k"),
    (lambda: pld.from_pmfs([0.5, 0.6], [0.5, 0.5]), "p"),
    (lambda: pld.sampled_gaussian_epsilon(1.0, 0.01, 10, 2.0), "delta"),
    (lambda: pld.sampled_gaussian_epsilon(1.0, 0.01, -1, 1e-5), "steps"),
    (lambda: pld.delta_bound([(pld.GaussianPair(1.0), 1)], -1.0), "epsilon"),
    (lambda: _small().epsilon(float("nan")), "delta"),
    (lambda: _small().self_compose(-2), "count"),
    (lambda: pld.PrivacyLossDistribution(0.0, 0, np.ones(1)), "step"),
    (lambda: pld.PrivacyLossDistribution(0.1, 0, np.array([-0.1])), "masses"),
    (lambda: pld.epsilon_bound([(1.0, 1)], 1e-5), "parts"),
])
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(DPKitError, match=name):
        call()


def test_degenerate_inputs():
    assert pld.sampled_gaussian_epsilon(1.0, 0.0, 100, 1e-5) == 0.0
    assert pld.sampled_gaussian_epsilon(1.0, 0.5, 0, 1e-5) == 0.0
    e1 = pld.sampled_gaussian_epsilon(2.0, 1.0, 9, 1e-5)
    exact = _eps_from_curve(lambda e: float(pld.GaussianPair(2.0 / 3.0).hockey_stick(e)[0]), 1e-5)
    assert exact <= e1 <= exact * 1.005


# ------------------------------------------------------------------ mpmath oracle
def _mp_sgm_delta(sigma: float, q: float, eps: float, direction: str) -> float:
    """δ(ε) of one subsampled-Gaussian step by 50-digit quadrature of (p − e^ε q)₊ over the
    noise value z, split where the integrand changes sign (L_remove(z) = ±ε, closed form)."""
    mpmath = pytest.importorskip("mpmath")
    mp = mpmath.mp
    with mpmath.workdps(50):
        s, qq, e = mp.mpf(sigma), mp.mpf(q), mp.mpf(eps)

        def phi(z):
            return mp.npdf(z, 0, s)

        def mix(z):
            return (1 - qq) * phi(z) + qq * phi(z - 1)

        def zstar(t):  # L_remove(z) = t  ⇔  1 − q + q e^{(2z−1)/(2σ²)} = e^t
            inner = mp.exp(t) - 1 + qq
            return None if inner <= 0 else s * s * mp.log(inner / qq) + mp.mpf(1) / 2

        if direction == pld.REMOVE:  # P = mix, Q = N(0, σ²): positive above z*(ε)
            z0 = zstar(e)
            val = mp.quad(lambda z: mix(z) - mp.exp(e) * phi(z),
                          [z0, z0 + 1, z0 + 5 * s, z0 + 40 * s + 2, mp.inf])
        else:  # P = N(0, σ²), Q = mix: positive below z*(−ε)
            z0 = zstar(-e)
            if z0 is None:
                return 0.0
            val = mp.quad(lambda z: phi(z) - mp.exp(e) * mix(z),
                          [-mp.inf, z0 - 40 * s - 2, z0 - 5 * s, z0 - 1, z0])
        return float(val)


@pytest.mark.parametrize("sigma,q,eps,direction", [
    (1.0, 0.01, 0.1, pld.REMOVE), (0.8, 0.001, 0.0603, pld.REMOVE), (0.5, 0.2, 12.15, pld.REMOVE),
    (2.0, 0.5, 0.3, pld.REMOVE), (1.0, 0.01, 0.005, pld.ADD), (2.0, 0.5, 0.3, pld.ADD),
    (0.5, 0.2, 0.22, pld.ADD), (0.25, 0.2, 0.222, pld.ADD)])
def test_single_step_tails_against_mpmath_quadrature(sigma, q, eps, direction):
    # one step of the subsampled Gaussian, δ(ε) down to far tails (≈1e-10): the grid-free
    # path is an upper bound within 1e-9 relative plus its 1e-12·(P + e^ε Q) rounding
    # allowance; the connect-the-dots grid PLD (ε off the grid, step ε/(200π)) an upper bound
    # within 1 %
    oracle = _mp_sgm_delta(sigma, q, eps, direction)
    assert oracle > 0
    pair = pld.SampledGaussianPair(sigma, q, direction)
    exact = pld.delta_bound([(pair, 1)], eps)
    assert oracle <= exact <= oracle * (1 + 1e-9) + 2e-12
    grid = float(pair.discretize(eps / (200 * math.pi), tail=1e-14).delta(eps))
    assert oracle <= grid <= oracle * 1.01


def test_mpmath_oracle_reaches_the_far_tail():
    assert 1e-11 < _mp_sgm_delta(0.5, 0.2, 12.15, pld.REMOVE) < 1e-9


def test_sampled_gaussian_delta_single_step_above_both_oracles():
    # add/remove: δ(ε) of the relation is the larger of the two directions' curves
    s, q, e = 1.0, 0.01, 0.1
    both = pld.sampled_gaussian_delta(s, q, 1, e)
    assert both >= max(_mp_sgm_delta(s, q, e, pld.REMOVE), _mp_sgm_delta(s, q, e, pld.ADD))


@pytest.mark.parametrize("tilt", [0.0, 3.0])
def test_fft_rounding_bound_covers_the_actual_error(tilt):
    # the per-entry rounding allowance (now computed from the spectrum, far below the
    # a-priori (K+1)(8 log2 n + 4)u) must still put every composed mass above the exact one
    rng = np.random.default_rng(7)
    m = rng.random(40) ** 4
    m /= m.sum()
    a = pld.PrivacyLossDistribution(0.05, -10, m, 0.0)
    count = 25
    exact = a.masses
    for _ in range(count - 1):
        exact = np.convolve(exact, a.masses)
    got = a.self_compose(count, tilt=tilt)
    lo = count * a.lower
    ref = np.zeros(got.masses.size)
    off = got.lower - lo
    ref[:] = exact[off:off + got.masses.size]
    assert got.masses.size == exact.size - off
    assert np.all(got.masses >= ref * (1 - 1e-12))
    # and the allowance is small: δ is still exact to ~1e-9 where the tilt aims (a tilt
    # trades accuracy at low losses, lumped pessimistically, for accuracy in the tail)
    ref_pld = pld.PrivacyLossDistribution(0.05, lo, exact, 0.0)
    for e in ((0.0, 0.5, 1.5) if tilt == 0 else (20.0, 25.0, 30.0)):
        assert ref_pld.delta(e) <= got.delta(e) <= ref_pld.delta(e) * (1 + 1e-9) + 1e-13


# ------------------------------------------------------------------ robustness (round 2)
def test_discrete_atom_a_hair_above_the_grid_is_not_snapped_down():
    # an atom 1e-10 (relative) above grid point 3·Δ: snapping it onto 3·Δ would move its mass
    # down and put δ below the truth just under the atom; it must be split (or moved up)
    pair = pld.from_pmfs([0.6, 0.4], [0.3, 0.7])
    loss = float(pair.losses[0])
    step = loss / 3.0 / (1.0 + 1e-10)
    assert loss / step > 3.0
    p = pair.discretize(step)
    eps = np.array([3.0 * step + 0.5 * (loss - 3.0 * step)])
    assert p.delta(eps)[0] >= pair.hockey_stick(eps)[0] > 0.0
    # an atom a hair *below* a grid point may sit on it (moved up): still above the truth
    step2 = loss / 3.0 * (1.0 + 1e-12)
    p2 = pair.discretize(step2)
    grid = (p2.lower + np.arange(p2.masses.size)) * step2
    assert np.all(p2.delta(grid - 1e-13) >= pair.hockey_stick(grid - 1e-13) - 1e-16)


@pytest.mark.parametrize("pair,count", [(pld.GaussianPair(1.0), 10),
                                        (pld.SampledGaussianPair(1.0, 0.01), 1000),
                                        (pld.LaplacePair(1.0), 10)])
def test_delta_at_epsilon_zero_and_tiny(pair, count):
    # a small ε must not plan a vanishing step (was a ~1e9-point grid / MemoryError)
    d0 = pld.delta_bound([(pair, count)], 0.0)
    d1 = pld.delta_bound([(pair, count)], 1e-4)
    assert 0.0 < d1 <= d0 <= 1.0
    if isinstance(pair, pld.GaussianPair):  # exact: T Gaussians = one of σ/√T
        exact = float(pld.GaussianPair(1.0 / math.sqrt(count)).hockey_stick(0.0)[0])
        assert exact <= d0 <= exact * 1.005


def test_delta_far_beyond_the_top_loss_is_a_valid_tiny_bound():
    g = pld.GaussianPair(1.0)
    for parts in ([(g, 1)], [(g, 2)], [(pld.SampledGaussianPair(1.0, 0.01), 10)]):
        for eps in (100.0, 1e4):
            d = pld.delta_bound(parts, eps)
            assert 0.0 <= d <= 1e-250 and not math.isnan(d)
    # above the top atom of a discrete composition δ is exactly 0 (no mass at +∞)
    assert pld.delta_bound([(pld.randomized_response_pair(1.0), 5)], 100.0) == 0.0
    # a far-tail bound is above the exact tiny value (two Gaussians = one of σ/√2)
    exact = float(pld.GaussianPair(1.0 / math.sqrt(2)).hockey_stick(20.0)[0])
    assert exact <= pld.delta_bound([(g, 2)], 20.0)
    assert pld.sampled_gaussian_delta(1.0, 0.5, 3, 100.0) < 1e-250


def test_all_mass_at_infinity():
    inf_pair = pld.from_pmfs([1.0, 0.0], [0.0, 1.0])
    assert inf_pair.infinity_mass == 1.0
    for count in (1, 3):
        assert pld.delta_bound([(inf_pair, count)], 1.0) == 1.0
        assert pld.delta_bound([(inf_pair, count)], 0.0) == 1.0
        assert pld.epsilon_bound([(inf_pair, count)], 1e-5) == math.inf
    mixed = [(inf_pair, 1), (pld.GaussianPair(1.0), 3)]
    assert pld.delta_bound(mixed, 5.0) == 1.0
    assert pld.epsilon_bound(mixed, 0.5) == math.inf


def test_single_step_losses_beyond_exp_overflow():
    # σ = 0.02, q = 0.5: losses reach ~1250 > 709 (e^ε overflows); the threshold z(ε) must stay
    # finite there (it was +∞, which put P(L > ε) at 0: δ far below the truth)
    s, q = 0.02, 0.5
    z = s * s * (1000.0 - math.log(q)) + 0.5  # L_remove(z) = 1000 (e^{−1000} terms vanish)
    from scipy.special import ndtr
    p_tail = (1 - q) * ndtr(-z / s) + q * ndtr((1 - z) / s)
    assert p_tail > 0.49
    assert pld.sampled_gaussian_delta(s, q, 1, 1000.0) >= p_tail * (1 - 1e-9)
    assert pld.sampled_gaussian_epsilon(s, q, 1, 1e-5) > 1000.0


def test_single_atom_pair_plans_a_finite_grid():
    # one finite atom (loss −log 0.9): the discrete variance is only the split's (∝ step²);
    # the step must not shrink without end ("max_points is too small" before)
    pair = pld.from_pmfs([1.0, 0.0], [0.9, 0.1])
    top = -3 * math.log(0.9)
    assert pld.epsilon_bound([(pair, 3)], 0.5) == 0.0
    exact = top + math.log(0.9)  # 1 − e^{ε − top} = 0.1
    got = pld.epsilon_bound([(pair, 3)], 0.1)
    assert exact <= got <= top * (1 + 1e-9)  # valid (a point mass: tightness not asserted)
    assert pld.delta_bound([(pair, 3)], exact) >= 0.1 * (1 - 1e-12)


def test_delta_within_rounding_of_one_is_never_understated() -> None:
    """δ = 1 − 1e-16 is below the float rounding of a composed grid (~count · 1e-16): the
    engine reads ε at δ = 1 − 1e-6 instead (ε(δ) is non-increasing: still an upper bound).
    Truth (Balle & Wang 2018): Φ(μ/2 − ε/μ) = 1 − 1e-16 at μ = √2081, ε ≈ 666."""
    from scipy.stats import norm

    mu = math.sqrt(2081.0)
    truth = mu * (mu / 2 + norm.ppf(1e-16))
    got = pld.epsilon_bound([(pld.GaussianPair(1.0), 2081)], 1 - 1e-16)
    assert got >= truth and got < 1.5 * truth
