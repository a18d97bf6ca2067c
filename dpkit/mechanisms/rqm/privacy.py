"""RQM's privacy statement: the exact Rényi divergence by the worst-case grid search.

Youn, Hu, Ziani, Abernethy 2023 (arXiv:2306.11913) state that RQM is Rényi-DP; the exact
computation here follows /work/shared/specs/rqm.md §4 (our derivation, checked numerically):

    ε(α) = sup_{x, x' ∈ [−c, c]} D_α(P_x ‖ P_x'),
    D_α(P ‖ Q) = 1/(α−1) · log Σ_k p(k)^α q(k)^{1−α},   D_∞(P ‖ Q) = max_k log(p(k)/q(k)).

Theorem (grid): the supremum is a maximum over the finite grid
G = {−c, c} ∪ {B_k : −c < B_k < c}. On each cell the pmf is affine in x, and
(a, b) ↦ a^α b^{1−α} is jointly convex, so Σ_k p_x(k)^α p_x'(k)^{1−α} is convex on every
rectangle of cells and peaks at a corner; at α = ∞ a ratio of affine functions is
quasi-linear, so again a corner.

Neighbouring relation: local DP, replace-one (any two inputs of one client).

The grid search is vectorised and exact (no approximation is ever returned):

1. log pmfs of all |G| ≤ m + 2 grid points (log space: no underflow for large m; O(m²) time
   for the whole grid with the prefix-sum form of :func:`dpkit.mechanisms.rqm.log_pmf`);
2. the pairwise max-divergences M_ij = max_k log(p_i(k)/p_j(k)) give α = ∞ exactly, and a
   pure-DP level ε_ij = max(M_ij, M_ji) for every pair;
3. at each finite order a pair can beat the current best only if its randomized-response
   bound RR(ε_ij, α) does (Kairouz–Oh–Viswanath 2015: every ε-DP pair is a post-processing of
   binary randomized response, so D_α ≤ RR(ε, α) by data processing); the best is seeded with
   the exact value at (c, −c) (the observed maximiser), and every pair not excluded by that
   bound is evaluated exactly with a log-sum-exp. Pruning changes the cost, never the value.

:func:`extreme_pair_curve` is the (c, −c) fast path; it is only used as a seed and is
cross-checked against the full search in the tests.

Limit: the search costs O(|G|²·m) ⊂ O(m³) time and O(|G|·m) memory plus bounded work blocks,
so it accepts m ≤ :data:`MAX_ACCOUNTING_LEVELS` = 1024 (worst case about 4 s, 250 MB) and
refuses larger m with a :class:`~dpkit.errors.DPKitError` naming ``num_levels``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ... import _validate as V
from ...errors import DPKitError, InfeasibleTargetError

__all__ = [
    "RDPResult",
    "grid",
    "renyi_divergence",
    "extreme_pair_curve",
    "rdp_curve",
    "rdp_curve_bruteforce",
    "randomized_response_bound",
    "calibrate_params",
    "MAX_ACCOUNTING_LEVELS",
]

_PAIR_CHUNK = 1 << 21  # elements of a (pairs, m) work array
#: Largest m the exact grid search accepts: it costs O(|G|²·m) ⊂ O(m³) time (about 4 s and
#: 250 MB at m = 1024 in the worst case Δ ≪ c on the 2-core machine). Encoding, decoding and
#: the pmf accept every m ≤ ``MAX_LEVELS`` = 65536.
MAX_ACCOUNTING_LEVELS = 1024


def _accounting_params(params: Any) -> Any:
    """params, checked to be small enough for the exact grid search (m ≤ 1024)."""
    from . import _check_params

    p = _check_params(params)
    _accounting_levels(p.num_levels)
    return p


def _accounting_levels(m: Any) -> int:
    out = V.integer(minimum=2, num_levels=m)
    if out > MAX_ACCOUNTING_LEVELS:
        raise DPKitError(
            f"num_levels must be in [2, {MAX_ACCOUNTING_LEVELS}] for privacy accounting (the "
            f"exact worst-case grid search costs O(num_levels^3) time), got {out}; "
            "quantize, decode, aggregate and pmf accept up to 65536 levels")
    return out


@dataclass(frozen=True)
class RDPResult:
    """The exact per-coordinate RDP curve and where it is attained.

    Attributes:
        orders: the Rényi orders (sorted, α = ∞ allowed).
        values: ε(α) = max over the grid of D_α(P_x ‖ P_x') at each order.
        pairs: (x, x') maximising pair at each order, shape (len(orders), 2).
        evaluated: number of (pair, order) divergences evaluated exactly (cost diagnostic).
    """

    orders: np.ndarray
    values: np.ndarray
    pairs: np.ndarray
    evaluated: int


def _orders(orders: Any) -> np.ndarray:
    if orders is None:
        from ...accounting import DEFAULT_ORDERS

        return np.array(DEFAULT_ORDERS, dtype=float)
    a = np.asarray(orders, dtype=float).reshape(-1)
    if a.size == 0 or np.isnan(a).any() or (a <= 1).any():
        raise DPKitError(f"orders must be a non-empty list of numbers > 1 (inf allowed), "
                         f"got {np.asarray(orders).tolist()}")
    return a


def grid(params: Any) -> np.ndarray:
    """The worst-case grid G = {−c, c} ∪ {B_k : −c < B_k < c}, sorted (size ≤ m + 2)."""
    from . import _check_params

    p = _check_params(params)
    lv = p.levels
    inner = lv[(lv > -p.clip) & (lv < p.clip)]
    return np.unique(np.concatenate([[-p.clip, p.clip], inner]))


def _log_pmfs(params: Any, xs: np.ndarray) -> np.ndarray:
    """Log pmfs of xs, restricted to the common support (all columns when q > 0)."""
    from . import log_pmf

    lp = log_pmf(params, xs)
    finite = np.isfinite(lp)
    support = finite.all(axis=0)
    if not (finite == support[None, :]).all():  # pragma: no cover - Δ > 0 forbids this
        raise DPKitError("internal: RQM supports differ across inputs")
    return lp[:, support]


def _lse_rows(a: np.ndarray) -> np.ndarray:
    mx = a.max(axis=-1, keepdims=True)
    return np.log(np.exp(a - mx).sum(axis=-1)) + mx[..., 0]


def _divergence_rows(lp: np.ndarray, lq: np.ndarray, alpha: float) -> np.ndarray:
    """D_α between matching rows of two log-pmf arrays (finite α > 1, or inf)."""
    if math.isinf(alpha):
        return (lp - lq).max(axis=-1)
    return _lse_rows(alpha * lp + (1.0 - alpha) * lq) / (alpha - 1.0)


def renyi_divergence(params: Any, x: Any, x_prime: Any, orders: Any = None) -> np.ndarray:
    """Exact D_α(P_x ‖ P_x') of RQM's output laws at two inputs, for each order.

    Args:
        params: an :class:`~dpkit.mechanisms.rqm.RQMParams`.
        x, x_prime: two inputs (scalars; clamped to [−c, c]).
        orders: Rényi orders > 1 (inf allowed); default the accountant's grid.

    Returns:
        An array of D_α values, one per order.
    """
    a = _orders(orders)
    lp = _log_pmfs(params, np.array([V.finite(x=x), V.finite(x_prime=x_prime)]))
    return np.array([float(_divergence_rows(lp[0], lp[1], al)) for al in a])


def randomized_response_bound(eps: Any, alpha: float) -> np.ndarray:
    """RR(ε, α): the Rényi divergence of binary randomized response with parameter ε.

    D_α = (1/(α−1)) · [αε + log1p(e^{ε(1−2α)}) − log1p(e^ε)] (stable form); it bounds D_α of
    every pair of distributions whose likelihood ratio lies in [e^{−ε}, e^ε] (Kairouz, Oh,
    Viswanath 2015 + data processing). α = ∞ gives ε.

    Only a *pruning* bound of :func:`rdp_curve` (used with a 1e−9 relative and 1e−12 absolute
    margin; no privacy statement rests on it), vectorized over many ε at one α. The privacy
    curve of binary RR is the accountant's :func:`dpkit.accounting.rdp.pure_dp` (upward
    rounded, accurate at tiny ε), which takes one ε at a time: about 50 µs a call, too slow
    for the ~10⁴ pairs per order pruned here.
    """
    e = V.finite_array(eps=eps)
    if np.any(e < 0):
        raise DPKitError(f"eps must be >= 0 and finite, got {e.tolist()!r}"[:300])
    alpha = V.positive(allow_inf=True, alpha=alpha)
    if not alpha > 1.0:
        raise DPKitError(f"alpha must be > 1 (inf allowed), got {alpha!r}")
    if math.isinf(alpha):
        return e.copy()
    with np.errstate(over="ignore"):
        top = alpha * e + np.log1p(np.exp(e * (1.0 - 2.0 * alpha))) - np.logaddexp(0.0, e)
    return np.maximum(top / (alpha - 1.0), 0.0)


def extreme_pair_curve(params: Any, orders: Any = None) -> np.ndarray:
    """Fast path: D_α(P_c ‖ P_{−c}) at each order (a lower bound on ε(α); equal to it in
    every configuration tried, spec §4, but never trusted alone)."""
    from . import _check_params

    p = _check_params(params)
    a = _orders(orders)
    lp = _log_pmfs(p, np.array([p.clip, -p.clip]))
    return np.array([float(_divergence_rows(lp[0], lp[1], al)) for al in a])


def rdp_curve_bruteforce(params: Any, orders: Any = None) -> RDPResult:
    """The grid search without pruning: every ordered pair at every order (an oracle for
    tests; O(|G|²·m) per order)."""
    params = _accounting_params(params)
    a = _orders(orders)
    xs = grid(params)
    lp = _log_pmfs(params, xs)
    g = xs.size
    ii, jj = np.meshgrid(np.arange(g), np.arange(g), indexing="ij")
    ii, jj = ii.ravel(), jj.ravel()
    values, pairs = [], []
    for al in a:
        d = _divergence_rows(lp[ii], lp[jj], al)
        b = int(np.argmax(d))
        values.append(float(d[b]))
        pairs.append((xs[ii[b]], xs[jj[b]]))
    return RDPResult(a, np.array(values), np.array(pairs), a.size * g * g)


def _max_divergence_matrix(lp: np.ndarray) -> np.ndarray:
    """M_ij = max_k (lp_ik − lp_jk), by row chunks."""
    g, m = lp.shape
    out = np.empty((g, g))
    step = max(1, _PAIR_CHUNK // (g * m))
    for a in range(0, g, step):
        out[a:a + step] = (lp[a:a + step, None, :] - lp[None, :, :]).max(axis=2)
    return out


def rdp_curve(params: Any, orders: Any = None) -> RDPResult:
    """Exact per-coordinate RDP ε(α) of RQM by the pruned worst-case grid search.

    Privacy statement: for the replace-one (local) relation, every pair of inputs
    x, x' ∈ [−c, c] has D_α(P_x ‖ P_x') ≤ ε(α), with equality at the returned pair (spec §4
    grid theorem; Youn et al. 2023). Exact up to floating-point rounding, which is directed
    upward (tens of ulps of slack; the value is never below the true divergence).

    Cost: O(|G|²·m) time with |G| ≤ m + 2 grid points, memory O(|G|·m) plus bounded work
    blocks; hence the limit m ≤ :data:`MAX_ACCOUNTING_LEVELS` (1024).

    Args:
        params: an :class:`~dpkit.mechanisms.rqm.RQMParams` with m ≤ 1024.
        orders: Rényi orders > 1 (inf allowed); default ``dpkit.accounting.DEFAULT_ORDERS``.

    Returns:
        An :class:`RDPResult` (orders in the given order).

    Raises:
        DPKitError: num_levels > 1024 (named, with the allowed range), bad orders.
    """
    params = _accounting_params(params)
    a = _orders(orders)
    xs = grid(params)
    lp = _log_pmfs(params, xs)
    g = xs.size
    mx = _max_divergence_matrix(lp)
    eps_pair = np.maximum(mx, mx.T)
    # pairs sorted by their pure-DP level (descending): a pair with ε_ij ≤ best is excluded
    flat = np.argsort(-eps_pair, axis=None, kind="stable")
    eps_sorted = eps_pair.ravel()[flat]
    pi, pj = np.unravel_index(flat, (g, g))
    i_hi, i_lo = int(np.argmax(xs)), int(np.argmin(xs))  # c and −c

    values = np.empty(a.size)
    pairs = np.empty((a.size, 2))
    evaluated = 0
    for t, al in enumerate(a):
        if math.isinf(al):
            b = int(np.argmax(mx))
            values[t] = mx.flat[b]
            pairs[t] = xs[b // g], xs[b % g]
            evaluated += g * g
            continue
        best = float(_divergence_rows(lp[i_hi], lp[i_lo], al))
        best_pair = (xs[i_hi], xs[i_lo])
        evaluated += 1
        # candidates: pairs whose RR bound exceeds the seed (with a safety margin)
        n_cand = int(np.searchsorted(-eps_sorted, -best, side="left"))
        if n_cand:
            bound = randomized_response_bound(eps_sorted[:n_cand], al)
            keep = np.flatnonzero(bound * (1.0 + 1e-9) + 1e-12 > best)
            step = max(1, _PAIR_CHUNK // lp.shape[1])
            for s in range(0, keep.size, step):
                sel = keep[s:s + step]
                d = _divergence_rows(lp[pi[sel]], lp[pj[sel]], al)
                evaluated += sel.size
                b = int(np.argmax(d))
                if d[b] > best:
                    best = float(d[b])
                    best_pair = (xs[pi[sel[b]]], xs[pj[sel[b]]])
        values[t] = best
        pairs[t] = best_pair
    return RDPResult(a, _round_up(values, a, lp), pairs, evaluated)


_ULP = 2.0**-52


def _round_up(values: np.ndarray, orders: np.ndarray, lp: np.ndarray) -> np.ndarray:
    """Directed slack so that float rounding can only raise the reported divergence.

    Each D_α is LSE(α·lp + (1−α)·lq)/(α−1) over log-pmfs of magnitude ≤ L: the terms carry an
    absolute error of a few ulps of (2α−1)(L+1), the log-sum-exp a few ulps of its result
    plus log m. 32 ulps of that bound (divided by α − 1) covers it several times over; the
    true divergence is ≥ 0, so a negative rounding residue (seen at extension 1e30) is
    lifted to the slack. Issue 14: an RDP bound must never be below the truth.
    """
    fin = lp[np.isfinite(lp)]
    big = float(np.abs(fin).max()) + 1.0 if fin.size else 1.0
    log_m = math.log(max(lp.shape[-1], 2))
    a = np.asarray(orders, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(np.isinf(a), 2.0 * big, ((2.0 * a - 1.0) * big + log_m + 1.0)
                         / np.where(np.isinf(a), 1.0, a - 1.0))
    slack = 32.0 * _ULP * scale
    return np.maximum(values, 0.0) * (1.0 + 8.0 * _ULP) + slack


# ================================================================ calibration
def _achieved(params: Any, dimension: int, delta: float | None, rounds: int) -> float:
    from . import privacy_event

    ev = privacy_event(params, dimension)
    if delta is None:
        return rounds * ev.epsilon_inf()
    from ...accounting import Accountant

    return Accountant().compose(ev, count=rounds).epsilon(delta)


def calibrate_params(*, epsilon: float, clip: float, num_levels: int,
                     keep_prob: float | None, extension: float | None, dimension: int,
                     delta: float | None, rounds: int) -> Any:
    """Implementation of :func:`dpkit.mechanisms.rqm.calibrate` (see there)."""
    from . import RQMParams

    target = V.positive(epsilon=epsilon)
    c = V.positive(clip=clip)
    d = V.integer(minimum=1, dimension=dimension)
    k = V.integer(minimum=1, rounds=rounds)
    m = _accounting_levels(num_levels)
    dl = None if delta is None else V.in_range(0.0, 1.0, low_open=True, high_open=True,
                                               delta=delta)
    if (keep_prob is None) == (extension is None):
        raise DPKitError("give exactly one of keep_prob (to search extension) and extension "
                         "(to search keep_prob)")

    def eps_of(v: float) -> float:
        if keep_prob is None:
            p = RQMParams(c, extension, m, v)
        else:
            p = RQMParams(c, v, m, keep_prob)
        return _achieved(p, d, dl, k)

    if keep_prob is None:  # search q in [0, 1): ε increases with q
        lo, hi = 0.0, 1.0 - 1e-12
        if eps_of(lo) > target:
            raise InfeasibleTargetError(
                f"epsilon={target} is infeasible: even keep_prob=0 gives {eps_of(lo):.6g}; "
                "increase extension")
        if eps_of(hi) <= target:
            return RQMParams(c, extension, m, hi)
        ok = lo
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            if eps_of(mid) <= target:
                lo = ok = mid
            else:
                hi = mid
            if hi - lo < 1e-9:
                break
        return RQMParams(c, extension, m, ok)
    # search Δ > 0: ε decreases with Δ (geometric bisection)
    lo, hi = 1e-9 * c, 1.0 * c
    while eps_of(hi) > target:
        lo, hi = hi, hi * 4.0
        if hi > 1e6 * c:
            raise InfeasibleTargetError(
                f"epsilon={target} is infeasible for dimension={d}, rounds={k}: extension "
                f"> 1e6*clip would be needed; lower keep_prob or num_levels")
    ok = hi
    for _ in range(80):
        mid = math.sqrt(lo * hi)
        if eps_of(mid) <= target:
            hi = ok = mid
        else:
            lo = mid
        if hi / lo < 1.0 + 1e-7:
            break
    out = RQMParams(c, ok, m, keep_prob)
    if _achieved(out, d, dl, k) > target:  # pragma: no cover - the loop only keeps passes
        raise DPKitError("internal: calibration overshot the target")
    return out
