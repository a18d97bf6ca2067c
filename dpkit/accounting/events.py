"""Privacy events: small frozen records that say what a mechanism costs.

Every event has ``rdp(orders) -> np.ndarray`` (vectorized over Rényi orders α > 1, ``np.inf``
allowed), a neighbouring ``relation``, and a JSON form (``to_dict`` / :func:`event_from_dict`).
Events are *descriptions*; the :class:`~dpkit.accounting.accountant.Accountant` composes them.

Compatibility rule: an event's meaning never changes; new events or new optional fields with
defaults that keep the old meaning may be added.

Neighbouring relations
----------------------
``"add_remove"``: datasets differ by adding or removing one record (DP-SGD with Poisson
sampling). ``"replace_one"``: one record (or one user's local input) is replaced (local DP,
sampling without replacement). ``None``: the event itself does not fix a relation; its
guarantee holds for whichever relation the sensitivity was computed under (a Gaussian with
sensitivity 1). Composing events with two different fixed relations is refused with
:class:`~dpkit.errors.IncompatibleRelationError`.
"""

from __future__ import annotations

import abc
import dataclasses
import functools
import math
import typing
from collections.abc import Sequence, Sized
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from .. import _validate as V
from ..errors import DPKitError, IncompatibleRelationError, UnsupportedEventError
from . import rdp as _rdp

__all__ = [
    "ADD_REMOVE",
    "REPLACE_ONE",
    "RELATIONS",
    "Event",
    "Gaussian",
    "Laplace",
    "RandomizedResponse",
    "PureDP",
    "ZCDP",
    "RDPCurve",
    "ClaimedApproxDP",
    "ApproxDP",
    "PoissonSampled",
    "SampledWithoutReplacement",
    "Composed",
    "Repeated",
    "event_from_dict",
    "ledger_from_json",
    "MAX_EVENT_DEPTH",
    "combine_relations",
    "PMFPairs",
    "DiscreteLaplace",
    "DiscreteGaussian",
    "MAX_PMF_SIZE",
]

ADD_REMOVE = "add_remove"
REPLACE_ONE = "replace_one"
RELATIONS = (ADD_REMOVE, REPLACE_ONE)

_REGISTRY: dict[str, type[Event]] = {}

#: JSON type names of events that were renamed: read as the named event (same fields, same
#: meaning), never written. "ShuffleClaim" was dpkit.mechanisms.bandits' (ε, δ) claim.
_LEGACY_TYPES: dict[str, str] = {"ShuffleClaim": "ClaimedApproxDP"}


def _check_relation(relation: str | None) -> str | None:
    if relation is not None and not (isinstance(relation, str) and relation in RELATIONS):
        raise DPKitError(f"relation must be one of {RELATIONS} or None, got {relation!r}")
    return relation


def combine_relations(relations: Sequence[str | None], where: str = "composition") -> str | None:
    """The one fixed relation among ``relations`` (None if none is fixed); refuses a mix."""
    fixed = {r for r in relations if r is not None}
    if len(fixed) > 1:
        raise IncompatibleRelationError(
            f"{where} mixes neighbouring relations {sorted(fixed)}: a bound for one relation "
            "does not hold for the other; account for them in separate accountants"
        )
    return fixed.pop() if fixed else None


