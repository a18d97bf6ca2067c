"""Calibration: the parameter value that spends a target ε at a given δ, never more.

Each search keeps a bracket [a, b] in which one end meets the target and the other does not,
narrows it with the Illinois variant of regula falsi on a log scale (superlinear, never leaves
the bracket), and returns the end that *meets* the target. So the answer always satisfies
ε ≤ target and is within ``rtol`` (relative) of the optimal value. A target that no value of
the parameter can reach raises :class:`~dpkit.errors.InfeasibleTargetError` before any search,
with the reachable bound in the message.

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
from .accountant import DEFAULT_ORDERS, validate_orders
from .events import Event

__all__ = ["noise_multiplier", "sample_rate", "max_count", "search_decreasing"]

MIN_NOISE = 1e-3
MAX_NOISE = 1e8


def _epsilon_of(make_event: Callable[[float], Event], orders: np.ndarray, delta: float,
                count: int) -> Callable[[float], float]:
    def eps(x: float) -> float:
        curve = make_event(x).rdp(orders) * count
        return C.rdp_to_epsilon(orders, curve, delta).value
    return eps


def search_decreasing(
    f: Callable[[float], float], target: float, lo: float, hi: float, *, rtol: float = 1e-6,
    max_iter: int = 200,
) -> float:
    """Smallest x in [lo, hi] with f(x) ≤ target, for f non-increasing; to ``rtol`` relative.

    Requires f(hi) ≤ target. Returns lo if f(lo) ≤ target. Illinois regula falsi on log x.
    """
    fb = f(hi) - target
    if fb > 0:
        raise InfeasibleTargetError("search bracket does not contain a feasible point")
    fa = f(lo) - target
    if fa <= 0:
        return lo
    a, b = math.log(lo), math.log(hi)
    side = 0
    for _ in range(max_iter):
        if b - a <= math.log1p(rtol):
            break
        # regula falsi on (a, fa) (b, fb); fa > 0 >= fb; infinite values fall back to bisection
        if math.isfinite(fa) and math.isfinite(fb) and fa != fb:
            x = b - fb * (b - a) / (fb - fa)
            # keep x well inside the bracket so the bracket always shrinks
            margin = 0.01 * (b - a)
            x = min(max(x, a + margin), b - margin)
        else:
            x = 0.5 * (a + b)
        fx = f(math.exp(x)) - target
        if fx > 0:
            a, fa = x, fx
            if side == -1:
                fb *= 0.5
            side = -1
        else:
            b, fb = x, fx
            if side == 1:
                fa *= 0.5
            side = 1
    return math.exp(b)


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
    eps = _epsilon_of(make_event, a, d, n)
    lo, hi = bounds
    e_hi = eps(hi)
    if e_hi > target:
        raise InfeasibleTargetError(
            f"target_epsilon={target:g} is unreachable at delta={d:g}: even noise_multiplier="
            f"{hi:g} gives epsilon={e_hi:.6g}; raise the target or delta, or reduce the steps"
        )
    if initial is not None:
        # narrow the bracket around the initial guess by doubling / halving
        x = min(max(initial, lo), hi)
        if eps(x) <= target:
            hi = x
            while hi / 2 >= lo and eps(hi / 2) <= target:
                hi /= 2
            lo = max(lo, hi / 2)
        else:
            lo = x
            while lo * 2 <= hi and eps(lo * 2) > target:
                lo *= 2
            hi = min(hi, lo * 2)
    return search_decreasing(eps, target, lo, hi, rtol=rtol)


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
        return C.rdp_to_epsilon(a, curve * t, d).value

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

