"""Accounting benchmark: dpkit against dp_accounting and Opacus, side by side, in one run.

Anchors (default settings, as in ``/work/shared/specs/accounting.md`` §b):

* dp_accounting 0.6.0 ``RdpAccountant`` (default orders) and ``PLDAccountant`` (interval 1e-4),
  fed ``SelfComposedDpEvent(PoissonSampledDpEvent(q, GaussianDpEvent(σ)), T)``;
* Opacus ``RDPAccountant`` and ``PRVAccountant`` (eps_error 0.01, delta_error δ/1000), fed the
  history ``[(σ, q, T)]``.

Sections:

1. time per ε at q=0.01, σ=1, δ=1e-5, T ∈ {1e3, 1e4} (median of warm runs);
2. σ calibration for target ε ∈ {1, 3, 8} at q=0.01, T=1e4;
3. cost against the number of steps, T from 1e2 to 1e9 at q=0.001;
4. heterogeneous composition of N distinct (q, σ) steps;
5. cold start of the ``dpkit`` CLI (fresh process);
6. peak RSS of dpkit's ε at T=1e9 against T=1e2;
7. ledger length: compose / compose_many / ε / to_dict / from_dict on N distinct events,
   N = 1e3 … 1e5 (and 1e6 when ``DPKIT_BENCH_LEDGER_1E6=1`` is set: about 2–3 minutes and
   ~3 GiB; ``--quick`` stops at 1e4).

Every library call runs in a :class:`~benchmarks._timing.Worker` subprocess with a time limit
and a 9 GiB address-space cap, so a hang or a blow-up becomes a table cell. dpkit is timed the
same way, and each of its repetitions uses a slightly different σ (σ·(1 + 1e-9·rep)) so that no
cache could make it look faster than a first call. Run with ``python -m benchmarks.accounting``
(``--quick`` for a short run); tables go to stdout and to ``benchmarks/out/accounting.md``.
"""

from __future__ import annotations

import json
import math
import os
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import OUT_DIR
from ._report import (
    Progress,
    Table,
    fmt_mib,
    fmt_num,
    fmt_ratio,
    fmt_time,
    machine_info,
    machine_markdown,
    module_main,
    write_markdown,
)
from ._timing import Failure, Measurement, Outcome, Task, Worker, time_command

__all__ = ["Config", "Tool", "TOOLS", "run", "main"]

DELTA = 1e-5
_MOD = "benchmarks.accounting"  # where the worker finds the functions below (not __main__)


# ----------------------------------------------------------------- functions run in the worker
def _jitter(x: float, rep: int) -> float:
    """``x`` perturbed by a relative 1e-9 per repetition (rep 0 is exact)."""
    return x * (1.0 + 1e-9 * rep)


def _dpacc_sgm(sigma: float, q: float, steps: int) -> Any:
    """dp_accounting event: T self-compositions of the Poisson-sampled Gaussian."""
    import dp_accounting as dpa

    return dpa.SelfComposedDpEvent(dpa.PoissonSampledDpEvent(q, dpa.GaussianDpEvent(sigma)), steps)


def dpkit_eps(rep: int, sigma: float, q: float, steps: int, delta: float) -> float:
    """dpkit: ``dpsgd.epsilon`` (RDP, exact sampled Gaussian, improved conversion)."""
    from dpkit.accounting import dpsgd

    return dpsgd.epsilon(_jitter(sigma, rep), q, steps, delta)


def dpkit_steps_sweep(rep: int, steps_grid: list[int], rounds: int, q: float,
                      sigma: float) -> list[float]:
    """Median seconds of dpkit's ε per T, the T values interleaved round by round."""
    import statistics

    from dpkit.accounting import dpsgd

    times: list[list[float]] = [[] for _ in steps_grid]
    for r in range(rounds):
        for i, steps in enumerate(steps_grid):
            t0 = time.perf_counter()
            dpsgd.epsilon(_jitter(sigma, rep * rounds + r), q, steps, DELTA)
            times[i].append(time.perf_counter() - t0)
    return [statistics.median(t) for t in times]


def dpacc_rdp_eps(rep: int, sigma: float, q: float, steps: int, delta: float) -> float:
    """dp_accounting ``RdpAccountant`` with its default orders."""
    import dp_accounting as dpa

    ev = _dpacc_sgm(_jitter(sigma, rep), q, steps)
    return dpa.rdp.RdpAccountant().compose(ev).get_epsilon(delta)


def dpacc_pld_eps(rep: int, sigma: float, q: float, steps: int, delta: float) -> float:
    """dp_accounting ``PLDAccountant`` with its defaults (interval 1e-4, pessimistic)."""
    import dp_accounting as dpa

    ev = _dpacc_sgm(_jitter(sigma, rep), q, steps)
    return dpa.pld.PLDAccountant().compose(ev).get_epsilon(delta)


def opacus_rdp_eps(rep: int, sigma: float, q: float, steps: int, delta: float) -> float:
    """Opacus ``RDPAccountant`` (DEFAULT_ALPHAS) with history ``[(σ, q, T)]``."""
    from opacus.accountants import RDPAccountant

    acc = RDPAccountant()
    acc.history = [(_jitter(sigma, rep), q, steps)]
    return acc.get_epsilon(delta)


