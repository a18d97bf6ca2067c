"""Conversions between Rényi DP, zCDP and (ε, δ)-DP.

Main bound (Balle, Barthe, Gaboardi, Hsu, Sato 2020, "Hypothesis Testing Interpretations and
Rényi Differential Privacy", Thm. 21; identical to Canonne, Kamath, Steinke 2020, Prop. 12):
an (α, ε(α))-RDP mechanism is (ε, δ)-DP with

    ε = ε(α) + log((α−1)/α) − (log δ + log α)/(α−1),
    δ = exp((α−1)(ε(α) − ε) + (α−1)·log(1 − 1/α) − log α).

Three more sound facts are used:

* α = ∞ (pure DP): an ε(∞) bound is (ε(∞), 0)-DP, hence (ε(∞), δ)-DP for every δ ≥ 0.
* Total variation (Bretagnolle–Huber): D_α ≥ KL for α > 1 and TV ≤ √(1 − e^{−KL}), so the
  mechanism is (0, √(1 − e^{−ε(α)}))-DP. When that δ is at most the target, ε = 0.
* ε < 0 is never reported: (ε', δ)-DP with ε' < 0 implies (0, δ)-DP.

Every function returns finite non-negative numbers or ``inf``, never NaN. Rounding is
directed: each per-order value is raised by a bound on its floating-point error (a few ulps
of the magnitudes of its terms), so a reported ε or δ is never below the exact value of the
formula for the curve it was given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _validate as V
from ..errors import DPKitError

__all__ = [
    "Conversion",
    "rdp_to_epsilon",
    "rdp_to_delta",
    "classic_rdp_to_epsilon",
    "zcdp_to_epsilon",
    "zcdp_to_delta",
    "pure_dp_to_zcdp",
    "validate_delta",
]


@dataclass(frozen=True)
class Conversion:
    """Result of a conversion: the value, the order that achieved it and how it was decided.

    ``method`` is ``"rdp"`` (the improved RDP bound at ``order``), ``"pure"`` (α = ∞),
    ``"tv"`` (the total-variation shortcut gave ε = 0 / δ = TV) or ``"vacuous"`` (no finite
    bound: ε = ∞ or δ = 1).
    """

    value: float
    order: float
    method: str


def validate_delta(delta: Any) -> float:
    """δ must be in [0, 1): δ = 0 asks for pure DP; δ ≥ 1 is vacuous and refused."""
    return V.in_range(0.0, 1.0, high_open=True, delta=delta)


def _clean(orders: Any, rdp: Any) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(orders, dtype=float).reshape(-1)
    r = np.asarray(rdp, dtype=float).reshape(-1)
    if a.shape != r.shape or a.size == 0:
        raise DPKitError("orders and rdp must be non-empty arrays of the same length")
    if np.isnan(a).any() or (a <= 1.0).any():
        raise DPKitError("orders must all be > 1 (inf allowed)")
    if np.isnan(r).any():
        raise DPKitError("rdp contains NaN: the privacy curve is undefined")
    return a, np.maximum(r, 0.0)


#: Relative rounding slack per term, in units of its magnitude (8 ulps).
_SLACK = 8.0 * 2.0 ** -52


def _tv_from_divergence(d: float) -> float:
    """√(1 − e^{−d}) rounded upward (Bretagnolle–Huber: TV ≤ √(1 − e^{−KL}), KL ≤ d)."""
    if math.isinf(d):
        return 1.0
    return min(1.0, math.sqrt(-math.expm1(-d)) * (1.0 + _SLACK))


def _tv_bound(a: np.ndarray, r: np.ndarray) -> float:
    """Bretagnolle–Huber bound on total variation from the smallest RDP value."""
    return _tv_from_divergence(float(np.min(r)))


def epsilon_at_orders(a: np.ndarray, r: np.ndarray, delta: float) -> np.ndarray:
    """The improved bound's ε at each finite order α (δ > 0), increasing in the RDP r,
    rounded upward."""
    with np.errstate(invalid="ignore", over="ignore"):
        l1 = np.log1p(-1.0 / a)
        l2 = (math.log(delta) + np.log(a)) / (a - 1.0)
        return r + l1 - l2 + _SLACK * (r + np.abs(l1) + np.abs(l2))


def log_delta_at_orders(a: np.ndarray, r: np.ndarray, epsilon: float) -> np.ndarray:
    """The improved bound's log δ at each finite order α, increasing in the RDP r, rounded
    upward (by the error of its terms and of the exponential taken afterwards)."""
    with np.errstate(invalid="ignore", over="ignore"):
        t1 = (a - 1.0) * (r - epsilon)
        t2 = (a - 1.0) * np.log1p(-1.0 / a)
        t3 = np.log(a)
        err = _SLACK * ((a - 1.0) * (r + epsilon) + np.abs(t2) + t3 + 1.0)
        return t1 + t2 - t3 + err


def rdp_to_epsilon(orders: Any, rdp: Any, delta: float) -> Conversion:
    """Smallest ε over the orders such that the mechanism is (ε, δ)-DP (improved bound)."""
    return _rdp_to_epsilon(orders, rdp, validate_delta(delta))


def _rdp_to_epsilon(orders: Any, rdp: Any, d: float) -> Conversion:
    """:func:`rdp_to_epsilon` for a δ already validated by the caller (by
    :func:`validate_delta` or stricter), so a search queries it without re-checking δ."""
    a, r = _clean(orders, rdp)
    best, best_order, method = math.inf, math.nan, "vacuous"
    inf_mask = np.isinf(a)
    if inf_mask.any():
        e_inf = float(np.min(r[inf_mask]))
        if e_inf < best:
            best, best_order, method = e_inf, math.inf, "pure"
    if d > 0.0:
        fin = ~inf_mask & np.isfinite(r)
        if fin.any():
            af, rf = a[fin], r[fin]
            eps = epsilon_at_orders(af, rf, d)
            i = int(np.argmin(eps))
            if eps[i] < best:
                best, best_order, method = float(eps[i]), float(af[i]), "rdp"
        if d >= _tv_bound(a, r):
            return Conversion(0.0, float(a[int(np.argmin(r))]), "tv")
    if math.isnan(best):  # pragma: no cover - guarded above
        raise DPKitError("internal error: epsilon is NaN")
    return Conversion(max(best, 0.0), best_order, method)


def rdp_to_delta(orders: Any, rdp: Any, epsilon: float) -> Conversion:
    """Smallest δ over the orders such that the mechanism is (ε, δ)-DP (improved bound)."""
    e = V.nonnegative(allow_inf=True, epsilon=epsilon)
    a, r = _clean(orders, rdp)
    if math.isinf(e):
        return Conversion(0.0, math.inf, "pure")
    inf_mask = np.isinf(a)
    if inf_mask.any() and float(np.min(r[inf_mask])) <= e:
        return Conversion(0.0, math.inf, "pure")
    best, best_order, method = 1.0, math.nan, "vacuous"
    fin = ~inf_mask & np.isfinite(r)
    if fin.any():
        af, rf = a[fin], r[fin]
        log_d = log_delta_at_orders(af, rf, e)
        i = int(np.argmin(log_d))
        val = math.exp(min(float(log_d[i]), 0.0))
        if val < best:
            best, best_order, method = val, float(af[i]), "rdp"
    tv = _tv_bound(a, r)
    if tv < best:
        best, best_order, method = tv, float(a[int(np.argmin(r))]), "tv"
    return Conversion(min(max(best, 0.0), 1.0), best_order, method)


def classic_rdp_to_epsilon(orders: Any, rdp: Any, delta: float) -> Conversion:
    """Mironov 2017, Prop. 3: ε = min_α ε(α) + log(1/δ)/(α−1). Looser; kept as a reference."""
    d = V.in_range(0.0, 1.0, low_open=True, high_open=True, delta=delta)
    a, r = _clean(orders, rdp)
    fin = np.isfinite(a) & np.isfinite(r)
    if not fin.any():
        return Conversion(math.inf, math.nan, "vacuous")
    with np.errstate(over="ignore"):
        tail = -math.log(d) / (a[fin] - 1.0)
        eps = r[fin] + tail + _SLACK * (r[fin] + tail)
    i = int(np.argmin(eps))
    return Conversion(max(float(eps[i]), 0.0), float(a[fin][i]), "rdp")


def _golden_min(f: Any, lo: float, hi: float, iters: int = 80) -> tuple[float, float]:
    """Minimise a unimodal f on [lo, hi] by golden-section search; returns (x, f(x))."""
    g = (math.sqrt(5.0) - 1.0) / 2.0
    x1, x2 = hi - g * (hi - lo), lo + g * (hi - lo)
    f1, f2 = f(x1), f(x2)
    for _ in range(iters):
        if f1 <= f2:
            hi, x2, f2 = x2, x1, f1
            x1 = hi - g * (hi - lo)
            f1 = f(x1)
        else:
            lo, x1, f1 = x1, x2, f2
            x2 = lo + g * (hi - lo)
            f2 = f(x2)
        if hi - lo < 1e-12 * max(1.0, abs(lo)):
            break
    return (x1, f1) if f1 <= f2 else (x2, f2)


def zcdp_to_epsilon(rho: float, delta: float, xi: float = 0.0) -> Conversion:
    """Tight (ε, δ) for (ξ, ρ)-zCDP: the improved bound minimised over continuous α.

    Canonne, Kamath, Steinke 2020 (Prop. 12 applied to the line ξ + ρα); the objective is
    convex in log(α−1), minimised by golden-section search to 1e−12 relative.
    """
    p = V.nonnegative(allow_inf=True, rho=rho)
    x = V.nonnegative(xi=xi)
    d = validate_delta(delta)
    if math.isinf(p):
        return Conversion(math.inf, math.nan, "vacuous")
    if p == 0.0:
        return Conversion(x, math.inf, "pure")
    if d == 0.0:
        return Conversion(math.inf, math.nan, "vacuous")

    def obj(t: float) -> float:
        a = 1.0 + math.exp(t)
        r = x + p * a
        l1 = math.log1p(-1.0 / a)
        l2 = (math.log(d) + math.log(a)) / (a - 1.0)
        return r + l1 - l2 + _SLACK * (2.0 * r + abs(l1) + abs(l2))

    t, val = _golden_min(obj, -12.0, 25.0)
    best = Conversion(max(val, 0.0), 1.0 + math.exp(t), "rdp")
    tv = _tv_from_divergence((x + p) * (1.0 + _SLACK))  # D_α at α → 1 is at most ξ + ρ
    if d >= tv:
        return Conversion(0.0, 1.0, "tv")
    return best


def zcdp_to_delta(rho: float, epsilon: float, xi: float = 0.0) -> Conversion:
    """Tight δ for (ξ, ρ)-zCDP at a given ε (continuous α, improved bound)."""
    p = V.nonnegative(allow_inf=True, rho=rho)
    x = V.nonnegative(xi=xi)
    e = V.nonnegative(allow_inf=True, epsilon=epsilon)
    if math.isinf(e) or p == 0.0 and x <= e:
        return Conversion(0.0, math.inf, "pure")
    if math.isinf(p):
        return Conversion(1.0, math.nan, "vacuous")

    def obj(t: float) -> float:
        a = 1.0 + math.exp(t)
        r = x + p * a
        t2 = (a - 1.0) * math.log1p(-1.0 / a)
        err = _SLACK * ((a - 1.0) * (2.0 * r + e) + abs(t2) + math.log(a) + 1.0)
        return (a - 1.0) * (r - e) + t2 - math.log(a) + err

    t, val = _golden_min(obj, -12.0, 25.0)
    dl = math.exp(min(val, 0.0))
    tv = _tv_from_divergence((x + p) * (1.0 + _SLACK))
    if tv < dl:
        return Conversion(tv, 1.0, "tv")
    return Conversion(dl, 1.0 + math.exp(t), "rdp")


def pure_dp_to_zcdp(epsilon: float) -> float:
    """ε-DP implies (ε²/2)-zCDP (Bun & Steinke 2016, Prop. 1.4)."""
    e = V.nonnegative(allow_inf=True, epsilon=epsilon)
    return 0.5 * e * e
