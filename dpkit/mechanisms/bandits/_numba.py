"""numba kernel for the federated bandit simulation (the per-round hot loop).

Between two synchronisations the silos are independent (they share only the broadcast
(Ṽ, ũ), fixed within a batch), so one compiled call (:func:`_batch`, ``cache=True``,
``nogil=True``) runs all rounds of a batch for a block of silos: contexts (synthetic
instance), LinUCB scores, Sherman–Morrison updates of V_i⁻¹, rewards, clipping and the
vector-sum randomized rounding. The silos are split into a fixed number of blocks (at most
``_BLOCKS``), each with its own ``numpy.random.Generator`` spawned from the caller's; the
blocks run on a thread pool (the GIL is released), so the result depends on the seed only,
never on the number of threads. The numba calls use the Generator's ziggurat normals.

Per silo-round the UCB width ‖x‖²_{V⁻¹} is computed for all K arms at once as ‖Cᵀx‖² with
V⁻¹ = C Cᵀ (Cholesky, d³/6 flops), arms laid out along the contiguous axis so the K-loop
vectorises: d(d+1)/2 multiply-adds per arm instead of d².

Synchronisations (tree release, privacy noise, λI + Ṽ inverse) run in numpy through the same
``_sync`` as the reference, with the caller's Generator, so the privacy noise is drawn by the
same code. Same law as the reference, not the same bits. [ZC24], ICLR 2024.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from numba import njit

from .. import _dyadic
from . import privacy as _priv

_BLOCKS = 8  # fixed silo partition (results do not depend on the thread count)


@njit(cache=True, nogil=True)
def _batch(gen, i0, i1, t0, t1, synthetic, strict, theta, basis, features, means, noise_std,
           beta, L, B, Vinv, W, U, ut, vs_levels, vs_g, c, resid, counts,
           reg):  # pragma: no cover - compiled
    """Rounds [t0, t1) for silos [i0, i1); reg[t − t0] += this block's regret at round t."""
    d = Vinv.shape[1]
    K = int(counts[2])
    nb = basis.shape[0]
    F = np.empty((d, K))  # features, arms along the contiguous axis
    mu = np.empty(K)
    z = np.empty(K)
    w = np.empty(K)
    sc = np.empty(K)
    th = np.empty(d)
    bvec = np.empty(d)
    xv = np.empty(d)
    x = np.empty(d)
    C = np.zeros((d, d))
    for i in range(i0, i1):
        vi = 0 if strict else i
        have_chol = False
        for t in range(t0, t1):
            bt = beta[t]
            # ---- contexts and mean rewards
            if synthetic:
                for k in range(K):
                    if k < nb:
                        for q in range(d):
                            F[q, k] = basis[k, q]
                    else:
                        s = 0.0
                        for q in range(d - 1):
                            g = gen.standard_normal()
                            F[q, k] = g
                            s += g * g
                        inv = 1.0 / np.sqrt(s)
                        for q in range(d - 1):
                            F[q, k] *= inv
                        F[d - 1, k] = 1.0
                for k in range(K):
                    mu[k] = 0.0
                    z[k] = 0.0
                for q in range(d):
                    tq = theta[q]
                    for k in range(K):
                        mu[k] += tq * F[q, k]
                        z[k] += F[q, k] * F[q, k]
                for k in range(K):
                    z[k] = 1.0 / np.sqrt(z[k])
                for q in range(d):
                    for k in range(K):
                        F[q, k] *= z[k]
            else:
                for k in range(K):
                    mu[k] = means[t, i, k]
                    for q in range(d):
                        F[q, k] = features[t, i, k, q]
            # ---- θ̂ = V⁻¹(ũ + U_i) and V⁻¹ = C Cᵀ
            for q in range(d):
                bvec[q] = ut[q] + (0.0 if strict else U[i, q])
            for q in range(d):
                s = 0.0
                for r in range(d):
                    s += Vinv[vi, q, r] * bvec[r]
                th[q] = s
            if not (strict and have_chol):
                for r in range(d):
                    s = Vinv[vi, r, r]
                    for m in range(r):
                        s -= C[r, m] * C[r, m]
                    piv = np.sqrt(s) if s > 0.0 else 0.0
                    C[r, r] = piv
                    for q in range(r + 1, d):
                        s = Vinv[vi, q, r]
                        for m in range(r):
                            s -= C[q, m] * C[r, m]
                        C[q, r] = s / piv if piv > 0.0 else 0.0
                have_chol = True
            # ---- scores for all arms: ⟨x, θ̂⟩ + β ‖Cᵀx‖
            for k in range(K):
                w[k] = 0.0
                sc[k] = 0.0
            for q in range(d):
                tq = th[q]
                for k in range(K):
                    sc[k] += tq * F[q, k]
            for r in range(d):
                for k in range(K):
                    z[k] = 0.0
                for q in range(r, d):
                    cq = C[q, r]
                    for k in range(K):
                        z[k] += cq * F[q, k]
                for k in range(K):
                    w[k] += z[k] * z[k]
            best = -np.inf
            arm = 0
            mx = -np.inf
            for k in range(K):
                v = sc[k] + bt * np.sqrt(w[k])
                if v > best:
                    best = v
                    arm = k
                if mu[k] > mx:
                    mx = mu[k]
            reg[t - t0] += mx - mu[arm]
            # ---- observe, clip, update
            nrm = 0.0
            for q in range(d):
                x[q] = F[q, arm]
                nrm += x[q] * x[q]
            nrm = np.sqrt(nrm)
            if nrm > L:  # rescale any excess (Δ assumes ‖x‖ ≤ L); count beyond round-off
                if nrm > L * (1.0 + 1e-12):
                    counts[1] += 1.0
                for q in range(d):
                    x[q] *= L / nrm
            y = mu[arm] + noise_std * gen.standard_normal()
            if y > B:
                y = B
                counts[0] += 1.0
            elif y < -B:
                y = -B
                counts[0] += 1.0
            for q in range(d):
                U[i, q] += x[q] * y
                for r in range(d):
                    W[i, q, r] += x[q] * x[r]
            if not strict:  # Sherman–Morrison: V_i⁻¹ ← (V_i + x xᵀ)⁻¹
                den = 1.0
                for q in range(d):
                    s = 0.0
                    for r in range(d):
                        s += Vinv[i, q, r] * x[r]
                    xv[q] = s
                    den += s * x[q]
                for q in range(d):
                    for r in range(d):
                        Vinv[i, q, r] -= xv[q] * xv[r] / den
            for jj in range(vs_levels.shape[0]):
                j = vs_levels[jj]
                g = vs_g[j]
                col = 0
                for q in range(d):
                    for r in range(q, d):
                        v = (x[q] * x[r] + c) * g / c
                        f = v - np.floor(v)
                        bit = 1.0 if gen.random() < f else 0.0
                        resid[j, col] += bit - f
                        col += 1
                for q in range(d):
                    v = (x[q] * y + c) * g / c
                    f = v - np.floor(v)
                    bit = 1.0 if gen.random() < f else 0.0
                    resid[j, col] += bit - f
                    col += 1


