"""numba kernels of :mod:`._kernels` (imported only when numba is used: see there)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._rounding import TILT_ROUNDING

__all__ = ["grid_deltas", "tilt_fold", "untilt"]


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


@njit(cache=True)
def tilt_fold(masses: np.ndarray, lower: int, step: float, lam: float, n: int
              ) -> tuple[np.ndarray, float, float]:
    """:func:`._kernels.tilt_fold_reference` in three loops (the same ``rel`` bound: it
    holds for libm's log/exp as for numpy's)."""
    k = masses.size
    lr = np.empty(k)
    mx = -np.inf
    mn = np.inf
    for i in range(k):
        m = masses[i]
        if m > 0.0:
            v = math.log(m) + lam * ((lower + i) * step)
            lr[i] = v
            mx = max(mx, v)
            mn = min(mn, v)
        else:
            lr[i] = -np.inf
    sr = 0.0
    for i in range(k):
        e = math.exp(lr[i] - mx)
        lr[i] = e
        sr += e
    out = np.zeros(n)
    start = lower % n
    for i in range(k):
        j = (start + i) % n
        out[j] += lr[i] / sr
    lmax = abs(lam) * max(abs(lower * step), abs((lower + k - 1) * step))
    rel = TILT_ROUNDING * (3.0 * abs(mx) + 2.0 * (mx - mn) + 4.0 * lmax
                           + abs(math.log(sr)) + 8.0)
    return out, mx + math.log(sr), rel


@njit(cache=True)
def untilt(r: np.ndarray, start: int, keep: int, eta: float, k_tot: float, lam_step: float,
           lo_index: int, cap: float, total: float) -> tuple[np.ndarray, int, float]:
    """:func:`._kernels.untilt_reference` in two loops (the suffix sums from the top, in the
    reference's ``cumsum`` order)."""
    n = r.size
    m = np.empty(keep)
    for i in range(keep):
        j = start + i
        if j >= n:
            j -= n
        x = r[j]
        lp = math.log((x if x > 0.0 else 0.0) + eta) + (k_tot - lam_step * (lo_index + i))
        m[i] = math.exp(min(lp, cap))
    s = 0.0
    j0 = -1
    for i in range(keep - 1, -1, -1):
        s += m[i]
        if s >= total:
            j0 = i
            break
    if j0 >= 0:
        return m[j0:].copy(), j0, 0.0
    added = total - s
    m[0] += added
    return m, 0, added