class Event(abc.ABC):
    """Base class of privacy events (abstract)."""

    type_name: ClassVar[str] = "Event"
    #: Wrapper levels around the innermost base events (0 for a base event); a nesting deeper
    #: than MAX_EVENT_DEPTH is refused, so no traversal of an event (rdp, hashing, JSON) can
    #: exhaust Python's recursion limit. The JSON reader counts levels the same way.
    _depth: ClassVar[int] = 0

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.type_name = cls.__name__
        # The JSON vocabulary is closed: only the classes of this module are readable by
        # event_from_dict. A subclass defined elsewhere still works in Python (the Accountant
        # composes any Event), but it is not registered, so it can neither extend nor shadow
        # the JSON vocabulary, and its JSON form is refused with UnsupportedEventError.
        if cls.__module__ == __name__:
            _REGISTRY[cls.__name__] = cls

    #: The neighbouring relation the event's guarantee is stated for (None: any).
    relation: ClassVar[str | None] = None

    @abc.abstractmethod
    def rdp(self, orders: Any) -> np.ndarray:
        """RDP bound ε(α) at each order (vectorized)."""

    @abc.abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form; :func:`event_from_dict` inverts it."""

    @property
    def convex_cumulant(self) -> bool:
        """True if :meth:`rdp` is an exact Rényi divergence (or a sum of them), so that its
        cumulant (α−1)·ε(α) is convex and non-decreasing with value 0 at α = 1.

        The accountant then skips orders that provably cannot give the smallest ε (see
        :mod:`dpkit.accounting._pruning`). False is always safe: every order is evaluated.
        """
        return False

    def epsilon_inf(self) -> float:
        """The pure-DP parameter ε(∞) (``inf`` when the event has none)."""
        return float(self.rdp(np.array([np.inf]))[0])


def _json_number(x: Any) -> Any:
    """Plain-JSON number: infinity is written as the string "inf"."""
    return "inf" if isinstance(x, float) and math.isinf(x) else x


def _base_dict(ev: Event, **fields: Any) -> dict[str, Any]:
    d: dict[str, Any] = {"type": ev.type_name, **{k: _json_number(v) for k, v in fields.items()}}
    rel = ev.relation
    if rel is not None:
        d["relation"] = rel
    return d


# ----------------------------------------------------------------------------- base events
@dataclass(frozen=True)
class Gaussian(Event):
    """Gaussian mechanism: noise N(0, (σ·Δ)²) on a query of L2 sensitivity Δ.

    Privacy: ε(α) = α/(2σ²) for every α (ρ = 1/(2σ²) zCDP), for the relation under which Δ
    was computed. Mironov 2017, Prop. 7; Bun & Steinke 2016, Prop. 1.6. ``noise_multiplier``
    σ ≥ 0; σ = 0 means no noise and ε = ∞ (vacuous).
    """

    noise_multiplier: float
    relation: str | None = None  # type: ignore[misc]

    def __post_init__(self) -> None:
        s = V.nonnegative(allow_inf=True, noise_multiplier=self.noise_multiplier)
        object.__setattr__(self, "noise_multiplier", s)
        _check_relation(self.relation)

    @property
    def convex_cumulant(self) -> bool:
        return True

    def rdp(self, orders: Any) -> np.ndarray:
        return _rdp.gaussian(self.noise_multiplier, orders)

    def to_dict(self) -> dict[str, Any]:
        return _base_dict(self, noise_multiplier=self.noise_multiplier)


@dataclass(frozen=True)
class Laplace(Event):
    """Laplace mechanism: noise Lap(b·Δ) on a query of L1 sensitivity Δ; b = noise_multiplier.

    Privacy: (1/b)-DP; RDP ε(α) from Mironov 2017, Prop. 6. b = 0 gives ε = ∞.
    """

    noise_multiplier: float
    relation: str | None = None  # type: ignore[misc]

    def __post_init__(self) -> None:
        b = V.nonnegative(allow_inf=True, noise_multiplier=self.noise_multiplier)
        object.__setattr__(self, "noise_multiplier", b)
        _check_relation(self.relation)

    @property
    def convex_cumulant(self) -> bool:
        return True

    def rdp(self, orders: Any) -> np.ndarray:
        return _rdp.laplace(self.noise_multiplier, orders)

    def to_dict(self) -> dict[str, Any]:
        return _base_dict(self, noise_multiplier=self.noise_multiplier)


@dataclass(frozen=True)
class RandomizedResponse(Event):
    """k-ary randomized response with parameter ε (true value kept w.p. e^ε/(e^ε + k − 1)).

    Privacy: ε-DP (local), replace-one relation; exact RDP from Mironov 2017, Table II,
    extended to k values.
    """

    epsilon: float
    k: int = 2

    relation: ClassVar[str] = REPLACE_ONE

    def __post_init__(self) -> None:
        object.__setattr__(self, "epsilon", V.nonnegative(allow_inf=True, epsilon=self.epsilon))
        object.__setattr__(self, "k", V.integer(minimum=2, k=self.k))

    @property
    def convex_cumulant(self) -> bool:
        return True

    def rdp(self, orders: Any) -> np.ndarray:
        return _rdp.randomized_response(self.epsilon, self.k, orders)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type_name, "epsilon": _json_number(self.epsilon), "k": self.k}


@dataclass(frozen=True)
class PureDP(Event):
    """Any ε-DP mechanism.

    RDP: binary randomized response's curve, the tightest bound implied by ε alone
    (Kairouz–Oh–Viswanath 2015 + data processing); ε(∞) = ε.
    """

    epsilon: float
    relation: str | None = None  # type: ignore[misc]

    def __post_init__(self) -> None:
        object.__setattr__(self, "epsilon", V.nonnegative(allow_inf=True, epsilon=self.epsilon))
        _check_relation(self.relation)

    @property
    def convex_cumulant(self) -> bool:
        return True

    def rdp(self, orders: Any) -> np.ndarray:
        return _rdp.pure_dp(self.epsilon, orders)

    def to_dict(self) -> dict[str, Any]:
        return _base_dict(self, epsilon=self.epsilon)


@dataclass(frozen=True)
class ZCDP(Event):
    """(ξ, ρ)-zero-concentrated DP: ε(α) = ξ + ρα for all α > 1 (Bun & Steinke 2016)."""

    rho: float
    xi: float = 0.0
    relation: str | None = None  # type: ignore[misc]

    def __post_init__(self) -> None:
        object.__setattr__(self, "rho", V.nonnegative(allow_inf=True, rho=self.rho))
        object.__setattr__(self, "xi", V.nonnegative(xi=self.xi))
        _check_relation(self.relation)

    @property
    def convex_cumulant(self) -> bool:
        return True

    def rdp(self, orders: Any) -> np.ndarray:
        return _rdp.zcdp(self.rho, self.xi, orders)

    def to_dict(self) -> dict[str, Any]:
        d = _base_dict(self, rho=self.rho)
        if self.xi:
            d["xi"] = self.xi
        return d


@dataclass(frozen=True)
class RDPCurve(Event):
    """A tabulated RDP curve, for mechanisms whose bound is computed elsewhere.

    Between tabulated orders the value at the next *larger* tabulated order is used (RDP is
    non-decreasing in α, so this is an upper bound); beyond the largest tabulated order the
    bound is ∞. Values must be ≥ 0, non-NaN; orders > 1 (``inf`` allowed).
    """

    orders: tuple[float, ...]
    values: tuple[float, ...]
    relation: str | None = None  # type: ignore[misc]

    def __post_init__(self) -> None:
        o = np.asarray(self.orders, dtype=float).reshape(-1)
        v = np.asarray(self.values, dtype=float).reshape(-1)
        if o.size == 0 or o.shape != v.shape:
            raise DPKitError(
                f"orders and values must be non-empty and of equal length, got {o.size} and "
                f"{v.size}"
            )
        if np.isnan(o).any() or (o <= 1).any():
            raise DPKitError("orders must all be > 1 (inf allowed), got " + str(o.tolist()))
        if np.isnan(v).any() or (v < 0).any():
            raise DPKitError("values must all be >= 0 and not NaN")
        idx = np.argsort(o)
        o, v = o[idx], v[idx]
        if np.unique(o).size != o.size:
            raise DPKitError("orders must be distinct")
        # enforce monotonicity from above: a bound at α also bounds every smaller order
        v = np.minimum.accumulate(v[::-1])[::-1]
        object.__setattr__(self, "orders", tuple(float(x) for x in o))
        object.__setattr__(self, "values", tuple(float(x) for x in v))
        _check_relation(self.relation)

    def rdp(self, orders: Any) -> np.ndarray:
        a = np.asarray(orders, dtype=float).reshape(-1)
        o = np.asarray(self.orders)
        v = np.asarray(self.values)
        pos = np.searchsorted(o, a, side="left")
        out = np.full(a.shape, np.inf)
        inside = pos < o.size
        out[inside] = v[pos[inside]]
        return out

    def to_dict(self) -> dict[str, Any]:
        enc = [("inf" if math.isinf(x) else x) for x in self.orders]
        vals = [("inf" if math.isinf(x) else x) for x in self.values]
        return _base_dict(self, orders=enc, values=vals)


@dataclass(frozen=True)
class ClaimedApproxDP(Event):
    """An (ε, δ)-DP statement that dpkit does not certify: a claim, kept for the record.

    Some guarantees are stated only as (ε, δ) — e.g. the shuffle-model claims (amplification
    by shuffling, binomial "privacy blanket" summation) of Zhou & Chowdhury, ICLR 2024, that
    :mod:`dpkit.mechanisms.bandits` calibrates to — and imply no finite Rényi bound, or rest
    on an analysis dpkit has not checked. This event records such a claim without
    certifying it.

    Privacy (as the accountant reads it): **no certified bound**. ``rdp`` is ``inf`` at every
    order, so any ledger holding a claim has ε = ∞ (and δ = 1 at any finite ε): composing a
    claim can never understate the privacy loss. Read ``epsilon`` and ``delta`` directly and
    compose claims by hand if you accept them (basic composition: ε and δ add).

    Args:
        epsilon: the claimed ε ≥ 0 (``inf`` allowed).
        delta: the claimed δ ∈ [0, 1].
        relation: the neighbouring relation the claim is stated for (None: not fixed).
        source: free text naming where the claim comes from (a paper, a protocol).

    The JSON type name ``"ShuffleClaim"`` (this event's name in dpkit's bandits until
    issue 15) is read as this event; ``dpkit.mechanisms.bandits.ShuffleClaim`` is an alias.
    """

    epsilon: float
    delta: float
    relation: str | None = None  # type: ignore[misc]
    source: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "epsilon", V.nonnegative(allow_inf=True, epsilon=self.epsilon))
        object.__setattr__(self, "delta", V.probability(delta=self.delta))
        _check_relation(self.relation)
        if not isinstance(self.source, str):
            raise DPKitError(f"source must be a string, got {_short(self.source)}")

    def rdp(self, orders: Any) -> np.ndarray:
        return np.full(np.asarray(orders, dtype=float).reshape(-1).shape, np.inf)

    def to_dict(self) -> dict[str, Any]:
        d = _base_dict(self, epsilon=self.epsilon, delta=self.delta)
        if self.source:
            d["source"] = self.source
        return d


@dataclass(frozen=True)
class ApproxDP(Event):
    """A certified (ε, δ)-DP guarantee with δ > 0 and no finite Rényi bound.

    For releases whose analysis dpkit proves in (ε, δ) form and that no Rényi bound can
    express — e.g. partition selection by thresholding (Korolova, Kenthapadi, Mishra,
    Ntoulas 2009; Desfontaines, Voss, Gipson, Mandayam 2022): a key held by one unit appears
    with probability ≤ δ with it and never without it, so every Rényi divergence is infinite.
    Unlike :class:`ClaimedApproxDP` (an unchecked claim), this event is the proven
    guarantee of a dpkit release.

    Privacy: every (ε, δ)-DP mechanism is a post-processing of the four-point pair
    P = (δ, (1−δ)e^ε/(1+e^ε), (1−δ)/(1+e^ε), 0), Q = its mirror image (Kairouz, Oh,
    Viswanath 2015, Thm 2.4; Murtagh & Vadhan 2016), so that pair is a dominating pair in
    both orientations and the PLD accountant (``method="pld"`` or ``"auto"``) composes the
    event tightly. ``rdp`` is ``inf`` at every order (the truth when δ > 0), so
    ``method="rdp"`` reports ε = ∞ for a ledger holding one.

    Args:
        epsilon: ε ≥ 0, finite.
        delta: δ ∈ [0, 1].
        relation: the neighbouring relation the guarantee is stated for (None: any).
    """

    epsilon: float
    delta: float
    relation: str | None = None  # type: ignore[misc]

    def __post_init__(self) -> None:
        object.__setattr__(self, "epsilon", V.nonnegative(epsilon=self.epsilon))
        object.__setattr__(self, "delta", V.probability(delta=self.delta))
        _check_relation(self.relation)

    def rdp(self, orders: Any) -> np.ndarray:
        a = np.asarray(orders, dtype=float).reshape(-1)
        if self.delta > 0.0:
            return np.full(a.shape, np.inf)
        return np.asarray(_rdp.pure_dp(self.epsilon, a), dtype=float)

    def to_dict(self) -> dict[str, Any]:
        return _base_dict(self, epsilon=self.epsilon, delta=self.delta)

    def pmfs(self) -> tuple[list[float], list[float]]:
        """The dominating pair (P, Q) of (ε, δ)-DP on four outcomes (Kairouz et al. 2015)."""
        e, d = self.epsilon, self.delta
        # lo rounded down, hi = (1 − δ) − lo: the ratio hi/lo stays ≥ e^ε (pessimistic)
        lo = math.nextafter((1.0 - d) / (1.0 + math.exp(e)), 0.0) if e < 700 else 0.0
        hi = (1.0 - d) - lo
        return [d, hi, lo, 0.0], [0.0, lo, hi, d]


# ------------------------------------------------------------- events with explicit laws
#: Largest number of probabilities a :class:`PMFPairs` event may hold (all pairs together).
MAX_PMF_SIZE = 1 << 20
_U = 2.0 ** -53  # unit roundoff


def _pmf(x: Any, where: str) -> tuple[float, ...]:
    """A validated pmf: finite, ≥ 0, summing to 1 within 1e-9 (a tuple of floats)."""
    if isinstance(x, (str, bytes)) or not isinstance(x, Sequence | np.ndarray):
        raise DPKitError(f"{where} must be a sequence of probabilities, got {_short(x)}")
    try:
        v = np.asarray(x, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise DPKitError(f"{where} must be a sequence of numbers, got {_short(x)}") from None
    if v.size == 0 or not np.all(np.isfinite(v)) or (v < 0).any():
        raise DPKitError(f"{where} must be a non-empty list of finite probabilities >= 0")
    if abs(math.fsum(v.tolist()) - 1.0) > 1e-9:
        raise DPKitError(f"{where} must sum to 1 (within 1e-9), got {math.fsum(v.tolist())!r}")
    return tuple(float(t) for t in v)


def _orientation_key(p: tuple[float, ...], q: tuple[float, ...]) -> tuple[tuple[float, float], ...]:
    """The pair as a sorted multiset of (p_i, q_i) (outcomes with p_i = q_i = 0 dropped): equal
    keys have equal divergences of every kind."""
    return tuple(sorted((a, b) for a, b in zip(p, q, strict=True) if a > 0 or b > 0))


def _renyi_upper(p: np.ndarray, q: np.ndarray, a: np.ndarray) -> np.ndarray:
    """D_α(p ‖ q) at each order α > 1 (``inf`` allowed), rounded upward.

    D_α = log Σ_{p>0} p^α q^{1−α} / (α − 1) (log-sum-exp); α = ∞: max log(p/q); ∞ where some
    outcome has q = 0 < p. Float error of the exponents (≤ 2u·(α|log p| + (α−1)|log q|) each)
    and of the sum ((n + 4)u) is added before dividing, so the value is an upper bound.
    """
    if np.array_equal(p, q):
        return np.zeros(a.shape)
    keep = p > 0
    if (q[keep] == 0).any():
        return np.full(a.shape, np.inf)
    lp, lq = np.log(p[keep]), np.log(q[keep])
    out = np.empty(a.shape)
    fin = np.isfinite(a)
    if (~fin).any():
        r = lp - lq
        out[~fin] = float(np.max(r)) + 2 * _U * float(np.max(np.abs(lp) + np.abs(lq)))
    af = a[fin]
    if af.size:
        from scipy.special import logsumexp

        terms = af[:, None] * lp[None, :] + (1.0 - af)[:, None] * lq[None, :]
        ls = logsumexp(terms, axis=1)
        err = (lp.size + 4) * _U + 2 * _U * np.max(
            af[:, None] * np.abs(lp)[None, :] + (af - 1.0)[:, None] * np.abs(lq)[None, :],
            axis=1)
        with np.errstate(over="ignore"):
            out[fin] = np.maximum(ls + err, 0.0) / (af - 1.0)
    return _rdp._round_up(np.maximum(out, 0.0), 4.0)


@dataclass(frozen=True)
class PMFPairs(Event):
    """A mechanism given by its output pmfs on finitely many neighbouring input pairs.

    ``pairs`` is a tuple of (p, q), two pmfs on one finite output set each (equal lengths,
    finite, ≥ 0, summing to 1 within 1e-9), which must cover the worst case: every
    neighbouring (D, D′) of the mechanism has an output pair that is a post-processing of one
    listed pair (for instance: the list holds the laws at all pairs of extreme inputs).
    With ``relation="add_remove"`` each (p, q) is (M(D), M(D − x)) — the "remove" direction —
    and the "add" direction uses (q, p). Otherwise (replace-one, or a symmetric relation left
    open) each pair and its reverse are neighbouring, so both orientations count.

    Privacy: rdp(α) = the largest exact Rényi divergence D_α over the listed pairs and both
    orientations (Rényi 1961; data processing, van Erven & Harremoës 2014, Thm. 9), rounded
    upward; α = ∞ gives the largest log ratio; an outcome only p can produce gives ∞. The
    privacy loss distribution (issue 16) is built from the same pmfs
    (:func:`dpkit.accounting.pld.mechanism_pairs.event_pairs`). At most
    :data:`MAX_PMF_SIZE` probabilities in all.
    """

    pairs: tuple[tuple[tuple[float, ...], tuple[float, ...]], ...]
    relation: str | None = None  # type: ignore[misc]

    def __post_init__(self) -> None:
        given: Any = self.pairs
        if isinstance(given, (str, bytes)) or not isinstance(given, Sequence | np.ndarray):
            raise DPKitError(f"pairs must be a sequence of (p, q) pmf pairs, got {_short(given)}")
        raw = list(given)
        if not raw:
            raise DPKitError("pairs must hold at least one (p, q) pair")
        out = []
        total = 0
        for i, item in enumerate(raw):
            if isinstance(item, (str, bytes)) or not isinstance(item, Sequence | np.ndarray) \
                    or len(item) != 2:
                raise DPKitError(f"pairs[{i}] must be a (p, q) pair of pmfs, got {_short(item)}")
            total += 2 * (len(item[0]) if isinstance(item[0], Sized) else 0)
            if total > MAX_PMF_SIZE:
                raise DPKitError(f"pairs must hold at most MAX_PMF_SIZE = {MAX_PMF_SIZE} "
                                 "probabilities in all")
            p = _pmf(item[0], f"pairs[{i}][0] (p)")
            q = _pmf(item[1], f"pairs[{i}][1] (q)")
            if len(p) != len(q):
                raise DPKitError(f"pairs[{i}]: p and q must have equal lengths, got {len(p)} "
                                 f"and {len(q)}")
            out.append((p, q))
        object.__setattr__(self, "pairs", tuple(out))
        _check_relation(self.relation)

    def orientations(self) -> list[tuple[tuple[float, ...], tuple[float, ...]]]:
        """Every ordered (P, Q) whose divergence counts: each pair and its reverse."""
        return [o for p, q in self.pairs for o in ((p, q), (q, p))]

    @property
    def convex_cumulant(self) -> bool:
        # exact when one (pair, orientation) is the worst at every order: provably so when all
        # orientations are the same multiset of outcome pairs (equal divergences of any kind)
        keys = {_orientation_key(p, q) for p, q in self.orientations()}
        return len(keys) == 1

    def rdp(self, orders: Any) -> np.ndarray:
        a = np.asarray(orders, dtype=float).reshape(-1)
        if np.isnan(a).any() or (a <= 1).any():
            raise DPKitError("orders must all be > 1 (inf allowed)")
        return np.array(_pmf_pairs_rdp(self, tuple(a.tolist())))

    def to_dict(self) -> dict[str, Any]:
        return _base_dict(self, pairs=[[list(p), list(q)] for p, q in self.pairs])


@functools.lru_cache(maxsize=128)
def _pmf_pairs_rdp(ev: PMFPairs, orders: tuple[float, ...]) -> tuple[float, ...]:
    """PMFPairs.rdp, cached per (event, orders): the largest D_α over every orientation."""
    a = np.asarray(orders, dtype=float)
    out = np.zeros(a.shape)
    seen: set[tuple[tuple[float, float], ...]] = set()
    for p, q in ev.orientations():
        key = _orientation_key(p, q)
        if key in seen:
            continue
        seen.add(key)
        out = np.maximum(out, _renyi_upper(np.asarray(p), np.asarray(q), a))
    return tuple(float(x) for x in out)


def _ratio_up(num: int, den: Any) -> float:
    """The smallest float ≥ num/den (exact rational arithmetic; ``den`` a float or Fraction)."""
    from fractions import Fraction

    r = Fraction(num) / Fraction(den)
    try:
        f = float(r)
    except OverflowError:
        return math.inf
    return f if Fraction(f) >= r else math.nextafter(f, math.inf)


@dataclass(frozen=True)
class DiscreteLaplace(Event):
    """Discrete Laplace noise P[Y = y] ∝ e^{−|y|/scale} (y ∈ ℤ) on each coordinate of an
    integer query of integer L1 sensitivity Δ = ``sensitivity`` (scalar or vector).

    Privacy: ε-DP with ε = Δ/scale (Ghosh, Roughgarden, Sundararajan 2012; Canonne, Kamath,
    Steinke 2020); RDP: the pure-DP curve of that ε (binary randomized response, the tightest
    bound implied by ε; Kairouz, Oh, Viswanath 2015), rounded upward. Its privacy loss
    distribution (issue 16) is the exact one of the noise pmfs, worst case over all integer
    shifts of L1 norm ≤ Δ (:mod:`dpkit.accounting.pld.mechanism_pairs`). ``scale`` > 0
    finite; Δ a positive integer.
    """

    scale: float
    sensitivity: int = 1
    relation: str | None = None  # type: ignore[misc]

    def __post_init__(self) -> None:
        object.__setattr__(self, "scale", V.positive(scale=self.scale))
        object.__setattr__(self, "sensitivity", V.integer(minimum=1, sensitivity=self.sensitivity))
        _check_relation(self.relation)

    @property
    def epsilon(self) -> float:
        """ε = Δ/scale, rounded upward (exact rational arithmetic on the float scale)."""
        return _ratio_up(self.sensitivity, self.scale)

    @property
    def convex_cumulant(self) -> bool:
        # Δ = 1: the pair is binary randomized response with ε (exact, one curve); Δ ≥ 2: a
        # maximum over several shift vectors (no convexity claimed, every order evaluated)
        return self.sensitivity == 1 or self.sensitivity > _DLAP_EXACT_MAX

    def rdp(self, orders: Any) -> np.ndarray:
        pure = _rdp.pure_dp(self.epsilon, orders)
        if self.sensitivity == 1 or self.sensitivity > _DLAP_EXACT_MAX:
            return pure
        a = np.asarray(orders, dtype=float).reshape(-1)
        exact = np.zeros(a.shape)
        for p, q in _dlap_shift_laws(self.scale, self.sensitivity):
            exact = np.maximum(exact, _renyi_upper(p, q, a))
        return np.minimum(pure, exact)

    def to_dict(self) -> dict[str, Any]:
        return _base_dict(self, scale=self.scale, sensitivity=self.sensitivity)


#: Largest L1 sensitivity of a DiscreteLaplace whose exact RDP (over every shift vector) is
#: computed; above it the pure-DP curve of ε = Δ/scale is used.
_DLAP_EXACT_MAX = 20


@functools.lru_cache(maxsize=64)
def _dlap_shift_laws(scale: float, sensitivity: int) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """The laws (P, Q) of the privacy loss of discrete Laplace noise with ``scale`` t under
    every integer shift vector of L1 norm exactly Δ (one per integer partition of Δ; signs and
    order do not matter, and a shorter vector is a marginal of one extended by ones), on the
    lattice k/t: per coordinate with shift s the loss is −s/t for y ≤ 0, s/t for y ≥ s and
    (2y − s)/t in between (exact geometric sums). The loss is a sufficient statistic, so each
    pair has the Rényi divergences of its shift's output laws (van Erven & Harremoës 2014)."""
    r = math.exp(-1.0 / scale)
    c = -math.expm1(-1.0 / scale) / (1.0 + r)

    def shift(s: int) -> np.ndarray:
        out = np.zeros(2 * s + 1)
        out[0] = math.exp(-s / scale) / (1.0 + r)
        out[2 * s] = 1.0 / (1.0 + r)
        for y in range(1, s):
            out[2 * y] = c * math.exp(-(s - y) / scale)
        return out

    laws = []
    stack: list[tuple[int, int, tuple[int, ...]]] = [(sensitivity, sensitivity, ())]
    while stack:
        rest, top, parts = stack.pop()
        if rest == 0:
            m = np.ones(1)
            for s in parts:
                m = np.convolve(m, shift(s))
            k = -sum(parts) + np.arange(m.size)
            with np.errstate(under="ignore", over="ignore"):
                qm = m * np.exp(-k / scale)
            laws.append((m, qm))
            continue
        for s in range(min(rest, top), 0, -1):
            stack.append((rest - s, s, (*parts, s)))
    return tuple(laws)


