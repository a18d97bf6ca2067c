"""numba kernel of RQM (same law as the numpy reference, sampled differently).

Randomness: the shared counter-based SplitMix64 stream of :mod:`dpkit._numba_random` (Steele,
Lea, Flood 2014): one 64-bit key per call from the caller's numpy Generator
(:func:`~dpkit._numba_random.seed_key`); coordinate i reads words (key, 3i..3i+2), so the result
is deterministic given ``rng`` and independent of the number of threads.

Table path (0 < q, 2 < m ≤ 512): the pmf of RQM is affine in x on each cell [B_j, B_{j+1}]
(spec §3), so with f = (x − B_j)/s the law of x is the mixture (1 − f)·P_{B_j} + f·P_{B_{j+1}}
of the laws at the two levels around it. The kernel picks the right level with probability f
(one uniform), then draws the index from that level's law with a Vose alias table (Vose 1991;
one uniform, no logarithm). The m level laws come from the closed-form pmf
(:func:`dpkit.mechanisms.rqm._exact.log_pmf_positions` at the level positions), built once
per (m, q) and cached; m² table entries.

Logarithm path (m > 512, and q = 0 or m = 2 where only the end levels can be neighbours):
the geometric walk of the reference, gaps ⌊log U/log(1 − q)⌋ from the shared 64-bit
log-uniform, then unbiased rounding by the shared log-space Bernoulli with
log p = log(t − L) − log(U − L), log(1 − p) = log(U − t) − log(U − L).

Resolution (privacy review of the randomness): a 53-bit uniform compared with a probability p
resolves p only to 2^−53 absolute, so a tiny but positive probability becomes 0 (or is
inflated to 2^−53): an output impossible under one input and possible under a neighbour. Here

* every comparison of a 53-bit uniform is with a probability ≥ 2^−12 (``TINY``) on both sides,
  so its relative error is ≤ m·2^−41 (≤ 2.4e-10 for m ≤ 512);
* the smaller ones are decided with 2^−64 cells: the level choice when f or 1 − f < 2^−12
  (e.g. x just above a level) by the log-space Bernoulli, and the alias-table "keep" decision
  when an atom's scaled weight prob[r, n] < 2^−12 (the far levels, e.g. (1 − q)^k for large
  k; these atoms are never aliases in Vose's construction, so their whole mass is that
  decision) as U₂ < prob with U₂ = (w + ½)·2^−64 of a third word (relative rounding 2^−53);
* the logarithm path's gaps reach log 2^−65 (a gap of probability below ~2^−64 is cut, the
  residual of any finite-precision sampler, as in the JAX layer; docs/security.md), its rounding
  is exact to 2^−64 on both sides. Formerly the gaps came from log(1 − U) with 53-bit U (cut at
  2^−53) and the rounding compared U·(U − L) < t − L (p below 2^−54 impossible).

NaN/inf are detected inside the kernel (no separate pass) and refused with their positions.
Not hardened against floating-point attacks on the low bits (docs/security.md).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ... import _validate as V
from ..._numba_random import bernoulli, log_uniform, seed_key, uniform, word
from ...errors import DPKitError
from ...random import SecureGenerator
from ._exact import log_pmf_positions
from .params import RQMParams

__all__ = ["quantize_numba", "MAX_TABLE_LEVELS", "TINY"]

#: Alias tables (m² entries) are used up to this many levels; beyond, logarithms.
MAX_TABLE_LEVELS = 512
#: Probabilities below this are decided by the log-space Bernoulli, not a 53-bit uniform.
TINY = 2.0**-12


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


@njit(cache=True, inline="always")
def _cell(key: np.uint64, counter: np.uint64) -> float:
    """U = (w + ½)·2^−64 for the word w at ``counter``, in float64: the shared layer's 2^−64
    cells (those of :func:`dpkit._numba_random.log_uniform`, without the logarithm; relative
    rounding 2^−53), so U < p is exact to 2^−64 for a tiny p."""
    w = word(key, counter)
    return (np.float64(np.int64(w >> np.uint64(11)))
            + (np.float64(np.int64(w & np.uint64(2047))) + 0.5) * 2.0**-11) * 2.0**-53


@njit(cache=True, parallel=True)
def _kernel_tables(x: np.ndarray, out: np.ndarray, clip: float, half: float,
                   inv_spacing: float, m: int, prob: np.ndarray, alias: np.ndarray,
                   key: np.uint64, bad: np.ndarray) -> None:
    """Encode x into out: pick the level B_j or B_{j+1} around x (B_{j+1} with probability
    f = t − j), then draw from that level's law (row-major alias tables, m × m). Sets
    bad[0] = 1 if some x is NaN/inf (its output is then meaningless).

    Two passes keep the hot loop branch-free (vectorisable): the first compares 53-bit
    uniforms everywhere and flags the coordinates where a compared probability is < ``TINY``;
    the second redoes exactly those decisions with the same words: the level choice by the
    log-space Bernoulli, a tiny atom's keep decision as U₂ < prob with U₂ = (w + ½)·2^−64
    from the third word (:func:`_cell`).
    """
    nx = x.size
    flag = np.empty(nx, dtype=np.uint8)  # every entry is written by the first pass
    for i in prange(nx):
        xv = x[i]
        if not math.isfinite(xv):
            bad[0] = 1
            xv = 0.0
        xi = min(max(xv, -clip), clip)
        t = (xi + half) * inv_spacing
        j = min(max(int(t), 0), m - 2)
        base = np.uint64(3) * np.uint64(i)
        f = t - j
        row = j + (uniform(key, base) < f)
        v = uniform(key, base + np.uint64(1)) * m
        n = min(int(v), m - 1)
        r = row * m + n
        pr = prob[r]
        out[i] = n if v - n < pr else alias[r]
        flag[i] = (f < TINY) | ((j + 1) - t < TINY) | (pr < TINY)
    for i in prange(nx):
        if flag[i]:
            xv = x[i]
            if not math.isfinite(xv):
                xv = 0.0
            xi = min(max(xv, -clip), clip)
            t = (xi + half) * inv_spacing
            j = min(max(int(t), 0), m - 2)
            base = np.uint64(3) * np.uint64(i)
            f = t - j
            g = (j + 1) - t
            if f >= TINY and g >= TINY:
                row = j + (uniform(key, base) < f)
            else:  # f or 1 − f tiny (x next to a level): exact to 2^−64 in log space
                row = j + bernoulli(key, base, math.log(f), math.log(g))
            v = uniform(key, base + np.uint64(1)) * m
            n = min(int(v), m - 1)
            r = row * m + n
            if prob[r] >= TINY:
                keep = v - n < prob[r]
            else:  # a far level's atom (never an alias): its whole mass is this decision
                keep = _cell(key, base + np.uint64(2)) < prob[r]
            out[i] = n if keep else alias[r]


@njit(cache=True, inline="always")
def _walk_bounds(key: np.uint64, base: np.uint64, j: int, m: int, inv_log: float,
                 walk: bool) -> tuple[int, int]:
    """The kept levels L ≤ j < U around cell j: gaps ⌊log U/log(1 − q)⌋ (``inv_log`` =
    1/log(1 − q)) from the 64-bit log-uniforms at counters base, base + 1, truncated at the
    end levels (q = 0 or ``walk`` False: the end levels)."""
    lo = 0
    hi = m - 1
    if walk:
        g = log_uniform(key, base) * inv_log
        if g < j:
            lo = j - int(g)
        g = log_uniform(key, base + np.uint64(1)) * inv_log
        if g < m - 2 - j:
            hi = j + 1 + int(g)
    return lo, hi


@njit(cache=True, parallel=True)
def _kernel_log(x: np.ndarray, out: np.ndarray, clip: float, half: float, inv_spacing: float,
                m: int, inv_log: float, walk: bool, key: np.uint64, bad: np.ndarray) -> None:
    """Encode x into out; gaps ⌊log U/log(1 − q)⌋ from 64-bit log-uniforms (or none: q = 0),
    rounding by the log-space Bernoulli. Sets bad[0] = 1 if some x is NaN/inf."""
    for i in prange(x.size):
        xv = x[i]
        if not math.isfinite(xv):
            bad[0] = 1
            xv = 0.0
        xi = min(max(xv, -clip), clip)
        t = (xi + half) * inv_spacing
        j = min(max(int(t), 0), m - 2)
        base = np.uint64(3) * np.uint64(i)
        lo, hi = _walk_bounds(key, base, j, m, inv_log, walk)
        # up with probability (t − lo)/(hi − lo); t = lo: log p = −∞ (never), t = hi: always
        log_w = math.log(hi - lo)
        up = bernoulli(key, base + np.uint64(2), math.log(t - lo) - log_w,
                       math.log(hi - t) - log_w)
        out[i] = hi if up else lo


_TABLES: dict[tuple[int, float], tuple[np.ndarray, np.ndarray]] = {}


def _tables(m: int, q: float) -> tuple[np.ndarray, np.ndarray]:
    """(prob, alias) of the m level laws, row-major (cached per (m, q))."""
    key = (m, q)
    if key not in _TABLES:
        if len(_TABLES) > 32:
            _TABLES.clear()
        laws = np.exp(log_pmf_positions(m, q, np.arange(m, dtype=np.float64)))
        prob, alias = _alias_rows(laws)
        _TABLES[key] = (prob.ravel(), alias.ravel())
    return _TABLES[key]


def quantize_numba(params: RQMParams, x: np.ndarray,
                   gen: np.random.Generator | SecureGenerator) -> np.ndarray:
    """RQM indices of x with the numba kernel (see :func:`dpkit.mechanisms.rqm.quantize`)."""
    arr = np.asarray(x, dtype=np.float64, order="C")
    flat = arr.reshape(-1)
    out = np.empty(flat.size, dtype=params.index_dtype)
    m, q = params.num_levels, params.keep_prob
    walk = q > 0.0 and m > 2
    key = seed_key(gen)
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
