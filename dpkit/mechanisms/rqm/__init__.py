"""RQM: the randomized quantization mechanism (Youn, Hu, Ziani, Abernethy 2023).

Y. Youn, Z. Hu, J. Ziani, J. Abernethy, *Randomized Quantization is All You Need for
Differential Privacy in Federated Learning*, FL-ICML 2023 workshop, arXiv:2306.11913.

Definition (one scalar x ∈ [−c, c]; ``num_levels`` m counts level *points*, indices 0..m−1):
R = c + Δ, spacing s = 2R/(m − 1), levels B_k = −R + k·s. Two stages of randomness:

1. keep B_0 and B_{m−1} always, and each interior level B_1..B_{m−2} independently with
   probability q (``keep_prob``);
2. round x unbiasedly between its nearest kept levels B_L ≤ x < B_U: output U with probability
   (x − B_L)/(B_U − B_L), else L.

The client sends the integer index (⌈log2 m⌉ bits); the server decodes B_index. The output is
exactly unbiased: E[B_out] = x for every x ∈ [−c, c].

Privacy (local, "replace one client's value": any two inputs x, x' ∈ [−c, c]): the exact Rényi
divergence sup_{x,x'} D_α(P_x ‖ P_x') is attained on the finite grid
G = {−c, c} ∪ {B_k : −c < B_k < c} (the pmf is affine in x on each cell and (a, b) ↦ a^α b^{1−α}
is jointly convex), so :mod:`dpkit.mechanisms.rqm.privacy` computes it exactly by a grid search,
for every order α > 1 and for α = ∞ (pure ε). A d-vector encoded coordinate-wise (ℓ∞ clipping)
costs d times the scalar curve, tightly (the pair (c·1, −c·1) is worst in every coordinate).
Finite privacy needs Δ > 0 and q < 1.

The formulas for the pmf and the grid theorem are derived in /work/shared/specs/rqm.md (the
paper's body could not be read; the mechanism's definition matches its abstract and two
third-party re-implementations). Sampling is in floating point: *not* hardened against
floating-point attacks.

Public API: :class:`RQMParams`, :func:`quantize`, :func:`decode`, :func:`aggregate`,
:func:`aggregate_sums`, :func:`pmf`, :func:`privacy_event`, :func:`epsilon`, :func:`calibrate`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ... import _validate as V
from ...errors import DPKitError
from ...random import RNGLike, as_generator, route_backend

__all__ = [
    "RQMParams",
    "quantize",
    "quantize_reference",
    "decode",
    "aggregate",
    "aggregate_sums",
    "pmf",
    "log_pmf",
    "variance",
    "privacy_event",
    "epsilon",
    "calibrate",
    "MAX_LEVELS",
]

#: Largest accepted number of levels (indices fit in uint16).
MAX_LEVELS = 2**16
_CHUNK = 1 << 22  # elements of a work block (prefix-sum table rows, (n, m) mask)
_PMF_CHUNK = 1 << 20  # elements of the (n, m) log-pmf work arrays per chunk

Sampler = Literal["walk", "mask"]


# ================================================================ parameters
@dataclass(frozen=True)
class RQMParams:
    """Parameters of the randomized quantization mechanism (Youn et al. 2023).

    Levels B_k = −R + k·2R/(m − 1), k = 0..m−1, with R = c + Δ; interior levels are kept
    independently with probability q, the two end levels always; x is rounded unbiasedly
    between its nearest kept levels.

    Privacy: a local randomizer; for any two inputs x, x' ∈ [−c, c] (replace-one), exact RDP
    ε(α) = max over the grid of :mod:`~dpkit.mechanisms.rqm.privacy` (finite iff Δ > 0 and
    q < 1, which this record enforces). See :func:`privacy_event`.

    Args:
        clip: c > 0, the clipping radius; inputs are clamped to [−c, c].
        extension: Δ > 0, the range extension (levels span [−(c+Δ), c+Δ]); Δ = 0 would let
            x = c always output the top level (infinite privacy loss).
        num_levels: m ≥ 2, the number of level *points* (bits per coordinate ⌈log2 m⌉), at
            most :data:`MAX_LEVELS` (65536) for encoding, decoding and the pmf, and at most
            ``privacy.MAX_ACCOUNTING_LEVELS`` (1024) for privacy accounting
            (:func:`privacy_event`, :func:`epsilon`, :func:`calibrate` refuse larger m: the
            exact grid search costs O(m³) time).
        keep_prob: q ∈ [0, 1), the keep probability of each interior level (ignored for
            m = 2); q = 1 is plain stochastic rounding (infinite privacy loss).

    Raises:
        DPKitError: a parameter outside the ranges above (the message names it).

    >>> p = RQMParams(clip=1.0, extension=1.0, num_levels=4, keep_prob=0.5)
    >>> np.round(p.levels, 4).tolist(), p.bits
    ([-2.0, -0.6667, 0.6667, 2.0], 2)
    """

    clip: float
    extension: float
    num_levels: int
    keep_prob: float

    def __post_init__(self) -> None:
        c = V.positive(clip=self.clip)
        try:
            d = V.positive(extension=self.extension)
        except DPKitError as exc:
            raise DPKitError(f"{exc} (extension > 0 is needed for finite privacy)") from None
        m = V.integer(minimum=2, maximum=MAX_LEVELS, num_levels=self.num_levels)
        try:
            q = V.in_range(0.0, 1.0, high_open=True, keep_prob=self.keep_prob)
        except DPKitError as exc:
            raise DPKitError(f"{exc} (keep_prob < 1 is needed for finite privacy)") from None
        if not math.isfinite(2.0 * (c + d)) or not (c + d) > c:
            raise DPKitError(f"clip + extension must be a float > clip with 2·(clip + extension)"
                             f" finite (the level span), got clip={c!r}, extension={d!r}")
        object.__setattr__(self, "clip", c)
        object.__setattr__(self, "extension", d)
        object.__setattr__(self, "num_levels", m)
        object.__setattr__(self, "keep_prob", q)

    @property
    def half_width(self) -> float:
        """R = c + Δ."""
        return self.clip + self.extension

    @property
    def spacing(self) -> float:
        """s = 2R/(m − 1), the distance between neighbouring levels."""
        return 2.0 * self.half_width / (self.num_levels - 1)

    @property
    def levels(self) -> np.ndarray:
        """The level values B_0..B_{m−1} (B_0 = −R, B_{m−1} = R exactly)."""
        return decode(self, np.arange(self.num_levels))

    @property
    def bits(self) -> int:
        """Bits per coordinate, ⌈log2 m⌉."""
        return max(1, (self.num_levels - 1).bit_length())

    @property
    def index_dtype(self) -> np.dtype:
        """The unsigned dtype of the indices :func:`quantize` returns (uint8 or uint16)."""
        return np.dtype(np.uint8 if self.num_levels <= 256 else np.uint16)

    def privacy_event(self, dimension: int = 1) -> Any:
        """Same as :func:`privacy_event` (params, dimension)."""
        return privacy_event(self, dimension)


def _check_params(params: Any) -> RQMParams:
    if not isinstance(params, RQMParams):
        raise DPKitError(f"params must be an RQMParams, got {type(params).__name__}")
    return params


def _input(x: Any) -> np.ndarray:
    """x as a finite float64 array; NaN/inf are refused with their positions (never clamped)."""
    try:
        scalar = np.ndim(x) == 0
    except (TypeError, ValueError):  # e.g. a ragged list: finite_array names the problem
        scalar = False
    if scalar:
        return V.finite_array(x=[x]).reshape(())
    return V.finite_array(x=x)


def _positions(t: np.ndarray, params: RQMParams) -> np.ndarray:
    """Continuous level position t = (clamp(x) + R)/s ∈ (0, m − 1)."""
    c, r = params.clip, params.half_width
    return (np.clip(t, -c, c) + r) / params.spacing


def _cells(t: np.ndarray, m: int) -> np.ndarray:
    """Cell index j = min(⌊t⌋, m − 2) (and ≥ 0), as int64."""
    return np.clip(np.floor(t), 0, m - 2).astype(np.int64)


# ================================================================ numpy reference samplers
def _walk_numpy(params: RQMParams, t: np.ndarray, gen: Any) -> np.ndarray:
    """Geometric-walk sampler: two truncated geometric gaps and one uniform per coordinate."""
    m, q = params.num_levels, params.keep_prob
    j = _cells(t, m)
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


def _mask_numpy(params: RQMParams, t: np.ndarray, gen: Any) -> np.ndarray:
    """Naive sampler (the definition): draw the whole keep mask, search both neighbours."""
    m, q = params.num_levels, params.keep_prob
    j = _cells(t, m)
    n = t.size
    out = np.empty(n, dtype=np.int64)
    idx = np.arange(m)
    step = max(1, _CHUNK // m)
    for a in range(0, n, step):
        b = min(n, a + step)
        keep = gen.random((b - a, m)) < q
        keep[:, 0] = True
        keep[:, m - 1] = True
        jj = j[a:b, None]
        lo = np.where(keep & (idx <= jj), idx, -1).max(axis=1)
        hi = np.where(keep & (idx > jj), idx, m).min(axis=1)
        p_up = (t[a:b] - lo) / (hi - lo)
        out[a:b] = np.where(gen.random(b - a) < p_up, hi, lo)
    return out


def quantize_reference(params: RQMParams, x: Any, rng: RNGLike, *,
                       sampler: Sampler = "walk") -> np.ndarray:
    """The numpy reference of :func:`quantize` (the oracle the kernels are tested against).

    ``sampler="walk"``: the O(1) geometric-walk sampler (spec §2.1); ``sampler="mask"``: the
    naive sampler that draws all m − 2 keep bits (the definition itself, O(m) per coordinate).
    Both have the law of :func:`pmf`. Privacy: as :func:`quantize`.

    Args:
        params: an :class:`RQMParams`.
        x: number or array; clamped to [−c, c]; NaN/inf refused.
        rng: None, an int seed, a numpy Generator or a SecureGenerator.
        sampler: "walk" or "mask".

    Returns:
        Indices in {0..m−1}, dtype ``params.index_dtype``, x's shape.

    Raises:
        DPKitError: bad params, rng or sampler; NaN/inf in x (positions named).
    """
    p = _check_params(params)
    if sampler not in ("walk", "mask"):
        raise DPKitError(f"sampler must be 'walk' or 'mask', got {sampler!r}")
    arr = _input(x)
    gen = as_generator(rng)
    t = _positions(arr.reshape(-1), p)
    fn = _walk_numpy if sampler == "walk" else _mask_numpy
    return fn(p, t, gen).astype(p.index_dtype).reshape(arr.shape)


def quantize(params: RQMParams, x: Any, rng: Any, *, backend: str = "auto") -> Any:
    """Encode x with RQM: integer level indices, coordinate-wise and independent.

    Definition: see the module docstring (level subsampling with keep probability q, then
    unbiased randomized rounding between the nearest kept levels); x is clamped to [−c, c]
    (ℓ∞ clipping) first.

    Privacy: for one scalar, exact RDP ε(α) = max_{x,x'∈[−c,c]} D_α(P_x ‖ P_x') (local DP,
    replace-one: any two inputs); a d-vector costs d·ε(α). The event is
    ``privacy_event(params, dimension=d)``. Not hardened against floating-point attacks.
    Youn, Hu, Ziani, Abernethy 2023 (arXiv:2306.11913).

    Args:
        params: an :class:`RQMParams`.
        x: number or array (a JAX array selects the JAX kernel under "auto").
        rng: None, an int seed, a numpy Generator or SecureGenerator (numpy / numba); a JAX
            PRNG key (``backend="jax"``). With a SecureGenerator (the hardened tier) "auto"
            and "numba" run the numpy reference, every draw from the OS CSPRNG, and "jax" is
            refused (docs/security.md).
        backend: "auto" (numba when installed, JAX for JAX arrays), "numpy" (the reference
            geometric-walk sampler), "numba" or "jax".

    Returns:
        Indices in {0..m−1} of dtype ``params.index_dtype`` (uint8 for m ≤ 256, else uint16),
        x's shape; a JAX array for the JAX backend.

    Raises:
        DPKitError: bad params, rng or backend; NaN/inf in x (the message names the
            positions; NaN is never clamped).

    >>> p = RQMParams(clip=1.0, extension=1.0, num_levels=16, keep_prob=0.5)
    >>> idx = quantize(p, np.zeros(200_000), rng=0, backend="numpy")
    >>> abs(float(decode(p, idx).mean())) < 0.01   # unbiased
    True
    """
    p = _check_params(params)
    which = route_backend(backend, x, rng)
    if which == "jax":
        from ._jax import quantize_jax

        return quantize_jax(p, x, rng)
    if which == "numba":
        from ._numba import quantize_numba

        arr = np.asarray(x)
        if arr.dtype.kind not in "fiu":  # the kernel itself refuses NaN/inf (with positions)
            arr = _input(x)
        return quantize_numba(p, arr, as_generator(rng))
    return quantize_reference(p, x, rng, sampler="walk")


# ================================================================ server side
def decode(params: RQMParams, indices: Any) -> np.ndarray:
    """Level values B_k = −R + k·s of integer indices (float64, the indices' shape).

    Raises:
        DPKitError: bad params, non-integer indices or indices outside {0..m−1}.
    """
    p = _check_params(params)
    k = _indices(p, indices)
    r = p.half_width
    out = -r + p.spacing * k.astype(np.float64)
    return np.where(k == p.num_levels - 1, r, out)  # B_{m−1} = R exactly


def _indices(p: RQMParams, indices: Any) -> np.ndarray:
    k = np.asarray(indices)
    if k.dtype.kind == "f":
        k = V.finite_array(indices=k)
        if (k != np.floor(k)).any():
            raise DPKitError("indices must be integers")
        k = k.astype(np.int64)
    elif k.dtype.kind not in "iub":
        raise DPKitError(f"indices must be an integer array, got dtype {k.dtype}")
    k = k.astype(np.int64)
    bad = (k < 0) | (k >= p.num_levels)
    if bad.any():
        raise DPKitError(f"indices must be in [0, {p.num_levels - 1}]; "
                         f"{int(bad.sum())} out of range")
    return k


def aggregate_sums(params: RQMParams, sums: Any, count: int) -> np.ndarray:
    """Unbiased mean from the integer sum S of ``count`` clients' indices (secure aggregation).

    mean = −R + s·S/n, which equals (1/n) Σ_i B_{z_i}; unbiased for (1/n) Σ_i x_i. A modulus of
    at least n(m − 1) + 1 avoids wrap-around in secure aggregation. Post-processing: no
    privacy cost.
    """
    p = _check_params(params)
    n = V.integer(minimum=1, count=count)
    s = np.asarray(sums)
    if s.dtype.kind not in "iu":
        raise DPKitError(f"sums must be an integer array, got dtype {s.dtype}")
    s = s.astype(np.int64)
    if ((s < 0) | (s > n * (p.num_levels - 1))).any():
        raise DPKitError(f"sums must be in [0, count*(num_levels-1)] = [0, "
                         f"{n * (p.num_levels - 1)}]")
    return -p.half_width + p.spacing * (s.astype(np.float64) / n)


def aggregate(params: RQMParams, indices: Any) -> np.ndarray:
    """Unbiased mean of n clients' encodings: indices of shape (n, ...) → mean of shape (...).

    The indices are summed exactly in int64 (compatible with secure aggregation), then decoded
    once: −R + s·S/n (spec §6). Post-processing: no privacy cost.

    >>> p = RQMParams(1.0, 1.0, 4, 0.5)
    >>> aggregate(p, np.array([[0, 3], [3, 3]])).tolist()
    [0.0, 2.0]
    """
    p = _check_params(params)
    k = _indices(p, indices)
    if k.ndim == 0:
        raise DPKitError("indices must have a leading client axis, got a scalar")
    total = k.sum(axis=0, dtype=np.int64)
    return aggregate_sums(p, total, k.shape[0])


# ================================================================ closed-form pmf
def _geometric_sums(m: int, q: float, a: np.ndarray, e_cap: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """A0 = Σ_e w_e/(e + a) and A1 = Σ_e w_e·e/(e + a) for the truncated geometric law
    w_e = q(1−q)^e (e < E), w_E = (1−q)^E of min(Geometric(q), E), at each request (a, E).

    Both are sums of positive terms (no cancellation). The geometric part is read from the
    prefix sums Φ[a, E] = Σ_{e<E} r^e/(e + a), Ψ[a, E] = Σ_{e<E} r^e·e/(e + a) (r = 1 − q),
    built in row blocks over a (at most ``_CHUNK`` elements at a time) and shared by every
    request: O(m²) time for any number of requests, O(_CHUNK + requests) memory. Columns stop
    where r^e underflows to 0 (the later terms are exactly 0 in float64).
    """
    l1q = math.log1p(-q)
    af = a.ravel()
    ef = e_cap.ravel()
    with np.errstate(under="ignore"):
        r_end = np.exp(ef * l1q)  # (1 − q)^E, the end atom
    a0 = r_end / (ef + af)
    a1 = r_end * ef / (ef + af)
    if q > 0.0 and m > 2:
        ncol = m - 2  # terms e = 0..m−3 (E ≤ m − 2)
        with np.errstate(under="ignore"):
            re = np.exp(np.arange(ncol) * l1q)
        nz = int(np.count_nonzero(re))  # r^e is decreasing: zeros form a tail
        re = re[:nz]
        e = np.arange(nz, dtype=float)
        col = np.minimum(ef, nz)  # Σ_{e<E} = Σ_{e<min(E, nz)}: the rest are exact zeros
        phi = np.empty(af.size)
        psi = np.empty(af.size)
        order = np.argsort(af, kind="stable")
        a_sorted = af[order]
        a_lo = int(a_sorted[0]) if af.size else 1
        a_hi = int(a_sorted[-1]) if af.size else 0
        rows = max(1, min(_CHUNK // max(nz, 1), a_hi - a_lo + 1))
        for b0 in range(a_lo, a_hi + 1, rows):
            s0, s1 = np.searchsorted(a_sorted, [b0, b0 + rows])
            if s0 == s1:
                continue
            idx = order[s0:s1]
            aa = np.arange(b0, b0 + rows, dtype=float)[:, None]
            terms = re / (e + aa)
            cum_phi = np.zeros((rows, nz + 1))
            np.cumsum(terms, axis=1, out=cum_phi[:, 1:])
            terms *= e
            cum_psi = np.zeros((rows, nz + 1))
            np.cumsum(terms, axis=1, out=cum_psi[:, 1:])
            ri = (af[idx] - b0).astype(np.int64)
            ci = col[idx].astype(np.int64)
            phi[idx] = cum_phi[ri, ci]
            psi[idx] = cum_psi[ri, ci]
        a0 = a0 + q * phi
        a1 = a1 + q * psi
    return a0.reshape(a.shape), a1.reshape(a.shape)


def _log_pmf_positions(m: int, q: float, t: np.ndarray) -> np.ndarray:
    """log p_x(k) for level positions t = (x + R)/s ∈ [0, m − 1], shape (n,) → (n, m).

    With j the cell of t and f = t − j: for k ≤ j, p(k) = P(L = k)·H(j + 1 − k; E = m − 2 − j,
    g = 1 − f) and for k ≥ j + 1, p(k) = P(U = k)·H(k − j; E = j, g = f), where
    H(a; E, g) = Σ_e w_e (e + g)/(e + a) = A1 + g·A0 over the truncated geometric gap law w
    (:func:`_geometric_sums`): the spec §3 sums Σ_u P(U=u)(u − t)/(u − k) and
    Σ_l P(L=l)(t − l)/(k − l) rewritten in gap units. P(L = k), P(U = k) are in log space
    (they underflow for large m), H is a sum of positive terms (no cancellation). Memory
    O(n·m) plus a bounded work block; time O(m²) shared by all n positions plus O(n·m).
    """
    n = t.size
    j = _cells(t, m)[:, None]
    f = t[:, None] - j
    k = np.arange(m)[None, :]
    l1q = math.log1p(-q)
    lq = math.log(q) if q > 0 else -math.inf
    down = k <= j
    log_lo = np.where(k == 0, j * l1q, lq + (j - k) * l1q)  # P(L = k), k ≤ j
    log_hi = np.where(k == m - 1, (m - 2 - j) * l1q, lq + (k - j - 1) * l1q)  # P(U = k)
    pre = np.where(down, log_lo, log_hi)
    a = np.where(down, j + 1 - k, k - j)
    e_cap = np.where(down, m - 2 - j, j)
    a0, a1 = _geometric_sums(m, q, a, e_cap)
    h = a1 + np.where(down, 1.0 - f, f) * a0
    with np.errstate(divide="ignore"):
        return (pre + np.log(h)).reshape(n, m)


def log_pmf(params: RQMParams, x: Any) -> np.ndarray:
    """log p_x(k), the closed-form log pmf of the output index (spec §3), shape x.shape + (m,).

    Computed in log space, so it stays accurate where the probabilities underflow (large m,
    q close to 1). −inf marks an impossible index (only when q = 0). Cost: O(m²) time shared
    by all inputs (prefix sums over the gap law) plus O(m) per input, memory bounded by
    work blocks of ~2^22 elements plus the (n, m) result (m = 65536 works).
    """
    p = _check_params(params)
    arr = _input(x)
    t = _positions(arr.reshape(-1), p)
    m = p.num_levels
    step = max(1, _PMF_CHUNK // m)  # bounded work arrays whatever n and m
    out = np.empty((t.size, m))
    for a in range(0, t.size, step):
        out[a:a + step] = _log_pmf_positions(m, p.keep_prob, t[a:a + step])
    return out.reshape(arr.shape + (m,))


def pmf(params: RQMParams, x: Any) -> np.ndarray:
    """The output pmf p_x(k) = P[quantize(x) = k] in closed form (spec §3).

    With j the cell of x, L and U the nearest kept levels below / above:
    P(L = 0) = (1−q)^j, P(L = l) = q(1−q)^{j−l} (1 ≤ l ≤ j); P(U = m−1) = (1−q)^{m−2−j},
    P(U = u) = q(1−q)^{u−j−1} (j+1 ≤ u ≤ m−2); then
    p_x(k) = P(L=k) Σ_u P(U=u)(B_u − x)/(B_u − B_k) for k ≤ j and
    p_x(k) = P(U=k) Σ_l P(L=l)(x − B_l)/(B_k − B_l) for k ≥ j + 1.

    Args:
        params: an :class:`RQMParams`.
        x: number or array (clamped to [−c, c]; NaN/inf refused).

    Returns:
        Probabilities of shape x.shape + (m,), each row summing to 1.

    >>> p = RQMParams(1.0, 0.7, 6, 0.4)
    >>> np.round(pmf(p, 0.33), 4).tolist()
    [0.0748, 0.0637, 0.1478, 0.3962, 0.1499, 0.1676]
    """
    return np.exp(log_pmf(params, x))


def variance(params: RQMParams, x: Any) -> np.ndarray:
    """Var[B_out] = Σ_k p_x(k)(B_k − x)², the output variance at each x (clamped)."""
    p = _check_params(params)
    arr = np.clip(_input(x), -p.clip, p.clip)
    probs = pmf(p, arr)
    return np.sum(probs * (p.levels - arr[..., None]) ** 2, axis=-1)


# ================================================================ privacy (thin wrappers)
def epsilon(params: RQMParams, orders: Any = None) -> np.ndarray:
    """Exact per-coordinate RDP ε(α) of RQM at ``orders`` (default: the accountant's grid).

    ε(α) = max over x, x' ∈ [−c, c] of D_α(P_x ‖ P_x'), computed by the exact grid search of
    :func:`dpkit.mechanisms.rqm.privacy.rdp_curve` (α = ∞ gives the pure-DP ε). Local DP,
    replace-one relation.

    Raises:
        DPKitError: num_levels > 1024 (the grid search's limit), bad orders.
    """
    from .privacy import rdp_curve

    return rdp_curve(params, orders).values


def privacy_event(params: RQMParams, dimension: int = 1, *,
                  client_sample_rate: float | None = None,
                  unreviewed_amplification: bool = False) -> Any:
    """The privacy event of one RQM encoding of a ``dimension``-vector by one client.

    Privacy statement: an ``RDPCurve`` over the accountant's ``DEFAULT_ORDERS`` (α = ∞
    included) with values d·ε(α), ε(α) the exact per-coordinate Rényi divergence of the grid
    search (:func:`dpkit.mechanisms.rqm.privacy.rdp_curve`). Relation: ``replace_one`` (local
    DP: any two client inputs in [−c, c]^d). The d-fold composition is tight: the pair
    (c·1, −c·1) is worst in every coordinate at once. Compose rounds with
    ``Accountant().compose(event, count=K)`` (K = rounds the client takes part in).

    Client subsampling (optional, spec §5.3): with ``client_sample_rate=γ`` the curve is
    wrapped in ``PoissonSampled`` (Zhu & Wang 2019, Thm. 6). **Caveat**: that theorem is for
    add/remove adjacency while RQM's local guarantee is for replace-one; treating a client's
    absence as a replaced input needs an argument that has not been reviewed. It is therefore
    only available with ``unreviewed_amplification=True``, and the inner curve is then
    declared with no fixed relation.

    Args:
        params: an :class:`RQMParams`.
        dimension: d ≥ 1, the number of coordinates encoded.
        client_sample_rate: γ ∈ [0, 1] (needs ``unreviewed_amplification=True``), or None.
        unreviewed_amplification: acknowledge the caveat above.

    Raises:
        DPKitError: bad params or dimension (num_levels > 1024 is refused: the exact grid
            search costs O(m³) time); a sample rate without the acknowledgement.

    >>> ev = privacy_event(RQMParams(1.0, 1.0, 2, 0.0))
    >>> round(ev.epsilon_inf(), 6)       # m = 2: ln((2c + Δ)/Δ) = ln 3
    1.098612
    """
    from ...accounting.events import REPLACE_ONE, PoissonSampled, RDPCurve
    from .privacy import rdp_curve

    p = _check_params(params)
    d = V.integer(minimum=1, dimension=dimension)
    if not isinstance(unreviewed_amplification, (bool, np.bool_)):
        raise DPKitError(f"unreviewed_amplification must be True or False, got "
                         f"{unreviewed_amplification!r}")
    curve = rdp_curve(p)
    values = d * curve.values
    if client_sample_rate is None:
        if unreviewed_amplification:
            raise DPKitError("unreviewed_amplification=True needs a client_sample_rate")
        return RDPCurve(tuple(curve.orders), tuple(values), REPLACE_ONE)
    rate = V.probability(client_sample_rate=client_sample_rate)
    if not unreviewed_amplification:
        raise DPKitError(
            "client_sample_rate needs unreviewed_amplification=True: Poisson amplification is "
            "proved for add/remove adjacency, RQM's guarantee is replace-one (spec §5.3)")
    return PoissonSampled(RDPCurve(tuple(curve.orders), tuple(values), None), rate)


def calibrate(*, epsilon: float, clip: float, num_levels: int,
              keep_prob: float | None = None, extension: float | None = None,
              dimension: int = 1, delta: float | None = None,
              rounds: int = 1) -> RQMParams:
    """Find Δ (or q) so that one client's ``rounds`` RQM encodings are ε-DP (or (ε, δ)-DP).

    Give exactly one of ``keep_prob`` (then Δ is searched) and ``extension`` (then q is
    searched). The target is the pure ε = rounds·d·ε(∞) when ``delta`` is None, else the
    accountant's ε at δ of ``Repeated(privacy_event(params, d), rounds)``. The search is a
    bisection (ε is observed to decrease in Δ and increase in q, spec §4); the returned
    parameters are always re-checked to meet the target, so the guarantee does not rest on
    that monotonicity. The result's ε is within a relative 1e-6 of the target from below
    when the search converges.

    Raises:
        DPKitError: bad arguments (both or neither of keep_prob / extension given;
            num_levels outside [2, 1024]).
        InfeasibleTargetError: no Δ ≤ 1e6·c (resp. no q ≥ 0) reaches the target.

    >>> p = calibrate(epsilon=math.log(3), clip=1.0, num_levels=2, keep_prob=0.0)
    >>> round(p.extension, 4)            # m = 2: Δ = 2c/(e^ε − 1) = 1
    1.0
    """
    from .privacy import calibrate_params

    return calibrate_params(epsilon=epsilon, clip=clip, num_levels=num_levels,
                            keep_prob=keep_prob, extension=extension, dimension=dimension,
                            delta=delta, rounds=rounds)
