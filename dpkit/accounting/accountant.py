"""The Rényi-DP accountant: an immutable ledger of events plus their summed RDP curve.

Composition adds RDP order by order (Mironov 2017, Prop. 1), so composing an event
``count`` times costs one curve evaluation whatever ``count`` is (10^9 included), and the
ledger merges equal events, so its size never grows with the number of steps.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _validate as V
from ..errors import DPKitError
from . import _pruning
from . import conversions as C
from .events import Composed, Event, Repeated, _check_relation, combine_relations, event_from_dict

__all__ = ["Accountant", "EpsilonResult", "DEFAULT_ORDERS", "validate_orders"]

#: The default Rényi orders. They contain every order of dp_accounting's default grid
#: (1.1…10.9 by 0.1, 11…63, 128, 256, 512, 1024), so dpkit's ε is never above dp_accounting's
#: RDP ε, plus finer orders near 1 (large ε), more large orders up to 2048 (tiny ε or δ) and
#: α = ∞ (pure DP).
DEFAULT_ORDERS: np.ndarray = np.concatenate(
    [
        [1.01, 1.02, 1.03, 1.05, 1.075],
        np.round(np.arange(1.1, 10.95, 0.1), 10),
        np.arange(11.0, 65.0),
        [72, 80, 96, 112, 128, 160, 192, 256, 320, 384, 512, 768, 1024, 1536, 2048, np.inf],
    ]
).astype(float)
DEFAULT_ORDERS.setflags(write=False)


def validate_orders(orders: Any) -> np.ndarray:
    """Orders as a sorted, distinct float array, all > 1 (``inf`` allowed)."""
    if orders is DEFAULT_ORDERS:
        return DEFAULT_ORDERS
    a = np.asarray(orders, dtype=float).reshape(-1)
    if a.size == 0:
        raise DPKitError("orders must not be empty")
    if np.isnan(a).any() or (a <= 1.0).any():
        raise DPKitError(f"orders must all be > 1 (inf allowed), got min {np.nanmin(a)!r}")
    a = np.unique(a)
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class EpsilonResult:
    """ε for a target δ, with the Rényi order that achieved it and the method used."""

    epsilon: float
    delta: float
    order: float
    method: str
    relation: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``inf`` written as the string "inf")."""
        def enc(x: float) -> Any:
            return "inf" if isinstance(x, float) and math.isinf(x) else (
                None if isinstance(x, float) and math.isnan(x) else x)
        return {"epsilon": enc(self.epsilon), "delta": self.delta, "order": enc(self.order),
                "method": self.method, "relation": self.relation}


