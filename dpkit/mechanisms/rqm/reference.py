"""The numpy reference of RQM: the law every kernel is tested against.

:func:`quantize_reference` samples with numpy's Generator (the geometric-walk sampler, or the
naive keep-mask sampler that is the definition itself); :func:`pmf` / :func:`log_pmf` give the
output law in closed form (spec §3) and :func:`variance` the output variance. Imports
:mod:`.params` and the closed-form law of :mod:`._exact`.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from ...errors import DPKitError
from ...random import RNGLike, SecureGenerator, as_generator
from ._exact import cells, log_pmf_positions, positions
from .params import RQMParams, Sampler, check_params, input_array

__all__ = ["quantize_reference", "pmf", "log_pmf", "variance"]

_CHUNK = 1 << 22  # elements of a work block ((n, m) keep mask)
_PMF_CHUNK = 1 << 20  # elements of the (n, m) log-pmf work arrays per chunk

_Gen = np.random.Generator | SecureGenerator


# ================================================================ samplers
def _walk_numpy(params: RQMParams, t: np.ndarray, gen: _Gen) -> np.ndarray:
    """Geometric-walk sampler: two truncated geometric gaps and one uniform per coordinate."""
    m, q = params.num_levels, params.keep_prob
    j = cells(t, m)
    n = t.size
    if q > 0.0 and m > 2:
        log1mq = math.log1p(-q)
        u = 1.0 - gen.random((2, n))  # in (0, 1]
        g = np.minimum(np.floor(np.log(u) / log1mq), m).astype(np.int64)  # Geometric(q) gaps
        lo = np.maximum(j - g[0], 0)
        hi = np.minimum(j + 1 + g[1], m - 1)
    else:
        lo = np.zeros(n, dtype=np.int64)
        hi = np.full(n, m - 1, dtype=np.int64)
    p_up = (t - lo) / (hi - lo)
    return np.where(gen.random(n) < p_up, hi, lo)


def _mask_numpy(params: RQMParams, t: np.ndarray, gen: _Gen) -> np.ndarray:
    """Naive sampler (the definition): draw the whole keep mask, search both neighbours."""
    m, q = params.num_levels, params.keep_prob
    j = cells(t, m)
    n = t.size
    out = np.empty(n, dtype=np.int64)
    idx = np.arange(m)
    step = max(1, _CHUNK // m)
    for a in range(0, n, step):
        b = min(n, a + step)
        keep = np.asarray(gen.random((b - a, m)) < q)
        keep[:, 0] = True
        keep[:, m - 1] = True
        jj = j[a:b, None]
        lo = np.where(keep & (idx <= jj), idx, -1).max(axis=1)
        hi = np.where(keep & (idx > jj), idx, m).min(axis=1)
        p_up = (t[a:b] - lo) / (hi - lo)
        out[a:b] = np.where(gen.random(b - a) < p_up, hi, lo)
    return out


def quantize_reference(params: RQMParams, x: npt.ArrayLike, rng: RNGLike, *,
                       sampler: Sampler = "walk") -> np.ndarray:
    """The numpy reference of :func:`~dpkit.mechanisms.rqm.quantize` (the oracle the kernels
    are tested against).

    ``sampler="walk"``: the O(1) geometric-walk sampler (spec §2.1); ``sampler="mask"``: the
    naive sampler that draws all m − 2 keep bits (the definition itself, O(m) per coordinate).
    Both have the law of :func:`pmf`. Privacy: as :func:`~dpkit.mechanisms.rqm.quantize`
    (local RDP ε(α) per coordinate, replace-one; Youn et al. 2023). Not hardened against
    floating-point attacks.

    Args:
        params: an :class:`~dpkit.mechanisms.rqm.RQMParams`.
        x: number or array; clamped to [−c, c]; NaN/inf refused.
        rng: None, an int seed, a numpy Generator or a SecureGenerator.
        sampler: "walk" or "mask".

    Returns:
        Indices in {0..m−1}, dtype ``params.index_dtype``, x's shape.

    Raises:
        DPKitError: bad params, rng or sampler; NaN/inf in x (positions named).
    """
    p = check_params(params)
    if sampler not in ("walk", "mask"):
        raise DPKitError(f"sampler must be 'walk' or 'mask', got {sampler!r}")
    arr = input_array(x)
    gen = as_generator(rng)
    t = positions(arr.reshape(-1), p)
    fn = _walk_numpy if sampler == "walk" else _mask_numpy
    return fn(p, t, gen).astype(p.index_dtype).reshape(arr.shape)


# ================================================================ closed-form law
def log_pmf(params: RQMParams, x: npt.ArrayLike) -> np.ndarray:
    """log p_x(k), the closed-form log pmf of the output index (spec §3), shape x.shape + (m,).

    Computed in log space, so it stays accurate where the probabilities underflow (large m,
    q close to 1). −inf marks an impossible index (only when q = 0). Cost: O(m²) time shared
    by all inputs (prefix sums over the gap law) plus O(m) per input, memory bounded by
    work blocks of ~2^22 elements plus the (n, m) result (m = 65536 works).
    """
    p = check_params(params)
    arr = input_array(x)
    t = positions(arr.reshape(-1), p)
    m = p.num_levels
    step = max(1, _PMF_CHUNK // m)  # bounded work arrays whatever n and m
    out = np.empty((t.size, m))
    for a in range(0, t.size, step):
        out[a:a + step] = log_pmf_positions(m, p.keep_prob, t[a:a + step])
    return out.reshape(arr.shape + (m,))


def pmf(params: RQMParams, x: npt.ArrayLike) -> np.ndarray:
    """The output pmf p_x(k) = P[quantize(x) = k] in closed form (spec §3).

    With j the cell of x, L and U the nearest kept levels below / above:
    P(L = 0) = (1−q)^j, P(L = l) = q(1−q)^{j−l} (1 ≤ l ≤ j); P(U = m−1) = (1−q)^{m−2−j},
    P(U = u) = q(1−q)^{u−j−1} (j+1 ≤ u ≤ m−2); then
    p_x(k) = P(L=k) Σ_u P(U=u)(B_u − x)/(B_u − B_k) for k ≤ j and
    p_x(k) = P(U=k) Σ_l P(L=l)(x − B_l)/(B_k − B_l) for k ≥ j + 1.

    Args:
        params: an :class:`~dpkit.mechanisms.rqm.RQMParams`.
        x: number or array (clamped to [−c, c]; NaN/inf refused).

    Returns:
        Probabilities of shape x.shape + (m,), each row summing to 1.

    >>> p = RQMParams(1.0, 0.7, 6, 0.4)
    >>> np.round(pmf(p, 0.33), 4).tolist()
    [0.0748, 0.0637, 0.1478, 0.3962, 0.1499, 0.1676]
    """
    return np.exp(log_pmf(params, x))


def variance(params: RQMParams, x: npt.ArrayLike) -> np.ndarray:
    """Var[B_out] = Σ_k p_x(k)(B_k − x)², the output variance at each x (clamped)."""
    p = check_params(params)
    arr = np.clip(input_array(x), -p.clip, p.clip)
    probs = pmf(p, arr)
    return np.sum(probs * (p.levels - arr[..., None]) ** 2, axis=-1)
