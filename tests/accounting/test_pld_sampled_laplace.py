"""Certified PLD of the Poisson-subsampled Laplace mechanism (SampledLaplacePair).

References used here, each computed independently of the pair's closed forms:
* interval masses: scipy.integrate.quad of the Laplace densities over the x-interval that
  maps to each loss interval (the x-ends found by brentq on L(x));
* one step: the hockey-stick divergence ∫(p − e^ε q)₊ by quad (kink at the root of L);
* T steps: dp_accounting's connect-the-dots PLD (pessimistic) and privacy-buckets PLD
  (optimistic) of the same subsampled Laplace mechanism (both directions of add/remove).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import integrate, optimize

from dpkit.accounting import (
    Accountant,
    Laplace,
    PoissonSampled,
    PureDP,
    RandomizedResponse,
)
from dpkit.accounting.pld import SampledLaplacePair, delta_bound, ledger_directions
from dpkit.errors import DPKitError, IncompatibleRelationError

QS = (1e-4, 0.1, 0.9)
BS = (0.05, 1.0, 20.0)


# ------------------------------------------------------------------ independent reference
def _loss(x: float, q: float, b: float) -> float:
    """Remove loss log(((1−q)A + qB)/A)(x), A = Lap(0, b), B = Lap(1, b)."""
    return math.log1p(q * math.expm1((abs(x) - abs(x - 1.0)) / b))


def _dens(m: float, b: float):
    return lambda x: math.exp(-abs(x - m) / b) / (2.0 * b)


def _quad(f, lo: float, hi: float) -> float:
    """∫_lo^hi f, split at the kinks 0 and 1 of the Laplace densities."""
    if not lo < hi:
        return 0.0
    cuts = [lo] + [k for k in (0.0, 1.0) if lo < k < hi] + [hi]
    return sum(integrate.quad(f, a, z, epsabs=0.0, epsrel=1e-12, limit=200)[0]
               for a, z in zip(cuts[:-1], cuts[1:], strict=True))


def _root(t: float, q: float, b: float) -> float:
    return optimize.brentq(lambda x: _loss(x, q, b) - t, 0.0, 1.0, xtol=1e-15, rtol=1e-15)


def _x_sup_le(t: float, q: float, b: float) -> float:
    """sup{x : L(x) ≤ t} (L non-decreasing): {L ≤ t} = (−∞, x], {L > t} = (x, ∞)."""
    lo, hi = _loss(-1.0, q, b), _loss(2.0, q, b)
    if t < lo:
        return -math.inf
    if t >= hi:
        return math.inf
    return 0.0 if t == lo else _root(t, q, b)


def _x_inf_ge(t: float, q: float, b: float) -> float:
    """inf{x : L(x) ≥ t}: {L < t} = (−∞, x)."""
    lo, hi = _loss(-1.0, q, b), _loss(2.0, q, b)
    if t <= lo:
        return -math.inf
    if t > hi:
        return math.inf
    return _root(t, q, b)


def _reference_masses(q: float, b: float, direction: str, edges: np.ndarray):
    """(P-masses of the n intervals, Q-masses, P below, P above, Q above) by quad."""
    a, bb = _dens(0.0, b), _dens(1.0, b)

    def mix(x: float) -> float:
        return (1 - q) * a(x) + q * bb(x)

    if direction == "remove":  # P = mix, Q = A; L ∈ (e_j, e_{j+1}] ⇔ x ∈ (x_j, x_{j+1}]
        xs = [_x_sup_le(float(e), q, b) for e in edges]
        p_d, q_d = mix, a
    else:  # P = A, Q = mix; L' = −L ∈ (e_j, e_{j+1}] ⇔ L ∈ [−e_{j+1}, −e_j) ⇔ x ∈ [y_{j+1}, y_j)
        xs = [_x_inf_ge(-float(e), q, b) for e in edges]
        p_d, q_d = a, mix

    def mass(f, u: float, w: float) -> float:
        u, w = min(u, w), max(u, w)
        return _quad(f, u, w)

    pi = np.array([mass(p_d, u, w) for u, w in zip(xs[:-1], xs[1:], strict=True)])
    qi = np.array([mass(q_d, u, w) for u, w in zip(xs[:-1], xs[1:], strict=True)])
    if direction == "remove":
        below = mass(p_d, -math.inf, xs[0])
        p_above, q_above = mass(p_d, xs[-1], math.inf), mass(q_d, xs[-1], math.inf)
    else:
        below = mass(p_d, xs[0], math.inf)
        p_above, q_above = mass(p_d, -math.inf, xs[-1]), mass(q_d, -math.inf, xs[-1])
    return pi, qi, below, p_above, q_above


def _exact_delta(q: float, b: float, direction: str, eps: float) -> float:
    """∫(p − e^ε q)₊ dx by quad, the kink at the root of L = ±ε given as a break point."""
    a = _dens(0.0, b)
    g, gm1 = math.exp(eps), math.expm1(eps)

    def f(x: float) -> float:
        # with m = a·(1 + q·(e^r − 1)), r = (|x| − |x−1|)/b, written without cancellation:
        # m − e^ε a = a·(q(e^r − 1) − (e^ε − 1)), a − e^ε m = a·(−(e^ε − 1) − e^ε q(e^r − 1))
        er = math.expm1((abs(x) - abs(x - 1.0)) / b)
        k = q * er - gm1 if direction == "remove" else -gm1 - g * q * er
        return a(x) * max(k, 0.0)

    s = eps if direction == "remove" else -eps
    lo, hi = _loss(-1.0, q, b), _loss(2.0, q, b)
    pts = [0.0, 1.0] + ([_root(s, q, b)] if lo < s < hi else [])
    cuts = [-math.inf] + sorted(set(pts)) + [math.inf]
    return sum(integrate.quad(f, u, w, epsabs=0.0, epsrel=1e-12, limit=200)[0]
               for u, w in zip(cuts[:-1], cuts[1:], strict=True))


# ------------------------------------------------------------------------------- the pair
def _grids(pair: SampledLaplacePair) -> list[np.ndarray]:
    lo, hi = pair.loss_range()
    w = hi - lo
    rng = np.random.default_rng(7)
    return [np.linspace(lo - 0.1 * w, hi + 0.1 * w, 12),  # both atoms inside
            np.linspace(lo + 0.03 * w, hi - 0.07 * w, 9),  # atoms below / above
            np.sort(rng.uniform(lo, hi, 7))]  # uneven


@pytest.mark.parametrize("direction", ["remove", "add"])
@pytest.mark.parametrize("b", BS)
@pytest.mark.parametrize("q", QS)
def test_interval_masses_match_quadrature(q, b, direction):
    pair = SampledLaplacePair(b, q, direction)
    for edges in _grids(pair):
        m = pair._masses(edges)
        pi, qi, below, p_above, q_above = _reference_masses(q, b, direction, edges)
        # P sums to 1 with below/above; Q to ≤ 1 (its mass below is not carried)
        assert m.p_int.sum() + m.p_below + m.p_above == pytest.approx(1.0, abs=1e-14)
        assert m.q_int.sum() + m.q_above <= 1.0 + 1e-14
        assert pi.sum() + below + p_above == pytest.approx(1.0, abs=1e-10)  # the reference
        np.testing.assert_allclose(m.p_int, pi, rtol=1e-8, atol=1e-15)
        np.testing.assert_allclose(m.q_int, qi, rtol=1e-8, atol=1e-15)
        np.testing.assert_allclose([m.p_below, m.p_above, m.q_above],
                                   [below, p_above, q_above], rtol=1e-8, atol=1e-15)
        assert (m.p_int >= 0).all() and (m.q_int >= 0).all()


@pytest.mark.parametrize("q, b", [(0.1, 1.0), (1e-4, 0.05), (0.9, 20.0)])
def test_atoms_on_grid_edges_fall_in_the_interval_closed_above(q, b):
    """Intervals are (ℓ_j, ℓ_{j+1}]: an atom on an edge belongs to the interval below it
    (P(L ≤ ℓ_0) is "below"), so connect-the-dots keeps it exactly on that grid loss."""
    lo, hi = SampledLaplacePair(b, q)._atoms()
    small, big = 0.5 * math.exp(-1 / b), 0.5  # A- and B-mass of the atoms' x-regions
    m = SampledLaplacePair(b, q, "remove")._masses(np.array([lo, 0.5 * (lo + hi), hi]))
    assert m.p_below == pytest.approx((1 - q) * big + q * small, rel=1e-14)
    # (above: at most a rounding sliver of the continuous part, where v(ℓ_hi) ≠ c in float)
    assert m.p_above <= 1e-15 and m.q_above <= 1e-15
    assert m.p_int[-1] >= (1 - q) * small + q * big
    m = SampledLaplacePair(b, q, "add")._masses(np.array([-hi, -0.5 * (lo + hi), -lo]))
    assert m.p_below == pytest.approx(small, rel=1e-14)  # A-mass of x ≥ 1, at L' = −ℓ_hi
    assert m.p_above <= 1e-15 and m.q_above <= 1e-15
    assert m.p_int[-1] >= big  # A-mass of x ≤ 0 at L' = −ℓ_lo, the top edge


@pytest.mark.parametrize("direction", ["remove", "add"])
def test_loss_range_holds_the_atoms_and_honours_the_tail(direction):
    q, b = 0.3, 0.02
    pair = SampledLaplacePair(b, q, direction)
    lo_atom, hi_atom = math.log1p(q * math.expm1(-1 / b)), math.log1p(q * math.expm1(1 / b))
    lo, hi = pair.loss_range(1e-300)
    want = (lo_atom, hi_atom) if direction == "remove" else (-hi_atom, -lo_atom)
    assert lo <= want[0] and hi >= want[1]
    assert hi - want[1] <= 1e-13 * abs(want[1]) and want[0] - lo <= 1e-13 * abs(want[0])
    # at a tail of 1e-12 the add direction drops its bottom atom (A-mass e^{−50}/2) and
    # the part of the continuous mass below 1e-12; the mass left out is ≤ the tail
    lo12, hi12 = pair.loss_range(1e-12)
    m = pair._masses(np.array([lo12, hi12]))
    assert m.p_above <= 1e-12 and m.p_below <= 1e-12 * (1 + 1e-9) + 1e-300
    if direction == "add":
        assert lo12 > want[0] + 1.0
        assert m.p_below > 1e-13  # not far from the tail either: the range is tight


@pytest.mark.parametrize("kw, name", [
    (dict(noise_multiplier=0.0, sample_rate=0.1), "noise_multiplier"),
    (dict(noise_multiplier=math.inf, sample_rate=0.1), "noise_multiplier"),
    (dict(noise_multiplier=-1.0, sample_rate=0.1), "noise_multiplier"),
    (dict(noise_multiplier=1.0, sample_rate=0.0), "sample_rate"),
    (dict(noise_multiplier=1.0, sample_rate=1.0), "sample_rate"),
    (dict(noise_multiplier=1.0, sample_rate=math.nan), "sample_rate"),
    (dict(noise_multiplier=1.0, sample_rate=0.1, direction="both"), "direction"),
])
def test_bad_parameters_raise_naming_them(kw, name):
    with pytest.raises(DPKitError, match=name):
        SampledLaplacePair(**kw)


# ----------------------------------------------------------------------------- one step
@pytest.mark.parametrize("direction", ["remove", "add"])
@pytest.mark.parametrize("b", BS)
@pytest.mark.parametrize("q", QS)
def test_one_step_delta_is_certified_and_tight(q, b, direction):
    pair = SampledLaplacePair(b, q, direction)
    top = pair.loss_range()[1]
    for eps in (0.0, 0.1 * top, 0.5 * top, 0.9 * top):
        exact = _exact_delta(q, b, direction, eps)
        got = delta_bound([(pair, 1)], eps)
        # an upper bound up to float rounding of the masses (the engine's ~1e-10 relative,
        # see pld/bounds.py: one Q-mass near ½ carries ~1e-16 against a δ of ~1e-4)
        assert got >= exact * (1 - 1e-10), (eps, got, exact)
        assert got <= exact * (1 + 1e-3) + 1e-12, (eps, got, exact)
    # above the top loss nothing is left
    assert delta_bound([(pair, 1)], top * 1.0001) <= 1e-299


# ------------------------------------------------------------------- T-fold composition
DPA_POINTS = [  # (q, b, T, δ)
    (0.01, 1.0, 1000, 1e-5), (0.1, 2.0, 100, 1e-6), (0.5, 5.0, 50, 1e-5),
    (0.001, 0.5, 2000, 1e-7), (0.2, 0.2, 10, 1e-5), (0.05, 10.0, 500, 1e-5)]


@pytest.mark.parametrize("q, b, steps, delta", DPA_POINTS)
def test_composition_against_dp_accounting(q, b, steps, delta):
    pld_mod = pytest.importorskip("dp_accounting.pld.privacy_loss_distribution")

    def dpa(pessimistic: bool) -> float:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p = pld_mod.from_laplace_mechanism(
                b, sampling_prob=q, pessimistic_estimate=pessimistic,
                value_discretization_interval=1e-4, use_connect_dots=pessimistic)
            return float(p.self_compose(steps).get_epsilon_for_delta(delta))

    pes, opt = dpa(True), dpa(False)
    got = Accountant().compose(PoissonSampled(Laplace(b), q), steps).epsilon(delta,
                                                                            method="pld")
    assert opt <= got <= 1.005 * pes, (opt, got, pes)


def test_dp_accounting_accountant_agrees_on_one_point():
    """The same point through dp_accounting's PLDAccountant (add/remove is its default)."""
    dpa = pytest.importorskip("dp_accounting")
    from dp_accounting import pld as dpa_pld

    acc = dpa_pld.PLDAccountant()
    ev = dpa.SelfComposedDpEvent(dpa.PoissonSampledDpEvent(0.1, dpa.LaplaceDpEvent(2.0)), 100)
    assert acc.supports(ev)
    ref = acc.compose(ev).get_epsilon(1e-6)
    got = Accountant().compose(PoissonSampled(Laplace(2.0), 0.1), 100).epsilon(1e-6,
                                                                              method="pld")
    assert ref * 0.99 <= got <= ref * 1.005