class Accountant:
    """Immutable RDP accountant. ``compose`` returns a new accountant.

    Example
    -------
    >>> from dpkit.accounting import Accountant, Gaussian, PoissonSampled
    >>> acct = Accountant().compose(PoissonSampled(Gaussian(1.0), 0.01), count=1000)
    >>> round(acct.epsilon(delta=1e-5), 3)
    2.101

    Privacy statement: ``epsilon(delta)`` is an upper bound on the (ε, δ)-DP of the composition
    of every event in the ledger, for the ledger's neighbouring relation (``relation``), by the
    improved RDP conversion (see :mod:`dpkit.accounting.conversions`).
    """

    __slots__ = ("_orders", "_relation", "_ledger", "_rdp", "_known", "_curves")

    def __init__(self, orders: Any = None, *, relation: str | None = None) -> None:
        self._orders = DEFAULT_ORDERS if orders is None else validate_orders(orders)
        self._relation = _check_relation(relation)
        self._ledger: dict[Event, int] = {}
        # The summed curve is evaluated lazily: ``_known`` marks the orders computed so far
        # (the anchors at first; a query adds the orders it needs). Filling in more orders
        # is a cache of a pure function, so it never changes what the accountant means.
        self._known = _pruning.anchor_mask(self._orders).copy()
        # Per-event curves computed so far (NaN: not yet), one entry per ledger event. A
        # derived accountant copies the dict but shares the arrays: they cache pure functions
        # of (event, order), so filling them in never changes what any accountant means, and
        # events composed on other branches never reach this dict.
        self._curves: dict[Event, np.ndarray] = {}
        self._rdp = np.where(self._known, 0.0, np.nan)

    # ------------------------------------------------------------------ construction
    def _derive(self, ledger: dict[Event, int], rdp: np.ndarray, known: np.ndarray,
                relation: str | None, curves: dict[Event, np.ndarray]) -> Accountant:
        new = object.__new__(Accountant)
        new._orders = self._orders
        new._relation = relation
        new._ledger = ledger
        new._rdp = np.asarray(rdp, dtype=float)
        new._known = known.copy()
        new._curves = curves
        return new

    def supports(self, event: Event) -> bool:
        """Dry run of :meth:`compose`: True if the event can be composed here."""
        try:
            self._check(event)
        except DPKitError:
            return False
        return True

    def _check(self, event: Event) -> str | None:
        if not isinstance(event, Event):
            raise DPKitError(f"event must be a dpkit privacy event, got {event!r}")
        return combine_relations([self._relation, event.relation], "Accountant.compose")

    def compose(self, event: Event, count: int = 1) -> Accountant:
        """A new accountant with ``event`` composed ``count`` times (count ≥ 0, any size)."""
        relation = self._check(event)
        n = V.integer(minimum=0, count=count)
        if n == 0:
            return self
        if not event.convex_cumulant:
            # a general bound may depend on the set of orders it is evaluated on (it is made
            # monotone across them), so such events are always evaluated on the whole grid
            self._fill(~self._known)
        known = self._known
        curves = dict(self._curves)
        curve = _weighted_curve(curves, self._orders, event, n, known)
        ledger = dict(self._ledger)
        ledger[event] = ledger.get(event, 0) + n
        total = self._rdp.copy()
        total[known] += curve
        return self._derive(ledger, total, known, relation, curves)

    def compose_many(self, events: Iterable[tuple[Event, int]]) -> Accountant:
        """Compose several ``(event, count)`` pairs."""
        acct = self
        for ev, n in events:
            acct = acct.compose(ev, n)
        return acct

    # ----------------------------------------------------------------------- queries
    @property
    def orders(self) -> np.ndarray:
        """The Rényi orders of this accountant (read-only)."""
        return self._orders

    @property
    def relation(self) -> str | None:
        """The neighbouring relation of the ledger (None: not fixed by any event)."""
        return self._relation

    @property
    def ledger(self) -> tuple[tuple[Event, int], ...]:
        """The composed events and their counts, in first-seen order."""
        return tuple(self._ledger.items())

    def rdp(self) -> np.ndarray:
        """The summed RDP curve on :attr:`orders` (a read-only copy)."""
        self._fill(~self._known)
        out = self._rdp.copy()
        out.setflags(write=False)
        return out

    def _fill(self, mask: np.ndarray) -> None:
        """Evaluate the summed curve at the masked orders not yet known."""
        need = mask & ~self._known
        if not need.any():
            return
        total = np.zeros(int(need.sum()))
        for event, n in self._ledger.items():
            total += _weighted_curve(self._curves, self._orders, event, n, need)
        self._rdp[need] = total
        self._known |= need

    def _search(self, score: Any) -> None:
        """Evaluate every order that could give the best ``score`` (all of them unless every
        event's cumulant is convex; see :mod:`dpkit.accounting._pruning`)."""
        if not all(e.convex_cumulant for e in self._ledger):
            self._fill(~self._known)
            return
        _pruning.prune_search(self._orders, self._known, self._rdp, self._fill, score,
                              first=_pruning.smallest_order_mask(self._orders))

    def as_event(self) -> Event:
        """The whole ledger as one event (a :class:`Composed` of :class:`Repeated`)."""
        return Composed(tuple(Repeated(e, n) for e, n in self._ledger.items()))

    def _rdp_at(self, alpha: float) -> float:
        a = np.array([alpha])
        return float(sum(n * float(e.rdp(a)[0]) for e, n in self._ledger.items()))

    def epsilon_details(self, delta: float, *, refine: bool = False) -> EpsilonResult:
        """ε at ``delta`` with the optimal order and method (see :meth:`epsilon`)."""
        d = C.validate_delta(delta)
        if d > 0.0:
            self._search(lambda a, r: C.epsilon_at_orders(a, r, d))
        self._fill(_pruning.smallest_order_mask(self._orders))
        known = self._known
        conv = C.rdp_to_epsilon(self._orders[known], self._rdp[known], d)
        if refine and conv.method == "rdp" and self._ledger:
            conv = self._refine(conv, float(delta))
        return EpsilonResult(conv.value, float(delta), conv.order, conv.method, self._relation)

    def epsilon(self, delta: float, *, refine: bool = False) -> float:
        """Upper bound on ε such that the ledger is (ε, δ)-DP.

        ``delta`` in [0, 1): δ = 0 gives the pure-DP ε(∞) (∞ unless every event is pure).
        ``refine=True`` also searches the real orders around the best grid order (golden
        section on log(α−1)); the result is the smaller of both, both being valid bounds.
        Never NaN, never negative; ∞ when no finite guarantee exists.
        """
        return self.epsilon_details(delta, refine=refine).epsilon

    def delta(self, epsilon: float) -> float:
        """Upper bound on δ such that the ledger is (ε, δ)-DP (ε ≥ 0)."""
        e = V.nonnegative(allow_inf=True, epsilon=epsilon)
        if math.isfinite(e):
            self._search(lambda a, r: C.log_delta_at_orders(a, r, e))
        self._fill(_pruning.smallest_order_mask(self._orders))
        known = self._known
        return C.rdp_to_delta(self._orders[known], self._rdp[known], e).value

    def _refine(self, conv: C.Conversion, delta: float) -> C.Conversion:
        fin = self._orders[np.isfinite(self._orders)]
        i = int(np.searchsorted(fin, conv.order))
        lo = float(fin[i - 1]) if i > 0 else 1.0 + 1e-6
        hi = float(fin[i + 1]) if i + 1 < fin.size else float(fin[-1]) * 4.0

        def obj(t: float) -> float:
            a = 1.0 + math.exp(t)
            r = self._rdp_at(a)
            if math.isinf(r):
                return math.inf
            return r + math.log1p(-1.0 / a) - (math.log(delta) + math.log(a)) / (a - 1.0)

        t, val = C._golden_min(obj, math.log(lo - 1.0), math.log(hi - 1.0), iters=40)
        if math.isfinite(val) and max(val, 0.0) < conv.value:
            return C.Conversion(max(val, 0.0), 1.0 + math.exp(t), "rdp")
        return conv

    # -------------------------------------------------------------------- JSON form
    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form: orders, relation and the ledger (the curve is recomputed on load)."""
        orders = ["inf" if math.isinf(x) else float(x) for x in self._orders]
        return {
            "type": "Accountant",
            "orders": orders,
            "relation": self._relation,
            "ledger": [{"event": e.to_dict(), "count": n} for e, n in self._ledger.items()],
        }

    @classmethod
    def from_dict(cls, d: Any) -> Accountant:
        """Rebuild an accountant from :meth:`to_dict` output (recomputing every curve)."""
        if not isinstance(d, dict) or d.get("type") != "Accountant":
            raise DPKitError("not an accountant: expected a JSON object with type 'Accountant'")
        orders = [math.inf if o == "inf" else o for o in d.get("orders", DEFAULT_ORDERS)]
        acct = cls(orders, relation=d.get("relation"))
        for item in d.get("ledger", []):
            if not isinstance(item, dict) or "event" not in item:
                raise DPKitError(
                    f"ledger entries must be {{'event': ..., 'count': n}}, got {item!r}"
                )
            acct = acct.compose(event_from_dict(item["event"]), item.get("count", 1))
        return acct

    def __repr__(self) -> str:
        items = ", ".join(f"{e!r}×{n}" for e, n in self._ledger.items())
        return f"Accountant(relation={self._relation!r}, ledger=[{items}])"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Accountant)
            and self._ledger == other._ledger
            and self._relation == other._relation
            and np.array_equal(self._orders, other._orders)
        )

    __hash__ = None  # type: ignore[assignment]


def _weighted_curve(curves: dict[Event, np.ndarray], orders: np.ndarray, event: Event, n: int,
                    mask: np.ndarray) -> np.ndarray:
    """n × the event's RDP at the masked orders, evaluating (and caching in ``curves``) only
    the orders not computed yet; 0 stays 0 even where n·∞ would be NaN."""
    curve = curves.get(event)
    if curve is None:
        curve = curves[event] = np.full(orders.shape, np.nan)
    missing = mask & np.isnan(curve)
    if missing.any():
        values = np.asarray(event.rdp(orders[missing]), dtype=float)
        if np.isnan(values).any():  # pragma: no cover - every event guards against NaN
            raise DPKitError(f"event {event!r} produced NaN RDP values")
        curve[missing] = values
    part = curve[mask]
    with np.errstate(invalid="ignore"):
        return np.where(part == 0.0, 0.0, n * part)
