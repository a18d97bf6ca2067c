"""The bandit instances :func:`~dpkit.mechanisms.bandits.simulate` runs on (the input data).

A sub-part of the bandits package kept as its own module: environments are neither
parameters nor privacy math, and both the reference and the dispatch read them.
:class:`SyntheticEnvironment` is the synthetic instance of [ZC24]'s experiments (contexts
drawn on the fly from the simulation's rng); :class:`MatrixEnvironment` plugs in any fixed
contexts and mean rewards. [ZC24] Zhou & Chowdhury, ICLR 2024 (arXiv:2302.13945).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ... import _validate as V
from ...errors import DPKitError
from ...random import RNGLike, as_generator
from .params import BanditParams

__all__ = [
    "SyntheticEnvironment",
    "MatrixEnvironment",
    "synthetic_environment",
    "matrix_environment",
]


@dataclass(frozen=True)
class SyntheticEnvironment:
    """The synthetic instance of [ZC24]'s experiments (Fig. 2a/2b), contexts drawn on the fly.

    Each round each silo gets K arms: a uniform unit vector in ℝ^{d−1} with a constant 1
    appended; the first min(K, d) arms are replaced by the fixed basis (identity rows with last
    coordinate 1). θ* = (0.5·uniform unit vector in ℝ^{d−1}, 0.5). The mean reward is ⟨θ*, raw
    feature⟩, but the learner sees the unit-normalised feature (the released code's quirk);
    reward = mean + N(0, noise_std²). Contexts are drawn from ``simulate``'s rng, so the
    8·T·M·K·d bytes of the full context tensor are never stored.
    """

    dim: int
    num_arms: int
    num_silos: int
    horizon: int
    theta: np.ndarray = field(repr=False)
    noise_std: float = 0.5

    def __post_init__(self) -> None:
        V.integer(minimum=2, dim=self.dim)
        th = V.finite_array(theta=self.theta)
        if th.shape != (self.dim,):
            raise DPKitError(f"theta must have shape ({self.dim},), got {th.shape}")
        object.__setattr__(self, "theta", th)
        object.__setattr__(self, "noise_std", V.nonnegative(noise_std=self.noise_std))

    def basis(self) -> np.ndarray:
        """The fixed arms: rows of the identity with last coordinate 1, (min(K, d), d)."""
        b = np.eye(self.dim)
        b[:, -1] = 1.0
        return b[: min(self.num_arms, self.dim)]

    def draw_round(self, rng: np.random.Generator) -> np.ndarray:
        """Raw features of one round, shape (M, K, d)."""
        M, K, d = self.num_silos, self.num_arms, self.dim
        x = rng.standard_normal((M, K, d - 1))
        x /= np.linalg.norm(x, axis=2, keepdims=True)
        raw = np.concatenate([x, np.ones((M, K, 1))], axis=2)
        nb = min(K, d)
        raw[:, :nb, :] = self.basis()
        return raw


@dataclass(frozen=True)
class MatrixEnvironment:
    """A fixed instance: features (T, M, K, d), mean rewards (T, M, K), Gaussian reward noise.

    The learner sees ``features`` (clipped to norm L by ``simulate``); the regret is measured
    on ``means``; the reward is means + N(0, noise_std²), then clipped to [−B, B].
    """

    features: np.ndarray = field(repr=False)
    means: np.ndarray = field(repr=False)
    noise_std: float = 0.0

    def __post_init__(self) -> None:
        f = V.finite_array(features=self.features)
        m = V.finite_array(means=self.means)
        if f.ndim != 4 or m.shape != f.shape[:3]:
            raise DPKitError(f"features must be (T, M, K, d) and means (T, M, K), got "
                             f"{f.shape} and {m.shape}")
        object.__setattr__(self, "features", f)
        object.__setattr__(self, "means", m)
        object.__setattr__(self, "noise_std", V.nonnegative(noise_std=self.noise_std))

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """(T, M, K, d)."""
        T, M, K, d = self.features.shape
        return T, M, K, d


#: Either environment.
Environment = SyntheticEnvironment | MatrixEnvironment


def synthetic_environment(dim: int, num_arms: int, num_silos: int, horizon: int,
                          rng: RNGLike, noise_std: float = 0.5) -> SyntheticEnvironment:
    """The synthetic linear instance of [ZC24] (d = 10, K = 100 in the paper); θ* from ``rng``.

    See :class:`SyntheticEnvironment`. Contexts are drawn during
    :func:`~dpkit.mechanisms.bandits.simulate`.

    Raises:
        DPKitError: dim < 2 or > 1000, a size < 1, noise_std < 0, a bad rng.
    """
    d = V.integer(minimum=2, maximum=1000, dim=dim)
    V.integer(minimum=1, num_arms=num_arms)
    V.integer(minimum=1, num_silos=num_silos)
    V.integer(minimum=1, horizon=horizon)
    g = as_generator(rng)
    u = np.asarray(g.standard_normal(d - 1), dtype=float)
    u *= 0.5 / np.linalg.norm(u)
    return SyntheticEnvironment(d, int(num_arms), int(num_silos), int(horizon),
                                np.append(u, 0.5), noise_std)


def matrix_environment(features: npt.ArrayLike, means: npt.ArrayLike,
                       noise_std: float = 0.0) -> MatrixEnvironment:
    """Plug in any contexts/rewards: features (T, M, K, d) and mean rewards (T, M, K).

    Raises:
        DPKitError: NaN/inf or non-numeric values, mismatched shapes, noise_std < 0.
    """
    return MatrixEnvironment(V.finite_array(features=features), V.finite_array(means=means),
                             noise_std)


def check_environment(params: BanditParams, environment: object) -> Environment:
    """``environment`` if it is an environment matching ``params`` (sizes, horizon ≥ T).

    Raises:
        DPKitError: not an environment, or (M, K, d) or the horizon do not match.
    """
    if isinstance(environment, SyntheticEnvironment):
        got = (environment.num_silos, environment.num_arms, environment.dim)
        want = (params.num_silos, params.num_arms, params.dim)
        if got != want or environment.horizon < params.horizon:
            raise DPKitError(f"environment (M, K, d) = {got}, horizon {environment.horizon} does "
                             f"not match params {want}, horizon {params.horizon}")
        return environment
    if isinstance(environment, MatrixEnvironment):
        T, M, K, d = environment.shape
        if (M, K, d) != (params.num_silos, params.num_arms, params.dim) or T < params.horizon:
            want4 = (params.horizon, params.num_silos, params.num_arms, params.dim)
            raise DPKitError(f"environment (T, M, K, d) = {(T, M, K, d)} does not match params "
                             f"(T, M, K, d) = {want4}")
        return environment
    raise DPKitError("environment must be a SyntheticEnvironment or MatrixEnvironment, got "
                     f"{type(environment).__name__}")
