"""Contract specs: dpkit.mechanisms.heavy_hitters."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from dpkit.mechanisms import heavy_hitters as H

from .harness import demo_spec, record, spec
from .strategies import (
    Call,
    backends,
    f_arrays,
    floats_any,
    hostile,
    i_arrays,
    ints_any,
    mix,
    numbers,
    seeds,
)

record(H.HeavyHitterResult, "result record of find_heavy_hitters")
record(H.OLHReports, "report record of perturb; aggregate's spec feeds it hand-built reports")

eps = numbers(0.05, 8.0)
domains = st.integers(2, 12)


def oracle(draw: Any) -> Any:
    """A valid oracle (mostly), else something else."""
    if draw(st.integers(0, 9)) == 9:
        return draw(st.sampled_from([None, "grr", 1.0, H.HeavyHitterParams(1.0, 4, 2)]))
    kind = draw(st.sampled_from(["grr", "oue", "olh", "olh_fresh"]))
    e, d = draw(eps), draw(domains)
    if kind == "grr":
        return H.GRR(e, d)
    if kind == "oue":
        return H.OUE(e, d)
    return H.OLH(e, d, num_hashes=None if kind == "olh_fresh" else draw(
        st.sampled_from(["auto", 1, 7])))


def items(draw: Any, o: Any) -> Any:
    d = getattr(o, "domain_size", 4)
    return draw(mix(i_arrays(st.tuples(st.integers(0, 12)), 0, d - 1),
                    st.one_of(hostile(), st.just(np.array([d])), st.just(np.array([-1])),
                              st.just(np.zeros((2, 2), dtype=np.int64)))))


def reports(draw: Any, o: Any) -> Any:
    """Valid reports of o (from perturb), or hand-built / corrupted ones."""
    if isinstance(o, (H.GRR, H.OUE, H.OLH)) and draw(st.integers(0, 3)) < 3:
        r = H.perturb(o, draw(i_arrays(st.tuples(st.integers(0, 10)), 0, o.domain_size - 1)),
                      draw(st.integers(0, 99)), backend="numpy")
        if draw(st.integers(0, 4)) == 4:  # corrupt one field
            if isinstance(r, H.OLHReports):
                return H.OLHReports(draw(hostile()), r.buckets)
            return r.astype(np.float64) + 0.5
        return r
    return draw(st.one_of(hostile(), st.builds(
        H.OLHReports, hostile(), hostile()), st.just(np.full((3, 4), 2, dtype=np.uint8))))


def state(draw: Any, o: Any) -> Any:
    if not isinstance(o, (H.GRR, H.OUE, H.OLH)) or draw(st.integers(0, 5)) == 5:
        return draw(hostile())
    return H.aggregate(o, H.perturb(o, draw(i_arrays(st.tuples(st.integers(0, 8)), 0,
                                                      o.domain_size - 1)),
                                     draw(st.integers(0, 99)), backend="numpy"))


for _cls in (H.GRR, H.OUE):
    def _fo(draw: Any) -> Call:
        return Call((draw(mix(eps, floats_any())), draw(mix(domains, st.one_of(
            ints_any(), st.just(H.MAX_DOMAIN + 1))))))
    spec(_cls)(_fo)


@spec(H.OLH)
def _olh(draw: Any) -> Call:
    kw: dict[str, Any] = {}
    if draw(st.booleans()):
        kw["g"] = draw(mix(st.integers(2, 16), ints_any()))
    if draw(st.booleans()):
        kw["num_hashes"] = draw(mix(st.sampled_from([None, "auto", 1, 50]),
                                    st.one_of(ints_any(), st.just("AUTO"))))
    if draw(st.booleans()):
        kw["pool_seed"] = draw(mix(st.integers(0, 2**32 - 1), ints_any()))
    return Call((draw(mix(eps, floats_any())), draw(mix(domains, ints_any()))), kw)


@spec(H.FrequencyState, examples=40)
def _fstate(draw: Any) -> Call:
    """Hand-built states: valid ones (from aggregate) with one field replaced."""
    o = oracle(draw)
    base = state(draw, o)
    if not isinstance(base, H.FrequencyState):
        return Call((o, draw(mix(st.integers(0, 5), ints_any())), draw(hostile())))
    n, counts, seeds_, buckets = base.n, base.counts, base.seeds, base.buckets
    which = draw(st.sampled_from(["none", "n", "counts", "seeds", "buckets", "oracle"]))
    if which == "n":
        n = draw(st.one_of(ints_any(), floats_any(), st.just(n + 1), st.just("3")))
    elif which == "counts":
        counts = draw(st.one_of(hostile(), st.just(counts.astype(float) + np.nan),
                                st.just(-counts - 1), st.just(counts[..., :-1])))
    elif which == "seeds":
        seeds_ = draw(st.one_of(hostile(), st.just(None)))
    elif which == "buckets":
        buckets = draw(st.one_of(hostile(), st.just(None)))
    elif which == "oracle":
        o = oracle(draw)
    return Call((o, n, counts, seeds_, buckets))


@spec(H.perturb, seed=2)
def _perturb(draw: Any) -> Call:
    o = oracle(draw)
    return Call((o, items(draw, o), draw(seeds())), {"backend": draw(backends())})


@spec(H.perturb_reference, seed=2)
def _perturb_ref(draw: Any) -> Call:
    o = oracle(draw)
    return Call((o, items(draw, o), draw(seeds())))


@spec(H.perturb_aggregate, seed=2)
def _perturb_agg(draw: Any) -> Call:
    o = oracle(draw)
    return Call((o, items(draw, o), draw(seeds())), {"backend": draw(backends())})


@spec(H.aggregate)
def _aggregate(draw: Any) -> Call:
    o = oracle(draw)
    return Call((o, reports(draw, o)))


@spec(H.merge)
def _merge(draw: Any) -> Call:
    o = oracle(draw)
    o2 = o if draw(st.integers(0, 3)) < 3 else oracle(draw)
    return Call((state(draw, o), state(draw, o2)))


@spec(H.tree_merge)
def _tree_merge(draw: Any) -> Call:
    o = oracle(draw)
    return Call((draw(mix(st.lists(st.builds(lambda: None).map(lambda _: state(draw, o)),
                                   max_size=4), hostile())),))


@spec(H.estimate, finite=True)
def _estimate(draw: Any) -> Call:
    o = oracle(draw)
    cands = None if draw(st.booleans()) else items(draw, o)
    return Call((o, state(draw, o), cands), {"backend": draw(backends())})


@spec(H.support_counts, finite=True)
def _support(draw: Any) -> Call:
    o = oracle(draw)
    cands = None if draw(st.booleans()) else items(draw, o)
    return Call((state(draw, o), cands), {"backend": draw(backends())})


@spec(H.variance)
def _variance(draw: Any) -> Call:
    o = oracle(draw)
    n = draw(mix(st.integers(0, 50), ints_any()))
    counts = None
    if draw(st.booleans()) and isinstance(o, (H.GRR, H.OUE, H.OLH)) and isinstance(n, int) \
            and 0 <= n <= 50:
        c = np.zeros(o.domain_size)
        c[0] = n
        counts = draw(mix(st.just(c), st.one_of(hostile(), st.just(c + 0.25))))
    return Call((o, n, counts))


@spec(H.privacy_event)
def _hh_event(draw: Any) -> Call:
    if draw(st.integers(0, 3)) == 0:
        return Call((hh_params(draw),))
    return Call((oracle(draw),))


orders = st.one_of(st.none(), st.lists(numbers(1.01, 100.0), min_size=1, max_size=3),
                   st.sampled_from([[np.inf], [0.5], [np.nan], "x", [], [[2.0]]]))


@spec(H.oue_rdp)
def _oue_rdp(draw: Any) -> Call:
    return Call((draw(mix(eps, floats_any())),), {"orders": draw(orders)})


@spec(H.oue_event)
def _oue_event(draw: Any) -> Call:
    return Call((draw(mix(eps, floats_any())),))


def _small_oracle(draw: Any) -> Any:
    o = oracle(draw)
    if isinstance(o, H.OUE) and o.domain_size > 6:
        return H.OUE(o.epsilon, 6)
    return o


@spec(H.output_pmf)
def _output_pmf(draw: Any) -> Call:
    o = _small_oracle(draw)
    kw: dict[str, Any] = {}
    if draw(st.booleans()):
        kw["p"] = draw(mix(numbers(0.0, 1.0), floats_any()))
        kw["q"] = draw(mix(numbers(0.0, 1.0), floats_any()))
    if draw(st.booleans()):
        kw["seed"] = draw(mix(st.integers(0, 2**64 - 1), ints_any()))
    return Call((o, draw(mix(st.integers(0, 3), ints_any()))), kw)


@spec(H.max_log_ratio)
def _max_log_ratio(draw: Any) -> Call:
    o = _small_oracle(draw)
    kw: dict[str, Any] = {}
    if draw(st.booleans()):
        kw["p"] = draw(mix(numbers(0.0, 1.0), floats_any()))
        kw["q"] = draw(mix(numbers(0.0, 1.0), floats_any()))
    if draw(st.booleans()):
        kw["seeds"] = draw(mix(st.lists(st.integers(0, 100), max_size=3), hostile()))
    return Call((o,), kw)


def hh_params(draw: Any) -> Any:
    if draw(st.integers(0, 9)) == 9:
        return draw(st.sampled_from([None, "taps", H.GRR(1.0, 4)]))
    try:
        ell = draw(st.integers(2, 8))
        kw: dict[str, Any] = {"protocol": draw(st.sampled_from(H.PROTOCOLS))}
        if draw(st.booleans()):
            kw["fo"] = draw(st.sampled_from(H.FREQUENCY_ORACLES))
        return H.HeavyHitterParams(draw(eps), ell, draw(st.integers(1, 4)), **kw)
    except Exception:  # noqa: BLE001
        return H.HeavyHitterParams(2.0, 6, 2)


@spec(H.HeavyHitterParams, examples=40)
def _hh_params(draw: Any) -> Call:
    kw: dict[str, Any] = {}
    for name, valid, bad in (
        ("protocol", st.sampled_from(H.PROTOCOLS), hostile()),
        ("start_bits", st.integers(0, 6), ints_any()),
        ("step_bits", st.integers(1, 4), ints_any()),
        ("shared_levels", st.integers(0, 3), ints_any()),
        ("b_shared", st.integers(1, 20), ints_any()),
        ("z_keep", numbers(-3.0, 5.0), floats_any()),
        ("b_max", st.integers(1, 20), ints_any()),
        ("z_prior", numbers(-3.0, 5.0), floats_any()),
        ("z_new", numbers(-3.0, 5.0), floats_any()),
        ("beta", numbers(0.01, 0.5), floats_any()),
        ("fo", st.sampled_from(H.FREQUENCY_ORACLES), hostile()),
        ("num_hashes", st.sampled_from(["auto", None, 5]), ints_any()),
        ("pool_seed", st.integers(0, 100), ints_any()),
        ("reports_per_user", st.integers(1, 4), ints_any()),
    ):
        if draw(st.integers(0, 3)) == 0:
            kw[name] = draw(mix(valid, bad))
    return Call((draw(mix(eps, floats_any())), draw(mix(st.integers(1, 12), ints_any())),
                 draw(mix(st.integers(1, 8), ints_any()))), kw)


def parties(draw: Any, p: Any) -> Any:
    ell = p.item_bits if isinstance(p, H.HeavyHitterParams) else 6
    party = i_arrays(st.tuples(st.integers(0, 60)), 0, 2**ell - 1)
    return draw(mix(st.one_of(party, st.lists(party, min_size=1, max_size=3)),
                    st.one_of(hostile(), st.just([]), st.just(np.array([2**ell])))))


@spec(H.find_heavy_hitters, seed=2, examples=15)
def _find(draw: Any) -> Call:
    p = hh_params(draw)
    kw: dict[str, Any] = {"backend": draw(backends())}
    if draw(st.integers(0, 4)) == 4:
        kw["aggregator"] = draw(st.sampled_from([H.chunked_aggregator(2, backend="numpy"),
                                                 None, "dask"]))
    return Call((p, parties(draw, p), draw(seeds())), kw)


def _est_zero(j: int, t: int, cand: np.ndarray) -> np.ndarray:
    return np.zeros(len(cand))


def _est_nan(j: int, t: int, cand: np.ndarray) -> np.ndarray:
    return np.full(len(cand), np.nan)


def _est_short(j: int, t: int, cand: np.ndarray) -> np.ndarray:
    return np.zeros(max(0, len(cand) - 1))


def _est_count(j: int, t: int, cand: np.ndarray) -> np.ndarray:
    return np.asarray(cand, dtype=float)


@spec(H.run_protocol, examples=15)
def _run_protocol(draw: Any) -> Call:
    p = hh_params(draw)
    sizes = draw(mix(st.lists(st.integers(1, 100), min_size=1, max_size=3),
                     st.one_of(hostile(), st.just([0]), st.just([-3]))))
    est = draw(st.sampled_from([_est_zero, _est_count, _est_nan, _est_short, None]))
    sd = draw(st.sampled_from([lambda j, t: 1.0, lambda j, t: 0.0, lambda j, t: float("nan"),
                               None]))
    return Call((p, sizes, est, sd))


@spec(H.partition_users, seed=2)
def _partition(draw: Any) -> Call:
    return Call((hh_params(draw), draw(mix(st.integers(0, 50), ints_any())), draw(seeds())))


@spec(H.treehist_threshold, finite=True)
def _treehist(draw: Any) -> Call:
    return Call((hh_params(draw), draw(mix(st.integers(1, 10**6), ints_any()))))


@spec(H.true_top_k)
def _true_top_k(draw: Any) -> Call:
    p = hh_params(draw)
    bits = draw(mix(st.integers(1, 12), ints_any()))
    return Call((parties(draw, p), draw(mix(st.integers(1, 5), ints_any())), bits))


@spec(H.chunk_rngs)
def _chunk_rngs(draw: Any) -> Call:
    return Call((draw(seeds()), draw(mix(st.integers(1, 8), ints_any()))))


def chunks(draw: Any, o: Any) -> Any:
    return draw(mix(st.lists(st.builds(lambda: None).map(lambda _: items(draw, o)),
                             max_size=3), hostile()))


@spec(H.aggregate_chunks, seed=2)
def _agg_chunks(draw: Any) -> Call:
    o = oracle(draw)
    return Call((o, chunks(draw, o), draw(seeds())), {"backend": draw(backends())})


@spec(H.chunked_aggregator)
def _chunked_agg(draw: Any) -> Call:
    return Call((draw(mix(st.integers(1, 8), ints_any())),), {"backend": draw(backends())})


@spec(H.dask_aggregator)
def _dask_agg(draw: Any) -> Call:
    return Call((None, draw(mix(st.integers(1, 8), ints_any()))),
                {"backend": draw(backends())})


@spec(H.dask_aggregate, examples=6)
def _dask_aggregate(draw: Any) -> Call:
    o = oracle(draw)
    return Call((o, draw(mix(st.lists(st.builds(lambda: None).map(lambda _: reports(draw, o)),
                                      max_size=2), hostile()))))


@spec(H.dask_perturb_aggregate, seed=2, examples=6)
def _dask_perturb(draw: Any) -> Call:
    o = oracle(draw)
    return Call((o, chunks(draw, o), draw(seeds())), {"backend": draw(backends())})


item_lists = st.one_of(st.lists(st.integers(0, 20), max_size=5), i_arrays(
    st.tuples(st.integers(0, 5)), 0, 20))


@spec(H.f1_score, finite=True)
def _f1(draw: Any) -> Call:
    return Call((draw(mix(item_lists)), draw(mix(item_lists))))


@spec(H.ncr, finite=True)
def _ncr(draw: Any) -> Call:
    return Call((draw(mix(item_lists)), draw(mix(item_lists))))


@spec(H.relative_error)
def _rel_err(draw: Any) -> Call:
    found = draw(mix(item_lists))
    n = len(found) if isinstance(found, (list, np.ndarray)) and np.ndim(found) == 1 else 2
    est = draw(mix(f_arrays(st.just((n,)), -100.0, 100.0)))
    truth = draw(mix(st.dictionaries(st.integers(0, 20), numbers(0.0, 50.0), max_size=5),
                     st.one_of(hostile(), st.just({1: 0.0}), st.just({1: np.nan}))))
    return Call((found, est, truth))


@spec(H.zipf_items, seed=3)
def _zipf(draw: Any) -> Call:
    kw: dict[str, Any] = {}
    if draw(st.booleans()):
        kw["support"] = draw(mix(st.integers(1, 100), ints_any()))
    return Call((draw(mix(st.integers(0, 200), ints_any())), draw(mix(st.integers(1, 16),
                                                                         ints_any())),
                 draw(mix(numbers(0.0, 3.0), floats_any())), draw(seeds())), kw)


demo_spec(H)


