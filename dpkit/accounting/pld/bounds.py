"""Certified ε(δ) and δ(ε) of a composition of dominating pairs, on a grid chosen per problem.

Given parts ``[(pair, count), ...]`` (one direction of the neighbouring relation), the grid
is planned from the problem:

0. one use of a Gaussian or subsampled-Gaussian pair needs no grid: δ(ε) = P(L > ε) −
   e^ε·Q(L > ε) from normal tails, ε(δ) by a verified root search (:func:`_single_delta`);
1. a small planning representation of each pair (the P-mass of ~256 loss intervals, placed
   where the mass is, at their e^{−L}-mean loss; for the subsampled Gaussian ~41 quadrature
   nodes in its noise value, shared by its two directions) gives the cumulant
   K(t) = Σ count·log E[e^{tL}] on a grid of t; the
   Chernoff bound min_t (K(t) − log δ)/t estimates ε (ε̂) and its minimizer t* the tilt;
   planning only: nothing certified depends on it;
2. the step Δ is min(f·a·e, √(12·a·e / Σ count)) (f = 2 for ε(δ), 1 for δ(ε): see
   :data:`_GRID_FACTOR`) with a = ``accuracy`` and e = max(ε̂, the
   spread of the composed loss): connect-the-dots raises the mean loss by ≤ Δ²/8 per
   composition (≈ Δ²/12 on average) and a grid error of ≤ Δ in ε remains, so both stay near
   a·e (the spread floor keeps a target ε near 0 from planning a vanishing step); no step is
   taken that would give one pair's own grid more than max_points/2 points, nor one coarse
   against one composition's spread (√(6·a·Var L), predicted from the planning atoms);
   atoms on a common lattice (randomized response, Laplace) get a step dividing it, making
   the discretization exact;
3. every pair is discretized on Δ (connect-the-dots; intervals several steps wide where the
   target's tilted law has little mass: :func:`_coarse_cuts`), the tilted mean and spread of
   the composed loss are computed exactly from the discrete PLDs, and the composition is done
   once in the Fourier domain on a window from 4 tilted spreads below the tilted mean (or
   16/λ below ε̂) to 7 tilted spreads above it (above max(ε̂, mean) for δ(ε)), past the
   Chernoff point of 1e-4·δ and, for ε(δ), past the point where the Chernoff bound at the
   tilt puts 1e-4·δ above the window (tilted mass above the window would wrap around,
   amplified; δ(ε) reads only losses above ε; mass below the window is lumped at its bottom,
   mass above is bounded and sent to +∞), at least log(1e4/δ)/λ wide so that tilted mass
   wrapping around from below is damped by e^{−λ·width} (at most ``max_points`` points);
4. the answer is checked: an upper-tail bound above 1e-3·δ, an ε near the window's bottom or
   a step too coarse for the ε found, each triggers a re-plan. Every pass gives a certified
   bound; the smallest is returned.

:func:`delta_bound` at an ε in the far upper tail (δ ≤ 1e-290, or ε above the top of the
composed support) answers with a certified Chernoff bound on coarse pessimistic PLDs
(:func:`_far_tail_delta`) instead of a grid.

Certification: every PLD built is pessimistic (see :mod:`.distribution` and :mod:`.pairs`),
so each value returned is an upper bound on the true ε (or δ) of the composition, up to
float rounding that the construction bounds explicitly (FFT) or keeps at ~1e-10 relative
(discretization).
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Sequence

import numpy as np

from ... import _validate as V
from ...errors import DPKitError
from ._kernels import kernel
from ._levels import delta_bound_levels, epsilon_bound_levels, use_levels
from ._planning import planning_atoms
from .distribution import (
    MAX_POINTS,
    PrivacyLossDistribution,
    _atoms_extent,
    _log_mgf,
    _tilted_stats,
    fft_noise_floor,
    fourier_compose,
    log_mgf_error,
    log_mgf_of,
)
from .pairs import (
    ADD,
    REMOVE,
    DiscretePair,
    DominatingPair,
    GaussianPair,
    IntervalPair,
    SampledGaussianPair,
    check_parts,
    recall_other,
    swap_infinity,
)

__all__ = ["epsilon_bound", "delta_bound", "plan_pld", "sampled_gaussian_epsilon",
           "sampled_gaussian_delta"]

Parts = Sequence[tuple[DominatingPair, int]]
#: Exponents of the planning cumulant K(t) (ratio 10^(1/6) ≈ 1.47 between neighbours: every
#: other point of the earlier 97-point grid; the same ε at all 12 benchmark points, planning
#: 5–8 % faster).
_T_GRID = np.geomspace(1e-4, 1e4, 49)
_LOG_T_GRID = np.log(_T_GRID)
#: log c(t) on the grid, c(t) = (1/(1+t))·(t/(1+t))^t (:func:`chernoff_delta_bound`).
_LOG_C_GRID = -np.log1p(_T_GRID) + _T_GRID * np.log(_T_GRID / (1.0 + _T_GRID))
#: The grid term of the step rule for ε(δ): Δ ≤ factor·accuracy·ε. Connect-the-dots is exact at
#: the grid losses and linear in e^ε between them, so its ε error is far below Δ: factor 2
#: changed ε by ≤ 4.3e-4 relative (72 DP-SGD runs, T ≤ 50) and cut their time 3×, and
#: halves re-plans at small T. Tightness only: every step gives an upper bound.
_GRID_FACTOR = 2.0
_FRACS = np.array([0.0, 0.125, 0.25, 0.5, 0.75, 1.0])


def _nanmin(a: np.ndarray) -> float:
    """``np.nanmin`` (NaN entries ignored), at the cost of one ``min`` when there are none."""
    m = float(a.min())
    if m == m:
        return m
    with np.errstate(invalid="ignore"):
        return float(np.nanmin(a)) if not np.isnan(a).all() else math.nan


def _nanargmin(a: np.ndarray) -> int:
    """``np.nanargmin`` (raises ValueError when all are NaN), one ``argmin`` when none is."""
    i = int(np.argmin(a))
    return i if a[i] == a[i] else int(np.nanargmin(a))


def _next_fast_len(size: int) -> int:
    import scipy.fft  # lazy: importing it costs ~0.2 s at `import dpkit`

    return int(scipy.fft.next_fast_len(size, real=True))


def _coarse_cumulant(parts: list[tuple[DominatingPair, int]]) -> np.ndarray:
    """K(t) = Σ count·log E[e^{tL}] on :data:`_T_GRID`, for planning (not certified)."""
    return _coarse_plan(parts)[0]


def _coarse_plan(parts: list[tuple[DominatingPair, int]]
                 ) -> tuple[np.ndarray, float, float]:
    """(K on :data:`_T_GRID`, spread, min_var) of :func:`_coarse_plan_full`."""
    k, spread, min_var, _ = _coarse_plan_full(parts)
    return k, spread, min_var


_Atoms = tuple[tuple[np.ndarray, np.ndarray], ...]


def _coarse_plan_full(parts: list[tuple[DominatingPair, int]]
                      ) -> tuple[np.ndarray, float, float, _Atoms]:
    """:func:`_coarse_plan_of`, remembered for the last few ``parts`` (the relation's ordering
    and the planner both ask for it; equal pairs hash equal, discrete pairs by identity)."""
    try:
        return _coarse_plan_cached(tuple(parts))
    except TypeError:  # an unhashable pair (a subclass of someone else's)
        return _coarse_plan_of(parts)


@functools.lru_cache(maxsize=8)
def _coarse_plan_cached(parts: tuple[tuple[DominatingPair, int], ...]
                        ) -> tuple[np.ndarray, float, float, _Atoms]:
    k, spread, min_var, atoms = _coarse_plan_of(list(parts))
    k.setflags(write=False)  # shared between callers
    return k, spread, min_var, atoms


def _coarse_plan_of(parts: list[tuple[DominatingPair, int]]
                    ) -> tuple[np.ndarray, float, float, _Atoms]:
    """(K on :data:`_T_GRID`, spread, min_var, atoms): the planning cumulant, the standard
    deviation of the composed loss √(Σ count·Var(L)), the smallest positive Var(L) of one
    pair and each pair's planning atoms (P-masses, losses; not certified). The spread sets a
    floor on the step scale, so that a target ε near 0 never plans a vanishing step; min_var
    sets the variance rule of :func:`plan_pld`; the atoms its coarse intervals
    (:func:`_coarse_cuts`)."""
    k = np.zeros(_T_GRID.size)
    var = 0.0
    min_var = math.inf
    atoms = []
    for pair, c in parts:
        ps, ls = planning_atoms(pair)
        tot = float(ps.sum())
        if not math.isfinite(tot + float(ls.sum())):  # a NaN or infinite atom
            # planning only (extreme parameters): fall back on a coarse grid
            lo, hi = pair.loss_range()
            p = pair.discretize(max((hi - lo) / 256, 1e-12, abs(hi) * 1e-12))
            ps, ls = p.masses, p.losses
            tot = float(ps.sum())
        atoms.append((ps, ls))
        if tot > 0:
            k = k + c * log_mgf_of(ps, ls, _T_GRID)
            mean = float(np.dot(ps, ls)) / tot
            v1 = float(np.dot(ps, (ls - mean) ** 2)) / tot
            var += c * v1
            if v1 > 0:
                min_var = min(min_var, v1)
    return k, (math.sqrt(var) if math.isfinite(var) else 0.0), min_var, tuple(atoms)


#: Coarse intervals (:func:`_coarse_cuts`): the factors tried, and the share of the planning
#: cumulant's connect-the-dots term each one may add (the tilted share of its region times
#: factor² − 1: intervals ``factor`` steps wide raise it by that, at first order).
_COARSE_FACTORS = (2, 4, 8, 16, 32, 64)
_COARSE_BUDGET = 0.01
_COARSE_CAPS = _COARSE_BUDGET / (np.array(_COARSE_FACTORS, dtype=float) ** 2 - 1.0)


def _coarse_cuts(ps: np.ndarray, ls: np.ndarray, t: float
                 ) -> tuple[np.ndarray, np.ndarray] | None:
    """The coarse intervals of one pair's discretization, (losses, factors) for
    :meth:`.pairs.IntervalPair.discretize_coarse` (None: none), from its planning atoms and
    the exponent t of the target.

    Connect-the-dots on an interval of width w raises log E[e^{tL}] by at most
    (its share of e^{tL}·P)·t(t+1)w²/8, at first order; the step rules bound that term with
    w = Δ everywhere. Intervals m·Δ wide are used where the tilted share s of the region
    beyond (above, or below) satisfies s·(m² − 1) ≤ :data:`_COARSE_BUDGET`, so each factor
    adds at most that fraction to the term (measured on (q, σ, T) = (0.01, 1, 1000): 2625 →
    ~290 edges, ε up by 6e-6 relative). Planning only: any partition is certified."""
    if not (t > 0 and ps.size > 1 and math.isfinite(t)):
        return None
    lo, hi = kernel("coarse_cut_losses")(ps, ls, float(t), _COARSE_CAPS)
    losses: list[float] = []
    factors: list[int] = []
    # below: the largest factor from the bottom, stepping down to 1 at the highest cut
    lo_ok = [c for c in range(lo.size) if lo[c] == lo[c]]
    if lo_ok:
        losses.append(-math.inf)
        factors.append(_COARSE_FACTORS[lo_ok[-1]])
        for a, c in enumerate(lo_ok[::-1]):
            losses.append(float(lo[c]))
            factors.append(_COARSE_FACTORS[lo_ok[-2 - a]] if a + 1 < len(lo_ok) else 1)
    for c in range(hi.size):
        if hi[c] == hi[c]:
            losses.append(float(hi[c]))
            factors.append(_COARSE_FACTORS[c])
    if not losses or any(b < a for a, b in itertools.pairwise(losses)):
        return None  # none, or planning atoms too coarse to tell (should not happen)
    return np.array(losses), np.array(factors, dtype=np.int64)


def _aligned_base(parts: list[tuple[DominatingPair, int]]) -> float | None:
    """The common lattice of every pair's losses, when there is one (exact discretization)."""
    bases = {pair.atom_base for pair, _ in parts}
    if len(bases) == 1:
        (b,) = bases
        if b is not None and b > 0 and all(isinstance(p, DiscretePair) for p, _ in parts):
            return b
    return None


