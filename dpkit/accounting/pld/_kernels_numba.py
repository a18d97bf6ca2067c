"""numba kernels of :mod:`._kernels` (imported only when numba is used: see there)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._rounding import TILT_ROUNDING
from ._scalar import sgm_z

__all__ = ["grid_deltas", "tilt_fold", "untilt", "split", "moments", "log_mgf", "sgm_ctd",
           "spectral_power", "edge_indices", "coarse_cut_losses", "swap_log_mgf",
           "grid_epsilon", "tilt_index"]


@njit(cache=True)
def _suffix_sums(p: np.ndarray, a: float) -> tuple[np.ndarray, np.ndarray]:
    """S0[j] = Σ_{i≥j} p_i and U[j] = p_j + a·U[j+1], summed from the top in the order of
    :func:`._kernels.grid_deltas_reference` (its ``cumsum`` and ``lfilter``): bit for bit."""
    k = p.size
    s0 = np.empty(k)
    u = np.empty(k)
    s = 0.0
    v = 0.0
    for i in range(k - 1, -1, -1):
        s += p[i]
        v = p[i] + a * v
        s0[i] = s
        u[i] = v
    return s0, u


@njit(cache=True)
def grid_deltas(p: np.ndarray, a: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`._kernels.grid_deltas_reference` in one reverse loop: the suffix sums S0 and
    U (U[j] = p_j + a·U[j+1], the reference's ``lfilter`` recursion) in the reference's
    order, so the result is the same bit for bit."""
    k = p.size
    s0, u = _suffix_sums(p, a)
    d = np.empty(k)
    for i in range(k - 1):
        x = s0[i + 1] - a * u[i + 1]
        d[i] = x if x > 0.0 else 0.0
    d[k - 1] = 0.0
    return d, s0, u


@njit(cache=True)
def grid_epsilon(p: np.ndarray, a: float, d_grid: float, j_zero: int
                 ) -> tuple[int, float, float, float]:
    """:func:`._kernels.grid_epsilon_reference` from :func:`grid_deltas`'s suffix sums (the
    same floats, bit for bit), scanning for the first D[j] ≤ ``d_grid`` without building D."""
    k = p.size
    s0, u = _suffix_sums(p, a)
    j = k - 1
    for i in range(k - 1):
        x = s0[i + 1] - a * u[i + 1]
        if (x if x > 0.0 else 0.0) <= d_grid:
            j = i
            break
    dz = np.nan
    if j_zero < k - 1:
        x = s0[j_zero + 1] - a * u[j_zero + 1]
        dz = x if x > 0.0 else 0.0
    elif j_zero == k - 1:
        dz = 0.0
    return j, dz, s0[j], u[j]


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
def moments(masses: np.ndarray, lower: int, step: float, lam: float
            ) -> tuple[float, float, float]:
    """:func:`._kernels.moments_reference` (planning only): the tilted weights
    m_i·e^{λℓ_i − M} from :func:`_ramp` as in :func:`tilt_fold` (one log and exp per entry
    where the ramp over- or underflows), then the weighted mean and variance, and
    log E[e^{λL}] = M + log Σ weights."""
    k = masses.size
    w = np.empty(k)
    shift = 0.0
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
            return 0.0, 0.0, -np.inf
        big = math.log(mmax) + max(lam * ell0, lam * ell1)
        slope = lam * step
        ok = abs(slope) * _BLOCK < 700.0 and _ramp(-big, slope, lower, k, _table(slope), w)
        if ok:
            ymax = 0.0
            for i in range(k):
                w[i] *= masses[i]
                ymax = max(ymax, w[i])
            ok = ymax > 1e-200
        shift = big
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
            shift = mx
    tot = 0.0
    s1 = 0.0
    for i in range(k):
        tot += w[i]
        s1 += w[i] * ((lower + i) * step)
    if not tot > 0.0:
        return 0.0, 0.0, -np.inf
    mu = s1 / tot
    s2 = 0.0
    for i in range(k):
        d = (lower + i) * step - mu
        s2 += w[i] * d * d
    return mu, s2 / tot, shift + math.log(tot)


@njit(cache=True)
def _log_sum_exp_affine(la: np.ndarray, lb: np.ndarray, m: int, sj: float) -> float:
    """log Σ_{i<m} e^{la_i + sj·lb_i} in one pass (the running maximum rescales the running
    sum: one exp per term; each rescale and sum rounds ≤ 2u, so the result is within ~2m·u
    relative of the exact sum: :func:`.distribution.log_mgf_error` bounds it for the
    callers that certify with it); NaN when a term is NaN."""
    mx = -np.inf
    tot = 0.0
    for i in range(m):
        v = la[i] + sj * lb[i]
        if v != v:  # a NaN term: the sum is NaN (as the reference's), never dropped
            return np.nan
        if v > mx:
            tot = tot * math.exp(mx - v) + 1.0 if tot > 0.0 else 1.0
            mx = v
        else:
            tot += math.exp(v - mx)
    if not mx > -np.inf:
        return -np.inf
    return math.log(tot) + mx


