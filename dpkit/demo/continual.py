"""``dpkit demo`` section: a 0/1 event stream counted privately by every counter kind.

Uses the public API of :mod:`dpkit.mechanisms.continual`.
"""

from __future__ import annotations

import math

import numpy as np

from ..mechanisms.continual import KINDS, CounterParams, max_variance, run
from .part import DemoPart, budget_line, generator

__all__ = ["section"]


def section(rng: np.random.Generator) -> DemoPart:
    """A 4096-step stream counted by each counter kind at ρ = 0.05 zCDP.

    Spends one event per counter (zCDP, zero-out one step of the stream).
    """
    rng = generator(rng)
    T = 4096
    rho = 0.05
    stream = (rng.random(T) < 0.3).astype(np.float64)
    truth = np.cumsum(stream)
    part = DemoPart(f"Continual counting: {T}-step 0/1 stream, each counter rho={rho} zCDP")
    part.lines.append(f"true final count {int(truth[-1])}")
    for kind in KINDS:
        p = CounterParams.for_rho(kind, T, rho, relation="add_remove")
        est = np.asarray(run(p, stream, rng, backend="numpy"))
        err = np.abs(est - truth)
        part.lines.append(f"{kind:8s} final {est[-1]:8.1f}  max|err| {err.max():6.1f}  "
                          f"max error sd (theory) {math.sqrt(max_variance(p)):5.2f}")
        part.events.append((p.privacy_event(), 1))
    part.lines.append(budget_line(part.events))
    return part
