"""Opacus adapter benchmark: dpkit's calibration and accountant against Opacus's, one run.

Sections:

1. σ calibration for target ε ∈ {1, 3, 8} at q = 0.01, T = 1e4, δ = 1e-5: dpkit
   ``dpsgd.noise_multiplier`` (what ``make_private_with_epsilon`` calls; relative tolerance
   1e-6) against Opacus ``get_noise_multiplier`` (ε tolerance 0.01) with accountant ``rdp``,
   ``prv`` and — through Opacus's registry — ``dpkit``. Every σ is checked with dpkit's ε.
2. Per-step accountant overhead over 1 000 DP-SGD steps of one (σ, q) = (1.0, 0.01): with ε
   queried after every step (``step`` + ``get_epsilon``), and with ε queried once at the end,
   for ``DpkitAccountant``, Opacus ``RDPAccountant`` and ``PRVAccountant``. The PRV
   accountant's per-step query costs tens of ms, so by default it is timed for the first
   100 steps and at sampled step counts after that, and the 1 000-step total is extrapolated
   (linear interpolation of the per-step cost between the samples); the table says so.

Every call runs in a :class:`~benchmarks._timing.Worker` subprocess (imports done before any
timing, a time limit and a 9 GiB address-space cap per cell). Repetitions perturb σ or the
target by 1e-9 relative so no cache can help. Run with ``python -m benchmarks.opacus``
(``--quick`` for a short run); tables go to stdout and to ``benchmarks/out/opacus.md``.
"""

from __future__ import annotations

import math
import shlex
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import OUT_DIR
from ._report import (
    Progress,
    Table,
    fmt_num,
    fmt_ratio,
    fmt_time,
    machine_info,
    machine_markdown,
    module_main,
    write_markdown,
)
from ._timing import Failure, Measurement, Outcome, Task, Worker

__all__ = ["Config", "run", "main"]

DELTA = 1e-5
_MOD = "benchmarks.opacus"  # where the worker finds the functions below


# ----------------------------------------------------------------- functions run in the worker
def _jitter(x: float, rep: int) -> float:
    return x * (1.0 + 1e-9 * rep)


def _quiet() -> None:
    warnings.filterwarnings("ignore", message="Optimal order is the")


def dpkit_calibrate(rep: int, target: float, q: float, steps: int) -> float:
    """dpkit ``dpsgd.noise_multiplier`` (rtol 1e-6)."""
    from dpkit.accounting import dpsgd

    return dpsgd.noise_multiplier(_jitter(target, -rep), DELTA, q, steps)


def _opacus_calibrate(accountant: str, rep: int, target: float, q: float, steps: int) -> float:
    from opacus.accountants.utils import get_noise_multiplier

    _quiet()
    return get_noise_multiplier(target_epsilon=_jitter(target, -rep), target_delta=DELTA,
                                sample_rate=q, steps=steps, accountant=accountant)


def opacus_rdp_calibrate(rep: int, target: float, q: float, steps: int) -> float:
    """Opacus ``get_noise_multiplier(accountant='rdp')`` (ε tolerance 0.01)."""
    return _opacus_calibrate("rdp", rep, target, q, steps)


def opacus_prv_calibrate(rep: int, target: float, q: float, steps: int) -> float:
    """Opacus ``get_noise_multiplier(accountant='prv')`` (ε tolerance 0.01)."""
    return _opacus_calibrate("prv", rep, target, q, steps)


def opacus_dpkit_calibrate(rep: int, target: float, q: float, steps: int) -> float:
    """Opacus's bisection ``get_noise_multiplier(accountant='dpkit')`` over dpkit's ε."""
    import dpkit.integrations.opacus  # noqa: F401 - registers "dpkit"

    return _opacus_calibrate("dpkit", rep, target, q, steps)


def calibrate_interleaved(rep: int, target: float, q: float, steps: int,
                          rounds: int) -> list[float]:
    """[dpkit median s, Opacus rdp median s]: the two calibrations alternate in one process,
    so a load drift on the shared machine hits both alike."""
    import statistics

    times: list[list[float]] = [[], []]
    for r in range(rounds):
        for i, func in enumerate((dpkit_calibrate, opacus_rdp_calibrate)):
            t0 = time.perf_counter()
            func(rep * rounds + r, target, q, steps)
            times[i].append(time.perf_counter() - t0)
    return [statistics.median(t) for t in times]


def _accountant(kind: str) -> Any:
    if kind == "dpkit":
        from dpkit.integrations.opacus import DpkitAccountant

        return DpkitAccountant()
    from opacus.accountants import PRVAccountant, RDPAccountant

    return {"rdp": RDPAccountant, "prv": PRVAccountant}[kind]()


