"""k-ary randomized response: ε ↔ keep / flip probabilities, written once.

k-ary randomized response (Warner 1965; generalized RR of Wang, Blocki, Li, Jha 2017) with
parameter ε reports the true value with probability

    keep  = e^ε / (e^ε + k − 1) = 1 / (1 + (k − 1)e^{−ε})

and each of the k − 1 other values with probability other = e^{−ε}·keep, so it is ε-LDP
(replace-one) with likelihood ratio keep/other = e^ε exactly; it flips (reports any other
value) with probability flip = 1 − keep = (k − 1)e^{−ε} / (1 + (k − 1)e^{−ε}). Binary RR is
k = 2: flip = 1/(1 + e^ε). Its Rényi curve is the accountant's
(:func:`dpkit.accounting.rdp.randomized_response`, the event
:class:`~dpkit.accounting.RandomizedResponse`); this module holds only the probabilities.

Numerics. Every form is written in e^{−ε}, so nothing overflows at ε > 709 (e^{−ε} underflows
to 0 instead: flip → 0, keep → 1; ε = ∞ is allowed). The flip is computed directly as
x/(1 + x), never as 1 − keep, so the rare event keeps full relative precision (1 − keep
cancels, and rounds to 0 once keep rounds to 1 at ε ≳ 36.7 + log(k − 1)). In log space,
log keep = −log1p((k − 1)e^{−ε}) and log flip = log(k − 1) − ε + log keep; the latter has an
absolute error of a few ulps of max(ε, log(k − 1)), i.e. a relative error of the probability
of about 1e−16·max(ε, log k), and never underflows (a flip below the smallest float is still a
finite log). Samplers decide on the flip (u < flip), so grid rounding can only raise the flip
rate and lower the likelihood ratio (see :func:`dpkit.mechanisms.heavy_hitters.oracles.
flip_probability`).

These are plain-number helpers for the mechanisms (no validation: callers pass a validated
ε ≥ 0 and an integer k ≥ 2). Kernels that need a formula inside jitted code keep a copy that
is tested against this module.
"""

from __future__ import annotations

import math

__all__ = [
    "keep_probability",
    "other_probability",
    "flip_probability",
    "log_keep_probability",
    "log_flip_probability",
]


def keep_probability(epsilon: float, k: int = 2) -> float:
    """P[report = true value] = e^ε/(e^ε + k − 1), as 1/(1 + (k − 1)e^{−ε}) (no overflow)."""
    return 1.0 / (1.0 + (k - 1) * math.exp(-epsilon))


def other_probability(epsilon: float, k: int = 2) -> float:
    """P[report = one given other value] = 1/(e^ε + k − 1) = e^{−ε}·keep (no overflow)."""
    return math.exp(-epsilon) * keep_probability(epsilon, k)


def flip_probability(epsilon: float, k: int = 2) -> float:
    """P[report ≠ true value] = (k − 1)/(e^ε + k − 1), as x/(1 + x) with x = (k − 1)e^{−ε}.

    Computed without cancellation (not as 1 − keep): full relative precision for the rare
    flip. Binary RR (k = 2): 1/(1 + e^ε).
    """
    x = (k - 1) * math.exp(-epsilon)
    return x / (1.0 + x)


def log_keep_probability(epsilon: float, k: int = 2) -> float:
    """log keep = −log1p((k − 1)e^{−ε}), accurate also when the flip is tiny."""
    return -math.log1p((k - 1) * math.exp(-epsilon))


def log_flip_probability(epsilon: float, k: int = 2) -> float:
    """log flip = log(k − 1) − ε − log1p((k − 1)e^{−ε}) (finite for every finite ε; −∞ at ε = ∞).

    Binary RR: −ε − log1p(e^{−ε}) = −log1p(e^ε), without overflow.
    """
    return math.log(k - 1) - epsilon + log_keep_probability(epsilon, k)