def _step_for(eps_hat: float, n_total: float, accuracy: float,
              parts: list[tuple[DominatingPair, int]], spread: float = 0.0,
              grid_factor: float = 1.0) -> float:
    """The step for a target near ``eps_hat``: the scale is max(ε̂, spread of the composed
    loss, 1e-6) — at a small ε (δ(ε) is then of the order of the spread) a relative error
    ``accuracy`` in δ needs a step ~accuracy·spread, not accuracy·ε."""
    e = max(eps_hat, spread, 1e-6)
    base = _aligned_base(parts)
    if base is not None:  # every atom on the lattice: exact, no finer grid needed
        return base
    return _align(min(grid_factor * accuracy * e,
                      math.sqrt(12.0 * accuracy * e / max(n_total, 1.0))), parts)


#: The shift of the planning ε̂ allowed to the splits of :func:`_chernoff_step`, as a fraction
#: of ``accuracy``.
_CHERNOFF_SHIFT = 0.5
#: The Chernoff rule is kept only when the first grid's ε is at least 1/this of ε̂.
_CHERNOFF_TRUST = 1.5


def _chernoff_step(t_star: float, scale: float, n_total: float, acc: float) -> float:
    """The largest step whose connect-the-dots splits move the planning Chernoff estimate
    of ε by ≤ :data:`_CHERNOFF_SHIFT`·accuracy of ``scale`` (ε̂, or the composed spread when
    larger).

    Splitting an atom at ℓ between the grid losses a < ℓ < a + Δ keeps its P- and Q-mass,
    i.e. it replaces e^{−ℓ} by a chord of y ↦ y^{−t} (y = e^{−ℓ}) in E[e^{tL}]: the log-mgf of
    one pair grows by at most t(t+1)Δ²/8 (to first order; the curvature of y^{−t} over the
    cell). With n compositions, ε̂(Δ) = min_t (n·K(t) − log δ)/t is then at most ε̂ +
    n(t*+1)Δ²/8 at the minimiser t* of the undiscretized estimate.

    :func:`plan_pld` (ε(δ) only) takes the larger of this step and the variance rule's
    (connect-the-dots adds ≤ Δ²/4 to each composition's variance: Δ² ≤ 6·accuracy·Var(L)).
    On a Gaussian-like bulk (K(t) = μt(t+1)) the two agree; where a heavy upper tail decides
    ε (σ ≈ 0.5, small q) the estimate barely moves with Δ and this step is 5–8× the
    variance rule's: (q, σ, T, δ) = (1e-4, 0.5, 1e5, 1e-10) ran 3.2× faster, ε within 5e-4
    of a 3e-5-accuracy grid. When the first grid's ε lies below ε̂/:data:`_CHERNOFF_TRUST`
    the estimate was loose (so is its rule: +5.7e-3 was measured at (0.00108, 1.2068, 1632,
    5.5e-10)) and the planner re-plans on the variance rule. 51 DP-SGD points: worst
    +1.06e-3 against the fine grid (the variance rule alone: +1.10e-3). Planning only: any
    step gives a certified upper bound.
    """
    return math.sqrt(8.0 * _CHERNOFF_SHIFT * acc * scale / (max(n_total, 1.0) * (t_star + 1.0)))


