"""dpkit.pipeline.heavy_hitters: LDP heavy hitters of a table column (pandas == Dask)."""

from __future__ import annotations

import math

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

from dpkit.errors import DPKitError
from dpkit.mechanisms.heavy_hitters import GRR, OLH, OUE, variance
from dpkit.mechanisms.heavy_hitters import privacy_event as oracle_event
from dpkit.pipeline import privacy_event
from dpkit.pipeline._keyed import KeyedDraws, mulhi
from dpkit.pipeline.heavy_hitters import _reports, heavy_hitters
from dpkit.random import SecureGenerator

WORDS = ["apple", "kiwi", 7, b"\x00z", True, "é"]


def _table(n_units: int, seed: int, probs: list[float], extra: int = 0) -> pd.DataFrame:
    """Units with 1..3 rows each; every unit holds one item (all its rows)."""
    gen = np.random.default_rng(seed)
    items = np.array(WORDS + [f"r{i}" for i in range(extra)], dtype=object)
    p = np.r_[probs, np.full(extra, (1 - sum(probs)) / max(extra, 1))] if extra else probs
    per_unit = gen.choice(items.size, n_units, p=np.asarray(p) / np.sum(p))
    reps = gen.integers(1, 4, n_units)
    units = np.repeat(np.arange(n_units), reps)
    return pd.DataFrame({"user": units, "item": items[np.repeat(per_unit, reps)],
                         "noise": gen.normal(size=units.size)})


def _dask(df: pd.DataFrame, parts: int) -> dd.DataFrame:
    # mixed-type object columns must stay objects (Dask converts them to strings by default)
    with dask.config.set({"dataframe.convert-string": False}):
        return dd.from_pandas(df.sample(frac=1.0, random_state=3), npartitions=parts)


@pytest.mark.parametrize("kwargs", [
    {"max_item_bytes": 6},
    {"candidates": WORDS + ["absent"], "oracle": "olh"},
    {"candidates": WORDS, "oracle": "grr"},
    {"candidates": WORDS, "oracle": "oue"},
])
def test_dask_equals_pandas_bit_for_bit(kwargs: dict) -> None:
    df = _table(600, 0, [0.3, 0.2, 0.15, 0.15, 0.1, 0.1])
    ref = heavy_hitters(df, item="item", privacy_unit="user", epsilon=3.0, k=3, rng=11,
                        **kwargs)
    shuffled = heavy_hitters(df.sample(frac=1.0, random_state=1), item="item",
                             privacy_unit="user", epsilon=3.0, k=3, rng=11, **kwargs)
    with dask.config.set(scheduler="sync"):
        got = heavy_hitters(_dask(df, 4), item="item", privacy_unit="user", epsilon=3.0,
                            k=3, rng=np.random.default_rng(11), **kwargs)
    pd.testing.assert_frame_equal(ref, got)
    pd.testing.assert_frame_equal(ref, shuffled)
    other = heavy_hitters(df, item="item", privacy_unit="user", epsilon=3.0, k=3, rng=12,
                          **kwargs)
    assert not np.array_equal(other["estimate"], ref["estimate"])  # the rng matters


def test_distributed_cluster_equals_pandas() -> None:
    distributed = pytest.importorskip("distributed")
    df = _table(300, 1, [0.3, 0.2, 0.15, 0.15, 0.1, 0.1])
    df["item"] = df["item"].map(str)  # Dask's P2P shuffle (Arrow) needs one type per column
    ref = heavy_hitters(df, item="item", privacy_unit="user", epsilon=2.0, k=2, rng=5,
                        max_item_bytes=8)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster):
        got = heavy_hitters(_dask(df, 3), item="item", privacy_unit="user", epsilon=2.0, k=2,
                            rng=5, max_item_bytes=8)
    pd.testing.assert_frame_equal(ref, got)


def test_finds_the_heavy_items_with_original_types() -> None:
    df = _table(30_000, 2, [0.3, 0.22, 0.16, 0.02, 0.02, 0.02], extra=200)
    out = heavy_hitters(df, item="item", privacy_unit="user", epsilon=4.0, k=3, rng=3,
                        max_item_bytes=5)
    assert list(out.columns) == ["item", "estimate"]
    assert {repr(v) for v in out["item"]} == {"'apple'", "'kiwi'", "7"}
    assert out["estimate"].is_monotonic_decreasing
    assert abs(out["estimate"].iloc[0] - 0.3 * 30_000) < 0.2 * 9000  # 'apple': 30% of units


def test_one_report_per_unit() -> None:
    # one unit with 5000 rows of "spam"; 400 units with one row of "ham" each
    df = pd.DataFrame({"user": np.r_[np.zeros(5000, int), np.arange(1, 401)],
                       "item": ["spam"] * 5000 + ["ham"] * 400})
    out = heavy_hitters(df, item="item", privacy_unit="user", epsilon=12.0, k=2, rng=0,
                        candidates=["ham", "spam"], oracle="grr")
    est = dict(zip(out["item"], out["estimate"], strict=True))
    assert est["ham"] == pytest.approx(400, abs=1.0) and est["spam"] == pytest.approx(1, abs=1)


@pytest.mark.parametrize("oracle", ["grr", "olh", "oue"])
def test_candidate_estimates_unbiased(oracle: str) -> None:
    """The keyed reports follow the oracle's law: estimates within 4.5 sd of the truth."""
    n = 20_000
    df = _table(n, 4, [0.4, 0.3, 0.1, 0.1, 0.05, 0.05])
    truth = df.drop_duplicates("user")["item"].map(repr).value_counts()
    out = heavy_hitters(df, item="item", privacy_unit="user", epsilon=1.0, k=6, rng=7,
                        candidates=WORDS, oracle=oracle)
    o = {"grr": GRR(1.0, 7), "olh": OLH(1.0, 7), "oue": OUE(1.0, 7)}[oracle]
    counts = np.zeros(7)
    for v, est in zip(out["item"], out["estimate"], strict=True):
        c = truth.get(repr(v), 0)
        counts[:] = 0
        counts[0], counts[1] = c, n - c
        sd = math.sqrt(float(variance(o, n, counts)[0]))
        assert abs(est - c) < 4.5 * sd, (v, est, c, sd)


