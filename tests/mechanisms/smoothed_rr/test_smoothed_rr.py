"""Smoothed randomized response (dpkit.mechanisms.smoothed_rr): output law, privacy, errors.

Spec §8.1 (/work/shared/specs/smoothed_rr.md; Liu & Rahimian 2025). Statistical tests use fixed
seeds; each test's false-alarm rate FA is stated where it is used (per-cell p-value threshold
1e-6, so a whole test fails by chance with probability at most cells × 1e-6).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from dpkit.accounting import DEFAULT_ORDERS, Accountant
from dpkit.accounting.events import REPLACE_ONE, Laplace, PureDP, RandomizedResponse, RDPCurve
from dpkit.errors import DPKitError
from dpkit.mechanisms.smoothed_rr import (
    ClassicRRParams,
    SmoothedRRParams,
    flip_probability,
    privacy_event,
    prob_positive,
    rdp_exact,
    rdp_rr_bound,
    respond,
    respond_classic,
)
from dpkit.mechanisms.smoothed_rr.privacy import log_ratio_grid

FA = 1e-6
EPS = [0.1, 1.0, 3.0]
ZS = [-5.0, -1.0, -0.1, 0.1, 1.0, 5.0]
N = 1_000_000


# ---------------------------------------------------------------- closed form
def test_flip_probability_and_laplace_cdf_agree() -> None:
    """P(+1|v) is the Laplace(0, Δ/ε) CDF at v − t, and 1 − u or u on either side of t."""
    for eps, delta, t in [(0.3, 1.0, 0.0), (1.0, 2.5, 1.7), (4.0, 0.2, -3.0)]:
        p = SmoothedRRParams(eps, threshold=t, sensitivity=delta)
        v = np.linspace(t - 30, t + 30, 6001) + 1e-7
        want = stats.laplace.cdf(v - t, scale=delta / eps)
        np.testing.assert_allclose(prob_positive(p, v), want, rtol=1e-12, atol=1e-300)
        u = flip_probability(p, v)
        np.testing.assert_allclose(u, 0.5 * np.exp(-eps * np.abs(v - t) / delta), rtol=1e-12)
        np.testing.assert_allclose(np.where(v > t, 1 - u, u), want, rtol=1e-12, atol=1e-300)
    assert float(flip_probability(SmoothedRRParams(2.0, threshold=1.0), 1.0)) == 0.5


@pytest.mark.parametrize("eps", EPS)
def test_output_law_both_routes_binomial(eps: float) -> None:
    """Spec §8.1.1: 10^6 draws per cell; two-sided exact binomial test per cell (FA 1e-6 each,
    6 cells × 3 routes), and a chi-square two-sample test flip vs Laplace route (FA 1e-6)."""
    p = SmoothedRRParams(eps)
    g = np.random.default_rng(11)
    for z in ZS:
        want = float(prob_positive(p, z))
        outs = {}
        for route, backend, method in [("flip", "numpy", "flip"), ("laplace", "numpy", "laplace"),
                                       ("numba", "numba", "flip")]:
            x = respond(p, np.full(N, z), g, method=method, backend=backend)
            assert x.dtype == np.int8 and set(np.unique(x)) <= {-1, 1}
            k = int((x == 1).sum())
            assert stats.binomtest(k, N, want).pvalue > FA, (route, z, k / N, want)
            outs[route] = k
        table = np.array([[outs["flip"], N - outs["flip"]], [outs["laplace"], N - outs["laplace"]]])
        table = table[:, table.sum(axis=0) > 0]  # z = 5, ε = 3: P(−1) = 1.5e-7, maybe no draws
        if table.shape[1] == 2:
            assert stats.chi2_contingency(table)[1] > FA


def test_respond_threshold_and_clip() -> None:
    """Per-signal thresholds broadcast; clipped signals behave as the clip ends (exactly)."""
    p = SmoothedRRParams.replacement(1.0, -1.0, 1.0)
    assert p.sensitivity == 2.0 and p.relation == REPLACE_ONE and "replace" in p.adjacency
    np.testing.assert_array_equal(prob_positive(p, [-100.0, 100.0]), prob_positive(p, [-1.0, 1.0]))
    q = SmoothedRRParams(2.0)
    t = np.array([-1.0, 0.0, 1.0])
    np.testing.assert_allclose(prob_positive(q, np.zeros(3), threshold=t),
                               stats.laplace.cdf(-t, scale=0.5), rtol=1e-12)
    x = respond(q, np.zeros((4000, 3)), 3, threshold=t, backend="numba")
    assert x.shape == (4000, 3)
    # columns: P(+1) = F(1), F(0) = ½, F(−1); 4000 draws each, z-test at 5.3σ (FA 1.2e-7 each)
    probs = stats.laplace.cdf(-t, scale=0.5)
    for j in range(3):
        k = (x[:, j] == 1).sum()
        assert abs(k - 4000 * probs[j]) < 5.3 * math.sqrt(4000 * probs[j] * (1 - probs[j]))
    # determinism given the seed
    np.testing.assert_array_equal(respond(q, np.zeros(100), 5, backend="numba"),
                                  respond(q, np.zeros(100), 5, backend="numba"))


def test_classic_rr_law_and_event() -> None:
    c = ClassicRRParams(1.0)
    x = respond_classic(c, np.full(N, 2.0), rng=12)
    k = int((x == 1).sum())
    assert stats.binomtest(k, N, 1 - c.flip).pvalue > FA
    assert c.privacy_event() == RandomizedResponse(1.0)
    assert c.flip == pytest.approx(1 / (1 + math.e), rel=1e-15)


# ---------------------------------------------------------------- privacy
@pytest.mark.parametrize("eps", [0.1, 0.5, 1.0, 3.0])
@pytest.mark.parametrize("delta", [1.0, 2.5])
def test_epsilon_by_enumeration_is_tight(eps: float, delta: float) -> None:
    """Spec §8.1.2: max over x and a dense grid of |log P(x|v) − log P(x|v+Δ)| is ≤ ε + 1e-12
    and ≥ ε − 1e-9 (attained in the tails); smaller shifts cost proportionally less."""
    v = np.arange(-20.0, 20.0, 0.01) * delta
    worst = log_ratio_grid(eps, delta, v)
    assert eps - 1e-9 <= worst <= eps + 1e-12
    assert log_ratio_grid(eps, delta, v, shift=delta / 2) <= eps / 2 + 1e-12
    # independently, from the public prob_positive in linear space (threshold 0.3, not 0);
    # 1 − P(+1) loses relative precision far above t, hence the 1e-4 tolerance and |v| ≤ 8Δ
    p = SmoothedRRParams(eps, threshold=0.3, sensitivity=delta)
    w = v[np.abs(v) <= 8 * delta]
    a, b = prob_positive(p, w), prob_positive(p, w + delta)
    ratios = np.concatenate([np.abs(np.log(a / b)), np.abs(np.log1p(-a) - np.log1p(-b))])
    assert eps - 1e-9 <= ratios.max() <= eps + 1e-4


def test_legacy_amplitude_is_two_epsilon() -> None:
    """The legacy flip amplitude 1/(1+e^ε) at distance 1 costs 2ε (spec §3.1): enumeration."""
    eps = 1.0
    amp = 1 / (1 + math.exp(eps))
    v = np.arange(-20.0, 20.0, 0.01) + 0.005

    def pplus(z: np.ndarray) -> np.ndarray:
        return np.where(z > 0, 1 - amp * np.exp(-eps * np.abs(z)), amp * np.exp(-eps * np.abs(z)))

    worst = np.abs(np.log(pplus(v + 1.0) / pplus(v))).max()
    assert worst > 2 * eps - 0.02


@pytest.mark.parametrize("eps, alpha, rr, exact", [
    (0.5, 2, 0.227336, 0.188985), (0.5, 8, 0.432354, 0.406038), (1.0, 2, 0.735326, 0.576092),
    (1.0, 8, 0.955248, 0.905746), (2.0, 2, 1.875548, 1.505567)])
def test_rdp_anchors(eps: float, alpha: float, rr: float, exact: float) -> None:
    assert rdp_rr_bound(eps, [alpha])[0] == pytest.approx(rr, abs=1e-6)
    assert rdp_exact(eps, [alpha])[0] == pytest.approx(exact, abs=1.5e-6)  # anchors: 6 digits


@pytest.mark.parametrize("eps", [0.05, 0.5, 1.0, 4.0])
def test_exact_rdp_against_brute_force(eps: float) -> None:
    """Exact curve vs an independent brute-force sup over a fine grid of input pairs, in both
    orders (probabilities from scipy's Laplace CDF): brute ≤ exact ≤ brute + 1e-6, and
    exact ≤ RR bound; RR bound equals binary RR's Rényi divergence computed directly."""
    orders = np.array([1.1, 1.5, 2.0, 4.0, 16.0, 64.0])
    exact = rdp_exact(eps, orders)
    bound = rdp_rr_bound(eps, orders)
    assert (exact <= bound + 1e-15).all() and (exact > 0).all()
    v = np.linspace(-(np.log(64) + 30) / eps, 30 / eps, 400_001)
    lap = stats.laplace(scale=1 / eps)
    p1, p0 = lap.logcdf(v + 1), lap.logcdf(v)
    q1, q0 = lap.logsf(v + 1), lap.logsf(v)
    for a, ex, bd in zip(orders, exact, bound, strict=True):
        fwd = np.logaddexp(a * p1 + (1 - a) * p0, a * q1 + (1 - a) * q0) / (a - 1)
        rev = np.logaddexp(a * p0 + (1 - a) * p1, a * q0 + (1 - a) * q1) / (a - 1)
        brute = max(fwd.max(), rev.max())
        assert brute <= ex + 1e-12 and ex <= brute + 1e-6, (a, brute, ex)
        e1 = math.exp(eps) / (1 + math.exp(eps))
        rr = math.log(e1**a * (1 - e1) ** (1 - a) + (1 - e1) ** a * e1 ** (1 - a)) / (a - 1)
        assert bd == pytest.approx(rr, rel=1e-10)
    assert rdp_exact(eps, [np.inf])[0] == eps


def test_privacy_events_compose() -> None:
    p = SmoothedRRParams(0.7)
    ev = privacy_event(p)
    # issue 16: smoothed RR is a post-processing of Laplace(1/ε): the tight event, whose RDP
    # is at most the pure-DP curve of ε (the event before) and whose ε(∞) is ε
    assert ev == Laplace(1 / 0.7) and ev.relation is None and p.privacy_event() == ev
    grid = np.asarray(DEFAULT_ORDERS, dtype=float)
    assert (ev.rdp(grid) <= PureDP(0.7).rdp(grid) * (1 + 1e-12)).all()
    assert ev.epsilon_inf() == pytest.approx(0.7, rel=1e-15) and ev.epsilon_inf() >= 0.7
    assert Accountant().compose(ev).epsilon(0.0) == pytest.approx(0.7, rel=1e-12)
    ex = privacy_event(p, exact=True)
    assert isinstance(ex, RDPCurve)
    orders = np.array([1.5, 2.0, 8.0, 64.0])
    assert (ex.rdp(orders) <= ev.rdp(orders) + 1e-12).all()
    assert ex.epsilon_inf() == pytest.approx(0.7)
    a1 = Accountant().compose(ev, 100).epsilon(1e-6)
    a2 = Accountant().compose(ex, 100).epsilon(1e-6)
    assert 0 < a2 <= a1 and math.isfinite(a2)
    clipped = SmoothedRRParams.replacement(0.7, 0.0, 3.0)
    assert privacy_event(clipped).relation == REPLACE_ONE
    assert privacy_event(clipped, exact=True).relation == REPLACE_ONE


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs, match", [
    ({"epsilon": 0.0}, "epsilon"), ({"epsilon": -1.0}, "epsilon"),
    ({"epsilon": float("nan")}, "epsilon"), ({"epsilon": float("inf")}, "epsilon"),
    ({"epsilon": 1.0, "sensitivity": 0.0}, "sensitivity"),
    ({"epsilon": 1.0, "sensitivity": -2.0}, "sensitivity"),
    ({"epsilon": 1.0, "threshold": float("nan")}, "threshold"),
    ({"epsilon": 1.0, "clip": (1.0, 0.0)}, "clip"),
    ({"epsilon": 1.0, "clip": (0.0, float("inf"))}, "clip"),
    ({"epsilon": 1.0, "clip": 3.0}, "clip"),
    ({"epsilon": 1.0, "clip": (0.0, 2.0)}, "sensitivity must be >= clip width"),
])
def test_params_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(DPKitError, match=match):
        SmoothedRRParams(**kwargs)


