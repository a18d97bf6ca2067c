"""dpkit.mechanisms._rr: the one ε ↔ keep/flip conversion of k-ary randomized response.

Checks (issue 15, "math written once"): the shared functions are bit-identical to the formulas
they replaced (heavy_hitters oracles / JAX host code, smoothed_rr) over a grid of ε and k that
includes the overflow and underflow corners; they agree with 50-digit mpmath values; the
mechanisms now call them; and the mechanisms' binary-RR curve is the accountant's.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

from dpkit.accounting import DEFAULT_ORDERS, PureDP, RandomizedResponse
from dpkit.mechanisms import _rr
from dpkit.mechanisms import heavy_hitters as hh
from dpkit.mechanisms.heavy_hitters import oracles as O
from dpkit.mechanisms.smoothed_rr import ClassicRRParams, rdp_rr_bound

EPS = [1e-12, 1e-3, 1.0, 30.0, 700.0, 800.0, math.inf]
KS = [2, 3, 10**6]


# --------------------------------------------------------------- the replaced formulas, verbatim
def old_flip(eps: float, k: int) -> float:  # heavy_hitters/oracles.py flip_probability
    x = (k - 1) * math.exp(-eps)
    return x / (1.0 + x)


def old_keep(eps: float, k: int) -> float:  # GRR.p, OLH.p
    return 1.0 / (1.0 + (k - 1) * math.exp(-eps))


def old_other(eps: float, k: int) -> float:  # GRR.q, OLH.q_grr
    return math.exp(-eps) * old_keep(eps, k)


def old_binary_flip(eps: float) -> float:  # OUE.q, ClassicRRParams.flip, sequential._rr_flip
    e = math.exp(-eps)
    return e / (1.0 + e)


def old_log_keep(eps: float, k: int) -> float:  # heavy_hitters/_jax.py _log_keep
    return -math.log1p((k - 1) * math.exp(-eps))


def old_log_flip(eps: float, k: int) -> float:  # _jax.py _log_flip before rounding up
    return math.log(k - 1) - eps + old_log_keep(eps, k)


def old_oue_log_q(eps: float) -> float:  # _jax.py OUE log q before rounding up
    return -(eps + math.log1p(math.exp(-eps)))


def same(a: float, b: float) -> bool:
    """Bit-identical (signed zeros compared by value; inf and -inf equal to themselves)."""
    return a == b or (math.isnan(a) and math.isnan(b))


@pytest.mark.parametrize("k", KS)
@pytest.mark.parametrize("eps", EPS)
def test_bit_identical_to_the_replaced_formulas(eps: float, k: int) -> None:
    assert same(_rr.flip_probability(eps, k), old_flip(eps, k))
    assert same(_rr.keep_probability(eps, k), old_keep(eps, k))
    assert same(_rr.other_probability(eps, k), old_other(eps, k))
    assert same(_rr.log_keep_probability(eps, k), old_log_keep(eps, k))
    assert same(_rr.log_flip_probability(eps, k), old_log_flip(eps, k))
    if k == 2:
        assert same(_rr.flip_probability(eps), old_binary_flip(eps))
        assert same(_rr.log_flip_probability(eps), old_oue_log_q(eps))


@pytest.mark.parametrize("k", KS)
@pytest.mark.parametrize("eps", EPS)
def test_no_overflow_and_limits(eps: float, k: int) -> None:
    f, p = _rr.flip_probability(eps, k), _rr.keep_probability(eps, k)
    lf, lp = _rr.log_flip_probability(eps, k), _rr.log_keep_probability(eps, k)
    assert 0.0 <= f <= (k - 1) / k and 1.0 / k <= p <= 1.0
    assert lp <= 0.0 and not math.isnan(lf)
    if math.isinf(eps):
        assert (f, p, lf) == (0.0, 1.0, -math.inf)
    else:
        assert math.isfinite(lf)  # log space never underflows, even where f is 0.0 (ε = 800)


def _mp(eps: float, k: int) -> tuple[mpmath.mpf, mpmath.mpf]:
    with mpmath.workdps(60):
        e, kk = mpmath.mpf(eps), mpmath.mpf(k)
        keep = 1 / (1 + (kk - 1) * mpmath.exp(-e))
        flip = (kk - 1) * mpmath.exp(-e) / (1 + (kk - 1) * mpmath.exp(-e))
        return keep, flip


@pytest.mark.parametrize("k", KS)
@pytest.mark.parametrize("eps", [e for e in EPS if math.isfinite(e)] + [0.5, 13.8, 36.0, 45.0])
def test_against_mpmath(eps: float, k: int) -> None:
    keep, flip = _mp(eps, k)
    rel = 4 * 2.0**-52
    assert _rr.keep_probability(eps, k) == pytest.approx(float(keep), rel=rel)
    if flip > mpmath.mpf(2.0) ** -1000:  # representable as a normal float
        assert _rr.flip_probability(eps, k) == pytest.approx(float(flip), rel=rel)
    # log space: absolute error a few ulps of max(ε, log k) (relative error of the probability)
    tol = 8 * 2.0**-52 * max(1.0, eps, math.log(k))
    assert abs(_rr.log_flip_probability(eps, k) - float(mpmath.log(flip))) <= tol
    assert abs(_rr.log_keep_probability(eps, k) - float(mpmath.log(keep))) <= tol
    # the keep/other ratio is e^ε (the ε-LDP statement)
    if eps < 700:
        ratio = _rr.keep_probability(eps, k) / _rr.other_probability(eps, k)
        assert ratio == pytest.approx(math.exp(eps), rel=rel)


# --------------------------------------------------------------- the mechanisms use them
@pytest.mark.parametrize("eps", [1e-3, 1.0, 30.0, 700.0, 800.0])
def test_oracles_use_the_shared_conversions(eps: float) -> None:
    g = hh.GRR(eps, 7)
    assert same(g.p, _rr.keep_probability(eps, 7)) and same(g.q, _rr.other_probability(eps, 7))
    assert same(O.flip_probability(eps, 7), _rr.flip_probability(eps, 7))
    o = hh.OLH(eps, 1000, g=5)
    assert same(o.p, _rr.keep_probability(eps, 5))
    assert same(o.q_grr, _rr.other_probability(eps, 5))
    assert same(hh.OUE(eps, 4).q, max(_rr.flip_probability(eps, 2), 5e-324))
    assert same(ClassicRRParams(eps).flip, _rr.flip_probability(eps, 2))


def test_jax_host_conversions_use_the_shared_ones() -> None:
    pytest.importorskip("jax")
    from dpkit.mechanisms.heavy_hitters import _jax as HJ

    for eps in EPS[:-1]:
        for k in KS:
            assert same(HJ._log_keep(eps, k), _rr.log_keep_probability(eps, k))
            want = float(np.logaddexp(old_log_flip(eps, k), -65.0 * math.log(2.0)))
            assert same(HJ._log_flip(eps, k), want)


@pytest.mark.parametrize("eps", [1e-3, 0.25, 1.0, 5.0, 30.0, 300.0, 709.0])
def test_oue_curve_within_an_ulp_of_the_old_q(eps: float) -> None:
    """oue_rdp now takes the sampler's q (e^{−ε}/(1 + e^{−ε})) instead of 1/(e^ε + 1): the two
    differ by at most an ulp, and ε > 709 no longer overflows."""
    old_q = 1.0 / (math.exp(eps) + 1.0)
    new_q = hh.OUE(eps, 2).q
    assert abs(new_q - old_q) <= np.spacing(old_q)
    curve = hh.oue_rdp(eps, [2.0, 8.0, math.inf])
    assert curve[-1] == eps and np.all(np.isfinite(curve))
    big = hh.oue_rdp(800.0, [2.0, math.inf])
    assert np.all(np.isfinite(big)) and big[-1] == 800.0


@pytest.mark.parametrize("eps", [1e-12, 1e-6, 1e-3, 0.5, 1.0, 30.0, 700.0])
def test_smoothed_rr_bound_is_the_accountants_curve(eps: float) -> None:
    orders = np.asarray(DEFAULT_ORDERS, dtype=float)
    got = rdp_rr_bound(eps, orders)
    assert np.array_equal(got, PureDP(eps).rdp(orders))
    assert np.array_equal(got, RandomizedResponse(eps).rdp(orders))
    # the closed form it replaced (plain log-sum-exp) agrees where that form is accurate,
    # and the accountant's value is never below the exact value (mpmath)
    if eps >= 0.5:
        a = orders[np.isfinite(orders)]
        plain = (np.logaddexp(a * eps, (1 - a) * eps) - np.logaddexp(0.0, eps)) / (a - 1)
        np.testing.assert_allclose(got[np.isfinite(orders)], np.minimum(plain, eps), rtol=1e-12)
    with mpmath.workdps(60):
        e = mpmath.mpf(eps)
        for al in (1.5, 2.0, 64.0):
            A = mpmath.mpf(al)
            exact = mpmath.log((mpmath.exp(A * e) + mpmath.exp((1 - A) * e)) / (1 + mpmath.exp(e)))
            exact /= A - 1
            assert rdp_rr_bound(eps, [al])[0] >= float(exact) * (1 - 1e-15)
