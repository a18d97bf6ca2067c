"""Planning atoms: a small, cheap representation of one pair's loss, for the planners' estimates
(the Chernoff cumulant, the composed spread, the variance behind the step rules) — never for
a certified value.

The P-mass of each interval of :meth:`~.pairs.IntervalPair._plan_edges` sits at its
e^{−L}-mean loss log(P-mass/Q-mass), so E_P[e^{−L}] is kept; the two directions of a
subsampled Gaussian share one computation (the add pair is the remove pair swapped).
"""

from __future__ import annotations

import functools

import numpy as np

from .pairs import (
    ADD,
    REMOVE,
    DiscretePair,
    DominatingPair,
    IntervalPair,
    SampledGaussianPair,
    SymmetrizedPair,
)

__all__ = ["planning_atoms", "planning_variance"]


@functools.lru_cache(maxsize=16)
def _sgm_remove_atoms(noise_multiplier: float, sample_rate: float
                      ) -> tuple[np.ndarray, np.ndarray]:
    return _plan_atoms(SampledGaussianPair(noise_multiplier, sample_rate, REMOVE))


def planning_atoms(pair: DominatingPair) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_plan_atoms`, shared by the two directions of a subsampled Gaussian: the add
    pair is the remove pair swapped, (Q, P), whose loss is −L with law e^{−ℓ}·P(L = ℓ)."""
    if type(pair) is SampledGaussianPair:
        ps, ls = _sgm_remove_atoms(pair.noise_multiplier, pair.sample_rate)
        if pair.direction == ADD:
            return (ps * np.exp(-ls))[::-1], -ls[::-1]
        return ps, ls
    if isinstance(pair, IntervalPair):
        return _plan_atoms(pair)
    if isinstance(pair, SymmetrizedPair):  # the base's atoms above 0, mirrored, the rest at 0
        ps, ls = planning_atoms(pair.base)
        up = ls > 0
        pu, lu = ps[up], ls[up]
        mirror = pu * np.exp(-lu)
        rest = max(1.0 - pair.infinity_mass - float(pu.sum() + mirror.sum()), 0.0)
        return (np.concatenate([mirror[::-1], [rest], pu]),
                np.concatenate([-lu[::-1], [0.0], lu]))
    if isinstance(pair, DiscretePair):  # its own atoms, exact
        return pair.p, pair.losses
    lo, hi = pair.loss_range()  # any other pair: a coarse grid of its own
    p = pair.discretize(max((hi - lo) / 256, 1e-12, abs(hi) * 1e-12))
    return p.masses, p.losses


def _plan_atoms(pair: IntervalPair) -> tuple[np.ndarray, np.ndarray]:
    """(P-masses, losses) of a small planning representation of ``pair``'s loss: the P-mass
    of each interval of :meth:`DominatingPair._plan_edges` at its e^{−L}-mean loss
    log(P-mass/Q-mass) (so E_P[e^{−L}] is kept; not a certified bound — planning only)."""
    edges = pair._plan_edges()
    m = pair._masses(edges)
    p, q = m.p_int, m.q_int
    with np.errstate(divide="ignore", invalid="ignore"):
        mid = np.log(p) - np.log(q)
    lbar = np.clip(np.where(q > 0, mid, edges[1:]), edges[:-1], edges[1:])
    ps = np.concatenate([p, [m.p_below, m.p_above]])
    ls = np.concatenate([lbar, [edges[0], edges[-1]]])
    keep = ps > 0
    return ps[keep], ls[keep]


def planning_variance(pair: DominatingPair) -> float:
    """Var(L) of one use of ``pair`` under P, from its planning atoms (NaN-free: 0 when they
    carry no mass or are not finite). Planning only (the level steps of :mod:`._levels`)."""
    ps, ls = planning_atoms(pair)
    tot = float(ps.sum())
    if not (tot > 0 and np.all(np.isfinite(ls)) and np.all(np.isfinite(ps))):
        return 0.0
    mean = float(np.dot(ps, ls)) / tot
    return float(np.dot(ps, (ls - mean) ** 2)) / tot
