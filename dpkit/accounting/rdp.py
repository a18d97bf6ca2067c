"""Closed-form Rényi-DP curves, vectorized over orders and numerically stable in log space.

Every function takes ``orders``: a 1-D float array of Rényi orders α > 1 (``np.inf`` allowed,
meaning the max-divergence, i.e. pure DP) and returns the RDP bound ε(α) at each order,
never NaN. ``inf`` means "no finite bound at this order".

Conventions: sensitivity is normalised to 1; ``noise_multiplier`` is the noise scale divided
by the sensitivity.

References
----------
* Mironov 2017, "Rényi Differential Privacy" (Gaussian Prop. 7, Laplace Prop. 6, RR Table II).
* Mironov, Talwar, Zhang 2019, "Rényi Differential Privacy of the Sampled Gaussian Mechanism".
* Zhu & Wang 2019, "Poisson Subsampled Rényi Differential Privacy" (general bound, Thm. 6).
* Wang, Balle, Kasiviswanathan 2019, "Subsampled Rényi Differential Privacy and Analytical
  Moments Accountant" (sampling without replacement, Thm. 9, Cor. 10).
* Kairouz, Oh, Viswanath 2015, "The Composition Theorem for Differential Privacy": every
  ε-DP pair of distributions is a post-processing of binary randomized response, so binary
  RR's Rényi divergence bounds any ε-DP mechanism's.
* Bun & Steinke 2016, "Concentrated Differential Privacy" (zCDP).
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import special

__all__ = [
    "gaussian",
    "laplace",
    "randomized_response",
    "randomized_response_at_order",
    "pure_dp",
    "zcdp",
    "sampled_gaussian",
    "poisson_subsampled",
    "without_replacement_subsampled",
    "interpolate_cumulant",
]

RDPFunction = Callable[[np.ndarray], np.ndarray]

#: Below this noise multiplier the sampled Gaussian's fractional orders use the convex
#: cumulant interpolation between exact integer orders instead of quadrature.
TINY_SIGMA = 0.005
#: The most trapezoid nodes one order's quadrature may use (memory ~8 bytes a node); a
#: quadrature that has not converged by then returns NaN and the caller uses the sound
#: integer-order interpolation instead (Wang et al. 2019, Cor. 10).
QUADRATURE_MAX_NODES = 2**22


def _orders(orders: np.ndarray) -> np.ndarray:
    return np.asarray(orders, dtype=float).reshape(-1)


def _monotone_from_above(orders: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Replace each bound by the smallest bound at any order ≥ it (RDP is non-decreasing in
    α, so a bound at β also holds at every α ≤ β)."""
    idx = np.argsort(orders, kind="stable")
    v = values[idx]
    v = np.minimum.accumulate(v[::-1])[::-1]
    out = np.empty_like(values)
    out[idx] = v
    return out


# --------------------------------------------------------------------- directed rounding
#: 2^-52, the spacing of floats in [1, 2): "n ulps" of relative slack is n·ULP.
ULP = 2.0 ** -52
#: Below this pure-DP parameter (RR's ε, Laplace's 1/b) the exact curve's terms would reach
#: the subnormal range; the bound αε²/2 (Bun & Steinke 2016, Prop. 1.4) is used instead. It
#: is within a factor ~k/2 of the exact value, which is below 1e-196 there.
TINY_PURE = 1e-100
#: Outside [SIGMA_MIN, SIGMA_MAX] the sampled Gaussian is bounded in closed form: ∞ below
#: (every order's value would exceed ~1e255), the unsampled Gaussian α/(2σ²) above (≤ 1e-196).
SIGMA_MIN, SIGMA_MAX = 1e-130, 1e100


def _round_up(x: Any, ulps: Any = 1.0) -> np.ndarray:
    """``x`` rounded upward: a relative slack of ``ulps``·2⁻⁵² (a scalar or per element),
    then two steps to the next float up (one for the multiplication's own rounding, one for an
    absolute error of a subnormal result). Only for values whose exact counterpart is > 0:
    0 becomes 1e−323; ∞ stays ∞."""
    x = np.asarray(x, dtype=float)
    with np.errstate(over="ignore"):
        y = x * (1.0 + np.minimum(ulps, 2.0 ** 40) * ULP)
    return np.nextafter(np.nextafter(y, np.inf), np.inf)


def _pure_tiny(eps: float | np.ndarray, a: np.ndarray | np.float64) -> np.ndarray:
    """Upper bound min(ε, αε²/2) on the RDP of any ε-DP mechanism (Bun & Steinke 2016,
    Prop. 1.4), rounded upward; used where ε < TINY_PURE. 0.5·α is exact, so only the last
    product can round into the subnormal range."""
    with np.errstate(under="ignore"):
        v = (0.5 * a * eps) * eps
    return np.minimum(_round_up(v, 1.0), eps)


# --------------------------------------------------------------------------- simple curves
def gaussian(noise_multiplier: float, orders: np.ndarray) -> np.ndarray:
    """Gaussian mechanism: ε(α) = α / (2σ²) (Mironov 2017, Prop. 7); ∞ at α = ∞.

    Computed as (α/2/σ)/σ (no overflow of σ², no underflow of 1/σ²) and rounded upward, so
    every value is ≥ the exact one: σ = 1e308 gives 1e−323 > α/(2σ²), σ = 1e−300 gives ∞.
    """
    a = _orders(orders)
    s = float(noise_multiplier)
    if s == 0.0:
        return np.full_like(a, np.inf)
    if math.isinf(s):
        return np.zeros_like(a)
    with np.errstate(over="ignore", under="ignore"):
        v = (0.5 * a / s) / s
    return _round_up(v, 1.0)  # two roundings: at most 2⁻⁵² relative


