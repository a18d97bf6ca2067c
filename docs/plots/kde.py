"""Plots for docs/kde.md: normalized error against ε and against n.

Run: .venv/bin/python docs/plots/kde.py  (writes docs/img/kde_error.png)

Left: mean |F̂ − F|/n over 100 queries against ε (n = 10^4, d = 4) for ℓ1 exact mode (with its
analytic noise std), ℓ1 ring mode, and the Gaussian kernel (RFF, D = 512, σ = 1). Right: the
same against n at ε = 1: the normalized error of every structure falls like 1/n (the noise
does not grow with n) until the ℓ1 cell snapping or the RFF feature error takes over.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from dpkit.mechanisms.kde import KDEParams, build, exact_sums, query  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "img"
D = 4


def _err(p: KDEParams, x: np.ndarray, y: np.ndarray, truth: np.ndarray, seeds: int = 3) -> float:
    errs = [np.mean(np.abs(query(build(p, x, s, backend="numba"), y) - truth))
            for s in range(seeds)]
    return float(np.mean(errs)) / x.shape[0]


def _kinds(eps: float, n: int) -> dict[str, KDEParams]:
    return {
        "ℓ1 exact mode": KDEParams("l1", eps, 1.0, size_hint=n),
        "ℓ1 ring mode (α = 0.1)": KDEParams("l1", eps, 1.0, size_hint=n, mode="ring",
                                            ring_rep="mid"),
        "Gaussian RFF (D = 512)": KDEParams("gaussian", eps, 1.0, 1.0, features=512),
    }


def main() -> None:
    g = np.random.default_rng(0)
    y = g.uniform(-1, 1, (100, D))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.0))
    n = 10_000
    x = g.uniform(-1, 1, (n, D))
    eps_grid = [0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0]
    truths: dict[str, np.ndarray] = {}
    curves: dict[str, list[float]] = {}
    for eps in eps_grid:
        for name, p in _kinds(eps, n).items():
            if name not in truths:
                truths[name] = exact_sums(p, x, y)
            curves.setdefault(name, []).append(_err(p, x, y, truths[name]))
    for name, vals in curves.items():
        axes[0].loglog(eps_grid, vals, "o-", label=name)
    axes[0].set_xlabel("ε")
    axes[0].set_ylabel("mean |F̂ − F| / n")
    axes[0].set_title(f"Error against ε (n = {n:,}, d = {D})")
    n_grid = [1_000, 3_000, 10_000, 30_000, 100_000]
    curves = {}
    for nn in n_grid:
        xn = g.uniform(-1, 1, (nn, D))
        for name, p in _kinds(1.0, nn).items():
            curves.setdefault(name, []).append(_err(p, xn, y, exact_sums(p, xn, y), seeds=2))
    for name, vals in curves.items():
        axes[1].loglog(n_grid, vals, "o-", label=name)
    axes[1].set_xlabel("n (size_hint = n)")
    axes[1].set_title(f"Error against n (ε = 1, d = {D})")
    for ax in axes:
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    OUT.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT / "kde_error.png", dpi=110)
    print(OUT / "kde_error.png")


if __name__ == "__main__":
    main()