# -------------------------------------------------------------------------- the accountant
def test_ledger_gives_the_two_directions():
    dirs = ledger_directions([(PoissonSampled(Laplace(2.0), 0.1), 7)], "add_remove")
    assert dirs == [[(SampledLaplacePair(2.0, 0.1, "remove"), 7)],
                    [(SampledLaplacePair(2.0, 0.1, "add"), 7)]]
    assert ledger_directions([(PoissonSampled(Laplace(math.inf), 0.1), 3)], None) == [[]]


def test_accountant_pld_and_auto():
    acct = Accountant().compose(PoissonSampled(Laplace(2.0), 0.1), 100)
    pld = acct.epsilon(1e-6, method="pld")
    rdp = acct.epsilon(1e-6, method="rdp")
    r = acct.epsilon_details(1e-6)
    assert math.isfinite(pld) and 0 < pld < rdp  # PLD is far tighter here (2.14 vs 3.97)
    assert r.epsilon == min(pld, rdp) == pld and r.method == "pld" and r.note == ""
    assert r.pld_epsilon == pld and r.rdp_epsilon == rdp
    d = acct.delta(pld, method="pld")
    assert d <= 1e-6 * (1 + 1e-9)
    assert acct.delta(pld) == min(d, acct.delta(pld, method="rdp"))


