"""Counter-based SplitMix64 random words for the numba kernels (shared by all mechanisms).

A kernel draws one 64-bit ``key`` per call from the caller's numpy Generator
(:func:`seed_key`) and then reads position ``counter`` of that stream as

    word(key, counter) = mix(key + (counter + 1)·φ),   φ = 0x9E3779B97F4A7C15,

the ``counter``-th output of SplitMix64 seeded with ``key`` (Steele, Lea & Flood, "Fast
splittable pseudorandom number generators", OOPSLA 2014; the finaliser ``mix`` is Stafford's
"Mix13" variant of the MurmurHash3 finaliser). Being a pure function of (key, counter), the
stream gives the same results for any number of threads and any ``prange`` schedule.
Per-item streams use ``stream(key, i) = mix(key + i·φ₂)`` as their key (φ₂ =
0xD1B54A32D192ED03, another odd constant): distinct items get distinct keys, since i ↦ i·φ₂
and ``mix`` are bijections of uint64.

Uniforms: :func:`uniform` = top 53 bits · 2^−53 ∈ [0, 1) (P(U < p) = ⌈p·2^53⌉·2^−53: p is
resolved to 2^−53 absolute); :func:`uniform_open` = (top 53 bits + ½)·2^−53 ∈ (0, 1) (cell
midpoints; log of it is finite). For tails use the log-space pair, as in the JAX layer
(:mod:`dpkit._jax_random`): :func:`log_uniform` = log((w + ½)·2^−64) of the whole word (cells
2^−64, values in [−45.05, 0)) and :func:`bernoulli` (key, counter, log p, log(1 − p)), decided
on the side of min(p, 1 − p), so P(True) = p to 2^−64 even for p or 1 − p = 1e-12 (a 53-bit
uniform compared with p would turn a probability below 2^−54 into 0: an impossible output
under one input and a possible one under a neighbour). SplitMix64 is a statistical generator,
not a cryptographic one: these kernels serve the fast tier only (:func:`seed_key` refuses a
SecureGenerator; the hardened tier runs the numpy reference), and they are not hardened
against floating-point attacks (docs/security.md).

Note on numba's cache: ``cache=True`` kernels that inline these functions are not
recompiled when only this file changes; clear the kernels' ``__pycache__`` after editing it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

from .errors import DPKitError
from .random import SecureGenerator, as_generator

__all__ = ["GOLDEN", "GOLDEN2", "mix", "word", "stream", "uniform", "uniform_open", "log_uniform",
           "bernoulli", "seed_key", "unmix_int", "key_for_word"]

#: SplitMix64's increment (2^64 / golden ratio, odd).
GOLDEN = np.uint64(0x9E3779B97F4A7C15)
#: Increment for per-item stream keys (an odd constant from the R2 sequence).
GOLDEN2 = np.uint64(0xD1B54A32D192ED03)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53
_INV64 = 2.0**-64
_LOG_HALF = math.log(0.5)
_NEG_TINY = -2.2250738585072014e-308  # −(smallest normal float64)


@njit(cache=True, inline="always")
def mix(z: np.uint64) -> np.uint64:
    """SplitMix64's output finaliser: a bijection of uint64 (Steele, Lea, Flood 2014)."""
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@njit(cache=True, inline="always")
def word(key: np.uint64, counter: Any) -> np.uint64:
    """Output number ``counter`` (0-based) of SplitMix64 seeded with ``key``."""
    return mix(key + (np.uint64(counter) + np.uint64(1)) * GOLDEN)


@njit(cache=True, inline="always")
def stream(key: np.uint64, index: Any) -> np.uint64:
    """The key of item ``index``'s own stream (read it with :func:`word`)."""
    return mix(key + np.uint64(index) * GOLDEN2)


@njit(cache=True, inline="always")
def uniform(key: np.uint64, counter: Any) -> float:
    """A uniform in [0, 1) on the 2^−53 grid from :func:`word` (key, counter)."""
    return np.int64(word(key, counter) >> np.uint64(11)) * _INV53


