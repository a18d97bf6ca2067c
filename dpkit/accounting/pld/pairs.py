"""Dominating pairs of distributions and their pessimistic discretization (connect-the-dots).

A pair (P, Q) *dominates* a mechanism M if, for all neighbouring inputs and every ε ∈ ℝ,
H_{e^ε}(M(D) ‖ M(D′)) ≤ H_{e^ε}(P ‖ Q) (Zhu, Dong, Wang 2022, "Optimal Accounting of
Differential Privacy via Characteristic Function", Def. 7); composing mechanisms composes
their dominating pairs (product distributions, Thm. 10), whose privacy loss is the sum of
independent losses. δ(ε) of M is then bounded by the pair's hockey-stick curve.

Connect-the-dots (Doroshenko, Ghazi, Kamath, Kumar, Manurangsi, "Connect the Dots: Tighter
Discrete Approximations of Privacy Loss Distributions", PETS 2022): every piece of P-mass at a
loss ℓ between two adjacent grid losses a < ℓ ≤ b is split between a and b so that *both* its
P-mass and its Q-mass are kept (weight (1 − e^{a−ℓ})/(1 − e^{a−b}) to b). The original pair is
the image of the split pair under the map that merges the two pieces again, so by
post-processing the split (discrete) pair dominates the original one at every ε — its curve
is the original curve connected linearly in e^ε between the grid points, exact at them. Mass
above the top grid loss b_n is split between b_n and +∞ (the +∞ part is δ(b_n)); P-mass below
the bottom grid loss moves up to it (the Q-mass left over goes to a Q-only outcome).
"""

from __future__ import annotations

import abc
import dataclasses
import functools
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import log_ndtr, ndtr, ndtri

from ... import _validate as V
from ...errors import DPKitError
from ._kernels import fused, kernel
from ._rounding import UNIT_ROUNDOFF as _U
from ._scalar import sgm_z
from .distribution import PrivacyLossDistribution, _trusted

__all__ = [
    "DominatingPair",
    "IntervalPair",
    "GaussianPair",
    "LaplacePair",
    "SampledGaussianPair",
    "SampledLaplacePair",
    "SymmetrizedPair",
    "symmetrize",
    "symmetrized_pmfs",
    "DiscretePair",
    "from_pmfs",
    "randomized_response_pair",
    "pure_dp_pair",
    "REMOVE",
    "ADD",
]

REMOVE = "remove"
ADD = "add"
#: Default P-mass left out beyond the discretization range on each side (into +∞ above,
#: moved up below): far below any δ a caller may ask for, even after 1e9 compositions.
TAIL = 1e-30


def _log_diff(la: np.ndarray, lb: np.ndarray) -> np.ndarray:
    """e^{la} − e^{lb} for la ≥ lb (elementwise), without cancellation for close values."""
    with np.errstate(invalid="ignore", over="ignore"):
        out = np.exp(la) * -np.expm1(np.minimum(lb - la, 0.0))
    out[~(out < math.inf)] = 0.0  # NaN (−inf − −inf) and +inf: no mass
    return np.maximum(out, 0.0)


def normal_interval(x_lo: np.ndarray, x_hi: np.ndarray) -> np.ndarray:
    """Φ(x_hi) − Φ(x_lo) for x_lo ≤ x_hi (±inf allowed), with full relative precision in
    both tails (differences of log-tail probabilities)."""
    lo, hi = np.broadcast_arrays(np.asarray(x_lo, dtype=float), np.asarray(x_hi, dtype=float))
    return _interval(lo, hi, log_ndtr(lo), log_ndtr(hi), log_ndtr(-lo), log_ndtr(-hi))


def _interval(lo: np.ndarray, hi: np.ndarray, lc_lo: np.ndarray, lc_hi: np.ndarray,
              ls_lo: np.ndarray, ls_hi: np.ndarray) -> np.ndarray:
    upper = _log_diff(ls_lo, ls_hi)  # both in the upper tail: SF(lo) − SF(hi)
    lower = _log_diff(lc_hi, lc_lo)  # both in the lower tail: CDF(hi) − CDF(lo)
    with np.errstate(over="ignore", under="ignore"):
        mid = -np.expm1(np.logaddexp(lc_lo, ls_hi))  # 1 − CDF(lo) − SF(hi)
    return np.maximum(np.where(lo >= 0, upper, np.where(hi <= 0, lower, mid)), 0.0)


#: Below this a normal tail is no longer a normal float (relative precision would be lost in
#: subnormals): :func:`edge_intervals` then takes differences of log-tails.
_TAIL_NORMAL = 1e-280


def edge_intervals(x: np.ndarray) -> np.ndarray:
    """Normal mass between consecutive entries of a monotone array ``x`` (either order),
    each tail evaluated once per edge, and only the one it needs: intervals below 0 as
    differences of CDFs, above 0 of survival functions (erfc: full relative precision in both
    tails), the one interval across 0 (if any) as 1 − Φ(lo) − Φ̄(hi).

    A difference of two tails each within a few ulp (relative) is within ~ulp·T/(T − T′) of
    the exact interval, no worse than a difference of log-tails (whose logs carry that same
    relative error, and more for |log T| > 1) and 2–3× cheaper; where a finite edge's tail
    falls below :data:`_TAIL_NORMAL` (|x| > 35.7, tails beyond 1e-280) that side is taken
    as a difference of log-tails instead (an infinite edge's tail is 0 exactly)."""
    x = np.asarray(x, dtype=float)
    if x.size < 2:
        return np.zeros(0)
    if x[0] > x[-1]:
        return edge_intervals(x[::-1])[::-1]
    k = int(np.searchsorted(x, 0.0, side="right"))  # x[:k] ≤ 0 < x[k:]
    out = np.empty(x.size - 1)
    c = ndtr(x[:k])  # increasing
    sf = ndtr(-x[k:])  # decreasing
    if k >= 2:  # both ends ≤ 0: CDF(hi) − CDF(lo) (−inf edges: tail 0, exact)
        j = int(np.searchsorted(x[:k], -math.inf, side="right"))  # the first finite edge
        if j >= k or c[j] >= _TAIL_NORMAL:
            np.subtract(c[1:], c[:-1], out=out[:k - 1])
        else:
            lc = log_ndtr(x[:k])
            out[:k - 1] = _log_diff(lc[1:], lc[:-1])
    if x.size - k >= 2:  # both ends > 0: SF(lo) − SF(hi)
        j = int(np.searchsorted(x[k:], math.inf, side="left")) - 1  # the last finite edge
        if j < 0 or sf[j] >= _TAIL_NORMAL:
            np.subtract(sf[:-1], sf[1:], out=out[k:])
        else:
            ls = log_ndtr(-x[k:])
            out[k:] = _log_diff(ls[:-1], ls[1:])
    if 0 < k < x.size:  # x[k−1] ≤ 0 < x[k]: 1 − CDF(lo) − SF(hi), both ≤ ½
        out[k - 1] = 1.0 - float(c[-1]) - float(sf[0])
    return np.maximum(out, 0.0, out=out)


