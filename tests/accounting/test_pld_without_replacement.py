"""PLD of sampling without replacement (replace-one): the symmetrized mixture pair.

The pair (γP + (1−γ)Q, Q) bounds δ(ε) for ε ≥ 0 only (Balle, Barthe, Gaboardi 2018,
Thm. 10); :class:`~dpkit.accounting.pld.SymmetrizedPair` makes it symmetric so that it
dominates at every ε and composes. Checked here against brute-force enumeration of a real
without-replacement mechanism (every dataset and neighbour, T-fold products, ε from −3 to 4),
where the unsymmetrized mixture — the mis-calibrated twin — is caught.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from dpkit.accounting import (
    ZCDP,
    Accountant,
    Gaussian,
    Laplace,
    PureDP,
    RandomizedResponse,
    SampledWithoutReplacement,
)
from dpkit.accounting.pld import SampledGaussianPair, SampledLaplacePair, SymmetrizedPair, bounds
from dpkit.accounting.pld.pairs import REMOVE, randomized_response_pair, symmetrized_pmfs
from dpkit.errors import DPKitError, PLDUnavailableError

N, M, EPS0 = 4, 2, 1.0  # 4 records (bits), batches of 2, an ε0-DP inner mechanism
EPS_GRID = np.linspace(-3.0, 4.0, 71)


def _inner_law(s: int, k: int) -> np.ndarray:
    """k-ary randomized response of the batch sum s (sensitivity 1 under replace-one:
    ε0-DP, so binary ε0-RR dominates it)."""
    z = math.exp(EPS0) + k - 1
    out = np.full(k, 1.0 / z)
    out[s] = math.exp(EPS0) / z
    return out


def _wor_law(x: tuple[int, ...]) -> np.ndarray:
    batches = list(itertools.combinations(range(len(x)), M))
    return sum(_inner_law(sum(x[i] for i in b), M + 1) for b in batches) / len(batches)


def _hockey(p: np.ndarray, q: np.ndarray, eps: float) -> float:
    return float(np.sum(np.maximum(p - math.exp(eps) * q, 0.0)))


def _power(p: np.ndarray, t: int) -> np.ndarray:
    out = p
    for _ in range(t - 1):
        out = np.outer(out, p).ravel()
    return out


@pytest.fixture(scope="module")
def brute() -> dict[int, np.ndarray]:
    """max over ordered neighbouring datasets of δ(ε) of T uses, T = 1, 2, 3."""
    worst = {t: np.zeros(EPS_GRID.size) for t in (1, 2, 3)}
    for x in itertools.product([0, 1], repeat=N):
        for i in range(N):
            y = list(x)
            y[i] = 1 - y[i]
            p, q = _wor_law(x), _wor_law(tuple(y))
            for t in worst:
                pt, qt = _power(p, t), _power(q, t)
                worst[t] = np.maximum(worst[t], [_hockey(pt, qt, e) for e in EPS_GRID])
    return worst


def _rr_mixture() -> tuple[np.ndarray, np.ndarray]:
    z = math.exp(EPS0) + 1.0
    p = np.array([math.exp(EPS0) / z, 1.0 / z])
    q = p[::-1].copy()
    g = M / N
    return g * p + (1 - g) * q, q


@pytest.mark.parametrize("t", [1, 2, 3])
def test_symmetrized_pair_dominates_brute_force_at_every_epsilon(brute, t):
    mix, q = _rr_mixture()
    sym = symmetrized_pmfs(mix, q)
    got = np.array([_hockey(_power(sym.p, t), _power(sym.q, t), e) for e in EPS_GRID])
    assert np.all(got >= brute[t] - 1e-15)
    assert np.max(got - brute[t]) < 0.1  # and not vacuous


def test_the_unsymmetrized_mixture_is_caught(brute):
    """The mis-calibrated twin: (γP + (1−γ)Q, Q) alone is below the truth at ε < 0 for one
    use and, composed twice, at some ε ≥ 0 too (so it cannot be composed)."""
    mix, q = _rr_mixture()
    one = np.array([_hockey(mix, q, e) for e in EPS_GRID])
    assert np.any((one < brute[1] - 1e-12) & (EPS_GRID < 0))
    assert np.all(one[EPS_GRID >= 0] >= brute[1][EPS_GRID >= 0] - 1e-15)  # BBG18 holds there
    two = np.array([_hockey(_power(mix, 2), _power(q, 2), e) for e in EPS_GRID])
    assert np.any((two < brute[2] - 1e-12) & (EPS_GRID >= 0))


@pytest.mark.parametrize("t", [1, 2, 3])
def test_accountant_delta_bounds_brute_force_and_is_tight(brute, t):
    acct = Accountant().compose(SampledWithoutReplacement(PureDP(EPS0), M / N), t)
    mix, q = _rr_mixture()
    sym = symmetrized_pmfs(mix, q)
    for e, truth in zip(EPS_GRID, brute[t], strict=True):
        if e < 0:
            continue
        got = acct.delta(float(e), method="pld")
        exact = _hockey(_power(sym.p, t), _power(sym.q, t), float(e))
        assert got >= truth - 1e-15
        assert got <= exact * (1 + 2e-3) + 1e-9  # the grid's slack (accuracy 1e-3)


def test_symmetrized_gaussian_discretization_is_symmetric_and_keeps_the_upper_part():
    base = SampledGaussianPair(0.9, 0.05, REMOVE)
    step = 2e-3
    d_base = base.discretize(step)
    d = SymmetrizedPair(base).discretize(step)
    losses, m = d.losses, d.masses
    k = np.rint(losses / step).astype(int)
    by_k = dict(zip(k.tolist(), m.tolist(), strict=True))
    for kk, mass in by_k.items():
        if kk > 0:
            assert by_k.get(-kk, 0.0) == pytest.approx(mass * math.exp(-kk * step), rel=1e-12,
                                                       abs=1e-300)
    assert float(m.sum()) + d.infinity_mass == pytest.approx(1.0, abs=1e-12)
    for e in [0.0, 0.1, 0.5, 1.0, 2.0]:
        assert d.delta(e) == pytest.approx(d_base.delta(e), rel=1e-12, abs=1e-300)


def test_floor_moves_mass_up_only():
    d = SymmetrizedPair(SampledLaplacePair(1.0, 0.1, REMOVE)).discretize(1e-2)
    f = SymmetrizedPair(SampledLaplacePair(1.0, 0.1, REMOVE)).discretize(1e-2, floor=-0.05)
    assert f.lower * f.step >= -0.05 - 1e-2
    assert float(f.masses.sum()) == pytest.approx(float(d.masses.sum()), rel=1e-12)
    for e in [0.0, 0.05, 0.3]:
        assert f.delta(e) >= d.delta(e) - 1e-15


@pytest.mark.parametrize("inner", [Gaussian(1.0), Laplace(1.0), PureDP(1.0),
                                   RandomizedResponse(1.0, 4)])
def test_one_use_costs_the_mixture_pair_above_zero(inner):
    """For ε ≥ 0 one use costs what BBG18 allows, δ of (γP + (1−γ)Q, Q): the certified δ lies
    at or above it (by the grid's slack at most)."""
    g = 0.1
    acct = Accountant().compose(SampledWithoutReplacement(inner, g), 1)
    if isinstance(inner, Gaussian):
        pair = SampledGaussianPair(1.0, g, REMOVE)

        def exact(e: float) -> float:
            return bounds._single_delta(pair, e)  # closed form (normal tails)
    elif isinstance(inner, Laplace):
        fine = SampledLaplacePair(1.0, g, REMOVE).discretize(1e-5)  # an upper bound itself

        def exact(e: float) -> float:
            return fine.delta(e) * (1 - 1e-3)
    else:
        rr = randomized_response_pair(1.0, inner.k if isinstance(inner, RandomizedResponse)
                                      else 2)

        def exact(e: float) -> float:
            return _hockey(g * rr.p + (1 - g) * rr.q, rr.q, e)
    for e in [0.0, 0.05, 0.2, 0.5]:
        got = acct.delta(e, method="pld")
        assert exact(e) * (1 - 1e-12) <= got <= exact(e) * (1 + 2e-3) + 1e-12


@pytest.mark.parametrize("inner,g,t", [(Gaussian(1.0), 0.01, 1000), (Laplace(1.0), 0.1, 100),
                                       (PureDP(1.0), 0.01, 1000)])
def test_pld_is_finite_and_tighter_than_rdp_on_typical_runs(inner, g, t):
    # usefulness, not soundness (each method is checked against the truth on its own)
    acct = Accountant().compose(SampledWithoutReplacement(inner, g), t)
    e_pld = acct.epsilon(1e-5, method="pld")
    e_rdp = acct.epsilon(1e-5, method="rdp")
    assert math.isfinite(e_pld) and e_pld < e_rdp
    assert acct.epsilon(1e-5) == pytest.approx(min(e_pld, e_rdp), rel=1e-12)


def test_revealing_inner_is_its_sampling_rate():
    acct = Accountant().compose(SampledWithoutReplacement(Gaussian(0.0), 0.01), 3)
    # each use reveals the record with probability 0.01: δ(ε) = 1 − 0.99³ at every ε ≥ 0
    assert acct.delta(5.0, method="pld") == pytest.approx(1 - 0.99 ** 3, rel=1e-9)
    assert math.isinf(acct.epsilon(1e-3, method="pld"))


def test_inner_without_a_pair_is_refused_by_name():
    acct = Accountant().compose(SampledWithoutReplacement(ZCDP(0.1), 0.1), 10)
    with pytest.raises(PLDUnavailableError, match="ZCDP"):
        acct.epsilon(1e-5, method="pld")


def test_a_pair_that_cannot_be_symmetrized_is_refused():
    with pytest.raises(DPKitError, match="symmetriz"):
        symmetrized_pmfs([0.6, 0.4], [0.5, 0.5])
