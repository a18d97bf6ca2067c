"""The shared JAX randomness layer (dpkit/_jax_random.py): extremes, laws, tiny probabilities.

Every check runs with JAX's x64 off (float32) and on (float64, via the ``jax.enable_x64``
context). Statistical tests use fixed seeds and a false-alarm level of 1e-6 each; there are
11 per mode, so the file's false-alarm rate is below 3e-5 (a fixed seed makes it a constant
outcome; the level says how unlucky a seed would have to be).
"""

from __future__ import annotations

import contextlib
import math
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats

jax = pytest.importorskip("jax")
jnp = jax.numpy

from dpkit import _jax_random as R  # noqa: E402
from dpkit.errors import DPKitError  # noqa: E402

TOP = 2**32 - 1
ALPHA = 1e-6
N = 100_000
MODES = ["x64-off", "x64-on"]


def _mode(mode: str) -> contextlib.AbstractContextManager:
    return jax.enable_x64(True) if mode == "x64-on" else contextlib.nullcontext()


def _u32(*xs: int) -> jax.Array:
    return jnp.asarray(np.array(xs, dtype=np.uint32))


def _rel(mode: str) -> float:
    return 1e-6 if mode == "x64-off" else 1e-13


@pytest.mark.parametrize("mode", MODES)
def test_extreme_bit_patterns_give_the_stated_extremes(mode: str) -> None:
    """Words (0, 0) are the smallest cell u = 2^−65: log u = −45.05, the Laplace reaches
    ±45.05 and the normal 9.49 — far beyond float32 jax.random's 16.6 and 5.42."""
    with _mode(mode):
        dt = R.resolve_dtype()
        assert dt == (jnp.float64 if mode == "x64-on" else jnp.float32)
        rel = _rel(mode)
        lu = np.asarray(R.log_uniform_from_bits(_u32(0, TOP), _u32(0, TOP)), dtype=float)
        assert lu[0] == pytest.approx(-65 * math.log(2), rel=rel)
        assert R.LOG_U_MIN == pytest.approx(-45.0546, abs=1e-4)
        assert -1e-6 < lu[1] < 0  # u = 1 − 2^−65 rounds to 1: still strictly negative
        lap = np.asarray(R.laplace_from_bits(jnp.stack([_u32(0, TOP), _u32(0, TOP),
                                                        _u32(TOP, 0), _u32(TOP, 0)])))
        np.testing.assert_allclose(lap, [R.LAPLACE_MAX, -R.LAPLACE_MAX], rtol=rel)
        z = np.asarray(R.normal_from_bits(jnp.stack([_u32(0, 0), _u32(0, 0),
                                                     _u32(0, 2**30)])))
        assert R.NORMAL_MAX == pytest.approx(math.sqrt(130 * math.log(2)), rel=1e-15)
        assert R.NORMAL_MAX == pytest.approx(9.4926, abs=1e-4)
        assert z[0, 0] == pytest.approx(R.NORMAL_MAX, rel=rel)  # θ ≈ 0: all on the cosine
        assert z[1, 1] == pytest.approx(R.NORMAL_MAX, rel=10 * rel)  # θ ≈ π/2: the sine
        u = np.asarray(R.uniform_open_from_bits(_u32(0, 0, TOP, 2**31), _u32(0, 1, TOP, 0)))
        assert u[0] == 2.0**-65 and u[1] == 3 * 2.0**-65  # cell midpoints, exact near 0
        assert 0 < u[2] < 1 and u[2] == np.nextafter(u.dtype.type(1), u.dtype.type(0))
        assert u[3] == pytest.approx(0.5 + 2.0**-65, rel=rel)