def steps_query_each(rep: int, kind: str, sigma: float, q: float, steps: int,
                     start: int = 0) -> float:
    """``steps`` × (``step`` + ``get_epsilon``), after ``start`` steps already recorded."""
    _quiet()
    s = _jitter(sigma, rep)
    acct = _accountant(kind)
    if start:
        acct.history = [(s, q, start)]
    eps = math.nan
    for _ in range(steps):
        acct.step(noise_multiplier=s, sample_rate=q)
        eps = acct.get_epsilon(DELTA)
    return eps


def steps_query_once(rep: int, kind: str, sigma: float, q: float, steps: int) -> float:
    """``steps`` × ``step``, then one ``get_epsilon``."""
    _quiet()
    s = _jitter(sigma, rep)
    acct = _accountant(kind)
    for _ in range(steps):
        acct.step(noise_multiplier=s, sample_rate=q)
    return acct.get_epsilon(DELTA)


# ----------------------------------------------------------------------- the benchmark driver
@dataclass(frozen=True)
class Config:
    """Run settings; :meth:`for_mode` gives the full and the ``--quick`` variants."""

    quick: bool
    reps: int  # timed repetitions of fast calls (median)
    anchor_reps: int  # repetitions of Opacus rdp calls
    limit_s: float  # hard limit of one cell
    steps: int = 1000
    prv_head: int = 100  # PRV: steps timed consecutively from the start
    prv_samples: tuple[int, ...] = (250, 500, 750, 1000)  # then one step+query at these counts
    targets: tuple[float, ...] = (1.0, 3.0, 8.0)

    @classmethod
    def for_mode(cls, quick: bool) -> Config:
        """Full run (about 3 min on 2 cores) or quick run (about 1.5 min)."""
        if quick:
            return cls(True, 3, 1, 120.0, prv_head=20, prv_samples=(500, 1000))
        return cls(False, 7, 3, 300.0)


def _cell(worker: Worker, progress: Progress, label: str, func: str, kwargs: dict[str, Any],
          *, reps: int, warmup: bool, limit_s: float,
          prime: dict[str, Any] | None = None) -> Outcome:
    progress.start(label)
    try:
        return worker.run(Task(f"{_MOD}:{func}", kwargs, reps=reps, warmup=warmup,
                               prime=prime), limit_s)
    finally:
        progress.done()


def _ratio(anchor: Outcome | float | None, base: Outcome | float | None) -> float | None:
    a = anchor.median if isinstance(anchor, Measurement) else anchor
    b = base.median if isinstance(base, Measurement) else base
    if isinstance(a, float) and isinstance(b, float) and b > 0:
        return a / b
    return None


def section_calibration(cfg: Config, worker: Worker, progress: Progress
                        ) -> tuple[Table, Table, dict[str, list[float]]]:
    """§1: σ for each target; time and ratio against dpkit; ε at σ checked by dpkit."""
    from dpkit.accounting import dpsgd

    q, steps = 0.01, 10**4
    methods = [
        ("dpkit dpsgd.noise_multiplier", "dpkit_calibrate", cfg.reps, True),
        ("Opacus get_noise_multiplier rdp", "opacus_rdp_calibrate", cfg.anchor_reps, True),
        ("Opacus get_noise_multiplier prv", "opacus_prv_calibrate", 1, False),
        ("Opacus get_noise_multiplier 'dpkit'", "opacus_dpkit_calibrate", cfg.anchor_reps, True),
    ]
    table = Table(
        f"1. Calibration of σ, q={q}, T=1e4, δ={DELTA:g}",
        ["Method", "target ε", "σ", "ε at σ (dpkit)", "≤ target", "median", "runs",
         "time ÷ dpkit"],
        ["dpkit: relative tolerance 1e-6 on σ, never above the target; Opacus: ε tolerance "
         "0.01 (its default), bisection from σ ∈ [0, 20]",
         "Opacus prv: one run after a small priming call (T=100); the others after a "
         "same-size warm-up",
         "'dpkit' row: Opacus's own bisection with the DpkitAccountant from its registry",
         "ε at σ is recomputed with dpkit.accounting.dpsgd.epsilon (RDP) for every method; "
         "a σ from the prv accountant is calibrated to the PRV ε, so its RDP ε may exceed the "
         "target"],
    )
    prime = {"target": 3.0, "q": q, "steps": 100}
    ratios: dict[str, list[float]] = {}
    for target in cfg.targets:
        kw = {"target": target, "q": q, "steps": steps}
        base: Outcome | None = None
        for label, func, reps, warm in methods:
            out = _cell(worker, progress, f"§1 {label} ε={target:g}", func, kw, reps=reps,
                        warmup=warm, prime=prime, limit_s=cfg.limit_s)
            if func == "dpkit_calibrate":
                base = out
            if isinstance(out, Failure):
                table.add(label, f"{target:g}", out.reason, "", "", "", "", "")
                continue
            e = dpsgd.epsilon(out.value, q, steps, DELTA)
            r = _ratio(out, base)
            if r is not None and out is not base:
                ratios.setdefault(func, []).append(r)
            table.add(label, f"{target:g}", fmt_num(out.value, 6), fmt_num(e, 6),
                      "yes" if e <= target else "no", fmt_time(out.median), str(out.runs),
                      "1.00×" if out is base else fmt_ratio(r))
    inter = Table(
        f"1b. Calibration, dpkit and Opacus rdp interleaved in one process, q={q}, T=1e4",
        ["target ε", "dpkit median", "Opacus rdp median", "Opacus rdp ÷ dpkit", "rounds"],
        ["each round runs dpkit's calibration, then Opacus's, in the same worker: load drifts "
         "on the shared VM hit both alike, so this ratio is the more reliable one"],
    )
    rounds = 3 if cfg.quick else 7
    for target in cfg.targets:
        out = _cell(worker, progress, f"§1b interleaved ε={target:g}", "calibrate_interleaved",
                    {"target": target, "q": q, "steps": steps, "rounds": rounds}, reps=1,
                    warmup=True, prime=prime | {"rounds": 1}, limit_s=cfg.limit_s)
        if isinstance(out, Failure):
            inter.add(f"{target:g}", out.reason, "", "", "")
            continue
        d, o = out.value
        ratios.setdefault("interleaved", []).append(o / d)
        inter.add(f"{target:g}", fmt_time(d), fmt_time(o), fmt_ratio(o / d), str(rounds))
    return table, inter, ratios


