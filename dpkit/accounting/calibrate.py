"""Calibration: the parameter value that spends a target ε at a given δ, never more.

Each search first brackets the answer, stepping from a guess by the factor that ε ∝ 1/x
predicts (so a fair guess brackets in one or two evaluations), then narrows the bracket with
Brent's method on a log scale and returns a point on the side that *meets* the target. So the
answer always satisfies ε ≤ target and is within ``rtol`` (relative) of the optimal value.
Each evaluation is one accountant query, which evaluates only the Rényi orders that can still
give the smallest ε (see :mod:`dpkit.accounting._pruning`). A target that no value of the
parameter can reach raises :class:`~dpkit.errors.InfeasibleTargetError`, with the reachable
bound in the message.

ε is monotone in each searched parameter: non-increasing in the noise multiplier,
non-decreasing in the sample rate and in the number of compositions (each event's RDP is
monotone in them, and the conversion is monotone in the RDP curve).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import _validate as V
from ..errors import InfeasibleTargetError
from . import conversions as C
from .accountant import DEFAULT_ORDERS, Accountant, validate_orders
from .events import Event

__all__ = ["noise_multiplier", "sample_rate", "max_count", "search_decreasing"]

MIN_NOISE = 1e-3
MAX_NOISE = 1e8


def _epsilon_of(make_event: Callable[[float], Event], orders: np.ndarray, delta: float,
                count: int) -> Callable[[float], float]:
    """x ↦ ε of make_event(x) composed ``count`` times, remembering values already computed."""
    memo: dict[float, float] = {}

    def eps(x: float) -> float:
        v = memo.get(x)
        if v is None:
            acct = Accountant(orders).compose(make_event(x), count)
            v = memo[x] = acct._epsilon_details(delta).epsilon
        return v
    return eps


def search_decreasing(
    f: Callable[[float], float], target: float, lo: float, hi: float, *, rtol: float = 1e-6,
) -> float:
    """Smallest x in [lo, hi] with f(x) ≤ target, for f non-increasing; to ``rtol`` relative.

    Requires f(hi) ≤ target; returns lo if f(lo) ≤ target. Brent's method on log x finds the
    crossing to rtol/4, then the answer is moved up by rtol/4 (so it lies on the feasible side
    of the true crossing) and checked; the bracket's feasible end is the last resort.
    """
    if f(hi) > target:
        raise InfeasibleTargetError("search bracket does not contain a feasible point")
    if f(lo) <= target:
        return lo
    a, b = math.log(lo), math.log(hi)
    if b - a <= rtol:
        return hi
    step = 0.25 * math.log1p(rtol)

    def g(u: float) -> float:
        v = f(lo if u == a else hi if u == b else math.exp(u)) - target  # ends: exact x
        return v if math.isfinite(v) else 1e300

    from scipy import optimize  # imported here: it costs ~0.3 s, and only searches need it

    root = optimize.brentq(g, a, b, xtol=step, rtol=4 * np.finfo(float).eps, maxiter=200)
    for k in (1, 2, 4, 8):
        x = min(root + k * step, b)
        if f(math.exp(x)) <= target:
            return math.exp(x)
    return hi  # pragma: no cover - brentq's bracket guarantee makes this unreachable


def noise_multiplier(
    make_event: Callable[[float], Event],
    target_epsilon: float,
    delta: float,
    *,
    count: int = 1,
    orders: Any = None,
    rtol: float = 1e-6,
    bounds: tuple[float, float] = (MIN_NOISE, MAX_NOISE),
    initial: float | None = None,
) -> float:
    """Smallest noise multiplier σ with ε(make_event(σ) composed ``count`` times) ≤ target.

    The returned σ satisfies ε(σ) ≤ ``target_epsilon`` at ``delta`` and is within ``rtol`` of
    the smallest such σ in ``bounds``. Raises InfeasibleTargetError when even the largest σ in
    ``bounds`` cannot reach the target.
    """
    target = V.positive(target_epsilon=target_epsilon)
    d = V.in_range(0.0, 1.0, low_open=True, high_open=True, delta=delta)
    n = V.integer(minimum=1, count=count)
    a = DEFAULT_ORDERS if orders is None else validate_orders(orders)
    return _noise_multiplier(make_event, target, d, n, a, rtol=rtol, bounds=bounds,
                             initial=initial)


def _noise_multiplier(
    make_event: Callable[[float], Event], target: float, d: float, n: int, a: np.ndarray, *,
    rtol: float = 1e-6, bounds: tuple[float, float] = (MIN_NOISE, MAX_NOISE),
    initial: float | None = None,
) -> float:
    """:func:`noise_multiplier` on values already validated where they entered: target ε > 0,
    δ ∈ (0, 1), count n ≥ 1 and orders ``a`` (validated array). Nothing is re-checked here."""
    eps = _epsilon_of(make_event, a, d, n)
    lo, hi = bounds
    x0 = min(max(initial if initial is not None else math.sqrt(lo * hi), lo), hi)
    a_, b_ = _bracket_decreasing(eps, target, lo, hi, x0)
    if eps(b_) > target:  # the bracket reached the largest σ allowed
        raise InfeasibleTargetError(
            f"target_epsilon={target:g} is unreachable at delta={d:g}: even noise_multiplier="
            f"{hi:g} gives epsilon={eps(hi):.6g}; raise the target or delta, or reduce the steps"
        )
    if a_ == b_:
        return b_
    return search_decreasing(eps, target, a_, b_, rtol=rtol)


def _bracket_decreasing(eps: Callable[[float], float], target: float, lo: float, hi: float,
                        x0: float) -> tuple[float, float]:
    """[a, b] ⊂ [lo, hi] with eps(a) > target ≥ eps(b), found from x0.

    Each step moves by the factor that ε ∝ 1/x predicts (3% past the target, clamped to
    [½, 2]), so a fair guess brackets in one or two evaluations. Returns (lo, lo) when even
    lo meets the target, and (a, hi) with eps(hi) > target when nothing in range does.
    """
    x, e = x0, eps(x0)
    if e <= target:
        while x > lo:
            y = max(lo, x * min(max(0.97 * e / target, 0.5), 0.97))
            ey = eps(y)
            if ey > target:
                return y, x
            x, e = y, ey
        return lo, lo
    while x < hi:
        y = min(hi, x * (2.0 if math.isinf(e) else min(max(1.03 * e / target, 1.03), 2.0)))
        ey = eps(y)
        if ey <= target:
            return x, y
        x, e = y, ey
    return x, hi


def sample_rate(
    make_event: Callable[[float], Event],
    target_epsilon: float,
    delta: float,
    *,
    count: int = 1,
    orders: Any = None,
    rtol: float = 1e-6,
) -> float:
    """Largest sample rate q in (0, 1] with ε(make_event(q) composed ``count`` times) ≤ target."""
    target = V.positive(target_epsilon=target_epsilon)
    d = V.in_range(0.0, 1.0, low_open=True, high_open=True, delta=delta)
    n = V.integer(minimum=1, count=count)
    a = DEFAULT_ORDERS if orders is None else validate_orders(orders)
    eps = _epsilon_of(make_event, a, d, n)
    if eps(1.0) <= target:
        return 1.0
    lo = 1e-12
    if eps(lo) > target:
        raise InfeasibleTargetError(
            f"target_epsilon={target:g} is unreachable at delta={d:g}: even sample_rate={lo:g} "
            f"gives epsilon={eps(lo):.6g}"
        )
    # ε increasing in q  <=>  g(u) = ε(1/u) decreasing in u = 1/q
    u = search_decreasing(lambda v: eps(1.0 / v), target, 1.0, 1.0 / lo, rtol=rtol)
    return 1.0 / u


def max_count(
    event: Event, target_epsilon: float, delta: float, *, orders: Any = None,
    limit: int = 10**18,
) -> int:
    """Largest number of compositions T of ``event`` with ε ≤ target (at most ``limit``).

    The event's curve is evaluated once; each candidate T only rescales it, so this costs
    about 60 conversions. Raises InfeasibleTargetError if even T = 1 exceeds the target.
    """
    target = V.nonnegative(target_epsilon=target_epsilon)
    d = V.in_range(0.0, 1.0, low_open=True, high_open=True, delta=delta)
    a = DEFAULT_ORDERS if orders is None else validate_orders(orders)
    curve = event.rdp(a)

    def eps(t: int) -> float:
        with np.errstate(over="ignore"):  # t·ε(α) above 1e308 is ∞, an upper bound
            scaled = np.where(curve == 0.0, 0.0, curve * float(t))
        return C._rdp_to_epsilon(a, scaled, d).value

    e1 = eps(1)
    if e1 > target:
        raise InfeasibleTargetError(
            f"target_epsilon={target:g} is unreachable at delta={d:g}: a single composition "
            f"already costs epsilon={e1:.6g}"
        )
    if eps(limit) <= target:
        return limit
    lo, hi = 1, 2
    while eps(hi) <= target:
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if eps(mid) <= target:
            lo = mid
        else:
            hi = mid
    return lo