def _align(step: float, parts: list[tuple[DominatingPair, int]]) -> float:
    """The largest step ≤ ``step`` dividing the pairs' common atom lattice (if any)."""
    bases = {pair.atom_base for pair, _ in parts}
    if len(bases) == 1:
        (b,) = bases
        if b is not None and b > 0:
            return b / math.ceil(b / step)
    return step


def _choose_tilt(kk: np.ndarray, eps_hat: float, log_target: float, step: float,
                 n_total: float, fixed_eps: bool) -> float:
    """The tilt λ: the smallest reference ε_c (a fraction of ε̂, so ε_c ≤ the answer) at
    which the FFT rounding bound η·e^{K(λ)−λε_c}/(λΔ) is below the target, minimized in λ."""
    log_eta = math.log(fft_noise_floor(n_total, 1 << 22))
    fracs = _FRACS[-1:] if fixed_eps else _FRACS
    base = kk - (_LOG_T_GRID + (math.log(step) - log_eta))
    return float(_T_GRID[kernel("tilt_index")(base, eps_hat * _T_GRID, fracs, log_target)])


#: The composed P-mass above the window sent to +∞, as a fraction of the target δ of ε(δ)
#: (it raises δ by at most that, ε by ≲ 1e-4/λ relative: +3e-6 on (0.01, 1, 1000)); the
#: window's top is placed where the cheap Chernoff bound at the tilt reaches it.
_TAIL_CUT = 1e-4
#: The smallest step relative to the largest loss of a pair (see :func:`plan_pld`).
_MIN_REL_STEP = 1e-9


