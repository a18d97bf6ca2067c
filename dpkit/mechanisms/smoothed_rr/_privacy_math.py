"""Privacy statements of smoothed randomized response (Liu & Rahimian 2025).

Y. Liu, M. A. Rahimian, *Differentially Private Sequential Learning*, arXiv:2502.19525 (2025);
FORC 2025 (LIPIcs 329, paper 18). See /work/shared/specs/smoothed_rr.md §3 and §7.

Smoothed RR releases one bit x = sign(v − t + Z), Z ~ Laplace(0, Δ/ε), i.e.
P(x = +1 | v) = F((v − t)/Δ) with F the Laplace(0, 1/ε) CDF. Both log P(x = ±1 | v) are
(ε/Δ)-Lipschitz in v, so for every output x and inputs v, v':

    P(x | v) ≤ exp(ε·|v − v'|/Δ) · P(x | v')                        (metric DP, d_X-privacy)

Neighbouring relation: |v − v'| ≤ Δ (``sensitivity``) gives ε-DP; the bound is tight (attained
in the tails, where the ratio for x = +1 is exactly e^{ε(v'−v)/Δ}). With clipping to [lo, hi]
and Δ ≥ hi − lo, every two clipped inputs are neighbours: ε-DP under replacement of the signal.

Rényi DP (orders α > 1):

* default (issue 16): the released bit sign(v − t + Z) is a post-processing of the Laplace
  mechanism's output v + Z (noise scale Δ/ε, sensitivity Δ), so the event is
  ``Laplace(1/ε)``: its RDP (Mironov 2017, Prop. 6) is below RR's closed form
  (1/(α−1))·log[(e^{αε} + e^{(1−α)ε})/(1 + e^ε)] (``PureDP(ε)``'s curve, the event before
  issue 16: the Laplace mechanism is ε-DP, hence a post-processing of the ε-RR pair, Kairouz,
  Oh, Viswanath 2015), and its privacy loss distribution is **exact** for smoothed RR: the
  supremum over thresholds of the hockey-stick divergence of the two Bernoulli laws is the
  Laplace pair's, since the Laplace likelihood ratio is monotone, so the optimal test is a
  threshold test (Neyman–Pearson), which smoothed RR realises at t;
* exact (opt-in): sup_z D_α(Bern(F(z + 1)) ‖ Bern(F(z))) for the pair at distance Δ (the
  divergence grows with the distance, since the shifted Laplace CDFs are ordered), a 1-D
  maximisation done here on a dense grid refined by bounded Brent search. The reverse order
  gives the same value (z ↦ −z − 1 swaps the labels).

Layer: the private bottom of the package. This module works on plain numbers:
:func:`smoothed_rr_event` and :func:`classic_rr_event` build the accounting events from ε and
the relation. It imports nothing from the package, so the params dataclasses (:mod:`.params`)
can offer ``params.privacy_event()`` through it; :mod:`.privacy` re-exports its public names
on top of the params and holds the public ``privacy_event(params)``.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import optimize

from ... import _validate as V
from ...accounting import rdp as _acct_rdp
from ...accounting.accountant import DEFAULT_ORDERS
from ...accounting.events import REPLACE_ONE, Laplace, RandomizedResponse, RDPCurve
from ...errors import DPKitError

__all__ = ["rdp_exact", "rdp_rr_bound", "log_ratio_grid", "log_prob_laplace_cdf",
           "smoothed_rr_event", "classic_rr_event", "REPLACE_ONE"]

_LOG_HALF = math.log(0.5)
#: Relative safety margin added to the numerically maximised exact curve (soundness: the
#: reported value is never below the true supremum by more than the optimiser's error).
EXACT_MARGIN = 1e-10


def log_prob_laplace_cdf(y: Any) -> tuple[np.ndarray, np.ndarray]:
    """(log F(y), log(1 − F(y))) for the standard Laplace CDF F (scale 1), stable in both tails.

    F(y) = ½e^{y} for y < 0 and 1 − ½e^{−y} for y ≥ 0. ``y``: real numbers (±∞ allowed).
    """
    try:
        raw = np.asarray(y)
        if np.iscomplexobj(raw):
            raise TypeError("complex values")
        y = np.asarray(raw, dtype=float)
    except (TypeError, ValueError) as exc:
        raise DPKitError(f"y must be real numbers, got {exc}") from None
    neg = y < 0
    ya = np.abs(y)
    small = _LOG_HALF - ya  # log(½e^{−|y|})
    big = np.log1p(-0.5 * np.exp(-ya))  # log(1 − ½e^{−|y|})
    return np.where(neg, small, big), np.where(neg, big, small)


def _d_alpha(y: np.ndarray, eps: float, alpha: float) -> np.ndarray:
    """D_α(Bern(F(y + ε)) ‖ Bern(F(y))) with F the standard Laplace CDF (y = ε·z)."""
    lp1, lq1 = log_prob_laplace_cdf(y + eps)
    lp0, lq0 = log_prob_laplace_cdf(y)
    s = np.logaddexp(alpha * lp1 + (1.0 - alpha) * lp0, alpha * lq1 + (1.0 - alpha) * lq0)
    return s / (alpha - 1.0)


def _neg_d_alpha(y: float, eps: float, alpha: float) -> float:
    return -float(_d_alpha(np.array([y]), eps, alpha)[0])


def rdp_rr_bound(epsilon: float, orders: Any) -> np.ndarray:
    """RR's closed-form RDP, (1/(α−1))·log[(e^{αε} + e^{(1−α)ε})/(1 + e^ε)] (Mironov 2017).

    An upper bound for every ε-DP mechanism with a binary output; ε at α = ∞. This is the
    accountant's binary randomized-response curve (:func:`dpkit.accounting.rdp.pure_dp`, the
    curve of ``PureDP(ε)`` and ``RandomizedResponse(ε)``): full relative precision at tiny ε,
    rounded upward, capped at ε.

    Raises:
        DPKitError: ε not positive and finite, or an order not > 1 (``inf`` allowed).
    """
    eps = V.positive(epsilon=epsilon)
    return _acct_rdp.pure_dp(eps, V.orders(orders=orders))


_HUGE_ORDER = 1e12


#: Above this ε the exact curve equals RR's closed form (ε to float precision at every order)
#: and the grid search would overflow (ε ≳ 1e150): the closed form, an upper bound, is used.
_HUGE_EPSILON = 1e15


@lru_cache(maxsize=64)
def _rdp_exact_cached(eps: float, orders: tuple[float, ...]) -> tuple[float, ...]:
    if eps > _HUGE_EPSILON:
        return tuple(float(b) for b in rdp_rr_bound(eps, np.array(orders)))
    out = []
    for alpha in orders:
        if alpha > _HUGE_ORDER:  # incl. inf: ε(α) ≤ ε(∞) = ε (non-decreasing in α), and the
            out.append(eps)  # grid search would overflow at such orders
            continue
        # the maximiser sits near y ≈ −log α (left tail) for large α; search wide enough
        lo = -(math.log(alpha) + 40.0) - eps
        grid = np.linspace(lo, 40.0, 20_001)
        vals = _d_alpha(grid, eps, alpha)
        i = int(np.argmax(vals))
        a_, b_ = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
        res = optimize.minimize_scalar(_neg_d_alpha, bounds=(a_, b_), args=(eps, alpha),
                                       method="bounded", options={"xatol": 1e-12})
        best = max(float(vals[i]), -float(res.fun))
        out.append(best * (1.0 + EXACT_MARGIN))
    bound = rdp_rr_bound(eps, np.array(orders))
    return tuple(float(min(v, b)) for v, b in zip(out, bound, strict=True))


def rdp_exact(epsilon: float, orders: Any = None) -> np.ndarray:
    """Exact RDP curve of smoothed RR: sup_z D_α(Bern(F(z + Δ)) ‖ Bern(F(z))), F = Lap(Δ/ε) CDF.

    Depends on ε only (Δ scales out). Privacy statement: the release is ε(α)-RDP for neighbours
    |v − v'| ≤ Δ (or any replacement after clipping to a range of width ≤ Δ).
    Liu & Rahimian 2025 (mechanism); the curve is our numeric computation (spec §7).

    Args:
        epsilon: ε > 0.
        orders: Rényi orders α > 1 (``inf`` allowed); default ``DEFAULT_ORDERS``.

    Returns:
        The curve, one value per order (never above RR's closed form; ε at α = ∞).

    >>> round(float(rdp_exact(1.0, [2.0])[0]), 6)
    0.576092
    """
    eps = V.positive(epsilon=epsilon)
    o = V.orders(orders=DEFAULT_ORDERS if orders is None else orders)
    return np.array(_rdp_exact_cached(eps, tuple(float(a) for a in o)))


def log_ratio_grid(epsilon: float, sensitivity: float, signals: Any,
                   shift: float | None = None) -> float:
    """max over x and the grid of |log P(x | v) − log P(x | v + shift)| (threshold 0).

    An independent check of the ε-DP statement (spec §8.1.2), from the closed-form output law.
    ``shift`` defaults to the sensitivity (the largest neighbouring distance).
    """
    eps = V.positive(epsilon=epsilon)
    d = V.positive(sensitivity=sensitivity)
    h = d if shift is None else V.positive(shift=shift)
    v = np.asarray(signals, dtype=float)
    lp0, lq0 = log_prob_laplace_cdf(eps * v / d)
    lp1, lq1 = log_prob_laplace_cdf(eps * (v + h) / d)
    return float(max(np.max(np.abs(lp1 - lp0)), np.max(np.abs(lq1 - lq0))))


def laplace_multiplier(epsilon: float) -> float:
    """b = 1/ε rounded *down* to a float, so that 1/b ≥ ε (the Laplace event is never weaker
    than the ε it stands for)."""
    from fractions import Fraction

    b = float(1 / Fraction(epsilon))
    if Fraction(b) * Fraction(epsilon) > 1:
        b = math.nextafter(b, 0.0)
    return b


def smoothed_rr_event(epsilon: float, relation: str | None = None, *, exact: bool = False,
                      orders: Any = None) -> Laplace | RDPCurve:
    """The accounting event of one smoothed-RR release with budget ε (Liu & Rahimian 2025).

    Default: ``Laplace(1/ε)`` — smoothed RR is a post-processing of the Laplace mechanism
    with noise multiplier 1/ε (ε-DP); its RDP (Mironov 2017, Prop. 6) is at most RR's closed
    form (the ``PureDP(ε)`` curve used before issue 16) and its privacy loss distribution is
    the exact one of smoothed RR (module docstring). ``exact=True``: the exact RDP curve
    :func:`rdp_exact` as an ``RDPCurve`` over ``orders`` (ε at α = ∞; no PLD).

    Privacy statement: ε-DP for neighbouring signals |v − v'| ≤ Δ (``relation=None``) or
    under replacement of a clipped signal (``relation="replace_one"``).

    Raises:
        DPKitError: ε not positive and finite, ``exact`` not a bool, bad orders, or a
            relation other than None / "replace_one".

    >>> smoothed_rr_event(0.5).epsilon_inf()
    0.5
    """
    eps = V.positive(epsilon=epsilon)
    if relation not in (None, REPLACE_ONE):
        raise DPKitError(f"relation must be None or {REPLACE_ONE!r}, got {relation!r}")
    if not isinstance(exact, (bool, np.bool_)):
        raise DPKitError(f"exact must be True or False, got {exact!r}")
    if not exact:
        return Laplace(laplace_multiplier(eps), relation=relation)
    o = V.orders(orders=DEFAULT_ORDERS if orders is None else orders)
    vals = rdp_exact(eps, o)
    return RDPCurve(tuple(float(a) for a in o), tuple(float(v) for v in vals),
                    relation=relation)


def classic_rr_event(epsilon: float) -> RandomizedResponse:
    """``RandomizedResponse(ε)``: classic binary RR (Warner 1965), ε-DP under replacement.

    The exact binary-RR RDP curve of the accountant.

    Raises:
        DPKitError: ε negative or NaN (the event's own check; ``inf`` allowed).

    >>> classic_rr_event(1.0).epsilon
    1.0
    """
    return RandomizedResponse(epsilon)
