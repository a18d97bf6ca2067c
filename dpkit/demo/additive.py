"""``dpkit demo`` section: a census-style release with each additive mechanism.

Uses the public API of :mod:`dpkit.mechanisms.additive`.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from ..mechanisms.additive import (
    DiscreteGaussianParams,
    DiscreteLaplaceParams,
    GaussianParams,
    LaplaceParams,
    discrete_gaussian_mechanism,
    discrete_laplace_mechanism,
    gaussian_mechanism,
    laplace_mechanism,
)
from .part import DemoPart, budget_line, generator

__all__ = ["section"]


def section(rng: np.random.Generator) -> DemoPart:
    """Four synthetic counts (sensitivity 1) and two clipped means (L2 sensitivity 100).

    Spends one event per release: Laplace ε = 0.5, discrete Laplace (scale 4), discrete
    Gaussian (σ = 6) and Gaussian (σ = 800).
    """
    rng = generator(rng)
    counts = np.array([1203, 877, 45, 3120])  # synthetic per-region counts (sensitivity 1)
    mean_income = np.array([41_250.0, 38_900.0])  # clipped means, L2 sensitivity 100
    g = GaussianParams(noise_multiplier=8.0, sensitivity=100.0)
    lap = LaplaceParams.from_epsilon(0.5, sensitivity=1.0)
    dl = DiscreteLaplaceParams(scale=Fraction(4), sensitivity=1)
    dg = DiscreteGaussianParams(sigma=Fraction(6), sensitivity=1)
    part = DemoPart("Additive mechanisms on synthetic census counts")
    part.lines += [
        f"true counts {counts.tolist()}",
        f"Laplace (eps=0.5)          {np.round(laplace_mechanism(lap, counts, rng), 1).tolist()}",
        f"discrete Laplace (scale 4) {discrete_laplace_mechanism(dl, counts, rng).tolist()}",
        f"discrete Gaussian (sigma 6){discrete_gaussian_mechanism(dg, counts, rng).tolist()}",
        f"Gaussian means (sigma=800) {np.round(gaussian_mechanism(g, mean_income, rng)).tolist()}",
        "exact integer samplers: hardened with dpkit.random.secure_generator()",
    ]
    part.events += [(lap.privacy_event(), 1), (dl.privacy_event(), 1), (dg.privacy_event(), 1),
                    (g.privacy_event(), 1)]
    part.lines.append(budget_line(part.events))
    return part
