"""numba kernels of the sequential-learning simulator (same LAW as the numpy reference).

Randomness: the shared counter-based SplitMix64 stream of :mod:`dpkit._numba_random` (Steele,
Lea, Flood 2014), one key per run drawn from the caller's numpy Generator
(:func:`~dpkit._numba_random.seed_key`), so results are deterministic given ``rng`` and
independent of the thread count. Decisions: a = −1 w.p. Z and the report flip use the shared
log-space Bernoulli (64-bit cells, exact to 2^−64) whenever the smaller side is below 2^−12
(``TINY``); above it a 53-bit uniform is compared, with relative error ≤ 2^−41.

Simulator (Liu & Rahimian 2025; spec §4): instead of drawing the signal s, each step draws the
pair (a, x) from its exact law given the public threshold t and the state θ, which is all the
model exposes: P(a = −1) = Φ((t−θ)/σ); given a = −1 the report flips with probability
½B₁/Z, given a = +1 with ½B₂/(1 − Z) (smoothed RR; B₁, B₂, Z as in :mod:`.theory`), u
(classic RR) or 0. The belief update uses the same closed forms as the numpy oracle, with a
log Φ that follows erfc down to −30 and a 7-term asymptotic series beyond (relative error
< 1e-15). Runs are independent: ``prange`` over runs. Not hardened against floating-point
attacks.

:class:`NumbaRuns` holds the state of all runs; the block driver of :mod:`.mechanism` advances
it and reads checkpoints. Imports :mod:`.params` and the shared kernel helpers only.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ...._numba_random import bernoulli, seed_key, uniform_open
from .params import Simulation

__all__ = ["NumbaRuns", "log_ndtr_numba", "log_probs_numba"]

#: Below this probability (on the smaller side) the simulator decides in log space.
TINY = 2.0**-12
_SQRT1_2 = 1.0 / math.sqrt(2.0)
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
_LOG_HALF = math.log(0.5)


@njit(cache=True)
def log_ndtr_numba(x: float) -> float:
    """log Φ(x), accurate in both tails."""
    if x > 0.0:
        return math.log1p(-0.5 * math.erfc(x * _SQRT1_2))
    if x > -30.0:
        return math.log(0.5 * math.erfc(-x * _SQRT1_2))
    z = 1.0 / (x * x)
    series = 1.0 + z * (-1.0 + z * (3.0 + z * (-15.0 + z * (105.0 + z * (-945.0 + z * (
        10395.0 - z * 135135.0))))))
    return -0.5 * x * x - math.log(-x) - _HALF_LOG_2PI + math.log(series)


@njit(cache=True, inline="always")
def _logaddexp(a: float, b: float) -> float:
    m = max(a, b)
    return m + math.log1p(math.exp(-abs(a - b)))


@njit(cache=True, inline="always")
def _log_terms(t: float, mu: float, sigma: float, mech: int,
               r: float, u: float) -> tuple[float, float]:
    """(log P(x=−1|μ,t), log P(x=+1|μ,t)) in log space (any t; the fallback path)."""
    a = (t - mu) / sigma
    lz = log_ndtr_numba(a)
    lzc = log_ndtr_numba(-a)
    if mech == 0:
        return lz, lzc
    if mech == 2:
        l1u = math.log1p(-u)
        lu = math.log(u)
        return _logaddexp(l1u + lz, lu + lzc), _logaddexp(l1u + lzc, lu + lz)
    c = r * r * sigma * sigma / 2.0
    lb1 = -r * t + r * mu + c + log_ndtr_numba(a - r * sigma)
    lb2 = r * t - r * mu + c + log_ndtr_numba(-a - r * sigma)
    lm = _logaddexp(lz + math.log1p(-0.5 * math.exp(lb1 - lz)), _LOG_HALF + lb2)
    lp = _logaddexp(lzc + math.log1p(-0.5 * math.exp(lb2 - lzc)), _LOG_HALF + lb1)
    return lm, lp


@njit(cache=True, inline="always")
def _lin_terms(t: float, mu: float, sigma: float, mech: int,
               r: float) -> tuple[float, float, float, float]:
    """(Z, 1 − Z, ½B₁, ½B₂) in linear space (caller checks the range: no under/overflow)."""
    a = (t - mu) / sigma
    if a < 0.0:
        z = 0.5 * math.erfc(-a * _SQRT1_2)
        zc = 1.0 - z
    else:
        zc = 0.5 * math.erfc(a * _SQRT1_2)
        z = 1.0 - zc
    if mech != 1:
        return z, zc, 0.0, 0.0
    e = math.exp(r * (mu - t) + r * r * sigma * sigma / 2.0)
    hb1 = 0.25 * e * math.erfc(-(a - r * sigma) * _SQRT1_2)
    hb2 = 0.25 / e * math.exp(r * r * sigma * sigma) * math.erfc((a + r * sigma) * _SQRT1_2)
    return z, zc, hb1, hb2


@njit(cache=True)
def log_probs_numba(t: float, mu: float, sigma: float, mech: int, r: float,
                    u: float) -> tuple[float, float]:
    """(log P(x=−1|μ,t), log P(x=+1|μ,t)) as the kernel computes them (for tests)."""
    if _linear_ok(t, sigma, r):
        z, zc, hb1, hb2 = _lin_terms(t, mu, sigma, mech, r)
        pm, pp = _probs(z, zc, hb1, hb2, mech, u)
        return math.log(pm), math.log(pp)
    return _log_terms(t, mu, sigma, mech, r, u)


@njit(cache=True, inline="always")
def _linear_ok(t: float, sigma: float, r: float) -> bool:
    """Linear-space evaluation is safe: |a| + rσ < 30 and the exponentials stay in range."""
    return ((abs(t) + 1.0) / sigma + r * sigma < 30.0
            and r * (abs(t) + 1.0) + r * r * sigma * sigma < 600.0)


@njit(cache=True, inline="always")
def _probs(z: float, zc: float, hb1: float, hb2: float, mech: int,
           u: float) -> tuple[float, float]:
    """(P(x=−1|μ,t), P(x=+1|μ,t)) from the linear terms."""
    if mech == 0:
        return z, zc
    if mech == 2:
        return (1.0 - u) * z + u * zc, (1.0 - u) * zc + u * z
    return z - hb1 + hb2, zc - hb2 + hb1


@njit(cache=True, inline="always")
def _decide(key: np.uint64, c: np.uint64, p: float, q: float) -> bool:
    """Bernoulli(p) (q = 1 − p, each accurate where small): a 53-bit uniform when both are
    ≥ ``TINY`` (relative error ≤ 2^−41), else the log-space Bernoulli (exact to 2^−64)."""
    if p >= TINY and q >= TINY:
        return uniform_open(key, c) < p
    return bernoulli(key, c, math.log(p), math.log(q))


@njit(cache=True, parallel=True)
def _advance(lb: np.ndarray, keys: np.ndarray, ctr: np.ndarray, first_x: np.ndarray,
             first_a: np.ndarray, cnt_x: np.ndarray, cnt_a: np.ndarray, n0: int, n1: int,
             n_total: int, mech: int, theta: int, sigma: float, r: float, u: float,
             keep: bool, pa: np.ndarray, px: np.ndarray, pl: np.ndarray) -> None:
    """Advance every run through agents n0..n1 (1-based, inclusive), in place."""
    runs = lb.size
    s2 = sigma * sigma
    for j in prange(runs):
        l_ = lb[j]
        key = keys[j]
        c = ctr[j]
        fx, fa, kx, ka = first_x[j], first_a[j], cnt_x[j], cnt_a[j]
        for k in range(n0, n1 + 1):
            t = -s2 * l_ / 2.0
            c1 = c + np.uint64(1)
            c += np.uint64(2)
            if _linear_ok(t, sigma, r):
                zp, zcp, hb1p, hb2p = _lin_terms(t, 1.0, sigma, mech, r)
                zm, zcm, hb1m, hb2m = _lin_terms(t, -1.0, sigma, mech, r)
                if theta > 0:
                    z, zc, hb1, hb2 = zp, zcp, hb1p, hb2p
                else:
                    z, zc, hb1, hb2 = zm, zcm, hb1m, hb2m
                a = -1 if _decide(key, c - np.uint64(2), z, zc) else 1
                if mech == 1:
                    fp = hb1 / z if a < 0 else hb2 / zc
                elif mech == 2:
                    fp = u
                else:
                    fp = 0.0
                x = -a if fp > 0.0 and _decide(key, c1, fp, 1.0 - fp) else a
                pmp, ppp = _probs(zp, zcp, hb1p, hb2p, mech, u)
                pmm, ppm = _probs(zm, zcm, hb1m, hb2m, mech, u)
                l_ += math.log(pmp / pmm) if x < 0 else math.log(ppp / ppm)
            else:
                th = float(theta)
                aa = (t - th) / sigma
                lz = log_ndtr_numba(aa)
                lzc = log_ndtr_numba(-aa)
                a = -1 if bernoulli(key, c - np.uint64(2), lz, lzc) else 1
                if mech == 1:
                    cc = r * r * sigma * sigma / 2.0
                    if a < 0:
                        lf = -r * t + r * th + cc + log_ndtr_numba(aa - r * sigma) - lz
                    else:
                        lf = r * t - r * th + cc + log_ndtr_numba(-aa - r * sigma) - lzc
                    lfp = _LOG_HALF + lf  # ≤ log ½: only log p is read
                elif mech == 2:
                    lfp = math.log(u)
                else:
                    lfp = -math.inf
                x = -a if bernoulli(key, c1, lfp, math.log(-math.expm1(lfp))) else a
                lmp, lpp = _log_terms(t, 1.0, sigma, mech, r, u)
                lmm, lpm = _log_terms(t, -1.0, sigma, mech, r, u)
                l_ += (lmp - lmm) if x < 0 else (lpp - lpm)
            if x == theta:
                kx += 1
                if fx > n_total:
                    fx = k
            if a == theta:
                ka += 1
                if fa > n_total:
                    fa = k
            if keep:
                pa[j, k - 1] = a
                px[j, k - 1] = x
                pl[j, k - 1] = l_
        lb[j] = l_
        ctr[j] = c
        first_x[j], first_a[j], cnt_x[j], cnt_a[j] = fx, fa, kx, ka


class NumbaRuns:
    """The state of R independent runs on the numba kernel (advanced in place).

    Built from the checked settings ``sim`` and a numpy Generator ``g`` (one stream key per
    run). With ``sim.keep_paths`` the (R, N) paths are written as the runs advance.
    """

    def __init__(self, sim: Simulation, g: np.random.Generator) -> None:
        n, runs = sim.n_agents, sim.n_runs
        self.sim = sim
        keep = sim.keep_paths
        self.actions = np.empty((runs, n), dtype=np.int8) if keep else np.empty((1, 1), np.int8)
        self.reports = np.empty((runs, n), dtype=np.int8) if keep else np.empty((1, 1), np.int8)
        self.belief_paths = np.empty((runs, n)) if keep else np.empty((1, 1))
        self.lb = np.full(runs, sim.initial_belief)
        self.keys = seed_key(g, size=runs)
        self.ctr = np.zeros(runs, dtype=np.uint64)
        self.first_x = np.full(runs, n + 1, dtype=np.int64)
        self.first_a = np.full(runs, n + 1, dtype=np.int64)
        self.cnt_x = np.zeros(runs, dtype=np.int64)
        self.cnt_a = np.zeros(runs, dtype=np.int64)

    def advance(self, start: int, stop: int) -> None:
        """Advance every run through agents start..stop (1-based, inclusive)."""
        s = self.sim
        _advance(self.lb, self.keys, self.ctr, self.first_x, self.first_a, self.cnt_x,
                 self.cnt_a, start, stop, s.n_agents, s.code, s.theta, s.sigma, s.rate, s.flip,
                 s.keep_paths, self.actions, self.reports, self.belief_paths)

    def state(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(belief, first correct report, first correct action, correct reports, correct
        actions) per run, as numpy arrays (float64, then int64)."""
        return self.lb, self.first_x, self.first_a, self.cnt_x, self.cnt_a

    def paths(self) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
        """The (R, N) paths of actions, reports and beliefs (None without keep_paths)."""
        if not self.sim.keep_paths:
            return None, None, None
        return self.actions, self.reports, self.belief_paths
