"""What a :mod:`dpkit.pipeline` release spends: the one way to ask is :func:`privacy_event`.

``privacy_event(release, **kwargs)`` takes the release function and the *same keyword
arguments* you pass the release (``df``, ``rng``, ``progress`` and column names are ignored)
and returns the :mod:`dpkit.accounting` event the release spends, computed from the
parameters alone (never from the data), so you can compose it in your ``Accountant`` before
or after running the release::

    ev = privacy_event(count, by="country", privacy_unit="user", max_partitions=3,
                       max_per_partition=1, epsilon=1.0, delta=1e-8)

Every release module registers its event function at import time with
:func:`register_event(release, event_fn) <register_event>`; ``event_fn(**params)`` receives
the keyword arguments minus the ignored ones and must accept (and ignore) column names.

Neighbouring relation: add/remove of one **privacy unit** (all of its rows) for the central
releases (count, sum, mean, continual counts, KDE); replace-one per unit for the local-DP
releases (heavy hitters, smoothed RR, RQM). Every event states its relation.

Releases with private partition selection have a δ > 0 that no Rényi-DP bound can express (a
key held by one unit appears with probability ≤ δ on one side and never on the other: the
Rényi divergence is infinite). They are stated as
:class:`~dpkit.accounting.events.ApproxDP` ``(ε, δ, relation="add_remove")``: the (ε, δ)
statement *proved* in :mod:`dpkit.pipeline.selection`, which the one
:class:`~dpkit.accounting.Accountant` composes tightly with everything else by its PLD path
(the tight four-point dominating pair of (ε, δ)-DP, Kairouz, Oh, Viswanath 2015; its RDP is
∞, so ``method="auto"`` — the default — decides by PLD).

One ledger for central and local releases: the local-DP releases are private under
replace-one only, the central ones under add/remove. ``privacy_event(...,
relation="replace_one")`` states a central release for replace-one by group privacy at
distance 2 (:func:`as_replace_one`), so every release of a pipeline can be composed in one
replace-one ledger.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Callable, Iterable
from fractions import Fraction
from typing import Any

from ..accounting.events import (
    ADD_REMOVE,
    REPLACE_ONE,
    ZCDP,
    ApproxDP,
    Composed,
    DiscreteGaussian,
    DiscreteLaplace,
    Event,
    Gaussian,
    Laplace,
    PureDP,
    Repeated,
)
from ..errors import DPKitError

__all__ = ["sum_up", "privacy_event", "register_event", "registered", "as_replace_one",
           "IGNORED"]
#: Keyword arguments of a release that never change what it spends.
IGNORED = frozenset({"df", "rng", "progress"})

EventFn = Callable[..., Event]
_EVENTS: dict[Callable[..., Any], EventFn] = {}


def sum_up(values: Iterable[float]) -> float:
    """The float sum of ``values`` rounded *up* (exact rational sum, then the next float above
    when it is not representable): the sum of upper bounds stays an upper bound."""
    vals = list(values)
    if any(math.isinf(v) for v in vals):
        return math.inf
    total = sum((Fraction(v) for v in vals), Fraction(0))
    out = float(total)
    return math.nextafter(out, math.inf) if Fraction(out) < total else out


def register_event(release: Callable[..., Any], event_fn: EventFn) -> None:
    """Register ``event_fn`` as the privacy statement of ``release`` (once per release).

    ``event_fn(**params)`` gets the release's keyword arguments minus :data:`IGNORED` and
    returns its :class:`~dpkit.accounting.events.Event`; it must validate the parameters the
    same way the release does (bad values raise :class:`~dpkit.errors.DPKitError`).
    """
    if not callable(release) or not callable(event_fn):
        raise DPKitError("register_event needs a release function and an event function")
    _EVENTS[release] = event_fn


def registered() -> tuple[Callable[..., Any], ...]:
    """The release functions that have a registered privacy statement."""
    return tuple(_EVENTS)


def _check_names(release: Callable[..., Any], kwargs: dict[str, Any]) -> None:
    """A keyword the release does not take is refused (a misspelt option would otherwise
    give the event of a different call)."""
    try:
        sig = inspect.signature(release)
    except (TypeError, ValueError):  # pragma: no cover - every registered release is Python
        return
    ps = sig.parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in ps):
        return
    names = {p.name for p in ps}
    unknown = sorted(set(kwargs) - names)
    if unknown:
        name = getattr(release, "__qualname__", repr(release))
        raise DPKitError(f"{unknown[0]}: not a parameter of {name} (it takes "
                         f"{', '.join(sorted(names))})")


def privacy_event(release: Callable[..., Any], /, *, relation: str | None = None,
                  **kwargs: Any) -> Event:
    """The privacy event a call ``release(**kwargs)`` spends (data-independent).

    Pass the release function and the same keyword arguments as the release; ``df``, ``rng``
    and ``progress`` are ignored. ``relation="replace_one"`` states a central release
    (add/remove of one unit) for replace-one by group privacy (:func:`as_replace_one`), so
    that it composes in one ledger with the local-DP releases; ``None`` (default) or
    ``"add_remove"`` return the release's own statement (a replace-one release asked for
    add/remove raises a DPKitError: local DP says nothing about adding a unit).
    Raises a :class:`~dpkit.errors.DPKitError` for a function
    that is not a registered release, or for bad parameters (the same check as the release).

    Privacy: the returned event bounds the privacy loss of the release under the relation it
    states (add/remove of one privacy unit for central releases, replace-one per unit for the
    local-DP ones).
    """
    fn = _EVENTS.get(release)
    if fn is None:
        inner = getattr(release, "__wrapped__", None)
        fn = _EVENTS.get(inner) if inner is not None else None
    if fn is None:
        name = getattr(release, "__qualname__", repr(release))
        raise DPKitError(f"release: {name} is not a dpkit.pipeline release with a registered "
                         "privacy event (see dpkit.pipeline.privacy.register_event)")
    if relation not in (None, ADD_REMOVE, REPLACE_ONE):
        raise DPKitError(f"relation must be None, {ADD_REMOVE!r} or {REPLACE_ONE!r}, got "
                         f"{relation!r}")
    _check_names(release, kwargs)
    params = {k: v for k, v in kwargs.items() if k not in IGNORED}
    event = fn(**params)
    if relation == REPLACE_ONE:
        return as_replace_one(event)
    if relation == ADD_REMOVE and event.relation == REPLACE_ONE:
        raise DPKitError("relation: this release is private under replace-one of a unit only "
                         "(local DP); compose it in a replace-one ledger "
                         "(privacy_event(..., relation='replace_one') for the central ones)")
    return event


def _up(x: float) -> float:
    return math.nextafter(x, math.inf)


def as_replace_one(event: Event) -> Event:
    """``event`` (stated for add/remove of one privacy unit) restated for replace-one.

    A replacement is one removal and one addition, so group privacy at distance 2 applies:
    (ε, δ)-DP → (2ε, (1 + e^ε)δ)-DP (the (ε, δ) inequality applied twice; Dwork & Roth
    2014, §2.3; Vadhan 2017, Lemma 2.2); ε-DP → 2ε-DP; ρ-zCDP → 4ρ-zCDP (Bun & Steinke
    2016, Prop. 27; ξ = 0 only); a Gaussian or Laplace event (noise multiplier b per
    unit of sensitivity) → b/2 (the sensitivity at most doubles); a discrete Laplace /
    Gaussian event → sensitivity × 2. Composed and repeated events are converted part by
    part; an event already stated for replace-one is returned unchanged. Every float is rounded the
    conservative way.

    Privacy: the returned event bounds the privacy loss of the same release between tables
    that differ by replacing one unit's rows. Raises :class:`~dpkit.errors.DPKitError` for an
    event type with no conversion here.
    """
    if not isinstance(event, Event):
        raise DPKitError(f"event must be a dpkit.accounting Event, got {type(event).__name__}")
    if event.relation == REPLACE_ONE:
        return event
    if isinstance(event, Composed):
        return Composed(tuple(as_replace_one(e) for e in event.events))
    if isinstance(event, Repeated):
        return Repeated(as_replace_one(event.event), event.count)
    if isinstance(event, ApproxDP):
        dl = min(1.0, _up((1.0 + math.exp(min(event.epsilon, 700.0))) * event.delta))
        return ApproxDP(_up(2.0 * event.epsilon), dl, relation=REPLACE_ONE)
    if isinstance(event, PureDP):
        return PureDP(_up(2.0 * event.epsilon), relation=REPLACE_ONE)
    if isinstance(event, ZCDP) and event.xi == 0.0:
        return ZCDP(_up(4.0 * event.rho), relation=REPLACE_ONE)
    if isinstance(event, (Gaussian, Laplace)):
        b = math.nextafter(event.noise_multiplier / 2.0, 0.0)
        return dataclasses.replace(event, noise_multiplier=b, relation=REPLACE_ONE)
    if isinstance(event, (DiscreteLaplace, DiscreteGaussian)):
        return dataclasses.replace(event, sensitivity=2 * event.sensitivity,
                                   relation=REPLACE_ONE)
    raise DPKitError(f"relation: no replace-one statement of a {type(event).__name__} event "
                     "(compose it in an add/remove ledger)")
