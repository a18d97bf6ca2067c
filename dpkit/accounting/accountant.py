"""The Rényi-DP accountant: an immutable ledger of events plus their summed RDP curve.

Composition adds RDP order by order (Mironov 2017, Prop. 1), so composing an event
``count`` times costs one curve evaluation whatever ``count`` is (10^9 included), and the
ledger merges equal events, so its size never grows with the number of steps.

Every operation is linear in the number of *distinct* events. Accountants derived from one
another share one mutable ledger (a dict, in first-seen order) held by exactly one of them,
the *root*; every other accountant keeps the few changes that turn its neighbour's ledger
into its own (a version tree, rerooted on access: Baker's trick for persistent arrays).
``compose`` on the root therefore costs O(1) besides the new event's curve, and reading an
older accountant costs the number of changes between it and the root. Each accountant still
sees exactly its own ledger, so immutability is unaffected.

Every query takes ``method``: ``"rdp"`` (the RDP bound above), ``"pld"`` (the certified
privacy loss distribution bound of :mod:`dpkit.accounting.pld`: the ledger's dominating pairs
composed numerically, max over the directions of the relation) or ``"auto"`` (default: the
smaller of both when the ledger has a PLD, else RDP; both are upper bounds, so their minimum
is one). PLD answers are cached per accountant and across accountants with equal ledgers.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _validate as V
from ..errors import DPKitError, PLDNumericalError, PLDUnavailableError
from . import _pruning
from . import conversions as C
from . import pld as _pld
from .events import (
    Composed,
    Event,
    Repeated,
    _check_relation,
    _float_count,
    _json_floats,
    _short,
    combine_relations,
    ledger_from_json,
)

__all__ = ["Accountant", "EpsilonResult", "DEFAULT_ORDERS", "validate_orders",
           "accountant_from_json", "METHODS", "AUTO_MAX_EVENTS", "AUTO_MAX_PAIRS",
           "PLD_MAX_PAIRS", "AUTO_MAX_COMPOSITIONS", "validate_method"]

#: The accounting methods of every query: ``"auto"`` (default), ``"rdp"``, ``"pld"``.
METHODS = ("auto", "rdp", "pld")
#: ``method="auto"`` tries the PLD only on ledgers with at most this many distinct events
#: (above it, RDP alone, with a note): the PLD's cost grows with the distinct pairs.
AUTO_MAX_EVENTS = 64
#: ``method="auto"`` skips the PLD (RDP alone, with a note) above this many distinct pairs
#: in a direction, after grouping equal pairs and merging Gaussians.
AUTO_MAX_PAIRS = 32
#: ``method="auto"`` skips the PLD (RDP alone, with a note) when a direction composes more
#: than this many pairs in all (the PLD's planning cost grows beyond it).
AUTO_MAX_COMPOSITIONS = 10**6
#: ``method="pld"`` refuses (DPKitError) more distinct pairs than this in a direction.
PLD_MAX_PAIRS = 1024


def validate_method(method: Any) -> str:
    """``method`` as one of :data:`METHODS`; anything else raises a DPKitError naming it."""
    if not (isinstance(method, str) and method in METHODS):
        raise DPKitError(f"method must be one of {', '.join(map(repr, METHODS))}, got "
                         f"{_short(method)}")
    return method

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
    """ε for a target δ, with the Rényi order that achieved it and the method used.

    ``method`` is what decided ε: ``"pld"`` (then ``order`` is NaN) or the RDP conversion's
    method (``"rdp"``, ``"pure"``, ``"tv"``, ``"vacuous"``). ``requested`` is the method
    asked for; ``rdp_epsilon`` / ``pld_epsilon`` the value of each method computed (None when
    not computed); ``note`` says why the PLD was not used when ``"auto"`` fell back to RDP.
    """

    epsilon: float
    delta: float
    order: float
    method: str
    relation: str | None
    requested: str = "rdp"
    rdp_epsilon: float | None = None
    pld_epsilon: float | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``inf`` written as the string "inf", NaN and None as null)."""
        def enc(x: float | None) -> Any:
            return "inf" if isinstance(x, float) and math.isinf(x) else (
                None if isinstance(x, float) and math.isnan(x) else x)
        return {"epsilon": enc(self.epsilon), "delta": self.delta, "order": enc(self.order),
                "method": self.method, "relation": self.relation, "requested": self.requested,
                "rdp_epsilon": enc(self.rdp_epsilon), "pld_epsilon": enc(self.pld_epsilon),
                "note": self.note}


