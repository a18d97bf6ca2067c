"""Multi-level composition: certified ε(δ) / δ(ε) of T compositions at a cost ~log T.

One FFT composition of T copies on one grid needs a step Δ ∝ √(ε/T) (connect-the-dots raises
the variance of every copy by up to Δ²/4, and T copies add it up) on a window ∝ √T wide, so
its grid grows like √T. Here T is written in base r (mixed radix, T = d_L·r^L + Σ_{l<L}
d_l·r^l; r = 64 or 100, whichever needs fewer FFT passes: :func:`_radix`) and composed level
by level:

* ω_0 is the pair discretized (connect-the-dots) on step Δ_0; ω_{l+1} = ω_l^{*r} and the
  remainder accumulator A_{l+1} = A_l * ω_l^{*d_l} are composed by FFT exponentiation
  (:func:`.distribution.fourier_compose`, untilted, every rounding and tail bounded there) on
  a window cut where Chernoff bounds on the discrete laws put ≤ τ_l of mass above and below;
* each result is **re-discretized** by connect-the-dots onto the coarser step Δ_{l+1} of the
  next level (:func:`recoarsen`: each atom split between its two neighbouring coarse grid
  losses keeping its P- and Q-mass; Doroshenko, Ghazi, Kamath, Kumar, Manurangsi, PETS 2022);
* the top level composes ω_L (d_L times) with A_L by the single-level engine
  (:func:`.bounds.plan_pld`: planned step, tilted FFT, tail and rounding bounds, re-plans).

Step rule: ω_l is composed R_l = T/N_l more times (N_l = r^l copies in it), so its
re-discretization adds ≤ R_l·Δ_l²/4 to the variance of the final loss; Δ_l = √(4·β·v·N_l),
with v the variance of one copy and β = accuracy/(2·(L + 1)), keeps the sum of those below
accuracy/2 of the final variance T·v. The window of every level is then a fixed number of
its own spreads wide: the grid is ~constant per level and the cost ∝ L ∝ log T.

Certification. A PLD here is the P-law of the loss of a pair of *measures* (P, Q), with
Q = e^{−ℓ}·P on finite losses (Q-only outcomes sit at −∞ and never count). Every operation
used takes a representation to one that dominates it in the sense "obtained by adding mass
(new outcomes), moving P-mass up (a Q-only outcome absorbs the freed Q-mass, so the old pair
is a post-processing of the new one) or splitting atoms keeping P and Q (connect-the-dots:
merging the pieces is a post-processing)". Each such relation between A and B carries over to
A×C and B×C for any pair C (add the product mass; apply kernel ⊗ identity), and the
hockey-stick divergence δ(ε) = Σ (p − e^ε q)₊ + P(+∞) only grows under each (data
processing of a convex sublinear functional; monotone in added mass). Hence the composed
representation of every level dominates the exact composition of the pair, and so does the
final one: each value returned is an upper bound on the true ε (δ), up to the float rounding
that the FFT bounds explicitly and the splits keep at ~1e-10 relative.

Use: :func:`.bounds.epsilon_bound` / :func:`.bounds.delta_bound` hand a composition over
when :func:`use_levels` says so (a count ≥ :data:`LEVELS_WIRE_COUNT`, pairs not on one atom
lattice), passing their planner :func:`.bounds.plan_pld` in (this module sits below
:mod:`.bounds`; no import cycle). Measured (benchmarks/pld_levels.py, q=0.01, σ=1, δ=1e-5):
the largest grid stays at 14 400 – 39 366 points from T = 1e4 to 1e9 (single level: 15 625 →
3 779 136), ~6–15 ms per direction pair, ε within −5.6e-4 … 0 of the single level.

Tails: the level windows send the mass above them to +∞ (bounded by a Chernoff bound, counted
in ``infinity_mass``, which later levels compose) and lift the mass below them (pessimistic);
both are sized so that the +∞ mass reaching the final composition is ≤ 1e-5·δ, and the result
is re-planned with a smaller τ if it is not.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from ... import _validate as V
from ._planning import planning_variance
from .distribution import (
    MAX_POINTS,
    PrivacyLossDistribution,
    _log_mgf,
    _support,
    _tilted_moments,
    _trusted,
    fourier_compose,
)
from .pairs import TAIL, DominatingPair, IntervalPair, _Masses, check_parts, split_atoms

__all__ = ["epsilon_bound_levels", "delta_bound_levels", "recoarsen", "use_levels",
           "LEVELS_MIN_COUNT", "LEVELS_WIRE_COUNT"]

Parts = Sequence[tuple[DominatingPair, int]]

#: Counts from which :func:`epsilon_bound_levels` builds levels (smaller counts are composed
#: directly by the single-level engine).
LEVELS_MIN_COUNT = 4096
#: Counts from which :func:`.bounds.epsilon_bound` / :func:`.bounds.delta_bound` hand over to
#: the levels (measured: faster from ~1e6 on, 2–30× at 1e7–1e9; benchmarks/pld_levels.py).
LEVELS_WIRE_COUNT = 1_000_000
#: Radix r: compositions per level (the default; :func:`_radix` may take another of
#: :data:`RADICES`).
RADIX = 64
#: The radices tried for a count: the one with the fewest FFT passes, weighted by √r (a level's
#: window holds ~√r spreads of its input), wins. 100 suits the round counts people use
#: (T = 1e6 = 100³: two levels, no remainder digits, 4 passes against 64's 6).
RADICES = (64, 100)
#: Chernoff exponents (in units of 1/spread) for the window cuts of a level.
_S_UNITS = np.geomspace(3e-2, 3e2, 17)
#: Multiples of the cut's exponent tried for the certified upper-tail bound of a level.
_S_TAIL = np.array([0.5, 0.75, 1.0, 1.5, 2.0])


def recoarsen(pld: PrivacyLossDistribution, step: float, *, floor: float | None = None
              ) -> PrivacyLossDistribution:
    """Connect-the-dots of a discrete PLD onto the grid ``k·step``.

    Every atom p at loss ℓ (a < ℓ ≤ b = a + step, grid neighbours) is split into
    p·(1 − e^{a−ℓ})/(1 − e^{−step}) at b and the rest at a: both its P-mass p and its Q-mass
    p·e^{−ℓ} are kept, so merging the two pieces again (a post-processing) gives back the
    input: the result dominates the input at every ε and through any composition (Doroshenko
    et al. 2022). An atom within rounding below a grid loss is moved up onto it (pessimistic).
    ``floor``: P-mass below it is first moved up to it (pessimistic). ``infinity_mass`` is
    kept. Privacy: δ(ε) of the result ≥ δ(ε) of ``pld`` at every ε.

    Raises:
        DPKitError: naming ``step`` or ``floor``.
    """
    d = V.positive(step=step)
    m = pld.masses
    pos = m > 0
    if not pos.any():
        return _trusted(d, 0, np.zeros(1), pld.infinity_mass)
    p = m[pos]
    ls = pld.losses[pos]
    if floor is not None:
        f = V.finite(floor=floor)
        ls = np.maximum(ls, f)
    return split_atoms(ls, p, d, infinity_mass=pld.infinity_mass)


class _PLDPair(IntervalPair):
    """The pair of measures (P, Q = e^{−ℓ}P) represented by a discrete PLD, as a
    :class:`DominatingPair`, so that :func:`.bounds.plan_pld` can compose it (its
    :meth:`discretize` is :func:`recoarsen`: it dominates this pair)."""

    def __init__(self, pld: PrivacyLossDistribution) -> None:
        self.pld = pld
        self.infinity_mass = pld.infinity_mass
        pos = np.nonzero(pld.masses > 0)[0]
        if pos.size == 0:
            self._lo = self._hi = 0.0
        else:
            self._lo = float((pld.lower + pos[0]) * pld.step)
            self._hi = float((pld.lower + pos[-1]) * pld.step)

    def loss_range(self, tail: float = TAIL) -> tuple[float, float]:
        return self._lo, self._hi

    def _plan_edges(self) -> np.ndarray:
        return np.linspace(self._lo, max(self._hi, self._lo + 1e-12), 257)

    def _masses(self, edges: np.ndarray) -> _Masses:
        p = self.pld.masses
        ls = self.pld.losses
        j = np.searchsorted(edges, ls, side="left")  # ℓ ∈ (e_{j−1}, e_j]
        with np.errstate(over="ignore"):
            qs = p * np.exp(-ls)
        inside = (j >= 1) & (j < edges.size)
        nb = edges.size - 1
        p_int = np.bincount(j[inside] - 1, weights=p[inside], minlength=nb)[:nb]
        q_int = np.bincount(j[inside] - 1, weights=qs[inside], minlength=nb)[:nb]
        above = j >= edges.size
        return _Masses(p_int, q_int, float(p[j == 0].sum()), float(p[above].sum()),
                       float(qs[above].sum()))

    def discretize(self, step: float, *, tail: float = TAIL,
                   floor: float | None = None) -> PrivacyLossDistribution:
        return recoarsen(self.pld, step, floor=floor)


def _window(parts: list[tuple[PrivacyLossDistribution, int]], tail: float
            ) -> tuple[int, int, np.ndarray, float]:
    """Grid indices (a, b) of a window holding all but ≤ ``tail`` of the composed P-mass on
    each side (Chernoff bounds on the discrete laws), the exponents used and the one that
    set the upper cut."""
    step = parts[0][0].step
    lo, hi = _support(parts)
    mu = var = 0.0
    for p, c in parts:
        m, v = _tilted_moments(p, 0.0)
        mu += c * m
        var += c * v
    sd = max(math.sqrt(max(var, 0.0)), step)
    s = _S_UNITS / sd
    kk = np.zeros(2 * s.size)
    margin = 2
    for p, c in parts:  # planning only: on a copy coarsened to ≤ ~512 points
        f = max(1, p.masses.size // 512)
        margin = max(margin, f + 2)
        kk += c * _log_mgf(p.coarsen(f), np.concatenate([s, -s]))
    kp, kn = kk[:s.size], kk[s.size:]
    lt = math.log(max(tail, 1e-300))
    with np.errstate(invalid="ignore"):
        cut = (kp - lt) / s
        cut[np.isnan(cut)] = np.inf
        top = float(np.min(cut))
        lam = float(s[int(np.argmin(cut))])
        bot = float(np.nanmax((lt - kn) / s))
    b = min(hi, math.ceil(max(top, mu + 6 * sd) / step) + margin)
    a = max(lo, math.floor(min(bot, mu - 6 * sd) / step) - margin)
    return a, max(a, b), s, lam


class _TooBig(Exception):
    """A level's window exceeds ``max_points``: the caller composes on one level instead."""


