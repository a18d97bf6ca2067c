"""Privacy-sound random primitives for the JAX kernels, built from 64 random bits per uniform.

Why: ``jax.random.uniform`` / ``normal`` / ``laplace`` in float32 (JAX's default without x64)
invert a uniform with 23–24 random bits, so their noise has bounded support (Laplace within
±16.6 scales, normal within ±5.42σ) and uniforms live on a 2^−23 grid. A bounded noise law is
not DP: an output beyond the bound around one neighbour's value but within it around the
other's has an infinite privacy loss (probability ~1e-7 per draw), and a probability below
2^−23 compared with such a uniform is quantised to 0 or 2^−23 (Mironov 2012 describes the
general floating-point failure mode). Every primitive here instead forms

    u = h·2^−32 + (l + ½)·2^−64,   h, l independent uint32 words from ``jax.random.bits``,

the midpoint of one of 2^64 cells of width 2^−64 (never 0 or 1), and uses it through its
logarithm where tails matter. The result is evaluated in the requested float dtype: float32
keeps the 2^−64 tail resolution because u is never formed by adding a small number to 1
(u ≥ 2^−65 is a normal float32), only its relative precision is float32's.

Resolution and support (proved by the extreme bit patterns in tests/test_jax_random.py):

* :func:`log_uniform`: values in [−65 ln 2, 0) = [−45.05, 0); P(log U < t) = e^t up to one
  cell (2^−64) and the dtype's relative rounding of t.
* :func:`laplace`: E₁ − E₂ with Eᵢ = −log Uᵢ ~ Exp(1): support ±45.05, cut tail mass
  e^−45.05 ≈ 2.7e-20 (two-sided).
* :func:`normal`: Box–Muller with a 64-bit log-uniform radius √(−2 log U₁) and a 32-bit angle:
  support |z| ≤ √(130 ln 2) ≈ 9.49, cut tail mass 2·Φ(−9.49) ≈ 2.3e-21 per draw. (No
  finite-precision sampler is unbounded; a float64 ``jax.random.normal`` is √2·erfinv of a
  52-bit uniform, bounded at 8.13σ with tail mass ≈ 4e-16.)
* :func:`bernoulli`: decided in log space, on the side of the smaller of p and 1 − p, so
  P(True) = p up to one cell (2^−64) and the relative rounding of log p in the dtype, for any
  p including 1e-12 and 1 − 1e-12.
* :func:`uniform_open`: u itself rounded to the dtype, in (0, 1). Near 0 the cells are 2^−64
  wide; near 1 the resolution is the dtype's (2^−24 in float32, 2^−53 in float64) and values
  that would round to 1 are returned as the largest float below 1. Use it for comparisons with
  probabilities that are not tiny and not close to 1; otherwise use :func:`bernoulli`.

Every function has a ``*_from_bits`` twin that takes the uint32 words explicitly (used by the
deterministic tests and by kernels that draw all words at once). ``dtype`` None means JAX's
default float (float64 if ``jax_enable_x64`` is on, else float32); float64 requested with x64
off is computed in float32 (JAX's canonicalisation), with the same 2^−64 tail resolution.

Not hardened against floating-point attacks on the low bits of the output (Mironov 2012); see
docs/security.md. This module imports JAX: import it lazily, only from JAX kernels.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .errors import DPKitError
from .random import SecureGenerator

__all__ = ["resolve_dtype", "as_key", "check_key", "log_uniform", "log_uniform_from_bits",
           "uniform_open", "uniform_open_from_bits", "bernoulli", "bernoulli_from_bits",
           "laplace", "laplace_from_bits", "normal", "normal_from_bits", "LOG_U_MIN",
           "LAPLACE_MAX", "NORMAL_MAX"]

#: Smallest value of :func:`log_uniform`: log(2^−65) (cell (0, 0)'s midpoint).
LOG_U_MIN = -65.0 * math.log(2.0)
#: Largest |value| of :func:`laplace`.
LAPLACE_MAX = -LOG_U_MIN
#: Largest |value| of :func:`normal`: √(−2 log 2^−65).
NORMAL_MAX = math.sqrt(-2.0 * LOG_U_MIN)

_TWO_M32 = 2.0**-32
_TWO_M64 = 2.0**-64
_LOG_HALF = math.log(0.5)
_TWO_PI_M32 = 2.0 * math.pi * 2.0**-32


def resolve_dtype(dtype: Any = None) -> Any:
    """The float dtype computations run in: JAX's default float for None, else ``dtype``
    canonicalised (float64 → float32 when x64 is off). Only float32 / float64 are accepted
    (a float16 cannot hold 2^−65)."""
    dt = jnp.result_type(float) if dtype is None else jax.dtypes.canonicalize_dtype(dtype)
    if dt not in (jnp.dtype(jnp.float32), jnp.dtype(jnp.float64)):
        raise DPKitError(f"dtype must be float32 or float64, got {dt}")
    return dt


def check_key(key: Any) -> None:
    """Raise a :class:`DPKitError` unless ``key`` is a JAX PRNG key (typed or raw uint32[2])."""
    if not (isinstance(key, jax.Array) and (jnp.issubdtype(key.dtype, jax.dtypes.prng_key)
                                            or key.shape == (2,))):
        raise DPKitError("rng must be a JAX PRNG key (jax.random.key or PRNGKey) for "
                         f"backend='jax', got {type(key).__name__}")


def as_key(rng: Any) -> Any:
    """The JAX key every JAX kernel draws from: the one rule that turns dpkit's ``rng`` into a
    key (the calling convention, docs/architecture.md), used by every ``backend="jax"`` path.

    * a JAX PRNG key (typed or raw uint32[2]) is returned as is;
    * an int seed s ≥ 0 gives ``jax.random.key(s)`` (s < 2^63; a larger seed is first reduced
      deterministically to one draw of ``numpy.random.default_rng(s)``), so the same int
      gives the same output on every call;
    * a ``numpy.random.Generator`` gives ``jax.random.key`` of one 63-bit draw from it
      (deterministic given the generator's state; the generator advances by that draw);
    * ``None`` gives a key from a fresh OS-entropy generator (not reproducible);
    * a :class:`dpkit.random.SecureGenerator` is refused: JAX kernels expand one key with
      threefry, which cannot carry the hardened tier (docs/security.md).

    Anything else raises a :class:`DPKitError` naming ``rng``.
    """
    if isinstance(rng, jax.Array):
        check_key(rng)
        return rng
    if isinstance(rng, SecureGenerator):
        raise DPKitError("backend='jax' cannot run the hardened tier: JAX kernels draw from a "
                         "JAX key, not from the OS CSPRNG. With a SecureGenerator use "
                         "backend='auto' or 'numpy' (docs/security.md)")
    if rng is None:
        rng = np.random.default_rng()
    elif isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        seed = int(rng)
        if seed < 0:
            raise DPKitError(f"rng seed must be >= 0, got {seed}")
        if seed < 2**63:
            return jax.random.key(seed)
        rng = np.random.default_rng(seed)
    if isinstance(rng, np.random.Generator):
        return jax.random.key(int(rng.integers(0, 2**63)))
    raise DPKitError("rng must be None, an int seed, a numpy.random.Generator or a JAX PRNG key "
                     f"(jax.random.key or PRNGKey) for backend='jax', got {type(rng).__name__}")


def _words(key: Any, n: int, shape: tuple[int, ...]) -> Any:
    return jax.random.bits(key, (n,) + tuple(shape), jnp.uint32)


def _cell(hi: Any, lo: Any, dt: Any) -> Any:
    """u = h·2^−32 + (l + ½)·2^−64 in ``dt`` (≥ 2^−65; may round to 1.0)."""
    h = jnp.asarray(hi).astype(dt)
    low = jnp.asarray(lo).astype(dt)
    return h * jnp.asarray(_TWO_M32, dt) + (low + jnp.asarray(0.5, dt)) * jnp.asarray(_TWO_M64,
                                                                                      dt)


def log_uniform_from_bits(hi: Any, lo: Any, dtype: Any = None) -> Any:
    """log u for u = h·2^−32 + (l + ½)·2^−64 (uint32 words h, l), in ``dtype``.

    Values lie in [−45.05, 0): (0, 0) gives log 2^−65; values that round to 0 (u within the
    dtype's resolution of 1) are returned as −tiny, so the result is always strictly negative.
    """
    dt = resolve_dtype(dtype)
    return jnp.minimum(jnp.log(_cell(hi, lo, dt)), -jnp.finfo(dt).tiny)


def log_uniform(key: Any, shape: tuple[int, ...] = (), dtype: Any = None) -> Any:
    """log U, U uniform on (0, 1) with 2^−64 resolution (module docstring); 2 words per value.

    −log U ~ Exp(1) with support up to 45.05 (tail mass beyond: 2^−65).
    """
    w = _words(key, 2, shape)
    return log_uniform_from_bits(w[0], w[1], dtype)


def uniform_open_from_bits(hi: Any, lo: Any, dtype: Any = None) -> Any:
    """u = h·2^−32 + (l + ½)·2^−64 rounded to ``dtype``, clamped below 1 (so u ∈ (0, 1))."""
    dt = resolve_dtype(dtype)
    below_one = jnp.nextafter(jnp.asarray(1.0, dt), jnp.asarray(0.0, dt))
    return jnp.minimum(_cell(hi, lo, dt), below_one)


def uniform_open(key: Any, shape: tuple[int, ...] = (), dtype: Any = None) -> Any:
    """U uniform on (0, 1): cells 2^−64 wide, rounded to ``dtype`` (resolution near 1: the
    dtype's, 2^−24 in float32; module docstring). For comparisons with probabilities that are
    tiny or close to 1 use :func:`bernoulli`. 2 words per value."""
    w = _words(key, 2, shape)
    return uniform_open_from_bits(w[0], w[1], dtype)


def _log_p(p: Any, log_p: Any, dt: Any) -> Any:
    if (p is None) == (log_p is None):
        raise DPKitError("bernoulli needs exactly one of p and log_p")
    if log_p is not None:
        return jnp.asarray(log_p).astype(dt)
    return jnp.log(jnp.asarray(p).astype(dt))


def bernoulli_from_bits(hi: Any, lo: Any, p: Any = None, *, log_p: Any = None,
                        log1m_p: Any = None, dtype: Any = None) -> Any:
    """Bernoulli(p) decisions (bool) from uint32 words h, l, compared in log space.

    With log U from (h, l) (:func:`log_uniform_from_bits`): if p ≤ ½ the result is
    log U < log p; else it is ¬(log U < log(1 − p)), with log(1 − p) = ``log1m_p`` if given,
    else log(−expm1(log p)). Either way P(True) = p up to one 2^−64 cell and the relative
    rounding of the log-probability used: tiny p and 1 − p (e.g. 1e-12) keep their exact rate.
    p = 0 (log p = −∞) is never true, p = 1 always; NaN is never true. Give ``log1m_p`` when
    the caller can compute log(1 − p) more accurately than from log p (e.g. a rounding
    probability (t − lo)/(hi − lo) close to 1: pass log(hi − t) − log(hi − lo)).
    """
    dt = resolve_dtype(dtype)
    lp = _log_p(p, log_p, dt)
    lu = log_uniform_from_bits(hi, lo, dt)
    small = ~(lp > jnp.asarray(_LOG_HALF, dt))  # NaN lands here: never true
    if log1m_p is None:
        log_q = jnp.log(-jnp.expm1(jnp.where(small, jnp.asarray(_LOG_HALF, dt), lp)))
    else:
        log_q = jnp.asarray(log1m_p).astype(dt)
    hit = lu < jnp.where(small, lp, log_q)
    return jnp.where(small, hit, ~hit)


def bernoulli(key: Any, p: Any = None, shape: tuple[int, ...] | None = None, *,
              log_p: Any = None, log1m_p: Any = None, dtype: Any = None) -> Any:
    """Bernoulli(p) booleans of ``shape`` (default: the shape of p / log_p), exact to 2^−64.

    Pass ``log_p`` instead of ``p`` when p is close to 1 and the dtype is float32 (e.g.
    ``log_p = log1p(-q)`` computed in float64 on the host): p = 1 − 1e-12 itself rounds to 1.0
    in float32, log p = −1e-12 does not. ``log1m_p`` (optional): log(1 − p), used when p > ½
    (see :func:`bernoulli_from_bits`). 2 words per value.
    """
    dt = resolve_dtype(dtype)
    lp = _log_p(p, log_p, dt)
    shp = jnp.broadcast_shapes(lp.shape, jnp.shape(log1m_p) if log1m_p is not None else ())
    shp = tuple(shp) if shape is None else tuple(shape)
    w = _words(key, 2, shp)
    return bernoulli_from_bits(w[0], w[1], log_p=lp, log1m_p=log1m_p, dtype=dt)


def laplace_from_bits(bits: Any, dtype: Any = None) -> Any:
    """Standard Laplace values from uint32 words ``bits`` of shape (4, ...).

    log U₂ − log U₁ = E₁ − E₂ (Eᵢ ~ Exp(1) independent) with U₁ from words 0–1, U₂ from 2–3:
    Laplace(0, 1), support ±45.05 (words (0, 0, top, top) give +45.05).
    """
    dt = resolve_dtype(dtype)
    return log_uniform_from_bits(bits[2], bits[3], dt) - log_uniform_from_bits(bits[0],
                                                                               bits[1], dt)


def laplace(key: Any, shape: tuple[int, ...] = (), dtype: Any = None) -> Any:
    """Standard Laplace(0, 1) values of ``shape``: the difference of two exponentials from
    64-bit log-uniforms (support ±45.05, cut tail mass 2.7e-20; module docstring). 4 words
    per value."""
    return laplace_from_bits(_words(key, 4, shape), dtype)


def normal_from_bits(bits: Any, dtype: Any = None) -> Any:
    """Box–Muller pairs from uint32 words ``bits`` of shape (3, ...): returns (2, ...).

    R = √(−2 log U) with U from words 0–1 (64 bits), θ = 2π(w₂ + ½)·2^−32; the pair is
    (R cos θ, R sin θ), two independent N(0, 1) values (Box & Muller 1958). |z| ≤ R ≤ 9.49
    (words (0, 0, 0) give 9.49 in the first component).
    """
    dt = resolve_dtype(dtype)
    radius = jnp.sqrt(jnp.asarray(-2.0, dt) * log_uniform_from_bits(bits[0], bits[1], dt))
    angle = (jnp.asarray(bits[2]).astype(dt) + jnp.asarray(0.5, dt)) * jnp.asarray(_TWO_PI_M32,
                                                                                   dt)
    return jnp.stack([radius * jnp.cos(angle), radius * jnp.sin(angle)])


def normal(key: Any, shape: tuple[int, ...] = (), dtype: Any = None) -> Any:
    """Standard normal values of ``shape`` by Box–Muller with a 64-bit log-uniform radius.

    Support |z| ≤ √(130 ln 2) ≈ 9.49; the cut tail has mass 2·Φ(−9.49) ≈ 2.3e-21 per value
    (≈ 1e-20 counting the 2^−64 cell quantisation of the radius law). Both components of each
    pair are used: 1.5 words per value.
    """
    shape = tuple(shape)
    n = math.prod(shape)
    m = (n + 1) // 2
    z = normal_from_bits(_words(key, 3, (m,)), dtype)
    return z.reshape(-1)[:n].reshape(shape)
