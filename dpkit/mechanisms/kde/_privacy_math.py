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

Layering: the private bottom of the package. This module works on plain numbers and on any
object shaped like :class:`~dpkit.mechanisms.kde.params.KDEParams` (:class:`KDEPrivacyParams`);
it imports nothing from its package, so that ``KDEParams.privacy_event()`` can call
:func:`structure_event` without an import cycle. :mod:`.privacy` re-exports its public names
above the params and holds the public ``privacy_event(params, dimension)``.

The declared sensitivities are checked against brute force in the tests
(:func:`sensitivity_bruteforce`: the largest ℓ1 change of the exact sketch, in noise-multiplier
units, over every single-point change on a grid that includes cell boundaries and the clip
edges).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol, TypedDict, runtime_checkable

import numpy as np
import numpy.typing as npt

from ... import _validate as V
from ...accounting.events import (
    ADD_REMOVE,
    REPLACE_ONE,
    Composed,
    Event,
    Laplace,
    Repeated,
)
from ...errors import DPKitError

__all__ = ["tree_event", "rff_event", "count_event", "sensitivity_bruteforce",
           "relation_of", "neighbour_factor", "noise_scales", "structure_event", "expsum_terms"]

SQRT2 = math.sqrt(2.0)
#: The relation values: "add_remove", "replace_one" (dpkit's one spelling) and the deprecated
#: "replace" (= "replace_one", KDEParams' old ``neighbour`` keyword).
NEIGHBOURS = ("add_remove", "replace_one", "replace")
_DISTANCES = ("l1", "l2")


@runtime_checkable
class KDEPrivacyParams(Protocol):
    """What the privacy statement reads from :class:`~dpkit.mechanisms.kde.KDEParams`."""

    @property
    def kind(self) -> str: ...

    @property
    def epsilon(self) -> float: ...

    @property
    def relation(self) -> str: ...

    @property
    def mode(self) -> str: ...

    @property
    def features(self) -> int: ...

    @property
    def count_fraction(self) -> float: ...

    @property
    def cauchy_method(self) -> str: ...

    @property
    def expsum_error(self) -> float: ...

    @property
    def levels(self) -> int: ...

    @property
    def tree_halfwidth(self) -> float: ...

    @property
    def cell_width(self) -> float: ...

    def tree_dims(self, dimension: int | None = None) -> int: ...


class NoiseScales(TypedDict, total=False):
    """The Laplace scales of a release (:func:`noise_scales`): trees ``count``, ``sum`` (None
    in ring mode) and ``sum_sensitivity``; kernels ``rff`` (one scale per term) and ``n`` (the
    optional count's scale, or None)."""

    count: float
    sum: float | None
    sum_sensitivity: float
    rff: np.ndarray
    n: float | None


def _relation(relation: object) -> str:
    if not isinstance(relation, str) or relation not in NEIGHBOURS:
        raise DPKitError(f"relation must be one of {NEIGHBOURS}, got {relation!r}")
    return relation


def relation_of(relation: str) -> str:
    """The accounting relation of ``relation`` ("add_remove" | "replace_one"; "replace" is
    the deprecated spelling of "replace_one").

    Raises:
        DPKitError: any other value.
    """
    return ADD_REMOVE if _relation(relation) == "add_remove" else REPLACE_ONE


def neighbour_factor(relation: str) -> float:
    """1 for add/remove, 2 for replace-one (every sensitivity doubles, conservatively).

    Raises:
        DPKitError: ``relation`` not one of "add_remove", "replace_one", "replace".
    """
    return 1.0 if _relation(relation) == "add_remove" else 2.0


def tree_event(dims: int, levels: int, count_scale: float, sum_scale: float | None,
               sum_sensitivity: float, relation: str) -> Composed:
    """Event of d = ``dims`` count trees (and sum trees when ``sum_scale`` is given).

    Each point touches ``levels`` nodes per tree; a count node moves by ≤ f, a sum node by ≤
    f·``sum_sensitivity`` (f = 1 add/remove, 2 replace): the composition of the released
    Laplace coordinates, pure ε = dims·levels·f·(1/b_c + sum_sensitivity/b_s).
    """
    f = neighbour_factor(relation)
    rel = relation_of(relation)
    m = dims * levels
    events: list[Event] = [Repeated(Laplace(count_scale / f, relation=rel), m)]
    if sum_scale is not None:
        events.append(Repeated(Laplace(sum_scale / (f * sum_sensitivity), relation=rel), m))
    return Composed(tuple(events))


