"""Plot for docs/heavy_hitters.md: F1@k vs ε for PEM, TreeHist, Local-PEM + merge, TAP, TAPS.

Run from anywhere: ``python docs/plots/heavy_hitters.py`` writes
``docs/img/heavy_hitters_f1.png``. Data: the spec §8.10 non-IID generator
(:func:`benchmarks.heavy_hitters.federated_zipf`), 5 parties, 4·10^5 users, 32-bit items,
k = 32; mean F1 over 3 seeds per point (fixed seeds).
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from benchmarks.heavy_hitters import federated_zipf  # noqa: E402
from dpkit.mechanisms import heavy_hitters as hh  # noqa: E402

OUT = ROOT / "docs" / "img" / "heavy_hitters_f1.png"
EPS = (1.0, 2.0, 4.0, 8.0)
SEEDS = range(3)
K = 32


def main() -> None:
    f1 = {p: [] for p in hh.PROTOCOLS}
    for e in EPS:
        acc = {p: [] for p in hh.PROTOCOLS}
        for s in SEEDS:
            parts = federated_zipf(400_000, 5, 32, seed=200 + s)
            truth = hh.true_top_k(parts, K, 32)
            for p in hh.PROTOCOLS:
                r = hh.find_heavy_hitters(hh.HeavyHitterParams(e, 32, K, protocol=p), parts, s)
                acc[p].append(hh.f1_score(r.items, truth))
        for p in hh.PROTOCOLS:
            f1[p].append(float(np.mean(acc[p])))
        print(e, {p: round(v[-1], 3) for p, v in f1.items()}, flush=True)
    fig, ax = plt.subplots(figsize=(6, 4))
    labels = {"pem": "PEM (pooled)", "treehist": "TreeHist (pooled)",
              "local_pem": "Local-PEM + merge", "tap": "TAP", "taps": "TAPS"}
    for p in hh.PROTOCOLS:
        ax.plot(EPS, f1[p], marker="o", label=labels[p])
    ax.set_xscale("log", base=2)
    ax.set_xlabel("ε (per user, local DP)")
    ax.set_ylabel(f"F1@{K}")
    ax.set_title("Non-IID Zipf(1.2), 5 parties, 4·10⁵ users, 32-bit items")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, dpi=120)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
