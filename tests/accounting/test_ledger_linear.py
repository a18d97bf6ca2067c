"""Ledgers linear in their length (issue 14 §4), with the accountant still immutable.

Accountants derived from one another share one ledger in a version tree (see
:mod:`dpkit.accounting.accountant`). These tests check that every version still sees exactly
its own ledger (branches, old versions, equality, JSON and pickle round trips, threads), and
prove linearity by counting work (curve evaluations, bytes allocated), never by timing.
"""

from __future__ import annotations

import gc
import json
import math
import pickle
import random
import threading
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dpkit.accounting import (
    DEFAULT_ORDERS,
    ZCDP,
    Accountant,
    Gaussian,
    Laplace,
    PoissonSampled,
    RandomizedResponse,
    RDPCurve,
)
from dpkit.errors import DPKitError, IncompatibleRelationError

DELTA = 1e-5


def reference(ledger: list[tuple[object, int]]) -> Accountant:
    """An accountant built from scratch, one compose per distinct event."""
    acct = Accountant()
    for ev, n in ledger:
        acct = acct.compose(ev, n)
    return acct


def merged(pairs: list[tuple[object, int]]) -> tuple[tuple[object, int], ...]:
    """The ledger a sequence of compositions should give: merged, first-seen order."""
    out: dict[object, int] = {}
    for ev, n in pairs:
        if n:
            out[ev] = out.get(ev, 0) + n
    return tuple(out.items())


# ----------------------------------------------------------------------- branching
def test_branches_are_independent_and_correct():
    a = Accountant().compose(Gaussian(1.0), 3).compose(Laplace(2.0))
    x, y = Gaussian(2.0), ZCDP(0.05)
    b = a.compose(x)
    c = a.compose(y, 2)
    d = b.compose(Gaussian(1.0), 5)  # an event already in the ledger: merged
    for _ in range(2):  # in any order of access, twice (the shared ledger moves)
        assert c.ledger == ((Gaussian(1.0), 3), (Laplace(2.0), 1), (y, 2))
        assert a.ledger == ((Gaussian(1.0), 3), (Laplace(2.0), 1))
        assert d.ledger == ((Gaussian(1.0), 8), (Laplace(2.0), 1), (x, 1))
        assert b.ledger == ((Gaussian(1.0), 3), (Laplace(2.0), 1), (x, 1))
    for acct in (a, b, c, d):
        ref = reference(list(acct.ledger))
        assert acct == ref
        np.testing.assert_allclose(acct.rdp(), ref.rdp(), rtol=1e-14)
        assert acct.epsilon(DELTA) == pytest.approx(ref.epsilon(DELTA), rel=1e-13)
    # no branch's event reaches another's answer
    assert c.rdp()[0] == pytest.approx(reference(list(c.ledger)).rdp()[0], rel=1e-14)
    assert b != c and a != b and b == reference(list(b.ledger))


def test_old_versions_stay_correct_after_long_chains():
    base = Accountant()
    acct = base
    history = []
    for i in range(3000):
        acct = acct.compose(Gaussian(1.0) if i % 3 == 0 else Laplace(1.0 + i % 7))
        if i in (0, 10, 1500):
            history.append((acct, list(acct.ledger), acct.epsilon(DELTA)))
    assert base.ledger == () and base.epsilon(DELTA) == 0.0
    for old, ledger, eps in history:
        assert list(old.ledger) == ledger
        assert old.epsilon(DELTA) == eps
    assert len(acct.ledger) == 8
    assert acct.ledger[0] == (Gaussian(1.0), 1000)
    assert acct == reference(list(acct.ledger))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 6), st.integers(0, 3)),
                min_size=1, max_size=40))
def test_random_version_trees_match_a_copying_model(ops):
    """Each op composes an event onto some earlier version; every version is then checked
    against a model that copies its ledger (the old, quadratic implementation)."""
    events = [Gaussian(1.0 + k / 4) for k in range(5)] + [Laplace(3.0), ZCDP(0.01)]
    versions = [Accountant()]
    model: list[tuple[tuple[object, int], ...]] = [()]
    for pick, k, n in ops:
        i = pick % len(versions)
        ev = events[k]
        versions.append(versions[i].compose(ev, n))
        model.append(merged([*model[i], (ev, n)]))
        j = (pick * 7 + k) % len(versions)  # read some version in between
        assert versions[j].ledger == model[j]
    for acct, want in zip(reversed(versions), reversed(model), strict=True):
        assert acct.ledger == want
        ref = reference(list(want))
        assert acct == ref
        assert acct.epsilon(DELTA) == pytest.approx(ref.epsilon(DELTA), rel=1e-12)


