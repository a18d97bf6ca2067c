"""The numpy reference of smoothed randomized response: the law every kernel is tested against.

Liu & Rahimian 2025 (spec §3.1). ``method="flip"``: a = sign(v − t) (−1 at ties), x = −a with
probability ½·exp(−ε|v − t|/Δ); ``method="laplace"``: x = sign(v − t + Lap(Δ/ε)). The two
routes are equal in law (P(x = +1 | v) = F((v − t)/Δ), F the Laplace(0, 1/ε) CDF).

Privacy: ε-DP per signal for |v − v'| ≤ Δ (replacement when clipped). Sampling is in floating
point: not hardened against floating-point attacks, except that with a SecureGenerator every
draw comes from the OS CSPRNG.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ...random import RNGLike, as_generator
from .params import (
    Method,
    SmoothedRRParams,
    check_method,
    check_params,
    signal_array,
    threshold_array,
)

__all__ = ["respond_reference"]


def respond_reference(params: SmoothedRRParams, signal: npt.ArrayLike, rng: RNGLike, *,
                      threshold: npt.ArrayLike | None = None,
                      method: Method = "flip") -> np.ndarray:
    """numpy reference of :func:`~dpkit.mechanisms.smoothed_rr.respond` (the kernels' oracle).

    Same definition, privacy statement and errors as ``respond``; always numpy, drawing from
    ``as_generator(rng)`` (a SecureGenerator draws every uniform from the OS).

    >>> respond_reference(SmoothedRRParams(2.0), [-3.0, 0.5, 4.0], rng=0).tolist()
    [-1, 1, 1]
    """
    check_params(params, SmoothedRRParams)
    v = signal_array(params, signal)
    t = threshold_array(params, threshold, v.shape)
    g = as_generator(rng)
    check_method(method)
    if method == "flip":
        a = np.where(v > t, 1, -1).astype(np.int8)
        flip = g.random(v.shape) < 0.5 * np.exp(-params.rate * np.abs(v - t))
        return np.where(flip, -a, a).astype(np.int8)
    z = g.laplace(0.0, 1.0 / params.rate, size=v.shape)
    return np.where(v - t + z > 0, 1, -1).astype(np.int8)
