"""Federated bandits benchmark: the spec's synthetic setting, dpkit kernels vs the baseline.

Setting (spec fed_bandits.md §9, issue #6): d = 10, K = 100, M = 100, T = 10⁴, Bt = 25, one
seed; goal ≤ 60 s with the fast kernel, JAX recorded. Baseline (the spec's §8 design of the
released experiment code): a per-round numpy loop vectorised over the silos with (M, d, d)
inverses, i.e. dpkit's numpy reference, timed on T = 500 rounds and reported per round (it is
linear in T). numba: per round on T = 500 and the full run. JAX: per round on T = 500 (second
call, compiled) and the full run including its compile (T is static in the jitted program).
The load average of the (shared) machine is printed before and after each row.
``--quick``: M = 10. Run: ``python -m benchmarks --only bandits [--quick]``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

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

PROTOCOLS = ("none", "silo_ldp", "shuffle_amplification", "shuffle_vector_sum")


def _run(M: int, T: int, protocol: str, backend: str, seed: int = 0) -> tuple[float, float]:
    from dpkit.mechanisms import bandits as B

    eps = None if protocol == "none" else 1.0
    p = B.BanditParams(M, 100, 10, T, 25, protocol, epsilon=eps,
                       delta=None if eps is None else 1e-4)
    env = B.synthetic_environment(10, 100, M, T, 2)
    t0 = time.perf_counter()
    r = B.simulate(p, env, seed, backend=backend)
    return time.perf_counter() - t0, float(r.regret[-1])


def _load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def run(quick: bool, out_dir: Path = OUT_DIR, argv: Sequence[str] | None = None) -> None:
    M = 10 if quick else 100
    T = 10_000
    short = 500
    _run(2, 50, "shuffle_vector_sum", "numba")  # compile / load the numba cache (untimed)
    table = Table(f"Private-FedLinUCB, M={M}, K=100, d=10, T={T}",
                  ["protocol", "numpy /round", "numba /round", "numpy/numba", "jax /round",
                   "numpy/jax", f"numba T={T}", f"jax T={T} (+compile)", "R(T) numba",
                   "R(T) jax", "load"])
    lines = [f"## bandits (M={M}, K=100, d=10, T={T}, Bt=25, one seed)", "",
             machine_markdown(machine_info()), ""]
    for protocol in PROTOCOLS:
        load0 = _load()
        tn, _ = _run(M, short, protocol, "numpy")
        tb, _ = _run(M, short, protocol, "numba")
        _run(M, short, protocol, "jax")  # compile for T = short (one program, all protocols)
        tj, _ = _run(M, short, protocol, "jax", seed=1)
        full, reg = _run(M, T, protocol, "numba")
        fullj, regj = _run(M, T, protocol, "jax")
        table.add(protocol, fmt_time(tn / short), fmt_time(tb / short), fmt_ratio(tn / tb),
                  fmt_time(tj / short), fmt_ratio(tn / tj), fmt_time(full), fmt_time(fullj),
                  f"{reg:.0f}", f"{regj:.0f}", f"{load0}→{_load()}")
        print(table.rows[-1], flush=True)
    print(table.text())
    lines.append(table.markdown())
    write_markdown(out_dir, "bandits", lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: ``python -m benchmarks.bandits [--quick] [--out DIR]``."""
    return module_main("bandits", __doc__ or "", run, argv, OUT_DIR, "M = 10 silos")


if __name__ == "__main__":
    raise SystemExit(main())
