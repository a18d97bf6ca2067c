"""JAX kernel of the federated bandit simulation: ``lax.scan`` over batches and rounds.

One jitted program runs the whole simulation: an outer ``lax.scan`` over the Kb
synchronisations, each an inner ``lax.scan`` over its Bt rounds (all M silos vectorised:
contexts, LinUCB scores with V_i⁻¹, Sherman–Morrison updates, rewards, clipping, vector-sum
randomized rounding), followed by the sync (tree node of level lowbit(k): per-silo Gaussian
node noise summed by the server, or the vector-sum analyser's binomial noise plus rounding
residuals; private prefix sum; (λI + Ṽ)⁻¹). Rounds after the last sync run in a final scan.

Randomness: round t uses ``jax.random.fold_in(key, t)``, sync k ``fold_in(key, T + k)``; the
law is the numpy reference's (tested), not its bits. Runs in float64 under the scoped
``jax.enable_x64(True)`` (no global JAX setting is changed). The Gaussian tree's privacy
noise comes from the shared :func:`dpkit._jax_random.normal` (Box–Muller with a 64-bit
log-uniform radius): support ±9.49σ, cut tail mass 2.3e-21 per draw, ≈ 1.6e-18 in total
variation over the n_lvl·(d(d+1)/2 + d) draws covering one user at d = 10, Kb = 400 (a float64
``jax.random.normal`` stops at 8.13σ: 4.4e-16 per draw). Not zero, and float noise is not
hardened, as in the reference. The vector sum's randomized rounding compares a shared
:func:`dpkit._jax_random.uniform_open` with the fraction (an encoding step: privacy holds for
any rounding outcome); its binomial noise is still ``jax.random.binomial`` (float64 BTRS with
52-bit uniforms, so tail events are resolved only to ~2^−52 ≈ 2e-16 per draw). The synthetic
contexts and reward noise (the environment, not privacy noise) stay ``jax.random.normal``,
the contexts in float32. A lost positive definite λI + Ṽ cannot raise inside ``jit``: the
smallest eigenvalue over all syncs is returned and
:func:`dpkit.mechanisms.bandits.simulate` raises afterwards. One progress line at the end (the
run is one compiled program). Inputs: the :class:`.params.KernelPlan` (every calibrated
constant is derived before the kernel). [ZC24] Zhou & Chowdhury, ICLR 2024. Privacy: the
reference's statement (:func:`dpkit.mechanisms.bandits.privacy_event`).
"""

from __future__ import annotations

import sys
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ... import _jax_random as R
from .. import _dyadic
from .params import PROTOCOL_CODE, VECTOR_SUM_BIT_PROB, KernelOutput, KernelPlan

__all__ = ["simulate"]


def _symmetric(upper_flat: Any, d: int) -> Any:
    """(…, d(d+1)/2) upper-triangle values (row-major, diagonal included) → (…, d, d)."""
    iu = np.triu_indices(d)
    out = jnp.zeros((*upper_flat.shape[:-1], d, d), upper_flat.dtype)
    out = out.at[..., iu[0], iu[1]].set(upper_flat)
    return out.at[..., iu[1], iu[0]].set(upper_flat)


@partial(jax.jit, static_argnames=("M", "K", "d", "T", "Bt", "kb", "levels", "strict",
                                   "synthetic"))