@njit(cache=True)
def log_mgf(masses: np.ndarray, losses: np.ndarray, s: np.ndarray) -> np.ndarray:
    """:func:`._kernels.log_mgf_reference` in one pass per exponent
    (:func:`_log_sum_exp_affine`; libm's exp and log, a few ulp from numpy's SIMD ones: both
    within :func:`.distribution.log_mgf_error` of the exact value)."""
    n = masses.size
    lm = np.empty(n)
    ls = np.empty(n)
    m = 0
    for i in range(n):
        if masses[i] > 0.0:
            lm[m] = math.log(masses[i])
            ls[m] = losses[i]
            m += 1
    out = np.empty(s.size)
    for j in range(s.size):
        out[j] = _log_sum_exp_affine(lm, ls, m, s[j])
    return out


#: A normal tail below this (|x| > 35.7) is no longer a normal float; :func:`sgm_ctd` then
#: reports failure (the caller takes the reference's log-tail path), as
#: :data:`.pairs._TAIL_NORMAL`.
_TAIL_NORMAL = 1e-280
_SQRT1_2 = 0.7071067811865476


@njit(cache=True)
def _phi_low(x: float) -> float:
    """Φ(x) for x ≤ 0 with full relative precision (cephes' ``ndtr``: ½ + ½·erf below
    |x| < 1, ½·erfc(|x|/√2) beyond; libm's erf/erfc)."""
    y = x * _SQRT1_2
    if -y < _SQRT1_2:
        return 0.5 + 0.5 * math.erf(y)
    return 0.5 * math.erfc(-y)


@njit(cache=True)
def _ndtr(x: float) -> float:
    """Φ(x) (cephes' ``ndtr``, as scipy's: ½ + ½·erf(x/√2) for |x| < 1, else ½·erfc(|x|/√2),
    complemented for x > 0)."""
    y = x * _SQRT1_2
    if abs(y) < _SQRT1_2:
        return 0.5 + 0.5 * math.erf(y)
    v = 0.5 * math.erfc(abs(y))
    return 1.0 - v if y > 0.0 else v


@njit(cache=True)
def _tail(x: float) -> float:
    """Φ(x) for x ≤ 0, Φ(−x) for x > 0: the tail :func:`.pairs.edge_intervals` reads."""
    return _phi_low(x) if x <= 0.0 else _phi_low(-x)


@njit(cache=True)
def _interval(xa: float, ta: float, xb: float, tb: float) -> float:
    """Standard normal mass of (xa, xb] (xa ≤ xb) from the edges' tails (:func:`_tail`), as
    :func:`.pairs.edge_intervals`: CDF difference below 0, survival difference above, and
    1 − Φ(xa) − Φ̄(xb) across 0; clipped at 0."""
    if xb <= 0.0:
        v = tb - ta
    elif xa > 0.0:
        v = ta - tb
    else:
        v = 1.0 - ta - tb
    return v if v > 0.0 else 0.0


#: :func:`._scalar.sgm_z` compiled (one formula for the scalar and the fused paths).
_sgm_z = njit(cache=True)(sgm_z)