def opacus_prv_eps(rep: int, sigma: float, q: float, steps: int, delta: float) -> float:
    """Opacus ``PRVAccountant`` (defaults; returns its upper bound)."""
    from opacus.accountants import PRVAccountant

    acc = PRVAccountant()
    acc.history = [(_jitter(sigma, rep), q, steps)]
    return acc.get_epsilon(delta)


def hetero_steps(n: int, rep: int = 0) -> list[tuple[float, float]]:
    """The N distinct steps ``(q_i, σ_i)`` with q_i = 0.01(1 + i/N), σ_i = 1 + 0.5 i/N."""
    return [(0.01 * (1 + i / n), _jitter(1.0 + 0.5 * i / n, rep)) for i in range(n)]


def dpkit_hetero(rep: int, n: int, delta: float) -> float:
    """dpkit: an ``Accountant`` composing each distinct event once."""
    from dpkit.accounting import Accountant, Gaussian, PoissonSampled

    acct = Accountant()
    for q, s in hetero_steps(n, rep):
        acct = acct.compose(PoissonSampled(Gaussian(s), q))
    return acct.epsilon(delta)


def _dpacc_hetero_event(n: int, rep: int) -> Any:
    """dp_accounting event: one ComposedDpEvent of the N distinct steps."""
    import dp_accounting as dpa

    return dpa.ComposedDpEvent(
        [dpa.PoissonSampledDpEvent(q, dpa.GaussianDpEvent(s)) for q, s in hetero_steps(n, rep)]
    )


def dpacc_rdp_hetero(rep: int, n: int, delta: float) -> float:
    """dp_accounting ``RdpAccountant`` on one ``ComposedDpEvent`` of the N steps."""
    import dp_accounting as dpa

    return dpa.rdp.RdpAccountant().compose(_dpacc_hetero_event(n, rep)).get_epsilon(delta)


def dpacc_pld_hetero(rep: int, n: int, delta: float) -> float:
    """dp_accounting ``PLDAccountant`` on one ``ComposedDpEvent`` of the N steps."""
    import dp_accounting as dpa

    return dpa.pld.PLDAccountant().compose(_dpacc_hetero_event(n, rep)).get_epsilon(delta)


def opacus_rdp_hetero(rep: int, n: int, delta: float) -> float:
    """Opacus ``RDPAccountant`` with a history of N ``(σ_i, q_i, 1)`` entries."""
    from opacus.accountants import RDPAccountant

    acc = RDPAccountant()
    acc.history = [(s, q, 1) for q, s in hetero_steps(n, rep)]
    return acc.get_epsilon(delta)


def opacus_prv_hetero(rep: int, n: int, delta: float) -> float:
    """Opacus ``PRVAccountant`` with a history of N ``(σ_i, q_i, 1)`` entries."""
    from opacus.accountants import PRVAccountant

    acc = PRVAccountant()
    acc.history = [(s, q, 1) for q, s in hetero_steps(n, rep)]
    return acc.get_epsilon(delta)


def dpkit_ledger(rep: int, n: int, delta: float) -> dict[str, Any]:
    """dpkit: seconds of each ledger operation on N distinct events Gaussian(σ_i),
    σ_i = 1 + i/N (a per-query ledger: every event's curve is cheap, so the times are the
    ledger's own), each composed once; and ε before and after a JSON round trip."""
    from dpkit.accounting import Accountant, Gaussian

    events = [Gaussian(_jitter(1.0 + i / n, rep)) for i in range(n)]
    out: dict[str, Any] = {}

    def timed(key: str, fn: Any) -> Any:
        t0 = time.perf_counter()
        value = fn()
        out[key] = time.perf_counter() - t0
        return value

    def loop() -> Any:
        acct = Accountant()
        for ev in events:
            acct = acct.compose(ev)
        return acct

    acct = timed("compose", loop)
    out["eps"] = timed("epsilon", lambda: acct.epsilon(delta))
    acct = None  # free its memory before the next accountant is built
    many = timed("compose_many", lambda: Accountant().compose_many((ev, 1) for ev in events))
    d = timed("to_dict", many.to_dict)
    many = None
    text = timed("json", lambda: json.dumps(d))
    back = timed("from_dict", lambda: Accountant.from_dict(json.loads(text)))
    out["eps_loaded"] = timed("epsilon_loaded", lambda: back.epsilon(delta))
    return out


def dpkit_calibrate(rep: int, target: float, delta: float, q: float, steps: int) -> float:
    """dpkit ``dpsgd.noise_multiplier`` (default rtol 1e-6); target perturbed per repetition."""
    from dpkit.accounting import dpsgd

    return dpsgd.noise_multiplier(_jitter(target, -rep), delta, q, steps)


def opacus_rdp_calibrate(rep: int, target: float, delta: float, q: float, steps: int) -> float:
    """Opacus ``get_noise_multiplier(accountant='rdp')`` (epsilon_tolerance 0.01)."""
    from opacus.accountants.utils import get_noise_multiplier

    return get_noise_multiplier(target_epsilon=_jitter(target, -rep), target_delta=delta,
                                sample_rate=q, steps=steps, accountant="rdp")


def opacus_prv_calibrate(rep: int, target: float, delta: float, q: float, steps: int) -> float:
    """Opacus ``get_noise_multiplier(accountant='prv')`` (epsilon_tolerance 0.01)."""
    from opacus.accountants.utils import get_noise_multiplier

    return get_noise_multiplier(target_epsilon=_jitter(target, -rep), target_delta=delta,
                                sample_rate=q, steps=steps, accountant="prv")


