"""Float rounding constants shared by the PLD engine's passes and their numba kernels (a leaf
module: the kernels import it without importing the engine)."""

from __future__ import annotations

import numpy as np

__all__ = ["UNIT_ROUNDOFF", "TILT_ROUNDING"]

#: u = 2⁻⁵³, the unit roundoff of float64.
UNIT_ROUNDOFF = float(np.finfo(np.float64).eps) / 2
#: Relative rounding allowance, per unit of log-magnitude, of the tilt and untilt passes
#: (:mod:`._kernels`): each step (log, a product, a sum, exp, a division) costs ≤ 4 ulp = 8u
#: in numpy's SIMD loops or libm, on an argument of size |x| an absolute ≤ u·|x|.
TILT_ROUNDING = 8.0 * UNIT_ROUNDOFF
