"""Local-DP heavy hitters of a table column: arbitrary items, one report per privacy unit.

:func:`heavy_hitters` finds the top-k values of a column of str / bytes / int / bool items
(or, with a public candidate list, the top-k candidates) under ε-local DP, on a pandas or a
Dask DataFrame, with the same result for the same ``rng``:

1. **One report per unit.** :func:`dpkit.pipeline.bounding.bound_contributions` keeps one row
   per privacy unit, chosen uniformly at random (independent of row order and partitioning;
   on Dask after a shuffle by unit).
2. **Encoding** (:mod:`dpkit.pipeline.encoding`). Without candidates every item becomes a
   length-prefixed byte record of ℓ = 8·(1 + max_item_bytes) bits; with candidates an index
   into the public list (``len(candidates)`` for the rest).
3. **Reports.** Byte records: PEM, the prefix extending method (Wang, Li, Jha, "Locally
   Differentially Private Heavy Hitter Identification", IEEE TDSC 2019, arXiv:1708.06674).
   Each unit is assigned a level t ∈ 1..G by a public keyed hash of the unit, G =
   ⌈(ℓ − γ)/η⌉, and reports the s_t = min(ℓ, γ + tη)-bit prefix of its record once with OLH
   (Wang, Blocki, Li, Jha, USENIX Security 2017) over [0, 2^{s_t}) — or, for s_t > 32, over a
   fixed public 32-bit hash of the prefix (two distinct prefixes of a level collide with
   probability about 2^−32; a collision can only add to an estimate). Candidates: every unit
   reports its index once with OLH, GRR or OUE over len(candidates) + 1 values.
   Each unit's report is drawn from randomness keyed by the unit (:mod:`._keyed`): a keyed
   PRF of the unit with a seed drawn once from ``rng``, so any partitioning gives the same
   reports. The hash-pool indices (published) come from a second key drawn from
   :func:`dpkit.random.public_generator`, never from the private stream.
4. **Aggregation.** Reports of each partition are aggregated into the oracles' mergeable
   :class:`~dpkit.mechanisms.heavy_hitters.FrequencyState` (exact integer counts), merged by
   :func:`dpkit.pipeline._engine.run` (pandas: one map; Dask: a tree reduction), and
   estimated once.
5. **The walk** (post-processing): level 1's candidates are all 2^{s_1} prefixes; each level
   keeps the ``keep`` (default 4k) best *valid* prefixes (a prefix that cannot start a
   record, e.g. a length field above the maximum or nonzero padding, is dropped) and extends
   them by η bits;
   the last level's records are decoded and the k best returned with their estimated counts
   (scaled by N/n_t, N the number of units, n_t the reports of the level). Candidates: the
   top-k of the estimated candidate counts.

Privacy: every unit sends exactly one report of an ε-LDP frequency oracle; the neighbouring
relation is **replace-one per privacy unit** (local DP: any two values of one unit's
rows, all of them), worst-case likelihood ratio e^ε. Level assignment, encoding, hashing,
aggregation and the walk are post-processing or public. Event:
``dpkit.pipeline.privacy_event(heavy_hitters, ...)`` = the oracle's event
(``RandomizedResponse(ε, g)`` for OLH). Sampling is in floating point with SplitMix64-expanded
keys: *not* hardened against floating-point attacks.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from .. import _validate as V
from ..accounting.events import Event
from ..errors import DPKitError
from ..mechanisms._rr import flip_probability
from ..mechanisms.heavy_hitters.mechanism import aggregate, estimate, merge
from ..mechanisms.heavy_hitters.params import GRR, OLH, OUE, FrequencyState, OLHReports, Oracle
from ..mechanisms.heavy_hitters.privacy import privacy_event as oracle_event
from ..mechanisms.heavy_hitters.reference import grr_reference, olh_hashes
from ..random import RNGLike, public_generator
from . import _engine, _frames
from ._keyed import KeyedDraws, checked, derive, local_generator, mulhi, unit_column
from .bounding import bound_contributions
from .encoding import ByteEncoding, CandidateEncoding, TooLong
from .privacy import register_event

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["heavy_hitters", "heavy_hitters_event", "ORACLES"]

#: Frequency oracles of :func:`heavy_hitters` (byte records: "olh" only).
ORACLES = ("olh", "grr", "oue")

#: Most candidates a level of the walk may estimate (k·2^η), and most OUE domain cells.
_MAX_CANDIDATES = 2**20
_MAX_OUE_CELLS = 2**24  # rows × (len(candidates) + 1) bits of one OUE batch, per partition


# ================================================================ the oracles with keyed draws
def _oracle(name: str, epsilon: float, domain: int, pool_seed: int) -> Oracle:
    if name == "olh":
        return OLH(epsilon, domain, num_hashes="auto", pool_seed=pool_seed)
    if name == "grr":
        return GRR(epsilon, domain)
    return OUE(epsilon, domain)


def _reports(o: Oracle, v: np.ndarray, private: np.ndarray, public: np.ndarray
             ) -> np.ndarray | OLHReports:
    """One report per value v (in [0, D)) with draws keyed by the units' private / public
    keys: the law of :func:`dpkit.mechanisms.heavy_hitters.perturb` (the numpy reference's
    own GRR code, WBLJ17), randomness per unit."""
    draws = cast(Any, KeyedDraws(private))
    if isinstance(o, OLH):
        assert o.num_hashes is not None  # pool mode: the state is a count matrix
        seeds = mulhi(public, o.num_hashes)  # published: from the public key only
        x = olh_hashes(o, seeds, v)
        y = grr_reference(flip_probability(o.epsilon, o.g), o.g, x, draws)
        return OLHReports(seeds, y)
    if isinstance(o, GRR):
        return grr_reference(flip_probability(o.epsilon, o.domain_size), o.domain_size, v,
                             draws)
    # OUE: bit u is 1 w.p. q (u ≠ v), ½ (u = v); the (n, D) uniforms keyed per unit (row)
    bits = draws.random((o.domain_size, v.size)).T < o.q
    bits[np.arange(v.size), v] = draws.random(v.size) < 0.5
    return bits.astype(np.uint8)


# ================================================================ prefix keys
def _hash32(rows: np.ndarray) -> np.ndarray:
    """A fixed public 32-bit hash of byte records (SplitMix64 over 8-byte words)."""
    n, w = rows.shape
    padded = np.zeros((n, -(-w // 8) * 8), dtype=np.uint8)
    padded[:, :w] = rows
    words = padded.view(">u8").astype(np.uint64)
    h = np.full(n, 0x6A09E667F3BCC909, dtype=np.uint64)
    for j in range(words.shape[1]):
        h = _frames.mix64(h, words[:, j])
    return (h >> np.uint64(32)).astype(np.int64)


def _masked(rows: np.ndarray, bits: int) -> np.ndarray:
    """The records with every bit after the first ``bits`` set to 0."""
    out = rows.copy()
    full, rest = divmod(bits, 8)
    if full < out.shape[1]:
        if rest:
            out[:, full] &= np.uint8((0xFF << (8 - rest)) & 0xFF)
            out[:, full + 1:] = 0
        else:
            out[:, full:] = 0
    return out


def _prefix_keys(enc: ByteEncoding, rows: np.ndarray, bits: int) -> np.ndarray:
    """Items of the level's oracle: the prefix itself (≤ 32 bits) or its 32-bit hash."""
    if bits <= 32:
        key = enc.prefix_int(rows, bits)
        assert key is not None
        return key
    return _hash32(_masked(rows, bits))


