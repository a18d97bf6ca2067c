"""Plot for docs/accounting.md: RDP vs PLD vs the exact ε, for DP-SGD and composed RR.

Panel (a): DP-SGD (Poisson-sampled Gaussian, q = 0.01, σ = 1, δ = 1e-5) against the number
of steps T: dpkit's RDP bound, dpkit's certified PLD bound, and as a reference band the
bracket [optimistic, pessimistic] of dp_accounting's PLD (privacy buckets, discretization
1e-5, below; connect-the-dots, 1e-4, above), which contains the exact ε. Below each panel:
the excess of each bound over the exact value (the bracket's top for DP-SGD), in percent.

Panel (b): k-fold composition of binary randomized response (ε0 = 0.5, replace-one,
δ = 1e-5): dpkit's RDP bound, dpkit's PLD bound, and the exact ε from the binomial sum
δ(ε) = Σ_j [P(j) − e^ε Q(j)]_+ with P = Bin(k, p), Q = Bin(k, 1 − p), p = e^ε0/(1 + e^ε0)
(the composed pair of RR is exactly this pair; Kairouz, Oh, Viswanath 2015).

Run: .venv/bin/python docs/plots/pld_vs_rdp.py  (writes docs/img/pld_vs_rdp.png; about
two minutes, nearly all of it in dp_accounting's reference band)
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy.stats import binom  # noqa: E402

from dpkit.accounting import Accountant, RandomizedResponse, dpsgd  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "img"
DELTA = 1e-5


def exact_rr_epsilon(eps0: float, k: int, delta: float) -> float:
    """Exact ε(δ) of k compositions of binary randomized response with parameter ``eps0``.

    The privacy loss of outcome j (number of reports equal to the true bit) is
    L_j = ε0·(2j − k); on the segment where the set {j : L_j > ε} is fixed, δ(ε) = A − e^ε·B
    with A = Σ P(j), B = Σ Q(j) over that set, so ε(δ) = log((A − δ)/B) in closed form.
    """
    p = math.exp(eps0) / (1.0 + math.exp(eps0))
    j = np.arange(k + 1)
    loss = eps0 * (2 * j - k)
    pm = binom.pmf(j, k, p)
    qm = binom.pmf(j, k, 1.0 - p)
    order = np.argsort(-loss)  # from the largest loss down
    a = b = 0.0
    for idx, i in enumerate(order):
        a += pm[i]
        b += qm[i]
        nxt = loss[order[idx + 1]] if idx + 1 < len(order) else -math.inf
        # on [max(nxt, 0), loss[i]] the positive set is order[:idx+1] and δ(ε) decreases;
        # the answer lies here when δ at the segment's left end exceeds the target
        left = max(nxt, 0.0)
        if a - math.exp(left) * b > delta:
            return math.log((a - delta) / b)
        if left == 0.0:
            return 0.0
    return 0.0


def dpsgd_data() -> dict[str, np.ndarray]:
    """Panel (a): ε of DP-SGD against T by dpkit RDP, dpkit PLD and dp_accounting's bracket."""
    from dp_accounting.pld import privacy_loss_distribution as pld_lib

    steps = np.array([1, 3, 10, 30, 100, 300, 1000, 3000, 10000])
    rdp = [dpsgd.epsilon(1.0, 0.01, int(t), DELTA, method="rdp") for t in steps]
    pld = [dpsgd.epsilon(1.0, 0.01, int(t), DELTA, method="pld") for t in steps]
    lo, hi = [], []
    logging.disable(logging.WARNING)  # dp_accounting's notice about privacy buckets
    for t in steps:
        pess = pld_lib.from_gaussian_mechanism(1.0, sampling_prob=0.01,
                                               value_discretization_interval=1e-4)
        opt = pld_lib.from_gaussian_mechanism(1.0, sampling_prob=0.01,
                                              pessimistic_estimate=False,
                                              use_connect_dots=False,
                                              value_discretization_interval=1e-5)
        hi.append(pess.self_compose(int(t)).get_epsilon_for_delta(DELTA))
        lo.append(opt.self_compose(int(t)).get_epsilon_for_delta(DELTA))
    logging.disable(logging.NOTSET)
    return {"x": steps, "rdp": np.array(rdp), "pld": np.array(pld), "lo": np.array(lo),
            "hi": np.array(hi)}