@dataclass(frozen=True)
class DiscreteGaussian(Event):
    """Discrete Gaussian noise P[Y = y] ∝ e^{−y²/(2σ²)} (y ∈ ℤ) on each coordinate of an
    integer query of integer L2 sensitivity Δ = ``sensitivity`` (scalar or vector).

    Privacy: ρ-zCDP with ρ = Δ²/(2σ²) (Canonne, Kamath, Steinke 2020, Thms. 14–15), i.e. RDP
    ε(α) = ρα, rounded upward. Its privacy loss distribution (issue 16) is the exact one of
    the noise pmfs (tails cut with their P-mass at +∞), worst case over all integer shifts of
    L2 norm ≤ Δ (:mod:`dpkit.accounting.pld.mechanism_pairs`). σ > 0 finite; Δ a positive
    integer.
    """

    sigma: float
    sensitivity: int = 1
    relation: str | None = None  # type: ignore[misc]

    def __post_init__(self) -> None:
        object.__setattr__(self, "sigma", V.positive(sigma=self.sigma))
        object.__setattr__(self, "sensitivity", V.integer(minimum=1, sensitivity=self.sensitivity))
        _check_relation(self.relation)

    @property
    def rho(self) -> float:
        """ρ = Δ²/(2σ²), rounded upward (exact rational arithmetic on the float σ)."""
        from fractions import Fraction

        return _ratio_up(self.sensitivity ** 2, 2 * Fraction(self.sigma) ** 2)

    @property
    def convex_cumulant(self) -> bool:
        return True

    def rdp(self, orders: Any) -> np.ndarray:
        return _rdp.zcdp(self.rho, 0.0, orders)

    def to_dict(self) -> dict[str, Any]:
        return _base_dict(self, sigma=self.sigma, sensitivity=self.sensitivity)


