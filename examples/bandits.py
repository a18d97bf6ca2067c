"""Federated linear contextual bandits: compare the privacy protocols of Private-FedLinUCB.

Run: ``python examples/bandits.py`` (under a minute on 2 cores). M = 100 silos (e.g.
hospitals) each serve one user per round for T = 3000 rounds, choosing among K = 100 arms with
d = 10 features, on the synthetic instance of Zhou & Chowdhury (ICLR 2024). Every Bt = 25
rounds the silos synchronise through one of the protocols at ε = 1, δ = 1e-4 per user. The
privacy unit is one user (one round's (x, y)) of one silo ("replace_one"). Prints the final
group regret and what each protocol's guarantee is, and saves a regret plot to
docs/img/bandits_example.png.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dpkit.accounting import Accountant
from dpkit.mechanisms import bandits as B

M, K, D, T, BT = 100, 100, 10, 3000, 25
EPS, DELTA = 1.0, 1e-4


def main() -> None:
    env = B.synthetic_environment(D, K, M, T, 2)
    t = np.arange(1, T + 1)
    curves = {}
    for proto in B.PROTOCOLS:
        eps = None if proto == "none" else EPS
        p = B.BanditParams(M, K, D, T, BT, proto, epsilon=eps,
                           delta=None if eps is None else DELTA)
        res = B.simulate(p, env, np.random.default_rng(0))  # numba kernel when installed
        curves[proto] = res.regret
        ev = p.privacy_event()
        if proto == "none":
            guarantee = "no privacy"
        elif proto == "shuffle_vector_sum":
            guarantee = (f"shuffle-model claim (eps, delta) = ({ev.epsilon:g}, {ev.delta:g}), "
                         "trusted shuffler, not accountant-certified")
        else:
            certified = Accountant().compose(ev).epsilon(DELTA)
            guarantee = f"silo-level eps = {certified:.2f} at delta = {DELTA:g} (no trust)"
            if proto == "shuffle_amplification":
                claim = B.claimed_event(p)
                guarantee += f"; paper's amplified claim eps = {claim.epsilon:g} (uncertified)"
        print(f"{proto:22s} R(T) = {res.regret[-1]:8.0f}   lambda = {res.regularization:8.1f}"
              f"   {guarantee}")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for proto, r in curves.items():
        ax.plot(t, r / t, label=proto, ls="--" if proto == "none" else "-")
    ax.set_xlabel("round t")
    ax.set_ylabel("time-average group regret R(t)/t")
    ax.set_yscale("log")
    ax.set_title(f"Private-FedLinUCB, M={M}, K={K}, d={D}, Bt={BT}, eps={EPS:g}, "
                 f"delta={DELTA:g}")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    out = Path(__file__).resolve().parents[1] / "docs" / "img" / "bandits_example.png"
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
