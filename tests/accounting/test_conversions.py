"""RDP / zCDP → (ε, δ) conversions: hand-computed values, round trips, monotonicity, the
total-variation shortcut, the α → 1 guard and the pure-DP (δ = 0) path."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import optimize

from dpkit.accounting import (
    DEFAULT_ORDERS,
    ZCDP,
    Accountant,
    Gaussian,
    Laplace,
    PoissonSampled,
    PureDP,
    RandomizedResponse,
    SampledWithoutReplacement,
)
from dpkit.accounting import conversions as C

# ----------------------------------------------------------------- hand-computed values
# Improved bound (Balle et al. 2020, Thm. 21): ε = r + log((α−1)/α) − (log δ + log α)/(α−1).
# Single order α = 2, r = 0.5, δ = 1e-5:
#   0.5 + log(1/2) − (log 1e-5 + log 2) = 0.5 − 0.693147… + 11.512925… − 0.693147…
EPS_ONE_ORDER = 10.626631103850338
# Orders (1.5, 4, 32), r = (0.05, 0.3, 5.0), δ = 1e-6:
#   α = 1.5: 0.05 + log(1/3) − 2(log 1e-6 + log 1.5)  = 25.771478611044…
#   α = 4:   0.3 + log(3/4) − (log 1e-6 + log 4)/3     = 4.155389993163…   ← minimum
#   α = 32:  5 + log(31/32) − (log 1e-6 + log 32)/31   = 5.302115000239…
# Classic (Mironov 2017, Prop. 3): r + log(1/δ)/(α−1) → 27.681…, 4.905170185988…, 5.445…
# δ at ε = 3: exp((α−1)(r − ε) + (α−1) log(1 − 1/α) − log α)
#   α = 1.5: 0.0880569…, α = 4: 3.20138934692554e-05 ← minimum, α = 32: 9.86e24;
#   total-variation bound √(1 − e^{−0.05}) = 0.2208 is not smaller.
ORDERS3 = [1.5, 4.0, 32.0]
RDP3 = [0.05, 0.3, 5.0]


def test_improved_bound_single_order_by_hand():
    conv = C.rdp_to_epsilon([2.0], [0.5], 1e-5)
    assert conv.value == pytest.approx(EPS_ONE_ORDER, rel=1e-13)
    assert conv.order == 2.0 and conv.method == "rdp"


def test_improved_bound_three_orders_by_hand():
    conv = C.rdp_to_epsilon(ORDERS3, RDP3, 1e-6)
    assert conv.value == pytest.approx(4.155389993163014, rel=1e-13)
    assert conv.order == 4.0
    classic = C.classic_rdp_to_epsilon(ORDERS3, RDP3, 1e-6)
    assert classic.value == pytest.approx(4.905170185988091, rel=1e-13)


def test_delta_three_orders_by_hand():
    conv = C.rdp_to_delta(ORDERS3, RDP3, 3.0)
    assert conv.value == pytest.approx(3.20138934692554e-05, rel=1e-12)
    assert conv.order == 4.0


def test_accountant_uses_the_same_conversion():
    acct = Accountant(orders=ORDERS3).compose(ZCDP(0.1))  # r = 0.1·α on the three orders
    want = min(0.1 * a + math.log((a - 1) / a) - (math.log(1e-6) + math.log(a)) / (a - 1)
               for a in ORDERS3)
    assert acct.epsilon(1e-6, method="rdp") == pytest.approx(want, rel=1e-13)


# ------------------------------------------------------------------------- round trips
@settings(max_examples=30, deadline=None)
@given(
    q=st.floats(math.log(1e-4), math.log(0.5)).map(math.exp),
    sigma=st.floats(0.5, 10.0),
    steps=st.integers(1, 100_000),
    eps0=st.floats(0.05, 30.0),
)
def test_epsilon_delta_epsilon_round_trip(q, sigma, steps, eps0):
    acct = Accountant().compose(PoissonSampled(Gaussian(sigma), q), steps)
    orders, curve = acct.orders, acct.rdp()
    d = C.rdp_to_delta(orders, curve, eps0)
    assume(d.method == "rdp" and 1e-300 < d.value < 1.0)
    back = C.rdp_to_epsilon(orders, curve, d.value)
    assert back.value == pytest.approx(eps0, rel=1e-9)
    # δ → ε → δ on the same grid
    d2 = C.rdp_to_delta(orders, curve, back.value)
    assert d2.value == pytest.approx(d.value, rel=1e-9)
    # the accountant's own methods agree with the functions
    assert acct.delta(eps0, method="rdp") == d.value
    assert acct.epsilon(d.value, method="rdp") == back.value


# --------------------------------------------------------- never NaN/negative, monotone
DELTAS = np.concatenate([[0.0], np.logspace(-300, -1, 60), [0.2, 0.5, 0.9, 0.999999]])
EPSILONS = np.concatenate([[0.0], np.logspace(-8, 4, 50), [math.inf]])


def _curves():
    o = np.asarray(DEFAULT_ORDERS)
    yield "sgm", o, PoissonSampled(Gaussian(1.0), 0.01).rdp(o) * 1000
    yield "gaussian", o, Gaussian(0.3).rdp(o)
    yield "laplace", o, Laplace(0.5).rdp(o) * 20
    yield "zeros", o, np.zeros_like(o)
    yield "all_inf", o, np.full_like(o, np.inf)
    yield "huge", o, np.full_like(o, 1e300)
    yield "tiny", o, np.full_like(o, 1e-300)
    yield "no_inf_order", o[np.isfinite(o)], Laplace(2.0).rdp(o[np.isfinite(o)])


@pytest.mark.parametrize("name,orders,curve", list(_curves()), ids=lambda v: v
                         if isinstance(v, str) else "")
def test_conversion_is_never_nan_or_negative_and_monotone(name, orders, curve):
    eps = np.array([C.rdp_to_epsilon(orders, curve, d).value for d in DELTAS])
    assert not np.isnan(eps).any() and (eps >= 0).all(), eps
    assert np.all(eps[1:] <= eps[:-1]), eps  # ε non-increasing in δ (∞ allowed)
    dels = np.array([C.rdp_to_delta(orders, curve, e).value for e in EPSILONS])
    assert not np.isnan(dels).any() and (dels >= 0).all() and (dels <= 1).all(), dels
    assert np.all(dels[1:] <= dels[:-1]), dels  # δ non-increasing in ε


rdp_values = st.one_of(
    st.floats(0.0, 1e4), st.just(math.inf), st.floats(0.0, 1e-6), st.floats(1e-300, 1e-200)
)


@settings(max_examples=60, deadline=None)
@given(
    orders=st.lists(st.floats(1.0001, 5000.0), min_size=1, max_size=12, unique=True),
    values=st.data(),
    delta=st.floats(math.log(1e-300), math.log(0.99)).map(math.exp),
)
def test_random_curves_classic_bound_is_never_below_the_improved_one(orders, values, delta):
    r = values.draw(st.lists(rdp_values, min_size=len(orders), max_size=len(orders)))
    improved = C.rdp_to_epsilon(orders, r, delta).value
    classic = C.classic_rdp_to_epsilon(orders, r, delta).value
    assert not math.isnan(improved) and improved >= 0
    assert classic >= improved
    # and ε never increases with δ
    assert C.rdp_to_epsilon(orders, r, min(delta * 1.5, 0.999)).value <= improved


# ---------------------------------------------------------------------------------- zCDP
RHOS = [1e-4, 0.01, 0.5, 5.0, 100.0]
ZDELTAS = [1e-12, 1e-5, 0.01, 0.3]


def _zcdp_oracle(rho: float, delta: float) -> float:
    """The improved bound on the line ρα minimised over continuous α, independently (scipy)."""
    def obj(t):
        a = 1.0 + math.exp(t)
        return rho * a + math.log1p(-1.0 / a) - (math.log(delta) + math.log(a)) / (a - 1.0)

    res = optimize.minimize_scalar(obj, bounds=(-20.0, 30.0), method="bounded",
                                   options={"xatol": 1e-12, "maxiter": 2000})
    return float(res.fun)


@pytest.mark.parametrize("rho", RHOS)
@pytest.mark.parametrize("delta", ZDELTAS)
def test_zcdp_to_epsilon_bounds(rho, delta, oracle):
    got = C.zcdp_to_epsilon(rho, delta).value
    assert not math.isnan(got) and got >= 0
    # Bun & Steinke 2016, Prop. 1.3 (simple conversion) is never better
    assert got <= rho + 2 * math.sqrt(rho * math.log(1 / delta))
    # the continuous optimum is never worse than the accountant's order grid
    grid = Accountant().compose(ZCDP(rho)).epsilon(delta, method="rdp")
    assert got <= grid * (1 + 1e-12)
    # it is the minimum of the improved bound (unless the TV shortcut gives 0)
    if got > 0:
        assert got == pytest.approx(max(_zcdp_oracle(rho, delta), 0.0), rel=1e-9, abs=1e-12)
    # soundness: the Gaussian with ρ = 1/(2σ²) is ρ-zCDP, so no valid conversion beats its
    # exact privacy profile: δ_Gauss(ε) ≤ δ
    sigma = 1 / math.sqrt(2 * rho)
    assert oracle.gaussian_delta(sigma, got) <= delta * (1 + 1e-9)


@pytest.mark.parametrize("rho", RHOS)
@pytest.mark.parametrize("delta", [1e-12, 1e-5, 0.01])
def test_zcdp_delta_direction_is_consistent(rho, delta, oracle):
    eps = C.zcdp_to_epsilon(rho, delta).value
    if eps > 0:  # (at ε = 0 the TV shortcut decided, and δ(0) is the TV bound instead)
        assert C.zcdp_to_delta(rho, eps).value == pytest.approx(delta, rel=1e-7)
    for e in (0.1, 1.0, 10.0):
        d = C.zcdp_to_delta(rho, e).value
        assert 0 <= d <= 1
        assert d <= Accountant().compose(ZCDP(rho)).delta(e, method="rdp") * (1 + 1e-12)
        assert d >= oracle.gaussian_delta(1 / math.sqrt(2 * rho), e) * (1 - 1e-9)


def test_zcdp_special_values():
    assert C.zcdp_to_epsilon(0.5, 0.0).value == math.inf
    assert C.zcdp_to_epsilon(0.0, 1e-5, xi=0.3).value == 0.3
    assert C.zcdp_to_delta(0.0, 0.3, xi=0.3).value == 0.0
    # TV shortcut for zCDP: δ ≥ √(1 − e^{−(ξ+ρ)}) gives ε = 0
    rho = 1e-6
    tv = math.sqrt(-math.expm1(-rho))
    assert C.zcdp_to_epsilon(rho, tv * (1 + 1e-9)).value == 0.0
    assert C.zcdp_to_epsilon(rho, tv * 0.5).value > 0.0


# ------------------------------------------------------------------ total-variation shortcut
def test_tv_shortcut_gives_zero_exactly_at_the_bretagnolle_huber_bound():
    orders = [1.5, 2.0, 8.0]
    r = [0.02, 0.03, 0.2]
    tv = math.sqrt(1 - math.exp(-0.02))  # from the smallest RDP value
    at = C.rdp_to_epsilon(orders, r, tv * (1 + 1e-12))
    assert at.value == 0.0 and at.method == "tv"
    below = C.rdp_to_epsilon(orders, r, tv * (1 - 1e-3))
    assert below.method != "tv"
    want = min(x + math.log((a - 1) / a) - (math.log(tv * (1 - 1e-3)) + math.log(a)) / (a - 1)
               for a, x in zip(orders, r, strict=True))
    assert below.value == pytest.approx(max(want, 0.0), rel=1e-12, abs=1e-15)
    # δ(ε) is never above the TV bound
    for e in (0.0, 1e-3, 0.5):
        assert C.rdp_to_delta(orders, r, e).value <= tv * (1 + 1e-15)


# ------------------------------------------------------------------------------ α → 1
NEAR_ONE = [1 + 1e-9, 1 + 1e-6]
GUARD_EVENTS = [
    (PoissonSampled(Gaussian(1.0), 0.01), 1000),
    (PoissonSampled(Gaussian(10.0), 0.5), 10),
    (PoissonSampled(Gaussian(3.0), 0.2), 100),
    (Gaussian(2.0), 1),
    (Laplace(1.0), 3),
    (PureDP(0.01), 1),
    (RandomizedResponse(1e-4), 1),
    (RandomizedResponse(1e-3, k=5), 1),
    (PoissonSampled(Laplace(1.0), 0.01), 100),
    (SampledWithoutReplacement(Gaussian(1.0), 0.01), 100),
    (ZCDP(1e-3), 1),
]


@pytest.mark.parametrize("event,count", GUARD_EVENTS, ids=lambda v: repr(v)[:60])
def test_orders_near_one_change_nothing(event, count):
    """Orders 1 + 1e-9 and 1 + 1e-6 in the grid must not produce NaN, a negative ε, an error,
    or a spurious ε = 0 (TF-Privacy issue #166): at δ = 1e-5 they are never the optimal order,
    so ε must equal the default grid's."""
    orders = np.concatenate([NEAR_ONE, np.asarray(DEFAULT_ORDERS)])
    with_near = Accountant(orders=orders).compose(event, count)
    curve = with_near.rdp()
    assert not np.isnan(curve).any() and (curve >= 0).all()
    eps = with_near.epsilon(1e-5, method="rdp")
    base = Accountant().compose(event, count).epsilon(1e-5, method="rdp")
    assert not math.isnan(eps)
    assert eps == pytest.approx(base, rel=1e-12), (eps, base)


KL_CASES = [
    # (event, KL divergence = lim_{α→1} D_α)
    (Gaussian(2.0), 1 / 8),
    (Laplace(1.0), 1.0 + math.exp(-1.0) - 1.0),
    (Laplace(10.0), 0.1 + math.exp(-0.1) - 1.0),
    (RandomizedResponse(1e-3), 1e-3 * math.tanh(0.5e-3)),  # (2p−1)·log(p/(1−p))
    (RandomizedResponse(1e-4), 1e-4 * math.tanh(0.5e-4)),
    (PureDP(0.01), 0.01 * math.tanh(0.005)),
    (RandomizedResponse(0.5), 0.5 * math.tanh(0.25)),
]


@pytest.mark.parametrize("event,kl", KL_CASES, ids=lambda v: repr(v)[:40])
def test_rdp_just_above_order_one_is_the_kl_divergence(event, kl):
    """D_α → KL as α → 1, and D_α ≥ KL for α > 1: a value below KL is unsound (it feeds the
    TV shortcut, which then certifies ε = 0 at too small a δ)."""
    got = event.rdp(NEAR_ONE)
    assert np.all(got >= kl * (1 - 1e-6)), (got, kl)
    assert np.all(got <= event.rdp([1.01])[0])
    assert got[0] == pytest.approx(kl, rel=1e-6)


def test_no_spurious_zero_for_small_randomized_response():
    """RR with ε0 = 1e-4 has TV distance tanh(ε0/2) ≈ 5e-5, so it is not (0, 1e-5)-DP. Its
    exact privacy profile gives ε(δ) = log((a − δ)/b) (replace-one), a lower bound for any
    sound accountant."""
    e0, delta = 1e-4, 1e-5
    a = math.exp(e0) / (math.exp(e0) + 1)
    b = 1 / (math.exp(e0) + 1)
    true_eps = math.log((a - delta) / b)
    acct = Accountant(orders=[1 + 1e-9, 1.5, 2.0, 10.0, math.inf]).compose(RandomizedResponse(e0))
    assert acct.epsilon(delta, method="rdp") >= true_eps


def test_conversion_accepts_orders_near_one_directly():
    orders = [1 + 1e-9, 1 + 1e-6, 1.5, 2.0, 10.0]
    r = [0.01, 0.0100001, 0.5, 0.7, 2.0]
    for d in (1e-12, 1e-5, 0.05):
        e = C.rdp_to_epsilon(orders, r, d)
        assert not math.isnan(e.value) and e.value >= 0
        assert e.value == C.rdp_to_epsilon(orders[2:], r[2:], d).value or e.method == "tv"


# ------------------------------------------------------------------------------- δ = 0
def test_delta_zero_with_pure_ledger_is_the_exact_sum():
    acct = (Accountant().compose(PureDP(0.3)).compose(Laplace(2.0))
            .compose(RandomizedResponse(0.7)).compose(PureDP(0.1), count=7))
    assert acct.epsilon(0.0, method="rdp") == pytest.approx(0.3 + 0.5 + 0.7 + 0.7, rel=1e-14)
    assert acct.epsilon_details(0.0, method="rdp").method == "pure"
    assert acct.delta(acct.epsilon(0.0, method="rdp"), method="rdp") == 0.0


def test_delta_zero_with_poisson_sampled_pure_dp_is_the_amplified_epsilon():
    # Balle, Barthe, Gaboardi 2018: ε' = log(1 + q(e^ε − 1))
    acct = Accountant().compose(PoissonSampled(Laplace(1.0), 0.1), count=3)
    assert acct.epsilon(0.0, method="rdp") == pytest.approx(
        3 * math.log1p(0.1 * math.expm1(1.0)), rel=1e-13)


@pytest.mark.parametrize(
    "event", [Gaussian(1.0), PoissonSampled(Gaussian(1.0), 0.01), ZCDP(0.1)], ids=repr
)
def test_delta_zero_with_a_gaussian_is_infinite(event):
    assert Accountant().compose(event).epsilon(0.0, method="rdp") == math.inf
    assert Accountant().compose(event).compose(PureDP(1.0)).epsilon(0.0, method="rdp") == math.inf


def test_gaussian_epsilon_is_never_below_the_analytic_gaussian(oracle):
    """Soundness against the exact (ε, δ) curve of the Gaussian mechanism (Balle & Wang 2018)."""
    for sigma in (0.5, 1.0, 5.0, 50.0):
        for delta in (1e-10, 1e-5, 1e-2):
            eps = Accountant().compose(Gaussian(sigma)).epsilon(delta, method="rdp")
            assert oracle.gaussian_delta(sigma, eps) <= delta * (1 + 1e-9)
