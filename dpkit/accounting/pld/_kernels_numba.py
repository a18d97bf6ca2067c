"""numba kernels of :mod:`._kernels` (imported only when numba is used: see there)."""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["grid_deltas"]


@njit(cache=True)
def grid_deltas(p: np.ndarray, a: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`._kernels.grid_deltas_reference` in one reverse loop: the suffix sums S0 and
    U (U[j] = p_j + a·U[j+1], the reference's ``lfilter`` recursion) in the reference's
    order, so the result is the same bit for bit."""
    k = p.size
    s0 = np.empty(k)
    u = np.empty(k)
    d = np.empty(k)
    s = 0.0
    v = 0.0
    for i in range(k - 1, -1, -1):
        s += p[i]
        v = p[i] + a * v
        s0[i] = s
        u[i] = v
    for i in range(k - 1):
        x = s0[i + 1] - a * u[i + 1]
        d[i] = x if x > 0.0 else 0.0
    d[k - 1] = 0.0
    return d, s0, u