# ----------------------------------------------------------------------------- wrappers
def _set_depth(wrapper: Event, children: Sequence[Event]) -> None:
    """Record the wrapper's nesting depth; refuse nestings deeper than MAX_EVENT_DEPTH."""
    depth = 1 + max((c._depth for c in children), default=0)
    if depth > MAX_EVENT_DEPTH:
        raise DPKitError(
            f"events nested more than MAX_EVENT_DEPTH = {MAX_EVENT_DEPTH} wrapper levels deep; "
            "flatten the nesting (Repeated(Repeated(e, a), b) is Repeated(e, a*b))"
        )
    object.__setattr__(wrapper, "_depth", depth)


def _float_count(n: int) -> float:
    """A count as a float, ∞ beyond the float range (so a bound stays an upper bound)."""
    try:
        return float(n)
    except OverflowError:
        return math.inf


def _effective_gaussian(event: Event) -> float | None:
    """σ of the single Gaussian equivalent to ``event`` (Gaussians composed), else None."""
    if isinstance(event, Gaussian):
        return event.noise_multiplier
    if isinstance(event, Repeated):
        s = _effective_gaussian(event.event)
        if s is None:
            return None
        if event.count == 0:
            return math.inf
        return s / math.sqrt(_float_count(event.count))
    if isinstance(event, Composed):
        inv = 0.0
        for e in event.events:
            s = _effective_gaussian(e)
            if s is None:
                return None
            inv += 0.0 if math.isinf(s) else (math.inf if s == 0 else 1.0 / (s * s))
        return math.inf if inv == 0 else (0.0 if math.isinf(inv) else 1.0 / math.sqrt(inv))
    return None


