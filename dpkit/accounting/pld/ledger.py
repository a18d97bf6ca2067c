"""An accountant's ledger as dominating pairs: the input of the certified PLD bounds.

:func:`ledger_directions` maps every ``(event, count)`` of a ledger to dominating pairs
(:mod:`.pairs`) and returns one list of ``(pair, count)`` per *direction* of the neighbouring
relation. δ(ε) of the ledger is the largest of the directions' composed δ(ε), each direction
composing (product of pairs, Zhu, Dong, Wang 2022, "Optimal Accounting of Differential
Privacy via Characteristic Function", Thm. 10) one pair per event that dominates that event
in that orientation of the neighbouring datasets (add/remove: direction 0 = remove, 1 = add).

Events and their pairs (each dominates the event for every hockey-stick order α ≥ 0, i.e. in
the Blackwell order, so products and mixtures below stay dominating):

* ``Gaussian(σ)``: :class:`GaussianPair` (tight, symmetric). Gaussian pairs of one direction
  are merged exactly into one, σ_eff = (Σ count/σ²)^{-1/2} (the losses are independent
  normals N(μ²/2, μ²), whose sum is the loss of μ² = Σ μ_i²; Dong, Roth, Su 2019, GDP
  composition).
* ``Laplace(b)``: :class:`LaplacePair` (symmetric).
* ``RandomizedResponse(ε, k)``: :func:`randomized_response_pair` (the two output laws; tight).
* ``PureDP(ε)``: :func:`pure_dp_pair`, binary randomized response, which dominates every ε-DP
  mechanism in the Blackwell order (Kairouz, Oh, Viswanath 2015).
* ``PoissonSampled(e, q)`` with ``e`` one Gaussian (or Gaussians composed): the remove / add
  :class:`SampledGaussianPair` (ZDW22, Prop. 30). With ``e`` a ``PureDP(ε)``: the pair of
  pmfs (q·P + (1−q)·Q, Q) for remove and (Q, q·P + (1−q)·Q) for add, (P, Q) the ε-RR pair
  (ZDW22, Thm. 11; the map (P, Q) ↦ mixture is Blackwell-monotone and the hockey-stick
  divergence is jointly convex, so the bound holds for every α ≥ 0). With ``e`` a
  ``Laplace(b)``: the remove / add :class:`SampledLaplacePair`, the same mixtures of the
  Laplace pair (same theorem); for b < 1e-4 the pair of a mechanism that reveals whether
  the record was sampled (it dominates every Poisson-sampled mechanism; the exact pair's
  losses up to 1/b would need grids beyond memory).
* ``SampledWithoutReplacement(e, γ)`` (replace-one) with ``e`` a Gaussian (or Gaussians
  composed), a Laplace, a randomized response or a pure-DP event: one symmetric pair,
  :class:`SymmetrizedPair` of the mixture (γP + (1−γ)Q, Q) of e's pair, which bounds δ(ε)
  for ε ≥ 0 (Balle, Barthe, Gaboardi 2018, Thm. 10), made symmetric so that it dominates
  for every α ≥ 0 and composes (see there); σ = 0, b < 1e-4, ε = ∞: the mixture of the
  revealing pair.
* ``Repeated(e, n)``: e's pairs with counts × n; ``Composed``: the concatenation.
* Events of :mod:`.mechanism_pairs` (``ApproxDP``: its tight four-point pair, Kairouz, Oh,
  Viswanath 2015, Thm. 2.4; pairs of pmfs; discrete Laplace / Gaussian): its
  :func:`~.mechanism_pairs.event_pairs`, consulted first.

The bounds of one direction, on values validated where they entered, are
:func:`direction_epsilon` / :func:`direction_delta`; of the whole relation (the max over the
directions, the later ones tried on a coarse grid first) :func:`relation_epsilon` /
:func:`relation_delta`, whose order and tries :func:`ordered_directions` gives to the
calibration searches (so a search checks δ once, not per step, and calls feasible only what
the accountant's ε confirms).

Every other event — ``ZCDP``, ``RDPCurve``, ``ClaimedApproxDP``, a Poisson-sampled or
without-replacement event of another inner event — raises
:class:`~dpkit.errors.PLDUnavailableError` naming the event type; the RDP accountant
(``method="rdp"`` or ``"auto"``) still bounds it.
"""

