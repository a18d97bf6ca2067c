"""RQM's public functions: encode (with backend dispatch), decode and aggregate.

:func:`quantize` takes params + data + ``rng`` and runs the numpy reference
(:mod:`.reference`), the numba kernel (:mod:`._numba`) or the JAX kernel (:mod:`._jax`),
chosen by :func:`dpkit.random.route_backend`; the kernels are imported lazily (optional
backends). :func:`decode`, :func:`aggregate` and :func:`aggregate_sums` are the server side
(post-processing, no privacy cost).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import numpy as np
import numpy.typing as npt

from ... import _validate as V
from ...errors import DPKitError
from ...random import RNGLike, as_generator, route_backend
from ._exact import level_values
from .params import RQMParams, check_params, index_array, real_input
from .reference import quantize_reference

if TYPE_CHECKING:
    import jax

__all__ = ["quantize", "decode", "aggregate", "aggregate_sums"]


def quantize(params: RQMParams, x: npt.ArrayLike | jax.Array, rng: RNGLike | jax.Array, *,
             backend: str = "auto") -> np.ndarray | jax.Array:
    """Encode x with RQM: integer level indices, coordinate-wise and independent.

    Definition: see the package docstring (level subsampling with keep probability q, then
    unbiased randomized rounding between the nearest kept levels); x is clamped to [−c, c]
    (ℓ∞ clipping) first.

    Privacy: for one scalar, exact RDP ε(α) = max_{x,x'∈[−c,c]} D_α(P_x ‖ P_x') (local DP,
    replace-one: any two inputs); a d-vector costs d·ε(α). The event is
    ``privacy_event(params, dimension=d)``. Not hardened against floating-point attacks.
    Youn, Hu, Ziani, Abernethy 2023 (arXiv:2306.11913).

    Args:
        params: an :class:`~dpkit.mechanisms.rqm.RQMParams`.
        x: number or array (a JAX array selects the JAX kernel under "auto").
        rng: None, an int seed, a numpy Generator or SecureGenerator (numpy / numba); a JAX
            PRNG key (``backend="jax"``). With a SecureGenerator (the hardened tier) "auto"
            and "numba" run the numpy reference, every draw from the OS CSPRNG, and "jax" is
            refused (docs/security.md).
        backend: "auto" (numba when installed, JAX for JAX arrays), "numpy" (the reference
            geometric-walk sampler), "numba" or "jax".

    Returns:
        Indices in {0..m−1} of dtype ``params.index_dtype`` (uint8 for m ≤ 256, else uint16),
        x's shape: a numpy array, or a JAX array for the JAX backend.

    Raises:
        DPKitError: bad params, rng or backend; x not real numbers in a rectangular array
            (strings, None, complex, ragged lists) on every backend; NaN/inf in x (the
            message names the positions; NaN is never clamped).

    >>> p = RQMParams(clip=1.0, extension=1.0, num_levels=16, keep_prob=0.5)
    >>> idx = quantize(p, np.zeros(200_000), rng=0, backend="numpy")
    >>> abs(float(decode(p, idx).mean())) < 0.01   # unbiased
    True
    """
    p = check_params(params)
    which = route_backend(backend, x, rng)
    x = real_input(x)  # the one check of x for every backend (a JAX array stays on device)
    if which == "jax":
        from ._jax import quantize_jax

        return quantize_jax(p, x, rng)
    host_rng = cast(RNGLike, rng)  # not the JAX backend: as_generator refuses a JAX key
    if which == "numba":
        from ._numba import quantize_numba

        # the kernel itself refuses NaN/inf (naming the positions)
        return quantize_numba(p, np.asarray(x), as_generator(host_rng))
    return quantize_reference(p, x, host_rng, sampler="walk")


def decode(params: RQMParams, indices: npt.ArrayLike) -> np.ndarray:
    """Level values B_k = −R + k·s of integer indices (float64, the indices' shape).

    Post-processing: no privacy cost.

    Raises:
        DPKitError: bad params, non-integer indices or indices outside {0..m−1}.
    """
    p = check_params(params)
    return level_values(p, index_array(p, indices))


def aggregate_sums(params: RQMParams, sums: npt.ArrayLike, count: int) -> np.ndarray:
    """Unbiased mean from the integer sum S of ``count`` clients' indices (secure aggregation).

    mean = −R + s·S/n, which equals (1/n) Σ_i B_{z_i}; unbiased for (1/n) Σ_i x_i. A modulus of
    at least n(m − 1) + 1 avoids wrap-around in secure aggregation. Post-processing: no
    privacy cost.
    """
    p = check_params(params)
    n = V.integer(minimum=1, count=count)
    s = np.asarray(sums)
    if s.dtype.kind not in "iu":
        raise DPKitError(f"sums must be an integer array, got dtype {s.dtype}")
    s = s.astype(np.int64)
    if ((s < 0) | (s > n * (p.num_levels - 1))).any():
        raise DPKitError(f"sums must be in [0, count*(num_levels-1)] = [0, "
                         f"{n * (p.num_levels - 1)}]")
    return -p.half_width + p.spacing * (s.astype(np.float64) / n)


def aggregate(params: RQMParams, indices: npt.ArrayLike) -> np.ndarray:
    """Unbiased mean of n clients' encodings: indices of shape (n, ...) → mean of shape (...).

    The indices are summed exactly in int64 (compatible with secure aggregation), then decoded
    once: −R + s·S/n (spec §6). Post-processing: no privacy cost.

    >>> p = RQMParams(1.0, 1.0, 4, 0.5)
    >>> aggregate(p, np.array([[0, 3], [3, 3]])).tolist()
    [0.0, 2.0]
    """
    p = check_params(params)
    k = index_array(p, indices)
    if k.ndim == 0:
        raise DPKitError("indices must have a leading client axis, got a scalar")
    total = k.sum(axis=0, dtype=np.int64)
    return aggregate_sums(p, total, k.shape[0])
