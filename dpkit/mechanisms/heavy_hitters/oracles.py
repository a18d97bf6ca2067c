"""LDP frequency oracles GRR, OUE and OLH (Wang, Blocki, Li, Jha, USENIX Security 2017).

Each oracle is a frozen, validated record. The user side is :func:`perturb`; the server side is
:func:`aggregate` (a mergeable partial state), :func:`merge` (associative and commutative:
chunked, parallel or distributed aggregation gives exactly the serial state) and
:func:`estimate` (unbiased counts). All three are "pure" protocols (WBLJ17 §3): a report
*supports* a set of values, with P[support v | user holds v] = p and P[support v | user holds
v' ≠ v] = q, so with C(v) the support count over N reports

    ĉ(v) = (C(v) − N q) / (p − q),   Var ĉ(v) = N q(1 − q)/(p − q)² + c(v)(1 − p − q)/(p − q).

Privacy (local DP, replace-one: any two inputs v, v' of one user; each user reports once):
every oracle is ε-LDP with worst-case likelihood ratio exactly e^ε; see
:mod:`dpkit.mechanisms.heavy_hitters.privacy`. Sampling uses floating-point uniforms for the
Bernoulli draws: *not* hardened against floating-point attacks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Union

import numpy as np

from ... import _validate as V
from ...backend import resolve
from ...errors import DPKitError
from ...random import RNGLike, as_generator, public_generator, route_backend
from .. import _rr
from . import _hash

__all__ = [
    "GRR",
    "OUE",
    "OLH",
    "Oracle",
    "OLHReports",
    "FrequencyState",
    "perturb",
    "perturb_reference",
    "aggregate",
    "merge",
    "estimate",
    "variance",
    "MAX_DOMAIN",
]

#: Largest domain: items are 32-bit keys (the OLH hash family is universal on 32-bit keys).
MAX_DOMAIN = 2**32
#: Largest number of OLH buckets g (the hash maps to [0, g) by a 32-bit "fast range").
MAX_BUCKETS = 2**31
_OUE_CHUNK = 1 << 24  # bits per chunk of the OUE reference sampler


def flip_probability(epsilon: float, k: int) -> float:
    """1 − p = (k − 1)e^{−ε}/(1 + (k − 1)e^{−ε}) of a k-ary GRR, computed without cancellation.

    The samplers draw the *flip* (u < 1 − p), not the keep (u < p): on a 2^−53 grid
    P(u < f) = ⌈f·2^53⌉/2^53 ≥ f, so rounding can only raise the flip rate, i.e. lower the
    likelihood ratio below e^ε. Drawing the keep instead rounds p up: at ε ≳ 36.7 + log(k − 1)
    p is 1.0 in floating point and the report would always be the true item (infinite loss).
    The one formula is :func:`dpkit.mechanisms._rr.flip_probability`.
    """
    return _rr.flip_probability(epsilon, k)


#: The smallest positive float: OUE's q is floored here so that q never rounds to 0 (a 0 would
#: make B_u = 1 impossible for u ≠ v, an infinite privacy loss; any q > 0 gives P(u < q) ≥ q).
_TINY = 5e-324


def auto_num_hashes(g: int) -> int:
    """Default OLH pool size: min(16384, max(64, 2^20 // g)) (state ≤ 2^20 counts)."""
    return min(16384, max(64, (1 << 20) // g))


def _epsilon(value: Any) -> float:
    return V.positive(epsilon=value)


def _domain(value: Any) -> int:
    return V.integer(minimum=2, maximum=MAX_DOMAIN, domain_size=value)


# ======================================================================== oracles
@dataclass(frozen=True)
class GRR:
    """Generalized randomized response (k-RR, direct encoding) over [0, D) (WBLJ17 §4.1).

    Report: the true item w.p. p = e^ε/(e^ε + D − 1), else a uniform *other* item (each w.p.
    q = 1/(e^ε + D − 1)). Privacy: ε-LDP, replace-one, ratio p/q = e^ε exactly; event
    ``RandomizedResponse(ε, k=D)``.

    Args:
        epsilon: ε > 0.
        domain_size: D ∈ [2, 2^32].

    >>> o = GRR(1.0, 4)
    >>> round(o.p, 4), round(o.q, 4)
    (0.4754, 0.1749)
    """

    epsilon: float
    domain_size: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "epsilon", _epsilon(self.epsilon))
        object.__setattr__(self, "domain_size", _domain(self.domain_size))

    @property
    def p(self) -> float:
        """P[report = true item] = 1/(1 + (D − 1)e^{−ε})."""
        return _rr.keep_probability(self.epsilon, self.domain_size)

    @property
    def q(self) -> float:
        """P[report = a given other item] = e^{−ε}/(1 + (D − 1)e^{−ε})."""
        return _rr.other_probability(self.epsilon, self.domain_size)


@dataclass(frozen=True)
class OUE:
    """Optimized unary encoding over [0, D) (WBLJ17 §4.3).

    Report: D independent bits, P[B_v = 1] = p = 1/2 for the true item v and
    P[B_u = 1] = q = 1/(e^ε + 1) for u ≠ v. Privacy: ε-LDP, replace-one, ratio
    p(1 − q)/(q(1 − p)) = e^ε; exact RDP D_α(Bern(½)‖Bern(q)) + D_α(Bern(q)‖Bern(½)).

    Args:
        epsilon: ε > 0.
        domain_size: D ∈ [2, 2^32] (a report is D bits: use it for small domains).
    """

    epsilon: float
    domain_size: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "epsilon", _epsilon(self.epsilon))
        object.__setattr__(self, "domain_size", _domain(self.domain_size))

    @property
    def p(self) -> float:
        """P[B_v = 1] for the true item: 1/2."""
        return 0.5

    @property
    def q(self) -> float:
        """P[B_u = 1] for u ≠ v: 1/(e^ε + 1) = e^{−ε}/(1 + e^{−ε}) (floored at the smallest
        positive float, so it never rounds to 0)."""
        return max(_rr.flip_probability(self.epsilon, 2), _TINY)


@dataclass(frozen=True)
class OLH:
    """Optimized local hashing over [0, D) (WBLJ17 §4.4).

    Report (s, y): a hash seed s and y = GRR over [g] of H_s(v) with p = e^ε/(e^ε + g − 1).
    A report supports v iff H_s(v) = y, so q = 1/g (the hash family of
    :mod:`~dpkit.mechanisms.heavy_hitters._hash` is strongly universal). Default
    g = round(e^ε) + 1 (as multi-freq-ldpy and pure-LDP; WBLJ17's optimum is e^ε + 1).

    Seeds, two modes (spec §2 and the speed goal of issue #7):

    * ``num_hashes=None``: every user draws a fresh 64-bit seed (the textbook protocol). The
      server must hash every candidate for every report: O(N·|candidates|).
    * ``num_hashes=S`` (default "auto": S = min(16384, max(64, 2^20 // g)), so the (S, g) state
      stays ≤ 2^20 counts and the pool term below, ∝ 1/((g − 1)S), stays about constant in ε):
      seeds come from a public pool of S hash functions
      (seed pool_seed·2^32 + j); a user picks j uniformly. The server keeps an (S, g) count
      matrix and estimates with O(S·|candidates|) hashes, independent of N. **Privacy is
      unchanged** (given j, y is GRR over [g], and j is independent of v). **Variance**: for a
      pool drawn at random (a fresh ``pool_seed``) the estimate stays unbiased, but users of
      the same hash share its collisions, which adds
      Σ_{v' ≠ v} c(v')(c(v') − 1) / ((g − 1) S) to Var ĉ(v) (see :func:`variance`; derived
      assuming the collision indicators of distinct pairs are uncorrelated, tested). For a
      fixed pool the estimate is conditionally biased by the pool's collisions; draw
      ``pool_seed`` afresh per collection (it is public).

    The published seeds (fresh seeds or pool indices j) are drawn from
    :func:`dpkit.random.public_generator` of the caller's rng, a generator separate from the
    one that draws the private GRR decisions (a one-way derivation; fresh OS bytes for a
    SecureGenerator), so that the server cannot learn the private stream from them.

    Privacy: ε-LDP, replace-one; event ``RandomizedResponse(ε, k=g)``.

    Args:
        epsilon: ε > 0.
        domain_size: D ∈ [2, 2^32].
        g: number of hash buckets, 2 ≤ g ≤ 2^31 (default round(e^ε) + 1, capped at 2^31).
        num_hashes: pool size S ∈ [1, 2^32], or None for fresh per-user seeds.
        pool_seed: public seed of the pool, in [0, 2^32).
    """

    epsilon: float
    domain_size: int
    g: int | None = None
    num_hashes: int | str | None = "auto"
    pool_seed: int = 0

    def __post_init__(self) -> None:
        eps = _epsilon(self.epsilon)
        object.__setattr__(self, "epsilon", eps)
        object.__setattr__(self, "domain_size", _domain(self.domain_size))
        if self.g is None:
            g = MAX_BUCKETS if eps > 21.0 else max(2, int(round(math.exp(eps))) + 1)
            object.__setattr__(self, "g", min(g, MAX_BUCKETS))
        else:
            object.__setattr__(self, "g", V.integer(minimum=2, maximum=MAX_BUCKETS, g=self.g))
        if isinstance(self.num_hashes, str):
            if self.num_hashes != "auto":
                raise DPKitError(f"num_hashes must be an integer, None or 'auto', got "
                                 f"{self.num_hashes!r}")
            object.__setattr__(self, "num_hashes", auto_num_hashes(self.g))
        elif self.num_hashes is not None:
            object.__setattr__(self, "num_hashes",
                               V.integer(minimum=1, maximum=2**32, num_hashes=self.num_hashes))
        object.__setattr__(self, "pool_seed",
                           V.integer(minimum=0, maximum=2**32 - 1, pool_seed=self.pool_seed))
        if self.num_hashes is not None and self.num_hashes * self.g > 2**27:
            raise DPKitError(f"num_hashes * g must be <= 2**27 (the pool-mode state is an (S, g) "
                             f"count matrix), got {self.num_hashes} * {self.g}; use "
                             "num_hashes=None (fresh seeds) for very large g")

    @property
    def p(self) -> float:
        """P[y = H_s(v)] = 1/(1 + (g − 1)e^{−ε})."""
        return _rr.keep_probability(self.epsilon, self.g)

    @property
    def q(self) -> float:
        """P[a report supports a given v' ≠ v] = 1/g (up to the hash family's 2^-64 terms)."""
        return 1.0 / self.g

    @property
    def q_grr(self) -> float:
        """P[y = a given other bucket] = e^{−ε} p (the GRR over [g])."""
        return _rr.other_probability(self.epsilon, self.g)

    def hash_coefficients(self) -> tuple[np.ndarray, np.ndarray]:
        """(a, b) of the pool's S hash functions (pool mode only)."""
        if self.num_hashes is None:
            raise DPKitError("hash_coefficients needs pool mode (num_hashes set)")
        return _hash.hash_coefficients(_hash.pool_seeds(self.pool_seed, self.num_hashes))


Oracle = Union[GRR, OUE, OLH]  # noqa: UP007 (runtime alias)


@dataclass(frozen=True)
class OLHReports:
    """OLH reports: ``seeds`` (uint64: a pool index j, or a fresh 64-bit seed) and ``buckets``.

    ``buckets`` (int64) holds y ∈ [0, g) per user.
    """

    seeds: np.ndarray
    buckets: np.ndarray

    def __len__(self) -> int:
        return int(self.buckets.shape[0])


@dataclass(frozen=True)
class FrequencyState:
    """The mergeable server state of a frequency oracle.

    Attributes:
        oracle: the oracle the reports came from.
        n: number of reports N.
        counts: GRR/OUE: support counts C(u), shape (D,); OLH pool mode: the (S, g) matrix of
            reports per (hash, bucket); OLH fresh-seed mode: empty.
        seeds, buckets: OLH fresh-seed mode only: the reports themselves (merge concatenates).

    The record is validated on construction (so a merged state is always one that
    :func:`aggregate` could have produced): n an integer ≥ 0; counts integer-valued (NaN,
    fractions and negatives refused) of the oracle's shape, summing to n (GRR, OLH pool
    mode; each report supports one cell) or each ≤ n (OUE); seeds and buckets given exactly
    in OLH fresh-seed mode, 1-D of length n, buckets in [0, g).

    Raises:
        DPKitError: any of the above violated, naming the field.
    """

    oracle: Any
    n: int
    counts: np.ndarray
    seeds: np.ndarray | None = None
    buckets: np.ndarray | None = None

    def __post_init__(self) -> None:
        o = _check_oracle(self.oracle)
        n = V.integer(minimum=0, n=self.n)
        object.__setattr__(self, "n", n)
        fresh = isinstance(o, OLH) and o.num_hashes is None
        if isinstance(o, OLH):
            shape: tuple[int, ...] = (0,) if fresh else (o.num_hashes, o.g)
        else:
            shape = (o.domain_size,)
        counts = _count_array(self.counts, shape)
        if isinstance(o, OUE):
            if counts.size and int(counts.max()) > n:
                raise DPKitError(f"counts of an OUE state must be <= n = {n} (one bit per "
                                 f"report and item), got max {int(counts.max())}")
        elif not fresh and int(counts.sum()) != n:
            raise DPKitError(f"counts must sum to n = {n} (each report supports one cell), "
                             f"got {int(counts.sum())}")
        object.__setattr__(self, "counts", counts)
        if not fresh:
            if self.seeds is not None or self.buckets is not None:
                raise DPKitError("seeds and buckets are held only by an OLH state with "
                                 "num_hashes=None (fresh seeds); pass None")
            return
        if self.seeds is None or self.buckets is None:
            raise DPKitError("an OLH fresh-seed state (num_hashes=None) needs seeds and buckets")
        seeds = np.asarray(self.seeds)
        if seeds.dtype.kind not in "iu" or seeds.shape != (n,) or \
                (seeds.dtype.kind == "i" and seeds.size and int(seeds.min()) < 0):
            raise DPKitError(f"seeds must be a 1-D array of n = {n} nonnegative integers, got "
                             f"shape {seeds.shape}, dtype {seeds.dtype}")
        buckets = check_items(self.buckets, o.g, "buckets")
        if buckets.shape != (n,):
            raise DPKitError(f"buckets must have n = {n} entries, got {buckets.shape[0]}")
        object.__setattr__(self, "seeds", seeds.astype(np.uint64, copy=False))
        object.__setattr__(self, "buckets", buckets)


def _count_array(counts: Any, shape: tuple[int, ...]) -> np.ndarray:
    """Counts as int64 of the given shape: whole, finite, nonnegative."""
    arr = np.asarray(counts)
    if arr.dtype.kind == "f":
        arr = V.finite_array(counts=arr)
        if (arr != np.floor(arr)).any():
            raise DPKitError("counts must be whole numbers")
        if arr.size and float(np.abs(arr).max()) > 2.0**62:
            raise DPKitError("counts must be below 2**62")
    elif arr.dtype.kind == "u":
        if arr.size and int(arr.max()) > 2**62:
            raise DPKitError("counts must be below 2**62")
    elif arr.dtype.kind not in "ib":
        raise DPKitError(f"counts must be an integer array, got dtype {arr.dtype}")
    if arr.shape != shape:
        raise DPKitError(f"counts must have shape {shape} for this oracle, got {arr.shape}")
    arr = arr.astype(np.int64, copy=False)
    if arr.size and int(arr.min()) < 0:
        raise DPKitError(f"counts must be >= 0, got {int(arr.min())}")
    return arr


def _check_oracle(oracle: Any) -> Oracle:
    if not isinstance(oracle, (GRR, OUE, OLH)):
        raise DPKitError(f"oracle must be a GRR, OUE or OLH, got {type(oracle).__name__}")
    return oracle


def check_items(items: Any, domain_size: int, name: str = "items") -> np.ndarray:
    """Items as a 1-D int64 array in [0, D); refuses floats that are not whole, NaN, ranges."""
    arr = np.asarray(items)
    if arr.ndim != 1:
        raise DPKitError(f"{name} must be a 1-D array of integers, got shape {arr.shape}")
    if arr.dtype.kind == "f":
        arr = V.finite_array(**{name: arr})
        if (arr != np.floor(arr)).any():
            raise DPKitError(f"{name} must be integers")
        if arr.size and float(np.abs(arr).max()) >= 2.0**62:  # before the cast to int64
            raise DPKitError(f"{name} must be in [0, {domain_size - 1}]")
    elif arr.dtype.kind not in "iub":
        raise DPKitError(f"{name} must be an integer array, got dtype {arr.dtype}")
    if arr.dtype.kind == "u" and arr.size and int(arr.max()) >= 2**63:
        raise DPKitError(f"{name} must be in [0, {domain_size - 1}]")
    arr = arr.astype(np.int64)
    bad = (arr < 0) | (arr >= domain_size)
    if bad.any():
        first = int(np.argmax(bad))
        raise DPKitError(f"{name} must be in [0, {domain_size - 1}] (the domain); "
                         f"{int(bad.sum())} out of range, first {name}[{first}] = {arr[first]}")
    return arr


# ======================================================================== numpy reference
def _grr_numpy(flip: float, d: int, v: np.ndarray, gen: Any) -> np.ndarray:
    """GRR over [0, d) with flip probability ``flip`` = 1 − p (see :func:`flip_probability`)."""
    keep = ~(gen.random(v.size) < flip)
    other = gen.integers(0, d - 1, size=v.size)
    other = other + (other >= v)  # uniform over the d − 1 other values
    return np.where(keep, v, other).astype(np.int64)


def _oue_numpy(o: OUE, v: np.ndarray, gen: Any) -> np.ndarray:
    d = o.domain_size
    out = np.empty((v.size, d), dtype=np.uint8)
    step = max(1, _OUE_CHUNK // d)
    for a in range(0, v.size, step):
        b = min(v.size, a + step)
        block = gen.random((b - a, d)) < o.q
        block[np.arange(b - a), v[a:b]] = gen.random(b - a) < 0.5
        out[a:b] = block
    return out


def _olh_seeds(o: OLH, n: int, gen: Any) -> np.ndarray:
    if o.num_hashes is None:
        hi = np.asarray(gen.integers(0, 2**32, size=n)).astype(np.uint64)
        lo = np.asarray(gen.integers(0, 2**32, size=n)).astype(np.uint64)
        return (hi << np.uint64(32)) | lo
    return np.asarray(gen.integers(0, o.num_hashes, size=n)).astype(np.uint64)  # any RNG


def olh_hashes(o: OLH, seeds: np.ndarray, v: np.ndarray) -> np.ndarray:
    """H_s(v) for OLH reports' seeds (pool indices in pool mode) and items v (broadcast)."""
    s = np.asarray(seeds, dtype=np.uint64)
    if o.num_hashes is not None:
        s = (np.uint64(o.pool_seed) << np.uint64(32)) + s
    a, b = _hash.hash_coefficients(s)
    return _hash.hash_values(a, b, v, o.g)


def _olh_numpy(o: OLH, v: np.ndarray, gen: Any) -> OLHReports:
    seeds = _olh_seeds(o, v.size, public_generator(gen))  # public: never the private stream
    x = olh_hashes(o, seeds, v)
    y = _grr_numpy(flip_probability(o.epsilon, o.g), o.g, x, gen)
    return OLHReports(seeds, y)


def perturb_reference(oracle: Oracle, items: Any, rng: RNGLike) -> Any:
    """The numpy reference of :func:`perturb` (the oracle the kernels are tested against)."""
    o = _check_oracle(oracle)
    v = check_items(items, o.domain_size)
    gen = as_generator(rng)
    if isinstance(o, GRR):
        return _grr_numpy(flip_probability(o.epsilon, o.domain_size), o.domain_size, v, gen)
    if isinstance(o, OUE):
        return _oue_numpy(o, v, gen)
    return _olh_numpy(o, v, gen)


def perturb(oracle: Oracle, items: Any, rng: Any, *, backend: str = "auto") -> Any:
    """Each user's LDP report of its item (one report per item; users are independent).

    Definition: GRR → an item in [0, D); OUE → a (n, D) uint8 bit matrix; OLH →
    :class:`OLHReports` (seed, bucket) per user. See the oracle classes for the laws.

    Privacy: ε-LDP per user (replace-one: any two items of one user), worst-case likelihood
    ratio exactly e^ε; event ``privacy_event(oracle)``. Wang, Blocki, Li, Jha 2017. Not
    hardened against floating-point attacks.

    Args:
        oracle: a :class:`GRR`, :class:`OUE` or :class:`OLH`.
        items: 1-D integer array in [0, D) (a JAX array selects the JAX kernel under "auto").
        rng: None, an int seed, a numpy Generator or SecureGenerator (numpy / numba); a JAX
            PRNG key for ``backend="jax"``. With a SecureGenerator (the hardened tier) "auto"
            and "numba" run the numpy reference, every draw from the OS CSPRNG, and "jax" is
            refused (docs/security.md).
        backend: "auto", "numpy" (reference), "numba" or "jax".

    Returns:
        The reports (numpy arrays; JAX arrays for the JAX backend).

    Raises:
        DPKitError: bad oracle, backend or rng; items not integers or outside [0, D).

    >>> r = perturb(GRR(2.0, 8), np.array([3, 3, 5]), rng=0, backend="numpy")
    >>> r.shape, bool(((r >= 0) & (r < 8)).all())
    ((3,), True)
    """
    o = _check_oracle(oracle)
    which = route_backend(backend, items, rng)
    if which == "jax":
        from ._jax import perturb_jax

        return perturb_jax(o, items, rng)
    if which == "numba":
        from ._numba import perturb_numba

        return perturb_numba(o, check_items(items, o.domain_size), as_generator(rng))
    return perturb_reference(o, items, rng)


# ======================================================================== server side
def _empty_counts(o: Oracle) -> np.ndarray:
    if isinstance(o, OLH):
        if o.num_hashes is None:
            return np.zeros(0, dtype=np.int64)
        return np.zeros((o.num_hashes, o.g), dtype=np.int64)
    return np.zeros(o.domain_size, dtype=np.int64)


def aggregate(oracle: Oracle, reports: Any) -> FrequencyState:
    """The server's partial state of a batch of reports (post-processing: no privacy cost).

    GRR: histogram of reports; OUE: column sums; OLH pool mode: counts per (hash, bucket);
    OLH fresh-seed mode: the reports themselves. Merge partial states with :func:`merge`.

    Raises:
        DPKitError: reports of the wrong type, shape or range for the oracle.
    """
    o = _check_oracle(oracle)
    if isinstance(o, OLH):
        if not isinstance(reports, OLHReports):
            if hasattr(reports, "seeds") and hasattr(reports, "buckets"):
                reports = OLHReports(np.asarray(reports.seeds), np.asarray(reports.buckets))
            else:
                raise DPKitError("reports must be OLHReports for an OLH oracle")
        y = check_items(np.asarray(reports.buckets), o.g, "buckets")
        s = np.asarray(reports.seeds)
        if s.shape != y.shape or s.dtype.kind not in "iu":
            raise DPKitError("seeds must be an integer array of the buckets' shape")
        if o.num_hashes is None:
            return FrequencyState(o, int(y.size), _empty_counts(o), s.astype(np.uint64), y)
        j = check_items(s.astype(np.int64) if s.dtype.kind == "i" else s, o.num_hashes, "seeds")
        flat = np.bincount(j * o.g + y, minlength=o.num_hashes * o.g)
        return FrequencyState(o, int(y.size), flat.reshape(o.num_hashes, o.g).astype(np.int64))
    if isinstance(o, OUE):
        bits = np.asarray(reports)
        if bits.ndim != 2 or bits.shape[1] != o.domain_size:
            raise DPKitError(f"reports must be an (n, {o.domain_size}) bit matrix, got shape "
                             f"{bits.shape}")
        if bits.dtype.kind not in "iub" or (bits.size and (bits.min() < 0 or bits.max() > 1)):
            raise DPKitError("reports must hold bits 0/1")
        return FrequencyState(o, int(bits.shape[0]), bits.sum(axis=0, dtype=np.int64))
    y = check_items(reports, o.domain_size, "reports")
    return FrequencyState(o, int(y.size), np.bincount(y, minlength=o.domain_size).astype(np.int64))


def merge(a: FrequencyState, b: FrequencyState) -> FrequencyState:
    """The state of the union of two batches: exact, associative and commutative (counts add;
    OLH fresh-seed reports concatenate). Post-processing: no privacy cost.

    Raises:
        DPKitError: states of different oracles.
    """
    for name, s in (("a", a), ("b", b)):
        if not isinstance(s, FrequencyState):
            raise DPKitError(f"{name} must be a FrequencyState, got {type(s).__name__}")
    if a.oracle != b.oracle:
        raise DPKitError(f"cannot merge states of different oracles: {a.oracle} and {b.oracle}")
    if a.seeds is not None:
        return FrequencyState(a.oracle, a.n + b.n, a.counts,
                              np.concatenate([a.seeds, b.seeds]),
                              np.concatenate([a.buckets, b.buckets]))
    return FrequencyState(a.oracle, a.n + b.n, a.counts + b.counts)


def support_counts(state: FrequencyState, candidates: Any = None, *,
                   backend: str = "auto") -> np.ndarray:
    """C(v): number of reports supporting each candidate (all of [0, D) by default)."""
    if not isinstance(state, FrequencyState):
        raise DPKitError(f"state must be a FrequencyState, got {type(state).__name__}")
    o = state.oracle
    cand = (np.arange(o.domain_size, dtype=np.int64) if candidates is None
            else check_items(candidates, o.domain_size, "candidates"))
    if not isinstance(o, OLH):
        return state.counts[cand].astype(np.float64)
    which = resolve(backend)
    if which == "jax":
        which = "numpy"
    if which == "numba":
        from ._numba import olh_support_fresh, olh_support_pool

        if o.num_hashes is None:
            return olh_support_fresh(state.seeds, state.buckets, cand, o.g).astype(np.float64)
        a, b = o.hash_coefficients()
        active = np.flatnonzero(state.counts.any(axis=1))  # cost min(S, N)·|candidates|
        if active.size < a.size:
            return olh_support_pool(np.ascontiguousarray(state.counts[active]), a[active],
                                    b[active], cand, o.g).astype(np.float64)
        return olh_support_pool(state.counts, a, b, cand, o.g).astype(np.float64)
    return _support_numpy(state, cand)


def _support_numpy(state: FrequencyState, cand: np.ndarray) -> np.ndarray:
    o = state.oracle
    out = np.zeros(cand.size, dtype=np.float64)
    if o.num_hashes is None:
        a, b = _hash.hash_coefficients(state.seeds)
        step = max(1, (1 << 22) // max(1, state.n))
        for i in range(0, cand.size, step):
            h = _hash.hash_values(a[:, None], b[:, None], cand[None, i:i + step], o.g)
            out[i:i + step] = (h == state.buckets[:, None]).sum(axis=0)
        return out
    a, b = o.hash_coefficients()
    rows = np.arange(o.num_hashes)[:, None]
    step = max(1, (1 << 22) // o.num_hashes)
    for i in range(0, cand.size, step):
        h = _hash.hash_values(a[:, None], b[:, None], cand[None, i:i + step], o.g)
        out[i:i + step] = state.counts[rows, h].sum(axis=0)
    return out


def estimate(oracle: Oracle, state: FrequencyState, candidates: Any = None, *,
             backend: str = "auto") -> np.ndarray:
    """Unbiased count estimates ĉ(v) = (C(v) − N q)/(p − q) (WBLJ17, Eq. (2)).

    Estimates may be negative (raw unbiased values; clip or project separately).
    Post-processing of ε-LDP reports: no privacy cost. For OLH in pool mode, unbiased over a
    random ``pool_seed`` (see :class:`OLH`).

    Args:
        oracle: the oracle (must equal ``state.oracle``).
        state: from :func:`aggregate` / :func:`merge`.
        candidates: items to estimate (default: the whole domain [0, D)).
        backend: "auto" (numba when installed), "numpy" or "numba" (OLH's hashing).

    Returns:
        float64 estimates, one per candidate.

    >>> o = GRR(2.0, 4)
    >>> st = aggregate(o, perturb(o, np.repeat([0, 1], [6000, 4000]), rng=1, backend="numpy"))
    >>> np.round(estimate(o, st) / 1000).astype(int).tolist()
    [6, 4, 0, 0]
    """
    o = _check_oracle(oracle)
    if not isinstance(state, FrequencyState) or state.oracle != o:
        raise DPKitError("state must be a FrequencyState aggregated with this oracle")
    c = support_counts(state, candidates, backend=backend)
    return (c - state.n * o.q) / (o.p - o.q)


def variance(oracle: Oracle, n: int, counts: Any = None) -> np.ndarray | float:
    """Exact variance of ĉ(v) (WBLJ17, Eq. (3) without approximation).

    Var ĉ(v) = N q(1 − q)/(p − q)² + c(v)(1 − p − q)/(p − q), plus for OLH in pool mode the
    shared-hash term Σ_{v' ≠ v} c(v')(c(v') − 1)/((g − 1) S) (over a random pool).

    Args:
        oracle: the oracle.
        n: N ≥ 0, the number of reports.
        counts: None (then c(v) = 0 and the pool term is omitted: the noise floor), or the
            true histogram c (length D, summing to N): one variance per item.

    Returns:
        A float (counts None) or an array of shape (D,).
    """
    o = _check_oracle(oracle)
    nn = V.integer(minimum=0, n=n)
    p, q = o.p, o.q
    base = nn * q * (1.0 - q) / (p - q) ** 2
    if counts is None:
        return float(base)
    c = V.finite_array(counts=counts)
    if c.shape != (o.domain_size,) or (c < 0).any() or abs(c.sum() - nn) > 0.5:
        raise DPKitError(f"counts must be a nonnegative histogram of length {o.domain_size} "
                         f"summing to n={nn}")
    out = base + c * (1.0 - p - q) / (p - q)
    if isinstance(o, OLH) and o.num_hashes is not None:
        sq = c * (c - 1.0)
        out = out + (sq.sum() - sq) / ((o.g - 1) * o.num_hashes)
    return out
