"""dpkit.pipeline.kde: exact sketches per partition, merged, privatized once (pandas == Dask)."""

from __future__ import annotations

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

from dpkit.accounting.events import Laplace, Repeated
from dpkit.errors import DPKitError
from dpkit.mechanisms.kde import KDEParams, exact_sums, query, sketch
from dpkit.mechanisms.kde import privacy_event as kde_point_event
from dpkit.pipeline import privacy_event
from dpkit.pipeline.kde import _Sketches, kde_build

PARAMS = {
    "l1": KDEParams("l1", epsilon=1.0, radius=3.0, size_hint=256),
    "l2": KDEParams("l2", epsilon=1.0, radius=3.0, size_hint=256, embed_dim=8),
    "gaussian": KDEParams("gaussian", epsilon=1.0, radius=3.0, bandwidth=1.0, features=64,
                          count_fraction=0.1),
}


def _table(n: int, seed: int) -> pd.DataFrame:
    gen = np.random.default_rng(seed)
    return pd.DataFrame({"user": gen.integers(0, n // 2, n), "x": gen.normal(0, 1, n),
                         "y": gen.normal(0.5, 1, n)})


@pytest.mark.parametrize("kind", sorted(PARAMS))
def test_dask_equals_pandas_bit_for_bit(kind: str) -> None:
    df = _table(2000, 0)
    kw = {"columns": ["x", "y"], "privacy_unit": "user", "params": PARAMS[kind],
          "max_rows_per_unit": 2}
    ref = kde_build(df, rng=3, **kw)
    with dask.config.set(scheduler="sync"):
        got = kde_build(dd.from_pandas(df.sample(frac=1.0, random_state=1), npartitions=5), rng=3,
                  **kw)
    q = np.array([[0.0, 0.0], [1.0, -1.0], [5.0, 5.0]])
    assert np.array_equal(query(ref, q), query(got, q))
    for part in ("counts", "sums", "rff"):
        a, b = getattr(ref, part), getattr(got, part)
        assert (a is None and b is None) or np.array_equal(a, b)
    assert not np.array_equal(query(kde_build(df, rng=4, **kw), q), query(ref, q))


@pytest.mark.parametrize("kind", sorted(PARAMS))
def test_merged_state_is_the_mechanisms_sketch(kind: str) -> None:
    """The exact integer state equals the mechanism's own sketch of the same points."""
    df = _table(900, 1)
    p = PARAMS[kind].__class__(**{**PARAMS[kind].__dict__, "dimension": 2})
    agg = _Sketches(("x", "y"), p, 17)
    n, parts = agg.merge(agg.map(df.iloc[:400]), agg.map(df.iloc[400:]))
    sk = sketch(p, df[["x", "y"]].to_numpy(), 17, backend="numpy")
    assert n == 900
    if sk.rff is None:
        assert np.array_equal(parts, sk.counts[:, p.leaves - 1:])
    else:  # fixed point: every feature truncated by < 2^-32
        assert np.abs(parts / 2.0**32 - sk.rff).max() < 900 * 2.0**-32 + 1e-9


def test_queries_close_to_exact_sums_with_little_noise() -> None:
    df = _table(3000, 2).assign(user=lambda d: np.arange(len(d)))  # one row per unit
    p = KDEParams("l1", epsilon=1e6, radius=3.0, size_hint=4096)
    s = kde_build(df, columns=["x", "y"], privacy_unit="user", params=p, rng=0)
    q = np.array([[0.0, 0.0], [1.0, 2.0]])
    want = exact_sums(p, df[["x", "y"]].to_numpy(), q)
    assert np.allclose(query(s, q), want, rtol=1e-2)


def test_points_per_unit_are_bounded() -> None:
    # one unit with 5000 points, 10 units with one point: at most 3 + 10 points counted
    df = pd.DataFrame({"user": np.r_[np.zeros(5000, int), np.arange(1, 11)],
                       "x": np.zeros(5010), "y": np.zeros(5010)})
    s = kde_build(df, columns=["x", "y"], privacy_unit="user",
            params=KDEParams("l1", epsilon=1e6, radius=1.0, size_hint=16), rng=0,
            max_rows_per_unit=3)
    assert s.count == pytest.approx(13, abs=0.1)


@pytest.mark.parametrize("kind", sorted(PARAMS))
def test_unit_event(kind: str) -> None:
    p = PARAMS[kind]
    one = privacy_event(kde_build, columns=["x", "y"], privacy_unit="user", params=p)
    assert one == kde_point_event(p.__class__(**{**p.__dict__, "dimension": 2}))
    three = privacy_event(kde_build, columns=["x", "y"], params=p, max_rows_per_unit=3)
    assert three.epsilon_inf() == pytest.approx(1.0)
    assert three.relation == one.relation == "add_remove"
    orders = np.array([2.0, 8.0, 64.0])
    assert (three.rdp(orders) >= one.rdp(orders)).all()  # noise at ε/3, sensitivity × 3
    # per node: Laplace(b/3) at sensitivity 1 == Laplace(b) at sensitivity 3
    first = three.events[0]
    assert isinstance(first, Repeated) and isinstance(first.event, Laplace)


@pytest.mark.parametrize(("change", "match"), [
    ({"columns": ["x", "nope"]}, "columns.*nope"),
    ({"privacy_unit": "nope"}, "privacy_unit.*nope"),
    ({"params": "l1"}, "params"),
    ({"params": KDEParams("l1", 1.0, 1.0, dimension=3)}, "dimension"),
    ({"max_rows_per_unit": 0}, "max_rows_per_unit"),
])
def test_bad_input(change: dict, match: str) -> None:
    kw = {"columns": ["x", "y"], "privacy_unit": "user", "params": PARAMS["l1"], "rng": 0,
          **change}
    with pytest.raises(DPKitError, match=match):
        kde_build(_table(50, 0), **kw)


def test_bad_data() -> None:
    df = _table(50, 0)
    df.loc[3, "x"] = np.nan
    with pytest.raises(DPKitError, match="columns"):
        kde_build(df, columns=["x", "y"], privacy_unit="user", params=PARAMS["l1"], rng=0,
            max_rows_per_unit=50)
