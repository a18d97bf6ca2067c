"""Events with explicit output laws (issue 16, items 2-3): PMFPairs, DiscreteLaplace,
DiscreteGaussian, the envelope pair, and the mechanisms whose privacy_event uses them.

Every privacy number is checked against an independent brute-force computation (mpmath or
direct sums over the output laws): the PLD bound is never below the truth and close to it.
"""

from __future__ import annotations

import itertools
import json
import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest

from dpkit.accounting import DEFAULT_ORDERS, Accountant
from dpkit.accounting.events import (
    MAX_PMF_SIZE,
    ZCDP,
    DiscreteGaussian,
    DiscreteLaplace,
    Laplace,
    PMFPairs,
    PoissonSampled,
    PureDP,
    Repeated,
    event_from_dict,
    ledger_from_json,
)
from dpkit.accounting.pld import delta_bound, epsilon_bound, from_pmfs
from dpkit.accounting.pld.mechanism_pairs import (
    EnvelopePair,
    discrete_gaussian_candidates,
    discrete_laplace_candidates,
    envelope,
    event_pairs,
)
from dpkit.errors import DPKitError

ORDERS = np.array([1.01, 1.5, 2.0, 3.5, 8.0, 64.0, 1e4, np.inf])


def _rand_pmf(rng: np.random.Generator, n: int, zeros: int = 0) -> np.ndarray:
    x = rng.random(n) ** 3 + 1e-3
    if zeros:
        x[rng.choice(n, zeros, replace=False)] = 0.0
    return x / x.sum()


def _mp_renyi(p: np.ndarray, q: np.ndarray, a: float) -> float:
    mpmath.mp.dps = 40
    pm = [mpmath.mpf(float(x)) for x in p]
    qm = [mpmath.mpf(float(x)) for x in q]
    if math.isinf(a):
        return float(max(mpmath.log(x / y) for x, y in zip(pm, qm, strict=True) if x > 0))
    s = mpmath.fsum(x ** a * y ** (1 - a) for x, y in zip(pm, qm, strict=True) if x > 0)
    return float(mpmath.log(s) / (a - 1))


def _hockey(p: np.ndarray, q: np.ndarray, eps: float) -> float:
    """Exact δ(ε) = Σ (p − e^ε q)₊ by a direct sum (float, terms ≥ 0)."""
    return float(np.sum(np.maximum(p - math.exp(eps) * q, 0.0)))


def _exact_epsilon(delta_of, delta: float, hi: float = 50.0) -> float:
    """Smallest ε ≥ 0 with δ(ε) ≤ delta, by bisection on a decreasing δ."""
    if delta_of(0.0) <= delta:
        return 0.0
    lo = 0.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if delta_of(mid) <= delta:
            hi = mid
        else:
            lo = mid
    return hi


# ------------------------------------------------------------------------------ PMFPairs
@pytest.mark.parametrize("relation", [None, "add_remove", "replace_one"])
def test_pmf_pairs_rdp_is_the_exact_divergence(relation):
    rng = np.random.default_rng(1)
    pairs = [(_rand_pmf(rng, 5), _rand_pmf(rng, 5)) for _ in range(3)]
    ev = PMFPairs(tuple((tuple(p), tuple(q)) for p, q in pairs), relation)
    got = ev.rdp(ORDERS)
    for a, g in zip(ORDERS, got, strict=True):
        ref = max(max(_mp_renyi(p, q, a), _mp_renyi(q, p, a)) for p, q in pairs)
        assert g >= ref  # an upper bound ...
        assert g == pytest.approx(ref, rel=1e-11, abs=1e-14)  # ... and tight
    assert ev.relation == relation
    assert not ev.convex_cumulant  # several different worst cases: no pruning claimed


