"""Tests of dpkit.mechanisms.bandits: tree, calibration, privacy statement, simulation.

Paper: Zhou & Chowdhury, ICLR 2024 [ZC24]; spec /work/shared/specs/fed_bandits.md §9.
Statistical tests use fixed seeds; their false-alarm rates are stated where they apply.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy import stats

from dpkit.accounting import REPLACE_ONE, Accountant, Gaussian, Repeated, zcdp_to_epsilon
from dpkit.errors import DPKitError
from dpkit.mechanisms import bandits as B
from dpkit.mechanisms.bandits import privacy as P


def ldp(eps: float = 1.0, delta: float = 1e-5, **kw) -> B.BanditParams:
    base = dict(num_silos=10, num_arms=100, dim=10, horizon=10_000, batch_size=25)
    base.update(kw)
    return B.BanditParams(**base, protocol="silo_ldp", epsilon=eps, delta=delta)


# ============================================================================ tree, exact
@pytest.mark.parametrize("kb", [1, 7, 8, 400, 1000])
def test_tree_structure(kb: int) -> None:
    levels = P.num_levels(kb)
    assert levels == math.floor(math.log2(kb)) + 1
    cover = {leaf: P.covering_nodes(leaf, kb) for leaf in range(1, kb + 1)}
    assert max(len(c) for c in cover.values()) == levels  # enumerated, as fed into rho
    assert len(cover[1]) == levels  # leaf 1 is the worst case
    for k in range(1, kb + 1):
        nodes = P.prefix_nodes(k)
        assert len(nodes) == bin(k).count("1")  # popcount(k) nodes per prefix sum
        # the nodes' intervals (n - lowbit(n), n] tile (0, k] exactly
        covered = sorted(leaf for n in nodes for leaf in range(n - (n & -n) + 1, n + 1))
        assert covered == list(range(1, k + 1))
    for leaf, nodes in cover.items():  # covering = nodes whose interval holds the leaf
        brute = [n for n in range(1, kb + 1) if n - (n & -n) < leaf <= n]
        assert nodes == brute


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


# ============================================================================ sensitivity
def test_sensitivity_brute_force() -> None:
    """Brute-force sup of ‖triu(xxᵀ−x'x'ᵀ)‖ (→ √2 at x ⊥ x') and of the joint norm (≤ √6)."""
    rng = np.random.default_rng(3)
    d = 4
    x = rng.standard_normal((200_000, d))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    xp = rng.standard_normal((200_000, d))
    xp /= np.linalg.norm(xp, axis=1, keepdims=True)
    iu = np.triu_indices(d)
    diff = (np.einsum("nd,ne->nde", x, x) - np.einsum("nd,ne->nde", xp, xp))[:, iu[0], iu[1]]
    gram = np.linalg.norm(diff, axis=1)
    assert gram.max() <= P.gram_sensitivity(1.0) + 1e-12
    assert gram.max() > 0.97 * math.sqrt(2)
    y, yp = rng.uniform(-1, 1, (2, 200_000))
    joint = np.sqrt(gram**2 + np.sum((x * y[:, None] - xp * yp[:, None]) ** 2, axis=1))
    assert joint.max() <= P.joint_sensitivity(1.0, 1.0) + 1e-12
    assert P.joint_sensitivity(1.0, 1.0) == pytest.approx(math.sqrt(6))
    assert P.joint_sensitivity(2.0, 0.5) == pytest.approx(math.sqrt(2 * 16 + 4 * 4 * 0.25))


# ============================================================================ privacy statement
@pytest.mark.parametrize("eps,delta", [(0.5, 1e-5), (1.0, 1e-5), (8.0, 1e-6), (0.2, 0.1)])
def test_ldp_event_matches_independent_computation(eps: float, delta: float) -> None:
    import dp_accounting as dpa

    p = ldp(eps, delta)
    ev = p.privacy_event()
    sigma0, lev, delta_s = p.node_sigma, p.levels, p.sensitivity
    assert ev == Repeated(Gaussian(sigma0 / delta_s, relation=REPLACE_ONE), lev)
    assert ev.relation == "replace_one"
    # rho from the tree's sensitivity: n_lvl·Δ²/(2σ₀²)
    rho = lev * delta_s**2 / (2 * sigma0**2)
    orders = np.array([1.5, 2.0, 10.0, 100.0])
    np.testing.assert_allclose(ev.rdp(orders), rho * orders, rtol=1e-12)
    # calibrated: the accountant's epsilon is at the target (within rtol) and never above
    got = Accountant().compose(ev).epsilon(delta)
    assert got <= eps * (1 + 1e-9)
    assert got >= eps * (1 - 1e-4)
    # dp-accounting's RDP accountant, n_lvl-fold Gaussian of multiplier σ₀/Δ: never below ours
    acc = dpa.rdp.RdpAccountant()
    acc.compose(dpa.SelfComposedDpEvent(dpa.GaussianDpEvent(sigma0 / delta_s), lev))
    assert acc.get_epsilon(delta) >= got * (1 - 1e-6)
    assert acc.get_epsilon(delta) <= got * 1.2
    # the exact zCDP conversion of the same rho is not above the target either
    assert zcdp_to_epsilon(rho, delta).value <= eps * (1 + 1e-6)
    # the simple sufficient rule σ₀² = 2 n_lvl Δ² (log(1/δ)+ε)/ε² needs at least as much noise
    simple = math.sqrt(2 * lev * delta_s**2 * (math.log(1 / delta) + eps)) / eps
    assert sigma0 <= simple


def test_legacy_code_sigma_is_sqrt12_too_small() -> None:
    eps, delta, lev = 1.0, 1e-5, 9
    code = P.legacy_code_sigma_ldp(eps, delta, lev)
    simple = math.sqrt(2 * lev * 6 * (math.log(1 / delta) + eps)) / eps
    assert simple / code == pytest.approx(math.sqrt(12))


def test_amplification_sigma_formula_and_scaling() -> None:
    eps, delta, lev, T, D = 1.0, 1e-4, 9, 10_000, math.sqrt(6)
    for M in (10, 100, 1000):
        s = P.amplification_sigma(eps, delta, lev, M, T, D)
        ref = D * math.sqrt(lev * math.log(1 / delta) * math.log(1 + lev / (T * delta))
                            * math.log(M * lev / delta)) / (eps * math.sqrt(M))
        assert s == pytest.approx(ref, rel=1e-12)
    p = B.BanditParams(100, 100, 10, 10_000, 25, "shuffle_amplification", epsilon=1.0,
                       delta=1e-4)
    q = B.BanditParams(100, 100, 10, 10_000, 25, "silo_ldp", epsilon=1.0, delta=1e-4)
    assert p.aggregate_noise_std < q.aggregate_noise_std  # SDP: less total noise at M = 100
    ev = p.privacy_event()  # the sound silo-level statement at the actual (smaller) σ₀
    assert ev == Repeated(Gaussian(p.node_sigma / p.sensitivity, relation=REPLACE_ONE), 9)
    assert Accountant().compose(ev).epsilon(1e-4) > 1.0  # no amplification credit taken
    claim = B.claimed_event(p)
    assert (claim.epsilon, claim.delta) == (1.0, 1e-4)


def test_vector_sum_claim_is_opaque_and_noise_central() -> None:
    p = B.BanditParams(100, 100, 10, 10_000, 25, "shuffle_vector_sum", epsilon=1.0, delta=1e-4)
    ev = p.privacy_event()
    assert isinstance(ev, B.ShuffleClaim) and ev.relation == "replace_one"
    assert np.all(np.isinf(ev.rdp([2.0, 10.0])))
    assert math.isinf(Accountant().compose(ev).epsilon(1e-5))  # never an understatement
    from dpkit.accounting import event_from_dict

    assert event_from_dict(ev.to_dict()) == ev
    # parameters of the released code; node noise std independent of the node's user count
    g, b, pp = P.vector_sum_parameters(1.0, 1e-4, 10, 2500)
    assert (g, pp) == (100.0, 0.25)
    assert b == pytest.approx(100.0**2 * math.log(100 / 1e-4) ** 2 / 2500)
    s0, s8 = P.vector_sum_node_std(p, 0), P.vector_sum_node_std(p, 8)
    assert s8 == pytest.approx(s0, rel=0.05)
    q = B.BanditParams(100, 100, 10, 10_000, 25, "silo_ldp", epsilon=1.0, delta=1e-4)
    assert p.aggregate_noise_std < q.aggregate_noise_std


def test_none_protocol_event_is_vacuous() -> None:
    p = B.BanditParams(2, 3, 2, 10, 5, "none")
    assert math.isinf(Accountant().compose(p.privacy_event()).epsilon(1e-5))


# ============================================================================ validation
@pytest.mark.parametrize("kw,name", [
    (dict(protocol="fancy"), "protocol"),
    (dict(num_silos=0), "num_silos"),
    (dict(batch_size=20), "batch_size"),
    (dict(epsilon=-1.0), "epsilon"),
    (dict(epsilon=float("nan")), "epsilon"),
    (dict(delta=1.0), "delta"),
    (dict(delta=None), "delta"),
    (dict(feature_bound=0.0), "feature_bound"),
    (dict(reward_bound=float("inf")), "reward_bound"),
    (dict(alpha=0.0), "alpha"),
    (dict(lambda_rule="big"), "lambda_rule"),
])
def test_bad_params_named(kw: dict, name: str) -> None:
    base = dict(num_silos=2, num_arms=3, dim=2, horizon=10, batch_size=5, protocol="silo_ldp",
                epsilon=1.0, delta=1e-5)
    base.update(kw)
    with pytest.raises(DPKitError, match=name):
        B.BanditParams(**base)


def test_none_refuses_epsilon() -> None:
    with pytest.raises(DPKitError, match="epsilon"):
        B.BanditParams(2, 3, 2, 10, 5, "none", epsilon=1.0)


def test_environment_mismatch_and_rng() -> None:
    env = B.synthetic_environment(3, 4, 2, 50, 0)
    with pytest.raises(DPKitError, match="environment"):
        B.simulate(B.BanditParams(3, 4, 3, 50, 5, "none"), env, 0)
    with pytest.raises(DPKitError, match="backend"):
        B.simulate(B.BanditParams(2, 4, 3, 50, 5, "none"), env, 0, backend="gpu")


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


# ============================================================================ continual tree
@pytest.mark.parametrize("protocol", ["silo_ldp", "shuffle_amplification"])
def test_tree_counter_same_statement_as_bandit_event(protocol: str) -> None:
    """The continual tree carrying the node noise has σ₀ per coordinate, n_lvl levels and the
    same ρ = n_lvl·Δ²/(2σ₀²) as the bandits' own event (a second, independent formula)."""
    p = B.BanditParams(4, 10, 3, 1000, 7, protocol, epsilon=1.0, delta=1e-5)
    cp = B._tree_counter(p)
    assert cp.kind == "tree" and cp.horizon == p.num_batches
    assert cp.levels == p.levels == 8  # Kb = 142
    assert cp.noise_std == pytest.approx(p.node_sigma, rel=1e-12)
    assert cp.dimension == 4 * (6 + 3)
    orders = np.array([1.5, 2.0, 8.0, 64.0])
    np.testing.assert_allclose(cp.privacy_event().rdp(orders), p.privacy_event().rdp(orders),
                               rtol=1e-12)
    rho = p.levels * p.sensitivity**2 / (2 * p.node_sigma**2)
    assert cp.rho == pytest.approx(rho, rel=1e-12)


def test_sync_noise_variance_is_popcount_times_silos() -> None:
    """Ṽ − V and ũ − u at batch k: i.i.d. entries of variance popcount(k)·M·σ₀² (the M silos'
    trees summed), symmetric Gram noise. χ² test on the sample variance, n = 2000, two-sided,
    level 1e-4 per check (9 checks: false-alarm rate ≤ 9e-4; fixed seed)."""
    M, d, kb, n = 3, 2, 13, 2000
    p = B.BanditParams(M, 2, d, kb, 1, "silo_ldp", epsilon=1.0, delta=1e-5,
                       regularization=1e6)
    rng = np.random.default_rng(17)
    checks = (1, 7, 13)
    out = {k: [] for k in checks}
    for _ in range(n):
        st = B._SyncState.new(p.levels, d, p)
        for k in range(1, kb + 1):
            Vt, ut, _ = B._sync(p, st, np.zeros((d, d)), np.zeros(d), k, rng)
            if k in out:
                assert np.array_equal(Vt, Vt.T)
                out[k].append((Vt[0, 0], Vt[0, 1], ut[1]))
    for k in checks:
        var = bin(k).count("1") * M * p.node_sigma**2
        for sample in np.array(out[k]).T:
            stat = (n - 1) * sample.var(ddof=1) / var
            pv = 2 * min(stats.chi2.cdf(stat, n - 1), stats.chi2.sf(stat, n - 1))
            assert pv > 1e-4