def _compose_level(parts: list[tuple[PrivacyLossDistribution, int]], tail: float,
                   max_points: int) -> PrivacyLossDistribution:
    """Certified FFT composition of ``parts`` on a Chernoff-cut window, accurate over the
    whole window: the entrywise minimum of an untilted composition (rounding bound η on
    every entry, small against the bulk) and one tilted at the exponent λ of the window's
    upper Chernoff cut (rounding bound η·e^{K(λ)−λℓ}, tiny in the upper tail, where an
    untilted η would add spurious mass at large losses that every later composition
    carries). Each entry of either is ≥ the exact (aliased) entry, so their minimum is too;
    the P-mass that the minimum leaves short of the exact total is put at the lowest loss
    (every survival value stays ≥ the exact one), and the mass above the window is in
    ``infinity_mass`` (Chernoff bound, :func:`.distribution.fourier_compose`)."""
    import scipy.fft  # lazy (import time of dpkit)

    parts = [(p, c) for p, c in parts if c > 0]
    if len(parts) == 1 and parts[0][1] == 1:
        return parts[0][0]
    a, b, s, lam = _window(parts, tail)
    if b - a + 1 > max_points:
        raise _TooBig
    n = int(scipy.fft.next_fast_len(int(b - a + 1), real=True))
    if not (lam > 0 and math.isfinite(lam)):
        return fourier_compose(parts, tilt=0.0, lo_index=a, n=n, s_grid=s)
    # the mass above the window: the tilted composition's Chernoff bound (at s = λ, free with
    # its tilt, when that meets the level's budget; else the best of λ·_S_TAIL); the flat one
    # skips it (tail_target = ∞ takes the trivial bound 1), since the result keeps the
    # smaller of the two
    tilted = fourier_compose(parts, tilt=lam, lo_index=a, n=n, s_grid=lam * _S_TAIL,
                             tail_target=tail)
    flat = fourier_compose(parts, tilt=0.0, lo_index=a, n=n, tail_target=math.inf)
    lo = min(flat.lower, tilted.lower)
    hi = max(flat.upper, tilted.upper)
    x = np.full((2, hi - lo + 1), np.inf)
    x[0, flat.lower - lo:flat.upper - lo + 1] = flat.masses
    x[1, tilted.lower - lo:tilted.upper - lo + 1] = tilted.masses
    m = np.min(x, axis=0)
    m[~np.isfinite(m)] = 0.0
    log_total = sum(float(c) * math.log(float(p.masses.sum())) for p, c in parts
                    if p.masses.sum() > 0)
    short = math.exp(log_total) - float(m.sum())
    if short > 0:
        m[0] += short * (1.0 + 1e-12)
    return _trusted(flat.step, lo, m, min(flat.infinity_mass, tilted.infinity_mass))


