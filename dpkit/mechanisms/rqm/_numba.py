"""numba kernel of RQM (same law as the numpy reference, sampled differently).

Randomness: one 64-bit key is drawn from the caller's numpy Generator per call; coordinate i
uses counter-based SplitMix64 outputs (Steele, Lea, Flood 2014) of (key, 2i), (key, 2i + 1)
(table path) or (key, 3i..3i+2) (logarithm path), so the result is deterministic given ``rng``
and independent of the number of threads. Each output gives a 53-bit uniform.

Table path (0 < q, 2 < m ≤ 512): the pmf of RQM is affine in x on each cell [B_j, B_{j+1}]
(spec §3), so with f = (x − B_j)/s the law of x is the mixture (1 − f)·P_{B_j} + f·P_{B_{j+1}}
of the laws at the two levels around it. The kernel picks the right level with probability f
(one uniform), then draws the index from that level's law with a Vose alias table (Vose 1991;
one uniform, no logarithm). The m level laws come from the closed-form pmf
(:func:`dpkit.mechanisms.rqm.log_pmf` at the level positions), built once per (m, q) and
cached; m² table entries. Two uniforms and one table look-up per coordinate, against three
uniforms and two look-ups for the geometric walk.

Logarithm path (m > 512, and q = 0 or m = 2 where only the end levels can be neighbours):
the geometric walk of the reference, gaps by inversion ⌊log(1 − u)/log(1 − q)⌋, then unbiased
rounding.

NaN/inf are detected inside the kernel (no separate pass) and refused with their positions.
Not hardened against floating-point attacks (events of probability below ~2^−53 may be
impossible, as in the reference).
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
#: Alias tables (m² entries) are used up to this many levels; beyond, logarithms.
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
def _alias_rows(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vose alias tables of each row of the weight matrix w (rows need not be normalised).

    Row r is sampled as: n = ⌊u·K⌋ (K = w.shape[1]), keep n if frac(u·K) < prob[r, n], else
    alias[r, n]. Atoms of weight 0 get prob 0 (never kept directly).
    """
    rows, k = w.shape
    prob = np.ones((rows, k))
    alias = np.zeros((rows, k), dtype=np.int32)
    small = np.empty(k, dtype=np.int64)
    large = np.empty(k, dtype=np.int64)
    scaled = np.empty(k)
    for row in range(rows):
        total = 0.0
        for n in range(k):
            total += w[row, n]
        for n in range(k):
            scaled[n] = w[row, n] * k / total
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
            prob[row, s_] = scaled[s_]
            alias[row, s_] = l_
            scaled[l_] = (scaled[l_] + scaled[s_]) - 1.0
            if scaled[l_] < 1.0:
                small[ns] = l_
                ns += 1
            else:
                large[nl] = l_
                nl += 1
        for r in range(nl):  # leftovers have probability 1 up to rounding
            prob[row, large[r]] = 1.0
            alias[row, large[r]] = large[r]
        for r in range(ns):
            prob[row, small[r]] = 1.0
            alias[row, small[r]] = small[r]
    return prob, alias


@njit(cache=True, parallel=True)
def _kernel_tables(x: np.ndarray, out: np.ndarray, clip: float, half: float,
                   inv_spacing: float, m: int, prob: np.ndarray, alias: np.ndarray,
                   key: np.uint64, bad: np.ndarray) -> None:
    """Encode x into out: pick the level B_j or B_{j+1} around x (B_{j+1} with probability
    f = t − j), then draw from that level's law (row-major alias tables, m × m). Sets
    bad[0] = 1 if some x is NaN/inf (its output is then meaningless)."""
    for i in prange(x.size):
        xv = x[i]
        if not math.isfinite(xv):
            bad[0] = 1
            xv = 0.0
        xi = min(max(xv, -clip), clip)
        t = (xi + half) * inv_spacing
        j = min(max(int(t), 0), m - 2)
        base = np.uint64(2) * np.uint64(i)
        row = j + (_uniform(key, base) < t - j)
        v = _uniform(key, base + np.uint64(1)) * m
        n = min(int(v), m - 1)
        r = row * m + n
        out[i] = n if v - n < prob[r] else alias[r]


@njit(cache=True, parallel=True)
def _kernel_log(x: np.ndarray, out: np.ndarray, clip: float, half: float, inv_spacing: float,
                m: int, inv_log: float, walk: bool, key: np.uint64, bad: np.ndarray) -> None:
    """Encode x into out; gaps by inversion ⌊log(1 − u)/log(1 − q)⌋ (or none: q = 0).
    Sets bad[0] = 1 if some x is NaN/inf."""
    for i in prange(x.size):
        xv = x[i]
        if not math.isfinite(xv):
            bad[0] = 1
            xv = 0.0
        xi = min(max(xv, -clip), clip)
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


_TABLES: dict[tuple[int, float], tuple[np.ndarray, np.ndarray]] = {}


def _tables(m: int, q: float) -> tuple[np.ndarray, np.ndarray]:
    key = (m, q)
    if key not in _TABLES:
        if len(_TABLES) > 32:
            _TABLES.clear()
        from . import _log_pmf_positions

        laws = np.exp(_log_pmf_positions(m, q, np.arange(m, dtype=np.float64)))
        prob, alias = _alias_rows(laws)
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
    bad = np.zeros(1, dtype=np.int8)
    args = (flat, out, params.clip, params.half_width, 1.0 / params.spacing, m)
    if walk and m <= MAX_TABLE_LEVELS:
        prob, alias = _tables(m, q)
        _kernel_tables(*args, prob, alias, key, bad)
    else:  # large m (or q = 0, m = 2): the geometric walk with logarithms
        _kernel_log(*args, 1.0 / math.log1p(-q) if walk else -1.0, walk, key, bad)
    if bad[0]:
        V.finite_array(x=arr if arr.ndim else arr.reshape(1))  # raises, naming the positions
        raise DPKitError("x must be finite")  # pragma: no cover - finite_array raised
    return out.reshape(arr.shape)
