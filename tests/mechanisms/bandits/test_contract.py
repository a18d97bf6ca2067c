"""The mechanism contract (tests/contracts/mechanism.py) for the federated linear bandits
(dpkit.mechanisms.bandits), protocol "silo_ldp", a small synthetic environment.

Law: ``SimulationResult.min_eigenvalue`` of 40 runs, the smallest eigenvalue of λI + Ṽ over
the syncs, Ṽ the released private Gram prefix sums: a continuous statistic of the privacy noise
itself (at ε = 1, σ₀ ≈ 17 against λ ≈ 545), numba / JAX against the numpy reference (KS). The
final regret is insensitive to the noise level at this size (a numba run at ε = 50 is not
caught by it); its law is tested in test_kernels.py.
Audit (the worst case of tests/audit/test_bandits_audit.py, small n): one silo's tree release
(``tree_release``, Kb = 4 leaves, d = 2, σ₀ = ``node_sigma`` for (ε, δ) = (2, 1e-3)); the
neighbours differ in the user at leaf 1 (covered by every level), (e₁, 1) against (u, −1) with u
maximising the distance of the joint statistic; the statistic is the projection of the covering
nodes on that difference (Neyman–Pearson); claim at δ = 1e-3.
Twins: numba run at ε = 50 (λ following ε, and λ held at the ε = 1 value so that only the noise
differs): law test fails; the claim of ε/2: audit fails.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
from hypothesis import strategies as st

from dpkit.accounting import Event
from dpkit.mechanisms.bandits import (
    BanditParams,
    node_sigma,
    privacy_event,
    regularizer,
    simulate,
    synthetic_environment,
    tree_release,
)
from dpkit.mechanisms.bandits.privacy import covering_nodes
from tests.contracts.mechanism import AuditCase, MechanismContract

BAD = st.sampled_from([0, -1, 2.5, "2", None])
#: the audit's tree: Kb leaves (one user per batch), dimension d
KB, D = 4, 2
_IU = np.triu_indices(D)


def worst_pair() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x = e₁ (reward 1) and the unit u (reward −1) maximising ‖(triu(xxᵀ − uuᵀ), x + u)‖;
    returns x, u and the unit difference direction."""
    a = np.linspace(0.0, math.pi, 20001)
    c, s = np.cos(a), np.sin(a)
    best = a[np.argmax((1 - c * c) ** 2 + (c * s) ** 2 + s**4 + (1 + c) ** 2 + s**2)]
    x, u = np.array([1.0, 0.0]), np.array([math.cos(best), math.sin(best)])
    diff = np.concatenate([(np.outer(x, x) - np.outer(u, u))[_IU], x * 1.0 - u * (-1.0)])
    return x, u, diff / np.linalg.norm(diff)


def tree_sampler(sigma: float, direction: np.ndarray) -> Any:
    """``sample((x, y), n, g)``: the statistic on n tree releases with the user in leaf 1."""
    cover = [k - 1 for k in covering_nodes(1, KB)]

    def sample(user: tuple[np.ndarray, float], n: int, g: np.random.Generator) -> np.ndarray:
        x, y = user
        gram, vec = np.zeros((KB, D, D)), np.zeros((KB, D))
        gram[0], vec[0] = np.outer(x, x), x * y
        gram[1:], vec[1:] = np.eye(D) * 0.3, 0.1  # the other users, fixed
        ng, nu, _, _ = tree_release(gram, vec, sigma, g, size=n)
        flat = np.concatenate([ng[:, :, _IU[0], _IU[1]], nu], axis=2)  # (n, Kb, 5)
        return (flat[:, cover, :] @ direction).sum(axis=1)

    return sample


class TestBanditsContract(MechanismContract):
    backends = ("numpy", "numba", "jax")
    law_kind = "continuous"
    law_draws = 40
    wrong_ranks = False

    def params(self) -> BanditParams:
        return BanditParams(2, 3, 2, 8, 2, "silo_ldp", epsilon=1.0, delta=1e-5)

    def bad_params(self) -> list[tuple[dict[str, Any], str]]:
        return [({"num_silos": 0}, "num_silos"), ({"protocol": "x"}, "protocol"),
                ({"horizon": 0}, "horizon"), ({"epsilon": -1.0}, "epsilon")]

    def bad_param_values(self) -> dict[str, st.SearchStrategy[Any]]:
        return {"num_silos": BAD, "num_arms": BAD, "horizon": BAD}

    def data(self, rng: np.random.Generator) -> Any:
        return synthetic_environment(2, 3, 2, 8, rng=int(rng.integers(0, 2**31)))

    def bad_data_makers(self) -> dict[str, Any]:
        env = self.data(np.random.default_rng(0))
        return {"none": lambda draw: None, "str": lambda draw: "env",
                "array": lambda draw: np.zeros((2, 3)),
                "wrong_dim": lambda draw: synthetic_environment(3, 3, 2, 8, rng=0),
                "short": lambda draw: synthetic_environment(2, 3, 2, 4, rng=0),
                "params": lambda draw: env.__class__}

    def release(self, params: BanditParams, data: Any, rng: Any, backend: str) -> Any:
        return simulate(params, data, rng=rng, backend=backend)

    def law_statistic(self, output: Any) -> np.ndarray:
        return np.array([float(output.min_eigenvalue)])

    def privacy_event(self, params: BanditParams) -> Event:
        return privacy_event(params)

    def audit_case(self) -> AuditCase:
        p = BanditParams(1, 2, D, KB, 1, "silo_ldp", epsilon=2.0, delta=1e-3)
        x, u, direction = worst_pair()
        return AuditCase(sampler=tree_sampler(node_sigma(p), direction), x=(x, 1.0),
                         x_prime=(u, -1.0), params=p, delta=1e-3, n=400_000,
                         kind="continuous", min_fraction=0.5, seed=7)

    def twins(self) -> list[tuple[MechanismContract, str]]:
        return [(NumbaAtEpsilon50Twin(), "test_backends_equal_in_law"),
                (NumbaAtEpsilon50SameLambdaTwin(), "test_backends_equal_in_law"),
                (HalfEpsilonClaimTwin(), "test_empirical_audit")]


class NumbaAtEpsilon50Twin(TestBanditsContract):
    """numba runs at ε = 50 instead of the params' ε (σ₀ and the safe λ both follow ε)."""

    backends = ("numpy", "numba")
    hold_lambda = False

    def release(self, params: BanditParams, data: Any, rng: Any, backend: str) -> Any:
        if backend == "numba":
            lam = regularizer(params) if self.hold_lambda else None
            params = replace(params, epsilon=50.0, regularization=lam)
        return simulate(params, data, rng=rng, backend=backend)


class NumbaAtEpsilon50SameLambdaTwin(NumbaAtEpsilon50Twin):
    """numba at ε = 50 with λ held at the honest value: only the privacy noise differs."""

    hold_lambda = True


class HalfEpsilonClaimTwin(TestBanditsContract):
    """The claim of half the ε the noise is calibrated for."""

    def privacy_event(self, params: BanditParams) -> Event:
        assert params.epsilon is not None
        return privacy_event(replace(params, epsilon=params.epsilon / 2))