def _digits(count: int, radix: int) -> tuple[list[int], int]:
    """(d_0, …, d_{L−1}), d_L: count = d_L·r^L + Σ d_l·r^l, with r ≤ d_L < r²."""
    digits = []
    top = count
    while top >= radix * radix:
        digits.append(top % radix)
        top //= radix
    return digits, top


def _radix(count: int) -> int:
    """The radix of :data:`RADICES` with the least estimated work for ``count`` compositions:
    each level composes ω^r (two FFT passes: flat and tilted) and, for a non-zero digit, the
    remainder accumulator (two more), on a window ∝ √r; ties go to :data:`RADIX`."""
    def cost(r: int) -> float:
        digits, _ = _digits(count, r)
        return (2 * len(digits) + 2 * sum(1 for d in digits if d)) * math.sqrt(r)

    return min(RADICES, key=lambda r: (cost(r), r != RADIX))


def _full_mass(p: PrivacyLossDistribution) -> PrivacyLossDistribution:
    """``p`` with the P-mass that rounding lost restored, at its highest loss.

    A pair's P is a probability: its finite-loss P-mass is 1 − P(L = +∞). Connect-the-dots
    keeps it up to a relative rounding of ~u/step per atom, which a fine step makes ~1e-10
    per copy; missing mass would sit at −∞ (optimistic) and compound over the T copies
    (T = 1e8: ~1 % of the mass). The shortfall is added at the top grid loss (more mass,
    higher loss: pessimistic); an excess is kept.
    """
    short = (1.0 - p.infinity_mass) - float(p.masses.sum())
    if not short > 0:
        return p
    m = p.masses.copy()
    top = int(np.nonzero(m > 0)[0][-1]) if (m > 0).any() else m.size - 1
    m[top] += short * (1.0 + 1e-9)
    return _trusted(p.step, p.lower, m, p.infinity_mass)


