"""dpkit.pipeline.rqm: one RQM update per privacy unit, one unbiased mean (pandas == Dask)."""

from __future__ import annotations

import math

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

from dpkit.errors import DPKitError
from dpkit.mechanisms.rqm import RQMParams, variance
from dpkit.mechanisms.rqm import privacy_event as rqm_event
from dpkit.pipeline import privacy_event
from dpkit.pipeline.rqm import rqm_mean
from dpkit.random import SecureGenerator

P = RQMParams(clip=1.0, extension=0.5, num_levels=8, keep_prob=0.6)


def _table(n_units: int, seed: int) -> pd.DataFrame:
    gen = np.random.default_rng(seed)
    reps = gen.integers(1, 4, n_units)
    units = np.repeat(np.arange(n_units), reps)
    return pd.DataFrame({"user": units, "a": gen.normal(0.2, 0.5, units.size),
                         "b": gen.uniform(-2, 2, units.size)})


@pytest.mark.parametrize("rows", [1, 3])
def test_dask_equals_pandas_bit_for_bit(rows: int) -> None:
    df = _table(500, 0)
    kw = {"value": ["a", "b"], "privacy_unit": "user", "params": P, "max_rows_per_unit": rows}
    ref = rqm_mean(df, rng=4, **kw)
    with dask.config.set(scheduler="sync"):
        got = rqm_mean(dd.from_pandas(df.sample(frac=1.0, random_state=2), npartitions=5),
                       rng=4, **kw)
    pd.testing.assert_frame_equal(ref, got)
    assert ref["units"].iloc[0] == 500
    assert not rqm_mean(df, rng=5, **kw).equals(ref)


def test_unbiased_mean_of_unit_updates() -> None:
    """E[estimate] = mean over units of the clipped per-unit means (all rows kept)."""
    df = _table(20_000, 1)
    out = rqm_mean(df, value="a", privacy_unit="user", rng=9, clip=1.0, extension=0.5,
                   num_levels=8, keep_prob=0.6, max_rows_per_unit=3)
    upd = np.clip(df.groupby("user")["a"].mean().to_numpy(), -1.0, 1.0)
    sd = math.sqrt(float(variance(P, upd).sum())) / upd.size
    assert abs(out["a"].iloc[0] - upd.mean()) < 4.5 * sd
    assert out["units"].iloc[0] == 20_000


def test_one_update_per_unit() -> None:
    # one unit with 10_000 rows at +1, 100 units with one row at -1: weight 1/101 each
    df = pd.DataFrame({"user": np.r_[np.zeros(10_000, int), np.arange(1, 101)],
                       "a": np.r_[np.ones(10_000), -np.ones(100)]})
    out = rqm_mean(df, value="a", privacy_unit="user", rng=0, params=P, max_rows_per_unit=50)
    assert out["units"].iloc[0] == 101
    sd = math.sqrt(float(variance(P, np.r_[1.0, -np.ones(100)]).sum())) / 101
    assert abs(out["a"].iloc[0] - (1 - 100) / 101) < 4.5 * sd


def test_privacy_event() -> None:
    ev = privacy_event(rqm_mean, value=["a", "b"], privacy_unit="user", params=P)
    assert ev == rqm_event(P, dimension=2)
    ev = privacy_event(rqm_mean, value="a", clip=1.0, extension=0.5, num_levels=8,
                       keep_prob=0.6)
    assert ev == rqm_event(P, dimension=1)


@pytest.mark.parametrize(("change", "match"), [
    ({"value": "nope"}, "value.*nope"),
    ({"privacy_unit": "nope"}, "privacy_unit.*nope"),
    ({"clip": 1.0}, "not both"),
    ({"params": None}, "params"),
    ({"params": "x"}, "params"),
    ({"max_rows_per_unit": 0}, "max_rows_per_unit"),
    ({"rng": SecureGenerator()}, "rng"),
])
def test_bad_input(change: dict, match: str) -> None:
    kw = {"value": "a", "privacy_unit": "user", "params": P, "rng": 0}
    kw.update(change)
    with pytest.raises(DPKitError, match=match):
        rqm_mean(_table(20, 0), **kw)


def test_bad_data() -> None:
    df = _table(20, 0)
    df.loc[3, "a"] = np.nan
    for seed in range(3):  # every row is checked, whichever rows bounding keeps
        with pytest.raises(DPKitError, match="value"):
            rqm_mean(df, value="a", privacy_unit="user", params=P, rng=seed)
        with dask.config.set(scheduler="sync"), pytest.raises(DPKitError, match="value"):
            rqm_mean(dd.from_pandas(df, npartitions=2), value="a", privacy_unit="user",
                     params=P, rng=seed)
    df = _table(20, 0).astype({"user": float})
    df.loc[0, "user"] = np.nan
    with pytest.raises(DPKitError, match="privacy_unit"):
        rqm_mean(df, value="a", privacy_unit="user", params=P, rng=0)


def test_unit_as_dask_index() -> None:
    """A Dask frame indexed by the unit (known divisions) gives the column-mode result."""
    df = _table(300, 3)
    ref = rqm_mean(df, value="a", privacy_unit="user", params=P, rng=2, max_rows_per_unit=9)
    with dask.config.set(scheduler="sync"):
        ddf = dd.from_pandas(df.set_index("user").sort_index(), npartitions=3)
        assert ddf.known_divisions
        got = rqm_mean(ddf, value="a", privacy_unit="user", params=P, rng=2,
                       max_rows_per_unit=9)
    pd.testing.assert_frame_equal(ref, got)
