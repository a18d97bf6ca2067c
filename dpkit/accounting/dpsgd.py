"""DP-SGD budgets: the Poisson-sampled Gaussian mechanism composed over training steps.

Privacy statement: T steps of DP-SGD, each adding N(0, (σC)²) noise to the sum of per-example
gradients clipped to norm C over a Poisson sample of rate q, satisfy (ε, δ)-DP under
add/remove-one-example adjacency with ε = :func:`epsilon`: with ``method="rdp"`` the exact
sampled-Gaussian RDP of Mironov, Talwar, Zhang 2019, composed T times, improved conversion of
Balle et al. 2020; with ``method="pld"`` the certified PLD bound (remove and add dominating
pairs of Zhu, Dong, Wang 2022, composed numerically, max of the two; :mod:`.pld`); with
``method="auto"`` (default) the smaller of both.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import _validate as V
from . import calibrate as _cal
from .accountant import DEFAULT_ORDERS, Accountant, EpsilonResult, validate_method, validate_orders
from .events import Gaussian, PoissonSampled

__all__ = ["epsilon", "epsilon_details", "noise_multiplier", "max_steps", "max_sample_rate",
           "event"]


def event(noise_multiplier: float, sample_rate: float) -> PoissonSampled:
    """One DP-SGD step as a privacy event."""
    return PoissonSampled(Gaussian(noise_multiplier), sample_rate)


def _check(noise_multiplier: float, sample_rate: float, steps: Any) -> tuple[float, float, int]:
    s = V.nonnegative(allow_inf=True, noise_multiplier=noise_multiplier)
    q = V.probability(sample_rate=sample_rate)
    t = V.integer(minimum=0, steps=steps)
    return s, q, t


def epsilon_details(
    noise_multiplier: float, sample_rate: float, steps: int, delta: float, *,
    orders: Any = None, refine: bool = False, method: str = "auto",
) -> EpsilonResult:
    """ε (with the method that decided it) of ``steps`` DP-SGD steps at ``delta``."""
    s, q, t = _check(noise_multiplier, sample_rate, steps)
    acct = Accountant(orders).compose(event(s, q), t)
    return acct.epsilon_details(delta, refine=refine, method=method)


def epsilon(
    noise_multiplier: float, sample_rate: float, steps: int, delta: float, *,
    orders: Any = None, refine: bool = False, method: str = "auto",
) -> float:
    """ε of ``steps`` DP-SGD steps with noise multiplier σ and Poisson rate q, at ``delta``.

    σ = 0 (no noise) gives ε = ∞; steps = 0 or q = 0 give ε = 0. Bad input (σ < 0 or NaN,
    q outside [0, 1], δ outside [0, 1), fractional or negative steps, a method not in
    "auto", "rdp", "pld") raises DPKitError.

    >>> round(epsilon(1.0, 0.01, 1000, 1e-5, method="rdp"), 4)
    2.1014
    >>> epsilon(1.0, 0.01, 1000, 1e-5) < 1.84  # "auto": the certified PLD bound is smaller
    True
    """
    return epsilon_details(noise_multiplier, sample_rate, steps, delta, orders=orders,
                           refine=refine, method=method).epsilon


def _initial_sigma(target: float, q: float, steps: int, delta: float) -> float:
    """A rough σ guess from the small-q approximation ρ ≈ T q² / σ² of the SGM.

    Only narrows the search bracket; correctness never depends on it.
    """
    t = min(max(target, 1e-3), 1e3)  # a guess only: clamped so nothing overflows (ε = 1e308)
    rho_needed = t * t / (-4.0 * math.log(delta) + 4.0 * t)
    eff = q * math.sqrt(min(steps, 10**300))  # an int step count may exceed the float range
    return max(min(eff / math.sqrt(2.0 * rho_needed), 1e6), 0.3)


def noise_multiplier(
    target_epsilon: float, delta: float, sample_rate: float, steps: int, *,
    orders: Any = None, rtol: float = 1e-6, method: str = "auto",
) -> float:
    """Smallest σ whose ``steps`` DP-SGD steps at rate q spend at most ``target_epsilon``.

    The result satisfies ``epsilon(σ, q, steps, delta, method=method) ≤ target_epsilon`` and
    is within ``rtol`` (relative; ``max(rtol, 1e-3)`` for the PLD search) of the smallest
    such σ. ``method="auto"`` (default) returns the smaller of the RDP and the PLD σ: the RDP
    σ is found first (fast), then a few secant steps on the certified PLD ε below it (see
    :mod:`.calibrate`). Unreachable targets raise InfeasibleTargetError with the best
    reachable ε.

    >>> s = noise_multiplier(3.0, 1e-5, 0.01, 10_000)
    >>> epsilon(s, 0.01, 10_000, 1e-5) <= 3.0
    True
    """
    m = validate_method(method)
    q = V.probability(sample_rate=sample_rate)
    t = V.integer(minimum=1, steps=steps)
    target = V.positive(target_epsilon=target_epsilon)
    d = V.in_range(0.0, 1.0, low_open=True, high_open=True, delta=delta)
    if q == 0.0:
        return _cal.MIN_NOISE  # no sampling, no privacy loss (orders never looked at)
    a = DEFAULT_ORDERS if orders is None else validate_orders(orders)
    return _noise_multiplier(target, d, q, t, a, rtol=rtol, method=m)


def _noise_multiplier(target: float, d: float, q: float, t: int, a: np.ndarray, *,
                      rtol: float = 1e-6, method: str = "rdp") -> float:
    """:func:`noise_multiplier` on values already validated where they entered (target ε > 0,
    δ ∈ (0, 1), q ∈ [0, 1], t ≥ 1, orders ``a``, ``method``); the Opacus adapter calls it
    directly (RDP by default here)."""
    if q == 0.0:
        return _cal.MIN_NOISE
    guess = _initial_sigma(target, q, t, d)
    return _cal._noise_multiplier_by(method, lambda s: event(s, q), target, d, t, a,
                                     rtol=rtol, initial=guess)


def max_steps(
    noise_multiplier: float, sample_rate: float, target_epsilon: float, delta: float, *,
    orders: Any = None, method: str = "auto",
) -> int:
    """Largest number of steps whose ε stays at most ``target_epsilon`` (ε by ``method``;
    "auto": the larger of the RDP and PLD counts, each checked against its own bound)."""
    s, q, _ = _check(noise_multiplier, sample_rate, 0)
    return _cal.max_count(event(s, q), target_epsilon, delta, orders=orders, method=method)


def max_sample_rate(
    noise_multiplier: float, steps: int, target_epsilon: float, delta: float, *,
    orders: Any = None, method: str = "auto",
) -> float:
    """Largest Poisson sampling rate whose ``steps`` steps spend at most ``target_epsilon``
    (ε by ``method``; "auto": the larger of the RDP and PLD rates)."""
    s, _, t = _check(noise_multiplier, 0.0, steps)
    validate_method(method)
    if t == 0:
        return 1.0  # no step, no privacy loss at any rate
    return _cal.sample_rate(lambda q: event(s, q), target_epsilon, delta, count=max(t, 1),
                            orders=orders, method=method)