@dataclass(frozen=True)
class _Masses:
    """P- and Q-mass of the loss in each grid interval (ℓ_j, ℓ_{j+1}], below ℓ_0, above ℓ_n."""

    p_int: np.ndarray
    q_int: np.ndarray
    p_below: float
    p_above: float
    q_above: float


class DominatingPair(abc.ABC):
    """A pair (P, Q) whose privacy loss L = log(P/Q)(Y), Y ~ P, bounds a mechanism."""

    #: If every loss is a multiple of this value, grids are aligned to it (exact, no split).
    atom_base: float | None = None
    #: P(L = +∞): outcomes only P can produce.
    infinity_mass: float = 0.0

    @abc.abstractmethod
    def loss_range(self, tail: float = TAIL) -> tuple[float, float]:
        """(lo, hi): P(L < lo) ≤ tail and P(L > hi) ≤ tail (finite numbers)."""

    @abc.abstractmethod
    def discretize(self, step: float, *, tail: float = TAIL,
                   floor: float | None = None) -> PrivacyLossDistribution:
        """A pessimistic PLD of this pair on the grid ``k·step`` (from ``floor`` up, if given:
        P-mass below it moves up to it, which only raises δ).

        Privacy: its δ(ε) ≥ this pair's at every ε, and it is itself the PLD of a pair that
        dominates this one, so it stays an upper bound through composition."""

    def swapped(self) -> DominatingPair | None:
        """The pair (Q, P) when it is a pair of this package (then the PLD of this pair's
        discretization, swapped by :func:`swap_discretization`, dominates it), else None."""
        return None


class IntervalPair(DominatingPair):
    """A pair whose loss has a continuous law known through its interval masses: discretized
    by connect-the-dots on any grid (Doroshenko, Ghazi, Kamath, Kumar, Manurangsi 2022)."""

    @abc.abstractmethod
    def _masses(self, edges: np.ndarray) -> _Masses:
        """Interval masses for the increasing grid ``edges``."""

    def _plan_edges(self) -> np.ndarray:
        """Increasing loss edges for the planning cumulant (:func:`.bounds._coarse_cumulant`):
        fine where the P-mass is. Default: 257 equal intervals over :meth:`loss_range`."""
        lo, hi = self.loss_range()
        return np.linspace(lo, max(hi, lo + 1e-12), 257)

    def _fused_discretization(self, k0: int, k1: int, coarse: Coarse | None, step: float
                              ) -> PrivacyLossDistribution | None:
        """The connect-the-dots PLD on the grid k0 … k1 (with the ``coarse`` intervals) by one
        fused kernel, or None (the default: :meth:`_masses` then :func:`_connect_the_dots`,
        the reference)."""
        return None

    def discretize(self, step: float, *, tail: float = TAIL,
                   floor: float | None = None) -> PrivacyLossDistribution:
        """The connect-the-dots PLD on the grid ``k·step`` covering :meth:`loss_range`
        (from ``floor`` up, if given: P-mass below it moves up to it, which only raises δ).

        Privacy: its δ(ε) ≥ this pair's at every ε, and it is itself the PLD of a pair that
        dominates this one, so it stays an upper bound through composition (module
        docstring). Float rounding: each interval's P-mass is kept to rounding u (its lower
        share is the complement of the upper one), the split itself to ~u/step.
        """
        return self.discretize_coarse(step, None, tail=tail, floor=floor)

    def discretize_coarse(self, step: float, coarse: Coarse | None, *,
                          tail: float = TAIL, floor: float | None = None
                          ) -> PrivacyLossDistribution:
        """:meth:`discretize` with some intervals several grid steps wide.

        ``coarse``: ((loss, factor), ...) with increasing losses (or the two arrays (losses,
        factors)): from each loss up to the next one, the intervals are ``factor`` grid steps
        wide (1 below the first; a first loss of −inf sets the factor from the bottom). Every
        atom still sits on the grid ``k·step`` (the output is one array on it, zero between
        the coarse atoms), so it composes with any PLD on that grid; connect-the-dots is valid
        on any partition (each interval's two-point split dominates it), so coarse intervals
        where little of the tilted mass lies (:func:`.bounds.plan_pld`) only cost tightness,
        and interval masses are computed on ~10× fewer edges. Privacy: as :meth:`discretize`
        (the split of an interval of width w rounds to ~u/w).
        """
        d = V.positive(step=step)
        t = V.in_range(0.0, 1.0, low_open=True, high_open=True, tail=tail)
        return self._discretize_checked(d, _check_coarse(coarse), t, floor)

    def _discretize_checked(self, d: float, coarse: Coarse | None, t: float,
                            floor: float | None) -> PrivacyLossDistribution:
        """:meth:`discretize_coarse` for a step > 0 and a tail in (0, 1) already checked
        (the planner's own calls: "validate once")."""
        lo, hi = self.loss_range(t)
        if floor is not None and math.isfinite(floor):
            lo = min(max(lo, float(floor)), hi)
        # (a range end within rounding of a grid loss is that grid loss; any mass beyond the
        # top edge is still handled by the tail rule, so this is safe)
        k0 = math.floor(lo / d + 1e-9)
        k1 = max(math.ceil(hi / d - 1e-9), k0 + 1)
        coarse = coarse if coarse is not None and len(coarse) else None
        out = self._fused_discretization(k0, k1, coarse, d)
        if out is None:  # the reference: interval masses, then the split
            edges: np.ndarray
            pos: np.ndarray | None = None
            if coarse is not None:
                idx = _edge_indices(k0, k1, coarse, d)
                edges, pos = idx * d, idx - k0
            else:
                edges = (k0 + np.arange(k1 - k0 + 1)) * d
            out = _connect_the_dots(self._masses(edges), edges, d, k0, self.infinity_mass, pos)
        if floor is None and type(self).swapped is not DominatingPair.swapped:
            _remember(self, out)
        return out


Coarse = Sequence[tuple[float, int]] | tuple[np.ndarray, np.ndarray]


#: No coarse intervals, as the two arrays of :func:`_coarse_arrays`.
_NO_CUTS = (np.zeros(0), np.zeros(0, dtype=np.int64))


def _coarse_arrays(coarse: Coarse) -> tuple[np.ndarray, np.ndarray]:
    """(losses, factors) arrays of a coarse-interval plan given as either form."""
    first = coarse[0] if len(coarse) else None
    if len(coarse) == 2 and isinstance(first, np.ndarray):
        return np.asarray(coarse[0], dtype=float), np.asarray(coarse[1], dtype=np.int64)
    rows = [(float(row[0]), int(row[1])) for row in coarse]
    return (np.array([r[0] for r in rows], dtype=float),
            np.array([r[1] for r in rows], dtype=np.int64))


