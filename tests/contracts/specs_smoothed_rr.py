"""Contract specs: dpkit.mechanisms.smoothed_rr and smoothed_rr.sequential."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from dpkit.mechanisms import smoothed_rr as R
from dpkit.mechanisms.smoothed_rr import sequential as Q

from .harness import demo_spec, record, spec
from .strategies import (
    Call,
    backends,
    enum,
    f_arrays,
    floats_any,
    hostile,
    ints_any,
    mix,
    numbers,
    seeds,
)

record(R.SequentialResult, "result record of the sequential-learning simulations")
record(R.CascadeTheory, "result record of cascade_theory")

eps = numbers(0.01, 20.0)
shapes = st.one_of(st.just(()), st.tuples(st.integers(0, 6)),
                   st.tuples(st.integers(0, 3), st.integers(0, 3)))
clips = st.one_of(st.none(), st.tuples(numbers(-5.0, 0.0), numbers(0.1, 5.0)))


def smooth(draw: Any) -> Any:
    if draw(st.integers(0, 9)) == 9:
        return draw(st.sampled_from([None, 1.0, "smoothed", R.ClassicRRParams(1.0)]))
    clip = draw(clips)
    try:
        sens = (clip[1] - clip[0]) if clip else draw(numbers(0.1, 5.0))
        return R.SmoothedRRParams(draw(eps), draw(numbers(-2.0, 2.0)), sens, clip)
    except Exception:  # noqa: BLE001
        return R.SmoothedRRParams(1.0)


def classic(draw: Any) -> Any:
    if draw(st.integers(0, 9)) == 9:
        return draw(st.sampled_from([None, 1.0, R.SmoothedRRParams(1.0)]))
    return R.ClassicRRParams(draw(eps), draw(numbers(-2.0, 2.0)))


def signal(draw: Any) -> Any:
    return draw(mix(st.one_of(f_arrays(shapes, -1e6, 1e6), numbers(-10.0, 10.0))))


def threshold(draw: Any) -> Any:
    return draw(st.one_of(st.none(), st.none(), numbers(-3.0, 3.0), hostile()))


@spec(R.SmoothedRRParams)
def _sp(draw: Any) -> Call:
    return Call((draw(mix(eps, floats_any())), draw(mix(numbers(-5.0, 5.0), floats_any())),
                 draw(mix(numbers(0.01, 10.0), floats_any())),
                 draw(mix(clips, st.one_of(hostile(), st.tuples(floats_any(), floats_any()),
                                           st.just((1.0, 0.0)), st.just((0.0, 1.0, 2.0)))))))


@spec(R.ClassicRRParams)
def _cp(draw: Any) -> Call:
    return Call((draw(mix(eps, floats_any())), draw(mix(numbers(-5.0, 5.0), floats_any()))))


@spec(R.respond, seed=2)
def _respond(draw: Any) -> Call:
    return Call((smooth(draw), signal(draw), draw(seeds())),
                {"threshold": threshold(draw), "method": draw(enum(("flip", "laplace"))),
                 "backend": draw(backends())})


@spec(R.respond_reference, seed=2)
def _respond_reference(draw: Any) -> Call:
    return Call((smooth(draw), signal(draw), draw(seeds())),
                {"threshold": threshold(draw), "method": draw(enum(("flip", "laplace")))})


@spec(R.respond_classic, seed=2)
def _respond_classic(draw: Any) -> Call:
    return Call((classic(draw), signal(draw), draw(seeds())), {"threshold": threshold(draw)})


for _fn in (R.flip_probability, R.prob_positive):
    def _prob(draw: Any) -> Call:
        return Call((smooth(draw), signal(draw)), {"threshold": threshold(draw)})
    spec(_fn, finite=True)(_prob)


orders = st.one_of(st.none(), st.lists(numbers(1.01, 100.0), min_size=1, max_size=3),
                   st.sampled_from([[np.inf], [0.5], [1.0], [np.nan], "x", [], [[2.0]]]))


@spec(R.privacy_event)
def _event(draw: Any) -> Call:
    return Call((smooth(draw),), {"exact": draw(mix(st.booleans(), hostile())),
                                  "orders": draw(orders)})


@spec(R.rdp_exact)
def _rdp_exact(draw: Any) -> Call:
    return Call((draw(mix(eps, floats_any())),), {"orders": draw(orders)})


@spec(R.rdp_rr_bound)
def _rdp_rr(draw: Any) -> Call:
    return Call((draw(mix(eps, floats_any())), draw(st.one_of(orders.filter(
        lambda o: o is not None), st.just([2.0])))))


def checkpoints(draw: Any, n: Any) -> Any:
    hi = n if isinstance(n, int) and 1 <= n <= 40 else 5
    return draw(st.one_of(st.none(), st.none(), st.lists(st.integers(1, hi), max_size=3),
                          hostile()))


@spec(R.simulate_sequential_learning, seed="rng", examples=25)
def _seq(draw: Any) -> Call:
    n = draw(mix(st.integers(1, 30), ints_any()))
    mech = draw(enum(Q.MECHANISMS))
    kw: dict[str, Any] = {"mechanism": mech, "rng": draw(seeds()),
                          "backend": draw(backends()), "progress": False}
    if mech != "none" or draw(st.booleans()):
        kw["epsilon"] = draw(mix(eps, floats_any()))
    for name, valid, bad in (("sensitivity", numbers(0.1, 5.0), floats_any()),
                             ("sigma", numbers(0.1, 5.0), floats_any()),
                             ("signal", st.sampled_from(["gaussian", "binary"]), hostile()),
                             ("p", numbers(0.51, 0.99), floats_any()),
                             ("theta", st.sampled_from([-1, 1]), ints_any()),
                             ("initial_belief", numbers(-5.0, 5.0), floats_any()),
                             ("keep_paths", st.booleans(), hostile())):
        if draw(st.integers(0, 3)) == 0:
            kw[name] = draw(mix(valid, bad))
    kw["checkpoints"] = checkpoints(draw, n)
    return Call((n, draw(mix(st.integers(1, 6), ints_any()))), kw)


@spec(R.simulate_binary_cascade, seed="rng", examples=25)
def _cascade(draw: Any) -> Call:
    n = draw(mix(st.integers(1, 30), ints_any()))
    kw: dict[str, Any] = {"p": draw(mix(numbers(0.51, 0.99), floats_any())),
                          "epsilon": draw(st.one_of(st.none(), mix(eps, floats_any()))),
                          "rng": draw(seeds()), "checkpoints": checkpoints(draw, n)}
    for name, valid, bad in (("theta", st.sampled_from([-1, 1]), ints_any()),
                             ("initial_belief", numbers(-5.0, 5.0), floats_any()),
                             ("keep_paths", st.booleans(), hostile())):
        if draw(st.integers(0, 3)) == 0:
            kw[name] = draw(mix(valid, bad))
    return Call((n, draw(mix(st.integers(1, 6), ints_any()))), kw)


@spec(R.cascade_theory, finite=True)
def _cascade_theory(draw: Any) -> Call:
    return Call((draw(mix(numbers(0.51, 0.99), floats_any())),
                 draw(st.one_of(st.none(), mix(eps, floats_any())))))


@spec(R.asymptotic_constant)
def _asym(draw: Any) -> Call:
    return Call((draw(mix(numbers(0.01, 5.0), floats_any())),
                 draw(mix(numbers(0.1, 3.0), floats_any()))))


@spec(R.report_log_likelihood)
def _rll(draw: Any) -> Call:
    mech = draw(enum(Q.MECHANISMS))
    kw: dict[str, Any] = {"mechanism": mech,
                          "sigma": draw(mix(numbers(0.1, 5.0), floats_any())),
                          "sensitivity": draw(mix(numbers(0.1, 5.0), floats_any()))}
    if mech != "none" or draw(st.booleans()):
        kw["epsilon"] = draw(mix(eps, floats_any()))
    report = draw(mix(st.one_of(st.sampled_from([-1, 1]), st.lists(
        st.sampled_from([-1, 1]), max_size=4).map(np.array)), st.one_of(
            hostile(), st.just(np.array([0, 2])))))
    belief = draw(mix(st.one_of(numbers(-50.0, 50.0), f_arrays(st.tuples(st.integers(0, 4)),
                                                                -1e3, 1e3))))
    return Call((report, belief, draw(mix(st.sampled_from([-1, 1]), ints_any()))), kw)


@spec(Q.log_report_probs)
def _lrp(draw: Any) -> Call:
    mech = draw(enum(Q.MECHANISMS))
    return Call((draw(mix(st.one_of(numbers(-50.0, 50.0), f_arrays(st.tuples(
        st.integers(0, 4)), -1e3, 1e3)))), draw(mix(st.sampled_from([-1.0, 1.0]))),
                 draw(mix(numbers(0.1, 5.0))), mech, draw(mix(numbers(0.0, 5.0))),
                 draw(mix(numbers(0.0, 0.5)))))


demo_spec(R)
