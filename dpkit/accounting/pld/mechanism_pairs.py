"""Exact dominating pairs of mechanisms with explicit output laws, and envelopes of pairs.

The events :class:`~dpkit.accounting.events.PMFPairs`,
:class:`~dpkit.accounting.events.DiscreteLaplace` and
:class:`~dpkit.accounting.events.DiscreteGaussian` (and their Poisson-sampled forms) describe
a mechanism by its output laws on finitely many worst-case candidate input pairs.
:func:`event_pairs` turns each into one (pair, count) list per direction of the neighbouring
relation, for :func:`dpkit.accounting.pld.epsilon_bound`.

A finite family of candidate pairs is dominated by its **envelope** (:class:`EnvelopePair`,
:func:`envelope`): on the common loss grid, δ(ε) is the largest member's δ(ε) at every grid
loss and linear in e^ε between grid losses. Proof that it is a valid dominating pair, tight
at the grid losses:

* write x = e^ε. Every member's hockey-stick curve f_j(x) = H_x(P_j ‖ Q_j) is convex and
  non-increasing in x (a sum of terms (p − x·q)₊), so F = max_j f_j is convex and
  non-increasing too;
* the envelope G is F at the grid points x_k = e^{ℓ_k} and the chord of F between them, so
  G ≥ F everywhere (a chord of a convex function lies above it), G = F at the grid; below the
  lowest grid loss every member is linear in x (no loss atom there), G is the chord from
  (0, max_j f_j(0)) to (x_0, F(x_0)), above each member; above the top grid loss every f_j is
  its constant mass at +∞ and G = F = the largest of them;
* G is convex, piecewise linear with breakpoints at the x_k: the P-mass of an atom at ℓ_k is
  m_k = x_k·(slope jump at x_k) ≥ 0 (convexity), its Q-mass m_k e^{−ℓ_k} is the slope jump
  itself, so the total Q-mass is −G′(0+) ≤ the largest total Q-mass of a member ≤ 1 (the rest
  is a Q-only outcome), and the P-masses plus the mass at +∞ sum to G(0) = the members' total
  P-mass (1). So G is the curve of a genuine pair of distributions (P, Q), which dominates
  every member at every ε; if every neighbouring pair of the mechanism is dominated by some
  member, (P, Q) dominates the mechanism (Zhu, Dong, Wang 2022, Def. 7), and composing it is
  certified like any other pair (their Thm. 10).

The members are discretized first by connect-the-dots (each dominates its member), so the
envelope of the discretized members dominates the family. Float rounding of the slope
differences is checked afterwards: G is recomputed from the masses at every grid loss and any
shortfall below F is added to the mass at +∞ (so the envelope stays an upper bound).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import log_ndtr

from ...errors import DPKitError
from ..events import (
    ADD_REMOVE,
    ApproxDP,
    DiscreteGaussian,
    DiscreteLaplace,
    PMFPairs,
    PoissonSampled,
)
from .distribution import PrivacyLossDistribution
from .pairs import TAIL, DiscretePair, DominatingPair

__all__ = [
    "EnvelopePair",
    "envelope",
    "pmf_pair",
    "PmfPair",
    "MAX_PAIR_POINTS",
    "discrete_laplace_candidates",
    "discrete_gaussian_candidates",
    "poisson_mix",
    "event_pairs",
    "MAX_LAPLACE_SENSITIVITY",
    "MAX_GAUSSIAN_SENSITIVITY",
    "MAX_ATOMS",
]

#: Discrete Laplace: largest L1 sensitivity whose shift vectors (integer partitions of Δ) are
#: enumerated exactly; above it the pure-DP pair of ε = Δ/scale is used (still valid).
MAX_LAPLACE_SENSITIVITY = 20
#: Discrete Gaussian: largest L2 sensitivity whose shift vectors (partitions of Δ² into
#: squares) are enumerated; above it (or beyond :data:`MAX_ATOMS`) no pair is given.
MAX_GAUSSIAN_SENSITIVITY = 4
#: Largest support (outcomes) of one candidate pair built from noise pmfs.
MAX_ATOMS = 1 << 22
#: P-mass bound of the cut tails of one discrete Gaussian coordinate (sent to loss +∞).
GAUSS_TAIL = 1e-40

Raw = tuple[np.ndarray, np.ndarray]  # (p, q): two pmfs on one finite outcome set


# ------------------------------------------------------------------------- the envelope
def _suffix(m: np.ndarray) -> np.ndarray:
    return np.cumsum(m[::-1])[::-1]


def _deltas(m: np.ndarray, a: float) -> tuple[np.ndarray, np.ndarray]:
    """(D, U) on the grid of ``m``: D[k] = Σ_{i>k} m_i (1 − e^{ℓ_k−ℓ_i}), U[k] = Σ_{i≥k}
    m_i e^{ℓ_k−ℓ_i} (a = e^{−step}); by the recursions D[k] = a·D[k+1] + (1−a)·S[k+1] and
    U[k] = m_k + a·U[k+1], sums of non-negative terms only (no cancellation)."""
    import scipy.signal  # lazy: importing it costs ~0.4 s at `import dpkit`

    s = _suffix(m)
    x = np.zeros(m.size)
    x[1:] = s[1:][::-1]  # reversed S[k+1], with S[n] = 0 first
    d = scipy.signal.lfilter([1.0 - a], [1.0, -a], x)[::-1]
    u = scipy.signal.lfilter([1.0], [1.0, -a], m[::-1])[::-1]
    return np.maximum(d, 0.0), np.maximum(u, 0.0)


def envelope(plds: Sequence[PrivacyLossDistribution]) -> PrivacyLossDistribution:
    """The envelope of PLDs on one grid step (see the module docstring for the proof).

    Privacy: δ(ε) of the result is ≥ every input's δ(ε) at every ε ∈ ℝ (equal to the largest
    at the grid losses, up to float rounding that is only ever rounded upward), and the result
    is the PLD of a genuine pair of distributions, so it dominates each input's pair through
    composition. Raises :class:`~dpkit.errors.DPKitError` naming ``plds`` on an empty list or
    different steps.
    """
    items = list(plds)
    if not items or not all(isinstance(p, PrivacyLossDistribution) for p in items):
        raise DPKitError("plds must be a non-empty sequence of PrivacyLossDistribution")
    if len(items) == 1:
        return items[0]
    step = items[0].step
    for p in items[1:]:
        if not math.isclose(p.step, step, rel_tol=1e-12, abs_tol=0.0):
            raise DPKitError("plds must all share one step")
    lo = min(p.lower for p in items)
    hi = max(p.upper for p in items)
    n = hi - lo + 1
    a = math.exp(-step)
    f = np.full(n, -np.inf)  # F at the grid losses
    arg = np.full(n, -1, dtype=np.int64)  # which member attains it
    dec = np.zeros(n)  # that member's own decrement on segment k → k+1 (exact)
    top_total = 0.0
    for j, p in enumerate(items):
        m = np.zeros(n)
        off = p.lower - lo
        m[off:off + p.masses.size] = p.masses
        d, u = _deltas(m, a)
        dj = p.infinity_mass + d
        top_total = max(top_total, p.infinity_mass + float(m.sum()))
        better = dj > f
        f = np.where(better, dj, f)
        arg = np.where(better, j, arg)
        dj_seg = np.zeros(n)
        dj_seg[:-1] = (1.0 - a) * u[1:]  # f_j(ℓ_k) − f_j(ℓ_{k+1}) = (1 − e^{−Δ})·U[k+1]
        dec = np.where(better, dj_seg, dec)
    # decrement of F on each segment: exact where one member holds both ends
    same = np.zeros(n - 1, dtype=bool)
    same[:] = arg[:-1] == arg[1:]
    dseg = np.where(same, dec[:-1], np.maximum(f[:-1] - f[1:], 0.0))
    c_left = 1.0 / -math.expm1(-step)  # 1/(1 − e^{−Δ})
    c_right = 1.0 / math.expm1(step)  # 1/(e^{Δ} − 1)
    masses = np.zeros(n)
    masses[1:] += dseg * c_left
    masses[:-1] -= dseg * c_right
    masses[0] += max(top_total - float(f[0]), 0.0)
    masses = np.maximum(masses, 0.0)
    inf = float(f[-1])
    # rounding check: raise every grid value that fell below F (mass at +∞ counts everywhere)
    if masses.sum() + inf < top_total:
        masses[0] += top_total - (masses.sum() + inf)
    g = inf + _deltas(masses, a)[0]
    short = float(np.max(f - g))
    if short > 0:
        inf += short
    return PrivacyLossDistribution(step, lo, masses, min(1.0, inf))


@dataclass(frozen=True, eq=False)
class EnvelopePair(DominatingPair):
    """The worst of several dominating pairs: its discretization is the :func:`envelope` of
    the members' connect-the-dots discretizations (module docstring: a genuine pair that
    dominates every member at every ε, tight at the grid losses).

    Privacy: if every neighbouring pair of a mechanism is dominated by some member, this pair
    dominates the mechanism (finitely many worst-case candidates; asymmetric pairs under a
    symmetric relation, with both orientations as members).
    """

    members: tuple[DominatingPair, ...]
    _cache: dict[Any, PrivacyLossDistribution] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        mem = tuple(self.members)
        if not mem or not all(isinstance(p, DominatingPair) for p in mem):
            raise DPKitError("members must be a non-empty sequence of DominatingPair")
        object.__setattr__(self, "members", mem)
        object.__setattr__(self, "infinity_mass", max(p.infinity_mass for p in mem))
        bases = {p.atom_base for p in mem}
        object.__setattr__(self, "atom_base", bases.pop() if len(bases) == 1 else None)

    def loss_range(self, tail: float = TAIL) -> tuple[float, float]:
        r = [p.loss_range(tail) for p in self.members]
        return min(x for x, _ in r), max(y for _, y in r)

    def discretize(self, step: float, *, tail: float = TAIL,
                   floor: float | None = None) -> PrivacyLossDistribution:
        """The envelope of the members discretized on ``step`` (each by connect-the-dots)."""
        key = (float(step), float(tail), floor)
        hit = self._cache.get(key)
        if hit is None:
            hit = envelope([p.discretize(step, tail=tail, floor=floor) for p in self.members])
            if len(self._cache) >= 4:
                self._cache.clear()
            self._cache[key] = hit
        return hit


# ------------------------------------------------------------------------ pmf candidates
def _key(p: np.ndarray, q: np.ndarray) -> tuple[tuple[float, float], ...]:
    keep = (p > 0) | (q > 0)
    return tuple(sorted(zip(p[keep].tolist(), q[keep].tolist(), strict=True)))


def _dedup(cands: Sequence[Raw]) -> list[Raw]:
    seen: set[tuple[tuple[float, float], ...]] = set()
    out = []
    for p, q in cands:
        k = _key(p, q)
        if k not in seen:
            seen.add(k)
            out.append((p, q))
    return out


#: Largest grid (points) one candidate pair is discretized on; atoms further below the top
#: kept loss are moved up (pessimistic), so a very fine step never builds a huge array.
MAX_PAIR_POINTS = 1 << 22


@dataclass(frozen=True, eq=False)
class PmfPair(DiscretePair):
    """:class:`~dpkit.accounting.pld.pairs.DiscretePair` whose discretization honours
    ``tail`` and a memory bound: the highest atoms holding at most ``tail`` P-mass in all go to
    loss +∞, the lowest atoms holding at most ``tail`` are moved up to the lowest kept loss,
    and P-mass at losses below (top kept loss − :data:`MAX_PAIR_POINTS`·step) is moved up to
    that loss, before the connect-the-dots split.

    Privacy: moving P-mass to a higher loss (or to +∞) raises the survival function of the
    loss, hence δ(ε) at every ε (module docstring of :mod:`.distribution`), and connect-the-
    dots then dominates; so the result dominates the pair at every ε.
    """

    def discretize(self, step: float, *, tail: float = TAIL,
                   floor: float | None = None) -> PrivacyLossDistribution:
        d = float(step)
        if not (math.isfinite(d) and d > 0):
            raise DPKitError(f"step must be positive and finite, got {step!r}")
        if self.p.size == 0:
            return PrivacyLossDistribution(d, 0, np.zeros(1), self.infinity_mass)
        t = float(tail) if math.isfinite(tail) and 0.0 <= tail < 1.0 else 0.0
        order = np.argsort(self.losses, kind="stable")
        ls = self.losses[order]
        pm = self.p[order]
        top_mass = np.cumsum(pm[::-1])[::-1]  # P-mass at index ≥ i
        keep = top_mass > t
        keep[0] = True
        inf = self.infinity_mass + float(pm[~keep].sum())
        ls, pm = ls[keep], pm[keep]
        low_mass = np.cumsum(pm)
        first = int(np.searchsorted(low_mass, t, side="right"))  # atoms before: ≤ t in all
        first = min(first, ls.size - 1)
        # (``floor`` is not applied: like DiscretePair, the atoms are few and the planner's
        # step rule reads the spread of the discretized pair)
        bottom = max(float(ls[first]), float(ls[-1]) - MAX_PAIR_POINTS * d)
        ls = np.maximum(ls, bottom)
        if float(np.max(np.abs(ls))) / d > 2.0 ** 52:
            raise DPKitError(f"step must be at least max|loss|·2^-52, got {step!r}")
        k = ls / d
        ka = np.floor(k)
        near = np.abs(k - np.round(k)) <= 1e-9 * np.maximum(1.0, np.abs(k))
        ka = np.where(near, np.round(k), ka)
        a = ka * d
        to_b = np.where(near, 0.0, np.clip(pm * -np.expm1(a - ls) / -math.expm1(-d), 0.0, pm))
        to_a = pm - to_b
        k0 = int(ka.min())
        n = int(ka.max()) - k0 + 2
        out = np.bincount((ka - k0).astype(np.int64), weights=to_a, minlength=n)
        out += np.bincount((ka - k0 + 1).astype(np.int64), weights=to_b, minlength=n)
        return PrivacyLossDistribution(d, k0, out, min(1.0, inf))


def pmf_pair(p: Any, q: Any, base: float | None = None) -> PmfPair:
    """The exact pair of two pmfs on one outcome set (outcomes with q = 0 < p at loss +∞).

    Privacy: exact for the mechanism whose laws at the worst neighbouring inputs are (p, q).
    Raises :class:`~dpkit.errors.DPKitError` on pmfs that are not finite, ≥ 0, summing to 1
    (within 1e-9), of equal lengths.
    """
    return PmfPair(np.asarray(p, dtype=float), np.asarray(q, dtype=float), "split", base)


def _pair_of(cands: Sequence[Raw], base: float | None = None) -> DominatingPair:
    cs = _dedup(cands)
    pairs = [pmf_pair(p, q, base) for p, q in cs]
    return pairs[0] if len(pairs) == 1 else EnvelopePair(tuple(pairs))


def poisson_mix(p: np.ndarray, q: np.ndarray, rate: float, direction: str) -> Raw:
    """Poisson subsampling with rate r of a remove-direction pair (P, Q) = (M(D), M(D − x)):
    remove → (rP + (1 − r)Q, Q), add → (Q, rP + (1 − r)Q) (Zhu, Dong, Wang 2022, Thm. 11).

    Privacy: for r ≤ 1 the sampled curve is a monotone function of the inner pair's curve
    (H_γ(rP + (1−r)Q ‖ Q) = r·H_{(γ−1+r)/r}(P ‖ Q) for γ ≥ 1 − r, and 1 − γ below; the add
    direction by H_γ(A ‖ B) = 1 − γ + γ·H_{1/γ}(B ‖ A)), so mixing a dominating pair gives a
    dominating pair of the subsampled mechanism.
    """
    mix = rate * p + (1.0 - rate) * q
    if direction == "remove":
        return mix, q.copy()
    if direction == "add":
        return q.copy(), mix
    raise DPKitError(f"direction must be 'remove' or 'add', got {direction!r}")


# ---------------------------------------------------------------- discrete Laplace
def _partitions(n: int, parts: Sequence[int]) -> list[tuple[int, ...]]:
    """Multisets of ``parts`` (descending) summing to exactly n."""
    out: list[tuple[int, ...]] = []

    def rec(rest: int, i: int, acc: tuple[int, ...]) -> None:
        if rest == 0:
            out.append(acc)
            return
        for j in range(i, len(parts)):
            if parts[j] <= rest:
                rec(rest - parts[j], j, (*acc, parts[j]))

    rec(n, 0, ())
    return out


def _dlap_shift(t: float, s: int) -> np.ndarray:
    """P-mass of the loss of one discrete-Laplace coordinate shifted by s, on the loss lattice
    k/t, k = −s … s (index k + s): y ≤ 0 → −s, y ≥ s → s, 0 < y < s → 2y − s (exact sums)."""
    r = math.exp(-1.0 / t)
    c = -math.expm1(-1.0 / t) / (1.0 + r)  # (1 − r)/(1 + r)
    out = np.zeros(2 * s + 1)
    out[0] = math.exp(-s / t) / (1.0 + r)
    out[2 * s] = 1.0 / (1.0 + r)
    for y in range(1, s):
        out[2 * y] = c * math.exp(-(s - y) / t)
    return out


def discrete_laplace_candidates(scale: float, sensitivity: int) -> list[Raw] | None:
    """Candidate (P, Q) pairs (remove direction; the pairs are symmetric) of discrete Laplace
    noise with ``scale`` t on an integer query of L1 sensitivity Δ: one per integer partition
    of Δ (the absolute shifts of the coordinates), as the exact law of the privacy loss (a
    sufficient statistic) on the lattice k/t. None above :data:`MAX_LAPLACE_SENSITIVITY`.

    Why these suffice: a shift vector v (‖v‖₁ ≤ Δ) gives the product of the coordinates'
    pairs; signs and order do not matter (y ↦ −y, permutations), and v with ‖v‖₁ < Δ is a
    marginal (post-processing) of v extended by ones, whose ‖·‖₁ is Δ.
    """
    if sensitivity > MAX_LAPLACE_SENSITIVITY:
        return None
    out = []
    for parts in _partitions(sensitivity, list(range(sensitivity, 0, -1))):
        m = np.ones(1)
        lo = 0
        for s in parts:
            m = np.convolve(m, _dlap_shift(scale, s))
            lo -= s
        k = lo + np.arange(m.size)
        with np.errstate(under="ignore", over="ignore"):
            qm = m * np.exp(-k / scale)
        keep = (m > 0) | (qm > 0)
        out.append((m[keep], qm[keep]))
    return out


# ---------------------------------------------------------------- discrete Gaussian
@functools.lru_cache(maxsize=32)
def _dgauss_pmf(sigma: float) -> tuple[np.ndarray, float]:
    """(pmf on −M … M normalized by the truncated sum, bound on the P-mass cut off)."""
    log_c = math.log(2.0 * sigma * math.sqrt(2.0 * math.pi))
    z = 8.0
    while log_c + float(log_ndtr(-z)) > math.log(GAUSS_TAIL):
        z += 0.5
    m = int(math.ceil(z * sigma))
    y = np.arange(-m, m + 1, dtype=float)
    w = np.exp(-(y * y) / (2.0 * sigma * sigma))
    # Σ_{|y|>M} e^{−y²/2σ²} ≤ 2∫_M^∞ e^{−x²/2σ²}dx = 2σ√(2π)Φ̄(M/σ); the normalizer is ≥ 1
    tail = math.exp(log_c + float(log_ndtr(-m / sigma)))
    return w / w.sum(), tail


def discrete_gaussian_candidates(sigma: float, sensitivity: int) -> list[Raw] | None:
    """Candidate (P, Q) pairs of discrete Gaussian noise σ on an integer query of L2
    sensitivity Δ: one per multiset of positive integers v with Σ v_i² = Δ² (the absolute
    coordinate shifts). For shift v the loss is (2⟨v, y⟩ − Δ²)/(2σ²), so Z = ⟨v, Y⟩ is
    sufficient: Q = law of Σ v_i Y_i (Y_i iid discrete Gaussian), P = Q shifted by Δ².
    Tails beyond ±M (per coordinate) are cut with their P-mass bound at loss +∞ (pessimistic:
    (P − γQ)₊ ≤ (P_kept − γQ_kept)₊ + P_cut outcome by outcome). None when Δ >
    :data:`MAX_GAUSSIAN_SENSITIVITY` or a support exceeds :data:`MAX_ATOMS`.

    Why these suffice: signs and order do not matter; v with ‖v‖₂² < Δ² is a marginal of v
    extended by ones (‖·‖₂² = Δ²). Float note: σ is the event's float σ; pmfs carry relative
    rounding ~1e-16 (below the discretization slack).
    """
    if sensitivity > MAX_GAUSSIAN_SENSITIVITY:
        return None
    d2 = sensitivity * sensitivity
    base, tail = _dgauss_pmf(float(sigma))
    if base.size * d2 > MAX_ATOMS:
        return None
    squares = [k * k for k in range(sensitivity, 0, -1)]
    out = []
    for parts in _partitions(d2, squares):
        vs = [math.isqrt(s) for s in parts]
        r = np.ones(1)
        lo = 0
        for v in vs:
            spread = np.zeros((base.size - 1) * v + 1)
            spread[::v] = base
            r = np.convolve(r, spread)
            lo -= (base.size - 1) // 2 * v
        # outcomes z = lo … lo + len(r) − 1 + Δ²: Q(z) = r(z), P(z) = r(z − Δ²)
        n = r.size + d2
        p = np.zeros(n + 2)
        q = np.zeros(n + 2)
        q[:r.size] = r
        p[d2:d2 + r.size] = r
        cut = min(1.0, len(vs) * tail)
        p[n] = cut  # the cut P-mass, at loss +∞
        q[n + 1] = max(0.0, 1.0 - float(q[:n].sum()))  # the cut Q-mass (Q only)
        p[n + 1] = 0.0
        out.append((p, q))
    return out


# ---------------------------------------------------------------------- events → pairs
def _remove_candidates(event: Any) -> tuple[list[Raw], float | None] | None:
    """Candidate remove-direction pairs of one of this module's events, and the common loss
    lattice (or None)."""
    if isinstance(event, PMFPairs):
        raw = [(np.asarray(p, dtype=float), np.asarray(q, dtype=float)) for p, q in event.pairs]
        if event.relation != ADD_REMOVE:
            raw = raw + [(q, p) for p, q in raw]
        return _dedup(raw), None
    if isinstance(event, DiscreteLaplace):
        c = discrete_laplace_candidates(event.scale, event.sensitivity)
        if c is None:  # any ε-DP mechanism: binary randomized response (Kairouz et al. 2015)
            e = event.epsilon
            hi = 1.0 / (1.0 + math.exp(-e))
            lo_ = 1.0 - hi
            return [(np.array([hi, lo_]), np.array([lo_, hi]))], e
        return c, 1.0 / event.scale
    if isinstance(event, DiscreteGaussian):
        c = discrete_gaussian_candidates(event.sigma, event.sensitivity)
        return None if c is None else (c, None)
    return None


@functools.lru_cache(maxsize=32)
def _cached_pairs(event: Any, two: bool) -> list[list[tuple[DominatingPair, int]]] | None:
    if isinstance(event, PoissonSampled):
        got = _remove_candidates(event.event)
        if got is None:
            return None
        cands, _ = got
        r = event.sample_rate
        if r == 0.0:
            return [[], []]
        rem = _pair_of([poisson_mix(p, q, r, "remove") for p, q in cands])
        add = _pair_of([poisson_mix(p, q, r, "add") for p, q in cands])
        return [[(rem, 1)], [(add, 1)]]
    got = _remove_candidates(event)
    if got is None:
        return None
    cands, base = got
    if isinstance(event, PMFPairs) and event.relation == ADD_REMOVE:
        rem = _pair_of(cands, base)
        add = _pair_of([(q, p) for p, q in cands], base)
        return [[(rem, 1)], [(add, 1)]]
    pair = _pair_of(cands, base)
    return [[(pair, 1)], [(pair, 1)]] if two else [[(pair, 1)]]


@functools.lru_cache(maxsize=1024)
def _approx_dp_pair(epsilon: float, delta: float) -> DiscretePair:
    """The tight dominating pair of (ε, δ)-DP (Kairouz, Oh, Viswanath 2015, Thm. 2.4)."""
    p, q = ApproxDP(epsilon, delta).pmfs()
    return DiscretePair(np.array(p), np.array(q))


def event_pairs(event: Any, relation: str | None
                ) -> list[list[tuple[DominatingPair, int]]] | None:
    """Dominating pairs of this module's events, one list of (pair, count) per direction.

    ``ApproxDP`` (its tight four-point pair), ``PMFPairs``, ``DiscreteLaplace``,
    ``DiscreteGaussian`` and ``PoissonSampled`` of one of them; ``None`` for any other event
    (and for a discrete Gaussian beyond the enumerated
    sensitivities). With ``relation="add_remove"`` (the ledger's relation, or the event's
    own) two lists are returned, (remove, add); otherwise one (the relation is symmetric:
    both orientations are members of the envelope). A ``PoissonSampled`` event always gives
    (remove, add), sampled by :func:`poisson_mix` (Zhu, Dong, Wang 2022, Thm. 11); a sample
    rate of 0 gives two empty lists (no privacy cost).

    Privacy: each returned pair dominates its direction of the event's mechanism (module
    docstring; candidates of each event in its builder's docstring).
    """
    rel = getattr(event, "relation", None)
    two = relation == ADD_REMOVE or rel == ADD_REMOVE
    if isinstance(event, ApproxDP):
        # the tight (ε, δ) pair is its own mirror image: one pair serves both orientations
        if event.epsilon == 0.0 and event.delta == 0.0:
            return [[], []] if two else [[]]
        pair = _approx_dp_pair(event.epsilon, event.delta)
        return [[(pair, 1)], [(pair, 1)]] if two else [[(pair, 1)]]
    try:
        return _cached_pairs(event, two)
    except TypeError:  # an unhashable event (not one of ours)
        return None