def test_accountant_mixed_ledger_and_edges():
    from dpkit.accounting import Gaussian

    acct = (Accountant().compose(PoissonSampled(Laplace(1.0), 0.05), 200)
            .compose(PoissonSampled(Gaussian(1.0), 0.05), 200))
    assert acct.epsilon(1e-5) <= acct.epsilon(1e-5, method="rdp")
    assert acct.epsilon_details(1e-5).method == "pld"
    # b = ∞: free; b = 0: the sample reveals x, δ(ε) = q at every ε (remove direction)
    assert Accountant().compose(PoissonSampled(Laplace(math.inf), 0.3), 5).epsilon(
        1e-9, method="pld") == 0.0
    blatant = Accountant().compose(PoissonSampled(Laplace(0.0), 0.3))
    assert blatant.delta(5.0, method="pld") == pytest.approx(0.3, rel=1e-12)
    assert blatant.delta(5.0, method="pld") >= 0.3
    assert blatant.epsilon(0.29, method="pld") == math.inf
    # 0 < b < 1e-4 (losses beyond 1e4): the revealing pair, δ(ε) = 1 − (1 − q)^T, which
    # is above the exact δ and close to it for ε ≪ 1/b; "auto" keeps RDP's finite ε
    tiny = Accountant().compose(PoissonSampled(Laplace(1e-6), 0.1), 3)
    assert tiny.delta(5.0, method="pld") == pytest.approx(1 - 0.9 ** 3, rel=1e-12)
    assert tiny.epsilon(1e-3, method="pld") == math.inf
    assert math.isfinite(tiny.epsilon(1e-3)) and tiny.epsilon_details(1e-3).method != "pld"


