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
import math
import typing
from collections.abc import Sequence
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
    "PoissonSampled",
    "SampledWithoutReplacement",
    "Composed",
    "Repeated",
    "event_from_dict",
    "ledger_from_json",
    "MAX_EVENT_DEPTH",
    "combine_relations",
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
