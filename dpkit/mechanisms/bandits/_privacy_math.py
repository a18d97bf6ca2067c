"""Privacy statements, noise calibration and the binary tree of the federated bandits.

Paper: Xingyu Zhou, Sayak Ray Chowdhury, "On Differentially Private Federated Linear Contextual
Bandits", ICLR 2024 (arXiv:2302.13945) [ZC24]. Tree: Dwork, Naor, Pitassi, Rothblum 2010;
Chan, Shi, Song 2011. zCDP: Bun & Steinke 2016.

Neighbouring relation (every statement here): two local datasets of one silo that differ in
**one user**, i.e. one round's pair (x, y) replaced by (x', y') with ‖x‖₂, ‖x'‖₂ ≤ L and
|y|, |y'| ≤ B (``"replace_one"``). The other silos' data are fixed and arbitrary.

Tree indexing. Batches (leaves) are numbered k = 1 … Kb. The node released at batch k covers
the leaves (k − lowbit(k), k] and sits at level j = log₂ lowbit(k). The private prefix sum at k
is the sum of the nodes of the binary decomposition of k (popcount(k) nodes). A leaf ℓ is
covered by at most n_lvl = ⌊log₂ Kb⌋ + 1 released nodes, one per level; leaf 1 by exactly n_lvl.

Layer: the private bottom of the package. It reads a
:class:`~dpkit.mechanisms.bandits.BanditParams` through :class:`BanditParamsLike`, so that the
params' calibrated properties can call it without an import cycle; :mod:`.privacy` re-exports
its public names above the params and holds the public ``privacy_event(params)``.
"""

from __future__ import annotations

import functools
import math
from typing import Protocol

import numpy as np

from ... import _validate as V
from ...accounting import calibrate
from ...accounting.events import REPLACE_ONE, ClaimedApproxDP, Event, Gaussian, Repeated
from ...errors import DPKitError
from .. import _dyadic

__all__ = [
    "ShuffleClaim",
    "num_levels",
    "lowbit_level",
    "prefix_nodes",
    "covering_nodes",
    "gram_sensitivity",
    "joint_sensitivity",
    "ldp_noise_multiplier",
    "node_sigma",
    "legacy_code_sigma_ldp",
    "amplification_sigma",
    "vector_sum_parameters",
    "aggregate_noise_std",
    "regularizer",
    "run_event",
    "silo_level_event",
    "claimed_event",
]


# ============================================================================ the params
#: The protocols whose tree nodes carry Gaussian noise.
GAUSSIAN_PROTOCOLS = ("silo_ldp", "shuffle_amplification")
#: p of the vector sum's Binomial(b, p) noise bits (the released code's 1/4).
VECTOR_SUM_BIT_PROB = 0.25


class BanditParamsLike(Protocol):
    """What this module reads of a :class:`dpkit.mechanisms.bandits.BanditParams`.

    This module sits below :mod:`.params` (whose derived properties call it), so it reads the
    params through this structural type instead of importing the class.
    """

    @property
    def num_silos(self) -> int: ...
    @property
    def dim(self) -> int: ...
    @property
    def horizon(self) -> int: ...
    @property
    def batch_size(self) -> int: ...
    @property
    def protocol(self) -> str: ...
    @property
    def epsilon(self) -> float | None: ...
    @property
    def delta(self) -> float | None: ...
    @property
    def alpha(self) -> float: ...
    @property
    def regularization(self) -> float | None: ...
    @property
    def lambda_rule(self) -> str: ...
    @property
    def vector_sum_scale(self) -> float: ...
    @property
    def num_batches(self) -> int: ...
    @property
    def levels(self) -> int: ...
    @property
    def sensitivity(self) -> float: ...
    @property
    def coordinate_bound(self) -> float: ...
    def __hash__(self) -> int: ...  # node_sigma and regularizer are cached per params


#: Stored fields checked by :func:`_check_params` (no property is evaluated by the check).
_FIELDS = ("num_silos", "num_arms", "dim", "horizon", "batch_size", "protocol", "epsilon",
           "delta", "feature_bound", "reward_bound", "alpha", "regularization", "lambda_rule",
           "vector_sum_scale")


# ============================================================================ the claim
#: The shuffle protocols' (ε, δ) claim is the accountant's general uncertified-claim event
#: (ε = ∞ in an Accountant, never understated); the old name stays importable.
ShuffleClaim = ClaimedApproxDP

#: ``source`` of the claims made by :func:`claimed_event`.
CLAIM_SOURCE = "Zhou & Chowdhury, ICLR 2024 (arXiv:2302.13945), shuffle protocol"


# ============================================================================ tree combinatorics
def num_levels(num_batches: int) -> int:
    """n_lvl = ⌊log₂ Kb⌋ + 1, the number of tree levels (the code's N; 9 for Kb = 400)."""
    kb = V.integer(minimum=1, num_batches=num_batches)
    return _dyadic.levels(kb)


