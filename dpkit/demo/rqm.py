"""``dpkit demo`` section: federated means with randomized quantization (RQM).

Uses the public API of :mod:`dpkit.mechanisms.rqm` (Youn et al. 2023).
"""

from __future__ import annotations

import numpy as np

from ..mechanisms.rqm import RQMParams, aggregate, privacy_event, quantize
from .part import DemoPart, budget_line, generator

__all__ = ["section"]


def section(rng: np.random.Generator) -> DemoPart:
    """50 clients send a 4-dim update with RQM (2 bits per coordinate).

    Spends one event: one client, one round, pure local DP, replace-one.
    """
    rng = generator(rng)
    p = RQMParams(clip=1.0, extension=2.0, num_levels=4, keep_prob=0.25)
    truth = np.array([0.5, -0.2, 0.0, 0.9])
    clients = np.clip(truth + 0.3 * rng.standard_normal((50, 4)), -1.0, 1.0)
    idx = quantize(p, clients, rng, backend="numpy")
    est = aggregate(p, idx)
    ev = privacy_event(p, dimension=4)
    part = DemoPart("RQM: randomized quantization for federated means (Youn et al. 2023)")
    part.lines += [
        f"50 clients, d=4, c=1, Delta=2, m=4 levels ({p.bits} bits/coord), q=0.25",
        f"true mean   {np.round(clients.mean(axis=0), 3).tolist()}",
        f"RQM mean    {np.round(est, 3).tolist()}",
        f"per client: pure eps = {ev.epsilon_inf():.3f} (4 x {ev.epsilon_inf() / 4:.4f}, "
        "exact grid search), local DP replace-one",
    ]
    part.events.append((ev, 1))
    part.lines.append(budget_line(part.events))
    return part
