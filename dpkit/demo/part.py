"""What a ``dpkit demo`` section returns, and the one check on its ``rng``.

Kept apart from :mod:`dpkit.demo` itself so that the section modules can import it while the
package imports them: part <- sections <- ``dpkit.demo``, no import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import _validate as V
from ..accounting import Event

__all__ = ["DemoPart", "generator"]


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