def _expm1_minus_x(x: np.ndarray) -> np.ndarray:
    """f(x) = eˣ − 1 − x ≥ 0 to a few ulps: its Taylor series for |x| < 1 (no cancellation),
    expm1(x) − x elsewhere (cancellation at most a factor 2.4 there)."""
    out = np.empty_like(x)
    small = np.abs(x) < 1.0
    xs = x[small]
    term = np.full_like(xs, 0.5)  # x^n/(n+2)! for n = 0 .. 20, summed from the small end
    terms = [term]
    for n in range(1, 21):
        term = term * xs / (n + 2.0)
        terms.append(term)
    total = np.zeros_like(xs)
    for t in reversed(terms):
        total += t
    out[small] = xs * xs * total
    xb = x[~small]
    with np.errstate(over="ignore"):
        out[~small] = np.expm1(xb) - xb
    return out


def laplace(noise_multiplier: float, orders: np.ndarray) -> np.ndarray:
    """Laplace mechanism with scale b = noise_multiplier (Mironov 2017, Prop. 6).

    With t = 1/b: ε(α) = log[(α e^{(α−1)t} + (α−1) e^{−αt}) / (2α−1)] / (α−1); ε(∞) = t.
    Evaluated without cancellation: for (α−1)t ≤ 1 as log1p(y)/(α−1) with
    y = [α·f((α−1)t) + (α−1)·f(−αt)]/(2α−1), f(x) = eˣ − 1 − x ≥ 0 (the first-order terms
    cancel exactly); otherwise as t + log1p((α−1)·expm1(−(2α−1)t)/(2α−1))/(α−1), where the
    second term is at most log 2·t in size. Rounded upward; t < 1e−100 uses αt²/2.
    """
    a = _orders(orders)
    b = float(noise_multiplier)
    if b == 0.0:
        return np.full_like(a, np.inf)
    if math.isinf(b):
        return np.zeros_like(a)
    with np.errstate(over="ignore"):
        t = 1.0 / b
    t_up = float(_round_up(t, 0.5))
    if math.isinf(t):
        return np.full_like(a, np.inf)
    out = np.full_like(a, t_up)
    fin = np.isfinite(a)
    af = a[fin]
    if t < TINY_PURE:
        out[fin] = np.minimum(_pure_tiny(t_up, af), t_up)
        return out
    am1 = af - 1.0
    res = np.empty_like(af)
    with np.errstate(over="ignore"):
        u = am1 * t
        two_am1 = 2.0 * af - 1.0
    low = u <= 1.0
    if low.any():
        al, bl = af[low], am1[low]
        y = (al * _expm1_minus_x(u[low]) + bl * _expm1_minus_x(-al * t)) / two_am1[low]
        res[low] = np.log1p(y) / bl
    high = ~low
    if high.any():
        ah, bh = two_am1[high], am1[high]
        with np.errstate(over="ignore"):
            inner = bh * np.expm1(-ah * t) / ah
        res[high] = t + np.log1p(inner) / bh
    out[fin] = np.minimum(_round_up(np.maximum(res, 0.0), 32.0), t_up)
    return out


def _log_expm1_scalar(x: float) -> float:
    """log(eˣ − 1) for a float x > 0 (∞ allowed)."""
    return x + math.log1p(-math.exp(-x)) if x > 30.0 else math.log(math.expm1(x))


def randomized_response(epsilon: float, k: int, orders: np.ndarray) -> np.ndarray:
    """k-ary randomized response with parameter ε, under replace-one (Mironov 2017, Table II).

    The true value is reported with probability a = e^ε/(e^ε + k − 1), every other value with
    b = 1/(e^ε + k − 1). For two different inputs the output laws are P = (a, b, c, …) and
    Q = (b, a, c, …) with c = b, so with u = (α−1)ε

        ε(α) = log S / (α − 1),   S = a·e^u + b·e^{−u} + (k − 2)·b,   ε(∞) = ε.

    As a + (k−1)b = 1, S − 1 = a·expm1(u) + b·expm1(−u) = [expm1(ε)·expm1(u) + 4 sinh²(u/2)]
    / (expm1(ε) + k): a ratio of positive terms, so tiny ε keeps full relative precision (the
    plain form cancels to ~1e−16/ε relative). It is used while nothing overflows
    (ε, u ≤ 700, k ≤ 1e300), its logarithm otherwise. The result is rounded upward by more
    than its error bound and capped at ε (an ε-DP mechanism has D_α ≤ ε); for
    ε < 1e−100 the bound αε²/2 is used.
    """
    a = _orders(orders)
    eps = float(epsilon)
    if math.isinf(eps):
        return np.full_like(a, np.inf)
    if eps == 0.0:
        return np.zeros_like(a)
    out = np.full_like(a, eps)
    fin = np.isfinite(a)
    af = a[fin]
    if eps < TINY_PURE:
        out[fin] = _pure_tiny(eps, af)
        return out
    em = math.expm1(eps) if eps <= 700.0 else math.inf  # used only where u + ε ≤ 700
    out[fin] = _rr_finite(eps, af - 1.0, k, em, _log_expm1_scalar(eps))
    return out


