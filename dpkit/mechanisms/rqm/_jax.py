"""Jitted JAX kernel of RQM's geometric-walk sampler (same law as the numpy reference).

Pure and key-based: ``rqm_indices(key, x, clip, half, spacing, m, keep_prob)`` has static m and
traced parameters, so it can be ``vmap``-ed over keys or inputs and used inside ``jit``. Per
coordinate (spec §2.1): cell j, two gaps ⌊log(u)/log(1−q)⌋ ~ Geometric(q) truncated at the end
levels, then unbiased rounding with a third uniform (up iff log u < log(t − L) − log(U − L)).

Resolution: JAX computes in float32 unless x64 is enabled, and a float32 uniform has only 23
random bits, so a plain ``jax.random.uniform`` would never produce a geometric gap of
probability below 2^−23 (≈ 1.2e-7): outputs that the pmf (and the privacy statement) give a
small positive probability would be impossible from one input and possible from a neighbour,
an infinite privacy loss on an event of probability ~1e-7 per coordinate. Every uniform here
is therefore built from 64 random bits and used only through its logarithm
(:func:`log_uniform`), so tail events are reproduced down to probability ~2^−64, with float32
relative precision. Not hardened against floating-point attacks beyond that.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ...errors import DPKitError

__all__ = ["rqm_indices", "quantize_jax", "log_uniform", "log_uniform_from_bits"]


def log_uniform(key: Any, shape: tuple[int, ...], dtype: Any) -> Any:
    """log u for u uniform on (0, 1), from 64 random bits (resolution 2^−64, not 2^−23).

    u = (h + (l + ½)·2^−32)·2^−32 with h, l independent uint32 words; the log is evaluated in
    ``dtype`` (relative precision of float32 at worst) and kept strictly below 0.
    """
    bits = jax.random.bits(key, (2,) + tuple(shape), jnp.uint32)
    return log_uniform_from_bits(bits[0], bits[1], dtype)


def log_uniform_from_bits(hi: Any, lo: Any, dtype: Any) -> Any:
    """log((h + (l + ½)·2^−32)·2^−32) for uint32 words h, l, in ``dtype``, capped below 0.

    (h, l) = (0, 0) gives log(2^−65) ≈ −45.05: the uniform's cells are 2^−64 wide.
    """
    h = jnp.asarray(hi).astype(dtype)
    low = jnp.asarray(lo).astype(dtype)
    two32 = jnp.asarray(2.0**-32, dtype)
    out = jnp.log(h + (low + 0.5) * two32) - jnp.asarray(32.0 * math.log(2.0), dtype)
    return jnp.minimum(out, -jnp.finfo(dtype).tiny)


@partial(jax.jit, static_argnames=("m",))
def rqm_indices(key: Any, x: Any, clip: Any, half: Any, spacing: Any, m: int,
                keep_prob: Any, log1m_keep: Any = None) -> Any:
    """RQM level indices (int32, x's shape) of x under PRNG key ``key``.

    ``log1m_keep`` (optional) is log(1 − q) computed by the caller in float64, which avoids
    rounding q itself to float32 (q = 1 − 1e-6 would move 1 − q by ~1 %).
    """
    k1, k2, k3 = jax.random.split(key, 3)
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
    g1 = jnp.where(walk, jnp.minimum(jnp.floor(log_uniform(k1, x.shape, dtype) / log1mq), big),
                   big)
    g2 = jnp.where(walk, jnp.minimum(jnp.floor(log_uniform(k2, x.shape, dtype) / log1mq), big),
                   big)
    lo = jnp.maximum(j - g1.astype(jnp.int32), 0)
    hi = jnp.minimum(j + 1 + g2.astype(jnp.int32), m - 1)
    # round up with probability (t − lo)/(hi − lo), compared in log space (t − lo = 0: never)
    log_p_up = jnp.log(t - lo.astype(dtype)) - jnp.log((hi - lo).astype(dtype))
    up = log_uniform(k3, x.shape, dtype) < log_p_up
    return jnp.where(up, hi, lo)


def quantize_jax(params: Any, x: Any, key: Any) -> Any:
    """RQM indices with the JAX kernel (see :func:`dpkit.mechanisms.rqm.quantize`).

    ``key`` must be a JAX PRNG key; NaN/inf in x are refused (the check brings x to the host).
    """
    if not (isinstance(key, jax.Array) and (jnp.issubdtype(key.dtype, jax.dtypes.prng_key)
                                            or key.shape == (2,))):
        raise DPKitError("rng must be a JAX PRNG key (jax.random.key or PRNGKey) for "
                         f"backend='jax', got {type(key).__name__}")
    xa = jnp.asarray(x)
    if not jnp.issubdtype(xa.dtype, jnp.floating):
        xa = xa.astype(jnp.float32)
    bad = ~np.isfinite(np.asarray(xa))
    if bad.any():
        from ... import _validate as V

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
