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
   bound is evaluated exactly with a log-sum-exp. RR(ε, α) is the accountant's binary
   randomized-response curve (:func:`dpkit.accounting.rdp.randomized_response_at_order`,
   upward rounded). Pruning changes the cost, never the value.

:func:`extreme_pair_curve` is the (c, −c) fast path; it is only used as a seed and is
cross-checked against the full search in the tests.

Limit: the search costs O(|G|²·m) ⊂ O(m³) time and O(|G|·m) memory plus bounded work blocks,
so it accepts m ≤ :data:`MAX_ACCOUNTING_LEVELS` = 1024 (worst case about 4 s, 250 MB) and
refuses larger m with a :class:`~dpkit.errors.DPKitError` naming ``num_levels``.

This module is the validated public face of that math; the computation itself lives in
:mod:`._exact` (below :mod:`.params`, so that ``RQMParams.privacy_event()`` shares it).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from ... import _validate as V
from ...accounting.accountant import Accountant
from ...accounting.events import Event, PoissonSampled
from ...accounting.rdp import randomized_response_at_order
from ...errors import DPKitError, InfeasibleTargetError
from ._exact import (
    MAX_ACCOUNTING_LEVELS,
    RDPResult,
    accounting_levels,
    default_orders,
    divergence_rows,
    local_event,
    log_pmfs,
    rdp_bruteforce,
    rdp_search,
    tight_event,
)
from ._exact import grid as _grid
from .params import RQMParams, check_params

__all__ = [
    "RDPResult",
    "grid",
    "renyi_divergence",
    "extreme_pair_curve",
    "rdp_curve",
    "rdp_curve_bruteforce",
    "randomized_response_bound",
    "rdp",
    "privacy_event",
    "calibrate",
    "calibrate_params",
    "MAX_ACCOUNTING_LEVELS",
]


# ================================================================ argument checks
def _accounting_params(params: object) -> RQMParams:
    """params, checked to be small enough for the exact grid search (m ≤ 1024)."""
    p = check_params(params)
    accounting_levels(p.num_levels)
    return p


def _orders(orders: npt.ArrayLike | None) -> np.ndarray:
    if orders is None:
        return default_orders()
    a = np.asarray(orders, dtype=float).reshape(-1)
    if a.size == 0 or np.isnan(a).any() or (a <= 1).any():
        raise DPKitError(f"orders must be a non-empty list of numbers > 1 (inf allowed), "
                         f"got {np.asarray(orders).tolist()}")
    return a


# ================================================================ the grid search
def grid(params: RQMParams) -> np.ndarray:
    """The worst-case grid G = {−c, c} ∪ {B_k : −c < B_k < c}, sorted (size ≤ m + 2)."""
    return _grid(check_params(params))


def renyi_divergence(params: RQMParams, x: float, x_prime: float,
                     orders: npt.ArrayLike | None = None) -> np.ndarray:
    """Exact D_α(P_x ‖ P_x') of RQM's output laws at two inputs, for each order.

    Args:
        params: an :class:`~dpkit.mechanisms.rqm.RQMParams`.
        x, x_prime: two inputs (scalars; clamped to [−c, c]).
        orders: Rényi orders > 1 (inf allowed); default the accountant's grid.

    Returns:
        An array of D_α values, one per order.
    """
    a = _orders(orders)
    p = check_params(params)
    lp = log_pmfs(p, np.array([V.finite(x=x), V.finite(x_prime=x_prime)]))
    return np.array([float(divergence_rows(lp[0], lp[1], al)) for al in a])


def randomized_response_bound(eps: npt.ArrayLike, alpha: float) -> np.ndarray:
    """RR(ε, α): the Rényi divergence of binary randomized response with parameter ε.

    D_α = (1/(α−1)) · log[(e^{αε} + e^{(1−α)ε})/(1 + e^ε)]; it bounds D_α of every pair of
    distributions whose likelihood ratio lies in [e^{−ε}, e^ε] (Kairouz, Oh, Viswanath 2015 +
    data processing). α = ∞ gives ε. Vectorized over ε at one α: the accountant's binary-RR
    curve :func:`dpkit.accounting.rdp.randomized_response_at_order` (rounded upward, capped at
    ε), the pruning bound of :func:`rdp_curve`.

    Raises:
        DPKitError: ε negative, NaN or infinite; α ≤ 1 or NaN.
    """
    e = V.finite_array(eps=eps)
    if np.any(e < 0):
        raise DPKitError(f"eps must be >= 0 and finite, got {e.tolist()!r}"[:300])
    al = V.positive(allow_inf=True, alpha=alpha)
    if not al > 1.0:
        raise DPKitError(f"alpha must be > 1 (inf allowed), got {al!r}")
    return randomized_response_at_order(e, 2, al).reshape(e.shape)


