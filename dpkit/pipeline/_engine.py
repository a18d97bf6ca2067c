"""The one execution protocol of :mod:`dpkit.pipeline`: map → merge → (caller) privatize once.

Every release over a table is an :class:`Aggregation`, a mergeable *exact* state:

* ``map(pdf) -> S``: the state of one pandas partition (no randomness, no privacy);
* ``merge(a, b) -> S``: associative and exact (integer counts, fixed-point integer sums), so
  that every partitioning and every reduction tree give the same state bit for bit;
* ``empty() -> S``: the state of an empty table (the identity of ``merge``).

:func:`run(df, aggregation, progress=False) <run>` computes the state of the whole table: on
pandas, ``map`` once; on Dask, ``map`` on every partition (``to_delayed``) and a binary tree of
``merge`` calls, computed once (``dask.compute``, which uses a ``distributed`` client when one
is active). The caller then privatizes the returned state **exactly once**, drawing all noise
from its ``rng`` after the merge, in a deterministic key order (:func:`._frames.key_order`):
nothing random happens inside a task, so a retried or speculative task can never cause a
second release, and pandas and Dask give the same release for the same ``rng``.

Stable API (used by every pipeline module): :class:`Aggregation`, :func:`run`,
:func:`merge_all`, :class:`KeyedSums` (a ready aggregation: per-key integer sums of integer
columns, the state of count / sum / mean and of several front-ends).

Privacy: nothing here is private; the engine computes exact statistics, and the privacy
statement is the one of the release that privatizes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import numpy as np

from ..errors import DPKitError
from ._frames import is_dask, key_order, pandas, require_frame

__all__ = ["Aggregation", "run", "merge_all", "KeyedSums"]

S = TypeVar("S")


class Aggregation(Protocol[S]):
    """A mergeable exact state over a table: ``map`` a pandas partition, ``merge``, ``empty``.

    ``merge`` must be associative and exact (and ``empty()`` its identity), so that the state
    of a table does not depend on how it is partitioned or on the reduction tree. Instances
    must be picklable (they travel to Dask workers).
    """

    def map(self, pdf: Any) -> S:
        """The state of one pandas partition."""
        ...

    def merge(self, a: S, b: S) -> S:
        """The state of the union of two disjoint parts (associative, exact)."""
        ...

    def empty(self) -> S:
        """The state of an empty table."""
        ...


def merge_all(aggregation: Aggregation[S], states: Sequence[S]) -> S:
    """Merge ``states`` pairwise in a balanced binary tree (``empty()`` when there are none)."""
    items = list(states)
    if not items:
        return aggregation.empty()
    while len(items) > 1:
        nxt = [aggregation.merge(items[i], items[i + 1]) for i in range(0, len(items) - 1, 2)]
        if len(items) % 2:
            nxt.append(items[-1])
        items = nxt
    return items[0]


def _progress_context(progress: bool) -> Any:
    import contextlib

    if not progress:
        return contextlib.nullcontext()
    try:
        from distributed import get_client

        get_client()
        return contextlib.nullcontext()  # the distributed dashboard shows progress
    except (ImportError, ValueError):
        pass
    try:
        from dask.diagnostics import ProgressBar
    except ImportError:  # pragma: no cover - dask ships its diagnostics
        return contextlib.nullcontext()
    return ProgressBar()


def run(df: Any, aggregation: Aggregation[S], *, progress: bool = False) -> S:
    """The exact state of ``aggregation`` over the whole table ``df`` (pandas or Dask).

    pandas: ``aggregation.map(df)``. Dask: ``map`` on each partition as a delayed task, merged
    by a balanced binary tree of delayed ``merge`` calls, computed once. With
    ``progress=True`` a progress bar is shown (Dask's ``ProgressBar`` on the local schedulers;
    with a ``distributed`` client use its dashboard; tqdm on pandas when installed).

    Privacy: none by itself — the caller privatizes the returned exact state once.
    """
    df = require_frame(df)
    if not is_dask(df):
        if progress:
            try:
                from tqdm.auto import tqdm

                with tqdm(total=1, desc="dpkit.pipeline", leave=False) as bar:
                    out = aggregation.map(df)
                    bar.update(1)
                return out
            except ImportError:
                pass
        return aggregation.map(df)
    import dask

    parts = df.to_delayed()
    mapped = [dask.delayed(aggregation.map, pure=True)(p) for p in parts]
    if not mapped:
        return aggregation.empty()
    merge = dask.delayed(aggregation.merge, pure=True)
    while len(mapped) > 1:
        nxt = [merge(mapped[i], mapped[i + 1]) for i in range(0, len(mapped) - 1, 2)]
        if len(mapped) % 2:
            nxt.append(mapped[-1])
        mapped = nxt
    with _progress_context(progress):
        (state,) = dask.compute(mapped[0])
    return state


#: Largest absolute partial sum a KeyedSums state may hold (int64 with headroom for a merge).
_INT_LIMIT = 2**62


@dataclass(frozen=True)
class KeyedSums:
    """Per-key sums of integer columns: the exact state of count, sum and mean.

    ``map(pdf)`` groups ``pdf`` by ``by`` and sums the int64 columns ``columns`` (a column
    named ``"__rows__"`` need not exist: it counts rows); the state is a pandas DataFrame
    indexed by key (an Index, or a MultiIndex for several key columns) with int64 columns.
    ``merge`` concatenates and re-sums (exact integer arithmetic; a partial sum beyond 2^62
    raises a DPKitError instead of overflowing). The returned frame is sorted by
    :func:`._frames.key_order`.
    """

    by: tuple[Any, ...]
    columns: tuple[str, ...]

    def empty(self) -> Any:
        """An empty state (no keys)."""
        pd = pandas()
        if len(self.by) == 1:
            idx: Any = pd.Index([], name=self.by[0])
        else:
            idx = pd.MultiIndex.from_arrays([[] for _ in self.by], names=list(self.by))
        return pd.DataFrame({c: np.zeros(0, dtype=np.int64) for c in self.columns}, index=idx)

    def map(self, pdf: Any) -> Any:
        """Per-key int64 sums of one pandas partition (rows counted as ``"__rows__"``)."""
        if len(pdf) == 0:
            return self.empty()
        pd = pandas()
        data = {}
        for c in self.columns:
            if c == "__rows__":
                data[c] = np.ones(len(pdf), dtype=np.int64)
            else:
                data[c] = pdf[c].to_numpy(dtype=np.int64)
        keys = [pdf[b].reset_index(drop=True) for b in self.by]
        frame = pd.DataFrame(data)
        grouped = frame.groupby(keys if len(keys) > 1 else keys[0], sort=False,
                                observed=True).sum()
        grouped.index.names = list(self.by)
        return self._check(grouped)

    def merge(self, a: Any, b: Any) -> Any:
        """The per-key sums of two states (exact; keys sorted deterministically)."""
        if len(a) == 0:
            return self._sorted(b)
        if len(b) == 0:
            return self._sorted(a)
        pd = pandas()
        both = pd.concat([a, b])
        out = both.groupby(level=list(range(len(self.by))), sort=False).sum()
        out.index.names = list(self.by)
        return self._check(out)

    def _check(self, frame: Any) -> Any:
        if len(frame):
            big = np.abs(frame.to_numpy(dtype=np.int64)).max()
            if big > _INT_LIMIT:
                raise DPKitError("a per-key partial sum exceeds 2^62: the table is too large "
                                 "for exact int64 sums; lower max_per_partition or the bounds")
        return self._sorted(frame.astype(np.int64))

    def _sorted(self, frame: Any) -> Any:
        return frame.iloc[key_order(frame.index)]
