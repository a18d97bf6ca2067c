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

Multiple participations (spec §3.5; :func:`participation_sensitivity`): when one user
contributes at up to κ steps, pairwise at least s apart, the sensitivity is the largest norm of
``Σ_{j∈P} C[:, j]`` over such step sets P (Denisov et al. 2022; Choquette-Choo et al., "Multi-
Epoch Matrix Factorization Mechanisms for Private Machine Learning", ICML 2023).

With per-coordinate Gaussian noise of standard deviation ``σ·Δ`` (σ = ``noise_multiplier``) the
release is ρ-zCDP with ``ρ = sens_factor²/(2σ²)``, i.e. the accountant event
``Gaussian(σ / sens_factor)`` where ``sens_factor = max_j ‖C[:, j]‖₂``. With Laplace noise of
scale b per node (tree kinds only) it is ε-DP with ``ε = L·Δ/b``; for a scalar stream the exact
RDP curve is that of L independent Laplace releases, ``Repeated(Laplace(b/Δ), L)``.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np

from ... import _validate as V
from ...accounting.events import Event, Gaussian, Laplace, PureDP, Repeated
from ...errors import DPKitError
from .. import _dyadic

__all__ = [
    "tree_levels",
    "sqrt_coefficients",
    "sqrt_column_norm_sq",
    "blt_coefficients",
    "blt_column_norm_sq",
    "sensitivity_factor",
    "l1_sensitivity_factor",
    "privacy_event",
    "MAX_PARTICIPATIONS",
    "ParticipationSensitivity",
    "effective_participations",
    "participation_sensitivity",
    "toeplitz_pattern_norm_sq",
    "blt_pattern_norm_sq",
    "MAX_HORIZON",
    "MAX_SQRT_HORIZON",
]

#: Largest horizon accepted (tree, Honaker, BLT): 2^40 steps.
MAX_HORIZON = 2**40
#: Largest horizon·dimension of the square-root kind (it stores O(T·d) numbers).
MAX_SQRT_HORIZON = 2**25
_MAX_BUFFERS = 64


def _horizon(value: Any, maximum: int = MAX_HORIZON, minimum: int = 1) -> int:
    return V.integer(minimum=minimum, maximum=maximum, horizon=value)


def _blt_pair(theta: Any, omega: Any) -> tuple[np.ndarray, np.ndarray]:
    """BLT decays θ ∈ (0, 1) and scales ω > 0: finite, of the same length 1..64."""
    th = V.finite_array(theta=theta)
    om = V.finite_array(omega=omega)
    if th.ndim != 1 or om.ndim != 1 or th.size == 0 or th.size > _MAX_BUFFERS \
            or th.size != om.size:
        raise DPKitError(f"theta and omega must be 1-D of the same length in 1..{_MAX_BUFFERS}, "
                         f"got shapes {th.shape} and {om.shape}")
    if np.any(th <= 0) or np.any(th >= 1):
        raise DPKitError(f"theta must lie in (0, 1), got {th.tolist()}")
    if np.any(om <= 0):
        raise DPKitError(f"omega must be > 0, got {om.tolist()}")
    return th, om


def _counter(params: Any) -> Any:
    from . import CounterParams  # the package imports this module: resolve at call time

    if not isinstance(params, CounterParams):
        raise DPKitError(f"params must be a CounterParams, got {type(params).__name__}")
    return params


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


def blt_coefficients(theta: Any, omega: Any, n: int) -> np.ndarray:
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


def blt_column_norm_sq(theta: Any, omega: Any, horizon: int) -> float:
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


def toeplitz_pattern_norm_sq(coeffs: Any, horizon: int, participations: int,
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


def _geo(lq: np.ndarray, n: Any) -> np.ndarray:
    """Σ_{r<n} e^{r·lq} = (1 − e^{n·lq})/(1 − e^{lq}), without cancellation (lq < 0)."""
    return np.expm1(np.multiply.outer(n, lq)) / np.expm1(lq)


def blt_pattern_norm_sq(theta: Any, omega: Any, horizon: int, participations: int,
                        min_separation: int) -> float:
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
    if m == 1:
        return ParticipationSensitivity(blt_column_norm_sq(theta, omega, T), math.nan, 1, True,
                                        "single")
    return ParticipationSensitivity(blt_pattern_norm_sq(theta, omega, T, m, s), math.nan, m,
                                    True, "earliest")


def participation_sensitivity(params: Any) -> ParticipationSensitivity:
    """The strategy's sensitivity under the params' participation schema (per unit Δ).

    Schema (spec §3.5): one user contributes the items of at most κ = ``participations``
    steps, any two of them at least s = ``min_separation`` steps apart; each contributed item
    changes by at most Δ. The released query is ``Cx``, so the change is ``Σ_{j∈P} C[:, j]d_j``
    with ‖d_j‖ ≤ Δ. Every strategy here has C ≥ 0 entrywise, hence CᵀC ≥ 0, and the worst
    d_j are all equal (then ``‖Σ_j C[:,j] d_jᵀ‖² ≤ Σ_{j,k} (CᵀC)_{jk}‖d_j‖‖d_k‖ ≤ Δ²·1ᵀ(CᵀC)_P 1``,
    attained), and adding a participation never lowers the norm: the answer is the max over
    patterns P of κ_eff steps of ``1ᵀ(CᵀC)_P 1`` (ℓ2²) and of ``Σ_{j∈P} ‖C[:, j]‖₁`` (ℓ1).

    * sqrt, BLT (Toeplitz, c_k ≥ 0 and c_1 ≥ c_2 ≥ …): the earliest pattern {1, 1+s, …} is a
      maximizer. Proof: moving a suffix of the pattern one step earlier when its first gap is
      > s never lowers the norm (the moved part keeps its norm or gains its truncated tail, and
      its inner product with the rest grows because the rest is non-increasing past its last
      point + 1); repeat until all gaps equal s and the first step is 1. (The spec's
      condition CᵀC ≥ 0 alone is not enough: monotone coefficients are needed.)
    * tree, Honaker (released nodes: odd-index nodes for the tree, all nodes for Honaker, each
      only if it completes by T): ``Σ_{released nodes} m_node²`` (m = points in the node) by an
      exact dynamic program over the dyadic blocks; the earliest pattern is NOT always optimal
      here (e.g. T = 16, κ = 2, s = 11: {1, 13} beats {1, 12} for the tree). Beyond a work
      budget the program is run with a smaller separation (a relaxation: a sound upper bound,
      ``exact=False``), or the per-height cap bound is used.
    """
    params = _counter(params)
    th = tuple(params.blt_theta) if params.kind == "blt" else None
    om = tuple(params.blt_omega) if params.kind == "blt" else None
    return _participation_sensitivity(params.kind, int(params.horizon),
                                      int(params.participations),
                                      int(params.separation), th, om)


def sensitivity_factor(params: Any) -> float:
    """The ℓ2 sensitivity of the counter's strategy C per unit of item sensitivity Δ.

    Single participation (κ = 1, the event level): max_j ‖C[:, j]‖₂, i.e. √L for the tree
    kinds, √G(T) for "sqrt", the closed-form BLT column norm for "blt". Multiple
    participations: √(max_P ‖Σ_{j∈P} C[:, j]‖₂²) (:func:`participation_sensitivity`).
    """
    params = _counter(params)
    if effective_participations(params.horizon, params.participations,
                                params.separation) > 1:
        return math.sqrt(participation_sensitivity(params).l2_sq)
    kind = params.kind
    if kind in ("tree", "honaker"):
        return math.sqrt(tree_levels(params.horizon))
    if kind == "sqrt":
        return math.sqrt(sqrt_column_norm_sq(params.horizon))
    return math.sqrt(blt_column_norm_sq(params.blt_theta, params.blt_omega, params.horizon))


def l1_sensitivity_factor(params: Any) -> float:
    """The ℓ1 sensitivity of the tree strategy per unit Δ (Laplace noise): L for κ = 1, else
    max_P Σ_{j∈P} (number of released nodes containing step j)."""
    params = _counter(params)
    if params.kind not in ("tree", "honaker"):
        raise DPKitError(f"the l1 sensitivity is defined for kind 'tree' or 'honaker', got "
                         f"kind={params.kind!r}")
    if effective_participations(params.horizon, params.participations,
                                params.separation) > 1:
        return participation_sensitivity(params).l1
    return float(tree_levels(params.horizon))


def privacy_event(params: Any) -> Event:
    """The accountant event of one counter run over a stream of up to ``horizon`` items.

    Neighbouring relation: two streams that differ in the items of at most κ =
    ``params.participations`` steps (one user's contributions), any two of those steps at
    least s = ``params.min_separation`` apart; each changed item differs by at most
    Δ = ``params.sensitivity`` in ℓ2 norm (Gaussian noise) or ℓ1 norm (Laplace noise);
    Δ = 2·bound for ``relation="replace_one"``, Δ = bound for "add_remove". κ = 1 (the default)
    is the event level: one step's item changes. The guarantee also holds for adaptively
    chosen streams (Denisov et al. 2022).

    * Gaussian noise, per-node (or per-z) std σ·Δ: ``Gaussian(σ / s)``, s =
      :func:`sensitivity_factor` (max_j ‖C[:,j]‖₂ at κ = 1), i.e. ρ = s²/(2σ²)-zCDP.
    * Laplace noise (tree kinds), per-node scale b = s₁·Δ/ε (s₁ = :func:`l1_sensitivity_factor`,
      = L at κ = 1): pure ε = s₁·Δ/b. Scalar streams at κ = 1: ``Repeated(Laplace(b/Δ), L)``
      (L independent scalar Laplace releases, exact RDP); otherwise ``PureDP(s₁·Δ/b)``.
    """
    params = _counter(params)
    if params.noise == "gaussian":
        return Gaussian(params.noise_multiplier / sensitivity_factor(params))
    b_over_delta = params.laplace_scale / params.sensitivity
    single = effective_participations(params.horizon, params.participations,
                                      params.separation) == 1
    if params.dimension == 1 and single:
        return Repeated(Laplace(b_over_delta), tree_levels(params.horizon))
    return PureDP(l1_sensitivity_factor(params) / b_over_delta)
