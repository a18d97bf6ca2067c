"""Frozen, validated parameters and records of the frequency oracles and the heavy-hitter protocol.

Validation happens here, once, on construction: the oracles :class:`GRR`, :class:`OUE`,
:class:`OLH` (Wang, Blocki, Li, Jha, USENIX Security 2017), the protocol's
:class:`HeavyHitterParams` (PEM, TreeHist, Local-PEM, TAP, TAPS), the report record
:class:`OLHReports`, the mergeable server state :class:`FrequencyState` and the protocol's
:class:`HeavyHitterResult`. Every other module of the package takes these checked values.

Privacy: every oracle is ε-LDP (local DP, replace-one: any two items of one user) with
worst-case likelihood ratio exactly e^ε; the events are built in :mod:`.privacy`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal, Union

import numpy as np

from ... import _validate as V
from ...errors import DPKitError
from .._dyadic import ceil_log2
from .._rr import flip_probability, keep_probability, other_probability
from ._hash import hash_coefficients, pool_seeds

__all__ = [
    "GRR",
    "OUE",
    "OLH",
    "Oracle",
    "OLHReports",
    "FrequencyState",
    "MAX_DOMAIN",
    "PROTOCOLS",
    "FREQUENCY_ORACLES",
    "HeavyHitterParams",
    "HeavyHitterResult",
]

#: Largest domain: items are 32-bit keys (the OLH hash family is universal on 32-bit keys).
MAX_DOMAIN = 2**32
#: Largest number of OLH buckets g (the hash maps to [0, g) by a 32-bit "fast range").
MAX_BUCKETS = 2**31
#: The smallest positive float: OUE's q is floored here so that q never rounds to 0 (a 0 would
#: make B_u = 1 impossible for u ≠ v, an infinite privacy loss; any q > 0 gives P(u < q) ≥ q).
TINY = 5e-324

#: The prefix-tree protocols of :func:`~.protocol.find_heavy_hitters`.
PROTOCOLS = ("pem", "treehist", "local_pem", "tap", "taps")
#: The frequency oracles a protocol can run its levels with.
FREQUENCY_ORACLES = ("olh", "grr", "oue")

#: ``num_hashes`` as given to :class:`OLH` / :class:`HeavyHitterParams`.
NumHashes = Union[int, Literal["auto"], None]  # noqa: UP007 (runtime alias)


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
        return keep_probability(self.epsilon, self.domain_size)

    @property
    def q(self) -> float:
        """P[report = a given other item] = e^{−ε}/(1 + (D − 1)e^{−ε})."""
        return other_probability(self.epsilon, self.domain_size)


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
        return max(flip_probability(self.epsilon, 2), TINY)


@dataclass(frozen=True, init=False)
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
      Σ_{v' ≠ v} c(v')(c(v') − 1) / ((g − 1) S) to Var ĉ(v) (see :func:`~.mechanism.variance`;
      derived assuming the collision indicators of distinct pairs are uncorrelated, tested).
      For a fixed pool the estimate is conditionally biased by the pool's collisions; draw
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
        num_hashes: pool size S ∈ [1, 2^32], "auto", or None for fresh per-user seeds.
        pool_seed: public seed of the pool, in [0, 2^32).

    After construction ``g`` and ``num_hashes`` hold the resolved values (an int; an int or
    None).
    """

    epsilon: float
    domain_size: int
    g: int
    num_hashes: int | None
    pool_seed: int

    def __init__(self, epsilon: float, domain_size: int, g: int | None = None,
                 num_hashes: NumHashes = "auto", pool_seed: int = 0) -> None:
        s = object.__setattr__
        eps = _epsilon(epsilon)
        s(self, "epsilon", eps)
        s(self, "domain_size", _domain(domain_size))
        if g is None:
            gg = MAX_BUCKETS if eps > 21.0 else max(2, int(round(math.exp(eps))) + 1)
            gg = min(gg, MAX_BUCKETS)
        else:
            gg = V.integer(minimum=2, maximum=MAX_BUCKETS, g=g)
        s(self, "g", gg)
        pool: int | None
        if isinstance(num_hashes, str):
            if num_hashes != "auto":
                raise DPKitError(f"num_hashes must be an integer, None or 'auto', got "
                                 f"{num_hashes!r}")
            pool = auto_num_hashes(gg)
        elif num_hashes is None:
            pool = None
        else:
            pool = V.integer(minimum=1, maximum=2**32, num_hashes=num_hashes)
        s(self, "num_hashes", pool)
        s(self, "pool_seed", V.integer(minimum=0, maximum=2**32 - 1, pool_seed=pool_seed))
        if pool is not None and pool * gg > 2**27:
            raise DPKitError(f"num_hashes * g must be <= 2**27 (the pool-mode state is an (S, g) "
                             f"count matrix), got {pool} * {gg}; use "
                             "num_hashes=None (fresh seeds) for very large g")

    @property
    def p(self) -> float:
        """P[y = H_s(v)] = 1/(1 + (g − 1)e^{−ε})."""
        return keep_probability(self.epsilon, self.g)

    @property
    def q(self) -> float:
        """P[a report supports a given v' ≠ v] = 1/g (up to the hash family's 2^-64 terms)."""
        return 1.0 / self.g

    @property
    def q_grr(self) -> float:
        """P[y = a given other bucket] = e^{−ε} p (the GRR over [g])."""
        return other_probability(self.epsilon, self.g)

    def hash_coefficients(self) -> tuple[np.ndarray, np.ndarray]:
        """(a, b) of the pool's S hash functions (pool mode only)."""
        if self.num_hashes is None:
            raise DPKitError("hash_coefficients needs pool mode (num_hashes set)")
        return hash_coefficients(pool_seeds(self.pool_seed, self.num_hashes))


