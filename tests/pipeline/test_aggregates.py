"""Keyed count / sum / mean: Dask == pandas bit for bit, accuracy, events, bad input, audit."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from dpkit.accounting import Accountant, PureDP
from dpkit.accounting.events import (
    ZCDP,
    ApproxDP,
    DiscreteLaplace,
    Gaussian,
    RandomizedResponse,
    RDPCurve,
)
from dpkit.audit import audit_samples
from dpkit.errors import DPKitError
from dpkit.pipeline import (
    as_replace_one,
    count,
    heavy_hitters,
    mean,
    privacy_event,
    select_partitions,
)
from dpkit.pipeline import sum as dp_sum

pd = pytest.importorskip("pandas")
pytest.importorskip("dask.dataframe")

KW: dict[str, Any] = dict(privacy_unit="user", max_partitions=3, max_per_partition=2,
                          epsilon=1.0, delta=1e-6)


def _same_release(a: Any, b: Any) -> None:
    """Same keys (Python values, in order), same statistics bit for bit."""
    assert list(a.columns) == list(b.columns)
    for c in a.columns:
        x, y = a[c].to_numpy(), b[c].to_numpy()
        if x.dtype.kind in "iuf":
            assert x.dtype == y.dtype
            np.testing.assert_array_equal(x, y)
        else:
            assert list(x) == list(y)


def _releases() -> list[tuple[Any, dict[str, Any]]]:
    return [
        (count, {"by": "country"}),
        (count, {"by": ["country", "day"], "noise": "gaussian"}),
        (dp_sum, {"by": "country", "value": "value", "bounds": (-1.0, 5.0)}),
        (mean, {"by": "country", "value": "value", "bounds": (0.0, 4.0), "noise": "gaussian"}),
        (count, {"by": "country", "public_partitions": ["c00", "c03", "zz"]}),
        (select_partitions, {"by": "country", "max_per_partition": None}),
        (count, {"by": "country", "selection": "truncated_geometric"}),
        (dp_sum, {"by": ["country", "day"], "value": "value", "bounds": (-1.0, 5.0),
                  "selection": "truncated_geometric", "noise": "gaussian"}),
    ]


def _call(fn: Any, df: Any, extra: dict[str, Any], rng: Any) -> Any:
    kw = {**KW, **extra}
    if kw.get("max_per_partition", 1) is None:
        del kw["max_per_partition"]
    return fn(df, rng=rng, **kw)


@pytest.mark.parametrize("i", range(8))
def test_dask_equals_pandas_bit_for_bit(events: Any, to_dask: Any, sync_dask: None,
                                        i: int) -> None:
    fn, extra = _releases()[i]
    nparts = 3 + i % 5  # 3 to 7 partitions
    serial = _call(fn, events, extra, 17)
    assert len(serial) > 0
    _same_release(serial, _call(fn, to_dask(events, nparts), extra, 17))
    _same_release(serial, _call(fn, events.sample(frac=1.0, random_state=2), extra, 17))
    other = _call(fn, events, extra, 18)
    if fn is not select_partitions:
        assert not other.equals(serial)


def test_count_on_a_local_cluster(events: Any, to_dask: Any) -> None:
    distributed = pytest.importorskip("distributed")
    serial = count(events, by="country", rng=5, **KW)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster):
        got = count(to_dask(events, 4), by="country", rng=5, progress=True, **KW)
    _same_release(serial, got)


def test_counts_sums_means_are_accurate() -> None:
    rng = np.random.default_rng(0)
    n = 60_000
    df = pd.DataFrame({"user": np.arange(n), "key": rng.choice(["a", "b", "c"], n),
                       "value": rng.uniform(0, 10, n)})
    kw = dict(by="key", privacy_unit="user", max_partitions=1, max_per_partition=1,
              epsilon=1.0, delta=1e-6)
    truth = df.groupby("key").agg(n=("value", "size"), s=("value", "sum"), m=("value", "mean"))
    c = count(df, rng=1, **kw).set_index("key")["count"]
    assert np.all(np.abs(c - truth["n"]) < 40)  # discrete Laplace scale 1: |noise| < 40 w.h.p.
    s = dp_sum(df, value="value", bounds=(0, 10), rng=2, **kw).set_index("key")["sum"]
    assert np.all(np.abs(s - truth["s"]) < 1000)  # Laplace scale 20
    m = mean(df, value="value", bounds=(0, 10), rng=3, **kw).set_index("key")["mean"]
    assert np.all(np.abs(m - truth["m"]) < 0.05)
    clipped = mean(df, value="value", bounds=(0, 1), rng=3, **kw).set_index("key")["mean"]
    assert np.all((clipped >= 0) & (clipped <= 1)) and np.all(clipped > 0.9)


def test_empty_table_and_public_keys() -> None:
    df = pd.DataFrame({"user": np.arange(5), "key": ["a"] * 5})
    out = count(df.iloc[:0], by="key", rng=0, **KW)
    assert list(out.columns) == ["key", "count"] and len(out) == 0
    pub = count(df, by="key", rng=0, public_partitions=["b", "a"], **KW)
    assert list(pub["key"]) == ["a", "b"]  # every public key, sorted, even with no rows


def test_privacy_events() -> None:
    ev = privacy_event(count, by="k", **KW)
    assert isinstance(ev, ApproxDP) and ev.relation == "add_remove"
    assert ev.epsilon <= 1.0 + 1e-12 and ev.delta <= 1e-6
    s = privacy_event(dp_sum, df=None, rng=3, by="k", value="v", bounds=(0, 1), **KW)
    assert isinstance(s, ApproxDP) and s.epsilon <= 1.0 + 1e-12 and s.delta <= 1e-6
    pub = privacy_event(count, by="k", public_partitions=["a"], **KW)
    assert isinstance(pub, PureDP) and pub.epsilon <= 1.0
    # public keys: the noise's own event composes tightly in the accountant
    acc = Accountant().compose(pub, 3)
    assert acc.epsilon(1e-9) <= 3.0 + 1e-9
    # private selection: no Rényi bound (ε = ∞ by RDP); the one accountant composes the (ε, δ)
    # statements by PLD, never above basic composition (Dwork & Roth 2014, Thm. 3.16)
    assert math.isinf(Accountant().compose(ev).epsilon(1e-3, method="rdp"))
    total = Accountant().compose(ev).compose(s).compose(pub, 2)
    rdp_part = Accountant().compose(pub, 2).epsilon(1e-9, method="rdp")
    basic = ev.epsilon + s.epsilon + rdp_part
    d_total = ev.delta + s.delta + 1e-9
    got = total.epsilon_details(d_total)
    assert got.method == "pld" and got.epsilon <= basic * (1 + 1e-3)
    assert got.epsilon >= max(ev.epsilon, s.epsilon)  # never below one of its parts
    tg = privacy_event(count, by="k", selection="truncated_geometric", **KW)
    assert isinstance(tg, ApproxDP) and (tg.epsilon, tg.delta) == (1.0, 1e-6)
    with pytest.raises(DPKitError, match="selection must be one of"):
        privacy_event(count, by="k", selection="top", **KW)
    sel = privacy_event(select_partitions, by="k", privacy_unit="u", max_partitions=2,
                        epsilon=0.5, delta=1e-8)
    assert (sel.epsilon, sel.delta) == (0.5, 1e-8)
    with pytest.raises(DPKitError, match="not a dpkit.pipeline release"):
        privacy_event(len, by="k")
    with pytest.raises(DPKitError, match="epsilon must be > 0"):
        privacy_event(count, by="k", **{**KW, "epsilon": 0})
    with pytest.raises(DPKitError, match="relation must be"):
        privacy_event(count, by="k", relation="swap", **KW)
    # a misspelt option is refused, not ignored (it would be the event of another call)
    with pytest.raises(DPKitError, match="public_partition: not a parameter of count"):
        privacy_event(count, by="k", public_partition=["a"], **KW)
    with pytest.raises(DPKitError, match="event must be"):
        as_replace_one("x")  # type: ignore[arg-type]


def test_replace_one_statements_are_group_privacy() -> None:
    """relation="replace_one": (ε, δ) → (2ε, (1 + e^ε)δ), ε → 2ε, ρ → 4ρ, b → b/2."""
    ev = privacy_event(count, by="k", relation="replace_one", **KW)
    own = privacy_event(count, by="k", **KW)
    assert isinstance(ev, ApproxDP) and ev.relation == "replace_one"
    assert ev.epsilon >= 2 * own.epsilon and ev.delta >= (1 + math.exp(own.epsilon)) * own.delta
    assert ev.epsilon <= 2 * own.epsilon * (1 + 1e-12)
    assert as_replace_one(PureDP(0.5, relation="add_remove")).epsilon >= 1.0
    assert as_replace_one(ZCDP(0.1, relation="add_remove")).rho >= 0.4
    g = as_replace_one(Gaussian(2.0, relation="add_remove"))
    assert g.relation == "replace_one" and g.noise_multiplier <= 1.0
    dl = as_replace_one(DiscreteLaplace(3.0, 2, relation="add_remove"))
    assert dl.sensitivity == 4 and dl.relation == "replace_one"
    rr = RandomizedResponse(1.0, k=4)  # replace-one by definition
    assert as_replace_one(rr) is rr
    with pytest.raises(DPKitError, match="no replace-one statement"):
        as_replace_one(RDPCurve((2.0, 4.0), (0.1, 0.2)))
    with pytest.raises(DPKitError, match="no replace-one statement"):
        as_replace_one(ZCDP(0.1, xi=0.2))
    # a local-DP release asked for add/remove is refused
    with pytest.raises(DPKitError, match="replace-one of a unit only"):
        privacy_event(heavy_hitters, item="i", privacy_unit="u", epsilon=1.0, k=3,
                      candidates=["a", "b"], relation="add_remove")
    # the group-privacy statement holds: the composed replace-one ledger accepts both kinds
    hh = privacy_event(heavy_hitters, item="i", privacy_unit="u", epsilon=1.0, k=3,
                       candidates=["a", "b"])
    acc = Accountant().compose(ev).compose(hh)
    assert acc.epsilon(1e-5) >= ev.epsilon


def test_bad_input_names_the_column(events: Any, to_dask: Any, sync_dask: None) -> None:
    kw = {**KW, "by": "country"}
    cases: list[tuple[Any, dict[str, Any], str]] = [
        (count, {"by": "nope"}, "by: column 'nope' not in the table"),
        (count, {"privacy_unit": "who"}, "privacy_unit: column 'who' not in the table"),
        (count, {"delta": 0.0}, "delta must be in \\(0, 1\\)"),
        (count, {"epsilon": -1.0}, "epsilon must be > 0"),
        (count, {"max_partitions": 0}, "max_partitions must be >= 1"),
        (count, {"max_per_partition": 0}, "max_per_partition must be >= 1"),
        (count, {"noise": "cauchy"}, "noise must be one of"),
        (dp_sum, {"value": "value", "bounds": None}, "bounds: sum needs bounds"),
        (dp_sum, {"value": "value", "bounds": (2, 1)}, "bounds must satisfy lo <= hi"),
        (dp_sum, {"value": "value", "bounds": (0, 0)}, "bounds: \\(0, 0\\) leaves nothing"),
        (mean, {"value": "nope", "bounds": (0, 1)}, "value: column 'nope' not in the table"),
        (mean, {"value": None, "bounds": (0, 1)}, "value: mean needs the value column"),
    ]
    for fn, over, msg in cases:
        with pytest.raises(DPKitError, match=msg):
            fn(events, rng=0, **{**kw, **over})
    bad = events.copy()
    bad.loc[7, "country"] = None
    with pytest.raises(DPKitError, match="by: column 'country' has 1 null"):
        count(bad, rng=0, **kw)
    with pytest.raises(DPKitError, match="by: column 'country' has 1 null"):
        count(to_dask(bad, 3), rng=0, **kw)
    bad = events.copy()
    bad.loc[7, "user"] = np.nan
    with pytest.raises(DPKitError, match="privacy_unit: column 'user' has 1 null"):
        count(bad, rng=0, **kw)
    bad = events.copy()
    bad.loc[:, "value"] = np.nan
    with pytest.raises(DPKitError, match="value: column 'value' has NaN"):
        mean(bad, rng=0, value="value", bounds=(0, 1), **kw)


def _worlds(n: int, with_unit: bool, others: int = 25, extra: int = 5) -> Any:
    """n independent copies of a table (key ``(w, "k")``, units unique to their copy): 25
    units with one row each, plus (``with_unit``) one unit with 5 rows on the same key."""
    w = np.repeat(np.arange(n), others)
    parts = [pd.DataFrame({"w": w, "key": "k", "user": w * 1000 + np.tile(np.arange(others), n)})]
    if with_unit:
        wt = np.repeat(np.arange(n), extra)
        parts.append(pd.DataFrame({"w": wt, "key": "k", "user": wt * 1000 + 999}))
    return pd.concat(parts, ignore_index=True)


def _released(n: int, with_unit: bool, epsilon: float, seed: int) -> np.ndarray:
    """The noisy count of key "k" in each copy, −1 where it was not released."""
    out = count(_worlds(n, with_unit), by=["w", "key"], privacy_unit="user", max_partitions=1,
                max_per_partition=2, epsilon=epsilon, delta=1e-3, rng=seed)
    y = np.full(n, -1, dtype=np.int64)
    y[out["w"].to_numpy()] = out["count"].to_numpy()
    return y


def test_audit_of_one_keyed_count() -> None:
    """End to end (bounding, selection, noise) on worst-case neighbours: the table with and
    without one unit that holds the most rows bounding allows (and more). Each copy of the
    table is one independent release (noise and threshold do not depend on the other keys).
    β = 1e-6; honest: ε_lb ≤ ε (measured 0.9 of it); twin with half the noise: caught."""
    n = 30_000
    claim = privacy_event(count, by=["w", "key"], privacy_unit="user", max_partitions=1,
                          max_per_partition=2, epsilon=1.0, delta=1e-3)
    honest = audit_samples(_released(n, True, 1.0, 1), _released(n, False, 1.0, 2),
                           delta=claim.delta, beta=1e-6)
    assert 0.7 * claim.epsilon <= honest.epsilon_lower_bound <= claim.epsilon
    twin = audit_samples(_released(n, True, 2.0, 1), _released(n, False, 2.0, 2),
                         delta=claim.delta, beta=1e-6)
    assert twin.epsilon_lower_bound > claim.epsilon


def test_hardened_tier_runs_with_a_secure_generator(events: Any) -> None:
    from dpkit.random import secure_generator

    out = count(events, by="country", rng=secure_generator(), **KW)
    assert set(out["country"]) <= set(events["country"]) and len(out) > 5
    m = mean(events, by="country", value="value", bounds=(0, 4), rng=secure_generator(), **KW)
    assert m["mean"].between(0, 4).all()


@pytest.mark.parametrize("fn,extra", [(count, {}), (dp_sum, {"value": "v", "bounds": (-2, 3)}),
                                      (mean, {"value": "v", "bounds": (1, 1)}),
                                      (mean, {"value": "v", "bounds": (0, 9)})])
def test_every_event_is_within_the_target(fn: Any, extra: dict[str, Any]) -> None:
    """Over a grid of parameters the stated (ε, δ) never exceeds the caller's target."""
    for m, c in ((1, 1), (5, 3), (40, 1)):
        for eps in (0.05, 1.0, 8.0):
            for noise in ("laplace", "gaussian"):
                for selection in ("threshold", "truncated_geometric"):
                    kw = dict(by="k", privacy_unit="u", max_partitions=m, max_per_partition=c,
                              epsilon=eps, delta=1e-9, noise=noise, selection=selection, **extra)
                    ev = privacy_event(fn, **kw)
                    assert isinstance(ev, ApproxDP), kw
                    assert ev.epsilon <= eps and ev.delta <= 1e-9, (kw, ev)
                    pub = privacy_event(fn, public_partitions=["a"], **kw)
                    e = Accountant().compose(pub).epsilon(1e-9, method="rdp")
                    assert e <= eps * (1 + 1e-9), (kw, pub, e)
