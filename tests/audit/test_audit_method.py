"""Tests of dpkit.audit on mechanisms whose privacy loss is known exactly.

Every audit here uses β = 1e-6 unless stated: an honest mechanism's audit exceeds its true ε
with probability at most 1e-6 (the false-alarm rate). Seeds are fixed, so each test is
deterministic; the lower thresholds ("ε_lb > 0.9·ε") were checked at these seeds and hold with
a wide margin (see the numbers in the comments).
"""

from __future__ import annotations

import math
from typing import Any

import mpmath
import numpy as np
import pytest
from scipy import stats

from dpkit.audit import (
    AuditEvent,
    AuditResult,
    audit_mechanism,
    audit_samples,
    clopper_pearson,
)
from dpkit.errors import DPKitError

BETA = 1e-6


def laplace(scale: float) -> Any:
    """The Laplace mechanism on a scalar query: n draws of x + Lap(scale)."""
    return lambda x, n, g: x + g.laplace(0.0, scale, size=n)


def randomized_response(epsilon: float, k: int = 2) -> Any:
    """k-ary randomized response: keep the value w.p. e^ε/(e^ε + k − 1), else a uniform other."""
    keep = math.exp(epsilon) / (math.exp(epsilon) + k - 1)

    def sample(v: int, n: int, g: np.random.Generator) -> np.ndarray:
        other = (v + g.integers(1, k, size=n)) % k  # uniform over the k − 1 other values
        return np.where(g.random(n) < keep, v, other)

    return sample


# ====================================================================== known-ε mechanisms
def test_laplace_epsilon_one() -> None:
    # Lap(1) at neighbours 0 and 1 is exactly 1-DP (the log-ratio reaches 1 on {y ≥ 1}).
    # Measured at this seed: ε_lb = 0.98 with 10^6 samples per side.
    res = audit_mechanism(laplace(1.0), 0.0, 1.0, 1_000_000, rng=2024, beta=BETA)
    assert isinstance(res, AuditResult)
    assert 0.7 < res.epsilon_lower_bound <= 1.0
    assert res.epsilon_lower_bound > 0.95
    assert res.kind == "continuous" and res.n == 1_000_000 and res.beta == BETA
    assert res.num_tests == 6 and res.delta == 0.0
    # the chosen event is a threshold at which the ratio is e: {y > t} for t ≥ 1 or {y < t}
    # for t ≤ 0 (in the matching direction)
    ev = res.event
    assert (ev.op == ">" and ev.threshold > 0.9) or (ev.op == "<" and ev.threshold < 0.1)
    assert res.p_lower > res.p_prime_upper


@pytest.mark.parametrize("epsilon, k", [(math.log(3.0), 2), (1.0, 4), (2.0, 3)])
def test_randomized_response(epsilon: float, k: int) -> None:
    # k-ary RR is exactly ε-DP: the outcome {y = v} has ratio e^ε. Measured: ε_lb/ε ≥ 0.97.
    res = audit_mechanism(randomized_response(epsilon, k), 0, 1, 1_000_000, rng=7, beta=BETA)
    assert res.kind == "discrete"
    assert 0.9 * epsilon < res.epsilon_lower_bound <= epsilon


def test_miscalibrated_twins_are_caught() -> None:
    # Laplace with the noise for 2ε (scale 1/2) claimed as 1-DP: true ε = 2, measured 1.97.
    res = audit_mechanism(laplace(0.5), 0.0, 1.0, 1_000_000, rng=2024, beta=BETA)
    assert res.epsilon_lower_bound > 1.0
    assert res.epsilon_lower_bound > 1.8
    # RR with the keep probability for 2ε, claimed as ε = 1: measured 1.98.
    res = audit_mechanism(randomized_response(2.0), 0, 1, 1_000_000, rng=7, beta=BETA)
    assert res.epsilon_lower_bound > 1.0
    # a subtler twin: noise for 1.2ε, with 10^6 samples still caught (measured 1.18)
    res = audit_mechanism(laplace(1 / 1.2), 0.0, 1.0, 1_000_000, rng=2024, beta=BETA)
    assert res.epsilon_lower_bound > 1.0


