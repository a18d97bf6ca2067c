"""The numpy reference of the KDE structures (spec kde.md): the law every kernel is tested
against.

The deterministic parts of a build and of a query, in plain numpy: the documented clipping,
the public randomness regenerated from a seed, the exact sketch (dyadic count / sum trees,
random Fourier feature sums) and the query maps (noisy prefix sums, ring counts, feature inner
products), plus :func:`exact_sums`, the non-private target. The Laplace noise is drawn by
:mod:`dpkit.mechanisms.kde.mechanism` on every backend but JAX.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from ... import _validate as V
from ...errors import DPKitError
from .. import _dyadic
from .params import (
    KDEParams,
    KDEStructure,
    PublicRandomness,
    check_params,
    kernel_bandwidth,
    rff_parts,
    ring_boundaries,
)
from .privacy import expsum_terms

__all__ = ["public_randomness", "exact_sums"]

CHUNK = 1 << 22  # elements per work matrix
_SQRT2 = math.sqrt(2.0)


# ================================================================ public randomness
def public_randomness(params: KDEParams, dimension: int, public_seed: int) -> PublicRandomness:
    """The public randomness of a structure from ``public_seed`` (deterministic).

    ℓ1: none; ℓ2: the embedding G ~ N(0, 1)^{k×d} (spec §4); kernels: the optional JL map
    G/√k (spec §5.1), then frequencies ω and phases β ~ U[0, 2π) of D random Fourier features
    per term (Rahimi & Recht 2007; spec §5.2: Gaussian ω ~ N(0, 2/σ²), exponential the
    multivariate Cauchy g/(σ|t|), Cauchy the scale mixture or one Gaussian term per
    exponential-sum term, spec §5.3). Public (data-independent): no privacy cost.

    Raises:
        DPKitError: bad params, dimension (integer ≥ 1) or public_seed (integer ≥ 0).
    """
    p = check_params(params)
    d = V.integer(minimum=1, dimension=dimension)
    g = np.random.default_rng(V.integer(minimum=0, public_seed=public_seed))
    if p.kind == "l1":
        return PublicRandomness()
    if p.kind == "l2":
        return PublicRandomness(projection=g.standard_normal((p.k_embed, d)))
    proj = None
    k = d
    if p.jl_dim is not None:
        k = p.jl_dim
        proj = g.standard_normal((k, d)) / math.sqrt(k)
    D, s = p.features, kernel_bandwidth(p)
    if p.kind == "gaussian":
        freqs = (g.standard_normal((1, D, k)) * (_SQRT2 / s))
        w, lam = np.ones(1), np.ones(1)
    elif p.kind == "exponential":  # multivariate Cauchy: g / (σ |t|)
        t = np.abs(g.standard_normal((1, D, 1)))
        freqs = g.standard_normal((1, D, k)) / (s * t)
        w, lam = np.ones(1), np.ones(1)
    elif p.cauchy_method == "mixture":  # s ~ Exp(1), ω ~ N(0, 2s/σ²)
        mix = g.exponential(1.0, (1, D, 1))
        freqs = g.standard_normal((1, D, k)) * np.sqrt(2.0 * mix) / s
        w, lam = np.ones(1), np.ones(1)
    else:  # expsum: term j is the Gaussian kernel with bandwidth σ/√λ_j
        w, lam = expsum_terms(p.expsum_error)
        freqs = g.standard_normal((w.size, D, k)) * (_SQRT2 * np.sqrt(lam)[:, None, None] / s)
    phases = g.uniform(0.0, 2.0 * math.pi, freqs.shape[:2])
    return PublicRandomness(projection=proj, freqs=freqs, phases=phases, weights=w, lambdas=lam)


# ================================================================ inputs and clipping
def as_points(params: KDEParams, x: npt.ArrayLike, name: str = "private_points") -> np.ndarray:
    """``x`` as a finite (n, d) float array (1-D: one column), d = ``params.dimension`` if set."""
    arr = V.finite_array(**{name: x})
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2:
        raise DPKitError(f"{name} must be a 2-D array (n, d), got shape {arr.shape}")
    if params.dimension is not None and arr.shape[1] != params.dimension:
        raise DPKitError(f"{name} must have dimension={params.dimension} columns, got "
                         f"{arr.shape[1]}")
    return arr


def clip_private(params: KDEParams, x: np.ndarray) -> np.ndarray:
    """The documented clipping: coordinates to [−r, r] (ℓ2: projection onto the r-ball)."""
    r = params.radius
    if params.kind == "l2":
        # scaled norm: ‖x‖ = s·‖x/s‖ with s = max|x_i| never overflows (a plain norm of a
        # finite point with coordinates ~1e200 is inf and would map the point to 0)
        big = np.max(np.abs(x), axis=1, keepdims=True)
        safe = np.where(big > 0, big, 1.0)
        norms = safe * np.linalg.norm(x / safe, axis=1, keepdims=True)
        return x * np.minimum(1.0, r / np.maximum(norms, 1e-300))
    return np.clip(x, -r, r)


def projected(x: np.ndarray, pub: PublicRandomness) -> np.ndarray:
    """``x @ G.T`` for the public projection G (ℓ2 embedding or JL map), else ``x``."""
    return x if pub.projection is None else x @ pub.projection.T


# ================================================================ exact sketch
def tree_coords(params: KDEParams, x: np.ndarray, pub: PublicRandomness) -> np.ndarray:
    """Per-tree coordinates of clipped private points (ℓ2: embedded and clipped to ±τr)."""
    if params.kind == "l2":
        hw = params.tree_halfwidth
        return np.clip(projected(x, pub), -hw, hw)
    return x


def cells(params: KDEParams, v: np.ndarray) -> np.ndarray:
    """cell(v) = min(M − 1, ⌊(v + hw)/ρ⌋) for v in [−hw, hw]."""
    m = params.leaves
    c = np.floor((v + params.tree_halfwidth) / params.cell_width)
    return np.clip(c, 0, m - 1).astype(np.int64)


def tree_from_leaves(leaf: np.ndarray) -> np.ndarray:
    """(dims, M) leaf values → (dims, 2M − 1) heap-ordered tree (root at 0, level t at 2^t−1)."""
    dims, m = leaf.shape
    out = np.empty((dims, 2 * m - 1))
    out[:, m - 1:] = leaf
    width = m
    while width > 1:
        start = width - 1
        half = width // 2
        out[:, half - 1:start] = out[:, start:start + width:2] + out[:, start + 1:start + width:2]
        width = half
    return out


def midpoints(params: KDEParams) -> np.ndarray:
    """Centred cell midpoints u_c = −hw + (c + ½)ρ."""
    return -params.tree_halfwidth + (np.arange(params.leaves) + 0.5) * params.cell_width


def leaf_histograms(cells_: np.ndarray, m: int) -> np.ndarray:
    """(n, dims) int64 cells → (dims, M) float64 counts."""
    _, dims = cells_.shape
    flat = (cells_ + (np.arange(dims) * m)[None, :]).reshape(-1)
    return np.bincount(flat, minlength=dims * m).astype(np.float64).reshape(dims, m)


def rff_sums(z: np.ndarray, freqs: np.ndarray, phases: np.ndarray) -> np.ndarray:
    """S_jl = Σ_x √2 cos(ω_jl·z_x + β_jl), chunked over points."""
    J, D, _ = freqs.shape
    out = np.zeros((J, D))
    step = max(1, CHUNK // max(1, D))
    for j in range(J):
        for a in range(0, z.shape[0], step):
            arg = z[a:a + step] @ freqs[j].T + phases[j][None, :]
            out[j] += _SQRT2 * np.cos(arg).sum(axis=0)
    return out


# ================================================================ queries
def as_queries(s: KDEStructure, queries: npt.ArrayLike) -> np.ndarray:
    """Finite (Q, d) queries (1-D: Q queries in d = 1, if d = 1; else one query)."""
    y = V.finite_array(queries=np.asarray(queries))
    d = s.dimension
    if y.ndim == 1:
        y = y.reshape(-1, 1) if d == 1 else y.reshape(1, -1)
    if y.ndim != 2 or y.shape[1] != d:
        raise DPKitError(f"queries must have shape (Q, {d}), got {np.shape(queries)}")
    return y


def prefix(tree: np.ndarray, c: np.ndarray, m: int) -> np.ndarray:
    """Noisy prefix P(c) = value of cells < c from at most log2 M nodes; c (Q, dims) in [0, M]."""
    h = _dyadic.levels(m) - 1
    cols = np.arange(tree.shape[0])[None, :]
    out = np.zeros(c.shape)
    inner = c < m
    for t in range(1, h + 1):
        k = c >> (h - t)
        use = inner & ((k & 1) == 1)
        idx = (1 << t) - 1 + np.maximum(k - 1, 0)
        out += np.where(use, tree[cols, np.minimum(idx, 2 * m - 2)], 0.0)
    return np.where(inner, out, tree[:, 0][None, :])


def tree_query(s: KDEStructure, v: np.ndarray) -> np.ndarray:
    """Σ over trees of the 1-D estimates at coordinates v (Q, dims) (spec §3.1, §3.2)."""
    p = s.params
    m, hw, rho = p.leaves, p.tree_halfwidth, p.cell_width
    counts = _part(s.counts, "counts")
    if p.mode == "exact":
        sums = _part(s.sums, "sums")
        c = np.clip(np.floor((np.clip(v, -2 * hw, 2 * hw) + hw) / rho), 0, m).astype(np.int64)
        c_lt, s_lt = prefix(counts, c, m), prefix(sums, c, m)
        c_tot, s_tot = counts[:, 0][None, :], sums[:, 0][None, :]
        est = v * (2.0 * c_lt - c_tot) + (s_tot - 2.0 * s_lt)
        return est.sum(axis=1)
    vc = np.clip(v, -hw, hw)
    cq = np.clip(np.floor((vc + hw) / rho), 0, m - 1).astype(np.int64)
    bnd = ring_boundaries(p.alpha, m)
    est = counts[:, 0][None, :] * np.abs(v - vc)
    for j in range(bnd.size - 1):
        lo, hi = int(bnd[j]), int(bnd[j + 1])
        rep = rho * (lo if p.ring_rep == "low" else math.sqrt(lo * hi))
        right = prefix(counts, np.minimum(cq + hi, m), m) - prefix(counts,
                                                                   np.minimum(cq + lo, m), m)
        left = (prefix(counts, np.clip(cq - lo + 1, 0, m), m)
                - prefix(counts, np.clip(cq - hi + 1, 0, m), m))
        est = est + rep * (left + right)
    return est.sum(axis=1)


def rff_query(s: KDEStructure, y: np.ndarray) -> np.ndarray:
    """Σ_j w_j⟨S̃_j, φ_j(y)⟩/D for each query row (spec §5.2)."""
    freqs, phases, weights = rff_parts(s.public)
    rff = _part(s.rff, "rff")
    z = projected(y, s.public)
    J, D, _ = freqs.shape
    out = np.zeros(z.shape[0])
    step = max(1, CHUNK // D)
    for j in range(J):
        coef = weights[j] * _SQRT2 / D
        for a in range(0, z.shape[0], step):
            arg = z[a:a + step] @ freqs[j].T + phases[j][None, :]
            out[a:a + step] += coef * (np.cos(arg) @ rff[j])
    return out


def _part(value: np.ndarray | None, name: str) -> np.ndarray:
    if value is None:
        raise DPKitError(f"this structure has no {name} part")
    return value


# ================================================================ non-private target
def exact_sums(params: KDEParams, private_points: npt.ArrayLike,
               queries: npt.ArrayLike) -> np.ndarray:
    """The exact, non-private F(y) = Σ_x f(x, y) over the *clipped* private points (baseline).

    Not private: for tests and benchmarks. Chunked, O(n·Q·d) time.

    Raises:
        DPKitError: bad params, NaN/inf or wrongly shaped points or queries.
    """
    p = check_params(params)
    x = clip_private(p, as_points(p, private_points))
    y = V.finite_array(queries=queries)
    if y.ndim == 1:
        y = y.reshape(-1, 1) if x.shape[1] == 1 else y.reshape(1, -1)
    if y.ndim != 2 or y.shape[1] != x.shape[1]:
        raise DPKitError(f"queries must have shape (Q, {x.shape[1]}) like the points, got "
                         f"{np.shape(queries)}")
    out = np.empty(y.shape[0])
    step = max(1, CHUNK // max(1, x.shape[0] * (x.shape[1] if p.kind == "l1" else 1)))
    xx = np.sum(x * x, axis=1)[None, :]
    for a in range(0, y.shape[0], step):
        yb = y[a:a + step]
        if p.kind == "l1":
            out[a:a + step] = np.abs(yb[:, None, :] - x[None, :, :]).sum(axis=(1, 2))
            continue
        sq = np.maximum(np.sum(yb * yb, axis=1)[:, None] + xx - 2.0 * yb @ x.T, 0.0)
        if p.kind == "l2":
            val = np.sqrt(sq)
        else:
            sigma = kernel_bandwidth(p)
            if p.kind == "gaussian":
                val = np.exp(-sq / sigma**2)
            elif p.kind == "exponential":
                val = np.exp(-np.sqrt(sq) / sigma)
            else:
                val = 1.0 / (1.0 + sq / sigma**2)
        out[a:a + step] = val.sum(axis=1)
    return out
