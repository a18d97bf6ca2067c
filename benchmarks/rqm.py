"""RQM benchmark: encoding kernels against the numpy reference, and the exact privacy curve.

Sections (all in one run, ratios printed against the numpy reference / the unpruned search):

1. encoding throughput, d coordinates drawn uniformly in [−c, c], c = 1, Δ = 1, q = 0.25,
   m ∈ {2, 16, 256}: the numpy reference (geometric walk), the numba kernel, the jitted JAX
   kernel (on the CPU here; ``block_until_ready``, compile excluded) and, for m = 16, the naive
   keep-mask reference. Goal (issue #4): numba ≥ 10× numpy and ≥ 20 M coords/s at m = 16.
2. the same ratio measured *interleaved*: numpy and numba calls alternate in one loop, so a
   change of the shared machine's load hits both; per-pair ratios (median, min) and the load
   average before/after are reported. This is the number the goal is judged on.
3. the exact privacy curve over ``DEFAULT_ORDERS`` (174 orders incl. ∞), pruned grid search
   against the unpruned one, m ∈ {2, 4, 16, 64, 256, 1024} (the unpruned search is skipped at
   1024). Goal: < 50 ms for m ≤ 16, < 2 s for m = 256. Plus the pmf at m = 65536 (time, peak
   traced memory) and the worst-case grid (Δ = 0.01c) at m = 1024, the accounting limit.

Each timing is the median of warm repetitions (:func:`benchmarks._timing.measure`); every
repetition uses a different seed / a Δ perturbed by 1e-9·rep, so no cache can help.
``python -m benchmarks --only rqm [--quick]``; tables also go to ``benchmarks/out/rqm.md``.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import OUT_DIR
from ._report import Table, fmt_ratio, fmt_time, machine_info, machine_markdown
from ._timing import measure

__all__ = ["run", "main"]


def _params(m: int, extension: float = 1.0, q: float = 0.25) -> Any:
    from dpkit.mechanisms.rqm import RQMParams

    return RQMParams(1.0, extension, m, q)


def _encode_numpy(rep: int, x: np.ndarray, m: int, sampler: str = "walk") -> Any:
    from dpkit.mechanisms.rqm import quantize_reference

    return quantize_reference(_params(m), x, rng=rep + 1, sampler=sampler)


def _encode_numba(rep: int, x: np.ndarray, m: int) -> Any:
    from dpkit.mechanisms.rqm import quantize

    return quantize(_params(m), x, rng=rep + 1, backend="numba")


def _encode_jax(rep: int, x: Any, m: int) -> Any:
    import jax

    from dpkit.mechanisms.rqm import quantize

    return quantize(_params(m), x, jax.random.key(rep + 1), backend="jax").block_until_ready()


def _curve(rep: int, m: int, pruned: bool = True) -> Any:
    from dpkit.mechanisms.rqm.privacy import rdp_curve, rdp_curve_bruteforce

    p = _params(m, extension=2.0 * (1.0 + 1e-9 * max(rep, 0)))
    return rdp_curve(p) if pruned else rdp_curve_bruteforce(p)


def encoding_table(quick: bool) -> tuple[Table, dict[str, float]]:
    d = 2_000_000 if quick else 10_000_000
    reps = 3 if quick else 5
    x = np.random.default_rng(0).uniform(-1.0, 1.0, d)
    table = Table(f"Encoding {d:,} coordinates (c=1, Δ=1, q=0.25), median of {reps}",
                  ["m", "backend", "time", "M coords/s", "speed-up vs numpy"],
                  notes=["numpy = the reference geometric-walk sampler; mask = the naive "
                         "reference that draws all m−2 keep bits",
                         f"numba threads: {_numba_threads()}; JAX on the CPU "
                         "(no GPU lent to this task)"])
    goals: dict[str, float] = {}
    try:
        import jax.numpy as jnp

        xj = jnp.asarray(x, dtype=jnp.float32)
    except ImportError:  # pragma: no cover
        xj = None
    for m in (2, 16, 256):
        base = measure(_encode_numpy, {"x": x, "m": m}, reps=reps)
        rows: list[tuple[str, float]] = [("numpy", base.median)]
        if m == 16:
            n_mask = d // 10
            mk = measure(_encode_numpy, {"x": x[:n_mask], "m": m, "sampler": "mask"},
                         reps=reps)
            rows.append(("numpy mask", mk.median * d / n_mask))
        nb = measure(_encode_numba, {"x": x, "m": m}, reps=reps)
        rows.append(("numba", nb.median))
        if xj is not None:
            jx = measure(_encode_jax, {"x": xj, "m": m}, reps=reps)
            rows.append(("jax (cpu)", jx.median))
        for name, t in rows:
            table.add(m, name, fmt_time(t), f"{d / t / 1e6:.1f}", fmt_ratio(base.median / t))
            if m == 16:
                goals[name] = t
        goals["d"] = d
    return table, goals


def interleaved_table(quick: bool) -> tuple[Table, dict[str, float]]:
    """numpy and numba alternating in one loop (m = 16 and 256): load drifts hit both."""
    from dpkit.mechanisms.rqm import quantize, quantize_reference

    d = 2_000_000 if quick else 10_000_000
    pairs = 5 if quick else 11
    x = np.random.default_rng(1).uniform(-1.0, 1.0, d)
    table = Table(f"Interleaved numpy / numba, {d:,} coordinates, {pairs} alternating pairs",
                  ["m", "numpy median", "numba median", "M coords/s (numba)",
                   "ratio of medians", "per-pair ratio: median", "min", "load before/after"],
                  notes=["one process; each pair is a numpy call then a numba call on the same "
                         "input with a new seed"])
    goals: dict[str, float] = {}
    for m in (16, 256):
        p = _params(m)
        quantize(p, x[:1000], rng=0, backend="numba")  # compile / tables outside the loop
        load0 = os.getloadavg()[0]
        tn, tb = [], []
        for rep in range(pairs):
            t0 = time.perf_counter()
            quantize_reference(p, x, rng=2 * rep + 1)
            t1 = time.perf_counter()
            quantize(p, x, rng=2 * rep + 2, backend="numba")
            t2 = time.perf_counter()
            tn.append(t1 - t0)
            tb.append(t2 - t1)
        load1 = os.getloadavg()[0]
        an, ab = np.array(tn), np.array(tb)
        ratios = an / ab
        table.add(m, fmt_time(float(np.median(an))), fmt_time(float(np.median(ab))),
                  f"{d / np.median(ab) / 1e6:.1f}", fmt_ratio(float(np.median(an) / np.median(ab))),
                  fmt_ratio(float(np.median(ratios))), fmt_ratio(float(ratios.min())),
                  f"{load0:.1f} / {load1:.1f}")
        if m == 16:
            goals = {"ratio": float(np.median(ratios)), "min": float(ratios.min()),
                     "rate": d / float(np.median(ab))}
    return table, goals


def _numba_threads() -> str:
    try:
        import numba

        return str(numba.get_num_threads())
    except ImportError:  # pragma: no cover
        return "n/a"


def privacy_table(quick: bool) -> Table:
    from dpkit.accounting import DEFAULT_ORDERS

    reps = 3 if quick else 7
    table = Table(f"Exact privacy curve over DEFAULT_ORDERS ({len(DEFAULT_ORDERS)} orders), "
                  "c=1, Δ=2, q=0.25",
                  ["m", "grid |G|", "pruned search", "pairs evaluated", "unpruned search",
                   "speed-up", "max |diff|", "ε(2)", "ε(∞)"],
                  notes=["pairs evaluated: (pair, order) divergences computed exactly by the "
                         "pruned search (unpruned: |G|²·orders)",
                         "max |diff|: largest difference between the two searches' curves"])
    from dpkit.mechanisms.rqm.privacy import grid

    for m in (2, 4, 16, 64, 256, 1024):
        fast = measure(_curve, {"m": m}, reps=reps if m < 1024 else 3)
        rf = fast.value
        i2 = list(DEFAULT_ORDERS).index(2.0)
        if m == 1024:  # the unpruned search would take minutes
            table.add(m, grid(_params(m, extension=2.0)).size, fmt_time(fast.median),
                      f"{rf.evaluated:,}", "skipped", "", "", f"{rf.values[i2]:.4f}",
                      f"{rf.values[-1]:.4f}")
            continue
        slow_reps = 1 if m >= 64 else reps
        slow = measure(_curve, {"m": m, "pruned": False}, reps=slow_reps,
                       warmup=m < 64)
        rs = slow.value
        g = int(round(np.sqrt(rs.evaluated / len(DEFAULT_ORDERS))))
        diff = float(np.max(np.abs(rf.values - rs.values)))
        table.add(m, g, fmt_time(fast.median), f"{rf.evaluated:,}", fmt_time(slow.median),
                  fmt_ratio(slow.median / fast.median), f"{diff:.1e}",
                  f"{rf.values[i2]:.4f}", f"{rf.values[-1]:.4f}")
    return table


def large_m_lines() -> list[str]:
    """The pmf at the largest m (bounded memory) and the grid search at the accounting limit."""
    import tracemalloc

    from dpkit.mechanisms.rqm import RQMParams, log_pmf
    from dpkit.mechanisms.rqm.privacy import grid, rdp_curve

    out = []
    p = RQMParams(1.0, 1.0, 65536, 0.25)
    tracemalloc.start()
    t0 = time.perf_counter()
    lp = log_pmf(p, [0.3])
    t1 = time.perf_counter()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    out.append(f"log_pmf at m = 65536, q = 0.25, one input: {fmt_time(t1 - t0)}, peak traced "
               f"memory {peak / 2**20:.0f} MiB, Σp − 1 = {np.exp(lp).sum() - 1:.1e}")
    p = RQMParams(1.0, 0.01, 1024, 0.25)  # Δ ≪ c: the largest grid at the limit
    tracemalloc.start()
    t0 = time.perf_counter()
    rdp_curve(p)
    t1 = time.perf_counter()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    out.append(f"rdp_curve at m = 1024, Δ = 0.01, q = 0.25 (|G| = {grid(p).size}, the "
               f"accounting limit's worst case): {fmt_time(t1 - t0)}, peak traced memory "
               f"{peak / 2**20:.0f} MiB")
    return out


def run(quick: bool, out_dir: Path = OUT_DIR, argv: Sequence[str] = ()) -> None:
    """Run both sections, print them, write ``out_dir/rqm.md``."""
    info = machine_info()
    enc, goals = encoding_table(quick)
    print(enc.text(), flush=True)
    inter, ig = interleaved_table(quick)
    print(inter.text(), flush=True)
    priv = privacy_table(quick)
    print(priv.text(), flush=True)
    large = large_m_lines()
    print("\n".join(large), flush=True)
    d = goals.pop("d")
    nb, npy = goals["numba"], goals["numpy"]
    verdict = [
        f"numba vs numpy at m=16, separate medians: {npy / nb:.1f}x (goal >= 10x): "
        f"{'met' if npy / nb >= 10 else 'NOT met'}",
        f"numba vs numpy at m=16, interleaved per-pair median: {ig['ratio']:.1f}x (min "
        f"{ig['min']:.1f}x; goal >= 10x): {'met' if ig['ratio'] >= 10 else 'NOT met'}",
        f"numba throughput at m=16: {d / nb / 1e6:.1f} M coords/s separate, "
        f"{ig['rate'] / 1e6:.1f} interleaved (goal >= 20): "
        f"{'met' if min(d / nb, ig['rate']) >= 20e6 else 'NOT met'}",
    ]
    print("\n".join(verdict))
    out_dir.mkdir(parents=True, exist_ok=True)
    md = ["# RQM benchmark", "", f"Command: `{' '.join(argv) or 'python -m benchmarks.rqm'}`",
          "", machine_markdown(info), "", enc.markdown(), "", inter.markdown(), "",
          priv.markdown(), "", *[f"- {v}" for v in large], "", *[f"- {v}" for v in verdict],
          ""]
    (out_dir / "rqm.md").write_text("\n".join(md))


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    run("--quick" in args, OUT_DIR, ["python", "-m", "benchmarks.rqm", *args])
    return 0


if __name__ == "__main__":
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    raise SystemExit(main())
