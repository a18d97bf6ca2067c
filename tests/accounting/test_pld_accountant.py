"""The PLD inside the one Accountant (issue 16): method="rdp" | "pld" | "auto".

Each method is checked against an independent truth on its own (closed forms, exact sums,
dp_accounting's PLD), never by assuming that one bounds the other.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import comb
from scipy.stats import norm

from dpkit.accounting import (
    ZCDP,
    Accountant,
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
from dpkit.accounting.pld import (
    ADD,
    REMOVE,
    GaussianPair,
    SampledGaussianPair,
    ledger_directions,
)
from dpkit.errors import DPKitError, PLDUnavailableError


def gaussian_delta(sigma: float, eps: float) -> float:
    """Balle & Wang 2018, Thm. 8 (sensitivity 1)."""
    mu = 1.0 / sigma
    return float(norm.cdf(-eps / mu + mu / 2) - math.exp(eps) * norm.cdf(-eps / mu - mu / 2))


def rr_composed_delta(eps: float, k: int, n: int, x: float) -> float:
    """Exact δ(x) of n compositions of k-ary RR: the loss is ε·(#x − #x′) with multinomial
    counts (p_x = e^ε/z, p_x′ = 1/z, rest (k−2)/z under P)."""
    z = math.exp(eps) + k - 1
    a, b, c = math.exp(eps) / z, 1 / z, (k - 2) / z
    total = 0.0
    for i in range(n + 1):  # i outcomes x
        for j in range(n - i + 1):  # j outcomes x′
            loss = eps * (i - j)
            if loss <= x:
                continue
            m = comb(n, i) * comb(n - i, j)
            pm = m * a**i * b**j * c ** (n - i - j)
            qm = m * b**i * a**j * c ** (n - i - j)
            total += pm - math.exp(x) * qm
    return total


def laplace_delta(b: float, eps: float) -> float:
    """Exact δ(ε) of one Laplace mechanism (sensitivity 1, scale b), for 0 ≤ ε ≤ 1/b:
    1 − e^{(ε − 1/b)/2}."""
    return 1.0 - math.exp((eps - 1.0 / b) / 2)


# --------------------------------------------------------------------------- each event
@pytest.mark.parametrize("sigma,n", [(1.0, 1), (2.0, 10), (5.0, 3)])
def test_gaussian_pld_matches_the_analytic_gaussian(sigma, n):
    acct = Accountant().compose(Gaussian(sigma), n)
    eff = sigma / math.sqrt(n)
    for eps in (0.5, 1.0, 2.0):
        got = acct.delta(eps, method="pld")
        want = gaussian_delta(eff, eps)
        assert want <= got <= want * 1.01 + 1e-12
    e = acct.epsilon(1e-5, method="pld")
    assert gaussian_delta(eff, e) <= 1e-5 * (1 + 1e-9)  # the bound is valid
    assert gaussian_delta(eff, e * 0.99) > 1e-5  # and tight to 1 %


def test_mixed_gaussians_merge_exactly():
    acct = Accountant().compose(Gaussian(1.0), 3).compose(Gaussian(2.0), 4)
    (d,) = ledger_directions(acct.ledger, acct.relation)
    assert d == [(GaussianPair(1.0 / math.sqrt(3 + 4 / 4)), 1)]
    got = acct.delta(1.0, method="pld")
    want = gaussian_delta(0.5, 1.0)
    assert want <= got <= want * 1.01


@pytest.mark.parametrize("eps,k,n", [(0.5, 2, 20), (1.0, 3, 12), (0.3, 5, 30)])
def test_randomized_response_pld_matches_the_exact_sum(eps, k, n):
    acct = Accountant().compose(RandomizedResponse(eps, k), n)
    for x in (0.5 * eps, 2.0 * eps + 0.1, 4.0):
        want = rr_composed_delta(eps, k, n, x)
        got = acct.delta(x, method="pld")
        assert want * (1 - 1e-9) - 1e-15 <= got <= want * 1.001 + 1e-12
    # pure DP is binary RR
    a = Accountant().compose(PureDP(eps), n)
    assert a.delta(eps, method="pld") >= rr_composed_delta(eps, 2, n, eps) * (1 - 1e-9)


def test_laplace_pld_matches_the_closed_form():
    b = 2.0
    acct = Accountant().compose(Laplace(b))
    for eps in (0.0625, 0.25, 0.4):
        got = acct.delta(eps, method="pld")
        want = laplace_delta(b, eps)
        assert want * (1 - 1e-9) <= got <= want * 1.01


@pytest.mark.parametrize("sigma,q,steps", [(1.0, 0.01, 300), (0.8, 0.05, 50)])
def test_dpsgd_pld_between_dp_accounting_optimistic_and_pessimistic(sigma, q, steps):
    dpp = pytest.importorskip("dp_accounting.pld.privacy_loss_distribution")

    def dpacc(pessimistic: bool) -> float:
        kw = {} if pessimistic else {"pessimistic_estimate": False, "use_connect_dots": False}
        return float(dpp.from_gaussian_mechanism(
            sigma, sampling_prob=q, value_discretization_interval=1e-3, **kw
        ).self_compose(steps).get_epsilon_for_delta(1e-5))

    ours = dpsgd.epsilon(sigma, q, steps, 1e-5, method="pld")
    assert dpacc(False) <= ours <= dpacc(True) * 1.005


def test_directions_of_dpsgd_are_remove_and_add():
    ev = PoissonSampled(Gaussian(1.0), 0.01)
    dirs = ledger_directions([(ev, 7), (Gaussian(2.0), 1)], "add_remove")
    assert len(dirs) == 2
    assert (SampledGaussianPair(1.0, 0.01, REMOVE), 7) in dirs[0]
    assert (SampledGaussianPair(1.0, 0.01, ADD), 7) in dirs[1]
    assert (GaussianPair(2.0), 1) in dirs[0] and (GaussianPair(2.0), 1) in dirs[1]
    # Repeated multiplies, nested wrappers flatten
    d2 = ledger_directions([(Repeated(Repeated(ev, 2), 3), 5)], "add_remove")
    assert d2[0] == [(SampledGaussianPair(1.0, 0.01, REMOVE), 30)]


def test_sampled_pure_dp_is_certified_and_below_rdp():
    acct = Accountant().compose(PoissonSampled(PureDP(1.0), 0.05), 200)
    pld = acct.epsilon(1e-5, method="pld")
    # sanity against basic facts: ≤ the amplified pure-DP ε times the steps, > 0
    amplified = math.log1p(0.05 * math.expm1(1.0))
    assert 0 < pld <= 200 * amplified
    assert acct.epsilon(1e-5) == min(pld, acct.epsilon(1e-5, method="rdp"))


# --------------------------------------------------------------------------- auto, errors
def test_auto_is_the_minimum_of_both_and_says_which_decided():
    acct = Accountant().compose(PoissonSampled(Gaussian(1.0), 0.01), 1000)
    r = acct.epsilon_details(1e-5)
    assert r.requested == "auto" and r.rdp_epsilon is not None and r.pld_epsilon is not None
    assert r.epsilon == min(r.rdp_epsilon, r.pld_epsilon)
    assert r.rdp_epsilon == acct.epsilon(1e-5, method="rdp")
    assert r.pld_epsilon == acct.epsilon(1e-5, method="pld")
    assert r.method == ("pld" if r.pld_epsilon < r.rdp_epsilon else "rdp")
    if r.method == "pld":
        assert math.isnan(r.order) and r.to_dict()["order"] is None
    d = r.to_dict()
    assert {"epsilon", "delta", "order", "method", "relation", "requested", "rdp_epsilon",
            "pld_epsilon", "note"} <= set(d)
    assert acct.delta(1.0) == min(acct.delta(1.0, method="rdp"), acct.delta(1.0, method="pld"))


@pytest.mark.parametrize("event", [RDPCurve((2.0, 10.0), (0.1, 0.5)), ZCDP(0.01),
                                   SampledWithoutReplacement(ZCDP(0.01), 0.1)], ids=repr)
def test_pld_unavailable_names_the_event_and_auto_falls_back(event):
    acct = Accountant().compose(Gaussian(1.0), 2).compose(event)
    with pytest.raises(PLDUnavailableError, match=type(event).__name__):
        acct.epsilon(1e-5, method="pld")
    with pytest.raises(PLDUnavailableError, match="rdp"):
        acct.delta(1.0, method="pld")
    r = acct.epsilon_details(1e-5)
    assert r.epsilon == acct.epsilon(1e-5, method="rdp") and r.pld_epsilon is None
    assert type(event).__name__ in r.note and "RDP" in r.note


@pytest.mark.parametrize("bad", ["PLD", "", None, 3, "prv"])
def test_method_is_validated(bad):
    acct = Accountant().compose(Gaussian(1.0))
    for call in (lambda: acct.epsilon(1e-5, method=bad), lambda: acct.delta(1.0, method=bad),
                 lambda: dpsgd.epsilon(1.0, 0.01, 10, 1e-5, method=bad),
                 lambda: dpsgd.noise_multiplier(1.0, 1e-5, 0.01, 10, method=bad)):
        with pytest.raises(DPKitError, match="method"):
            call()


@pytest.mark.parametrize("event", [Gaussian(0.0), Gaussian(math.inf), PureDP(math.inf),
                                   PureDP(0.0), Laplace(0.0), RandomizedResponse(0.0, 3),
                                   PoissonSampled(Gaussian(0.0), 0.1),
                                   PoissonSampled(Gaussian(1.0), 0.0),
                                   PoissonSampled(PureDP(2.0), 1.0)], ids=repr)
def test_never_nan_at_the_edges(event):
    acct = Accountant().compose(event, 3)
    for m in ("pld", "auto", "rdp"):
        for d in (1e-10, 1e-5, 0.5):
            e = acct.epsilon(d, method=m)
            assert not math.isnan(e) and e >= 0
        for e in (0.01, 1.0, 50.0, math.inf):
            dd = acct.delta(e, method=m)
            assert not math.isnan(dd) and 0.0 <= dd <= 1.0


def test_too_many_distinct_events_auto_falls_back_with_a_note():
    from dpkit.accounting.accountant import AUTO_MAX_EVENTS

    acct = Accountant().compose_many(
        (PoissonSampled(Gaussian(1.0 + i / 1000), 0.01), 10) for i in range(AUTO_MAX_EVENTS + 1))
    r = acct.epsilon_details(1e-5)
    assert r.pld_epsilon is None and "AUTO_MAX_EVENTS" in r.note
    assert r.epsilon == acct.epsilon(1e-5, method="rdp")


def test_pld_answers_are_cached_per_accountant():
    acct = Accountant().compose(PoissonSampled(Gaussian(1.0), 0.02), 100)
    first = acct.epsilon(1e-6, method="pld")
    assert acct._pld[("eps", 1e-6)] == first
    assert acct.epsilon(1e-6, method="pld") == first


# --------------------------------------------------------------------------- calibration
def test_max_steps_reachable_with_pld():
    with pytest.raises(DPKitError):
        dpsgd.max_steps(0.8, 0.001, 1.0, 1e-6, method="rdp")
    t = dpsgd.max_steps(0.8, 0.001, 1.0, 1e-6)
    assert t >= 1000
    assert dpsgd.epsilon(0.8, 0.001, t, 1e-6, method="pld") <= 1.0
    assert dpsgd.epsilon(0.8, 0.001, t + 1, 1e-6, method="pld") > 1.0
    assert dpsgd.epsilon(0.8, 0.001, 1000, 1e-6, method="pld") == pytest.approx(0.4677, abs=2e-3)


@pytest.mark.parametrize("target,delta,q,steps", [(1.0, 1e-5, 0.01, 1000), (2.0, 1e-6, 0.05, 200)])
def test_pld_noise_calibration_meets_the_target_and_is_tight(target, delta, q, steps):
    s = dpsgd.noise_multiplier(target, delta, q, steps)
    s_rdp = dpsgd.noise_multiplier(target, delta, q, steps, method="rdp")
    assert s <= s_rdp
    assert dpsgd.epsilon(s, q, steps, delta) <= target
    assert dpsgd.epsilon(s * (1 - 5e-3), q, steps, delta, method="pld") > target
    assert s == dpsgd.noise_multiplier(target, delta, q, steps, method="pld")


def test_pld_sample_rate_calibration_meets_the_target():
    q = dpsgd.max_sample_rate(1.0, 1000, 2.0, 1e-5)
    assert q >= dpsgd.max_sample_rate(1.0, 1000, 2.0, 1e-5, method="rdp")
    assert dpsgd.epsilon(1.0, q, 1000, 1e-5) <= 2.0
    assert dpsgd.epsilon(1.0, q * (1 + 5e-3), 1000, 1e-5, method="pld") > 2.0


def test_orders_unused_by_pld_results_are_numbers():
    r = dpsgd.epsilon_details(1.0, 0.01, 100, 1e-5, method="pld")
    assert r.method == "pld" and math.isnan(r.order) and np.isfinite(r.epsilon)


def test_delta_beyond_the_largest_loss_is_the_infinite_mass_only():
    eps, n = 0.5, 20
    acct = Accountant().compose(RandomizedResponse(eps), n)
    assert acct.delta(n * eps + 0.1, method="pld") <= 1e-290  # no outcome has a larger loss
    assert acct.delta(n * eps - 0.1, method="pld") >= rr_composed_delta(eps, 2, n, n * eps - 0.1)
    # the add direction of DP-SGD has losses ≤ −log(1 − q) per step: only remove counts there
    q, t = 0.02, 3
    sg = Accountant().compose(PoissonSampled(Gaussian(1.1), q), t)
    from dpkit.accounting.pld import delta_bound

    rem = delta_bound([(SampledGaussianPair(1.1, q, REMOVE), t)], 0.1)
    assert -t * math.log1p(-q) < 0.1 and sg.delta(0.1, method="pld") == rem


def test_auto_keeps_rdp_outside_the_validated_ranges_with_a_note():
    acct = Accountant().compose(PoissonSampled(Gaussian(0.01), 0.5), 2)
    r = acct.epsilon_details(1e-5)
    assert r.pld_epsilon is None and "outside" in r.note
    assert r.epsilon == acct.epsilon(1e-5, method="rdp")


def test_pld_refuses_too_many_distinct_pairs_clearly():
    from dpkit.accounting.accountant import PLD_MAX_PAIRS

    acct = Accountant().compose_many(
        (PoissonSampled(Gaussian(1.0 + i / 1e4), 0.01), 1) for i in range(PLD_MAX_PAIRS + 1))
    with pytest.raises(DPKitError, match="PLD limit"):
        acct.epsilon(1e-5, method="pld")


def test_calibration_without_a_pair_auto_is_rdp_and_pld_refuses():
    from dpkit.accounting import calibrate

    def make(s: float) -> ZCDP:
        return ZCDP(1.0 / (2 * s * s))

    auto = calibrate.noise_multiplier(make, 1.0, 1e-5, count=3)
    assert auto == calibrate.noise_multiplier(make, 1.0, 1e-5, count=3, method="rdp")
    with pytest.raises(PLDUnavailableError, match="ZCDP"):
        calibrate.noise_multiplier(make, 1.0, 1e-5, count=3, method="pld")
    with pytest.raises(PLDUnavailableError):
        calibrate.max_count(ZCDP(0.01), 1.0, 1e-5, method="pld")


def test_sampled_pure_dp_matches_the_exact_binomial_sums():
    """Poisson-sampled ε-DP: remove pair (qP + (1−q)Q, Q), add pair (Q, qP + (1−q)Q) with
    (P, Q) the ε-RR laws (ZDW22, Thm. 11); n compositions of a two-point pair have an exact
    δ(x) = Σ_k C(n,k) [P0^k P1^(n−k) − e^x Q0^k Q1^(n−k)]₊."""
    eps, q, n = 1.0, 0.1, 40
    a, b = math.exp(eps) / (1 + math.exp(eps)), 1 / (1 + math.exp(eps))
    mix = (q * a + (1 - q) * b, q * b + (1 - q) * a)

    def exact(p: tuple[float, float], qq: tuple[float, float], x: float) -> float:
        return sum(max(comb(n, k) * (p[0] ** k * p[1] ** (n - k)
                                     - math.exp(x) * qq[0] ** k * qq[1] ** (n - k)), 0.0)
                   for k in range(n + 1))

    acct = Accountant().compose(PoissonSampled(PureDP(eps), q), n)
    for x in (0.3, 0.8, 1.5):
        want = max(exact(mix, (b, a), x), exact((b, a), mix, x))
        got = acct.delta(x, method="pld")
        assert want * (1 - 1e-9) <= got <= want * 1.01 + 1e-12


# ------------------------------------------------------- validate once / calibration cost
@pytest.mark.parametrize("parts", [
    [(GaussianPair(1.3), 1)],
    [(SampledGaussianPair(1.1, 0.01, REMOVE), 1)],
    [(SampledGaussianPair(1.1, 0.01, ADD), 300)],
    [(GaussianPair(2.0), 1), (SampledGaussianPair(0.9, 0.02, REMOVE), 50)],
])
def test_direction_bounds_are_the_public_bounds_without_the_checks(parts):
    """``direction_epsilon`` / ``direction_delta`` (the accountant's and the searches' entry
    points, on validated values) give the engine's public bounds exactly."""
    from dpkit.accounting.pld import delta_bound, epsilon_bound
    from dpkit.accounting.pld.ledger import direction_delta, direction_epsilon

    for d in (1e-9, 1e-5, 0.3):
        assert direction_epsilon(parts, d) == epsilon_bound(parts, d)
    for e in (0.05, 1.0, 4.0):
        assert direction_delta(parts, e) == delta_bound(parts, e)


def _count_pld(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    from dpkit.accounting.pld import ledger

    seen: list[float] = []
    orig = ledger.direction_epsilon

    def counting(parts, delta, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(delta)
        return orig(parts, delta, **kwargs)

    monkeypatch.setattr(ledger, "direction_epsilon", counting)
    return seen


@pytest.mark.parametrize("target,delta,q,steps,most", [
    (1.0, 1e-5, 0.01, 1000, 4), (0.5, 1e-5, 0.05, 200, 4), (3.0, 1e-5, 0.004, 10_000, 5),
    (8.0, 1e-6, 0.001, 100_000, 5)])
def test_pld_noise_calibration_takes_few_pld_evaluations(monkeypatch, target, delta, q, steps,
                                                          most):
    """Issue 16 (calibration ≥ 50× Opacus PRV): the PLD search starts at the
    characteristic-function estimate of the crossing (or the RDP σ) and steers by the
    slope, so it needs a few certified evaluations (one direction each), the last two
    certifying the answer in both directions. Counts, not timings."""
    seen = _count_pld(monkeypatch)
    s = dpsgd.noise_multiplier(target, delta, q, steps, method="pld")
    assert 2 <= len(seen) <= most
    assert set(seen) == {delta}
    monkeypatch.undo()
    assert dpsgd.epsilon(s, q, steps, delta, method="pld") <= target
    assert dpsgd.epsilon(s * (1 - 3e-3), q, steps, delta, method="pld") > target


def test_auto_noise_calibration_is_the_smaller_sigma_of_both_methods():
    """"auto" = min(RDP σ, PLD σ): the PLD σ when it is smaller (DP-SGD), the RDP σ to the
    bit when the PLD is unavailable or skipped (outside the ranges "auto" trusts)."""
    from dpkit.accounting import calibrate

    s = dpsgd.noise_multiplier(1.0, 1e-5, 0.01, 1000)
    assert s == dpsgd.noise_multiplier(1.0, 1e-5, 0.01, 1000, method="pld")
    assert s < dpsgd.noise_multiplier(1.0, 1e-5, 0.01, 1000, method="rdp")

    def far(x: float) -> PoissonSampled:  # sampled σ far below the auto range (0.1, 1e3)
        return PoissonSampled(Gaussian(x), 0.5)

    auto = calibrate.noise_multiplier(far, 1000.0, 1e-5, count=2, bounds=(1e-3, 0.05))
    assert auto == calibrate.noise_multiplier(far, 1000.0, 1e-5, count=2, bounds=(1e-3, 0.05),
                                              method="rdp")


@pytest.mark.parametrize("eps", [0.0, 1e-9, 1e-4, 2e-3])
def test_pld_delta_at_tiny_epsilon_is_certified(eps):
    """δ(ε) by PLD for every ε ≥ 0 (the accountant refused ε < 1e-3 while the engine planned
    its grid from ε): at or above the exact value (analytic Gaussian, binomial sum for RR),
    within 0.1 %, and "auto" uses it (no note)."""
    sigma, n = 2.0, 10
    g = Accountant().compose(Gaussian(sigma), n)
    want = gaussian_delta(sigma / math.sqrt(n), eps)
    got = g.delta(eps, method="pld")
    assert want <= got <= want * 1.001 + 1e-12
    assert g.delta(eps) == min(got, g.delta(eps, method="rdp"))
    rr = Accountant().compose(RandomizedResponse(0.5), 20)
    want = rr_composed_delta(0.5, 2, 20, eps)
    assert want * (1 - 1e-9) <= rr.delta(eps, method="pld") <= want * 1.001 + 1e-12
    sg = Accountant().compose(PoissonSampled(Gaussian(1.0), 0.01), 1000)
    d = sg.delta(eps, method="pld")
    assert 0.0 < d < 1.0 and math.isfinite(d)
