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
import math
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
    "PoissonSampled",
    "SampledWithoutReplacement",
    "Composed",
    "Repeated",
    "event_from_dict",
    "combine_relations",
]

ADD_REMOVE = "add_remove"
REPLACE_ONE = "replace_one"
RELATIONS = (ADD_REMOVE, REPLACE_ONE)

_REGISTRY: dict[str, type[Event]] = {}


def _check_relation(relation: str | None) -> str | None:
    if relation is not None and relation not in RELATIONS:
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

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _REGISTRY[cls.__name__] = cls
        cls.type_name = cls.__name__

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


# ----------------------------------------------------------------------------- wrappers
def _effective_gaussian(event: Event) -> float | None:
    """σ of the single Gaussian equivalent to ``event`` (Gaussians composed), else None."""
    if isinstance(event, Gaussian):
        return event.noise_multiplier
    if isinstance(event, Repeated):
        s = _effective_gaussian(event.event)
        if s is None:
            return None
        return math.inf if event.count == 0 else s / math.sqrt(event.count)
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
        object.__setattr__(self, "events", evs)
        combine_relations([e.relation for e in evs], "Composed")

    @property
    def relation(self) -> str | None:
        return combine_relations([e.relation for e in self.events])

    @property
    def convex_cumulant(self) -> bool:
        return all(e.convex_cumulant for e in self.events)

    def rdp(self, orders: Any) -> np.ndarray:
        a = np.asarray(orders, dtype=float).reshape(-1)
        total = np.zeros_like(a)
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
        object.__setattr__(self, "count", V.integer(minimum=0, count=self.count))

    @property
    def relation(self) -> str | None:
        return self.event.relation

    @property
    def convex_cumulant(self) -> bool:
        return self.event.convex_cumulant

    def rdp(self, orders: Any) -> np.ndarray:
        if self.count == 0:
            return np.zeros(np.asarray(orders, dtype=float).reshape(-1).shape)
        return self.count * self.event.rdp(orders)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type_name, "count": self.count, "event": self.event.to_dict()}


# ---------------------------------------------------------------------------- JSON reader
def _num(x: Any) -> float:
    if isinstance(x, str) and x.lower() in ("inf", "infinity"):
        return math.inf
    return x


def event_from_dict(d: Any) -> Event:
    """Rebuild an event from :meth:`Event.to_dict` output (unknown types are refused)."""
    if not isinstance(d, dict) or "type" not in d:
        raise DPKitError(f"an event must be a JSON object with a 'type' field, got {d!r}")
    t = d["type"]
    cls = _REGISTRY.get(t)
    if cls is None or cls is Event:
        known = ", ".join(sorted(k for k in _REGISTRY if k != "Event"))
        raise UnsupportedEventError(f"unknown event type {t!r}; known types: {known}")
    body = {k: v for k, v in d.items() if k != "type"}
    try:
        if cls in (PoissonSampled, SampledWithoutReplacement):
            return cls(event_from_dict(body["event"]), body["sample_rate"])
        if cls is Repeated:
            return Repeated(event_from_dict(body["event"]), body["count"])
        if cls is Composed:
            return Composed(tuple(event_from_dict(e) for e in body["events"]))
        if cls is RDPCurve:
            return RDPCurve(
                tuple(_num(x) for x in body["orders"]),
                tuple(_num(x) for x in body["values"]),
                body.get("relation"),
            )
        if cls is RandomizedResponse:
            return RandomizedResponse(_num(body["epsilon"]), body.get("k", 2))
        rel = body.pop("relation", None)
        body = {k: _num(v) for k, v in body.items()}
        return cls(**body, relation=rel)
    except KeyError as exc:
        raise DPKitError(f"event {t!r} is missing field {exc.args[0]!r}") from None
    except TypeError as exc:
        raise DPKitError(f"event {t!r} has bad fields: {exc}") from None