def _domain(bits: int) -> int:
    return max(2, 2 ** min(bits, 32))


# ================================================================ the aggregation
@dataclass(frozen=True)
class _Plan:
    """Public configuration of one run (picklable; shipped to the Dask workers)."""

    item: str
    unit: str
    oracles: tuple[Oracle, ...]
    bits: tuple[int, ...]  # s_t per level (byte mode)
    encoding: ByteEncoding | CandidateEncoding
    private_seed: int
    public_seed: int


@dataclass(frozen=True)
class _Aggregation:
    """map: a partition's reports → per-level FrequencyStates; merge: per level (exact)."""

    plan: _Plan

    def empty(self) -> tuple[FrequencyState, ...]:
        out = []
        for o in self.plan.oracles:
            if isinstance(o, OLH):
                z = np.zeros(0, dtype=np.uint64)
                out.append(aggregate(o, OLHReports(z, z.astype(np.int64))))
            elif isinstance(o, OUE):
                out.append(aggregate(o, np.zeros((0, o.domain_size), dtype=np.uint8)))
            else:
                out.append(aggregate(o, np.zeros(0, dtype=np.int64)))
        return tuple(out)

    def merge(self, a: tuple[FrequencyState, ...], b: tuple[FrequencyState, ...]
              ) -> tuple[FrequencyState, ...]:
        return tuple(merge(x, y) for x, y in zip(a, b, strict=True))

    def map(self, pdf: pd.DataFrame) -> tuple[FrequencyState, ...]:
        p = self.plan
        if len(pdf) == 0:
            return self.empty()
        units = unit_column(pdf, p.unit)
        private = _frames.unit_hash(p.private_seed, units)
        public = _frames.unit_hash(p.public_seed, units)
        values = pdf[p.item].tolist()
        if isinstance(p.encoding, CandidateEncoding):
            v = p.encoding.encode(values, name=p.item)
            o = p.oracles[0]
            if isinstance(o, OUE) and v.size * o.domain_size > _MAX_OUE_CELLS:
                return self._oue_chunks(v, private, public)
            return (aggregate(o, _reports(o, v, derive(private, 1), derive(public, 1))),)
        rows = p.encoding.encode(values, name=p.item)
        level = mulhi(derive(public, 0), len(p.oracles)).astype(np.int64)
        out = []
        for t, (o, bits) in enumerate(zip(p.oracles, p.bits, strict=True)):
            sel = np.flatnonzero(level == t)
            keys = _prefix_keys(p.encoding, rows[sel], bits)
            out.append(aggregate(o, _reports(o, keys, derive(private[sel], 1),
                                             derive(public[sel], 1))))
        return tuple(out)

    def _oue_chunks(self, v: np.ndarray, private: np.ndarray, public: np.ndarray
                    ) -> tuple[FrequencyState, ...]:
        o = self.plan.oracles[0]
        step = max(1, _MAX_OUE_CELLS // o.domain_size)
        st = self.empty()[0]
        for a in range(0, v.size, step):
            b = slice(a, a + step)
            st = merge(st, aggregate(o, _reports(o, v[b], derive(private[b], 1),
                                                 derive(public[b], 1))))
        return (st,)


# ================================================================ the server's walk
def _best(cands: list[Any], est: np.ndarray, m: int, order: list[Any] | None = None
          ) -> list[int]:
    """Indices of the m largest estimates (ties by the smaller candidate / order key)."""
    keys = cands if order is None else order
    idx = sorted(range(len(cands)), key=lambda i: (-float(est[i]), keys[i]))
    return idx[:m]


def _scaled(o: Oracle, st: FrequencyState, items: np.ndarray, total: int) -> np.ndarray:
    if st.n == 0:
        return np.zeros(items.size)
    return estimate(o, st, items) * (total / st.n)


def _walk(plan: _Plan, states: tuple[FrequencyState, ...], k: int, keep: int,
          start_bits: int) -> tuple[list[Any], list[float]]:
    enc = plan.encoding
    assert isinstance(enc, ByteEncoding)
    ell, w = enc.bits, enc.width
    total = sum(st.n for st in states)
    prefixes = list(range(2**start_bits))
    prev = start_bits
    for t, (o, st, bits) in enumerate(zip(plan.oracles, states, plan.bits, strict=True)):
        e = bits - prev
        cands = [(q << e) | c for q in prefixes for c in range(2**e)]
        rows = np.frombuffer(b"".join((c << (ell - bits)).to_bytes(w, "big") for c in cands),
                             dtype=np.uint8).reshape(len(cands), w)
        ok = enc.valid_prefixes(rows, bits)
        last = t == len(plan.oracles) - 1
        decoded: list[Any] = []
        if last:
            decoded = enc.decode(rows)
            ok &= np.array([d is not None for d in decoded], dtype=bool)
        valid = np.flatnonzero(ok)
        cands = [cands[i] for i in valid]
        rows = rows[valid]
        est = _scaled(o, st, _prefix_keys(enc, rows, bits), total)
        best = _best(cands, est, k if last else keep)
        if last:
            return [decoded[valid[i]] for i in best], [float(est[i]) for i in best]
        prefixes = [cands[i] for i in best]
        prev = bits
    return [], []  # pragma: no cover - the loop always returns at its last level


# ================================================================ the public function
def heavy_hitters(df: Any, *, item: str, privacy_unit: str, epsilon: float, k: int,
                  rng: RNGLike, oracle: str = "olh",
                  candidates: Sequence[Hashable] | None = None, max_item_bytes: int = 16,
                  too_long: TooLong = "error", start_bits: int = 0, step_bits: int = 8,
                  keep: int | None = None, progress: bool = False) -> pd.DataFrame:
    """The top-k items of a column under ε-local DP, one report per privacy unit.

    Definition: see the module docstring (one uniformly chosen row per unit; PEM over
    length-prefixed byte records with OLH, or a frequency oracle over a public candidate
    list; reports keyed per unit; mergeable states; the walk once at the end).

    Privacy: ε-LDP per privacy unit, **replace-one** (any two values of all of one unit's
    rows): each unit sends one report of an ε-LDP oracle. Event
    ``privacy_event(heavy_hitters, epsilon=..., oracle=..., candidates=...)``. Wang, Li, Jha
    2019 (PEM); Wang, Blocki, Li, Jha 2017 (OLH, GRR, OUE). Not hardened against
    floating-point attacks.

    Args:
        df: a pandas or Dask DataFrame.
        item: the item column (str, bytes, int or bool values; no nulls). Dask turns object
            columns into strings by default; keep a mixed-type column as objects with
            ``dask.config.set({"dataframe.convert-string": False})`` when creating the frame
            (``7`` and ``"7"`` are different items).
        privacy_unit: the privacy unit column (no nulls).
        epsilon: ε > 0 of the one report per unit.
        k: number of items returned, 1 ≤ k ≤ 2^20/2^step_bits (candidates: ≤ their number).
        rng: an int seed or a numpy Generator (the bounding seed and the per-unit keys'
            seeds are drawn from it once); a SecureGenerator is refused (keyed,
            non-cryptographic per-unit draws).
        oracle: "olh" (default; the only one for byte records), or with candidates "grr" /
            "oue" (OUE sends len(candidates) + 1 bits per unit).
        candidates: None (discover any item) or a public list of distinct candidate items.
        max_item_bytes: byte records: longest item content in bytes (1..63).
        too_long: "error" (refuse longer items) or "truncate" (see
            :class:`~dpkit.pipeline.encoding.ByteEncoding`).
        start_bits: γ, bits of level 0's full candidate set (0..16, < ℓ).
        step_bits: η, bits added per level (1..16).
        keep: prefixes kept per intermediate level (default 4k, as TAP's b_max; PEM keeps k),
            k ≤ keep ≤ 2^20/2^step_bits. More survive a crowd of rare items sharing a prefix.
        progress: a progress bar while the table is aggregated (tqdm / dask diagnostics).

    Returns:
        A pandas DataFrame with the columns ``item`` (the original values, object dtype) and
        ``"estimate"`` (estimated number of units holding the item), by decreasing estimate;
        fewer than k rows when fewer valid records or candidates exist, none for a table
        without units.

    Raises:
        DPKitError: a missing column, nulls in the unit or item column, items of another
            type or too long, a bad parameter (named).
    """
    eps = V.positive(epsilon=epsilon)
    if oracle not in ORACLES:
        raise DPKitError(f"oracle must be one of {ORACLES}, got {oracle!r}")
    _frames.require_columns(df, item, what="item")
    _frames.require_columns(df, privacy_unit, what="privacy_unit", allow_index=True)
    gen = local_generator(rng, "heavy_hitters")
    enc: ByteEncoding | CandidateEncoding
    if candidates is None:
        if oracle != "olh":
            raise DPKitError(f"oracle must be 'olh' without candidates (the walk's domains "
                             f"have up to 2**32 prefixes), got {oracle!r}")
        enc = ByteEncoding(max_item_bytes, too_long)
        ell = enc.bits
        gamma = V.integer(minimum=0, maximum=min(16, ell - 1), start_bits=start_bits)
        eta = V.integer(minimum=1, maximum=16, step_bits=step_bits)
        kk = V.integer(minimum=1, maximum=_MAX_CANDIDATES >> eta, k=k)
        wide = V.integer(minimum=kk, maximum=_MAX_CANDIDATES >> eta,
                         keep=min(4 * kk, _MAX_CANDIDATES >> eta) if keep is None else keep)
        levels = -(-(ell - gamma) // eta)
        bits = tuple(min(ell, gamma + t * eta) for t in range(1, levels + 1))
    else:
        enc = CandidateEncoding(candidates)
        kk = V.integer(minimum=1, maximum=len(enc.candidates), k=k)
        if oracle == "oue" and enc.domain_size > _MAX_OUE_CELLS:
            raise DPKitError(f"oracle='oue' needs len(candidates) + 1 <= {_MAX_OUE_CELLS} "
                             f"(one bit per candidate), got {enc.domain_size}")
        bits = (0,)
    df = checked(df, nulls=(item,), what="item")
    one = bound_contributions(df, privacy_unit=privacy_unit, max_partitions=1,
                              max_per_partition=1, rng=gen)
    private_seed = int(gen.integers(0, 2**63))
    pub = public_generator(gen)
    public_seed = int(pub.integers(0, 2**63))
    pool = int(pub.integers(0, 2**32 - len(bits) - 1))
    if isinstance(enc, CandidateEncoding):
        oracles: tuple[Oracle, ...] = (_oracle(oracle, eps, enc.domain_size, pool),)
    else:
        oracles = tuple(_oracle("olh", eps, _domain(b), pool + t) for t, b in enumerate(bits))
    plan = _Plan(item, privacy_unit, oracles, bits, enc, private_seed, public_seed)
    states = _engine.run(one, _Aggregation(plan), progress=progress)
    if sum(st.n for st in states) == 0:  # no units: nothing to rank (N is public in LDP)
        found, values = [], []
    elif isinstance(enc, CandidateEncoding):
        total = states[0].n
        idx = np.arange(len(enc.candidates), dtype=np.int64)
        est = _scaled(oracles[0], states[0], idx, total)
        best = _best(list(range(idx.size)), est, kk)
        found = enc.decode(best)
        values = [float(est[i]) for i in best]
    else:
        found, values = _walk(plan, states, kk, wide, gamma)
    pd = _frames.pandas()
    col = pd.Series(found, dtype=object, name=item)
    return pd.DataFrame({item: col, "estimate": np.asarray(values, dtype=np.float64)})


def heavy_hitters_event(*, epsilon: float, oracle: str = "olh",
                        candidates: Sequence[Hashable] | None = None, **_: Any) -> Event:
    """The privacy event of :func:`heavy_hitters` with these arguments: the event of one
    report of its oracle (``RandomizedResponse(ε, g)`` for OLH, ``RandomizedResponse(ε,
    len(candidates) + 1)`` for GRR, the exact OUE curve), relation replace-one per privacy
    unit (local DP). Wang, Blocki, Li, Jha 2017.

    Raises:
        DPKitError: a bad epsilon, oracle or candidate list.
    """
    eps = V.positive(epsilon=epsilon)
    if oracle not in ORACLES:
        raise DPKitError(f"oracle must be one of {ORACLES}, got {oracle!r}")
    if candidates is None:
        if oracle != "olh":
            raise DPKitError(f"oracle must be 'olh' without candidates, got {oracle!r}")
        return oracle_event(OLH(eps, 2**32))
    d = CandidateEncoding(candidates).domain_size
    return oracle_event(_oracle(oracle, eps, max(2, d), 0))


register_event(heavy_hitters, heavy_hitters_event)
