"""Jitted JAX kernel of smoothed RR's release (same LAW as the numpy reference).

Pure and key-based. :func:`respond_jax` flips a = sign(v − t) with probability
½·exp(−ε|v − t|/Δ), so x = +1 with probability F((v − t)/Δ), F the Laplace(0, 1/ε) CDF
(Liu & Rahimian 2025; spec §3.1); the flip is the shared log-space Bernoulli of
:mod:`dpkit._jax_random` (64-bit uniform, log U < log ½ − ε|z|/Δ), so the law holds down to
flip probabilities ~2^−64 even in float32.

Precision of the distance (review finding): z = v − t, the sign a and the log flip
probability L = log ½ − ε|z|/Δ are computed in float64 on the host from the caller's values
(the caller, :func:`~dpkit.mechanisms.smoothed_rr.respond`, passes the validated float64
signal and thresholds: float32 inputs convert exactly, so no signal is ever rounded before the
subtraction; the subtraction itself has relative error ≤ 2^−53 of |z|). Only L is then cast to
JAX's default float. Rounding the signals to float32 first (as an earlier version did) could
stretch a distance Δ by one float32 ulp of |v|, e.g. |v| ≈ 10^4, Δ = 0.01: privacy loss
≈ 1.1ε. Now, in float32, L and log u each carry an absolute error ≤ ~4·10^−6 where it matters
(|L| ≤ 64·ln 2 ≈ 44.4; beyond, the flip has probability below the 2^−64 floor either way), so
the realised log-probabilities are within ~1e-5 of the exact ones and the loss between
neighbours |v − v'| ≤ Δ is ≤ ε + 2·10^−5 (≤ ε + 10^−12 with ``jax_enable_x64``). Not hardened
against floating-point attacks.

The sequential-learning simulator's kernel is in :mod:`.sequential._jax`.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from ... import _jax_random as R

__all__ = ["respond_jax", "sign_and_log_flip"]

_LOG_HALF = math.log(0.5)


@jax.jit
def _respond(key: jax.Array, a: jax.Array, log_flip: jax.Array) -> jax.Array:
    flip = R.bernoulli(key, log_p=log_flip, dtype=log_flip.dtype)  # p ≤ ½: log U < log p
    return jnp.where(flip, -a, a).astype(jnp.int8)


def sign_and_log_flip(v: np.ndarray, t: np.ndarray,
                      rate: float) -> tuple[np.ndarray, np.ndarray]:
    """a = sign(v − t) (−1 at ties) and L = log ½ − rate·|v − t|, in float64 on the host.

    ``v`` and ``t`` are the validated (clipped, broadcast) float64 signal and thresholds.
    """
    d = v - t
    a = np.where(d > 0, 1, -1).astype(np.int8)
    with np.errstate(over="ignore"):
        log_flip = _LOG_HALF - rate * np.abs(d)
    return a, log_flip


def respond_jax(v: np.ndarray, t: np.ndarray, rate: float, key: object) -> jax.Array:
    """Smoothed-RR bits (int8 ±1, the shape of ``v``) with the JAX kernel.

    ``v``, ``t``: validated float64 signal and thresholds of one shape; ``rate`` = ε/Δ;
    ``key``: a JAX key or an int seed (:func:`dpkit._jax_random.as_key`). The distance v − t
    is computed in float64 on the host (see the module docstring); the flip uniforms are drawn
    on the device with ``key``.
    """
    k = R.as_key(key)
    a, log_flip = sign_and_log_flip(v, t, rate)
    ftype = jnp.result_type(float)  # float32 unless jax_enable_x64
    return _respond(k, jnp.asarray(a), jnp.asarray(log_flip, dtype=ftype))
