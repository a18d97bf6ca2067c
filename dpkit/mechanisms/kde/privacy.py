"""Privacy statements of the KDE / similarity-query structures (spec kde.md §7).

Every structure is a vector of sums over the private points released once with independent
Laplace noise; queries are post-processing. The tightest correct event is the composition of
the independent Laplace coordinates actually released:

* ℓ1 / ℓ2 trees (spec §2.1, §3): per coordinate of the (embedded) points one count tree and,
  in exact mode, one sum tree of centred cell midpoints u ∈ [−(r − ρ/2), r − ρ/2]. A point
  touches exactly one node per level, L = log2(M) + 1 nodes per tree: under add/remove each of
  the d·L touched count nodes moves by 1 and each touched sum node by |u| ≤ u_max = r − ρ/2.
  Event ``Composed([Repeated(Laplace(b_c/1), d·L), Repeated(Laplace(b_s/u_max), d·L)])``,
  pure ε = d·L·(1/b_c + u_max/b_s).
* random Fourier features (spec §5.2): S_j = Σ_x √2 cos(ω_j·x + β_j), |change| ≤ √2 per
  coordinate under add/remove: ``Repeated(Laplace(b/√2), D)``, pure ε = √2·D/b; the Cauchy
  exponential-sum (spec §5.3) composes J such structures.
* an optional separately released count (kernel kinds): ``Laplace(b_n)`` (sensitivity 1).

Replace-one (``relation="replace_one"``): one point leaves one place and enters another, so every
sensitivity above is at most doubled (conservative: shared tree ancestors cancel); the noise
scales are doubled to keep the user's ε, and the events carry ``relation="replace_one"``.

The declared sensitivities are checked against brute force in the tests
(:func:`sensitivity_bruteforce`: the largest ℓ1 change of the exact sketch, in noise-multiplier
units, over every single-point change on a grid that includes cell boundaries and the clip
edges).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ... import _validate as V
from ...errors import DPKitError

__all__ = ["tree_event", "rff_event", "count_event", "sensitivity_bruteforce",
           "relation_of", "neighbour_factor"]

SQRT2 = math.sqrt(2.0)
#: The relation values: "add_remove", "replace_one" (dpkit's one spelling) and the deprecated
#: "replace" (= "replace_one", KDEParams' old ``neighbour`` keyword).
NEIGHBOURS = ("add_remove", "replace_one", "replace")


def _neighbour(neighbour: Any) -> str:
    if not isinstance(neighbour, str) or neighbour not in NEIGHBOURS:
        raise DPKitError(f"neighbour must be one of {NEIGHBOURS}, got {neighbour!r}")
    return neighbour


def relation_of(neighbour: str) -> str:
    """The accounting relation of ``neighbour`` ("add_remove" | "replace_one"; "replace" is
    the deprecated spelling of "replace_one")."""
    from ...accounting.events import ADD_REMOVE, REPLACE_ONE

    return ADD_REMOVE if _neighbour(neighbour) == "add_remove" else REPLACE_ONE


def neighbour_factor(neighbour: str) -> float:
    """1 for add/remove, 2 for replace-one (every sensitivity doubles, conservatively)."""
    return 1.0 if _neighbour(neighbour) == "add_remove" else 2.0


def tree_event(dims: int, levels: int, count_scale: float, sum_scale: float | None,
               sum_sensitivity: float, neighbour: str) -> Any:
    """Event of d = ``dims`` count trees (and sum trees when ``sum_scale`` is given).

    Each point touches ``levels`` nodes per tree; a count node moves by ≤ f, a sum node by ≤
    f·``sum_sensitivity`` (f = 1 add/remove, 2 replace).
    """
    from ...accounting.events import Composed, Laplace, Repeated

    f = neighbour_factor(neighbour)
    rel = relation_of(neighbour)
    m = dims * levels
    events = [Repeated(Laplace(count_scale / f, relation=rel), m)]
    if sum_scale is not None:
        events.append(Repeated(Laplace(sum_scale / (f * sum_sensitivity), relation=rel), m))
    return Composed(tuple(events))


def rff_event(features: int, scales: Any, neighbour: str) -> Any:
    """Event of ``len(scales)`` RFF sketches of D = ``features`` sums each (noise scale b_j)."""
    from ...accounting.events import Composed, Laplace, Repeated

    f = neighbour_factor(neighbour)
    rel = relation_of(neighbour)
    return Composed(tuple(Repeated(Laplace(float(b) / (f * SQRT2), relation=rel), features)
                          for b in np.atleast_1d(scales)))


def count_event(scale: float, neighbour: str) -> Any:
    """Event of one noisy count Lap(b) (sensitivity 1, or 2 under replace)."""
    from ...accounting.events import Laplace

    return Laplace(scale / neighbour_factor(neighbour), relation=relation_of(neighbour))


def sensitivity_bruteforce(sketch_fn: Any, base_points: np.ndarray, candidates: np.ndarray,
                           scales: Any, neighbour: str = "add_remove") -> float:
    """max over neighbours of Σ_k |S_k(X) − S_k(X')| / b_k: the pure ε the noise actually buys.

    ``sketch_fn(points) -> flat exact sketch``; ``scales`` the per-coordinate Laplace scales
    (flat, same length). Add/remove: X' = X ∪ {c} for every candidate c (and X ∖ {x} for every
    x ∈ X). Replace: X' = X with one point replaced by a candidate. The privacy loss of
    independent Laplace coordinates is exactly this weighted ℓ1 distance (Dwork et al. 2006),
    so the maximum is the ε of the release on these neighbours.
    """
    neighbour = _neighbour(neighbour)
    if not callable(sketch_fn):
        raise DPKitError(f"sketch_fn must be callable, got {type(sketch_fn).__name__}")
    base_points = V.finite_array(base_points=base_points)
    candidates = V.finite_array(candidates=candidates)
    if base_points.ndim != 2 or candidates.ndim != 2 \
            or base_points.shape[1] != candidates.shape[1]:
        raise DPKitError(f"base_points and candidates must be 2-D (n, d) arrays with the same "
                         f"d, got shapes {base_points.shape} and {candidates.shape}")
    b = V.finite_array(scales=scales).reshape(-1)
    if b.size == 0 or np.any(b <= 0):
        raise DPKitError(f"scales must be a non-empty array of finite values > 0, got {b!r}")
    base = np.asarray(sketch_fn(base_points), dtype=float).reshape(-1)
    if base.size != b.size:
        raise DPKitError(f"sketch_fn's output has {base.size} entries but scales has {b.size}")
    worst = 0.0
    if neighbour == "add_remove":
        for c in candidates:
            other = np.asarray(sketch_fn(np.vstack([base_points, c[None, :]])))
            worst = max(worst, float(np.sum(np.abs(other.reshape(-1) - base) / b)))
        for i in range(base_points.shape[0]):
            other = np.asarray(sketch_fn(np.delete(base_points, i, axis=0)))
            worst = max(worst, float(np.sum(np.abs(other.reshape(-1) - base) / b)))
    else:
        for i in range(base_points.shape[0]):
            for c in candidates:
                pts = base_points.copy()
                pts[i] = c
                other = np.asarray(sketch_fn(pts))
                worst = max(worst, float(np.sum(np.abs(other.reshape(-1) - base) / b)))
    return worst