def dpacc_rdp_calibrate(rep: int, target: float, delta: float, q: float, steps: int) -> float:
    """dp_accounting ``calibrate_dp_mechanism`` with ``RdpAccountant``, tol=1e-3."""
    import dp_accounting as dpa

    return dpa.calibrate_dp_mechanism(
        dpa.rdp.RdpAccountant, lambda s: _dpacc_sgm(s, q, steps), _jitter(target, -rep), delta,
        tol=1e-3,
    )


# ----------------------------------------------------------------------- the benchmark driver
@dataclass(frozen=True)
class Tool:
    """One accountant under test; ``key`` prefixes its worker functions."""

    key: str
    label: str
    tight: bool  # PLD/PRV: cost grows with T; limited to small problems


TOOLS: tuple[Tool, ...] = (
    Tool("dpkit", "dpkit (RDP)", False),
    Tool("dpacc_rdp", "dpacc RdpAccountant", False),
    Tool("dpacc_pld", "dpacc PLDAccountant", True),
    Tool("opacus_rdp", "Opacus RDPAccountant", False),
    Tool("opacus_prv", "Opacus PRVAccountant", True),
)
DPKIT = TOOLS[0]


@dataclass(frozen=True)
class Config:
    """Run settings; :meth:`for_mode` gives the full and the ``--quick`` variants."""

    quick: bool
    reps: int  # timed repetitions of fast calls (median)
    cell_limit_s: float  # hard limit of one cell in sections 1 and 3
    long_limit_s: float  # hard limit of one cell in sections 2 and 4
    cell_budget_s: float  # stop repeating a slow call once this much time is spent
    steps_grid: tuple[int, ...]
    tight_steps_max: float  # PLD/PRV only up to this T in section 3
    hetero_ns: tuple[int, ...]
    anchor_hetero_max: int  # anchors only up to this N in section 4
    tight_hetero_max: int  # PLD/PRV only up to this N in section 4
    ledger_ns: tuple[int, ...] = (10**3, 10**4, 10**5)  # section 7
    targets: tuple[float, ...] = (1.0, 3.0, 8.0)
    cli_reps: int = 3  # fresh runs of the dpkit CLI (and of the interpreter floor)
    cold_anchor_reps: int = 3  # fresh runs of the anchors' cold-start one-liners

    @property
    def dpkit_reps(self) -> int:
        """dpkit calls are cheap: never fewer than 7 repetitions (sections 2-4)."""
        return max(self.reps, 7)

    @classmethod
    def for_mode(cls, quick: bool) -> Config:
        """Full run (< 15 min on 2 cores) or quick run (< 2 min)."""
        grid = (10**2, 10**3, 10**4, 10**5, 10**6, 10**7, 10**9)
        if quick:
            return cls(True, 3, 20.0, 60.0, 2.0, grid, 1e4, (10, 100, 1000), 100, 10,
                       cold_anchor_reps=1, ledger_ns=(10**3, 10**4))
        ledger = (10**3, 10**4, 10**5)
        if os.environ.get("DPKIT_BENCH_LEDGER_1E6", "") not in ("", "0"):
            ledger += (10**6,)
        return cls(False, 7, 20.0, 120.0, 8.0, grid, math.inf, (10, 100, 1000), 1000, 100,
                   ledger_ns=ledger)


@dataclass
class Report:
    """Tables collected during a run plus goal checks for the summary."""

    tables: list[Table] = field(default_factory=list)
    goals: list[tuple[str, str, str, str]] = field(default_factory=list)
    #: every measured cell, keyed by (section, tool or method key, parameter)
    cells: dict[tuple[str, str, Any], Outcome] = field(default_factory=dict)
    #: peak-RSS readings of section 6, keyed "library:T"
    rss: dict[str, Any] = field(default_factory=dict)

    def emit(self, table: Table) -> None:
        """Keep ``table`` and print it at once."""
        self.tables.append(table)
        print(table.text(), end="\n\n", flush=True)

    def goal(self, name: str, target: str, measured: str, met: bool | None) -> None:
        """Record one spec §c goal with its measured value."""
        verdict = "n/a" if met is None else ("yes" if met else "**no**")
        self.goals.append((name, target, measured, verdict))


def _cell_text(out: Outcome | None, digits: int = 6) -> tuple[str, str, str]:
    """(median time, runs, value) strings for a cell."""
    if out is None:
        return "—", "", ""
    if isinstance(out, Failure):
        return out.reason, "", ""
    return fmt_time(out.median), str(out.runs), fmt_num(out.value, digits)


def _ratio(anchor: Outcome | None, base: Outcome | None) -> float | None:
    """anchor median ÷ dpkit median, or None when either has no measurement."""
    if isinstance(anchor, Measurement) and isinstance(base, Measurement) and base.median > 0:
        return anchor.median / base.median
    return None


def _rel(value: Any, ref: Any) -> str:
    """Relative difference ``value/ref − 1`` as a signed string."""
    if not isinstance(value, float) or not isinstance(ref, float) or ref == 0:
        return ""
    if not (math.isfinite(value) and math.isfinite(ref)):
        return ""
    d = value / ref - 1.0
    return "0" if d == 0 else f"{d:+.2e}"


