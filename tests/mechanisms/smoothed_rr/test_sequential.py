"""Sequential learning with smoothed RR: likelihoods, kernels' law, and the paper's results.

Spec §4, §5, §6, §8.2–8.3 (/work/shared/specs/smoothed_rr.md; Liu & Rahimian 2025). Every
simulation uses a fixed seed. Statistical assertions use 5-standard-error bands (two-sided
false-alarm rate 5.7e-7 each) or p-value thresholds FA = 1e-6, unless a tolerance from the
spec is stated (those compare with the spec's own simulations: regressions, not theorems).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from dpkit.errors import DPKitError
from dpkit.mechanisms.smoothed_rr import (
    asymptotic_constant,
    cascade_theory,
    report_log_likelihood,
    simulate_binary_cascade,
    simulate_sequential_learning,
)
from dpkit.mechanisms.smoothed_rr.sequential import log_report_probs
from dpkit.mechanisms.smoothed_rr.sequential._numba import log_ndtr_numba, log_probs_numba

FA = 1e-6


# ---------------------------------------------------------------- likelihoods (spec §4)
def _pminus(s: float, eps: float, t: float, mu: float, sigma: float) -> float:
    """P(x = −1 | s)·density of s under θ = μ (the integrand of the quadrature oracle)."""
    u = 0.5 * math.exp(-eps * abs(s - t))
    return (1 - u if s <= t else u) * stats.norm.pdf(s, mu, sigma)


@pytest.mark.parametrize("sigma", [1.0, 0.7])
def test_smoothed_likelihood_matches_quadrature(sigma: float) -> None:
    """P(x = −1 | μ, l) closed form vs direct quadrature over the signal (spec §4 oracle:
    atol 1e-9, rtol 1e-8 at l ∈ {−4, 0, 4}, μ = ±1, ε ∈ {0.1, 0.5, 2})."""
    for eps in (0.1, 0.5, 2.0):
        for lb in (-4.0, 0.0, 4.0):
            t = -sigma**2 * lb / 2
            for mu in (-1, 1):
                args = (eps, t, mu, sigma)
                want = sum(integrate.quad(_pminus, lo, hi, args=args, epsabs=1e-13,
                                          epsrel=1e-12, limit=200)[0]
                           for lo, hi in ((t - 40 * sigma, t), (t, t + 40 * sigma)))
                got = float(np.exp(report_log_likelihood(-1, lb, mu, sigma=sigma,
                                                         epsilon=eps)))
                assert got == pytest.approx(want, rel=1e-8, abs=1e-9)
                gp = float(np.exp(report_log_likelihood(1, lb, mu, sigma=sigma, epsilon=eps)))
                assert got + gp == pytest.approx(1.0, abs=1e-12)


def test_likelihoods_stable_and_kernel_agrees() -> None:
    """No NaN/inf at extreme beliefs; the numba kernel's probabilities equal the numpy oracle
    (to 1e-12 absolute or relative) on a grid of beliefs, for all three mechanisms."""
    lbs = np.linspace(-200, 200, 2001)
    u = 1 / (1 + math.exp(0.5))
    for code, mech in enumerate(("none", "smoothed", "classic")):
        for mu in (-1.0, 1.0):
            lm, lp = log_report_probs(-lbs / 2, mu, 1.0, mech, 0.5, u)
            assert np.isfinite(lm).all() and np.isfinite(lp).all()
            assert (lm <= 0).all() and (lp <= 0).all()
            for i in range(0, lbs.size, 7):
                bm, bp = log_probs_numba(-lbs[i] / 2, mu, 1.0, code, 0.5, u)
                for a, b in ((lm[i], bm), (lp[i], bp)):
                    assert abs(a - b) <= 1e-12 * max(1.0, abs(a)), (mech, lbs[i], a, b)
    from scipy.special import log_ndtr

    xs = np.linspace(-80, 40, 12001)
    ref = log_ndtr(xs)
    got = np.array([log_ndtr_numba(x) for x in xs])
    assert (np.abs(got - ref) <= 1e-13 * np.maximum(1.0, np.abs(ref))).all()


# ---------------------------------------------------------------- kernel law
@pytest.mark.parametrize("mechanism", ["smoothed", "classic", "none"])
def test_numba_simulator_same_law_as_numpy(mechanism: str) -> None:
    """KS two-sample tests of the belief after n = 10, 60, 300 reports (beliefs rounded to
    1e-6 so both kernels' float atoms coincide) and chi-square on first-correct times ≤ 3,
    numba (exact (a, x) law) vs numpy (literal signal draws). FA 1e-6 per test."""
    kw = dict(mechanism=mechanism, epsilon=0.8, sigma=1.3, theta=-1, checkpoints=[10, 60, 300])
    a = simulate_sequential_learning(300, 3000, rng=21, backend="numba", **kw)
    b = simulate_sequential_learning(300, 3000, rng=22, backend="numpy", **kw)
    for i in range(3):
        assert stats.ks_2samp(np.round(a.beliefs[:, i], 6),
                              np.round(b.beliefs[:, i], 6)).pvalue > FA
    for first in ("first_correct_action", "first_correct_report"):
        ca = np.bincount(np.minimum(getattr(a, first), 4), minlength=5)[1:]
        cb = np.bincount(np.minimum(getattr(b, first), 4), minlength=5)[1:]
        table = np.stack([ca, cb])
        assert stats.chi2_contingency(table[:, table.sum(axis=0) > 0])[1] > FA


def test_paths_consistent_with_summaries() -> None:
    for backend in ("numba", "numpy"):
        r = simulate_sequential_learning(400, 30, epsilon=0.5, rng=5, keep_paths=True,
                                         backend=backend, checkpoints=[50, 400],
                                         initial_belief=-3.0)
        th = r.theta
        assert r.actions is not None and r.reports is not None and r.belief_paths is not None
        np.testing.assert_array_equal(r.correct_actions[:, 1], (r.actions == th).sum(axis=1))
        np.testing.assert_array_equal(r.correct_reports[:, 0],
                                      (r.reports[:, :50] == th).sum(axis=1))
        np.testing.assert_array_equal(r.beliefs[:, 0], r.belief_paths[:, 49])
        np.testing.assert_array_equal(r.final_belief, r.belief_paths[:, -1])
        first = np.where((r.actions == th).any(axis=1), (r.actions == th).argmax(axis=1) + 1,
                         401)
        np.testing.assert_array_equal(r.first_correct_action, first)
        np.testing.assert_array_equal(r.wrong_reports, (r.reports != th).sum(axis=1))
        # the belief moves exactly by the report's log-likelihood ratio (numpy oracle)
        lprev = np.concatenate([np.full((30, 1), -3.0), r.belief_paths[:, :-1]], axis=1)
        inc = (report_log_likelihood(r.reports, lprev, 1, epsilon=0.5)
               - report_log_likelihood(r.reports, lprev, -1, epsilon=0.5))
        np.testing.assert_allclose(r.belief_paths - lprev, inc, rtol=1e-9, atol=1e-9)
    # deterministic given the seed (numba: counter-based streams, any thread count)
    kw = dict(epsilon=0.5, backend="numba", checkpoints=[50, 400], initial_belief=-3.0)
    np.testing.assert_array_equal(simulate_sequential_learning(400, 30, rng=5, **kw).beliefs,
                                  simulate_sequential_learning(400, 30, rng=5, **kw).beliefs)


# ---------------------------------------------------------------- spec §8.2: learning speed
CPS = [10, 100, 1000, 2000, 4000, 7000, 10_000]
SPEC_MEAN_L = {  # spec §8.2 table (their numpy simulation, 2000 runs): n = 10^3, 10^4
    ("smoothed", 0.5): (17.0, 26.1), ("smoothed", 1.0): (13.2, 17.8),
    ("smoothed", 2.0): (10.1, 12.5), ("none", None): (8.45, 9.76),
    ("classic", 0.5): (5.13, 6.46), ("classic", 1.0): (6.01, 7.08)}
SPEC_FRACTION = {  # spec §8.2: fraction of correct (reports, actions) over agents 1..10^4
    ("smoothed", 0.5): (0.9965, 0.9998), ("smoothed", 1.0): (0.9995, 0.9999),
    ("none", None): (0.9999, 0.9999), ("classic", 0.5): (0.621, 0.992),
    ("classic", 1.0): (0.730, 0.997)}


@pytest.fixture(scope="module")
def learning() -> dict:
    return {key: simulate_sequential_learning(10_000, 300, mechanism=key[0], epsilon=key[1],
                                              rng=100 + i, checkpoints=CPS)
            for i, key in enumerate(SPEC_MEAN_L)}


def test_mean_belief_matches_spec_table(learning: dict) -> None:
    """Mean l_n at n = 10^3 and 10^4 within max(3%, 5 SE) of the spec's simulation."""
    for key, (l3, l4) in SPEC_MEAN_L.items():
        r = learning[key]
        for col, want in ((2, l3), (6, l4)):
            x = r.beliefs[:, col]
            tol = max(0.03 * want, 5 * x.std() / math.sqrt(x.size))
            assert abs(x.mean() - want) <= tol, (key, CPS[col], x.mean(), want)


@pytest.mark.parametrize("eps", [0.5, 1.0, 2.0])
def test_smoothed_belief_grows_like_log_n(learning: dict, eps: float) -> None:
    """Θ_ε(log n) (Liu & Rahimian 2025): the slope of mean l_n on log n over [10^3, 10^4] is
    within 10% of 2/(εσ²), and l(10^4) within 3% of (2/(εσ²))·log(K n) (spec §5.2)."""
    r = learning[("smoothed", eps)]
    n = np.array(CPS[2:], dtype=float)
    slope = np.polyfit(np.log(n), r.mean_belief()[2:], 1)[0]
    assert slope == pytest.approx(2 / eps, rel=0.10)
    asym = (2 / eps) * math.log(asymptotic_constant(eps) * 10_000)
    assert r.mean_belief()[-1] == pytest.approx(asym, rel=0.03)


def test_nonprivate_grows_like_sqrt_log_n(learning: dict) -> None:
    """Non-private Θ(√log n): l_n²/log n is roughly constant (within 15% over n = 10^2..10^4;
    spec: 9.96, 10.34, 10.35) while l_n/log n falls by more than 20%."""
    r = learning[("none", None)]
    m = r.mean_belief()[1:]
    n = np.array(CPS[1:], dtype=float)
    sq = m**2 / np.log(n)
    assert sq.max() / sq.min() < 1.15
    lin = m / np.log(n)
    assert lin[-1] < 0.8 * lin[0]  # √(log 10² / log 10⁴) = 0.71 expected


def test_smoothed_beats_classic_rr(learning: dict) -> None:
    """Smoothed RR learns much faster than classic RR at the same ε (spec §2, §8.2), and its
    reports are far more accurate; classic RR's report accuracy is capped near 1 − u."""
    for eps in (0.5, 1.0):
        s, c = learning[("smoothed", eps)], learning[("classic", eps)]
        assert s.mean_belief()[-1] > 2.5 * c.mean_belief()[-1]
        u = 1 / (1 + math.exp(eps))
        assert c.fraction_correct()[-1] < 1 - u + 0.01
        assert s.fraction_correct()[-1] > 0.99
    # smoothed RR (ε ≥ 0.5) even overtakes the non-private public belief by n = 10^3
    assert learning[("smoothed", 0.5)].mean_belief()[2] > learning[("none", None)].mean_belief()[2]


def test_fraction_correct_matches_spec_table(learning: dict) -> None:
    for key, (rep, act) in SPEC_FRACTION.items():
        r = learning[key]
        assert r.fraction_correct("reports")[-1] == pytest.approx(rep, abs=0.01), key
        assert r.fraction_correct("actions")[-1] == pytest.approx(act, abs=0.01), key


def test_wrong_actions_stop_but_wrong_reports_grow(learning: dict) -> None:
    """Finite expected number of wrong intended actions under privacy (spec §5.3, ε < 2/σ²):
    almost none are added between n = 10^3 and 10^4; wrong *reports* keep growing ~ log n."""
    r = learning[("smoothed", 0.5)]
    wa = r.checkpoints - r.correct_actions  # (R, C) wrong actions among 1..n
    wr = r.checkpoints - r.correct_reports
    added_a = (wa[:, -1] - wa[:, 2]).mean()
    added_r = (wr[:, -1] - wr[:, 2]).mean()
    assert added_a < 0.05 * wa[:, 2].mean()
    assert added_r > 0.2 * wr[:, 2].mean()


def test_escape_from_wrong_herd() -> None:
    """Spec §8.2: start at l_1 = −6 (truncated at 20 000 agents): the non-private mean time to
    the first correct action exceeds the private (smoothed RR, ε = 0.5) one by more than 20×;
    spec numbers 760 (2% censored) vs 23.9 (action) / 5.5 (report)."""
    n = 20_000
    non = simulate_sequential_learning(n, 1000, mechanism="none", initial_belief=-6.0, rng=3,
                                       checkpoints=[n])
    pri = simulate_sequential_learning(2000, 1000, epsilon=0.5, initial_belief=-6.0, rng=4,
                                       checkpoints=[2000])
    t_non = np.minimum(non.first_correct_action, n).mean()
    t_act = pri.first_correct_action.mean()
    t_rep = pri.first_correct_report.mean()
    assert (pri.first_correct_action <= 2000).all()
    assert t_non / t_act > 20, (t_non, t_act)
    assert t_rep < t_act  # the noisy report escapes first
    assert 0.005 < (non.first_correct_action > n).mean() < 0.05  # spec: 2% censored


# ---------------------------------------------------------------- spec §8.3: binary cascades
BINARY = [  # p, ε, k, P_correct, E[τ] (spec §8.3 table)
    (0.55, 0.5, 5, 0.5609, 24.88), (0.55, 1.0, 3, 0.5689, 8.95), (0.7, 0.25, 9, 0.7101, 76.05),
    (0.7, 1.0, 3, 0.7544, 8.26), (0.7, 2.0, 2, 0.7788, 3.66), (0.9, 0.25, 12, 0.9165, 100.5),
    (0.9, 0.5, 6, 0.9154, 25.44), (0.9, 1.0, 3, 0.9112, 6.67), (0.9, 3.0, 2, 0.9750, 2.62)]


@pytest.mark.parametrize("p, eps, k, pc, et", BINARY)
def test_cascade_closed_form_and_simulation(p: float, eps: float, k: int, pc: float,
                                            et: float) -> None:
    th = cascade_theory(p, eps)
    assert th.k == k
    assert th.p_correct == pytest.approx(pc, abs=1e-4)
    assert th.expected_time == pytest.approx(et, rel=2e-3)
    runs = 20_000
    r = simulate_binary_cascade(3000, runs, p=p, epsilon=eps, rng=int(1000 * p + 10 * eps))
    assert (r.cascade_time <= 3000).all()
    ok = (r.cascade_sign == 1).mean()
    assert abs(ok - th.p_correct) <= 4 * math.sqrt(th.p_correct * (1 - th.p_correct) / runs)
    tau = r.cascade_time
    assert abs(tau.mean() - th.expected_time) <= 4 * tau.std() / math.sqrt(runs)


def test_cascade_privacy_costs_accuracy_non_monotonically() -> None:
    """P_correct(ε) < non-private for every ε; for p = 0.9 it is not monotone in ε: the
    closed form has ε₁ < ε₂ with P(ε₁) > P(ε₂), confirmed by simulation (5 SE)."""
    grid = np.geomspace(0.05, 5, 200)
    for p in (0.55, 0.7, 0.9):
        pcs = np.array([cascade_theory(p, e).p_correct for e in grid])
        assert (pcs < cascade_theory(p, None).p_correct).all()
    th = cascade_theory(0.9, None)
    nonpriv = simulate_binary_cascade(200, 20_000, p=0.9, epsilon=None, rng=5)
    assert abs((nonpriv.cascade_sign == 1).mean() - th.p_correct) <= 4 * math.sqrt(
        th.p_correct * (1 - th.p_correct) / 20_000)
    lo, hi = 0.9, 1.0  # k drops from 4 to 3 in between: P = 0.9432 > 0.9112
    assert cascade_theory(0.9, lo).p_correct > cascade_theory(0.9, hi).p_correct + 0.03
    runs = 20_000
    a = (simulate_binary_cascade(3000, runs, p=0.9, epsilon=lo, rng=6).cascade_sign == 1).mean()
    b = (simulate_binary_cascade(3000, runs, p=0.9, epsilon=hi, rng=7).cascade_sign == 1).mean()
    se = math.sqrt((a * (1 - a) + b * (1 - b)) / runs)
    assert a - b > 5 * se, (a, b, se)


# ---------------------------------------------------------------- bad input
def test_simulator_errors() -> None:
    with pytest.raises(DPKitError, match="epsilon"):
        simulate_sequential_learning(10, 2, mechanism="smoothed", epsilon=None)
    with pytest.raises(DPKitError, match="epsilon"):
        simulate_sequential_learning(10, 2, epsilon=0.0)
    with pytest.raises(DPKitError, match="sensitivity"):
        simulate_sequential_learning(10, 2, epsilon=1.0, sensitivity=-1.0)
    with pytest.raises(DPKitError, match="sigma"):
        simulate_sequential_learning(10, 2, epsilon=1.0, sigma=0.0)
    with pytest.raises(DPKitError, match="theta"):
        simulate_sequential_learning(10, 2, epsilon=1.0, theta=0)
    with pytest.raises(DPKitError, match="initial_belief"):
        simulate_sequential_learning(10, 2, epsilon=1.0, initial_belief=float("nan"))
    with pytest.raises(DPKitError, match="checkpoints"):
        simulate_sequential_learning(10, 2, epsilon=1.0, checkpoints=[0, 5])
    with pytest.raises(DPKitError, match="n_agents"):
        simulate_sequential_learning(0, 2, epsilon=1.0)
    with pytest.raises(DPKitError, match="mechanism"):
        simulate_sequential_learning(10, 2, mechanism="laplace", epsilon=1.0)  # type: ignore
    with pytest.raises(DPKitError, match="p must be"):
        simulate_sequential_learning(10, 2, epsilon=1.0, signal="binary", p=0.5)
    with pytest.raises(DPKitError, match="belief"):
        report_log_likelihood(1, float("inf"), 1, epsilon=1.0)
    with pytest.raises(DPKitError, match="report"):
        report_log_likelihood(0, 0.0, 1, epsilon=1.0)
