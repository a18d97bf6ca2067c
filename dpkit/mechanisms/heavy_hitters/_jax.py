"""Jitted JAX kernels of the frequency oracles' perturb (same law as the numpy reference).

Key-based and pure. The OLH hash needs wrap-around 64-bit multiplication, so the kernels run
under ``jax.enable_x64(True)`` (a scoped context, no global change); the hash is bit-equal to
:mod:`._hash` (tested). Not hardened against floating-point attacks.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ...errors import DPKitError
from .oracles import GRR, OLH, OUE, OLHReports, check_items

__all__ = ["perturb_jax", "olh_hash_jax"]

_GOLDEN = 0x9E3779B97F4A7C15


def _u64(x: int) -> Any:
    return jnp.asarray(np.uint64(x), dtype=jnp.uint64)


def _mix(z: Any) -> Any:
    z = (z ^ (z >> _u64(30))) * _u64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> _u64(27))) * _u64(0x94D049BB133111EB)
    return z ^ (z >> _u64(31))


def _fmix32(v: Any) -> Any:
    m = _u64(0xFFFFFFFF)
    h = v & m
    h = h ^ (h >> _u64(16))
    h = (h * _u64(0x85EBCA6B)) & m
    h = h ^ (h >> _u64(13))
    h = (h * _u64(0xC2B2AE35)) & m
    return h ^ (h >> _u64(16))


def _hash(seeds: Any, v: Any, g: Any) -> Any:
    a = _mix(seeds + _u64(_GOLDEN))
    b = _mix(seeds + _u64(_GOLDEN) * _u64(2))
    z = (a * _fmix32(v.astype(jnp.uint64)) + b) >> _u64(32)
    return ((z * g.astype(jnp.uint64)) >> _u64(32)).astype(jnp.int64)


@jax.jit
def olh_hash_jax(seeds: Any, v: Any, g: Any) -> Any:
    """H_s(v) elementwise (uint64 seeds, int64 items); call under ``jax.enable_x64(True)``."""
    return _hash(seeds, v, g)


def _grr(key: Any, v: Any, p: Any, d: Any) -> Any:
    k1, k2 = jax.random.split(key)
    keep = jax.random.uniform(k1, v.shape, jnp.float64) < p
    other = jax.random.randint(k2, v.shape, 0, d - 1, dtype=jnp.int64)
    other = other + (other >= v)
    return jnp.where(keep, v, other)


@jax.jit
def _grr_kernel(key: Any, v: Any, p: Any, d: Any) -> Any:
    return _grr(key, v, p, d)


@partial(jax.jit, static_argnames=("d",))
def _oue_kernel(key: Any, v: Any, q: Any, d: int) -> Any:
    k1, k2 = jax.random.split(key)
    bits = jax.random.uniform(k1, (v.shape[0], d), jnp.float64) < q
    true_bit = jax.random.uniform(k2, v.shape, jnp.float64) < 0.5
    bits = bits.at[jnp.arange(v.shape[0]), v].set(true_bit)
    return bits.astype(jnp.uint8)


@partial(jax.jit, static_argnames=("pool",))
def _olh_kernel(key: Any, v: Any, p: Any, g: Any, pool: int, pool_seed: Any) -> Any:
    k1, k2 = jax.random.split(key)
    if pool > 0:
        j = jax.random.randint(k1, v.shape, 0, pool, dtype=jnp.int64).astype(jnp.uint64)
        seeds = (pool_seed << _u64(32)) + j
        out_seeds = j
    else:
        seeds = jax.random.bits(k1, v.shape, jnp.uint64)
        out_seeds = seeds
    x = _hash(seeds, v, g)
    return out_seeds, _grr(k2, x, p, g)


def _check_key(key: Any) -> None:
    if not (isinstance(key, jax.Array) and (jnp.issubdtype(key.dtype, jax.dtypes.prng_key)
                                            or key.shape == (2,))):
        raise DPKitError("rng must be a JAX PRNG key (jax.random.key or PRNGKey) for "
                         f"backend='jax', got {type(key).__name__}")


def perturb_jax(o: Any, items: Any, key: Any) -> Any:
    """Reports with the JAX kernels (see :func:`dpkit.mechanisms.heavy_hitters.perturb`).

    Items are validated on the host (range, integrality). Returns JAX arrays (OLH: an
    :class:`OLHReports` of JAX arrays).
    """
    _check_key(key)
    v_np = check_items(np.asarray(items), o.domain_size)
    with jax.enable_x64(True):
        v = jnp.asarray(v_np, dtype=jnp.int64)
        if isinstance(o, GRR):
            return _grr_kernel(key, v, o.p, jnp.int64(o.domain_size))
        if isinstance(o, OUE):
            return _oue_kernel(key, v, o.q, o.domain_size)
        if isinstance(o, OLH):
            pool = 0 if o.num_hashes is None else o.num_hashes
            seeds, y = _olh_kernel(key, v, o.p, jnp.int64(o.g), pool, _u64(o.pool_seed))
            return OLHReports(seeds, y)
    raise TypeError(type(o))  # pragma: no cover - validated by the caller
