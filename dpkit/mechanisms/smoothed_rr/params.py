"""Validated parameters of smoothed and classic randomized response (Liu & Rahimian 2025).

The frozen dataclasses :class:`SmoothedRRParams` and :class:`ClassicRRParams` check their
fields once, here; the public functions then check only their own arguments, with the helpers
at the bottom (:func:`check_params`, :func:`signal_array`, :func:`threshold_array`, not in
``__all__``), which the reference, the kernels' host code and the public functions share.

Imports the private ``_privacy_math`` (plain-number privacy math) for
``params.privacy_event()``; nothing else from the package.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import numpy as np
import numpy.typing as npt

from ... import _validate as V
from ...errors import DPKitError
from .. import _rr
from ._privacy_math import REPLACE_ONE, classic_rr_event, smoothed_rr_event

if TYPE_CHECKING:
    from ...accounting.events import Laplace, RandomizedResponse, RDPCurve

__all__ = ["SmoothedRRParams", "ClassicRRParams", "Method"]

#: The two equal-in-law sampling routes of :func:`~dpkit.mechanisms.smoothed_rr.respond`.
Method = Literal["flip", "laplace"]
METHODS: tuple[str, ...] = ("flip", "laplace")

_P = TypeVar("_P", "SmoothedRRParams", "ClassicRRParams")


def _clip_pair(clip: Any) -> tuple[float, float] | None:
    if clip is None:
        return None
    try:
        lo_raw, hi_raw = clip
    except (TypeError, ValueError):
        raise DPKitError(f"clip must be None or a pair (lo, hi), got {clip!r}") from None
    lo = V.finite(**{"clip[0]": lo_raw})
    hi = V.finite(**{"clip[1]": hi_raw})
    if not lo < hi:
        raise DPKitError(f"clip must have lo < hi, got ({lo!r}, {hi!r})")
    return (lo, hi)


@dataclass(frozen=True)
class SmoothedRRParams:
    """Parameters of smoothed randomized response (Liu & Rahimian 2025).

    Release: x = −a with probability ½·exp(−ε|v − t|/Δ), else a = sign(v − t) (−1 at v = t).

    Privacy: ε-DP for neighbouring signals |v − v'| ≤ Δ (metric DP, loss ε|v − v'|/Δ, tight);
    with ``clip=(lo, hi)`` the signal is clipped first and, since Δ ≥ hi − lo is required, the
    release is ε-DP under arbitrary replacement of the signal.

    Args:
        epsilon: ε > 0.
        threshold: the public threshold t (finite).
        sensitivity: Δ > 0, the neighbouring distance of signals (noise scale Δ/ε).
        clip: None, or (lo, hi) with lo < hi finite; then Δ must be ≥ hi − lo
            (see :meth:`replacement` to set Δ = hi − lo).

    Raises:
        DPKitError: ε or Δ not positive and finite, t not finite, a bad clip range, or
            Δ < hi − lo.

    >>> print(SmoothedRRParams(1.0).adjacency)
    |v - v'| <= 1 (metric DP; any two signals at distance d: loss epsilon*d/1)
    """

    epsilon: float
    threshold: float = 0.0
    sensitivity: float = 1.0
    clip: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "epsilon", V.positive(epsilon=self.epsilon))
        object.__setattr__(self, "threshold", V.finite(threshold=self.threshold))
        d = V.positive(sensitivity=self.sensitivity)
        object.__setattr__(self, "sensitivity", d)
        c = _clip_pair(self.clip)
        object.__setattr__(self, "clip", c)
        if c is not None and d < c[1] - c[0]:
            raise DPKitError(
                f"sensitivity must be >= clip width hi - lo = {c[1] - c[0]:g} for replacement "
                f"DP, got {d!r} (use SmoothedRRParams.replacement(epsilon, lo, hi))")
        ratio: dict[str, Any] = {"epsilon/sensitivity": self.rate}
        V.positive(**ratio)

    @classmethod
    def replacement(cls, epsilon: float, lo: float, hi: float,
                    threshold: float = 0.0) -> SmoothedRRParams:
        """Params for ε-DP under replacement: clip to [lo, hi] and set Δ = hi − lo."""
        c = _clip_pair((lo, hi))
        assert c is not None
        return cls(epsilon, threshold, c[1] - c[0], c)

    @property
    def rate(self) -> float:
        """ε/Δ: the flip probability decays as ½·exp(−rate·|v − t|)."""
        return self.epsilon / self.sensitivity

    @property
    def relation(self) -> str | None:
        """``"replace_one"`` with clipping; None (|Δv| ≤ sensitivity) otherwise."""
        return REPLACE_ONE if self.clip is not None else None

    @property
    def adjacency(self) -> str:
        """The neighbouring relation of the ε-DP statement, in words."""
        if self.clip is not None:
            lo, hi = self.clip
            return (f"replace one signal (clipped to [{lo:g}, {hi:g}], width <= "
                    f"{self.sensitivity:g})")
        return (f"|v - v'| <= {self.sensitivity:g} (metric DP; any two signals at distance d: "
                f"loss epsilon*d/{self.sensitivity:g})")

    def privacy_event(self, exact: bool = False, *, orders: Any = None) -> Laplace | RDPCurve:
        """See :func:`~dpkit.mechanisms.smoothed_rr.privacy_event`."""
        return smoothed_rr_event(self.epsilon, self.relation, exact=exact, orders=orders)


@dataclass(frozen=True)
class ClassicRRParams:
    """Classic randomized response on the thresholded bit: flip with u = 1/(1 + e^ε).

    Privacy: ε-DP under arbitrary replacement of the signal (the output depends on the signal
    only through one bit; likelihood ratio ≤ (1−u)/u = e^ε). Warner 1965; the baseline of
    Liu & Rahimian 2025.

    Raises:
        DPKitError: ε not positive and finite, or t not finite.

    >>> import math
    >>> round(ClassicRRParams(math.log(3)).flip, 6)
    0.25
    """

    epsilon: float
    threshold: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "epsilon", V.positive(epsilon=self.epsilon))
        object.__setattr__(self, "threshold", V.finite(threshold=self.threshold))

    @property
    def flip(self) -> float:
        """The constant flip probability 1/(1 + e^ε) (as e^{−ε}/(1 + e^{−ε}): no overflow)."""
        return _rr.flip_probability(self.epsilon, 2)

    def privacy_event(self) -> RandomizedResponse:
        """``RandomizedResponse(ε)``: exact binary-RR RDP curve, replace-one."""
        return classic_rr_event(self.epsilon)


# ------------------------------------------------------- argument checks of the public functions
def check_params(params: object, cls: type[_P]) -> _P:
    """``params`` itself if it is a ``cls``, else a DPKitError naming the expected type."""
    if not isinstance(params, cls):
        raise DPKitError(f"params must be a {cls.__name__}, got {type(params).__name__}")
    return params


def check_method(method: object) -> None:
    """A DPKitError unless ``method`` is "flip" or "laplace"."""
    if method not in METHODS:
        raise DPKitError(f"method must be 'flip' or 'laplace', got {method!r}")


def _shape(name: str, value: npt.ArrayLike) -> tuple[int, ...]:
    try:
        return tuple(np.shape(value))
    except ValueError as exc:  # a ragged sequence
        raise DPKitError(f"{name} must be an array of real numbers: {exc}") from None


def finite_signal(signal: npt.ArrayLike) -> np.ndarray:
    """The signal as a finite float64 array of its own shape (scalars stay 0-d)."""
    shape = _shape("signal", signal)
    v = signal if shape else np.reshape(np.asarray(signal), (1,))
    return V.finite_array(signal=v).reshape(shape)


def signal_array(params: SmoothedRRParams, signal: npt.ArrayLike) -> np.ndarray:
    """The finite float64 signal, clipped to ``params.clip`` when set."""
    arr = finite_signal(signal)
    if params.clip is not None:
        arr = np.clip(arr, params.clip[0], params.clip[1])
    return arr


def threshold_array(params: SmoothedRRParams | ClassicRRParams, threshold: npt.ArrayLike | None,
                    shape: tuple[int, ...]) -> np.ndarray:
    """Per-signal thresholds broadcast to ``shape`` (default ``params.threshold``)."""
    if threshold is None:
        return np.full(shape, params.threshold)
    tshape = _shape("threshold", threshold)
    t = threshold if tshape else np.reshape(np.asarray(threshold), (1,))
    arr = V.finite_array(threshold=t).reshape(tshape)
    try:
        return np.broadcast_to(arr, shape)
    except ValueError:
        raise DPKitError(f"threshold must broadcast to the signal's shape {shape}, got shape "
                         f"{arr.shape}") from None