@dataclass(frozen=True)
class PoissonSampled(Event):
    """Run ``event`` on a Poisson sample: each record kept independently with ``sample_rate``.

    Relation: add/remove. If ``event`` is a Gaussian (or Gaussians composed, which is one
    Gaussian), the bound is exact (Mironov, Talwar, Zhang 2019), fractional orders included.
    Otherwise the general bound of Zhu & Wang 2019, Thm. 6, at integer orders with the
    convex cumulant interpolation between them. The inner event must be stated for add/remove
    or for no fixed relation.
    """

    event: Event
    sample_rate: float

    relation: ClassVar[str] = ADD_REMOVE

    def __post_init__(self) -> None:
        if not isinstance(self.event, Event):
            raise DPKitError(f"event must be a dpkit privacy event, got {self.event!r}")
        _set_depth(self, (self.event,))
        object.__setattr__(self, "sample_rate", V.probability(sample_rate=self.sample_rate))
        combine_relations([self.event.relation, ADD_REMOVE], "PoissonSampled")

    @property
    def convex_cumulant(self) -> bool:
        return _effective_gaussian(self.event) is not None  # the exact sampled Gaussian

    def rdp(self, orders: Any) -> np.ndarray:
        s = _effective_gaussian(self.event)
        if s is not None:
            return _rdp.sampled_gaussian(self.sample_rate, s, orders)
        return _rdp.poisson_subsampled(self.sample_rate, self.event.rdp, orders)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type_name, "sample_rate": self.sample_rate,
                "event": self.event.to_dict()}


