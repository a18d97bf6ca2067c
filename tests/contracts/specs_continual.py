"""Contract specs: dpkit.mechanisms.continual and continual.selection."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from dpkit.mechanisms import continual as C
from dpkit.mechanisms.continual import selection as S

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

record(C.CounterState, "the state record returned by init/step; step's spec feeds it "
       "corrupted states")
record(C.ParticipationSensitivity, "result record of participation_sensitivity")

horizons = st.integers(1, 40)
bad_horizons = st.one_of(ints_any(), st.sampled_from([C.MAX_HORIZON + 1, 2.5, np.nan]))


def params(draw: Any, *, small: bool = True) -> Any:
    """A valid CounterParams (mostly), else a wrong object."""
    if draw(st.integers(0, 9)) == 9:
        return draw(st.sampled_from([None, "tree", 1.0, S.SelectionParams(
            "maxsum", "svt", 8, 2, 1.0)]))
    kind = draw(st.sampled_from(C.KINDS))
    kw: dict[str, Any] = {"dimension": draw(st.integers(1, 3)),
                          "bound": draw(numbers(0.1, 5.0)),
                          "relation": draw(st.sampled_from(["replace_one", "add_remove"])),
                          "clip": draw(st.booleans())}
    if kind in ("tree", "honaker") and draw(st.booleans()):
        kw["epsilon"] = draw(numbers(0.1, 5.0))
    else:
        kw["noise_multiplier"] = draw(numbers(0.1, 5.0))
    if draw(st.integers(0, 3)) == 0:
        kw["participations"] = draw(st.integers(1, 4))
        kw["min_separation"] = draw(st.integers(1, 6))
    try:
        return C.CounterParams(kind, draw(horizons), **kw)
    except Exception:  # noqa: BLE001 (the constructor's own spec checks its errors)
        return C.CounterParams("tree", 8, noise_multiplier=1.0)


@spec(C.CounterParams, examples=40)
def _params(draw: Any) -> Call:
    kw: dict[str, Any] = {}
    for name, valid, bad in (
        ("noise_multiplier", numbers(0.01, 10.0), floats_any()),
        ("epsilon", numbers(0.01, 10.0), floats_any()),
        ("dimension", st.integers(1, 4), ints_any()),
        ("bound", numbers(0.01, 10.0), floats_any()),
        ("relation", st.sampled_from(["replace_one", "add_remove"]), hostile()),
        ("clip", st.booleans(), hostile()),
        ("blt_buffers", st.integers(1, 10), ints_any()),
        ("participations", st.integers(1, 5), ints_any()),
        ("min_separation", st.integers(1, 8), ints_any()),
        ("blt_theta", st.lists(numbers(0.01, 0.99), min_size=1, max_size=3).map(tuple),
         hostile()),
        ("blt_omega", st.lists(numbers(0.01, 2.0), min_size=1, max_size=3).map(tuple),
         hostile()),
    ):
        if draw(st.booleans()):
            kw[name] = draw(mix(valid, bad))
    return Call((draw(enum(C.KINDS)), draw(mix(horizons, bad_horizons))), kw)


@spec(C.init)
def _init(draw: Any) -> Call:
    return Call((params(draw),))


def item(draw: Any, p: Any) -> Any:
    d = p.dimension if isinstance(p, C.CounterParams) else 1
    valid = numbers(-1.0, 1.0) if d == 1 else f_arrays(st.just((d,)), -1.0, 1.0)
    return draw(mix(st.one_of(valid, f_arrays(st.just((d,)), -50.0, 50.0))))


def state(draw: Any, p: Any) -> Any:
    """The state after a few valid steps, sometimes corrupted (wrong t, shapes, NaN)."""
    if not isinstance(p, C.CounterParams):
        return C.init(C.CounterParams("tree", 4, noise_multiplier=1.0))
    st0 = C.init(p)
    for _ in range(draw(st.integers(0, min(3, p.horizon - 1)))):
        st0, _ = C.step(p, st0, np.zeros(p.dimension) if p.dimension > 1 else 0.0, 0)
    how = draw(st.integers(0, 7))
    if how == 7:
        return draw(hostile())
    if how == 6:
        return st0._replace(t=draw(st.one_of(ints_any(), floats_any(), st.just("1"))))
    if how == 5:
        field = draw(st.sampled_from(C.CounterState._fields[1:]))
        return st0._replace(**{field: draw(st.one_of(
            st.just(np.full((2, 7), np.nan)), st.just(np.zeros((1, 9))), hostile()))})
    return st0


@spec(C.step, seed=3)
def _step(draw: Any) -> Call:
    p = params(draw)
    return Call((p, state(draw, p), item(draw, p), draw(seeds())))


@spec(C.advance)
def _advance(draw: Any) -> Call:
    p = params(draw)
    s = state(draw, p)
    d = p.dimension if isinstance(p, C.CounterParams) else 1
    t = (s.t + 1) if isinstance(s, C.CounterState) and isinstance(s.t, int) else 1
    ok = isinstance(p, C.CounterParams) and 1 <= t <= p.horizon
    rows = C.noise_rows(p, t) if ok else 1
    noise = draw(mix(f_arrays(st.just((rows, d))), st.one_of(
        hostile(), f_arrays(st.just((rows + 1, d))))))
    return Call((p, s, item(draw, p), noise))


@spec(C.noise_rows)
def _noise_rows(draw: Any) -> Call:
    return Call((params(draw), draw(mix(st.integers(1, 40), bad_horizons))))


def stream(draw: Any, p: Any) -> Any:
    d = p.dimension if isinstance(p, C.CounterParams) else 1
    T = p.horizon if isinstance(p, C.CounterParams) else 4
    n = st.integers(0, T)
    valid = (f_arrays(st.tuples(n), -1.0, 1.0) if d == 1
             else f_arrays(st.tuples(n, st.just(d)), -1.0 / d, 1.0 / d))
    return draw(mix(st.one_of(valid, f_arrays(st.tuples(st.integers(0, T + 2), st.just(d)),
                                              -30.0, 30.0))))


@spec(C.run, seed=2, finite=True)
def _run(draw: Any) -> Call:
    p = params(draw)
    return Call((p, stream(draw, p), draw(seeds())), {"backend": draw(backends())})


@spec(C.run_with_noise, finite=True)
def _run_with_noise(draw: Any) -> Call:
    p = params(draw)
    xs = stream(draw, p)
    d = p.dimension if isinstance(p, C.CounterParams) else 1
    T = np.shape(xs)[0] if isinstance(xs, np.ndarray) and xs.ndim >= 1 else 0
    rows = (2 * T - bin(T).count("1") if isinstance(p, C.CounterParams)
            and p.kind == "honaker" else T)
    noise = draw(mix(f_arrays(st.just((rows, d))), st.one_of(
        hostile(), f_arrays(st.just((rows + 1, d))))))
    return Call((p, xs, noise), {"backend": draw(backends())})


@spec(C.expected_variance, finite=True)
def _exp_var(draw: Any) -> Call:
    t = draw(mix(st.one_of(st.integers(1, 40), st.lists(st.integers(1, 40), max_size=4).map(
        np.array)), st.one_of(bad_horizons, hostile(), st.just(np.array([1e300])),
                             st.just(np.array([2**63 - 1], dtype=np.uint64)))))
    return Call((params(draw), t))


for _fn in (C.max_variance, C.privacy_event, C.sensitivity_factor, C.l1_sensitivity_factor,
            C.participation_sensitivity):
    def _p_only(draw: Any) -> Call:
        return Call((params(draw),))
    spec(_fn)(_p_only)


@spec(C.blt_sqrt_parameters)
def _blt_sqrt(draw: Any) -> Call:
    return Call((draw(mix(st.integers(1, 10**6), bad_horizons)),
                 draw(mix(st.integers(1, 64), ints_any()))))


thetas = st.lists(numbers(0.01, 0.99), min_size=1, max_size=4)
omegas = st.lists(numbers(0.01, 2.0), min_size=1, max_size=4)
bad_pairs = st.one_of(hostile(), st.just([1.0]), st.just([0.0]), st.just([-0.5]),
                      st.just([[0.5]]), st.just([0.5] * 65))


@spec(C.blt_inverse_parameters)
def _blt_inv(draw: Any) -> Call:
    return Call((draw(mix(thetas, bad_pairs)), draw(mix(omegas, bad_pairs))))


@spec(C.blt_coefficients)
def _blt_coef(draw: Any) -> Call:
    th = draw(thetas)
    return Call((draw(mix(st.just(th), bad_pairs)),
                 draw(mix(st.lists(numbers(0.01, 2.0), min_size=len(th), max_size=len(th)),
                          bad_pairs)),
                 draw(mix(st.integers(0, 50), bad_horizons))))


@spec(C.blt_column_norm_sq)
def _blt_norm(draw: Any) -> Call:
    th = draw(thetas)
    return Call((draw(mix(st.just(th), bad_pairs)),
                 draw(mix(st.lists(numbers(0.01, 2.0), min_size=len(th), max_size=len(th)),
                          bad_pairs)),
                 draw(mix(st.integers(1, 10**9), bad_horizons))))


@spec(C.sqrt_coefficients)
def _sqrt_coef(draw: Any) -> Call:
    return Call((draw(mix(st.integers(0, 100), bad_horizons)),))


@spec(C.sqrt_column_norm_sq)
def _sqrt_norm(draw: Any) -> Call:
    return Call((draw(mix(st.integers(1, 100), bad_horizons)),))


@spec(C.tree_levels)
def _tree_levels(draw: Any) -> Call:
    return Call((draw(mix(st.integers(1, 2**40), bad_horizons)),))


@spec(C.effective_participations)
def _eff(draw: Any) -> Call:
    return Call(tuple(draw(mix(st.integers(1, 100), bad_horizons)) for _ in range(3)))


demo_spec(C)


# ----------------------------------------------------------------------------- selection
def sel_params(draw: Any) -> Any:
    if draw(st.integers(0, 9)) == 9:
        return draw(st.sampled_from([None, "svt", C.CounterParams("tree", 4,
                                                                   noise_multiplier=1.0)]))
    kw: dict[str, Any] = {}
    method = draw(st.sampled_from(["svt", "counters"]))
    if method == "counters" and draw(st.booleans()):
        kw["counter_kind"] = draw(st.sampled_from(C.KINDS))
    if method == "svt" and draw(st.booleans()):
        kw["svt_refreshes"] = draw(st.integers(1, 4))
        kw["svt_threshold"] = draw(numbers(0.0, 5.0))
    try:
        return S.SelectionParams(draw(st.sampled_from(["maxsum", "select"])), method,
                                 draw(st.integers(1, 12)), draw(st.integers(1, 3)),
                                 draw(numbers(0.01, 5.0)), **kw)
    except Exception:  # noqa: BLE001
        return S.SelectionParams("maxsum", "svt", 8, 2, 1.0)


@spec(S.SelectionParams, examples=30)
def _sel_params(draw: Any) -> Call:
    kw: dict[str, Any] = {}
    if draw(st.booleans()):
        kw["beta"] = draw(mix(numbers(0.01, 0.5), floats_any()))
    if draw(st.booleans()):
        kw["counter_kind"] = draw(enum(C.KINDS))
    if draw(st.booleans()):
        kw["svt_refreshes"] = draw(mix(st.integers(1, 5), ints_any()))
        kw["svt_threshold"] = draw(mix(numbers(0.0, 5.0), floats_any()))
    return Call((draw(enum(("maxsum", "select"))), draw(enum(("svt", "counters"))),
                 draw(mix(st.integers(1, 20), bad_horizons)),
                 draw(mix(st.integers(1, 4), ints_any())),
                 draw(mix(numbers(0.01, 5.0), floats_any()))), kw)


@spec(S.svt_parameters)
def _svt(draw: Any) -> Call:
    return Call((draw(mix(st.integers(1, 10**6), bad_horizons)),
                 draw(mix(numbers(1e-3, 10.0), floats_any())),
                 draw(mix(numbers(1e-3, 0.5), floats_any()))))


@spec(S.selection_event)
def _sel_event(draw: Any) -> Call:
    return Call((sel_params(draw),))


def sel_stream(draw: Any, p: Any) -> Any:
    T = p.horizon if isinstance(p, S.SelectionParams) else 4
    d = p.dimension if isinstance(p, S.SelectionParams) else 2
    valid = st.builds(lambda a: a.astype(np.float64), st.lists(
        st.lists(st.integers(0, 1), min_size=d, max_size=d), min_size=0, max_size=T).map(
            lambda rows: np.array(rows, dtype=np.int64).reshape(-1, d)))
    return draw(mix(valid, st.one_of(hostile(), st.just(np.full((T, d), 0.5)),
                                     st.just(np.ones((T + 1, d))), st.just(np.ones((T, d + 1))))))


@spec(S.run_selection, seed=2)
def _run_sel(draw: Any) -> Call:
    p = sel_params(draw)
    return Call((p, sel_stream(draw, p), draw(seeds())))


@spec(S.run_selection_batch, seed=3)
def _run_sel_batch(draw: Any) -> Call:
    p = sel_params(draw)
    return Call((p, sel_stream(draw, p), draw(mix(st.integers(1, 5), ints_any())),
                 draw(seeds())))
