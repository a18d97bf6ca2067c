"""numba kernel of RQM's geometric-walk sampler (same law as the numpy reference).

Randomness: one 64-bit key is drawn from the caller's numpy Generator per call; coordinate i
uses three counter-based SplitMix64 outputs (Steele, Lea, Flood 2014) of (key, 3i), (key,
3i+1), (key, 3i+2), so the result is deterministic given ``rng`` and independent of the
number of threads. Each output gives a 53-bit uniform. Law per coordinate (spec §2.1): cell
j, then the two gaps min(Geometric(q), cap) to the nearest kept level on each side (cap = j on
the left, m − 2 − j on the right: the end levels are always kept), each drawn from a Vose
alias table of that truncated law (Vose 1991; one uniform per gap, no logarithm), then
unbiased rounding. Tables cost O(m²) memory, built once per (m, q), for m ≤ 512; larger m
inverts the geometric law with a logarithm instead. Not hardened against
floating-point attacks.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit, prange

from ...errors import DPKitError

__all__ = ["quantize_numba"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53
#: Alias tables ((m−1)² entries) are used up to this many levels; beyond, logarithms.
MAX_TABLE_LEVELS = 512


@njit(cache=True, inline="always")
def _mix(z: np.uint64) -> np.uint64:
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@njit(cache=True, inline="always")
def _uniform(key: np.uint64, counter: np.uint64) -> float:
    """A uniform in [0, 1) with 53 random bits from SplitMix64 at position ``counter``."""
    z = _mix(key + (counter + np.uint64(1)) * _GOLDEN)
    return np.int64(z >> np.uint64(11)) * _INV53


@njit(cache=True)
def _alias_tables(m: int, q: float) -> tuple[np.ndarray, np.ndarray]:
    """Vose alias tables of the truncated gap G_cap = min(Geometric(q), cap), cap = 0..m−2.

    Row ``cap`` holds cap + 1 atoms: P(G = n) = q(1−q)^n for n < cap, (1−q)^cap for n = cap.
    """
    size = m - 1
    prob = np.ones((size, size))
    alias = np.zeros((size, size), dtype=np.int32)
    small = np.empty(size, dtype=np.int64)
    large = np.empty(size, dtype=np.int64)
    scaled = np.empty(size)
    for cap in range(size):
        k = cap + 1
        for n in range(k):
            w = (1.0 - q) ** cap if n == cap else q * (1.0 - q) ** n
            scaled[n] = w * k
        ns = 0
        nl = 0
        for n in range(k):
            if scaled[n] < 1.0:
                small[ns] = n
                ns += 1
            else:
                large[nl] = n
                nl += 1
        while ns > 0 and nl > 0:
            ns -= 1
            s_ = small[ns]
            nl -= 1
            l_ = large[nl]
            prob[cap, s_] = scaled[s_]
            alias[cap, s_] = l_
            scaled[l_] = (scaled[l_] + scaled[s_]) - 1.0
            if scaled[l_] < 1.0:
                small[ns] = l_
                ns += 1
            else:
                large[nl] = l_
                nl += 1
        for r in range(nl):  # leftovers have probability 1 up to rounding
            prob[cap, large[r]] = 1.0
            alias[cap, large[r]] = large[r]
        for r in range(ns):
            prob[cap, small[r]] = 1.0
            alias[cap, small[r]] = small[r]
    return prob, alias


@njit(cache=True, parallel=True)
def _kernel_tables(x: np.ndarray, out: np.ndarray, clip: float, half: float,
                   inv_spacing: float, m: int, prob: np.ndarray, alias: np.ndarray,
                   key: np.uint64) -> None:
    """Encode finite x into out; gaps from the flattened alias tables (row cap = 0..m−2)."""
    size = m - 1
    for i in prange(x.size):
        xi = min(max(x[i], -clip), clip)
        t = (xi + half) * inv_spacing
        j = min(max(int(t), 0), m - 2)
        base = np.uint64(3) * np.uint64(i)
        # left gap: min(Geometric(q), j) from row j; right gap: row m − 2 − j
        v = _uniform(key, base) * (j + 1)
        n = int(v)
        r = j * size + n
        lo = j - (n if v - n < prob[r] else alias[r])
        cap = m - 2 - j
        v = _uniform(key, base + np.uint64(1)) * (cap + 1)
        n = int(v)
        r = cap * size + n
        hi = j + 1 + (n if v - n < prob[r] else alias[r])
        # round up with probability (t − lo)/(hi − lo)
        out[i] = hi if _uniform(key, base + np.uint64(2)) * (hi - lo) < t - lo else lo


@njit(cache=True, parallel=True)
def _kernel_log(x: np.ndarray, out: np.ndarray, clip: float, half: float, inv_spacing: float,
                m: int, inv_log: float, walk: bool, key: np.uint64) -> None:
    """Encode finite x into out; gaps by inversion ⌊log(1 − u)/log(1 − q)⌋ (or none: q = 0)."""
    for i in prange(x.size):
        xi = min(max(x[i], -clip), clip)
        t = (xi + half) * inv_spacing
        j = min(max(int(t), 0), m - 2)
        base = np.uint64(3) * np.uint64(i)
        lo = 0
        hi = m - 1
        if walk:
            g = math.log(1.0 - _uniform(key, base)) * inv_log
            if g < j:
                lo = j - int(g)
            g = math.log(1.0 - _uniform(key, base + np.uint64(1))) * inv_log
            if g < m - 2 - j:
                hi = j + 1 + int(g)
        out[i] = hi if _uniform(key, base + np.uint64(2)) * (hi - lo) < t - lo else lo


@njit(cache=True, parallel=True)
def _all_finite(x: np.ndarray) -> bool:
    """Whether every entry is finite (x − x is 0 for finite x, NaN for NaN and ±inf)."""
    acc = 0.0
    for i in prange(x.size):
        acc += x[i] - x[i]
    return acc == 0.0


_TABLES: dict[tuple[int, float], tuple[np.ndarray, np.ndarray]] = {}


def _tables(m: int, q: float) -> tuple[np.ndarray, np.ndarray]:
    key = (m, q)
    if key not in _TABLES:
        if len(_TABLES) > 32:
            _TABLES.clear()
        prob, alias = _alias_tables(m, q)
        _TABLES[key] = (prob.ravel(), alias.ravel())
    return _TABLES[key]


def quantize_numba(params: Any, x: Any, gen: Any) -> np.ndarray:
    """RQM indices of x with the numba kernel (see :func:`dpkit.mechanisms.rqm.quantize`)."""
    from ... import _validate as V

    arr = np.asarray(x, dtype=np.float64, order="C")
    flat = arr.reshape(-1)
    out = np.empty(flat.size, dtype=params.index_dtype)
    m, q = params.num_levels, params.keep_prob
    walk = q > 0.0 and m > 2
    key = np.uint64((int(gen.integers(0, 2**32)) << 32) | int(gen.integers(0, 2**32)))
    if not _all_finite(flat):
        V.finite_array(x=arr if arr.ndim else arr.reshape(1))  # raises, naming the positions
        raise DPKitError("x must be finite")  # pragma: no cover - finite_array raised
    args = (flat, out, params.clip, params.half_width, 1.0 / params.spacing, m)
    if walk and m <= MAX_TABLE_LEVELS:
        prob, alias = _tables(m, q)
        _kernel_tables(*args, prob, alias, key)
    else:  # large m (or q = 0): invert the geometric law with a logarithm
        _kernel_log(*args, 1.0 / math.log1p(-q) if walk else -1.0, walk, key)
    return out.reshape(arr.shape)
