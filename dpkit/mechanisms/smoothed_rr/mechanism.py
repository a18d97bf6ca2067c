"""The public functions of smoothed and classic randomized response (Liu & Rahimian 2025).

:func:`respond` takes params, signals and ``rng`` and dispatches to a backend: the numpy
reference (:mod:`.reference`), the numba kernel (:mod:`._numba`) or the JAX kernel
(:mod:`._jax`), the two kernels imported only when used. The non-random helpers
(:func:`flip_probability`, :func:`prob_positive`) and classic RR (:func:`respond_classic`,
numpy only) live here too; the privacy statement ``privacy_event(params)`` is in
:mod:`.privacy`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import numpy as np
import numpy.typing as npt

from ...random import RNGLike, as_generator, route_backend
from .params import (
    ClassicRRParams,
    Method,
    SmoothedRRParams,
    check_method,
    check_params,
    finite_signal,
    signal_array,
    threshold_array,
)
from .reference import respond_reference

if TYPE_CHECKING:
    import jax

__all__ = ["respond", "respond_classic", "flip_probability", "prob_positive"]


# ================================================================ output law
def flip_probability(params: SmoothedRRParams, signal: npt.ArrayLike, *,
                     threshold: npt.ArrayLike | None = None) -> np.ndarray:
    """Exact flip probability u(v) = ½·exp(−ε·|v − t|/Δ) (after clipping, if any).

    Liu & Rahimian 2025 (spec §3.1). Privacy: see :class:`SmoothedRRParams`.

    Args:
        params: a :class:`SmoothedRRParams`.
        signal: finite real signal(s) v, any shape.
        threshold: optional per-signal thresholds (broadcast to the signal); default
            ``params.threshold``.

    Returns:
        Float array of the signal's shape, values in (0, ½].

    Raises:
        DPKitError: wrong params type, NaN/inf signal or threshold.

    >>> float(flip_probability(SmoothedRRParams(1.0), 0.0))
    0.5
    """
    check_params(params, SmoothedRRParams)
    v = signal_array(params, signal)
    t = threshold_array(params, threshold, v.shape)
    return 0.5 * np.exp(-params.rate * np.abs(v - t))


def prob_positive(params: SmoothedRRParams, signal: npt.ArrayLike, *,
                  threshold: npt.ArrayLike | None = None) -> np.ndarray:
    """P(x = +1 | v) = F((v − t)/Δ), the Laplace(0, 1/ε) CDF (spec §3.1; exact).

    Same arguments and errors as :func:`flip_probability`.

    >>> round(float(prob_positive(SmoothedRRParams(1.0), -1.0)), 6)
    0.18394
    """
    check_params(params, SmoothedRRParams)
    v = signal_array(params, signal)
    t = threshold_array(params, threshold, v.shape)
    z = params.rate * (v - t)
    return np.where(z > 0, 1.0 - 0.5 * np.exp(-np.abs(z)), 0.5 * np.exp(-np.abs(z)))


# ================================================================ releases
def respond(params: SmoothedRRParams, signal: npt.ArrayLike, rng: RNGLike | jax.Array, *,
            threshold: npt.ArrayLike | None = None, method: Method = "flip",
            backend: str = "auto") -> np.ndarray | jax.Array:
    """Release smoothed-RR bits x ∈ {−1, +1} (int8) for each signal, vectorized.

    Definition: a = sign(v − t) (−1 at ties), x = −a with probability ½·exp(−ε|v − t|/Δ)
    (``method="flip"``), or x = sign(v − t + Lap(Δ/ε)) (``method="laplace"``, numpy only);
    the two are equal in law (Liu & Rahimian 2025; spec §3.1).

    Privacy: ε-DP per signal for |v − v'| ≤ Δ (replacement when clipped); one release per
    signal. Not hardened against floating-point attacks.

    Args:
        params: a :class:`SmoothedRRParams`.
        signal: finite real signals, any shape (a JAX array selects the JAX kernel).
        rng: int seed / numpy Generator (every backend) or a JAX PRNG key (``backend="jax"``);
            a SecureGenerator (the hardened tier) runs the numpy reference under "auto" and
            "numba", every draw from the OS CSPRNG, and is refused by "jax".
        threshold: optional per-signal thresholds t (broadcast); default ``params.threshold``.
        method: "flip" or "laplace".
        backend: "auto" | "numpy" | "numba" | "jax".

    Returns:
        int8 array of ±1 with the signal's shape (a JAX array for the JAX backend).

    Raises:
        DPKitError: wrong params type, NaN/inf signals or thresholds, bad method/backend/rng.

    >>> respond(SmoothedRRParams(2.0), [-3.0, 0.5, 4.0], rng=0, backend="numpy").tolist()
    [-1, 1, 1]
    """
    check_params(params, SmoothedRRParams)
    check_method(method)
    b = route_backend(backend, signal, rng)
    if b == "jax":
        from ._jax import respond_jax

        v = signal_array(params, signal)
        t = threshold_array(params, threshold, v.shape)
        return respond_jax(v, t, params.rate, rng)
    # numpy and numba draw from as_generator(rng), which refuses a JAX key with a DPKitError
    gen_rng = cast("RNGLike", rng)
    if b == "numba" and method == "flip":
        from ..._numba_random import seed_key
        from ._numba import respond_numba

        v = signal_array(params, signal)
        t = threshold_array(params, threshold, v.shape)
        key = seed_key(as_generator(gen_rng))
        out = respond_numba(np.ascontiguousarray(v, dtype=np.float64).reshape(-1),
                            np.ascontiguousarray(t, dtype=np.float64).reshape(-1),
                            params.rate, key)
        return out.reshape(v.shape)
    return respond_reference(params, signal, gen_rng, threshold=threshold, method=method)


def respond_classic(params: ClassicRRParams, signal: npt.ArrayLike, rng: RNGLike, *,
                    threshold: npt.ArrayLike | None = None) -> np.ndarray:
    """Classic randomized response on a = sign(v − t): x = −a with probability 1/(1 + e^ε).

    Privacy: ε-DP under arbitrary replacement of the signal (Warner 1965). numpy only; not
    hardened against floating-point attacks (a SecureGenerator draws from the OS CSPRNG).

    Raises:
        DPKitError: wrong params type, NaN/inf signals or thresholds, bad rng.

    >>> respond_classic(ClassicRRParams(20.0), [-1.0, 2.0], rng=0).tolist()
    [-1, 1]
    """
    check_params(params, ClassicRRParams)
    arr = finite_signal(signal)
    t = threshold_array(params, threshold, arr.shape)
    a = np.where(arr > t, 1, -1).astype(np.int8)
    flip = as_generator(rng).random(arr.shape) < params.flip
    return np.where(flip, -a, a).astype(np.int8)
