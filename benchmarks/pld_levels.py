"""Multi-level PLD composition (issue 16, "cost flat in T"): the single-level engine against
:mod:`dpkit.accounting.pld._levels`, side by side, for DP-SGD (q=0.01, σ=1, δ=1e-5) at
T = 1e1 … 1e9 (add/remove: both directions, max).

Columns: ε of each (both certified upper bounds), the median of 3 warm calls (σ perturbed by
1e-9 per call so nothing is cached), the largest FFT grid built (points, over both directions
and every level and pass) and the peak traced memory of one call. Run:
``python -m benchmarks.pld_levels`` (~1 minute; the single engine alone takes ~4 s at 1e9).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from benchmarks.pld import _peak_grid, _time

CURVE = (0.01, 1.0, 1e-5)
CURVE_T = [10**k for k in range(1, 10)]


def _eps(fn_name: str, q: float, s: float, t: int, d: float) -> float:
    from dpkit.accounting import pld
    from dpkit.accounting.pld import _levels

    def one(parts: Any) -> float:
        if fn_name == "single":  # the single-level engine (epsilon_bound hands T ≥ 1e6 over)
            return min(p.epsilon(d) for p in pld.plan_pld(parts, delta=d))
        return _levels.epsilon_bound_levels(parts, d, plan=pld.plan_pld)

    dirs = pld.bounds._sgm_directions(s, q, t)
    return max((one(p) for p in dirs), default=0.0)


def curve() -> list[str]:
    q, s, d = CURVE
    rows = [f"| T (q={q}, σ={s}, δ={d:g}) | single ε | levels ε | levels/single − 1 | "
            "single ms | levels ms | single peak points | levels peak points | "
            "single MiB | levels MiB |", "|---|---|---|---|---|---|---|---|---|---|"]
    for t in CURVE_T:
        cells = {}
        for name in ("single", "levels"):
            e, sec = _time(lambda r: _eps(name, q, s * (1 + 1e-9 * r), t, d), 3)  # noqa: B023
            _, n, mem = _peak_grid(lambda: _eps(name, q, s * (1 + 7e-9), t, d))  # noqa: B023
            cells[name] = (e, sec, n, mem)
        (e1, t1, n1, m1), (e2, t2, n2, m2) = cells["single"], cells["levels"]
        rows.append(f"| {t:.0e} | {e1:.6g} | {e2:.6g} | {e2 / e1 - 1:+.2e} | {t1 * 1e3:.1f} | "
                    f"{t2 * 1e3:.1f} | {n1:,} | {n2:,} | {m1:.1f} | {m2:.1f} |")
        print(rows[-1], flush=True)
    return rows


def run(out_dir: Path | None = None) -> str:
    text = "\n".join(curve())
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "pld_levels.md").write_text("# PLD levels benchmark\n\n" + text + "\n")
    return text


if __name__ == "__main__":
    run(Path(sys.argv[1]) if len(sys.argv) > 1 else None)
