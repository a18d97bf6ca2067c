"""RQM's exact output law and exact Rényi curve, on validated parameters (internal).

The two computations every other module of the package builds on, written once:

* the closed-form log pmf of the output index (spec §3), :func:`log_pmf_positions`, used by
  the reference (:func:`dpkit.mechanisms.rqm.pmf`), the numba kernel's alias tables and the
  privacy grid search;
* the exact per-coordinate RDP curve by the pruned worst-case grid search (spec §4),
  :func:`rdp_search`, and the local privacy event built from it, :func:`local_event`.

It sits below :mod:`.params` so that ``RQMParams.privacy_event()`` can use it without an
import cycle; :mod:`.privacy` is the validated public face of the same math. Nothing here
re-validates: callers pass a checked :class:`~dpkit.mechanisms.rqm.RQMParams` (only its
attributes are read) and checked orders. The mathematics, the grid theorem and the pruning
argument are documented in :mod:`dpkit.mechanisms.rqm.privacy`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ... import _validate as V
from ...accounting.accountant import DEFAULT_ORDERS
from ...accounting.events import REPLACE_ONE, Event, PMFPairs, RDPCurve, Repeated
from ...accounting.rdp import randomized_response_at_order
from ...errors import DPKitError

if TYPE_CHECKING:
    from .params import RQMParams

#: Largest m the exact grid search accepts: it costs O(|G|²·m) ⊂ O(m³) time (about 4 s and
#: 250 MB at m = 1024 in the worst case Δ ≪ c on the 2-core machine). Encoding, decoding and
#: the pmf accept every m ≤ ``MAX_LEVELS`` = 65536.
MAX_ACCOUNTING_LEVELS = 1024

#: Largest m whose privacy event lists the output laws at every pair of grid points
#: (:func:`tight_event`, exact RDP and exact PLD); larger m keep the RDP curve.
MAX_PMF_LEVELS = 32

_CHUNK = 1 << 22  # elements of a work block (prefix-sum table rows)
_PAIR_CHUNK = 1 << 21  # elements of a (pairs, m) work array
_ULP = 2.0**-52


# ================================================================ level geometry
def positions(x: np.ndarray, params: RQMParams) -> np.ndarray:
    """Continuous level position t = (clamp(x) + R)/s ∈ (0, m − 1)."""
    c, r = params.clip, params.half_width
    return (np.clip(x, -c, c) + r) / params.spacing


def cells(t: np.ndarray, m: int) -> np.ndarray:
    """Cell index j = min(⌊t⌋, m − 2) (and ≥ 0), as int64."""
    return np.clip(np.floor(t), 0, m - 2).astype(np.int64)


def level_values(params: RQMParams, k: np.ndarray) -> np.ndarray:
    """B_k = −R + k·s for int64 indices k (float64; B_{m−1} = R exactly)."""
    r = params.half_width
    out = -r + params.spacing * k.astype(np.float64)
    return np.where(k == params.num_levels - 1, r, out)


# ================================================================ closed-form pmf
def geometric_sums(m: int, q: float, a: np.ndarray, e_cap: np.ndarray
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


def log_pmf_positions(m: int, q: float, t: np.ndarray) -> np.ndarray:
    """log p_x(k) for level positions t = (x + R)/s ∈ [0, m − 1], shape (n,) → (n, m).

    With j the cell of t and f = t − j: for k ≤ j, p(k) = P(L = k)·H(j + 1 − k; E = m − 2 − j,
    g = 1 − f) and for k ≥ j + 1, p(k) = P(U = k)·H(k − j; E = j, g = f), where
    H(a; E, g) = Σ_e w_e (e + g)/(e + a) = A1 + g·A0 over the truncated geometric gap law w
    (:func:`geometric_sums`): the spec §3 sums Σ_u P(U=u)(u − t)/(u − k) and
    Σ_l P(L=l)(t − l)/(k − l) rewritten in gap units. P(L = k), P(U = k) are in log space
    (they underflow for large m), H is a sum of positive terms (no cancellation). Memory
    O(n·m) plus a bounded work block; time O(m²) shared by all n positions plus O(n·m).
    """
    n = t.size
    j = cells(t, m)[:, None]
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
    a0, a1 = geometric_sums(m, q, a, e_cap)
    h = a1 + np.where(down, 1.0 - f, f) * a0
    with np.errstate(divide="ignore"):
        return (pre + np.log(h)).reshape(n, m)


# ================================================================ exact Rényi curve
def accounting_levels(m: object) -> int:
    """m as an int in [2, MAX_ACCOUNTING_LEVELS] (the grid search's limit), else DPKitError."""
    out = V.integer(minimum=2, num_levels=m)
    if out > MAX_ACCOUNTING_LEVELS:
        raise DPKitError(
            f"num_levels must be in [2, {MAX_ACCOUNTING_LEVELS}] for privacy accounting (the "
            f"exact worst-case grid search costs O(num_levels^3) time), got {out}; "
            "quantize, decode, aggregate and pmf accept up to 65536 levels")
    return out


def default_orders() -> np.ndarray:
    """The accountant's order grid (α = ∞ included), as a float array."""
    return np.array(DEFAULT_ORDERS, dtype=float)


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


def grid(params: RQMParams) -> np.ndarray:
    """The worst-case grid G = {−c, c} ∪ {B_k : −c < B_k < c}, sorted (size ≤ m + 2)."""
    lv = level_values(params, np.arange(params.num_levels, dtype=np.int64))
    inner = lv[(lv > -params.clip) & (lv < params.clip)]
    return np.unique(np.concatenate([[-params.clip, params.clip], inner]))


def log_pmfs(params: RQMParams, xs: np.ndarray) -> np.ndarray:
    """Log pmfs of finite inputs xs (n,) → (n, support), restricted to the common support
    (all columns when q > 0)."""
    lp = log_pmf_positions(params.num_levels, params.keep_prob, positions(xs, params))
    finite = np.isfinite(lp)
    support = finite.all(axis=0)
    if not (finite == support[None, :]).all():  # pragma: no cover - Δ > 0 forbids this
        raise DPKitError("internal: RQM supports differ across inputs")
    return lp[:, support]


def _lse_rows(a: np.ndarray) -> np.ndarray:
    mx = a.max(axis=-1, keepdims=True)
    return np.log(np.exp(a - mx).sum(axis=-1)) + mx[..., 0]


def divergence_rows(lp: np.ndarray, lq: np.ndarray, alpha: float) -> np.ndarray:
    """D_α between matching rows of two log-pmf arrays (finite α > 1, or inf)."""
    if math.isinf(alpha):
        return (lp - lq).max(axis=-1)
    return _lse_rows(alpha * lp + (1.0 - alpha) * lq) / (alpha - 1.0)


def _max_divergence_matrix(lp: np.ndarray) -> np.ndarray:
    """M_ij = max_k (lp_ik − lp_jk), by row chunks."""
    g, m = lp.shape
    out = np.empty((g, g))
    step = max(1, _PAIR_CHUNK // (g * m))
    for a in range(0, g, step):
        out[a:a + step] = (lp[a:a + step, None, :] - lp[None, :, :]).max(axis=2)
    return out


def rdp_bruteforce(params: RQMParams, orders: np.ndarray) -> RDPResult:
    """The grid search without pruning: every ordered pair at every order (an oracle for
    tests; O(|G|²·m) per order)."""
    xs = grid(params)
    lp = log_pmfs(params, xs)
    g = xs.size
    ii, jj = (v.ravel() for v in np.meshgrid(np.arange(g), np.arange(g), indexing="ij"))
    values, pairs = [], []
    for al in orders:
        d = divergence_rows(lp[ii], lp[jj], al)
        b = int(np.argmax(d))
        values.append(float(d[b]))
        pairs.append((xs[ii[b]], xs[jj[b]]))
    return RDPResult(orders, np.array(values), np.array(pairs), orders.size * g * g)


def rdp_search(params: RQMParams, orders: np.ndarray) -> RDPResult:
    """The pruned worst-case grid search (see :func:`dpkit.mechanisms.rqm.privacy.rdp_curve`).

    At each finite order a pair can beat the current best only if the binary
    randomized-response curve at its two-sided pure ε does (Kairouz–Oh–Viswanath 2015 + data
    processing); that bound is the accountant's own, upward-rounded
    :func:`dpkit.accounting.rdp.randomized_response_at_order`, used with a further 1e−9
    relative and 1e−12 absolute margin, so pruning changes the cost, never the value.
    """
    xs = grid(params)
    lp = log_pmfs(params, xs)
    g = xs.size
    mx = _max_divergence_matrix(lp)
    eps_pair = np.maximum(mx, mx.T)
    # pairs sorted by their pure-DP level (descending): a pair with ε_ij ≤ best is excluded
    flat = np.argsort(-eps_pair, axis=None, kind="stable")
    eps_sorted = eps_pair.ravel()[flat]
    pi, pj = np.unravel_index(flat, (g, g))
    i_hi, i_lo = int(np.argmax(xs)), int(np.argmin(xs))  # c and −c

    values = np.empty(orders.size)
    pairs = np.empty((orders.size, 2))
    evaluated = 0
    for t, al in enumerate(orders):
        if math.isinf(al):
            b = int(np.argmax(mx))
            values[t] = mx.flat[b]
            pairs[t] = xs[b // g], xs[b % g]
            evaluated += g * g
            continue
        best = float(divergence_rows(lp[i_hi], lp[i_lo], al))
        best_pair = (xs[i_hi], xs[i_lo])
        evaluated += 1
        # candidates: pairs whose RR bound exceeds the seed (with a safety margin)
        n_cand = int(np.searchsorted(-eps_sorted, -best, side="left"))
        if n_cand:
            bound = randomized_response_at_order(eps_sorted[:n_cand], 2, al)
            keep = np.flatnonzero(bound * (1.0 + 1e-9) + 1e-12 > best)
            step = max(1, _PAIR_CHUNK // lp.shape[1])
            for s in range(0, keep.size, step):
                sel = keep[s:s + step]
                d = divergence_rows(lp[pi[sel]], lp[pj[sel]], al)
                evaluated += sel.size
                b = int(np.argmax(d))
                if d[b] > best:
                    best = float(d[b])
                    best_pair = (xs[pi[sel[b]]], xs[pj[sel[b]]])
        values[t] = best
        pairs[t] = best_pair
    return RDPResult(orders, round_up(values, orders, lp), pairs, evaluated)


def round_up(values: np.ndarray, orders: np.ndarray, lp: np.ndarray) -> np.ndarray:
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


def local_event(params: RQMParams, dimension: int, relation: str | None = REPLACE_ONE
                ) -> RDPCurve:
    """``RDPCurve(DEFAULT_ORDERS, d·ε(α), relation)``: one client's encoding of a d-vector
    (d = ``dimension``, checked ≥ 1 by the caller); num_levels ≤ 1024 is checked here."""
    accounting_levels(params.num_levels)
    curve = rdp_search(params, default_orders())
    return RDPCurve(tuple(curve.orders), tuple(dimension * curve.values), relation)


def tight_event(params: RQMParams, dimension: int, relation: str | None = REPLACE_ONE
                ) -> Event:
    """One client's encoding of a d-vector, as exactly as the accountant can use it.

    For m ≤ :data:`MAX_PMF_LEVELS`: ``PMFPairs`` of the output laws at every pair of points of
    the worst-case grid G (:func:`grid`), repeated d times. Why G suffices for the privacy
    loss distribution too: on each cell of G the output pmf is affine in the input, and the
    hockey-stick divergence H_γ(P ‖ Q) = Σ (P − γQ)₊ is jointly convex, so for every γ its
    maximum over a rectangle of cells is at a corner — a pair of grid points (the same
    argument as the Rényi grid theorem, :mod:`dpkit.mechanisms.rqm.privacy`). Its RDP is the
    exact maximum over those pairs at every order (the grid search's curve, rounded upward by
    ~1e-13 instead of its ~1e-11 margin, and exact between the tabulated orders); the d-fold
    product is tight because one pair is worst for every coordinate at once.

    For larger m: :func:`local_event` (the RDP curve; no PLD).
    """
    if params.num_levels > MAX_PMF_LEVELS:
        return local_event(params, dimension, relation)
    g = grid(params)
    lp = log_pmfs(params, g)
    pm = np.exp(lp - np.logaddexp.reduce(lp, axis=1, keepdims=True))
    rows = [tuple(float(x) for x in r) for r in pm]
    pairs = tuple((rows[i], rows[j]) for i in range(len(rows)) for j in range(i + 1, len(rows)))
    ev = PMFPairs(pairs, relation)
    return ev if dimension == 1 else Repeated(ev, dimension)
