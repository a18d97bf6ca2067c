"""Keyed count, sum and mean with contribution bounding and partition selection.

Every function: validate → bound contributions per privacy unit
(:func:`.bounding.bound_contributions`, one seed from ``rng``) → exact per-key integer state
(:class:`._engine.KeyedSums`, map / tree-merge on Dask) → noise drawn once from ``rng`` for all
keys in the deterministic key order → keep the keys whose noisy row count passes the
threshold (:mod:`.selection`; or all of ``public_partitions``). pandas and Dask give the same
release, bit for bit, for the same ``rng``. Returns a pandas DataFrame, one row per released
key: the key column(s) and the released statistic, sorted by key.

Noise: counts get the exact discrete Laplace (default) or discrete Gaussian samplers of
:mod:`dpkit.mechanisms.additive` (Canonne, Kamath, Steinke 2020; hardened with a
SecureGenerator). Sums are computed in fixed point — each clipped value is rounded to the
nearest multiple of ``u = B / 2^24`` (B = max(|lo|, |hi|), or (hi − lo)/2 around the midpoint
for ``mean``), which never takes it outside [−B, B] — so that per-key sums are exact integers
(any partitioning gives the same state, bit for bit); they get continuous Laplace or Gaussian
noise (Dwork, McSherry, Nissim, Smith 2006; the Gaussian calibrated by zCDP, Bun & Steinke
2016), drawn from ``rng`` in floating point (not hardened against floating-point attacks,
Mironov 2012).

Privacy (add/remove of one privacy unit, after bounding to m = ``max_partitions`` keys and c =
``max_per_partition`` rows per key, values clipped to ``bounds``):

* ``count``: noise on the row counts (L1 sensitivity m·c, L2 ⌈c√m⌉) and thresholding:
  (ε, δ)-DP, proved in :mod:`.selection` (Korolova et al. 2009; Wilson et al. 2020).
* ``sum``: ε/2 (and δ/2 for Gaussian noise) for a noisy count used only for selection, ε/2
  for the noisy sums (L1 sensitivity m·c·B): basic composition gives (ε, δ).
* ``mean``: the same noisy count (ε/2, released with the mean's selection) and noisy centered
  sums (ε/2); mean = midpoint + noisy centered sum / noisy count, clipped to the bounds
  (post-processing).
* ``selection="truncated_geometric"`` (any metric): ε/2 and δ (δ/2 with Gaussian noise) to
  the optimal selection of Desfontaines, Voss, Gipson, Mandayam 2022 on the number of units
  per key (:func:`.selection.truncated_geometric_probabilities`, (ε/2m, δ/m) per key), the
  other ε/2 to the statistics as above without threshold. Proof: the release is a
  post-processing of (the selection decisions, the noisy statistics) over all keys of D ∪ D'
  (a key absent from a table has count 0 there and π(0) = 0, so it is never shown): the
  decisions are (ε/2, δ)-DP (one unit changes at most m keys' unit counts by one; basic
  composition), the statistics ε/2-DP; basic composition gives (ε, δ).
* With ``public_partitions`` (keys known without looking at the data) no selection happens,
  rows with other keys are dropped before bounding, and every public key is released: the
  event is the noise's own (``PureDP`` for Laplace, ``ZCDP`` for Gaussian, composed for mean),
  which the accountant composes tightly. With private selection the event is the proved
  (ε, δ) statement :class:`~dpkit.accounting.events.ApproxDP`, which the accountant composes
  by its PLD path (``method="auto"``).

What a call spends: ``privacy_event(count, **same_kwargs)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _validate as V
from ..accounting.events import (
    ADD_REMOVE,
    ZCDP,
    ApproxDP,
    Composed,
    Event,
    Gaussian,
    Laplace,
    PureDP,
)
from ..errors import DPKitError
from ..mechanisms.additive import sample_discrete_gaussian, sample_discrete_laplace
from ..random import RNGLike, as_generator
from ._engine import KeyedSums, run
from ._frames import (
    check_no_nulls,
    column_list,
    is_dask,
    key_order,
    pandas,
    require_columns,
    require_frame,
)
from .bounding import apply_spec, check_bounds, make_spec
from .privacy import register_event, sum_up
from .selection import NOISES, Threshold, calibrate_threshold, truncated_geometric_probabilities

__all__ = ["count", "sum", "mean", "select_partitions", "KeyedPlan", "plan"]

_ROWS = "__rows__"
_Q = "__q__"
_UNITS = "__units__"
#: Bits of the fixed-point grid of sums: |q| ≤ 2^24, so int64 sums are exact up to 2^38 rows
#: per key.
_BITS = 24


@dataclass(frozen=True)
class SumNoise:
    """Continuous noise on a keyed sum of L1 / L2 sensitivity ``sensitivity`` (value units).

    ``kind`` "laplace": Lap(scale), ε-DP with ε = sensitivity/scale (Dwork et al. 2006);
    "gaussian": N(0, scale²), ρ = sensitivity²/(2 scale²) zCDP (Bun & Steinke 2016), converted
    to (ε, δ) by Canonne, Kamath, Steinke 2020, Prop. 12.
    """

    kind: str
    scale: float
    sensitivity: float
    epsilon: float
    delta: float

    @property
    def kind_name(self) -> str:
        """The noise's name ("laplace" or "gaussian")."""
        return self.kind

    def event(self) -> Event:
        """``Laplace`` / ``Gaussian`` event (noise multiplier = scale / sensitivity)."""
        mult = math.nextafter(self.scale / self.sensitivity, 0.0)
        if self.kind == "laplace":
            return Laplace(mult, relation=ADD_REMOVE)
        return Gaussian(mult, relation=ADD_REMOVE)