def _run(key: Any, proto: Any, beta: Any, theta: Any, basis: Any, features: Any, means: Any,
         scal: Any, vs_g: Any, vs_bits: Any, level_mask: Any, *, M: int, K: int, d: int,
         T: int, Bt: int, kb: int, levels: int, strict: bool, synthetic: bool) -> Any:
    """proto: 0 none, 1 Gaussian tree (silo_ldp / shuffle_amplification), 2 vector sum
    (a traced int: one compiled program serves every protocol)."""
    lam, sigma, L, B, noise_std, c = (scal[i] for i in range(6))
    f64 = jnp.float64
    iu = np.triu_indices(d)
    ntri = iu[0].size
    nb = basis.shape[0]
    rows = jnp.arange(M)
    vs_on = proto == 2

    def one_round(carry: Any, inp: Any) -> Any:
        Vinv, W, U, resid, clip, ut = carry
        t, mask = inp  # t: 0-based round; mask: (levels,) levels receiving this round's users
        k = jax.random.fold_in(key, t)
        k_ctx, k_y, k_vs = jax.random.split(k, 3)
        if synthetic:
            # contexts (the environment, not the privacy noise) from float32 normals: JAX's
            # CPU generator costs one 32-bit word per float32 normal, two per float64 one
            g = jax.random.normal(k_ctx, (M, K, d - 1), jnp.float32).astype(f64)
            g = g / jnp.linalg.norm(g, axis=2, keepdims=True)
            raw = jnp.concatenate([g, jnp.ones((M, K, 1), f64)], axis=2)
            raw = raw.at[:, :nb, :].set(basis)
            mu = raw @ theta
            feats = raw / jnp.linalg.norm(raw, axis=2, keepdims=True)
        else:
            feats = features[t]
            mu = means[t]
        if strict:
            th = jnp.broadcast_to(Vinv[0] @ ut, (M, d))
            xv = jnp.einsum("mkd,de->mke", feats, Vinv[0])
        else:
            th = jnp.einsum("mde,me->md", Vinv, ut[None, :] + U)
            xv = jnp.einsum("mkd,mde->mke", feats, Vinv)
        width = jnp.sqrt(jnp.maximum(jnp.einsum("mke,mke->mk", xv, feats), 0.0))
        scores = jnp.einsum("mkd,md->mk", feats, th) + beta[t] * width
        arms = jnp.argmax(scores, axis=1)
        chosen = mu[rows, arms]
        inc = jnp.sum(mu.max(axis=1) - chosen)
        x = feats[rows, arms]
        nrm = jnp.linalg.norm(x, axis=1)
        over = nrm > L * (1.0 + 1e-12)  # counted as clipped (beyond round-off)
        resc = nrm > L  # rescaled: any excess (the sensitivity Δ assumes ‖x‖ ≤ L)
        x = jnp.where(resc[:, None], x * (L / jnp.where(resc, nrm, 1.0))[:, None], x)
        y = chosen + noise_std * jax.random.normal(k_y, (M,), f64)
        yclip = jnp.abs(y) > B
        y = jnp.clip(y, -B, B)
        clip = clip + jnp.array([jnp.sum(yclip), jnp.sum(over)], f64)
        xx = x[:, :, None] * x[:, None, :]
        W = W + xx
        U = U + x * y[:, None]
        if not strict:  # Sherman–Morrison
            vx = jnp.einsum("mde,me->md", Vinv, x)
            den = 1.0 + jnp.sum(vx * x, axis=1)
            Vinv = Vinv - vx[:, :, None] * vx[:, None, :] / den[:, None, None]

        def rounding(r: Any) -> Any:
            coords = jnp.concatenate([xx[:, iu[0], iu[1]], x * y[:, None]], axis=1) + c
            scaled = coords[None, :, :] * (vs_g / c)[:, None, None]  # (levels, M, p)
            frac = scaled - jnp.floor(scaled)
            bits = R.uniform_open(k_vs, frac.shape, f64) < frac
            return r + mask[:, None] * jnp.sum(bits - frac, axis=1)

        resid = jax.lax.cond(vs_on, rounding, lambda r: r, resid)
        return (Vinv, W, U, resid, clip, ut), inc

    def sync(state: Any, k: Any) -> Any:
        """Batch k (1-based): release node lowbit(k), return the private prefix sums."""
        Vinv, W, U, resid, clip, ut, true_g, true_u, noise_g, noise_u, min_eig = state
        true_g = true_g + W.sum(axis=0)
        true_u = true_u + U.sum(axis=0)
        k32 = k.astype(jnp.int32)
        j = jnp.int32(31) - jax.lax.clz(k32 & (-k32))  # level of node k: lowbit(k) = 2^j
        ks = jax.random.fold_in(key, T + k)

        def no_noise(r: Any) -> Any:
            return jnp.zeros((d, d), f64), jnp.zeros(d, f64), r

        def gaussian(r: Any) -> Any:  # each silo's node noise, summed by the server
            k1, k2 = jax.random.split(ks)
            up = sigma * R.normal(k1, (M, ntri), f64)
            nu = (sigma * R.normal(k2, (M, d), f64)).sum(axis=0)
            return _symmetric(up, d).sum(axis=0), nu, r

        def vector_sum(r: Any) -> Any:  # analyser error: rounding residuals + binomial bits
            n_bits = vs_bits[j]
            p = VECTOR_SUM_BIT_PROB
            binom = jax.random.binomial(ks, n_bits, p, shape=(ntri + d,), dtype=f64)
            e = (c / vs_g[j]) * (r[j] + binom - p * n_bits)
            return _symmetric(e[:ntri], d), e[ntri:], r.at[j].set(0.0)

        ng, nu, resid = jax.lax.switch(proto, (no_noise, gaussian, vector_sum), resid)
        noise_g = noise_g.at[j].set(ng)
        noise_u = noise_u.at[j].set(nu)
        on = ((k >> jnp.arange(levels)) & 1).astype(f64)
        Vt = true_g + jnp.einsum("l,lde->de", on, noise_g)
        ut = true_u + on @ noise_u
        Vp = lam * jnp.eye(d, dtype=f64) + Vt
        min_eig = jnp.minimum(min_eig, jnp.linalg.eigvalsh(Vp)[0])
        Vinv = jnp.broadcast_to(jnp.linalg.inv(Vp), (M, d, d))
        W = jnp.zeros_like(W)
        U = jnp.zeros_like(U)
        return (Vinv, W, U, resid, clip, ut, true_g, true_u, noise_g, noise_u, min_eig)

    def one_batch(state: Any, inp: Any) -> Any:
        k, mask = inp
        Vinv, W, U, resid, clip, ut = state[:6]
        ts = (k - 1) * Bt + jnp.arange(Bt)
        masks = jnp.broadcast_to(mask, (Bt, levels))
        (Vinv, W, U, resid, clip, ut), incs = jax.lax.scan(
            one_round, (Vinv, W, U, resid, clip, ut), (ts, masks))
        state = sync((Vinv, W, U, resid, clip, ut, *state[6:]), k)
        return state, incs

    p_dim = ntri + d
    state = (jnp.broadcast_to(jnp.eye(d, dtype=f64) / lam, (M, d, d)),
             jnp.zeros((M, d, d), f64), jnp.zeros((M, d), f64), jnp.zeros((levels, p_dim), f64),
             jnp.zeros(2, f64), jnp.zeros(d, f64), jnp.zeros((d, d), f64), jnp.zeros(d, f64),
             jnp.zeros((levels, d, d), f64), jnp.zeros((levels, d), f64), lam)
    state, incs = jax.lax.scan(one_batch, state, (jnp.arange(1, kb + 1), level_mask))
    incs = incs.reshape(-1)
    if T > kb * Bt:
        ts = jnp.arange(kb * Bt, T)
        masks = jnp.zeros((T - kb * Bt, levels), f64)
        inner, tail = jax.lax.scan(one_round, state[:6], (ts, masks))
        state = (*inner, *state[6:])
        incs = jnp.concatenate([incs, tail])
    return jnp.cumsum(incs), state[4], state[10]