def plan_pld(parts: Parts, *, delta: float | None = None, epsilon: float | None = None,
             accuracy: float = 1e-3, max_points: int = MAX_POINTS
             ) -> list[PrivacyLossDistribution]:
    """The composed PLDs built while planning for one target (δ or ε), each pessimistic,
    the last one the most refined. Exactly one of ``delta`` / ``epsilon`` is given.
    See the module docstring; used by :func:`epsilon_bound` and :func:`delta_bound`.
    """
    ps = check_parts(parts)
    acc = V.in_range(1e-6, 0.1, accuracy=accuracy)
    mp = V.integer(minimum=1024, max_points=max_points)
    if (delta is None) == (epsilon is None):
        raise DPKitError("give exactly one of delta and epsilon")
    if not ps:
        return [PrivacyLossDistribution(1.0, 0, np.ones(1), 0.0)]
    kk, spread, plan_var, atoms = _coarse_plan_full(ps)
    t_ref = 0.0  # the exponent of the target, for the coarse intervals
    with np.errstate(invalid="ignore"):
        if delta is not None:
            d_ref = max(float(delta), 1e-300)
            vals = (kk - math.log(d_ref)) / _T_GRID
            try:
                i_star = _nanargmin(vals)
            except ValueError:  # all NaN
                eps_hat, t_star = math.nan, 0.0
            else:
                eps_hat = max(float(vals[i_star]), 0.0)
                t_star = float(_T_GRID[i_star]) if vals[i_star] < math.inf else 0.0
            t_ref = t_star
            # where the untilted Chernoff bound on the upper tail falls below 1e-4·δ
            b_chern = _nanmin((kk - math.log(1e-4 * d_ref)) / _T_GRID)
        else:
            eps_hat = float(epsilon)  # type: ignore[arg-type]
            d_ref = math.exp(min(0.0, _nanmin(kk - _T_GRID * eps_hat)))
            b_chern = _nanmin((kk - math.log(1e-4 * max(d_ref, 1e-300))) / _T_GRID)
            # δ moves like e^{−λ·Δε}: aim the grid at a relative error `accuracy` in δ
            lam0 = float(_T_GRID[_nanargmin(kk - _T_GRID * eps_hat)])
            t_ref = lam0
            acc = acc / min(max(1.0, lam0 * eps_hat), 50.0)
    n_total = float(sum(c for _, c in ps))
    aligned = _aligned_base(ps) is not None
    # the looser grid term only for ε(δ): δ(ε) at a fixed ε reads the grid directly
    gf = _GRID_FACTOR if delta is not None else 1.0
    step = _step_for(eps_hat, n_total, acc, ps, spread, gf)
    # the variance rule: connect-the-dots adds ≤ Δ²/4 to the variance of each composition
    var_step = (_align(math.sqrt(6.0 * acc * plan_var), ps)
                if not aligned and math.isfinite(plan_var) else math.inf)
    if delta is not None and t_star > 0 and not aligned:  # ε(δ): the Chernoff rule may relax it
        var_step = max(var_step if math.isfinite(var_step) else 0.0,
                       _align(_chernoff_step(t_star, max(eps_hat, spread, 1e-6), n_total, acc),
                              ps))
    step = min(step, var_step)
    log_target = math.log(max(1e-4 * d_ref, 1e-300))
    # the composed mass above the window sent to +∞ (into δ): a fraction of the target δ
    # for ε(δ); for δ(ε) d_ref is only the planning estimate (up to 1 at small ε), so 1e-7
    tail_cut = max((_TAIL_CUT if delta is not None else 1e-7) * d_ref, 1e-300)
    # P-mass cut from each composition's tails (upper → +∞, lower → moved up): ≤ 1e-4·δ in all
    tail = max(min(1e-4 * d_ref / (n_total * len(ps)), 1e-12), 1e-300)
    # memory bound on each pair's own grid: its loss range must fit in max_points
    # mem_step: the smallest step that keeps every pair's grid within it, and not below
    # 1e-9 of the largest loss (grid indices stay far inside int64 and float precision;
    # a pair with nearly all its mass at one loss plans a vanishing spread step)
    mem_step = 0.0
    for pair, _ in ps:
        lo_p, hi_p = pair.loss_range(tail)
        if math.isfinite(hi_p - lo_p):
            mem_step = max(mem_step, (hi_p - lo_p) / (0.5 * mp),
                           _MIN_REL_STEP * max(abs(lo_p), abs(hi_p)))
    if mem_step > step and not aligned:
        step = _align(mem_step, ps)
    # intervals several steps wide where the target's tilted law has little mass
    own_ctd = [type(pair).discretize is IntervalPair.discretize for pair, _ in ps]
    cuts = [_coarse_cuts(pa, la, t_ref) if own else None
            for (pa, la), own in zip(atoms, own_ctd, strict=True)]
    fa = fb = 1.0
    floor: float | None = None  # one composition of one pair: below the window is moot
    min_step = 0.0  # set when the memory bound forced a coarser step
    out: list[PrivacyLossDistribution] = []
    for _ in range(8):
        lam = _choose_tilt(kk, eps_hat, log_target, step, n_total, epsilon is not None)
        disc = [(pair._discretize_checked(step, cut, tail, floor)  # type: ignore[attr-defined]
                 if own else pair.discretize(step, tail=tail, floor=floor), c)
                for (pair, c), cut, own in zip(ps, cuts, own_ctd, strict=True)]
        lo_s = sum(p.lower * c for p, c in disc)
        hi_s = sum(p.upper * c for p, c in disc)
        mu = var = k_lam = 0.0
        for p, c in disc:  # tilted moments place the window
            m, v, kl = _tilted_stats(p, lam)
            mu += c * m
            var += c * v
            k_lam += c * kl
        # δ(ε) reads only losses above ε, so the window runs from a few tilted spreads below
        # the target up to the Chernoff cut; it must be ≥ W wide, W·λ ≥ log(1e4/δ), so that
        # tilted mass wrapping around from below lands ≥ W higher, damped by e^{−λW}
        half = 4.0 * math.sqrt(max(var, 0.0)) + 64 * step
        # bottom: 4 tilted spreads below the tilted mean, or 16/λ below the Chernoff
        # estimate (ε ≥ ε̂ − (a few)/λ), whichever is higher; 16/λ covers every gap seen
        a = math.floor(max(mu - fa * half,
                           eps_hat - fa * (16.0 / max(lam, 1e-300) + 64 * step)) / step)
        # top: 7 tilted spreads above (tilted mass above the window wraps around to its
        # bottom, amplified by e^{λ·width} when untilted: heavy-tailed pairs need the room;
        # 5 spreads saved 25–40 % of the points on DP-SGD runs at δ ≤ 1e-5 but loosened ε
        # by up to 60 % where the answer lies near the window's bottom, δ near 1) and the
        # Chernoff cut
        # the Chernoff point at s = λ of the composed discrete PLD for the tail cut (K(λ):
        # the tilt's normalizer), where the composition's cheap tail bound suffices
        b_tail = (k_lam - math.log(tail_cut)) / max(lam, 1e-300)
        # (ε(δ): 7 spreads above the tilted mean, not above ε̂ — a loose ε̂ placed the top
        # needlessly high; δ(ε) at a fixed ε near the window's bottom keeps both)
        top_mid = mu if delta is not None else max(eps_hat, mu)
        tops = [top_mid + fb * (1.75 * half), b_chern]
        tops += [x for x in (eps_hat + fb * 64 * step, b_tail) if math.isfinite(x)]
        b = math.ceil(max(tops) / step)
        w_alias = (-log_target + 4.0) / max(lam, 1e-300) / step
        b = min(b, hi_s)  # (the width below is measured from the top actually used)
        if b - a < w_alias:
            a = b - math.ceil(w_alias)
        a = max(lo_s, min(a, hi_s))
        b = max(a, min(hi_s, b))
        size = b - a + 1
        if size > mp:
            step *= size / (0.9 * mp)
            min_step = step
            continue
        n = _next_fast_len(int(size))
        # the cut above the window goes to +∞ (into δ): 1e-7·δ is negligible
        pld = fourier_compose(disc, tilt=lam, lo_index=a, n=n, tail_target=tail_cut)
        out.append(pld)
        if len(ps) == 1 and ps[0][1] == 1:
            floor = (a - 0.5 * (b - a)) * step if fa == 1.0 else None
        base_inf = -math.expm1(sum(c * math.log1p(-min(p.infinity_mass, 1 - 1e-16))
                                   for p, c in disc))
        cut = pld.infinity_mass - base_inf
        redo = False
        if delta is not None:
            e = pld.epsilon_checked(float(delta))
            if b < hi_s and cut > 1e-3 * float(delta):
                fb *= 2.0
                redo = True
            if a > lo_s and math.isfinite(e) and e < (a + max(64, 0.02 * (b - a))) * step:
                fa *= 2.0
                redo = True
            if math.isfinite(e) and e > 0 and not aligned:
                want = _step_for(e, n_total, acc, ps, spread, gf)
                if (e * _CHERNOFF_TRUST < eps_hat and math.isfinite(plan_var)
                        and step * step > 9.0 * acc * plan_var):
                    # ε̂ was loose, so is its Chernoff rule: back to the variance rule
                    want = min(want, 0.49 * step, _align(math.sqrt(6.0 * acc * plan_var), ps))
                if want < 0.5 * step and want > max(min_step, mem_step):
                    step = want
                    eps_hat = min(eps_hat, e)
                    redo = True
        else:
            dv = pld.delta(float(epsilon))  # type: ignore[arg-type]
            if b < hi_s and cut > 1e-3 * max(dv, 1e-300):
                fb *= 2.0
                redo = True
            if tail * n_total * len(ps) > 1e-3 * dv and dv > 0:
                tail = max(1e-4 * dv / (n_total * len(ps)), 1e-300)
                redo = True
            if a > lo_s and float(epsilon) < (  # type: ignore[arg-type]
                    a + max(64, 0.02 * (b - a))) * step:
                fa *= 2.0
                redo = True
        if not redo:
            break
    if not out:  # pragma: no cover - the step grows until the window fits
        raise DPKitError("max_points is too small for this composition")
    return out


#: Relative allowance for float rounding in :func:`_single_delta` (see there).
_HS_ROUND = 1e-12


def _single_pair(parts: Parts) -> DominatingPair | None:
    """The pair when ``parts`` is one composition of one pair with a closed-form CDF."""
    return _single_of(check_parts(parts))


def _single_of(ps: list[tuple[DominatingPair, int]]) -> DominatingPair | None:
    """:func:`_single_pair` of parts already checked (pairs, counts ≥ 1)."""
    if len(ps) == 1 and ps[0][1] == 1 and type(ps[0][0]) in (GaussianPair, SampledGaussianPair):
        return ps[0][0]
    return None


