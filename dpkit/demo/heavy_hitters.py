"""``dpkit demo`` section: OLH frequency estimates and TAPS heavy hitters over 3 parties.

Uses the public API of :mod:`dpkit.mechanisms.heavy_hitters` (Wang et al. 2017; Zhang et al.
2025, reconstructed).
"""

from __future__ import annotations

import numpy as np

from ..mechanisms.heavy_hitters import (
    OLH,
    HeavyHitterParams,
    aggregate,
    estimate,
    f1_score,
    find_heavy_hitters,
    perturb,
    privacy_event,
    true_top_k,
    zipf_items,
)
from .part import DemoPart, budget_line, generator

__all__ = ["section"]


def section(rng: np.random.Generator) -> DemoPart:
    """60 000 Zipf-distributed 16-bit items split over 3 parties; OLH on the first 20 000.

    Spends one event: each user sends one ε-LDP report (local DP, replace-one).
    """
    rng = generator(rng)
    eps = 4.0
    items = zipf_items(60_000, 16, 1.3, rng, support=500)
    parties = [items[:30_000], items[30_000:48_000], items[48_000:]]
    params = HeavyHitterParams(epsilon=eps, item_bits=16, k=5, protocol="taps",
                               num_hashes=1024)
    res = find_heavy_hitters(params, parties, rng, backend="numpy")
    truth = true_top_k(parties, 5, 16)
    o = OLH(eps, 2**16, num_hashes=1024)
    st = aggregate(o, perturb(o, items[:20_000], rng, backend="numpy"))
    top = truth[:3]
    est = estimate(o, st, top, backend="numpy")
    true_c = [int((items[:20_000] == v).sum()) for v in top]
    part = DemoPart("Heavy hitters under local DP: OLH + TAPS (Wang et al. 2017; Zhang et al. "
                    "2025, reconstructed)")
    part.lines += [
        f"OLH (eps={eps}, g={o.g}): 20000 users, top-3 true counts {true_c}, "
        f"estimates {np.round(est).astype(int).tolist()}",
        f"TAPS, 3 parties, 60000 users, 16-bit items: found {res.items.tolist()}",
        f"true top-5 {truth.tolist()}, F1 = {f1_score(res.items, truth):.2f}",
        f"each user: one report, pure eps = {eps} (local DP, replace-one)",
    ]
    part.events.append((privacy_event(params), 1))
    part.lines.append(budget_line(part.events))
    return part