def simulate(plan: KernelPlan, rng: Any, progress: bool) -> KernelOutput:
    """JAX backend of :func:`dpkit.mechanisms.bandits.simulate` (same law as numpy).

    ``rng``: a JAX PRNG key, an int seed or a numpy Generator (:func:`dpkit._jax_random.as_key`).
    A lost positive definite λI + Ṽ shows as ``min_eigenvalue <= 0`` (the caller raises).
    """
    kb, levels = plan.num_batches, plan.levels
    mask = np.zeros((kb, levels))
    if plan.protocol_code == PROTOCOL_CODE["shuffle_vector_sum"]:
        for k in range(1, kb + 1):
            mask[k - 1, _dyadic.covering_levels(k, kb)] = 1.0
    scal = np.array([plan.regularization, plan.node_sigma, plan.feature_bound,
                     plan.reward_bound, plan.noise_std, plan.coordinate_bound])
    with jax.enable_x64(True):
        regret, clip, min_eig = _run(
            R.as_key(rng), jnp.int32(plan.protocol_code), jnp.asarray(plan.beta),
            jnp.asarray(plan.theta), jnp.asarray(plan.basis), jnp.asarray(plan.features),
            jnp.asarray(plan.means), jnp.asarray(scal), jnp.asarray(plan.vs_scale),
            jnp.asarray(plan.vs_bits), jnp.asarray(mask), M=plan.num_silos, K=plan.num_arms,
            d=plan.dim, T=plan.horizon, Bt=plan.batch_size, kb=kb, levels=levels,
            strict=plan.strict, synthetic=plan.synthetic)
        regret = np.asarray(regret, dtype=np.float64)
        clip = np.asarray(clip)
        min_eig = float(min_eig)
    if progress:
        print(f"bandits: round {plan.horizon}/{plan.horizon} (jax)", file=sys.stderr,
              flush=True)
    return KernelOutput(regret, int(clip[0]), int(clip[1]), min_eig)