def _blocks(M: int) -> list[tuple[int, int]]:
    edges = np.linspace(0, M, min(M, _BLOCKS) + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]


def simulate(params: Any, env: Any, rng: np.random.Generator, progress: bool,
             threads: int | None = None) -> Any:
    """numba backend of :func:`dpkit.mechanisms.bandits.simulate` (same law as numpy).

    ``threads``: worker threads for the silo blocks (default: the CPU count, at most
    ``_BLOCKS``); the result does not depend on it.
    """
    from . import (
        SimulationResult,
        SyntheticEnvironment,
        _sync,
        _SyncState,
        confidence_radius,
        regularizer,
    )

    M, K, d, T, Bt = (params.num_silos, params.num_arms, params.dim, params.horizon,
                      params.batch_size)
    lam = regularizer(params)
    beta = np.ascontiguousarray(confidence_radius(params, np.arange(1, T + 1), lam), dtype=float)
    synthetic = isinstance(env, SyntheticEnvironment)
    if synthetic:
        theta, basis = np.ascontiguousarray(env.theta, dtype=float), env.basis()
        features = np.zeros((1, 1, 1, 1))
        means = np.zeros((1, 1, 1))
    else:
        theta, basis = np.zeros(d), np.zeros((0, d))
        features = np.ascontiguousarray(env.features, dtype=float)
        means = np.ascontiguousarray(env.means, dtype=float)
    kb, levels = params.num_batches, params.levels
    st = _SyncState.new(levels, d, params)
    vs_on = params.protocol == "shuffle_vector_sum"
    vs_g = np.array([
        _priv.vector_sum_parameters(params.epsilon, params.delta, d, (1 << j) * M * Bt,
                                    params.vector_sum_scale)[0] if vs_on else 1.0
        for j in range(levels)])
    Vinv = np.broadcast_to(np.eye(d) / lam, (M, d, d)).copy()
    W = np.zeros((M, d, d))
    U = np.zeros((M, d))
    ut = np.zeros(d)
    blocks = _blocks(M)
    nbk = len(blocks)
    seeds = np.random.SeedSequence(rng.integers(0, 2**63, size=4).tolist()).spawn(nbk)
    gens = [np.random.Generator(np.random.PCG64(s)) for s in seeds]
    counts = np.zeros((nbk, 3))  # clipped y, clipped x, K
    counts[:, 2] = K
    resid = np.zeros((nbk, *st.resid.shape))
    reg = np.zeros((nbk, Bt if kb >= 1 else T))
    inc = np.empty(T)
    workers = max(1, min(nbk, threads or (os.cpu_count() or 1)))
    pool = ThreadPoolExecutor(workers) if workers > 1 else None
    min_eig = lam
    t = 0
    batch = 1
    no_levels = np.zeros(0, dtype=np.int64)
    try:
        while t < T:
            t_end = min(batch * Bt, T) if batch <= kb else T
            levels_now = (np.array(_dyadic.covering_levels(batch, kb), dtype=np.int64)
                          if vs_on and batch <= kb else no_levels)
            if reg.shape[1] < t_end - t:
                reg = np.zeros((nbk, t_end - t))
            reg[:] = 0.0
            ut_c = np.ascontiguousarray(ut, dtype=float)

            def job(b: int, t0: int = t, t1: int = t_end, lv: np.ndarray = levels_now,
                    uu: np.ndarray = ut_c, rg: np.ndarray = reg) -> None:
                _batch(gens[b], blocks[b][0], blocks[b][1], t0, t1, synthetic, params.strict,
                       theta, basis, features, means, float(env.noise_std), beta,
                       params.feature_bound, params.reward_bound, Vinv, W, U, uu, lv, vs_g,
                       params.coordinate_bound, resid[b], counts[b], rg[b])

            if pool is None:
                for b in range(nbk):
                    job(b)
            else:
                for f in [pool.submit(job, b) for b in range(nbk)]:
                    f.result()
            inc[t:t_end] = reg[:, : t_end - t].sum(axis=0)
            t = t_end
            if batch <= kb and t == batch * Bt:
                st.resid += resid.sum(axis=0)
                resid[:] = 0.0
                Vt, ut, ev = _sync(params, st, W.sum(axis=0), U.sum(axis=0), batch, rng)
                min_eig = min(min_eig, ev)
                Vinv[:] = np.linalg.inv(lam * np.eye(d) + Vt)
                W[:] = 0.0
                U[:] = 0.0
                batch += 1
            if progress:
                print(f"\rbandits: round {t}/{T}", end="" if t < T else "\n", file=sys.stderr,
                      flush=True)
    finally:
        if pool is not None:
            pool.shutdown()
    regret = np.cumsum(inc)
    return SimulationResult(regret, params, lam, _priv.node_sigma(params),
                            int(counts[:, 0].sum()), int(counts[:, 1].sum()), "numba", min_eig)
