"""numba and JAX kernels of the frequency oracles: same law as the numpy reference.

Chi-square tests with fixed seeds at α = 1e-4 each (false-alarm rate 1e-4 per test); the hash
is checked for bit-equality; the server-side numba kernels must equal numpy exactly.
JAX runs on the CPU here, so its samples are kept small.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from dpkit.mechanisms import heavy_hitters as hh
from dpkit.mechanisms.heavy_hitters import _hash
from dpkit.mechanisms.heavy_hitters.reference import olh_hashes

ALPHA = 1e-4
jax = pytest.importorskip("jax")


def _rng(backend, seed):
    return jax.random.key(seed) if backend == "jax" else np.random.default_rng(seed)


def _n(backend):
    return 40_000 if backend == "jax" else 200_000


def _pvalue(observed, probs):
    return float(stats.chisquare(observed, probs * observed.sum()).pvalue)


@pytest.mark.parametrize("backend", ["numba", "jax"])
def test_grr_kernel_law(backend):
    o = hh.GRR(1.0, 7)
    y = np.asarray(hh.perturb(o, np.full(_n(backend), 3), _rng(backend, 1), backend=backend))
    assert _pvalue(np.bincount(y, minlength=7), hh.output_pmf(o, 3)) > ALPHA


@pytest.mark.parametrize("backend", ["numba", "jax"])
def test_oue_kernel_law(backend):
    o = hh.OUE(0.7, 4)
    bits = np.asarray(hh.perturb(o, np.full(_n(backend), 2), _rng(backend, 2), backend=backend))
    idx = (bits.astype(np.int64) * (1 << np.arange(4))).sum(axis=1)
    assert _pvalue(np.bincount(idx, minlength=16), hh.output_pmf(o, 2)) > ALPHA


@pytest.mark.parametrize("backend", ["numba", "jax"])
@pytest.mark.parametrize("pool", [None, 8])
def test_olh_kernel_law(backend, pool):
    o = hh.OLH(1.5, 2**20, num_hashes=pool, pool_seed=7)
    v = np.full(_n(backend), 123_457)
    r = hh.perturb(o, v, _rng(backend, 3), backend=backend)
    seeds, y = np.asarray(r.seeds), np.asarray(r.buckets)
    x = olh_hashes(o, seeds, v)  # the numpy hash of the kernel's seeds
    probs = np.full(o.g, o.q_grr)
    probs[0] = o.p
    assert _pvalue(np.bincount((y - x) % o.g, minlength=o.g), probs) > ALPHA
    if pool is not None:
        assert _pvalue(np.bincount(seeds.astype(np.int64), minlength=pool),
                       np.full(pool, 1 / pool)) > ALPHA
    else:  # fresh seeds: no repeats among 64-bit draws
        assert np.unique(seeds).size == seeds.size


def test_hash_bit_equal_across_backends():
    from dpkit.mechanisms.heavy_hitters._jax import olh_hash_jax
    from dpkit.mechanisms.heavy_hitters._numba import olh_hash_numba

    rng = np.random.default_rng(4)
    seeds = rng.integers(0, 2**63, size=1000).astype(np.uint64) * np.uint64(2)
    v = rng.integers(0, 2**32, size=1000)
    a, b = _hash.hash_coefficients(seeds)
    ref = _hash.hash_values(a, b, v, 1001)
    np.testing.assert_array_equal(olh_hash_numba(a, b, v, 1001), ref)
    with jax.enable_x64(True):
        got = olh_hash_jax(jax.numpy.asarray(seeds), jax.numpy.asarray(v),
                           jax.numpy.asarray(1001))
    np.testing.assert_array_equal(np.asarray(got), ref)


@pytest.mark.parametrize("pool", [None, 64])
def test_numba_support_counts_equal_numpy(pool):
    o = hh.OLH(2.0, 5000, num_hashes=pool)
    items = np.random.default_rng(5).integers(0, 5000, size=3000)
    st = hh.aggregate(o, hh.perturb(o, items, 6, backend="numba"))
    cand = np.arange(0, 5000, 7)
    np.testing.assert_array_equal(hh.support_counts(st, cand, backend="numba"),
                                  hh.support_counts(st, cand, backend="numpy"))


def test_numba_estimates_unbiased_on_large_sample():
    """ĉ over 10^6 users from the numba kernel within 4 SE of the truth for every item
    (fixed seed; false-alarm rate ≤ 64 × 6.3e-5 ≈ 4e-3, normal approximation)."""
    o = hh.OLH(2.0, 64, num_hashes=None)
    counts = np.zeros(64, dtype=np.int64)
    counts[:4] = [400_000, 300_000, 200_000, 100_000]
    items = np.repeat(np.arange(64), counts)
    est = hh.estimate(o, hh.aggregate(o, hh.perturb(o, items, 7, backend="numba")),
                      backend="numba")
    sd = np.sqrt(hh.variance(o, 1_000_000, counts))
    assert (np.abs(est - counts) < 4 * sd).all()


def test_jax_refuses_a_bad_rng():
    from dpkit.errors import DPKitError

    with pytest.raises(DPKitError, match="JAX PRNG key"):
        hh.perturb(hh.GRR(1.0, 4), np.array([0]), "seed", backend="jax")


def test_jax_keep_probabilities_in_log_space():
    """The JAX kernels decide with the shared log-space Bernoulli of log p computed from ε:
    log p = −log1p((d − 1)e^−ε) equals log of the oracle's p where that is accurate, and keeps
    1 − p = e^−40 at d = 2, ε = 40 (p itself rounds to 1.0 in float64, so a uniform compared
    with p would never flip: the flip rate would be quantised to 0)."""
    import math

    from dpkit.mechanisms.heavy_hitters._jax import _log_keep

    for o in (hh.GRR(1.0, 7), hh.GRR(3.0, 1000), hh.OLH(1.5, 2**20)):
        k = o.domain_size if isinstance(o, hh.GRR) else o.g
        assert _log_keep(o.epsilon, k) == pytest.approx(math.log(o.p), rel=1e-14)
    assert hh.GRR(40.0, 2).p == 1.0
    assert -math.expm1(_log_keep(40.0, 2)) == pytest.approx(math.exp(-40.0), rel=1e-12)


class _ZeroUniforms:
    """A stand-in generator whose uniforms are all 0.0 and integers all 0: the cell u = 0
    that a real 53-bit generator hits with probability 2^−53."""

    def random(self, size):
        return np.zeros(size)

    def integers(self, low, high, size=None, dtype=np.int64):
        return np.zeros(size, dtype=dtype)


def test_large_epsilon_never_rounds_the_rare_event_to_zero():
    """At ε = 60 (GRR, d = 2) p is 1.0 in float64. A sampler that drew the keep (u < p) would
    always report the true item: P[report 1 | item 0] = 0 and an infinite privacy loss. The
    samplers draw the flip (u < 1 − p) instead, so P[flip] ≥ P[u = 0] = 2^−53 > 0 (numpy and
    numba: the same comparison; shown here on the u = 0 cell), and the JAX kernel's log rate
    is rounded up by half a 2^−64 cell, never to −∞. OUE's q is floored above 0 at any ε."""
    import math

    from dpkit.mechanisms.heavy_hitters import reference as HR
    from dpkit.mechanisms.heavy_hitters._jax import _LOG_HALF_CELL, _log_flip, _log_keep

    o = hh.GRR(60.0, 2)
    assert o.p == 1.0
    f = HR.flip_probability(60.0, 2)
    assert f == pytest.approx(math.exp(-60.0), rel=1e-12) and f > 0
    out = HR.grr_reference(f, 2, np.zeros(3, dtype=np.int64), _ZeroUniforms())
    assert out.tolist() == [1, 1, 1]  # the u = 0 cell flips
    assert _log_flip(60.0, 2) >= _LOG_HALF_CELL and math.isfinite(_log_flip(60.0, 2))
    for eps, k in ((1.0, 4), (3.0, 1000), (0.5, 2**20)):  # moderate ε: the plain log(1 − p)
        want = math.log1p(-math.exp(_log_keep(eps, k)))
        assert _log_flip(eps, k) == pytest.approx(want, rel=1e-12)
        assert HR.flip_probability(eps, k) == pytest.approx(1 - hh.GRR(eps, k).p, rel=1e-12)
    assert hh.OUE(800.0, 4).q > 0.0
    assert hh.OUE(2.0, 4).q == pytest.approx(1 / (math.exp(2.0) + 1), rel=1e-15)