class _Store:
    """The ledger shared by a family of accountants (all derived from one ``Accountant()``).

    ``counts`` is the ledger of the family's current root, in first-seen order. ``curves``
    caches each event's RDP on the family's orders (NaN: not evaluated yet); it caches a pure
    function of (event, order), so an event composed on another branch may sit in it, but it
    never enters another accountant's sums, which run over that accountant's own ledger.
    ``lock`` serialises every use of ``counts`` (reading an accountant moves the root).
    """

    __slots__ = ("counts", "curves", "lock")

    def __init__(self) -> None:
        self.counts: dict[Event, int] = {}
        self.curves: dict[Event, np.ndarray] = {}
        self.lock = threading.RLock()


class _Node:
    """One accountant's ledger in the version tree: the root (``next`` is None) is the store's
    ``counts``; any other node is ``next``'s ledger with ``changes`` applied, each change an
    ``(event, count)`` pair, count None meaning "absent"."""

    __slots__ = ("next", "changes")

    def __init__(self) -> None:
        self.next: _Node | None = None
        self.changes: tuple[tuple[Event, int | None], ...] = ()


def _apply(counts: dict[Event, int],
           changes: Iterable[tuple[Event, int | None]]) -> tuple[tuple[Event, int | None], ...]:
    """Apply ``changes`` to ``counts`` in order; return the changes that undo them (to be
    applied in the same order, which re-inserts removed events in their first-seen order:
    an edge of the version tree only appends events at the end of the ledger or removes
    them from its end). All or nothing: an interruption rolls the partial changes back."""
    back: list[tuple[Event, int | None]] = []
    try:
        for ev, value in changes:
            back.append((ev, counts.get(ev)))
            if value is None:
                del counts[ev]
            else:
                counts[ev] = value
    except BaseException:  # pragma: no cover - KeyboardInterrupt / MemoryError mid-way
        for ev, old in back:
            if old is None:
                counts.pop(ev, None)
            else:
                counts[ev] = old
        raise
    return tuple(back)


