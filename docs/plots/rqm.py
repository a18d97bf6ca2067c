"""Plot for docs/rqm.md: RQM's output pmf at a few inputs and its exact RDP curve.

Run: ``python docs/plots/rqm.py`` (writes docs/img/rqm_pmf.png).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from dpkit.accounting import DEFAULT_ORDERS  # noqa: E402
from dpkit.mechanisms.rqm import RQMParams, pmf  # noqa: E402
from dpkit.mechanisms.rqm.privacy import extreme_pair_curve, rdp_curve  # noqa: E402


def main() -> None:
    p = RQMParams(clip=1.0, extension=1.0, num_levels=16, keep_prob=0.25)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    for x in (-1.0, 0.0, 0.5, 1.0):
        a1.plot(p.levels, pmf(p, x), marker="o", ms=3, label=f"x = {x:g}")
    a1.set_yscale("log")
    a1.set_xlabel("output level B_k")
    a1.set_ylabel("P[output = B_k]")
    a1.set_title("RQM pmf (c=1, Δ=1, m=16, q=0.25)")
    a1.legend(fontsize=8)
    orders = np.asarray(DEFAULT_ORDERS)
    fin = np.isfinite(orders)
    for q in (0.1, 0.25, 0.5):
        pq = RQMParams(1.0, 1.0, 16, q)
        r = rdp_curve(pq)
        line, = a2.plot(orders[fin], r.values[fin], label=f"q={q}: grid search")
        a2.plot(orders[fin], extreme_pair_curve(pq)[fin], ls=":", color=line.get_color(),
                label=f"q={q}: pair (c, −c) only")
    a2.set_xscale("log")
    a2.set_xlabel("Rényi order α")
    a2.set_ylabel("ε(α) per coordinate")
    a2.set_title("Exact RDP curve (c=1, Δ=1, m=16)")
    a2.legend(fontsize=7)
    fig.tight_layout()
    out = Path(__file__).resolve().parents[1] / "img" / "rqm_pmf.png"
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
