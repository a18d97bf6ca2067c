"""The counters' strategy matrices on plain numbers: coefficients, column norms, sensitivities.

Every counter releases ``y = A x + B z`` for a factorization ``A = B·C`` of the T×T prefix-sum
matrix A (see :mod:`.privacy` for the privacy statement built on these numbers). This module
holds the linear algebra of the strategy C that both the parameters (their noise scale) and the
privacy statement need: the binary tree's levels, the Toeplitz coefficients of A^{1/2}
(Fichtenberger, Henzinger, Upadhyay, ICML 2023) and of a BLT matrix (Dvijotham, McMahan,
Pillutla, Steinke, Thakurta 2024), their largest column norms, and the largest norm of a sum of
columns under a participation schema (Choquette-Choo et al., ICML 2023). It sits below
:mod:`.params` (which imports it), talks to no accountant and knows no params class: every
function takes plain numbers. The public names are re-exported by :mod:`.privacy` and the
package; the privacy statement itself is in :mod:`.privacy`.

>>> tree_levels(8), round(sqrt_column_norm_sq(4), 6)
(4, 1.488281)
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from ... import _validate as V
from ...errors import DPKitError
from .. import _dyadic

__all__ = [
    "MAX_HORIZON",
    "MAX_SQRT_HORIZON",
    "MAX_PARTICIPATIONS",
    "MAX_BUFFERS",
    "ParticipationSensitivity",
    "tree_levels",
    "sqrt_coefficients",
    "sqrt_column_norm_sq",
    "blt_coefficients",
    "blt_column_norm_sq",
    "blt_sqrt_parameters",
    "blt_inverse_parameters",
    "effective_participations",
    "toeplitz_pattern_norm_sq",
    "blt_pattern_norm_sq",
    "strategy_sensitivity",
    "l2_sensitivity",
    "l1_sensitivity",
]

#: Largest horizon accepted (tree, Honaker, BLT): 2^40 steps.
MAX_HORIZON = 2**40
#: Largest horizon·dimension of the square-root kind (it stores O(T·d) numbers).
MAX_SQRT_HORIZON = 2**25
#: Largest number of BLT buffers, and the default number.
MAX_BUFFERS = 64
DEFAULT_BUFFERS = 8


def _horizon(value: object, maximum: int = MAX_HORIZON, minimum: int = 1) -> int:
    return V.integer(minimum=minimum, maximum=maximum, horizon=value)


def _blt_pair(theta: npt.ArrayLike, omega: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """BLT decays θ ∈ (0, 1) and scales ω > 0: finite, of the same length 1..64."""
    th = V.finite_array(theta=theta)
    om = V.finite_array(omega=omega)
    if th.ndim != 1 or om.ndim != 1 or th.size == 0 or th.size > MAX_BUFFERS \
            or th.size != om.size:
        raise DPKitError(f"theta and omega must be 1-D of the same length in 1..{MAX_BUFFERS}, "
                         f"got shapes {th.shape} and {om.shape}")
    if np.any(th <= 0) or np.any(th >= 1):
        raise DPKitError(f"theta must lie in (0, 1), got {th.tolist()}")
    if np.any(om <= 0):
        raise DPKitError(f"omega must be > 0, got {om.tolist()}")
    return th, om



def tree_levels(horizon: int) -> int:
    """L = ⌊log2 T⌋ + 1: the number of tree heights with a node that completes by step T.

    An item at step j lies in one node per height; the node of height h completes at a step
    ≤ T only if 2^h ≤ T, so at most L released nodes contain it, and the first item lies in
    exactly L of them (nodes (h, 1) for 2^h ≤ T).

    Raises:
        DPKitError: horizon not an integer in [1, 2^40].
    """
    return _dyadic.levels(_horizon(horizon))


@lru_cache(maxsize=8)
def _sqrt_coefficients_cached(n: int) -> np.ndarray:
    k = np.arange(1, n, dtype=np.float64)
    ratios = (2.0 * k - 1.0) / (2.0 * k)
    out = np.empty(n, dtype=np.float64)
    if n:
        out[0] = 1.0
        out[1:] = np.cumprod(ratios)
    out.setflags(write=False)
    return out


def sqrt_coefficients(n: int) -> np.ndarray:
    """The first n Toeplitz coefficients of A^{1/2}: c_0 = 1, c_k = c_{k−1}(2k−1)/(2k).

    These are the power-series coefficients of (1 − z)^{−1/2}, ``c_k = binom(2k, k)/4^k``
    (Fichtenberger, Henzinger, Upadhyay, ICML 2023). Returned read-only; cached. n = 0 gives
    an empty array (the run of an empty stream).

    Raises:
        DPKitError: n not an integer in [0, 2^25].
    """
    return _sqrt_coefficients_cached(V.integer(minimum=0, maximum=MAX_SQRT_HORIZON, n=n))


@lru_cache(maxsize=8)
def _sqrt_cumsq(n: int) -> np.ndarray:
    c = sqrt_coefficients(n)
    out = np.cumsum(c * c)
    out.setflags(write=False)
    return out


def sqrt_column_norm_sq(horizon: int) -> float:
    """G(T) = Σ_{k<T} c_k²: the largest squared column (and row) norm of A^{1/2} (T × T).

    Raises:
        DPKitError: horizon not an integer in [1, 2^25].
    """
    return float(_sqrt_cumsq(_horizon(horizon, MAX_SQRT_HORIZON))[-1])


def blt_coefficients(theta: npt.ArrayLike, omega: npt.ArrayLike, n: int) -> np.ndarray:
    """The first n Toeplitz coefficients of the BLT matrix: c_0 = 1, c_k = Σ_i ω_i θ_i^{k−1}.

    Raises:
        DPKitError: θ not in (0, 1), ω not > 0, lengths not equal in 1..64, or n not an
            integer in [0, 2^25].
    """
    th, om = _blt_pair(theta, omega)
    n = V.integer(minimum=0, maximum=MAX_SQRT_HORIZON, n=n)
    out = np.ones(n, dtype=np.float64)
    if n > 1:
        powers = th[None, :] ** np.arange(n - 1, dtype=np.float64)[:, None]
        out[1:] = powers @ om
    return out


def blt_column_norm_sq(theta: npt.ArrayLike, omega: npt.ArrayLike, horizon: int) -> float:
    """‖C[:,0]‖² = 1 + Σ_{i,j} ω_iω_j (1 − (θ_iθ_j)^{T−1})/(1 − θ_iθ_j), in closed form.

    The first column of a lower-triangular Toeplitz matrix is its longest, so this is the
    largest squared column norm (Dvijotham et al. 2024). O(b²) for any T.

    Raises:
        DPKitError: θ not in (0, 1), ω not > 0, lengths not equal in 1..64, or the horizon
            not an integer in [1, 2^40].
    """
    th, om = _blt_pair(theta, omega)
    horizon = _horizon(horizon)
    q = np.outer(th, th)
    # (1 − q^{T−1})/(1 − q) computed as −expm1((T−1) log q)/(−expm1(log q)) (no cancellation)
    lq = np.log(q)
    geo = np.expm1((horizon - 1) * lq) / np.expm1(lq)
    return float(1.0 + om @ geo @ om)



# ================================================================ multiple participations
#: Largest number of participations accepted (the sensitivity computations are O(κ) or more).
MAX_PARTICIPATIONS = 2**20
#: Work budget (elementary (max, +) operations) of the exact tree dynamic program.
TREE_DP_BUDGET = 3 * 10**8


class ParticipationSensitivity(NamedTuple):
    """The sensitivity of a counter's strategy C under a participation schema (per unit Δ).

    Attributes:
        l2_sq: max over feasible patterns P of ‖Σ_{j∈P} C[:, j]‖₂² (Gaussian noise).
        l1: max over feasible patterns P of ‖Σ_{j∈P} C[:, j]‖₁ (Laplace noise; tree kinds).
        participations: κ_eff = min(κ, ⌊(T−1)/s⌋ + 1), the most appearances that fit in T.
        exact: True when l2_sq and l1 are the exact maxima; False when a sound upper bound
            was used (tree kinds beyond the dynamic program's work budget).
        method: "single" (κ_eff = 1), "earliest" (Toeplitz, the pattern {1, 1+s, …}),
            "tree-dp" (exact dynamic program), "tree-dp-relaxed" (the same program with a
            smaller separation: an upper bound) or "cap-bound" (per-height cap bound).
    """

    l2_sq: float
    l1: float
    participations: int
    exact: bool
    method: str


def effective_participations(horizon: int, participations: int, min_separation: int) -> int:
    """κ_eff = min(κ, ⌊(T−1)/s⌋ + 1): at most this many steps ≥ s apart fit in 1..T.

    Raises:
        DPKitError: an argument that is not an integer ≥ 1 (horizon and separation ≤ 2^40,
            participations ≤ 2^20).
    """
    T = _horizon(horizon)
    k = V.integer(minimum=1, maximum=MAX_PARTICIPATIONS, participations=participations)
    s = V.integer(minimum=1, maximum=MAX_HORIZON, min_separation=min_separation)
    return int(min(k, (T - 1) // s + 1))


def toeplitz_pattern_norm_sq(coeffs: npt.ArrayLike, horizon: int, participations: int,
                             min_separation: int) -> float:
    """‖Σ_{p<m} C[:, 1+p·s]‖² for the T×T lower-triangular Toeplitz C with first column c.

    This is the earliest pattern {1, 1+s, …, 1+(m−1)s}, m = κ_eff. Row i = q·s + r (0-based)
    of the sum is Σ_{p ≤ min(q, m−1)} c_{(q−p)s + r}: a window of m consecutive entries of
    the residue-r subsequence of c, read off cumulative sums. O(T).
    """
    m = effective_participations(horizon, participations, min_separation)
    T, s = _horizon(horizon), V.integer(minimum=1, min_separation=min_separation)
    c = V.finite_array(coeffs=coeffs)
    if c.ndim != 1 or c.size < T:
        raise DPKitError(f"coeffs must be 1-D with at least horizon={T} entries, "
                         f"got shape {c.shape}")
    c = c[:T]
    q = -(-T // s)
    pad = np.zeros(q * s, dtype=np.float64)
    pad[:T] = c
    cs = np.cumsum(pad.reshape(q, s), axis=0)
    v = cs.copy()
    if m < q:
        v[m:] -= cs[:-m]
    v = v.reshape(-1)[:T]
    return float(v @ v)


def _geo(lq: np.ndarray, n: float | np.ndarray) -> np.ndarray:
    """Σ_{r<n} e^{r·lq} = (1 − e^{n·lq})/(1 − e^{lq}), without cancellation (lq < 0)."""
    return np.expm1(np.multiply.outer(n, lq)) / np.expm1(lq)


def blt_pattern_norm_sq(theta: npt.ArrayLike, omega: npt.ArrayLike, horizon: int,
                        participations: int, min_separation: int) -> float:
    """The BLT's earliest-pattern norm ‖Σ_{p<m} C[:, 1+p·s]‖² in closed form, O(m·b²).

    Rows of period P (0-based rows P·s + r; the last period runs to row T−1) carry, for
    r ≥ 1, ``Σ_l γ_{P,l} θ_l^{r−1}`` with ``γ_{P,l} = ω_l(1 + Σ_{q=1}^{P} θ_l^{qs})``, and at
    r = 0 the value ``1 + Σ_l ω_l Σ_{q=1}^{P} θ_l^{qs−1}``; the squares sum to geometric
    series in θ_lθ_l'. (Our derivation from c_0 = 1, c_k = Σ_l ω_l θ_l^{k−1}.)
    """
    m = effective_participations(horizon, participations, min_separation)
    T, s = _horizon(horizon), V.integer(minimum=1, min_separation=min_separation)
    th, om = _blt_pair(theta, omega)
    lt = np.log(th)
    lq = np.add.outer(lt, lt)  # log(θ_l θ_l')
    per = np.arange(m, dtype=np.float64)
    # Σ_{q=1}^{P} θ^{qs} = θ^s·(1 − θ^{Ps})/(1 − θ^s), and the same times θ^{−1}
    ratio = np.expm1(np.multiply.outer(per * s, lt)) / np.expm1(s * lt)  # (m, b)
    a_sum = np.exp(s * lt) * ratio
    a_sum_over_theta = np.exp((s - 1) * lt) * ratio
    gamma = om * (1.0 + a_sum)  # (m, b)
    v0 = 1.0 + a_sum_over_theta @ om  # (m,)
    rows = np.full(m, float(s))
    rows[-1] = T - (m - 1) * s
    total = float(v0 @ v0)
    if m > 1:
        geo_full = _geo(lq, s - 1.0)  # Σ_{r=1}^{s−1} (θθ')^{r−1}
        total += float(np.sum((gamma[:-1].T @ gamma[:-1]) * geo_full))
    geo_last = _geo(lq, rows[-1] - 1.0)
    total += float(gamma[-1] @ geo_last @ gamma[-1])
    return total


def _tree_released(h: int, k: int, horizon: int, all_nodes: bool) -> bool:
    return (k << h) <= horizon and (all_nodes or k % 2 == 1)


def _tree_dp_cost(horizon: int, kappa: int, s_true: int, sep: int) -> float:
    """Elementary (max, +) operations of :func:`_tree_dp` (two combines per height)."""
    cost = 0.0
    height = _dyadic.ceil_log2(horizon)
    for h in range(1, height + 1):
        child = min(kappa, ((1 << (h - 1)) - 1) // s_true + 1)
        width = min(sep, 1 << (h - 1))
        cost += 2.0 * child * child * float(width) ** 3
    return cost


def _closure(tab: np.ndarray) -> np.ndarray:
    """tab[m, a, b] <- max over a' >= a, b' >= b (patterns with at least that much room)."""
    out = np.maximum.accumulate(tab[:, ::-1, :], axis=1)[:, ::-1, :]
    return np.maximum.accumulate(out[:, :, ::-1], axis=2)[:, :, ::-1]


def _tree_combine(left: np.ndarray | None, right: np.ndarray | None, child: int, cap: int,
                  sep: int) -> np.ndarray | None:
    """Table of a block from its two children's tables (own node term not added).

    A table ``tab[m, a, b]`` (m ≥ 1 points; index 0 unused) of a block of size 2^h has width
    w = min(sep, 2^h): the best value of the nodes inside the block over patterns of m points
    whose first point is ≥ a steps after the block start and whose last point is ≥ b steps
    before its end (offsets clamped at sep − 1). ``None`` is an empty block (beyond the
    horizon). Points in different children are ≥ sep apart: ``b_left + a_right ≥ sep − 1``.
    """
    if left is None and right is None:
        return None
    top = sep - 1
    wc = min(sep, child)
    wp = min(sep, 2 * child)
    ml = 0 if left is None else left.shape[0] - 1
    mr = 0 if right is None else right.shape[0] - 1
    mmax = min(cap, ml + mr)
    out = np.full((mmax + 1, wp, wp), -np.inf)
    if left is not None:  # all points in the left child: the right child is gap
        k = min(ml, mmax)
        for b in range(wc):
            nb = min(b + child, top)
            np.maximum(out[1:k + 1, :wc, nb], left[1:k + 1, :, b], out=out[1:k + 1, :wc, nb])
    if right is not None:
        k = min(mr, mmax)
        for a in range(wc):
            na = min(a + child, top)
            np.maximum(out[1:k + 1, na, :wc], right[1:k + 1, a, :], out=out[1:k + 1, na, :wc])
    if left is not None and right is not None:
        # sel[m2, b1, b2] = right[m2, a2 = max(0, sep−1−b1), b2] (closure: first offset ≥ a2)
        need = np.maximum(0, top - np.arange(wc))
        sel = right[:, np.minimum(need, wc - 1), :].copy()
        sel[:, need > wc - 1, :] = -np.inf
        for m1 in range(1, ml + 1):
            k = min(mr, mmax - m1)
            if k < 1:
                break
            lm = left[m1]
            if not np.any(np.isfinite(lm)):
                continue
            vals = np.full((k, wc, wc), -np.inf)
            for b1 in range(wc):  # max over b1 of left[m1, a1, b1] + sel[m2, b1, b2]
                np.maximum(vals, lm[None, :, b1, None] + sel[1:k + 1, b1, None, :], out=vals)
            tgt = out[m1 + 1:m1 + k + 1, :wc, :wc]
            np.maximum(tgt, vals, out=tgt)
    return _closure(out)


def _with_own(tab: np.ndarray | None, released: bool, power: int) -> np.ndarray | None:
    if tab is None or not released:
        return tab
    m = np.arange(tab.shape[0], dtype=np.float64)
    return tab + (m**power)[:, None, None]


def _tree_dp(horizon: int, kappa: int, s_true: int, sep: int, all_nodes: bool,
             power: int) -> float:
    """Max over patterns (gaps ≥ sep, ≤ kappa points, per-block caps from s_true) of
    Σ_{released nodes} (points in the node)^power: a hierarchical dynamic program over the
    dyadic blocks, one table per height for the full blocks plus one per partial block.
    Exact for sep = s_true; an upper bound (a relaxation) for sep < s_true."""
    T = int(horizon)
    height = _dyadic.ceil_log2(T)
    full: dict[int, np.ndarray] = {}

    def cap(size: int) -> int:
        return min(kappa, (size - 1) // s_true + 1)

    def full_table(h: int) -> np.ndarray:
        if h not in full:
            if h == 0:
                tab = np.full((2, 1, 1), -np.inf)
                tab[1, 0, 0] = 0.0
                full[0] = tab
            else:
                below = full_table(h - 1)
                left = _with_own(below, True, power)  # left children have odd index
                right = _with_own(below, all_nodes, power)
                res = _tree_combine(left, right, 1 << (h - 1), cap(1 << h), sep)
                assert res is not None
                full[h] = res
        return full[h]

    def table(h: int, k: int) -> np.ndarray | None:
        start = (k - 1) << h
        if start >= T:
            return None
        if (k << h) <= T:
            return _with_own(full_table(h), _tree_released(h, k, T, all_nodes), power)
        left = table(h - 1, 2 * k - 1)
        right = table(h - 1, 2 * k)
        return _tree_combine(left, right, 1 << (h - 1), cap(T - start), sep)

    root = table(height, 1)
    assert root is not None
    return float(np.max(root[1:, 0, 0]))


def _tree_cap_bound(horizon: int, kappa: int, s: int, all_nodes: bool, power: int) -> float:
    """Σ over heights with a released node of κ·cap_h (power 2) or κ (power 1): a sound bound,
    since Σ_B m_B² ≤ (max_B m_B)·Σ_B m_B and a height-h block holds ≤ ⌊(2^h−1)/s⌋+1 points."""
    T = int(horizon)
    total = 0.0
    for h in range(_dyadic.levels(T)):
        if not any(_tree_released(h, k, T, all_nodes) for k in (1, 2)):
            continue
        capped = min(kappa, (min(1 << h, T) - 1) // s + 1)
        total += kappa * (capped if power == 2 else 1)
    return total


@lru_cache(maxsize=64)
def _participation_sensitivity(kind: str, horizon: int, participations: int,
                               min_separation: int, theta: tuple[float, ...] | None,
                               omega: tuple[float, ...] | None) -> ParticipationSensitivity:
    T, s = int(horizon), int(min_separation)
    m = effective_participations(T, participations, s)
    if kind in ("tree", "honaker"):
        levels = tree_levels(T)
        if m == 1:
            return ParticipationSensitivity(float(levels), float(levels), 1, True, "single")
        all_nodes = kind == "honaker"
        sep = s
        if _tree_dp_cost(T, m, s, s) > TREE_DP_BUDGET:  # largest separation within budget
            lo, hi = 1, s
            while lo < hi:
                mid = (lo + hi + 1) // 2
                lo, hi = (mid, hi) if _tree_dp_cost(T, m, s, mid) <= TREE_DP_BUDGET else (
                    lo, mid - 1)
            sep = lo
        if _tree_dp_cost(T, m, s, sep) > TREE_DP_BUDGET:
            return ParticipationSensitivity(_tree_cap_bound(T, m, s, all_nodes, 2),
                                            _tree_cap_bound(T, m, s, all_nodes, 1), m, False,
                                            "cap-bound")
        l2 = _tree_dp(T, m, s, sep, all_nodes, 2)
        l1 = _tree_dp(T, m, s, sep, all_nodes, 1)
        exact = sep == s
        return ParticipationSensitivity(l2, l1, m, exact,
                                        "tree-dp" if exact else "tree-dp-relaxed")
    if kind == "sqrt":
        if m == 1:
            return ParticipationSensitivity(sqrt_column_norm_sq(T), math.nan, 1, True, "single")
        return ParticipationSensitivity(
            toeplitz_pattern_norm_sq(sqrt_coefficients(T), T, m, s), math.nan, m, True,
            "earliest")
    assert theta is not None and omega is not None  # kind "blt" carries its parameters
    if m == 1:
        return ParticipationSensitivity(blt_column_norm_sq(theta, omega, T), math.nan, 1, True,
                                        "single")
    return ParticipationSensitivity(blt_pattern_norm_sq(theta, omega, T, m, s), math.nan, m,
                                    True, "earliest")


# ================================================================ BLT parameters
def blt_sqrt_parameters(horizon: int, buffers: int = DEFAULT_BUFFERS) -> tuple[
        tuple[float, ...], tuple[float, ...]]:
    """BLT decays θ and scales ω whose Toeplitz coefficients approximate those of A^{1/2}.

    Derivation (ours): for k ≥ 1 the square-root coefficients are moments of a Beta weight,
    ``c_k = (1/π) ∫_0^1 u^{k−1} u^{1/2}(1−u)^{−1/2} du``. Substituting ``u = e^{−s}``,
    ``s = e^v`` gives a smooth, doubly-exponentially decaying integrand on the real v line,
    which the trapezoid rule integrates accurately; each node v_j becomes one buffer with
    ``θ_j = exp(−e^{v_j})`` and ``ω_j = (h/π)·s_j e^{−3s_j/2}(1 − e^{−s_j})^{−1/2}``. The nodes
    span v ∈ [−ln T − 3, 2.5] so the slowest decay covers the whole horizon. The result is a
    valid strategy for any (θ, ω): privacy is computed from its exact column norm, and the
    approximation only affects the error (within 0.2 % of the square root's max-error factor
    at T = 4096 with 8 buffers, measured).

    Args:
        horizon: T ≥ 1.
        buffers: b, 1..64.

    Returns:
        (θ, ω) as tuples of floats, θ_i ∈ (0, 1), ω_i > 0.
    """
    T = V.integer(minimum=1, maximum=MAX_HORIZON, horizon=horizon)
    b = V.integer(minimum=1, maximum=MAX_BUFFERS, buffers=buffers)
    v_lo, v_hi = -math.log(max(T, 2)) - 3.0, 2.5
    if b == 1:
        v = np.array([0.5 * (v_lo + v_hi)])
        h = v_hi - v_lo
    else:
        v = np.linspace(v_lo, v_hi, b)
        h = float(v[1] - v[0])
    s = np.exp(v)
    theta = np.exp(-s)
    omega = (h / math.pi) * s * np.exp(-1.5 * s) / np.sqrt(-np.expm1(-s))
    return tuple(float(t) for t in theta), tuple(float(w) for w in omega)


def blt_inverse_parameters(theta: npt.ArrayLike,
                           omega: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Decays λ and scales α of C^{−1} for the BLT C(θ, ω): (C^{−1})_k = Σ_i α_i λ_i^{k−1}.

    The inverse recursion ``ζ_t = z_t − ωᵀbuf``, ``buf ← θ∘buf + ζ_t·1`` has state matrix
    ``M = diag(θ) − 1ωᵀ``; its impulse response is ``d_0 = 1``, ``d_k = −ωᵀ M^{k−1} 1``, so
    with ``M = V diag(λ) V^{−1}``: ``α = −(ωᵀV) ∘ (V^{−1}1)``. (That C^{−1} is again a BLT is
    McMahan & Pillutla's inversion theorem; this eigen-decomposition recipe is ours.) Complex
    conjugate pairs are kept complex; sums over them are real.

    Raises:
        DPKitError: θ not in (0, 1), ω not > 0, or lengths not equal in 1..64.
    """
    th, om = _blt_pair(theta, omega)
    m = np.diag(th) - np.outer(np.ones_like(th), om)
    lam, vec = np.linalg.eig(m)
    alpha = -(om @ vec) * np.linalg.solve(vec, np.ones_like(th))
    return lam.astype(np.complex128), alpha.astype(np.complex128)


def strategy_sensitivity(kind: str, horizon: int, participations: int, min_separation: int,
                         theta: tuple[float, ...] | None = None,
                         omega: tuple[float, ...] | None = None) -> ParticipationSensitivity:
    """The sensitivity of a counter's strategy C under a participation schema (per unit Δ).

    Plain-number form of :func:`.privacy.participation_sensitivity` (which documents the
    method); ``theta``/``omega`` are the BLT parameters (kind "blt" only). Cached.
    """
    th = None if theta is None else tuple(float(t) for t in theta)
    om = None if omega is None else tuple(float(w) for w in omega)
    return _participation_sensitivity(kind, int(horizon), int(participations),
                                      int(min_separation), th, om)


def l2_sensitivity(kind: str, horizon: int, participations: int, min_separation: int,
                   theta: tuple[float, ...] | None = None,
                   omega: tuple[float, ...] | None = None) -> float:
    """The ℓ2 sensitivity of the strategy per unit Δ: max_j ‖C[:, j]‖₂ at one participation
    (√L tree kinds, √G(T) sqrt, the closed-form BLT column norm), else
    √(max_P ‖Σ_{j∈P} C[:, j]‖₂²) (:func:`strategy_sensitivity`)."""
    if effective_participations(horizon, participations, min_separation) > 1:
        return math.sqrt(strategy_sensitivity(kind, horizon, participations, min_separation,
                                              theta, omega).l2_sq)
    if kind in ("tree", "honaker"):
        return math.sqrt(tree_levels(horizon))
    if kind == "sqrt":
        return math.sqrt(sqrt_column_norm_sq(horizon))
    assert theta is not None and omega is not None  # a validated "blt" carries both
    return math.sqrt(blt_column_norm_sq(theta, omega, horizon))


def l1_sensitivity(kind: str, horizon: int, participations: int, min_separation: int) -> float:
    """The ℓ1 sensitivity of the tree strategy per unit Δ (Laplace noise): L at one
    participation, else max_P Σ_{j∈P} (number of released nodes containing step j).

    Raises:
        DPKitError: a kind other than "tree" or "honaker".
    """
    if kind not in ("tree", "honaker"):
        raise DPKitError(f"the l1 sensitivity is defined for kind 'tree' or 'honaker', got "
                         f"kind={kind!r}")
    if effective_participations(horizon, participations, min_separation) > 1:
        return strategy_sensitivity(kind, horizon, participations, min_separation).l1
    return float(tree_levels(horizon))
