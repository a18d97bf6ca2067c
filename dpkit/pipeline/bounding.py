"""Contribution bounding: what makes a table's sensitivity finite for one privacy unit.

:func:`bound_contributions` keeps, per privacy unit, at most ``max_partitions`` distinct
partition keys and at most ``max_per_partition`` rows per (unit, key), chosen uniformly at
random, and clips the ``value`` column to ``bounds``. After it, adding or removing one unit
changes at most ``max_partitions`` keys, each by at most ``max_per_partition`` rows (and by
at most ``max_per_partition · max(|lo|, |hi|)`` in a sum): the L1 sensitivity of a keyed
count is ``max_partitions · max_per_partition``, its L2 sensitivity
``√max_partitions · max_per_partition`` (Wilson, Zhang, Lam, Desfontaines, Simmons-Marengo,
Gipson 2020, "Differentially Private SQL with Bounded User Contribution", PoPETS, §3).

Privacy: bounding releases nothing; it is a *stable* transformation — the rows kept for a unit
depend only on that unit's own rows and the seed — so adding or removing one unit adds or
removes only that unit's kept rows. The choice is uniform and independent of row order and of
partitioning: keys are ranked per unit by a keyed hash of (seed, unit, key), rows per (unit,
key) by a keyed hash of (seed, unit, key, row content) (:func:`._frames.unit_hash`; identical
rows are interchangeable), with one 64-bit seed drawn from ``rng``. The hashes need not be
secret (bounding is stable whatever rows it picks); grouping is by the true values, so hash
collisions never merge two units.

On Dask the frame is shuffled by an integer hash of the unit column (a one-stage task
shuffle: every unit's rows in one partition; Dask's own ``DataFrame.shuffle`` when the Dask
config ``dataframe.shuffle.method`` is set, e.g. ``"p2p"``, disk-backed, for tables much
larger than the workers' memory) and bounded partition by partition, lazily; if the unit is
the frame's index, its divisions must be known (no shuffle is needed then).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _validate as V
from ..errors import DPKitError
from ..random import RNGLike
from ._frames import (
    check_no_nulls,
    column_list,
    draw_seed,
    is_dask,
    mix64,
    pandas,
    require_columns,
    require_frame,
    require_known_divisions,
    unit_hash,
)

__all__ = ["bound_contributions", "check_bounds", "BoundingSpec"]

_TAG_KEY = np.uint64(0x6B6579)  # "key"
_TAG_ROW = np.uint64(0x726F77)  # "row"
_TAG_TIE = np.uint64(0x746965)  # "tie"


def check_bounds(bounds: Any, what: str = "bounds") -> tuple[float, float]:
    """``bounds`` = (lo, hi), finite with lo <= hi; else a DPKitError naming ``what``."""
    try:
        lo, hi = bounds
    except (TypeError, ValueError):
        raise DPKitError(f"{what} must be a pair (lo, hi) of finite numbers with lo <= hi, "
                         f"got {bounds!r}") from None
    lo = V.finite(**{f"{what}[0]": lo})
    hi = V.finite(**{f"{what}[1]": hi})
    if lo > hi:
        raise DPKitError(f"{what} must satisfy lo <= hi, got ({lo!r}, {hi!r})")
    return float(lo), float(hi)


class BoundingSpec:
    """Validated bounding parameters (internal; built by :func:`bound_contributions`)."""

    __slots__ = ("unit", "keys", "max_partitions", "max_per_partition", "value", "bounds",
                 "seed", "key_name")

    def __init__(self, unit: Any, keys: list[Any], max_partitions: int, max_per_partition: int,
                 value: Any, bounds: tuple[float, float] | None, seed: int) -> None:
        self.unit = unit
        self.keys = keys
        self.max_partitions = max_partitions
        self.max_per_partition = max_per_partition
        self.value = value
        self.bounds = bounds
        self.seed = seed
        self.key_name = "partition"  # the parameter that named the key columns (messages)

    def __call__(self, pdf: Any) -> Any:
        return _bound_pandas(pdf, self)


def _values(pdf: Any, col: Any) -> Any:
    return pdf[col] if col in pdf.columns else pdf.index.to_series()


def _codes(pdf: Any, cols: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Integer group codes of the row values in ``cols`` (true values, not hashes), and each
    row's hash of those values (:func:`._frames.unit_hash`, seed 0)."""
    pd = pandas()
    if len(cols) == 1:
        codes, uniques = pd.factorize(_values(pdf, cols[0]).to_numpy(), use_na_sentinel=True)
        h = unit_hash(0, pd.Series(uniques, dtype=_values(pdf, cols[0]).dtype))
        codes = np.asarray(codes, dtype=np.int64)
        return codes, h[codes]
    frame = pd.DataFrame({i: _values(pdf, c).to_numpy() for i, c in enumerate(cols)})
    codes = np.asarray(frame.groupby(list(range(len(cols))), sort=False, dropna=False)
                       .ngroup().to_numpy(), dtype=np.int64)
    return codes, mix64(np.uint64(0), *[unit_hash(0, _values(pdf, c)) for c in cols])


