"""RQM kernels (numba, JAX): same LAW as the numpy reference, not the same bits.

Every statistical test uses a fixed seed / key and a p-value threshold FA = 1e-6 (its
false-alarm rate): chi-square goodness of fit against the closed-form pmf, chi-square
homogeneity against the numpy reference, and a z-test of E[index] over many distinct inputs.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from dpkit.errors import DPKitError
from dpkit.mechanisms.rqm import RQMParams, decode, pmf, quantize, quantize_reference, variance

FA = 1e-6

CONFIGS = [  # params, x
    (RQMParams(1.0, 0.7, 6, 0.4), 0.33),  # spec §7.8
    (RQMParams(1.0, 2.0, 16, 0.25), 1.0),  # the clip boundary
    (RQMParams(1.0, 1.0, 16, 0.25), -14 / 15),  # exactly on a level
    (RQMParams(0.5, 0.2, 9, 0.0), 0.1),  # q = 0: the two end levels only
    (RQMParams(1.0, 0.5, 2, 0.5), -0.7),  # m = 2
    (RQMParams(1.0, 0.3, 300, 0.9), 0.123),  # uint16 indices, alias tables
    (RQMParams(1.0, 0.3, 600, 0.8), -0.4),  # beyond MAX_TABLE_LEVELS: logarithm path
    (RQMParams(1.0, 0.5, 12, 0.05), 5.0),  # small q, clamped input
]


def gof_pvalue(idx: np.ndarray, probs: np.ndarray) -> float:
    counts = np.bincount(np.asarray(idx, dtype=np.int64), minlength=probs.size)
    expected = counts.sum() * probs
    assert counts[expected == 0].sum() == 0  # nothing where the law puts no mass
    # pool the cells with small expected counts into one, so the chi-square law applies
    small = expected < 20
    obs = np.append(counts[~small], counts[small].sum())
    exp = np.append(expected[~small], expected[small].sum())
    keep = exp > 0
    return float(stats.chisquare(obs[keep], exp[keep] * obs[keep].sum() / exp[keep].sum())
                 .pvalue)


@pytest.mark.parametrize("params, x", CONFIGS, ids=[f"m{p.num_levels}-x{x:.3g}"
                                                     for p, x in CONFIGS])
def test_numba_matches_pmf(params: RQMParams, x: float) -> None:
    n = 400_000
    idx = quantize(params, np.full(n, x), rng=31, backend="numba")
    assert idx.dtype == params.index_dtype
    assert gof_pvalue(idx, pmf(params, x)) > FA
    # unbiased: |mean − x| ≤ 5σ/√N (FA 5.7e-7)
    xc = min(max(x, -params.clip), params.clip)
    assert abs(decode(params, idx).mean() - xc) <= 5 * math.sqrt(variance(params, xc) / n)


def test_numba_tables_are_the_exact_mixture_of_level_laws() -> None:
    """The numba table path samples (1 − f)·P_{B_j} + f·P_{B_{j+1}} (the pmf is affine on a
    cell). Exact check, no sampling: the law encoded by the alias tables, mixed as the kernel
    mixes it, equals the closed-form pmf at random inputs (and rows 0, m − 1 are the point
    masses at the end levels)."""
    from dpkit.mechanisms.rqm._numba import _tables

    g = np.random.default_rng(36)
    for p in (RQMParams(1.0, 0.7, 6, 0.4), RQMParams(1.0, 2.0, 16, 0.25),
              RQMParams(0.4, 0.05, 300, 0.9), RQMParams(1.0, 1.0, 3, 0.01)):
        m = p.num_levels
        prob, alias = (a.reshape(m, m) for a in _tables(m, p.keep_prob))
        laws = prob.copy()
        for r in range(m):
            np.add.at(laws[r], alias[r], 1.0 - prob[r])
        laws /= m
        np.testing.assert_allclose(laws.sum(axis=1), 1.0, rtol=0, atol=1e-13)
        np.testing.assert_allclose(laws[0], np.eye(m)[0], rtol=0, atol=1e-15)
        np.testing.assert_allclose(laws[m - 1], np.eye(m)[m - 1], rtol=0, atol=1e-15)
        xs = np.concatenate([g.uniform(-p.clip, p.clip, 20), [-p.clip, p.clip]])
        t = (xs + p.half_width) / p.spacing
        j = np.minimum(np.floor(t).astype(int), m - 2)
        f = (t - j)[:, None]
        np.testing.assert_allclose((1 - f) * laws[j] + f * laws[j + 1], pmf(p, xs),
                                   rtol=0, atol=1e-12)


def test_numba_matches_reference_two_sample() -> None:
    p = RQMParams(1.0, 0.6, 16, 0.35)
    xs = np.linspace(-1.1, 1.1, 11)
    for x in xs:
        a = quantize(p, np.full(100_000, x), rng=32, backend="numba")
        b = quantize_reference(p, np.full(100_000, x), rng=33)
        table = np.stack([np.bincount(a, minlength=16), np.bincount(b, minlength=16)])
        table = table[:, table.sum(axis=0) > 0]
        assert stats.chi2_contingency(table)[1] > FA / xs.size  # Bonferroni over 11 inputs


def test_numba_many_inputs_mean() -> None:
    p = RQMParams(0.5, 0.5, 9, 0.6)
    g = np.random.default_rng(34)
    xs = g.uniform(-0.6, 0.6, (300, 1000))
    idx = quantize(p, xs, g, backend="numba").astype(float).ravel()
    probs = pmf(p, xs.ravel())
    mean = probs @ np.arange(9)
    var = probs @ np.arange(9) ** 2 - mean**2
    assert abs((idx - mean).sum() / math.sqrt(var.sum())) < 5  # FA 5.7e-7


def test_numba_determinism_and_shapes() -> None:
    p = RQMParams(1.0, 1.0, 16, 0.5)
    x = np.linspace(-1, 1, 24).reshape(2, 3, 4)
    a = quantize(p, x, rng=7, backend="numba")
    assert a.shape == (2, 3, 4) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, quantize(p, x, rng=7, backend="numba"))
    assert not np.array_equal(quantize(p, np.zeros(1000), rng=7, backend="numba"),
                              quantize(p, np.zeros(1000), rng=8, backend="numba"))
    assert quantize(p, 0.3, rng=1, backend="numba").shape == ()
    assert quantize(p, [0.5], rng=1).shape == (1,)  # "auto" picks numba here


# --------------------------------------------- numba: crafted SplitMix64 words (exact checks)
def _key_for(word: int, counter: int) -> np.uint64:
    """A key whose SplitMix64 word at ``counter`` is ``word``: mix(key + (counter+1)φ) = word."""
    from dpkit import _numba_random as NR

    key = NR.key_for_word(word, counter)

    @_njit
    def w(k: np.uint64, c: int) -> np.uint64:
        return NR.word(k, c)

    assert int(w(key, counter)) == word
    return key


def _njit(f):  # type: ignore[no-untyped-def]
    from numba import njit

    return njit(f)


def test_numba_log_path_rounding_is_exact_for_tiny_probabilities() -> None:
    """Rounding in the logarithm path is the shared log-space Bernoulli (64-bit cells). With
    q = 0 (L = 0, U = m − 1 = 1000) and t = 1e-15, P(up) = 1e-18: up iff the rounding word
    w (counter 2) has (w + ½)·2^−64 < 1e-18, i.e. w ≤ 17. The former rule u·(U − L) < t − L
    with a 53-bit u rounded up whenever u = 0 (w < 2^11): rate 2^−53 ≈ 1.1e-16, 110× the pmf,
    so the loss against x' with t' = 1e-13 (P = 1e-16) was ~0 instead of log 100."""
    from dpkit.mechanisms.rqm._numba import _kernel_log

    x = np.array([1e-15])
    for w, want in ((0, 1000), (17, 1000), (18, 0), (2047, 0), (2**63, 0)):
        out = np.empty(1, np.uint16)
        bad = np.zeros(1, np.int8)
        _kernel_log(x, out, 1000.0, 0.0, 1.0, 1001, -1.0, False, _key_for(w, 2), bad)
        assert int(out[0]) == want, w


def test_numba_log_path_gaps_reach_the_64_bit_floor() -> None:
    """Gaps come from the shared 64-bit log-uniform: the word 0 gives log 2^−65, a lower gap
    of ⌊45.05/ln 2⌋ = 65 levels at q = ½ (probability 2^−65). The former log(1 − u) with a
    53-bit u stopped at log 2^−53: gaps > 53 were impossible from x but possible from a
    neighbour further down (infinite loss on an event of probability ~1e-16)."""
    from dpkit.mechanisms.rqm._numba import _walk_bounds

    @_njit
    def bounds(key: np.uint64, j: int, m: int, inv_log: float) -> tuple[int, int]:
        return _walk_bounds(key, np.uint64(0), j, m, inv_log, True)

    inv_log = 1.0 / math.log(0.5)
    assert bounds(_key_for(0, 0), 100, 600, inv_log)[0] == 35  # 100 − 65
    assert bounds(_key_for(2**11, 0), 100, 600, inv_log)[0] == 100 - 52  # 2^−53 → 52
    # the upper gap (counter 1) likewise
    assert bounds(_key_for(0, 1), 100, 600, inv_log)[1] == 101 + 65


def test_numba_table_tiny_atoms_are_decided_in_log_space() -> None:
    """Table path: an alias-table atom with scaled weight prob[r, n] < 2^−12 (a far level) is
    kept iff U < prob[r, n] with U = (w + ½)·2^−64 (the word at counter 2), not by comparing
    the 53-bit frac(u·m) with prob (which inflated atoms below ~2^−53 to 2^−53). m = 64,
    q = ½, x on level 50 (row 50 exactly: f = 0 is decided in log space, never row 51): with
    the rounding word 0 the kernel outputs the drawn far column n itself (pmf < 1e-12; the
    frac grid is m·2^−53 = 7e-15 wide, so the frac rule resolved such atoms only to ≥ 7 % and
    inflated those below 7e-15 to it); the frac rule would have output the alias."""
    from dpkit import _numba_random as NR
    from dpkit.mechanisms.rqm._numba import TINY, _kernel_tables, _tables

    @_njit
    def unif(key: np.uint64, c: int) -> float:
        return NR.uniform(key, c)

    p = RQMParams(1.0, 0.5, 64, 0.5)
    m = 64
    prob, alias = _tables(m, p.keep_prob)
    xv = -p.half_width + 50 * p.spacing
    while (xv + p.half_width) * (1.0 / p.spacing) < 50.0:  # t exactly 50, as the kernel forms it
        xv = float(np.nextafter(xv, np.inf))
    assert (xv + p.half_width) * (1.0 / p.spacing) == 50.0 and abs(xv) <= p.clip
    x = np.array([xv])
    law = pmf(p, x[0])
    hits = 0
    for w in range(60):  # keep-decision words far below every atom's probability
        key = _key_for(w, 2)
        v = unif(key, 1) * m
        n = min(int(v), m - 1)
        r = 50 * m + n
        assert prob[r] < TINY or prob[r] >= 1e-13
        if prob[r] >= 1e-13:  # only the far atoms, where the frac rule is off by ≥ 7 %
            continue
        out = np.empty(1, np.uint8)
        _kernel_tables(x, out, p.clip, p.half_width, 1.0 / p.spacing, m, prob, alias, key,
                       np.zeros(1, np.int8))
        assert int(out[0]) == n and v - n >= prob[r]  # the frac rule: alias
        assert 0 < law[n] < 1e-12
        hits += 1
    assert hits >= 5


# ------------------------------------------------------------------ JAX (kept small: CPU)
jax = pytest.importorskip("jax")


@pytest.mark.parametrize("params, x", [CONFIGS[0], CONFIGS[2], CONFIGS[3]],
                         ids=["spec", "on-level", "q0"])
def test_jax_matches_pmf(params: RQMParams, x: float) -> None:
    n = 200_000
    key = jax.random.key(35)
    idx = np.asarray(quantize(params, jax.numpy.full(n, x), key))  # "auto": JAX for JAX arrays
    assert gof_pvalue(idx, pmf(params, x)) > FA


def test_jax_vmap_over_keys_and_determinism() -> None:
    from dpkit.mechanisms.rqm._jax import rqm_indices

    p = RQMParams(1.0, 0.7, 6, 0.4)
    keys = jax.random.split(jax.random.key(36), 500)
    x = jax.numpy.full(400, 0.33)
    out = jax.vmap(lambda k: rqm_indices(k, x, p.clip, p.half_width, p.spacing,
                                         p.num_levels, p.keep_prob))(keys)
    assert out.shape == (500, 400)
    assert gof_pvalue(np.asarray(out).ravel(), pmf(p, 0.33)) > FA
    a = quantize(p, x, jax.random.key(1), backend="jax")
    np.testing.assert_array_equal(np.asarray(a), np.asarray(quantize(p, x, jax.random.key(1),
                                                                     backend="jax")))


def test_jax_bad_input() -> None:
    p = RQMParams(1.0, 0.7, 6, 0.4)
    with pytest.raises(DPKitError, match=r"position\(s\) 1"):
        quantize(p, jax.numpy.array([0.0, jax.numpy.nan]), jax.random.key(0))
    with pytest.raises(DPKitError, match="JAX PRNG key"):
        quantize(p, jax.numpy.zeros(3), "seed", backend="jax")


def test_jax_uniforms_resolve_tails_below_float32() -> None:
    """The JAX kernel's uniforms have 2^−64 cells, not float32's 2^−23 (review finding): with
    23-bit uniforms a gap of probability < 2^−23 was impossible, e.g. m = 64, q = 0.5, Δ = 10:
    index ≤ 10 could never come from x = c but could from x = −c (infinite loss, δ ≈ 1e-7).
    Now the gaps come from the shared 64-bit log-uniforms (dpkit._jax_random): the words
    (0, 0) give log 2^−65, i.e. a gap of ⌊45.05/ln 2⌋ = 64 levels at q = ½."""
    from dpkit import _jax_random as R
    from dpkit.mechanisms.rqm._jax import rqm_indices_from_bits

    u32 = jax.numpy.uint32
    got = np.asarray(R.log_uniform_from_bits(jax.numpy.array([0, 0, 1, 2**31], u32),
                                             jax.numpy.array([0, 2**32 - 1, 0, 0], u32),
                                             jax.numpy.float32))
    want = [math.log(2.0**-65), math.log(2.0**-32), math.log(2.0**-32), math.log(0.5)]
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    # m = 64, q = ½, x = c (t = 34.4, cell 34): lower-gap words (0, 0) reach level 0 (gap
    # ≥ 34: probability (½)^34 ≈ 6e-11 per coordinate, far below float32's 2^−23); rounding
    # words (0, 0) round down (P(down) = 1 − t/35 ≈ 0.018)
    p = RQMParams(1.0, 10.0, 64, 0.5)
    top = 2**32 - 1
    bits = jax.numpy.array([[0], [0], [top], [top], [0], [0]], u32)
    idx = rqm_indices_from_bits(bits, jax.numpy.full(1, 1.0, jax.numpy.float32), p.clip,
                                p.half_width, p.spacing, 64, p.keep_prob,
                                math.log1p(-p.keep_prob))
    assert int(idx[0]) == 0
    assert pmf(p, 1.0)[0] > 0  # possible under the closed form too


def test_jax_rounding_resolves_tiny_probabilities_on_both_sides() -> None:
    """Rounding is the shared log-space Bernoulli (log p = log(t − L) − log(U − L), log(1 − p)
    = log(U − t) − log(U − L)). Crafted words, float32, q = 0 (L = 0, U = m − 1 always),
    kernel-level parameters clip = 1000, half = 0, spacing = 1 so that t = x:

    * P(down) = 2^−14/1000 = 6.1e-8 at t = 1000 − 2^−14: the former float32 comparison
      log U < log t − log 1000 had log t − log 1000 = 0 and NEVER rounded down, while x one
      step lower can round down (infinite loss). Now down iff U < 6.1e-8, i.e. first word
      h ≤ 262 (262·2^−32 = 6.100e-8, 263·2^−32 = 6.123e-8).
    * P(up) = 1e-9 at t = 1e-6 (m = 1001): up iff U < 1e-9, h ≤ 4 (4·2^−32 = 9.3e-10).
    """
    from dpkit.mechanisms.rqm._jax import rqm_indices_from_bits

    u32 = jax.numpy.uint32
    f32 = jax.numpy.float32

    def run(x: float, his: list[int]) -> list[int]:
        n = len(his)
        bits = jax.numpy.stack([jax.numpy.zeros(n, u32)] * 4
                               + [jax.numpy.array(his, u32), jax.numpy.zeros(n, u32)])
        out = rqm_indices_from_bits(bits, jax.numpy.full(n, x, f32), 1000.0, 0.0, 1.0, 1001,
                                    0.0, 0.0)
        return np.asarray(out).tolist()

    t_hi = 1000.0 - 2.0**-14
    assert float(np.float32(t_hi)) == t_hi
    assert run(t_hi, [0, 100, 262, 263, 2**31, 2**32 - 1]) == [0, 0, 0, 1000, 1000, 1000]
    assert float(np.float32(1e-6)) / 1000 < 1.0001e-9
    assert run(1e-6, [0, 4, 5, 2**31, 2**32 - 1]) == [1000, 1000, 0, 0, 0]
    # the exact ends: t = L never rounds up, t = U always does
    assert run(0.0, [0, 2**32 - 1]) == [0, 0]
    assert run(1000.0, [0, 2**32 - 1]) == [1000, 1000]
    # and the law at a moderate probability (binomial, FA 1e-6): P(up) = 0.25 at t = 250
    p = RQMParams(1.0, 1.0, 5, 0.0)  # levels −2, −1, 0, 1, 2; q = 0: only the ends
    k = jax.random.key(39)
    idx = np.asarray(quantize(p, jax.numpy.full(100_000, -1.0), k, backend="jax"))
    assert set(np.unique(idx)) <= {0, 4}
    assert stats.binomtest(int((idx == 4).sum()), 100_000, 0.25).pvalue > FA


def test_jax_refuses_extension_below_float32_resolution() -> None:
    # Δ/c < 2^−24: in float32 c + Δ == c, so x = c would always give the top level
    p = RQMParams(1.0, 1e-9, 4, 0.5)
    with pytest.raises(DPKitError, match="extension"):
        quantize(p, jax.numpy.zeros(3), jax.random.key(0))
