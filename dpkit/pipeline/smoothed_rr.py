"""Smoothed randomized response on a table: one private bit per privacy unit, merged tallies.

Smoothed RR (Y. Liu, M. A. Rahimian, "Differentially Private Sequential Learning", FORC 2025,
arXiv:2502.19525) releases for a real signal v, a public threshold t and ε:
x = −a with probability ½·exp(−ε|v − t|/Δ), else a = sign(v − t). On a table (pandas or Dask,
the same result for the same ``rng``):

1. every privacy unit keeps at most ``max_rows_per_unit`` rows, uniformly at random
   (:func:`dpkit.pipeline.bounding.bound_contributions`; on Dask after a shuffle by unit);
2. the unit's signal is the mean of its kept values (summed in a fixed order), clipped to
   [lo, hi]; Δ = hi − lo (:meth:`SmoothedRRParams.replacement
   <dpkit.mechanisms.smoothed_rr.SmoothedRRParams.replacement>`);
3. the unit's bit is x = −a if U < u(v) else a, a = sign(v − t) (−1 at ties), with the flip
   probability u(v) of :func:`dpkit.mechanisms.smoothed_rr.flip_probability` and a uniform U
   keyed by the unit (:mod:`._keyed`): the law of ``respond(..., method="flip")``.

:func:`smoothed_rr_responses` returns the bits as a column (one row per unit: the column
transform); :func:`smoothed_rr_tally` returns only the merged tallies (per partition: counts
of +1 and −1, merged exactly).

Privacy: local ε-DP, **replace-one per privacy unit** (any two signals of one unit, all its
rows): the clipped signal lies in [lo, hi] and Δ = hi − lo, so the bit is ε-DP under
replacement (Liu & Rahimian 2025; the bound is tight). Each unit releases one bit; tallies are
post-processing. Event: ``privacy_event(smoothed_rr_responses, ...)`` (= the tally's) = the
params' event (the Laplace mechanism then thresholding: pure ε, replace-one). Floating-point
sampling with keyed SplitMix64 draws: *not* hardened.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import _validate as V
from ..accounting.events import Event
from ..mechanisms.smoothed_rr.mechanism import flip_probability
from ..mechanisms.smoothed_rr.params import SmoothedRRParams
from ..random import RNGLike
from . import _engine, _frames
from ._keyed import KeyedDraws, checked, derive, local_generator, unit_column, unit_means
from .bounding import bound_contributions
from .privacy import register_event

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["smoothed_rr_responses", "smoothed_rr_tally", "smoothed_rr_event"]


@dataclass(frozen=True)
class _Responses:
    """map: a partition → (unit keys, bits) or tallies (+1 count, −1 count)."""

    unit: str
    value: str
    params: SmoothedRRParams
    seed: int
    tally: bool

    def bits(self, pdf: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(unit keys, first row of each unit, ±1 bits) of one partition."""
        _frames.check_no_nulls(pdf, self.unit, "privacy_unit")
        x = V.finite_array(value=pdf[self.value].to_numpy(dtype=np.float64))
        keys_all = _frames.unit_hash(self.seed, unit_column(pdf, self.unit))
        keys, signal = unit_means(keys_all, x)
        slot = np.searchsorted(keys, keys_all)  # row → its unit's slot (keys sorted, unique)
        _, row_of = np.unique(slot, return_index=True)  # the first row of every unit
        v = signal[:, 0]
        a = np.where(v > self.params.threshold, 1, -1).astype(np.int8)
        u = KeyedDraws(derive(keys, 1)).random(v.size)
        bits = np.where(u < flip_probability(self.params, v), -a, a).astype(np.int8)
        return keys, row_of, bits

    def empty(self) -> Any:
        if self.tally:
            return np.zeros(2, dtype=np.int64)
        pd = _frames.pandas()
        return pd.DataFrame({self.unit: pd.Series([], dtype=object),
                             "response": np.zeros(0, dtype=np.int8)})

    def merge(self, a: Any, b: Any) -> Any:
        if self.tally:
            return a + b
        if len(a) == 0:
            return b
        if len(b) == 0:
            return a
        return _frames.pandas().concat([a, b], ignore_index=True)

    def map(self, pdf: pd.DataFrame) -> Any:
        if len(pdf) == 0:
            return self.empty()
        _, rows, bits = self.bits(pdf)
        if self.tally:
            pos = int((bits > 0).sum())
            return np.array([pos, bits.size - pos], dtype=np.int64)
        units = unit_column(pdf, self.unit).iloc[rows].reset_index(drop=True)
        return _frames.pandas().DataFrame({self.unit: units, "response": bits})


def _setup(df: Any, value: str, privacy_unit: str, epsilon: float, lo: float, hi: float,
           threshold: float, max_rows_per_unit: int) -> SmoothedRRParams:
    _frames.require_columns(df, value, what="value")
    _frames.require_columns(df, privacy_unit, what="privacy_unit", allow_index=True)
    return _params(epsilon, lo, hi, threshold, max_rows_per_unit)


