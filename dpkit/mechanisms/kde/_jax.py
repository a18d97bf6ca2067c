"""Jitted JAX kernels of the KDE structures: the build (exact sketch + Laplace noise from a
JAX key) and batched queries (spec kde.md §3.1, §3.2, §5.2).

Same law as the numpy reference: the exact sketch is the same deterministic function of the
clipped points (float32 by default: counts are exact below 2^24), and the noise is Laplace
with the reference's scales (:func:`dpkit.mechanisms.kde.noise_scales`), drawn from the key.
The public randomness (tree layout, G, ω, β) is regenerated on the host from a public seed drawn
from the key (:func:`split_build_key`), exactly as in the reference; the build itself (sketch,
noise, assembly) is orchestrated by :mod:`dpkit.mechanisms.kde.mechanism`.

Noise resolution: ``jax.random.laplace`` in float32 (JAX's default without x64) inverts a
float32 uniform with 2^−24 resolution, so its output is bounded by ln(2^24)·b ≈ 16.6·b. Bounded
noise is not pure DP: a release more than 16.6·b above the smaller neighbour's centre is
impossible under that neighbour and possible under the other (infinite privacy loss, probability
~e^−16.6/2 ≈ 3e-8 per touched coordinate). The build therefore draws its noise with the shared
:func:`dpkit._jax_random.laplace` (log u₂ − log u₁ from 2 × 64 random bits, u cells 2^−64 wide,
support ±45.05 scale units, cut tail mass e^−45 ≈ 2.7e-20), evaluated in float64 under a scoped
``jax.enable_x64`` and added on the host, where the sketch is assembled in float64
(:func:`_laplace_host`). Not hardened against floating-point attacks beyond that.

Sensitivity and floating point (Casacuberta et al. 2022): a float32 sum of √2·cos over a chunk
of points would let one point move the computed sum by √2 plus the chunk's rounding (≲ 1 % more
than the declared sensitivity). The RFF sums are therefore computed in float64 (scoped
``jax.enable_x64``, chunks accumulated in float64 on the host), like the numpy reference, and the
leaf histograms count in int32 (exact), so the declared sensitivities hold as in the reference.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ... import _jax_random as R
from ... import _validate as V
from ...errors import DPKitError
from .. import _dyadic
from .params import DISTANCES, KDESketch, KDEStructure, rff_parts, ring_boundaries

__all__ = ["split_build_key", "release_noise_jax", "query_jax", "leaf_histograms_jax",
           "rff_sums_jax"]

_SQRT2 = math.sqrt(2.0)


@partial(jax.jit, static_argnames=("m",))
def _leaf_hist(cells: Any, m: int) -> Any:
    dims = cells.shape[1]
    flat = (cells + jnp.arange(dims)[None, :] * m).reshape(-1)
    return jnp.zeros(dims * m, jnp.int32).at[flat].add(1).reshape(dims, m)


def leaf_histograms_jax(cells: np.ndarray, m: int) -> np.ndarray:
    """(n, dims) cells → (dims, M) counts (returned on the host as float64)."""
    return np.asarray(_leaf_hist(jnp.asarray(cells, jnp.int32), m), dtype=np.float64)


@jax.jit
def _rff(z: Any, freqs: Any, phases: Any) -> Any:
    arg = jnp.einsum("nk,jdk->jnd", z, freqs) + phases[:, None, :]
    return _SQRT2 * jnp.cos(arg).sum(axis=1)


def rff_sums_jax(z: np.ndarray, freqs: np.ndarray, phases: np.ndarray) -> np.ndarray:
    """(n, k) points → (J, D) feature sums (chunked over points to bound memory)."""
    step = max(1, (1 << 22) // max(1, freqs.shape[0] * freqs.shape[1]))
    out = np.zeros(freqs.shape[:2])
    with jax.enable_x64(True):  # float64 sums: one point moves a sum by at most √2 (+ 1 ulp)
        f, ph = jnp.asarray(freqs, jnp.float64), jnp.asarray(phases, jnp.float64)
        for a in range(0, z.shape[0], step):
            out += np.asarray(_rff(jnp.asarray(z[a:a + step], jnp.float64), f, ph), np.float64)
    return out


def _laplace_host(key: Any, shape: tuple[int, ...]) -> np.ndarray:
    """Standard Laplace draws of ``shape`` as a float64 numpy array: the shared
    :func:`dpkit._jax_random.laplace` evaluated in float64 (scoped x64, no global change)."""
    with jax.enable_x64(True):
        return np.asarray(R.laplace(key, shape, jnp.float64), dtype=np.float64)


def split_build_key(rng: Any) -> tuple[int, tuple[Any, Any, Any, Any]]:
    """The public seed (drawn from its own subkey, never the noise's) and the four noise keys
    (counts, sums, rff, n) of a build with ``rng`` (a JAX key or an int seed,
    :func:`dpkit._jax_random.as_key`)."""
    key = R.as_key(rng)
    k_seed, k_c, k_s, k_r, k_n = jax.random.split(key, 5)
    seed = int(jax.random.randint(k_seed, (), 0, 2**31 - 1))
    return seed, (k_c, k_s, k_r, k_n)


def release_noise_jax(keys: tuple[Any, Any, Any, Any], sk: KDESketch,
                      scales: Mapping[str, Any]) -> dict[str, np.ndarray | None]:
    """The Laplace noise of one release of ``sk`` (same parts and scales as
    :func:`dpkit.mechanisms.kde.release_noise`), drawn with :func:`_laplace_host` from the
    noise keys of :func:`split_build_key`."""
    k_c, k_s, k_r, k_n = keys
    noise: dict[str, np.ndarray | None] = {"counts": None, "sums": None, "rff": None, "n": None}
    lap = _laplace_host
    if sk.counts is not None:
        noise["counts"] = scales["count"] * lap(k_c, sk.counts.shape)
    if sk.sums is not None:
        noise["sums"] = scales["sum"] * lap(k_s, sk.sums.shape)
    if sk.rff is not None:
        noise["rff"] = lap(k_r, sk.rff.shape) * scales["rff"][:, None]
        if scales["n"] is not None:
            noise["n"] = scales["n"] * lap(k_n, ())
    return noise


def _prefix(tree: Any, c: Any, m: int) -> Any:
    """Noisy prefix sums P(c) for c (Q, dims, ...) in [0, M] (static M)."""
    h = _dyadic.levels(m) - 1
    cols = jnp.arange(tree.shape[0]).reshape((1, tree.shape[0]) + (1,) * (c.ndim - 2))
    out = jnp.zeros(c.shape, tree.dtype)
    inner = c < m
    for t in range(1, h + 1):
        k = c >> (h - t)
        use = inner & ((k & 1) == 1)
        idx = jnp.minimum((1 << t) - 1 + jnp.maximum(k - 1, 0), 2 * m - 2)
        out = out + jnp.where(use, tree[cols, idx], 0.0)
    return jnp.where(inner, out, tree[cols, 0])


@partial(jax.jit, static_argnames=("m",))
def _tree_exact(counts: Any, sums: Any, v: Any, m: int, halfwidth: Any, rho: Any) -> Any:
    c = jnp.clip(jnp.floor((jnp.clip(v, -2 * halfwidth, 2 * halfwidth) + halfwidth) / rho),
                 0, m).astype(jnp.int32)
    c_lt, s_lt = _prefix(counts, c, m), _prefix(sums, c, m)
    est = v * (2.0 * c_lt - counts[:, 0][None, :]) + (sums[:, 0][None, :] - 2.0 * s_lt)
    return est.sum(axis=1)


@partial(jax.jit, static_argnames=("m",))
def _tree_ring(counts: Any, v: Any, m: int, halfwidth: Any, rho: Any, bounds: Any,
               reps: Any) -> Any:
    """Ring-mode estimate; all ring prefix values gathered in one vectorized pass."""
    vc = jnp.clip(v, -halfwidth, halfwidth)
    cq = jnp.clip(jnp.floor((vc + halfwidth) / rho), 0, m - 1).astype(jnp.int32)[..., None]
    b = bounds[None, None, :]  # (1, 1, J + 1)
    right = _prefix(counts, jnp.minimum(cq + b, m), m)  # P(cq + B_j), j = 0..J
    left = _prefix(counts, jnp.clip(cq - b + 1, 0, m), m)  # P(cq − B_j + 1)
    ring = (right[..., 1:] - right[..., :-1]) + (left[..., :-1] - left[..., 1:])
    est = counts[:, 0][None, :] * jnp.abs(v - vc) + (ring * reps[None, None, :]).sum(axis=-1)
    return est.sum(axis=1)


@jax.jit
def _rff_query(z: Any, freqs: Any, phases: Any, weights: Any, sums: Any) -> Any:
    arg = jnp.einsum("qk,jdk->jqd", z, freqs) + phases[:, None, :]
    per_term = jnp.einsum("jqd,jd->jq", jnp.cos(arg), sums)
    return (_SQRT2 / freqs.shape[1]) * (weights[:, None] * per_term).sum(axis=0)


def query_jax(structure: KDEStructure, queries: Any) -> Any:
    """Batched queries with the jitted kernels (see :func:`dpkit.mechanisms.kde.query`);
    NaN/inf refused (checked on the host). Returns a (Q,) JAX array."""
    s = structure
    p = s.params
    y = jnp.asarray(queries)
    if not jnp.issubdtype(y.dtype, jnp.floating):
        y = y.astype(jnp.float32)
    V.finite_array(queries=np.asarray(y))
    d = s.dimension
    if y.ndim == 1:
        y = y.reshape(-1, 1) if d == 1 else y.reshape(1, -1)
    if y.ndim != 2 or y.shape[1] != d:
        raise DPKitError(f"queries must have shape (Q, {d}), got {tuple(np.shape(queries))}")
    f32 = jnp.float32
    pub = s.public
    if p.kind in DISTANCES:
        v = y if pub.projection is None else y @ jnp.asarray(pub.projection.T, f32)
        counts = jnp.asarray(s.counts, f32)
        if p.mode == "exact":
            est = _tree_exact(counts, jnp.asarray(s.sums, f32), v, p.leaves,
                              p.tree_halfwidth, p.cell_width)
        else:
            bnd = ring_boundaries(p.alpha, p.leaves)
            lo, hi = bnd[:-1].astype(float), bnd[1:].astype(float)
            reps = p.cell_width * (lo if p.ring_rep == "low" else np.sqrt(lo * hi))
            est = _tree_ring(counts, v, p.leaves, p.tree_halfwidth, p.cell_width,
                             jnp.asarray(bnd, jnp.int32), jnp.asarray(reps, f32))
        if p.kind == "l2":
            est = est / (p.k_embed * math.sqrt(2.0 / math.pi))
        return est
    freqs, phases, weights = rff_parts(pub)
    z = y if pub.projection is None else y @ jnp.asarray(pub.projection.T, f32)
    return _rff_query(z, jnp.asarray(freqs, f32), jnp.asarray(phases, f32),
                      jnp.asarray(weights, f32), jnp.asarray(s.rff, f32))
