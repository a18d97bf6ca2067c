"""dpkit: differential-privacy mechanisms with one sound accountant (RDP / zCDP and PLD).

``import dpkit`` loads numpy and scipy only; numba, JAX and torch load on first use.
"""

from .accounting import (
    ZCDP,
    Accountant,
    ApproxDP,
    ClaimedApproxDP,
    Composed,
    DiscreteGaussian,
    DiscreteLaplace,
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
)
from .errors import (
    BudgetExceededError,
    DPKitError,
    IncompatibleRelationError,
    InfeasibleTargetError,
    UnsupportedEventError,
)

__version__ = "0.1.0"

__all__ = [
    "Accountant", "Gaussian", "Laplace", "RandomizedResponse", "PureDP", "ZCDP", "RDPCurve",
    "ClaimedApproxDP", "ApproxDP", "PMFPairs", "DiscreteLaplace", "DiscreteGaussian",
    "PoissonSampled", "SampledWithoutReplacement", "Composed", "Repeated",
    "event_from_dict",
    "DPKitError", "InfeasibleTargetError", "BudgetExceededError", "UnsupportedEventError",
    "IncompatibleRelationError", "__version__",
]