def rff_event(features: int, scales: npt.ArrayLike, relation: str) -> Composed:
    """Event of ``len(scales)`` RFF sketches of D = ``features`` sums each (noise scale b_j):
    each coordinate √2·cos moves by ≤ f·√2, pure ε = Σ_j f·√2·D/b_j."""
    f = neighbour_factor(relation)
    rel = relation_of(relation)
    return Composed(tuple(Repeated(Laplace(float(b) / (f * SQRT2), relation=rel), features)
                          for b in np.atleast_1d(np.asarray(scales, dtype=float))))


def count_event(scale: float, relation: str) -> Laplace:
    """Event of one noisy count Lap(b) (sensitivity 1, or 2 under replace): pure ε = f/b."""
    return Laplace(scale / neighbour_factor(relation), relation=relation_of(relation))


def expsum_terms(error: float = 1e-3, step: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Weights w_j and rates λ_j with max_{t≥0} |1/(1+t) − Σ_j w_j e^{−λ_j t}| ≲ ``error``.

    Spec §5.3: 1/(1+t) = ∫_R exp(u − e^u(1+t)) du; trapezoid rule with step h on
    [ln(α/2), ln ln(2/α)]: u_j = u_min + j·h, w_j = h·exp(u_j − e^{u_j}), λ_j = e^{u_j}. Both
    tails are ≤ α/2. All weights are positive. (dpkit's construction, not necessarily the
    paper's; checked on a dense grid in the tests.) The Cauchy structure splits its budget
    over the terms by these weights (ε_j ∝ √w_j), hence its place in this module.

    Raises:
        DPKitError: ``error`` not in [1e-12, 0.5] or ``step`` not > 0.
    """
    a = V.in_range(1e-12, 0.5, error=error)
    h = V.positive(step=step)
    u_min, u_max = math.log(a / 2.0), math.log(math.log(2.0 / a))
    u = u_min + h * np.arange(int(math.floor((u_max - u_min) / h)) + 1)
    return h * np.exp(u - np.exp(u)), np.exp(u)


def _check_params(params: object) -> KDEPrivacyParams:
    if not isinstance(params, KDEPrivacyParams):
        raise DPKitError(f"params must be a KDEParams, got {type(params).__name__}")
    return params


def noise_scales(params: KDEPrivacyParams, dimension: int | None = None) -> NoiseScales:
    """The Laplace scales of each released part (spec §3.1, §3.2, §5.2, §5.3).

    Trees (f = 1 add/remove, 2 replace; m = d·L touched nodes per tree family):
    exact mode b_c = 2f·m/ε, b_s = 2f·m·u_max/ε (u_max = halfwidth − ρ/2), so that
    m·(f/b_c + f·u_max/b_s) = ε; ring mode b_c = f·m/ε. RFF: ε' = ε(1 − count_fraction),
    b_j = f√2·D/ε_j with ε_j ∝ √w_j summing to ε' (one term: ε_1 = ε'); count: b_n =
    f/(count_fraction·ε).

    Args:
        params: a :class:`~dpkit.mechanisms.kde.KDEParams`.
        dimension: d ≥ 1 for ℓ1 when ``params.dimension`` is None (it takes precedence).

    Raises:
        DPKitError: params not a KDEParams; ℓ1 without a dimension; a bad dimension.
    """
    p = _check_params(params)
    if dimension is not None:
        dimension = V.integer(minimum=1, dimension=dimension)
    f = neighbour_factor(p.relation)
    if p.kind in _DISTANCES:
        m = p.tree_dims(dimension) * p.levels
        u_max = p.tree_halfwidth - p.cell_width / 2.0
        if p.mode == "exact":
            return {"count": 2.0 * f * m / p.epsilon, "sum": 2.0 * f * m * u_max / p.epsilon,
                    "sum_sensitivity": u_max}
        return {"count": f * m / p.epsilon, "sum": None, "sum_sensitivity": u_max}
    eps_k = p.epsilon * (1.0 - p.count_fraction)
    if p.kind == "cauchy" and p.cauchy_method == "expsum":
        w, _ = expsum_terms(p.expsum_error)
        share = np.sqrt(w) / np.sum(np.sqrt(w))
    else:
        share = np.ones(1)
    rff = f * SQRT2 * p.features / (eps_k * share)
    cnt = f / (p.count_fraction * p.epsilon) if p.count_fraction > 0 else None
    return {"rff": rff, "n": cnt}


def structure_event(params: KDEPrivacyParams, dimension: int | None = None) -> Composed:
    """The privacy event of one release of the structure; see
    :func:`dpkit.mechanisms.kde.privacy.privacy_event` (the public statement).

    Raises:
        DPKitError: as :func:`noise_scales`.
    """
    p = _check_params(params)
    sc = noise_scales(p, dimension)
    if p.kind in _DISTANCES:
        return tree_event(p.tree_dims(dimension), p.levels, sc["count"], sc["sum"],
                          sc["sum_sensitivity"], p.relation)
    ev = rff_event(p.features, sc["rff"], p.relation)
    n_scale = sc["n"]
    if n_scale is not None:
        ev = Composed((*ev.events, count_event(n_scale, p.relation)))
    return ev


def sensitivity_bruteforce(sketch_fn: Callable[[np.ndarray], npt.ArrayLike],
                           base_points: npt.ArrayLike, candidates: npt.ArrayLike,
                           scales: npt.ArrayLike, relation: str = "add_remove", *,
                           neighbour: str | None = None) -> float:
    """max over neighbours of Σ_k |S_k(X) − S_k(X')| / b_k: the pure ε the noise actually buys.

    ``sketch_fn(points) -> flat exact sketch``; ``scales`` the per-coordinate Laplace scales
    (flat, same length). Add/remove (``relation="add_remove"``): X' = X ∪ {c} for every
    candidate c (and X ∖ {x} for every x ∈ X). Replace (``"replace_one"``; ``"replace"`` is
    its deprecated spelling): X' = X with one point replaced by a candidate. The privacy loss
    of independent Laplace coordinates is exactly this weighted ℓ1 distance (Dwork et al.
    2006), so the maximum is the ε of the release on these neighbours. ``neighbour`` is the
    deprecated spelling of ``relation`` (when given, it decides).

    Raises:
        DPKitError: a bad relation, a non-callable ``sketch_fn``, points that are not
            finite 2-D arrays with a common d, scales not all > 0 or not matching the sketch.
    """
    relation = _relation(relation if neighbour is None else neighbour)
    if not callable(sketch_fn):
        raise DPKitError(f"sketch_fn must be callable, got {type(sketch_fn).__name__}")
    x0 = V.finite_array(base_points=base_points)
    cands = V.finite_array(candidates=candidates)
    if x0.ndim != 2 or cands.ndim != 2 \
            or x0.shape[1] != cands.shape[1]:
        raise DPKitError(f"base_points and candidates must be 2-D (n, d) arrays with the same "
                         f"d, got shapes {x0.shape} and {cands.shape}")
    b = V.finite_array(scales=scales).reshape(-1)
    if b.size == 0 or np.any(b <= 0):
        raise DPKitError(f"scales must be a non-empty array of finite values > 0, got {b!r}")
    base = np.asarray(sketch_fn(x0), dtype=float).reshape(-1)
    if base.size != b.size:
        raise DPKitError(f"sketch_fn's output has {base.size} entries but scales has {b.size}")
    worst = 0.0
    if relation == "add_remove":
        for c in cands:
            other = np.asarray(sketch_fn(np.vstack([x0, c[None, :]])))
            worst = max(worst, float(np.sum(np.abs(other.reshape(-1) - base) / b)))
        for i in range(x0.shape[0]):
            other = np.asarray(sketch_fn(np.delete(x0, i, axis=0)))
            worst = max(worst, float(np.sum(np.abs(other.reshape(-1) - base) / b)))
    else:
        for i in range(x0.shape[0]):
            for c in cands:
                pts = x0.copy()
                pts[i] = c
                other = np.asarray(sketch_fn(pts))
                worst = max(worst, float(np.sum(np.abs(other.reshape(-1) - base) / b)))
    return worst
