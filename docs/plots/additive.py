"""Plot for docs/additive.md: the discrete Gaussian sampler's histogram against its pmf.

Run from anywhere: ``python docs/plots/additive.py`` writes ``docs/img/additive_pmf.png``.
Left: linear scale, σ = 3. Right: log scale, to show the tails agree too. Fast path: 10^6 draws;
exact (pure-Python) oracle: 4·10^4 draws; both with fixed seeds.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from dpkit.mechanisms.additive import sample_discrete_gaussian  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "img" / "additive_pmf.png"
SIGMA = 3
N_FAST = 1_000_000
N_EXACT = 40_000


def pmf(sigma2: float, y: np.ndarray) -> np.ndarray:
    """P[Y = y] = exp(−y²/2σ²) / Σ_k exp(−k²/2σ²)."""
    k = np.arange(-int(40 * math.sqrt(sigma2) + 40), int(40 * math.sqrt(sigma2) + 41))
    z = np.exp(-(k * k) / (2.0 * sigma2)).sum()
    return np.exp(-(y.astype(float) ** 2) / (2.0 * sigma2)) / z


def main() -> Path:
    """Draw the samples, make the figure, save it and return its path."""
    fast = sample_discrete_gaussian(SIGMA, N_FAST, 0, method="fast")
    exact = sample_discrete_gaussian(SIGMA, N_EXACT, 1, method="exact")
    lim = int(max(np.abs(fast).max(), np.abs(exact).max()))
    ys = np.arange(-lim, lim + 1)
    p = pmf(SIGMA**2, ys)
    freq_fast = np.bincount(fast + lim, minlength=ys.size) / N_FAST
    freq_exact = np.bincount(exact + lim, minlength=ys.size) / N_EXACT

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, log in zip(axes, (False, True), strict=True):
        ax.bar(ys, freq_fast, width=0.8, color="#9ecae1", label=f"fast path, n = {N_FAST:,}")
        shown = freq_exact > 0
        ax.plot(ys[shown], freq_exact[shown], "o", ms=4, color="#e6550d",
                label=f"exact oracle, n = {N_EXACT:,}")
        ax.plot(ys, p, "-", color="black", lw=1.2, label="pmf ∝ exp(−y²/(2σ²))")
        ax.set_xlabel("y")
        if log:
            ax.set_yscale("log")
            ax.set_ylim(0.3 / N_FAST, 0.3)
            ax.set_title("log scale: the tails")
        else:
            ax.set_xlim(-4 * SIGMA - 1, 4 * SIGMA + 1)
            ax.set_title(f"discrete Gaussian, σ = {SIGMA}")
            ax.set_ylabel("probability")
            ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, dpi=120)
    plt.close(fig)
    return OUT


if __name__ == "__main__":
    print(main())
