"""numba kernels of :mod:`._kernels` (imported only when numba is used: see there)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._rounding import TILT_ROUNDING

__all__ = ["grid_deltas", "tilt_fold", "untilt", "split", "moments"]


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


#: Block length of the exponential tables of :func:`untilt` and :func:`tilt_fold`.
_BLOCK = 256


@njit(cache=True)
def _ramp(c0: float, slope: float, i0: int, count: int, table: np.ndarray,
          out: np.ndarray) -> bool:
    """out[k] = e^{c0 + slope·(i0 + k)} for k < count, as e^{c0 + slope·(i0 + bB)}·e^{slope·r}
    (k = bB + r, table[r] = e^{slope·r}): two exps per block of B instead of one per entry.
    Each factor is ≤ 1 ulp of libm's exp on an argument rounded to u·|argument|, their
    product another ½ ulp: within the slack of :func:`._kernels.untilt_reference`'s caller.
    False (and ``out`` unusable) when a block's factor over- or underflows."""
    for b0 in range(0, count, _BLOCK):
        arg = c0 + slope * (i0 + b0)
        if not (-700.0 < arg < 700.0):
            return False
        base = math.exp(arg)
        for r in range(min(_BLOCK, count - b0)):
            out[b0 + r] = base * table[r]
    return True


@njit(cache=True)
def _table(slope: float) -> np.ndarray:
    t = np.empty(_BLOCK)
    for r in range(_BLOCK):
        t[r] = math.exp(slope * r)
    return t


@njit(cache=True)
def untilt(r: np.ndarray, start: int, keep: int, eta: float, k_tot: float, lam_step: float,
           lo_index: int, cap: float, total: float) -> tuple[np.ndarray, int, float]:
    """:func:`._kernels.untilt_reference` in two loops (the suffix sums from the top, in the
    reference's ``cumsum`` order). The factor e^{k_tot − lam_step·(lo_index + i)} comes from
    :func:`_ramp` when its exponents stay within ±700 (w·e^{c} instead of e^{log w + c}: no
    log, one product per entry; the same rounding allowance), else entry by entry."""
    n = r.size
    m = np.empty(keep)
    ok = False
    if abs(lam_step) * _BLOCK < 700.0:
        ok = _ramp(k_tot, -lam_step, lo_index, keep, _table(-lam_step), m)
    top = math.exp(cap) if cap < 709.0 else np.inf
    for i in range(keep):
        j = start + i
        if j >= n:
            j -= n
        x = r[j]
        w = (x if x > 0.0 else 0.0) + eta
        if ok:
            m[i] = min(w * m[i], top)
        else:
            lp = math.log(w) + (k_tot - lam_step * (lo_index + i))
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


@njit(cache=True)
def _tilt_fold_logs(masses: np.ndarray, lower: int, step: float, lam: float, n: int
                    ) -> tuple[np.ndarray, float, float]:
    """:func:`tilt_fold` entry by entry (log and exp of each mass: the reference's steps)."""
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
        out[(start + i) % n] += lr[i] / sr
    lmax = abs(lam) * max(abs(lower * step), abs((lower + k - 1) * step))
    rel = TILT_ROUNDING * (3.0 * abs(mx) + 2.0 * (mx - mn) + 4.0 * lmax
                           + abs(math.log(sr)) + 8.0)
    return out, mx + math.log(sr), rel


@njit(cache=True)
def tilt_fold(masses: np.ndarray, lower: int, step: float, lam: float, n: int
              ) -> tuple[np.ndarray, float, float]:
    """:func:`._kernels.tilt_fold_reference` without a log or exp per entry where it can:
    y_i = m_i·e^{λℓ_i − M} from :func:`_ramp`, M = log max m + max λℓ (≥ every log m_i +
    λℓ_i, so y_i ≤ 1), then x = y/Σy and lm = M + log Σy. Its ``rel`` bounds this arithmetic:
    the ramp factor is within (5 + |argument|)·u of exact, the product and the division ½ ulp
    each, lm within u·(|M| + |log Σy|) + 1 ulp: TILT_ROUNDING·(3|M| + 4|λ|·max|ℓ| +
    |log Σy| + 8) covers it. Entries that underflow (y < 1e-308 while max y > 1e-200, i.e.
    ≤ 1e-108 of the largest) drop ≤ n·1e-108 of the normalized unit mass, which moves each
    composed entry by ≤ K·n·1e-108 (K compositions), far inside the 1 % margin of the FFT's
    rounding floor η (≥ ~1e-19 from the DC bin alone) added to every output; the reference's
    exp underflows the same entries. Entry by entry (the reference's steps) when the ramp
    over- or underflows or the largest y is below 1e-200."""
    k = masses.size
    ell0 = lower * step
    ell1 = (lower + k - 1) * step
    lmax = abs(lam) * max(abs(ell0), abs(ell1))
    mmax = 0.0
    for i in range(k):
        mmax = max(mmax, masses[i])
    big = math.log(mmax) + max(lam * ell0, lam * ell1)
    y = np.empty(k)
    slope = lam * step
    if not (abs(slope) * _BLOCK < 700.0 and _ramp(-big, slope, lower, k, _table(slope), y)):
        return _tilt_fold_logs(masses, lower, step, lam, n)
    sr = 0.0
    ymax = 0.0
    for i in range(k):
        v = masses[i] * y[i]
        y[i] = v
        sr += v
        ymax = max(ymax, v)
    if not ymax > 1e-200:
        return _tilt_fold_logs(masses, lower, step, lam, n)
    out = np.zeros(n)
    start = lower % n
    for i in range(k):
        out[(start + i) % n] += y[i] / sr
    rel = TILT_ROUNDING * (3.0 * abs(big) + 4.0 * lmax + abs(math.log(sr)) + 8.0)
    return out, big + math.log(sr), rel