def _params(epsilon: float, lo: float, hi: float, threshold: float,
            max_rows_per_unit: int) -> SmoothedRRParams:
    V.integer(minimum=1, max_rows_per_unit=max_rows_per_unit)
    return SmoothedRRParams.replacement(epsilon, lo, hi, threshold)


def _run(df: Any, value: str, privacy_unit: str, p: SmoothedRRParams, rng: RNGLike,
         max_rows_per_unit: int, tally: bool, progress: bool) -> Any:
    gen = local_generator(rng, "smoothed RR")
    df = checked(df, finite=(value,), what="value")
    bounded = bound_contributions(df, privacy_unit=privacy_unit, max_partitions=1,
                                  max_per_partition=max_rows_per_unit, rng=gen)
    seed = int(gen.integers(0, 2**63))
    agg = _Responses(privacy_unit, value, p, seed, tally)
    return _engine.run(bounded, agg, progress=progress)


def smoothed_rr_responses(df: Any, *, value: str, privacy_unit: str, epsilon: float,
                          lo: float, hi: float, rng: RNGLike, threshold: float = 0.0,
                          max_rows_per_unit: int = 1, progress: bool = False) -> pd.DataFrame:
    """One smoothed-RR bit per privacy unit (the column transform).

    Definition: see the module docstring (bounding, per-unit mean clipped to [lo, hi],
    x = −sign(v − t) w.p. ½·exp(−ε|v − t|/(hi − lo)), keyed per unit).

    Privacy: local ε-DP per privacy unit, replace-one (Liu & Rahimian 2025); event
    :func:`smoothed_rr_event` (pure ε, replace-one). Not hardened.

    Args:
        df: a pandas or Dask DataFrame.
        value: the numeric signal column (NaN/inf refused).
        privacy_unit: the unit column (no nulls).
        epsilon: ε > 0.
        lo, hi: the clipping range, lo < hi (finite); Δ = hi − lo.
        rng: an int seed or numpy Generator (SecureGenerator refused: keyed draws).
        threshold: the public threshold t.
        max_rows_per_unit: rows per unit averaged into its signal (≥ 1).
        progress: a progress bar while the table is processed.

    Returns:
        A pandas DataFrame with the unit column (object dtype) and ``"response"`` (int8,
        ±1), one row per unit, in a deterministic order of the units.

    Raises:
        DPKitError: a missing column, nulls in the unit column, NaN/inf values, bad ε, range
            or threshold.
    """
    p = _setup(df, value, privacy_unit, epsilon, lo, hi, threshold, max_rows_per_unit)
    out = _run(df, value, privacy_unit, p, rng, max_rows_per_unit, False, progress)
    order = _frames.key_order(_frames.pandas().Index(out[privacy_unit]))
    out = out.iloc[order].reset_index(drop=True)
    # one dtype whatever the engine (Dask turns object / str columns into Arrow strings)
    return out.astype({privacy_unit: object})


def smoothed_rr_tally(df: Any, *, value: str, privacy_unit: str, epsilon: float, lo: float,
                      hi: float, rng: RNGLike, threshold: float = 0.0,
                      max_rows_per_unit: int = 1, progress: bool = False) -> pd.DataFrame:
    """The tallies of the units' smoothed-RR bits: ``positive`` (+1), ``negative`` (−1) and
    ``units``, merged exactly over partitions; the bits are those
    :func:`smoothed_rr_responses` releases for the same arguments and ``rng``.

    Privacy: post-processing of local ε-DP bits (replace-one per unit; Liu & Rahimian 2025).

    Raises:
        DPKitError: as :func:`smoothed_rr_responses`.
    """
    p = _setup(df, value, privacy_unit, epsilon, lo, hi, threshold, max_rows_per_unit)
    counts = _run(df, value, privacy_unit, p, rng, max_rows_per_unit, True, progress)
    pos, neg = int(counts[0]), int(counts[1])
    return _frames.pandas().DataFrame({"positive": [pos], "negative": [neg], "units": [pos + neg]})


def smoothed_rr_event(*, epsilon: float, lo: float, hi: float, threshold: float = 0.0,
                      max_rows_per_unit: int = 1, **_: Any) -> Event:
    """The event of :func:`smoothed_rr_responses` / :func:`smoothed_rr_tally`:
    ``SmoothedRRParams.replacement(ε, lo, hi, t).privacy_event()``: pure ε (the Laplace
    mechanism then thresholding), replace-one per privacy unit (Liu & Rahimian 2025).

    Raises:
        DPKitError: bad ε, range or threshold.
    """
    return _params(epsilon, lo, hi, threshold, max_rows_per_unit).privacy_event()


register_event(smoothed_rr_responses, smoothed_rr_event)
register_event(smoothed_rr_tally, smoothed_rr_event)
