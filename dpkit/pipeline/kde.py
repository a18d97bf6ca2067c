"""Private similarity / kernel-density structures of a table: sketch per partition, merge,
privatize once.

:func:`kde_build` builds the structure of :mod:`dpkit.mechanisms.kde` (Backurs, Lin, Mahabadi,
Silwal, Tarnawski, "Efficiently Computing Similarities to Private Datasets", ICLR 2024,
arXiv:2403.08917; the exact ℓ1 variant after Liu, Hu, Reneau, Song, Liu, arXiv:2409.01688;
random Fourier features of Rahimi & Recht 2007) from the points (rows) of a pandas or Dask
DataFrame, the same structure for the same ``rng``:

1. every privacy unit keeps at most m = ``max_rows_per_unit`` rows (points), uniformly at
   random (:func:`dpkit.pipeline.bounding.bound_contributions`);
2. every partition computes an *exact integer* sketch: the leaf histograms of the trees
   (distances: cell counts per coordinate; the count and midpoint-sum trees are linear in
   them), or the random-Fourier-feature sums in fixed point (each feature √2·cos(·) truncated
   toward zero to a multiple of 2^−32, so |feature| ≤ √2 still holds and sums are exact int64
   — the truncation is a public per-point map; at most 2^30 points);
3. the sketches are merged exactly (:func:`dpkit.pipeline._engine.run`) and released once by
   :func:`dpkit.mechanisms.kde.privatize` (Laplace noise drawn from ``rng`` after the merge).

Privacy: pure ε-DP under add/remove (or replace, ``params.relation``) of one **privacy unit**.
The noise is calibrated to ε/m per point (``params.epsilon / max_rows_per_unit``); a unit's m
points shift every released coordinate by at most m times one point's shift, and the Laplace
RDP is convex in the shift with value 0 at 0 (so superadditive), so the unit's worst case is
every point on the same nodes: the per-point event with every Laplace noise multiplier
divided by m (:func:`kde_event`), whose pure ε is ``params.epsilon``. Public randomness (the
seed of the projections and features) is drawn from :func:`dpkit.random.public_generator`.
Noise in floating point: not hardened.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import _validate as V
from ..accounting.events import Composed, Event, Laplace, Repeated
from ..errors import DPKitError
from ..mechanisms.kde.mechanism import privatize
from ..mechanisms.kde.params import DISTANCES, KDEParams, KDESketch, KDEStructure, rff_parts
from ..mechanisms.kde.privacy import privacy_event as kde_point_event
from ..mechanisms.kde.reference import (
    as_points,
    cells,
    clip_private,
    leaf_histograms,
    midpoints,
    projected,
    public_randomness,
    tree_coords,
    tree_from_leaves,
)
from ..random import RNGLike, as_generator, public_generator
from . import _engine, _frames
from ._keyed import checked
from .bounding import bound_contributions
from .privacy import register_event

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["kde_build", "kde_event"]

#: Fixed-point scale of the RFF sums (features truncated toward zero to multiples of 2^−32).
_FIXED = 2.0**32
#: Most points one RFF sketch may hold (|Σ| ≤ n·√2·2^32 < 2^62).
_MAX_POINTS = 2**30
_CHUNK = 1 << 20  # feature values per work block


def _point_params(params: KDEParams, columns: list[str], m: int) -> KDEParams:
    """The per-point params: ε/m, dimension = number of columns."""
    if not isinstance(params, KDEParams):
        raise DPKitError(f"params must be a KDEParams, got {type(params).__name__}")
    d = len(columns)
    if params.dimension is not None and params.dimension != d:
        raise DPKitError(f"params.dimension = {params.dimension} but {d} columns were given")
    return dataclasses.replace(params, epsilon=params.epsilon / m, dimension=d)


@dataclass(frozen=True)
class _Sketches:
    """map: a partition's points → (n, int64 leaf histograms or fixed-point RFF sums)."""

    columns: tuple[str, ...]
    params: KDEParams
    public_seed: int

    def _shape(self) -> tuple[int, int]:
        p = self.params
        if p.kind in DISTANCES:
            return (p.tree_dims(len(self.columns)), p.leaves)
        pub = public_randomness(p, len(self.columns), self.public_seed)
        freqs, _, _ = rff_parts(pub)
        return (freqs.shape[0], p.features)

    def empty(self) -> tuple[int, np.ndarray]:
        return 0, np.zeros(self._shape(), dtype=np.int64)

    def merge(self, a: tuple[int, np.ndarray], b: tuple[int, np.ndarray]
              ) -> tuple[int, np.ndarray]:
        n = a[0] + b[0]
        if n > _MAX_POINTS:
            raise DPKitError(f"kde holds at most 2**30 points (exact fixed-point sums), got {n}")
        return n, a[1] + b[1]

    def map(self, pdf: pd.DataFrame) -> tuple[int, np.ndarray]:
        if len(pdf) == 0:
            return self.empty()
        if len(pdf) > _MAX_POINTS:
            raise DPKitError(f"kde holds at most 2**30 points (exact fixed-point sums), got "
                             f"{len(pdf)} in one partition")
        p = self.params
        x = clip_private(p, as_points(p, pdf[list(self.columns)].to_numpy(dtype=np.float64),
                                      "columns"))
        d = x.shape[1]
        pub = public_randomness(p, d, self.public_seed)
        if p.kind in DISTANCES:
            leaf = leaf_histograms(cells(p, tree_coords(p, x, pub)), p.leaves)
            return x.shape[0], leaf.astype(np.int64)
        z = projected(x, pub)
        freqs, phases, _ = rff_parts(pub)
        out = np.zeros((freqs.shape[0], p.features), dtype=np.int64)
        step = max(1, _CHUNK // p.features)
        for j in range(freqs.shape[0]):
            for a in range(0, z.shape[0], step):
                arg = z[a:a + step] @ freqs[j].T + phases[j][None, :]
                feat = np.trunc(np.sqrt(2.0) * np.cos(arg) * _FIXED).astype(np.int64)
                out[j] += feat.sum(axis=0)
        return x.shape[0], out


def _sketch(p: KDEParams, d: int, seed: int, n: int, parts: np.ndarray) -> KDESketch:
    """The mechanism's KDESketch of the merged exact state."""
    if p.kind in DISTANCES:
        leaf = parts.astype(np.float64)
        counts = tree_from_leaves(leaf)
        sums = tree_from_leaves(leaf * midpoints(p)[None, :]) if p.mode == "exact" else None
        return KDESketch(p, d, seed, n, counts=counts, sums=sums)
    return KDESketch(p, d, seed, n, rff=parts.astype(np.float64) / _FIXED)


def kde_build(df: Any, *, columns: str | list[str], privacy_unit: str, params: KDEParams,
        rng: RNGLike, max_rows_per_unit: int = 1, progress: bool = False) -> KDEStructure:
    """Release a private similarity / KDE structure of the table's points (one per row).

    Definition: see the module docstring (bounding to m points per unit, exact integer
    sketches per partition, exact merge, one Laplace release).

    Privacy: pure ε-DP (ε = ``params.epsilon``) under ``params.relation`` of one privacy unit
    (add/remove by default); event :func:`kde_event` (the per-point event at ε/m with every
    Laplace multiplier divided by m). BLMST24 (ICLR 2024). Not hardened.

    Args:
        df: a pandas or Dask DataFrame.
        columns: the coordinate column(s) of the points (finite numbers).
        privacy_unit: the unit column (no nulls).
        params: a :class:`~dpkit.mechanisms.kde.KDEParams` (its ``epsilon`` is the unit-level
            budget; ``dimension`` None or the number of columns).
        rng: None, an int seed, a numpy Generator or SecureGenerator.
        max_rows_per_unit: m ≥ 1, points kept per unit.
        progress: a progress bar while the table is sketched.

    Returns:
        A :class:`~dpkit.mechanisms.kde.KDEStructure`; answer queries with
        :func:`dpkit.mechanisms.kde.query` (post-processing). Its ``event`` attribute is the
        per-point event; the unit-level event is :func:`kde_event`.

    Raises:
        DPKitError: a missing column, nulls in the unit column, NaN/inf coordinates, bad
            params (named).
    """
    cols = _frames.column_list(columns, "columns")
    m = V.integer(minimum=1, max_rows_per_unit=max_rows_per_unit)
    p = _point_params(params, cols, m)
    _frames.require_columns(df, *cols, what="columns")
    _frames.require_columns(df, privacy_unit, what="privacy_unit", allow_index=True)
    gen = as_generator(rng)
    df = checked(df, finite=tuple(cols), what="columns")
    bounded = bound_contributions(df, privacy_unit=privacy_unit, max_partitions=1,
                                  max_per_partition=m, rng=gen)
    seed = int(public_generator(gen).integers(0, 2**63))  # published: not the noise stream
    agg = _Sketches(tuple(cols), p, seed)
    n, parts = _engine.run(bounded, agg, progress=progress)
    return privatize(_sketch(p, len(cols), seed, n, parts), gen)


def _scaled(ev: Event, m: int) -> Event:
    """The event with every Laplace noise multiplier divided by m (sensitivity × m)."""
    if isinstance(ev, Laplace):
        return Laplace(ev.noise_multiplier / m, ev.relation)
    if isinstance(ev, Repeated):
        return Repeated(_scaled(ev.event, m), ev.count)
    if isinstance(ev, Composed):
        return Composed(tuple(_scaled(e, m) for e in ev.events))
    raise DPKitError(f"kde_event cannot scale an event of type {type(ev).__name__}")


def kde_event(*, columns: str | list[str], params: KDEParams, max_rows_per_unit: int = 1,
              **_: Any) -> Event:
    """The event of :func:`kde_build` per privacy unit: the per-point event of the params at ε/m
    with every Laplace noise multiplier divided by m (m = ``max_rows_per_unit``); pure ε =
    ``params.epsilon``, relation ``params.relation`` of one unit (BLMST24; convexity of the
    Laplace RDP in the shift, see the module docstring).

    Raises:
        DPKitError: bad params or columns.
    """
    cols = _frames.column_list(columns, "columns")
    m = V.integer(minimum=1, max_rows_per_unit=max_rows_per_unit)
    p = _point_params(params, cols, m)
    ev = kde_point_event(p)
    return ev if m == 1 else _scaled(ev, m)


register_event(kde_build, kde_event)