def test_pmf_pairs_special_cases():
    same = PMFPairs((((0.3, 0.7), (0.3, 0.7)),))
    assert np.all(same.rdp(ORDERS) == 0.0)
    only_p = PMFPairs((((0.5, 0.5, 0.0), (0.5, 0.0, 0.5)),))
    assert np.all(np.isinf(only_p.rdp(ORDERS)))
    rr = PMFPairs((((0.75, 0.25), (0.25, 0.75)),))  # symmetric: one worst case
    assert rr.convex_cumulant
    np.testing.assert_allclose(rr.rdp(ORDERS), PureDP(math.log(3)).rdp(ORDERS), rtol=1e-12)
    with pytest.raises(DPKitError, match="orders"):
        rr.rdp([1.0])


def test_pmf_events_json_round_trip():
    evs = [PMFPairs((((0.2, 0.8), (0.6, 0.4)), ((1.0, 0.0), (0.5, 0.5))), "add_remove"),
           PMFPairs((((0.1, 0.9), (0.9, 0.1)),)),
           DiscreteLaplace(2.5, 3), DiscreteGaussian(1.5, 2, "replace_one"),
           Repeated(DiscreteGaussian(3.0), 7), PoissonSampled(DiscreteLaplace(1.0), 0.1)]
    for ev in evs:
        back = event_from_dict(json.loads(json.dumps(ev.to_dict(), allow_nan=False)))
        assert back == ev and type(back) is type(ev)
        np.testing.assert_array_equal(back.rdp(ORDERS), ev.rdp(ORDERS))
    led = ledger_from_json([{"event": evs[0].to_dict(), "count": 4}, evs[2].to_dict()])
    assert led == [(evs[0], 4), (evs[2], 1)]


@pytest.mark.parametrize("pairs, needle", [
    ((), "at least one"),
    ("ab", "pairs must be"),
    ((((0.5, 0.5),),), r"pairs\[0\]"),
    ((((0.5, 0.5), (1.0,)),), "equal lengths"),
    ((((0.5, 0.6), (0.5, 0.5)),), r"pairs\[0\]\[0\].*sum to 1"),
    ((((0.5, 0.5), (1.5, -0.5)),), r"pairs\[0\]\[1\]"),
    ((((float("nan"), 1.0), (0.5, 0.5)),), "finite"),
    ((((0.5, 0.5), "xy"),), r"pairs\[0\]\[1\]"),
])
def test_pmf_pairs_validation_names_the_parameter(pairs, needle):
    with pytest.raises(DPKitError, match=needle):
        PMFPairs(pairs)
    if not isinstance(pairs, str):
        with pytest.raises(DPKitError, match=needle):
            event_from_dict({"type": "PMFPairs", "pairs": json.loads(json.dumps(pairs))})


def test_pmf_pairs_size_limit_and_relation():
    n = MAX_PMF_SIZE // 2 + 1
    big = tuple([1.0 / n] * n)
    with pytest.raises(DPKitError, match="MAX_PMF_SIZE"):
        PMFPairs(((big, big),))
    with pytest.raises(DPKitError, match="relation"):
        PMFPairs((((1.0,), (1.0,)),), "neighbours")


@pytest.mark.parametrize("cls, kwargs, needle", [
    (DiscreteLaplace, dict(scale=0.0), "scale"),
    (DiscreteLaplace, dict(scale=float("inf")), "scale"),
    (DiscreteLaplace, dict(scale=1.0, sensitivity=0), "sensitivity"),
    (DiscreteLaplace, dict(scale=1.0, sensitivity=1.5), "sensitivity"),
    (DiscreteGaussian, dict(sigma=-1.0), "sigma"),
    (DiscreteGaussian, dict(sigma=float("nan")), "sigma"),
    (DiscreteGaussian, dict(sigma=1.0, sensitivity=-2), "sensitivity"),
    (DiscreteGaussian, dict(sigma=1.0, relation="x"), "relation"),
])
def test_discrete_noise_events_validation(cls, kwargs, needle):
    with pytest.raises(DPKitError, match=needle):
        cls(**kwargs)


