"""The shared accountant: Rényi-DP / zCDP curves and certified privacy loss distributions.

Events describe what mechanisms cost; :class:`Accountant` composes them and converts to
(ε, δ) by RDP, by PLD (:mod:`.pld`) or by the smaller of the two (``method="auto"``);
:mod:`.calibrate` finds parameters for a target; :mod:`.dpsgd` wraps DP-SGD.
"""

from . import calibrate, conversions, dpsgd, rdp
from .accountant import DEFAULT_ORDERS, Accountant, EpsilonResult, accountant_from_json
from .conversions import rdp_to_delta, rdp_to_epsilon, zcdp_to_delta, zcdp_to_epsilon
from .events import (
    ADD_REMOVE,
    MAX_EVENT_DEPTH,
    REPLACE_ONE,
    ZCDP,
    ApproxDP,
    ClaimedApproxDP,
    Composed,
    DiscreteGaussian,
    DiscreteLaplace,
    Event,
    Gaussian,
    Laplace,
    PMFPairs,
    PoissonSampled,
    PureDP,
    RandomizedResponse,
    RDPCurve,
    Repeated,
    SampledWithoutReplacement,
    event_from_dict,
    ledger_from_json,
)

__all__ = [
    "Accountant", "EpsilonResult", "DEFAULT_ORDERS", "Event", "Gaussian", "Laplace",
    "RandomizedResponse", "PureDP", "ZCDP", "RDPCurve", "ClaimedApproxDP", "ApproxDP", "PMFPairs",
    "DiscreteLaplace", "DiscreteGaussian", "PoissonSampled",
    "SampledWithoutReplacement", "Composed", "Repeated", "event_from_dict", "ledger_from_json",
    "accountant_from_json", "ADD_REMOVE", "MAX_EVENT_DEPTH",
    "REPLACE_ONE", "rdp_to_epsilon", "rdp_to_delta", "zcdp_to_epsilon", "zcdp_to_delta",
    "calibrate", "conversions", "dpsgd", "rdp",
]
