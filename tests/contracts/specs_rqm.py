"""Contract specs: dpkit.mechanisms.rqm."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from dpkit.mechanisms import rqm as R

from .harness import demo_spec, spec
from .strategies import (
    Call,
    backends,
    enum,
    f_arrays,
    floats_any,
    hostile,
    i_arrays,
    ints_any,
    mix,
    numbers,
    seeds,
)

shapes = st.one_of(st.just(()), st.tuples(st.integers(0, 6)),
                   st.tuples(st.integers(0, 3), st.integers(0, 3)))
levels = st.integers(2, 12)


def params(draw: Any) -> Any:
    if draw(st.integers(0, 9)) == 9:
        return draw(st.sampled_from([None, "rqm", 1.0, (1.0, 1.0, 4, 0.5)]))
    try:
        return R.RQMParams(draw(numbers(1e-3, 10.0)), draw(numbers(1e-3, 10.0)), draw(levels),
                           draw(numbers(0.0, 0.99)))
    except Exception:  # noqa: BLE001 (e.g. clip + extension == clip in floating point)
        return R.RQMParams(1.0, 1.0, 4, 0.5)


def xs(draw: Any) -> Any:
    return draw(mix(st.one_of(f_arrays(shapes, -20.0, 20.0), numbers(-5.0, 5.0))))


@spec(R.RQMParams)
def _params(draw: Any) -> Call:
    return Call((draw(mix(numbers(1e-3, 10.0), floats_any())),
                 draw(mix(numbers(1e-3, 10.0), floats_any())),
                 draw(mix(levels, st.one_of(ints_any(), st.just(R.MAX_LEVELS + 1)))),
                 draw(mix(numbers(0.0, 0.99), floats_any()))))


@spec(R.quantize, seed="rng")
def _quantize(draw: Any) -> Call:
    return Call((params(draw), xs(draw)), {"rng": draw(seeds()), "backend": draw(backends())})


@spec(R.quantize_reference, seed="rng")
def _quantize_ref(draw: Any) -> Call:
    return Call((params(draw), xs(draw)),
                {"rng": draw(seeds()), "sampler": draw(enum(("walk", "mask")))})


def indices(draw: Any, p: Any) -> Any:
    m = p.num_levels if isinstance(p, R.RQMParams) else 4
    return draw(mix(st.one_of(i_arrays(shapes, 0, m - 1),
                              i_arrays(st.tuples(st.integers(1, 4), st.integers(0, 3)), 0, m - 1),
                              st.sampled_from([np.array([m]), np.array([-1]),
                                               np.array([0.5]), np.array([2**40])]))))


for _fn in (R.decode, R.aggregate):
    def _dec(draw: Any) -> Call:
        p = params(draw)
        return Call((p, indices(draw, p)))
    spec(_fn)(_dec)


@spec(R.aggregate_sums)
def _agg_sums(draw: Any) -> Call:
    p = params(draw)
    return Call((p, draw(mix(st.one_of(i_arrays(shapes, 0, 100), st.integers(0, 100)))),
                 draw(mix(st.integers(1, 50), ints_any()))))


for _fn in (R.pmf, R.log_pmf, R.variance):
    def _pmf(draw: Any) -> Call:
        return Call((params(draw), xs(draw)))
    spec(_fn)(_pmf)


@spec(R.privacy_event, examples=15)
def _event(draw: Any) -> Call:
    kw: dict[str, Any] = {}
    if draw(st.booleans()):
        kw["client_sample_rate"] = draw(mix(numbers(0.0, 1.0), floats_any()))
        kw["unreviewed_amplification"] = draw(mix(st.booleans(), hostile()))
    return Call((params(draw), draw(mix(st.integers(1, 1000), ints_any()))), kw)


orders = st.one_of(st.none(), st.lists(numbers(1.01, 200.0), min_size=1, max_size=4),
                   st.just([np.inf]))


@spec(R.rdp, examples=15)
def _eps(draw: Any) -> Call:
    return Call((params(draw),),
                {"orders": draw(mix(orders, st.sampled_from([[0.5], [1.0], [np.nan], [],
                                                             "inf", [-2.0]])))})


@spec(R.calibrate, examples=10)
def _cal(draw: Any) -> Call:
    kw: dict[str, Any] = {
        "epsilon": draw(mix(numbers(0.1, 5.0), floats_any())),
        "clip": draw(mix(numbers(0.1, 5.0), floats_any())),
        "num_levels": draw(mix(st.integers(2, 6), ints_any())),
    }
    which = draw(st.sampled_from(["keep_prob", "extension", "both", "neither"]))
    if which in ("keep_prob", "both"):
        kw["keep_prob"] = draw(mix(numbers(0.0, 0.9), floats_any()))
    if which in ("extension", "both"):
        kw["extension"] = draw(mix(numbers(0.1, 5.0), floats_any()))
    if draw(st.booleans()):
        kw["delta"] = draw(mix(st.sampled_from([1e-6, 1e-3]), floats_any()))
    if draw(st.booleans()):
        kw["dimension"] = draw(mix(st.integers(1, 8), ints_any()))
    if draw(st.booleans()):
        kw["rounds"] = draw(mix(st.integers(1, 8), ints_any()))
    return Call((), kw)


demo_spec(R)