def _prv_extrapolated(cfg: Config, worker: Worker, progress: Progress, kw: dict[str, Any]
                      ) -> tuple[float | None, str, float | None]:
    """(estimated seconds for cfg.steps step+query, how it was obtained, final ε)."""
    head = _cell(worker, progress, f"§2 PRV first {cfg.prv_head} steps", "steps_query_each",
                 {**kw, "steps": cfg.prv_head}, reps=1, warmup=False, limit_s=cfg.limit_s,
                 prime={**kw, "steps": 1})
    if not isinstance(head, Measurement):
        return None, head.reason if isinstance(head, Failure) else "failed", None
    points = [(float(cfg.prv_head), head.median / cfg.prv_head)]
    eps = None
    for k in cfg.prv_samples:
        out = _cell(worker, progress, f"§2 PRV step {k}", "steps_query_each",
                    {**kw, "steps": 1, "start": k - 1}, reps=3, warmup=False,
                    limit_s=cfg.limit_s)
        if not isinstance(out, Measurement):
            return None, out.reason if isinstance(out, Failure) else "failed", None
        points.append((float(k), out.median))
        eps = out.value
    total = head.median
    for (k0, c0), (k1, c1) in zip(points, points[1:], strict=False):
        total += (k1 - k0) * (c0 + c1) / 2.0  # trapezoid over the per-step cost
    how = (f"extrapolated: first {cfg.prv_head} steps timed, then one step+query timed at "
           f"{', '.join(str(k) for k in cfg.prv_samples)} recorded steps")
    return total, how, eps


