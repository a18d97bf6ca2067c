"""The public functions of the continual counters: params + items + ``rng`` → releases.

:func:`step` (streaming, one item) and :func:`run` (a whole stream) draw the unit noise from
``rng`` and hand it to a deterministic core: the numpy reference (:mod:`.reference`), the numba
kernel (:mod:`._numba`) or the JAX kernel (:mod:`._jax`, which draws from a JAX key), the two
kernels imported only when used. :func:`run_with_noise` runs the core on given noise. The exact
error of every kind (:func:`expected_variance`, :func:`max_variance`) lives here too. Privacy:
:func:`~dpkit.mechanisms.continual.privacy.privacy_event` for the whole run.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ... import _validate as V
from ...backend import resolve
from ...errors import DPKitError
from ...random import RNGLike, as_generator, route_backend
from ._strategy import _sqrt_cumsq, blt_inverse_parameters, sqrt_coefficients
from .params import CounterParams, check_params, honaker_weights
from .reference import (
    CounterState,
    advance_checked,
    next_step,
    noise_rows,
    prepare,
    prepare_stream,
    run_reference,
    sqrt_batch,
    total_noise_rows,
    unit_noise,
)

if TYPE_CHECKING:
    import jax

__all__ = ["step", "run", "run_with_noise", "expected_variance", "max_variance"]


def step(params: CounterParams, state: CounterState, x: npt.ArrayLike,
         rng: RNGLike) -> tuple[CounterState, np.ndarray | float]:
    """Feed one item and publish the private prefix sum y_t (pure; returns a new state).

    Pure: the same (params, state, x, rng state) give the same output; ``state`` is not
    modified. The item may be chosen adaptively from earlier outputs (the guarantee holds for
    adaptive streams; Denisov et al. 2022). Privacy:
    :func:`~dpkit.mechanisms.continual.privacy_event` for the whole run.

    Args:
        params: a :class:`~dpkit.mechanisms.continual.CounterParams`.
        state: from :func:`~dpkit.mechanisms.continual.init` or a previous step.
        x: the item, a float (d = 1) or an array of shape (d,); finite, norm ≤ bound (or
            clipped with ``clip=True``).
        rng: numpy Generator or int seed.

    Returns:
        (new state, y_t): a float for d = 1, else an array (d,).

    Raises:
        DPKitError: non-finite or out-of-bound item, wrong shape, or a step beyond the horizon.
    """
    p = check_params(params)
    gen = as_generator(rng)
    t = next_step(p, state)
    z = unit_noise(p, gen, (noise_rows(p, t), p.dimension))
    xv = prepare(p, x, "x", batch=False)
    new, y = advance_checked(p, state, xv, z)
    return new, (float(y[0]) if p.dimension == 1 else y)


def _run_prepared(p: CounterParams, xs: np.ndarray, z: np.ndarray, which: str) -> np.ndarray:
    """The deterministic core over prepared items and their unit noise, on ``which``."""
    if p.kind == "sqrt":
        return sqrt_batch(p, xs, z)
    if which == "numba":
        from . import _numba

        return _numba.run(p, xs, z)
    if which == "jax":
        raise DPKitError("run_with_noise does not take backend='jax' (JAX draws its own noise "
                         "from a key); use run(..., backend='jax')")
    return run_reference(p, xs, z)


def run_with_noise(params: CounterParams, stream: npt.ArrayLike, noise: npt.ArrayLike, *,
                   backend: str = "numpy") -> np.ndarray:
    """Run a whole stream with given unit noise (deterministic); see :func:`run`.

    ``noise`` has ``total_noise_rows(params, T)`` rows of d unit draws (standard normal, or
    standard Laplace), consumed in step order. With the same noise, the numpy reference and
    the numba kernel agree to rounding. "sqrt" uses the FFT batch product on every backend.

    Raises:
        DPKitError: bad params, items or noise (not finite, or not of that many rows), or
            ``backend="jax"``.
    """
    p = check_params(params)
    xs = prepare_stream(p, stream)
    T = xs.shape[0]
    z = V.finite_array(noise=noise)
    need = total_noise_rows(p, T)
    if z.size != need * p.dimension:
        raise DPKitError(f"noise must have {need} rows of dimension {p.dimension} for {T} "
                         f"steps, got shape {z.shape}")
    out = _run_prepared(p, xs, z.reshape(need, p.dimension), resolve(backend, stream))
    return out.reshape(np.shape(stream)) if p.dimension == 1 else out


def run(params: CounterParams, stream: npt.ArrayLike, rng: RNGLike | jax.Array, *,
        backend: str = "auto") -> np.ndarray | jax.Array:
    """Run a whole stream: the private prefix sums ``y_1..y_T`` (same shape as ``stream``).

    Equivalent in law to T calls of :func:`step`. Privacy:
    :func:`~dpkit.mechanisms.continual.privacy_event` (event-level neighbours; ρ = s²/(2σ²)-zCDP
    with Gaussian noise, ε-DP with Laplace noise).

    Args:
        params: a :class:`~dpkit.mechanisms.continual.CounterParams`.
        stream: (T,) or (T, d) items, T ≤ horizon; finite, norm ≤ bound (or clipped).
        rng: numpy Generator or int seed; for ``backend="jax"`` a JAX PRNG key (or an int
            seed, turned into ``jax.random.key``); a SecureGenerator (the hardened tier: all
            noise drawn on the host from the OS CSPRNG; the numba kernel draws nothing) with
            "auto", "numpy" or "numba", never "jax".
        backend: "numpy" (the step-by-step reference), "numba", "jax" (``lax.scan``) or
            "auto" (JAX for a JAX array, else numba when installed). "sqrt" always runs the
            O(T log T) FFT product (numpy, or ``jnp.fft`` for JAX).

    Returns:
        The estimates, shape of ``stream`` (a JAX array for the JAX backend).

    Raises:
        DPKitError: non-finite or out-of-bound items, T > horizon, bad backend.
    """
    p = check_params(params)
    which = route_backend(backend, stream, rng, kernel_draws=False)
    xs = prepare_stream(p, stream)  # the one check of the stream, for every backend
    if which == "jax":
        from . import _jax

        coefs = sqrt_coefficients(xs.shape[0]) if p.kind == "sqrt" else None
        ys = _jax.run(p, xs, rng, coefs)
        return ys.reshape(np.shape(stream)) if p.dimension == 1 else ys
    gen = as_generator(rng)  # type: ignore[arg-type]  # a JAX key only reaches the JAX branch
    z = unit_noise(p, gen, (total_noise_rows(p, xs.shape[0]), p.dimension))
    out = _run_prepared(p, xs, z, which)
    return out.reshape(np.shape(stream)) if p.dimension == 1 else out


# ================================================================ exact error
@lru_cache(maxsize=16)
def _blt_error_terms(theta: tuple[float, ...], omega: tuple[float, ...]) -> tuple[
        complex, np.ndarray, np.ndarray]:
    lam, alpha = blt_inverse_parameters(theta, omega)
    beta = alpha / (1.0 - lam)
    e_inf = 1.0 + beta.sum()
    return complex(e_inf), lam, beta


def _blt_error_factor(params: CounterParams, t: np.ndarray) -> np.ndarray:
    """Σ_{k<t} e_k² for the coefficients e_k = Σ_{m≤k} (C^{−1})_m of B = A C^{−1}.

    With (C^{−1})_m = Σ_i α_i λ_i^{m−1}: e_k = e_∞ − Σ_i β_i λ_i^k, β_i = α_i/(1 − λ_i),
    e_∞ = 1 + Σ_i β_i, and the sum of squares is a finite geometric series.
    """
    assert params.blt_theta is not None and params.blt_omega is not None  # validated "blt"
    e_inf, lam, beta = _blt_error_terms(params.blt_theta, params.blt_omega)
    tt = t.astype(np.float64)[..., None]
    geo1 = np.expm1(tt * np.log(lam)) / np.expm1(np.log(lam))  # Σ_{k<t} λ^k
    ll = np.outer(lam, lam).reshape(-1)
    bb = np.outer(beta, beta).reshape(-1)
    geo2 = np.expm1(tt * np.log(ll)) / np.expm1(np.log(ll))
    val = (t * e_inf**2 - 2.0 * e_inf * (geo1 @ beta) + geo2 @ bb)
    return np.real(val)


def _variance_factor(params: CounterParams, t: np.ndarray) -> np.ndarray:
    kind = params.kind
    if kind == "tree":
        return np.array([bin(int(v)).count("1") for v in t.reshape(-1)],
                        dtype=np.float64).reshape(t.shape)
    if kind == "honaker":
        w = honaker_weights(params.levels)  # v_h/σ² = w_h
        flat = t.reshape(-1)
        out = np.zeros(flat.shape, dtype=np.float64)
        for h in range(params.levels):
            out += np.where((flat >> h) & 1, w[h], 0.0)
        return out.reshape(t.shape)
    if kind == "sqrt":
        cum = privacy_cumsq(params.horizon)
        return cum[t - 1]
    return _blt_error_factor(params, t)


def privacy_cumsq(horizon: int) -> np.ndarray:
    """G(t) = Σ_{k<t} c_k² for t = 1..T (read-only, cached)."""
    return _sqrt_cumsq(int(horizon))


def expected_variance(params: CounterParams, t: npt.ArrayLike) -> float | np.ndarray:
    """Exact per-coordinate variance of the error y_t − S_t at step t (1 ≤ t ≤ horizon).

    * tree: popcount(t)·σ_n² (σ_n² = :attr:`CounterParams.noise_std`², 2b² for Laplace);
    * honaker: σ_n²·Σ_{h: bit h of t} 2^h/(2^{h+1}−1);
    * sqrt: σ_n²·Σ_{k<t} c_k²;
    * blt: σ_n²·Σ_{k<t} e_k², e the Toeplitz coefficients of A C^{−1} (closed form).

    The error is unbiased (mean 0) for every kind. Vectorized over t: a float for a scalar t,
    else an array of t's shape.

    Raises:
        DPKitError: bad params, or t not integer steps in [1, horizon].
    """
    p = check_params(params)
    try:
        tt = np.asarray(t)
    except (TypeError, ValueError) as exc:
        raise DPKitError(f"t must be an integer step in [1, {p.horizon}]: {exc}") from None
    integral = tt.dtype.kind in "iu" or (tt.dtype.kind == "f" and bool(np.all(tt == np.floor(tt))))
    # range checked before any cast to int64 (a float 1e300 or a uint64 2**63 would wrap)
    if not integral or (tt.size and (np.any(tt < 1) or np.any(tt > p.horizon))):
        raise DPKitError(f"t must be an integer step in [1, {p.horizon}] (1 ≤ t ≤ horizon), "
                         f"got {t!r}")
    ti = tt.astype(np.int64)
    out = p.noise_std**2 * _variance_factor(p, ti)
    return float(out) if np.ndim(t) == 0 else out


def max_variance(params: CounterParams) -> float:
    """max_{t ≤ T} expected_variance(params, t), exactly.

    Tree kinds: at the t ≤ T with the most set bits (heaviest low bits); sqrt and BLT: at t = T
    (their error variance is non-decreasing in t).
    """
    p = check_params(params)
    T = p.horizon
    if p.kind in ("tree", "honaker"):
        # candidates: T itself and, for each set bit h ≥ 1 of T, T with bit h cleared and all
        # lower bits set (the largest-popcount numbers ≤ T); Honaker weights decrease in h, so
        # the same candidates cover it.
        cands = [T] + [((T >> h) << h) - 1 for h in range(1, T.bit_length()) if (T >> h) & 1]
        cands = [c for c in cands if c >= 1]
        return float(np.max(expected_variance(p, np.array(cands, dtype=np.int64))))
    return float(expected_variance(p, T))
