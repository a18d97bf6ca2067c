"""Validated parameters of the additive mechanisms and the checks of their arguments.

The four frozen records (:class:`GaussianParams`, :class:`LaplaceParams`,
:class:`DiscreteLaplaceParams`, :class:`DiscreteGaussianParams`) check their fields once, on
construction; the helpers below them (not in ``__all__``) are the argument checks that the
samplers (:mod:`.reference`) and the mechanisms (:mod:`.mechanism`) share. Imports the
private ``_privacy_math`` (plain-number statements, event builders) for the records'
``epsilon`` / ``rho`` / ``privacy_event()``; nothing else from the package.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ... import _validate as V
from ...errors import DPKitError
from ._privacy_math import (
    discrete_gaussian_event,
    discrete_gaussian_rho,
    discrete_laplace_epsilon,
    discrete_laplace_event,
    gaussian_event,
    laplace_event,
)

if TYPE_CHECKING:
    from ...accounting.events import DiscreteGaussian, DiscreteLaplace, Gaussian, Laplace

__all__ = [
    "GaussianParams",
    "LaplaceParams",
    "DiscreteLaplaceParams",
    "DiscreteGaussianParams",
    "MAX_SCALE",
    "MAX_DRAWS",
    "Method",
    "RationalLike",
    "Size",
]

Method = Literal["auto", "exact", "fast"]
RationalLike = int | float | Fraction
Size = None | int | tuple[int, ...]

#: Largest accepted discrete scale / σ (2**40 ≈ 1.1e12): keeps every noise value inside int64.
MAX_SCALE = 2**40
#: Most draws one sampler call returns (2**32 int64 values = 32 GiB): larger sizes are refused
#: up front instead of running out of memory after hours of sampling.
MAX_DRAWS = 2**32
#: |x| accepted by the discrete mechanisms (noise added to it stays inside int64).
MAX_ABS_INPUT = 2**61


# ================================================================ argument handling helpers
def check_fraction(*, allow_zero: bool = False, maximum: int | None = None,
                   **kwargs: Any) -> Fraction:
    """A positive rational given as int, float or Fraction, returned as an exact Fraction.

    A float is read as the shortest decimal that prints as it (0.1 → 1/10), so the sampler
    uses exactly the value the caller wrote.
    """
    name, value = V.one(kwargs)
    if isinstance(value, Fraction):
        out = value
        if out < 0 or (out == 0 and not allow_zero):
            rel = ">= 0" if allow_zero else "> 0"
            raise DPKitError(f"{name} must be {rel} and finite, got {value!r}")
    elif isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, bool):
        named: dict[str, Any] = {name: int(value)}
        V.positive(allow_zero=allow_zero, **named)
        out = Fraction(int(value))
    elif isinstance(value, (numbers.Real, np.floating)) and not isinstance(value, bool):
        named = {name: value}
        f = V.positive(allow_zero=allow_zero, **named)
        out = Fraction(repr(float(f)))
    else:
        raise DPKitError(f"{name} must be an int, float or fractions.Fraction, got {value!r}")
    if maximum is not None and out > maximum:
        raise DPKitError(f"{name} must be <= {maximum} (2**{maximum.bit_length() - 1}), "
                         f"got {value!r}")
    return out



def check_method(method: Any) -> str:
    if method not in ("auto", "exact", "fast"):
        raise DPKitError(f"method must be 'auto', 'exact' or 'fast', got {method!r}")
    return str(method)


def check_size(size: Any) -> tuple[int, ...] | None:
    if size is None:
        return None
    if isinstance(size, (tuple, list)):
        shape = tuple(V.integer(minimum=0, size=s) for s in size)
    else:
        shape = (V.integer(minimum=0, size=size),)
    if math.prod(shape) > MAX_DRAWS:
        raise DPKitError(f"size must hold at most MAX_DRAWS = 2**32 draws, got {size!r}")
    return shape


def _positions(mask: np.ndarray) -> str:
    mask = np.atleast_1d(mask)  # a 0-d input is reported as position 0
    where = np.argwhere(mask)[:5]
    pos = ", ".join(str(tuple(int(i) for i in w)) if mask.ndim > 1 else str(int(w[0]))
                    for w in where)
    total = int(mask.sum())
    return pos + ("" if total <= 5 else f" (and {total - 5} more)")


def finite_input(**kwargs: Any) -> np.ndarray:
    """``_validate.finite_array``, also for 0-d input (reported as position 0)."""
    name, value = V.one(kwargs)
    try:
        scalar = np.ndim(value) == 0
    except (TypeError, ValueError):  # e.g. a ragged list: finite_array names the problem
        scalar = False
    if scalar:  # finite_array cannot name a position in a 0-d array
        return V.finite_array(**{name: np.reshape(np.asarray(value), (1,))}).reshape(())
    return V.finite_array(**{name: value})


def integer_input(**kwargs: Any) -> np.ndarray:
    """An integer-valued array as int64: rejects NaN/inf, fractions and |x| > 2**61."""
    name, value = V.one(kwargs)
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError) as exc:  # e.g. a ragged list
        raise DPKitError(f"{name} must be an array of integers: {exc}") from None
    if raw.dtype.kind == "b":
        return raw.astype(np.int64)
    if raw.dtype.kind in "iu":
        too_big = np.abs(raw.astype(object) if raw.dtype.kind == "u" else raw) > MAX_ABS_INPUT
        too_big = np.asarray(too_big, dtype=bool)
        if too_big.any():
            raise DPKitError(f"{name} must have |values| <= 2**61; too large at position(s) "
                             f"{_positions(too_big)}")
        return raw.astype(np.int64)
    arr = finite_input(**{name: value})
    frac = arr != np.floor(arr)
    if frac.any():
        raise DPKitError(f"{name} must be integer-valued; non-integer at position(s) "
                         f"{_positions(frac)}")
    too_big = np.abs(arr) > 2.0**53
    if too_big.any():
        raise DPKitError(f"{name} given as floats must have |values| <= 2**53 (pass an integer "
                         f"array for larger values); too large at position(s) "
                         f"{_positions(too_big)}")
    return arr.astype(np.int64)


def check_params(params: Any, cls: type) -> None:
    if not isinstance(params, cls):
        raise DPKitError(f"params must be a {cls.__name__}, got {type(params).__name__}")



# ================================================================ parameter records
@dataclass(frozen=True)
class GaussianParams:
    """Gaussian mechanism: add N(0, (σ·Δ)²) to each coordinate of a query of L2 sensitivity Δ.

    Privacy: ρ-zCDP with ρ = 1/(2σ²), i.e. RDP ε(α) = α/(2σ²) for every α > 1 (Mironov 2017,
    Prop. 7; Bun & Steinke 2016, Prop. 1.6), for the neighbouring relation under which the L2
    sensitivity Δ was computed. Not hardened against floating-point attacks.

    Args:
        noise_multiplier: σ > 0, the noise standard deviation divided by the sensitivity.
        sensitivity: Δ > 0, the query's L2 sensitivity.

    Raises:
        DPKitError: σ or Δ not positive and finite (NaN included), or σ·Δ not a positive float.

    >>> GaussianParams(2.0, sensitivity=0.5).std
    1.0
    """

    noise_multiplier: float
    sensitivity: float = 1.0

    def __post_init__(self) -> None:
        s = V.positive(noise_multiplier=self.noise_multiplier)
        d = V.positive(sensitivity=self.sensitivity)
        object.__setattr__(self, "noise_multiplier", s)
        object.__setattr__(self, "sensitivity", d)
        product: dict[str, Any] = {"noise_multiplier*sensitivity": s * d}
        V.positive(**product)

    @property
    def std(self) -> float:
        """The noise standard deviation σ·Δ."""
        return self.noise_multiplier * self.sensitivity

    def privacy_event(self) -> Gaussian:
        """``Gaussian(noise_multiplier)``: ε(α) = α/(2σ²), one release."""
        return gaussian_event(self.noise_multiplier)


@dataclass(frozen=True)
class LaplaceParams:
    """Laplace mechanism: add Lap(b·Δ) noise to each coordinate of a query of L1 sensitivity Δ.

    Privacy: ε-DP with ε = 1/b (b = ``noise_multiplier``), RDP from Mironov 2017, Prop. 6, for
    the neighbouring relation under which the L1 sensitivity Δ was computed (Dwork, McSherry,
    Nissim, Smith 2006). Not hardened against floating-point attacks.

    Args:
        noise_multiplier: b > 0, the noise scale divided by the sensitivity.
        sensitivity: Δ > 0, the query's L1 sensitivity.

    Raises:
        DPKitError: b or Δ not positive and finite (NaN included), or b·Δ not a positive float.

    >>> LaplaceParams.from_epsilon(0.5, sensitivity=2.0).scale
    4.0
    """

    noise_multiplier: float
    sensitivity: float = 1.0

    def __post_init__(self) -> None:
        b = V.positive(noise_multiplier=self.noise_multiplier)
        d = V.positive(sensitivity=self.sensitivity)
        object.__setattr__(self, "noise_multiplier", b)
        object.__setattr__(self, "sensitivity", d)
        product: dict[str, Any] = {"noise_multiplier*sensitivity": b * d}
        V.positive(**product)

    @classmethod
    def from_epsilon(cls, epsilon: float, sensitivity: float = 1.0) -> LaplaceParams:
        """The Laplace mechanism that is ε-DP for L1 sensitivity Δ: b = 1/ε, scale Δ/ε."""
        e = V.positive(epsilon=epsilon)
        return cls(1.0 / e, sensitivity)

    @property
    def scale(self) -> float:
        """The noise scale b·Δ."""
        return self.noise_multiplier * self.sensitivity

    def privacy_event(self) -> Laplace:
        """``Laplace(noise_multiplier)``: (1/b)-DP, one release."""
        return laplace_event(self.noise_multiplier)


@dataclass(frozen=True)
class DiscreteLaplaceParams:
    """Discrete Laplace mechanism on an integer query of integer L1 sensitivity Δ.

    Law of the noise: P[Y = y] = (1 − e^{−1/scale}) / (1 + e^{−1/scale}) · e^{−|y|/scale},
    y ∈ ℤ. Privacy: ε-DP with ε = Δ/scale, for the neighbouring relation under which Δ was
    computed (Ghosh, Roughgarden, Sundararajan 2012; Canonne, Kamath, Steinke 2020). The
    statement is exact: the log-ratio of the two output pmfs reaches Δ/scale. Hardened against
    floating-point attacks (exact integer sampler).

    Args:
        scale: a positive rational (int, float read as its decimal, or Fraction), at most
            :data:`MAX_SCALE`; stored as an exact ``Fraction``.
        sensitivity: Δ, a positive integer.

    Raises:
        DPKitError: scale not a positive rational ≤ MAX_SCALE; Δ not a positive integer.

    >>> DiscreteLaplaceParams(2, sensitivity=1).epsilon
    0.5
    """

    scale: Fraction
    sensitivity: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "scale", check_fraction(maximum=MAX_SCALE, scale=self.scale))
        object.__setattr__(self, "sensitivity", V.integer(minimum=1, sensitivity=self.sensitivity))

    @property
    def epsilon(self) -> float:
        """ε = Δ/scale, rounded up to the next float."""
        return discrete_laplace_epsilon(self.scale, self.sensitivity)

    def privacy_event(self) -> DiscreteLaplace:
        """``DiscreteLaplace(scale, Δ)``, one release: RDP of ``PureDP(Δ/scale)`` (the same
        curve as before issue 16) and the exact privacy loss distribution of the noise pmfs
        (worst case over integer shifts of L1 norm ≤ Δ)."""
        return discrete_laplace_event(self.scale, self.sensitivity)


@dataclass(frozen=True)
class DiscreteGaussianParams:
    """Discrete Gaussian mechanism on an integer query of integer sensitivity Δ.

    Law of the noise, per coordinate: P[Y = y] ∝ exp(−y²/(2σ²)), y ∈ ℤ (σ² rational).

    Privacy: ρ-zCDP with ρ = Δ²/(2σ²), i.e. RDP ε(α) ≤ αΔ²/(2σ²), for the neighbouring relation
    under which Δ was computed (Canonne, Kamath, Steinke 2020, Thm. 14). For a vector query with
    integer-valued coordinates and L2 sensitivity Δ₂, independent noise on every coordinate
    gives the same ρ = Δ₂²/(2σ²): Rényi divergences of product distributions add over the
    coordinates and Σᵢ Δᵢ²/(2σ²) = Δ₂²/(2σ²) (CKS 2020, Thm. 15). Pass an integer upper bound
    on Δ₂ (e.g. ⌈Δ₂⌉). Only the direct (ε, δ) statement of CKS 2020 is weaker in many
    dimensions; the zCDP one is not. Hardened against floating-point attacks (exact sampler).

    Args:
        sigma: σ, a positive rational (int, float read as its decimal, or Fraction), at most
            :data:`MAX_SCALE`; stored as an exact ``Fraction``.
        sensitivity: Δ (or Δ₂ for a vector query), a positive integer.

    Raises:
        DPKitError: σ not a positive rational ≤ MAX_SCALE; Δ not a positive integer.

    >>> DiscreteGaussianParams(2, sensitivity=1).rho
    0.125
    """

    sigma: Fraction
    sensitivity: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "sigma", check_fraction(maximum=MAX_SCALE, sigma=self.sigma))
        object.__setattr__(self, "sensitivity", V.integer(minimum=1, sensitivity=self.sensitivity))

    @property
    def sigma_squared(self) -> Fraction:
        """σ², exactly."""
        return self.sigma * self.sigma

    @property
    def rho(self) -> float:
        """ρ = Δ²/(2σ²), rounded up to the next float."""
        return discrete_gaussian_rho(self.sigma, self.sensitivity)

    def privacy_event(self) -> DiscreteGaussian:
        """``DiscreteGaussian(σ, Δ)``, one release (any number of coordinates, Δ = L2
        bound): RDP of ``ZCDP(rho=Δ²/(2σ²))`` (as before issue 16) and the exact privacy loss
        distribution of the noise pmfs (worst case over integer shifts of L2 norm ≤ Δ, for
        Δ ≤ 4; larger Δ is accounted by RDP only)."""
        return discrete_gaussian_event(self.sigma, self.sensitivity)

