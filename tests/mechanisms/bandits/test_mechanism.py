"""Tests of dpkit.mechanisms.bandits.mechanism: tree_release and simulate (clipping, backends,
schedule, regret, positive definiteness).

Paper: Zhou & Chowdhury, ICLR 2024 [ZC24]; spec /work/shared/specs/fed_bandits.md §9.
Statistical tests use fixed seeds; their false-alarm rates are stated where they apply.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy import stats

from dpkit.errors import DPKitError
from dpkit.mechanisms import bandits as B


def ldp(eps: float = 1.0, delta: float = 1e-5, **kw) -> B.BanditParams:
    base = dict(num_silos=10, num_arms=100, dim=10, horizon=10_000, batch_size=25)
    base.update(kw)
    return B.BanditParams(**base, protocol="silo_ldp", epsilon=eps, delta=delta)


# ============================================================================ tree release
def test_tree_release_noiseless_is_exact() -> None:
    rng = np.random.default_rng(0)
    kb, d = 400, 3
    x = rng.standard_normal((kb, d))
    G = np.einsum("kd,ke->kde", x, x)
    _, _, pg, pu = B.tree_release(G, x, 0.0, rng)
    np.testing.assert_allclose(pg, np.cumsum(G, axis=0), atol=1e-9)
    np.testing.assert_allclose(pu, np.cumsum(x, axis=0), atol=1e-9)


def test_tree_release_variance_is_popcount_sigma2() -> None:
    """Var of a prefix entry = popcount(k)·σ² (Gram diagonal and off-diagonal, vector).

    χ² test on the sample variance, n = 20000 per k, two-sided, level 1e-4 per check (12
    checks: false-alarm rate ≤ 1.2e-3; the seed is fixed).
    """
    kb, d, sigma, n = 13, 2, 1.7, 20_000
    G = np.zeros((kb, d, d))
    u = np.zeros((kb, d))
    _, _, pg, pu = B.tree_release(G, u, sigma, 11, size=n)
    for k in (1, 7, 8, 13):
        var = bin(k).count("1") * sigma**2
        for sample in (pg[:, k - 1, 0, 0], pg[:, k - 1, 0, 1], pu[:, k - 1, 1]):
            stat = (n - 1) * sample.var(ddof=1) / var
            p = 2 * min(stats.chi2.cdf(stat, n - 1), stats.chi2.sf(stat, n - 1))
            assert p > 1e-4
    assert np.array_equal(pg, np.swapaxes(pg, -1, -2))  # symmetric noise


# ============================================================================ simulation
def test_clipping_of_out_of_bound_inputs_is_counted() -> None:
    """Features longer than L and rewards beyond B are clipped before any statistic."""
    rng = np.random.default_rng(0)
    T, M, K, d = 40, 2, 3, 2
    feats = rng.standard_normal((T, M, K, d)) * 3.0  # norms well above L = 1
    means = rng.uniform(-5, 5, (T, M, K))  # beyond B = 1
    env = B.matrix_environment(feats, means)
    p = B.BanditParams(M, K, d, T, 10, "silo_ldp", epsilon=1.0, delta=1e-5)
    for backend in ("numpy", "numba"):
        r = B.simulate(p, env, 1, backend=backend)
        assert r.clipped_features > 0.8 * T * M
        assert r.clipped_rewards > 0.5 * T * M
        assert np.all(np.isfinite(r.regret)) and np.all(np.diff(r.regret) >= -1e-12)
    with pytest.raises(DPKitError, match="features"):
        B.matrix_environment(np.full((T, M, K, d), np.nan), means)


def _scaled_feature_pair(T: int = 60, M: int = 2, K: int = 5, d: int = 3):
    """Unit-norm features and the same features ×3 (all beyond L = 1), means in [−1, 1]."""
    rng = np.random.default_rng(11)
    feats = rng.standard_normal((T, M, K, d))
    feats /= np.linalg.norm(feats, axis=-1, keepdims=True)
    means = rng.uniform(-1, 1, (T, M, K))
    return B.matrix_environment(feats, means), B.matrix_environment(3.0 * feats, means)


def regret_pair(params: B.BanditParams, backend: str, seed: Any) -> tuple[Any, Any]:
    unit, big = _scaled_feature_pair(params.horizon, params.num_silos, params.num_arms,
                                     params.dim)
    return (B.simulate(params, unit, seed, backend=backend),
            B.simulate(params, big, seed, backend=backend))


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_features_are_rescaled_to_l_before_any_statistic(backend: str) -> None:
    """LinUCB's arm choice is invariant to scaling all of a round's features by 3 (both score
    terms are 1-homogeneous; β = 0 so that the all-zero scores before any data tie exactly,
    not up to round-off), so if the chosen x is rescaled to norm L before it enters the
    statistics, the ×3 instance makes exactly the same decisions (same seed, same privacy
    noise draws) as the unit-norm one: equal regret. Were the raw x used, W would be 9× and U
    3× larger and the decisions would differ (checked by hand with the rescaling removed)."""
    p = B.BanditParams(2, 5, 3, 60, 6, "silo_ldp", epsilon=8.0, delta=1e-5, radius=0.0)
    a, b = regret_pair(p, backend, 4)
    assert a.clipped_features == 0 and b.clipped_features == p.horizon * p.num_silos
    np.testing.assert_allclose(a.regret, b.regret, rtol=1e-9, atol=1e-9)
    assert a.regret[-1] > 0  # the instance is not trivial


def test_numpy_and_numba_identical_on_a_deterministic_instance() -> None:
    """No reward noise, no privacy noise: both kernels make the same decisions."""
    rng = np.random.default_rng(5)
    T, M, K, d = 200, 3, 8, 4
    feats = rng.standard_normal((T, M, K, d))
    feats /= np.linalg.norm(feats, axis=-1, keepdims=True)
    feats *= rng.uniform(0.2, 1.0, (T, M, K, 1))  # distinct norms: no ties in the first round
    theta = rng.standard_normal(d) / 2
    env = B.matrix_environment(feats, feats @ theta, noise_std=0.0)
    for strict in (False, True):
        p = B.BanditParams(M, K, d, T, 10, "none", strict=strict)
        a = B.simulate(p, env, 0, backend="numpy").regret
        b = B.simulate(p, env, 0, backend="numba").regret
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


def test_sync_schedule_is_data_independent() -> None:
    """Fixed-batch schedule: sync rounds are the multiples of Bt for any data."""
    p = ldp(num_silos=2, horizon=100, batch_size=7)
    assert p.num_batches == 14
    assert [k * p.batch_size for k in range(1, p.num_batches + 1)] == list(range(7, 99, 7))


def _final(params: B.BanditParams, seeds: range, T: int | None = None) -> np.ndarray:
    env = B.synthetic_environment(params.dim, params.num_arms, params.num_silos,
                                  params.horizon, 2)
    return np.array([B.simulate(params, env, s, backend="numba").regret for s in seeds])


def test_regret_sublinear_and_ordered_by_epsilon() -> None:
    """Synthetic instance (d=10, K=100), M=10, T=2000, 2 seeds (fixed).

    * non-private: fitted slope of log R(t) vs log t over t ∈ [T/10, T] is < 0.7;
    * private regret decreases toward non-private as ε grows (ε = 1 > 8 > 64 > none);
    * time-average regret decreases (R(T)/T < R(T/10)/(T/10)) for every variant.
    """
    T = 2000
    kw = dict(num_silos=10, num_arms=100, dim=10, horizon=T, batch_size=25)
    seeds = range(2)
    runs = {"none": _final(B.BanditParams(**kw, protocol="none"), seeds)}
    for eps in (1.0, 8.0, 64.0):
        runs[eps] = _final(B.BanditParams(**kw, protocol="silo_ldp", epsilon=eps, delta=1e-5),
                           seeds)
    t = np.arange(1, T + 1)
    sel = t >= T // 10
    mean = {k: v.mean(axis=0) for k, v in runs.items()}
    slope = np.polyfit(np.log(t[sel]), np.log(mean["none"][sel]), 1)[0]
    assert slope < 0.7
    finals = [mean[k][-1] for k in (1.0, 8.0, 64.0, "none")]
    assert all(a > b for a, b in zip(finals, finals[1:], strict=False)), finals
    for v in mean.values():
        assert v[-1] / T < v[T // 10 - 1] / (T // 10)


def test_shuffle_protocols_below_ldp_at_many_silos() -> None:
    """M = 100 (few rounds): SDP (either scheme) regret < LDP regret at the same (ε, δ)."""
    kw = dict(num_silos=100, num_arms=20, dim=5, horizon=400, batch_size=10, epsilon=1.0,
              delta=1e-4)
    res = {p: _final(B.BanditParams(**kw, protocol=p), range(2)).mean(axis=0)[-1]
           for p in ("silo_ldp", "shuffle_amplification", "shuffle_vector_sum")}
    assert res["shuffle_amplification"] < res["silo_ldp"]
    assert res["shuffle_vector_sum"] < res["silo_ldp"]


def test_positive_definite_with_safe_lambda() -> None:
    """min eig(λI + Ṽ) ≥ λ/4 on every sync (numpy reference tracks it)."""
    p = ldp(0.5, 1e-5, num_silos=5, num_arms=10, dim=4, horizon=500, batch_size=5)
    env = B.synthetic_environment(4, 10, 5, 500, 1)
    r = B.simulate(p, env, 3, backend="numpy")
    assert r.min_eigenvalue >= r.regularization / 4


def test_strict_mode_runs_and_is_private_statement_same() -> None:
    p = ldp(1.0, 1e-5, num_silos=3, num_arms=10, dim=4, horizon=300, batch_size=10, strict=True)
    env = B.synthetic_environment(4, 10, 3, 300, 1)
    r = B.simulate(p, env, 0, backend="numpy")
    assert r.regret.shape == (300,) and np.all(np.diff(r.regret) >= -1e-12)
    assert p.privacy_event() == ldp(1.0, 1e-5, num_silos=3, num_arms=10, dim=4, horizon=300,
                                    batch_size=10).privacy_event()
