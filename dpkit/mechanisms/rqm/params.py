"""The validated parameters of RQM and the checks of the public functions' arguments.

:class:`RQMParams` checks its fields once, on construction; the helpers below it
(:func:`check_params`, :func:`input_array`, :func:`real_input`, :func:`index_array`, not in
``__all__``) are the argument checks the reference, the kernels' host code, the privacy
functions and the public functions share. Imports :mod:`._exact` (the exact law and Rényi
curve on plain numbers) for ``params.levels`` and ``params.privacy_event()``; nothing else from
the package.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ... import _validate as V
from ...accounting.events import Event
from ...backend import is_jax_array
from ...errors import DPKitError
from ._exact import level_values, tight_event

__all__ = ["RQMParams", "MAX_LEVELS", "Sampler"]

#: Largest accepted number of levels (indices fit in uint16).
MAX_LEVELS = 2**16

#: The two equal-in-law samplers of :func:`~dpkit.mechanisms.rqm.quantize_reference`.
Sampler = Literal["walk", "mask"]


@dataclass(frozen=True)
class RQMParams:
    """Parameters of the randomized quantization mechanism (Youn et al. 2023).

    Levels B_k = −R + k·2R/(m − 1), k = 0..m−1, with R = c + Δ; interior levels are kept
    independently with probability q, the two end levels always; x is rounded unbiasedly
    between its nearest kept levels.

    Privacy: a local randomizer; for any two inputs x, x' ∈ [−c, c] (replace-one), exact RDP
    ε(α) = max over the grid of :mod:`~dpkit.mechanisms.rqm.privacy` (finite iff Δ > 0 and
    q < 1, which this record enforces). See :func:`~dpkit.mechanisms.rqm.privacy_event`.

    Args:
        clip: c > 0, the clipping radius; inputs are clamped to [−c, c].
        extension: Δ > 0, the range extension (levels span [−(c+Δ), c+Δ]); Δ = 0 would let
            x = c always output the top level (infinite privacy loss).
        num_levels: m ≥ 2, the number of level *points* (bits per coordinate ⌈log2 m⌉), at
            most :data:`MAX_LEVELS` (65536) for encoding, decoding and the pmf, and at most
            ``privacy.MAX_ACCOUNTING_LEVELS`` (1024) for privacy accounting
            (:func:`~dpkit.mechanisms.rqm.privacy_event`, :func:`~dpkit.mechanisms.rqm.rdp`,
            :func:`~dpkit.mechanisms.rqm.calibrate` refuse larger m: the exact grid search
            costs O(m³) time).
        keep_prob: q ∈ [0, 1), the keep probability of each interior level (ignored for
            m = 2); q = 1 is plain stochastic rounding (infinite privacy loss).

    Raises:
        DPKitError: a parameter outside the ranges above (the message names it).

    >>> p = RQMParams(clip=1.0, extension=1.0, num_levels=4, keep_prob=0.5)
    >>> np.round(p.levels, 4).tolist(), p.bits
    ([-2.0, -0.6667, 0.6667, 2.0], 2)
    """

    clip: float
    extension: float
    num_levels: int
    keep_prob: float

    def __post_init__(self) -> None:
        c = V.positive(clip=self.clip)
        try:
            d = V.positive(extension=self.extension)
        except DPKitError as exc:
            raise DPKitError(f"{exc} (extension > 0 is needed for finite privacy)") from None
        m = V.integer(minimum=2, maximum=MAX_LEVELS, num_levels=self.num_levels)
        try:
            q = V.in_range(0.0, 1.0, high_open=True, keep_prob=self.keep_prob)
        except DPKitError as exc:
            raise DPKitError(f"{exc} (keep_prob < 1 is needed for finite privacy)") from None
        if not math.isfinite(2.0 * (c + d)) or not (c + d) > c:
            raise DPKitError(f"clip + extension must be a float > clip with 2·(clip + extension)"
                             f" finite (the level span), got clip={c!r}, extension={d!r}")
        object.__setattr__(self, "clip", c)
        object.__setattr__(self, "extension", d)
        object.__setattr__(self, "num_levels", m)
        object.__setattr__(self, "keep_prob", q)

    @property
    def half_width(self) -> float:
        """R = c + Δ."""
        return self.clip + self.extension

    @property
    def spacing(self) -> float:
        """s = 2R/(m − 1), the distance between neighbouring levels."""
        return 2.0 * self.half_width / (self.num_levels - 1)

    @property
    def levels(self) -> np.ndarray:
        """The level values B_0..B_{m−1} (B_0 = −R, B_{m−1} = R exactly)."""
        return level_values(self, np.arange(self.num_levels, dtype=np.int64))

    @property
    def bits(self) -> int:
        """Bits per coordinate, ⌈log2 m⌉."""
        return max(1, (self.num_levels - 1).bit_length())

    @property
    def index_dtype(self) -> np.dtype:
        """The unsigned dtype of the indices :func:`~dpkit.mechanisms.rqm.quantize` returns
        (uint8 or uint16)."""
        return np.dtype(np.uint8 if self.num_levels <= 256 else np.uint16)

    def privacy_event(self, dimension: int = 1) -> Event:
        """Same as :func:`~dpkit.mechanisms.rqm.privacy_event` (params, dimension): the exact
        local event (output laws at the worst-case grid pairs for m ≤ 32, else the RDP
        curve), d coordinates, relation replace-one."""
        return tight_event(self, V.integer(minimum=1, dimension=dimension))


# ================================================================ argument checks
def check_params(params: object) -> RQMParams:
    """``params`` if it is an :class:`RQMParams` (validated on construction), else DPKitError."""
    if not isinstance(params, RQMParams):
        raise DPKitError(f"params must be an RQMParams, got {type(params).__name__}")
    return params


def input_array(x: npt.ArrayLike) -> np.ndarray:
    """x as a finite float64 array; NaN/inf are refused with their positions (never clamped)."""
    try:
        scalar = np.ndim(x) == 0
    except (TypeError, ValueError):  # e.g. a ragged list: finite_array names the problem
        scalar = False
    if scalar:
        return V.finite_array(x=[x]).reshape(())
    return V.finite_array(x=x)


def real_input(x: Any) -> Any:
    """The check of ``x`` where it enters :func:`~dpkit.mechanisms.rqm.quantize`, before any
    backend: a DPKitError naming ``x`` unless x holds real numbers in a rectangular array
    (strings, None, complex, ragged lists are refused on every backend).

    A JAX array is judged by its dtype alone and returned as is (it stays on the device);
    anything else goes through ``np.asarray`` once. x itself is returned when it already holds
    real numbers (bool, integer or float), so that every backend gets exactly the value it got
    before this check; otherwise x as float64 from :func:`input_array` (e.g. an object array of
    numbers), which raises for everything else. NaN/inf are left to the backends: the reference
    and the kernels refuse them, naming the positions.
    """
    if is_jax_array(x):
        kind = getattr(x.dtype, "kind", "")
        if kind == "c":
            raise DPKitError("x must be real, got a complex array")
        if not kind or kind not in "biufV":  # "V": bfloat16 and other ml_dtypes floats
            raise DPKitError(f"x must be an array of real numbers, got dtype {x.dtype}")
        return x
    try:
        kind = np.asarray(x).dtype.kind
    except (TypeError, ValueError, OverflowError):  # e.g. a ragged list
        kind = "O"
    return x if kind in "biuf" else input_array(x)


def index_array(params: RQMParams, indices: Any) -> np.ndarray:
    """Level indices as int64, checked to be integers in {0..m−1}."""
    k = np.asarray(indices)
    if k.dtype.kind == "f":
        k = V.finite_array(indices=k)
        if (k != np.floor(k)).any():
            raise DPKitError("indices must be integers")
        k = k.astype(np.int64)
    elif k.dtype.kind not in "iub":
        raise DPKitError(f"indices must be an integer array, got dtype {k.dtype}")
    k = k.astype(np.int64)
    bad = (k < 0) | (k >= params.num_levels)
    if bad.any():
        raise DPKitError(f"indices must be in [0, {params.num_levels - 1}]; "
                         f"{int(bad.sum())} out of range")
    return k