from __future__ import annotations

import contextlib
import functools
import math
import warnings
from collections.abc import Iterable, Iterator

import numpy as np

from ...errors import DPKitError, PLDUnavailableError
from ..events import (
    Composed,
    Event,
    Gaussian,
    Laplace,
    PoissonSampled,
    PureDP,
    RandomizedResponse,
    Repeated,
    SampledWithoutReplacement,
    _effective_gaussian,
)
from . import bounds as _bounds
from . import mechanism_pairs as _mech
from .pairs import (
    ADD,
    REMOVE,
    DiscretePair,
    DominatingPair,
    GaussianPair,
    LaplacePair,
    SampledGaussianPair,
    SampledLaplacePair,
    SymmetrizedPair,
    from_pmfs,
    randomized_response_pair,
    symmetrized_pmfs,
)

__all__ = ["ledger_directions", "BLATANT", "is_blatant", "Directions", "AUTO_RANGES",
           "outside_auto_ranges", "quiet", "direction_epsilon", "direction_delta",
           "relation_epsilon", "relation_delta", "ordered_directions"]

Directions = list[list[tuple[DominatingPair, int]]]

#: The pair of a mechanism that reveals its input (P = [1, 0], Q = [0, 1]): δ(ε) = 1 at every
#: ε. Returned by :func:`ledger_directions` as ``[[(BLATANT, 1)]]`` for a ledger holding such
#: an event (σ = 0, b = 0, ε = ∞), whose bounds are then ε = ∞ and δ = 1.
BLATANT: DominatingPair = from_pmfs([1.0, 0.0], [0.0, 1.0])


def is_blatant(dirs: Directions) -> bool:
    """True if ``dirs`` is the :data:`BLATANT` ledger (δ(ε) = 1 at every ε)."""
    return any(p is BLATANT for d in dirs for p, _ in d)


class _Blatant(Exception):
    """Internal: an event with an infinite privacy loss of probability 1."""


# An event's pairs: ("sym", pairs) dominates both orientations; ("dir", [d0, d1]) one list
# per orientation (for add/remove: remove, add).
_Contribution = tuple[str, list[list[tuple[DominatingPair, int]]]]


def _unavailable(event: Event, why: str = "") -> PLDUnavailableError:
    extra = f" ({why})" if why else ""
    return PLDUnavailableError(
        f"no certified PLD for a {type(event).__name__} event{extra}: it has only an RDP/zCDP "
        'bound; use method="rdp" or method="auto" (which falls back to RDP)')


@functools.lru_cache(maxsize=4096)
def _rr_pmfs(epsilon: float) -> tuple[list[float], list[float]]:
    """The binary ε-RR output laws (P, Q) (ε finite)."""
    z = 1.0 + math.exp(-epsilon)  # P = [e^ε, 1]/(e^ε + 1) written without overflow
    hi, lo = 1.0 / z, math.exp(-epsilon) / z
    return [hi, lo], [lo, hi]


@functools.lru_cache(maxsize=4096)
def _sampled_pure(epsilon: float, q: float) -> tuple[DiscretePair, DiscretePair]:
    """(remove, add) pairs of an ε-DP mechanism on a Poisson sample of rate q (0 < q < 1)."""
    if math.isinf(epsilon):  # P = [1, 0], Q = [0, 1]: mixture [q, 1−q] against [0, 1]
        p, qq = [1.0, 0.0], [0.0, 1.0]
    else:
        p, qq = _rr_pmfs(epsilon)
    mix = [q * a + (1.0 - q) * b for a, b in zip(p, qq, strict=True)]
    s = sum(mix)
    mix = [m / s for m in mix]  # renormalize the rounding of the mixture (≤ 1 ulp)
    return from_pmfs(mix, qq), from_pmfs(qq, mix)


