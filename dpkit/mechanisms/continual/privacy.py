"""Privacy statements of the continual-release counters: sensitivities and accountant events.

Every counter releases a linear function of the stream plus noise, ``y = A x + B z``, with
``A`` the T×T lower-triangular all-ones matrix (prefix sums) and ``A = B·C``. The noise enters
as ``B(Cx + z)``, so the release is a post-processing of the Gaussian (or Laplace) mechanism on
the query ``x ↦ Cx``. Its sensitivity under *event-level* neighbours (two streams that differ in
one step's item, the two items differing by at most Δ in norm) is

    sens(C) = Δ · max_j ‖C[:, j]‖          (ℓ2 for Gaussian noise, ℓ1 for Laplace noise)

(Li, Miklau, Hay, McGregor, Rastogi, "The Matrix Mechanism", 2015; Denisov, McMahan, Rush,
Smith, Thakurta, NeurIPS 2022, who also prove that the guarantee holds for adaptively chosen
streams when B and C are lower-triangular).

* Binary tree (Dwork, Naor, Pitassi, Rothblum, STOC 2010; Chan, Shi, Song, ICALP 2010): C is the
  0/1 node-membership matrix of the dyadic nodes that complete by the horizon T. One item lies
  in at most ``L = ⌊log2 T⌋ + 1`` of them (exactly L for the first item), so the ℓ2 column norm
  is √L and the ℓ1 column norm is L. Honaker's estimator (TPDP 2015) post-processes the same
  kind of noisy node values and has the same sensitivity.
* Square-root factorization (Fichtenberger, Henzinger, Upadhyay, ICML 2023): ``B = C = A^{1/2}``,
  Toeplitz with coefficients ``c_k = binom(2k, k)/4^k``; every column norm² is at most
  ``G(T) = Σ_{k<T} c_k²`` (the first column attains it).
* BLT (Dvijotham, McMahan, Pillutla, Steinke, Thakurta 2024): C is Toeplitz with ``c_0 = 1``,
  ``c_k = Σ_i ω_i θ_i^{k−1}``; the first column is again the largest, with the closed form
  ``‖C[:,0]‖² = 1 + Σ_{i,j} ω_iω_j (1 − (θ_iθ_j)^{T−1})/(1 − θ_iθ_j)``.

With per-coordinate Gaussian noise of standard deviation ``σ·Δ`` (σ = ``noise_multiplier``) the
release is ρ-zCDP with ``ρ = sens_factor²/(2σ²)``, i.e. the accountant event
``Gaussian(σ / sens_factor)`` where ``sens_factor = max_j ‖C[:, j]‖₂``. With Laplace noise of
scale b per node (tree kinds only) it is ε-DP with ``ε = L·Δ/b``; for a scalar stream the exact
RDP curve is that of L independent Laplace releases, ``Repeated(Laplace(b/Δ), L)``.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np

from ...accounting.events import Event, Gaussian, Laplace, PureDP, Repeated

__all__ = [
    "tree_levels",
    "sqrt_coefficients",
    "sqrt_column_norm_sq",
    "blt_coefficients",
    "blt_column_norm_sq",
    "sensitivity_factor",
    "privacy_event",
]


def tree_levels(horizon: int) -> int:
    """L = ⌊log2 T⌋ + 1: the number of tree heights with a node that completes by step T.

    An item at step j lies in one node per height; the node of height h completes at a step
    ≤ T only if 2^h ≤ T, so at most L released nodes contain it, and the first item lies in
    exactly L of them (nodes (h, 1) for 2^h ≤ T).
    """
    return int(horizon).bit_length()


@lru_cache(maxsize=8)
def _sqrt_coefficients_cached(n: int) -> np.ndarray:
    k = np.arange(1, n, dtype=np.float64)
    ratios = (2.0 * k - 1.0) / (2.0 * k)
    out = np.empty(n, dtype=np.float64)
    out[0] = 1.0
    out[1:] = np.cumprod(ratios)
    out.setflags(write=False)
    return out


def sqrt_coefficients(n: int) -> np.ndarray:
    """The first n Toeplitz coefficients of A^{1/2}: c_0 = 1, c_k = c_{k−1}(2k−1)/(2k).

    These are the power-series coefficients of (1 − z)^{−1/2}, ``c_k = binom(2k, k)/4^k``
    (Fichtenberger, Henzinger, Upadhyay, ICML 2023). Returned read-only; cached.
    """
    return _sqrt_coefficients_cached(int(n))


@lru_cache(maxsize=8)
def _sqrt_cumsq(n: int) -> np.ndarray:
    c = sqrt_coefficients(n)
    out = np.cumsum(c * c)
    out.setflags(write=False)
    return out


def sqrt_column_norm_sq(horizon: int) -> float:
    """G(T) = Σ_{k<T} c_k²: the largest squared column (and row) norm of A^{1/2} (T × T)."""
    return float(_sqrt_cumsq(int(horizon))[-1])


def blt_coefficients(theta: Any, omega: Any, n: int) -> np.ndarray:
    """The first n Toeplitz coefficients of the BLT matrix: c_0 = 1, c_k = Σ_i ω_i θ_i^{k−1}."""
    th = np.asarray(theta, dtype=np.float64)
    om = np.asarray(omega, dtype=np.float64)
    out = np.ones(int(n), dtype=np.float64)
    if n > 1:
        powers = th[None, :] ** np.arange(n - 1, dtype=np.float64)[:, None]
        out[1:] = powers @ om
    return out


def blt_column_norm_sq(theta: Any, omega: Any, horizon: int) -> float:
    """‖C[:,0]‖² = 1 + Σ_{i,j} ω_iω_j (1 − (θ_iθ_j)^{T−1})/(1 − θ_iθ_j), in closed form.

    The first column of a lower-triangular Toeplitz matrix is its longest, so this is the
    largest squared column norm (Dvijotham et al. 2024). O(b²) for any T.
    """
    th = np.asarray(theta, dtype=np.float64)
    om = np.asarray(omega, dtype=np.float64)
    q = np.outer(th, th)
    # (1 − q^{T−1})/(1 − q) computed as −expm1((T−1) log q)/(−expm1(log q)) (no cancellation)
    lq = np.log(q)
    geo = np.expm1((horizon - 1) * lq) / np.expm1(lq)
    return float(1.0 + om @ geo @ om)


def sensitivity_factor(params: Any) -> float:
    """max_j ‖C[:, j]‖₂ of the counter's strategy (per unit of item sensitivity Δ).

    √L for the tree kinds, √G(T) for "sqrt", the closed-form BLT column norm for "blt".
    """
    kind = params.kind
    if kind in ("tree", "honaker"):
        return math.sqrt(tree_levels(params.horizon))
    if kind == "sqrt":
        return math.sqrt(sqrt_column_norm_sq(params.horizon))
    return math.sqrt(blt_column_norm_sq(params.blt_theta, params.blt_omega, params.horizon))


def privacy_event(params: Any) -> Event:
    """The accountant event of one counter run over a stream of up to ``horizon`` items.

    Neighbouring relation: event level. Two streams differ in the item of one step, and the two
    items differ by at most Δ = ``params.sensitivity`` in ℓ2 norm (Gaussian noise) or ℓ1 norm
    (Laplace noise); Δ = 2·bound for ``neighbours="replace"``, Δ = bound for "zero_out".
    The guarantee also holds for adaptively chosen streams (Denisov et al. 2022).

    * Gaussian noise, per-node (or per-z) std σ·Δ: ``Gaussian(σ / s)``, s = max_j ‖C[:,j]‖₂,
      i.e. ρ = s²/(2σ²)-zCDP.
    * Laplace noise (tree kinds), per-node scale b: pure ε = L·Δ/b. Scalar streams:
      ``Repeated(Laplace(b/Δ), L)`` (L independent scalar Laplace releases, exact RDP);
      vector streams: ``PureDP(L·Δ/b)``.
    """
    if params.noise == "gaussian":
        return Gaussian(params.noise_multiplier / sensitivity_factor(params))
    levels = tree_levels(params.horizon)
    b_over_delta = params.laplace_scale / params.sensitivity
    if params.dimension == 1:
        return Repeated(Laplace(b_over_delta), levels)
    return PureDP(levels / b_over_delta)
