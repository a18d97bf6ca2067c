"""The numpy reference of private federated LinUCB: the law every kernel is tested against.

:func:`simulate_reference` is ``simulate(..., backend="numpy")``: all M silos vectorised per
round (contexts, LinUCB scores with V_i⁻¹, Sherman–Morrison updates, rewards, clipping,
vector-sum randomized rounding), and every Bt rounds the server's synchronisation
(:func:`sync`: tree node release with the protocol's noise, private prefix sums,
(λI + Ṽ)⁻¹). The numba backend runs the same :func:`sync` between its compiled batches
(:func:`sync_step`), so the privacy noise is drawn by this code on both.

Also :func:`confidence_radius` (the learner's β_t) and :func:`kernel_plan` (the numbers every
backend needs, derived once). [ZC24] Zhou & Chowdhury, ICLR 2024 (arXiv:2302.13945).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ... import _validate as V
from ...errors import DPKitError
from .. import _dyadic, continual
from .environment import Environment, SyntheticEnvironment
from .params import (
    GAUSSIAN_PROTOCOLS,
    PROTOCOL_CODE,
    VECTOR_SUM_BIT_PROB,
    BanditParams,
    KernelOutput,
    KernelPlan,
    SyncFn,
)
from .privacy import node_sigma, regularizer, vector_sum_schedule

__all__ = ["confidence_radius"]


def confidence_radius(params: BanditParams, t: npt.ArrayLike,
                      lam: float | None = None) -> np.ndarray:
    """β_t = crs·(√λ·S + R·√(d·log(1 + t·M·L²/(dλ)) + log(1/α))) (released code's radius).

    The LinUCB confidence radius after t ≥ 0 rounds, with λ = :func:`.privacy.regularizer`
    unless ``lam`` is given ([ZC24]; Abbasi-Yadkori, Pál, Szepesvári 2011). Not a privacy
    statement: β_t uses only public constants. Returns ``params.radius`` everywhere when it
    is set.

    Raises:
        DPKitError: params not a BanditParams, t negative or not finite, lam ≤ 0.

    >>> p = BanditParams(2, 3, 2, 10, 5, "none", radius=0.5)
    >>> confidence_radius(p, [1, 2]).tolist()
    [0.5, 0.5]
    """
    if not isinstance(params, BanditParams):
        raise DPKitError(f"params must be a BanditParams, got {type(params).__name__}")
    tt = V.finite_array(t=t)
    if (tt < 0).any():
        raise DPKitError("t must be >= 0 (a number of rounds)")
    if params.radius is not None:
        return np.full(tt.shape, params.radius)
    lam = regularizer(params) if lam is None else V.positive(lam=lam)
    d, M, L = params.dim, params.num_silos, params.feature_bound
    S = params.param_bound if params.param_bound is not None else math.sqrt(d)
    inner = d * np.log1p(tt * M * L * L / (d * lam)) + math.log(1.0 / params.alpha)
    return params.radius_scale * (math.sqrt(lam) * S + params.noise_scale * np.sqrt(inner))


def kernel_plan(params: BanditParams, env: Environment) -> KernelPlan:
    """The :class:`.params.KernelPlan` of a checked (params, environment) pair."""
    d, T = params.dim, params.horizon
    lam = regularizer(params)
    vs_scale, vs_bits = vector_sum_schedule(params)
    if isinstance(env, SyntheticEnvironment):
        theta, basis = np.ascontiguousarray(env.theta, dtype=float), env.basis()
        features, means = np.zeros((1, 1, 1, 1)), np.zeros((1, 1, 1))
    else:
        theta, basis = np.zeros(d), np.zeros((0, d))
        features = np.ascontiguousarray(env.features[:T], dtype=float)
        means = np.ascontiguousarray(env.means[:T], dtype=float)
    return KernelPlan(
        num_silos=params.num_silos, num_arms=params.num_arms, dim=d, horizon=T,
        batch_size=params.batch_size, num_batches=params.num_batches, levels=params.levels,
        protocol_code=PROTOCOL_CODE[params.protocol], strict=params.strict,
        regularization=lam, node_sigma=node_sigma(params),
        beta=np.ascontiguousarray(confidence_radius(params, np.arange(1, T + 1), lam),
                                  dtype=float),
        feature_bound=params.feature_bound, reward_bound=params.reward_bound,
        coordinate_bound=params.coordinate_bound, vs_scale=vs_scale, vs_bits=vs_bits,
        synthetic=isinstance(env, SyntheticEnvironment), theta=theta, basis=basis,
        features=features, means=means, noise_std=float(env.noise_std))


# ============================================================================ the server
def clip_rows(x: np.ndarray, bound: float) -> tuple[np.ndarray, int]:
    """Rescale rows of norm > L to norm L (every such row: the sensitivity Δ assumes ‖x‖ ≤ L
    exactly); only rows beyond L·(1 + 1e-12) are *counted* as clipped (round-off is not)."""
    norms = np.linalg.norm(x, axis=-1)
    over = norms > bound
    if over.any():
        x = x.copy()
        x[over] *= (bound / norms[over])[:, None]
    return x, int(np.sum(norms > bound * (1.0 + 1e-12)))


def tree_counter(params: BanditParams) -> continual.CounterParams:
    """The continual tree counter carrying the Gaussian protocols' node noise (all silos).

    ``CounterParams("tree", horizon=Kb, noise_multiplier=σ₀/Δ, bound=Δ/2,
    relation="replace_one")``: node noise std = noise_multiplier·sensitivity = σ₀ per
    coordinate, Kb.bit_length() = n_lvl levels. Its own event (event-level items of norm
    ≤ Δ/2) has the same ρ = n_lvl·Δ²/(2σ₀²) as :func:`.privacy.privacy_event` (tested).
    """
    d, M = params.dim, params.num_silos
    delta_s = params.sensitivity
    return continual.CounterParams(
        "tree", params.num_batches, noise_multiplier=node_sigma(params) / delta_s,
        dimension=M * (d * (d + 1) // 2 + d), bound=delta_s / 2.0, relation="replace_one")


@dataclass
class SyncState:
    """Server-side tree state: exact cumulative sums and the tree noise.

    Gaussian protocols: the noise process is a :mod:`dpkit.mechanisms.continual` binary tree
    ("tree" counter, horizon Kb, noise std σ₀ per coordinate) over the M silos' flattened
    (upper triangle of the Gram increment, vector increment) streams, one block of
    d(d+1)/2 + d coordinates per silo. The counter is linear (y = prefix sum + tree noise),
    so it is fed zero items and the exact prefix sums are added here: the bandit item (one
    batch of Bt users) has no norm bound of the counter's kind, and the neighbouring relation
    (one user inside a batch, sensitivity Δ) is the bandits' own (:func:`.privacy.privacy_event`).
    Vector sum: one analyser-noise slot per level (``noise_g``, ``noise_u``), the users'
    rounding residuals (``resid``) and the per-level scale g and noise bits.
    """

    true_g: np.ndarray
    true_u: np.ndarray
    noise_g: np.ndarray
    noise_u: np.ndarray
    resid: np.ndarray  # vector sum: per-level randomized-rounding residual sums
    vs_scale: np.ndarray  # vector sum: fixed-point scale g per level
    vs_bits: np.ndarray  # vector sum: binomial noise bits of a node per level
    counter: tuple[continual.CounterParams, continual.CounterState] | None = None

    @classmethod
    def new(cls, params: BanditParams) -> SyncState:
        """The state before the first sync."""
        levels, d = params.levels, params.dim
        p = d * (d + 1) // 2 + d
        counter = None
        if params.protocol in GAUSSIAN_PROTOCOLS:
            cp = tree_counter(params)
            counter = (cp, continual.init(cp))
        return cls(np.zeros((d, d)), np.zeros(d), np.zeros((levels, d, d)),
                   np.zeros((levels, d)), np.zeros((levels, p)), *vector_sum_schedule(params),
                   counter)


def sync(params: BanditParams, st: SyncState, batch_g: np.ndarray, batch_u: np.ndarray,
         batch: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, float]:
    """One synchronisation: add the batch, release node ``batch``, return the private prefix.

    Gaussian protocols: each of the M silos' tree (a :mod:`dpkit.mechanisms.continual` tree
    counter, see :class:`SyncState`) releases its node with N(0, σ₀²) noise on the upper
    triangle of the Gram increment and on the vector increment; the server sums the M private
    prefix sums.
    Vector sum: the node's aggregate is the analyser's output; its error is the users'
    randomized-rounding residuals plus centred Binomial(b·n, 1/4), times c/g.
    Returns (Ṽ, ũ, min eigenvalue of λI + Ṽ); raises if λI + Ṽ is not positive definite.
    """
    d, M, proto = params.dim, params.num_silos, params.protocol
    st.true_g += batch_g
    st.true_u += batch_u
    j = _dyadic.lowbit_level(batch)
    tri = np.triu_indices(d)
    if st.counter is not None:  # each silo's tree noise (continual counter), summed by the server
        cp, cs = st.counter
        cs, y = continual.step(cp, cs, np.zeros(cp.dimension), rng)
        st.counter = (cp, cs)
        agg = np.asarray(y).reshape(M, -1).sum(axis=0)
        ng = np.zeros((d, d))
        ng[tri] = agg[: tri[0].size]
        Vt = st.true_g + ng + np.triu(ng, 1).T
        ut = st.true_u + agg[tri[0].size:]
    else:
        if proto == "shuffle_vector_sum":
            n_bits = int(st.vs_bits[j])
            p = VECTOR_SUM_BIT_PROB
            binom = rng.binomial(n_bits, p, size=st.resid.shape[1]) - p * n_bits
            e = (params.coordinate_bound / st.vs_scale[j]) * (st.resid[j] + binom)
            st.resid[j] = 0.0
            ng = np.zeros((d, d))
            ng[tri] = e[: tri[0].size]
            st.noise_g[j] = ng + np.triu(ng, 1).T
            st.noise_u[j] = e[tri[0].size:]
        on = [jj for jj in range(st.noise_g.shape[0]) if (batch >> jj) & 1]
        Vt = st.true_g + st.noise_g[on].sum(axis=0)
        ut = st.true_u + st.noise_u[on].sum(axis=0)
    lam = regularizer(params)
    ev = float(np.linalg.eigvalsh(lam * np.eye(d) + Vt)[0])
    if ev <= 0:
        raise DPKitError(
            f"the private Gram matrix lambda*I + V lost positive definiteness at batch {batch} "
            f"(min eigenvalue {ev:.3g}); this has probability <= alpha={params.alpha:g} under "
            "lambda_rule='safe': raise regularization")
    return Vt, ut, ev


def sync_step(params: BanditParams, rng: np.random.Generator) -> SyncFn:
    """A fresh server as one callable ``(k, ΔW, ΔU, Δresid) -> (Ṽ, ũ, min eig)``: adds the
    batch's rounding residuals, then runs :func:`sync` (the numba backend's syncs)."""
    st = SyncState.new(params)

    def step(batch: int, batch_g: np.ndarray, batch_u: np.ndarray,
             resid: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        st.resid += resid
        return sync(params, st, batch_g, batch_u, batch, rng)

    return step


# ============================================================================ the simulation
def simulate_reference(params: BanditParams, env: Environment, rng: np.random.Generator,
                       progress: bool = False) -> KernelOutput:
    """The numpy reference of :func:`~dpkit.mechanisms.bandits.simulate` on checked inputs."""
    M, d, T, Bt = params.num_silos, params.dim, params.horizon, params.batch_size
    L, B, proto = params.feature_bound, params.reward_bound, params.protocol
    lam = regularizer(params)
    kb = params.num_batches
    beta = confidence_radius(params, np.arange(1, T + 1), lam)
    tri = np.triu_indices(d)
    c = params.coordinate_bound

    W = np.zeros((M, d, d))
    U = np.zeros((M, d))
    Vt = np.zeros((d, d))  # private prefix Gram (global)
    ut = np.zeros(d)
    st = SyncState.new(params)
    resid = st.resid
    base_inv = np.eye(d) / lam
    Vinv = np.broadcast_to(base_inv, (M, d, d)).copy()
    min_eig = lam
    regret = np.empty(T)
    total = 0.0
    n_clip_r = n_clip_f = 0
    batch = 1
    rows = np.arange(M)
    for t in range(1, T + 1):
        if isinstance(env, SyntheticEnvironment):
            raw = env.draw_round(rng)
            means = raw @ env.theta
            feats = raw / np.linalg.norm(raw, axis=2, keepdims=True)
        else:
            feats = env.features[t - 1]
            means = env.means[t - 1]
        if params.strict:
            theta = Vinv[0] @ ut
            xv = np.einsum("mkd,de->mke", feats, Vinv[0])
            thetas = np.broadcast_to(theta, (M, d))
        else:
            thetas = np.einsum("mde,me->md", Vinv, ut[None, :] + U)
            xv = np.einsum("mkd,mde->mke", feats, Vinv)
        width = np.sqrt(np.maximum(np.einsum("mke,mke->mk", xv, feats), 0.0))
        scores = np.einsum("mkd,md->mk", feats, thetas) + beta[t - 1] * width
        arms = np.argmax(scores, axis=1)
        chosen_mean = means[rows, arms]
        total += float(np.sum(means.max(axis=1) - chosen_mean))
        regret[t - 1] = total
        x, nf = clip_rows(feats[rows, arms], L)
        n_clip_f += nf
        y = chosen_mean + env.noise_std * rng.standard_normal(M)
        n_clip_r += int(np.sum(np.abs(y) > B))
        y = np.clip(y, -B, B)
        W += np.einsum("md,me->mde", x, x)
        U += x * y[:, None]
        if not params.strict:  # Sherman–Morrison: Vinv_i ← (V_i + x xᵀ)⁻¹
            vx = np.einsum("mde,me->md", Vinv, x)
            den = 1.0 + np.einsum("md,md->m", vx, x)
            Vinv -= np.einsum("md,me->mde", vx, vx) / den[:, None, None]
        if proto == "shuffle_vector_sum" and batch <= kb:
            coords = np.concatenate([np.einsum("md,me->mde", x, x)[:, tri[0], tri[1]],
                                     x * y[:, None]], axis=1)
            v = coords + c
            for j in _dyadic.covering_levels(batch, kb):
                scaled = v * st.vs_scale[j] / c
                frac = scaled - np.floor(scaled)
                bits = rng.random(frac.shape) < frac
                resid[j] += np.sum(bits - frac, axis=0)
        if t == batch * Bt and batch <= kb:
            Vt, ut, ev = sync(params, st, W.sum(axis=0), U.sum(axis=0), batch, rng)
            min_eig = min(min_eig, ev)
            Vinv[:] = np.linalg.inv(lam * np.eye(d) + Vt)
            W[:] = 0.0
            U[:] = 0.0
            batch += 1
        if progress and (t % max(1, T // 20) == 0 or t == T):
            print(f"\rbandits: round {t}/{T}", end="" if t < T else "\n", file=sys.stderr,
                  flush=True)
    return KernelOutput(regret, n_clip_r, n_clip_f, min_eig)