def _sum_noise(kind: str, sensitivity: float, epsilon: float, delta: float) -> SumNoise:
    if kind == "laplace":
        scale = math.nextafter(sensitivity / epsilon, math.inf)
        return SumNoise(kind, scale, sensitivity, epsilon, 0.0)
    from .selection import calibrate_threshold as _cal

    # σ for sensitivity 1 (the discrete calibration is a valid upper bound for the
    # continuous Gaussian: the zCDP conversion is the same), scaled by the sensitivity
    unit = _cal(epsilon=epsilon, delta=delta, max_partitions=1, max_per_partition=1,
                noise="gaussian", select=False)
    scale = math.nextafter(float(unit.scale) * sensitivity, math.inf)
    return SumNoise(kind, scale, sensitivity, epsilon, delta)


@dataclass(frozen=True)
class KeyedPlan:
    """Everything a keyed release decides before it reads the data (internal, data-free).

    ``count_noise`` calibrates the row counts (and the threshold unless keys are public);
    ``sum_noise`` the fixed-point sums (None for ``count``); ``quantum`` the fixed-point step u
    and ``bits`` b (|q| ≤ 2^b); ``center`` the midpoint subtracted before summing (mean).
    """

    metric: str
    count_noise: Threshold | None
    sum_noise: SumNoise | None
    quantum: float
    bits: int
    center: float
    bounds: tuple[float, float] | None
    public: bool
    #: "threshold" or "truncated_geometric" (then ``select_budget`` = (ε, δ, m) of it)
    selection: str = "threshold"
    select_budget: tuple[float, float, int] = (0.0, 0.0, 1)

    def event(self) -> Event:
        """The privacy event of the release (see the module docstring)."""
        parts = [t for t in (self.count_noise, self.sum_noise) if t is not None]
        if not self.public:
            eps_parts = [t.epsilon for t in parts]
            dl_parts = [t.delta for t in parts]
            if self.selection == "truncated_geometric":  # Desfontaines et al. 2022
                eps_parts.append(self.select_budget[0])
                dl_parts.append(self.select_budget[1])
            return ApproxDP(sum_up(eps_parts), min(1.0, sum_up(dl_parts)), relation=ADD_REMOVE)
        evs = [_noise_event(t) if isinstance(t, Threshold) else t.event() for t in parts]
        return evs[0] if len(evs) == 1 else Composed(tuple(evs))


