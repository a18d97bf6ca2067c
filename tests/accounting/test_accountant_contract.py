"""The accountant contract, checked for every event type (STYLE.md §3): curves never NaN,
non-negative and non-decreasing in α; JSON round trips; additive composition; huge counts for
free; a ledger that merges equal events; refusal of unknown events and mixed relations;
immutability; and the optional order refinement staying sound."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from dpkit.accounting import (
    ADD_REMOVE,
    DEFAULT_ORDERS,
    REPLACE_ONE,
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
    event_from_dict,
)
from dpkit.errors import DPKitError, IncompatibleRelationError, UnsupportedEventError

EVENTS = [
    Gaussian(1.3),
    Gaussian(0.0),
    Gaussian(2.0, relation=ADD_REMOVE),
    Laplace(0.7),
    Laplace(5.0),
    RandomizedResponse(1.2),
    RandomizedResponse(0.5, k=5),
    PureDP(0.9),
    ZCDP(0.1, xi=0.05),
    ZCDP(0.02),
    RDPCurve((2.0, 4.0, 16.0, math.inf), (0.1, 0.3, 0.5, 0.6)),
    RDPCurve((1.5, 3.0, 64.0), (0.01, 0.2, 0.1), relation=REPLACE_ONE),
    PoissonSampled(Gaussian(1.1), 0.02),
    PoissonSampled(Gaussian(0.5), 0.3),
    PoissonSampled(Laplace(2.0), 0.1),
    PoissonSampled(Laplace(1.0), 0.5),
    PoissonSampled(PureDP(1.0), 0.05),
    SampledWithoutReplacement(Gaussian(1.5), 0.05),
    SampledWithoutReplacement(Laplace(1.0), 0.05),
    SampledWithoutReplacement(RandomizedResponse(2.0), 0.1),
    Composed((Gaussian(2.0), Laplace(3.0))),
    Composed((PoissonSampled(Gaussian(1.0), 0.01), Repeated(Laplace(4.0), 3))),
    Repeated(PoissonSampled(Gaussian(1.0), 0.01), 100),
    Repeated(Gaussian(1.0), 0),
]
IDS = [repr(e)[:70] for e in EVENTS]


def test_every_event_type_is_covered():
    types = {type(e).__name__ for e in EVENTS}
    assert types == {"Gaussian", "Laplace", "RandomizedResponse", "PureDP", "ZCDP", "RDPCurve",
                     "PoissonSampled", "SampledWithoutReplacement", "Composed", "Repeated"}


# ------------------------------------------------------------------------ curve contract
@pytest.mark.parametrize("event", EVENTS, ids=IDS)
def test_rdp_is_never_nan_nonnegative_and_nondecreasing_in_order(event):
    orders = np.asarray(DEFAULT_ORDERS)
    r = event.rdp(orders)
    assert r.shape == orders.shape
    assert not np.isnan(r).any()
    assert (r >= 0).all()
    # D_α is non-decreasing in α; allow only rounding noise (a few ulps) between neighbours
    drops = np.flatnonzero(r[1:] < r[:-1] * (1 - 1e-12))
    assert drops.size == 0, [(orders[i], orders[i + 1], r[i], r[i + 1]) for i in drops[:4]]


@pytest.mark.parametrize("event", EVENTS, ids=IDS)
def test_epsilon_and_delta_are_never_nan_or_negative(event):
    acct = Accountant().compose(event, 3)
    for d in (0.0, 1e-12, 1e-5, 0.1, 0.9):
        e = acct.epsilon(d)
        assert not math.isnan(e) and e >= 0
    for e in (0.0, 0.1, 1.0, 100.0, math.inf):
        d = acct.delta(e)
        assert not math.isnan(d) and 0 <= d <= 1


# ---------------------------------------------------------------------------------- JSON
@pytest.mark.parametrize("event", EVENTS, ids=IDS)
def test_event_json_round_trip(event):
    orders = np.asarray(DEFAULT_ORDERS)
    d = event.to_dict()
    back = event_from_dict(d)
    assert back == event
    assert np.array_equal(back.rdp(orders), event.rdp(orders))
    through_text = event_from_dict(json.loads(json.dumps(d)))
    assert through_text == event
    assert np.array_equal(through_text.rdp(orders), event.rdp(orders))


@pytest.mark.parametrize(
    "event", [PureDP(math.inf), Gaussian(math.inf), ZCDP(math.inf), Laplace(math.inf)], ids=repr
)
def test_event_json_is_plain_json_even_with_infinite_parameters(event):
    """'Events serialize to and from plain JSON dicts' (ARCHITECTURE.md). Standard JSON has no
    Infinity literal; RDPCurve already writes "inf", and event_from_dict reads it back."""
    text = json.dumps(event.to_dict(), allow_nan=False)
    assert event_from_dict(json.loads(text)) == event


def test_accountant_json_round_trip():
    acct = Accountant()
    for e in EVENTS:
        if acct.supports(e):
            acct = acct.compose(e, 7)
    assert len(acct.ledger) > 10
    d = acct.to_dict()
    for back in (Accountant.from_dict(d), Accountant.from_dict(json.loads(json.dumps(d)))):
        assert back == acct
        assert back.ledger == acct.ledger
        assert np.array_equal(back.rdp(), acct.rdp())
        assert back.epsilon(1e-6) == acct.epsilon(1e-6)


def test_accountant_json_round_trip_with_custom_orders_and_relation():
    acct = Accountant(orders=[1.5, 2.0, 32.0, math.inf], relation=REPLACE_ONE).compose(
        RandomizedResponse(1.0), 3)
    back = Accountant.from_dict(json.loads(json.dumps(acct.to_dict())))
    assert back == acct and back.relation == REPLACE_ONE
    assert np.array_equal(back.orders, acct.orders)
    assert np.array_equal(back.rdp(), acct.rdp())


# --------------------------------------------------------------------------- composition
PAIRS = [(EVENTS[i], EVENTS[j]) for i, j in [(0, 3), (12, 14), (5, 6), (8, 10), (17, 18),
                                              (20, 22), (1, 4)]]


@pytest.mark.parametrize("a,b", PAIRS, ids=lambda e: repr(e)[:30])
def test_composition_is_additive(a, b):
    acct = Accountant().compose(a).compose(b)
    want = a.rdp(DEFAULT_ORDERS) + b.rdp(DEFAULT_ORDERS)
    assert np.array_equal(acct.rdp(), want)
    # the same through one Composed event
    np.testing.assert_allclose(Accountant().compose(Composed((a, b))).rdp(), want, rtol=1e-15)


@pytest.mark.parametrize("event", [PoissonSampled(Gaussian(1.0), 0.001), Laplace(100.0),
                                   ZCDP(1e-9)], ids=repr)
def test_a_billion_compositions_cost_one(event, monkeypatch):
    # counted, not timed: one curve evaluation per round of the query, whatever the count
    calls = [0]
    original = type(event).rdp

    def counted(self, orders):  # noqa: ANN001, ANN202
        calls[0] += 1
        return original(self, orders)

    monkeypatch.setattr(type(event), "rdp", counted)
    acct = Accountant().compose(event, count=10**9)
    eps = acct.epsilon(1e-5)
    assert 1 <= calls[0] <= 10
    monkeypatch.undo()
    np.testing.assert_allclose(acct.rdp(), 1e9 * event.rdp(DEFAULT_ORDERS), rtol=1e-15)
    assert math.isfinite(eps)
    assert acct.ledger == ((event, 10**9),)


def test_ledger_merges_equal_events():
    acct = Accountant()
    for _ in range(10_000):
        acct = acct.compose(Gaussian(1.0))  # equal, not identical, objects
    assert len(acct.ledger) == 1
    assert acct.ledger[0] == (Gaussian(1.0), 10_000)
    np.testing.assert_allclose(acct.rdp(), Accountant().compose(Gaussian(1.0), 10_000).rdp(),
                               rtol=1e-11)
    sampled = Accountant()
    for _ in range(200):
        sampled = sampled.compose(PoissonSampled(Gaussian(1.0), 0.01))
    assert sampled.ledger == ((PoissonSampled(Gaussian(1.0), 0.01), 200),)


# -------------------------------------------------------------------------------- refusals
@pytest.mark.parametrize(
    "bad",
    [
        {"type": "NoSuchMechanism", "epsilon": 1.0},
        {"type": "PoissonSampled", "sample_rate": 0.1, "event": {"type": "Skellam", "mu": 3}},
        {"type": "Composed", "events": [{"type": "Gaussian", "noise_multiplier": 1.0},
                                        {"type": "Event"}]},
    ],
    ids=["top", "nested", "abstract"],
)
def test_unknown_event_types_are_refused(bad):
    with pytest.raises(UnsupportedEventError):
        event_from_dict(bad)
    with pytest.raises(UnsupportedEventError):
        Accountant.from_dict({"type": "Accountant", "ledger": [{"event": bad, "count": 1}]})


def test_unsupported_event_error_is_a_dpkit_error():
    assert issubclass(UnsupportedEventError, DPKitError)
    assert issubclass(IncompatibleRelationError, DPKitError)


def test_mixing_add_remove_and_replace_one_is_refused():
    dpsgd_step = PoissonSampled(Gaussian(1.0), 0.01)  # add/remove
    rr = RandomizedResponse(1.0)  # replace-one
    acct = Accountant().compose(dpsgd_step)
    assert acct.relation == ADD_REMOVE
    assert not acct.supports(rr)
    with pytest.raises(IncompatibleRelationError):
        acct.compose(rr)
    other = Accountant().compose(rr)
    assert not other.supports(dpsgd_step)
    assert other.supports(SampledWithoutReplacement(Gaussian(1.0), 0.01))
    with pytest.raises(IncompatibleRelationError):
        other.compose(dpsgd_step)
    with pytest.raises(IncompatibleRelationError):
        Composed((dpsgd_step, rr))
    with pytest.raises(IncompatibleRelationError):
        PoissonSampled(rr, 0.1)
    assert not Accountant(relation=REPLACE_ONE).supports(dpsgd_step)
    # events with no fixed relation go with either
    assert acct.supports(Gaussian(1.0)) and other.supports(Gaussian(1.0))
    assert not Accountant().supports("not an event")


# --------------------------------------------------------------------------------- refine
def test_refine_is_below_the_grid_and_above_pld(oracle):
    acct = Accountant().compose(PoissonSampled(Gaussian(1.0), 0.01), 1000)
    grid = acct.epsilon(1e-5, method="rdp")
    refined = acct.epsilon(1e-5, refine=True, method="rdp")
    assert refined <= grid
    assert refined >= oracle.dpacc_pld(0.01, 1.0, 1000, 1e-5)
    details = acct.epsilon_details(1e-5, refine=True, method="rdp")
    assert details.epsilon == refined and details.order > 1


@pytest.mark.parametrize("q,sigma,steps", [(0.2, 0.8, 100), (0.001, 1.0, 10_000)])
def test_refine_is_below_the_grid_and_above_the_csv_pld(q, sigma, steps):
    """PLD values from spec §b's grid (rounded to 6 digits, hence the 5e-6 slack)."""
    pld = {(0.2, 0.8, 100): 21.837, (0.001, 1.0, 10_000): 0.475987}[(q, sigma, steps)]
    acct = Accountant().compose(PoissonSampled(Gaussian(sigma), q), steps)
    refined = acct.epsilon(1e-5, refine=True, method="rdp")
    assert refined <= acct.epsilon(1e-5, method="rdp")
    assert refined >= pld * (1 - 5e-6)


# ---------------------------------------------------------------------------- immutability
def test_accountant_is_immutable():
    a0 = Accountant()
    a1 = a0.compose(Gaussian(1.0))
    assert a1 is not a0
    assert np.array_equal(a0.rdp(), np.zeros(len(DEFAULT_ORDERS)))
    before = a1.rdp().copy()
    a2 = a1.compose(Laplace(1.0), 5)
    assert np.array_equal(a1.rdp(), before)
    assert a1.ledger == ((Gaussian(1.0), 1),) and len(a2.ledger) == 2
    with pytest.raises(ValueError):
        a1.rdp()[0] = 0.0
    with pytest.raises(ValueError):
        a1.orders[0] = 3.0
    with pytest.raises(AttributeError):
        a1.foo = 1
    assert np.array_equal(a1.rdp(), before)


def test_events_are_frozen():
    g = Gaussian(1.0)
    with pytest.raises(AttributeError):
        g.noise_multiplier = 2.0
    assert hash(g) == hash(Gaussian(1.0))