def _levels_of(pair: DominatingPair, count: int, tail: float, accuracy: float,
               max_points: int) -> list[tuple[DominatingPair, int]]:
    """``count`` compositions of ``pair`` as parts for the top level: [(ω_L, d_L), (A_L, 1)],
    both wrapped as pairs that dominate the compositions they stand for."""
    radix = _radix(count)
    digits, top = _digits(count, radix)
    n_lev = len(digits)
    if n_lev == 0:
        return [(pair, count)]
    v = planning_variance(pair)  # planning only: it sets the level steps
    lo, hi = pair.loss_range(tail / count)
    if not (v > 0 and math.isfinite(v)):
        return [(pair, count)]
    beta = accuracy / (2.0 * (n_lev + 1))

    def step_at(level: int) -> float:
        return math.sqrt(4.0 * beta * v * radix ** level)

    step = max(step_at(0), (hi - lo) / (0.25 * max_points))
    omega = _full_mass(pair.discretize(step, tail=tail / count))
    acc: PrivacyLossDistribution | None = None
    for lev, d in enumerate(digits):
        # composed R = count / r^lev more times: its cut mass counts R times
        t_l = tail / (count / radix ** lev) / (n_lev + 1)
        nxt = step_at(lev + 1)
        if d:
            acc = _compose_level([(omega, d)] + ([(acc, 1)] if acc is not None else []),
                                 t_l, max_points)
        omega = _compose_level([(omega, radix)], t_l, max_points)
        if nxt > omega.step:
            omega = recoarsen(omega, nxt)
            if acc is not None:
                acc = recoarsen(acc, nxt)
    out: list[tuple[DominatingPair, int]] = [(_PLDPair(omega), top)]
    if acc is not None:
        out.append((_PLDPair(acc), 1))
    return out


