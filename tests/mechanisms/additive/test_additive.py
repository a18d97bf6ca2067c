"""Tests of dpkit.mechanisms.additive: exact laws, oracle vs fast path, privacy statements.

Statistical tests use fixed seeds, so each is deterministic; the threshold p > 1e-6 means that
a correct sampler would fail for about one seed in a million (false-alarm rate 1e-6 per test).
The tests on the SecureGenerator cannot be seeded: each may fail spuriously with
probability 1e-6 per run.
"""

from __future__ import annotations

import doctest
import math
from collections import defaultdict
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import mpmath
import numpy as np
import pytest
from scipy import integrate, special, stats

from dpkit.errors import DPKitError
from dpkit.mechanisms import additive as A
from dpkit.mechanisms.additive import (
    DiscreteGaussianParams,
    DiscreteLaplaceParams,
    GaussianParams,
    LaplaceParams,
    discrete_gaussian_mechanism,
    discrete_laplace_mechanism,
    gaussian_mechanism,
    laplace_mechanism,
    sample_bernoulli_exp,
    sample_discrete_gaussian,
    sample_discrete_laplace,
)
from dpkit.random import SecureGenerator, secure_generator

P_MIN = 1e-6  # false-alarm rate of every goodness-of-fit test below (per seed)


# ====================================================================== closed-form laws
def dlap_pmf(scale: float, y: np.ndarray) -> np.ndarray:
    """P[Y=y] = (1 − e^{−1/b}) / (1 + e^{−1/b}) · e^{−|y|/b}."""
    q = math.exp(-1.0 / scale)
    return (1.0 - q) / (1.0 + q) * np.exp(-np.abs(y) / scale)


def dgauss_pmf(sigma2: float, y: np.ndarray) -> np.ndarray:
    """P[Y=y] = exp(−y²/2σ²) / Σ_k exp(−k²/2σ²), normaliser summed over |k| ≤ 40σ + 40."""
    k_max = int(40 * math.sqrt(sigma2) + 40)
    k = np.arange(-k_max, k_max + 1, dtype=float)
    z = np.exp(-(k * k) / (2.0 * sigma2)).sum()
    y = np.asarray(y, dtype=float)
    return np.exp(-(y * y) / (2.0 * sigma2)) / z


def gof_pvalue(samples: np.ndarray, pmf: Callable[[np.ndarray], np.ndarray]) -> float:
    """Chi-square goodness of fit; tails merged into the first/last bin with expected ≥ 5."""
    n = samples.size
    k_max = int(np.abs(samples).max()) + 10
    support = np.arange(-k_max - 1000, k_max + 1001)
    p = pmf(support)
    central = support[n * p >= 5]
    lo, hi = int(central[0]), int(central[-1])
    inner = np.arange(lo + 1, hi)
    expected = np.concatenate([[p[support <= lo].sum()], pmf(inner), [p[support >= hi].sum()]])
    observed = np.concatenate([
        [np.sum(samples <= lo)],
        np.bincount(samples[(samples > lo) & (samples < hi)] - (lo + 1), minlength=inner.size),
        [np.sum(samples >= hi)],
    ])
    expected = expected / expected.sum() * n
    return float(stats.chisquare(observed, expected).pvalue)


def two_sample_pvalue(a: np.ndarray, b: np.ndarray) -> float:
    """Chi-square test of equal laws for two integer samples (bins with pooled count ≥ 20)."""
    pooled = np.concatenate([a, b])
    values, counts = np.unique(pooled, return_counts=True)
    central = values[counts >= 20]
    lo, hi = int(central[0]), int(central[-1])
    edges = np.concatenate([[-np.inf], np.arange(lo, hi) + 0.5, [np.inf]])
    table = np.vstack([np.histogram(a, edges)[0], np.histogram(b, edges)[0]])
    table = table[:, table.sum(axis=0) > 0]
    return float(stats.chi2_contingency(table, correction=False).pvalue)


# ============================================== exact Bernoulli(exp(-γ)) by enumeration
class _NeedDraw(Exception):
    def __init__(self, m: int) -> None:
        self.m = m


