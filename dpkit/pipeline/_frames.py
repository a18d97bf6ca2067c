"""Table helpers shared by every :mod:`dpkit.pipeline` release (pandas and Dask).

Nothing here releases anything; these are the checks and the deterministic plumbing the
releases build on. pandas and Dask are imported lazily (``import dpkit`` never imports them).

Stable API (used by every pipeline module; signatures do not change):

* :func:`pandas` — the pandas module, or a :class:`DPKitError` naming the ``[pandas]`` extra.
* :func:`is_dask(df) <is_dask>` — True for a ``dask.dataframe.DataFrame`` (or Series).
* :func:`require_frame(df) <require_frame>` — a pandas or Dask DataFrame, else DPKitError.
* :func:`require_columns(df, *cols, what=...) <require_columns>` — every column present (a
  Dask frame's index name counts where ``allow_index``), else a DPKitError naming the first
  missing column and the parameter it came from.
* :func:`check_no_nulls(pdf, col, what) <check_no_nulls>` — no null / NaN in ``pdf[col]``
  (privacy units, keys), else a DPKitError naming the column.
* :func:`require_known_divisions(ddf, what) <require_known_divisions>` — Dask frame with
  known divisions, else a DPKitError naming ``what``.
* :func:`key_order(index) <key_order>` — the permutation that sorts keys deterministically,
  also for object columns that mix types (sorted by type name, then value, then ``repr``).
* :func:`sort_by_key(series) <sort_by_key>` — a Series reordered by :func:`key_order`.
* :func:`unit_hash(seed, values) <unit_hash>` — a keyed 64-bit hash of a column's values
  (uint64 array), identical in every process and for every partitioning.
* :func:`rows_hash(seed, pdf, columns) <rows_hash>` — the same for whole rows (tuples).
* :func:`mix64(*words) <mix64>` — SplitMix64-style mixing of uint64 arrays (keyed hashes of
  tuples: ``mix64(unit_hash(seed, a), unit_hash(seed, b))``).
* :func:`draw_seed(rng) <draw_seed>` — one 64-bit seed drawn from ``rng`` (the only draw the
  row-selection steps make from the caller's generator).

Privacy: these helpers do not touch the privacy guarantee; :func:`unit_hash` is a keyed
pseudo-random function used to pick rows *fairly* (independent of row order); contribution
bounding is stable whatever rows it picks, so its output need not be secret.
"""

from __future__ import annotations

import types
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import DPKitError
from ..random import RNGLike, as_generator

__all__ = [
    "pandas",
    "is_dask",
    "require_frame",
    "require_columns",
    "check_no_nulls",
    "require_known_divisions",
    "key_order",
    "sort_by_key",
    "unit_hash",
    "rows_hash",
    "mix64",
    "draw_seed",
    "column_list",
]

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
#: pandas' hash_key (16 characters) used by unit_hash; the caller's seed keys the result.
_HASH_KEY = "dpkit.pipeline01"


def pandas() -> types.ModuleType:
    """The pandas module (imported lazily); a DPKitError naming the extra when missing."""
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is in the [pandas] extra
        raise DPKitError("dpkit.pipeline needs pandas: pip install 'dpkit[pandas]'") from None
    return pd


def is_dask(df: Any) -> bool:
    """True when ``df`` is a Dask DataFrame or Series (without importing Dask otherwise)."""
    mod = type(df).__module__ or ""
    if not mod.startswith(("dask", "dask_expr")):
        return False
    import dask.dataframe as dd

    return isinstance(df, (dd.DataFrame, dd.Series))


def require_frame(df: Any, what: str = "df") -> Any:
    """``df`` itself when it is a pandas or Dask DataFrame; a DPKitError naming ``what`` else."""
    if is_dask(df):
        import dask.dataframe as dd

        if isinstance(df, dd.DataFrame):
            return df
    else:
        pd = pandas()
        if isinstance(df, pd.DataFrame):
            return df
    raise DPKitError(f"{what} must be a pandas or Dask DataFrame, got {type(df).__name__}")


