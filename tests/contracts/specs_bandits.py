"""Contract specs: dpkit.mechanisms.bandits."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from dpkit.mechanisms import bandits as B

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

record(B.SyntheticEnvironment, "environment record built (and validated) by "
       "synthetic_environment")
record(B.MatrixEnvironment, "environment record built (and validated) by matrix_environment")
record(B.SimulationResult, "result record of simulate")


def params(draw: Any) -> Any:
    if draw(st.integers(0, 9)) == 9:
        return draw(st.sampled_from([None, "silo_ldp", 1.0]))
    proto = draw(st.sampled_from(B.PROTOCOLS))
    kw: dict[str, Any] = {}
    if proto != "none":
        kw["epsilon"] = draw(numbers(0.1, 10.0))
        kw["delta"] = draw(st.sampled_from([1e-6, 1e-3, 0.1]))
    if draw(st.booleans()):
        kw["strict"] = draw(st.booleans())
    if draw(st.booleans()):
        kw["lambda_rule"] = draw(st.sampled_from(["safe", "code"]))
    T = draw(st.integers(1, 12))
    try:
        return B.BanditParams(draw(st.integers(1, 3)), draw(st.integers(1, 4)),
                              draw(st.integers(1, 3)), T, draw(st.integers(1, T)), proto, **kw)
    except Exception:  # noqa: BLE001
        return B.BanditParams(2, 3, 2, 8, 2, "none")


@spec(B.BanditParams, examples=40)
def _params(draw: Any) -> Call:
    kw: dict[str, Any] = {}
    for name, valid, bad in (
        ("epsilon", numbers(0.1, 10.0), floats_any()),
        ("delta", numbers(1e-9, 0.5), floats_any()),
        ("feature_bound", numbers(0.1, 5.0), floats_any()),
        ("reward_bound", numbers(0.1, 5.0), floats_any()),
        ("param_bound", numbers(0.1, 5.0), floats_any()),
        ("noise_scale", numbers(0.0, 2.0), floats_any()),
        ("alpha", numbers(0.001, 0.5), floats_any()),
        ("radius_scale", numbers(0.1, 3.0), floats_any()),
        ("radius", numbers(0.0, 3.0), floats_any()),
        ("regularization", numbers(0.1, 10.0), floats_any()),
        ("lambda_rule", st.sampled_from(["safe", "code"]), hostile()),
        ("strict", st.booleans(), hostile()),
        ("vector_sum_scale", numbers(0.1, 3.0), floats_any()),
    ):
        if draw(st.integers(0, 3)) == 0:
            kw[name] = draw(mix(valid, bad))
    sizes = tuple(draw(mix(st.integers(1, 6), ints_any())) for _ in range(5))
    return Call((*sizes, draw(enum(B.PROTOCOLS))), kw)


def environment(draw: Any, p: Any) -> Any:
    if not isinstance(p, B.BanditParams) or draw(st.integers(0, 7)) == 7:
        return draw(st.one_of(hostile(), st.just(B.synthetic_environment(2, 2, 1, 3, 0))))
    T, M, K, d = p.horizon, p.num_silos, p.num_arms, p.dim
    if d >= 2 and draw(st.booleans()):
        return B.synthetic_environment(d, K, M, T, draw(st.integers(0, 9)))
    feats = draw(f_arrays(st.just((T, M, K, d)), -2.0, 2.0))
    return B.matrix_environment(feats, draw(f_arrays(st.just((T, M, K)), -1.0, 1.0)))


@spec(B.simulate, seed=2, examples=25)
def _simulate(draw: Any) -> Call:
    p = params(draw)
    return Call((p, environment(draw, p), draw(seeds())),
                {"backend": draw(backends()), "progress": draw(mix(st.just(False), hostile()))})


@spec(B.synthetic_environment, seed=4)
def _synth(draw: Any) -> Call:
    sizes = tuple(draw(mix(st.integers(1, 6), ints_any())) for _ in range(4))
    return Call((*sizes, draw(seeds())),
                {"noise_std": draw(mix(numbers(0.0, 2.0), floats_any()))})


@spec(B.matrix_environment)
def _matrix(draw: Any) -> Call:
    shape = draw(st.tuples(*(st.integers(1, 3) for _ in range(4))))
    feats = draw(mix(f_arrays(st.just(shape), -2.0, 2.0)))
    means = draw(mix(f_arrays(st.just(shape[:3]), -1.0, 1.0),
                     st.one_of(hostile(), f_arrays(st.just(shape[:2]), -1.0, 1.0))))
    return Call((feats, means), {"noise_std": draw(mix(numbers(0.0, 2.0), floats_any()))})


for _fn in (B.privacy_event, B.silo_level_event, B.claimed_event):
    def _p_only(draw: Any) -> Call:
        return Call((params(draw),))
    spec(_fn)(_p_only)


@spec(B.confidence_radius, finite=True)
def _radius(draw: Any) -> Call:
    t = draw(mix(st.one_of(st.integers(1, 100), f_arrays(st.tuples(st.integers(0, 4)), 1.0,
                                                          100.0)), st.one_of(
        hostile(), st.just(np.array([-1.0])), st.just(0))))
    lam = draw(st.one_of(st.none(), mix(numbers(0.1, 10.0), floats_any())))
    return Call((params(draw), t, lam))


@spec(B.tree_release, seed=3)
def _tree_release(draw: Any) -> Call:
    kb, d = draw(st.integers(0, 5)), draw(st.integers(1, 3))
    gram = draw(mix(f_arrays(st.just((kb, d, d)), -2.0, 2.0).map(
        lambda g: g + np.swapaxes(g, -1, -2))))
    vec = draw(mix(f_arrays(st.just((kb, d)), -2.0, 2.0)))
    size = draw(st.one_of(st.none(), mix(st.integers(1, 3), ints_any())))
    return Call((gram, vec, draw(mix(numbers(0.0, 3.0), floats_any())), draw(seeds()), size))


@spec(B.ShuffleClaim)
def _claim(draw: Any) -> Call:
    return Call((draw(mix(numbers(0.0, 10.0), floats_any())),
                 draw(mix(numbers(0.0, 0.5), floats_any()))),
                {"relation": draw(mix(st.sampled_from(["replace_one", "add_remove", None]),
                                      st.sampled_from(["", "replace", 1, 2.5, b"x", [],
                                                       np.array([]), np.array(["x"])])))})


demo_spec(B)
