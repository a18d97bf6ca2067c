"""``dpkit demo``: every mechanism on built-in synthetic data, then one composed budget.

Each section is a function ``section(rng) -> DemoPart`` registered in ``SECTIONS``; it prints
what it did and returns the privacy events it spent. All events go into one accountant, whose
ε is printed at the end, so the demo also shows composition across mechanisms. Sections that
need an optional extra (numba, JAX, torch) are skipped with a note when it is missing.
Events stated for different neighbouring relations are kept in separate ledgers (they cannot
be composed soundly); the demo reports one budget per relation.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .accounting import Accountant, Event, dpsgd

__all__ = ["DemoPart", "SECTIONS", "run_demo"]

DELTA = 1e-6


@dataclass
class DemoPart:
    """What a demo section did: printable lines and the (event, count) pairs it spent."""

    title: str
    lines: list[str] = field(default_factory=list)
    events: list[tuple[Event, int]] = field(default_factory=list)


def _dpsgd(rng: np.random.Generator) -> DemoPart:
    n, batch, epochs, sigma = 60_000, 256, 15, 1.1
    q = batch / n
    steps = math.ceil(epochs * n / batch)
    eps = dpsgd.epsilon(sigma, q, steps, 1e-5)
    target = 3.0
    calibrated = dpsgd.noise_multiplier(target, 1e-5, q, steps)
    part = DemoPart("DP-SGD budget (MNIST-sized run)")
    part.lines += [
        f"N={n}, batch={batch}, {epochs} epochs -> q={q:.5f}, {steps} steps, sigma={sigma}",
        f"epsilon = {eps:.4f} at delta = 1e-5 (exact sampled-Gaussian RDP)",
        f"noise multiplier for epsilon = {target}: {calibrated:.4f} "
        f"(spends {dpsgd.epsilon(calibrated, q, steps, 1e-5):.4f})",
    ]
    part.events.append((dpsgd.event(sigma, q), steps))
    return part


SECTIONS: list[Callable[[np.random.Generator], DemoPart]] = [_dpsgd]


def _register_optional() -> None:
    """Add the sections of mechanisms that exist in this installation."""
    import importlib

    for name in ("mechanisms.additive", "mechanisms.rqm", "mechanisms.continual",
                 "mechanisms.bandits", "mechanisms.heavy_hitters", "mechanisms.kde",
                 "mechanisms.smoothed_rr", "integrations.opacus"):
        try:
            module = importlib.import_module(f"dpkit.{name}")
        except ImportError:  # pragma: no cover - a mechanism not built yet
            continue
        section = getattr(module, "demo_section", None)
        if section is not None and section not in SECTIONS:
            SECTIONS.append(section)


def run_demo(seed: int = 0, as_json: bool = False) -> int:
    """Run every registered section and print one composed budget per neighbouring relation."""
    _register_optional()
    rng = np.random.default_rng(seed)
    ledgers: dict[str | None, Accountant] = {}
    for section in SECTIONS:
        part = section(rng)
        if not as_json:
            print(f"== {part.title}")
            for line in part.lines:
                print(f"   {line}")
        for ev, count in part.events:
            rel = ev.relation
            acct = ledgers.get(rel, Accountant())
            ledgers[rel] = acct.compose(ev, count)
    # events stated for no fixed relation compose with whichever ledger exists
    free = ledgers.pop(None, None)
    if free is not None:
        if ledgers:
            for rel in list(ledgers):
                ledgers[rel] = ledgers[rel].compose_many(free.ledger)
        else:
            ledgers[None] = free
    out = {}
    for rel, acct in ledgers.items():
        res = acct.epsilon_details(DELTA)
        out[rel or "any"] = {"epsilon": res.epsilon, "delta": DELTA, "order": res.order,
                             "events": len(acct.ledger)}
        if not as_json:
            print(f"== Composed budget ({rel or 'any'} relation): epsilon = {res.epsilon:.4f} "
                  f"at delta = {DELTA:g} over {len(acct.ledger)} distinct events "
                  f"(Rényi order {res.order:g})")
    if as_json:
        from .cli import _print_json

        _print_json(out)
    return 0