@njit(cache=True)
def split(losses: np.ndarray, p: np.ndarray, step: float, round_up: bool
          ) -> tuple[np.ndarray, np.int64]:
    """:func:`._kernels.split_reference` in two loops: the same per-atom arithmetic
    (``np.rint`` is numpy's ``round``; libm's ``expm1`` differs from numpy's by a few ulp,
    inside the split's own ~1e-10 allowance), and the two ``bincount`` sums accumulated
    separately in input order, then added (the same grid indices, bit for bit)."""
    m = losses.size
    ka = np.empty(m, dtype=np.int64)
    to_b = np.empty(m)
    den = -math.expm1(-step)
    kmin = np.int64(0)
    kmax = np.int64(0)
    for i in range(m):
        k = losses[i] / step
        kf = math.floor(k)
        kr = np.rint(k)
        near = kr >= k and kr - k <= 1e-9 * max(1.0, abs(k))
        kk = kr if near else kf
        if near:
            tb = 0.0
        elif round_up:
            tb = p[i]
        else:
            tb = p[i] * -math.expm1(kk * step - losses[i]) / den
            tb = min(max(tb, 0.0), p[i])  # np.clip(x, 0, p)
        ki = np.int64(kk)
        ka[i] = ki
        to_b[i] = tb
        if i == 0 or ki < kmin:
            kmin = ki
        if i == 0 or ki > kmax:
            kmax = ki
    n = kmax - kmin + 2
    lo = np.zeros(n)
    hi = np.zeros(n)
    for i in range(m):
        j = ka[i] - kmin
        lo[j] += p[i] - to_b[i]
        hi[j + 1] += to_b[i]
    return lo + hi, kmin


@njit(cache=True)
def moments(masses: np.ndarray, lower: int, step: float, lam: float) -> tuple[float, float]:
    """:func:`._kernels.moments_reference` (planning only): the tilted weights
    m_i·e^{λℓ_i − M} from :func:`_ramp` as in :func:`tilt_fold` (one log and exp per entry
    where the ramp over- or underflows), then the weighted mean and variance."""
    k = masses.size
    w = np.empty(k)
    if lam == 0.0:
        for i in range(k):
            w[i] = masses[i]
    else:
        ell0 = lower * step
        ell1 = (lower + k - 1) * step
        mmax = 0.0
        for i in range(k):
            mmax = max(mmax, masses[i])
        if not mmax > 0.0:
            return 0.0, 0.0
        big = math.log(mmax) + max(lam * ell0, lam * ell1)
        slope = lam * step
        ok = abs(slope) * _BLOCK < 700.0 and _ramp(-big, slope, lower, k, _table(slope), w)
        if ok:
            ymax = 0.0
            for i in range(k):
                w[i] *= masses[i]
                ymax = max(ymax, w[i])
            ok = ymax > 1e-200
        if not ok:  # entry by entry, shifted by the largest log-weight
            mx = -np.inf
            for i in range(k):
                if masses[i] > 0.0:
                    mx = max(mx, math.log(masses[i]) + lam * ((lower + i) * step))
            for i in range(k):
                if masses[i] > 0.0:
                    w[i] = math.exp(math.log(masses[i]) + lam * ((lower + i) * step) - mx)
                else:
                    w[i] = 0.0
    tot = 0.0
    s1 = 0.0
    for i in range(k):
        tot += w[i]
        s1 += w[i] * ((lower + i) * step)
    if not tot > 0.0:
        return 0.0, 0.0
    mu = s1 / tot
    s2 = 0.0
    for i in range(k):
        d = (lower + i) * step - mu
        s2 += w[i] * d * d
    return mu, s2 / tot