def rr_data() -> dict[str, np.ndarray]:
    """Panel (b): ε of k-fold binary RR by dpkit RDP, dpkit PLD and the exact binomial sum."""
    ks = np.unique(np.round(np.geomspace(1, 500, 16)).astype(int))
    ev = RandomizedResponse(0.5, 2)
    rdp, pld, exact = [], [], []
    for k in ks:
        acct = Accountant().compose(ev, int(k))
        rdp.append(acct.epsilon(DELTA, method="rdp"))
        pld.append(acct.epsilon(DELTA, method="pld"))
        exact.append(exact_rr_epsilon(0.5, int(k), DELTA))
    ex = np.array(exact)
    return {"x": ks, "rdp": np.array(rdp), "pld": np.array(pld), "lo": ex, "hi": ex}


def draw(top: plt.Axes, bottom: plt.Axes, d: dict[str, np.ndarray], title: str,
         xlabel: str, exact_label: str) -> None:
    """ε on top (log-log); below, each bound's excess over the exact value (the band's top),
    in percent on a symmetric-log axis."""
    x, ref = d["x"], d["hi"]
    if np.any(d["lo"] < d["hi"]):
        top.fill_between(x, d["lo"], d["hi"], color="0.6", alpha=0.6, label=exact_label)
    else:
        top.plot(x, ref, "-", color="0.5", lw=5, alpha=0.5, label=exact_label)
    top.loglog(x, d["rdp"], "o-", label="dpkit RDP")
    top.loglog(x, d["pld"], "s--", ms=4, label="dpkit PLD (certified)")
    top.set_ylabel(f"ε at δ = {DELTA:g}")
    top.set_title(title)
    top.grid(True, which="both", alpha=0.3)
    top.legend()
    pct = 100.0
    bottom.fill_between(x, (d["lo"] / ref - 1) * pct, 0.0, color="0.6", alpha=0.6)
    bottom.axhline(0.0, color="0.5", lw=1)
    bottom.plot(x, (d["rdp"] / ref - 1) * pct, "o-", label="RDP")
    bottom.plot(x, (d["pld"] / ref - 1) * pct, "s--", ms=4, label="PLD")
    bottom.set_xscale("log")
    bottom.set_yscale("symlog", linthresh=1e-3)
    bottom.set_xlabel(xlabel)
    bottom.set_ylabel("excess over exact, %")
    bottom.grid(True, which="both", alpha=0.3)


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(2, 2, figsize=(11.5, 7.0), sharex="col",
                             gridspec_kw={"height_ratios": [3, 2]})
    a = dpsgd_data()
    draw(axes[0, 0], axes[1, 0], a, "(a) DP-SGD, q = 0.01, σ = 1", "DP-SGD steps T",
         "exact: dp_accounting PLD bracket")
    b = rr_data()
    draw(axes[0, 1], axes[1, 1], b, "(b) binary randomized response, ε0 = 0.5",
         "compositions k", "exact (binomial sum)")
    fig.tight_layout()
    fig.savefig(OUT / "pld_vs_rdp.png", dpi=120)
    for name, d in (("dpsgd", a), ("rr", b)):
        i = len(d["x"]) // 2
        print(f"{name}: x={d['x'][i]} rdp={d['rdp'][i]:.6g} pld={d['pld'][i]:.6g} "
              f"exact in [{d['lo'][i]:.6g}, {d['hi'][i]:.6g}]; max PLD excess "
              f"{np.max(d['pld'] / d['hi'] - 1):.2e}, min PLD vs lower "
              f"{np.min(d['pld'] / d['lo'] - 1):.2e}")
    print("wrote", OUT / "pld_vs_rdp.png")