@njit(cache=True, inline="always")
def uniform_open(key: np.uint64, counter: Any) -> float:
    """A uniform in (0, 1): midpoints of the 2^53 cells of width 2^−53."""
    return (np.int64(word(key, counter) >> np.uint64(11)) + 0.5) * _INV53


@njit(cache=True, inline="always")
def log_uniform(key: np.uint64, counter: Any) -> float:
    """log U, U = (w + ½)·2^−64 for the word w = ``word(key, counter)``: cells 2^−64 wide,
    values in [log 2^−65, 0) = [−45.05, 0) (strictly negative)."""
    u = (np.float64(word(key, counter)) + 0.5) * _INV64
    return min(math.log(u), _NEG_TINY)


@njit(cache=True, inline="always")
def bernoulli(key: np.uint64, counter: Any, log_p: float, log1m_p: float) -> bool:
    """Bernoulli(p) from one word, decided in log space: log U < log p if p ≤ ½, else
    not (log U < log(1 − p)). Pass both log p and log(1 − p) (each computed accurately by
    the caller; for one of them ``math.log(-math.expm1(log_p))`` is fine). P(True) = p to one
    2^−64 cell and float64 rounding of the log used; NaN log p is never true."""
    if not log_p > _LOG_HALF:
        return log_uniform(key, counter) < log_p
    return not log_uniform(key, counter) < log1m_p


def seed_key(rng: Any, size: int | None = None) -> Any:
    """A uint64 stream key (or an array of ``size`` keys) drawn from a numpy Generator.

    ``rng``: anything :func:`dpkit.random.as_generator` accepts except a SecureGenerator. Each
    key is two 32-bit draws, (hi << 32) | lo, so the keys are uniform on all of uint64.

    A :class:`~dpkit.random.SecureGenerator` is refused: expanding 64 OS-random bits with
    SplitMix64 is not the hardened tier (every bit from the OS CSPRNG). Mechanisms route the
    hardened tier to their numpy reference (:func:`dpkit.random.route_backend`), so this
    raises only if a kernel path forgot to.
    """
    gen = as_generator(rng)
    if isinstance(gen, SecureGenerator):
        raise DPKitError("a SecureGenerator cannot key a SplitMix64 kernel (not cryptographic); "
                         "the hardened tier runs the numpy reference (route_backend)")
    if size is None:
        return np.uint64((int(gen.integers(0, 2**32)) << 32) | int(gen.integers(0, 2**32)))
    hi = np.asarray(gen.integers(0, 2**32, size=size), dtype=np.uint64)
    lo = np.asarray(gen.integers(0, 2**32, size=size), dtype=np.uint64)
    return (hi << np.uint64(32)) | lo


# ------------------------------------------------------------- inversion (pure Python)
_MASK64 = (1 << 64) - 1


def _unxorshift(y: int, shift: int) -> int:
    x = y
    for _ in range(64 // shift + 1):
        x = y ^ (x >> shift)
    return x & _MASK64


def unmix_int(z: int) -> int:
    """Inverse of :func:`mix` on Python ints: the xorshifts undo by iteration and the odd
    multipliers by their inverses mod 2^64.

    SplitMix64 is therefore *not* a cryptographic generator: a released word reveals the key
    and every other word of its stream. Kernels must never publish a word of a private stream
    (public values come from a separate generator); tests use this to craft exact words and to
    replay that attack.
    """
    z = _unxorshift(z & _MASK64, 31)
    z = (z * pow(int(_M2), -1, 1 << 64)) & _MASK64
    z = _unxorshift(z, 27)
    z = (z * pow(int(_M1), -1, 1 << 64)) & _MASK64
    return _unxorshift(z, 30)


def key_for_word(word_value: int, counter: int = 0) -> np.uint64:
    """The key whose :func:`word` at ``counter`` is ``word_value`` (for crafted-bit tests)."""
    return np.uint64((unmix_int(word_value) - (counter + 1) * int(GOLDEN)) & _MASK64)