# ------------------------------------------------------------------ randomized response
def test_sampled_randomized_response_is_refused_by_the_event():
    """k-RR is a replace-one (local) mechanism: its pair bounds a *replaced* record, not
    M(D ∪ {x}) vs M(D), so Poisson subsampling (add/remove) of it has no pair here; the
    event itself refuses the mix of relations."""
    for k in (2, 5):
        with pytest.raises(IncompatibleRelationError):
            PoissonSampled(RandomizedResponse(1.0, k), 0.1)


def _sampled_rr_exact_delta(eps0: float, q: float, steps: int, eps: float) -> float:
    """Exact δ(ε) of T Poisson-sampled binary ε0-RR steps (PureDP(ε0)'s tight pair), max of
    remove (qP + (1−q)Q, Q) and add (Q, qP + (1−q)Q), by enumerating the binomial counts."""
    p = [math.exp(eps0) / (1 + math.exp(eps0)), 1 / (1 + math.exp(eps0))]
    qq = p[::-1]
    mix = [q * a + (1 - q) * c for a, c in zip(p, qq, strict=True)]
    out = 0.0
    for pp, qd in ((mix, qq), (qq, mix)):
        s = 0.0
        for m in range(steps + 1):
            lc = math.lgamma(steps + 1) - math.lgamma(m + 1) - math.lgamma(steps - m + 1)
            lp = lc + m * math.log(pp[0]) + (steps - m) * math.log(pp[1])
            lq = lc + m * math.log(qd[0]) + (steps - m) * math.log(qd[1])
            if lp > lq + eps:
                s += math.exp(lp) * -math.expm1(lq + eps - lp)
        out = max(out, s)
    return out


@pytest.mark.parametrize("eps0, q, steps", [(1.0, 0.1, 20), (3.0, 0.5, 7), (0.5, 0.02, 15)])
def test_sampled_pure_dp_against_brute_force(eps0, q, steps):
    """The binary-RR case (PoissonSampled(PureDP)), the one sampled RR that is an add/remove
    event: dpkit's certified δ(ε) ≥ the exact composed value and within 1e-3 of it."""
    acct = Accountant().compose(PoissonSampled(PureDP(eps0), q), steps)
    for eps in (0.0, 0.3, 1.0, 2.5):
        exact = _sampled_rr_exact_delta(eps0, q, steps, eps)
        got = acct.delta(eps, method="pld")
        assert exact * (1 - 1e-9) <= got <= exact * (1 + 1e-3) + 1e-12, (eps, got, exact)