class ScriptedGenerator(SecureGenerator):
    """A deterministic stand-in for the generator: replays a fixed list of integer draws and
    raises _NeedDraw(m) when the sampler asks for one more uniform draw from {0, …, m−1}."""

    def __init__(self, script: tuple[int, ...]) -> None:
        self.script = script
        self.pos = 0

    def integers(self, low: int, high: int | None = None, size: Any = None,
                 endpoint: bool = False) -> Any:
        assert size is None and not endpoint and high is not None and low == 0
        if self.pos == len(self.script):
            raise _NeedDraw(int(high))
        v = self.script[self.pos]
        self.pos += 1
        return v


def enumerate_law(fn: Callable[[Any], Any], prune: Fraction) -> tuple[dict, Fraction]:
    """The exact law of fn(rng) by exhaustive enumeration of every draw sequence.

    Each draw from {0, …, m−1} branches into its m values with probability 1/m each. Branches
    whose probability falls below ``prune`` are not expanded; their total mass is returned.
    """
    law: dict = defaultdict(Fraction)
    unresolved = Fraction(0)
    stack: list[tuple[tuple[int, ...], Fraction]] = [((), Fraction(1))]
    while stack:
        script, p = stack.pop()
        try:
            out = fn(ScriptedGenerator(script))
        except _NeedDraw as need:
            child = p / need.m
            if child < prune:
                unresolved += p
            else:
                stack.extend((script + (v,), child) for v in range(need.m))
            continue
        law[out] += p
    return law, unresolved


@pytest.mark.parametrize(
    "gamma, prune",
    [(Fraction(0), Fraction(1, 10**12)), (Fraction(1, 3), Fraction(1, 10**12)),
     (Fraction(1, 2), Fraction(1, 10**12)), (Fraction(2, 3), Fraction(1, 10**10)),
     (Fraction(1), Fraction(1, 10**12)),
     (Fraction(4, 3), Fraction(1, 10**12)), (Fraction(7, 3), Fraction(1, 10**12)),
     (Fraction(5, 2), Fraction(1, 10**12))],
)
def test_bernoulli_exp_exact_law_by_enumeration(gamma: Fraction, prune: Fraction) -> None:
    # Every path through the sampler is enumerated with exact rational probabilities: the
    # resolved probability of True must bracket e^{-γ} (computed to 50 digits) from below,
    # within the unresolved mass. No randomness, no false alarms.
    law, unresolved = enumerate_law(
        lambda g: sample_bernoulli_exp(gamma, None, g, method="exact"), prune)
    assert set(law) <= {True, False}
    mpmath.mp.dps = 50
    target = mpmath.exp(-mpmath.mpf(gamma.numerator) / gamma.denominator)
    p_true = mpmath.mpf(law[True].numerator) / law[True].denominator
    slack = mpmath.mpf(unresolved.numerator) / unresolved.denominator
    assert p_true <= target <= p_true + slack
    assert slack < 1e-6
    assert law[True] + law[False] + unresolved == 1


def test_bernoulli_exp_fast_and_bigint_paths() -> None:
    # Binomial tests (two-sided p > 1e-6) of the vectorized path, of its split draw for
    # den·K > 2**62, and of the exact path's multi-word draw for denominators beyond 2**62.
    cases = [
        (Fraction(1, 2), 400_000, "fast"),
        (Fraction(17, 5), 400_000, "fast"),
        (Fraction(2**61 - 1, 2**62 - 1), 400_000, "fast"),  # den·k > 2**62 from k = 2 on
        (Fraction(2**70, 3 * 2**70 + 1), 20_000, "exact"),  # draws beyond 2**62: 32-bit words
    ]
    for seed, (gamma, n, method) in enumerate(cases):
        draws = sample_bernoulli_exp(gamma, n, seed, method=method)
        assert draws.dtype == bool and draws.shape == (n,)
        p = math.exp(-float(gamma))
        assert stats.binomtest(int(draws.sum()), n, p).pvalue > P_MIN, (gamma, method)


