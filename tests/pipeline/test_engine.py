"""The execution protocol (map → tree-merge → privatize once) and the table helpers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from dpkit.errors import DPKitError
from dpkit.pipeline import KeyedSums, run
from dpkit.pipeline._engine import merge_all
from dpkit.pipeline._frames import (
    check_no_nulls,
    draw_seed,
    key_order,
    mix64,
    require_columns,
    require_known_divisions,
    unit_hash,
)

pd = pytest.importorskip("pandas")
pytest.importorskip("dask.dataframe")


def _same(a: Any, b: Any) -> None:
    """Equal keys (as Python values, in order) and equal int64 states, bit for bit."""
    assert list(a.index) == list(b.index)
    assert list(a.columns) == list(b.columns)
    np.testing.assert_array_equal(a.to_numpy(), b.to_numpy())
    assert a.to_numpy().dtype == np.int64 and b.to_numpy().dtype == np.int64


@pytest.mark.parametrize("nparts", [1, 3, 7])
def test_keyed_sums_dask_equals_pandas(events: Any, to_dask: Any, sync_dask: None,
                                       nparts: int) -> None:
    events = events.assign(q=np.arange(len(events)) % 5 - 2)
    agg = KeyedSums(("country", "day"), ("__rows__", "q"))
    serial = run(events, agg)
    _same(serial, run(to_dask(events, nparts), agg))
    assert int(serial["__rows__"].sum()) == len(events)
    assert int(serial["q"].sum()) == int(events["q"].sum())
    # the per-key counts are the true ones
    truth = events.groupby(["country", "day"]).size()
    assert serial["__rows__"].to_dict() == truth.to_dict()


def test_merge_is_associative_and_exact(events: Any) -> None:
    agg = KeyedSums(("country",), ("__rows__",))
    rng = np.random.default_rng(3)
    whole = run(events, agg)
    for _ in range(3):  # random cuts, random tree shapes: always the same state
        cuts = np.sort(rng.choice(len(events), 5, replace=False))
        bounds = [0, *cuts.tolist(), len(events)]
        parts = [agg.map(events.iloc[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        order = rng.permutation(len(parts))
        _same(whole, merge_all(agg, [parts[i] for i in order]))
        left = agg.merge(agg.merge(parts[0], parts[1]), parts[2])
        right = agg.merge(parts[0], agg.merge(parts[1], parts[2]))
        _same(left, right)
    assert len(merge_all(agg, [])) == 0
    _same(agg.merge(agg.empty(), whole), whole)


def test_overflow_is_refused_not_wrapped() -> None:
    agg = KeyedSums(("k",), ("q",))
    big = pd.DataFrame({"k": [1, 1], "q": [2**62, 2**62 - 1]})
    with pytest.raises(DPKitError, match="2\\^62"):
        agg.map(big)


@dataclass(frozen=True)
class _Total:
    """A minimal Aggregation: the exact integer total of a column (protocol conformance)."""

    col: str

    def map(self, pdf: Any) -> int:
        return int(pdf[self.col].sum())

    def merge(self, a: int, b: int) -> int:
        return a + b

    def empty(self) -> int:
        return 0


def test_custom_aggregation_on_a_local_cluster(events: Any, to_dask: Any) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster):
        got = run(to_dask(events, 5), _Total("day"))
        agg = KeyedSums(("country",), ("__rows__",))
        _same(run(events, agg), run(to_dask(events, 4), agg))
    assert got == int(events["day"].sum())


def test_run_with_progress_and_bad_input(events: Any, to_dask: Any, sync_dask: None) -> None:
    agg = KeyedSums(("country",), ("__rows__",))
    _same(run(events, agg, progress=True), run(to_dask(events, 3), agg, progress=True))
    with pytest.raises(DPKitError, match="df must be a pandas or Dask DataFrame"):
        run(np.zeros(3), agg)


def test_key_order_is_deterministic_for_mixed_types() -> None:
    keys = [3, "b", 1.5, "a", (1, 2), 2]
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(5):
        perm = [keys[i] for i in rng.permutation(len(keys))]
        idx = pd.Index(perm, dtype=object)
        seen.add(tuple(repr(idx[i]) for i in key_order(idx)))
    assert len(seen) == 1
    assert list(key_order(pd.Index([3, 1, 2]))) == [1, 2, 0]


def test_unit_hash_is_keyed_and_storage_independent() -> None:
    vals = ["alice", "bob", "alice", "émile"]
    a = unit_hash(7, pd.Series(vals, dtype=object))
    assert a.dtype == np.uint64
    for dtype in ("str", "string", "category"):
        np.testing.assert_array_equal(a, unit_hash(7, pd.Series(vals, dtype=dtype)))
    assert a[0] == a[2] and a[0] != a[1]
    assert not np.array_equal(a, unit_hash(8, pd.Series(vals)))
    ints = unit_hash(1, pd.Series([1, 2, 3]))
    np.testing.assert_array_equal(ints, unit_hash(1, pd.Series([1, 2, 3], dtype="Int64")))
    assert mix64(np.uint64(1), ints).shape == (3,)
    s1, s2 = draw_seed(5), draw_seed(5)
    assert s1 == s2 and 0 <= s1 < 2**64 and draw_seed(6) != s1


def test_frame_checks_name_the_column(to_dask: Any) -> None:
    df = pd.DataFrame({"user": [1, None, 3], "k": ["a", "b", "c"]})
    with pytest.raises(DPKitError, match="privacy_unit: column 'usr' not in the table"):
        require_columns(df, "usr", what="privacy_unit")
    with pytest.raises(DPKitError, match="privacy_unit: column 'user' has 1 null"):
        check_no_nulls(df, "user", "privacy_unit")
    check_no_nulls(df, "k", "by")
    with pytest.raises(DPKitError, match="privacy_unit: the Dask frame's divisions are unknown"):
        require_known_divisions(to_dask(df, 2).clear_divisions(), "privacy_unit")