def _steps_label(t: int) -> str:
    """10**k as ``"1ek"``."""
    return f"1e{round(math.log10(t))}"


class _Runner:
    """Runs worker tasks with progress reporting."""

    def __init__(self, worker: Worker, progress: Progress) -> None:
        self.worker = worker
        self.progress = progress

    def cell(self, label: str, func: str, kwargs: dict[str, Any], *, reps: int, warmup: bool,
             prime: dict[str, Any] | None, budget_s: float, limit_s: float) -> Outcome:
        """Run one worker function of this module as a table cell."""
        self.progress.start(label)
        task = Task(f"{_MOD}:{func}", kwargs, reps=reps, warmup=warmup, prime=prime,
                    budget_s=budget_s)
        try:
            return self.worker.run(task, limit_s)
        finally:
            self.progress.done()

    def skip(self, reason: str) -> Failure:
        """A cell that is not run (still counted in the progress)."""
        self.progress.start(f"skip ({reason})")
        self.progress.done()
        return Failure(reason, "skipped")


# ------------------------------------------------------------------------------- sections
def section_single(cfg: Config, run: _Runner, rep: Report) -> None:
    """§1: time per ε at q=0.01, σ=1 for T=1e3, 1e4; ratios against dpkit."""
    q, sigma = 0.01, 1.0
    table = Table(
        f"1. Time per ε (median of {cfg.reps} warm runs), q={q}, σ={sigma}, δ={DELTA:g}",
        ["Tool", "T", "median", "runs", "ε", "ε ÷ dpkit ε − 1", "time ÷ dpkit"],
        ["every repetition uses a different σ·(1+1e-9·rep), for every tool; ε is from σ exactly",
         "ratio > 1: the anchor is slower than dpkit"],
    )
    for steps in (10**3, 10**4):
        kw = {"sigma": sigma, "q": q, "steps": steps, "delta": DELTA}
        base: Outcome | None = None
        for tool in TOOLS:
            out = run.cell(f"§1 {tool.label} T={_steps_label(steps)}", f"{tool.key}_eps", kw,
                           reps=cfg.reps, warmup=True, prime=None, budget_s=math.inf,
                           limit_s=cfg.long_limit_s)
            rep.cells[("single", tool.key, steps)] = out
            if tool is DPKIT:
                base = out
            t, n, v = _cell_text(out, 7)
            ref = base.value if isinstance(base, Measurement) else None
            val = out.value if isinstance(out, Measurement) else None
            table.add(tool.label, _steps_label(steps), t, n, v,
                      "" if tool is DPKIT else _rel(val, ref), fmt_ratio(_ratio(out, base)))
    rep.emit(table)


def section_calibration(cfg: Config, run: _Runner, rep: Report) -> None:
    """§2: σ for target ε ∈ {1, 3, 8} at q=0.01, T=1e4; checked by dpkit's ε."""
    from dpkit.accounting import dpsgd

    q, steps = 0.01, 10**4
    methods = [
        ("dpkit dpsgd.noise_multiplier", "dpkit_calibrate", cfg.dpkit_reps, True),
        ("Opacus get_noise_multiplier rdp", "opacus_rdp_calibrate", 3, True),
        ("Opacus get_noise_multiplier prv", "opacus_prv_calibrate", 1, False),
        ("dpacc calibrate_dp_mechanism RDP tol 1e-3", "dpacc_rdp_calibrate", 3, True),
    ]
    slow = {"opacus_prv_calibrate"}
    table = Table(
        f"2. Calibration of σ, q={q}, T=1e4, δ={DELTA:g}",
        ["Method", "target ε", "σ", "σ ÷ dpkit σ", "median", "runs", "ε at σ (dpkit)",
         "≤ target", "time ÷ dpkit"],
        ["runs: dpkit and the RDP anchors after a same-size warm-up; Opacus prv one run "
         "after a small priming call (T=100)",
         "ε at σ is recomputed with dpkit.accounting.dpsgd.epsilon (RDP), for every method; "
         "PRV calibrates with a tighter accountant, so its σ is smaller and its RDP ε is above "
         "the target by design",
         "σ ÷ dpkit σ > 1: more noise than dpkit for the same target"],
    )
    prime = {"target": 3.0, "delta": DELTA, "q": q, "steps": 100}
    for target in cfg.targets:
        kw = {"target": target, "delta": DELTA, "q": q, "steps": steps}
        base: Outcome | None = None
        for label, func, reps, warm in methods:
            if cfg.quick and func in slow and target != 3.0:
                out: Outcome = run.skip("skipped (--quick)")
            else:
                out = run.cell(f"§2 {label} ε={target:g}", func, kw, reps=reps, warmup=warm,
                               prime=prime, budget_s=math.inf, limit_s=cfg.long_limit_s)
            rep.cells[("calibration", func, target)] = out
            if func.startswith("dpkit"):
                base = out
            t, n, v = _cell_text(out, 6)
            eps_at = ok = ratio_sigma = ""
            if isinstance(out, Measurement):
                e = dpsgd.epsilon(out.value, q, steps, DELTA)
                if e <= target:
                    ok = "yes"
                else:
                    ok = "above (PRV is tighter)" if func in slow else "**NO**"
                eps_at = fmt_num(e, 7)
                if isinstance(base, Measurement) and base is not out:
                    ratio_sigma = f"{out.value / base.value:.5f}"
            table.add(label, f"{target:g}", v, ratio_sigma, t, n, eps_at, ok,
                      fmt_ratio(_ratio(out, base)) if base is not out else "1.00×")
    rep.emit(table)


