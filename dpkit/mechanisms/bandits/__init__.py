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

Privacy statement (:func:`privacy_event`, :mod:`.privacy`): neighbouring datasets differ in
**one user** (one round's (x, y)) of one silo, the other silos fixed and arbitrary
(``"replace_one"``). "silo_ldp" is (ε, δ)-DP per silo, certified by the accountant:
``Repeated(Gaussian(σ₀/Δ), n_lvl)`` with σ₀ calibrated to the target; "shuffle_amplification"
certifies the same silo-level statement at its actual σ₀ (the amplified claim is not
certified); "shuffle_vector_sum" reports the uncertified claim ``ClaimedApproxDP`` (ε = ∞ in
an Accountant); "none" has ε = ∞. Bounds: feature norms are clipped to ``feature_bound``
(L) and rewards to [−``reward_bound``, ``reward_bound``] (B) *before* they enter any
statistic; the result counts the clipped values. Regret is measured on the unclipped mean
rewards.

Kernels: numpy reference (``backend="numpy"``, the oracle), numba (``"numba"``, the default
when installed; silo blocks on threads, seed-determined), JAX (``"jax"``, ``lax.scan`` over
batches and rounds, JAX key). They agree in law, not in bits
(tests/mechanisms/bandits/test_kernels.py).
Not hardened against floating-point attacks (continuous Gaussian noise).

Modules, lowest first: ``_privacy_math`` (calibration, sensitivity, tree combinatorics, the
events; reads the params structurally), :mod:`.params` (``BanditParams``, validated once),
:mod:`.privacy` (the public statements, ``privacy_event``), :mod:`.environment` (the
instances: the input data), :mod:`.reference` (the numpy oracle, the server's sync,
``confidence_radius``) and the kernels ``_numba`` / ``_jax`` (params only),
:mod:`.mechanism` (``simulate`` dispatch, ``tree_release``, ``SimulationResult``).
"""

from __future__ import annotations

from .environment import (
    MatrixEnvironment,
    SyntheticEnvironment,
    matrix_environment,
    synthetic_environment,
)
from .mechanism import SimulationResult, simulate, tree_release
from .params import PROTOCOLS, BanditParams
from .privacy import (
    ShuffleClaim,
    aggregate_noise_std,
    claimed_event,
    node_sigma,
    privacy_event,
    regularizer,
    silo_level_event,
)
from .reference import confidence_radius

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
    "aggregate_noise_std",
    "node_sigma",
    "regularizer",
]
