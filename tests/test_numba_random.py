"""The shared numba SplitMix64 layer (dpkit/_numba_random.py): bit-exact words, uniform laws.

Known values are recomputed here in pure Python integer arithmetic (an independent
implementation of SplitMix64 from its published definition), plus the published first outputs
for seed 0. Extreme words are reached by inverting the finaliser (keys crafted so that a given
counter yields a chosen word). The statistical tests use fixed keys and a false-alarm level of
1e-6 each (4 tests: file rate ≤ 4e-6).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

pytest.importorskip("numba")
from numba import njit  # noqa: E402

from dpkit import _numba_random as NR  # noqa: E402
from dpkit.errors import DPKitError  # noqa: E402

_MASK = 2**64 - 1


def _splitmix64(seed: int, n: int) -> list[int]:
    """The first n outputs of SplitMix64 seeded with ``seed`` (Python ints, mod 2^64)."""
    out, state = [], seed
    for _ in range(n):
        state = (state + 0x9E3779B97F4A7C15) & _MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        out.append(z ^ (z >> 31))
    return out


@njit(cache=True)
def _words(key: np.uint64, counters: np.ndarray) -> np.ndarray:
    out = np.empty(counters.size, dtype=np.uint64)
    for i in range(counters.size):
        out[i] = NR.word(key, counters[i])
    return out


@njit(cache=True)
def _uniforms(key: np.uint64, n: int, is_open: bool) -> np.ndarray:
    out = np.empty(n)
    for i in range(n):
        out[i] = NR.uniform_open(key, i) if is_open else NR.uniform(key, i)
    return out


@njit(cache=True)
def _log_uniforms(key: np.uint64, n: int) -> np.ndarray:
    out = np.empty(n)
    for i in range(n):
        out[i] = NR.log_uniform(key, i)
    return out


@njit(cache=True)
def _bernoullis(keys: np.ndarray, n: int, log_p: float, log1m_p: float) -> np.ndarray:
    out = np.empty((keys.size, n), dtype=np.bool_)
    for j in range(keys.size):
        for i in range(n):
            out[j, i] = NR.bernoulli(keys[j], i, log_p, log1m_p)
    return out


def _key_for_word(w: int) -> np.uint64:
    """A key whose word at counter 0 is w: mix(key + φ) = w."""
    return NR.key_for_word(w, 0)


@njit(cache=True)
def _streams(key: np.uint64, n: int) -> np.ndarray:
    out = np.empty(n, dtype=np.uint64)
    for i in range(n):
        out[i] = NR.stream(key, i)
    return out


def test_words_are_splitmix64_bit_exact() -> None:
    # published first outputs of SplitMix64 with seed 0
    assert _splitmix64(0, 3) == [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F]
    counters = np.arange(5, dtype=np.uint64)
    for key in (0, 1, 0x0123456789ABCDEF, _MASK, 2**63):
        got = _words(np.uint64(key), counters)
        assert [int(w) for w in got] == _splitmix64(key, 5), hex(key)
    # int64 counters (as kernels pass them) give the same words
    assert (_words(np.uint64(7), np.arange(5)) == _words(np.uint64(7), counters)).all()
    # the stream key of item i is mix(key + i·φ₂), i.e. one SplitMix64 step with increment φ₂
    key = 0xDEADBEEF
    expect = [_splitmix64((key + i * 0xD1B54A32D192ED03 - 0x9E3779B97F4A7C15) & _MASK, 1)[0]
              for i in range(4)]
    assert [int(s) for s in _streams(np.uint64(key), 4)] == expect


def test_uniforms_are_the_top_53_bits() -> None:
    key = 0x5EED
    ref = np.array(_splitmix64(key, 8), dtype=object)
    u = _uniforms(np.uint64(key), 8, False)
    uo = _uniforms(np.uint64(key), 8, True)
    for i in range(8):
        top = int(ref[i]) >> 11
        assert u[i] == top / 2**53
        assert uo[i] == (top + 0.5) / 2**53


def test_uniform_laws_ks() -> None:
    """[0, 1) and (0, 1) uniforms pass KS against U(0, 1) (level 1e-6 each); the open one is
    never 0 or 1."""
    n = 200_000
    for is_open in (False, True):
        u = _uniforms(np.uint64(0xC0FFEE), n, is_open)
        assert stats.kstest(u, "uniform").pvalue > 1e-6
        assert u.min() >= 0 and u.max() < 1
        if is_open:
            assert u.min() > 0


def test_seed_key_draws_uint64_from_a_generator() -> None:
    g1, g2 = np.random.default_rng(5), np.random.default_rng(5)
    k = NR.seed_key(g1)
    assert isinstance(k, np.uint64)
    a, b = int(g2.integers(0, 2**32)), int(g2.integers(0, 2**32))
    assert int(k) == (a << 32) | b
    ks = NR.seed_key(np.random.default_rng(1), size=1000)
    assert ks.dtype == np.uint64 and ks.shape == (1000,) and np.unique(ks).size == 1000
    assert (ks >> np.uint64(63)).any() and not (ks >> np.uint64(63)).all()  # top bit used
    assert NR.seed_key(3) == NR.seed_key(np.random.default_rng(3))
    with pytest.raises(DPKitError, match="rng"):
        NR.seed_key("not a generator")


def test_log_uniform_and_bernoulli_on_crafted_words() -> None:
    """Word 0 gives log 2^−65 = −45.05 (a 53-bit uniform stops at log 2^−54); the largest word
    stays strictly negative. p = 1e-12: True exactly for the words w < n₁ = ⌈1e-12·2^64 − ½⌉
    (the cells with (w + ½)·2^−64 < p), so P(True) = n₁·2^−64 = p to one cell; p = 1 − 1e-12:
    False exactly on those words. NaN log p is never true."""
    for w in (0, 1, 2**64 - 1, 12345):
        assert _splitmix64(int(_key_for_word(w)), 1)[0] == w
    lo = _log_uniforms(_key_for_word(0), 1)[0]
    assert lo == pytest.approx(-65 * math.log(2), rel=1e-15)
    assert -1e-300 < _log_uniforms(_key_for_word(2**64 - 1), 1)[0] < 0
    p = 1e-12
    n1 = math.ceil(p * 2**64 - 0.5)
    assert abs(n1 / 2**64 - p) <= 2**-64
    keys = np.array([_key_for_word(w) for w in (0, n1 - 2, n1 - 1, n1, n1 + 1, 2**63)],
                    dtype=np.uint64)
    tiny = _bernoullis(keys, 1, math.log(p), math.log1p(-p))[:, 0]
    assert tiny.tolist() == [True, True, True, False, False, False]
    near_one = _bernoullis(keys, 1, math.log1p(-p), math.log(p))[:, 0]
    assert near_one.tolist() == [False, False, False, True, True, True]
    assert not _bernoullis(keys, 1, math.nan, math.nan).any()


def test_log_uniform_and_bernoulli_laws() -> None:
    """−log U ~ Exp(1) (KS) and Bernoulli rates at p = 0.3 and 0.8 (binomial test), each at
    level 1e-6."""
    n = 200_000
    e = -_log_uniforms(np.uint64(0xABCDEF), n)
    assert stats.kstest(e, "expon").pvalue > 1e-6
    for key, pj in ((np.uint64(11), 0.3), (np.uint64(12), 0.8)):
        b = _bernoullis(np.array([key]), n, math.log(pj), math.log1p(-pj))[0]
        assert stats.binomtest(int(b.sum()), n, pj).pvalue > 1e-6


def test_key_for_word_inverts_the_generator() -> None:
    """The inversion (why a private word must never be released) round-trips exactly."""
    for w in (0, 1, 2**63, 2**64 - 1, 0x0123456789ABCDEF):
        for counter in (0, 7):
            key = NR.key_for_word(w, counter)
            assert int(_words(key, np.array([counter], dtype=np.int64))[0]) == w
