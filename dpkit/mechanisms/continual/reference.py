"""The numpy reference of the continual counters: the law every kernel is tested against.

The state is an immutable :class:`CounterState` of read-only arrays. One step is split in two
(the randomness is drawn once, then a pure core consumes it): :func:`noise_rows` says how many
unit draws step t needs, and :func:`advance` is the deterministic step given them. The numba
(:mod:`._numba`) and JAX (:mod:`._jax`) kernels reproduce this core; :func:`run_reference`
runs it over a whole stream and :func:`sqrt_batch` is the square-root kind's O(T log T) FFT
form of the same law. Privacy: :mod:`.privacy` (the release is ``y = A x + B z``, a
post-processing of the Gaussian or Laplace mechanism on ``Cx``).

>>> import numpy as np
>>> from dpkit.mechanisms.continual.params import CounterParams
>>> p = CounterParams("tree", 4, noise_multiplier=1.0, relation="add_remove")
>>> state, y = advance(p, init(p), 1.0, np.zeros((1, 1)))
>>> state.t, y
(1, array([1.]))
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from ... import _validate as V
from ...errors import DPKitError
from ...random import SecureGenerator
from .. import _dyadic
from ._strategy import sqrt_coefficients
from .params import CounterParams, check_params, honaker_weights

__all__ = ["CounterState", "init", "noise_rows", "advance"]


class CounterState(NamedTuple):
    """Immutable counter state: arrays are read-only; ``step`` returns a new record.

    Attributes:
        t: steps taken so far.
        partial: (L, d) exact sums of the open left nodes (tree kinds; (0, d) otherwise).
        nodes: (L, d) released node values: noisy sums (tree) or Honaker estimates.
        buffers: (b, d) BLT buffers of the noise recursion ((0, d) otherwise).
        history: (T, d) unit noise of every step so far ("sqrt" only; (0, d) otherwise).
        total: (d,) exact running sum ("sqrt").
        noisy_total: (d,) running sum of x_t + ζ_t ("blt").
    """

    t: int
    partial: np.ndarray
    nodes: np.ndarray
    buffers: np.ndarray
    history: np.ndarray
    total: np.ndarray
    noisy_total: np.ndarray

    @property
    def size(self) -> int:
        """Number of stored floats (the memory of the streaming counter)."""
        return int(sum(a.size for a in self[1:]))


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def _state_shapes(p: CounterParams) -> tuple[tuple[int, ...], ...]:
    """The shapes of partial, nodes, buffers, history, total, noisy_total for these params."""
    d, L = p.dimension, p.levels
    tree = p.kind in ("tree", "honaker")
    return ((L if tree else 0, d), (L if tree else 0, d),
            (p.blt_buffers if p.kind == "blt" else 0, d),
            (p.horizon if p.kind == "sqrt" else 0, d), (d,), (d,))


def init(params: CounterParams) -> CounterState:
    """The state before the first step: O(L·d) floats for the tree kinds, O(b·d) for BLT,
    O(T·d) for "sqrt"."""
    p = check_params(params)
    return CounterState(0, *(_frozen(np.zeros(shape)) for shape in _state_shapes(p)))


def noise_rows(params: CounterParams, t: int) -> int:
    """How many unit noise draws (rows of d) step t consumes: ctz(t)+1 for "honaker", else 1.

    Raises:
        DPKitError: bad params, or t not an integer step in [1, horizon].
    """
    p = check_params(params)
    t = V.integer(minimum=1, maximum=p.horizon, t=t)
    return _rows(p, t)


def _rows(p: CounterParams, t: int) -> int:
    return _dyadic.lowbit_level(t) + 1 if p.kind == "honaker" else 1


def total_noise_rows(params: CounterParams, steps: int) -> int:
    """Σ_{t ≤ steps} noise_rows(params, t): 2·steps − popcount(steps) for "honaker"."""
    if params.kind == "honaker":
        return 2 * steps - bin(steps).count("1")
    return steps


def check_state(p: CounterParams, state: object) -> CounterState:
    """A state of these params: t in [0, horizon], arrays of init's shapes, all finite."""
    if not isinstance(state, CounterState):
        raise DPKitError(f"state must be a CounterState (from init or step), got "
                         f"{type(state).__name__}")
    V.integer(minimum=0, maximum=p.horizon, **{"state.t": state.t})
    for name, arr, shape in zip(CounterState._fields[1:], state[1:], _state_shapes(p),
                                strict=True):
        if not isinstance(arr, np.ndarray) or arr.dtype != np.float64 or arr.shape != shape:
            raise DPKitError(f"state.{name} must be a float64 array of shape {shape} for these "
                             f"params (use init), got {getattr(arr, 'shape', type(arr))}")
        if not np.isfinite(arr).all():
            raise DPKitError(f"state.{name} must be finite")
    return state