def _check_coarse(coarse: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """``coarse`` of :meth:`IntervalPair.discretize_coarse` as (losses, factors) arrays, or a
    DPKitError naming it: losses non-decreasing, finite or −inf; factors whole numbers ≥ 1."""
    if coarse is None:
        return None
    try:
        if len(coarse) == 2 and isinstance(coarse[0], np.ndarray):
            losses = np.asarray(coarse[0], dtype=float)
            raw = np.asarray(coarse[1], dtype=float)
        else:
            rows = [(float(loss), float(f)) for loss, f in coarse]
            losses = np.array([r[0] for r in rows], dtype=float)
            raw = np.array([r[1] for r in rows], dtype=float)
    except (TypeError, ValueError):
        raise DPKitError("coarse must be a sequence of (loss, factor) pairs or two arrays "
                         "(losses, factors)") from None
    if losses.ndim != 1 or losses.shape != raw.shape:
        raise DPKitError("coarse must hold one factor per loss")
    if np.isnan(losses).any() or (losses == math.inf).any() or np.any(np.diff(losses) < 0):
        raise DPKitError("coarse losses must be non-decreasing, finite or -inf")
    if not np.all((raw >= 1) & (raw == np.floor(raw)) & (raw < 2.0**31)):
        raise DPKitError("coarse factors must be whole numbers >= 1")
    return (losses, raw.astype(np.int64)) if losses.size else None


def _edge_indices(k0: int, k1: int, coarse: Coarse, step: float) -> np.ndarray:
    """Grid indices from k0 to k1 (both included) of :meth:`IntervalPair.discretize_coarse`
    (the ``edge_indices`` pass of :mod:`._kernels`)."""
    losses, factors = _coarse_arrays(coarse)
    out: np.ndarray = kernel("edge_indices")(int(k0), int(k1), losses, factors, float(step))
    return out


#: Discretizations remembered for :func:`recall_other` (the latest per pair, a few pairs,
#: only grids of at most this many points: cheap to keep).
_RECALL_PAIRS = 4
_RECALL_MAX_POINTS = 1 << 15
_RECALLED: dict[DominatingPair, PrivacyLossDistribution] = {}
_RECALL_LOCK = threading.Lock()


def _remember(pair: DominatingPair, pld: PrivacyLossDistribution) -> None:
    """Keep ``pld`` (a whole-range discretization of ``pair``) for :func:`recall_other`."""
    if pld.masses.size > _RECALL_MAX_POINTS:
        return
    with _RECALL_LOCK:  # (accountants may run in threads)
        _RECALLED.pop(pair, None)
        _RECALLED[pair] = pld
        while len(_RECALLED) > _RECALL_PAIRS:
            _RECALLED.pop(next(iter(_RECALLED)))


def recall_other(pair: DominatingPair, max_step: float, min_step: float = 0.0
                 ) -> PrivacyLossDistribution | None:
    """The latest whole-range discretization of ``pair.swapped()`` on a step in
    [``min_step``, ``max_step``], if one is remembered: its swap
    (:func:`swap_discretization`, or the atoms of :func:`._kernels.swap_log_mgf_reference`)
    dominates ``pair``."""
    other = pair.swapped()
    if other is None:
        return None
    try:
        with _RECALL_LOCK:
            pld = _RECALLED.get(other)
    except TypeError:  # an unhashable pair
        return None
    if pld is None or not min_step <= pld.step <= max_step:
        return None
    return pld


def recall_swapped(pair: DominatingPair, max_step: float, min_step: float = 0.0
                   ) -> PrivacyLossDistribution | None:
    """A pessimistic PLD of ``pair`` on a grid of step in [``min_step``, ``max_step``] without
    computing any interval mass: the swap (:func:`swap_discretization`) of the latest
    whole-range discretization of ``pair.swapped()`` when one is remembered, else None (a
    caller that only sums over the grid sets ``min_step`` so that a far finer grid than it
    needs, which would cost more than a new coarse one, is not handed out).

    The two directions of a subsampled mechanism are each other's swap (add = remove with P
    and Q exchanged), so once a relation's first direction is discretized, the second one's
    connect-the-dots PLD on the mirrored grid comes from it for the price of one pass.
    Privacy: it dominates ``pair`` (see :func:`swap_discretization`)."""
    pld = recall_other(pair, max_step, min_step)
    return None if pld is None else swap_discretization(pld)


def swap_infinity(s: float, k: int, hi_abs: float) -> float:
    """The swapped PLD's mass at +∞, 1 − S, raised by the rounding bound of S (the sum of k
    terms m·e^{−ℓ}, |ℓ| ≤ hi_abs: see :func:`swap_discretization`)."""
    return min(1.0, max(0.0, 1.0 - s) + 2.0 * (k + 8.0 + hi_abs) * _U * max(s, 1.0))


def swap_discretization(pld: PrivacyLossDistribution) -> PrivacyLossDistribution:
    """The PLD of the swapped pair (Q̃, P̃), for ``pld`` the PLD of a discrete pair (P̃, Q̃)
    (a discretization of one pair, not a composition).

    Atom k of P̃-mass p_k at loss ℓ_k has Q̃-mass p_k·e^{−ℓ_k}; under (Q̃, P̃) it is an atom of
    P-mass p_k·e^{−ℓ_k} at loss −ℓ_k, and the Q̃-mass on outcomes that P̃ cannot produce,
    1 − Σ_k p_k e^{−ℓ_k}, sits at loss +∞. Swapping preserves domination at every ε ∈ ℝ:
    δ_{Q‖P}(ε) = 1 − e^ε + e^ε·δ_{P‖Q}(−ε) is non-decreasing in δ_{P‖Q}(−ε), and
    connect-the-dots (with its tail rules) dominates at every ε, being a pair from which the
    original is recovered by post-processing (merging atoms). Float rounding: the sum S is
    within (k + 8 + max|ℓ|)·u·S of the exact one (k atoms; e^{−ℓ} of a loss rounded to
    u·|ℓ|), so the mass at +∞ is raised by 2·(k + 8 + max|ℓ|)·u·max(S, 1): never below the
    exact deficit. Privacy: for ``pld`` dominating (P, Q), the result dominates (Q, P).
    """
    m = pld.masses
    k = m.size
    hi_abs = max(abs(pld._loss_at(0)), abs(pld._loss_at(k - 1)))
    with np.errstate(over="ignore", under="ignore"):
        qm = m * np.exp(-pld.losses)
    if not np.isfinite(qm).all():
        qm = np.where(np.isfinite(qm), qm, 0.0)
        return PrivacyLossDistribution(pld.step, -pld.upper, qm[::-1], 1.0)
    return _trusted(pld.step, -pld.upper, qm[::-1], swap_infinity(float(qm.sum()), k, hi_abs))


def _connect_the_dots(m: _Masses, edges: np.ndarray, step: float, k0: int,
                      own_inf: float, positions: np.ndarray | None = None
                      ) -> PrivacyLossDistribution:
    """The connect-the-dots PLD of interval masses ``m`` on ``edges``: the grid
    k0 + (0, 1, 2, …) when ``positions`` is None, else the edges sit at those offsets from k0
    (intervals of any whole number of steps)."""
    a = edges[:-1]
    if positions is None:
        den_b = -math.expm1(-step)  # 1 − e^{−Δ}
    else:
        den_b = -np.expm1(a - edges[1:])  # 1 − e^{−width}, per interval
    with np.errstate(over="ignore", invalid="ignore"):
        qa = m.q_int * np.exp(a)  # Q_int e^{a}
        to_b = np.clip((m.p_int - qa) / den_b, 0.0, m.p_int)
    to_b[~np.isfinite(to_b)] = 0.0
    # the lower share is the complement, (Q e^{a+Δ} − P)/(e^Δ − 1) exactly, so that each
    # interval's P-mass is kept to rounding u (two independent formulas would lose ~u/step
    # per atom, compounding over many compositions)
    to_a = m.p_int - to_b
    if positions is None:
        out = np.zeros(edges.size)
        out[:-1] += to_a
        out[1:] += to_b
    else:  # each side's positions are distinct: plain fancy-index adds
        out = np.zeros(int(positions[-1]) + 1)
        out[positions[:-1]] += to_a
        out[positions[1:]] += to_b
    out[0] += m.p_below
    top = float(edges[-1])
    keep = min(m.p_above, m.q_above * math.exp(top)) if m.q_above > 0 else 0.0
    out[-1] += keep
    inf = min(1.0, own_inf + max(m.p_above - keep, 0.0))
    if not (np.isfinite(out).all() and math.isfinite(inf)):  # a subclass's bad masses
        return PrivacyLossDistribution(step, k0, out, inf)  # (validates: raises)
    return _trusted(step, k0, out, inf)


# ---------------------------------------------------------------------------- Gaussian
@dataclass(frozen=True)
class GaussianPair(IntervalPair):
    """P = N(1, σ²), Q = N(0, σ²): tight for the Gaussian mechanism with sensitivity 1 and
    noise multiplier σ (either direction: the pair is symmetric). L ~ N(μ²/2, μ²) under P,
    μ = 1/σ. Exact curve (Balle & Wang 2018, Thm. 8): δ(ε) = Φ(μ/2 − ε/μ) − e^ε Φ(−μ/2 − ε/μ).
    """

    noise_multiplier: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "noise_multiplier",
                           V.positive(noise_multiplier=self.noise_multiplier))

    def loss_range(self, tail: float = TAIL) -> tuple[float, float]:
        s = 1.0 / self.noise_multiplier
        x = -float(ndtri(tail))
        return s * s / 2 - x * s, s * s / 2 + x * s

    def _masses(self, edges: np.ndarray) -> _Masses:
        s = 1.0 / self.noise_multiplier
        m = s * s / 2
        xp = (edges - m) / s
        xq = (edges + m) / s
        return _Masses(edge_intervals(xp), edge_intervals(xq),
                       float(ndtr(xp[0])), float(ndtr(-xp[-1])), float(ndtr(-xq[-1])))

    def _tails(self, epsilon: float) -> tuple[float, float]:
        """(P(L > ε), Q(L > ε)) for one ε, each with full relative precision (erfc)."""
        mu = 1.0 / self.noise_multiplier
        return (float(ndtr((mu * mu / 2 - epsilon) / mu)),
                float(ndtr((-mu * mu / 2 - epsilon) / mu)))

    def hockey_stick(self, epsilon: Any) -> np.ndarray:
        """Exact δ(ε) (Balle & Wang 2018), vectorized; computed as a difference of log-tails."""
        e = np.asarray(epsilon, dtype=float).reshape(-1)
        mu = 1.0 / self.noise_multiplier
        la = log_ndtr(mu / 2 - e / mu)
        lb = e + log_ndtr(-mu / 2 - e / mu)
        return _log_diff(la, np.minimum(lb, la))


