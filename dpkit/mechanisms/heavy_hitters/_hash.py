"""The public hash family of OLH, identical in numpy, numba and JAX (bit-equality is tested).

dpkit design (spec §2 leaves the family to the implementation; this deviates from the spec's
suggested ((a·v + b) mod (2^61 − 1)) mod g, see docs/heavy_hitters.md): multiply-add-shift
(Dietzfelbinger 1996, "Universal hashing and k-wise independent random variables via integer
arithmetic without primes", STACS), which needs only wrap-around 64-bit multiplication:

    x = fmix32(v)                              (a fixed bijection of [0, 2^32))
    z = ((a·x + b) mod 2^64) >> 32            (strongly universal on 32-bit keys)
    H(v) = (z · g) >> 32                       ("fast range" reduction to [0, g))

fmix32 is MurmurHash3's 32-bit finalizer (Appleby), a bijection, so pairwise strong
universality is untouched; it is there because multiply-shift is *not* 3-wise independent:
for keys in arithmetic progression (consecutive prefixes!) the collision events of
(v, v+1) and (v, v+2) under one hash are strongly correlated, which inflates the variance of
OLH's pool mode beyond its closed form (measured +31% before the scramble, for keys 0, 1, 2).
After the scramble the pool-mode variance matches the closed form (tested); this is an
empirical property, not a proof of 3-wise independence.

For a, b uniform 64-bit words and v ≠ v' < 2^32, (z(v), z(v')) is uniform on [2^32]², so the
collision probability is Σ_r (n_r / 2^32)² with n_r ∈ {⌊2^32/g⌋, ⌈2^32/g⌉}: 1/g up to a
relative error below g²/2^64 (irrelevant next to sampling noise; see
:func:`collision_probability`). (a, b) are derived from a 64-bit seed s by the SplitMix64
finalizer (Steele, Lea, Flood 2014): a = mix(s + φ), b = mix(s + 2φ), φ = 0x9E3779B97F4A7C15.

Pool mode: hash j ∈ [0, S) of a pool has seed s_j = pool_seed · 2^32 + j (pool_seed < 2^32).
The published part of a report (a fresh seed, or a pool index j) is drawn by
:func:`draw_seeds`, on the host, for the numpy reference and the numba kernel alike.
"""

from __future__ import annotations

import numpy as np

from ...random import SecureGenerator

__all__ = ["GOLDEN", "mix64", "fmix32", "hash_coefficients", "hash_values", "pool_seeds",
           "collision_probability", "draw_seeds"]

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S32 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(32)


def mix64(z: np.ndarray) -> np.ndarray:
    """SplitMix64's finalizer on uint64 words (wrap-around arithmetic)."""
    z = np.asarray(z, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> _S30)) * _M1
        z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


def hash_coefficients(seeds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) uint64 arrays of the hash functions with the given 64-bit seeds."""
    s = np.asarray(seeds, dtype=np.uint64)
    with np.errstate(over="ignore"):
        return mix64(s + GOLDEN), mix64(s + GOLDEN * np.uint64(2))


def pool_seeds(pool_seed: int, num_hashes: int) -> np.ndarray:
    """Seeds s_j = pool_seed · 2^32 + j of a pool of ``num_hashes`` hash functions."""
    return (np.uint64(pool_seed) << _S32) + np.arange(num_hashes, dtype=np.uint64)


_M32 = np.uint64(0xFFFFFFFF)
_F1 = np.uint64(0x85EBCA6B)
_F2 = np.uint64(0xC2B2AE35)
_S16, _S13 = np.uint64(16), np.uint64(13)


def fmix32(v: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer (a bijection of [0, 2^32)), as uint64 values."""
    h = np.asarray(v).astype(np.uint64) & _M32
    h ^= h >> _S16
    h = (h * _F1) & _M32
    h ^= h >> _S13
    h = (h * _F2) & _M32
    return h ^ (h >> _S16)


def hash_values(a: np.ndarray, b: np.ndarray, v: np.ndarray, g: int) -> np.ndarray:
    """H(v) = (((a·fmix32(v) + b) mod 2^64 >> 32) · g) >> 32, broadcast (int64 out)."""
    vv = fmix32(v)
    with np.errstate(over="ignore"):
        z = (np.asarray(a, dtype=np.uint64) * vv + np.asarray(b, dtype=np.uint64)) >> _S32
        return ((z * np.uint64(g)) >> _S32).astype(np.int64)


def collision_probability(g: int) -> float:
    """Exact P[H(v) = H(v')] for v ≠ v' when (z(v), z(v')) is uniform on [2^32]²."""
    n_lo = (1 << 32) // g
    n_hi = n_lo + 1
    count_hi = (1 << 32) - n_lo * g  # number of buckets of size n_hi
    total = count_hi * n_hi * n_hi + (g - count_hi) * n_lo * n_lo
    return total / float(1 << 64)


def draw_seeds(num_hashes: int | None, n: int,
               gen: np.random.Generator | SecureGenerator) -> np.ndarray:
    """The public seeds of n OLH reports (uint64): fresh 64-bit seeds (``num_hashes`` None)
    or uniform pool indices j ∈ [0, num_hashes). ``gen`` must be a *public* generator
    (:func:`dpkit.random.public_generator`): these values are published."""
    if num_hashes is None:
        hi = np.asarray(gen.integers(0, 2**32, size=n)).astype(np.uint64)
        lo = np.asarray(gen.integers(0, 2**32, size=n)).astype(np.uint64)
        return (hi << np.uint64(32)) | lo
    return np.asarray(gen.integers(0, num_hashes, size=n)).astype(np.uint64)