def _single_delta(pair: DominatingPair, epsilon: float) -> float:
    """Certified δ(ε) of one use of ``pair`` (a Gaussian or subsampled-Gaussian pair),
    without any grid:

        δ(ε) = P(L = ∞) + P(L > ε) − e^ε·Q(L > ε)

    (the hockey-stick integrand p − e^ε q is positive exactly where L > ε). The two tails are
    normal tails (or mixtures of two) from scipy's ``ndtr`` (erfc), each with a relative error
    of a few ulp. The threshold z(ε) of {L > ε} carries a rounding error Δz; for any set A,
    P(A) − e^ε Q(A) ≤ δ(ε), and with A = {z > z(ε) + Δz} the shortfall is the integral of
    |p − e^ε q| between the two thresholds, second order: ≤ Δz²·p(z)·L′(z), relatively below
    1e-18 of P(L > ε) for |Δz| ≤ 1e-9. The value returned adds 1e-12·(P(L>ε) + e^ε·Q(L>ε)) +
    1e-300, far above both, so it is an upper bound on the exact δ(ε) (for the Gaussian the
    Balle & Wang 2018 closed form).
    """
    p_tail, q_tail = pair._tails(epsilon)  # type: ignore[attr-defined]
    # e^ε·Q(L > ε) ≤ P(L > ε) ≤ 1: in logs, it cannot overflow
    q_tail = math.exp(math.log(q_tail) + epsilon) if q_tail > 0 else 0.0
    d = p_tail - q_tail + pair.infinity_mass
    return min(1.0, max(d, 0.0) + _HS_ROUND * (p_tail + q_tail) + 1e-300)


def _single_epsilon(pair: DominatingPair, delta: float) -> float:
    """Certified ε(δ) of one use of ``pair``: a root of :func:`_single_delta` − δ (Brent,
    relative tolerance 1e-11), then the first of root·(1 + k·1e-10), k = 0, 1, 2, … whose
    :func:`_single_delta` (an upper bound on δ) is ≤ ``delta`` — an upper bound on the exact
    ε because δ(ε) is non-increasing."""
    if pair.infinity_mass > delta:
        return math.inf
    if _single_delta(pair, 0.0) <= delta:
        return 0.0
    hi = max(pair.loss_range(max(delta * 1e-3, 1e-300))[1], 1e-6)
    lo = 0.0
    for _ in range(200):
        if _single_delta(pair, hi) <= delta:
            break
        lo, hi = hi, 2.0 * hi
    else:  # pragma: no cover - δ(ε) → infinity_mass ≤ delta
        return math.inf
    import scipy.optimize  # lazy (import time of dpkit)

    try:
        root = float(scipy.optimize.brentq(lambda e: _single_delta(pair, e) - delta,
                                           lo, hi, xtol=1e-300, rtol=1e-11, maxiter=200))
    except (ValueError, RuntimeError):  # pragma: no cover - bracket checked above
        return hi
    for k in range(64):
        cand = min(root * (1.0 + k * 1e-10) + k * 1e-300, hi)
        if _single_delta(pair, cand) <= delta:
            return cand
    return hi


def epsilon_bound(parts: Parts, delta: float, *, accuracy: float = 1e-3,
                  max_points: int = MAX_POINTS) -> float:
    """Certified ε(δ) of the composition of ``parts`` [(pair, count), ...] (one direction).

    Privacy: an upper bound on the smallest ε such that the composed pairs satisfy
    H_{e^ε}(P ‖ Q) ≤ δ; for a relation with two directions (add/remove), take the max of
    the two directions' values. Never NaN; ``inf`` when δ is unreachable.

    Args:
        parts: sequence of (DominatingPair, count ≥ 0).
        delta: target δ in [0, 1].
        accuracy: relative discretization slack aimed at (1e-6 … 0.1; default 1e-3).
        max_points: largest grid (memory bound), ≥ 1024.

    Raises:
        DPKitError: naming the parameter.
    """
    d = V.probability(delta=delta)
    return epsilon_checked(check_parts(parts), d, accuracy=accuracy, max_points=max_points)


#: δ above this is read at this δ by the grid engine: ε(δ) is non-increasing, so the value
#: stays an upper bound, and 1 − δ stays far above the float rounding of the composed masses
#: (≈ count · 1e-16), which a δ within 1e-12 of 1 could not tell from the truth.
_DELTA_NEAR_ONE = 1.0 - 1e-6


def epsilon_checked(ps: list[tuple[DominatingPair, int]], delta: float, *,
                    accuracy: float = 1e-3, max_points: int = MAX_POINTS) -> float:
    """:func:`epsilon_bound` for parts and δ ∈ [0, 1] already checked (pairs, counts ≥ 1):
    the one body behind the public function and the accountant's queries ("validate
    once"). Privacy: the same upper bound."""
    single = _single_of(ps)
    if single is not None:  # one use of a closed-form pair: exact, no grid
        return _single_epsilon(single, delta)
    if not ps:
        return 0.0
    d = min(delta, _DELTA_NEAR_ONE)
    if use_levels(ps):  # a count ≥ 1e6: compose level by level (cost ~log T)
        return epsilon_bound_levels(ps, d, plan=plan_pld, accuracy=accuracy,
                                    max_points=max_points)
    plds = plan_pld(ps, delta=d, accuracy=accuracy, max_points=max_points)
    return min(p.epsilon_checked(d) for p in plds)


def delta_bound(parts: Parts, epsilon: float, *, accuracy: float = 1e-3,
                max_points: int = MAX_POINTS) -> float:
    """Certified δ(ε) of the composition of ``parts`` (one direction); see
    :func:`epsilon_bound`. ``epsilon`` ≥ 0 finite."""
    e = V.nonnegative(epsilon=epsilon)
    return delta_checked(check_parts(parts), e, accuracy=accuracy, max_points=max_points)


def delta_checked(ps: list[tuple[DominatingPair, int]], epsilon: float, *,
                  accuracy: float = 1e-3, max_points: int = MAX_POINTS) -> float:
    """:func:`delta_bound` for parts and ε ≥ 0 already checked (see
    :func:`epsilon_checked`). Privacy: the same upper bound."""
    single = _single_of(ps)
    if single is not None:
        return _single_delta(single, epsilon)
    if not ps:
        return 0.0
    top_delta = _above_top_delta(ps, epsilon)
    if top_delta is not None:
        return top_delta
    if _maybe_far(ps, epsilon):
        far = _far_tail_delta(ps, epsilon)
        if far is not None:
            return far
    if use_levels(ps):  # a count ≥ 1e6: compose level by level (cost ~log T)
        return delta_bound_levels(ps, epsilon, plan=plan_pld, accuracy=accuracy,
                                  max_points=max_points)
    plds = plan_pld(ps, epsilon=epsilon, accuracy=accuracy, max_points=max_points)
    return min(p.delta(epsilon) for p in plds)