Oracle = Union[GRR, OUE, OLH]  # noqa: UP007 (runtime alias)


def check_oracle(oracle: object) -> Oracle:
    """``oracle`` if it is a GRR, OUE or OLH, else a DPKitError naming ``oracle``."""
    if not isinstance(oracle, (GRR, OUE, OLH)):
        raise DPKitError(f"oracle must be a GRR, OUE or OLH, got {type(oracle).__name__}")
    return oracle


def check_items(items: Any, domain_size: int, name: str = "items") -> np.ndarray:
    """Items as a 1-D int64 array in [0, D); refuses floats that are not whole, NaN, ranges,
    ragged nested lists and anything numpy cannot read as an array."""
    try:
        arr = np.asarray(items)
    except (ValueError, TypeError) as exc:  # ragged nested lists, odd objects
        raise DPKitError(f"{name} must be a 1-D array of integers: {exc}") from None
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


def state_shape(o: Oracle) -> tuple[int, ...]:
    """Shape of the ``counts`` of a :class:`FrequencyState` of ``o``: (D,) for GRR/OUE,
    (S, g) for OLH in pool mode, (0,) for OLH with fresh seeds (the reports are kept)."""
    if isinstance(o, OLH):
        return (0,) if o.num_hashes is None else (o.num_hashes, o.g)
    return (o.domain_size,)