def test_keyed_grr_law() -> None:
    """Keep rate p and a uniform 'other' value, from keys alone (chi-square style bounds)."""
    o = GRR(1.5, 5)
    keys = np.arange(1, 200_001, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    v = np.full(keys.size, 2)
    r = _reports(o, v, keys, keys)
    kept = float(np.mean(r == 2))
    assert abs(kept - o.p) < 5 * math.sqrt(o.p * (1 - o.p) / keys.size)
    others = np.bincount(r[r != 2], minlength=5)[[0, 1, 3, 4]]
    assert (np.abs(others / others.sum() - 0.25) < 0.01).all()
    assert np.array_equal(r, _reports(o, v[::-1][::-1], keys, keys))
    # a draw depends on its key only: the reports of a subset are the subset of the reports
    assert np.array_equal(_reports(o, v[:1000], keys[:1000], keys[:1000]), r[:1000])


def test_keyed_draws_refuse_misaligned_shapes() -> None:
    d = KeyedDraws(np.arange(4, dtype=np.uint64))
    with pytest.raises(DPKitError, match="last axis"):
        d.random((4, 3))
    assert d.integers(0, 10, size=4).max() < 10
    assert mulhi(np.array([2**64 - 1], dtype=np.uint64), 7)[0] == 6


def test_privacy_event_is_the_oracles() -> None:
    ev = privacy_event(heavy_hitters, item="item", privacy_unit="user", epsilon=2.0, k=3)
    assert ev == oracle_event(OLH(2.0, 2**32))
    ev = privacy_event(heavy_hitters, epsilon=1.0, k=1, candidates=["a", "b"], oracle="grr")
    assert ev == oracle_event(GRR(1.0, 3))
    ev = privacy_event(heavy_hitters, epsilon=1.0, k=1, candidates=["a", "b"], oracle="oue")
    assert ev == oracle_event(OUE(1.0, 3))
    with pytest.raises(DPKitError, match="oracle"):
        privacy_event(heavy_hitters, epsilon=1.0, k=1, oracle="grr")


@pytest.mark.parametrize(("change", "match"), [
    ({"item": "missing"}, "item.*missing"),
    ({"privacy_unit": "nobody"}, "privacy_unit.*nobody"),
    ({"epsilon": 0.0}, "epsilon"),
    ({"k": 0}, "k"),
    ({"oracle": "hadamard"}, "oracle"),
    ({"oracle": "grr"}, "oracle"),
    ({"max_item_bytes": 64}, "max_item_bytes"),
    ({"step_bits": 0}, "step_bits"),
    ({"candidates": ["a", "a"]}, "distinct"),
    ({"rng": SecureGenerator()}, "rng"),
])
def test_bad_input(change: dict, match: str) -> None:
    df = _table(50, 5, [0.3, 0.2, 0.15, 0.15, 0.1, 0.1])
    kwargs = {"item": "item", "privacy_unit": "user", "epsilon": 1.0, "k": 2, "rng": 0}
    kwargs.update(change)
    with pytest.raises(DPKitError, match=match):
        heavy_hitters(df, **kwargs)


@pytest.mark.parametrize(("column", "values", "match"), [
    ("item", [1.5, "a"], "item"),
    ("item", [None, "a"], "item"),
    ("item", ["a", None], "item"),
    ("item", ["toolongitem", "a"], "max_item_bytes"),
    ("user", [None, 1], "privacy_unit"),
])
def test_bad_data(column: str, values: list, match: str) -> None:
    df = pd.DataFrame({"user": [0, 1], "item": ["a", "b"]})
    df[column] = pd.Series(values, dtype=object)
    with pytest.raises(DPKitError, match=match):
        heavy_hitters(df, item="item", privacy_unit="user", epsilon=1.0, k=1, rng=0,
                      max_item_bytes=4)


def test_olh_report_batches_slice_and_concatenate() -> None:
    """Issue 17 item 4: a batch split across partitions and merged back is the same state."""
    from dpkit.mechanisms.heavy_hitters import OLHReports, aggregate, merge, perturb

    o = OLH(2.0, 64, num_hashes=16)
    r = perturb(o, np.arange(200) % 64, rng=1, backend="numpy")
    assert isinstance(r, OLHReports) and len(r[10:50]) == 40
    parts = [r[:70], r[70:71], r[71:]]
    back = OLHReports.concatenate(parts)
    assert np.array_equal(back.seeds, r.seeds) and np.array_equal(back.buckets, r.buckets)
    merged = merge(merge(aggregate(o, parts[0]), aggregate(o, parts[1])), aggregate(o, parts[2]))
    assert np.array_equal(merged.counts, aggregate(o, r).counts)
    mask = r.buckets % 2 == 0
    assert len(r[mask]) == int(mask.sum()) and len(r[-1]) == 1
    with pytest.raises(DPKitError, match="batches"):
        OLHReports.concatenate([])


def test_null_items_refused_whichever_row_is_kept() -> None:
    df = pd.DataFrame({"user": [0, 0, 0, 1], "item": ["a", "b", None, "c"]})
    for seed in range(4):
        with pytest.raises(DPKitError, match="item"):
            heavy_hitters(df, item="item", privacy_unit="user", epsilon=1.0, k=1, rng=seed)