@pytest.mark.parametrize("mode", MODES)
def test_laws_ks(mode: str) -> None:
    """KS against U(0, 1), Exp(1), Laplace(0, 1), N(0, 1) (level 1e-6 each), plus the deep
    tail: given h = 0 (U < 2^−32), −log U − 32 ln 2 is again Exp(1) — the law is exact far
    below float32's 2^−24 grid."""
    with _mode(mode):
        k = jax.random.split(jax.random.key(20240611), 6)
        checks = {
            "uniform": (R.uniform_open(k[0], (N,)), stats.uniform.cdf),
            "exp": (-R.log_uniform(k[1], (N,)), stats.expon.cdf),
            "laplace": (R.laplace(k[2], (N,)), stats.laplace.cdf),
            "normal": (R.normal(k[3], (N,)), stats.norm.cdf),
            "normal-odd-2d": (R.normal(k[4], (7, 5001)), stats.norm.cdf),
        }
        lo = jax.random.bits(k[5], (N,), jnp.uint32)
        tail = -R.log_uniform_from_bits(jnp.zeros_like(lo), lo) - 32 * math.log(2)
        checks["tail-exp"] = (tail, stats.expon.cdf)
        for name, (x, cdf) in checks.items():
            a = np.asarray(x, dtype=np.float64).reshape(-1)
            assert np.asarray(x).dtype == R.resolve_dtype(), name
            assert np.isfinite(a).all(), name
            assert stats.kstest(a, cdf).pvalue > ALPHA, name


@pytest.mark.parametrize("mode", MODES)
def test_normal_pairs_are_uncorrelated_and_jit_matches_eager(mode: str) -> None:
    """Both Box–Muller components are used: cos and sin halves uncorrelated (|r|·√m < 4.9,
    level 1e-6), and of equal variance (F-test, 1e-6); jit gives the eager bits."""
    with _mode(mode):
        key = jax.random.key(7)
        z = np.asarray(R.normal(key, (2 * N,)), dtype=float)
        c, s = z[:N], z[N:]
        assert abs(np.corrcoef(c, s)[0, 1]) * math.sqrt(N) < 4.9
        f = stats.f.cdf(c.var() / s.var(), N - 1, N - 1)
        assert 2 * min(f, 1 - f) > ALPHA
        jitted = np.asarray(jax.jit(lambda kk: R.normal(kk, (2 * N,)))(key), dtype=float)
        np.testing.assert_allclose(jitted, z, rtol=1e-5 if mode == "x64-off" else 1e-12)


def _cells_below(p: Fraction) -> int:
    """#cells (h, l) with midpoint u = h·2^−32 + (l + ½)·2^−64 < p, for p < 2^−32 (h = 0)."""
    assert p < Fraction(1, 2**32)
    x = p * 2**64 - Fraction(1, 2)  # l < x
    return math.ceil(x) if x > 0 else 0


@pytest.mark.parametrize("mode", MODES)
def test_bernoulli_tiny_and_near_one_probabilities_are_exact(mode: str) -> None:
    """p = 1e-12: True exactly on the cells with u < p, i.e. h = 0 and l < n₁ with
    n₁ = ⌈1e-12·2^64 − ½⌉ (computed in exact rationals), so P(True) = n₁·2^−64 = p to within
    one cell (2^−64) in float64 and to float32's relative rounding of log p in float32.
    p = 1 − 1e-12 (given as log p = log1p(−1e-12), or as log1m_p = log 1e-12): False exactly on
    those cells for 1 − p."""
    with _mode(mode):
        x64 = mode == "x64-on"
        p_small = 1e-12
        n1 = _cells_below(Fraction(p_small))
        assert abs(Fraction(n1, 2**64) - Fraction(p_small)) <= Fraction(1, 2**64)
        # the flip point: scan l around n1 with h = 0
        span = 4 if x64 else 256  # float32 rounds log p (rel. 6e-8 of 27.6 → l off by ~40)
        ls = np.arange(n1 - span, n1 + span, dtype=np.uint32)
        hs = np.zeros_like(ls)
        # (log p, log(1 − p) or None, True on the rare cells?); the third case gives a
        # deliberately coarse log p = log 0.99 with log1m_p = log 1e-12: on the p > ½ side the
        # decision must follow log1m_p alone
        for lp, l1m, want_true_below in ((math.log(p_small), None, True),
                                         (math.log1p(-p_small), None, False),
                                         (math.log(0.99), math.log(p_small), False)):
            out = np.asarray(R.bernoulli_from_bits(jnp.asarray(hs), jnp.asarray(ls), log_p=lp,
                                                   log1m_p=l1m))
            below = out == want_true_below  # the cells on the rare side
            assert below[0] and not below[-1]
            assert np.all(np.diff(below.astype(int)) <= 0)  # one flip, monotone in l
            flip = int(ls[np.argmin(below)])  # first cell off the rare side = count of cells
            rate = Fraction(flip, 2**64)
            if x64:
                assert flip == n1
                assert abs(rate - Fraction(p_small)) <= Fraction(1, 2**64)
            else:
                assert abs(float(rate) / p_small - 1) < 1e-5
            # every cell with h ≥ 1 is on the common side
            far = np.asarray(R.bernoulli_from_bits(_u32(1, 2**31, TOP), _u32(0, 0, TOP),
                                                   log_p=lp, log1m_p=l1m))
            assert np.all(far == (not want_true_below))