def next_step(p: CounterParams, state: object) -> int:
    """t + 1 for a valid state, refused beyond the horizon."""
    t = check_state(p, state).t + 1
    if t > p.horizon:
        raise DPKitError(f"step {t} is beyond horizon = {p.horizon}: the privacy statement "
                         "covers at most horizon steps")
    return t


# ================================================================ input checks
def _norms(x: np.ndarray, params: CounterParams) -> np.ndarray:
    if params.dimension == 1:
        return np.abs(x[..., 0])
    if params.noise == "laplace":
        return np.sum(np.abs(x), axis=-1)
    return np.sqrt(np.sum(x * x, axis=-1))


def prepare(params: CounterParams, x: npt.ArrayLike, name: str, batch: bool) -> np.ndarray:
    """Validate items (finite, right shape, within the bound or clipped) as float64 (…, d)."""
    try:
        scalar = np.ndim(x) == 0
    except (TypeError, ValueError):  # e.g. a ragged list: finite_array names the problem
        scalar = False
    arr = V.finite_array(**{name: [x] if scalar else x})
    if scalar:
        arr = arr.reshape(())
    d = params.dimension
    lead = 1 if batch else 0
    if d == 1 and arr.ndim == lead:
        arr = arr[..., None]
    if arr.ndim != lead + 1 or arr.shape[-1] != d:
        want = "(T,) or (T, d)" if batch else "a scalar or (d,)"
        raise DPKitError(f"{name} must have shape {want} with d = dimension = {d}, got shape "
                         f"{np.shape(x)}")
    norms = _norms(arr, params)
    over = norms > params.bound
    if np.any(over):
        if not params.clip:
            where = np.flatnonzero(np.atleast_1d(over))[:5].tolist()
            raise DPKitError(f"{name} must have norm <= bound = {params.bound:g} (or pass "
                             f"clip=True); violated at step index(es) {where}, norm "
                             f"{float(np.max(norms)):.6g}")
        factor = np.where(over, params.bound / np.where(over, norms, 1.0), 1.0)
        arr = arr * factor[..., None]
    return arr


def prepare_stream(params: CounterParams, stream: npt.ArrayLike) -> np.ndarray:
    """A whole stream as validated float64 (T, d) items, T ≤ horizon."""
    arr = prepare(params, stream, "stream", batch=True)
    if arr.shape[0] > params.horizon:
        raise DPKitError(f"stream has {arr.shape[0]} steps, beyond horizon = {params.horizon}")
    return arr


# ================================================================ the reference step
def advance(params: CounterParams, state: CounterState, x: npt.ArrayLike,
            unit_noise: npt.ArrayLike) -> tuple[CounterState, np.ndarray]:
    """One deterministic step given its unit noise: ``(state, y_t)``.

    ``unit_noise`` has ``noise_rows(params, t)`` rows of d standard normal (Gaussian) or
    standard Laplace draws; :func:`~dpkit.mechanisms.continual.step` draws them from ``rng``.
    This is the numpy reference every kernel is checked against. Returns y_t as an array of
    shape (d,).

    Raises:
        DPKitError: bad params or state, a step beyond the horizon, a bad item, or unit noise
            that is not finite or not of ``noise_rows(params, t)`` rows of d.
    """
    p = check_params(params)
    t = next_step(p, state)
    xv = prepare(p, x, "x", batch=False)
    z = V.finite_array(unit_noise=unit_noise)
    rows = _rows(p, t)
    if z.size != rows * p.dimension:
        raise DPKitError(f"unit_noise must have {rows} rows of dimension {p.dimension} at "
                         f"step {t}, got shape {z.shape}")
    return advance_checked(p, state, xv, z.reshape(rows, p.dimension))


