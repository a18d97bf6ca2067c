"""Numba kernels for the Poisson-sampled Gaussian's log(A_α − 1) (optional ``[numba]`` extra).

The same mathematics as the numpy reference in :mod:`dpkit.accounting.rdp` (which stays the
oracle these kernels are tested against): Mironov, Talwar, Zhang 2019, "Rényi Differential
Privacy of the Sampled Gaussian Mechanism", Sec. 3. Integer orders use the all-positive
finite sum of A − 1; fractional orders the self-checked trapezoid rule of the non-negative
integrand φ_σ(z)[(1+L)^α − 1 − αL]. Compiled once and cached on disk (``cache=True``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["log_am1_integer", "log_am1_quadrature"]


@njit(cache=True)
def _log_expm1(x: float) -> float:
    if x > 30.0:
        return x + math.log1p(-math.exp(-x))
    return math.log(math.expm1(x))


@njit(cache=True)
def _logaddexp(a: float, b: float) -> float:
    m = max(a, b)
    if m == -math.inf:
        return -math.inf
    return m + math.log(math.exp(a - m) + math.exp(b - m))


@njit(cache=True)
def log_am1_integer(q: float, sigma: float, alphas: np.ndarray) -> np.ndarray:
    """log(A_α − 1) at integer orders α ≥ 2: log Σ_{k≥2} C(α,k)(1−q)^{α−k}q^k(e^{(k²−k)/2σ²}−1)."""
    top = 2
    for a in alphas:
        top = max(top, int(a))
    lf = np.empty(top + 1)
    for k in range(top + 1):
        lf[k] = math.lgamma(k + 1.0)
    lq, l1q = math.log(q), math.log1p(-q)
    per_k = np.empty(top + 1)
    for k in range(2, top + 1):
        per_k[k] = -lf[k] + k * lq + _log_expm1((k * k - k) / (2.0 * sigma * sigma))
    out = np.empty(alphas.size)
    for j in range(alphas.size):
        n = int(alphas[j])
        peak = -math.inf
        for k in range(2, n + 1):
            v = lf[n] - lf[n - k] + (n - k) * l1q + per_k[k]
            if v > peak:
                peak = v
        s = 0.0
        for k in range(2, n + 1):
            s += math.exp(lf[n] - lf[n - k] + (n - k) * l1q + per_k[k] - peak)
        out[j] = peak + math.log(s)
    return out


@njit(cache=True)
def _log_g(z: float, a: float, q: float, sigma: float) -> float:
    """log[(1+L)^α − 1 − αL], L = q·expm1((2z−1)/(2σ²)); the reference's branches."""
    x = (2.0 * z - 1.0) / (2.0 * sigma * sigma)
    big_x = x > 30.0
    if big_x:  # L by its logarithm, capped where log L > 700 (then t > 700: log branch)
        L = math.exp(min(math.log(q) + x + math.log1p(-math.exp(-x)), 700.0))
    else:
        L = q * math.expm1(x)
    if big_x:
        log1p_L = _logaddexp(math.log1p(-q), math.log(q) + x)
    else:
        log1p_L = math.log1p(L)
    aL = a * L
    if abs(L) < 0.05 and abs(aL) < 0.05:
        # 2·log|L| + log Σ C(α,k)L^{k−2}: L² never underflows (q = 1e−300)
        if x > 30.0:
            log_em = x + math.log1p(-math.exp(-x))
        else:
            em = abs(math.expm1(x))
            if em == 0.0:
                return -math.inf
            log_em = math.log(em)
        term = 1.0
        total = 1.0
        for k in range(2, 17):
            term = term * ((a - k) / (k + 1.0)) * L
            total += term
            if abs(term) <= 1e-17 * total:
                break
        return math.log(a * (a - 1.0) / 2.0 * total) + 2.0 * (math.log(q) + log_em)
    t = a * log1p_L
    if t > 30.0:
        if big_x:
            log_1_al = _logaddexp(0.0, math.log(a) + math.log(q) + x
                                  + math.log1p(-math.exp(-x)))
        else:
            log_1_al = math.log1p(aL)
        return t + math.log1p(-math.exp(log_1_al - t))
    b = a - 1.0
    v = (1.0 + L) * math.expm1(min(b * log1p_L, 700.0)) - b * L
    return math.log(v) if v > 0.0 else -math.inf


@njit(cache=True)
def _trapezoid(q: float, sigma: float, a: float, lo: float, hi: float,
               h: float) -> tuple[float, float]:
    """(fine, |fine − coarse|): log-trapezoid estimates at step ~h and 2h."""
    n = int(math.ceil((hi - lo) / h))
    n += n % 2
    step = (hi - lo) / n
    inv2s2 = 1.0 / (2.0 * sigma * sigma)
    vals = np.empty(n + 1)
    peak = -math.inf
    for i in range(n + 1):
        z = lo + (hi - lo) * i / n
        v = _log_g(z, a, q, sigma) - z * z * inv2s2
        vals[i] = v
        if v > peak:
            peak = v
    fine = 0.0
    coarse = 0.0
    for i in range(n + 1):
        e = math.exp(vals[i] - peak)
        fine += e
        if i % 2 == 0:
            coarse += e
    lf = peak + math.log(fine) + math.log(step)
    lc = peak + math.log(coarse) + math.log(2.0 * step)
    return lf, abs(lf - lc)


@njit(cache=True)
def log_am1_quadrature(q: float, sigma: float, alphas: np.ndarray,
                       max_nodes: float = 4194304.0) -> np.ndarray:
    """log(A_α − 1) at real orders α > 1 by the self-checked trapezoid rule (see reference)."""
    out = np.empty(alphas.size)
    h0 = min(sigma / 2.5, max(sigma * sigma / 3.0, sigma / 8.0))
    norm = math.log(sigma * math.sqrt(2.0 * math.pi))
    for j in range(alphas.size):
        a = alphas[j]
        amax = max(a, 16.0)  # orders ≤ 16 share one window, as in the reference
        width = math.sqrt(2.0 * (60.0 + amax * math.log(2.0)))
        lo = -width * sigma - 1.0
        hi = max(amax, 1.0) + width * sigma + 1.0
        h = h0
        done = False
        for _ in range(16):
            if (hi - lo) / h > max_nodes:
                break  # the caller falls back to the sound integer-order interpolation
            val, err = _trapezoid(q, sigma, a, lo, hi, h)
            if err < 1e-9 + 16.0 * 2.220446049250313e-16 * abs(val):  # as the reference
                out[j] = val - norm
                done = True
                break
            h /= 2.0
        if not done:
            out[j] = math.nan  # not converged within the node budget: interpolation instead
    return out