def extreme_pair_curve(params: RQMParams, orders: npt.ArrayLike | None = None) -> np.ndarray:
    """Fast path: D_α(P_c ‖ P_{−c}) at each order (a lower bound on ε(α); equal to it in
    every configuration tried, spec §4, but never trusted alone)."""
    p = check_params(params)
    a = _orders(orders)
    lp = log_pmfs(p, np.array([p.clip, -p.clip]))
    return np.array([float(divergence_rows(lp[0], lp[1], al)) for al in a])


def rdp_curve_bruteforce(params: RQMParams, orders: npt.ArrayLike | None = None) -> RDPResult:
    """The grid search without pruning: every ordered pair at every order (an oracle for
    tests; O(|G|²·m) per order)."""
    p = _accounting_params(params)
    return rdp_bruteforce(p, _orders(orders))


def rdp_curve(params: RQMParams, orders: npt.ArrayLike | None = None) -> RDPResult:
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
    p = _accounting_params(params)
    return rdp_search(p, _orders(orders))


# ================================================================ public privacy API
def rdp(params: RQMParams, orders: npt.ArrayLike | None = None) -> np.ndarray:
    """Exact per-coordinate RDP curve ε(α) of RQM at ``orders`` (default: the accountant's grid).

    The values of :func:`rdp_curve` (an array, like every event's ``rdp(orders)``): ε(α) = max
    over x, x' ∈ [−c, c] of D_α(P_x ‖ P_x') by the exact grid search, α = ∞ giving the pure-DP
    ε. Local DP, replace-one relation; rounded upward. Youn, Hu, Ziani, Abernethy 2023.

    Raises:
        DPKitError: bad params, num_levels > 1024 (the grid search's limit), bad orders.

    >>> rdp(RQMParams(1.0, 1.0, 2, 0.0), [math.inf]).round(6).tolist()   # ln 3
    [1.098612]
    """
    return rdp_curve(params, orders).values


def epsilon(params: RQMParams, orders: npt.ArrayLike | None = None) -> np.ndarray:
    """Deprecated alias of :func:`rdp` (it returns an RDP *curve*, not an ε; the name read
    like :func:`dpkit.accounting.dpsgd.epsilon`, which returns a float). Warns
    ``DeprecationWarning`` on each call and returns exactly what :func:`rdp` returns."""
    warnings.warn("dpkit.mechanisms.rqm.epsilon is deprecated: it returns the RDP curve; use "
                  "dpkit.mechanisms.rqm.rdp (same arguments, same values)",
                  DeprecationWarning, stacklevel=2)
    return rdp(params, orders)