def _noise_event(t: Threshold) -> Event:
    if t.noise == "laplace":
        return PureDP(t.epsilon_noise, relation=ADD_REMOVE)
    s = float(t.scale)
    rho = math.nextafter(t.sensitivity ** 2 / (2.0 * s * s), math.inf)
    return ZCDP(rho, relation=ADD_REMOVE)


SELECTIONS = ("threshold", "truncated_geometric")


def plan(metric: str, *, max_partitions: Any, max_per_partition: Any, epsilon: Any,
         delta: Any = 0.0, bounds: Any = None, noise: str = "laplace",
         public_partitions: Any = None, selection: str = "threshold") -> KeyedPlan:
    """Validate the parameters of a keyed release and calibrate its noise (data-free).

    Budget. ``selection="threshold"``: count ε (count), ε/2 + ε/2 (sum: the selecting count,
    the sums; mean: the count, the centered sums); δ to the threshold (Laplace) or halved
    between the threshold and the Gaussian noise. ``selection="truncated_geometric"``: ε/2 and
    δ (Laplace; δ/2 with Gaussian noise) to the selection, the other ε/2 to the statistics as
    above. Public keys: no selection, ε to the statistics.

    Privacy: the plan's :meth:`KeyedPlan.event` is the release's statement (module docstring).
    """
    if metric not in ("count", "sum", "mean"):
        raise DPKitError(f"metric must be 'count', 'sum' or 'mean', got {metric!r}")
    m = V.integer(minimum=1, max_partitions=max_partitions)
    c = V.integer(minimum=1, max_per_partition=max_per_partition)
    eps = V.positive(epsilon=epsilon)
    dl = V.probability(delta=delta)
    if noise not in NOISES:
        raise DPKitError(f"noise must be one of {NOISES}, got {noise!r}")
    if selection not in SELECTIONS:
        raise DPKitError(f"selection must be one of {SELECTIONS}, got {selection!r}")
    public = public_partitions is not None
    tg = selection == "truncated_geometric" and not public
    select = not public and not tg  # thresholding on the noisy count
    sel_budget = (0.0, 0.0, m)
    if tg:
        if not 0.0 < dl < 1.0:
            raise DPKitError(f"delta must be in (0, 1) with private partition selection, got "
                             f"{delta!r}; pass public_partitions to release known keys")
        d_sel = dl if noise == "laplace" else dl / 2
        sel_budget = (eps / 2, d_sel, m)
        eps, dl = eps / 2, dl - d_sel
    if metric == "count":
        if bounds is not None:
            raise DPKitError("bounds: count takes no bounds (it counts rows)")
        t = calibrate_threshold(epsilon=eps, delta=dl, max_partitions=m, max_per_partition=c,
                                noise=noise, select=select, tail_weight=c)
        return KeyedPlan("count", t, None, 1.0, 0, 0.0, None, public, selection, sel_budget)
    if bounds is None:
        raise DPKitError(f"bounds: {metric} needs bounds=(lo, hi) for the value column")
    lo, hi = check_bounds(bounds)
    center = 0.0 if metric == "sum" else lo / 2 + hi / 2
    big = max(abs(lo), abs(hi)) if metric == "sum" else (hi - lo) / 2
    if metric == "sum" and big == 0.0:
        raise DPKitError("bounds: (0, 0) leaves nothing to sum; give bounds with lo < hi")
    need_count = select or metric == "mean"
    if not need_count:
        e_count, e_sum = 0.0, eps
    else:
        e_count, e_sum = eps / 2, eps / 2
    # δ: all to the selection with Laplace noise; halves with Gaussian noise on both parts
    both = need_count and big > 0
    d_count = dl / 2 if (noise == "gaussian" and both) else dl
    d_sum = (dl / 2 if both else dl) if noise == "gaussian" else 0.0
    t_count = None
    if need_count:
        t_count = calibrate_threshold(epsilon=e_count if big > 0 else eps, delta=d_count,
                                      max_partitions=m, max_per_partition=c, noise=noise,
                                      select=select, tail_weight=c)
    t_sum = None
    b = 0
    quantum = 1.0
    if big > 0:
        b = _BITS
        quantum = big / 2.0**b
        sens = m * c * big if noise == "laplace" else math.sqrt(m) * c * big
        t_sum = _sum_noise(noise, math.nextafter(sens, math.inf), e_sum, d_sum)
    return KeyedPlan(metric, t_count, t_sum, quantum, b, center, (lo, hi), public, selection,
                     sel_budget)


