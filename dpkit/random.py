"""Explicit randomness: every sampler in dpkit takes ``rng``.

``as_generator(rng)`` turns what callers pass (``None``, an ``int`` seed, a
``numpy.random.Generator`` or a :class:`SecureGenerator`) into something with the NumPy
``Generator`` sampling methods. There is no module-level random state anywhere in dpkit.

Two tiers (see docs/security.md):

* the fast, reproducible tier: ``numpy.random.Generator`` (PCG64). Not a cryptographic source;
  seeds make runs repeatable for tests and experiments.
* the hardened tier: :func:`secure_generator` returns a :class:`SecureGenerator` that draws every
  bit from the operating system's CSPRNG (``os.urandom``). It refuses seeds. Use it in
  production releases together with dpkit's exact integer samplers
  (:mod:`dpkit.mechanisms.additive`), which consume only uniform integers and so inherit the
  strength of the source without floating-point artefacts.

  The numba kernels expand one 64-bit key with SplitMix64 (not cryptographic), so with a
  :class:`SecureGenerator` the mechanisms run their numpy reference path instead, drawing every
  random decision from the OS CSPRNG (:func:`route_backend`); ``backend="jax"`` refuses it.

Public values (an OLH user's hash seed, a KDE structure's public seed) are drawn from
:func:`public_generator`, never from the stream that draws private decisions.

With ``backend="jax"`` the same values (and JAX keys) become a JAX key by one rule,
``dpkit._jax_random.as_key`` (kept there so that importing this module never imports JAX): an
int seed gives the same output on every call on every backend.
"""

from __future__ import annotations

import hashlib
import math
import numbers
import os
from typing import Any, Union

import numpy as np

from .backend import resolve
from .errors import DPKitError

__all__ = ["SecureGenerator", "secure_generator", "as_generator", "RNGLike", "route_backend",
           "public_generator"]

_TWO53 = float(2**53)