def lowbit_level(k: int) -> int:
    """The level j of the node released at batch k ≥ 1: lowbit(k) = 2^j."""
    k = V.integer(minimum=1, k=k)
    return _dyadic.lowbit_level(k)


def prefix_nodes(k: int) -> list[int]:
    """The released nodes (by batch index) whose sum is the private prefix sum at batch k."""
    k = V.integer(minimum=1, k=k)
    return _dyadic.prefix_nodes(k)


def covering_nodes(leaf: int, num_batches: int) -> list[int]:
    """The released nodes k ≤ Kb that contain leaf ℓ (at most one per level)."""
    leaf = V.integer(minimum=1, leaf=leaf)
    kb = V.integer(minimum=leaf, num_batches=num_batches)
    return _dyadic.covering_nodes(leaf, kb)


# ============================================================================ sensitivity
def gram_sensitivity(feature_bound: float) -> float:
    """Δ_W = √2·L²: sup ‖triu(xxᵀ − x'x'ᵀ)‖₂ ≤ ‖xxᵀ − x'x'ᵀ‖_F = √(‖x‖⁴+‖x'‖⁴−2(x·x')²)."""
    L = V.positive(feature_bound=feature_bound)
    return math.sqrt(2.0) * L * L


def joint_sensitivity(feature_bound: float, reward_bound: float) -> float:
    """Δ = √(Δ_W² + Δ_U²) = √(2L⁴ + 4L²B²), the ℓ₂ sensitivity of one user's (xxᵀ, xy).

    Replace-one relation; √6 at L = B = 1. (An upper bound: the two parts are not maximal at
    the same pair; the exact joint supremum is smaller.)
    """
    L = V.positive(feature_bound=feature_bound)
    B = V.positive(reward_bound=reward_bound)
    return joint_sensitivity_of(L, B)


def joint_sensitivity_of(feature_bound: float, reward_bound: float) -> float:
    """:func:`joint_sensitivity` of checked L, B > 0 (the formula, written once).

    Raises:
        DPKitError: when Δ overflows (L or B beyond ~1e77).
    """
    L, B = feature_bound, reward_bound
    try:
        return math.sqrt(2.0 * L**4 + 4.0 * L * L * B * B)
    except OverflowError:
        raise DPKitError(f"joint_sensitivity overflows for feature_bound={L!r}, "
                         f"reward_bound={B!r}: use bounds below ~1e77") from None


# ============================================================================ calibration
def ldp_noise_multiplier(epsilon: float, delta: float, levels: int) -> float:
    """z = σ₀/Δ such that ``levels`` Gaussian releases of noise multiplier z are (ε, δ)-DP.

    Computed with dpkit's accountant (:func:`dpkit.accounting.calibrate.noise_multiplier`):
    the user is in at most ``levels`` nodes, each a Gaussian mechanism, so the privacy loss is
    that of ``Repeated(Gaussian(z), levels)``, i.e. ρ = levels/(2z²) zCDP.
    """
    e = V.positive(epsilon=epsilon)
    d = V.in_range(0.0, 1.0, low_open=True, high_open=True, delta=delta)
    n = V.integer(minimum=1, levels=levels)
    return calibrate.noise_multiplier(lambda s: Gaussian(s, relation=REPLACE_ONE), e, d, count=n)


def legacy_code_sigma_ldp(epsilon: float, delta: float, levels: int,
                          feature_bound: float = 1.0) -> float:
    """The σ₀ of [ZC24]'s released code for silo-level LDP: L·√(n_lvl(log(1/δ)+ε))/ε.

    **Not** a privacy proof: it has no sensitivity factor, and is √(2Δ²/L²) = √12 (at
    L = B = 1) below the sufficient rule σ₀² = 2·n_lvl·Δ²·(log(1/δ)+ε)/ε². Kept for reference
    and as the mis-calibrated twin of the audit.
    """
    epsilon = V.positive(epsilon=epsilon)
    delta = V.in_range(0.0, 1.0, low_open=True, high_open=True, delta=delta)
    levels = V.integer(minimum=1, levels=levels)
    feature_bound = V.positive(feature_bound=feature_bound)
    return feature_bound * math.sqrt(levels * (math.log(1.0 / delta) + epsilon)) / epsilon


