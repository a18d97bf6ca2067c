"""JAX kernels of smoothed RR: same LAW as the numpy reference (small sizes: JAX on the CPU).

Fixed keys/seeds; each p-value threshold FA = 1e-6 is that test's false-alarm rate (per cell).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

jax = pytest.importorskip("jax")

from dpkit.errors import DPKitError  # noqa: E402
from dpkit.mechanisms.smoothed_rr import (  # noqa: E402
    SmoothedRRParams,
    prob_positive,
    respond,
    simulate_sequential_learning,
)

FA = 1e-6


def test_jax_respond_law() -> None:
    """Binomial test per cell (6 signals × 2 params, 2·10^5 draws each, FA 1e-6 per cell)."""
    for p in (SmoothedRRParams(1.0, threshold=0.3), SmoothedRRParams(0.4, sensitivity=2.0)):
        zs = np.array([-5.0, -1.0, -0.1, 0.1, 1.0, 5.0])
        x = np.asarray(respond(p, jax.numpy.asarray(np.repeat(zs, 200_000).reshape(6, -1)),
                               jax.random.key(3)))
        assert x.dtype == np.int8
        want = prob_positive(p, zs)
        for i in range(6):
            k = int((x[i] == 1).sum())
            assert stats.binomtest(k, 200_000, want[i]).pvalue > FA


def test_jax_respond_clip_threshold_and_errors() -> None:
    p = SmoothedRRParams.replacement(2.0, -1.0, 1.0)
    x = np.asarray(respond(p, jax.numpy.full(100_000, 50.0), jax.random.key(1),
                           threshold=jax.numpy.asarray(0.5)))
    want = float(prob_positive(p, 1.0, threshold=0.5))  # clipped to 1
    assert stats.binomtest(int((x == 1).sum()), 100_000, want).pvalue > FA
    with pytest.raises(DPKitError, match="signal"):
        respond(p, jax.numpy.asarray([0.0, np.nan]), jax.random.key(1))
    with pytest.raises(DPKitError, match="JAX PRNG key"):
        respond(p, jax.numpy.asarray([0.0]), "seed", backend="jax")


def test_jax_simulator_same_law_as_numpy() -> None:
    """KS on beliefs after 10 and 100 reports (rounded to 1e-4: float32 in JAX) and a chi-square
    on first-correct-action times, JAX vs numpy reference; FA 1e-6 per test."""
    kw = dict(mechanism="smoothed", epsilon=0.7, checkpoints=[10, 100], initial_belief=-2.0)
    a = simulate_sequential_learning(100, 2000, rng=jax.random.key(5), backend="jax", **kw)
    b = simulate_sequential_learning(100, 2000, rng=6, backend="numpy", **kw)
    for i in range(2):
        assert stats.ks_2samp(np.round(a.beliefs[:, i], 4),
                              np.round(b.beliefs[:, i], 4)).pvalue > FA
    ca = np.bincount(np.minimum(a.first_correct_action, 6), minlength=7)[1:]
    cb = np.bincount(np.minimum(b.first_correct_action, 6), minlength=7)[1:]
    table = np.stack([ca, cb])
    assert stats.chi2_contingency(table[:, table.sum(axis=0) > 0])[1] > FA
    with pytest.raises(DPKitError, match="keep_paths"):
        simulate_sequential_learning(10, 2, epsilon=1.0, rng=jax.random.key(0), keep_paths=True,
                                     backend="jax")


def test_jax_flip_uniforms_resolve_tails_below_float32() -> None:
    """Review finding: with a 23-bit float32 uniform compared to 1 − ½e^{−ε|z|}, the release
    never flipped for ε|z| ≳ 16 but flipped w.p. 2^−23 just below (infinite loss, δ ≈ 1e-7).
    The flip is now decided as log u < log ½ − ε|z| with u on a 2^−64 grid."""
    import math

    from dpkit import _jax_random as R

    u32 = jax.numpy.uint32
    got = np.asarray(R.log_uniform_from_bits(jax.numpy.array([0, 1, 2**32 - 1], u32),
                                             jax.numpy.array([0, 0, 2**32 - 1], u32),
                                             jax.numpy.float32))
    np.testing.assert_allclose(got, [math.log(2.0**-65), math.log(2.0**-32), 0.0], atol=1e-6)
    assert (got < 0).all()
    # the release flip at ε|z|/Δ = 30 (p = ½e^−30 = 4.7e-14, impossible for a 23-bit uniform):
    # crafted words (h, l) flip iff (h·2^32 + l + ½)·2^−64 < p, i.e. h = 0, l < 863 088 (float32
    # rounding of log p moves the edge by ~2e-6 relative, i.e. ±2)
    lf = jax.numpy.full(4, math.log(0.5) - 30.0, jax.numpy.float32)
    flip = R.bernoulli_from_bits(jax.numpy.zeros(4, u32),
                                 jax.numpy.array([0, 862_000, 864_000, 2**31], u32), log_p=lf)
    assert np.asarray(flip).tolist() == [True, True, False, False]
    assert 862_000 < 0.5 * math.exp(-30.0) * 2.0**64 < 864_000


def _host_sign_and_log_flip(params: SmoothedRRParams, signal: object,
                            threshold: object) -> tuple[np.ndarray, np.ndarray]:
    """The host side of the JAX release as ``respond`` runs it: the checked float64 signal
    and thresholds (params), then a = sign(v − t) and log ½ − ε|v − t|/Δ (the kernel)."""
    from dpkit.mechanisms.smoothed_rr._jax import sign_and_log_flip
    from dpkit.mechanisms.smoothed_rr.params import signal_array, threshold_array

    v = signal_array(params, signal)
    return sign_and_log_flip(v, threshold_array(params, threshold, v.shape), params.rate)


def test_jax_distance_is_computed_in_float64_before_any_rounding() -> None:
    """Review finding 6: the JAX path used to round signals to float32 before v − t, which
    could stretch a distance Δ by one float32 ulp of |v| (|v| ≈ 10^4, Δ = 0.01: loss ≈ 1.1ε).
    Now v − t is formed in float64 on the host; only log ½ − ε|v − t|/Δ is cast."""
    # 10^4 + 4e-4 rounds to 10^4 in float32 (ulp 2^-10): the old path saw a tie, P(+1) = 0.5;
    # the law at the true distance z/Δ = 0.4 is 1 − ½e^{−0.4} = 0.665 (binomial, FA 1e-6)
    p = SmoothedRRParams(1.0, threshold=1e4, sensitivity=1e-3)
    v = 1e4 + 4e-4
    x = np.asarray(respond(p, np.full(100_000, v), jax.random.key(9), backend="jax"))
    want = float(prob_positive(p, v))
    assert abs(want - 0.665) < 1e-3
    assert stats.binomtest(int((x == 1).sum()), 100_000, want).pvalue > FA
    # neighbours at distance exactly Δ around a large offset: the log flip probabilities
    # differ by at most ε (float64), and by at most ε + 2e-5 after the float32 cast
    q = SmoothedRRParams(1.0, threshold=1e4 + 0.003, sensitivity=0.01)
    vs = np.array([1e4 + 0.0049, 1e4 - 0.0051, 9999.980725, 9999.990725])
    _, lf = _host_sign_and_log_flip(q, vs, None)
    assert abs(lf[0] - lf[1]) <= 1.0 + 1e-9 and abs(lf[2] - lf[3]) <= 1.0 + 1e-9
    lf32 = lf.astype(np.float32).astype(float)
    assert abs(lf32[0] - lf32[1]) <= 1.0 + 2e-5 and abs(lf32[2] - lf32[3]) <= 1.0 + 2e-5
    # the old float32 pipeline stretched the second pair's distance by 7.4 % (loss 1.074ε)
    z32 = vs.astype(np.float32) - np.float32(q.threshold)
    assert abs(abs(float(z32[2])) - abs(float(z32[3]))) / q.sensitivity > 1.07
    # ties and near-ties keep their exact sign (float32 would merge them)
    t = 1e4 + 0.1
    a, _ = _host_sign_and_log_flip(SmoothedRRParams(1.0, threshold=t),
                              np.array([t, np.nextafter(t, np.inf), np.nextafter(t, -np.inf)]),
                              None)
    assert a.tolist() == [-1, 1, -1]
    # float32 JAX inputs convert exactly; per-signal thresholds broadcast; errors are named
    a, lf = _host_sign_and_log_flip(SmoothedRRParams(2.0), jax.numpy.asarray([1.5, -0.25]),
                               jax.numpy.asarray([0.5, 0.0]))
    assert a.tolist() == [1, -1] and np.allclose(lf, np.log(0.5) - 2.0 * np.array([1.0, 0.25]))
    with pytest.raises(DPKitError, match="threshold"):
        respond(p, jax.numpy.zeros(3), jax.random.key(1), threshold=np.zeros(2))
    with pytest.raises(DPKitError, match="threshold"):
        respond(p, jax.numpy.zeros(3), jax.random.key(1), threshold=np.array([0, np.inf, 0]))


def test_jax_simulator_decisions_resolve_tiny_probabilities() -> None:
    """The simulator's two decisions are shared log-space Bernoullis (64-bit cells). Before,
    a float32 ``jax.random.uniform`` (23 bits, max 1 − 2^−24) decided a = −1 iff u < Z: with
    1 − Z = 1e-9, a = +1 was impossible (and flips below 2^−23 likewise). Crafted words (h, l):
    a = +1 iff U = h·2^−32 + (l + ½)·2^−64 < 1 − Z = 1e-9, i.e. h ≤ 4 (2^−32 = 2.3e-10)."""
    import math

    from dpkit.mechanisms.smoothed_rr.sequential._jax import _decisions_from_bits

    u32 = jax.numpy.uint32
    f32 = jax.numpy.float32
    n = 5
    his = jax.numpy.array([0, 4, 5, 2**31, 2**32 - 1], u32)
    zeros = jax.numpy.zeros(n, u32)
    top = jax.numpy.full(n, 2**32 - 1, u32)
    log_z = jax.numpy.full(n, math.log1p(-1e-9), f32)  # Z = 1 − 1e-9
    log_zc = jax.numpy.full(n, math.log(1e-9), f32)
    lb = jax.numpy.zeros(n, f32)
    own = (log_z, log_zc, None, None, log_zc, log_z)  # log ½B₂/(1 − Z) = log ½ (flip w.p. ½)
    a, x = _decisions_from_bits(jax.numpy.stack([his, zeros, top, top]), own, 1, 0.3, lb)
    assert np.asarray(a).tolist() == [1, 1, -1, -1, -1]
    # flip probability 1e-12 (classic RR with u = 1e-12): words (0, 0) flip, (0, 2^31) do not
    w = jax.numpy.stack([top, top, zeros, jax.numpy.array([0, 2**31, 2**31, 0, 5], u32)])
    a, x = _decisions_from_bits(w, own, 2, 1e-12, lb)
    assert np.asarray(a).tolist() == [-1] * n
    assert np.asarray(x).tolist() == [1, -1, -1, 1, 1]