@pytest.mark.parametrize("mode", MODES)
def test_bernoulli_rates_edges_and_validation(mode: str) -> None:
    """Rates at p ∈ {0.3, 0.7} (two-sided binomial test, level 1e-6 each); p = 0 never, p = 1
    always, NaN never; p or log_p broadcast to the shape; exactly one of them is required."""
    with _mode(mode):
        k1, k2 = jax.random.split(jax.random.key(3))
        p = jnp.asarray([0.3, 0.7])
        draws = np.asarray(R.bernoulli(k1, p, (N, 2)))
        for j, pj in enumerate((0.3, 0.7)):
            assert stats.binomtest(int(draws[:, j].sum()), N, pj).pvalue > ALPHA
        edge = np.asarray(R.bernoulli(k2, shape=(1000, 3),
                                      log_p=jnp.asarray([-jnp.inf, 0.0, jnp.nan])))
        assert not edge[:, 0].any() and edge[:, 1].all() and not edge[:, 2].any()
        assert R.bernoulli(k2, 0.5).shape == ()
        # p > ½ side decided by log1m_p alone (−∞: always true), shape from the arguments
        sure = R.bernoulli(k2, log_p=jnp.full(4, -0.1), log1m_p=jnp.full((1000, 4), -jnp.inf))
        assert sure.shape == (1000, 4) and bool(sure.all())
        with pytest.raises(DPKitError, match="exactly one"):
            R.bernoulli(k2, 0.5, (3,), log_p=-1.0)


def test_dtype_resolution_with_x64_toggled_and_keys() -> None:
    """float64 requested with x64 off is computed in float32 (JAX canonicalisation) with the
    same 2^−65 extreme; with ``jax.enable_x64`` it is float64. float16 is refused (cannot hold
    2^−65); int seeds become keys, other objects are refused."""
    assert R.resolve_dtype(jnp.float64) == jnp.float32
    assert np.asarray(R.uniform_open_from_bits(_u32(0), _u32(0), jnp.float64))[0] == 2.0**-65
    with jax.enable_x64(True):
        assert R.resolve_dtype(jnp.float64) == jnp.float64
        assert R.resolve_dtype(jnp.float32) == jnp.float32
        x = R.laplace(jax.random.key(0), (3,), jnp.float64)
        assert x.dtype == jnp.float64
        assert R.laplace(jax.random.key(0), (3,), jnp.float32).dtype == jnp.float32
    with pytest.raises(DPKitError, match="float32 or float64"):
        R.resolve_dtype(jnp.float16)
    assert jnp.issubdtype(R.as_key(5).dtype, jax.dtypes.prng_key)
    with pytest.raises(DPKitError, match="PRNG key"):
        R.as_key("seed")
