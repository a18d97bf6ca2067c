"""Extreme but valid parameters through every public accounting function (issue 14, §2).

Rule: a float that is not NaN and is ≥ 0 (∞ allowed), or a DPKitError; never another
exception, never a RuntimeWarning. Run with warnings as errors and numpy's overflow, divide
and invalid flags raising (underflow is numpy's default "ignore": flushing e^−1000 to 0 is
the intended arithmetic). The numpy backend carries the grid; a subset repeats with numba.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable

import numpy as np
import pytest

from dpkit.accounting import (
    ZCDP,
    Accountant,
    Composed,
    Gaussian,
    Laplace,
    PoissonSampled,
    PureDP,
    RandomizedResponse,
    RDPCurve,
    Repeated,
    SampledWithoutReplacement,
    dpsgd,
)
from dpkit.accounting.rdp import BACKEND_ENV
from dpkit.errors import DPKitError

SIGMAS = [0.0, 5e-324, 1e-300, 1e-8, 1.0, 1e8, 1e308, math.inf]
RATES = [0.0, 5e-324, 1e-300, 1e-12, 0.5, 1.0]
STEPS = [0, 1, 10**9, 10**18]
DELTAS = [0.0, 5e-324, 1e-300, 1e-10, 0.5, 1 - 1e-16]
TARGETS = [5e-324, 1e-8, 1.0, 1e308]


def strict(call: Callable[..., float], *args: object) -> float | None:
    """``call(*args)`` with warnings as errors and numpy errors raising; checks the result
    (None: a DPKitError was raised)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            try:
                value = call(*args)
            except DPKitError:
                return None
    assert isinstance(value, (float, int)), value
    assert not math.isnan(value) and value >= 0, value
    return float(value)


@pytest.fixture(params=["numpy"])
def backend(request, monkeypatch):
    monkeypatch.setenv(BACKEND_ENV, request.param)
    return request.param


@pytest.mark.parametrize("sigma", SIGMAS)
def test_dpsgd_epsilon(backend, sigma):
    for q, t, d in itertools.product(RATES, STEPS, DELTAS):
        e = strict(dpsgd.epsilon, sigma, q, t, d)
        assert e is not None, (sigma, q, t, d)  # every input here is valid
        if t == 0 or q == 0.0 or math.isinf(sigma):
            assert e == 0.0


# (target ε, δ, steps): the corners. With q ≤ 1e-12 every search walks down to σ ≈ 0.005
# and costs ~1 s, so those rates get the first three rows only.
NOISE_GRID = [(1.0, 1e-10, 1), (1e308, 5e-324, 10**18), (5e-324, 1 - 1e-16, 10**9),
              (1e-8, 0.5, 10**18), (1.0, 1e-300, 10**9), (1e308, 0.5, 1), (5e-324, 1e-10, 1)]


@pytest.mark.parametrize("q", RATES)
def test_dpsgd_noise_multiplier(backend, q):
    for target, d, t in NOISE_GRID[:3] if 0 < q <= 1e-12 else NOISE_GRID:
        s = strict(dpsgd.noise_multiplier, target, d, q, t)
        if s is not None:  # the answer meets the target
            assert strict(dpsgd.epsilon, s, q, t, d) <= target, (target, d, q, t, s)


@pytest.mark.parametrize("sigma", SIGMAS)
def test_dpsgd_max_steps_and_rate(backend, sigma):
    for target, d in itertools.product(TARGETS, DELTAS[1:]):
        for q in RATES:
            n = strict(dpsgd.max_steps, sigma, q, target, d)
            if n is not None:
                assert n >= 1 and strict(dpsgd.epsilon, sigma, q, n, d) <= target
        for t in STEPS:
            r = strict(dpsgd.max_sample_rate, sigma, t, target, d)
            if r is not None:
                assert 0 < r <= 1 and strict(dpsgd.epsilon, sigma, r, t, d) <= target