class Accountant:
    """Immutable RDP accountant. ``compose`` returns a new accountant.

    Example
    -------
    >>> from dpkit.accounting import Accountant, Gaussian, PoissonSampled
    >>> acct = Accountant().compose(PoissonSampled(Gaussian(1.0), 0.01), count=1000)
    >>> round(acct.epsilon(delta=1e-5, method="rdp"), 3)
    2.101
    >>> acct.epsilon_details(delta=1e-5).method  # "auto": the certified PLD is smaller here
    'pld'

    Privacy statement: ``epsilon(delta)`` is an upper bound on the (ε, δ)-DP of the composition
    of every event in the ledger, for the ledger's neighbouring relation (``relation``), by the
    improved RDP conversion (see :mod:`dpkit.accounting.conversions`) for ``method="rdp"``, by
    the certified PLD of the ledger's dominating pairs (:mod:`dpkit.accounting.pld`, max over
    the relation's directions; Zhu, Dong, Wang 2022) for ``"pld"``, and by the smaller of the
    two for ``"auto"`` (default).

    Cost: ``compose`` is O(1) besides evaluating the new event's curve (at the orders known so
    far), ``compose_many``, ``to_dict``, ``from_dict`` and a query are linear in the number of
    distinct events, whatever the counts. Accountants derived from one another share one
    ledger (see the module docstring); reading an older one costs the number of ledger changes
    between it and the most recently used one. Thread-safe.
    """

    __slots__ = ("_orders", "_relation", "_store", "_node", "_size", "_convex", "_rdp",
                 "_known", "_pld")

    def __init__(self, orders: Any = None, *, relation: str | None = None) -> None:
        self._orders = DEFAULT_ORDERS if orders is None else validate_orders(orders)
        self._relation = _check_relation(relation)
        self._store = _Store()
        self._node = _Node()
        self._size = 0  # distinct events in the ledger
        self._convex = True  # every event's cumulant is convex (pruning allowed)
        # The summed curve is evaluated lazily: ``_known`` marks the orders computed so far
        # (the anchors at first; a query adds the orders it needs). Filling in more orders
        # is a cache of a pure function, so it never changes what the accountant means.
        self._known = _pruning.anchor_mask(self._orders).copy()
        self._rdp = np.where(self._known, 0.0, np.nan)
        self._pld: dict[Any, Any] = {}  # PLD answers and the ledger's pairs (a cache)

    # ------------------------------------------------------------------ construction
    def _counts(self) -> dict[Event, int]:
        """This accountant's ledger: the store's dict, after moving the root here (iterative,
        so any depth). Call with the store's lock held, and do not keep the dict."""
        node = self._node
        counts = self._store.counts
        if node.next is None:
            return counts
        path: list[_Node] = []
        while node.next is not None:
            path.append(node)
            node = node.next
        for nd in reversed(path):
            root = nd.next
            assert root is not None
            back = _apply(counts, nd.changes)
            root.next, root.changes = nd, back
            nd.next, nd.changes = None, ()
        return counts

    def supports(self, event: Event) -> bool:
        """Dry run of :meth:`compose`: True if the event can be composed here."""
        try:
            self._check(event)
        except DPKitError:
            return False
        return True

    def _check(self, event: Event, relation: str | None = None,
               where: str = "Accountant.compose") -> str | None:
        if not isinstance(event, Event):
            raise DPKitError(f"event must be a dpkit privacy event, got {_short(event)}")
        base = self._relation if relation is None else relation
        return combine_relations([base, event.relation], where)

    def compose(self, event: Event, count: int = 1) -> Accountant:
        """A new accountant with ``event`` composed ``count`` times (count ≥ 0, any size).

        O(1) in the ledger's length: the new event's curve is evaluated at the orders known so
        far (or read from the shared cache if it was composed before).
        """
        relation = self._check(event)
        n = V.integer(minimum=0, count=count)
        if n == 0:
            return self
        return self._extend(((event, n),), relation)

    def compose_many(self, events: Iterable[tuple[Event, int]]) -> Accountant:
        """Compose several ``(event, count)`` pairs at once: the same accountant as composing
        them one by one (same ledger, same order), built in one step, linear in their number.
        Nothing is composed if any pair is refused; the error names the pair's index."""
        return self._compose_pairs(events, "events")

    def _compose_pairs(self, events: Iterable[Any], where: str) -> Accountant:
        try:
            items = iter(events)
        except TypeError:
            raise DPKitError(f"{where} must be an iterable of (event, count) pairs, got "
                             f"{_short(events)}") from None
        merged: dict[Event, int] = {}
        relation = self._relation
        for i, item in enumerate(items):
            try:
                ev, n = item
            except (TypeError, ValueError):
                raise DPKitError(f"{where}[{i}] must be an (event, count) pair, got "
                                 f"{_short(item)}") from None
            try:
                combined = self._check(ev, relation, "Accountant.compose_many")
                n = V.integer(minimum=0, count=n)
            except DPKitError as exc:
                raise type(exc)(f"{where}[{i}]: {exc}") from None
            if n:  # as in compose, a count of 0 changes nothing, not even the relation
                relation = combined
                merged[ev] = merged.get(ev, 0) + n
        if not merged:
            return self
        return self._extend(tuple(merged.items()), relation)

    def _extend(self, pairs: tuple[tuple[Event, int], ...], relation: str | None) -> Accountant:
        """The accountant with the distinct ``pairs`` (counts > 0) added to this ledger."""
        store = self._store
        orders = self._orders
        convex = self._convex and all(ev.convex_cumulant for ev, _ in pairs)
        with store.lock:
            if not convex:
                # a general bound may depend on the set of orders it is evaluated on (it is
                # made monotone across them), so such events are always evaluated on the
                # whole grid
                self._fill(~self._known)
            known = self._known
            sub = orders[known]
            total = self._rdp[known]
            for ev, n in pairs:  # every curve first: an error leaves the ledger untouched
                total += _weighted_curve(store.curves, orders, ev, n, known, sub)
            counts = self._counts()
            back = _apply(counts, [(ev, counts.get(ev, 0) + n) for ev, n in pairs])
            node = _Node()
            self._node.next, self._node.changes = node, back
        size = self._size + sum(1 for _, old in back if old is None)
        rdp = self._rdp.copy()
        rdp[known] = total
        return self._derive(node, size, convex, rdp, known.copy(), relation)

    def _derive(self, node: _Node, size: int, convex: bool, rdp: np.ndarray,
                known: np.ndarray, relation: str | None) -> Accountant:
        new = object.__new__(Accountant)
        new._orders = self._orders
        new._relation = relation
        new._store = self._store
        new._node = node
        new._size = size
        new._convex = convex
        new._rdp = rdp
        new._known = known
        new._pld = {}
        return new

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
        """The composed events and their counts, in first-seen order (a new tuple: O(N))."""
        with self._store.lock:
            return tuple(self._counts().items())

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
        orders = self._orders
        sub = orders[need]
        store = self._store
        with store.lock:
            total = np.zeros(sub.size)
            for event, n in self._counts().items():
                total += _weighted_curve(store.curves, orders, event, n, need, sub)
            self._rdp[need] = total
            self._known |= need

    def _search(self, score: Any) -> None:
        """Evaluate every order that could give the best ``score`` (all of them unless every
        event's cumulant is convex; see :mod:`dpkit.accounting._pruning`)."""
        if not self._convex:
            self._fill(~self._known)
            return
        _pruning.prune_search(self._orders, self._known, self._rdp, self._fill, score,
                              first=_pruning.smallest_order_mask(self._orders))

    def as_event(self) -> Event:
        """The whole ledger as one event (a :class:`Composed` of :class:`Repeated`)."""
        return Composed(tuple(Repeated(e, n) for e, n in self.ledger))

    def _rdp_at(self, alpha: float) -> float:
        a = np.array([alpha])
        total = 0.0
        for e, n in self.ledger:
            r = float(e.rdp(a)[0])
            total += 0.0 if r == 0.0 else _float_count(n) * r
        return total

    def epsilon_details(self, delta: float, *, refine: bool = False,
                        method: str = "auto") -> EpsilonResult:
        """ε at ``delta`` with the method that decided it (see :meth:`epsilon`)."""
        m = validate_method(method)
        return self._epsilon_details(C.validate_delta(delta), refine, m)

    def _epsilon_details(self, d: float, refine: bool = False,
                         method: str = "rdp") -> EpsilonResult:
        """:meth:`epsilon_details` for a δ and method already validated by the caller (the
        calibration searches query one δ many times and check it once, where it enters).
        The default here is ``"rdp"``: internal hot loops stay on the RDP curve."""
        if method == "pld":
            value = self._pld_epsilon(d)
            return EpsilonResult(value, d, math.nan, "pld", self._relation, "pld", None, value)
        conv = self._rdp_epsilon(d, refine)
        if method == "rdp":
            return EpsilonResult(conv.value, d, conv.order, conv.method, self._relation, "rdp",
                                 conv.value)
        pld_value, note = self._auto_pld(("eps", d), d == 0.0 or conv.value == 0.0)
        if pld_value is not None and pld_value < conv.value:
            return EpsilonResult(pld_value, d, math.nan, "pld", self._relation, "auto",
                                 conv.value, pld_value, note)
        return EpsilonResult(conv.value, d, conv.order, conv.method, self._relation, "auto",
                             conv.value, pld_value, note)

    def _rdp_epsilon(self, d: float, refine: bool) -> C.Conversion:
        if d > 0.0:
            self._search(lambda a, r: C.epsilon_at_orders(a, r, d))
        self._fill(_pruning.smallest_order_mask(self._orders))
        known = self._known
        conv = C._rdp_to_epsilon(self._orders[known], self._rdp[known], d)
        if refine and conv.method == "rdp" and self._size:
            conv = self._refine(conv, d)
        return conv

    def epsilon(self, delta: float, *, refine: bool = False, method: str = "auto") -> float:
        """Upper bound on ε such that the ledger is (ε, δ)-DP.

        ``delta`` in [0, 1): δ = 0 gives the pure-DP ε(∞) (∞ unless every event is pure).
        ``refine=True`` also searches the real orders around the best grid order (golden
        section on log(α−1)); the result is the smaller of both, both being valid bounds.
        ``method``: ``"rdp"`` (the Rényi bound), ``"pld"`` (the certified PLD bound of
        :mod:`dpkit.accounting.pld`; :class:`~dpkit.errors.PLDUnavailableError` if an event
        has no dominating pair) or ``"auto"`` (the smaller of both, RDP alone when the PLD is
        unavailable or the ledger has more than :data:`AUTO_MAX_EVENTS` distinct events).
        Never NaN, never negative; ∞ when no finite guarantee exists.
        """
        return self.epsilon_details(delta, refine=refine, method=method).epsilon

    def delta(self, epsilon: float, *, method: str = "auto") -> float:
        """Upper bound on δ such that the ledger is (ε, δ)-DP (ε ≥ 0); ``method`` as in
        :meth:`epsilon`. Privacy: each method's δ is an upper bound, so is their minimum."""
        m = validate_method(method)
        e = V.nonnegative(allow_inf=True, epsilon=epsilon)
        if m == "pld":
            return self._pld_delta(e)
        if math.isfinite(e):
            self._search(lambda a, r: C.log_delta_at_orders(a, r, e))
        self._fill(_pruning.smallest_order_mask(self._orders))
        known = self._known
        value = C.rdp_to_delta(self._orders[known], self._rdp[known], e).value
        if m == "auto" and value > 0.0 and math.isfinite(e):
            pld_value, _ = self._auto_pld(("delta", e), False)
            if pld_value is not None:
                return min(value, pld_value)
        return value

    # ------------------------------------------------------------------ PLD queries
    def _directions(self) -> _pld.ledger.Directions:
        """The ledger's dominating pairs per direction (cached; PLDUnavailableError kept)."""
        got = self._pld.get("dirs")
        if got is None:
            try:
                with _pld.quiet():
                    got = _pld.ledger_directions(self.ledger, self._relation)
            except PLDUnavailableError as exc:
                got = exc
            self._pld["dirs"] = got
        if isinstance(got, PLDUnavailableError):
            raise PLDUnavailableError(str(got))
        return got

    def _pld_value(self, key: tuple[str, float], limit: int, auto: bool = False) -> float:
        """The PLD ε(δ) (key ("eps", δ)) or δ(ε) (key ("delta", ε)), max over directions,
        cached on this accountant and across accountants with an equal ledger."""
        if auto:  # checked before any cache: "auto" uses only what it would compute
            self._check_pairs(limit, key, True)
        got = self._pld.get(key)
        if got is not None:
            return float(got)
        with self._store.lock:
            ledger = tuple(self._counts().items())
        shared_key = (self._relation, ledger, key)
        got = _PLD_CACHE.get(shared_key)
        if got is None:
            dirs = self._check_pairs(limit, key, auto)
            try:
                with _pld.quiet():
                    got = _pld_of(dirs, key)
            except DPKitError:
                raise
            except (ArithmeticError, ValueError, MemoryError) as exc:
                # a numerical limit of the engine (never a wrong value): a named error
                raise PLDNumericalError(
                    f"the PLD of this ledger is beyond the engine's float range ({exc}); "
                    "use method=\"rdp\" or \"auto\"") from exc
            _PLD_CACHE.put(shared_key, got)
        self._pld[key] = got
        return got

    def _check_pairs(self, limit: int, key: tuple[str, float],
                     auto: bool) -> _pld.ledger.Directions:
        """The ledger's directions, refused (DPKitError) above ``limit`` distinct pairs in a
        direction, and for ``auto`` outside its ranges (:func:`_check_auto`)."""
        dirs = self._directions()
        biggest = max((len(d) for d in dirs), default=0)
        if biggest > limit:
            raise DPKitError(
                f"the ledger has {biggest} distinct dominating pairs in one direction, more "
                f"than the PLD limit {limit}; use method=\"rdp\" (or \"auto\")")
        if auto:
            _check_auto(dirs, key)
        return dirs

    def _pld_epsilon(self, d: float) -> float:
        return self._pld_value(("eps", d), PLD_MAX_PAIRS)

    def _pld_delta(self, e: float) -> float:
        return self._pld_value(("delta", e), PLD_MAX_PAIRS)

    def _auto_pld(self, key: tuple[str, float], skip: bool) -> tuple[float | None, str]:
        """The PLD value for ``method="auto"``, or (None, why not)."""
        if skip:
            return None, ""
        if self._size > AUTO_MAX_EVENTS:
            return None, (f"pld skipped: {self._size} distinct events > AUTO_MAX_EVENTS="
                          f"{AUTO_MAX_EVENTS}; auto used RDP for the whole ledger")
        try:
            return self._pld_value(key, AUTO_MAX_PAIRS, auto=True), ""
        except PLDUnavailableError as exc:
            why = str(exc).split(":")[0]  # "no certified PLD for a <Type> event"
            return None, f"pld unavailable ({why}); auto used RDP for the whole ledger"
        except (DPKitError, ArithmeticError, ValueError, MemoryError, Warning) as exc:
            # the PLD engine refused the problem (too large, or a numerical limit): RDP is
            # still a certified bound, so "auto" keeps it and says why
            return None, f"pld skipped: {exc}; auto used RDP for the whole ledger"

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
            "ledger": [{"event": e.to_dict(), "count": n} for e, n in self.ledger],
        }

    @classmethod
    def from_dict(cls, d: Any) -> Accountant:
        """Rebuild an accountant from :meth:`to_dict` output (recomputing every curve).

        ``{"type": "Accountant", "orders": [...], "relation": ..., "ledger": [...]}``; only
        ``type`` is required (default orders, no relation, empty ledger), no other keys. The
        ledger is read by :func:`~dpkit.accounting.events.ledger_from_json` (entries or bare
        events) and composed in one step, linear in its length. Bad input raises a
        :class:`~dpkit.errors.DPKitError` naming the field, e.g. ``ledger[3].event``.
        """
        if not isinstance(d, dict) or d.get("type") != "Accountant":
            raise DPKitError("not an accountant: expected a JSON object with type 'Accountant'")
        unknown = sorted(str(k) for k in d if k not in _ACCOUNTANT_KEYS)
        if unknown:
            raise DPKitError(f"accountant: unknown field(s) {', '.join(map(repr, unknown))}; "
                             f"its fields are {', '.join(_ACCOUNTANT_KEYS)}")
        orders = None
        if "orders" in d:
            orders = np.asarray(_json_floats(d["orders"], "orders"), dtype=float)
        acct = cls(orders, relation=d.get("relation"))
        ledger = d.get("ledger", [])
        if not isinstance(ledger, list):
            raise DPKitError(f"ledger must be a JSON list of {{\"event\", \"count\"}} entries, "
                             f"got {_short(ledger)}")
        return acct._compose_pairs(ledger_from_json(ledger, "ledger"), "ledger")

    def __reduce__(self) -> tuple[Any, ...]:
        orders = None if self._orders is DEFAULT_ORDERS else self._orders
        return (_rebuild, (orders, self._relation, self.ledger))

    def __repr__(self) -> str:
        items = ", ".join(f"{e!r}×{n}" for e, n in self.ledger)
        return f"Accountant(relation={self._relation!r}, ledger=[{items}])"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Accountant):
            return False
        if self is other:
            return True
        if (self._relation != other._relation or self._size != other._size
                or not np.array_equal(self._orders, other._orders)):
            return False
        with self._store.lock:
            mine = dict(self._counts())
        with other._store.lock:
            return mine == other._counts()

    __hash__ = None  # type: ignore[assignment]


