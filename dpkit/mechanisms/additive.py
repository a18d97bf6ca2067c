"""Additive noise mechanisms: Gaussian, Laplace, and exact discrete Laplace / discrete Gaussian.

Each mechanism is a frozen, validated parameter record, a pure sampling function and a privacy
statement (``params.privacy_event()``, an event of :mod:`dpkit.accounting.events`):

* :class:`GaussianParams`, :func:`gaussian_mechanism`: ``Gaussian(σ)``, ρ = 1/(2σ²) zCDP;
  not hardened.
* :class:`LaplaceParams`, :func:`laplace_mechanism`: ``Laplace(b)``, (1/b)-DP; not hardened.
* :class:`DiscreteLaplaceParams`, :func:`discrete_laplace_mechanism`: ``PureDP(Δ/scale)``;
  hardened.
* :class:`DiscreteGaussianParams`, :func:`discrete_gaussian_mechanism`: ``ZCDP(Δ²/(2σ²))``;
  hardened.

Neighbouring relation: every statement holds for whichever relation (add/remove or replace
one record) the query's sensitivity was computed under; the events carry ``relation=None``.

Hardening. The continuous Gaussian and Laplace mechanisms draw noise in floating point; their
outputs are *not* hardened against floating-point attacks (Mironov 2012; Jin et al. 2022), even
with :func:`dpkit.random.secure_generator`. The discrete mechanisms use the exact samplers of
Canonne, Kamath and Steinke 2020 ("The Discrete Gaussian for Differential Privacy", NeurIPS,
Algorithms 1-3): every random draw is a uniform integer from ``rng.integers`` and every
probability is an exact rational, so with a :class:`~dpkit.random.SecureGenerator` they are
hardened against floating-point attacks. They are rejection samplers: their running time is
random and depends on the noise drawn, a timing channel (Jin et al. 2022) they do not close.

Two implementations of the exact samplers are provided, equal in law:

* ``method="exact"``: the oracle, pure-Python integers and :class:`fractions.Fraction`, one
  sample at a time; any rational parameter.
* ``method="fast"``: the same algorithms vectorized over numpy ``int64`` arrays (batch
  rejection); used by ``method="auto"`` (the default) whenever every integer involved fits in
  ``int64`` with a wide margin, and otherwise the exact path is used. Rare samples whose
  intermediate values would not fit (far tails) are finished by the exact path.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

import numpy as np

from .. import _validate as V
from ..accounting.events import ZCDP, Gaussian, Laplace, PureDP
from ..errors import DPKitError
from ..random import RNGLike, SecureGenerator, as_generator

__all__ = [
    "GaussianParams",
    "LaplaceParams",
    "DiscreteLaplaceParams",
    "DiscreteGaussianParams",
    "gaussian_mechanism",
    "laplace_mechanism",
    "discrete_laplace_mechanism",
    "discrete_gaussian_mechanism",
    "sample_bernoulli_exp",
    "sample_discrete_laplace",
    "sample_discrete_gaussian",
    "MAX_SCALE",
    "MAX_DRAWS",
]

Method = Literal["auto", "exact", "fast"]
RationalLike = int | float | Fraction
Size = None | int | tuple[int, ...]
_Gen = np.random.Generator | SecureGenerator

#: Largest accepted discrete scale / σ (2**40 ≈ 1.1e12): keeps every noise value inside int64.
MAX_SCALE = 2**40
#: Most draws one sampler call returns (2**32 int64 values = 32 GiB): larger sizes are refused
#: up front instead of running out of memory after hours of sampling.
MAX_DRAWS = 2**32
_MAX_DRAW = 2**62  # the largest range drawn by a single rng.integers call here (int64-safe)
_MAX_BATCH = 1 << 20  # bound on the length of the work arrays of one fast-path round
_INT64_SAFE = 2**62  # |values| kept below this in int64 arithmetic (sums then cannot overflow)
_MAX_ABS_INPUT = 2**61  # |x| accepted by the discrete mechanisms
_FAST_LAPLACE_T = 2**48  # fast discrete Laplace: numerator of the scale at most this
_FAST_SQRT = 2**31  # fast discrete Gaussian: |Y|·d·t and n kept below this, so squares fit
_FAST_TAIL = 8  # fast discrete Gaussian: int64 must cover |Y| ≤ 8·t (exact path beyond)
_ONE = Fraction(1)


# ================================================================ argument handling helpers
def _fraction(*, allow_zero: bool = False, maximum: int | None = None, **kwargs: Any) -> Fraction:
    """A positive rational given as int, float or Fraction, returned as an exact Fraction.

    A float is read as the shortest decimal that prints as it (0.1 → 1/10), so the sampler
    uses exactly the value the caller wrote.
    """
    name, value = V.one(kwargs)
    if isinstance(value, Fraction):
        out = value
        if out < 0 or (out == 0 and not allow_zero):
            rel = ">= 0" if allow_zero else "> 0"
            raise DPKitError(f"{name} must be {rel} and finite, got {value!r}")
    elif isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, bool):
        V.positive(allow_zero=allow_zero, **{name: int(value)})
        out = Fraction(int(value))
    elif isinstance(value, (numbers.Real, np.floating)) and not isinstance(value, bool):
        f = V.positive(allow_zero=allow_zero, **{name: value})
        out = Fraction(repr(float(f)))
    else:
        raise DPKitError(f"{name} must be an int, float or fractions.Fraction, got {value!r}")
    if maximum is not None and out > maximum:
        raise DPKitError(f"{name} must be <= {maximum} (2**{maximum.bit_length() - 1}), "
                         f"got {value!r}")
    return out


def _float_up(x: Fraction) -> float:
    """The smallest float >= x (``inf`` when x is beyond the float range)."""
    try:
        f = float(x)
    except OverflowError:
        return math.inf
    if Fraction(f) < x:
        f = math.nextafter(f, math.inf)
    return f


def _method(method: Any) -> str:
    if method not in ("auto", "exact", "fast"):
        raise DPKitError(f"method must be 'auto', 'exact' or 'fast', got {method!r}")
    return str(method)


def _size(size: Any) -> tuple[int, ...] | None:
    if size is None:
        return None
    if isinstance(size, (tuple, list)):
        shape = tuple(V.integer(minimum=0, size=s) for s in size)
    else:
        shape = (V.integer(minimum=0, size=size),)
    if math.prod(shape) > MAX_DRAWS:
        raise DPKitError(f"size must hold at most MAX_DRAWS = 2**32 draws, got {size!r}")
    return shape


def _positions(mask: np.ndarray) -> str:
    mask = np.atleast_1d(mask)  # a 0-d input is reported as position 0
    where = np.argwhere(mask)[:5]
    pos = ", ".join(str(tuple(int(i) for i in w)) if mask.ndim > 1 else str(int(w[0]))
                    for w in where)
    total = int(mask.sum())
    return pos + ("" if total <= 5 else f" (and {total - 5} more)")


def _finite_array(**kwargs: Any) -> np.ndarray:
    """``_validate.finite_array``, also for 0-d input (reported as position 0)."""
    name, value = V.one(kwargs)
    if np.ndim(value) == 0:  # finite_array cannot name a position in a 0-d array
        return V.finite_array(**{name: np.reshape(np.asarray(value), (1,))}).reshape(())
    return V.finite_array(**{name: value})


def _integer_array(**kwargs: Any) -> np.ndarray:
    """An integer-valued array as int64: rejects NaN/inf, fractions and |x| > 2**61."""
    name, value = V.one(kwargs)
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError) as exc:  # e.g. a ragged list
        raise DPKitError(f"{name} must be an array of integers: {exc}") from None
    if raw.dtype.kind == "b":
        return raw.astype(np.int64)
    if raw.dtype.kind in "iu":
        too_big = np.abs(raw.astype(object) if raw.dtype.kind == "u" else raw) > _MAX_ABS_INPUT
        too_big = np.asarray(too_big, dtype=bool)
        if too_big.any():
            raise DPKitError(f"{name} must have |values| <= 2**61; too large at position(s) "
                             f"{_positions(too_big)}")
        return raw.astype(np.int64)
    arr = _finite_array(**{name: value})
    frac = arr != np.floor(arr)
    if frac.any():
        raise DPKitError(f"{name} must be integer-valued; non-integer at position(s) "
                         f"{_positions(frac)}")
    too_big = np.abs(arr) > 2.0**53
    if too_big.any():
        raise DPKitError(f"{name} given as floats must have |values| <= 2**53 (pass an integer "
                         f"array for larger values); too large at position(s) "
                         f"{_positions(too_big)}")
    return arr.astype(np.int64)


def _check_params(params: Any, cls: type) -> None:
    if not isinstance(params, cls):
        raise DPKitError(f"params must be a {cls.__name__}, got {type(params).__name__}")


# ================================================================ parameter records
@dataclass(frozen=True)
class GaussianParams:
    """Gaussian mechanism: add N(0, (σ·Δ)²) to each coordinate of a query of L2 sensitivity Δ.

    Privacy: ρ-zCDP with ρ = 1/(2σ²), i.e. RDP ε(α) = α/(2σ²) for every α > 1 (Mironov 2017,
    Prop. 7; Bun & Steinke 2016, Prop. 1.6), for the neighbouring relation under which the L2
    sensitivity Δ was computed. Not hardened against floating-point attacks.

    Args:
        noise_multiplier: σ > 0, the noise standard deviation divided by the sensitivity.
        sensitivity: Δ > 0, the query's L2 sensitivity.

    Raises:
        DPKitError: σ or Δ not positive and finite (NaN included), or σ·Δ not a positive float.

    >>> GaussianParams(2.0, sensitivity=0.5).std
    1.0
    """

    noise_multiplier: float
    sensitivity: float = 1.0

    def __post_init__(self) -> None:
        s = V.positive(noise_multiplier=self.noise_multiplier)
        d = V.positive(sensitivity=self.sensitivity)
        object.__setattr__(self, "noise_multiplier", s)
        object.__setattr__(self, "sensitivity", d)
        V.positive(**{"noise_multiplier*sensitivity": s * d})

    @property
    def std(self) -> float:
        """The noise standard deviation σ·Δ."""
        return self.noise_multiplier * self.sensitivity

    def privacy_event(self) -> Gaussian:
        """``Gaussian(noise_multiplier)``: ε(α) = α/(2σ²), one release."""
        return Gaussian(self.noise_multiplier)


@dataclass(frozen=True)
class LaplaceParams:
    """Laplace mechanism: add Lap(b·Δ) noise to each coordinate of a query of L1 sensitivity Δ.

    Privacy: ε-DP with ε = 1/b (b = ``noise_multiplier``), RDP from Mironov 2017, Prop. 6, for
    the neighbouring relation under which the L1 sensitivity Δ was computed (Dwork, McSherry,
    Nissim, Smith 2006). Not hardened against floating-point attacks.

    Args:
        noise_multiplier: b > 0, the noise scale divided by the sensitivity.
        sensitivity: Δ > 0, the query's L1 sensitivity.

    Raises:
        DPKitError: b or Δ not positive and finite (NaN included), or b·Δ not a positive float.

    >>> LaplaceParams.from_epsilon(0.5, sensitivity=2.0).scale
    4.0
    """

    noise_multiplier: float
    sensitivity: float = 1.0

    def __post_init__(self) -> None:
        b = V.positive(noise_multiplier=self.noise_multiplier)
        d = V.positive(sensitivity=self.sensitivity)
        object.__setattr__(self, "noise_multiplier", b)
        object.__setattr__(self, "sensitivity", d)
        V.positive(**{"noise_multiplier*sensitivity": b * d})

    @classmethod
    def from_epsilon(cls, epsilon: float, sensitivity: float = 1.0) -> LaplaceParams:
        """The Laplace mechanism that is ε-DP for L1 sensitivity Δ: b = 1/ε, scale Δ/ε."""
        e = V.positive(epsilon=epsilon)
        return cls(1.0 / e, sensitivity)

    @property
    def scale(self) -> float:
        """The noise scale b·Δ."""
        return self.noise_multiplier * self.sensitivity

    def privacy_event(self) -> Laplace:
        """``Laplace(noise_multiplier)``: (1/b)-DP, one release."""
        return Laplace(self.noise_multiplier)


@dataclass(frozen=True)
class DiscreteLaplaceParams:
    """Discrete Laplace mechanism on an integer query of integer L1 sensitivity Δ.

    Law of the noise: P[Y = y] = (1 − e^{−1/scale}) / (1 + e^{−1/scale}) · e^{−|y|/scale},
    y ∈ ℤ. Privacy: ε-DP with ε = Δ/scale, for the neighbouring relation under which Δ was
    computed (Ghosh, Roughgarden, Sundararajan 2012; Canonne, Kamath, Steinke 2020). The
    statement is exact: the log-ratio of the two output pmfs reaches Δ/scale. Hardened against
    floating-point attacks (exact integer sampler).

    Args:
        scale: a positive rational (int, float read as its decimal, or Fraction), at most
            :data:`MAX_SCALE`; stored as an exact ``Fraction``.
        sensitivity: Δ, a positive integer.

    Raises:
        DPKitError: scale not a positive rational ≤ MAX_SCALE; Δ not a positive integer.

    >>> DiscreteLaplaceParams(2, sensitivity=1).epsilon
    0.5
    """

    scale: Fraction
    sensitivity: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "scale", _fraction(maximum=MAX_SCALE, scale=self.scale))
        object.__setattr__(self, "sensitivity", V.integer(minimum=1, sensitivity=self.sensitivity))

    @property
    def epsilon(self) -> float:
        """ε = Δ/scale, rounded up to the next float."""
        return _float_up(self.sensitivity / self.scale)

    def privacy_event(self) -> PureDP:
        """``PureDP(Δ/scale)``, one release."""
        return PureDP(self.epsilon)


@dataclass(frozen=True)
class DiscreteGaussianParams:
    """Discrete Gaussian mechanism on an integer query of integer sensitivity Δ.

    Law of the noise, per coordinate: P[Y = y] ∝ exp(−y²/(2σ²)), y ∈ ℤ (σ² rational).

    Privacy: ρ-zCDP with ρ = Δ²/(2σ²), i.e. RDP ε(α) ≤ αΔ²/(2σ²), for the neighbouring relation
    under which Δ was computed (Canonne, Kamath, Steinke 2020, Thm. 14). For a vector query with
    integer-valued coordinates and L2 sensitivity Δ₂, independent noise on every coordinate
    gives the same ρ = Δ₂²/(2σ²): Rényi divergences of product distributions add over the
    coordinates and Σᵢ Δᵢ²/(2σ²) = Δ₂²/(2σ²) (CKS 2020, Thm. 15). Pass an integer upper bound
    on Δ₂ (e.g. ⌈Δ₂⌉). Only the direct (ε, δ) statement of CKS 2020 is weaker in many
    dimensions; the zCDP one is not. Hardened against floating-point attacks (exact sampler).

    Args:
        sigma: σ, a positive rational (int, float read as its decimal, or Fraction), at most
            :data:`MAX_SCALE`; stored as an exact ``Fraction``.
        sensitivity: Δ (or Δ₂ for a vector query), a positive integer.

    Raises:
        DPKitError: σ not a positive rational ≤ MAX_SCALE; Δ not a positive integer.

    >>> DiscreteGaussianParams(2, sensitivity=1).rho
    0.125
    """

    sigma: Fraction
    sensitivity: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "sigma", _fraction(maximum=MAX_SCALE, sigma=self.sigma))
        object.__setattr__(self, "sensitivity", V.integer(minimum=1, sensitivity=self.sensitivity))

    @property
    def sigma_squared(self) -> Fraction:
        """σ², exactly."""
        return self.sigma * self.sigma

    @property
    def rho(self) -> float:
        """ρ = Δ²/(2σ²), rounded up to the next float."""
        return _float_up(Fraction(self.sensitivity**2) / (2 * self.sigma_squared))

    def privacy_event(self) -> ZCDP:
        """``ZCDP(rho=Δ²/(2σ²))``, one release (any number of coordinates, Δ = L2 bound)."""
        return ZCDP(self.rho)


# ================================================================ exact oracle (pure Python)
def _below(rng: _Gen, m: int) -> int:
    """A uniform integer in {0, …, m−1}, from ``rng.integers`` only (m ≥ 1, any size)."""
    if m == 1:
        return 0
    if m <= _MAX_DRAW:
        return int(rng.integers(0, m))
    # m beyond one draw: concatenate 32-bit words to `bits` bits and reject values >= m
    bits = (m - 1).bit_length()
    words = (bits + 31) // 32
    while True:
        v = 0
        for w in np.asarray(rng.integers(0, 2**32, size=words)).tolist():
            v = (v << 32) | int(w)
        v >>= 32 * words - bits
        if v < m:
            return v


def _bernoulli_exp_unit(rng: _Gen, gamma: Fraction) -> bool:
    """Bernoulli(exp(−γ)) for γ ∈ [0, 1] (CKS 2020, Algorithm 1, first part).

    K ← 1; while Bernoulli(γ/K) succeeds, K ← K + 1; return whether K is odd. P[K odd] =
    Σ_{K odd} γ^{K−1}/(K−1)! · (1 − γ/K) = e^{−γ}.
    """
    num, den = gamma.numerator, gamma.denominator
    k = 1
    while _below(rng, den * k) < num:  # Bernoulli(γ/k), exactly
        k += 1
    return k % 2 == 1


def _bernoulli_exp_exact(rng: _Gen, gamma: Fraction) -> bool:
    """Bernoulli(exp(−γ)) for rational γ ≥ 0: ⌊γ⌋ Bernoulli(e^{−1}) and one exp(−frac(γ))."""
    whole = gamma.numerator // gamma.denominator
    for _ in range(whole):
        if not _bernoulli_exp_unit(rng, _ONE):
            return False
    return _bernoulli_exp_unit(rng, gamma - whole)


def _discrete_laplace_exact(rng: _Gen, t: int, s: int) -> int:
    """One discrete Laplace draw with scale t/s (CKS 2020, Algorithm 2)."""
    while True:
        u = _below(rng, t)
        if not _bernoulli_exp_exact(rng, Fraction(u, t)):
            continue
        v = 0
        while _bernoulli_exp_unit(rng, _ONE):
            v += 1
        y = (u + t * v) // s  # X = U + tV is geometric with ratio e^{−1/t}; ⌊X/s⌋ has e^{−s/t}
        negative = _below(rng, 2) == 1
        if negative and y == 0:
            continue  # otherwise 0 would be counted twice
        return -y if negative else y


def _gaussian_gamma(y: int, n: int, d: int, t: int) -> Fraction:
    """γ = (|y| − σ²/t)²/(2σ²) for σ² = n/d, as (|y|·d·t − n)² / (2·n·d·t²)."""
    return Fraction((abs(y) * d * t - n) ** 2, 2 * n * d * t * t)


def _discrete_gaussian_exact(rng: _Gen, n: int, d: int, t: int) -> int:
    """One discrete Gaussian draw with σ² = n/d (CKS 2020, Algorithm 3, t = ⌊σ⌋ + 1)."""
    while True:
        y = _discrete_laplace_exact(rng, t, 1)
        if _bernoulli_exp_exact(rng, _gaussian_gamma(y, n, d, t)):
            return y


# ================================================================ fast path (numpy int64)
def _uniform_vec(rng: _Gen, m: int, size: int) -> np.ndarray:
    """``size`` uniform integers in {0, …, m−1} as int64 (m ≤ 2**62)."""
    if m == 1:
        return np.zeros(size, dtype=np.int64)
    return np.asarray(rng.integers(0, m, size=size), dtype=np.int64).reshape(size)


def _bernoulli_ratio_vec(rng: _Gen, num: np.ndarray, den: int, k: int) -> np.ndarray:
    """Elementwise Bernoulli(num/(den·k)) for 0 ≤ num ≤ den ≤ 2**62."""
    if den * k <= _MAX_DRAW:
        return _uniform_vec(rng, den * k, num.size) < num
    # One uniform on {0, …, den·k − 1} is a·den + b with a uniform on {0, …, k−1} and b on
    # {0, …, den−1}; as num ≤ den it is below num exactly when a = 0 and b < num.
    a = _uniform_vec(rng, k, num.size)
    b = _uniform_vec(rng, den, num.size)
    return (a == 0) & (b < num)


def _bernoulli_exp_unit_vec(rng: _Gen, num: np.ndarray, den: int) -> np.ndarray:
    """Elementwise Bernoulli(exp(−num/den)) for 0 ≤ num ≤ den (the K-loop, batched)."""
    out = np.empty(num.size, dtype=bool)
    active = np.arange(num.size)
    k = 1
    while active.size:  # ends almost surely: P[K > k] = γ^k/k!
        go_on = _bernoulli_ratio_vec(rng, num[active], den, k)
        out[active[~go_on]] = k % 2 == 1
        active = active[go_on]
        k += 1
    return out


def _bernoulli_exp_vec(rng: _Gen, num: np.ndarray, den: int) -> np.ndarray:
    """Elementwise Bernoulli(exp(−num/den)) for 0 ≤ num, 1 ≤ den ≤ 2**62."""
    whole, frac = np.divmod(num, den)
    out = np.ones(num.size, dtype=bool)
    pending = np.flatnonzero(whole > 0)
    left = whole[pending]
    while pending.size:  # each round survives w.p. e^{−1}
        ok = _bernoulli_exp_unit_vec(rng, np.ones(pending.size, dtype=np.int64), 1)
        out[pending[~ok]] = False
        pending, left = pending[ok], left[ok] - 1
        more = left > 0
        pending, left = pending[more], left[more]
    idx = np.flatnonzero(out)
    out[idx] = _bernoulli_exp_unit_vec(rng, frac[idx], den)
    return out


def _geometric_vec(rng: _Gen, size: int) -> np.ndarray:
    """Number of Bernoulli(e^{−1}) successes before the first failure, elementwise."""
    v = np.zeros(size, dtype=np.int64)
    active = np.arange(size)
    while active.size:
        ok = _bernoulli_exp_unit_vec(rng, np.ones(active.size, dtype=np.int64), 1)
        active = active[ok]
        v[active] += 1
    return v


def _discrete_laplace_round(rng: _Gen, t: int, s: int, m: int) -> np.ndarray:
    """One batched pass of CKS Algorithm 2 on m candidates; returns the accepted draws."""
    u = _uniform_vec(rng, t, m)
    u = u[_bernoulli_exp_unit_vec(rng, u, t)]
    v = _geometric_vec(rng, u.size)
    if v.size and int(v.max()) > (_INT64_SAFE - t) // t:  # pragma: no cover - P < e^{-16000}
        raise DPKitError("internal: geometric draw too large for int64")
    y = (u + t * v) // s
    negative = _uniform_vec(rng, 2, y.size) == 1
    keep = ~(negative & (y == 0))
    return np.where(negative, -y, y)[keep]


def _collect(round_fn: Callable[[int], np.ndarray], total: int, rate: float) -> np.ndarray:
    """Run batched rejection rounds until ``total`` accepted draws are collected."""
    parts: list[np.ndarray] = []
    got = 0
    while got < total:
        need = total - got
        m = min(_MAX_BATCH, int(need / rate * 1.1) + 16)
        y = round_fn(m)
        rate = max(0.05, y.size / m)
        y = y[:need]
        parts.append(y)
        got += y.size
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def _laplace_fast_ok(t: int, s: int) -> bool:
    return t <= _FAST_LAPLACE_T and s <= _MAX_DRAW


def _gaussian_fast_ok(n: int, d: int, t: int) -> bool:
    return (n <= _FAST_SQRT and 2 * n * d * t * t <= _MAX_DRAW
            and _FAST_SQRT // (d * t) >= _FAST_TAIL * t)


def _discrete_gaussian_round(rng: _Gen, n: int, d: int, t: int, m: int) -> np.ndarray:
    """One batched pass of CKS Algorithm 3 on m discrete Laplace proposals."""
    y = _collect(lambda k: _discrete_laplace_round(rng, t, 1, k), m, 0.5)
    ay = np.abs(y)
    ymax = _FAST_SQRT // (d * t)
    small = ay <= ymax
    accept = np.empty(y.size, dtype=bool)
    idx = np.flatnonzero(small)
    a = ay[idx] * (d * t) - n  # |a| ≤ 2**31, so a² fits in int64
    accept[idx] = _bernoulli_exp_vec(rng, a * a, 2 * n * d * t * t)
    for i in np.flatnonzero(~small).tolist():  # far tail: finish exactly in Python integers
        accept[i] = _bernoulli_exp_exact(rng, _gaussian_gamma(int(y[i]), n, d, t))
    return y[accept]


# ================================================================ public samplers
def _shape_out(values: np.ndarray | list[int], shape: tuple[int, ...] | None) -> Any:
    arr = np.asarray(values, dtype=np.int64)
    if shape is None:
        return int(arr[0])
    return arr.reshape(shape)


def _count(shape: tuple[int, ...] | None) -> int:
    return 1 if shape is None else math.prod(shape)


def sample_bernoulli_exp(
    gamma: RationalLike, size: Size, rng: RNGLike, *, method: Method = "auto"
) -> Any:
    """Exact Bernoulli(exp(−γ)) draws for a rational γ ≥ 0.

    Law: P[True] = e^{−γ}. For γ ∈ [0, 1]: K ← 1, while Bernoulli(γ/K) succeeds K ← K + 1,
    return [K odd]; for γ > 1: ⌊γ⌋ independent Bernoulli(e^{−1}) and one
    Bernoulli(exp(−(γ − ⌊γ⌋))) must all succeed (Canonne, Kamath, Steinke 2020, Algorithm 1).
    A building block; it releases nothing about data and has no privacy statement.

    Hardened against floating-point attacks: every draw is a uniform integer from
    ``rng.integers``; probabilities are exact rationals.

    Args:
        gamma: γ ≥ 0 as int, float (read as its decimal) or Fraction.
        size: None for one ``bool``, else an int or shape tuple (at most :data:`MAX_DRAWS`
            draws).
        rng: None, an int seed, a numpy Generator or a SecureGenerator.
        method: "auto" (fast when γ's numerator and denominator are ≤ 2**62), "exact", "fast".

    Returns:
        A ``bool`` (size None) or a boolean array of the given shape.

    Raises:
        DPKitError: γ negative or not rational; bad size, rng or method; "fast" not possible.

    >>> from fractions import Fraction
    >>> draws = sample_bernoulli_exp(Fraction(1, 2), 100_000, rng=0)
    >>> round(float(draws.mean()), 2)  # e^{-1/2} = 0.6065
    0.61
    """
    g = _fraction(allow_zero=True, gamma=gamma)
    shape = _size(size)
    how = _method(method)
    gen = as_generator(rng)
    num, den = g.numerator, g.denominator
    fast_ok = num <= _INT64_SAFE and den <= _MAX_DRAW
    if how == "fast" and not fast_ok:
        raise DPKitError("method='fast' needs gamma's numerator and denominator <= 2**62")
    total = _count(shape)
    if how == "exact" or not fast_ok or shape is None:
        vals = [_bernoulli_exp_exact(gen, g) for _ in range(total)]
        if shape is None:
            return bool(vals[0])
        return np.asarray(vals, dtype=bool).reshape(shape)
    out = np.empty(total, dtype=bool)
    for start in range(0, total, _MAX_BATCH):
        k = min(_MAX_BATCH, total - start)
        out[start:start + k] = _bernoulli_exp_vec(gen, np.full(k, num, dtype=np.int64), den)
    return out.reshape(shape)


def sample_discrete_laplace(
    scale: RationalLike, size: Size, rng: RNGLike, *, method: Method = "auto"
) -> Any:
    """Exact draws from the discrete Laplace distribution with a rational scale.

    Law: P[Y = y] = (1 − e^{−1/scale}) / (1 + e^{−1/scale}) · e^{−|y|/scale}, y ∈ ℤ.
    Algorithm (scale = t/s in lowest terms; Canonne, Kamath, Steinke 2020, Algorithm 2): draw U
    uniform in {0, …, t−1} and accept it with probability exp(−U/t); V ← the number of
    Bernoulli(e^{−1}) successes before the first failure; X ← U + tV; Y ← ⌊X/s⌋; draw a random
    sign, rejecting (negative, Y = 0); return ±Y.

    Privacy: adding this noise to an integer query of L1 sensitivity Δ is (Δ/scale)-DP, for
    the relation under which Δ was computed (see :class:`DiscreteLaplaceParams`).

    Hardened against floating-point attacks: every draw is a uniform integer from
    ``rng.integers``; probabilities are exact rationals. The running time is random (timing
    channel not closed).

    Args:
        scale: a positive rational ≤ :data:`MAX_SCALE` (int, float read as its decimal, or
            Fraction).
        size: None for one ``int``, else an int or shape tuple (at most :data:`MAX_DRAWS`
            draws).
        rng: None, an int seed, a numpy Generator or a SecureGenerator.
        method: "auto" (fast whenever t ≤ 2**48 and s ≤ 2**62), "exact" (the pure-Python
            oracle) or "fast" (vectorized int64; an error when the scale does not fit).

    Returns:
        An ``int`` (size None) or an int64 array of the given shape.

    Raises:
        DPKitError: bad scale, size, rng or method.

    >>> sample_discrete_laplace(3, 6, rng=0)
    array([ 2, -1,  3, -3,  0,  1])
    >>> y = sample_discrete_laplace(3, 100_000, rng=0)
    >>> round(float(y.var()))  # 2e^{-1/3}/(1 - e^{-1/3})² = 17.83
    18
    """
    sc = _fraction(maximum=MAX_SCALE, scale=scale)
    shape = _size(size)
    how = _method(method)
    gen = as_generator(rng)
    t, s = sc.numerator, sc.denominator
    fast_ok = _laplace_fast_ok(t, s)
    if how == "fast" and not fast_ok:
        raise DPKitError(f"method='fast' needs scale = t/s with t <= 2**48 and s <= 2**62, "
                         f"got {sc}")
    total = _count(shape)
    if how == "exact" or not fast_ok or shape is None:
        return _shape_out([_discrete_laplace_exact(gen, t, s) for _ in range(total)], shape)
    y = _collect(lambda m: _discrete_laplace_round(gen, t, s, m), total, 0.5)
    return _shape_out(y, shape)


def sample_discrete_gaussian(
    sigma: RationalLike, size: Size, rng: RNGLike, *, method: Method = "auto"
) -> Any:
    """Exact draws from the discrete Gaussian distribution N_ℤ(0, σ²) with σ² rational.

    Law: P[Y = y] = exp(−y²/(2σ²)) / Σ_{z∈ℤ} exp(−z²/(2σ²)), y ∈ ℤ.
    Algorithm (Canonne, Kamath, Steinke 2020, Algorithm 3): t ← ⌊σ⌋ + 1; repeat Y ← discrete
    Laplace with scale t, accept with probability exp(−(|Y| − σ²/t)²/(2σ²)).

    Privacy: adding this noise to an integer query of sensitivity Δ (L2 sensitivity for a
    vector query, noise on each coordinate) is ρ-zCDP with ρ = Δ²/(2σ²), for the relation under
    which Δ was computed (see :class:`DiscreteGaussianParams`).

    Hardened against floating-point attacks: every draw is a uniform integer from
    ``rng.integers``; probabilities are exact rationals. The running time is random (timing
    channel not closed).

    Args:
        sigma: σ, a positive rational ≤ :data:`MAX_SCALE` (int, float read as its decimal, or
            Fraction); σ² = sigma² is then rational.
        size: None for one ``int``, else an int or shape tuple (at most :data:`MAX_DRAWS`
            draws).
        rng: None, an int seed, a numpy Generator or a SecureGenerator.
        method: "auto" (fast when σ² = n/d, t = ⌊σ⌋ + 1 satisfy n ≤ 2**31, 2·n·d·t² ≤ 2**62
            and d·t² ≤ 2**28 — for an integer σ, up to 16383), "exact" (the pure-Python
            oracle) or "fast".

    Returns:
        An ``int`` (size None) or an int64 array of the given shape.

    Raises:
        DPKitError: bad sigma, size, rng or method.

    >>> sample_discrete_gaussian(2, 6, rng=0)
    array([-4,  1,  0,  0,  0,  0])
    >>> y = sample_discrete_gaussian(2, 100_000, rng=0)
    >>> round(float(y.var()), 1)  # ≈ σ² = 4 (exactly 4 − 4.6e-13 for the discrete law)
    4.0
    """
    sg = _fraction(maximum=MAX_SCALE, sigma=sigma)
    shape = _size(size)
    how = _method(method)
    gen = as_generator(rng)
    s2 = sg * sg
    n, d = s2.numerator, s2.denominator
    t = math.isqrt(n // d) + 1  # ⌊σ⌋ + 1, as ⌊√x⌋ = ⌊√⌊x⌋⌋
    fast_ok = _gaussian_fast_ok(n, d, t)
    if how == "fast" and not fast_ok:
        raise DPKitError(f"method='fast' needs sigma² = n/d and t = ⌊σ⌋+1 with n <= 2**31, "
                         f"2·n·d·t² <= 2**62 and d·t² <= 2**28, got sigma = {sg}")
    total = _count(shape)
    if how == "exact" or not fast_ok or shape is None:
        return _shape_out([_discrete_gaussian_exact(gen, n, d, t) for _ in range(total)], shape)
    y = _collect(lambda m: _discrete_gaussian_round(gen, n, d, t, m), total, 0.5)
    return _shape_out(y, shape)


# ================================================================ mechanisms
def _add_noise(x: np.ndarray, noise: np.ndarray) -> np.ndarray:
    if noise.size and int(np.abs(noise).max()) > _MAX_ABS_INPUT:  # pragma: no cover
        raise DPKitError("internal: noise beyond 2**61 (probability below e^-1e6)")
    return x + noise


def gaussian_mechanism(params: GaussianParams, x: Any, rng: RNGLike) -> np.ndarray:
    """Release x + N(0, (σΔ)²) independently on each coordinate.

    Law: y = x + σΔ·Z with Z standard normal, drawn in floating point by ``rng.normal``.
    Privacy: ρ-zCDP with ρ = 1/(2σ²) (RDP ε(α) = α/(2σ²)) when x is a query of L2
    sensitivity Δ under the chosen neighbouring relation; the event is
    ``params.privacy_event()`` (Mironov 2017, Prop. 7; Bun & Steinke 2016).

    NOT hardened against floating-point attacks (Mironov 2012; Jin et al. 2022), even with a
    SecureGenerator: use :func:`discrete_gaussian_mechanism` on a discretized query for that.

    Args:
        params: a :class:`GaussianParams`.
        x: the query value, a real number or array, all finite.
        rng: None, an int seed, a numpy Generator or a SecureGenerator.

    Returns:
        A float64 array of x's shape (a numpy float64 when x is a scalar).

    Raises:
        DPKitError: bad params or rng; NaN or inf in x (the message names the positions).

    >>> y = gaussian_mechanism(GaussianParams(1.0), [0.0, 10.0], rng=0)
    >>> y.shape
    (2,)
    """
    _check_params(params, GaussianParams)
    arr = _finite_array(x=x)
    gen = as_generator(rng)
    noise = np.asarray(gen.normal(0.0, params.std, size=arr.size), dtype=float)
    return arr + noise.reshape(arr.shape)


def laplace_mechanism(params: LaplaceParams, x: Any, rng: RNGLike) -> np.ndarray:
    """Release x + Lap(bΔ) independently on each coordinate.

    Law: density exp(−|y − x|/(bΔ))/(2bΔ) per coordinate, drawn in floating point by
    ``rng.laplace``. Privacy: (1/b)-DP when x is a query of L1 sensitivity Δ under the chosen
    neighbouring relation (Dwork, McSherry, Nissim, Smith 2006; RDP: Mironov 2017, Prop. 6).

    NOT hardened against floating-point attacks (Mironov 2012): use
    :func:`discrete_laplace_mechanism` on a discretized query for that.

    Args:
        params: a :class:`LaplaceParams`.
        x: the query value, a real number or array, all finite.
        rng: None, an int seed, a numpy Generator or a SecureGenerator.

    Returns:
        A float64 array of x's shape (a numpy float64 when x is a scalar).

    Raises:
        DPKitError: bad params or rng; NaN or inf in x (the message names the positions).

    >>> y = laplace_mechanism(LaplaceParams.from_epsilon(1.0), 5.0, rng=0)
    >>> y.shape, bool(abs(y - 5.0) < 50)
    ((), True)
    """
    _check_params(params, LaplaceParams)
    arr = _finite_array(x=x)
    gen = as_generator(rng)
    noise = np.asarray(gen.laplace(0.0, params.scale, size=arr.size), dtype=float)
    return arr + noise.reshape(arr.shape)


def discrete_laplace_mechanism(
    params: DiscreteLaplaceParams, x: Any, rng: RNGLike, *, method: Method = "auto"
) -> np.ndarray:
    """Release x + discrete Laplace noise (exact sampler) on each coordinate of an integer query.

    Law: y − x has pmf ∝ exp(−|k|/scale), k ∈ ℤ, independently per coordinate.
    Privacy: ε-DP with ε = Δ/scale when x is an integer query of L1 sensitivity Δ under the
    chosen neighbouring relation (Ghosh, Roughgarden, Sundararajan 2012; Canonne, Kamath,
    Steinke 2020); the event is ``params.privacy_event()``.

    Hardened against floating-point attacks (exact integer sampler; use a SecureGenerator for
    releases). The running time is random.

    Args:
        params: a :class:`DiscreteLaplaceParams`.
        x: integer-valued number or array (int dtype, or floats that are whole numbers).
        rng: None, an int seed, a numpy Generator or a SecureGenerator.
        method: "auto", "exact" or "fast" (see :func:`sample_discrete_laplace`).

    Returns:
        An int64 array of x's shape (a numpy int64 when x is a scalar).

    Raises:
        DPKitError: bad params, rng or method; NaN, inf, non-integers or |x| > 2**61 in x
            (the message names the positions).

    >>> discrete_laplace_mechanism(DiscreteLaplaceParams(2), [3, 4], rng=0).dtype
    dtype('int64')
    """
    _check_params(params, DiscreteLaplaceParams)
    arr = _integer_array(x=x)
    noise = sample_discrete_laplace(params.scale, arr.shape, rng, method=method)
    return _add_noise(arr, noise)


def discrete_gaussian_mechanism(
    params: DiscreteGaussianParams, x: Any, rng: RNGLike, *, method: Method = "auto"
) -> np.ndarray:
    """Release x + discrete Gaussian noise (exact sampler) on each coordinate of an integer query.

    Law: y − x has pmf ∝ exp(−k²/(2σ²)), k ∈ ℤ, independently per coordinate.
    Privacy: ρ-zCDP with ρ = Δ²/(2σ²) when x is an integer query (scalar or vector) of L2
    sensitivity Δ under the chosen neighbouring relation (Canonne, Kamath, Steinke 2020,
    Thms. 14-15); the event is ``params.privacy_event()``.

    Hardened against floating-point attacks (exact integer sampler; use a SecureGenerator for
    releases). The running time is random.

    Args:
        params: a :class:`DiscreteGaussianParams`.
        x: integer-valued number or array (int dtype, or floats that are whole numbers).
        rng: None, an int seed, a numpy Generator or a SecureGenerator.
        method: "auto", "exact" or "fast" (see :func:`sample_discrete_gaussian`).

    Returns:
        An int64 array of x's shape (a numpy int64 when x is a scalar).

    Raises:
        DPKitError: bad params, rng or method; NaN, inf, non-integers or |x| > 2**61 in x
            (the message names the positions).

    >>> discrete_gaussian_mechanism(DiscreteGaussianParams(3), [[1, 2], [3, 4]], rng=0).shape
    (2, 2)
    """
    _check_params(params, DiscreteGaussianParams)
    arr = _integer_array(x=x)
    noise = sample_discrete_gaussian(params.sigma, arr.shape, rng, method=method)
    return _add_noise(arr, noise)
