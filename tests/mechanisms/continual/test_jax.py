"""JAX (lax.scan / jnp.fft) kernels of the continual counters: same law as the reference.

R = 2000 independent runs at once (a d = R stream; coordinates are independent copies of the
scalar counter). Per kind and step: a χ² test of the error variance against the closed form
and a z-test of the mean, each at 1e-4; 5 kinds × 3 steps × 2 tests ⇒ false-alarm rate
≤ 3e-3 for the file (float32 unless JAX x64 is enabled; tolerance-free tests of the law).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from dpkit.mechanisms import continual as C

jax = pytest.importorskip("jax")

CASES = [("tree", {"noise_multiplier": 1.0}), ("honaker", {"noise_multiplier": 1.0}),
         ("sqrt", {"noise_multiplier": 0.7}), ("blt", {"noise_multiplier": 0.7}),
         ("tree", {"epsilon": 1.0})]


@pytest.mark.parametrize("kind, kw", CASES, ids=[f"{k}-{next(iter(w))}" for k, w in CASES])
def test_jax_law_matches_closed_form(kind: str, kw: dict) -> None:
    T, R = 96, 2000
    p = C.CounterParams(kind, T, dimension=R, bound=1e6, **kw)
    g = np.random.default_rng(0)
    xs = np.tile(g.uniform(-1, 1, (T, 1)), (1, R))
    y = np.asarray(C.run(p, xs, jax.random.key(11), backend="jax"), dtype=np.float64)
    err = y - np.cumsum(xs, axis=0)
    for t in (3, 64, 95):
        v = C.expected_variance(p, t)
        e = err[t - 1]
        assert abs(e.mean()) < 3.9 * math.sqrt(v / R)
        if p.noise == "gaussian":
            s = float(np.sum(e**2) / v)
            cdf = stats.chi2.cdf(s, R)
            assert 2 * min(cdf, 1 - cdf) > 1e-4, (t, e.var(), v)
        else:
            m4 = np.mean(e**4)
            assert abs((np.mean(e**2) - v) / math.sqrt((m4 - v * v) / R)) < 3.9


def test_jax_scalar_stream_shape_and_checks() -> None:
    p = C.CounterParams("honaker", 8, noise_multiplier=1.0)
    y = C.run(p, np.zeros(5), 3, backend="jax")
    assert y.shape == (5,)
    with pytest.raises(ValueError, match="horizon"):
        C.run(p, np.zeros(9), 3, backend="jax")


def test_jax_unit_noise_tails_are_not_truncated() -> None:
    """Review fix: float32 ``jax.random.normal`` is bounded by 5.42 and ``laplace`` by 16.6
    (bounded noise: an unaccounted δ). The kernel's unit draws are the shared 64-bit
    primitives of :mod:`dpkit._jax_random` (same values for the same key), whose extreme bit
    patterns reach √(2·65 ln 2) ≈ 9.49 and 65 ln 2 ≈ 45.05 (tests/test_jax_random.py has the
    full checks); the laws are N(0, 1) and Laplace(0, 1) (KS, false alarm 1e-4 each)."""
    from dpkit import _jax_random as R
    from dpkit.mechanisms.continual._jax import _unit

    jnp = jax.numpy
    top = 2**32 - 1
    lo = 65 * math.log(2.0)
    bits = jnp.asarray(np.array([[0, top], [0, top], [0, 0]], np.uint32))
    assert np.asarray(R.normal_from_bits(bits, jnp.float32))[0, 0] == pytest.approx(
        math.sqrt(2 * lo), rel=1e-5)
    bits_l = jnp.asarray(np.array([[0, top], [0, top], [top, 0], [top, 0]], np.uint32))
    np.testing.assert_allclose(np.asarray(R.laplace_from_bits(bits_l, jnp.float32)),
                               [lo, -lo], rtol=1e-5)
    key = jax.random.key(5)
    for laplace_noise, law, shared in ((False, "norm", R.normal), (True, "laplace", R.laplace)):
        draws = np.asarray(_unit(key, (50_000,), laplace_noise, jnp.float32))
        np.testing.assert_array_equal(draws, np.asarray(shared(key, (50_000,), jnp.float32)))
        assert stats.kstest(draws, law).pvalue > 1e-4