def _level_parts(ps: list[tuple[DominatingPair, int]], tail: float, accuracy: float,
                 max_points: int) -> list[tuple[DominatingPair, int]]:
    out: list[tuple[DominatingPair, int]] = []
    for pair, c in ps:
        if c >= LEVELS_MIN_COUNT:
            out.extend(_levels_of(pair, c, tail / len(ps), accuracy, max_points))
        else:
            out.append((pair, c))
    return out


def use_levels(parts: Parts) -> bool:
    """Whether :func:`.bounds.epsilon_bound` / :func:`.bounds.delta_bound` should compose
    ``parts`` by levels: some count ≥ :data:`LEVELS_WIRE_COUNT` and no common atom lattice
    (pairs on one lattice, e.g. randomized response, are composed exactly on it)."""
    ps = check_parts(parts)
    bases = {pair.atom_base for pair, _ in ps}
    on_lattice = len(bases) == 1 and None not in bases
    return any(c >= LEVELS_WIRE_COUNT for _, c in ps) and not on_lattice


def _tail_from_levels(parts: list[tuple[DominatingPair, int]]) -> float:
    """+∞ mass that the level representations bring into the top composition (union bound)."""
    return sum(c * p.infinity_mass for p, c in parts if isinstance(p, _PLDPair))


#: The single-level planner, :func:`.bounds.plan_pld` (passed in: this module sits below
#: :mod:`.bounds`, which calls it).
Plan = Callable[..., list[PrivacyLossDistribution]]