@functools.lru_cache(maxsize=4096)
def _sampled_gaussian(sigma: float, q: float) -> tuple[DominatingPair, DominatingPair]:
    """(remove, add) pairs of the Poisson-sampled Gaussian (σ > 0 finite, 0 < q < 1)."""
    return SampledGaussianPair(sigma, q, REMOVE), SampledGaussianPair(sigma, q, ADD)


@functools.lru_cache(maxsize=4096)
def _sampled_laplace(b: float, q: float) -> tuple[DominatingPair, DominatingPair]:
    """(remove, add) pairs of the Poisson-sampled Laplace mechanism (b > 0 finite,
    0 < q < 1; ZDW22, Thm. 11)."""
    return SampledLaplacePair(b, q, REMOVE), SampledLaplacePair(b, q, ADD)


@functools.lru_cache(maxsize=4096)
def _rr(epsilon: float, k: int) -> DiscretePair:
    return randomized_response_pair(epsilon, k)


def _contribution(event: Event, relation: str | None) -> _Contribution:
    """The pairs of one event (count 1). Raises PLDUnavailableError or _Blatant."""
    mech = _mech.event_pairs(event, relation)
    if mech is not None:
        if len(mech) == 1:
            return "sym", [list(mech[0])]
        if len(mech) == 2:
            return "dir", [list(mech[0]), list(mech[1])]
        raise DPKitError(f"event_pairs gave {len(mech)} directions for {type(event).__name__};"
                         " expected 1 or 2")  # pragma: no cover - a bug in mechanism_pairs
    if isinstance(event, Gaussian):
        s = event.noise_multiplier
        if s == 0.0:
            raise _Blatant
        return "sym", [[] if math.isinf(s) else [(GaussianPair(s), 1)]]
    if isinstance(event, Laplace):
        b = event.noise_multiplier
        if b == 0.0:
            raise _Blatant
        return "sym", [[] if math.isinf(b) else [(LaplacePair(b), 1)]]
    if isinstance(event, (RandomizedResponse, PureDP)):
        e = event.epsilon
        if math.isinf(e):
            raise _Blatant
        k = event.k if isinstance(event, RandomizedResponse) else 2
        return "sym", [[] if e == 0.0 else [(_rr(e, k), 1)]]
    if isinstance(event, Repeated):
        if event.count == 0:
            return "sym", [[]]
        kind, dirs = _contribution(event.event, relation)
        return kind, [[(p, c * event.count) for p, c in d] for d in dirs]
    if isinstance(event, Composed):
        return _merge([_contribution(e, relation) for e in event.events])
    if isinstance(event, PoissonSampled):
        return _poisson(event, relation)
    if isinstance(event, SampledWithoutReplacement):
        return _without_replacement(event, relation)
    raise _unavailable(event)


@functools.lru_cache(maxsize=4096)
def _wor_pair(kind: str, param: float, k: int, g: float) -> DominatingPair:
    """The symmetric pair of an inner mechanism ``kind`` ("gaussian" σ, "laplace" b, "rr" ε
    with k outputs, "reveal") sampled without replacement at rate g (0 < g < 1): the
    mixture (gP + (1 − g)Q, Q) of the inner's replace-one pair, symmetrized
    (:class:`~.pairs.SymmetrizedPair`)."""
    if kind == "gaussian":
        return SymmetrizedPair(SampledGaussianPair(param, g, REMOVE))
    if kind == "laplace":
        return SymmetrizedPair(SampledLaplacePair(param, g, REMOVE))
    if kind == "rr":
        pair = _rr(param, k)
        p, q = pair.p, pair.q
    else:  # "reveal": P = δ_1, Q = δ_0
        p, q = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    mix = g * p + (1.0 - g) * q
    return symmetrized_pmfs(mix / mix.sum(), q)