@njit(cache=True)
def sgm_ctd(q: float, sigma: float, remove: bool, k0: int, k1: int, cut_losses: np.ndarray,
            cut_factors: np.ndarray, step: float) -> tuple[np.ndarray, float, bool]:
    """The connect-the-dots PLD of one direction of the Poisson-subsampled Gaussian on the
    grid k·step, k0 ≤ k ≤ k1, with the coarse intervals of (``cut_losses``,
    ``cut_factors``) (none: every grid step; :func:`edge_indices`): the reference's steps
    (:meth:`.pairs.SampledGaussianPair._masses` then :func:`.pairs._connect_the_dots`) in one
    loop over the edges, each normal tail computed once per edge. Returns (masses on
    k0 … k1, the P-mass sent to +∞, ok); ok is False (and nothing else usable) when a finite
    edge's tail falls below :data:`_TAIL_NORMAL`, where the reference switches to
    log-tails."""
    uniform = cut_losses.size == 0
    if uniform:
        idx = np.arange(k0, k1 + 1)
    else:
        idx = edge_indices(k0, k1, cut_losses, cut_factors, step)
    ne = idx.size
    edges = np.empty(ne)
    positions = np.empty(ne, dtype=np.int64)
    for i in range(ne):
        edges[i] = idx[i] * step
        positions[i] = idx[i] - k0
    s2 = sigma * sigma
    log_q = math.log(q)
    z = np.empty(ne)
    for i in range(ne):
        z[i] = _sgm_z(edges[i] if remove else -edges[i], q, s2, log_q)
    x0 = np.empty(ne)
    x1 = np.empty(ne)
    t0 = np.empty(ne)
    t1 = np.empty(ne)
    for i in range(ne):
        a = z[i] / sigma
        b = (z[i] - 1.0) / sigma
        x0[i] = a
        x1[i] = b
        ta = _tail(a)
        tb = _tail(b)
        t0[i] = ta
        t1[i] = tb
        if (math.isfinite(a) and ta < _TAIL_NORMAL) or (math.isfinite(b) and tb < _TAIL_NORMAL):
            return np.zeros(1), 0.0, False
    out = np.zeros(positions[ne - 1] + 1)
    den_u = -math.expm1(-step)
    for j in range(ne - 1):
        # the interval (edge_j, edge_j+1]: z increasing (remove) or decreasing (add)
        if remove:
            g0 = _interval(x0[j], t0[j], x0[j + 1], t0[j + 1])
            g1 = _interval(x1[j], t1[j], x1[j + 1], t1[j + 1])
            p_int = (1.0 - q) * g0 + q * g1
            q_int = g0
        else:
            g0 = _interval(x0[j + 1], t0[j + 1], x0[j], t0[j])
            g1 = _interval(x1[j + 1], t1[j + 1], x1[j], t1[j])
            p_int = g0
            q_int = (1.0 - q) * g0 + q * g1
        a = edges[j]
        den = den_u if uniform else -math.expm1(a - edges[j + 1])
        v = (p_int - q_int * math.exp(a)) / den
        if v != v:
            to_b = 0.0
        else:
            to_b = min(max(v, 0.0), p_int)
        out[positions[j]] += p_int - to_b
        out[positions[j + 1]] += to_b
    zf = z[0]
    zl = z[ne - 1]
    if remove:
        p_below = (1.0 - q) * _ndtr(zf / sigma) + q * _ndtr((zf - 1.0) / sigma)
        q_above = _ndtr(-zl / sigma)
        p_above = (1.0 - q) * q_above + q * _ndtr((1.0 - zl) / sigma)
    else:
        p_below = _ndtr(-zf / sigma)
        p_above = _ndtr(zl / sigma)
        q_above = (1.0 - q) * p_above + q * _ndtr((zl - 1.0) / sigma)
    out[0] += p_below
    top = edges[ne - 1]
    keep = min(p_above, q_above * math.exp(top)) if q_above > 0.0 else 0.0
    out[out.size - 1] += keep
    return out, max(p_above - keep, 0.0), True


_U = 2.0 ** -53


@njit(cache=True)
def spectral_power(f: np.ndarray, c: float, log_hi: np.ndarray, total_count: float,
                   n_parts: int) -> tuple[np.ndarray, float, float, bool]:
    """:func:`.distribution._power_spectrum` for one part (ẑ^c) in one loop over the bins:
    (Z, Σ error bounds, Σ |Z|, every bin live), the error bound of each live bin as in
    :func:`.distribution._spectral_noise_floor` (libm's log, atan2, exp, cos, sin, within a
    few ulp of numpy's; the sums sequential: the caller's 1 % margin covers both)."""
    nb = f.size
    z = np.zeros(nb, dtype=np.complex128)
    const = 3.0 * math.pi * total_count * max(n_parts, 1) + 3.0
    err_sum = 0.0
    mod_sum = 0.0
    live = 0
    for k in range(nb):
        lh = log_hi[k]
        if not lh > -760.0:
            continue
        live += 1
        re = f[k].real
        im = f[k].imag
        a = math.hypot(re, im)
        if a > 0.0:
            lf = math.log(a)
            lm = c * lf
            lerr = c * (abs(lf) + 1.0)
        else:
            lm = -np.inf
            lerr = c
        ph = c * math.atan2(im, re)
        md = math.exp(lm)
        z[k] = complex(md * math.cos(ph), md * math.sin(ph))
        if math.isfinite(lm):
            d = md * math.expm1(lh - lm)
        else:
            d = math.exp(lh)
        if not math.isfinite(d):
            d = np.inf
        err_sum += d + md * _U * (2.0 * lerr + const)
        mod_sum += md
    return z, err_sum, mod_sum, live == nb


