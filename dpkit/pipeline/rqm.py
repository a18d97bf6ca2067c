"""RQM on a table: one randomized-quantization update per privacy unit, one unbiased mean.

:func:`rqm_mean` runs the randomized quantization mechanism (Youn, Hu, Ziani, Abernethy,
"Randomized Quantization is All You Need for Differential Privacy in Federated Learning",
FL-ICML 2023, arXiv:2306.11913) over a pandas or Dask DataFrame, the same way for both:

1. every privacy unit keeps at most ``max_rows_per_unit`` rows, chosen uniformly at random
   (:func:`dpkit.pipeline.bounding.bound_contributions`; on Dask after a shuffle by unit);
2. the unit's client update is the mean of its kept rows' values (summed in a fixed order, so
   that it does not depend on row order or partitioning), a d-vector for d value columns;
3. each unit encodes its update with RQM (ℓ∞ clipping to [−c, c], level subsampling, unbiased
   rounding) using randomness keyed by the unit (:mod:`._keyed`): the law of
   :func:`dpkit.mechanisms.rqm.quantize` (the numpy reference's own geometric-walk sampler),
   the same for every partitioning;
4. the integer level indices are summed per partition (int64) and merged exactly
   (:func:`dpkit.pipeline._engine.run`); the server decodes the sum once
   (:func:`dpkit.mechanisms.rqm.aggregate_sums`): an unbiased estimate of the mean over units
   of the clipped updates.

Privacy: local DP, **replace-one per privacy unit** (any two value vectors of one unit's
rows): each unit sends one RQM encoding of a d-vector, exact RDP d·ε(α) per unit
(:func:`dpkit.mechanisms.rqm.privacy_event` with ``dimension=d``); sums and decoding are
post-processing. The number of units N is public in this model (the server receives N
reports). Event: ``privacy_event(rqm_mean, ...)``. Floating-point sampling with keyed
SplitMix64 draws: *not* hardened.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from .. import _validate as V
from ..accounting.events import Event
from ..errors import DPKitError
from ..mechanisms.rqm._exact import positions
from ..mechanisms.rqm.mechanism import aggregate_sums
from ..mechanisms.rqm.params import RQMParams
from ..mechanisms.rqm.privacy import privacy_event as rqm_event
from ..mechanisms.rqm.reference import _walk_numpy
from ..random import RNGLike
from . import _engine, _frames
from ._keyed import KeyedDraws, checked, derive, local_generator, unit_column, unit_means
from .bounding import bound_contributions
from .privacy import register_event

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["rqm_mean", "rqm_mean_event"]


def _params(params: RQMParams | None, clip: float | None, extension: float | None,
            num_levels: int | None, keep_prob: float | None) -> RQMParams:
    """The RQMParams: ``params`` or built from the four fields (exactly one way)."""
    fields = (clip, extension, num_levels, keep_prob)
    if params is not None:
        if any(f is not None for f in fields):
            raise DPKitError("give params or clip/extension/num_levels/keep_prob, not both")
        if not isinstance(params, RQMParams):
            raise DPKitError(f"params must be an RQMParams, got {type(params).__name__}")
        return params
    if any(f is None for f in fields):
        raise DPKitError("give params=RQMParams(...) or all of clip, extension, num_levels "
                         "and keep_prob")
    return RQMParams(cast(float, clip), cast(float, extension), cast(int, num_levels),
                     cast(float, keep_prob))


def _columns(value: Any) -> list[str]:
    return _frames.column_list(value, "value")


@dataclass(frozen=True)
class _RQMSums:
    """map: a partition's units → (Σ indices per coordinate, number of units); merge: add."""

    unit: str
    columns: tuple[str, ...]
    params: RQMParams
    seed: int

    def empty(self) -> tuple[np.ndarray, int]:
        return np.zeros(len(self.columns), dtype=np.int64), 0

    def merge(self, a: tuple[np.ndarray, int], b: tuple[np.ndarray, int]
              ) -> tuple[np.ndarray, int]:
        return a[0] + b[0], a[1] + b[1]

    def map(self, pdf: pd.DataFrame) -> tuple[np.ndarray, int]:
        if len(pdf) == 0:
            return self.empty()
        _frames.check_no_nulls(pdf, self.unit, "privacy_unit")
        x = V.finite_array(value=pdf[list(self.columns)].to_numpy(dtype=np.float64))
        units = unit_column(pdf, self.unit)
        keys, updates = unit_means(_frames.unit_hash(self.seed, units), x)
        d = len(self.columns)
        flat = np.stack([derive(keys, j + 1) for j in range(d)], axis=1).reshape(-1)
        # the reference's geometric-walk sampler (the law of quantize), draws keyed per unit
        t = positions(updates.reshape(-1), self.params)
        idx = _walk_numpy(self.params, t, cast(Any, KeyedDraws(flat))).reshape(-1, d)
        return idx.sum(axis=0, dtype=np.int64), int(keys.size)


