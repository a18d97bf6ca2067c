"""numba kernel for the federated bandit simulation (the per-round hot loop).

Between two synchronisations the silos are independent (they share only the broadcast
(Ṽ, ũ), fixed within a batch), so one compiled call (:func:`_batch`, ``cache=True``,
``nogil=True``) runs all rounds of a batch for a block of silos: contexts (synthetic
instance), LinUCB scores, Sherman–Morrison updates of V_i⁻¹, rewards, clipping and the
vector-sum randomized rounding, each step a small compiled helper. Its inputs are grouped in
four records: the instance (:class:`_Instance`), the bounds (:class:`_Bounds`), the learner's
arrays (:class:`_Learner`), the vector sum's (:class:`_VectorSum`), and the block's outputs
(:class:`_Tally`). The silos are split into a fixed number of blocks (at most ``_BLOCKS``),
each with its own ``numpy.random.Generator`` spawned from the caller's; the blocks run on a
thread pool (the GIL is released), so the result depends on the seed only, never on the
number of threads. The numba calls use the Generator's ziggurat normals.

Per silo-round the UCB width ‖x‖²_{V⁻¹} is computed for all K arms at once as ‖Cᵀx‖² with
V⁻¹ = C Cᵀ (Cholesky, d³/6 flops), arms laid out along the contiguous axis so the K-loop
vectorises: d(d+1)/2 multiply-adds per arm instead of d².

Synchronisations (tree release, privacy noise, λI + Ṽ inverse) run in numpy through the
reference's server (the ``sync`` argument, :func:`.reference.sync_step`) with the caller's
Generator, so the privacy noise is drawn by the same code. Same law as the reference, not
the same bits. [ZC24] Zhou & Chowdhury, ICLR 2024.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
from numba import njit

from .. import _dyadic
from .params import PROTOCOL_CODE, KernelOutput, KernelPlan, SyncFn

__all__ = ["simulate"]

_BLOCKS = 8  # fixed silo partition (results do not depend on the thread count)


class _Instance(NamedTuple):
    """The environment as the kernel reads it (see :class:`.params.KernelPlan`)."""

    synthetic: bool
    theta: np.ndarray  # (d,)
    basis: np.ndarray  # (min(K, d), d)
    features: np.ndarray  # (T, M, K, d)
    means: np.ndarray  # (T, M, K)
    noise_std: float
    num_arms: int


class _Bounds(NamedTuple):
    feature: float  # L: chosen features are rescaled to norm ≤ L
    reward: float  # B: rewards are clipped to [−B, B]
    coordinate: float  # c: the vector sum's coordinate bound


class _Learner(NamedTuple):
    """Shared by the blocks; a block writes only its own silos' rows of Vinv, W, U."""

    Vinv: np.ndarray  # (M, d, d) V_i⁻¹ (strict: row 0 is the private one, read only)
    W: np.ndarray  # (M, d, d) Gram increments since the last sync
    U: np.ndarray  # (M, d) vector increments since the last sync
    ut: np.ndarray  # (d,) private prefix vector ũ
    beta: np.ndarray  # (T,) confidence radius
    strict: bool


class _VectorSum(NamedTuple):
    levels: np.ndarray  # int64: the tree levels receiving this batch's users (empty: none)
    scale: np.ndarray  # (levels,) fixed-point scale g per level
    resid: np.ndarray  # (levels, d(d+1)/2 + d) this block's rounding residual sums


class _Tally(NamedTuple):
    counts: np.ndarray  # (2,) clipped rewards, clipped features
    regret: np.ndarray  # regret[t − t0] += this block's regret at round t


@njit(cache=True, nogil=True)
def _contexts(gen, inst, t, i, F, mu, z):  # pragma: no cover - compiled
    """Round t's arms of silo i into F (d, K) and their mean rewards into mu (K,)."""
    d, K = F.shape
    if inst.synthetic:
        nb = inst.basis.shape[0]
        for k in range(K):
            if k < nb:
                for q in range(d):
                    F[q, k] = inst.basis[k, q]
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
            tq = inst.theta[q]
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
            mu[k] = inst.means[t, i, k]
            for q in range(d):
                F[q, k] = inst.features[t, i, k, q]


