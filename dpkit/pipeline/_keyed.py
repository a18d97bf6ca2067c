"""Per-unit randomness for the local randomizers on tables: draws keyed by the privacy unit.

A local randomizer (OLH, GRR, OUE, RQM, smoothed RR) run on a table must give the same output
for the same ``rng`` whether the table is one pandas frame or a Dask frame cut into any
partitions. So the randomness of a unit's report is a function of the unit alone: a 64-bit
key per unit (a keyed PRF of the unit's value, :func:`dpkit.pipeline._frames.unit_hash`, with a
seed drawn once from the caller's ``rng``), expanded by SplitMix64 (Steele, Lea, Flood,
"Fast splittable pseudorandom number generators", OOPSLA 2014) into a stream per unit.

:class:`KeyedDraws` offers the two methods of a numpy ``Generator`` the mechanisms' numpy
references call (``random`` and ``integers``), so the references' own code (the law every
kernel is tested against) runs unchanged: the i-th value along the *last* axis of every draw
comes from key i and the draw's position only. A draw whose last axis is not one value per key
is refused (a loud error, never a silent dependence on the partitioning).

Privacy: the keyed draws replace the generator's uniforms; each unit's randomness is
independent of every other unit's data. Uniforms are 53-bit floats (``(w >> 11)·2^−53``) and
bounded integers use the 64-bit multiply-shift (relative bias ≤ range/2^64): floating-point
sampling, *not* hardened against floating-point or PRF attacks (SplitMix64 is a statistical
generator; the unit keys come from the keyed PRF). Not for the hardened tier.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import DPKitError
from ..random import RNGLike, SecureGenerator, as_generator
from ._frames import check_no_nulls, is_dask, mix64

__all__ = ["KeyedDraws", "mulhi", "derive", "local_generator", "unit_means", "unit_column",
           "checked"]

_S11, _S32 = np.uint64(11), np.uint64(32)
_LOW32 = np.uint64(0xFFFFFFFF)
#: Stream constant of :func:`derive` (any fixed odd word).
_STREAM = np.uint64(0x5851F42D4C957F2D)


def derive(keys: np.ndarray, stream: int) -> np.ndarray:
    """Independent-looking keys of stream ``stream`` (≥ 0) for every key
    (:func:`dpkit.pipeline._frames.mix64` of the key and the stream number)."""
    with np.errstate(over="ignore"):
        tag = _STREAM * np.uint64(2 * stream + 1)
    return mix64(np.asarray(keys, dtype=np.uint64), tag)


def mulhi(w: np.ndarray, m: int) -> np.ndarray:
    """⌊w·m / 2^64⌋ for uint64 words w and 1 ≤ m ≤ 2^32: uniform words → uniform in [0, m)
    up to a relative bias of m/2^64 (Lemire's multiply-shift without rejection)."""
    if not 1 <= m <= 2**32:
        raise DPKitError(f"range must be in 1..2**32, got {m}")
    w = np.asarray(w, dtype=np.uint64)
    if m == 2**32:
        return w >> _S32
    mm = np.uint64(m)
    with np.errstate(over="ignore"):
        return ((w >> _S32) * mm + (((w & _LOW32) * mm) >> _S32)) >> _S32


class KeyedDraws:
    """A generator-like object: draw number c, position r of the leading axes, key i →
    ``mix64(key_i, c·2^32 + r + 1)`` (:func:`dpkit.pipeline._frames.mix64`).

    Args:
        keys: 1-D uint64 keys, one per randomized value (e.g. per unit, or per (unit,
            coordinate) flattened in C order).

    Privacy: see the module docstring (not hardened; randomness per key only).
    """

    def __init__(self, keys: np.ndarray) -> None:
        k = np.asarray(keys)
        if k.ndim != 1 or k.dtype != np.uint64:
            raise DPKitError(f"keys must be a 1-D uint64 array, got shape {k.shape}, "
                             f"dtype {k.dtype}")
        self._keys = k
        self._calls = 0

    def _words(self, size: Any) -> np.ndarray:
        shape = (size,) if isinstance(size, (int, np.integer)) else tuple(size)
        n = self._keys.size
        if not shape or int(shape[-1]) != n:
            raise DPKitError(f"a keyed draw must have one value per key along its last axis "
                             f"({n}), got shape {shape}")
        lead = math.prod(int(s) for s in shape[:-1])
        c = self._calls
        self._calls += 1
        pos = (np.uint64(c) << _S32) + np.arange(1, lead + 1, dtype=np.uint64)
        return mix64(self._keys[None, :], pos[:, None]).reshape(shape)

    def random(self, size: Any = None) -> np.ndarray:
        """Uniform float64 in [0, 1) on the 2^−53 grid, shape ``size`` (last axis: keys)."""
        return (self._words(size) >> _S11).astype(np.float64) * (2.0 ** -53)

    def integers(self, low: int, high: int | None = None, size: Any = None) -> np.ndarray:
        """Uniform int64 in [low, high) (numpy's signature; high − low ≤ 2^32)."""
        lo, hi = (0, int(low)) if high is None else (int(low), int(high))
        if hi <= lo:
            raise DPKitError(f"integers needs low < high, got [{lo}, {hi})")
        return mulhi(self._words(size), hi - lo).astype(np.int64) + lo


def local_generator(rng: RNGLike, what: str) -> np.random.Generator:
    """``as_generator(rng)``, refusing the hardened tier: the per-unit draws of the local
    randomizers on tables come from a non-cryptographic keyed hash (see the module
    docstring), which a SecureGenerator's user would not expect.

    Raises:
        DPKitError: rng a SecureGenerator (naming ``what``), or not a valid rng.
    """
    gen = as_generator(rng)
    if isinstance(gen, SecureGenerator):
        raise DPKitError(f"rng: {what} draws each unit's randomness from a keyed "
                         "non-cryptographic hash (so that pandas and Dask agree); the hardened "
                         "tier (SecureGenerator) is not available here: pass an int seed or a "
                         "numpy Generator")
    return gen


def unit_means(units: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted unique unit keys, per-unit means of ``values`` (n, d)) — the mean of each
    unit's rows, summed in a fixed order (rows sorted by (unit, value) per column), so that
    the result depends on the unit's multiset of values only, never on the row order.

    Post-processing of the table (no privacy by itself).
    """
    u = np.asarray(units, dtype=np.uint64)
    x = np.asarray(values, dtype=np.float64).reshape(u.size, -1)
    if u.size == 0:
        return u, np.zeros((0, x.shape[1]))
    first = np.lexsort((u,))
    us = u[first]
    starts = np.flatnonzero(np.r_[True, us[1:] != us[:-1]])
    counts = np.diff(np.r_[starts, us.size])
    out = np.empty((starts.size, x.shape[1]))
    for j in range(x.shape[1]):
        order = np.lexsort((x[:, j], u))
        out[:, j] = np.add.reduceat(x[order, j], starts) / counts
    return us[starts], out


def unit_column(pdf: Any, unit: Any) -> Any:
    """The privacy-unit values of a pandas partition: the column, or the index when the
    unit is the index (a Dask frame indexed by unit with known divisions)."""
    if unit in pdf.columns:
        return pdf[unit]
    return pdf.index.to_series(index=None).reset_index(drop=True)


class _CheckColumns:
    """Partition check: no nulls in ``nulls`` columns, only finite numbers in ``finite``."""

    def __init__(self, nulls: tuple[Any, ...], finite: tuple[Any, ...], what: str) -> None:
        self.nulls, self.finite, self.what = nulls, finite, what

    def __call__(self, pdf: Any) -> Any:
        for c in self.nulls:
            check_no_nulls(pdf, c, self.what)
        if self.finite:
            vals = pdf[list(self.finite)]
            try:
                arr = vals.to_numpy(dtype=np.float64)
            except (TypeError, ValueError):
                raise DPKitError(f"{self.what}: columns {list(self.finite)!r} must be "
                                 "numeric") from None
            if not np.isfinite(arr).all():
                bad = int((~np.isfinite(arr)).any(axis=1).sum())
                raise DPKitError(f"{self.what}: columns {list(self.finite)!r} hold {bad} "
                                 "row(s) with NaN/inf; drop or fill them before the release")
        return pdf


def checked(df: Any, *, nulls: tuple[Any, ...] = (), finite: tuple[Any, ...] = (),
            what: str) -> Any:
    """``df`` with every row's ``nulls`` columns non-null and ``finite`` columns finite — on
    all rows, before any row is sampled, so the error does not depend on ``rng``. pandas:
    checked now; Dask: lazily (when the release computes). A DPKitError names ``what``."""
    check = _CheckColumns(nulls, finite, what)
    if is_dask(df):
        return df.map_partitions(check, meta=df._meta)
    return check(df)
