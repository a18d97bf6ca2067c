"""Order pruning: find the best Rényi order without evaluating every order of the grid.

A true Rényi divergence has a cumulant K(α) = (α−1)·D_α that is convex in α, non-decreasing,
and K(1) = 0 (van Erven & Harremoës 2014, "Rényi Divergence and Kullback–Leibler
Divergence", Thm. 3 and Cor. 2). From K at a few evaluated orders, convexity gives a lower
bound on K at every other order (the secant lines through neighbouring evaluated points,
extended), and monotonicity of D_α gives another one. Since both (ε, δ) conversions are
increasing in the RDP value, an order whose lower bound already converts to no better than
the best value found so far cannot improve it and is skipped.

Soundness never depends on this: the result is a minimum over orders that *were* evaluated,
each of which is a valid bound. Convexity only decides which orders are skipped, so for an
exact curve the result equals the full grid's minimum, and for any curve it is still sound.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np

__all__ = ["cumulant_lower_bound", "anchor_mask", "smallest_order_mask", "prune_search"]

#: Largest integer order evaluated up front; larger orders are reached by extrapolation.
ANCHOR_MAX = 64.0
#: Orders evaluated per round of the search.
BATCH = 6


def _read_only(mask: np.ndarray) -> np.ndarray:
    mask.setflags(write=False)
    return mask


@functools.lru_cache(maxsize=8)
def _masks(key: bytes) -> tuple[np.ndarray, np.ndarray]:
    orders = np.frombuffer(key, dtype=float)
    fin = np.isfinite(orders)
    anchors = ~fin | ((orders == np.floor(orders)) & (orders <= ANCHOR_MAX))
    smallest = np.zeros(orders.shape, dtype=bool)
    if fin.any():
        smallest[int(np.argmin(np.where(fin, orders, np.inf)))] = True
    return _read_only(anchors), _read_only(smallest)


def anchor_mask(orders: np.ndarray) -> np.ndarray:
    """Orders evaluated first: integers ≤ 64 and α = ∞ (a read-only mask)."""
    return _masks(np.ascontiguousarray(orders, dtype=float).tobytes())[0]


def smallest_order_mask(orders: np.ndarray) -> np.ndarray:
    """The smallest finite order (the total-variation shortcut reads the curve there)."""
    return _masks(np.ascontiguousarray(orders, dtype=float).tobytes())[1]


def cumulant_lower_bound(points: np.ndarray, kvals: np.ndarray,
                         targets: np.ndarray) -> np.ndarray:
    """Lower bound on a convex, non-decreasing K with K(1) = 0 at ``targets``.

    ``points`` are sorted finite orders > 1 with K values ``kvals`` (``inf`` allowed). Uses
    (i) the secant through the two evaluated points left of a target, extended to it,
    (ii) the secant through the two points right of it, extended back, and (iii) D_α
    non-decreasing: K(t) ≥ (t−1)·K(p)/(p−1) for the nearest evaluated p < t.
    """
    p = np.concatenate([[1.0], points])
    k = np.concatenate([[0.0], kvals])
    n = p.size
    i = np.searchsorted(p, targets)  # p[i-1] < t < p[i]
    left = i - 1
    lo1 = np.maximum(left - 1, 0)
    r0 = np.minimum(i, n - 1)
    r1 = np.minimum(i + 1, n - 1)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        # (i) left secant (needs two points: left ≥ 1), (iii) D non-decreasing
        ok = left >= 1
        kl = k[left]
        d_left = np.where(ok, p[left] - p[lo1], 1.0)
        sec = kl + (targets - p[left]) * (kl - k[lo1]) / d_left
        mono = (targets - 1.0) * kl / np.where(ok, p[left] - 1.0, 1.0)
        out = np.where(ok, np.fmax(sec, mono), 0.0)
        # (ii) right secant, extended back (needs two finite points right of the target)
        rok = (i + 1 < n) & np.isfinite(k[r1])
        rsec = k[r0] - (p[r0] - targets) * (k[r1] - k[r0]) / np.where(rok, p[r1] - p[r0], 1.0)
        out = np.fmax(out, np.where(rok, rsec, -np.inf))
    # NaN (from ∞ − ∞) carries no information: fall back to the trivial bound 0
    return np.where(np.isnan(out), 0.0, np.maximum(out, 0.0))


def prune_search(
    orders: np.ndarray,
    known: np.ndarray,
    values: np.ndarray,
    evaluate: Callable[[np.ndarray], None],
    score: Callable[[np.ndarray, np.ndarray], np.ndarray],
    first: np.ndarray | None = None,
) -> None:
    """Evaluate, in rounds, every order whose lower-bound score could beat the best score.

    ``known``/``values``: which orders of ``orders`` are evaluated and their RDP values (the
    caller's arrays, updated by ``evaluate(mask)``, which must fill the masked orders).
    ``score(alphas, rdp)`` is the per-order conversion (ε or log δ), increasing in ``rdp``;
    orders whose score is lowest are the ones kept. Ends when no unevaluated order can win.
    ``first`` (a mask) is evaluated with the first round, or at the end if there is none.
    """
    fin = np.isfinite(orders)
    extra = np.zeros(orders.shape, dtype=bool) if first is None else first & ~known
    while True:
        todo = fin & ~known
        if not todo.any():
            break
        kmask = fin & known
        pts = orders[kmask]
        scores_known = score(pts, values[kmask])
        best = float(np.min(scores_known)) if scores_known.size else math.inf
        idx = np.flatnonzero(todo)
        with np.errstate(over="ignore"):  # a cumulant above 1e308 is ∞ for this purpose
            k_known = (pts - 1.0) * values[kmask]
        lb_k = cumulant_lower_bound(pts, k_known, orders[idx])
        lb = score(orders[idx], lb_k / (orders[idx] - 1.0))
        # keep an order unless its lower bound is (up to rounding) no better than the best
        if math.isfinite(best):
            with np.errstate(invalid="ignore"):  # lb = ∞: ∞ − ∞ is NaN, and NaN < best False
                keep = lb - (1e-12 * np.abs(lb) + 1e-300) < best
        else:
            keep = np.isfinite(lb)
        if not keep.any():
            break
        cand, cand_lb = idx[keep], lb[keep]
        mask = extra.copy()
        mask[cand[np.argsort(cand_lb, kind="stable")[:BATCH]]] = True
        extra[:] = False
        evaluate(mask)
    if extra.any():
        evaluate(extra)