def test_compose_many_equals_one_by_one():
    pairs = [(Gaussian(1.0), 2), (Laplace(1.0), 1), (Gaussian(1.0), 3), (ZCDP(0.1), 0),
             (PoissonSampled(Gaussian(1.0), 0.01), 10**9)]
    a = Accountant().compose(Laplace(5.0)).compose_many(pairs)
    b = Accountant().compose(Laplace(5.0))
    for ev, n in pairs:
        b = b.compose(ev, n)
    assert a.ledger == b.ledger == merged([(Laplace(5.0), 1), *pairs])
    assert a == b
    np.testing.assert_allclose(a.rdp(), b.rdp(), rtol=1e-14)
    # a generator works; nothing is composed when one pair is refused
    base = Accountant().compose(RandomizedResponse(1.0))
    with pytest.raises(IncompatibleRelationError, match=r"events\[1\]"):
        base.compose_many(iter([(Gaussian(1.0), 1), (PoissonSampled(Gaussian(1.0), 0.1), 1)]))
    with pytest.raises(DPKitError, match=r"events\[0\].*count"):
        base.compose_many([(Gaussian(1.0), -1)])
    with pytest.raises(DPKitError, match=r"events\[0\] must be an \(event, count\) pair"):
        base.compose_many([Gaussian(1.0)])
    with pytest.raises(DPKitError, match="iterable"):
        base.compose_many(3)  # type: ignore[arg-type]
    assert base.ledger == ((RandomizedResponse(1.0), 1),)
    assert base.compose_many([]) is base
    # a count of 0 changes nothing, not even the relation (as in compose)
    assert Accountant().compose_many([(PoissonSampled(Gaussian(1.0), 0.1), 0)]).relation is None


def test_a_refused_composition_leaves_the_shared_ledger_untouched(monkeypatch):
    def broken(self: ZCDP, orders: object) -> np.ndarray:
        raise DPKitError("broken curve")

    monkeypatch.setattr(ZCDP, "rdp", broken)
    a = Accountant().compose(Gaussian(1.0))
    with pytest.raises(DPKitError, match="broken"):
        a.compose_many([(Laplace(1.0), 1), (ZCDP(2.0), 1)])
    b = a.compose(Laplace(2.0))
    assert a.ledger == ((Gaussian(1.0), 1),)
    assert b.ledger == ((Gaussian(1.0), 1), (Laplace(2.0), 1))


def test_non_convex_events_are_still_evaluated_on_the_whole_grid():
    curve = RDPCurve((2.0, 8.0, 64.0), (0.1, 0.2, 0.3))
    a = Accountant().compose(Gaussian(1.0))
    assert not a._known.all()
    b = a.compose_many([(Laplace(1.0), 1), (curve, 2)])
    assert b._known.all()
    ref = Accountant().compose(Gaussian(1.0)).compose(Laplace(1.0)).compose(curve, 2)
    assert np.array_equal(b.rdp(), ref.rdp())
    assert b.epsilon(DELTA) == ref.epsilon(DELTA)


# ---------------------------------------------------------------- JSON, pickle, threads
def test_to_dict_round_trip_of_a_long_ledger_keeps_order():
    pairs = [(Gaussian(1.0 + i / 100), 1 + i % 3) for i in range(2000)]
    acct = Accountant().compose_many(pairs)
    d = json.loads(json.dumps(acct.to_dict()))
    assert [e["count"] for e in d["ledger"]] == [n for _, n in pairs]
    back = Accountant.from_dict(d)
    assert back.ledger == acct.ledger == tuple(pairs)
    assert back == acct
    assert np.array_equal(back.rdp(), acct.rdp())
    assert back.epsilon(DELTA) == acct.epsilon(DELTA)