def test_call_errors() -> None:
    p = SmoothedRRParams(1.0)
    for bad in ([0.0, float("nan")], [float("inf")], float("-inf")):
        with pytest.raises(DPKitError, match="signal"):
            respond(p, bad, 0)
        with pytest.raises(DPKitError, match="signal"):
            flip_probability(p, bad)
    with pytest.raises(DPKitError, match="threshold"):
        respond(p, [0.0, 1.0], 0, threshold=[0.0, np.nan])
    with pytest.raises(DPKitError, match="threshold"):
        respond(p, [0.0, 1.0], 0, threshold=[0.0, 1.0, 2.0])
    with pytest.raises(DPKitError, match="method"):
        respond(p, [0.0], 0, method="coin")  # type: ignore[arg-type]
    with pytest.raises(DPKitError, match="backend"):
        respond(p, [0.0], 0, backend="cuda")
    with pytest.raises(DPKitError, match="params"):
        respond(ClassicRRParams(1.0), [0.0], 0)  # type: ignore[arg-type]
    with pytest.raises(DPKitError, match="epsilon"):
        ClassicRRParams(0.0)
    with pytest.raises(ValueError):  # DPKitError is a ValueError
        rdp_exact(-1.0)


def test_classic_rr_huge_epsilon_no_overflow() -> None:
    """Review finding: 1/(1 + e^ε) overflowed (OverflowError) for ε > 709."""
    c = ClassicRRParams(800.0)
    assert c.flip == 0.0
    assert ClassicRRParams(30.0).flip == pytest.approx(1 / (1 + math.exp(30.0)), rel=1e-15)
    assert respond_classic(c, [-1.0, 2.0], rng=0).tolist() == [-1, 1]
    # the simulator's classic likelihood took log(u) with u = 0 (ValueError) for ε > ~745
    from dpkit.mechanisms.smoothed_rr import simulate_sequential_learning

    for backend in ("numpy", "numba"):
        r = simulate_sequential_learning(20, 2, mechanism="classic", epsilon=800.0, rng=0,
                                         backend=backend)
        assert np.isfinite(r.beliefs).all()