def section_steps(cfg: Config, run: _Runner, rep: Report) -> None:
    """§3: cost against T at q=0.001, σ=1; PLD/PRV dropped after their first failure."""
    q, sigma = 0.001, 1.0
    table = Table(
        f"3. Cost against steps T, q={q}, σ={sigma}, δ={DELTA:g}",
        ["T", "Tool", "median", "runs", "ε", "time ÷ dpkit"],
        ["dpkit gets at least 7 repetitions (it is cheap); the anchors as below",
         f"per-cell limit {cfg.cell_limit_s:g} s and 9 GiB address space; after a timeout or "
         "MemoryError the tool is skipped for larger T",
         f"median of up to {cfg.reps} runs (fewer when a call is slow: repetitions stop after "
         f"~{cfg.cell_budget_s:g} s); PLD/PRV at T > 1e4 get no same-size warm-up "
         "(primed at T=100)"],
    )
    dead: dict[str, str] = {}
    for steps in cfg.steps_grid:
        kw = {"sigma": sigma, "q": q, "steps": steps, "delta": DELTA}
        base: Outcome | None = None
        for tool in TOOLS:
            label = f"§3 {tool.label} T={_steps_label(steps)}"
            if tool.tight and steps > cfg.tight_steps_max:
                out: Outcome = run.skip("skipped (--quick)")
            elif tool.key in dead:
                out = run.skip(dead[tool.key])
            else:
                warm = not (tool.tight and steps > 10**4)
                prime = {"sigma": sigma, "q": q, "steps": 100, "delta": DELTA}
                reps, budget = ((cfg.dpkit_reps, math.inf) if tool is DPKIT
                                else (cfg.reps, cfg.cell_budget_s))
                out = run.cell(label, f"{tool.key}_eps", kw, reps=reps, warmup=warm,
                               prime=prime, budget_s=budget,
                               limit_s=cfg.cell_limit_s)
                if isinstance(out, Failure) and out.kind in ("timeout", "memory", "crash"):
                    dead[tool.key] = f"skipped (failed at T={_steps_label(steps)})"
            rep.cells[("steps", tool.key, steps)] = out
            if tool is DPKIT:
                base = out
            t, n, v = _cell_text(out, 6)
            table.add(_steps_label(steps), tool.label, t, n, v, fmt_ratio(_ratio(out, base)))
    sweep = run.cell("§3 dpkit interleaved sweep", "dpkit_steps_sweep",
                     {"steps_grid": list(cfg.steps_grid), "rounds": 15, "q": q, "sigma": sigma},
                     reps=1, warmup=True, prime=None, budget_s=math.inf,
                     limit_s=cfg.long_limit_s)
    rep.cells[("steps", "dpkit_sweep", None)] = sweep
    if isinstance(sweep, Measurement):
        med = sweep.value
        table.notes.append(
            "dpkit interleaved sweep (15 rounds over all T, same process, so load drifts hit "
            "every T alike): medians " + ", ".join(
                f"{_steps_label(t)}: {fmt_time(m)}" for t, m in zip(cfg.steps_grid, med,
                                                                    strict=True)))
    rep.emit(table)


def section_hetero(cfg: Config, run: _Runner, rep: Report) -> None:
    """§4: N distinct (q_i, σ_i) steps, each composed once."""
    spec_n1000 = {"dpacc_pld": "199 s", "opacus_prv": "62 s"}
    table = Table(
        f"4. Heterogeneous composition, N distinct steps, q_i=0.01(1+i/N), σ_i=1+0.5i/N, "
        f"δ={DELTA:g}",
        ["N", "Tool", "median", "runs", "ε", "ε ÷ dpkit ε − 1", "time ÷ dpkit"],
        ["dpkit: Accountant().compose(event) once per step; dpacc: one ComposedDpEvent; "
         "Opacus: history of N (σ_i, q_i, 1)",
         "dpkit gets at least 7 repetitions after a same-size warm-up",
         f"anchors at N ≥ 100 get no same-size warm-up (primed at N=2); repetitions stop after "
         f"~{cfg.cell_budget_s:g} s"],
    )
    for n in cfg.hetero_ns:
        kw = {"n": n, "delta": DELTA}
        base: Outcome | None = None
        for tool in TOOLS:
            label = f"§4 {tool.label} N={n}"
            if tool is not DPKIT and n > cfg.anchor_hetero_max:
                out: Outcome = run.skip("skipped (--quick)")
            elif tool.tight and n > cfg.tight_hetero_max:
                why = f"spec: {spec_n1000[tool.key]}" if n >= 1000 else "--quick"
                out = run.skip(f"skipped ({why})")
            else:
                warm = tool is DPKIT or n <= 10
                reps, budget = ((cfg.dpkit_reps, math.inf) if tool is DPKIT
                                else (cfg.reps, cfg.cell_budget_s))
                out = run.cell(label, f"{tool.key}_hetero", kw, reps=reps, warmup=warm,
                               prime={"n": 2, "delta": DELTA}, budget_s=budget,
                               limit_s=cfg.long_limit_s)
            rep.cells[("hetero", tool.key, n)] = out
            if tool is DPKIT:
                base = out
            t, nr, v = _cell_text(out, 6)
            ref = base.value if isinstance(base, Measurement) else None
            val = out.value if isinstance(out, Measurement) else None
            table.add(str(n), tool.label, t, nr, v, "" if tool is DPKIT else _rel(val, ref),
                      fmt_ratio(_ratio(out, base)))
    rep.emit(table)


