"""Empirical audit of the silo-level tree release of dpkit.mechanisms.bandits.

Method: dpkit.audit (docs/audit.md), β = 1e-6. Worst case of the proof (spec §9.3): two
streams of one silo that differ in one user placed at leaf 1, which is covered by all n_lvl
released nodes. The user's (x, y) is (e₁, 1) and the neighbour's (u, −1) with u the unit vector
at the angle maximising the joint distance ‖(triu(xxᵀ−uuᵀ), x·1 − u·(−1))‖. All node outputs
are released; the statistic is the sum over the covering nodes of the projection on that
difference (the Neyman–Pearson statistic, a sufficient one). 10^6 releases per side.

* Honest: σ₀ = z·Δ calibrated by the accountant for (ε, δ) = (2, 1e-3): ε_lb ≤ claimed ε.
* Twin: the released code's σ₀ = L√(n_lvl(log(1/δ)+ε))/ε for the same claim (√12 too small
  against the sufficient rule): the audit must exceed the claim.
"""

from __future__ import annotations

import math

import numpy as np

from dpkit.accounting import Accountant
from dpkit.audit import audit_mechanism
from dpkit.mechanisms import bandits as B
from dpkit.mechanisms.bandits import privacy as P

BETA = 1e-6
N = 1_000_000
EPS, DELTA = 2.0, 1e-3
KB, D = 4, 2  # 4 leaves -> 3 levels; d = 2 -> 3 Gram + 2 vector coordinates


def _worst_pair() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a = np.linspace(0, math.pi, 20001)
    c, s = np.cos(a), np.sin(a)
    f = (1 - c * c) ** 2 + (c * s) ** 2 + s**4 + (1 + c) ** 2 + s**2
    best = a[np.argmax(f)]
    u = np.array([math.cos(best), math.sin(best)])
    x = np.array([1.0, 0.0])
    iu = np.triu_indices(D)
    diff = np.concatenate([(np.outer(x, x) - np.outer(u, u))[iu], x * 1.0 - u * (-1.0)])
    return x, u, diff


def _sampler(sigma: float, direction: np.ndarray):
    iu = np.triu_indices(D)
    cover = [k - 1 for k in P.covering_nodes(1, KB)]

    def sample(user: tuple[np.ndarray, float], n: int, g: np.random.Generator) -> np.ndarray:
        x, y = user
        G = np.zeros((KB, D, D))
        u = np.zeros((KB, D))
        G[0], u[0] = np.outer(x, x), x * y  # the user sits in leaf 1; the rest is fixed
        G[1:] = np.eye(D) * 0.3
        u[1:] = 0.1
        out = []
        for chunk in range(0, n, 250_000):
            m = min(250_000, n - chunk)
            ng, nu, _, _ = B.tree_release(G, u, sigma, g, size=m)
            flat = np.concatenate([ng[:, :, iu[0], iu[1]], nu], axis=2)  # (m, Kb, 5)
            out.append((flat[:, cover, :] @ direction).sum(axis=1))
        return np.concatenate(out)

    return sample


def test_tree_release_audit_and_miscalibrated_twin() -> None:
    x, u, diff = _worst_pair()
    assert np.linalg.norm(diff) <= math.sqrt(6)
    direction = diff / np.linalg.norm(diff)
    levels = P.num_levels(KB)
    z = P.ldp_noise_multiplier(EPS, DELTA, levels)
    sensitivity = P.joint_sensitivity(1.0, 1.0)
    claimed = Accountant().compose(B.privacy_event(
        B.BanditParams(1, 2, D, KB, 1, "silo_ldp", epsilon=EPS, delta=DELTA))).epsilon(DELTA)
    assert claimed <= EPS * (1 + 1e-9)
    honest = audit_mechanism(_sampler(z * sensitivity, direction), (x, 1.0), (u, -1.0), N,
                             rng=7, delta=DELTA, beta=BETA)
    assert honest.epsilon_lower_bound <= claimed
    assert honest.epsilon_lower_bound >= 0.35 * claimed  # the audit sees the mechanism
    twin_sigma = P.legacy_code_sigma_ldp(EPS, DELTA, levels)
    twin = audit_mechanism(_sampler(twin_sigma, direction), (x, 1.0), (u, -1.0), N, rng=8,
                           delta=DELTA, beta=BETA)
    assert twin.epsilon_lower_bound > claimed
    print(f"claimed {claimed:.3f}, honest eps_lb {honest.epsilon_lower_bound:.3f}, "
          f"twin eps_lb {twin.epsilon_lower_bound:.3f}")