def test_discrete_noise_events_keep_the_old_rdp():
    grid = np.asarray(DEFAULT_ORDERS, dtype=float)
    assert DiscreteLaplace(2.0, 3).epsilon == 1.5
    # Δ = 1: the pure-DP curve exactly (the shift-1 pair is binary RR); Δ ≥ 2: the exact
    # curve over the shift vectors, never above the pure-DP curve, equal at α = ∞
    np.testing.assert_array_equal(DiscreteLaplace(2.0, 1).rdp(grid), PureDP(0.5).rdp(grid))
    tight = DiscreteLaplace(2.0, 3).rdp(grid)
    assert (tight <= PureDP(1.5).rdp(grid)).all() and tight[-1] == PureDP(1.5).rdp([np.inf])[0]
    assert tight[0] < 0.9 * PureDP(1.5).rdp(grid)[0]
    np.testing.assert_array_equal(DiscreteGaussian(2.0, 2).rdp(grid), ZCDP(0.5).rdp(grid))
    # a σ that is not a float's exact decimal: ρ rounded up from the exact rational
    ev = DiscreteGaussian(0.7, 1)
    assert Fraction(ev.rho) >= 1 / (2 * Fraction(0.7) ** 2)
    assert ev.convex_cumulant and DiscreteLaplace(1.0).convex_cumulant


# ------------------------------------------------------------------------------ envelope
def test_envelope_dominates_every_member_and_is_tight_at_the_grid():
    rng = np.random.default_rng(7)
    members = [from_pmfs(_rand_pmf(rng, 7, zeros=z), _rand_pmf(rng, 7)) for z in (0, 1, 2, 0)]
    members.append(from_pmfs([0.6, 0.4, 0.0], [0.1, 0.3, 0.6]))
    env = EnvelopePair(tuple(members))
    step = 0.05
    pld = env.discretize(step)
    assert (pld.masses >= 0).all()
    assert pld.masses.sum() + pld.infinity_mass == pytest.approx(1.0, abs=1e-12)
    # many ε, between grid points and below zero included
    eps = np.linspace(-4.0, 6.0, 1001) + 0.013
    d_env = pld.delta(eps)
    for m in members:
        assert (d_env >= m.hockey_stick(eps) - 1e-15).all()
    # at the grid losses: the largest discretized member, exactly (up to rounding)
    g = pld.losses
    top = np.max([m.discretize(step).delta(g) for m in members], axis=0)
    np.testing.assert_allclose(pld.delta(g), top, rtol=1e-9, atol=1e-15)
    # and not far above the members' exact curves between the grid points
    exact = np.max([m.hockey_stick(eps) for m in members], axis=0)
    assert np.max(d_env - exact) < 0.01


def test_envelope_of_one_member_is_that_member():
    p = from_pmfs([0.5, 0.3, 0.2], [0.2, 0.3, 0.5]).discretize(0.1)
    e = envelope([p, p])
    np.testing.assert_allclose(e.masses, p.masses, rtol=1e-12, atol=1e-16)
    assert e.infinity_mass <= 1e-15
    with pytest.raises(DPKitError, match="plds"):
        envelope([])


# ------------------------------------------------------------- discrete Laplace / Gaussian
def _dlap(t: float, lo: int, hi: int, shift: int = 0) -> np.ndarray:
    y = np.arange(lo, hi + 1)
    w = np.exp(-np.abs(y - shift) / t)
    return w * math.tanh(1 / (2 * t))  # exact normalizer (1 − e^{−1/t})/(1 + e^{−1/t})


def _dgauss(s: float, lo: int, hi: int, shift: int = 0) -> np.ndarray:
    y = np.arange(lo, hi + 1)
    z = np.exp(-(np.arange(-60 * int(s) - 60, 60 * int(s) + 61) ** 2) / (2 * s * s)).sum()
    return np.exp(-((y - shift) ** 2) / (2 * s * s)) / z