def privacy_event(params: RQMParams, dimension: int = 1, *,
                  client_sample_rate: float | None = None,
                  unreviewed_amplification: bool = False) -> Event:
    """The privacy event of one RQM encoding of a ``dimension``-vector by one client.

    Privacy statement (issue 16): for m ≤ 32, ``PMFPairs`` of RQM's output laws at every
    pair of points of the worst-case grid (:func:`grid`), ``Repeated`` d times: its RDP is the
    exact per-coordinate Rényi divergence of the grid search (:func:`rdp_curve`) times d, at
    every order, and its privacy loss distribution is exact too (the hockey-stick divergence
    is jointly convex and the pmf affine on each cell, so every ε's worst case is a pair of
    grid points). For m > 32: an ``RDPCurve`` over the accountant's ``DEFAULT_ORDERS`` (α = ∞
    included) with values d·ε(α) (RDP only). Relation: ``replace_one`` (local DP: any two
    client inputs in [−c, c]^d). The d-fold composition is tight: one pair is worst in every
    coordinate at once. Compose rounds with ``Accountant().compose(event, count=K)``
    (K = rounds the client takes part in). Youn, Hu, Ziani, Abernethy 2023.

    Client subsampling (optional, spec §5.3): with ``client_sample_rate=γ`` the curve is
    wrapped in ``PoissonSampled`` (Zhu & Wang 2019, Thm. 6). **Caveat**: that theorem is for
    add/remove adjacency while RQM's local guarantee is for replace-one; treating a client's
    absence as a replaced input needs an argument that has not been reviewed. It is therefore
    only available with ``unreviewed_amplification=True``, and the inner curve is then
    declared with no fixed relation.

    Args:
        params: an :class:`~dpkit.mechanisms.rqm.RQMParams`.
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
    p = check_params(params)
    d = V.integer(minimum=1, dimension=dimension)
    if not isinstance(unreviewed_amplification, (bool, np.bool_)):
        raise DPKitError(f"unreviewed_amplification must be True or False, got "
                         f"{unreviewed_amplification!r}")
    accounting_levels(p.num_levels)  # first: the m limit is reported before the options
    if client_sample_rate is None:
        if unreviewed_amplification:
            raise DPKitError("unreviewed_amplification=True needs a client_sample_rate")
        return tight_event(p, d)
    rate = V.probability(client_sample_rate=client_sample_rate)
    if not unreviewed_amplification:
        raise DPKitError(
            "client_sample_rate needs unreviewed_amplification=True: Poisson amplification is "
            "proved for add/remove adjacency, RQM's guarantee is replace-one (spec §5.3)")
    return PoissonSampled(tight_event(p, d, relation=None), rate)


# ================================================================ calibration
def _achieved(params: RQMParams, dimension: int, delta: float | None, rounds: int) -> float:
    ev = local_event(params, dimension)
    if delta is None:
        return rounds * ev.epsilon_inf()
    return Accountant().compose(ev, count=rounds).epsilon(delta)


def _bisect_keep_prob(eps_of: Callable[[float], float], target: float) -> float | None:
    """Largest q found with ε(q) ≤ target (ε increases with q); None when q = 1 − 1e−12 meets
    it already (then that q is returned by the caller)."""
    lo, hi = 0.0, 1.0 - 1e-12
    if eps_of(lo) > target:
        raise InfeasibleTargetError(
            f"epsilon={target} is infeasible: even keep_prob=0 gives {eps_of(lo):.6g}; "
            "increase extension")
    if eps_of(hi) <= target:
        return None
    ok = lo
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if eps_of(mid) <= target:
            lo = ok = mid
        else:
            hi = mid
        if hi - lo < 1e-9:
            break
    return ok


def _bisect_extension(eps_of: Callable[[float], float], target: float, c: float, d: int,
                      k: int) -> float:
    """Smallest Δ found with ε(Δ) ≤ target (ε decreases with Δ; geometric bisection)."""
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
    return ok


def calibrate_params(*, epsilon: float, clip: float, num_levels: int,
                     keep_prob: float | None, extension: float | None, dimension: int,
                     delta: float | None, rounds: int) -> RQMParams:
    """Implementation of :func:`calibrate` (the same, with every argument required)."""
    target = V.positive(epsilon=epsilon)
    c = V.positive(clip=clip)
    d = V.integer(minimum=1, dimension=dimension)
    k = V.integer(minimum=1, rounds=rounds)
    m = accounting_levels(num_levels)
    dl = None if delta is None else V.in_range(0.0, 1.0, low_open=True, high_open=True,
                                               delta=delta)
    if extension is not None and keep_prob is None:  # search q in [0, 1): ε increases with q
        ext = extension
        q = _bisect_keep_prob(lambda v: _achieved(RQMParams(c, ext, m, v), d, dl, k), target)
        return RQMParams(c, ext, m, 1.0 - 1e-12 if q is None else q)
    if keep_prob is None or extension is not None:
        raise DPKitError("give exactly one of keep_prob (to search extension) and extension "
                         "(to search keep_prob)")
    kp = keep_prob
    found = _bisect_extension(lambda v: _achieved(RQMParams(c, v, m, kp), d, dl, k),
                              target, c, d, k)
    out = RQMParams(c, found, m, kp)
    if _achieved(out, d, dl, k) > target:  # pragma: no cover - the loop only keeps passes
        raise DPKitError("internal: calibration overshot the target")
    return out


def calibrate(*, epsilon: float, clip: float, num_levels: int,
              keep_prob: float | None = None, extension: float | None = None,
              dimension: int = 1, delta: float | None = None,
              rounds: int = 1) -> RQMParams:
    """Find Δ (or q) so that one client's ``rounds`` RQM encodings are ε-DP (or (ε, δ)-DP).

    Give exactly one of ``keep_prob`` (then Δ is searched) and ``extension`` (then q is
    searched). The target is the pure ε = rounds·d·ε(∞) when ``delta`` is None, else the
    accountant's ε at δ of ``Repeated(privacy_event(params, d), rounds)`` (local DP,
    replace-one; Youn et al. 2023). The search is a bisection (ε is observed to decrease in Δ
    and increase in q, spec §4); the returned parameters are always re-checked to meet the
    target, so the guarantee does not rest on that monotonicity. The result's ε is within a
    relative 1e-6 of the target from below when the search converges.

    Raises:
        DPKitError: bad arguments (both or neither of keep_prob / extension given;
            num_levels outside [2, 1024]).
        InfeasibleTargetError: no Δ ≤ 1e6·c (resp. no q ≥ 0) reaches the target.

    >>> p = calibrate(epsilon=math.log(3), clip=1.0, num_levels=2, keep_prob=0.0)
    >>> round(p.extension, 4)            # m = 2: Δ = 2c/(e^ε − 1) = 1
    1.0
    """
    return calibrate_params(epsilon=epsilon, clip=clip, num_levels=num_levels,
                            keep_prob=keep_prob, extension=extension, dimension=dimension,
                            delta=delta, rounds=rounds)
