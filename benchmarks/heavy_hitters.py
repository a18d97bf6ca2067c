"""Heavy-hitters benchmark: OLH throughput, the pure-LDP anchor, TAPS at scale, F1 vs ε.

Sections (one run):

1. OLH perturb + aggregate + estimate (whole domain) for 10^6 users over 2^16 items, ε = 4,
   pool mode (S = 16384 hashes, server cost O(N + S·D)): numba kernels vs the numpy
   reference. Goal (issue #7): ≤ 10 s.
2. Anchor: ``pure-ldp`` (S. Maddock, PyPI ``pure-ldp`` 1.2.0, ``LHClient``/``LHServer`` with
   ``use_olh=True``: a Python loop per user, the server hashes every domain item per report)
   on 10^4 users, domain 2^10, ε = 2, against dpkit OLH with fresh per-user seeds (the same
   protocol) and in pool mode. Goal: ≥ 50×. pure-ldp is not a dpkit dependency: it is
   imported from ``$PURE_LDP_PATH`` (default /tmp/pureldp, e.g.
   ``pip install --target /tmp/pureldp pure-ldp statsmodels``), appended to ``sys.path``;
   the section is skipped when it is missing.
3. TAPS on 8 parties × 10^6/8 users... sizes below, 32-bit items, ε = 4, k = 32. Goal:
   ≤ 60 s for 10^6 users × 8 parties.
4. Accuracy on non-IID Zipf parties (spec §8.10 generator, 32-bit items): F1@32 and NCR@32
   of PEM (pooled), Local-PEM + merge, TAP and TAPS; mean over seeds. Goal: TAPS ≥ PEM at
   ε = 4.

``python -m benchmarks --only heavy_hitters [--quick]``; tables also go to
``benchmarks/out/heavy_hitters.md``.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import OUT_DIR
from ._report import Table, fmt_ratio, fmt_time, machine_info, machine_markdown
from ._timing import measure

__all__ = ["run", "main", "federated_zipf"]


def _olh_pipeline(rep: int, items: np.ndarray, backend: str, num_hashes: int | None,
                  eps: float, domain: int, candidates: Any = None) -> Any:
    from dpkit.mechanisms import heavy_hitters as hh

    o = hh.OLH(eps, domain, num_hashes=num_hashes, pool_seed=rep)
    st = hh.aggregate(o, hh.perturb(o, items, rep + 1, backend=backend))
    return hh.estimate(o, st, candidates, backend=backend)


def _pure_ldp(rep: int, items: np.ndarray, eps: float, domain: int) -> Any:
    from pure_ldp.frequency_oracles.local_hashing import LHClient, LHServer

    np.random.seed(rep)  # pure-ldp draws from numpy's global state
    client = LHClient(epsilon=eps, d=domain, use_olh=True)
    server = LHServer(epsilon=eps, d=domain, use_olh=True)
    for v in items:
        server.aggregate(client.privatise(int(v) + 1))  # pure-ldp items are 1-based
    return np.array([server.estimate(i + 1, suppress_warnings=True) for i in range(domain)])


def federated_zipf(n_total: int, parties: int, item_bits: int, seed: int,
                   exponent: float = 1.2) -> list[np.ndarray]:
    """Spec §8.10 generator: global Zipf; party j re-ranks a random 30% of the global top-50
    before sampling its users; party sizes (40, 25, 15, 10, 10)% for 5 parties, else equal."""
    rng = np.random.default_rng(seed)
    support = 20_000
    vocab = np.unique(rng.integers(0, 2**item_bits, size=2 * support))[:support]
    vocab = rng.permutation(vocab)
    w = np.arange(1, vocab.size + 1, dtype=float) ** -exponent
    shares = [0.4, 0.25, 0.15, 0.1, 0.1] if parties == 5 else [1 / parties] * parties
    out = []
    for j in range(parties):
        wj = w.copy()
        idx = rng.choice(50, size=15, replace=False)
        wj[idx] = wj[rng.permutation(idx)]
        n = int(n_total * shares[j])
        out.append(vocab[rng.choice(vocab.size, size=n, p=wj / wj.sum())].astype(np.int64))
    return out


def run(quick: bool, out_dir: Path, argv: Sequence[str]) -> None:
    """Run all sections, print the tables and the verdicts, write the Markdown report."""
    from dpkit.mechanisms import heavy_hitters as hh

    info = machine_info()
    verdict: list[str] = []
    tables: list[Table] = []

    # ------------------------------------------------------------------ 1. OLH at scale
    n, dom, eps = 1_000_000, 2**16, 4.0
    items = np.random.default_rng(0).zipf(1.3, size=n) % dom
    t1 = Table(f"OLH perturb + aggregate + estimate(all {dom} items), {n:,} users, ε = {eps}",
               ["backend", "mode", "time", "vs numpy"],
               notes=["pool mode: S = 16384 public hashes, server O(N + S·D); median of reps",
                      "times include one perturb, one aggregate and the full-domain estimate"])
    reps = 2 if quick else 3
    nb = measure(_olh_pipeline, dict(items=items, backend="numba", num_hashes=16384, eps=eps,
                                     domain=dom), reps=reps).median
    npy = measure(_olh_pipeline, dict(items=items, backend="numpy", num_hashes=16384, eps=eps,
                                      domain=dom), reps=1).median
    t1.add("numba", "pool", fmt_time(nb), fmt_ratio(npy / nb))
    t1.add("numpy", "pool", fmt_time(npy), "1×")
    tables.append(t1)
    verdict.append(f"OLH 10^6 users x 2^16 items: {nb:.2f} s (goal <= 10 s): "
                   f"{'met' if nb <= 10 else 'NOT met'}")

    # ------------------------------------------------------------------ 2. pure-ldp anchor
    path = os.environ.get("PURE_LDP_PATH", "/tmp/pureldp")
    if path not in sys.path:
        sys.path.append(path)
    n2, dom2, eps2 = 10_000, 2**10, 2.0
    items2 = np.random.default_rng(1).zipf(1.3, size=n2) % dom2
    t2 = Table(f"Anchor: OLH, {n2:,} users, domain {dom2}, ε = {eps2} (whole-domain estimate)",
               ["implementation", "time", "pure-ldp / this"])
    try:
        import pure_ldp  # noqa: F401

        anchor = measure(_pure_ldp, dict(items=items2, eps=eps2, domain=dom2), reps=1).median
    except ImportError:
        anchor = None
    fresh = measure(_olh_pipeline, dict(items=items2, backend="numba", num_hashes=None,
                                        eps=eps2, domain=dom2), reps=5).median
    pool = measure(_olh_pipeline, dict(items=items2, backend="numba", num_hashes=16384,
                                       eps=eps2, domain=dom2), reps=5).median
    if anchor is not None:
        t2.add("pure-ldp 1.2.0 LHClient/LHServer (olh)", fmt_time(anchor), "1×")
    t2.add("dpkit OLH numba, fresh seeds (same protocol)", fmt_time(fresh),
           fmt_ratio(anchor / fresh) if anchor else "—")
    t2.add("dpkit OLH numba, pool S=16384", fmt_time(pool),
           fmt_ratio(anchor / pool) if anchor else "—")
    tables.append(t2)
    if anchor is None:
        verdict.append("pure-ldp anchor: not installed (set PURE_LDP_PATH), NOT measured")
    else:
        verdict.append(f"vs pure-ldp (same protocol, fresh seeds): {anchor / fresh:.0f}x "
                       f"(goal >= 50x): {'met' if anchor / fresh >= 50 else 'NOT met'}")

    # ------------------------------------------------------------------ 3. TAPS at scale
    per_party = 125_000 if quick else 1_000_000
    parts = federated_zipf(8 * per_party, 8, 32, seed=3)
    params = hh.HeavyHitterParams(4.0, 32, 32, protocol="taps")
    t0 = time.perf_counter()
    hh.find_heavy_hitters(params, parts, 5, backend="numba")  # includes compile on 1st call
    t_warm = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = hh.find_heavy_hitters(params, parts, 6, backend="numba")
    t_taps = time.perf_counter() - t0
    truth = hh.true_top_k(parts, 32, 32)
    t3 = Table(f"TAPS, 8 parties × {per_party:,} users, 32-bit items, ε = 4, k = 32",
               ["run", "time", "F1@32"],
               notes=[f"levels G = {params.num_levels}, shared S = {params.shared_levels}"])
    t3.add("first call (numba cache warm-up)", fmt_time(t_warm), "")
    t3.add("second call", fmt_time(t_taps), f"{hh.f1_score(res.items, truth):.3f}")
    tables.append(t3)
    verdict.append(f"TAPS 8 x {per_party:,} users, 32-bit: {t_taps:.1f} s (goal <= 60 s for "
                   f"8 x 10^6): {'met' if t_taps <= 60 and per_party >= 10**6 else 'see table'}")

    # ------------------------------------------------------------------ 4. accuracy
    eps_grid = (2.0, 4.0) if quick else (1.0, 2.0, 4.0, 8.0)
    seeds = range(3) if quick else range(5)
    t4 = Table("F1@32 / NCR@32 on non-IID Zipf(1.2) parties (5 parties, 10^6 users, 32-bit)",
               ["ε", *[f"{p} F1" for p in hh.PROTOCOLS], *[f"{p} NCR" for p in hh.PROTOCOLS]],
               notes=[f"mean over {len(seeds)} seeds; party sizes 40/25/15/10/10 %"])
    f1_at4: dict[str, float] = {}
    for e in eps_grid:
        f1s = {p: [] for p in hh.PROTOCOLS}
        ncrs = {p: [] for p in hh.PROTOCOLS}
        for s in seeds:
            parts = federated_zipf(1_000_000, 5, 32, seed=100 + s)
            truth = hh.true_top_k(parts, 32, 32)
            for p in hh.PROTOCOLS:
                r = hh.find_heavy_hitters(hh.HeavyHitterParams(e, 32, 32, protocol=p), parts,
                                          s, backend="numba")
                f1s[p].append(hh.f1_score(r.items, truth))
                ncrs[p].append(hh.ncr(r.items, truth))
        t4.add(f"{e:g}", *[f"{np.mean(f1s[p]):.3f}" for p in hh.PROTOCOLS],
               *[f"{np.mean(ncrs[p]):.3f}" for p in hh.PROTOCOLS])
        if e == 4.0:
            f1_at4 = {p: float(np.mean(v)) for p, v in f1s.items()}
    tables.append(t4)
    if f1_at4:
        verdict.append(f"eps=4: TAPS F1@32 {f1_at4['taps']:.3f} vs PEM {f1_at4['pem']:.3f} "
                       f"(goal TAPS >= PEM): "
                       f"{'met' if f1_at4['taps'] >= f1_at4['pem'] else 'NOT met'}")

    for t in tables:
        print(t.text(), flush=True)
    print("\n".join(verdict), flush=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    md = ["# Heavy-hitters benchmark", "",
          f"Command: `{' '.join(argv) or 'python -m benchmarks.heavy_hitters'}`", "",
          machine_markdown(info), "", *[x for t in tables for x in (t.markdown(), "")],
          *[f"- {v}" for v in verdict], ""]
    (out_dir / "heavy_hitters.md").write_text("\n".join(md))


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    run("--quick" in args, OUT_DIR, ["python", "-m", "benchmarks.heavy_hitters", *args])
    return 0


if __name__ == "__main__":
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    raise SystemExit(main())