def _event_fn(metric: str) -> Any:
    def event(*, max_partitions: Any, max_per_partition: Any, epsilon: Any, delta: Any = 0.0,
              bounds: Any = None, noise: str = "laplace", public_partitions: Any = None,
              selection: str = "threshold", **_columns: Any) -> Event:
        return plan(metric, max_partitions=max_partitions, max_per_partition=max_per_partition,
                    epsilon=epsilon, delta=delta, bounds=bounds, noise=noise,
                    public_partitions=public_partitions, selection=selection).event()

    event.__name__ = f"{metric}_event"
    return event


def _public_filter(df: Any, keys: list[Any], public: Any) -> tuple[Any, Any]:
    """Drop rows whose key is not public; the public keys as a pandas Index (deduplicated)."""
    pd = pandas()
    if len(keys) == 1:
        pub = pd.Index(list(public), name=keys[0]).unique()
        if bool(pub.isna().any()):
            raise DPKitError("public_partitions must not contain null/NaN keys")
        mask = df[keys[0]].isin(list(pub))
    else:
        try:
            pub = pd.MultiIndex.from_tuples([tuple(k) for k in public], names=keys).unique()
        except (TypeError, ValueError):
            raise DPKitError("public_partitions must be tuples of key values (one per "
                             f"column of by={keys!r})") from None
        joined = df[keys[0]].astype(str)
        for k in keys[1:]:  # fast membership on a joined representation
            joined = joined + "\x1f" + df[k].astype(str)
        want = ["\x1f".join(str(v) for v in t) for t in pub]
        mask = joined.isin(want)
    return df[mask], pub


def _quantize(pdf: Any, value: Any, center: float, quantum: float, bits: int) -> Any:
    x = pdf[value].to_numpy(dtype=np.float64) - center
    q = np.rint(x / quantum)
    lim = float(2**bits)
    out = pdf.assign(**{_Q: np.clip(q, -lim, lim).astype(np.int64)})
    return out


def _mark_units(pdf: Any, unit: Any, keys: list[Any]) -> Any:
    """``pdf`` with an int64 column that is 1 on one row of each (unit, key) pair, else 0."""
    pd = pandas()
    cols = {i: (pdf[c] if c in pdf.columns else pdf.index.to_series()).to_numpy()
            for i, c in enumerate([unit, *keys])}
    first = ~pd.DataFrame(cols).duplicated().to_numpy()
    return pdf.assign(**{_UNITS: first.astype(np.int64)})


def _check_nulls(pdf: Any, unit: Any, keys: list[Any]) -> Any:
    """The partition itself, after the null checks of the privacy unit and key columns."""
    check_no_nulls(pdf, unit, "privacy_unit")
    for k in keys:
        check_no_nulls(pdf, k, "by")
    return pdf


