"""Jitted JAX kernel of the sequential-learning simulator (same LAW as the numpy reference).

:class:`JaxRuns` advances all runs with ``lax.fori_loop`` over agents; agent n uses the
key ``fold_in(key, n)`` and draws the pair (a, x) from its exact law given the public
threshold (as the numba kernel does), then updates the belief with the closed-form
log-likelihoods (spec §4) via ``jax.scipy.special.log_ndtr``. Both decisions (a = −1 with
probability Z, the flip with its probability ≤ ½) are shared log-space Bernoullis from four
uint32 words (64-bit cells), compared with log-probabilities, so a probability of 1e-12 keeps
its rate in float32 (the former float32 ``jax.random.uniform`` had 23 random bits: decisions
below 2^−23 were impossible). Precision of the log-probabilities follows JAX's default float
type (float32 unless x64 is enabled). Not hardened against floating-point attacks.

The block driver of :mod:`.mechanism` advances :class:`JaxRuns` and reads checkpoints.
Imports :mod:`.params` and the shared kernel helpers only (Liu & Rahimian 2025).
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import log_ndtr

from .... import _jax_random as R
from .params import Simulation

__all__ = ["JaxRuns"]


def _log_probs(t: Any, mu: float, sigma: float, mech: int, r: float, u: float) -> Any:
    """(log Z, log(1−Z), log P(x=−1|μ,t), log P(x=+1|μ,t))."""
    a = (t - mu) / sigma
    lz, lzc = log_ndtr(a), log_ndtr(-a)
    if mech == 0:
        return lz, lzc, lz, lzc, None, None
    if mech == 2:
        l1u, lu = math.log1p(-u), math.log(u)
        return (lz, lzc, jnp.logaddexp(l1u + lz, lu + lzc), jnp.logaddexp(l1u + lzc, lu + lz),
                None, None)
    c = r * r * sigma * sigma / 2.0
    lb1 = -r * t + r * mu + c + log_ndtr(a - r * sigma)
    lb2 = r * t - r * mu + c + log_ndtr(-a - r * sigma)
    lm = jnp.logaddexp(lz + jnp.log1p(-0.5 * jnp.exp(lb1 - lz)), math.log(0.5) + lb2)
    lp = jnp.logaddexp(lzc + jnp.log1p(-0.5 * jnp.exp(lb2 - lzc)), math.log(0.5) + lb1)
    return lz, lzc, lm, lp, lb1, lb2


def _decisions_from_bits(w: Any, own: Any, mech: int, u: float, lb: Any) -> tuple[Any, Any]:
    """(a, x) of one step from uint32 words ``w`` (4, runs) and the true state's log terms
    ``own`` (:func:`_log_probs`): a = −1 w.p. Z (log Z = own[0], log(1 − Z) = own[1]), then
    x = −a w.p. ½B₁/Z (a = −1) or ½B₂/(1 − Z) (a = +1) for smoothed RR (mech 1; both ≤ ½),
    u for classic RR (mech 2), never for mech 0. Both are shared log-space Bernoullis."""
    a = jnp.where(R.bernoulli_from_bits(w[0], w[1], log_p=own[0], log1m_p=own[1],
                                        dtype=lb.dtype), -1, 1)
    if mech == 1:
        log_fp = math.log(0.5) + jnp.where(a < 0, own[4] - own[0], own[5] - own[1])
    elif mech == 2:
        log_fp = jnp.full(lb.shape, math.log(u), lb.dtype)
    else:
        log_fp = jnp.full(lb.shape, -jnp.inf, lb.dtype)
    flip = R.bernoulli_from_bits(w[2], w[3], log_p=log_fp, dtype=lb.dtype)
    return a, jnp.where(flip, -a, a)


@partial(jax.jit, static_argnames=("mech", "theta", "sigma", "r", "u", "n_total"))
def _advance(state: Any, key: Any, n0: Any, n1: Any, *, mech: int, theta: int, sigma: float,
             r: float, u: float, n_total: int) -> Any:
    def body(k: Any, st: Any) -> Any:
        lb, fx, fa, kx, ka = st
        w = jax.random.bits(jax.random.fold_in(key, k), (4,) + lb.shape, jnp.uint32)
        t = -sigma * sigma * lb / 2.0
        p_ = _log_probs(t, 1.0, sigma, mech, r, u)
        m_ = _log_probs(t, -1.0, sigma, mech, r, u)
        a, x = _decisions_from_bits(w, p_ if theta > 0 else m_, mech, u, lb)
        lb = lb + jnp.where(x < 0, p_[2] - m_[2], p_[3] - m_[3])
        okx, oka = x == theta, a == theta
        fx = jnp.where(okx & (fx > n_total), k, fx)
        fa = jnp.where(oka & (fa > n_total), k, fa)
        return lb, fx, fa, kx + okx, ka + oka

    return jax.lax.fori_loop(n0, n1 + 1, body, state)


class JaxRuns:
    """The state of R independent runs on the JAX kernel (a tuple of device arrays).

    Built from the checked settings ``sim`` (no paths: ``keep_paths`` is refused before) and
    a JAX key or an int seed (:func:`dpkit._jax_random.as_key`).
    """

    def __init__(self, sim: Simulation, key: object) -> None:
        n, runs = sim.n_agents, sim.n_runs
        self.sim = sim
        self.key = R.as_key(key)
        ftype = jnp.result_type(float)
        self.st = (jnp.full(runs, sim.initial_belief, ftype), jnp.full(runs, n + 1, jnp.int32),
                   jnp.full(runs, n + 1, jnp.int32), jnp.zeros(runs, jnp.int32),
                   jnp.zeros(runs, jnp.int32))

    def advance(self, start: int, stop: int) -> None:
        """Advance every run through agents start..stop (1-based, inclusive)."""
        s = self.sim
        self.st = _advance(self.st, self.key, start, stop, mech=s.code, theta=s.theta,
                           sigma=s.sigma, r=s.rate, u=s.flip, n_total=s.n_agents)

    def state(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(belief, first correct report, first correct action, correct reports, correct
        actions) per run, as numpy arrays (float64, then int64)."""
        lb, fx, fa, kx, ka = (np.asarray(s) for s in self.st)
        return (lb.astype(float), fx.astype(np.int64), fa.astype(np.int64),
                kx.astype(np.int64), ka.astype(np.int64))

    def paths(self) -> tuple[None, None, None]:
        """No paths on JAX (``keep_paths`` is refused before a run starts)."""
        return None, None, None