def test_pickle_round_trip():
    acct = Accountant(orders=[2.0, 8.0, math.inf]).compose(Laplace(1.0), 3).compose(
        Gaussian(2.0))
    back = pickle.loads(pickle.dumps(acct))
    assert back == acct and back.ledger == acct.ledger
    assert np.array_equal(back.rdp(), acct.rdp())
    default = pickle.loads(pickle.dumps(Accountant().compose(Gaussian(1.0))))
    assert default.orders is DEFAULT_ORDERS


def test_threads_reading_different_versions_agree():
    versions = [Accountant()]
    for i in range(200):
        versions.append(versions[-1].compose(Gaussian(1.0 + i / 50)))
    want = [list(v.ledger) for v in versions]
    errors: list[str] = []

    def reader(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(300):
            i = rng.randrange(len(versions))
            if list(versions[i].ledger) != want[i]:
                errors.append(f"version {i}")

    threads = [threading.Thread(target=reader, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_dropping_a_long_chain_does_not_recurse():
    base = Accountant()
    acct = base
    for i in range(100_000):
        acct = acct.compose(Gaussian(1.0) if i % 2 else Laplace(1.0))
    assert base.ledger == ()  # the root moves back across 100 000 versions
    assert acct.ledger == ((Laplace(1.0), 50_000), (Gaussian(1.0), 50_000))
    del base, acct
    gc.collect()


# ----------------------------------------------------------- linearity, by counting work
@pytest.fixture
def rdp_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count Gaussian.rdp calls (the per-event work of the accountant)."""
    calls = [0]
    original = Gaussian.rdp

    def counted(self: Gaussian, orders: object) -> np.ndarray:
        calls[0] += 1
        return original(self, orders)

    monkeypatch.setattr(Gaussian, "rdp", counted)
    return calls


N = 5000


def test_each_distinct_event_is_evaluated_once_per_round(rdp_calls):
    pairs = [(Gaussian(1.0 + i / N), 1) for i in range(N)]
    acct = Accountant()
    for ev, n in pairs:
        acct = acct.compose(ev, n)
    assert rdp_calls[0] == N  # one evaluation each, at the anchor orders
    rdp_calls[0] = 0
    many = Accountant().compose_many(pairs)
    assert rdp_calls[0] == N
    rdp_calls[0] = 0
    many.epsilon(DELTA)
    assert 0 < rdp_calls[0] <= 10 * N  # a few rounds of pruning, each one pass
    rdp_calls[0] = 0
    back = Accountant.from_dict(many.to_dict())
    assert rdp_calls[0] == N and back == many == acct
    rdp_calls[0] = 0
    # a billion repetitions cost one evaluation; equal events are merged
    big = Accountant().compose(Gaussian(1.0), 10**9).compose(Gaussian(1.0), 10**9)
    assert rdp_calls[0] == 1 and big.ledger == ((Gaussian(1.0), 2 * 10**9),)


def test_derived_accountants_share_curves_but_not_events(rdp_calls):
    base = Accountant().compose_many([(Gaussian(1.0 + i / 100), 1) for i in range(100)])
    left = base.compose(Laplace(1.0))
    left.epsilon(DELTA)
    rdp_calls[0] = 0
    right = base.compose(Laplace(1.0))  # a sibling: the base's curves are cached
    right.epsilon(DELTA)
    assert rdp_calls[0] == 0
    only = base.compose(Gaussian(7.0))
    assert (Laplace(1.0), 1) not in only.ledger
    assert only == reference(list(only.ledger))
    assert only.epsilon(DELTA) == pytest.approx(reference(list(only.ledger)).epsilon(DELTA),
                                                rel=1e-13)


def test_one_compose_on_a_long_ledger_allocates_constant_memory():
    """The old accountant copied its two dicts on every compose (O(N) bytes, > 1 MB here)."""
    acct = Accountant().compose_many([(Gaussian(1.0 + i / 20_000), 1) for i in range(20_000)])
    acct = acct.compose(Laplace(1.0))
    tracemalloc.start()
    try:
        nxt = acct.compose(Laplace(2.0))
        nxt = nxt.compose(Laplace(1.0), 3)  # an event already in the ledger
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64_000, peak
    assert nxt.ledger[-2:] == ((Laplace(1.0), 4), (Laplace(2.0), 1))
