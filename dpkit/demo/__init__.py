"""``dpkit demo``: every mechanism on built-in synthetic data, then one composed budget.

The demo sits on top of the library: each section module here imports the public API of one
mechanism (``dpsgd``, ``additive``, ``rqm``, ``continual``, ``bandits``, ``heavy_hitters``,
``kde``, ``smoothed_rr``, ``opacus``) and defines ``section(rng) -> DemoPart``, which prints
nothing, draws all its randomness from ``rng`` and returns its lines and the privacy events it
spent; a mechanism's section ends with what those events cost at δ = 1e-6
(:func:`~dpkit.demo.part.budget_line`: ``method="auto"``, the method that decided and both
numbers). No library module imports :mod:`dpkit.demo`; only :mod:`dpkit.cli` does (a test parses
every module to keep it so).

:data:`SECTIONS` lists the sections in the order they run. A section whose optional extra is
not installed (today only ``opacus``: PyTorch and Opacus) is replaced by one that prints a
note saying what to install and spends nothing. :func:`run_demo` runs them all from one seeded
generator and composes every event into one accountant per neighbouring relation: events
stated for different relations cannot be composed soundly, so the demo reports one budget per
relation (events stated for no fixed relation join every ledger).

To add a section: write ``dpkit/demo/<name>.py`` with ``section(rng)`` and add a row to
``_REGISTRY`` below.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import math
from collections.abc import Callable

import numpy as np

from ..accounting import Accountant, EpsilonResult
from .part import SECTION_DELTA, DemoPart

__all__ = ["DemoPart", "SECTIONS", "Section", "compose", "run_demo"]

#: δ at which the composed budgets (and each section's spend) are reported.
DELTA = SECTION_DELTA

#: A demo section: the demo's generator in, what it did and spent out.
Section = Callable[[np.random.Generator], DemoPart]

#: (module under dpkit.demo, title used when it is skipped, the packages it needs beyond
#: numpy, the extra that installs them), in the order the sections run.
_REGISTRY: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    ("dpsgd", "DP-SGD budget", (), ""),
    ("additive", "Additive mechanisms", (), ""),
    ("rqm", "RQM", (), ""),
    ("continual", "Continual counting", (), ""),
    ("bandits", "Federated linear bandits", (), ""),
    ("heavy_hitters", "Heavy hitters under local DP", (), ""),
    ("kde", "KDE / similarity queries", (), ""),
    ("smoothed_rr", "Smoothed randomized response", (), ""),
    ("opacus", "DP-SGD with Opacus", ("torch", "opacus"), "opacus"),
)


def _skipped(title: str, note: str) -> Section:
    """A section that only says why it did not run (and spends nothing)."""

    def section(rng: np.random.Generator) -> DemoPart:
        return DemoPart(f"{title}: skipped", [note])

    return section


def _load() -> list[Section]:
    """Every registered section; one whose optional extra is missing becomes a note.

    Only a section that needs an extra may fail to import (an incompatible version of the
    extra gives its own message); any other import error is a bug and propagates.
    """
    sections: list[Section] = []
    for name, title, needs, extra in _REGISTRY:
        missing = [pkg for pkg in needs if importlib.util.find_spec(pkg) is None]
        if missing:
            note = f"needs {', '.join(missing)}: pip install 'dpkit[{extra}]'"
            sections.append(_skipped(title, note))
            continue
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ImportError as exc:
            if not needs:
                raise
            sections.append(_skipped(title, str(exc)))
            continue
        sections.append(module.section)
    return sections


#: The demo's sections in the order they run (built once, when dpkit.demo is imported).
SECTIONS: list[Section] = _load()


def compose(parts: list[DemoPart]) -> dict[str | None, Accountant]:
    """One accountant per neighbouring relation holding every event the parts spent.

    Events stated for no fixed relation (``relation is None``) are added to every ledger, or
    kept under ``None`` when no other ledger exists.
    """
    ledgers: dict[str | None, Accountant] = {}
    for part in parts:
        for ev, count in part.events:
            rel = ev.relation
            ledgers[rel] = ledgers.get(rel, Accountant()).compose(ev, count)
    free = ledgers.pop(None, None)
    if free is not None:
        if ledgers:
            for rel in list(ledgers):
                ledgers[rel] = ledgers[rel].compose_many(free.ledger)
        else:
            ledgers[None] = free
    return ledgers


def _number(x: float) -> float | str | None:
    """``x`` for strict JSON, as the CLI writes it: ±infinity as "inf" / "-inf", NaN as null."""
    if math.isnan(x):
        return None
    return x if math.isfinite(x) else ("inf" if x > 0 else "-inf")


def _optional(x: float | None) -> float | str | None:
    """:func:`_number` of ``x``, or None (JSON null) when the method was not computed."""
    return None if x is None else _number(x)


def _both(res: EpsilonResult) -> str:
    """Which method decided ``res`` and both numbers, e.g. ``decided by PLD; RDP 2.10 (Rényi
    order 11), PLD 1.83``."""
    rdp = "" if res.rdp_epsilon is None else f"RDP {res.rdp_epsilon:.4f}"
    if rdp and res.method != "pld" and not math.isnan(res.order):
        rdp += f" (Rényi order {res.order:g})"
    pld = "" if res.pld_epsilon is None else f"PLD {res.pld_epsilon:.4f}"
    decided = "PLD" if res.method == "pld" else "RDP"
    return f"decided by {decided}: " + ", ".join(x for x in (rdp, pld) if x)


def run_demo(seed: int = 0, as_json: bool = False) -> int:
    """Run every section and print one composed budget per neighbouring relation.

    Every section draws from one ``numpy.random.default_rng(seed)``, so the output is
    reproducible from ``seed``; the budgets themselves do not depend on it. Each budget is
    accounted with ``method="auto"``: the smaller of the certified RDP and PLD bounds, RDP
    alone (with a note) for a ledger holding an event with only an RDP/zCDP bound; the line
    names the method that decided and gives the other method's number when it exists. With
    ``as_json`` the sections print nothing and one JSON object is printed: per relation,
    ``epsilon`` at ``delta`` = :data:`DELTA`, the optimal Rényi ``order`` (null when PLD
    decided), ``method`` (what decided), ``rdp_epsilon``, ``pld_epsilon`` (null when PLD is
    unavailable), ``note`` and the number of distinct ``events``. Returns the exit status (0).
    """
    rng = np.random.default_rng(seed)
    parts = []
    for section in SECTIONS:
        part = section(rng)
        parts.append(part)
        if not as_json:
            print(f"== {part.title}")
            for line in part.lines:
                print(f"   {line}")
    out = {}
    for rel, acct in compose(parts).items():
        res = acct.epsilon_details(DELTA, method="auto")
        out[rel or "any"] = {"epsilon": _number(res.epsilon), "delta": DELTA,
                             "order": _number(res.order), "method": res.method,
                             "rdp_epsilon": _optional(res.rdp_epsilon),
                             "pld_epsilon": _optional(res.pld_epsilon), "note": res.note,
                             "events": len(acct.ledger)}
        if not as_json:
            print(f"== Composed budget ({rel or 'any'} relation): epsilon = {res.epsilon:.4f} "
                  f"at delta = {DELTA:g} over {len(acct.ledger)} distinct events")
            print(f"   {_both(res)}")
            if res.note:
                print(f"   note: {res.note}")
    if as_json:
        print(json.dumps(out, allow_nan=False))
    return 0