def _keyed(metric: str, df: Any, *, by: Any, privacy_unit: Any, max_partitions: Any,
           max_per_partition: Any, epsilon: Any, delta: Any, rng: RNGLike, value: Any = None,
           bounds: Any = None, noise: str = "laplace", public_partitions: Any = None,
           selection: str = "threshold", progress: bool = False) -> Any:
    pd = pandas()
    require_frame(df)
    keys = column_list(by, "by")
    require_columns(df, *keys, what="by")
    p = plan(metric, max_partitions=max_partitions, max_per_partition=max_per_partition,
             epsilon=epsilon, delta=delta, bounds=bounds, noise=noise,
             public_partitions=public_partitions, selection=selection)
    if metric != "count" and value is None:
        raise DPKitError(f"value: {metric} needs the value column")
    gen = as_generator(rng)
    spec = make_spec(df, privacy_unit=privacy_unit, max_partitions=max_partitions,
                     max_per_partition=max_per_partition, partition=keys, rng=gen,
                     value=value, bounds=p.bounds, key_name="by")
    if is_dask(df):  # checked when the frame is computed, before anything is released
        df = df.map_partitions(_check_nulls, privacy_unit, keys, meta=df._meta)
    else:
        _check_nulls(df, privacy_unit, keys)
    # only the columns the release reads (bounding then ranks rows by these alone)
    df = df[[c for c in [privacy_unit, *keys, value] if c is not None and c in df.columns]]
    pub = None
    if public_partitions is not None:
        df, pub = _public_filter(df, keys, public_partitions)
    bounded = apply_spec(df, spec)
    columns: tuple[str, ...] = (_ROWS,)
    if metric != "count" and p.sum_noise is not None:
        if is_dask(bounded):
            bounded = bounded.map_partitions(_quantize, value, p.center, p.quantum, p.bits)
        else:
            bounded = _quantize(bounded, value, p.center, p.quantum, p.bits)
        columns = (*columns, _Q)
    if p.selection == "truncated_geometric" and not p.public:
        # one mark per (unit, key) pair: every unit's rows are in one partition after bounding
        if is_dask(bounded):
            bounded = bounded.map_partitions(_mark_units, privacy_unit, keys)
        else:
            bounded = _mark_units(bounded, privacy_unit, keys)
        columns = (*columns, _UNITS)
    state = run(bounded, KeyedSums(tuple(keys), columns), progress=progress)
    if pub is not None:
        state = state.reindex(pub, fill_value=0).astype(np.int64)
        state = state.iloc[key_order(state.index)]
    return _privatize(p, state, keys, gen, pd)


def _draw(t: Threshold, n: int, gen: Any) -> np.ndarray:
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if t.noise == "laplace":
        return np.asarray(sample_discrete_laplace(t.scale, n, gen), dtype=np.int64)
    return np.asarray(sample_discrete_gaussian(t.scale, n, gen), dtype=np.int64)


def _privatize(p: KeyedPlan, state: Any, keys: list[Any], gen: Any, pd: Any) -> Any:
    """Noise once, in key order; select; the output frame. Called exactly once per release."""
    n = len(state)
    rows = state[_ROWS].to_numpy(dtype=np.int64)
    noisy_count = np.zeros(n, dtype=np.int64)
    if p.count_noise is not None:
        noisy_count = rows + _draw(p.count_noise, n, gen)
    noisy_sum = np.zeros(n, dtype=np.float64)
    if p.sum_noise is not None:
        exact = state[_Q].to_numpy(dtype=np.int64).astype(np.float64) * p.quantum
        if p.sum_noise.kind == "laplace":
            draw = gen.laplace(0.0, p.sum_noise.scale, size=n) if n else np.zeros(0)
        else:
            draw = gen.normal(0.0, p.sum_noise.scale, size=n) if n else np.zeros(0)
        noisy_sum = exact + np.asarray(draw, dtype=np.float64)
    keep = np.ones(n, dtype=bool)
    if p.selection == "truncated_geometric" and not p.public:
        units = state[_UNITS].to_numpy(dtype=np.int64)
        e_sel, d_sel, m = p.select_budget
        pi = truncated_geometric_probabilities(e_sel, d_sel, m, int(units.max()) if n else 0)
        keep = np.asarray(gen.random(n), dtype=np.float64) < pi[units] if n else keep
    elif not p.public and p.count_noise is not None and p.count_noise.threshold is not None:
        keep = np.asarray(noisy_count >= p.count_noise.threshold, dtype=bool)
    out = state.index[keep].to_frame(index=False)
    out.columns = keys
    if p.metric == "count":
        out["count"] = noisy_count[keep]
    elif p.metric == "sum":
        out["sum"] = noisy_sum[keep]
    else:
        lo, hi = p.bounds if p.bounds is not None else (0.0, 0.0)
        cnt = np.maximum(noisy_count[keep], 1).astype(np.float64)
        out["mean"] = np.clip(p.center + noisy_sum[keep] / cnt, lo, hi)
    return out.reset_index(drop=True)