def _without_replacement(event: SampledWithoutReplacement, relation: str | None
                         ) -> _Contribution:
    """m of n records sampled without replacement (g = m/n), replace-one: one symmetric
    pair (:func:`_wor_pair`; Balle, Barthe, Gaboardi 2018, Thm. 10, symmetrized)."""
    g = event.sample_rate
    if g == 0.0:
        return "sym", [[]]
    if g == 1.0:
        return _contribution(event.event, relation)
    s = _effective_gaussian(event.event)
    inner = event.event
    if s is not None:
        if math.isinf(s):
            return "sym", [[]]
        return "sym", [[(_wor_pair("reveal" if s == 0.0 else "gaussian", s, 2, g), 1)]]
    if isinstance(inner, Laplace):
        b = inner.noise_multiplier
        if math.isinf(b):
            return "sym", [[]]
        # b < 1e-4: the revealing pair, as for PoissonSampled(Laplace) (see there)
        return "sym", [[(_wor_pair("reveal" if b < 1e-4 else "laplace", b, 2, g), 1)]]
    if isinstance(inner, (RandomizedResponse, PureDP)):
        e = inner.epsilon
        if e == 0.0:
            return "sym", [[]]
        k = inner.k if isinstance(inner, RandomizedResponse) else 2
        return "sym", [[(_wor_pair("reveal" if math.isinf(e) else "rr", e, k, g), 1)]]
    raise _unavailable(event, f"of a {type(inner).__name__}")


def _poisson(event: PoissonSampled, relation: str | None) -> _Contribution:
    q = event.sample_rate
    if q == 0.0:
        return "sym", [[]]
    if q == 1.0:
        return _contribution(event.event, relation)
    s = _effective_gaussian(event.event)
    if s is not None:
        if math.isinf(s):
            return "sym", [[]]
        if s == 0.0:  # remove: ((1−q)δ0 + qδ1, δ0); add: the reverse
            rem = from_pmfs([1.0 - q, q], [1.0, 0.0])
            return "dir", [[(rem, 1)], [(from_pmfs([1.0, 0.0], [1.0 - q, q]), 1)]]
        r, a = _sampled_gaussian(s, q)
        return "dir", [[(r, 1)], [(a, 1)]]
    inner = event.event
    if isinstance(inner, PureDP):
        if inner.epsilon == 0.0:
            return "sym", [[]]
        r2, a2 = _sampled_pure(inner.epsilon, q)
        return "dir", [[(r2, 1)], [(a2, 1)]]
    if isinstance(inner, Laplace):
        b = inner.noise_multiplier
        if math.isinf(b):
            return "sym", [[]]
        if b < 1e-4:
            # b = 0: the mechanism reveals x, as for σ = 0 above. 0 < b < 1e-4 (losses up
            # to 1/b > 1e4: the engine's grids lose all tightness, or exceed memory, below
            # ~1e-5): the same pair, which dominates every Poisson-sampled mechanism (any
            # pair is a post-processing of the revealing one), with δ(ε) = q per step,
            # close to the exact one for ε well below 1/b; ε(δ < q) is then ∞ (RDP, in
            # "auto", gives its finite ε of the order of 1/b)
            rem = from_pmfs([1.0 - q, q], [1.0, 0.0])
            return "dir", [[(rem, 1)], [(from_pmfs([1.0, 0.0], [1.0 - q, q]), 1)]]
        r3, a3 = _sampled_laplace(b, q)
        return "dir", [[(r3, 1)], [(a3, 1)]]
    # RandomizedResponse never gets here: it is a replace-one event, and PoissonSampled
    # (add/remove) refuses it at construction (IncompatibleRelationError); its k-RR pair
    # dominates M(D) vs M(D') for a *replaced* record, not M(D ∪ {x}) vs M(D).
    raise _unavailable(event, f"of a {type(inner).__name__}")


def _merge(parts: Iterable[_Contribution]) -> _Contribution:
    """Concatenate contributions: symmetric ones go into every direction."""
    sym: list[tuple[DominatingPair, int]] = []
    d0: list[tuple[DominatingPair, int]] = []
    d1: list[tuple[DominatingPair, int]] = []
    directed = False
    for kind, dirs in parts:
        if kind == "sym":
            sym.extend(dirs[0])
        else:
            directed = True
            d0.extend(dirs[0])
            d1.extend(dirs[1])
    if not directed:
        return "sym", [sym]
    return "dir", [sym + d0, sym + d1]


