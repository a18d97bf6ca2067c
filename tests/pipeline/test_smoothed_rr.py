"""dpkit.pipeline.smoothed_rr: one smoothed-RR bit per unit, merged tallies (pandas == Dask)."""

from __future__ import annotations

import math

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

from dpkit.errors import DPKitError
from dpkit.mechanisms.smoothed_rr import SmoothedRRParams, flip_probability
from dpkit.pipeline import privacy_event
from dpkit.pipeline.smoothed_rr import smoothed_rr_responses, smoothed_rr_tally
from dpkit.random import SecureGenerator

KW = {"value": "x", "privacy_unit": "user", "epsilon": 1.0, "lo": -2.0, "hi": 2.0,
      "threshold": 0.25}


def _table(n_units: int, seed: int) -> pd.DataFrame:
    gen = np.random.default_rng(seed)
    reps = gen.integers(1, 4, n_units)
    units = np.repeat(np.arange(n_units), reps)
    return pd.DataFrame({"user": units.astype(str), "x": gen.normal(0.3, 1.0, units.size)})


def test_dask_equals_pandas_bit_for_bit() -> None:
    df = _table(400, 0)
    ref = smoothed_rr_responses(df, rng=3, max_rows_per_unit=2, **KW)
    tally = smoothed_rr_tally(df, rng=3, max_rows_per_unit=2, **KW)
    with dask.config.set(scheduler="sync"):
        ddf = dd.from_pandas(df.sample(frac=1.0, random_state=1), npartitions=4)
        got = smoothed_rr_responses(ddf, rng=3, max_rows_per_unit=2, **KW)
        got_tally = smoothed_rr_tally(ddf, rng=3, max_rows_per_unit=2, **KW)
    pd.testing.assert_frame_equal(ref, got)
    pd.testing.assert_frame_equal(tally, got_tally)
    assert len(ref) == 400 and set(ref["response"]) <= {-1, 1}
    assert sorted(ref["user"]) == sorted(df["user"].unique())
    assert tally["positive"].iloc[0] == int((ref["response"] == 1).sum())
    assert tally["units"].iloc[0] == 400
    assert not smoothed_rr_responses(df, rng=4, max_rows_per_unit=2, **KW).equals(ref)


def test_flip_law() -> None:
    """Units at signal v flip with probability ½·exp(−ε|v − t|/Δ) (binomial bounds)."""
    n = 40_000
    for v in (0.25, 1.0, -3.0):  # at the threshold, inside, clipped to lo
        df = pd.DataFrame({"user": np.arange(n), "x": np.full(n, v)})
        out = smoothed_rr_responses(df, rng=8, **KW)
        a = 1 if v > 0.25 else -1
        p = float(flip_probability(SmoothedRRParams.replacement(1.0, -2.0, 2.0, 0.25),
                                   np.clip(v, -2, 2)))
        rate = float(np.mean(out["response"] == -a))
        assert abs(rate - p) < 5 * math.sqrt(p * (1 - p) / n) + 1e-9, (v, rate, p)


def test_signal_is_the_mean_of_the_unit_rows() -> None:
    # unit rows +3 and -1: mean 1 (not one of the rows); far from t, flips rarely at ε = 8
    df = pd.DataFrame({"user": np.repeat(np.arange(2000), 2), "x": np.tile([3.0, -1.0], 2000)})
    out = smoothed_rr_responses(df, value="x", privacy_unit="user", epsilon=8.0, lo=-4.0,
                                hi=4.0, threshold=0.5, rng=0, max_rows_per_unit=2)
    p = 0.5 * math.exp(-8.0 * 0.5 / 8.0)
    assert abs(float(np.mean(out["response"] == -1)) - p) < 5 * math.sqrt(p * (1 - p) / 2000)


def test_privacy_event() -> None:
    ev = privacy_event(smoothed_rr_responses, **KW)
    assert ev == SmoothedRRParams.replacement(1.0, -2.0, 2.0, 0.25).privacy_event()
    assert ev.epsilon_inf() == pytest.approx(1.0) and ev.relation == "replace_one"
    assert privacy_event(smoothed_rr_tally, **KW) == ev


@pytest.mark.parametrize(("change", "match"), [
    ({"value": "nope"}, "value.*nope"),
    ({"privacy_unit": "nope"}, "privacy_unit.*nope"),
    ({"epsilon": -1.0}, "epsilon"),
    ({"lo": 3.0}, "clip"),
    ({"threshold": float("nan")}, "threshold"),
    ({"max_rows_per_unit": 0}, "max_rows_per_unit"),
    ({"rng": SecureGenerator()}, "rng"),
])
def test_bad_input(change: dict, match: str) -> None:
    kw = {**KW, "rng": 0, **change}
    with pytest.raises(DPKitError, match=match):
        smoothed_rr_responses(_table(20, 0), **kw)


def test_bad_data() -> None:
    df = _table(20, 0)
    df.loc[2, "x"] = np.inf
    with pytest.raises(DPKitError, match="value"):
        smoothed_rr_tally(df, rng=0, max_rows_per_unit=9, **KW)
