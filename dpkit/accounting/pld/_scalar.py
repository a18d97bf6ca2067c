"""Scalar formulas shared by the pairs (plain ``math`` on floats) and the numba kernels (which
compile them): one formula for both paths."""

from __future__ import annotations

import math

__all__ = ["sgm_z"]


def sgm_z(t: float, q: float, s2: float, log_q: float) -> float:
    """The noise value z where the subsampled Gaussian's remove loss
    log(1 − q + q·e^{(2z−1)/(2σ²)}) equals t (s2 = σ², log_q = log q); −inf at or below
    log(1 − q). Plain ``math`` on floats: the scalar path of the pairs, and compiled by numba
    inside the fused discretization (one formula for both)."""
    if t > 0.0:
        # log(e^t − 1 + q) = t + log1p(−(1 − q)e^{−t}) (no overflow at t > 709)
        log_inner = t + math.log1p(-(1.0 - q) * math.exp(-t))
    else:
        inner = math.expm1(t) + q
        if not inner > 0.0:
            return -math.inf
        log_inner = math.log(inner)
    return s2 * (log_inner - log_q) + 0.5
