"""Closed forms of the sequential-learning model, on plain numbers (Liu & Rahimian 2025).

* :func:`log_report_probs`: the report likelihoods P(x | θ = μ, t) of spec §4 for Gaussian
  signals, in log space (the observers' belief update, used by the numpy reference; the
  kernels carry their own copies, tested against this one);
* :func:`asymptotic_constant`: K(ε, σ) of the smoothed-RR learning rate (spec §5.2);
* :func:`cascade_theory`: the binary model's cascade threshold, accuracy and time (spec §6).

The simulations are tested against these. The analogue of a mechanism's ``privacy.py`` for the
learning side: the privacy of each report is smoothed or classic RR's (the parent package).
Imports :mod:`.params` only.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy.special import log_ndtr

from .... import _validate as V
from ....errors import DPKitError
from ... import _rr
from .params import CascadeTheory, check_mechanism

__all__ = ["log_report_probs", "asymptotic_constant", "cascade_theory"]

_LOG_HALF = math.log(0.5)


def log_report_probs(t: npt.ArrayLike, mu: float, sigma: float, mechanism: str, r: float,
                     u: float) -> tuple[np.ndarray, np.ndarray]:
    """(log P(x = −1 | θ = μ, t), log P(x = +1 | θ = μ, t)) for Gaussian signals (spec §4).

    With Z = Φ((t−μ)/σ), B₁ = e^{−rt + rμ + r²σ²/2}·Φ((t−μ)/σ − rσ) and
    B₂ = e^{rt − rμ + r²σ²/2}·Φ((μ−t)/σ − rσ): P(x = −1) = Z − ½B₁ + ½B₂ and
    P(x = +1) = (1 − Z) − ½B₂ + ½B₁ for smoothed RR (the symmetric form; no cancellation),
    (1−u)Z + u(1−Z) and (1−u)(1−Z) + uZ for classic RR, Z and 1 − Z without privacy.
    ``r`` = ε/Δ (smoothed RR), ``u`` = the classic flip probability; both 0 where unused.
    Liu & Rahimian 2025 (the smoothed-RR integral via the Gaussian moment generating function).

    Raises:
        DPKitError: t not finite, μ not finite, σ not > 0, an unknown mechanism, r not a
            finite number ≥ 0, u not in [0, ½].

    >>> [round(float(np.exp(v)), 6) for v in log_report_probs(0.0, 1.0, 1.0, "none", 0, 0)]
    [0.158655, 0.841345]
    """
    check_mechanism(mechanism)
    tt = V.finite_array(t=t)
    m = V.finite(mu=mu)
    s = V.positive(sigma=sigma)
    r = V.nonnegative(r=r)
    u = V.in_range(0.0, 0.5, u=u)
    a = (tt - m) / s
    lz, lzc = log_ndtr(a), log_ndtr(-a)  # P(a = −1), P(a = +1)
    if mechanism == "none":
        return lz, lzc
    if mechanism == "classic":
        lu = math.log(u) if u > 0 else -math.inf  # u underflows to 0 for ε > ~745
        return (np.logaddexp(math.log1p(-u) + lz, lu + lzc),
                np.logaddexp(math.log1p(-u) + lzc, lu + lz))
    c = r * r * s * s / 2.0
    lb1 = -r * tt + r * m + c + log_ndtr(a - r * s)
    lb2 = r * tt - r * m + c + log_ndtr(-a - r * s)
    lm = np.logaddexp(lz + np.log1p(-0.5 * np.exp(_ratio(lb1, lz))), _LOG_HALF + lb2)
    lp = np.logaddexp(lzc + np.log1p(-0.5 * np.exp(_ratio(lb2, lzc))), _LOG_HALF + lb1)
    return lm, lp


def _ratio(lb: np.ndarray, lz: np.ndarray) -> np.ndarray:
    """log(B/P) ≤ 0: B = E[e^{−r|v−t|}; a] ≤ P(a) because the flip probability is ≤ ½.

    Far in the tails (|t| ≳ 1e7σ) both logs are huge and their difference is rounding noise;
    it is clamped to its true range [−inf, 0], and 0/0 (both −inf) is read as 0, so the
    result stays finite and warning-free (a tail term of P(a) = 0 is −inf either way).
    """
    with np.errstate(invalid="ignore"):
        d = np.minimum(lb - lz, 0.0)
    return np.where(np.isnan(d), 0.0, d)


def asymptotic_constant(epsilon: float, sigma: float = 1.0) -> float:
    """K(ε, σ) of the smoothed-RR learning rate e^{c·l_n} ≈ K·n, c = εσ²/2 (spec §5.2).

    K = c·e^{ε²σ²/2}·sinh(ε) − ½·e^{−ε + ε²σ²/2}·(1 − e^{−ε²σ²}); the form is the authors'
    code's and our drift derivation's, not read in the paper (Liu & Rahimian 2025).

    Raises:
        DPKitError: ε or σ not positive and finite, or K beyond the float range.

    >>> round(asymptotic_constant(1.0), 6)
    0.777089
    """
    e = V.positive(epsilon=epsilon)
    s2 = V.positive(sigma=sigma) ** 2
    c = e * s2 / 2.0
    try:
        return (c * math.exp(e * e * s2 / 2.0) * math.sinh(e)
                - 0.5 * math.exp(-e + e * e * s2 / 2.0) * (1.0 - math.exp(-e * e * s2)))
    except OverflowError:
        raise DPKitError(f"K(epsilon={e!r}, sigma={math.sqrt(s2)!r}) exceeds the float range "
                         "(epsilon**2 * sigma**2 / 2 must stay below about 709)") from None


def cascade_theory(p: float, epsilon: float | None) -> CascadeTheory:
    """Cascade threshold k, P(correct cascade) and E[reports before it] for binary signals.

    With u = 1/(1+e^ε) (u = 0 without privacy), q = p(1−u) + (1−p)u, ρ = (1−q)/q,
    α = (1−p)/p: k = ⌊log α / log ρ⌋ + 1, P_correct = 1/(1 + ρ^k),
    E[τ] = (k/(2q−1))·(1 − ρ^k)/(1 + ρ^k). Liu & Rahimian 2025 (binary model); the closed
    forms are the spec's and the authors' code's.

    Raises:
        DPKitError: p not in (½, 1), ε not positive, or ε so small that k exceeds 2^62.

    >>> cascade_theory(0.7, 1.0).k
    3
    """
    pp = V.in_range(0.5, 1.0, low_open=True, high_open=True, p=p)
    eps = None if epsilon is None else V.positive(epsilon=epsilon)
    u = 0.0 if eps is None else _rr.flip_probability(eps, 2)
    q = pp * (1.0 - u) + (1.0 - pp) * u
    # 2q − 1 = (2p − 1)(1 − 2u) and 1 − 2u = tanh(ε/2): no cancellation as ε → 0
    gap = (2.0 * pp - 1.0) * (1.0 if eps is None else math.tanh(eps / 2.0))
    log_rho = math.log1p(-gap / q)  # ρ = (1 − q)/q = 1 − (2q − 1)/q
    log_alpha = math.log((1.0 - pp) / pp)
    ratio = log_alpha / log_rho if log_rho < 0.0 else math.inf
    if not ratio < 2.0**62:
        raise DPKitError(f"epsilon={epsilon!r} is too small for a cascade threshold: "
                         f"k = log(α)/log(ρ) exceeds 2**62 (k grows like 1/epsilon)")
    k = int(math.floor(ratio + 1e-12)) + 1
    rk = math.exp(k * log_rho)
    return CascadeTheory(k=k, p_correct=1.0 / (1.0 + rk),
                         expected_time=(k / gap) * (-math.expm1(k * log_rho)) / (1.0 + rk),
                         p_correct_nonprivate=pp * pp / (pp * pp + (1.0 - pp) ** 2))
