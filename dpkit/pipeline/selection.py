"""Private partition selection: which keys a keyed release may show, with exact δ accounting.

A key (partition) held by a single privacy unit must not appear unless the mechanism says so:
a release that lists every key of the table reveals each unit's rare keys. Two rules here.

1. **Thresholding a noisy count** (Korolova, Kenthapadi, Mishra, Ntoulas 2009, "Releasing
   search queries and clicks privately", WWW; the Laplace / Gaussian thresholding of Google's
   and PipelineDP's partition selection; Gaussian version: Gopi, Gulhane, Kulkarni, Shen,
   Shokouhi, Yekhanin 2020, "Differentially private set union", ICML). Every key's count gets
   independent noise; a key is released, with its noisy count, iff the noisy count is at least
   an integer threshold τ. :class:`Threshold` calibrates the noise and τ.

   Proof of the (ε, δ) statement (add/remove of one unit u, after bounding: u touches at most
   m = ``max_partitions`` keys with at most c = ``max_per_partition`` rows each). Let D ∋ u,
   D' = D − u, K_u the keys only u holds, T = M(D), R = T restricted to the keys of D', and
   B = {some key of K_u is released}; R and B are independent (independent noise per key),
   and p = P[B] ≤ m · P[Z ≥ τ − c] (union bound). The noisy counts on the keys of D' are an
   (ε₀, δ₀)-DP vector mechanism (L1 sensitivity m·c for Laplace, L2 sensitivity c·√m for
   Gaussian), thresholding is post-processing. Then for every set S of outputs:
   P[T ∈ S] ≤ P[R ∈ S] + p ≤ e^ε₀ P[M(D') ∈ S] + δ₀ + p, and, with S₀ the outputs of S
   showing no key of K_u, P[M(D') ∈ S] ≤ e^ε₀ P[R ∈ S₀] + δ₀ = e^ε₀ P[T ∈ S₀]/(1 − p) + δ₀.
   So the release is (ε₀ − log(1 − p), δ₀ + p)-DP. :class:`Threshold` makes ε₀ − log(1 − δ_sel)
   ≤ ε and δ₀ + p ≤ δ.

   Noise: the exact discrete Laplace sampler (ε₀ = Δ₁/scale, δ₀ = 0; P[Z ≥ j] =
   e^{−j/scale}/(1 + e^{−1/scale}) for j ≥ 1) or the exact discrete Gaussian (ρ = Δ₂²/(2σ²)
   zCDP, Canonne, Kamath, Steinke 2020, Thm. 14-15, converted to (ε₀, δ₀) by their Prop. 12,
   or by dpkit's Accountant when that is larger, so that the ZCDP event reads ≤ ε₀ there too;
   tail P[Z ≥ j] ≤ (e^{−j²/2σ²} + σ√(2π)·Q(j/σ)) / Σ_{|z|≤L} e^{−z²/2σ²}: a sum of decreasing
   terms is at most its first term plus the integral of the rest).

2. **Optimal selection of keys alone** (Desfontaines, Voss, Gipson, Mandayam 2022,
   "Differentially private partition selection", PoPETS, Thm. 1: the truncated geometric
   policy): a key held by n units (one contribution per unit) is released with probability
   π(n), π(0) = 0, π(n) = min(e^ε' π(n−1) + δ', 1 − e^{−ε'} (1 − π(n−1) − δ'), 1), with
   (ε', δ') = (ε/m, δ/m) per key (a unit changes at most m keys' unit counts by one; basic
   composition over those keys gives (ε, δ)). :func:`truncated_geometric_probabilities`;
   computed with ε', δ' lowered by a relative 1e-9 so that float rounding cannot raise
   them. The Bernoulli draws use ``rng.random`` (not hardened against floating-point
   attacks).

Neighbouring relation: add/remove of one privacy unit, after contribution bounding.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from .. import _validate as V
from ..accounting import Accountant
from ..accounting.conversions import zcdp_to_epsilon
from ..accounting.events import ZCDP
from ..errors import DPKitError, InfeasibleTargetError

__all__ = [
    "Threshold",
    "calibrate_threshold",
    "laplace_tail",
    "gaussian_tail",
    "truncated_geometric_probabilities",
    "NOISES",
]

NOISES = ("laplace", "gaussian")
#: Rational grid of the noise scales: scales are rounded *up* to a multiple of 2^-20.
_GRID = 2**20
_UP = 1.0 + 1e-12  # relative slack on computed tail probabilities (float rounding)


def _ceil_fraction(x: float) -> Fraction:
    """The smallest multiple of 2^-20 that is >= x (exact); an integer above 2^27 (so that
    the exact samplers' fast paths apply: numerator ≤ 2^48)."""
    if x > 2**27:
        return Fraction(math.ceil(Fraction(x)))
    return Fraction(math.ceil(Fraction(x) * _GRID), _GRID)


def laplace_tail(scale: Fraction | float, j: int) -> float:
    """An upper bound on P[Z ≥ j] for discrete Laplace noise of ``scale`` (j ≥ 1).

    Exactly e^{−j/scale}/(1 + e^{−1/scale}); rounded up by a relative 1e-12.
    """
    if j < 1:
        return 1.0
    s = float(scale)
    return min(1.0, math.exp(-j / s) / (1.0 + math.exp(-1.0 / s)) * _UP)


def gaussian_tail(sigma: Fraction | float, j: int) -> float:
    """An upper bound on P[Z ≥ j] for the discrete Gaussian N_ℤ(0, σ²) (j ≥ 1).

    (e^{−j²/2σ²} + σ√(2π) Q(j/σ)) / Σ_{|z| ≤ L} e^{−z²/2σ²} with L = ⌈6σ⌉: the numerator
    bounds the tail sum (first term plus the integral of the decreasing rest), the
    denominator is a lower bound on the normalizer (a partial sum of positive terms).
    """
    if j < 1:
        return 1.0
    s = float(sigma)
    num = math.exp(-j * j / (2 * s * s)) + s * math.sqrt(2 * math.pi) * 0.5 * math.erfc(
        j / (s * math.sqrt(2)))
    big = math.ceil(6 * s)
    z = np.arange(-big, big + 1, dtype=np.float64)
    den = math.fsum(np.exp(-z * z / (2 * s * s)).tolist()) * (1 - 1e-12)
    return min(1.0, num / den * _UP)


@dataclass(frozen=True)
class Threshold:
    """Calibrated noise and threshold for a keyed integer sum with partition selection.

    Attributes:
        noise: "laplace" or "gaussian".
        scale: the discrete Laplace scale (``noise == "laplace"``) or the discrete Gaussian σ,
            an exact Fraction.
        threshold: τ; a key is released iff its noisy count ≥ τ (None: no selection, every
            public key released).
        epsilon, delta: the (ε, δ) the release is proved to satisfy (module docstring), at
            most the targets.
        sensitivity: the integer L1 (Laplace) or L2 (Gaussian) sensitivity the noise covers.
    """

    noise: str
    scale: Fraction
    threshold: int | None
    epsilon: float
    delta: float
    sensitivity: int

    @property
    def kind_name(self) -> str:
        """The noise's name ("laplace" or "gaussian")."""
        return self.noise

    @property
    def epsilon_noise(self) -> float:
        """ε₀ of the noise alone (Laplace: Δ₁/scale, rounded up)."""
        return math.nextafter(self.sensitivity / float(self.scale), math.inf)


def _l2_bound(m: int, c: int) -> int:
    """The smallest integer ≥ c·√m."""
    t = c * c * m
    r = math.isqrt(t)
    return r if r * r == t else r + 1


def calibrate_threshold(*, epsilon: float, delta: float, max_partitions: int,
                        max_per_partition: int, noise: str = "laplace",
                        select: bool = True, tail_weight: int = 1,
                        unit_weight: int = 1) -> Threshold:
    """Noise and threshold for a keyed count that is (ε, δ)-DP with partition selection.

    Args:
        epsilon: the target ε > 0.
        delta: the target δ: in (0, 1) with ``select`` (all of it to the selection for
            Laplace; half to the Gaussian noise and half to the selection for Gaussian); may be
            0 without selection and Laplace noise.
        max_partitions, max_per_partition: m ≥ 1, c ≥ 1 (after bounding).
        noise: "laplace" (exact discrete Laplace, L1 sensitivity m·c) or "gaussian" (exact
            discrete Gaussian, L2 sensitivity ⌈c·√m⌉).
        select: False when the keys are public (no threshold, no δ for selection).
        tail_weight: the largest count a key held by one unit can have (c for a row count).
        unit_weight: the largest |value| of one row in integer units (1 for a row count; Q
            for a fixed-point sum): the sensitivities are multiplied by it.

    Returns:
        A :class:`Threshold` whose ``epsilon`` ≤ ε and ``delta`` ≤ δ.

    Privacy: the module docstring's proof; add/remove of one privacy unit.
    """
    eps = V.positive(epsilon=epsilon)
    d = V.probability(delta=delta)
    m = V.integer(minimum=1, max_partitions=max_partitions)
    c = V.integer(minimum=1, max_per_partition=max_per_partition)
    if noise not in NOISES:
        raise DPKitError(f"noise must be one of {NOISES}, got {noise!r}")
    if select and not 0.0 < d < 1.0:
        raise DPKitError(f"delta must be in (0, 1) with private partition selection (a key "
                         f"held by one unit is released with probability <= delta), got {delta!r}"
                         "; pass public_partitions to release known keys with delta = 0")
    if not select and noise == "gaussian" and not 0.0 < d < 1.0:
        raise DPKitError(f"delta must be in (0, 1) with noise='gaussian', got {delta!r}")
    d_sel = (d if noise == "laplace" else d / 2) if select else 0.0
    d_noise = 0.0 if noise == "laplace" else (d / 2 if select else d)
    eps0 = eps + math.log1p(-d_sel) if select else eps
    eps0 = math.nextafter(eps0, 0.0)
    if not eps0 > 0:
        raise InfeasibleTargetError(f"epsilon={eps!r} is too small for delta={d!r}")
    w = V.integer(minimum=1, unit_weight=unit_weight)
    if noise == "laplace":
        sens = m * c * w
        scale = _ceil_fraction(sens / eps0)
        while sens / float(scale) > eps0:  # float rounding: move up one grid step
            scale += Fraction(1, _GRID) if scale.denominator > 1 else Fraction(1)
        e_noise = eps0
    else:
        sens = _l2_bound(m, c) * w
        scale = _calibrate_sigma(sens, eps0, d_noise)
        e_noise = eps0
    if not select:
        return Threshold(noise, scale, None, eps, d_noise, sens)
    tail = laplace_tail if noise == "laplace" else gaussian_tail
    def p_of(k: int) -> float:
        return min(1.0, math.nextafter(m * tail(scale, k), math.inf))

    j = _first_j(lambda k: p_of(k) <= d_sel, float(scale))
    p = p_of(j)
    eps_total = math.nextafter(e_noise - math.log1p(-p), math.inf)
    d_total = min(1.0, math.nextafter(d_noise + p, math.inf))
    return Threshold(noise, scale, tail_weight + j, eps_total, d_total, sens)


def _first_j(ok: Any, scale: float) -> int:
    """The smallest j ≥ 1 with ok(j) (ok is monotone): exponential then binary search."""
    hi = max(1, int(scale))
    while not ok(hi):
        hi *= 2
        if hi > 2**62:
            raise InfeasibleTargetError("no threshold reaches the target delta")
    lo = 1
    while lo < hi:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def _eps_of_multiplier(mult: float, d_noise: float, *, fast: bool = False) -> float:
    """ε at δ = d_noise of noise multiplier σ/Δ = mult (ρ = 1/(2 mult²) zCDP): CKS20 Prop. 12,
    and (unless ``fast``) at least the accountant's own conversion, so that composing the
    release's ZCDP event in an Accountant reports at most the target."""
    rho = 1.0 / (2.0 * mult * mult)
    e = zcdp_to_epsilon(rho, d_noise).value
    if fast:
        return e
    return max(e, Accountant().compose(ZCDP(rho)).epsilon(d_noise))


@functools.lru_cache(maxsize=512)
def _gauss_multiplier(eps0: float, d_noise: float) -> float:
    """The smallest noise multiplier σ/Δ (to bisection precision, from above) meeting
    (eps0, d_noise): a bisection on the fast conversion, then on the accountant's."""
    lo, hi = 1e-4, 1.0
    while _eps_of_multiplier(hi, d_noise, fast=True) > eps0:
        lo, hi = hi, hi * 2
        if hi > 1e12:
            raise InfeasibleTargetError("no discrete Gaussian scale reaches the target")
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if _eps_of_multiplier(mid, d_noise, fast=True) > eps0:
            lo = mid
        else:
            hi = mid
    lo = hi
    while _eps_of_multiplier(hi, d_noise) > eps0:
        lo, hi = hi, hi * 1.05
    for _ in range(25):
        mid = 0.5 * (lo + hi)
        if _eps_of_multiplier(mid, d_noise) > eps0:
            lo = mid
        else:
            hi = mid
    return hi


def _calibrate_sigma(sens: int, eps0: float, d_noise: float) -> Fraction:
    """A σ on the sampler's grid, at most ~1e-7 relative above the smallest σ whose discrete
    Gaussian is (eps0, d_noise)-DP on an integer query of L2 sensitivity ``sens`` (zCDP →
    (ε, δ): ε(σ) depends on σ/sens only, and decreases in σ)."""
    sigma, step = _sigma_grid(_gauss_multiplier(eps0, d_noise) * sens)
    while _eps_of_multiplier(float(sigma) / sens, d_noise) > eps0:  # pragma: no cover
        sigma += step  # float safety: σ/sens rounded below the bisection's value
    return sigma


def _sigma_grid(x: float) -> tuple[Fraction, Fraction]:
    """x rounded up to a multiple of 2^-a (and the step), a chosen so that the exact discrete
    Gaussian sampler's vectorized path applies (σ² = n/d with n ≤ 2^31, d·t² ≤ 2^28, t =
    ⌊σ⌋ + 1): a ≤ 14 − ⌈log₂ t⌉ and σ·2^a ≤ 46340; an integer when σ > 2^14."""
    t = math.floor(x) + 1
    a = min(14 - math.ceil(math.log2(t)), math.floor(math.log2(46340 / x)) if x < 46340 else 0)
    a = max(0, a)
    step = Fraction(1, 2**a)
    return Fraction(math.ceil(Fraction(x) * 2**a), 2**a), step


def truncated_geometric_probabilities(epsilon: float, delta: float, max_partitions: int,
                                      n_max: int) -> np.ndarray:
    """π(0), …, π(n_max): the release probability of a key held by n units.

    Desfontaines, Voss, Gipson, Mandayam 2022, Thm. 1 (the optimal policy) with per-key
    (ε', δ') = (ε/m, δ/m), lowered by a relative 1e-9 (float safety). π is non-decreasing and
    reaches 1; entries past ``n_max`` equal π(n_max) or more.

    Privacy: releasing each key independently with probability π(its unit count) is (ε, δ)-DP
    under add/remove of one unit that holds at most m = ``max_partitions`` keys.
    """
    eps = V.positive(epsilon=epsilon)
    d = V.in_range(0.0, 1.0, low_open=True, high_open=True, delta=delta)
    m = V.integer(minimum=1, max_partitions=max_partitions)
    n = V.integer(minimum=0, n_max=n_max)
    e1 = eps / m * (1 - 1e-9)
    d1 = d / m * (1 - 1e-9)
    ee, eme = math.exp(e1), math.exp(-e1)
    out = np.ones(n + 1, dtype=np.float64)
    out[0] = 0.0
    prev = 0.0
    for i in range(1, n + 1):
        cur = min(ee * prev + d1, 1.0 - eme * (1.0 - prev - d1), 1.0)
        out[i] = cur
        prev = cur
        if cur >= 1.0:
            break
    return out
