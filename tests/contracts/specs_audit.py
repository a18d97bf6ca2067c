"""Contract specs: dpkit.audit."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from dpkit import audit as A

from .harness import record, spec
from .strategies import (
    Call,
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

record(A.AuditResult, "result record of audit_samples / audit_mechanism")

KINDS = ("auto", "discrete", "continuous")


@spec(A.AuditEvent)
def _event(draw: Any) -> Call:
    return Call((draw(enum(("<=", ">=", "==", "<", ">"))), draw(mix(numbers(-5.0, 5.0),
                                                                    floats_any())),
                 draw(mix(st.booleans(), hostile()))))


@spec(A.clopper_pearson, finite=True)
def _cp(draw: Any) -> Call:
    n = draw(mix(st.integers(1, 1000), ints_any()))
    hi = n if isinstance(n, int) and 1 <= n <= 1000 else 10
    k = draw(mix(st.one_of(st.integers(0, hi), i_arrays(st.tuples(st.integers(0, 4)), 0, hi)),
                 st.one_of(hostile(), st.just(hi + 1), st.just(-1), st.just(0.5))))
    return Call((k, n, draw(mix(numbers(1e-9, 0.5), floats_any()))))


def samples(draw: Any, n: int) -> Any:
    valid = st.one_of(i_arrays(st.just((n,)), 0, 3), f_arrays(st.just((n,)), -3.0, 3.0),
                      st.just(np.zeros(n, dtype=bool)))
    return draw(mix(valid, st.one_of(hostile(), f_arrays(st.just((n + 1,))),
                                     st.just(np.full(n, np.nan)))))


def opts(draw: Any) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    if draw(st.booleans()):
        kw["delta"] = draw(mix(numbers(0.0, 0.5), floats_any()))
    if draw(st.booleans()):
        kw["beta"] = draw(mix(numbers(1e-9, 0.5), floats_any()))
    if draw(st.booleans()):
        kw["kind"] = draw(enum(KINDS))
    return kw


@spec(A.audit_samples)
def _samples(draw: Any) -> Call:
    n = draw(st.integers(15, 60))
    kw = opts(draw)
    if draw(st.booleans()):
        kw["top"] = draw(mix(st.integers(1, 4), ints_any()))
    return Call((samples(draw, n), samples(draw, n)), kw)


def _laplace(x: Any, n: int, g: Any) -> np.ndarray:
    return x + g.laplace(0.0, 1.0, n)


def _bits(x: Any, n: int, g: Any) -> np.ndarray:
    return np.where(g.random(n) < 0.75, x, 1 - x)


def _wrong_shape(x: Any, n: int, g: Any) -> np.ndarray:
    return np.zeros((n, 2))


def _nan(x: Any, n: int, g: Any) -> np.ndarray:
    return np.full(n, np.nan)


@spec(A.audit_mechanism, seed=4)
def _mechanism(draw: Any) -> Call:
    fn = draw(mix(st.sampled_from([_laplace, _bits]),
                  st.sampled_from([_wrong_shape, _nan, None, "f"])))
    return Call((fn, draw(st.sampled_from([0, 1])), draw(st.sampled_from([0, 1])),
                 draw(mix(st.integers(20, 200), ints_any())), draw(seeds())), opts(draw))