@njit(cache=True)
def edge_indices(k0: int, k1: int, losses: np.ndarray, factors: np.ndarray, step: float
                 ) -> np.ndarray:
    """:func:`._kernels.edge_indices_reference` in one loop (integer arithmetic: the same
    indices)."""
    out = np.empty(k1 - k0 + 1, dtype=np.int64)
    n = 0
    cur = k0
    fac = 1
    for c in range(losses.size):
        loss = losses[c]
        kb = float(k0) if not math.isfinite(loss) else math.ceil(loss / step)
        kb = min(max(kb, float(cur)), float(k1))
        kbi = int(kb)
        if kbi > cur:
            i = cur
            while i < kbi:
                out[n] = i
                n += 1
                i += fac
            cur = kbi
        fac = max(int(factors[c]), 1)
    i = cur
    while i < k1:
        out[n] = i
        n += 1
        i += fac
    out[n] = k1
    return out[:n + 1].copy()


@njit(cache=True)
def coarse_cut_losses(ps: np.ndarray, ls: np.ndarray, t: float, caps: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`._kernels.coarse_cut_losses_reference` in a few loops (the same shares up to
    summation order: planning only)."""
    n = ls.size
    order = np.argsort(ls, kind="mergesort")
    w = np.empty(n)
    mx = -np.inf
    for k in range(n):
        i = order[k]
        v = math.log(ps[i]) + t * ls[i] if ps[i] > 0.0 else -np.inf
        w[k] = v
        if v > mx:
            mx = v
    lo = np.full(caps.size, np.nan)
    hi = np.full(caps.size, np.nan)
    if not math.isfinite(mx):
        return lo, hi
    tot = 0.0
    for k in range(n):
        w[k] = math.exp(w[k] - mx)
        tot += w[k]
    below = np.empty(n)
    run = 0.0
    for k in range(n):
        w[k] /= tot
        run += w[k]
        below[k] = run
    for c in range(caps.size):
        cap = caps[c]
        # atoms before the first whose cumulative share exceeds cap
        i = 0
        while i < n and not below[i] > cap:
            i += 1
        if 0 < i < n:
            lo[c] = 0.5 * (ls[order[i]] + ls[order[i - 1]])
        # first atom from which the rest (1 − below + w) is ≤ cap
        j = 0
        while j < n and not (1.0 - below[j] + w[j]) <= cap:
            j += 1
        if 0 < j < n:
            hi[c] = 0.5 * (ls[order[j]] + ls[order[j - 1]])
    return lo, hi


@njit(cache=True)
def swap_log_mgf(masses: np.ndarray, lower: int, step: float, s: np.ndarray
                 ) -> tuple[np.ndarray, float, int, float, bool]:
    """:func:`._kernels.swap_log_mgf_reference`: one pass over the masses for the swapped
    atoms and S, one per exponent for the log-mgf (:func:`_log_sum_exp_affine`)."""
    k = masses.size
    q = np.empty(k)
    ell = np.empty(k)
    m = 0
    total = 0.0
    hi_abs = 0.0
    for i in range(k):
        if masses[i] > 0.0:
            li = (lower + i) * step
            v = masses[i] * math.exp(-li)
            if not math.isfinite(v):
                return np.zeros(s.size), np.inf, 0, 0.0, False
            q[m] = v
            ell[m] = -li
            total += v
            hi_abs = max(hi_abs, abs(li))
            m += 1
    lq = np.empty(m)
    lb = np.empty(m)
    mq = 0
    for i in range(m):
        if q[i] > 0.0:  # (an underflowed Q-mass carries nothing)
            lq[mq] = math.log(q[i])
            lb[mq] = ell[i]
            mq += 1
    out = np.empty(s.size)
    for j in range(s.size):
        out[j] = _log_sum_exp_affine(lq, lb, mq, s[j])
    return out, total, m, hi_abs, True


@njit(cache=True)
def tilt_index(base: np.ndarray, eps_t: np.ndarray, fracs: np.ndarray, log_target: float
               ) -> int:
    """:func:`._kernels.tilt_index_reference` in one loop per fraction (the first minimum,
    as ``argmin``; NaN read as +inf)."""
    best_i = 0
    for k in range(fracs.size):
        f = fracs[k]
        vmin = np.inf
        best_i = 0
        for i in range(base.size):
            v = base[i] - f * eps_t[i]
            if v != v:
                v = np.inf
            if v < vmin:
                vmin = v
                best_i = i
        if vmin <= log_target:
            return best_i
    return best_i
