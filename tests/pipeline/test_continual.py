"""dpkit.pipeline.continual: keyed continual counters with unit bounding (pandas == Dask)."""

from __future__ import annotations

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

from dpkit.accounting.events import Gaussian
from dpkit.errors import DPKitError
from dpkit.mechanisms.continual import CounterParams, expected_variance
from dpkit.mechanisms.continual import privacy_event as counter_event
from dpkit.pipeline import privacy_event
from dpkit.pipeline.continual import continual_counts

KW = {"time": "day", "by": "page", "privacy_unit": "user", "keys": ["a", "b", "c", "zz"],
      "horizon": 8, "max_contributions_per_step": 2, "max_steps_per_unit": 3}


def _table(n: int, seed: int) -> pd.DataFrame:
    gen = np.random.default_rng(seed)
    return pd.DataFrame({"user": gen.integers(0, n // 5, n), "day": gen.integers(0, 8, n),
                         "page": gen.choice(["a", "b", "c", "other"], n)})


@pytest.mark.parametrize("noise", [{"rho": 0.5, "kind": "tree"}, {"epsilon": 1.0,
                                   "kind": "honaker"}, {"noise_multiplier": 2.0,
                                                        "kind": "blt"}])
def test_dask_equals_pandas_bit_for_bit(noise: dict) -> None:
    df = _table(3000, 0)
    ref = continual_counts(df, rng=5, **KW, **noise)
    with dask.config.set(scheduler="sync"):
        got = continual_counts(dd.from_pandas(df.sample(frac=1.0, random_state=1),
                                              npartitions=4), rng=5, **KW, **noise)
    pd.testing.assert_frame_equal(ref, got)
    assert list(ref.columns) == ["day", "page", "count"] and len(ref) == 8 * 4
    assert not continual_counts(df, rng=6, **KW, **noise).equals(ref)


def test_counts_are_running_totals_of_the_bounded_rows() -> None:
    # units already within the bounds (one row per unit): tiny noise -> the exact totals
    df = pd.DataFrame({"user": np.arange(40), "day": np.arange(40) % 8,
                       "page": np.where(np.arange(40) % 3 == 0, "a", "b")})
    out = continual_counts(df, rng=0, **{**KW, "keys": ["a", "b"]}, rho=1e9)
    want = (df.groupby(["day", "page"]).size().unstack(fill_value=0)
            .reindex(columns=["a", "b"]).cumsum().to_numpy().reshape(-1))
    assert np.abs(out["count"].to_numpy() - want).max() < 0.01


def test_bounding_per_unit() -> None:
    # one unit: 100 rows on each of 8 days -> at most 3 days x 2 rows counted
    df = pd.DataFrame({"user": np.zeros(800, int), "day": np.repeat(np.arange(8), 100),
                       "page": "a"})
    out = continual_counts(df, rng=1, **{**KW, "keys": ["a"]}, rho=1e9)
    final = out["count"].iloc[-1]
    assert abs(final - 6) < 0.01
    steps = np.diff(np.r_[0.0, out["count"].to_numpy()]).round()
    assert set(steps.tolist()) <= {0.0, 2.0} and (steps == 2).sum() == 3


def test_noise_variance_matches_the_counter() -> None:
    keys = list(range(400))
    df = pd.DataFrame({"user": [0], "day": [0], "page": [0]})
    out = continual_counts(df, rng=2, **{**KW, "keys": keys}, noise_multiplier=1.5,
                           kind="tree")
    p = CounterParams("tree", 8, noise_multiplier=1.5, dimension=400, bound=2.0,
                      relation="add_remove", participations=3)
    y = out["count"].to_numpy().reshape(8, 400).copy()
    y[:, 0] -= 1.0  # the one row (key 0, day 0)
    for t in (1, 3, 7):  # 1-based steps with popcount 1, 2, 3
        ratio = y[t - 1].var() / expected_variance(p, t)
        assert 0.8 < ratio < 1.25, (t, ratio)


def test_privacy_event_uses_multi_participation_sensitivity() -> None:
    ev = privacy_event(continual_counts, **KW, rho=0.5)
    assert isinstance(ev, Gaussian) and ev.relation == "add_remove"
    assert 1 / (2 * ev.noise_multiplier**2) == pytest.approx(0.5)
    p = CounterParams("tree", 8, noise_multiplier=2.0, dimension=4, bound=2.0,
                      relation="add_remove", participations=3)
    ev = privacy_event(continual_counts, **KW, noise_multiplier=2.0)
    assert ev.noise_multiplier == counter_event(p).noise_multiplier
    single = CounterParams("tree", 8, noise_multiplier=2.0, dimension=4, bound=2.0,
                           relation="add_remove")
    assert counter_event(single).noise_multiplier > ev.noise_multiplier  # κ = 3 costs more


@pytest.mark.parametrize(("change", "match"), [
    ({"time": "nope"}, "time.*nope"),
    ({"by": "nope"}, "by.*nope"),
    ({"privacy_unit": "nope"}, "privacy_unit.*nope"),
    ({"keys": []}, "keys"),
    ({"keys": ["a", "a"]}, "distinct"),
    ({"horizon": 0}, "horizon"),
    ({"max_contributions_per_step": 0}, "max_contributions_per_step"),
    ({"max_steps_per_unit": 0}, "max_steps_per_unit"),
    ({"kind": "fft"}, "kind"),
    ({"epsilon": 1.0}, "exactly one"),
    ({"rho": None, "epsilon": 1.0, "kind": "sqrt"}, "epsilon"),
    ({"horizon": 4}, "time"),  # days 0..7 do not fit
])
def test_bad_input(change: dict, match: str) -> None:
    kw = {**KW, "rho": 0.5, "rng": 0, **change}
    with pytest.raises(DPKitError, match=match):
        continual_counts(_table(100, 0), **kw)


def test_bad_data() -> None:
    df = _table(100, 0).astype({"day": float})
    with pytest.raises(DPKitError, match="time"):
        continual_counts(df, rng=0, rho=0.5, **KW)
    df = _table(100, 0)
    df.loc[0, "page"] = None
    with pytest.raises(DPKitError, match="by"):
        continual_counts(df, rng=0, rho=0.5, **KW)
