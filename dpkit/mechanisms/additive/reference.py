"""The exact discrete samplers and the numpy draws of the additive mechanisms.

The samplers of Canonne, Kamath and Steinke 2020 ("The Discrete Gaussian for Differential
Privacy", NeurIPS, Algorithms 1-3), in two implementations equal in law:

* ``method="exact"``: the oracle, pure-Python integers and :class:`fractions.Fraction`, one
  sample at a time; any rational parameter.
* ``method="fast"``: the same algorithms vectorized over numpy ``int64`` arrays (batch
  rejection); used by ``method="auto"`` (the default) whenever every integer involved fits in
  ``int64`` with a wide margin, and otherwise the exact path is used. Rare samples whose
  intermediate values would not fit (far tails) are finished by the exact path.

Every random draw is a uniform integer from ``rng.integers`` and every probability an exact
rational, so with a :class:`~dpkit.random.SecureGenerator` the samplers are hardened against
floating-point attacks. They are rejection samplers: their running time is random (a timing
channel they do not close). The continuous Gaussian / Laplace draws are numpy's own
(``rng.normal`` / ``rng.laplace``, in :mod:`.mechanism`). Imports :mod:`.params`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction

import numpy as np

from ...errors import DPKitError
from ...random import RNGLike, SecureGenerator, as_generator
from .params import (
    MAX_SCALE,
    Method,
    RationalLike,
    Size,
    check_fraction,
    check_method,
    check_size,
)

__all__ = ["sample_bernoulli_exp", "sample_discrete_laplace", "sample_discrete_gaussian"]

_Gen = np.random.Generator | SecureGenerator

_MAX_DRAW = 2**62  # the largest range drawn by a single rng.integers call here (int64-safe)
_MAX_BATCH = 1 << 20  # bound on the length of the work arrays of one fast-path round
_INT64_SAFE = 2**62  # |values| kept below this in int64 arithmetic (sums then cannot overflow)
_FAST_LAPLACE_T = 2**48  # fast discrete Laplace: numerator of the scale at most this
_FAST_SQRT = 2**31  # fast discrete Gaussian: |Y|·d·t and n kept below this, so squares fit
_FAST_TAIL = 8  # fast discrete Gaussian: int64 must cover |Y| ≤ 8·t (exact path beyond)
_ONE = Fraction(1)


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
def _shape_out(values: np.ndarray | list[int], shape: tuple[int, ...] | None
               ) -> int | np.ndarray:
    arr = np.asarray(values, dtype=np.int64)
    if shape is None:
        return int(arr[0])
    return arr.reshape(shape)


def _count(shape: tuple[int, ...] | None) -> int:
    return 1 if shape is None else math.prod(shape)


def sample_bernoulli_exp(
    gamma: RationalLike, size: Size, rng: RNGLike, *, method: Method = "auto"
) -> bool | np.ndarray:
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
    g = check_fraction(allow_zero=True, gamma=gamma)
    shape = check_size(size)
    how = check_method(method)
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
) -> int | np.ndarray:
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
    sc = check_fraction(maximum=MAX_SCALE, scale=scale)
    shape = check_size(size)
    how = check_method(method)
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
) -> int | np.ndarray:
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
    sg = check_fraction(maximum=MAX_SCALE, sigma=sigma)
    shape = check_size(size)
    how = check_method(method)
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

