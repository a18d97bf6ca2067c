"""``dpkit demo`` section: private ℓ1 distance sums and a Gaussian KDE on synthetic points.

Uses the public API of :mod:`dpkit.mechanisms.kde` (Backurs et al. 2024).
"""

from __future__ import annotations

import numpy as np

from ..mechanisms.kde import KDEParams, build, exact_sums, query
from .part import DemoPart, budget_line, generator

__all__ = ["section"]


def section(rng: np.random.Generator) -> DemoPart:
    """5000 points in [-1, 1]²: an ℓ1 noisy tree and a Gaussian RFF sketch, 3 queries each.

    Spends both releases' events (pure ε = 0.5 each, add/remove one point).
    """
    rng = generator(rng)
    x = np.clip(rng.normal(0.0, 0.4, (5000, 2)), -1.0, 1.0)
    y = np.array([[0.0, 0.0], [0.5, -0.5], [1.0, 1.0]])
    p1 = KDEParams("l1", epsilon=0.5, radius=1.0, size_hint=256)
    pg = KDEParams("gaussian", epsilon=0.5, radius=1.0, bandwidth=0.5, features=256)
    s1 = build(p1, x, rng, backend="numpy")
    sg = build(pg, x, rng, backend="numpy")
    part = DemoPart("KDE / similarity queries: noisy trees and RFF sketches (Backurs et al. 2024)")
    part.lines += [
        "5000 points in [-1,1]^2, 3 queries; eps = 0.5 per structure, add/remove one point",
        f"l1 sums  true {np.round(exact_sums(p1, x, y)).tolist()}",
        f"         DP   {np.round(query(s1, y, backend='numpy')).tolist()}",
        f"gauss    true {np.round(exact_sums(pg, x, y)).tolist()}",
        f"         DP   {np.round(query(sg, y, backend='numpy')).tolist()}",
    ]
    part.events += [(s1.event, 1), (sg.event, 1)]
    part.lines.append(budget_line(part.events))
    return part