def _above_top_delta(ps: list[tuple[DominatingPair, int]], epsilon: float) -> float | None:
    """δ(ε) when ε is at least the sum of the pairs' largest finite losses (up to a 1e-300
    tail each), else None: then δ(ε) ≤ P(L > ε) ≤ P(some loss infinite) + Σ count·1e-300
    (union bound; a discrete pair's range is exact: no tail), computed directly (a grid
    would hold no mass above ε)."""
    top = 0.0
    log_keep = 0.0  # log P(no loss is +∞)
    for p, c in ps:
        top += c * max(p.loss_range(1e-300)[1], 0.0)
        m = min(p.infinity_mass, 1.0)
        log_keep += -math.inf if m >= 1.0 else c * math.log1p(-m)
    if epsilon < top:
        return None
    tails = sum(c for p, c in ps if not isinstance(p, DiscretePair)) * 1e-300
    return min(1.0, -math.expm1(log_keep) + tails)


#: Below this the δ of :func:`delta_bound` is reported as a Chernoff bound (no FFT).
_FAR_DELTA = 1e-290
_S_FAR = np.geomspace(1e-3, 1e4, 64)


def _maybe_far(ps: list[tuple[DominatingPair, int]], epsilon: float) -> bool:
    """Whether ε may lie in the far tail (planning only: decides whether to try
    :func:`_far_tail_delta`, which costs a few ms; the planning Chernoff value of δ is below
    1e-250, or ε is at or above the sum of the pairs' loss ranges at tail 1e-300)."""
    top = sum(c * pair.loss_range(1e-300)[1] for pair, c in ps)
    if not epsilon < top:
        return True
    kk = _coarse_plan(ps)[0]
    with np.errstate(invalid="ignore"):
        v = _nanmin(kk - _T_GRID * epsilon)
    return not v > math.log(1e-250)


def _far_tail_delta(ps: list[tuple[DominatingPair, int]], epsilon: float) -> float | None:
    """A certified δ(ε) when ε is at or beyond the far upper tail, else None.

    Each pair is discretized pessimistically on a coarse grid (≤ 4096 points, tail 1e-300 to
    +∞); those PLDs dominate the pairs, so for their composition Σ L (support top B) and
    every s > 0,

        δ(ε) ≤ P(L = ∞) + P(Σ L > ε) ≤ P(L = ∞) + min(1[ε < B], min_s E[e^{s(Σ L − ε)}])

    (Markov on e^{sL}). The value is returned when it is ≤ 1e-290 (or when ε ≥ B: then it is
    exactly P(L = ∞)); such a δ is then already far below any float an FFT grid resolves.
    """
    disc = []
    for pair, c in ps:
        lo, hi = pair.loss_range(1e-300)
        step = max((hi - lo) / 4096.0, 1e-12 * max(abs(lo), abs(hi), 1.0))
        disc.append((pair.discretize(_align(step, ps), tail=1e-300), c))
    log_keep = sum(c * math.log1p(-min(p.infinity_mass, 1.0)) if p.infinity_mass < 1.0
                   else -math.inf for p, c in disc)
    inf_mass = max(0.0, -math.expm1(log_keep)) if math.isfinite(log_keep) else 1.0
    top = sum(c * float(p.upper * p.step) for p, c in disc if p.masses.size)
    if epsilon >= top:
        return min(1.0, inf_mass)
    k = np.zeros(_S_FAR.size)
    for p, c in disc:
        k1 = _log_mgf(p, _S_FAR)  # raised by its float error (a certified bound)
        k = k + c * (k1 + log_mgf_error(*_atoms_extent(p), _S_FAR, k1))
    with np.errstate(invalid="ignore"):
        v = float(np.nanmin(k - _S_FAR * epsilon))
    if not v < math.log(_FAR_DELTA):
        return None
    return min(1.0, inf_mass + math.exp(v))


#: The grid accuracy at which the directions after the first are tried first (see
#: :func:`relation_epsilon_checked`): 10× coarser, several times cheaper on large grids.
CHECK_ACCURACY = 1e-2


def relation_epsilon_checked(dirs: Sequence[list[tuple[DominatingPair, int]]], delta: float,
                             *, accuracy: float = 1e-3) -> float:
    """Certified ε(δ) of a relation with several directions: the max over the directions of
    :func:`epsilon_checked` (parts and δ already checked).

    The direction with the largest planning estimate comes first, at ``accuracy``
    (:func:`_ordered`). Each later one only matters when it exceeds the running max, so when
    its estimate is clearly lower it is first computed on a coarser grid (accuracy between
    :data:`CHECK_ACCURACY` and 0.1, from the gap: :func:`_check_accuracy`; also a certified
    upper bound, on a grid several times smaller) and again at ``accuracy`` only when that
    bound exceeds the running max (the smaller of its two bounds is kept). The value is the
    max of upper bounds, one per direction: an upper bound on the relation's ε(δ), the same
    as computing every direction at ``accuracy`` whenever the later directions lie below
    the first. Privacy: an upper bound on the
    smallest ε with δ(ε) ≤ ``delta`` under the relation (the max of the directions' curves).
    """
    return _max_over(ordered_directions(dirs, delta=delta),
                     lambda parts, acc: epsilon_checked(parts, delta, accuracy=acc),
                     accuracy, math.inf,
                     below=lambda parts, best: chernoff_below(parts, best, delta))


#: Connect-the-dots may raise the Chernoff exponent of :func:`chernoff_below` by this much (in
#: log δ) at the planned exponent: the step is the largest that keeps n·t(t+1)Δ²/8 below it.
_BELOW_SLACK = 0.2
#: :func:`chernoff_below` is tried only when its planning value is this far (in log δ) below
#: log δ, and on at most this many grid points per pair.
_BELOW_MARGIN = 0.5
_BELOW_MAX_POINTS = 4096
#: :func:`chernoff_delta_bound` takes the other direction's grid, swapped, when its step is at
#: most this many times finer than its own (its sums cost about one pass per grid point).
_BELOW_RECALL_FINER = 8.0
#: The exponents of :func:`chernoff_below`, as multiples of the planned one (any t > 0 gives
#: a valid bound; the smallest is kept).
_BELOW_TS_LIST = [0.6, 0.8, 1.0, 1.25, 1.6]


def chernoff_below(parts: list[tuple[DominatingPair, int]], epsilon: float,
                   delta: float) -> bool:
    """Whether :func:`chernoff_delta_bound` certifies δ(ε) ≤ ``delta`` for the composition
    of ``parts`` (one direction), i.e. that its ε(δ) is ≤ ``epsilon``: then a relation's
    later direction cannot raise the max (:func:`relation_epsilon_checked`) and needs no grid
    of its own. Measured: the add direction of (q, σ, T) = (0.01, 1, 1000) at δ = 1e-5 is
    certified below the remove direction's ε in ~0.1 ms (on the remove grid, swapped:
    :func:`.pairs.recall_other`) instead of a 0.45 ms check grid.
    An optimization only: where the bound hits a float limit of extreme parameters the
    answer is False and the caller computes the direction on its grid as before."""
    try:
        bound = chernoff_delta_bound(parts, epsilon, delta, stop_at=delta)
    except (ArithmeticError, ValueError, MemoryError):
        return False
    return bound is not None and bound <= delta


