"""Plots for docs/accounting.md: ε against steps, and an RDP curve with its conversion.

Run: .venv/bin/python docs/plots/accounting.py  (writes docs/img/accounting_*.png)
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from dpkit.accounting import DEFAULT_ORDERS, Accountant, dpsgd  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "img"


def eps_vs_steps() -> None:
    steps = np.unique(np.logspace(1, 6, 40).astype(int))
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for sigma in (0.8, 1.0, 1.5, 3.0):
        eps = [dpsgd.epsilon(sigma, 0.01, int(t), 1e-5) for t in steps]
        ax.loglog(steps, eps, label=f"σ = {sigma}")
    ax.set_xlabel("DP-SGD steps (q = 0.01)")
    ax.set_ylabel("ε at δ = 1e-5")
    ax.set_title("Privacy spent by DP-SGD (exact sampled-Gaussian RDP)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(OUT / "accounting_eps_vs_steps.png", dpi=120)


def rdp_curve() -> None:
    orders = DEFAULT_ORDERS[np.isfinite(DEFAULT_ORDERS) & (DEFAULT_ORDERS <= 256)]
    acct = Accountant().compose(dpsgd.event(1.0, 0.01), 1000)
    curve = acct.rdp()[np.isfinite(DEFAULT_ORDERS) & (DEFAULT_ORDERS <= 256)]
    conv = curve + np.log1p(-1 / orders) - (np.log(1e-5) + np.log(orders)) / (orders - 1)
    best = acct.epsilon_details(1e-5)
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    ax.loglog(orders, curve, label="RDP ε(α) of 1000 steps")
    ax.loglog(orders, conv, label="(ε, δ=1e-5) bound at each α")
    ax.axvline(best.order, color="grey", lw=0.8)
    ax.annotate(f"best α = {best.order:g}\nε = {best.epsilon:.3f}", (best.order, best.epsilon),
                xytext=(20, 30), textcoords="offset points")
    ax.set_ylim(1e-2, 1e4)
    ax.set_xlabel("Rényi order α")
    ax.set_ylabel("ε")
    ax.set_title("σ = 1, q = 0.01, T = 1000")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(OUT / "accounting_rdp_curve.png", dpi=120)


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    eps_vs_steps()
    rdp_curve()
    print("wrote", sorted(p.name for p in OUT.glob("accounting_*.png")))