def epsilon_bound_levels(parts: Parts, delta: float, *, plan: Plan, accuracy: float = 1e-3,
                         max_points: int = MAX_POINTS) -> float:
    """Certified ε(δ) of the composition of ``parts`` [(pair, count), ...] (one direction),
    composed level by level (cost ~log of the counts; see the module docstring). Same
    meaning as :func:`.bounds.epsilon_bound`, which calls it for counts ≥
    :data:`LEVELS_WIRE_COUNT`.

    Privacy: an upper bound on the smallest ε with H_{e^ε}(P ‖ Q) ≤ δ for the composed pairs
    (module docstring: every representation built dominates the exact composition). Never
    NaN; ``inf`` when δ is unreachable.

    Args:
        parts: sequence of (DominatingPair, count ≥ 0).
        delta: target δ in [0, 1].
        plan: the top-level planner, :func:`.bounds.plan_pld`.
        accuracy: relative slack aimed at (1e-6 … 0.1; half to the levels, half to the top).
        max_points: largest grid, ≥ 1024.

    Raises:
        DPKitError: naming the parameter.
    """
    d = V.probability(delta=delta)
    acc = V.in_range(1e-6, 0.1, accuracy=accuracy)
    mp = V.integer(minimum=1024, max_points=max_points)
    ps = check_parts(parts)
    if not ps:
        return 0.0
    tail = max(1e-5 * d, 1e-300)
    best = math.inf
    for _ in range(3):
        lp, top_acc = _levelled(ps, tail, acc, acc, mp)
        best = min(best, min(p.epsilon_checked(d) for p in plan(lp, delta=d, accuracy=top_acc,
                                                        max_points=mp)))
        used = _tail_from_levels(lp)
        if used <= 1e-3 * d or tail <= 1e-300:
            break
        tail = max(tail * 1e-3, 1e-300)
    return best


_T_PLAN = np.geomspace(1e-4, 1e4, 97)


def _levelled(ps: list[tuple[DominatingPair, int]], tail: float, level_acc: float,
              acc: float, mp: int) -> tuple[list[tuple[DominatingPair, int]], float]:
    """(the level parts at ``tail``, the accuracy of the top grid): the top grid gets half
    of ``acc`` when the levels split the parts (the other half goes to the levels); a
    ``max_points`` too small for the levels gives the parts as one level at ``acc``."""
    try:
        lp = _level_parts(ps, tail, level_acc, mp)
    except _TooBig:  # a small max_points: one level, coarser step (plan_pld)
        lp = ps
    return lp, (acc / 2 if lp != ps else acc)


def _chernoff_exponent(ps: list[tuple[DominatingPair, int]], epsilon: float) -> float:
    """argmin_t K(t) − t·ε of the composed loss, from coarse discretizations (planning)."""
    k = np.zeros(_T_PLAN.size)
    for pair, c in ps:
        lo, hi = pair.loss_range(1e-12)
        p = pair.discretize(max(hi - lo, 1e-12) / 1024, tail=1e-12)
        k += c * _log_mgf(p, _T_PLAN)
    v = k - _T_PLAN * epsilon
    v[np.isnan(v)] = np.inf
    return float(_T_PLAN[int(np.argmin(v))])


def delta_bound_levels(parts: Parts, epsilon: float, *, plan: Plan, accuracy: float = 1e-3,
                       max_points: int = MAX_POINTS) -> float:
    """Certified δ(ε) of the composition of ``parts`` (one direction), level by level; see
    :func:`epsilon_bound_levels` (same privacy statement). ``epsilon`` ≥ 0 finite."""
    e = V.nonnegative(epsilon=epsilon)
    acc = V.in_range(1e-6, 0.1, accuracy=accuracy)
    mp = V.integer(minimum=1024, max_points=max_points)
    ps = check_parts(parts)
    if not ps:
        return 0.0
    # δ moves like e^{−λ·Δε}: the levels aim at a relative error `accuracy` in δ, as
    # plan_pld does for its own grid (planning only)
    acc_lev = acc / min(max(1.0, _chernoff_exponent(ps, e) * e), 50.0)
    tail = 1e-20
    best = 1.0
    for _ in range(4):
        lp, top_acc = _levelled(ps, tail, acc_lev, acc, mp)
        best = min(best, min(p.delta(e) for p in plan(lp, epsilon=e, accuracy=top_acc,
                                                      max_points=mp)))
        used = _tail_from_levels(lp)
        if used <= 1e-3 * best or tail <= 1e-300:
            break
        tail = max(min(tail, best) * 1e-6, 1e-300)
    return best