def test_delta_is_subtracted() -> None:
    # M(x) ≡ 0 and M(x') = Bernoulli(0.01): (0, 0.01)-DP but not ε-DP for any ε.
    zero = np.zeros(100_000, dtype=np.int64)
    one = (np.random.default_rng(5).random(100_000) < 0.01).astype(np.int64)
    pure = audit_samples(zero, one, beta=BETA)  # refutes pure DP: measured ε_lb ≈ 3.1
    assert pure.epsilon_lower_bound > 2.0
    assert pure.event.reverse and pure.event.contains(np.array([0, 1])).tolist() == [False, True]
    approx = audit_samples(zero, one, delta=0.01, beta=BETA)  # consistent with (0, 0.01)
    assert approx.epsilon_lower_bound == 0.0


@pytest.mark.parametrize("kind", ["discrete", "continuous"])
def test_identical_laws_give_zero(kind: str) -> None:
    # Same law on both sides (ε = 0): ε_lb > 0 would be a false alarm (probability ≤ β).
    g = np.random.default_rng(11)
    if kind == "discrete":
        a, b = g.integers(0, 20, 200_000), g.integers(0, 20, 200_000)
    else:
        a, b = g.normal(size=200_000), g.normal(size=200_000)
    res = audit_samples(a, b, beta=BETA)
    assert res.kind == kind
    assert res.epsilon_lower_bound == 0.0


def test_false_alarm_rate_is_below_beta() -> None:
    # 300 small audits of 1-DP binary RR at β = 0.2 each: a valid audit raises a false alarm
    # (ε_lb > 1) in at most 20 % of runs. We allow 80 of 300 (the binomial(300, 0.2) upper
    # tail beyond 80 has probability < 1e-3); Clopper–Pearson + Bonferroni are conservative, so
    # in practice there are none.
    rr = randomized_response(1.0)
    alarms = 0
    for seed in range(300):
        res = audit_mechanism(rr, 0, 1, 400, rng=seed, beta=0.2)
        alarms += res.epsilon_lower_bound > 1.0
    assert alarms <= 80


# ====================================================================== statistics
def binomial_tail_root(k: int, n: int, alpha: float, upper: bool) -> float:
    """The exact one-sided bound from its definition, in 50-digit arithmetic: the p at which
    P[Bin(n, p) ≥ k] = α (lower bound) or P[Bin(n, p) ≤ k] = α (upper bound)."""
    mpmath.mp.dps = 50

    def cdf_below(p: Any, m: int) -> Any:  # P[Bin(n, p) < m]
        return mpmath.fsum(mpmath.binomial(n, j) * p**j * (1 - p) ** (n - j) for j in range(m))

    if upper:
        f = lambda p: cdf_below(p, k + 1) - alpha  # noqa: E731
    else:
        f = lambda p: 1 - cdf_below(p, k) - alpha  # noqa: E731
    lo, hi = mpmath.mpf(0), mpmath.mpf(1)
    for _ in range(200):  # bisection: f is monotone in p
        mid = (lo + hi) / 2
        if (f(mid) > 0) != upper:
            hi = mid
        else:
            lo = mid
    return float((lo + hi) / 2)


@pytest.mark.parametrize("k, n", [(0, 50), (1, 50), (17, 50), (50, 50), (3, 1_000_000)])
def test_clopper_pearson_matches_its_definition(k: int, n: int) -> None:
    alpha = 1e-3
    lo, hi = clopper_pearson(k, n, alpha)
    exp_lo = 0.0 if k == 0 else binomial_tail_root(k, n, alpha, upper=False)
    exp_hi = 1.0 if k == n else binomial_tail_root(k, n, alpha, upper=True)
    assert lo == pytest.approx(exp_lo, rel=1e-10, abs=1e-300)
    assert hi == pytest.approx(exp_hi, rel=1e-10)
    if n <= 1000:  # scipy's exact two-sided interval at level 1 − 2α is the same pair
        ci = stats.binomtest(k, n).proportion_ci(confidence_level=1 - 2 * alpha, method="exact")
        assert (lo, hi) == pytest.approx((ci.low, ci.high), rel=1e-8, abs=1e-15)
    los, his = clopper_pearson(np.array([k, 0]), n, alpha)
    assert los.shape == (2,) and los[1] == 0.0 and his[0] == pytest.approx(hi)


def test_event_description_and_membership() -> None:
    ev = AuditEvent(">=", 3, reverse=True)
    assert ev.contains([2, 3, 4]).tolist() == [False, True, True]
    assert str(ev) == "{y >= 3}: M(x') over M(x)"
    assert AuditEvent("==", 1.5).contains([1.5, 2.0]).tolist() == [True, False]
    with pytest.raises(DPKitError, match="op"):
        AuditEvent("!=", 0.0)


