"""Heavy-hitters benchmark: OLH throughput, the pure-LDP anchor, TAPS at scale, F1 vs ε.

Sections (one run):

1. OLH perturb + aggregate + estimate (whole domain) for 10^6 users over 2^16 items, ε = 4,
   pool mode (S = 16384 hashes, server cost O(N + S·D)): numba kernels vs the numpy
   reference. Goal (issue #7): ≤ 10 s.
2. Anchor: ``pure-ldp`` (S. Maddock, PyPI ``pure-ldp`` 1.2.0, ``LHClient``/``LHServer`` with
   ``use_olh=True``: a Python loop per user, the server hashes every domain item per report)
   on 10^4 users, domain 2^10, ε = 2, against dpkit OLH with fresh per-user seeds (the same
   protocol) and in pool mode. Goal: ≥ 50×. pure-ldp is in dpkit's ``bench`` extra
   (``pip install 'dpkit[bench]'``), not a runtime dependency; the section is skipped when it
   is missing.
3. TAPS on 8 parties × 10^6/8 users... sizes below, 32-bit items, ε = 4, k = 32. Goal:
   ≤ 60 s for 10^6 users × 8 parties.
4. Accuracy on non-IID Zipf parties (spec §8.10 generator, 32-bit items): F1@32 and NCR@32
   of PEM (pooled), TreeHist (pooled), Local-PEM + merge, TAP and TAPS; mean over seeds.
5. The goal "TAPS ≥ PEM at ε = 4" re-checked with more seeds: paired per-seed differences,
   mean ± standard error.
6. A real distribution: English word frequencies shipped by ``wordfreq`` (top 20 000 words,
   renormalised); users sample words, items are 32-bit BLAKE2b ids of the words; 5 parties
   (40/25/15/10/10 %) drawing from the same English law, and a non-IID variant where each
   party draws 25 % of its users from another language (es, fr, de, it, pt).
7. Scale-out: OLH perturb + aggregate of 10^6 users in 8 chunks on a ``dask.distributed``
   LocalCluster (2 workers) against the serial run (identical state, asserted).

``python -m benchmarks --only heavy_hitters [--quick]``; tables also go to
``benchmarks/out/heavy_hitters.md``.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import OUT_DIR
from ._report import (
    Table,
    fmt_ratio,
    fmt_time,
    machine_info,
    machine_markdown,
    module_main,
    write_markdown,
)
from ._timing import measure

__all__ = ["run", "main", "federated_zipf", "wordfreq_law", "wordfreq_parties", "word_id"]


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


def word_id(word: str) -> int:
    """A public 32-bit id of a word: the first 4 bytes of BLAKE2b(word), big-endian."""
    return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "big")


def wordfreq_law(lang: str, top_n: int) -> tuple[np.ndarray, np.ndarray]:
    """(32-bit word ids, probabilities) of ``wordfreq``'s top ``top_n`` words of ``lang``,
    renormalised to sum 1. Raises ImportError when wordfreq is missing."""
    import wordfreq

    words = wordfreq.top_n_list(lang, top_n)
    freq = np.array([wordfreq.word_frequency(w, lang) for w in words], dtype=float)
    ids = np.array([word_id(w) for w in words], dtype=np.int64)
    if np.unique(ids).size != ids.size:  # pragma: no cover - ~5% chance at 20 000 words
        keep = np.unique(ids, return_index=True)[1]
        ids, freq = ids[np.sort(keep)], freq[np.sort(keep)]
    return ids, freq / freq.sum()


_OTHER = ("es", "fr", "de", "it", "pt")


def wordfreq_parties(n_total: int, seed: int, mix: float = 0.0, top_n: int = 20_000
                     ) -> list[np.ndarray]:
    """5 parties (40/25/15/10/10 % of ``n_total`` users); every user holds one word id drawn
    from English (wordfreq), except a fraction ``mix`` of party j's users who draw from
    language _OTHER[j] (non-IID parties; words shared between languages share ids)."""
    rng = np.random.default_rng(seed)
    en = _law_cache("en", top_n)
    out = []
    for j, share in enumerate((0.4, 0.25, 0.15, 0.1, 0.1)):
        n = int(n_total * share)
        m = int(round(n * mix))
        ids, pr = en
        part = [ids[rng.choice(ids.size, size=n - m, p=pr)]]
        if m:
            oi, op = _law_cache(_OTHER[j], top_n)
            part.append(oi[rng.choice(oi.size, size=m, p=op)])
        out.append(rng.permutation(np.concatenate(part)))
    return out


_LAWS: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}


def _law_cache(lang: str, top_n: int) -> tuple[np.ndarray, np.ndarray]:
    if (lang, top_n) not in _LAWS:
        _LAWS[(lang, top_n)] = wordfreq_law(lang, top_n)
    return _LAWS[(lang, top_n)]


def _accuracy_table(title: str, make: Any, eps_grid: Sequence[float], seeds: Sequence[int],
                    notes: Sequence[str]) -> tuple[Table, dict[float, dict[str, float]]]:
    """F1@32 / NCR@32 of every protocol, mean over seeds, one row per ε."""
    from dpkit.mechanisms import heavy_hitters as hh

    protos = hh.PROTOCOLS
    t = Table(title, ["ε", *[f"{p} F1" for p in protos], *[f"{p} NCR" for p in protos]],
              notes=list(notes))
    means: dict[float, dict[str, float]] = {}
    data = {s: make(s) for s in seeds}
    for e in eps_grid:
        f1s: dict[str, list[float]] = {p: [] for p in protos}
        ncrs: dict[str, list[float]] = {p: [] for p in protos}
        for s in seeds:
            parts = data[s]
            truth = hh.true_top_k(parts, 32, 32)
            for p in protos:
                r = hh.find_heavy_hitters(hh.HeavyHitterParams(e, 32, 32, protocol=p), parts,
                                          s, backend="numba")
                f1s[p].append(hh.f1_score(r.items, truth))
                ncrs[p].append(hh.ncr(r.items, truth))
        t.add(f"{e:g}", *[f"{np.mean(f1s[p]):.3f}" for p in protos],
              *[f"{np.mean(ncrs[p]):.3f}" for p in protos])
        means[e] = {p: float(np.mean(v)) for p, v in f1s.items()}
        print(f"  {title[:40]}... eps={e:g}: " + ", ".join(f"{p} {means[e][p]:.3f}"
                                                           for p in protos), flush=True)
    return t, means


def _dask_table(quick: bool) -> Table | None:
    """OLH perturb + aggregate of 10^6 users in 8 chunks: serial vs a 2-worker LocalCluster."""
    try:
        import distributed
    except ImportError:
        return None
    from dpkit.mechanisms import heavy_hitters as hh

    n = 250_000 if quick else 1_000_000
    o = hh.OLH(4.0, 2**16, num_hashes=16384)
    chunks = np.array_split(np.random.default_rng(7).integers(0, 2**16, size=n), 8)
    hh.aggregate_chunks(o, chunks[:1], 0, backend="numba")  # compile
    t0 = time.perf_counter()
    serial = hh.aggregate_chunks(o, chunks, 8, backend="numba")
    t_serial = time.perf_counter() - t0
    t = Table(f"Scale-out: OLH perturb + aggregate, {n:,} users in 8 chunks (pool S = 16384)",
              ["run", "time", "state equal to serial"],
              notes=["LocalCluster(n_workers=2, threads_per_worker=1, processes=True); "
                     "chunks shipped to the workers, states tree-merged"])
    t.add("serial chunked (numba)", fmt_time(t_serial), "—")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        hh.dask_perturb_aggregate(o, chunks[:2], 0, client=client, backend="numba")  # warm
        t0 = time.perf_counter()
        dist = hh.dask_perturb_aggregate(o, chunks, 8, client=client, backend="numba")
        t_dist = time.perf_counter() - t0
    same = dist.n == serial.n and bool(np.array_equal(dist.counts, serial.counts))
    if not same:
        raise AssertionError("Dask state differs from the serial state")
    t.add("dask.distributed, 2 workers (numba)", fmt_time(t_dist), "yes (exact)")
    return t


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
        verdict.append("pure-ldp anchor: not installed (pip install 'dpkit[bench]'), NOT "
                       "measured")
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
    t4, _ = _accuracy_table(
        "F1@32 / NCR@32 on non-IID Zipf(1.2) parties (5 parties, 10^6 users, 32-bit)",
        lambda s: federated_zipf(1_000_000, 5, 32, seed=100 + s), eps_grid, seeds,
        [f"mean over {len(seeds)} seeds; party sizes 40/25/15/10/10 %; TreeHist may return "
         "fewer than 32 items (threshold survivors only)"])
    tables.append(t4)

    # ------------------------------------------------------------------ 5. TAPS vs PEM, seeds
    n_seeds = 10 if quick else 20
    diffs, f_pem, f_taps = [], [], []
    for s in range(n_seeds):
        parts = federated_zipf(1_000_000, 5, 32, seed=100 + s)
        truth = hh.true_top_k(parts, 32, 32)
        row = {}
        for p in ("pem", "taps"):
            r = hh.find_heavy_hitters(hh.HeavyHitterParams(4.0, 32, 32, protocol=p), parts,
                                      s, backend="numba")
            row[p] = hh.f1_score(r.items, truth)
        f_pem.append(row["pem"])
        f_taps.append(row["taps"])
        diffs.append(row["taps"] - row["pem"])
    d = np.asarray(diffs)
    se = float(d.std(ddof=1) / np.sqrt(d.size))
    t5 = Table(f"TAPS vs PEM at ε = 4, F1@32, Zipf benchmark of section 4, {n_seeds} seeds",
               ["protocol", "mean F1@32", "min", "max"],
               notes=[f"paired difference TAPS − PEM: {d.mean():+.4f} ± {se:.4f} (SE); "
                      f"TAPS > PEM in {int((d > 0).sum())}, = in {int((d == 0).sum())}, "
                      f"< in {int((d < 0).sum())} of {n_seeds} seeds"])
    for name, f in (("PEM", f_pem), ("TAPS", f_taps)):
        t5.add(name, f"{np.mean(f):.4f}", f"{np.min(f):.3f}", f"{np.max(f):.3f}")
    tables.append(t5)
    verdict.append(f"eps=4 ({n_seeds} seeds): TAPS F1@32 {np.mean(f_taps):.3f} vs PEM "
                   f"{np.mean(f_pem):.3f}, paired diff {d.mean():+.4f} +- {se:.4f} SE "
                   f"(goal TAPS >= PEM): "
                   f"{'met' if d.mean() >= 0 else 'NOT met'}")

    # ------------------------------------------------------------------ 6. wordfreq
    try:
        words, probs = wordfreq_law("en", 20_000)
    except ImportError:
        verdict.append("wordfreq benchmark: wordfreq not installed (pip install "
                       "'dpkit[bench]'), NOT measured")
    else:
        wseeds = range(2) if quick else range(3)
        weps = (2.0, 4.0) if quick else (1.0, 2.0, 4.0, 8.0)
        t6, _ = _accuracy_table(
            "F1@32 / NCR@32, English word frequencies (wordfreq, top 20 000), 5 IID parties, "
            "10^6 users, 32-bit word ids",
            lambda s: wordfreq_parties(1_000_000, seed=300 + s), weps, wseeds,
            [f"mean over {len(wseeds)} seeds; users sample the renormalised top-20 000 English "
             f"law (top word 'the' {probs[0]:.3f}, 32nd {probs[31]:.4f}); ids = 32-bit "
             "BLAKE2b of the word"])
        tables.append(t6)
        t7, _ = _accuracy_table(
            "Same, non-IID: party j draws 25 % of its users from es / fr / de / it / pt",
            lambda s: wordfreq_parties(1_000_000, seed=400 + s, mix=0.25), weps, wseeds,
            [f"mean over {len(wseeds)} seeds"])
        tables.append(t7)

    # ------------------------------------------------------------------ 7. Dask
    t8 = _dask_table(quick)
    if t8 is None:
        verdict.append("Dask: dask.distributed not installed (pip install 'dpkit[dev]')")
    else:
        tables.append(t8)

    for t in tables:
        print(t.text(), flush=True)
    print("\n".join(verdict), flush=True)
    md = ["# Heavy-hitters benchmark", "",
          f"Command: `{' '.join(argv) or 'python -m benchmarks.heavy_hitters'}`", "",
          machine_markdown(info), "", *[x for t in tables for x in (t.markdown(), "")],
          *[f"- {v}" for v in verdict], ""]
    write_markdown(out_dir, "heavy_hitters", md)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: ``python -m benchmarks.heavy_hitters [--quick] [--out DIR]``."""
    return module_main("heavy_hitters", __doc__ or "", run, argv, OUT_DIR, "a shorter run")


if __name__ == "__main__":
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    raise SystemExit(main())
