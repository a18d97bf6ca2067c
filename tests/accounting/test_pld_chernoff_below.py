"""The Chernoff certificate that lets a relation skip a later direction's grid
(:func:`dpkit.accounting.pld.bounds.chernoff_below`): its δ bound lies above the direction's
δ(ε), it never certifies an ε below the direction's own, and the relation's ε is unchanged."""

from __future__ import annotations

import math

import pytest

from dpkit.accounting.pld import bounds as B
from dpkit.accounting.pld.pairs import ADD, REMOVE, SampledGaussianPair, SampledLaplacePair

#: (pair factory, count, δ): DP-SGD-like runs whose add direction lies well below the remove one
RUNS = [
    (lambda d: SampledGaussianPair(1.0, 0.01, d), 1000, 1e-5),
    (lambda d: SampledGaussianPair(0.8, 0.001, d), 20000, 1e-6),
    (lambda d: SampledGaussianPair(2.0, 0.1, d), 300, 1e-8),
    (lambda d: SampledLaplacePair(2.0, 0.05, d), 500, 1e-5),
]


@pytest.fixture
def always_try(monkeypatch: pytest.MonkeyPatch) -> None:
    """The soundness tests evaluate the bound wherever it can be computed (no planning
    margin, a larger grid allowance), so that they can fail."""
    monkeypatch.setattr(B, "_BELOW_MARGIN", -1e9)
    monkeypatch.setattr(B, "_BELOW_MAX_POINTS", 1 << 16)


@pytest.mark.usefixtures("always_try")
@pytest.mark.parametrize("make,count,delta", RUNS)
def test_bound_lies_above_the_directions_delta(make, count, delta):
    add = [(make(ADD), count)]
    eps_add = B.epsilon_checked(add, delta)
    for f in (0.7, 1.0, 1.3, 2.0):
        eps = f * eps_add
        bound = B.chernoff_delta_bound(add, eps, delta)
        assert bound is not None
        # the add direction's δ at that ε on a fine grid (an upper bound within ~1e-4 of
        # the truth): a Chernoff bound below it would be below the truth
        grid = B.delta_checked(add, eps, accuracy=1e-4)
        assert bound >= grid * 0.999


@pytest.mark.usefixtures("always_try")
@pytest.mark.parametrize("make,count,delta", RUNS)
def test_never_certifies_below_the_directions_own_epsilon(make, count, delta):
    add = [(make(ADD), count)]
    eps_add = B.epsilon_checked(add, delta, accuracy=1e-4)  # ≥ the truth, within ~1e-4
    for f in (0.5, 0.9, 0.995):
        # below the direction's ε, δ(ε) > δ: no valid bound can be ≤ δ
        bound = B.chernoff_delta_bound(add, f * eps_add * (1 - 2e-4), delta)
        assert bound is not None and bound > delta
        assert not B.chernoff_below(add, f * eps_add * (1 - 2e-4), delta)


def test_certifies_a_well_separated_direction():
    make, count, delta = RUNS[0]
    eps_rem = B.epsilon_checked([(make(REMOVE), count)], delta)
    assert B.chernoff_below([(make(ADD), count)], eps_rem, delta)


@pytest.mark.parametrize("sigma,q,steps,delta", [(1.0, 0.01, 1000, 1e-5),
                                                 (0.8, 0.001, 20000, 1e-6),
                                                 (20.0, 0.01, 50, 1e-5)])
def test_relation_epsilon_is_unchanged_by_the_certificate(monkeypatch, sigma, q, steps, delta):
    with_cert = B.sampled_gaussian_epsilon(sigma, q, steps, delta)
    monkeypatch.setattr(B, "chernoff_below", lambda *a: False)
    assert B.sampled_gaussian_epsilon(sigma, q, steps, delta) == with_cert


def test_not_tried_where_it_cannot_help():
    pair = SampledGaussianPair(1.0, 0.01, ADD)
    assert B.chernoff_delta_bound([(pair, 1000)], math.inf, 1e-5) is None
    assert B.chernoff_delta_bound([(pair, 1000)], 0.0, 1e-5) is None
    assert B.chernoff_delta_bound([(pair, 1)], 1.0, 1e-5) is None  # closed form instead
    assert B.chernoff_delta_bound([(pair, 1000)], 0.2, 1e-5) is None  # planning says no


def test_a_float_failure_of_the_certificate_falls_back_to_the_grid(monkeypatch):
    def overflow(*args, **kwargs):
        raise OverflowError("math range error")

    make, count, delta = RUNS[0]
    eps = B.sampled_gaussian_epsilon(1.0, 0.01, count, delta)
    monkeypatch.setattr(B, "chernoff_delta_bound", overflow)
    assert not B.chernoff_below([(make(ADD), count)], eps, delta)
    assert B.sampled_gaussian_epsilon(1.0, 0.01, count, delta) == eps  # the grid decides


def test_the_planned_exponent_alone_decides_when_it_certifies():
    """With ``stop_at`` the planned exponent's bound is returned when it is ≤ stop_at (the
    other four could only lower it); otherwise the value is the five-exponent minimum."""
    make, count, delta = RUNS[0]
    eps = B.sampled_gaussian_epsilon(1.0, 0.01, count, delta)
    add = [(make(ADD), count)]
    full = B.chernoff_delta_bound(add, eps, delta)
    first = B.chernoff_delta_bound(add, eps, delta, stop_at=delta)
    assert full is not None and first is not None
    assert full <= first <= delta
    assert B.chernoff_delta_bound(add, eps, delta, stop_at=full * 0.5) == full
