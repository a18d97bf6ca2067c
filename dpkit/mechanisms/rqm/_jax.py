"""Jitted JAX kernel of RQM's geometric-walk sampler (same law as the numpy reference).

Pure and key-based: ``rqm_indices(key, x, clip, half, spacing, m, keep_prob)`` has static m and
traced parameters, so it can be ``vmap``-ed over keys or inputs and used inside ``jit``. Per
coordinate (spec §2.1): cell j, two gaps ⌊log(u)/log(1−q)⌋ ~ Geometric(q) truncated at the end
levels, then unbiased rounding with a third uniform. Not hardened against floating-point
attacks.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ...errors import DPKitError

__all__ = ["rqm_indices", "quantize_jax"]


@partial(jax.jit, static_argnames=("m",))
def rqm_indices(key: Any, x: Any, clip: Any, half: Any, spacing: Any, m: int,
                keep_prob: Any) -> Any:
    """RQM level indices (int32, x's shape) of x under PRNG key ``key``."""
    k1, k2, k3 = jax.random.split(key, 3)
    dtype = jnp.result_type(x, jnp.float32)
    xc = jnp.clip(x.astype(dtype), -clip, clip)
    t = (xc + half) / spacing
    j = jnp.clip(jnp.floor(t), 0, m - 2).astype(jnp.int32)
    q = jnp.asarray(keep_prob, dtype)
    log1mq = jnp.log1p(-q)
    # u in (0, 1]: 1 − uniform[0, 1)
    u1 = 1.0 - jax.random.uniform(k1, x.shape, dtype)
    u2 = 1.0 - jax.random.uniform(k2, x.shape, dtype)
    big = jnp.asarray(m, dtype)
    g1 = jnp.where(q > 0, jnp.minimum(jnp.floor(jnp.log(u1) / log1mq), big), big)
    g2 = jnp.where(q > 0, jnp.minimum(jnp.floor(jnp.log(u2) / log1mq), big), big)
    lo = jnp.maximum(j - g1.astype(jnp.int32), 0)
    hi = jnp.minimum(j + 1 + g2.astype(jnp.int32), m - 1)
    p_up = (t - lo) / (hi - lo)
    up = jax.random.uniform(k3, x.shape, dtype) < p_up
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
    out = rqm_indices(key, xa, params.clip, params.half_width, params.spacing,
                      params.num_levels, params.keep_prob)
    return out.astype(jnp.uint8 if params.num_levels <= 256 else jnp.uint16)