class SecureGenerator:
    """A NumPy-``Generator``-like source backed by ``os.urandom`` (the OS CSPRNG).

    Implements the subset of the ``numpy.random.Generator`` interface that dpkit's samplers
    use: ``integers``, ``random``, ``standard_normal``, ``normal``, ``exponential``,
    ``laplace``, ``permutation``, ``bytes``. Every call reads fresh bytes from the OS (nothing
    is expanded by a user-space generator). Integer draws are exactly uniform (rejection
    sampling on 64-bit words), for any range of up to 2^64 values. Continuous draws are computed
    in floating point from 53-bit uniforms and are therefore *not* hardened against
    floating-point attacks (Mironov 2012); prefer the exact discrete samplers for releases.

    It cannot be seeded: ``SecureGenerator(42)`` raises a :class:`DPKitError`.
    """

    def __init__(self, *seed: Any, **kwargs: Any) -> None:
        if seed or kwargs:
            raise _unseedable()

    def _read(self, nbytes: int) -> bytes:
        """``nbytes`` bytes from the OS CSPRNG: the only source of every draw below."""
        return os.urandom(nbytes)

    def _words(self, n: int) -> np.ndarray:
        return np.frombuffer(self._read(8 * n), dtype=np.uint64).copy()

    def bytes(self, length: int) -> bytes:
        """``length`` bytes straight from the OS CSPRNG."""
        return self._read(int(length))

    def random(self, size: Any = None) -> float | np.ndarray:
        """Uniform floats in [0, 1) with 53 random bits each."""
        n = 1 if size is None else int(np.prod(size))
        u = (self._words(n) >> np.uint64(11)).astype(np.float64) / _TWO53
        return float(u[0]) if size is None else u.reshape(size)

    def integers(self, low: int, high: int | None = None, size: Any = None,
                 dtype: Any = np.int64, endpoint: bool = False) -> int | np.ndarray:
        """Exactly uniform integers in [low, high) (or [low, high] with ``endpoint``).

        Any range of at most 2^64 values whose ends fit ``dtype`` (int64 by default, or uint64:
        ``integers(0, 2**64, dtype=np.uint64)``), like ``numpy.random.Generator.integers``.
        """
        if high is None:
            low, high = 0, low
        lo, hi = int(low), int(high) - (0 if endpoint else 1)  # the inclusive range [lo, hi]
        span = hi - lo + 1
        if span <= 0:
            raise DPKitError(f"high must be > low, got low={low}, high={high}")
        dt = np.dtype(dtype)
        if dt.kind not in "iu":
            raise DPKitError(f"dtype must be an integer dtype, got {dt}")
        info = np.iinfo(dt)
        if lo < int(info.min) or hi > int(info.max):
            raise DPKitError(f"integers: range [{lo}, {hi}] does not fit dtype {dt} "
                             f"([{info.min}, {info.max}])")
        n = 1 if size is None else int(np.prod(size))
        if span == 2**64:  # the whole of uint64 (or int64): every word is one draw
            r = self._words(n)
        else:
            limit = (2**64 // span) * span  # accept words below the largest multiple of span
            r = np.empty(n, dtype=np.uint64)
            filled = 0
            while filled < n:
                need = n - filled
                w = self._words(need + need // 4 + 8)
                if limit < 2**64:
                    w = w[w < np.uint64(limit)]
                take = w[:need]
                r[filled:filled + take.size] = take % np.uint64(span)
                filled += take.size
        # lo + r, computed modulo 2^64 and read in the target type (exact: the sum is in range)
        out = (r + np.uint64(lo % 2**64)).view(np.int64 if dt.kind == "i" else np.uint64)
        out = out.astype(dt)
        return out[0].item() if size is None else out.reshape(size)

    def permutation(self, x: Any) -> np.ndarray:
        """A uniformly random permutation of ``range(x)`` (int) or of ``x`` along axis 0.

        Exact: the items are sorted by independent uniform 64-bit keys, and items whose keys
        tie get further independent keys until all are distinct (a uniform random order).
        """
        arr = np.arange(int(x)) if isinstance(x, (numbers.Integral, np.integer)) else \
            np.asarray(x)
        n = arr.shape[0] if arr.ndim else 0
        if arr.ndim == 0:
            raise DPKitError("permutation needs an int or an array with at least one axis")
        keys = [self._words(n)]
        while True:
            order = np.lexsort(keys[::-1])
            k = np.stack([c[order] for c in keys])
            tie = (k[:, 1:] == k[:, :-1]).all(axis=0)
            if not tie.any():
                return arr[order]
            keys.append(self._words(n))

    def standard_normal(self, size: Any = None) -> float | np.ndarray:
        """Standard normal draws (Box-Muller on OS-random uniforms)."""
        n = 1 if size is None else int(np.prod(size))
        u1 = 1.0 - np.atleast_1d(self.random(n))  # in (0, 1]
        u2 = np.atleast_1d(self.random(n))
        z = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * math.pi * u2)
        return float(z[0]) if size is None else z.reshape(size)

    def normal(self, loc: Any = 0.0, scale: Any = 1.0, size: Any = None) -> np.ndarray:
        """Normal draws ``loc + scale * Z``."""
        if size is None:
            size = np.broadcast(np.asarray(loc), np.asarray(scale)).shape or None
        return np.asarray(loc) + np.asarray(scale) * self.standard_normal(size)

    def exponential(self, scale: Any = 1.0, size: Any = None) -> np.ndarray:
        """Exponential draws by inversion."""
        if size is None:
            size = np.shape(scale) or None
        u = 1.0 - np.asarray(self.random(size))
        return -np.asarray(scale) * np.log(u)

    def laplace(self, loc: Any = 0.0, scale: Any = 1.0, size: Any = None) -> np.ndarray:
        """Laplace draws: a random sign times an exponential."""
        if size is None:
            size = np.broadcast(np.asarray(loc), np.asarray(scale)).shape or None
        e = np.asarray(self.exponential(1.0, size))
        s = np.where(np.asarray(self.integers(0, 2, size=np.shape(e) or None)) == 1, 1.0, -1.0)
        return np.asarray(loc) + np.asarray(scale) * s * e

    def __repr__(self) -> str:
        return "SecureGenerator(os.urandom)"


def _unseedable() -> DPKitError:
    return DPKitError("secure_generator() cannot be seeded, on purpose: a reproducible stream "
                      "is not a secret one. Use an int seed or numpy.random.default_rng(seed) "
                      "(the fast, reproducible tier) for tests and experiments")


def secure_generator(*seed: Any, **kwargs: Any) -> SecureGenerator:
    """The hardened randomness source: every bit from the OS CSPRNG (``os.urandom``).

    It cannot be seeded, on purpose: a reproducible stream is not a secret one, so
    ``secure_generator(42)`` raises a :class:`DPKitError`.
    """
    if seed or kwargs:
        raise _unseedable()
    return SecureGenerator()


def route_backend(backend: str, x: Any = None, rng: Any = None, *,
                  kernel_draws: bool = True) -> str:
    """The backend that runs a mechanism: :func:`dpkit.backend.resolve`, except in the
    hardened tier.

    With a :class:`SecureGenerator`: ``backend="jax"`` raises a :class:`DPKitError` (JAX
    kernels draw from a JAX key, not from the OS); "auto" and "numba" run "numpy" when the
    kernels draw random numbers themselves (``kernel_draws``: their SplitMix64 stream would
    expand one 64-bit key, not a cryptographic generator), so that every random decision is
    drawn from the OS CSPRNG. Kernels that draw nothing (``kernel_draws=False``: the noise
    is drawn on the host from ``rng``) keep "numba" (and "auto" picks numba or numpy).
    """
    if not isinstance(rng, SecureGenerator):
        return resolve(backend, x)
    if backend == "jax":
        raise DPKitError("backend='jax' cannot run the hardened tier: JAX kernels draw from a "
                         "JAX key, not from the OS CSPRNG. With a SecureGenerator use "
                         "backend='auto' or 'numpy' (docs/security.md)")
    if kernel_draws:
        resolve(backend)  # validates the name
        return "numpy"
    return resolve(backend)  # "auto" without x: numba when installed, else numpy


def public_generator(rng: Any) -> np.random.Generator | SecureGenerator:
    """A separate generator for values that will be published (OLH hash seeds, public seeds).

    A public value must never be an output of the stream that draws private decisions: from
    enough outputs of a statistical generator (PCG64, SplitMix64, MT19937) its state, and so
    every other output, can be recovered. With a :class:`SecureGenerator` this is a new
    :class:`SecureGenerator` (fresh OS bytes, never used for a private draw). Otherwise 256
    bits are drawn from ``rng`` and hashed with SHA-256 (a one-way function) into the seed of
    a new PCG64 generator: the published values reveal at most that hash, never the caller's
    stream, and an int seed still gives reproducible results.
    """
    gen = as_generator(rng)
    if isinstance(gen, SecureGenerator):
        return SecureGenerator()
    words = np.asarray(gen.integers(0, 2**32, size=8), dtype=np.uint32)
    digest = hashlib.sha256(b"dpkit.public_generator\x00" + words.astype("<u4").tobytes()).digest()
    return np.random.default_rng(int.from_bytes(digest, "little"))


RNGLike = Union[None, int, np.random.Generator, SecureGenerator]  # noqa: UP007 (runtime alias)


def as_generator(rng: RNGLike) -> np.random.Generator | SecureGenerator:
    """Normalise ``rng`` (None | int seed | Generator | SecureGenerator) for NumPy code.

    ``None`` gives a fresh generator seeded from OS entropy (not reproducible). An ``int``
    gives ``numpy.random.default_rng(seed)``. JAX keys are refused here with a message that
    points to ``backend="jax"``.
    """
    if isinstance(rng, (np.random.Generator, SecureGenerator)):
        return rng
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, (numbers.Integral, np.integer)) and not isinstance(rng, bool):
        if int(rng) < 0:
            raise DPKitError(f"rng seed must be >= 0, got {rng}")
        return np.random.default_rng(int(rng))
    if isinstance(rng, np.random.RandomState):
        raise DPKitError(
            "rng must be a numpy.random.Generator, an int seed or None; legacy RandomState is "
            "not accepted (use numpy.random.default_rng)"
        )
    if type(rng).__module__.startswith(("jax", "jaxlib")):
        raise DPKitError(
            "rng is a JAX key: pass backend='jax' (JAX keys drive the JAX kernels only)"
        )
    raise DPKitError(
        f"rng must be None, an int seed, a numpy.random.Generator or a SecureGenerator, "
        f"got {type(rng).__name__}"
    )
