"""JAX kernels of the continual counters: the streaming step under ``jax.lax.scan``.

The carry is the reference's immutable state (tree kinds: (L, d) partial sums and node values;
BLT: (b, d) buffers and the running sum); "sqrt" uses the FFT batch product (``jnp.fft``).
Noise comes from a JAX key: step t uses ``jax.random.fold_in(key, t)``, so the law is the
reference's (tested), not its bits. Privacy: the same statement as the reference
(:mod:`dpkit.mechanisms.continual.privacy`). Imported lazily; float64 is used when JAX has it
enabled (``jax_enable_x64``), else float32.

Noise tails: float32 ``jax.random.normal`` / ``jax.random.laplace`` invert a uniform with
2^−24 resolution, so their draws are bounded (|z| ≤ 5.42 for the normal, ≤ 16.6 for the
Laplace). Bounded noise breaks the privacy statement: an output beyond the bound around one
neighbour's value but within it around the other's has an infinite privacy loss — for a
Gaussian node with σ = 1 that region has probability P(Z ∈ [4.42, 5.42]) ≈ 5e-6 per node and
coordinate, an unaccounted δ larger than common targets. Every unit draw here therefore comes
from the shared 64-bit primitives :func:`dpkit._jax_random.laplace` (difference of two
log-uniform exponentials, support ±45.05, cut tail 2.7e-20) and
:func:`dpkit._jax_random.normal` (Box–Muller with a 64-bit log-uniform radius, support ±9.49,
cut tail 2.3e-21). Not hardened against floating-point attacks beyond that.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ... import _jax_random as R
from .params import CounterParams, honaker_weights

__all__ = ["run"]


def _unit(key: Any, shape: tuple[int, ...], laplace: bool, dtype: Any) -> Any:
    """Standard Laplace or normal draws of ``shape`` with 64-bit-resolution tails."""
    return R.laplace(key, shape, dtype) if laplace else R.normal(key, shape, dtype)


def _ctz(t: Any) -> Any:
    """Trailing zeros of t ≥ 1 (int32): log2 of the lowest set bit."""
    low = t & (-t)
    return jnp.int32(31) - jax.lax.clz(low)


@partial(jax.jit, static_argnames=("kind", "levels", "laplace"))
def _scan(xs: Any, key: Any, scale: Any, weights: Any, theta: Any, omega: Any, *, kind: str,
          levels: int, laplace: bool) -> Any:
    T, d = xs.shape
    dtype = xs.dtype
    hs = jnp.arange(levels)

    def tree_step(carry: Any, inp: Any) -> Any:
        partial_, nodes = carry
        x, t = inp
        h = _ctz(t)
        below = (hs < h)[:, None]
        at = (hs == h)[:, None]
        z = _unit(jax.random.fold_in(key, t), (d,), laplace, dtype)
        exact = x + jnp.sum(jnp.where(below, partial_, 0.0), axis=0)
        partial_ = jnp.where(below, 0.0, jnp.where(at, exact[None, :], partial_))
        nodes = jnp.where(below, 0.0, jnp.where(at, (exact + scale * z)[None, :], nodes))
        return (partial_, nodes), jnp.sum(nodes, axis=0)

    def honaker_step(carry: Any, inp: Any) -> Any:
        partial_, nodes = carry
        x, t = inp
        hstar = _ctz(t)
        z = _unit(jax.random.fold_in(key, t), (levels, d), laplace, dtype)
        u0 = x + scale * z[0]

        def climb(h: Any, acc: Any) -> Any:
            exact, u = acc
            active = h <= hstar
            exact_n = exact + partial_[h - 1]
            noisy = exact_n + scale * z[h]
            u_n = weights[h] * noisy + (1.0 - weights[h]) * (nodes[h - 1] + u)
            return (jnp.where(active, exact_n, exact), jnp.where(active, u_n, u))

        exact, u = jax.lax.fori_loop(1, levels, climb, (x, u0))
        below = (hs < hstar)[:, None]
        at = (hs == hstar)[:, None]
        partial_ = jnp.where(below, 0.0, jnp.where(at, exact[None, :], partial_))
        nodes = jnp.where(below, 0.0, jnp.where(at, u[None, :], nodes))
        return (partial_, nodes), jnp.sum(nodes, axis=0)

    def blt_step(carry: Any, inp: Any) -> Any:
        buf, total = carry
        x, t = inp
        z = _unit(jax.random.fold_in(key, t), (d,), laplace, dtype)
        zeta = scale * z - omega @ buf
        buf = theta[:, None] * buf + zeta[None, :]
        total = total + x + zeta
        return (buf, total), total

    ts = jnp.arange(1, T + 1, dtype=jnp.int32)
    if kind == "blt":
        init = (jnp.zeros((theta.shape[0], d), dtype), jnp.zeros((d,), dtype))
        _, ys = jax.lax.scan(blt_step, init, (xs, ts))
        return ys
    init = (jnp.zeros((levels, d), dtype), jnp.zeros((levels, d), dtype))
    body = tree_step if kind == "tree" else honaker_step
    _, ys = jax.lax.scan(body, init, (xs, ts))
    return ys


@jax.jit
def _sqrt_fft(xs: Any, key: Any, scale: Any, coefs: Any) -> Any:
    T, d = xs.shape
    n = 1 << max(1, (2 * T - 1).bit_length())
    z = _unit(key, (T, d), False, xs.dtype)
    conv = jnp.fft.irfft(jnp.fft.rfft(coefs, n)[:, None] * jnp.fft.rfft(z, n, axis=0), n,
                         axis=0)[:T]
    return jnp.cumsum(xs, axis=0) + scale * conv


def run(params: CounterParams, xs_np: np.ndarray, rng: Any,
        sqrt_coefs: np.ndarray | None = None) -> Any:
    """Whole-stream run with ``lax.scan`` (tree, Honaker, BLT) or ``jnp.fft`` (sqrt).

    ``xs_np``: the stream as checked by the reference (float64 (T, d): finite, within the
    bound or clipped, T ≤ horizon). ``rng``: a JAX PRNG key or an int seed. ``sqrt_coefs``:
    the first T coefficients of A^{1/2} (kind "sqrt" only). Returns a (T, d) JAX array.
    """
    dtype = jnp.float64 if jax.config.read("jax_enable_x64") else jnp.float32
    xs = jnp.asarray(xs_np, dtype=dtype)
    key = R.as_key(rng)
    scale = jnp.asarray(params.noise_scale, dtype=dtype)
    if params.kind == "sqrt":
        if sqrt_coefs is None:
            raise ValueError("kind 'sqrt' needs sqrt_coefs")
        return _sqrt_fft(xs, key, scale, jnp.asarray(sqrt_coefs, dtype=dtype))
    levels = params.levels
    weights = jnp.asarray(honaker_weights(levels), dtype=dtype)
    th: tuple[float, ...] = (0.0,)  # unused placeholders for the tree kinds
    om: tuple[float, ...] = (0.0,)
    if params.kind == "blt":
        assert params.blt_theta is not None and params.blt_omega is not None  # validated
        th, om = params.blt_theta, params.blt_omega
    theta = jnp.asarray(th, dtype)
    omega = jnp.asarray(om, dtype)
    return _scan(xs, key, scale, weights, theta, omega, kind=params.kind, levels=levels,
                 laplace=params.noise == "laplace")