_M64 = (1 << 64) - 1


def _splitmix_mix(z: int) -> int:
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def test_numba_olh_public_seed_reveals_nothing_about_the_flip():
    """A server attack on fresh-seed OLH: if the published seed were word 0 of the user's
    private SplitMix stream (an earlier version), inverting ``mix`` gives the stream key and
    word 1, the user's flip uniform: among the users the attack flags as "not flipped" every
    report was the true hash (measured 995/995). With host-drawn seeds the flag is noise: the
    flagged users' reports are exact at the base rate p = 0.475 (ε = 1, g = 4). n = 4000, the
    flagged ≈ 2000: a share > 0.6 is > 10 sd above p (false alarm < 1e-20)."""
    from dpkit import _numba_random as NR
    from dpkit.mechanisms.heavy_hitters import reference as HR

    o = hh.OLH(1.0, 2**16, num_hashes=None)
    items = np.random.default_rng(1).integers(0, 2**16, 4000)
    r = hh.perturb(o, items, np.random.default_rng(2), backend="numba")
    flip = HR.flip_probability(o.epsilon, o.g)
    golden = 0x9E3779B97F4A7C15
    exact = HR.olh_hashes(o, r.seeds, items) == r.buckets
    flagged = []
    for s in r.seeds.tolist():
        base = (NR.unmix_int(int(s)) - golden) & _M64
        u = (_splitmix_mix((base + 2 * golden) & _M64) >> 11) * 2.0**-53
        flagged.append(not u < flip)
    flagged = np.array(flagged)
    assert flagged.sum() > 1000
    assert exact[flagged].mean() < 0.6, exact[flagged].mean()


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("pool", [None, 16])
def test_secure_generator_accepted_by_olh(backend, pool):
    """The OS-CSPRNG generator (recommended where reports leave the device) works for OLH in
    both seed modes: seeds and buckets in range."""
    from dpkit.random import SecureGenerator

    o = hh.OLH(2.0, 1000, num_hashes=pool)
    r = hh.perturb(o, np.arange(200), SecureGenerator(), backend=backend)
    assert ((r.buckets >= 0) & (r.buckets < o.g)).all()
    if pool is not None:
        assert (r.seeds < pool).all()
