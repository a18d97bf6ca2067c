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


# --------------------------------------------------------------------------- simple curves
def gaussian(noise_multiplier: float, orders: np.ndarray) -> np.ndarray:
    """Gaussian mechanism: ε(α) = α / (2σ²) (Mironov 2017, Prop. 7); ∞ at α = ∞."""
    a = _orders(orders)
    s = float(noise_multiplier)
    if s == 0.0:
        return np.full_like(a, np.inf)
    if math.isinf(s):
        return np.zeros_like(a)
    with np.errstate(invalid="ignore"):
        return a / (2.0 * s * s)


def laplace(noise_multiplier: float, orders: np.ndarray) -> np.ndarray:
    """Laplace mechanism with scale b = noise_multiplier (Mironov 2017, Prop. 6).

    ε(α) = ε0 + log1p((α−1)·expm1(−(2α−1)ε0)/(2α−1))/(α−1) with ε0 = 1/b; ε(∞) = ε0.
    """
    a = _orders(orders)
    b = float(noise_multiplier)
    if b == 0.0:
        return np.full_like(a, np.inf)
    if math.isinf(b):
        return np.zeros_like(a)
    e0 = 1.0 / b
    out = np.full_like(a, e0)
    fin = np.isfinite(a)
    af = a[fin]
    out[fin] = e0 + np.log1p((af - 1.0) * np.expm1(-(2.0 * af - 1.0) * e0) / (2.0 * af - 1.0)) / (
        af - 1.0
    )
    return np.maximum(out, 0.0)


def randomized_response(epsilon: float, k: int, orders: np.ndarray) -> np.ndarray:
    """k-ary randomized response with parameter ε, under replace-one (Mironov 2017, Table II).

    The true value is reported with probability a = e^ε/(e^ε + k − 1), every other value with
    b = 1/(e^ε + k − 1). For two different inputs the output laws are P = (a, b, c, …) and
    Q = (b, a, c, …) with c = b, so

        ε(α) = log[ a^α b^{1−α} + b^α a^{1−α} + (k − 2)·b ] / (α − 1),   ε(∞) = ε.

    With u = (α−1)ε the bracket is 1 + a·expm1(u) + b·expm1(−u) (as a + (k−1)b = 1), which is
    evaluated in that form so that tiny ε keeps full relative precision (the bracket is
    1 + O(ε²)); large u uses log space.
    """
    a = _orders(orders)
    eps = float(epsilon)
    if math.isinf(eps):
        return np.full_like(a, np.inf)
    if eps == 0.0:
        return np.zeros_like(a)
    log_den = np.logaddexp(eps, math.log(k - 1))  # log(e^ε + k − 1)
    pa, pb = math.exp(eps - log_den), math.exp(-log_den)
    out = np.full_like(a, eps)
    fin = np.isfinite(a)
    u = (a[fin] - 1.0) * eps
    res = np.empty_like(u)
    mod = u < 500.0
    um = u[mod]
    res[mod] = np.log1p(pa * np.expm1(um) + pb * np.expm1(-um))
    big = ~mod
    if big.any():
        ub = u[big]
        rest = np.log(pb * np.exp(-ub) + (k - 2) * pb) if k > 2 else math.log(pb) - ub
        res[big] = np.logaddexp(math.log(pa) + ub, rest)
    out[fin] = res / (a[fin] - 1.0)
    return np.clip(out, 0.0, eps)


def pure_dp(epsilon: float, orders: np.ndarray) -> np.ndarray:
    """Any ε-DP mechanism: the Rényi divergence of binary randomized response with ε.

    Kairouz–Oh–Viswanath 2015: every ε-DP pair is a post-processing of the binary RR pair, so
    by the data-processing inequality this is the tightest bound from ε alone. It is at most
    min(ε, αε²/2) (Bun–Steinke 2016, Prop. 1.4).
    """
    return randomized_response(epsilon, 2, orders)


def zcdp(rho: float, xi: float, orders: np.ndarray) -> np.ndarray:
    """(ξ, ρ)-zCDP: ε(α) = ξ + ρα (Bun & Steinke 2016, Def. 1.1); ∞ at α = ∞ unless ρ = ξ = 0."""
    a = _orders(orders)
    if rho == 0.0 and xi == 0.0:
        return np.zeros_like(a)
    with np.errstate(invalid="ignore"):
        out = xi + rho * a
    out[np.isinf(a)] = np.inf if rho > 0 else xi
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
    """logsumexp over consecutive segments of ``values`` beginning at ``starts``."""
    peak = np.maximum.reduceat(values, starts)
    counts = np.diff(np.append(starts, values.size))
    shifted = np.exp(values - np.repeat(peak, counts))
    return peak + np.log(np.add.reduceat(shifted, starts))


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
    per_k[2:] = -lf[2:] + ks[2:] * math.log(q) + _log_expm1(
        (ks[2:] * ks[2:] - ks[2:]) / (2.0 * sigma * sigma)
    )
    terms = lf[alpha_rep] - lf[alpha_rep - k] + (alpha_rep - k) * math.log1p(-q) + per_k[k]
    return _segment_logsumexp(terms, starts)