@pytest.mark.parametrize("t, sens", [(1.0, 2), (0.8, 3)])
def test_discrete_laplace_rdp_vs_brute_force(t, sens):
    from scipy.special import logsumexp

    n = int(36 * t) + 6  # cut tails below e^{-36}
    shifts = {tuple(sorted(c, reverse=True)) for k in range(1, sens + 1)
              for c in itertools.product(range(0, sens + 1), repeat=k) if 0 < sum(c) <= sens}
    got = DiscreteLaplace(t, sens).rdp(ORDERS)
    best = np.zeros(ORDERS.size)
    for v in shifts:
        p = np.ones(1)
        q = np.ones(1)
        for s in v:
            p = np.outer(p, _dlap(t, -n, n, s)).ravel()
            q = np.outer(q, _dlap(t, -n, n, 0)).ravel()
        for i, a in enumerate(ORDERS):
            if math.isinf(a):
                d = float(np.max(np.log(p / q)))
            else:
                d = float(logsumexp(a * np.log(p) + (1 - a) * np.log(q)) / (a - 1))
            best[i] = max(best[i], d)
    assert (got >= best * (1 - 1e-9)).all()  # the truncated sums sit a hair below the truth
    np.testing.assert_allclose(got, best, rtol=1e-7)


@pytest.mark.parametrize("t, sens", [(1.0, 1), (0.7, 2), (3.0, 3)])
def test_discrete_laplace_pld_vs_brute_force(t, sens):
    ev = DiscreteLaplace(t, sens)
    (parts,) = event_pairs(ev, None)
    (pair, count), = parts
    pld = pair.discretize(0.01)
    eps = np.linspace(0.0, sens / t + 0.2, 23)
    # brute force: every integer shift vector of L1 norm ≤ Δ in up to Δ coordinates (pmfs
    # cut at ±n: a smaller δ, so "never below" stays a valid check)
    n = 60 if sens < 3 else 24
    for v in {tuple(sorted(c, reverse=True)) for k in range(1, sens + 1)
              for c in itertools.product(range(0, sens + 1), repeat=k) if 0 < sum(c) <= sens}:
        p = np.ones(1)
        q = np.ones(1)
        for s in v:
            p = np.outer(p, _dlap(t, -n, n, s)).ravel()
            q = np.outer(q, _dlap(t, -n, n, 0)).ravel()
        for e in eps:
            assert pld.delta(e) >= _hockey(p, q, e) - 1e-13
    # tight: the worst shift is one of the candidates, and the PLD sits on its lattice
    cand = discrete_laplace_candidates(t, sens)
    top = [max(_hockey(p, q, e) for p, q in cand) for e in eps]
    np.testing.assert_allclose(pld.delta(eps), top, atol=2e-3 * max(top))


@pytest.mark.parametrize("sigma, sens", [(1.0, 1), (0.8, 2), (2.0, 1)])
def test_discrete_gaussian_pld_vs_brute_force(sigma, sens):
    ev = DiscreteGaussian(sigma, sens)
    dirs = event_pairs(ev, "add_remove")
    assert len(dirs) == 2  # add/remove: both directions (the same symmetric pair)
    eps = np.linspace(0.05, 6.0, 15)  # (ε = 0 exactly: the planner's step is relative to ε)
    n = int(14 * sigma) + 6  # mass beyond: below e^{-90}
    shifts = [(sens,)] + ([(1, 1, 1, 1)] if sens == 2 else [])
    worst = np.zeros(eps.size)
    for v in shifts:
        p = np.ones(1)
        q = np.ones(1)
        for s in v:
            p = np.outer(p, _dgauss(sigma, -n, n, s)).ravel()
            q = np.outer(q, _dgauss(sigma, -n, n, 0)).ravel()
        worst = np.maximum(worst, [_hockey(p, q, e) for e in eps])
    for parts in dirs:
        got = np.array([delta_bound(parts, e) for e in eps])
        assert (got >= worst - 1e-14).all()  # never below
        # and close wherever δ is not astronomically small (at δ ~ 1e-30 the planner's
        # window is pessimistic: valid, loose)
        real = worst > 1e-20
        assert real.sum() >= 8
        assert (got[real] <= worst[real] * 1.02 + 1e-12).all()
    assert discrete_gaussian_candidates(1.0, 5) is None
    assert event_pairs(DiscreteGaussian(1.0, 5), None) is None  # RDP only beyond Δ = 4