# ---------------------------------------------------------------------------- Laplace
@dataclass(frozen=True)
class LaplacePair(IntervalPair):
    """P = Lap(0, b), Q = Lap(1, b): tight for the Laplace mechanism with sensitivity 1 and
    b = noise multiplier (symmetric). L ∈ [−1/b, 1/b], atoms of P-mass ½ at 1/b and
    ½e^{−1/b} at −1/b; in between P(L ≤ t) = ½e^{(t−1/b)/2}, Q(L ≤ t) = 1 − ½e^{−(t+1/b)/2}.
    """

    noise_multiplier: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "noise_multiplier",
                           V.positive(noise_multiplier=self.noise_multiplier))

    @property
    def atom_base(self) -> float:  # type: ignore[override]
        return 1.0 / self.noise_multiplier

    def loss_range(self, tail: float = TAIL) -> tuple[float, float]:
        th = 1.0 / self.noise_multiplier
        return -th, th

    def _cdfs(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        th = 1.0 / self.noise_multiplier
        tc = np.clip(t, -th, th)
        fp = np.where(t >= th, 1.0, np.where(t < -th, 0.0, 0.5 * np.exp((tc - th) / 2)))
        fq = np.where(t >= th, 1.0, np.where(t < -th, 0.0, 1 - 0.5 * np.exp(-(tc + th) / 2)))
        return fp, fq

    def _masses(self, edges: np.ndarray) -> _Masses:
        # put the top atom at the top edge exactly: the last interval is closed above
        fp, fq = self._cdfs(edges)
        fp[-1] = fq[-1] = 1.0
        return _Masses(np.maximum(np.diff(fp), 0.0), np.maximum(np.diff(fq), 0.0),
                       float(fp[0]), 0.0, 0.0)


# ------------------------------------------------------------------- subsampled pairs
_SAMPLED_FIELDS = {"noise_multiplier", "sample_rate", "direction"}


@dataclass(frozen=True)
class _PoissonSampledPair(IntervalPair):
    """A direction of a Poisson-subsampled additive-noise mechanism (sensitivity 1): the
    noise multiplier (> 0), the sample rate (in (0, 1)) and ``direction`` ("remove" /
    "add"), validated."""

    noise_multiplier: float
    sample_rate: float
    direction: str = REMOVE

    def __post_init__(self) -> None:
        object.__setattr__(self, "noise_multiplier",
                           V.positive(noise_multiplier=self.noise_multiplier))
        q = V.in_range(0.0, 1.0, low_open=True, high_open=True, sample_rate=self.sample_rate)
        object.__setattr__(self, "sample_rate", q)
        if self.direction not in (REMOVE, ADD):
            raise DPKitError(f"direction must be {REMOVE!r} or {ADD!r}, got {self.direction!r}")

    def swapped(self) -> DominatingPair:
        """The other direction: add is remove with P and Q exchanged, and back."""
        return self.with_direction(ADD if self.direction == REMOVE else REMOVE)

    def with_direction(self, direction: str) -> _PoissonSampledPair:
        """This pair in ``direction`` ("remove" / "add"), built without re-validating the
        noise multiplier and rate (already checked)."""
        if direction not in (REMOVE, ADD):
            raise DPKitError(f"direction must be {REMOVE!r} or {ADD!r}, got {direction!r}")
        if type(self).__dataclass_fields__.keys() != _SAMPLED_FIELDS:  # a subclass's own
            return dataclasses.replace(self, direction=direction)
        out = object.__new__(type(self))
        object.__setattr__(out, "noise_multiplier", self.noise_multiplier)
        object.__setattr__(out, "sample_rate", self.sample_rate)
        object.__setattr__(out, "direction", direction)
        return out


# ----------------------------------------------------------------- subsampled Gaussian
@dataclass(frozen=True)
class SampledGaussianPair(_PoissonSampledPair):
    """Poisson-subsampled Gaussian (rate q, noise multiplier σ, sensitivity 1), add/remove.

    ``direction="remove"``: P = (1−q)N(0,σ²) + qN(1,σ²), Q = N(0,σ²);
    ``direction="add"``: P = N(0,σ²), Q = (1−q)N(0,σ²) + qN(1,σ²).
    Each is tight for its direction (Zhu, Dong, Wang 2022, Prop. 30; Koskela et al. 2020);
    under add/remove adjacency an accountant takes the larger δ(ε) of the two compositions.
    L_remove(z) = log(1 − q + q·e^{(2z−1)/(2σ²)}) is increasing in z; L_add = −L_remove.
    """

    # L_remove and its inverse
    def _loss(self, z: np.ndarray) -> np.ndarray:
        q, s = self.sample_rate, self.noise_multiplier
        return np.logaddexp(math.log1p(-q), math.log(q) + (2 * z - 1) / (2 * s * s))

    def _z(self, t: np.ndarray) -> np.ndarray:
        """z with L_remove(z) = t (−inf at or below log(1−q))."""
        q, s = self.sample_rate, self.noise_multiplier
        t = np.asarray(t, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            inner = np.expm1(np.minimum(t, 0.0)) + q
            # log(e^t − 1 + q) = t + log1p(−(1 − q)e^{−t}) for t > 0 (no overflow at t > 709)
            log_inner = np.where(t > 0, t + np.log1p(-(1.0 - q) * np.exp(-np.maximum(t, 0.0))),
                                 np.log(inner))
            z = s * s * (log_inner - math.log(q)) + 0.5
        return np.where((t > 0) | (inner > 0), z, -np.inf)

    def _tails(self, epsilon: float) -> tuple[float, float]:
        """(P(L > ε), Q(L > ε)) for one ε, each a mixture of normal tails with full relative
        precision (erfc): L_remove > t ⇔ z > z(t); L_add > t ⇔ z < z(−t)."""
        q, s = self.sample_rate, self.noise_multiplier
        z = self._z_scalar(float(epsilon) if self.direction == REMOVE else -float(epsilon))
        if self.direction == REMOVE:
            g0, g1 = float(ndtr(-z / s)), float(ndtr((1.0 - z) / s))
            return (1 - q) * g0 + q * g1, g0
        g0, g1 = float(ndtr(z / s)), float(ndtr((z - 1.0) / s))
        return g0, (1 - q) * g0 + q * g1

    def _z_scalar(self, t: float) -> float:
        """:meth:`_z` for one float (math module: no array overhead; same formula)."""
        q, s = self.sample_rate, self.noise_multiplier
        return sgm_z(float(t), q, s * s, math.log(q))

    def _plan_edges(self) -> np.ndarray:
        """Loss edges at equally spaced noise values z (the loss is monotone in z), so the
        planning grid is fine where the mass is, however small q makes the bulk."""
        s = self.noise_multiplier
        x = -float(ndtri(TAIL))
        # the loss is non-decreasing in z: the distinct values in order, without a sort
        loss = np.maximum.accumulate(self._loss(np.linspace(-x * s, 1.0 + x * s, 385)))
        edges = loss[np.concatenate(([True], loss[1:] > loss[:-1]))]
        return edges if self.direction == REMOVE else -edges[::-1]

    def loss_range(self, tail: float = TAIL) -> tuple[float, float]:
        q, s = self.sample_rate, self.noise_multiplier
        x = -float(ndtri(tail))
        if self.direction == REMOVE:
            return math.log1p(-q), self._loss_scalar(1.0 + s * x)
        return -self._loss_scalar(s * x), -math.log1p(-q)

    def _loss_scalar(self, z: float) -> float:
        """:meth:`_loss` of one float (log-add-exp in ``math``: no array round trip)."""
        q, s = self.sample_rate, self.noise_multiplier
        a = math.log1p(-q)
        b = math.log(q) + (2.0 * z - 1.0) / (2.0 * s * s)
        hi, lo = (a, b) if a >= b else (b, a)
        return hi + math.log1p(math.exp(lo - hi)) if lo > -math.inf else hi

    def _fused_discretization(self, k0: int, k1: int, coarse: Coarse | None, step: float
                              ) -> PrivacyLossDistribution | None:
        """:meth:`_masses` and :func:`_connect_the_dots` in one numba loop over the edges
        (``sgm_ctd`` of :mod:`._kernels`, tested against them), when numba is used and no
        finite edge reaches a subnormal normal tail; else None."""
        ctd = fused("sgm_ctd")
        if ctd is None:
            return None
        losses, factors = _coarse_arrays(coarse) if coarse is not None else _NO_CUTS
        out, up, ok = ctd(self.sample_rate, self.noise_multiplier, self.direction == REMOVE,
                          k0, k1, losses, factors, step)
        if not ok:
            return None
        inf = min(1.0, self.infinity_mass + up)
        if not math.isfinite(float(out.sum()) + inf):  # (masses ≥ 0) pragma: no cover
            return None
        return _trusted(step, k0, out, inf)

    def _masses(self, edges: np.ndarray) -> _Masses:
        q, s = self.sample_rate, self.noise_multiplier
        if self.direction == REMOVE:
            z = self._z(edges)  # increasing
            g0 = edge_intervals(z / s)
            g1 = edge_intervals((z - 1) / s)
            p_int, q_int = (1 - q) * g0 + q * g1, g0
            p_below = float((1 - q) * ndtr(z[0] / s) + q * ndtr((z[0] - 1) / s))
            q_above = float(ndtr(-z[-1] / s))
            p_above = float((1 - q) * q_above + q * ndtr((1 - z[-1]) / s))
            return _Masses(p_int, q_int, p_below, p_above, q_above)
        # add: L ∈ (a, b]  ⇔  L_remove ∈ [−b, −a)  ⇔  z ∈ [z(−b), z(−a))
        z = self._z(-edges)  # decreasing in the edge index
        g0 = edge_intervals(z / s)
        g1 = edge_intervals((z - 1) / s)
        p_int, q_int = g0, (1 - q) * g0 + q * g1
        p_below = float(ndtr(-z[0] / s))  # L ≤ ℓ_0 ⇔ z ≥ z(−ℓ_0)
        p_above = float(ndtr(z[-1] / s))  # L > ℓ_n ⇔ z < z(−ℓ_n)
        q_above = float((1 - q) * p_above + q * ndtr((z[-1] - 1) / s))
        return _Masses(p_int, q_int, p_below, p_above, q_above)


# ------------------------------------------------------------------ subsampled Laplace
@dataclass(frozen=True)
class SampledLaplacePair(_PoissonSampledPair):
    """Poisson-subsampled Laplace mechanism (rate q, noise multiplier b, sensitivity 1),
    add/remove.

    With A = Lap(0, b), B = Lap(1, b) (the Laplace mechanism's tight, symmetric pair):
    ``direction="remove"``: P = (1−q)A + qB, Q = A; ``direction="add"``: P = A,
    Q = (1−q)A + qB. Each dominates its direction of the subsampled mechanism (Zhu, Dong,
    Wang 2022, "Optimal Accounting of Differential Privacy via Characteristic Function",
    Thm. 11); under add/remove adjacency an accountant takes the larger δ(ε) of the two
    compositions.

    L_remove(x) = log(1 − q + q·e^{(|x| − |x−1|)/b}) is non-decreasing in x: an atom at
    ℓ_lo = log(1 − q + q e^{−1/b}) (x ≤ 0; A-mass ½, B-mass ½e^{−1/b}), an atom at
    ℓ_hi = log(1 − q + q e^{1/b}) (x ≥ 1; A-mass ½e^{−1/b}, B-mass ½) and a continuous part
    on 0 < x < 1, where (2x − 1)/b = log((e^L − 1 + q)/q). L_add = −L_remove (x ~ A).
    Interval masses are exact in closed form (differences of exponentials written with
    expm1, mixtures of non-negative terms), and each atom sits in the interval (ℓ_j, ℓ_{j+1}]
    that contains it, so connect-the-dots keeps it exactly (module docstring).
    """

    def _atoms(self) -> tuple[float, float]:
        """(ℓ_lo, ℓ_hi): the remove loss at x ≤ 0 and at x ≥ 1."""
        q, b = self.sample_rate, self.noise_multiplier
        l1q, lq = math.log1p(-q), math.log(q)
        return float(np.logaddexp(l1q, lq - 1.0 / b)), float(np.logaddexp(l1q, lq + 1.0 / b))

    def _v(self, t: np.ndarray) -> np.ndarray:
        """v = (2x − 1)/(2b) at remove loss t, clipped to [−1/(2b), 1/(2b)] (0 ≤ x ≤ 1):
        v = ½·log((e^t − 1 + q)/q), −∞ where e^t − 1 + q ≤ 0 (then clipped)."""
        q, c = self.sample_rate, 0.5 / self.noise_multiplier
        t = np.asarray(t, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            inner = np.expm1(np.minimum(t, 0.0)) + q
            # log(e^t − 1 + q) = t + log1p(−(1 − q)e^{−t}) for t > 0 (no overflow)
            log_inner = np.where(t > 0, t + np.log1p(-(1.0 - q) * np.exp(-np.maximum(t, 0.0))),
                                 np.log(inner))
            v = 0.5 * (log_inner - math.log(q))
        v = np.where((t > 0) | (inner > 0), v, -np.inf)
        return np.clip(v, -c, c)

    def _pieces(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(A-mass, B-mass) of the continuous part between consecutive entries of the
        increasing array v: A((x_a, x_b]) = ½e^{−c−v_a}(1 − e^{v_a−v_b}),
        B((x_a, x_b]) = ½e^{v_b−c}(1 − e^{v_a−v_b}), c = 1/(2b)."""
        c = 0.5 / self.noise_multiplier
        va, vb = v[:-1], v[1:]
        w = -np.expm1(np.minimum(va - vb, 0.0))
        with np.errstate(under="ignore"):
            return 0.5 * np.exp(-c - va) * w, 0.5 * np.exp(vb - c) * w

    def _plan_edges(self) -> np.ndarray:
        """Loss edges at equally spaced x in [0, 1] (where the continuous mass is) merged
        with equally spaced losses, over :meth:`loss_range` at the default tail (mass far
        below any δ would only add a spurious tiny spread to the planning variance)."""
        c = 0.5 / self.noise_multiplier
        lo, hi = _sampled_laplace_range(self.noise_multiplier, self.sample_rate,
                                        self.direction, TAIL)  # (not widened by ulps)
        if self.direction == ADD:
            lo, hi = -hi, -lo  # the remove loss's range
        if hi - lo <= 1e-13 * max(abs(lo), abs(hi)):
            # a point mass to float precision: one edge, a planning variance of 0 (spurious
            # ulp-wide intervals would plan a vanishing step)
            return np.array([hi if self.direction == REMOVE else -hi])
        v = np.linspace(-c, c, 193)
        t = np.logaddexp(math.log1p(-self.sample_rate), math.log(self.sample_rate) + 2 * v)
        t = np.clip(t, lo, hi)
        edges = np.unique(np.concatenate([t, np.linspace(lo, hi, 193)]))
        return edges if self.direction == REMOVE else -edges[::-1]

    def loss_range(self, tail: float = TAIL) -> tuple[float, float]:
        """(lo, hi) with P(L < lo) ≤ tail and P(L > hi) ≤ tail: an atom's loss where the
        atom holds more than ``tail``, else the loss where the tail mass of the continuous
        part falls to ``tail`` (so a pair whose mass is all near one atom gets a narrow grid);
        widened by 4 ulp each way for the float rounding of the losses."""
        t = V.in_range(0.0, 1.0, low_open=True, high_open=True, tail=tail)
        lo, hi = _sampled_laplace_range(self.noise_multiplier, self.sample_rate,
                                        self.direction, t)
        return lo - 4 * math.ulp(lo), hi + 4 * math.ulp(hi)

    def _masses(self, edges: np.ndarray) -> _Masses:
        q, b = self.sample_rate, self.noise_multiplier
        c = 0.5 / b
        e = np.asarray(edges, dtype=float)
        n = e.size - 1
        lo, hi = self._atoms()
        half_small = 0.5 * math.exp(-1.0 / b)
        # pieces k = 0..n+1 of the remove loss: remove: k = 0 is L ≤ e_0, k = j + 1 is
        # (e_j, e_{j+1}], k = n + 1 is L > e_n. add (L' = −L on the grid e): with
        # f = −e reversed, k = 0 is L < f_0, k = i + 1 is [f_i, f_{i+1}), k = n + 1 is
        # L ≥ f_n; reversing the pieces gives below / (e_j, e_{j+1}] / above of L'.
        f = e if self.direction == REMOVE else -e[::-1]
        v = np.concatenate([[-c], self._v(f), [c]])
        a_m, b_m = self._pieces(v)
        if self.direction == REMOVE:
            k_lo, k_hi = (int(np.searchsorted(f, x, side="left")) for x in (lo, hi))
        else:
            k_lo, k_hi = (int(np.searchsorted(f, x, side="right")) for x in (lo, hi))
        a_m[k_lo] += 0.5
        b_m[k_lo] += half_small
        a_m[k_hi] += half_small
        b_m[k_hi] += 0.5
        mix = q * b_m + (1.0 - q) * a_m
        if self.direction == REMOVE:
            pm, qm = mix, a_m
        else:
            pm, qm = a_m[::-1], mix[::-1]
        return _Masses(np.ascontiguousarray(pm[1:n + 1]), np.ascontiguousarray(qm[1:n + 1]),
                       float(pm[0]), float(pm[n + 1]), float(qm[n + 1]))


@functools.lru_cache(maxsize=1024)
def _sampled_laplace_range(b: float, q: float, direction: str,
                           tail: float) -> tuple[float, float]:
    """:meth:`SampledLaplacePair.loss_range` before widening. In v = (2x − 1)/(2b) ∈ [−c, c],
    c = 1/(2b), the remove loss is ℓ(v) = log(1 − q + q e^{2v}); the tails, with
    A = Lap(0, b), B = Lap(1, b), for 0 ≤ x ≤ 1 (atoms included at the ends):
    A(X > x) = ½e^{−(v+c)}, B(X > x) = 1 − ½e^{v−c}, A(X < x) = 1 − ½e^{−(v+c)},
    B(X < x) = ½e^{v−c}."""
    c = 0.5 / b
    l1q, lq = math.log1p(-q), math.log(q)

    def loss(v: float) -> float:
        return float(np.logaddexp(l1q, lq + 2.0 * v))

    def sa(v: float) -> float:  # A(X > x(v))
        return 0.5 * math.exp(-(v + c))

    def bisect(f: Any, target: float) -> float:
        """The v found by bisection on [−c, c] for f non-increasing with f(c) ≤ target:
        f(v) ≤ target always holds at the returned end."""
        a, z = -c, c  # f(a) > target ≥ f(z) (checked by the caller)
        for _ in range(200):
            m = 0.5 * (a + z)
            if not a < m < z:
                break
            if f(m) <= target:
                z = m
            else:
                a = m
        return z

    bot, top = loss(-c), loss(c)
    if direction == REMOVE:  # X ~ (1 − q)A + qB; L > ℓ(v) ⇔ X > x(v)
        def above(v: float) -> float:
            return (1.0 - q) * sa(v) + q * -math.expm1(v - c - math.log(2.0))

        def below(u: float) -> float:  # P(X < x(−u)): non-increasing in u
            return (1.0 - q) * -math.expm1(u - c - math.log(2.0)) + q * 0.5 * math.exp(-u - c)

        # the bottom atom holds (1 − q)/2 + q e^{−2c}/2, the top one q/2 + (1 − q) e^{−2c}/2
        target = tail * (1.0 - 1e-9)  # room for the rounding of the tail formulas
        hi = top if above(c) > target else loss(bisect(above, target))
        lo = bot if below(c) > target else loss(-bisect(below, target))
        return lo, hi
    # add: X ~ A, L' = −ℓ(v); P(L' > −ℓ(v)) = A(X < x(v)) ≥ ½: the top is always −ℓ(−c);
    # P(L' < −ℓ(v)) = A(X > x(v)) = ½e^{−(v+c)} = tail at v = log(1/(2·tail)) − c
    v = math.log(0.5 / tail) - c
    return (-top if v >= c else -loss(max(v, -c))), -bot


# ----------------------------------------------------- symmetrized (replace-one) pairs
#: How far below 0 the mass left at loss 0 of a symmetrized pair may fall from rounding.
_SYM_SLACK = 1e-12


@dataclass(frozen=True)
class SymmetrizedPair(DominatingPair):
    """The symmetric pair (P*, Q*) that agrees with ``base`` = (P, Q) above loss 0:
    P*-mass ω(ℓ) at every loss ℓ > 0 (and +∞) as under P, its mirror e^{−ℓ}·ω(ℓ) at −ℓ, and
    the rest, 1 − P(L > 0) − Q(L > 0), at loss 0. Swapping P* and Q* gives the same loss law.

    Use (sampling without replacement, replace-one): with γ = m/n and (P, Q) a dominating
    pair of the inner mechanism under replace-one, Balle, Barthe, Gaboardi 2018 (Thm. 10)
    give H_{e^ε'}(M(D) ‖ M(D′)) ≤ γ·H_{e^ε}(P ‖ Q) = H_{e^ε'}(γP + (1−γ)Q ‖ Q) for every
    ε' = log(1 + γ(e^ε − 1)) ≥ 0, i.e. ``base`` = (γP + (1−γ)Q, Q) bounds δ(ε') for ε' ≥ 0
    only. Below 0, H_α(A ‖ B) = 1 − α + α·H_{1/α}(B ‖ A) (α = e^ε' < 1) and the relation is
    symmetric ((D′, D) are neighbours too), so every α < 1 is bounded by the same identity
    on the symmetric pair, whose H_α for α ≥ 1 is the base's (δ(ε ≥ 0) reads only losses
    above ε). Hence (P*, Q*) dominates for every α ≥ 0 and composes (Zhu, Dong, Wang 2022,
    Thm. 10) — the PLD form of the symmetrization of Dong, Roth, Su 2022 (Prop. 2.4, Thm. 4.2).

    It is a pair of distributions only when P(L > 0) + Q(L > 0) ≤ 1 (true for a symmetric
    inner pair: Gaussian, Laplace, randomized response); :meth:`discretize` refuses
    (DPKitError) a base that breaks this beyond rounding. Discretization: ``base``'s own
    pessimistic PLD, symmetrized (its δ(ε ≥ 0) is the base's, so it dominates the
    symmetrized exact pair by the same argument).
    """

    base: DominatingPair

    def __post_init__(self) -> None:
        if not isinstance(self.base, DominatingPair):
            raise DPKitError(f"base must be a DominatingPair, got {self.base!r}")
        object.__setattr__(self, "atom_base", self.base.atom_base)
        object.__setattr__(self, "infinity_mass", self.base.infinity_mass)

    def loss_range(self, tail: float = TAIL) -> tuple[float, float]:
        """(−h, h), h the base's upper end: P*(L < −h) = Σ_{ℓ>h} e^{−ℓ}ω(ℓ) ≤ P(L > h)."""
        hi = max(self.base.loss_range(tail)[1], 0.0)
        return -hi, hi

    def discretize(self, step: float, *, tail: float = TAIL,
                   floor: float | None = None) -> PrivacyLossDistribution:
        d = self.base.discretize(step, tail=tail)
        return symmetrize(d, floor=floor)


def symmetrize(d: PrivacyLossDistribution, *, floor: float | None = None
               ) -> PrivacyLossDistribution:
    """The symmetric PLD of :class:`SymmetrizedPair` from a PLD ``d`` of the base pair
    (masses at grid losses k·Δ, k ≥ 1, kept; mirrored to −k with factor e^{−kΔ}; the rest at
    0), with P-mass below ``floor`` moved up to it (which only raises δ)."""
    dd = d.step
    k = d.lower + np.arange(d.masses.size)
    pos = k >= 1
    kp, mp = k[pos], d.masses[pos]
    top = int(kp[-1]) if kp.size else 0
    out = np.zeros(2 * top + 1)
    if kp.size:
        out[top + kp] = mp
        with np.errstate(under="ignore"):
            out[top - kp] = mp * np.exp(-kp * dd)
    rest = 1.0 - d.infinity_mass - float(np.sum(out))
    if rest < -_SYM_SLACK:
        raise DPKitError(
            f"the base pair is not symmetrizable: P(L > 0) + Q(L > 0) exceeds 1 by {-rest:.3g}")
    out[top] = max(rest, 0.0)
    lower = -top
    if floor is not None and math.isfinite(floor):
        kf = math.floor(floor / dd + 1e-9)
        if kf > lower:
            cut = min(kf - lower, out.size - 1)
            out[cut] += float(np.sum(out[:cut]))
            out = out[cut:]
            lower += cut
    return _trusted(dd, lower, out, d.infinity_mass)


def symmetrized_pmfs(p: Any, q: Any) -> DiscretePair:
    """The exact :class:`SymmetrizedPair` of a pair of pmfs (P, Q) on one support, as pmfs:
    each outcome with P > Q kept, (P, Q) = (p_i, q_i), and mirrored, (q_i, p_i); one outcome
    with the rest, 1 − Σ (p_i + q_i) over those, under both (see there for when it applies).
    Raises DPKitError when that rest is negative beyond rounding."""
    pp = np.asarray(p, dtype=float)
    qq = np.asarray(q, dtype=float)
    up = pp > qq
    rest = 1.0 - float(np.sum(pp[up]) + np.sum(qq[up]))
    if rest < -_SYM_SLACK:
        raise DPKitError(
            f"the pair is not symmetrizable: P(L > 0) + Q(L > 0) exceeds 1 by {-rest:.3g}")
    rest = max(rest, 0.0)
    return from_pmfs(np.concatenate([pp[up], qq[up], [rest]]),
                     np.concatenate([qq[up], pp[up], [rest]]))


# --------------------------------------------------------------------- discrete pairs
@dataclass(frozen=True, eq=False)
class DiscretePair(DominatingPair):
    """A pair of pmfs on one finite support (the mechanism's two output laws, exact).

    Losses log(P/Q); outcomes with Q = 0 < P are at +∞ (``infinity_mass``); outcomes with
    P = 0 never contribute. ``mode="split"`` (default) discretizes by connect-the-dots (each
    atom split between its two neighbouring grid losses, P- and Q-mass kept); ``"round_up"``
    moves each atom up to the next grid loss (stochastically larger). Both dominate.
    """

    p: np.ndarray
    q: np.ndarray
    mode: str = "split"
    base: float | None = None

    def __post_init__(self) -> None:
        p = np.asarray(self.p, dtype=float).reshape(-1)
        q = np.asarray(self.q, dtype=float).reshape(-1)
        if p.shape != q.shape or p.size == 0:
            raise DPKitError(f"p and q must be non-empty and of equal length, got {p.size} and "
                             f"{q.size}")
        for name, v in (("p", p), ("q", q)):
            if not np.all(np.isfinite(v)) or (v < 0).any():
                raise DPKitError(f"{name} must hold finite probabilities >= 0")
            if abs(float(v.sum()) - 1.0) > 1e-9:
                raise DPKitError(f"{name} must sum to 1 (within 1e-9), got {float(v.sum())!r}")
        if self.mode not in ("split", "round_up"):
            raise DPKitError(f"mode must be 'split' or 'round_up', got {self.mode!r}")
        keep = (p > 0) & (q > 0)
        object.__setattr__(self, "p", p[keep])
        object.__setattr__(self, "q", q[keep])
        object.__setattr__(self, "infinity_mass", float(min(1.0, p[(p > 0) & (q == 0)].sum())))
        object.__setattr__(self, "atom_base", self.base)

    @property
    def losses(self) -> np.ndarray:
        """log(p/q) of each finite-loss outcome."""
        return np.log(self.p) - np.log(self.q)

    def loss_range(self, tail: float = TAIL) -> tuple[float, float]:
        if self.p.size == 0:
            return 0.0, 0.0
        ls = self.losses
        return float(ls.min()), float(ls.max())

    def hockey_stick(self, epsilon: Any) -> np.ndarray:
        """Exact δ(ε) = Σ (p − e^ε q)₊ + infinity_mass, vectorized."""
        e = np.asarray(epsilon, dtype=float).reshape(-1)
        ls = self.losses
        return np.array([self.infinity_mass + float(np.sum(
            self.p[ls > x] * -np.expm1(x - ls[ls > x]))) for x in e])

    def discretize(self, step: float, *, tail: float = TAIL,
                   floor: float | None = None) -> PrivacyLossDistribution:
        d = V.positive(step=step)
        if self.p.size == 0:
            return PrivacyLossDistribution(d, 0, np.zeros(1), self.infinity_mass)
        return split_atoms(self.losses, self.p, d, round_up=self.mode == "round_up",
                           infinity_mass=self.infinity_mass)


def split_atoms(losses: np.ndarray, p: np.ndarray, step: float, *, round_up: bool = False,
                infinity_mass: float = 0.0) -> PrivacyLossDistribution:
    """Atoms of P-mass ``p`` at ``losses`` put on the grid of ``step`` (> 0, checked by the
    caller), pessimistically (Doroshenko et al. 2022): connect-the-dots splits each atom
    between its two neighbouring grid losses keeping its P- and Q-mass (``round_up``: the
    whole atom moves up to the next grid loss). An atom within rounding *below* a grid point
    sits on it (moving it up only raises δ); an atom a hair above one is split normally
    (snapping it down would not be an upper bound). Privacy: δ(ε) of the result ≥ δ(ε) of
    the atoms at every ε, also after any composition."""
    out, k0 = kernel("split")(np.ascontiguousarray(losses, dtype=np.float64),
                              np.ascontiguousarray(p, dtype=np.float64), float(step),
                              bool(round_up))
    return _trusted(step, k0, out, infinity_mass)


def check_parts(parts: Any) -> list[tuple[DominatingPair, int]]:
    """The (pair, count > 0) entries of ``parts`` [(DominatingPair, count ≥ 0), ...]; bad
    entries raise a DPKitError naming ``parts`` or ``count``."""
    out = []
    try:
        items = list(parts)
    except TypeError:
        raise DPKitError("parts must be a sequence of (DominatingPair, count) pairs") from None
    for i, item in enumerate(items):
        try:
            pair, count = item
        except (TypeError, ValueError):
            raise DPKitError(f"parts[{i}] must be a (DominatingPair, count) pair") from None
        if not isinstance(pair, DominatingPair):
            raise DPKitError(f"parts[{i}] must hold a DominatingPair, got {type(pair).__name__}")
        c = V.integer(minimum=0, count=count)
        if c:
            out.append((pair, c))
    return out


def from_pmfs(p: Any, q: Any, *, mode: str = "split") -> DiscretePair:
    """The exact pair of two output pmfs on one finite support (the "pair of pmfs" event).

    Privacy: (P, Q) = (M(D), M(D′)) for the worst neighbouring (D, D′) is the tight
    dominating pair of M (for the relation under which those inputs are neighbours).
    Raises :class:`~dpkit.errors.DPKitError` naming ``p``/``q``/``mode`` on bad input.
    """
    return DiscretePair(np.asarray(p, dtype=float), np.asarray(q, dtype=float), mode)


def randomized_response_pair(epsilon: float, k: int = 2) -> DiscretePair:
    """k-ary randomized response (true value kept w.p. e^ε/(e^ε + k − 1)), replace-one:
    outcome x has loss ε, outcome x′ has −ε, the other k − 2 have 0. Tight (the two output
    laws themselves). k = 2 is also the tight pair of any ε-DP mechanism (Kairouz, Oh,
    Viswanath 2015)."""
    e = V.nonnegative(epsilon=epsilon)
    kk = V.integer(minimum=2, k=k)
    z = math.exp(e) + kk - 1
    rest = (kk - 2) / z
    p = [math.exp(e) / z, 1 / z] + ([rest] if kk > 2 else [])
    q = [1 / z, math.exp(e) / z] + ([rest] if kk > 2 else [])
    return DiscretePair(np.array(p), np.array(q), "split", e if e > 0 else None)


def pure_dp_pair(epsilon: float) -> DiscretePair:
    """The tight dominating pair of ε-DP: binary randomized response (Kairouz et al. 2015)."""
    return randomized_response_pair(epsilon, 2)
