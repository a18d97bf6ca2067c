"""Regret plot of docs/bandits.md: time-average group regret R(t)/t per protocol and ε.

Synthetic instance of Zhou & Chowdhury 2024 (d = 10, K = 100), M = 10 silos, T = 2000,
Bt = 25, δ = 1e-4, one seed, numba kernel. Run: ``python docs/plots/bandits.py``.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from dpkit.mechanisms import bandits as B  # noqa: E402

M, K, D, T, BT = 10, 100, 10, 2000, 25
EPSILONS = (0.5, 1.0, 4.0, 8.0)


def main() -> None:
    env = B.synthetic_environment(D, K, M, T, 2)
    t = np.arange(1, T + 1)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), sharey=True)
    base = B.simulate(B.BanditParams(M, K, D, T, BT, "none"), env, 0).regret
    for ax, proto in zip(axes, ("silo_ldp", "shuffle_amplification", "shuffle_vector_sum"),
                         strict=True):
        for eps in EPSILONS:
            p = B.BanditParams(M, K, D, T, BT, proto, epsilon=eps, delta=1e-4)
            r = B.simulate(p, env, 0).regret
            ax.plot(t, r / t, label=f"eps = {eps:g}")
            print(proto, eps, f"R(T) = {r[-1]:.0f}", flush=True)
        ax.plot(t, base / t, "k--", label="eps = inf (non-private)")
        ax.set_title(proto)
        ax.set_xlabel("round t")
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("time-average group regret R(t)/t")
    axes[0].legend()
    fig.suptitle(f"Private-FedLinUCB, synthetic instance, M={M}, K={K}, d={D}, Bt={BT}, "
                 "delta=1e-4")
    fig.tight_layout()
    out = Path(__file__).resolve().parents[1] / "img" / "bandits_regret.png"
    fig.savefig(out, dpi=110)
    print(f"wrote {out}; non-private R(T) = {base[-1]:.0f}")


if __name__ == "__main__":
    main()
