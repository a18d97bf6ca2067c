"""numba kernels of the KDE structures (same results as the numpy reference, spec kde.md).

* :func:`leaf_histograms`: per-tree leaf counts of the points' cells (parallel over trees).
* :func:`rff_sums`: S_jl = Σ_x √2 cos(ω_jl·z_x + β_jl), fused (no n×D matrix), parallel over
  features.
* :func:`tree_query_exact`: the exact-mode ℓ1 estimate (spec §3.2) per query, walking the
  binary digits of each cell index (≤ log2 M nodes per prefix), parallel over queries.
* :func:`rff_query`: Σ_j w_j √2/D Σ_l cos(ω_jl·y + β_jl)·S̃_jl, parallel over queries.

These compute deterministic functions of the sketch / released structure; the Laplace noise is
drawn by the shared numpy release step, so a build with the numba backend has the reference's
law exactly when these agree with the reference (tested to float tolerance, plus a law test).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

__all__ = ["leaf_histograms", "rff_sums", "tree_query_exact", "rff_query"]

_SQRT2 = math.sqrt(2.0)


@njit(cache=True, parallel=True)
def leaf_histograms(cells: np.ndarray, m: int) -> np.ndarray:
    """(n, dims) int64 cells → (dims, M) float64 counts."""
    n, dims = cells.shape
    out = np.zeros((dims, m))
    for i in prange(dims):
        for a in range(n):
            out[i, cells[a, i]] += 1.0
    return out


@njit(cache=True, parallel=True)
def _rff_sums(z: np.ndarray, freqs: np.ndarray, phases: np.ndarray) -> np.ndarray:
    n, k = z.shape
    nterms, nfeat, _ = freqs.shape
    out = np.zeros(nterms * nfeat)
    for f in prange(nterms * nfeat):
        j = f // nfeat
        col = f % nfeat
        acc = 0.0
        for a in range(n):
            arg = phases[j, col]
            for c in range(k):
                arg += freqs[j, col, c] * z[a, c]
            acc += math.cos(arg)
        out[f] = _SQRT2 * acc
    return out


def rff_sums(z: np.ndarray, freqs: np.ndarray, phases: np.ndarray) -> np.ndarray:
    """(n, k) points, (J, D, k) frequencies, (J, D) phases → (J, D) feature sums."""
    out = _rff_sums(np.ascontiguousarray(z, dtype=np.float64),
                    np.ascontiguousarray(freqs), np.ascontiguousarray(phases))
    return out.reshape(freqs.shape[0], freqs.shape[1])


@njit(cache=True, inline="always")
def _prefix_node_sum(tree: np.ndarray, row: int, c: int, m: int, h: int) -> float:
    if c >= m:
        return tree[row, 0]
    acc = 0.0
    for t in range(1, h + 1):
        k = c >> (h - t)
        if k & 1:
            acc += tree[row, (1 << t) - 1 + k - 1]
    return acc


@njit(cache=True, parallel=True)
def tree_query_exact(counts: np.ndarray, sums: np.ndarray, v: np.ndarray, m: int,
                     halfwidth: float, rho: float) -> np.ndarray:
    """Exact-mode estimate Σ_i [w_i(2C_<(c_i) − C) + (S − 2S_<(c_i))] for each query row."""
    nq, dims = v.shape
    h = 0
    while (1 << h) < m:
        h += 1
    out = np.zeros(nq)
    for q in prange(nq):
        acc = 0.0
        for i in range(dims):
            w = v[q, i]
            wc = min(max(w, -2.0 * halfwidth), 2.0 * halfwidth)
            c = int(math.floor((wc + halfwidth) / rho))
            c = min(max(c, 0), m)
            c_lt = _prefix_node_sum(counts, i, c, m, h)
            s_lt = _prefix_node_sum(sums, i, c, m, h)
            acc += w * (2.0 * c_lt - counts[i, 0]) + (sums[i, 0] - 2.0 * s_lt)
        out[q] = acc
    return out


@njit(cache=True, parallel=True)
def _rff_query(z: np.ndarray, freqs: np.ndarray, phases: np.ndarray, weights: np.ndarray,
               sums: np.ndarray) -> np.ndarray:
    nq, k = z.shape
    nterms, nfeat, _ = freqs.shape
    out = np.zeros(nq)
    for q in prange(nq):
        total = 0.0
        for j in range(nterms):
            acc = 0.0
            for col in range(nfeat):
                arg = phases[j, col]
                for c in range(k):
                    arg += freqs[j, col, c] * z[q, c]
                acc += math.cos(arg) * sums[j, col]
            total += weights[j] * _SQRT2 * acc / nfeat
        out[q] = total
    return out


def rff_query(z: np.ndarray, freqs: np.ndarray, phases: np.ndarray, weights: np.ndarray,
              sums: np.ndarray) -> np.ndarray:
    """(Q, k) projected queries → (Q,) kernel-sum estimates from noisy (J, D) sums."""
    return _rff_query(np.ascontiguousarray(z, dtype=np.float64), np.ascontiguousarray(freqs),
                      np.ascontiguousarray(phases), np.ascontiguousarray(weights, dtype=float),
                      np.ascontiguousarray(sums))