def advance_checked(p: CounterParams, state: CounterState, xv: np.ndarray,
                    z: np.ndarray) -> tuple[CounterState, np.ndarray]:
    """The core of :func:`advance` on checked values: ``state`` valid with t < horizon, ``xv``
    a prepared (d,) item, ``z`` its (noise_rows, d) unit noise."""
    t = state.t + 1
    scale = p.noise_scale
    partial, nodes = state.partial.copy(), state.nodes.copy()
    buffers, history = state.buffers, state.history
    total, noisy_total = state.total, state.noisy_total
    if p.kind == "tree":
        h = _dyadic.lowbit_level(t)
        exact = xv + partial[:h].sum(axis=0)
        partial[:h] = 0.0
        nodes[:h] = 0.0
        partial[h] = exact
        nodes[h] = exact + scale * z[0]
        y = nodes.sum(axis=0)  # slot h is non-zero exactly when bit h of t is set
    elif p.kind == "honaker":
        hstar = _dyadic.lowbit_level(t)
        w = honaker_weights(p.levels)
        exact = xv.copy()
        u = exact + scale * z[0]  # the new leaf: u = its noisy value
        for h in range(1, hstar + 1):
            exact = exact + partial[h - 1]  # left child's exact sum + right child's
            noisy = exact + scale * z[h]
            u = w[h] * noisy + (1.0 - w[h]) * (nodes[h - 1] + u)
        partial[:hstar] = 0.0
        nodes[:hstar] = 0.0
        partial[hstar] = exact
        nodes[hstar] = u
        y = nodes.sum(axis=0)
    elif p.kind == "blt":
        omega = np.asarray(p.blt_omega)
        theta = np.asarray(p.blt_theta)
        zeta = scale * z[0] - omega @ buffers
        buffers = theta[:, None] * buffers + zeta[None, :]
        noisy_total = noisy_total + xv + zeta
        y = noisy_total.copy()
    else:  # sqrt: y_t = S_t + scale·Σ_{k<t} c_k z_{t−k}
        history = history.copy()
        history[t - 1] = z[0]
        c = sqrt_coefficients(t)
        total = total + xv
        y = total + scale * (c[::-1] @ history[:t])
    new = CounterState(t, _frozen(partial), _frozen(nodes), _frozen(np.asarray(buffers)),
                       _frozen(history), _frozen(np.asarray(total)),
                       _frozen(np.asarray(noisy_total)))
    return new, y


def unit_noise(params: CounterParams, gen: np.random.Generator | SecureGenerator,
               shape: tuple[int, ...]) -> np.ndarray:
    """Unit draws of ``shape``: standard normal (Gaussian noise) or standard Laplace."""
    if params.noise == "gaussian":
        return np.asarray(gen.standard_normal(shape))
    return np.asarray(gen.laplace(0.0, 1.0, shape))


# ================================================================ whole streams
def sqrt_batch(params: CounterParams, xs: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """y = prefix sums + scale·(A^{1/2} z), the Toeplitz product by FFT (O(T log T))."""
    T = xs.shape[0]
    c = sqrt_coefficients(T)
    n = 1 << max(1, (2 * T - 1).bit_length())
    fc = np.fft.rfft(c, n)
    fz = np.fft.rfft(noise, n, axis=0)
    conv = np.fft.irfft(fc[:, None] * fz, n, axis=0)[:T]
    return np.cumsum(xs, axis=0) + params.noise_scale * conv


def run_reference(params: CounterParams, xs: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """The step-by-step reference over prepared items ``xs`` (T, d) and their unit noise
    (``total_noise_rows(params, T)`` rows of d, consumed in step order)."""
    state = init(params)
    out = np.empty_like(xs)
    pos = 0
    for i in range(xs.shape[0]):
        m = _rows(params, i + 1)
        state, y = advance_checked(params, state, xs[i], noise[pos:pos + m])
        pos += m
        out[i] = y
    return out