@dataclass(frozen=True)
class SampledWithoutReplacement(Event):
    """Run ``event`` on a uniformly random subset of m of n records; sample_rate = m/n.

    Relation: replace-one (n public). Bound: Wang, Balle, Kasiviswanathan 2019, Thm. 9, at
    integer orders, with their Cor. 10 between integers.
    """

    event: Event
    sample_rate: float

    relation: ClassVar[str] = REPLACE_ONE

    def __post_init__(self) -> None:
        if not isinstance(self.event, Event):
            raise DPKitError(f"event must be a dpkit privacy event, got {self.event!r}")
        _set_depth(self, (self.event,))
        object.__setattr__(self, "sample_rate", V.probability(sample_rate=self.sample_rate))
        combine_relations([self.event.relation, REPLACE_ONE], "SampledWithoutReplacement")

    def rdp(self, orders: Any) -> np.ndarray:
        return _rdp.without_replacement_subsampled(self.sample_rate, self.event.rdp, orders)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type_name, "sample_rate": self.sample_rate,
                "event": self.event.to_dict()}


@dataclass(frozen=True)
class Composed(Event):
    """Sequential (adaptive) composition: RDP adds (Mironov 2017, Prop. 1)."""

    events: tuple[Event, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        evs = tuple(self.events)
        for e in evs:
            if not isinstance(e, Event):
                raise DPKitError(f"events must be dpkit privacy events, got {e!r}")
        _set_depth(self, evs)
        object.__setattr__(self, "events", evs)
        combine_relations([e.relation for e in evs], "Composed")

    # A wrapper derives its relation from its parts (read-only); leaf events store theirs.
    @property
    def relation(self) -> str | None:  # type: ignore[override]
        return combine_relations([e.relation for e in self.events])

    @property
    def convex_cumulant(self) -> bool:
        return all(e.convex_cumulant for e in self.events)

    def rdp(self, orders: Any) -> np.ndarray:
        a = np.asarray(orders, dtype=float).reshape(-1)
        total = np.zeros_like(a)
        with np.errstate(over="ignore"):  # a sum beyond the float range is the bound +inf
            for e in self.events:
                total = total + e.rdp(a)
        return total

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type_name, "events": [e.to_dict() for e in self.events]}