def test_poisson_sampled_discrete_laplace_both_directions():
    t, rate = 0.5, 0.2
    ev = PoissonSampled(DiscreteLaplace(t, 1), rate)
    rem, add = event_pairs(ev, "add_remove")
    n = 60
    p, q = _dlap(t, -n, n, 1), _dlap(t, -n, n, 0)
    mix = rate * p + (1 - rate) * q
    # ε inside each direction's loss range (remove: up to 0.82, add: up to 0.19)
    for parts, (a, b), es in ((rem, (mix, q), (0.05, 0.1, 0.3, 0.6, 0.8)),
                              (add, (q, mix), (0.02, 0.05, 0.1, 0.15))):
        for e in es:
            got = delta_bound(parts, e)
            ref = _hockey(a, b, e)
            assert ref - 1e-14 <= got <= ref * 1.01 + 1e-12
    assert event_pairs(PoissonSampled(DiscreteLaplace(t, 1), 0.0), "add_remove") == [[], []]
    assert event_pairs(Laplace(1.0), None) is None  # not one of this module's events


# ----------------------------------------------------------------------------- mechanisms
def _composed_hockey(p: np.ndarray, q: np.ndarray, k: int, e: float) -> float:
    """δ(ε) of k-fold products of (p, q), by enumerating the distinct log-ratio sums."""
    lr = {}
    for idx in itertools.product(range(p.size), repeat=k):
        pp = math.prod(p[i] for i in idx)
        qq = math.prod(q[i] for i in idx)
        key = round(sum(math.log(p[i] / q[i]) for i in idx), 9)
        a, b = lr.get(key, (0.0, 0.0))
        lr[key] = (a + pp, b + qq)
    return sum(max(a - math.exp(e) * b, 0.0) for a, b in lr.values())


def test_oue_event_pld_and_rdp():
    from dpkit.mechanisms import heavy_hitters as hh

    eps, k, delta = 1.0, 4, 1e-5
    ev = hh.privacy_event(hh.OUE(eps, 8))
    assert isinstance(ev, PMFPairs) and ev.relation == "replace_one"
    grid = np.asarray(DEFAULT_ORDERS, dtype=float)
    np.testing.assert_allclose(ev.rdp(grid), hh.oue_rdp(eps, grid), rtol=1e-12, atol=1e-15)
    (parts,) = event_pairs(ev, "replace_one")
    (pair, _), = parts
    p, q = np.array(ev.pairs[0][0]), np.array(ev.pairs[0][1])
    truth = _exact_epsilon(lambda e: _composed_hockey(p, q, k, e), delta)
    got = epsilon_bound([(pair, k)], delta)
    assert truth <= got <= truth + 2e-3 * max(truth, 0.1)
    assert truth <= Accountant().compose(ev, count=k).epsilon(delta, method="rdp")


def test_rqm_event_pld_dominates_every_input_pair():
    from dpkit.mechanisms.rqm import RQMParams, pmf, privacy_event, rdp

    prm = RQMParams(1.0, 1.0, 4, 0.4)
    ev = privacy_event(prm)
    assert isinstance(ev, PMFPairs)
    o = np.array([1.5, 2.0, 8.0, np.inf])
    assert (ev.rdp(o) <= rdp(prm, o) * (1 + 1e-10)).all()  # same curve or tighter
    (parts,) = event_pairs(ev, "replace_one")
    (pair, _), = parts
    pld = pair.discretize(0.005)
    eps = np.linspace(0.0, float(ev.epsilon_inf()) + 0.1, 40)
    xs = np.linspace(-1.0, 1.0, 41)  # a fine grid of inputs, grid points and cells included
    laws = [pmf(prm, x) for x in xs]
    worst = np.zeros(eps.size)
    for a, b in itertools.permutations(laws, 2):
        worst = np.maximum(worst, [_hockey(a, b, e) for e in eps])
    d = pld.delta(eps)
    assert (d >= worst - 1e-13).all()
    # the grid claim: the worst over the fine grid is reached at the grid points (tight)
    assert np.max(d - worst) <= 5e-3 * worst.max()
    # d coordinates: Repeated, composed by the accountant's count
    ev3 = privacy_event(prm, dimension=3)
    assert isinstance(ev3, Repeated) and ev3.event == ev and ev3.count == 3