def amplification_sigma(epsilon: float, delta: float, levels: int, num_silos: int,
                        horizon: int, sensitivity: float) -> float:
    """Per-silo node σ₀ of the shuffle-amplification protocol (the released code's scale).

    σ₀ = Δ·√(n_lvl·log(1/δ)·log(1 + n_lvl/(Tδ))·log(M·n_lvl/δ)) / (ε·√M), the code's formula
    with its L replaced by the joint sensitivity Δ (the code omits the sensitivity). The paper's
    constant could not be checked (spec §10.1).
    """
    epsilon = V.positive(epsilon=epsilon)
    delta = V.in_range(0.0, 1.0, low_open=True, high_open=True, delta=delta)
    levels = V.integer(minimum=1, levels=levels)
    num_silos = V.integer(minimum=1, num_silos=num_silos)
    horizon = V.integer(minimum=1, horizon=horizon)
    sensitivity = V.positive(sensitivity=sensitivity)
    a = math.log(1.0 / delta) * math.log1p(levels / (horizon * delta))
    a *= math.log(num_silos * levels / delta)
    return sensitivity * math.sqrt(levels * a) / (epsilon * math.sqrt(num_silos))


def vector_sum_parameters(epsilon: float, delta: float, dim: int, users: int,
                          scale: float = 1.0) -> tuple[float, float, float]:
    """(g, b, p) of the binomial shuffle summation for a node holding ``users`` users.

    Released code of [ZC24]: p = 1/4, g = max(2√n, d, 4), b = scale·g²·log²(d²/δ)/(ε²·n).
    Each user sends, per coordinate v ∈ [0, 2c]: ⌊v·g/c⌋ + Bernoulli(frac) + Binomial(b, p).
    """
    epsilon = V.positive(epsilon=epsilon)
    delta = V.in_range(0.0, 1.0, low_open=True, high_open=True, delta=delta)
    dim = V.integer(minimum=1, dim=dim)
    users = V.integer(minimum=1, users=users)
    scale = V.positive(scale=scale)
    n = float(users)
    g = max(2.0 * math.sqrt(n), float(dim), 4.0)
    try:
        b = scale * g * g * math.log(dim * dim / delta) ** 2 / (epsilon**2 * n)
    except (OverflowError, ZeroDivisionError):
        b = math.inf
    if not math.isfinite(b):
        raise DPKitError(f"vector_sum_parameters: the binomial count b overflows for "
                         f"epsilon={epsilon!r}, delta={delta!r}, dim={dim}, users={users}, "
                         f"scale={scale!r}; use epsilon in [1e-100, 1e100]")
    return g, b, VECTOR_SUM_BIT_PROB


@functools.lru_cache(maxsize=256)
def node_sigma(params: BanditParamsLike) -> float:
    """Per-silo, per-node Gaussian noise std σ₀ of the Gaussian protocols (0 for "none").

    "silo_ldp": σ₀ = z·Δ with z from :func:`ldp_noise_multiplier` (dpkit's sound rule).
    "shuffle_amplification": :func:`amplification_sigma`. "shuffle_vector_sum" has binomial
    noise instead (see :func:`aggregate_noise_std`); 0 here.
    """
    if params.protocol == "silo_ldp":
        z = ldp_noise_multiplier(*_target(params), params.levels)
        return z * params.sensitivity
    if params.protocol == "shuffle_amplification":
        return amplification_sigma(*_target(params), params.levels,
                                   params.num_silos, params.horizon, params.sensitivity)
    return 0.0


def vector_sum_node_std(params: BanditParamsLike, level: int) -> float:
    """Std of the aggregate noise of one coordinate of a vector-sum node at ``level``.

    Binomial noise and randomized rounding, scaled back: (c/g)·√(b·n·p(1−p) + n/4) (the
    rounding term is an upper bound), with n = 2^level·M·Bt users and c the coordinate bound.
    """
    n = (1 << level) * params.num_silos * params.batch_size
    g, b, p = vector_sum_parameters(*_target(params), params.dim, n, params.vector_sum_scale)
    return params.coordinate_bound / g * math.sqrt(b * n * p * (1 - p) + n / 4.0)


def vector_sum_schedule(params: BanditParamsLike) -> tuple[np.ndarray, np.ndarray]:
    """Per tree level j: the fixed-point scale g and the binomial noise bits round(b·n) of a
    vector-sum node holding n = 2^j·M·Bt users (:func:`vector_sum_parameters`).

    For the other protocols: g = 1 and no bits (the kernels' neutral values).
    """
    scale = np.ones(params.levels)
    bits = np.zeros(params.levels)
    if params.protocol == "shuffle_vector_sum":
        for j in range(params.levels):
            n = (1 << j) * params.num_silos * params.batch_size
            g, b, _ = vector_sum_parameters(*_target(params), params.dim, n,
                                            params.vector_sum_scale)
            scale[j], bits[j] = g, float(round(b * n))
    return scale, bits