# ====================================================================== exact laws (G-test)
@pytest.mark.parametrize("scale", [1, Fraction(3, 2), 0.5, 7])
def test_discrete_laplace_exact_matches_pmf(scale: Any) -> None:
    y = sample_discrete_laplace(scale, 20_000, 11, method="exact")
    assert gof_pvalue(y, lambda k: dlap_pmf(float(Fraction(scale)), k)) > P_MIN


@pytest.mark.parametrize("sigma", [1, Fraction(3, 2), 0.5, 6])
def test_discrete_gaussian_exact_matches_pmf(sigma: Any) -> None:
    y = sample_discrete_gaussian(sigma, 20_000, 12, method="exact")
    s2 = float(Fraction(sigma) ** 2)
    assert gof_pvalue(y, lambda k: dgauss_pmf(s2, k)) > P_MIN


@pytest.mark.parametrize("scale", [1, 3, 0.5, Fraction(10, 3), 250])
def test_discrete_laplace_fast_matches_pmf(scale: Any) -> None:
    y = sample_discrete_laplace(scale, 1_000_000, 13, method="fast")
    assert y.dtype == np.int64
    assert gof_pvalue(y, lambda k: dlap_pmf(float(Fraction(scale)), k)) > P_MIN


@pytest.mark.parametrize("sigma", [1, 2, 0.5, Fraction(7, 3), 10, 150])
def test_discrete_gaussian_fast_matches_pmf(sigma: Any) -> None:
    y = sample_discrete_gaussian(sigma, 1_000_000, 14, method="fast")
    s2 = float(Fraction(sigma) ** 2)
    assert gof_pvalue(y, lambda k: dgauss_pmf(s2, k)) > P_MIN


def test_discrete_gaussian_large_sigma() -> None:
    # σ = 16000 is near the fast path's limit: proposals with |Y| > 8.4σ are finished by the
    # exact path (about 1 in 5000 proposals). Checks: mean 0 and variance σ² (up to
    # e^{-2π²σ²}) by z-tests at 5.3 standard errors (p ≈ 1e-7 each), and no draw beyond 7σ
    # (P[|Y| > 7σ] ≈ 2.6e-12, so with 4·10^5 draws a false alarm has probability ≈ 1e-6;
    # accepting the far-tail proposals wrongly would put about 80 draws there).
    sigma, n = 16_000, 400_000
    y = sample_discrete_gaussian(sigma, n, 15, method="fast").astype(float)
    assert abs(y.mean()) < 5.3 * sigma / math.sqrt(n)
    assert abs(y.var() / sigma**2 - 1.0) < 5.3 * math.sqrt(2.0 / n)
    assert np.abs(y).max() < 7 * sigma


def test_exact_path_for_huge_denominators() -> None:
    # σ = 1 + 1e-20 has σ² with a 134-bit denominator: only the exact path applies (auto picks
    # it; "fast" is refused). Its law is N_Z(0, σ²), indistinguishable here from σ = 1.
    sigma = Fraction(10**20 + 1, 10**20)
    y = sample_discrete_gaussian(sigma, 5_000, 16)
    assert gof_pvalue(y, lambda k: dgauss_pmf(1.0, k)) > P_MIN
    with pytest.raises(DPKitError, match="method='fast'"):
        sample_discrete_gaussian(sigma, 10, 0, method="fast")
    with pytest.raises(DPKitError, match="method='fast'"):
        sample_discrete_laplace(Fraction(2**50 + 1, 2**11), 10, 0, method="fast")
    z = sample_discrete_laplace(Fraction(10**30 + 1, 10**30), 5_000, 17)  # ≈ scale 1
    assert gof_pvalue(z, lambda k: dlap_pmf(1.0, k)) > P_MIN


# ====================================================================== oracle vs fast path
@pytest.mark.parametrize("scale", [1, Fraction(5, 2)])
def test_discrete_laplace_fast_equals_oracle_in_law(scale: Any) -> None:
    exact = sample_discrete_laplace(scale, 20_000, 21, method="exact")
    fast = sample_discrete_laplace(scale, 200_000, 22, method="fast")
    assert two_sample_pvalue(exact, fast) > P_MIN


