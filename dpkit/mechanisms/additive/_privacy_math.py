"""Privacy statements of the additive mechanisms, on plain numbers.

Gaussian(σ): ρ = 1/(2σ²) zCDP, RDP α/(2σ²) (Mironov 2017, Prop. 7; Bun & Steinke 2016);
Laplace(b): (1/b)-DP (Dwork, McSherry, Nissim, Smith 2006; RDP Mironov 2017, Prop. 6);
discrete Laplace with scale t and integer L1 sensitivity Δ: (Δ/t)-DP (Ghosh, Roughgarden,
Sundararajan 2012; Canonne, Kamath, Steinke 2020); discrete Gaussian with σ and integer (L2)
sensitivity Δ: Δ²/(2σ²)-zCDP (Canonne, Kamath, Steinke 2020, Thms. 14-15). Every statement holds
for whichever neighbouring relation the sensitivity was computed under (the events carry
``relation=None``).

The exact rational ε and ρ of the discrete mechanisms are rounded *up* to a float
(:func:`float_up`), so a reported number is never below the truth. These helpers take checked
values (the params records validate) and are used by the records' ``epsilon`` / ``rho`` and
``privacy_event()``, which are the public statements.

Layer: the private bottom of the package (plain numbers in, events out); it imports nothing
from the package, :mod:`.params` imports it, and :mod:`.privacy` re-exports it on top of the
params.
"""

from __future__ import annotations

import math
from fractions import Fraction

from ...accounting.events import (
    ZCDP,
    DiscreteGaussian,
    DiscreteLaplace,
    Gaussian,
    Laplace,
    PureDP,
)

#: Plain-number helpers for :mod:`.params`, re-exported by :mod:`.privacy`.
__all__: list[str] = []


def float_up(x: Fraction) -> float:
    """The smallest float >= x (``inf`` when x is beyond the float range)."""
    try:
        f = float(x)
    except OverflowError:
        return math.inf
    if Fraction(f) < x:
        f = math.nextafter(f, math.inf)
    return f



def discrete_laplace_epsilon(scale: Fraction, sensitivity: int) -> float:
    """ε = Δ/scale of the discrete Laplace mechanism, rounded up to the next float."""
    return float_up(sensitivity / scale)


def discrete_gaussian_rho(sigma: Fraction, sensitivity: int) -> float:
    """ρ = Δ²/(2σ²) of the discrete Gaussian mechanism, rounded up to the next float."""
    return float_up(Fraction(sensitivity**2) / (2 * sigma * sigma))


def gaussian_event(noise_multiplier: float) -> Gaussian:
    """``Gaussian(σ)``: ε(α) = α/(2σ²), one release."""
    return Gaussian(noise_multiplier)


def laplace_event(noise_multiplier: float) -> Laplace:
    """``Laplace(b)``: (1/b)-DP, one release."""
    return Laplace(noise_multiplier)


def pure_dp_event(epsilon: float) -> PureDP:
    """``PureDP(ε)``, one release."""
    return PureDP(epsilon)


def zcdp_event(rho: float) -> ZCDP:
    """``ZCDP(rho=ρ)``, one release."""
    return ZCDP(rho)


def float_down(x: Fraction) -> float:
    """The largest float <= x (x > 0 and at most 2^40 here, so no overflow)."""
    f = float(x)
    if Fraction(f) > x:
        f = math.nextafter(f, 0.0)
    return f


def discrete_laplace_event(scale: Fraction, sensitivity: int) -> DiscreteLaplace:
    """``DiscreteLaplace(t, Δ)``, one release: (Δ/t)-DP with the exact noise pmfs for the
    privacy loss distribution. The float t is rounded *down* (less noise: ε = Δ/t rounded up
    is ≥ the exact one, the same float whenever Δ/t is)."""
    return DiscreteLaplace(float_down(scale), sensitivity)


def discrete_gaussian_event(sigma: Fraction, sensitivity: int) -> DiscreteGaussian:
    """``DiscreteGaussian(σ, Δ)``, one release: Δ²/(2σ²)-zCDP with the exact noise pmfs for
    the privacy loss distribution. The float σ is rounded *down* (ρ rounded up is ≥ the
    exact one, the same float whenever σ is exactly a float)."""
    return DiscreteGaussian(float_down(sigma), sensitivity)