def rqm_mean(df: Any, *, value: str | list[str], privacy_unit: str, rng: RNGLike,
             params: RQMParams | None = None, clip: float | None = None,
             extension: float | None = None, num_levels: int | None = None,
             keep_prob: float | None = None, max_rows_per_unit: int = 1,
             progress: bool = False) -> pd.DataFrame:
    """The unbiased RQM estimate of the mean client update, one update per privacy unit.

    Definition: see the module docstring (bounding, per-unit mean of the kept rows, keyed RQM
    encoding, exact integer sums merged, one decode).

    Privacy: local RDP, replace-one per privacy unit (any two value vectors of one unit):
    ``rqm.privacy_event(params, dimension=len(value))``, exact (Youn et al. 2023; the grid
    search of :mod:`dpkit.mechanisms.rqm.privacy`). Not hardened.

    Args:
        df: a pandas or Dask DataFrame.
        value: a numeric column, or a list of them (the d coordinates of an update).
        privacy_unit: the unit column (no nulls).
        rng: an int seed or a numpy Generator (the bounding seed and the units' key seed are
            drawn from it); a SecureGenerator is refused (keyed, non-cryptographic draws).
        params: an :class:`~dpkit.mechanisms.rqm.RQMParams`; or give ``clip``,
            ``extension``, ``num_levels`` and ``keep_prob`` (its fields).
        max_rows_per_unit: rows per unit averaged into its update (≥ 1, default 1).
        progress: a progress bar while the table is aggregated.

    Returns:
        A one-row pandas DataFrame: one column per value column (the estimated mean; NaN
        when the table has no units) and ``"units"`` (N, the number of reports, public in
        the local model).

    Raises:
        DPKitError: a missing column, nulls in the unit column, NaN/inf values, bad params.
    """
    p = _params(params, clip, extension, num_levels, keep_prob)
    cols = _columns(value)
    _frames.require_columns(df, *cols, what="value")
    _frames.require_columns(df, privacy_unit, what="privacy_unit", allow_index=True)
    m = V.integer(minimum=1, max_rows_per_unit=max_rows_per_unit)
    gen = local_generator(rng, "rqm_mean")
    df = checked(df, finite=tuple(cols), what="value")
    bounded = bound_contributions(df, privacy_unit=privacy_unit, max_partitions=1,
                                  max_per_partition=m, rng=gen)
    seed = int(gen.integers(0, 2**63))
    sums, n = _engine.run(bounded, _RQMSums(privacy_unit, tuple(cols), p, seed),
                          progress=progress)
    means = aggregate_sums(p, sums, n) if n else np.full(len(cols), np.nan)
    out = {c: [float(v)] for c, v in zip(cols, means, strict=True)}
    out["units"] = [int(n)]
    return _frames.pandas().DataFrame(out)


def rqm_mean_event(*, value: str | list[str], params: RQMParams | None = None,
                   clip: float | None = None, extension: float | None = None,
                   num_levels: int | None = None, keep_prob: float | None = None,
                   max_rows_per_unit: int = 1, **_: Any) -> Event:
    """The event of :func:`rqm_mean`: ``rqm.privacy_event(params, dimension=len(value))``,
    exact local RDP, replace-one per privacy unit (Youn et al. 2023).

    Raises:
        DPKitError: bad params or value columns.
    """
    V.integer(minimum=1, max_rows_per_unit=max_rows_per_unit)
    p = _params(params, clip, extension, num_levels, keep_prob)
    return rqm_event(p, dimension=len(_columns(value)))


register_event(rqm_mean, rqm_mean_event)
