"""What a ``dpkit demo`` section returns, and the one check on its ``rng``.

Kept apart from :mod:`dpkit.demo` itself so that the section modules can import it while the
package imports them: part <- sections <- ``dpkit.demo``, no import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import _validate as V
from ..accounting import Accountant, EpsilonResult, Event

__all__ = ["DemoPart", "generator", "methods_text", "budget_line", "SECTION_DELTA"]

#: δ at which a section reports what it spent (the composed budgets use the same).
SECTION_DELTA = 1e-6


@dataclass
class DemoPart:
    """What a demo section did: printable lines and the (event, count) pairs it spent."""

    title: str
    lines: list[str] = field(default_factory=list)
    events: list[tuple[Event, int]] = field(default_factory=list)


def generator(rng: object) -> np.random.Generator:
    """``rng`` itself when it is a ``numpy.random.Generator``; otherwise DPKitError naming it.

    Every section draws all its randomness from the one generator ``run_demo`` seeds, so the
    whole demo is reproducible from ``--seed``.
    """
    return V.generator(rng=rng)


def methods_text(res: EpsilonResult) -> str:
    """``PLD; RDP gives 1.2813``: the method that decided ``res`` (an ``method="auto"``
    result) and the other method's number when it was computed."""
    if res.method == "pld":
        return "PLD" + ("" if res.rdp_epsilon is None else f"; RDP gives {res.rdp_epsilon:.4f}")
    return "RDP" + ("" if res.pld_epsilon is None else f"; PLD gives {res.pld_epsilon:.4f}")


def budget_line(events: list[tuple[Event, int]], delta: float = SECTION_DELTA) -> str:
    """``spends epsilon = 0.1892 at delta = 1e-06 (PLD; RDP gives 0.2068)``: the (ε, δ) of a
    section's events composed (``method="auto"``: the smaller of the certified RDP and PLD
    bounds), naming the method that decided and giving the other one's number."""
    res = Accountant().compose_many(events).epsilon_details(delta, method="auto")
    return f"spends epsilon = {res.epsilon:.4f} at delta = {delta:g} ({methods_text(res)})"
