"""Contribution bounding: exact limits, uniform choice, order and partitioning independence."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dpkit.errors import DPKitError
from dpkit.pipeline import bound_contributions

pd = pytest.importorskip("pandas")
pytest.importorskip("dask.dataframe")


def _canon(df: Any) -> Any:
    """The multiset of rows, as a sorted frame with plain dtypes (order-free comparison)."""
    out = df.reset_index(drop=True)
    out = out.astype({c: object for c in out.columns if out[c].dtype.kind not in "iufb"})
    return out.sort_values(list(out.columns)).reset_index(drop=True)


def _check_limits(out: Any, unit: str, key: str, m: int, c: int) -> None:
    assert out.groupby(unit)[key].nunique().max() <= m
    assert out.groupby([unit, key]).size().max() <= c


def test_adversarial_unit_is_bounded_exactly() -> None:
    """One unit with 10^6 rows over 1000 keys, next to small units: exactly m keys x c rows."""
    rng = np.random.default_rng(0)
    big = pd.DataFrame({"user": np.zeros(10**6, dtype=np.int64),
                        "key": rng.integers(0, 1000, 10**6),
                        "value": rng.normal(size=10**6)})
    small = pd.DataFrame({"user": rng.integers(1, 500, 5000),
                          "key": rng.integers(0, 1000, 5000),
                          "value": rng.normal(size=5000)})
    df = pd.concat([big, small], ignore_index=True)
    m, c = 3, 2
    out = bound_contributions(df, privacy_unit="user", partition="key", max_partitions=m,
                              max_per_partition=c, rng=1)
    _check_limits(out, "user", "key", m, c)
    mine = out[out["user"] == 0]
    assert len(mine) == m * c and mine["key"].nunique() == m  # not fewer than allowed
    # small units keep min(rows, c) rows in each of min(keys, m) keys
    truth = small.groupby(["user", "key"]).size().clip(upper=c)
    kept = out[out["user"] > 0].groupby("user")["key"].nunique()
    have = small.groupby("user")["key"].nunique().clip(upper=m)
    assert kept.to_dict() == have.to_dict()
    got_rows = out[out["user"] > 0].groupby(["user", "key"]).size()
    assert set(got_rows.index) <= set(truth.index)
    assert (got_rows == truth.loc[got_rows.index]).all()


def test_many_partitions_per_unit() -> None:
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"user": rng.integers(0, 50, 40_000), "key": rng.integers(0, 5000, 40_000)})
    out = bound_contributions(df, privacy_unit="user", partition="key", max_partitions=7,
                              max_per_partition=1, rng=2)
    _check_limits(out, "user", "key", 7, 1)
    assert (out.groupby("user")["key"].nunique() == 7).all()


def test_order_independence_and_rng_dependence(events: Any) -> None:
    kw = dict(privacy_unit="user", partition="country", max_partitions=2, max_per_partition=3,
              value="value", bounds=(-1.0, 4.0))
    a = bound_contributions(events, rng=11, **kw)
    shuffled = events.sample(frac=1.0, random_state=4).reset_index(drop=True)
    b = bound_contributions(shuffled, rng=11, **kw)
    pd.testing.assert_frame_equal(_canon(a), _canon(b))
    c = bound_contributions(events, rng=12, **kw)
    assert not _canon(a).equals(_canon(c))
    assert a["value"].between(-1.0, 4.0).all() and a["value"].max() == 4.0
    _check_limits(a, "user", "country", 2, 3)


@pytest.mark.parametrize("method", [None, "tasks"])
@pytest.mark.parametrize("nparts", [3, 7])
def test_dask_equals_pandas(events: Any, to_dask: Any, sync_dask: None, nparts: int,
                            method: Any) -> None:
    dask = pytest.importorskip("dask")
    kw = dict(privacy_unit="user", partition=["country", "day"], max_partitions=3,
              max_per_partition=1, rng=21)
    serial = bound_contributions(events, **kw)
    with dask.config.set({"dataframe.shuffle.method": method}):  # None: dpkit's own shuffle
        lazy = bound_contributions(to_dask(events, nparts), **kw)
    assert type(lazy).__module__.startswith("dask")
    pd.testing.assert_frame_equal(_canon(serial), _canon(lazy.compute()))


def test_dask_shuffle_puts_each_unit_in_one_partition_and_keeps_dtypes(
        events: Any, sync_dask: None) -> None:
    dask = pytest.importorskip("dask")
    dd = pytest.importorskip("dask.dataframe")
    # an object column mixing types: it must come back as objects, not Arrow strings
    table = events.assign(tag=[("a" if i % 3 else i) for i in range(len(events))])
    with dask.config.set({"dataframe.convert-string": False}):
        ddf = dd.from_pandas(table.sample(frac=1.0, random_state=5), npartitions=5, sort=False)
    kw = dict(privacy_unit="user", partition="country", max_partitions=2, max_per_partition=2,
              rng=8)
    lazy = bound_contributions(ddf, **kw)
    assert lazy.npartitions == 5
    parts = [p.compute() for p in lazy.to_delayed()]
    owner: dict[Any, int] = {}
    for i, part in enumerate(parts):
        for u in part["user"].unique():
            assert owner.setdefault(u, i) == i  # a unit's kept rows are in one partition
    got = pd.concat(parts)
    assert got["tag"].dtype == object and dict(got.dtypes) == dict(table.dtypes)
    pd.testing.assert_frame_equal(_canon(bound_contributions(table, **kw)), _canon(got))


def test_unit_as_index_needs_known_divisions(events: Any, to_dask: Any,
                                              sync_dask: None) -> None:
    kw = dict(privacy_unit="user", partition="country", max_partitions=1, max_per_partition=2,
              rng=3)
    serial = bound_contributions(events.set_index("user"), **kw)
    indexed = to_dask(events, 4).set_index("user")
    got = bound_contributions(indexed, **kw).compute()
    pd.testing.assert_frame_equal(_canon(serial.reset_index()), _canon(got.reset_index()))
    with pytest.raises(DPKitError, match="privacy_unit: the Dask frame's divisions are unknown"):
        bound_contributions(indexed.clear_divisions(), **kw)


def test_choice_is_uniform() -> None:
    """Per unit, each of 4 keys is kept w.p. 1/4 (m = 1) and each of 10 rows w.p. 1/10."""
    units = 4000
    df = pd.DataFrame({"user": np.repeat(np.arange(units), 40),
                       "key": np.tile(np.repeat(np.arange(4), 10), units),
                       "row": np.tile(np.arange(10), units * 4)})
    out = bound_contributions(df, privacy_unit="user", partition="key", max_partitions=1,
                              max_per_partition=1, rng=8)
    assert len(out) == units
    for col, k in (("key", 4), ("row", 10)):
        freq = out[col].value_counts().reindex(range(k), fill_value=0).to_numpy()
        p = 1.0 / k
        sd = np.sqrt(units * p * (1 - p))
        # each frequency within 5 standard deviations: false alarm < 1e-5 per cell
        assert np.all(np.abs(freq - units * p) < 5 * sd), freq


def test_without_partition_bounds_rows_per_unit(events: Any) -> None:
    out = bound_contributions(events, privacy_unit="user", max_partitions=1,
                              max_per_partition=4, rng=0)
    sizes = out.groupby("user").size()
    assert sizes.max() <= 4
    assert sizes.to_dict() == events.groupby("user").size().clip(upper=4).to_dict()


def test_bad_input_names_the_parameter(events: Any, to_dask: Any, sync_dask: None) -> None:
    kw: dict[str, Any] = dict(privacy_unit="user", partition="country", max_partitions=1,
                              max_per_partition=1, rng=0)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"privacy_unit": "who"}, "privacy_unit: column 'who' not in the table"),
        ({"partition": "nope"}, "partition: column 'nope' not in the table"),
        ({"max_partitions": 0}, "max_partitions must be >= 1"),
        ({"max_per_partition": -2}, "max_per_partition must be >= 1"),
        ({"max_per_partition": 1.5}, "max_per_partition must be a whole number"),
        ({"value": "value"}, "value and bounds go together"),
        ({"value": "value", "bounds": (3, 1)}, "bounds must satisfy lo <= hi"),
        ({"value": "value", "bounds": (0, float("nan"))}, "bounds\\[1\\] must be a number"),
        ({"value": "value", "bounds": 5}, "bounds must be a pair"),
        ({"value": "missing", "bounds": (0, 1)}, "value: column 'missing' not in the table"),
        ({"partition": "user"}, "partition must not contain the privacy unit"),
    ]
    for over, msg in cases:
        with pytest.raises(DPKitError, match=msg):
            bound_contributions(events, **{**kw, **over})
    with pytest.raises(DPKitError, match="df must be a pandas or Dask DataFrame"):
        bound_contributions(events.to_dict(), **kw)
    nulls = events.copy()
    nulls.loc[3, "user"] = None
    with pytest.raises(DPKitError, match="privacy_unit: column 'user' has 1 null"):
        bound_contributions(nulls, **kw)
    nan_key = events.copy()
    nan_key.loc[5, "country"] = np.nan
    with pytest.raises(DPKitError, match="partition: column 'country' has 1 null"):
        bound_contributions(nan_key, **kw)
    lazy = bound_contributions(to_dask(nulls, 3), **kw)  # checked when computed
    with pytest.raises(DPKitError, match="privacy_unit: column 'user' has 1 null"):
        lazy.compute()


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(0, 5), st.sampled_from(["a", "b", "c", 7]),
                               st.integers(0, 3)), max_size=40),
       m=st.integers(1, 3), c=st.integers(1, 3), seed=st.integers(0, 2**32),
       perm_seed=st.integers(0, 1000))
def test_limits_and_order_independence_property(rows: list[tuple[int, Any, int]], m: int,
                                                c: int, seed: int, perm_seed: int) -> None:
    """Any small table (mixed-type keys, duplicate rows): exactly min(keys, m) keys per unit
    and min(rows, c) rows per kept (unit, key); the kept multiset ignores row order."""
    df = pd.DataFrame(rows, columns=["user", "key", "x"]).astype({"key": object})
    out = bound_contributions(df, privacy_unit="user", partition="key", max_partitions=m,
                              max_per_partition=c, rng=seed)
    for user, grp in df.groupby("user"):
        mine = out[out["user"] == user]
        assert mine["key"].nunique() == min(grp["key"].nunique(), m)
        for key, rows_k in mine.groupby("key"):
            assert len(rows_k) == min(int((grp["key"] == key).sum()), c)
    perm = np.random.default_rng(perm_seed).permutation(len(df))
    again = bound_contributions(df.iloc[perm], privacy_unit="user", partition="key",
                                max_partitions=m, max_per_partition=c, rng=seed)
    assert _rows(out) == _rows(again)


def _rows(f: Any) -> list[str]:
    return sorted(map(repr, f[["user", "key", "x"]].itertuples(index=False)))