def count(df: Any, *, by: Any, privacy_unit: Any, max_partitions: int, max_per_partition: int,
          epsilon: float, delta: float = 0.0, rng: RNGLike = None, noise: str = "laplace",
          public_partitions: Any = None, selection: str = "threshold",
          progress: bool = False) -> Any:
    """Differentially private row counts per key, with partition selection.

    Args:
        df: a pandas or Dask DataFrame.
        by: the key column or a list of key columns (no NaN keys).
        privacy_unit: the column identifying a privacy unit (no nulls).
        max_partitions: m ≥ 1, keys kept per unit (uniformly at random).
        max_per_partition: c ≥ 1, rows kept per (unit, key) (uniformly at random).
        epsilon: ε > 0. delta: δ in (0, 1) for private selection (0 allowed with public
            keys and Laplace noise).
        rng: None, an int seed, a numpy Generator or a SecureGenerator (hardened tier).
        noise: "laplace" (exact discrete Laplace) or "gaussian" (exact discrete Gaussian).
        public_partitions: keys known in advance (values, or tuples for several ``by``
            columns): no selection, all of them released, rows with other keys dropped.
        selection: "threshold" (default: a key is released iff its noisy count reaches a
            threshold; all of ε on the count) or "truncated_geometric" (Desfontaines et al.
            2022 on the number of units per key with ε/2 and δ, the count with ε/2; better
            when units rarely reach ``max_per_partition`` rows in a key, like PipelineDP's
            default).
        progress: a progress bar (Dask: ``dask.diagnostics.ProgressBar``).

    Returns:
        A pandas DataFrame: the ``by`` columns and ``count`` (int64, noisy), one row per
        released key, sorted by key.

    Privacy: (ε, δ)-DP under add/remove of one privacy unit (all of its rows), proved in
    :mod:`dpkit.pipeline.selection`; the event is ``privacy_event(count, **same_kwargs)``.
    Bad input raises a :class:`~dpkit.errors.DPKitError` naming the column or parameter,
    before anything is released.
    """
    return _keyed("count", df, by=by, privacy_unit=privacy_unit, max_partitions=max_partitions,
                  max_per_partition=max_per_partition, epsilon=epsilon, delta=delta, rng=rng,
                  noise=noise, public_partitions=public_partitions, selection=selection,
                  progress=progress)


def sum(df: Any, *, by: Any, value: Any, bounds: Any, privacy_unit: Any, max_partitions: int,
        max_per_partition: int, epsilon: float, delta: float = 0.0, rng: RNGLike = None,
        noise: str = "laplace", public_partitions: Any = None,
        selection: str = "threshold",
        progress: bool = False) -> Any:  # noqa: A001 - the name users expect
    """Differentially private sums of ``value`` per key, values clipped to ``bounds``.

    Arguments as :func:`count`, plus ``value`` (a numeric column without NaN) and ``bounds`` =
    (lo, hi), lo ≤ hi, not both 0. Returns the ``by`` columns and ``sum`` (float64).

    Privacy: (ε, δ)-DP under add/remove of one privacy unit: ε/2 for the noisy count that
    selects keys (none with public keys), ε/2 for the noisy fixed-point sums (L1
    sensitivity m·c·max(|lo|, |hi|)); basic composition. Event: ``privacy_event(sum, ...)``.
    """
    return _keyed("sum", df, by=by, privacy_unit=privacy_unit, max_partitions=max_partitions,
                  max_per_partition=max_per_partition, epsilon=epsilon, delta=delta, rng=rng,
                  value=value, bounds=bounds, noise=noise, public_partitions=public_partitions,
                  selection=selection, progress=progress)


