"""``dpkit demo`` section: a small federated linear bandit, non-private vs silo-level LDP.

Uses the public API of :mod:`dpkit.mechanisms.bandits` (Zhou & Chowdhury 2024).
"""

from __future__ import annotations

import numpy as np

from ..mechanisms.bandits import BanditParams, SimulationResult, simulate, synthetic_environment
from .part import DemoPart, budget_line, generator

__all__ = ["section"]


def section(rng: np.random.Generator) -> DemoPart:
    """4 silos, 20 arms, d = 5, T = 400: group regret without privacy and with ε = 4 silo LDP.

    Spends the silo-level LDP event (replace one user of one silo).
    """
    rng = generator(rng)
    env = synthetic_environment(5, 20, 4, 400, rng)
    part = DemoPart("Federated linear bandits (Private-FedLinUCB, silo-level LDP)")
    res: dict[str, SimulationResult] = {}
    for proto, eps in (("none", None), ("silo_ldp", 4.0)):
        p = BanditParams(4, 20, 5, 400, 20, proto, epsilon=eps,
                         delta=None if eps is None else 1e-5)
        res[proto] = simulate(p, env, rng, backend="numpy")
    ldp = BanditParams(4, 20, 5, 400, 20, "silo_ldp", epsilon=4.0, delta=1e-5)
    part.lines += [
        "M=4 silos, K=20 arms, d=5, T=400, batch 20 (synthetic instance of Zhou & Chowdhury 2024)",
        f"group regret R(T): non-private {res['none'].regret[-1]:.1f}, "
        f"silo LDP eps=4 {res['silo_ldp'].regret[-1]:.1f}",
        f"tree: {ldp.levels} levels, node sigma {ldp.node_sigma:.3g}, lambda "
        f"{ldp.regularization_value:.3g}",
    ]
    part.events.append((ldp.privacy_event(), 1))
    part.lines.append(budget_line(part.events))
    return part
