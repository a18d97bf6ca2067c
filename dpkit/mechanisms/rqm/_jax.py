"""Jitted JAX kernel of RQM's geometric-walk sampler (same law as the numpy reference).

Pure and key-based: ``rqm_indices(key, x, clip, half, spacing, m, keep_prob)`` has static m and
traced parameters, so it can be ``vmap``-ed over keys or inputs and used inside ``jit``. Per
coordinate (spec §2.1): cell j, two gaps ⌊log U/log(1−q)⌋ ~ Geometric(q) truncated at the end
levels, then unbiased rounding: up with probability p = (t − L)/(U − L).

Randomness: the shared privacy-sound layer :mod:`dpkit._jax_random` (six uint32 words per
coordinate, :func:`rqm_indices_from_bits` is the deterministic bits-level form). JAX computes
in float32 unless x64 is enabled, and a float32 ``jax.random.uniform`` has only 23 random bits:
a geometric gap of probability below 2^−23 would be impossible from one input and possible
from a neighbour (infinite privacy loss). Every uniform here has 2^−64 cells and is used only
through its logarithm, so gaps are reproduced down to probability ~2^−64 (float32 relative
precision). The rounding is the shared log-space :func:`~dpkit._jax_random.bernoulli` with
log p = log(t − L) − log(U − L) and log(1 − p) = log(U − t) − log(U − L): it is decided on the
side of the smaller of p and 1 − p, so a rounding probability of 1e-9 on either side keeps its
rate (comparing log U < log p in float32 could not: for p within float32's log resolution of 1,
log p rounded to 0 and rounding down became impossible, e.g. L = 0, U = 1000,
t = 1000 − 2^−14). Not hardened against floating-point attacks beyond that (docs/security.md).
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ... import _jax_random as R
from ... import _validate as V
from ...errors import DPKitError
from .params import RQMParams

__all__ = ["rqm_indices", "rqm_indices_from_bits", "quantize_jax"]

#: uint32 words per coordinate: two per gap, two for the rounding.
WORDS = 6


def rqm_indices_from_bits(bits: Any, x: Any, clip: Any, half: Any, spacing: Any, m: int,
                          keep_prob: Any, log1m_keep: Any = None) -> Any:
    """RQM level indices (int32, x's shape) from explicit uint32 words ``bits`` (6, *x.shape).

    Words 0–1 give the lower gap, 2–3 the upper gap
    (:func:`dpkit._jax_random.log_uniform_from_bits`), 4–5 the rounding
    (:func:`dpkit._jax_random.bernoulli_from_bits`). ``log1m_keep`` (optional) is
    log(1 − q) computed by the caller in float64, which avoids rounding q itself to float32
    (q = 1 − 1e-6 would move 1 − q by ~1 %).
    """
    dtype = jnp.result_type(x, jnp.float32)
    xc = jnp.clip(x.astype(dtype), -clip, clip)
    t = (xc + half) / spacing
    j = jnp.clip(jnp.floor(t), 0, m - 2).astype(jnp.int32)
    if log1m_keep is None:
        log1mq = jnp.log1p(-jnp.asarray(keep_prob, dtype))
    else:
        log1mq = jnp.asarray(log1m_keep, dtype)
    big = jnp.asarray(m, dtype)
    walk = log1mq < 0  # q > 0 (q = 0: only the end levels are kept)

    def gap(hi: Any, lo: Any) -> Any:
        g = jnp.floor(R.log_uniform_from_bits(hi, lo, dtype) / log1mq)
        return jnp.where(walk, jnp.minimum(g, big), big).astype(jnp.int32)

    lo = jnp.maximum(j - gap(bits[0], bits[1]), 0)
    hi = jnp.minimum(j + 1 + gap(bits[2], bits[3]), m - 1)
    # round up with probability (t − lo)/(hi − lo), decided in log space on the smaller side
    # (t = lo: log p = −∞, never up; t = hi: log(1 − p) = −∞, always up)
    log_w = jnp.log((hi - lo).astype(dtype))
    up = R.bernoulli_from_bits(bits[4], bits[5], log_p=jnp.log(t - lo.astype(dtype)) - log_w,
                               log1m_p=jnp.log(hi.astype(dtype) - t) - log_w, dtype=dtype)
    return jnp.where(up, hi, lo)


@partial(jax.jit, static_argnames=("m",))
def rqm_indices(key: Any, x: Any, clip: Any, half: Any, spacing: Any, m: int,
                keep_prob: Any, log1m_keep: Any = None) -> Any:
    """RQM level indices (int32, x's shape) of x under PRNG key ``key``
    (:func:`rqm_indices_from_bits` with ``jax.random.bits(key, (6, *x.shape))``)."""
    bits = jax.random.bits(key, (WORDS,) + tuple(x.shape), jnp.uint32)
    return rqm_indices_from_bits(bits, x, clip, half, spacing, m, keep_prob, log1m_keep)


def quantize_jax(params: RQMParams, x: Any, key: Any) -> Any:
    """RQM indices with the JAX kernel (see :func:`dpkit.mechanisms.rqm.quantize`).

    ``key``: anything :func:`dpkit._jax_random.as_key` takes (a JAX key, an int seed, a numpy
    Generator, None); NaN/inf in x are refused (the check brings x to the host).
    """
    key = R.as_key(key)
    xa = jnp.asarray(x)
    if not jnp.issubdtype(xa.dtype, jnp.floating):
        xa = xa.astype(jnp.float32)
    bad = ~np.isfinite(np.asarray(xa))
    if bad.any():
        V.finite_array(x=np.asarray(xa) if xa.ndim else np.asarray(xa).reshape(1))
    dt = np.dtype(xa.dtype)
    if not dt.type(params.half_width) > dt.type(params.clip):
        raise DPKitError(f"extension={params.extension!r} is below the {dt} resolution of "
                         f"clip={params.clip!r}: the JAX kernel would output the end level "
                         "deterministically (infinite privacy loss); enable jax_enable_x64 or "
                         "use backend='numba' / 'numpy'")
    log1m = math.log1p(-params.keep_prob) if params.keep_prob > 0 else 0.0
    out = rqm_indices(key, xa, params.clip, params.half_width, params.spacing,
                      params.num_levels, params.keep_prob, log1m)
    return out.astype(jnp.uint8 if params.num_levels <= 256 else jnp.uint16)