def test_auto_kind() -> None:
    g = np.random.default_rng(3)
    ints = g.integers(0, 5, 1000)
    assert audit_samples(ints, ints[::-1].copy()).kind == "discrete"
    assert audit_samples(ints.astype(float), ints.astype(float)).kind == "discrete"
    assert audit_samples(ints > 2, ints < 2).kind == "discrete"
    assert audit_samples(g.random(1000), g.random(1000)).kind == "continuous"
    assert audit_samples(ints, ints, kind="continuous").kind == "continuous"


# ====================================================================== determinism, errors
def test_deterministic_given_seed() -> None:
    fn = laplace(1.0)
    r1 = audit_mechanism(fn, 0.0, 1.0, 50_000, rng=99)
    r2 = audit_mechanism(fn, 0.0, 1.0, 50_000, rng=99)
    r3 = audit_mechanism(fn, 0.0, 1.0, 50_000, rng=np.random.default_rng(99))
    assert r1 == r2 == r3
    r4 = audit_mechanism(fn, 0.0, 1.0, 50_000, rng=100)
    assert r4 != r1


def test_bad_arguments() -> None:
    a = np.zeros(100)
    with pytest.raises(DPKitError, match="same length"):
        audit_samples(a, np.zeros(99))
    with pytest.raises(DPKitError, match="1-D"):
        audit_samples(np.zeros((10, 10)), np.zeros((10, 10)))
    with pytest.raises(DPKitError, match="at least 20"):
        audit_samples(np.zeros(5), np.zeros(5))
    with pytest.raises(DPKitError, match=r"samples_prime must be finite.*position\(s\) 3"):
        b = np.zeros(100)
        b[3] = np.nan
        audit_samples(a, b)
    with pytest.raises(DPKitError, match="beta"):
        audit_samples(a, a, beta=0.0)
    with pytest.raises(DPKitError, match="beta"):
        audit_samples(a, a, beta=float("nan"))
    with pytest.raises(DPKitError, match="delta"):
        audit_samples(a, a, delta=1.0)
    with pytest.raises(DPKitError, match="kind"):
        audit_samples(a, a, kind="binary")
    with pytest.raises(DPKitError, match="top"):
        audit_samples(a, a, top=0)
    with pytest.raises(DPKitError, match="callable"):
        audit_mechanism(None, 0, 1, 100, rng=0)  # type: ignore[arg-type]
    with pytest.raises(DPKitError, match="must return 100 outputs"):
        audit_mechanism(lambda x, n, g: np.zeros(n + 1), 0, 1, 100, rng=0)
    with pytest.raises(DPKitError, match="n must be >= 20"):
        audit_mechanism(laplace(1.0), 0, 1, 10, rng=0)
    with pytest.raises(DPKitError, match="rng"):
        audit_mechanism(laplace(1.0), 0, 1, 100, rng=-1)
    with pytest.raises(DPKitError, match="alpha"):
        clopper_pearson(1, 10, 1.5)
    with pytest.raises(DPKitError, match="successes"):
        clopper_pearson(11, 10, 0.1)


def test_docstring_examples() -> None:
    import doctest

    import dpkit.audit

    result = doctest.testmod(dpkit.audit)
    assert result.attempted > 0 and result.failed == 0


def test_clopper_pearson_at_extreme_levels_is_a_bound_without_warnings() -> None:
    """α = 1e-300 made scipy's beta quantile warn (boost root finding gave up; the contract
    suite found it through audit_samples(beta=1e-300)); the bounds stay on the safe side."""
    import warnings

    from scipy import special

    from dpkit.audit import clopper_pearson

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lo, hi = clopper_pearson(np.array([0, 2, 18, 20]), 20, 0.5e-300)
    assert lo[0] == 0.0 and hi[3] == 1.0
    a_lo, b_lo = np.array([2.0, 18.0]), np.array([19.0, 3.0])
    assert (special.betainc(a_lo, b_lo, lo[1:3]) <= 0.5e-300).all()
    a_hi, b_hi = np.array([3.0, 19.0]), np.array([18.0, 2.0])
    assert (special.betainc(a_hi, b_hi, hi[:2]) >= 1 - 1e-12).all()
    assert 0 < lo[1] < 1e-149 and lo[2] > 0