def _sgm_log_g(z: np.ndarray, a: np.ndarray, q: float, sigma: float) -> np.ndarray:
    """log[(1+L)^α − 1 − αL] with L = q·expm1((2z−1)/(2σ²)); broadcasts z against a.

    The bracket is ≥ 0 for α > 1 (convexity). Where |L| and |αL| are below 0.05 the
    binomial series Σ_{k≥2} C(α,k)L^k (16 terms) is used; elsewhere
    (1+L)·expm1((α−1)·log1p(L)) − (α−1)L, whose cancellation costs at most ~4/|L| ulps for
    every α > 1 (also α − 1 = 1e−9), or its log-space form when α·log1p(L) is large. So
    neither underflow nor cancellation loses precision.
    """
    x = (2.0 * z - 1.0) / (2.0 * sigma * sigma)
    big_x = x > 30.0
    L = q * np.expm1(np.minimum(x, 700.0))  # x > 700 only occurs where t > 30 (log branch)
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
                np.logaddexp(0.0, np.log(a[huge] * q) + x[huge] + np.log1p(-np.exp(-x[huge]))),
                np.log1p(aL[huge]),
            )
            direct[huge] = th + np.log1p(-np.exp(log_1_al - th))
        small = (np.abs(L) < 0.05) & (np.abs(aL) < 0.05)
        if small.any():
            Ls, As = L[small], a[small]
            term = As * (As - 1.0) / 2.0 * Ls * Ls
            total = term.copy()
            for k in range(2, 17):
                term = term * ((As - k) / (k + 1.0)) * Ls
                total += term
                if k % 3 == 1 and np.all(np.abs(term) <= 1e-17 * total):
                    break  # the remaining terms shrink geometrically (|αL| < 0.05)
            direct[small] = np.log(total)
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
            # bounded memory: at most ~2M integrand values per block
            chunk = max(1, int(2_000_000 // max((hi - lo) / h, 1.0)))
            ok = np.zeros(todo.size, dtype=bool)
            for start in range(0, todo.size, chunk):
                part = todo[start:start + chunk]
                val, err = _sgm_quadrature_block(q, sigma, a[part], lo, hi, h)
                good = err < 1e-9
                out[part[good]] = val[good]
                ok[start:start + chunk] = good
            todo = todo[~ok]
            if todo.size == 0:
                break
            h /= 2.0
        else:  # pragma: no cover - the step rule above converges long before this
            raise FloatingPointError(
                f"sampled-Gaussian quadrature did not converge (q={q}, sigma={sigma})"
            )
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
    """
    a = _orders(orders)
    q = float(sample_rate)
    s = float(noise_multiplier)
    if q == 0.0 or math.isinf(s):
        return np.zeros_like(a)
    if s == 0.0:
        return np.full_like(a, np.inf)
    if q == 1.0:
        return gaussian(s, a)
    out = np.full_like(a, np.inf)
    fin = np.isfinite(a)
    is_int = fin & (a == np.floor(a)) & (a <= 100_000)
    log_am1 = np.empty_like(a)
    integer_kernel, quadrature_kernel = _sgm_kernels(backend)
    if is_int.any():
        log_am1[is_int] = integer_kernel(q, s, a[is_int])
    frac = fin & ~is_int
    if frac.any() and s < TINY_SIGMA:
        # Tiny noise: the quadrature would need ~1/σ² nodes. Use the convex interpolation of
        # the cumulant between exact integer orders instead (an upper bound, Wang et al. 2019,
        # Cor. 10); such σ give ε in the thousands, where this looseness is irrelevant.
        out[frac] = interpolate_cumulant(
            lambda ints: sampled_gaussian(q, s, ints, backend=backend), a[frac])
        fin = fin & ~frac
        frac = np.zeros_like(frac)
    if frac.any():
        log_am1[frac] = quadrature_kernel(q, s, np.ascontiguousarray(a[frac]))
        if np.isnan(log_am1[frac]).any():  # pragma: no cover - the step rule converges
            raise FloatingPointError(
                f"sampled-Gaussian quadrature did not converge (q={q}, sigma={s})")
    done = fin
    # log A = log1p(exp(log(A−1))), stable for both tiny and huge A − 1.
    out[done] = np.logaddexp(0.0, log_am1[done]) / (a[done] - 1.0)
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
    k_lo = np.array([0.0 if l < 2 else (l - 1.0) * table[l] for l in lo])
    k_hi = np.array([(h - 1.0) * table[h] for h in hi])
    with np.errstate(invalid="ignore"):
        w = np.where(hi > lo, (af - lo) / np.where(hi > lo, hi - lo, 1.0), 1.0)
        k = np.where(hi > lo, (1.0 - w) * k_lo + w * k_hi, k_hi)
        k = np.where(np.isinf(k_lo) | np.isinf(k_hi), np.inf, k)
    out[fin] = k / (af - 1.0)
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
    orders use
    :func:`interpolate_cumulant`. At α = ∞: ε'(∞) ≤ log(1 + γ(e^{ε(∞)} − 1)) (amplification
    of pure DP, Balle, Barthe, Gaboardi 2018).
    """
    g = float(sample_rate)

    def log_bracket(n: int, base: np.ndarray, e_inf: float) -> float:
        l = np.arange(3, n + 1, dtype=float)
        log_binom = special.gammaln(n + 1.0) - special.gammaln(l + 1.0) - special.gammaln(
            n - l + 1.0
        )
        with np.errstate(invalid="ignore"):
            tail = math.log(3.0) + log_binom + (n - l) * math.log1p(-g) + l * math.log(g) + (
                l - 1.0
            ) * base[l.astype(int) - 2]
        first = (n - 1.0) * math.log1p(-g) + math.log1p((n - 1.0) * g)
        second = (
            math.log(n * (n - 1.0) / 2.0) + 2.0 * math.log(g) + (n - 2.0) * math.log1p(-g)
            + base[0]
        )
        return float(_logsumexp(np.concatenate([[first, second], tail])))

    return _general_subsampled(g, base_rdp, orders, log_bracket)


def without_replacement_subsampled(
    sample_rate: float, base_rdp: RDPFunction, orders: np.ndarray
) -> np.ndarray:
    """General bound for sampling m of n without replacement, replace-one adjacency.

    For integer α ≥ 2 (Wang, Balle, Kasiviswanathan 2019, Thm. 9), γ = m/n,

        ε'(α) ≤ log( 1 + γ² C(α,2) min{4(e^{ε(2)}−1), e^{ε(2)} min{2, (e^{ε(∞)}−1)²}}
                     + Σ_{j=3}^{α} γ^j C(α,j) e^{(j−1)ε(j)} min{2, (e^{ε(∞)}−1)^j} ) / (α−1),

    capped by the base ε(α); real orders by :func:`interpolate_cumulant`. At α = ∞ the
    replace-one amplification of pure DP gives log(1 + γ(e^{ε(∞)} − 1)) (Balle et al. 2018).
    """
    g = float(sample_rate)

    def log_bracket(n: int, base: np.ndarray, e_inf: float) -> float:
        # log of min{2, (e^{ε∞} − 1)^j} as a function of j
        log_em1 = _log_expm1(np.array([e_inf]))[0] if 0 < e_inf < np.inf else (
            -np.inf if e_inf == 0 else np.inf
        )
        e2 = base[0]
        log_c2 = min(
            math.log(4.0) + float(_log_expm1(np.array([e2]))[0]) if e2 > 0 else -np.inf,
            e2 + min(math.log(2.0), 2.0 * log_em1),
        )
        second = 2.0 * math.log(g) + math.log(n * (n - 1.0) / 2.0) + log_c2
        j = np.arange(3, n + 1, dtype=float)
        log_binom = special.gammaln(n + 1.0) - special.gammaln(j + 1.0) - special.gammaln(
            n - j + 1.0
        )
        with np.errstate(invalid="ignore"):
            tail = (
                j * math.log(g)
                + log_binom
                + (j - 1.0) * base[j.astype(int) - 2]
                + np.minimum(math.log(2.0), j * log_em1)
            )
        return float(_logsumexp(np.concatenate([[0.0, second], tail])))

    return _general_subsampled(g, base_rdp, orders, log_bracket)


def _general_subsampled(
    g: float, base_rdp: RDPFunction, orders: np.ndarray,
    log_bracket: Callable[[int, np.ndarray, float], float],
) -> np.ndarray:
    """The frame both general subsampling bounds share.

    At integer α = n ≥ 2: min(log_bracket(n, base ε(2..n), ε(∞))/(n−1), ε(n)); at α = ∞ the
    amplification of pure DP log(1 + γ(e^{ε(∞)} − 1)) (Balle, Barthe, Gaboardi 2018); real
    orders by :func:`interpolate_cumulant`; everything capped by the base curve and made
    monotone from above.
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
                res[i] = math.log1p(g * math.expm1(e_inf)) if math.isfinite(e_inf) else np.inf
                continue
            n = int(alpha)
            own = base[n - 2]
            if g == 0.0:
                res[i] = 0.0
            elif g == 1.0:
                res[i] = own
            else:
                res[i] = min(log_bracket(n, base, e_inf) / (n - 1.0), own)
        return res

    a = _orders(orders)
    return _monotone_from_above(a, np.minimum(interpolate_cumulant(at_integers, a), base_rdp(a)))
