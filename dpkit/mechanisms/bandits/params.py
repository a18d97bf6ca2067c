"""Parameters of private federated LinUCB, and the records the backends exchange.

:class:`BanditParams` is validated once, here, at construction; everything downstream takes
checked values. Its derived quantities (Kb, n_lvl, Δ, c) and calibrated views (σ₀, σ_tot, λ,
the event) are properties; the calibration lives in the private ``_privacy_math``, which sits
below this module and reads the params through a structural type (so there is no import
cycle); :mod:`.privacy` re-exports it above this module.
[ZC24] Zhou & Chowdhury, ICLR 2024 (arXiv:2302.13945).

:class:`KernelPlan` and :class:`KernelOutput` are internal: the numbers every backend needs,
derived once from the params and the environment (:func:`.reference.kernel_plan`), and the raw
outputs every backend returns (wrapped into a :class:`.mechanism.SimulationResult`). They let
the kernels (``_numba``, ``_jax``) import this module only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple, TypeAlias

import numpy as np

from ... import _validate as V
from ...accounting.events import Event
from ...errors import DPKitError
from .. import _dyadic
from ._privacy_math import GAUSSIAN_PROTOCOLS as GAUSSIAN_PROTOCOLS
from ._privacy_math import VECTOR_SUM_BIT_PROB as VECTOR_SUM_BIT_PROB
from ._privacy_math import (
    aggregate_noise_std,
    joint_sensitivity_of,
    node_sigma,
    regularizer,
    run_event,
)

__all__ = ["PROTOCOLS", "BanditParams"]

PROTOCOLS = ("none", "silo_ldp", "shuffle_amplification", "shuffle_vector_sum")
#: The kernels' protocol code: 0 no noise, 1 Gaussian tree, 2 vector sum.
PROTOCOL_CODE = {"none": 0, "silo_ldp": 1, "shuffle_amplification": 1, "shuffle_vector_sum": 2}


@dataclass(frozen=True)
class BanditParams:
    """Private federated LinUCB: sizes, protocol, privacy target and learner constants.

    Privacy (replace one user, i.e. one round's (x, y), at one silo): see
    :func:`~dpkit.mechanisms.bandits.privacy_event`. [ZC24], ICLR 2024.

    Args:
        num_silos: M ≥ 1.
        num_arms: K ≥ 1.
        dim: d ≥ 1.
        horizon: T ≥ 1 rounds per silo.
        batch_size: Bt in [1, T], the fixed communication period; Kb = ⌊T/Bt⌋ syncs.
        protocol: "none" | "silo_ldp" | "shuffle_amplification" | "shuffle_vector_sum".
        epsilon: ε > 0 (private protocols only; must be None for "none").
        delta: δ ∈ (0, 1) (private protocols only).
        feature_bound: L > 0; features are clipped to ‖x‖₂ ≤ L.
        reward_bound: B > 0; rewards are clipped to [−B, B].
        param_bound: S > 0, the bound on ‖θ*‖ used in the radius (default √d, as the code).
        noise_scale: R ≥ 0, the reward noise's sub-Gaussian scale used in the radius.
        alpha: α ∈ (0, 1), the failure probability of the radius and of the λ noise bound.
        radius_scale: the code's ``crs`` > 0 multiplying the radius β_t.
        radius: a fixed β ≥ 0 (overrides the formula; tests pin it).
        regularization: a fixed λ > 0 (overrides :func:`.privacy.regularizer`).
        lambda_rule: "safe" (default) or "code"; see :func:`.privacy.regularizer`.
        strict: choose arms from the private statistics only (each user then touches exactly
            one leaf, so adaptive composition needs no realised-stream convention).
        vector_sum_scale: the code's ``scale`` > 0 of the binomial noise count b.

    Raises:
        DPKitError: any field out of range, naming it.

    >>> BanditParams(10, 100, 10, 10_000, 25, "silo_ldp", epsilon=1.0, delta=1e-5).levels
    9
    """

    num_silos: int
    num_arms: int
    dim: int
    horizon: int
    batch_size: int
    protocol: str
    epsilon: float | None = None
    delta: float | None = None
    feature_bound: float = 1.0
    reward_bound: float = 1.0
    param_bound: float | None = None
    noise_scale: float = 0.5
    alpha: float = 0.01
    radius_scale: float = 1.0
    radius: float | None = None
    regularization: float | None = None
    lambda_rule: str = "safe"
    strict: bool = False
    vector_sum_scale: float = 1.0

    def __post_init__(self) -> None:
        s = object.__setattr__
        s(self, "num_silos", V.integer(minimum=1, maximum=100_000, num_silos=self.num_silos))
        s(self, "num_arms", V.integer(minimum=1, maximum=1_000_000, num_arms=self.num_arms))
        s(self, "dim", V.integer(minimum=1, maximum=1000, dim=self.dim))
        s(self, "horizon", V.integer(minimum=1, maximum=10**8, horizon=self.horizon))
        s(self, "batch_size", V.integer(minimum=1, maximum=self.horizon,
                                        batch_size=self.batch_size))
        if self.protocol not in PROTOCOLS:
            raise DPKitError(f"protocol must be one of {PROTOCOLS}, got {self.protocol!r}")
        if self.protocol == "none":
            if self.epsilon is not None or self.delta is not None:
                raise DPKitError("epsilon and delta must be None for protocol 'none' "
                                 f"(got epsilon={self.epsilon!r}, delta={self.delta!r})")
        else:
            if self.epsilon is None or self.delta is None:
                raise DPKitError(f"protocol {self.protocol!r} needs epsilon > 0 and delta in "
                                 f"(0, 1), got epsilon={self.epsilon!r}, delta={self.delta!r}")
            s(self, "epsilon", V.positive(epsilon=self.epsilon))
            s(self, "delta", V.in_range(0.0, 1.0, low_open=True, high_open=True,
                                        delta=self.delta))
        s(self, "feature_bound", V.positive(feature_bound=self.feature_bound))
        s(self, "reward_bound", V.positive(reward_bound=self.reward_bound))
        if self.param_bound is None:
            s(self, "param_bound", math.sqrt(self.dim))
        s(self, "param_bound", V.positive(param_bound=self.param_bound))
        s(self, "noise_scale", V.nonnegative(noise_scale=self.noise_scale))
        s(self, "alpha", V.in_range(0.0, 1.0, low_open=True, high_open=True, alpha=self.alpha))
        s(self, "radius_scale", V.positive(radius_scale=self.radius_scale))
        if self.radius is not None:
            s(self, "radius", V.nonnegative(radius=self.radius))
        if self.regularization is not None:
            s(self, "regularization", V.positive(regularization=self.regularization))
        if self.lambda_rule not in ("safe", "code"):
            raise DPKitError(f"lambda_rule must be 'safe' or 'code', got {self.lambda_rule!r}")
        if not isinstance(self.strict, (bool, np.bool_)):
            raise DPKitError(f"strict must be a bool, got {self.strict!r}")
        s(self, "strict", bool(self.strict))
        s(self, "vector_sum_scale", V.positive(vector_sum_scale=self.vector_sum_scale))

    # ---------------------------------------------------------------- derived quantities
    @property
    def num_batches(self) -> int:
        """Kb = ⌊T/Bt⌋, the number of synchronisations (tree leaves)."""
        return self.horizon // self.batch_size

    @property
    def levels(self) -> int:
        """n_lvl = ⌊log₂ Kb⌋ + 1: the tree levels, the most nodes one user is in."""
        return _dyadic.levels(self.num_batches)

    @property
    def sensitivity(self) -> float:
        """Δ = √(2L⁴ + 4L²B²), one user's ℓ₂ sensitivity (replace-one)."""
        return joint_sensitivity_of(self.feature_bound, self.reward_bound)

    @property
    def coordinate_bound(self) -> float:
        """c = max(L², L·B): every coordinate of xxᵀ and xy lies in [−c, c]."""
        return max(self.feature_bound**2, self.feature_bound * self.reward_bound)

    # ------------------------------------------------------ calibrated (see .privacy)
    @property
    def node_sigma(self) -> float:
        """σ₀, the per-silo node noise std of the Gaussian protocols (0 otherwise)."""
        return node_sigma(self)

    @property
    def aggregate_noise_std(self) -> float:
        """σ_tot, the std bound of each entry of a prefix sum's aggregate noise."""
        return aggregate_noise_std(self)

    @property
    def regularization_value(self) -> float:
        """λ actually used."""
        return regularizer(self)

    def privacy_event(self) -> Event:
        """Same as :func:`dpkit.mechanisms.bandits.privacy_event`."""
        return run_event(self)


class KernelPlan(NamedTuple):
    """What every backend needs, derived once from the params and the environment.

    Sizes and flags, the calibrated constants (λ, σ₀, β_t per round, the vector sum's
    fixed-point scale g and binomial noise bits per tree level) and the environment's arrays
    (synthetic: θ* and the fixed basis arms; matrix: features and mean rewards).
    """

    num_silos: int
    num_arms: int
    dim: int
    horizon: int
    batch_size: int
    num_batches: int
    levels: int
    protocol_code: int  # PROTOCOL_CODE
    strict: bool
    regularization: float  # λ
    node_sigma: float  # σ₀ (Gaussian protocols)
    beta: np.ndarray  # (T,) confidence radius of round t = 1…T
    feature_bound: float  # L
    reward_bound: float  # B
    coordinate_bound: float  # c
    vs_scale: np.ndarray  # (levels,) fixed-point scale g per level (1 without vector sum)
    vs_bits: np.ndarray  # (levels,) binomial noise bits of a node per level (0 without)
    synthetic: bool
    theta: np.ndarray  # (d,) synthetic θ* (zeros for a matrix environment)
    basis: np.ndarray  # (min(K, d), d) synthetic fixed arms ((0, d) for a matrix one)
    features: np.ndarray  # (T, M, K, d) matrix features (a dummy for a synthetic one)
    means: np.ndarray  # (T, M, K) matrix mean rewards (a dummy for a synthetic one)
    noise_std: float  # reward noise std


class KernelOutput(NamedTuple):
    """What every backend returns; :func:`.mechanism.simulate` wraps it into a result."""

    regret: np.ndarray  # (T,) cumulative group regret
    clipped_rewards: int
    clipped_features: int
    min_eigenvalue: float  # smallest eigenvalue of λI + Ṽ over the syncs (λ if none)


#: The server's synchronisation of batch k, as the numba driver calls it:
#: ``sync(k, gram_increment, vec_increment, residual_increment) -> (Ṽ, ũ, min eig)``.
SyncFn: TypeAlias = Callable[[int, np.ndarray, np.ndarray, np.ndarray],
                             tuple[np.ndarray, np.ndarray, float]]
