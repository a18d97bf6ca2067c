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

JAX keys are handled by the JAX kernels themselves, not here.
"""

from __future__ import annotations

import math
import numbers
import os
from typing import Any, Union

import numpy as np

from .errors import DPKitError

__all__ = ["SecureGenerator", "secure_generator", "as_generator", "RNGLike"]

_TWO53 = float(2**53)


class SecureGenerator:
    """A NumPy-``Generator``-like source backed by ``os.urandom`` (the OS CSPRNG).

    Implements the subset of the ``numpy.random.Generator`` interface that dpkit's samplers
    use: ``integers``, ``random``, ``standard_normal``, ``normal``, ``exponential``,
    ``laplace``, ``bytes``. Integer draws are exactly uniform (rejection sampling on 64-bit
    words). Continuous draws are computed in floating point from 53-bit uniforms and are
    therefore *not* hardened against floating-point attacks (Mironov 2012); prefer the exact
    discrete samplers for releases.
    """

    def _words(self, n: int) -> np.ndarray:
        return np.frombuffer(os.urandom(8 * n), dtype=np.uint64).copy()

    def bytes(self, length: int) -> bytes:
        """``length`` bytes straight from the OS CSPRNG."""
        return os.urandom(int(length))

    def random(self, size: Any = None) -> Any:
        """Uniform floats in [0, 1) with 53 random bits each."""
        n = 1 if size is None else int(np.prod(size))
        u = (self._words(n) >> np.uint64(11)).astype(np.float64) / _TWO53
        return float(u[0]) if size is None else u.reshape(size)

    def integers(
        self, low: int, high: int | None = None, size: Any = None, endpoint: bool = False
    ) -> Any:
        """Exactly uniform integers in [low, high) (or [low, high] with ``endpoint``)."""
        if high is None:
            low, high = 0, low
        span = int(high) - int(low) + (1 if endpoint else 0)
        if span <= 0:
            raise DPKitError(f"high must be > low, got low={low}, high={high}")
        n = 1 if size is None else int(np.prod(size))
        if span > 2**62:
            raise DPKitError(f"integer range must be at most 2**62, got {span}")
        limit = (2**64 // span) * span  # accept words below the largest multiple of span
        out = np.empty(n, dtype=np.int64)
        filled = 0
        while filled < n:
            need = n - filled
            w = self._words(need + need // 4 + 8)
            w = w[w < np.uint64(limit)] if limit < 2**64 else w
            take = w[:need]
            out[filled:filled + take.size] = (take % np.uint64(span)).astype(np.int64) + int(low)
            filled += take.size
        return int(out[0]) if size is None else out.reshape(size)

    def standard_normal(self, size: Any = None) -> Any:
        """Standard normal draws (Box-Muller on OS-random uniforms)."""
        n = 1 if size is None else int(np.prod(size))
        u1 = 1.0 - np.atleast_1d(self.random(n))  # in (0, 1]
        u2 = np.atleast_1d(self.random(n))
        z = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * math.pi * u2)
        return float(z[0]) if size is None else z.reshape(size)

    def normal(self, loc: Any = 0.0, scale: Any = 1.0, size: Any = None) -> Any:
        """Normal draws ``loc + scale * Z``."""
        if size is None:
            size = np.broadcast(np.asarray(loc), np.asarray(scale)).shape or None
        return np.asarray(loc) + np.asarray(scale) * self.standard_normal(size)

    def exponential(self, scale: Any = 1.0, size: Any = None) -> Any:
        """Exponential draws by inversion."""
        if size is None:
            size = np.shape(scale) or None
        u = 1.0 - np.asarray(self.random(size))
        return -np.asarray(scale) * np.log(u)

    def laplace(self, loc: Any = 0.0, scale: Any = 1.0, size: Any = None) -> Any:
        """Laplace draws: a random sign times an exponential."""
        if size is None:
            size = np.broadcast(np.asarray(loc), np.asarray(scale)).shape or None
        e = np.asarray(self.exponential(1.0, size))
        s = np.where(np.asarray(self.integers(0, 2, size=np.shape(e) or None)) == 1, 1.0, -1.0)
        return np.asarray(loc) + np.asarray(scale) * s * e

    def __repr__(self) -> str:
        return "SecureGenerator(os.urandom)"


def secure_generator() -> SecureGenerator:
    """The hardened randomness source: every bit from the OS CSPRNG (``os.urandom``).

    It cannot be seeded, on purpose: a reproducible stream is not a secret one.
    """
    return SecureGenerator()


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