def _group(parts: list[tuple[DominatingPair, int]]) -> list[tuple[DominatingPair, int]]:
    """Equal pairs merged (counts added), Gaussian pairs merged exactly into one."""
    counts: dict[DominatingPair, int] = {}
    inv_var = 0.0  # Σ count / σ² of the Gaussian pairs
    for pair, c in parts:
        if c == 0:
            continue
        if isinstance(pair, GaussianPair):
            s = pair.noise_multiplier
            inv_var += c / (s * s) if s * s > 0.0 else math.inf
            continue
        counts[pair] = counts.get(pair, 0) + c
    out = list(counts.items())
    if math.isinf(inv_var):
        # σ_eff = 1/√Σ(count/σ²) below ~1e-154: ε(δ) beyond every float for δ < 1; the
        # revealing pair (δ(ε) = 1) dominates it
        out.insert(0, (BLATANT, 1))
    elif inv_var > 0.0:
        out.insert(0, (GaussianPair(1.0 / math.sqrt(inv_var)), 1))
    return out


def ledger_directions(ledger: Iterable[tuple[Event, int]], relation: str | None) -> Directions:
    """One list of ``(pair, count)`` per direction of ``relation`` for an accountant's ledger.

    Args:
        ledger: ``(event, count)`` pairs (an :attr:`Accountant.ledger`).
        relation: the ledger's neighbouring relation (``"add_remove"``, ``"replace_one"`` or
            None); passed on to :func:`~.mechanism_pairs.event_pairs`.

    Returns:
        ``[parts]`` when every event's pair dominates both orientations, else
        ``[remove_parts, add_parts]`` (for add/remove; the two orientations of the datasets
        otherwise). Equal pairs are grouped and Gaussian pairs merged exactly (module
        docstring). A ledger with an event that reveals its input (σ = 0, b = 0, ε = ∞) is
        ``[[(BLATANT, 1)]]``; an empty ledger, or one of free events, is ``[[]]``.

    Privacy: δ(ε) of the ledger ≤ max over the returned directions of
    :func:`~.bounds.delta_bound` (ZDW22, Thm. 10; each pair's justification in the module
    docstring), hence also ε(δ) ≤ max of :func:`~.bounds.epsilon_bound`.

    Raises:
        PLDUnavailableError: an event with no certified pair, named in the message.
    """
    contributions = []
    try:
        for event, n in ledger:
            if n == 0:
                continue
            kind, dirs = _contribution(event, relation)
            contributions.append((kind, [[(p, c * n) for p, c in d] for d in dirs]))
    except _Blatant:
        return [[(BLATANT, 1)]]
    _, dirs = _merge(contributions)
    return [_group(d) for d in dirs]


def direction_epsilon(parts: list[tuple[DominatingPair, int]], delta: float, *,
                      accuracy: float = 1e-3) -> float:
    """Certified ε(δ) of one direction of :func:`ledger_directions`, for a δ ∈ [0, 1]
    already validated where it entered (the accountant's queries, the calibration searches:
    "validate once", docs/architecture.md). ``parts`` as :func:`ledger_directions` returns
    them (pairs, counts ≥ 1).

    The same value as :func:`~.bounds.epsilon_bound` (its body without the check of δ, which
    a search would otherwise repeat on every step; tests/accounting/test_pld_accountant.py
    keeps the two equal). ``accuracy``: the grid's relative slack aimed at (the engine's
    default 1e-3; a coarser one is cheaper and still certified). Privacy: an upper bound on
    the direction's ε(δ) at every accuracy (see there).
    """
    return _bounds.epsilon_checked(parts, delta, accuracy=accuracy)


def direction_delta(parts: list[tuple[DominatingPair, int]], epsilon: float) -> float:
    """Certified δ(ε) of one direction for an ε ≥ 0 already validated; the value of
    :func:`~.bounds.delta_bound` (see :func:`direction_epsilon`)."""
    return _bounds.delta_checked(parts, epsilon)