def aggregate_noise_std(params: BanditParamsLike) -> float:
    """σ_tot: an upper bound on the std of each entry of the noise in a private prefix sum.

    Gaussian protocols: σ₀·√(M·n_lvl) (M silos, at most n_lvl nodes). Vector sum: √n_lvl times
    the largest node std. 0 for "none".
    """
    _check_params(params)
    if params.protocol in GAUSSIAN_PROTOCOLS:
        return node_sigma(params) * math.sqrt(params.num_silos * params.levels)
    if params.protocol == "shuffle_vector_sum":
        worst = max(vector_sum_node_std(params, j) for j in range(params.levels))
        return worst * math.sqrt(params.levels)
    return 0.0


@functools.lru_cache(maxsize=256)
def regularizer(params: BanditParamsLike) -> float:
    """λ: √M (non-private, as the code), raised to cover the privacy noise.

    "safe" (default): λ = 2·σ_tot·(2√d + √(2·log(2·Kb/α))), so that ‖H‖_op ≤ λ/2 for every
    prefix-sum noise matrix H with probability ≥ 1 − α (GOE norm bound and a union bound over
    the Kb prefix sums); "code": λ = σ_tot·(√(n_lvl + log(1/α)) + √d), the released code's.
    """
    if params.regularization is not None:
        return params.regularization
    lam = math.sqrt(params.num_silos)
    s = aggregate_noise_std(params)
    if s > 0:
        if params.lambda_rule == "safe":
            extra = 2.0 * s * (2.0 * math.sqrt(params.dim)
                               + math.sqrt(2.0 * math.log(2.0 * params.num_batches / params.alpha)))
        else:
            extra = s * (math.sqrt(params.levels + math.log(1.0 / params.alpha))
                         + math.sqrt(params.dim))
        lam = max(lam, extra)
    return lam


# ============================================================================ statements
def _check_params(params: object) -> None:
    if not all(hasattr(params, f) for f in _FIELDS):
        raise DPKitError(f"params must be a BanditParams, got {type(params).__name__}")


def _target(params: BanditParamsLike) -> tuple[float, float]:
    """(ε, δ) of a private protocol (BanditParams guarantees both are set for them)."""
    if params.epsilon is None or params.delta is None:
        raise DPKitError(f"protocol {params.protocol!r} has no (epsilon, delta) target")
    return params.epsilon, params.delta


def silo_level_event(params: BanditParamsLike) -> Event:
    """The silo-level guarantee of the Gaussian protocols, with no trust in any shuffler.

    One user is in at most n_lvl released nodes of its silo's tree; each node is a Gaussian
    mechanism of noise multiplier σ₀/Δ on the (xxᵀ, xy) statistic (upper triangle + vector,
    ℓ₂ sensitivity Δ, replace-one). So the silo's whole message sequence is
    ``Repeated(Gaussian(σ₀/Δ), n_lvl)``: ρ = n_lvl·Δ²/(2σ₀²)-zCDP per user, under adaptive
    interaction when the stream is the realised one (see docs/bandits.md, "adaptivity"; in
    ``strict`` mode without that convention). Composition across silos is not needed: each user
    belongs to one silo.

    Raises:
        DPKitError: for "none" (no guarantee) or "shuffle_vector_sum" (no Gaussian per silo).
    """
    _check_params(params)
    if params.protocol not in GAUSSIAN_PROTOCOLS:
        raise DPKitError(f"silo_level_event needs protocol 'silo_ldp' or 'shuffle_amplification',"
                         f" got {params.protocol!r}")
    z = node_sigma(params) / params.sensitivity
    return Repeated(Gaussian(z, relation=REPLACE_ONE), params.levels)


def claimed_event(params: BanditParamsLike) -> ClaimedApproxDP:
    """The (ε, δ) the shuffle protocols are calibrated to, as claimed by [ZC24].

    dpkit does **not** certify these for "shuffle_amplification": shuffling whole-silo messages
    hides nothing when the other silos' data are far from the changed silo's, and the audit in
    tests/audit/test_bandits_audit.py exhibits neighbours where the claim fails. For
    "shuffle_vector_sum" it is the claim of the binomial blanket analysis (constants of the
    released code; dpkit has no independent proof).
    """
    _check_params(params)
    if not params.protocol.startswith("shuffle"):
        raise DPKitError(f"claimed_event needs a shuffle protocol, got {params.protocol!r}")
    return ClaimedApproxDP(*_target(params), relation=REPLACE_ONE,
                           source=f"{CLAIM_SOURCE} {params.protocol!r}")


def run_event(params: BanditParamsLike) -> Event:
    """The privacy statement of one run, per silo; see
    :func:`dpkit.mechanisms.bandits.privacy.privacy_event` (the public statement).

    Raises:
        DPKitError: ``params`` is not shaped like a ``BanditParams``.
    """
    _check_params(params)
    if params.protocol == "none":
        return Gaussian(0.0, relation=REPLACE_ONE)
    if params.protocol == "shuffle_vector_sum":
        return claimed_event(params)
    return silo_level_event(params)