def chernoff_delta_bound(parts: list[tuple[DominatingPair, int]], epsilon: float,
                         delta: float, *, stop_at: float | None = None) -> float | None:
    """A certified upper bound on δ(ε) of the composition of ``parts`` (one direction) by a
    Chernoff bound on pessimistic discretizations, or None where it is not tried.

    Each pair is discretized pessimistically (connect-the-dots: a pair D that dominates it,
    through any composition), or its swap partner's remembered grid is swapped
    (:func:`.pairs.swap_discretization`, which dominates it as well). For the composed D
    and any t > 0, with
    c(t) = sup_{x>0} (1 − e^{−x})e^{−tx} = (1/(1+t))·(t/(1+t))^t,

        δ(ε) = P(L = ∞) + E[(1 − e^{ε−L})₊; L finite]
             ≤ 1 − Π(1 − m_p)^{c_p} + c(t)·e^{−tε}·Π E_{D_p}[e^{tL}; finite]^{c_p}

    (the product over the independent copies; m_p each D_p's mass at +∞). Each log-mgf is
    raised by the bound on its float error (:func:`.distribution.log_mgf_error`), the
    exponent by 1e-9 relative per unit of its magnitude for the rest. None whenever the
    planning cumulant says the bound would not reach ``delta`` with room
    (:data:`_BELOW_MARGIN`), or the grid would be large: the caller then computes the
    direction on a grid as before. With ``stop_at``, the planned exponent's bound is
    returned when it is ≤ ``stop_at`` (the other exponents could only lower it).
    Privacy: an upper bound on the true δ(ε) (D dominates each pair); ``delta`` only sets
    the tails and whether to try."""
    if not (parts and math.isfinite(epsilon) and epsilon > 0 and delta > 0):
        return None
    if _single_of(parts) is not None:
        return None  # closed form: computed exactly (and cheaply) by the caller
    kk = _coarse_plan(parts)[0]
    with np.errstate(invalid="ignore"):
        plan = kk + _LOG_C_GRID - _T_GRID * epsilon
    i = int(np.argmin(plan))
    if not math.isfinite(plan[i]):  # a NaN or −inf somewhere: the slow, careful way
        plan[~np.isfinite(plan)] = np.inf
        i = int(np.argmin(plan))
    if not plan[i] < math.log(delta) - _BELOW_MARGIN:
        return None
    t0 = float(_T_GRID[i])
    n_total = float(sum(c for _, c in parts))
    step = _align(math.sqrt(8.0 * _BELOW_SLACK / (n_total * t0 * (t0 + 1.0))), parts)
    tail = max(min(1e-3 * delta / (n_total * len(parts)), 1e-12), 1e-300)
    # P-mass below the floor moves up to it (pessimistic: D still dominates); at t ≥ 0.6·t0
    # that adds ≤ e^{−16}/n to each copy's E[e^{tL}] per unit of mass, e^{−16} over all
    floor = -(math.log(max(n_total, 1.0)) + 16.0) / (t0 * _BELOW_TS_LIST[0])
    sources: list[tuple[PrivacyLossDistribution, bool, int]] = []
    for pair, c in parts:
        # the other direction's grid, swapped (no new masses; its positive atoms only),
        # unless far finer than needed
        src = recall_other(pair, step, min_step=step / _BELOW_RECALL_FINER)
        if src is not None:
            sources.append((src, True, c))
            continue
        lo, hi = pair.loss_range(tail)
        lo = max(lo, floor)
        if not (math.isfinite(hi - lo) and (hi - lo) / step <= _BELOW_MAX_POINTS):
            return None
        d = pair.discretize(step, tail=tail, floor=floor)
        if d.infinity_mass >= 1.0:
            return None
        sources.append((d, False, c))
    # the planned exponent alone first: when it already certifies ``stop_at`` the four others
    # (any t > 0 gives a valid bound) are not needed
    if stop_at is not None:
        first = _chernoff_at(sources, [t0], epsilon)
        if first is None or first <= stop_at:
            return first
    return _chernoff_at(sources, [t0 * f for f in _BELOW_TS_LIST], epsilon)


def _chernoff_at(sources: list[tuple[PrivacyLossDistribution, bool, int]], ts: list[float],
                 epsilon: float) -> float | None:
    """The bound of :func:`chernoff_delta_bound` at the exponents ``ts`` (the smallest over
    them), for each part's dominating PLD: (PLD, whether to take its swap, count)."""
    ts_arr = np.array(ts)
    k = [0.0] * len(ts)
    log_keep = 0.0
    for d, swap, c in sources:
        if swap:
            kk_t, s_q, count, hi_abs, ok = kernel("swap_log_mgf")(d.masses, d.lower, d.step,
                                                                  ts_arr)
            inf_mass = swap_infinity(s_q, count, hi_abs) if ok else 1.0
        else:
            inf_mass = d.infinity_mass
            kk_t = log_mgf_of(d.masses, d.losses, ts_arr)
            count, hi_abs = _atoms_extent(d)
        if inf_mass >= 1.0:
            return None
        log_keep += c * math.log1p(-inf_mass)
        # each log-mgf raised by its float error (:func:`.distribution.log_mgf_error`)
        kk_t = kk_t + log_mgf_error(count, hi_abs, ts_arr, kk_t)
        k = [a + c * float(b) for a, b in zip(k, kk_t, strict=True)]
    best = math.inf
    for kj, t in zip(k, ts, strict=True):
        lc = -math.log1p(t) + t * math.log(t / (1.0 + t))  # log c(t)
        expo = kj + lc - t * epsilon
        expo += 1e-9 * (abs(kj) + abs(lc) + t * epsilon + 1.0)
        if math.isfinite(expo) and expo < best:  # (not finite: no bound from this one)
            best = expo
    return min(1.0, -math.expm1(log_keep) + math.exp(min(best, 0.0)))


def _max_over(ordered: list[tuple[list[tuple[DominatingPair, int]], float]],
              bound: Callable[[list[tuple[DominatingPair, int]], float], float],
              accuracy: float, worst: float,
              below: Callable[[list[tuple[DominatingPair, int]], float], bool] | None = None
              ) -> float:
    """The max over ``ordered`` (:func:`ordered_directions`) of ``bound(parts, accuracy)``,
    a later direction with a coarse first try computed at that accuracy first and refined
    only when it exceeds the running max (the smaller of its two upper bounds kept);
    ``worst`` if a bound is NaN. A later direction for which ``below(parts, best)``
    certifies a value ≤ the running max is not computed (it cannot raise the max). A max of
    upper bounds: an upper bound."""
    best = 0.0
    for i, (parts, check) in enumerate(ordered):
        if i and check > 0 and below is not None and below(parts, best):
            continue  # certified ≤ best
        if i and accuracy < check:
            v = bound(parts, check)
            if v > best:
                v = min(v, bound(parts, accuracy))
        else:
            v = bound(parts, accuracy)
        if math.isnan(v):  # pragma: no cover - the engine never returns NaN
            return worst
        best = max(best, v)
    return best


