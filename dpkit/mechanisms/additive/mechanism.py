"""The additive mechanisms: params + query value + ``rng`` → noisy release.

Gaussian and Laplace draw their noise in floating point (``rng.normal`` / ``rng.laplace``;
*not* hardened against floating-point attacks, Mironov 2012; Jin et al. 2022); the discrete
Laplace and Gaussian mechanisms add noise from the exact samplers of :mod:`.reference`
(hardened with a SecureGenerator). No kernels: every mechanism draws from the generator
directly. Imports :mod:`.params` and :mod:`.reference`.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ...errors import DPKitError
from ...random import RNGLike, as_generator
from .params import (
    MAX_ABS_INPUT,
    DiscreteGaussianParams,
    DiscreteLaplaceParams,
    GaussianParams,
    LaplaceParams,
    Method,
    check_params,
    finite_input,
    integer_input,
)
from .reference import sample_discrete_gaussian, sample_discrete_laplace

__all__ = [
    "gaussian_mechanism",
    "laplace_mechanism",
    "discrete_laplace_mechanism",
    "discrete_gaussian_mechanism",
]


def _add_noise(x: np.ndarray, noise: np.ndarray) -> np.ndarray:
    if noise.size and int(np.abs(noise).max()) > MAX_ABS_INPUT:  # pragma: no cover
        raise DPKitError("internal: noise beyond 2**61 (probability below e^-1e6)")
    return x + noise


def gaussian_mechanism(params: GaussianParams, x: npt.ArrayLike, rng: RNGLike) -> np.ndarray:
    """Release x + N(0, (σΔ)²) independently on each coordinate.

    Law: y = x + σΔ·Z with Z standard normal, drawn in floating point by ``rng.normal``.
    Privacy: ρ-zCDP with ρ = 1/(2σ²) (RDP ε(α) = α/(2σ²)) when x is a query of L2
    sensitivity Δ under the chosen neighbouring relation; the event is
    ``params.privacy_event()`` (Mironov 2017, Prop. 7; Bun & Steinke 2016).

    NOT hardened against floating-point attacks (Mironov 2012; Jin et al. 2022), even with a
    SecureGenerator: use :func:`discrete_gaussian_mechanism` on a discretized query for that.

    Args:
        params: a :class:`GaussianParams`.
        x: the query value, a real number or array, all finite.
        rng: None, an int seed, a numpy Generator or a SecureGenerator.

    Returns:
        A float64 array of x's shape (a numpy float64 when x is a scalar).

    Raises:
        DPKitError: bad params or rng; NaN or inf in x (the message names the positions).

    >>> y = gaussian_mechanism(GaussianParams(1.0), [0.0, 10.0], rng=0)
    >>> y.shape
    (2,)
    """
    check_params(params, GaussianParams)
    arr = finite_input(x=x)
    gen = as_generator(rng)
    noise = np.asarray(gen.normal(0.0, params.std, size=arr.size), dtype=float)
    return arr + noise.reshape(arr.shape)


def laplace_mechanism(params: LaplaceParams, x: npt.ArrayLike, rng: RNGLike) -> np.ndarray:
    """Release x + Lap(bΔ) independently on each coordinate.

    Law: density exp(−|y − x|/(bΔ))/(2bΔ) per coordinate, drawn in floating point by
    ``rng.laplace``. Privacy: (1/b)-DP when x is a query of L1 sensitivity Δ under the chosen
    neighbouring relation (Dwork, McSherry, Nissim, Smith 2006; RDP: Mironov 2017, Prop. 6).

    NOT hardened against floating-point attacks (Mironov 2012): use
    :func:`discrete_laplace_mechanism` on a discretized query for that.

    Args:
        params: a :class:`LaplaceParams`.
        x: the query value, a real number or array, all finite.
        rng: None, an int seed, a numpy Generator or a SecureGenerator.

    Returns:
        A float64 array of x's shape (a numpy float64 when x is a scalar).

    Raises:
        DPKitError: bad params or rng; NaN or inf in x (the message names the positions).

    >>> y = laplace_mechanism(LaplaceParams.from_epsilon(1.0), 5.0, rng=0)
    >>> y.shape, bool(abs(y - 5.0) < 50)
    ((), True)
    """
    check_params(params, LaplaceParams)
    arr = finite_input(x=x)
    gen = as_generator(rng)
    noise = np.asarray(gen.laplace(0.0, params.scale, size=arr.size), dtype=float)
    return arr + noise.reshape(arr.shape)


def discrete_laplace_mechanism(
    params: DiscreteLaplaceParams, x: npt.ArrayLike, rng: RNGLike, *, method: Method = "auto"
) -> np.ndarray:
    """Release x + discrete Laplace noise (exact sampler) on each coordinate of an integer query.

    Law: y − x has pmf ∝ exp(−|k|/scale), k ∈ ℤ, independently per coordinate.
    Privacy: ε-DP with ε = Δ/scale when x is an integer query of L1 sensitivity Δ under the
    chosen neighbouring relation (Ghosh, Roughgarden, Sundararajan 2012; Canonne, Kamath,
    Steinke 2020); the event is ``params.privacy_event()``.

    Hardened against floating-point attacks (exact integer sampler; use a SecureGenerator for
    releases). The running time is random.

    Args:
        params: a :class:`DiscreteLaplaceParams`.
        x: integer-valued number or array (int dtype, or floats that are whole numbers).
        rng: None, an int seed, a numpy Generator or a SecureGenerator.
        method: "auto", "exact" or "fast" (see :func:`sample_discrete_laplace`).

    Returns:
        An int64 array of x's shape (a numpy int64 when x is a scalar).

    Raises:
        DPKitError: bad params, rng or method; NaN, inf, non-integers or |x| > 2**61 in x
            (the message names the positions).

    >>> discrete_laplace_mechanism(DiscreteLaplaceParams(2), [3, 4], rng=0).dtype
    dtype('int64')
    """
    check_params(params, DiscreteLaplaceParams)
    arr = integer_input(x=x)
    noise = np.asarray(sample_discrete_laplace(params.scale, arr.shape, rng, method=method))
    return _add_noise(arr, noise)


def discrete_gaussian_mechanism(
    params: DiscreteGaussianParams, x: npt.ArrayLike, rng: RNGLike, *, method: Method = "auto"
) -> np.ndarray:
    """Release x + discrete Gaussian noise (exact sampler) on each coordinate of an integer query.

    Law: y − x has pmf ∝ exp(−k²/(2σ²)), k ∈ ℤ, independently per coordinate.
    Privacy: ρ-zCDP with ρ = Δ²/(2σ²) when x is an integer query (scalar or vector) of L2
    sensitivity Δ under the chosen neighbouring relation (Canonne, Kamath, Steinke 2020,
    Thms. 14-15); the event is ``params.privacy_event()``.

    Hardened against floating-point attacks (exact integer sampler; use a SecureGenerator for
    releases). The running time is random.

    Args:
        params: a :class:`DiscreteGaussianParams`.
        x: integer-valued number or array (int dtype, or floats that are whole numbers).
        rng: None, an int seed, a numpy Generator or a SecureGenerator.
        method: "auto", "exact" or "fast" (see :func:`sample_discrete_gaussian`).

    Returns:
        An int64 array of x's shape (a numpy int64 when x is a scalar).

    Raises:
        DPKitError: bad params, rng or method; NaN, inf, non-integers or |x| > 2**61 in x
            (the message names the positions).

    >>> discrete_gaussian_mechanism(DiscreteGaussianParams(3), [[1, 2], [3, 4]], rng=0).shape
    (2, 2)
    """
    check_params(params, DiscreteGaussianParams)
    arr = integer_input(x=x)
    noise = np.asarray(sample_discrete_gaussian(params.sigma, arr.shape, rng, method=method))
    return _add_noise(arr, noise)