@pytest.mark.parametrize("sigma", [Fraction(4, 3), 5])
def test_discrete_gaussian_fast_equals_oracle_in_law(sigma: Any) -> None:
    exact = sample_discrete_gaussian(sigma, 20_000, 23, method="exact")
    fast = sample_discrete_gaussian(sigma, 200_000, 24, method="fast")
    assert two_sample_pvalue(exact, fast) > P_MIN


def test_auto_uses_the_fast_path_when_parameters_fit() -> None:
    # Same seed, same stream: "auto" reproduces "fast" bit for bit when the parameters fit.
    assert np.array_equal(sample_discrete_gaussian(3, 1000, 5),
                          sample_discrete_gaussian(3, 1000, 5, method="fast"))
    assert np.array_equal(sample_discrete_laplace(0.25, 1000, 5),
                          sample_discrete_laplace(0.25, 1000, 5, method="fast"))


# ====================================================================== continuous mechanisms
def test_gaussian_mechanism_law() -> None:
    # KS test against N(x, (σΔ)²), p > 1e-6.
    p = GaussianParams(1.5, sensitivity=2.0)
    x = np.full(200_000, 3.0)
    y = gaussian_mechanism(p, x, 31)
    assert y.shape == x.shape and y.dtype == np.float64
    assert stats.kstest(y, "norm", args=(3.0, 3.0)).pvalue > P_MIN
    z = gaussian_mechanism(p, [[0.0, 1.0], [2.0, 3.0]], 32)
    assert z.shape == (2, 2)


def test_laplace_mechanism_law() -> None:
    # KS test against Lap(x, bΔ), p > 1e-6.
    p = LaplaceParams.from_epsilon(0.5, sensitivity=2.0)
    assert p.scale == 4.0
    y = laplace_mechanism(p, np.full(200_000, -1.0), 33)
    assert stats.kstest(y, "laplace", args=(-1.0, 4.0)).pvalue > P_MIN


def test_discrete_mechanisms_shift_by_x() -> None:
    x = np.array([[0, 5], [-7, 100]])
    for mech, params in ((discrete_laplace_mechanism, DiscreteLaplaceParams(2)),
                         (discrete_gaussian_mechanism, DiscreteGaussianParams(2))):
        y = mech(params, np.broadcast_to(x, (50_000, 2, 2)), 34)
        assert y.dtype == np.int64 and y.shape == (50_000, 2, 2)
        noise = y - x
        # the noise is centred: |mean| < 5.3 standard errors (var ≤ 8 for both laws here)
        assert np.all(np.abs(noise.mean(axis=0)) < 5.3 * math.sqrt(8.0 / 50_000))
    assert discrete_laplace_mechanism(DiscreteLaplaceParams(1), 4.0, 0).shape == ()
    assert discrete_gaussian_mechanism(DiscreteGaussianParams(1), [True, False], 0).shape == (2,)


# ====================================================================== privacy statements
ORDERS = np.array([1.5, 2.0, 3.0, 5.0, 10.0, 32.0])


def renyi_continuous(logpdf_p: Callable, logpdf_q: Callable, alpha: float,
                     lo: float, hi: float, points: list[float]) -> float:
    """D_α(P‖Q) = log ∫ p^α q^{1−α} / (α − 1), by adaptive quadrature."""
    def f(y: float) -> float:
        return math.exp(alpha * logpdf_p(y) + (1.0 - alpha) * logpdf_q(y))
    val, _ = integrate.quad(f, lo, hi, points=points, limit=400, epsabs=0, epsrel=1e-11)
    return math.log(val) / (alpha - 1.0)


@pytest.mark.parametrize("sigma, delta_", [(1.0, 1.0), (2.5, 0.3)])
def test_gaussian_event_matches_renyi_divergence(sigma: float, delta_: float) -> None:
    p = GaussianParams(sigma, sensitivity=delta_)
    ev = p.privacy_event()
    np.testing.assert_allclose(ev.rdp(ORDERS), ORDERS / (2 * sigma**2), rtol=1e-12)
    sd = p.std
    for a in (1.5, 2.0, 5.0):
        d = renyi_continuous(lambda y: stats.norm.logpdf(y, 0, sd),
                             lambda y: stats.norm.logpdf(y, delta_, sd), a,
                             -40 * sd * a, 40 * sd * a, [0.0, delta_])
        assert d == pytest.approx(a / (2 * sigma**2), rel=1e-7)


