"""Federated linear contextual bandits with differential privacy (Private-FedLinUCB).

Paper: Xingyu Zhou, Sayak Ray Chowdhury, "On Differentially Private Federated Linear Contextual
Bandits", ICLR 2024 (arXiv:2302.13945) [ZC24]. Building blocks: LinUCB / OFUL
(Abbasi-Yadkori, Pál, Szepesvári 2011), the binary-tree mechanism (Dwork, Naor, Pitassi,
Rothblum 2010; Chan, Shi, Song 2011), shuffle summation (Cheu et al. 2019; Balle et al. 2019).

M silos each serve one user per round for T rounds. A silo picks one of K arms with LinUCB
from λI + Ṽ + W_i and ũ + U_i, where (Ṽ, ũ) are the latest *private* global statistics and
(W_i, U_i) the silo's raw statistics since the last synchronisation. Every ``batch_size``
rounds (a fixed, data-independent schedule) the silos hand their batch increments to the
privacy protocol, which returns new private prefix sums:

* ``"none"``: exact sums (FedLinUCB).
* ``"silo_ldp"``: each silo runs a binary-tree mechanism with Gaussian node noise σ₀ = z·Δ,
  z calibrated by the accountant so that ``Repeated(Gaussian(z), n_lvl)`` is (ε, δ)-DP.
* ``"shuffle_amplification"``: the same tree with σ₀ scaled down by ≈√M (the released code's
  formula); the server sees the shuffled silo messages.
* ``"shuffle_vector_sum"``: each tree node is computed by a binomial shuffle summation over
  the node's users (fixed point, randomized rounding, Binomial(b, 1/4) noise bits).

Privacy statement: :func:`privacy_event` (replace one user of one silo; see
:mod:`.privacy`). Bounds: feature norms are clipped to ``feature_bound`` (L) and rewards to
[−``reward_bound``, ``reward_bound``] (B) *before* they enter any statistic; the result counts
the clipped values. Regret is measured on the unclipped mean rewards.

Kernels: numpy reference (``backend="numpy"``, the oracle), numba (``"numba"``, the default
when installed; silo blocks on threads, seed-determined), JAX (``"jax"``, ``lax.scan`` over
batches and rounds, JAX key). They agree in law, not in bits
(tests/mechanisms/test_bandits_kernels.py).
Not hardened against floating-point attacks (continuous Gaussian noise).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ... import _validate as V
from ...accounting.events import Event
from ...errors import DPKitError
from ...random import RNGLike, as_generator, route_backend
from .. import _dyadic
from .. import continual as _continual
from . import privacy as _priv
from .privacy import (
    ShuffleClaim,
    aggregate_noise_std,
    claimed_event,
    node_sigma,
    regularizer,
    silo_level_event,
)

__all__ = [
    "PROTOCOLS",
    "BanditParams",
    "SyntheticEnvironment",
    "MatrixEnvironment",
    "SimulationResult",
    "synthetic_environment",
    "matrix_environment",
    "simulate",
    "privacy_event",
    "silo_level_event",
    "claimed_event",
    "confidence_radius",
    "tree_release",
    "ShuffleClaim",
]

PROTOCOLS = ("none", "silo_ldp", "shuffle_amplification", "shuffle_vector_sum")
_GAUSSIAN = ("silo_ldp", "shuffle_amplification")
_PROTO_CODE = {p: i for i, p in enumerate(PROTOCOLS)}


# ============================================================================ parameters
@dataclass(frozen=True)
class BanditParams:
    """Private federated LinUCB: sizes, protocol, privacy target and learner constants.

    Privacy (replace one user, i.e. one round's (x, y), at one silo): see
    :func:`privacy_event`. [ZC24], ICLR 2024.

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
        noise_scale: R > 0, the reward noise's sub-Gaussian scale used in the radius.
        alpha: α ∈ (0, 1), the failure probability of the radius and of the λ noise bound.
        radius_scale: the code's ``crs`` > 0 multiplying the radius β_t.
        radius: a fixed β (overrides the formula; tests pin it).
        regularization: a fixed λ > 0 (overrides :func:`.privacy.regularizer`).
        lambda_rule: "safe" (default) or "code"; see :func:`.privacy.regularizer`.
        strict: choose arms from the private statistics only (each user then touches exactly
            one leaf, so adaptive composition needs no realised-stream convention).
        vector_sum_scale: the code's ``scale`` of the binomial noise count b.

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
        return _priv.num_levels(self.num_batches)

    @property
    def sensitivity(self) -> float:
        """Δ = √(2L⁴ + 4L²B²), one user's ℓ₂ sensitivity (replace-one)."""
        return _priv.joint_sensitivity(self.feature_bound, self.reward_bound)

    @property
    def coordinate_bound(self) -> float:
        """c = max(L², L·B): every coordinate of xxᵀ and xy lies in [−c, c]."""
        return max(self.feature_bound**2, self.feature_bound * self.reward_bound)

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
        """Same as :func:`privacy_event`."""
        return privacy_event(self)


def privacy_event(params: BanditParams) -> Event:
    """The privacy statement of one run, per silo, as a dpkit.accounting event.

    Neighbouring relation: replace one user (one round's (x, y), ‖x‖ ≤ L, |y| ≤ B) at one
    silo; other silos arbitrary. See :func:`dpkit.mechanisms.bandits.privacy.privacy_event`:
    "silo_ldp" gives ``Repeated(Gaussian(σ₀/Δ, relation="replace_one"), n_lvl)``, calibrated
    to (ε, δ) by the accountant; "shuffle_amplification" the same statement at its actual σ₀
    (the amplified claim is not certified); "shuffle_vector_sum" the uncertified claim
    :class:`~dpkit.accounting.ClaimedApproxDP` (alias ``ShuffleClaim``; ε = ∞ in an
    Accountant); "none" ε = ∞. [ZC24], ICLR 2024.
    """
    if not isinstance(params, BanditParams):
        raise DPKitError(f"params must be a BanditParams, got {type(params).__name__}")
    return _priv.privacy_event(params)


def confidence_radius(params: BanditParams, t: Any, lam: float | None = None) -> np.ndarray:
    """β_t = crs·(√λ·S + R·√(d·log(1 + t·M·L²/(dλ)) + log(1/α))) (released code's radius).

    Returns ``params.radius`` everywhere when it is set.
    """
    if not isinstance(params, BanditParams):
        raise DPKitError(f"params must be a BanditParams, got {type(params).__name__}")
    tt = V.finite_array(t=t)
    if (tt < 0).any():
        raise DPKitError("t must be >= 0 (a number of rounds)")
    if params.radius is not None:
        return np.full(tt.shape, params.radius)
    lam = regularizer(params) if lam is None else V.positive(lam=lam)
    d, M, L = params.dim, params.num_silos, params.feature_bound
    inner = d * np.log1p(tt * M * L * L / (d * lam)) + math.log(1.0 / params.alpha)
    return params.radius_scale * (math.sqrt(lam) * params.param_bound
                                  + params.noise_scale * np.sqrt(inner))


# ============================================================================ environments
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
        return self.features.shape  # type: ignore[return-value]


def synthetic_environment(dim: int, num_arms: int, num_silos: int, horizon: int,
                          rng: RNGLike, noise_std: float = 0.5) -> SyntheticEnvironment:
    """The synthetic linear instance of [ZC24] (d = 10, K = 100 in the paper); θ* from ``rng``.

    See :class:`SyntheticEnvironment`. Contexts are drawn during :func:`simulate`.
    """
    d = V.integer(minimum=2, maximum=1000, dim=dim)
    V.integer(minimum=1, num_arms=num_arms)
    V.integer(minimum=1, num_silos=num_silos)
    V.integer(minimum=1, horizon=horizon)
    g = as_generator(rng)
    u = g.standard_normal(d - 1)
    u *= 0.5 / np.linalg.norm(u)
    return SyntheticEnvironment(d, int(num_arms), int(num_silos), int(horizon),
                                np.append(u, 0.5), noise_std)


def matrix_environment(features: Any, means: Any, noise_std: float = 0.0) -> MatrixEnvironment:
    """Plug in any contexts/rewards: features (T, M, K, d) and mean rewards (T, M, K).

    Raises:
        DPKitError: NaN/inf or non-numeric values, mismatched shapes, noise_std < 0.
    """
    return MatrixEnvironment(V.finite_array(features=features), V.finite_array(means=means),
                             noise_std)


# ============================================================================ result
@dataclass(frozen=True)
class SimulationResult:
    """Outcome of :func:`simulate`.

    Attributes:
        regret: (T,) cumulative pseudo-regret per round, summed over the M silos.
        params: the parameters.
        regularization: λ used.
        node_sigma: σ₀ (Gaussian protocols; 0 otherwise).
        clipped_rewards: rewards that were clipped to [−B, B].
        clipped_features: chosen features whose norm was clipped to L.
        backend: the kernel that ran.
        min_eigenvalue: the smallest eigenvalue of λI + Ṽ over all syncs (numpy backend; NaN
            where not tracked).
    """

    regret: np.ndarray
    params: BanditParams
    regularization: float
    node_sigma: float
    clipped_rewards: int
    clipped_features: int
    backend: str
    min_eigenvalue: float = math.nan

    @property
    def average_regret(self) -> np.ndarray:
        """Time-average regret R(t)/t (the paper's plotted metric)."""
        return self.regret / np.arange(1, self.regret.size + 1)


# ============================================================================ tree release
def _symmetric_noise(rng: np.random.Generator, sigma: float, shape: tuple[int, ...],
                     d: int) -> np.ndarray:
    """Symmetric d×d matrices: upper triangle (diagonal included) i.i.d. N(0, σ²), mirrored."""
    z = rng.standard_normal((*shape, d, d)) * sigma
    up = np.triu(z)
    return up + np.swapaxes(np.triu(z, 1), -1, -2)


def tree_release(gram_stream: Any, vec_stream: Any, sigma: float, rng: RNGLike,
                 size: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One silo's binary-tree release of a stream of (Gram, vector) batch increments.

    The node released at batch k is Σ_{leaves (k−lowbit(k), k]} γ + noise, the Gram part's
    noise symmetric with i.i.d. N(0, σ²) upper triangle, the vector part's N(0, σ²I). The
    private prefix sum at k is the sum of the nodes of k's binary decomposition.

    Privacy: a user in one leaf is in at most n_lvl = ⌊log₂ Kb⌋+1 nodes; with σ = z·Δ the
    release is ``Repeated(Gaussian(z), n_lvl)`` (replace one user). [ZC24] Alg. 2; Chan, Shi,
    Song 2011.

    Args:
        gram_stream: (Kb, d, d) symmetric increments.
        vec_stream: (Kb, d) increments.
        sigma: σ ≥ 0 (0: exact prefix sums).
        rng: numpy Generator or seed.
        size: if given, ``size`` independent releases (a leading axis).

    Returns:
        (node_gram, node_vec, prefix_gram, prefix_vec), shapes ([size,] Kb, d, d) / ([size,] Kb, d).
    """
    G = V.finite_array(gram_stream=gram_stream)
    u = V.finite_array(vec_stream=vec_stream)
    if G.ndim != 3 or G.shape[1] != G.shape[2] or u.shape != G.shape[:2]:
        raise DPKitError(f"gram_stream must be (Kb, d, d) and vec_stream (Kb, d), got {G.shape} "
                         f"and {u.shape}")
    s = V.nonnegative(sigma=sigma)
    g = as_generator(rng)
    kb, d = G.shape[0], G.shape[1]
    lead: tuple[int, ...] = () if size is None else (V.integer(minimum=1, size=size),)
    cg = np.concatenate([np.zeros((1, d, d)), np.cumsum(G, axis=0)])
    cu = np.concatenate([np.zeros((1, d)), np.cumsum(u, axis=0)])
    k = np.arange(1, kb + 1)
    start = _dyadic.node_start(k)
    node_g = np.broadcast_to(cg[k] - cg[start], (*lead, kb, d, d)).copy()
    node_u = np.broadcast_to(cu[k] - cu[start], (*lead, kb, d)).copy()
    if s > 0:
        node_g += _symmetric_noise(g, s, (*lead, kb), d)
        node_u += s * g.standard_normal((*lead, kb, d))
    pref_g = np.zeros_like(node_g)
    pref_u = np.zeros_like(node_u)
    for kk in range(1, kb + 1):
        for n in _priv.prefix_nodes(kk):
            pref_g[..., kk - 1, :, :] += node_g[..., n - 1, :, :]
            pref_u[..., kk - 1, :] += node_u[..., n - 1, :]
    return node_g, node_u, pref_g, pref_u


# ============================================================================ numpy reference
def _clip_rows(x: np.ndarray, bound: float) -> tuple[np.ndarray, int]:
    """Rescale rows of norm > L to norm L (every such row: the sensitivity Δ assumes ‖x‖ ≤ L
    exactly); only rows beyond L·(1 + 1e-12) are *counted* as clipped (round-off is not)."""
    norms = np.linalg.norm(x, axis=-1)
    over = norms > bound
    if over.any():
        x = x.copy()
        x[over] *= (bound / norms[over])[:, None]
    return x, int(np.sum(norms > bound * (1.0 + 1e-12)))


@dataclass
class _SyncState:
    """Server-side tree state: exact cumulative sums and the tree noise.

    Gaussian protocols: the noise process is a :mod:`dpkit.mechanisms.continual` binary tree
    ("tree" counter, horizon Kb, noise std σ₀ per coordinate) over the M silos' flattened
    (upper triangle of the Gram increment, vector increment) streams, one block of
    d(d+1)/2 + d coordinates per silo. The counter is linear (y = prefix sum + tree noise),
    so it is fed zero items and the exact prefix sums are added here: the bandit item (one
    batch of Bt users) has no norm bound of the counter's kind, and the neighbouring relation
    (one user inside a batch, sensitivity Δ) is the bandits' own (:func:`privacy_event`).
    Vector sum: one analyser-noise slot per level (``noise_g``, ``noise_u``) and the users'
    rounding residuals (``resid``).
    """

    true_g: np.ndarray
    true_u: np.ndarray
    noise_g: np.ndarray
    noise_u: np.ndarray
    resid: np.ndarray  # vector sum: per-level randomized-rounding residual sums
    counter: Any = None  # Gaussian protocols: (CounterParams, CounterState)

    @classmethod
    def new(cls, levels: int, d: int, params: BanditParams | None = None) -> _SyncState:
        p = d * (d + 1) // 2 + d
        st = cls(np.zeros((d, d)), np.zeros(d), np.zeros((levels, d, d)),
                 np.zeros((levels, d)), np.zeros((levels, p)))
        if params is not None and params.protocol in _GAUSSIAN:
            cp = _tree_counter(params)
            st.counter = (cp, _continual.init(cp))
        return st


def _tree_counter(params: BanditParams) -> Any:
    """The continual tree counter carrying the Gaussian protocols' node noise (all silos).

    ``CounterParams("tree", horizon=Kb, noise_multiplier=σ₀/Δ, bound=Δ/2,
    relation="replace_one")``: node noise std = noise_multiplier·sensitivity = σ₀ per
    coordinate, Kb.bit_length() = n_lvl levels. Its own event (event-level items of norm
    ≤ Δ/2) has the same ρ = n_lvl·Δ²/(2σ₀²) as :func:`privacy_event` (tested).
    """
    d, M = params.dim, params.num_silos
    delta_s = params.sensitivity
    return _continual.CounterParams(
        "tree", params.num_batches, noise_multiplier=node_sigma(params) / delta_s,
        dimension=M * (d * (d + 1) // 2 + d), bound=delta_s / 2.0, relation="replace_one")


def _sync(params: BanditParams, st: _SyncState, batch_g: np.ndarray, batch_u: np.ndarray,
          batch: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, float]:
    """One synchronisation: add the batch, release node ``batch``, return the private prefix.

    Gaussian protocols: each of the M silos' tree (a :mod:`dpkit.mechanisms.continual` tree
    counter, see :class:`_SyncState`) releases its node with N(0, σ₀²) noise on the upper
    triangle of the Gram increment and on the vector increment; the server sums the M private
    prefix sums.
    Vector sum: the node's aggregate is the analyser's output; its error is the users'
    randomized-rounding residuals plus centred Binomial(b·n, 1/4), times c/g.
    Returns (Ṽ, ũ, min eigenvalue of λI + Ṽ); raises if λI + Ṽ is not positive definite.
    """
    d, M, proto = params.dim, params.num_silos, params.protocol
    st.true_g += batch_g
    st.true_u += batch_u
    j = _dyadic.lowbit_level(batch)
    tri = np.triu_indices(d)
    if proto in _GAUSSIAN:  # each silo's tree noise (continual counter), summed by the server
        if st.counter is None:
            cp = _tree_counter(params)
            st.counter = (cp, _continual.init(cp))
        cp, cs = st.counter
        cs, y = _continual.step(cp, cs, np.zeros(cp.dimension), rng)
        st.counter = (cp, cs)
        agg = np.asarray(y).reshape(M, -1).sum(axis=0)
        ng = np.zeros((d, d))
        ng[tri] = agg[: tri[0].size]
        Vt = st.true_g + ng + np.triu(ng, 1).T
        ut = st.true_u + agg[tri[0].size:]
    elif proto == "shuffle_vector_sum":
        n_users = (1 << j) * M * params.batch_size
        g, b, p = _priv.vector_sum_parameters(params.epsilon, params.delta, d, n_users,
                                              params.vector_sum_scale)
        n_bits = int(round(b * n_users))
        binom = rng.binomial(n_bits, p, size=st.resid.shape[1]) - p * n_bits
        e = (params.coordinate_bound / g) * (st.resid[j] + binom)
        st.resid[j] = 0.0
        ng = np.zeros((d, d))
        ng[tri] = e[: tri[0].size]
        st.noise_g[j] = ng + np.triu(ng, 1).T
        st.noise_u[j] = e[tri[0].size:]
    if proto not in _GAUSSIAN:
        on = [jj for jj in range(st.noise_g.shape[0]) if (batch >> jj) & 1]
        Vt = st.true_g + st.noise_g[on].sum(axis=0)
        ut = st.true_u + st.noise_u[on].sum(axis=0)
    lam = regularizer(params)
    ev = float(np.linalg.eigvalsh(lam * np.eye(d) + Vt)[0])
    if ev <= 0:
        raise DPKitError(
            f"the private Gram matrix lambda*I + V lost positive definiteness at batch {batch} "
            f"(min eigenvalue {ev:.3g}); this has probability <= alpha={params.alpha:g} under "
            "lambda_rule='safe': raise regularization")
    return Vt, ut, ev


def _simulate_numpy(params: BanditParams, env: Any, rng: np.random.Generator,
                    progress: bool) -> SimulationResult:
    M, d, T, Bt = params.num_silos, params.dim, params.horizon, params.batch_size
    L, B, proto = params.feature_bound, params.reward_bound, params.protocol
    lam = regularizer(params)
    sigma = node_sigma(params)
    kb, levels = params.num_batches, params.levels
    beta = confidence_radius(params, np.arange(1, T + 1), lam)
    synthetic = isinstance(env, SyntheticEnvironment)
    tri = np.triu_indices(d)
    c = params.coordinate_bound

    W = np.zeros((M, d, d))
    U = np.zeros((M, d))
    Vt = np.zeros((d, d))  # private prefix Gram (global)
    ut = np.zeros(d)
    st = _SyncState.new(levels, d, params)
    resid = st.resid
    base_inv = np.eye(d) / lam
    Vinv = np.broadcast_to(base_inv, (M, d, d)).copy()
    min_eig = lam
    regret = np.empty(T)
    total = 0.0
    n_clip_r = n_clip_f = 0
    batch = 1
    rows = np.arange(M)
    for t in range(1, T + 1):
        if synthetic:
            raw = env.draw_round(rng)
            means = raw @ env.theta
            feats = raw / np.linalg.norm(raw, axis=2, keepdims=True)
            noise_std = env.noise_std
        else:
            feats = env.features[t - 1]
            means = env.means[t - 1]
            noise_std = env.noise_std
        if params.strict:
            theta = Vinv[0] @ ut
            xv = np.einsum("mkd,de->mke", feats, Vinv[0])
            thetas = np.broadcast_to(theta, (M, d))
        else:
            thetas = np.einsum("mde,me->md", Vinv, ut[None, :] + U)
            xv = np.einsum("mkd,mde->mke", feats, Vinv)
        width = np.sqrt(np.maximum(np.einsum("mke,mke->mk", xv, feats), 0.0))
        scores = np.einsum("mkd,md->mk", feats, thetas) + beta[t - 1] * width
        arms = np.argmax(scores, axis=1)
        chosen_mean = means[rows, arms]
        total += float(np.sum(means.max(axis=1) - chosen_mean))
        regret[t - 1] = total
        x, nf = _clip_rows(feats[rows, arms], L)
        n_clip_f += nf
        y = chosen_mean + noise_std * rng.standard_normal(M)
        n_clip_r += int(np.sum(np.abs(y) > B))
        y = np.clip(y, -B, B)
        W += np.einsum("md,me->mde", x, x)
        U += x * y[:, None]
        if not params.strict:  # Sherman–Morrison: Vinv_i ← (V_i + x xᵀ)⁻¹
            vx = np.einsum("mde,me->md", Vinv, x)
            den = 1.0 + np.einsum("md,md->m", vx, x)
            Vinv -= np.einsum("md,me->mde", vx, vx) / den[:, None, None]
        if proto == "shuffle_vector_sum" and batch <= kb:
            coords = np.concatenate([np.einsum("md,me->mde", x, x)[:, tri[0], tri[1]],
                                     x * y[:, None]], axis=1)
            v = coords + c
            for j in _dyadic.covering_levels(batch, kb):
                n_users = (1 << j) * M * Bt
                g, _, _ = _priv.vector_sum_parameters(params.epsilon, params.delta, d, n_users,
                                                      params.vector_sum_scale)
                scaled = v * g / c
                frac = scaled - np.floor(scaled)
                bits = rng.random(frac.shape) < frac
                resid[j] += np.sum(bits - frac, axis=0)
        if t == batch * Bt and batch <= kb:
            Vt, ut, ev = _sync(params, st, W.sum(axis=0), U.sum(axis=0), batch, rng)
            min_eig = min(min_eig, ev)
            Vinv[:] = np.linalg.inv(lam * np.eye(d) + Vt)
            W[:] = 0.0
            U[:] = 0.0
            batch += 1
        if progress and (t % max(1, T // 20) == 0 or t == T):
            print(f"\rbandits: round {t}/{T}", end="" if t < T else "\n", file=sys.stderr,
                  flush=True)
    return SimulationResult(regret, params, lam, sigma, n_clip_r, n_clip_f, "numpy", min_eig)


def _check_env(params: BanditParams, environment: Any) -> None:
    if isinstance(environment, SyntheticEnvironment):
        got = (environment.num_silos, environment.num_arms, environment.dim)
        want = (params.num_silos, params.num_arms, params.dim)
        if got != want or environment.horizon < params.horizon:
            raise DPKitError(f"environment (M, K, d) = {got}, horizon {environment.horizon} does "
                             f"not match params {want}, horizon {params.horizon}")
    elif isinstance(environment, MatrixEnvironment):
        T, M, K, d = environment.shape
        if (M, K, d) != (params.num_silos, params.num_arms, params.dim) or T < params.horizon:
            want = (params.horizon, params.num_silos, params.num_arms, params.dim)
            raise DPKitError(f"environment (T, M, K, d) = {(T, M, K, d)} does not match params "
                             f"(T, M, K, d) = {want}")
    else:
        raise DPKitError("environment must be a SyntheticEnvironment or MatrixEnvironment, got "
                         f"{type(environment).__name__}")


def simulate(params: BanditParams, environment: Any, rng: Any, *, backend: str = "auto",
             progress: bool = False) -> SimulationResult:
    """Run private federated LinUCB on an environment; per-round cumulative group regret.

    Algorithm ([ZC24], the Private-FedLinUCB framework, fixed-batch schedule): see the module
    docstring. Privacy: :func:`privacy_event` (replace one user at one silo). The schedule is
    data independent, so the sync times are identical on neighbouring datasets.

    Args:
        params: a :class:`BanditParams`.
        environment: :func:`synthetic_environment` or :func:`matrix_environment`.
        rng: None, an int seed or a numpy Generator (every backend); a JAX PRNG key with
            ``backend="jax"``. A SecureGenerator is refused (a simulator, not a release).
        backend: "auto" (the one rule: JAX for JAX input data, else numba when installed,
            else numpy; the environment holds numpy arrays, so "auto" never picks JAX and a
            JAX key with "auto" raises a DPKitError saying to pass ``backend="jax"``),
            "numpy" (the reference), "numba", "jax" (one jitted ``lax.scan`` program, float64).
        progress: print a progress line to stderr (JAX: one line at the end).

    Returns:
        A :class:`SimulationResult`; ``regret[t-1]`` = Σ_i Σ_{s≤t} (max_a μ − μ_chosen).

    Raises:
        DPKitError: mismatched environment, bad backend or rng, or a lost positive definite
            Gram matrix (probability ≤ α with the safe λ).
    """
    if not isinstance(params, BanditParams):
        raise DPKitError(f"params must be a BanditParams, got {type(params).__name__}")
    _check_env(params, environment)
    # "auto" follows the one rule (dpkit.backend.resolve): the environment holds numpy arrays,
    # so "auto" is numba or numpy; a JAX key with "auto" is refused by as_generator, which
    # says to pass backend="jax".
    b = route_backend(backend, None, rng)
    if b == "jax":
        from . import _jax

        return _jax.simulate(params, environment, rng, progress)
    gen = as_generator(rng)
    if not isinstance(gen, np.random.Generator):
        raise DPKitError("rng must be an int seed or a numpy Generator for the numpy/numba "
                         "backends: simulate is a simulator of the protocol (regret curves), "
                         "not a release, and does not take the hardened tier (SecureGenerator)")
    if b == "numba":
        from . import _numba

        return _numba.simulate(params, environment, gen, progress)
    return _simulate_numpy(params, environment, gen, progress)