def test_smoothed_rr_event_is_the_laplace_profile():
    from dpkit.mechanisms.smoothed_rr import SmoothedRRParams, privacy_event

    eps = 1.2
    ev = privacy_event(SmoothedRRParams(eps))
    assert isinstance(ev, Laplace) and ev.epsilon_inf() >= eps
    grid = np.asarray(DEFAULT_ORDERS, dtype=float)
    assert (ev.rdp(grid) <= PureDP(eps).rdp(grid) * (1 + 1e-12)).all()  # tighter than before
    # brute force: sup over the threshold offset z of the two Bernoulli laws' hockey-stick,
    # F the Laplace(0, 1/ε) CDF, pair (F(z + 1), F(z)) in units of Δ
    z = np.linspace(-8.0, 8.0, 20001)

    def cdf(x):
        return np.where(x < 0, 0.5 * np.exp(eps * x), 1 - 0.5 * np.exp(-eps * x))

    a, b = cdf(z + 1.0), cdf(z)
    for e in (0.0, 0.2, 0.6, 1.0):
        sup = float(np.max(np.maximum(a - math.exp(e) * b, 0)
                           + np.maximum((1 - a) - math.exp(e) * (1 - b), 0)))
        lap = max(0.0, 1 - math.exp((e - eps) / 2))  # the Laplace pair's exact δ(ε)
        assert sup <= lap + 1e-12 and sup == pytest.approx(lap, abs=1e-6)


def test_discrete_additive_params_events():
    from dpkit.mechanisms.additive import DiscreteGaussianParams, DiscreteLaplaceParams

    grid = np.asarray(DEFAULT_ORDERS, dtype=float)
    lp = DiscreteLaplaceParams(Fraction(7, 3), sensitivity=2)
    ev = lp.privacy_event()
    assert isinstance(ev, DiscreteLaplace) and ev.sensitivity == 2
    assert Fraction(ev.scale) <= lp.scale  # rounded down: never less privacy loss
    # never above the curve before issue 16 (up to one ulp of ε: 7/3 is not a float, the float
    # scale is rounded down), and tighter at Δ = 2 (the exact curve over shift vectors)
    old_curve = PureDP(lp.epsilon).rdp(grid)
    assert (ev.rdp(grid) <= old_curve * (1 + 2e-15)).all()
    assert DiscreteLaplaceParams(2).privacy_event().rdp(grid).tolist() == \
        PureDP(0.5).rdp(grid).tolist()  # Δ = 1 and a float scale: exactly the same
    gp = DiscreteGaussianParams(2, sensitivity=1)
    ev = gp.privacy_event()
    assert isinstance(ev, DiscreteGaussian)
    np.testing.assert_array_equal(ev.rdp(grid), ZCDP(gp.rho).rdp(grid))
    # one composition of the discrete Gaussian: ε from the exact pmfs, brute force
    p, q = _dgauss(2.0, -90, 90, 1), _dgauss(2.0, -90, 90, 0)
    truth = _exact_epsilon(lambda e: _hockey(p, q, e), 1e-6)
    (parts,) = event_pairs(ev, None)
    got = epsilon_bound(parts, 1e-6)
    assert truth <= got <= truth * 1.005


def test_large_sensitivities_fall_back_safely():
    # discrete Laplace beyond the enumerated partitions: the ε-DP pair (binary RR), still valid
    ev = DiscreteLaplace(10.0, 25)
    (parts,) = event_pairs(ev, None)
    (pair, _), = parts
    assert discrete_laplace_candidates(10.0, 25) is None
    e = ev.epsilon
    assert pair.hockey_stick(0.0)[0] == pytest.approx(math.tanh(e / 2), rel=1e-12)
    np.testing.assert_array_equal(ev.rdp(ORDERS), PureDP(e).rdp(ORDERS))
    assert ev.convex_cumulant and not DiscreteLaplace(1.0, 2).convex_cumulant
    # the largest enumerated case is exact and cheap
    assert len(discrete_laplace_candidates(1.0, 20)) == 627  # partitions of 20
