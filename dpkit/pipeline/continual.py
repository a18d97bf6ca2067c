"""Keyed continual counters on a table: time-bucketed counts per key, released at every step.

:func:`continual_counts` releases, for every public key and every time step t = 0..T−1, a
private running count (the number of kept rows of that key at steps ≤ t), as a continual-
release counter would after each step (Dwork, Naor, Pitassi, Rothblum, STOC 2010; Chan, Shi,
Song, ICALP 2010; the four strategies of :mod:`dpkit.mechanisms.continual`):

1. rows whose key is not in the public ``keys`` list are dropped (public partitions: no key
   is ever inferred from the data); the time column must hold integer steps in [0, T);
2. contribution bounding per privacy unit (:func:`dpkit.pipeline.bounding.bound_contributions`
   with ``partition=time``): at most κ = ``max_steps_per_unit`` distinct steps per unit and at
   most C = ``max_contributions_per_step`` rows per (unit, step), chosen uniformly at random;
3. exact integer counts per (step, key) on every partition, merged exactly
   (:class:`dpkit.pipeline._engine.KeyedSums`), arranged as a d-dimensional stream x_t
   (d = number of keys);
4. one run of the counter: the mechanisms are linear, y = A x + B z (A the prefix-sum matrix,
   A = BC), so the release is the exact prefix sums plus the counter's noise B z, drawn once
   from ``rng`` by :func:`dpkit.mechanisms.continual.run` on the zero stream.

Privacy: add/remove of one privacy unit (all of its rows). After bounding, one unit changes
the stream at ≤ κ steps, at each by a vector of nonnegative counts with ℓ1 (hence ℓ2) norm
≤ C — the multi-participation model of :class:`~dpkit.mechanisms.continual.CounterParams` with
``participations=κ``, ``bound=C``, ``relation="add_remove"`` ("zero-out": the unit's items go
to 0) and ``dimension=d``, whose sensitivity is dpkit's exact multi-participation sensitivity
(:func:`~dpkit.mechanisms.continual.participation_sensitivity`; every strategy matrix here is
entrywise nonnegative, so vectors of nonnegative counts are worst when aligned, the scalar
case). Event: :func:`continual_counts_event` = the counter's ``privacy_event`` (ρ-zCDP with
Gaussian noise, pure ε with Laplace noise). Noise in floating point: not hardened.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import _validate as V
from ..accounting.events import ADD_REMOVE, Composed, Event, Repeated
from ..errors import DPKitError
from ..mechanisms.continual.mechanism import run as run_counter
from ..mechanisms.continual.params import KINDS, CounterParams
from ..random import RNGLike, as_generator
from . import _engine, _frames
from .bounding import bound_contributions
from .privacy import register_event

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["continual_counts", "continual_counts_event"]


def _counter(kind: str, horizon: int, keys: Sequence[Any], max_contributions_per_step: int,
             max_steps_per_unit: int, noise_multiplier: float | None, epsilon: float | None,
             rho: float | None) -> CounterParams:
    """The d-dimensional counter of the release (validates every parameter)."""
    if kind not in KINDS:
        raise DPKitError(f"kind must be one of {KINDS}, got {kind!r}")
    c = V.integer(minimum=1, max_contributions_per_step=max_contributions_per_step)
    k = V.integer(minimum=1, max_steps_per_unit=max_steps_per_unit)
    d = len(_keys(keys))
    common: dict[str, Any] = {"dimension": d, "bound": float(c), "relation": "add_remove",
                              "participations": k}
    given = [x is not None for x in (noise_multiplier, epsilon, rho)]
    if sum(given) != 1:
        raise DPKitError("give exactly one of noise_multiplier (Gaussian), rho (Gaussian, "
                         "calibrated) and epsilon (Laplace, kind 'tree' or 'honaker')")
    if rho is not None:
        return CounterParams.for_rho(kind, horizon, rho, **common)
    return CounterParams(kind, horizon, noise_multiplier=noise_multiplier,
                         epsilon=epsilon, **common)


def _keys(keys: Any) -> list[Any]:
    if keys is None or isinstance(keys, (str, bytes)) or not hasattr(keys, "__len__") \
            or len(keys) == 0:
        raise DPKitError(f"keys must be a non-empty list of the public keys, got {keys!r}")
    out = list(keys)
    if len(set(out)) != len(out):
        raise DPKitError("keys must be distinct")
    return out


class _KeepKeys:
    """Row filter: rows whose key is public and whose time is an integer step in [0, T)."""

    def __init__(self, by: list[Any], keys: list[Any], time: Any, horizon: int) -> None:
        self.by, self.keys, self.time, self.horizon = by, keys, time, horizon

    def __call__(self, pdf: pd.DataFrame) -> pd.DataFrame:
        for b in self.by:
            _frames.check_no_nulls(pdf, b, "by")
        _frames.check_no_nulls(pdf, self.time, "time")
        if len(self.by) == 1:
            mask = pdf[self.by[0]].isin(self.keys).to_numpy()
        else:
            mask = _frames.pandas().MultiIndex.from_frame(pdf[self.by]).isin(self.keys)
        t = pdf[self.time]
        if t.dtype.kind not in "iu":
            raise DPKitError(f"time: column {self.time!r} must hold integer steps in "
                             f"[0, {self.horizon}), got dtype {t.dtype}")
        tv = t.to_numpy()
        if tv.size and (int(tv.min()) < 0 or int(tv.max()) >= self.horizon):
            raise DPKitError(f"time: column {self.time!r} must hold steps in "
                             f"[0, {self.horizon}) (horizon={self.horizon}), got values in "
                             f"[{int(tv.min())}, {int(tv.max())}]")
        return pdf[mask]


def continual_counts(df: Any, *, time: str, by: str | list[str], privacy_unit: str,
                     keys: Sequence[Any], horizon: int, max_contributions_per_step: int,
                     max_steps_per_unit: int, rng: RNGLike, kind: str = "tree",
                     noise_multiplier: float | None = None, epsilon: float | None = None,
                     rho: float | None = None, progress: bool = False) -> pd.DataFrame:
    """Private running counts per public key, released at every time step (continual release).

    Definition: see the module docstring (public keys, bounding per unit: ≤ κ steps and ≤ C
    rows per step; exact counts per (step, key) merged; one counter run with its noise).

    Privacy: add/remove of one privacy unit; the d-dimensional counter with κ =
    ``max_steps_per_unit`` participations, item bound C = ``max_contributions_per_step``
    (zero-out relation); ρ = s²/(2σ²)-zCDP (Gaussian; s the exact κ-participation
    sensitivity) or pure ε (Laplace, tree kinds). Event: ``privacy_event(continual_counts,
    ...)``. Dwork, Naor, Pitassi, Rothblum 2010; Chan, Shi, Song 2010; Honaker 2015;
    Fichtenberger, Henzinger, Upadhyay 2023; Dvijotham et al. 2024 (BLT). Not hardened.

    Args:
        df: a pandas or Dask DataFrame.
        time: the integer time-step column, values in [0, horizon) (bucket timestamps first,
            e.g. ``(ts - start) // pd.Timedelta("1D")``).
        by: the key column, or a list of key columns.
        privacy_unit: the unit column (no nulls).
        keys: the public keys (values of ``by``; tuples for several columns), in the order
            of the output. Rows with other keys are dropped.
        horizon: T, the number of steps released (t = 0..T−1).
        max_contributions_per_step: C ≥ 1, rows kept per (unit, step), all keys together.
        max_steps_per_unit: κ ≥ 1, distinct steps kept per unit.
        rng: None, an int seed, a numpy Generator or SecureGenerator.
        kind: "tree" (default), "honaker", "sqrt" or "blt".
        noise_multiplier / rho / epsilon: exactly one: Gaussian σ (per unit of Δ = C),
            Gaussian calibrated to ρ-zCDP, or Laplace ε (tree kinds).
        progress: a progress bar while the table is aggregated.

    Returns:
        A pandas DataFrame with one row per (step, key): the ``time`` column (0..T−1), the
        ``by`` column(s), and ``"count"`` (the private count of rows at steps ≤ t).

    Raises:
        DPKitError: a missing column, nulls, times outside [0, T) or not integers, a bad
            parameter (named).
    """
    cols = _frames.column_list(by, "by")
    key_list = _keys(keys)
    params = _counter(kind, horizon, key_list, max_contributions_per_step, max_steps_per_unit,
                      noise_multiplier, epsilon, rho)
    if time in cols:
        raise DPKitError(f"time: column {time!r} is also a key column (by)")
    _frames.require_columns(df, time, what="time")
    _frames.require_columns(df, *cols, what="by")
    _frames.require_columns(df, privacy_unit, what="privacy_unit", allow_index=True)
    gen = as_generator(rng)
    t_max = params.horizon
    keep = _KeepKeys(cols, key_list, time, t_max)
    kept = df.map_partitions(keep, meta=df._meta) if _frames.is_dask(df) else keep(df)
    bounded = bound_contributions(kept, privacy_unit=privacy_unit,
                                  max_partitions=params.participations,
                                  max_per_partition=int(max_contributions_per_step),
                                  partition=time, rng=gen)
    state = _engine.run(bounded, _engine.KeyedSums((time, *cols), ("__rows__",)),
                        progress=progress)
    d = len(key_list)
    stream = np.zeros((t_max, d), dtype=np.int64)
    slot = {k: j for j, k in enumerate(key_list)}
    for idx, n in zip(state.index, state["__rows__"].to_numpy(), strict=True):
        t, key = (idx[0], idx[1] if len(cols) == 1 else tuple(idx[1:]))
        stream[int(t), slot[key]] += int(n)
    zeros = np.zeros(t_max) if d == 1 else np.zeros((t_max, d))
    noise = np.asarray(run_counter(params, zeros, gen, backend="numpy")).reshape(t_max, d)
    released = np.cumsum(stream, axis=0).astype(np.float64) + noise
    steps = np.repeat(np.arange(t_max, dtype=np.int64), d)
    pd = _frames.pandas()
    out: dict[str, Any] = {time: steps}
    if len(cols) == 1:
        out[cols[0]] = pd.Series(key_list * t_max, dtype=object)
    else:
        for i, c in enumerate(cols):
            out[c] = pd.Series([k[i] for k in key_list] * t_max, dtype=object)
    out["count"] = released.reshape(-1)
    return pd.DataFrame(out)


def continual_counts_event(*, keys: Sequence[Any], horizon: int,
                           max_contributions_per_step: int, max_steps_per_unit: int,
                           kind: str = "tree", noise_multiplier: float | None = None,
                           epsilon: float | None = None, rho: float | None = None,
                           **_: Any) -> Event:
    """The event of :func:`continual_counts`: the privacy event of the d-dimensional counter
    (d = len(keys)) with ``participations=max_steps_per_unit``, ``bound=
    max_contributions_per_step``, relation add/remove (one privacy unit). Exact
    multi-participation sensitivity of :mod:`dpkit.mechanisms.continual`.

    Raises:
        DPKitError: a bad parameter (named).
    """
    ev = _counter(kind, horizon, _keys(keys), max_contributions_per_step,
                  max_steps_per_unit, noise_multiplier, epsilon, rho).privacy_event()
    return _add_remove(ev)


def _add_remove(ev: Event) -> Event:
    """The counter's event with the relation stated: add/remove of one privacy unit (the
    counter's zero-out neighbours: the unit's items set to 0 at fixed stream length)."""
    if isinstance(ev, Repeated):
        return Repeated(_add_remove(ev.event), ev.count)
    if isinstance(ev, Composed):
        return Composed(tuple(_add_remove(e) for e in ev.events))
    if getattr(ev, "relation", ADD_REMOVE) is None:
        return dataclasses.replace(ev, relation=ADD_REMOVE)  # type: ignore[type-var]
    return ev


register_event(continual_counts, continual_counts_event)