def randomized_response_at_order(epsilons: Any, k: int, order: float) -> np.ndarray:
    """:func:`randomized_response` at one order α for many ε at once (vectorized over ε).

    Element i is the bound of ``randomized_response(epsilons[i], k, [order])``: the same
    formulas, branches and upward rounding (one implementation, :func:`_rr_finite`); only
    expm1(ε) and log(e^ε − 1) come from numpy's vectorized functions instead of :mod:`math`,
    which can differ in the last ulp, far inside the rounding slack. ε ≥ 0 (∞ allowed);
    α > 1 (∞ allowed: ε itself). For callers that bound many ε-DP pairs at one order (the RQM
    grid search prunes ~10⁴–10⁶ pairs an order).
    """
    e = np.asarray(epsilons, dtype=float).reshape(-1)
    alpha = float(order)
    out = e.copy()  # ε = 0 → 0, ε = ∞ → ∞, α = ∞ → ε
    if math.isinf(alpha):
        return out
    tiny = (e > 0.0) & (e < TINY_PURE)
    if tiny.any():
        out[tiny] = _pure_tiny(e[tiny], np.float64(alpha))
    mid = (e >= TINY_PURE) & np.isfinite(e)
    if mid.any():
        em_ = e[mid]
        with np.errstate(over="ignore"):
            em = np.expm1(em_)
        out[mid] = _rr_finite(em_, np.full_like(em_, alpha - 1.0), k, em, _log_expm1(em_))
    return out


def _rr_finite(eps: Any, am1: np.ndarray, k: int, em: Any, le: Any) -> np.ndarray:
    """k-ary RR's ε(α) at finite orders α = am1 + 1, for ε ≥ TINY_PURE, rounded upward and
    capped at ε (see :func:`randomized_response`). Elementwise: ``eps``, ``em`` = expm1(ε) and
    ``le`` = log(e^ε − 1) are floats, or arrays of am1's shape."""
    with np.errstate(over="ignore"):
        u = am1 * eps
        slack = 16.0 + 4.0 * (u + eps)  # condition numbers of expm1(u), expm1(ε), in ulps
        direct = (u + eps <= 700.0) & (k <= 10**300)
    res = np.empty_like(am1)
    if direct.any():
        ud, bd = u[direct], am1[direct]
        emd = em[direct] if np.ndim(em) else em
        num = emd * np.expm1(ud) + 4.0 * np.sinh(0.5 * ud) ** 2
        x = num / (emd + float(k))
        tiny = x < 1e-20
        # log1p(x) ≤ x: for tiny x divide first, so only the last division can go subnormal
        with np.errstate(under="ignore"):
            res[direct] = np.where(tiny, (num / bd) / (emd + float(k)), np.log1p(x) / bd)
    logs = ~direct
    if logs.any():
        ul, bl = u[logs], am1[logs]
        lel = le[logs] if np.ndim(le) else le
        with np.errstate(over="ignore", divide="ignore"):
            lu = np.where(ul > 30.0, ul + np.log1p(-np.exp(-ul)), np.log(np.expm1(ul)))
            ls = np.where(ul > 30.0, ul + 2.0 * np.log1p(-np.exp(-ul)),
                          2.0 * np.log(2.0 * np.sinh(0.5 * ul)))
            log_num = np.logaddexp(lel + lu, ls)
            log_den = np.logaddexp(lel, math.log(k))
            # log(S − 1), raised by a bound on its absolute error (ulps of its terms)
            err = 8.0 * ULP * (np.abs(lel + lu) + np.abs(ls) + np.abs(log_den) + 1.0)
            lx = log_num - log_den + err
            res[logs] = np.logaddexp(0.0, lx) / bl
            slack[logs] = 8.0
    return np.minimum(_round_up(res, slack), eps)


def pure_dp(epsilon: float, orders: np.ndarray) -> np.ndarray:
    """Any ε-DP mechanism: the Rényi divergence of binary randomized response with ε.

    Kairouz–Oh–Viswanath 2015: every ε-DP pair is a post-processing of the binary RR pair, so
    by the data-processing inequality this is the tightest bound from ε alone. It is at most
    min(ε, αε²/2) (Bun–Steinke 2016, Prop. 1.4).
    """
    return randomized_response(epsilon, 2, orders)


def zcdp(rho: float, xi: float, orders: np.ndarray) -> np.ndarray:
    """(ξ, ρ)-zCDP: ε(α) = ξ + ρα (Bun & Steinke 2016, Def. 1.1); ∞ at α = ∞ unless ρ = 0.

    Rounded upward (two roundings of positive terms); ρ = 0 returns ξ exactly.
    """
    a = _orders(orders)
    if rho == 0.0:
        return np.full_like(a, float(xi))
    with np.errstate(over="ignore"):
        out = _round_up(xi + rho * a, 1.0)
    out[np.isinf(a)] = np.inf
    return out