@pytest.mark.parametrize("b, delta_", [(1.0, 1.0), (0.7, 2.0)])
def test_laplace_event_matches_renyi_divergence(b: float, delta_: float) -> None:
    p = LaplaceParams(b, sensitivity=delta_)
    ev = p.privacy_event()
    assert ev.epsilon_inf() == pytest.approx(1.0 / b, rel=1e-12)
    scale = p.scale
    for a in (1.5, 2.0, 5.0, 10.0):
        d = renyi_continuous(lambda y: stats.laplace.logpdf(y, 0, scale),
                             lambda y: stats.laplace.logpdf(y, delta_, scale), a,
                             -200 * scale, 200 * scale, [0.0, delta_])
        assert float(ev.rdp(np.array([a]))[0]) == pytest.approx(d, rel=1e-7)


@pytest.mark.parametrize("scale, sens", [(2, 1), (Fraction(7, 3), 3), (0.5, 2)])
def test_discrete_laplace_event_is_tight_pure_dp(scale: Any, sens: int) -> None:
    p = DiscreteLaplaceParams(scale, sensitivity=sens)
    assert p.scale == Fraction(str(scale))  # a float is read as its decimal
    exact = Fraction(sens) / p.scale
    eps = p.privacy_event().epsilon_inf()
    assert Fraction(eps) >= exact and eps == pytest.approx(float(exact), rel=1e-15)
    # max over y of the log-ratio of the two output pmfs (shift by Δ) equals Δ/scale
    y = np.arange(-200, 201)
    b = float(p.scale)
    log_ratio = np.abs(y - sens) / b - np.abs(y) / b
    assert log_ratio.max() == pytest.approx(float(exact), rel=1e-12)


def discrete_gaussian_renyi(sigma2: float, shift: int, alpha: float) -> float:
    """D_α(N_Z(0,σ²) ‖ N_Z(shift,σ²)) by direct summation in log space over a wide range."""
    k_max = int(60 * math.sqrt(sigma2) + 60 + abs(shift) * alpha)
    y = np.arange(-k_max, k_max + 1, dtype=float)
    log_z = special.logsumexp(-(y * y) / (2 * sigma2))
    log_p = -(y * y) / (2 * sigma2) - log_z
    log_q = -((y - shift) ** 2) / (2 * sigma2) - log_z
    return float(special.logsumexp(alpha * log_p + (1 - alpha) * log_q) / (alpha - 1))


@pytest.mark.parametrize("sigma, sens", [(1, 1), (Fraction(3, 2), 2), (0.7, 1), (4, 3)])
def test_discrete_gaussian_rho_vs_renyi_divergence(sigma: Any, sens: int) -> None:
    # CKS 2020: D_α ≤ ρα with ρ = Δ²/(2σ²), with equality exactly when αΔ is an integer.
    p = DiscreteGaussianParams(sigma, sensitivity=sens)
    s2 = float(p.sigma_squared)
    rho = sens**2 / (2 * s2)
    assert p.rho == pytest.approx(rho, rel=1e-15) and Fraction(p.rho) >= \
        Fraction(sens**2) / (2 * p.sigma_squared)
    ev = p.privacy_event()
    for a in (1.25, 1.5, 2.0, 2.5, 3.0, 7.0):
        d = discrete_gaussian_renyi(s2, sens, a)
        claim = float(ev.rdp(np.array([a]))[0])
        assert d <= claim * (1 + 1e-12)
        if float(a * sens).is_integer():
            assert d == pytest.approx(claim, rel=1e-10)
    # at a non-integer αΔ the bound is strict when σ is small enough for the lattice to show
    if s2 < 1:
        assert discrete_gaussian_renyi(s2, sens, 1.25) < (1 - 1e-5) * rho * 1.25


