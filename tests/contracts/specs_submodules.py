"""Contract specs: the ``__all__`` of the mechanisms' public submodules (``privacy.py``).

Functions the package re-exports are covered by the package's spec file; these are the ones
only a submodule exports (the accountant building blocks and the test oracles).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from dpkit.mechanisms.bandits import privacy as BP
from dpkit.mechanisms.continual import privacy as CP
from dpkit.mechanisms.kde import privacy as KP
from dpkit.mechanisms.rqm import privacy as RP
from dpkit.mechanisms.smoothed_rr import privacy as SP

from . import specs_bandits, specs_continual, specs_rqm
from .harness import record, spec
from .strategies import (
    Call,
    enum,
    f_arrays,
    floats_any,
    hostile,
    ints_any,
    mix,
    numbers,
)

record(RP.RDPResult, "result record of rdp_curve / rdp_curve_bruteforce")

pos = numbers(0.01, 10.0)
small_ints = st.integers(1, 64)
deltas = st.sampled_from([1e-9, 1e-6, 1e-3, 0.1, 0.5])


def f(draw: Any, valid: Any = pos) -> Any:
    return draw(mix(valid, floats_any()))


def i(draw: Any, valid: Any = small_ints) -> Any:
    return draw(mix(valid, ints_any()))


# ----------------------------------------------------------------------------- bandits.privacy
for _fn in (BP.aggregate_noise_std,):  # BP.privacy_event is the package's (specs_bandits)
    def _bp(draw: Any) -> Call:
        return Call((specs_bandits.params(draw),))
    spec(_fn)(_bp)


@spec(BP.amplification_sigma)
def _amp(draw: Any) -> Call:
    return Call((f(draw), f(draw, deltas), i(draw, st.integers(1, 12)), i(draw),
                 i(draw, st.integers(1, 1000)), f(draw)))


for _fn in (BP.covering_nodes,):
    def _cov(draw: Any) -> Call:
        return Call((i(draw, st.integers(1, 500)), i(draw, st.integers(1, 500))))
    spec(_fn)(_cov)


@spec(BP.gram_sensitivity)
def _gram(draw: Any) -> Call:
    return Call((f(draw),))


@spec(BP.joint_sensitivity)
def _joint(draw: Any) -> Call:
    return Call((f(draw), f(draw)))


@spec(BP.ldp_noise_multiplier, examples=15)
def _ldp(draw: Any) -> Call:
    return Call((f(draw, numbers(0.1, 10.0)), f(draw, deltas), i(draw, st.integers(1, 12))))


@spec(BP.legacy_code_sigma_ldp)
def _legacy(draw: Any) -> Call:
    return Call((f(draw), f(draw, deltas), i(draw, st.integers(1, 12))),
                {"feature_bound": f(draw)} if draw(st.booleans()) else {})


for _fn in (BP.lowbit_level, BP.num_levels, BP.prefix_nodes):
    def _k(draw: Any) -> Call:
        return Call((i(draw, st.integers(1, 2**40)),))
    spec(_fn)(_k)


@spec(BP.vector_sum_parameters)
def _vsum(draw: Any) -> Call:
    return Call((f(draw), f(draw, deltas), i(draw), i(draw, st.integers(1, 10**6))),
                {"scale": f(draw)} if draw(st.booleans()) else {})


# ----------------------------------------------------------------------------- continual.privacy
# CP.privacy_event is the package's privacy_event (one object): its spec is in specs_continual.


def _pattern(draw: Any) -> tuple[Any, Any, Any]:
    return (i(draw, st.integers(1, 60)), i(draw, st.integers(1, 5)), i(draw, st.integers(1, 8)))


@spec(CP.blt_pattern_norm_sq)
def _blt_pat(draw: Any) -> Call:
    th = draw(specs_continual.thetas)
    om = st.lists(numbers(0.01, 2.0), min_size=len(th), max_size=len(th))
    return Call((draw(mix(st.just(th), specs_continual.bad_pairs)),
                 draw(mix(om, specs_continual.bad_pairs))) + _pattern(draw))


@spec(CP.toeplitz_pattern_norm_sq)
def _toe_pat(draw: Any) -> Call:
    coeffs = st.one_of(f_arrays(st.tuples(st.integers(1, 60)), -2.0, 2.0),
                       st.lists(numbers(-2.0, 2.0), min_size=1, max_size=10))
    return Call((draw(mix(coeffs)),) + _pattern(draw))


# ----------------------------------------------------------------------------- kde.privacy
neighbours = enum(("add_remove", "replace_one", "replace"))  # "replace": deprecated


@spec(KP.count_event)
def _count(draw: Any) -> Call:
    return Call((f(draw), draw(neighbours)))


for _fn in (KP.neighbour_factor, KP.relation_of):
    def _nb(draw: Any) -> Call:
        return Call((draw(neighbours),))
    spec(_fn)(_nb)


scales_s = st.one_of(st.lists(pos, min_size=1, max_size=4),
                     f_arrays(st.tuples(st.integers(1, 4)), 0.01, 10.0))


@spec(KP.rff_event)
def _rff(draw: Any) -> Call:
    return Call((i(draw), draw(mix(scales_s)), draw(neighbours)))


@spec(KP.tree_event)
def _tree(draw: Any) -> Call:
    return Call((i(draw, st.integers(1, 4)), i(draw, st.integers(1, 12)), f(draw),
                 draw(mix(st.one_of(st.none(), pos), floats_any())), f(draw),
                 draw(neighbours)))


def _sum_sketch(points: Any) -> np.ndarray:
    return np.atleast_1d(np.sum(np.asarray(points, dtype=float), axis=0))


@spec(KP.sensitivity_bruteforce, examples=30)
def _brute(draw: Any) -> Call:
    d = draw(st.integers(1, 2))
    pts = f_arrays(st.tuples(st.integers(0, 4), st.just(d)), -1.0, 1.0)
    return Call((draw(mix(st.just(_sum_sketch), st.sampled_from([None, 1.0, "sum"]))),
                 draw(mix(pts)), draw(mix(pts)),
                 draw(mix(f_arrays(st.just((d,)), 0.01, 5.0))), draw(neighbours)))


# ----------------------------------------------------------------------------- rqm.privacy
orders = st.one_of(st.none(), st.lists(numbers(1.01, 64.0), min_size=1, max_size=3),
                   st.just([np.inf]))
bad_orders = st.sampled_from([[0.5], [1.0], [np.nan], [], "inf", [-2.0], np.array([[2.0]])])


for _fn in (RP.extreme_pair_curve, RP.rdp_curve, RP.rdp_curve_bruteforce):
    def _curve(draw: Any) -> Call:
        kw = {"orders": draw(mix(orders, bad_orders))} if draw(st.booleans()) else {}
        return Call((specs_rqm.params(draw),), kw)
    spec(_fn, examples=20)(_curve)


@spec(RP.grid)
def _grid(draw: Any) -> Call:
    return Call((specs_rqm.params(draw),))


@spec(RP.renyi_divergence, examples=30)
def _renyi(draw: Any) -> Call:
    p = specs_rqm.params(draw)
    x = mix(numbers(-5.0, 5.0), floats_any())
    kw = {"orders": draw(mix(orders, bad_orders))} if draw(st.booleans()) else {}
    return Call((p, draw(x), draw(x)), kw)


@spec(RP.randomized_response_bound)
def _rrb(draw: Any) -> Call:
    eps = st.one_of(numbers(0.0, 50.0), f_arrays(st.tuples(st.integers(0, 4)), 0.0, 50.0))
    return Call((draw(mix(eps)), f(draw, numbers(1.01, 1e6))))


@spec(RP.calibrate_params, examples=10)
def _calp(draw: Any) -> Call:
    ext = draw(mix(st.one_of(st.none(), numbers(0.1, 5.0)), floats_any()))
    kp = None if ext is not None and draw(st.booleans()) else draw(
        mix(st.one_of(st.none(), numbers(0.0, 0.9)), floats_any()))
    return Call((), {"epsilon": f(draw, numbers(0.1, 5.0)), "clip": f(draw, numbers(0.1, 5.0)),
                     "num_levels": i(draw, st.integers(2, 6)), "keep_prob": kp,
                     "extension": ext, "dimension": i(draw, st.integers(1, 8)),
                     "delta": draw(mix(st.one_of(st.none(), deltas), floats_any())),
                     "rounds": i(draw, st.integers(1, 8))})


# ----------------------------------------------------------------------------- smoothed_rr.privacy
@spec(SP.log_prob_laplace_cdf)
def _lap(draw: Any) -> Call:
    y = st.one_of(numbers(-1e3, 1e3), f_arrays(st.tuples(st.integers(0, 5)), -800.0, 800.0))
    return Call((draw(mix(y)),))


@spec(SP.smoothed_rr_event)
def _srr_event(draw: Any) -> Call:
    orders = st.one_of(st.none(), st.lists(numbers(1.01, 100.0), min_size=1, max_size=3),
                       st.sampled_from([[np.inf], [0.5], [np.nan], "x", []]))
    return Call((f(draw, numbers(0.01, 20.0)),
                 draw(mix(st.sampled_from([None, "replace_one"]), hostile()))),
                {"exact": draw(mix(st.booleans(), hostile())), "orders": draw(orders)})


@spec(SP.classic_rr_event)
def _crr_event(draw: Any) -> Call:
    return Call((f(draw, numbers(0.01, 20.0)),))


@spec(SP.log_ratio_grid, examples=30)
def _lrg(draw: Any) -> Call:
    sig = st.one_of(f_arrays(st.tuples(st.integers(1, 5)), -3.0, 3.0),
                    st.lists(numbers(-3.0, 3.0), min_size=1, max_size=4))
    kw = {"shift": draw(mix(st.one_of(st.none(), numbers(0.0, 3.0)), floats_any()))} \
        if draw(st.booleans()) else {}
    return Call((f(draw, numbers(0.01, 20.0)), f(draw, numbers(0.01, 5.0)),
                 draw(mix(sig, hostile()))), kw)
