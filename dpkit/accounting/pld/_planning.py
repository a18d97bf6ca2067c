"""Planning atoms: a small, cheap representation of one pair's loss, for the planners' estimates
(the Chernoff cumulant, the composed spread, the variance behind the step rules) — never for
a certified value.

The P-mass of each interval of :meth:`~.pairs.IntervalPair._plan_edges` sits at its
e^{−L}-mean loss log(P-mass/Q-mass), so E_P[e^{−L}] is kept. The subsampled Gaussian has
quadrature nodes instead (:func:`_sgm_remove_atoms`: no normal CDF at all), and its two
directions share one computation (the add pair is the remove pair swapped).
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy.special import ndtri

from .pairs import (
    ADD,
    DiscretePair,
    DominatingPair,
    IntervalPair,
    SampledGaussianPair,
    SymmetrizedPair,
)

__all__ = ["planning_atoms", "planning_variance"]


#: Planning nodes of the subsampled Gaussian: at most this many, at least the smaller count.
_SGM_NODES = (33, 385)
#: The normal quantile of the 1e-30 tail: the planning nodes' range, in noise units.
_X_TAIL = -float(ndtri(1e-30))


@functools.lru_cache(maxsize=16)
def _sgm_remove_atoms(noise_multiplier: float, sample_rate: float
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Planning atoms of the remove pair P = (1−q)N(0,σ²) + qN(1,σ²), Q = N(0,σ²): the
    trapezoid rule in the noise value z over [−xσ, 1 + xσ] (x = the normal quantile of the
    1e-30 tail), node weight w_i = h·φ_σ(z_i)·e^{L(z_i)} (the P-density; halved at the two
    ends) at loss L(z_i) = log(1 − q + q·e^{(2z−1)/(2σ²)}).

    The integrands z ↦ φ_σ(z)·e^{sL(z)} are analytic in the strip |Im z| < πσ² (where
    1 − q + q·e^{(2z−1)/(2σ²)} first vanishes), so the rule converges like e^{−2π·a/h}: the
    step h = min(0.9σ, 0.6σ²) (a = πσ²/2: e^{−16}; the Gaussian factor alone, e^{−2π²σ²/h²}:
    e^{−24}) gives K(t) to ~1e-6 wherever the integrand's bulk lies inside the range (tested
    against mpmath), from 41 nodes at σ = 1 (10–14× cheaper than interval masses: exps, no
    normal CDF). Planning only (Jensen does not bound it either way): nothing certified uses it."""
    s, q = float(noise_multiplier), float(sample_rate)
    x = _X_TAIL
    lo, hi = -x * s, 1.0 + x * s
    h = min(0.9 * s, 0.6 * s * s)
    n = min(max(int(math.ceil((hi - lo) / h)) + 1, _SGM_NODES[0]), _SGM_NODES[1])
    hz = (hi - lo) / (n - 1)
    z = lo + hz * np.arange(n)  # (np.linspace's Python layer costs more than the nodes)
    u = z / s
    wq = np.exp(-0.5 * u * u) * (hz / (s * math.sqrt(2.0 * math.pi)))
    wq[0] *= 0.5
    wq[-1] *= 0.5
    loss = np.logaddexp(math.log1p(-q), math.log(q) + (2.0 * z - 1.0) / (2.0 * s * s))
    return wq * np.exp(loss), loss


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
