"""``dpkit demo`` section: the DP-SGD budget of an MNIST-sized run, and its calibration.

Uses only the accountant (:mod:`dpkit.accounting.dpsgd`); no data is touched.
"""

from __future__ import annotations

import math

import numpy as np

from ..accounting import dpsgd
from .part import DemoPart, generator, methods_text

__all__ = ["section"]


def section(rng: np.random.Generator) -> DemoPart:
    """ε of 15 epochs of DP-SGD (N = 60 000, batch 256, σ = 1.1, δ = 1e-5) and the σ for ε = 3,
    each by ``method="auto"`` (the smaller of the certified RDP and PLD bounds), with the RDP
    numbers beside them.

    Spends ``(dpsgd.event(σ, q), steps)``: Poisson-sampled Gaussian, add/remove one example.
    """
    generator(rng)  # draws nothing, but takes the same argument as every section
    n, batch, epochs, sigma = 60_000, 256, 15, 1.1
    q = batch / n
    steps = math.ceil(epochs * n / batch)
    res = dpsgd.epsilon_details(sigma, q, steps, 1e-5, method="auto")
    target = 3.0
    calibrated = dpsgd.noise_multiplier(target, 1e-5, q, steps, method="auto")
    by_rdp = dpsgd.noise_multiplier(target, 1e-5, q, steps, method="rdp")
    part = DemoPart("DP-SGD budget (MNIST-sized run)")
    part.lines += [
        f"N={n}, batch={batch}, {epochs} epochs -> q={q:.5f}, {steps} steps, sigma={sigma}",
        f"epsilon = {res.epsilon:.4f} at delta = 1e-5 ({methods_text(res)})",
        f"noise multiplier for epsilon = {target}: {calibrated:.4f} "
        f"(spends {dpsgd.epsilon(calibrated, q, steps, 1e-5):.4f}; RDP alone needs "
        f"{by_rdp:.4f})",
    ]
    part.events.append((dpsgd.event(sigma, q), steps))
    return part