# ------------------------------------- numba kernels: crafted SplitMix64 words (exact checks)
def _key_for_word0(word: int) -> np.uint64:
    """A key whose SplitMix64 word at counter 0 is ``word``."""
    from dpkit import _numba_random as NR

    return NR.key_for_word(word, 0)


def test_numba_flip_resolves_probabilities_below_2_pow_54() -> None:
    """respond_numba flips iff log U < log ½ − rate·|d| with U = (w + ½)·2^−64 (shared
    log-space Bernoulli). At rate·|d| = 40 (p = ½e^−40 = 2.1e-18) the former 53-bit uniform
    (smallest value 2^−54 = 5.6e-17) never flipped, while a neighbour nearer the threshold
    could flip: infinite loss. Now the words w < p·2^64 − ½ = 38.8 flip."""
    from dpkit import _numba_random as NR
    from dpkit.mechanisms.smoothed_rr._numba import respond_numba

    assert 39 < 0.5 * math.exp(-40.0) * 2.0**64 < 40
    for w, want in ((0, -1), (38, -1), (39, 1), (2**11, 1), (2**63, 1)):
        key = _key_for_word0(w)
        out = respond_numba(np.array([40.0]), np.array([0.0]), 1.0, key)
        assert int(out[0]) == want, w
    assert NR.seed_key(np.random.default_rng(0)) != NR.seed_key(np.random.default_rng(1))


def test_numba_simulator_decisions_resolve_tiny_probabilities() -> None:
    """The simulator decides a = −1 w.p. Z (and the flips) with ``_decide``: a 53-bit uniform
    when both sides are ≥ 2^−12, else the log-space Bernoulli. With 1 − Z = 1e-18, Z rounds
    to 1.0 and the former ``u1 < z`` always gave a = −1; now a = +1 iff U < 1e-18 (w ≤ 17)."""
    from numba import njit

    from dpkit.mechanisms.smoothed_rr.sequential._numba import _decide

    @njit
    def decide(key: np.uint64, p: float, q: float) -> bool:
        return _decide(key, np.uint64(0), p, q)

    z, zc = 1.0 - 1e-18, 1e-18
    assert z == 1.0
    assert [decide(_key_for_word0(w), z, zc) for w in (0, 17, 18, 2**63)] == [False, False,
                                                                              True, True]
    # a tiny p on the other side, and the 53-bit branch for moderate probabilities
    assert [decide(_key_for_word0(w), 1e-18, 1.0) for w in (0, 17, 18)] == [True, True, False]
    assert decide(_key_for_word0(0), 0.3, 0.7) and not decide(_key_for_word0(2**63), 0.3, 0.7)
