"""Federated bandits benchmark: the spec's synthetic setting, dpkit kernels vs the baseline.

Setting (spec fed_bandits.md §9, issue #6): d = 10, K = 100, M = 100, T = 10⁴, Bt = 25, one
seed; goal ≤ 60 s with the fast kernel. Baseline (the spec's §8 estimate for the released
experiment code's design): a per-round numpy loop vectorised over the silos with (M, d, d)
inverses, i.e. dpkit's numpy reference. The numpy reference is timed on T = 500 rounds and
reported per round (it is linear in T); the numba kernel is timed on the full run (and on
T = 500 for the per-round ratio). ``--quick``: M = 10. The JAX kernel is not implemented.
Run: ``python -m benchmarks --only bandits [--quick]``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from . import OUT_DIR
from ._report import Table, fmt_ratio, fmt_time, machine_info, machine_markdown, write_markdown


def _run(M: int, T: int, protocol: str, backend: str) -> tuple[float, float]:
    from dpkit.mechanisms import bandits as B

    eps = None if protocol == "none" else 1.0
    p = B.BanditParams(M, 100, 10, T, 25, protocol, epsilon=eps,
                       delta=None if eps is None else 1e-4)
    env = B.synthetic_environment(10, 100, M, T, 2)
    t0 = time.perf_counter()
    r = B.simulate(p, env, 0, backend=backend)
    return time.perf_counter() - t0, float(r.regret[-1])


def run(quick: bool, out_dir: Path = OUT_DIR, argv: Sequence[str] | None = None) -> None:
    M = 10 if quick else 100
    T = 10_000
    short = 500
    _run(2, 50, "shuffle_vector_sum", "numba")  # compile / load the numba cache (untimed)
    table = Table(f"Private-FedLinUCB, M={M}, K=100, d=10, T={T}",
                  ["protocol", "numpy s/round", "numba s/round", "ratio", f"numba T={T}",
                   "R(T)"])
    lines = [f"## bandits (M={M}, K=100, d=10, T={T}, Bt=25, one seed)", "",
             machine_markdown(machine_info()), ""]
    for protocol in ("none", "silo_ldp", "shuffle_amplification", "shuffle_vector_sum"):
        tn, _ = _run(M, short, protocol, "numpy")
        tb, _ = _run(M, short, protocol, "numba")
        full, reg = _run(M, T, protocol, "numba")
        table.add(protocol, fmt_time(tn / short), fmt_time(tb / short), fmt_ratio(tn / tb),
                  fmt_time(full), f"{reg:.0f}")
        print(table.rows[-1], flush=True)
    print(table.text())
    lines.append(table.markdown())
    write_markdown(out_dir, "bandits", lines)


if __name__ == "__main__":
    run("--quick" in __import__("sys").argv)