@njit(cache=True, nogil=True)
def _cholesky(A, C):  # pragma: no cover - compiled
    """C ← the lower Cholesky factor of the symmetric PSD A (a zero pivot: a zero column)."""
    d = A.shape[0]
    for r in range(d):
        s = A[r, r]
        for m in range(r):
            s -= C[r, m] * C[r, m]
        piv = np.sqrt(s) if s > 0.0 else 0.0
        C[r, r] = piv
        for q in range(r + 1, d):
            s = A[q, r]
            for m in range(r):
                s -= C[q, m] * C[r, m]
            C[q, r] = s / piv if piv > 0.0 else 0.0


@njit(cache=True, nogil=True)
def _ucb_arm(F, th, C, beta_t, sc, w, z):  # pragma: no cover - compiled
    """The first arm maximising ⟨x, θ̂⟩ + β‖Cᵀx‖ over the columns x of F."""
    d, K = F.shape
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
    for k in range(K):
        v = sc[k] + beta_t * np.sqrt(w[k])
        if v > best:
            best = v
            arm = k
    return arm


@njit(cache=True, nogil=True)
def _observe(gen, F, mu, arm, bounds, noise_std, x, counts):  # pragma: no cover - compiled
    """x ← the chosen feature rescaled to norm ≤ L; returns its reward clipped to [−B, B]."""
    d = x.shape[0]
    L = bounds.feature
    B = bounds.reward
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
    return y


@njit(cache=True, nogil=True)
def _update(x, y, W, U, Vinv, sherman_morrison, xv):  # pragma: no cover - compiled
    """One silo's statistics W += xxᵀ, U += xy and (unless strict) V⁻¹ ← (V + xxᵀ)⁻¹."""
    d = x.shape[0]
    for q in range(d):
        U[q] += x[q] * y
        for r in range(d):
            W[q, r] += x[q] * x[r]
    if sherman_morrison:
        den = 1.0
        for q in range(d):
            s = 0.0
            for r in range(d):
                s += Vinv[q, r] * x[r]
            xv[q] = s
            den += s * x[q]
        for q in range(d):
            for r in range(d):
                Vinv[q, r] -= xv[q] * xv[r] / den


@njit(cache=True, nogil=True)
def _round_residuals(gen, x, y, c, vs):  # pragma: no cover - compiled
    """The vector sum's randomized rounding of (triu(xxᵀ), xy) at every receiving level:
    resid[j] += Bernoulli(frac) − frac per coordinate, fixed point (v + c)·g_j/c."""
    d = x.shape[0]
    for jj in range(vs.levels.shape[0]):
        j = vs.levels[jj]
        g = vs.scale[j]
        col = 0
        for q in range(d):
            for r in range(q, d):
                v = (x[q] * x[r] + c) * g / c
                f = v - np.floor(v)
                bit = 1.0 if gen.random() < f else 0.0
                vs.resid[j, col] += bit - f
                col += 1
        for q in range(d):
            v = (x[q] * y + c) * g / c
            f = v - np.floor(v)
            bit = 1.0 if gen.random() < f else 0.0
            vs.resid[j, col] += bit - f
            col += 1