def section_ledger(cfg: Config, run: _Runner, rep: Report) -> None:
    """§7: every ledger operation against the number N of distinct events (issue 14)."""
    keys = ["compose", "compose_many", "epsilon", "to_dict", "json", "from_dict",
            "epsilon_loaded"]
    table = Table(
        f"7. Ledger length: N distinct events Gaussian(σ_i), σ_i = 1 + i/N, δ={DELTA:g}",
        ["N", "compose ×N", "compose_many", "ε (first query)", "to_dict", "json.dumps",
         "from_dict (json.loads + parse)", "ε after load", "compose µs/event", "ε"],
        ["one run per N in a fresh worker call; compose ×N: acct = acct.compose(e) in a loop",
         "before issue 14 compose and from_dict were O(N²): 10k events 2.0 s, 50k 58.5 s",
         "ε after load equals ε (checked); N = 1e6 runs with DPKIT_BENCH_LEDGER_1E6=1"],
    )
    for n in cfg.ledger_ns:
        out = run.cell(f"§7 ledger N={n}", "dpkit_ledger", {"n": n, "delta": DELTA}, reps=1,
                       warmup=False, prime={"n": 10, "delta": DELTA}, budget_s=math.inf,
                       limit_s=max(cfg.long_limit_s, 600.0))
        rep.cells[("ledger", "dpkit", n)] = out
        if not isinstance(out, Measurement):
            table.add(f"{n:,}", out.reason if out else "—", *[""] * 8)
            continue
        v = out.value
        same = "" if v["eps_loaded"] == v["eps"] else " (differs after load!)"
        table.add(f"{n:,}", *[fmt_time(v[k]) for k in keys],
                  f"{v['compose'] / n * 1e6:.1f}", fmt_num(v["eps"], 6) + same)
    rep.emit(table)


def _venv_bin(name: str) -> Path:
    """A console script next to the running interpreter (the venv's bin/)."""
    return Path(sys.executable).parent / name


_COLD_SNIPPETS = {
    "dpkit library (import + dpsgd.epsilon)":
        "from dpkit.accounting import dpsgd; print(dpsgd.epsilon(1.0, 0.01, 1000, 1e-5))",
    "dpacc RdpAccountant (import + ε)":
        "import dp_accounting as d; e = d.SelfComposedDpEvent(d.PoissonSampledDpEvent(0.01, "
        "d.GaussianDpEvent(1.0)), 1000); print(d.rdp.RdpAccountant().compose(e)"
        ".get_epsilon(1e-5))",
    "Opacus RDPAccountant (import + ε)":
        "import warnings; warnings.simplefilter('ignore'); "
        "from opacus.accountants import RDPAccountant; a = RDPAccountant(); "
        "a.history = [(1.0, 0.01, 1000)]; print(a.get_epsilon(1e-5))",
}

CLI_ARGS = ["epsilon", "--noise-multiplier", "1", "--sample-rate", "0.01", "--steps", "1000",
            "--delta", "1e-5"]


def section_cli(cfg: Config, progress: Progress, rep: Report) -> None:
    """§5: cold start of the dpkit CLI and of equivalent one-liners, fresh process each."""
    py = sys.executable
    cli = _venv_bin("dpkit")
    rows: list[tuple[str, list[str], int]] = [
        ("python -c pass (interpreter floor)", [py, "-c", "pass"], cfg.cli_reps),
        ("dpkit " + " ".join(CLI_ARGS), [str(cli), *CLI_ARGS], cfg.cli_reps),
    ]
    rows += [(label, [py, "-c", code], cfg.cold_anchor_reps)
             for label, code in _COLD_SNIPPETS.items()]
    table = Table(
        "5. Cold start, fresh process (median of fresh runs after one untimed run)",
        ["Command", "median", "runs", "output (first line)", "time ÷ dpkit CLI"],
        [f"dpkit CLI: {cli}", "the one-liners show each library's own import + first ε cost"],
    )
    results: list[tuple[str, Outcome, str]] = []
    for label, argv, reps in rows:
        progress.start(f"§5 {label[:40]}")
        if argv[0] == str(cli) and not cli.exists():
            out: Outcome = Failure("not available (no dpkit console script)", "error")
            first = ""
        else:
            out, first = time_command(argv, reps=reps, timeout=60.0)
        results.append((label, out, first))
        progress.done()
    base = results[1][1]
    rep.cells[("cli", "dpkit", None)] = base
    for label, out, first in results:
        t, n, _ = _cell_text(out)
        head = first.splitlines()[0][:48] if first else ""
        table.add(label, t, n, head, "1.00×" if out is base else fmt_ratio(_ratio(out, base)))
    rep.emit(table)


