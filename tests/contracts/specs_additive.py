"""Contract specs: dpkit.mechanisms.additive."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
from hypothesis import strategies as st

from dpkit.mechanisms import additive as A

from .harness import spec
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

METHODS = ("auto", "exact", "fast")
rationals = st.one_of(numbers(1e-3, 50.0), st.integers(1, 50),
                      st.builds(Fraction, st.integers(1, 200), st.integers(1, 50)))
sizes = st.one_of(st.none(), st.integers(0, 20), st.tuples(st.integers(0, 4), st.integers(0, 4)))
bad_sizes = st.one_of(ints_any(), st.sampled_from([(-1, 2), (2**40, 2**40), 2.5, "3", (1.5,)]))
shapes = st.one_of(st.just(()), st.tuples(st.integers(0, 5)),
                   st.tuples(st.integers(0, 3), st.integers(0, 3)))


def _params(cls: type, draw: Any, first: st.SearchStrategy[Any],
            second: st.SearchStrategy[Any]) -> Any:
    """A valid params record most of the time, otherwise something that is not one."""
    if draw(st.integers(0, 9)) == 9:
        return draw(st.sampled_from([None, "params", 1.0, A.GaussianParams(1.0),
                                     A.DiscreteLaplaceParams(1)]))
    try:
        return cls(draw(first), draw(second))
    except Exception:  # noqa: BLE001 (the constructor's own spec checks its errors)
        return cls(1)


for _cls in (A.GaussianParams, A.LaplaceParams):
    def _cont(draw: Any) -> Call:
        return Call((draw(mix(numbers(1e-3, 1e3), floats_any())),),
                    {"sensitivity": draw(mix(numbers(1e-3, 1e3), floats_any()))})
    spec(_cls)(_cont)

for _cls in (A.DiscreteLaplaceParams, A.DiscreteGaussianParams):
    def _disc(draw: Any) -> Call:
        scale = draw(mix(rationals, st.one_of(floats_any(), ints_any(),
                                               st.sampled_from([Fraction(-1, 2), Fraction(0),
                                                                Fraction(2**41)]))))
        return Call((scale,), {"sensitivity": draw(mix(st.integers(1, 5), ints_any()))})
    spec(_cls)(_disc)


def _cont_mech(cls: type, fn: Any) -> None:
    @spec(fn, seed="rng", finite=True)
    def _s(draw: Any) -> Call:
        p = _params(cls, draw, numbers(1e-2, 10.0), numbers(1e-2, 10.0))
        x = draw(mix(st.one_of(f_arrays(shapes, -1e6, 1e6), numbers(-1e6, 1e6))))
        return Call((p, x), {"rng": draw(seeds())})


_cont_mech(A.GaussianParams, A.gaussian_mechanism)
_cont_mech(A.LaplaceParams, A.laplace_mechanism)


def _disc_mech(cls: type, fn: Any) -> None:
    @spec(fn, seed="rng")
    def _s(draw: Any) -> Call:
        p = _params(cls, draw, rationals, st.integers(1, 3))
        x = draw(mix(st.one_of(i_arrays(shapes, -10**6, 10**6), st.integers(-100, 100),
                               f_arrays(shapes, -5.0, 5.0).map(np.round))))
        return Call((p, x), {"rng": draw(seeds()), "method": draw(enum(METHODS))})


_disc_mech(A.DiscreteLaplaceParams, A.discrete_laplace_mechanism)
_disc_mech(A.DiscreteGaussianParams, A.discrete_gaussian_mechanism)


@spec(A.sample_bernoulli_exp, seed="rng")
def _bern(draw: Any) -> Call:
    gamma = draw(mix(st.one_of(rationals, st.just(0), st.just(Fraction(0))),
                     st.one_of(hostile(), st.sampled_from([Fraction(-1), Fraction(10**30, 3)]))))
    return Call((gamma, draw(mix(sizes, bad_sizes))),
                {"rng": draw(seeds()), "method": draw(enum(METHODS))})


for _fn in (A.sample_discrete_laplace, A.sample_discrete_gaussian):
    def _samp(draw: Any) -> Call:
        scale = draw(mix(rationals, st.one_of(hostile(), st.sampled_from(
            [Fraction(-1), Fraction(2**41), Fraction(10**20, 10**20 - 1)]))))
        return Call((scale, draw(mix(sizes, bad_sizes))),
                    {"rng": draw(seeds()), "method": draw(enum(METHODS))})
    spec(_fn, seed="rng")(_samp)