def column_list(cols: Any, what: str) -> list[str]:
    """``cols`` (one column name or a list of them) as a non-empty list of names."""
    if isinstance(cols, (str, int)) and not isinstance(cols, bool):
        return [cols]  # type: ignore[list-item]
    if isinstance(cols, Sequence) and len(cols) > 0:
        out = list(cols)
        if len(set(out)) != len(out):
            raise DPKitError(f"{what} must not repeat a column, got {cols!r}")
        return out
    raise DPKitError(f"{what} must be a column name or a non-empty list of column names, "
                     f"got {cols!r}")


def require_columns(df: Any, *cols: Any, what: str = "column", allow_index: bool = False) -> None:
    """Every name in ``cols`` is a column of ``df`` (or its index name with ``allow_index``).

    Raises a DPKitError such as ``privacy_unit: column 'user' not in the table (columns:
    ['a', 'b'])``: ``what`` names the parameter the column came from.
    """
    have = list(df.columns)
    index_name = getattr(df.index, "name", None)
    for c in cols:
        if c in have or (allow_index and index_name is not None and c == index_name):
            continue
        raise DPKitError(f"{what}: column {c!r} not in the table (columns: {have[:20]!r})")


def check_no_nulls(pdf: Any, col: Any, what: str) -> None:
    """No null / NaN / NaT in ``pdf[col]`` (a pandas frame, or a Series); else a DPKitError.

    ``what`` names the parameter: ``privacy_unit: column 'user' has 3 null value(s); drop or
    fill them before the release (a null is not a privacy unit)``.
    """
    s = pdf if col is None else (pdf.index.to_series() if col == pdf.index.name
                                 and col not in pdf.columns else pdf[col])
    n = int(s.isna().sum())
    if n:
        raise DPKitError(f"{what}: column {col!r} has {n} null/NaN value(s); drop or fill them "
                         "before the release (a null is neither a key nor a privacy unit)")


def require_known_divisions(ddf: Any, what: str) -> None:
    """A Dask frame whose divisions are known; else a DPKitError naming ``what``."""
    if not ddf.known_divisions:
        raise DPKitError(f"{what}: the Dask frame's divisions are unknown; call "
                         "ddf.set_index(column) (or read the data with its index sorted, "
                         "calculate_divisions=True) first, or pass the privacy unit as a column")


def _type_key(x: Any) -> tuple[str, Any]:
    return (type(x).__module__ + "." + type(x).__qualname__, x)


def key_order(index: Any) -> np.ndarray:
    """The permutation that sorts ``index`` (pandas Index or MultiIndex) deterministically.

    Plain ``sort_values`` order when the values compare; otherwise (an object column mixing
    ``str`` and ``int``, say) by (type name, value), and by ``repr`` as a last resort. The
    order depends on the set of keys only, never on the order they arrived in.
    """
    pd = pandas()
    idx = index if isinstance(index, pd.Index) else pd.Index(index)
    n = len(idx)
    if n == 0:
        return np.zeros(0, dtype=np.intp)
    try:
        return np.asarray(idx.argsort(kind="stable"), dtype=np.intp)
    except TypeError:
        pass
    vals = list(idx)
    try:
        return np.asarray(sorted(range(n), key=lambda i: _tuple_type_key(vals[i])), dtype=np.intp)
    except TypeError:
        return np.asarray(sorted(range(n), key=lambda i: (_type_name(vals[i]), repr(vals[i]))),
                          dtype=np.intp)


def _type_name(x: Any) -> str:
    return type(x).__module__ + "." + type(x).__qualname__


def _tuple_type_key(x: Any) -> Any:
    if isinstance(x, tuple):
        return tuple(_type_key(v) for v in x)
    return _type_key(x)


def sort_by_key(series: Any) -> Any:
    """``series`` (indexed by key) reordered by :func:`key_order` of its index."""
    return series.iloc[key_order(series.index)]