_RSS_SNIPPET = """
import json, resource, sys
mod = sys.argv[1]
if mod == "dpkit":
    from dpkit.accounting import dpsgd
else:
    import dp_accounting as dpa
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
steps = int(float(sys.argv[2]))
if mod == "dpkit":
    eps = dpsgd.epsilon(1.0, 0.001, steps, 1e-5)
else:
    ev = dpa.SelfComposedDpEvent(dpa.PoissonSampledDpEvent(0.001, dpa.GaussianDpEvent(1.0)), steps)
    eps = dpa.rdp.RdpAccountant().compose(ev).get_epsilon(1e-5)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"base": base, "peak": peak, "eps": eps}))
"""


def section_memory(cfg: Config, progress: Progress, rep: Report) -> None:
    """§6: peak RSS of one ε in a fresh process, T=1e2 against T=1e9 (q=0.001, σ=1)."""
    from ._timing import run_command

    table = Table(
        "6. Peak RSS of one ε in a fresh process (q=0.001, σ=1, δ=1e-5)",
        ["Library", "T", "peak RSS after imports", "peak RSS after ε", "growth from ε", "ε"],
        ["resource.getrusage(RUSAGE_SELF).ru_maxrss before and after the call"],
    )
    for mod, label in (("dpkit", "dpkit"), ("dpacc", "dpacc RdpAccountant")):
        for steps in (10**2, 10**9):
            progress.start(f"§6 {label} T={_steps_label(steps)}")
            res = run_command([sys.executable, "-c", _RSS_SNIPPET, mod, str(steps)], timeout=120)
            progress.done()
            if isinstance(res, Failure) or res.returncode != 0:
                why = res.reason if isinstance(res, Failure) else f"exit {res.returncode}"
                table.add(label, _steps_label(steps), why, "", "", "")
                continue
            d = json.loads(res.stdout.strip().splitlines()[-1])
            rep.rss[f"{mod}:{steps}"] = d
            table.add(label, _steps_label(steps), fmt_mib(d["base"]), fmt_mib(d["peak"]),
                      fmt_mib(d["peak"] - d["base"]), fmt_num(d["eps"], 6))
    rep.emit(table)


# ------------------------------------------------------------------------------ goals, main
def _meas(rep: Report, *key: Any) -> Measurement | None:
    """The measurement stored under ``key``, or None (missing or failed)."""
    out = rep.cells.get(key)
    return out if isinstance(out, Measurement) else None


def _goals(cfg: Config, rep: Report) -> Table:
    """Compare dpkit's numbers with the spec §c goals (RDP path)."""
    pairs: list[tuple[Measurement, Measurement]] = []
    for t in (10**3, 10**4):
        d, o = _meas(rep, "single", "dpkit", t), _meas(rep, "single", "opacus_rdp", t)
        if d and o:
            pairs.append((d, o))
    if len(pairs) == 2:
        worst = max(d.median for d, _ in pairs)
        speed = [o.median / d.median for d, o in pairs]
        rel = max(abs(d.value / o.value - 1) for d, o in pairs)
        name = "ε by RDP, one DP-SGD configuration (q=0.01, T=1e3 and 1e4)"
        rep.goal(name, "≤ 1.2 ms and ≥ 10× faster than Opacus rdp (spec)",
                 f"{fmt_time(worst)}; {min(speed):.0f}–{max(speed):.0f}× faster",
                 worst <= 1.2e-3 and min(speed) >= 10)
        rep.goal(name, "≤ 1 ms (brief)", fmt_time(worst), worst <= 1e-3)
        rep.goal("same ε as Opacus rdp", "≤ 1e-6 relative", f"{rel:.1e}", rel <= 1e-6)
    sweep = _meas(rep, "steps", "dpkit_sweep", None)
    cells = [_meas(rep, "steps", "dpkit", t) for t in cfg.steps_grid]
    if sweep is not None:
        spread = max(sweep.value) / min(sweep.value)
        per_cell = [c.median for c in cells if c]
        extra = (f" (separate cells: {fmt_time(min(per_cell))}–{fmt_time(max(per_cell))})"
                 if per_cell else "")
        # The work per query depends on where the optimal order lies (one more round of
        # fractional orders once it moves below α = 11, i.e. at large ε), never on T itself:
        # so the check is "no growth", i.e. T = 1e9 costs at most 2× T = 1e2, and max/min ≤ 3.
        growth = sweep.value[-1] / sweep.value[0]
        rep.goal("Cost independent of steps (T=1e2…1e9, interleaved sweep)",
                 "no growth with T: T=1e9 ≤ 2× T=1e2, max/min ≤ 3",
                 f"{fmt_time(min(sweep.value))}–{fmt_time(max(sweep.value))}, "
                 f"max/min {spread:.2f}×, T=1e9 ÷ T=1e2 {growth:.2f}×{extra}",
                 spread <= 3 and growth <= 2)
    cal = {t: c for t in cfg.targets if (c := _meas(rep, "calibration", "dpkit_calibrate", t))}
    if len(cal) == len(cfg.targets):
        worst = max(c.median for c in cal.values())
        ok = all(_dpkit_eps(c.value, 0.01, 10**4) <= t for t, c in cal.items())
        meas = f"{fmt_time(worst)} (worst of ε=1, 3, 8); ε(σ) ≤ target: {'yes' if ok else 'NO'}"
        rep.goal("σ calibration, RDP", "≤ 50 ms (spec), ε(σ) ≤ target", meas,
                 worst <= 50e-3 and ok)
        rep.goal("σ calibration, RDP", "≤ 10 ms (brief)", fmt_time(worst), worst <= 10e-3)
    h, o = _meas(rep, "hetero", "dpkit", 1000), _meas(rep, "hetero", "opacus_rdp", 1000)
    if h:
        vs = f"; {o.median / h.median:.1f}× faster than Opacus rdp" if o else ""
        rep.goal("1000 distinct (q, σ) steps, RDP path", "≤ 0.5 s (≥ 20× faster than anchors)",
                 fmt_time(h.median) + vs, h.median <= 0.5)
    cli = rep.cells.get(("cli", "dpkit", None))
    if isinstance(cli, Measurement):
        rep.goal("CLI ε, cold process", "< 1 s", fmt_time(cli.median), cli.median < 1.0)
    else:
        rep.goal("CLI ε, cold process", "< 1 s", cli.reason if cli else "not run", False)
    led = {n: m for n in cfg.ledger_ns if (m := _meas(rep, "ledger", "dpkit", n))}
    if len(led) >= 2:
        lo, hi = min(led), max(led)
        per = {k: led[hi].value[k] / led[lo].value[k] * lo / hi
               for k in ("compose", "compose_many", "epsilon", "to_dict", "from_dict")}
        worst = max(per, key=per.get)  # type: ignore[arg-type]
        rep.goal(f"Ledger operations linear in N distinct events (N={lo:,}→{hi:,})",
                 "time per event at most 3× the smallest N's (issue 14)",
                 f"worst: {worst} {per[worst]:.2f}×; compose ×{hi:,}: "
                 f"{fmt_time(led[hi].value['compose'])}", per[worst] <= 3.0)
    a, b = rep.rss.get("dpkit:100"), rep.rss.get(f"dpkit:{10**9}")
    if a and b:
        grow = (b["peak"] - b["base"]) - (a["peak"] - a["base"])
        rep.goal("Memory does not grow with T (1e9 vs 1e2)", "no growth",
                 f"peak {fmt_mib(b['peak'])} vs {fmt_mib(a['peak'])}", grow <= 1024)
    rep.goal("Tight (PLD/PRV-class) ε paths", "≤ 70 ms at T=1e4, < 5 s at T=1e6",
             "dpkit has no tight path yet", None)
    table = Table("Goals (spec §c) — dpkit", ["Goal", "target", "dpkit measured", "met"])
    for g in rep.goals:
        table.add(*g)
    return table


