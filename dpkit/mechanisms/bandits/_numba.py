"""numba kernel for the federated bandit simulation (the per-round hot loop).

The rounds between two synchronisations run in :func:`_rounds` (compiled, ``cache=True``):
contexts (synthetic instance), LinUCB scores with V⁻¹, Sherman–Morrison updates, rewards,
clipping, and the vector-sum randomized rounding. Synchronisations (tree release, privacy
noise, λI + Ṽ inverse) run in numpy through the same ``_sync`` as the reference, with the
caller's numpy Generator, so the privacy noise is drawn by the same code. The per-round draws
use numba's generator, seeded from the caller's Generator: same law as the reference, not the
same bits. [ZC24], ICLR 2024.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
from numba import njit

from . import privacy as _priv


@njit(cache=True)
def _seed(s: int) -> None:  # pragma: no cover - compiled
    np.random.seed(s)


@njit(cache=True, fastmath=False)
def _rounds(t0, t1, synthetic, strict, theta, basis, features, means, noise_std, beta,
            L, B, Vinv, W, U, ut, vs_on, vs_levels, vs_g, c, resid, counters,
            regret):  # pragma: no cover - compiled
    M = Vinv.shape[0]
    d = Vinv.shape[1]
    K = int(counters[3])
    nb = basis.shape[0]
    feats = np.empty((K, d))
    mu = np.empty(K)
    th = np.empty(d)
    b = np.empty(d)
    xv = np.empty(d)
    x = np.empty(d)
    total = counters[0]
    for t in range(t0, t1):
        bt = beta[t]
        for i in range(M):
            # ---- contexts and mean rewards
            if synthetic:
                for k in range(K):
                    if k < nb:
                        for q in range(d):
                            feats[k, q] = basis[k, q]
                    else:
                        s = 0.0
                        for q in range(d - 1):
                            z = np.random.standard_normal()
                            feats[k, q] = z
                            s += z * z
                        inv = 1.0 / np.sqrt(s)
                        for q in range(d - 1):
                            feats[k, q] *= inv
                        feats[k, d - 1] = 1.0
                    m = 0.0
                    nrm = 0.0
                    for q in range(d):
                        m += theta[q] * feats[k, q]
                        nrm += feats[k, q] * feats[k, q]
                    mu[k] = m
                    inv = 1.0 / np.sqrt(nrm)
                    for q in range(d):
                        feats[k, q] *= inv
            else:
                for k in range(K):
                    mu[k] = means[t, i, k]
                    for q in range(d):
                        feats[k, q] = features[t, i, k, q]
            # ---- LinUCB
            vi = 0 if strict else i
            for q in range(d):
                b[q] = ut[q] + (0.0 if strict else U[i, q])
            for q in range(d):
                s = 0.0
                for r in range(d):
                    s += Vinv[vi, q, r] * b[r]
                th[q] = s
            best = -np.inf
            arm = 0
            mx = -np.inf
            for k in range(K):
                w = 0.0
                sc = 0.0
                for q in range(d):
                    s = 0.0
                    for r in range(d):
                        s += Vinv[vi, q, r] * feats[k, r]
                    w += s * feats[k, q]
                    sc += th[q] * feats[k, q]
                if w < 0.0:
                    w = 0.0
                sc += bt * np.sqrt(w)
                if sc > best:
                    best = sc
                    arm = k
                if mu[k] > mx:
                    mx = mu[k]
            total += mx - mu[arm]
            # ---- observe, clip, update
            nrm = 0.0
            for q in range(d):
                x[q] = feats[arm, q]
                nrm += x[q] * x[q]
            nrm = np.sqrt(nrm)
            if nrm > L * (1.0 + 1e-12):
                counters[2] += 1.0
                for q in range(d):
                    x[q] *= L / nrm
            y = mu[arm] + noise_std * np.random.standard_normal()
            if y > B:
                y = B
                counters[1] += 1.0
            elif y < -B:
                y = -B
                counters[1] += 1.0
            for q in range(d):
                U[i, q] += x[q] * y
                for r in range(d):
                    W[i, q, r] += x[q] * x[r]
            if not strict:
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
            if vs_on:
                for jj in range(vs_levels.shape[0]):
                    j = vs_levels[jj]
                    g = vs_g[j]
                    col = 0
                    for q in range(d):
                        for r in range(q, d):
                            v = (x[q] * x[r] + c) * g / c
                            f = v - np.floor(v)
                            bit = 1.0 if np.random.random() < f else 0.0
                            resid[j, col] += bit - f
                            col += 1
                    for q in range(d):
                        v = (x[q] * y + c) * g / c
                        f = v - np.floor(v)
                        bit = 1.0 if np.random.random() < f else 0.0
                        resid[j, col] += bit - f
                        col += 1
        regret[t] = total
    counters[0] = total


def simulate(params: Any, env: Any, rng: np.random.Generator, progress: bool) -> Any:
    """numba backend of :func:`dpkit.mechanisms.bandits.simulate` (same law as numpy)."""
    from . import (
        SimulationResult,
        SyntheticEnvironment,
        _level_nodes,
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
        theta, basis = env.theta, env.basis()
        features = np.zeros((1, 1, 1, 1))
        means = np.zeros((1, 1, 1))
    else:
        theta, basis = np.zeros(d), np.zeros((0, d))
        features, means = env.features, env.means
    kb, levels = params.num_batches, params.levels
    st = _SyncState.new(levels, d)
    vs_on = params.protocol == "shuffle_vector_sum"
    vs_g = np.array([
        _priv.vector_sum_parameters(params.epsilon, params.delta, d, (1 << j) * M * Bt,
                                    params.vector_sum_scale)[0] if vs_on else 1.0
        for j in range(levels)])
    Vinv = np.broadcast_to(np.eye(d) / lam, (M, d, d)).copy()
    W = np.zeros((M, d, d))
    U = np.zeros((M, d))
    ut = np.zeros(d)
    counters = np.array([0.0, 0.0, 0.0, float(K)])  # total regret, clipped y, clipped x, K
    regret = np.empty(T)
    _seed(int(rng.integers(0, 2**62)))
    min_eig = lam
    t = 0
    batch = 1
    while t < T:
        t_end = min(batch * Bt, T) if batch <= kb else T
        levels_now = np.array(_level_nodes(batch, kb, levels) if vs_on and batch <= kb else [],
                              dtype=np.int64)
        _rounds(t, t_end, synthetic, params.strict, theta, basis, features, means,
                float(env.noise_std), beta, params.feature_bound, params.reward_bound, Vinv, W,
                U, ut, vs_on and batch <= kb, levels_now, vs_g, params.coordinate_bound,
                st.resid, counters, regret)
        t = t_end
        if batch <= kb and t == batch * Bt:
            Vt, ut, ev = _sync(params, st, W.sum(axis=0), U.sum(axis=0), batch, rng)
            min_eig = min(min_eig, ev)
            Vinv[:] = np.linalg.inv(lam * np.eye(d) + Vt)
            W[:] = 0.0
            U[:] = 0.0
            batch += 1
        if progress:
            print(f"\rbandits: round {t}/{T}", end="" if t < T else "\n", file=sys.stderr,
                  flush=True)
    return SimulationResult(regret, params, lam, _priv.node_sigma(params), int(counters[1]),
                            int(counters[2]), "numba", min_eig)
