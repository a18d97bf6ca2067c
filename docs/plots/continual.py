"""Plot for docs/continual.md: error of every continual counter against the exact theory.

Run from anywhere: ``python docs/plots/continual.py`` writes ``docs/img/continual_error.png``.
Left: the exact standard deviation of y_t − S_t over t (T = 2^16, ρ = 0.5, unit item change):
thin at each t, thick its running maximum. Right: max_t |y_t − S_t| against T (mean of 5 runs
per point, numba kernels, seed 0) beside the theory line max sd·√(2 ln(2T/β)), β = 0.01 (the
union bound that the max error stays below with probability ≥ 99 %) and the max sd itself.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from dpkit.mechanisms import continual as C  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "img" / "continual_error.png"
COLORS = {"tree": "C0", "honaker": "C1", "sqrt": "C2", "blt": "C3"}


def main() -> Path:
    """Simulate, draw, save and return the path."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.6))
    T = 2**16
    ts = np.arange(1, T + 1)
    g = np.random.default_rng(0)
    for kind in C.KINDS:
        p = C.CounterParams.for_rho(kind, T, 0.5, relation="add_remove")
        sd = np.sqrt(C.expected_variance(p, ts))
        style = "--" if kind == "blt" else "-"
        ax1.plot(ts, sd, color=COLORS[kind], lw=0.3, alpha=0.35)
        ax1.plot(ts, np.maximum.accumulate(sd), style, color=COLORS[kind], lw=1.6,
                 label=f"{kind}: max_{{s≤t}} sd(y_s − S_s)")
    ax1.set_xscale("log", base=2)
    ax1.set_yscale("log")
    ax1.set_xlabel("step t")
    ax1.set_ylabel("exact sd of y_t − S_t (thin: at t)")
    ax1.set_title("Error over time, T = 2^16, ρ = 0.5")
    ax1.legend(fontsize=8)

    Ts = [2**k for k in range(6, 21, 2)]
    beta = 0.01
    for kind in C.KINDS:
        meas, bound, sds = [], [], []
        for TT in Ts:
            p = C.CounterParams.for_rho(kind, TT, 0.5, relation="add_remove")
            sd = math.sqrt(C.max_variance(p))
            sds.append(sd)
            bound.append(sd * math.sqrt(2 * math.log(2 * TT / beta)))
            meas.append(np.mean([np.max(np.abs(C.run(p, np.zeros(TT), g, backend="numba")))
                                 for _ in range(5)]))
        ax2.plot(Ts, meas, "o-", color=COLORS[kind], label=f"{kind}: measured max|err|")
        ax2.plot(Ts, bound, "--", color=COLORS[kind], lw=1, label=f"{kind}: 99 % bound")
        ax2.plot(Ts, sds, ":", color=COLORS[kind], lw=1)
    ax2.set_xscale("log", base=2)
    ax2.set_yscale("log")
    ax2.set_xlabel("horizon T")
    ax2.set_ylabel("max_t |y_t − S_t|")
    ax2.set_title("Max error vs T (dotted: max sd), ρ = 0.5")
    ax2.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, dpi=110)
    return OUT


if __name__ == "__main__":
    print(main())
