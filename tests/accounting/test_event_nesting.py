"""Events built in Python obey the same limits as events read from JSON (issue 14)."""

from __future__ import annotations

import warnings

import pytest

from dpkit.accounting import (
    MAX_EVENT_DEPTH,
    ZCDP,
    Accountant,
    Composed,
    Gaussian,
    PoissonSampled,
    Repeated,
    SampledWithoutReplacement,
    dpsgd,
    event_from_dict,
)
from dpkit.errors import DPKitError, InfeasibleTargetError


def _nest(depth: int):
    ev = Gaussian(1.0)
    for i in range(depth):
        # nested sampling bounds cost more per level; one sampling level keeps the test fast
        ev = SampledWithoutReplacement(ev, 0.5) if i == 0 else (
            Repeated(ev, 1) if i % 2 else Composed((ev,)))
    return ev


def test_nesting_up_to_the_limit_is_accepted_and_round_trips():
    ev = _nest(MAX_EVENT_DEPTH)
    assert ev._depth == MAX_EVENT_DEPTH
    assert event_from_dict(ev.to_dict()) == ev
    assert Accountant().compose(ev).epsilon(1e-5) >= 0.0


@pytest.mark.parametrize("wrap", [
    lambda e: Repeated(e, 1),
    lambda e: Composed((Gaussian(2.0), e)),
    lambda e: PoissonSampled(e, 0.1),
])
def test_nesting_beyond_the_limit_is_a_named_error_not_a_recursion_error(wrap):
    deep = Repeated(Gaussian(1.0), 1)
    for _ in range(MAX_EVENT_DEPTH - 1):
        deep = Repeated(deep, 1)
    with pytest.raises(DPKitError, match="MAX_EVENT_DEPTH"):
        wrap(deep)


def test_composed_overflow_is_infinity_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        acct = Accountant().compose(Composed((ZCDP(1e308), ZCDP(1e308))))
        assert acct.epsilon(1e-5) == float("inf")


def test_noise_multiplier_with_a_step_count_beyond_the_float_range():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(InfeasibleTargetError):
            dpsgd.noise_multiplier(1.0, 1e-5, 0.5, 2 * 10**308)
