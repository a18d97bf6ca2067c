"""Empirical privacy audits: a statistically valid lower bound on ε from output samples.

A privacy claim "M is (ε, δ)-DP" says that for neighbours x, x' and every output set S,

    P[M(x) ∈ S] ≤ e^ε · P[M(x') ∈ S] + δ.

Given N samples of M(x) and N of M(x'), this module picks an event S and turns one-sided
Clopper–Pearson bounds p_lo ≤ P[M(x) ∈ S] and p'_hi ≥ P[M(x') ∈ S] into

    ε_lb = log((p_lo − δ) / p'_hi),

which is ≤ the true ε unless a confidence bound fails, which happens with probability at most
β over the sampling. If ε_lb exceeds the claimed ε, the claim is false (false-alarm probability
≤ β). An audit cannot prove privacy; it catches wrong constants, wrong sensitivities, wrong
neighbouring relations and sampler bugs.

The method (the one dpkit uses for every mechanism; see docs/audit.md):

1. Split each sample array in halves. The first (selection) half only *chooses* events, the
   second (estimation) half only *bounds* them, so the choice cannot bias the bound.
2. Candidate events: for discrete outputs the single outcomes {y = v} and the cumulative sets
   {y ≤ v}, {y ≥ v}; for continuous outputs the thresholds {y > t}, {y < t} with t on a grid
   of quantiles of the pooled selection half (denser in the tails). Each candidate is scored
   in both directions, (x, x') and (x', x), by the bound it would give on the selection half.
3. The ``top`` best-scoring events of each direction are bounded on the estimation half. β is
   split equally (Bonferroni) over these m = 2·top tests and, within a test, over its two
   Clopper–Pearson bounds: each one-sided bound has level β/(2m). The result is the largest
   bound (floored at 0, the trivial lower bound).

Candidates scored only on the selection half are not tests: conditional on the selection half
the chosen events are fixed, and the estimation half is independent of it, so only the m
estimation-half tests enter the union bound.

Samples must be independent draws in any order (not sorted).

References (methods): Ding et al. 2018 (StatDP); Bichsel et al. 2021 (DP-Sniper); Jagielski,
Ullman, Oprea 2020; Kong et al. 2024 (DP-Auditorium).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special, stats

from . import _validate as V
from .errors import DPKitError
from .random import RNGLike, SecureGenerator, as_generator

__all__ = [
    "AuditEvent",
    "AuditResult",
    "clopper_pearson",
    "audit_samples",
    "audit_mechanism",
]

_OPS = ("==", "<=", ">=", "<", ">")
_KINDS = ("auto", "discrete", "continuous")
#: A float sample is treated as discrete by kind="auto" when it holds whole numbers only and at
#: most this many distinct values.
MAX_AUTO_DISCRETE_OUTCOMES = 10_000
_MIN_SAMPLES = 20


# ============================================================================ result types
@dataclass(frozen=True)
class AuditEvent:
    """An output set S = {y : y ``op`` ``threshold``}, and the direction it was tested in.

    ``reverse=False``: the bound is on log P[M(x) ∈ S] / P[M(x') ∈ S] (first sample array on
    top); ``reverse=True``: on log P[M(x') ∈ S] / P[M(x) ∈ S].
    """

    op: str
    threshold: float
    reverse: bool = False

    def __post_init__(self) -> None:
        if self.op not in _OPS:
            raise DPKitError(f"op must be one of {_OPS}, got {self.op!r}")

    def contains(self, y: Any) -> np.ndarray:
        """Elementwise membership y ∈ S."""
        a = np.asarray(y)
        t = self.threshold
        if self.op == "==":
            return a == t
        if self.op == "<=":
            return a <= t
        if self.op == ">=":
            return a >= t
        if self.op == "<":
            return a < t
        return a > t

    def __str__(self) -> str:
        top, bottom = ("M(x')", "M(x)") if self.reverse else ("M(x)", "M(x')")
        return f"{{y {self.op} {self.threshold:g}}}: {top} over {bottom}"


@dataclass(frozen=True)
class AuditResult:
    """The outcome of an audit.

    Attributes:
        epsilon_lower_bound: ε_lb ≥ 0; the claim (ε, δ) is refuted when ε_lb > ε, with false-
            alarm probability at most ``beta``.
        event: the event (and direction) that gave ε_lb.
        n: samples per neighbour (each array's length).
        beta: the total false-alarm probability of the audit.
        delta: the δ of the audited (ε, δ) claim.
        p_lower: Clopper–Pearson lower bound on the top probability of ``event``.
        p_prime_upper: Clopper–Pearson upper bound on the bottom probability of ``event``.
        num_tests: m, the number of estimation-half tests β was split over.
        kind: "discrete" or "continuous", the event family used.
    """

    epsilon_lower_bound: float
    event: AuditEvent
    n: int
    beta: float
    delta: float
    p_lower: float
    p_prime_upper: float
    num_tests: int
    kind: str

    def __str__(self) -> str:
        return (f"epsilon >= {self.epsilon_lower_bound:.4f} (delta={self.delta:g}, "
                f"beta={self.beta:g}, n={self.n}, event {self.event})")


# ============================================================================ statistics
def _beta_lower_quantile(alpha: float, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """A value x ≤ the α-quantile of Beta(a, b) (the quantile itself up to rounding).

    scipy's quantile is used when it converges without a warning and its answer checks out
    (I_x(a, b) ≤ α); otherwise (α near the float range's end, e.g. 1e-300) a bisection on
    log x keeps the end where I_x(a, b) ≤ α, so the bound never moves past the quantile.
    The upper Clopper-Pearson bound uses 1 − x with (a, b) swapped: I_{1−x}(b, a) = 1 − I_x(a, b).
    """
    a, b = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
        warnings.simplefilter("always")
        x = np.asarray(stats.beta.ppf(alpha, a, b), dtype=float)
        ok = np.isfinite(x) & (special.betainc(a, b, np.clip(x, 0.0, 1.0)) <= alpha)
    if not caught and ok.all():
        return x
    lo = np.full(a.shape, math.log(5e-324))  # I_lo ≤ α always holds at the left end
    hi = np.zeros(a.shape)
    with np.errstate(all="ignore"):
        for _ in range(80):
            mid = 0.5 * (lo + hi)
            below = special.betainc(a, b, np.exp(mid)) <= alpha
            lo = np.where(below, mid, lo)
            hi = np.where(below, hi, mid)
    floor_ok = special.betainc(a, b, np.exp(lo)) <= alpha
    fallback = np.where(floor_ok, np.exp(lo), 0.0)
    return fallback if caught else np.where(ok, x, fallback)


def clopper_pearson(successes: Any, trials: int, alpha: float) -> tuple[Any, Any]:
    """One-sided Clopper–Pearson bounds on a binomial proportion.

    For k successes in n trials, returns (lo, hi) with P[p < lo] ≤ α and P[p > hi] ≤ α each
    (exact, conservative): lo = Beta⁻¹(α; k, n−k+1) (0 when k = 0), hi = Beta⁻¹(1−α; k+1, n−k)
    (1 when k = n). Clopper & Pearson 1934.

    Args:
        successes: k, an integer or integer array in [0, n].
        trials: n ≥ 1.
        alpha: the level of each one-sided bound, in (0, 1).

    Returns:
        (lo, hi): floats, or float arrays of k's shape.

    Raises:
        DPKitError: n < 1, α outside (0, 1), k outside [0, n] or not whole.

    >>> lo, hi = clopper_pearson(50, 100, 0.025)   # the two-sided 95% interval
    >>> round(lo, 4), round(hi, 4)
    (0.3983, 0.6017)
    """
    n = V.integer(minimum=1, trials=trials)
    a = V.in_range(0.0, 1.0, low_open=True, high_open=True, alpha=alpha)
    k = np.asarray(successes, dtype=float)
    if np.isnan(k).any() or (k < 0).any() or (k > n).any() or (k != np.floor(k)).any():
        raise DPKitError(f"successes must be whole numbers in [0, {n}]")
    safe_k = np.maximum(k, 1.0)
    safe_rest = np.maximum(n - k, 1.0)
    lo = np.where(k > 0, _beta_lower_quantile(a, safe_k, n - k + 1.0), 0.0)
    hi = np.where(k < n, 1.0 - _beta_lower_quantile(a, safe_rest, k + 1.0), 1.0)
    if k.ndim == 0:
        return float(lo), float(hi)
    return lo, hi


def _counts(sorted_y: np.ndarray, ops: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Number of entries of the sorted array in each event {y op threshold}."""
    n = sorted_y.size
    left = np.searchsorted(sorted_y, thresholds, side="left")
    right = np.searchsorted(sorted_y, thresholds, side="right")
    out = np.empty(thresholds.size, dtype=np.int64)
    for op in _OPS:
        m = ops == op
        if not m.any():
            continue
        if op == "==":
            out[m] = right[m] - left[m]
        elif op == "<=":
            out[m] = right[m]
        elif op == "<":
            out[m] = left[m]
        elif op == ">=":
            out[m] = n - left[m]
        else:
            out[m] = n - right[m]
    return out


def _bounds(k_top: np.ndarray, k_bottom: np.ndarray, n: int, alpha: float,
            delta: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ε bounds log((p_lo − δ)/p'_hi) per event (−inf when p_lo ≤ δ)."""
    lo, _ = clopper_pearson(k_top, n, alpha)
    _, hi = clopper_pearson(k_bottom, n, alpha)
    lo = np.atleast_1d(lo)
    hi = np.atleast_1d(hi)
    num = lo - delta
    with np.errstate(divide="ignore", invalid="ignore"):
        eps = np.where(num > 0, np.log(np.where(num > 0, num, 1.0) / hi), -np.inf)
    return eps, lo, hi


# ============================================================================ candidates
def _sample_array(name: str, value: Any) -> np.ndarray:
    arr = np.asarray(value)
    if arr.ndim != 1:
        raise DPKitError(f"{name} must be a 1-D array of outputs, got shape {arr.shape}")
    if arr.dtype.kind == "b":
        return arr.astype(np.int64)
    if arr.dtype.kind in "iu":
        return arr
    return V.finite_array(**{name: arr})


def _resolve_kind(kind: str, a: np.ndarray, b: np.ndarray) -> str:
    if kind != "auto":
        return kind
    if a.dtype.kind in "iu" and b.dtype.kind in "iu":
        return "discrete"
    both = np.concatenate([a, b]).astype(float)
    if (both == np.floor(both)).all() and np.unique(both).size <= MAX_AUTO_DISCRETE_OUTCOMES:
        return "discrete"
    return "continuous"


def _candidates(kind: str, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Candidate events (ops, thresholds) built from the selection halves only."""
    pooled = np.concatenate([a, b])
    if kind == "discrete":
        values = np.unique(pooled)
        ops = np.repeat(np.array(["==", "<=", ">="]), values.size)
        return ops, np.tile(values, 3)
    pooled = np.sort(pooled)
    m = pooled.size
    tail = np.geomspace(min(1.0 / m, 0.005), 0.005, 40)
    levels = np.unique(np.concatenate([tail, np.linspace(0.005, 0.995, 199), 1.0 - tail]))
    idx = np.clip(np.round(levels * (m - 1)).astype(np.int64), 0, m - 1)
    thresholds = np.unique(pooled[idx])
    ops = np.repeat(np.array([">", "<"]), thresholds.size)
    return ops, np.tile(thresholds, 2)


def _threshold_value(x: Any) -> float:
    return int(x) if isinstance(x, np.integer) else float(x)


# ============================================================================ the audit
def audit_samples(
    samples: Any,
    samples_prime: Any,
    *,
    delta: float = 0.0,
    beta: float = 1e-6,
    kind: str = "auto",
    top: int = 3,
) -> AuditResult:
    """Lower-bound the ε of an (ε, δ)-DP claim from samples of M(x) and M(x').

    The method (module docstring and docs/audit.md): choose events on the first half of each
    sample, bound the ``top`` best of each direction on the second half with one-sided
    Clopper–Pearson bounds at level β/(4·top) each, and return the largest
    ε_lb = log((p_lo − δ)/p'_hi), floored at 0.

    Guarantee: if M(x) and M(x') satisfy the (ε, δ) inequality for every output set (in both
    directions), then P[ε_lb > ε] ≤ β. Deterministic: no randomness is drawn.

    Args:
        samples: 1-D array of N independent outputs of M(x) (integers, bools or finite floats).
        samples_prime: 1-D array of N independent outputs of M(x').
        delta: δ ∈ [0, 1) of the audited claim (0 for pure DP).
        beta: total false-alarm probability β ∈ (0, 1).
        kind: "discrete" (single outcomes and cumulative sets), "continuous" (thresholds on a
            quantile grid) or "auto" (discrete for integer/bool arrays, and for floats holding
            at most 10 000 distinct whole numbers).
        top: events per direction bounded on the estimation half (m = 2·top tests).

    Returns:
        An :class:`AuditResult`.

    Raises:
        DPKitError: arrays not 1-D, of different lengths, shorter than 20, or holding NaN/inf;
            δ, β, kind or top out of range.

    >>> import numpy as np
    >>> g = np.random.default_rng(0)
    >>> res = audit_samples(g.laplace(0.0, 1.0, 200_000), g.laplace(1.0, 1.0, 200_000))
    >>> 0.8 < res.epsilon_lower_bound <= 1.0    # Laplace, scale 1, neighbours 0 and 1: ε = 1
    True
    """
    a = _sample_array("samples", samples)
    b = _sample_array("samples_prime", samples_prime)
    if a.size != b.size:
        raise DPKitError(f"samples and samples_prime must have the same length, got {a.size} "
                         f"and {b.size}")
    if a.size < _MIN_SAMPLES:
        raise DPKitError(f"samples must hold at least {_MIN_SAMPLES} outputs, got {a.size}")
    d = V.in_range(0.0, 1.0, high_open=True, delta=delta)
    bt = V.in_range(0.0, 1.0, low_open=True, high_open=True, beta=beta)
    if kind not in _KINDS:
        raise DPKitError(f"kind must be one of {_KINDS}, got {kind!r}")
    k_top = V.integer(minimum=1, top=top)

    n = int(a.size)
    half = n // 2
    sel_a, est_a = np.sort(a[:half]), np.sort(a[half:])
    sel_b, est_b = np.sort(b[:half]), np.sort(b[half:])
    fam = _resolve_kind(kind, sel_a, sel_b)

    num_tests = 2 * k_top
    alpha = bt / (2 * num_tests)  # each one-sided Clopper–Pearson bound
    ops, thr = _candidates(fam, sel_a, sel_b)
    ca, cb = _counts(sel_a, ops, thr), _counts(sel_b, ops, thr)

    chosen: list[tuple[int, bool]] = []
    for reverse in (False, True):
        top_counts, bottom_counts = (cb, ca) if reverse else (ca, cb)
        score, _, _ = _bounds(top_counts, bottom_counts, half, alpha, d)
        order = np.argsort(-score, kind="stable")[:k_top]
        chosen.extend((int(i), reverse) for i in order)

    n_est = n - half
    best: tuple[float, AuditEvent, float, float] | None = None
    for i, reverse in chosen:
        e_ops, e_thr = ops[i:i + 1], thr[i:i + 1]
        ka, kb = _counts(est_a, e_ops, e_thr), _counts(est_b, e_ops, e_thr)
        top_k, bottom_k = (kb, ka) if reverse else (ka, kb)
        eps, lo, hi = _bounds(top_k, bottom_k, n_est, alpha, d)
        value = float(eps[0])
        if best is None or value > best[0]:
            event = AuditEvent(str(ops[i]), _threshold_value(thr[i]), reverse)
            best = (value, event, float(lo[0]), float(hi[0]))
    assert best is not None  # at least one candidate exists (n ≥ 20)
    value, event, p_lo, p_hi = best
    return AuditResult(
        epsilon_lower_bound=max(0.0, value),
        event=event,
        n=n,
        beta=bt,
        delta=d,
        p_lower=p_lo,
        p_prime_upper=p_hi,
        num_tests=num_tests,
        kind=fam,
    )


def audit_mechanism(
    sample_fn: Callable[[Any, int, Any], Any],
    x: Any,
    x_prime: Any,
    n: int,
    rng: RNGLike,
    *,
    delta: float = 0.0,
    beta: float = 1e-6,
    kind: str = "auto",
) -> AuditResult:
    """Draw n outputs of M(x) and of M(x') and audit them with :func:`audit_samples`.

    ``sample_fn(input, n, generator)`` must return n independent outputs of the mechanism on
    ``input`` as a 1-D array (project multi-dimensional outputs to one statistic first). The
    two calls get independent child generators spawned from ``rng``, so an int seed makes the
    whole audit reproducible.

    Args:
        sample_fn: the mechanism, batched: ``sample_fn(input, n, generator) -> array (n,)``.
        x, x_prime: neighbouring inputs, as far apart as the neighbouring relation allows.
        n: samples per input (≥ 20; 10⁵–10⁷ in practice).
        rng: an int seed (reproducible), a numpy Generator, a SecureGenerator or None.
        delta, beta, kind: as in :func:`audit_samples`.

    Returns:
        An :class:`AuditResult`.

    Raises:
        DPKitError: sample_fn not callable or returning the wrong shape; bad n, rng, δ, β, kind.

    >>> import numpy as np
    >>> rr = lambda bit, n, g: np.where(g.random(n) < 0.75, bit, 1 - bit)  # ε = log 3
    >>> res = audit_mechanism(rr, 0, 1, 100_000, rng=1)
    >>> bool(1.0 < res.epsilon_lower_bound <= np.log(3))
    True
    """
    if not callable(sample_fn):
        raise DPKitError(f"sample_fn must be callable, got {type(sample_fn).__name__}")
    count = V.integer(minimum=_MIN_SAMPLES, n=n)
    gen = as_generator(rng)
    g1: np.random.Generator | SecureGenerator
    g2: np.random.Generator | SecureGenerator
    if isinstance(gen, SecureGenerator):
        g1, g2 = gen, gen
    else:
        g1, g2 = gen.spawn(2)
    outs = []
    for name, inp, g in (("x", x, g1), ("x_prime", x_prime, g2)):
        y = np.asarray(sample_fn(inp, count, g))
        if y.shape not in ((count,), (count, 1)):
            raise DPKitError(f"sample_fn({name}, n={count}, rng) must return {count} outputs as "
                             f"a 1-D array, got shape {y.shape}")
        outs.append(y.reshape(count))
    return audit_samples(outs[0], outs[1], delta=delta, beta=beta, kind=kind)