@njit(cache=True, nogil=True)
def _batch(gen, silos, rounds, inst, bounds, learner, vs, tally):  # pragma: no cover - compiled
    """Rounds [t0, t1) for silos [i0, i1) (``rounds``, ``silos``): tally.regret[t − t0] +=
    this block's regret at round t; the learner's rows, vs.resid and tally.counts updated."""
    i0, i1 = silos
    t0, t1 = rounds
    Vinv, W, U, ut = learner.Vinv, learner.W, learner.U, learner.ut
    strict = learner.strict
    d = Vinv.shape[1]
    K = inst.num_arms
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
            _contexts(gen, inst, t, i, F, mu, z)
            # θ̂ = V⁻¹(ũ + U_i) and V⁻¹ = C Cᵀ (strict: V⁻¹ is fixed within the batch)
            for q in range(d):
                bvec[q] = ut[q] + (0.0 if strict else U[i, q])
            for q in range(d):
                s = 0.0
                for r in range(d):
                    s += Vinv[vi, q, r] * bvec[r]
                th[q] = s
            if not (strict and have_chol):
                _cholesky(Vinv[vi], C)
                have_chol = True
            arm = _ucb_arm(F, th, C, learner.beta[t], sc, w, z)
            mx = -np.inf
            for k in range(K):
                if mu[k] > mx:
                    mx = mu[k]
            tally.regret[t - t0] += mx - mu[arm]
            y = _observe(gen, F, mu, arm, bounds, inst.noise_std, x, tally.counts)
            _update(x, y, W[i], U[i], Vinv[i], not strict, xv)
            _round_residuals(gen, x, y, bounds.coordinate, vs)


def _blocks(M: int) -> list[tuple[int, int]]:
    edges = np.linspace(0, M, min(M, _BLOCKS) + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]


def simulate(plan: KernelPlan, rng: np.random.Generator, sync: SyncFn, progress: bool,
             threads: int | None = None) -> KernelOutput:
    """numba backend of :func:`dpkit.mechanisms.bandits.simulate` (same law as numpy).

    ``sync``: the server (:func:`.reference.sync_step`), called after each full batch.
    ``threads``: worker threads for the silo blocks (default: the CPU count, at most
    ``_BLOCKS``); the result does not depend on it.
    """
    M, K, d, T, Bt = plan.num_silos, plan.num_arms, plan.dim, plan.horizon, plan.batch_size
    kb, lam = plan.num_batches, plan.regularization
    inst = _Instance(plan.synthetic, plan.theta, plan.basis, plan.features, plan.means,
                     plan.noise_std, K)
    bounds = _Bounds(plan.feature_bound, plan.reward_bound, plan.coordinate_bound)
    vs_on = plan.protocol_code == PROTOCOL_CODE["shuffle_vector_sum"]
    Vinv = np.broadcast_to(np.eye(d) / lam, (M, d, d)).copy()
    W = np.zeros((M, d, d))
    U = np.zeros((M, d))
    ut = np.zeros(d)
    blocks = _blocks(M)
    nbk = len(blocks)
    seeds = np.random.SeedSequence(rng.integers(0, 2**63, size=4).tolist()).spawn(nbk)
    gens = [np.random.Generator(np.random.PCG64(s)) for s in seeds]
    counts = np.zeros((nbk, 2))  # clipped y, clipped x
    resid = np.zeros((nbk, plan.levels, d * (d + 1) // 2 + d))
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
            learner = _Learner(Vinv, W, U, np.ascontiguousarray(ut, dtype=float), plan.beta,
                               plan.strict)

            def job(b: int, t0: int = t, t1: int = t_end, lv: np.ndarray = levels_now,
                    ln: _Learner = learner, rg: np.ndarray = reg) -> None:
                _batch(gens[b], blocks[b], (t0, t1), inst, bounds, ln,
                       _VectorSum(lv, plan.vs_scale, resid[b]), _Tally(counts[b], rg[b]))

            if pool is None:
                for b in range(nbk):
                    job(b)
            else:
                for f in [pool.submit(job, b) for b in range(nbk)]:
                    f.result()
            inc[t:t_end] = reg[:, : t_end - t].sum(axis=0)
            t = t_end
            if batch <= kb and t == batch * Bt:
                Vt, ut, ev = sync(batch, W.sum(axis=0), U.sum(axis=0), resid.sum(axis=0))
                resid[:] = 0.0
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
    return KernelOutput(np.cumsum(inc), int(counts[:, 0].sum()), int(counts[:, 1].sum()),
                        min_eig)
