"""numba and JAX kernels of dpkit.mechanisms.kde against the numpy reference.

Law tests: a structure built by a kernel, minus the reference's exact sketch for the same
public seed, divided by the reference's noise scales, must be standard Laplace (KS test,
false-alarm rate 1e-4 each). Deterministic parts (exact sketches, query maps) must agree with
the reference to float tolerance (float64 for numba, float32 for JAX).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from dpkit.mechanisms.kde import KDEParams, build, noise_scales, query, sketch

P_MIN = 1e-4

PARAMS = [
    KDEParams("l1", 1.0, 1.0, size_hint=64),
    KDEParams("l1", 1.0, 1.0, size_hint=64, mode="ring", alpha=0.2),
    KDEParams("l2", 1.0, 1.0, size_hint=64, embed_dim=8),
    KDEParams("gaussian", 1.0, 1.0, 0.6, features=64),
    KDEParams("exponential", 1.0, 1.0, 0.6, features=64, jl_dim=2),
    KDEParams("cauchy", 1.0, 1.0, 0.6, features=16),
]
IDS = ["l1", "l1-ring", "l2", "gaussian", "exponential-jl", "cauchy-expsum"]


def _data(seed=0, n=300, d=3):
    g = np.random.default_rng(seed)
    return g.uniform(-1.2, 1.2, (n, d)), g.uniform(-1.5, 1.5, (40, d))


def _residuals(p, x, s):
    """(released − exact)/scale for every released coordinate of structure s."""
    ex = sketch(p, x, s.public_seed, backend="numpy")
    sc = noise_scales(s.params)
    out = []
    if ex.counts is not None:
        out.append(((s.counts - ex.counts) / sc["count"]).reshape(-1))
    if ex.sums is not None:
        out.append(((s.sums - ex.sums) / sc["sum"]).reshape(-1))
    if ex.rff is not None:
        out.append(((s.rff - ex.rff) / sc["rff"][:, None]).reshape(-1))
    return np.concatenate(out)


@pytest.mark.parametrize("p", PARAMS, ids=IDS)
def test_numba_sketch_and_query_match_reference(p):
    x, y = _data()
    a = sketch(p, x, 9, backend="numpy")
    b = sketch(p, x, 9, backend="numba")
    for u, v in ((a.counts, b.counts), (a.sums, b.sums)):
        if u is not None:
            np.testing.assert_allclose(v, u, rtol=1e-10, atol=1e-8)
    if a.rff is not None:  # float32 fast path: ≲ 1e-6 per point
        np.testing.assert_allclose(b.rff, a.rff, atol=1e-5 * x.shape[0])
    s = build(p, x, 4, backend="numpy")
    np.testing.assert_allclose(query(s, y, backend="numba"), query(s, y, backend="numpy"),
                               rtol=1e-10, atol=1e-6)


@pytest.mark.parametrize("p", PARAMS[:4], ids=IDS[:4])
def test_numba_build_law(p):
    x, _ = _data(1)
    r = np.concatenate([_residuals(p, x, build(p, x, seed, backend="numba"))
                        for seed in range(20)])
    assert r.size >= 1000
    assert stats.kstest(r, "laplace").pvalue > P_MIN


jax = pytest.importorskip("jax")


@pytest.mark.parametrize("p", PARAMS, ids=IDS)
def test_jax_query_matches_reference(p):
    x, y = _data(2)
    s = build(p, x, 5, backend="numpy")
    want = query(s, y, backend="numpy")
    got = np.asarray(query(s, jax.numpy.asarray(y)))  # a JAX array selects JAX under "auto"
    scale = np.abs(want).max() + 1.0
    np.testing.assert_allclose(got, want, atol=2e-5 * scale)


@pytest.mark.parametrize("p", PARAMS[:4], ids=IDS[:4])
def test_jax_build_law(p):
    x, _ = _data(3)
    keys = jax.random.split(jax.random.key(0), 10)
    r = np.concatenate([_residuals(p, x, build(p, x, k, backend="jax")) for k in keys])
    # float32 exact sketches: residuals carry ≤ 1e-5 relative rounding, far below the KS power
    assert stats.kstest(r, "laplace").pvalue > P_MIN
    assert len({build(p, x, k, backend="jax").public_seed for k in keys[:3]}) == 3


def test_jax_bad_key_and_nan():
    from dpkit.errors import DPKitError

    p = PARAMS[0]
    x, y = _data()
    with pytest.raises(DPKitError, match="JAX PRNG key"):
        build(p, x, "seed", backend="jax")
    s = build(p, x, 0, backend="numpy")
    with pytest.raises(DPKitError, match="queries"):
        query(s, jax.numpy.full((2, 3), jax.numpy.nan))


def test_jax_laplace_support_is_not_truncated_at_float32():
    """Review fix: a float32 ``jax.random.laplace`` is bounded by ln(2^24) ≈ 16.6 (bounded noise
    is not pure DP). The build's Laplace is the shared 64-bit :func:`dpkit._jax_random.laplace`
    in float64 (even with x64 off): the extreme bit patterns give ±45.05, the build's draws are
    the shared primitive's values for the same key, and the law is Laplace (KS, false alarm
    1e-4)."""
    from dpkit import _jax_random as R
    from dpkit.mechanisms.kde._jax import _laplace_host

    top = 2**32 - 1
    with jax.enable_x64(True):
        ext = np.asarray(R.laplace_from_bits(
            jax.numpy.asarray(np.array([[0, top], [0, top], [top, 0], [top, 0]], np.uint32)),
            jax.numpy.float64))
    lo = math.log(2.0**-65)
    np.testing.assert_allclose(ext, [-lo, lo], rtol=1e-12)  # ±45.05
    key = jax.random.key(1)
    draws = _laplace_host(key, (20_000,))
    assert draws.dtype == np.float64 and draws.shape == (20_000,)
    with jax.enable_x64(True):
        np.testing.assert_array_equal(draws, np.asarray(R.laplace(key, (20_000,))))
    assert stats.kstest(draws, "laplace").pvalue > P_MIN
    assert _laplace_host(key, ()).shape == ()
