"""Privacy statements, noise calibration and the binary tree of the federated bandits.

Paper: Xingyu Zhou, Sayak Ray Chowdhury, "On Differentially Private Federated Linear Contextual
Bandits", ICLR 2024 (arXiv:2302.13945) [ZC24]. Tree: Dwork, Naor, Pitassi, Rothblum 2010;
Chan, Shi, Song 2011. zCDP: Bun & Steinke 2016.

Neighbouring relation (every statement here): two local datasets of one silo that differ in
**one user**, i.e. one round's pair (x, y) replaced by (x', y') with ‖x‖₂, ‖x'‖₂ ≤ L and
|y|, |y'| ≤ B (``"replace_one"``). The other silos' data are fixed and arbitrary.

The derivations (tree combinatorics, sensitivities, calibration, the events of a params-shaped
object) are in the private ``_privacy_math``, which sits below :mod:`.params` so that the
params' calibrated properties can use it; this module re-exports its public names on top of
the params and holds :func:`privacy_event`, the public statement of a
:class:`~dpkit.mechanisms.bandits.BanditParams`.
"""

from __future__ import annotations

from ...accounting.events import Event
from ._privacy_math import CLAIM_SOURCE as CLAIM_SOURCE
from ._privacy_math import GAUSSIAN_PROTOCOLS as GAUSSIAN_PROTOCOLS
from ._privacy_math import VECTOR_SUM_BIT_PROB as VECTOR_SUM_BIT_PROB
from ._privacy_math import BanditParamsLike as BanditParamsLike
from ._privacy_math import (
    ShuffleClaim,
    aggregate_noise_std,
    amplification_sigma,
    claimed_event,
    covering_nodes,
    gram_sensitivity,
    joint_sensitivity,
    ldp_noise_multiplier,
    legacy_code_sigma_ldp,
    lowbit_level,
    node_sigma,
    num_levels,
    prefix_nodes,
    regularizer,
    run_event,
    silo_level_event,
    vector_sum_parameters,
)
from ._privacy_math import joint_sensitivity_of as joint_sensitivity_of
from ._privacy_math import vector_sum_node_std as vector_sum_node_std
from ._privacy_math import vector_sum_schedule as vector_sum_schedule
from .params import BanditParams

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
    "privacy_event",
    "silo_level_event",
    "claimed_event",
]


def privacy_event(params: BanditParams) -> Event:
    """The privacy statement of one run, per silo, as a dpkit.accounting event.

    Neighbouring relation: replace one user (one round's (x, y), ‖x‖ ≤ L, |y| ≤ B) at one
    silo; other silos arbitrary. [ZC24] Zhou & Chowdhury, ICLR 2024.

    * "none": ``Gaussian(0)``, i.e. ε = ∞ (no privacy).
    * "silo_ldp": ``Repeated(Gaussian(σ₀/Δ, relation="replace_one"), n_lvl)``, calibrated by
      the accountant to (ε, δ) at the requested δ.
    * "shuffle_amplification": the same silo-level Gaussian statement at the (smaller) actual
      σ₀, which holds whatever the shuffler does. The amplified (ε, δ) of [ZC24] is not
      certified by dpkit (see :func:`claimed_event`).
    * "shuffle_vector_sum": the claim :class:`~dpkit.accounting.ClaimedApproxDP` (ε, δ)
      (alias ``ShuffleClaim``), uncertified: ε = ∞ in an Accountant.

    Raises:
        DPKitError: ``params`` is not a :class:`~dpkit.mechanisms.bandits.BanditParams`.

    >>> ev = privacy_event(BanditParams(10, 100, 10, 10_000, 25, "silo_ldp", epsilon=1.0,
    ...                                 delta=1e-5))
    >>> type(ev).__name__, ev.count
    ('Repeated', 9)
    """
    return run_event(params)