def relation_epsilon(dirs: Directions, delta: float, *, accuracy: float = 1e-3) -> float:
    """Certified ε(δ) of the whole relation (max over :func:`ledger_directions`' directions,
    the later ones tried on a coarse grid first): :func:`~.bounds.relation_epsilon_checked`
    for a δ already validated. Privacy: an upper bound on the relation's ε(δ)."""
    return _bounds.relation_epsilon_checked(dirs, delta, accuracy=accuracy)


def ordered_directions(dirs: Directions, delta: float) -> list[
        tuple[list[tuple[DominatingPair, int]], float]]:
    """The directions in :func:`relation_epsilon`'s order with the accuracy of each one's
    coarse first try (0.0: none): :func:`~.bounds.ordered_directions` at ``delta``, for the
    searches that decide feasibility direction by direction (:mod:`..calibrate`)."""
    return _bounds.ordered_directions(dirs, delta=delta)


def relation_delta(dirs: Directions, epsilon: float, *, accuracy: float = 1e-3) -> float:
    """Certified δ(ε) of the whole relation (see :func:`relation_epsilon`), for an ε ≥ 0
    already validated. Privacy: an upper bound on the relation's δ(ε)."""
    return _bounds.relation_delta_checked(dirs, epsilon, accuracy=accuracy)


def describe(dirs: Directions) -> str:
    """A short text of the directions' sizes (for notes and errors)."""
    return "+".join(str(len(d)) for d in dirs) + " distinct pair(s)"


#: The parameter ranges where ``method="auto"`` uses the PLD engine (outside them it keeps
#: RDP, with a note): the ranges the engine's tests cover, far from float limits.
AUTO_RANGES: dict[str, tuple[float, float]] = {
    "gaussian_sigma": (1e-2, 1e4), "sampled_sigma": (0.1, 1e3),
    "sample_rate": (1e-8, 1.0 - 1e-9), "laplace_b": (1e-2, 1e4), "discrete_loss": (0.0, 50.0)}


def outside_auto_ranges(dirs: Directions) -> str:
    """Why ``dirs`` lies outside :data:`AUTO_RANGES` ("" when inside)."""
    r = AUTO_RANGES
    for d in dirs:
        for p, _ in d:
            if p is BLATANT:
                continue
            if isinstance(p, GaussianPair):
                lo, hi = r["gaussian_sigma"]
                if not lo <= p.noise_multiplier <= hi:
                    return f"Gaussian noise {p.noise_multiplier:g} outside [{lo:g}, {hi:g}]"
            elif isinstance(p, (SampledGaussianPair, SampledLaplacePair)):
                why = _sampled_outside(p)
                if why:
                    return why
            elif isinstance(p, SymmetrizedPair):
                why = outside_auto_ranges([[(p.base, 1)]])
                if why:
                    return why
            elif isinstance(p, LaplacePair):
                lo, hi = r["laplace_b"]
                if not lo <= p.noise_multiplier <= hi:
                    return f"Laplace scale {p.noise_multiplier:g} outside [{lo:g}, {hi:g}]"
            elif isinstance(p, DiscretePair):
                top = r["discrete_loss"][1]
                if p.p.size and float(np.max(np.abs(p.losses))) > top:
                    return f"a discrete pair with a loss beyond {top:g}"
    return ""


def _sampled_outside(p: SampledGaussianPair | SampledLaplacePair) -> str:
    """Why a subsampled pair lies outside :data:`AUTO_RANGES` ("" when inside)."""
    gauss = isinstance(p, SampledGaussianPair)
    name, sym, key = ("Gaussian", "σ", "sampled_sigma") if gauss else ("Laplace", "b",
                                                                        "laplace_b")
    lo, hi = AUTO_RANGES[key]
    qlo, qhi = AUTO_RANGES["sample_rate"]
    if lo <= p.noise_multiplier <= hi and qlo <= p.sample_rate <= qhi:
        return ""
    return (f"sampled {name} ({sym}={p.noise_multiplier:g}, q={p.sample_rate:g}) "
            f"outside {sym} in [{lo:g}, {hi:g}], q in [{qlo:g}, {qhi:g}]")


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Run the PLD engine with numpy's floating-point signals and warnings silenced (the
    arithmetic is unchanged; callers check the results for NaN and fall back on errors)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            yield
