"""Jitted JAX kernels of smoothed RR and the sequential-learning simulator (same LAW as numpy).

Pure and key-based. :func:`respond_jax` flips a = sign(v − t) with probability
½·exp(−ε|v − t|/Δ), so x = +1 with probability F((v − t)/Δ), F the Laplace(0, 1/ε) CDF
(Liu & Rahimian 2025; spec §3.1); the flip is the shared log-space Bernoulli of
:mod:`dpkit._jax_random` (64-bit uniform, log U < log ½ − ε|z|/Δ), so the law holds down to
flip probabilities ~2^−64 even in float32.

Precision of the distance (review finding): z = v − t, the sign a and the log flip
probability L = log ½ − ε|z|/Δ are computed in float64 on the host from the caller's values
(float32 inputs convert exactly, so no signal is ever rounded before the subtraction; the
subtraction itself has relative error ≤ 2^−53 of |z|). Only L is then cast to JAX's default
float. Rounding the signals to float32 first (as an earlier version did) could stretch a
distance Δ by one float32 ulp of |v|, e.g. |v| ≈ 10^4, Δ = 0.01: privacy loss ≈ 1.1ε. Now, in
float32, L and log u each carry an absolute error ≤ ~4·10^−6 where it matters
(|L| ≤ 64·ln 2 ≈ 44.4; beyond, the flip has probability below the 2^−64 floor either way), so
the realised log-probabilities are within ~1e-5 of the exact ones and the loss between
neighbours |v − v'| ≤ Δ is ≤ ε + 2·10^−5 (≤ ε + 10^−12 with ``jax_enable_x64``).

:func:`simulate_jax` advances all runs with ``lax.fori_loop`` over agents; agent n uses the
key ``fold_in(key, n)`` and draws the pair (a, x) from its exact law given the public
threshold (as the numba kernel does), then updates the belief with the closed-form
log-likelihoods (spec §4) via ``jax.scipy.special.log_ndtr``. Both decisions (a = −1 with
probability Z, the flip with its probability ≤ ½) are shared log-space Bernoullis from four
uint32 words (64-bit cells), compared with log-probabilities, so a probability of 1e-12 keeps
its rate in float32 (the former float32 ``jax.random.uniform`` had 23 random bits: decisions
below 2^−23 were impossible). Precision of the log-probabilities follows JAX's default float
type (float32 unless x64 is enabled). Not hardened against floating-point attacks.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import log_ndtr

from ... import _jax_random as R
from ...errors import DPKitError

__all__ = ["respond_jax", "simulate_jax"]


@jax.jit
def _respond(key: Any, a: Any, log_flip: Any) -> Any:
    flip = R.bernoulli(key, log_p=log_flip, dtype=log_flip.dtype)  # p ≤ ½: log U < log p
    return jnp.where(flip, -a, a).astype(jnp.int8)


def _sign_and_log_flip(params: Any, signal: Any, threshold: Any) -> tuple[np.ndarray,
                                                                            np.ndarray]:
    """a = sign(v − t) (−1 at ties) and L = log ½ − ε|v − t|/Δ, in float64 on the host.

    The caller's values convert to float64 exactly (float16/32/64, integers up to 2^53), so
    the distance is never computed from rounded signals.
    """
    from ... import _validate as V

    try:
        v = np.asarray(signal, dtype=np.float64)
    except (TypeError, ValueError):
        raise DPKitError("signal must be a real array") from None
    V.finite_array(signal=v.reshape(-1))
    if params.clip is not None:
        v = np.clip(v, params.clip[0], params.clip[1])
    if threshold is None:
        t: Any = params.threshold
    else:
        try:
            t = np.asarray(threshold, dtype=np.float64)
        except (TypeError, ValueError):
            raise DPKitError("threshold must be a real array") from None
        V.finite_array(threshold=t.reshape(-1))
        try:
            t = np.broadcast_to(t, v.shape)
        except ValueError:
            raise DPKitError(f"threshold must broadcast to the signal's shape {v.shape}, got "
                             f"shape {t.shape}") from None
    d = v - t
    a = np.where(d > 0, 1, -1).astype(np.int8)
    with np.errstate(over="ignore"):
        log_flip = math.log(0.5) - params.rate * np.abs(d)
    return a, log_flip


def respond_jax(params: Any, signal: Any, key: Any, *, threshold: Any = None) -> Any:
    """Smoothed-RR bits (int8 ±1) with the JAX kernel (see ``smoothed_rr.respond``).

    The distance v − t is computed in float64 on the host (see the module docstring: no
    float32 rounding of the signal can stretch a distance Δ); the flip uniforms are drawn on
    the device with ``key``. NaN/inf in the signal or thresholds are refused.
    """
    key = R.as_key(key)
    a, log_flip = _sign_and_log_flip(params, signal, threshold)
    ftype = jnp.result_type(float)  # float32 unless jax_enable_x64
    return _respond(key, jnp.asarray(a), jnp.asarray(log_flip, dtype=ftype))


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


def simulate_jax(n: int, runs: int, mechanism: str, eps: float | None, r: float, u: float,
                 sigma: float, theta: int, l0: float, cps: np.ndarray, key: Any,
                 show: bool) -> Any:
    """The JAX simulator behind ``simulate_sequential_learning(backend="jax")``."""
    from .sequential import _BLOCK_WORK, SequentialResult, _new_result, _Progress

    key = R.as_key(key)
    mech = {"none": 0, "smoothed": 1, "classic": 2}[mechanism]
    out = _new_result(n, runs, cps, False)
    ftype = jnp.result_type(float)
    state = (jnp.full(runs, l0, ftype), jnp.full(runs, n + 1, jnp.int32),
             jnp.full(runs, n + 1, jnp.int32), jnp.zeros(runs, jnp.int32),
             jnp.zeros(runs, jnp.int32))
    bar = _Progress(n, show, f"sequential learning ({mechanism}, jax)")
    block = max(1, _BLOCK_WORK // runs)
    stops = np.unique(np.concatenate([cps, np.arange(block, n, block), [n]]))
    start, ci = 1, 0
    for stop in stops:
        state = _advance(state, key, start, int(stop), mech=mech, theta=theta, sigma=sigma,
                         r=r, u=u, n_total=n)
        if ci < cps.size and cps[ci] == stop:
            out["beliefs"][:, ci] = np.asarray(state[0], dtype=float)
            out["correct_reports"][:, ci] = np.asarray(state[3])
            out["correct_actions"][:, ci] = np.asarray(state[4])
            ci += 1
        start = int(stop) + 1
        bar.update(int(stop))
    lb, fx, fa, kx, ka = (np.asarray(s) for s in state)
    return SequentialResult(theta=theta, n_agents=n, mechanism=mechanism, signal="gaussian",
                            epsilon=eps, checkpoints=cps,
                            first_correct_report=fx.astype(np.int64),
                            first_correct_action=fa.astype(np.int64),
                            wrong_reports=n - kx.astype(np.int64),
                            wrong_actions=n - ka.astype(np.int64),
                            final_belief=lb.astype(float), **out)