def _dpkit_eps(sigma: float, q: float, steps: int) -> float:
    """dpkit's ε at δ=1e-5 (used to check calibrated σ)."""
    from dpkit.accounting import dpsgd

    return dpsgd.epsilon(sigma, q, steps, DELTA)


def run(quick: bool = False, out_dir: Path = OUT_DIR, argv: Sequence[str] | None = None) -> Path:
    """Run every section; print tables; write ``out_dir/accounting.md``. Returns that path."""
    cfg = Config.for_mode(quick)
    info = machine_info()
    t0 = time.perf_counter()
    rep = Report()
    n_cells = (2 * len(TOOLS) + 4 * len(cfg.targets) + len(cfg.steps_grid) * len(TOOLS)
               + 1 + len(cfg.hetero_ns) * len(TOOLS) + len(cfg.ledger_ns) + 5 + 4)
    progress = Progress(n_cells, "accounting")
    preload = ["numpy", "scipy.special", "scipy.optimize", "dpkit.accounting", "dp_accounting",
               "opacus.accountants", "opacus.accountants.utils"]
    try:
        with Worker(preload) as worker:
            runner = _Runner(worker, progress)
            section_single(cfg, runner, rep)
            section_calibration(cfg, runner, rep)
            section_steps(cfg, runner, rep)
            section_hetero(cfg, runner, rep)
            section_ledger(cfg, runner, rep)
            restarts = worker.restarts
        section_cli(cfg, progress, rep)
        section_memory(cfg, progress, rep)
    finally:
        progress.close()
    goals = _goals(cfg, rep)
    print(goals.text(), flush=True)
    elapsed = time.perf_counter() - t0
    command = "python -m benchmarks" + (" --quick" if quick else "") if argv is None else (
        " ".join(shlex.quote(a) for a in argv))
    print(f"\naccounting benchmark: {elapsed:.0f} s wall, {restarts} worker restart(s)",
          flush=True)
    load_end = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    md = [
        "# dpkit accounting benchmark",
        "",
        machine_markdown(info),
        f"- **command**: `{command}`",
        f"- **mode**: {'quick' if quick else 'full'}; wall time {elapsed:.0f} s; "
        f"{restarts} worker restart(s) (after timeouts / MemoryError)",
        f"- **load average at end (1/5/15 min)**: {load_end}",
        "",
        "Anchors use their default settings (spec accounting.md §b). Every call runs in a "
        "worker subprocess with a time limit and a 9 GiB RLIMIT_AS; times are in-process "
        "time.perf_counter after imports.",
        "",
    ]
    md += [t.markdown() + "\n" for t in [*rep.tables, goals]]
    path = write_markdown(out_dir, "accounting", md)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: ``python -m benchmarks.accounting [--quick] [--out DIR]``."""
    return module_main("accounting", __doc__ or "", run, argv, OUT_DIR,
                       "fewer repetitions, no slow anchors")


if __name__ == "__main__":
    raise SystemExit(main())
