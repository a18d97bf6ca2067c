"""Exceptions raised by dpkit.

Every error a user can trigger with bad input is a :class:`DPKitError`, which subclasses
:class:`ValueError`, so ``except ValueError`` keeps working for callers that do not know dpkit.
"""

from __future__ import annotations

__all__ = [
    "DPKitError",
    "InfeasibleTargetError",
    "BudgetExceededError",
    "UnsupportedEventError",
    "IncompatibleRelationError",
    "PLDUnavailableError",
    "PLDNumericalError",
]


class DPKitError(ValueError):
    """Base class of every dpkit error caused by the caller's input."""


class InfeasibleTargetError(DPKitError):
    """A privacy target that no value of the searched parameter can reach.

    The message states the best value that *is* reachable, so the caller can relax the target.
    """


class BudgetExceededError(DPKitError):
    """An operation would spend more privacy budget than the caller allowed."""


class UnsupportedEventError(DPKitError):
    """A privacy event (or a nesting of events) that the accountant cannot bound soundly."""


class IncompatibleRelationError(DPKitError):
    """Events stated for different neighbouring relations were composed together."""


class PLDUnavailableError(DPKitError):
    """A ledger holding an event with no certified dominating pair (only an RDP/zCDP bound)."""


class PLDNumericalError(DPKitError):
    """A ledger whose PLD the engine cannot represent in floating point (extreme parameters,
    e.g. a noise scale near 0 composed ~1e18 times); its RDP bound (``method="rdp"``, or
    ``"auto"``, which falls back to it) still holds."""
