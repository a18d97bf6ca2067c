"""Jitted JAX kernels of the frequency oracles' perturb (same law as the numpy reference).

Key-based and pure. The OLH hash needs wrap-around 64-bit multiplication, so the kernels run
under ``jax.enable_x64(True)`` (a scoped context, no global change); the hash is bit-equal to
:mod:`._hash` (tested). Every keep/flip decision is a shared
:func:`dpkit._jax_random.bernoulli` of log p computed on the host from ε (e.g.
log p = −log1p((d − 1)e^−ε)), compared in log space with a 64-bit uniform: the rates are exact
to 2^−64 even for p or 1 − p far below float resolution (a plain float64 uniform resolves them
to 2^−53, a float32 one to 2^−24). The rare event of each decision (a flip, an OUE 1-bit off
the true item) is drawn at its rate plus half a cell (:func:`_log_rounded_up`), so the cell
rounding can only lower the likelihood ratio, and a rate below 2^−64 never becomes 0.
"Another item" is ``jax.random.randint``. Not hardened against floating-point attacks.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ... import _jax_random as R
from .._rr import log_flip_probability, log_keep_probability
from .params import GRR, OLH, OUE, OLHReports, Oracle, check_items

__all__ = ["perturb_jax", "olh_hash_jax"]

_GOLDEN = 0x9E3779B97F4A7C15
_LOG_HALF = math.log(0.5)


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


def _grr(key: Any, v: Any, log_p: Any, log_flip: Any, d: Any) -> Any:
    k1, k2 = jax.random.split(key)
    keep = R.bernoulli(k1, shape=v.shape, log_p=log_p, log1m_p=log_flip, dtype=jnp.float64)
    other = jax.random.randint(k2, v.shape, 0, d - 1, dtype=jnp.int64)
    other = other + (other >= v)
    return jnp.where(keep, v, other)


@jax.jit
def _grr_kernel(key: Any, v: Any, log_p: Any, log_flip: Any, d: Any) -> Any:
    return _grr(key, v, log_p, log_flip, d)


@partial(jax.jit, static_argnames=("d",))
def _oue_kernel(key: Any, v: Any, log_q: Any, d: int) -> Any:
    k1, k2 = jax.random.split(key)
    bits = R.bernoulli(k1, shape=(v.shape[0], d), log_p=log_q, dtype=jnp.float64)
    true_bit = R.bernoulli(k2, shape=v.shape, log_p=_LOG_HALF, dtype=jnp.float64)
    bits = bits.at[jnp.arange(v.shape[0]), v].set(true_bit)
    return bits.astype(jnp.uint8)


@partial(jax.jit, static_argnames=("pool",))
def _olh_kernel(key: Any, v: Any, log_p: Any, log_flip: Any, g: Any, pool: int,
                pool_seed: Any) -> Any:
    k1, k2 = jax.random.split(key)
    if pool > 0:
        j = jax.random.randint(k1, v.shape, 0, pool, dtype=jnp.int64).astype(jnp.uint64)
        seeds = (pool_seed << _u64(32)) + j
        out_seeds = j
    else:
        seeds = jax.random.bits(k1, v.shape, jnp.uint64)
        out_seeds = seeds
    x = _hash(seeds, v, g)
    return out_seeds, _grr(k2, x, log_p, log_flip, g)


def _log_keep(eps: float, k: int) -> float:
    """log p for p = 1/(1 + (k − 1)e^−ε), accurate also when 1 − p is tiny (host side)."""
    return log_keep_probability(eps, k)


_LOG_HALF_CELL = -65.0 * math.log(2.0)  # log 2^−65, half of the uniform's 2^−64 cell


def _log_rounded_up(log_r: float) -> float:
    """log(r + 2^−65): with U = (w + ½)·2^−64, P(U < r + 2^−65) = ⌈r·2^64⌉/2^64 ≥ r.

    The rare event of each decision (a GRR flip, an OUE 1-bit for u ≠ v) is drawn at this
    rate, so cell rounding can only raise it: the likelihood ratio stays ≤ e^ε, and a rate
    below the 2^−64 grid (ε ≳ 45) is not rounded to 0 (which would be an infinite loss).
    """
    return float(np.logaddexp(log_r, _LOG_HALF_CELL))


def _log_flip(eps: float, k: int) -> float:
    """log(1 − p) = log(k − 1) − ε − log1p((k − 1)e^−ε) of a k-ary GRR, rounded up."""
    return _log_rounded_up(log_flip_probability(eps, k))


def perturb_jax(o: Oracle, items: Any, key: Any) -> Any:
    """Reports with the JAX kernels (see :func:`dpkit.mechanisms.heavy_hitters.perturb`).

    Items are validated on the host (range, integrality). Returns JAX arrays (OLH: an
    :class:`OLHReports` of JAX arrays).
    """
    key = R.as_key(key)
    v_np = check_items(items, o.domain_size)
    with jax.enable_x64(True):
        v = jnp.asarray(v_np, dtype=jnp.int64)
        if isinstance(o, GRR):
            return _grr_kernel(key, v, _log_keep(o.epsilon, o.domain_size),
                               _log_flip(o.epsilon, o.domain_size), jnp.int64(o.domain_size))
        if isinstance(o, OUE):
            log_q = _log_rounded_up(log_flip_probability(o.epsilon, 2))  # 1/(1 + e^ε)
            return _oue_kernel(key, v, log_q, o.domain_size)
        if isinstance(o, OLH):
            pool = 0 if o.num_hashes is None else o.num_hashes
            seeds, y = _olh_kernel(key, v, _log_keep(o.epsilon, o.g), _log_flip(o.epsilon, o.g),
                                   jnp.int64(o.g), pool, _u64(o.pool_seed))
            return OLHReports(seeds, y)
    raise TypeError(type(o))  # pragma: no cover - validated by the caller