def _events() -> list:
    out = []
    for s in SIGMAS:
        out += [Gaussian(s), Laplace(s)]
        out += [PoissonSampled(Gaussian(s), q) for q in RATES]
    for e in [0.0, 5e-324, 1e-300, 1e-8, 1.0, 700.0, 1e8, 1e308, math.inf]:
        out += [RandomizedResponse(e, k) for k in (2, 3, 10**6)]
        out += [PureDP(e), ZCDP(e), ZCDP(1e-8, xi=e if math.isfinite(e) else 0.0)]
        out += [PoissonSampled(PureDP(e), q) for q in (5e-324, 1e-12, 0.5)]
        out += [SampledWithoutReplacement(RandomizedResponse(e), q) for q in (5e-324, 0.5, 1.0)]
    out += [RDPCurve((2.0, math.inf), (1e308, math.inf)), RDPCurve((1.5,), (5e-324,))]
    out += [Composed((Gaussian(1e-8), Laplace(1e8))), Repeated(Laplace(1e-8), 10**18)]
    return out


EVENTS = _events()


@pytest.mark.parametrize("event", EVENTS, ids=[repr(e)[:60] for e in EVENTS])
def test_accountant_every_event_type(event):
    for count in (1, 10**18):
        acct = Accountant().compose(event, count)
        for d in DELTAS:
            strict(acct.epsilon, d)
        for e in (0.0, 5e-324, 1e-8, 1.0, 1e308, math.inf):
            v = strict(acct.delta, e)
            assert v is None or v <= 1.0


@pytest.mark.parametrize("sigma", [5e-324, 1e-300, 1e-8, 0.003, 1e8, 1e308])
@pytest.mark.parametrize("q", [5e-324, 1e-300, 1e-12, 0.5])
def test_numba_backend_subset(monkeypatch, sigma, q):
    pytest.importorskip("numba")
    monkeypatch.setenv(BACKEND_ENV, "auto")
    for t, d in itertools.product([1, 10**18], [5e-324, 1e-10, 0.5]):
        got = strict(dpsgd.epsilon, sigma, q, t, d)
        monkeypatch.setenv(BACKEND_ENV, "numpy")
        want = strict(dpsgd.epsilon, sigma, q, t, d)
        monkeypatch.setenv(BACKEND_ENV, "auto")
        assert got is not None and want is not None
        assert got == pytest.approx(want, rel=1e-9, abs=1e-300)


# method="pld" on its own (no RDP fallback): a value or a DPKitError (PLDNumericalError where
# the PLD is beyond the engine's float range), never another exception. Found by a sweep of
# sampled Gaussian / Laplace events at extreme noise scales (each case below raised
# ZeroDivisionError, OverflowError or ValueError before).
PLD_EXTREMES = [(Gaussian(5e-324), 1), (Gaussian(1e-200), 10**18), (Laplace(5e-324), 1),
                (PoissonSampled(Laplace(1e-8), 0.5), 10**18),
                (SampledWithoutReplacement(Gaussian(1e-300), 1e-12), 1),
                (SampledWithoutReplacement(Laplace(1e-8), 1.0), 10**18),
                (Composed((Gaussian(1e-200), Gaussian(1.0))), 3)]


@pytest.mark.parametrize("event,count", PLD_EXTREMES, ids=[repr(e)[:50] for e, _ in PLD_EXTREMES])
def test_pld_method_extremes(event, count):
    acct = Accountant().compose(event, count)
    for d in (5e-324, 1e-10, 0.5):
        strict(lambda dd: acct.epsilon(dd, method="pld"), d)
    for e in (0.0, 1.0, 1e308):
        v = strict(lambda ee: acct.delta(ee, method="pld"), e)
        assert v is None or v <= 1.0


@pytest.mark.parametrize("event,count", PLD_EXTREMES[:2] + PLD_EXTREMES[-1:],
                         ids=["tiny", "tiny-1e18", "tiny+gaussian(1)"])
def test_pld_vanishing_gaussian_is_the_revealing_pair(event, count):
    # σ_eff below ~1e-154 (1/σ² overflows): δ(ε) = 1 is the only sound float answer (the true
    # δ(ε) is 1 − O(e^{−1e300}) for every representable ε); a ledger that dropped the tiny
    # Gaussian (the Composed case) would report Gaussian(1)'s finite ε instead
    acct = Accountant().compose(event, count)
    assert acct.epsilon(1e-10, method="pld") == math.inf
    assert acct.delta(1.0, method="pld") == 1.0
    assert acct.delta(1e300, method="pld") == 1.0