def section_per_step(cfg: Config, worker: Worker, progress: Progress
                     ) -> tuple[Table, dict[str, tuple[float | None, float | None]]]:
    """§2: per-step overhead, ε queried every step and once at the end."""
    sigma, q, n = 1.0, 0.01, cfg.steps
    kw = {"sigma": sigma, "q": q}
    table = Table(
        f"2. Accountant overhead over {n} steps of (σ, q) = ({sigma}, {q}), δ={DELTA:g}",
        ["Accountant", f"{n} × (step + ε)", "per step", "÷ dpkit", f"{n} × step, ε once",
         "÷ dpkit", "ε after", "how"],
        ["ε after: the value after the last step (PRV: its own, tighter, estimate)",
         "PRV's query costs tens of ms, so its every-step total is extrapolated (see 'how'); "
         "its ε-once column is measured"],
    )
    rows: dict[str, tuple[float | None, float | None]] = {}
    base_each: float | None = None
    base_once: float | None = None
    for kind, label in (("dpkit", "DpkitAccountant"), ("rdp", "Opacus RDPAccountant"),
                        ("prv", "Opacus PRVAccountant")):
        once = _cell(worker, progress, f"§2 {label} ε once", "steps_query_once",
                     {**kw, "kind": kind, "steps": n}, reps=cfg.reps if kind != "prv" else 3,
                     warmup=True, limit_s=cfg.limit_s, prime={**kw, "kind": kind, "steps": 1})
        t_once = once.median if isinstance(once, Measurement) else None
        how = "measured"
        if kind == "prv":
            t_each, how, eps = _prv_extrapolated(cfg, worker, progress, {**kw, "kind": kind})
        else:
            reps = cfg.reps if kind == "dpkit" else cfg.anchor_reps
            each = _cell(worker, progress, f"§2 {label} ε every step", "steps_query_each",
                         {**kw, "kind": kind, "steps": n}, reps=reps, warmup=kind == "dpkit",
                         limit_s=cfg.limit_s, prime={**kw, "kind": kind, "steps": 1})
            t_each = each.median if isinstance(each, Measurement) else None
            eps = each.value if isinstance(each, Measurement) else None
            if isinstance(each, Failure):
                how = each.reason
            else:
                how = f"measured, median of {each.runs}"
        if kind == "dpkit":
            base_each, base_once = t_each, t_once
        rows[kind] = (t_each, t_once)
        table.add(label,
                  fmt_time(t_each) if t_each is not None else "—",
                  fmt_time(t_each / n) if t_each is not None else "—",
                  "1.00×" if kind == "dpkit" else fmt_ratio(_ratio(t_each, base_each)),
                  fmt_time(t_once) if t_once is not None else (
                      once.reason if isinstance(once, Failure) else "—"),
                  "1.00×" if kind == "dpkit" else fmt_ratio(_ratio(t_once, base_once)),
                  fmt_num(eps, 6) if eps is not None else "—", how)
    return table, rows


def run(quick: bool = False, out_dir: Path = OUT_DIR, argv: Sequence[str] | None = None) -> Path:
    """Run both sections; print tables; write ``out_dir/opacus.md``. Returns that path."""
    cfg = Config.for_mode(quick)
    info = machine_info()
    t0 = time.perf_counter()
    n_cells = 5 * len(cfg.targets) + 5 + 2 + len(cfg.prv_samples)
    progress = Progress(n_cells, "opacus")
    preload = ["numpy", "scipy.special", "scipy.optimize", "dpkit.accounting",
               "opacus.accountants", "opacus.accountants.utils", "dpkit.integrations.opacus"]
    try:
        with Worker(preload) as worker:
            calib, inter, ratios = section_calibration(cfg, worker, progress)
            print(calib.text(), end="\n\n", flush=True)
            print(inter.text(), end="\n\n", flush=True)
            per_step, _ = section_per_step(cfg, worker, progress)
            print(per_step.text(), end="\n\n", flush=True)
            restarts = worker.restarts
    finally:
        progress.close()
    summary = Table("Summary: dpkit speed-up (anchor time ÷ dpkit time)",
                    ["Comparison", "min", "max"])
    for func, label in (("opacus_rdp_calibrate", "calibration vs Opacus rdp"),
                        ("interleaved", "calibration vs Opacus rdp, interleaved (goal ≥ 20×)"),
                        ("opacus_prv_calibrate", "calibration vs Opacus prv"),
                        ("opacus_dpkit_calibrate", "calibration vs Opacus bisection on dpkit")):
        r = ratios.get(func, [])
        summary.add(label, fmt_ratio(min(r)) if r else "—", fmt_ratio(max(r)) if r else "—")
    print(summary.text(), flush=True)
    elapsed = time.perf_counter() - t0
    command = ("python -m benchmarks.opacus" + (" --quick" if quick else "")) if argv is None \
        else " ".join(shlex.quote(a) for a in argv)
    print(f"\nopacus benchmark: {elapsed:.0f} s wall, {restarts} worker restart(s)", flush=True)
    md = [
        "# dpkit Opacus-adapter benchmark",
        "",
        machine_markdown(info),
        f"- **command**: `{command}`",
        f"- **mode**: {'quick' if quick else 'full'}; wall time {elapsed:.0f} s; "
        f"{restarts} worker restart(s)",
        "",
        "Every call runs in a worker subprocess (imports before timing, time limit, 9 GiB "
        "RLIMIT_AS); times are in-process time.perf_counter.",
        "",
    ]
    md += [t.markdown() + "\n" for t in (calib, inter, per_step, summary)]
    path = write_markdown(out_dir, "opacus", md)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: ``python -m benchmarks.opacus [--quick] [--out DIR]``."""
    return module_main("opacus", __doc__ or "", run, argv, OUT_DIR,
                       "fewer repetitions and samples")


if __name__ == "__main__":
    raise SystemExit(main())
