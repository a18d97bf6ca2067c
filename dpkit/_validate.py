"""The one place for argument checks.

Every helper takes the value as a keyword argument so that the message names the parameter,
for example ``positive(noise_multiplier=-1.0)`` raises
``DPKitError: noise_multiplier must be > 0 and finite, got -1.0``.
All helpers return the validated (converted) value.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from .errors import DPKitError

__all__ = [
    "one",
    "finite",
    "positive",
    "nonnegative",
    "in_range",
    "probability",
    "integer",
    "finite_array",
    "generator",
    "orders",
    "relation",
    "RELATIONS",
]


def one(kwargs: dict[str, Any]) -> tuple[str, Any]:
    """Unpack the single ``name=value`` pair passed to a validator."""
    if len(kwargs) != 1:
        raise TypeError("validators take exactly one keyword argument")
    return next(iter(kwargs.items()))


def _real(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise DPKitError(f"{name} must be a real number, got {value!r}")
    out = float(value)
    if math.isnan(out):
        raise DPKitError(f"{name} must be a number, got NaN")
    return out


def finite(**kwargs: Any) -> float:
    """A real, finite number."""
    name, value = one(kwargs)
    out = _real(name, value)
    if not math.isfinite(out):
        raise DPKitError(f"{name} must be finite, got {value!r}")
    return out


def positive(*, allow_inf: bool = False, allow_zero: bool = False, **kwargs: Any) -> float:
    """A real number > 0 (or >= 0 with ``allow_zero``), finite unless ``allow_inf``."""
    name, value = one(kwargs)
    out = _real(name, value)
    ok = out >= 0 if allow_zero else out > 0
    if not ok or (not allow_inf and math.isinf(out)):
        rel = ">= 0" if allow_zero else "> 0"
        fin = "" if allow_inf else " and finite"
        raise DPKitError(f"{name} must be {rel}{fin}, got {value!r}")
    return out


def nonnegative(*, allow_inf: bool = False, **kwargs: Any) -> float:
    """A real number >= 0, finite unless ``allow_inf``."""
    return positive(allow_inf=allow_inf, allow_zero=True, **kwargs)


def in_range(
    low: float,
    high: float,
    *,
    low_open: bool = False,
    high_open: bool = False,
    **kwargs: Any,
) -> float:
    """A real number in the interval [low, high] (ends open as requested)."""
    name, value = one(kwargs)
    out = _real(name, value)
    lo_ok = out > low if low_open else out >= low
    hi_ok = out < high if high_open else out <= high
    if not (lo_ok and hi_ok):
        lb = "(" if low_open else "["
        rb = ")" if high_open else "]"
        raise DPKitError(f"{name} must be in {lb}{low:g}, {high:g}{rb}, got {value!r}")
    return out


def probability(**kwargs: Any) -> float:
    """A probability in [0, 1]."""
    return in_range(0.0, 1.0, **kwargs)


def integer(*, minimum: int | None = None, maximum: int | None = None, **kwargs: Any) -> int:
    """An integer (an integral float such as ``1e9`` is accepted) within optional bounds."""
    name, value = one(kwargs)
    if isinstance(value, bool):
        raise DPKitError(f"{name} must be an integer, got {value!r}")
    if isinstance(value, (numbers.Integral, np.integer)):
        out = int(value)
    elif isinstance(value, (numbers.Real, np.floating)):
        f = float(value)
        if not math.isfinite(f) or f != math.floor(f):
            raise DPKitError(f"{name} must be a whole number, got {value!r}")
        out = int(f)
    else:
        raise DPKitError(f"{name} must be an integer, got {value!r}")
    if minimum is not None and out < minimum:
        raise DPKitError(f"{name} must be >= {minimum}, got {value!r}")
    if maximum is not None and out > maximum:
        raise DPKitError(f"{name} must be <= {maximum}, got {value!r}")
    return out


def finite_array(**kwargs: Any) -> np.ndarray:
    """A float array with no NaN or infinity; the message names the first bad positions."""
    name, value = one(kwargs)
    try:
        raw = np.asarray(value)
        complex_ = np.iscomplexobj(raw)
        arr = None if complex_ else np.asarray(raw, dtype=float)
    except (TypeError, ValueError, OverflowError) as exc:
        raise DPKitError(f"{name} must be an array of real numbers: {exc}") from None
    if arr is None:  # checked before the cast: casting would warn and drop the imaginary part
        raise DPKitError(f"{name} must be real, got a complex array")
    bad = ~np.isfinite(arr)
    if bad.any() and arr.ndim == 0:
        raise DPKitError(f"{name} must be finite, got {float(arr)!r}")
    if bad.any():
        where = np.argwhere(bad)[:5]
        pos = ", ".join(str(tuple(int(i) for i in w)) if arr.ndim > 1 else str(int(w[0]))
                        for w in where)
        more = "" if bad.sum() <= 5 else f" (and {int(bad.sum()) - 5} more)"
        raise DPKitError(f"{name} must be finite; NaN or inf at position(s) {pos}{more}")
    return arr


def generator(**kwargs: Any) -> np.random.Generator:
    """A ``numpy.random.Generator`` (where only NumPy's full sampling API will do)."""
    name, value = one(kwargs)
    if not isinstance(value, np.random.Generator):
        raise DPKitError(f"{name} must be a numpy.random.Generator (numpy.random.default_rng), "
                         f"got {type(value).__name__}")
    return value


def orders(**kwargs: Any) -> np.ndarray:
    """Rényi orders: a non-empty 1-D float array of numbers > 1 (``inf`` allowed, NaN not)."""
    name, value = one(kwargs)
    try:
        raw = np.asarray(value)
        a = None if np.iscomplexobj(raw) else np.asarray(raw, dtype=float)
    except (TypeError, ValueError, OverflowError):
        a = None
    if a is None or a.ndim > 1 or a.size == 0 or np.isnan(a).any() or (a <= 1).any():
        raise DPKitError(f"{name} must be a non-empty list of numbers > 1 (inf allowed), got "
                         f"{value!r}")
    return a.reshape(-1)


RELATIONS = ("add_remove", "replace_one")


def relation(value: Any, default: str, *, alias: Any = None, alias_name: str = "",
             alias_map: dict[str, str] | None = None) -> str:
    """The neighbouring relation, spelled ``relation`` = "add_remove" | "replace_one" in every
    mechanism, from ``value`` (None: ``default``) and an optional deprecated keyword.

    ``alias`` is the value of the deprecated keyword ``alias_name`` (e.g. continual's
    ``neighbours``), translated by ``alias_map``; it is accepted silently and, when given, it
    decides (so that ``dataclasses.replace(params, neighbours=...)`` in old code, which also
    passes the current ``relation``, keeps working). A bad value raises a :class:`DPKitError`
    naming the parameter.
    """
    if value is not None and (not isinstance(value, str) or value not in RELATIONS):
        raise DPKitError(f"relation must be 'add_remove' or 'replace_one', got {value!r}")
    if alias is None:
        return default if value is None else str(value)
    amap = alias_map or {}
    if not isinstance(alias, str) or alias not in amap:
        raise DPKitError(f"{alias_name} (deprecated: use relation) must be one of "
                         f"{tuple(amap)}, got {alias!r}")
    return amap[alias]