def _grouped_order(group: np.ndarray, h: np.ndarray, *tiebreak: np.ndarray) -> np.ndarray:
    """The permutation sorting rows by (group, h, *tiebreak), exactly.

    Fast path: one unstable sort of the 64-bit composite (group, top bits of h), accepted
    when no two rows with different ``h`` share a composite (rows with equal ``h`` are
    interchangeable here); otherwise an exact stable ``lexsort``.
    """
    n = group.size
    if n == 0:
        return np.zeros(0, dtype=np.intp)
    bits = max(1, int(group.max()).bit_length())
    if bits <= 40:
        comp = (group.astype(np.uint64) << np.uint64(64 - bits)) | (h >> np.uint64(bits))
        order = np.argsort(comp)
        sc, sh = comp[order], h[order]
        if not bool(((sc[1:] == sc[:-1]) & (sh[1:] != sh[:-1])).any()):
            return np.asarray(order, dtype=np.intp)
    return np.asarray(np.lexsort((*tiebreak[::-1], h, group)), dtype=np.intp)


def _ranks(sorted_group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For rows sorted by group: (starts a new group?, rank within the group)."""
    n = sorted_group.size
    new = np.ones(n, dtype=bool)
    new[1:] = sorted_group[1:] != sorted_group[:-1]
    pos = np.arange(n)
    return new, pos - np.maximum.accumulate(np.where(new, pos, 0))


def _bound_pandas(pdf: Any, spec: BoundingSpec) -> Any:
    """Bound one pandas frame holding *all* rows of every unit it contains."""
    pd = pandas()
    check_no_nulls(pdf, spec.unit, "privacy_unit")
    for k in spec.keys:
        check_no_nulls(pdf, k, spec.key_name)
    n = len(pdf)
    if n == 0:
        return _clip(pdf, spec)
    seed = np.uint64(spec.seed)
    uc, hu = _codes(pdf, [spec.unit])
    if spec.keys:
        kc, hk = _codes(pdf, spec.keys)
        pc = uc * (int(kc.max()) + 1) + kc  # a pair code (exact: uc, kc < n)
        if int(pc.max()).bit_length() > 40:
            pc = np.asarray(pd.factorize(pc)[0], dtype=np.int64)
    else:
        pc, hk = uc, np.zeros(n, dtype=np.uint64)
    # rows: grouped by (unit, key) pair, in random order within the pair (a keyed hash of
    # the pair and the row's other columns; rows equal on them are interchangeable)
    content = [c for c in pdf.columns if c != spec.unit and c not in spec.keys]
    if content:
        hrow = mix64(seed, _TAG_ROW, hu, hk, *[unit_hash(0, pdf[c]) for c in content])
        order = _grouped_order(pc, hrow)
    else:
        order = np.asarray(np.argsort(pc), dtype=np.intp)  # rows of a pair are identical
    new_pair, row_rank = _ranks(pc[order])
    keep_sorted = row_rank < spec.max_per_partition
    if spec.keys:
        # pairs: grouped by unit, in random order within the unit: a keyed hash of (unit,
        # key) values (ties, probability 2^-64: a second hash, then the exact key code)
        first = order[new_pair]
        pu = uc[first]
        hpair = mix64(seed, _TAG_KEY, hu[first], hk[first])
        htie = mix64(seed, _TAG_TIE, hu[first], hk[first])
        porder = _grouped_order(pu, hpair, htie, kc[first])
        _, prank = _ranks(pu[porder])
        keep_pair = np.zeros(first.size, dtype=bool)
        keep_pair[porder] = prank < spec.max_partitions
        keep_sorted &= keep_pair[np.cumsum(new_pair) - 1]
    keep = np.zeros(n, dtype=bool)
    keep[order] = keep_sorted
    return _clip(pdf.iloc[np.flatnonzero(keep)], spec)


def _clip(pdf: Any, spec: BoundingSpec) -> Any:
    if spec.value is None or spec.bounds is None:
        return pdf
    lo, hi = spec.bounds
    col = pdf[spec.value]
    if col.dtype.kind not in "iuf":
        raise DPKitError(f"value: column {spec.value!r} must be numeric, got dtype {col.dtype}")
    if bool(col.isna().any()):
        raise DPKitError(f"value: column {spec.value!r} has NaN/null values; drop or fill them "
                         "before the release")
    out = pdf.copy()
    out[spec.value] = np.clip(col.to_numpy(dtype=np.float64), lo, hi)
    return out


def make_spec(df: Any, *, privacy_unit: Any, max_partitions: Any, max_per_partition: Any,
              partition: Any = None, rng: RNGLike = None, value: Any = None,
              bounds: Any = None, key_name: str = "partition") -> BoundingSpec:
    """Validate the bounding arguments against ``df`` and draw the seed (once, from ``rng``).

    ``key_name`` names the parameter that gave the key columns, in error messages."""
    require_frame(df)
    if privacy_unit is None:
        raise DPKitError("privacy_unit must name the column that identifies a privacy unit")
    require_columns(df, privacy_unit, what="privacy_unit", allow_index=True)
    keys = [] if partition is None else column_list(partition, key_name)
    require_columns(df, *keys, what=key_name, allow_index=True)
    if privacy_unit in keys:
        raise DPKitError(f"{key_name} must not contain the privacy unit column {privacy_unit!r}")
    m = V.integer(minimum=1, max_partitions=max_partitions)
    c = V.integer(minimum=1, max_per_partition=max_per_partition)
    b: tuple[float, float] | None = None
    if (value is None) != (bounds is None):
        raise DPKitError("value and bounds go together: pass both (clip value to bounds) or "
                         f"neither, got value={value!r}, bounds={bounds!r}")
    if value is not None:
        require_columns(df, value, what="value")
        b = check_bounds(bounds)
    spec = BoundingSpec(privacy_unit, keys, m, c, value, b, draw_seed(rng))
    spec.key_name = key_name
    return spec


def bound_contributions(df: Any, *, privacy_unit: Any, max_partitions: int,
                        max_per_partition: int, partition: Any = None, rng: RNGLike = None,
                        value: Any = None, bounds: Any = None) -> Any:
    """Per privacy unit, keep ≤ ``max_partitions`` keys and ≤ ``max_per_partition`` rows per key.

    Args:
        df: a pandas or Dask DataFrame.
        privacy_unit: the column (or index name) identifying a privacy unit (no nulls).
        max_partitions: ≥ 1; distinct values of ``partition`` kept per unit (chosen uniformly
            at random among the unit's keys). Ignored when ``partition`` is None.
        max_per_partition: ≥ 1; rows kept per (unit, key) (per unit when ``partition`` is
            None), chosen uniformly at random among them.
        partition: a key column or a list of key columns (no NaN), or None.
        rng: randomness (``dpkit.random.as_generator``): one 64-bit seed is drawn.
        value, bounds: optional numeric column clipped to ``bounds`` = (lo, hi), lo ≤ hi.

    Returns:
        The kept rows, with ``value`` clipped: a pandas frame (rows in input order) for a
        pandas input; a lazy Dask frame for a Dask input (shuffled by unit). The multiset of
        kept rows depends on the rows and ``rng`` only (not on row order or partitioning).

    Privacy: a stable transformation under add/remove of one privacy unit (see the module
    docstring); after it a keyed count has L1 sensitivity ``max_partitions · max_per_partition``
    (Wilson et al. 2020). Bad input raises a :class:`~dpkit.errors.DPKitError` naming the
    column or parameter (on Dask, null checks run when the frame is computed).
    """
    spec = make_spec(df, privacy_unit=privacy_unit, max_partitions=max_partitions,
                     max_per_partition=max_per_partition, partition=partition, rng=rng,
                     value=value, bounds=bounds)
    return apply_spec(df, spec)


def apply_spec(df: Any, spec: BoundingSpec) -> Any:
    """Apply validated bounding to a pandas frame (eagerly) or a Dask frame (lazily).

    Dask: the one-stage hash shuffle of :func:`_shuffle_bound`, or ``DataFrame.shuffle`` with
    the method of the Dask config ``dataframe.shuffle.method`` when it is set ("p2p",
    "tasks", "disk"); the same rows are kept either way."""
    if not is_dask(df):
        return _bound_pandas(df, spec)
    meta = df._meta
    if spec.value is not None:
        meta = meta.copy()
        meta[spec.value] = meta[spec.value].astype(np.float64)
    if spec.unit not in df.columns:  # the unit is the index: no shuffle when divisions known
        require_known_divisions(df, "privacy_unit")
        return df.map_partitions(spec, meta=meta)
    import dask

    method = dask.config.get("dataframe.shuffle.method", None)
    if method in ("p2p", "tasks", "disk"):  # the caller chose Dask's own shuffle
        return df.shuffle(on=spec.unit, method=method).map_partitions(spec, meta=meta)
    return _shuffle_bound(df, spec, meta)


def _split_by_unit(pdf: Any, unit: Any, nout: int) -> tuple[Any, ...]:
    """``pdf`` cut into ``nout`` pieces by an integer hash of the unit column (piece j holds
    the rows whose unit hashes to j mod ``nout``; equal units land in equal pieces, in every
    partition and process: :func:`._frames.unit_hash`)."""
    if nout == 1:
        return (pdf,)
    b = (unit_hash(0, pdf[unit]) % np.uint64(nout)).astype(np.intp)
    small = b.astype(np.int16) if nout <= 2**15 else b  # int16: numpy's radix sort, O(n)
    order = np.argsort(small, kind="stable")
    edges = np.zeros(nout + 1, dtype=np.intp)
    np.cumsum(np.bincount(b, minlength=nout), out=edges[1:])
    s = pdf.iloc[order]
    return tuple(s.iloc[edges[i]:edges[i + 1]] for i in range(nout))


def _gather_bound(spec: BoundingSpec, meta: Any, *pieces: Any) -> Any:
    """Concatenate the pieces of one unit bucket and bound them (``meta``: the input's empty
    frame, bounded when every piece is empty)."""
    pd = pandas()
    frames = [p for p in pieces if len(p)]
    if not frames:
        return _bound_pandas(meta.iloc[:0], spec)
    pdf = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    return _bound_pandas(pdf, spec)


def _shuffle_bound(df: Any, spec: BoundingSpec, meta: Any) -> Any:
    """Shuffle ``df`` by unit and bound every bucket, lazily: a Dask frame of the kept rows.

    A one-stage hash shuffle in plain tasks (each input partition cut into ``npartitions``
    pieces by an integer hash of the unit, piece j of every partition concatenated and bounded
    in output partition j): cheaper than Dask's general ``DataFrame.shuffle`` here (no index
    or column bookkeeping, no disk staging), and every unit's rows meet in one partition. The
    bounded rows do not depend on the partitioning, so the result is the same as serial's.
    The pieces are held in the workers' memory (spilled to disk by ``distributed`` near
    ``memory_limit``) until their bucket is bounded; for tables much larger than the workers'
    memory, ``dask.config.set({"dataframe.shuffle.method": "p2p"})`` selects Dask's
    disk-backed shuffle instead (:func:`apply_spec`).
    """
    import dask
    import dask.dataframe as dd

    parts = df.to_delayed()
    nout = len(parts)
    if nout == 0:
        return df.map_partitions(spec, meta=meta)
    split = dask.delayed(_split_by_unit, nout=nout, pure=True)
    pieces = [split(p, spec.unit, nout) for p in parts]
    empty = df._meta
    gather = dask.delayed(_gather_bound, pure=True)
    out = [gather(spec, empty, *[pc[j] for pc in pieces]) for j in range(nout)]
    # the pieces keep the input's dtypes: no conversion of object columns to Arrow strings
    with dask.config.set({"dataframe.convert-string": False}):
        return dd.from_delayed(out, meta=meta, verify_meta=False)