@dataclass(frozen=True)
class Repeated(Event):
    """``event`` run ``count`` times (count ≥ 0, any size: the cost does not grow with it)."""

    event: Event
    count: int

    def __post_init__(self) -> None:
        if not isinstance(self.event, Event):
            raise DPKitError(f"event must be a dpkit privacy event, got {self.event!r}")
        _set_depth(self, (self.event,))
        object.__setattr__(self, "count", V.integer(minimum=0, count=self.count))

    @property  # derived from the repeated event (read-only)
    def relation(self) -> str | None:  # type: ignore[override]
        return self.event.relation

    @property
    def convex_cumulant(self) -> bool:
        return self.event.convex_cumulant

    def rdp(self, orders: Any) -> np.ndarray:
        if self.count == 0:
            return np.zeros(np.asarray(orders, dtype=float).reshape(-1).shape)
        r = np.asarray(self.event.rdp(orders), dtype=float)
        # a count beyond the float range is ∞ (still an upper bound); 0 stays 0
        with np.errstate(invalid="ignore", over="ignore"):
            return np.where(r == 0.0, 0.0, _float_count(self.count) * r)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type_name, "count": self.count, "event": self.event.to_dict()}


# ---------------------------------------------------------------------------- JSON reader
#: The deepest nesting of events (a wrapper's ``event``, a ``Composed``'s ``events``) that the
#: JSON reader accepts; deeper input is refused with a DPKitError naming this limit.
MAX_EVENT_DEPTH = 64

#: The keys of a ledger entry ``{"event": <event>, "count": n}`` (a JSON object with no "type").
ENTRY_KEYS = ("event", "count")

_INF_WORDS = {"inf": math.inf, "+inf": math.inf, "infinity": math.inf, "+infinity": math.inf,
              "-inf": -math.inf, "-infinity": -math.inf}

# field kinds of the JSON reader, from each event class's dataclass fields
_EVENT, _EVENTS, _NUMBER, _NUMBERS, _ANY = "event", "events", "number", "numbers", "any"
_SCHEMAS: dict[type, dict[str, tuple[str, bool]] | None] = {}


def _short(x: Any, limit: int = 60) -> str:
    """A bounded repr for error messages (input can be huge)."""
    try:
        text = repr(x)
    except RecursionError:  # pragma: no cover - a pathological Python object
        text = f"<{type(x).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _kind(hint: Any) -> str:
    """The JSON reader's kind for one annotated dataclass field."""
    origin = typing.get_origin(hint)
    if isinstance(hint, type):
        if issubclass(hint, Event):
            return _EVENT
        if hint is float:
            return _NUMBER
        return _ANY
    if origin is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis and isinstance(args[0], type):
            if issubclass(args[0], Event):
                return _EVENTS
            if args[0] is float:
                return _NUMBERS
    return _ANY


def _schema(cls: type) -> dict[str, tuple[str, bool]] | None:
    """``{field: (kind, required)}`` of an event class (None: not a dataclass)."""
    if cls in _SCHEMAS:
        return _SCHEMAS[cls]
    schema: dict[str, tuple[str, bool]] | None = None
    if dataclasses.is_dataclass(cls):
        try:
            hints = typing.get_type_hints(cls)
        except Exception:  # noqa: BLE001 - unresolvable annotations: pass values through
            hints = {}
        schema = {}
        for f in dataclasses.fields(cls):
            if not f.init:
                continue
            required = f.default is dataclasses.MISSING and (
                f.default_factory is dataclasses.MISSING)
            schema[f.name] = (_kind(hints.get(f.name, f.type)), required)
    _SCHEMAS[cls] = schema
    return schema


def _json_float(x: Any) -> Any:
    """A JSON number for a float field: "inf" (any case, signed) is infinity; a JSON integer
    beyond the float range is ±inf, as a JSON number like 1e400 already is; anything else is
    passed on unchanged for the event's own validation, which names the field."""
    if isinstance(x, str):
        return _INF_WORDS.get(x.strip().lower(), x)
    if isinstance(x, int) and not isinstance(x, bool):
        try:
            return float(x)
        except OverflowError:
            return math.inf if x > 0 else -math.inf
    return x


def _json_floats(x: Any, where: str) -> tuple[Any, ...]:
    """A JSON list of numbers ("inf" allowed) as a tuple of floats."""
    if not isinstance(x, list):
        raise DPKitError(f"{where} must be a JSON list of numbers, got {_short(x)}")
    out = []
    for i, v in enumerate(x):
        f = _json_float(v)
        if isinstance(f, bool) or not isinstance(f, (int, float)):
            raise DPKitError(f"{where}[{i}] must be a number (or \"inf\"), got {_short(v)}")
        out.append(float(f))
    return tuple(out)


