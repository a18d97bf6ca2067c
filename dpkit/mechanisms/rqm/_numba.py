"""numba kernel of RQM's geometric-walk sampler (same law as the numpy reference).

Randomness: one 64-bit key is drawn from the caller's numpy Generator per call; coordinate i
uses three counter-based SplitMix64 outputs (Steele, Lea, Flood 2014) of (key, 3i), (key,
3i+1), (key, 3i+2), so the result is deterministic given ``rng`` and independent of the
number of threads. Each output gives a 53-bit uniform. Law per coordinate (spec §2.1): cell
j, gaps g = ⌊log(u)/log(1−q)⌋ ~ Geometric(q) on each side (truncated at the end levels), then
unbiased rounding. Not hardened against floating-point attacks.
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


@njit(cache=True, inline="always")
def _mix(z: np.uint64) -> np.uint64:
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@njit(cache=True, inline="always")
def _uniform(key: np.uint64, counter: np.uint64) -> float:
    """A uniform in [0, 1) with 53 random bits from SplitMix64 at position ``counter``."""
    z = _mix(key + (counter + np.uint64(1)) * _GOLDEN)
    return float(z >> np.uint64(11)) * _INV53


@njit(cache=True, parallel=True)
def _kernel(x: np.ndarray, out: np.ndarray, clip: float, half: float, spacing: float,
            m: int, log1mq: float, walk: bool, key: np.uint64) -> int:
    """Encode x into out; returns the number of non-finite inputs (out is then garbage)."""
    n = x.size
    bad = 0
    for i in prange(n):
        xi = x[i]
        if not math.isfinite(xi):
            bad += 1
            continue
        xi = min(max(xi, -clip), clip)
        t = (xi + half) / spacing
        j = int(math.floor(t))
        j = min(max(j, 0), m - 2)
        base = np.uint64(3) * np.uint64(i)
        if walk:
            u1 = 1.0 - _uniform(key, base)  # (0, 1]
            u2 = 1.0 - _uniform(key, base + np.uint64(1))
            g1 = math.floor(math.log(u1) / log1mq)
            g2 = math.floor(math.log(u2) / log1mq)
            lo = j - int(g1) if g1 < j else 0
            hi = j + 1 + int(g2) if g2 < m - 2 - j else m - 1
        else:
            lo = 0
            hi = m - 1
        p_up = (t - lo) / (hi - lo)
        out[i] = hi if _uniform(key, base + np.uint64(2)) < p_up else lo
    return bad


def quantize_numba(params: Any, x: Any, gen: Any) -> np.ndarray:
    """RQM indices of x with the numba kernel (see :func:`dpkit.mechanisms.rqm.quantize`)."""
    from ... import _validate as V

    arr = np.asarray(x, dtype=np.float64, order="C")
    flat = arr.reshape(-1)
    out = np.empty(flat.size, dtype=params.index_dtype)
    m, q = params.num_levels, params.keep_prob
    walk = q > 0.0 and m > 2
    log1mq = math.log1p(-q) if walk else -1.0
    key = np.uint64(int(gen.integers(0, 2**63)) * 2 + int(gen.integers(0, 2)))
    bad = _kernel(flat, out, params.clip, params.half_width, params.spacing, m, log1mq, walk,
                  key)
    if bad:
        V.finite_array(x=arr if arr.ndim else arr.reshape(1))  # raises, naming the positions
        raise DPKitError("x must be finite")  # pragma: no cover - finite_array raised
    return out.reshape(arr.shape)