def test_discrete_gaussian_vector_rho_adds_over_coordinates() -> None:
    # shift (3, 4) has L2 norm 5: the product law's divergence is the sum over coordinates,
    # which equals αΔ₂²/(2σ²) at integer α, the statement of DiscreteGaussianParams(σ, 5).
    sigma2 = 2.25
    p = DiscreteGaussianParams(Fraction(3, 2), sensitivity=5)
    for a in (2.0, 3.0, 1.5):
        d = discrete_gaussian_renyi(sigma2, 3, a) + discrete_gaussian_renyi(sigma2, 4, a)
        claim = float(p.privacy_event().rdp(np.array([a]))[0])
        assert d <= claim * (1 + 1e-12)
        if a.is_integer():
            assert d == pytest.approx(claim, rel=1e-10)


# ====================================================================== validation
@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf"), "1", None, True])
def test_continuous_params_reject_bad_noise(bad: Any) -> None:
    with pytest.raises(DPKitError, match="noise_multiplier"):
        GaussianParams(bad)
    with pytest.raises(DPKitError, match="noise_multiplier"):
        LaplaceParams(bad)
    with pytest.raises(DPKitError, match="sensitivity"):
        GaussianParams(1.0, sensitivity=bad)
    with pytest.raises(ValueError, match="epsilon"):
        LaplaceParams.from_epsilon(bad)


@pytest.mark.parametrize("bad", [0, -2, float("nan"), float("inf"), Fraction(-1, 2), "2",
                                 2**40 + 1])
def test_discrete_params_reject_bad_scale(bad: Any) -> None:
    with pytest.raises(DPKitError, match="sigma"):
        DiscreteGaussianParams(bad)
    with pytest.raises(DPKitError, match="scale"):
        DiscreteLaplaceParams(bad)
    with pytest.raises(DPKitError, match="sigma"):
        sample_discrete_gaussian(bad, 3, 0)


@pytest.mark.parametrize("bad", [1.5, 0, -1, float("nan"), "1", 2.000001])
def test_discrete_params_reject_non_integer_sensitivity(bad: Any) -> None:
    with pytest.raises(DPKitError, match="sensitivity"):
        DiscreteGaussianParams(2, sensitivity=bad)
    with pytest.raises(DPKitError, match="sensitivity"):
        DiscreteLaplaceParams(2, sensitivity=bad)


def test_params_are_frozen_and_exact() -> None:
    p = DiscreteGaussianParams(0.1, sensitivity=2.0)
    assert p.sigma == Fraction(1, 10) and p.sensitivity == 2  # 0.1 read as the decimal 1/10
    with pytest.raises(AttributeError):
        p.sigma = Fraction(1)  # type: ignore[misc]
    assert DiscreteLaplaceParams(Fraction(6, 4)).scale == Fraction(3, 2)
    assert GaussianParams(2).noise_multiplier == 2.0


def test_nan_in_x_names_the_position() -> None:
    x = np.array([0.0, 1.0, np.nan, 3.0, np.inf])
    for mech, params in ((gaussian_mechanism, GaussianParams(1.0)),
                         (laplace_mechanism, LaplaceParams(1.0)),
                         (discrete_gaussian_mechanism, DiscreteGaussianParams(1)),
                         (discrete_laplace_mechanism, DiscreteLaplaceParams(1))):
        with pytest.raises(DPKitError, match=r"x must be finite.*position\(s\) 2, 4"):
            mech(params, x, 0)


def test_scalar_nan_is_rejected_cleanly() -> None:
    for mech, params in ((gaussian_mechanism, GaussianParams(1.0)),
                         (laplace_mechanism, LaplaceParams(1.0)),
                         (discrete_laplace_mechanism, DiscreteLaplaceParams(1))):
        with pytest.raises(DPKitError, match=r"x must be finite.*position\(s\) 0"):
            mech(params, float("nan"), 0)


def test_discrete_mechanisms_reject_non_integers() -> None:
    with pytest.raises(DPKitError, match=r"integer-valued.*position\(s\) \(1, 0\)"):
        discrete_gaussian_mechanism(DiscreteGaussianParams(1), [[1.0, 2.0], [2.5, 3.0]], 0)
    with pytest.raises(DPKitError, match="2\\*\\*61"):
        discrete_laplace_mechanism(DiscreteLaplaceParams(1), np.array([2**62], np.int64), 0)
    with pytest.raises(DPKitError, match="2\\*\\*53"):
        discrete_laplace_mechanism(DiscreteLaplaceParams(1), [2.0**60], 0)
    with pytest.raises(DPKitError, match="params must be a DiscreteLaplaceParams"):
        discrete_laplace_mechanism(DiscreteGaussianParams(1), [1], 0)  # type: ignore[arg-type]