def mix64(*words: Any) -> np.ndarray:
    """Mix uint64 arrays (or scalars, broadcast) into one uint64 array.

    ``h = (h ^ w) · M`` folded over the words (M an odd 64-bit constant, an invertible map),
    then the SplitMix64 finalizer (Steele, Lea, Flood 2014, "Fast splittable pseudorandom
    number generators"): fast and well mixed, not cryptographic.
    """
    if not words:
        raise DPKitError("mix64 needs at least one word")
    with np.errstate(over="ignore"):
        h = np.asarray(words[0], dtype=np.uint64) * _M1 + _GOLDEN
        for w in words[1:]:
            h = h ^ np.asarray(w, dtype=np.uint64)
            h *= _M2
            h += _GOLDEN
        return _fmix(h)


def _fmix(z: np.ndarray) -> np.ndarray:
    """The SplitMix64 finalizer, in place on a fresh uint64 array (returned)."""
    z = np.array(z, dtype=np.uint64, copy=True)
    with np.errstate(over="ignore"):
        z ^= z >> np.uint64(30)
        z *= _M1
        z ^= z >> np.uint64(27)
        z *= _M2
        z ^= z >> np.uint64(31)
    return z


def _canonical(values: Any) -> np.ndarray:
    """A numpy array of ``values`` that does not depend on pandas' storage variant.

    Integers become int64 / uint64, floats float64 (NaN kept), booleans uint8, datetimes
    their int64 nanoseconds, everything else (str, ``string[pyarrow]``, categoricals,
    objects) an object array of the Python values: so a column hashes the same whether it
    is stored as ``object``, ``str`` or Arrow strings (Dask converts strings to Arrow).
    """
    pd = pandas()
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(s.dtype.categories.dtype)
    kind = getattr(s.dtype, "kind", "O")
    try:
        if kind == "i":
            return s.to_numpy(dtype=np.int64)
        if kind == "u":
            return s.to_numpy(dtype=np.uint64)
        if kind == "f":
            return s.to_numpy(dtype=np.float64, na_value=np.nan)
        if kind == "b":
            return s.to_numpy(dtype=np.uint8)
        if kind in "Mm" and not hasattr(s.dtype, "tz"):
            return s.to_numpy().view(np.int64)
    except (TypeError, ValueError):
        pass
    return np.asarray(s.astype(object).to_numpy(), dtype=object)


def unit_hash(seed: int, values: Any) -> np.ndarray:
    """A keyed 64-bit hash of each value of ``values`` (a pandas Series / Index / array).

    ``pandas.util.hash_array`` of the canonical form of the values (:func:`_canonical`: a
    column hashes the same whether stored as ``object``, ``str`` or Arrow strings; a fixed
    SipHash key for strings, stable across processes and Python runs, unlike ``hash()``),
    mixed with ``seed`` by :func:`mix64`. Equal values give equal hashes in every partition
    and process. Not a cryptographic PRF: use it to choose rows fairly, never to hide data.
    """
    pd = pandas()
    arr = _canonical(values)
    raw = pd.util.hash_array(arr, hash_key=_HASH_KEY, categorize=arr.dtype == object)
    return mix64(np.uint64(int(seed) % 2**64), np.asarray(raw, dtype=np.uint64))


def rows_hash(seed: int, pdf: Any, columns: Sequence[Any]) -> np.ndarray:
    """A keyed 64-bit hash of each row's values in ``columns`` (order of columns matters).

    The columns' :func:`unit_hash` values (index values when a name is the index name)
    folded with :func:`mix64`; equal rows hash equally in every partition and process.
    """
    if not columns:
        raise DPKitError("rows_hash needs at least one column")
    words: list[Any] = [np.uint64(int(seed) % 2**64)]
    for c in columns:
        vals = pdf[c] if c in pdf.columns else pdf.index.to_series()
        words.append(unit_hash(0, vals))
    return mix64(*words)


def draw_seed(rng: RNGLike) -> int:
    """One uniform 64-bit seed from ``rng`` (``dpkit.random.as_generator``)."""
    gen = as_generator(rng)
    return int(np.asarray(gen.integers(0, 2**64, dtype=np.uint64)).item())

