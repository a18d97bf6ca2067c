"""numba kernels of the continual counters: the streaming loops of the numpy reference.

Each kernel takes the validated stream ``xs`` (T, d) and the unit noise (rows consumed in step
order, exactly as :func:`dpkit.mechanisms.continual.run_with_noise` documents; the reference is
:mod:`dpkit.mechanisms.continual.reference`), so with the
same noise it reproduces the reference to rounding; its law is the reference's. The state is
the reference's O(L·d) (tree kinds) or O(b·d) (BLT) arrays. Privacy: the same statement as the
reference (:mod:`dpkit.mechanisms.continual.privacy`). Imported lazily (``import dpkit`` does
not import numba).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .params import CounterParams, honaker_weights

__all__ = ["run", "tree_kernel", "honaker_kernel", "blt_kernel"]


@njit(cache=True)
def _ctz(t: int) -> int:
    h = 0
    while (t & 1) == 0:
        t >>= 1
        h += 1
    return h


@njit(cache=True)
def tree_kernel(xs: np.ndarray, noise: np.ndarray, scale: float, levels: int) -> np.ndarray:
    """Binary tree (Dwork et al. 2010): one noisy node per step, O(L·d) state."""
    T, d = xs.shape
    partial = np.zeros((levels, d))
    nodes = np.zeros((levels, d))
    y = np.zeros(d)  # Σ_h nodes[h], kept up to date incrementally
    out = np.empty((T, d))
    for i in range(T):
        h = _ctz(i + 1)
        for j in range(d):
            exact = xs[i, j]
            for g in range(h):
                exact += partial[g, j]
                y[j] -= nodes[g, j]
                partial[g, j] = 0.0
                nodes[g, j] = 0.0
            partial[h, j] = exact
            nodes[h, j] = exact + scale * noise[i, j]
            y[j] += nodes[h, j]
            out[i, j] = y[j]
    return out


@njit(cache=True)
def honaker_kernel(xs: np.ndarray, noise: np.ndarray, scale: float,
                   weights: np.ndarray) -> np.ndarray:
    """Honaker's streaming estimator (TPDP 2015): every completed node noised and combined."""
    T, d = xs.shape
    levels = weights.shape[0]
    partial = np.zeros((levels, d))
    nodes = np.zeros((levels, d))
    y = np.zeros(d)
    out = np.empty((T, d))
    pos = 0
    for i in range(T):
        hstar = _ctz(i + 1)
        for j in range(d):
            exact = xs[i, j]
            u = exact + scale * noise[pos, j]
            for h in range(1, hstar + 1):
                exact += partial[h - 1, j]
                noisy = exact + scale * noise[pos + h, j]
                u = weights[h] * noisy + (1.0 - weights[h]) * (nodes[h - 1, j] + u)
            for g in range(hstar):
                y[j] -= nodes[g, j]
                partial[g, j] = 0.0
                nodes[g, j] = 0.0
            partial[hstar, j] = exact
            nodes[hstar, j] = u
            y[j] += u
            out[i, j] = y[j]
        pos += hstar + 1
    return out


@njit(cache=True)
def blt_kernel(xs: np.ndarray, noise: np.ndarray, scale: float, theta: np.ndarray,
               omega: np.ndarray) -> np.ndarray:
    """BLT noise ζ = C^{−1}z with b buffers (Dvijotham et al. 2024); running sum of x + ζ."""
    T, d = xs.shape
    b = theta.shape[0]
    buf = np.zeros((b, d))
    total = np.zeros(d)
    out = np.empty((T, d))
    for i in range(T):
        for j in range(d):
            zeta = scale * noise[i, j]
            for k in range(b):
                zeta -= omega[k] * buf[k, j]
            for k in range(b):
                buf[k, j] = theta[k] * buf[k, j] + zeta
            total[j] += xs[i, j] + zeta
            out[i, j] = total[j]
    return out


def run(params: CounterParams, xs: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Dispatch to the kernel of ``params.kind`` ("sqrt" is handled by the FFT path)."""
    xs = np.ascontiguousarray(xs, dtype=np.float64)
    z = np.ascontiguousarray(noise, dtype=np.float64)
    scale = float(params.noise_scale)
    if params.kind == "tree":
        return tree_kernel(xs, z, scale, params.levels)
    if params.kind == "honaker":
        return honaker_kernel(xs, z, scale, honaker_weights(params.levels))
    if params.kind == "blt":
        return blt_kernel(xs, z, scale, np.asarray(params.blt_theta, dtype=np.float64),
                          np.asarray(params.blt_omega, dtype=np.float64))
    raise ValueError(f"no numba kernel for kind {params.kind!r}")
