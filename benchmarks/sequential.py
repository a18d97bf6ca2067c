"""Smoothed-RR benchmark: the sequential-learning simulator and the release kernels.

Sections (one run, ratios against the numpy reference):

1. sequential learning, Gaussian signals, σ = 1, θ = +1, smoothed RR ε = 1 (and the
   non-private model), 2000 runs × 10⁴ agents: the numpy reference (the spec's baseline: "about
   5 s in plain numpy on one CPU core"), the numba kernel (parallel over runs) and the jitted
   JAX kernel (CPU; compile excluded by a warm-up). Then the issue's goal: 10⁴ runs × 10⁴
   agents with the numba kernel, goal ≤ 30 s (issue #9). ``--quick``: 500 runs for the
   comparison and 2000 runs × 10⁴ for the goal line (reported as measured, not scaled).
2. releases: ``respond`` on 10⁷ signals, numpy reference (flip and Laplace routes) vs numba
   and JAX.

Each timing is the median of warm repetitions (:func:`benchmarks._timing.measure`); each
repetition uses a different seed. ``python -m benchmarks --only sequential [--quick]``;
tables also go to ``benchmarks/out/sequential.md``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import OUT_DIR
from ._report import (
    Table,
    fmt_ratio,
    fmt_time,
    machine_info,
    machine_markdown,
    module_main,
    write_markdown,
)
from ._timing import measure

__all__ = ["run", "main"]

N_AGENTS = 10_000


def _sim(rep: int, runs: int, backend: str, mechanism: str = "smoothed") -> Any:
    from dpkit.mechanisms.smoothed_rr import simulate_sequential_learning

    rng: Any = rep + 1
    if backend == "jax":
        import jax

        rng = jax.random.key(rep + 1)
    r = simulate_sequential_learning(N_AGENTS, runs, mechanism=mechanism,  # type: ignore[arg-type]
                                     epsilon=1.0, rng=rng, backend=backend,
                                     checkpoints=[N_AGENTS], progress=False)
    return float(r.mean_belief()[-1])


def _respond(rep: int, v: Any, backend: str, method: str = "flip") -> Any:
    from dpkit.mechanisms.smoothed_rr import SmoothedRRParams, respond

    rng: Any = rep + 1
    if backend == "jax":
        import jax

        rng = jax.random.key(rep + 1)
    out = respond(SmoothedRRParams(1.0), v, rng, backend=backend, method=method)  # type: ignore
    if backend == "jax":
        out.block_until_ready()
    return out


def simulation_table(quick: bool) -> tuple[Table, dict[str, float]]:
    runs = 500 if quick else 2000
    reps = 1 if quick else 3
    table = Table(f"Sequential learning, {runs:,} runs × {N_AGENTS:,} agents (σ=1, ε=1), "
                  f"median of {reps}",
                  ["mechanism", "backend", "time", "agent-steps/s", "numpy / this",
                   "mean l_N"])
    goals: dict[str, float] = {}
    for mech in ("smoothed", "none"):
        base = measure(_sim, {"runs": runs, "backend": "numpy", "mechanism": mech}, reps=reps,
                       warmup=False)
        for backend in ("numpy", "numba", "jax"):
            m = base if backend == "numpy" else measure(
                _sim, {"runs": runs, "backend": backend, "mechanism": mech}, reps=reps)
            table.add(mech, backend, fmt_time(m.median), f"{runs * N_AGENTS / m.median:,.3g}",
                      fmt_ratio(base.median / m.median), f"{m.value:.2f}")
            if mech == "smoothed":
                goals[backend] = m.median
    goals["runs"] = runs
    return table, goals


def goal_line(quick: bool) -> tuple[int, float, float]:
    runs = 2000 if quick else 10_000
    m = measure(_sim, {"runs": runs, "backend": "numba"}, reps=1)
    return runs, m.median, float(m.value)


def respond_table(quick: bool) -> Table:
    n = 1_000_000 if quick else 10_000_000
    reps = 3 if quick else 5
    v = np.random.default_rng(0).normal(0.0, 2.0, n)
    table = Table(f"respond on {n:,} signals (ε=1), median of {reps}",
                  ["route", "time", "M signals/s", "numpy flip / this"])
    base = measure(_respond, {"v": v, "backend": "numpy"}, reps=reps)
    rows = [("numpy flip (reference)", base),
            ("numpy Laplace route", measure(_respond, {"v": v, "backend": "numpy",
                                                       "method": "laplace"}, reps=reps)),
            ("numba", measure(_respond, {"v": v, "backend": "numba"}, reps=reps))]
    try:
        import jax.numpy as jnp

        rows.append(("jax (jit, CPU)", measure(_respond, {"v": jnp.asarray(v), "backend": "jax"},
                                               reps=reps)))
    except ImportError:  # pragma: no cover
        pass
    for name, m in rows:
        table.add(name, fmt_time(m.median), f"{n / m.median / 1e6:.1f}",
                  fmt_ratio(base.median / m.median))
    return table


def run(quick: bool, out_dir: Path = OUT_DIR, argv: Sequence[str] = ()) -> None:
    """Run all sections, print them, write ``out_dir/sequential.md``."""
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    info = machine_info()
    sim, goals = simulation_table(quick)
    print(sim.text(), flush=True)
    runs, secs, mean_l = goal_line(quick)
    verdict = [
        f"numba vs numpy reference (smoothed RR, {goals['runs']:.0f} runs x 10^4 agents): "
        f"{goals['numpy'] / goals['numba']:.1f}x; jax: {goals['numpy'] / goals['jax']:.1f}x",
        f"numba, {runs:,} runs x 10^4 agents: {secs:.1f} s (mean l_N = {mean_l:.2f}); goal "
        f"10^4 x 10^4 <= 30 s: "
        + (("met" if secs <= 30 else "NOT met") if runs == 10_000 else "not measured (--quick)"),
    ]
    print("\n".join(verdict), flush=True)
    resp = respond_table(quick)
    print(resp.text(), flush=True)
    md = ["# Smoothed RR benchmark", "",
          f"Command: `{' '.join(argv) or 'python -m benchmarks.sequential'}`", "",
          machine_markdown(info), "", sim.markdown(), "", *[f"- {v}" for v in verdict], "",
          resp.markdown(), ""]
    write_markdown(out_dir, "sequential", md)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: ``python -m benchmarks.sequential [--quick] [--out DIR]``."""
    return module_main("sequential", __doc__ or "", run, argv, OUT_DIR, "a shorter run")


if __name__ == "__main__":
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    raise SystemExit(main())
