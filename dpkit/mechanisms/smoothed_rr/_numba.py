"""numba kernel of smoothed RR's release (same LAW as the numpy reference).

Randomness: the shared counter-based SplitMix64 stream of :mod:`dpkit._numba_random` (Steele,
Lea, Flood 2014), keys from the caller's numpy Generator (:func:`~dpkit._numba_random.seed_key`),
so results are deterministic given ``rng`` and independent of the thread count. The release
flip ½e^{−ε|z|/Δ} is the shared log-space Bernoulli (64-bit cells, exact to 2^−64): a 53-bit
uniform compared with it made flips below 2^−54 impossible, an infinite privacy loss against a
neighbour nearer the threshold. Not hardened against floating-point attacks.

The sequential-learning simulator's kernels are in :mod:`.sequential._numba`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ..._numba_random import bernoulli

__all__ = ["respond_numba"]

_LOG_HALF = math.log(0.5)


@njit(cache=True, parallel=True)
def respond_numba(v: np.ndarray, t: np.ndarray, rate: float, key: np.uint64) -> np.ndarray:
    """Smoothed-RR bits (int8 ±1): flip sign(v − t) with probability ½·exp(−rate·|v − t|),
    decided as log U < log ½ − rate·|v − t| (shared log-space Bernoulli, word i of ``key``)."""
    n = v.size
    out = np.empty(n, dtype=np.int8)
    for i in prange(n):
        d = v[i] - t[i]
        a = 1 if d > 0.0 else -1
        # p ≤ ½, so only log p is read (the log(1 − p) argument is unused)
        if bernoulli(key, i, _LOG_HALF - rate * abs(d), 0.0):
            a = -a
        out[i] = a
    return out