# ======================================================================== records
@dataclass(frozen=True)
class OLHReports:
    """OLH reports: ``seeds`` (uint64: a pool index j, or a fresh 64-bit seed) and ``buckets``.

    ``buckets`` (int64) holds y ∈ [0, g) per user. A batch slices and concatenates like an
    array (``reports[a:b]``, ``reports[mask]``, :meth:`concatenate`), so it can be split across
    partitions and merged back; post-processing (no privacy cost).
    """

    seeds: np.ndarray
    buckets: np.ndarray

    def __len__(self) -> int:
        return int(self.buckets.shape[0])

    def __getitem__(self, index: Any) -> OLHReports:
        """The reports selected by a slice, an integer array or a boolean mask (1-D)."""
        if isinstance(index, (int, np.integer)):
            index = slice(int(index), int(index) + 1 or None)
        return OLHReports(np.asarray(self.seeds)[index], np.asarray(self.buckets)[index])

    @classmethod
    def concatenate(cls, batches: Any) -> OLHReports:
        """The reports of ``batches`` (a non-empty list or tuple of OLHReports) in order."""
        parts = list(batches) if isinstance(batches, (list, tuple)) else []
        if not parts or not all(isinstance(b, OLHReports) for b in parts):
            raise DPKitError("batches must be a non-empty sequence of OLHReports")
        return cls(np.concatenate([np.asarray(b.seeds) for b in parts]),
                   np.concatenate([np.asarray(b.buckets) for b in parts]))


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
    :func:`~.mechanism.aggregate` could have produced): n an integer ≥ 0; counts
    integer-valued (NaN, fractions and negatives refused) of the oracle's shape, summing to n
    (GRR, OLH pool mode; each report supports one cell) or each ≤ n (OUE); seeds and buckets
    given exactly in OLH fresh-seed mode, 1-D of length n, buckets in [0, g).

    Raises:
        DPKitError: any of the above violated, naming the field.
    """

    oracle: Oracle
    n: int
    counts: np.ndarray
    seeds: np.ndarray | None = None
    buckets: np.ndarray | None = None

    def __post_init__(self) -> None:
        o = check_oracle(self.oracle)
        n = V.integer(minimum=0, n=self.n)
        object.__setattr__(self, "n", n)
        fresh = isinstance(o, OLH) and o.num_hashes is None
        counts = _count_array(self.counts, state_shape(o))
        if isinstance(o, OUE):
            if counts.size and int(counts.max()) > n:
                raise DPKitError(f"counts of an OUE state must be <= n = {n} (one bit per "
                                 f"report and item), got max {int(counts.max())}")
        elif not fresh and int(counts.sum()) != n:
            raise DPKitError(f"counts must sum to n = {n} (each report supports one cell), "
                             f"got {int(counts.sum())}")
        object.__setattr__(self, "counts", counts)
        if not isinstance(o, OLH) or o.num_hashes is not None:
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


# ======================================================================== the protocol
@dataclass(frozen=True, init=False)
class HeavyHitterParams:
    """Parameters of a prefix-tree heavy-hitter protocol (spec §3.1, §4).

    Levels: s_0 = γ (all 2^γ prefixes are the first candidates), s_t = min(ℓ, γ + tη) for
    t = 1..G, G = ⌈(ℓ − γ)/η⌉. Each party splits its users uniformly at random into
    :attr:`num_groups` groups of (almost) equal size (G; G + 1 for TreeHist, whose extra group
    re-estimates the final survivors); group t reports its s_t-bit prefix once with OLH(ε)
    over [0, 2^{s_t}) (the TreeHist final group its full ℓ-bit item).

    Protocols: ``"pem"`` (all parties pooled at every level: PEM over the union of users; with
    one party, plain PEM), ``"treehist"`` (the single-party baseline of BNST17, pooled over
    parties: keep every child whose pooled estimate is ≥ z_t·sd_t with
    z_t = Φ^{-1}(1 − β/(G·|cand_t|)), at most b_max, no top-k floor; final ranking by a
    separate user group), ``"local_pem"`` (every party runs PEM for its own top-k; the
    coordinator unions and re-ranks with summed estimates), ``"tap"`` (shared levels pooled,
    then per-party adaptive extension) and ``"taps"`` (TAP plus sequential consensus-based
    pruning) — the last two as reconstructed in the spec (§4).

    Privacy: ε-LDP per user (replace-one), see :func:`~.privacy.privacy_event` (params);
    ``reports_per_user`` r > 1 states that a person may be in r parties/collections (then
    ``Repeated(event, r)``).

    Args:
        epsilon: ε > 0 of each report.
        item_bits: ℓ ∈ [1, 32], items are integers in [0, 2^ℓ).
        k: target size, 1 ≤ k ≤ 2^ℓ.
        protocol: one of :data:`PROTOCOLS` (default "taps").
        start_bits: γ (default min(⌈log2 k⌉, ℓ − 1)), 0 ≤ γ < ℓ, 2^γ ≤ 2^20.
        step_bits: η ≥ 1 bits per extension (default 2), k·2^η ≤ 2^20.
        shared_levels: S, levels pooled across parties in TAP/TAPS (default: the levels with
            s_t ≤ ⌈ℓ/3⌉).
        b_shared: prefixes kept per shared level (default 2k).
        z_keep, b_max: TAP's adaptive rule: keep prefixes with estimate ≥ z_keep·sd, at least
            the top k and at most b_max (defaults 2.0, 4k).
        z_prior, z_new: TAPS thresholds for prior-supported / unsupported prefixes (1.0, 3.0).
        fo: the frequency oracle: "olh" (default; every level over the full prefix domain,
            non-interactive) or "grr" / "oue" in candidate-domain mode (spec §4.6): the
            level-t group is sent the public candidate list cand_t and reports the index of
            its prefix in cand_t, or ⊥ = |cand_t| when absent, with GRR / OUE over
            |cand_t| + 1 values (interactive: one round per level). A party can then only
            estimate its own candidates; in the final ranking an item outside party j's
            final list gets 0 from party j (a downward bias, documented).
        beta: TreeHist's false-positive budget, 0 < β < 1 (default 0.05): by a union bound
            over all G·|cand_t| tests, a prefix of count 0 survives some level with
            probability ≲ β (Gaussian approximation of the OLH noise).
        num_hashes: OLH pool size S ("auto": see :class:`OLH`; None: fresh per-user
            seeds, O(N·candidates) server).
        pool_seed: public seed of level 1's OLH pool (level t uses pool_seed + t mod 2^32).
        reports_per_user: r ≥ 1 (default 1, disjoint users).

    After construction the defaults (``start_bits``, ``shared_levels``, ``b_shared``,
    ``b_max``) hold their resolved integers.

    Raises:
        DPKitError: a parameter out of range (named).
    """

    epsilon: float
    item_bits: int
    k: int
    protocol: str
    start_bits: int
    step_bits: int
    shared_levels: int
    b_shared: int
    z_keep: float
    b_max: int
    z_prior: float
    z_new: float
    beta: float
    fo: str
    num_hashes: NumHashes
    pool_seed: int
    reports_per_user: int

    def __init__(self, epsilon: float, item_bits: int, k: int, protocol: str = "taps",
                 start_bits: int | None = None, step_bits: int = 2,
                 shared_levels: int | None = None, b_shared: int | None = None,
                 z_keep: float = 2.0, b_max: int | None = None, z_prior: float = 1.0,
                 z_new: float = 3.0, beta: float = 0.05, fo: str = "olh",
                 num_hashes: NumHashes = "auto", pool_seed: int = 0,
                 reports_per_user: int = 1) -> None:
        s = object.__setattr__
        s(self, "epsilon", V.positive(epsilon=epsilon))
        ell = V.integer(minimum=1, maximum=32, item_bits=item_bits)
        s(self, "item_bits", ell)
        kk = V.integer(minimum=1, maximum=min(2**ell, 2**20), k=k)
        s(self, "k", kk)
        if protocol not in PROTOCOLS:
            raise DPKitError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
        s(self, "protocol", protocol)
        gamma = min(ceil_log2(kk), ell - 1) if start_bits is None else start_bits
        s(self, "start_bits", V.integer(minimum=0, maximum=min(ell - 1, 20), start_bits=gamma))
        eta = V.integer(minimum=1, maximum=ell, step_bits=step_bits)
        s(self, "step_bits", eta)
        shared_keep = V.integer(minimum=kk, maximum=2**20,
                                b_shared=2 * kk if b_shared is None else b_shared)
        s(self, "b_shared", shared_keep)
        most = V.integer(minimum=kk, maximum=2**20, b_max=4 * kk if b_max is None else b_max)
        s(self, "b_max", most)
        if max(shared_keep, most) << eta > 2**24:
            raise DPKitError(f"b_max * 2**step_bits must be <= 2**24 candidates per level, got "
                             f"{max(shared_keep, most)} * 2**{eta}")
        s(self, "z_keep", V.finite(z_keep=z_keep))
        s(self, "z_prior", V.finite(z_prior=z_prior))
        s(self, "z_new", V.finite(z_new=z_new))
        if fo not in FREQUENCY_ORACLES:
            raise DPKitError(f"fo must be one of {FREQUENCY_ORACLES}, got {fo!r}")
        s(self, "fo", fo)
        s(self, "beta", V.in_range(0.0, 1.0, low_open=True, high_open=True, beta=beta))
        g = self.num_levels
        if shared_levels is None:
            cut = math.ceil(ell / 3)
            shared_levels = sum(1 for t in range(1, g + 1) if self.prefix_bits(t) <= cut)
        s(self, "shared_levels", V.integer(minimum=0, maximum=g, shared_levels=shared_levels))
        if num_hashes is not None and num_hashes != "auto":
            num_hashes = V.integer(minimum=1, maximum=2**32, num_hashes=num_hashes)
        s(self, "num_hashes", num_hashes)
        s(self, "pool_seed", V.integer(minimum=0, maximum=2**32 - 1, pool_seed=pool_seed))
        s(self, "reports_per_user", V.integer(minimum=1, reports_per_user=reports_per_user))

    @property
    def num_levels(self) -> int:
        """G = ⌈(ℓ − γ)/η⌉ ≥ 1."""
        return -(-(self.item_bits - self.start_bits) // self.step_bits)

    @property
    def num_groups(self) -> int:
        """User groups per party: G (one per level), G + 1 for TreeHist (final group)."""
        return self.num_levels + (self.protocol == "treehist")

    def prefix_bits(self, level: int) -> int:
        """s_t = min(ℓ, γ + tη) (s_0 = γ); the TreeHist final group t = G + 1 has ℓ bits."""
        return min(self.item_bits, self.start_bits + level * self.step_bits)

    def oracle(self, bits: int, level: int = 1) -> OLH:
        """The OLH oracle of a level whose prefixes have ``bits`` bits."""
        return OLH(self.epsilon, max(2, 2**bits), num_hashes=self.num_hashes,
                   pool_seed=(self.pool_seed + level) % 2**32)


@dataclass(frozen=True)
class HeavyHitterResult:
    """The protocol's answer: ``items`` (top-k, by decreasing estimate, ties by smaller item)
    and their estimated global ``counts``; ``candidates`` is |∪_j H_j| before the final
    ranking; ``group_sizes[j][t-1]`` = n_{j,t} (users of party j reporting at level t)."""

    items: np.ndarray
    counts: np.ndarray
    candidates: int = 0
    group_sizes: tuple[tuple[int, ...], ...] = field(default_factory=tuple)
