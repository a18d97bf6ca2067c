"""Tests of dpkit.mechanisms.bandits.privacy: tree, sensitivity, calibration, the statement.

Paper: Zhou & Chowdhury, ICLR 2024 [ZC24]; spec /work/shared/specs/fed_bandits.md §9.
Statistical tests use fixed seeds; their false-alarm rates are stated where they apply.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from dpkit.accounting import REPLACE_ONE, Accountant, Gaussian, Repeated, zcdp_to_epsilon
from dpkit.mechanisms import bandits as B
from dpkit.mechanisms.bandits import privacy as P


def ldp(eps: float = 1.0, delta: float = 1e-5, **kw) -> B.BanditParams:
    base = dict(num_silos=10, num_arms=100, dim=10, horizon=10_000, batch_size=25)
    base.update(kw)
    return B.BanditParams(**base, protocol="silo_ldp", epsilon=eps, delta=delta)


# ============================================================================ tree
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
    # calibrated with the accountant's default (method="auto": the smaller of the RDP and
    # PLD bounds): its epsilon is at the target (within the PLD search's 0.5 %), never above
    got = Accountant().compose(ev).epsilon(delta)
    assert got <= eps * (1 + 1e-9)
    assert got >= eps * (1 - 5e-3)
    got_rdp = Accountant().compose(ev).epsilon(delta, method="rdp")
    assert got <= got_rdp
    # dp-accounting's RDP accountant, n_lvl-fold Gaussian of multiplier σ₀/Δ: never below
    # dpkit's RDP value
    acc = dpa.rdp.RdpAccountant()
    acc.compose(dpa.SelfComposedDpEvent(dpa.GaussianDpEvent(sigma0 / delta_s), lev))
    assert acc.get_epsilon(delta) >= got_rdp * (1 - 1e-6)
    assert acc.get_epsilon(delta) <= got_rdp * 1.2
    # the exact zCDP conversion of the same rho (continuous order) is not above the RDP value
    assert zcdp_to_epsilon(rho, delta).value <= got_rdp * (1 + 1e-6)
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