def mean(df: Any, *, by: Any, value: Any, bounds: Any, privacy_unit: Any, max_partitions: int,
         max_per_partition: int, epsilon: float, delta: float = 0.0, rng: RNGLike = None,
         noise: str = "laplace", public_partitions: Any = None, selection: str = "threshold",
         progress: bool = False) -> Any:
    """Differentially private means of ``value`` per key, values clipped to ``bounds``.

    Arguments as :func:`sum`. Returns the ``by`` columns and ``mean`` (float64, within the
    bounds): midpoint + noisy centered sum / max(noisy count, 1).

    Privacy: (ε, δ)-DP under add/remove of one privacy unit: ε/2 for the noisy count (which
    also selects keys), ε/2 for the noisy centered sums (L1 sensitivity m·c·(hi − lo)/2);
    the mean is post-processing. Event: ``privacy_event(mean, ...)``.
    """
    return _keyed("mean", df, by=by, privacy_unit=privacy_unit, max_partitions=max_partitions,
                  max_per_partition=max_per_partition, epsilon=epsilon, delta=delta, rng=rng,
                  value=value, bounds=bounds, noise=noise, public_partitions=public_partitions,
                  selection=selection, progress=progress)


def _selection_params(max_partitions: Any, epsilon: Any, delta: Any) -> tuple[int, float, float]:
    m = V.integer(minimum=1, max_partitions=max_partitions)
    eps = V.positive(epsilon=epsilon)
    dl = V.in_range(0.0, 1.0, low_open=True, high_open=True, delta=delta)
    return m, eps, dl


def select_partitions(df: Any, *, by: Any, privacy_unit: Any, max_partitions: int,
                      epsilon: float, delta: float, rng: RNGLike = None,
                      progress: bool = False) -> Any:
    """The keys of ``df`` that may be released, chosen privately (no statistics released).

    Each unit keeps ``max_partitions`` of its keys (uniformly at random, one row each); a key
    held by n units is released with probability π(n), the optimal truncated geometric policy
    of Desfontaines, Voss, Gipson, Mandayam 2022 (Thm. 1) at (ε/m, δ/m) per key
    (:func:`.selection.truncated_geometric_probabilities`). The Bernoulli draws use
    ``rng.random`` in key order (not hardened against floating-point attacks).

    Returns:
        A pandas DataFrame of the released keys (the ``by`` columns), sorted by key.

    Privacy: (ε, δ)-DP under add/remove of one privacy unit (a unit changes at most m keys'
    unit counts by one; each key's decision is (ε/m, δ/m)-DP; basic composition). Event:
    ``privacy_event(select_partitions, ...)``.
    """
    require_frame(df)
    keys = column_list(by, "by")
    require_columns(df, *keys, what="by")
    m, eps, dl = _selection_params(max_partitions, epsilon, delta)
    gen = as_generator(rng)
    spec = make_spec(df, privacy_unit=privacy_unit, max_partitions=m, max_per_partition=1,
                     partition=keys, rng=gen, key_name="by")
    if not is_dask(df):
        check_no_nulls(df, privacy_unit, "privacy_unit")
        for k in keys:
            check_no_nulls(df, k, "by")
    df = df[[c for c in [privacy_unit, *keys] if c in df.columns]]
    state = run(apply_spec(df, spec), KeyedSums(tuple(keys), (_ROWS,)), progress=progress)
    units = state[_ROWS].to_numpy(dtype=np.int64)
    top = int(units.max()) if units.size else 0
    pi = truncated_geometric_probabilities(eps, dl, m, top)
    keep = np.asarray(gen.random(units.size)) < pi[units] if units.size else \
        np.zeros(0, dtype=bool)
    out = state.index[keep].to_frame(index=False)
    out.columns = keys
    return out.reset_index(drop=True)


def _select_event(*, max_partitions: Any, epsilon: Any, delta: Any, **_columns: Any) -> Event:
    m, eps, dl = _selection_params(max_partitions, epsilon, delta)
    return ApproxDP(eps, dl, relation=ADD_REMOVE)  # Desfontaines et al. 2022


register_event(select_partitions, _select_event)
register_event(count, _event_fn("count"))
register_event(sum, _event_fn("sum"))
register_event(mean, _event_fn("mean"))
