"""Order pruning and the compiled sampled-Gaussian kernels.

The accountant evaluates only the orders that can still give the smallest ε (or δ); these
tests check that this never changes the answer against a full-grid evaluation, that the lower
bound it prunes with is a lower bound on exact curves, and that the numba kernels give the
numpy reference's law.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dpkit.accounting import (
    DEFAULT_ORDERS,
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
    _pruning,
    dpsgd,
)
from dpkit.accounting import conversions as C
from dpkit.accounting import rdp as R

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

rates = st.floats(1e-6, 0.99)
sigmas = st.floats(0.3, 20.0)
steps = st.integers(1, 10**6)
deltas = st.sampled_from([1e-10, 1e-7, 1e-5, 1e-3, 0.05])


def full_grid_epsilon(ledger: list[tuple[object, int]], delta: float) -> float:
    total = np.zeros(DEFAULT_ORDERS.shape)
    for ev, n in ledger:
        curve = ev.rdp(DEFAULT_ORDERS)
        total = total + np.where(curve == 0.0, 0.0, n * curve)
    return C.rdp_to_epsilon(DEFAULT_ORDERS, total, delta).value


@FAST
@given(q=rates, s=sigmas, t=steps, d=deltas)
def test_pruned_epsilon_equals_full_grid_for_dpsgd(q, s, t, d):
    ev = dpsgd.event(s, q)
    acct = Accountant().compose(ev, t)
    assert acct.epsilon(d, method="rdp") == full_grid_epsilon([(ev, t)], d)
    assert acct._known.sum() < DEFAULT_ORDERS.size  # and it did skip orders


@FAST
@given(params=st.lists(st.tuples(rates, sigmas, st.integers(1, 10**4)), min_size=2,
                       max_size=5),
       g=st.floats(0.5, 50.0), d=deltas)
def test_pruned_epsilon_equals_full_grid_for_mixed_ledgers(params, g, d):
    ledger = [(dpsgd.event(s, q), n) for q, s, n in params] + [(Gaussian(g), 3),
                                                              (Laplace(g), 2), (ZCDP(0.01), 1)]
    acct = Accountant()
    for ev, n in ledger:
        acct = acct.compose(ev, n)
    want = full_grid_epsilon(ledger, d)
    assert acct.epsilon(d, method="rdp") == pytest.approx(want, rel=1e-13, abs=1e-300)


@FAST
@given(q=rates, s=sigmas, t=steps, e=st.floats(0.01, 20.0))
def test_pruned_delta_equals_full_grid(q, s, t, e):
    ev = dpsgd.event(s, q)
    curve = t * ev.rdp(DEFAULT_ORDERS)
    want = C.rdp_to_delta(DEFAULT_ORDERS, curve, e).value
    got = Accountant().compose(ev, t).delta(e, method="rdp")
    assert got == pytest.approx(want, rel=1e-13, abs=1e-300)


@FAST
@given(q=rates, s=sigmas, keep=st.lists(st.booleans(), min_size=DEFAULT_ORDERS.size,
                                          max_size=DEFAULT_ORDERS.size))
def test_cumulant_lower_bound_is_below_exact_curves(q, s, keep):
    fin = DEFAULT_ORDERS[np.isfinite(DEFAULT_ORDERS)]
    k = (fin - 1.0) * R.sampled_gaussian(q, s, fin)
    mask = np.array(keep[: fin.size])
    if mask.sum() < 2 or mask.all():
        return
    lb = _pruning.cumulant_lower_bound(fin[mask], k[mask], fin[~mask])
    assert np.all(lb <= k[~mask] * (1 + 1e-12) + 1e-300)


def test_cumulant_lower_bound_is_tight_for_a_line():
    pts = np.array([2.0, 3.0, 5.0, 8.0])
    k = 0.7 * (pts - 1.0)  # a straight line through K(1) = 0: every secant is exact
    t = np.array([1.5, 2.5, 4.0, 6.0, 20.0])
    np.testing.assert_allclose(_pruning.cumulant_lower_bound(pts, k, t), 0.7 * (t - 1.0))


def test_a_wrong_lower_bound_would_change_the_answer(monkeypatch):
    """The check above is not vacuous: an over-estimating 'lower bound' prunes the optimum."""
    ev = dpsgd.event(1.0, 0.01)
    right = Accountant().compose(ev, 1000).epsilon(1e-5, method="rdp")
    monkeypatch.setattr(_pruning, "cumulant_lower_bound",
                        lambda p, k, t: np.full(t.shape, np.inf))
    wrong = Accountant().compose(ev, 1000).epsilon(1e-5, method="rdp")
    assert wrong > right  # the best order (7.8) is fractional and was skipped


@pytest.mark.parametrize("event", [
    Gaussian(1.0), Laplace(1.0), RandomizedResponse(1.0, 3), PureDP(1.0), ZCDP(0.1, 0.01),
    dpsgd.event(0.8, 0.01), Composed((Gaussian(2.0), ZCDP(0.1))), Repeated(Gaussian(1.0), 5),
])
def test_exact_events_declare_convex_cumulants_and_are_subset_independent(event):
    assert event.convex_cumulant
    rng = np.random.default_rng(0)
    sub = np.sort(rng.choice(DEFAULT_ORDERS, 20, replace=False))
    full = event.rdp(DEFAULT_ORDERS)
    np.testing.assert_array_equal(event.rdp(sub), full[np.searchsorted(DEFAULT_ORDERS, sub)])


@pytest.mark.parametrize("event", [
    PoissonSampled(Laplace(1.0), 0.1), SampledWithoutReplacement(Gaussian(1.0), 0.1),
    RDPCurve((2.0, 4.0), (0.1, 0.3)), Composed((Gaussian(1.0), RDPCurve((2.0,), (0.1,)))),
])
def test_general_bounds_are_evaluated_on_the_whole_grid(event):
    assert not event.convex_cumulant
    acct = Accountant().compose(event)
    assert acct._known.all()
    assert acct.epsilon(1e-5, method="rdp") == C.rdp_to_epsilon(
        DEFAULT_ORDERS, event.rdp(DEFAULT_ORDERS),
                                                  1e-5).value


# ------------------------------------------------------------------ compiled kernels
numba_kernels = pytest.importorskip("dpkit.accounting._sgm_numba", reason="numba not installed")

CORNERS = [(q, s) for q in (1e-7, 1e-3, 0.01, 0.3, 0.999) for s in (0.006, 0.05, 0.3, 1, 3, 10,
                                                                     100)]


@pytest.mark.parametrize("q,s", CORNERS)
def test_numba_sampled_gaussian_matches_numpy_reference(q, s):
    ref = R.sampled_gaussian(q, s, DEFAULT_ORDERS, backend="numpy")
    fast = R.sampled_gaussian(q, s, DEFAULT_ORDERS, backend="numba")
    np.testing.assert_array_equal(np.isfinite(ref), np.isfinite(fast))
    fin = np.isfinite(ref)
    np.testing.assert_allclose(fast[fin], ref[fin], rtol=1e-12, atol=0)


@FAST
@given(q=rates, s=st.floats(0.01, 50.0),
       a=st.lists(st.floats(1.001, 300.0), min_size=1, max_size=6))
def test_numba_kernels_match_numpy_at_random_points(q, s, a):
    orders = np.unique(np.array(a))
    ref = R.sampled_gaussian(q, s, orders, backend="numpy")
    fast = R.sampled_gaussian(q, s, orders, backend="numba")
    np.testing.assert_allclose(fast, ref, rtol=1e-12, atol=0)


def test_backend_argument_is_checked():
    with pytest.raises(ValueError, match="backend"):
        R.sampled_gaussian(0.1, 1.0, DEFAULT_ORDERS, backend="cuda")