_ACCOUNTANT_KEYS = ("type", "orders", "relation", "ledger")


def _rebuild(orders: Any, relation: str | None,
             ledger: tuple[tuple[Event, int], ...]) -> Accountant:
    """Unpickle an accountant (the curve cache is recomputed)."""
    return Accountant(orders, relation=relation).compose_many(ledger)


def accountant_from_json(spec: Any) -> Accountant:
    """An accountant from any JSON ledger: an :meth:`Accountant.to_dict` object (``"type":
    "Accountant"``), or what :func:`~dpkit.accounting.events.ledger_from_json` reads (a list
    of events and ``{"event", "count"}`` entries, or a single one). This is what
    ``dpkit compose`` reads. Privacy: the accountant's bounds (see :class:`Accountant`).
    """
    if isinstance(spec, dict) and spec.get("type") == "Accountant":
        return Accountant.from_dict(spec)
    return Accountant()._compose_pairs(ledger_from_json(spec, "ledger"), "ledger")


class _LRU:
    """A small thread-safe least-recently-used cache of PLD answers (pure functions of the
    ledger, the relation and the query, so sharing them never changes a result)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._data: OrderedDict[Any, float] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> float | None:
        with self._lock:
            v = self._data.get(key)
            if v is not None:
                self._data.move_to_end(key)
            return v

    def put(self, key: Any, value: float) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self._size:
                self._data.popitem(last=False)


_PLD_CACHE = _LRU(1024)


def _check_auto(dirs: _pld.ledger.Directions, key: tuple[str, float]) -> None:
    """Raise a DPKitError saying why ``method="auto"`` keeps RDP for this query: too many
    compositions, parameters outside :data:`~dpkit.accounting.pld.ledger.AUTO_RANGES`, or a
    δ below 1e-14 (the engine's tail budget is a fraction of δ)."""
    total = max((sum(c for _, c in d) for d in dirs), default=0)
    if total > AUTO_MAX_COMPOSITIONS:
        raise DPKitError(f"{total} compositions > AUTO_MAX_COMPOSITIONS={AUTO_MAX_COMPOSITIONS}")
    why = _pld.ledger.outside_auto_ranges(dirs)
    if why:
        raise DPKitError(why)
    kind, x = key
    if kind == "eps" and x < 1e-14:
        raise DPKitError(f"delta {x:g} < 1e-14")


def _pld_of(dirs: _pld.ledger.Directions, key: tuple[str, float]) -> float:
    """ε(δ) or δ(ε) of the directions (max over them): certified upper bounds, never NaN."""
    kind, x = key
    if _pld.is_blatant(dirs):
        return math.inf if kind == "eps" else 1.0
    if kind == "eps":  # later directions on a coarse grid first (relation_epsilon_checked)
        v = _pld.ledger.relation_epsilon(dirs, x)
    elif math.isinf(x):  # δ(∞) = P(L = +∞) of the composition
        v = max((-math.expm1(sum(c * math.log1p(-min(p.infinity_mass, 1.0)) if
                                 p.infinity_mass < 1.0 else -math.inf for p, c in d))
                 for d in dirs), default=0.0)
    else:  # every ε ≥ 0, ε = 0 included (the engine plans its step from the loss spread)
        v = _pld.ledger.relation_delta(dirs, x)
    if math.isnan(v):
        raise DPKitError("the PLD bound came out NaN")  # pragma: no cover - engine guards
    return max(v, 0.0) if kind == "eps" else min(max(v, 0.0), 1.0)


def _weighted_curve(curves: dict[Event, np.ndarray], orders: np.ndarray, event: Event, n: int,
                    mask: np.ndarray, sub: np.ndarray) -> np.ndarray:
    """n × the event's RDP at the masked orders (``sub`` = ``orders[mask]``), evaluating (and
    caching in ``curves``) only the orders not computed yet; 0 stays 0 even where n·∞ would
    be NaN."""
    curve = curves.get(event)
    if curve is None:
        part = np.asarray(event.rdp(sub), dtype=float).reshape(-1)
        if np.isnan(part).any():  # pragma: no cover - every event guards against NaN
            raise DPKitError(f"event {event!r} produced NaN RDP values")
        curve = np.full(orders.shape, np.nan)
        curve[mask] = part
        curves[event] = curve
    else:
        missing = mask & np.isnan(curve)
        if missing.any():
            values = np.asarray(event.rdp(orders[missing]), dtype=float)
            if np.isnan(values).any():  # pragma: no cover - every event guards against NaN
                raise DPKitError(f"event {event!r} produced NaN RDP values")
            curve[missing] = values
        part = curve[mask]
    if n == 1:
        return part
    with np.errstate(invalid="ignore", over="ignore"):
        return np.where(part == 0.0, 0.0, _float_count(n) * part)