def test_bad_sampler_arguments() -> None:
    with pytest.raises(DPKitError, match="method"):
        sample_discrete_laplace(1, 3, 0, method="quick")  # type: ignore[arg-type]
    with pytest.raises(DPKitError, match="size"):
        sample_discrete_gaussian(1, -1, 0)
    with pytest.raises(DPKitError, match="rng"):
        sample_discrete_gaussian(1, 3, np.random.RandomState(0))  # type: ignore[arg-type]
    with pytest.raises(DPKitError, match="gamma"):
        sample_bernoulli_exp(-0.5, 3, 0)


# ====================================================================== randomness sources
def test_secure_generator_paths() -> None:
    # Unseeded: each test here may fail spuriously with probability ≤ 1e-6 per run.
    g = secure_generator()
    for method in ("fast", "exact"):
        n = 100_000 if method == "fast" else 3_000
        y = sample_discrete_gaussian(Fraction(5, 2), n, g, method=method)
        assert gof_pvalue(y, lambda k: dgauss_pmf(6.25, k)) > P_MIN
        z = sample_discrete_laplace(2, n, g, method=method)
        assert gof_pvalue(z, lambda k: dlap_pmf(2.0, k)) > P_MIN
    assert isinstance(sample_discrete_gaussian(3, None, g), int)
    assert gaussian_mechanism(GaussianParams(1.0), np.zeros(10), g).shape == (10,)
    assert laplace_mechanism(LaplaceParams(1.0), np.zeros(10), g).shape == (10,)
    assert discrete_gaussian_mechanism(DiscreteGaussianParams(2), np.zeros(10, int), g).shape \
        == (10,)


def test_determinism_with_int_seeds() -> None:
    calls = [
        lambda r: gaussian_mechanism(GaussianParams(1.0), np.zeros(50), r),
        lambda r: laplace_mechanism(LaplaceParams(1.0), np.zeros(50), r),
        lambda r: discrete_laplace_mechanism(DiscreteLaplaceParams(3), np.zeros(50, int), r),
        lambda r: discrete_gaussian_mechanism(DiscreteGaussianParams(3), np.zeros(50, int), r),
        lambda r: discrete_gaussian_mechanism(DiscreteGaussianParams(3), np.zeros(50, int), r,
                                              method="exact"),
        lambda r: sample_bernoulli_exp(Fraction(2, 3), 50, r),
    ]
    for call in calls:
        assert np.array_equal(call(7), call(7))
        assert np.array_equal(call(np.random.default_rng(7)), call(7))
        assert not np.array_equal(call(7), call(8))


def test_scalar_sizes() -> None:
    assert isinstance(sample_discrete_laplace(2, None, 0), int)
    assert isinstance(sample_bernoulli_exp(1, None, 0), bool)
    assert sample_discrete_gaussian(2, (2, 3), 0).shape == (2, 3)
    assert sample_discrete_gaussian(2, 0, 0).shape == (0,)


@pytest.mark.parametrize("module", ["params", "reference", "mechanism"])
def test_docstring_examples(module: str) -> None:
    import importlib

    mod = importlib.import_module(f"{A.__name__}.{module}")
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("mechanism, params", [
    (gaussian_mechanism, GaussianParams(1.0)),
    (laplace_mechanism, LaplaceParams(1.0)),
    (discrete_laplace_mechanism, DiscreteLaplaceParams(1)),
    (discrete_gaussian_mechanism, DiscreteGaussianParams(1)),
])
def test_ragged_input_is_refused_with_a_dpkit_error(mechanism: Any, params: Any) -> None:
    # regression (issue 15 contract): the continuous mechanisms raised numpy's ValueError
    with pytest.raises(DPKitError, match="x must be an array of"):
        mechanism(params, [[1, 2], [3]], rng=0)