#: A later direction is tried on a coarse grid first only when its planning estimate is at
#: most this fraction of the first one's (closer directions would fail the check and pay
#: for both grids).
_COARSE_IF_BELOW = 0.99


def _check_accuracy(gap: float) -> float:
    """The grid accuracy of the first try of a later direction whose planning estimate lies
    a fraction ``gap`` below the first direction's (0: no coarse try). The ε of a grid of
    accuracy a lies ~0.6·a above the fine one (measured on DP-SGD runs), so a/3 of the gap
    leaves the try below the first direction with room for the planning's own error; a
    wider grid halves its cost from 1e-2 to 2e-2 (0.53 against 1.29 ms on (0.01, 1, 1000))."""
    return min(max(gap / 3.0, CHECK_ACCURACY), 0.1) if gap > 0 else 0.0


def ordered_directions(dirs: Sequence[list[tuple[DominatingPair, int]]], *,
                       delta: float | None = None, epsilon: float | None = None
                       ) -> list[tuple[list[tuple[DominatingPair, int]], float]]:
    """The directions in the order the relation's bounds evaluate them (largest planning
    estimate first), each with the accuracy of its coarse first try (0.0: none, computed at
    the caller's accuracy directly; always 0.0 for the first). Exactly one of ``delta``
    (for ε(δ)) and ``epsilon`` (for δ(ε)) is given. A search that decides feasibility
    direction by direction with these tries (refining a try only when it exceeds the
    target) agrees with :func:`relation_epsilon_checked` on every point it calls feasible.
    Planning only: never changes a certified value's validity."""
    out = []
    for i, (parts, gap) in enumerate(_ordered(dirs, delta=delta, epsilon=epsilon)):
        if i == 0 or gap <= 0:
            check = 0.0
        else:
            check = _check_accuracy(gap) if delta is not None else CHECK_ACCURACY
        out.append((parts, check))
    return out


def _ordered(dirs: Sequence[list[tuple[DominatingPair, int]]], *,
             delta: float | None = None, epsilon: float | None = None
             ) -> list[tuple[list[tuple[DominatingPair, int]], float]]:
    """The directions, the one with the largest planning estimate (Chernoff ε̂ at δ, or δ̂
    at ε, from :func:`_coarse_plan`) first, each with its relative gap below the first one
    (1 − ε̂_j/ε̂_0 at δ, 1 − δ̂_j/δ̂_0 at ε), or 0 where it is not below
    :data:`_COARSE_IF_BELOW` × the first's (then no coarse try). Planning only: the order
    and the gaps change the time, never the certification."""
    if len(dirs) < 2:
        return [(list(d), 0.0) for d in dirs]
    est = []
    for parts in dirs:
        if not parts or _single_of(list(parts)) is not None:
            est.append(math.inf if parts else -math.inf)  # closed form or nothing: exact
            continue
        kk = _coarse_plan(list(parts))[0]
        # the composed mass at +∞ loss (the planning cumulant leaves it out): 1 − Π(1 − m)^c
        log_keep = sum(c * math.log1p(-p.infinity_mass) if p.infinity_mass < 1 else -math.inf
                       for p, c in parts)
        inf_mass = -math.expm1(log_keep)
        with np.errstate(invalid="ignore"):
            if delta is not None:
                v = _nanmin((kk - math.log(max(delta, 1e-300))) / _T_GRID)
                if inf_mass >= delta:  # ε(δ) = ∞
                    v = math.inf
            else:
                v = _nanmin(kk - _T_GRID * float(epsilon))  # type: ignore[arg-type]
                if inf_mass > 0:
                    v = max(v, math.log(inf_mass))
        est.append(v if math.isfinite(v) else math.inf)
    order = sorted(range(len(dirs)), key=lambda j: -est[j])
    top = est[order[0]]
    out = []
    for j in order:
        gap = 0.0
        if math.isfinite(est[j]) and math.isfinite(top):
            if delta is not None:
                gap = 1.0 - est[j] / top if top > 0 else 0.0
            else:  # log δ̂
                gap = -math.expm1(est[j] - top)
        out.append((list(dirs[j]), gap if gap >= 1.0 - _COARSE_IF_BELOW else 0.0))
    return out


def relation_delta_checked(dirs: Sequence[list[tuple[DominatingPair, int]]], epsilon: float,
                           *, accuracy: float = 1e-3) -> float:
    """Certified δ(ε) of a relation with several directions: the max over the directions of
    :func:`delta_checked`, the later directions tried at :data:`CHECK_ACCURACY` first and
    refined only when that bound exceeds the running max (see
    :func:`relation_epsilon_checked`). Privacy: an upper bound on the relation's δ(ε)."""
    return min(_max_over(ordered_directions(dirs, epsilon=epsilon),
                         lambda parts, acc: delta_checked(parts, epsilon, accuracy=acc),
                         accuracy, 1.0), 1.0)


def _sgm_directions(noise_multiplier: float, sample_rate: float, steps: int
                    ) -> list[list[tuple[DominatingPair, int]]]:
    s = V.positive(allow_inf=True, noise_multiplier=noise_multiplier)
    q = V.probability(sample_rate=sample_rate)
    t = V.integer(minimum=0, steps=steps)
    if q == 0.0 or t == 0 or math.isinf(s):
        return []
    if q == 1.0:  # T Gaussians are one Gaussian with σ/√T (symmetric pair)
        return [[(GaussianPair(s / math.sqrt(t)), 1)]]
    remove = SampledGaussianPair(s, q, REMOVE)
    return [[(remove, t)], [(remove.with_direction(ADD), t)]]


def sampled_gaussian_epsilon(noise_multiplier: float, sample_rate: float, steps: int,
                             delta: float, *, accuracy: float = 1e-3) -> float:
    """Certified ε of DP-SGD: ``steps`` Poisson-subsampled Gaussians, add/remove adjacency.

    Both directions are composed separately (PLDs of the remove and the add pair) and the
    larger ε is returned (δ(ε) of the relation is the max of the two curves; the add
    direction is tried on a coarser grid first, see :func:`relation_epsilon_checked`). Papers: Zhu,
    Dong, Wang 2022 (dominating pairs); Doroshenko et al. 2022 (connect-the-dots).
    Privacy: an upper bound on the true ε (see :func:`epsilon_bound`).
    """
    d = V.probability(delta=delta)
    a = V.in_range(1e-6, 0.1, accuracy=accuracy)
    dirs = _sgm_directions(noise_multiplier, sample_rate, steps)
    return relation_epsilon_checked(dirs, d, accuracy=a)


def sampled_gaussian_delta(noise_multiplier: float, sample_rate: float, steps: int,
                           epsilon: float, *, accuracy: float = 1e-3) -> float:
    """Certified δ(ε) of DP-SGD (max over the add and remove directions)."""
    e = V.nonnegative(epsilon=epsilon)
    a = V.in_range(1e-6, 0.1, accuracy=accuracy)
    dirs = _sgm_directions(noise_multiplier, sample_rate, steps)
    return relation_delta_checked(dirs, e, accuracy=a)
