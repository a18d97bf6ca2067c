"""Plot for docs/pipeline.md: keyed count utility against ε, dpkit.pipeline and PipelineDP.

Run from anywhere: ``python docs/plots/pipeline.py`` writes ``docs/img/pipeline_utility.png``
(about a minute; needs ``pipeline-dp`` from dpkit's ``bench`` extra, else only dpkit is drawn).
Table: :func:`benchmarks.pipeline.bounded_events` — 25 000 users, each with ≤ m = 4 keys of a
log-uniform (Zipf(1)-like) law over 10 000 keys and 1..c = 2 rows per key, so bounding keeps
every row and the error is the mechanism's own. δ = 10⁻⁶; both libraries at the same (ε, δ)
for the whole release (keys and counts), add/remove of one unit; 5 seeds per ε.
Left: RMSE of the released counts over the keys both released (same seed). Right: the number
of keys released, beside the number of keys with at least 119 rows (dpkit's threshold at
ε = 1, for scale).
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

from benchmarks.pipeline import (  # noqa: E402
    Config,
    bounded_events,
    dpkit_count,
    pipelinedp_count,
    true_counts,
    utility,
)

OUT = ROOT / "docs" / "img" / "pipeline_utility.png"
EPS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
SEEDS = 5


def main() -> Path:
    """Simulate, draw, save and return the path."""
    cfg = Config(max_partitions=4, max_per_partition=2, delta=1e-6)
    df = bounded_events(25_000, max_partitions=4, max_per_partition=2, keys=10_000, seed=7)
    truth = true_counts(df)
    rows = list(zip(df["user"].tolist(), df["key"].tolist(), strict=True))
    try:
        import pipeline_dp  # noqa: F401

        have_pdp = True
    except ImportError:
        have_pdp = False
    d_rmse, p_rmse, d_kept, p_kept = [], [], [], []
    for eps in EPS:
        dr, pr, dk, pk = [], [], [], []
        for s in range(SEEDS):
            d = dpkit_count(df, cfg, eps, 100 + s)
            dk.append(len(d))
            if have_pdp:
                p = pipelinedp_count(rows, cfg, eps, s)
                pk.append(len(p))
                common = [k for k in d if k in p]
                dr.append(utility(d, truth, common)[0])
                pr.append(utility(p, truth, common)[0])
            else:
                dr.append(utility(d, truth)[0])
        d_rmse.append(np.nanmean(dr))
        d_kept.append(np.mean(dk))
        if have_pdp:
            p_rmse.append(np.nanmean(pr))
            p_kept.append(np.mean(pk))
        print(f"eps={eps:g}: dpkit rmse {d_rmse[-1]:.2f} kept {d_kept[-1]:.1f}"
              + (f"; PipelineDP rmse {p_rmse[-1]:.2f} kept {p_kept[-1]:.1f}" if have_pdp
                 else ""), flush=True)

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    ax1.plot(EPS, d_rmse, "o-", color="C0", label="dpkit.pipeline.count")
    if have_pdp:
        ax1.plot(EPS, p_rmse, "s--", color="C1", label="PipelineDP 0.3 (LocalBackend)")
    ax1.set_xscale("log", base=2)
    ax1.set_yscale("log")
    ax1.set_xlabel("ε (whole release, δ = 1e-6)")
    ax1.set_ylabel("RMSE of released counts (keys both released)")
    ax1.set_title("Count error, m = 4 keys × c = 2 rows per unit")
    ax1.legend(fontsize=8)

    ax2.plot(EPS, d_kept, "o-", color="C0", label="dpkit.pipeline.count")
    if have_pdp:
        ax2.plot(EPS, p_kept, "s--", color="C1", label="PipelineDP 0.3 (LocalBackend)")
    counts = np.array(list(truth.values()))
    ax2.axhline(int((counts >= 119).sum()), color="gray", lw=0.8, ls=":",
                label="keys with ≥ 119 rows")
    ax2.set_xscale("log", base=2)
    ax2.set_yscale("log")
    ax2.set_xlabel("ε (whole release, δ = 1e-6)")
    ax2.set_ylabel("keys released (mean of 5 seeds)")
    ax2.set_title(f"Partition selection: {len(truth):,} non-empty keys, {len(df):,} rows")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, dpi=110)
    plt.close(fig)
    print(f"wrote {OUT}")
    return OUT


if __name__ == "__main__":
    main()