def _parse_event(d: Any, where: str, depth: int) -> Event:
    """The one JSON event reader (see :func:`event_from_dict`)."""
    if depth > MAX_EVENT_DEPTH:
        raise DPKitError(f"{where}: events nested more than MAX_EVENT_DEPTH = {MAX_EVENT_DEPTH} "
                         "deep")
    if not isinstance(d, dict):
        raise DPKitError(f"{where}: an event must be a JSON object with a 'type' field, got "
                         f"{_short(d)}")
    if "type" not in d:
        raise DPKitError(f"{where}: an event must have a 'type' field, got keys "
                         f"{_short(sorted(map(str, d)))}")
    t = d["type"]
    if isinstance(t, str):
        t = _LEGACY_TYPES.get(t, t)
    cls = _REGISTRY.get(t) if isinstance(t, str) else None
    if cls is None or cls is Event:
        known = ", ".join(sorted(k for k in _REGISTRY if k != "Event"))
        raise UnsupportedEventError(f"{where}: unknown event type {_short(t)}; known types: "
                                    f"{known}")
    schema = _schema(cls)
    body = {k: v for k, v in d.items() if k != "type"}
    # events whose relation is not a field (it is fixed, or follows the inner events) may
    # still state it, as long as it is theirs
    has_stated = schema is not None and "relation" not in schema and "relation" in body
    stated_relation = body.pop("relation") if has_stated else None
    kwargs: dict[str, Any] = {}
    if schema is None:  # not a dataclass: its constructor checks its own keyword arguments
        kwargs = body
    else:
        unknown = sorted(str(k) for k in body if k not in schema)
        if unknown:
            raise DPKitError(f"{where}: {t} has no field(s) {', '.join(map(repr, unknown))}; "
                             f"its fields are {', '.join(['type', *schema])}")
        for name, (kind, required) in schema.items():
            if name not in body:
                if required:
                    raise DPKitError(f"{where}: {t} is missing field {name!r}")
                continue
            v = body[name]
            at = f"{where}.{name}"
            if kind == _EVENT:
                kwargs[name] = _parse_event(v, at, depth + 1)
            elif kind == _EVENTS:
                if not isinstance(v, list):
                    raise DPKitError(f"{at} must be a JSON list of events, got {_short(v)}")
                kwargs[name] = tuple(_parse_event(e, f"{at}[{i}]", depth + 1)
                                     for i, e in enumerate(v))
            elif kind == _NUMBERS:
                kwargs[name] = _json_floats(v, at)
            elif kind == _NUMBER:
                kwargs[name] = _json_float(v)
            else:
                kwargs[name] = v
    try:
        ev = cls(**kwargs)
    except DPKitError as exc:
        raise type(exc)(f"{where} ({t}): {exc}") from None
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise DPKitError(f"{where} ({t}): bad fields: {exc}") from None
    if has_stated and stated_relation != ev.relation:
        raise IncompatibleRelationError(
            f"{where}: a {t} event's relation is {ev.relation!r}, but the JSON states "
            f"{_short(stated_relation)}")
    return ev


def event_from_dict(d: Any) -> Event:
    """Rebuild an event from its JSON form (:meth:`Event.to_dict` output).

    The form is ``{"type": <class name>, <field>: <value>, ...}``: exactly the fields of the
    event's constructor (those with a default may be left out), nested events in the same
    form, and infinity written as the string ``"inf"``. Every value goes through the same
    validation as the Python constructor, so bad input raises a
    :class:`~dpkit.errors.DPKitError` naming the field (never a ``TypeError``); unknown event
    types raise :class:`~dpkit.errors.UnsupportedEventError`; unknown fields, nesting deeper
    than :data:`MAX_EVENT_DEPTH` and a ``"relation"`` that contradicts the event's own are
    refused. Privacy: the event read back is equal to the one written, so it bounds the same
    mechanism.
    """
    return _parse_event(d, "event", 0)


def _parse_entry(item: Any, where: str) -> tuple[Event, int]:
    """One ledger item: an event (has "type") or an entry {"event": ..., "count": n}."""
    if isinstance(item, dict) and "type" not in item:
        unknown = sorted(str(k) for k in item if k not in ENTRY_KEYS)
        if unknown or "event" not in item:
            what = ("has neither 'type' (an event) nor 'event' (an entry)"
                    if "event" not in item
                    else f"has unknown field(s) {', '.join(map(repr, unknown))}")
            raise DPKitError(f"{where}: a ledger item is an event {{\"type\": ...}} or an entry "
                             f"{{\"event\": ..., \"count\": n}}; this one {what}")
        event = _parse_event(item["event"], f"{where}.event", 0)
        try:
            count = V.integer(minimum=0, count=item.get("count", 1))
        except DPKitError as exc:
            raise DPKitError(f"{where}: {exc}") from None
        return event, count
    return _parse_event(item, where, 0), 1


def ledger_from_json(spec: Any, where: str = "ledger") -> list[tuple[Event, int]]:
    """The ``(event, count)`` pairs of a JSON ledger, in order (equal events not merged).

    ``spec`` is a JSON list whose items are each either an event in its
    :meth:`Event.to_dict` form (a JSON object *with* a ``"type"`` field, count 1) or an entry
    ``{"event": <event>, "count": n}`` (a JSON object *without* ``"type"``; ``count`` ≥ 0,
    default 1, no other keys); a single event or entry stands for a one-item list. So a
    ``PoissonSampled`` / ``SampledWithoutReplacement`` / ``Repeated`` event, whose own form
    has an ``"event"`` field, is always read as that event, never as an entry. Every event is
    read by :func:`event_from_dict`'s rules; errors name the item, e.g. ``ledger[2].event``.
    Privacy: this only reads; the accountant composing the pairs gives the bound.
    """
    if isinstance(spec, dict):
        return [_parse_entry(spec, where)]
    if not isinstance(spec, list):
        raise DPKitError(f"{where} must be a JSON list of events or {{\"event\", \"count\"}} "
                         f"entries, got {_short(spec)}")
    return [_parse_entry(item, f"{where}[{i}]") for i, item in enumerate(spec)]
