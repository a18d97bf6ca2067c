"""numba kernels of the frequency oracles (same law as the numpy reference, tested).

Randomness: the shared counter-based SplitMix64 layer :mod:`dpkit._numba_random` (Steele,
Lea, Flood 2014): one 64-bit key per call is drawn from the caller's numpy Generator
(``seed_key``); user i reads word k of its own stream ``word(stream(key, i), k)``, so results
do not depend on the number of threads. Bernoulli draws compare a 53-bit uniform
(``NR.uniform``) with the probability (rates resolved to 2^−53); bounded integers use Lemire's
unbiased multiply-and-reject method (Lemire 2019), so "a uniform other item" is exactly
uniform. The OLH hash is the one of :mod:`._hash` (bit-equal, tested). OLH's public seeds (fresh
64-bit seeds or pool indices) are drawn on the host from
:func:`dpkit.random.public_generator` (a generator separate from the caller's private one),
never from the kernel's private streams: SplitMix's ``mix`` is an invertible bijection, so a
published word would give the server its stream key and with it every flip decision of the
batch (tested). Not hardened: the hardened tier (a SecureGenerator) never reaches these
kernels (:func:`dpkit.random.route_backend` runs the numpy reference instead).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ... import _numba_random as NR
from ...random import SecureGenerator, public_generator
from .._rr import flip_probability
from ._hash import draw_seeds
from .params import GRR, OLH, OUE, OLHReports, Oracle

__all__ = ["perturb_numba", "olh_support_pool", "olh_support_fresh", "olh_hash_numba"]

_MASK32 = np.uint64(0xFFFFFFFF)
_mix = NR.mix
_word = NR.word


@njit(cache=True, inline="always")
def _bounded(base: np.uint64, k: int, m: np.uint64) -> tuple[np.uint64, int]:
    """Uniform integer in [0, m), m ≤ 2^32 (Lemire); returns (value, next counter)."""
    two32 = np.uint64(1) << np.uint64(32)
    thr = (two32 - m) % m
    while True:
        r = _word(base, k) >> np.uint64(32)
        k += 1
        prod = r * m
        if (prod & _MASK32) >= thr:
            return prod >> np.uint64(32), k


@njit(cache=True, inline="always")
def _fmix32(v: np.uint64) -> np.uint64:
    h = v & _MASK32
    h ^= h >> np.uint64(16)
    h = (h * np.uint64(0x85EBCA6B)) & _MASK32
    h ^= h >> np.uint64(13)
    h = (h * np.uint64(0xC2B2AE35)) & _MASK32
    return h ^ (h >> np.uint64(16))


@njit(cache=True, inline="always")
def _hash(a: np.uint64, b: np.uint64, v: np.uint64, g: np.uint64) -> np.uint64:
    z = (a * _fmix32(v) + b) >> np.uint64(32)
    return (z * g) >> np.uint64(32)


@njit(cache=True, inline="always")
def _coeffs(s: np.uint64) -> tuple[np.uint64, np.uint64]:
    return _mix(s + NR.GOLDEN), _mix(s + NR.GOLDEN * np.uint64(2))


@njit(cache=True, inline="always")
def _grr_one(base: np.uint64, k: int, v: np.int64, flip: float,
             m: np.uint64) -> tuple[np.int64, int]:
    # draw the flip (u < 1 − p), so that grid rounding can only raise it (reference.py)
    if not NR.uniform(base, k) < flip:
        return v, k + 1
    r, k = _bounded(base, k + 1, m - np.uint64(1))
    o = np.int64(r)
    if o >= v:
        o += 1
    return o, k


@njit(cache=True, parallel=True)
def _grr_kernel(key: np.uint64, v: np.ndarray, flip: float, d: int) -> np.ndarray:
    n = v.size
    out = np.empty(n, dtype=np.int64)
    for i in prange(n):
        base = NR.stream(key, i)
        out[i], _ = _grr_one(base, 0, v[i], flip, np.uint64(d))
    return out


@njit(cache=True, parallel=True)
def _oue_kernel(key: np.uint64, v: np.ndarray, q: float, d: int) -> np.ndarray:
    n = v.size
    out = np.empty((n, d), dtype=np.uint8)
    for i in prange(n):
        base = NR.stream(key, i)
        for u in range(d):
            out[i, u] = 1 if NR.uniform(base, u) < q else 0
        out[i, v[i]] = 1 if NR.uniform(base, d) < 0.5 else 0
    return out


@njit(cache=True, parallel=True)
def _olh_kernel(key: np.uint64, v: np.ndarray, seeds: np.ndarray, flip: float, g: int,
                pool: int, pool_seed: np.uint64) -> np.ndarray:
    """Buckets y of OLH reports whose public ``seeds`` (pool indices when ``pool`` > 0) were
    drawn on the host. The private stream of user i (key ``stream(key, i)``) feeds only the
    GRR: no word of it is ever published (a published SplitMix word inverts to its stream key,
    and from it every other word of that stream and of the batch's streams)."""
    n = v.size
    out = np.empty(n, dtype=np.int64)
    gg = np.uint64(g)
    for i in prange(n):
        base = NR.stream(key, i)
        if pool > 0:
            s = (pool_seed << np.uint64(32)) + seeds[i]
        else:
            s = seeds[i]
        a, b = _coeffs(s)
        x = np.int64(_hash(a, b, np.uint64(v[i]), gg))
        out[i], _ = _grr_one(base, 0, x, flip, gg)
    return out


def perturb_numba(o: Oracle, v: np.ndarray,
                  gen: np.random.Generator | SecureGenerator) -> np.ndarray | OLHReports:
    """Reports of the validated items ``v`` (int64) with the numba kernels."""
    key = NR.seed_key(gen)
    if isinstance(o, GRR):
        return _grr_kernel(key, v, flip_probability(o.epsilon, o.domain_size), o.domain_size)
    if isinstance(o, OUE):
        return _oue_kernel(key, v, o.q, o.domain_size)
    if isinstance(o, OLH):
        # public seeds from a separate generator (as the numpy reference), independent of
        # the private key drawn above: the server sees them, so they must not be words of the
        # kernel's private SplitMix streams (mix is invertible) nor of the caller's stream.
        seeds = draw_seeds(o.num_hashes, v.size, public_generator(gen))
        pool = 0 if o.num_hashes is None else o.num_hashes
        y = _olh_kernel(key, v, seeds, flip_probability(o.epsilon, o.g), o.g, pool,
                        np.uint64(o.pool_seed))
        return OLHReports(seeds, y)
    raise TypeError(type(o))  # pragma: no cover - validated by the caller


@njit(cache=True, parallel=True)
def olh_support_pool(counts: np.ndarray, a: np.ndarray, b: np.ndarray, cand: np.ndarray,
                     g: int) -> np.ndarray:
    """C(c) = Σ_j counts[j, H_j(c)] for each candidate: O(S·|candidates|), independent of N."""
    out = np.zeros(cand.size, dtype=np.int64)
    gg = np.uint64(g)
    for i in prange(cand.size):
        c = np.uint64(cand[i])
        tot = 0
        for j in range(a.size):
            tot += counts[j, _hash(a[j], b[j], c, gg)]
        out[i] = tot
    return out


@njit(cache=True, parallel=True)
def olh_support_fresh(seeds: np.ndarray, buckets: np.ndarray, cand: np.ndarray,
                      g: int) -> np.ndarray:
    """C(c) = #{reports with H_s(c) = y}: O(N·|candidates|) (fresh per-user seeds)."""
    n = seeds.size
    a = np.empty(n, dtype=np.uint64)
    b = np.empty(n, dtype=np.uint64)
    for i in prange(n):
        a[i], b[i] = _coeffs(seeds[i])
    out = np.zeros(cand.size, dtype=np.int64)
    gg = np.uint64(g)
    for i in prange(cand.size):
        c = np.uint64(cand[i])
        tot = 0
        for r in range(n):
            if np.int64(_hash(a[r], b[r], c, gg)) == buckets[r]:
                tot += 1
        out[i] = tot
    return out


@njit(cache=True)
def olh_hash_numba(a: np.ndarray, b: np.ndarray, v: np.ndarray, g: int) -> np.ndarray:
    """H(v) elementwise (for the bit-equality test against numpy)."""
    out = np.empty(v.size, dtype=np.int64)
    for i in range(v.size):
        out[i] = np.int64(_hash(a[i], b[i], np.uint64(v[i]), np.uint64(g)))
    return out