# --------------------------------------------------------------- Poisson-sampled Gaussian
def _log_expm1(x: np.ndarray) -> np.ndarray:
    """log(e^x − 1) for x > 0, stable for tiny and huge x."""
    x = np.asarray(x, dtype=float)
    out = np.empty_like(x)
    big = x > 30.0
    out[big] = x[big] + np.log1p(-np.exp(-x[big]))
    small = ~big
    with np.errstate(divide="ignore"):
        out[small] = np.log(np.expm1(x[small]))
    return out


def _log_factorials(n: int) -> np.ndarray:
    """log(k!) for k = 0..n."""
    return special.gammaln(np.arange(n + 1, dtype=float) + 1.0)


def _logsumexp(x: np.ndarray, axis: int | None = None) -> np.ndarray:
    """log Σ exp(x) along ``axis`` (−inf entries allowed; all −inf gives −inf)."""
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return np.squeeze(out, axis=axis) if axis is not None else out.reshape(())


def _segment_logsumexp(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """logsumexp over consecutive segments of ``values`` beginning at ``starts`` (a segment
    with an ∞ term sums to ∞)."""
    peak = np.maximum.reduceat(values, starts)
    counts = np.diff(np.append(starts, values.size))
    shift = np.where(np.isfinite(peak), peak, 0.0)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        shifted = np.exp(values - np.repeat(shift, counts))
        out = shift + np.log(np.add.reduceat(shifted, starts))
    return np.where(np.isinf(peak), peak, out)


def _sgm_log_am1_integer(q: float, sigma: float, alphas: np.ndarray) -> np.ndarray:
    """log(A_α − 1) for the sampled Gaussian at integer orders α ≥ 2 (vectorized, ragged).

    A_α − 1 = Σ_{k=2}^{α} C(α,k) (1−q)^{α−k} q^k (exp((k²−k)/(2σ²)) − 1): every term is
    positive (the k = 0, 1 terms vanish because Σ_k C(α,k)(1−q)^{α−k}q^k = 1 and
    Σ_k k·C(α,k)(1−q)^{α−k}q^k = αq), so there is no cancellation even at q = 1e−7.
    Mironov, Talwar, Zhang 2019, Sec. 3.2. All orders' terms go in one flat array.
    """
    n = alphas.astype(np.int64)
    counts = n - 1
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    alpha_rep = np.repeat(n, counts)
    k = np.arange(counts.sum()) - np.repeat(starts, counts) + 2
    top = int(n.max())
    lf = _log_factorials(top)
    ks = np.arange(top + 1, dtype=float)
    # per-k part, tabulated once: −log k! + k log q + log(e^{(k²−k)/(2σ²)} − 1)
    per_k = np.full(top + 1, -np.inf)
    with np.errstate(over="ignore"):
        per_k[2:] = -lf[2:] + ks[2:] * math.log(q) + _log_expm1(
            (ks[2:] * ks[2:] - ks[2:]) / (2.0 * sigma * sigma)
        )
    terms = lf[alpha_rep] - lf[alpha_rep - k] + (alpha_rep - k) * math.log1p(-q) + per_k[k]
    return _segment_logsumexp(terms, starts)


def _sgm_log_g(z: np.ndarray, a: np.ndarray, q: float, sigma: float) -> np.ndarray:
    """log[(1+L)^α − 1 − αL] with L = q·expm1((2z−1)/(2σ²)); broadcasts z against a.

    The bracket is ≥ 0 for α > 1 (convexity). Where |L| and |αL| are below 0.05 the
    binomial series Σ_{k≥2} C(α,k)L^k (16 terms) is used, as 2·log|L| + log Σ C(α,k)L^{k−2}
    with log|L| = log q + log|expm1(x)|, so that L² never underflows (q = 1e−300); elsewhere
    (1+L)·expm1((α−1)·log1p(L)) − (α−1)L, whose cancellation costs at most ~4/|L| ulps for
    every α > 1 (also α − 1 = 1e−9), or its log-space form when α·log1p(L) is large. So
    neither underflow nor cancellation loses precision.
    """
    x = (2.0 * z - 1.0) / (2.0 * sigma * sigma)
    big_x = x > 30.0
    # L = q·expm1(x); for x > 30 via its logarithm, capped where log L > 700, which implies
    # t = α·log1p(L) > 700 (the log branch, which does not use L)
    with np.errstate(over="ignore"):
        log_l = math.log(q) + x + np.log1p(-np.exp(-np.maximum(x, 30.0)))
        L = np.where(big_x, np.exp(np.minimum(log_l, 700.0)), q * np.expm1(np.minimum(x, 30.0)))
    # log(1 + L) = log((1 − q) + q e^x): log1p for moderate x, log-space for large x
    log1p_L = np.where(big_x, np.logaddexp(math.log1p(-q), math.log(q) + x), np.log1p(L))
    L, log1p_L, big_x, x, a = np.broadcast_arrays(L, log1p_L, big_x, x, a)
    aL = a * L
    t = a * log1p_L
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        # (1+L)^α − 1 − αL = (1+L)·expm1((α−1)·log1p(L)) − (α−1)L: no O(L) cancellation,
        # so orders close to 1 (α − 1 = 1e−9) keep full relative precision
        b = a - 1.0
        direct = np.log(np.maximum(
            (1.0 + L) * np.expm1(np.minimum(b * log1p_L, 700.0)) - b * L, 0.0))
        huge = t > 30.0
        if huge.any():
            th = t[huge]
            # log(1 + αL) with L > 0 here; for large x, αL = αq(e^x − 1) in log space
            log_1_al = np.where(
                big_x[huge],
                np.logaddexp(0.0, np.log(a[huge]) + math.log(q) + x[huge]
                             + np.log1p(-np.exp(-x[huge]))),
                np.log1p(aL[huge]),
            )
            direct[huge] = th + np.log1p(-np.exp(log_1_al - th))
        small = (np.abs(L) < 0.05) & (np.abs(aL) < 0.05)
        if small.any():
            Ls, As = L[small], a[small]
            xs = x[small]
            log_abs_l = math.log(q) + np.where(
                xs > 30.0, xs + np.log1p(-np.exp(-np.maximum(xs, 30.0))),
                np.log(np.abs(np.expm1(np.minimum(xs, 30.0)))))
            term = np.ones_like(Ls)  # C(α,k)L^{k−2} / C(α,2)
            total = term.copy()
            for k in range(2, 17):
                term = term * ((As - k) / (k + 1.0)) * Ls
                total += term
                if k % 3 == 1 and np.all(np.abs(term) <= 1e-17 * total):
                    break  # the remaining terms shrink geometrically (|αL| < 0.05)
            direct[small] = np.log(As * (As - 1.0) / 2.0 * total) + 2.0 * log_abs_l
    return direct


def _sgm_quadrature_block(
    q: float, sigma: float, a: np.ndarray, lo: float, hi: float, h: float
) -> tuple[np.ndarray, np.ndarray]:
    """Trapezoid estimates of log(A_α − 1) at step ~h and 2h on [lo, hi], for orders ``a``."""
    n = int(math.ceil((hi - lo) / h))
    n += n % 2  # even, so every second node forms the rule at step 2h
    z = lo + (hi - lo) * np.arange(n + 1) / n
    step = (hi - lo) / n
    f = _sgm_log_g(z[None, :], a[:, None], q, sigma) - (z * z / (2.0 * sigma * sigma))[None, :]
    fine = _logsumexp(f, axis=1) + math.log(step)
    coarse = _logsumexp(f[:, ::2], axis=1) + math.log(2.0 * step)
    norm = math.log(sigma * math.sqrt(2.0 * math.pi))
    return fine - norm, np.abs(fine - coarse)


def _sgm_log_am1_quadrature(q: float, sigma: float, a: np.ndarray) -> np.ndarray:
    """log(A_α − 1) for the sampled Gaussian at any real α > 1, by trapezoid quadrature.

    A_α − 1 = ∫ φ_σ(z)[(1+L(z))^α − 1 − αL(z)] dz, L(z) = q·expm1((2z−1)/(2σ²)), because
    E_{N(0,σ²)}[L] = 0 (Mironov, Talwar, Zhang 2019, Sec. 3). The integrand is non-negative and
    analytic in the strip |Im z| < πσ², so the trapezoid rule converges geometrically. The
    first step, min(σ/2.5, max(σ²/3, σ/8)), resolves every Gaussian factor of width σ; each
    order's result is checked against the rule at twice the step: agreement to 1e−9 bounds
    the coarse rule's error, and the fine rule's is then about its square (geometric
    convergence); otherwise the step is halved for the orders that disagree (near the branch
    points at Im z = ±πσ² a small σ needs steps down to about σ²/2).
    The integrand's mass lies in [−Wσ − 1, α + Wσ + 1] with W² = 2(60 + α log 2).
    Orders up to 16 share one window (that of α = 16) and are evaluated as one 2-D block.
    """
    out = np.empty_like(a)
    h0 = min(sigma / 2.5, max(sigma * sigma / 3.0, sigma / 8.0))  # tuned: passes first time
    groups = [np.flatnonzero(a <= 16.0)] + [np.array([i]) for i in np.flatnonzero(a > 16.0)]
    for idx in groups:
        if idx.size == 0:
            continue
        amax = max(float(a[idx].max()), 16.0)  # a fixed window: results per order do not
        # depend on which other orders are requested
        width = math.sqrt(2.0 * (60.0 + amax * math.log(2.0)))
        lo, hi = -width * sigma - 1.0, max(amax, 1.0) + width * sigma + 1.0
        todo, h = idx, h0
        for _ in range(16):
            if (hi - lo) / h > QUADRATURE_MAX_NODES:
                break  # bounded memory and time: the interpolation fallback takes over
            # bounded memory: at most ~2M integrand values per block (one order may use up
            # to QUADRATURE_MAX_NODES)
            chunk = max(1, int(2_000_000 // max((hi - lo) / h, 1.0)))
            ok = np.zeros(todo.size, dtype=bool)
            for start in range(0, todo.size, chunk):
                part = todo[start:start + chunk]
                val, err = _sgm_quadrature_block(q, sigma, a[part], lo, hi, h)
                good = err < 1e-9 + 16.0 * ULP * np.abs(val)  # or converged to float precision
                out[part[good]] = val[good]
                ok[start:start + chunk] = good
            todo = todo[~ok]
            if todo.size == 0:
                break
            h /= 2.0
        if todo.size:  # not converged within the node budget (rare: tiny σ, large α)
            out[todo] = np.nan  # the caller falls back to the integer-order interpolation
    return out


@functools.lru_cache(maxsize=1)
def _numba_kernels() -> Any:
    """The compiled kernels module, or None when numba is not installed."""
    try:
        from . import _sgm_numba
    except ImportError:
        return None
    return _sgm_numba


#: Environment variable that sets what ``backend="auto"`` means for the sampled Gaussian:
#: "numba" (the default when numba is installed) or "numpy". The ``dpkit`` command line sets
#: it to "numpy" for its own process: one answer does not repay numba's ~0.5 s start-up.
BACKEND_ENV = "DPKIT_ACCOUNTING_BACKEND"


def _sgm_kernels(backend: str) -> tuple[Callable[..., np.ndarray], Callable[..., np.ndarray]]:
    if backend not in ("auto", "numpy", "numba"):
        raise ValueError(f"backend must be 'auto', 'numpy' or 'numba', got {backend!r}")
    if backend == "auto":
        backend = "numpy" if os.environ.get(BACKEND_ENV, "auto") == "numpy" else "auto"
    mod = None if backend == "numpy" else _numba_kernels()
    if mod is None:
        if backend == "numba":
            raise ImportError("backend='numba' needs numba: pip install 'dpkit[numba]'")
        return _sgm_log_am1_integer, _sgm_log_am1_quadrature
    return mod.log_am1_integer, mod.log_am1_quadrature


def sampled_gaussian(sample_rate: float, noise_multiplier: float, orders: np.ndarray, *,
                     backend: str = "auto") -> np.ndarray:
    """Poisson-subsampled Gaussian mechanism under add/remove adjacency, exact, any order.

    ε(α) = log(A_α)/(α−1) with A_α = E_{z∼N(0,σ²)}[((1−q) + q·e^{(2z−1)/(2σ²)})^α]
    (Mironov, Talwar, Zhang 2019, Sec. 3; that direction dominates the reverse one). Integer
    orders use the exact finite positive-term sum, fractional orders the self-checked
    quadrature; both work with A_α − 1 directly so tiny q keeps full relative precision.
    For σ < TINY_SIGMA (0.005) fractional orders use the cumulant interpolation between exact
    integer orders (an upper bound), keeping time and memory bounded.
    q = 0 gives 0, q = 1 the Gaussian α/(2σ²), σ = 0 gives ∞ (for q > 0), α = ∞ gives ∞.

    Extremes (each value is an upper bound, rounded upward by more than its rounding error):
    σ < SIGMA_MIN (1e−130) gives ∞ (the exact values exceed ~1e255); σ > SIGMA_MAX (1e100)
    and orders α > 100 000 use the unsampled Gaussian α/(2σ²), which bounds the sampled one
    (quasi-convexity of D_α); q down to 5e−324 is exact (log space throughout).
    """
    a = _orders(orders)
    q = float(sample_rate)
    s = float(noise_multiplier)
    if q == 0.0 or math.isinf(s):
        return np.zeros_like(a)
    if s < SIGMA_MIN:  # σ = 0 included: no noise, no finite bound
        return np.full_like(a, np.inf)
    if q == 1.0 or s > SIGMA_MAX:
        return gaussian(s, a)
    out = np.full_like(a, np.inf)
    fin = np.isfinite(a)
    beyond = fin & (a > 100_000)
    if beyond.any():
        out[beyond] = gaussian(s, a[beyond])
        fin = fin & ~beyond
    is_int = fin & (a == np.floor(a))
    log_am1 = np.full_like(a, np.nan)
    integer_kernel, quadrature_kernel = _sgm_kernels(backend)
    if is_int.any():
        log_am1[is_int] = integer_kernel(q, s, a[is_int])
    frac = fin & ~is_int
    if frac.any() and s >= TINY_SIGMA:
        log_am1[frac] = quadrature_kernel(q, s, np.ascontiguousarray(a[frac]))
    # Tiny noise (the quadrature would need ~1/σ² nodes), or a quadrature that did not
    # converge (never observed): the convex interpolation of the cumulant between exact
    # integer orders, an upper bound (Wang et al. 2019, Cor. 10).
    interp = frac & np.isnan(log_am1)
    if interp.any():
        out[interp] = interpolate_cumulant(
            lambda ints: sampled_gaussian(q, s, ints, backend=backend), a[interp])
    done = fin & ~interp
    if done.any():
        la = log_am1[done]
        ad = a[done]
        # absolute error of log(A − 1): a few ulps of its largest terms (α·|log q| and the
        # like), plus the quadrature's 1e−9 self-check squared (geometric convergence)
        err = 64.0 * ULP * (8.0 + np.abs(la) + ad * (abs(math.log(q)) - math.log1p(-q)))
        # log A = log1p(exp(log(A−1))), stable for both tiny and huge A − 1.
        out[done] = _round_up(np.logaddexp(0.0, la + err) / (ad - 1.0), 2.0)
    return out


# ------------------------------------------------------------------ general subsampling
def interpolate_cumulant(
    integer_rdp: Callable[[np.ndarray], np.ndarray], orders: np.ndarray
) -> np.ndarray:
    """Extend an RDP bound known at integer orders ≥ 2 to every real α > 1.

    The cumulant K(α) = (α−1)·D_α is convex in α with K(1) = 0, so linear interpolation of an
    upper bound on K between ⌊α⌋ and ⌈α⌉ (and between 1 and 2) is again an upper bound
    (Wang, Balle, Kasiviswanathan 2019, Cor. 10). ``integer_rdp`` receives integer orders and
    must return bounds there; α = ∞ is passed through unchanged.
    """
    a = _orders(orders)
    out = np.full_like(a, np.inf)
    fin = np.isfinite(a)
    af = a[fin]
    lo = np.maximum(np.floor(af), 1.0)
    hi = np.maximum(np.ceil(af), 2.0)
    lo = np.where(lo == hi, hi, lo)
    needed = np.unique(np.concatenate([lo[lo >= 2], hi]))
    vals = integer_rdp(needed)
    table = dict(zip(needed.tolist(), vals.tolist(), strict=True))
    with np.errstate(invalid="ignore", over="ignore"):
        k_lo = np.array([0.0 if l < 2 else (l - 1.0) * table[l] for l in lo])
        k_hi = np.array([(h - 1.0) * table[h] for h in hi])
        w = np.where(hi > lo, (af - lo) / np.where(hi > lo, hi - lo, 1.0), 1.0)
        k = np.where(hi > lo, (1.0 - w) * k_lo + w * k_hi, k_hi)
        k = np.where(np.isinf(k_lo) | np.isinf(k_hi), np.inf, k)
        v = k / (af - 1.0)
    out[fin] = np.where(v > 0.0, _round_up(v, 4.0), v)  # ≤ 4 roundings, rounded upward
    if (~fin).any():
        out[~fin] = integer_rdp(np.array([np.inf]))[0]
    return out


def poisson_subsampled(
    sample_rate: float, base_rdp: RDPFunction, orders: np.ndarray
) -> np.ndarray:
    """General bound for a Poisson-subsampled mechanism, add/remove adjacency.

    For integer α ≥ 2 (Zhu & Wang 2019, Thm. 6), with γ the sampling rate and ε(·) the base
    mechanism's RDP,

        ε'(α) ≤ log{ (1−γ)^{α−1}(αγ − γ + 1) + C(α,2) γ² (1−γ)^{α−2} e^{ε(2)}
                     + 3 Σ_{ℓ=3}^{α} C(α,ℓ) (1−γ)^{α−ℓ} γ^ℓ e^{(ℓ−1)ε(ℓ)} } / (α−1),

    capped by the base mechanism's own ε(α) at every order (subsampling never hurts). Real
    orders use :func:`interpolate_cumulant`. At α = ∞: ε'(∞) ≤ log(1 + γ(e^{ε(∞)} − 1))
    (amplification of pure DP, Balle, Barthe, Gaboardi 2018).

    Evaluated as log1p of the bracket minus 1, which (the binomial weights summing to 1) is
    the all-positive sum C(α,2)γ²(1−γ)^{α−2}(e^{ε(2)} − 1) + Σ_{ℓ≥3} C(α,ℓ)(1−γ)^{α−ℓ}γ^ℓ
    (3e^{(ℓ−1)ε(ℓ)} − 1): no cancellation, so a tiny γ keeps full relative precision.
    """
    g = float(sample_rate)

    def log_bracket_m1(n: int, base: np.ndarray, e_inf: float) -> tuple[float, float]:
        l = np.arange(2, n + 1, dtype=float)
        log_binom = special.gammaln(n + 1.0) - special.gammaln(l + 1.0) - special.gammaln(
            n - l + 1.0
        )
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            y = (l - 1.0) * base[: n - 1]  # (ℓ−1)·ε(ℓ) ≥ 0
            # log(e^y − 1) at ℓ = 2, log(3e^y − 1) = y + log(3 − e^{−y}) at ℓ ≥ 3
            weight = np.where(l == 2.0, _log_expm1_or_inf(y), y + np.log(3.0 - np.exp(-y)))
            parts = [log_binom, (n - l) * math.log1p(-g), l * math.log(g), weight]
            terms, mag = _sum_with_magnitude(parts)
        return _logsumexp_with_error(terms, mag)

    return _general_subsampled(g, base_rdp, orders, log_bracket_m1)


def without_replacement_subsampled(
    sample_rate: float, base_rdp: RDPFunction, orders: np.ndarray
) -> np.ndarray:
    """General bound for sampling m of n without replacement, replace-one adjacency.

    For integer α ≥ 2 (Wang, Balle, Kasiviswanathan 2019, Thm. 9), γ = m/n,

        ε'(α) ≤ log( 1 + γ² C(α,2) min{4(e^{ε(2)}−1), e^{ε(2)} min{2, (e^{ε(∞)}−1)²}}
                     + Σ_{j=3}^{α} γ^j C(α,j) e^{(j−1)ε(j)} min{2, (e^{ε(∞)}−1)^j} ) / (α−1),

    capped by the base ε(α); real orders by :func:`interpolate_cumulant`. At α = ∞ the
    replace-one amplification of pure DP gives log(1 + γ(e^{ε(∞)} − 1)) (Balle et al. 2018).
    The sum after the 1 is kept in log space and added by log1p (tiny γ stays exact).
    """
    g = float(sample_rate)

    def log_bracket_m1(n: int, base: np.ndarray, e_inf: float) -> tuple[float, float]:
        # log of min{2, (e^{ε∞} − 1)^j} as a function of j
        log_em1 = float(_log_expm1_or_inf(np.array([e_inf]))[0])
        j = np.arange(2, n + 1, dtype=float)
        log_binom = special.gammaln(n + 1.0) - special.gammaln(j + 1.0) - special.gammaln(
            n - j + 1.0
        )
        e2 = float(base[0])
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            log_c2 = min(math.log(4.0) + float(_log_expm1_or_inf(np.array([e2]))[0]),
                         e2 + min(math.log(2.0), 2.0 * log_em1))
            weight = (j - 1.0) * base[: n - 1] + np.minimum(math.log(2.0), j * log_em1)
            weight[0] = log_c2
            parts = [j * math.log(g), log_binom, weight]
            terms, mag = _sum_with_magnitude(parts)
        return _logsumexp_with_error(terms, mag)

    return _general_subsampled(g, base_rdp, orders, log_bracket_m1)


def _log_expm1_or_inf(x: np.ndarray) -> np.ndarray:
    """log(eˣ − 1) for x ≥ 0: −∞ at 0, ∞ at ∞."""
    x = np.asarray(x, dtype=float)
    out = np.where(x > 0.0, 0.0, -np.inf)
    out[np.isinf(x)] = np.inf
    mid = (x > 0.0) & np.isfinite(x)
    out[mid] = _log_expm1(x[mid])
    return out


def _sum_with_magnitude(parts: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Σ parts (left to right) and Σ |finite parts|: a sum and the scale of its rounding error."""
    terms = np.asarray(parts[0], dtype=float)
    mag = np.abs(np.where(np.isfinite(terms), terms, 0.0))
    for p in parts[1:]:
        terms = terms + p
        mag = mag + np.abs(np.where(np.isfinite(p), p, 0.0))
    return terms, mag


def _logsumexp_with_error(terms: np.ndarray, mag: np.ndarray) -> tuple[float, float]:
    """(log Σ exp(terms), a bound on its absolute rounding error): a few ulps of the largest
    magnitude that went into a term (NaN terms, from ∞ − ∞, count as ∞)."""
    terms = np.where(np.isnan(terms), np.inf, terms)
    if np.isinf(terms).any() and (terms > 0).any():
        return math.inf, 0.0
    val = float(_logsumexp(terms))
    fin = np.isfinite(terms)
    err = 16.0 * ULP * (float(np.max(mag[fin], initial=0.0)) + abs(val) + 1.0)
    return val, err


#: Orders above this use the base curve alone in the general subsampling bounds (their
#: sums have α terms; subsampling never increases the divergence, so the base bounds them).
MAX_GENERAL_ORDER = 4096.0


def _amplified_pure(g: float, e: float) -> float:
    """log(1 + γ(e^ε − 1)), rounded upward: the ε' of an ε-DP mechanism run on a γ-sample
    (Balle, Barthe, Gaboardi 2018); log space where e^ε would overflow."""
    if math.isinf(e) or e == 0.0 or g == 0.0:
        return e if g > 0.0 else 0.0
    if g == 1.0:
        return e
    if e > 700.0:
        v = float(np.logaddexp(math.log1p(-g), math.log(g) + e))
        return min(float(_round_up(v, 8.0 + 4.0 * e)), e)
    return min(float(_round_up(math.log1p(g * math.expm1(e)), 8.0 + 4.0 * e)), e)


def _general_subsampled(
    g: float, base_rdp: RDPFunction, orders: np.ndarray,
    log_bracket_m1: Callable[[int, np.ndarray, float], tuple[float, float]],
) -> np.ndarray:
    """The frame both general subsampling bounds share.

    At integer α = n ≥ 2: min(log1p(bracket − 1)/(n−1), ε(n)), with log(bracket − 1) and its
    rounding-error bound from ``log_bracket_m1(n, base ε(2..n), ε(∞))``, rounded upward; at
    α = ∞ the amplification of pure DP log(1 + γ(e^{ε(∞)} − 1)) (Balle, Barthe, Gaboardi
    2018); real orders by :func:`interpolate_cumulant`; everything capped by the base curve
    and made monotone from above. Orders above MAX_GENERAL_ORDER use the base curve.
    """

    def at_integers(ints: np.ndarray) -> np.ndarray:
        ints = _orders(ints)
        res = np.empty_like(ints)
        finite_ints = ints[np.isfinite(ints)]
        top = int(finite_ints.max()) if finite_ints.size else 2
        base = base_rdp(np.arange(2, top + 1, dtype=float)) if top >= 2 else np.empty(0)
        e_inf = float(base_rdp(np.array([np.inf]))[0])
        for i, alpha in enumerate(ints):
            if math.isinf(alpha):
                res[i] = _amplified_pure(g, e_inf)
                continue
            n = int(alpha)
            own = base[n - 2]
            if g == 0.0:
                res[i] = 0.0
            elif g == 1.0 or own == 0.0:
                res[i] = own
            else:
                val, err = log_bracket_m1(n, base, e_inf)
                v = float(_round_up(np.logaddexp(0.0, val + err) / (n - 1.0), 2.0))
                res[i] = min(v, own)
        return res

    a = _orders(orders)
    out = base_rdp(a)
    low = (a <= MAX_GENERAL_ORDER) | np.isinf(a)
    if g < 1.0 and low.any():
        out[low] = np.minimum(interpolate_cumulant(at_integers, a[low]), out[low])
    return _monotone_from_above(a, out)
