"""The mechanism contract (tests/contracts/mechanism.py) for the private KDE structures
(dpkit.mechanisms.kde), ℓ1 exact mode (d = 1, M = 8).

Law: the released tree nodes minus the noise-free sketch (``sketch`` with the structure's public
seed), divided by their noise scales, over 40 builds: i.i.d. Laplace(0, 1) (exact cdf) on every
backend, and numba / JAX against the numpy reference.
Audit (the add/remove worst case of tests/audit/test_kde_audit.py, small n): X = POINTS against
X ∪ {−r} (the new point in the extreme cell moves all L count nodes by 1 and all L sum nodes by
u_max); the statistic is the exact log-likelihood ratio
T = Σ_k (|R_k − S_k(X)| − |R_k − S_k(X')|)/b_k of releases drawn with ``release_noise``, rounded
to 9 decimals and binned by 1/50 (see the audit file: the float leak of continuous Laplace);
claim at δ = 0. The claim is attained at this pair, so ε_lb must reach half of it.
Twins: numba built at 2ε (law test fails); the claim of ε/2 (audit fails).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from hypothesis import strategies as st
from scipy import stats

from dpkit.accounting import Event
from dpkit.mechanisms.kde import (
    KDEParams,
    build,
    noise_scales,
    privacy_event,
    release_noise,
    sketch,
)
from tests.contracts.mechanism import AuditCase, ExactLaw, MechanismContract

POINTS = np.array([[0.3], [-0.5], [0.9], [0.0]])
BAD = st.sampled_from([0.0, -1.0, float("nan"), float("inf"), "1", None])


def flat_nodes(p: KDEParams, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The noise-free count and sum nodes of ``points`` (public seed 0), flat, and the Laplace
    scale of each."""
    sk = sketch(p, points, 0, backend="numpy")
    sc = noise_scales(p, sk.dimension)
    return (np.concatenate([sk.counts.reshape(-1), sk.sums.reshape(-1)]),
            np.concatenate([np.full(sk.counts.size, sc["count"]),
                            np.full(sk.sums.size, sc["sum"])]))


def llr_sampler(p: KDEParams, x: np.ndarray, x_prime: np.ndarray) -> Any:
    """``sample(points, n, g)``: the binned log-likelihood ratio T of n releases of points."""
    s, b = flat_nodes(p, x)
    s_prime, _ = flat_nodes(p, x_prime)
    keep = s != s_prime  # the other nodes cancel in T

    def sample(points: np.ndarray, n: int, g: np.random.Generator) -> np.ndarray:
        sk = sketch(p, points, 0, backend="numpy")
        noise = release_noise(sk, g, n)
        r = (flat_nodes(p, points)[0]
             + np.concatenate([noise["counts"].reshape(n, -1),
                               noise["sums"].reshape(n, -1)], axis=1))[:, keep]
        t = np.sum((np.abs(r - s[keep]) - np.abs(r - s_prime[keep])) / b[keep], axis=1)
        return np.floor(np.round(t, 9) * 50.0).astype(np.int64)

    return sample


class TestKDEContract(MechanismContract):
    backends = ("numpy", "numba", "jax")
    law_kind = "continuous"
    law_draws = 40

    def params(self) -> KDEParams:
        return KDEParams("l1", 1.0, 1.0, dimension=1, size_hint=8)

    def bad_params(self) -> list[tuple[dict[str, Any], str]]:
        return [({"kind": "x"}, "kind"), ({"epsilon": 0.0}, "epsilon"),
                ({"radius": -1.0}, "radius"), ({"relation": "bogus"}, "relation")]

    def bad_param_values(self) -> dict[str, st.SearchStrategy[Any]]:
        return {"epsilon": BAD, "radius": BAD}

    def data(self, rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(-1.0, 1.0, size=(6, 1))

    def extra_bad_data(self) -> list[Any]:
        return [np.ones((3, 2)), "abc", None]

    def release(self, params: KDEParams, data: Any, rng: Any, backend: str) -> Any:
        return build(params, data, rng=rng, backend=backend)

    def law_input(self) -> np.ndarray:
        return POINTS

    def law_statistic(self, output: Any) -> np.ndarray:
        exact = sketch(output.params, POINTS, output.public_seed, backend="numpy")
        counts = (np.asarray(output.counts) - exact.counts) / output.scales["count"]
        sums = (np.asarray(output.sums) - exact.sums) / output.scales["sum"]
        return np.concatenate([counts.reshape(-1), sums.reshape(-1)])

    def exact_law(self, params: KDEParams) -> ExactLaw:
        return ExactLaw(cdf=stats.laplace.cdf)

    def privacy_event(self, params: KDEParams) -> Event:
        return privacy_event(params)

    def audit_case(self) -> AuditCase:
        p = self.params()
        x_prime = np.vstack([POINTS, [[-p.radius]]])
        return AuditCase(sampler=llr_sampler(p, POINTS, x_prime), x=POINTS, x_prime=x_prime,
                         params=p, n=200_000, kind="discrete", min_fraction=0.5)

    def twins(self) -> list[tuple[MechanismContract, str]]:
        return [(DoubleEpsilonBackendTwin(), "test_backends_equal_in_law"),
                (HalfEpsilonClaimTwin(), "test_empirical_audit")]


class DoubleEpsilonBackendTwin(TestKDEContract):
    """numba builds at 2ε (half the noise) while the statistic divides by the ε scales."""

    backends = ("numpy", "numba")

    def release(self, params: KDEParams, data: Any, rng: Any, backend: str) -> Any:
        if backend == "numba":
            return replace(build(replace(params, epsilon=2 * params.epsilon), data, rng=rng,
                                 backend=backend), params=params,
                           scales=build(params, data, rng=0, backend="numpy").scales)
        return build(params, data, rng=rng, backend=backend)


class HalfEpsilonClaimTwin(TestKDEContract):
    """The claim of half the ε the noise is calibrated for."""

    def privacy_event(self, params: KDEParams) -> Event:
        return privacy_event(replace(params, epsilon=params.epsilon / 2))
